"""Two hundred administrations reach a receiver on a real socket through outages, a restart in the
middle of an exchange and rejections: all acknowledged, none lost, the outbox empty."""

import threading
import time

import pytest

from interop.hl7v2 import message_control_id
from interop.models import OutboundMessage, OutboundState
from interop.worker import Worker

pytestmark = pytest.mark.django_db

RECORDS = 200


def record_mix(hospital, count: int) -> list:
    """Given, partial, not given and entered-in-error records, as a ward produces them."""
    records = []
    for index in range(count):
        if index % 25 == 24 and records:
            given = next(
                r for r in reversed(records) if r.status == "completed" and not r.corrects_id
            )
            records.append(hospital.withdraw(given))
        elif index % 10 == 9:
            records.append(hospital.record(status="not_done", reason="npo"))
        elif index % 15 == 14:
            records.append(hospital.record(is_partial=True, units=2))
        else:
            records.append(hospital.record())
    return records


def drain(worker: Worker, *, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while OutboundMessage.objects.filter(state=OutboundState.PENDING).exists():
        assert time.monotonic() < deadline, "the outbox did not drain in time"
        if not worker.deliver_batch().claimed:
            time.sleep(0.005)


def test_every_administration_is_acknowledged_through_outages_restart_and_rejections(
    hospital, destination, receiver, fast_retries, capsys
):
    # given: a receiver that is down at first, answers AE to every 7th message, and crashes in
    # the middle of its 120th exchange (it saw the message but never answered) and comes back
    destination.max_attempts = 100
    destination.ack_timeout_seconds = 1.0
    destination.save()
    restarts = []

    def answer(number, control_id):
        if number == 120:
            restarts.append(control_id)
            threading.Thread(target=restart).start()
            return None
        return "AE" if number % 7 == 0 else "AA"

    def restart():
        listening.stop()
        time.sleep(0.05)
        listening.start()

    listening = receiver(answer=answer, start=False)
    worker = Worker(batch_size=10)
    started = time.monotonic()

    # when: half the records are made while the receiver is down
    first_half = record_mix(hospital, RECORDS // 2)
    for _ in range(3):
        worker.deliver_batch()
    refused = OutboundMessage.objects.filter(last_error__startswith="CONNECT_FAILED").count()

    # and the other half while it is up (and restarts), the worker delivering as they come
    listening.start()
    second_half = []
    for _ in range(10):
        second_half += record_mix(hospital, RECORDS // 20)
        worker.deliver_batch()
    drain(worker, seconds=30)
    worker.close()
    elapsed = time.monotonic() - started

    # then: every record acknowledged, each MSH-10 seen at least once, nothing pending or dead
    records = first_half + second_half
    expected = {message_control_id(record.external_id) for record in records}
    seen = listening.counts()
    rows = OutboundMessage.objects.all()
    assert len(records) == RECORDS == rows.count()
    assert set(rows.values_list("state", flat=True)) == {OutboundState.DELIVERED}
    assert set(rows.values_list("ack_code", flat=True)) == {"AA"}
    assert set(seen) == expected
    assert refused >= 10  # the outage was real
    assert restarts and seen[restarts[0]] >= 2  # the message lost in the crash was sent again
    assert listening.answers["AE"] >= RECORDS // 7
    duplicates = sum(count - 1 for count in seen.values())
    with capsys.disabled():
        print(
            f"\ne2e: {RECORDS} messages, receiver down for {refused} refused attempts then "
            f"restarted mid-exchange once, {listening.answers['AE']} AE answers, "
            f"{duplicates} duplicates seen by the receiver, {elapsed:.2f} s"
        )
