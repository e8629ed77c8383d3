"""Waste of a controlled drug (scanning.services: administration_record with `waste`, and
administration_waste_record after the record), through the API: half a 10 mg/1 mL morphine
ampoule given for Phúc's 5 mg PRN order, the other half wasted before a second nurse.

Unhappy paths first: a wrong witness PIN, the nurse as her own witness, amounts that do not
balance, a second waste of one record. Races on PostgreSQL at the end."""

from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from scanning import audit
from scanning.models import Administration, Waste
from tests.scanning.conftest import BINH_BADGE, HOA_BADGE, badge_client, code, frozen_demo  # noqa: F401
from tests.scanning.test_api_contract import conforms, schema  # noqa: F401
from tests.scanning.test_concurrency import demo_at_eight, run_together  # noqa: F401

pytestmark = pytest.mark.django_db

PHUC_BAND = code("]C18018952000100000001037\x1d80191")
BINH = code("]C1" + BINH_BADGE)


def ampoule(serial="MOR2606S001"):
    return code(f"]d201095200030000941727063010MOR2606\x1d21{serial}")


def half_ampoule(**changes):
    body = {
        "patient": PHUC_BAND,
        "medications": [ampoule()],
        "witness": BINH,
        "witness_pin": "222222",
        "overrides": [{"code": "PARTIAL_UNIT", "reason": "REMAINDER_WASTED"}],
        "waste": {"amount": "5", "unit": "mg", "reason": "partial_dose"},
        # a PRN analgesic: its reason and the pain score before it (issue 18)
        "prn_reason": "Đau nhiều (VAS ≥ 7)",
        "assessments": [{"kind": "pain_score", "value": "8"}],
    }
    return {**body, **changes}


