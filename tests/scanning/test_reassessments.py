"""PRN properly, through the API (issue 18): the demo's tramadol for Bùi Thị Lệ is a PRN analgesic
with two indications. The check asks for the reason and a pain score; the record keeps the
reason (hashed with it, sent out); 60 min later (PO) its effect is due to be reassessed, shown on
the MAR and the ward worklist until documented; documenting it is idempotent, late after the
grace, and once only."""

from datetime import timedelta

import pytest
import time_machine
from django.test import override_settings

from pharmacy.models import MedicationOrder
from scanning.models import Administration, PrnReassessment
from tests.scanning.conftest import DEMO_NOW, HOA_BADGE, TUAN_BADGE, badge_client, image
from tests.scanning.test_audit_chain import verify_audit

pytestmark = pytest.mark.django_db

LE_BAND = "wristband-BN2026000108.png"
TRAMADOL = "unit-dose-08936012345063-TRA2607S001.png"
THANH_BAND = "wristband-BN2026000121.png"
METOPROLOL = "unit-dose-09520003000162-MTP2611S001.png"


def tramadol(**extra) -> dict:
    return {"patient": image(LE_BAND), "medications": [image(TRAMADOL)], **extra}


def pain(score: int) -> list[dict]:
    return [{"kind": "pain_score", "value": str(score)}]


def codes(answer) -> set[str]:
    return {finding["code"] for finding in answer["findings"]}


def check(client, body) -> dict:
    response = client.post("/api/v1/scan/check/", body, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def record(client, body, key):
    return client.post("/api/v1/administrations/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def overrides_for(client, body) -> list[dict]:
    """Whatever the demo's Lệ warns of (her morphine allergy and tramadol), overridden."""
    answer = check(client, body)
    assert answer["verdict"] in ("go", "warn"), answer
    return [
        {"code": f["code"], "reason": f["override_reasons"][0]["code"], "comment": "đã hỏi bác sĩ"}
        for f in answer["findings"]
        if f["severity"] == "WARN"
    ]


def give_tramadol(client, reason="Đau sau thủ thuật", key="give-tramadol") -> dict:
    body = tramadol(prn_reason=reason, assessments=pain(7))
    response = record(client, {**body, "overrides": overrides_for(client, body)}, key)
    assert response.status_code == 201, response.json()
    return response.json()


def later(minutes: int):
    """The clock moved on, and Hoa logged in again at the cart (her session locked meanwhile)."""
    travel = time_machine.travel(DEMO_NOW + timedelta(minutes=minutes), tick=False)
    travel.start()
    return badge_client(HOA_BADGE, "111111"), travel


def reassess(client, record_id, key, **body):
    return client.post(
        f"/api/v1/administrations/{record_id}/reassessment/",
        {"effect": "effective", "pain_score": 2, **body},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


# --- the reason and the pain score before ------------------------------------------------------


def test_the_check_asks_for_the_reason_among_the_orders_indications_and_a_pain_score(
    nurse_client,
):
    answer = check(nurse_client, tramadol())

    assert answer["verdict"] == "stop"
    assert {"PRN_REASON_REQUIRED", "ASSESSMENT_REQUIRED"} <= codes(answer)
    assert answer["order"]["prn_indications"] == ["Đau", "Đau sau thủ thuật"]
    assert [a["kind"] for a in answer["order"]["assessments"]] == ["pain_score"]
    refused = record(nurse_client, tramadol(assessments=pain(7)), key="no-reason")
    assert refused.status_code == 422
    assert "PRN_REASON_REQUIRED" in {
        f["code"] for f in refused.json()["error"]["details"]["findings"]
    }
    assert not Administration.objects.exists()


def test_a_reason_not_on_the_order_is_a_stop(nurse_client):
    answer = check(nurse_client, tramadol(prn_reason="Mất ngủ", assessments=pain(7)))

    assert "PRN_REASON_REQUIRED" in codes(answer)
    found = next(f for f in answer["findings"] if f["code"] == "PRN_REASON_REQUIRED")
    assert "«Mất ngủ»" in found["message"]


def test_the_reason_is_recorded_in_the_orders_spelling_and_hashed_with_the_record(nurse_client):
    given = give_tramadol(nurse_client, reason="  đau SAU thủ thuật ")

    assert given["prn_reason"] == "Đau sau thủ thuật"
    assert given["assessments"] == [{"kind": "pain_score", "value": "7.00", "unit": "{score}"}]
    stored = Administration.objects.get(external_id=given["id"])
    assert stored.prn_reason == "Đau sau thủ thuật"
    assert verify_audit()[0] == 0


def test_a_legacy_order_with_one_indication_offers_that_one(nurse_client):
    order = MedicationOrder.objects.get(
        admission__patient__mrn="BN2026000108", medication__code="tramadol-50-cap"
    )
    MedicationOrder.objects.filter(pk=order.pk).update(prn_indications=[])

    answer = check(nurse_client, tramadol())

    assert answer["order"]["prn_indications"] == ["Đau"]


def test_the_mar_shows_the_last_doses_and_the_next_allowed_time_in_local_time(nurse_client):
    give_tramadol(nurse_client)

    mar = nurse_client.get("/api/v1/patients/BN2026000108/mar/").json()

    prn = next(o for o in mar["orders"] if o["prn"])["prn"]
    assert prn["indications"] == ["Đau", "Đau sau thủ thuật"]
    assert [d["given_at"] for d in prn["last_doses"]] == ["2026-11-24T08:10:00+07:00"]
    assert prn["last_doses"][0]["amount"] == "50 mg"
    assert prn["next_allowed_at"] == "2026-11-24T14:10:00+07:00"
    assert prn["allowed_now"] is False


# --- the reassessment -------------------------------------------------------------------------


def test_a_reassessment_is_due_60_minutes_after_a_po_dose_on_the_mar_and_the_worklist(
    nurse_client,
):
    given = give_tramadol(nurse_client)

    due = nurse_client.get("/api/v1/patients/BN2026000108/mar/").json()["reassessments_due"]
    assert due == [
        {
            "administration": given["id"],
            "medication": "Tramadol 50 mg viên nang",
            "amount": "50 mg",
            "prn_reason": "Đau sau thủ thuật",
            "given_at": "2026-11-24T08:10:00+07:00",
            "due_at": "2026-11-24T09:10:00+07:00",
            "overdue": False,
            "pain_score_required": True,
        }
    ]
    client, travel = later(61)
    rows = client.get("/api/v1/wards/NOI/worklist/").json()["rows"]
    travel.stop()
    mine = [row for row in rows if row["kind"] == "reassessment"]
    assert len(mine) == 1
    assert mine[0]["overdue"] is True and mine[0]["detail"] == "Đau sau thủ thuật"
    assert mine[0]["patient"]["mrn"] == "BN2026000108"


def test_documenting_a_reassessment_on_time_and_retrying_it_stores_one(nurse_client):
    given = give_tramadol(nurse_client)

    client, travel = later(70)
    first = reassess(client, given["id"], "re-1", comment="đỡ đau")
    retry = reassess(client, given["id"], "re-1", comment="đỡ đau")
    due = client.get("/api/v1/patients/BN2026000108/mar/").json()["reassessments_due"]
    travel.stop()

    assert first.status_code == 201, first.json()
    assert retry.status_code == 201 and retry.json() == first.json()
    body = first.json()
    assert (body["late"], body["minutes_late"], body["effect"], body["pain_score"]) == (
        False,
        0,
        "effective",
        2,
    )
    assert body["due_at"] == "2026-11-24T09:10:00+07:00"
    assert PrnReassessment.objects.count() == 1
    assert due == []


@pytest.mark.parametrize(
    ("after_due", "late", "minutes_late"),
    [(15, False, 0), (16, True, 16), (45, True, 45)],
)
def test_a_reassessment_after_the_grace_is_late_by_its_minutes_after_due(
    nurse_client, after_due, late, minutes_late
):
    given = give_tramadol(nurse_client)

    client, travel = later(60 + after_due)
    with override_settings(PRN_REASSESS_GRACE_MINUTES=15):
        body = reassess(client, given["id"], "late").json()
    travel.stop()

    assert (body["late"], body["minutes_late"]) == (late, minutes_late)


def test_a_second_reassessment_is_a_409_with_the_one_kept(nurse_client):
    given = give_tramadol(nurse_client)
    reassess(nurse_client, given["id"], "first", effect="partly", pain_score=4)

    second = reassess(nurse_client, given["id"], "second", effect="not_effective")

    assert second.status_code == 409
    error = second.json()["error"]
    assert error["code"] == "ALREADY_REASSESSED"
    assert error["details"]["reassessment"]["effect"] == "partly"
    assert error["details"]["reassessment"]["pain_score"] == 4
    assert PrnReassessment.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"effect": "better"}, "effect"),
        ({"pain_score": 11}, "pain_score"),
        ({"pain_score": -1}, "pain_score"),
        ({"pain_score": "bảy"}, "pain_score"),
    ],
)
def test_bad_input_is_a_400_that_writes_nothing(nurse_client, body, field):
    given = give_tramadol(nurse_client)

    response = reassess(nurse_client, given["id"], "bad", **body)

    assert response.status_code == 400
    assert field in str(response.json()["error"]["details"])
    assert not PrnReassessment.objects.exists()


