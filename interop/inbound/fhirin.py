"""A FHIR `Bundle` of type transaction from the HIS → plain data (`types.py`), pure: no ORM.

The same plain data as HL7 v2 (`hl7in.py`), applied by the same services. Entries:

    Patient            PUT Patient?identifier=<mrn system>|<MRN>   create or update
                       POST Patient + ifNoneExist identifier=…      create unless it exists
    Encounter          PUT/POST the same way by the visit number: admit, transfer (ward or bed
                       changed), discharge (status finished / completed)
    AllergyIntolerance POST: added, or updated when the patient already has this allergen (the
                       allergen is its identity here; an allergy is never removed by the HIS)
    MedicationRequest  PUT/POST by the placer order number: new, changed, held (on-hold),
                       released (active again), discontinued (stopped, completed), cancelled

References between entries use the entries' `fullUrl` (`urn:uuid:…`); a reference may also name
a record we hold (`Patient/<id>`) or carry the identifier (`{"identifier": {…}}`). What cannot
be read is a `BundleInvalid` naming the entry (the HTTP 400); what cannot be applied is the
services' `InboundProblem` (422). R4 and R4B share one shape here; R5 differs where noted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import unquote
from zoneinfo import ZoneInfo

from interop.inbound import types as t
from interop.inbound.hl7in import UCUM_UNITS

R5 = "R5"
ROUTE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0162"
GENDER = {"female": "F", "male": "M", "other": "O", "unknown": "U"}
# The order of application: a reference points only to an entry applied before it.
ORDER = ("Patient", "Encounter", "AllergyIntolerance", "MedicationRequest")
ACCEPTED = frozenset(ORDER)
MAX_ENTRIES = 500
# MedicationRequest.status → what the HIS asks of the order.
ORDER_STATUS = {
    "active": t.NEW,  # new, or changed when we hold it
    "draft": t.NEW,
    "on-hold": t.HOLD,
    "stopped": t.DISCONTINUE,
    "completed": t.DISCONTINUE,
    "cancelled": t.CANCEL,
    "entered-in-error": t.CANCEL,
}
ORDER_INTENTS = ("order", "original-order", "instance-order")
CREATE = "create"  # POST with ifNoneExist: nothing done when the record exists
UPDATE = "update"  # PUT with a search URL: create or update
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(:[0-5]\d(\.\d+)?)?$")
_UUID_ID = re.compile(r"^(?:[A-Za-z]+/)?([0-9a-fA-F-]{36})$")


class BundleInvalid(Exception):
    """The bundle, or one of its entries, cannot be read. `expression` is FHIRPath to the part."""

    def __init__(self, message: str, *, expression: str = "Bundle", code: str = "INVALID_BUNDLE"):
        super().__init__(message)
        self.message = message
        self.expression = expression
        self.code = code


@dataclass(frozen=True)
class FhirInConfig:
    mrn_system: str
    visit_system: str
    placer_order_system: str
    ward_system: str
    bed_system: str
    national_id_system: str = ""
    insurance_system: str = ""
    # When set, an MRN identifier without our system must carry this assigner (identifier value or
    # display), like HL7's CX-4.
    mrn_authority: str = ""
    time_zone: str = "Asia/Ho_Chi_Minh"
    repeat_times: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Ref:
    """A reference to another entry (`entry`), to one of our records (`record_id`, a UUID), or by
    the identifier's value (`identifier`)."""

    entry: int | None = None
    record_id: str = ""
    identifier: str = ""


@dataclass(frozen=True)
class Entry:
    index: int
    resource_type: str
    mode: str  # create, update
    # The identifier a conditional request names (MRN, visit number, placer order number).
    key: str = ""


@dataclass(frozen=True)
class PatientEntry(Entry):
    patient: t.PatientData | None = None


@dataclass(frozen=True)
class EncounterEntry(Entry):
    subject: Ref = Ref()
    visit: t.VisitData | None = None
    finished: bool = False


@dataclass(frozen=True)
class AllergyEntry(Entry):
    subject: Ref = Ref()
    allergy: t.AllergyData | None = None


