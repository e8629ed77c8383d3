"""Decode a large image in a separate process that is killed when its deadline passes.

A zxing-cpp call cannot be interrupted, and its cost on a hostile image grows faster than the
pixel count (a 20 MP image tiled with QR finder patterns holds one call for over a minute here,
see docs/benchmarks.md). So ``decode_image`` sends images above ``IN_PROCESS_PIXELS`` to a helper
process and waits at most the deadline for its answer; past it, the helper is killed and the
caller gets ``DeadlineExceeded``. Camera frames stay in-process and pay nothing for this.

Each process that decodes (each gunicorn worker) starts its own helper on its first large image
(its imports are not counted against the deadline) and keeps it for the next ones; one that is
killed is replaced at once. A fork is noticed (``os.register_at_fork``, and the process id) and
starts a helper of its own; a helper whose parent has gone reads the end of its input and exits.
Requests from several threads of one process take turns, the wait counting against each one's
deadline. Nothing here uses signals, alarms or threads, so gunicorn's own are left alone.

The helper speaks over its standard input and output: it says ``R`` once it has imported the
decoder; a request is a header (the length of the image and the two caps) and the image's bytes;
an answer is a length and a JSON object, either ``{"symbols": [...]}`` or
``{"rejected": {"code", "message"}}``. Pure: no Django.
"""

from __future__ import annotations

import json
import os
import select
import struct
import subprocess
import sys
import threading
import time
from typing import IO, Any

# Above this many pixels an image is decoded in the helper. A cart frame (640 × 480, or 1280 ×
# 720) stays in-process: there the retries stop after ``RETRY_BUDGET_SECONDS`` and no single
# pass on a hostile 1280 × 720 image took over 0.41 s, even on a loaded machine, so the worst
# case stays inside the default deadline. At 1920 × 1080 one pass took 0.98 s.
IN_PROCESS_PIXELS = 1_000_000

# Not ``-m``: the package imports this module before runpy would run it as __main__.
_HELPER_MAIN = "from scanning.barcodes.worker import main; raise SystemExit(main())"
_READY = b"R"
# Python, NumPy, Pillow and zxing-cpp take 0.2-1 s to import here; this only catches a helper
# that cannot start at all.
STARTUP_SECONDS = 30.0
_REQUEST = struct.Struct(">QQQ")  # image length, max_bytes, max_pixels
_ANSWER = struct.Struct(">Q")


class DeadlineExceeded(Exception):
    """The image was not decoded before its deadline; the helper that tried is gone."""


class WorkerFailed(Exception):
    """The helper ended without answering (it crashed, or could not start)."""


class _Helper:
    def __init__(self) -> None:
        # The helper imports the decoder from the same places as this process.
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-c", _HELPER_MAIN],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=environment,
        )
        self.owner = os.getpid()
        self.ready = False

    def wait_ready(self) -> float:
        """Seconds spent waiting for the helper's imports (nothing once it has said so)."""
        if self.ready:
            return 0.0
        started = time.monotonic()
        assert self.process.stdout is not None
        try:
            signal = _read_exactly(self.process.stdout, len(_READY), started + STARTUP_SECONDS)
        except DeadlineExceeded as exc:
            raise WorkerFailed("the decoding process did not start") from exc
        if signal != _READY:
            raise WorkerFailed("the decoding process did not start")
        self.ready = True
        return time.monotonic() - started

    @property
    def alive(self) -> bool:
        return self.owner == os.getpid() and self.process.poll() is None

    def ask(self, request: bytes, deadline_at: float) -> dict[str, Any]:
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        try:
            _write_all(stdin, request, deadline_at)
            (length,) = _ANSWER.unpack(_read_exactly(stdout, _ANSWER.size, deadline_at))
            answer: dict[str, Any] = json.loads(_read_exactly(stdout, length, deadline_at))
            return answer
        except BrokenPipeError as exc:
            raise WorkerFailed("the decoding process ended") from exc

    def stop(self) -> None:
        if self.owner != os.getpid():
            # A fork's copy of its parent's helper: not ours to kill.
            return
        self.process.kill()
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()


