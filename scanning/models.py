from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hospital import sql
from hospital.models import BaseModel
from pharmacy.assessments import ASSESSMENT_KINDS
from pharmacy.models import DoseUnit, MedicationOrder, Package, Route, ScheduledDose
from wards.models import Admission, Patient, Ward


class AccessReason(models.TextChoices):
    """What opened a patient outside the staff member's wards (see access.py)."""

    WRISTBAND_CHECK = "wristband_check", _("wristband scanned: check")
    ADMINISTRATION = "administration", _("wristband scanned: recording a dose")
    NOT_GIVEN = "not_given", _("wristband scanned: documenting a dose not given")


class AccessLog(BaseModel):
    """Break-the-glass: a nurse scanned the wristband of a patient on a ward she is not assigned
    to. The scan is the justification (she stands at the bed); the row opens that patient's record
    to her for `BREAK_GLASS_ACCESS_HOURS`. Append-only: nobody edits or deletes these rows (on
    PostgreSQL a trigger refuses it, see hospital's migration 0002)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("staff member"),
    )
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="+", verbose_name=_("patient")
    )
    ward = models.ForeignKey(
        Ward,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("patient's ward"),
    )
    reason = models.CharField(_("reason"), max_length=20, choices=AccessReason.choices)
    cart = models.CharField(_("cart"), max_length=60, blank=True)

    class Meta:
        # Moved from `hospital` (issue 15: only the bedside writes or reads it); the table keeps
        # its name, with its append-only trigger (hospital migration 0002) and its grants.
        db_table = "hospital_accesslog"
        ordering = ["-created_at"]
        verbose_name = _("break-the-glass access")
        verbose_name_plural = _("break-the-glass accesses")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(reason__in=AccessReason.values),
                name="hospital_accesslog_reason_valid",
            ),
        ]
        indexes = [
            models.Index(
                fields=["user", "patient", "created_at"],
                name="hospital_accesslog_open_idx",
            ),
        ]

    def __str__(self):
        return f"{self.user} → {self.patient} ({self.created_at:%Y-%m-%d %H:%M})"


class ScanPurpose(models.TextChoices):
    DECODE = "decode", _("decode only")
    CHECK = "check", _("check")
    RECORD = "record", _("record")
    NOT_GIVEN = "not_given", _("not given")


def _chained_created_at():
    # Fixed when the row is built rather than at the INSERT (as auto_now_add would): an audited row
    # is hashed before it is written, and the append-only trigger forbids adding the hash later.
    return models.DateTimeField(default=timezone.now, db_index=True, editable=False)


class ChainedRecord(models.Model):
    """A link of an audit hash chain (see scanning/audit.py and scanning/chains.py). Written once,
    with the row, by the chain's writer; empty only on a row written around it."""

    chain_seq = models.PositiveIntegerField(_("chain position"), null=True, editable=False)
    previous_hash = models.CharField(_("previous hash"), max_length=64, blank=True, editable=False)
    content_hash = models.CharField(_("content hash"), max_length=64, blank=True, editable=False)

    class Meta:
        abstract = True


def _sealed_whole():
    return models.CheckConstraint(
        condition=Q(chain_seq__isnull=True, previous_hash="", content_hash="")
        | (Q(chain_seq__gte=1) & ~Q(previous_hash="") & ~Q(content_hash="")),
        name="%(app_label)s_%(class)s_chain_sealed_whole",
    )


