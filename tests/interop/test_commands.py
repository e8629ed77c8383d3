import io
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.core.management import call_command

from interop.hl7v2 import ack_parse, message_control_id, ras_o17
from interop.management.commands.mllp_listen import Listener
from interop.mllp import MllpClient, MllpServer
from interop.models import OutboundMessage, OutboundState
from tests.interop.conftest import GIVEN, HL7_CONFIG, NOT_GIVEN, free_port


def test_the_listener_acknowledges_and_logs():
    lines = []
    listener = Listener(write=lines.append)

    ack = ack_parse(listener(ras_o17(GIVEN, HL7_CONFIG)))

    assert ack.code == "AA" and ack.control_id == message_control_id(GIVEN.id)
    assert lines == [f"#1 RAS^O17^RAS_O17 {ack.control_id} from BCMA/BVDEMO → AA"]


def test_the_listener_can_reject_every_kth_message():
    listener = Listener(nack_every=3, write=lambda line: None)

    codes = [ack_parse(listener(ras_o17(GIVEN, HL7_CONFIG))).code for _ in range(6)]

    assert codes == ["AA", "AA", "AE", "AA", "AA", "AE"]


def test_the_listener_ignores_what_is_not_hl7():
    lines = []

    assert Listener(write=lines.append)("hello") is None
    assert "unreadable" in lines[0]


def test_mllp_listen_runs_as_a_command():
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, "manage.py", "mllp_listen", "--port", str(port), "--nack-every", "2"],
        cwd=settings.BASE_DIR,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert "listening" in process.stdout.readline()
        client = MllpClient("127.0.0.1", port, connect_timeout=5)
        codes = [
            ack_parse(client.exchange(ras_o17(snapshot, HL7_CONFIG), timeout=5)).code
            for snapshot in (GIVEN, NOT_GIVEN)
        ]
        client.close()
        assert codes == ["AA", "AE"]
        assert message_control_id(GIVEN.id) in process.stdout.readline()
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.django_db
def test_outbox_worker_once_delivers_what_is_due(hospital, destination):
    server = MllpServer("127.0.0.1", destination.port, Listener(write=lambda line: None)).start()
    for _ in range(3):
        hospital.record()
    out = io.StringIO()
    started = time.monotonic()
    try:
        call_command("outbox_worker", "--once", stdout=out)
    finally:
        server.stop()

    assert "delivered 3, to retry 0, dead 0" in out.getvalue()
    assert set(OutboundMessage.objects.values_list("state", flat=True)) == {OutboundState.DELIVERED}
    assert time.monotonic() - started < 10
