"""The cart's ward worklist (scanning.selectors.ward_worklist, GET /api/v1/wards/{code}/worklist/):
the ward's due and overdue doses across patients before a wristband is scanned, with the patches
due off and the bags due to end, for the nurses of that ward only, in a fixed number of queries."""

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from pharmacy.models import OrderStatus
from scanning.selectors import WorklistKind, ward_worklist
from tests.factories import (
    AdministrationFactory,
    AdmissionFactory,
    BedFactory,
    MedicationFactory,
    OrderFactory,
    ScheduledDoseFactory,
    SubstanceFactory,
    WardFactory,
)
from tests.scanning.conftest import (
    DEMO_NOW,
    HOA_BADGE,
    PARACETAMOL,
    TUAN_BADGE,
    badge_client,
    image,
)
from tests.scanning.test_infusions import Bedside
from tests.scanning.test_patches import T0, fentanyl  # noqa: F401
from tests.scanning.test_ward_scoping import error_code
from wards.services import admission_discharge

pytestmark = pytest.mark.django_db

NOW = DEMO_NOW
URL = "/api/v1/wards/{}/worklist/"


def worklist(ward, now=NOW, before=4, ahead=2):
    return ward_worklist(ward=ward, now=now, hours_before=before, hours_ahead=ahead)


def an_order(ward, **fields):
    """An active order verified yesterday, on a new patient in a bed of `ward`."""
    admission = AdmissionFactory(
        ward=ward, bed=BedFactory(ward=ward), admitted_at=NOW - timedelta(days=2)
    )
    return OrderFactory(
        admission=admission,
        start_at=NOW - timedelta(days=1),
        verified_at=NOW - timedelta(days=1),
        **fields,
    )


def client_of(nurse, ward: str) -> APIClient:
    client = APIClient()
    client.force_login(nurse)
    session = client.session
    session["ward"] = ward
    session.save()
    return client


# ------------------------------------------------------------------------------ what it lists


def test_the_window_runs_from_hours_before_to_hours_ahead_both_ends_inside():
    # given
    ward = WardFactory()
    order = an_order(ward)
    second = timedelta(seconds=1)
    for due in (
        NOW - timedelta(hours=4) - second,
        NOW - timedelta(hours=4),
        NOW + timedelta(hours=2),
        NOW + timedelta(hours=2) + second,
    ):
        ScheduledDoseFactory(order=order, due_at=due)

    # when
    rows = worklist(ward)

    # then
    assert [row.due_at for row in rows] == [NOW - timedelta(hours=4), NOW + timedelta(hours=2)]


def test_a_dose_past_the_wards_window_is_overdue_and_comes_first():
    # given: the ward's window is ±60 min
    ward = WardFactory()
    order = an_order(ward)
    ScheduledDoseFactory(order=order, due_at=NOW + timedelta(minutes=30))
    ScheduledDoseFactory(order=order, due_at=NOW - timedelta(minutes=60))  # on the edge: due
    ScheduledDoseFactory(order=order, due_at=NOW - timedelta(minutes=61))

    # when
    rows = worklist(ward)

    # then
    assert [(row.due_at - NOW, row.overdue, row.status) for row in rows] == [
        (timedelta(minutes=-61), True, "overdue"),
        (timedelta(minutes=-60), False, "due"),
        (timedelta(minutes=30), False, "due"),
    ]


def test_discharged_patients_discontinued_orders_and_given_doses_are_absent():
    # given
    ward = WardFactory()
    kept = an_order(ward)
    discharged = an_order(ward)
    discontinued = an_order(ward, status=OrderStatus.DISCONTINUED)
    given = an_order(ward)
    for order in (kept, discharged, discontinued, given):
        ScheduledDoseFactory(order=order, due_at=NOW)
    admission_discharge(admission=discharged.admission, discharged_at=NOW - timedelta(hours=1))
    dose = given.scheduled_doses.get()
    AdministrationFactory(order=given, scheduled_dose=dose)
    dose.state = "given"
    dose.save()

    # when
    rows = worklist(ward)

    # then
    assert [row.order for row in rows] == [kept]


def test_another_wards_doses_are_absent():
    ward = WardFactory()
    ScheduledDoseFactory(order=an_order(WardFactory()), due_at=NOW)

    assert worklist(ward) == []


