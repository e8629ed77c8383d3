"""Patches (products that require removal) and body sites at the bedside, through the API and the
services on the database: a second patch while the first is on is a STOP, removal is its own
hash-chained record under the patient's lock, the same site within the substance's look-back
WARNs. The races are at the end (PostgreSQL)."""

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from rest_framework.test import APIClient

import gs1
from pharmacy.models import ScheduleKind
from scanning.anchors import audit_walk
from scanning.models import Administration, Removal
from scanning.selectors import removals_overdue
from tests.factories import (
    AdmissionFactory,
    MedicationFactory,
    NurseFactory,
    OrderFactory,
    PackageFactory,
    PharmacistFactory,
    SubstanceFactory,
    WardFactory,
    WristbandFactory,
)
from tests.scanning.test_concurrency import run_together

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
serials = iter(range(1, 10_000))


@dataclass
class Bedside:
    nurse: object
    band: object
    order: object
    package: object

    def client(self, nurse=None) -> APIClient:
        client = APIClient()
        client.force_login(nurse or self.nurse)
        session = client.session
        session["ward"] = self.band.admission.ward.code
        session["cart"] = "NOI-1"
        session.save()
        return client

    def band_scan(self) -> dict:
        return {
            "code": gs1.wristband_element_string(
                gs1.WristbandPayload(gsrn=self.band.patient.gsrn, instance=self.band.instance)
            )
        }

    def unit_scan(self, package=None) -> dict:
        payload = gs1.MedicationPayload(
            gtin=(package or self.package).gtin,
            expiry=date(2030, 1, 31),
            lot="P1",
            serial=f"S{next(serials)}",
        )
        return {"code": gs1.medication_element_string(payload)}

    def body(self, site: str = "", **extra) -> dict:
        body = {
            "patient": self.band_scan(),
            "medications": [self.unit_scan()],
            "prn_reason": "đau",  # the order's one indication
            **extra,
        }
        if site:
            body["site"] = site
        return body

    def check(self, site: str = "", client=None):
        return (client or self.client()).post("/api/v1/scan/check/", self.body(site), format="json")

    def apply(self, site: str = "LUA", client=None, key: str | None = None, **extra):
        headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
        return (client or self.client()).post(
            "/api/v1/administrations/", self.body(site, **extra), format="json", **headers
        )

    def remove(self, record_id, site="LUA", client=None, key=None, **extra):
        headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
        return (client or self.client()).post(
            f"/api/v1/administrations/{record_id}/remove/",
            {"patient": self.band_scan(), "site": site, **extra},
            format="json",
            **headers,
        )


def _bedside(medication, *, dose, unit, route, package_unit="each") -> Bedside:
    ward = WardFactory()
    nurse = NurseFactory()
    ward.staff.add(nurse)
    pharmacist = PharmacistFactory()
    package = PackageFactory(medication=medication, quantity_unit=package_unit)
    admission = AdmissionFactory(ward=ward)
    band = WristbandFactory(admission=admission, instance=1, printed_by=pharmacist)
    order = OrderFactory(
        admission=admission,
        medication=medication,
        dose_value=Decimal(dose),
        dose_unit=unit,
        route=route,
        schedule_kind=ScheduleKind.PRN,
        times_of_day=[],
        prn_indication="đau",
        prn_min_interval_minutes=1,
        prn_max_per_24h=Decimal("100000"),
        start_at=T0 - timedelta(days=1),
        verified_by=pharmacist,
    )
    return Bedside(nurse=nurse, band=band, order=order, package=package)


@pytest.fixture
def fentanyl(db):
    substance = SubstanceFactory(code="fentanyl", name="Fentanyl", site_lookback_hours=168)
    medication = MedicationFactory(
        name="Fentanyl 25 mcg/giờ miếng dán",
        substance=substance,
        strength_value=Decimal("25"),
        strength_unit="mcg",
        dose_form="patch",
        routes=["TD"],
        requires_removal=True,
        wear_hours=72,
    )
    with time_machine.travel(T0, tick=False):
        yield _bedside(medication, dose="25", unit="mcg", route="TD")


