"""Every write at the bedside: checks (audit only), records, not-given, corrections."""

from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import IntegrityError, transaction
from django.utils import timezone

from hospital import sql
from hospital.exceptions import ApplicationError
from hospital.models import Role
from pharmacy.models import DoseState, MedicationOrder, ScheduledDose
from scanning import bedside_sql, rules
from scanning.chains import administration_append, scan_event_append
from scanning.dose import IncomparableUnits, Quantity
from scanning.models import (
    AdministeredUnit,
    Administration,
    AdministrationStatus,
    CorrectionReason,
    NotGivenReason,
    Override,
    ScanEvent,
    ScanPurpose,
)
from scanning.scans import ResolvedScan, ScanInput, scan_resolve
from scanning.selectors import CheckContext, check_context_build, counting_given
from scanning.signals import administration_recorded
from wards.models import Patient


@dataclass(frozen=True)
class OverrideInput:
    code: str
    reason: str
    comment: str = ""


@dataclass(frozen=True)
class CheckRequest:
    patient: ScanInput
    medications: tuple[ScanInput, ...] = ()
    witness: ScanInput | None = None
    witness_pin: str = ""
    order_id: int | None = None
    cart: str = ""
    ward_code: str | None = None


@dataclass
class CheckOutcome:
    result: rules.CheckResult
    context: CheckContext
    event: ScanEvent


@dataclass
class RecordOutcome:
    """Either a new administration, or a refusal with a stable code and the findings behind it."""

    result: rules.CheckResult
    context: CheckContext
    administration: Administration | None = None
    refusal_code: str | None = None
    refusal_message: str = ""
    details: dict = field(default_factory=dict)


class BadgeLoginFailedError(ApplicationError):
    code = "BADGE_LOGIN_FAILED"
    status = 401


class LockedOutError(ApplicationError):
    code = "LOCKED_OUT"
    status = 429


def staff_authenticate_badge(*, request, badge: ScanInput, pin: str):
    """The staff member whose badge this is, if the PIN matches. One answer for every failure, so
    that a probe cannot tell an unknown badge from a wrong PIN; django-axes counts the failures."""
    scan = scan_resolve(
        badge,
        max_bytes=settings.BARCODE_MAX_IMAGE_BYTES,
        max_pixels=settings.BARCODE_MAX_IMAGE_PIXELS,
        gs_substitute=settings.BARCODE_GS_SUBSTITUTE,
    )
    parsed = scan.first("badge")
    user = authenticate(
        request, username=parsed.payload.gsrn if parsed else None, password=pin, badge=True
    )
    if getattr(request, "axes_locked_out", False):
        raise LockedOutError("Too many failed attempts: this badge is locked for 15 minutes.")
    if user is None:
        raise BadgeLoginFailedError("Badge or PIN not recognised.")
    return user


class PerformerNotAllowedError(ApplicationError):
    code = "PERFORMER_NOT_ALLOWED"
    status = 403


def scans_resolve(
    request: CheckRequest,
) -> tuple[ResolvedScan, list[ResolvedScan], ResolvedScan | None]:
    limits = {
        "max_bytes": settings.BARCODE_MAX_IMAGE_BYTES,
        "max_pixels": settings.BARCODE_MAX_IMAGE_PIXELS,
        "gs_substitute": settings.BARCODE_GS_SUBSTITUTE,
    }
    patient = scan_resolve(request.patient, **limits)
    units = [scan_resolve(scan, **limits) for scan in request.medications]
    witness = scan_resolve(request.witness, **limits) if request.witness is not None else None
    # One image showing two wristbands (or two badges) must never pick one of them silently.
    for slot, scan, kind in (("patient", patient, "wristband"), ("witness", witness, "badge")):
        if scan is not None and scan.distinct(kind) > 1:
            raise ApplicationError(
                f"The {slot} image shows more than one {kind}: scan only one.",
                code="AMBIGUOUS_SCAN",
                status=422,
            )
    return patient, units, witness


def _event(
    *,
    performer,
    request: CheckRequest,
    purpose,
    scans,
    result=None,
    context=None,
    administration=None,
):
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
    patient: ResolvedScan, units: list[ResolvedScan], witness: ResolvedScan | None
) -> list[dict]:
    scans = [patient.audit("patient"), *(unit.audit("medication") for unit in units)]
    if witness is not None:
        scans.append(witness.audit("witness"))
    return scans


