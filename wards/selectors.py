from django.db.models import Exists, F, OuterRef

from wards.models import Patient, Wristband


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
