"""Issue 19, interop by hospital: an HL7 message is applied for the hospital of its sending
facility (MSH-4) and nowhere else, a FHIR service account writes and reads only in the hospitals
it works in, and what we send about a record names the record's hospital as the facility.

The demo province: BVDKT (MSH-4 "HOSPITAL", wards NOI and NGOAI) and BVBC Bãi Cháy (MSH-4
"BAICHAY", ward BC-NOI, patients BC2026000001 and BC2026000002 admitted there)."""

import copy

import hl7
import pytest
from django.test import Client

from backoffice.tenancy import patients_of_my_hospitals
from hospital.models import Hospital, User
from interop.fhir import R5
from interop.inbound import his_day as h
from interop.inbound.inbox import inbox_reprocess
from interop.models import (
    CodeMapKind,
    Destination,
    FhirTransaction,
    InboundCodeMap,
    InboundMessage,
    InboundState,
    OutboundMessage,
)
from interop.services import outbox_enqueue_administration
from interop.worker import _render
from pharmacy.models import Medication, MedicationOrder
from scanning.models import Administration
from tests.factories import AdministrationFactory, AdmissionFactory, OrderFactory, PatientFactory
from tests.interop import fhir_bundles as b
from tests.interop import fhir_validator
from tests.interop.province import (
    HAI,
    START,
    bearer,
    inbox_send,
    issue,
    post,
    province_at_start,
    two_hospital_bearer,
)
from wards.models import Admission, Patient, PatientNumber, Ward

pytestmark = pytest.mark.django_db


@pytest.fixture
def province():
    with province_at_start(TT01="paracetamol-500-tab") as traveller:
        yield traveller


def admit(control_id: str, mrn: str, ward: str, *, facility: str, visit: str = "") -> str:
    patient = h.pid(mrn, "Phạm", "Minh", "Đức", facility=facility)
    return h.adt("A01", control_id, START, patient, h.pv1(ward, "", visit), facility=facility)


# ------------------------------------------------------------------ HL7 in: MSH-4 routes


def test_a_message_from_an_unknown_facility_is_refused_and_kept(province):
    # when
    code, text = inbox_send(admit("X0001", "BN2026009001", "NOI", facility="NOWHERE"))

    # then
    assert code == "AE"
    assert "NOWHERE" in text and "MSH-4" in text
    row = InboundMessage.objects.get(control_id="X0001")
    assert row.state == InboundState.FAILED
    assert row.problem_code.startswith("FACILITY_UNKNOWN")
    assert row.hospital is None
    assert not Patient.objects.filter(mrn="BN2026009001").exists()


def test_a_message_refused_for_its_facility_applies_once_the_hospital_exists(province):
    # given a message from a hospital not yet set up
    inbox_send(admit("X0002", "BN2026009002", "NOI", facility="BVMOI"))
    # when the province adds it (its ward NOI is BVDKT's: that hospital takes MSH-4 BVMOI)
    Hospital.objects.filter(code="BVDKT").update(hl7_facility="BVMOI")
    inbox_reprocess(messages=InboundMessage.objects.all(), by=User.objects.get(username="quantri"))

    # then
    row = InboundMessage.objects.get(control_id="X0002")
    assert row.state == InboundState.APPLIED
    assert row.hospital.code == "BVDKT"


def test_a_message_from_a_known_facility_records_its_hospital(province):
    code, _text = inbox_send(admit("X0003", "BN2026009003", "BC-NOI", facility="BAICHAY"))

    assert code == "AA"
    row = InboundMessage.objects.get(control_id="X0003")
    assert row.hospital.code == "BVBC"
    assert Admission.objects.get(patient__mrn="BN2026009003").ward.code == "BC-NOI"


def test_an_admission_from_baichay_to_a_bvdkt_ward_is_refused(province):
    # when Bãi Cháy's HIS admits to NOI, a ward of BVDKT
    code, text = inbox_send(admit("X0004", "BN2026009004", "NOI", facility="BAICHAY"))

    # then nothing is written
    assert code == "AE"
    assert "NOI" in text and "BAICHAY" in text
    assert InboundMessage.objects.get(control_id="X0004").problem_code.startswith(
        "WARD_OTHER_HOSPITAL"
    )
    assert not Patient.objects.filter(mrn="BN2026009004").exists()


