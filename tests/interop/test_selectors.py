from dataclasses import replace

import pytest

from interop.selectors import administration_snapshot, administration_snapshots_search
from interop.snapshot import Withdrawal, snapshot_from_json, snapshot_to_json
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

    with django_assert_num_queries(4):  # the record, its units; the corrected record, its units
        snapshot = administration_snapshot(withdrawal.pk)
    with django_assert_num_queries(2):
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

    with django_assert_num_queries(6):
        total, page = administration_snapshots_search(patient_id=hospital.patient.pk, count=100)

    assert total == len(page) == 2 * records
