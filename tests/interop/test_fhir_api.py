"""The FHIR API as a FHIR client uses it: version negotiation (R5, R4B, R4), search parameters
that are honoured or refused (never ignored), references that resolve, a CapabilityStatement that
says exactly what is served, and every error an OperationOutcome."""

import uuid
from datetime import datetime
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.db import OperationalError
from rest_framework.test import APIClient

from interop.fhir import R4, R4B, R5
from tests.factories import AdmissionFactory, OrderFactory, PharmacistFactory, WardFactory
from tests.interop import fhir_validator
from tests.interop.conftest import HCMC

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.interop.urls")]

FHIR = "/api/v1/fhir"
SEARCH = f"{FHIR}/MedicationAdministration"
ASK = {R5: "5.0", R4B: "4.3", R4: "4.0"}


@pytest.fixture
def staff_client(hospital):
    client = APIClient()
    client.force_authenticate(hospital.nurse)
    return client


def get(client, path, version=R5, **params):
    return client.get(path, {**params, "fhirVersion": ASK[version]})


def outcome(response) -> tuple[int, str, str]:
    """(status, our error code, FHIR issue type) of an error, which must be an OperationOutcome."""
    assert response["Content-Type"].startswith("application/fhir+json"), response["Content-Type"]
    body = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    issue = body["issue"][0]
    return response.status_code, issue["details"]["coding"][0]["code"], issue["code"]


def links(bundle) -> dict[str, str]:
    return {link["relation"]: link["url"] for link in bundle["link"]}


# ------------------------------------------------------------------------------ versions


@pytest.mark.parametrize(
    ("ask", "served"),
    [
        ({"data": {"fhirVersion": "4.0"}}, "4.0"),
        ({"data": {"fhirVersion": "4.0.1"}}, "4.0"),
        ({"data": {"fhirVersion": "R4"}}, "4.0"),
        ({"HTTP_ACCEPT": "application/fhir+json; fhirVersion=4.0"}, "4.0"),
        ({"HTTP_ACCEPT": "application/fhir+json; fhirVersion=4.3"}, "4.3"),
        ({}, "5.0"),
    ],
)
def test_r4_is_served_besides_r4b_and_r5(staff_client, hospital, ask, served):
    administration = hospital.record()

    response = staff_client.get(f"{SEARCH}/{administration.external_id}", **ask)

    assert response.status_code == 200
    assert response["Content-Type"] == f"application/fhir+json; fhirVersion={served}"
    body = response.json()
    assert ("effectiveDateTime" in body) == (served != "5.0")


# ------------------------------------------------------------------------------ search


def test_count_zero_gives_the_total_and_no_link_to_follow(staff_client, hospital):
    for _ in range(3):
        hospital.record()

    bundle = get(staff_client, SEARCH, patient=str(hospital.patient.external_id), _count=0).json()

    assert bundle["total"] == 3 and "entry" not in bundle
    assert set(links(bundle)) == {"self"}


@pytest.mark.parametrize(
    "params",
    [
        {"_summary": "count"},
        {"code": "paracetamol-500-tab"},
        {"performer": "dd.hoa"},
        {"status:not": "completed"},
        {"date:missing": "true"},
        {"_sort": "-date"},
    ],
)
def test_an_unsupported_parameter_is_refused_not_ignored(staff_client, hospital, params):
    hospital.record()

    response = get(staff_client, SEARCH, patient=str(hospital.patient.external_id), **params)

    assert outcome(response) == (400, "INVALID_SEARCH", "invalid")
    assert next(iter(params)) in response.json()["issue"][0]["details"]["text"]


def test_the_self_link_repeats_only_what_was_applied(staff_client, hospital):
    hospital.record()

    bundle = get(
        staff_client, SEARCH, patient=str(hospital.patient.external_id), status="completed"
    ).json()

    query = dict(parse_qsl(urlsplit(links(bundle)["self"]).query))
    assert set(query) == {"patient", "status", "fhirVersion", "_count", "_offset"}


