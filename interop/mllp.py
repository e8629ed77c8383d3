"""MLLP over plain TCP sockets: framing, a blocking client with timeouts, and a small threaded
server for demos and tests. No ORM, no settings.

A frame is <0x0b> message <0x1c><0x0d>; the message is UTF-8 (declared in MSH-18).
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)

START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c\x0d"
MAX_FRAME_BYTES = 4 * 1024 * 1024


@dataclass
class Sent:
    """What one send did on the wire: the connection (our address → theirs), whether it was
    opened for this send, and how many bytes of the frame left before it ended or failed."""

    local: str = ""
    remote: str = ""
    new_connection: bool = True
    bytes_sent: int = 0
    frame_bytes: int = 0


class MllpError(Exception):
    """A delivery failed before an acknowledgement was read. `reason` is short and stable; `sent`
    says what had gone out on the wire by then."""

    reason = "MLLP_ERROR"

    def __init__(self, message: str, sent: Sent | None = None):
        super().__init__(message)
        self.sent = sent


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


def _address(address) -> str:
    host, port = address[0], address[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class MllpClient:
    """One connection to one receiver, re-opened on demand.

    `send` frames a message and writes it; `receive` returns the next frame back. The client never
    sends anything by itself: a message goes out once per `send`, so every copy a receiver gets is
    one its caller knows of (and records). Before a send on a kept-open connection it checks that
    the receiver has not closed it meanwhile (receivers close idle connections), and opens a new
    one if so: nothing was sent on the dead one. After any failure the connection is closed, so a
    late reply to one message is never read on the next connection."""

    def __init__(self, host: str, port: int, *, connect_timeout: float = 5.0):
        self.host = host
        self.port = port
        self.connect_timeout = connect_timeout
        self._socket: socket.socket | None = None
        self._reader = FrameReader()
        self._frames: list[bytes] = []

    def exchange(self, message: str, *, timeout: float) -> str:
        """Send and return the first frame back (for tests and simple receivers)."""
        sent = self.send(message, timeout=timeout)
        try:
            return self.receive(deadline=time.monotonic() + timeout)
        except MllpError as error:
            error.sent = error.sent or sent
            raise

    def send(self, message: str, *, timeout: float) -> Sent:
        data = frame(message)
        sent = Sent(frame_bytes=len(data))
        if self._socket is not None and not self._still_open():
            self.close()
        sent.new_connection = self._socket is None
        connection = self._connect(sent)
        try:
            sent.local = _address(connection.getsockname())
            sent.remote = _address(connection.getpeername())
            connection.settimeout(timeout)
            view = memoryview(data)
            while sent.bytes_sent < len(data):
                sent.bytes_sent += connection.send(view[sent.bytes_sent :])
        except TimeoutError as error:
            self.close()
            raise AckTimeout(f"could not send within {timeout:g} s", sent) from error
        except OSError as error:
            self.close()
            raise ConnectionLost(f"connection error while sending: {error}", sent) from error
        return sent

    def receive(self, *, deadline: float) -> str:
        """The next frame from the receiver, waiting until `deadline` (time.monotonic())."""
        if self._frames:
            return self._frames.pop(0).decode("utf-8", errors="replace")
        connection = self._socket
        if connection is None:
            raise ConnectionLost("not connected")
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AckTimeout("no acknowledgement in time")
                connection.settimeout(remaining)
                try:
                    data = connection.recv(65536)
                except TimeoutError as error:
                    raise AckTimeout("no acknowledgement in time") from error
                if not data:
                    raise ConnectionLost("the receiver closed the connection before acknowledging")
                self._frames.extend(self._reader.feed(data))
                if self._frames:
                    return self._frames.pop(0).decode("utf-8", errors="replace")
        except MllpError:
            self.close()
            raise
        except OSError as error:
            self.close()
            raise ConnectionLost(f"connection error: {error}") from error

    def reply(self, message: str) -> None:
        """Write a frame back on the open connection (a commit ACK to the receiver's application
        ACK in enhanced mode). Best effort: the delivery is already settled."""
        if self._socket is None:
            return
        try:
            self._socket.sendall(frame(message))
        except OSError:
            self.close()

    def _still_open(self) -> bool:
        """False if the receiver closed the connection (or reset it) since we last used it."""
        connection = self._socket
        try:
            readable, _w, _x = select.select([connection], [], [], 0)
            if not readable:
                return True
            return bool(connection.recv(65536, socket.MSG_PEEK))
        except (OSError, ValueError):
            return False

    def _connect(self, sent: Sent) -> socket.socket:
        if self._socket is not None:
            return self._socket
        try:
            self._socket = socket.create_connection(
                (self.host, self.port), timeout=self.connect_timeout
            )
        except TimeoutError as error:
            raise ConnectFailed(
                f"no connection to {self.host}:{self.port} within {self.connect_timeout:g} s",
                sent,
            ) from error
        except OSError as error:
            raise ConnectFailed(
                f"cannot connect to {self.host}:{self.port}: {error}", sent
            ) from error
        self._reader = FrameReader()
        self._frames = []
        return self._socket

    def close(self) -> None:
        self._frames = []
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
