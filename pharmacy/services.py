from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from hospital.exceptions import ApplicationError
from hospital.models import User
from pharmacy.models import (
    AllergyAcknowledgement,
    AllergyAcknowledgementReason,
    DoseState,
    LotRecall,
    Medication,
    MedicationOrder,
    OrderStatus,
    ScheduledDose,
    ScheduleKind,
    VerbalKind,
    route_allowed,
)
from pharmacy.schedule import due_times
from pharmacy.selectors import allergy_matches
from wards.models import Admission

# How far back a rolling generation reaches for orders that started long ago: enough for
# the overdue and missed lists, not a whole admission's history.
SCHEDULE_LOOKBACK = timedelta(hours=24)


class OrderStateError(ApplicationError):
    code = "ORDER_STATE"
    status = 409


def _order_for_update(order: MedicationOrder) -> MedicationOrder:
    return MedicationOrder.objects.select_for_update(of=("self",), no_key=True).get(pk=order.pk)


@dataclass(frozen=True)
class AllergyAcknowledgementInput:
    reason: str
    comment: str = ""


@transaction.atomic
def order_verify(
    *,
    order: MedicationOrder,
    pharmacist: User,
    reviewed_version: int | None = None,
    allergy_acknowledgement: AllergyAcknowledgementInput | None = None,
) -> MedicationOrder:
    """Verify what the pharmacist reviewed: `reviewed_version` is the order's latest history id
    on the page they read; if anyone changed the order since, nothing is verified.

    An order whose substance or class the patient is documented as allergic to is verified only
    with `allergy_acknowledgement` (a reason; "other" with words), recorded with who and when.
    An order by a route its medication cannot go by is never verified."""
    if not pharmacist.has_role("pharmacist"):
        raise ApplicationError(
            "Only a pharmacist can verify orders.", code="NOT_A_PHARMACIST", status=403
        )
    order = _order_for_update(order)
    if reviewed_version is not None and reviewed_version != order_version(order):
        raise OrderStateError(
            "The order was changed after it was opened for review.", code="ORDER_CHANGED"
        )
    # A verbal STAT order is active before verification (its dose may already be given): the
    # pharmacist verifies it afterwards all the same.
    awaiting = order.status == OrderStatus.PENDING_VERIFICATION or (
        order.status == OrderStatus.ACTIVE and order.verified_at is None
    )
    if not awaiting:
        raise OrderStateError(
            f"Only an order awaiting verification can be verified (it is {order.status})."
        )
    if not route_allowed(order.medication, order.route):
        raise ApplicationError(
            f"{order.medication.name} cannot be given by the {order.route} route.",
            code="ROUTE_NOT_ALLOWED",
            status=422,
        )
    conflicts = allergy_matches(order, list(order.admission.patient.allergies.order_by("pk")))
    acknowledgement = _check_acknowledgement(allergy_acknowledgement) if conflicts else None
    now = timezone.now()
    order.status = OrderStatus.ACTIVE
    order.verified_by = pharmacist
    order.verified_at = now
    order.status_changed_at = now
    order.status_changed_by = pharmacist
    order.save(
        update_fields=[
            "status",
            "verified_by",
            "verified_at",
            "status_changed_at",
            "status_changed_by",
        ]
    )
    if acknowledgement is not None:  # there were conflicts, and they are acknowledged
        AllergyAcknowledgement.objects.create(
            order=order,
            allergies=[
                {
                    "code": allergy.allergen_code,
                    "name": allergy.allergen_name,
                    "severity": allergy.severity,
                    "reaction": allergy.reaction,
                }
                for allergy in conflicts
            ],
            reason=acknowledgement.reason,
            comment=acknowledgement.comment.strip(),
            acknowledged_by=pharmacist,
            acknowledged_at=now,
        )
    scheduled_doses_generate(order=order)
    return order


