"""Issue 16, "In: FHIR": a transaction Bundle from the HIS, applied through the same services as
HL7 v2 in, all or nothing, once per key, by a system whose token holds the write scopes; the
answer is a transaction-response Bundle that an invariant-checking validator accepts."""

import base64
import json
from pathlib import Path

import pytest
import time_machine
from django.test import Client

from hospital.models import User
from hospital.service_accounts import service_account_create
from interop.fhir import R4, R5
from interop.models import CodeMapKind, FhirTransaction, InboundCodeMap
from pharmacy.models import Medication, MedicationOrder, OrderStatus, ScheduleKind
from pharmacy.services import order_verify
from tests.demo_copy import demo_hospital_copy
from tests.interop import fhir_bundles as b
from tests.interop import fhir_validator
from tests.interop.test_inbound_bedside import check
from tests.scanning.conftest import DEMO_NOW, HOA_BADGE, badge_client
from wards.models import Admission, Allergy, Patient
from wards.services import wristband_issue

pytestmark = pytest.mark.django_db

BASE = "/api/v1/fhir/"
ASK = {R5: "5.0", R4: "4.0"}
WRITE = "system/*.write"


@pytest.fixture
def his(db):
    """The demo hospital at 08:10 with the HIS's drug codes mapped."""
    with time_machine.travel(DEMO_NOW, tick=False):
        demo_hospital_copy()
        for his_code, ours in (("TT01", "paracetamol-500-tab"), ("TT07", "tramadol-50-cap")):
            InboundCodeMap.objects.create(
                kind=CodeMapKind.MEDICATION,
                his_code=his_code,
                medication=Medication.objects.get(code=ours),
            )
        yield


def bearer(scopes: str = WRITE, name: str = "his") -> str:
    admin = User.objects.get(username="quantri")
    account, secret = service_account_create(name=name, scopes=scopes.split(), by=admin)
    basic = base64.b64encode(f"{account.client_id}:{secret}".encode()).decode()
    answer = Client().post(
        "/oauth/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}"
    )
    assert answer.status_code == 200, answer.content
    return answer.json()["access_token"]


def post(bundle, token=None, version=R5, base=BASE, **headers):
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    if token:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    with time_machine.travel(DEMO_NOW, tick=False):
        return Client().post(
            base,
            json.dumps(bundle),
            content_type=f"application/fhir+json; fhirVersion={ASK[version]}",
            **extra,
        )


def outcome(response) -> tuple[str, str, list[str]]:
    """(our error code, its text, FHIRPath expressions) of an OperationOutcome answer."""
    assert response["Content-Type"].startswith("application/fhir+json"), response["Content-Type"]
    body = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    issue = body["issue"][0]
    return issue["details"]["coding"][0]["code"], issue["diagnostics"], issue.get("expression", [])


def nothing_written():
    assert not Patient.objects.filter(mrn=b.MRN).exists()
    assert not Admission.objects.filter(visit_number=b.VISIT).exists()
    assert not MedicationOrder.objects.filter(
        placer_order_number__startswith="YL2026-0777"
    ).exists()
    assert not FhirTransaction.objects.exists()


# ------------------------------------------------------------------ who may write


def test_without_a_token_the_bundle_is_refused_and_nothing_written(his):
    response = post(b.transaction())

    assert response.status_code == 401
    assert outcome(response)[0] in ("NOT_AUTHENTICATED", "AUTHENTICATION_FAILED")
    nothing_written()


def test_a_token_with_read_scopes_only_cannot_write(his):
    response = post(b.transaction(), bearer("system/Patient.read system/Encounter.read"))

    assert response.status_code == 403
    nothing_written()


def test_a_token_missing_one_resources_write_scope_is_refused_naming_the_entry(his):
    token = bearer("system/Patient.write system/Encounter.write system/MedicationRequest.write")

    response = post(b.transaction(), token)

    assert response.status_code == 403
    code, text, where = outcome(response)
    assert code == "SCOPE_MISSING"
    assert "AllergyIntolerance" in text and where == ["Bundle.entry[2]"]
    nothing_written()


