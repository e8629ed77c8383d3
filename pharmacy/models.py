from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

import gs1
from hospital import sql
from hospital.models import BaseModel, Hospital
from pharmacy.assessments import (
    ASSESSMENT_KINDS,
    AssessmentError,
    hold_parameters_parse,
    required_kinds_parse,
)
from pharmacy.routes import form_allows_route
from wards.models import Admission


class DoseUnit(models.TextChoices):
    MCG = "mcg", "mcg"
    MG = "mg", "mg"
    G = "g", "g"
    ML = "mL", "mL"
    L = "L", "L"
    IU = "IU", _("IU")
    EACH = "each", _("unit(s)")


# The units a dose per kg may be written in (per dose: mg/kg; IU/kg and rates per kg are not
# handled yet).
MASS_DOSE_UNITS = (DoseUnit.MCG, DoseUnit.MG, DoseUnit.G)


class DoseForm(models.TextChoices):
    TABLET = "tablet", _("tablet")
    TABLET_ER = "tablet_er", _("extended-release tablet")
    CAPSULE = "capsule", _("capsule")
    CAPSULE_ER = "capsule_er", _("extended-release capsule")
    ORAL_SOLUTION = "oral_solution", _("oral solution")
    ORAL_SUSPENSION = "oral_suspension", _("oral suspension")
    INJECTION = "injection", _("solution for injection")
    POWDER_FOR_INJECTION = "powder_injection", _("powder for injection")
    INFUSION = "infusion", _("solution for infusion")
    SUPPOSITORY = "suppository", _("suppository")
    INHALATION = "inhalation", _("inhalation")
    EYE_DROPS = "eye_drops", _("eye drops")
    EAR_DROPS = "ear_drops", _("ear drops")
    NASAL = "nasal", _("nasal drops or spray")
    TOPICAL = "topical", _("cream or ointment")
    PATCH = "patch", _("transdermal patch")


class Route(models.TextChoices):
    """Codes from HL7 table 0162, so that interop can send them unchanged; names and the forms
    each route takes are in pharmacy/routes.py."""

    PO = "PO", pgettext_lazy("route", "oral")
    SL = "SL", pgettext_lazy("route", "sublingual")
    NG = "NG", pgettext_lazy("route", "nasogastric tube")
    IV = "IV", pgettext_lazy("route", "intravenous")
    IA = "IA", pgettext_lazy("route", "intra-arterial")
    IM = "IM", pgettext_lazy("route", "intramuscular")
    SC = "SC", pgettext_lazy("route", "subcutaneous")
    ID = "ID", pgettext_lazy("route", "intradermal")
    IT = "IT", pgettext_lazy("route", "intrathecal")
    EP = "EP", pgettext_lazy("route", "epidural")
    IH = "IH", pgettext_lazy("route", "inhalation")
    NS = "NS", pgettext_lazy("route", "nasal")
    OP = "OP", pgettext_lazy("route", "ophthalmic")
    OT = "OT", pgettext_lazy("route", "otic")
    PR = "PR", pgettext_lazy("route", "rectal")
    VG = "VG", pgettext_lazy("route", "vaginal")
    TP = "TP", pgettext_lazy("route", "topical")
    TD = "TD", pgettext_lazy("route", "transdermal")


