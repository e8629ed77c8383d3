"""Every existing patient gets the hospital that registered her: the hospital of her latest
admission's ward (the HIS that admitted her last knows her by this MRN), else, never admitted,
the first hospital (a deployment of one hospital before issue 19 has only that one)."""

from django.conf import settings
from django.db import migrations
from django.db.models import OuterRef, Subquery

FIRST_GLN = "8936000000004"  # as wards 0008: GS1 Vietnam's prefix 893, a placeholder


def every_patient_registered(apps, schema_editor):
    Hospital = apps.get_model("hospital", "Hospital")
    Patient = apps.get_model("wards", "Patient")
    Admission = apps.get_model("wards", "Admission")
    unregistered = Patient.objects.filter(hospital__isnull=True)
    if not unregistered.exists():
        return
    latest = Admission.objects.filter(patient=OuterRef("pk")).order_by(
        "-admitted_at", "-pk"
    )
    unregistered.update(hospital=Subquery(latest.values("ward__hospital_id")[:1]))
    if not Patient.objects.filter(hospital__isnull=True).exists():
        return
    first = Hospital.objects.order_by("pk").first()
    if first is None:
        # Patients but neither wards nor staff: the hospital wards 0008 would have made.
        facility = getattr(settings, "INTEROP_HL7_SENDING_FACILITY", "HOSPITAL")
        first, _ = Hospital.objects.get_or_create(
            code="H1", defaults={"name": "Hospital", "gln": FIRST_GLN, "hl7_facility": facility}
        )
    Patient.objects.filter(hospital__isnull=True).update(hospital=first)


class Migration(migrations.Migration):
    dependencies = [
        ("hospital", "0007_hospitals"),
        ("wards", "0010_patient_hospital"),
    ]

    operations = [
        migrations.RunPython(
            every_patient_registered, migrations.RunPython.noop, elidable=False
        ),
    ]
