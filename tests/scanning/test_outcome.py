"""The outcome of an Idempotency-Key (issue 13, item 3): a cart whose answer to Record was lost
asks what became of it, and is told the truth: recorded (which record), refused (what), or
not recorded, which then stays true because the key is closed."""

import pytest
from rest_framework.test import APIClient

from scanning.models import Administration
from tests.scanning.conftest import (
    AN_BAND,
    BINH_BADGE,
    NGOC_BAND,
    PARACETAMOL,
    badge_client,
    image,
)

pytestmark = pytest.mark.django_db

OUTCOME = "/api/v1/administrations/outcome/"
RECORD = "/api/v1/administrations/"


def record(client, key, band=AN_BAND):
    return client.post(
        RECORD,
        {"patient": image(band), "medications": [image(name) for name in PARACETAMOL]},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def outcome(client, key):
    return client.post(OUTCOME, {"idempotency_key": key}, format="json")


def test_a_recorded_key_answers_which_record(nurse_client):
    # given
    first = record(nurse_client, "rec-1")
    assert first.status_code == 201, first.json()
    # when
    answer = outcome(nurse_client, "rec-1")
    # then
    assert answer.status_code == 200
    body = answer.json()
    assert (body["outcome"], body["status"]) == ("recorded", 201)
    assert body["answer"]["id"] == first.json()["id"]
    assert str(Administration.objects.get().external_id) == body["answer"]["id"]


def test_a_refused_key_answers_not_recorded(nurse_client):
    # given: paracetamol for the wrong patient is a STOP; a refusal is not kept under its key
    # (issue 14: the nurse's corrected retry must be evaluated afresh)
    refused = record(nurse_client, "stop-1", band=NGOC_BAND)
    assert refused.status_code == 422
    # when
    body = outcome(nurse_client, "stop-1").json()
    # then: the truth, nothing was recorded
    assert body == {"outcome": "not_recorded"}
    assert not Administration.objects.exists()


def test_an_unknown_key_is_not_recorded_and_is_closed_for_good(nurse_client):
    # when: the cart asks about a request that never reached the server
    body = outcome(nurse_client, "lost-1").json()
    # then: nothing recorded, and the lost request arriving late cannot record behind that answer
    assert body == {"outcome": "not_recorded"}
    late = record(nurse_client, "lost-1")
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "IDEMPOTENCY_KEY_CLOSED"
    assert not Administration.objects.exists()
    assert outcome(nurse_client, "lost-1").json() == {"outcome": "not_recorded"}
    assert record(nurse_client, "new-key").status_code == 201


def test_another_nurses_key_is_not_revealed(nurse_client):
    # given: Hoa recorded under a key
    assert record(nurse_client, "hoa-1").status_code == 201
    binh = badge_client(BINH_BADGE, "222222")
    # when: Bình asks about Hoa's key
    body = outcome(binh, "hoa-1").json()
    # then: she learns nothing of it, and Hoa's own answer is untouched
    assert body == {"outcome": "not_recorded"}
    mine = outcome(nurse_client, "hoa-1").json()
    assert mine["outcome"] == "recorded"
    assert record(nurse_client, "hoa-1").status_code == 201
    assert Administration.objects.count() == 1


def test_the_outcome_needs_a_logged_in_nurse(frozen_demo):
    response = APIClient().post(OUTCOME, {"idempotency_key": "x"}, format="json")
    assert response.status_code in (401, 403)
    assert "error" in response.json()


def test_a_pharmacist_may_not_ask(pharmacist_client):
    response = outcome(pharmacist_client, "x")
    assert response.status_code == 403


@pytest.mark.parametrize("body", [{}, {"idempotency_key": ""}, {"idempotency_key": "k" * 201}])
def test_a_missing_or_overlong_key_is_a_clear_400(nurse_client, body):
    response = nurse_client.post(OUTCOME, body, format="json")
    assert response.status_code == 400
    assert "error" in response.json()
