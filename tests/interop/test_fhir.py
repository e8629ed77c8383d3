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
    R4,
    R4B,
    R5,
    FhirConfig,
    FhirMappingError,
    medication_administration,
    searchset_bundle,
)
from interop.snapshot import Withdrawal
from tests.interop import fhir_validator
from tests.interop.conftest import (
    ENTERED_IN_ERROR,
    GIVEN,
    HCMC,
    KINDS,
    NOT_GIVEN,
    PARTIAL,
    PATCH_APPLIED,
    PATCH_REMOVED,
    REPLACEMENT,
)
from tests.interop.golden import assert_golden

CONFIG = FhirConfig(system_base="https://bcma.example.vn/fhir")
# fhir.resources has no R4 package; R4's MedicationAdministration has R4B's shape.
MODELS = {
    R5: MedicationAdministration,
    R4B: MedicationAdministrationR4B,
    R4: MedicationAdministrationR4B,
}
WITHDRAWN = replace(
    GIVEN,
    id=uuid.UUID("a7c9e1f3-6b8d-4f0a-9c2e-4f6a8b0c2d65"),
    withdrawn_by=Withdrawal(
        id=ENTERED_IN_ERROR.id,
        reason="wrong_dose",
        reason_label="Ghi sai liều",
        recorded_at=ENTERED_IN_ERROR.recorded_at,
    ),
)
# A removal is the applying record's resource brought up to date (same id): a search shows it once.
EVERY_RECORD = {
    **{kind: snapshot for kind, snapshot in KINDS.items() if kind != "patch_applied"},
    "withdrawn": WITHDRAWN,
}


def dumped(resource: dict) -> str:
    return json.dumps(resource, ensure_ascii=False, indent=2) + "\n"


def extension(resource: dict, name: str) -> list[dict]:
    return [item for item in resource.get("extension", []) if item["url"].endswith(name)]


@pytest.mark.parametrize("version", [R5, R4B, R4])
@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_matches_its_golden_file(kind, version):
    resource = medication_administration(KINDS[kind], CONFIG, version)

    assert_golden(f"{kind}.{version.lower()}.json", dumped(resource))


@pytest.mark.parametrize("version", [R5, R4B, R4])
def test_every_kind_and_a_searchset_pass_a_validator_that_checks_invariants(version):
    # given: each kind of record, and a searchset of them all
    resources = [medication_administration(s, CONFIG, version) for s in EVERY_RECORD.values()]
    bundle = searchset_bundle(
        resources,
        total=len(resources),
        links={"self": "http://x/fhir/MedicationAdministration?patient=1&_count=50"},
        base_url="http://x/fhir",
        version=version,
    )

    # when: @medplum/core's validator reads them against the version's StructureDefinitions
    found = fhir_validator.errors([*resources, bundle], version)

    # then: no errors at all (the not-done records used to break mad-1)
    names = [*EVERY_RECORD, "searchset"]
    assert dict(zip(names, found, strict=True)) == {name: [] for name in names}


def test_the_validator_does_catch_a_broken_invariant():
    resource = medication_administration(GIVEN, CONFIG, R4)
    resource["dosage"] = {"route": resource["dosage"]["route"]}

    (found,) = fhir_validator.errors([resource], R4)

    assert any("mad-1" in error for error in found), found


@pytest.mark.parametrize("version", [R5, R4B, R4])
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


def test_not_given_has_a_reason_and_no_dosage():
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
    # a dosage without a dose breaks mad-1; the planned route and dose are in the request
    assert "dosage" not in resource
    assert resource["request"]["reference"] == f"MedicationRequest/{NOT_GIVEN.order_id}"


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


@pytest.mark.parametrize("version", [R5, R4B, R4])
def test_the_lot_is_in_a_contained_medications_batch(version):
    resource = medication_administration(PARTIAL, CONFIG, version)

    (medication,) = resource["contained"]
    assert medication["resourceType"] == "Medication"
    assert medication["batch"] == {"lotNumber": "MOR2605B", "expirationDate": "2027-05-31"}
    assert medication["code"]["coding"][0]["code"] == "08936012345094"
    reference = (
        resource["medication"]["reference"] if version == R5 else resource["medicationReference"]
    )
    assert reference["reference"] == "#medication"