def record(client, body, key):
    return client.post("/api/v1/administrations/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def waste_later(client, administration_id, body, key):
    return client.post(
        f"/api/v1/administrations/{administration_id}/waste/",
        body,
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def codes(response) -> set[str]:
    return {f["code"] for f in response.json()["error"]["details"]["findings"]}


# --- unhappy paths: nothing is written, and the answer says why ------------------------------


def test_a_wrong_witness_pin_records_neither_the_dose_nor_the_waste(nurse_client):
    response = record(nurse_client, half_ampoule(witness_pin="999999"), "wrong-pin")

    assert response.status_code == 422
    assert {"WITNESS_REQUIRED", "WASTE_WITNESS_REQUIRED"} <= codes(response)
    assert not Administration.objects.exists()
    assert not Waste.objects.exists()


def test_the_nurse_cannot_witness_her_own_waste(nurse_client):
    response = record(
        nurse_client, half_ampoule(witness=code("]C1" + HOA_BADGE), witness_pin="111111"), "self"
    )

    assert response.status_code == 422
    problems = {
        f["data"].get("problem")
        for f in response.json()["error"]["details"]["findings"]
        if f["code"] == "WASTE_WITNESS_REQUIRED"
    }
    assert problems == {"same_person"}
    assert not Waste.objects.exists()


@pytest.mark.parametrize(
    ("amount", "unit"), [("4", "mg"), ("0.51", "mL"), ("5", "IU")], ids=["short", "over", "IU"]
)
def test_waste_that_does_not_balance_the_ampoule_is_a_stop(nurse_client, amount, unit):
    body = half_ampoule(waste={"amount": amount, "unit": unit, "reason": "partial_dose"})

    response = record(nurse_client, body, f"unbalanced-{amount}{unit}")

    assert response.status_code == 422
    assert "WASTE_AMOUNT_MISMATCH" in codes(response)
    assert not Administration.objects.exists()


@pytest.mark.parametrize(
    "waste",
    [
        {"amount": "0", "unit": "mg", "reason": "partial_dose"},
        {"amount": "5", "unit": "mg", "reason": "other"},
        {"amount": "5", "unit": "mg", "reason": "spilled"},
        {"amount": "5", "unit": "kg", "reason": "partial_dose"},
    ],
    ids=["zero", "other-without-comment", "unknown-reason", "unknown-unit"],
)
def test_bad_waste_input_is_a_400_and_nothing_is_written(nurse_client, waste):
    response = record(nurse_client, half_ampoule(waste=waste), "bad-input")

    assert response.status_code == 400
    assert response.json()["error"]["code"]
    assert not Administration.objects.exists()


def test_the_check_weighs_the_waste_before_anything_is_recorded(nurse_client):
    body = half_ampoule(witness_pin="999999")
    del body["overrides"]

    checked = nurse_client.post("/api/v1/scan/check/", body, format="json")
    balanced = nurse_client.post(
        "/api/v1/scan/check/",
        {**body, "waste": {"amount": "0.4", "unit": "mL", "reason": "partial_dose"}},
        format="json",
    )

    assert checked.status_code == 200
    codes_found = {f["code"] for f in checked.json()["findings"]}
    assert {"WASTE_WITNESS_REQUIRED", "PARTIAL_UNIT"} <= codes_found
    assert "WASTE_AMOUNT_MISMATCH" in {f["code"] for f in balanced.json()["findings"]}
    assert not Administration.objects.exists()


# --- the dose and its waste in one transaction ----------------------------------------------


def test_half_an_ampoule_is_recorded_with_its_witnessed_waste_once(nurse_client):
    first = record(nurse_client, half_ampoule(), "half-ampoule")
    retry = record(nurse_client, half_ampoule(), "half-ampoule")

    assert first.status_code == 201, first.json()
    body = first.json()
    assert (body["amount"], body["unit"], body["is_partial"]) == ("5.0000", "mg", False)
    assert body["waste"]["amount"] == "5.0000"
    assert body["waste"]["unit"] == "mg"
    assert body["waste"]["witness"] == "dieuduong.binh"
    assert retry.status_code == 201 and retry.json() == body
    waste = Waste.objects.get()
    assert waste.administration.external_id.hex == body["id"].replace("-", "")
    assert waste.chain_seq == 1
    assert waste.content_hash == audit.waste_hash(waste)


def test_waste_in_mL_balances_through_the_strength(nurse_client):
    body = half_ampoule(waste={"amount": "0.5", "unit": "mL", "reason": "partial_dose"})

    response = record(nurse_client, body, "half-in-mL")

    assert response.status_code == 201, response.json()
    assert (Waste.objects.get().amount, Waste.objects.get().unit) == (Decimal("0.5"), "mL")


# --- waste documented after the record ------------------------------------------------------


@pytest.fixture
def given_without_waste(nurse_client):
    body = half_ampoule()
    del body["waste"]
    response = record(nurse_client, body, "given")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


LATER = {
    "amount": "5",
    "unit": "mg",
    "reason": "dropped",
    "witness": BINH,
    "witness_pin": "222222",
}


def test_waste_documented_later_needs_the_witness(nurse_client, given_without_waste):
    no_witness = waste_later(
        nurse_client, given_without_waste, {"amount": "5", "unit": "mg", "reason": "dropped"}, "a"
    )
    wrong_pin = waste_later(
        nurse_client, given_without_waste, {**LATER, "witness_pin": "000000"}, "b"
    )

    assert no_witness.status_code == 422
    assert codes(no_witness) == {"WASTE_WITNESS_REQUIRED"}
    assert wrong_pin.status_code == 422
    assert not Waste.objects.exists()


def test_waste_documented_later_is_written_once(nurse_client, given_without_waste):
    first = waste_later(nurse_client, given_without_waste, LATER, "later")
    retry = waste_later(nurse_client, given_without_waste, LATER, "later")
    second = waste_later(nurse_client, given_without_waste, LATER, "later-again")

    assert first.status_code == 201, first.json()
    assert first.json()["witness"] == "dieuduong.binh"
    assert retry.status_code == 201 and retry.json()["id"] == first.json()["id"]
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "WASTE_ALREADY_DOCUMENTED"
    assert Waste.objects.count() == 1


def test_a_record_with_waste_cannot_get_a_second_waste(nurse_client):
    recorded = record(nurse_client, half_ampoule(), "with-waste").json()

    second = waste_later(nurse_client, recorded["id"], LATER, "second")

    assert second.status_code == 409
    assert Waste.objects.count() == 1


def test_a_withdrawn_record_has_no_waste(nurse_client, given_without_waste):
    withdrawn = nurse_client.post(
        f"/api/v1/administrations/{given_without_waste}/correct/",
        {"reason": "duplicate"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="withdraw",
    )
    assert withdrawn.status_code == 201, withdrawn.json()

    response = waste_later(nurse_client, given_without_waste, LATER, "after-withdrawal")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "NOT_WASTEABLE"


def test_a_corrected_dose_balances_its_waste_with_the_units_of_the_record_it_replaces(
    nurse_client, given_without_waste
):
    corrected = nurse_client.post(
        f"/api/v1/administrations/{given_without_waste}/correct/",
        {
            "reason": "wrong_dose",
            "replacement_amount": "4",
            "replacement_unit": "mg",
            "overrides": [{"code": "DOSE_INCOMPLETE", "reason": "PATIENT_REFUSED_PART"}],
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="correct-to-4",
    )
    assert corrected.status_code == 201, corrected.json()
    replacement = corrected.json()["replacement"]["id"]

    six = waste_later(nurse_client, replacement, {**LATER, "amount": "6"}, "six")

    assert six.status_code == 201, six.json()
    assert Waste.objects.get().administration.external_id.hex == replacement.replace("-", "")


def test_only_a_nurse_documents_waste(pharmacist_client, given_without_waste):
    response = waste_later(pharmacist_client, given_without_waste, LATER, "pharmacist")

    assert response.status_code == 403
    assert not Waste.objects.exists()


# --- PostgreSQL: the ledger and the races ---------------------------------------------------


@pytest.mark.postgres
def test_a_waste_cannot_be_changed_or_deleted(nurse_client):
    record(nurse_client, half_ampoule(), "ledger")
    waste = Waste.objects.get()

    for statement in (
        f"UPDATE scanning_waste SET amount = 1 WHERE id = {waste.pk}",
        f"DELETE FROM scanning_waste WHERE id = {waste.pk}",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert Waste.objects.get().amount == Decimal("5")


def _given(client) -> str:
    body = half_ampoule()
    del body["waste"]
    response = record(client, body, "given-race")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_carts_documenting_waste_of_one_ampoule_write_it_once(demo_at_eight, settings):  # noqa: F811
    # Each request checks the witness's PIN: let them hash at once, so that they race at the lock.
    settings.LOGIN_CONCURRENT_HASHES = 8
    administration_id = _given(badge_client(HOA_BADGE, "111111"))
    carts = [badge_client(HOA_BADGE, "111111") for _cart in range(6)]

    def document(index):
        return waste_later(carts[index], administration_id, LATER, f"cart-{index}").status_code

    statuses = Counter(run_together(6, document))

    assert statuses == Counter({201: 1, 409: 5})
    assert Waste.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_waste_retried_at_once_is_written_once(demo_at_eight, settings):  # noqa: F811
    settings.LOGIN_CONCURRENT_HASHES = 8
    client = badge_client(HOA_BADGE, "111111")
    administration_id = _given(client)

    answers = run_together(
        6, lambda _i: waste_later(client, administration_id, LATER, "same-key").json()
    )

    ids = {answer.get("id") for answer in answers}
    assert Waste.objects.count() == 1
    assert ids == {str(Waste.objects.get().external_id)}


# --- the answers are what the OpenAPI schema says ---------------------------------------------


def test_a_record_with_waste_is_described_by_the_schema(schema, nurse_client):  # noqa: F811
    response = record(nurse_client, half_ampoule(), "schema-with-dose")

    assert response.status_code == 201, response.json()
    conforms(schema, "/api/v1/administrations/", "post", response)


def test_waste_documented_later_is_described_by_the_schema(
    schema,  # noqa: F811
    nurse_client,
    given_without_waste,
):
    response = waste_later(nurse_client, given_without_waste, LATER, "schema-later")

    assert response.status_code == 201, response.json()
    conforms(schema, "/api/v1/administrations/{external_id}/waste/", "post", response)


# --- the demo hospital ------------------------------------------------------------------------


def test_the_demo_loaded_twice_has_one_morphine_order_of_half_an_ampoule(frozen_demo):  # noqa: F811
    from django.core.management import call_command

    from pharmacy.models import MedicationOrder, Package
    from scanning.dosemath import content_per_scan

    call_command("demo_load", verbosity=0)
    call_command("demo_load", verbosity=0)

    order = MedicationOrder.objects.get(
        admission__patient__mrn="BN2026000103", medication__code="morphine-10-inj"
    )
    package = Package.objects.get(medication=order.medication)
    medication = order.medication
    ampoule_holds = content_per_scan(
        package_quantity=package.quantity,
        package_unit=package.quantity_unit,
        strength_value=medication.strength_value,
        strength_unit=medication.strength_unit,
        per_value=medication.per_value,
        per_unit=medication.per_unit,
    )
    assert (order.dose_value * 2, order.dose_unit) == (ampoule_holds.value, ampoule_holds.unit)
    assert medication.controlled and medication.divisible
    assert "WASTE_WITNESS_REQUIRED" in order.instructions