def finding_as_dict(finding: rules.Finding, language: str) -> dict:
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


def administration_check(*, performer, request: CheckRequest) -> CheckOutcome:
    """Run the rules on what the cart scanned. Writes only the scan event."""
    patient, units, witness = scans_resolve(request)
    context = check_context_build(
        performer=performer,
        cart_ward_code=request.ward_code,
        patient_scan=patient,
        unit_scans=units,
        witness_scan=witness,
        witness_pin=request.witness_pin,
        requested_order_id=request.order_id,
    )
    result = rules.check_administration(context.facts)
    event = _event(
        performer=performer,
        request=request,
        purpose=ScanPurpose.CHECK,
        scans=_audit_scans(patient, units, witness),
        result=result,
        context=context,
    )
    return CheckOutcome(result=result, context=context, event=event)


def _lock_patient_and_orders(patient_scan: ResolvedScan) -> None:
    """Fixed lock order for every bedside write: the patient row, then the open admission's orders
    by primary key. Reprints lock the patient and status changes lock the order, so a record
    never interleaves with either, and two carts on one patient take turns."""
    band = patient_scan.first("wristband")
    if band is not None:
        bedside_sql.lock_patient_and_open_orders(band.payload.gsrn)


def _missing_overrides(result: rules.CheckResult, overrides: list[OverrideInput]) -> list[dict]:
    given = {override.code: override for override in overrides}
    missing = []
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


def _recorded_amount(
    result: rules.CheckResult, order: MedicationOrder, amount: Quantity | None
) -> Quantity:
    """What goes on the record, in the order's unit. A short scan records the share of the ordered
    dose that the rules found scanned (they compare through the product's strength, so a 10 mL
    order of a 250 mg/5 mL syrup scanned as 250 mg records 5 mL)."""
    ordered = Quantity(order.dose_value, order.dose_unit)
    if amount is not None:
        return amount.to(order.dose_unit)
    summary = result.dose_summary
    if summary is not None and summary.comparison == "less" and summary.scanned is not None:
        share = summary.scanned.to(summary.ordered.unit).value / summary.ordered.value
        return Quantity(order.dose_value * share, order.dose_unit)
    return ordered


