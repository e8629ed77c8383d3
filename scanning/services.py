"""Every write at the bedside: checks (audit only), records, not-given, corrections."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import get_language, gettext

import gs1
from hospital import sql
from hospital.auth import staff_pin_verify
from hospital.exceptions import ApplicationError
from hospital.models import Role, User
from hospital.throttle import (
    BADGE,
    Source,
    hashing_slot,
    login_attempt_begin,
    login_attempt_succeeded,
    login_throttle_release,
)
from pharmacy.assessments import ASSESSMENT_KINDS
from pharmacy.body_sites import site_get
from pharmacy.models import DoseState, MedicationOrder, ScheduledDose
from scanning import locks, rules
from scanning.access import (
    BreakGlassLimitError,
    BreakGlassNeedsScanError,
    WardNotAssignedError,
    break_glass_record,
)
from scanning.chains import (
    administration_append,
    infusion_event_append,
    removal_append,
    scan_event_append,
    waste_append,
)
from scanning.dosemath import IncomparableUnits, Quantity
from scanning.models import (
    AccessReason,
    AdministeredUnit,
    Administration,
    AdministrationAssessment,
    AdministrationStatus,
    CheckedDose,
    CorrectionReason,
    InfusionEvent,
    InfusionEventKind,
    NotGivenReason,
    Override,
    Removal,
    ScanEvent,
    ScanPurpose,
    UnrecordedCheckAcknowledgement,
    UnrecordedCheckReason,
    Waste,
)
from scanning.refusals import (
    AlreadyAcknowledgedError,
    AlreadyCorrectedError,
    AlreadyDocumentedError,
    AlreadyGivenError,
    AlreadyRemovedError,
    DoseCancelledError,
    InfusionBagAlreadyHungError,
    NotCorrectableError,
    NotWasteableError,
    NotWornError,
    SerialAlreadyUsedError,
    WasteAlreadyDocumentedError,
)
from scanning.rules.witness import witness_problem
from scanning.scans import ResolvedScan, ScanInput, scan_resolve
from scanning.selectors import (
    CheckContext,
    InfusionAction,
    check_context_build,
    product_facts,
    replacement_facts_build,
    staff_facts,
    staff_get_by_badge,
)
from scanning.signals import administration_recorded, removal_recorded, waste_recorded


@dataclass(frozen=True)
class OverrideInput:
    code: str
    reason: str
    comment: str = ""


@dataclass(frozen=True)
class WasteInput:
    """What the nurse destroyed of the units scanned, and why."""

    amount: Quantity
    reason: str
    comment: str = ""


@dataclass(frozen=True)
class CheckRequest:
    patient: ScanInput
    medications: tuple[ScanInput, ...] = ()
    witness: ScanInput | None = None
    # The witness whose PIN was checked for this request (staff_authenticate_gsrn), if any.
    witness_verified_id: int | None = None
    # A student nurse's instructor co-signing (scanning/rules/cosign.py): her badge, and her id
    # once her PIN was checked for this request, as for the witness.
    cosigner: ScanInput | None = None
    cosigner_verified_id: int | None = None
    order_id: int | None = None
    cart: str = ""
    ward_code: str | None = None
    site: str = ""  # the body site chosen (pharmacy.body_sites), checked by the site rules
    waste: Quantity | None = None  # what is destroyed of the units (the rules balance it)
    # what the nurse measured before giving (pharmacy/assessments.py), checked by rules/assessment
    assessments: tuple[rules.AssessmentValue, ...] = ()
    prn_reason: str = ""  # the indication picked for a PRN dose (rules/prn.py)


@dataclass
class CheckOutcome:
    result: rules.CheckResult
    context: CheckContext
    event: ScanEvent
    # A break-the-glass refused: the caller commits the scan and security events, then raises it.
    refusal: ApplicationError | None = None


@dataclass
class RecordOutcome:
    """Either a new administration, or a refusal with a stable code and the findings behind it."""

    result: rules.CheckResult
    context: CheckContext
    administration: Administration | None = None
    refusal_code: str | None = None
    refusal_message: str = ""
    details: dict[str, object] = field(default_factory=dict)
    # Set for refusals that must show nothing of the patient (a break-the-glass refused).
    refusal_status: int | None = None
    waste: Waste | None = None  # the waste written with the record, if any


class BadgeLoginFailedError(ApplicationError):
    code = "BADGE_LOGIN_FAILED"
    status = 401


class BadgeTextOnlyError(ApplicationError):
    code = "BADGE_TEXT_ONLY"
    status = 400


def staff_authenticate_gsrn(*, gsrn: str, pin: str, source: Source, purpose: str = "login") -> User:
    """The staff member with this badge GSRN, if the PIN is hers. Throttled per badge and source
    (hospital/throttle.py: a refused attempt hashes nothing); otherwise exactly one PIN hash, for
    a real badge and an unknown one alike. One answer for every failure, so that a probe cannot
    tell an unknown badge from a wrong PIN."""
    attempt = login_attempt_begin(kind=BADGE, credential=gsrn, source=source, purpose=purpose)
    user: User | None = None
    if gsrn:
        with hashing_slot():
            user = staff_pin_verify(gsrn=gsrn, pin=pin)
    if user is None:
        raise BadgeLoginFailedError(gettext("Badge or PIN not recognised."))
    login_attempt_succeeded(attempt)
    return user


def _badge_gsrn(badge: ScanInput) -> str:
    """The GSRN of a badge scanned as text ("" if the text is no badge). No image is decoded for
    someone not yet logged in."""
    if badge.image is not None:
        raise BadgeTextOnlyError(
            gettext("Scan the badge with the cart's scanner: the login reads no images.")
        )
    scan = scan_resolve(
        badge, max_bytes=0, max_pixels=0, gs_substitute=settings.BARCODE_GS_SUBSTITUTE
    )
    badge_payload = scan.first_payload(gs1.BadgePayload)
    return badge_payload.gsrn if badge_payload else ""


def staff_authenticate_badge(*, badge: ScanInput, pin: str, source: Source) -> User:
    """A login: the badge as the scanner typed it, then `staff_authenticate_gsrn`."""
    return staff_authenticate_gsrn(gsrn=_badge_gsrn(badge), pin=pin, source=source)


def witness_authenticate(*, witness: ScanInput, pin: str, source: Source) -> int | None:
    """The id of the second nurse whose badge was scanned, if `pin` is hers; None otherwise (the
    rules then say WITNESS_REQUIRED with what was wrong). Her PIN is a login like any other:
    throttled per badge and source, one hash."""
    scan = scan_resolve(
        witness,
        max_bytes=settings.BARCODE_MAX_IMAGE_BYTES,
        max_pixels=settings.BARCODE_MAX_IMAGE_PIXELS,
        gs_substitute=settings.BARCODE_GS_SUBSTITUTE,
    ).first_payload(gs1.BadgePayload)
    if scan is None:
        return None
    try:
        return staff_authenticate_gsrn(gsrn=scan.gsrn, pin=pin, source=source).pk
    except BadgeLoginFailedError:
        return None


def cosigner_authenticate(*, cosigner: ScanInput, pin: str, source: Source) -> int | None:
    """The id of the instructor whose badge was scanned to co-sign a student's record, if `pin`
    is hers; None otherwise (the rules then say STUDENT_COSIGN_REQUIRED with what was wrong). The
    witness's path: a wrong PIN counts against her badge like any failed login."""
    return witness_authenticate(witness=cosigner, pin=pin, source=source)