def test_a_high_alert_dose_needs_a_witness_and_a_controlled_one_a_witness_for_waste():
    ward = WardFactory()
    heparin = MedicationFactory(
        substance=SubstanceFactory(code="heparin", name="Heparin"), high_alert=True
    )
    morphine = MedicationFactory(
        substance=SubstanceFactory(code="morphine", name="Morphin"), controlled=True
    )
    ScheduledDoseFactory(order=an_order(ward, medication=heparin), due_at=NOW)
    ScheduledDoseFactory(order=an_order(ward, medication=morphine), due_at=NOW)

    pending = {row.order.medication_id: row.pending for row in worklist(ward)}

    assert pending == {heparin.pk: ("witness",), morphine.pk: ("controlled",)}


def test_a_patch_due_off_within_the_window_is_listed_and_overdue_once_due(fentanyl):  # noqa: F811
    # given: applied at T0, a 72 h wear time
    fentanyl.apply("LUA")
    ward = fentanyl.band.admission.ward
    due = T0 + timedelta(hours=72)

    # when
    too_early = worklist(ward, now=due - timedelta(hours=2, seconds=1))
    ahead = worklist(ward, now=due - timedelta(hours=2))
    past = worklist(ward, now=due + timedelta(minutes=5))

    # then
    assert too_early == []
    (row,) = [row for row in ahead if row.kind == WorklistKind.REMOVAL]
    assert (row.due_at, row.overdue, row.detail) == (due, False, "LUA")
    assert [(row.kind, row.overdue) for row in past if row.kind == WorklistKind.REMOVAL] == [
        (WorklistKind.REMOVAL, True)
    ]


def test_a_bag_due_to_end_within_the_window_is_listed_and_overdue_once_past_its_end():
    # given: 1000 mL at 125 mL/h ends 8 h after it is hung
    bedside = Bedside()
    hung_at = timezone.now()
    assert bedside.hang().status_code == 201

    def bags(now):
        return [row for row in worklist(bedside.ward, now=now) if row.kind == WorklistKind.BAG_END]

    # then
    assert bags(hung_at + timedelta(hours=5, minutes=50)) == []
    (soon,) = bags(hung_at + timedelta(hours=6, minutes=10))
    (late,) = bags(hung_at + timedelta(hours=8, minutes=10))
    assert (soon.overdue, soon.detail, late.overdue) == (False, "1", True)


# ------------------------------------------------------------------------------ the API


def test_the_demo_nurse_sees_her_wards_due_and_overdue_doses_overdue_first(nurse_client):
    # when: Hoa, at a NOI cart at 08:10
    response = nurse_client.get(URL.format("NOI"))

    # then
    assert response.status_code == 200, response.content
    body = response.json()
    rows = body["rows"]
    assert body["ward"] == "NOI" and body["generated_at"] == "2026-11-24T08:10:00+07:00"
    assert rows and {row["patient"]["mrn"][:10] for row in rows} == {"BN20260001"}
    overdue = [row["overdue"] for row in rows]
    assert overdue == sorted(overdue, reverse=True)  # overdue first
    paracetamol = next(r for r in rows if r["medication"].startswith("Paracetamol 500"))
    assert paracetamol | {"patient": None} == paracetamol | {
        "kind": "dose",
        "due_at": "2026-11-24T08:00:00+07:00",
        "overdue": False,
        "status": "due",
        "patient": None,
        "bed": "01",
        "dose": "1000 mg",
        "route": "PO",
        "pending": [],
    }
    assert paracetamol["patient"] == {"mrn": "BN2026000101", "full_name": "Nguyễn Văn An"}
    insulin = next(r for r in rows if r["medication"].startswith("Insulin"))
    assert insulin["pending"] == ["witness"]
    # Thành's metoprolol is held on his heart rate and pressure: measure before the round.
    metoprolol = next(r for r in rows if r["medication"].startswith("Metoprolol"))
    assert (metoprolol["bed"], metoprolol["pending"]) == ("12", ["measure"])
    # NGOAI's patients are not on a NOI cart's list
    assert "BN2026000109" not in {row["patient"]["mrn"] for row in rows}


