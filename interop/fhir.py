"""FHIR resources (R5, R4B or R4 4.0.1), checked with fhir.resources (pure).

Mapping of one administration record to MedicationAdministration:

    id, identifier        the record's UUID
    status                completed | not-done | entered-in-error (also for a record that a later
                          entered-in-error record withdrew: a FHIR resource shows its current state)
    statusReason          why not given, or why withdrawn
    medication            GTIN codings of the units scanned + the formulary code; text = formulary
                          name. When the units share one lot, a contained Medication carries the
                          codes and `batch` (lot, expiry), and the resource refers to it
    subject, encounter    Patient/<id> (with the MRN), Encounter/<admission id> (with the HIS's
                          visit number); R4/R4B: `context`
    occurence / recorded  when given / when recorded (R4/R4B: effectiveDateTime; recorded as the R5
                          cross-version extension)
    performer             the nurse (function "performer") and the witness (function "witness")
    request               MedicationRequest/<order id> (with the HIS's placer order number)
    reason                the PRN indication of an as-needed order (R4/R4B: reasonCode)
    isSubPotent           a partial dose, subPotentReason why (R4/R4B: R5 cross-version extensions)
    dosage                route (HL7 table 0162), site (SNOMED CT and HL7 table 0163 when coded, with
                          the Vietnamese name as text; old free text as text), dose (UCUM); no dosage at all for a
                          dose not given (invariant mad-1: a dosage needs a dose or a rate)
    extension             one administered-unit extension per unit (GTIN, lot, expiry, serial,
                          scanned or keyed); links to the record replaced / corrected / withdrawn by

R4 and R4B MedicationAdministration, Patient, Encounter and MedicationRequest are the same shape,
so R4 output is checked against fhir.resources' R4B models (it has no R4 package) and, in the
tests, against an R4 validator that evaluates every invariant (@medplum/core).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from fhir.resources import get_fhir_model_class as r5_model
from fhir.resources.R4B import get_fhir_model_class as r4b_model

from interop.hl7v2 import ROUTES, UCUM
from interop.snapshot import (
    COMPLETED,
    ENTERED_IN_ERROR,
    NOT_DONE,
    AdministrationSnapshot,
    Encounter,
    InfusionState,
    Measurement,
    Order,
    Patient,
    RemovalNote,
    Staff,
    Unit,
    WasteSnapshot,
)
from pharmacy.assessments import ASSESSMENT_KINDS, LOINC_SYSTEM
from pharmacy.body_sites import SNOMED_SYSTEM, site_get

# What we give fhir.resources to check: JSON-shaped, with exact Decimal quantities.
type FhirValue = (
    str | int | float | bool | Decimal | Sequence[FhirValue] | Mapping[str, FhirValue] | None
)
type FhirData = dict[str, FhirValue]
# What it gives back (`model_dump(mode="json")`): a resource as JSON.
type Json = str | int | float | bool | list[Json] | dict[str, Json] | None
type Resource = dict[str, Json]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
R5 = "R5"
R4B = "R4B"
R4 = "R4"
# The MIME-type parameter (`fhirVersion=4.0`) and the full version of each release we serve.
VERSIONS = {R5: "5.0", R4B: "4.3", R4: "4.0"}
FULL_VERSIONS = {R5: "5.0.0", R4B: "4.3.0", R4: "4.0.1"}

GTIN_SYSTEM = "https://www.gs1.org/gtin"
UCUM_SYSTEM = "http://unitsofmeasure.org"
ROUTE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0162"
SITE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0163"
IDENTIFIER_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0203"
ACT_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
# HL7 NamingSystem "GLN" (GS1 Global Location Number): a hospital is known by its GLN.
GLN_SYSTEM = "urn:oid:2.51.1.3"
PERFORM_FUNCTION_SYSTEM = "http://terminology.hl7.org/CodeSystem/med-admin-perform-function"
R5_EXTENSION = "http://hl7.org/fhir/5.0/StructureDefinition/extension-MedicationAdministration."
CONTAINED_MEDICATION = "medication"

STATUS = {
    COMPLETED: "completed",
    NOT_DONE: "not-done",
    ENTERED_IN_ERROR: "entered-in-error",
}


# fhir.resources does not check `status` against its value set (it only lists the codes), so we do.
def _enum_values(resource_type: str, field: str) -> frozenset[str]:
    """The codes fhir.resources lists for a coded element (in its JSON schema extra)."""
    extra = r5_model(resource_type).model_fields[field].json_schema_extra
    values = extra.get("enum_values") if isinstance(extra, dict) else None
    if not isinstance(values, list):
        raise TypeError(f"fhir.resources lists no codes for {resource_type}.{field}")
    return frozenset(str(value) for value in values)


ALLOWED_STATUS = _enum_values("MedicationAdministration", "status")
# pharmacy.models.OrderStatus → MedicationRequest.status. An order awaiting the pharmacist is not
# yet actionable: FHIR's "draft" ("requires sign-off, verification …").
ORDER_STATUS = {
    "pending_verification": "draft",
    "active": "active",
    "on_hold": "on-hold",
    "discontinued": "stopped",
    "completed": "completed",
}
GENDER = {"F": "female", "M": "male", "O": "other", "U": "unknown"}


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


def validated(data: FhirData, version: str) -> Resource:
    """`data` after fhir.resources accepted it, as JSON-ready data."""
    if version not in VERSIONS:
        raise FhirMappingError(f"unsupported FHIR version {version!r}")
    resource_type = data["resourceType"]
    if not isinstance(resource_type, str):
        raise FhirMappingError(f"resourceType must be a string, not {resource_type!r}")
    model = (r5_model if version == R5 else r4b_model)(resource_type)
    resource: Resource = model.model_validate(data).model_dump(mode="json")
    return resource


def medication_administration(
    snapshot: AdministrationSnapshot, config: FhirConfig = FhirConfig(), version: str = R5
) -> Resource:
    """The resource as JSON-ready data, after fhir.resources accepted it."""
    if version not in VERSIONS:
        raise FhirMappingError(f"unsupported FHIR version {version!r}")
    data = _resource(snapshot, config, version)
    if data["status"] not in ALLOWED_STATUS:
        raise FhirMappingError(
            f"status {data['status']!r} is not a MedicationAdministration status"
        )
    return validated(data, version)


def searchset_bundle(
    resources: list[Resource],
    *,
    total: int,
    links: dict[str, str],
    base_url: str,
    version: str = R5,
) -> Resource:
    """A searchset Bundle of already-mapped resources, validated like the resources."""
    data: FhirData = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": [{"relation": relation, "url": url} for relation, url in links.items()],
    }
    if resources:
        data["entry"] = [
            {
                "fullUrl": f"{base_url.rstrip('/')}/{resource['resourceType']}/{resource['id']}",
                "resource": resource,
                "search": {"mode": "match"},
            }
            for resource in resources
        ]
    return validated(data, version)


# A bag's life (scanning.models.InfusionEventKind) → MedicationAdministration.status.
BAG_STATUS = {
    "started": "in-progress",
    "rate_changed": "in-progress",
    "resumed": "in-progress",
    "paused": "on-hold",
    "completed": "completed",
    "stopped": "stopped",
}


def fhir_status(snapshot: AdministrationSnapshot) -> str:
    if snapshot.withdrawn_by is not None:
        return STATUS[ENTERED_IN_ERROR]
    if snapshot.infusion is not None and snapshot.status == COMPLETED:
        return BAG_STATUS[snapshot.infusion.event]
    return STATUS[snapshot.status]


# One branch per optional element of MedicationAdministration and per FHIR version: read
# together against the spec; split, the R4B/R5 differences would be scattered.
def _resource(snapshot: AdministrationSnapshot, config: FhirConfig, version: str) -> FhirData:  # noqa: C901
    zone = ZoneInfo(config.time_zone)
    record = snapshot.clinical
    r5 = version == R5
    resource: FhirData = {
        "resourceType": "MedicationAdministration",
        "id": str(snapshot.id),
    }
    medication = _medication(snapshot, config)
    batch = _batch(snapshot)
    contained: list[FhirData] = []
    if batch is not None:
        contained.append(
            {
                "resourceType": "Medication",
                "id": CONTAINED_MEDICATION,
                "code": medication,
                "batch": batch,
            }
        )
    withdrawn = snapshot.withdrawn_by is not None or snapshot.corrects is not None
    observations = [
        _observation(measurement, snapshot.patient, record.administered_at, zone, withdrawn)
        for measurement in record.assessments
    ]
    contained.extend(observations)
    if contained:
        resource["contained"] = contained
    extensions = [_unit_extension(unit, config) for unit in record.units]
    if snapshot.replaces_id is not None:
        extensions.append(_link(config.extension("replaces"), snapshot.replaces_id))
    if snapshot.corrects is not None:
        extensions.append(_link(config.extension("corrects"), snapshot.corrects.id))
    if snapshot.withdrawn_by is not None:
        extensions.append(_link(config.extension("withdrawn-by"), snapshot.withdrawn_by.id))
    if snapshot.removed is not None:
        extensions.append(_removal_extension(snapshot.removed, config, zone))
    waste = record.waste if snapshot.status == COMPLETED else None
    if waste is not None:
        extensions.append(_waste_extension(waste, config, zone))
    sub_potent = record.status == COMPLETED and record.is_partial
    sub_potent_reason = _sub_potent_reason(record, config) if sub_potent else None
    if not r5:
        extensions.append(
            {"url": R5_EXTENSION + "recorded", "valueDateTime": _dt(snapshot.recorded_at, zone)}
        )
        if sub_potent:
            extensions.append({"url": R5_EXTENSION + "isSubPotent", "valueBoolean": True})
        if sub_potent_reason is not None:
            extensions.append(
                {"url": R5_EXTENSION + "subPotentReason", "valueCodeableConcept": sub_potent_reason}
            )
    if extensions:
        resource["extension"] = extensions
    resource["identifier"] = [
        {"system": config.system("sid", "administration"), "value": str(snapshot.id)}
    ]
    resource["status"] = fhir_status(snapshot)
    reason = _status_reason(snapshot, config)
    if reason is not None:
        resource["statusReason"] = [reason]

    reference = {"reference": f"#{CONTAINED_MEDICATION}"} if batch is not None else None
    if r5:
        medication_element: FhirData = {"concept": medication}
        if reference is not None:
            medication_element["reference"] = reference
        resource["medication"] = medication_element
    elif reference is not None:
        resource["medicationReference"] = {**reference, "display": medication["text"]}
    else:
        resource["medicationCodeableConcept"] = medication
    resource["subject"] = _patient_reference(snapshot.patient, config)
    resource["encounter" if r5 else "context"] = _encounter_reference(
        snapshot.encounter_id, snapshot.visit_number, config
    )
    bag = record.infusion if record.status == COMPLETED else None
    if bag is not None:
        # A bag runs over a period: open while it runs, closed when it is taken down.
        period = {"start": _dt(bag.started_at, zone)}
        if bag.ended_at is not None:
            period["end"] = _dt(bag.ended_at, zone)
        resource["occurencePeriod" if r5 else "effectivePeriod"] = period
    elif snapshot.removed is not None:
        # A patch is administered over a period: from applied to removed.
        resource["occurencePeriod" if r5 else "effectivePeriod"] = {
            "start": _dt(record.administered_at, zone),
            "end": _dt(snapshot.removed.removed_at, zone),
        }
    else:
        resource["occurenceDateTime" if r5 else "effectiveDateTime"] = _dt(
            record.administered_at, zone
        )
    if r5:
        resource["recorded"] = _dt(snapshot.recorded_at, zone)
        if sub_potent:
            resource["isSubPotent"] = True
        if sub_potent_reason is not None:
            resource["subPotentReason"] = [sub_potent_reason]
    performers = [_performer(record.performer, "performer", "Performer", config, r5)]
    if record.witness is not None:
        performers.append(_performer(record.witness, "witness", "Witness", config, r5))
    if record.cosigner is not None:
        # A student nurse's clinical instructor, who co-signed the record at the bedside: the
        # code system's "verifier" (it has performer, verifier and witness, no co-signer).
        performers.append(_performer(record.cosigner, "verifier", "Verifier", config, r5))
    resource["performer"] = performers
    indication = _text(snapshot.prn_indication)
    if indication:
        if r5:
            resource["reason"] = [{"concept": {"text": indication}}]
        else:
            resource["reasonCode"] = [{"text": indication}]
    resource["request"] = _order_reference(snapshot.order_id, snapshot.placer_order_number, config)
    comments = (record.comment, snapshot.comment if snapshot.corrects else "")
    notes = [_text(comment) for comment in comments if _text(comment)]
    if waste is not None:
        notes.append(_waste_note(waste))
    if notes:
        resource["note"] = [{"text": text} for text in notes]
    if observations:
        # What was measured before giving (or holding) the dose: R4B and R5 both name it so.
        resource["supportingInformation"] = [
            {"reference": f"#{_observation_id(measurement)}", "display": _kind_text(measurement)}
            for measurement in record.assessments
        ]
    dosage = _dosage(snapshot)
    if dosage is not None:
        resource["dosage"] = dosage
    return resource


OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"


def _observation_id(measurement: Measurement) -> str:
    return f"assessment-{measurement.id}"


def _kind_text(measurement: Measurement) -> str:
    kind = ASSESSMENT_KINDS.get(measurement.kind)
    return kind.en if kind is not None else measurement.kind


def _observation(
    measurement: Measurement,
    patient: Patient,
    measured_at: datetime,
    zone: ZoneInfo,
    withdrawn: bool,
) -> FhirData:
    """A value measured before the dose, contained in its MedicationAdministration."""
    kind = ASSESSMENT_KINDS.get(measurement.kind)
    category = "vital-signs" if kind is not None and kind.vital_sign else "exam"
    if kind is not None and kind.code in ("blood_glucose", "inr", "aptt"):
        category = "laboratory"
    code: FhirData = (
        {
            "coding": [{"system": LOINC_SYSTEM, "code": kind.loinc, "display": kind.loinc_display}],
            "text": _kind_text(measurement),
        }
        if kind is not None
        else {"text": _kind_text(measurement)}
    )
    return {
        "resourceType": "Observation",
        "id": _observation_id(measurement),
        "status": "entered-in-error" if withdrawn else "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": category}]}],
        "code": code,
        "subject": {"reference": f"Patient/{patient.id}"},
        "effectiveDateTime": _dt(measured_at, zone),
        "valueQuantity": {
            "value": Decimal(f"{measurement.value.normalize():f}"),
            "unit": kind.unit_en if kind is not None and kind.unit_en else measurement.unit,
            "system": UCUM_SYSTEM,
            "code": measurement.unit,
        },
    }


def _patient_reference(patient: Patient, config: FhirConfig) -> FhirData:
    return {
        "reference": f"Patient/{patient.id}",
        "identifier": {"system": config.system("sid", "mrn"), "value": patient.mrn},
        "display": _text(patient.full_name) or patient.mrn,
    }


def _encounter_reference(
    encounter_id: uuid.UUID, visit_number: str, config: FhirConfig
) -> FhirData:
    reference: FhirData = {"reference": f"Encounter/{encounter_id}"}
    if visit_number:
        reference["identifier"] = {
            "system": config.system("sid", "visit-number"),
            "value": visit_number,
        }
    return reference


def _order_reference(order_id: uuid.UUID, placer_order_number: str, config: FhirConfig) -> FhirData:
    reference: FhirData = {"reference": f"MedicationRequest/{order_id}"}
    if placer_order_number:
        reference["identifier"] = {
            "system": config.system("sid", "placer-order-number"),
            "value": placer_order_number,
        }
    return reference


def _status_reason(snapshot: AdministrationSnapshot, config: FhirConfig) -> FhirData | None:
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
    return _concept(config.system("CodeSystem", system), code, label)


def _sub_potent_reason(record: AdministrationSnapshot, config: FhirConfig) -> FhirData | None:
    if not record.partial_reason:
        return None
    return _concept(
        config.system("CodeSystem", "partial-dose-reason"),
        record.partial_reason,
        record.partial_reason_label,
    )


def _concept(system: str, code: str, label: str) -> FhirData:
    text = _text(label) or code
    return {"coding": [{"system": system, "code": code, "display": text}], "text": text}


def _medication(snapshot: AdministrationSnapshot, config: FhirConfig) -> FhirData:
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


def _batch(snapshot: AdministrationSnapshot) -> FhirData | None:
    """Medication.batch holds one lot: only when every unit given came from the same one (two
    lots stay in the per-unit extensions)."""
    lots = snapshot.clinical.lots
    if len(lots) != 1:
        return None
    lot, expiry = lots[0]
    batch: FhirData = {"lotNumber": _text(lot)}
    if expiry is not None:
        batch["expirationDate"] = expiry.isoformat()
    return batch


def _performer(staff: Staff, code: str, display: str, config: FhirConfig, r5: bool) -> FhirData:
    reference: FhirData = {
        "identifier": {"system": config.system("sid", "staff"), "value": staff.username},
        "display": _text(staff.display) or staff.username,
    }
    return {
        "function": {
            "coding": [{"system": PERFORM_FUNCTION_SYSTEM, "code": code, "display": display}]
        },
        "actor": {"reference": reference} if r5 else reference,
    }


def _quantity(amount: Decimal, unit: str) -> FhirData:
    code, text = UCUM.get(unit, (unit, unit))
    return {
        "value": Decimal(f"{amount.normalize():f}"),
        "unit": text,
        "system": UCUM_SYSTEM,
        "code": code,
    }


def _route(route: str) -> FhirData:
    return {
        "coding": [{"system": ROUTE_SYSTEM, "code": route, "display": ROUTES.get(route, route)}]
    }


def _dosage(snapshot: AdministrationSnapshot) -> FhirData | None:
    """Route, site and dose of what was given; None when no dose was given (a dosage without a
    dose or a rate breaks invariant mad-1 in every version)."""
    record = snapshot.clinical
    if record.status != COMPLETED or record.amount is None or not record.unit:
        return None
    route = record.route or snapshot.order_route
    dosage: FhirData = {}
    site = _site(record.site)
    if site is not None:
        dosage["site"] = site
    if route:
        dosage["route"] = _route(route)
    if record.infusion is not None:
        return {**dosage, **_bag_dosage(record.infusion)}
    dosage["dose"] = _quantity(record.amount, record.unit)
    return dosage


def _bag_dosage(bag: InfusionState) -> FhirData:
    """A running (or paused: 0 mL/h) bag is told by its rate, a bag taken down by the volume it
    gave: either satisfies mad-1 (a dosage has a dose or a rate)."""
    if bag.ended:
        return {"dose": _quantity(bag.volume_infused_ml or Decimal(0), "mL")}
    return {
        "rateQuantity": {
            "value": Decimal(f"{(bag.rate_ml_h or Decimal(0)).normalize():f}"),
            "unit": "mL/h",
            "system": UCUM_SYSTEM,
            "code": "mL/h",
        }
    }


def _waste_extension(waste: WasteSnapshot, config: FhirConfig, zone: ZoneInfo) -> FhirData:
    """The part of the units not given (no FHIR element holds it): the dose stays in
    `dosage.dose`, the amount destroyed and its witness here, and in words in `note`."""
    parts: list[FhirData] = [
        {"url": "amount", "valueQuantity": _quantity(waste.amount, waste.unit)},
        {
            "url": "reason",
            "valueCoding": {
                "system": config.system("CodeSystem", "waste-reason"),
                "code": waste.reason,
                "display": _text(waste.reason_label) or waste.reason,
            },
        },
        {"url": "wastedAt", "valueDateTime": _dt(waste.wasted_at, zone)},
    ]
    if waste.witness is not None:
        parts.append(
            {
                "url": "witness",
                "valueReference": {
                    "identifier": {
                        "system": config.system("sid", "staff"),
                        "value": waste.witness.username,
                    },
                    "display": _text(waste.witness.display) or waste.witness.username,
                },
            }
        )
    return {"url": config.extension("waste"), "extension": parts}


def _waste_note(waste: WasteSnapshot) -> str:
    amount = f"{waste.amount.normalize():f} {waste.unit}"
    # In the language of the record's other words (the nurses' comments, the reason labels).
    witness = f"; người chứng kiến: {waste.witness.display}" if waste.witness is not None else ""
    return _text(f"Huỷ bỏ {amount} ({waste.reason_label or waste.reason}){witness}.")


def _site(value: str) -> FhirData | None:
    """A coded site as SNOMED CT and HL7 table 0163 with its Vietnamese name; old free text as
    text."""
    site = site_get(value)
    if site is None:
        return {"text": _text(value)} if _text(value) else None
    return {
        "coding": [
            {"system": SNOMED_SYSTEM, "code": site.snomed, "display": site.snomed_display},
            {"system": SITE_SYSTEM, "code": site.code, "display": site.hl7},
        ],
        "text": site.vi,
    }


def _removal_extension(removed: RemovalNote, config: FhirConfig, zone: ZoneInfo) -> FhirData:
    parts: list[FhirData] = [
        {"url": "removedAt", "valueDateTime": _dt(removed.removed_at, zone)},
        {
            "url": "removedBy",
            "valueReference": {
                "identifier": {
                    "system": config.system("sid", "staff"),
                    "value": removed.performer.username,
                },
                "display": _text(removed.performer.display) or removed.performer.username,
            },
        },
    ]
    site = _site(removed.site)
    if site is not None:
        parts.append({"url": "site", "valueCodeableConcept": site})
    parts.append({"url": "scanned", "valueBoolean": removed.scanned})
    return {"url": config.extension("removal"), "extension": parts}


def _unit_extension(unit: Unit, config: FhirConfig) -> FhirData:
    parts: list[FhirData] = [{"url": "gtin", "valueString": unit.gtin}]
    if unit.lot:
        parts.append({"url": "lotNumber", "valueString": unit.lot})
    if unit.expiry is not None:
        parts.append({"url": "expirationDate", "valueDate": unit.expiry.isoformat()})
    if unit.serial:
        parts.append({"url": "serialNumber", "valueString": unit.serial})
    parts.append({"url": "scanned", "valueBoolean": unit.scanned})
    return {"url": config.extension("administered-unit"), "extension": parts}


# --- Patient, Encounter, MedicationRequest: what our references point at ----------------------


def patient(record: Patient, config: FhirConfig = FhirConfig(), version: str = R5) -> Resource:
    identifiers = [
        _identifier(config.system("sid", "mrn"), record.mrn, "MR", "Medical record number")
    ]
    if record.national_id:
        identifiers.append(
            _identifier(
                config.system("sid", "national-id"), record.national_id, "NI", "National ID"
            )
        )
    if record.health_insurance_number:
        identifiers.append(
            _identifier(
                config.system("sid", "health-insurance"),
                record.health_insurance_number,
                "SN",
                "Health insurance number",
            )
        )
    data: FhirData = {
        "resourceType": "Patient",
        "id": str(record.id),
        "identifier": identifiers,
        "active": True,
    }
    name = _human_name(record)
    if name:
        data["name"] = [name]
    data["gender"] = GENDER.get(record.sex, "unknown")
    data["birthDate"] = record.date_of_birth.isoformat()
    if record.deceased_at is not None:
        data["deceasedDateTime"] = _dt(record.deceased_at, ZoneInfo(config.time_zone))
    return validated(data, version)


def _human_name(record: Patient) -> FhirData:
    """A Vietnamese name is written family name first: "Nguyễn Văn An" is family "Nguyễn" and the
    given names "Văn", "An" in the order written (FHIR's given includes middle names)."""
    text = _text(record.full_name)
    if not text:
        return {}
    words = text.split()
    name: FhirData = {"use": "official", "text": text, "family": words[0]}
    if len(words) > 1:
        name["given"] = words[1:]
    return name


def _identifier(system: str, value: str, type_code: str, type_text: str) -> FhirData:
    return {
        "type": {
            "coding": [{"system": IDENTIFIER_TYPE_SYSTEM, "code": type_code}],
            "text": type_text,
        },
        "system": system,
        "value": value,
    }


def encounter(record: Encounter, config: FhirConfig = FhirConfig(), version: str = R5) -> Resource:
    zone = ZoneInfo(config.time_zone)
    r5 = version == R5
    data: FhirData = {"resourceType": "Encounter", "id": str(record.id)}
    if record.visit_number:
        data["identifier"] = [
            _identifier(
                config.system("sid", "visit-number"), record.visit_number, "VN", "Visit number"
            )
        ]
    finished = record.discharged_at is not None
    data["status"] = ("completed" if r5 else "finished") if finished else "in-progress"
    inpatient = {"system": ACT_CODE_SYSTEM, "code": "IMP", "display": "inpatient encounter"}
    data["class"] = [{"coding": [inpatient]}] if r5 else inpatient
    data["subject"] = _patient_reference(record.patient, config)
    period = {"start": _dt(record.admitted_at, zone)}
    if record.discharged_at is not None:  # finished
        period["end"] = _dt(record.discharged_at, zone)
    data["actualPeriod" if r5 else "period"] = period
    places = [("ward", record.ward_code, record.ward_name or record.ward_code)]
    if record.bed_code:
        places.append(("bed", f"{record.ward_code}/{record.bed_code}", record.bed_code))
    data["location"] = [
        {
            "location": {
                "identifier": {"system": config.system("sid", kind), "value": value},
                "display": _text(display) or value,
            },
            "status": "completed" if finished else "active",
        }
        for kind, value, display in places
    ]
    if record.hospital_gln:
        # A logical reference: the receiver knows the hospital by its GLN, with no Organization
        # resource of ours to read.
        data["serviceProvider"] = {
            "identifier": {"system": GLN_SYSTEM, "value": record.hospital_gln},
            "display": _text(record.hospital_name) or record.hospital_gln,
        }
    return validated(data, version)


def medication_request(
    record: Order, config: FhirConfig = FhirConfig(), version: str = R5
) -> Resource:
    zone = ZoneInfo(config.time_zone)
    r5 = version == R5
    data: FhirData = {"resourceType": "MedicationRequest", "id": str(record.id)}
    identifiers = []
    if record.placer_order_number:
        identifiers.append(
            _identifier(
                config.system("sid", "placer-order-number"),
                record.placer_order_number,
                "PLAC",
                "Placer order number",
            )
        )
    if record.filler_order_number:
        identifiers.append(
            _identifier(
                config.system("sid", "filler-order-number"),
                record.filler_order_number,
                "FILL",
                "Filler order number",
            )
        )
    if identifiers:
        data["identifier"] = identifiers
    data["status"] = ORDER_STATUS[record.status]
    if _text(record.status_reason):
        data["statusReason"] = {"text": _text(record.status_reason)}
    data["intent"] = "order"
    name = _text(record.medication_name) or record.medication_code
    medication: FhirData = {
        "coding": [
            {
                "system": config.system("CodeSystem", "formulary"),
                "code": record.medication_code,
                "display": name,
            }
        ],
        "text": name,
    }
    if r5:
        data["medication"] = {"concept": medication}
    else:
        data["medicationCodeableConcept"] = medication
    data["subject"] = _patient_reference(record.patient, config)
    data["encounter"] = _encounter_reference(record.encounter_id, record.visit_number, config)
    data["authoredOn"] = _dt(record.authored_at, zone)
    if _text(record.prescriber_name):
        data["requester"] = {"display": _text(record.prescriber_name)}
    data["dosageInstruction"] = [_dosage_instruction(record, zone, r5)]
    return validated(data, version)


def _dosage_instruction(record: Order, zone: ZoneInfo, r5: bool) -> FhirData:
    dosage: FhirData = {}
    if _text(record.instructions):
        dosage["text"] = _text(record.instructions)
    bounds = {"start": _dt(record.start_at, zone)}
    if record.stop_at is not None:
        bounds["end"] = _dt(record.stop_at, zone)
    repeat: FhirData = {"boundsPeriod": bounds}
    if record.schedule_kind == "times" and record.times_of_day:
        repeat["timeOfDay"] = [f"{value}:00" for value in record.times_of_day]
    elif record.schedule_kind == "interval" and record.interval_hours:
        repeat.update(frequency=1, period=record.interval_hours, periodUnit="h")
    elif record.schedule_kind == "prn" and record.prn_min_interval_minutes:
        # "As needed, at most once every N minutes".
        repeat.update(frequency=1, period=record.prn_min_interval_minutes, periodUnit="min")
    dosage["timing"] = {"repeat": repeat}
    if record.schedule_kind == "prn":
        indication = _text(record.prn_indication)
        if r5:
            dosage["asNeeded"] = True
            if indication:
                dosage["asNeededFor"] = [{"text": indication}]
        elif indication:
            dosage["asNeededCodeableConcept"] = {"text": indication}
        else:
            dosage["asNeededBoolean"] = True
    dosage["route"] = _route(record.route)
    dosage["doseAndRate"] = [{"doseQuantity": _quantity(record.dose_value, record.dose_unit)}]
    if record.schedule_kind == "prn" and record.prn_max_per_24h:
        per_day: FhirData = {
            "numerator": _quantity(record.prn_max_per_24h, record.dose_unit),
            "denominator": {"value": 24, "unit": "h", "system": UCUM_SYSTEM, "code": "h"},
        }
        dosage["maxDosePerPeriod"] = [per_day] if r5 else per_day
    return dosage


# --- OperationOutcome and CapabilityStatement --------------------------------------------------

# HTTP status → OperationOutcome.issue.code (FHIR value set issue-type).
ISSUE_TYPES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    410: "deleted",
    413: "too-costly",
    415: "not-supported",
    422: "processing",
    429: "throttled",
    503: "transient",
}