def test_a_transfer_to_another_hospitals_ward_is_refused(province):
    patient = h.pid(HAI, "Lương", "Hải", "Văn", facility="BAICHAY")
    message = h.adt("A02", "X0005", START, patient, h.pv1("NOI", "", ""), facility="BAICHAY")

    code, text = inbox_send(message)

    assert code == "AE"
    assert "NOI" in text
    assert Admission.objects.get(patient__mrn=HAI, discharged_at__isnull=True).ward.code == "BC-NOI"


def test_a_ward_code_mapped_to_another_hospitals_ward_is_refused(province):
    # given Bãi Cháy's HIS code K01 mapped (wrongly) to BVDKT's NOI
    InboundCodeMap.objects.create(
        kind=CodeMapKind.WARD, his_code="K01", ward=Ward.objects.get(code="NOI")
    )

    code, text = inbox_send(admit("X0006", "BN2026009006", "K01", facility="BAICHAY"))

    assert code == "AE"
    assert "NOI" in text
    assert not Patient.objects.filter(mrn="BN2026009006").exists()


def test_an_order_from_hospital_under_a_baichay_number_never_reaches_baichays_patient(province):
    # given BVDKT's HIS (MSH-4 HOSPITAL) sends an order under Bãi Cháy's patient's number
    group = h.order_group(
        "NW", "YL9001", at=START, drug="TT01", amount="1000", unit="mg", times="0800"
    )
    patient = h.pid(HAI, "Lương", "Hải", "Văn")
    message = h.rde("X0007", START, patient, h.pv1("BC-NOI", "", ""), group)

    # when
    inbox_send(message)

    # then the number is BVDKT's, and nobody there has it yet: it waits; Hải has no such order
    row = InboundMessage.objects.get(control_id="X0007")
    assert (row.state, row.problem_code) == (InboundState.WAITING, "PATIENT_UNKNOWN:204")
    assert not MedicationOrder.objects.filter(placer_order_number="YL9001").exists()


def test_an_update_from_hospital_for_a_person_admitted_at_baichay_is_refused(province):
    # given Hải, admitted at Bãi Cháy, known at BVDKT too by his CCCD under its number
    hai = Patient.objects.get(mrn=HAI)
    Patient.objects.filter(pk=hai.pk).update(national_id="022067000001")
    PatientNumber.objects.create(
        hospital=Hospital.objects.get(code="BVDKT"), mrn="BN2026009011", patient=hai
    )

    # when BVDKT's HIS renames him
    code, text = inbox_send(
        h.adt("A08", "X0008", START, h.pid("BN2026009011", "Nguyễn", "Sai", "Văn"))
    )

    # then
    assert code == "AE"
    assert "admitted in another hospital" in text
    assert Patient.objects.get(pk=hai.pk).full_name == "Lương Văn Hải"


def test_an_update_from_hospital_under_a_baichay_number_is_another_person(province):
    patient = h.pid(HAI, "Nguyễn", "Khác", "Văn")

    code, _text = inbox_send(h.adt("A08", "X0008", START, patient))

    assert code == "AA"
    assert Patient.objects.get(mrn=HAI, hospital__code="BVBC").full_name == "Lương Văn Hải"
    assert Patient.objects.get(mrn=HAI, hospital__code="BVDKT").full_name == "Nguyễn Văn Khác"


def test_an_order_from_baichay_for_its_own_patient_applies(province):
    group = h.order_group(
        "NW", "YL9002", at=START, drug="TT01", amount="1000", unit="mg", times="0800"
    )
    patient = h.pid(HAI, "Lương", "Hải", "Văn", facility="BAICHAY")
    message = h.rde("X0009", START, patient, h.pv1("BC-NOI", "", ""), group, facility="BAICHAY")

    code, text = inbox_send(message)

    assert (code, text) == ("AA", "")
    order = MedicationOrder.objects.get(placer_order_number="YL9002")
    assert order.admission.ward.code == "BC-NOI"


def test_a_merge_from_hospital_never_takes_baichays_patient_with_the_number(province):
    # given BVDKT's HIS merges Bãi Cháy's admitted patient into one of its own records
    inbox_send(admit("X0010", "BN2026009010", "NOI", facility="HOSPITAL"))
    merge = "\r".join(
        [
            h.msh("ADT^A40", "X0011", START),
            f"EVN|A40|{h.ts(START)}",
            h.pid("BN2026009010", "Phạm", "Minh", "Đức"),
            f"MRG|{HAI}^^^HOSPITAL^MR",
        ]
    )

    # when
    inbox_send(merge)

    # then MRG-1 is BVDKT's number, which is nobody's there
    assert "not known here" in InboundMessage.objects.get(control_id="X0011").outcome
    assert Patient.objects.get(mrn=HAI).merged_into is None


