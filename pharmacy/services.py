from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from hospital.exceptions import ApplicationError
from pharmacy.models import DoseState, LotRecall, MedicationOrder, OrderStatus, ScheduledDose
from pharmacy.schedule import due_times

# How far back a rolling generation reaches for orders that started long ago: enough for
# the overdue and missed lists, not a whole admission's history.
SCHEDULE_LOOKBACK = timedelta(hours=24)


class OrderStateError(ApplicationError):
    code = "ORDER_STATE"
    status = 409


def _order_for_update(order: MedicationOrder) -> MedicationOrder:
    return MedicationOrder.objects.select_for_update(of=("self",), no_key=True).get(pk=order.pk)


@transaction.atomic
def order_verify(
    *, order: MedicationOrder, pharmacist, reviewed_version: int | None = None
) -> MedicationOrder:
    """Verify what the pharmacist reviewed: `reviewed_version` is the order's latest history id
    on the page they read; if anyone changed the order since, nothing is verified."""
    if not pharmacist.has_role("pharmacist"):
        raise ApplicationError(
            "Only a pharmacist can verify orders.", code="NOT_A_PHARMACIST", status=403
        )
    order = _order_for_update(order)
    if reviewed_version is not None and reviewed_version != order_version(order):
        raise OrderStateError(
            "The order was changed after it was opened for review.", code="ORDER_CHANGED"
        )
    if order.status != OrderStatus.PENDING_VERIFICATION:
        raise OrderStateError(
            f"Only an order awaiting verification can be verified (it is {order.status})."
        )
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
    scheduled_doses_generate(order=order)
    return order


@transaction.atomic
def order_hold(*, order: MedicationOrder, reason: str, by=None) -> MedicationOrder:
    order = _order_for_update(order)
    if order.status != OrderStatus.ACTIVE:
        raise OrderStateError("Only an active order can be put on hold.")
    return _order_set_status(order, OrderStatus.ON_HOLD, reason, by)


@transaction.atomic
def order_resume(*, order: MedicationOrder, reason: str = "", by=None) -> MedicationOrder:
    order = _order_for_update(order)
    if order.status != OrderStatus.ON_HOLD:
        raise OrderStateError("Only an order on hold can be resumed.")
    return _order_set_status(order, OrderStatus.ACTIVE, reason, by)


@transaction.atomic
def order_discontinue(*, order: MedicationOrder, reason: str, by=None) -> MedicationOrder:
    order = _order_for_update(order)
    if order.status in (OrderStatus.DISCONTINUED, OrderStatus.COMPLETED):
        raise OrderStateError("This order has already ended.")
    order = _order_set_status(order, OrderStatus.DISCONTINUED, reason, by)
    order.scheduled_doses.filter(
        state=DoseState.SCHEDULED, due_at__gt=order.status_changed_at
    ).update(state=DoseState.CANCELLED)
    return order


def order_version(order: MedicationOrder) -> int | None:
    return order.history.order_by("-history_id").values_list("history_id", flat=True).first()


def _order_set_status(order: MedicationOrder, status: str, reason: str, by) -> MedicationOrder:
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
def lot_recall_record(*, recall: LotRecall, by) -> LotRecall:
    """Record a recall: from the commit on, the bedside rules refuse this GTIN + lot
    (LOT_RECALLED). Lots are compared as printed, so surrounding spaces are dropped."""
    recall.lot = recall.lot.strip()
    recall.recorded_by = by
    if recall.recalled_at is None:
        recall.recalled_at = timezone.now()
    recall.full_clean()
    recall.save()
    return recall
