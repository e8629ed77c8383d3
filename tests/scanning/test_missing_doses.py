"""Missing-dose requests (scanning/missing_doses.py and scanning/api/missing_dose_views.py): a
nurse asks the pharmacy for a dose, a second nurse gets the same request back, the pharmacy sends
it once, and the cart's dose list shows where it stands. On the demo hospital at 08:10, where
Nguyễn Văn An (NOI 01) has paracetamol due at 08:00."""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from rest_framework.test import APIClient

from hospital.exceptions import ApplicationError
from pharmacy.models import DoseState, OrderStatus, ScheduledDose
from scanning.missing_doses import (
    MissingDoseNotAllowedError,
    missing_dose_mark_sent,
    missing_dose_queue,
    missing_dose_request,
)
from scanning.models import MissingDoseRequest, MissingDoseState
from scanning.refusals import AlreadyGivenError, MissingDoseAlreadySentError
from tests.scanning.conftest import BINH_BADGE, DEMO_NOW, badge_client

pytestmark = pytest.mark.django_db

AN = "BN2026000101"
MAI_BADGE = "8017952000200000000136"  # nurse, NGOAI, PIN 333333


def user(username: str):
    return get_user_model().objects.get(username=username)


def an_paracetamol_dose() -> ScheduledDose:
    return (
        ScheduledDose.objects.select_related("order__admission")
        .filter(
            order__admission__patient__mrn=AN,
            order__medication__name__icontains="paracetamol",
            order__status=OrderStatus.ACTIVE,
            due_at=DEMO_NOW.replace(minute=0),
        )
        .get()
    )


def ask(client, dose: ScheduledDose, reason="not_on_cart", comment=""):
    return client.post(
        "/api/v1/missing-doses/",
        {"scheduled_dose": str(dose.external_id), "reason": reason, "comment": comment},
        format="json",
    )


def send(client, request_id: str):
    return client.post(f"/api/v1/missing-doses/{request_id}/sent/", format="json")


def mar_request(client, dose: ScheduledDose) -> dict | None:
    mar = client.get(f"/api/v1/patients/{AN}/mar/").json()
    (row,) = [d for o in mar["orders"] for d in o["doses"] if d["id"] == str(dose.external_id)]
    return row["missing_request"]


# --- the service ------------------------------------------------------------------------------


def test_a_nurse_asks_for_a_dose_and_it_waits_in_the_pharmacy_queue(frozen_demo):
    # given
    dose = an_paracetamol_dose()
    # when
    request, created = missing_dose_request(
        nurse=user("dieuduong.hoa"), scheduled_dose=dose, reason="damaged", cart="NOI-1"
    )
    # then
    assert created
    assert (request.state, request.reason, request.ward.code) == ("requested", "damaged", "NOI")
    assert (request.order_id, request.due_at) == (dose.order_id, dose.due_at)
    assert request in missing_dose_queue()
    assert request in missing_dose_queue(ward_code="NOI")
    assert request not in missing_dose_queue(ward_code="NGOAI")


def test_a_second_nurse_asking_for_the_same_dose_gets_the_first_request(frozen_demo):
    # given
    dose = an_paracetamol_dose()
    first, _ = missing_dose_request(
        nurse=user("dieuduong.hoa"), scheduled_dose=dose, reason="not_on_cart"
    )
    # when
    second, created = missing_dose_request(
        nurse=user("dieuduong.binh"), scheduled_dose=dose, reason="damaged"
    )
    # then
    assert not created
    assert second.pk == first.pk
    assert MissingDoseRequest.objects.count() == 1


def test_the_queue_lists_the_oldest_due_first(frozen_demo):
    # given: two doses asked for, the later one first
    doses = list(
        ScheduledDose.objects.filter(
            order__admission__ward__code="NOI",
            order__status=OrderStatus.ACTIVE,
            state=DoseState.SCHEDULED,
        ).order_by("-due_at")[:2]
    )
    for dose in doses:
        missing_dose_request(nurse=user("dieuduong.hoa"), scheduled_dose=dose, reason="damaged")
    # when
    queue = list(missing_dose_queue())
    # then
    assert [r.due_at for r in queue] == sorted(d.due_at for d in doses)


