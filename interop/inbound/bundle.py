"""Apply a FHIR transaction Bundle (`fhirin.py` read it) through the inbound services.

All or nothing: one database transaction; the first entry that cannot be applied raises
`EntryRefused` naming it, and nothing of the bundle stays. Entries apply in dependency order
(patients, encounters, allergies, orders), the answer lists them in the bundle's order.

Once per key: the `FhirTransaction` row is inserted first, inside the same transaction, so a
concurrent copy waits on the unique key and then replays the stored answer; a bundle that failed
left no row, so its corrected retry applies. An unmapped drug code (or allergen, ward) is a 422
that says which code to map in /pharmacy/: a synchronous sender gets the answer at once and
resends, so nothing waits in the HL7 work queue for it.

For the account's hospitals: a service account writes in the hospitals it works in
(`User.hospitals`); an entry about a ward, admission, order or admitted patient of another
hospital refuses the bundle (422), and a record of another hospital is never named in an answer.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, replace

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from hospital.exceptions import ApplicationError
from interop.inbound import fhirin, services
from interop.inbound import types as t
from interop.models import FhirTransaction
from pharmacy.models import MedicationOrder, OrderStatus
from wards.models import Admission, Allergy, Patient
from wards.selectors import patient_mrn_at

CREATED = "201 Created"
OK = "200 OK"


@dataclass(frozen=True)
class EntryOutcome:
    status: str
    location: str


class EntryRefused(ApplicationError):
    """One entry cannot be applied: the whole bundle is refused (422)."""

    status = 422

    def __init__(self, problem: t.InboundProblem, entry: fhirin.Entry):
        where = f"Bundle.entry[{entry.index}]"
        super().__init__(
            f"{where} ({entry.resource_type}): {problem.message} Nothing of the bundle was applied.",
            code=problem.code,
            details={"expression": problem.location or where, "entry": entry.index},
        )


class IdempotencyKeyReusedError(ApplicationError):
    code = "IDEMPOTENCY_KEY_REUSED"
    status = 422


def bundle_digest(bundle: dict) -> str:
    canonical = json.dumps(bundle, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def bundle_key(bundle: dict, header: str | None) -> str:
    """The Idempotency-Key header, else the Bundle's identifier (system|value), else ""."""
    if header:
        return f"header:{header.strip()}"[:300]
    identifier = bundle.get("identifier") if isinstance(bundle, dict) else None
    if isinstance(identifier, dict) and identifier.get("value"):
        return f"bundle:{identifier.get('system') or ''}|{identifier['value']}"[:300]
    return ""


def transaction_apply(
    *, client, bundle: dict, parsed: fhirin.ParsedBundle, key: str, version: str, respond
) -> tuple[dict, bool]:
    """Apply the bundle once for this client and key. `respond(outcomes)` builds the response
    Bundle. Returns (response, replayed)."""
    digest = bundle_digest(bundle)
    try:
        with transaction.atomic(durable=True):
            row = FhirTransaction.objects.create(
                client=client,
                key=key,
                digest=digest,
                fhir_version=version,
                bundle=bundle,
                entries=len(parsed.entries),
            )
            outcomes = _apply(parsed, services.sender_of_account(client))
            row.response = respond([outcomes[entry.index] for entry in parsed.entries])
            row.save(update_fields=["response"])
            return row.response, False
    except IntegrityError:
        stored = FhirTransaction.objects.filter(client=client, key=key).first() if key else None
        if stored is None:
            raise ApplicationError(
                "Another request changed the same records at the same moment: send the bundle "
                "again.",
                code="CONFLICT",
                status=409,
            ) from None
    return _replay(stored, digest), True


def transaction_replay(*, client, bundle: dict, key: str) -> dict | None:
    """The stored answer when this key was applied already (checked before parsing, so that a
    repeat is answered the same even if the mappings changed since)."""
    if not key:
        return None
    stored = FhirTransaction.objects.filter(client=client, key=key).first()
    return _replay(stored, bundle_digest(bundle)) if stored is not None else None


def _replay(stored: FhirTransaction, digest: str) -> dict:
    if stored.digest != digest:
        raise IdempotencyKeyReusedError(
            f"This key ({stored.key.partition(':')[2]}) was used on {stored.created_at:%Y-%m-%d} "
            "for another bundle: a new bundle needs a new key (or Bundle.identifier)."
        )
    return stored.response


