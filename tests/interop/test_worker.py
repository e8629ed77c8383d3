import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
from django.utils import timezone

from interop.hl7v2 import ack_build, message_control_id, message_header
from interop.mllp import MllpServer
from interop.models import OutboundMessage, OutboundState
from interop.worker import BatchResult, Worker, deliver_batch, lease_length, retry_delay
from tests.interop.conftest import later

pytestmark = pytest.mark.django_db


def row_for(administration) -> OutboundMessage:
    return OutboundMessage.objects.get(administration=administration)


def test_aa_marks_the_message_delivered(hospital, destination, receiver):
    # given
    listening = receiver()
    administration = hospital.record()

    # when
    result = deliver_batch()

    # then
    row = row_for(administration)
    assert (result.claimed, result.delivered) == (1, 1)
    assert row.state == OutboundState.DELIVERED
    assert (row.attempts, row.ack_code, row.last_error) == (1, "AA", "")
    assert row.delivered_at is not None and row.lease_token is None
    assert row.payload.startswith("MSH|^~\\&|BCMA|")
    assert listening.seen == [message_control_id(administration.external_id)]


@pytest.mark.parametrize("code", ["AE", "AR"])
def test_a_rejection_is_retried_with_backoff(code, hospital, destination, receiver, settings):
    settings.INTEROP_RETRY_BASE_SECONDS = 30
    receiver(answer=lambda number, control_id: code)
    administration = hospital.record()

    before = timezone.now()
    result = deliver_batch()

    row = row_for(administration)
    assert result.retried == 1
    assert (row.state, row.attempts, row.ack_code) == (OutboundState.PENDING, 1, code)
    assert row.last_error.startswith(f"{code}: rejected by the receiver – simulated rejection")
    assert before + timedelta(seconds=29) < row.next_attempt_at < later(31)


def test_backoff_doubles_up_to_the_cap(settings):
    settings.INTEROP_RETRY_BASE_SECONDS = 5
    settings.INTEROP_RETRY_MAX_SECONDS = 600

    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 4, 8, 20)] == [
        5,
        10,
        20,
        40,
        600,
        600,
    ]


def test_a_refused_connection_is_retried(hospital, destination):
    administration = hospital.record()

    result = deliver_batch()

    row = row_for(administration)
    assert result.retried == 1
    assert row.state == OutboundState.PENDING and row.attempts == 1
    assert row.last_error.startswith("CONNECT_FAILED")


def test_no_acknowledgement_in_time_is_retried(hospital, destination, receiver):
    destination.ack_timeout_seconds = 0.2
    destination.save()
    receiver(answer=lambda number, control_id: None)
    administration = hospital.record()

    deliver_batch()

    row = row_for(administration)
    assert row.state == OutboundState.PENDING
    assert row.last_error.startswith("ACK_TIMEOUT")


def test_an_ack_for_another_message_is_not_a_delivery(hospital, destination):
    def answer_for_someone_else(text):
        received = replace(message_header(text), control_id="SOMETHINGELSE")
        return ack_build(received, control_id="A1", at=timezone.now())

    server = MllpServer("127.0.0.1", destination.port, answer_for_someone_else).start()
    administration = hospital.record()
    try:
        deliver_batch()
    finally:
        server.stop()

    row = row_for(administration)
    assert row.state == OutboundState.PENDING
    assert row.last_error.startswith("ACK_MISMATCH")


def test_dead_letter_after_the_destinations_maximum_attempts(
    hospital, destination, receiver, fast_retries
):
    destination.max_attempts = 3
    destination.save()
    listening = receiver(answer=lambda number, control_id: "AR")
    administration = hospital.record()

    for _ in range(5):
        deliver_batch(now=later(10))

    row = row_for(administration)
    assert row.state == OutboundState.DEAD
    assert row.attempts == 3
    assert row.last_error.startswith("AR:")
    assert len(listening.seen) == 3  # a dead message is not sent again


def test_a_disabled_destination_holds_its_queue(hospital, destination, receiver):
    listening = receiver()
    administration = hospital.record()
    destination.enabled = False
    destination.save()

    assert deliver_batch().claimed == 0

    destination.enabled = True
    destination.save()
    deliver_batch()
    assert row_for(administration).state == OutboundState.DELIVERED
    assert len(listening.seen) == 1


def test_a_withdrawal_is_not_sent_before_the_record_it_withdraws(
    hospital, destination, receiver, settings
):
    settings.INTEROP_RETRY_BASE_SECONDS = 60
    rejected_once = set()

    def answer(number, control_id):
        if control_id == first_id and control_id not in rejected_once:
            rejected_once.add(control_id)
            return "AE"
        return "AA"

    listening = receiver(answer=answer)
    original = hospital.record()
    first_id = message_control_id(original.external_id)
    withdrawal = hospital.withdraw(original)

    deliver_batch()  # the original is rejected; the withdrawal must wait for it
    assert listening.seen == [first_id]
    assert row_for(withdrawal).attempts == 0

    deliver_batch(now=later(61))  # the original goes through, then the withdrawal
    deliver_batch(now=later(61))
    assert listening.seen == [first_id, first_id, message_control_id(withdrawal.external_id)]
    assert row_for(withdrawal).state == OutboundState.DELIVERED


def test_a_worker_killed_mid_send_loses_nothing(hospital, destination, receiver):
    # given: a worker claimed the message and sent it, then died before recording the ACK
    listening = receiver()
    administration = hospital.record()
    dead_worker = Worker(batch_size=1)
    claimed = dead_worker.claim(token=uuid.uuid4(), now=timezone.now())
    dead_worker._send(claimed[0])
    dead_worker.close()

    # when: other workers look before and after the lease ends
    before_lease_end = deliver_batch()
    after_lease_end = deliver_batch(now=later(lease_length(destination, 1).total_seconds() + 1))

    # then: sent again once the lease ended; the receiver saw the same MSH-10 twice
    assert before_lease_end.claimed == 0
    assert after_lease_end.delivered == 1
    assert row_for(administration).state == OutboundState.DELIVERED
    assert listening.counts() == {message_control_id(administration.external_id): 2}


def test_a_worker_that_overran_its_lease_does_not_overwrite_a_newer_result(
    hospital, destination, receiver
):
    receiver()
    administration = hospital.record()
    slow = Worker(batch_size=1)
    claimed = slow.claim(token=uuid.uuid4(), now=timezone.now())
    deliver_batch(now=later(lease_length(destination, 1).total_seconds() + 1))

    outcome = slow._send(claimed[0])
    result = BatchResult()
    slow._record(claimed[0], uuid.uuid4(), outcome, result)
    slow.close()

    row = row_for(administration)
    assert result.lost_lease == 1
    assert (row.state, row.attempts) == (OutboundState.DELIVERED, 1)


def test_one_connection_carries_a_batch(hospital, destination, receiver):
    listening = receiver()
    records = [hospital.record() for _ in range(5)]

    result = Worker(batch_size=10).deliver_batch()

    assert result.delivered == 5
    assert listening.counts() == {message_control_id(r.external_id): 1 for r in records}


def test_an_unreachable_destination_fails_the_rest_of_the_batch_quickly(hospital, destination):
    for _ in range(3):
        hospital.record()

    result = deliver_batch(batch_size=10)

    assert result.retried == 3
    assert set(OutboundMessage.objects.values_list("attempts", flat=True)) == {1}