def test_a_dose_given_leaves_the_list(nurse_client):
    before = nurse_client.get(URL.format("NOI")).json()["rows"]
    recorded = nurse_client.post(
        "/api/v1/administrations/",
        {
            "patient": image("wristband-BN2026000101.png"),
            "medications": [image(name) for name in PARACETAMOL],
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="worklist-1",
    )
    after = nurse_client.get(URL.format("NOI")).json()["rows"]

    assert recorded.status_code == 201, recorded.content
    assert len(after) == len(before) - 1
    assert not any(r["medication"].startswith("Paracetamol 500") for r in after)


def test_another_wards_worklist_is_refused(nurse_client):
    response = nurse_client.get(URL.format("NGOAI"))

    assert response.status_code == 403 and error_code(response) == "WARD_NOT_ASSIGNED"


def test_an_anonymous_caller_is_refused(frozen_demo):
    response = APIClient().get(URL.format("NOI"))

    assert response.status_code in (401, 403)
    assert "rows" not in response.json()


def test_a_pharmacist_is_not_a_nurse_at_the_cart(frozen_demo):
    response = badge_client(TUAN_BADGE, "555555", ward="").get(URL.format("NOI"))

    assert response.status_code == 403


def test_an_unknown_ward_is_a_404(nurse_client):
    assert nurse_client.get(URL.format("XYZ")).status_code == 404


def test_the_demo_nurses_cart_ward_plans_a_round_from_the_first_load():
    # given: `manage.py demo_load` (twice: it must stay idempotent), Hoa at a NOI cart
    with time_machine.travel(DEMO_NOW, tick=False):
        call_command("demo_load", quiet_logins=True)
        call_command("demo_load", quiet_logins=True)
        rows = badge_client(HOA_BADGE, "111111").get(URL.format("NOI")).json()["rows"]

    # then: doses due and overdue, a high-alert one needing a witness, and Hậu's patch due off
    kinds = {(row["kind"], row["status"] or row["overdue"]) for row in rows}
    assert {("dose", "due"), ("dose", "overdue"), ("removal", True)} <= kinds
    assert any("witness" in row["pending"] for row in rows)
    (patch,) = [row for row in rows if row["kind"] == "removal"]
    assert (patch["patient"]["mrn"], patch["bed"], patch["detail"]) == (
        "BN2026000119",
        "11",
        "cánh tay trái",
    )


# ------------------------------------------------------------------------------ its cost


def grow(ward, nurse, patients: int):
    """Patients with a due dose, an overdue high-alert dose and a patch due off."""
    patch = MedicationFactory(
        substance=SubstanceFactory(code="fentanyl", name="Fentanyl"),
        requires_removal=True,
        wear_hours=72,
        dose_form="patch",
        routes=["TD"],
        controlled=True,
    )
    for _ in range(patients):
        order = an_order(ward)
        ScheduledDoseFactory(order=order, due_at=timezone.now())
        heparin = an_order(ward, medication=MedicationFactory(high_alert=True))
        ScheduledDoseFactory(order=heparin, due_at=timezone.now() - timedelta(hours=2))
        worn = OrderFactory(admission=order.admission, medication=patch, route="TD")
        AdministrationFactory(
            order=worn, performer=nurse, administered_at=timezone.now() - timedelta(hours=73)
        )


def test_the_worklist_costs_the_same_queries_for_any_number_of_patients():
    # given: a ward with one bag infusing, then more patients
    bedside = Bedside()
    assert bedside.hang().status_code == 201
    ward, nurse = bedside.ward, bedside.nurse
    client = client_of(nurse, ward.code)

    def queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(URL.format(ward.code))
        assert response.status_code == 200, response.content
        return len(captured), len(response.json()["rows"])

    with time_machine.travel(timezone.now() + timedelta(hours=7), tick=False):
        grow(ward, nurse, patients=1)
        small, small_rows = queries()
        grow(ward, nurse, patients=8)
        large, large_rows = queries()

    # then
    assert large_rows > small_rows >= 4  # a dose, an overdue dose, a patch, the bag
    assert large == small
    assert (
        large <= 13
    )  # 9 reads (one of them the PRN doses to reassess) + PostgreSQL's plan-mode wrap
