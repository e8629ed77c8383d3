"""An MRN is one hospital's number (PatientNumber), no longer the province's; an admission keeps
the number of its hospital. Filled by 0014; required by 0015."""

import django.core.validators
import django.db.models.deletion
import uuid
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('hospital', '0007_hospitals'),
        ('wards', '0012_patient_hospital_required'),
    ]

    operations = [
        migrations.CreateModel(
            name='PatientNumber',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('external_id', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                ('mrn', models.CharField(max_length=20, validators=[django.core.validators.RegexValidator('^[A-Z0-9-]{4,20}$', 'Upper-case letters, digits and dashes.')], verbose_name='MRN')),
            ],
            options={
                'verbose_name': 'patient number',
                'verbose_name_plural': 'patient numbers',
                'ordering': ['hospital__code'],
            },
        ),
        migrations.AddField(
            model_name='admission',
            name='mrn',
            field=models.CharField(default='', max_length=20, validators=[django.core.validators.RegexValidator('^[A-Z0-9-]{4,20}$', 'Upper-case letters, digits and dashes.')], verbose_name='MRN'),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name='patient',
            name='mrn',
            field=models.CharField(max_length=20, validators=[django.core.validators.RegexValidator('^[A-Z0-9-]{4,20}$', 'Upper-case letters, digits and dashes.')], verbose_name='MRN'),
        ),
        migrations.AddConstraint(
            model_name='patient',
            constraint=models.UniqueConstraint(fields=('hospital', 'mrn'), name='wards_patient_mrn_unique_in_hospital', violation_error_message='This hospital has already issued this MRN.'),
        ),
        migrations.AddField(
            model_name='patientnumber',
            name='hospital',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='patient_numbers', to='hospital.hospital', verbose_name='hospital'),
        ),
        migrations.AddField(
            model_name='patientnumber',
            name='patient',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='numbers', to='wards.patient', verbose_name='patient'),
        ),
        migrations.AddConstraint(
            model_name='patientnumber',
            constraint=models.UniqueConstraint(fields=('hospital', 'mrn'), name='wards_patientnumber_mrn_unique_in_hospital', violation_error_message='This hospital has already issued this MRN.'),
        ),
        migrations.AddConstraint(
            model_name='patientnumber',
            constraint=models.UniqueConstraint(fields=('hospital', 'patient'), name='wards_patientnumber_one_per_hospital', violation_error_message='This patient already has an MRN at this hospital.'),
        ),
    ]
