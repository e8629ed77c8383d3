"""HIS code mappings by hospital: each hospital's HIS has its own codes. A mapping of a hospital
reads the messages of that hospital's sender (MSH-4), one without a hospital is the province's
default, and the hospital's own wins. Sent over real MLLP sockets on 127.0.0.1 where a message
goes in; the pharmacy site shows a pharmacist her hospitals' mappings and the defaults, which a
superuser alone changes.

The demo province: BVDKT (MSH-4 "HOSPITAL", wards NOI and NGOAI) and BVBC Bãi Cháy (MSH-4
"BAICHAY", ward BC-NOI, patient BC2026000001 admitted there)."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from hospital.models import User
from interop.fhir import R5
from interop.inbound import his_day as h
from interop.models import CodeMapKind, InboundCodeMap, InboundMessage
from pharmacy.models import Medication, MedicationOrder
from tests.constraints import assert_refused_twice
from tests.interop import fhir_bundles as b
from tests.interop.province import (
    HAI,
    START,
    bearer,
    hospital,
    mllp_send,
    post,
    province_at_start,
    province_listener,
)
from wards.models import Admission, Patient, Ward

pytestmark = pytest.mark.django_db

ADD = "/pharmacy/interop/inboundcodemap/add/"


def drug_map(his_code: str, medication: str, hospital_code: str | None) -> InboundCodeMap:
    return InboundCodeMap.objects.create(
        kind=CodeMapKind.MEDICATION,
        his_code=his_code,
        medication=Medication.objects.get(code=medication),
        hospital=hospital(hospital_code) if hospital_code else None,
    )


def ward_map(his_code: str, ward: str, hospital_code: str | None) -> InboundCodeMap:
    return InboundCodeMap.objects.create(
        kind=CodeMapKind.WARD,
        his_code=his_code,
        ward=Ward.objects.get(code=ward),
        hospital=hospital(hospital_code) if hospital_code else None,
    )


@pytest.fixture
def province():
    with province_at_start():
        yield


# ------------------------------------------------------------------ over MLLP


@pytest.fixture
def listener():
    with province_listener() as server:
        yield server


def bvdkt_order(control_id: str, mrn: str, placer: str, drug: str) -> list[str]:
    """An admission to NOI and an order for it, from BVDKT's HIS."""
    patient = h.pid(mrn, "Phạm", "Minh", "Đức")
    visit = h.pv1("NOI", "", f"VV{control_id}")
    group = h.order_group("NW", placer, at=START, drug=drug, amount="500", times="0800")
    return [
        h.adt("A01", f"{control_id}A", START, patient, visit),
        h.rde(f"{control_id}O", START, patient, visit, group),
    ]


def baichay_order(control_id: str, placer: str, drug: str) -> str:
    """An order for Bãi Cháy's patient Hải, from Bãi Cháy's HIS."""
    group = h.order_group("NW", placer, at=START, drug=drug, amount="500", times="0800")
    patient = h.pid(HAI, "Lương", "Hải", "Văn", facility="BAICHAY")
    return h.rde(control_id, START, patient, h.pv1("BC-NOI", "", ""), group, facility="BAICHAY")


def ordered(placer: str) -> str:
    return MedicationOrder.objects.get(placer_order_number=placer).medication.code


@pytest.mark.django_db(transaction=True)
def test_one_his_code_is_each_hospitals_own_item(listener):
    # given: both HIS send TT50, which each hospital maps to its own item, over a default
    drug_map("TT50", "paracetamol-500-tab", "BVDKT")
    drug_map("TT50", "ibuprofen-400-tab", "BVBC")
    drug_map("TT50", "omeprazole-20-cap", None)

    # when
    answers = mllp_send(
        listener,
        *bvdkt_order("M0001", "BN2026005001", "YL5001", "TT50"),
        baichay_order("M0002", "YL5002", "TT50"),
    )

    # then: each message reads its own hospital's mapping
    assert answers == [("AA", "")] * 3
    assert ordered("YL5001") == "paracetamol-500-tab"
    assert ordered("YL5002") == "ibuprofen-400-tab"