class WardRequiredError(ApplicationError):
    code = "WARD_REQUIRED"


def cart_ward_check(user: User, ward_code: str) -> None:
    """A nurse's session is a cart's: it names one of her wards, or WRONG_WARD could never warn.
    The API login and the cart's login page both ask this."""
    if not ward_code:
        if user.may_administer:
            raise WardRequiredError(
                gettext("Choose the ward of this cart."), details={"field": "ward"}
            )
        return
    if not user.wards.filter(code=ward_code).exists():
        raise WardNotAssignedError(gettext("You are not assigned to this ward."))


def order_pk_for(external_id: UUID) -> int:
    """The order a check names by its public id (the cart picks among a patient's orders)."""
    order_pk = (
        MedicationOrder.objects.filter(external_id=external_id).values_list("pk", flat=True).first()
    )
    if order_pk is None:
        raise ApplicationError(gettext("Unknown order."), code="ORDER_UNKNOWN", status=404)
    return order_pk


class ReleaseNotAllowedError(ApplicationError):
    code = "RELEASE_NOT_ALLOWED"
    status = 403


def staff_login_release(
    *, badge: ScanInput, supervisor: ScanInput, pin: str, source: Source
) -> User:
    """A charge nurse or an administrator, by her own badge and PIN, lets the staff member whose
    badge is `badge` in again: the failures counted against that badge (at every source) and
    against this source are forgotten; a security event records who did it. Returns the staff
    member let in."""
    supervising = staff_authenticate_gsrn(
        gsrn=_badge_gsrn(supervisor), pin=pin, source=source, purpose="release"
    )
    if not supervising.has_role(Role.CHARGE_NURSE, Role.ADMIN):
        raise ReleaseNotAllowedError(
            gettext("Only a charge nurse or an administrator can do this.")
        )
    gsrn = _badge_gsrn(badge)
    staff = User.objects.filter(badge_gsrn=gsrn).first() if gsrn else None
    if staff is None:
        raise ApplicationError(
            gettext("No staff member carries this badge."), code="BADGE_UNKNOWN", status=404
        )
    login_throttle_release(credential=gsrn, source_ip=source.ip, by=supervising, subject=staff)
    return staff


class PerformerNotAllowedError(ApplicationError):
    code = "PERFORMER_NOT_ALLOWED"
    status = 403


class CorrectionWindowClosedError(ApplicationError):
    code = "CORRECTION_WINDOW_CLOSED"
    status = 403


def correction_deadline(administration: Administration) -> datetime:
    """Until when the recording nurse herself may mark the record entered in error."""
    # `created_at` comes from a field factory (scanning.models) the plugin cannot see through.
    created_at: datetime = administration.created_at
    return created_at + timedelta(minutes=settings.CART_ENTERED_IN_ERROR_MINUTES)


def scans_resolve(
    request: CheckRequest,
) -> tuple[ResolvedScan, list[ResolvedScan], ResolvedScan | None]:
    def resolve(scan: ScanInput) -> ResolvedScan:
        return scan_resolve(
            scan,
            max_bytes=settings.BARCODE_MAX_IMAGE_BYTES,
            max_pixels=settings.BARCODE_MAX_IMAGE_PIXELS,
            gs_substitute=settings.BARCODE_GS_SUBSTITUTE,
            deadline=settings.BARCODE_DECODE_DEADLINE_SECONDS,
        )

    patient = resolve(request.patient)
    units = [resolve(scan) for scan in request.medications]
    witness = resolve(request.witness) if request.witness is not None else None
    # One image showing two wristbands (or two badges) must never pick one of them silently.
    if patient.distinct("wristband") > 1:
        raise ApplicationError(
            gettext("The patient image shows more than one wristband: scan only one."),
            code="AMBIGUOUS_SCAN",
            status=422,
        )
    if witness is not None and witness.distinct("badge") > 1:
        raise ApplicationError(
            gettext("The witness image shows more than one badge: scan only one."),
            code="AMBIGUOUS_SCAN",
            status=422,
        )
    return patient, units, witness


def cosigner_resolve(request: CheckRequest) -> ResolvedScan | None:
    """The co-sign slot as scanned (one badge at most), or None when nothing is in it."""
    if request.cosigner is None:
        return None
    cosigner = scan_resolve(
        request.cosigner,
        max_bytes=settings.BARCODE_MAX_IMAGE_BYTES,
        max_pixels=settings.BARCODE_MAX_IMAGE_PIXELS,
        gs_substitute=settings.BARCODE_GS_SUBSTITUTE,
        deadline=settings.BARCODE_DECODE_DEADLINE_SECONDS,
    )
    if cosigner.distinct("badge") > 1:
        raise ApplicationError(
            gettext("The co-sign image shows more than one badge: scan only one."),
            code="AMBIGUOUS_SCAN",
            status=422,
        )
    return cosigner


