import base64
import binascii
from decimal import Decimal

from django.conf import settings
from django.utils import translation
from django.utils.text import capfirst
from django.utils.translation import gettext
from rest_framework import serializers

from hospital.models import PIN_MAX_DIGITS, PIN_MIN_DIGITS
from pharmacy.assessments import ASSESSMENT_KINDS, AssessmentError, value_parse
from pharmacy.body_sites import BODY_SITES
from pharmacy.models import DoseUnit, Medication, Route, VerbalKind
from scanning import rules
from scanning.models import (
    CorrectionReason,
    MissingDoseReason,
    NotGivenReason,
    UnrecordedCheckReason,
    WasteReason,
)
from scanning.scans import ScanInput

MAX_CODE_LENGTH = 4096


class ScanSerializer(serializers.Serializer):
    """`{"code": "...", "keyed": false}` from a wedge scanner, or `{"image": "<base64>"}` from a camera."""

    code = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, max_length=MAX_CODE_LENGTH
    )
    keyed = serializers.BooleanField(required=False, default=False)
    image = serializers.CharField(
        required=False, max_length=settings.BARCODE_MAX_IMAGE_BYTES * 4 // 3 + 200
    )

    def validate(self, attrs):
        if ("code" in attrs) == ("image" in attrs):
            raise serializers.ValidationError(gettext("Send exactly one of 'code' or 'image'."))
        return attrs

    def to_scan(self, data=None) -> ScanInput:
        data = data if data is not None else self.validated_data
        if "image" in data:
            return ScanInput(image=decode_base64_image(data["image"]))
        return ScanInput(code=data["code"], keyed=data.get("keyed", False))


def decode_base64_image(value: str) -> bytes:
    if value.startswith("data:") and "," in value[:100]:
        value = value.split(",", 1)[1]
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as error:
        raise serializers.ValidationError({"image": [gettext("Not valid base64.")]}) from error


def scan_input(data: dict) -> ScanInput:
    return ScanSerializer().to_scan(data)


class BoundedDateTimeField(serializers.DateTimeField):
    """A date-time whose year stays where time-zone arithmetic cannot overflow (0001-01-01 naive
    in Asia/Ho_Chi_Minh is before the first representable instant)."""

    def to_internal_value(self, value):
        try:
            moment = super().to_internal_value(value)
        except OverflowError:
            self.fail("invalid", format="ISO 8601")
        if not 2000 <= moment.year <= 2100:
            self.fail("invalid", format="ISO 8601, years 2000 to 2100")
        return moment


class ClientTimeSerializer(serializers.Serializer):
    client_time = BoundedDateTimeField(
        required=False,
        help_text=(
            "The cart's own clock (ISO 8601 with offset) when it sent the request. Never the time "
            "of the record: the server's clock is. A difference over CLOCK_SKEW_WARN_SECONDS is "
            "logged and answered with a CLOCK_SKEW entry in `warnings`."
        ),
    )


class WasteInputSerializer(serializers.Serializer):
    amount = serializers.DecimalField(
        max_digits=12, decimal_places=4, min_value=Decimal("0.0001"), help_text="amount wasted"
    )
    unit = serializers.ChoiceField(choices=DoseUnit.choices)
    reason = serializers.ChoiceField(choices=WasteReason.choices)
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)

    def validate(self, attrs):
        if attrs["reason"] == WasteReason.OTHER and not attrs["comment"].strip():
            raise serializers.ValidationError(
                {"comment": gettext("Say why, for the reason 'other'.")}
            )
        return attrs


class AssessmentInputSerializer(serializers.Serializer):
    """A value measured before giving, in its kind's unit (pharmacy/assessments.py)."""

    kind = serializers.ChoiceField(choices=sorted(ASSESSMENT_KINDS))
    # Text, checked by pharmacy.assessments.value_parse alone: plain digits with "." or ",", in
    # the kind's range and places (a DecimalField would take "5_5" as 55).
    value = serializers.CharField(max_length=12, help_text='a decimal number, e.g. "52" or "4,5"')

    def validate(self, attrs):
        try:
            attrs["value"] = value_parse(attrs["kind"], attrs["value"])
        except AssessmentError:
            kind = ASSESSMENT_KINDS[attrs["kind"]]
            words = {
                "assessment": capfirst(kind_label(kind)),
                "minimum": kind.minimum,
                "maximum": kind.maximum,
                "unit": kind_unit(kind),
                "places": kind.decimals,
            }
            message = (
                gettext(
                    "%(assessment)s must be a whole number between %(minimum)s and %(maximum)s "
                    "%(unit)s."
                )
                if kind.decimals == 0
                else gettext(
                    "%(assessment)s must be between %(minimum)s and %(maximum)s %(unit)s, with at "
                    "most %(places)s decimal places."
                )
            )
            raise serializers.ValidationError({"value": [message % words]}) from None
        return attrs


