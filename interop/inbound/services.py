"""Apply what the HIS says (plain data from `types.py`) through the wards and pharmacy services.

One write path for every way in: the HL7 v2 inbox (`inbox.py`) and the FHIR transaction
(`bundle.py`) call these.
The HIS's codes go through the pharmacy's mapping table (`InboundCodeMap`); what cannot be mapped
or applied raises `InboundProblem` (waiting: an earlier message may still come; otherwise a
person must act), and nothing is written: callers run each message in one transaction.

Every message comes from a `Sender`: the hospitals it may write in (HL7: the hospital of MSH-4;
FHIR: the service account's). A ward, admission, order or admitted patient of another hospital
is refused, never changed: hospitals are tenants of one database. Its codes are read with its
hospital's own mappings first, then the province's defaults (`code_map_find`). Its MRNs, visit
numbers and order numbers are one hospital's (`mrn_hospital`): another hospital's HIS issues the
same numbers to other patients, visits and orders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils.text import slugify

from hospital.exceptions import ApplicationError
from hospital.models import Hospital, User
from interop import conf
from interop.inbound import types as t
from interop.models import CodeMapKind, InboundCodeMap
from pharmacy import services as pharmacy_services
from pharmacy.models import (
    Medication,
    MedicationOrder,
    OrderStatus,
    Route,
    ScheduleKind,
    Substance,
)
from scanning.access import hospitals_worked_in
from wards import services as ward_services
from wards.models import Admission, Bed, Patient, PatientNumber, Ward
from wards.selectors import patient_by_mrn, patient_live_by_national_id

HIS_USERNAME = "his-interface"


def _problem(error: Exception, location: str = "") -> t.InboundProblem:
    if isinstance(error, ward_services.HisConflictError):
        return t.InboundProblem(
            error.code, error.message, location=location, hl7_error="207", waiting=error.waiting
        )
    if isinstance(error, ApplicationError):
        return t.InboundProblem(error.code, error.message, location=location)
    if isinstance(error, ValidationError):
        messages = (
            "; ".join(f"{name}: {' '.join(errors)}" for name, errors in error.message_dict.items())
            if hasattr(error, "error_dict")
            else " ".join(error.messages)
        )
        return t.InboundProblem("INVALID_VALUE", messages, location=location, hl7_error="102")
    raise error


# --------------------------------------------------------------------------------- hospitals


@dataclass(frozen=True)
class Sender:
    """Who a message comes from: the hospitals it may write in, and how a refusal names it."""

    hospital_ids: frozenset[int]
    name: str

    @property
    def sole_hospital_id(self) -> int | None:
        """The hospital this sender speaks for: its only one (an HIS: MSH-4's). Its code
        mappings read the sender's codes, and a patient it names without an admission is
        registered there. None for an account of several hospitals (a provincial engine), which
        cannot say whose codes it sends: the province's default mappings read them."""
        return next(iter(self.hospital_ids)) if len(self.hospital_ids) == 1 else None


def sender_of_hospital(hospital: Hospital) -> Sender:
    """An HIS sending as `hospital.hl7_facility` (MSH-4)."""
    return Sender(frozenset({hospital.pk}), f"facility {hospital.hl7_facility}")


def sender_of_account(user: User) -> Sender:
    """A service account writes in the hospitals it reads (scanning/access.py)."""
    codes = dict(hospitals_worked_in(user).values_list("pk", "code"))
    return Sender(
        frozenset(codes), f"an account of {', '.join(sorted(codes.values())) or 'no hospital'}"
    )


def patient_check(patient: Patient, sender: Sender, *, location: str = "PID^1^3") -> None:
    """A patient admitted in another hospital is that hospital's to change (a person is one
    record in the province: discharged elsewhere, she may be admitted here)."""
    open_one = (
        Admission.objects.filter(patient=patient, discharged_at__isnull=True)
        .values_list("ward__hospital_id", flat=True)
        .first()
    )
    if open_one is not None and open_one not in sender.hospital_ids:
        raise t.InboundProblem(
            "PATIENT_OTHER_HOSPITAL",
            f"Patient {patient.mrn} is admitted in another hospital: {sender.name} cannot "
            "change the record or the orders.",
            location=location,
            hl7_error="207",
        )


def admission_check(admission: Admission, sender: Sender, *, location: str = "PV1^1^19") -> None:
    if admission.ward.hospital_id not in sender.hospital_ids:
        raise t.InboundProblem(
            "VISIT_OTHER_HOSPITAL",
            f"Visit {admission.visit_number or admission.external_id} is an admission of another "
            f"hospital: {sender.name} cannot change it.",
            location=location,
            hl7_error="207",
        )


def order_check(order: MedicationOrder, sender: Sender, *, location: str = "ORC^1^2") -> None:
    if order.admission.ward.hospital_id not in sender.hospital_ids:
        number = order.placer_order_number or order.filler_order_number
        raise t.InboundProblem(
            "ORDER_OTHER_HOSPITAL",
            f"Order {number} is an order of another hospital: {sender.name} cannot change it.",
            location=location,
            hl7_error="205",
        )


# --------------------------------------------------------------------------------- mapping


def code_map_find(kind: str, code: str, *, sender: Sender) -> InboundCodeMap | None:
    """The sender's hospital's mapping of the code, else the province's default; never another
    hospital's."""
    own = Q(hospital__isnull=True)
    if sender.sole_hospital_id is not None:
        own |= Q(hospital_id=sender.sole_hospital_id)
    return (
        InboundCodeMap.objects.filter(own, kind=kind, his_code=code)
        .select_related("medication", "ward")
        .order_by(F("hospital_id").asc(nulls_last=True))
        .first()
    )


def ward_resolve(code: str, *, sender: Sender, location: str = "PV1^1^3") -> Ward:
    if not code:
        raise t.InboundProblem(
            "WARD_MISSING", "The message names no ward (PV1-3).", location=location, hl7_error="101"
        )
    mapped = code_map_find(CodeMapKind.WARD, code, sender=sender)
    # A ward mapping always names a ward (check constraint); said again for the types.
    ward: Ward | None
    if mapped is not None and mapped.ward is not None:
        ward = mapped.ward
    else:
        ward = Ward.objects.filter(code=code).first()
    if ward is None:
        raise t.InboundProblem(
            "WARD_UNKNOWN",
            f"Ward {code!r} is not known here: add the ward, or map the code to a ward in the "
            "HIS code mappings.",
            location=location,
            hl7_error="103",
        )
    if ward.hospital_id not in sender.hospital_ids:
        mapped_as = f" (mapped to {ward.code})" if ward.code != code else ""
        raise t.InboundProblem(
            "WARD_OTHER_HOSPITAL",
            f"Ward {code!r}{mapped_as} is a ward of another hospital: {sender.name} cannot "
            "place a patient there. Check the ward code, or its HIS code mapping.",
            location=location,
            hl7_error="103",
        )
    return ward


def bed_resolve(ward: Ward, code: str, *, location: str = "PV1^1^3") -> Bed | None:
    if not code:
        return None
    bed = Bed.objects.filter(ward=ward, code=code).first()
    if bed is None:
        raise t.InboundProblem(
            "BED_UNKNOWN",
            f"Bed {code!r} is not a bed of ward {ward.code} here: add it to the ward.",
            location=location,
            hl7_error="103",
        )
    return bed


def medication_resolve(coded: t.CodedValue, *, sender: Sender, location: str) -> Medication:
    mapped = code_map_find(CodeMapKind.MEDICATION, coded.code, sender=sender)
    # A medication mapping always names one (check constraint); said again for the types.
    if mapped is None or mapped.medication is None:
        raise t.InboundProblem(
            "DRUG_UNMAPPED",
            f"The HIS drug code {coded.code!r} ({coded.text or 'no name'}) is not mapped to a "
            "formulary item: map it in the HIS code mappings, then reprocess.",
            location=location,
            hl7_error="103",
        )
    return mapped.medication


def allergen_resolve(coded: t.CodedValue, *, sender: Sender, location: str) -> tuple[str, str]:
    """(our substance or class code, the name to show). Mapped, or the HIS's code is already one
    of our substance or allergy-class codes; never a guess."""
    mapped = code_map_find(CodeMapKind.ALLERGEN, coded.code, sender=sender)
    if mapped is not None:
        return mapped.allergen_code, coded.text or mapped.his_name or mapped.allergen_code
    slug = slugify(coded.code)
    substance = Substance.objects.filter(code=slug).first()
    if substance is not None:
        return slug, coded.text or substance.name
    in_class = Substance.objects.filter(allergy_class_code=slug).first()
    if slug and in_class is not None:
        return slug, coded.text or in_class.allergy_class_name or slug
    raise t.InboundProblem(
        "ALLERGEN_UNMAPPED",
        f"The allergen {coded.code!r} ({coded.text or 'no name'}) is not mapped to a substance or "
        "allergy class: an allergy the bedside cannot match is not recorded. Map it, then "
        "reprocess.",
        location=location,
        hl7_error="103",
    )


# --------------------------------------------------------------------------------- ADT


def _patient_values(patient: t.PatientData) -> dict[str, object]:
    return {
        "full_name": patient.full_name,
        "date_of_birth": patient.date_of_birth,
        "sex": patient.sex,
        "national_id": patient.national_id,
        "health_insurance_number": patient.health_insurance_number,
        "deceased_at": patient.deceased_at,
    }


def mrn_hospital(
    mrn: str, sender: Sender, *, hospital_id: int | None = None, location: str = "PID^1^3"
) -> int | None:
    """The hospital whose MRN this is: `hospital_id` (the ward's), else the sender's only one
    (an HIS's: MSH-4's), else the one of the sender's hospitals that issued it; None when none
    did. Every hospital numbers its own patients, so an MRN is never looked up without it."""
    if hospital_id is not None:
        return hospital_id
    if sender.sole_hospital_id is not None:
        return sender.sole_hospital_id
    issuers = set(
        PatientNumber.objects.filter(mrn=mrn, hospital_id__in=sender.hospital_ids).values_list(
            "hospital_id", flat=True
        )
    )
    if len(issuers) > 1:
        raise t.InboundProblem(
            "MRN_AMBIGUOUS",
            f"MRN {mrn} is a patient of several of {sender.name}'s hospitals, each its own: "
            "send the patient with her encounter (its ward names the hospital), or from an "
            "account of one hospital.",
            location=location,
            hl7_error="204",
        )
    return issuers.pop() if issuers else None


def patient_find(
    mrn: str, sender: Sender, *, hospital_id: int | None = None, location: str = "PID^1^3"
) -> Patient | None:
    """The patient the sender's hospital numbers `mrn`."""
    hospital = mrn_hospital(mrn, sender, hospital_id=hospital_id, location=location)
    return patient_by_mrn(hospital_id=hospital, mrn=mrn) if hospital is not None else None


def patient_apply(
    data: t.PatientData, *, create: bool, sender: Sender, hospital_id: int | None = None
) -> Patient:
    """Create (when `create`) or update the patient the HIS describes by its MRN. `hospital_id`
    (one of the sender's: the hospital of the ward she is admitted to), else the sender's only
    hospital, is the one whose MRN it is and that registers a new patient."""
    hospital = mrn_hospital(data.mrn, sender, hospital_id=hospital_id)
    existing = patient_by_mrn(hospital_id=hospital, mrn=data.mrn) if hospital else None
    if existing is None and create:
        # Known by her national ID elsewhere: this message would change her record.
        existing = patient_live_by_national_id(national_id=data.national_id)
    if existing is not None:
        patient_check(existing, sender)
    try:
        return ward_services.patient_save_from_his(
            mrn=data.mrn, values=_patient_values(data), create=create, hospital_id=hospital
        )
    except (ApplicationError, ValidationError) as error:
        raise _problem(error, "PID^1^3") from error


def allergies_apply(
    patient: Patient, allergies: tuple[t.AllergyData, ...] | None, *, sender: Sender
) -> None:
    """Add or update these allergies (None: the HIS said nothing about them); never removes."""
    if allergies is None:
        return
    rows: list[dict[str, str]] = []
    for index, allergy in enumerate(allergies, start=1):
        code, name = allergen_resolve(allergy.allergen, sender=sender, location=f"AL1^{index}^3")
        rows.append(
            {
                "allergen_code": code,
                "allergen_name": name[:200],
                "severity": allergy.severity,
                "reaction": allergy.reaction,
            }
        )
    try:
        ward_services.allergies_replace_from_his(patient=patient, allergies=rows)
    except ValidationError as error:
        raise _problem(error, "AL1") from error


def _admission(
    patient: Patient,
    visit: t.VisitData | None,
    sender: Sender,
    *,
    hospital_id: int | None,
    adopt: bool = True,
) -> Admission:
    """The admission the message is about: by visit number at `hospital_id`, else the open one.
    An open admission there typed in by hand before the interface existed is adopted by the
    first visit number.

    `hospital_id` is the hospital whose MRN the message names (`mrn_hospital`): one HIS issued
    both numbers. Another hospital's HIS may issue the same visit number for another visit."""
    number = visit.visit_number if visit else ""
    if number:
        # None: no hospital of the sender numbers her, so none knows her visits.
        there = (
            Admission.objects.filter(hospital_id=hospital_id)
            if hospital_id is not None
            else Admission.objects.none()
        )
        found = there.filter(visit_number=number).first()
        if found is not None:
            if found.patient_id != patient.pk:
                raise t.InboundProblem(
                    "VISIT_CONFLICT",
                    f"Visit {number} belongs to another patient here.",
                    location="PV1^1^19",
                    hl7_error="207",
                )
            admission_check(found, sender)
            return found
        open_one = there.filter(patient=patient, discharged_at__isnull=True).first()
        if adopt and open_one is not None and not open_one.visit_number:
            Admission.objects.filter(pk=open_one.pk).update(visit_number=number)
            open_one.visit_number = number
            return open_one
        raise t.InboundProblem(
            "VISIT_UNKNOWN",
            f"Visit {number} of {patient.mrn} is not known here (its admission may not have "
            "arrived yet).",
            location="PV1^1^19",
            hl7_error="204",
            waiting=True,
        )
    open_one = Admission.objects.filter(patient=patient, discharged_at__isnull=True).first()
    if open_one is None:
        raise t.InboundProblem(
            "NOT_ADMITTED",
            f"{patient.mrn} has no open admission here.",
            location="PV1^1^19",
            hl7_error="204",
            waiting=True,
        )
    return open_one


def _location(visit: t.VisitData | None, sender: Sender) -> tuple[Ward, Bed | None]:
    ward = ward_resolve(visit.ward_code if visit else "", sender=sender)
    return ward, bed_resolve(ward, visit.bed_code if visit else "")


@transaction.atomic
def adt_apply(event: t.AdtEvent, *, sender: Sender) -> str:
    """Apply one ADT event; returns what was done, in a few words (for the inbox row)."""
    try:
        return _ADT[event.kind](event, sender)
    except (ward_services.HisConflictError, ApplicationError, ValidationError) as error:
        raise _problem(error, "PV1^1^3") from error


def _admit(event: t.AdtEvent, sender: Sender) -> str:
    ward, bed = _location(event.visit, sender)
    patient = patient_apply(event.patient, create=True, sender=sender, hospital_id=ward.hospital_id)
    allergies_apply(patient, event.allergies, sender=sender)
    admission = ward_services.admission_admit_from_his(
        patient=patient,
        ward=ward,
        bed=bed,
        visit_number=event.visit.visit_number if event.visit else "",
        admitted_at=(event.visit.admitted_at if event.visit else None) or event.occurred_at,
    )
    return f"admitted to {admission.ward.code}"


def _transfer(event: t.AdtEvent, sender: Sender) -> str:
    ward, bed = _location(event.visit, sender)
    hospital = mrn_hospital(event.patient.mrn, sender)
    patient = patient_apply(event.patient, create=False, sender=sender, hospital_id=hospital)
    admission = _admission(patient, event.visit, sender, hospital_id=hospital)
    if not admission.is_open:
        raise t.InboundProblem(
            "ADMISSION_CLOSED",
            f"Visit {admission.visit_number} is closed here: a transfer cannot apply.",
            location="PV1^1^19",
        )
    admission = ward_services.admission_move_from_his(
        admission=admission, ward=ward, bed=bed, at=event.occurred_at
    )
    allergies_apply(patient, event.allergies, sender=sender)
    return f"transferred to {admission.ward.code}"


def _discharge(event: t.AdtEvent, sender: Sender) -> str:
    hospital = mrn_hospital(event.patient.mrn, sender)
    patient = patient_apply(event.patient, create=False, sender=sender, hospital_id=hospital)
    admission = _admission(patient, event.visit, sender, hospital_id=hospital)
    if not admission.is_open:
        return "already discharged"
    at = (event.visit.discharged_at if event.visit else None) or event.occurred_at
    ward_services.admission_discharge_from_his(admission=admission, at=at)
    return "discharged, band voided"


def _update(event: t.AdtEvent, sender: Sender) -> str:
    complete = bool(event.patient.full_name and event.patient.date_of_birth and event.patient.sex)
    patient = patient_apply(event.patient, create=complete, sender=sender)
    allergies_apply(patient, event.allergies, sender=sender)
    return "patient updated"


def _cancel_admit(event: t.AdtEvent, sender: Sender) -> str:
    hospital = mrn_hospital(event.patient.mrn, sender)
    patient = patient_apply(event.patient, create=False, sender=sender, hospital_id=hospital)
    admission = _admission(patient, event.visit, sender, hospital_id=hospital, adopt=False)
    if admission.cancelled_at is not None:
        return "already cancelled"
    ward_services.admission_cancel_from_his(admission=admission, at=event.occurred_at)
    return "admission cancelled, band voided"


def _cancel_transfer(event: t.AdtEvent, sender: Sender) -> str:
    hospital = mrn_hospital(event.patient.mrn, sender)
    patient = patient_apply(event.patient, create=False, sender=sender, hospital_id=hospital)
    admission = _admission(patient, event.visit, sender, hospital_id=hospital)
    ward = bed = None
    if event.visit and event.visit.ward_code:
        ward, bed = _location(event.visit, sender)
    admission = ward_services.admission_transfer_cancel_from_his(
        admission=admission, ward=ward, bed=bed
    )
    return f"transfer cancelled, back on {admission.ward.code}"


def _cancel_discharge(event: t.AdtEvent, sender: Sender) -> str:
    hospital = mrn_hospital(event.patient.mrn, sender)
    patient = patient_apply(event.patient, create=False, sender=sender, hospital_id=hospital)
    admission = _admission(patient, event.visit, sender, hospital_id=hospital, adopt=False)
    if admission.is_open:
        return "not discharged"
    ward_services.admission_reopen_from_his(admission=admission)
    return "discharge cancelled: print a new band"


def _merge(event: t.AdtEvent, sender: Sender) -> str:
    # Both numbers are the sending hospital's (A40 merges two records of one HIS).
    surviving = patient_find(event.patient.mrn, sender)
    prior = patient_find(event.prior_mrn, sender, location="MRG^1^1")
    for known in (surviving, prior):
        if known is not None:
            patient_check(known, sender)
    if prior is None:
        if surviving is None:
            return "neither record is known here"
        return "prior record not known here"
    if surviving is None:
        # The HIS renamed the record: ours takes the surviving number.
        _renumber(prior, event.prior_mrn, event.patient.mrn, sender)
        patient_apply(event.patient, create=False, sender=sender)
        return f"{event.prior_mrn} renumbered {event.patient.mrn}"
    ward_services.patient_merge_from_his(surviving=surviving, prior=prior)
    patient_apply(event.patient, create=False, sender=sender)
    return f"{event.prior_mrn} merged into {event.patient.mrn}"


def _renumber(patient: Patient, old: str, new: str, sender: Sender) -> None:
    hospital = mrn_hospital(old, sender, location="MRG^1^1")
    if hospital is not None:
        ward_services.patient_renumber_from_his(patient=patient, hospital_id=hospital, mrn=new)


_ADT = {
    t.ADMIT: _admit,
    t.TRANSFER: _transfer,
    t.DISCHARGE: _discharge,
    t.UPDATE: _update,
    t.CANCEL_ADMIT: _cancel_admit,
    t.CANCEL_TRANSFER: _cancel_transfer,
    t.CANCEL_DISCHARGE: _cancel_discharge,
    t.MERGE: _merge,
}


# --------------------------------------------------------------------------------- orders


def his_verifier() -> User | None:
    """The interface's own account, as verifier of orders when the site lets the HIS verify
    (INBOUND_ORDERS_REQUIRE_VERIFICATION = False); None when the pharmacist verifies."""
    if conf.get("INBOUND_ORDERS_REQUIRE_VERIFICATION"):
        return None
    user, created = User.objects.get_or_create(
        username=HIS_USERNAME,
        defaults={"first_name": "HIS", "last_name": "interface", "is_active": False},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def _order_values(order: t.OrderData, admission: Admission, sender: Sender) -> dict[str, object]:
    location = order.locations
    if order.medication is None or order.timing is None:
        # Unreachable from the parsers (hl7in, fhirin): they refuse a new or changed order
        # without its drug or its timing. Said here so that the types say so too.
        raise t.InboundProblem(
            "ORDER_INCOMPLETE",
            "A new or changed order needs its drug and its timing.",
            location=location.get("medication", ""),
            hl7_error="101",
        )
    medication = medication_resolve(
        order.medication, sender=sender, location=location.get("medication", "")
    )
    if order.route not in Route.values:
        raise t.InboundProblem(
            "ROUTE_UNKNOWN",
            f"The route {order.route!r} (HL7 table 0162) is not one we record.",
            location=location.get("route", ""),
            hl7_error="103",
        )
    if order.route not in (medication.routes or []):
        raise t.InboundProblem(
            "ROUTE_NOT_ALLOWED",
            f"{medication.name} is not given by the route {order.route} here: check the mapping "
            "of the drug code, or the medication's routes.",
            location=location.get("route", ""),
            hl7_error="103",
        )
    timing = order.timing
    values: dict[str, object] = {
        "admission": admission,
        "medication": medication,
        "dose_value": order.dose_value,
        "dose_unit": order.dose_unit,
        "route": order.route,
        "times_of_day": [],
        "interval_hours": None,
        "prn_indication": "",
        "prn_min_interval_minutes": None,
        "prn_max_per_24h": None,
        "start_at": timing.start_at,
        "stop_at": timing.stop_at,
        "prescriber_name": order.prescriber_name or "HIS",
        "instructions": order.instructions,
    }
    if timing.kind == t.TIMES:
        values.update(
            schedule_kind=ScheduleKind.TIMES_OF_DAY, times_of_day=list(timing.times_of_day)
        )
    elif timing.kind == t.INTERVAL:
        values.update(schedule_kind=ScheduleKind.INTERVAL, interval_hours=timing.interval_hours)
    elif timing.kind in (t.ONCE, t.STAT):
        # One dose: due at the start; the order stays open for a day so that a late dose is a
        # TOO_LATE warning at the bedside rather than an inactive order.
        day = timing.start_at + timedelta(hours=24)
        values.update(
            schedule_kind=ScheduleKind.STAT if timing.kind == t.STAT else ScheduleKind.ONCE,
            stop_at=min(timing.stop_at, day) if timing.stop_at else day,
        )
    elif timing.kind == t.ON_CALL:
        # One dose, given when the ward is called: open until the HIS ends or stops it.
        values.update(schedule_kind=ScheduleKind.ON_CALL)
    else:
        values.update(
            schedule_kind=ScheduleKind.PRN,
            prn_indication=timing.prn_indication,
            prn_min_interval_minutes=timing.prn_min_interval_minutes,
            prn_max_per_24h=timing.prn_max_per_24h,
        )
    return values


def _find_order(order: t.OrderData, hospital_id: int | None) -> MedicationOrder | None:
    """The order of that placer number, else of that filler number, at `hospital_id`: the
    hospital whose MRN the message names (`mrn_hospital`), one HIS issuing both. Another
    hospital's HIS may issue the same numbers for another order. None: no hospital of the sender
    numbers her, so none of its orders is hers."""
    if hospital_id is None:
        return None
    there = MedicationOrder.objects.filter(hospital_id=hospital_id)
    found = None
    if order.placer_number:
        found = there.filter(placer_order_number=order.placer_number).first()
    if found is None and order.filler_number:
        found = there.filter(filler_order_number=order.filler_number).first()
    return found


@transaction.atomic
def orders_apply(message: t.OrderMessage, *, sender: Sender, hospital_id: int | None = None) -> str:
    """Apply every order of one message, or none. Its MRN and order numbers are `hospital_id`'s
    (a FHIR order's, decided by the bundle), else those of `mrn_hospital`'s (MSH-4's for an
    HIS)."""
    hospital = mrn_hospital(message.patient.mrn, sender, hospital_id=hospital_id)
    patient = patient_find(message.patient.mrn, sender, hospital_id=hospital)
    if patient is None:
        raise t.InboundProblem(
            "PATIENT_UNKNOWN",
            f"Patient {message.patient.mrn} is not known here (the admission may not have "
            "arrived yet).",
            location="PID^1^3",
            hl7_error="204",
            waiting=True,
        )
    patient_check(patient, sender)
    done = []
    for order in message.orders:
        try:
            done.append(_order_apply(order, patient, message.visit, sender, hospital))
        except (ApplicationError, ValidationError) as error:
            raise _problem(error, f"ORC^{message.orders.index(order) + 1}") from error
    return "; ".join(done)


# One branch per order control (new, change, discontinue/cancel, hold, release) and its refusals:
# kept in one place so that every case an HIS can send is read together.
def _order_apply(  # noqa: C901
    order: t.OrderData,
    patient: Patient,
    visit: t.VisitData | None,
    sender: Sender,
    hospital_id: int | None,
) -> str:
    number = order.placer_number or order.filler_number
    existing = _find_order(order, hospital_id)
    if existing is not None:
        order_check(existing, sender)
    if existing is not None and existing.admission.patient_id != patient.pk:
        raise t.InboundProblem(
            "ORDER_OTHER_PATIENT",
            f"Order {number} belongs to another patient here.",
            location="ORC^1^2",
            hl7_error="205",
        )
    if order.control == t.NEW:
        if existing is not None:
            raise t.InboundProblem(
                "ORDER_NUMBER_IN_USE",
                f"Order {number} already exists here; a change is sent as XO.",
                location="ORC^1^2",
                hl7_error="205",
            )
        admission = _admission(patient, visit, sender, hospital_id=hospital_id)
        if not admission.is_open:
            raise t.InboundProblem(
                "ADMISSION_CLOSED",
                f"Visit {admission.visit_number} is closed here: no new orders.",
                location="PV1^1^19",
            )
        values = _order_values(order, admission, sender)
        values.update(
            placer_order_number=order.placer_number, filler_order_number=order.filler_number
        )
        created = pharmacy_services.order_create_from_his(values=values, verifier=his_verifier())
        return f"order {number} {created.status}"
    if existing is None:
        raise t.InboundProblem(
            "ORDER_UNKNOWN",
            f"Order {number} is not known here (the new order may not have arrived yet).",
            location="ORC^1^2",
            hl7_error="204",
            waiting=True,
        )
    status = existing.status
    ended = status in (OrderStatus.DISCONTINUED, OrderStatus.COMPLETED)
    if order.control == t.CHANGE:
        if ended:
            raise t.InboundProblem(
                "ORDER_ENDED",
                f"Order {number} has ended here; it cannot be changed.",
                location="ORC^1^1",
            )
        values = _order_values(order, existing.admission, sender)
        values.pop("admission")
        if order.filler_number and not existing.filler_order_number:
            values["filler_order_number"] = order.filler_number
        changed = pharmacy_services.order_change_from_his(
            order=existing, values=values, verifier=his_verifier()
        )
        return f"order {number} changed, {changed.status}"
    reason = (
        order.reason
        or {
            t.HOLD: "Held by the HIS",
            t.RELEASE: "Released by the HIS",
            t.DISCONTINUE: "Discontinued by the HIS",
            t.CANCEL: "Cancelled by the HIS",
        }[order.control]
    )
    if order.control in (t.DISCONTINUE, t.CANCEL):
        if ended:
            return f"order {number} already ended"
        pharmacy_services.order_discontinue(order=existing, reason=reason)
        return f"order {number} discontinued"
    if order.control == t.HOLD:
        if status == OrderStatus.ON_HOLD or ended:
            return f"order {number} already {status}"
        if status == OrderStatus.PENDING_VERIFICATION:
            raise t.InboundProblem(
                "HOLD_UNVERIFIED",
                f"Order {number} awaits verification and cannot be put on hold: do not verify "
                "it until the HIS releases it, or discontinue it.",
                location="ORC^1^1",
            )
        pharmacy_services.order_hold(order=existing, reason=reason)
        return f"order {number} on hold"
    if status != OrderStatus.ON_HOLD:
        if ended:
            raise t.InboundProblem(
                "ORDER_ENDED",
                f"Order {number} has ended here; it cannot be released.",
                location="ORC^1^1",
            )
        return f"order {number} already {status}"
    pharmacy_services.order_resume(order=existing, reason=reason)
    return f"order {number} released"