class ScanEvent(ChainedRecord, BaseModel):
    """Every check or record attempt, accepted or refused: what was scanned and what we said.
    Append-only: nothing updates or deletes these rows. Hash-chained per performer."""

    created_at = _chained_created_at()

    performer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    cart = models.CharField(_("cart"), max_length=60, blank=True)
    ward = models.ForeignKey(
        Ward, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    purpose = models.CharField(_("purpose"), max_length=10, choices=ScanPurpose.choices)
    # [{"slot", "raw", "text", "symbology_id", "kind", "keyed", "error"}], raw capped in length.
    scans = models.JSONField(_("scans"), default=list)
    verdict = models.CharField(_("verdict"), max_length=5, blank=True)
    findings = models.JSONField(_("findings"), default=list)
    administration = models.ForeignKey(
        "Administration",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="scan_events",
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("scan event")
        verbose_name_plural = _("scan events")
        constraints = [
            models.CheckConstraint(
                condition=Q(purpose__in=ScanPurpose.values),
                name="%(app_label)s_%(class)s_purpose_valid",
            ),
            models.CheckConstraint(
                condition=Q(verdict__in=["", "go", "warn", "stop"]),
                name="%(app_label)s_%(class)s_verdict_valid",
            ),
            # One record per position: a chain cannot fork, whatever writes to it.
            models.UniqueConstraint(
                fields=["performer", "chain_seq"], name="%(app_label)s_%(class)s_chain_seq_unique"
            ),
            _sealed_whole(),
        ]

    def __str__(self):
        return f"{self.purpose} {self.verdict or '-'} @ {self.created_at:%Y-%m-%d %H:%M}"


class AdministrationStatus(models.TextChoices):
    COMPLETED = "completed", _("given")
    NOT_DONE = "not_done", _("not given")
    ENTERED_IN_ERROR = "entered_in_error", _("entered in error")


class NotGivenReason(models.TextChoices):
    REFUSED = "refused", _("patient refused")
    HELD_CLINICAL = "held_clinical", _("held for a clinical reason")
    NPO = "npo", _("nil by mouth")
    PATIENT_ABSENT = "patient_absent", _("patient absent")
    UNAVAILABLE = "unavailable", _("medication unavailable")
    OTHER = "other", _("other (comment required)")


class CorrectionReason(models.TextChoices):
    WRONG_PATIENT = "wrong_patient", _("recorded for the wrong patient")
    WRONG_DOSE = "wrong_dose", _("wrong amount recorded")
    NOT_GIVEN = "not_given", _("recorded but not given")
    DUPLICATE = "duplicate", _("duplicate record")
    OTHER = "other", _("other (comment required)")


def standing_q(prefix: str = "") -> Q:
    """The record (under `prefix`, e.g. "administrations__") still stands: no later entered-in-error
    record withdraws it. The one ORM spelling of the idea; its raw-SQL twin is
    scanning.facts.fast_sql._counting_given, and tests/scanning/test_bedside_sql.py and
    test_facts_twins.py hold them equal."""
    return Q(**{f"{prefix}correction__isnull": True})


def withdrawn_q(prefix: str = "") -> Q:
    """The record (under `prefix`) was withdrawn by a later entered-in-error record: the negation
    of `standing_q`, kept as a plain join condition rather than a negated one."""
    return Q(**{f"{prefix}correction__isnull": False})


class AdministrationQuerySet(models.QuerySet["Administration"]):
    """The clinical reads of the ledger, each defined once (on `standing_q`). A record *still
    counts* unless a later entered-in-error record withdraws it; the bedside's raw SQL spells the
    same read in scanning.facts.fast_sql (`_counting_given`); the check's reads written on these
    (scanning.facts.reference) and tests/scanning/test_facts_twins.py hold them equal."""

    def still_counting(self) -> "AdministrationQuerySet":
        """Not withdrawn by an entered-in-error record (which itself never counts as a dose)."""
        return self.filter(standing_q()).exclude(status=AdministrationStatus.ENTERED_IN_ERROR)

    def counting_given(self) -> "AdministrationQuerySet":
        """The dose was given, and that still stands. SQL twin: fast_sql._counting_given."""
        return self.filter(standing_q(), status=AdministrationStatus.COMPLETED)

    def counting_not_given(self) -> "AdministrationQuerySet":
        """The dose was documented not given, and that still stands."""
        return self.filter(standing_q(), status=AdministrationStatus.NOT_DONE)

    def infusing(self) -> "AdministrationQuerySet":
        """Bags hung and not yet taken down: the one definition of "infusing now" (a paused bag
        is still on its line). A bag whose hanging was entered in error has left the list."""
        return (
            self.counting_given()
            .filter(infusion_events__kind="started")
            .exclude(infusion_events__kind__in=["completed", "stopped"])
        )

    def still_worn(self) -> "AdministrationQuerySet":
        """A patch, ring or implant applied and not documented removed: a given record that still
        stands, of a product that requires removal, with no `Removal`. The one definition of "on
        the patient" (the cart's list, PREVIOUS_NOT_REMOVED, overdue removals)."""
        return self.counting_given().filter(
            order__medication__requires_removal=True, removal__isnull=True
        )


class Administration(ChainedRecord, BaseModel):
    """The legal record of a dose given or not given. Never updated in place: a correction is a new
    `entered_in_error` row pointing at the row it corrects, optionally followed by a replacement
    that points at the row it replaces. Hash-chained per patient, units and overrides included."""

    created_at = _chained_created_at()

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="administrations")
    admission = models.ForeignKey(
        Admission, on_delete=models.PROTECT, related_name="administrations"
    )
    order = models.ForeignKey(
        MedicationOrder, on_delete=models.PROTECT, related_name="administrations"
    )
    scheduled_dose = models.ForeignKey(
        ScheduledDose,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="administrations",
    )
    status = models.CharField(_("status"), max_length=20, choices=AdministrationStatus.choices)
    performer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    witness = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # A student nurse's record: her clinical instructor, who co-signed it by badge and PIN at the
    # bedside (scanning/rules/cosign.py), and when. Hashed only where set (scanning/audit.py).
    cosigner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("co-signed by (instructor)"),
    )
    cosigned_at = models.DateTimeField(_("co-signed at"), null=True, blank=True)
    administered_at = models.DateTimeField(_("administered at"))
    amount = models.DecimalField(
        _("amount"), max_digits=12, decimal_places=4, null=True, blank=True
    )
    unit = models.CharField(_("unit"), max_length=4, choices=DoseUnit.choices, blank=True)
    route = models.CharField(_("route"), max_length=3, choices=Route.choices, blank=True)
    site = models.CharField(_("site"), max_length=60, blank=True)
    is_partial = models.BooleanField(_("partial dose"), default=False)
    reason = models.CharField(_("reason"), max_length=20, blank=True)
    comment = models.CharField(_("comment"), max_length=500, blank=True)
    # The indication a PRN dose was given for, one of its order's (rules/prn.py); "" for any
    # other record and for the records written before it existed. Hashed only when set
    # (audit.OPTIONAL_ADMINISTRATION_FIELDS), so that those keep their hash.
    prn_reason = models.CharField(_("PRN reason"), max_length=100, blank=True)
    cart = models.CharField(_("cart"), max_length=60, blank=True)
    corrects = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="correction",
        help_text=_("The record this entered-in-error record withdraws."),
    )
    replaces = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="replacement",
        help_text=_("The withdrawn record this record stands in for."),
    )

    objects = AdministrationQuerySet.as_manager()

    class Meta:
        ordering = ["-administered_at"]
        verbose_name = _("administration")
        verbose_name_plural = _("administrations")
        constraints = [
            # The guard against double doses, whatever the code above it does.
            models.UniqueConstraint(
                fields=["scheduled_dose"],
                condition=Q(
                    status="completed", replaces__isnull=True, scheduled_dose__isnull=False
                ),
                name="%(app_label)s_%(class)s_one_given_per_dose",
                violation_error_message=_("This dose has already been given."),
            ),
            models.CheckConstraint(
                condition=Q(status__in=AdministrationStatus.values),
                name="%(app_label)s_%(class)s_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status="completed")
                | (Q(amount__isnull=False, amount__gt=0) & ~Q(unit="") & ~Q(route="")),
                name="%(app_label)s_%(class)s_given_has_amount_unit_route",
            ),
            models.CheckConstraint(
                condition=Q(route="") | Q(route__in=Route.values),
                name="%(app_label)s_%(class)s_route_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status="not_done") | ~Q(reason=""),
                name="%(app_label)s_%(class)s_not_done_needs_reason",
            ),
            models.CheckConstraint(
                condition=(Q(status="entered_in_error") & Q(corrects__isnull=False) & ~Q(reason=""))
                | (~Q(status="entered_in_error") & Q(corrects__isnull=True)),
                name="%(app_label)s_%(class)s_correction_points_at_record",
            ),
            models.CheckConstraint(
                condition=Q(replaces__isnull=True) | Q(status="completed") | Q(status="not_done"),
                name="%(app_label)s_%(class)s_replacement_is_a_record",
            ),
            models.UniqueConstraint(
                fields=["patient", "chain_seq"], name="%(app_label)s_%(class)s_chain_seq_unique"
            ),
            models.CheckConstraint(
                condition=Q(cosigner__isnull=True, cosigned_at__isnull=True)
                | (
                    Q(cosigner__isnull=False, cosigned_at__isnull=False)
                    & ~Q(cosigner=models.F("performer"))
                ),
                name="%(app_label)s_%(class)s_cosign_by_another_with_time",
                violation_error_message=_(
                    "A co-sign names another person than the performer, and when."
                ),
            ),
            _sealed_whole(),
        ]
        indexes = [
            models.Index(fields=["patient", "administered_at"]),
            models.Index(fields=["order", "status", "administered_at"]),
        ]

    def __str__(self):
        return f"{self.order} → {self.patient.mrn} {self.status} @ {self.administered_at:%Y-%m-%d %H:%M}"

    # The rows a record was written with (scanning.chains.administration_append keeps them), so
    # that whoever answers with a new record needs no second read; a record read back from the
    # database has none and reads its relations (prefetched or not).
    written_units: list | None = None
    written_overrides: list | None = None
    written_assessments: list | None = None

    @property
    def recorded_units(self) -> list:
        """The record's units: those it was written with, else its `units` relation."""
        if self.written_units is not None:
            return self.written_units
        return list(self.units.all())

    @property
    def recorded_overrides(self) -> list:
        """The record's overrides: those it was written with, else its `overrides` relation."""
        if self.written_overrides is not None:
            return self.written_overrides
        return list(self.overrides.all())

    @property
    def recorded_assessments(self) -> list:
        """The values measured before it: those it was written with, else its relation."""
        if self.written_assessments is not None:
            return self.written_assessments
        return list(self.assessments.all())


