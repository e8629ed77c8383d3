"""A person is one record in the province; each hospital's HIS numbers her with its own MRN.

The demo province: BVDKT (MSH-4 "HOSPITAL", wards NOI and NGOAI, patients BN2026…) and Bãi Cháy
(BVBC, MSH-4 "BAICHAY", ward BC-NOI, patients BC2026…). Messages go through the inbox as the MLLP
listener hands them over (tests/interop/test_tenancy.py does the same), and once over a real
MLLP socket on 127.0.0.1."""

import base64
import copy

import hl7
import pytest
import time_machine
from django.test import Client

import gs1
from hospital.models import Hospital, User
from hospital.service_accounts import service_account_create
from interop.inbound import his_day as h
from interop.models import (
    Destination,
    InboundMessage,
    InboundState,
    OutboundMessage,
)
from interop.services import outbox_enqueue_administration
from interop.worker import _render
from tests.factories import AdministrationFactory, OrderFactory
from tests.interop import fhir_bundles as b
from tests.interop.province import (
    START,
    bearer,
    hospital,
    inbox_send,
    mllp_send,
    post,
    province_at_start,
    province_listener,
)
from tests.scanning.conftest import badge_client
from wards.models import Admission, Patient, PatientNumber
from wards.selectors import patient_by_mrn

pytestmark = pytest.mark.django_db

XUAN = "BN2026000117"  # BVDKT's patient Tạ Thị Xuân, born 1953-01-19, discharged from NOI
XUAN_AT_BC = "BC2026000900"  # the number Bãi Cháy's HIS gives her
CCCD = "022153000117"
HA_BADGE = "8017" + gs1.make_gsrn("95200020000000018")  # nurse Hà, BC-NOI, PIN 888888


@pytest.fixture
def province():
    with province_at_start(AMOX500="amoxicillin-500-cap") as traveller:
        yield traveller


@pytest.fixture
def listener():
    with province_listener() as server:
        yield server


def xuan_known_at_bvdkt_with_her_cccd_and_allergy() -> Patient:
    pid = h.pid(XUAN, "Tạ", "Xuân", "Thị", birth="19530119", sex="F", cccd=CCCD)
    allergy = h.al1(1, "penicillins", "Penicillin", "SV", "Sốc phản vệ")
    assert inbox_send(h.adt("A08", "M0001", START, pid, "", allergy)) == ("AA", "")
    return patient_by_mrn(hospital_id=hospital("BVDKT").pk, mrn=XUAN)


def bai_chay_admits(control_id: str, *, birth: str = "19530119", sex: str = "F") -> tuple:
    pid = h.pid(
        XUAN_AT_BC, "Tạ", "Xuân", "Thị", birth=birth, sex=sex, cccd=CCCD, facility="BAICHAY"
    )
    message = h.adt(
        "A01", control_id, START, pid, h.pv1("BC-NOI", "", "VBC-0900"), facility="BAICHAY"
    )
    return inbox_send(message)


# ------------------------------------------------------------------ the same number, two people


def test_the_same_mrn_at_two_hospitals_is_two_people_each_his_changing_its_own(province):
    # given Bãi Cháy's HIS admits someone under BVDKT's number for Nguyễn Văn An
    pid = h.pid("BN2026000101", "Đinh", "Khoa", "Văn", birth="19900101", facility="BAICHAY")
    admit = h.adt("A01", "M0010", START, pid, h.pv1("BC-NOI", "", "VBC-0101"), facility="BAICHAY")

    # when
    admitted = inbox_send(admit)
    renamed = inbox_send(h.adt("A08", "M0011", START, h.pid("BN2026000101", "Nguyễn", "Ân", "Văn")))

    # then two people; each HIS changed its own
    assert admitted == ("AA", "") and renamed == ("AA", "")
    at_bvdkt = patient_by_mrn(hospital_id=hospital("BVDKT").pk, mrn="BN2026000101")
    at_bvbc = patient_by_mrn(hospital_id=hospital("BVBC").pk, mrn="BN2026000101")
    assert at_bvdkt.pk != at_bvbc.pk
    assert (at_bvdkt.full_name, at_bvbc.full_name) == ("Nguyễn Văn Ân", "Đinh Văn Khoa")
    assert at_bvdkt.allergies.filter(allergen_code="penicillins").exists()
    assert not at_bvbc.allergies.exists()


