from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

import gs1
from hospital.exceptions import ApplicationError
from hospital.models import User
from wards.models import Admission, Allergy, Bed, Patient, PatientNumber, Ward, Wristband
from wards.selectors import (
    patient_by_mrn,
    patient_live_by_national_id,
    patient_mrn_at,
    patients_live_by_social_insurance,
)


class AdmissionClosedError(ApplicationError):
    code = "PATIENT_NOT_ADMITTED"
    status = 409


# The reasons the services write are read in the pharmacy site, in the hospital's language.
@transaction.atomic
def wristband_issue(*, admission: Admission, printed_by: User, reason: str = "") -> Wristband:
    """Print a new band for an open admission; the previous active band is voided first.

    The patient row is locked so that two reprints at once cannot both take the next instance
    number; the partial unique constraint would refuse the second anyway.
    """
    patient = Patient.objects.select_for_update(no_key=True).get(pk=admission.patient_id)
    admission = Admission.objects.get(pk=admission.pk)
    if not admission.is_open:
        raise AdmissionClosedError("A wristband can only be printed for an open admission.")
    now = timezone.now()
    Wristband.objects.filter(admission__patient=patient, voided_at__isnull=True).update(
        voided_at=now, void_reason=reason or "Thay bằng vòng tay in mới"
    )
    last_instance = patient.wristbands.aggregate(last=Max("instance"))["last"] or 0
    return Wristband.objects.create(
        patient=patient,
        admission=admission,
        instance=last_instance + 1,
        printed_at=now,
        printed_by=printed_by,
    )


@transaction.atomic
def wristband_void(*, wristband: Wristband, reason: str) -> Wristband:
    if not reason.strip():
        raise ApplicationError("A reason is required to void a wristband.", code="REASON_REQUIRED")
    # The patient row first, as every bedside write does, so a record cannot slip past a void.
    Patient.objects.select_for_update(no_key=True).get(pk=wristband.patient_id)
    band = Wristband.objects.select_for_update(no_key=True).get(pk=wristband.pk)
    if band.voided_at is None:
        band.voided_at = timezone.now()
        band.void_reason = reason.strip()
        band.save(update_fields=["voided_at", "void_reason"])
    return band


# A band's void reason is read by people (the band's history, the cart's refusal), so it is in the
# nurses' language; the cancellation relabels exactly the bands its own discharge voided.
BAND_VOIDED_AT_DISCHARGE = "Người bệnh ra viện"
BAND_VOIDED_ADMISSION_CANCELLED = "HIS huỷ đợt nhập viện (nhập nhầm)"


@transaction.atomic
def admission_discharge(
    *, admission: Admission, discharged_at: datetime | None = None
) -> Admission:
    Patient.objects.select_for_update(no_key=True).get(pk=admission.patient_id)
    admission = Admission.objects.select_for_update(no_key=True).get(pk=admission.pk)
    if not admission.is_open:
        return admission
    admission.discharged_at = discharged_at or timezone.now()
    admission.save(update_fields=["discharged_at"])
    admission.wristbands.filter(voided_at__isnull=True).update(
        voided_at=admission.discharged_at, void_reason=BAND_VOIDED_AT_DISCHARGE
    )
    return admission


# ------------------------------------------------------------------------------------------------
# Patients and admissions as the hospital information system (HIS) reports them. The callers
# (interop.inbound) hold the patient's inbound lock and resolve the HIS's codes first.


class HisConflictError(ApplicationError):
    """What the HIS says contradicts what we hold; `waiting` when an earlier message may fix it."""

    code = "HIS_CONFLICT"
    status = 409

    def __init__(self, message: str, *, code: str | None = None, waiting: bool = False):
        super().__init__(message, code=code)
        self.waiting = waiting


PATIENT_FIELDS = (
    "full_name",
    "date_of_birth",
    "sex",
    "national_id",
    "health_insurance_number",
    "deceased_at",
)


