from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction

from interop.models import OutboundMessage
from interop.selectors import administration_snapshot, administration_snapshots_search
from interop.snapshot import Withdrawal, snapshot_from_json, snapshot_to_json
from scanning.dosemath import Quantity
from scanning.models import Administration, Override
from scanning.services import OverrideInput, administration_correct
from scanning.signals import administration_recorded
from tests.interop.conftest import ENTERED_IN_ERROR, GIVEN, KINDS


@pytest.mark.parametrize("kind", KINDS)
def test_snapshots_survive_json(kind):
    snapshot = KINDS[kind]

    assert snapshot_from_json(snapshot_to_json(snapshot)) == snapshot


def test_a_withdrawn_snapshot_survives_json():
    withdrawn = replace(
        GIVEN,
        withdrawn_by=Withdrawal(
            ENTERED_IN_ERROR.id, "wrong_dose", "Ghi sai liều", GIVEN.recorded_at
        ),
    )

    assert snapshot_from_json(snapshot_to_json(withdrawn)) == withdrawn


def test_entered_in_error_must_say_what_it_corrects():
    with pytest.raises(ValueError):
        replace(ENTERED_IN_ERROR, corrects=None)
    with pytest.raises(ValueError):
        replace(GIVEN, status="given")


@pytest.mark.parametrize(
    ("full_name", "parts"),
    [
        ("Nguyễn Văn An", ("Nguyễn", "An", "Văn")),
        ("Trần Thị Bích Ngọc", ("Trần", "Ngọc", "Thị Bích")),
        ("Lê  Bình", ("Lê", "Bình", "")),
        ("Mai", ("Mai", "", "")),
    ],
)
def test_vietnamese_names_are_family_name_first(full_name, parts):
    assert replace(GIVEN.patient, full_name=full_name).name_parts == parts


@pytest.mark.django_db
def test_a_snapshot_reads_the_record_in_constant_queries(hospital, django_assert_num_queries):
    original = hospital.record(units=3, witness=hospital.nurse)
    withdrawal = hospital.withdraw(original)

    # the record, its units, its overrides, its values measured, its bag events; the corrected
    # record, its units, its overrides, its values measured
    with django_assert_num_queries(9):
        snapshot = administration_snapshot(withdrawal.pk)
    with django_assert_num_queries(5):
        withdrawn = administration_snapshot(original.pk)

    assert snapshot.corrects.id == original.external_id and len(snapshot.corrects.units) == 3
    assert snapshot.ward_code == "NOI" and snapshot.bed_code == "01"
    assert withdrawn.withdrawn_by.id == withdrawal.external_id
    assert withdrawn.witness.username == "dd.hoa"


@pytest.mark.django_db
@pytest.mark.parametrize("records", [2, 12])
def test_search_costs_the_same_for_any_number_of_records(
    hospital, django_assert_num_queries, records
):
    for _ in range(records):
        hospital.withdraw(hospital.record(units=2))

    with django_assert_num_queries(11):
        total, page = administration_snapshots_search(patient_id=hospital.patient.pk, count=100)

    assert total == len(page) == 2 * records


@pytest.mark.django_db
def test_a_replacement_keeps_the_gtin_lot_and_expiry_of_the_dose_it_replaces(hospital, destination):
    # given: a given dose, corrected to a smaller amount (a replacement with no units of its own)
    original = hospital.record(units=2)
    _withdrawal, replacement = administration_correct(
        performer=hospital.nurse,
        administration=original,
        reason="wrong_dose",
        replacement_amount=Quantity(Decimal("250"), "mg"),
        overrides=[OverrideInput("DOSE_INCOMPLETE", "PATIENT_REFUSED_PART")],
    )

    # when: the outbox's snapshot and the read side's
    queued = snapshot_from_json(OutboundMessage.objects.get(administration=replacement).snapshot)
    read = administration_snapshot(replacement.pk)

    # then: both carry the packages that were given
    for snapshot in (queued, read):
        assert snapshot.replaces_id == original.external_id
        assert [(u.gtin, u.lot, u.expiry) for u in snapshot.units] == [
            (hospital.package.gtin, "LOT2611", date(2027, 11, 30))
        ] * 2


@pytest.mark.django_db
def test_records_are_numbered_within_their_order_and_a_withdrawal_keeps_the_number(
    hospital, destination
):
    first = hospital.record()
    second = hospital.record(status="not_done")
    withdrawal = hospital.withdraw(first)
    third = hospital.record()

    numbers = {
        record: administration_snapshot(record.pk).clinical.administration_number
        for record in (first, second, withdrawal, third)
    }
    queued = {
        record: snapshot_from_json(
            OutboundMessage.objects.get(administration=record).snapshot
        ).clinical.administration_number
        for record in (first, second, withdrawal, third)
    }

    assert numbers == queued == {first: 1, second: 2, withdrawal: 1, third: 3}


@pytest.mark.django_db
def test_a_snapshot_carries_the_his_numbers_the_prn_indication_and_the_partial_reason(
    hospital, destination
):
    # given: an HIS admission and a PRN order with the HIS's numbers; a partial dose with a reason
    hospital.admission.visit_number = "VV-2026-0042"
    hospital.admission.save()
    order = hospital.order
    order.placer_order_number, order.filler_order_number = "YL-77", "KD-88"
    order.schedule_kind, order.times_of_day = "prn", []
    order.prn_indication, order.prn_min_interval_minutes = "Sốt trên 38,5 °C", 240
    order.prn_max_per_24h = Decimal("2000")
    order.save()
    with transaction.atomic():
        record = hospital.record(is_partial=True, signal=False)
        Override.objects.create(
            administration=record, finding_code="DOSE_INCOMPLETE", reason="PATIENT_REFUSED_PART"
        )
        administration_recorded.send(sender=Administration, administration=record)

    # when
    queued = snapshot_from_json(OutboundMessage.objects.get(administration=record).snapshot)
    read = administration_snapshot(record.pk)

    # then
    for snapshot in (queued, read):
        assert (snapshot.visit_number, snapshot.placer_order_number) == ("VV-2026-0042", "YL-77")
        assert snapshot.filler_order_number == "KD-88"
        assert snapshot.prn_indication == "Sốt trên 38,5 °C"
        assert snapshot.partial_reason == "PATIENT_REFUSED_PART"
        assert snapshot.partial_reason_label == "Người bệnh từ chối một phần"