@pytest.fixture
def heparin(db):
    substance = SubstanceFactory(code="heparin", name="Heparin", site_lookback_hours=48)
    medication = MedicationFactory(
        name="Heparin 5000 IU/mL",
        substance=substance,
        strength_value=Decimal("5000"),
        strength_unit="IU",
        per_unit="mL",
        dose_form="injection",
        routes=["SC"],
        divisible=True,
    )
    with time_machine.travel(T0, tick=False):
        yield _bedside(medication, dose="5000", unit="IU", route="SC", package_unit="mL")


def codes(response) -> set[str]:
    body = response.json()
    findings = body.get("findings") or body.get("error", {}).get("details", {}).get("findings", [])
    return {finding["code"] for finding in findings}


# --- the unhappy paths first ----------------------------------------------------------------


def test_a_second_patch_while_the_first_is_on_is_a_stop(fentanyl):
    first = fentanyl.apply("LUA")
    assert first.status_code == 201, first.content

    with time_machine.travel(T0 + timedelta(hours=72), tick=False):
        check = fentanyl.check("RUA")
        second = fentanyl.apply("RUA")

    assert check.json()["verdict"] == "stop"
    assert "PREVIOUS_NOT_REMOVED" in codes(check)
    assert second.status_code == 422
    assert second.json()["error"]["code"] == "CHECK_STOP"
    assert "PREVIOUS_NOT_REMOVED" in codes(second)
    assert Administration.objects.filter(order=fentanyl.order).count() == 1


def test_a_patch_is_not_recorded_without_a_coded_site(fentanyl):
    no_site = fentanyl.apply("")
    free_text = fentanyl.apply("vai trái")

    assert no_site.status_code == 422
    assert no_site.json()["error"]["code"] == "SITE_REQUIRED"
    assert free_text.status_code == 400
    assert not Administration.objects.exists()


def test_the_check_asks_for_a_site_for_a_patch(fentanyl):
    site = fentanyl.check().json()["site"]

    assert site == {"required": True, "offered": True, "chosen": ""}


def test_a_removal_needs_the_patients_band_and_a_coded_site(fentanyl):
    applied = fentanyl.apply("LUA").json()["id"]
    other = WristbandFactory()

    wrong_band = fentanyl.client().post(
        f"/api/v1/administrations/{applied}/remove/",
        {
            "patient": {
                "code": gs1.wristband_element_string(
                    gs1.WristbandPayload(gsrn=other.patient.gsrn, instance=other.instance)
                )
            },
            "site": "LUA",
        },
        format="json",
    )
    no_site = fentanyl.remove(applied, site="")

    assert wrong_band.status_code == 422
    assert wrong_band.json()["error"]["code"] == "PATIENT_NOT_IDENTIFIED"
    assert no_site.status_code == 400
    assert not Removal.objects.exists()


def test_a_scanned_label_must_be_the_product_applied(fentanyl):
    applied = fentanyl.apply("LUA").json()["id"]
    other = PackageFactory()

    response = fentanyl.remove(applied, medication=fentanyl.unit_scan(other))

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "REMOVAL_SCAN_MISMATCH"
    assert not Removal.objects.exists()


def test_removing_twice_is_already_removed(fentanyl):
    applied = fentanyl.apply("LUA").json()["id"]

    first = fentanyl.remove(applied)
    second = fentanyl.remove(applied)

    assert first.status_code == 201
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "ALREADY_REMOVED"
    assert Removal.objects.count() == 1


def test_a_retried_removal_answers_the_first_answer(fentanyl):
    applied = fentanyl.apply("LUA").json()["id"]

    first = fentanyl.remove(applied, key="remove-1")
    retry = fentanyl.remove(applied, key="remove-1")

    assert first.status_code == retry.status_code == 201
    assert first.json()["id"] == retry.json()["id"]
    assert Removal.objects.count() == 1