def test_status_filters_what_is_returned(staff_client, hospital):
    # given: a given dose, a refusal, a dose later withdrawn (and its withdrawal)
    given = hospital.record()
    refused = hospital.record(status="not_done")
    withdrawn = hospital.record()
    withdrawal = hospital.withdraw(withdrawn)
    patient = str(hospital.patient.external_id)

    def found(status):
        bundle = get(staff_client, SEARCH, patient=patient, status=status).json()
        return {entry["resource"]["id"] for entry in bundle.get("entry", [])}

    # then
    assert found("not-done") == {str(refused.external_id)}
    assert found("completed") == {str(given.external_id)}
    assert found("entered-in-error") == {
        str(withdrawn.external_id),
        str(withdrawal.external_id),
    }
    assert found("completed,not-done") == {str(given.external_id), str(refused.external_id)}
    assert found("on-hold") == set()
    assert outcome(get(staff_client, SEARCH, patient=patient, status="given"))[:2] == (
        400,
        "INVALID_SEARCH",
    )


@pytest.mark.parametrize("version", [R4, R4B])
def test_r4_and_r4b_search_the_time_given_as_effective_time(staff_client, hospital, version):
    hospital.record(at=datetime(2026, 11, 24, 8, 0, tzinfo=HCMC))
    hospital.record(at=datetime(2026, 11, 25, 8, 0, tzinfo=HCMC))
    patient = str(hospital.patient.external_id)

    bundle = staff_client.get(
        SEARCH,
        {"patient": patient, "effective-time": "ge2026-11-25", "fhirVersion": ASK[version]},
    ).json()
    r5_name = get(staff_client, SEARCH, version, patient=patient, date="ge2026-11-25")

    assert bundle["total"] == 1
    status, code, _type = outcome(r5_name)
    assert (status, code) == (400, "INVALID_SEARCH")
    assert "effective-time" in r5_name.json()["issue"][0]["details"]["text"]


def test_search_by_id_alone_and_within_the_wards_scope(staff_client, hospital):
    # given: two records of the nurse's patient, one of a patient on another ward
    mine = [hospital.record(), hospital.record()]
    elsewhere = AdmissionFactory(ward=WardFactory())
    order = OrderFactory(admission=elsewhere, medication=hospital.package.medication)
    other = hospital.record(patient=elsewhere.patient, admission=elsewhere, order=order)
    ids = ",".join(str(r.external_id) for r in [*mine, other])

    # when
    bundle = get(staff_client, SEARCH, _id=ids).json()
    pharmacist = APIClient()
    pharmacist.force_authenticate(PharmacistFactory())
    everything = get(pharmacist, SEARCH, _id=ids).json()

    # then: the nurse gets her ward's records only; the pharmacist all three
    assert {e["resource"]["id"] for e in bundle["entry"]} == {str(r.external_id) for r in mine}
    assert everything["total"] == 3


# ------------------------------------------------------------------------------ references


@pytest.mark.parametrize("version", [R5, R4B, R4])
def test_the_references_of_a_record_resolve_and_pass_the_validator(staff_client, hospital, version):
    # given: an HIS admission and a PRN order with the HIS's numbers, and a dose given
    hospital.admission.visit_number = "VV-2026-0042"
    hospital.admission.save()
    order = hospital.order
    order.placer_order_number, order.filler_order_number = "YL-77", "KD-88"
    order.schedule_kind, order.times_of_day = "prn", []
    order.prn_indication, order.prn_min_interval_minutes = "Sốt trên 38,5 °C", 240
    order.prn_max_per_24h = Decimal("2000")
    order.save()
    record = hospital.record()
    administration = get(staff_client, f"{SEARCH}/{record.external_id}", version).json()

    # when: a client follows subject, encounter and request
    encounter_field = "encounter" if version == R5 else "context"
    targets = [
        administration["subject"]["reference"],
        administration[encounter_field]["reference"],
        administration["request"]["reference"],
    ]
    resolved = [get(staff_client, f"{FHIR}/{target}", version) for target in targets]

    # then: each is the resource named, of the version asked, valid with every invariant
    assert [r.status_code for r in resolved] == [200, 200, 200]
    bodies = [r.json() for r in resolved]
    assert [f"{b['resourceType']}/{b['id']}" for b in bodies] == targets
    assert fhir_validator.errors([administration, *bodies], version) == [[]] * 4
    patient, encounter, request = bodies
    assert patient["identifier"][0]["value"] == hospital.patient.mrn
    assert encounter["identifier"][0]["value"] == "VV-2026-0042"
    assert [i["value"] for i in request["identifier"]] == ["YL-77", "KD-88"]
    assert request["status"] == "active" and request["intent"] == "order"