# ------------------------------------------------------------------ one person, two numbers


def test_bai_chay_admitting_a_person_known_at_bvdkt_by_her_cccd_keeps_one_record(province):
    # given
    xuan = xuan_known_at_bvdkt_with_her_cccd_and_allergy()

    # when Bãi Cháy's HIS admits her under its own number
    code, text = bai_chay_admits("M0020")

    # then one person with two numbers, registered by BVDKT; the admission carries Bãi Cháy's
    assert (code, text) == ("AA", "")
    assert Patient.objects.filter(national_id=CCCD).count() == 1
    assert dict(xuan.numbers.values_list("hospital__code", "mrn")) == {
        "BVDKT": XUAN,
        "BVBC": XUAN_AT_BC,
    }
    admission = Admission.objects.get(visit_number="VBC-0900")
    assert (admission.patient_id, admission.mrn) == (xuan.pk, XUAN_AT_BC)
    xuan.refresh_from_db()
    assert (xuan.mrn, xuan.hospital.code) == (XUAN, "BVDKT")


def test_the_allergy_recorded_at_bvdkt_flags_bai_chays_order_on_its_cart(province):
    # given Xuân, allergic to penicillins at BVDKT, admitted at Bãi Cháy with an amoxicillin order
    xuan_known_at_bvdkt_with_her_cccd_and_allergy()
    assert bai_chay_admits("M0030") == ("AA", "")
    order = h.order_group("NW", "YLBC-1", at=START, drug="AMOX500", amount="500", times="0800")
    pid = h.pid(XUAN_AT_BC, "Tạ", "Xuân", "Thị", birth="19530119", sex="F", facility="BAICHAY")
    rde = h.rde("M0031", START, pid, h.pv1("BC-NOI", "", "VBC-0900"), order, facility="BAICHAY")
    assert inbox_send(rde) == ("AA", "")

    # when Bãi Cháy's nurse opens her MAR at the cart by Bãi Cháy's number
    with time_machine.travel(START, tick=False):
        nurse = badge_client(HA_BADGE, "888888", ward="BC-NOI")
        mar = nurse.get(f"/api/v1/patients/{XUAN_AT_BC}/mar/").json()

    # then she is shown by Bãi Cháy's number, and the order is flagged by BVDKT's allergy
    assert mar["patient"]["mrn"] == XUAN_AT_BC
    [flagged] = [o for o in mar["orders"] if o["allergies"]]
    assert flagged["medication"] == "Amoxicillin 500 mg viên nang"


def test_a_cccd_with_another_birth_date_is_an_identity_conflict_and_nothing_is_written(province):
    # given
    xuan = xuan_known_at_bvdkt_with_her_cccd_and_allergy()
    patients = Patient.objects.count()

    # when Bãi Cháy's HIS sends her CCCD with another date of birth
    code, text = bai_chay_admits("M0040", birth="19530911")

    # then the work queue holds it, answered AE with an ERR; nothing written
    assert code == "AE"
    assert "national ID" in text
    row = InboundMessage.objects.get(control_id="M0040")
    assert row.state == InboundState.FAILED
    assert row.problem_code.startswith("IDENTITY_CONFLICT")
    assert Patient.objects.count() == patients
    assert not PatientNumber.objects.filter(mrn=XUAN_AT_BC).exists()
    assert not Admission.objects.filter(visit_number="VBC-0900").exists()
    assert list(xuan.numbers.values_list("mrn", flat=True)) == [XUAN]


