"""Reads for the pharmacy reports and the ward dashboard.

Each report is a fixed number of queries whatever the data: the database groups and counts (by
annotated yes/no facts where needed, as SQLite cannot aggregate over correlated subqueries);
Python only adds up those groups, never one row per record.

What counts (the same everywhere, and stated on every page):

- A dose **given** is a "completed" administration that still counts (`counting_given`: not
  withdrawn as entered in error). A correction's replacement counts instead of the record it
  replaces, so a corrected dose counts once.
- Questions about how a given dose was *scanned* (wristband, units, overrides) are answered by its
  **bedside record**: the completed record that holds the administered units, written by
  `administration_record` with its scan event and overrides. A replacement written by
  `administration_correct` holds none of these; it copies the order, performer and
  `administered_at` of the record it replaces, which is how its bedside record is found, through
  any number of corrections, in one query.
- A record belongs to its admission's ward and to its performer (the nurse who recorded it); dates
  are local (Asia/Ho_Chi_Minh) and both ends of a range are included.
"""

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import TruncDate
from django.utils import timezone

from pharmacy.models import (
    AllergyAcknowledgement,
    DoseState,
    MedicationOrder,
    OrderStatus,
    ScheduledDose,
    ScheduleKind,
)
from scanning.models import (
    AdministeredUnit,
    Administration,
    AdministrationStatus,
    InfusionEvent,
    MissingDoseRequest,
    MissingDoseState,
    Override,
    PrnReassessment,
    ScanEvent,
    ScanPurpose,
    Waste,
)
from scanning.reassessments import reassessment_due_at, reassessments_due
from scanning.selectors import (
    OVERDUE_BEFORE_MISSED,
    bag_summary,
    bags_ending,
    bags_read,
    checks_unrecorded,
    dose_list_due_for_ward,
    removals_overdue,
)
from wards.models import Admission, Ward, Wristband

KEYED_ENTRY = "KEYED_ENTRY"


def local_day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_default_timezone())


def local_today(now: datetime) -> date:
    return timezone.localtime(now, timezone.get_default_timezone()).date()


def staff_name(first_name: str, last_name: str, username: str) -> str:
    """Vietnamese order: family and middle names first ("Nguyễn Thị" "Hoa")."""
    return f"{last_name} {first_name}".strip() or username


def staff_name_of(user) -> str:
    """A staff member's name as the reports write it; "" for nobody (no witness)."""
    return staff_name(user.first_name, user.last_name, user.username) if user else ""


@dataclass(frozen=True)
class ReportFilter:
    """Local dates, both included; optionally one ward and one nurse (the performer)."""

    date_from: date
    date_to: date
    ward: Ward | None = None
    nurse: object | None = None  # a User
    # The wards the reader may see (backoffice/tenancy.py): None for the whole province.
    wards: QuerySet[Ward] | None = None

    def within(self, rows: QuerySet, ward_path: str) -> QuerySet:
        """`rows` of the chosen ward, and of the reader's hospitals only."""
        if self.ward is not None:
            rows = rows.filter(**{ward_path: self.ward})
        if self.wards is not None:
            rows = rows.filter(**{f"{ward_path}__in": self.wards.values("pk")})
        return rows

    @property
    def start(self) -> datetime:
        return local_day_start(self.date_from)

    @property
    def end(self) -> datetime:
        """Exclusive: local midnight after `date_to`."""
        return local_day_start(self.date_to + timedelta(days=1))


def _records(filters: ReportFilter) -> QuerySet[Administration]:
    records = Administration.objects.filter(
        administered_at__gte=filters.start, administered_at__lt=filters.end
    )
    records = filters.within(records, "admission__ward")
    if filters.nurse is not None:
        records = records.filter(performer=filters.nurse)
    return records


def _counting_bedside(records: QuerySet[Administration]) -> QuerySet[Administration]:
    """Bedside records of doses that count as given, each annotated with how it was identified:
    `band_scanned` (the record's scan event shows the wristband came from a scanner, not typed;
    no scan event is no proof, so not scanned; the audit lists the patient slot first) and
    `units_keyed` (at least one unit typed)."""
    still_counts = Administration.objects.filter(
        order=OuterRef("order"),
        performer=OuterRef("performer"),
        administered_at=OuterRef("administered_at"),
    ).counting_given()
    return (
        records.filter(status=AdministrationStatus.COMPLETED)
        .filter(Exists(AdministeredUnit.objects.filter(administration=OuterRef("pk"))))
        .filter(Exists(still_counts))
        .annotate(
            band_scanned=Exists(
                ScanEvent.objects.filter(
                    administration=OuterRef("pk"),
                    purpose=ScanPurpose.RECORD,
                    scans__0__slot="patient",
                    scans__0__keyed=False,
                )
            ),
            units_keyed=Exists(
                AdministeredUnit.objects.filter(administration=OuterRef("pk"), scanned=False)
            ),
        )
    )


def percent_of(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(100) * part / whole).quantize(Decimal("0.1"))


# --- 1. Scan compliance -----------------------------------------------------------------------


@dataclass
class ComplianceRow:
    key: str
    label: str
    given: int = 0
    band_scanned: int = 0
    medication_scanned: int = 0
    fully_scanned: int = 0

    def add(self, other: "ComplianceRow") -> None:
        self.given += other.given
        self.band_scanned += other.band_scanned
        self.medication_scanned += other.medication_scanned
        self.fully_scanned += other.fully_scanned

    @property
    def band_not_scanned(self) -> int:
        return self.given - self.band_scanned

    @property
    def medication_keyed(self) -> int:
        return self.given - self.medication_scanned

    @property
    def band_rate(self) -> Decimal | None:
        return percent_of(self.band_scanned, self.given)

    @property
    def medication_rate(self) -> Decimal | None:
        return percent_of(self.medication_scanned, self.given)

    @property
    def full_rate(self) -> Decimal | None:
        return percent_of(self.fully_scanned, self.given)


@dataclass
class ScanComplianceReport:
    total: ComplianceRow
    by_ward: list[ComplianceRow]
    by_nurse: list[ComplianceRow]


def report_scan_compliance(*, filters: ReportFilter) -> ScanComplianceReport:
    """One query: counts per (ward, nurse), summed here into wards, nurses and the total."""
    # Grouped by the two yes/no facts too: SQLite cannot aggregate over correlated subqueries.
    rows = (
        _counting_bedside(_records(filters))
        .values(
            "admission__ward__code",
            "admission__ward__name",
            "performer__username",
            "performer__first_name",
            "performer__last_name",
            "band_scanned",
            "units_keyed",
        )
        .annotate(n=Count("pk"))
        .order_by()
    )
    total = ComplianceRow(key="", label="")
    wards: dict[str, ComplianceRow] = {}
    nurses: dict[str, ComplianceRow] = {}
    for row in rows:
        n = row["n"]
        counts = ComplianceRow(
            key="",
            label="",
            given=n,
            band_scanned=n if row["band_scanned"] else 0,
            medication_scanned=0 if row["units_keyed"] else n,
            fully_scanned=n if row["band_scanned"] and not row["units_keyed"] else 0,
        )
        ward_code = row["admission__ward__code"]
        username = row["performer__username"]
        wards.setdefault(
            ward_code,
            ComplianceRow(key=ward_code, label=f"{ward_code} – {row['admission__ward__name']}"),
        ).add(counts)
        nurses.setdefault(
            username,
            ComplianceRow(
                key=username,
                label=staff_name(
                    row["performer__first_name"], row["performer__last_name"], username
                ),
            ),
        ).add(counts)
        total.add(counts)
    return ScanComplianceReport(
        total=total,
        by_ward=sorted(wards.values(), key=lambda r: r.key),
        by_nurse=sorted(nurses.values(), key=lambda r: (r.label, r.key)),
    )