def _apply(parsed: fhirin.ParsedBundle, sender: services.Sender) -> dict[int, EntryOutcome]:
    outcomes: dict[int, EntryOutcome] = {}
    patients: dict[int, Patient] = {}
    admissions: dict[int, Admission] = {}
    for entry in parsed.in_application_order():
        try:
            if isinstance(entry, fhirin.PatientEntry):
                outcome, patients[entry.index] = _patient(entry, sender, parsed)
            elif isinstance(entry, fhirin.EncounterEntry):
                patient = _subject(entry.subject, patients, entry, "subject", sender)
                outcome, admissions[entry.index] = _encounter(entry, patient, sender)
            elif isinstance(entry, fhirin.AllergyEntry):
                patient = _subject(entry.subject, patients, entry, "patient", sender)
                outcome = _allergy(entry, patient, sender)
            else:
                patient = _subject(entry.subject, patients, entry, "subject", sender)
                admission = _visit(entry, patient, admissions, sender)
                outcome = _order(entry, patient, admission, sender)
        except t.InboundProblem as problem:
            raise EntryRefused(problem, entry) from problem
        outcomes[entry.index] = outcome
    return outcomes


def _expression(entry: fhirin.Entry, element: str) -> str:
    return f"Bundle.entry[{entry.index}].resource.{element}"


def _subject(
    ref: fhirin.Ref, patients: dict, entry: fhirin.Entry, element: str, sender: services.Sender
) -> Patient:
    if ref.entry is not None:
        return patients[ref.entry]
    if ref.record_id:
        found = Patient.objects.filter(external_id=uuid.UUID(ref.record_id)).first()
    else:
        found = services.patient_find(ref.identifier, sender, location=_expression(entry, element))
    if found is None:
        raise t.InboundProblem(
            "PATIENT_UNKNOWN",
            f"The patient {ref.record_id or ref.identifier} is not known here: send the Patient "
            "in the bundle.",
            location=_expression(entry, element),
        )
    services.patient_check(found, sender, location=_expression(entry, element))
    return found


def _visit(
    entry: fhirin.OrderEntry, patient: Patient, admissions: dict, sender: services.Sender
) -> Admission | None:
    """The admission of the order's encounter (None: it names none), hers at one of the
    sender's hospitals, with a visit number."""
    ref = entry.encounter
    if ref is None:
        return None
    if ref.entry is not None:
        admission = admissions[ref.entry]
    elif ref.record_id:
        admission = Admission.objects.filter(external_id=uuid.UUID(ref.record_id)).first()
    else:
        # Her visit of that number at one of the account's hospitals: each hospital's HIS
        # issues its own, and another's same number is another visit.
        admission = Admission.objects.filter(
            patient=patient, hospital_id__in=sender.hospital_ids, visit_number=ref.identifier
        ).first()
    if admission is None or admission.patient_id != patient.pk:
        raise t.InboundProblem(
            "VISIT_UNKNOWN",
            "The order's encounter is not an admission of this patient here.",
            location=_expression(entry, "encounter"),
        )
    services.admission_check(admission, sender, location=_expression(entry, "encounter"))
    if not admission.visit_number:
        raise t.InboundProblem(
            "VISIT_UNKNOWN",
            "The order's encounter has no visit number here: send the Encounter with one.",
            location=_expression(entry, "encounter"),
        )
    return admission


def _located(problem: t.InboundProblem, location: str) -> t.InboundProblem:
    """The services name HL7 places (PV1^1^3) unless given ours; a FHIR sender needs the
    entry's."""
    if not problem.location.startswith("Bundle."):
        problem.location = location
    return problem


def _patient_hospital(
    entry: fhirin.PatientEntry, sender: services.Sender, parsed: fhirin.ParsedBundle
) -> int | None:
    """Whose MRN the Patient's identifier is (and who registers her if she is new): the account's
    only hospital, else the hospital of the ward her encounter in this bundle names. None when
    neither says (an existing patient is then looked up among the account's hospitals; a new one
    is refused: never a guess)."""
    if sender.sole_hospital_id is not None:
        return sender.sole_hospital_id
    for other in parsed.entries:
        if (
            isinstance(other, fhirin.EncounterEntry)
            and other.subject.entry == entry.index
            and other.visit is not None
            and other.visit.ward_code
        ):
            location = _expression(other, "location")
            return services.ward_resolve(
                other.visit.ward_code, sender=sender, location=location
            ).hospital_id
    return None