def _event(
    *,
    performer: User,
    request: CheckRequest,
    purpose: str,
    scans: list[dict[str, object]],
    result: rules.CheckResult | None = None,
    context: CheckContext | None = None,
    administration: Administration | None = None,
) -> ScanEvent:
    return scan_event_append(
        ScanEvent(
            performer=performer,
            cart=request.cart[:60],
            ward=context.admission.ward
            if context is not None and context.admission is not None
            else None,
            patient=context.patient if context is not None else None,
            purpose=purpose,
            scans=scans,
            verdict=result.verdict if result is not None else "",
            findings=[finding_as_dict(f, "en") for f in result.findings]
            if result is not None
            else [],
            administration=administration,
        )
    )


def _audit_scans(
    patient: ResolvedScan,
    units: list[ResolvedScan],
    witness: ResolvedScan | None,
    cosigner: ResolvedScan | None = None,
) -> list[dict[str, object]]:
    scans = [patient.audit("patient"), *(unit.audit("medication") for unit in units)]
    if witness is not None:
        scans.append(witness.audit("witness"))
    if cosigner is not None:
        scans.append(cosigner.audit("cosigner"))
    return scans


def finding_as_dict(finding: rules.Finding, language: str) -> dict[str, object]:
    english = language.startswith("en")
    return {
        "code": finding.code,
        "severity": str(finding.severity),
        "message": finding.message(language),
        "data": finding.data,
        "override_reasons": [
            {
                "code": reason,
                "label": rules.OVERRIDE_REASON_LABELS.get(reason, (reason, reason))[int(english)],
                "needs_comment": reason in rules.REASONS_NEEDING_COMMENT,
            }
            for reason in rules.OVERRIDE_REASONS.get(finding.code, ())
        ],
    }


def _break_glass(
    context: CheckContext, *, performer: User, patient_scan: ResolvedScan, reason: str, cart: str
) -> ApplicationError | None:
    """Log a scan of a patient outside the performer's wards (scanning/access.py), or the refusal
    to open that patient: a typed band, or too many such patients in an hour."""
    try:
        break_glass_record(
            user=performer,
            admission=context.admission if context.facts.band_active else None,
            reason=reason,
            cart=cart,
            on_assigned_ward=context.performer_on_ward,
            band_keyed=patient_scan.keyed,
        )
    except (BreakGlassNeedsScanError, BreakGlassLimitError) as refused:
        return refused
    return None


def administration_check(*, performer: User, request: CheckRequest) -> CheckOutcome:
    """Run the rules on what the cart scanned. Writes only the audit: the scan event, the dose it
    was about (`CheckedDose`, for "scanned but not recorded") and the break-the-glass log of a
    patient outside the performer's wards."""
    patient, units, witness = scans_resolve(request)
    cosigner = cosigner_resolve(request)
    context = check_context_build(
        performer=performer,
        cart_ward_code=request.ward_code,
        patient_scan=patient,
        unit_scans=units,
        witness_scan=witness,
        witness_verified_id=request.witness_verified_id,
        cosigner_scan=cosigner,
        cosigner_verified_id=request.cosigner_verified_id,
        requested_order_id=request.order_id,
        # A bag about to be hung: the cart sees a bag of the order still running before it records.
        infusion=InfusionAction(action=rules.infusion.PREVIEW),
        site=request.site,
        waste=request.waste,
        assessments=request.assessments,
        prn_reason=request.prn_reason,
    )
    result = rules.check_administration(context.facts)
    refusal = _break_glass(
        context,
        performer=performer,
        patient_scan=patient,
        reason=AccessReason.WRISTBAND_CHECK,
        cart=request.cart,
    )
    event = _event(
        performer=performer,
        request=request,
        purpose=ScanPurpose.CHECK,
        scans=_audit_scans(patient, units, witness, cosigner),
        result=result,
        context=context,
    )
    if result.order is not None:
        # What the check was about: a GO or WARN that nothing follows is "scanned but not recorded".
        CheckedDose.objects.create(
            scan_event=event,
            order_id=result.order.id,
            scheduled_dose_id=result.dose.id if result.dose is not None else None,
            checked_at=event.created_at,
        )
    return CheckOutcome(result=result, context=context, event=event, refusal=refusal)


def _lock_patient_and_orders(patient_scan: ResolvedScan) -> None:
    """Steps 1 and 2 of the bedside lock order (scanning/locks.py): the patient of the scanned
    band, then the open admission's orders by primary key. Named for bench/administer.py's
    profile."""
    band = patient_scan.first_payload(gs1.WristbandPayload)
    if band is not None:
        locks.patient_and_open_orders(band.gsrn)


def _missing_overrides(
    result: rules.CheckResult, overrides: list[OverrideInput]
) -> list[dict[str, object]]:
    given = {override.code: override for override in overrides}
    missing: list[dict[str, object]] = []
    for finding in result.warnings():
        override = given.get(finding.code)
        allowed = rules.OVERRIDE_REASONS.get(finding.code, ())
        if override is None or override.reason not in allowed:
            missing.append({"code": finding.code, "reasons": list(allowed)})
        elif override.reason in rules.REASONS_NEEDING_COMMENT and not override.comment.strip():
            missing.append(
                {"code": finding.code, "reasons": list(allowed), "comment_required": True}
            )
    return missing


def _recorded_amount(result: rules.CheckResult, amount: Quantity | None) -> Quantity:
    """What goes on the record, in the order's unit. A short scan records the share of the ordered
    dose that the rules found scanned (they compare through the product's strength, so a 10 mL
    order of a 250 mg/5 mL syrup scanned as 250 mg records 5 mL). The ordered dose is the one the
    rules compared with: a per-kg order's, computed from the current weight."""
    order = _checked_order(result)
    ordered = _ordered(order)
    if amount is not None:
        return amount.to(order.dose_unit)
    summary = result.dose_summary
    if summary is not None and summary.comparison == "less" and summary.scanned is not None:
        share = summary.scanned.to(summary.ordered.unit).value / summary.ordered.value
        return Quantity(order.dose_value * share, order.dose_unit)
    return ordered


