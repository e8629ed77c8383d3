import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("hospital", "0007_hospitals"),
        ("wards", "0009_ward_hospital_required"),
    ]

    operations = [
        migrations.AddField(
            model_name="patient",
            name="hospital",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="registered_patients",
                to="hospital.hospital",
                verbose_name="registering hospital",
            ),
        ),
    ]