_lock = threading.Lock()
_helper: _Helper | None = None


def _forget_after_fork() -> None:
    # A thread of the parent may have held the lock at the fork; the helper is the parent's.
    global _lock, _helper
    _lock = threading.Lock()
    _helper = None


os.register_at_fork(after_in_child=_forget_after_fork)


def decode_elsewhere(
    data: bytes, *, max_bytes: int, max_pixels: int, timeout: float
) -> dict[str, Any]:
    """The helper's answer for ``data``, or ``DeadlineExceeded`` after ``timeout`` seconds.

    The time counts from the call, waiting for another thread's image included; a helper's
    start (the first large image of a process) does not count. ``WorkerFailed`` if the helper
    died on the image or could not start. A helper that is killed is replaced at once, so
    that the next image finds one ready.
    """
    global _helper
    deadline_at = time.monotonic() + timeout
    if not _lock.acquire(timeout=max(0.0, timeout)):
        raise DeadlineExceeded(f"the decoder stayed busy for {timeout:g} s")
    try:
        if _helper is not None and not _helper.alive:
            _helper.stop()
            _helper = None
        if _helper is None:
            _helper = _Helper()
        helper = _helper
        try:
            deadline_at += helper.wait_ready()
            return helper.ask(_REQUEST.pack(len(data), max_bytes, max_pixels) + data, deadline_at)
        except (DeadlineExceeded, WorkerFailed, OSError, ValueError):
            helper.stop()
            _helper = _Helper()
            raise
    finally:
        _lock.release()


def _write_all(pipe: IO[bytes], data: bytes, deadline_at: float) -> None:
    view = memoryview(data)
    while view:
        _wait(pipe, deadline_at, write=True)
        written = os.write(pipe.fileno(), view[: 1 << 20])
        view = view[written:]


def _read_exactly(pipe: IO[bytes], count: int, deadline_at: float) -> bytes:
    chunks = bytearray()
    while len(chunks) < count:
        _wait(pipe, deadline_at, write=False)
        chunk = os.read(pipe.fileno(), min(count - len(chunks), 1 << 20))
        if not chunk:
            raise WorkerFailed("the decoding process ended without an answer")
        chunks += chunk
    return bytes(chunks)


def _wait(pipe: IO[bytes], deadline_at: float, *, write: bool) -> None:
    remaining = deadline_at - time.monotonic()
    if remaining <= 0:
        raise DeadlineExceeded("the deadline passed")
    watched: tuple[list[IO[bytes]], list[IO[bytes]], list[IO[bytes]]] = (
        ([], [pipe], []) if write else ([pipe], [], [])
    )
    ready = select.select(*watched, remaining)
    if not any(ready):
        raise DeadlineExceeded("the deadline passed")


# --------------------------------------------------------------------------- the helper


def main() -> int:
    """The helper's loop: one request at a time from stdin, one answer each to stdout."""
    # Imported here: the parent side above needs none of it.
    from scanning.barcodes.decode import ImageRejected, decode_image

    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    answers.write(_READY)
    answers.flush()
    while True:
        header = requests.read(_REQUEST.size)
        if len(header) < _REQUEST.size:
            return 0  # the parent has gone
        length, max_bytes, max_pixels = _REQUEST.unpack(header)
        data = requests.read(length)
        try:
            symbols = decode_image(data, max_bytes=max_bytes, max_pixels=max_pixels, deadline=None)
            answer: dict[str, Any] = {"symbols": [symbol.as_dict() for symbol in symbols]}
        except ImageRejected as rejected:
            answer = {"rejected": {"code": rejected.code, "message": rejected.message}}
        body = json.dumps(answer).encode()
        answers.write(_ANSWER.pack(len(body)) + body)
        answers.flush()