def test_a_bundle_with_a_known_cccd_and_another_sex_is_a_422_identity_conflict(province):
    # given
    xuan_known_at_bvdkt_with_her_cccd_and_allergy()
    patient = copy.deepcopy(b.patient(name="Tạ Thị Xuân", birth="1953-01-19"))
    patient["gender"] = "male"
    patient["identifier"].append({"system": f"{b.SID}/national-id", "value": CCCD})
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": b.PATIENT_URL,
                "resource": patient,
                "request": {"method": "POST", "url": "Patient"},
            }
        ],
    }

    # when
    response = post(bundle, bearer("BVBC", "system/*.write"))

    # then
    assert response.status_code == 422, response.content
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["details"]["coding"][0]["code"] == "IDENTITY_CONFLICT"
    assert not PatientNumber.objects.filter(mrn=b.MRN).exists()


# ------------------------------------------------------------------ out: the record's hospital's number


@pytest.fixture
def destination(province):
    return Destination.objects.create(name="HIS", host="127.0.0.1", port=2575)


def test_bai_chays_record_goes_out_with_bai_chays_number_under_its_name(destination):
    # given Xuân, BVDKT's patient, given a dose at Bãi Cháy
    xuan_known_at_bvdkt_with_her_cccd_and_allergy()
    assert bai_chay_admits("M0050") == ("AA", "")
    admission = Admission.objects.get(visit_number="VBC-0900")
    record = AdministrationFactory(order=OrderFactory(admission=admission))

    # when
    outbox_enqueue_administration(administration=record)
    message = hl7.parse(_render(OutboundMessage.objects.get()).strip())

    # then PID-3 is Bãi Cháy's MRN, assigned by Bãi Cháy
    pid_3 = message.segment("PID")[3][0]
    assert (str(pid_3[0]), str(pid_3[3])) == (XUAN_AT_BC, "BAICHAY")
    assert str(message.segment("MSH")[4]) == "BAICHAY"


def test_the_fhir_encounter_at_bai_chay_names_her_by_bai_chays_number(province):
    xuan_known_at_bvdkt_with_her_cccd_and_allergy()
    assert bai_chay_admits("M0060") == ("AA", "")
    admission = Admission.objects.get(visit_number="VBC-0900")
    token = bearer("BVBC", "system/Encounter.read system/Patient.read")

    response = Client().get(
        f"/api/v1/fhir/Encounter/{admission.external_id}?fhirVersion=5.0",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )

    assert response.status_code == 200, response.content
    assert response.json()["subject"]["identifier"]["value"] == XUAN_AT_BC


# ------------------------------------------------------------------ lookups name their hospital


def province_reader() -> str:
    account, secret = service_account_create(
        name="his-province-reader",
        scopes=["system/MedicationAdministration.read", "system/Patient.read"],
        by=User.objects.get(username="quantri"),
        hospitals=list(Hospital.objects.filter(code__in=["BVDKT", "BVBC"])),
    )
    basic = base64.b64encode(f"{account.client_id}:{secret}".encode()).decode()
    answer = Client().post(
        "/oauth/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}"
    )
    assert answer.status_code == 200, answer.content
    return answer.json()["access_token"]


def test_the_cart_at_bvdkt_never_finds_bai_chays_patient_with_the_same_number(province):
    # given Bãi Cháy's patient Hải, and nobody with his number at BVDKT
    hai = "BC2026000001"

    # when BVDKT's pharmacist (who reads every ward of BVDKT) asks a cart for that number
    with time_machine.travel(START, tick=False):
        tuan = badge_client("8017" + gs1.make_gsrn("95200020000000015"), "555555", ward="")
        answer = tuan.get(f"/api/v1/patients/{hai}/mar/")

    # then nobody: not found, rather than "another hospital's patient"
    assert answer.status_code == 404