def test_sending_twice_is_refused_naming_who_sent_it(frozen_demo):
    # given
    request, _ = missing_dose_request(
        nurse=user("dieuduong.hoa"), scheduled_dose=an_paracetamol_dose(), reason="wrong_strength"
    )
    pharmacist = user("duocsi.tuan")
    sent = missing_dose_mark_sent(pharmacist=pharmacist, request=request)
    # when / then
    with pytest.raises(MissingDoseAlreadySentError) as refused:
        missing_dose_mark_sent(pharmacist=user("quantri"), request=request)
    assert (sent.state, sent.sent_by, sent.sent_at is not None) == ("sent", pharmacist, True)
    assert refused.value.details["sent_by"] == "duocsi.tuan"
    assert MissingDoseRequest.objects.get().sent_by == pharmacist
    assert not missing_dose_queue().exists()


def test_once_sent_the_dose_can_be_asked_for_again(frozen_demo):
    # given: the dose sent, then lost on the way
    dose = an_paracetamol_dose()
    first, _ = missing_dose_request(
        nurse=user("dieuduong.hoa"), scheduled_dose=dose, reason="damaged"
    )
    missing_dose_mark_sent(pharmacist=user("duocsi.tuan"), request=first)
    # when
    again, created = missing_dose_request(
        nurse=user("dieuduong.hoa"), scheduled_dose=dose, reason="not_on_cart"
    )
    # then
    assert created and again.pk != first.pk
    assert MissingDoseRequest.objects.filter(state=MissingDoseState.REQUESTED).get() == again


def test_a_dose_already_given_cannot_be_asked_for(frozen_demo):
    dose = an_paracetamol_dose()
    ScheduledDose.objects.filter(pk=dose.pk).update(state=DoseState.GIVEN)
    dose.refresh_from_db()

    with pytest.raises(AlreadyGivenError):
        missing_dose_request(nurse=user("dieuduong.hoa"), scheduled_dose=dose, reason="damaged")


def test_a_dose_of_an_order_on_hold_cannot_be_asked_for(frozen_demo):
    dose = an_paracetamol_dose()
    dose.order.status = OrderStatus.ON_HOLD

    with pytest.raises(ApplicationError) as refused:
        missing_dose_request(nurse=user("dieuduong.hoa"), scheduled_dose=dose, reason="damaged")
    assert (refused.value.code, refused.value.status) == ("ORDER_NOT_ACTIVE", 409)


def test_other_needs_a_comment(frozen_demo):
    with pytest.raises(ApplicationError) as refused:
        missing_dose_request(
            nurse=user("dieuduong.hoa"), scheduled_dose=an_paracetamol_dose(), reason="other"
        )
    assert refused.value.code == "COMMENT_REQUIRED"


def test_only_nurses_ask_and_only_the_pharmacy_sends(frozen_demo):
    dose = an_paracetamol_dose()
    with pytest.raises(MissingDoseNotAllowedError):
        missing_dose_request(nurse=user("duocsi.tuan"), scheduled_dose=dose, reason="damaged")
    request, _ = missing_dose_request(
        nurse=user("dieuduong.hoa"), scheduled_dose=dose, reason="damaged"
    )
    with pytest.raises(MissingDoseNotAllowedError):
        missing_dose_mark_sent(pharmacist=user("dieuduong.lan"), request=request)


# --- the database's own guarantees -----------------------------------------------------------


def _row(dose, **fields) -> MissingDoseRequest:
    values = {
        "order": dose.order,
        "due_at": dose.due_at,
        "ward": dose.order.admission.ward,
        "reason": "damaged",
        "requested_by": user("dieuduong.hoa"),
        **fields,
    }
    return MissingDoseRequest(**values)


def test_the_database_keeps_one_open_request_per_dose(frozen_demo):
    dose = an_paracetamol_dose()
    _row(dose).save()
    second = _row(dose)

    with pytest.raises(IntegrityError), transaction.atomic():
        second.save()
    with pytest.raises(ValidationError, match="Liều này đã được yêu cầu rồi"):
        second.validate_constraints()


@pytest.mark.parametrize(
    ("fields", "constraint"),
    [
        ({"reason": "other", "comment": ""}, "other_needs_comment"),
        ({"reason": "lost"}, "reason_valid"),
        ({"state": "sent"}, "sent_says_who_and_when"),
        # Also not "requested" or "sent": which of the two the database names first is its own.
        ({"state": "arrived"}, "state_valid|sent_says_who_and_when"),
    ],
)
def test_the_database_refuses_a_request_that_does_not_say_enough(frozen_demo, fields, constraint):
    row = _row(an_paracetamol_dose(), **fields)

    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        row.save()
    with pytest.raises(ValidationError, match=constraint):
        row.validate_constraints()


