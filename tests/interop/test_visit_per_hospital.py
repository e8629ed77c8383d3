"""Each hospital's HIS issues its own visit numbers (PV1-19, the FHIR Encounter identifier), often
from one vendor's sequence: BVDKT's V0001 and Bãi Cháy's V0001 are two visits of two patients, and
each HIS's later messages reach its own.

The demo province: BVDKT (MSH-4 "HOSPITAL", wards NOI and NGOAI) and Bãi Cháy (BVBC, MSH-4
"BAICHAY", ward BC-NOI). Messages go through the inbox as the MLLP listener hands them over."""

import pytest

from interop.fhir import R5
from interop.inbound import his_day as h
from interop.models import InboundMessage, InboundState
from pharmacy.models import MedicationOrder
from tests.interop import fhir_bundles as b
from tests.interop.province import (
    MRN,
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
    post,
    problem,
    province_at_start,
    two_hospital_bearer,
)
from wards.models import Admission, Patient
from wards.selectors import patient_by_mrn

pytestmark = pytest.mark.django_db


@pytest.fixture
def province():
    with province_at_start(TT01="paracetamol-500-tab", TT07="tramadol-50-cap") as traveller:
        yield traveller


def order(control_id: str, placer: str, pid: str, pv1: str, *, facility: str = "HOSPITAL"):
    group = h.order_group(
        "NW", placer, at=START, drug="TT01", amount="1000", unit="mg", times="0800"
    )
    return h.rde(control_id, START, pid, pv1, group, facility=facility)


def visit_at(code: str) -> Admission:
    return Admission.objects.select_related("ward", "patient").get(
        hospital=hospital(code), visit_number=VISIT
    )


# ------------------------------------------------------------------ HL7: one hospital


def test_the_same_visit_number_for_another_patient_in_one_hospital_is_a_visit_conflict(province):
    # given BVDKT admitted An as V0001
    assert inbox_send(from_bvdkt("A01", "V1001", an(), h.pv1("NOI", "", VISIT))) == ("AA", "")

    # when BVDKT's HIS sends V0001 again for someone else
    code, text = inbox_send(
        from_bvdkt("A01", "V1002", an("BN2026009102"), h.pv1("NGOAI", "", VISIT))
    )

    # then refused, nothing of it written
    assert code == "AE"
    assert "belongs to another patient" in text
    assert problem("V1002").startswith("VISIT_CONFLICT")
    assert not Patient.objects.filter(mrn="BN2026009102").exists()
    assert visit_at("BVDKT").patient.mrn == MRN


def test_a_discharge_from_bai_chay_under_a_bvdkt_visit_never_closes_bvdkts(province):
    # given BVDKT admitted An as V0001; Bãi Cháy knows Bình, admitted without that visit
    inbox_send(from_bvdkt("A01", "V1003", an(), h.pv1("NOI", "", VISIT)))
    inbox_send(from_bai_chay("A01", "V1004", binh(), h.pv1("BC-NOI", "", "V0777")))

    # when Bãi Cháy's HIS discharges its V0001 (its admission has not arrived)
    code, _text = inbox_send(from_bai_chay("A03", "V1005", binh(), h.pv1("BC-NOI", "", VISIT)))

    # then it waits for its own visit; BVDKT's stays open
    row = InboundMessage.objects.get(control_id="V1005")
    assert (code, row.state, row.problem_code) == ("AA", InboundState.WAITING, "VISIT_UNKNOWN:204")
    assert visit_at("BVDKT").is_open
    assert not Admission.objects.filter(hospital=hospital("BVBC"), visit_number=VISIT).exists()


# ------------------------------------------------------------------ HL7: two hospitals


def test_the_same_visit_number_at_two_hospitals_admits_two_patients(province):
    # when each HIS admits its own patient as V0001 (and under the same MRN)
    first = inbox_send(from_bvdkt("A01", "V1010", an(), h.pv1("NOI", "", VISIT)))
    second = inbox_send(from_bai_chay("A01", "V1011", binh(), h.pv1("BC-NOI", "", VISIT)))

    # then two admissions, of two people, each in its HIS's hospital
    assert first == ("AA", "") and second == ("AA", "")
    at_bvdkt, at_bc = visit_at("BVDKT"), visit_at("BVBC")
    assert at_bvdkt.patient_id != at_bc.patient_id
    assert (at_bvdkt.ward.code, at_bvdkt.patient.full_name) == ("NOI", "Nguyễn Văn An")
    assert (at_bc.ward.code, at_bc.patient.full_name) == ("BC-NOI", "Trần Thị Bình")