class AdministeredUnit(BaseModel):
    """One scanned (or keyed) package unit of a given dose: a two-tablet dose has two."""

    created_at = _chained_created_at()  # hashed with its administration

    administration = models.ForeignKey(
        Administration, on_delete=models.PROTECT, related_name="units"
    )
    package = models.ForeignKey(Package, on_delete=models.PROTECT, related_name="+")
    gtin = models.CharField(_("GTIN"), max_length=14)
    lot = models.CharField(_("lot"), max_length=20, blank=True)
    expiry = models.DateField(_("expiry"), null=True, blank=True)
    serial = models.CharField(_("serial"), max_length=20, blank=True)
    scanned = models.BooleanField(_("scanned (not keyed)"), default=True)

    class Meta:
        verbose_name = _("administered unit")
        verbose_name_plural = _("administered units")
        # The order they were scanned and written in, on every database (a vacuum reorders
        # the heap, and an answer read back must list them as the answer written did).
        ordering = ["id"]
        constraints = [
            # A serialised unit is given once, ever; an entered-in-error record keeps its serials used.
            models.UniqueConstraint(
                fields=["gtin", "serial"],
                condition=~Q(serial=""),
                name="%(app_label)s_%(class)s_serial_used_once",
                violation_error_message=_("This unit has already been administered."),
            ),
        ]


