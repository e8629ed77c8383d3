"""Hostile and awkward images through the API (the decoder itself is tested in test_decode.py):
posted as base64 JSON and as a multipart upload to scan/decode/, and as base64 in the patient
slot of scan/check/. Refused images are a JSON 4xx in the API's error shape, quickly, and write
nothing but (for a check) the audit scan event. Valid images in unusual containers (CMYK JPEG,
16-bit PNG, TIFF, animated GIF, PNG or GIF with something appended) decode the barcode in them."""

import base64
import io
import json
import random
import struct
import time
import zipfile
import zlib

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from rest_framework.test import APIClient

from scanning.models import ScanEvent
from tests.scanning.conftest import AN_BAND, BARCODES

pytestmark = pytest.mark.django_db

DECODE = "/api/v1/scan/decode/"
CHECK = "/api/v1/scan/check/"
AN_WRISTBAND = "8018952000100000001013\x1d80191"
# Timings are not benchmarks (bench/ is): this only catches an image that makes a request hang.
SECONDS_PER_IMAGE = 2.0
PROJECT_APPS = ("hospital", "wards", "pharmacy", "scanning", "interop")


def band_page() -> Image.Image:
    return Image.open(BARCODES / AN_BAND).convert("L")


def encoded(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (
            struct.pack(">I", len(payload))
            + kind
            + payload
            + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
        )

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def zip_archive() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("payload.js", "alert(document.cookie)")
    return buffer.getvalue()


def gif_javascript_polyglot() -> bytes:
    """The classic GIF/JS polyglot: `GIF89a/*` opens a JS comment (its width bytes are `/*`), the
    trailer closes it and runs script. As an image it claims 10 799 pixels across."""
    return (
        b"GIF89a/*\x0a\x00\x00\x00\x00" + b"\x00" * 32 + b"*/=1;alert(document.cookie);//" + b"\x3b"
    )


def sixteen_bit(image: Image.Image) -> bytes:
    deep = image.point(lambda v: v * 257, "I").convert("I;16")
    data = encoded(deep, "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I;16")
    return data


def animated(first: Image.Image, second: Image.Image) -> bytes:
    data = encoded(first, "GIF", save_all=True, append_images=[second], duration=100, loop=0)
    assert Image.open(io.BytesIO(data)).n_frames == 2
    return data


def tiff_claiming(width: int, height: int) -> bytes:
    """A little-endian TIFF whose IFD claims width × height, with no pixel data to speak of."""
    entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 1)]
    entries += [(262, 3, 1, 1), (273, 4, 1, 8), (277, 3, 1, 1), (279, 4, 1, 1)]
    ifd = struct.pack("<H", len(entries))
    ifd += b"".join(struct.pack("<HHII", *entry) for entry in entries) + struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", 8) + ifd


def refused(code: str, status: int = 400) -> tuple[int, str]:
    return status, code


# What each image must give: (status, error code) when refused, or the texts it must decode to.
HOSTILE = {
    "zero bytes": (lambda: b"", refused("IMAGE_EMPTY")),
    "truncated PNG": (lambda: encoded(band_page(), "PNG")[:300], refused("IMAGE_UNREADABLE")),
    "random bytes": (lambda: random.Random(8).randbytes(4096), refused("IMAGE_UNREADABLE")),
    "PNG header claiming 30 000 × 30 000": (
        lambda: png_claiming(30_000, 30_000),
        refused("IMAGE_TOO_MANY_PIXELS", 413),
    ),
    "TIFF header claiming 30 000 × 30 000": (
        lambda: tiff_claiming(30_000, 30_000),
        refused("IMAGE_TOO_MANY_PIXELS", 413),
    ),
    "GIF/JavaScript polyglot": (gif_javascript_polyglot, refused("IMAGE_UNREADABLE")),
    "PNG signature only": (
        lambda: b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
        refused("IMAGE_UNREADABLE"),
    ),
}
UNUSUAL = {
    "PNG with a ZIP appended (polyglot)": lambda: encoded(band_page(), "PNG") + zip_archive(),
    "GIF with script after its trailer": lambda: (
        encoded(band_page(), "GIF") + b"/*<script>alert(1)</script>*/"
    ),
    "CMYK JPEG": lambda: encoded(band_page().convert("CMYK"), "JPEG", quality=95),
    "16-bit PNG": lambda: sixteen_bit(band_page()),
    "TIFF (LZW)": lambda: encoded(band_page(), "TIFF", compression="tiff_lzw"),
    "animated GIF (first frame read)": lambda: animated(
        band_page(), Image.new("L", (400, 400), 255)
    ),
}


