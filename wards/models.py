from datetime import date

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from hospital.models import BaseModel, Hospital, gsrn_validator


class Ward(BaseModel):
    # Codes are unique across the province (e.g. "BC-NOI" at Bãi Cháy): a cart's ward, an HL7
    # PV1-3 and a report's filter name a ward by code alone.
    code = models.CharField(_("code"), max_length=20, unique=True)
    hospital = models.ForeignKey(
        Hospital, on_delete=models.PROTECT, related_name="wards", verbose_name=_("hospital")
    )
    name = models.CharField(_("name"), max_length=200)
    # Time-window policy: a scheduled dose given within ± this many minutes of its due time is on time.
    window_minutes = models.PositiveSmallIntegerField(_("dose window (minutes)"), default=60)
    time_critical_window_minutes = models.PositiveSmallIntegerField(
        _("time-critical dose window (minutes)"), default=30
    )
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="wards", verbose_name=_("assigned staff")
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("ward")
        verbose_name_plural = _("wards")
        constraints = [
            models.CheckConstraint(
                condition=Q(window_minutes__gt=0) & Q(time_critical_window_minutes__gt=0),
                name="%(app_label)s_%(class)s_windows_positive",
            ),
        ]

    def __str__(self):
        return f"{self.code} – {self.name}"


class Bed(BaseModel):
    ward = models.ForeignKey(
        Ward, on_delete=models.PROTECT, related_name="beds", verbose_name=_("ward")
    )
    code = models.CharField(_("code"), max_length=20)

    class Meta:
        ordering = ["ward__code", "code"]
        verbose_name = _("bed")
        verbose_name_plural = _("beds")
        constraints = [
            models.UniqueConstraint(
                fields=["ward", "code"], name="%(app_label)s_%(class)s_unique_code"
            ),
        ]

    def __str__(self):
        return f"{self.ward.code}/{self.code}"


class Sex(models.TextChoices):
    FEMALE = "F", _("Female")
    MALE = "M", _("Male")
    OTHER = "O", _("Other")
    UNKNOWN = "U", _("Unknown")


MRN_VALIDATOR = RegexValidator(r"^[A-Z0-9-]{4,20}$", _("Upper-case letters, digits and dashes."))