def test_after_an_analgesic_the_pain_score_is_required(nurse_client):
    given = give_tramadol(nurse_client)

    response = reassess(nurse_client, given["id"], "no-score", pain_score=None)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "PAIN_SCORE_REQUIRED"
    assert not PrnReassessment.objects.exists()


def test_a_pharmacist_may_not_document_a_reassessment(nurse_client):
    given = give_tramadol(nurse_client)
    pharmacist = badge_client(TUAN_BADGE, "555555", ward="")

    response = reassess(pharmacist, given["id"], "pharmacist")

    assert response.status_code == 403
    assert not PrnReassessment.objects.exists()


def test_a_scheduled_dose_has_no_reassessment(nurse_client):
    body = {
        "patient": image(THANH_BAND),
        "medications": [image(METOPROLOL)],
        "assessments": [
            {"kind": "heart_rate", "value": "72"},
            {"kind": "systolic_bp", "value": "128"},
        ],
    }
    given = record(nurse_client, {**body, "overrides": overrides_for(nurse_client, body)}, "mtp")
    assert given.status_code == 201, given.json()

    response = reassess(nurse_client, given.json()["id"], "not-prn")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "NOT_REASSESSABLE"
    assert response.json()["error"]["details"]["reason"] == "not_prn"


def test_a_dose_entered_in_error_has_no_reassessment_and_leaves_the_list(nurse_client):
    given = give_tramadol(nurse_client)
    withdrawn = nurse_client.post(
        f"/api/v1/administrations/{given['id']}/correct/",
        {"reason": "not_given"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="withdraw",
    )
    assert withdrawn.status_code == 201, withdrawn.json()

    response = reassess(nurse_client, given["id"], "withdrawn")
    due = nurse_client.get("/api/v1/patients/BN2026000108/mar/").json()["reassessments_due"]

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "NOT_REASSESSABLE"
    assert due == []
