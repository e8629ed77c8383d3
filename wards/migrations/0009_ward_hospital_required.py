import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("hospital", "0007_hospitals"),
        ("wards", "0008_every_ward_in_a_hospital"),
    ]

    operations = [
        migrations.AlterField(
            model_name="ward",
            name="hospital",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="wards",
                to="hospital.hospital",
                verbose_name="hospital",
            ),
        ),
    ]
