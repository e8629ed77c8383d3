"""wards 0015 refuses, by name, two live patients who share a national ID (CCCD)."""

from datetime import date

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = ("wards", "0014_every_patient_numbered")
AT = ("wards", "0015_patient_numbers_required")


@pytest.mark.django_db(transaction=True)
def test_two_live_patients_with_one_cccd_stop_the_migration_and_say_which():
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate([BEFORE])
    try:
        # given one person registered twice, and a merged duplicate that no longer counts
        old = MigrationExecutor(connection).loader.project_state(BEFORE).apps
        hospital = old.get_model("hospital", "Hospital").objects.create(
            code="BVDKT", name="Tỉnh", gln="8936000000004", hl7_facility="HOSPITAL"
        )
        patient = old.get_model("wards", "Patient")

        def person(mrn: str, n: int, cccd: str, **extra):
            return patient.objects.create(
                mrn=mrn,
                hospital=hospital,
                gsrn=f"95200010000000{n:03d}0",
                full_name="Nguyễn Văn An",
                date_of_birth=date(1956, 3, 14),
                sex="M",
                national_id=cccd,
                **extra,
            )

        first = person("BN0001", 1, "022056000101")
        person("BN0002", 2, "022056000101")
        person("BN0003", 3, "022056000101", merged_into=first)
        person("BN0004", 4, "022056000404")

        # when
        with pytest.raises(RuntimeError) as refused:
            MigrationExecutor(connection).migrate([AT])

        # then the message names the CCCD and both live numbers, not the merged one
        message = str(refused.value)
        assert "CCCD 022056000101: MRN BN0001, BN0002;" not in message
        assert message.count("CCCD ") == 1
        assert "CCCD 022056000101: MRN BN0001, BN0002. Merge" in message
        applied = MigrationExecutor(connection).loader.applied_migrations
        assert AT not in applied

        # and once the duplicate is merged, the migration runs
        patient.objects.filter(mrn="BN0002").update(merged_into=first)
        MigrationExecutor(connection).migrate([AT])
        assert AT in MigrationExecutor(connection).loader.applied_migrations
    finally:
        MigrationExecutor(connection).migrate(latest)