def patient_gsrn_allocate() -> str:
    """The next free patient GSRN under the hospital's GS1 prefix (AI 8018 on the wristband)."""
    prefix = settings.PATIENT_GSRN_PREFIX
    width = 17 - len(prefix)
    last = (
        Patient.objects.filter(gsrn__startswith=prefix)
        .order_by("-gsrn")
        .values_list("gsrn", flat=True)
        .first()
    )
    serial = int(last[len(prefix) : 17]) + 1 if last else 1
    if serial >= 10**width:
        raise ApplicationError("The patient GSRN range is exhausted.", code="GSRN_EXHAUSTED")
    return gs1.make_gsrn(f"{prefix}{serial:0{width}d}")


@transaction.atomic
def patient_register(
    *, hospital_id: int, mrn: str, values: dict[str, object], gsrn: str = ""
) -> Patient:
    """A new person, registered by `hospital_id` under `mrn`, with her number there. Without a
    `gsrn`, the next free one (taken by someone else at the same moment: the next again)."""
    for _attempt in range(5):
        patient = Patient(
            mrn=mrn, hospital_id=hospital_id, gsrn=gsrn or patient_gsrn_allocate(), **values
        )
        patient.full_clean()
        try:
            with transaction.atomic():
                patient.save()
                patient_number_add(patient=patient, hospital_id=hospital_id, mrn=mrn)
            return patient
        except IntegrityError:
            if gsrn or not Patient.objects.filter(gsrn=patient.gsrn).exists():
                raise
    raise ApplicationError("No free patient GSRN after 5 tries.", code="GSRN_BUSY")


def patient_number_add(*, patient: Patient, hospital_id: int, mrn: str) -> PatientNumber:
    number = PatientNumber(patient=patient, hospital_id=hospital_id, mrn=mrn)
    number.full_clean()
    number.save()
    return number


@transaction.atomic
def patient_save_by_hand(*, patient: Patient) -> Patient:
    """A patient typed in or corrected in the pharmacy site (validated by its form): her number at
    her registering hospital follows `mrn`."""
    patient.save()
    number = PatientNumber.objects.filter(patient=patient, hospital_id=patient.hospital_id).first()
    if number is None:
        patient_number_add(patient=patient, hospital_id=patient.hospital_id, mrn=patient.mrn)
    elif number.mrn != patient.mrn:
        number.mrn = patient.mrn
        number.full_clean()
        number.save(update_fields=["mrn"])
    return patient


@transaction.atomic
def patient_renumber_from_his(*, patient: Patient, hospital_id: int, mrn: str) -> Patient:
    """This hospital's HIS gave her a new MRN (A40 onto a number we do not know); her registering
    hospital's number is also `Patient.mrn`."""
    PatientNumber.objects.filter(patient=patient, hospital_id=hospital_id).update(mrn=mrn)
    if patient.hospital_id == hospital_id:
        Patient.objects.filter(pk=patient.pk).update(mrn=mrn)
        patient.mrn = mrn
    return patient


def patient_save_from_his(
    *, mrn: str, values: dict[str, object], create: bool, hospital_id: int | None
) -> Patient:
    """Create or update the patient `hospital_id`'s HIS numbers `mrn`, from its demographics;
    blank values keep ours. A number new at this hospital with the national ID of someone we
    know (and her date of birth and sex) is hers: the hospital's number joins her record. Else a
    new patient, registered by `hospital_id`; an update never changes who registered her."""
    found = patient_by_mrn(hospital_id=hospital_id, mrn=mrn) if hospital_id is not None else None
    patient = Patient.objects.select_for_update(no_key=True).get(pk=found.pk) if found else None
    values = {key: value for key, value in values.items() if value not in ("", None)}
    if patient is None:
        if not create:
            raise HisConflictError(
                f"Patient {mrn} is not known here yet.", code="PATIENT_UNKNOWN", waiting=True
            )
        if hospital_id is None:
            raise HisConflictError(
                f"Patient {mrn} is new, and the message does not say which hospital registers "
                "her: send her with her admission (its ward's hospital), or from an account of "
                "one hospital.",
                code="PATIENT_HOSPITAL_UNKNOWN",
            )
        missing = [name for name in ("full_name", "date_of_birth", "sex") if name not in values]
        if missing:
            raise HisConflictError(
                f"A new patient needs {', '.join(missing)}.", code="PATIENT_INCOMPLETE"
            )
        return _patient_link_or_register(hospital_id=hospital_id, mrn=mrn, values=values)
    if patient.merged_into_id is not None:
        raise HisConflictError(
            f"Patient {mrn} was merged into another record.", code="PATIENT_MERGED"
        )
    return _patient_update(patient, values)