@pytest.fixture
def decoder(nurse):
    # Decoding needs no patients: a nurse is enough (the check tests use the demo hospital).
    client = APIClient()
    client.force_login(nurse)
    return client


@pytest.fixture
def rows():
    """Counts every table of ours but the scan events, to compare before and after."""

    def count() -> dict[str, int]:
        return {
            model._meta.label: model.objects.count()
            for app in PROJECT_APPS
            for model in apps.get_app_config(app).get_models()
            if model is not ScanEvent
        }

    return count


def timed(call):
    started = time.perf_counter()
    response = call()
    elapsed = time.perf_counter() - started
    assert elapsed < SECONDS_PER_IMAGE, f"{elapsed:.2f} s"
    return response


def as_json(data: bytes) -> dict:
    return {"image": base64.b64encode(data).decode()}


def as_upload(data: bytes) -> dict:
    return {"image": SimpleUploadedFile("scan.png", data, content_type="image/png")}


def assert_error(response, status: int, code: str) -> None:
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert response.status_code == status, body
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    assert body["error"]["message"]
    assert "Traceback" not in response.content.decode()


@pytest.mark.parametrize("name", HOSTILE)
@pytest.mark.parametrize("transport", ["base64", "multipart"])
def test_a_hostile_image_for_decoding_is_a_quick_json_4xx(decoder, rows, name, transport):
    # given
    make, (status, code) = HOSTILE[name]
    data = make()
    before = rows()

    # when
    if transport == "base64":
        response = timed(lambda: decoder.post(DECODE, as_json(data), format="json"))
    else:
        response = timed(lambda: decoder.post(DECODE, as_upload(data), format="multipart"))

    # then
    if transport == "base64" and not data:
        # An empty string is not an image at all: the serializer refuses it before the decoder.
        assert_error(response, 400, "INVALID_INPUT")
    else:
        assert_error(response, status, code)
    assert rows() == before
    assert not ScanEvent.objects.exists()


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_image_in_the_patient_slot_is_a_quick_json_4xx(nurse_client, rows, name):
    make, (status, code) = HOSTILE[name]
    data = make()
    before = rows()

    response = timed(lambda: nurse_client.post(CHECK, {"patient": as_json(data)}, format="json"))

    assert_error(response, 400 if not data else status, "INVALID_INPUT" if not data else code)
    assert rows() == before


@pytest.mark.parametrize("name", UNUSUAL)
@pytest.mark.parametrize("transport", ["base64", "multipart"])
def test_an_unusual_but_valid_image_decodes_its_barcode(decoder, rows, name, transport):
    data = UNUSUAL[name]()
    before = rows()

    if transport == "base64":
        response = timed(lambda: decoder.post(DECODE, as_json(data), format="json"))
    else:
        response = timed(lambda: decoder.post(DECODE, as_upload(data), format="multipart"))

    assert response.status_code == 200, response.json()
    symbols = response.json()["symbols"]
    assert {(s["kind"], s["text"]) for s in symbols} == {("wristband", AN_WRISTBAND)}
    # Whatever rode along (a ZIP, a script) is never echoed back.
    assert b"alert" not in response.content and b"<script" not in response.content
    assert rows() == before
    assert not ScanEvent.objects.exists()


@pytest.mark.parametrize("name", UNUSUAL)
def test_an_unusual_but_valid_wristband_image_identifies_the_patient(nurse_client, rows, name):
    before = rows()

    response = timed(
        lambda: nurse_client.post(CHECK, {"patient": as_json(UNUSUAL[name]())}, format="json")
    )

    assert response.status_code == 200, response.json()
    assert response.json()["patient"]["mrn"] == "BN2026000101"
    assert rows() == before
    assert ScanEvent.objects.get().purpose == "check"


def test_a_multipart_check_is_a_clear_400_not_a_500(nurse_client, rows):
    # The check takes a JSON body (scans nest inside it); a multipart upload names no patient.
    before = rows()

    response = nurse_client.post(CHECK, as_upload(encoded(band_page(), "PNG")), format="multipart")

    assert_error(response, 400, "INVALID_INPUT")
    assert "patient" in json.dumps(response.json()["error"]["details"])
    assert rows() == before
    assert not ScanEvent.objects.exists()


def test_an_image_in_a_medication_slot_is_refused_like_the_patients(nurse_client, rows):
    before = rows()

    response = nurse_client.post(
        CHECK,
        {"patient": as_json(encoded(band_page(), "PNG")), "medications": [as_json(b"GIF89a")]},
        format="json",
    )

    assert_error(response, 400, "IMAGE_UNREADABLE")
    assert rows() == before