def administration_record(
    *,
    performer,
    request: CheckRequest,
    overrides: list[OverrideInput] = (),
    amount: Quantity | None = None,
    route: str = "",
    site: str = "",
) -> RecordOutcome:
    """Record a dose given. Call inside `transaction.atomic(durable=True)`: the rules run again on
    fresh, locked rows; the client's earlier check is never trusted."""
    if not performer.may_administer:
        raise PerformerNotAllowedError("Only nurses may record administrations.")
    patient_scan, units, witness = scans_resolve(request)
    if not units:
        raise ApplicationError("Scan at least one medication.", code="NO_MEDICATION_SCANNED")
    _lock_patient_and_orders(patient_scan)
    context = check_context_build(
        performer=performer,
        cart_ward_code=request.ward_code,
        patient_scan=patient_scan,
        unit_scans=units,
        witness_scan=witness,
        witness_pin=request.witness_pin,
        requested_order_id=request.order_id,
        amount=amount,
    )
    result = rules.check_administration(context.facts)
    scans = _audit_scans(patient_scan, units, witness)

    def refuse(code: str, message: str, details: dict | None = None) -> RecordOutcome:
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
        )

    if "ALREADY_GIVEN" in result.codes():
        return refuse("ALREADY_GIVEN", "This dose has already been given.")
    if result.verdict == "stop" or result.order is None:
        return refuse("CHECK_STOP", "The check says STOP: this dose cannot be recorded.")
    missing = _missing_overrides(result, list(overrides))
    if missing:
        return refuse(
            "OVERRIDE_REQUIRED", "Every warning needs an override reason.", {"missing": missing}
        )
    order = context.orders[result.order.id]
    if amount is not None and not _comparable(amount, order.dose_unit):
        return refuse(
            "AMOUNT_UNIT_MISMATCH", f"Give the amount in {order.dose_unit}, the unit of the order."
        )
    if route and route != order.route:
        return refuse("ROUTE_NOT_ORDERED", f"The order is for route {order.route}, not {route}.")

    # The context's dose was read after the patient and order locks, which every writer of a
    # dose's state holds too; its own lock is for writers outside the bedside.
    dose = context.doses[result.dose.id] if result.dose is not None else None
    replaces_id = bedside_sql.dose_lock(dose.pk) if dose is not None else None
    recorded = _recorded_amount(result, order, amount)
    try:
        with transaction.atomic():
            chosen = {override.code: override for override in overrides}
            # Built in memory and written once: the record is hashed with its units and overrides.
            administration = Administration(
                patient=context.patient,
                admission=context.admission,
                order=order,
                scheduled_dose=dose,
                status=AdministrationStatus.COMPLETED,
                performer=performer,
                witness=_valid_witness(context, performer),
                administered_at=timezone.now(),
                amount=recorded.value,
                unit=recorded.unit,
                route=order.route,
                site=site[:60],
                is_partial=_is_partial(recorded, order),
                cart=request.cart[:60],
                replaces_id=replaces_id,
            )
            administration_append(
                administration,
                units=[
                    AdministeredUnit(
                        package=context.packages[unit.payload.gtin],
                        gtin=unit.payload.gtin,
                        lot=unit.payload.lot or "",
                        expiry=unit.payload.expiry,
                        serial=unit.payload.serial or "",
                        scanned=not keyed,
                    )
                    for unit, keyed in zip(context.units, context.unit_keyed, strict=True)
                ],
                overrides=[
                    Override(
                        finding_code=finding.code,
                        reason=chosen[finding.code].reason,
                        comment=chosen[finding.code].comment[:500],
                    )
                    for finding in result.warnings()
                ],
            )
    except IntegrityError:
        # Only reachable if the locks above failed to serialise us; the constraints still hold.
        return refuse("ALREADY_GIVEN", "This dose or unit has already been recorded.")
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
    return RecordOutcome(result=result, context=context, administration=administration)


def _valid_witness(context: CheckContext, performer):
    """A witness goes on the record only if the rules would accept them as one."""
    witness = context.witness
    if (
        witness is None
        or not context.facts.witness_pin_ok
        or not witness.may_administer
        or witness.pk == performer.pk
    ):
        return None
    return witness


def _comparable(quantity: Quantity, unit: str) -> bool:
    try:
        quantity.to(unit)
    except IncomparableUnits:
        return False
    return True


def _is_partial(recorded: Quantity, order: MedicationOrder) -> bool:
    try:
        return recorded.to(order.dose_unit).value < order.dose_value
    except IncomparableUnits:
        return False


def administration_not_given(
    *,
    performer,
    patient: ScanInput,
    order: MedicationOrder,
    reason: str,
    comment: str = "",
    scheduled_dose: ScheduledDose | None = None,
    cart: str = "",
) -> Administration:
    """Document a refused, held or otherwise not-given dose (the patient's band proves who)."""
    if not performer.may_administer:
        raise PerformerNotAllowedError("Only nurses may document doses.")
    if reason not in NotGivenReason.values:
        raise ApplicationError(
            "Unknown reason.", code="INVALID_REASON", details={"allowed": NotGivenReason.values}
        )
    if reason == NotGivenReason.OTHER and not comment.strip():
        raise ApplicationError("A comment is required for 'other'.", code="COMMENT_REQUIRED")
    request = CheckRequest(patient=patient, cart=cart)
    patient_scan, _units, _witness = scans_resolve(request)
    _lock_patient_and_orders(patient_scan)
    band = patient_scan.first("wristband")
    identified = (
        band is not None
        and order.admission.discharged_at is None
        and order.admission.wristbands.filter(
            patient__gsrn=band.payload.gsrn, instance=band.payload.instance, voided_at__isnull=True
        ).exists()
    )
    if not identified:
        raise ApplicationError(
            "Scan the active wristband of this order's patient.",
            code="PATIENT_NOT_IDENTIFIED",
            status=422,
        )
    if scheduled_dose is not None:
        scheduled_dose = ScheduledDose.objects.select_for_update(of=("self",), no_key=True).get(
            pk=scheduled_dose.pk
        )
        if scheduled_dose.order_id != order.pk:
            raise ApplicationError(
                "That dose belongs to another order.", code="DOSE_NOT_OF_ORDER", status=422
            )
        if counting_given(scheduled_dose.administrations.all()).exists():
            raise ApplicationError(
                "This dose has already been given.", code="ALREADY_GIVEN", status=409
            )
        # One note per dose: a double tap must not send two not-given messages downstream.
        if scheduled_dose.administrations.filter(
            status=AdministrationStatus.NOT_DONE, correction__isnull=True
        ).exists():
            raise ApplicationError(
                "This dose is already documented as not given.",
                code="ALREADY_DOCUMENTED",
                status=409,
            )
        if scheduled_dose.state == DoseState.CANCELLED:
            raise ApplicationError(
                "This dose was cancelled with its order.", code="DOSE_CANCELLED", status=409
            )
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
        )
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