def _check_acknowledgement(
    acknowledgement: AllergyAcknowledgementInput | None,
) -> AllergyAcknowledgementInput:
    if acknowledgement is None or not acknowledgement.reason:
        raise ApplicationError(
            "The patient is allergic to this order's substance or class: acknowledge it with a "
            "reason to verify.",
            code="ALLERGY_ACKNOWLEDGEMENT_REQUIRED",
            status=422,
        )
    if acknowledgement.reason not in AllergyAcknowledgementReason.values:
        raise ApplicationError(
            "Unknown reason.",
            code="INVALID_REASON",
            status=422,
            details={"allowed": AllergyAcknowledgementReason.values},
        )
    if acknowledgement.reason == AllergyAcknowledgementReason.OTHER and not (
        acknowledgement.comment.strip()
    ):
        raise ApplicationError("A comment is required for 'other'.", code="COMMENT_REQUIRED")
    return acknowledgement


@transaction.atomic
def order_hold(*, order: MedicationOrder, reason: str, by: User | None = None) -> MedicationOrder:
    order = _order_for_update(order)
    if order.status != OrderStatus.ACTIVE:
        raise OrderStateError("Only an active order can be put on hold.")
    return _order_set_status(order, OrderStatus.ON_HOLD, reason, by)


@transaction.atomic
def order_resume(
    *, order: MedicationOrder, reason: str = "", by: User | None = None
) -> MedicationOrder:
    order = _order_for_update(order)
    if order.status != OrderStatus.ON_HOLD:
        raise OrderStateError("Only an order on hold can be resumed.")
    return _order_set_status(order, OrderStatus.ACTIVE, reason, by)


@transaction.atomic
def order_discontinue(
    *, order: MedicationOrder, reason: str, by: User | None = None
) -> MedicationOrder:
    order = _order_for_update(order)
    if order.status in (OrderStatus.DISCONTINUED, OrderStatus.COMPLETED):
        raise OrderStateError("This order has already ended.")
    order = _order_set_status(order, OrderStatus.DISCONTINUED, reason, by)
    order.scheduled_doses.filter(
        state=DoseState.SCHEDULED, due_at__gt=order.status_changed_at
    ).update(state=DoseState.CANCELLED)
    return order


# ------------------------------------------------------------------------------------------------
# Verbal and telephone orders, documented by a nurse at the bedside.

# What a nurse may document: a STAT dose (given at once, before verification), one dose at a
# time, or every N hours (both wait for the pharmacist like any order).
VERBAL_SCHEDULE_KINDS = (ScheduleKind.STAT, ScheduleKind.ONCE, ScheduleKind.INTERVAL)
# A one-time verbal order's time: from a little before now (the doctor said "at 14:00" at 14:05)
# to a day ahead.
VERBAL_ONCE_PAST = timedelta(hours=1)
VERBAL_ONCE_AHEAD = timedelta(hours=24)
# A co-signature is dated by when the prescriber signed: never after now, allowing clocks this far
# apart.
COSIGN_CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class VerbalOrderInput:
    admission: Admission
    medication: Medication
    dose_value: Decimal
    dose_unit: str
    route: str
    schedule_kind: str
    prescriber_name: str
    verbal_kind: str
    read_back_confirmed: bool
    start_at: datetime | None = None  # a one-time order's time; else now
    interval_hours: int | None = None
    instructions: str = ""


class VerbalOrderError(ApplicationError):
    code = "VERBAL_ORDER_INVALID"
    status = 400


def _verbal_medication_check(values: VerbalOrderInput) -> None:
    """The item can be given here: stocked at the patient's hospital, by the route ordered."""
    hospital = values.admission.ward.hospital
    if not values.medication.stocked_at(hospital.pk):
        raise VerbalOrderError(
            gettext("%(drug)s is not stocked at %(hospital)s: ask the prescriber for another.")
            % {"drug": values.medication.name, "hospital": hospital.name},
            code="NOT_STOCKED",
        )
    if not route_allowed(values.medication, values.route):
        raise VerbalOrderError(
            gettext("%(drug)s cannot be given by the %(route)s route.")
            % {"drug": values.medication.name, "route": values.route},
            code="ROUTE_NOT_ALLOWED",
        )