def test_each_his_later_messages_reach_its_own_visit_and_never_the_others(province):
    # given both HISes admitted their V0001
    inbox_send(from_bvdkt("A01", "V1020", an(), h.pv1("NOI", "", VISIT)))
    inbox_send(from_bai_chay("A01", "V1021", binh(), h.pv1("BC-NOI", "", VISIT)))

    # when each transfers, updates and orders for its V0001
    sent = [
        from_bvdkt("A02", "V1022", an(), h.pv1("NGOAI", "10", VISIT)),
        from_bai_chay("A02", "V1023", binh(), h.pv1("BC-NOI", "04", VISIT)),
        h.adt("A08", "V1024", START, h.pid(MRN, "Nguyễn", "Ân", "Văn")),
        h.adt("A08", "V1025", START, binh("Bính"), facility="BAICHAY"),
        order("V1026", "YL-BVDKT-0001", an(), h.pv1("NGOAI", "10", VISIT)),
        order("V1027", "YL-BVBC-0001", binh(), h.pv1("BC-NOI", "04", VISIT), facility="BAICHAY"),
    ]
    acks = [inbox_send(message) for message in sent]

    # then every message applied to its own hospital's visit
    assert acks == [("AA", "")] * len(sent)
    at_bvdkt, at_bc = visit_at("BVDKT"), visit_at("BVBC")
    assert (at_bvdkt.ward.code, at_bvdkt.bed.code, at_bvdkt.transferred_from.code) == (
        "NGOAI",
        "10",
        "NOI",
    )
    assert (at_bc.ward.code, at_bc.bed.code) == ("BC-NOI", "04")
    assert (at_bvdkt.patient.full_name, at_bc.patient.full_name) == (
        "Nguyễn Văn Ân",
        "Trần Thị Bính",
    )
    orders = dict(MedicationOrder.objects.values_list("placer_order_number", "admission"))
    assert orders["YL-BVDKT-0001"] == at_bvdkt.pk
    assert orders["YL-BVBC-0001"] == at_bc.pk

    # when Bãi Cháy discharges its V0001
    assert inbox_send(from_bai_chay("A03", "V1028", binh(), h.pv1("BC-NOI", "04", VISIT))) == (
        "AA",
        "",
    )

    # then only Bãi Cháy's closes; BVDKT's still takes orders
    assert not visit_at("BVBC").is_open and visit_at("BVDKT").is_open
    more = order("V1029", "YL-BVDKT-0002", an(), h.pv1("NGOAI", "10", VISIT))
    assert inbox_send(more) == ("AA", "")
    assert MedicationOrder.objects.get(placer_order_number="YL-BVDKT-0002").admission == at_bvdkt


def test_an_order_for_a_closed_visit_is_refused_though_the_other_hospital_has_it_open(province):
    # given Bãi Cháy's V0001 was discharged; BVDKT's V0001 is open
    inbox_send(from_bvdkt("A01", "V1030", an(), h.pv1("NOI", "", VISIT)))
    inbox_send(from_bai_chay("A01", "V1031", binh(), h.pv1("BC-NOI", "", VISIT)))
    inbox_send(from_bai_chay("A03", "V1032", binh(), h.pv1("BC-NOI", "", VISIT)))

    # when Bãi Cháy's HIS orders for its closed V0001
    code, text = inbox_send(
        order("V1033", "YL-BVBC-0009", binh(), h.pv1("BC-NOI", "", VISIT), facility="BAICHAY")
    )

    # then refused: it is never applied to BVDKT's open one
    assert code == "AE" and "closed" in text
    assert not MedicationOrder.objects.filter(placer_order_number="YL-BVBC-0009").exists()


# ------------------------------------------------------------------ FHIR


def bai_chays_bundle() -> dict:
    """The README's bundle (Encounter VV2026-0777), admitting to Bãi Cháy's ward."""
    bundle = b.transaction(R5)
    bundle["entry"][1]["resource"] = b.encounter(R5, ward="BC-NOI", bed="")
    return bundle


def bvdkt_admits_someone_else_as_the_bundles_visit() -> Admission:
    message = from_bvdkt("A01", "V1040", an(), h.pv1("NOI", "", b.VISIT))
    assert inbox_send(message) == ("AA", "")
    return Admission.objects.get(visit_number=b.VISIT)