def _ordered(order: rules.OrderFacts) -> Quantity:
    return Quantity(order.dose_value, order.dose_unit)


def _checked_order(result: rules.CheckResult) -> rules.OrderFacts:
    if result.order is None:
        raise ValueError("a result that may be recorded has its order")
    return result.order


def administration_record(
    *,
    performer: User,
    request: CheckRequest,
    overrides: Sequence[OverrideInput] = (),
    amount: Quantity | None = None,
    route: str = "",
    site: str = "",
    infusion: InfusionAction | None = None,
    waste: WasteInput | None = None,
) -> RecordOutcome:
    """Record a dose given. Call inside `transaction.atomic(durable=True)`: the rules run again on
    fresh, locked rows; the client's earlier check is never trusted. With `infusion` (a hang,
    scanning.infusions.infusion_hang) the record is a bag hung, and its started event is written
    with it. `waste`, what was destroyed of the units, is written in the same transaction
    (rules/waste.py says when it balances and who must witness it)."""
    if not performer.may_administer:
        raise PerformerNotAllowedError(gettext("Only nurses may record administrations."))
    patient_scan, units, witness = scans_resolve(request)
    cosigner = cosigner_resolve(request)
    if not units:
        raise ApplicationError(
            gettext("Scan at least one medication."), code="NO_MEDICATION_SCANNED"
        )
    site = site or request.site
    _lock_patient_and_orders(patient_scan)
    context = check_context_build(
        performer=performer,
        cart_ward_code=request.ward_code,
        patient_scan=patient_scan,
        unit_scans=units,
        witness_scan=witness,
        witness_verified_id=request.witness_verified_id,
        cosigner_scan=cosigner,
        cosigner_verified_id=request.cosigner_verified_id,
        requested_order_id=request.order_id,
        amount=amount,
        infusion=infusion,
        site=site,
        waste=waste.amount if waste is not None else None,
        assessments=request.assessments,
        prn_reason=request.prn_reason,
    )
    result = rules.check_administration(context.facts)
    scans = _audit_scans(patient_scan, units, witness, cosigner)

    def refuse(
        code: str,
        message: str,
        details: dict[str, object] | None = None,
        status: int | None = None,
    ) -> RecordOutcome:
        _event(
            performer=performer,
            request=request,
            purpose=ScanPurpose.RECORD,
            scans=scans,
            result=result,
            context=context,
        )
        return RecordOutcome(
            result=result,
            context=context,
            refusal_code=code,
            refusal_message=message,
            details=details or {},
            refusal_status=status,
        )

    glass = _break_glass(
        context,
        performer=performer,
        patient_scan=patient_scan,
        reason=AccessReason.ADMINISTRATION,
        cart=request.cart,
    )
    if glass is not None:
        return refuse(glass.code, glass.message, glass.details, status=glass.status)
    if infusion_refusal := _infusion_refusal(infusion, context, result):
        return refuse(*infusion_refusal)
    if "ALREADY_GIVEN" in result.codes():
        return refuse(AlreadyGivenError.code, gettext("This dose has already been given."))
    if result.verdict == "stop" or result.order is None:
        return refuse("CHECK_STOP", gettext("The check says STOP: this dose cannot be recorded."))
    missing = _missing_overrides(result, list(overrides))
    if missing:
        return refuse(
            "OVERRIDE_REQUIRED",
            gettext("Every warning needs an override reason."),
            {"missing": missing},
        )
    order = context.orders[result.order.id]
    if entry_refusal := _entry_refusal(context, order, amount=amount, route=route, site=site):
        return refuse(*entry_refusal)

    # The context's dose was read after the patient and order locks, which every writer of a
    # dose's state holds too; its own lock is for writers outside the bedside.
    dose = context.doses[result.dose.id] if result.dose is not None else None
    replaces_id = locks.dose_with_record_to_replace(dose.pk) if dose is not None else None
    recorded = _recorded_amount(result, amount)
    try:
        with transaction.atomic():
            chosen = {override.code: override for override in overrides}
            cosigned_by = cosigner_accepted(context, performer_id=performer.pk)
            administered_at = timezone.now()
            # Built in memory and written once: the record is hashed with its units and overrides.
            administration = Administration(
                patient=context.patient,
                admission=context.admission,
                order=order,
                scheduled_dose=dose,
                status=AdministrationStatus.COMPLETED,
                performer=performer,
                witness=witness_accepted(context, performer_id=performer.pk),
                cosigner=cosigned_by,
                cosigned_at=administered_at if cosigned_by is not None else None,
                administered_at=administered_at,
                amount=recorded.value,
                unit=recorded.unit,
                route=order.route,
                site=site[:60],
                is_partial=_is_partial(recorded, _ordered(_checked_order(result))),
                cart=request.cart[:60],
                replaces_id=replaces_id,
                # the order's own spelling of the indication the rules accepted
                prn_reason=(rules.prn_reason_matched(result.order, request.prn_reason) or "")
                if result.order.is_prn
                else "",
            )
            administration_append(
                administration,
                units=[
                    AdministeredUnit(
                        package=context.packages[unit.gtin],
                        gtin=unit.gtin,
                        lot=unit.lot or "",
                        expiry=unit.expiry,
                        serial=unit.serial or "",
                        scanned=not keyed,
                    )
                    for unit, keyed in zip(
                        _medication_payloads(context.units), context.unit_keyed, strict=True
                    )
                ],
                overrides=[
                    Override(
                        finding_code=finding.code,
                        reason=chosen[finding.code].reason,
                        comment=chosen[finding.code].comment[:500],
                    )
                    for finding in result.warnings()
                ],
                assessments=assessment_rows(request.assessments),
            )
            _bag_start(administration, infusion, cart=request.cart)
            written_waste = None
            if waste is not None:
                written_waste = _waste_write(
                    administration,
                    waste,
                    performer=performer,
                    witness=administration.witness,
                    cart=request.cart,
                )
    except IntegrityError:
        if infusion is not None and _bag_hung(context.units):
            return refuse(
                InfusionBagAlreadyHungError.code, gettext("This bag has already been hung.")
            )
        # The patient and dose locks serialise one patient's records; two patients' carts with
        # the same serialised unit meet only here, at the serial's unique constraint.
        if _serial_given(context.units):
            return refuse(
                SerialAlreadyUsedError.code,
                gettext(
                    "This unit (its serial) was given to another patient a moment ago: use another."
                ),
            )
        return refuse(
            AlreadyGivenError.code, gettext("This dose or unit has already been recorded.")
        )
    if dose is not None:
        dose.state = DoseState.GIVEN
        sql.update(ScheduledDose, dose.pk, state=dose.state)
    _event(
        performer=performer,
        request=request,
        purpose=ScanPurpose.RECORD,
        scans=scans,
        result=result,
        context=context,
        administration=administration,
    )
    administration_recorded.send(sender=Administration, administration=administration)
    return RecordOutcome(
        result=result, context=context, administration=administration, waste=written_waste
    )


