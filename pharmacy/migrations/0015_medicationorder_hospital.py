"""An order number is its hospital's (each HIS issues its own): an order names its hospital.
Filled from the admission by 0016; required, and the placer number unique in it, by 0017."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("hospital", "0007_hospitals"),
        ("pharmacy", "0014_medication_not_stocked_at"),
        ("wards", "0018_visit_number_unique_in_hospital"),
    ]

    operations = [
        migrations.AddField(
            model_name="historicalmedicationorder",
            name="hospital",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="hospital.hospital",
                verbose_name="hospital",
            ),
        ),
        migrations.AddField(
            model_name="medicationorder",
            name="hospital",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="orders",
                to="hospital.hospital",
                verbose_name="hospital",
            ),
        ),
    ]
