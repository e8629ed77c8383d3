"""FHIR MedicationAdministration (R5, or R4B on request), validated with fhir.resources (pure).

Mapping of one administration record:

    id, identifier        the record's UUID
    status                completed | not-done | entered-in-error (also for a record that a later
                          entered-in-error record withdrew: a FHIR resource shows its current state)
    statusReason          why not given, or why withdrawn
    medication            GTIN codings of the units scanned + the formulary code; text = formulary name
    subject, encounter    Patient/<id> (with the MRN), Encounter/<admission id>
    occurence / recorded  when given / when recorded (R4B: effectiveDateTime; recorded as the R5
                          cross-version extension)
    performer             the nurse (function "performer") and the witness (function "witness")
    request               MedicationRequest/<order id>
    isSubPotent           a partial dose (R4B: the R5 cross-version extension)
    dosage                route (HL7 table 0162), site (text), dose (UCUM)
    extension             one administered-unit extension per unit (GTIN, lot, expiry, serial,
                          scanned or keyed); links to the record replaced / corrected / withdrawn by
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from fhir.resources.bundle import Bundle as BundleR5
from fhir.resources.medicationadministration import (
    MedicationAdministration as MedicationAdministrationR5,
)
from fhir.resources.R4B.bundle import Bundle as BundleR4B
from fhir.resources.R4B.medicationadministration import (
    MedicationAdministration as MedicationAdministrationR4B,
)

from interop.hl7v2 import ROUTES, UCUM
from interop.snapshot import COMPLETED, ENTERED_IN_ERROR, NOT_DONE, AdministrationSnapshot, Staff

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
R5 = "R5"
R4B = "R4B"
VERSIONS = {R5: "5.0", R4B: "4.3"}

GTIN_SYSTEM = "https://www.gs1.org/gtin"
UCUM_SYSTEM = "http://unitsofmeasure.org"
ROUTE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0162"
PERFORM_FUNCTION_SYSTEM = "http://terminology.hl7.org/CodeSystem/med-admin-perform-function"
R5_EXTENSION = "http://hl7.org/fhir/5.0/StructureDefinition/extension-MedicationAdministration."

STATUS = {
    COMPLETED: "completed",
    NOT_DONE: "not-done",
    ENTERED_IN_ERROR: "entered-in-error",
}
# fhir.resources does not check `status` against its value set (it only lists the codes), so we do.
ALLOWED_STATUS = frozenset(
    MedicationAdministrationR5.model_fields["status"].json_schema_extra["enum_values"]
)


@dataclass(frozen=True)
class FhirConfig:
    """Where our own code systems, identifiers and extensions live."""

    system_base: str = "https://bcma.example.vn/fhir"
    time_zone: str = "Asia/Ho_Chi_Minh"

    def system(self, kind: str, name: str) -> str:
        return f"{self.system_base}/{kind}/{name}"

    def extension(self, name: str) -> str:
        return self.system("StructureDefinition", name)


class FhirMappingError(ValueError):
    pass


def medication_administration(
    snapshot: AdministrationSnapshot, config: FhirConfig = FhirConfig(), version: str = R5
) -> dict:
    """The resource as JSON-ready data, after fhir.resources accepted it."""
    if version not in VERSIONS:
        raise FhirMappingError(f"unsupported FHIR version {version!r}")
    data = _resource(snapshot, config, version)
    if data["status"] not in ALLOWED_STATUS:
        raise FhirMappingError(
            f"status {data['status']!r} is not a MedicationAdministration status"
        )
    model = MedicationAdministrationR5 if version == R5 else MedicationAdministrationR4B
    return model.model_validate(data).model_dump(mode="json")


def searchset_bundle(
    resources: list[dict], *, total: int, links: dict[str, str], base_url: str, version: str = R5
) -> dict:
    """A searchset Bundle of already-mapped resources, validated like the resources."""
    data = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": [{"relation": relation, "url": url} for relation, url in links.items()],
        "entry": [
            {
                "fullUrl": f"{base_url.rstrip('/')}/MedicationAdministration/{resource['id']}",
                "resource": resource,
                "search": {"mode": "match"},
            }
            for resource in resources
        ],
    }
    model = BundleR5 if version == R5 else BundleR4B
    return model.model_validate(data).model_dump(mode="json")


def fhir_status(snapshot: AdministrationSnapshot) -> str:
    if snapshot.withdrawn_by is not None:
        return STATUS[ENTERED_IN_ERROR]
    return STATUS[snapshot.status]


def _resource(snapshot: AdministrationSnapshot, config: FhirConfig, version: str) -> dict:
    zone = ZoneInfo(config.time_zone)
    record = snapshot.clinical
    r5 = version == R5
    resource: dict = {
        "resourceType": "MedicationAdministration",
        "id": str(snapshot.id),
    }
    extensions = [_unit_extension(unit, config) for unit in record.units]
    if snapshot.replaces_id is not None:
        extensions.append(_link(config.extension("replaces"), snapshot.replaces_id))
    if snapshot.corrects is not None:
        extensions.append(_link(config.extension("corrects"), snapshot.corrects.id))
    if snapshot.withdrawn_by is not None:
        extensions.append(_link(config.extension("withdrawn-by"), snapshot.withdrawn_by.id))
    if not r5:
        extensions.append(
            {"url": R5_EXTENSION + "recorded", "valueDateTime": _dt(snapshot.recorded_at, zone)}
        )
        if record.status == COMPLETED and record.is_partial:
            extensions.append({"url": R5_EXTENSION + "isSubPotent", "valueBoolean": True})
    if extensions:
        resource["extension"] = extensions
    resource["identifier"] = [
        {"system": config.system("sid", "administration"), "value": str(snapshot.id)}
    ]
    resource["status"] = fhir_status(snapshot)
    reason = _status_reason(snapshot, config)
    if reason is not None:
        resource["statusReason"] = [reason]

    medication = _medication(snapshot, config)
    if r5:
        resource["medication"] = {"concept": medication}
    else:
        resource["medicationCodeableConcept"] = medication
    resource["subject"] = {
        "reference": f"Patient/{snapshot.patient.id}",
        "identifier": {"system": config.system("sid", "mrn"), "value": snapshot.patient.mrn},
        "display": _text(snapshot.patient.full_name) or snapshot.patient.mrn,
    }
    resource["encounter" if r5 else "context"] = {"reference": f"Encounter/{snapshot.encounter_id}"}
    resource["occurenceDateTime" if r5 else "effectiveDateTime"] = _dt(record.administered_at, zone)
    if r5:
        resource["recorded"] = _dt(snapshot.recorded_at, zone)
        if record.status == COMPLETED and record.is_partial:
            resource["isSubPotent"] = True
    performers = [_performer(record.performer, "performer", "Performer", config, r5)]
    if record.witness is not None:
        performers.append(_performer(record.witness, "witness", "Witness", config, r5))
    resource["performer"] = performers
    resource["request"] = {"reference": f"MedicationRequest/{snapshot.order_id}"}
    comments = (record.comment, snapshot.comment if snapshot.corrects else "")
    notes = [_text(comment) for comment in comments if _text(comment)]
    if notes:
        resource["note"] = [{"text": text} for text in notes]
    resource["dosage"] = _dosage(snapshot)
    return resource


def _status_reason(snapshot: AdministrationSnapshot, config: FhirConfig) -> dict | None:
    withdrawal = snapshot.withdrawn_by
    if withdrawal is not None:
        code, label, system = withdrawal.reason, withdrawal.reason_label, "correction-reason"
    elif snapshot.status == ENTERED_IN_ERROR:
        code, label, system = snapshot.reason, snapshot.reason_label, "correction-reason"
    elif snapshot.status == NOT_DONE:
        code, label, system = snapshot.reason, snapshot.reason_label, "not-given-reason"
    else:
        return None
    if not code:
        return None
    return {
        "coding": [
            {"system": config.system("CodeSystem", system), "code": code, "display": label or code}
        ],
        "text": label or code,
    }


def _medication(snapshot: AdministrationSnapshot, config: FhirConfig) -> dict:
    name = _text(snapshot.medication_name) or snapshot.medication_code
    codings = [
        {"system": GTIN_SYSTEM, "code": gtin, "display": name} for gtin in snapshot.clinical.gtins
    ]
    codings.append(
        {
            "system": config.system("CodeSystem", "formulary"),
            "code": snapshot.medication_code,
            "display": name,
        }
    )
    return {"coding": codings, "text": name}


def _performer(staff: Staff, code: str, display: str, config: FhirConfig, r5: bool) -> dict:
    reference = {
        "identifier": {"system": config.system("sid", "staff"), "value": staff.username},
        "display": _text(staff.display) or staff.username,
    }
    return {
        "function": {
            "coding": [{"system": PERFORM_FUNCTION_SYSTEM, "code": code, "display": display}]
        },
        "actor": {"reference": reference} if r5 else reference,
    }


def _dosage(snapshot: AdministrationSnapshot) -> dict:
    record = snapshot.clinical
    route = record.route or snapshot.order_route
    dosage: dict = {}
    if _text(record.site):
        dosage["site"] = {"text": _text(record.site)}
    if route:
        dosage["route"] = {
            "coding": [{"system": ROUTE_SYSTEM, "code": route, "display": ROUTES.get(route, route)}]
        }
    if record.status == COMPLETED and record.amount is not None and record.unit:
        code, text = UCUM.get(record.unit, (record.unit, record.unit))
        dosage["dose"] = {
            "value": Decimal(f"{record.amount.normalize():f}"),
            "unit": text,
            "system": UCUM_SYSTEM,
            "code": code,
        }
    return dosage


def _unit_extension(unit, config: FhirConfig) -> dict:
    parts = [{"url": "gtin", "valueString": unit.gtin}]
    if unit.lot:
        parts.append({"url": "lotNumber", "valueString": unit.lot})
    if unit.expiry is not None:
        parts.append({"url": "expirationDate", "valueDate": unit.expiry.isoformat()})
    if unit.serial:
        parts.append({"url": "serialNumber", "valueString": unit.serial})
    parts.append({"url": "scanned", "valueBoolean": unit.scanned})
    return {"url": config.extension("administered-unit"), "extension": parts}


def _text(value: str) -> str:
    """FHIR strings allow no control characters but line breaks and tabs, and no blank values
    (fhir.resources lets both through, so we clean them here)."""
    return _CONTROL.sub(" ", value).strip()


def _link(url: str, target) -> dict:
    return {"url": url, "valueReference": {"reference": f"MedicationAdministration/{target}"}}


def _dt(moment: datetime, zone) -> str:
    if moment.tzinfo is None:
        raise FhirMappingError("times must be timezone-aware")
    return moment.astimezone(zone).replace(microsecond=0).isoformat()