def _infusion_refusal(
    infusion: InfusionAction | None, context: CheckContext, result: rules.CheckResult
) -> tuple[str, str] | None:
    """A bag hung twice, or an infusion order recorded as a plain dose (its bag's life would
    never be followed): (code, message), else None."""
    if infusion is not None and _bag_hung(context.units):
        return InfusionBagAlreadyHungError.code, gettext("This bag has already been hung.")
    if infusion is not None and "INFUSION_ALREADY_RUNNING" in result.codes():
        # Said before ALREADY_GIVEN: the bag still running is what the nurse must act on.
        return (
            "CHECK_STOP",
            gettext("A bag of this order is already running on this line: take it down first."),
        )
    order = context.orders.get(result.order.id) if result.order is not None else None
    if infusion is None and order is not None and order.is_infusion:
        return (
            "INFUSION_NEEDS_BAG",
            gettext(
                "This order is an infusion: hang the bag, with its rate and line, to record it."
            ),
        )
    return None


def _entry_refusal(
    context: CheckContext, order: MedicationOrder, *, amount: Quantity | None, route: str, site: str
) -> tuple[str, str] | None:
    """What the nurse entered beside her scans that the order cannot take: an amount in another
    unit, another route, a patch without its site. (code, message), else None."""
    if amount is not None and not _comparable(amount, order.dose_unit):
        return (
            "AMOUNT_UNIT_MISMATCH",
            gettext("Give the amount in %(unit)s, the unit of the order.")
            % {"unit": order.dose_unit},
        )
    if route and route != order.route:
        return (
            "ROUTE_NOT_ORDERED",
            gettext("The order is for route %(ordered)s, not %(route)s.")
            % {"ordered": order.route, "route": route},
        )
    if site_get(site) is None and any(
        context.packages[unit.payload.gtin].medication.requires_removal
        for unit in context.units
        if isinstance(unit.payload, gs1.MedicationPayload) and unit.payload.gtin in context.packages
    ):
        return (
            "SITE_REQUIRED",
            gettext("Choose the body site where this patch, ring or implant is placed."),
        )
    return None


def _bag_start(
    administration: Administration, infusion: InfusionAction | None, *, cart: str
) -> None:
    """The started event of a bag hung: written with its administration, or not at all."""
    if infusion is None:
        return
    infusion_event_append(
        InfusionEvent(
            administration=administration,
            kind=InfusionEventKind.STARTED,
            at=administration.administered_at,
            nurse=administration.performer,
            rate_ml_h=infusion.rate_ml_h,
            line=infusion.line[:20],
            cart=cart[:60],
        )
    )


def _bag_hung(units: Iterable[gs1.ParsedScan]) -> bool:
    """One of the scanned units was already hung as a bag (ended or not)."""
    return any(
        InfusionEvent.objects.filter(
            administration__units__gtin=unit.gtin,
            administration__units__serial=unit.serial,
            kind=InfusionEventKind.STARTED,
        ).exists()
        for unit in (scan.payload for scan in units)
        if isinstance(unit, gs1.MedicationPayload) and unit.serial
    )


def _waste_write(
    administration: Administration,
    waste: WasteInput,
    *,
    performer: User,
    witness: User | None,
    cart: str,
) -> Waste:
    """The waste as the next link of the patient's waste chain (the caller holds the patient's
    lock)."""
    written: Waste = waste_append(
        Waste(
            administration=administration,
            patient_id=administration.patient_id,
            amount=waste.amount.value,
            unit=waste.amount.unit,
            reason=waste.reason,
            comment=waste.comment[:500],
            performer=performer,
            witness=witness,
            wasted_at=timezone.now(),
            cart=cart[:60],
        )
    )
    return written


class WasteRefusedError(ApplicationError):
    """The waste rules say STOP: the amounts do not balance, or the witness is missing."""

    code = "CHECK_STOP"
    status = 422


