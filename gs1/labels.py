"""Printable barcode labels: patient wristband, staff badge, pharmacy unit-dose label.

Pure rendering: plain values in, PNG (300 dpi) or SVG bytes out; no ORM, no settings. The
symbols are drawn by zxing-cpp (zint inside): GS1-128 and GS1 DataMatrix start with FNC1, so a
reader reports them as GS1 with symbology id ]C1 / ]d2. Every symbol is checked after it is
built: the data zint encoded must be exactly the element string we were asked to print.

Layouts are in printer dots at 300 dpi; the SVG uses the same dots as user units and millimetres
as its size, with zint's vector paths for the bars and ``<text>`` for the words.
"""

from __future__ import annotations

import functools
import io
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import zxingcpp
from PIL import Image, ImageDraw, ImageFont

import gs1

__all__ = [
    "HRI_MIN_SIZE",
    "badge_label",
    "ean13_image",
    "gs1_128_image",
    "gs1_datamatrix_image",
    "label_hri",
    "unit_dose_label",
    "wristband_label",
]

DPI = 300
FORMATS = ("png", "svg")

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_REGULAR = FONT_DIR / "DejaVuSans.ttf"
FONT_BOLD = FONT_DIR / "DejaVuSans-Bold.ttf"
SVG_FONT_FAMILY = "DejaVu Sans, Verdana, Arial, sans-serif"

# Captions printed on the labels (the hospital reads Vietnamese; the values speak for themselves).
DOB_CAPTION = "Ngày sinh"
MRN_CAPTION = "Mã BN"
SEX_CAPTION = "Giới"
LOT_CAPTION = "Lô"
EXPIRY_CAPTION = "HSD"

# The human-readable GS1 text under or beside every printed code, for the nurse who must type it
# when the code will not scan: never below 2 mm, about 6 pt, and never cut short.
HRI_SIZE = round(2.6 * DPI / 25.4)
HRI_MIN_SIZE = round(2.0 * DPI / 25.4)

_SVG_PATH_RE = re.compile(r'<path d="([^"]+)"')
_CONTROL_CHARS_RE = re.compile(r"[\x00-\x1f\x7f]")


def mm(value: float) -> int:
    """Millimetres to printer dots at 300 dpi."""
    return round(value * DPI / 25.4)


# --------------------------------------------------------------------------- symbols


@dataclass(frozen=True)
class Symbol:
    """A barcode in module units, quiet zones included: a raster copy and zint's vector paths."""

    modules: Image.Image
    svg_paths: tuple[str, ...]
    is_linear: bool

    @property
    def width(self) -> int:
        return self.modules.width

    @property
    def height(self) -> int:
        return self.modules.height


def _symbol(barcode: zxingcpp.Barcode, *, is_linear: bool) -> Symbol:
    raster = zxingcpp.write_barcode_to_image(barcode, scale=1)
    height, width = raster.shape[:2]
    modules = Image.frombytes("L", (width, height), memoryview(raster).tobytes())
    paths = tuple(_SVG_PATH_RE.findall(zxingcpp.write_barcode_to_svg(barcode, scale=1)))
    if not paths:
        raise RuntimeError("zxing-cpp returned an SVG without paths")
    return Symbol(modules=modules, svg_paths=paths, is_linear=is_linear)


def _scan(element_string: str, kind: str | None = None) -> gs1.ParsedScan:
    """The element string read back as one of our payloads (as ``kind`` when given).

    A label is never printed with a wrong check digit, or with a medication code on a wristband.
    """
    scan = gs1.parse_scan(element_string, symbology_id="]d2")
    if scan.kind == "unknown":
        raise ValueError(f"not a GS1 element string we print: {element_string!r}: {scan.error}")
    if kind is not None and scan.kind != kind:
        raise ValueError(f"a {kind} label cannot carry a {scan.kind} code: {element_string!r}")
    return scan


