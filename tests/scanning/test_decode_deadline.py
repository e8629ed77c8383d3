"""A large image is decoded in a helper process under a deadline (scanning/barcodes/worker.py).

The hostile images here hold one uninterruptible zxing-cpp call for seconds (about 80 s for the
20 MP one on this machine); with the deadline the answer is a clear refusal, through the API a
JSON 413 that writes nothing. Camera frames never leave the process. How long things take is
bench.decode's business: the bounds below only tell "stopped at the deadline" from "ran on".
"""

import base64
import io
import multiprocessing
import subprocess
import sys
import threading
import time

import pytest
from PIL import Image

from bench import decode as bench_decode
from scanning.barcodes import ImageRejected, decode_image, worker
from scanning.models import ScanEvent
from tests.scanning.conftest import AN_BAND, BARCODES

MAX_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 20_000_000
DEADLINE = 0.5
# The deadline, plus loading the header and the pipe, plus a loaded machine.
STOPPED_WITHIN = DEADLINE + 2.0
WRISTBAND = "8018952000100000001013\x1d80191"


@pytest.fixture(scope="module", autouse=True)
def no_helper_left_behind():
    yield
    if worker._helper is not None:
        worker._helper.stop()
        worker._helper = None


@pytest.fixture(scope="module")
def hostile() -> bytes:
    # QR finder patterns at 2 px modules over 12 MP: one zxing-cpp call takes 3-10 s here.
    return bench_decode.finder_tiles((4000, 3000), 2)


@pytest.fixture(scope="module")
def photo() -> tuple[bytes, str]:
    return bench_decode.large_photo()


def decode(data: bytes, deadline: float | None = DEADLINE):
    return decode_image(data, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS, deadline=deadline)


def test_a_large_image_that_takes_too_long_is_refused_at_the_deadline(hostile):
    # when
    started = time.monotonic()
    with pytest.raises(ImageRejected) as refused:
        decode(hostile)
    elapsed = time.monotonic() - started

    # then
    assert refused.value.code == ImageRejected.DECODE_TIMEOUT == "IMAGE_DECODE_TIMEOUT"
    assert "0.5 s" in refused.value.message
    assert elapsed < STOPPED_WITHIN


def test_a_large_photograph_is_read_in_the_helper_as_it_is_here(photo):
    # given
    data, expected = photo

    # when
    elsewhere = decode(data, deadline=30.0)
    here = decode(data, deadline=None)

    # then
    assert expected in [symbol.text for symbol in elsewhere]
    assert elsewhere == here


def test_the_helper_killed_at_a_deadline_is_replaced_for_the_next_image(hostile, photo):
    # given: a helper, busy on a hostile image when the deadline passes
    decode(photo[0], deadline=30.0)
    busy = worker._helper
    with pytest.raises(ImageRejected):
        decode(hostile)

    # when
    symbols = decode(photo[0], deadline=30.0)

    # then
    assert busy.process.poll() is not None
    assert worker._helper is not busy and worker._helper.alive
    assert photo[1] in [symbol.text for symbol in symbols]


def test_the_helper_refuses_a_broken_large_image_like_this_process_would(photo):
    # given: the header of a 20 MP JPEG, its pixels cut off
    truncated = photo[0][:4000]

    # when
    with pytest.raises(ImageRejected) as refused:
        decode(truncated, deadline=30.0)

    # then
    assert refused.value.code == ImageRejected.UNREADABLE


def test_a_camera_frame_never_starts_a_helper(monkeypatch):
    # given
    frame = Image.open(BARCODES / AN_BAND).convert("L").resize((640, 64))
    page = Image.new("L", (640, 480), 255)
    page.paste(frame, (0, 200))
    buffer = io.BytesIO()
    page.save(buffer, format="PNG")

    def no_helper(*args, **kwargs):
        raise AssertionError("a 640×480 frame went to the helper")

    monkeypatch.setattr(worker, "decode_elsewhere", no_helper)

    # when
    symbols = decode(buffer.getvalue())

    # then
    assert WRISTBAND in [symbol.text for symbol in symbols]


def test_threads_take_turns_with_the_helper_and_each_gets_its_answer(photo):
    # given
    answers: list = []

    def ask() -> None:
        answers.append([symbol.text for symbol in decode(photo[0], deadline=60.0)])

    # when
    threads = [threading.Thread(target=ask) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then
    assert len(answers) == 3
    assert all(photo[1] in texts for texts in answers)


def _decode_in_fork(data: bytes, queue) -> None:
    symbols = decode_image(data, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS, deadline=30.0)
    queue.put(([symbol.text for symbol in symbols], worker._helper.process.pid))


@pytest.mark.skipif(sys.platform != "linux", reason="gunicorn forks its workers on Linux")
def test_a_forked_worker_starts_its_own_helper_and_leaves_its_parents_alone(photo):
    # given: this process has a helper, then forks (as a gunicorn master forks its workers)
    decode(photo[0], deadline=30.0)
    parents = worker._helper.process.pid
    context = multiprocessing.get_context("fork")
    queue = context.Queue()

    # when
    child = context.Process(target=_decode_in_fork, args=(photo[0], queue))
    child.start()
    texts, childs = queue.get(timeout=60)
    child.join(timeout=60)

    # then
    assert photo[1] in texts
    assert childs != parents
    assert worker._helper.process.pid == parents and worker._helper.alive
    assert photo[1] in [symbol.text for symbol in decode(photo[0], deadline=30.0)]


def test_the_helper_ends_when_the_process_that_started_it_ends(tmp_path, photo):
    # given: a process that decodes a large image, prints its helper's id and exits
    image = tmp_path / "photo.jpg"
    image.write_bytes(photo[0])
    script = (
        "import sys\n"
        "from scanning.barcodes import decode_image, worker\n"
        f"decode_image(open({str(image)!r}, 'rb').read(), max_bytes={MAX_BYTES}, "
        f"max_pixels={MAX_PIXELS}, deadline=30.0)\n"
        "print(worker._helper.process.pid)\n"
    )

    # when
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    helper = int(done.stdout.strip())

    # then: the helper reads the end of its input and exits
    for _ in range(100):
        if not _running(helper):
            break
        time.sleep(0.1)
    assert not _running(helper)


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


# --------------------------------------------------------------------------- through the API


@pytest.fixture
def short_deadline(settings):
    settings.BARCODE_DECODE_DEADLINE_SECONDS = DEADLINE


@pytest.mark.django_db
def test_the_decode_endpoint_answers_a_json_413_at_the_deadline(
    nurse_client, short_deadline, hostile
):
    # when
    started = time.monotonic()
    response = nurse_client.post(
        "/api/v1/scan/decode/",
        {"image": _base64(hostile)},
        format="json",
    )
    elapsed = time.monotonic() - started

    # then
    assert response.status_code == 413, response.content
    assert response.json()["error"]["code"] == "IMAGE_DECODE_TIMEOUT"
    assert response.json()["error"]["message"]
    assert elapsed < STOPPED_WITHIN


@pytest.mark.django_db
def test_a_check_whose_wristband_image_runs_out_of_time_writes_nothing(
    nurse_client, short_deadline, hostile
):
    # given
    events = ScanEvent.objects.count()

    # when
    response = nurse_client.post(
        "/api/v1/scan/check/",
        {"patient": {"image": _base64(hostile)}, "medications": []},
        format="json",
    )

    # then
    assert response.status_code == 413, response.content
    assert response.json()["error"]["code"] == "IMAGE_DECODE_TIMEOUT"
    assert ScanEvent.objects.count() == events


def _base64(data: bytes) -> str:
    return base64.b64encode(data).decode()