def test_a_nurse_session_cannot_post_a_bundle(his):
    nurse = badge_client(HOA_BADGE, "111111")
    with time_machine.travel(DEMO_NOW, tick=False):
        response = nurse.post(BASE, b.transaction(), format="json")

    assert response.status_code == 403
    nothing_written()


# ------------------------------------------------------------------ a bad entry: nothing written


def test_an_unmapped_drug_code_refuses_the_whole_bundle_naming_the_entry(his):
    bundle = b.transaction()
    order = bundle["entry"][4]["resource"]
    order["medication"]["concept"]["coding"][0]["code"] = "TT99"

    response = post(bundle, bearer())

    assert response.status_code == 422
    code, text, where = outcome(response)
    assert code == "DRUG_UNMAPPED"
    assert "TT99" in text and "Bundle.entry[4]" in text and "Nothing" in text
    assert where == ["Bundle.entry[4].resource.medication"]
    nothing_written()  # the patient, admission, allergy and first order rolled back too


def test_after_the_code_is_mapped_the_same_bundle_applies(his):
    bundle = b.transaction()
    bundle["entry"][4]["resource"]["medication"]["concept"]["coding"][0]["code"] = "TT99"
    token = bearer()
    assert post(bundle, token).status_code == 422
    InboundCodeMap.objects.create(
        kind=CodeMapKind.MEDICATION,
        his_code="TT99",
        medication=Medication.objects.get(code="tramadol-50-cap"),
    )

    response = post(bundle, token)

    assert response.status_code == 200, response.content
    assert MedicationOrder.objects.filter(placer_order_number="YL2026-0777-2").exists()


def test_an_unknown_ward_is_a_422_and_nothing_written(his):
    bundle = b.transaction(resources={1: b.encounter(ward="KHONGCO")})

    response = post(bundle, bearer())

    assert response.status_code == 422
    code, _text, where = outcome(response)
    assert code == "WARD_UNKNOWN" and where == ["Bundle.entry[1].resource"]
    nothing_written()


@pytest.mark.parametrize(
    ("change", "code", "where"),
    [
        (lambda bun: bun.update(type="batch"), "INVALID_BUNDLE", "Bundle.type"),
        (
            lambda bun: bun["entry"][3]["resource"]["dosageInstruction"][0]["doseAndRate"][0][
                "doseQuantity"
            ].update(code="viên", unit="viên"),
            "INVALID_BUNDLE",
            "Bundle.entry[3].resource.dosageInstruction[0].doseAndRate[0].doseQuantity",
        ),
        (
            lambda bun: bun["entry"][3]["resource"].update(subject={"reference": "urn:uuid:x"}),
            "INVALID_BUNDLE",
            "Bundle.entry[3].resource.subject",
        ),
        (
            lambda bun: bun["entry"][0].update(request={"method": "DELETE", "url": "Patient/1"}),
            "INVALID_BUNDLE",
            "Bundle.entry[0].request.method",
        ),
        (
            lambda bun: bun["entry"][2]["resource"].update(resourceType="Observation"),
            "RESOURCE_NOT_SUPPORTED",
            "Bundle.entry[2].resource",
        ),
        (  # a planned stay is not an admission: no band, no doses yet
            lambda bun: bun["entry"][1]["resource"].update(status="planned"),
            "INVALID_BUNDLE",
            "Bundle.entry[1].resource.status",
        ),
        (
            lambda bun: bun["entry"][0]["resource"].update(birthDate="1984-13-40"),
            "INVALID_BUNDLE",
            "Bundle.entry[0].resource.birthDate",
        ),
    ],
)
def test_an_unreadable_entry_is_a_400_naming_it(his, change, code, where):
    bundle = b.transaction()
    change(bundle)

    response = post(bundle, bearer())

    assert response.status_code == 400, response.content
    assert outcome(response)[0] == code
    assert outcome(response)[2] == [where]
    nothing_written()


def test_a_body_that_is_not_json_is_a_400_operation_outcome(his):
    with time_machine.travel(DEMO_NOW, tick=False):
        response = Client().post(
            BASE,
            "{not json",
            content_type="application/fhir+json",
            HTTP_AUTHORIZATION=f"Bearer {bearer()}",
        )

    assert response.status_code == 400
    outcome(response)