def gs1_barcode(
    element_string: str, barcode_format: zxingcpp.BarcodeFormat, *, kind: str | None = None
) -> Symbol:
    """A GS1 symbol (FNC1 first) that encodes exactly ``element_string``."""
    scan = _scan(element_string, kind)
    # zint reads AIs in square brackets (which cannot occur in GS1 data) and inserts FNC1 itself;
    # round brackets would be misread when a lot number contains one.
    bracketed = "".join(f"[{ai}]{value}" for ai, value in scan.element_strings.items())
    options = {"gs1": True}
    if barcode_format == zxingcpp.BarcodeFormat.DataMatrix:
        # Square sizes only: the rectangular DMRE sizes are too new for some ward scanners.
        options["forceSquare"] = True
    try:
        barcode = zxingcpp.create_barcode(bracketed, barcode_format, **options)
    except ValueError as exc:
        raise ValueError(f"cannot encode {element_string!r}: {exc}") from exc
    if barcode.bytes != element_string.encode("ascii"):
        raise ValueError(
            f"the symbol would carry {barcode.bytes!r}, not the element string {element_string!r}"
        )
    return _symbol(barcode, is_linear=barcode_format != zxingcpp.BarcodeFormat.DataMatrix)


def _ean13_barcode(gtin13: str) -> Symbol:
    if len(gtin13) != 13 or not (gtin13.isascii() and gtin13.isdigit()):
        raise ValueError(f"an EAN-13 needs 13 digits: {gtin13!r}")
    if not gs1.is_valid_gtin(gtin13):
        raise ValueError(f"wrong check digit in GTIN-13 {gtin13!r}")
    return _symbol(zxingcpp.create_barcode(gtin13, zxingcpp.BarcodeFormat.EAN13), is_linear=True)


# --------------------------------------------------------------------------- fonts and text


@functools.cache
def label_font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Sans (it has every Vietnamese letter); Pillow's own font if DejaVu is missing."""
    for path in (FONT_BOLD, FONT_REGULAR) if bold else (FONT_REGULAR,):
        if path.exists():
            return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


def _text_width(text: str, size: int, bold: bool = False) -> float:
    return label_font(size, bold).getlength(text)


def _clean(text: str) -> str:
    return " ".join(_CONTROL_CHARS_RE.sub(" ", text).split())


def _wrap(words: list[str], size: int, bold: bool, max_width: int) -> list[str]:
    lines: list[str] = []
    for word in words:
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and _text_width(candidate, size, bold) <= max_width:
            lines[-1] = candidate
        else:
            lines.append(word)
    return lines


def _fit(
    text: str, *, size: int, min_size: int, max_width: int, max_lines: int = 1, bold: bool = False
) -> tuple[list[str], int]:
    """Lines and font size for ``text``: wrapped on words, shrunk down to ``min_size``.

    Only when even that fails is the last line cut with an ellipsis, so that a label never prints
    text outside its area.
    """
    words = _clean(text).split(" ")
    for candidate in range(size, min_size - 1, -1):
        lines = _wrap(words, candidate, bold, max_width)
        if len(lines) <= max_lines and all(
            _text_width(line, candidate, bold) <= max_width for line in lines
        ):
            return lines, candidate
    lines = _wrap(words, min_size, bold, max_width)[:max_lines]
    last = lines[-1]
    while last and _text_width(last + "…", min_size, bold) > max_width:
        last = last[:-1]
    lines[-1] = last.rstrip() + "…"
    return lines, min_size


# --------------------------------------------------------------------------- canvas


@dataclass(frozen=True)
class _PlacedSymbol:
    symbol: Symbol
    x: int
    y: int
    module: int
    height: int


@dataclass(frozen=True)
class _PlacedText:
    text: str
    x: int
    y: int  # baseline
    size: int
    bold: bool
    centred: bool


