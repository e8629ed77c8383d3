"""A hundred administrations to each of three independent receivers on 127.0.0.1 that make
delivery hard, each run ending with nothing lost and no copy the record does not know of:

- @medplum/hl7's server (node) dropping the connection in the middle of every 7th
  acknowledgement, after it read the message whole (the copy it keeps is a delivery the sender
  cannot see; Mirth/NextGen Connect does not drop a repeated MSH-10 by default);
- a receiver on plain sockets that drops the connection in the middle of every 9th frame of ours;
- python-hl7's asyncio MLLP server answering AE to every 5th message;
- @medplum/hl7's server in enhanced mode (a commit ACK, then the application's AA).

"Recorded as such": every copy a receiver read is a `DeliveryAttempt` that sent the whole frame,
and every message has exactly one attempt recorded as delivered."""

import asyncio
import contextlib
import socket
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import hl7
import pytest
from hl7.mllp import start_hl7_server

from interop.hl7v2 import message_header
from interop.mllp import END_BLOCK, START_BLOCK, FrameReader, frame
from interop.models import AttemptOutcome, DeliveryAttempt, OutboundMessage, OutboundState
from interop.worker import Worker
from tests.interop.fhir_validator import ROOT, node

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:datetime.datetime.utcnow:DeprecationWarning"),
]

RECORDS = 100
PEER = Path(__file__).parent / "peers" / "mllp_peer.mjs"


class NodePeer:
    """tests/interop/peers/mllp_peer.mjs in a node process; counts the MSH-10s it read."""

    def __init__(self, mode: str):
        self.received: Counter = Counter()
        self._process = subprocess.Popen(  # noqa: S603 - our own script, no shell
            [node(), str(PEER), mode],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        first = self._process.stdout.readline().split()
        assert first[:1] == ["LISTENING"], f"the node peer did not start: {first}"
        self.port = int(first[1])
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self._process.stdout:
            kind, _sep, control_id = line.strip().partition(" ")
            if kind == "RECEIVED":
                with self._lock:
                    self.received[control_id] += 1

    def counts(self) -> Counter:
        with self._lock:
            return Counter(self.received)

    def stop(self):
        self._process.terminate()
        try:
            self._process.wait(5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(5)
        self._reader.join(5)


class PythonHl7Peer:
    """python-hl7's asyncio MLLP server, answering AE to every `every`-th message."""

    def __init__(self, every: int):
        self.received: Counter = Counter()
        self._every = every
        self._count = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self._ready.wait(5), "the python-hl7 peer did not start"

    def _run(self):
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            start_hl7_server(self._client, "127.0.0.1", 0, encoding="utf-8")
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _client(self, reader, writer):
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while not writer.is_closing():
                message = await reader.readmessage()
                self.received[str(message.segment("MSH")(10))] += 1
                self._count += 1
                code = "AE" if self._count % self._every == 0 else "AA"
                writer.writemessage(message.create_ack(code))
                await writer.drain()
        writer.close()

    def counts(self) -> Counter:
        return Counter(self.received)

    def stop(self):
        def shutdown():
            self._server.close()
            self._loop.stop()

        self._loop.call_soon_threadsafe(shutdown)
        self._thread.join(5)
        self._loop.close()


class TruncatingPeer:
    """Plain sockets: AA to each message, but every `every`-th frame it drops the connection after
    the first bytes of our frame (that message never reached it: it is not counted)."""

    def __init__(self, every: int):
        self.received: Counter = Counter()
        self.dropped = 0
        self._every = every
        self._frames = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stopping.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._handle, args=(connection,), daemon=True).start()

    def _handle(self, connection):
        reader = FrameReader()
        with connection:
            connection.settimeout(5)
            while True:
                try:
                    data = connection.recv(64)  # small reads: a frame arrives in pieces
                except OSError:
                    return
                if not data:
                    return
                if START_BLOCK in data:
                    self._frames += 1
                    if self._frames % self._every == 0 and END_BLOCK not in data:
                        self.dropped += 1
                        return  # dropped mid-frame
                for payload in reader.feed(data):
                    received = message_header(payload.decode("utf-8"))
                    self.received[received.control_id] += 1
                    ack = hl7.parse(payload.decode("utf-8").strip()).create_ack("AA")
                    connection.sendall(frame(str(ack)))

    def counts(self) -> Counter:
        return Counter(self.received)

    def stop(self):
        self._stopping.set()
        self._thread.join(5)
        self._listener.close()


PEERS = {
    "medplum drops every 7th ACK mid-frame": lambda: NodePeer("drop-every-7"),
    "plain sockets drop every 9th frame of ours mid-frame": lambda: TruncatingPeer(9),
    "python-hl7 answers AE to every 5th": lambda: PythonHl7Peer(5),
    "medplum in enhanced mode": lambda: NodePeer("enhanced"),
}


@pytest.mark.parametrize("peer_name", PEERS)
def test_a_hundred_records_end_with_none_lost_and_every_copy_on_record(
    peer_name, hospital, destination, fast_retries, capsys
):
    # given: an independent receiver, and a destination in the mode it speaks
    peer = PEERS[peer_name]()
    destination.port = peer.port
    destination.max_attempts = 50
    destination.ack_timeout_seconds = 2.0
    destination.ack_mode = "enhanced" if "enhanced" in peer_name else "original"
    destination.save()
    worker = Worker(batch_size=10)
    started = time.monotonic()

    # when: a hundred records, delivered as they come and then until the outbox is empty
    try:
        for _ in range(RECORDS // 10):
            for _ in range(10):
                hospital.record()
            worker.deliver_batch()
        deadline = time.monotonic() + 60
        while OutboundMessage.objects.filter(state=OutboundState.PENDING).exists():
            assert time.monotonic() < deadline, "the outbox did not drain in time"
            if not worker.deliver_batch().claimed:
                time.sleep(0.01)
        time.sleep(0.2)  # the peer reports what it read before it answers; let it finish
    finally:
        worker.close()
        peer.stop()
    elapsed = time.monotonic() - started

    # then: every message delivered, recorded delivered exactly once, seen by the receiver
    rows = OutboundMessage.objects.all()
    assert rows.count() == RECORDS
    assert set(rows.values_list("state", flat=True)) == {OutboundState.DELIVERED}
    delivered = Counter(
        DeliveryAttempt.objects.filter(outcome=AttemptOutcome.DELIVERED).values_list(
            "message__message_id", flat=True
        )
    )
    assert delivered == {row.message_id: 1 for row in rows}
    seen = peer.counts()
    lost = {row.message_id for row in rows} - set(seen)
    assert not lost
    # and every copy the receiver read is an attempt on record that sent the whole frame
    whole_frames = Counter(
        attempt.message.message_id
        for attempt in DeliveryAttempt.objects.select_related("message")
        if attempt.bytes_sent == attempt.frame_bytes > 0
    )
    unrecorded = {
        control_id: count - whole_frames[control_id]
        for control_id, count in seen.items()
        if count > whole_frames[control_id]
    }
    assert unrecorded == {}
    if isinstance(peer, TruncatingPeer):
        assert peer.dropped >= RECORDS // 10  # the drops were real
    attempts = DeliveryAttempt.objects.count()
    copies = sum(seen.values()) - RECORDS
    assert DeliveryAttempt.objects.filter(outcome=AttemptOutcome.SENDING).count() == 0
    with capsys.disabled():
        print(
            f"\n{peer_name}: {RECORDS} records, {attempts} attempts, {copies} copies the receiver "
            f"read twice (all on record), 0 lost, 0 unrecorded, {elapsed:.1f} s"
        )
