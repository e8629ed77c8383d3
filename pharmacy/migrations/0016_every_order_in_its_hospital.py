"""Every existing order is in the hospital of its admission: one UPDATE with a correlated
subquery, which SQLite and PostgreSQL both run (an admission never leaves its hospital). Its
history rows too, so that the first change after the migration does not show the hospital as
changed."""

from django.db import migrations
from django.db.models import OuterRef, Subquery


def every_order_in_its_hospital(apps, schema_editor):
    Admission = apps.get_model("wards", "Admission")
    hospital_of_admission = Subquery(
        Admission.objects.filter(pk=OuterRef("admission_id")).values("hospital_id")
    )
    for name in ("MedicationOrder", "HistoricalMedicationOrder"):
        model = apps.get_model("pharmacy", name)
        model.objects.filter(hospital__isnull=True).update(hospital_id=hospital_of_admission)


class Migration(migrations.Migration):
    dependencies = [
        ("pharmacy", "0015_medicationorder_hospital"),
    ]

    operations = [
        migrations.RunPython(every_order_in_its_hospital, migrations.RunPython.noop, elidable=False),
    ]
