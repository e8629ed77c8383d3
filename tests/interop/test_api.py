import uuid
from datetime import datetime

import pytest
from fhir.resources.bundle import Bundle
from fhir.resources.medicationadministration import MedicationAdministration
from fhir.resources.R4B.medicationadministration import (
    MedicationAdministration as MedicationAdministrationR4B,
)
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message
from rest_framework.test import APIClient

from interop.models import OutboundMessage
from interop.worker import deliver_batch
from tests.factories import PharmacistFactory, UserFactory
from tests.interop.conftest import HCMC
from tests.scanning.conftest import AN_BAND, PARACETAMOL, frozen_demo, image, nurse_client

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.interop.urls")]

# The demo hospital at 08:10 with a nurse logged in at her cart, as the scanning tests use it.
__all__ = ["frozen_demo", "nurse_client"]

READ = "/api/v1/fhir/MedicationAdministration/{}"
SEARCH = "/api/v1/fhir/MedicationAdministration"


def outcome_code(response) -> str:
    """The stable error code of a FHIR error, which must be an OperationOutcome in FHIR JSON."""
    assert response["Content-Type"].startswith("application/fhir+json"), response["Content-Type"]
    body = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    return body["issue"][0]["details"]["coding"][0]["code"]


@pytest.fixture
def staff_client(hospital):
    client = APIClient()
    client.force_authenticate(hospital.nurse)
    return client


def test_read_returns_an_r5_resource(staff_client, hospital):
    administration = hospital.record()

    response = staff_client.get(READ.format(administration.external_id))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json; fhirVersion=5.0"
    body = response.json()
    MedicationAdministration.model_validate(body)
    assert body["id"] == str(administration.external_id)
    assert body["subject"]["display"] == "Nguyễn Văn An"


@pytest.mark.parametrize(
    "ask",
    [
        {"HTTP_ACCEPT": "application/fhir+json; fhirVersion=4.3"},
        {"data": {"fhirVersion": "4.3"}},
        {"data": {"fhirVersion": "R4B"}},
    ],
)
def test_read_returns_r4b_on_request(staff_client, hospital, ask):
    administration = hospital.record()

    response = staff_client.get(READ.format(administration.external_id), **ask)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json; fhirVersion=4.3"
    MedicationAdministrationR4B.model_validate(response.json())
    assert "effectiveDateTime" in response.json()


def test_an_unknown_fhir_version_is_406(staff_client, hospital):
    administration = hospital.record()

    response = staff_client.get(READ.format(administration.external_id), {"fhirVersion": "3.0"})

    assert response.status_code == 406
    assert outcome_code(response) == "UNSUPPORTED_FHIR_VERSION"


def test_an_unknown_id_is_a_fhir_404(staff_client):
    response = staff_client.get(READ.format(uuid.uuid4()))

    assert response.status_code == 404
    assert outcome_code(response) == "NOT_FOUND"


def test_a_withdrawn_record_reads_as_entered_in_error(staff_client, hospital):
    original = hospital.record()
    hospital.withdraw(original)

    body = staff_client.get(READ.format(original.external_id)).json()

    assert body["status"] == "entered-in-error"


def test_search_by_patient_and_date_returns_a_searchset(staff_client, hospital):
    # given: two records on the 24th, one on the 25th (Hồ Chí Minh City time)
    day = [datetime(2026, 11, 24, 8, 0, tzinfo=HCMC), datetime(2026, 11, 24, 23, 59, tzinfo=HCMC)]
    records = [hospital.record(at=at) for at in day]
    hospital.record(at=datetime(2026, 11, 25, 0, 0, tzinfo=HCMC))

    # when
    response = staff_client.get(
        SEARCH, {"patient": f"Patient/{hospital.patient.external_id}", "date": "2026-11-24"}
    )

    # then
    assert response.status_code == 200
    bundle = response.json()
    Bundle.model_validate(bundle)
    assert bundle["type"] == "searchset" and bundle["total"] == 2
    assert [entry["resource"]["id"] for entry in bundle["entry"]] == [
        str(r.external_id) for r in records
    ]
    assert bundle["entry"][0]["fullUrl"].endswith(
        f"/MedicationAdministration/{records[0].external_id}"
    )


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        (["ge2026-11-24T12:00:00+07:00"], 2),
        (["lt2026-11-25"], 2),
        (["gt2026-11-24"], 1),
        (["ge2026-11-24", "le2026-11-24"], 2),
        (["2026-11"], 3),
        (["eq2026-11-24T08:00:00+07:00"], 1),
    ],
)
def test_date_prefixes(staff_client, hospital, dates, expected):
    for at in [(24, 8), (24, 23), (25, 0)]:
        hospital.record(at=datetime(2026, 11, at[0], at[1], 0, tzinfo=HCMC))

    response = staff_client.get(
        SEARCH, {"patient": str(hospital.patient.external_id), "date": dates}
    )

    assert response.json()["total"] == expected