# --- the API ----------------------------------------------------------------------------------


def test_the_round_trip_shows_on_the_carts_dose_list(nurse_client, pharmacist_client):
    # given
    dose = an_paracetamol_dose()
    binh = badge_client(BINH_BADGE, "222222")
    # when: two nurses ask, the pharmacy sends twice
    asked = ask(nurse_client, dose, reason="damaged")
    asked_again = ask(binh, dose, reason="not_on_cart")
    shown_requested = mar_request(nurse_client, dose)
    sent = send(pharmacist_client, asked.json()["id"])
    sent_again = send(pharmacist_client, asked.json()["id"])
    shown_sent = mar_request(nurse_client, dose)
    # then
    assert asked.status_code == 201, asked.json()
    assert asked.json()["created"] is True
    assert (asked.json()["patient"]["mrn"], asked.json()["ward"], asked.json()["bed"]) == (
        AN,
        "NOI",
        "01",
    )
    assert asked_again.status_code == 200
    assert (asked_again.json()["id"], asked_again.json()["created"]) == (asked.json()["id"], False)
    assert asked_again.json()["reason"] == "damaged"  # the first nurse's request, unchanged
    assert (shown_requested["state"], shown_requested["sent_by"]) == ("requested", None)
    assert sent.status_code == 200
    assert sent.json()["state"] == "sent"
    assert sent_again.status_code == 409
    assert sent_again.json()["error"]["code"] == "MISSING_DOSE_ALREADY_SENT"
    assert shown_sent["state"] == "sent"
    assert shown_sent["sent_by"] and shown_sent["sent_at"]


def test_a_dose_with_no_request_shows_none(nurse_client):
    assert mar_request(nurse_client, an_paracetamol_dose()) is None


def test_every_endpoint_needs_a_login(frozen_demo):
    dose = an_paracetamol_dose()
    anonymous = APIClient()

    assert ask(anonymous, dose).status_code in (401, 403)
    assert send(anonymous, "00000000-0000-0000-0000-000000000000").status_code in (401, 403)


def test_a_pharmacist_cannot_ask_and_a_nurse_cannot_send(nurse_client, pharmacist_client):
    dose = an_paracetamol_dose()
    refused_ask = ask(pharmacist_client, dose)
    asked = ask(nurse_client, dose)

    refused_send = send(nurse_client, asked.json()["id"])

    assert refused_ask.status_code == 403
    assert refused_send.status_code == 403
    assert MissingDoseRequest.objects.get().state == "requested"


def test_a_nurse_of_another_ward_is_refused(frozen_demo):
    mai = badge_client(MAI_BADGE, "333333", ward="NGOAI")

    response = ask(mai, an_paracetamol_dose())

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "PATIENT_NOT_IN_YOUR_WARDS"
    assert not MissingDoseRequest.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"scheduled_dose": "not-a-uuid", "reason": "damaged"},
        {"reason": "damaged"},
        {"scheduled_dose": "DOSE", "reason": "lost"},
        {"scheduled_dose": "DOSE", "reason": "other"},
        {"scheduled_dose": "DOSE", "reason": "other", "comment": "   "},
        {"scheduled_dose": "DOSE", "reason": ["damaged"]},
        {"scheduled_dose": "DOSE", "reason": "damaged", "comment": "x" * 501},
    ],
)
def test_bad_input_is_a_clear_400(nurse_client, body):
    dose = an_paracetamol_dose()
    if body.get("scheduled_dose") == "DOSE":
        body = {**body, "scheduled_dose": str(dose.external_id)}

    response = nurse_client.post("/api/v1/missing-doses/", body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"]
    assert response.json()["error"]["message"]
    assert not MissingDoseRequest.objects.exists()


def test_an_unknown_dose_or_request_is_404(nurse_client, pharmacist_client):
    unknown = "00000000-0000-0000-0000-000000000000"

    asked = nurse_client.post(
        "/api/v1/missing-doses/",
        {"scheduled_dose": unknown, "reason": "damaged"},
        format="json",
    )

    assert asked.status_code == 404
    assert send(pharmacist_client, unknown).status_code == 404


def test_a_given_dose_is_409_already_given(nurse_client):
    dose = an_paracetamol_dose()
    ScheduledDose.objects.filter(pk=dose.pk).update(state=DoseState.GIVEN)

    response = ask(nurse_client, dose)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "ALREADY_GIVEN"
