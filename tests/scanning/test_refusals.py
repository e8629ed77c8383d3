"""scanning/refusals.py: each typed refusal answers with its status and stable code through the
API, in the one error shape."""

import pytest

from pharmacy.models import DoseState, ScheduledDose
from scanning import refusals
from scanning.models import Administration, ScanEvent
from tests.scanning.conftest import AN_BAND, PARACETAMOL, image

pytestmark = pytest.mark.django_db


def record(client, medications=PARACETAMOL, key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    body = {"patient": image(AN_BAND), "medications": [image(name) for name in medications]}
    return client.post("/api/v1/administrations/", body, format="json", **headers)


def not_given(client, dose):
    return client.post(
        "/api/v1/administrations/not-given/",
        {
            "patient": image(AN_BAND),
            "order": str(dose.order.external_id),
            "scheduled_dose": str(dose.external_id),
            "reason": "refused",
        },
        format="json",
    )


def correct(client, external_id):
    return client.post(
        f"/api/v1/administrations/{external_id}/correct/", {"reason": "duplicate"}, format="json"
    )


def refused(response):
    return response.status_code, response.json()["error"]["code"]


def a_paracetamol_dose():
    return (
        ScheduledDose.objects.filter(
            order__admission__patient__mrn="BN2026000101",
            order__medication__code="paracetamol-500-tab",
        )
        .order_by("due_at")
        .first()
    )


def test_recording_a_dose_already_given_is_409_already_given(nurse_client):
    # given
    assert record(nurse_client, key="first").status_code == 201
    # when
    again = record(
        nurse_client,
        [f"unit-dose-08936012345001-PCM2611AS00{n}.png" for n in (3, 4)],
        key="second",
    )
    # then
    assert refused(again) == (409, "ALREADY_GIVEN")


def test_not_given_for_a_dose_already_given_is_409_already_given(nurse_client):
    # given
    assert record(nurse_client).status_code == 201
    dose = Administration.objects.get().scheduled_dose
    # when / then
    assert refused(not_given(nurse_client, dose)) == (409, "ALREADY_GIVEN")


def test_a_second_not_given_note_is_409_already_documented(nurse_client):
    # given
    dose = a_paracetamol_dose()
    assert not_given(nurse_client, dose).status_code == 201
    # when / then
    assert refused(not_given(nurse_client, dose)) == (409, "ALREADY_DOCUMENTED")


def test_not_given_for_a_cancelled_dose_is_409_dose_cancelled(nurse_client):
    # given
    dose = a_paracetamol_dose()
    ScheduledDose.objects.filter(pk=dose.pk).update(state=DoseState.CANCELLED)
    # when / then
    assert refused(not_given(nurse_client, dose)) == (409, "DOSE_CANCELLED")


def test_correcting_a_correction_is_409_not_correctable(nurse_client):
    # given
    given = record(nurse_client).json()
    withdrawal = correct(nurse_client, given["id"]).json()["entered_in_error"]
    # when / then
    assert refused(correct(nurse_client, withdrawal["id"])) == (409, "NOT_CORRECTABLE")


def test_correcting_a_record_twice_is_409_already_corrected(nurse_client):
    # given
    given = record(nurse_client).json()
    assert correct(nurse_client, given["id"]).status_code == 201
    # when / then
    assert refused(correct(nurse_client, given["id"])) == (409, "ALREADY_CORRECTED")


def test_answering_twice_for_an_unrecorded_check_is_409_already_acknowledged(nurse_client):
    # given: a GO check, never recorded, answered for once
    body = {"patient": image(AN_BAND), "medications": [image(name) for name in PARACETAMOL]}
    assert nurse_client.post("/api/v1/scan/check/", body, format="json").status_code == 200
    event = ScanEvent.objects.get(purpose="check")
    url = f"/api/v1/checks/{event.external_id}/acknowledge/"
    assert nurse_client.post(url, {"reason": "scanned_in_error"}, format="json").status_code == 201
    # when / then
    again = nurse_client.post(url, {"reason": "scanned_in_error"}, format="json")
    assert refused(again) == (409, "ALREADY_ACKNOWLEDGED")


def test_every_refusal_is_a_409_with_its_own_code():
    # SERIAL_ALREADY_USED reaches the API only when two carts race for one unit: its answer
    # through the API is in tests/scanning/test_concurrency.py (PostgreSQL).
    assert set(refusals.REFUSALS) == {
        "ALREADY_GIVEN",
        "SERIAL_ALREADY_USED",
        "ALREADY_DOCUMENTED",
        "DOSE_CANCELLED",
        "NOT_CORRECTABLE",
        "ALREADY_CORRECTED",
        "ALREADY_ACKNOWLEDGED",
        "INFUSION_BAG_ALREADY_HUNG",
        "INFUSION_BAG_ENDED",
        "ALREADY_REMOVED",  # their answers through the API: tests/scanning/test_patches.py
        "NOT_WORN",
        # Through the API: tests/scanning/test_waste.py.
        "WASTE_ALREADY_DOCUMENTED",
        "NOT_WASTEABLE",
        # Through the API and the pharmacy site: tests/scanning/test_missing_doses.py.
        "MISSING_DOSE_ALREADY_SENT",
        # Through the API: tests/scanning/test_reassessments.py (and the race, on PostgreSQL).
        "ALREADY_REASSESSED",
        "NOT_REASSESSABLE",
    }
    for code, refusal in refusals.REFUSALS.items():
        assert issubclass(refusal, refusals.RefusalError)
        assert (refusal.code, refusal.status) == (code, 409)
        assert refusals.status_of(code, otherwise=422) == 409
    assert refusals.status_of("CHECK_STOP", otherwise=422) == 422