def _patient(
    entry: fhirin.PatientEntry, sender: services.Sender, parsed: fhirin.ParsedBundle
) -> tuple[EntryOutcome, Patient]:
    try:
        hospital_id = _patient_hospital(entry, sender, parsed)
        existing = services.patient_find(entry.patient.mrn, sender, hospital_id=hospital_id)
        if existing is not None:
            services.patient_check(existing, sender)
        if existing is not None and entry.mode == fhirin.CREATE:
            patient = existing
        else:
            patient = services.patient_apply(
                entry.patient, create=True, sender=sender, hospital_id=hospital_id
            )
    except t.InboundProblem as problem:
        raise _located(problem, f"Bundle.entry[{entry.index}].resource") from problem
    status = OK if existing is not None else CREATED
    return EntryOutcome(status, f"Patient/{patient.external_id}"), patient


def _mrn_for(patient: Patient, hospital_id: int | None) -> str:
    """Her number at this hospital, as its HIS would send it (the services look it up there)."""
    if hospital_id is None:
        return patient.mrn
    return patient_mrn_at(patient=patient, hospital_id=hospital_id) or patient.mrn


def _encounter_hospital(
    entry: fhirin.EncounterEntry, patient: Patient, sender: services.Sender
) -> int | None:
    """Whose visit number the Encounter's identifier is (each hospital's HIS issues its own):
    the account's only hospital; for an account of several, the one where she has a visit of
    that number, else the hospital of the ward it names; None when neither (nothing is found)."""
    if sender.sole_hospital_id is not None:
        return sender.sole_hospital_id
    visit = entry.visit
    hers = (
        Admission.objects.filter(
            patient=patient, hospital_id__in=sender.hospital_ids, visit_number=visit.visit_number
        )
        .values_list("hospital_id", flat=True)
        .first()
    )
    if hers is not None or not visit.ward_code:
        return hers
    location = f"Bundle.entry[{entry.index}].resource"
    return services.ward_resolve(visit.ward_code, sender=sender, location=location).hospital_id


def _encounter(
    entry: fhirin.EncounterEntry, patient: Patient, sender: services.Sender
) -> tuple[EntryOutcome, Admission]:
    visit = entry.visit
    hospital_id = _encounter_hospital(entry, patient, sender)
    existing = Admission.objects.filter(
        hospital_id=hospital_id, visit_number=visit.visit_number
    ).first()
    if existing is not None:
        services.admission_check(existing, sender, location=_expression(entry, "identifier"))
    if existing is not None:
        who = t.PatientData(mrn=existing.mrn)
    else:
        who = t.PatientData(mrn=_mrn_for(patient, hospital_id))
    now = timezone.now()
    kind = None
    if existing is None:
        if entry.finished:
            raise t.InboundProblem(
                "VISIT_UNKNOWN",
                f"Visit {visit.visit_number} is not known here: a finished encounter is not "
                "admitted.",
                location=_expression(entry, "status"),
            )
        kind = t.ADMIT
    elif existing.patient_id != patient.pk:
        raise t.InboundProblem(
            "VISIT_CONFLICT",
            f"Visit {visit.visit_number} belongs to another patient here.",
            location=_expression(entry, "identifier"),
        )
    elif entry.mode == fhirin.UPDATE:
        if entry.finished:
            kind = t.DISCHARGE if existing.is_open else None
        elif not existing.is_open:
            raise t.InboundProblem(
                "VISIT_CLOSED",
                f"Visit {visit.visit_number} was discharged here; it cannot be in progress again "
                "from a bundle.",
                location=_expression(entry, "status"),
            )
        elif visit.ward_code and (
            visit.ward_code != existing.ward.code or visit.bed_code != _bed_code(existing)
        ):
            kind = t.TRANSFER
    if kind is not None:
        event = t.AdtEvent(
            kind=kind,
            patient=who,
            occurred_at=(visit.discharged_at if kind == t.DISCHARGE else None)
            or (visit.admitted_at if kind == t.ADMIT else None)
            or now,
            visit=visit,
        )
        try:
            services.adt_apply(event, sender=sender)
        except t.InboundProblem as problem:
            raise _located(problem, f"Bundle.entry[{entry.index}].resource") from problem
    admission = Admission.objects.get(hospital_id=hospital_id, visit_number=visit.visit_number)
    status = CREATED if existing is None else OK
    return EntryOutcome(status, f"Encounter/{admission.external_id}"), admission


