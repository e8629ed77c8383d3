import logging
import signal

from django.core.management.base import BaseCommand

from interop import conf
from interop.inbound.server import InboundServer

logger = logging.getLogger("interop.inbound")


class Command(BaseCommand):
    help = (
        "Receive HL7 v2.5 ADT and pharmacy orders from the HIS over MLLP: store each message, "
        "then apply it and answer with an original-mode ACK (AA; AE or AR with ERR). Safe to run "
        "several at once, on PostgreSQL."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default=None, help="default INBOUND_MLLP_HOST (127.0.0.1)")
        parser.add_argument(
            "--port", type=int, default=None, help="default INBOUND_MLLP_PORT (2576)"
        )

    def handle(self, *args, host=None, port=None, **options):
        host = host or conf.get("INBOUND_MLLP_HOST")
        port = conf.get("INBOUND_MLLP_PORT") if port is None else port
        server = InboundServer(host, port, sweep_seconds=float(conf.get("INBOUND_SWEEP_SECONDS")))
        # Before taking new messages: apply what an earlier listener stored and never applied.
        server.sweep()
        server.start_sweeper()

        def stop(signum, frame):
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGTERM, stop)
        self.stdout.write(f"receiving HL7 over MLLP on {host}:{server.port} (Ctrl-C to stop)")
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
            server.server_close()