class Patient(BaseModel):
    """One person in the province: an allergy recorded in one hospital stops a dose in another.
    Each hospital's HIS knows her by its own MRN (`PatientNumber`)."""

    # The hospital whose HIS registered this person and issued `mrn`. A patient never admitted
    # anywhere is seen by this hospital only (backoffice.tenancy, scanning.access); once admitted,
    # by the hospitals of her admissions. It never changes: admitted elsewhere, she stays its.
    hospital = models.ForeignKey(
        Hospital,
        on_delete=models.PROTECT,
        related_name="registered_patients",
        verbose_name=_("registering hospital"),
    )
    # The registering hospital's MRN (also her `PatientNumber` there). Another hospital may
    # issue the same number to someone else: it identifies her only with `hospital`.
    mrn = models.CharField(_("MRN"), max_length=20, validators=[MRN_VALIDATOR])
    # GS1 AI 8018: the patient's Global Service Relation Number, printed on every wristband.
    gsrn = models.CharField(_("GSRN"), max_length=18, unique=True, validators=[gsrn_validator])
    full_name = models.CharField(_("full name"), max_length=200)
    date_of_birth = models.DateField(_("date of birth"))
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    # The CCCD (12 digits): what links the numbers two hospitals gave one person.
    national_id = models.CharField(_("national ID"), max_length=20, blank=True)
    health_insurance_number = models.CharField(
        _("health insurance number"), max_length=20, blank=True
    )
    deceased_at = models.DateTimeField(_("deceased at"), null=True, blank=True)
    # HL7 A40: this record was a duplicate of `merged_into` in the HIS. Kept (its records point
    # at it), never admitted again.
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_patients",
        verbose_name=_("merged into"),
    )
    merged_at = models.DateTimeField(_("merged at"), null=True, blank=True)
    # The last weighing; weight-based doses are computed and checked against it. To ten grams for newborns.
    weight_kg = models.DecimalField(
        _("weight (kg)"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    weight_measured_at = models.DateTimeField(_("weighed at"), null=True, blank=True)
    height_cm = models.DecimalField(
        _("height (cm)"), max_digits=4, decimal_places=1, null=True, blank=True
    )

    class Meta:
        ordering = ["full_name"]
        verbose_name = _("patient")
        verbose_name_plural = _("patients")
        constraints = [
            models.UniqueConstraint(
                fields=["hospital", "mrn"],
                name="%(app_label)s_%(class)s_mrn_unique_in_hospital",
                violation_error_message=_("This hospital has already issued this MRN."),
            ),
            models.UniqueConstraint(
                fields=["national_id"],
                condition=~Q(national_id="") & Q(merged_into__isnull=True),
                name="%(app_label)s_%(class)s_one_live_per_national_id",
                violation_error_message=_("Another patient has this national ID."),
            ),
            models.CheckConstraint(
                condition=Q(sex__in=Sex.values), name="%(app_label)s_%(class)s_sex_valid"
            ),
            models.CheckConstraint(
                condition=Q(gsrn__regex=r"^\d{18}$"), name="%(app_label)s_%(class)s_gsrn_18_digits"
            ),
            models.CheckConstraint(
                condition=Q(weight_kg__isnull=True) | Q(weight_kg__gt=0, weight_kg__lte=500),
                name="%(app_label)s_%(class)s_weight_plausible",
                violation_error_message=_("A weight is more than 0 and at most 500 kg."),
            ),
            models.CheckConstraint(
                condition=Q(weight_kg__isnull=True, weight_measured_at__isnull=True)
                | Q(weight_kg__isnull=False, weight_measured_at__isnull=False),
                name="%(app_label)s_%(class)s_weight_with_time",
                violation_error_message=_("A weight needs the time it was measured."),
            ),
            models.CheckConstraint(
                condition=Q(height_cm__isnull=True) | Q(height_cm__gt=0, height_cm__lte=250),
                name="%(app_label)s_%(class)s_height_plausible",
                violation_error_message=_("A height is more than 0 and at most 250 cm."),
            ),
        ]

    def __str__(self):
        return f"{self.full_name} ({self.mrn})"

    def age_text(self, on: date) -> str:
        """Age as a clinician says it: years; months under two; days under one month."""
        return age_text(self.date_of_birth, on)


def age_text(born: date, on: date) -> str:
    months = (on.year - born.year) * 12 + on.month - born.month - (on.day < born.day)
    if months >= 24:
        years = months // 12
        return ngettext("%(n)d year", "%(n)d years", years) % {"n": years}
    if months >= 1:
        return ngettext("%(n)d month", "%(n)d months", months) % {"n": months}
    days = (on - born).days
    return ngettext("%(n)d day", "%(n)d days", days) % {"n": days}


class PatientNumber(BaseModel):
    """The MRN one hospital's HIS gave a patient: one per hospital, and one patient per MRN in a
    hospital (hospital A's 000123 and hospital B's 000123 are two people)."""

    hospital = models.ForeignKey(
        Hospital,
        on_delete=models.PROTECT,
        related_name="patient_numbers",
        verbose_name=_("hospital"),
    )
    mrn = models.CharField(_("MRN"), max_length=20, validators=[MRN_VALIDATOR])
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="numbers", verbose_name=_("patient")
    )

    class Meta:
        ordering = ["hospital__code"]
        verbose_name = _("patient number")
        verbose_name_plural = _("patient numbers")
        constraints = [
            models.UniqueConstraint(
                fields=["hospital", "mrn"],
                name="%(app_label)s_%(class)s_mrn_unique_in_hospital",
                violation_error_message=_("This hospital has already issued this MRN."),
            ),
            models.UniqueConstraint(
                fields=["hospital", "patient"],
                name="%(app_label)s_%(class)s_one_per_hospital",
                violation_error_message=_("This patient already has an MRN at this hospital."),
            ),
        ]

    def __str__(self):
        return f"{self.mrn} @ {self.hospital_id}"


class Admission(BaseModel):
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="admissions", verbose_name=_("patient")
    )
    # The patient's MRN at the hospital of the ward, copied when she is admitted: what the
    # bedside shows and what goes out (PID-3) under that hospital's name.
    mrn = models.CharField(_("MRN"), max_length=20, validators=[MRN_VALIDATOR])
    ward = models.ForeignKey(
        Ward, on_delete=models.PROTECT, related_name="admissions", verbose_name=_("ward")
    )
    # The ward's hospital, set when she is admitted; it never changes (a transfer to another
    # hospital's ward is refused). Its HIS issued `visit_number`: another hospital's HIS may
    # issue the same number for another visit.
    hospital = models.ForeignKey(
        Hospital, on_delete=models.PROTECT, related_name="admissions", verbose_name=_("hospital")
    )
    bed = models.ForeignKey(
        Bed,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="admissions",
        verbose_name=_("bed"),
    )
    admitted_at = models.DateTimeField(_("admitted at"))
    discharged_at = models.DateTimeField(_("discharged at"), null=True, blank=True)
    # The HIS's visit number (HL7 PV1-19): kept as received and sent back in every message.
    # Unique in its hospital only, and looked up with it.
    visit_number = models.CharField(_("visit number"), max_length=40, blank=True)
    # The last transfer (HL7 A02): the cart tells the nurse the patient came from another ward.
    transferred_at = models.DateTimeField(_("transferred at"), null=True, blank=True)
    transferred_from = models.ForeignKey(
        Ward,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("transferred from"),
    )
    transferred_from_bed = models.ForeignKey(
        Bed,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("transferred from bed"),
    )
    # HL7 A11: the HIS cancelled this admission (entered in error). It is closed like a discharge.
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    class Meta:
        ordering = ["-admitted_at"]
        verbose_name = _("admission")
        verbose_name_plural = _("admissions")
        constraints = [
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(discharged_at__isnull=True),
                name="%(app_label)s_%(class)s_one_open_per_patient",
                violation_error_message=_("This patient already has an open admission."),
            ),
            models.UniqueConstraint(
                fields=["bed"],
                condition=Q(discharged_at__isnull=True, bed__isnull=False),
                name="%(app_label)s_%(class)s_one_open_per_bed",
                violation_error_message=_("This bed is already occupied."),
            ),
            models.UniqueConstraint(
                fields=["hospital", "visit_number"],
                condition=~Q(visit_number=""),
                name="%(app_label)s_%(class)s_visit_number_unique_in_hospital",
                violation_error_message=_("Another admission has this visit number."),
            ),
            models.CheckConstraint(
                condition=~Q(mrn=""),
                name="%(app_label)s_%(class)s_mrn_required",
                violation_error_message=_("An admission carries the patient's MRN."),
            ),
            models.CheckConstraint(
                condition=Q(discharged_at__isnull=True) | Q(discharged_at__gt=F("admitted_at")),
                name="%(app_label)s_%(class)s_discharge_after_admission",
                violation_error_message=_("Discharge must be after admission."),
            ),
            models.CheckConstraint(
                condition=Q(cancelled_at__isnull=True) | Q(discharged_at__isnull=False),
                name="%(app_label)s_%(class)s_cancelled_is_closed",
                violation_error_message=_("A cancelled admission is closed."),
            ),
            models.CheckConstraint(
                condition=Q(transferred_at__isnull=True, transferred_from__isnull=True)
                | Q(transferred_at__isnull=False, transferred_from__isnull=False),
                name="%(app_label)s_%(class)s_transfer_has_origin",
            ),
        ]
        indexes = [models.Index(fields=["ward", "discharged_at"])]

    def __str__(self):
        return f"{self.patient} @ {self.ward.code}"

    @property
    def is_open(self) -> bool:
        return self.discharged_at is None