class Substance(BaseModel):
    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=200)
    # Allergies may name a class ("penicillins") rather than the substance ("amoxicillin").
    allergy_class_code = models.SlugField(_("allergy class code"), max_length=60, blank=True)
    allergy_class_name = models.CharField(_("allergy class"), max_length=200, blank=True)
    # Injections and patches of this substance should rotate sites: the same site within this many
    # hours WARNs (SITE_RECENTLY_USED), e.g. 48 for heparin or insulin, 168 for a fentanyl patch.
    site_lookback_hours = models.PositiveSmallIntegerField(
        _("site rotation look-back (hours)"), null=True, blank=True
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        verbose_name = _("substance")
        verbose_name_plural = _("substances")

    def __str__(self):
        return self.name


def validate_routes(value):
    if not isinstance(value, list) or not value:
        raise ValidationError(_("List at least one route."))
    unknown = [route for route in value if route not in Route.values]
    if unknown:
        raise ValidationError(
            _("Unknown routes: %(routes)s"), params={"routes": ", ".join(map(str, unknown))}
        )


MEDICATION_CODE_MAX_LENGTH = 20


class Medication(BaseModel):
    """A formulary item. Strength is `strength_value strength_unit` per `per_value per_unit`
    (500 mg per 1 each for a tablet; 250 mg per 5 mL for a syrup; 100 IU per 1 mL for insulin)."""

    # At most 20 characters: the formulary code goes out as an HL7 v2.5 CE-1 identifier (RXA-5),
    # which holds 20, and a code cut short could name another drug. The column stays wider, so
    # the check constraint (not a length error) is what refuses a longer code on every database.
    code = models.SlugField(
        _("code"),
        max_length=60,
        unique=True,
        validators=[MaxLengthValidator(MEDICATION_CODE_MAX_LENGTH)],
    )
    name = models.CharField(_("name"), max_length=200)
    substance = models.ForeignKey(
        Substance,
        on_delete=models.PROTECT,
        related_name="medications",
        verbose_name=_("substance"),
    )
    strength_value = models.DecimalField(_("strength"), max_digits=12, decimal_places=4)
    strength_unit = models.CharField(_("strength unit"), max_length=4, choices=DoseUnit.choices)
    per_value = models.DecimalField(_("per"), max_digits=12, decimal_places=4, default=1)
    per_unit = models.CharField(
        _("per unit"), max_length=4, choices=DoseUnit.choices, default=DoseUnit.EACH
    )
    dose_form = models.CharField(_("dose form"), max_length=20, choices=DoseForm.choices)
    routes = models.JSONField(_("allowed routes"), default=list, validators=[validate_routes])
    high_alert = models.BooleanField(_("high-alert (needs a witness)"), default=False)
    time_critical = models.BooleanField(_("time-critical"), default=False)
    controlled = models.BooleanField(_("controlled substance"), default=False)
    # An analgesic (an opioid, paracetamol, an NSAID given for pain): a pain score (0-10) is
    # measured before every dose, and for a PRN dose again when its effect is reassessed.
    analgesic = models.BooleanField(_("analgesic (pain score before giving)"), default=False)
    # One unit may hold more than a dose (liquid, injectable, scored tablet): give part, document waste.
    divisible = models.BooleanField(_("divisible"), default=False)
    # A patch, ring or implant stays on the patient until removed: its site is recorded, a new one
    # is not applied while the last is on (PREVIOUS_NOT_REMOVED), and it is due off after this long.
    requires_removal = models.BooleanField(_("requires removal"), default=False)
    wear_hours = models.PositiveSmallIntegerField(
        _("removal due after (hours)"), null=True, blank=True
    )
    # The formulary is the province's; a hospital that does not stock an item is named here. A
    # verbal order of it there is refused, the cart does not offer it, and the pharmacist
    # verifying an HIS order of it is told.
    not_stocked_at = models.ManyToManyField(
        "hospital.Hospital", blank=True, related_name="+", verbose_name=_("not stocked at")
    )
    history = HistoricalRecords()

    def stocked_at(self, hospital_id: int) -> bool:
        return not self.not_stocked_at.filter(pk=hospital_id).exists()

    class Meta:
        ordering = ["name"]
        verbose_name = _("medication")
        verbose_name_plural = _("medications")
        constraints = [
            models.CheckConstraint(
                condition=Q(strength_value__gt=0) & Q(per_value__gt=0),
                name="%(app_label)s_%(class)s_strength_positive",
            ),
            models.CheckConstraint(
                condition=Q(strength_unit__in=DoseUnit.values) & Q(per_unit__in=DoseUnit.values),
                name="%(app_label)s_%(class)s_units_valid",
            ),
            models.CheckConstraint(
                condition=Q(dose_form__in=DoseForm.values),
                name="%(app_label)s_%(class)s_dose_form_valid",
            ),
            models.CheckConstraint(
                condition=Q(requires_removal=False) | Q(wear_hours__gte=1),
                name="%(app_label)s_%(class)s_removal_has_wear_time",
                violation_error_message=_("A product that requires removal needs a wear time."),
            ),
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("code"), MEDICATION_CODE_MAX_LENGTH),
                name="%(app_label)s_%(class)s_code_fits_hl7",
                violation_error_message=_("The code can have at most 20 characters."),
            ),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        impossible = [
            route
            for route in (self.routes if isinstance(self.routes, list) else [])
            if route in Route.values and not form_allows_route(self.dose_form, route)
        ]
        if self.dose_form and impossible:
            raise ValidationError(
                {
                    "routes": _("A %(form)s cannot be given by: %(routes)s")
                    % {"form": self.get_dose_form_display(), "routes": ", ".join(impossible)}
                }
            )