def administration_correct(
    *,
    performer,
    administration: Administration,
    reason: str,
    comment: str = "",
    replacement_amount: Quantity | None = None,
) -> tuple[Administration, Administration | None]:
    """Withdraw a record as entered in error (a new row), optionally with a corrected replacement."""
    if not (
        performer.may_administer
        and (performer.pk == administration.performer_id or performer.has_role(Role.CHARGE_NURSE))
    ):
        raise PerformerNotAllowedError(
            "Only the nurse who recorded it or a charge nurse may correct a record."
        )
    if reason not in CorrectionReason.values:
        raise ApplicationError(
            "Unknown reason.", code="INVALID_REASON", details={"allowed": CorrectionReason.values}
        )
    if reason == CorrectionReason.OTHER and not comment.strip():
        raise ApplicationError("A comment is required for 'other'.", code="COMMENT_REQUIRED")
    Patient.objects.select_for_update(no_key=True).get(pk=administration.patient_id)
    original = Administration.objects.select_for_update(of=("self",), no_key=True).get(
        pk=administration.pk
    )
    if original.status == AdministrationStatus.ENTERED_IN_ERROR:
        raise ApplicationError(
            "A correction cannot itself be corrected.", code="NOT_CORRECTABLE", status=409
        )
    if Administration.objects.filter(corrects=original).exists():
        raise ApplicationError(
            "This record was already corrected.", code="ALREADY_CORRECTED", status=409
        )
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
    if replacement_amount is not None:
        if original.status != AdministrationStatus.COMPLETED:
            raise ApplicationError(
                "Only a given record can be replaced.", code="NOT_REPLACEABLE", status=422
            )
        if replacement_amount.value <= 0:
            raise ApplicationError("The amount must be positive.", code="INVALID_AMOUNT")
        order = original.order
        replacement = administration_append(
            Administration(
                patient=original.patient,
                admission=original.admission,
                order=order,
                scheduled_dose=original.scheduled_dose,
                status=AdministrationStatus.COMPLETED,
                performer=original.performer,
                witness=original.witness,
                administered_at=original.administered_at,
                amount=replacement_amount.value,
                unit=replacement_amount.unit,
                route=original.route,
                site=original.site,
                is_partial=_is_partial(replacement_amount, order),
                reason=reason,
                comment=comment.strip()[:500],
                cart=original.cart,
                replaces=original,
            )
        )
        administration_recorded.send(sender=Administration, administration=replacement)
    if original.scheduled_dose_id is not None:
        _dose_state_refresh(original.scheduled_dose_id)
    return withdrawal, replacement


def _dose_state_refresh(dose_id: int) -> None:
    """A dose's state follows the records that still count: given, else not given, else scheduled."""
    records = Administration.objects.filter(scheduled_dose_id=dose_id, correction__isnull=True)
    if records.filter(status=AdministrationStatus.COMPLETED).exists():
        state = DoseState.GIVEN
    elif records.filter(status=AdministrationStatus.NOT_DONE).exists():
        state = DoseState.NOT_GIVEN
    else:
        state = DoseState.SCHEDULED
    ScheduledDose.objects.filter(pk=dose_id).exclude(state=DoseState.CANCELLED).update(state=state)