def _patient_link_or_register(*, hospital_id: int, mrn: str, values: dict[str, object]) -> Patient:
    national_id = str(values.get("national_id", ""))
    for _attempt in range(3):
        known = patient_live_by_national_id(national_id=national_id)
        if known is not None:
            return _patient_link(known, hospital_id=hospital_id, mrn=mrn, values=values)
        known = _patient_by_social_insurance(mrn=mrn, values=values)
        if known is not None:
            return _patient_link(
                known, hospital_id=hospital_id, mrn=mrn, values=values, by="social-insurance number"
            )
        try:
            return patient_register(hospital_id=hospital_id, mrn=mrn, values=values)
        except (IntegrityError, ValidationError):
            # Another hospital registered the same person at this moment: she is now known.
            if patient_live_by_national_id(national_id=national_id) is None:
                raise
    raise ApplicationError(f"Patient {mrn} could not be registered or linked.", code="PATIENT_BUSY")


def _patient_by_social_insurance(*, mrn: str, values: dict[str, object]) -> Patient | None:
    """The one live patient with this person's social-insurance number (the lifelong part of her
    health-insurance number), when the message's national ID matched nobody. Two such patients,
    or one whose national ID is another, is for a person to settle."""
    found = patients_live_by_social_insurance(
        health_insurance_number=str(values.get("health_insurance_number", ""))
    )
    if not found:
        return None
    if len(found) > 1:
        raise HisConflictError(
            f"Patient {mrn} has the social-insurance number of {len(found)} patients "
            f"({', '.join(p.mrn for p in found)}): merge them, or correct the number in the HIS.",
            code="IDENTITY_CONFLICT",
        )
    (patient,) = found
    national_id = str(values.get("national_id", ""))
    if national_id and patient.national_id and patient.national_id != national_id:
        raise HisConflictError(
            f"Patient {mrn} has the social-insurance number of patient {patient.mrn}, but "
            "another national ID: check both numbers in the HIS.",
            code="IDENTITY_CONFLICT",
        )
    return patient


def _patient_link(
    patient: Patient,
    *,
    hospital_id: int,
    mrn: str,
    values: dict[str, object],
    by: str = "national ID",  # the number that found her
) -> Patient:
    """The person we know by this national ID (or social-insurance number), now numbered by
    another hospital too. A name alone never links; the date of birth and sex must agree, else
    two people share a number (a typing error in one HIS) and a person decides."""
    number = by
    patient = Patient.objects.select_for_update(no_key=True).get(pk=patient.pk)
    disagree = [name for name in ("date_of_birth", "sex") if getattr(patient, name) != values[name]]
    if disagree:
        raise HisConflictError(
            f"Patient {mrn} has the {number} of patient {patient.mrn}, but "
            f"not the same {' and '.join(name.replace('_', ' ') for name in disagree)}: check "
            f"the {number} in the HIS.",
            code="IDENTITY_CONFLICT",
        )
    already = patient_mrn_at(patient=patient, hospital_id=hospital_id)
    if already is not None:
        raise HisConflictError(
            f"Patient {mrn} has the {number} of this hospital's patient {already}: one person "
            f"with two MRNs here (merge them in the HIS, A40), or a wrong {number}.",
            code="IDENTITY_CONFLICT",
        )
    patient_number_add(patient=patient, hospital_id=hospital_id, mrn=mrn)
    return _patient_update(patient, values)