gtin14_validator = RegexValidator(r"^\d{14}$", _("Store the GTIN as 14 digits."))


def validate_gtin_check_digit(value: str):
    if not gs1.is_valid_gtin(value):
        raise ValidationError(
            _("%(gtin)s is not a valid GTIN (check digit)."), params={"gtin": value}
        )


class Package(BaseModel):
    """A scannable product: GTIN → medication, and how much medication one scan is."""

    gtin = models.CharField(
        _("GTIN"),
        max_length=14,
        unique=True,
        validators=[gtin14_validator, validate_gtin_check_digit],
        help_text=_("14 digits; EAN-13 codes are stored with a leading zero."),
    )
    medication = models.ForeignKey(
        Medication,
        on_delete=models.PROTECT,
        related_name="packages",
        verbose_name=_("medication"),
    )
    quantity = models.DecimalField(
        _("quantity per scan"), max_digits=10, decimal_places=4, default=1
    )
    quantity_unit = models.CharField(
        _("quantity unit"), max_length=4, choices=DoseUnit.choices, default=DoseUnit.EACH
    )
    description = models.CharField(_("description"), max_length=200, blank=True)
    manufacturer = models.CharField(_("manufacturer"), max_length=200, blank=True)
    registration_number = models.CharField(
        _("registration number (SĐK)"), max_length=40, blank=True
    )
    hospital_repackaged = models.BooleanField(
        _("repackaged by the hospital pharmacy"), default=False
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["medication__name", "gtin"]
        verbose_name = _("package")
        verbose_name_plural = _("packages")
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="%(app_label)s_%(class)s_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(gtin__regex=r"^\d{14}$"), name="%(app_label)s_%(class)s_gtin_14_digits"
            ),
            models.CheckConstraint(
                condition=Q(quantity_unit__in=DoseUnit.values),
                name="%(app_label)s_%(class)s_unit_valid",
            ),
        ]

    def __str__(self):
        return f"{self.gtin} {self.medication.name}"

    def clean_fields(self, exclude=None):
        # EAN-13, UPC-A and EAN-8 are typed as printed; they are stored as GTIN-14.
        if self.gtin and gs1.is_valid_gtin(self.gtin.strip()):
            self.gtin = gs1.normalize_gtin(self.gtin.strip())
        super().clean_fields(exclude=exclude)


class LotRecall(BaseModel):
    package = models.ForeignKey(
        Package, on_delete=models.PROTECT, related_name="recalls", verbose_name=_("package")
    )
    lot = models.CharField(_("lot"), max_length=20)
    recalled_at = models.DateTimeField(_("recalled since"))
    reason = models.CharField(_("reason"), max_length=300)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-recalled_at"]
        verbose_name = _("lot recall")
        verbose_name_plural = _("lot recalls")
        constraints = [
            models.UniqueConstraint(
                fields=["package", "lot"], name="%(app_label)s_%(class)s_unique_lot"
            ),
            models.CheckConstraint(
                condition=~Q(lot=""), name="%(app_label)s_%(class)s_lot_not_blank"
            ),
        ]

    def __str__(self):
        return f"{self.package.gtin} lot {self.lot}"


class OrderStatus(models.TextChoices):
    PENDING_VERIFICATION = "pending_verification", _("awaiting pharmacist verification")
    ACTIVE = "active", _("active")
    ON_HOLD = "on_hold", _("on hold")
    DISCONTINUED = "discontinued", _("discontinued")
    COMPLETED = "completed", _("completed")


