"""From the HIS to the bedside: an admission and an order arrive over HL7, the pharmacist verifies
the order, the nurse scans the band and the drug and gets GO, records the dose; the RAS^O17 we
send back carries the HIS's order and visit numbers."""

from datetime import timedelta

import hl7
import pytest
import time_machine
from rest_framework.test import APIClient

from hospital.models import User
from interop.inbound import his_day as h
from interop.inbound.inbox import inbox_receive
from interop.models import CodeMapKind, InboundCodeMap
from pharmacy.models import Medication, MedicationOrder, OrderStatus
from pharmacy.services import order_verify
from tests.demo_copy import demo_hospital_copy
from tests.scanning.conftest import DEMO_NOW, HOA_BADGE, badge_client, code
from wards.models import Admission
from wards.services import wristband_issue

pytestmark = pytest.mark.django_db
MRN = "BN2026000501"
PARACETAMOL_EAN = "8936012345001"  # 500 mg tablet


@pytest.fixture
def his_patient_with_order():
    with time_machine.travel(DEMO_NOW, tick=False):
        demo_hospital_copy()
        InboundCodeMap.objects.create(
            kind=CodeMapKind.MEDICATION,
            his_code="TT01",
            medication=Medication.objects.get(code="paracetamol-500-tab"),
        )
        earlier = DEMO_NOW - timedelta(hours=2)
        patient = h.pid(MRN, "Đinh", "Thảo", "Thị Thu", birth="19790315", sex="F")
        visit = h.pv1("NOI", "10", "VV2026-0501", admitted=earlier)
        inbox_receive(h.adt("A01", "E2E1", earlier, patient, visit))
        inbox_receive(
            h.rde(
                "E2E2",
                earlier,
                patient,
                visit,
                h.order_group(
                    "NW",
                    "YL2026-0501",
                    filler="",
                    at=earlier,
                    drug="TT01",
                    amount="500",
                    unit="mg",
                    route="PO",
                    times="0800~2000",
                    start=earlier,
                ),
            )
        )
        yield MedicationOrder.objects.get(placer_order_number="YL2026-0501")


def band_scan(admission: Admission) -> dict:
    band = admission.wristbands.get(voided_at__isnull=True)
    return code(f"]C18018{admission.patient.gsrn}8019{band.instance}")


def check(client: APIClient, admission: Admission) -> dict:
    response = client.post(
        "/api/v1/scan/check/",
        {"patient": band_scan(admission), "medications": [code(PARACETAMOL_EAN)]},
        format="json",
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_the_bedside_goes_on_a_his_order_only_after_verification(his_patient_with_order):
    order = his_patient_with_order
    pharmacist = User.objects.get(username="duocsi.tuan")
    with time_machine.travel(DEMO_NOW, tick=False):
        admission = order.admission
        wristband_issue(admission=admission, printed_by=pharmacist)
        nurse = badge_client(HOA_BADGE, "111111")

        before = check(nurse, admission)
        assert order.status == OrderStatus.PENDING_VERIFICATION
        assert before["verdict"] == "stop"
        assert "ORDER_NOT_VERIFIED" in [f["code"] for f in before["findings"]]

        order_verify(order=order, pharmacist=pharmacist)
        after = check(nurse, admission)

        assert after["verdict"] == "go", after["findings"]
        assert after["order"]["id"] == str(order.external_id)
        assert after["patient"]["mrn"] == MRN
        recorded = nurse.post(
            "/api/v1/administrations/",
            {"patient": band_scan(admission), "medications": [code(PARACETAMOL_EAN)]},
            format="json",
            HTTP_IDEMPOTENCY_KEY="e2e-his-1",
        )
        assert recorded.status_code == 201, recorded.content


def test_the_ras_o17_carries_the_his_order_and_visit_numbers(his_patient_with_order):
    order = his_patient_with_order
    pharmacist = User.objects.get(username="duocsi.tuan")
    with time_machine.travel(DEMO_NOW, tick=False):
        order_verify(order=order, pharmacist=pharmacist)
        wristband_issue(admission=order.admission, printed_by=pharmacist)
        nurse = badge_client(HOA_BADGE, "111111")
        recorded = nurse.post(
            "/api/v1/administrations/",
            {"patient": band_scan(order.admission), "medications": [code(PARACETAMOL_EAN)]},
            format="json",
            HTTP_IDEMPOTENCY_KEY="e2e-his-2",
        )
        assert recorded.status_code == 201, recorded.content
        ras = nurse.get(f"/api/v1/administrations/{recorded.json()['id']}/hl7/")

    message = hl7.parse(ras.content.decode().replace("\n", "\r").strip())
    assert message.extract_field("ORC", 1, 2, 1, 1) == "YL2026-0501"
    assert message.extract_field("PV1", 1, 19, 1, 1) == "VV2026-0501"


def test_the_check_and_mar_say_the_patient_was_recently_transferred(his_patient_with_order):
    order = his_patient_with_order
    pharmacist = User.objects.get(username="duocsi.tuan")
    with time_machine.travel(DEMO_NOW, tick=False):
        patient = h.pid(MRN, "Đinh", "Thảo", "Thị Thu", birth="19790315", sex="F")
        inbox_receive(h.adt("A02", "E2E3", DEMO_NOW, patient, h.pv1("NGOAI", "10", "VV2026-0501")))
        order.admission.refresh_from_db()
        wristband_issue(admission=order.admission, printed_by=pharmacist)
        nurse = badge_client(HOA_BADGE, "111111", ward="NOI")

        answer = check(nurse, order.admission)
        mar = badge_client("8017952000200000000136", "333333", ward="NGOAI").get(
            f"/api/v1/patients/{MRN}/mar/"
        )

    transfer = answer["patient"]["transfer"]
    assert transfer["from_ward"] == "NOI" and transfer["from_bed"] == "10"
    assert transfer["recent"] is True
    assert "WRONG_WARD" in [f["code"] for f in answer["findings"]]  # the cart is still on NOI
    assert mar.status_code == 200, mar.content
    assert mar.json()["admission"]["ward"] == "NGOAI"
    assert mar.json()["admission"]["transfer"]["from_ward"] == "NOI"