def test_the_cart_finds_its_own_hospitals_patient_when_another_has_the_same_number(province):
    # given Bãi Cháy's HIS gives BVDKT's Nguyễn Văn An's number to someone of its own
    pid = h.pid("BN2026000101", "Đinh", "Khoa", "Văn", birth="19900101", facility="BAICHAY")
    admit = h.adt("A01", "M0070", START, pid, h.pv1("BC-NOI", "", "VBC-0101"), facility="BAICHAY")
    assert inbox_send(admit) == ("AA", "")

    # when each hospital's nurse opens that number's MAR
    with time_machine.travel(START, tick=False):
        hoa = badge_client("8017" + gs1.make_gsrn("95200020000000011"), "111111")
        ha = badge_client(HA_BADGE, "888888", ward="BC-NOI")
        at_bvdkt = hoa.get("/api/v1/patients/BN2026000101/mar/").json()
        at_bvbc = ha.get("/api/v1/patients/BN2026000101/mar/").json()

    # then each sees her own hospital's patient
    assert at_bvdkt["patient"]["full_name"] == "Nguyễn Văn An"
    assert at_bvbc["patient"]["full_name"] == "Đinh Văn Khoa"


def test_a_fhir_search_by_mrn_from_two_hospitals_asks_which_hospital(province):
    # given the number BN2026000101 at both hospitals
    pid = h.pid("BN2026000101", "Đinh", "Khoa", "Văn", birth="19900101", facility="BAICHAY")
    admit = h.adt("A01", "M0080", START, pid, h.pv1("BC-NOI", "", "VBC-0101"), facility="BAICHAY")
    assert inbox_send(admit) == ("AA", "")
    token = province_reader()

    def search(system: str):
        return Client().get(
            "/api/v1/fhir/MedicationAdministration",
            {"patient.identifier": f"{system}|BN2026000101"},
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )

    # when / then: the province's system is ambiguous, the hospital's is not
    assert search(f"{b.SID}/mrn").status_code == 400
    assert search(f"{b.SID}/mrn/BAICHAY").status_code == 200


# ------------------------------------------------------------------ over MLLP


@pytest.mark.django_db(transaction=True)
def test_over_mllp_each_his_numbers_its_own_and_a_cccd_links_or_conflicts(listener):
    # given BVDKT knows Xuân by her CCCD; Bãi Cháy's HIS will send three people
    xuan = h.pid(XUAN, "Tạ", "Xuân", "Thị", birth="19530119", sex="F", cccd=CCCD)
    same_number = h.pid("BN2026000101", "Đinh", "Khoa", "Văn", birth="19900101", facility="BAICHAY")
    her_at_bc = h.pid(
        XUAN_AT_BC, "Tạ", "Xuân", "Thị", birth="19530119", sex="F", cccd=CCCD, facility="BAICHAY"
    )
    not_her = h.pid(
        "BC2026000901",
        "Tạ",
        "Xuân",
        "Thị",
        birth="19530911",
        sex="F",
        cccd=CCCD,
        facility="BAICHAY",
    )

    # when
    answers = mllp_send(
        listener,
        h.adt("A08", "L0001", START, xuan),
        h.adt("A08", "L0002", START, same_number, facility="BAICHAY"),
        h.adt("A08", "L0003", START, her_at_bc, facility="BAICHAY"),
        h.adt("A08", "L0004", START, not_her, facility="BAICHAY"),
    )

    # then
    assert answers[:3] == [("AA", "")] * 3
    assert answers[3][0] == "AE" and "national ID" in answers[3][1]
    bvdkt, bvbc = hospital("BVDKT").pk, hospital("BVBC").pk
    assert patient_by_mrn(hospital_id=bvbc, mrn="BN2026000101").full_name == "Đinh Văn Khoa"
    assert patient_by_mrn(hospital_id=bvdkt, mrn="BN2026000101").full_name == "Nguyễn Văn An"
    assert patient_by_mrn(hospital_id=bvbc, mrn=XUAN_AT_BC) == patient_by_mrn(
        hospital_id=bvdkt, mrn=XUAN
    )
    assert patient_by_mrn(hospital_id=bvbc, mrn="BC2026000901") is None
    assert InboundMessage.objects.get(control_id="L0004").problem_code.startswith(
        "IDENTITY_CONFLICT"
    )