class ScheduleKind(models.TextChoices):
    TIMES_OF_DAY = "times", _("at times of day")
    INTERVAL = "interval", _("every N hours")
    PRN = "prn", _("as needed (PRN)")
    # One dose each: at the order's start (ONCE), now (STAT: the start is when it was ordered,
    # with its own short window), or when the ward is called (ON_CALL, e.g. before a procedure:
    # givable once from its start, with no window, since nobody knows when the call comes).
    ONCE = "once", _("once, at a given time")
    STAT = "stat", _("STAT (now)")
    ON_CALL = "on_call", _("on call (once, when called)")


# The kinds that give exactly one scheduled dose, due at the order's start.
ONE_TIME_KINDS = (ScheduleKind.ONCE, ScheduleKind.STAT, ScheduleKind.ON_CALL)


class VerbalKind(models.TextChoices):
    VERBAL = "verbal", _("verbal order")
    TELEPHONE = "telephone", _("telephone order")


def validate_times_of_day(value):
    if not isinstance(value, list) or not value:
        raise ValidationError(_("List at least one time of day (HH:MM)."))
    for item in value:
        hours, _sep, minutes = str(item).partition(":")
        if not (
            len(str(item)) == 5
            and hours.isdigit()
            and minutes.isdigit()
            and int(hours) < 24
            and int(minutes) < 60
        ):
            raise ValidationError(
                _("%(value)s is not a time of day (HH:MM)."), params={"value": item}
            )
    if len(set(value)) != len(value):
        raise ValidationError(_("Each time of day may appear once."))


def validate_assessments_required(value):
    try:
        required_kinds_parse(value)
    except AssessmentError as error:
        raise ValidationError(
            _("List assessments by their codes: %(codes)s (%(problem)s)."),
            params={"codes": ", ".join(ASSESSMENT_KINDS), "problem": error},
        ) from error


def validate_hold_parameters(value):
    try:
        hold_parameters_parse(value)
    except AssessmentError as error:
        raise ValidationError(
            _("A hold parameter is an assessment, <, <=, > or >=, and a value (%(problem)s)."),
            params={"problem": error},
        ) from error


PRN_INDICATION_MAX_LENGTH = 100
PRN_INDICATIONS_MAX = 10


def prn_indications_parse(value: object) -> list[str]:
    """An order's `prn_indications` JSON as the list it holds: texts, trimmed, without repeats
    (compared without case), at most PRN_INDICATIONS_MAX of at most PRN_INDICATION_MAX_LENGTH
    characters. ValueError says what is wrong."""
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        raise ValueError("a list of texts")
    found: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise ValueError("each indication is a text")
        text = " ".join(item.split())
        if len(text) > PRN_INDICATION_MAX_LENGTH:
            raise ValueError(f"at most {PRN_INDICATION_MAX_LENGTH} characters each")
        if text.casefold() not in {seen.casefold() for seen in found}:
            found.append(text)
    if len(found) > PRN_INDICATIONS_MAX:
        raise ValueError(f"at most {PRN_INDICATIONS_MAX} indications")
    return found


def validate_prn_indications(value):
    try:
        prn_indications_parse(value)
    except ValueError as error:
        raise ValidationError(
            _("List the PRN indications as short texts (%(problem)s)."),
            params={"problem": error},
        ) from error


