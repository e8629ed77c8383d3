import pytest
from django.db import IntegrityError, transaction

from interop.hl7v2 import message_control_id
from interop.models import Destination, OutboundMessage, OutboundState
from interop.services import outbound_retry_now
from interop.snapshot import snapshot_from_json
from scanning.models import Administration
from tests.constraints import assert_refused_twice
from tests.interop.conftest import later

pytestmark = pytest.mark.django_db


def test_recording_queues_one_message_per_enabled_destination(hospital, destination):
    # given
    lab = Destination.objects.create(name="LIS", host="127.0.0.1", port=2576)
    Destination.objects.create(name="Off", host="127.0.0.1", port=2577, enabled=False)
    Destination.objects.create(name="None", host="127.0.0.1", port=2578, message_types=[])

    # when
    administration = hospital.record()

    # then
    rows = OutboundMessage.objects.filter(administration=administration).order_by("pk")
    assert [row.destination for row in rows] == [destination, lab]
    assert {row.message_id for row in rows} == {message_control_id(administration.external_id)}
    assert {row.state for row in rows} == {OutboundState.PENDING}
    assert all(row.payload == "" for row in rows)  # rendered by the worker, off the record path


def test_the_outbox_row_rolls_back_with_the_record(hospital, destination):
    # the failure must come after the record and its outbox row, inside the one transaction
    with pytest.raises(RuntimeError), transaction.atomic():  # noqa: PT012
        hospital.record()
        assert OutboundMessage.objects.count() == 1
        raise RuntimeError("the recording transaction fails after the signal")

    assert Administration.objects.count() == 0
    assert OutboundMessage.objects.count() == 0


def test_the_snapshot_is_taken_at_record_time(hospital, destination):
    administration = hospital.record(units=2, site="miệng")
    hospital.patient.full_name = "Tên Đổi Sau"
    hospital.patient.save()

    snapshot = snapshot_from_json(OutboundMessage.objects.get().snapshot)

    assert snapshot.id == administration.external_id
    assert snapshot.patient.full_name == "Nguyễn Văn An"
    assert snapshot.site == "miệng"
    assert len(snapshot.units) == 2 and snapshot.units[0].gtin == hospital.package.gtin
    assert snapshot.performer.username == "dd.hoa"


def test_a_correction_waits_for_the_record_it_corrects(hospital, destination):
    original = hospital.record()
    withdrawal = hospital.withdraw(original)

    first = OutboundMessage.objects.get(administration=original)
    second = OutboundMessage.objects.get(administration=withdrawal)

    assert second.depends_on == first
    snapshot = snapshot_from_json(second.snapshot)
    assert snapshot.status == "entered_in_error"
    assert snapshot.corrects.id == original.external_id
    assert snapshot.reason_label  # the correction reason, in words


def test_a_replacement_waits_for_the_withdrawal(hospital, destination):
    original = hospital.record()
    withdrawal = hospital.withdraw(original)

    replacement = hospital.record(replaces=original, reason="wrong_dose")

    row = OutboundMessage.objects.get(administration=replacement)
    assert row.depends_on.administration == withdrawal
    assert snapshot_from_json(row.snapshot).replaces_id == original.external_id


def test_nothing_is_queued_without_destinations(hospital):
    hospital.record()

    assert OutboundMessage.objects.count() == 0


def test_one_message_per_record_and_destination(hospital, destination):
    original = OutboundMessage.objects.get(administration=hospital.record())
    duplicate = OutboundMessage(
        destination=destination,
        administration=original.administration,
        message_id="OTHER",
        snapshot={},
        next_attempt_at=original.next_attempt_at,
    )

    assert_refused_twice(duplicate)


def test_dead_needs_a_reason_and_delivered_needs_a_time(hospital, destination):
    row = OutboundMessage.objects.get(administration=hospital.record())

    row.state = OutboundState.DEAD
    assert_refused_twice(row)
    row.state = OutboundState.DELIVERED
    assert_refused_twice(row)


def test_destination_port_must_be_valid(db):
    assert_refused_twice(Destination(name="x", host="h", port=70000))


def test_unknown_message_types_are_refused(db):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        Destination(name="x", host="h", port=1, message_types=["ADT^A01"]).full_clean()


def test_retry_now_requeues_dead_messages_with_fresh_attempts(hospital, destination):
    row = OutboundMessage.objects.get(administration=hospital.record())
    OutboundMessage.objects.filter(pk=row.pk).update(
        state=OutboundState.DEAD, attempts=5, last_error="AE: rejected", next_attempt_at=later(-60)
    )

    count = outbound_retry_now(messages=OutboundMessage.objects.all())

    row.refresh_from_db()
    assert count == 1
    assert (row.state, row.attempts) == (OutboundState.PENDING, 0)
    assert row.last_error == "AE: rejected"  # history stays visible until the next attempt


def test_retry_now_leaves_delivered_messages_alone(hospital, destination):
    row = OutboundMessage.objects.get(administration=hospital.record())
    OutboundMessage.objects.filter(pk=row.pk).update(
        state=OutboundState.DELIVERED, delivered_at=later(0)
    )

    assert outbound_retry_now(messages=OutboundMessage.objects.all()) == 0


def test_message_ids_are_unique_per_destination(hospital, destination):
    first = OutboundMessage.objects.get(administration=hospital.record())
    second = OutboundMessage.objects.get(administration=hospital.record())

    second.message_id = first.message_id
    with pytest.raises(IntegrityError), transaction.atomic():
        second.save()
