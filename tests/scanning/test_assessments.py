"""Assessments before giving and hold parameters, through the API (issue 18): the demo's
metoprolol for Phan Văn Thành is held when the heart rate is under 60 or the systolic pressure
under 100. The check asks for both; a value that meets a hold is a STOP and the dose is then
documented not given with the values; values that do not are recorded with the dose, hashed with
it, and implausible values are a 400 that writes nothing."""

import pytest
from django.conf import settings
from django.db import connection, transaction

from pharmacy.models import DoseState, MedicationOrder
from scanning.models import Administration, AdministrationAssessment
from tests.scanning.conftest import image
from tests.scanning.test_audit_chain import verify_audit

pytestmark = pytest.mark.django_db

THANH_BAND = "wristband-BN2026000121.png"
METOPROLOL = "unit-dose-09520003000162-MTP2611S001.png"


def values(**measured) -> list[dict]:
    return [{"kind": kind, "value": str(value)} for kind, value in measured.items()]


def metoprolol(**measured) -> dict:
    body = {"patient": image(THANH_BAND), "medications": [image(METOPROLOL)]}
    if measured:
        body["assessments"] = values(**measured)
    return body


def check(client, body):
    response = client.post("/api/v1/scan/check/", body, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def record(client, body, key):
    return client.post("/api/v1/administrations/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def codes(answer) -> set[str]:
    return {finding["code"] for finding in answer["findings"]}


def test_the_check_asks_for_the_values_the_order_needs_before_anything_is_recorded(nurse_client):
    answer = check(nurse_client, metoprolol())

    assert answer["verdict"] == "stop"
    assert codes(answer) == {"ASSESSMENT_REQUIRED"}
    asked = answer["order"]["assessments"]
    assert [(a["kind"], a["label"], a["unit"]) for a in asked] == [
        ("heart_rate", "mạch", "lần/phút"),
        ("systolic_bp", "huyết áp tâm thu", "mmHg"),
    ]
    assert [h["text"] for h in answer["order"]["hold_parameters"]] == [
        "mạch < 60 lần/phút",
        "huyết áp tâm thu < 100 mmHg",
    ]
    refused = record(nurse_client, metoprolol(), key="no-values")
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "CHECK_STOP"
    assert not Administration.objects.exists()


def test_a_heart_rate_under_60_holds_and_the_dose_is_documented_held_with_its_values(nurse_client):
    answer = check(nurse_client, metoprolol(heart_rate=52, systolic_bp=118))

    assert answer["verdict"] == "stop" and codes(answer) == {"HOLD_PARAMETER"}
    held = answer["findings"][0]
    assert held["data"]["kind"] == "heart_rate" and held["data"]["value"] == "52"
    assert held["message"].startswith("Tạm hoãn liều Metoprolol tartrat 25 mg viên nén: mạch 52")
    refused = record(nurse_client, metoprolol(heart_rate=52, systolic_bp=118), key="held")
    assert refused.status_code == 422
    assert not Administration.objects.exists()

    order = MedicationOrder.objects.get(
        admission__patient__mrn="BN2026000121", medication__code="metoprolol-25-tab"
    )
    dose = order.scheduled_doses.filter(state=DoseState.SCHEDULED).order_by("due_at").first()
    documented = nurse_client.post(
        "/api/v1/administrations/not-given/",
        {
            "patient": image(THANH_BAND),
            "order": str(order.external_id),
            "scheduled_dose": str(dose.external_id),
            "reason": "held_clinical",
            "assessments": values(heart_rate=52, systolic_bp=118),
        },
        format="json",
    )

    assert documented.status_code == 201, documented.json()
    body = documented.json()
    assert body["status"] == "not_done" and body["reason"] == "held_clinical"
    assert body["assessments"] == [
        {"kind": "heart_rate", "value": "52.00", "unit": "/min"},
        {"kind": "systolic_bp", "value": "118.00", "unit": "mm[Hg]"},
    ]
    dose.refresh_from_db()
    assert dose.state == DoseState.NOT_GIVEN
    assert verify_audit()[0] == 0


def test_values_at_the_limits_are_given_and_recorded_with_the_dose(nurse_client):
    # "hold if HR < 60": 60 is given; "hold if SBP < 100": 100 is given.
    answer = check(nurse_client, metoprolol(heart_rate=60, systolic_bp=100))
    assert answer["verdict"] == "go", answer["findings"]

    response = record(nurse_client, metoprolol(heart_rate=60, systolic_bp=100), key="given")

    assert response.status_code == 201, response.json()
    assert {(a["kind"], a["value"]) for a in response.json()["assessments"]} == {
        ("heart_rate", "60.00"),
        ("systolic_bp", "100.00"),
    }
    administration = Administration.objects.get()
    stored = {a.kind: a.value for a in administration.assessments.all()}
    assert stored == {"heart_rate": 60, "systolic_bp": 100}
    assert verify_audit()[0] == 0
    # The feed reads them back from the database as they were written.
    feed = nurse_client.get("/api/v1/administrations/").json()["results"]
    assert feed[0]["assessments"] == response.json()["assessments"]


def test_a_value_changed_in_the_database_breaks_the_record_s_hash(nurse_client):
    assert (
        record(nurse_client, metoprolol(heart_rate=72, systolic_bp=130), key="k").status_code == 201
    )
    # Around the append-only trigger (SQLite has none): as an intruder owning the tables would.
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")
        AdministrationAssessment.objects.filter(kind="heart_rate").update(value=48)

    status, output = verify_audit()

    assert status != 0 and "scanning_administration" in output


@pytest.mark.parametrize(
    ("assessments", "field"),
    [
        (values(heart_rate=600, systolic_bp=120), "value"),  # a slip of the finger
        (values(heart_rate="72.5", systolic_bp=120), "value"),  # whole beats
        (values(pulse=72), "kind"),
        ([{"kind": "heart_rate"}], "value"),
        ([{"kind": "heart_rate", "value": 72}, {"kind": "heart_rate", "value": 80}], None),
        ("72", None),
        (values(heart_rate="5_5", systolic_bp=120), "value"),  # Decimal would read 55
        (values(heart_rate="1e2", systolic_bp=120), "value"),
        (values(heart_rate="٧٢", systolic_bp=120), "value"),  # other scripts' digits
    ],
)
def test_values_that_cannot_be_taken_are_a_clear_400_that_writes_nothing(
    nurse_client, assessments, field
):
    body = {**metoprolol(), "assessments": assessments}

    for path in ("/api/v1/scan/check/", "/api/v1/administrations/"):
        response = nurse_client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="bad")
        assert response.status_code == 400, response.json()
        error = response.json()["error"]
        assert error["code"] == "INVALID_INPUT" and error["message"]
        if field:
            assert field in str(error["details"])
    assert not Administration.objects.exists()


def test_the_plausible_range_is_said_in_the_nurse_s_language(nurse_client):
    body = {**metoprolol(), "assessments": values(heart_rate=600, systolic_bp=120)}

    vi = nurse_client.post("/api/v1/scan/check/", body, format="json").json()
    nurse_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    en = nurse_client.post("/api/v1/scan/check/", body, format="json").json()

    assert "Mạch phải là số nguyên trong khoảng 20 đến 300 lần/phút." in str(vi["error"]["details"])
    assert "Heart rate must be a whole number between 20 and 300 /min." in str(
        en["error"]["details"]
    )


def test_hold_parameters_stored_unreadable_refuse_the_dose_instead_of_a_500(nurse_client):
    MedicationOrder.objects.filter(admission__patient__mrn="BN2026000121").update(
        hold_parameters="hold if HR < 60"
    )

    answer = check(nurse_client, metoprolol(heart_rate=72, systolic_bp=128))

    assert answer["verdict"] == "stop" and codes(answer) == {"HOLD_PARAMETER"}
    assert answer["findings"][0]["message"].startswith("Không đọc được điều kiện tạm hoãn liều")
    assert record(nurse_client, metoprolol(heart_rate=72), key="unreadable").status_code == 422
    assert not Administration.objects.exists()


def test_a_negative_zero_is_zero_and_the_chain_still_verifies(nurse_client):
    body = metoprolol(heart_rate=72, systolic_bp=128)
    body["assessments"].append({"kind": "pain_score", "value": "-0"})

    response = record(nurse_client, body, key="minus-zero")

    assert response.status_code == 201, response.json()
    assert {"kind": "pain_score", "value": "0.00", "unit": "{score}"} in response.json()[
        "assessments"
    ]
    assert verify_audit()[0] == 0


def test_a_corrected_dose_keeps_the_values_measured_before_it(nurse_client):
    given = record(nurse_client, metoprolol(heart_rate=72, systolic_bp=128), key="given")
    assert given.status_code == 201, given.json()

    corrected = nurse_client.post(
        f"/api/v1/administrations/{given.json()['id']}/correct/",
        {
            "reason": "other",
            "comment": "giờ ghi sai",
            "replacement_amount": "25",
            "replacement_unit": "mg",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="correct",
    )

    assert corrected.status_code == 201, corrected.json()
    replacement = corrected.json()["replacement"]
    assert {(a["kind"], a["value"]) for a in replacement["assessments"]} == {
        ("heart_rate", "72.00"),
        ("systolic_bp", "128.00"),
    }
    assert verify_audit()[0] == 0
