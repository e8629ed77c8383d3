"""Idempotency-Key on not-given and correct, as on recording: a retry with the same key and body
gets the first answer and writes nothing more; the same key with another body, another record or
another endpoint is refused; an error is not kept, so a retry after one runs again."""

import uuid
from collections import Counter

import pytest
import time_machine

from pharmacy.demo import DEMO_NAMESPACE
from scanning.models import Administration, AdministrationStatus, IdempotentRequest
from tests.demo_copy import demo_hospital_copy
from tests.scanning.conftest import (
    AN_BAND,
    DEMO_NOW,
    HOA_BADGE,
    PARACETAMOL,
    badge_client,
    code,
    image,
)
from tests.scanning.test_concurrency import run_together

# A replacement smaller than the order is DOSE_INCOMPLETE: it needs its reason, as a record does.
PARTIAL = {"overrides": [{"code": "DOSE_INCOMPLETE", "reason": "PATIENT_REFUSED_PART"}]}

pytestmark = pytest.mark.django_db

NOT_GIVEN = "/api/v1/administrations/not-given/"
DUC_BAND = code("8018952000100000001051\x1d80191")  # NOI 05: omeprazole due now
DUC_OMEPRAZOLE = str(uuid.uuid5(DEMO_NAMESPACE, "duc-omeprazole"))


def not_given_body(reason="refused", **extra):
    return {"patient": DUC_BAND, "order": DUC_OMEPRAZOLE, "reason": reason, **extra}