class MedicationOrder(BaseModel):
    admission = models.ForeignKey(
        Admission, on_delete=models.PROTECT, related_name="orders", verbose_name=_("admission")
    )
    # The admission's hospital, set when the order is written; it never changes (clean() refuses
    # an admission of another hospital). Its HIS issued `placer_order_number`: another hospital's
    # HIS may issue the same number for another order. Its own column because a constraint
    # cannot reach through the admission.
    hospital = models.ForeignKey(
        Hospital, on_delete=models.PROTECT, related_name="orders", verbose_name=_("hospital")
    )
    medication = models.ForeignKey(
        Medication, on_delete=models.PROTECT, related_name="orders", verbose_name=_("medication")
    )
    dose_value = models.DecimalField(_("dose"), max_digits=12, decimal_places=4)
    dose_unit = models.CharField(_("dose unit"), max_length=4, choices=DoseUnit.choices)
    route = models.CharField(_("route"), max_length=3, choices=Route.choices)
    schedule_kind = models.CharField(_("schedule"), max_length=10, choices=ScheduleKind.choices)
    # Local wall-clock times (Asia/Ho_Chi_Minh), "HH:MM", for TIMES_OF_DAY.
    times_of_day = models.JSONField(_("times of day"), default=list, blank=True)
    interval_hours = models.PositiveSmallIntegerField(_("every N hours"), null=True, blank=True)
    prn_indication = models.CharField(_("PRN indication"), max_length=200, blank=True)
    # The indications the nurse picks the reason of a PRN dose from (["đau", "sốt"]). Empty on an
    # order written before the list existed: its one `prn_indication` is then the only choice
    # (MedicationOrder.prn_indications_offered).
    prn_indications = models.JSONField(
        _("PRN indications (the nurse picks one)"),
        default=list,
        blank=True,
        validators=[validate_prn_indications],
    )
    prn_min_interval_minutes = models.PositiveIntegerField(
        _("PRN minimum interval (minutes)"), null=True, blank=True
    )
    prn_max_per_24h = models.DecimalField(
        _("PRN maximum per 24 h (in the dose unit)"),
        max_digits=12,
        decimal_places=4,
        null=True,
        blank=True,
    )
    start_at = models.DateTimeField(_("start"))
    stop_at = models.DateTimeField(_("stop"), null=True, blank=True)
    status = models.CharField(
        _("status"),
        max_length=24,
        choices=OrderStatus.choices,
        default=OrderStatus.PENDING_VERIFICATION,
    )
    prescriber_name = models.CharField(_("prescriber"), max_length=200)
    instructions = models.CharField(_("instructions"), max_length=300, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("verified by"),
    )
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    status_changed_at = models.DateTimeField(_("status changed at"), null=True, blank=True)
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("status changed by"),
    )
    status_reason = models.CharField(_("reason for status"), max_length=300, blank=True)
    # The HIS's order numbers (HL7 ORC-2 placer, ORC-3 filler): kept as received, sent back.
    # Its hospital's, and looked up with it; the placer number is unique in the hospital.
    placer_order_number = models.CharField(_("placer order number"), max_length=40, blank=True)
    filler_order_number = models.CharField(_("filler order number"), max_length=40, blank=True)
    # An infusion (a bag or syringe that runs over time): its volume, rate or duration, what is
    # added to the solution, and how many bags of it may run at once on one line. The solution is
    # the order's medication; a rate (or a volume and a duration) makes it an infusion.
    volume_ml = models.DecimalField(
        _("infusion volume (mL)"), max_digits=8, decimal_places=1, null=True, blank=True
    )
    rate_ml_h = models.DecimalField(
        _("infusion rate (mL/h)"), max_digits=8, decimal_places=1, null=True, blank=True
    )
    duration_minutes = models.PositiveIntegerField(
        _("infusion duration (minutes)"), null=True, blank=True
    )
    additives = models.CharField(_("additives"), max_length=200, blank=True)
    max_concurrent_bags = models.PositiveSmallIntegerField(
        _("bags that may run at once on one line"), default=1
    )
    # What the nurse measures before giving (pharmacy/assessments.py codes), and when the dose is
    # held: [{"kind": "heart_rate", "operator": "<", "value": "60"}]. A hold parameter's kind is
    # asked for whether or not it is listed in assessments_required.
    assessments_required = models.JSONField(
        _("assessments before giving"),
        default=list,
        blank=True,
        validators=[validate_assessments_required],
    )
    hold_parameters = models.JSONField(
        _("hold parameters"), default=list, blank=True, validators=[validate_hold_parameters]
    )
    # A weight-based order, in the dose unit per kg, per dose. Written per kg: the bedside gives
    # this times the patient's current weight (the dose above is the one computed when the order
    # was written, for the lists and messages that show a dose). A maximum per kg: any dose
    # above it for the current weight is a STOP.
    dose_per_kg = models.DecimalField(
        _("dose per kg"), max_digits=10, decimal_places=4, null=True, blank=True
    )
    max_dose_per_kg = models.DecimalField(
        _("maximum dose per kg"), max_digits=10, decimal_places=4, null=True, blank=True
    )
    # A verbal or telephone order a nurse documented at the bedside (pharmacy.services
    # .order_create_verbal): who took it, that she read it back, and the prescriber's co-signature
    # once recorded (cosigned_at: when the prescriber signed; cosign_recorded_by/at: who entered
    # it, a pharmacist in /pharmacy/ or the HIS interface's account). "" : not a verbal order.
    verbal_kind = models.CharField(
        _("verbal order"), max_length=10, choices=VerbalKind.choices, blank=True
    )
    read_back_confirmed = models.BooleanField(_("read back and confirmed"), default=False)
    documented_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("documented by"),
    )
    cosigned_at = models.DateTimeField(_("co-signed by the prescriber at"), null=True, blank=True)
    cosign_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("co-signature recorded by"),
    )
    cosign_recorded_at = models.DateTimeField(_("co-signature recorded at"), null=True, blank=True)
    history = HistoricalRecords()

    @property
    def is_verbal(self) -> bool:
        return self.verbal_kind != ""

    @property
    def verbal_unsigned(self) -> bool:
        return self.is_verbal and self.cosigned_at is None

    @property
    def is_infusion(self) -> bool:
        return self.infusion_rate_ml_h() is not None

    def infusion_rate_ml_h(self):
        """The ordered rate, or the volume over the duration when the order gives a duration."""
        if self.rate_ml_h is not None:
            return self.rate_ml_h
        if self.volume_ml and self.duration_minutes:
            return self.volume_ml * 60 / self.duration_minutes
        return None

    class Meta:
        ordering = ["-start_at"]
        verbose_name = _("medication order")
        verbose_name_plural = _("medication orders")
        constraints = [
            models.UniqueConstraint(
                fields=["hospital", "placer_order_number"],
                condition=~Q(placer_order_number=""),
                name="%(app_label)s_%(class)s_placer_order_number_unique_in_hospital",
                violation_error_message=_("Another order has this placer order number."),
            ),
            models.CheckConstraint(
                condition=Q(dose_value__gt=0), name="%(app_label)s_%(class)s_dose_positive"
            ),
            models.CheckConstraint(
                condition=(Q(rate_ml_h__isnull=True) | Q(rate_ml_h__gt=0))
                & (Q(volume_ml__isnull=True) | Q(volume_ml__gt=0))
                & Q(max_concurrent_bags__gte=1),
                name="%(app_label)s_%(class)s_infusion_positive",
            ),
            models.CheckConstraint(
                condition=Q(dose_unit__in=DoseUnit.values),
                name="%(app_label)s_%(class)s_dose_unit_valid",
            ),
            models.CheckConstraint(
                condition=(Q(dose_per_kg__isnull=True) | Q(dose_per_kg__gt=0))
                & (Q(max_dose_per_kg__isnull=True) | Q(max_dose_per_kg__gt=0)),
                name="%(app_label)s_%(class)s_per_kg_positive",
                violation_error_message=_("A dose per kg and a maximum per kg are more than 0."),
            ),
            models.CheckConstraint(
                condition=Q(dose_per_kg__isnull=True, max_dose_per_kg__isnull=True)
                | Q(dose_unit__in=MASS_DOSE_UNITS),
                name="%(app_label)s_%(class)s_per_kg_in_mass",
                violation_error_message=_("A dose per kg is in mcg, mg or g."),
            ),
            models.CheckConstraint(
                condition=Q(dose_per_kg__isnull=True)
                | Q(max_dose_per_kg__isnull=True)
                | Q(dose_per_kg__lte=F("max_dose_per_kg")),
                name="%(app_label)s_%(class)s_per_kg_within_maximum",
                violation_error_message=_("The dose per kg is above the maximum per kg."),
            ),
            models.CheckConstraint(
                condition=Q(route__in=Route.values), name="%(app_label)s_%(class)s_route_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=OrderStatus.values),
                name="%(app_label)s_%(class)s_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(schedule_kind__in=ScheduleKind.values),
                name="%(app_label)s_%(class)s_schedule_kind_valid",
            ),
            models.CheckConstraint(
                condition=~Q(schedule_kind=ScheduleKind.INTERVAL)
                | Q(interval_hours__isnull=False, interval_hours__gte=1, interval_hours__lte=168),
                name="%(app_label)s_%(class)s_interval_needs_hours",
                violation_error_message=_("An every-N-hours order needs N between 1 and 168."),
            ),
            models.CheckConstraint(
                condition=~Q(schedule_kind=ScheduleKind.PRN)
                | (
                    Q(prn_min_interval_minutes__isnull=False, prn_min_interval_minutes__gt=0)
                    & Q(prn_max_per_24h__isnull=False, prn_max_per_24h__gt=0)
                    & ~Q(prn_indication="")
                ),
                name="%(app_label)s_%(class)s_prn_needs_limits",
                violation_error_message=_(
                    "A PRN order needs an indication, a minimum interval and a 24-hour maximum."
                ),
            ),
            models.CheckConstraint(
                condition=Q(stop_at__isnull=True) | Q(stop_at__gt=F("start_at")),
                name="%(app_label)s_%(class)s_stop_after_start",
                violation_error_message=_("The stop time must be after the start time."),
            ),
            models.CheckConstraint(
                condition=Q(verified_at__isnull=True, verified_by__isnull=True)
                | Q(verified_at__isnull=False, verified_by__isnull=False),
                name="%(app_label)s_%(class)s_verified_by_and_at_together",
            ),
            models.CheckConstraint(
                condition=~Q(
                    status__in=[OrderStatus.ACTIVE, OrderStatus.ON_HOLD, OrderStatus.COMPLETED]
                )
                | Q(verified_at__isnull=False)
                # a verbal STAT order: its one dose may go before the pharmacist verifies
                | (~Q(verbal_kind="") & Q(schedule_kind=ScheduleKind.STAT)),
                name="%(app_label)s_%(class)s_active_needs_verification",
                violation_error_message=_(
                    "Only a verified order can be active, on hold or completed."
                ),
            ),
            models.CheckConstraint(
                condition=Q(verbal_kind="") | Q(verbal_kind__in=VerbalKind.values),
                name="%(app_label)s_%(class)s_verbal_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(verbal_kind="")
                | Q(read_back_confirmed=True, documented_by__isnull=False),
                name="%(app_label)s_%(class)s_verbal_needs_read_back",
                violation_error_message=_(
                    "A verbal order needs the nurse who took it and the read-back confirmed."
                ),
            ),
            models.CheckConstraint(
                condition=Q(
                    cosigned_at__isnull=True,
                    cosign_recorded_by__isnull=True,
                    cosign_recorded_at__isnull=True,
                )
                | (
                    ~Q(verbal_kind="")
                    & Q(
                        cosigned_at__isnull=False,
                        cosign_recorded_by__isnull=False,
                        cosign_recorded_at__isnull=False,
                    )
                ),
                name="%(app_label)s_%(class)s_cosign_whole_and_verbal_only",
            ),
        ]
        indexes = [
            models.Index(fields=["admission", "status"]),
            models.Index(
                fields=["created_at"],
                condition=~Q(verbal_kind="") & Q(cosigned_at__isnull=True),
                name="pharmacy_order_verbal_unsigned",
            ),
        ]

    def __str__(self):
        return (
            f"{self.medication.name} {self.dose_value.normalize():f} {self.dose_unit} {self.route}"
        )

    @property
    def is_prn(self) -> bool:
        return self.schedule_kind == ScheduleKind.PRN

    @property
    def pain_score_asked(self) -> bool:
        """A PRN dose of an analgesic is given for pain: its score is measured before (and after,
        at the reassessment). A scheduled analgesic is given on the clock, whatever the pain; an
        order may still list `pain_score` among its assessments."""
        return self.is_prn and self.medication.analgesic

    @property
    def prn_indications_offered(self) -> list[str]:
        """What the nurse picks a PRN dose's reason from: the order's list, or for an order written
        before lists existed (or with a list that cannot be read) its one indication."""
        if not self.is_prn:
            return []
        try:
            listed = prn_indications_parse(self.prn_indications)
        except ValueError:
            listed = []
        if listed:
            return listed
        single = " ".join((self.prn_indication or "").split())
        return [single] if single else []

    def clean(self):
        if (
            self.admission_id
            and self.hospital_id
            and self.hospital_id != self.admission.hospital_id
        ):
            raise ValidationError(
                {
                    "admission": _(
                        "This admission is in another hospital than the order: an order stays "
                        "in the hospital whose doctor wrote it."
                    )
                }
            )
        if self.schedule_kind == ScheduleKind.TIMES_OF_DAY:
            try:
                validate_times_of_day(self.times_of_day)
            except ValidationError as error:
                raise ValidationError({"times_of_day": error.messages}) from error
        if self.medication_id and self.route and not route_allowed(self.medication, self.route):
            raise ValidationError({"route": _("This medication cannot be given by this route.")})