@dataclass(frozen=True)
class OrderEntry(Entry):
    subject: Ref = Ref()
    encounter: Ref | None = None
    order: t.OrderData | None = None


@dataclass(frozen=True)
class ParsedBundle:
    entries: tuple[Entry, ...]  # in the bundle's order

    def in_application_order(self) -> list[Entry]:
        return sorted(self.entries, key=lambda e: (ORDER.index(e.resource_type), e.index))


def parse(bundle: dict, version: str, config: FhirInConfig) -> ParsedBundle:
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise BundleInvalid("The body is not a FHIR Bundle.")
    if bundle.get("type") != "transaction":
        raise BundleInvalid(
            f"Only a Bundle of type transaction is taken here (this one is "
            f"{bundle.get('type')!r}).",
            expression="Bundle.type",
        )
    raw_entries = bundle.get("entry") or []
    if not isinstance(raw_entries, list) or not raw_entries:
        raise BundleInvalid("The bundle has no entries.", expression="Bundle.entry")
    if len(raw_entries) > MAX_ENTRIES:
        raise BundleInvalid(
            f"At most {MAX_ENTRIES} entries in one bundle.", expression="Bundle.entry"
        )
    full_urls: dict[str, int] = {}
    for index, raw in enumerate(raw_entries):
        url = raw.get("fullUrl") if isinstance(raw, dict) else None
        if url:
            if url in full_urls:
                raise BundleInvalid(
                    f"fullUrl {url} is used by two entries.",
                    expression=f"Bundle.entry[{index}].fullUrl",
                )
            full_urls[url] = index
    reader = _Reader(version, config, full_urls, raw_entries)
    entries = tuple(reader.entry(index, raw) for index, raw in enumerate(raw_entries))
    _check_references(entries)
    return ParsedBundle(entries)


def _check_references(entries: tuple[Entry, ...]) -> None:
    by_index = {entry.index: entry for entry in entries}
    for entry in entries:
        for name, ref, wanted in (
            (
                "subject" if entry.resource_type != "AllergyIntolerance" else "patient",
                getattr(entry, "subject", None),
                "Patient",
            ),
            ("encounter", getattr(entry, "encounter", None), "Encounter"),
        ):
            if ref is None or ref.entry is None:
                continue
            if by_index[ref.entry].resource_type != wanted:
                raise BundleInvalid(
                    f"{name} refers to an entry that is not a {wanted}.",
                    expression=f"Bundle.entry[{entry.index}].resource.{name}",
                )