class AssessmentsField(serializers.ListField):
    child = AssessmentInputSerializer()

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("default", list)
        kwargs.setdefault("max_length", len(ASSESSMENT_KINDS))
        kwargs.setdefault(
            "help_text",
            "Values measured before giving (heart rate, blood pressure, glucose, pain score…), "
            "one per kind; checked against the order's hold parameters and recorded with it.",
        )
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        kinds = [value["kind"] for value in values]
        if len(set(kinds)) != len(kinds):
            raise serializers.ValidationError(gettext("Send each assessment once."))
        return values


def assessment_values(valid) -> tuple[rules.AssessmentValue, ...]:
    return tuple(
        rules.AssessmentValue(kind=value["kind"], value=value["value"])
        for value in valid.get("assessments", [])
    )


def _english() -> bool:
    return (translation.get_language() or "vi").startswith("en")


def kind_label(kind) -> str:
    return kind.en if _english() else kind.vi


def kind_unit(kind) -> str:
    return kind.unit_en if _english() else kind.unit_vi


class CheckInputSerializer(ClientTimeSerializer):
    patient = ScanSerializer()
    medications = ScanSerializer(many=True, required=False, default=list, max_length=20)
    witness = ScanSerializer(required=False)
    witness_pin = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=PIN_MAX_DIGITS
    )
    cosigner = ScanSerializer(
        required=False,
        help_text="a student nurse's record: her clinical instructor's badge (co-sign)",
    )
    cosigner_pin = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=PIN_MAX_DIGITS
    )
    order = serializers.UUIDField(required=False)
    cart = serializers.CharField(required=False, allow_blank=True, default="", max_length=60)
    site = serializers.ChoiceField(
        choices=sorted(BODY_SITES),
        required=False,
        allow_blank=True,
        default="",
        help_text="The body site chosen (HL7 table 0163 code); checked by the site rules.",
    )
    waste = WasteInputSerializer(
        required=False,
        help_text="what is destroyed of the units scanned (the rest of a unit): checked with them",
    )
    assessments = AssessmentsField()
    prn_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=100,
        help_text="a PRN dose: the indication it is given for, one of the order's "
        "`prn_indications` (PRN_REASON_REQUIRED otherwise)",
    )


class OverrideSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=40)
    reason = serializers.CharField(max_length=40)
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class WasteRecordInputSerializer(WasteInputSerializer, ClientTimeSerializer):
    """Waste documented after the record: the witness as at a high-alert check."""

    witness = ScanSerializer(required=False)
    witness_pin = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=PIN_MAX_DIGITS
    )
    cart = serializers.CharField(required=False, allow_blank=True, default="", max_length=60)


class WasteOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="external_id")
    administration = serializers.UUIDField(source="administration.external_id")
    amount = serializers.DecimalField(max_digits=12, decimal_places=4)
    unit = serializers.CharField()
    reason = serializers.CharField()
    comment = serializers.CharField()
    performer = serializers.CharField(source="performer.username")
    witness = serializers.CharField(source="witness.username", allow_null=True, default=None)
    wasted_at = serializers.DateTimeField()


class RecordInputSerializer(CheckInputSerializer):
    amount = serializers.DecimalField(required=False, max_digits=12, decimal_places=4, min_value=0)
    unit = serializers.ChoiceField(choices=DoseUnit.choices, required=False)
    route = serializers.ChoiceField(choices=Route.choices, required=False)
    overrides = OverrideSerializer(many=True, required=False, default=list, max_length=30)

    def validate(self, attrs):
        if ("amount" in attrs) != ("unit" in attrs):
            raise serializers.ValidationError(gettext("Send 'amount' and 'unit' together."))
        return attrs