def route_allowed(medication: Medication, route: str) -> bool:
    """Whether this formulary item may go by `route`: listed for it, and possible for its form
    (the bedside's ROUTE_MISMATCH rule, scanning/rules/order.py, asks the same)."""
    return route in (medication.routes or []) and form_allows_route(medication.dose_form, route)


class AllergyAcknowledgementReason(models.TextChoices):
    PRESCRIBER_CONFIRMED = "prescriber_confirmed", _("Prescriber confirmed, knowing the allergy")
    TOLERATED_BEFORE = "tolerated_before", _("Patient has taken it since without a reaction")
    NOT_AN_ALLERGY = "not_an_allergy", _("The recorded reaction is an intolerance, not an allergy")
    OTHER = "other", _("Other (explain)")


class AllergyAcknowledgement(BaseModel):
    """A pharmacist verified an order despite a documented allergy to its substance or class:
    who, when, why, and the allergies as they were shown (an allergy edited later does not
    rewrite what was acknowledged). Written by `order_verify`, never changed."""

    order = models.OneToOneField(
        MedicationOrder,
        on_delete=models.PROTECT,
        related_name="allergy_acknowledgement",
        verbose_name=_("medication order"),
    )
    allergies = models.JSONField(_("allergies acknowledged"))
    reason = models.CharField(
        _("reason"), max_length=24, choices=AllergyAcknowledgementReason.choices
    )
    comment = models.CharField(_("comment"), max_length=300, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("acknowledged by"),
    )
    acknowledged_at = models.DateTimeField(_("acknowledged at"))

    class Meta:
        ordering = ["-acknowledged_at"]
        verbose_name = _("allergy acknowledgement")
        verbose_name_plural = _("allergy acknowledgements")
        constraints = [
            models.CheckConstraint(
                condition=Q(reason__in=AllergyAcknowledgementReason.values),
                name="%(app_label)s_%(class)s_reason_valid",
            ),
            models.CheckConstraint(
                condition=~Q(reason=AllergyAcknowledgementReason.OTHER) | ~Q(comment=""),
                name="%(app_label)s_%(class)s_other_needs_comment",
                violation_error_message=_("Explain the reason in a comment."),
            ),
        ]

    def __str__(self):
        return f"{self.order} – {self.get_reason_display()}"


