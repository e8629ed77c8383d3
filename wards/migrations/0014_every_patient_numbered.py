"""Every patient's MRN becomes her number at her registering hospital, and every admission keeps
the MRN of its ward's hospital: her number there if she has one, else the one she was registered
with (until now the province's only number for her)."""

from django.db import migrations
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Coalesce


def every_patient_numbered(apps, schema_editor):
    Patient = apps.get_model("wards", "Patient")
    PatientNumber = apps.get_model("wards", "PatientNumber")
    Admission = apps.get_model("wards", "Admission")
    numbered = PatientNumber.objects.values("patient_id")
    PatientNumber.objects.bulk_create(
        [
            PatientNumber(hospital_id=hospital_id, mrn=mrn, patient_id=pk)
            for pk, hospital_id, mrn in Patient.objects.exclude(pk__in=numbered)
            .values_list("pk", "hospital_id", "mrn")
            .iterator()
        ],
        batch_size=1000,
    )
    at_ward_hospital = PatientNumber.objects.filter(
        patient_id=OuterRef("patient_id"), hospital__wards=OuterRef("ward_id")
    ).values("mrn")[:1]
    registered_with = Patient.objects.filter(pk=OuterRef("patient_id")).values("mrn")[:1]
    Admission.objects.filter(mrn="").update(
        mrn=Coalesce(Subquery(at_ward_hospital), Subquery(registered_with))
    )

class Migration(migrations.Migration):
    dependencies = [
        ("wards", "0013_patient_numbers"),
    ]

    operations = [
        migrations.RunPython(every_patient_numbered, migrations.RunPython.noop, elidable=False),
    ]
