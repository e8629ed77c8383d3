import io
import json
import random
import struct
import subprocess
import sys
import time
import zlib
from datetime import date
from pathlib import Path

import pytest
import zxingcpp
from django.core.management import CommandError, call_command
from PIL import Image, ImageDraw, ImageFilter

import gs1
from gs1 import labels
from scanning import checks
from scanning.barcodes import DecodedSymbol, ImageRejected, decode_image, decode_pil, load_image
from scanning.barcodes import decode as decode_module

MAX_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 20_000_000

WRISTBAND = gs1.wristband_element_string(
    gs1.WristbandPayload(gsrn=gs1.make_gsrn("95201234567890123"), instance=2)
)
BADGE = gs1.badge_element_string(gs1.BadgePayload(gsrn=gs1.make_gsrn("95201234567890124")))
MEDICATION = gs1.medication_element_string(
    gs1.MedicationPayload(
        gtin=gs1.make_gtin("952012345678"), expiry=date(2027, 12, 31), lot="AB12", serial="S1"
    )
)
EAN13 = "8934567890120"

needs_zbar = pytest.mark.skipif(
    not decode_module.pyzbar_available(), reason="libzbar0 is not installed"
)


def decode(data: bytes) -> list[DecodedSymbol]:
    return decode_image(data, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)


