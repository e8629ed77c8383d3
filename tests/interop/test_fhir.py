import json
import re
import uuid
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

import pytest
from fhir.resources.bundle import Bundle
from fhir.resources.medicationadministration import MedicationAdministration
from fhir.resources.R4B.bundle import Bundle as BundleR4B
from fhir.resources.R4B.medicationadministration import (
    MedicationAdministration as MedicationAdministrationR4B,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from interop.fhir import (
    R4B,
    R5,
    FhirConfig,
    FhirMappingError,
    medication_administration,
    searchset_bundle,
)
from interop.snapshot import Withdrawal
from tests.interop.conftest import (
    ENTERED_IN_ERROR,
    GIVEN,
    HCMC,
    KINDS,
    NOT_GIVEN,
    PARTIAL,
    REPLACEMENT,
)
from tests.interop.golden import assert_golden

CONFIG = FhirConfig(system_base="https://bcma.example.vn/fhir")
MODELS = {R5: MedicationAdministration, R4B: MedicationAdministrationR4B}


def dumped(resource: dict) -> str:
    return json.dumps(resource, ensure_ascii=False, indent=2) + "\n"


def extension(resource: dict, name: str) -> list[dict]:
    return [item for item in resource.get("extension", []) if item["url"].endswith(name)]


@pytest.mark.parametrize("version", [R5, R4B])
@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_matches_its_golden_file(kind, version):
    resource = medication_administration(KINDS[kind], CONFIG, version)

    assert_golden(f"{kind}.{version.lower()}.json", dumped(resource))


@pytest.mark.parametrize("version", [R5, R4B])
@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_is_a_valid_resource_of_its_version(kind, version):
    resource = medication_administration(KINDS[kind], CONFIG, version)

    model = MODELS[version].model_validate(resource)

    assert model.model_dump(mode="json") == resource
    assert resource["status"] in {"completed", "not-done", "entered-in-error"}


@pytest.mark.parametrize(
    ("snapshot", "status"),
    [
        (GIVEN, "completed"),
        (PARTIAL, "completed"),
        (NOT_GIVEN, "not-done"),
        (ENTERED_IN_ERROR, "entered-in-error"),
        (REPLACEMENT, "completed"),
    ],
)
def test_status(snapshot, status):
    assert medication_administration(snapshot, CONFIG)["status"] == status


def test_a_withdrawn_record_reads_as_entered_in_error_with_the_reason():
    withdrawn = replace(
        GIVEN,
        withdrawn_by=Withdrawal(
            id=ENTERED_IN_ERROR.id,
            reason="wrong_dose",
            reason_label="Ghi sai liều",
            recorded_at=ENTERED_IN_ERROR.recorded_at,
        ),
    )

    resource = medication_administration(withdrawn, CONFIG)

    assert resource["status"] == "entered-in-error"
    assert resource["statusReason"][0]["coding"][0]["code"] == "wrong_dose"
    assert extension(resource, "withdrawn-by")[0]["valueReference"] == {
        "reference": f"MedicationAdministration/{ENTERED_IN_ERROR.id}"
    }


def test_corrections_link_to_the_records_they_correct_and_replace():
    withdrawal = medication_administration(ENTERED_IN_ERROR, CONFIG)
    replacement = medication_administration(REPLACEMENT, CONFIG)

    assert extension(withdrawal, "corrects")[0]["valueReference"]["reference"] == (
        f"MedicationAdministration/{GIVEN.id}"
    )
    assert extension(replacement, "replaces")[0]["valueReference"]["reference"] == (
        f"MedicationAdministration/{GIVEN.id}"
    )


def test_not_given_has_a_reason_and_no_dose():
    resource = medication_administration(NOT_GIVEN, CONFIG)

    assert resource["statusReason"] == [
        {
            "coding": [
                {
                    "system": "https://bcma.example.vn/fhir/CodeSystem/not-given-reason",
                    "code": "refused",
                    "display": "Người bệnh từ chối",
                }
            ],
            "text": "Người bệnh từ chối",
        }
    ]
    assert "dose" not in resource["dosage"]
    assert resource["dosage"]["route"]["coding"][0]["code"] == "PO"


def test_medication_is_coded_by_gtin_and_formulary():
    coding = medication_administration(GIVEN, CONFIG)["medication"]["concept"]["coding"]

    assert [(c["system"], c["code"]) for c in coding] == [
        ("https://www.gs1.org/gtin", "08936012345001"),
        ("https://bcma.example.vn/fhir/CodeSystem/formulary", "paracetamol-500-tab"),
    ]


def test_partial_dose_witness_site_and_units():
    resource = medication_administration(PARTIAL, CONFIG)

    assert resource["isSubPotent"] is True
    assert [p["function"]["coding"][0]["code"] for p in resource["performer"]] == [
        "performer",
        "witness",
    ]
    assert resource["dosage"]["site"] == {"text": "bụng, bên trái"}
    assert resource["dosage"]["dose"] == {
        "value": 2.5,
        "unit": "mg",
        "system": "http://unitsofmeasure.org",
        "code": "mg",
    }
    unit = extension(resource, "administered-unit")[0]["extension"]
    assert {part["url"]: list(part.values())[1] for part in unit} == {
        "gtin": "08936012345094",
        "lotNumber": "MOR2605B",
        "expirationDate": "2027-05-31",
        "serialNumber": "MOR2605BS007",
        "scanned": False,
    }


def test_r4b_carries_r5_only_elements_as_cross_version_extensions():
    resource = medication_administration(PARTIAL, CONFIG, R4B)

    assert "isSubPotent" not in resource and "occurenceDateTime" not in resource
    assert resource["effectiveDateTime"] == "2026-11-24T08:10:00+07:00"
    assert extension(resource, "MedicationAdministration.isSubPotent")[0]["valueBoolean"] is True
    assert extension(resource, "MedicationAdministration.recorded")[0]["valueDateTime"] == (
        "2026-11-24T08:10:02+07:00"
    )


@pytest.mark.parametrize(
    ("unit", "code"),
    [("mcg", "ug"), ("IU", "[iU]"), ("mL", "mL"), ("each", "{unit}"), ("g", "g")],
)
def test_doses_use_ucum(unit, code):
    snapshot = replace(GIVEN, unit=unit, amount=Decimal("0.30"))

    dose = medication_administration(snapshot, CONFIG)["dosage"]["dose"]

    assert (dose["code"], dose["value"], dose["system"]) == (
        code,
        0.3,
        "http://unitsofmeasure.org",
    )


def test_times_are_shown_in_the_hospitals_zone():
    snapshot = replace(GIVEN, administered_at=datetime(2026, 11, 24, 1, 10, 0, 123456, tzinfo=HCMC))

    assert medication_administration(snapshot, CONFIG)["occurenceDateTime"] == (
        "2026-11-24T01:10:00+07:00"
    )


def test_an_unknown_version_is_refused():
    with pytest.raises(FhirMappingError):
        medication_administration(GIVEN, CONFIG, "R3")


@pytest.mark.parametrize(("version", "model"), [(R5, Bundle), (R4B, BundleR4B)])
def test_searchset_bundle_is_valid(version, model):
    resources = [medication_administration(s, CONFIG, version) for s in (GIVEN, NOT_GIVEN)]

    bundle = searchset_bundle(
        resources,
        total=7,
        links={"self": "http://x/fhir/MedicationAdministration?patient=1"},
        base_url="http://x/fhir",
        version=version,
    )

    model.model_validate(bundle)
    assert bundle["type"] == "searchset" and bundle["total"] == 7
    assert bundle["entry"][0]["fullUrl"] == f"http://x/fhir/MedicationAdministration/{GIVEN.id}"
    assert bundle["entry"][1]["search"] == {"mode": "match"}


def test_resource_id_is_the_record_uuid():
    resource = medication_administration(GIVEN, CONFIG)

    assert uuid.UUID(resource["id"]) == GIVEN.id
    assert resource["identifier"][0]["value"] == str(GIVEN.id)


# FHIR's rule for string, `[ \r\n\t\S]+` in XML Schema terms, which fhir.resources does not apply.
FHIR_STRING = re.compile(
    r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*[^\x00-\x20][^\x00-\x08\x0b\x0c\x0e-\x1f]*$"
)


def strings(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    elif isinstance(value, str):
        yield value


@settings(max_examples=40, deadline=None)
@given(
    text=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40),
    version=st.sampled_from([R5, R4B]),
)
def test_any_text_gives_valid_fhir_strings(text, version):
    snapshot = replace(
        PARTIAL,
        comment=text,
        site=text,
        medication_name=text,
        patient=replace(PARTIAL.patient, full_name=text),
        witness=replace(PARTIAL.witness, family_name=text, given_name=""),
    )

    resource = medication_administration(snapshot, CONFIG, version)

    MODELS[version].model_validate(resource)
    assert all(FHIR_STRING.match(value) for value in strings(resource))