def _order_mrn(patient: Patient, existing: MedicationOrder | None, hospital_id: int | None) -> str:
    """The MRN the order's hospital knows her by: its admission's, else her number at the
    order's hospital (`_order_hospital`), else at the hospital of her open admission."""
    if existing is not None:
        return existing.admission.mrn
    if hospital_id is not None:
        return _mrn_for(patient, hospital_id)
    open_one = patient.admissions.filter(discharged_at__isnull=True).first()
    return open_one.mrn if open_one is not None else patient.mrn


def _bed_code(admission: Admission) -> str:
    return admission.bed.code if admission.bed_id else ""


def _allergy(entry: fhirin.AllergyEntry, patient: Patient, sender: services.Sender) -> EntryOutcome:
    code, _name = services.allergen_resolve(
        entry.allergy.allergen, sender=sender, location=_expression(entry, "code")
    )
    existed = Allergy.objects.filter(patient=patient, allergen_code=code).exists()
    try:
        services.allergies_apply(patient, (entry.allergy,), sender=sender)
    except t.InboundProblem as problem:
        raise _located(problem, f"Bundle.entry[{entry.index}].resource") from problem
    allergy = Allergy.objects.get(patient=patient, allergen_code=code)
    return EntryOutcome(OK if existed else CREATED, f"AllergyIntolerance/{allergy.external_id}")


def _order_hospital(
    entry: fhirin.OrderEntry,
    patient: Patient,
    admission: Admission | None,
    sender: services.Sender,
) -> int | None:
    """Whose order number the MedicationRequest's identifier is (each hospital's HIS issues its
    own): the account's only hospital; for an account of several, the hospital of the order's
    encounter, else the one where she has an order of that number, else the one of her open
    admission; else the hospital whose MRN she is sent under (as `services.orders_apply` would
    decide), None when none numbers her (nothing is found)."""
    if sender.sole_hospital_id is not None:
        return sender.sole_hospital_id
    if admission is not None:
        return admission.hospital_id
    mine = Q(admission__patient=patient, hospital_id__in=sender.hospital_ids)
    hers = (
        MedicationOrder.objects.filter(mine, placer_order_number=entry.order.placer_number)
        .values_list("hospital_id", flat=True)
        .first()
    )
    if hers is not None:
        return hers
    open_one = (
        patient.admissions.filter(hospital_id__in=sender.hospital_ids, discharged_at__isnull=True)
        .values_list("hospital_id", flat=True)
        .first()
    )
    if open_one is not None:
        return open_one
    return services.mrn_hospital(
        _order_mrn(patient, None, None), sender, location=_expression(entry, "subject")
    )


def _order(
    entry: fhirin.OrderEntry, patient: Patient, admission: Admission | None, sender: services.Sender
) -> EntryOutcome:
    order = entry.order
    visit = t.VisitData(visit_number=admission.visit_number) if admission is not None else None
    hospital_id = _order_hospital(entry, patient, admission, sender)
    existing = MedicationOrder.objects.filter(
        hospital_id=hospital_id, placer_order_number=order.placer_number
    ).first()
    if existing is not None:
        services.order_check(existing, sender, location=_expression(entry, "identifier"))
    if existing is not None and existing.admission.patient_id != patient.pk:
        # Checked here: the order is applied under its admission's MRN below, which would name
        # the other patient and so pass the services' own check.
        raise t.InboundProblem(
            "ORDER_OTHER_PATIENT",
            f"Order {order.placer_number} belongs to another patient here.",
            location=_expression(entry, "subject"),
        )
    controls: list[str] = []
    if existing is None:
        if order.control != t.NEW:
            raise t.InboundProblem(
                "ORDER_UNKNOWN",
                f"Order {order.placer_number} is not known here: only an active (or draft) order "
                "can be new.",
                location=_expression(entry, "status"),
            )
        controls = [t.NEW]
    elif entry.mode == fhirin.UPDATE:
        if order.control == t.NEW:
            if existing.status == OrderStatus.ON_HOLD:
                controls.append(t.RELEASE)
            controls.append(t.CHANGE)
        else:
            controls = [order.control]
    for control in controls:
        message = t.OrderMessage(
            patient=t.PatientData(mrn=_order_mrn(patient, existing, hospital_id)),
            visit=visit,
            orders=(replace(order, control=control),),
        )
        try:
            services.orders_apply(message, sender=sender, hospital_id=hospital_id)
        except t.InboundProblem as problem:
            raise _located(problem, f"Bundle.entry[{entry.index}].resource") from problem
    found = MedicationOrder.objects.get(
        hospital_id=hospital_id, placer_order_number=order.placer_number
    )
    return EntryOutcome(
        CREATED if existing is None else OK, f"MedicationRequest/{found.external_id}"
    )
