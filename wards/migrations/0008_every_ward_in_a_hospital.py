"""The hospital that was: every existing ward, and every existing user, belongs to one hospital
created here (rename it, and give it its GLN, in the pharmacy site). Its HL7 facility is the MSH-4
that the deployment already sent (INTEROP_HL7_SENDING_FACILITY)."""

from django.conf import settings
from django.db import migrations

FIRST_GLN = "8936000000004"  # GS1 Vietnam's prefix 893, a placeholder with a valid check digit


def every_ward_in_a_hospital(apps, schema_editor):
    Hospital = apps.get_model("hospital", "Hospital")
    Ward = apps.get_model("wards", "Ward")
    User = apps.get_model("hospital", "User")
    if not Ward.objects.exists() and not User.objects.exists():
        return  # a new installation: the demo loader or an administrator creates its hospitals
    facility = getattr(settings, "INTEROP_HL7_SENDING_FACILITY", "HOSPITAL")
    hospital, _ = Hospital.objects.get_or_create(
        code="H1", defaults={"name": "Hospital", "gln": FIRST_GLN, "hl7_facility": facility}
    )
    Ward.objects.filter(hospital__isnull=True).update(hospital=hospital)
    hospital.staff.add(*User.objects.all())


class Migration(migrations.Migration):
    dependencies = [
        ("hospital", "0007_hospitals"),
        ("wards", "0007_ward_hospital"),
    ]

    operations = [
        migrations.RunPython(every_ward_in_a_hospital, migrations.RunPython.noop, elidable=False),
    ]