class AllergySeverity(models.TextChoices):
    MILD = "mild", _("Mild")
    MODERATE = "moderate", _("Moderate")
    SEVERE = "severe", _("Severe")
    UNKNOWN = "unknown", _("Unknown")


class Allergy(BaseModel):
    """An allergy to a substance or an allergy class, by code.

    Codes (not a foreign key to the formulary) because patients are allergic to things the
    formulary does not stock; the rules match `allergen_code` against a medication's substance
    code and its allergy-class code.
    """

    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="allergies", verbose_name=_("patient")
    )
    allergen_code = models.SlugField(_("substance or class code"), max_length=60)
    allergen_name = models.CharField(_("substance or class"), max_length=200)
    severity = models.CharField(
        _("severity"),
        max_length=10,
        choices=AllergySeverity.choices,
        default=AllergySeverity.UNKNOWN,
    )
    reaction = models.CharField(_("reaction"), max_length=200, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        ordering = ["patient", "allergen_name"]
        verbose_name = _("allergy")
        verbose_name_plural = _("allergies")
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "allergen_code"], name="%(app_label)s_%(class)s_unique_allergen"
            ),
            models.CheckConstraint(
                condition=Q(severity__in=AllergySeverity.values),
                name="%(app_label)s_%(class)s_severity_valid",
            ),
        ]

    def __str__(self):
        return f"{self.allergen_name} ({self.get_severity_display()})"


