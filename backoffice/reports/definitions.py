"""The reports as pages: each turns its selector's figures into headline numbers, tables (shown
on the page and downloadable as CSV) and one chart, with the definition of every figure.

Presentation only: the counting lives in `selectors.py`, the drawing in `charts.py`."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.utils import formats, timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backoffice.reports import charts, selectors
from backoffice.reports.selectors import ReportFilter
from pharmacy.body_sites import site_label
from pharmacy.models import AllergyAcknowledgementReason, ScheduleKind, VerbalKind
from scanning import rules
from scanning.models import MissingDoseReason, NotGivenReason, WasteReason
from scanning.selectors import removals_overdue

Cell = str | int | Decimal | None


@dataclass(frozen=True)
class Table:
    slug: str
    title: str
    columns: tuple[str, ...]
    rows: list[tuple[Cell, ...]]
    # Columns holding percentages (shown with "%"); the CSV keeps the bare number.
    percent_columns: frozenset[int] = frozenset()
    note: str = ""
    has_total: bool = False  # the last row is the total
    nowrap_columns: frozenset[int] = frozenset({0})

    def display_rows(self) -> list[list[dict]]:
        """Rows for the page: each cell with whether it is a number and a percentage."""
        return [
            [
                {
                    "value": value,
                    "number": isinstance(value, int | Decimal) and not isinstance(value, bool),
                    "percent": index in self.percent_columns,
                    "nowrap": index in self.nowrap_columns,
                }
                for index, value in enumerate(row)
            ]
            for row in self.rows
        ]


@dataclass(frozen=True)
class Headline:
    label: str
    value: Cell
    percent: bool = False
    tone: str = ""  # "", "good", "warn" or "bad": the colour of the number


@dataclass(frozen=True)
class ReportContent:
    headlines: list[Headline]
    tables: list[Table]
    chart: charts.BarChart

    def table(self, slug: str | None) -> Table | None:
        if not slug:
            return self.tables[0]
        return next((t for t in self.tables if t.slug == slug), None)


@dataclass(frozen=True)
class ReportDefinition:
    slug: str
    title: Promise
    summary: Promise
    definitions: tuple[tuple[Promise, Promise], ...]
    build: Callable[[ReportFilter, datetime], ReportContent] = field(repr=False)


def _english() -> bool:
    return (translation.get_language() or "vi").startswith("en")


def override_reason_label(code: str) -> str:
    vi, en = rules.OVERRIDE_REASON_LABELS.get(code, (code, code))
    return en if _english() else vi


FINDING_LABELS = {
    "WRONG_WARD": gettext_lazy("Patient's ward is not the cart's ward"),
    "ALLERGY": gettext_lazy("Allergy (not severe)"),
    "ORDER_MISMATCH": gettext_lazy("Scan matched another order than the one chosen"),
    "PARTIAL_UNIT": gettext_lazy("Part of a unit given, rest wasted"),
    "DOSE_INCOMPLETE": gettext_lazy("Less than the ordered dose"),
    "TOO_EARLY": gettext_lazy("Given before the time window"),
    "TOO_LATE": gettext_lazy("Given after the time window"),
    "KEYED_ENTRY": gettext_lazy("Code typed, not scanned"),
}


def finding_label(code: str) -> str:
    return str(FINDING_LABELS.get(code, code))


def not_given_label(code: str) -> str:
    try:
        return str(NotGivenReason(code).label)
    except ValueError:
        return code


def _number(value: Cell) -> str:
    if value is None:
        return "–"
    return formats.number_format(value, use_l10n=True)


def _percent_label(value: Decimal | None) -> str:
    return "–" if value is None else f"{formats.number_format(value, 1, use_l10n=True)} %"


# --- 1. Scan compliance -----------------------------------------------------------------------


def _compliance_cells(row: selectors.ComplianceRow) -> tuple[Cell, ...]:
    return (
        row.given,
        row.band_scanned,
        row.band_not_scanned,
        row.band_rate,
        row.medication_scanned,
        row.medication_keyed,
        row.medication_rate,
        row.fully_scanned,
        row.full_rate,
    )


def _compliance_columns(first: str) -> tuple[str, ...]:
    return (
        first,
        _("Doses given"),
        _("Wristband scanned"),
        _("Wristband not scanned"),
        _("Wristband scanned %"),
        _("Medication scanned"),
        _("Medication typed"),
        _("Medication scanned %"),
        _("Both scanned"),
        _("Both scanned %"),
    )


COMPLIANCE_PERCENT_COLUMNS = frozenset({4, 7, 9})


def _tone_for_rate(rate: Decimal | None) -> str:
    if rate is None:
        return ""
    if rate >= 95:
        return "good"
    return "warn" if rate >= 85 else "bad"


def build_scan_compliance(filters: ReportFilter, now: datetime) -> ReportContent:
    report = selectors.report_scan_compliance(filters=filters)
    total = report.total
    return ReportContent(
        headlines=[
            Headline(_("Doses given"), total.given),
            Headline(
                _("Wristband scanned"),
                total.band_rate,
                percent=True,
                tone=_tone_for_rate(total.band_rate),
            ),
            Headline(
                _("Medication scanned"),
                total.medication_rate,
                percent=True,
                tone=_tone_for_rate(total.medication_rate),
            ),
            Headline(
                _("Both scanned"),
                total.full_rate,
                percent=True,
                tone=_tone_for_rate(total.full_rate),
            ),
        ],
        tables=[
            Table(
                slug="wards",
                title=_("By ward"),
                columns=_compliance_columns(_("Ward")),
                rows=[(row.label, *_compliance_cells(row)) for row in report.by_ward]
                + [(_("Total"), *_compliance_cells(total))],
                percent_columns=COMPLIANCE_PERCENT_COLUMNS,
                has_total=True,
            ),
            Table(
                slug="nurses",
                title=_("By nurse"),
                columns=_compliance_columns(_("Nurse")),
                rows=[(row.label, *_compliance_cells(row)) for row in report.by_nurse],
                percent_columns=COMPLIANCE_PERCENT_COLUMNS,
            ),
        ],
        chart=charts.BarChart(
            title=_("Scan compliance by nurse"),
            categories=tuple(row.label for row in report.by_nurse),
            series=tuple(
                charts.Series(
                    name=name,
                    values=tuple(float(getattr(row, attr) or 0) for row in report.by_nurse),
                    color=color,
                    labels=tuple(_percent_label(getattr(row, attr)) for row in report.by_nurse),
                )
                for name, attr, color in (
                    (_("Wristband scanned"), "band_rate", charts.GREEN),
                    (_("Medication scanned"), "medication_rate", charts.BLUE),
                    (_("Both scanned"), "full_rate", charts.PURPLE),
                )
            ),
            axis_label=_("Doses given (%)"),
            percent=True,
            empty_text=_("No doses given in this period."),
        ),
    )


# --- 2. Overrides -----------------------------------------------------------------------------


def build_overrides(filters: ReportFilter, now: datetime) -> ReportContent:
    report = selectors.report_overrides(filters=filters)
    return ReportContent(
        headlines=[
            Headline(_("Doses given"), report.doses_given),
            Headline(_("Doses with an override"), report.doses_with_override),
            Headline(_("Doses with an override %"), report.doses_with_override_rate, percent=True),
            Headline(_("Overrides"), report.total),
        ],
        tables=[
            Table(
                slug="codes",
                title=_("By finding"),
                columns=(
                    _("Finding code"),
                    _("Finding"),
                    _("Overrides"),
                    _("Per 100 doses given"),
                ),
                rows=[
                    (row.code, finding_label(row.code), row.count, row.rate) for row in report.rows
                ]
                + [(_("Total"), "", report.total, None)],
                has_total=True,
            ),
            Table(
                slug="reasons",
                title=_("By finding and reason"),
                columns=(_("Finding code"), _("Reason code"), _("Reason"), _("Overrides")),
                rows=[
                    (row.code, reason, override_reason_label(reason), count)
                    for row in report.rows
                    for reason, count in sorted(row.reasons.items(), key=lambda i: (-i[1], i[0]))
                ],
            ),
        ],
        chart=charts.BarChart(
            title=_("Overrides by finding"),
            categories=tuple(f"{row.code} – {finding_label(row.code)}" for row in report.rows),
            series=(
                charts.Series(
                    name=_("Overrides"),
                    values=tuple(row.count for row in report.rows),
                    color=charts.ORANGE,
                    labels=tuple(_number(row.count) for row in report.rows),
                ),
            ),
            axis_label=_("Overrides"),
            empty_text=_("No overrides in this period."),
        ),
    )


# --- 3. Missed and late doses -----------------------------------------------------------------

OUTCOME_LABELS = {
    "on_time": gettext_lazy("On time"),
    "early": gettext_lazy("Early"),
    "late": gettext_lazy("Late"),
    "not_given": gettext_lazy("Reported not given"),
    "missed": gettext_lazy("Missed"),
    "open": gettext_lazy("Still open"),
}
OUTCOME_COLOURS = {
    "on_time": charts.GREEN,
    "early": charts.AMBER,
    "late": charts.ORANGE,
    "not_given": charts.GREY,
    "missed": charts.RED,
}


def _timing_cells(row: selectors.TimingRow, nurse_filtered: bool) -> tuple[Cell, ...]:
    return (
        row.due,
        row.on_time,
        row.early,
        row.late,
        row.not_given,
        None if nurse_filtered else row.missed,
        None if nurse_filtered else row.open,
        row.on_time_rate,
    )


def _local(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def build_dose_timing(filters: ReportFilter, now: datetime) -> ReportContent:
    report = selectors.report_dose_timing(filters=filters, now=now)
    total = report.total
    filtered = report.nurse_filtered
    shown = [o for o in OUTCOME_COLOURS if not (filtered and o == "missed")]
    return ReportContent(
        headlines=[
            Headline(_("Doses due"), total.due),
            Headline(
                _("On time (of doses given)"),
                total.on_time_rate,
                percent=True,
                tone=_tone_for_rate(total.on_time_rate),
            ),
            Headline(_("Late"), total.late, tone="warn" if total.late else "good"),
            Headline(
                _("Missed"),
                None if filtered else total.missed,
                tone="" if filtered else ("bad" if total.missed else "good"),
            ),
        ],
        tables=[
            Table(
                slug="wards",
                title=_("By ward"),
                columns=(
                    _("Ward"),
                    _("Doses due"),
                    _("On time"),
                    _("Early"),
                    _("Late"),
                    _("Reported not given"),
                    _("Missed"),
                    _("Still open"),
                    _("On time (%)"),
                ),
                rows=[(row.label, *_timing_cells(row, filtered)) for row in report.by_ward]
                + [(_("Total"), *_timing_cells(total, filtered))],
                percent_columns=frozenset({8}),
                has_total=True,
                note=_(
                    "With a nurse filter only the doses that nurse documented are counted: a "
                    "missed dose was documented by no one, so it is not shown."
                )
                if filtered
                else "",
            ),
            Table(
                slug="doses",
                title=_("Late and missed doses"),
                columns=(
                    _("Due at"),
                    _("Ward"),
                    _("Bed"),
                    _("Patient"),
                    _("MRN"),
                    _("Medication"),
                    _("Time-critical"),
                    _("Outcome"),
                    _("Given at"),
                    _("Minutes after due time"),
                    _("Nurse"),
                ),
                rows=[
                    (
                        _local(line.due_at),
                        line.ward_code,
                        line.bed,
                        line.patient_name,
                        line.mrn,
                        line.medication,
                        _("yes") if line.time_critical else _("no"),
                        str(OUTCOME_LABELS[line.outcome]),
                        _local(line.given_at),
                        line.minutes_late,
                        line.nurse,
                    )
                    for line in report.exceptions
                ],
                nowrap_columns=frozenset({0, 8}),
            ),
        ],
        chart=charts.BarChart(
            title=_("Scheduled doses by outcome"),
            categories=tuple(row.label for row in report.by_ward),
            series=tuple(
                charts.Series(
                    name=str(OUTCOME_LABELS[outcome]),
                    values=tuple(getattr(row, outcome) for row in report.by_ward),
                    color=OUTCOME_COLOURS[outcome],
                    labels=tuple(_number(getattr(row, outcome)) for row in report.by_ward),
                )
                for outcome in shown
            ),
            axis_label=_("Doses"),
            empty_text=_("No doses were due in this period."),
        ),
    )


# --- 4. Not given -----------------------------------------------------------------------------


def build_not_given(filters: ReportFilter, now: datetime) -> ReportContent:
    report = selectors.report_not_given(filters=filters)
    total = report.total
    return ReportContent(
        headlines=[Headline(_("Doses not given"), total)],
        tables=[
            Table(
                slug="reasons",
                title=_("By reason"),
                columns=(_("Reason code"), _("Reason"), _("Doses not given"), _("Share %")),
                rows=[
                    (reason, not_given_label(reason), count, selectors.percent_of(count, total))
                    for reason, count in report.rows
                ]
                + [(_("Total"), "", total, None)],
                percent_columns=frozenset({3}),
                has_total=True,
            )
        ],
        chart=charts.BarChart(
            title=_("Doses not given by reason"),
            categories=tuple(not_given_label(reason) for reason, _count in report.rows),
            series=(
                charts.Series(
                    name=_("Doses not given"),
                    values=tuple(count for _reason, count in report.rows),
                    color=charts.GREY,
                    labels=tuple(_number(count) for _reason, count in report.rows),
                ),
            ),
            axis_label=_("Doses not given"),
            empty_text=_("No doses were documented as not given in this period."),
        ),
    )


# --- 5. Unable to scan ------------------------------------------------------------------------


def _typed_label(row: selectors.UnableToScanRow) -> str:
    return _("Wristband") if row.gtin == selectors.WRISTBAND else row.product


def build_unable_to_scan(filters: ReportFilter, now: datetime) -> ReportContent:
    report = selectors.report_unable_to_scan(filters=filters)
    reasons = sorted(report.doses_by_reason, key=lambda r: (-report.doses_by_reason[r], r))
    things = list(dict.fromkeys(_typed_label(row) for row in report.rows))
    doses = {(row.reason, _typed_label(row)): row.doses for row in report.rows}
    return ReportContent(
        headlines=[
            Headline(_("Doses with a typed code"), report.doses),
            Headline(
                _("Units typed"),
                sum(row.units for row in report.rows),
            ),
        ],
        tables=[
            Table(
                slug="products",
                title=_("By reason and product"),
                columns=(
                    _("Reason code"),
                    _("Reason"),
                    _("Typed"),
                    _("GTIN"),
                    _("Doses"),
                    _("Units typed"),
                ),
                rows=[
                    (
                        row.reason,
                        override_reason_label(row.reason),
                        _typed_label(row),
                        row.gtin,
                        row.doses,
                        row.units,
                    )
                    for row in report.rows
                ],
            ),
            Table(
                slug="reasons",
                title=_("By reason"),
                columns=(_("Reason code"), _("Reason"), _("Doses")),
                rows=[
                    (reason, override_reason_label(reason), report.doses_by_reason[reason])
                    for reason in reasons
                ]
                + [(_("Total"), "", report.doses)],
                has_total=True,
            ),
        ],
        chart=charts.BarChart(
            title=_("Typed instead of scanned, by product and reason"),
            categories=tuple(things),
            series=tuple(
                charts.Series(
                    name=override_reason_label(reason),
                    values=tuple(doses.get((reason, thing), 0) for thing in things),
                    color=colour,
                    labels=tuple(_number(doses.get((reason, thing), 0)) for thing in things),
                )
                for reason, colour in zip(
                    reasons,
                    (charts.RED, charts.AMBER, charts.BLUE, charts.GREY, charts.PURPLE),
                    strict=False,
                )
            ),
            axis_label=_("Doses"),
            empty_text=_("Every code was scanned in this period."),
        ),
    )


# --- 6. PRN use -------------------------------------------------------------------------------


def _amounts(amounts: dict[str, Decimal]) -> str:
    return ", ".join(
        f"{formats.number_format(value.normalize(), use_l10n=True)} {unit}"
        for unit, value in sorted(amounts.items())
    )


def build_prn(filters: ReportFilter, now: datetime) -> ReportContent:
    report = selectors.report_prn(filters=filters)
    return ReportContent(
        headlines=[
            Headline(_("PRN doses given"), report.doses),
            Headline(_("Medications"), sum(1 for row in report.rows if row.doses)),
        ],
        tables=[
            Table(
                slug="medications",
                title=_("By medication"),
                columns=(
                    _("Medication"),
                    _("Patients with a PRN order"),
                    _("Patients given it"),
                    _("Doses given"),
                    _("Patient-days with use"),
                    _("Doses per patient-day with use"),
                    _("Most doses in one patient-day"),
                    _("Total amount given"),
                ),
                rows=[
                    (
                        row.medication,
                        row.patients_with_order,
                        row.patients_treated,
                        row.doses,
                        row.patient_days,
                        row.doses_per_patient_day,
                        row.max_per_patient_day,
                        _amounts(row.amounts),
                    )
                    for row in report.rows
                ],
            )
        ],
        chart=charts.BarChart(
            title=_("PRN doses given by medication"),
            categories=tuple(row.medication for row in report.rows),
            series=(
                charts.Series(
                    name=_("Doses given"),
                    values=tuple(row.doses for row in report.rows),
                    color=charts.BLUE,
                    labels=tuple(_number(row.doses) for row in report.rows),
                ),
                charts.Series(
                    name=_("Patient-days with use"),
                    values=tuple(row.patient_days for row in report.rows),
                    color=charts.GREY,
                    labels=tuple(_number(row.patient_days) for row in report.rows),
                ),
            ),
            axis_label=_("Count"),
            empty_text=_("No PRN medication in this period."),
        ),
    )


# --- 6a. PRN effectiveness --------------------------------------------------------------------


def _median(values: list[int]) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def _effect_cells(row: selectors.PrnEffectRow) -> tuple[Cell, ...]:
    return (
        row.doses,
        row.on_time,
        row.late,
        _median(row.minutes_late),
        row.missing,
        row.pending,
        row.effective,
        row.partly,
        row.not_effective,
        row.effective_share,
    )


def build_prn_effectiveness(filters: ReportFilter, now: datetime) -> ReportContent:
    report = selectors.report_prn_effectiveness(filters=filters, now=now)
    total = report.total()
    columns = (
        _("PRN doses given"),
        _("Reassessed on time"),
        _("Reassessed late"),
        _("Median minutes late"),
        _("Not reassessed"),
        _("Not yet due"),
        _("Effective"),
        _("Partly effective"),
        _("Not effective"),
        _("Effective share"),
    )
    rows = [(row.medication, row.ward, *_effect_cells(row)) for row in report.rows]
    if report.rows:
        rows.append((_("Total"), "", *_effect_cells(total)))
    return ReportContent(
        headlines=[
            Headline(_("PRN doses given"), total.doses),
            Headline(
                _("Reassessed on time"),
                total.on_time_share,
                percent=True,
                tone=_tone_for_rate(total.on_time_share),
            ),
            Headline(_("Not reassessed"), total.missing, tone="bad" if total.missing else "good"),
            Headline(_("Effective share"), total.effective_share, percent=True),
        ],
        tables=[
            Table(
                slug="medications",
                title=_("By medication and ward"),
                columns=(_("Medication"), _("Ward"), *columns),
                rows=rows,
                percent_columns=frozenset({11}),
                has_total=bool(report.rows),
            )
        ],
        chart=charts.BarChart(
            title=_("PRN reassessments by medication"),
            categories=tuple(f"{row.medication} · {row.ward}" for row in report.rows),
            series=(
                charts.Series(
                    name=_("Reassessed on time"),
                    values=tuple(row.on_time for row in report.rows),
                    color=charts.GREEN,
                    labels=tuple(_number(row.on_time) for row in report.rows),
                ),
                charts.Series(
                    name=_("Reassessed late"),
                    values=tuple(row.late for row in report.rows),
                    color=charts.ORANGE,
                    labels=tuple(_number(row.late) for row in report.rows),
                ),
                charts.Series(
                    name=_("Not reassessed"),
                    values=tuple(row.missing for row in report.rows),
                    color=charts.RED,
                    labels=tuple(_number(row.missing) for row in report.rows),
                ),
            ),
            axis_label=_("Doses"),
            empty_text=_("No PRN medication in this period."),
        ),
    )


# --- 6b. Controlled-drug waste ----------------------------------------------------------------


def waste_reason_label(code: str) -> str:
    try:
        return str(WasteReason(code).label)
    except ValueError:
        return code


def _quantity_text(value: Decimal, unit: str) -> str:
    return f"{formats.number_format(value.normalize(), use_l10n=True)} {unit}"


def build_waste(filters: ReportFilter, now: datetime) -> ReportContent:
    report = selectors.report_waste(filters=filters)
    groups = report.groups()
    by_medication = report.by_medication()
    guarded = [line for line in report.lines if line.controlled or line.high_alert]
    unwitnessed = sum(1 for line in guarded if not line.witness)
    return ReportContent(
        headlines=[
            Headline(_("Wastes documented"), len(report.lines)),
            Headline(_("Of controlled or high-alert drugs"), len(guarded)),
            Headline(
                _("Controlled or high-alert without a witness"),
                unwitnessed,
                tone="bad" if unwitnessed else "good",
            ),
        ],
        tables=[
            Table(
                slug="by-drug-nurse-ward",
                title=_("By drug, nurse and ward"),
                columns=(
                    _("Medication"),
                    _("Ward"),
                    _("Nurse"),
                    _("Wastes"),
                    _("Without a witness"),
                    _("Total amount wasted"),
                ),
                rows=[
                    (
                        group.medication,
                        group.ward,
                        group.nurse,
                        group.wastes,
                        group.unwitnessed,
                        _amounts(group.amounts),
                    )
                    for group in groups
                ],
            ),
            Table(
                slug="register",
                title=_("Every waste"),
                columns=(
                    _("Wasted at"),
                    _("Medication"),
                    _("Ward"),
                    _("Patient (MRN)"),
                    _("Nurse"),
                    _("Witness"),
                    _("Given"),
                    _("Wasted"),
                    _("Reason"),
                ),
                rows=[
                    (
                        _local(line.wasted_at),
                        line.medication,
                        line.ward,
                        line.mrn,
                        line.nurse,
                        line.witness,
                        _quantity_text(line.given, line.given_unit),
                        _quantity_text(line.amount, line.unit),
                        waste_reason_label(line.reason),
                    )
                    for line in report.lines
                ],
            ),
        ],
        chart=charts.BarChart(
            title=_("Wastes by medication"),
            categories=tuple(by_medication),
            series=(
                charts.Series(
                    name=_("Wastes"),
                    values=tuple(by_medication.values()),
                    color=charts.BLUE,
                    labels=tuple(_number(count) for count in by_medication.values()),
                ),
            ),
            axis_label=_("Count"),
            empty_text=_("No waste documented in this period."),
        ),
    )


# --- 7. Allergy acknowledgements --------------------------------------------------------------


def acknowledgement_reason_label(code: str) -> str:
    try:
        return str(AllergyAcknowledgementReason(code).label)
    except ValueError:
        return code


def build_allergy_acknowledgements(filters: ReportFilter, now: datetime) -> ReportContent:
    lines = selectors.report_allergy_acknowledgements(filters=filters)
    by_reason: dict[str, int] = {}
    for line in lines:
        by_reason[line.reason] = by_reason.get(line.reason, 0) + 1
    reasons = sorted(by_reason, key=lambda code: (-by_reason[code], code))
    severe = sum(1 for line in lines if line.severe)
    return ReportContent(
        headlines=[
            Headline(_("Orders verified despite an allergy"), len(lines)),
            Headline(_("Of them severe"), severe, tone="bad" if severe else ""),
        ],
        tables=[
            Table(
                slug="acknowledgements",
                title=_("Acknowledgements"),
                columns=(
                    _("When"),
                    _("Pharmacist"),
                    _("Ward/bed"),
                    _("Patient"),
                    _("MRN"),
                    _("Order"),
                    _("Allergies"),
                    _("Reason"),
                    _("Comment"),
                ),
                rows=[
                    (
                        _local(line.acknowledged_at),
                        line.pharmacist,
                        f"{line.ward_code}/{line.bed or '–'}",
                        line.patient_name,
                        line.mrn,
                        line.order,
                        line.allergies,
                        acknowledgement_reason_label(line.reason),
                        line.comment,
                    )
                    for line in lines
                ],
            )
        ],
        chart=charts.BarChart(
            title=_("Orders verified despite an allergy, by reason"),
            categories=tuple(acknowledgement_reason_label(code) for code in reasons),
            series=(
                charts.Series(
                    name=_("Orders"),
                    values=tuple(by_reason[code] for code in reasons),
                    color=charts.RED,
                    labels=tuple(_number(by_reason[code]) for code in reasons),
                ),
            ),
            axis_label=_("Orders"),
            empty_text=_("No order was verified despite an allergy in this period."),
        ),
    )


def build_overdue_removals(filters: ReportFilter, now: datetime) -> ReportContent:
    """Patches, rings and implants on patients now and past their removal time: a state at this
    moment, not a count over the period (the dates do not apply; the ward does)."""
    if filters.ward is not None:
        ward_ids = [filters.ward.pk]
    elif filters.wards is not None:
        ward_ids = list(filters.wards.values_list("pk", flat=True))
    else:
        ward_ids = None
    rows = removals_overdue(ward_ids=ward_ids, now=now)
    by_ward: dict[str, int] = {}
    for row in rows:
        by_ward[row["ward"].code] = by_ward.get(row["ward"].code, 0) + 1
    wards = sorted(by_ward, key=lambda code: (-by_ward[code], code))
    longest = max((row["overdue_minutes"] for row in rows), default=0)
    return ReportContent(
        headlines=[
            Headline(_("Overdue for removal now"), len(rows), tone="bad" if rows else "good"),
            Headline(_("Longest overdue (hours)"), longest // 60, tone="bad" if rows else ""),
        ],
        tables=[
            Table(
                slug="overdue-removals",
                title=_("Overdue removals"),
                columns=(
                    _("Ward/bed"),
                    _("Patient"),
                    _("MRN"),
                    _("Medication"),
                    _("Site"),
                    _("Applied"),
                    _("Removal due"),
                    _("Hours overdue"),
                ),
                rows=[
                    (
                        f"{row['ward'].code}/{row['bed'].code if row['bed'] else '–'}",
                        row["patient"].full_name,
                        row["mrn"],
                        row["medication"],
                        site_label(row["site"], "en" if _english() else "vi"),
                        _local(row["applied_at"]),
                        _local(row["due_at"]),
                        row["overdue_minutes"] // 60,
                    )
                    for row in rows
                ],
            )
        ],
        chart=charts.BarChart(
            title=_("Overdue removals by ward"),
            categories=tuple(wards),
            series=(
                charts.Series(
                    name=_("Patches"),
                    values=tuple(by_ward[code] for code in wards),
                    color=charts.PURPLE,
                    labels=tuple(_number(by_ward[code]) for code in wards),
                ),
            ),
            axis_label=_("Patches"),
            empty_text=_("No patch is overdue for removal."),
        ),
    )


# --- Unsigned verbal orders -------------------------------------------------------------------


# The ages an unsigned verbal order is counted in, in hours: up to the co-sign time (in time),
# up to three days, older.
def _age_buckets() -> tuple[tuple[str, int | None], ...]:
    limit = settings.VERBAL_ORDER_COSIGN_HOURS
    return (
        (_("Up to %(hours)d h") % {"hours": limit}, limit),
        (_("Up to 72 h"), 72),
        (_("Older than 72 h"), None),
    )


def _hours_between(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds() // 3600)


def build_verbal_orders(filters: ReportFilter, now: datetime) -> ReportContent:
    report = selectors.report_verbal_orders(filters=filters)
    limit = settings.VERBAL_ORDER_COSIGN_HOURS
    unsigned = [line for line in report.lines if line.cosigned_at is None]
    overdue = sum(1 for line in unsigned if _hours_between(line.documented_at, now) >= limit)
    buckets = _age_buckets()
    counts = [0] * len(buckets)
    for line in unsigned:
        age = (now - line.documented_at).total_seconds() / 3600
        index = next(
            (i for i, (_label, upto) in enumerate(buckets) if upto is None or age <= upto),
            len(buckets) - 1,
        )
        counts[index] += 1

    def group_table(slug: str, title: str, first: str, groups) -> Table:
        return Table(
            slug=slug,
            title=title,
            columns=(first, _("Documented"), _("Co-signed"), _("Unsigned")),
            rows=[
                (group.key, group.documented, group.documented - group.unsigned, group.unsigned)
                for group in groups
            ],
        )

    return ReportContent(
        headlines=[
            Headline(_("Verbal orders documented"), report.documented),
            Headline(_("Co-signed"), report.documented - report.unsigned),
            Headline(_("Unsigned"), report.unsigned, tone="warn" if report.unsigned else "good"),
            Headline(
                _("Unsigned beyond %(hours)d h") % {"hours": limit},
                overdue,
                tone="bad" if overdue else "good",
            ),
        ],
        tables=[
            group_table("by-ward", _("By ward"), _("Ward"), report.by_ward),
            group_table("by-prescriber", _("By prescriber"), _("Prescriber"), report.by_prescriber),
            Table(
                slug="orders",
                title=_("Every verbal order"),
                columns=(
                    _("Documented at"),
                    _("Ward"),
                    _("Patient (MRN)"),
                    _("Medication"),
                    _("Kind"),
                    _("Schedule"),
                    _("Prescriber"),
                    _("Nurse"),
                    _("Co-signed at"),
                    _("Hours unsigned"),
                ),
                rows=[
                    (
                        _local(line.documented_at),
                        line.ward,
                        line.mrn,
                        line.medication,
                        str(VerbalKind(line.kind).label),
                        str(ScheduleKind(line.schedule).label),
                        line.prescriber,
                        line.nurse,
                        _local(line.cosigned_at),
                        None
                        if line.cosigned_at is not None
                        else _hours_between(line.documented_at, now),
                    )
                    for line in report.lines
                ],
            ),
        ],
        chart=charts.BarChart(
            title=_("Unsigned verbal orders by age"),
            categories=tuple(label for label, _upto in buckets),
            series=(
                charts.Series(
                    name=_("Unsigned"),
                    values=tuple(counts),
                    color=charts.AMBER,
                    labels=tuple(_number(count) for count in counts),
                ),
            ),
            axis_label=_("Orders"),
            empty_text=_("No verbal order is waiting for a co-signature."),
        ),
    )


# --- Missing doses ----------------------------------------------------------------------------


def missing_dose_reason_label(code: str) -> str:
    try:
        return str(MissingDoseReason(code).label)
    except ValueError:
        return code


def _minutes_between(start: datetime, end: datetime | None) -> int | None:
    return None if end is None else int((end - start).total_seconds() // 60)


def _missing_dose_table(slug: str, title: str, first: str, groups, label=str) -> Table:
    return Table(
        slug=slug,
        title=title,
        columns=(first, _("Requested"), _("Sent"), _("Still to send")),
        rows=[
            (label(group.key), group.requested, group.sent, group.requested - group.sent)
            for group in groups
        ],
    )


def build_missing_doses(filters: ReportFilter, now: datetime) -> ReportContent:
    report = selectors.report_missing_doses(filters=filters)
    waits = sorted(
        minutes
        for line in report.lines
        if (minutes := _minutes_between(line.requested_at, line.sent_at)) is not None
    )
    still_open = report.requested - report.sent
    reasons = report.by_reason
    return ReportContent(
        headlines=[
            Headline(_("Doses requested from the pharmacy"), report.requested),
            Headline(_("Sent"), report.sent),
            Headline(_("Still to send"), still_open, tone="warn" if still_open else "good"),
            Headline(
                _("Median minutes from request to sent"), waits[len(waits) // 2] if waits else None
            ),
        ],
        tables=[
            _missing_dose_table("by-ward", _("By ward"), _("Ward"), report.by_ward),
            _missing_dose_table(
                "by-medication", _("By medication"), _("Medication"), report.by_medication
            ),
            _missing_dose_table(
                "by-reason", _("By reason"), _("Reason"), reasons, missing_dose_reason_label
            ),
            Table(
                slug="requests",
                title=_("Every request"),
                columns=(
                    _("Requested at"),
                    _("Ward"),
                    _("Patient (MRN)"),
                    _("Medication"),
                    _("Due at"),
                    _("Reason"),
                    _("Nurse"),
                    _("Sent at"),
                    _("Pharmacist"),
                    _("Minutes to send"),
                ),
                rows=[
                    (
                        _local(line.requested_at),
                        line.ward,
                        line.mrn,
                        line.medication,
                        _local(line.due_at),
                        missing_dose_reason_label(line.reason)
                        + (f": {line.comment}" if line.comment else ""),
                        line.nurse,
                        _local(line.sent_at),
                        line.pharmacist,
                        _minutes_between(line.requested_at, line.sent_at),
                    )
                    for line in report.lines
                ],
            ),
        ],
        chart=charts.BarChart(
            title=_("Missing doses by reason"),
            categories=tuple(missing_dose_reason_label(group.key) for group in reasons),
            series=(
                charts.Series(
                    name=_("Requested"),
                    values=tuple(group.requested for group in reasons),
                    color=charts.AMBER,
                    labels=tuple(_number(group.requested) for group in reasons),
                ),
                charts.Series(
                    name=_("Sent"),
                    values=tuple(group.sent for group in reasons),
                    color=charts.GREEN,
                    labels=tuple(_number(group.sent) for group in reasons),
                ),
            ),
            axis_label=_("Doses"),
            empty_text=_("No dose was requested from the pharmacy in this period."),
        ),
    )


# --- The list ---------------------------------------------------------------------------------

COUNTING = gettext_lazy(
    "A dose given counts once: records later withdrawn as entered in error do not count, and a "
    "correction's replacement counts in place of the record it replaces. Records belong to the "
    "patient's admission ward and to the nurse who recorded them; dates are Vietnam time, both "
    "ends included."
)

# --- 8. IV bag status -------------------------------------------------------------------------


def _iv_cells(row: selectors.IvBagRow) -> tuple[Cell, ...]:
    return (
        row.hung,
        row.completed,
        row.stopped,
        row.infusing,
        row.volume_infused_ml,
        row.rate_changes,
        row.rate_outside_order,
    )


def build_iv_bags(filters: ReportFilter, now: datetime) -> ReportContent:
    report = selectors.report_iv_bags(filters=filters, now=now)
    total = report.total
    return ReportContent(
        headlines=[
            Headline(_("Bags hung"), total.hung),
            Headline(_("Bags infusing now"), total.infusing),
            Headline(_("Bags stopped early"), total.stopped, tone="warn" if total.stopped else ""),
            Headline(
                _("Rate outside the order"),
                total.rate_outside_order,
                tone="warn" if total.rate_outside_order else "",
            ),
        ],
        tables=[
            Table(
                slug="medications",
                title=_("By medication"),
                columns=(
                    _("Medication"),
                    _("Bags hung"),
                    _("Bags completed"),
                    _("Bags stopped early"),
                    _("Bags infusing now"),
                    _("Volume infused (mL)"),
                    _("Rate changes"),
                    _("Rate outside the order"),
                ),
                rows=[(row.medication, *_iv_cells(row)) for row in report.rows]
                + [(_("Total"), *_iv_cells(total))],
                has_total=True,
            ),
            Table(
                slug="infusing",
                title=_("Bags infusing now"),
                columns=(
                    _("Patient"),
                    _("Bed"),
                    _("Medication"),
                    _("Line"),
                    _("State"),
                    _("Rate (mL/h)"),
                    _("Elapsed"),
                    _("Expected end"),
                ),
                rows=[
                    (
                        bag["patient"],
                        bag["bed"],
                        bag["medication"],
                        bag["line"],
                        _("Running") if bag["state"] == "running" else _("Paused"),
                        bag["rate_ml_h"],
                        bag["elapsed_minutes"],
                        _local(bag["expected_end_at"]),
                    )
                    for bag in report.infusing_now
                ],
            ),
        ],
        chart=charts.BarChart(
            title=_("IV bag status"),
            categories=tuple(row.medication for row in report.rows),
            series=(
                charts.Series(
                    name=_("Bags completed"),
                    values=tuple(row.completed for row in report.rows),
                    color=charts.BLUE,
                    labels=tuple(_number(row.completed) for row in report.rows),
                ),
                charts.Series(
                    name=_("Bags stopped early"),
                    values=tuple(row.stopped for row in report.rows),
                    color=charts.ORANGE,
                    labels=tuple(_number(row.stopped) for row in report.rows),
                ),
                charts.Series(
                    name=_("Bags infusing now"),
                    values=tuple(row.infusing for row in report.rows),
                    color=charts.GREY,
                    labels=tuple(_number(row.infusing) for row in report.rows),
                ),
            ),
            axis_label=_("Count"),
            empty_text=_("No infusion bag hung in this period."),
        ),
    )


# --- Variances --------------------------------------------------------------------------------

# A kind of variance added to selectors.VARIANCE_SELECTORS gets its words and colour here.
VARIANCE_LABELS = {
    selectors.VARIANCE_EARLY: gettext_lazy("Given early"),
    selectors.VARIANCE_LATE: gettext_lazy("Given late"),
    selectors.VARIANCE_OVERRIDE: gettext_lazy("Warning overridden"),
    selectors.VARIANCE_HOLD: gettext_lazy("Held (clinical)"),
    selectors.VARIANCE_LATE_REASSESSMENT: gettext_lazy("PRN reassessed late"),
}
VARIANCE_COLOURS = {
    selectors.VARIANCE_EARLY: charts.AMBER,
    selectors.VARIANCE_LATE: charts.ORANGE,
    selectors.VARIANCE_OVERRIDE: charts.PURPLE,
    selectors.VARIANCE_HOLD: charts.GREY,
    selectors.VARIANCE_LATE_REASSESSMENT: charts.BLUE,
}


def variance_label(kind: str) -> str:
    return str(VARIANCE_LABELS.get(kind, kind))


def variance_reason_label(line: selectors.VarianceLine) -> str:
    """The reason in words: an override's reason, or the not-given reason."""
    if line.kind == selectors.VARIANCE_HOLD:
        return not_given_label(line.reason)
    return override_reason_label(line.reason) if line.reason else ""


