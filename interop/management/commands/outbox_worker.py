import logging
import signal
import time

from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections, connection

from interop import conf
from interop.worker import Worker

logger = logging.getLogger("interop.worker")


class Command(BaseCommand):
    help = (
        "Deliver the interop outbox over MLLP: claim due messages, send, wait for the ACK, retry "
        "with backoff, dead-letter after the destination's maximum attempts. Safe to run several "
        "at once (PostgreSQL row locks with SKIP LOCKED)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--once", action="store_true", help="Deliver what is due now, then exit."
        )
        parser.add_argument(
            "--poll",
            type=float,
            default=None,
            help="Seconds to wait when nothing is due (default INTEROP_POLL_SECONDS, 1).",
        )
        parser.add_argument(
            "--batch", type=int, default=None, help="Messages claimed per transaction."
        )

    def handle(self, *args, once=False, poll=None, batch=None, **options):
        poll = conf.get("INTEROP_POLL_SECONDS") if poll is None else poll
        worker = Worker(batch_size=batch)
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True
            logger.info("signal %s: stopping after this batch", signum)

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        totals = {"delivered": 0, "retried": 0, "dead": 0}
        try:
            while not stopping:
                if not connection.in_atomic_block:
                    # A long-running worker must survive a database restart or failover.
                    close_old_connections()
                try:
                    result = worker.deliver_batch()
                except DatabaseError:
                    if once:
                        raise
                    # The database restarting is an outage like any other: wait and go on.
                    logger.exception("outbox worker: database error, retrying in %s s", poll)
                    close_old_connections()
                    time.sleep(poll)
                    continue
                for key in totals:
                    totals[key] += getattr(result, key)
                if result.claimed:
                    logger.info(
                        "batch: %s claimed, %s delivered, %s to retry, %s dead",
                        result.claimed,
                        result.delivered,
                        result.retried,
                        result.dead,
                    )
                    continue
                if once:
                    break
                time.sleep(poll)
        finally:
            worker.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if once:
            self.stdout.write(
                f"delivered {totals['delivered']}, to retry {totals['retried']}, "
                f"dead {totals['dead']}"
            )