def _patient_update(patient: Patient, values: dict[str, object]) -> Patient:
    national_id = values.get("national_id")
    if national_id and national_id != patient.national_id:
        other = patient_live_by_national_id(national_id=str(national_id))
        if other is not None and other.pk != patient.pk:
            raise HisConflictError(
                f"Patient {patient.mrn} would take the national ID of patient {other.mrn}: "
                "one person with two records (merge them), or a wrong national ID.",
                code="IDENTITY_CONFLICT",
            )
    changed = [name for name, value in values.items() if getattr(patient, name) != value]
    for name in changed:
        setattr(patient, name, values[name])
    if changed:
        patient.full_clean()
        patient.save(update_fields=changed)
    return patient


def allergies_replace_from_his(*, patient: Patient, allergies: list[dict[str, str]]) -> None:
    """The HIS sent the full list (AL1): add and update ours to match. An allergy the HIS no
    longer lists is kept: removing one is a clinical decision, not an interface's."""
    existing = {a.allergen_code: a for a in patient.allergies.all()}
    for item in allergies:
        allergy = existing.get(item["allergen_code"])
        if allergy is None:
            allergy = Allergy(patient=patient, **item)
            allergy.full_clean()
            allergy.save()
            existing[allergy.allergen_code] = allergy
            continue
        changed = [name for name, value in item.items() if getattr(allergy, name) != value]
        for name in changed:
            setattr(allergy, name, item[name])
        if changed:
            allergy.full_clean()
            allergy.save(update_fields=changed)


def _bed_free(bed: Bed | None, *, admission: Admission | None = None) -> None:
    if bed is None:
        return
    others = Admission.objects.filter(bed=bed, discharged_at__isnull=True)
    if admission is not None:
        others = others.exclude(pk=admission.pk)
    other = others.select_related("patient").first()
    if other is not None:
        # Usually the HIS's message moving the other patient out has not arrived yet.
        raise HisConflictError(
            f"Bed {bed} is still taken by {other.patient.mrn} here.",
            code="BED_OCCUPIED",
            waiting=True,
        )


@transaction.atomic
def admission_admit_from_his(
    *, patient: Patient, ward: Ward, bed: Bed | None, visit_number: str, admitted_at: datetime
) -> Admission:
    """Open an admission (A01/A04). The same visit again is an update, not a second admission.
    The visit number is the ward's hospital's: another hospital's same number is another visit."""
    patient = Patient.objects.select_for_update(no_key=True).get(pk=patient.pk)
    if visit_number:
        known = Admission.objects.filter(
            hospital_id=ward.hospital_id, visit_number=visit_number
        ).first()
        if known is not None:
            if known.patient_id != patient.pk:
                raise HisConflictError(
                    f"Visit {visit_number} belongs to another patient here.", code="VISIT_CONFLICT"
                )
            if known.is_open:
                return admission_move_from_his(
                    admission=known, ward=ward, bed=bed, at=None, record_transfer=False
                )
            raise HisConflictError(
                f"Visit {visit_number} was closed here; cancel the discharge (A13) to reopen it.",
                code="VISIT_CLOSED",
            )
    current = Admission.objects.filter(patient=patient, discharged_at__isnull=True).first()
    if current is not None:
        raise HisConflictError(
            f"{patient.mrn} is still admitted here (visit {current.visit_number or '—'}).",
            code="ALREADY_ADMITTED",
            waiting=True,
        )
    if patient.deceased_at is not None:
        raise HisConflictError(f"{patient.mrn} is recorded as deceased.", code="PATIENT_DECEASED")
    _bed_free(bed)
    admission = Admission(
        patient=patient,
        ward=ward,
        hospital_id=ward.hospital_id,
        bed=bed,
        mrn=admission_mrn(patient=patient, hospital_id=ward.hospital_id),
        visit_number=visit_number,
        admitted_at=admitted_at,
    )
    admission.full_clean()
    admission.save()
    return admission