@transaction.atomic
def order_create_verbal(*, nurse: User, values: VerbalOrderInput) -> MedicationOrder:
    """A verbal or telephone order a nurse took from a prescriber at the bedside. It is flagged
    verbal and unsigned until the prescriber co-signs (order_cosign).

    Read-back is required: the nurse read the order back and the prescriber confirmed it. A STAT
    order is active at once, without the pharmacist: the doctor wants the dose now, and it goes
    through every bedside check like any dose (scanning/rules/order.py); the pharmacist verifies
    it afterwards. A one-time or every-N-hours order awaits the pharmacist like any order."""
    if not nurse.may_administer:
        raise ApplicationError(
            gettext("Only a nurse may document a verbal order."), code="NOT_A_NURSE", status=403
        )
    if values.read_back_confirmed is not True:
        raise VerbalOrderError(
            gettext("Read the order back to the prescriber and confirm it before documenting it."),
            code="READ_BACK_REQUIRED",
        )
    if values.verbal_kind not in VerbalKind.values:
        raise VerbalOrderError(gettext("The kind is verbal or telephone."))
    if values.schedule_kind not in VERBAL_SCHEDULE_KINDS:
        raise VerbalOrderError(
            gettext("A verbal order is STAT, once at a time, or every N hours."),
        )
    prescriber = values.prescriber_name.strip()
    if not prescriber:
        raise VerbalOrderError(
            gettext("Name the prescriber who gave the order."), code="PRESCRIBER_REQUIRED"
        )
    if values.admission.discharged_at is not None:
        raise VerbalOrderError(gettext("The patient is not admitted."), code="PATIENT_NOT_ADMITTED")
    _verbal_medication_check(values)
    now = timezone.now()
    start_at = now
    interval_hours = None
    stop_at = None
    if values.schedule_kind == ScheduleKind.ONCE:
        if values.start_at is None or not (
            now - VERBAL_ONCE_PAST <= values.start_at <= now + VERBAL_ONCE_AHEAD
        ):
            raise VerbalOrderError(
                gettext("A one-time order needs its time, from an hour ago to a day ahead."),
                code="INVALID_TIME",
            )
        start_at = values.start_at
    if values.schedule_kind == ScheduleKind.INTERVAL:
        interval_hours = values.interval_hours
        if interval_hours is None or not 1 <= interval_hours <= 168:
            raise VerbalOrderError(
                gettext("Every N hours: N from 1 to 168."), code="INVALID_INTERVAL"
            )
    if values.schedule_kind in (ScheduleKind.STAT, ScheduleKind.ONCE):
        # open for a day, so that a late dose is TOO_LATE at the bedside, not an inactive order
        stop_at = start_at + timedelta(hours=24)
    stat = values.schedule_kind == ScheduleKind.STAT
    order = MedicationOrder(
        admission=values.admission,
        hospital_id=values.admission.hospital_id,
        medication=values.medication,
        dose_value=values.dose_value,
        dose_unit=values.dose_unit,
        route=values.route,
        schedule_kind=values.schedule_kind,
        interval_hours=interval_hours,
        start_at=start_at,
        stop_at=stop_at,
        status=OrderStatus.ACTIVE if stat else OrderStatus.PENDING_VERIFICATION,
        status_changed_at=now if stat else None,
        status_changed_by=nurse if stat else None,
        prescriber_name=prescriber[:200],
        instructions=values.instructions.strip()[:300],
        verbal_kind=values.verbal_kind,
        read_back_confirmed=True,
        documented_by=nurse,
    )
    try:
        order.full_clean()
    except ValidationError as error:
        raise VerbalOrderError(
            gettext("The order is not valid."), details=error.message_dict, code="INVALID_INPUT"
        ) from error
    order.save()
    if stat:
        scheduled_doses_generate(order=order)
    return order


class CosignError(ApplicationError):
    code = "COSIGN_INVALID"
    status = 400


