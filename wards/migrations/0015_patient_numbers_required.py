from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("wards", "0014_every_patient_numbered"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='admission',
            constraint=models.CheckConstraint(condition=models.Q(('mrn', ''), _negated=True), name='wards_admission_mrn_required', violation_error_message="An admission carries the patient's MRN."),
        ),
        migrations.AddConstraint(
            model_name='patient',
            constraint=models.UniqueConstraint(condition=models.Q(models.Q(('national_id', ''), _negated=True), ('merged_into__isnull', True)), fields=('national_id',), name='wards_patient_one_live_per_national_id', violation_error_message='Another patient has this national ID.'),
        ),
    ]