def post(client, path, body, key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(path, body, format="json", **headers)


def record_paracetamol(client) -> str:
    response = post(
        client,
        "/api/v1/administrations/",
        {"patient": image(AN_BAND), "medications": [image(n) for n in PARACETAMOL]},
    )
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def correct_url(administration_id: str) -> str:
    return f"/api/v1/administrations/{administration_id}/correct/"


def not_done_count() -> int:
    return Administration.objects.filter(status=AdministrationStatus.NOT_DONE).count()


def withdrawal_count() -> int:
    return Administration.objects.filter(status=AdministrationStatus.ENTERED_IN_ERROR).count()


# ------------------------------------------------------------------------------ not given


def test_a_retried_not_given_with_the_same_key_gets_the_first_answer(nurse_client):
    first = post(nurse_client, NOT_GIVEN, not_given_body(), key="ng-1")
    again = post(nurse_client, NOT_GIVEN, not_given_body(), key="ng-1")

    assert (first.status_code, again.status_code) == (201, 201), first.json()
    assert again.json() == first.json()
    assert not_done_count() == 1


def test_without_a_key_a_retried_not_given_documents_twice(nurse_client):
    # Why the cart sends a key: the service itself cannot tell a retry from a second note.
    post(nurse_client, NOT_GIVEN, not_given_body())
    post(nurse_client, NOT_GIVEN, not_given_body())

    assert not_done_count() == 2


def test_a_not_given_key_with_another_body_is_refused(nurse_client):
    first = post(nurse_client, NOT_GIVEN, not_given_body(), key="ng-2")
    other = post(nurse_client, NOT_GIVEN, not_given_body(reason="npo"), key="ng-2")

    assert first.status_code == 201
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert not_done_count() == 1


def test_a_key_used_to_record_cannot_document_a_not_given(nurse_client):
    recorded = post(
        nurse_client,
        "/api/v1/administrations/",
        {"patient": image(AN_BAND), "medications": [image(n) for n in PARACETAMOL]},
        key="shared",
    )
    reused = post(nurse_client, NOT_GIVEN, not_given_body(), key="shared")

    assert recorded.status_code == 201
    assert reused.status_code == 422 and reused.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert not_done_count() == 0


def test_a_refused_not_given_is_not_kept_and_its_retry_runs_again(nurse_client):
    # given: the wrong patient's band for Đức's order
    wrong = not_given_body(patient=image(AN_BAND))

    # when
    first = post(nurse_client, NOT_GIVEN, wrong, key="ng-3")
    again = post(nurse_client, NOT_GIVEN, wrong, key="ng-3")

    # then: the same refusal, and nothing kept under the key
    assert first.status_code == again.status_code == 422
    assert (
        first.json()["error"]["code"] == again.json()["error"]["code"] == ("PATIENT_NOT_IDENTIFIED")
    )
    assert not IdempotentRequest.objects.filter(key="ng-3").exists()
    assert not_done_count() == 0


@pytest.mark.parametrize("path", [NOT_GIVEN, correct_url(str(uuid.uuid4()))])
def test_an_overlong_key_is_a_400(nurse_client, path):
    body = not_given_body() if path == NOT_GIVEN else {"reason": "duplicate"}

    response = post(nurse_client, path, body, key="k" * 201)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_IDEMPOTENCY_KEY"


# ------------------------------------------------------------------------------ correct


def test_a_retried_correction_with_the_same_key_gets_the_first_answer(nurse_client):
    url = correct_url(record_paracetamol(nurse_client))
    body = {
        "reason": "wrong_dose",
        "replacement_amount": "500",
        "replacement_unit": "mg",
        **PARTIAL,
    }

    first = post(nurse_client, url, body, key="c-1")
    again = post(nurse_client, url, body, key="c-1")

    assert (first.status_code, again.status_code) == (201, 201), first.json()
    assert again.json() == first.json()
    assert withdrawal_count() == 1
    assert Administration.objects.filter(replaces__isnull=False).count() == 1


def test_without_a_key_a_retried_correction_is_a_409(nurse_client):
    url = correct_url(record_paracetamol(nurse_client))

    post(nurse_client, url, {"reason": "duplicate"})
    again = post(nurse_client, url, {"reason": "duplicate"})

    assert again.status_code == 409 and again.json()["error"]["code"] == "ALREADY_CORRECTED"


def test_a_correction_key_with_another_body_is_refused(nurse_client):
    url = correct_url(record_paracetamol(nurse_client))

    first = post(nurse_client, url, {"reason": "duplicate"}, key="c-2")
    other = post(nurse_client, url, {"reason": "other", "comment": "typo"}, key="c-2")

    assert first.status_code == 201
    assert other.status_code == 422 and other.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert withdrawal_count() == 1


def test_a_correction_key_sent_for_another_record_is_refused(nurse_client):
    # given: two records, the first corrected with key c-3
    first_id = record_paracetamol(nurse_client)
    second = post(nurse_client, NOT_GIVEN, not_given_body())
    corrected = post(nurse_client, correct_url(first_id), {"reason": "duplicate"}, key="c-3")
    assert corrected.status_code == 201

    # when: the same key and body for the other record
    reused = post(
        nurse_client, correct_url(second.json()["id"]), {"reason": "duplicate"}, key="c-3"
    )

    # then: refused, never a silent replay of the first record's answer
    assert reused.status_code == 422
    assert reused.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert withdrawal_count() == 1


# ------------------------------------------------------------------------------ at once (PostgreSQL)


@pytest.fixture
def demo_at_eight():
    with time_machine.travel(DEMO_NOW, tick=False):
        demo_hospital_copy()
        yield


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ten_retries_of_one_not_given_at_once_document_it_once(demo_at_eight):
    # given: ten connections retrying the same request with one key
    clients = [badge_client(HOA_BADGE, "111111") for _ in range(10)]

    # when
    responses = run_together(
        10, lambda i: post(clients[i], NOT_GIVEN, not_given_body(), key="one-not-given")
    )

    # then
    assert Counter(r.status_code for r in responses) == {201: 10}
    assert len({r.json()["id"] for r in responses}) == 1
    assert not_done_count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_not_givens_with_thirty_keys_at_once_document_thirty(demo_at_eight):
    # The adversarial run of issue 14: a not-given with no scheduled dose has no unique dose to
    # lean on, only its key; 50 requests over 30 keys once gave 31 rows.
    clients = [badge_client(HOA_BADGE, "111111") for _ in range(50)]
    keys = [f"ng-{i % 30}" for i in range(50)]

    responses = run_together(
        50, lambda i: post(clients[i], NOT_GIVEN, not_given_body(), key=keys[i])
    )

    assert Counter(r.status_code for r in responses) == {201: 50}
    ids_by_key = {}
    for key, response in zip(keys, responses, strict=True):
        ids_by_key.setdefault(key, set()).add(response.json()["id"])
    assert all(len(ids) == 1 for ids in ids_by_key.values())
    assert not_done_count() == 30


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ten_retries_of_one_correction_at_once_correct_it_once(demo_at_eight):
    clients = [badge_client(HOA_BADGE, "111111") for _ in range(10)]
    url = correct_url(record_paracetamol(clients[0]))
    body = {
        "reason": "wrong_dose",
        "replacement_amount": "500",
        "replacement_unit": "mg",
        **PARTIAL,
    }

    responses = run_together(10, lambda i: post(clients[i], url, body, key="one-correction"))

    assert Counter(r.status_code for r in responses) == {201: 10}
    assert len({r.json()["entered_in_error"]["id"] for r in responses}) == 1
    assert withdrawal_count() == 1
    assert Administration.objects.filter(replaces__isnull=False).count() == 1


def test_a_second_not_given_for_one_scheduled_dose_is_refused_even_without_a_key(nurse_client):
    from pharmacy.models import ScheduledDose

    dose = ScheduledDose.objects.filter(order__external_id=DUC_OMEPRAZOLE).order_by("due_at").last()
    body = not_given_body(scheduled_dose=str(dose.external_id))

    first = post(nurse_client, NOT_GIVEN, body)
    second = post(nurse_client, NOT_GIVEN, {**body, "reason": "npo"})

    assert first.status_code == 201, first.json()
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "ALREADY_DOCUMENTED"
    assert not_done_count() == 1


def test_a_refused_record_is_not_kept_under_its_key_and_the_corrected_retry_records(
    nurse_client,
):
    # given: one tablet of a two-tablet dose, refused for want of an override
    body = {"patient": image(AN_BAND), "medications": [image(PARACETAMOL[0])]}
    refused = nurse_client.post(
        "/api/v1/administrations/", body, format="json", HTTP_IDEMPOTENCY_KEY="partial-1"
    )
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "OVERRIDE_REQUIRED"

    # when: the nurse adds the reason and the cart resends with the same key
    body["overrides"] = [{"code": "DOSE_INCOMPLETE", "reason": "PATIENT_REFUSED_PART"}]
    retried = nurse_client.post(
        "/api/v1/administrations/", body, format="json", HTTP_IDEMPOTENCY_KEY="partial-1"
    )

    # then: evaluated afresh, recorded once, and its answer replayed from now on
    assert retried.status_code == 201, retried.json()
    again = nurse_client.post(
        "/api/v1/administrations/", body, format="json", HTTP_IDEMPOTENCY_KEY="partial-1"
    )
    assert again.status_code == 201 and again.json()["id"] == retried.json()["id"]
    assert Administration.objects.count() == 1
