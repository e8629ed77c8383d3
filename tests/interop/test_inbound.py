"""The inbound path without sockets: a ward day of ADT and orders through the inbox, and the
unhappy paths (unmapped codes, out-of-order arrival, repeats, changes to verified orders)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import override_settings

from hospital.models import User
from interop.inbound import his_day as h
from interop.inbound.inbox import inbox_dismiss, inbox_receive, inbox_reprocess
from interop.models import CodeMapKind, InboundCodeMap, InboundMessage, InboundState
from pharmacy.models import Medication, MedicationOrder, OrderStatus
from pharmacy.services import order_verify
from tests.interop.province import START, province_at_start
from wards.models import Admission, Patient

pytestmark = pytest.mark.django_db
DRUGS = {"TT01": "paracetamol-500-tab", "TT02": "ceftriaxone-1g-inj", "TT03": "omeprazole-20-cap"}


@pytest.fixture
def hospital():
    with province_at_start(**DRUGS) as traveller:
        yield traveller


def ack_code(ack: str) -> str:
    return ack.split("\r")[1].split("|")[1]


def send(message: str) -> str:
    ack = inbox_receive(message)
    assert ack is not None
    return ack


def test_a_ward_day_ends_with_the_right_patients_admissions_and_orders(hospital):
    # given / when
    acks = [send(message) for _label, message in h.ward_day(START)]

    # then every message was accepted and applied once
    assert [ack_code(ack) for ack in acks] == ["AA"] * len(acks)
    assert set(InboundMessage.objects.values_list("state", flat=True)) == {InboundState.APPLIED}
    an = Patient.objects.get(mrn="BN2026000201")
    assert an.full_name == "Nguyễn Văn An"
    assert an.national_id == "001089012345"
    assert an.health_insurance_number == "DN4010123456789"
    assert an.allergies.get().allergen_code == "penicillins"
    assert an.allergies.get().severity == "severe"
    assert an.gsrn.startswith("9520001") and len(an.gsrn) == 18
    an_visit = Admission.objects.get(visit_number="VV2026001")
    assert an_visit.discharged_at is not None  # A03
    hong = Admission.objects.get(visit_number="VV2026002")
    assert (hong.ward.code, hong.bed.code, hong.transferred_from.code) == ("NGOAI", "10", "NOI")
    assert hong.transferred_at is not None
    khoa = Patient.objects.get(mrn="BN2026000203")
    assert khoa.health_insurance_number == "HC4790987654321"  # A08
    orders = {
        o.placer_order_number: o for o in MedicationOrder.objects.exclude(placer_order_number="")
    }
    assert orders["YL0001"].dose_value == Decimal("500")  # XO applied
    assert orders["YL0001"].status == OrderStatus.PENDING_VERIFICATION
    assert orders["YL0002"].schedule_kind == "interval" and orders["YL0002"].interval_hours == 12
    assert orders["YL0002"].medication.code == "ceftriaxone-1g-inj"
    assert orders["YL0003"].status == OrderStatus.DISCONTINUED
    prn = orders["YL0004"]
    assert (prn.schedule_kind, prn.prn_min_interval_minutes, prn.prn_max_per_24h) == (
        "prn",
        240,
        Decimal("4000"),
    )
    assert prn.prn_indication == "Đau & sốt > 38,5°C"  # \T\ unescaped
    assert prn.status == OrderStatus.PENDING_VERIFICATION


def test_a_repeat_gets_the_first_ack_and_is_not_applied_twice(hospital):
    _label, admit = h.ward_day(START)[0]
    first = send(admit)
    again = send(admit)

    assert again == first
    row = InboundMessage.objects.get()
    assert row.times_received == 2
    assert Admission.objects.filter(visit_number="VV2026001").count() == 1


def test_a_discharge_before_its_admission_waits_then_applies(hospital):
    day = dict(h.ward_day(START))
    discharge = day["A03 Nguyễn Văn An discharged"]
    admit = day["A01 Nguyễn Văn An, NOI/10, penicillin allergy"]

    assert ack_code(send(discharge)) == "AA"
    waiting = InboundMessage.objects.get()
    assert waiting.state == InboundState.WAITING
    assert waiting.problem_code.startswith("PATIENT_UNKNOWN")

    assert ack_code(send(admit)) == "AA"

    admission = Admission.objects.get(visit_number="VV2026001")
    assert admission.discharged_at is not None
    assert set(InboundMessage.objects.values_list("state", flat=True)) == {InboundState.APPLIED}


def test_an_order_before_its_admission_waits_and_is_applied_in_the_his_order(hospital):
    day = h.ward_day(START)
    admit_an, order_an, change_an = day[0][1], day[3][1], day[6][1]

    send(change_an)  # XO first: waits for the order
    send(order_an)  # NW: waits for the patient
    send(admit_an)

    order = MedicationOrder.objects.get(placer_order_number="YL0001")
    assert order.dose_value == Decimal("500")  # NW then XO, as the HIS sent them
    assert InboundMessage.objects.filter(state=InboundState.APPLIED).count() == 3


def test_an_unmapped_drug_goes_to_the_work_queue_and_is_reprocessed_after_mapping(hospital):
    InboundCodeMap.objects.filter(his_code="TT01").delete()
    day = h.ward_day(START)
    send(day[0][1])

    ack = send(day[3][1])

    assert ack_code(ack) == "AE"
    err = next(segment for segment in ack.split("\r") if segment.startswith("ERR"))
    assert "RXE^1^2" in err and "103" in err and "TT01" in err
    row = InboundMessage.objects.get(control_id="HIS0004")
    assert row.state == InboundState.FAILED
    assert not MedicationOrder.objects.filter(placer_order_number="YL0001").exists()

    # the pharmacist maps the code and reprocesses
    InboundCodeMap.objects.create(
        kind=CodeMapKind.MEDICATION,
        his_code="TT01",
        medication=Medication.objects.get(code="paracetamol-500-tab"),
    )
    pharmacist = User.objects.get(username="duocsi.tuan")
    counts = inbox_reprocess(messages=InboundMessage.objects.filter(pk=row.pk), by=pharmacist)

    assert counts == {InboundState.APPLIED: 1}
    row.refresh_from_db()
    assert row.resolved_by == pharmacist
    assert ack_code(row.ack) == "AE"  # a repeat still gets the first answer
    assert MedicationOrder.objects.get(placer_order_number="YL0001").status == (
        OrderStatus.PENDING_VERIFICATION
    )


def test_a_change_to_a_verified_order_needs_verification_again(hospital):
    day = h.ward_day(START)
    send(day[0][1])
    send(day[3][1])
    order = MedicationOrder.objects.get(placer_order_number="YL0001")
    order_verify(order=order, pharmacist=User.objects.get(username="duocsi.tuan"))
    order.refresh_from_db()
    assert order.status == OrderStatus.ACTIVE and order.scheduled_doses.exists()

    send(day[6][1])  # XO: 500 mg

    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_VERIFICATION
    assert order.verified_by is None and order.verified_at is None
    assert not order.scheduled_doses.filter(due_at__gt=START).exists()


@override_settings(INBOUND_ORDERS_REQUIRE_VERIFICATION=False)
def test_a_site_may_take_his_orders_as_verified(hospital):
    day = h.ward_day(START)
    send(day[0][1])
    send(day[3][1])

    order = MedicationOrder.objects.get(placer_order_number="YL0001")
    assert order.status == OrderStatus.ACTIVE
    assert order.verified_by.username == "his-interface"
    assert order.scheduled_doses.exists()


def test_unknown_ward_unknown_route_and_bad_timing_are_work_queue_items(hospital):
    an = h.pid("BN2026000301", "Phạm", "Bình", "Văn")
    visit = h.pv1("ICU", "01", "VV9")
    assert ack_code(send(h.adt("A01", "X1", START, an, visit))) == "AE"
    assert InboundMessage.objects.get(control_id="X1").problem_code.startswith("WARD_UNKNOWN")
    send(h.adt("A01", "X2", START, an, h.pv1("NOI", "10", "VV9")))
    bad_route = h.rde(
        "X3",
        START,
        an,
        h.pv1("NOI", "10", "VV9"),
        h.order_group("NW", "YL9", at=START, drug="TT01", amount="500", route="IT", times="0800"),
    )
    bad_timing = h.rde(
        "X4",
        START,
        an,
        h.pv1("NOI", "10", "VV9"),
        h.order_group(
            "NW", "YL10", at=START, drug="TT01", amount="500", repeat="Q4H", priority="PRN"
        ),
    )
    assert ack_code(send(bad_route)) == "AE"
    assert ack_code(send(bad_timing)) == "AE"

    rows = {r.control_id: r for r in InboundMessage.objects.all()}
    assert rows["X3"].problem_code.split(":")[0] in ("ROUTE_UNKNOWN", "ROUTE_NOT_ALLOWED")
    assert rows["X4"].problem_code.startswith("BAD_TIMING")
    assert rows["X4"].problem_location == "TQ1^1^3"
    assert not MedicationOrder.objects.filter(placer_order_number__in=["YL9", "YL10"]).exists()


def test_dismissing_needs_a_reason_and_keeps_the_message(hospital):
    send(h.adt("A01", "X1", START, h.pid("BN2026000301", "Phạm", "Bình"), h.pv1("ICU", "", "V")))
    pharmacist = User.objects.get(username="duocsi.tuan")
    queue = InboundMessage.objects.filter(control_id="X1")
    with pytest.raises(Exception, match="reason"):
        inbox_dismiss(messages=queue, by=pharmacist, reason="  ")

    assert inbox_dismiss(messages=queue, by=pharmacist, reason="Tin thử nghiệm") == 1
    assert queue.get().state == InboundState.DISMISSED


def test_unsupported_and_unreadable_messages_are_rejected_with_ar(hospital):
    a31 = h.adt("A31", "X1", START, h.pid("BN2026000301", "Phạm", "Bình"))
    ack = send(a31)
    assert ack_code(ack) == "AR"
    assert "201" in ack
    assert ack_code(send("hello")) == "AR"
    assert InboundMessage.objects.filter(state=InboundState.REJECTED).count() == 2


def test_a_cancelled_admission_and_cancelled_discharge(hospital):
    day = h.ward_day(START)
    send(day[0][1])
    an = h.pid("BN2026000201", "Nguyễn", "An", "Văn")
    visit = h.pv1("NOI", "10", "VV2026001")
    send(h.adt("A03", "D1", START + timedelta(hours=1), an, visit))
    admission = Admission.objects.get(visit_number="VV2026001")
    assert admission.discharged_at is not None
    assert not admission.wristbands.filter(voided_at__isnull=True).exists()

    send(h.adt("A13", "D2", START + timedelta(hours=2), an, visit))
    admission.refresh_from_db()
    assert admission.discharged_at is None

    send(h.adt("A11", "D3", START + timedelta(hours=3), an, visit))
    admission.refresh_from_db()
    assert admission.discharged_at is not None and admission.cancelled_at is not None


def test_a_transfer_and_its_cancellation(hospital):
    day = dict(h.ward_day(START))
    send(day["A01 Trần Thị Hồng, NOI (no bed yet)"])
    send(day["A02 Trần Thị Hồng NOI → NGOAI/10"])
    hong = h.pid("BN2026000202", "Trần", "Hồng", "Thị", birth="19720808", sex="F")

    send(h.adt("A12", "T1", START + timedelta(hours=1), hong, h.pv1("", "", "VV2026002")))

    admission = Admission.objects.get(visit_number="VV2026002")
    assert admission.ward.code == "NOI" and admission.transferred_at is None


def test_a_merge_moves_allergies_and_retires_the_duplicate(hospital):
    send(
        h.adt(
            "A04",
            "M1",
            START,
            h.pid("BN2026000401", "Võ", "Lan", "Thị", sex="F"),
            h.pv1("NOI", "10", "VM1"),
        )
    )
    send(
        h.adt(
            "A08",
            "M2",
            START,
            h.pid("BN2026000402", "Võ", "Lan", "Thị", sex="F"),
            "",
            h.al1(1, "PENICILLINS", "Penicillin", "MO"),
        )
    )
    merge = "\r".join(
        [
            h.msh("ADT^A40", "M3", START),
            f"EVN|A40|{h.ts(START)}",
            h.pid("BN2026000401", "Võ", "Lan", "Thị", sex="F"),
            "MRG|BN2026000402^^^BVDKTINH^MR",
        ]
    )

    assert ack_code(send(merge)) == "AA"

    duplicate = Patient.objects.get(mrn="BN2026000402")
    surviving = Patient.objects.get(mrn="BN2026000401")
    assert duplicate.merged_into == surviving
    assert surviving.allergies.get().allergen_code == "penicillins"


@pytest.mark.parametrize(
    ("timing", "kind"),
    [
        ({"priority": "S"}, "stat"),
        ({"repeat": "STAT"}, "stat"),
        ({"repeat": "ONCE"}, "once"),
        ({"repeat": "ONCALL"}, "on_call"),
        ({"priority": "C"}, "on_call"),
    ],
)
def test_one_time_orders_from_the_his_have_one_dose_once_verified(hospital, timing, kind):
    # given: a one-time order for a patient admitted by the HIS
    an = h.pid("BN2026000401", "Nguyễn", "An")
    send(h.adt("A01", "A1", START, an, h.pv1("NOI", "10", "VV41")))
    send(
        h.rde(
            "O1",
            START,
            an,
            h.pv1("NOI", "10", "VV41"),
            h.order_group(
                "NW", "YL41", at=START, drug="TT02", amount="1", unit="g", route="IV", **timing
            ),
        )
    )
    order = MedicationOrder.objects.get(placer_order_number="YL41")
    assert (order.schedule_kind, order.status) == (kind, OrderStatus.PENDING_VERIFICATION)
    # when
    order_verify(order=order, pharmacist=User.objects.get(username="duocsi.tuan"))
    # then
    assert list(order.scheduled_doses.values_list("due_at", flat=True)) == [order.start_at]