def test_units_from_two_lots_keep_their_lots_per_unit_and_no_batch():
    two_lots = replace(
        PARTIAL, units=(*PARTIAL.units, replace(PARTIAL.units[0], lot="MOR2606C", serial="S9"))
    )

    resource = medication_administration(two_lots, CONFIG, R4)

    assert "contained" not in resource and "medicationCodeableConcept" in resource
    lots = [
        part["valueString"]
        for unit in extension(resource, "administered-unit")
        for part in unit["extension"]
        if part["url"] == "lotNumber"
    ]
    assert lots == ["MOR2605B", "MOR2606C"]


@pytest.mark.parametrize("version", [R5, R4B, R4])
def test_a_partial_dose_says_why_and_a_prn_dose_its_indication(version):
    resource = medication_administration(PARTIAL, CONFIG, version)

    if version == R5:
        reason = resource["subPotentReason"][0]
        indication = resource["reason"][0]["concept"]["text"]
    else:
        reason = extension(resource, "MedicationAdministration.subPotentReason")[0][
            "valueCodeableConcept"
        ]
        indication = resource["reasonCode"][0]["text"]
    assert reason["coding"][0]["code"] == "PATIENT_REFUSED_PART"
    assert reason["text"] == "Người bệnh từ chối một phần"
    assert indication == "Đau nhiều (VAS ≥ 7)"


def test_references_carry_the_his_visit_and_order_numbers():
    resource = medication_administration(GIVEN, CONFIG, R4)

    assert resource["context"]["identifier"]["value"] == "VV2026-004512"
    assert resource["request"]["identifier"]["value"] == "YL2026112400017"


@pytest.mark.parametrize("version", [R5, R4B, R4])
def test_the_patch_applied_passes_the_invariant_validator(version):
    resource = medication_administration(PATCH_APPLIED, CONFIG, version)

    assert fhir_validator.errors([resource], version) == [[]]


def test_a_patch_goes_out_with_its_site_in_snomed_and_table_0163():
    resource = medication_administration(PATCH_APPLIED, CONFIG, R5)

    assert resource["dosage"]["site"] == {
        "coding": [
            {
                "system": "http://snomed.info/sct",
                "code": "368208006",
                "display": "Left upper arm structure",
            },
            {
                "system": "http://terminology.hl7.org/CodeSystem/v2-0163",
                "code": "LUA",
                "display": "Left Upper Arm",
            },
        ],
        "text": "cánh tay trái",
    }
    assert resource["occurenceDateTime"] == "2026-11-24T08:10:00+07:00"


@pytest.mark.parametrize(("version", "field"), [(R5, "occurencePeriod"), (R4, "effectivePeriod")])
def test_a_removed_patch_is_administered_over_a_period(version, field):
    resource = medication_administration(PATCH_REMOVED, CONFIG, version)

    assert resource["id"] == str(PATCH_APPLIED.id)
    assert resource[field] == {
        "start": "2026-11-24T08:10:00+07:00",
        "end": "2026-11-27T08:05:00+07:00",
    }
    removal = extension(resource, "removal")[0]["extension"]
    assert {part["url"] for part in removal} == {"removedAt", "removedBy", "site", "scanned"}


@pytest.mark.parametrize("version", [R5, R4B, R4])
def test_the_values_measured_before_a_held_dose_are_observations_it_points_to(version):
    resource = medication_administration(KINDS["metoprolol_held_heart_rate"], CONFIG, version)

    observations = {
        item["id"]: item for item in resource["contained"] if item["resourceType"] == "Observation"
    }
    pointed = [ref["reference"].removeprefix("#") for ref in resource["supportingInformation"]]
    assert pointed == list(observations)
    heart_rate = observations[pointed[0]]
    assert heart_rate["code"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "8867-4",
        "display": "Heart rate",
    }
    assert heart_rate["valueQuantity"]["code"] == "/min"
    assert heart_rate["valueQuantity"]["value"] == 52
    assert heart_rate["subject"]["reference"] == resource["subject"]["reference"]
    assert heart_rate["category"][0]["coding"][0]["code"] == "vital-signs"
    assert resource["status"] == "not-done"
    assert fhir_validator.errors([resource], version) == [[]]
