"""Each hospital's HIS issues its own order numbers (ORC-2, the FHIR MedicationRequest identifier),
often from one vendor's sequence: BVDKT's DH0001 and Bãi Cháy's DH0001 are two orders for two
patients, and each HIS's changes and discontinuations reach its own.

The demo province: BVDKT (MSH-4 "HOSPITAL", wards NOI and NGOAI) and Bãi Cháy (BVBC, MSH-4
"BAICHAY", ward BC-NOI). Messages go through the inbox as the MLLP listener hands them over, and
once over a real MLLP socket on 127.0.0.1."""

from decimal import Decimal

import pytest

from interop.fhir import R5
from interop.inbound import his_day as h
from interop.models import CodeMapKind, InboundCodeMap
from pharmacy.models import Medication, MedicationOrder, OrderStatus
from tests.interop import fhir_bundles as b
from tests.interop.province import (
    START,
    VISIT,
    an,
    bearer,
    binh,
    from_bai_chay,
    from_bvdkt,
    hospital,
    inbox_send,
    issue,
    mllp_send,
    post,
    problem,
    province_at_start,
    province_listener,
    two_hospital_bearer,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def province():
    with province_at_start(TT01="paracetamol-500-tab", TT07="tramadol-50-cap") as traveller:
        yield traveller


@pytest.fixture
def listener():
    with province_listener() as server:
        yield server


NUMBER = "DH0001"


def rde(control_id: str, control: str, pid: str, pv1: str, *, facility: str = "HOSPITAL"):
    """An order message for DH0001: new or changed (paracetamol, `amount` mg at 08:00), or only
    its ORC (discontinue)."""
    amount = "1000" if control == "NW" else "500"
    group = h.order_group(
        control, NUMBER, at=START, drug="TT01", amount=amount, unit="mg", times="0800"
    )
    return h.rde(control_id, START, pid, pv1, group, facility=facility)


def both_admitted_and_ordered(first: str) -> None:
    """BVDKT's An and Bãi Cháy's Bình, each admitted as V0001, each with a new order DH0001."""
    bvdkt, bai_chay = h.pv1("NOI", "", VISIT), h.pv1("BC-NOI", "", VISIT)
    acks = [
        inbox_send(from_bvdkt("A01", f"{first}1", an(), bvdkt)),
        inbox_send(from_bai_chay("A01", f"{first}2", binh(), bai_chay)),
        inbox_send(rde(f"{first}3", "NW", an(), bvdkt)),
        inbox_send(rde(f"{first}4", "NW", binh(), bai_chay, facility="BAICHAY")),
    ]
    assert acks == [("AA", "")] * 4


def order_at(code: str) -> MedicationOrder:
    return MedicationOrder.objects.select_related("admission__patient").get(
        hospital=hospital(code), placer_order_number=NUMBER
    )


# ------------------------------------------------------------------ HL7


@pytest.mark.django_db(transaction=True)
def test_over_mllp_two_hospitals_each_order_dh0001_for_their_own_patient(listener):
    # given both HISes admitted their patient as V0001
    InboundCodeMap.objects.create(
        kind=CodeMapKind.MEDICATION,
        his_code="TT01",
        medication=Medication.objects.get(code="paracetamol-500-tab"),
    )
    bvdkt, bai_chay = h.pv1("NOI", "", VISIT), h.pv1("BC-NOI", "", VISIT)

    # when each sends a new order DH0001
    answers = mllp_send(
        listener,
        from_bvdkt("A01", "N0001", an(), bvdkt),
        from_bai_chay("A01", "N0002", binh(), bai_chay),
        rde("N0003", "NW", an(), bvdkt),
        rde("N0004", "NW", binh(), bai_chay, facility="BAICHAY"),
    )

    # then both are created, each in its HIS's hospital for its own patient
    assert answers == [("AA", "")] * 4
    at_bvdkt, at_bc = order_at("BVDKT"), order_at("BVBC")
    assert at_bvdkt.admission.patient.full_name == "Nguyễn Văn An"
    assert at_bc.admission.patient.full_name == "Trần Thị Bình"
    assert (at_bvdkt.admission.hospital_id, at_bc.admission.hospital_id) == (
        at_bvdkt.hospital_id,
        at_bc.hospital_id,
    )


def test_a_change_and_a_discontinue_from_bai_chay_reach_only_its_dh0001(province):
    # given both hospitals ordered DH0001
    both_admitted_and_ordered("O10")
    bvdkts = order_at("BVDKT")

    # when Bãi Cháy's HIS changes its DH0001 to 500 mg
    changed = inbox_send(rde("O105", "XO", binh(), h.pv1("BC-NOI", "", VISIT), facility="BAICHAY"))

    # then only Bãi Cháy's is changed
    assert changed == ("AA", "")
    assert order_at("BVBC").dose_value == Decimal("500")
    assert order_at("BVDKT").dose_value == Decimal("1000")

    # when it discontinues its DH0001
    stopped = inbox_send(rde("O106", "DC", binh(), h.pv1("BC-NOI", "", VISIT), facility="BAICHAY"))

    # then only Bãi Cháy's ends; BVDKT's is as it was
    assert stopped == ("AA", "")
    assert order_at("BVBC").status == OrderStatus.DISCONTINUED
    still = order_at("BVDKT")
    assert (still.status, still.dose_value) == (bvdkts.status, Decimal("1000"))


def test_a_change_and_a_discontinue_from_bvdkt_reach_only_its_dh0001(province):
    # given both hospitals ordered DH0001
    both_admitted_and_ordered("O20")

    # when BVDKT's HIS changes, then discontinues its DH0001
    changed = inbox_send(rde("O205", "XO", an(), h.pv1("NOI", "", VISIT)))
    stopped = inbox_send(rde("O206", "DC", an(), h.pv1("NOI", "", VISIT)))

    # then only BVDKT's
    assert (changed, stopped) == (("AA", ""), ("AA", ""))
    assert (order_at("BVDKT").dose_value, order_at("BVDKT").status) == (
        Decimal("500"),
        OrderStatus.DISCONTINUED,
    )
    assert order_at("BVBC").dose_value == Decimal("1000")
    assert order_at("BVBC").status != OrderStatus.DISCONTINUED


def test_within_one_hospital_dh0001_again_is_refused_as_before(province):
    # given BVDKT ordered DH0001 for An; it admits Cường too
    both_admitted_and_ordered("O30")
    cuong = h.pid("BN2026009102", "Lê", "Cường", "Văn")
    assert inbox_send(from_bvdkt("A01", "O305", cuong, h.pv1("NGOAI", "", "V0002"))) == ("AA", "")

    # when its HIS sends DH0001 as new again, for An and for Cường
    again = inbox_send(rde("O306", "NW", an(), h.pv1("NOI", "", VISIT)))
    for_cuong = inbox_send(rde("O307", "NW", cuong, h.pv1("NGOAI", "", "V0002")))

    # then both refused as before: the number is taken in its hospital
    assert again[0] == "AE" and "already exists here" in again[1]
    assert problem("O306").startswith("ORDER_NUMBER_IN_USE")
    assert for_cuong[0] == "AE" and "belongs to another patient" in for_cuong[1]
    assert problem("O307").startswith("ORDER_OTHER_PATIENT")
    assert MedicationOrder.objects.filter(placer_order_number=NUMBER).count() == 2


# ------------------------------------------------------------------ FHIR


def bai_chays_bundle(*, dose: int = 500, status: str = "active") -> dict:
    """Bãi Cháy's patient (the README's Mai Anh) admitted to BC-NOI as VV2026-0777, with the
    order DH0001."""
    order = b.scheduled_order(R5, number=NUMBER, dose=dose)
    order["status"] = status
    bundle = b.transaction(R5, identifier="")
    bundle["entry"][1]["resource"] = b.encounter(R5, ward="BC-NOI", bed="")
    bundle["entry"][3]["resource"] = order
    bundle["entry"][3]["request"] = b.put("MedicationRequest", "placer-order-number", NUMBER)
    del bundle["entry"][4], bundle["entry"][2]
    return bundle


def bvdkt_orders_dh0001() -> MedicationOrder:
    bvdkt = h.pv1("NOI", "", VISIT)
    assert inbox_send(from_bvdkt("A01", "F0001", an(), bvdkt)) == ("AA", "")
    assert inbox_send(rde("F0002", "NW", an(), bvdkt)) == ("AA", "")
    return order_at("BVDKT")


def test_a_bundle_from_bai_chay_creates_changes_and_stops_its_own_dh0001(province):
    # given BVDKT's HIS ordered DH0001 for An
    theirs = bvdkt_orders_dh0001()
    token = bearer("BVBC", "system/*.write")

    # when Bãi Cháy's account sends its DH0001 for its patient
    created = post(bai_chays_bundle(), token)

    # then its own order, in its hospital
    assert created.status_code == 200, created.content
    ours = order_at("BVBC")
    assert ours.pk != theirs.pk
    assert (ours.admission.patient.full_name, ours.dose_value) == (
        "Nguyễn Thị Mai Anh",
        Decimal("500"),
    )

    # when it changes the dose, then stops the order
    changed = post(bai_chays_bundle(dose=1000), token)
    stopped = post(bai_chays_bundle(dose=1000, status="stopped"), token)

    # then only its own order changed and stopped; BVDKT's untouched
    assert (changed.status_code, stopped.status_code) == (200, 200), stopped.content
    ours = order_at("BVBC")
    assert (ours.dose_value, ours.status) == (Decimal("1000"), OrderStatus.DISCONTINUED)
    untouched = MedicationOrder.objects.get(pk=theirs.pk)
    assert (untouched.dose_value, untouched.status) == (theirs.dose_value, theirs.status)


def test_a_bundle_from_bvdkt_for_another_patient_under_its_dh0001_is_refused(province):
    # given BVDKT's DH0001 is An's
    theirs = bvdkt_orders_dh0001()

    # when a BVDKT account sends DH0001 for Mai Anh (on its ward NOI)
    bundle = bai_chays_bundle()
    bundle["entry"][1]["resource"] = b.encounter(R5, ward="NOI", bed="")
    response = post(bundle, bearer("BVDKT", "system/*.write"))

    # then refused: the number is An's in BVDKT
    assert response.status_code == 422, response.content
    assert issue(response)[0] == "ORDER_OTHER_PATIENT"
    assert list(MedicationOrder.objects.filter(placer_order_number=NUMBER)) == [theirs]


def order_only(*, status: str, encounter: bool) -> dict:
    """Mai Anh's DH0001 alone, its patient (and encounter) named by identifier."""
    order = b.scheduled_order(R5, number=NUMBER, dose=1000)
    order["status"] = status
    order["subject"] = {"identifier": {"system": f"{b.SID}/mrn", "value": b.MRN}}
    if encounter:
        order["encounter"] = {"identifier": {"system": f"{b.SID}/visit-number", "value": b.VISIT}}
    else:
        del order["encounter"]
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:7d0f1b7e-2f0c-4a51-9c3e-0a4c3b1d0009",
                "resource": order,
                "request": b.put("MedicationRequest", "placer-order-number", NUMBER),
            }
        ],
    }


@pytest.mark.parametrize("encounter", [True, False], ids=["by-encounter", "by-her-order"])
def test_an_account_of_two_hospitals_changes_her_dh0001_never_the_other(province, encounter):
    # given both hospitals have DH0001, Bãi Cháy's for Mai Anh
    theirs = bvdkt_orders_dh0001()
    assert post(bai_chays_bundle(), bearer("BVBC", "system/*.write")).status_code == 200
    token = two_hospital_bearer()

    # when a provincial engine changes her DH0001, then stops it
    changed = post(order_only(status="active", encounter=encounter), token)
    stopped = post(order_only(status="stopped", encounter=encounter), token)

    # then hers changed and stopped, never An's
    assert (changed.status_code, stopped.status_code) == (200, 200), stopped.content
    ours = order_at("BVBC")
    assert (ours.dose_value, ours.status) == (Decimal("1000"), OrderStatus.DISCONTINUED)
    untouched = MedicationOrder.objects.get(pk=theirs.pk)
    assert (untouched.dose_value, untouched.status) == (theirs.dose_value, theirs.status)
