import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("hospital", "0007_hospitals"),
        ("pharmacy", "0016_every_order_in_its_hospital"),
    ]

    operations = [
        migrations.AlterField(
            model_name="medicationorder",
            name="hospital",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="orders",
                to="hospital.hospital",
                verbose_name="hospital",
            ),
        ),
        migrations.RemoveConstraint(
            model_name="medicationorder",
            name="pharmacy_medicationorder_placer_order_number_unique",
        ),
        migrations.AddConstraint(
            model_name="medicationorder",
            constraint=models.UniqueConstraint(
                condition=models.Q(("placer_order_number", ""), _negated=True),
                fields=("hospital", "placer_order_number"),
                name="pharmacy_medicationorder_placer_order_number_unique_in_hospital",
                violation_error_message="Another order has this placer order number.",
            ),
        ),
    ]