class Override(BaseModel):
    """Why a WARN finding was accepted."""

    created_at = _chained_created_at()  # hashed with its administration

    administration = models.ForeignKey(
        Administration, on_delete=models.PROTECT, related_name="overrides"
    )
    finding_code = models.CharField(_("finding"), max_length=40)
    reason = models.CharField(_("reason"), max_length=40)
    comment = models.CharField(_("comment"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("override")
        verbose_name_plural = _("overrides")
        # The order they were written in, on every database (a vacuum reorders the heap).
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["administration", "finding_code"],
                name="%(app_label)s_%(class)s_one_per_finding",
            ),
        ]


class AdministrationAssessment(BaseModel):
    """A value measured before giving (pharmacy/assessments.py: a heart rate, a glucose, a pain
    score), written with the record it was measured for, given or held, and hashed with it."""

    created_at = _chained_created_at()  # hashed with its administration

    administration = models.ForeignKey(
        Administration, on_delete=models.PROTECT, related_name="assessments"
    )
    kind = models.CharField(_("assessment"), max_length=30)
    value = models.DecimalField(_("value"), max_digits=7, decimal_places=2)
    unit = models.CharField(_("unit (UCUM)"), max_length=20)

    class Meta:
        verbose_name = _("assessment before giving")
        verbose_name_plural = _("assessments before giving")
        # The order they were written in, on every database (a vacuum reorders the heap).
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["administration", "kind"], name="%(app_label)s_%(class)s_one_per_kind"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=list(ASSESSMENT_KINDS)),
                name="%(app_label)s_%(class)s_kind_valid",
            ),
        ]