def encoded(image: Image.Image, fmt: str = "PNG", **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def on_page(*images: Image.Image, size=(640, 480), gap=40, background=235) -> Image.Image:
    """Images pasted left to right, wrapping, on a light grey frame like a cart camera's."""
    page = Image.new("L", size, background)
    x, y, row_height = gap, gap, 0
    for image in images:
        if x + image.width > size[0]:
            x, y, row_height = gap, y + row_height + gap, 0
        page.paste(image, (x, y))
        x += image.width + gap
        row_height = max(row_height, image.height)
    return page


def zxing_symbol(content: str, barcode_format, module: int = 4, **options) -> Image.Image:
    barcode = zxingcpp.create_barcode(content, barcode_format, **options)
    raster = zxingcpp.write_barcode_to_image(barcode, scale=module)
    height, width = raster.shape[:2]
    return Image.frombytes("L", (width, height), memoryview(raster).tobytes())


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims ``width``×``height``, with a token IDAT behind it."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def damaged_gs1_128(seed: int) -> bytes:
    """GS1-128 smeared sideways, scratched across and saved as a quality-10 JPEG."""
    image = labels.gs1_128_image(MEDICATION, module=2, bar_height=80)
    image = image.filter(ImageFilter.Kernel((3, 3), [0, 0, 0, 1, 1, 1, 0, 0, 0], scale=3))
    draw = ImageDraw.Draw(image)
    rng = random.Random(seed)
    for _ in range(15):
        y = rng.randrange(image.height)
        draw.line(
            [(0, y), (image.width, y + rng.randint(-3, 3))], fill=255, width=rng.randint(1, 3)
        )
    return encoded(image, "JPEG", quality=10)


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("element_string", [WRISTBAND, BADGE, MEDICATION])
def test_gs1_datamatrix_round_trip(element_string):
    # given
    data = encoded(labels.gs1_datamatrix_image(element_string))

    # when
    symbols = decode(data)

    # then
    assert symbols == [
        DecodedSymbol("DataMatrix", element_string, "]d2", is_gs1=True, engine="zxing-cpp")
    ]


@pytest.mark.parametrize("element_string", [WRISTBAND, BADGE, MEDICATION])
def test_gs1_128_round_trip(element_string):
    symbols = decode(encoded(labels.gs1_128_image(element_string)))

    assert symbols == [
        DecodedSymbol("Code128", element_string, "]C1", is_gs1=True, engine="zxing-cpp")
    ]


def test_ean13_round_trip():
    symbols = decode(encoded(on_page(labels.ean13_image(EAN13, module=2))))

    assert symbols == [DecodedSymbol("EAN13", EAN13, "]E0", is_gs1=False, engine="zxing-cpp")]


@pytest.mark.parametrize(
    ("content", "barcode_format", "options", "expected"),
    [
        ("BV-000123", zxingcpp.BarcodeFormat.Code128, {}, ("Code128", "BV-000123", "]C0", False)),
        ("ward 7", zxingcpp.BarcodeFormat.QRCode, {}, ("QRCode", "ward 7", "]Q1", False)),
        (
            "[01]09520123456788[17]271231",
            zxingcpp.BarcodeFormat.QRCode,
            {"gs1": True},
            ("QRCode", "010952012345678817271231", "]Q3", True),
        ),
        (
            "[01]09520123456788[10]AB12[21]S1",
            zxingcpp.BarcodeFormat.DataBarExp,
            {"gs1": True},
            ("DataBarExpanded", "010952012345678810AB12\x1d21S1", "]e0", True),
        ),
        ("95201238", zxingcpp.BarcodeFormat.EAN8, {}, ("EAN8", "95201238", "]E4", False)),
    ],
)
def test_other_symbologies_report_format_and_gs1_flag(content, barcode_format, options, expected):
    image = on_page(zxing_symbol(content, barcode_format, module=2, **options))

    [symbol] = decode(encoded(image))

    assert (symbol.format, symbol.text, symbol.symbology_id, symbol.is_gs1) == expected


def test_several_codes_in_one_frame_are_all_returned():
    # given: the nurse holds the wristband and the drug in one camera frame
    frame = on_page(
        labels.gs1_datamatrix_image(WRISTBAND, module=6),
        labels.gs1_datamatrix_image(MEDICATION, module=6),
        labels.ean13_image(EAN13, module=2, bar_height=120),
        size=(800, 600),
    )

    # when
    symbols = decode(encoded(frame))

    # then
    assert {(s.format, s.text) for s in symbols} == {
        ("DataMatrix", WRISTBAND),
        ("DataMatrix", MEDICATION),
        ("EAN13", EAN13),
    }


def test_the_same_code_twice_is_reported_once():
    symbol = labels.gs1_datamatrix_image(MEDICATION, module=6)

    symbols = decode(encoded(on_page(symbol, symbol)))

    assert [(s.format, s.text) for s in symbols] == [("DataMatrix", MEDICATION)]


def test_rotated_frame_is_read():
    image = on_page(labels.gs1_128_image(WRISTBAND, module=2)).rotate(90, expand=True)

    assert [s.text for s in decode(encoded(image))] == [WRISTBAND]


def test_blank_frame_gives_no_symbols():
    assert decode(encoded(Image.new("L", (640, 480), 235))) == []


def test_as_dict():
    symbol = DecodedSymbol("DataMatrix", WRISTBAND, "]d2", is_gs1=True, engine="zxing-cpp")

    assert symbol.as_dict() == {
        "format": "DataMatrix",
        "text": WRISTBAND,
        "symbology_id": "]d2",
        "is_gs1": True,
        "engine": "zxing-cpp",
    }


# --------------------------------------------------------------------------- zbar fallback


@needs_zbar
@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (labels.gs1_128_image(MEDICATION, module=2), ("Code128", MEDICATION, "]C1", True)),
        (
            zxing_symbol("BV-000123", zxingcpp.BarcodeFormat.Code128, module=2),
            ("Code128", "BV-000123", "]C0", False),
        ),
        (labels.ean13_image(EAN13, module=2), ("EAN13", EAN13, "]E0", False)),
        (
            zxing_symbol("95201238", zxingcpp.BarcodeFormat.EAN8, module=2),
            ("EAN8", "95201238", "]E4", False),
        ),
    ],
)
def test_zbar_derives_symbology_id_and_gs1_flag(image, expected):
    [symbol] = decode_module.decode_with_zbar(on_page(image, size=(1000, 300)))

    assert (symbol.format, symbol.text, symbol.symbology_id, symbol.is_gs1) == expected
    assert symbol.engine == "pyzbar"


