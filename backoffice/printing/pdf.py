"""PDF for real label stock: patient wristbands (25 × 250 mm), staff badges (ID-1) and pharmacy
unit-dose labels (50 × 25 mm), one label per page as label printers expect.

Pure: plain values in, PDF bytes out; no ORM, no settings. The symbols come from
``gs1.labels`` (zint through zxing-cpp, each checked to carry exactly the element string it
was asked for) and are drawn as vector rectangles on the 300-dpi dot grid, so that a 300-dpi
printer lays every module on whole dots. Text is DejaVu Sans, embedded, which has every
Vietnamese letter; without it nothing is printed at all (a name in boxes misidentifies a patient).
"""

from __future__ import annotations

import functools
import io
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import zxingcpp
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

import gs1
from gs1 import labels

# The symbol builder and layout rules of the PNG/SVG labels: the same GS1 checks and module sizes
# for every output.
from gs1.labels import Symbol, day_month_year, gs1_barcode, hri_height, module_for

__all__ = [
    "BADGE_SIZE_MM",
    "FONT",
    "FONT_BOLD",
    "UNIT_DOSE_SIZE_MM",
    "WRISTBAND_SIZE_MM",
    "BadgeLabel",
    "UnitDoseLabel",
    "WristbandLabel",
    "badges_pdf",
    "clean_text",
    "fit_text",
    "register_fonts",
    "unit_dose_labels_pdf",
    "wristbands_pdf",
]

DPI = labels.DPI
POINTS_PER_MM = 72 / 25.4
POINTS_PER_DOT = 72 / DPI

# Width × height of the stock, as the printer driver's page size.
WRISTBAND_SIZE_MM = (250.0, 25.0)
BADGE_SIZE_MM = (85.6, 53.98)  # ISO/IEC 7810 ID-1
UNIT_DOSE_SIZE_MM = (50.0, 25.0)

FONT = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"


def mm(value: float) -> int:
    """Millimetres to whole printer dots at 300 dpi."""
    return labels.mm(value)


@functools.cache
def register_fonts() -> None:
    """Embed DejaVu Sans in every PDF; FileNotFoundError names the missing font file."""
    for name, path in ((FONT, labels.FONT_REGULAR), (FONT_BOLD, labels.FONT_BOLD)):
        if not path.exists():
            raise FileNotFoundError(
                f"{path} is missing: install fonts-dejavu-core to print Vietnamese text"
            )
        pdfmetrics.registerFont(TTFont(name, str(path)))


def _font(bold: bool) -> str:
    return FONT_BOLD if bold else FONT


def clean_text(text: str) -> str:
    """One line of text in NFC (reportlab draws code points as they come, without shaping: a
    decomposed "ễ" would print its marks beside the letter), without control characters."""
    text = unicodedata.normalize("NFC", text)
    return " ".join("".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text).split())


def fit_text(
    text: str,
    *,
    size: float,
    min_size: float,
    max_width: float,
    max_lines: int = 1,
    bold: bool = False,
) -> tuple[list[str], float]:
    """Lines and font size (points) for ``text`` inside ``max_width`` points: wrapped on words,
    shrunk by half points down to ``min_size``; only then is the last line cut with an ellipsis,
    so that nothing is ever drawn outside its area."""
    font = _font(bold)
    words = clean_text(text).split(" ")

    def width(line: str, candidate: float) -> float:
        return pdfmetrics.stringWidth(line, font, candidate)

    def wrap(candidate: float) -> list[str]:
        lines: list[str] = []
        for word in words:
            joined = f"{lines[-1]} {word}" if lines else word
            if lines and width(joined, candidate) <= max_width:
                lines[-1] = joined
            else:
                lines.append(word)
        return lines

    candidate = size
    while candidate >= min_size:
        lines = wrap(candidate)
        if len(lines) <= max_lines and all(width(line, candidate) <= max_width for line in lines):
            return lines, candidate
        candidate -= 0.5
    lines = wrap(min_size)[:max_lines]
    last = lines[-1]
    while last and width(last + "…", min_size) > max_width:
        last = last[:-1]
    lines[-1] = last.rstrip() + "…"
    return lines, min_size


# --------------------------------------------------------------------------- page drawing