@transaction.atomic
def order_cosign(*, order: MedicationOrder, by: User, signed_at: datetime) -> MedicationOrder:
    """Record the prescriber's co-signature of a verbal order: `signed_at` is when the prescriber
    signed (on the paper chart or in the HIS), `by` who records it here (a pharmacist in
    /pharmacy/; prescribers do not log in to the bedside system). Once only: the order's row is
    locked, so of two people co-signing at once one records it and the other is told who did."""
    if not by.has_role("pharmacist"):
        raise ApplicationError(
            gettext("Only a pharmacist records a prescriber's co-signature."),
            code="NOT_A_PHARMACIST",
            status=403,
        )
    order = _order_for_update(order)
    if not order.is_verbal:
        raise OrderStateError(gettext("This is not a verbal order."), code="NOT_A_VERBAL_ORDER")
    if order.cosigned_at is not None:
        raise OrderStateError(
            gettext("The prescriber's co-signature is already recorded."),
            code="ALREADY_COSIGNED",
            details={
                "cosigned_at": timezone.localtime(order.cosigned_at).isoformat(),
                "recorded_by": order.cosign_recorded_by.get_username()
                if order.cosign_recorded_by
                else "",
            },
        )
    now = timezone.now()
    if signed_at > now + COSIGN_CLOCK_SKEW or signed_at < order.created_at - COSIGN_CLOCK_SKEW:
        raise CosignError(
            gettext("The prescriber signed after the order was documented and not in the future."),
            code="INVALID_COSIGN_TIME",
        )
    order.cosigned_at = min(signed_at, now)
    order.cosign_recorded_by = by
    order.cosign_recorded_at = now
    order.save(update_fields=["cosigned_at", "cosign_recorded_by", "cosign_recorded_at"])
    return order


def order_version(order: MedicationOrder) -> int | None:
    # django-simple-history's `history` manager is untyped: the history id is an integer.
    version: int | None = (
        order.history.order_by("-history_id").values_list("history_id", flat=True).first()
    )
    return version


def _order_set_status(
    order: MedicationOrder, status: str, reason: str, by: User | None
) -> MedicationOrder:
    # `by` is None only for changes made by the system itself (e.g. a feed from the EMR).
    if status in (OrderStatus.ON_HOLD, OrderStatus.DISCONTINUED) and not reason.strip():
        raise ApplicationError("A reason is required.", code="REASON_REQUIRED")
    order.status = status
    order.status_reason = reason.strip()
    order.status_changed_at = timezone.now()
    order.status_changed_by = by
    order.save(update_fields=["status", "status_reason", "status_changed_at", "status_changed_by"])
    return order


def scheduled_doses_generate(
    *, order: MedicationOrder | None = None, until: datetime | None = None
) -> int:
    """Materialise due doses up to `until` (default: the configured horizon). Safe to repeat:
    the unique (order, due_at) constraint drops what already exists. Returns rows attempted."""
    now = timezone.now()
    until = until or now + timedelta(hours=settings.DOSE_SCHEDULE_HORIZON_HOURS)
    orders = (
        [order]
        if order is not None
        else MedicationOrder.objects.exclude(
            status__in=[OrderStatus.DISCONTINUED, OrderStatus.COMPLETED]
        ).exclude(schedule_kind="prn")
    )
    tz = timezone.get_default_timezone()
    rows = []
    for each in orders:
        if each.status in (OrderStatus.DISCONTINUED, OrderStatus.COMPLETED):
            continue
        for due in due_times(
            kind=each.schedule_kind,
            times_of_day=each.times_of_day,
            interval_hours=each.interval_hours,
            start_at=each.start_at,
            stop_at=each.stop_at,
            window_start=max(each.start_at, now - SCHEDULE_LOOKBACK),
            window_end=until,
            tz=tz,
        ):
            rows.append(ScheduledDose(order=each, due_at=due))
    ScheduledDose.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    return len(rows)