@needs_zbar
@pytest.mark.parametrize(
    "image",
    [
        pytest.param(labels.gs1_datamatrix_image(WRISTBAND), id="DataMatrix"),
        pytest.param(zxing_symbol("ward 7", zxingcpp.BarcodeFormat.QRCode), id="QR"),
        # zxing-cpp reads DataBar; zbar made GTINs out of random blocks (next test)
        pytest.param(
            zxing_symbol("09520123456788", zxingcpp.BarcodeFormat.DataBar, module=2),
            id="DataBar",
        ),
        # zbar misreads this one as 010952012345678810AB12<GS>2QS1 (no numeric latch after FNC1)
        pytest.param(
            zxing_symbol(
                "[01]09520123456788[10]AB12[21]S1",
                zxingcpp.BarcodeFormat.DataBarExp,
                module=2,
                gs1=True,
            ),
            id="DataBar Expanded",
        ),
    ],
)
def test_zbar_is_not_asked_about_codes_zxing_reads_better(image):
    assert decode_module.decode_with_zbar(on_page(image, size=(1000, 300))) == []


@needs_zbar
@pytest.mark.parametrize("seed", [5, 11])
def test_zbar_makes_no_databar_out_of_random_blocks(seed):
    # given: 1600×1200 of random 8 px black and white squares, where zbar's DataBar decoder
    # found GTINs (0150811170664931 and 0110731988578379)
    rng = random.Random(seed)
    cells = bytes(rng.choice((0, 255)) for _ in range(201 * 151))
    image = Image.frombytes("L", (201, 151), cells).resize((1608, 1208), Image.Resampling.NEAREST)

    # when
    symbols = decode_module.decode_with_zbar(image.crop((0, 0, 1600, 1200)))

    # then
    assert symbols == []


@needs_zbar
def test_decode_falls_back_to_zbar_when_zxing_finds_nothing():
    # given: a damaged GS1-128 that zxing-cpp misses and zbar reads
    image = load_image(damaged_gs1_128(seed=3), max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)
    assert decode_module.decode_with_zxing(image) == []

    # when
    symbols = decode_pil(image)

    # then
    assert symbols == [DecodedSymbol("Code128", MEDICATION, "]C1", is_gs1=True, engine="pyzbar")]


@needs_zbar
def test_retries_read_damaged_codes_that_a_single_zxing_pass_misses():
    # given
    images = [
        load_image(damaged_gs1_128(seed), max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)
        for seed in range(12)
    ]

    # when
    single_pass = sum(bool(decode_module.decode_with_zxing(image)) for image in images)
    decoded = [decode_pil(image) for image in images]

    # then
    assert single_pass < len(images)
    assert all([s.text for s in symbols] == [MEDICATION] for symbols in decoded)


@pytest.mark.parametrize("sigma", [1.6, 1.8])
def test_a_datamatrix_blurred_past_every_other_attempt_is_read_deblurred(sigma):
    # given: 3 px modules (a unit-dose label at half its print size), out of focus by σ ≈ 0.55 X
    image = labels.gs1_datamatrix_image(MEDICATION, module=3).filter(
        ImageFilter.GaussianBlur(sigma)
    )
    assert decode_module.decode_with_zxing(image) == []

    # when
    symbols, attempt = decode_module.decode_pil_traced(image, retry_budget=60)

    # then
    assert attempt == "zxing-cpp, deblurred"
    assert [(s.format, s.text, s.symbology_id, s.is_gs1) for s in symbols] == [
        ("DataMatrix", MEDICATION, "]d2", True)
    ]