class _Canvas:
    """Drawing operations in 300-dpi dots, rendered either to a raster or to SVG."""

    def __init__(self, width: int, height: int, *, size_mm: tuple[float, float] | None = None):
        self.width = width
        self.height = height
        self.size_mm = size_mm or (width * 25.4 / DPI, height * 25.4 / DPI)
        self.items: list[_PlacedSymbol | _PlacedText] = []

    def symbol(self, symbol: Symbol, x: int, y: int, *, module: int, height: int = 0) -> None:
        """Place ``symbol`` with its top-left corner at (x, y); ``height`` stretches a linear one."""
        drawn_height = height if symbol.is_linear and height else symbol.height * module
        self.items.append(_PlacedSymbol(symbol, x, y, module, drawn_height))

    def text(
        self,
        text: str,
        x: int,
        baseline: int,
        *,
        size: int,
        bold: bool = False,
        centred: bool = False,
    ) -> None:
        self.items.append(_PlacedText(_clean(text), x, baseline, size, bold, centred))

    def image(self) -> Image.Image:
        image = Image.new("L", (self.width, self.height), 255)
        draw = ImageDraw.Draw(image)
        for item in self.items:
            if isinstance(item, _PlacedSymbol):
                bars = item.symbol.modules.resize(
                    (item.symbol.width * item.module, item.height), Image.Resampling.NEAREST
                )
                image.paste(bars, (item.x, item.y))
            else:
                draw.text(
                    (item.x, item.y),
                    item.text,
                    fill=0,
                    font=label_font(item.size, item.bold),
                    anchor="ms" if item.centred else "ls",
                )
        image.info["dpi"] = (DPI, DPI)
        return image

    def png(self) -> bytes:
        buffer = io.BytesIO()
        self.image().save(buffer, format="PNG", dpi=(DPI, DPI), optimize=True)
        return buffer.getvalue()

    def svg(self) -> bytes:
        width_mm, height_mm = self.size_mm
        parts = [
            '<?xml version="1.0" encoding="UTF-8"?>',
            '<svg xmlns="http://www.w3.org/2000/svg" version="1.1" '
            f'width="{width_mm:g}mm" height="{height_mm:g}mm" '
            f'viewBox="0 0 {self.width} {self.height}">',
            f'<rect x="0" y="0" width="{self.width}" height="{self.height}" fill="#ffffff"/>',
        ]
        for item in self.items:
            if isinstance(item, _PlacedSymbol):
                scale_y = item.height / item.symbol.height
                parts.append(
                    f'<g transform="translate({item.x} {item.y}) scale({item.module} {scale_y:g})" '
                    'fill="#000000" shape-rendering="crispEdges">'
                )
                parts.extend(f'<path d="{path}"/>' for path in item.symbol.svg_paths)
                parts.append("</g>")
            else:
                attributes = {
                    "x": str(item.x),
                    "y": str(item.y),
                    "font-family": SVG_FONT_FAMILY,
                    "font-size": str(item.size),
                    "fill": "#000000",
                }
                if item.bold:
                    attributes["font-weight"] = "bold"
                if item.centred:
                    attributes["text-anchor"] = "middle"
                rendered = " ".join(
                    f"{name}={quoteattr(value)}" for name, value in attributes.items()
                )
                parts.append(f"<text {rendered}>{escape(item.text)}</text>")
        parts.append("</svg>")
        return ("\n".join(parts) + "\n").encode("utf-8")

    def render(self, fmt: str) -> bytes:
        if fmt == "png":
            return self.png()
        if fmt == "svg":
            return self.svg()
        raise ValueError(f"label format must be one of {FORMATS}, not {fmt!r}")


def label_hri(element_string: str) -> str:
    """The GS1 text as printed on our labels: "(01)09520003000018 (17)261130 (10)UD-PCM-01 …"."""
    return gs1.to_hri(element_string, separator=" ")


def _fit_hri(hri: str, *, max_width: int, max_lines: int = 1) -> tuple[list[str], int]:
    """Lines (broken between elements only) and size for a label's HRI. A code that cannot be
    printed whole and legible is an error, never an ellipsis: a nurse would type a wrong code."""
    elements = hri.split(" ")
    # Fewest lines first (the code keeps its room), then the largest size that fits them.
    for line_count in range(1, max_lines + 1):
        for size in range(HRI_SIZE, HRI_MIN_SIZE - 1, -1):
            lines = _wrap(elements, size, False, max_width)
            fits = all(_text_width(line, size) <= max_width for line in lines)
            if len(lines) <= line_count and fits:
                return lines, size
    raise ValueError(f"the text {hri!r} does not fit on the label at a legible size")


