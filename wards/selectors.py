import re

from django.db.models import Exists, F, OuterRef

from wards.models import Admission, Patient, PatientNumber, Wristband


def wristband_get_active(*, gsrn: str, instance: int) -> Wristband | None:
    """The band with this patient GSRN and instance, if it is the patient's active band."""
    return (
        Wristband.objects.active()
        .select_related("patient", "admission__ward", "admission__bed")
        .filter(patient__gsrn=gsrn, instance=instance)
        .first()
    )


def wristband_discharged_at(*, gsrn: str, instance: int):
    """When this band's admission was discharged, if the discharge voided it (the admission's
    last band, voided no earlier than the discharge); None for an active, reprinted or
    hand-voided band. The bedside reads the same in one statement,
    scanning.facts.fast_sql.patient_admission_band, whose ORM twin
    (scanning.facts.reference.patient_admission_band) calls this."""
    return (
        Wristband.objects.filter(
            patient__gsrn=gsrn,
            instance=instance,
            admission__discharged_at__isnull=False,
            voided_at__gte=F("admission__discharged_at"),
        )
        .exclude(
            Exists(
                Wristband.objects.filter(
                    admission=OuterRef("admission"), instance__gt=OuterRef("instance")
                )
            )
        )
        .values_list("admission__discharged_at", flat=True)
        .first()
    )


def patient_get_by_gsrn(*, gsrn: str) -> Patient | None:
    return Patient.objects.filter(gsrn=gsrn).first()


def patient_by_mrn(*, hospital_id: int, mrn: str) -> Patient | None:
    """The patient this hospital's HIS numbers `mrn`: an MRN means nothing without its hospital."""
    return Patient.objects.filter(numbers__hospital_id=hospital_id, numbers__mrn=mrn).first()


def patients_by_mrn(*, hospital_ids, mrn: str) -> list[Patient]:
    """The patients numbered `mrn` by any of these hospitals (each hospital's own, so possibly
    several people); those with an open admission first. (Annotated, not aliased: PostgreSQL
    orders a DISTINCT query only by what it selects.)"""
    return list(
        Patient.objects.filter(numbers__hospital_id__in=hospital_ids, numbers__mrn=mrn)
        .annotate(
            admitted=Exists(
                Admission.objects.filter(patient=OuterRef("pk"), discharged_at__isnull=True)
            )
        )
        .order_by("-admitted", "pk")
        .distinct()
    )


def patient_mrn_at(*, patient: Patient, hospital_id: int) -> str | None:
    """Her MRN at this hospital; None when its HIS has not numbered her."""
    return (
        PatientNumber.objects.filter(patient=patient, hospital_id=hospital_id)
        .values_list("mrn", flat=True)
        .first()
    )


def patient_live_by_national_id(*, national_id: str) -> Patient | None:
    if not national_id:
        return None
    return Patient.objects.filter(national_id=national_id, merged_into__isnull=True).first()


# A Vietnamese health-insurance card number (thẻ BHYT, 15 characters): two letters (the
# beneficiary group), a digit (the benefit level), two digits (the province), then the holder's
# 10-digit social-insurance number (mã số BHXH). The group and the province change with her job
# or her home; the last ten digits are hers for life. Ten digits alone are that number.
_INSURANCE_CARD = re.compile(r"[A-Z]{2}\d{3}(\d{10})")
_SOCIAL_INSURANCE = re.compile(r"\d{10}")


def social_insurance_number(health_insurance_number: str) -> str:
    """The holder's lifelong part of a health-insurance number; "" when it is not one."""
    value = health_insurance_number.replace(" ", "").upper()
    card = _INSURANCE_CARD.fullmatch(value)
    if card is not None:
        return card.group(1)
    return value if _SOCIAL_INSURANCE.fullmatch(value) else ""


def patients_live_by_social_insurance(*, health_insurance_number: str) -> list[Patient]:
    """The live (not merged) patients whose insurance number is the same person's: the same
    social-insurance number, whatever group or province her card names today."""
    core = social_insurance_number(health_insurance_number)
    if not core:
        return []
    return [
        patient
        for patient in Patient.objects.filter(
            health_insurance_number__endswith=core, merged_into__isnull=True
        ).order_by("pk")
        if social_insurance_number(patient.health_insurance_number) == core
    ]
