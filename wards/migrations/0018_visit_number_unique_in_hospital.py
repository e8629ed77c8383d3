import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("hospital", "0007_hospitals"),
        ("wards", "0017_every_admission_in_its_hospital"),
    ]

    operations = [
        migrations.AlterField(
            model_name="admission",
            name="hospital",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="admissions",
                to="hospital.hospital",
                verbose_name="hospital",
            ),
        ),
        migrations.RemoveConstraint(
            model_name="admission",
            name="wards_admission_visit_number_unique",
        ),
        migrations.AddConstraint(
            model_name="admission",
            constraint=models.UniqueConstraint(
                condition=models.Q(("visit_number", ""), _negated=True),
                fields=("hospital", "visit_number"),
                name="wards_admission_visit_number_unique_in_hospital",
                violation_error_message="Another admission has this visit number.",
            ),
        ),
    ]
