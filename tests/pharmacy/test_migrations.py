"""pharmacy data migrations: 0016 puts every order in its admission's hospital."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.wards.test_migrations import two_hospitals

BEFORE = ("pharmacy", "0015_medicationorder_hospital")
# The rest of the schema stays at its latest: only pharmacy goes back.
WARDS = ("wards", "0018_visit_number_unique_in_hospital")
AT = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


@pytest.mark.django_db(transaction=True)
def test_the_migration_puts_each_order_in_its_admissions_hospital():
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate([BEFORE])
    try:
        # given orders written when an order number was the province's, and their history
        old = MigrationExecutor(connection).loader.project_state([BEFORE, WARDS]).apps
        patient = old.get_model("wards", "Patient")
        admission = old.get_model("wards", "Admission")
        substance = old.get_model("pharmacy", "Substance")
        medication = old.get_model("pharmacy", "Medication")
        order = old.get_model("pharmacy", "MedicationOrder")
        history = old.get_model("pharmacy", "HistoricalMedicationOrder")
        first, second, noi, bc_noi = two_hospitals(old)
        paracetamol = medication.objects.create(
            code="paracetamol-500-tab",
            name="Paracetamol 500 mg",
            substance=substance.objects.create(code="paracetamol", name="Paracetamol"),
            strength_value=Decimal("500"),
            strength_unit="mg",
            dose_form="tablet",
            routes=["PO"],
        )

        def admitted(mrn: str, n: int, hospital, ward):
            her = patient.objects.create(
                mrn=mrn,
                hospital=hospital,
                gsrn=f"95200010000000{n:03d}0",
                full_name="Nguyễn Văn An",
                date_of_birth=date(1956, 3, 14),
                sex="M",
            )
            return admission.objects.create(
                patient=her, ward=ward, hospital=hospital, mrn=mrn, admitted_at=AT
            )

        def ordered(at, number: str):
            written = order.objects.create(
                admission=at,
                medication=paracetamol,
                dose_value=Decimal("500"),
                dose_unit="mg",
                route="PO",
                schedule_kind="times",
                times_of_day=["08:00"],
                start_at=AT,
                prescriber_name="BS. Lê Văn Tâm",
                placer_order_number=number,
            )
            history.objects.create(
                id=written.pk,
                external_id=written.external_id,
                created_at=AT,
                admission_id=at.pk,
                medication_id=paracetamol.pk,
                dose_value=Decimal("500"),
                dose_unit="mg",
                route="PO",
                schedule_kind="times",
                times_of_day=["08:00"],
                start_at=AT,
                prescriber_name="BS. Lê Văn Tâm",
                placer_order_number=number,
                history_date=AT,
                history_type="+",
            )

        ordered(admitted("BN0001", 1, first, noi), "DH0001")
        ordered(admitted("BC0001", 2, second, bc_noi), "")

        # when
        MigrationExecutor(connection).migrate(latest)

        # then every order (and its history) is in its admission's hospital, and Bãi Cháy may
        # now issue DH0001 too
        from pharmacy.models import MedicationOrder

        assert sorted(
            MedicationOrder.objects.values_list("placer_order_number", "hospital__code")
        ) == [("", "BVBC"), ("DH0001", "BVDKT")]
        assert sorted(
            MedicationOrder.history.values_list("placer_order_number", "hospital__code")
        ) == [("", "BVBC"), ("DH0001", "BVDKT")]
        MedicationOrder.objects.filter(admission__mrn="BC0001").update(placer_order_number="DH0001")
        assert MedicationOrder.objects.filter(placer_order_number="DH0001").count() == 2
    finally:
        MigrationExecutor(connection).migrate(latest)