def operation_outcome(
    *,
    status: int,
    code: str,
    message: str,
    config: FhirConfig = FhirConfig(),
    version: str = R5,
    expression: str = "",
) -> Resource:
    """An error as FHIR says servers report them: one issue with the issue type for the HTTP
    status, our stable error code as its details, the message as text and, when known, the
    FHIRPath of the part of the request at fault (e.g. `Bundle.entry[2].resource.status`)."""
    text = _text(message) or code
    issue: FhirData = {
        "severity": "error" if status < 500 else "fatal",
        "code": ISSUE_TYPES.get(status, "exception"),
        "details": {
            "coding": [{"system": config.system("CodeSystem", "error"), "code": code}],
            "text": text,
        },
        "diagnostics": text,
    }
    if _text(expression):
        issue["expression"] = [_text(expression)]
    return validated({"resourceType": "OperationOutcome", "issue": [issue]}, version)


def transaction_response_bundle(
    outcomes: list[tuple[str, str]], *, base_url: str, version: str = R5
) -> Resource:
    """The answer to a transaction: one entry per request entry, in its order, with the HTTP
    status ("201 Created", "200 OK") and where the record is (`Patient/<id>`)."""
    data: FhirData = {
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": [
            {
                "fullUrl": f"{base_url.rstrip('/')}/{location}",
                "response": {"status": status, "location": location},
            }
            for status, location in outcomes
        ],
    }
    return validated(data, version)


