"""A listener process killed with SIGKILL mid-frame and mid-apply loses nothing and applies
nothing twice (PostgreSQL: the kill rolls back the open transaction, as a crash would)."""

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime

import hl7.client
import pytest
from django.conf import settings
from django.db import connection, transaction

from interop.inbound import his_day as h
from interop.models import InboundMessage, InboundState
from pharmacy.demo import demo_hospital_load
from tests.interop.test_inbound_mllp import map_drugs, msa, unframe
from wards.models import Admission, Patient

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
START = datetime(2026, 11, 24, 7, 0, tzinfo=h.HCMC)
AN = "BN2026000201"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listener_process(port: int) -> subprocess.Popen:
    database = connection.settings_dict
    url = (
        f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:"
        f"{database['PORT'] or 5432}/{database['NAME']}"
    )
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, "manage.py", "mllp_inbound", "--port", str(port)],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "hospital.settings.test"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("the listener did not start")


def kill(process: subprocess.Popen) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def wait_for(condition, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT state, wait_event_type, wait_event, left(query, 80) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        activity = cursor.fetchall()
    raise AssertionError(f"timed out; the database was doing {activity}")


@pytest.fixture
def hospital():
    demo_hospital_load()
    map_drugs()


def test_killed_mid_frame_then_resent(hospital):
    port = free_port()
    process = listener_process(port)
    admit = h.ward_day(START)[0][1].encode()
    try:
        with socket.create_connection(("127.0.0.1", port)) as raw:
            raw.sendall(b"\x0b" + admit[:200])
            time.sleep(0.2)
            kill(process)
        assert not InboundMessage.objects.exists()
        process = listener_process(port)

        with hl7.client.MLLPClient("127.0.0.1", port) as client:
            ack = unframe(client.send_message(admit.decode()))
    finally:
        kill(process)

    assert msa(ack)[1:3] == ["AA", "HIS0001"]
    assert Admission.objects.filter(visit_number="VV2026001").count() == 1


def test_killed_mid_apply_then_resent_applies_once_and_acks_once(hospital):
    port = free_port()
    admit = h.ward_day(START)[0][1]
    process = listener_process(port)
    try:
        # given: the listener has stored the message and is applying it (its patient insert done),
        # blocked on the admission insert by a table lock this test holds
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {Admission._meta.db_table} IN SHARE MODE")
            sender = hl7.client.MLLPClient("127.0.0.1", port)
            sender.socket.sendall(b"\x0b" + admit.encode() + b"\x1c\r")
            wait_for(
                lambda: InboundMessage.objects.filter(
                    control_id="HIS0001", state=InboundState.RECEIVED
                ).exists()
            )
            # (waiting for the table lock while preparing the INSERT, which the statistics show
            # under the previous statement)
            wait_for(lambda: blocked_on(wait_event="relation"))
            # when: it is killed mid-apply, before any ACK
            kill(process)
        sender.socket.settimeout(5)
        assert sender.socket.recv(4096) == b""  # the connection died without an answer
        sender.close()
        assert not Patient.objects.filter(mrn=AN).exists()  # the partial apply rolled back
        assert InboundMessage.objects.get().state == InboundState.RECEIVED

        # then: a new listener applies what was stored, and the HIS's resend gets the answer
        process = listener_process(port)
        with hl7.client.MLLPClient("127.0.0.1", port) as client:
            ack = unframe(client.send_message(admit))
            again = unframe(client.send_message(admit))
    finally:
        kill(process)

    assert msa(ack)[1:3] == ["AA", "HIS0001"]
    assert again == ack
    row = InboundMessage.objects.get()
    assert row.state == InboundState.APPLIED
    assert row.attempts == 1  # applied once: the killed attempt left no trace
    assert Admission.objects.filter(visit_number="VV2026001").count() == 1
    assert Patient.objects.filter(mrn=AN).count() == 1


def blocked_on(*, query: str = "", wait_event: str = "") -> bool:
    """Whether another backend waits for a lock (in this query, or on this kind of lock)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock' "
            "AND query LIKE %s AND wait_event LIKE %s",
            [query + "%", wait_event or "%"],
        )
        return cursor.fetchone()[0] > 0