class _LabelPage:
    """One page of label stock. Symbols are placed in 300-dpi dots from the top-left corner, text
    in points; both are converted to PDF coordinates (points from the bottom-left) here."""

    def __init__(self, canvas: Canvas, size_mm: tuple[float, float]):
        self.canvas = canvas
        self.width_pt = size_mm[0] * POINTS_PER_MM
        self.height_pt = size_mm[1] * POINTS_PER_MM
        self.width = int(self.width_pt / POINTS_PER_DOT)  # whole dots on the page
        self.height = int(self.height_pt / POINTS_PER_DOT)
        canvas.setPageSize((self.width_pt, self.height_pt))

    def _y(self, dots_from_top: float) -> float:
        return self.height_pt - dots_from_top * POINTS_PER_DOT

    def symbol(self, symbol: Symbol, x: int, y: int, *, module: int, height: int = 0) -> int:
        """Draw ``symbol`` with its top-left corner at dot (x, y); a linear one is ``height``
        dots tall. Dark modules become rectangles, one per run of a row. Returns the height."""
        modules = symbol.modules
        rows = 1 if symbol.is_linear else symbol.height
        row_height = height if symbol.is_linear else module
        path = self.canvas.beginPath()
        for row in range(rows):
            top = y + row * row_height
            for start, length in _dark_runs(
                modules.getpixel((col, row)) for col in range(symbol.width)
            ):
                path.rect(
                    (x + start * module) * POINTS_PER_DOT,
                    self._y(top + row_height),
                    length * module * POINTS_PER_DOT,
                    row_height * POINTS_PER_DOT,
                )
        self.canvas.setFillGray(0)
        self.canvas.drawPath(path, stroke=0, fill=1)
        return rows * row_height

    def text(
        self,
        text: str,
        x: float,
        baseline: float,
        *,
        size: float,
        bold: bool = False,
        centred: bool = False,
    ) -> None:
        """``x`` and ``baseline`` in dots from the top-left, ``size`` in points."""
        self.canvas.setFont(_font(bold), size)
        self.canvas.setFillGray(0)
        draw = self.canvas.drawCentredString if centred else self.canvas.drawString
        draw(x * POINTS_PER_DOT, self._y(baseline), clean_text(text))


