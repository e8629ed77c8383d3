"""Find and read the barcodes in a camera frame or an uploaded image.

Pure: no ORM and no settings. The byte and pixel caps are passed in by the caller.

zxing-cpp reads first (it reports the GS1 content type and the AIM symbology identifier);
zbar, through pyzbar, is the fallback for linear codes because it reads some blurred or damaged
1D images that zxing-cpp misses. pyzbar needs Debian's ``libzbar0``; without it this module still
imports and decodes with zxing-cpp alone (``manage.py check`` warns, see ``scanning.checks``).
"""

from __future__ import annotations

import ctypes
import functools
import io
import struct
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import zxingcpp
from PIL import Image, ImageFilter

__all__ = [
    "DecodedSymbol",
    "ImageRejected",
    "decode_image",
    "decode_pil",
    "decode_with_zbar",
    "decode_with_zxing",
    "load_image",
    "pyzbar_available",
]

MIN_SIDE = 20

# Anything else (EPS shells out to Ghostscript, for one) is refused before a decoder runs.
# Multi-picture JPEGs from phones (MPO) open through the JPEG plugin.
ACCEPTED_IMAGE_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP")

# What a malformed file can make a Pillow plugin raise while it reads the header or the pixels.
_PILLOW_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
)

_Z = zxingcpp.BarcodeFormat
# What we print (GS1 DataMatrix, GS1-128) and what we buy (EAN/UPC, DataBar, GS1 QR on some packs).
ZXING_FORMATS = zxingcpp.BarcodeFormats(
    [_Z.DataMatrix, _Z.Code128, _Z.EAN13, _Z.EAN8, _Z.UPCA, _Z.QRCode, _Z.DataBar]
)

# zxing-cpp's variant names, mapped to the names the rest of the project uses.
_ZXING_FORMAT_NAMES = {
    "DataBarOmni": "DataBar",
    "DataBarStk": "DataBar",
    "DataBarStkOmni": "DataBar",
    "DataBarExp": "DataBarExpanded",
    "DataBarExpStk": "DataBarExpanded",
    "DataBarLtd": "DataBarLimited",
    "QRCodeModel1": "QRCode",
    "QRCodeModel2": "QRCode",
}


class ImageRejected(Exception):
    """The bytes are not an image we are willing to decode. ``code`` is stable, ``message`` is for people."""

    EMPTY = "IMAGE_EMPTY"
    TOO_LARGE = "IMAGE_TOO_LARGE"
    TOO_MANY_PIXELS = "IMAGE_TOO_MANY_PIXELS"
    TOO_SMALL = "IMAGE_TOO_SMALL"
    UNREADABLE = "IMAGE_UNREADABLE"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"ImageRejected({self.code!r}, {self.message!r})"


@dataclass(frozen=True)
class DecodedSymbol:
    format: str
    text: str
    symbology_id: str
    is_gs1: bool
    engine: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------- loading


def load_image(data: bytes, *, max_bytes: int, max_pixels: int) -> Image.Image:
    """Open ``data`` as an 8-bit grayscale (``"L"``) image, refusing anything too big or broken.

    The pixel count is checked from the header, before a single pixel is decompressed; Pillow's
    global bomb limit plays no part. Its bomb *warning* (from 89 MP) is also turned into a
    refusal, so a ``max_pixels`` above that level is in effect capped there.
    """
    if not data:
        raise ImageRejected(ImageRejected.EMPTY, "The image is empty (0 bytes).")
    if len(data) > max_bytes:
        raise ImageRejected(
            ImageRejected.TOO_LARGE,
            f"The image is larger than the limit of {max_bytes} bytes.",
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=ACCEPTED_IMAGE_FORMATS)
            _check_size(image.size, max_pixels)
            # The first frame of an animation is the one a camera page would have sent.
            image.load()
            _check_size(image.size, max_pixels)
            return _to_gray(image)
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(
            ImageRejected.TOO_MANY_PIXELS,
            f"The image has too many pixels; the limit is {max_pixels}.",
        ) from exc
    except Image.UnidentifiedImageError as exc:
        raise ImageRejected(
            ImageRejected.UNREADABLE,
            "The file is not an image in a supported format (PNG, JPEG, GIF, BMP, TIFF, WebP).",
        ) from exc
    except (*_PILLOW_ERRORS, MemoryError) as exc:
        raise ImageRejected(
            ImageRejected.UNREADABLE, f"The image could not be read: {exc}"
        ) from exc


def _check_size(size: tuple[int, int], max_pixels: int) -> None:
    width, height = size
    if width * height > max_pixels:
        raise ImageRejected(
            ImageRejected.TOO_MANY_PIXELS,
            f"The image is {width}×{height} = {width * height} pixels; the limit is {max_pixels}.",
        )
    if width < MIN_SIDE or height < MIN_SIDE:
        raise ImageRejected(
            ImageRejected.TOO_SMALL,
            f"The image is {width}×{height} pixels; each side must be at least {MIN_SIDE}.",
        )


