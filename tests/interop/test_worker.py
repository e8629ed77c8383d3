import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
from django.utils import timezone

from interop.hl7v2 import ack_build, message_control_id, message_header
from interop.mllp import MllpServer
from interop.models import AttemptOutcome, OutboundMessage, OutboundState, RejectPolicy
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


def test_an_application_error_is_retried_with_backoff(hospital, destination, receiver, settings):
    settings.INTEROP_RETRY_BASE_SECONDS = 30
    receiver(answer=lambda number, control_id: "AE")
    administration = hospital.record()

    before = timezone.now()
    result = deliver_batch()

    row = row_for(administration)
    assert result.retried == 1
    assert (row.state, row.attempts, row.ack_code) == (OutboundState.PENDING, 1, "AE")
    assert row.last_error.startswith("AE: error at the receiver – simulated rejection")
    assert before + timedelta(seconds=29) < row.next_attempt_at < later(31)


def test_a_rejection_is_dead_lettered_at_once_with_the_reason(hospital, destination, receiver):
    # given: a receiver that rejects the message itself (AR), and attempts to spare
    listening = receiver(answer=lambda number, control_id: "AR")
    administration = hospital.record()

    # when
    result = deliver_batch()
    again = deliver_batch(now=later(3600))

    # then: dead after one attempt, not retried like an error
    row = row_for(administration)
    assert (result.dead, again.claimed) == (1, 0)
    assert (row.state, row.attempts, row.ack_code) == (OutboundState.DEAD, 1, "AR")
    assert row.last_error.startswith("AR: rejected by the receiver – simulated rejection")
    assert len(listening.seen) == 1
    attempt = row.delivery_attempts.get()
    assert (attempt.outcome, attempt.ack_code) == (AttemptOutcome.REJECTED, "AR")


def test_a_destination_may_retry_rejections(hospital, destination, receiver, settings):
    settings.INTEROP_RETRY_BASE_SECONDS = 30
    destination.on_reject = RejectPolicy.RETRY
    destination.save()
    receiver(answer=lambda number, control_id: "AR")
    administration = hospital.record()

    result = deliver_batch()

    assert result.retried == 1
    assert row_for(administration).state == OutboundState.PENDING


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
    destination.ack_timeout_seconds = 0.3
    destination.save()

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
    assert row.last_error.startswith("ACK_TIMEOUT")
    assert "MSA|AA|SOMETHINGELSE" in row.delivery_attempts.get().reply


def test_dead_letter_after_the_destinations_maximum_attempts(
    hospital, destination, receiver, fast_retries
):
    destination.max_attempts = 3
    destination.save()
    listening = receiver(answer=lambda number, control_id: "AE")
    administration = hospital.record()

    for _ in range(5):
        deliver_batch(now=later(10))

    row = row_for(administration)
    assert row.state == OutboundState.DEAD
    assert row.attempts == 3
    assert row.last_error.startswith("AE:")
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


def test_every_attempt_is_recorded_with_its_connection_bytes_and_answer(
    hospital, destination, receiver, fast_retries
):
    # given: a receiver that answers AE, then AA
    receiver(answer=lambda number, control_id: "AE" if number == 1 else "AA")
    administration = hospital.record()

    # when
    deliver_batch()
    deliver_batch(now=later(10))

    # then: two attempts, each with its socket, the whole frame sent, and the ACK read back
    row = row_for(administration)
    first, second = row.delivery_attempts.order_by("started_at", "pk")
    assert row.state == OutboundState.DELIVERED
    assert (first.outcome, first.ack_code) == (AttemptOutcome.FAILED, "AE")
    assert (second.outcome, second.ack_code) == (AttemptOutcome.DELIVERED, "AA")
    for attempt in (first, second):
        assert attempt.bytes_sent == attempt.frame_bytes == len(row.payload.encode()) + 3
        assert attempt.remote_address == f"127.0.0.1:{destination.port}"
        assert attempt.local_address.startswith("127.0.0.1:")
        assert attempt.finished_at >= attempt.started_at
        assert f"MSA|{attempt.ack_code}|{row.message_id}" in attempt.reply
    assert first.error.startswith("AE: error at the receiver")


def test_a_refused_connection_is_an_attempt_that_sent_nothing(hospital, destination):
    administration = hospital.record()

    deliver_batch()

    attempt = row_for(administration).delivery_attempts.get()
    assert (attempt.outcome, attempt.bytes_sent) == (AttemptOutcome.FAILED, 0)
    assert attempt.error.startswith("CONNECT_FAILED")


def enhanced_receiver(port: int, *, application_ack: bool = True) -> MllpServer:
    """Answers each message with a commit ACK (CA) and then, in a frame of its own, AA."""

    def answer(text):
        received = message_header(text)
        commit = ack_build(received, code="CA", control_id="C1", at=timezone.now())
        if not application_ack:
            return commit
        application = ack_build(received, code="AA", control_id="A1", at=timezone.now())
        return commit + "\x1c\r\x0b" + application  # two frames back to back

    return MllpServer("127.0.0.1", port, answer).start()


def test_enhanced_mode_delivers_on_the_application_ack_and_never_mixes_replies(
    hospital, destination
):
    # given: an enhanced-mode receiver and five messages on one connection
    destination.ack_mode = "enhanced"
    destination.save()
    server = enhanced_receiver(destination.port)
    records = [hospital.record() for _ in range(5)]

    # when
    try:
        result = Worker(batch_size=10).deliver_batch()
    finally:
        server.stop()

    # then: each delivered on its own AA, after its own CA; one attempt each
    assert result.delivered == 5
    for record in records:
        row = row_for(record)
        assert (row.state, row.ack_code) == (OutboundState.DELIVERED, "AA")
        attempt = row.delivery_attempts.get()
        assert attempt.reply.index(f"MSA|CA|{row.message_id}") < attempt.reply.index(
            f"MSA|AA|{row.message_id}"
        )
        assert "|AL|AL|" in row.payload.split("\r")[0] + "|"  # MSH-15/16 ask for both ACKs


def test_a_commit_ack_alone_is_not_a_delivery(hospital, destination):
    destination.ack_mode = "enhanced"
    destination.ack_timeout_seconds = 0.3
    destination.save()
    server = enhanced_receiver(destination.port, application_ack=False)
    administration = hospital.record()

    try:
        deliver_batch()
    finally:
        server.stop()

    row = row_for(administration)
    assert (row.state, row.ack_code) == (OutboundState.PENDING, "CA")
    assert "committed the message (CA) but sent no application acknowledgement" in row.last_error