def administration_waste_record(
    *,
    performer: User,
    administration: Administration,
    waste: WasteInput,
    witness: ScanInput | None = None,
    witness_verified_id: int | None = None,
    cart: str = "",
) -> Waste:
    """Document waste after the record (the rest of an ampoule found on the tray, a syringe
    dropped): at most one per record, under the patient's lock, the waste rules run on the
    record's own units and amount. Call inside `transaction.atomic(durable=True)`; a retry with
    the same Idempotency-Key gets the first answer, a second waste a 409."""
    if not performer.may_administer:
        raise PerformerNotAllowedError(gettext("Only nurses may document waste."))
    locks.patient(administration.patient_id)
    if Waste.objects.filter(administration=administration).exists():
        raise WasteAlreadyDocumentedError(gettext("Waste was already documented for this record."))
    withdrawn = Administration.objects.filter(corrects=administration).exists()
    if administration.status != AdministrationStatus.COMPLETED or withdrawn:
        raise NotWasteableError(gettext("Only a dose given, and still standing, can have waste."))
    witness_scan = None
    witness_user = None
    if witness is not None:
        witness_scan = scan_resolve(
            witness,
            max_bytes=settings.BARCODE_MAX_IMAGE_BYTES,
            max_pixels=settings.BARCODE_MAX_IMAGE_PIXELS,
            gs_substitute=settings.BARCODE_GS_SUBSTITUTE,
        )
        witness_user = staff_get_by_badge(scan=witness_scan)
    facts = rules.WitnessFacts(
        performer=staff_facts(performer),
        witness_scan_kind=witness_scan.kind if witness_scan is not None else None,
        witness=staff_facts(witness_user) if witness_user is not None else None,
        witness_pin_ok=witness_user is not None and witness_user.pk == witness_verified_id,
    )
    # A replacement written by a correction is the same dose recorded again: its units are those
    # of the record it replaces (interop.selectors does the same for its messages).
    source = administration
    while not source.units.exists() and source.replaces is not None:
        source = source.replaces
    units = source.units.select_related("package__medication__substance")
    if administration.amount is None:  # a completed record always has its amount (constraint)
        raise NotWasteableError(gettext("Only a dose given, and still standing, can have waste."))
    result = rules.check_waste_later(
        facts,
        [product_facts(unit.package) for unit in units],
        Quantity(administration.amount, administration.unit),
        waste.amount,
    )
    if result.verdict == "stop":
        raise WasteRefusedError(
            gettext("The waste cannot be documented: see the findings."),
            details={
                "findings": [finding_as_dict(f, get_language() or "vi") for f in result.findings]
            },
        )
    accepted = witness_user if witness_problem(facts) is None else None
    try:
        with transaction.atomic():
            written = _waste_write(
                administration, waste, performer=performer, witness=accepted, cart=cart
            )
    except IntegrityError as error:
        raise WasteAlreadyDocumentedError(
            gettext("Waste was already documented for this record.")
        ) from error
    # The HIS heard of the record without this waste: it goes out as an update of the record.
    waste_recorded.send(sender=Waste, waste=written)
    return written


def _medication_payloads(units: Iterable[gs1.ParsedScan]) -> list[gs1.MedicationPayload]:
    """The payloads of a record's units. Only a check without STOP is recorded, and the rules
    STOP on anything in the medication slot that is not a medication."""
    payloads = []
    for unit in units:
        if not isinstance(unit.payload, gs1.MedicationPayload):
            raise TypeError(f"a {unit.kind} scan among the units of a record")
        payloads.append(unit.payload)
    return payloads


def _serial_given(units: Iterable[gs1.ParsedScan]) -> bool:
    serials = [(unit.gtin, unit.serial) for unit in _medication_payloads(units) if unit.serial]
    return any(
        AdministeredUnit.objects.filter(gtin=gtin, serial=serial).exists()
        for gtin, serial in serials
    )


def witness_accepted(context: CheckContext, *, performer_id: int) -> User | None:
    """The witness the rules would accept as one (her badge scanned, her PIN checked, another
    nurse than the performer), else None: only she goes on the record, and the cart names her."""
    witness = context.witness
    if (
        witness is None
        or not context.facts.witness_pin_ok
        or not witness.may_administer
        or witness.pk == performer_id
    ):
        return None
    return witness


def cosigner_accepted(context: CheckContext, *, performer_id: int) -> User | None:
    """The instructor the co-sign rule accepts for a student's record (scanning/rules/cosign.py),
    else None: only she goes on the record, and the cart names her. Never set on a licensed
    nurse's record."""
    cosigner = context.cosigner
    if (
        cosigner is None
        or not context.facts.performer.is_student
        or not context.facts.cosigner_pin_ok
        or not cosigner.is_instructor
        or cosigner.pk == performer_id
    ):
        return None
    return cosigner


def _comparable(quantity: Quantity, unit: str) -> bool:
    try:
        quantity.to(unit)
    except IncomparableUnits:
        return False
    return True


def _is_partial(recorded: Quantity, ordered: Quantity) -> bool:
    try:
        return recorded.to(ordered.unit).value < ordered.value
    except IncomparableUnits:
        return False


def assessment_rows(
    values: Iterable[rules.AssessmentValue],
) -> list[AdministrationAssessment]:
    """The values measured before giving, as the rows written with the record (unsaved)."""
    return [
        AdministrationAssessment(
            kind=value.kind, value=value.value, unit=ASSESSMENT_KINDS[value.kind].ucum
        )
        for value in values
    ]


def administration_not_given(
    *,
    performer: User,
    patient: ScanInput,
    order: MedicationOrder,
    reason: str,
    comment: str = "",
    scheduled_dose: ScheduledDose | None = None,
    cart: str = "",
    assessments: Sequence[rules.AssessmentValue] = (),
) -> Administration:
    """Document a refused, held or otherwise not-given dose (the patient's band proves who), with
    the values measured that held it, if any."""
    if not performer.may_administer:
        raise PerformerNotAllowedError(gettext("Only nurses may document doses."))
    if reason not in NotGivenReason.values:
        raise ApplicationError(
            gettext("Unknown reason."),
            code="INVALID_REASON",
            details={"allowed": NotGivenReason.values},
        )
    if reason == NotGivenReason.OTHER and not comment.strip():
        raise ApplicationError(
            gettext("A comment is required for 'other'."), code="COMMENT_REQUIRED"
        )
    request = CheckRequest(patient=patient, cart=cart)
    patient_scan, _units, _witness = scans_resolve(request)
    _lock_patient_and_orders(patient_scan)
    band = patient_scan.first_payload(gs1.WristbandPayload)
    identified = (
        band is not None
        and order.admission.wristbands.active()
        .filter(patient__gsrn=band.gsrn, instance=band.instance)
        .exists()
    )
    if not identified:
        raise ApplicationError(
            gettext("Scan the active wristband of this order's patient."),
            code="PATIENT_NOT_IDENTIFIED",
            status=422,
        )
    if scheduled_dose is not None:
        scheduled_dose = locks.dose(scheduled_dose.pk)
        if scheduled_dose.order_id != order.pk:
            raise ApplicationError(
                gettext("That dose belongs to another order."),
                code="DOSE_NOT_OF_ORDER",
                status=422,
            )
        if scheduled_dose.administrations.counting_given().exists():
            raise AlreadyGivenError(gettext("This dose has already been given."))
        # One note per dose: a double tap must not send two not-given messages downstream.
        if scheduled_dose.administrations.counting_not_given().exists():
            raise AlreadyDocumentedError(gettext("This dose is already documented as not given."))
        if scheduled_dose.state == DoseState.CANCELLED:
            raise DoseCancelledError(gettext("This dose was cancelled with its order."))
    administration = administration_append(
        Administration(
            patient=order.admission.patient,
            admission=order.admission,
            order=order,
            scheduled_dose=scheduled_dose,
            status=AdministrationStatus.NOT_DONE,
            performer=performer,
            administered_at=timezone.now(),
            reason=reason,
            comment=comment.strip()[:500],
            cart=cart[:60],
        ),
        assessments=assessment_rows(assessments),
    )
    if scheduled_dose is not None:
        scheduled_dose.state = DoseState.NOT_GIVEN
        scheduled_dose.save(update_fields=["state"])
    scan_event_append(
        ScanEvent(
            performer=performer,
            cart=cart[:60],
            patient=order.admission.patient,
            purpose=ScanPurpose.NOT_GIVEN,
            scans=[patient_scan.audit("patient")],
            administration=administration,
        )
    )
    administration_recorded.send(sender=Administration, administration=administration)
    return administration