class WristbandQuerySet(models.QuerySet["Wristband"]):
    def active(self) -> "WristbandQuerySet":
        """Bands that identify a patient at the bedside: not voided, on an admission still open.
        The bedside's one-statement read spells the same in scanning.facts.fast_sql
        (patient_admission_band)."""
        return self.filter(voided_at__isnull=True, admission__discharged_at__isnull=True)


class Wristband(BaseModel):
    """One printed band. AI 8019 `instance` numbers a patient's bands across admissions, never reused."""

    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="wristbands", verbose_name=_("patient")
    )
    admission = models.ForeignKey(
        Admission,
        on_delete=models.PROTECT,
        related_name="wristbands",
        verbose_name=_("admission"),
    )
    instance = models.PositiveBigIntegerField(
        _("band instance (SRIN)"), validators=[MinValueValidator(1)]
    )
    printed_at = models.DateTimeField(_("printed at"))
    printed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("printed by"),
    )
    voided_at = models.DateTimeField(_("voided at"), null=True, blank=True)
    void_reason = models.CharField(_("void reason"), max_length=200, blank=True)

    objects = WristbandQuerySet.as_manager()

    class Meta:
        ordering = ["patient", "-instance"]
        verbose_name = _("wristband")
        verbose_name_plural = _("wristbands")
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "instance"],
                name="%(app_label)s_%(class)s_instance_unique_per_patient",
                violation_error_message=_(
                    "This band instance was already issued for this patient."
                ),
            ),
            models.UniqueConstraint(
                fields=["admission"],
                condition=Q(voided_at__isnull=True),
                name="%(app_label)s_%(class)s_one_active_per_admission",
                violation_error_message=_("This admission already has an active wristband."),
            ),
            models.CheckConstraint(
                condition=Q(instance__gte=1) & Q(instance__lte=9_999_999_999),
                name="%(app_label)s_%(class)s_instance_in_srin_range",
            ),
            models.CheckConstraint(
                condition=Q(voided_at__isnull=True, void_reason="")
                | (Q(voided_at__isnull=False) & ~Q(void_reason="")),
                name="%(app_label)s_%(class)s_void_needs_reason",
                violation_error_message=_(
                    "A voided wristband needs a reason, and only a voided one."
                ),
            ),
        ]

    def __str__(self):
        return f"{self.patient.mrn} #{self.instance}"