# ------------------------------------------------------------------ FHIR in


def nothing_written():
    assert not Patient.objects.filter(mrn=b.MRN).exists()
    assert not Admission.objects.filter(visit_number=b.VISIT).exists()
    assert not MedicationOrder.objects.filter(
        placer_order_number__startswith="YL2026-0777"
    ).exists()
    assert not FhirTransaction.objects.exists()


def test_a_bundle_from_a_bvdkt_account_for_bc_noi_is_refused_and_nothing_written(province):
    # given a bundle that admits to Bãi Cháy's ward, from an account of BVDKT
    InboundCodeMap.objects.create(
        kind=CodeMapKind.MEDICATION,
        his_code="TT07",
        medication=Medication.objects.get(code="tramadol-50-cap"),
    )
    bundle = b.transaction(R5)
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "Encounter":
            entry["resource"] = b.encounter(R5, ward="BC-NOI", bed="")
    token = bearer("BVDKT", "system/*.write")

    # when
    response = post(bundle, token)

    # then
    assert response.status_code == 422, response.content
    code, text = issue(response)
    assert code == "WARD_OTHER_HOSPITAL"
    assert "BC-NOI" in text
    nothing_written()


def test_the_same_bundle_to_its_own_ward_applies(province):
    InboundCodeMap.objects.create(
        kind=CodeMapKind.MEDICATION,
        his_code="TT07",
        medication=Medication.objects.get(code="tramadol-50-cap"),
    )
    response = post(b.transaction(R5), bearer("BVDKT", "system/*.write"))

    assert response.status_code == 200, response.content
    assert Admission.objects.get(visit_number=b.VISIT).ward.code == "NOI"


def test_a_bundle_from_a_bvdkt_account_never_updates_baichays_patient(province):
    # given a conditional update under Bãi Cháy's patient Hải's number
    patient = copy.deepcopy(b.patient(name="Nguyễn Văn Sai"))
    patient["identifier"][0]["value"] = HAI
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": b.PATIENT_URL,
                "resource": patient,
                "request": {"method": "PUT", "url": f"Patient?identifier={b.SID}/mrn|{HAI}"},
            }
        ],
    }

    response = post(bundle, bearer("BVDKT", "system/*.write"))

    # then the identifier is BVDKT's number: another person, registered there
    assert response.status_code == 200, response.content
    assert Patient.objects.get(mrn=HAI, hospital__code="BVBC").full_name == "Lương Văn Hải"
    assert Patient.objects.get(mrn=HAI, hospital__code="BVDKT").full_name == "Nguyễn Văn Sai"


# ------------------------------------------------------------------ FHIR search and read


@pytest.fixture
def records(province):
    """One record in each hospital, and a patient with a record in each (discharged from BVDKT,
    now on BC-NOI)."""
    noi, bc_noi = Ward.objects.get(code="NOI"), Ward.objects.get(code="BC-NOI")
    mover = PatientFactory(mrn="BN2026009100", hospital=noi.hospital)
    PatientNumber.objects.create(hospital=bc_noi.hospital, mrn="BC2026009100", patient=mover)
    earlier = AdmissionFactory(patient=mover, ward=noi, discharged_at=START)
    now = AdmissionFactory(patient=mover, ward=bc_noi)
    return {
        "bvdkt": AdministrationFactory(order=OrderFactory(admission=AdmissionFactory(ward=noi))),
        "bvbc": AdministrationFactory(order=OrderFactory(admission=AdmissionFactory(ward=bc_noi))),
        "mover_at_bvdkt": AdministrationFactory(order=OrderFactory(admission=earlier)),
        "mover_at_bvbc": AdministrationFactory(order=OrderFactory(admission=now)),
    }