def removal_record(
    *,
    performer: User,
    administration: Administration,
    patient: ScanInput,
    site: str,
    medication: ScanInput | None = None,
    comment: str = "",
    cart: str = "",
) -> Removal:
    """Document a patch, ring or implant taken off: the patient's band proves who, the site where
    it was found is coded, and a scan of its label (optional) must be the product that was put on.
    Under the patient's lock, like every write to the patient's ledger, so that of two carts
    removing one patch one wins and the other is told ALREADY_REMOVED."""
    if not performer.may_administer:
        raise PerformerNotAllowedError(gettext("Only nurses may document removals."))
    if site_get(site) is None:
        raise ApplicationError(
            gettext("Choose the body site the patch was removed from."), code="SITE_REQUIRED"
        )
    request = CheckRequest(
        patient=patient, medications=(medication,) if medication is not None else (), cart=cart
    )
    patient_scan, units, _witness = scans_resolve(request)
    band = patient_scan.first_payload(gs1.WristbandPayload)
    if band is None or band.gsrn != administration.patient.gsrn:
        raise ApplicationError(
            gettext("Scan the wristband of the patient wearing this patch."),
            code="PATIENT_NOT_IDENTIFIED",
            status=422,
        )
    locks.patient(administration.patient_id)
    identified = (
        administration.admission.wristbands.active()
        .filter(patient__gsrn=band.gsrn, instance=band.instance)
        .exists()
    )
    if not identified:
        raise ApplicationError(
            gettext("Scan the patient's active wristband."),
            code="PATIENT_NOT_IDENTIFIED",
            status=422,
        )
    scanned = False
    if units:
        label = units[0].first_payload(gs1.MedicationPayload)
        given = {unit.gtin for unit in administration.units.all()}
        if label is None or label.gtin not in given:
            raise ApplicationError(
                gettext("The scanned label is not the product that was applied."),
                code="REMOVAL_SCAN_MISMATCH",
                status=422,
            )
        scanned = True
    if Removal.objects.filter(administration=administration).exists():
        raise AlreadyRemovedError(gettext("This patch is already documented as removed."))
    if not Administration.objects.still_worn().filter(pk=administration.pk).exists():
        raise NotWornError(gettext("This record is not a patch, ring or implant on the patient."))
    try:
        with transaction.atomic():
            removal = removal_append(
                Removal(
                    administration=administration,
                    patient_id=administration.patient_id,
                    performer=performer,
                    removed_at=timezone.now(),
                    site=site,
                    scanned=scanned,
                    comment=comment.strip()[:500],
                    cart=cart[:60],
                )
            )
    except IntegrityError as error:
        # The patient's lock makes this unreachable; the one-to-one is the guard behind it.
        raise AlreadyRemovedError(
            gettext("This patch is already documented as removed.")
        ) from error
    removal_recorded.send(sender=Removal, removal=removal)
    return removal