class NotGivenInputSerializer(ClientTimeSerializer):
    patient = ScanSerializer()
    order = serializers.UUIDField()
    scheduled_dose = serializers.UUIDField(required=False)
    reason = serializers.ChoiceField(choices=NotGivenReason.choices)
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    cart = serializers.CharField(required=False, allow_blank=True, default="", max_length=60)
    assessments = AssessmentsField()


class RemovalInputSerializer(ClientTimeSerializer):
    patient = ScanSerializer(help_text="The wristband of the patient wearing it.")
    medication = ScanSerializer(
        required=False, help_text="The patch's label, when it can be scanned; else documented."
    )
    site = serializers.ChoiceField(choices=sorted(BODY_SITES))
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    cart = serializers.CharField(required=False, allow_blank=True, default="", max_length=60)


class RemovalOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="external_id")
    administration = serializers.UUIDField(source="administration.external_id")
    removed_at = serializers.DateTimeField()
    site = serializers.CharField()
    scanned = serializers.BooleanField()
    performer = serializers.CharField(source="performer.username")


class StringOnlyField(serializers.CharField):
    """A CharField that refuses a number or a boolean instead of turning it into text: a key the
    cart never sent must not be looked up (and closed) as if it had."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class OutcomeInputSerializer(serializers.Serializer):
    idempotency_key = StringOnlyField(max_length=200)


class UnrecordedAcknowledgeInputSerializer(ClientTimeSerializer):
    reason = serializers.ChoiceField(choices=UnrecordedCheckReason.choices)
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class CorrectInputSerializer(ClientTimeSerializer):
    reason = serializers.ChoiceField(choices=CorrectionReason.choices)
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    replacement_amount = serializers.DecimalField(
        required=False, max_digits=12, decimal_places=4, min_value=0
    )
    replacement_unit = serializers.ChoiceField(choices=DoseUnit.choices, required=False)
    # The replacement's warnings (DOSE_INCOMPLETE, PARTIAL_UNIT) need their reasons, as a record's.
    overrides = OverrideSerializer(many=True, required=False, default=list, max_length=30)


class BadgeLoginSerializer(serializers.Serializer):
    badge = ScanSerializer()
    pin = serializers.CharField(max_length=PIN_MAX_DIGITS, min_length=PIN_MIN_DIGITS)
    cart = serializers.CharField(required=False, allow_blank=True, default="", max_length=60)
    ward = serializers.CharField(required=False, allow_blank=True, default="", max_length=20)
    token = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Refused (400 TOKEN_NOT_FOR_STAFF): tokens are for service accounts.",
    )


class BadgeReleaseSerializer(serializers.Serializer):
    badge = ScanSerializer(help_text="The delayed nurse's badge.")
    by = ScanSerializer(help_text="The charge nurse's (or administrator's) badge.")
    pin = serializers.CharField(max_length=PIN_MAX_DIGITS, min_length=PIN_MIN_DIGITS)


class UnitOutputSerializer(serializers.Serializer):
    gtin = serializers.CharField()
    lot = serializers.CharField()
    expiry = serializers.DateField(allow_null=True)
    serial = serializers.CharField()
    scanned = serializers.BooleanField()


class OverrideOutputSerializer(serializers.Serializer):
    finding_code = serializers.CharField()
    reason = serializers.CharField()
    comment = serializers.CharField()


class AssessmentOutputSerializer(serializers.Serializer):
    kind = serializers.CharField()
    value = serializers.DecimalField(max_digits=7, decimal_places=2)
    unit = serializers.CharField(help_text="UCUM")


class AdministrationOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="external_id")
    status = serializers.CharField()
    patient = serializers.CharField(source="patient.mrn")
    order = serializers.UUIDField(source="order.external_id")
    medication = serializers.CharField(source="order.medication.name")
    scheduled_dose = serializers.UUIDField(
        source="scheduled_dose.external_id", allow_null=True, default=None
    )
    due_at = serializers.DateTimeField(
        source="scheduled_dose.due_at", allow_null=True, default=None
    )
    administered_at = serializers.DateTimeField()
    recorded_at = serializers.DateTimeField(source="created_at")
    amount = serializers.DecimalField(max_digits=12, decimal_places=4, allow_null=True)
    unit = serializers.CharField()
    route = serializers.CharField()
    site = serializers.CharField()
    is_partial = serializers.BooleanField()
    performer = serializers.CharField(source="performer.username")
    witness = serializers.CharField(source="witness.username", allow_null=True, default=None)
    cosigner = serializers.CharField(
        source="cosigner.username",
        allow_null=True,
        default=None,
        help_text="a student nurse's record: the instructor who co-signed it",
    )
    cosigned_at = serializers.DateTimeField(allow_null=True)
    reason = serializers.CharField()
    comment = serializers.CharField()
    corrects = serializers.UUIDField(source="corrects.external_id", allow_null=True, default=None)
    replaces = serializers.UUIDField(source="replaces.external_id", allow_null=True, default=None)
    units = UnitOutputSerializer(many=True, source="recorded_units")
    overrides = OverrideOutputSerializer(many=True, source="recorded_overrides")
    assessments = AssessmentOutputSerializer(many=True, source="recorded_assessments")
    prn_reason = serializers.CharField(help_text='a PRN dose\'s indication; else ""')


class AdministrationFeedPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = AdministrationOutputSerializer(many=True)


class InfusionHangInputSerializer(CheckInputSerializer):
    """Hang a bag: the band, the bag (one scan in `medications`), the rate and the line."""

    rate_ml_h = serializers.DecimalField(
        max_digits=8, decimal_places=1, min_value=0, help_text="The rate set on the pump, mL/h."
    )
    line = serializers.CharField(
        max_length=20, help_text="The IV line (lumen or pump channel) the bag runs on."
    )
    overrides = OverrideSerializer(many=True, required=False, default=list, max_length=30)


class InfusionEventInputSerializer(ClientTimeSerializer):
    """Act on a hung bag: scan the band and the bag again."""

    patient = ScanSerializer()
    bag = ScanSerializer()
    action = serializers.ChoiceField(choices=["rate_change", "pause", "resume", "stop", "complete"])
    rate_ml_h = serializers.DecimalField(
        max_digits=8,
        decimal_places=1,
        min_value=0,
        required=False,
        help_text="The new rate (rate_change), or the rate resumed at (resume; default: as before).",
    )
    volume_infused_ml = serializers.DecimalField(
        max_digits=8,
        decimal_places=1,
        min_value=0,
        required=False,
        help_text="Stop or complete: the pump's reading (default: rate × running time).",
    )
    override = OverrideSerializer(required=False)
    order = serializers.UUIDField(required=False)
    cart = serializers.CharField(required=False, allow_blank=True, default="", max_length=60)


class MissingDoseRequestInputSerializer(ClientTimeSerializer):
    """Ask the pharmacy for a scheduled dose the cart cannot give."""

    scheduled_dose = serializers.UUIDField(help_text="The dose's id, as the MAR lists it.")
    reason = serializers.ChoiceField(choices=MissingDoseReason.choices)
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    cart = serializers.CharField(required=False, allow_blank=True, default="", max_length=60)

    def validate(self, attrs):
        if attrs["reason"] == MissingDoseReason.OTHER and not attrs["comment"].strip():
            raise serializers.ValidationError(
                {"comment": gettext("Say why, for the reason 'other'.")}
            )
        return attrs


class VerbalOrderInputSerializer(serializers.Serializer):
    """A verbal or telephone order a prescriber gave the nurse at the bedside."""

    kind = serializers.ChoiceField(choices=VerbalKind.choices, help_text="verbal or telephone")
    prescriber = serializers.CharField(max_length=200, help_text="who gave the order")
    medication = serializers.SlugRelatedField(
        slug_field="code", queryset=Medication.objects.all(), help_text="formulary code"
    )
    dose = serializers.DecimalField(
        max_digits=12, decimal_places=4, min_value=Decimal("0.0001"), help_text="e.g. 40"
    )
    dose_unit = serializers.ChoiceField(choices=DoseUnit.choices)
    route = serializers.ChoiceField(choices=Route.choices)
    schedule = serializers.ChoiceField(
        choices=[("stat", "stat"), ("once", "once"), ("interval", "interval")],
        help_text="stat (now, givable before verification), once (at start_at) or interval",
    )
    start_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="a one-time order's time"
    )
    interval_hours = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1, max_value=168
    )
    instructions = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=300
    )
    read_back_confirmed = serializers.BooleanField(
        required=False,
        default=False,
        help_text="the nurse read the order back and the prescriber confirmed it (required)",
    )