class InfusionEventKind(models.TextChoices):
    STARTED = "started", _("hung and started")
    RATE_CHANGED = "rate_changed", _("rate changed")
    PAUSED = "paused", _("paused")
    RESUMED = "resumed", _("resumed")
    COMPLETED = "completed", _("completed")
    STOPPED = "stopped", _("stopped")


class InfusionEvent(ChainedRecord, BaseModel):
    """One moment in the life of a bag (or syringe) hung for an infusion order: started (written
    with the bag's administration), rate changed, paused, resumed, completed or stopped. Each is a
    new row, never an edit: time, nurse and rate as they were. Hash-chained per bag (its
    administration) and append-only in the database. A bag starts once and ends once (partial
    unique constraints): two carts acting on one bag cannot both win."""

    created_at = _chained_created_at()

    administration = models.ForeignKey(
        Administration, on_delete=models.PROTECT, related_name="infusion_events"
    )
    kind = models.CharField(_("event"), max_length=12, choices=InfusionEventKind.choices)
    at = models.DateTimeField(_("at"))
    nurse = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # The running rate from this event on (none once paused or ended).
    rate_ml_h = models.DecimalField(
        _("rate (mL/h)"), max_digits=8, decimal_places=1, null=True, blank=True
    )
    # The IV line (lumen or pump channel) the bag runs on, written when it is hung.
    line = models.CharField(_("line"), max_length=20, blank=True)
    volume_infused_ml = models.DecimalField(
        _("volume infused (mL)"), max_digits=8, decimal_places=1, null=True, blank=True
    )
    cart = models.CharField(_("cart"), max_length=60, blank=True)
    # A rate outside the order (INFUSION_RATE_OUTSIDE_ORDER, a WARN) is set only with a reason.
    override_reason = models.CharField(_("override reason"), max_length=40, blank=True)
    override_comment = models.CharField(_("override comment"), max_length=500, blank=True)

    class Meta:
        ordering = ["administration_id", "chain_seq"]
        verbose_name = _("infusion event")
        verbose_name_plural = _("infusion events")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=InfusionEventKind.values),
                name="%(app_label)s_%(class)s_kind_valid",
            ),
            models.UniqueConstraint(
                fields=["administration"],
                condition=Q(kind="started"),
                name="%(app_label)s_%(class)s_bag_starts_once",
                violation_error_message=_("This bag has already been hung."),
            ),
            models.UniqueConstraint(
                fields=["administration"],
                condition=Q(kind__in=["completed", "stopped"]),
                name="%(app_label)s_%(class)s_bag_ends_once",
                violation_error_message=_("This bag has already been taken down."),
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["started", "rate_changed"])
                | Q(rate_ml_h__isnull=False, rate_ml_h__gt=0),
                name="%(app_label)s_%(class)s_running_has_rate",
            ),
            models.CheckConstraint(
                condition=~Q(kind="started") | ~Q(line=""),
                name="%(app_label)s_%(class)s_started_has_line",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["completed", "stopped"])
                | Q(volume_infused_ml__isnull=False, volume_infused_ml__gte=0),
                name="%(app_label)s_%(class)s_end_has_volume",
            ),
            models.UniqueConstraint(
                fields=["administration", "chain_seq"],
                name="%(app_label)s_%(class)s_chain_seq_unique",
            ),
            _sealed_whole(),
        ]
        indexes = [models.Index(fields=["kind", "at"])]

    def __str__(self):
        return f"{self.kind} @ {self.at:%Y-%m-%d %H:%M}"