def test_a_tablet_record_cannot_be_removed(db):
    tablet = MedicationFactory()
    with time_machine.travel(T0, tick=False):
        bedside = _bedside(tablet, dose="500", unit="mg", route="PO")
        applied = bedside.apply("").json()["id"]

        response = bedside.remove(applied)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "NOT_WORN"


# --- the happy path -------------------------------------------------------------------------


def test_apply_remove_apply(fentanyl):
    first = fentanyl.apply("LUA").json()

    with time_machine.travel(T0 + timedelta(hours=72), tick=False):
        removed = fentanyl.remove(first["id"], medication=fentanyl.unit_scan())
        second = fentanyl.apply("RUA")

    assert removed.status_code == 201, removed.content
    assert removed.json()["scanned"] is True
    assert removed.json()["site"] == "LUA"
    assert second.status_code == 201, second.content
    assert second.json()["site"] == "RUA"
    removal = Removal.objects.get()
    assert removal.administration.external_id.hex == first["id"].replace("-", "")
    assert removal.content_hash and removal.chain_seq == 1
    assert audit_walk(None).sound


def test_the_mar_lists_the_patch_on_with_its_site_and_removal_time(fentanyl):
    fentanyl.apply("LUA")
    mrn = fentanyl.band.patient.mrn

    with time_machine.travel(T0 + timedelta(hours=71), tick=False):
        before = fentanyl.client().get(f"/api/v1/patients/{mrn}/mar/").json()["worn"]
    with time_machine.travel(T0 + timedelta(hours=72), tick=False):
        due = fentanyl.client().get(f"/api/v1/patients/{mrn}/mar/").json()["worn"]

    assert len(before) == 1
    assert before[0]["site"] == "LUA"
    assert before[0]["site_name"] == "cánh tay trái"
    assert before[0]["due_at"] == "2026-11-27T08:00:00+07:00"
    assert before[0]["overdue"] is False
    assert due[0]["overdue"] is True  # due exactly now is due


def test_overdue_removals_lists_only_patches_past_due_and_not_removed(fentanyl):
    applied = fentanyl.apply("LUA").json()["id"]
    ward = fentanyl.band.admission.ward

    assert removals_overdue(ward_ids=[ward.pk], now=T0 + timedelta(hours=71)) == []
    overdue = removals_overdue(ward_ids=[ward.pk], now=T0 + timedelta(hours=73))
    assert [row["overdue_minutes"] for row in overdue] == [60]

    with time_machine.travel(T0 + timedelta(hours=73), tick=False):
        fentanyl.remove(applied)
    assert removals_overdue(ward_ids=[ward.pk], now=T0 + timedelta(hours=74)) == []


def test_a_patch_entered_in_error_is_not_on_the_patient(fentanyl):
    applied = fentanyl.apply("LUA").json()["id"]

    corrected = fentanyl.client().post(
        f"/api/v1/administrations/{applied}/correct/",
        {"reason": "not_given", "comment": ""},
        format="json",
    )
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        again = fentanyl.apply("RUA")

    assert corrected.status_code == 201, corrected.content
    assert again.status_code == 201, again.content


# --- sites ----------------------------------------------------------------------------------


def test_the_same_site_within_the_lookback_warns_with_the_last_date(heparin):
    assert heparin.apply("LLAQ").status_code == 201

    with time_machine.travel(T0 + timedelta(hours=24), tick=False):
        same = heparin.check("LLAQ").json()
        other = heparin.check("RLAQ").json()
        unchosen = heparin.check("").json()
    with time_machine.travel(T0 + timedelta(hours=48), tick=False):
        after = heparin.check("LLAQ").json()

    assert same["verdict"] == "warn"
    found = next(f for f in same["findings"] if f["code"] == "SITE_RECENTLY_USED")
    assert "08:00 (24/11)" in found["message"]
    assert other["verdict"] == unchosen["verdict"] == after["verdict"] == "go"
    assert same["site"] == {"required": False, "offered": True, "chosen": "LLAQ"}