def test_search_by_mrn_and_paging(staff_client, hospital):
    for _ in range(5):
        hospital.record()

    first = staff_client.get(
        SEARCH, {"patient.identifier": hospital.patient.mrn, "_count": 2}
    ).json()
    links = {link["relation"]: link["url"] for link in first["link"]}
    second = staff_client.get(links["next"]).json()

    assert first["total"] == 5 and len(first["entry"]) == 2
    assert "_offset=2" in links["next"]
    assert {e["resource"]["id"] for e in first["entry"]}.isdisjoint(
        e["resource"]["id"] for e in second["entry"]
    )


def test_search_needs_a_patient_and_valid_dates(staff_client, hospital):
    assert staff_client.get(SEARCH).status_code == 400
    bad = staff_client.get(
        SEARCH, {"patient": str(hospital.patient.external_id), "date": "sa2026-11-24"}
    )
    assert bad.status_code == 400 and outcome_code(bad) == "INVALID_SEARCH"


def test_an_unknown_patient_is_refused_to_a_ward_nurse_as_another_wards_would_be(staff_client):
    # Trying ids must not tell a ward-scoped nurse who is in the hospital (issue 14, item 7;
    # the every-ward roles' total 0 is in tests/scanning/test_ward_scoping.py).
    response = staff_client.get(SEARCH, {"patient": str(uuid.uuid4())})

    assert response.status_code == 403


def test_hl7_view_of_a_record(staff_client, hospital):
    administration = hospital.record()

    response = staff_client.get(f"/api/v1/administrations/{administration.external_id}/hl7/")

    assert response.status_code == 200
    assert response["Content-Type"] == "x-application/hl7-v2+er7; charset=utf-8"
    text = response.content.decode("utf-8")
    assert "\n" not in text and "Nguyễn^An^Văn" in text
    parse_message(text, validation_level=VALIDATION_LEVEL.STRICT).validate()


@pytest.mark.parametrize(
    "path",
    [
        READ.format(uuid.uuid4()),
        SEARCH,
        "/api/v1/fhir/metadata",
        f"/api/v1/fhir/Patient/{uuid.uuid4()}",
        f"/api/v1/fhir/Encounter/{uuid.uuid4()}",
        f"/api/v1/fhir/MedicationRequest/{uuid.uuid4()}",
        "/api/v1/fhir/Observation",
    ],
)
def test_strangers_are_refused_with_an_operation_outcome(path, db):
    anonymous = APIClient()
    no_role = APIClient()
    no_role.force_authenticate(UserFactory())

    refused = anonymous.get(path)
    forbidden = no_role.get(path)

    assert (refused.status_code, outcome_code(refused)) == (401, "NOT_AUTHENTICATED")
    assert refused.json()["issue"][0]["code"] == "login"
    assert (forbidden.status_code, outcome_code(forbidden)) == (403, "PERMISSION_DENIED")
    assert forbidden.json()["issue"][0]["code"] == "forbidden"


def test_pharmacists_may_read(hospital):
    client = APIClient()
    client.force_authenticate(PharmacistFactory())

    assert client.get(READ.format(hospital.record().external_id)).status_code == 200


def test_a_dose_recorded_at_the_bedside_reaches_the_outbox_and_the_fhir_api(
    nurse_client, destination, receiver
):
    # given: the demo hospital at 08:10 and a receiver
    listening = receiver()

    # when: the nurse records the 08:00 paracetamol through the bedside API
    recorded = nurse_client.post(
        "/api/v1/administrations/",
        {"patient": image(AN_BAND), "medications": [image(name) for name in PARACETAMOL]},
        format="json",
    )
    assert recorded.status_code == 201, recorded.json()
    result = deliver_batch()

    # then: the message left with the patient's Vietnamese name, and FHIR tells the same story
    row = OutboundMessage.objects.get()
    assert result.delivered == 1 and listening.seen == [row.message_id]
    assert "Nguyễn^An^Văn" in row.payload
    resource = nurse_client.get(READ.format(recorded.json()["id"])).json()
    assert resource["status"] == "completed"
    assert resource["dosage"]["dose"]["value"] == 1000
    assert [u["extension"][1]["valueString"] for u in resource["extension"]] == [
        "PCM2611A",
        "PCM2611A",
    ]


def test_the_openapi_schema_lists_the_interop_paths(staff_client):
    paths = staff_client.get("/api/v1/schema/").json()["paths"]

    assert "/api/v1/fhir/MedicationAdministration" in paths
    assert "/api/v1/fhir/MedicationAdministration/{external_id}" in paths
    assert "/api/v1/administrations/{external_id}/hl7/" in paths


def test_a_malformed_id_is_a_404(staff_client):
    fhir = staff_client.get(READ.format("not-a-uuid"))
    hl7 = staff_client.get("/api/v1/administrations/x,y/hl7/")

    assert (fhir.status_code, outcome_code(fhir)) == (404, "NOT_FOUND")
    assert (hl7.status_code, hl7.json()["error"]["code"]) == (404, "NOT_FOUND")