# ------------------------------------------------------------------ the bundle applied


@pytest.mark.parametrize("version", [R5, R4])
def test_a_realistic_bundle_admits_records_the_allergy_and_the_orders(his, version):
    response = post(b.transaction(version), bearer(), version=version)

    assert response.status_code == 200, response.content
    patient = Patient.objects.get(mrn=b.MRN)
    assert patient.full_name == "Nguyễn Thị Mai Anh"
    assert patient.sex == "F" and patient.date_of_birth.isoformat() == "1984-07-15"
    assert patient.health_insurance_number == "DN4790123456789"
    admission = Admission.objects.get(visit_number=b.VISIT)
    assert admission.patient == patient and admission.is_open
    assert (admission.ward.code, admission.bed.code) == ("NOI", "10")
    allergy = Allergy.objects.get(patient=patient)
    assert (allergy.allergen_code, allergy.severity) == ("penicillins", "severe")
    assert allergy.reaction == "Nổi mề đay"
    scheduled = MedicationOrder.objects.get(placer_order_number="YL2026-0777-1")
    assert scheduled.admission == admission
    assert scheduled.medication.code == "paracetamol-500-tab"
    assert scheduled.status == OrderStatus.PENDING_VERIFICATION
    assert scheduled.schedule_kind == ScheduleKind.TIMES_OF_DAY
    assert list(scheduled.times_of_day) == ["08:00", "20:00"]
    assert (scheduled.dose_value, scheduled.dose_unit, scheduled.route) == (500, "mg", "PO")
    assert scheduled.prescriber_name == "BS. Trần Văn Hùng"
    prn = MedicationOrder.objects.get(placer_order_number="YL2026-0777-2")
    assert prn.schedule_kind == ScheduleKind.PRN and prn.status == OrderStatus.PENDING_VERIFICATION
    assert prn.prn_indication == "Đau"
    assert prn.prn_min_interval_minutes == 360 and prn.prn_max_per_24h == 200

    body = response.json()
    assert body["type"] == "transaction-response"
    assert [e["response"]["status"] for e in body["entry"]] == ["201 Created"] * 5
    locations = [e["response"]["location"] for e in body["entry"]]
    assert locations[0] == f"Patient/{patient.external_id}"
    assert locations[1] == f"Encounter/{admission.external_id}"
    assert locations[2] == f"AllergyIntolerance/{allergy.external_id}"
    assert locations[3] == f"MedicationRequest/{scheduled.external_id}"
    assert fhir_validator.errors([body], version) == [[]]


def test_the_locations_resolve_with_a_read_token(his):
    body = post(b.transaction(), bearer()).json()
    reader = bearer("system/Patient.read system/MedicationRequest.read", name="reader")

    for location in (body["entry"][0], body["entry"][3]):
        with time_machine.travel(DEMO_NOW, tick=False):
            read = Client().get(
                f"{BASE}{location['response']['location']}", HTTP_AUTHORIZATION=f"Bearer {reader}"
            )
        assert read.status_code == 200, read.content


def test_a_conditional_update_changes_the_records_and_never_duplicates(his):
    token = bearer()
    assert post(b.transaction(identifier="first"), token).status_code == 200
    changed = b.transaction(
        identifier="second",
        resources={
            0: b.patient(name="Nguyễn Thị Mai Ánh"),
            1: b.encounter(ward="NGOAI", bed="09"),
            3: b.scheduled_order(dose=1000),
        },
    )
    changed["entry"][1]["request"] = b.put("Encounter", "visit-number", b.VISIT)

    response = post(changed, token)

    assert response.status_code == 200, response.content
    assert [e["response"]["status"] for e in response.json()["entry"]] == ["200 OK"] * 5
    assert Patient.objects.filter(mrn=b.MRN).count() == 1
    assert Patient.objects.get(mrn=b.MRN).full_name == "Nguyễn Thị Mai Ánh"
    admission = Admission.objects.get(visit_number=b.VISIT)
    assert Admission.objects.filter(patient__mrn=b.MRN).count() == 1
    assert (admission.ward.code, admission.bed.code) == ("NGOAI", "09")  # a transfer
    assert Allergy.objects.filter(patient__mrn=b.MRN).count() == 1
    orders = MedicationOrder.objects.filter(placer_order_number="YL2026-0777-1")
    assert orders.count() == 1 and orders.get().dose_value == 1000


