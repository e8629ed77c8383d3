"""A visit number is its hospital's (each HIS issues its own): an admission names its hospital.
Filled from the ward by 0017; required, and the visit number unique in it, by 0018."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("hospital", "0007_hospitals"),
        ("wards", "0015_patient_numbers_required"),
    ]

    operations = [
        migrations.AddField(
            model_name="admission",
            name="hospital",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="admissions",
                to="hospital.hospital",
                verbose_name="hospital",
            ),
        ),
    ]