class DoseState(models.TextChoices):
    SCHEDULED = "scheduled", _("scheduled")
    GIVEN = "given", _("given")
    NOT_GIVEN = "not_given", _("not given")
    CANCELLED = "cancelled", _("cancelled")


class ScheduledDose(BaseModel):
    order = models.ForeignKey(
        MedicationOrder,
        on_delete=models.PROTECT,
        related_name="scheduled_doses",
        verbose_name=_("medication order"),
    )
    due_at = models.DateTimeField(_("due at"))
    state = models.CharField(
        _("state"), max_length=10, choices=DoseState.choices, default=DoseState.SCHEDULED
    )

    class Meta:
        ordering = ["due_at"]
        verbose_name = _("scheduled dose")
        verbose_name_plural = _("scheduled doses")
        constraints = [
            models.UniqueConstraint(
                fields=["order", "due_at"], name="%(app_label)s_%(class)s_unique_due_at"
            ),
            models.CheckConstraint(
                condition=Q(state__in=DoseState.values), name="%(app_label)s_%(class)s_state_valid"
            ),
        ]
        indexes = [models.Index(fields=["due_at", "state"])]

    def __str__(self):
        return f"{self.order} @ {self.due_at:%Y-%m-%d %H:%M}"


# The bedside sets a dose's state with hospital.sql.update (system check hospital.E001).
sql.written_raw(ScheduledDose)
