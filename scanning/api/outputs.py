"""What the bedside API answers, as the OpenAPI schema describes it (/api/v1/schema/).

The views build their answers from the check's result and the ward's rows (scanning/api/views.py);
these serializers are their contract: drf-spectacular publishes them, and the schemathesis pass
(tests/fuzz/test_api_schema.py) checks every answer it provokes against them. A field added to an
answer belongs here too."""

from rest_framework import serializers

from scanning.api.serializers import AdministrationOutputSerializer, WasteOutputSerializer
from scanning.selectors import WorklistKind, WorklistPending

# ------------------------------------------------------------------------------ shared pieces


class ClockWarningSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="CLOCK_SKEW: the cart's clock is off the server's")
    message = serializers.CharField()
    details = serializers.DictField()


class TransferSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    from_ward = serializers.CharField()
    from_bed = serializers.CharField(allow_null=True)
    recent = serializers.BooleanField(help_text="within TRANSFER_NOTICE_HOURS: the cart says so")


class PatientBriefSerializer(serializers.Serializer):
    mrn = serializers.CharField()
    full_name = serializers.CharField()


class PatientMeasuresSerializer(serializers.Serializer):
    """The weight a dose by weight is computed from, and the height, as the cart shows them."""

    weight_kg = serializers.DecimalField(
        max_digits=5, decimal_places=2, allow_null=True, help_text="the last weighing; null: none"
    )
    weight_measured_at = serializers.DateTimeField(allow_null=True)
    height_cm = serializers.DecimalField(max_digits=4, decimal_places=1, allow_null=True)


class PatientSerializer(PatientBriefSerializer, PatientMeasuresSerializer):
    date_of_birth = serializers.DateField()
    age = serializers.CharField(
        help_text="as a clinician says it, in the request's language: years; months under two; "
        "days under one month"
    )


# ------------------------------------------------------------------------------ scan/check/


class AllergySerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    severity = serializers.CharField()
    severity_label = serializers.CharField()
    reaction = serializers.CharField()


class CheckedPatientSerializer(PatientSerializer):
    allergies = AllergySerializer(many=True)
    transfer = TransferSerializer(allow_null=True)


class CheckedInfusionSerializer(serializers.Serializer):
    rate_ml_h = serializers.DecimalField(max_digits=8, decimal_places=1)
    volume_ml = serializers.DecimalField(max_digits=8, decimal_places=1, allow_null=True)
    additives = serializers.CharField()


class AssessmentAskSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="pharmacy/assessments.py code, e.g. heart_rate")
    label = serializers.CharField(help_text="in the language of the request")
    unit = serializers.CharField(help_text="as the ward writes it")
    minimum = serializers.DecimalField(max_digits=7, decimal_places=2)
    maximum = serializers.DecimalField(max_digits=7, decimal_places=2)
    decimals = serializers.IntegerField()


class HoldParameterSerializer(serializers.Serializer):
    kind = serializers.CharField()
    operator = serializers.ChoiceField(choices=["<", "<=", ">", ">="])
    value = serializers.DecimalField(max_digits=7, decimal_places=2)
    text = serializers.CharField(help_text='in the language of the request: "mạch < 60 lần/phút"')


class CheckedOrderSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    medication = serializers.CharField()
    dose = serializers.CharField(
        allow_null=True,
        help_text='amount and unit, e.g. "500 mg"; for an order per kg, computed from the '
        "current weight (null when the patient has no weight)",
    )
    dose_per_kg = serializers.CharField(
        allow_null=True, help_text='an order written per kg, e.g. "15 mg/kg"; else null'
    )
    max_dose_per_kg = serializers.CharField(
        allow_null=True, help_text='the order\'s maximum per kg, e.g. "15 mg/kg"; else null'
    )
    route = serializers.CharField(help_text="HL7 table 0162 code")
    route_name = serializers.CharField(help_text="the route in words, in the request's language")
    status = serializers.CharField()
    prn = serializers.BooleanField()
    prn_indications = serializers.ListField(
        child=serializers.CharField(),
        help_text="a PRN order: the indications to pick the dose's `prn_reason` from",
    )
    infusion = CheckedInfusionSerializer(
        allow_null=True, help_text="an infusion order: hang the bag (infusions/hang/)"
    )
    assessments = AssessmentAskSerializer(
        many=True, help_text="what to measure before giving: send the values as `assessments`"
    )
    hold_parameters = HoldParameterSerializer(many=True)


class CheckedScheduledDoseSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    due_at = serializers.DateTimeField()
    state = serializers.CharField()


class DoseSummarySerializer(serializers.Serializer):
    ordered = serializers.CharField(allow_null=True)
    scanned = serializers.CharField(allow_null=True)
    comparison = serializers.CharField(help_text="how the scanned amount compares to the order")


class OverrideReasonSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField(help_text="in the language of the request")
    needs_comment = serializers.BooleanField()


class FindingSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="a stable rule code (docs/rules.md, DESIGN.md §4)")
    severity = serializers.ChoiceField(choices=["STOP", "WARN"])
    message = serializers.CharField(help_text="in the language of the request")
    data = serializers.DictField(help_text="the facts behind the finding, per code")
    override_reasons = OverrideReasonSerializer(
        many=True, help_text="empty: a STOP that no reason lets through"
    )


class WitnessNameSerializer(serializers.Serializer):
    name = serializers.CharField()


class SiteAskSerializer(serializers.Serializer):
    required = serializers.BooleanField(
        help_text="a product that requires removal: no site, no record"
    )
    offered = serializers.BooleanField(
        help_text="an injection or patch: the cart offers the picker"
    )
    chosen = serializers.CharField(help_text="the site the check ran with (HL7 table 0163), or ''")


class CheckOutputSerializer(serializers.Serializer):
    verdict = serializers.CharField(help_text="go, warn or stop")
    patient = CheckedPatientSerializer(
        allow_null=True,
        help_text="null when the band identifies nobody (void, superseded, unknown)",
    )
    order = CheckedOrderSerializer(allow_null=True)
    scheduled_dose = CheckedScheduledDoseSerializer(allow_null=True)
    dose = DoseSummarySerializer(allow_null=True)
    findings = FindingSerializer(many=True)
    witness = WitnessNameSerializer(allow_null=True, help_text="the second nurse, once accepted")
    cosigner = WitnessNameSerializer(
        allow_null=True, help_text="a student's clinical instructor, once her co-sign is accepted"
    )
    site = SiteAskSerializer()
    warnings = ClockWarningSerializer(many=True)


class RecordOutputSerializer(AdministrationOutputSerializer):
    waste = WasteOutputSerializer(allow_null=True, help_text="the waste written with the record")
    warnings = ClockWarningSerializer(many=True)


class NotGivenOutputSerializer(AdministrationOutputSerializer):
    warnings = ClockWarningSerializer(many=True)


class WasteRecordOutputSerializer(WasteOutputSerializer):
    warnings = ClockWarningSerializer(many=True)


class CorrectOutputSerializer(serializers.Serializer):
    entered_in_error = AdministrationOutputSerializer()
    replacement = AdministrationOutputSerializer(allow_null=True)
    warnings = ClockWarningSerializer(many=True)


class OutcomeOutputSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=["recorded", "refused", "not_recorded"])
    endpoint = serializers.CharField(required=False)
    status = serializers.IntegerField(required=False)
    answer = serializers.DictField(required=False, help_text="the answer kept under the key")


# ------------------------------------------------------------------------------ scan/decode/


class DecodeOutputSerializer(serializers.Serializer):
    symbols = serializers.ListField(
        child=serializers.DictField(), help_text="each symbol read and what its payload says"
    )


# ------------------------------------------------------------------------------ auth


