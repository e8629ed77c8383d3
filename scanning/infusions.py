"""The life of an infusion bag at the bedside: hung (an administration, through the same write
path, rules, locks and audit as every dose), then rate changed, paused, resumed, completed or
stopped: each a new append-only, hash-chained InfusionEvent, never an edit.

Every write here runs inside the caller's `transaction.atomic(durable=True)` (the API's
idempotent_call) and takes the bedside locks in their order (scanning/locks.py): the patient, then
her open orders. Two carts acting on one bag take turns at the patient's lock; the second finds
the bag as the first left it, and the database's partial unique constraints (a bag starts once,
ends once) refuse what a missed lock would let through.

Tests: tests/scanning/test_infusions.py (SQLite and PostgreSQL, races included).
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from hospital.exceptions import ApplicationError
from scanning import rules
from scanning.chains import infusion_event_append
from scanning.models import AccessReason, InfusionEvent, InfusionEventKind
from scanning.refusals import InfusionBagEndedError
from scanning.rules import infusion as bag_rules
from scanning.selectors import (
    Bag,
    InfusionAction,
    bag_volume_ml,
    bags_read,
    check_context_build,
)
from scanning.services import (
    CheckRequest,
    OverrideInput,
    PerformerNotAllowedError,
    RecordOutcome,
    _break_glass,
    _lock_patient_and_orders,
    _missing_overrides,
    administration_record,
    finding_as_dict,
    scans_resolve,
)
from scanning.signals import infusion_event_recorded

EVENT_KINDS = {
    bag_rules.RATE_CHANGE: InfusionEventKind.RATE_CHANGED,
    bag_rules.PAUSE: InfusionEventKind.PAUSED,
    bag_rules.RESUME: InfusionEventKind.RESUMED,
    bag_rules.STOP: InfusionEventKind.STOPPED,
    bag_rules.COMPLETE: InfusionEventKind.COMPLETED,
}
MAX_LINE_LENGTH = 20


def _positive_rate(rate: Decimal | None, *, required: bool) -> Decimal | None:
    if rate is None:
        if required:
            raise ApplicationError(
                gettext("Give the rate in mL/h."),
                code="RATE_REQUIRED",
                details={"field": "rate_ml_h"},
            )
        return None
    if not rate > 0:
        raise ApplicationError(
            gettext("The rate must be above 0 mL/h."),
            code="INVALID_RATE",
            details={"field": "rate_ml_h"},
        )
    return rate


def infusion_hang(
    *,
    performer,
    request: CheckRequest,
    rate_ml_h: Decimal,
    line: str,
    overrides: list[OverrideInput] = (),
) -> RecordOutcome:
    """Hang a bag and start it: the scanned bag is recorded as an administration of its order
    (every bedside rule, and the infusion area's: serial, one bag per line, the ordered rate),
    with its started event."""
    rate = _positive_rate(rate_ml_h, required=True)
    line = (line or "").strip()
    if not line or len(line) > MAX_LINE_LENGTH:
        raise ApplicationError(
            gettext("Name the line the bag runs on (at most %(max)d characters).")
            % {"max": MAX_LINE_LENGTH},
            code="LINE_REQUIRED",
            details={"field": "line"},
        )
    if len(request.medications) != 1:
        raise ApplicationError(
            gettext("Scan exactly one bag."), code="ONE_BAG", details={"field": "medications"}
        )
    return administration_record(
        performer=performer,
        request=request,
        overrides=list(overrides),
        infusion=InfusionAction(action=bag_rules.HANG, rate_ml_h=rate, line=line),
    )


@dataclass
class BagEventOutcome:
    event: InfusionEvent | None
    bag: Bag | None  # the bag after the event
    result: rules.CheckResult | None
    # A break-the-glass refused: the caller commits its security event and answers with it.
    refusal: ApplicationError | None = None


def infusion_event_record(
    *,
    performer,
    request: CheckRequest,
    action: str,
    rate_ml_h: Decimal | None = None,
    volume_infused_ml: Decimal | None = None,
    override: OverrideInput | None = None,
) -> BagEventOutcome:
    """Change the rate of, pause, resume, stop or complete the bag scanned (the band and the bag,
    `request.medications`, proving which). A STOP refuses (422 CHECK_STOP); a rate outside the
    order needs its override (422 OVERRIDE_REQUIRED); a bag already taken down is a 409
    (INFUSION_BAG_ENDED). Completing or stopping reports the volume infused: the nurse's reading
    of the pump, else the rate × time of the bag's running stretches, at most the bag's volume."""
    if not performer.may_administer:
        raise PerformerNotAllowedError(gettext("Only nurses may act on infusions."))
    if action not in EVENT_KINDS:
        raise ApplicationError(
            gettext("Unknown action."),
            code="INVALID_ACTION",
            details={"allowed": list(EVENT_KINDS)},
        )
    rate = _positive_rate(rate_ml_h, required=action == bag_rules.RATE_CHANGE)
    if rate is not None and action not in (bag_rules.RATE_CHANGE, bag_rules.RESUME):
        raise ApplicationError(
            gettext("A rate is given only when changing the rate or resuming."),
            code="RATE_NOT_EXPECTED",
            details={"field": "rate_ml_h"},
        )
    ends = action in (bag_rules.STOP, bag_rules.COMPLETE)
    if volume_infused_ml is not None and (not ends or volume_infused_ml < 0):
        raise ApplicationError(
            gettext("The volume infused is given when the bag is taken down, and is not negative."),
            code="INVALID_VOLUME",
            details={"field": "volume_infused_ml"},
        )
    if len(request.medications) != 1:
        raise ApplicationError(
            gettext("Scan the wristband and the bag."),
            code="ONE_BAG",
            details={"field": "medications"},
        )
    patient_scan, units, _witness = scans_resolve(request)
    _lock_patient_and_orders(patient_scan)
    context = check_context_build(
        performer=performer,
        cart_ward_code=request.ward_code,
        patient_scan=patient_scan,
        unit_scans=units,
        requested_order_id=request.order_id,
        infusion=InfusionAction(action=action, rate_ml_h=rate),
    )
    # Another ward's patient: logged as for a dose (a typed band or too many patients refused).
    refused = _break_glass(
        context,
        performer=performer,
        patient_scan=patient_scan,
        reason=AccessReason.ADMINISTRATION,
        cart=request.cart,
    )
    if refused is not None:
        return BagEventOutcome(event=None, bag=None, result=None, refusal=refused)
    result = rules.check_administration(context.facts)
    # In the nurse's language: the cart shows these findings as they come.
    language = "en" if (translation.get_language() or "vi").startswith("en") else "vi"
    findings = [finding_as_dict(finding, language) for finding in result.findings]
    if "INFUSION_BAG_ENDED" in result.codes():
        raise InfusionBagEndedError(
            gettext("This bag was already taken down: nothing more is recorded on it."),
            details={"findings": findings},
        )
    if result.verdict == "stop" or context.bag is None:
        raise ApplicationError(
            gettext("The check says STOP: this cannot be recorded."),
            code="CHECK_STOP",
            status=422,
            details={"findings": findings, "verdict": result.verdict},
        )
    missing = _missing_overrides(result, [override] if override is not None else [])
    if missing:
        raise ApplicationError(
            gettext("Every warning needs an override reason."),
            code="OVERRIDE_REQUIRED",
            status=422,
            details={"missing": missing, "findings": findings, "verdict": result.verdict},
        )
    bag = bags_read([context.bag])[0]
    now = timezone.now()
    if ends and volume_infused_ml is None:
        volume_infused_ml = bag.life.volume_infused(
            until=now, volume_ml=bag_volume_ml(bag.administration)
        )
    chosen = override if result.warnings() else None
    try:
        with transaction.atomic():
            event = infusion_event_append(
                InfusionEvent(
                    administration=context.bag,
                    kind=EVENT_KINDS[action],
                    at=now,
                    nurse=performer,
                    rate_ml_h=rate,
                    volume_infused_ml=volume_infused_ml if ends else None,
                    cart=request.cart[:60],
                    override_reason=chosen.reason if chosen else "",
                    override_comment=chosen.comment.strip()[:500] if chosen else "",
                )
            )
    except IntegrityError as error:
        # The constraint behind the lock: a bag ends once.
        raise InfusionBagEndedError(
            gettext("This bag was already taken down: nothing more is recorded on it.")
        ) from error
    infusion_event_recorded.send(sender=InfusionEvent, event=event)
    return BagEventOutcome(event=event, bag=bags_read([context.bag])[0], result=result)