@transaction.atomic
def lot_recall_record(*, recall: LotRecall, by: User) -> LotRecall:
    """Record a recall: from the commit on, the bedside rules refuse this GTIN + lot
    (LOT_RECALLED). Lots are compared as printed, so surrounding spaces are dropped."""
    recall.lot = recall.lot.strip()
    recall.recorded_by = by
    if recall.recalled_at is None:
        recall.recalled_at = timezone.now()
    recall.full_clean()
    recall.save()
    return recall


# ------------------------------------------------------------------------------------------------
# Orders from the hospital information system (HIS). The caller (interop.inbound) has mapped the
# HIS's drug code to a formulary item and checked route and timing.

ORDER_CLINICAL_FIELDS = (
    "medication",
    "dose_value",
    "dose_unit",
    "route",
    "schedule_kind",
    "times_of_day",
    "interval_hours",
    "prn_indication",
    "prn_min_interval_minutes",
    "prn_max_per_24h",
    "start_at",
    "stop_at",
    "prescriber_name",
    "instructions",
)


def _order_verified_by_his(order: MedicationOrder, verifier: User) -> None:
    """A site whose HIS verifies orders upstream takes them as verified (by `verifier`, the
    interface's own account), so the bedside may give them at once."""
    now = timezone.now()
    order.status = OrderStatus.ACTIVE
    order.verified_by = verifier
    order.verified_at = now
    order.status_changed_at = now
    order.status_changed_by = None


@transaction.atomic
def order_create_from_his(
    *, values: dict[str, object], verifier: User | None = None
) -> MedicationOrder:
    """A new order (ORC NW). Awaits the pharmacist unless `verifier` is given (site setting).
    It is in its admission's hospital, whose HIS issued its numbers (a hospital given in `values`
    must be that one: full_clean refuses another)."""
    order = MedicationOrder(status=OrderStatus.PENDING_VERIFICATION, **values)
    if order.hospital_id is None:
        order.hospital_id = order.admission.hospital_id
    if verifier is not None:
        _order_verified_by_his(order, verifier)
    order.full_clean()
    order.save()
    if order.status == OrderStatus.ACTIVE:
        scheduled_doses_generate(order=order)
    return order


@transaction.atomic
def order_change_from_his(
    *, order: MedicationOrder, values: dict[str, object], verifier: User | None = None
) -> MedicationOrder:
    """A changed order (ORC XO). A change to what was verified is verified again: the order goes
    back to the pharmacist (never keeping the old verification) and its future doses, projected
    from the old schedule, go; verifying it generates the new ones."""
    order = _order_for_update(order)
    if order.status in (OrderStatus.DISCONTINUED, OrderStatus.COMPLETED):
        raise OrderStateError("A discontinued or completed order cannot be changed.")
    changed = [name for name, value in values.items() if _field_value(order, name) != value]
    if not changed:
        return order
    for name in changed:
        setattr(order, name, values[name])
    clinical = [name for name in changed if name not in ("prescriber_name", "instructions")]
    fields = list(changed)
    if clinical:
        now = timezone.now()
        order.scheduled_doses.filter(
            state=DoseState.SCHEDULED, due_at__gt=now, administrations__isnull=True
        ).delete()
        if verifier is None:
            order.status = OrderStatus.PENDING_VERIFICATION
            order.verified_by = None
            order.verified_at = None
        else:
            held = order.status == OrderStatus.ON_HOLD
            _order_verified_by_his(order, verifier)
            if held:
                order.status = OrderStatus.ON_HOLD
        order.status_changed_at = now
        order.status_changed_by = None
        order.status_reason = "Changed by the HIS"
        fields += [
            "status",
            "verified_by",
            "verified_at",
            "status_changed_at",
            "status_changed_by",
            "status_reason",
        ]
    order.full_clean()
    order.save(update_fields=sorted(set(fields)))
    if order.status == OrderStatus.ACTIVE:
        scheduled_doses_generate(order=order)
    return order


def _field_value(order: MedicationOrder, name: str) -> object:
    if name == "medication":
        return order.medication
    return getattr(order, name)
