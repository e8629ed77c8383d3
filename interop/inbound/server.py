"""The MLLP listener for the HIS: every frame goes to the inbox, every answer is its ACK."""

from __future__ import annotations

import logging
import threading

from django.db import DatabaseError, close_old_connections, connection

from interop.inbound.inbox import inbox_receive, inbox_sweep
from interop.mllp import MllpServer

logger = logging.getLogger(__name__)


def handle_frame(text: str) -> str | None:
    try:
        return inbox_receive(text)
    except DatabaseError:
        # Nothing stored (or not yet applied): no ACK, so the sender sends it again.
        logger.exception("inbound message not stored: database error")
        close_old_connections()
        connection.close()
        return None


class InboundServer(MllpServer):
    """One thread per connection, each with its own database connection, closed when the
    connection ends; a sweeper thread applies what a killed listener stored but never applied."""

    def __init__(self, host: str, port: int, *, sweep_seconds: float = 5.0):
        super().__init__(host, port, handle_frame)
        self.sweep_seconds = sweep_seconds
        self._stopping = threading.Event()
        self._sweeper: threading.Thread | None = None

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            connection.close()

    def sweep(self) -> None:
        try:
            applied = inbox_sweep()
            if applied:
                logger.info("applied %s stored message(s) left by an earlier listener", applied)
        except DatabaseError:
            logger.exception("inbound sweep failed; trying again later")
            connection.close()

    def _sweep_forever(self) -> None:
        while not self._stopping.wait(self.sweep_seconds):
            self.sweep()
        connection.close()

    def start_sweeper(self) -> None:
        self._sweeper = threading.Thread(target=self._sweep_forever, daemon=True, name="sweep")
        self._sweeper.start()

    def stop(self) -> None:
        self._stopping.set()
        super().stop()