def test_a_changed_order_goes_back_to_the_pharmacist_and_an_unchanged_one_does_not(his):
    token = bearer()
    post(b.transaction(identifier="first"), token)
    pharmacist = User.objects.get(username="duocsi.tuan")
    with time_machine.travel(DEMO_NOW, tick=False):
        for order in MedicationOrder.objects.filter(placer_order_number__startswith="YL2026-0777"):
            order_verify(order=order, pharmacist=pharmacist)

    post(b.transaction(identifier="second", resources={3: b.scheduled_order(dose=1000)}), token)

    changed = MedicationOrder.objects.get(placer_order_number="YL2026-0777-1")
    same = MedicationOrder.objects.get(placer_order_number="YL2026-0777-2")
    assert changed.status == OrderStatus.PENDING_VERIFICATION
    assert same.status == OrderStatus.ACTIVE


def test_a_stopped_request_discontinues_the_order(his):
    token = bearer()
    post(b.transaction(identifier="first"), token)
    stopped = b.prn_order()
    stopped.update(status="stopped", statusReason={"text": "Hết đau"})

    response = post(b.transaction(identifier="second", resources={4: stopped}), token)

    assert response.status_code == 200, response.content
    order = MedicationOrder.objects.get(placer_order_number="YL2026-0777-2")
    assert order.status == OrderStatus.DISCONTINUED
    assert order.status_reason == "Hết đau"


def test_a_finished_encounter_discharges_and_voids_the_band(his):
    token = bearer()
    post(b.transaction(identifier="first"), token)
    admission = Admission.objects.get(visit_number=b.VISIT)
    with time_machine.travel(DEMO_NOW, tick=False):
        wristband_issue(admission=admission, printed_by=User.objects.get(username="duocsi.tuan"))
    finished = b.encounter(status="completed")
    finished["actualPeriod"]["end"] = "2026-11-24T08:05:00+07:00"
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": {**finished, "subject": {"identifier": {"value": b.MRN}}},
                "request": b.put("Encounter", "visit-number", b.VISIT),
            }
        ],
    }

    response = post(bundle, token)

    assert response.status_code == 200, response.content
    admission.refresh_from_db()
    assert not admission.is_open
    assert not admission.wristbands.filter(voided_at__isnull=True).exists()


def test_if_none_exist_leaves_an_existing_patient_as_it_is(his):
    token = bearer()
    post(b.transaction(identifier="first"), token)
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": b.patient(name="Tên Khác Hẳn"),
                "request": {
                    "method": "POST",
                    "url": "Patient",
                    "ifNoneExist": f"identifier={b.SID}/mrn|{b.MRN}",
                },
            }
        ],
    }

    response = post(bundle, token)

    assert response.status_code == 200
    assert response.json()["entry"][0]["response"]["status"] == "200 OK"
    assert Patient.objects.get(mrn=b.MRN).full_name == "Nguyễn Thị Mai Anh"


# ------------------------------------------------------------------ retries


