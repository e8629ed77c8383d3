from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from hospital.exceptions import ApplicationError
from wards.models import Admission, Patient, Wristband


class AdmissionClosedError(ApplicationError):
    code = "PATIENT_NOT_ADMITTED"
    status = 409


@transaction.atomic
def wristband_issue(*, admission: Admission, printed_by, reason: str = "") -> Wristband:
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
        voided_at=now, void_reason=reason or "Superseded by a reprinted band"
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


@transaction.atomic
def admission_discharge(*, admission: Admission, discharged_at=None) -> Admission:
    Patient.objects.select_for_update(no_key=True).get(pk=admission.patient_id)
    admission = Admission.objects.select_for_update(no_key=True).get(pk=admission.pk)
    if not admission.is_open:
        return admission
    admission.discharged_at = discharged_at or timezone.now()
    admission.save(update_fields=["discharged_at"])
    admission.wristbands.filter(voided_at__isnull=True).update(
        voided_at=admission.discharged_at, void_reason="Patient discharged"
    )
    return admission