def search(token: str, **params):
    return Client().get(
        "/api/v1/fhir/MedicationAdministration",
        params,
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


READ = "system/MedicationAdministration.read system/Patient.read"


def found(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {entry["resource"]["id"] for entry in response.json().get("entry", [])}


def test_a_bvdkt_account_finds_no_baichay_record_by_id(records):
    token = bearer("BVDKT", READ)
    ids = [str(records[k].external_id) for k in ("bvdkt", "bvbc", "mover_at_bvbc")]

    response = search(token, _id=",".join(ids))

    assert found(response) == {str(records["bvdkt"].external_id)}
    assert response.json()["total"] == 1


def test_a_bvdkt_account_cannot_search_or_read_a_baichay_patient(records):
    token = bearer("BVDKT", READ)
    bvbc = records["bvbc"]

    by_mrn = search(token, **{"patient.identifier": bvbc.patient.mrn})
    by_patient = search(token, patient=f"Patient/{bvbc.patient.external_id}")
    read = Client().get(
        f"/api/v1/fhir/MedicationAdministration/{bvbc.external_id}",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    patient = Client().get(
        f"/api/v1/fhir/Patient/{bvbc.patient.external_id}", HTTP_AUTHORIZATION=f"Bearer {token}"
    )

    # Her number means nobody at BVDKT: an empty answer, as for any unknown number.
    assert by_mrn.status_code == 200 and by_mrn.json()["total"] == 0
    assert [r.status_code for r in (by_patient, read, patient)] == [404, 404, 404]
    for response in (by_mrn, by_patient, read, patient):
        assert "entry" not in response.json()


def test_a_patients_search_leaves_out_the_records_of_the_other_hospital(records):
    # when Bãi Cháy's system searches the patient it now holds, who was at BVDKT before
    mover = records["mover_at_bvbc"].patient
    token = bearer("BVBC", READ)
    response = search(token, patient=f"Patient/{mover.external_id}")
    at_bvbc = records["mover_at_bvbc"].admission.mrn
    total_only = search(token, **{"patient.identifier": at_bvbc, "_count": "0"})

    # then it reads its own record only, and the total counts only that one
    assert found(response) == {str(records["mover_at_bvbc"].external_id)}
    assert response.json()["total"] == 1
    assert total_only.json()["total"] == 1


def test_a_record_of_another_hospital_is_not_read_through_the_patient_admitted_here(records):
    # given Bãi Cháy holds the patient now; the record was made at BVDKT
    earlier = records["mover_at_bvdkt"]
    token = bearer("BVBC", f"{READ} system/Encounter.read system/MedicationRequest.read")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    # when
    read = Client().get(f"/api/v1/fhir/MedicationAdministration/{earlier.external_id}", **auth)
    encounter = Client().get(f"/api/v1/fhir/Encounter/{earlier.admission.external_id}", **auth)
    order = Client().get(f"/api/v1/fhir/MedicationRequest/{earlier.order.external_id}", **auth)
    by_id = search(token, _id=str(earlier.external_id))

    # then
    assert [r.status_code for r in (read, encounter, order)] == [404, 404, 404]
    assert found(by_id) == set()
    assert by_id.json()["total"] == 0


@pytest.mark.parametrize("version", ["4.0", "5.0"])
def test_an_encounter_names_its_hospital_by_gln_and_passes_the_validator(province, version):
    # given Bãi Cháy's system, and Hải admitted on its ward BC-NOI
    admission = Admission.objects.get(patient__mrn=HAI, discharged_at__isnull=True)
    token = bearer("BVBC", "system/Encounter.read")

    # when it reads his encounter
    response = Client().get(
        f"/api/v1/fhir/Encounter/{admission.external_id}?fhirVersion={version}",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )

    # then the service provider is Bãi Cháy, known by its GS1 GLN, and the resource is valid
    assert response.status_code == 200, response.content
    encounter = response.json()
    bai_chay = Hospital.objects.get(code="BVBC")
    assert encounter["serviceProvider"] == {
        "identifier": {"system": "urn:oid:2.51.1.3", "value": bai_chay.gln},
        "display": bai_chay.name,
    }
    assert fhir_validator.errors([encounter], "R4" if version == "4.0" else "R5") == [[]]


# ------------------------------------------------------------------ out


@pytest.fixture
def destination(province):
    return Destination.objects.create(name="HIS", host="127.0.0.1", port=2575)


def test_the_ras_of_a_baichay_record_is_sent_as_baichay(destination):
    # given
    bc_noi = Ward.objects.get(code="BC-NOI")
    record = AdministrationFactory(order=OrderFactory(admission=AdmissionFactory(ward=bc_noi)))
    # when
    outbox_enqueue_administration(administration=record)
    message = hl7.parse(_render(OutboundMessage.objects.get()).strip())

    # then
    assert str(message.segment("MSH")[4]) == "BAICHAY"
    assert str(message.segment("PID")[3][0][3]) == "BAICHAY"


def test_the_ras_of_a_bvdkt_record_is_sent_as_hospital(destination):
    noi = Ward.objects.get(code="NOI")
    record = AdministrationFactory(order=OrderFactory(admission=AdmissionFactory(ward=noi)))
    outbox_enqueue_administration(administration=record)
    message = hl7.parse(_render(OutboundMessage.objects.get()).strip())

    assert str(message.segment("MSH")[4]) == "HOSPITAL"
    assert str(message.segment("PID")[3][0][3]) == "HOSPITAL"


def test_the_hl7_view_of_a_baichay_record_names_baichay(province):
    bc_noi = Ward.objects.get(code="BC-NOI")
    record = AdministrationFactory(order=OrderFactory(admission=AdmissionFactory(ward=bc_noi)))
    client = Client()
    client.force_login(User.objects.get(username="duocsi.linh"))

    response = client.get(f"/api/v1/administrations/{record.external_id}/hl7/")

    assert response.status_code == 200, response.content
    message = hl7.parse(response.content.decode().strip())
    assert str(message.segment("MSH")[4]) == "BAICHAY"


def test_a_pharmacist_is_told_in_vietnamese_that_the_record_is_not_in_her_hospitals(records):
    client = Client()
    client.force_login(User.objects.get(username="duocsi.linh"))  # Bãi Cháy

    response = client.get(
        f"/api/v1/fhir/MedicationAdministration/{records['mover_at_bvdkt'].external_id}"
    )

    assert response.status_code == 404
    assert issue(response) == (
        "PATIENT_NOT_IN_YOUR_HOSPITALS",
        "Không có người bệnh nào mang mã này tại các bệnh viện bạn làm việc.",
    )


def test_a_destination_of_one_hospital_gets_only_that_hospitals_records(province):
    # given a system of BVDKT's, one of Bãi Cháy's, and one for the whole province
    bvdkt = Destination.objects.create(
        name="HIS BVDKT", host="127.0.0.1", port=2575, hospital=Hospital.objects.get(code="BVDKT")
    )
    bvbc = Destination.objects.create(
        name="HIS BVBC", host="127.0.0.1", port=2576, hospital=Hospital.objects.get(code="BVBC")
    )
    province_wide = Destination.objects.create(name="Sở Y tế", host="127.0.0.1", port=2577)
    bc_noi = Ward.objects.get(code="BC-NOI")

    # when a record is made at Bãi Cháy
    record = AdministrationFactory(order=OrderFactory(admission=AdmissionFactory(ward=bc_noi)))
    queued = outbox_enqueue_administration(administration=record)

    # then
    assert {message.destination for message in queued} == {bvbc, province_wide}
    assert not OutboundMessage.objects.filter(destination=bvdkt).exists()


def test_the_destinations_statement_reads_what_the_orm_query_read(province):
    """interop.services._destinations is one hand-written statement: it must pick, in the same
    order and as the same rows, what the queryset it replaced picked."""
    from django.db.models import Q

    from interop.models import MessageType
    from interop.services import _destinations

    bvdkt, bvbc = Hospital.objects.get(code="BVDKT"), Hospital.objects.get(code="BVBC")
    made = [
        Destination.objects.create(name="Sở Y tế", host="127.0.0.1", port=2577),
        Destination.objects.create(name="HIS BVBC", host="127.0.0.1", port=2576, hospital=bvbc),
        Destination.objects.create(name="HIS BVDKT", host="127.0.0.1", port=2575, hospital=bvdkt),
        Destination.objects.create(
            name="Off", host="127.0.0.1", port=2578, hospital=bvbc, enabled=False
        ),
        Destination.objects.create(name="LIS", host="127.0.0.1", port=2579, message_types=[]),
        Destination.objects.create(name="Province off", host="127.0.0.1", port=2580, enabled=False),
    ]
    assert len(made) == 6
    for ward in (Ward.objects.get(code="BC-NOI"), Ward.objects.get(code="NOI")):
        record = AdministrationFactory(order=OrderFactory(admission=AdmissionFactory(ward=ward)))
        hospital = Administration.objects.filter(pk=record.pk).values(
            "admission__ward__hospital_id"
        )
        reference = [
            destination
            for destination in Destination.objects.filter(enabled=True)
            .filter(Q(hospital__isnull=True) | Q(hospital__in=hospital))
            .order_by("pk")
            if destination.accepts(MessageType.RAS_O17)
        ]
        found = _destinations(record.pk)
        assert [d.pk for d in found] == [d.pk for d in reference]
        assert len(found) == 2
        for ours, theirs in zip(found, reference, strict=True):
            assert {
                f.attname: getattr(ours, f.attname) for f in Destination._meta.concrete_fields
            } == {f.attname: getattr(theirs, f.attname) for f in Destination._meta.concrete_fields}
    assert _destinations(0) == [made[0]]


# ------------------------------------------------------------------ who registers a patient


def staff(username: str) -> User:
    return User.objects.get(username=username)


@pytest.mark.parametrize(
    ("facility", "ward", "hospital"), [("HOSPITAL", "NOI", "BVDKT"), ("BAICHAY", "BC-NOI", "BVBC")]
)
def test_an_a04_registers_the_patient_with_the_hospital_of_its_facility(
    province, facility, ward, hospital
):
    # given an outpatient registration (A04) from each hospital's HIS
    patient = h.pid("BN2026009101", "Phạm", "Minh", "Đức", facility=facility)
    message = h.adt("A04", "R0001", START, patient, h.pv1(ward, "", "V9101"), facility=facility)

    # when
    code, text = inbox_send(message)

    # then
    assert code == "AA", text
    assert Patient.objects.get(mrn="BN2026009101").hospital.code == hospital


def test_a_patient_registered_without_an_admission_is_seen_by_her_hospital_only(province):
    # given Bãi Cháy's HIS registers a person (A08 with her demographics), admitted nowhere
    patient = h.pid("BN2026009102", "Quách", "Nga", "Thanh", sex="F", facility="BAICHAY")

    # when
    code, text = inbox_send(h.adt("A08", "R0002", START, patient, facility="BAICHAY"))

    # then she is Bãi Cháy's, and the provincial hospital's pharmacist does not see her
    assert code == "AA", text
    nga = Patient.objects.get(mrn="BN2026009102")
    assert nga.hospital.code == "BVBC"
    assert not patients_of_my_hospitals(staff("duocsi.tuan"), Patient.objects.filter(pk=nga.pk))
    assert patients_of_my_hospitals(staff("duocsi.linh"), Patient.objects.filter(pk=nga.pk))


def test_admitted_in_another_hospital_she_stays_registered_by_the_first(province):
    # given a person Bãi Cháy registered, with her CCCD
    registered = h.pid(
        "BN2026009103", "Phạm", "Minh", "Đức", cccd="022056000103", facility="BAICHAY"
    )
    assert inbox_send(h.adt("A08", "R0004", START, registered, facility="BAICHAY"))[0] == "AA"

    # when the provincial hospital admits her under its own number, with the same CCCD
    patient = h.pid("BN2026009903", "Phạm", "Minh", "Đức", cccd="022056000103")
    code, text = inbox_send(h.adt("A01", "R0005", START, patient, h.pv1("NOI", "", "")))

    # then she is admitted there, still registered by Bãi Cháy, and read where she is admitted
    assert code == "AA", text
    patient = Patient.objects.get(mrn="BN2026009103")
    assert patient.hospital.code == "BVBC"
    assert patient.admissions.get().mrn == "BN2026009903"
    assert patients_of_my_hospitals(staff("duocsi.tuan"), Patient.objects.filter(pk=patient.pk))


def patient_and_encounter(ward: str | None) -> dict:
    bundle = b.transaction(R5)
    kept = bundle["entry"][:1] if ward is None else bundle["entry"][:2]
    if ward is not None:
        kept[1]["resource"] = b.encounter(R5, ward=ward, bed="")
    return {**bundle, "entry": kept}


def test_a_bundle_from_an_account_of_one_hospital_registers_with_it(province):
    response = post(patient_and_encounter(None), bearer("BVBC", "system/*.write"))

    assert response.status_code == 200, response.content
    assert Patient.objects.get(mrn=b.MRN).hospital.code == "BVBC"


def test_a_bundle_from_an_account_of_two_hospitals_registers_where_it_admits(province):
    response = post(patient_and_encounter("BC-NOI"), two_hospital_bearer())

    assert response.status_code == 200, response.content
    assert Patient.objects.get(mrn=b.MRN).hospital.code == "BVBC"


def test_a_new_patient_from_an_account_of_two_hospitals_without_an_admission_is_refused(
    province,
):
    # when: a Patient alone, from an account that writes in both hospitals
    response = post(patient_and_encounter(None), two_hospital_bearer())

    # then: which hospital registers her is never guessed
    assert response.status_code == 422, response.content
    code, text = issue(response)
    assert code == "PATIENT_HOSPITAL_UNKNOWN"
    assert b.MRN in text
    nothing_written()