def test_the_same_bundle_twice_is_applied_once(his):
    token = bearer()
    first = post(b.transaction(), token)
    # Between the two: the pharmacist verifies; a second application would undo nothing here,
    # but it must not even run (no second transaction row, the same answer).
    second = post(b.transaction(), token)

    assert first.status_code == second.status_code == 200
    assert second["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert FhirTransaction.objects.count() == 1
    assert (
        MedicationOrder.objects.filter(placer_order_number__startswith="YL2026-0777").count() == 2
    )


def test_the_base_without_its_slash_is_the_same_transaction_and_one_schema_operation(his):
    token = bearer()
    first = post(b.transaction(), token, base=BASE.rstrip("/"))
    second = post(b.transaction(), token)

    assert first.status_code == second.status_code == 200
    assert second["Idempotent-Replayed"] == "true"
    assert FhirTransaction.objects.count() == 1
    schema = Client()
    schema.force_login(User.objects.get(username="quantri"))
    paths = schema.get("/api/v1/schema/").json()["paths"]
    assert [p for p in paths if p.rstrip("/") == "/api/v1/fhir"] == ["/api/v1/fhir"]


def test_an_idempotency_key_replays_the_first_answer_even_without_a_bundle_identifier(his):
    token = bearer()
    bundle = b.transaction(identifier=None)
    first = post(bundle, token, **{"Idempotency-Key": "k-1"})
    Patient.objects.filter(mrn=b.MRN).update(full_name="Sửa tay")  # changed here meanwhile

    second = post(bundle, token, **{"Idempotency-Key": "k-1"})

    assert second.json() == first.json()
    assert Patient.objects.get(mrn=b.MRN).full_name == "Sửa tay"  # not applied again


def test_the_same_key_with_another_bundle_is_refused(his):
    token = bearer()
    post(b.transaction(), token)
    other = b.transaction(resources={3: b.scheduled_order(dose=1000)})

    response = post(other, token)

    assert response.status_code == 422
    assert outcome(response)[0] == "IDEMPOTENCY_KEY_REUSED"
    assert MedicationOrder.objects.get(placer_order_number="YL2026-0777-1").dose_value == 500


# ------------------------------------------------------------------ what the server says it does


@pytest.mark.parametrize("version", [R5, R4])
def test_the_capability_statement_declares_the_transaction(his, version):
    with time_machine.travel(DEMO_NOW, tick=False):
        response = Client().get(
            f"{BASE}metadata",
            {"fhirVersion": ASK[version]},
            HTTP_AUTHORIZATION=f"Bearer {bearer()}",
        )

    assert response.status_code == 200, response.content
    rest = response.json()["rest"][0]
    assert [i["code"] for i in rest["interaction"]] == ["transaction"]
    resources = {r["type"]: r for r in rest["resource"]}
    assert [i["code"] for i in resources["AllergyIntolerance"]["interaction"]] == ["create"]
    assert resources["MedicationRequest"]["conditionalUpdate"] is True
    assert fhir_validator.errors([response.json()], version) == [[]]


# ------------------------------------------------------------------ then the bedside


def test_the_bedside_goes_on_a_bundle_order_only_after_verification(his):
    assert post(b.transaction(), bearer()).status_code == 200
    order = MedicationOrder.objects.get(placer_order_number="YL2026-0777-1")
    pharmacist = User.objects.get(username="duocsi.tuan")
    with time_machine.travel(DEMO_NOW, tick=False):
        wristband_issue(admission=order.admission, printed_by=pharmacist)
        nurse = badge_client(HOA_BADGE, "111111")

        before = check(nurse, order.admission)
        order_verify(order=order, pharmacist=pharmacist)
        after = check(nurse, order.admission)

    assert before["verdict"] == "stop"
    assert "ORDER_NOT_VERIFIED" in [f["code"] for f in before["findings"]]
    assert after["verdict"] == "go", after["findings"]
    assert after["order"]["id"] == str(order.external_id)
    assert after["patient"]["mrn"] == b.MRN


def test_the_readme_sample_is_the_bundle_these_tests_send():
    sample = Path(__file__).resolve().parents[2] / "docs" / "fhir-transaction-sample.json"
    assert json.loads(sample.read_text(encoding="utf-8")) == b.transaction()


@pytest.mark.parametrize(("priority", "kind"), [("stat", "stat"), ("routine", "once")])
def test_a_one_dose_medication_request_is_stat_by_its_priority_or_else_once(his, priority, kind):
    # given: the scheduled order rewritten as one dose (count 1) with a priority
    order = b.scheduled_order()
    order["priority"] = priority
    order["dosageInstruction"][0]["timing"]["repeat"] = {
        "boundsPeriod": {"start": "2026-11-24T07:45:00+07:00"},
        "count": 1,
    }
    bundle = b.transaction()
    bundle["entry"][3]["resource"] = order
    # when
    response = post(bundle, bearer())
    # then
    assert response.status_code == 200, response.content
    placed = MedicationOrder.objects.get(placer_order_number="YL2026-0777-1")
    assert placed.schedule_kind == kind