class Removal(ChainedRecord, BaseModel):
    """A patch, ring or implant taken off: who, when, from which site, and whether its label was
    scanned. One per application, written once; hash-chained per patient like the records, under
    the patient's lock (scanning.services.removal_record)."""

    created_at = _chained_created_at()

    administration = models.OneToOneField(
        Administration, on_delete=models.PROTECT, related_name="removal"
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="removals")
    performer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    removed_at = models.DateTimeField(_("removed at"))
    site = models.CharField(_("site"), max_length=60, blank=True)
    scanned = models.BooleanField(_("scanned (not documented by hand)"), default=False)
    comment = models.CharField(_("comment"), max_length=500, blank=True)
    cart = models.CharField(_("cart"), max_length=60, blank=True)

    class Meta:
        ordering = ["-removed_at"]
        verbose_name = _("removal")
        verbose_name_plural = _("removals")
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "chain_seq"], name="%(app_label)s_%(class)s_chain_seq_unique"
            ),
            _sealed_whole(),
        ]

    def __str__(self):
        return f"removal of {self.administration_id} @ {self.removed_at:%Y-%m-%d %H:%M}"


class ReassessmentEffect(models.TextChoices):
    EFFECTIVE = "effective", _("effective")
    PARTLY = "partly", _("partly effective")
    NOT_EFFECTIVE = "not_effective", _("not effective")


class PrnReassessment(BaseModel):
    """How well a PRN dose worked, documented by a nurse after it (issue 18): the effect, a pain
    score (required after an analgesic), a comment. At most one per record, written once under the
    patient's lock (scanning.reassessments); append-only in the database. `due_at` is when it was
    due (the record's time plus the route's PRN_REASSESS_MINUTES) and `minutes_late` how long
    after due plus the grace it was documented (0: on time), both fixed when it is written so that
    a later change of the settings does not rewrite past variances."""

    administration = models.OneToOneField(
        Administration, on_delete=models.PROTECT, related_name="reassessment"
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    performer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    documented_at = models.DateTimeField(_("documented at"))
    due_at = models.DateTimeField(_("due at"))
    minutes_late = models.PositiveIntegerField(_("minutes late"), default=0)
    effect = models.CharField(_("effect"), max_length=16, choices=ReassessmentEffect.choices)
    pain_score = models.PositiveSmallIntegerField(_("pain score (0-10)"), null=True, blank=True)
    comment = models.CharField(_("comment"), max_length=500, blank=True)
    cart = models.CharField(_("cart"), max_length=60, blank=True)

    class Meta:
        ordering = ["-documented_at"]
        verbose_name = _("PRN reassessment")
        verbose_name_plural = _("PRN reassessments")
        constraints = [
            models.CheckConstraint(
                condition=Q(effect__in=ReassessmentEffect.values),
                name="%(app_label)s_%(class)s_effect_valid",
            ),
            models.CheckConstraint(
                condition=Q(pain_score__isnull=True) | Q(pain_score__lte=10),
                name="%(app_label)s_%(class)s_pain_score_0_10",
            ),
        ]

    @property
    def late(self) -> bool:
        return self.minutes_late > 0

    def __str__(self):
        return f"reassessment of {self.administration_id} @ {self.documented_at:%Y-%m-%d %H:%M}"


class WasteReason(models.TextChoices):
    PARTIAL_DOSE = "partial_dose", _("rest of a unit after a partial dose")
    DROPPED = "dropped", _("dropped, broken or contaminated")
    NOT_GIVEN_AFTER_DRAWN = "not_given_after_drawn", _("drawn up, then not given")
    OTHER = "other", _("other (comment required)")


class Waste(ChainedRecord, BaseModel):
    """The part of a given record's units that was destroyed, not given: half a 10 mg morphine
    ampoule after a 5 mg dose. At most one per record, written with it or later (an ampoule
    dropped), never changed. A controlled or high-alert drug's waste names its witness (the rules
    refuse it without one). Hash-chained per patient, like the records; append-only in the
    database."""

    created_at = _chained_created_at()

    administration = models.OneToOneField(
        Administration, on_delete=models.PROTECT, related_name="waste"
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(_("amount wasted"), max_digits=12, decimal_places=4)
    unit = models.CharField(_("unit"), max_length=4, choices=DoseUnit.choices)
    reason = models.CharField(_("reason"), max_length=24, choices=WasteReason.choices)
    comment = models.CharField(_("comment"), max_length=500, blank=True)
    performer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    witness = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    wasted_at = models.DateTimeField(_("wasted at"))
    cart = models.CharField(_("cart"), max_length=60, blank=True)

    class Meta:
        ordering = ["-wasted_at"]
        verbose_name = _("waste")
        verbose_name_plural = _("wastes")
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="%(app_label)s_%(class)s_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(reason__in=WasteReason.values),
                name="%(app_label)s_%(class)s_reason_valid",
            ),
            models.CheckConstraint(
                condition=~Q(reason="other") | ~Q(comment=""),
                name="%(app_label)s_%(class)s_other_needs_comment",
            ),
            models.CheckConstraint(
                condition=Q(witness__isnull=True) | ~Q(witness=models.F("performer")),
                name="%(app_label)s_%(class)s_witness_is_another",
            ),
            models.UniqueConstraint(
                fields=["patient", "chain_seq"], name="%(app_label)s_%(class)s_chain_seq_unique"
            ),
            _sealed_whole(),
        ]
        indexes = [models.Index(fields=["wasted_at"])]

    def __str__(self):
        return f"{self.amount} {self.unit} wasted @ {self.wasted_at:%Y-%m-%d %H:%M}"


