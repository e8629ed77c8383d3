"""The downtime MAR: a paper medication administration record of one ward for the next 24 hours,
printed before (or during) a network outage so that nurses can go on giving and recording doses.

Pure apart from gettext: plain values in (the dataclasses below), PDF bytes out; the active
language decides the words. A4 landscape; each patient starts on a new page and every page
carries the ward, the patient's bed, name, MRN and date of birth, and "page N of M", so that a
sheet that falls out of the folder still says whose it is.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime
from xml.sax.saxutils import escape

from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from backoffice.printing.pdf import FONT, FONT_BOLD, clean_text, register_fonts

__all__ = [
    "MarAllergy",
    "MarDose",
    "MarGiven",
    "MarOrder",
    "MarPatient",
    "MarSheet",
    "downtime_mar_pdf",
]

PAGE = landscape(A4)
MARGIN = 8 * mm
HEADER_HEIGHT = 22 * mm
FOOTER_HEIGHT = 9 * mm
BLANK_ROWS = 6  # for doses given during the outage that are not on the sheet (PRN, one-off)
SHADE = colors.Color(0.88, 0.88, 0.88)


@dataclass(frozen=True)
class MarAllergy:
    name: str
    severity: str  # already translated
    reaction: str = ""


@dataclass(frozen=True)
class MarDose:
    due_at: datetime  # local time
    medication: str
    dose: str
    route: str
    high_alert: bool = False
    time_critical: bool = False
    instructions: str = ""
    allergies: tuple[str, ...] = ()  # the patient's allergies this medication matches


@dataclass(frozen=True)
class MarOrder:
    """An order that is not on the timetable: PRN, or on hold (and so not to be given)."""

    medication: str
    dose: str
    route: str
    high_alert: bool = False
    indication: str = ""
    min_interval_minutes: int | None = None
    max_per_24h: str = ""
    reason: str = ""
    allergies: tuple[str, ...] = ()


@dataclass(frozen=True)
class MarGiven:
    at: datetime  # local time
    medication: str
    dose: str
    route: str
    status: str  # already translated, with the reason when not given
    by: str


@dataclass(frozen=True)
class MarPatient:
    bed: str
    full_name: str
    mrn: str
    date_of_birth: date
    sex: str  # already translated
    allergies: tuple[MarAllergy, ...] = ()
    doses: tuple[MarDose, ...] = ()
    prn_orders: tuple[MarOrder, ...] = ()
    held_orders: tuple[MarOrder, ...] = ()
    given: tuple[MarGiven, ...] = ()


@dataclass(frozen=True)
class MarSheet:
    ward_code: str
    ward_name: str
    printed_at: datetime  # local time
    doses_from: datetime
    doses_until: datetime
    given_since: datetime
    patients: tuple[MarPatient, ...] = field(default_factory=tuple)
    time_critical_window_minutes: int = 30


def day_month_year(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def _when(value: datetime) -> str:
    # Day and month with the time: dates in Vietnam are day first, and a 24 h sheet spans two days.
    return value.strftime("%d/%m %H:%M")


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("cell", fontName=FONT, fontSize=8.5, leading=10.5, alignment=TA_LEFT)
    return {
        "cell": base,
        "cell_bold": ParagraphStyle("cell_bold", parent=base, fontName=FONT_BOLD),
        "head": ParagraphStyle("head", parent=base, fontName=FONT_BOLD, fontSize=8, leading=9.5),
        "section": ParagraphStyle(
            "section",
            parent=base,
            fontName=FONT_BOLD,
            fontSize=10.5,
            leading=13,
            spaceBefore=5,
            keepWithNext=1,
        ),
        "allergy": ParagraphStyle(
            "allergy", parent=base, fontName=FONT_BOLD, fontSize=10, leading=12.5
        ),
        "note": ParagraphStyle("note", parent=base, fontSize=9, leading=11),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(clean_text(text)), style)


class _PatientStart(Flowable):
    """Takes no room: tells the page header whose pages these are from here on."""

    def __init__(self, banner: list[str]):
        super().__init__()
        self.banner = banner
        self.width = self.height = 0

    def draw(self):
        self.canv.bcma_patient_banner = self.banner


def _table(
    header: list[str],
    rows: list[list],
    widths: list[float],
    styles: dict[str, ParagraphStyle],
    *,
    shaded_rows: tuple[int, ...] = (),
    row_height: float | None = None,
    padding: float = 2,
) -> Table:
    data = [[_p(text, styles["head"]) for text in header], *rows]
    table = Table(
        data,
        colWidths=widths,
        repeatRows=1,
        rowHeights=[None] + [row_height] * len(rows) if row_height else None,
    )
    commands = [
        ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
        ("BACKGROUND", (0, 0), (-1, 0), SHADE),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, 0), 2),
        ("BOTTOMPADDING", (0, 0), (-1, 0), 2),
        # room to write in the rows
        ("TOPPADDING", (0, 1), (-1, -1), padding),
        ("BOTTOMPADDING", (0, 1), (-1, -1), padding),
    ]
    commands += [("BACKGROUND", (0, row), (-1, row), SHADE) for row in shaded_rows]
    table.setStyle(TableStyle(commands))
    return table


def _alert_text(
    high_alert: bool, time_critical_window: int | None, allergies: tuple[str, ...] = ()
) -> str:
    # Without the bedside check, the sheet itself must say what the rules would have stopped.
    alerts = (
        ["⚠ " + _("ALLERGY: %(allergies)s") % {"allergies": ", ".join(allergies)}]
        if allergies
        else []
    )
    if high_alert:
        alerts.append("⚠ " + _("High-alert: a second nurse checks"))
    if time_critical_window is not None:
        alerts.append(_("Time-critical: ±%(minutes)s min") % {"minutes": time_critical_window})
    return "; ".join(alerts)


def _patient_story(patient: MarPatient, sheet: MarSheet, styles) -> list:
    width = PAGE[0] - 2 * MARGIN
    story: list = [
        _PatientStart(
            [
                f"{_('Bed')} {patient.bed or '–'}",
                patient.full_name.upper(),
                f"{_('MRN')}: {patient.mrn}",
                f"{_('Date of birth')}: {day_month_year(patient.date_of_birth)}",
                patient.sex,
            ]
        )
    ]

    if patient.allergies:
        allergies = "; ".join(
            f"{a.name} ({a.severity}{' – ' + a.reaction if a.reaction else ''})"
            for a in patient.allergies
        )
        allergy_line = f"⚠ {_('Allergies')}: {allergies}"
    else:
        allergy_line = f"{_('Allergies')}: {_('No known allergies')}"
    allergy_box = Table([[_p(allergy_line, styles["allergy"])]], colWidths=[width])
    allergy_box.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 1.5 if patient.allergies else 0.5, colors.black),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    story.append(allergy_box)

    story.append(
        _p(
            _("Scheduled doses from %(start)s to %(end)s")
            % {"start": _when(sheet.doses_from), "end": _when(sheet.doses_until)},
            styles["section"],
        )
    )
    # due | medication | dose | route | alerts | time given | nurse | witness | not given: reason
    widths = [20 * mm, 58 * mm, 22 * mm, 26 * mm, 40 * mm, 20 * mm, 25 * mm, 25 * mm]
    widths.append(width - sum(widths))
    header = [
        _("Due"),
        _("Medication"),
        _("Dose"),
        _("Route"),
        _("Alerts"),
        _("Time given"),
        _("Nurse (initials)"),
        _("Witness (initials)"),
        _("Not given: reason"),
    ]
    if patient.doses:
        rows = [
            [
                _p(_when(dose.due_at), styles["cell_bold"]),
                _p(
                    dose.medication + (f" — {dose.instructions}" if dose.instructions else ""),
                    styles["cell_bold" if dose.high_alert else "cell"],
                ),
                _p(dose.dose, styles["cell"]),
                _p(dose.route, styles["cell"]),
                _p(
                    _alert_text(
                        dose.high_alert,
                        sheet.time_critical_window_minutes if dose.time_critical else None,
                        dose.allergies,
                    ),
                    styles["cell_bold"],
                ),
                "",
                "",
                "" if dose.high_alert else "—",
                "",
            ]
            for dose in patient.doses
        ]
        shaded = tuple(
            i + 1 for i, dose in enumerate(patient.doses) if dose.high_alert or dose.allergies
        )
        story.append(_table(header, rows, widths, styles, shaded_rows=shaded, padding=6))
    else:
        story.append(_p(_("No scheduled doses in this period."), styles["note"]))

    if patient.prn_orders:
        story.append(_p(_("As needed (PRN)"), styles["section"]))
        prn_widths = [62 * mm, 24 * mm, 26 * mm, 55 * mm, 30 * mm, 34 * mm]
        prn_widths.append(width - sum(prn_widths))
        story.append(
            _table(
                [
                    _("Medication"),
                    _("Dose"),
                    _("Route"),
                    _("Indication"),
                    _("Minimum interval"),
                    _("Maximum per 24 h"),
                    _("Alerts"),
                ],
                [
                    [
                        _p(order.medication, styles["cell"]),
                        _p(order.dose, styles["cell"]),
                        _p(order.route, styles["cell"]),
                        _p(order.indication, styles["cell"]),
                        _p(
                            _("%(hours)s h") % {"hours": _hours(order.min_interval_minutes)}
                            if order.min_interval_minutes
                            else "",
                            styles["cell"],
                        ),
                        _p(order.max_per_24h, styles["cell"]),
                        _p(
                            _alert_text(order.high_alert, None, order.allergies),
                            styles["cell_bold"],
                        ),
                    ]
                    for order in patient.prn_orders
                ],
                prn_widths,
                styles,
            )
        )

    if patient.held_orders:
        story.append(_p(_("On hold – do not give"), styles["section"]))
        held_widths = [80 * mm, 30 * mm, 26 * mm]
        held_widths.append(width - sum(held_widths))
        story.append(
            _table(
                [_("Medication"), _("Dose"), _("Route"), _("Reason")],
                [
                    [
                        _p(order.medication, styles["cell"]),
                        _p(order.dose, styles["cell"]),
                        _p(order.route, styles["cell"]),
                        _p(order.reason, styles["cell"]),
                    ]
                    for order in patient.held_orders
                ],
                held_widths,
                styles,
            )
        )

    story.append(
        _p(
            _("Given or documented since %(since)s") % {"since": _when(sheet.given_since)},
            styles["section"],
        )
    )
    given_widths = [24 * mm, 75 * mm, 28 * mm, 26 * mm, 60 * mm]
    given_widths.append(width - sum(given_widths))
    if patient.given:
        story.append(
            _table(
                [_("Time"), _("Medication"), _("Dose"), _("Route"), _("Status"), _("Nurse")],
                [
                    [
                        _p(_when(given.at), styles["cell"]),
                        _p(given.medication, styles["cell"]),
                        _p(given.dose, styles["cell"]),
                        _p(given.route, styles["cell"]),
                        _p(given.status, styles["cell"]),
                        _p(given.by, styles["cell"]),
                    ]
                    for given in patient.given
                ],
                given_widths,
                styles,
            )
        )
    else:
        story.append(_p(_("Nothing recorded in this period."), styles["note"]))

    story.append(_p(_("Other doses given during the outage (PRN, one-off)"), styles["section"]))
    story.append(
        _table(
            [
                _("Date and time"),
                _("Medication"),
                _("Dose"),
                _("Route"),
                _("Nurse (initials)"),
                _("Witness (initials)"),
            ],
            [[""] * 6 for _row in range(BLANK_ROWS)],
            [28 * mm, 90 * mm, 30 * mm, 20 * mm, 40 * mm, width - 208 * mm],
            styles,
            row_height=8 * mm,
        )
    )
    return story


def _hours(minutes: int) -> str:
    hours = minutes / 60
    return f"{hours:g}" if hours == int(hours) else f"{hours:.1f}"


def _canvas_class(words: dict[str, str]):
    """A canvas that holds its pages back until the end, to print "page N of M" on each."""

    class NumberedCanvas(Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self):
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self.setFont(FONT, 8)
                self.drawRightString(
                    PAGE[0] - MARGIN,
                    MARGIN,
                    words["page"] % {"page": number, "pages": total},
                )
                super().showPage()
            super().save()

    return NumberedCanvas


def _draw_page(canvas: Canvas, sheet: MarSheet, words: dict[str, str]) -> None:
    width, height = PAGE
    top = height - MARGIN
    canvas.saveState()
    canvas.setFillColor(colors.black)
    canvas.setFont(FONT_BOLD, 11)
    canvas.drawString(MARGIN, top - 11, clean_text(words["title"]))
    canvas.setFont(FONT, 9)
    canvas.drawRightString(
        width - MARGIN,
        top - 11,
        clean_text(f"{words['ward']}: {sheet.ward_code} – {sheet.ward_name}"),
    )
    canvas.drawRightString(width - MARGIN, top - 22, clean_text(words["printed"]))

    banner = getattr(canvas, "bcma_patient_banner", None)
    if banner:
        canvas.setLineWidth(1.2)
        canvas.rect(MARGIN, top - HEADER_HEIGHT + 2 * mm, width - 2 * MARGIN, 9 * mm)
        text = clean_text("   |   ".join(banner))
        size = 13.0
        while size > 7 and stringWidth(text, FONT_BOLD, size) > width - 2 * MARGIN - 6 * mm:
            size -= 0.5
        canvas.setFont(FONT_BOLD, size)
        canvas.drawString(MARGIN + 3 * mm, top - HEADER_HEIGHT + 5 * mm, text)

    canvas.setFont(FONT, 8)
    canvas.drawString(MARGIN, MARGIN, clean_text(words["footer"]))
    canvas.restoreState()


def downtime_mar_pdf(sheet: MarSheet) -> bytes:
    """The ward's downtime MAR as A4 landscape PDF, one patient per page (or more)."""
    register_fonts()
    words = {
        "title": _("Downtime medication administration record"),
        "ward": _("Ward"),
        "printed": _("Printed %(at)s – use only while the bedside system is unavailable")
        % {"at": sheet.printed_at.strftime("%d/%m/%Y %H:%M")},
        "footer": _(
            "Enter every dose written here into the system as soon as it is available again."
        ),
        "page": _("Page %(page)s of %(pages)s"),
    }
    styles = _styles()
    buffer = io.BytesIO()
    document = BaseDocTemplate(
        buffer,
        pagesize=PAGE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN + HEADER_HEIGHT,
        bottomMargin=MARGIN + FOOTER_HEIGHT,
        title=f"{words['title']} – {sheet.ward_code}",
        author="BCMA",
        invariant=1,
    )
    frame = Frame(
        document.leftMargin,
        document.bottomMargin,
        document.width,
        document.height,
        id="body",
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )
    document.addPageTemplates(
        [
            PageTemplate(
                id="ward",
                frames=[frame],
                onPageEnd=lambda canvas, _doc: _draw_page(canvas, sheet, words),
            )
        ]
    )
    story: list = []
    for index, patient in enumerate(sheet.patients):
        if index:
            story.append(PageBreak())
        story.extend(_patient_story(patient, sheet, styles))
    if not sheet.patients:
        story.append(Spacer(0, 10 * mm))
        story.append(_p(_("No patients are admitted to this ward."), styles["section"]))
    document.build(story, canvasmaker=_canvas_class(words))
    return buffer.getvalue()
