"""MLLP over plain TCP sockets: framing, a blocking client with timeouts, and a small threaded
server for demos and tests. No ORM, no settings.

A frame is <0x0b> message <0x1c><0x0d>; the message is UTF-8 (declared in MSH-18).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import socketserver
import threading
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)

START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c\x0d"
MAX_FRAME_BYTES = 4 * 1024 * 1024


class MllpError(Exception):
    """A delivery failed before an acknowledgement was read. `reason` is short and stable."""

    reason = "MLLP_ERROR"


class ConnectFailed(MllpError):
    reason = "CONNECT_FAILED"


class AckTimeout(MllpError):
    reason = "ACK_TIMEOUT"


class ConnectionLost(MllpError):
    reason = "CONNECTION_LOST"


class FrameError(MllpError):
    reason = "BAD_FRAME"


def frame(message: str) -> bytes:
    return START_BLOCK + message.encode("utf-8") + END_BLOCK


class FrameReader:
    """Splits a byte stream into frames, whatever the TCP segment boundaries. Bytes outside a
    frame (keep-alives, stray newlines) are dropped."""

    def __init__(self, max_bytes: int = MAX_FRAME_BYTES):
        self._buffer = bytearray()
        self._max_bytes = max_bytes

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer.extend(data)
        frames = []
        while True:
            start = self._buffer.find(START_BLOCK)
            if start < 0:
                self._buffer.clear()
                return frames
            if start:
                del self._buffer[:start]
            end = self._buffer.find(END_BLOCK, 1)
            if end < 0:
                if len(self._buffer) > self._max_bytes:
                    self._buffer.clear()
                    raise FrameError(f"frame larger than {self._max_bytes} bytes")
                return frames
            frames.append(bytes(self._buffer[1:end]))
            del self._buffer[: end + len(END_BLOCK)]


class MllpClient:
    """One connection to one receiver, re-opened on demand. `exchange` sends a message and waits
    for the next frame back. After any failure the connection is closed, so a late reply to one
    message can never be read as the reply to the next."""

    def __init__(self, host: str, port: int, *, connect_timeout: float = 5.0):
        self.host = host
        self.port = port
        self.connect_timeout = connect_timeout
        self._socket: socket.socket | None = None
        self._reader = FrameReader()

    def exchange(self, message: str, *, timeout: float) -> str:
        reused = self._socket is not None
        try:
            return self._exchange(message, timeout=timeout)
        except ConnectionLost:
            if not reused:
                raise
        # Receivers close idle connections; a kept-open socket may be dead without our knowing
        # until we use it. Reconnect and send once more (at worst the receiver sees a copy).
        return self._exchange(message, timeout=timeout)

    def _exchange(self, message: str, *, timeout: float) -> str:
        connection = self._connect()
        deadline = time.monotonic() + timeout
        try:
            connection.settimeout(timeout)
            connection.sendall(frame(message))
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AckTimeout(f"no acknowledgement within {timeout:g} s")
                connection.settimeout(remaining)
                try:
                    data = connection.recv(65536)
                except TimeoutError as error:
                    raise AckTimeout(f"no acknowledgement within {timeout:g} s") from error
                if not data:
                    raise ConnectionLost("the receiver closed the connection before acknowledging")
                frames = self._reader.feed(data)
                if frames:
                    return frames[0].decode("utf-8", errors="replace")
        except MllpError:
            self.close()
            raise
        except OSError as error:
            self.close()
            raise ConnectionLost(f"connection error: {error}") from error

    def _connect(self) -> socket.socket:
        if self._socket is not None:
            return self._socket
        try:
            self._socket = socket.create_connection(
                (self.host, self.port), timeout=self.connect_timeout
            )
        except TimeoutError as error:
            raise ConnectFailed(
                f"no connection to {self.host}:{self.port} within {self.connect_timeout:g} s"
            ) from error
        except OSError as error:
            raise ConnectFailed(f"cannot connect to {self.host}:{self.port}: {error}") from error
        self._reader = FrameReader()
        return self._socket

    def close(self) -> None:
        if self._socket is not None:
            try:
                self._socket.close()
            finally:
                self._socket = None


# A handler gets the decoded message and returns the acknowledgement to send, or None to send
# nothing (a receiver that hangs, for tests).
Handler = Callable[[str], str | None]


class _Connection(socketserver.BaseRequestHandler):
    server: MllpServer

    def handle(self):
        self.server.track(self.request)
        reader = FrameReader()
        try:
            while True:
                try:
                    data = self.request.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                try:
                    frames = reader.feed(data)
                except FrameError:
                    logger.warning("dropping an oversized frame from %s", self.client_address)
                    return
                for payload in frames:
                    reply = self.server.handler(payload.decode("utf-8", errors="replace"))
                    if reply is not None:
                        self.request.sendall(frame(reply))
        finally:
            self.server.untrack(self.request)


class MllpServer(socketserver.ThreadingTCPServer):
    """A threaded MLLP listener. `stop()` also drops open connections, like a restarted receiver,
    so that clients see the outage instead of talking to an orphaned handler thread."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, host: str, port: int, handler: Handler):
        self.handler = handler
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        super().__init__((host, port), _Connection)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def track(self, connection: socket.socket) -> None:
        with self._lock:
            self._open.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._lock:
            self._open.discard(connection)

    def start(self) -> MllpServer:
        self._thread = threading.Thread(target=self.serve_forever, daemon=True, name="mllp-server")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is None:
            return
        self.shutdown()
        self.server_close()
        with self._lock:
            connections, self._open = list(self._open), set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()
        self._thread.join(timeout=5)
        self._thread = None
