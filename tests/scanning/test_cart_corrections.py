"""A nurse marks her own record entered in error at the cart, within a set time, through the
one correction service (issue 13, item 8)."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import translation

from hospital.models import Role, User
from scanning.models import Administration, AdministrationStatus
from scanning.services import (
    CorrectionWindowClosedError,
    PerformerNotAllowedError,
    administration_correct,
)
from tests.factories import NurseFactory
from tests.scanning.conftest import AN_BAND, BINH_BADGE, DEMO_NOW, HOA_BADGE, PARACETAMOL, image
from wards.models import Ward

pytestmark = pytest.mark.django_db


@pytest.fixture
def refused_dose(nurse_client):
    """Hoa documents An's 08:00 paracetamol as refused, at 08:10."""
    mar = nurse_client.get("/api/v1/patients/BN2026000101/mar/").json()
    order = next(o for o in mar["orders"] if o["medication"].startswith("Paracetamol"))
    response = nurse_client.post(
        "/api/v1/administrations/not-given/",
        {
            "patient": image(AN_BAND),
            "order": order["id"],
            "scheduled_dose": order["doses"][0]["id"],
            "reason": "refused",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="refused-an-0800",
    )
    assert response.status_code == 201, response.json()
    return Administration.objects.get(external_id=response.json()["id"])


def hoa():
    return User.objects.get(badge_gsrn=HOA_BADGE[4:])


def test_a_nurse_marks_her_own_record_entered_in_error_within_the_window(refused_dose):
    # when: 59 minutes later
    with time_machine.travel(DEMO_NOW + timedelta(minutes=59), tick=False):
        withdrawal, replacement = administration_correct(
            performer=hoa(), administration=refused_dose, reason="not_given"
        )
    # then
    assert withdrawal.status == AdministrationStatus.ENTERED_IN_ERROR
    assert withdrawal.corrects == refused_dose and replacement is None
    refused_dose.scheduled_dose.refresh_from_db()
    assert refused_dose.scheduled_dose.state == "scheduled"


def test_her_own_record_after_the_window_is_refused_with_a_clear_error(refused_dose):
    with (
        time_machine.travel(DEMO_NOW + timedelta(minutes=61), tick=False),
        translation.override("en"),
        pytest.raises(CorrectionWindowClosedError) as refused,
    ):
        administration_correct(performer=hoa(), administration=refused_dose, reason="duplicate")
    assert refused.value.code == "CORRECTION_WINDOW_CLOSED" and refused.value.status == 403
    assert "60" in refused.value.message and "charge nurse" in refused.value.message
    assert Administration.objects.count() == 1


def test_the_window_is_a_setting(refused_dose, settings):
    settings.CART_ENTERED_IN_ERROR_MINUTES = 5
    with (
        time_machine.travel(DEMO_NOW + timedelta(minutes=6), tick=False),
        pytest.raises(CorrectionWindowClosedError),
    ):
        administration_correct(performer=hoa(), administration=refused_dose, reason="duplicate")


def test_another_nurses_record_is_refused(refused_dose):
    binh = User.objects.get(badge_gsrn=BINH_BADGE[4:])
    with translation.override("en"), pytest.raises(PerformerNotAllowedError) as refused:
        administration_correct(performer=binh, administration=refused_dose, reason="duplicate")
    assert "charge nurse" in refused.value.message
    assert Administration.objects.count() == 1


def test_a_charge_nurse_still_corrects_after_the_window(refused_dose):
    charge = NurseFactory(role=Role.CHARGE_NURSE)
    Ward.objects.get(code="NOI").staff.add(charge)
    with time_machine.travel(DEMO_NOW + timedelta(hours=5), tick=False):
        withdrawal, _ = administration_correct(
            performer=charge, administration=refused_dose, reason="duplicate"
        )
    assert withdrawal.status == AdministrationStatus.ENTERED_IN_ERROR


def test_the_api_answers_the_closed_window_in_words(nurse_client, refused_dose, settings):
    settings.CART_ENTERED_IN_ERROR_MINUTES = 1  # the cart's session would not outlive an hour
    url = f"/api/v1/administrations/{refused_dose.external_id}/correct/"
    with time_machine.travel(DEMO_NOW + timedelta(minutes=2), tick=False):
        response = nurse_client.post(
            url, {"reason": "duplicate"}, format="json", HTTP_IDEMPOTENCY_KEY="late-correction"
        )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "CORRECTION_WINDOW_CLOSED"
    assert Administration.objects.count() == 1


def test_the_mar_row_says_what_was_recorded_when_and_by_whom(nurse_client, refused_dose):
    mar = nurse_client.get("/api/v1/patients/BN2026000101/mar/").json()
    dose = next(
        d
        for o in mar["orders"]
        for d in o["doses"]
        if d["id"] == str(refused_dose.scheduled_dose.external_id)
    )
    [shown] = dose["records"]
    assert shown["status"] == "not_done" and shown["reason"] == "refused"
    assert shown["by"] == hoa().get_full_name()
    assert shown["at"].startswith("2026-11-24T08:10")
    assert shown["mine"] is True
    assert shown["correctable_until"].startswith("2026-11-24T09:10")


def test_a_paracetamol_record_can_be_withdrawn_through_the_api_in_time(nurse_client):
    body = {"patient": image(AN_BAND), "medications": [image(n) for n in PARACETAMOL]}
    recorded = nurse_client.post("/api/v1/administrations/", body, format="json")
    url = f"/api/v1/administrations/{recorded.json()['id']}/correct/"
    response = nurse_client.post(
        url, {"reason": "wrong_patient"}, format="json", HTTP_IDEMPOTENCY_KEY="in-time"
    )
    assert response.status_code == 201, response.json()


def test_a_prn_row_says_when_it_was_last_given_and_when_it_is_next_allowed(frozen_demo):
    # given: Hương's paracetamol PRN (1 g, 4 h apart, 4 g in 24 h) given at 07:00
    from pharmacy.models import MedicationOrder
    from scanning.selectors import mar_order_flags

    order = MedicationOrder.objects.get(admission__patient__mrn="BN2026000104", schedule_kind="prn")
    performer = hoa()
    Administration.objects.create(
        patient=order.admission.patient,
        admission=order.admission,
        order=order,
        status=AdministrationStatus.COMPLETED,
        performer=performer,
        administered_at=DEMO_NOW - timedelta(hours=1, minutes=10),
        amount=1,
        unit="g",
        route="PO",
    )
    # when
    flags = mar_order_flags(patient=order.admission.patient, orders=[order], now=DEMO_NOW)
    # then
    assert flags[order.pk]["last_given_at"] == DEMO_NOW - timedelta(hours=1, minutes=10)
    assert flags[order.pk]["next_allowed_at"] == DEMO_NOW + timedelta(hours=2, minutes=50)
    assert flags[order.pk]["allowed_now"] is False
    # and once the interval has passed, by the server's clock
    later = DEMO_NOW + timedelta(hours=3)
    flags = mar_order_flags(patient=order.admission.patient, orders=[order], now=later)
    assert flags[order.pk]["next_allowed_at"] == later
    assert flags[order.pk]["allowed_now"] is True


def test_an_order_the_patient_is_allergic_to_is_flagged_by_the_verdicts_rule(nurse_client):
    mar = nurse_client.get("/api/v1/patients/BN2026000101/mar/").json()
    flagged = {o["medication"]: o["allergies"] for o in mar["orders"] if o["allergies"]}
    assert list(flagged) == ["Amoxicillin 500 mg viên nang"]
    assert flagged["Amoxicillin 500 mg viên nang"][0]["severity"] == "severe"
    assert {o["route_name"] for o in mar["orders"]} == {"uống"}


def test_the_last_72_hours_of_records_are_one_request_away(nurse_client, refused_dose):
    response = nurse_client.get("/api/v1/patients/BN2026000101/administrations/recent/")
    assert response.status_code == 200
    [record] = response.json()["records"]
    assert record["status"] == "not_done" and record["by"] == hoa().get_full_name()
    assert nurse_client.get("/api/v1/patients/NOPE/administrations/recent/").status_code in (
        403,
        404,
    )
