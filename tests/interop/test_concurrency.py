"""Workers in parallel on PostgreSQL: row locks with SKIP LOCKED deliver each message once; a
worker killed with SIGKILL in the middle of a send loses nothing."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from django.conf import settings
from django.db import connection

from interop.hl7v2 import message_control_id
from interop.models import OutboundMessage, OutboundState
from interop.worker import Worker, deliver_batch
from tests.interop.conftest import later

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_workers(count: int, batch_size: int) -> list[int]:
    start = threading.Barrier(count)
    delivered = [0] * count

    def work(index):
        worker = Worker(batch_size=batch_size)
        try:
            start.wait()
            while OutboundMessage.objects.filter(state=OutboundState.PENDING).exists():
                delivered[index] += worker.deliver_batch().delivered
        finally:
            worker.close()
            connection.close()

    threads = [threading.Thread(target=work, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        # Generous: on two busy cores (CI runs two passes side by side) 300 sends took 20 s.
        thread.join(timeout=240)
    assert not any(thread.is_alive() for thread in threads), "a worker still running after 240 s"
    return delivered


def test_two_workers_deliver_each_message_exactly_once(hospital, destination, receiver, capsys):
    # given
    listening = receiver()
    records = [hospital.record() for _ in range(300)]

    # when
    started = time.monotonic()
    delivered = run_workers(2, batch_size=5)
    elapsed = time.monotonic() - started

    # then
    assert sum(delivered) == 300
    assert all(share > 0 for share in delivered), delivered  # both really worked
    assert listening.counts() == {message_control_id(r.external_id): 1 for r in records}
    assert set(OutboundMessage.objects.values_list("state", flat=True)) == {"delivered"}
    with capsys.disabled():
        print(f"\ntwo workers: {delivered} of 300 messages, 0 duplicates, {elapsed:.2f} s")


def worker_process() -> subprocess.Popen:
    database = connection.settings_dict
    url = (
        f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:"
        f"{database['PORT'] or 5432}/{database['NAME']}"
    )
    return subprocess.Popen(
        [sys.executable, "manage.py", "outbox_worker", "--poll", "0.05", "--batch", "1"],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "hospital.settings.test"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_a_worker_killed_in_the_middle_of_a_send_loses_nothing(hospital, destination, receiver):
    # given: a receiver that takes the message but does not answer yet
    hanging = threading.Event()
    hanging.set()
    listening = receiver(answer=lambda number, control_id: None if hanging.is_set() else "AA")
    administration = hospital.record()
    process = worker_process()

    # when: the worker process is killed while it waits for the ACK
    try:
        assert listening.received.wait(timeout=30), "the worker never sent the message"
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    row = OutboundMessage.objects.get(administration=administration)
    assert row.state == OutboundState.PENDING and row.lease_token is not None

    # then: once its lease has run out, another worker sends it again and it is delivered
    hanging.clear()
    assert deliver_batch().claimed == 0  # not while the dead worker's lease runs
    deliver_batch(now=later(3600))
    row.refresh_from_db()
    assert row.state == OutboundState.DELIVERED
    assert listening.counts() == {message_control_id(administration.external_id): 2}
