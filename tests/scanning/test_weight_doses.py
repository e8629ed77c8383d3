"""Weight-based doses through the bedside API: the check computes a per-kg order's dose from the
current weight, a dose above the maximum per kg cannot be recorded, a child's old weight needs an
override, and the patient's answer carries age, weight and height for the cart's banner.

The demo's An (BN2026000101, NOI 01) weighs 62 kg, weighed on admission three days ago; his
paracetamol 1 g is due at 08:00 and two 500 mg tablets are its dose.
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from pharmacy.models import MedicationOrder
from scanning.models import Administration
from tests.scanning.conftest import AN_BAND, PARACETAMOL, image
from wards.models import Patient

pytestmark = pytest.mark.django_db


def an_order() -> MedicationOrder:
    return MedicationOrder.objects.get(
        admission__patient__mrn="BN2026000101", medication__code="paracetamol-500-tab"
    )


def weigh_an(kg: str | None, *, days_ago: int = 0, born: date | None = None) -> None:
    changes: dict = {
        "weight_kg": None if kg is None else Decimal(kg),
        "weight_measured_at": None if kg is None else timezone.now() - timedelta(days=days_ago),
    }
    if born is not None:
        changes["date_of_birth"] = born
    Patient.objects.filter(mrn="BN2026000101").update(**changes)


def order_an(**per_kg) -> None:
    MedicationOrder.objects.filter(pk=an_order().pk).update(**per_kg)


def tablets(count: int = 2) -> dict:
    return {"patient": image(AN_BAND), "medications": [image(n) for n in PARACETAMOL[:count]]}


def check(client, body) -> dict:
    response = client.post("/api/v1/scan/check/", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def record(client, body):
    return client.post("/api/v1/administrations/", body, format="json")


def codes(body: dict) -> set[str]:
    return {finding["code"] for finding in body["findings"]}


def test_the_patient_answer_carries_age_weight_and_height(nurse_client):
    Patient.objects.filter(mrn="BN2026000101").update(height_cm=Decimal("165.5"))

    patient = check(nurse_client, tablets())["patient"]

    assert patient["age"] == "70 tuổi"  # born 14/03/1956, on 24/11/2026
    assert patient["weight_kg"] == "62.00"
    assert patient["weight_measured_at"].startswith("2026-11-21T09:30:00")
    assert patient["height_cm"] == "165.5"


def test_the_mar_carries_them_too_and_the_orders_per_kg(nurse_client):
    order_an(max_dose_per_kg=Decimal("15"))

    response = nurse_client.get("/api/v1/patients/BN2026000101/mar/")

    assert response.status_code == 200
    patient = response.json()["patient"]
    assert (patient["age"], patient["weight_kg"], patient["height_cm"]) == (
        "70 tuổi",
        "62.00",
        None,
    )
    order = next(o for o in response.json()["orders"] if o["id"] == str(an_order().external_id))
    assert (order["dose"], order["dose_per_kg"], order["max_dose_per_kg"]) == (
        "1000 mg",
        None,
        "15 mg/kg",
    )


def test_a_patient_never_weighed_answers_null(nurse_client):
    weigh_an(None)

    patient = check(nurse_client, tablets())["patient"]

    assert patient["weight_kg"] is None and patient["weight_measured_at"] is None


def test_a_dose_above_the_maximum_per_kg_is_a_stop_and_nothing_is_recorded(nurse_client):
    # given 1 g at 62 kg: 16.13 mg/kg, above a maximum of 15
    order_an(max_dose_per_kg=Decimal("15"))
    # when
    body = check(nurse_client, tablets())
    response = record(nurse_client, tablets())
    # then
    assert body["verdict"] == "stop"
    stop = next(f for f in body["findings"] if f["code"] == "WEIGHT_DOSE_EXCEEDED")
    assert stop["severity"] == "STOP"
    assert "16.13 mg/kg" in stop["message"] and "62 kg" in stop["message"]
    assert "21/11/2026" in stop["message"]
    assert body["order"]["max_dose_per_kg"] == "15 mg/kg"
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "CHECK_STOP"
    assert not Administration.objects.exists()


def test_a_dose_at_the_maximum_per_kg_is_recorded(nurse_client):
    # given 1 g at 50 kg is exactly 20 mg/kg
    weigh_an("50")
    order_an(max_dose_per_kg=Decimal("20"))
    # when
    response = record(nurse_client, tablets())
    # then
    assert response.status_code == 201, response.json()
    assert Administration.objects.get().amount == Decimal("1000")


def test_a_per_kg_order_is_given_and_recorded_as_computed_from_todays_weight(nurse_client):
    # given 12.5 mg/kg at 40 kg: 500 mg, one tablet (the order's 1 g was for another weight)
    weigh_an("40")
    order_an(dose_per_kg=Decimal("12.5"))
    # when
    body = check(nurse_client, tablets(1))
    response = record(nurse_client, tablets(1))
    # then
    assert body["verdict"] == "go", body["findings"]
    assert body["order"]["dose"] == "500 mg"
    assert body["order"]["dose_per_kg"] == "12.5 mg/kg"
    assert body["dose"] == {"ordered": "500 mg", "scanned": "500 mg", "comparison": "equal"}
    assert response.status_code == 201, response.json()
    administration = Administration.objects.get()
    assert administration.amount == Decimal("500")
    assert administration.is_partial is False


def test_a_per_kg_order_scanned_above_todays_dose_is_dose_exceeded(nurse_client):
    weigh_an("40")
    order_an(dose_per_kg=Decimal("12.5"))

    body = check(nurse_client, tablets(2))

    assert "DOSE_EXCEEDED" in codes(body)
    assert body["dose"]["ordered"] == "500 mg"


def test_a_per_kg_order_without_a_weight_is_a_stop_with_no_dose(nurse_client):
    weigh_an(None)
    order_an(dose_per_kg=Decimal("12.5"))

    body = check(nurse_client, tablets())
    response = record(nurse_client, tablets())

    assert codes(body) == {"WEIGHT_REQUIRED"}
    assert body["order"]["dose"] is None
    assert response.status_code == 422
    assert not Administration.objects.exists()


def test_a_childs_old_weight_needs_an_override_to_record(nurse_client):
    # given a ten-year-old weighed ten days ago, the maximum not reached (1 g at 62 kg ≤ 20 mg/kg)
    weigh_an("62", days_ago=10, born=date(2016, 5, 1))
    order_an(max_dose_per_kg=Decimal("20"))
    # when
    body = check(nurse_client, tablets())
    refused = record(nurse_client, tablets())
    overridden = record(
        nurse_client,
        {**tablets(), "overrides": [{"code": "WEIGHT_STALE", "reason": "CANNOT_WEIGH_NOW"}]},
    )
    # then
    assert codes(body) == {"WEIGHT_STALE"} and body["verdict"] == "warn"
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "OVERRIDE_REQUIRED"
    assert overridden.status_code == 201, overridden.json()
    assert Administration.objects.get().overrides.get().finding_code == "WEIGHT_STALE"


def test_an_adults_old_weight_says_nothing(nurse_client):
    weigh_an("62", days_ago=30)
    order_an(max_dose_per_kg=Decimal("20"))

    assert check(nurse_client, tablets())["verdict"] == "go"


def test_the_stop_is_in_english_for_a_nurse_who_chose_english(nurse_client, settings):
    order_an(max_dose_per_kg=Decimal("15"))
    nurse_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    body = check(nurse_client, tablets())

    stop = next(f for f in body["findings"] if f["code"] == "WEIGHT_DOSE_EXCEEDED")
    assert stop["message"].startswith("A dose of 1000 mg is 16.13 mg/kg at the weight of 62 kg")
    assert body["patient"]["age"] == "70 years"


def test_a_per_kg_records_correction_is_checked_against_the_dose_for_the_weight(nurse_client):
    # given 12.5 mg/kg at 40 kg: 500 mg given as one tablet
    weigh_an("40")
    order_an(dose_per_kg=Decimal("12.5"))
    given = record(nurse_client, tablets(1)).json()
    url = f"/api/v1/administrations/{given['id']}/correct/"
    # when: corrected to more than 500 mg, then to 250 mg
    more = nurse_client.post(
        url,
        {"reason": "wrong_dose", "replacement_amount": "600", "replacement_unit": "mg"},
        format="json",
    )
    less = nurse_client.post(
        url,
        {
            "reason": "wrong_dose",
            "replacement_amount": "250",
            "replacement_unit": "mg",
            "overrides": [{"code": "DOSE_INCOMPLETE", "reason": "PATIENT_REFUSED_PART"}],
        },
        format="json",
    )
    # then: 600 mg is more than the 500 mg ordered for 40 kg (not the stored 1 g); 250 is partial
    assert more.status_code == 422
    assert "DOSE_EXCEEDED" in {f["code"] for f in more.json()["error"]["details"]["findings"]}
    assert less.status_code == 201, less.json()
    replacement = less.json()["replacement"]
    assert (replacement["amount"], replacement["is_partial"]) == ("250.0000", True)
