"""Every existing admission is in the hospital of its ward: one UPDATE with a correlated
subquery, which SQLite and PostgreSQL both run (a transfer never left the hospital)."""

from django.db import migrations
from django.db.models import OuterRef, Subquery


def every_admission_in_its_hospital(apps, schema_editor):
    Ward = apps.get_model("wards", "Ward")
    Admission = apps.get_model("wards", "Admission")
    Admission.objects.filter(hospital__isnull=True).update(
        hospital_id=Subquery(Ward.objects.filter(pk=OuterRef("ward_id")).values("hospital_id"))
    )


class Migration(migrations.Migration):
    dependencies = [
        ("wards", "0016_admission_hospital"),
    ]

    operations = [
        migrations.RunPython(
            every_admission_in_its_hospital, migrations.RunPython.noop, elidable=False
        ),
    ]