class IdempotentRequest(BaseModel):
    """The first answer to a request with an Idempotency-Key, replayed to retries of it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    key = models.CharField(max_length=200)
    endpoint = models.CharField(max_length=100)
    request_fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "key"], name="%(app_label)s_%(class)s_unique_key"
            ),
        ]


class CheckedDose(models.Model):
    """The order and scheduled dose (none for PRN) a check was about, written with the check's scan
    event. The event itself is hashed and append-only, and cannot gain a column without a new
    audit version; this row lets a GO or WARN that nothing followed be found ("scanned but not
    recorded", scanning.selectors.checks_unrecorded)."""

    scan_event = models.OneToOneField(
        ScanEvent, on_delete=models.PROTECT, primary_key=True, related_name="checked_dose"
    )
    order = models.ForeignKey(MedicationOrder, on_delete=models.PROTECT, related_name="+")
    # No database constraint: a changed order's future doses are deleted (pharmacy.services), and
    # a check of one of them must neither block that nor be rewritten (this row is append-only).
    scheduled_dose = models.ForeignKey(
        ScheduledDose,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    checked_at = models.DateTimeField(_("checked at"))  # the event's, for the index below

    class Meta:
        verbose_name = _("checked dose")
        verbose_name_plural = _("checked doses")
        indexes = [models.Index(fields=["order", "checked_at"])]

    def __str__(self):
        return f"check {self.scan_event_id}: order {self.order_id}, dose {self.scheduled_dose_id}"


class UnrecordedCheckReason(models.TextChoices):
    GIVEN_ON_PAPER = "given_on_paper", _("Given, and written on the paper (downtime) MAR")
    NOT_GIVEN = "not_given", _("Not given: the dose stays open on the patient's list")
    SCANNED_IN_ERROR = "scanned_in_error", _("Scanned by mistake: nothing was prepared")
    OTHER = "other", _("Other (comment required)")


class UnrecordedCheckAcknowledgement(BaseModel):
    """A nurse's answer to a check of hers that was scanned but not recorded: who, when and why it
    leaves the lists. Written once (append-only in the database too); never changed."""

    scan_event = models.OneToOneField(
        ScanEvent, on_delete=models.PROTECT, related_name="unrecorded_acknowledgement"
    )
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=20, choices=UnrecordedCheckReason.choices)
    comment = models.CharField(_("comment"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("scanned-but-not-recorded acknowledgement")
        verbose_name_plural = _("scanned-but-not-recorded acknowledgements")
        constraints = [
            models.CheckConstraint(
                condition=Q(reason__in=UnrecordedCheckReason.values),
                name="%(app_label)s_%(class)s_reason_valid",
            ),
            models.CheckConstraint(
                condition=~Q(reason="other") | ~Q(comment=""),
                name="%(app_label)s_%(class)s_other_needs_comment",
            ),
        ]

    def __str__(self):
        return f"{self.reason} @ {self.created_at:%Y-%m-%d %H:%M}"


# The bedside writes these rows with hospital.sql (the system check hospital.E001 holds them to it).
sql.written_raw(Administration, ScanEvent, IdempotentRequest, InfusionEvent)


class MissingDoseReason(models.TextChoices):
    NOT_ON_CART = "not_on_cart", _("Not on the cart")
    DAMAGED = "damaged", _("Damaged")
    WRONG_STRENGTH = "wrong_strength", _("Wrong strength")
    OTHER = "other", _("Other (comment required)")


class MissingDoseState(models.TextChoices):
    REQUESTED = "requested", _("requested")
    SENT = "sent", _("sent")


class MissingDoseRequest(BaseModel):
    """A nurse asks the pharmacy for a scheduled dose she cannot give from the cart; a pharmacist
    marks it sent. Each state carries its own who and when, written once: the request's columns
    when it is made, `sent_by`/`sent_at` when it is sent (on PostgreSQL a trigger refuses any
    other change and every delete, migration 0011). The dose is named by its order and due time,
    the scheduled dose's own key, because a changed order's future doses are deleted and made
    again (pharmacy.services): a request must neither block that nor vanish with it."""

    order = models.ForeignKey(
        MedicationOrder, on_delete=models.PROTECT, related_name="missing_dose_requests"
    )
    due_at = models.DateTimeField(_("due at"))
    # The patient's ward when it was asked for: the report counts it there after a transfer too.
    ward = models.ForeignKey(Ward, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("reason"), max_length=20, choices=MissingDoseReason.choices)
    comment = models.CharField(_("comment"), max_length=500, blank=True)
    cart = models.CharField(_("cart"), max_length=60, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    state = models.CharField(
        _("state"),
        max_length=10,
        choices=MissingDoseState.choices,
        default=MissingDoseState.REQUESTED,
    )
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        ordering = ["due_at", "requested_at"]
        verbose_name = _("missing-dose request")
        verbose_name_plural = _("missing-dose requests")
        constraints = [
            # Two nurses asking for one dose make one request: the second gets the first back.
            models.UniqueConstraint(
                fields=["order", "due_at"],
                condition=Q(state="requested"),
                name="%(app_label)s_%(class)s_one_open_per_dose",
                violation_error_message=_("This dose has already been requested."),
            ),
            models.CheckConstraint(
                condition=Q(reason__in=MissingDoseReason.values),
                name="%(app_label)s_%(class)s_reason_valid",
            ),
            models.CheckConstraint(
                condition=Q(state__in=MissingDoseState.values),
                name="%(app_label)s_%(class)s_state_valid",
            ),
            models.CheckConstraint(
                condition=~Q(reason="other") | ~Q(comment=""),
                name="%(app_label)s_%(class)s_other_needs_comment",
            ),
            models.CheckConstraint(
                condition=Q(state="requested", sent_by__isnull=True, sent_at__isnull=True)
                | Q(state="sent", sent_by__isnull=False, sent_at__isnull=False),
                name="%(app_label)s_%(class)s_sent_says_who_and_when",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "due_at"]),
            models.Index(fields=["requested_at"]),
        ]

    def __str__(self):
        return f"{self.order} @ {self.due_at:%Y-%m-%d %H:%M}: {self.state}"