@dataclass(frozen=True)
class SearchParam:
    name: str
    type: str  # FHIR search parameter type: token, date, reference, number, string
    documentation: str


@dataclass(frozen=True)
class ServedResource:
    type: str
    search_params: tuple[SearchParam, ...] = ()
    documentation: str = ""
    # "read", and "create" / "update" when the transaction takes the resource.
    interactions: tuple[str, ...] = ("read",)
    # Create and update are conditional on the identifier (ifNoneExist, PUT ?identifier=).
    conditional: bool = False


def capability_statement(
    resources: list[ServedResource],
    *,
    base_url: str,
    software_version: str,
    released: date,
    security: str,
    version: str = R5,
    transaction: str = "",
) -> Resource:
    """What this server serves, for one FHIR version: reads, search where it has parameters,
    create/update inside a transaction where taken; `transaction` documents the system-level
    transaction interaction (none when empty)."""
    rest_resources = []
    for served in resources:
        interactions = [{"code": code} for code in served.interactions]
        entry: FhirData = {"type": served.type}
        if served.documentation:
            entry["documentation"] = served.documentation
        if served.search_params:
            interactions.append({"code": "search-type"})
        entry["interaction"] = interactions
        entry["versioning"] = "no-version"
        entry["readHistory"] = False
        entry["updateCreate"] = "update" in served.interactions
        if served.conditional:
            entry["conditionalCreate"] = "create" in served.interactions
            entry["conditionalUpdate"] = "update" in served.interactions
        if served.search_params:
            entry["searchParam"] = [
                {"name": param.name, "type": param.type, "documentation": param.documentation}
                for param in served.search_params
            ]
        rest_resources.append(entry)
    data: FhirData = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": released.isoformat(),
        "publisher": "BCMA",
        "kind": "instance",
        "software": {"name": "BCMA", "version": software_version},
        "implementation": {
            "description": "Bedside barcode medication administration",
            "url": base_url,
        },
        "fhirVersion": FULL_VERSIONS[version],
        "format": ["application/fhir+json"],
        "rest": [
            {
                "mode": "server",
                "security": {"cors": False, "description": security},
                "resource": rest_resources,
                **(
                    {"interaction": [{"code": "transaction", "documentation": transaction}]}
                    if transaction
                    else {}
                ),
            }
        ],
    }
    return validated(data, version)


def _text(value: str) -> str:
    """FHIR strings allow no control characters but line breaks and tabs, and no blank values
    (fhir.resources lets both through, so we clean them here)."""
    return _CONTROL.sub(" ", value).strip()


def _link(url: str, target: uuid.UUID) -> FhirData:
    return {"url": url, "valueReference": {"reference": f"MedicationAdministration/{target}"}}


def _dt(moment: datetime, zone: ZoneInfo) -> str:
    if moment.tzinfo is None:
        raise FhirMappingError("times must be timezone-aware")
    return moment.astimezone(zone).replace(microsecond=0).isoformat()