def _variance_table(
    slug: str, title: str, first: str, groups: list[selectors.VarianceGroup], kinds
) -> Table:
    return Table(
        slug=slug,
        title=title,
        columns=(first, *(variance_label(kind) for kind in kinds), _("Variances")),
        rows=[
            (group.label, *(group.counts.get(kind, 0) for kind in kinds), group.total)
            for group in groups
        ],
    )


def build_variances(filters: ReportFilter, now: datetime) -> ReportContent:
    report = selectors.report_variances(filters=filters, now=now)
    kinds = report.kinds
    return ReportContent(
        headlines=[
            Headline(_("Variances"), len(report.lines), tone="warn" if report.lines else "good"),
            *(Headline(variance_label(kind), report.count(kind)) for kind in kinds),
        ],
        tables=[
            Table(
                slug="variances",
                title=_("Every variance, with its reason"),
                columns=(
                    _("At"),
                    _("Variance"),
                    _("Ward"),
                    _("Nurse"),
                    _("Medication"),
                    _("Patient"),
                    _("MRN"),
                    _("Code"),
                    _("Due at"),
                    _("Minutes from due time"),
                    _("Reason code"),
                    _("Reason"),
                    _("Comment"),
                ),
                rows=[
                    (
                        _local(line.at),
                        variance_label(line.kind),
                        line.ward_code,
                        line.nurse,
                        line.medication,
                        line.patient_name,
                        line.mrn,
                        line.code,
                        _local(line.due_at),
                        line.minutes,
                        line.reason,
                        variance_reason_label(line),
                        line.comment,
                    )
                    for line in report.lines
                ],
                nowrap_columns=frozenset({0, 8}),
            ),
            _variance_table("wards", _("By ward"), _("Ward"), report.by_ward, kinds),
            _variance_table("nurses", _("By nurse"), _("Nurse"), report.by_nurse, kinds),
            _variance_table("drugs", _("By medication"), _("Medication"), report.by_drug, kinds),
        ],
        chart=charts.BarChart(
            title=_("Variances by ward"),
            categories=tuple(group.label for group in report.by_ward),
            series=tuple(
                charts.Series(
                    name=variance_label(kind),
                    values=tuple(group.counts.get(kind, 0) for group in report.by_ward),
                    color=VARIANCE_COLOURS.get(kind, charts.BLUE),
                    labels=tuple(_number(group.counts.get(kind, 0)) for group in report.by_ward),
                )
                for kind in kinds
            ),
            axis_label=_("Variances"),
            empty_text=_("No variances in this period."),
        ),
    )