@pytest.mark.parametrize("kind", ["Patient", "Encounter", "MedicationRequest"])
def test_reads_follow_the_ward_scope(staff_client, hospital, kind):
    elsewhere = AdmissionFactory(ward=WardFactory())
    order = OrderFactory(admission=elsewhere, medication=hospital.package.medication)
    target = {"Patient": elsewhere.patient, "Encounter": elsewhere, "MedicationRequest": order}

    refused = staff_client.get(f"{FHIR}/{kind}/{target[kind].external_id}")
    missing = staff_client.get(f"{FHIR}/{kind}/{uuid.uuid4()}")

    assert outcome(refused) == (403, "PATIENT_NOT_IN_YOUR_WARDS", "forbidden")
    assert outcome(missing) == (404, "NOT_FOUND", "not-found")


# ------------------------------------------------------------------------------ CapabilityStatement


@pytest.mark.parametrize("version", [R5, R4B, R4])
def test_the_capability_statement_says_exactly_what_is_served(staff_client, hospital, version):
    hospital.record()

    response = get(staff_client, f"{FHIR}/metadata", version)

    statement = response.json()
    assert response.status_code == 200
    assert statement["resourceType"] == "CapabilityStatement"
    assert statement["fhirVersion"] == {R5: "5.0.0", R4B: "4.3.0", R4: "4.0.1"}[version]
    assert fhir_validator.errors([statement], version) == [[]]
    resources = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert set(resources) == {
        "MedicationAdministration",
        "Patient",
        "Encounter",
        "MedicationRequest",
        "AllergyIntolerance",
    }
    # read, and conditional create/update inside a transaction Bundle (test_fhir_transaction.py)
    for kind in ("Patient", "Encounter", "MedicationRequest"):
        assert [i["code"] for i in resources[kind]["interaction"]] == ["read", "create", "update"]
    assert [i["code"] for i in resources["AllergyIntolerance"]["interaction"]] == ["create"]
    # every search parameter it lists is honoured, and nothing else
    searched = resources["MedicationAdministration"]
    examples = {
        "patient": str(hospital.patient.external_id),
        "patient.identifier": hospital.patient.mrn,
        "status": "completed",
        "date": "ge2026-01-01",
        "effective-time": "ge2026-01-01",
        "_id": str(uuid.uuid4()),
        "_count": "5",
        "_offset": "0",
    }
    for param in searched["searchParam"]:
        name = param["name"]
        criteria = {} if name.startswith("patient") else {"patient": examples["patient"]}
        answer = get(staff_client, SEARCH, version, **criteria, **{name: examples[name]})
        assert answer.status_code == 200, (param["name"], answer.json())
    listed = {param["name"] for param in searched["searchParam"]}
    assert {"date", "effective-time"} - listed == (
        {"effective-time"} if version == R5 else {"date"}
    )


# ------------------------------------------------------------------------------ errors


def test_every_error_is_an_operation_outcome(staff_client, hospital, monkeypatch):
    record = hospital.record()
    read = f"{SEARCH}/{record.external_id}"

    assert outcome(staff_client.get(f"{FHIR}/Observation/1")) == (404, "NOT_FOUND", "not-found")
    assert outcome(staff_client.post(read, {}))[:2] == (405, "METHOD_NOT_ALLOWED")
    assert outcome(staff_client.get(read, {"fhirVersion": "3.0"}))[:2] == (
        406,
        "UNSUPPORTED_FHIR_VERSION",
    )
    assert outcome(staff_client.get(f"{FHIR}/metadata", {"_format": "xml"}))[:2] == (
        406,
        "UNSUPPORTED_FORMAT",
    )

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("interop.api.views.administration_snapshot", broken)
    assert outcome(staff_client.get(read)) == (500, "SERVER_ERROR", "exception")

    def unavailable(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr("interop.api.views.administration_snapshot", unavailable)
    response = staff_client.get(read)
    assert outcome(response) == (503, "DATABASE_UNAVAILABLE", "transient")
    assert response["Retry-After"] == "5"


@pytest.mark.parametrize("version", [R5, R4B, R4])
def test_an_operation_outcome_passes_the_validator_in_the_version_asked(staff_client, version):
    response = get(staff_client, f"{SEARCH}/{uuid.uuid4()}", version)

    assert response["Content-Type"] == f"application/fhir+json; fhirVersion={ASK[version]}"
    assert fhir_validator.errors([response.json()], version) == [[]]