class _Reader:
    def __init__(self, version: str, config: FhirInConfig, full_urls: dict, raw_entries: list):
        self.r5 = version == R5
        self.config = config
        self.zone = ZoneInfo(config.time_zone)
        self.full_urls = full_urls
        self.raw_entries = raw_entries

    # ------------------------------------------------------------------ entry and request

    def entry(self, index: int, raw) -> Entry:
        where = f"Bundle.entry[{index}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("resource"), dict):
            raise BundleInvalid("The entry has no resource.", expression=where)
        resource = raw["resource"]
        kind = resource.get("resourceType")
        if kind not in ACCEPTED:
            raise BundleInvalid(
                f"{kind or 'A resource without resourceType'} is not taken here; a transaction "
                f"may hold {', '.join(ORDER)}.",
                expression=f"{where}.resource",
                code="RESOURCE_NOT_SUPPORTED",
            )
        request = raw.get("request")
        if not isinstance(request, dict):
            raise BundleInvalid("The entry has no request.", expression=f"{where}.request")
        mode, key = self._request(kind, request, where)
        reader = {
            "Patient": self._patient_entry,
            "Encounter": self._encounter_entry,
            "AllergyIntolerance": self._allergy_entry,
            "MedicationRequest": self._order_entry,
        }[kind]
        return reader(index, f"{where}.resource", resource, mode, key)

    def _request(self, kind: str, request: dict, where: str) -> tuple[str, str]:
        """(create or update, the identifier value a conditional request names)."""
        method = request.get("method")
        url = request.get("url") or ""
        if method == "POST":
            if url != kind:
                raise BundleInvalid(
                    f"POST goes to {kind}, not {url!r}.", expression=f"{where}.request.url"
                )
            condition = request.get("ifNoneExist") or ""
            key = (
                self._condition(kind, condition, f"{where}.request.ifNoneExist")
                if condition
                else ""
            )
            return CREATE, key
        if method == "PUT":
            path, _sep, query = url.partition("?")
            if path != kind or not query:
                raise BundleInvalid(
                    f"PUT is taken as a conditional update: {kind}?identifier=<system>|<value> "
                    f"(not {url!r}).",
                    expression=f"{where}.request.url",
                )
            return UPDATE, self._condition(kind, query, f"{where}.request.url")
        raise BundleInvalid(
            f"The method {method!r} is not taken here: POST (with ifNoneExist) or PUT with "
            "an identifier.",
            expression=f"{where}.request.method",
        )

    def _condition(self, kind: str, query: str, where: str) -> str:
        name, _sep, value = query.partition("=")
        if name != "identifier" or "&" in value or not value:
            raise BundleInvalid(
                f"The condition must be identifier=<system>|<value> (not {query!r}).",
                expression=where,
            )
        system, bar, identifier = unquote(value).partition("|")
        if not bar:
            system, identifier = "", system
        wanted = self._identifier_system(kind)
        if wanted is None:
            raise BundleInvalid(
                f"{kind} is not matched by identifier here: POST it without a condition.",
                expression=where,
            )
        if system != wanted:
            raise BundleInvalid(
                f"{kind} is matched by the identifier system {wanted} (not {system or 'none'}).",
                expression=where,
            )
        if not identifier:
            raise BundleInvalid("The identifier value is empty.", expression=where)
        return identifier

    def _identifier_system(self, kind: str) -> str | None:
        return {
            "Patient": self.config.mrn_system,
            "Encounter": self.config.visit_system,
            "MedicationRequest": self.config.placer_order_system,
        }.get(kind)

    def _key(self, kind: str, resource: dict, key: str, where: str, *, required: bool) -> str:
        """The resource's own identifier in the system we match by; it must agree with the
        condition when both are given."""
        system = self._identifier_system(kind)
        own = ""
        for identifier in resource.get("identifier") or []:
            if isinstance(identifier, dict) and identifier.get("system") == system:
                own = str(identifier.get("value") or "")
                break
        if key and own and key != own:
            raise BundleInvalid(
                f"The request names {key} but the resource's identifier is {own}.",
                expression=f"{where}.identifier",
            )
        if required and not (own or key):
            raise BundleInvalid(
                f"The {kind} needs an identifier with system {system}.",
                expression=f"{where}.identifier",
            )
        return own or key

    # ------------------------------------------------------------------ resources

    def _patient_entry(self, index, where, resource, mode, key) -> PatientEntry:
        mrn = self._mrn(resource, key, where)
        name = self._name(resource)
        sex = ""
        if resource.get("gender"):
            sex = GENDER.get(resource["gender"], "")
            if not sex:
                raise BundleInvalid(
                    f"gender {resource['gender']!r} is not a FHIR gender.",
                    expression=f"{where}.gender",
                )
        deceased = resource.get("deceasedDateTime")
        return PatientEntry(
            index=index,
            resource_type="Patient",
            mode=mode,
            key=mrn,
            patient=t.PatientData(
                mrn=mrn,
                full_name=name[:200],
                date_of_birth=self._date(resource.get("birthDate"), f"{where}.birthDate"),
                sex=sex,
                national_id=self._identifier_value(resource, self.config.national_id_system),
                health_insurance_number=self._identifier_value(
                    resource, self.config.insurance_system
                ),
                deceased_at=self._datetime(deceased, f"{where}.deceasedDateTime")
                if deceased
                else None,
            ),
        )

    def _mrn(self, resource: dict, key: str, where: str) -> str:
        own = ""
        for identifier in resource.get("identifier") or []:
            if not isinstance(identifier, dict):
                continue
            if identifier.get("system") == self.config.mrn_system:
                own = str(identifier.get("value") or "")
                break
            if self.config.mrn_authority and _assigner(identifier) == self.config.mrn_authority:
                own = str(identifier.get("value") or "")
                break
        if key and own and key != own:
            raise BundleInvalid(
                f"The request names MRN {key} but the resource's MRN is {own}.",
                expression=f"{where}.identifier",
            )
        mrn = own or key
        if not mrn:
            authority = (
                f" or assigned by {self.config.mrn_authority}" if self.config.mrn_authority else ""
            )
            raise BundleInvalid(
                f"The patient has no MRN: an identifier with system {self.config.mrn_system}"
                f"{authority}.",
                expression=f"{where}.identifier",
            )
        if len(mrn) > 20:
            raise BundleInvalid(f"MRN {mrn[:30]} is too long.", expression=f"{where}.identifier")
        return mrn

    @staticmethod
    def _identifier_value(resource: dict, system: str) -> str:
        if not system:
            return ""
        for identifier in resource.get("identifier") or []:
            if isinstance(identifier, dict) and identifier.get("system") == system:
                return str(identifier.get("value") or "")
        return ""

    @staticmethod
    def _name(resource: dict) -> str:
        """Vietnamese names are written family name first; `text` wins when sent."""
        names = [n for n in resource.get("name") or [] if isinstance(n, dict)]
        name = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
        if name.get("text"):
            return " ".join(str(name["text"]).split())
        parts = [name.get("family") or "", *(name.get("given") or [])]
        return " ".join(str(part) for part in parts if part)

    def _encounter_entry(self, index, where, resource, mode, key) -> EncounterEntry:
        visit_number = self._key("Encounter", resource, key, where, required=True)
        status = resource.get("status")
        finished = status in ("finished", "completed", "discharged")
        if status not in ("in-progress", "arrived", "triaged", "onleave") and not finished:
            raise BundleInvalid(
                f"Encounter status {status!r} is not taken here (in-progress, finished or "
                "completed).",
                expression=f"{where}.status",
            )
        period = resource.get("actualPeriod" if self.r5 else "period") or {}
        ward = bed = ""
        for place in resource.get("location") or []:
            identifier = ((place or {}).get("location") or {}).get("identifier") or {}
            if identifier.get("system") == self.config.ward_system:
                ward = str(identifier.get("value") or "")
            elif identifier.get("system") == self.config.bed_system:
                bed = str(identifier.get("value") or "").rpartition("/")[2]
        if not ward and not finished:
            raise BundleInvalid(
                f"The encounter names no ward: a location with an identifier of system "
                f"{self.config.ward_system}.",
                expression=f"{where}.location",
            )
        return EncounterEntry(
            index=index,
            resource_type="Encounter",
            mode=mode,
            key=visit_number,
            subject=self._reference(resource.get("subject"), f"{where}.subject", required=True),
            finished=finished,
            visit=t.VisitData(
                visit_number=visit_number,
                ward_code=ward,
                bed_code=bed,
                admitted_at=self._datetime(period.get("start"), f"{where}.period.start"),
                discharged_at=self._datetime(period.get("end"), f"{where}.period.end"),
            ),
        )

    def _allergy_entry(self, index, where, resource, mode, key) -> AllergyEntry:
        if mode != CREATE or key:
            raise BundleInvalid(
                "An AllergyIntolerance is POSTed without a condition: the patient's allergen is "
                "its identity here.",
                expression=f"{where.rpartition('.resource')[0]}.request",
            )
        for element, refused in (
            ("clinicalStatus", ("inactive", "resolved")),
            ("verificationStatus", ("refuted", "entered-in-error")),
        ):
            codes = {c.get("code") for c in (resource.get(element) or {}).get("coding") or []}
            if codes & set(refused):
                raise BundleInvalid(
                    f"An allergy that is {', '.join(sorted(codes & set(refused)))} is not taken: "
                    "removing an allergy is a clinical decision made here, not by the interface.",
                    expression=f"{where}.{element}",
                    code="ALLERGY_REMOVAL_REFUSED",
                )
        code = resource.get("code") or {}
        coding = next((c for c in code.get("coding") or [] if c.get("code")), None)
        if coding is None:
            raise BundleInvalid(
                "The allergy has no coded allergen.", expression=f"{where}.code.coding"
            )
        reactions = [r for r in resource.get("reaction") or [] if isinstance(r, dict)]
        severity = "unknown"
        if resource.get("criticality") == "high":
            severity = "severe"
        elif reactions and reactions[0].get("severity") in ("mild", "moderate", "severe"):
            severity = reactions[0]["severity"]
        manifestations = []
        for reaction in reactions:
            for item in reaction.get("manifestation") or []:
                concept = item.get("concept", item) if self.r5 else item
                text = concept.get("text") or next(
                    (c.get("display") for c in concept.get("coding") or [] if c.get("display")),
                    "",
                )
                if text:
                    manifestations.append(text)
        return AllergyEntry(
            index=index,
            resource_type="AllergyIntolerance",
            mode=mode,
            subject=self._reference(resource.get("patient"), f"{where}.patient", required=True),
            allergy=t.AllergyData(
                allergen=t.CodedValue(
                    code=str(coding["code"]),
                    text=str(code.get("text") or coding.get("display") or ""),
                    system=str(coding.get("system") or ""),
                ),
                severity=severity,
                reaction=", ".join(manifestations)[:200],
            ),
        )

    def _order_entry(self, index, where, resource, mode, key) -> OrderEntry:
        number = self._key("MedicationRequest", resource, key, where, required=True)
        status = resource.get("status")
        control = ORDER_STATUS.get(status)
        if control is None:
            raise BundleInvalid(
                f"MedicationRequest status {status!r} is not taken here.",
                expression=f"{where}.status",
            )
        if resource.get("intent") not in ORDER_INTENTS:
            raise BundleInvalid(
                f"Only orders are taken (intent {', '.join(ORDER_INTENTS)}), not "
                f"{resource.get('intent')!r}.",
                expression=f"{where}.intent",
            )
        base = {
            "control": control,
            "placer_number": number,
            "prescriber_name": str((resource.get("requester") or {}).get("display") or "")[:200],
            "reason": str((resource.get("statusReason") or {}).get("text") or "")[:300],
            "occurred_at": self._datetime(resource.get("authoredOn"), f"{where}.authoredOn"),
        }
        subject = self._reference(resource.get("subject"), f"{where}.subject", required=True)
        encounter = self._reference(resource.get("encounter"), f"{where}.encounter")
        if control != t.NEW:
            return OrderEntry(
                index=index,
                resource_type="MedicationRequest",
                mode=mode,
                key=number,
                subject=subject,
                encounter=encounter,
                order=t.OrderData(**base),
            )
        dosages = resource.get("dosageInstruction") or []
        if len(dosages) != 1 or not isinstance(dosages[0], dict):
            raise BundleInvalid(
                "An order needs exactly one dosageInstruction here.",
                expression=f"{where}.dosageInstruction",
            )
        dosage = dosages[0]
        at = f"{where}.dosageInstruction[0]"
        dose_value, dose_unit = self._dose(dosage, at)
        notes = [n.get("text") for n in resource.get("note") or [] if n.get("text")]
        return OrderEntry(
            index=index,
            resource_type="MedicationRequest",
            mode=mode,
            key=number,
            subject=subject,
            encounter=encounter,
            order=t.OrderData(
                **base,
                medication=self._medication(resource, where),
                dose_value=dose_value,
                dose_unit=dose_unit,
                route=self._route(dosage, at),
                timing=self._timing(
                    dosage, at, dose_unit, base["occurred_at"], resource.get("priority")
                ),
                instructions="; ".join([p for p in (dosage.get("text"), *notes) if p])[:300],
                locations={
                    "medication": f"{where}.medication",
                    "route": f"{at}.route",
                    "dose": f"{at}.doseAndRate",
                    "timing": f"{at}.timing",
                },
            ),
        )

    def _medication(self, resource: dict, where: str) -> t.CodedValue:
        if self.r5:
            concept = (resource.get("medication") or {}).get("concept")
            element = "medication.concept"
        else:
            concept = resource.get("medicationCodeableConcept")
            element = "medicationCodeableConcept"
        coding = next((c for c in (concept or {}).get("coding") or [] if c.get("code")), None)
        if coding is None:
            raise BundleInvalid(
                f"The order needs the HIS's drug code in {element}.coding (a reference to a "
                "Medication is not taken).",
                expression=f"{where}.{element}",
            )
        return t.CodedValue(
            code=str(coding["code"])[:60],
            text=str(concept.get("text") or coding.get("display") or ""),
            system=str(coding.get("system") or ""),
        )

    def _dose(self, dosage: dict, at: str) -> tuple[Decimal, str]:
        rates = dosage.get("doseAndRate") or []
        quantity = (rates[0] if rates else {}).get("doseQuantity") or {}
        unit = UCUM_UNITS.get(str(quantity.get("code") or quantity.get("unit") or "").lower())
        if unit is None:
            raise BundleInvalid(
                f"The dose needs a UCUM unit we know (mg, g, ug, mL, L, [iU], {{unit}}), not "
                f"{quantity.get('code') or quantity.get('unit')!r}.",
                expression=f"{at}.doseAndRate[0].doseQuantity",
            )
        return self._decimal(quantity.get("value"), f"{at}.doseAndRate[0].doseQuantity"), unit

    @staticmethod
    def _route(dosage: dict, at: str) -> str:
        codings = (dosage.get("route") or {}).get("coding") or []
        coding = next((c for c in codings if c.get("system") == ROUTE_SYSTEM), None)
        if coding is None or not coding.get("code"):
            raise BundleInvalid(
                f"The route needs a code of HL7 table 0162 ({ROUTE_SYSTEM}).",
                expression=f"{at}.route",
            )
        return str(coding["code"]).upper()

    def _timing(
        self, dosage: dict, at: str, dose_unit: str, authored, priority=None
    ) -> t.TimingData:
        repeat = (dosage.get("timing") or {}).get("repeat") or {}
        bounds = repeat.get("boundsPeriod") or {}
        start = self._datetime(bounds.get("start"), f"{at}.timing.repeat.boundsPeriod.start")
        start = start or authored
        if start is None:
            raise BundleInvalid(
                "The order needs its start: timing.repeat.boundsPeriod.start (or authoredOn).",
                expression=f"{at}.timing.repeat.boundsPeriod",
            )
        stop = self._datetime(bounds.get("end"), f"{at}.timing.repeat.boundsPeriod.end")
        common = {"start_at": start, "stop_at": stop}
        if self.r5:
            prn = bool(dosage.get("asNeeded")) or bool(dosage.get("asNeededFor"))
            indication = next(
                (c.get("text") for c in dosage.get("asNeededFor") or [] if c.get("text")), ""
            )
        else:
            prn = bool(dosage.get("asNeededBoolean")) or "asNeededCodeableConcept" in dosage
            indication = (dosage.get("asNeededCodeableConcept") or {}).get("text") or ""
        minutes = self._period_minutes(repeat)
        if prn:
            per_period = dosage.get("maxDosePerPeriod")
            if isinstance(per_period, list):
                per_period = per_period[0] if per_period else None
            maximum = None
            if per_period:
                where = f"{at}.maxDosePerPeriod"
                numerator = per_period.get("numerator") or {}
                denominator = per_period.get("denominator") or {}
                hours = {"h": 1, "d": 24}.get(denominator.get("code") or denominator.get("unit"))
                if hours is None or Decimal(str(denominator.get("value", 0))) * hours != 24:
                    raise BundleInvalid("The maximum must be per 24 h.", expression=where)
                unit = UCUM_UNITS.get(str(numerator.get("code") or numerator.get("unit")).lower())
                if unit != dose_unit:
                    raise BundleInvalid(
                        f"The 24-hour maximum is in {unit or 'an unknown unit'}, the dose in "
                        f"{dose_unit}.",
                        expression=where,
                    )
                maximum = self._decimal(numerator.get("value"), where)
            return t.TimingData(
                kind=t.PRN,
                prn_indication=str(indication)[:200],
                prn_min_interval_minutes=minutes,
                prn_max_per_24h=maximum,
                **common,
            )
        if repeat.get("count") == 1:
            # MedicationRequest.priority "stat": the one dose is STAT, with its own window
            return t.TimingData(kind=t.STAT if priority == "stat" else t.ONCE, **common)
        times = repeat.get("timeOfDay") or []
        if times:
            local = []
            for value in times:
                match = _TIME.match(str(value))
                if match is None:
                    raise BundleInvalid(
                        f"timeOfDay {value!r} is not a time.",
                        expression=f"{at}.timing.repeat.timeOfDay",
                    )
                local.append(f"{match.group(1)}:{match.group(2)}")
            return t.TimingData(kind=t.TIMES, times_of_day=tuple(sorted(set(local))), **common)
        code = ((dosage.get("timing") or {}).get("code") or {}).get("coding") or []
        for coding in code:
            fixed = self.config.repeat_times.get(str(coding.get("code") or "").upper())
            if fixed:
                return t.TimingData(kind=t.TIMES, times_of_day=tuple(fixed), **common)
        if minutes and minutes % 60 == 0:
            return t.TimingData(kind=t.INTERVAL, interval_hours=minutes // 60, **common)
        raise BundleInvalid(
            "The timing is not one taken here: timeOfDay, every N hours (frequency 1, period N, "
            "periodUnit h), once (count 1), as needed, or a code with fixed times "
            f"({', '.join(sorted(self.config.repeat_times))}).",
            expression=f"{at}.timing",
        )

    @staticmethod
    def _period_minutes(repeat: dict) -> int | None:
        if repeat.get("frequency", 1) != 1 or not repeat.get("period"):
            return None
        factor = {"min": 1, "h": 60, "d": 1440}.get(repeat.get("periodUnit"))
        if factor is None:
            return None
        minutes = Decimal(str(repeat["period"])) * factor
        return int(minutes) if minutes == int(minutes) and minutes > 0 else None

    # ------------------------------------------------------------------ values

    def _reference(self, value, where: str, *, required: bool = False) -> Ref | None:
        if not value:
            if required:
                raise BundleInvalid("The reference is missing.", expression=where)
            return None
        reference = value.get("reference") if isinstance(value, dict) else None
        if reference:
            if reference in self.full_urls:
                return Ref(entry=self.full_urls[reference])
            match = _UUID_ID.match(reference)
            if match and not reference.startswith("urn:"):
                return Ref(record_id=match.group(1).lower())
            raise BundleInvalid(
                f"The reference {reference!r} is neither an entry of this bundle nor one of our "
                "records.",
                expression=where,
            )
        identifier = value.get("identifier") if isinstance(value, dict) else None
        if isinstance(identifier, dict) and identifier.get("value"):
            return Ref(identifier=str(identifier["value"]))
        raise BundleInvalid("The reference names nothing.", expression=where)

    def _datetime(self, value, where: str) -> datetime | None:
        if not value:
            return None
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is None or len(str(value)) < 16:
            raise BundleInvalid(f"{value!r} is not a date and time.", expression=where)
        return moment if moment.tzinfo else moment.replace(tzinfo=self.zone)

    @staticmethod
    def _date(value, where: str) -> date | None:
        if not value:
            return None
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise BundleInvalid(
                f"{value!r} is not a full date (YYYY-MM-DD).", expression=where
            ) from None

    @staticmethod
    def _decimal(value, where: str) -> Decimal:
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            number = None
        if value is None or number is None or not number.is_finite() or number <= 0:
            raise BundleInvalid(f"{value!r} is not a positive number.", expression=where)
        return number


def _assigner(identifier: dict) -> str:
    assigner = identifier.get("assigner") or {}
    return str((assigner.get("identifier") or {}).get("value") or assigner.get("display") or "")