REPORTS: dict[str, ReportDefinition] = {
    report.slug: report
    for report in (
        ReportDefinition(
            slug="scan-compliance",
            title=gettext_lazy("Scan compliance"),
            summary=gettext_lazy(
                "How often the wristband and the medication were scanned rather than typed, for "
                "each ward and nurse."
            ),
            definitions=(
                (
                    gettext_lazy("Doses given"),
                    gettext_lazy(
                        "Doses recorded as given at the bedside in the period that still count."
                    ),
                ),
                (
                    gettext_lazy("Wristband scanned"),
                    gettext_lazy(
                        "Doses whose recording shows the patient's wristband read by a scanner or "
                        "camera. A wristband typed by hand (the KEYED_ENTRY warning), or a record "
                        "with no scan event at all, is 'not scanned'."
                    ),
                ),
                (
                    gettext_lazy("Medication scanned"),
                    gettext_lazy(
                        "Doses whose every administered unit was scanned. One typed unit makes "
                        "the dose 'medication typed'."
                    ),
                ),
                (
                    gettext_lazy("Both scanned"),
                    gettext_lazy("Doses with the wristband and every unit scanned."),
                ),
                (
                    gettext_lazy("Percentages"),
                    gettext_lazy("Of doses given; a dash when there were none."),
                ),
            ),
            build=build_scan_compliance,
        ),
        ReportDefinition(
            slug="overrides",
            title=gettext_lazy("Overrides by finding"),
            summary=gettext_lazy(
                "Warnings the nurse accepted with a reason, by finding code and reason."
            ),
            definitions=(
                (
                    gettext_lazy("Overrides"),
                    gettext_lazy(
                        "One per warning accepted on a dose given that still counts (a dose may "
                        "carry several: late and typed, for instance)."
                    ),
                ),
                (
                    gettext_lazy("Doses with an override"),
                    gettext_lazy("Doses given with at least one override."),
                ),
                (
                    gettext_lazy("Per 100 doses given"),
                    gettext_lazy("Overrides of that finding for every 100 doses given."),
                ),
            ),
            build=build_overrides,
        ),
        ReportDefinition(
            slug="dose-timing",
            title=gettext_lazy("Missed and late doses"),
            summary=gettext_lazy(
                "Scheduled doses due in the period and what became of them, against each "
                "ward's time window."
            ),
            definitions=(
                (
                    gettext_lazy("Doses due"),
                    gettext_lazy(
                        "Scheduled doses due in the period, cancelled ones left out (PRN doses "
                        "are not scheduled)."
                    ),
                ),
                (
                    gettext_lazy("On time / early / late"),
                    gettext_lazy(
                        "Given inside the ward's window around the due time (the time-critical "
                        "window for time-critical medications; exactly on the edge is inside), "
                        "before it or after it."
                    ),
                ),
                (
                    gettext_lazy("Reported not given"),
                    gettext_lazy("Not given, with a reason (refused, held, NPO…)."),
                ),
                (
                    gettext_lazy("Missed"),
                    gettext_lazy(
                        "Nothing recorded and more than 4 hours past the window's end, as the "
                        "cart shows it."
                    ),
                ),
                (
                    gettext_lazy("Still open"),
                    gettext_lazy("Nothing recorded yet, still due or overdue now."),
                ),
                (
                    gettext_lazy("Minutes after due time"),
                    gettext_lazy("From the due time to the recorded administration time."),
                ),
            ),
            build=build_dose_timing,
        ),
        ReportDefinition(
            slug="not-given",
            title=gettext_lazy("Not given by reason"),
            summary=gettext_lazy("Doses documented as not given, by the reason chosen."),
            definitions=(
                (
                    gettext_lazy("Doses not given"),
                    gettext_lazy(
                        "Not-given records in the period that were not withdrawn as entered in "
                        "error."
                    ),
                ),
                (gettext_lazy("Share %"), gettext_lazy("Of all doses not given in the period.")),
            ),
            build=build_not_given,
        ),
        ReportDefinition(
            slug="unable-to-scan",
            title=gettext_lazy("Unable to scan"),
            summary=gettext_lazy(
                "Codes typed because they could not be scanned, by reason and product: damaged "
                "labels and products without a barcode for the pharmacy to fix."
            ),
            definitions=(
                (
                    gettext_lazy("Reason"),
                    gettext_lazy(
                        "The reason the nurse chose for the KEYED_ENTRY warning (damaged barcode, "
                        "no barcode, scanner failure, other)."
                    ),
                ),
                (
                    gettext_lazy("Doses"),
                    gettext_lazy("Doses given with that product (or the wristband) typed."),
                ),
                (
                    gettext_lazy("Units typed"),
                    gettext_lazy("Units of that product typed: a two-tablet dose may count two."),
                ),
            ),
            build=build_unable_to_scan,
        ),
        ReportDefinition(
            slug="prn",
            title=gettext_lazy("PRN use"),
            summary=gettext_lazy("As-needed medication given, by medication."),
            definitions=(
                (
                    gettext_lazy("Patients with a PRN order"),
                    gettext_lazy(
                        "Patients with a verified PRN order for the medication in force at some "
                        "time in the period (not filtered by nurse)."
                    ),
                ),
                (
                    gettext_lazy("Patient-days with use"),
                    gettext_lazy(
                        "Distinct (patient, local date) pairs with at least one dose given."
                    ),
                ),
                (
                    gettext_lazy("Doses per patient-day with use"),
                    gettext_lazy("Doses given divided by patient-days with use."),
                ),
            ),
            build=build_prn,
        ),
        ReportDefinition(
            slug="prn-effectiveness",
            title=gettext_lazy("PRN effectiveness"),
            summary=gettext_lazy(
                "Whether each PRN dose's effect was reassessed, on time, and how well it worked, "
                "by medication and ward."
            ),
            definitions=(
                (
                    gettext_lazy("Due"),
                    gettext_lazy(
                        "A PRN dose's effect is due to be reassessed a set time after it was "
                        "given, by its route (settings PRN_REASSESS_MINUTES: 30 min IV, IM, SC, "
                        "60 min PO by default)."
                    ),
                ),
                (
                    gettext_lazy("Reassessed late"),
                    gettext_lazy(
                        "Documented more than the grace (PRN_REASSESS_GRACE_MINUTES, 15 min by "
                        "default) after it was due: a variance. Minutes late count from the due "
                        "time."
                    ),
                ),
                (
                    gettext_lazy("Not reassessed"),
                    gettext_lazy(
                        "Past its due time plus the grace and not documented; doses not yet that "
                        "far are not yet due."
                    ),
                ),
                (
                    gettext_lazy("Effective share"),
                    gettext_lazy("Doses reassessed as effective among the doses reassessed."),
                ),
            ),
            build=build_prn_effectiveness,
        ),
        ReportDefinition(
            slug="controlled-drug-waste",
            title=gettext_lazy("Controlled-drug waste"),
            summary=gettext_lazy(
                "What was destroyed of the units scanned (the rest of an ampoule), by drug, "
                "nurse and ward, with its witness: the pharmacy's controlled-drug register."
            ),
            definitions=(
                (
                    gettext_lazy("Waste"),
                    gettext_lazy(
                        "Documented with the dose or later, once per record; given plus wasted is "
                        "what the units held. Counted on the day it was wasted; the nurse filter "
                        "is the nurse who wasted it."
                    ),
                ),
                (
                    gettext_lazy("Without a witness"),
                    gettext_lazy(
                        "Wastes with no second nurse: allowed only for drugs neither controlled "
                        "nor high-alert (the bedside refuses the others)."
                    ),
                ),
            ),
            build=build_waste,
        ),
        ReportDefinition(
            slug="allergy-acknowledgements",
            title=gettext_lazy("Verified despite an allergy"),
            summary=gettext_lazy(
                "Orders a pharmacist verified although the patient is documented as allergic to "
                "the substance or its class: who, when and why."
            ),
            definitions=(
                (
                    gettext_lazy("Acknowledgement"),
                    gettext_lazy(
                        "Recorded when the order is verified: the pharmacist, the time, the reason "
                        "chosen and the allergies as they were shown then. By the patient's ward; "
                        "the nurse filter does not apply."
                    ),
                ),
                (
                    gettext_lazy("Of them severe"),
                    gettext_lazy(
                        "Acknowledgements naming a severe allergy: the bedside still refuses "
                        "these doses (ALLERGY stop)."
                    ),
                ),
            ),
            build=build_allergy_acknowledgements,
        ),
        ReportDefinition(
            slug="iv-bags",
            title=gettext_lazy("IV bag status"),
            summary=gettext_lazy(
                "Infusion bags hung in the period, by medication: completed, stopped early or "
                "still infusing, the volume they gave and their rate changes."
            ),
            definitions=(
                (
                    gettext_lazy("Bags hung"),
                    gettext_lazy(
                        "Bags scanned and hung at the bedside in the period (a hanging entered in "
                        "error does not count), by the ward and nurse who hung them."
                    ),
                ),
                (
                    gettext_lazy("Volume infused (mL)"),
                    gettext_lazy(
                        "For a bag taken down, the volume recorded then (the pump's reading, else "
                        "rate × running time); for a bag still running, rate × time so far."
                    ),
                ),
                (
                    gettext_lazy("Rate outside the order"),
                    gettext_lazy(
                        "Hangs and rate changes set at a rate other than the ordered one, with "
                        "the nurse's reason (INFUSION_RATE_OUTSIDE_ORDER)."
                    ),
                ),
            ),
            build=build_iv_bags,
        ),
        ReportDefinition(
            slug="overdue-removals",
            title=gettext_lazy("Overdue removals"),
            summary=gettext_lazy(
                "Patches, rings and implants still on patients after their removal time, now."
            ),
            definitions=(
                (
                    gettext_lazy("On the patient"),
                    gettext_lazy(
                        "Given with a product that requires removal, not entered in error, and "
                        "with no removal documented."
                    ),
                ),
                (
                    gettext_lazy("Removal due"),
                    gettext_lazy(
                        "The time it was applied plus the product's wear time. Due exactly now "
                        "counts as overdue. A state at this moment: the dates do not apply."
                    ),
                ),
            ),
            build=build_overdue_removals,
        ),
        ReportDefinition(
            slug="missing-doses",
            title=gettext_lazy("Missing doses"),
            summary=gettext_lazy(
                "Doses the wards asked the pharmacy for because they were not on the cart, "
                "damaged or the wrong strength: by ward, medication and reason, and how long "
                "the pharmacy took to send them."
            ),
            definitions=(
                (
                    gettext_lazy("Requested"),
                    gettext_lazy(
                        "Requests made at the cart in the period, counted on the ward the patient "
                        "was on then; the nurse filter is the nurse who asked. Two nurses asking "
                        "for one dose make one request."
                    ),
                ),
                (
                    gettext_lazy("Sent"),
                    gettext_lazy(
                        "Requests a pharmacist marked sent (at any time since). Minutes to send: "
                        "from the request to the pharmacist marking it sent."
                    ),
                ),
            ),
            build=build_missing_doses,
        ),
        ReportDefinition(
            slug="verbal-orders",
            title=gettext_lazy("Unsigned verbal orders"),
            summary=gettext_lazy(
                "Verbal and telephone orders the nurses documented at the bedside: by ward and "
                "prescriber, how many the prescriber has co-signed, and how long the others "
                "have waited."
            ),
            definitions=(
                (
                    gettext_lazy("Documented"),
                    gettext_lazy(
                        "Verbal and telephone orders documented at the cart in the period, on the "
                        "ward of the patient's admission; the nurse filter is the nurse who took "
                        "the order."
                    ),
                ),
                (
                    gettext_lazy("Unsigned"),
                    gettext_lazy(
                        "Not co-signed by the prescriber yet (a pharmacist records the signature "
                        "in the pharmacy site). Beyond the co-sign time (VERBAL_ORDER_COSIGN_HOURS)"
                        " each further dose asks the nurse for a reason (VERBAL_ORDER_UNSIGNED)."
                    ),
                ),
            ),
            build=build_verbal_orders,
        ),
        ReportDefinition(
            slug="variances",
            title=gettext_lazy("Variances"),
            summary=gettext_lazy(
                "Every dose given early or late, every warning overridden and every dose held, "
                "each with its reason: by ward, nurse and medication."
            ),
            definitions=(
                (
                    gettext_lazy("Given early / late"),
                    gettext_lazy(
                        "A scheduled dose given before or after the ward's window around its due "
                        "time, as in Missed and late doses; the reason is the one given for "
                        "TOO_EARLY or TOO_LATE at the bedside. Minutes are from the due time "
                        "(negative: early)."
                    ),
                ),
                (
                    gettext_lazy("Warning overridden"),
                    gettext_lazy(
                        "Every other warning accepted with a reason on a dose that counts as "
                        "given, as in Overrides by finding (TOO_EARLY and TOO_LATE are counted "
                        "once, as early or late)."
                    ),
                ),
                (
                    gettext_lazy("Held (clinical)"),
                    gettext_lazy(
                        "Doses documented not given because they were held for a clinical "
                        "reason (a hold parameter met, or the nurse's judgement), not withdrawn."
                    ),
                ),
                (
                    gettext_lazy("PRN reassessed late"),
                    gettext_lazy(
                        "A PRN dose whose effect was reassessed more than the grace "
                        "(PRN_REASSESS_GRACE_MINUTES) after it was due, as in PRN effectiveness; "
                        "minutes are from the due time, the nurse is the one who reassessed."
                    ),
                ),
                (
                    gettext_lazy("Ward and nurse"),
                    gettext_lazy(
                        "The ward of the admission and the nurse who recorded the dose (for a "
                        "late dose, the nurse who gave it)."
                    ),
                ),
            ),
            build=build_variances,
        ),
    )
}