def admission_mrn(*, patient: Patient, hospital_id: int) -> str:
    """The MRN an admission in this hospital carries: her number there. One typed in by hand in
    a hospital whose HIS never numbered her carries the number she was registered with."""
    return patient_mrn_at(patient=patient, hospital_id=hospital_id) or patient.mrn


@transaction.atomic
def admission_move_from_his(
    *,
    admission: Admission,
    ward: Ward,
    bed: Bed | None,
    at: datetime | None,
    record_transfer: bool = True,
) -> Admission:
    """A transfer (A02) or a corrected location: ward and bed change; a transfer to another ward
    is remembered so that the cart can say so."""
    Patient.objects.select_for_update(no_key=True).get(pk=admission.patient_id)
    admission = Admission.objects.select_for_update(no_key=True).get(pk=admission.pk)
    if not admission.is_open:
        raise HisConflictError("The admission is closed.", code="PATIENT_NOT_ADMITTED")
    _same_hospital(admission, ward)
    if admission.ward_id == ward.pk and admission.bed_id == (bed.pk if bed else None):
        return admission
    _bed_free(bed, admission=admission)
    fields = ["ward", "bed"]
    if record_transfer and admission.ward_id != ward.pk:
        admission.transferred_at = at or timezone.now()
        admission.transferred_from_id = admission.ward_id
        admission.transferred_from_bed_id = admission.bed_id
        fields += ["transferred_at", "transferred_from", "transferred_from_bed"]
    admission.ward = ward
    admission.bed = bed
    admission.save(update_fields=fields)
    return admission


def _same_hospital(admission: Admission, ward: Ward) -> None:
    """An admission stays in its hospital: its visit number and its patient's MRN are that
    hospital's HIS's. (An HIS names only its own wards; an account of several hospitals could
    name another's.)"""
    if ward.hospital_id != admission.hospital_id:
        raise HisConflictError(
            f"Ward {ward.code} is a ward of another hospital than visit "
            f"{admission.visit_number or admission.external_id}: a patient moves to another "
            "hospital by a discharge here and an admission there.",
            code="WARD_OTHER_HOSPITAL",
        )


@transaction.atomic
def admission_transfer_cancel_from_his(
    *, admission: Admission, ward: Ward | None, bed: Bed | None
) -> Admission:
    """A12: the transfer did not happen. Back to the ward the HIS names, else to where we had the
    patient before; the "recently transferred" notice goes."""
    Patient.objects.select_for_update(no_key=True).get(pk=admission.patient_id)
    admission = Admission.objects.select_for_update(no_key=True).get(pk=admission.pk)
    if not admission.is_open:
        raise HisConflictError("The admission is closed.", code="PATIENT_NOT_ADMITTED")
    if ward is None:
        if admission.transferred_from is None:
            raise HisConflictError(
                "No transfer to cancel and no location given.", code="NO_TRANSFER"
            )
        ward, bed = admission.transferred_from, admission.transferred_from_bed
    _same_hospital(admission, ward)
    _bed_free(bed, admission=admission)
    admission.ward = ward
    admission.bed = bed
    admission.transferred_at = None
    admission.transferred_from = None
    admission.transferred_from_bed = None
    admission.save(
        update_fields=["ward", "bed", "transferred_at", "transferred_from", "transferred_from_bed"]
    )
    return admission


@transaction.atomic
def admission_cancel_from_his(*, admission: Admission, at: datetime | None) -> Admission:
    """A11: the admission was entered in error. Closed (the band voided) and marked cancelled;
    its rows stay, for whatever was recorded under it."""
    admission = admission_discharge(admission=admission, discharged_at=_after(admission, at))
    Admission.objects.filter(pk=admission.pk).update(cancelled_at=timezone.now())
    admission.wristbands.filter(
        voided_at=admission.discharged_at, void_reason=BAND_VOIDED_AT_DISCHARGE
    ).update(void_reason=BAND_VOIDED_ADMISSION_CANCELLED)
    admission.refresh_from_db()
    return admission