def test_without_zbar_the_module_imports_and_decodes_with_zxing_alone(tmp_path):
    # given: pyzbar cannot be imported, as on a host without libzbar0
    image_path = tmp_path / "wristband.png"
    image_path.write_bytes(encoded(labels.gs1_datamatrix_image(WRISTBAND)))
    script = (
        "import sys; sys.modules['pyzbar'] = None\n"
        "from pathlib import Path\n"
        "from scanning.barcodes import decode_image, pyzbar_available\n"
        "from scanning.barcodes.decode import decode_with_zbar\n"
        "from PIL import Image\n"
        "symbols = decode_image(Path(sys.argv[1]).read_bytes(), max_bytes=10**7, max_pixels=10**7)\n"
        "print(pyzbar_available(), decode_with_zbar(Image.new('L', (40, 40))),"
        " [(s.text, s.engine) for s in symbols])\n"
    )

    # when
    result = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script, str(image_path)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        check=True,
        timeout=60,
    )

    # then
    assert result.stdout.strip() == f"False [] [({WRISTBAND!r}, 'zxing-cpp')]"


def test_system_check_warns_when_zbar_is_missing(monkeypatch):
    monkeypatch.setattr(checks, "pyzbar_available", lambda: False)

    [warning] = checks.zbar_installed_check(None)

    assert warning.id == "scanning.W001"
    assert "apt-get install --no-install-recommends libzbar0" in warning.hint


@needs_zbar
def test_system_check_is_silent_when_zbar_is_installed():
    assert checks.zbar_installed_check(None) == []


# --------------------------------------------------------------------------- rejected images


def rejected(data: bytes, **limits) -> ImageRejected:
    limits = {"max_bytes": MAX_BYTES, "max_pixels": MAX_PIXELS} | limits
    with pytest.raises(ImageRejected) as excinfo:
        load_image(data, **limits)
    assert excinfo.value.message
    return excinfo.value


def test_zero_bytes_are_empty():
    assert rejected(b"").code == "IMAGE_EMPTY"


def test_too_many_bytes_are_refused_before_opening():
    data = encoded(labels.gs1_datamatrix_image(WRISTBAND))

    assert rejected(data, max_bytes=len(data) - 1).code == "IMAGE_TOO_LARGE"


def test_a_header_claiming_30000_by_30000_is_refused_in_milliseconds():
    # given
    data = png_claiming(30_000, 30_000)

    # when
    started = time.perf_counter()
    error = rejected(data)
    elapsed = time.perf_counter() - started

    # then
    assert error.code == "IMAGE_TOO_MANY_PIXELS"
    assert elapsed < 0.05


def test_pixel_cap_is_ours_not_pillows():
    # 5000 × 5000 = 25 MP: far under Pillow's own bomb limit, over ours.
    assert rejected(png_claiming(5000, 5000)).code == "IMAGE_TOO_MANY_PIXELS"
    assert rejected(png_claiming(100, 100), max_pixels=9_999).code == "IMAGE_TOO_MANY_PIXELS"


def test_tiny_images_are_too_small():
    assert rejected(encoded(Image.new("L", (10, 10), 255))).code == "IMAGE_TOO_SMALL"
    assert rejected(encoded(Image.new("L", (400, 19), 255))).code == "IMAGE_TOO_SMALL"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(random.Random(0).randbytes(4096), id="random bytes"),
        pytest.param(
            encoded(on_page(labels.gs1_datamatrix_image(WRISTBAND)))[:300], id="truncated PNG"
        ),
        pytest.param(b"<svg xmlns='http://www.w3.org/2000/svg'/>", id="SVG"),
        pytest.param(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\n", id="EPS"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, id="PNG signature only"),
    ],
)
def test_unreadable_bytes(data):
    assert rejected(data).code == "IMAGE_UNREADABLE"


def test_image_rejected_is_a_plain_exception():
    assert ImageRejected.__mro__[1:] == (Exception, BaseException, object)


# --------------------------------------------------------------------------- awkward images


def test_animated_gif_uses_the_first_frame():
    # given
    first = on_page(labels.gs1_datamatrix_image(WRISTBAND, module=6))
    second = on_page(labels.gs1_datamatrix_image(MEDICATION, module=6))
    data = encoded(first, "GIF", save_all=True, append_images=[second], duration=100, loop=0)
    assert Image.open(io.BytesIO(data)).n_frames == 2

    # when
    symbols = decode(data)

    # then
    assert [s.text for s in symbols] == [WRISTBAND]


