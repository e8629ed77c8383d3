import threading
from collections import Counter

import pytest
import time_machine
from django.db import connection

from scanning.models import AdministeredUnit, Administration
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

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_together(count, work):
    start = threading.Barrier(count)
    results = [None] * count

    def worker(index):
        try:
            start.wait()
            results[index] = work(index)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.fixture
def demo_at_eight():
    with time_machine.travel(DEMO_NOW, tick=False):
        demo_hospital_copy()
        yield


def dose_body(serials=PARACETAMOL):
    return {"patient": image(AN_BAND), "medications": [image(name) for name in serials]}


def test_twenty_carts_recording_one_dose_record_it_once(demo_at_eight):
    # given: twenty carts (clients) with the same dose, each with its own key
    clients = [badge_client(HOA_BADGE, "111111") for _ in range(20)]
    body = dose_body()

    # when
    responses = run_together(
        20,
        lambda i: clients[i].post(
            "/api/v1/administrations/", body, format="json", HTTP_IDEMPOTENCY_KEY=f"cart-{i}"
        ),
    )

    # then
    statuses = Counter(response.status_code for response in responses)
    assert statuses == {201: 1, 409: 19}, statuses
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {
        "ALREADY_GIVEN"
    }
    assert Administration.objects.count() == 1
    assert AdministeredUnit.objects.count() == 2


def test_one_key_retried_at_once_gets_one_answer(demo_at_eight):
    clients = [badge_client(HOA_BADGE, "111111") for _ in range(10)]
    body = dose_body()

    responses = run_together(
        10,
        lambda i: clients[i].post(
            "/api/v1/administrations/", body, format="json", HTTP_IDEMPOTENCY_KEY="one-key"
        ),
    )

    assert {response.status_code for response in responses} == {201}
    assert len({response.json()["id"] for response in responses}) == 1
    assert Administration.objects.count() == 1


def test_the_same_units_for_two_patients_at_once_are_administered_once(demo_at_eight):
    # Two carts race with the same serialised units for two patients who may both have them
    # (Hương has paracetamol 1 g PRN). No lock is shared; the serial's unique index decides.
    nurse = badge_client(HOA_BADGE, "111111")
    other = badge_client(HOA_BADGE, "111111")
    body = dose_body()
    wrong_patient = {
        "patient": code("8018952000100000001044\x1d80191"),
        "medications": body["medications"],
        "prn_reason": "Sốt > 38,5 °C hoặc đau",  # Hương's paracetamol is given as needed
    }
    responses = run_together(
        2,
        lambda i: (nurse if i == 0 else other).post(
            "/api/v1/administrations/", body if i == 0 else wrong_patient, format="json"
        ),
    )
    assert sorted(r.status_code for r in responses) in ([201, 409], [201, 422])
    assert AdministeredUnit.objects.filter(serial="PCM2611AS001").count() == 1
    assert Administration.objects.count() == 1
    # The other patient's nurse is told the unit was used, never that her dose was given.
    (loser,) = [r.json()["error"] for r in responses if r.status_code != 201]
    told = {loser["code"]} | {f["code"] for f in loser["details"].get("findings", [])}
    assert "SERIAL_ALREADY_USED" in told
    assert "ALREADY_GIVEN" not in told