def finished(*, ward: str | None) -> dict:
    """The bundle's Encounter again, finished: a PUT by its visit number."""
    encounter = b.encounter(R5, ward=ward or "", bed="", status="completed")
    if ward is None:
        del encounter["location"]
    patient = {
        "fullUrl": b.PATIENT_URL,
        "resource": b.patient(),
        "request": b.put("Patient", "mrn", b.MRN),
    }
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            patient,
            {
                "fullUrl": b.ENCOUNTER_URL,
                "resource": encounter,
                "request": b.put("Encounter", "visit-number", b.VISIT),
            },
        ],
    }


def test_a_bundle_with_the_visit_of_another_patient_in_its_hospital_is_a_visit_conflict(
    province,
):
    # given BVDKT's HIS admitted An under the bundle's visit number
    theirs = bvdkt_admits_someone_else_as_the_bundles_visit()

    # when a BVDKT account sends the bundle (another patient, the same visit)
    response = post(b.transaction(R5), bearer("BVDKT", "system/*.write"))

    # then 422, nothing written
    assert response.status_code == 422, response.content
    code, text = issue(response)
    assert code == "VISIT_CONFLICT"
    assert "belongs to another patient" in text
    assert not Patient.objects.filter(mrn=b.MRN).exists()
    assert list(Admission.objects.filter(visit_number=b.VISIT)) == [theirs]


def test_a_bundle_from_bai_chay_with_a_bvdkt_visit_number_admits_its_own_patient(province):
    # given
    theirs = bvdkt_admits_someone_else_as_the_bundles_visit()

    # when Bãi Cháy's account admits its patient under the same visit number
    token = bearer("BVBC", "system/*.write")
    response = post(bai_chays_bundle(), token)

    # then its own admission, with the bundle's orders; BVDKT's untouched
    assert response.status_code == 200, response.content
    ours = Admission.objects.get(hospital=hospital("BVBC"), visit_number=b.VISIT)
    assert ours.pk != theirs.pk and ours.ward.code == "BC-NOI"
    assert ours.patient == patient_by_mrn(hospital_id=hospital("BVBC").pk, mrn=b.MRN)
    assert set(MedicationOrder.objects.values_list("placer_order_number", "admission")) >= {
        ("YL2026-0777-1", ours.pk),
        ("YL2026-0777-2", ours.pk),
    }
    assert not MedicationOrder.objects.filter(admission=theirs).exists()
    assert Admission.objects.get(pk=theirs.pk).is_open

    # when it finishes the encounter
    response = post(finished(ward="BC-NOI"), token)

    # then only Bãi Cháy's closes
    assert response.status_code == 200, response.content
    assert not Admission.objects.get(pk=ours.pk).is_open
    assert Admission.objects.get(pk=theirs.pk).is_open


def test_an_account_of_two_hospitals_finishing_her_encounter_closes_her_visit(province):
    # given both hospitals have the visit number, Bãi Cháy's for the bundle's patient
    theirs = bvdkt_admits_someone_else_as_the_bundles_visit()
    assert post(bai_chays_bundle(), bearer("BVBC", "system/*.write")).status_code == 200
    ours = Admission.objects.get(hospital=hospital("BVBC"), visit_number=b.VISIT)

    # when a provincial engine finishes the encounter without naming a ward
    response = post(finished(ward=None), two_hospital_bearer())

    # then hers closes, never the other patient's
    assert response.status_code == 200, response.content
    assert not Admission.objects.get(pk=ours.pk).is_open
    assert Admission.objects.get(pk=theirs.pk).is_open


def test_an_account_of_two_hospitals_cannot_move_an_admission_to_the_other_hospital(province):
    # given Bãi Cháy's admission of the bundle's patient
    assert post(bai_chays_bundle(), bearer("BVBC", "system/*.write")).status_code == 200
    ours = Admission.objects.get(visit_number=b.VISIT)

    # when a provincial engine sends her encounter (her by her MRN) in progress on BVDKT's NOI
    encounter = b.encounter(R5, ward="NOI", bed="")
    encounter["subject"] = {"identifier": {"system": f"{b.SID}/mrn", "value": b.MRN}}
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": b.ENCOUNTER_URL,
                "resource": encounter,
                "request": b.put("Encounter", "visit-number", b.VISIT),
            }
        ],
    }
    response = post(bundle, two_hospital_bearer())

    # then refused: a visit stays in its hospital
    assert response.status_code == 422, response.content
    code, _text = issue(response)
    assert code == "WARD_OTHER_HOSPITAL"
    stayed = Admission.objects.get(pk=ours.pk)
    assert (stayed.ward.code, stayed.hospital.code, stayed.is_open) == ("BC-NOI", "BVBC", True)
