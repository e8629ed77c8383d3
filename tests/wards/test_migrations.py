"""wards data migrations: 0011 registers every patient with a hospital, 0014 numbers her there,
0017 puts every admission in its ward's hospital."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from wards.models import Patient

BEFORE = ("wards", "0009_ward_hospital_required")
AT = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def two_hospitals(old):
    """BVDKT with its ward NOI and Bãi Cháy with BC-NOI, written by a past schema's models:
    (BVDKT, Bãi Cháy, NOI, BC-NOI)."""
    hospital = old.get_model("hospital", "Hospital")
    ward = old.get_model("wards", "Ward")
    first = hospital.objects.create(
        code="BVDKT", name="Tỉnh", gln="8936000000004", hl7_facility="HOSPITAL"
    )
    second = hospital.objects.create(
        code="BVBC", name="Bãi Cháy", gln="8936000000011", hl7_facility="BAICHAY"
    )
    noi = ward.objects.create(code="NOI", name="Khoa Nội", hospital=first)
    return (
        first,
        second,
        noi,
        ward.objects.create(code="BC-NOI", name="Khoa Nội BC", hospital=second),
    )


@pytest.mark.django_db(transaction=True)
def test_the_migration_registers_each_patient_where_she_was_admitted_last():
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate([BEFORE])
    try:
        # given: two hospitals, and patients written by the old schema
        old = MigrationExecutor(connection).loader.project_state(BEFORE).apps
        patient = old.get_model("wards", "Patient")
        admission = old.get_model("wards", "Admission")
        _, _, noi, bc_noi = two_hospitals(old)

        def person(mrn: str, n: int):
            return patient.objects.create(
                mrn=mrn,
                gsrn=f"95200010000000{n:03d}0",
                full_name="Nguyễn Văn An",
                date_of_birth=date(1956, 3, 14),
                sex="M",
            )

        moved, stayed, never = person("BN0001", 1), person("BN0002", 2), person("BN0003", 3)
        admission.objects.create(
            patient=moved, ward=noi, admitted_at=AT, discharged_at=AT + timedelta(days=2)
        )
        admission.objects.create(patient=moved, ward=bc_noi, admitted_at=AT + timedelta(days=5))
        admission.objects.create(patient=stayed, ward=bc_noi, admitted_at=AT)

        # when
        executor = MigrationExecutor(connection)
        executor.migrate(latest)

        # then: her latest admission's hospital; never admitted, the first hospital
        registered = dict(Patient.objects.values_list("mrn", "hospital__code"))
        assert registered == {"BN0001": "BVBC", "BN0002": "BVBC", "BN0003": "BVDKT"}
        assert never.pk in Patient.objects.filter(hospital__code="BVDKT").values_list(
            "pk", flat=True
        )
    finally:
        MigrationExecutor(connection).migrate(latest)


@pytest.mark.django_db(transaction=True)
def test_the_migration_numbers_each_patient_at_her_registering_hospital_and_each_admission():
    before = ("wards", "0012_patient_hospital_required")
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate([before])
    try:
        # given patients and admissions written when an MRN was the province's
        old = MigrationExecutor(connection).loader.project_state(before).apps
        patient = old.get_model("wards", "Patient")
        admission = old.get_model("wards", "Admission")
        first, _, noi, bc_noi = two_hospitals(old)
        an = patient.objects.create(
            mrn="BN0001",
            hospital=first,
            gsrn="952000100000000010",
            full_name="Nguyễn Văn An",
            date_of_birth=date(1956, 3, 14),
            sex="M",
        )
        admission.objects.create(
            patient=an, ward=noi, admitted_at=AT, discharged_at=AT + timedelta(days=2)
        )
        admission.objects.create(patient=an, ward=bc_noi, admitted_at=AT + timedelta(days=5))

        # when
        MigrationExecutor(connection).migrate(latest)

        # then her number at BVDKT; both admissions carry it (Bãi Cháy never numbered her)
        from wards.models import Admission, PatientNumber

        assert list(PatientNumber.objects.values_list("hospital__code", "mrn")) == [
            ("BVDKT", "BN0001")
        ]
        assert set(Admission.objects.values_list("mrn", flat=True)) == {"BN0001"}
    finally:
        MigrationExecutor(connection).migrate(latest)


@pytest.mark.django_db(transaction=True)
def test_the_migration_puts_each_admission_in_its_wards_hospital():
    before = ("wards", "0015_patient_numbers_required")
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate([before])
    try:
        # given admissions written when a visit number was the province's
        old = MigrationExecutor(connection).loader.project_state(before).apps
        patient = old.get_model("wards", "Patient")
        admission = old.get_model("wards", "Admission")
        first, second, noi, bc_noi = two_hospitals(old)
        ngoai = old.get_model("wards", "Ward").objects.create(
            code="NGOAI", name="Khoa Ngoại", hospital=first
        )

        def person(mrn: str, n: int, at):
            return patient.objects.create(
                mrn=mrn,
                hospital=at,
                gsrn=f"95200010000000{n:03d}0",
                full_name="Nguyễn Văn An",
                date_of_birth=date(1956, 3, 14),
                sex="M",
            )

        an, binh = person("BN0001", 1, first), person("BC0001", 2, second)
        admission.objects.create(
            patient=an,
            ward=noi,
            mrn="BN0001",
            visit_number="V0001",
            admitted_at=AT,
            discharged_at=AT + timedelta(days=2),
        )
        admission.objects.create(  # transferred from NOI: its ward now is NGOAI
            patient=an,
            ward=ngoai,
            mrn="BN0001",
            visit_number="V0002",
            admitted_at=AT + timedelta(days=5),
            transferred_at=AT + timedelta(days=6),
            transferred_from=noi,
        )
        admission.objects.create(patient=binh, ward=bc_noi, mrn="BC0001", admitted_at=AT)

        # when
        MigrationExecutor(connection).migrate(latest)

        # then every admission is in its ward's hospital, and Bãi Cháy may now issue V0001
        from wards.models import Admission

        assert sorted(Admission.objects.values_list("visit_number", "hospital__code")) == [
            ("", "BVBC"),
            ("V0001", "BVDKT"),
            ("V0002", "BVDKT"),
        ]
        Admission.objects.filter(patient__mrn="BC0001").update(visit_number="V0001")
        assert Admission.objects.filter(visit_number="V0001").count() == 2
    finally:
        MigrationExecutor(connection).migrate(latest)