def test_the_site_warning_needs_an_override_to_record(heparin):
    heparin.apply("LLAQ")

    with time_machine.travel(T0 + timedelta(hours=24), tick=False):
        refused = heparin.apply("LLAQ")
        recorded = heparin.apply(
            "LLAQ", overrides=[{"code": "SITE_RECENTLY_USED", "reason": "NO_OTHER_SITE"}]
        )

    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "OVERRIDE_REQUIRED"
    assert recorded.status_code == 201, recorded.content
    assert recorded.json()["site"] == "LLAQ"


# --- races (PostgreSQL) ---------------------------------------------------------------------

ITERATIONS = 8


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_carts_removing_one_patch_record_one_removal():
    substance = SubstanceFactory(code="fentanyl", name="Fentanyl", site_lookback_hours=168)
    medication = MedicationFactory(
        substance=substance,
        strength_value=Decimal("25"),
        strength_unit="mcg",
        dose_form="patch",
        routes=["TD"],
        requires_removal=True,
        wear_hours=72,
    )
    for _ in range(ITERATIONS):
        bedside = _bedside(medication, dose="25", unit="mcg", route="TD")
        applied = bedside.apply("LUA").json()["id"]
        second_nurse = NurseFactory()
        bedside.band.admission.ward.staff.add(second_nurse)
        clients = [bedside.client(), bedside.client(second_nurse)]

        answers = run_together(
            2, lambda i, b=bedside, a=applied, c=clients: b.remove(a, client=c[i])
        )

        assert sorted(a.status_code for a in answers) == [201, 409]
        assert Removal.objects.filter(administration__external_id=applied).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_carts_applying_a_patch_while_none_is_on_record_one():
    substance = SubstanceFactory(code="fentanyl", name="Fentanyl", site_lookback_hours=168)
    medication = MedicationFactory(
        substance=substance,
        strength_value=Decimal("25"),
        strength_unit="mcg",
        dose_form="patch",
        routes=["TD"],
        requires_removal=True,
        wear_hours=72,
    )
    rng = random.Random(17)
    for _ in range(ITERATIONS):
        bedside = _bedside(medication, dose="25", unit="mcg", route="TD")
        second_nurse = NurseFactory()
        bedside.band.admission.ward.staff.add(second_nurse)
        clients = [bedside.client(), bedside.client(second_nurse)]
        sites = rng.sample(["LUA", "RUA", "LT", "RT"], 2)

        answers = run_together(
            2, lambda i, b=bedside, s=sites, c=clients: b.apply(s[i], client=c[i])
        )

        statuses = sorted(a.status_code for a in answers)
        assert statuses == [201, 422], [a.content for a in answers]
        loser = next(a for a in answers if a.status_code == 422)
        assert "PREVIOUS_NOT_REMOVED" in codes(loser)
        assert Administration.objects.filter(order=bedside.order).count() == 1


def test_the_fhir_api_shows_a_removed_patch_over_its_period(fentanyl):
    from interop.selectors import administration_snapshot

    applied = fentanyl.apply("LUA").json()["id"]
    with time_machine.travel(T0 + timedelta(hours=72), tick=False):
        fentanyl.remove(applied, site="LUA")

    snapshot = administration_snapshot(Administration.objects.get(external_id=applied).pk)

    assert snapshot.site == "LUA"
    assert snapshot.removed.removed_at == T0 + timedelta(hours=72)
    assert snapshot.removed.site == "LUA"


@pytest.mark.postgres
def test_a_removal_cannot_be_changed_or_deleted(fentanyl):
    from django.db import DatabaseError, transaction

    applied = fentanyl.apply("LUA").json()["id"]
    fentanyl.remove(applied)

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Removal.objects.update(site="RUA")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Removal.objects.all().delete()
    assert Removal.objects.get().site == "LUA"
