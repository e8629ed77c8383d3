"""The bedside API answers exactly what its OpenAPI schema says (scanning/api/outputs.py): each
answer below is validated against the served schema with every documented object closed, so a
field added to an answer but not to its contract fails here, as does a type that drifted."""

import json

import jsonschema
import pytest
from django.core.management import call_command
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer

from tests.scanning.conftest import AN_BAND, HOA_BADGE, PARACETAMOL, code, image

pytestmark = pytest.mark.django_db

MAR = "/api/v1/patients/BN2026000101/mar/?date=2026-11-24"


def closed(node):
    """OpenAPI 3.0 as JSON Schema: `nullable` becomes a null alternative, and an object that lists
    its properties admits no others."""
    if isinstance(node, list):
        return [closed(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: closed(value) for key, value in node.items()}
    if "properties" in node and "additionalProperties" not in node:
        node["additionalProperties"] = False
    if node.pop("nullable", False):
        return {"anyOf": [node, {"type": "null"}]}
    return node


@pytest.fixture(scope="module")
def schema():
    raw = SchemaGenerator().get_schema(request=None, public=True)
    return closed(json.loads(OpenApiJsonRenderer().render(raw)))


def test_the_schema_is_generated_without_a_warning(tmp_path):
    """A warning here (two choice sets under one enum name) fails the deploy check in CI."""
    call_command("spectacular", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    assert "MissingDoseStateEnum" in (tmp_path / "schema.yml").read_text()


def answer_of(schema, path: str, method: str, status: int) -> dict:
    content = schema["paths"][path][method]["responses"][str(status)]["content"]
    return {"components": schema["components"], **content["application/json"]["schema"]}


def conforms(schema, path, method, response):
    jsonschema.validate(response.json(), answer_of(schema, path, method, response.status_code))


def right_dose():
    return {"patient": image(AN_BAND), "medications": [image(name) for name in PARACETAMOL]}


def test_a_check_with_findings_is_described_by_the_schema(schema, nurse_client):
    # given: a check that finds something: one 500 mg pack of a 1 g dose
    body = {"patient": image(AN_BAND), "medications": [image(PARACETAMOL[0])]}
    response = nurse_client.post("/api/v1/scan/check/", body, format="json")

    assert response.status_code == 200
    assert response.json()["findings"], "a check with no findings would prove little"
    conforms(schema, "/api/v1/scan/check/", "post", response)


def test_a_check_of_an_unknown_band_is_described_by_the_schema(schema, nurse_client):
    body = {"patient": code("(414)8939999999990(8200)NOBODY"), "medications": []}
    response = nurse_client.post("/api/v1/scan/check/", body, format="json")

    assert response.status_code == 200 and response.json()["patient"] is None
    conforms(schema, "/api/v1/scan/check/", "post", response)


def test_a_record_its_outcome_and_its_correction_are_described_by_the_schema(schema, nurse_client):
    recorded = nurse_client.post(
        "/api/v1/administrations/", right_dose(), format="json", HTTP_IDEMPOTENCY_KEY="c-1"
    )
    outcome = nurse_client.post(
        "/api/v1/administrations/outcome/", {"idempotency_key": "c-1"}, format="json"
    )
    corrected = nurse_client.post(
        f"/api/v1/administrations/{recorded.json()['id']}/correct/",
        {"reason": "duplicate", "comment": ""},
        format="json",
    )

    assert (recorded.status_code, outcome.status_code, corrected.status_code) == (201, 200, 201)
    conforms(schema, "/api/v1/administrations/", "post", recorded)
    conforms(schema, "/api/v1/administrations/outcome/", "post", outcome)
    conforms(schema, "/api/v1/administrations/{external_id}/correct/", "post", corrected)


def test_the_mar_the_due_list_and_the_recent_records_are_described_by_the_schema(
    schema, nurse_client
):
    nurse_client.post("/api/v1/administrations/", right_dose(), format="json")

    mar = nurse_client.get(MAR)
    due = nurse_client.get("/api/v1/wards/NOI/due/")
    recent = nurse_client.get("/api/v1/patients/BN2026000101/administrations/recent/")

    assert (mar.status_code, due.status_code, recent.status_code) == (200, 200, 200)
    assert mar.json()["orders"] and due.json()["doses"] and recent.json()["records"]
    conforms(schema, "/api/v1/patients/{mrn}/mar/", "get", mar)
    conforms(schema, "/api/v1/wards/{code}/due/", "get", due)
    conforms(schema, "/api/v1/patients/{mrn}/administrations/recent/", "get", recent)


def test_the_ward_worklist_is_described_by_the_schema(schema, nurse_client):
    worklist = nurse_client.get("/api/v1/wards/NOI/worklist/")

    assert worklist.status_code == 200 and worklist.json()["rows"]
    conforms(schema, "/api/v1/wards/{code}/worklist/", "get", worklist)


def test_scanned_but_not_recorded_is_described_by_the_schema(schema, nurse_client):
    nurse_client.post("/api/v1/scan/check/", right_dose(), format="json")

    listed = nurse_client.get("/api/v1/checks/unrecorded/")
    check_id = listed.json()["checks"][0]["id"]
    acknowledged = nurse_client.post(
        f"/api/v1/checks/{check_id}/acknowledge/", {"reason": "scanned_in_error"}, format="json"
    )

    assert (listed.status_code, acknowledged.status_code) == (200, 201)
    conforms(schema, "/api/v1/checks/unrecorded/", "get", listed)
    conforms(schema, "/api/v1/checks/{external_id}/acknowledge/", "post", acknowledged)


def test_the_login_answers_are_described_by_the_schema(schema, frozen_demo):
    browser = Client(enforce_csrf_checks=True)
    token = browser.get("/api/v1/auth/badge/")
    login = browser.post(
        "/api/v1/auth/badge/",
        {"badge": code(HOA_BADGE), "pin": "111111", "cart": "NOI-1", "ward": "NOI"},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token.json()["csrf_token"],
    )

    assert (token.status_code, login.status_code) == (200, 200)
    conforms(schema, "/api/v1/auth/badge/", "get", token)
    conforms(schema, "/api/v1/auth/badge/", "post", login)
