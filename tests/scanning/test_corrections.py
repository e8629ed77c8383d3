"""A correction's replacement runs the dose, unit and PRN rules of a record (issue 14, item 6):
STOP refuses it and writes nothing; a warning needs its override, kept on the replacement."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from hospital.exceptions import ApplicationError
from hospital.models import User
from pharmacy.models import MedicationOrder
from scanning.dosemath import Quantity
from scanning.models import Administration, AdministrationStatus
from scanning.services import OverrideInput, administration_correct
from tests.scanning.conftest import AN_BAND, PARACETAMOL, image

pytestmark = pytest.mark.django_db


@pytest.fixture
def given(nurse_client):
    """An's paracetamol 1000 mg, given as two 500 mg tablets."""
    body = {"patient": image(AN_BAND), "medications": [image(name) for name in PARACETAMOL]}
    response = nurse_client.post("/api/v1/administrations/", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def correct(client, record, **body):
    return client.post(
        f"/api/v1/administrations/{record['id']}/correct/",
        {"reason": "wrong_dose", **body},
        format="json",
    )


def codes(response) -> set[str]:
    return {f["code"] for f in response.json()["error"]["details"].get("findings", [])}


@pytest.mark.parametrize(
    ("amount", "unit", "finding"),
    [
        ("99999999", "mg", "DOSE_EXCEEDED"),
        ("1500", "mg", "DOSE_EXCEEDED"),
        ("5", "mL", "DOSE_UNIT_MISMATCH"),
        ("1000", "IU", "DOSE_UNIT_MISMATCH"),
    ],
)
def test_a_replacement_the_rules_stop_is_refused_and_writes_nothing(
    nurse_client, given, amount, unit, finding
):
    # when
    response = correct(nurse_client, given, replacement_amount=amount, replacement_unit=unit)

    # then
    assert response.status_code == 422, response.json()
    assert response.json()["error"]["code"] == "CHECK_STOP"
    assert finding in codes(response)
    assert Administration.objects.count() == 1  # not even the withdrawal


def test_more_than_the_records_units_hold_is_refused(nurse_client, given, frozen_demo):
    # given: the order raised to 2 g after two 500 mg tablets were given
    MedicationOrder.objects.filter(administrations__external_id=given["id"]).update(
        dose_value=Decimal("2000")
    )

    response = correct(nurse_client, given, replacement_amount="1500", replacement_unit="mg")

    assert response.status_code == 422 and "AMOUNT_NOT_SCANNED" in codes(response)


def test_a_smaller_replacement_needs_the_dose_incomplete_override(nurse_client, given):
    # when: without the reason
    refused = correct(nurse_client, given, replacement_amount="500", replacement_unit="mg")

    # then
    assert refused.status_code == 422, refused.json()
    assert refused.json()["error"]["code"] == "OVERRIDE_REQUIRED"
    assert [m["code"] for m in refused.json()["error"]["details"]["missing"]] == ["DOSE_INCOMPLETE"]
    assert Administration.objects.count() == 1

    # when: with it
    accepted = correct(
        nurse_client,
        given,
        replacement_amount="0.5",
        replacement_unit="g",
        overrides=[{"code": "DOSE_INCOMPLETE", "reason": "PATIENT_REFUSED_PART"}],
    )

    # then
    assert accepted.status_code == 201, accepted.json()
    replacement = accepted.json()["replacement"]
    assert (replacement["amount"], replacement["unit"], replacement["is_partial"]) == (
        "0.5000",
        "g",
        True,
    )
    assert replacement["overrides"] == [
        {"finding_code": "DOSE_INCOMPLETE", "reason": "PATIENT_REFUSED_PART", "comment": ""}
    ]


def test_the_ordered_dose_in_another_unit_goes(nurse_client, given):
    response = correct(nurse_client, given, replacement_amount="1", replacement_unit="g")

    assert response.status_code == 201, response.json()
    assert response.json()["replacement"]["overrides"] == []


def test_a_replacement_of_a_replacement_is_checked_against_the_first_records_units(
    nurse_client, given
):
    first = correct(
        nurse_client,
        given,
        replacement_amount="500",
        replacement_unit="mg",
        overrides=[{"code": "DOSE_INCOMPLETE", "reason": "PATIENT_REFUSED_PART"}],
    ).json()["replacement"]

    response = correct(nurse_client, first, replacement_amount="5", replacement_unit="mL")

    assert response.status_code == 422 and "DOSE_UNIT_MISMATCH" in codes(response)


def test_a_prn_replacement_may_not_pass_the_24_hour_maximum(frozen_demo):
    # given: Hương's paracetamol 1 g as needed, at most 3.5 g a day; 3 g given before, then 0.5 g
    order = MedicationOrder.objects.get(admission__patient__mrn="BN2026000104", schedule_kind="prn")
    order.prn_max_per_24h = Decimal("3.5")
    order.save(update_fields=["prn_max_per_24h"])
    nurse = User.objects.get(username="dieuduong.hoa")
    now = timezone.now()

    def given_at(hours_ago: int, amount: str) -> Administration:
        return Administration.objects.create(
            patient=order.admission.patient,
            admission=order.admission,
            order=order,
            status=AdministrationStatus.COMPLETED,
            performer=nurse,
            administered_at=now - timedelta(hours=hours_ago),
            amount=Decimal(amount),
            unit="g",
            route="PO",
        )

    for hours_ago in (20, 15, 10):
        given_at(hours_ago, "1")
    last = given_at(5, "0.5")

    # when: the last is corrected to a full gram
    with pytest.raises(ApplicationError) as refused:
        administration_correct(
            performer=nurse,
            administration=last,
            reason="wrong_dose",
            replacement_amount=Quantity(Decimal("1"), "g"),
        )

    # then
    assert refused.value.code == "CHECK_STOP"
    assert "PRN_MAX_EXCEEDED" in {f["code"] for f in refused.value.details["findings"]}

    # and half a gram is still the maximum's last half gram, with its reason
    _withdrawal, replacement = administration_correct(
        performer=nurse,
        administration=last,
        reason="wrong_dose",
        replacement_amount=Quantity(Decimal("0.5"), "g"),
        overrides=[OverrideInput("DOSE_INCOMPLETE", "PATIENT_REFUSED_PART")],
    )
    assert replacement.amount == Decimal("0.5")
