"""Scenarios an independent review found unsafe, each pinned so it cannot come back."""

import base64
import io
from datetime import timedelta
from decimal import Decimal

import pytest
import zxingcpp
from django.utils import timezone
from PIL import Image

from pharmacy.models import DoseState, MedicationOrder, ScheduledDose
from scanning.models import Administration
from tests.scanning.conftest import AN_BAND, BARCODES, DEMO_NOW, NGOC_BAND, PARACETAMOL, code, image

pytestmark = pytest.mark.django_db


def side_by_side(*names) -> dict:
    images = [Image.open(BARCODES / name).convert("L") for name in names]
    canvas = Image.new(
        "L",
        (sum(i.width for i in images) + 40 * len(images), max(i.height for i in images) + 80),
        255,
    )
    x = 20
    for picture in images:
        canvas.paste(picture, (x, 40))
        x += picture.width + 40
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    return {"image": base64.b64encode(buffer.getvalue()).decode()}


def test_one_pack_photographed_with_its_ean13_and_datamatrix_is_one_unit(nurse_client):
    # given: the retail EAN-13 and the unit's DataMatrix of the same GTIN in one frame
    photo = side_by_side("ean13-8936012345001.png", PARACETAMOL[0])
    # when
    body = nurse_client.post(
        "/api/v1/scan/check/", {"patient": image(AN_BAND), "medications": [photo]}, format="json"
    ).json()
    # then: half the 1 g dose, not all of it
    assert body["dose"]["scanned"] == "500 mg"
    assert "DOSE_INCOMPLETE" in {f["code"] for f in body["findings"]}


def test_two_wristbands_in_one_frame_are_refused(nurse_client):
    response = nurse_client.post(
        "/api/v1/scan/check/",
        {"patient": side_by_side(AN_BAND, NGOC_BAND), "medications": []},
        format="json",
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "AMBIGUOUS_SCAN"


def test_the_request_body_cannot_choose_the_carts_ward(nurse_client):
    # Hoa's cart is on NOI; Khôi lies in NGOAI.
    body = {"patient": code("8018952000100000001099\x1d80191"), "medications": [], "ward": "NGOAI"}
    findings = nurse_client.post("/api/v1/scan/check/", body, format="json").json()["findings"]
    assert "WRONG_WARD" in {f["code"] for f in findings}


def test_login_to_a_ward_the_nurse_is_not_assigned_to_is_refused(frozen_demo, client):
    response = client.post(
        "/api/v1/auth/badge/",
        {"badge": code("8017952000200000000112"), "pin": "111111", "ward": "NGOAI"},
        content_type="application/json",
    )
    assert response.status_code == 403 and response.json()["error"]["code"] == "WARD_NOT_ASSIGNED"


def test_an_invalid_witness_is_never_stored(nurse_client):
    body = {
        "patient": image(AN_BAND),
        "medications": [image(n) for n in PARACETAMOL],
        "witness": code("8017952000200000000150"),
        "witness_pin": "000000",
    }  # a pharmacist, wrong PIN
    response = nurse_client.post("/api/v1/administrations/", body, format="json")
    assert response.status_code == 201, response.json()
    assert Administration.objects.get().witness is None


def test_a_void_band_shows_nobody(nurse_client):
    from wards.models import Admission
    from wards.services import wristband_issue

    admission = Admission.objects.get(patient__mrn="BN2026000101")
    wristband_issue(admission=admission, printed_by=admission.wristbands.first().printed_by)
    body = nurse_client.post(
        "/api/v1/scan/check/", {"patient": image(AN_BAND)}, format="json"
    ).json()
    assert body["verdict"] == "stop" and body["patient"] is None
    assert "WRISTBAND_VOID" in {f["code"] for f in body["findings"]}


def test_a_prn_interval_longer_than_two_days_is_enforced(nurse_client):
    order = MedicationOrder.objects.get(admission__patient__mrn="BN2026000104", schedule_kind="prn")
    order.prn_min_interval_minutes = 72 * 60
    order.save()
    Administration.objects.create(
        patient=order.admission.patient,
        admission=order.admission,
        order=order,
        status="completed",
        performer=order.verified_by,
        administered_at=timezone.now() - timedelta(hours=50),
        amount=Decimal("1000"),
        unit="mg",
        route="PO",
    )
    body = {
        "patient": code("8018952000100000001044\x1d80191"),
        "medications": [image(n) for n in PARACETAMOL],
    }
    findings = nurse_client.post("/api/v1/scan/check/", body, format="json").json()["findings"]
    assert "PRN_TOO_SOON" in {f["code"] for f in findings}


def test_withdrawing_a_not_given_record_does_not_reopen_a_given_dose(nurse_client):
    dose = ScheduledDose.objects.get(
        order__admission__patient__mrn="BN2026000101",
        order__medication__code="paracetamol-500-tab",
        due_at=DEMO_NOW.replace(minute=0),
    )
    not_given = nurse_client.post(
        "/api/v1/administrations/not-given/",
        {
            "patient": image(AN_BAND),
            "order": str(dose.order.external_id),
            "scheduled_dose": str(dose.external_id),
            "reason": "refused",
        },
        format="json",
    ).json()
    given = nurse_client.post(
        "/api/v1/administrations/",
        {"patient": image(AN_BAND), "medications": [image(n) for n in PARACETAMOL]},
        format="json",
    )
    assert given.status_code == 201, given.json()
    nurse_client.post(
        f"/api/v1/administrations/{not_given['id']}/correct/",
        {"reason": "other", "comment": "documented by mistake"},
        format="json",
    )
    dose.refresh_from_db()
    assert dose.state == DoseState.GIVEN


def test_a_barcode_holding_nul_is_a_clear_answer_not_a_500(nurse_client):
    symbol = zxingcpp.create_barcode("AB\x00CD", zxingcpp.BarcodeFormat.QRCode)
    pixels = symbol.to_image(scale=8)
    buffer = io.BytesIO()
    Image.frombytes("L", (pixels.shape[1], pixels.shape[0]), bytes(memoryview(pixels))).save(
        buffer, "PNG"
    )
    body = {"image": base64.b64encode(buffer.getvalue()).decode()}
    response = nurse_client.post("/api/v1/scan/check/", {"patient": body}, format="json")
    assert response.status_code == 200
    assert response.json()["verdict"] == "stop"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/patients/BN2026000101/mar/?date=9999-12-31",
        "/api/v1/administrations/?since=9999-12-31T23:59:59-23:00",
    ],
)
def test_dates_at_the_edge_of_time_are_a_400(nurse_client, path):
    response = nurse_client.get(path)
    assert response.status_code == 400 and response.json()["error"]["code"] == "INVALID_INPUT"