@pytest.mark.django_db(transaction=True)
def test_a_code_a_hospital_has_not_mapped_reads_the_default_never_another_hospitals(listener):
    # given: TT51 mapped for BVDKT and by default; TT52 mapped for BVDKT only
    drug_map("TT51", "paracetamol-500-tab", "BVDKT")
    drug_map("TT51", "omeprazole-20-cap", None)
    drug_map("TT52", "paracetamol-500-tab", "BVDKT")

    # when: Bãi Cháy's HIS sends both
    answers = mllp_send(
        listener, baichay_order("M0003", "YL5003", "TT51"), baichay_order("M0004", "YL5004", "TT52")
    )

    # then: the default for TT51; TT52 is unmapped at Bãi Cháy, and nothing is written
    assert answers[0] == ("AA", "")
    assert ordered("YL5003") == "omeprazole-20-cap"
    assert answers[1][0] == "AE" and "TT52" in answers[1][1]
    assert InboundMessage.objects.get(control_id="M0004").problem_code.startswith("DRUG_UNMAPPED")
    assert not MedicationOrder.objects.filter(placer_order_number="YL5004").exists()


@pytest.mark.django_db(transaction=True)
def test_another_hospitals_ward_map_is_refused(listener):
    # given: BVDKT maps its HIS ward K01 to NOI; a Bãi Cháy row maps K02 to NOI (written past
    # the form's validation)
    ward_map("K01", "NOI", "BVDKT")
    ward_map("K02", "NOI", "BVBC")

    def admit(control_id: str, mrn: str, ward: str, facility: str) -> str:
        patient = h.pid(mrn, "Phạm", "Minh", "Đức", facility=facility)
        return h.adt("A01", control_id, START, patient, h.pv1(ward, "", ""), facility=facility)

    # when
    answers = mllp_send(
        listener,
        admit("M0005", "BN2026005005", "K01", "BAICHAY"),
        admit("M0006", "BN2026005006", "K02", "BAICHAY"),
        admit("M0007", "BN2026005007", "K01", "HOSPITAL"),
    )

    # then: Bãi Cháy's HIS reads none of BVDKT's mappings, and its own cannot place a patient
    # on BVDKT's ward; BVDKT's own message is admitted to NOI
    assert [code for code, _text in answers] == ["AE", "AE", "AA"]
    problems = dict(InboundMessage.objects.values_list("control_id", "problem_code"))
    assert problems["M0005"].startswith("WARD_UNKNOWN")
    assert problems["M0006"].startswith("WARD_OTHER_HOSPITAL")
    assert not Patient.objects.filter(mrn__in=["BN2026005005", "BN2026005006"]).exists()
    assert Admission.objects.get(patient__mrn="BN2026005007").ward.code == "NOI"


def test_a_service_account_of_one_hospital_reads_its_hospitals_codes(province):
    # given: Bãi Cháy maps TT07 its own way; TT01 has the default only
    drug_map("TT01", "paracetamol-500-tab", None)
    drug_map("TT07", "tramadol-50-cap", None)
    drug_map("TT07", "ibuprofen-400-tab", "BVBC")
    bundle = b.transaction(R5)
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "Encounter":
            entry["resource"] = b.encounter(R5, ward="BC-NOI", bed="")

    # when: Bãi Cháy's system sends the bundle
    response = post(bundle, bearer("BVBC", "system/*.write"))

    # then
    assert response.status_code == 200, response.content
    assert ordered("YL2026-0777-1") == "paracetamol-500-tab"
    assert ordered("YL2026-0777-2") == "ibuprofen-400-tab"


# ------------------------------------------------------------------ constraints


def test_two_province_defaults_of_one_code_are_refused(province):
    drug_map("TT60", "paracetamol-500-tab", None)

    assert_refused_twice(
        InboundCodeMap(
            kind=CodeMapKind.MEDICATION,
            his_code="TT60",
            medication=Medication.objects.get(code="omeprazole-20-cap"),
        )
    )


def test_two_mappings_of_one_code_in_one_hospital_are_refused(province):
    drug_map("TT61", "paracetamol-500-tab", "BVBC")

    assert_refused_twice(
        InboundCodeMap(
            kind=CodeMapKind.MEDICATION,
            his_code="TT61",
            medication=Medication.objects.get(code="omeprazole-20-cap"),
            hospital=hospital("BVBC"),
        )
    )