class CsrfOutputSerializer(serializers.Serializer):
    csrf_token = serializers.CharField()


class LoginOutputSerializer(serializers.Serializer):
    username = serializers.CharField()
    name = serializers.CharField()
    display_name = serializers.CharField(help_text="as the ward says it: family name first")
    roles = serializers.ListField(child=serializers.CharField())


class ReleasedSerializer(serializers.Serializer):
    username = serializers.CharField()
    name = serializers.CharField()


class ReleaseOutputSerializer(serializers.Serializer):
    released = ReleasedSerializer()


# ------------------------------------------------------------------------------ the MAR


class PrnLastDoseSerializer(serializers.Serializer):
    given_at = serializers.DateTimeField(help_text="in the hospital's local time")
    amount = serializers.CharField(help_text='e.g. "5 mg"')


class PrnTimesSerializer(serializers.Serializer):
    indications = serializers.ListField(
        child=serializers.CharField(), help_text="what a dose's `prn_reason` is picked from"
    )
    last_doses = PrnLastDoseSerializer(
        many=True, help_text="the order's doses of the last 24 hours that count, newest first"
    )
    last_given_at = serializers.DateTimeField(allow_null=True)
    next_allowed_at = serializers.DateTimeField(allow_null=True)
    allowed_now = serializers.BooleanField(
        help_text="A dose may be given now, by the server's clock (the cart's may be off)."
    )
    min_interval_minutes = serializers.IntegerField(allow_null=True)
    max_per_24h = serializers.CharField(allow_null=True)


class DoseRecordSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    status_label = serializers.CharField()
    reason = serializers.CharField()
    reason_label = serializers.CharField()
    comment = serializers.CharField()
    at = serializers.DateTimeField()
    by = serializers.CharField()
    mine = serializers.BooleanField()
    correctable_until = serializers.DateTimeField(
        allow_null=True, help_text="until when she may mark her own record entered in error"
    )


class MissingDoseRequestSerializer(serializers.Serializer):
    """A dose asked for from the pharmacy, and where the request stands."""

    id = serializers.UUIDField()
    state = serializers.ChoiceField(choices=["requested", "sent"])
    state_label = serializers.CharField()
    reason = serializers.CharField()
    reason_label = serializers.CharField()
    comment = serializers.CharField()
    requested_at = serializers.DateTimeField()
    requested_by = serializers.CharField()
    sent_at = serializers.DateTimeField(allow_null=True)
    sent_by = serializers.CharField(allow_null=True)


class MissingDoseRequestOutputSerializer(MissingDoseRequestSerializer):
    created = serializers.BooleanField(
        help_text="false: the dose was already asked for, and this is that request"
    )
    medication = serializers.CharField()
    due_at = serializers.DateTimeField()
    patient = PatientBriefSerializer()
    ward = serializers.CharField()
    bed = serializers.CharField(allow_null=True)


class MarDoseSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    due_at = serializers.DateTimeField()
    state = serializers.CharField()
    timing = serializers.CharField(help_text="upcoming, due, overdue, missed or the dose's state")
    administrations = serializers.ListField(child=serializers.UUIDField())
    records = DoseRecordSerializer(many=True)
    missing_request = MissingDoseRequestSerializer(
        allow_null=True, help_text="the dose's latest request to the pharmacy, if any"
    )
    old_ward = serializers.CharField(
        allow_null=True,
        help_text="the ward code the patient was on when this dose fell due, for a dose due "
        "before the admission's last transfer (null: due on the present ward)",
    )


class OrderAllergySerializer(serializers.Serializer):
    name = serializers.CharField()
    severity = serializers.CharField()


class VerbalFlagSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="verbal or telephone")
    prescriber = serializers.CharField()
    documented_at = serializers.DateTimeField()
    documented_by = serializers.CharField()
    cosigned_at = serializers.DateTimeField(allow_null=True, help_text="null: not co-signed yet")


class MarOrderSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    medication = serializers.CharField()
    dose = serializers.CharField(
        allow_null=True, help_text="as ordered; an order per kg is dosed at the check"
    )
    dose_per_kg = serializers.CharField(allow_null=True, help_text='e.g. "15 mg/kg"; else null')
    max_dose_per_kg = serializers.CharField(allow_null=True, help_text='e.g. "15 mg/kg"; else null')
    route = serializers.CharField()
    route_name = serializers.CharField()
    allergies = OrderAllergySerializer(many=True, help_text="allergies this order conflicts with")
    prn = PrnTimesSerializer(allow_null=True)
    schedule = serializers.CharField()
    times_of_day = serializers.ListField(child=serializers.CharField(), allow_null=True)
    interval_hours = serializers.IntegerField(allow_null=True)
    prn_indication = serializers.CharField()
    status = serializers.CharField()
    verbal = VerbalFlagSerializer(allow_null=True, help_text="a verbal order; else null")
    doses = MarDoseSerializer(many=True)


class MarAdmissionSerializer(serializers.Serializer):
    ward = serializers.CharField()
    bed = serializers.CharField(allow_null=True)
    admitted_at = serializers.DateTimeField()
    transfer = TransferSerializer(allow_null=True)


class WornSerializer(serializers.Serializer):
    administration = serializers.UUIDField(help_text="the record that applied it")
    medication = serializers.CharField()
    site = serializers.CharField(help_text="HL7 table 0163 code, or old free text")
    site_name = serializers.CharField()
    applied_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField(allow_null=True, help_text="removal due")
    overdue = serializers.BooleanField()


class ReassessmentDueSerializer(serializers.Serializer):
    administration = serializers.UUIDField(help_text="POST its reassessment/ to document it")
    medication = serializers.CharField()
    amount = serializers.CharField(allow_null=True)
    prn_reason = serializers.CharField()
    given_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField()
    overdue = serializers.BooleanField(help_text="due now or before, by the server's clock")
    pain_score_required = serializers.BooleanField(help_text="after an analgesic")


class MarOutputSerializer(serializers.Serializer):
    patient = PatientSerializer()
    date = serializers.DateField()
    admission = MarAdmissionSerializer(allow_null=True)
    orders = MarOrderSerializer(many=True)
    administrations = AdministrationOutputSerializer(many=True)
    worn = WornSerializer(many=True, help_text="patches, rings and implants on the patient now")
    reassessments_due = ReassessmentDueSerializer(
        many=True,
        help_text="PRN doses whose effect is to be reassessed, due within the worklist's hours "
        "ahead or overdue",
    )


class RecentRecordSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    medication = serializers.CharField()
    amount = serializers.CharField(allow_null=True)
    route_name = serializers.CharField()
    status = serializers.CharField()
    status_label = serializers.CharField()
    reason_label = serializers.CharField()
    at = serializers.DateTimeField()
    due_at = serializers.DateTimeField(allow_null=True)
    by = serializers.CharField()


class RecentRecordsOutputSerializer(serializers.Serializer):
    hours = serializers.IntegerField()
    records = RecentRecordSerializer(many=True)


# ------------------------------------------------------------------------------ the ward


class DueDoseSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    due_at = serializers.DateTimeField()
    patient = PatientBriefSerializer()
    bed = serializers.CharField(allow_null=True)
    medication = serializers.CharField()
    dose = serializers.CharField(allow_null=True)
    route = serializers.CharField()


class WardDueOutputSerializer(serializers.Serializer):
    ward = serializers.CharField()
    doses = DueDoseSerializer(many=True)


class WorklistRowSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=WorklistKind.CHOICES)
    due_at = serializers.DateTimeField()
    overdue = serializers.BooleanField()
    status = serializers.CharField(help_text="a dose's timing: due, overdue or missed; else empty")
    patient = PatientBriefSerializer()
    bed = serializers.CharField(allow_null=True)
    medication = serializers.CharField()
    dose = serializers.CharField(allow_null=True)
    route = serializers.CharField()
    route_name = serializers.CharField()
    detail = serializers.CharField(help_text="a patch's site, a bag's line; else empty")
    pending = serializers.ListField(child=serializers.ChoiceField(choices=WorklistPending.CHOICES))
    schedule = serializers.CharField(help_text="the order's schedule kind (stat, once, on_call…)")
    verbal_unsigned = serializers.BooleanField(
        help_text="a verbal or telephone order the prescriber has not co-signed yet"
    )


class WardWorklistOutputSerializer(serializers.Serializer):
    ward = serializers.CharField()
    generated_at = serializers.DateTimeField(help_text="the server's time when the list was read")
    hours_before = serializers.IntegerField()
    hours_ahead = serializers.IntegerField()
    rows = WorklistRowSerializer(many=True)


class UnrecordedCheckSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    checked_at = serializers.DateTimeField()
    verdict = serializers.CharField()
    nurse = serializers.CharField()
    patient = PatientBriefSerializer()
    bed = serializers.CharField(allow_null=True)
    medication = serializers.CharField()
    dose = serializers.CharField(allow_null=True)
    route = serializers.CharField()
    route_name = serializers.CharField()
    due_at = serializers.DateTimeField(allow_null=True)


class UnrecordedChecksOutputSerializer(serializers.Serializer):
    checks = UnrecordedCheckSerializer(many=True)


class AcknowledgeOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    reason = serializers.CharField()
    by = serializers.CharField()
    at = serializers.DateTimeField()


class InfusionEventOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="external_id")
    kind = serializers.CharField()
    at = serializers.DateTimeField()
    nurse = serializers.CharField(source="nurse.get_full_name")
    rate_ml_h = serializers.DecimalField(max_digits=8, decimal_places=1, allow_null=True)
    line = serializers.CharField()
    volume_infused_ml = serializers.DecimalField(max_digits=8, decimal_places=1, allow_null=True)
    override_reason = serializers.CharField()


class BagOutputSerializer(serializers.Serializer):
    """A hung bag: its administration, order and where its life stands."""

    administration = serializers.UUIDField()
    order = serializers.UUIDField()
    medication = serializers.CharField()
    additives = serializers.CharField()
    line = serializers.CharField()
    state = serializers.ChoiceField(choices=["running", "paused", "ended"])
    rate_ml_h = serializers.DecimalField(max_digits=8, decimal_places=1, allow_null=True)
    ordered_rate_ml_h = serializers.DecimalField(max_digits=8, decimal_places=1, allow_null=True)
    volume_ml = serializers.DecimalField(max_digits=8, decimal_places=1, allow_null=True)
    volume_infused_ml = serializers.DecimalField(max_digits=8, decimal_places=1)
    started_at = serializers.DateTimeField()
    elapsed_minutes = serializers.IntegerField()
    expected_end_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)


class InfusionHangOutputSerializer(serializers.Serializer):
    administration = AdministrationOutputSerializer(help_text="The record of the bag hung.")
    bag = BagOutputSerializer()
    warnings = ClockWarningSerializer(many=True)


class InfusionEventRecordOutputSerializer(serializers.Serializer):
    event = InfusionEventOutputSerializer()
    bag = BagOutputSerializer()
    warnings = ClockWarningSerializer(many=True)


class PatientInfusionsOutputSerializer(serializers.Serializer):
    bags = BagOutputSerializer(many=True)


class VerbalOrderSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    medication = serializers.CharField()
    dose = serializers.CharField()
    route = serializers.CharField()
    schedule = serializers.CharField()
    start_at = serializers.DateTimeField()
    status = serializers.CharField(help_text="active for a STAT order, else awaiting verification")
    verbal = VerbalFlagSerializer()


class MedicationBriefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    strength_unit = serializers.CharField()
    routes = serializers.ListField(child=serializers.CharField())
