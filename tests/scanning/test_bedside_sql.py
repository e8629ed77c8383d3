"""The bedside's hand-written SQL reads the same rows, with the same types, as the ORM queries it
replaced; the dose read keeps every dose the rules could pick."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models.signals import post_init
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from hospital.models import User
from hospital.sql import ModelColumns, fetchall, table
from pharmacy.models import MedicationOrder, Package, ScheduledDose
from scanning import locks
from scanning.facts import fast_sql
from scanning.models import Administration, standing_q, withdrawn_q
from tests.factories import (
    AdmissionFactory,
    AllergyFactory,
    NurseFactory,
    OrderFactory,
    ScheduledDoseFactory,
)
from tests.scanning.conftest import AN_BAND, PARACETAMOL, image
from wards.models import Admission, Patient, Wristband
from wards.selectors import wristband_discharged_at
from wards.services import admission_discharge, wristband_issue

pytestmark = pytest.mark.django_db


def fields(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def test_the_patient_statement_reads_what_the_orm_reads(frozen_demo):
    # given
    band = Wristband.objects.select_related("patient").get(
        voided_at__isnull=True, patient__mrn=AN_BAND.removeprefix("wristband-")[:-4]
    )
    nurse = User.objects.get(username="dieuduong.hoa")

    # when
    patient, admission, band_active, on_ward, discharged_at = fast_sql.patient_admission_band(
        gsrn=band.patient.gsrn, band_instance=band.instance, user_id=nurse.pk
    )

    # then
    expected = Admission.objects.select_related("patient", "ward").get(
        patient=band.patient, discharged_at__isnull=True
    )
    assert fields(patient) == fields(expected.patient)
    assert fields(admission) == fields(expected)
    assert fields(admission.ward) == fields(expected.ward)
    assert (band_active, on_ward) == (True, expected.ward.staff.filter(pk=nurse.pk).exists())
    assert on_ward is True
    assert discharged_at is None


def test_a_void_band_and_another_wards_nurse_read_false(frozen_demo):
    band = Wristband.objects.filter(voided_at__isnull=False).select_related("patient").first()
    stranger = NurseFactory()

    patient, admission, band_active, on_ward, _discharged_at = fast_sql.patient_admission_band(
        gsrn=band.patient.gsrn, band_instance=band.instance, user_id=stranger.pk
    )

    assert patient == band.patient
    assert band_active is False
    assert on_ward is False
    assert admission is None or admission.discharged_at is None


def test_an_unknown_band_reads_nobody(frozen_demo):
    assert fast_sql.patient_admission_band(
        gsrn="952000000000000000", band_instance=1, user_id=1
    ) == (None, None, False, False, None)


@pytest.mark.parametrize("story", ["discharged", "reprinted-then-discharged", "readmitted"])
def test_the_discharge_time_is_read_only_for_the_band_the_discharge_voided(frozen_demo, story):
    # given: Đức (NOI 05) wears band 1
    patient = Patient.objects.get(mrn="BN2026000105")
    admission = patient.admissions.get()
    pharmacist = User.objects.get(username="duocsi.tuan")
    if story == "reprinted-then-discharged":
        wristband_issue(admission=admission, printed_by=pharmacist)  # band 1 void, band 2 worn
    left = admission_discharge(admission=admission)
    if story == "readmitted":
        again = AdmissionFactory(
            patient=patient, ward=admission.ward, admitted_at=left.discharged_at
        )
        wristband_issue(admission=again, printed_by=pharmacist)

    # when
    read = fast_sql.patient_admission_band(
        gsrn=patient.gsrn, band_instance=1, user_id=pharmacist.pk
    )

    # then: the same as the ORM twin
    expected = None if story == "reprinted-then-discharged" else left.discharged_at
    assert read.band_discharged_at == expected
    assert wristband_discharged_at(gsrn=patient.gsrn, instance=1) == expected
    assert read.band_active is False
    assert (read.admission is None) is (story != "readmitted")


def test_orders_packages_and_allergies_read_what_the_orm_reads(frozen_demo):
    admission = Admission.objects.filter(
        discharged_at__isnull=True, patient__allergies__isnull=False
    ).first()
    AllergyFactory(patient=admission.patient, allergen_code="sulfonamides", allergen_name="Sulfa")

    orders = fast_sql.orders_of(admission.pk)
    packages = fast_sql.packages_by_gtin(set(Package.objects.values_list("gtin", flat=True)))
    allergies = fast_sql.allergies_of(admission.patient_id)

    expected_orders = MedicationOrder.objects.filter(admission=admission).select_related(
        "medication__substance"
    )
    assert len(orders) == len(expected_orders) > 1
    for expected in expected_orders:
        assert fields(orders[expected.pk]) == fields(expected)
        assert fields(orders[expected.pk].medication) == fields(expected.medication)
        assert fields(orders[expected.pk].medication.substance) == fields(
            expected.medication.substance
        )
    for expected in Package.objects.select_related("medication__substance"):
        assert fields(packages[expected.gtin]) == fields(expected)
        assert fields(packages[expected.gtin].medication) == fields(expected.medication)
    assert [fields(a) for a in allergies] == [
        fields(a) for a in admission.patient.allergies.order_by("allergen_name", "pk")
    ]
    assert len(allergies) >= 2


@pytest.mark.parametrize(
    ("offsets_hours", "expected_offsets"),
    [
        # hourly doses across ±30 h, one due exactly now: the one at now and the next
        ([h for h in range(-30, 31)], [0, 1]),
        ([-5, -3, 2, 7], [-3, 2]),
        ([3, 9, 30], [3]),  # only later doses within a day
        ([-30, -2, -1], [-1]),  # only earlier ones
        ([-30, 25], []),  # none within a day
    ],
)
def test_the_doses_either_side_of_now_are_the_rules_candidates(offsets_hours, expected_offsets):
    # given
    now = timezone.now().replace(microsecond=0)
    order = OrderFactory()
    other = OrderFactory(admission=order.admission)
    ScheduledDoseFactory(order=other, due_at=now + timedelta(minutes=10))
    doses = {
        offset: ScheduledDoseFactory(order=order, due_at=now + timedelta(hours=offset))
        for offset in offsets_hours
    }

    # when
    found = fast_sql.doses_either_side(
        admission_id=order.admission_id,
        now=now,
        since=now - timedelta(hours=24),
        until=now + timedelta(hours=24),
    )

    # then
    mine = sorted(d.pk for d in found.values() if d.order_id == order.pk)
    assert mine == sorted(doses[offset].pk for offset in expected_offsets)
    assert [d.due_at for d in found.values() if d.order_id == other.pk] == [
        now + timedelta(minutes=10)
    ]
    window = [d for d in doses.values() if abs(d.due_at - now) <= timedelta(hours=24)]
    if window:
        nearest = min(window, key=lambda d: (abs(d.due_at - now), d.due_at))
        assert nearest.pk in mine


def test_a_dose_given_and_withdrawn_counts_as_not_given(frozen_demo, nurse_client):
    # given: a dose given, then entered in error
    recorded = nurse_client.post(
        "/api/v1/administrations/",
        {"patient": image(AN_BAND), "medications": [image(name) for name in PARACETAMOL]},
        format="json",
    )
    assert recorded.status_code == 201, recorded.content
    administration = Administration.objects.get()
    dose = administration.scheduled_dose
    doses = fast_sql.doses_either_side(
        admission_id=administration.admission_id,
        now=dose.due_at,
        since=dose.due_at - timedelta(hours=1),
        until=dose.due_at + timedelta(hours=1),
    )
    assert doses[dose.pk].is_given is True
    withdrawn = nurse_client.post(
        f"/api/v1/administrations/{administration.external_id}/correct/",
        {"reason": "wrong_patient"},
        format="json",
    )
    assert withdrawn.status_code == 201, withdrawn.content

    # when
    doses = fast_sql.doses_either_side(
        admission_id=administration.admission_id,
        now=dose.due_at,
        since=dose.due_at - timedelta(hours=1),
        until=dose.due_at + timedelta(hours=1),
    )

    # then
    assert doses[dose.pk].is_given is False
    assert locks.dose_with_record_to_replace(dose.pk) == administration.pk
    assert ScheduledDose.objects.get(pk=dose.pk).state != "given"


def test_a_session_request_reads_the_user_with_her_roles_in_one_statement():
    # given
    nurse = NurseFactory()
    client = APIClient()
    client.force_login(nurse)

    # when
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/api/v1/administrations/")

    # then: the user row and her groups come from one statement (hospital.auth.StaffBackend)
    assert response.status_code == 200, response.content
    user_reads = [q for q in captured if '"hospital_user"' in q["sql"] and "auth_group" in q["sql"]]
    assert len(user_reads) == 1
    assert not [q for q in captured if "auth_group" in q["sql"] and q not in user_reads]
    assert User.objects.get(pk=nurse.pk).roles == {"nurse"}


def test_the_session_of_a_deactivated_user_is_refused():
    nurse = NurseFactory()
    client = APIClient()
    client.force_login(nurse)
    assert client.get("/api/v1/administrations/").status_code == 200

    User.objects.filter(pk=nurse.pk).update(is_active=False)

    assert client.get("/api/v1/administrations/").status_code in (401, 403)


def test_the_sql_and_the_orm_count_the_same_records_as_given(frozen_demo, nurse_client):
    # given: a dose given, withdrawn as entered in error, then given again
    body = {"patient": image(AN_BAND), "medications": [image(name) for name in PARACETAMOL]}
    first = nurse_client.post("/api/v1/administrations/", body, format="json").json()
    nurse_client.post(
        f"/api/v1/administrations/{first['id']}/correct/", {"reason": "duplicate"}, format="json"
    )
    other_packs = [f"unit-dose-08936012345001-PCM2611AS00{n}.png" for n in (3, 4)]
    again = nurse_client.post(
        "/api/v1/administrations/",
        {"patient": image(AN_BAND), "medications": [image(name) for name in other_packs]},
        format="json",
    )
    assert again.status_code == 201, again.content
    assert Administration.objects.count() == 3  # given, its withdrawal, given again

    # when
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT a.id FROM {Administration._meta.db_table} a "
            f"WHERE {fast_sql._counting_given()}",
            ["completed"],
        )
        by_sql = {row[0] for row in cursor.fetchall()}

    # then
    by_orm = set(Administration.objects.counting_given().values_list("pk", flat=True))
    assert by_sql == by_orm == {Administration.objects.get(external_id=again.json()["id"]).pk}
    assert set(Administration.objects.still_counting().values_list("pk", flat=True)) == by_orm


def test_standing_and_withdrawn_split_the_ledger_across_a_relation(frozen_demo, nurse_client):
    # given: a dose given, then withdrawn as entered in error
    body = {"patient": image(AN_BAND), "medications": [image(name) for name in PARACETAMOL]}
    first = nurse_client.post("/api/v1/administrations/", body, format="json").json()
    nurse_client.post(
        f"/api/v1/administrations/{first['id']}/correct/", {"reason": "duplicate"}, format="json"
    )
    given = Administration.objects.get(external_id=first["id"])

    # then: the record is withdrawn, its withdrawal stands, and the same Q reads through a
    # relation (the order's records) as on the records themselves
    assert set(Administration.objects.filter(withdrawn_q()).values_list("pk", flat=True)) == {
        given.pk
    }
    assert given.pk not in set(
        Administration.objects.filter(standing_q()).values_list("pk", flat=True)
    )
    order = MedicationOrder.objects.filter(pk=given.order_id)
    assert order.filter(withdrawn_q("administrations__")).exists()
    assert not order.filter(standing_q("administrations__"), administrations__pk=given.pk).exists()
    assert not Administration.objects.filter(order=given.order).counting_given().exists()


def test_a_dose_due_and_a_record_given_exactly_at_the_bounds_are_read_on_every_database():
    # given: a dose due exactly at `now`, given exactly then (SQLite compares datetimes as text)
    now = timezone.now().replace(microsecond=0)
    order = OrderFactory(
        schedule_kind="prn",
        prn_indication="đau",
        prn_min_interval_minutes=240,
        prn_max_per_24h=4000,
    )
    dose = ScheduledDoseFactory(order=order, due_at=now)
    Administration.objects.create(
        patient=order.admission.patient,
        admission=order.admission,
        order=order,
        scheduled_dose=dose,
        status="completed",
        performer=NurseFactory(),
        administered_at=now,
        amount=order.dose_value,
        unit=order.dose_unit,
        route=order.route,
    )

    # when: a window that starts, ends and turns at that moment
    doses = fast_sql.doses_either_side(
        admission_id=order.admission_id, now=now, since=now, until=now
    )
    prior = fast_sql.prior_given(order_ids=[order.pk], since=now)

    # then
    assert list(doses) == [dose.pk]
    assert doses[dose.pk].is_given is True
    assert [row[:2] for row in prior] == [(order.pk, now)]


def test_a_row_builds_the_instance_that_from_db_builds(frozen_demo):
    # given: every order row of the demo, read raw
    columns = ModelColumns(MedicationOrder, "o")
    rows = fetchall(f"SELECT {columns.sql} FROM {table(MedicationOrder)} o ORDER BY o.id", [])

    # when
    built = [columns.instance(row) for row in rows]

    # then: the same values and state as Model.from_db, and the same as a queryset reads
    for row, instance in zip(rows, built, strict=True):
        expected = MedicationOrder.from_db(connection.alias, columns.names, columns.values(row))
        assert {k: v for k, v in vars(instance).items() if k != "_state"} == {
            k: v for k, v in vars(expected).items() if k != "_state"
        }
        assert (instance._state.adding, instance._state.db) == (False, connection.alias)
    assert [fields(o) for o in built] == [fields(o) for o in MedicationOrder.objects.order_by("pk")]


def test_a_model_with_an_init_signal_is_built_through_its_init(frozen_demo):
    # given
    columns = ModelColumns(MedicationOrder, "o")
    row = fetchall(f"SELECT {columns.sql} FROM {table(MedicationOrder)} o LIMIT 1", [])[0]
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance)

    # when
    post_init.connect(receiver, sender=MedicationOrder)
    try:
        instance = columns.instance(row)
    finally:
        post_init.disconnect(receiver, sender=MedicationOrder)

    # then
    assert len(seen) == 1
    assert seen[0] is instance
