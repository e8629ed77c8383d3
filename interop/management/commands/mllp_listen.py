import itertools
import logging
import threading
import uuid

from django.core.management.base import BaseCommand
from django.utils import timezone

from interop.hl7v2 import ack_build, message_header
from interop.ids import short_id
from interop.mllp import MllpServer

logger = logging.getLogger("interop.mllp_listen")


class Listener:
    """Logs each message and acknowledges it: AA, or AE for every `nack_every`-th message."""

    def __init__(self, *, nack_every: int = 0, write=print):
        self.nack_every = nack_every
        self.write = write
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def __call__(self, text: str) -> str | None:
        with self._lock:
            number = next(self._counter)
        try:
            received = message_header(text)
        except ValueError:
            self.write(f"#{number} unreadable message ({len(text)} characters): no ACK possible")
            return None
        code = "AE" if self.nack_every and number % self.nack_every == 0 else "AA"
        self.write(
            f"#{number} {received.message_type} {received.control_id} from "
            f"{received.sending_application}/{received.sending_facility} → {code}"
        )
        return ack_build(
            received,
            code=code,
            text="test rejection (--nack-every)" if code == "AE" else "",
            control_id=short_id(uuid.uuid4()),
            at=timezone.localtime(),
        )


class Command(BaseCommand):
    help = "A small MLLP receiver for demos and tests: logs every message and acknowledges it."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=2575)
        parser.add_argument(
            "--nack-every",
            type=int,
            default=0,
            metavar="K",
            help="Answer AE to every K-th message (to exercise retries).",
        )

    def handle(self, *args, host, port, nack_every, **options):
        def write(line: str) -> None:
            self.stdout.write(line)
            self.stdout.flush()

        server = MllpServer(host, port, Listener(nack_every=nack_every, write=write))
        write(f"listening for MLLP on {host}:{server.port} (Ctrl-C to stop)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