def test_each_hospital_and_the_province_may_map_one_code(province):
    for hospital_code in ("BVDKT", "BVBC", None):
        row = InboundCodeMap(
            kind=CodeMapKind.MEDICATION,
            his_code="TT62",
            medication=Medication.objects.get(code="paracetamol-500-tab"),
            hospital=hospital(hospital_code) if hospital_code else None,
        )
        row.full_clean()
        row.save()

    assert InboundCodeMap.objects.filter(his_code="TT62").count() == 3


def test_a_hospitals_ward_map_names_a_ward_of_that_hospital(province):
    row = InboundCodeMap(kind=CodeMapKind.WARD, his_code="K03", ward=Ward.objects.get(code="NOI"))
    row.hospital = hospital("BVBC")

    with pytest.raises(ValidationError) as refused:
        row.full_clean()

    assert "ward" in refused.value.message_dict
    row.hospital = hospital("BVDKT")
    row.full_clean()


# ------------------------------------------------------------------ the pharmacy site


def site(username: str) -> Client:
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def test_a_pharmacist_reads_her_hospitals_mappings_and_the_defaults(province):
    drug_map("TT70", "paracetamol-500-tab", "BVDKT")
    drug_map("TT71", "ibuprofen-400-tab", "BVBC")
    drug_map("TT72", "omeprazole-20-cap", None)

    page = site("duocsi.linh").get("/pharmacy/interop/inboundcodemap/")

    shown = {row.his_code for row in page.context_data["cl"].queryset}
    assert shown == {"TT71", "TT72"}


def test_only_a_superuser_changes_a_province_default(province):
    default = drug_map("TT73", "paracetamol-500-tab", None)
    url = f"/pharmacy/interop/inboundcodemap/{default.pk}/change/"
    data = {
        "kind": CodeMapKind.MEDICATION,
        "his_code": "TT73",
        "his_name": "",
        "medication": Medication.objects.get(code="omeprazole-20-cap").pk,
        "allergen_code": "",
        "ward": "",
        "hospital": "",
    }

    refused = site("duocsi.tuan").post(url, data)
    root = Client()
    root.force_login(User.objects.create_superuser("tinh.it", password="x" * 12))
    saved = root.post(url, data)

    assert refused.status_code == 403
    assert saved.status_code == 302, saved.content[:2000]
    default.refresh_from_db()
    assert default.medication.code == "omeprazole-20-cap"


def test_a_pharmacist_maps_codes_for_her_hospital_only(province):
    data = {
        "kind": CodeMapKind.MEDICATION,
        "his_code": "TT74",
        "his_name": "Paracetamol 500",
        "medication": Medication.objects.get(code="paracetamol-500-tab").pk,
        "allergen_code": "",
        "ward": "",
    }
    tuan = site("duocsi.tuan")  # BVDKT

    province_wide = tuan.post(ADD, {**data, "hospital": ""})
    theirs = tuan.post(ADD, {**data, "hospital": hospital("BVBC").pk})
    hers = tuan.post(ADD, {**data, "hospital": hospital("BVDKT").pk})

    assert (
        province_wide.status_code == 200
        and "hospital" in province_wide.context_data["adminform"].form.errors
    )
    assert theirs.status_code == 200 and "hospital" in theirs.context_data["adminform"].form.errors
    assert hers.status_code == 302, hers.content[:2000]
    assert list(InboundCodeMap.objects.filter(his_code="TT74").values_list("hospital__code")) == [
        ("BVDKT",)
    ]


def test_the_form_refuses_a_ward_of_another_hospital_in_vietnamese(province):
    root = Client()
    root.force_login(User.objects.create_superuser("tinh.it", password="x" * 12))

    response = root.post(
        ADD,
        {
            "kind": CodeMapKind.WARD,
            "his_code": "K04",
            "his_name": "",
            "medication": "",
            "allergen_code": "",
            "ward": Ward.objects.get(code="NOI").pk,
            "hospital": hospital("BVBC").pk,
        },
        HTTP_ACCEPT_LANGUAGE="vi",
    )

    assert response.status_code == 200
    assert response.context_data["adminform"].form.errors["ward"] == [
        "Hãy chọn một khoa thuộc bệnh viện đã chọn cho ánh xạ này."
    ]
    assert not InboundCodeMap.objects.filter(his_code="K04").exists()