@transaction.atomic
def admission_reopen_from_his(*, admission: Admission) -> Admission:
    """A13: the discharge is cancelled. The admission opens again; its old band stays void (a
    voided band never identifies a patient again): the ward prints a new one."""
    Patient.objects.select_for_update(no_key=True).get(pk=admission.patient_id)
    admission = Admission.objects.select_for_update(no_key=True).get(pk=admission.pk)
    if admission.is_open:
        return admission
    if admission.cancelled_at is not None:
        raise HisConflictError("A cancelled admission cannot reopen.", code="ADMISSION_CANCELLED")
    other = Admission.objects.filter(patient_id=admission.patient_id, discharged_at__isnull=True)
    if other.exists():
        raise HisConflictError(
            "The patient has another open admission here.", code="ALREADY_ADMITTED"
        )
    _bed_free(admission.bed, admission=admission)
    admission.discharged_at = None
    admission.save(update_fields=["discharged_at"])
    return admission


def _after(admission: Admission, at: datetime | None) -> datetime:
    """A discharge time the database accepts: after the admission."""
    at = at or timezone.now()
    return at if at > admission.admitted_at else admission.admitted_at + timedelta(seconds=1)


@transaction.atomic
def admission_discharge_from_his(*, admission: Admission, at: datetime | None) -> Admission:
    return admission_discharge(admission=admission, discharged_at=_after(admission, at))


@transaction.atomic
def patient_merge_from_his(*, surviving: Patient, prior: Patient) -> Patient:
    """A40: `prior` was a duplicate of `surviving`. Its allergies join the surviving record (none
    is ever lost), its bands are voided and it is marked merged. Records under an admission stay
    where they are: administrations are append-only, so a prior record with an admission is
    merged by a person (work queue), not here."""
    first, second = sorted([surviving.pk, prior.pk])
    locked = {
        p.pk: p
        for p in Patient.objects.select_for_update(no_key=True).filter(pk__in=[first, second])
    }
    surviving, prior = locked[surviving.pk], locked[prior.pk]
    if prior.merged_into_id == surviving.pk:
        return surviving
    if prior.admissions.exists():
        raise HisConflictError(
            f"{prior.mrn} has admissions here; merge its records by hand.", code="MERGE_BY_HAND"
        )
    severity_rank = {"unknown": 0, "mild": 1, "moderate": 2, "severe": 3}
    kept = {a.allergen_code: a for a in surviving.allergies.all()}
    for allergy in prior.allergies.all():
        mine = kept.get(allergy.allergen_code)
        if mine is None:
            Allergy.objects.create(
                patient=surviving,
                allergen_code=allergy.allergen_code,
                allergen_name=allergy.allergen_name,
                severity=allergy.severity,
                reaction=allergy.reaction,
            )
        elif severity_rank[allergy.severity] > severity_rank[mine.severity]:
            mine.severity = allergy.severity
            mine.save(update_fields=["severity"])
    # Her numbers at the hospitals that number only her prior record follow her there, so their
    # HIS keeps finding her. A hospital that numbers both has the same duplicate to merge (its own
    # A40): until then its messages under the prior number wait in its work queue (PATIENT_MERGED).
    prior.numbers.exclude(hospital_id__in=surviving.numbers.values("hospital_id")).update(
        patient=surviving
    )
    now = timezone.now()
    prior.wristbands.filter(voided_at__isnull=True).update(
        voided_at=now, void_reason=f"Merged into {surviving.mrn}"
    )
    prior.merged_into = surviving
    prior.merged_at = now
    prior.save(update_fields=["merged_into", "merged_at"])
    return surviving
