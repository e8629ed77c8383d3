from django.db import migrations, models
from django.db.models import Count


def refuse_shared_national_ids(apps, schema_editor):
    """One live patient per national ID is about to become a constraint. Where a hospital's data
    has two live records for one CCCD, say which, instead of failing on the index: they are one
    person registered twice, to merge (HL7 A40 from the HIS) before this migration runs."""
    patient = apps.get_model("wards", "Patient")
    shared = (
        patient.objects.using(schema_editor.connection.alias)
        .filter(merged_into__isnull=True)
        .exclude(national_id="")
        .values("national_id")
        .annotate(records=Count("pk"))
        .filter(records__gt=1)
        .order_by("national_id")
    )
    found = [
        (
            row["national_id"],
            sorted(
                patient.objects.using(schema_editor.connection.alias)
                .filter(national_id=row["national_id"], merged_into__isnull=True)
                .values_list("mrn", flat=True)
            ),
        )
        for row in shared[:20]
    ]
    if found:
        listed = "; ".join(f"CCCD {cccd}: MRN {', '.join(mrns)}" for cccd, mrns in found)
        raise RuntimeError(
            "wards 0015 makes a national ID (CCCD) one live patient, and these live patients "
            f"share one: {listed}. Merge each pair (HL7 A40 from the HIS) or correct the number, "
            "then migrate again. Nothing was changed."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("wards", "0014_every_patient_numbered"),
    ]

    operations = [
        migrations.RunPython(refuse_shared_national_ids, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="admission",
            constraint=models.CheckConstraint(
                condition=models.Q(("mrn", ""), _negated=True),
                name="wards_admission_mrn_required",
                violation_error_message="An admission carries the patient's MRN.",
            ),
        ),
        migrations.AddConstraint(
            model_name="patient",
            constraint=models.UniqueConstraint(
                condition=models.Q(
                    models.Q(("national_id", ""), _negated=True), ("merged_into__isnull", True)
                ),
                fields=("national_id",),
                name="wards_patient_one_live_per_national_id",
                violation_error_message="Another patient has this national ID.",
            ),
        ),
    ]