def _dark_runs(pixels: Iterable[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    start = None
    index = -1
    for index, value in enumerate(pixels):
        if value < 128 and start is None:
            start = index
        elif value >= 128 and start is not None:
            runs.append((start, index - start))
            start = None
    if start is not None:
        runs.append((start, index + 1 - start))
    return runs


def _points(dots: float) -> float:
    return dots * POINTS_PER_DOT


def fit_hri(hri: str, *, max_width: float, max_lines: int = 1) -> tuple[list[str], float]:
    """Lines (broken between elements only) and size in points for a label's GS1 text, never
    below labels.HRI_MIN_SIZE; a code that does not fit whole is an error, never an ellipsis."""
    elements = hri.split(" ")

    def width(line: str, size: float) -> float:
        return pdfmetrics.stringWidth(line, FONT, size)

    # Fewest lines first (the code keeps its room), then the largest size that fits them.
    for line_count in range(1, max_lines + 1):
        candidate = _points(labels.HRI_SIZE)
        while candidate >= _points(labels.HRI_MIN_SIZE):
            lines: list[str] = []
            for element in elements:
                joined = f"{lines[-1]} {element}" if lines else element
                if lines and width(joined, candidate) <= max_width:
                    lines[-1] = joined
                else:
                    lines.append(element)
            if len(lines) <= line_count and all(
                width(line, candidate) <= max_width for line in lines
            ):
                return lines, candidate
            candidate -= 0.25
    raise ValueError(f"the text {hri!r} does not fit on the label at a legible size")


def _linear_with_hri(
    page: _LabelPage,
    symbol: Symbol,
    hri: str,
    x: int,
    y: int,
    *,
    module: int,
    bar_height: int,
    text_width: int | None = None,
) -> None:
    page.symbol(symbol, x, y, module=module, height=bar_height)
    width = symbol.width * module
    lines, size = fit_hri(hri, max_width=_points(text_width or width))
    page.text(
        lines[0], x + width / 2, y + bar_height + size / POINTS_PER_DOT, size=size, centred=True
    )


def _text_block(
    page: _LabelPage,
    lines: Sequence[str],
    x: int,
    baseline: float,
    *,
    size: float,
    bold: bool = False,
    leading: float = 1.2,
) -> float:
    """Draw ``lines`` from ``baseline`` down; returns the baseline after the last line (dots)."""
    for line in lines:
        page.text(line, x, baseline, size=size, bold=bold)
        baseline += size * leading / POINTS_PER_DOT
    return baseline


def _label_pdf(items: Sequence, *, size_mm, draw_page, title: str) -> bytes:
    """One page of `size_mm` per item (label printers print a page per label)."""
    if not items:
        raise ValueError("nothing to print")
    register_fonts()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pageCompression=1, invariant=1)
    canvas.setTitle(title)
    canvas.setCreator("BCMA pharmacy")
    for item in items:
        draw_page(_LabelPage(canvas, size_mm), item)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


# --------------------------------------------------------------------------- wristband


@dataclass(frozen=True)
class WristbandLabel:
    """``element_string`` is the band's (8018)(8019) element string with GS separators."""

    element_string: str
    full_name: str
    date_of_birth: date
    mrn: str
    sex: str


def _wristband_page(page: _LabelPage, band: WristbandLabel) -> None:
    margin = mm(2)
    inner = page.height - 2 * margin
    x = mm(8)  # clear of the clasp end of the band

    text_width = mm(75)
    name_lines, name_size = fit_text(
        band.full_name,
        size=_points(mm(5)),
        min_size=_points(mm(2.5)),
        max_width=_points(text_width),
        max_lines=2,
        bold=True,
    )
    _text_block(page, name_lines, x, margin + name_size / POINTS_PER_DOT, size=name_size, bold=True)
    details = [
        f"{labels.DOB_CAPTION}: {day_month_year(band.date_of_birth)} · {labels.SEX_CAPTION}: {band.sex}",
        f"{labels.MRN_CAPTION}: {band.mrn}",
    ]
    # The details sit on the bottom edge whatever the length of the name above them.
    detail_size = _points(mm(3.2))
    step = detail_size * 1.3 / POINTS_PER_DOT
    baseline = page.height - margin - mm(0.8) - step * (len(details) - 1)
    for detail in details:
        lines, size = fit_text(
            detail, size=detail_size, min_size=_points(mm(2)), max_width=_points(text_width)
        )
        page.text(lines[0], x, baseline, size=size)
        baseline += step
    x += text_width + mm(6)

    linear = gs1_barcode(band.element_string, zxingcpp.BarcodeFormat.Code128, kind="wristband")
    linear_module = 4
    _linear_with_hri(
        page,
        linear,
        labels.label_hri(band.element_string),
        x,
        margin,
        module=linear_module,
        bar_height=inner - hri_height(linear_module),
        text_width=linear.width * linear_module + 2 * mm(5),
    )
    x += linear.width * linear_module + mm(6)

    matrix = gs1_barcode(band.element_string, zxingcpp.BarcodeFormat.DataMatrix, kind="wristband")
    matrix_module = module_for(matrix, inner, largest=10)
    matrix_size = matrix.height * matrix_module
    page.symbol(matrix, x, margin + (inner - matrix_size) // 2, module=matrix_module)


def wristbands_pdf(bands: Sequence[WristbandLabel]) -> bytes:
    """One 250 × 25 mm page per band: name, date of birth, sex, MRN; GS1-128 and GS1 DataMatrix."""
    return _label_pdf(
        bands, size_mm=WRISTBAND_SIZE_MM, draw_page=_wristband_page, title="Wristbands"
    )


# --------------------------------------------------------------------------- badge


@dataclass(frozen=True)
class BadgeLabel:
    """``element_string`` is the (8017) element string of the care provider's GSRN."""

    element_string: str
    full_name: str
    role_title: str


def _badge_page(page: _LabelPage, badge: BadgeLabel) -> None:
    margin = mm(3)
    matrix = gs1_barcode(badge.element_string, zxingcpp.BarcodeFormat.DataMatrix, kind="badge")
    matrix_module = module_for(matrix, mm(22), largest=12)
    matrix_size = matrix.width * matrix_module
    page.symbol(matrix, page.width - margin - matrix_size, margin, module=matrix_module)

    text_width = _points(page.width - 2 * margin - matrix_size - mm(3))
    name_lines, name_size = fit_text(
        badge.full_name,
        size=_points(mm(5)),
        min_size=_points(mm(2.8)),
        max_width=text_width,
        max_lines=2,
        bold=True,
    )
    baseline = _text_block(
        page, name_lines, margin, margin + name_size / POINTS_PER_DOT, size=name_size, bold=True
    )
    role_lines, role_size = fit_text(
        badge.role_title,
        size=_points(mm(3.5)),
        min_size=_points(mm(2.2)),
        max_width=text_width,
        max_lines=2,
    )
    baseline = _text_block(page, role_lines, margin, baseline + mm(1), size=role_size)

    linear = gs1_barcode(badge.element_string, zxingcpp.BarcodeFormat.Code128, kind="badge")
    linear_module = min(4, (page.width - 2 * margin) // linear.width)
    top = round(max(margin + matrix_size, baseline)) + mm(2)
    bar_height = page.height - margin - top - hri_height(linear_module)
    _linear_with_hri(
        page,
        linear,
        labels.label_hri(badge.element_string),
        (page.width - linear.width * linear_module) // 2,
        top,
        module=linear_module,
        bar_height=bar_height,
    )


def badges_pdf(badges: Sequence[BadgeLabel]) -> bytes:
    """One ID-1 card (85.6 × 53.98 mm) per badge: name and role, GS1 DataMatrix and GS1-128."""
    return _label_pdf(badges, size_mm=BADGE_SIZE_MM, draw_page=_badge_page, title="Staff badges")


# --------------------------------------------------------------------------- unit dose


@dataclass(frozen=True)
class UnitDoseLabel:
    """``element_string`` is (01)(17)(10)(21); the text fields must say what the code says."""

    element_string: str
    medication_name: str
    strength_text: str

    def payload(self) -> gs1.MedicationPayload:
        scan = gs1.parse_scan(self.element_string, symbology_id="]d2")
        if scan.kind != "medication":
            raise ValueError(f"not a medication element string: {self.element_string!r}")
        return scan.payload


def _unit_dose_page(page: _LabelPage, label: UnitDoseLabel) -> None:
    payload = label.payload()
    margin = mm(1.5)

    # The GS1 text along the bottom, the full width of the label, on up to three lines (a
    # 20-character lot and serial): what a nurse types when the code will not scan.
    hri_lines, hri_size = fit_hri(
        labels.label_hri(label.element_string),
        max_width=_points(page.width - 2 * margin),
        max_lines=3,
    )
    hri_step = hri_size * 1.15 / POINTS_PER_DOT
    hri_top = (
        page.height - margin - hri_step * len(hri_lines) + hri_step - hri_size / POINTS_PER_DOT
    )
    _text_block(
        page, hri_lines, margin, hri_top + hri_size / POINTS_PER_DOT, size=hri_size, leading=1.15
    )
    inner = int(hri_top - mm(0.8) - margin)

    matrix = gs1_barcode(label.element_string, zxingcpp.BarcodeFormat.DataMatrix, kind="medication")
    matrix_module = module_for(matrix, inner, largest=10)
    matrix_size = matrix.height * matrix_module
    page.symbol(matrix, margin, margin + (inner - matrix_size) // 2, module=matrix_module)

    x = margin + matrix_size + mm(1.5)
    text_width = _points(page.width - x - margin)
    name_lines, name_size = fit_text(
        label.medication_name,
        size=_points(mm(3.0)),
        min_size=_points(mm(1.8)),
        max_width=text_width,
        max_lines=2,
        bold=True,
    )
    baseline = _text_block(
        page, name_lines, x, margin + name_size / POINTS_PER_DOT, size=name_size, bold=True
    )
    details = [label.strength_text] if label.strength_text else []
    if payload.lot:
        details.append(f"{labels.LOT_CAPTION}: {payload.lot}")
    if payload.expiry is not None:
        details.append(f"{labels.EXPIRY_CAPTION}: {day_month_year(payload.expiry)}")
    detail_size = _points(mm(2.4))
    baseline += mm(0.5)
    for detail in details:
        lines, size = fit_text(
            detail, size=detail_size, min_size=_points(mm(1.5)), max_width=text_width
        )
        page.text(lines[0], x, baseline, size=size)
        baseline += detail_size * 1.2 / POINTS_PER_DOT


def unit_dose_labels_pdf(unit_doses: Sequence[UnitDoseLabel]) -> bytes:
    """One 50 × 25 mm page per label: GS1 DataMatrix, name, strength, lot, expiry, and the GS1
    text (serial included) in human-readable form."""
    return _label_pdf(
        unit_doses, size_mm=UNIT_DOSE_SIZE_MM, draw_page=_unit_dose_page, title="Unit-dose labels"
    )