def _to_gray(image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode == "L":
        return image
    if mode.startswith("I") or mode == "F":
        return _stretch_to_8bit(image)
    if mode in {"P", "PA", "LA", "La", "RGBA", "RGBa"} or "transparency" in image.info:
        # Transparent pixels often hold black: without flattening, a logo on a transparent
        # background turns into a black square.
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("L")
    if mode in {"1", "RGB"}:
        return image.convert("L")
    return image.convert("RGB").convert("L")


def _stretch_to_8bit(image: Image.Image) -> Image.Image:
    # 16-bit and float images (12-bit scanner output, TIFF) are stretched to their own range, not
    # clipped at 255.
    image = image.convert("F")
    low, high = image.getextrema()
    if high <= low:
        return Image.new("L", image.size, 255)
    scale = 255.0 / (high - low)
    return image.point(lambda v: (v - low) * scale).convert("L")


# --------------------------------------------------------------------------- decoding


def decode_image(data: bytes, *, max_bytes: int, max_pixels: int) -> list[DecodedSymbol]:
    """Every barcode in the image; ``ImageRejected`` if the bytes are not a usable image."""
    return decode_pil(load_image(data, max_bytes=max_bytes, max_pixels=max_pixels))


# Retries stop once this much time has gone: a frame nothing can be read from (noise, a
# checkerboard at the pixel limit) must not hold a worker for seconds. A real frame is read by
# the first attempt in milliseconds; the retries exist for damaged codes in camera frames.
RETRY_BUDGET_SECONDS = 1.0


def decode_pil(
    image: Image.Image, *, retry_budget: float = RETRY_BUDGET_SECONDS
) -> list[DecodedSymbol]:
    """Every barcode in an already loaded image, cheapest reader first.

    Each attempt runs only when the ones before it found nothing and `retry_budget` seconds
    have not yet gone: zxing-cpp; zbar on the linear codes; zxing-cpp with a global binarizer;
    a sharpened copy; a rescaled copy.
    """
    started = time.monotonic()
    if image.mode != "L":
        image = _to_gray(image)
    for index, attempt in enumerate(_attempts(image)):
        if index and time.monotonic() - started > retry_budget:
            break
        found = _unique(attempt())
        if found:
            return found
    return []


def _attempts(image: Image.Image) -> Iterator[Callable[[], Iterable[DecodedSymbol]]]:
    # The derived images are made only if an attempt that needs them runs.
    sharpened = functools.cache(
        lambda: image.filter(ImageFilter.UnsharpMask(radius=2, percent=200, threshold=2))
    )
    rescaled = functools.cache(lambda: _rescaled(image))
    yield lambda: decode_with_zxing(image)
    yield lambda: decode_with_zbar(image)
    yield lambda: decode_with_zxing(image, binarizer=zxingcpp.Binarizer.GlobalHistogram)
    yield lambda: decode_with_zxing(sharpened())
    yield lambda: decode_with_zbar(sharpened())
    yield lambda: decode_with_zxing(rescaled())
    yield lambda: decode_with_zbar(rescaled())


def _rescaled(image: Image.Image) -> Image.Image:
    width, height = image.size
    # Small frames: thin bars gain pixels. Large ones: noise and blur shrink below a module.
    if max(width, height) <= 1600:
        return image.resize((width * 2, height * 2), Image.Resampling.BICUBIC)
    return image.reduce(2)


def _unique(symbols: Iterable[DecodedSymbol]) -> list[DecodedSymbol]:
    seen: set[tuple[str, str]] = set()
    unique = []
    for symbol in symbols:
        key = (symbol.format, symbol.text)
        if key not in seen:
            seen.add(key)
            unique.append(symbol)
    return unique


def decode_with_zxing(
    image: Image.Image, *, binarizer: zxingcpp.Binarizer = zxingcpp.Binarizer.LocalAverage
) -> list[DecodedSymbol]:
    """One zxing-cpp pass over a grayscale image, limited to the formats we print and buy."""
    # Plain: the element string with GS separators, not the bracketed HRI of the default mode.
    barcodes = zxingcpp.read_barcodes(
        image, formats=ZXING_FORMATS, text_mode=zxingcpp.TextMode.Plain, binarizer=binarizer
    )
    return [
        DecodedSymbol(
            format=_ZXING_FORMAT_NAMES.get(barcode.format.name, barcode.format.name),
            text=barcode.text,
            symbology_id=barcode.symbology_identifier,
            is_gs1=barcode.content_type == zxingcpp.ContentType.GS1,
            engine="zxing-cpp",
        )
        for barcode in barcodes
    ]


# --------------------------------------------------------------------------- zbar


@dataclass(frozen=True)
class _Zbar:
    wrapper: Any
    get_modifiers: Callable[[Any], int]


@functools.cache
def _load_zbar() -> _Zbar | None:
    try:
        # pyzbar binds libzbar when imported: ImportError without libzbar0, OSError if it is broken.
        from pyzbar import wrapper
    except (ImportError, OSError):
        return None
    # pyzbar 0.1.9 does not expose the modifiers, and zbar strips the leading FNC1 from the data,
    # so the GS1 flag is the only way to tell GS1-128 from plain Code 128.
    get_modifiers = wrapper.zbar_function(
        "zbar_symbol_get_modifiers", ctypes.c_uint, ctypes.POINTER(wrapper.zbar_symbol)
    )
    return _Zbar(wrapper=wrapper, get_modifiers=get_modifiers)


def pyzbar_available() -> bool:
    """Whether the zbar fallback can run (pyzbar importable and Debian's libzbar0 installed)."""
    return _load_zbar() is not None


_ZBAR_MOD_GS1 = 1 << 0
_ZBAR_FOURCC_Y800 = 0x30303859  # "Y800": 8-bit grayscale, one byte per pixel
_ZBAR_CFG_ENABLE = 0
_ZBAR_ALL_SYMBOLOGIES = 0  # ZBAR_NONE: a config set on it applies to every symbology

# zbar symbol type → (format, symbology identifier, GS1 regardless of modifiers). Like zxing-cpp,
# zbar reports a UPC-A as the EAN-13 with a leading zero unless UPC-A is enabled on its own.
# DataBar Expanded is left to zxing-cpp: zbar 0.23 does not latch to numeric after an FNC1
# (ISO/IEC 24724 tables 12-13) and misreads "(10)AB12(21)S1" as "10AB12<GS>2QS1", without error.
_ZBAR_LINEAR = {
    8: ("EAN8", "]E4", False),
    13: ("EAN13", "]E0", False),
    34: ("DataBar", "]e0", True),
    128: ("Code128", "]C0", False),
}


def decode_with_zbar(image: Image.Image) -> list[DecodedSymbol]:
    """One zbar pass over the linear codes; empty when libzbar0 is not installed."""
    zbar = _load_zbar()
    if zbar is None:
        return []
    if image.mode != "L":
        image = _to_gray(image)
    w = zbar.wrapper
    pixels = image.tobytes()
    width, height = image.size
    symbols = []
    with _zbar_scanner(w) as scanner, _zbar_image(w) as zimage:
        w.zbar_image_scanner_set_config(scanner, _ZBAR_ALL_SYMBOLOGIES, _ZBAR_CFG_ENABLE, 0)
        for symbol_type in _ZBAR_LINEAR:
            w.zbar_image_scanner_set_config(scanner, symbol_type, _ZBAR_CFG_ENABLE, 1)
        w.zbar_image_set_format(zimage, _ZBAR_FOURCC_Y800)
        w.zbar_image_set_size(zimage, width, height)
        w.zbar_image_set_data(zimage, ctypes.cast(pixels, ctypes.c_void_p), len(pixels), None)
        if w.zbar_scan_image(scanner, zimage) <= 0:
            return []
        symbol = w.zbar_image_first_symbol(zimage)
        while symbol:
            known = _ZBAR_LINEAR.get(symbol.contents.type)
            if known is not None:
                data = ctypes.string_at(
                    w.zbar_symbol_get_data(symbol), w.zbar_symbol_get_data_length(symbol)
                )
                symbols.append(_from_zbar(known, data, zbar.get_modifiers(symbol)))
            symbol = w.zbar_symbol_next(symbol)
    return symbols


def _from_zbar(known: tuple[str, str, bool], data: bytes, modifiers: int) -> DecodedSymbol:
    format_, symbology_id, is_gs1 = known
    if format_ == "Code128" and modifiers & _ZBAR_MOD_GS1:
        symbology_id, is_gs1 = "]C1", True
    return DecodedSymbol(
        format=format_,
        text=data.decode("utf-8", errors="replace"),
        symbology_id=symbology_id,
        is_gs1=is_gs1,
        engine="pyzbar",
    )


@contextmanager
def _zbar_scanner(w: Any) -> Iterator[Any]:
    scanner = w.zbar_image_scanner_create()
    if not scanner:
        raise MemoryError("zbar could not create an image scanner")
    try:
        yield scanner
    finally:
        w.zbar_image_scanner_destroy(scanner)


@contextmanager
def _zbar_image(w: Any) -> Iterator[Any]:
    zimage = w.zbar_image_create()
    if not zimage:
        raise MemoryError("zbar could not create an image")
    try:
        yield zimage
    finally:
        w.zbar_image_destroy(zimage)