def test_cmyk_jpeg():
    data = encoded(on_page(labels.gs1_datamatrix_image(MEDICATION)).convert("CMYK"), "JPEG")
    assert Image.open(io.BytesIO(data)).mode == "CMYK"

    assert [s.text for s in decode(data)] == [MEDICATION]


def test_16_bit_png_is_stretched_not_clipped():
    # given: a 12-bit scan in a 16-bit container (white is 4095, not 65535)
    page = on_page(labels.gs1_datamatrix_image(MEDICATION))
    deep = page.point(lambda v: v * 4095 // 255, "I").convert("I;16")
    data = encoded(deep)
    assert Image.open(io.BytesIO(data)).mode.startswith("I;16")

    # when
    image = load_image(data, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)

    # then
    assert image.mode == "L"
    assert image.getextrema() == (0, 255)
    assert [s.text for s in decode_pil(image)] == [MEDICATION]


def test_transparency_is_flattened_onto_white():
    # given: black modules on fully transparent *black* pixels, as some label tools export
    symbol = on_page(labels.gs1_datamatrix_image(WRISTBAND), size=(320, 320), background=255)
    rgba = Image.new("RGBA", symbol.size, (0, 0, 0, 0))
    rgba.putalpha(symbol.point(lambda v: 255 - v))
    data = encoded(rgba)

    # when
    image = load_image(data, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)

    # then
    assert image.mode == "L"
    assert image.getpixel((0, 0)) == 255
    assert [s.text for s in decode_pil(image)] == [WRISTBAND]


def test_palette_png_with_transparency():
    page = on_page(labels.gs1_datamatrix_image(BADGE), size=(320, 320), background=255)
    page = page.convert("P")
    data = encoded(page, transparency=page.getpixel((0, 0)))

    image = load_image(data, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)

    assert image.mode == "L"
    assert image.getpixel((0, 0)) == 255
    assert [s.text for s in decode_pil(image)] == [BADGE]


@pytest.mark.parametrize(
    ("fmt", "params"),
    [("TIFF", {"compression": "tiff_lzw"}), ("BMP", {}), ("WEBP", {"lossless": True})],
)
def test_other_containers(fmt, params):
    data = encoded(on_page(labels.gs1_datamatrix_image(MEDICATION)).convert("RGB"), fmt, **params)

    assert [s.text for s in decode(data)] == [MEDICATION]


def test_bilevel_tiff():
    page = on_page(labels.gs1_datamatrix_image(WRISTBAND)).convert("1")
    data = encoded(page, "TIFF", compression="group4")

    assert [s.text for s in decode(data)] == [WRISTBAND]


# --------------------------------------------------------------------------- manage.py decode


def run_decode_command(*paths: Path) -> tuple[list[dict], str, CommandError | None]:
    out, err = io.StringIO(), io.StringIO()
    error = None
    try:
        call_command("decode", *map(str, paths), stdout=out, stderr=err)
    except CommandError as exc:
        error = exc
    return [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue(), error


def test_decode_command_prints_one_json_line_per_image(tmp_path):
    # given
    frame = tmp_path / "frame.png"
    frame.write_bytes(
        encoded(
            on_page(
                labels.gs1_datamatrix_image(WRISTBAND, module=6),
                labels.gs1_datamatrix_image(MEDICATION, module=6),
            )
        )
    )
    badge = tmp_path / "badge.png"
    badge.write_bytes(
        labels.badge_label(
            element_string=BADGE, full_name="Lê Thu Hà", role_title="Điều dưỡng", fmt="png"
        )
    )

    # when
    lines, _, error = run_decode_command(frame, badge)

    # then
    assert error is None
    assert [line["file"] for line in lines] == [str(frame), str(badge)]
    by_kind = {symbol["kind"]: symbol for symbol in lines[0]["symbols"]}
    assert by_kind["wristband"] == {
        "format": "DataMatrix",
        "text": WRISTBAND,
        "symbology_id": "]d2",
        "is_gs1": True,
        "engine": "zxing-cpp",
        "kind": "wristband",
        "gs1": {"8018": "952012345678901233", "8019": "2"},
        "payload": {"gsrn": "952012345678901233", "instance": 2},
        "error": None,
    }
    assert by_kind["medication"]["payload"] == {
        "gtin": "09520123456788",
        "expiry": "2027-12-31",
        "lot": "AB12",
        "serial": "S1",
    }
    assert {s["format"]: s["kind"] for s in lines[1]["symbols"]} == {
        "DataMatrix": "badge",
        "Code128": "badge",
    }


def test_decode_command_escapes_gs_in_json(tmp_path):
    frame = tmp_path / "frame.png"
    frame.write_bytes(encoded(labels.gs1_datamatrix_image(WRISTBAND)))
    out = io.StringIO()

    call_command("decode", str(frame), stdout=out)

    assert "\\u001d" in out.getvalue()
    assert "\x1d" not in out.getvalue()


def test_decode_command_reports_bad_files_and_fails_at_the_end(tmp_path):
    # given
    good = tmp_path / "good.png"
    good.write_bytes(encoded(labels.gs1_datamatrix_image(WRISTBAND)))
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_claiming(30_000, 30_000))
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    missing = tmp_path / "missing.png"

    # when
    lines, _, error = run_decode_command(bomb, good, empty, missing)

    # then
    assert isinstance(error, CommandError)
    assert "3 of 4" in str(error)
    assert [line["file"] for line in lines] == [str(bomb), str(good), str(empty), str(missing)]
    assert [line.get("error", {}).get("code") for line in lines] == [
        "IMAGE_TOO_MANY_PIXELS",
        None,
        "IMAGE_EMPTY",
        "FILE_UNREADABLE",
    ]
    assert all(line["error"]["message"] for line in lines if "error" in line)
    assert [s["kind"] for s in lines[1]["symbols"]] == ["wristband"]


def test_decode_command_warns_without_zbar(tmp_path, monkeypatch):
    from scanning.management.commands import decode as command_module

    monkeypatch.setattr(command_module, "pyzbar_available", lambda: False)
    frame = tmp_path / "frame.png"
    frame.write_bytes(encoded(labels.gs1_datamatrix_image(WRISTBAND)))

    lines, stderr, error = run_decode_command(frame)

    assert error is None
    assert "libzbar0" in stderr
    assert lines[0]["symbols"][0]["text"] == WRISTBAND


def test_decode_command_reads_no_more_than_the_byte_cap(tmp_path, settings):
    settings.BARCODE_MAX_IMAGE_BYTES = 1000
    big = tmp_path / "big.png"
    big.write_bytes(encoded(on_page(labels.gs1_datamatrix_image(WRISTBAND)), compress_level=0))

    lines, _, error = run_decode_command(big)

    assert error is not None
    assert lines[0]["error"]["code"] == "IMAGE_TOO_LARGE"


def test_retries_stop_when_the_budget_is_spent(monkeypatch):
    from PIL import Image

    from scanning.barcodes import decode as decode_module

    calls = []
    monkeypatch.setattr(
        decode_module, "decode_with_zxing", lambda image, **kw: calls.append("zxing") or []
    )
    monkeypatch.setattr(decode_module, "decode_with_zbar", lambda image: calls.append("zbar") or [])
    monkeypatch.setattr(
        decode_module.scanlines, "candidate_strips", lambda image: calls.append("strips") or []
    )
    blank = Image.new("L", (64, 64), 255)

    assert decode_module.decode_pil(blank, retry_budget=0) == []
    assert calls == ["zxing"]

    calls.clear()
    assert decode_module.decode_pil(blank) == []
    # plain, global binarizer, equalised, sharpened, rescaled and deblurred; then the linear
    # candidates
    assert calls == [
        *("zxing", "zbar", "zxing", "zxing", "zxing", "zbar", "zxing", "zbar", "zxing"),
        "strips",
    ]