def _linear_with_hri(
    canvas: _Canvas,
    symbol: Symbol,
    hri: str,
    x: int,
    y: int,
    *,
    module: int,
    bar_height: int,
    text_width: int | None = None,
) -> None:
    """The bars, and the HRI centred under them, as wide as `text_width` (default: the bars)."""
    canvas.symbol(symbol, x, y, module=module, height=bar_height)
    width = symbol.width * module
    lines, size = _fit_hri(hri, max_width=text_width or width)
    canvas.text(lines[0], x + width // 2, y + bar_height + size, size=size, centred=True)


def day_month_year(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def hri_height(module: int) -> int:
    return mm(2.6) + mm(0.8) + module


# --------------------------------------------------------------------------- single symbols


def gs1_128_image(element_string: str, *, module: int = 4, bar_height: int = mm(13)) -> Image.Image:
    """GS1-128 with quiet zones and its HRI underneath, 300 dpi, grayscale."""
    symbol = gs1_barcode(element_string, zxingcpp.BarcodeFormat.Code128)
    canvas = _Canvas(symbol.width * module, bar_height + hri_height(module))
    _linear_with_hri(
        canvas, symbol, label_hri(element_string), 0, 0, module=module, bar_height=bar_height
    )
    return canvas.image()


def gs1_datamatrix_image(element_string: str, *, module: int = 10) -> Image.Image:
    """Square GS1 DataMatrix with a quiet zone, 300 dpi, grayscale."""
    symbol = gs1_barcode(element_string, zxingcpp.BarcodeFormat.DataMatrix)
    quiet = 2 * module
    canvas = _Canvas(symbol.width * module + 2 * quiet, symbol.height * module + 2 * quiet)
    canvas.symbol(symbol, quiet, quiet, module=module)
    return canvas.image()


def ean13_image(gtin13: str, *, module: int = 4, bar_height: int = mm(22.85)) -> Image.Image:
    """EAN-13 (e.g. a Vietnamese 893… pack) with its digits underneath, 300 dpi, grayscale."""
    symbol = _ean13_barcode(gtin13)
    canvas = _Canvas(symbol.width * module, bar_height + hri_height(module))
    _linear_with_hri(canvas, symbol, gtin13, 0, 0, module=module, bar_height=bar_height)
    return canvas.image()


# --------------------------------------------------------------------------- labels


def module_for(symbol: Symbol, space: int, largest: int) -> int:
    module = min(largest, space // symbol.width, space // symbol.height)
    if module < 2:
        raise ValueError("the symbol does not fit on the label at a printable size")
    return module


def wristband_label(
    *,
    element_string: str,
    full_name: str,
    date_of_birth: date,
    mrn: str,
    sex: str,
    fmt: str,
) -> bytes:
    """Patient band, 250 × 25 mm: name, date of birth, sex and MRN; GS1-128 and GS1 DataMatrix.

    ``element_string`` is the wristband's (8018)(8019) element string with GS separators.
    """
    canvas = _Canvas(mm(250), mm(25), size_mm=(250, 25))
    margin = mm(2)
    inner = canvas.height - 2 * margin
    x = mm(8)  # clear of the clasp end of the band

    text_width = mm(75)
    name_lines, name_size = _fit(
        full_name, size=mm(5), min_size=mm(2.5), max_width=text_width, max_lines=2, bold=True
    )
    detail_size = mm(3.2)
    baseline = margin + name_size
    for line in name_lines:
        canvas.text(line, x, baseline, size=name_size, bold=True)
        baseline += round(name_size * 1.2)
    details = [
        f"{DOB_CAPTION}: {day_month_year(date_of_birth)} · {SEX_CAPTION}: {sex}",
        f"{MRN_CAPTION}: {mrn}",
    ]
    # The details sit on the bottom edge whatever the length of the name above them.
    step = round(detail_size * 1.3)
    baseline = canvas.height - margin - round(detail_size * 0.25) - step * (len(details) - 1)
    for detail in details:
        lines, size = _fit(detail, size=detail_size, min_size=mm(2), max_width=text_width)
        canvas.text(lines[0], x, baseline, size=size)
        baseline += step
    x += text_width + mm(6)

    linear = gs1_barcode(element_string, zxingcpp.BarcodeFormat.Code128, kind="wristband")
    linear_module = 4
    _linear_with_hri(
        canvas,
        linear,
        label_hri(element_string),
        x,
        margin,
        module=linear_module,
        bar_height=inner - hri_height(linear_module),
        # the HRI may reach into the gaps either side of the bars
        text_width=linear.width * linear_module + 2 * mm(5),
    )
    x += linear.width * linear_module + mm(6)

    matrix = gs1_barcode(element_string, zxingcpp.BarcodeFormat.DataMatrix, kind="wristband")
    matrix_module = module_for(matrix, inner, largest=10)
    matrix_size = matrix.height * matrix_module
    canvas.symbol(matrix, x, margin + (inner - matrix_size) // 2, module=matrix_module)
    return canvas.render(fmt)


def badge_label(*, element_string: str, full_name: str, role_title: str, fmt: str) -> bytes:
    """Staff badge, ID-1 card (85.6 × 54 mm): name and role, GS1 DataMatrix, GS1-128 (8017)."""
    canvas = _Canvas(mm(85.6), mm(54), size_mm=(85.6, 54))
    margin = mm(3)

    matrix = gs1_barcode(element_string, zxingcpp.BarcodeFormat.DataMatrix, kind="badge")
    matrix_space = mm(22)
    matrix_module = module_for(matrix, matrix_space, largest=12)
    matrix_size = matrix.width * matrix_module
    canvas.symbol(matrix, canvas.width - margin - matrix_size, margin, module=matrix_module)

    text_width = canvas.width - 2 * margin - matrix_size - mm(3)
    name_lines, name_size = _fit(
        full_name, size=mm(5), min_size=mm(2.8), max_width=text_width, max_lines=2, bold=True
    )
    baseline = margin + name_size
    for line in name_lines:
        canvas.text(line, margin, baseline, size=name_size, bold=True)
        baseline += round(name_size * 1.2)
    role_lines, role_size = _fit(
        role_title, size=mm(3.5), min_size=mm(2.2), max_width=text_width, max_lines=2
    )
    baseline += mm(1)
    for line in role_lines:
        canvas.text(line, margin, baseline, size=role_size)
        baseline += round(role_size * 1.2)

    linear = gs1_barcode(element_string, zxingcpp.BarcodeFormat.Code128, kind="badge")
    linear_module = min(4, (canvas.width - 2 * margin) // linear.width)
    top = max(margin + matrix_size, baseline) + mm(2)
    bar_height = canvas.height - margin - top - hri_height(linear_module)
    left = (canvas.width - linear.width * linear_module) // 2
    _linear_with_hri(
        canvas,
        linear,
        label_hri(element_string),
        left,
        top,
        module=linear_module,
        bar_height=bar_height,
    )
    return canvas.render(fmt)


def unit_dose_label(
    *,
    element_string: str,
    medication_name: str,
    strength_text: str,
    lot: str,
    expiry: date | None,
    fmt: str,
) -> bytes:
    """Pharmacy unit-dose label, 50 × 25 mm: GS1 DataMatrix (01)(17)(10)(21) and the text.

    ``lot`` and ``expiry`` are printed as text and must be the ones in ``element_string``.
    """
    payload = _scan(element_string, "medication").payload
    # _scan checked the kind, and a "medication" scan always carries a MedicationPayload.
    if not isinstance(payload, gs1.MedicationPayload):
        raise ValueError(f"not a medication code: {element_string!r}")
    if (payload.lot, payload.expiry) != (lot or None, expiry):
        raise ValueError(
            f"the text says lot {lot!r}, expiry {expiry}; the code says lot {payload.lot!r}, "
            f"expiry {payload.expiry}"
        )
    canvas = _Canvas(mm(50), mm(25), size_mm=(50, 25))
    margin = mm(1.5)

    # The GS1 text along the bottom, the full width of the label, on up to three lines (a
    # 20-character lot and serial).
    hri_lines, hri_size = _fit_hri(
        label_hri(element_string), max_width=canvas.width - 2 * margin, max_lines=3
    )
    hri_step = round(hri_size * 1.15)
    hri_top = canvas.height - margin - hri_step * len(hri_lines) + (hri_step - hri_size)
    baseline = hri_top + hri_size
    for line in hri_lines:
        canvas.text(line, margin, baseline, size=hri_size)
        baseline += hri_step
    inner = hri_top - mm(0.8) - margin

    matrix = gs1_barcode(element_string, zxingcpp.BarcodeFormat.DataMatrix, kind="medication")
    matrix_module = module_for(matrix, inner, largest=10)
    matrix_size = matrix.height * matrix_module
    canvas.symbol(matrix, margin, margin + (inner - matrix_size) // 2, module=matrix_module)

    x = margin + matrix_size + mm(1.5)
    text_width = canvas.width - x - margin
    name_lines, name_size = _fit(
        medication_name,
        size=mm(3.0),
        min_size=mm(1.8),
        max_width=text_width,
        max_lines=2,
        bold=True,
    )
    baseline = margin + name_size
    for line in name_lines:
        canvas.text(line, x, baseline, size=name_size, bold=True)
        baseline += round(name_size * 1.2)
    detail_size = mm(2.4)
    details = [text for text in (strength_text, f"{LOT_CAPTION}: {lot}") if text]
    if expiry is not None:
        details.append(f"{EXPIRY_CAPTION}: {day_month_year(expiry)}")
    baseline += mm(0.6)
    for detail in details:
        lines, size = _fit(detail, size=detail_size, min_size=mm(1.6), max_width=text_width)
        canvas.text(lines[0], x, baseline, size=size)
        baseline += round(detail_size * 1.2)
    return canvas.render(fmt)
