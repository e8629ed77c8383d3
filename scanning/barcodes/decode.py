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

import numpy as np
import zxingcpp
from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

from scanning.barcodes import scanlines, worker

__all__ = [
    "DECODE_DEADLINE_SECONDS",
    "DecodedSymbol",
    "ImageRejected",
    "decode_image",
    "decode_pil",
    "decode_pil_traced",
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
# The retries leave DataBar out: on sharpened or equalised texture (random 2 px blocks here) they
# made DataBar GTINs out of nothing, the same one on several copies.
RETRY_FORMATS = zxingcpp.BarcodeFormats(
    [_Z.DataMatrix, _Z.Code128, _Z.EAN13, _Z.EAN8, _Z.UPCA, _Z.QRCode]
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
    DECODE_TIMEOUT = "IMAGE_DECODE_TIMEOUT"

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
    return _loaded(_opened(data, max_bytes=max_bytes, max_pixels=max_pixels), max_pixels)


def _opened(data: bytes, *, max_bytes: int, max_pixels: int) -> Image.Image:
    """The image with only its header read, its size within the caps."""
    if not data:
        raise ImageRejected(ImageRejected.EMPTY, "The image is empty (0 bytes).")
    if len(data) > max_bytes:
        raise ImageRejected(
            ImageRejected.TOO_LARGE,
            f"The image is larger than the limit of {max_bytes} bytes.",
        )
    with _reading(max_pixels):
        image = Image.open(io.BytesIO(data), formats=ACCEPTED_IMAGE_FORMATS)
        _check_size(image.size, max_pixels)
        return image


def _loaded(image: Image.Image, max_pixels: int) -> Image.Image:
    with _reading(max_pixels):
        # The first frame of an animation is the one a camera page would have sent.
        image.load()
        _check_size(image.size, max_pixels)
        return _to_gray(image)


@contextmanager
def _reading(max_pixels: int) -> Iterator[None]:
    """Whatever Pillow raises on a malformed or oversized file, as an ``ImageRejected``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(
            ImageRejected.TOO_MANY_PIXELS,
            f"The image has too many pixels; the limit is {max_pixels}.",
        ) from exc
    except UnidentifiedImageError as exc:
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
    # One band: (min, max) as numbers, never the per-band pairs of a multi-band image.
    if not (isinstance(low, int | float) and isinstance(high, int | float)):
        raise TypeError(f"a mode F image has numeric extrema, not {low!r} and {high!r}")
    if high <= low:
        return Image.new("L", image.size, 255)
    scale = 255.0 / (high - low)
    return image.point(lambda v: (v - low) * scale).convert("L")


# --------------------------------------------------------------------------- decoding


# How long a large image may take, loading included; see scanning/barcodes/worker.py.
DECODE_DEADLINE_SECONDS = 1.5


def decode_image(
    data: bytes,
    *,
    max_bytes: int,
    max_pixels: int,
    deadline: float | None = DECODE_DEADLINE_SECONDS,
) -> list[DecodedSymbol]:
    """Every barcode in the image; ``ImageRejected`` if the bytes are not a usable image.

    An image of more than ``worker.IN_PROCESS_PIXELS`` is decoded in a helper process and
    refused (``DECODE_TIMEOUT``) if that takes more than ``deadline`` seconds; with ``deadline``
    None every image is decoded here, however long it takes.
    """
    image = _opened(data, max_bytes=max_bytes, max_pixels=max_pixels)
    if deadline is not None and image.width * image.height > worker.IN_PROCESS_PIXELS:
        return _decode_elsewhere(
            data, max_bytes=max_bytes, max_pixels=max_pixels, deadline=deadline
        )
    return decode_pil(_loaded(image, max_pixels))


def _decode_elsewhere(
    data: bytes, *, max_bytes: int, max_pixels: int, deadline: float
) -> list[DecodedSymbol]:
    try:
        answer = worker.decode_elsewhere(
            data, max_bytes=max_bytes, max_pixels=max_pixels, timeout=deadline
        )
    except worker.DeadlineExceeded as exc:
        raise ImageRejected(
            ImageRejected.DECODE_TIMEOUT,
            f"The image could not be decoded within {deadline:g} s. Send a smaller image, or "
            "one cropped to the label.",
        ) from exc
    except worker.WorkerFailed as exc:
        raise ImageRejected(
            ImageRejected.UNREADABLE, f"The image could not be decoded: {exc}."
        ) from exc
    if "rejected" in answer:
        raise ImageRejected(answer["rejected"]["code"], answer["rejected"]["message"])
    return [DecodedSymbol(**symbol) for symbol in answer["symbols"]]


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
    an equalised copy; a sharpened copy; a rescaled copy; a deblurred copy (2D codes only);
    each candidate linear code turned upright, then read scanline by scanline (``scanlines``).

    A copy made to rescue a damaged code can also make a code out of texture. An EAN or UPC
    (one mod-10 check digit) read on a copy counts only once a second attempt reads the same
    text, and DataBar is looked for on the image as sent only.
    """
    return decode_pil_traced(image, retry_budget=retry_budget)[0]


def decode_pil_traced(
    image: Image.Image, *, retry_budget: float = RETRY_BUDGET_SECONDS
) -> tuple[list[DecodedSymbol], str | None]:
    """``decode_pil``, and the name of the attempt that read the symbols (for bench.decode)."""
    started = time.monotonic()
    if image.mode != "L":
        image = _to_gray(image)
    unconfirmed: set[tuple[str, str]] = set()
    for index, attempt in enumerate(_attempts(image)):
        if index and time.monotonic() - started > retry_budget:
            break
        found = _unique(attempt.read())
        accepted = [
            symbol
            for symbol in found
            if attempt.alone
            or symbol.format not in _WEAK_FORMATS
            or (symbol.format, symbol.text) in unconfirmed
        ]
        if accepted:
            return accepted, attempt.name
        unconfirmed.update((symbol.format, symbol.text) for symbol in found)
    return [], None


# One mod-10 check digit: a random pattern passes one time in ten.
_WEAK_FORMATS = frozenset({"EAN13", "EAN8", "UPCA"})


@dataclass(frozen=True)
class _Attempt:
    name: str
    read: Callable[[], Iterable[DecodedSymbol]]
    # Its EAN/UPC reads count without a second attempt's: the image as sent, or a read that
    # carries its own agreement (the scanlines').
    alone: bool = False


def _attempts(image: Image.Image) -> Iterator[_Attempt]:
    # The derived images are made only if an attempt that needs them runs.
    @functools.cache
    def sharpened() -> Image.Image:
        return image.filter(ImageFilter.UnsharpMask(radius=2, percent=200, threshold=2))

    @functools.cache
    def rescaled() -> Image.Image:
        return _rescaled(image)

    @functools.cache
    def strips() -> list[scanlines.Strip]:
        return scanlines.candidate_strips(image)

    yield _Attempt("zxing-cpp", lambda: decode_with_zxing(image), alone=True)
    yield _Attempt("zbar", lambda: decode_with_zbar(image), alone=True)
    yield _Attempt(
        "zxing-cpp, global binarizer",
        lambda: decode_with_zxing(
            image, binarizer=zxingcpp.Binarizer.GlobalHistogram, formats=RETRY_FORMATS
        ),
    )
    # Glare: what is left of the symbol under it is near-white, and equalising spreads it out.
    yield _Attempt(
        "zxing-cpp, equalised",
        lambda: decode_with_zxing(ImageOps.equalize(image), formats=RETRY_FORMATS),
    )
    yield _Attempt(
        "zxing-cpp, sharpened", lambda: decode_with_zxing(sharpened(), formats=RETRY_FORMATS)
    )
    yield _Attempt("zbar, sharpened", lambda: decode_with_zbar(sharpened()))
    yield _Attempt(
        "zxing-cpp, rescaled", lambda: decode_with_zxing(rescaled(), formats=RETRY_FORMATS)
    )
    yield _Attempt("zbar, rescaled", lambda: decode_with_zbar(rescaled()))
    yield _Attempt(
        "zxing-cpp, deblurred", lambda: decode_with_zxing(_deblurred(image), formats=MATRIX_FORMATS)
    )
    for index in range(scanlines.MAX_CANDIDATES):
        yield _Attempt("upright strip, engines", functools.partial(_read_strip, strips, index))
        yield _Attempt(
            "upright strip, scanlines",
            functools.partial(_read_scanlines, strips, index),
            alone=True,
        )


def _read_strip(
    candidate_strips: Callable[[], list[scanlines.Strip]], index: int
) -> list[DecodedSymbol]:
    """A candidate linear code turned upright, read by the engines as an image."""
    strips = candidate_strips()
    if index >= len(strips):
        return []
    strip = strips[index].image
    return decode_with_zxing(strip, formats=RETRY_FORMATS) or decode_with_zbar(strip)


def _read_scanlines(
    candidate_strips: Callable[[], list[scanlines.Strip]], index: int
) -> list[DecodedSymbol]:
    strips = candidate_strips()
    if index >= len(strips):
        return []
    symbol = scanlines.read_profiles(strips[index].image, _read_bars)
    return [symbol] if symbol is not None else []


def _read_bars(bars: np.ndarray) -> list[DecodedSymbol]:
    barcodes = zxingcpp.read_barcodes(
        bars,
        formats=scanlines.LINEAR_FORMATS,
        text_mode=zxingcpp.TextMode.Plain,
        try_rotate=False,
        try_downscale=False,
        try_invert=False,
    )
    return [_from_zxing(barcode) for barcode in barcodes]


# Only the 2D codes are looked for on the deblurred copy: their Reed-Solomon check words do not
# let a ringing edge or texture pass for a code, as one mod-10 digit would.
MATRIX_FORMATS = zxingcpp.BarcodeFormats([_Z.DataMatrix, _Z.QRCode])
# A Gaussian blur of σ 1.5 px undone (Wiener, regularised): on fixtures/degraded/ it rescued
# every out-of-focus unit-dose DataMatrix of σ 1.4-1.9 px, whose modules are 3-4 px.
DEBLUR_SIGMA = 1.5
DEBLUR_REGULARISATION = 1e-2
# A larger frame is deblurred at this many pixels: the FFT grows with it, and a camera frame of
# a blurred code does not hold detail finer than that anyway.
DEBLUR_MAX_PIXELS = 1_000_000
_DEBLUR_PAD = 16


def _deblurred(image: Image.Image) -> Image.Image:
    """``image`` with a Gaussian blur of ``DEBLUR_SIGMA`` px undone (Wiener deconvolution)."""
    if image.width * image.height > DEBLUR_MAX_PIXELS:
        factor = (DEBLUR_MAX_PIXELS / (image.width * image.height)) ** 0.5
        image = image.resize(
            (max(1, round(image.width * factor)), max(1, round(image.height * factor))),
            Image.Resampling.BOX,
        )
    # Edge padding keeps the FFT's wrap-around from pulling opposite sides together.
    padded = np.pad(np.asarray(image, dtype=np.float64), _DEBLUR_PAD, mode="edge")
    fy = np.fft.fftfreq(padded.shape[0])[:, None]
    fx = np.fft.rfftfreq(padded.shape[1])[None, :]
    transfer = np.exp(-2 * (np.pi * DEBLUR_SIGMA) ** 2 * (fx**2 + fy**2))
    gain = transfer / (transfer**2 + DEBLUR_REGULARISATION)
    sharp = np.fft.irfft2(np.fft.rfft2(padded) * gain, s=padded.shape)
    inner = sharp[_DEBLUR_PAD:-_DEBLUR_PAD, _DEBLUR_PAD:-_DEBLUR_PAD]
    return Image.fromarray(np.clip(np.rint(inner), 0, 255).astype(np.uint8), mode="L")


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
    image: Image.Image,
    *,
    binarizer: zxingcpp.Binarizer = zxingcpp.Binarizer.LocalAverage,
    formats: zxingcpp.BarcodeFormats = ZXING_FORMATS,
) -> list[DecodedSymbol]:
    """One zxing-cpp pass over a grayscale image, limited to the formats we print and buy."""
    # Plain: the element string with GS separators, not the bracketed HRI of the default mode.
    barcodes = zxingcpp.read_barcodes(
        image, formats=formats, text_mode=zxingcpp.TextMode.Plain, binarizer=binarizer
    )
    return [_from_zxing(barcode) for barcode in barcodes]


def _from_zxing(barcode: zxingcpp.Barcode) -> DecodedSymbol:
    return DecodedSymbol(
        format=_ZXING_FORMAT_NAMES.get(barcode.format.name, barcode.format.name),
        text=barcode.text,
        symbology_id=barcode.symbology_identifier,
        is_gs1=barcode.content_type == zxingcpp.ContentType.GS1,
        engine="zxing-cpp",
    )


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
# DataBar is left to zxing-cpp. Expanded: zbar 0.23 does not latch to numeric after an FNC1
# (ISO/IEC 24724 tables 12-13) and misreads "(10)AB12(21)S1" as "10AB12<GS>2QS1", without error.
# Omnidirectional: zbar read two GTINs out of a frame of random 8 px blocks.
_ZBAR_LINEAR = {
    8: ("EAN8", "]E4", False),
    13: ("EAN13", "]E0", False),
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
        w.zbar_image_set_data(
            zimage, ctypes.cast(ctypes.c_char_p(pixels), ctypes.c_void_p), len(pixels), None
        )
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
