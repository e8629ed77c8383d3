from wards.models import Patient, Wristband


def wristband_get_active(*, gsrn: str, instance: int) -> Wristband | None:
    """The band with this patient GSRN and instance, if it is the patient's active band."""
    return (
        Wristband.objects.select_related("patient", "admission__ward", "admission__bed")
        .filter(patient__gsrn=gsrn, instance=instance, voided_at__isnull=True)
        .first()
    )


def patient_get_by_gsrn(*, gsrn: str) -> Patient | None:
    return Patient.objects.filter(gsrn=gsrn).first()