def administration_correct(
    *,
    performer: User,
    administration: Administration,
    reason: str,
    comment: str = "",
    replacement_amount: Quantity | None = None,
    overrides: Sequence[OverrideInput] = (),
) -> tuple[Administration, Administration | None]:
    """Withdraw a record as entered in error (a new row), optionally with a corrected replacement.
    A replacement runs the dose, unit and PRN rules of a record (`rules.check_replacement`): a
    STOP refuses it (422 `CHECK_STOP`), a warning needs its override (422 `OVERRIDE_REQUIRED`);
    a refusal writes nothing."""
    if not (
        performer.may_administer
        and (performer.pk == administration.performer_id or performer.has_role(Role.CHARGE_NURSE))
    ):
        raise PerformerNotAllowedError(
            gettext("Only the nurse who recorded it or a charge nurse may correct a record.")
        )
    if not performer.has_role(Role.CHARGE_NURSE) and timezone.now() > correction_deadline(
        administration
    ):
        raise CorrectionWindowClosedError(
            gettext(
                "Your own record can be marked entered in error only within %(minutes)d minutes "
                "of recording it. Ask the charge nurse to correct it."
            )
            % {"minutes": settings.CART_ENTERED_IN_ERROR_MINUTES},
            details={"deadline": correction_deadline(administration).isoformat()},
        )
    if reason not in CorrectionReason.values:
        raise ApplicationError(
            gettext("Unknown reason."),
            code="INVALID_REASON",
            details={"allowed": CorrectionReason.values},
        )
    if reason == CorrectionReason.OTHER and not comment.strip():
        raise ApplicationError(
            gettext("A comment is required for 'other'."), code="COMMENT_REQUIRED"
        )
    # The patient's lock serialises every write to this patient's records, corrections of one
    # record included.
    locks.patient(administration.patient_id)
    original = Administration.objects.get(pk=administration.pk)
    if original.status == AdministrationStatus.ENTERED_IN_ERROR:
        raise NotCorrectableError(gettext("A correction cannot itself be corrected."))
    if Administration.objects.filter(corrects=original).exists():
        raise AlreadyCorrectedError(gettext("This record was already corrected."))
    replacement_result = None
    if replacement_amount is not None:
        if original.status != AdministrationStatus.COMPLETED:
            raise ApplicationError(
                gettext("Only a given record can be replaced."),
                code="NOT_REPLACEABLE",
                status=422,
            )
        if replacement_amount.value <= 0:
            raise ApplicationError(gettext("The amount must be positive."), code="INVALID_AMOUNT")
        replacement_result = rules.check_replacement(
            replacement_facts_build(original=original, amount=replacement_amount)
        )
        _replacement_refuse(replacement_result, list(overrides))
    now = timezone.now()
    withdrawal = administration_append(
        Administration(
            patient=original.patient,
            admission=original.admission,
            order=original.order,
            scheduled_dose=original.scheduled_dose,
            status=AdministrationStatus.ENTERED_IN_ERROR,
            performer=performer,
            administered_at=now,
            reason=reason,
            comment=comment.strip()[:500],
            corrects=original,
            cart=original.cart,
        )
    )
    administration_recorded.send(sender=Administration, administration=withdrawal)
    replacement = None
    # Both or neither: a replacement amount is checked into a replacement result above.
    if replacement_result is not None and replacement_amount is not None:
        order = original.order
        chosen = {override.code: override for override in overrides}
        replacement = administration_append(
            Administration(
                patient=original.patient,
                admission=original.admission,
                order=order,
                scheduled_dose=original.scheduled_dose,
                status=AdministrationStatus.COMPLETED,
                performer=original.performer,
                witness=original.witness,
                # The dose given is the one the instructor co-signed: the co-sign stands with it.
                cosigner=original.cosigner,
                cosigned_at=original.cosigned_at,
                administered_at=original.administered_at,
                amount=replacement_amount.value,
                unit=replacement_amount.unit,
                route=original.route,
                site=original.site,
                is_partial=_is_partial(
                    replacement_amount, _ordered(_checked_order(replacement_result))
                ),
                reason=reason,
                comment=comment.strip()[:500],
                cart=original.cart,
                replaces=original,
                prn_reason=original.prn_reason,  # given for the same reason
            ),
            overrides=[
                Override(
                    finding_code=finding.code,
                    reason=chosen[finding.code].reason,
                    comment=chosen[finding.code].comment[:500],
                )
                for finding in replacement_result.warnings()
            ],
            # The values measured before the dose stand for the dose that replaces it.
            assessments=assessment_rows(
                rules.AssessmentValue(kind=value.kind, value=value.value)
                for value in original.assessments.all()
            ),
        )
        administration_recorded.send(sender=Administration, administration=replacement)
    if original.scheduled_dose_id is not None:
        _dose_state_refresh(original.scheduled_dose_id)
    return withdrawal, replacement


def _replacement_refuse(result: rules.CheckResult, overrides: list[OverrideInput]) -> None:
    """A replacement's STOP, or a warning without its override, as the record answers them: the
    findings in the nurse's language, like the refusal's message."""
    findings = [finding_as_dict(finding, get_language() or "vi") for finding in result.findings]
    if result.verdict == "stop":
        raise ApplicationError(
            gettext("The rules say STOP: this amount cannot be recorded."),
            code="CHECK_STOP",
            status=422,
            details={"findings": findings, "verdict": result.verdict},
        )
    missing = _missing_overrides(result, overrides)
    if missing:
        raise ApplicationError(
            gettext("Every warning needs an override reason."),
            code="OVERRIDE_REQUIRED",
            status=422,
            details={"missing": missing, "findings": findings, "verdict": result.verdict},
        )


def _dose_state_refresh(dose_id: int) -> None:
    """A dose's state follows the records that still count: given, else not given, else scheduled."""
    records = Administration.objects.filter(scheduled_dose_id=dose_id)
    if records.counting_given().exists():
        state = DoseState.GIVEN
    elif records.counting_not_given().exists():
        state = DoseState.NOT_GIVEN
    else:
        state = DoseState.SCHEDULED
    ScheduledDose.objects.filter(pk=dose_id).exclude(state=DoseState.CANCELLED).update(state=state)


class AcknowledgeNotAllowedError(ApplicationError):
    code = "ACKNOWLEDGE_NOT_ALLOWED"
    status = 403


def unrecorded_check_acknowledge(
    *, by: User, scan_event: ScanEvent, reason: str, comment: str = ""
) -> UnrecordedCheckAcknowledgement:
    """A nurse answers for a check of hers that was scanned but not recorded (a charge nurse of
    its ward may answer for her): it leaves the cart's and the dashboard's lists. Once only."""
    if not (
        by.may_administer
        and (
            by.pk == scan_event.performer_id
            or (
                by.has_role(Role.CHARGE_NURSE)
                and scan_event.ward_id is not None
                and by.wards.filter(pk=scan_event.ward_id).exists()
            )
        )
    ):
        raise AcknowledgeNotAllowedError(
            gettext(
                "Only the nurse who scanned it, or a charge nurse of the ward, can answer for it."
            )
        )
    if reason not in UnrecordedCheckReason.values:
        raise ApplicationError(
            gettext("Unknown reason."),
            code="INVALID_REASON",
            details={"allowed": UnrecordedCheckReason.values},
        )
    if reason == UnrecordedCheckReason.OTHER and not comment.strip():
        raise ApplicationError(
            gettext("A comment is required for 'other'."), code="COMMENT_REQUIRED"
        )
    if scan_event.purpose != ScanPurpose.CHECK or scan_event.verdict not in ("go", "warn"):
        raise ApplicationError(
            gettext("Only a check that said GO or WARN can be scanned but not recorded."),
            code="NOT_AN_UNRECORDED_CHECK",
            status=422,
        )
    try:
        with transaction.atomic():
            return UnrecordedCheckAcknowledgement.objects.create(
                scan_event=scan_event,
                acknowledged_by=by,
                reason=reason,
                comment=comment.strip()[:500],
            )
    except IntegrityError as error:
        raise AlreadyAcknowledgedError(gettext("This check was already answered for.")) from error