# --- 2. Overrides by finding code -------------------------------------------------------------


@dataclass
class OverrideRow:
    code: str
    count: int
    reasons: dict[str, int]
    doses_given: int

    @property
    def rate(self) -> Decimal | None:
        """Overrides of this code per 100 doses given."""
        return percent_of(self.count, self.doses_given)


@dataclass
class OverrideReport:
    doses_given: int
    doses_with_override: int
    rows: list[OverrideRow]

    @property
    def total(self) -> int:
        return sum(row.count for row in self.rows)

    @property
    def doses_with_override_rate(self) -> Decimal | None:
        return percent_of(self.doses_with_override, self.doses_given)


def report_overrides(*, filters: ReportFilter) -> OverrideReport:
    """Two queries: doses given (with and without overrides), then overrides by code and reason."""
    bedside = _counting_bedside(_records(filters))
    given = with_override = 0
    for row in (
        bedside.annotate(
            has_override=Exists(Override.objects.filter(administration=OuterRef("pk")))
        )
        .values("has_override")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        given += row["n"]
        with_override += row["n"] if row["has_override"] else 0
    by_code: dict[str, OverrideRow] = {}
    for row in (
        Override.objects.filter(administration__in=bedside.values("pk"))
        .values("finding_code", "reason")
        .annotate(n=Count("pk"))
        .order_by("finding_code", "reason")
    ):
        entry = by_code.setdefault(
            row["finding_code"],
            OverrideRow(code=row["finding_code"], count=0, reasons={}, doses_given=given),
        )
        entry.count += row["n"]
        entry.reasons[row["reason"]] = row["n"]
    return OverrideReport(
        doses_given=given,
        doses_with_override=with_override,
        rows=sorted(by_code.values(), key=lambda r: (-r.count, r.code)),
    )


# --- 3. Missed and late doses -----------------------------------------------------------------

OUTCOMES = ("on_time", "early", "late", "not_given", "missed", "open")


def _dose_outcomes(
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    ward: Ward | None = None,
    nurse=None,
    wards: QuerySet[Ward] | None = None,
) -> QuerySet[ScheduledDose]:
    """Scheduled doses due in [start, end), not cancelled, each annotated with `outcome`:

    - on_time / early / late: the dose's counting given record was made inside the ward's window
      around `due_at` (time-critical medications use the narrower window; exactly on the edge is
      inside), before it, or after it;
    - not_given: no given record, a counting not-given record;
    - missed: neither, and more than the window plus 4 hours have passed (the cart's "missed");
    - open: neither, still due or overdue at `now`.

    A dose with no record that was never due (its order unverified when it fell due, or the
    patient deceased by then) is left out.

    With a nurse, only doses whose counting record that nurse made: a missed dose has no nurse."""
    records = Administration.objects.filter(scheduled_dose=OuterRef("pk")).order_by(
        "administered_at", "pk"
    )
    given = records.counting_given()
    not_given = records.counting_not_given()
    window_minutes = Case(
        When(
            order__medication__time_critical=True,
            then=F("order__admission__ward__time_critical_window_minutes"),
        ),
        default=F("order__admission__ward__window_minutes"),
        output_field=IntegerField(),
    )
    doses = (
        ScheduledDose.objects.filter(due_at__gte=start, due_at__lt=end)
        .exclude(state=DoseState.CANCELLED)
        # A dose due after the patient left was never due (discharge does not cancel doses).
        .filter(
            Q(order__admission__discharged_at__isnull=True)
            | Q(due_at__lt=F("order__admission__discharged_at"))
        )
        .annotate(
            window=ExpressionWrapper(
                window_minutes * Value(timedelta(minutes=1)), output_field=DurationField()
            ),
            given_at=Subquery(given.values("administered_at")[:1]),
            given_by=Subquery(given.values("performer_id")[:1]),
            not_given_by=Subquery(not_given.values("performer_id")[:1]),
        )
        .annotate(
            window_opens=ExpressionWrapper(F("due_at") - F("window"), output_field=DateTimeField()),
            window_closes=ExpressionWrapper(
                F("due_at") + F("window"), output_field=DateTimeField()
            ),
        )
    )
    # Nothing recorded for a dose that was never due is no missed dose: its order was not
    # verified by then (pending, or verified later), or the patient had died.
    doses = doses.exclude(
        Q(given_at__isnull=True, not_given_by__isnull=True)
        & (
            Q(order__verified_at__isnull=True)
            | Q(order__verified_at__gt=F("due_at"))
            | Q(order__admission__patient__deceased_at__lte=F("due_at"))
        )
    )
    doses = doses.annotate(
        outcome=Case(
            When(given_at__lt=F("window_opens"), then=Value("early")),
            When(given_at__gt=F("window_closes"), then=Value("late")),
            When(given_at__isnull=False, then=Value("on_time")),
            When(not_given_by__isnull=False, then=Value("not_given")),
            When(window_closes__lt=now - OVERDUE_BEFORE_MISSED, then=Value("missed")),
            default=Value("open"),
        )
    )
    if ward is not None:
        doses = doses.filter(order__admission__ward=ward)
    if wards is not None:
        doses = doses.filter(order__admission__ward__in=wards.values("pk"))
    if nurse is not None:
        doses = doses.filter(Q(given_by=nurse.pk) | Q(given_at__isnull=True, not_given_by=nurse.pk))
    return doses


@dataclass
class TimingRow:
    key: str
    label: str
    due: int = 0
    on_time: int = 0
    early: int = 0
    late: int = 0
    not_given: int = 0
    missed: int = 0
    open: int = 0

    def add(self, other: "TimingRow") -> None:
        for name in ("due", *OUTCOMES):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def given(self) -> int:
        return self.on_time + self.early + self.late

    @property
    def on_time_rate(self) -> Decimal | None:
        """On time among doses given."""
        return percent_of(self.on_time, self.given)


@dataclass(frozen=True)
class DoseLine:
    due_at: datetime
    ward_code: str
    bed: str
    patient_name: str
    mrn: str
    medication: str
    time_critical: bool
    outcome: str
    given_at: datetime | None
    nurse: str

    @property
    def minutes_late(self) -> int | None:
        if self.given_at is None:
            return None
        return int((self.given_at - self.due_at).total_seconds() // 60)


@dataclass
class DoseTimingReport:
    total: TimingRow
    by_ward: list[TimingRow]
    exceptions: list[DoseLine]  # late and missed doses, oldest first
    nurse_filtered: bool


def report_dose_timing(*, filters: ReportFilter, now: datetime) -> DoseTimingReport:
    """Two queries: outcome counts per ward, then the late and missed doses themselves."""
    doses = _dose_outcomes(
        start=filters.start,
        end=filters.end,
        now=now,
        ward=filters.ward,
        nurse=filters.nurse,
        wards=filters.wards,
    )
    counts = (
        doses.values("order__admission__ward__code", "order__admission__ward__name", "outcome")
        .annotate(n=Count("pk"))
        .order_by()
    )
    wards: dict[str, TimingRow] = {}
    for row in counts:
        code = row["order__admission__ward__code"]
        ward_row = wards.setdefault(
            code, TimingRow(key=code, label=f"{code} – {row['order__admission__ward__name']}")
        )
        ward_row.due += row["n"]
        setattr(ward_row, row["outcome"], getattr(ward_row, row["outcome"]) + row["n"])
    by_ward = sorted(wards.values(), key=lambda r: r.key)
    total = TimingRow(key="", label="")
    for ward_row in by_ward:
        total.add(ward_row)
    given = (
        Administration.objects.filter(scheduled_dose=OuterRef("pk"))
        .counting_given()
        .order_by("administered_at", "pk")
    )
    late_or_missed = list(
        doses.filter(outcome__in=["late", "missed"])
        .annotate(
            nurse_first=Subquery(given.values("performer__first_name")[:1]),
            nurse_last=Subquery(given.values("performer__last_name")[:1]),
            nurse_username=Subquery(given.values("performer__username")[:1]),
        )
        .select_related(
            "order__medication",
            "order__admission__ward",
            "order__admission__bed",
            "order__admission__patient",
        )
        .order_by("due_at", "pk")
    )
    exceptions = [
        DoseLine(
            due_at=dose.due_at,
            ward_code=dose.order.admission.ward.code,
            bed=dose.order.admission.bed.code if dose.order.admission.bed else "",
            patient_name=dose.order.admission.patient.full_name,
            mrn=dose.order.admission.mrn,
            medication=dose.order.medication.name,
            time_critical=dose.order.medication.time_critical,
            outcome=dose.outcome,
            given_at=dose.given_at,
            nurse=staff_name(
                dose.nurse_first or "", dose.nurse_last or "", dose.nurse_username or ""
            ),
        )
        for dose in late_or_missed
    ]
    return DoseTimingReport(
        total=total,
        by_ward=by_ward,
        exceptions=exceptions,
        nurse_filtered=filters.nurse is not None,
    )


# --- 4. Not given by reason -------------------------------------------------------------------


@dataclass
class NotGivenReport:
    rows: list[tuple[str, int]]  # (reason, records), most frequent first

    @property
    def total(self) -> int:
        return sum(count for _reason, count in self.rows)


def report_not_given(*, filters: ReportFilter) -> NotGivenReport:
    """One query: not-given records that still count (not withdrawn), by reason."""
    rows = (
        _records(filters)
        .counting_not_given()
        .values("reason")
        .annotate(n=Count("pk"))
        .order_by("-n", "reason")
    )
    return NotGivenReport(rows=[(row["reason"], row["n"]) for row in rows])


# --- 5. Unable to scan by reason and product --------------------------------------------------

WRISTBAND = ""  # the "product" of a typed wristband


@dataclass(frozen=True)
class UnableToScanRow:
    reason: str
    gtin: str  # WRISTBAND for the patient's band
    product: str
    doses: int
    units: int  # typed units (0 for the wristband)


@dataclass
class UnableToScanReport:
    rows: list[UnableToScanRow]
    doses_by_reason: dict[str, int]  # doses given with a KEYED_ENTRY override, by its reason

    @property
    def doses(self) -> int:
        return sum(self.doses_by_reason.values())


def report_unable_to_scan(*, filters: ReportFilter) -> UnableToScanReport:
    """Three queries: typed units by reason and product, typed wristbands by reason, and doses
    given with a KEYED_ENTRY override by reason."""
    bedside = _counting_bedside(_records(filters))
    keyed_reason = Subquery(
        Override.objects.filter(
            administration=OuterRef("administration"), finding_code=KEYED_ENTRY
        ).values("reason")[:1]
    )
    unit_rows = (
        AdministeredUnit.objects.filter(scanned=False, administration__in=bedside.values("pk"))
        .annotate(keyed_reason=keyed_reason)
        .values("keyed_reason", "gtin", "package__medication__name")
        .annotate(units=Count("pk"), doses=Count("administration", distinct=True))
        .order_by()
    )
    band_rows = (
        bedside.filter(band_scanned=False)
        .annotate(
            keyed_reason=Subquery(
                Override.objects.filter(
                    administration=OuterRef("pk"), finding_code=KEYED_ENTRY
                ).values("reason")[:1]
            )
        )
        .values("keyed_reason")
        .annotate(doses=Count("pk"))
        .order_by()
    )
    by_reason = (
        Override.objects.filter(finding_code=KEYED_ENTRY, administration__in=bedside.values("pk"))
        .values("reason")
        .annotate(doses=Count("administration", distinct=True))
        .order_by()
    )
    rows = [
        UnableToScanRow(
            reason=row["keyed_reason"] or "",
            gtin=row["gtin"],
            product=row["package__medication__name"],
            doses=row["doses"],
            units=row["units"],
        )
        for row in unit_rows
    ] + [
        UnableToScanRow(
            reason=row["keyed_reason"] or "",
            gtin=WRISTBAND,
            product="",
            doses=row["doses"],
            units=0,
        )
        for row in band_rows
    ]
    return UnableToScanReport(
        rows=sorted(rows, key=lambda r: (-r.doses, r.reason, r.gtin)),
        doses_by_reason={row["reason"]: row["doses"] for row in by_reason},
    )


# --- 6. PRN use -------------------------------------------------------------------------------


@dataclass
class PrnRow:
    medication: str
    doses: int = 0
    patients_with_order: int = 0
    patients: set = field(default_factory=set)
    patient_days: int = 0
    max_per_patient_day: int = 0
    amounts: dict[str, Decimal] = field(default_factory=dict)  # unit → total given

    @property
    def patients_treated(self) -> int:
        return len(self.patients)

    @property
    def doses_per_patient_day(self) -> Decimal | None:
        if not self.patient_days:
            return None
        return (Decimal(self.doses) / self.patient_days).quantize(Decimal("0.01"))


@dataclass
class PrnReport:
    rows: list[PrnRow]

    @property
    def doses(self) -> int:
        return sum(row.doses for row in self.rows)


def report_prn(*, filters: ReportFilter) -> PrnReport:
    """Two queries: PRN doses given per (medication, patient, local day, unit), and the patients
    with a PRN order for each medication live during the period (in the ward filter)."""
    tz = timezone.get_default_timezone()
    per_day = (
        _records(filters)
        .counting_given()
        .filter(order__schedule_kind=ScheduleKind.PRN)
        .annotate(day=TruncDate("administered_at", tzinfo=tz))
        .values("order__medication__name", "patient_id", "day", "unit")
        .annotate(doses=Count("pk"), amount=Sum("amount"))
        .order_by()
    )
    rows: dict[str, PrnRow] = {}
    days: dict[str, dict[tuple, int]] = {}
    for row in per_day:
        name = row["order__medication__name"]
        entry = rows.setdefault(name, PrnRow(medication=name))
        entry.doses += row["doses"]
        entry.patients.add(row["patient_id"])
        entry.amounts[row["unit"]] = entry.amounts.get(row["unit"], Decimal(0)) + row["amount"]
        key = (row["patient_id"], row["day"])
        per_patient_day = days.setdefault(name, {})
        per_patient_day[key] = per_patient_day.get(key, 0) + row["doses"]
    for name, per_patient_day in days.items():
        rows[name].patient_days = len(per_patient_day)
        rows[name].max_per_patient_day = max(per_patient_day.values())

    orders = MedicationOrder.objects.filter(
        schedule_kind=ScheduleKind.PRN, start_at__lt=filters.end
    ).filter(
        Q(stop_at__isnull=True) | Q(stop_at__gt=filters.start),
        Q(admission__discharged_at__isnull=True) | Q(admission__discharged_at__gt=filters.start),
    )
    # Verified, and not ended before the period: a discontinued order was in force until its
    # status changed (stop_at stays empty when a pharmacist discontinues).
    orders = orders.filter(verified_at__isnull=False).exclude(
        status__in=[OrderStatus.DISCONTINUED, OrderStatus.COMPLETED],
        status_changed_at__lte=filters.start,
    )
    orders = filters.within(orders, "admission__ward")
    for row in (
        orders.values("medication__name")
        .annotate(patients=Count("admission__patient", distinct=True))
        .order_by()
    ):
        name = row["medication__name"]
        rows.setdefault(name, PrnRow(medication=name)).patients_with_order = row["patients"]
    return PrnReport(rows=sorted(rows.values(), key=lambda r: (-r.doses, r.medication)))


# --- 6a. PRN effectiveness ---------------------------------------------------------------------


@dataclass
class PrnEffectRow:
    medication: str
    ward: str
    doses: int = 0
    on_time: int = 0
    late: int = 0
    missing: int = 0  # past due plus the grace, not reassessed
    pending: int = 0  # not yet past due plus the grace
    effective: int = 0
    partly: int = 0
    not_effective: int = 0
    minutes_late: list[int] = field(default_factory=list)

    @property
    def reassessed(self) -> int:
        return self.on_time + self.late

    @property
    def effective_share(self) -> Decimal | None:
        """Effective among the doses reassessed, in percent."""
        return _percent(self.effective, self.reassessed)

    @property
    def on_time_share(self) -> Decimal | None:
        """Reassessed on time among the doses whose reassessment is due (not pending)."""
        return _percent(self.on_time, self.doses - self.pending)


def _percent(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(100) * part / whole).quantize(Decimal("0.1"))


@dataclass
class PrnEffectReport:
    rows: list[PrnEffectRow]

    def total(self) -> PrnEffectRow:
        total = PrnEffectRow(medication="", ward="")
        for row in self.rows:
            for name in (
                "doses", "on_time", "late", "missing", "pending", "effective", "partly",
                "not_effective",
            ):  # fmt: skip
                setattr(total, name, getattr(total, name) + getattr(row, name))
            total.minutes_late.extend(row.minutes_late)
        return total


def report_prn_effectiveness(*, filters: ReportFilter, now: datetime) -> PrnEffectReport:
    """PRN doses given in the period (that still count; a replacement in place of the record it
    replaces) by medication and the admission's ward, with their effect reassessments
    (scanning.reassessments): on time, late, missing (due plus the grace passed), or still pending.
    One query."""
    grace = timedelta(minutes=settings.PRN_REASSESS_GRACE_MINUTES)
    records = (
        _records(filters)
        .counting_given()
        .filter(order__schedule_kind=ScheduleKind.PRN)
        .select_related("order__medication", "admission__ward", "reassessment")
        .order_by()
    )
    rows: dict[tuple[str, str], PrnEffectRow] = {}
    for record in records:
        key = (record.order.medication.name, record.admission.ward.code)
        row = rows.setdefault(key, PrnEffectRow(medication=key[0], ward=key[1]))
        row.doses += 1
        reassessment = getattr(record, "reassessment", None)
        if reassessment is None:
            if reassessment_due_at(record) + grace < now:
                row.missing += 1
            else:
                row.pending += 1
            continue
        if reassessment.minutes_late:
            row.late += 1
            row.minutes_late.append(reassessment.minutes_late)
        else:
            row.on_time += 1
        if reassessment.effect == "effective":
            row.effective += 1
        elif reassessment.effect == "partly":
            row.partly += 1
        else:
            row.not_effective += 1
    return PrnEffectReport(
        rows=sorted(rows.values(), key=lambda r: (-r.doses, r.medication, r.ward))
    )


# --- 6b. Controlled-drug waste ----------------------------------------------------------------


@dataclass(frozen=True)
class WasteLine:
    """One waste, for the pharmacy's controlled-drug register."""

    wasted_at: datetime
    medication: str
    controlled: bool
    high_alert: bool
    ward: str
    nurse: str
    witness: str  # "" when none was needed (neither controlled nor high-alert)
    given: Decimal
    given_unit: str
    amount: Decimal
    unit: str
    reason: str
    mrn: str


@dataclass
class WasteGroup:
    """Wastes of one (medication, nurse, ward): how many, and how much by unit."""

    medication: str
    nurse: str
    ward: str
    wastes: int = 0
    unwitnessed: int = 0
    amounts: dict[str, Decimal] = field(default_factory=dict)


@dataclass
class WasteReport:
    lines: list[WasteLine]

    def groups(self) -> list[WasteGroup]:
        found: dict[tuple[str, str, str], WasteGroup] = {}
        for line in self.lines:
            key = (line.medication, line.nurse, line.ward)
            group = found.setdefault(key, WasteGroup(*key))
            group.wastes += 1
            group.unwitnessed += int(not line.witness)
            group.amounts[line.unit] = group.amounts.get(line.unit, Decimal(0)) + line.amount
        return sorted(found.values(), key=lambda g: (g.medication, g.ward, g.nurse))

    def by_medication(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for line in self.lines:
            counts[line.medication] = counts.get(line.medication, 0) + 1
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def report_waste(*, filters: ReportFilter) -> WasteReport:
    """One query: every waste documented in the period (by when it was wasted), of records of the
    ward and nurse filtered, controlled or high-alert or not, with the dose it belongs to."""
    wastes = Waste.objects.filter(wasted_at__gte=filters.start, wasted_at__lt=filters.end)
    wastes = filters.within(wastes, "administration__admission__ward")
    if filters.nurse is not None:
        wastes = wastes.filter(performer=filters.nurse)
    wastes = wastes.select_related(
        "administration__order__medication",
        "administration__admission__ward",
        "patient",
        "performer",
        "witness",
    ).order_by("wasted_at", "pk")
    return WasteReport(
        lines=[
            WasteLine(
                wasted_at=waste.wasted_at,
                medication=waste.administration.order.medication.name,
                controlled=waste.administration.order.medication.controlled,
                high_alert=waste.administration.order.medication.high_alert,
                ward=waste.administration.admission.ward.code,
                nurse=staff_name_of(waste.performer),
                witness=staff_name_of(waste.witness),
                given=waste.administration.amount,
                given_unit=waste.administration.unit,
                amount=waste.amount,
                unit=waste.unit,
                reason=waste.reason,
                mrn=waste.administration.admission.mrn,
            )
            for waste in wastes
        ]
    )


# --- 7. Allergy acknowledgements --------------------------------------------------------------


@dataclass(frozen=True)
class AcknowledgementLine:
    acknowledged_at: datetime
    pharmacist: str
    ward_code: str
    bed: str
    patient_name: str
    mrn: str
    order: str
    allergies: str  # as shown to the pharmacist: "Penicillin (severe)"
    severe: bool
    reason: str  # AllergyAcknowledgementReason value
    comment: str


def report_allergy_acknowledgements(*, filters: ReportFilter) -> list[AcknowledgementLine]:
    """One query: orders verified in the period despite a documented allergy, newest first. By
    the patient's ward; the nurse filter does not apply (pharmacists acknowledge)."""
    acknowledgements = AllergyAcknowledgement.objects.filter(
        acknowledged_at__gte=filters.start, acknowledged_at__lt=filters.end
    )
    acknowledgements = filters.within(acknowledgements, "order__admission__ward")
    return [
        AcknowledgementLine(
            acknowledged_at=ack.acknowledged_at,
            pharmacist=staff_name_of(ack.acknowledged_by),
            ward_code=ack.order.admission.ward.code,
            bed=ack.order.admission.bed.code if ack.order.admission.bed else "",
            patient_name=ack.order.admission.patient.full_name,
            mrn=ack.order.admission.mrn,
            order=str(ack.order),
            allergies=", ".join(str(allergy.get("name", "")) for allergy in ack.allergies),
            severe=any(allergy.get("severity") == "severe" for allergy in ack.allergies),
            reason=ack.reason,
            comment=ack.comment,
        )
        for ack in acknowledgements.select_related(
            "acknowledged_by",
            "order__medication",
            "order__admission__patient",
            "order__admission__ward",
            "order__admission__bed",
        ).order_by("-acknowledged_at", "-pk")
    ]


# --- The ward dashboard -----------------------------------------------------------------------


@dataclass(frozen=True)
class DashboardRow:
    """One line of a tile's list: who, where, what, when due, and what state it is in."""

    patient: str
    mrn: str
    bed: str
    state: str  # due, overdue, missed, late, not_given, override, band_typed, no_band, unrecorded
    medication: str = ""
    due_at: datetime | None = None
    # what the state needs: a local time given or scanned, a reason or finding:reason code
    detail: str = ""
    high_alert: bool = False
    by: str = ""  # the nurse, where the state is hers to answer for (unrecorded)


def _dose_text(order: MedicationOrder) -> str:
    return (
        f"{order.medication.name} {order.dose_value.normalize():f} {order.dose_unit} {order.route}"
    )


def _bed(admission: Admission) -> str:
    return admission.bed.code if admission.bed else ""


def _dose_row(dose: ScheduledDose, state: str, detail: str = "") -> DashboardRow:
    admission = dose.order.admission
    return DashboardRow(
        patient=admission.patient.full_name,
        mrn=admission.mrn,
        bed=_bed(admission),
        state=state,
        medication=_dose_text(dose.order),
        due_at=dose.due_at,
        detail=detail,
        high_alert=dose.order.medication.high_alert,
    )


def _record_row(record: Administration, state: str, detail: str) -> DashboardRow:
    return DashboardRow(
        patient=record.patient.full_name,
        mrn=record.admission.mrn,
        bed=_bed(record.admission),
        state=state,
        medication=_dose_text(record.order),
        due_at=record.scheduled_dose.due_at if record.scheduled_dose else None,
        detail=detail,
        high_alert=record.order.medication.high_alert,
    )


def _patient_row(admission: Admission, state: str) -> DashboardRow:
    return DashboardRow(
        patient=admission.patient.full_name,
        mrn=admission.mrn,
        bed=_bed(admission),
        state=state,
    )


@dataclass
class WardDashboard:
    """What a charge nurse watches, tile by tile (the view lists the tiles, in
    backoffice/reports/views.py). To add a tile: a field here, its rows in `lists`, a line there."""

    ward: Ward
    now: datetime
    due_now: list[dict]
    overdue: list[dict]
    missed: list[dict]  # open doses past window + 4 h, due in the last 24 h
    high_alert_due: list[dict]  # due now or overdue, high-alert medication
    late_today: list[DashboardRow]
    not_given_today: list[DashboardRow]
    overrides_today: list[DashboardRow]
    band_not_scanned: list  # admissions of patients given a dose today with the wristband typed
    without_band: list  # admissions of admitted patients with no active wristband
    # checks that said GO or WARN, then nothing for UNRECORDED_CHECK_MINUTES, not answered for
    unrecorded: list[DashboardRow] = field(default_factory=list)
    # infusion bags due to end soon, or past their expected end (scanning.selectors.bags_ending)
    infusions_ending: list[DashboardRow] = field(default_factory=list)
    # patches, rings and implants on patients past their removal time (scanning.removals_overdue)
    overdue_removals: list[DashboardRow] = field(default_factory=list)
    # PRN doses whose effect is due to be reassessed (scanning.reassessments), until documented
    reassessments_due: list[DashboardRow] = field(default_factory=list)

    def lists(self) -> dict[str, list[DashboardRow]]:
        """Each tile's rows by tile id; a tile's number is the length of its list."""
        return {
            "overdue": [_dose_row(item["dose"], "overdue") for item in self.overdue],
            "missed": [_dose_row(item["dose"], "missed") for item in self.missed],
            "high-alert": [_dose_row(item["dose"], item["status"]) for item in self.high_alert_due],
            "due-now": [_dose_row(item["dose"], "due") for item in self.due_now],
            "late-today": self.late_today,
            "not-given-today": self.not_given_today,
            "overrides-today": self.overrides_today,
            "band-not-scanned": [_patient_row(a, "band_typed") for a in self.band_not_scanned],
            "without-band": [_patient_row(a, "no_band") for a in self.without_band],
            "unrecorded": self.unrecorded,
            "infusions-ending": self.infusions_ending,
            "overdue-removal": self.overdue_removals,
            "reassessment-due": self.reassessments_due,
        }


def _local_hhmm(moment: datetime) -> str:
    return timezone.localtime(moment, timezone.get_default_timezone()).strftime("%H:%M")


def _unrecorded_row(event: ScanEvent) -> DashboardRow:
    order = event.checked_dose.order
    dose = event.checked_dose.scheduled_dose
    return DashboardRow(
        patient=event.patient.full_name,
        mrn=order.admission.mrn,
        bed=_bed(order.admission),
        state="unrecorded",
        medication=_dose_text(order),
        due_at=dose.due_at if dose is not None else None,
        detail=_local_hhmm(event.created_at),
        high_alert=order.medication.high_alert,
        by=staff_name_of(event.performer),
    )


def ward_dashboard_get(*, ward: Ward, now: datetime) -> WardDashboard:
    """What a charge nurse needs at a glance, in nine queries whatever the ward's size. Doses
    count only when they were due: see `dose_list_due_for_ward`. "Scanned but not recorded" uses
    UNRECORDED_CHECK_MINUTES and UNRECORDED_CHECK_LOOKBACK_HOURS (scanning.selectors)."""
    hours_ahead = -(-max(ward.window_minutes, ward.time_critical_window_minutes) // 60)
    open_doses = dose_list_due_for_ward(ward=ward, now=now, hours_ahead=hours_ahead)
    by_status: dict[str, list[dict]] = {"due": [], "overdue": [], "missed": []}
    for item in open_doses:
        if item["status"] in by_status:
            by_status[item["status"]].append(item)
    high_alert = [
        item
        for item in by_status["due"] + by_status["overdue"]
        if item["dose"].order.medication.high_alert
    ]
    today = local_today(now)
    day = ReportFilter(date_from=today, date_to=today, ward=ward)
    late_today = [
        _dose_row(dose, "late", _local_hhmm(dose.given_at))
        for dose in _dose_outcomes(start=day.start, end=day.end, now=now, ward=ward)
        .filter(outcome="late")
        .select_related("order__medication", "order__admission__patient", "order__admission__bed")
        .order_by("due_at", "pk")
    ]
    records_today = _records(day)
    with_rows = ("patient", "admission__bed", "order__medication", "scheduled_dose")
    not_given_today = [
        _record_row(record, "not_given", record.reason)
        for record in records_today.counting_not_given()
        .select_related(*with_rows)
        .order_by("administered_at", "pk")
    ]
    bedside_today = _counting_bedside(records_today)
    overrides_today = [
        _record_row(
            override.administration, "override", f"{override.finding_code}:{override.reason}"
        )
        for override in Override.objects.filter(administration__in=bedside_today.values("pk"))
        .select_related(*(f"administration__{name}" for name in with_rows))
        .order_by("administration__administered_at", "pk")
    ]
    band_not_scanned = list(
        Admission.objects.filter(
            pk__in=bedside_today.filter(band_scanned=False).values("admission_id")
        )
        .select_related("patient", "bed")
        .order_by("bed__code", "patient__full_name")
    )
    without_band = list(
        Admission.objects.filter(ward=ward, discharged_at__isnull=True)
        .exclude(Exists(Wristband.objects.filter(admission=OuterRef("pk"), voided_at__isnull=True)))
        .select_related("patient", "bed")
        .order_by("bed__code", "patient__full_name")
    )
    return WardDashboard(
        ward=ward,
        now=now,
        due_now=by_status["due"],
        overdue=by_status["overdue"],
        missed=by_status["missed"],
        high_alert_due=high_alert,
        late_today=late_today,
        not_given_today=not_given_today,
        overrides_today=overrides_today,
        band_not_scanned=band_not_scanned,
        without_band=without_band,
        unrecorded=[
            _unrecorded_row(event)
            for event in checks_unrecorded(
                now=now,
                older_than=timedelta(minutes=settings.UNRECORDED_CHECK_MINUTES),
                lookback=timedelta(hours=settings.UNRECORDED_CHECK_LOOKBACK_HOURS),
                ward=ward,
            )
        ],
        infusions_ending=infusions_ending(ward=ward, now=now),
        overdue_removals=[
            DashboardRow(
                patient=row["patient"].full_name,
                mrn=row["mrn"],
                bed=row["bed"].code if row["bed"] else "",
                state="overdue_removal",
                medication=row["medication"],
                due_at=row["due_at"],
                detail=row["site"],
            )
            for row in removals_overdue(ward_ids=[ward.pk], now=now)
        ],
        reassessments_due=[
            DashboardRow(
                patient=item.record.patient.full_name,
                mrn=item.record.admission.mrn,
                bed=item.record.admission.bed.code if item.record.admission.bed else "",
                state="reassessment_due",
                medication=item.record.order.medication.name,
                due_at=item.due_at,
                detail=item.record.prn_reason,
            )
            for item in reassessments_due(now=now, ward_ids=[ward.pk])
        ],
    )


# --- IV bag status ------------------------------------------------------------------------------


@dataclass
class IvBagRow:
    medication: str
    hung: int = 0
    completed: int = 0
    stopped: int = 0
    infusing: int = 0
    volume_infused_ml: Decimal = Decimal(0)
    rate_changes: int = 0
    rate_outside_order: int = 0


@dataclass(frozen=True)
class IvBagReport:
    rows: list[IvBagRow]
    total: IvBagRow
    infusing_now: list[dict]  # scanning.selectors.bag_summary of each bag still infusing


def report_iv_bags(*, filters: ReportFilter, now: datetime) -> IvBagReport:
    """Bags hung in the period (their hanging still standing), by medication: how many ended
    completed or stopped early, how many still infuse, the volume they gave (the nurse's or the
    computed figure at the end; rate × time so far for a bag still running), rate changes, and
    rates set outside the order (the hang's or a change's override). Three queries."""
    hung = (
        _records(filters)
        .counting_given()
        .filter(infusion_events__kind="started")
        .select_related("order__medication", "patient", "admission__bed")
        .order_by("administered_at", "pk")
    )
    # Subqueries rather than lists of ids: three queries, whatever the number of bags.
    bags = bags_read(
        hung, events=InfusionEvent.objects.filter(administration__in=hung.values("pk"))
    )
    outside = set(
        Override.objects.filter(
            administration__in=hung.values("pk"), finding_code="INFUSION_RATE_OUTSIDE_ORDER"
        ).values_list("administration_id", flat=True)
    )
    rows: dict[str, IvBagRow] = {}
    total = IvBagRow(medication="")
    infusing_now = []
    for bag in bags:
        administration = bag.administration
        row = rows.setdefault(
            administration.order.medication.name,
            IvBagRow(medication=administration.order.medication.name),
        )
        summary = bag_summary(bag, now=now)
        events = bag.events
        ended = [e for e in events if e.kind in ("completed", "stopped")]
        changes = [e for e in events if e.kind == "rate_changed"]
        counts = {
            "hung": 1,
            "completed": int(any(e.kind == "completed" for e in ended)),
            "stopped": int(any(e.kind == "stopped" for e in ended)),
            "infusing": int(not ended),
            "rate_changes": len(changes),
            "rate_outside_order": int(administration.pk in outside)
            + sum(1 for e in changes if e.override_reason),
        }
        volume = ended[0].volume_infused_ml if ended else summary["volume_infused_ml"]
        for target in (row, total):
            for name, value in counts.items():
                setattr(target, name, getattr(target, name) + value)
            target.volume_infused_ml += Decimal(volume or 0)
        if not ended:
            infusing_now.append(
                {
                    **summary,
                    "patient": administration.patient.full_name,
                    "bed": _bed(administration.admission),
                }
            )
    return IvBagReport(
        rows=sorted(rows.values(), key=lambda r: r.medication),
        total=total,
        infusing_now=infusing_now,
    )


def infusions_ending(*, ward: Ward, now: datetime) -> list[DashboardRow]:
    """The ward's bags due to end within INFUSION_ENDING_SOON_MINUTES at their present rate, or
    past their expected end (overdue for a bag change): soonest first. A paused bag has no end."""
    soon = now + timedelta(minutes=settings.INFUSION_ENDING_SOON_MINUTES)
    rows = []
    open_admissions = Admission.objects.filter(ward=ward, discharged_at__isnull=True)
    for bag, end in bags_ending(admission_ids=open_admissions.values("pk"), now=now, until=soon):
        administration = bag.administration
        rows.append(
            DashboardRow(
                patient=administration.patient.full_name,
                mrn=administration.admission.mrn,
                bed=_bed(administration.admission),
                state="bag_overdue" if end <= now else "bag_ending",
                medication=f"{administration.order.medication.name} "
                f"{bag.life.rate_ml_h.normalize():f} mL/h",
                due_at=end,
                detail=bag.line,
            )
        )
    return sorted(rows, key=lambda row: row.due_at)


# --- Missing doses ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MissingDoseGroup:
    key: str  # ward code, medication name or reason code
    requested: int
    sent: int


@dataclass(frozen=True)
class MissingDoseLine:
    requested_at: datetime
    ward: str
    mrn: str
    medication: str
    due_at: datetime
    reason: str  # MissingDoseReason value
    comment: str
    nurse: str
    sent_at: datetime | None
    pharmacist: str


@dataclass(frozen=True)
class MissingDoseReport:
    by_ward: list[MissingDoseGroup]
    by_medication: list[MissingDoseGroup]
    by_reason: list[MissingDoseGroup]
    lines: list[MissingDoseLine]

    @property
    def requested(self) -> int:
        return sum(group.requested for group in self.by_reason)

    @property
    def sent(self) -> int:
        return sum(group.sent for group in self.by_reason)


def report_missing_doses(*, filters: ReportFilter) -> MissingDoseReport:
    """Four queries: doses the wards asked the pharmacy for in the period (by when they asked),
    grouped by the ward the patient was on then, by medication and by reason, and every request.
    The nurse filter is the nurse who asked."""
    requests = MissingDoseRequest.objects.filter(
        requested_at__gte=filters.start, requested_at__lt=filters.end
    )
    requests = filters.within(requests, "ward")
    if filters.nurse is not None:
        requests = requests.filter(requested_by=filters.nurse)

    def grouped(field: str) -> list[MissingDoseGroup]:
        rows = (
            requests.values(field)
            .annotate(
                requested=Count("pk"), sent=Count("pk", filter=Q(state=MissingDoseState.SENT))
            )
            .order_by("-requested", field)
        )
        return [MissingDoseGroup(row[field], row["requested"], row["sent"]) for row in rows]

    lines = requests.select_related(
        "ward", "order__medication", "order__admission__patient", "requested_by", "sent_by"
    ).order_by("requested_at", "pk")
    return MissingDoseReport(
        by_ward=grouped("ward__code"),
        by_medication=grouped("order__medication__name"),
        by_reason=grouped("reason"),
        lines=[
            MissingDoseLine(
                requested_at=line.requested_at,
                ward=line.ward.code,
                mrn=line.order.admission.mrn,
                medication=line.order.medication.name,
                due_at=line.due_at,
                reason=line.reason,
                comment=line.comment,
                nurse=staff_name_of(line.requested_by),
                sent_at=line.sent_at,
                pharmacist=staff_name_of(line.sent_by),
            )
            for line in lines
        ],
    )


# --- Unsigned verbal orders -------------------------------------------------------------------


@dataclass(frozen=True)
class VerbalOrderGroup:
    key: str  # ward code or prescriber
    documented: int
    unsigned: int


@dataclass(frozen=True)
class VerbalOrderLine:
    documented_at: datetime
    ward: str
    mrn: str
    medication: str
    kind: str  # VerbalKind value
    schedule: str  # ScheduleKind value
    prescriber: str
    nurse: str
    cosigned_at: datetime | None


@dataclass(frozen=True)
class VerbalOrderReport:
    by_ward: list[VerbalOrderGroup]
    by_prescriber: list[VerbalOrderGroup]
    lines: list[VerbalOrderLine]

    @property
    def documented(self) -> int:
        return sum(group.documented for group in self.by_ward)

    @property
    def unsigned(self) -> int:
        return sum(group.unsigned for group in self.by_ward)


def report_verbal_orders(*, filters: ReportFilter) -> VerbalOrderReport:
    """Three queries: the verbal and telephone orders documented in the period (by when the nurse
    documented them), grouped by the ward of the order's admission and by prescriber, and every
    order with its co-signature (if any). The nurse filter is the nurse who documented it."""
    orders = MedicationOrder.objects.exclude(verbal_kind="").filter(
        created_at__gte=filters.start, created_at__lt=filters.end
    )
    orders = filters.within(orders, "admission__ward")
    if filters.nurse is not None:
        orders = orders.filter(documented_by=filters.nurse)

    def grouped(field: str) -> list[VerbalOrderGroup]:
        rows = (
            orders.values(field)
            .annotate(
                documented=Count("pk"), unsigned=Count("pk", filter=Q(cosigned_at__isnull=True))
            )
            .order_by("-unsigned", "-documented", field)
        )
        return [VerbalOrderGroup(row[field], row["documented"], row["unsigned"]) for row in rows]

    lines = orders.select_related(
        "admission__ward", "admission__patient", "medication", "documented_by"
    ).order_by("created_at", "pk")
    return VerbalOrderReport(
        by_ward=grouped("admission__ward__code"),
        by_prescriber=grouped("prescriber_name"),
        lines=[
            VerbalOrderLine(
                documented_at=line.created_at,
                ward=line.admission.ward.code,
                mrn=line.admission.mrn,
                medication=line.medication.name,
                kind=line.verbal_kind,
                schedule=line.schedule_kind,
                prescriber=line.prescriber_name,
                nurse=staff_name_of(line.documented_by),
                cosigned_at=line.cosigned_at,
            )
            for line in lines
        ],
    )


# --- Variances --------------------------------------------------------------------------------

# The kinds of variance, in the order the report shows them; each has its selector in
# VARIANCE_SELECTORS below, its label and colour in the report's definitions.
VARIANCE_EARLY = "early"
VARIANCE_LATE = "late"
VARIANCE_OVERRIDE = "override"
VARIANCE_HOLD = "hold"
VARIANCE_LATE_REASSESSMENT = "late_reassessment"
TIMING_CODES = ("TOO_EARLY", "TOO_LATE")


@dataclass(frozen=True)
class VarianceLine:
    """One variance: a dose given outside its window, a warning overridden, a dose held. Its
    reason is the code the nurse chose (an override reason, the not-given reason) and her
    comment; `code` is what varied (TOO_LATE, an override's finding code, the not-given reason)."""

    kind: str
    at: datetime  # when it happened: the record's time
    ward_code: str
    ward_name: str
    nurse: str
    medication: str
    patient_name: str
    mrn: str
    code: str
    reason: str
    comment: str = ""
    due_at: datetime | None = None
    minutes: int | None = None  # from the due time: negative early, positive late


def _variance_line(record: Administration, **fields) -> VarianceLine:
    performer = record.performer
    return VarianceLine(
        at=record.administered_at,
        ward_code=record.admission.ward.code,
        ward_name=record.admission.ward.name,
        nurse=staff_name_of(performer),
        medication=record.order.medication.name,
        patient_name=record.admission.patient.full_name,
        mrn=record.admission.mrn,
        **fields,
    )


def variances_timing(*, filters: ReportFilter, now: datetime) -> list[VarianceLine]:
    """Doses given before or after the ward's window around their due time (the dose-timing
    report's "early" and "late", same window), with the minutes from the due time and the reason
    given for TOO_EARLY / TOO_LATE at the bedside. One query."""
    doses = _dose_outcomes(
        start=filters.start,
        end=filters.end,
        now=now,
        ward=filters.ward,
        nurse=filters.nurse,
        wards=filters.wards,
    ).filter(outcome__in=[VARIANCE_EARLY, VARIANCE_LATE])
    given = (
        Administration.objects.filter(scheduled_dose=OuterRef("pk"))
        .counting_given()
        .order_by("administered_at", "pk")
    )
    # The bedside record holds the override; a correction's replacement holds none.
    timing_override = Override.objects.filter(
        administration__scheduled_dose=OuterRef("pk"), finding_code__in=TIMING_CODES
    ).order_by("-pk")
    rows = (
        doses.annotate(
            nurse_first=Subquery(given.values("performer__first_name")[:1]),
            nurse_last=Subquery(given.values("performer__last_name")[:1]),
            nurse_username=Subquery(given.values("performer__username")[:1]),
            reason=Subquery(timing_override.values("reason")[:1]),
            reason_comment=Subquery(timing_override.values("comment")[:1]),
        )
        .select_related("order__medication", "order__admission__ward", "order__admission__patient")
        .order_by("due_at", "pk")
    )
    return [
        VarianceLine(
            kind=dose.outcome,
            at=dose.given_at,
            ward_code=dose.order.admission.ward.code,
            ward_name=dose.order.admission.ward.name,
            nurse=staff_name(
                dose.nurse_first or "", dose.nurse_last or "", dose.nurse_username or ""
            ),
            medication=dose.order.medication.name,
            patient_name=dose.order.admission.patient.full_name,
            mrn=dose.order.admission.mrn,
            code="TOO_EARLY" if dose.outcome == VARIANCE_EARLY else "TOO_LATE",
            reason=dose.reason or "",
            comment=dose.reason_comment or "",
            due_at=dose.due_at,
            minutes=int((dose.given_at - dose.due_at).total_seconds() // 60),
        )
        for dose in rows
    ]


def variances_overrides(*, filters: ReportFilter, now: datetime) -> list[VarianceLine]:
    """Every warning overridden on a dose that counts as given (the overrides report's), with its
    finding code and reason; TOO_EARLY and TOO_LATE are the timing variances' reasons, not counted
    twice. One query."""
    bedside = _counting_bedside(_records(filters))
    overrides = (
        Override.objects.filter(administration__in=bedside.values("pk"))
        .exclude(finding_code__in=TIMING_CODES)
        .select_related(
            "administration__admission__ward",
            "administration__admission__patient",
            "administration__order__medication",
            "administration__performer",
        )
        .order_by("administration__administered_at", "pk")
    )
    return [
        _variance_line(
            override.administration,
            kind=VARIANCE_OVERRIDE,
            code=override.finding_code,
            reason=override.reason,
            comment=override.comment,
            due_at=None,
        )
        for override in overrides
    ]


def variances_holds(*, filters: ReportFilter, now: datetime) -> list[VarianceLine]:
    """Doses documented not given because they were held for a clinical reason (a hold parameter
    met, or the nurse's judgement), still standing. One query."""
    holds = (
        _records(filters)
        .counting_not_given()
        .filter(reason="held_clinical")
        .select_related(
            "admission__ward",
            "admission__patient",
            "order__medication",
            "performer",
            "scheduled_dose",
        )
        .order_by("administered_at", "pk")
    )
    return [
        _variance_line(
            record,
            kind=VARIANCE_HOLD,
            code=record.reason,
            reason=record.reason,
            comment=record.comment,
            due_at=record.scheduled_dose.due_at if record.scheduled_dose else None,
        )
        for record in holds
    ]


def variances_late_reassessments(*, filters: ReportFilter, now: datetime) -> list[VarianceLine]:
    """PRN doses whose effect was reassessed after the grace (scanning.reassessments.minutes_late,
    stored when documented), with the minutes after it was due; the period, ward and nurse are the
    dose's, the nurse shown is the one who reassessed. A reassessment never documented is in the
    PRN effectiveness report as missing. One query."""
    late = (
        PrnReassessment.objects.filter(
            minutes_late__gt=0, administration__in=_records(filters).values("pk")
        )
        .select_related(
            "administration__admission__ward",
            "administration__admission__patient",
            "administration__order__medication",
            "performer",
        )
        .order_by("documented_at", "pk")
    )
    return [
        replace(
            _variance_line(
                reassessment.administration,
                kind=VARIANCE_LATE_REASSESSMENT,
                code="PRN_REASSESSMENT_LATE",
                reason="",
                comment=reassessment.comment,
                due_at=reassessment.due_at,
                minutes=reassessment.minutes_late,
            ),
            at=reassessment.documented_at,
            nurse=staff_name_of(reassessment.performer),
        )
        for reassessment in late
    ]


# One small selector per kind of variance; the report is their union. Another kind is one more
# function with the same keyword arguments returning VarianceLines, added here.
VARIANCE_SELECTORS = (
    variances_timing,
    variances_overrides,
    variances_holds,
    variances_late_reassessments,
)
VARIANCE_KINDS = (
    VARIANCE_EARLY,
    VARIANCE_LATE,
    VARIANCE_OVERRIDE,
    VARIANCE_HOLD,
    VARIANCE_LATE_REASSESSMENT,
)


@dataclass
class VarianceGroup:
    key: str
    label: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class VarianceReport:
    lines: list[VarianceLine]  # every variance, in time order
    by_ward: list[VarianceGroup]
    by_nurse: list[VarianceGroup]
    by_drug: list[VarianceGroup]
    kinds: tuple[str, ...]

    def count(self, kind: str) -> int:
        return sum(1 for line in self.lines if line.kind == kind)


def _variance_groups(lines: list[VarianceLine], key) -> list[VarianceGroup]:
    groups: dict[str, VarianceGroup] = {}
    for line in lines:
        code, label = key(line)
        group = groups.setdefault(code, VarianceGroup(key=code, label=label))
        group.counts[line.kind] = group.counts.get(line.kind, 0) + 1
    return sorted(groups.values(), key=lambda g: (-g.total, g.label))


def report_variances(*, filters: ReportFilter, now: datetime) -> VarianceReport:
    """The union of VARIANCE_SELECTORS (one query each), grouped by ward, nurse and drug."""
    lines = sorted(
        (line for select in VARIANCE_SELECTORS for line in select(filters=filters, now=now)),
        key=lambda line: (line.at, line.kind, line.code),
    )
    # a kind added to VARIANCE_SELECTORS shows even before its label is added
    kinds = tuple(dict.fromkeys([*VARIANCE_KINDS, *(line.kind for line in lines)]))
    return VarianceReport(
        lines=lines,
        by_ward=_variance_groups(
            lines, lambda line: (line.ward_code, f"{line.ward_code} – {line.ward_name}")
        ),
        by_nurse=_variance_groups(lines, lambda line: (line.nurse, line.nurse)),
        by_drug=_variance_groups(lines, lambda line: (line.medication, line.medication)),
        kinds=kinds,
    )
