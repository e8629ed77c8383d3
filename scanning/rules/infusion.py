"""Infusion: bags and syringes that run over time. Hanging a bag is a record like any dose (the
other areas run first: the bag of another patient is NOT_ORDERED, a discontinued or expired order
says so); this area adds what a bag needs. Every later event (rate change, pause, resume, stop,
complete) scans the wristband and the bag again and runs only identity, entry and this area.

Decisions DESIGN.md leaves open, each pinned by a test in tests/scanning/rules/test_infusion.py:

- A bag is followed by its serial: a bag for an infusion order without one is a STOP
  (INFUSION_BAG_NOT_SERIALISED); the pharmacy's bag label carries one, a manufacturer's bag gets
  its serial scanned.
- "Only one bag per order and line": a new bag of an order on a line where as many of the
  order's bags as it allows (`max_concurrent_bags`, default 1) have been hung and not ended is a
  STOP. A paused bag still counts: it is still on the line. Another order's bag on the same line
  does not count (a piggyback of another drug is its own order).
- The cart's check before a hang (PREVIEW) does not know the line yet: a running bag of the
  order on any line counts, and only infusion orders are looked at.
- The rate: equal to the ordered rate (or the order's volume over its duration) is silent; any
  other rate is INFUSION_RATE_OUTSIDE_ORDER (WARN); above `factor` × ordered or below ordered /
  `factor` it is INFUSION_RATE_FAR_OUTSIDE_ORDER (STOP). Exactly the factor is still a WARN. An
  order without a rate (an antibiotic mini-bag "over 30 minutes" without volume) is not checked.
- A bag's order that is no longer active (discontinued, on hold, expired) may be paused, stopped
  or completed, never sped up or resumed (INFUSION_ORDER_ENDED).
- An ended bag can do nothing more (INFUSION_BAG_ENDED); a paused bag is resumed before its rate
  changes, and a running bag cannot be resumed (INFUSION_BAG_STATE).

Words and severities: catalogue.py. Tests: tests/scanning/rules/test_infusion.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from scanning.dosemath import format_decimal
from scanning.rules.codes import FindingCode
from scanning.rules.core import Findings, clock
from scanning.rules.facts import CheckFacts, InfusionFacts, OrderFacts, ScannedUnit

HANG = "hang"
# The cart's check before a hang: the line is not chosen yet, so a bag of the order running on
# any line counts; an order that is no infusion is not this area's.
PREVIEW = "preview"
RATE_CHANGE = "rate_change"
PAUSE = "pause"
RESUME = "resume"
STOP = "stop"
COMPLETE = "complete"
ACTIONS = (HANG, PREVIEW, RATE_CHANGE, PAUSE, RESUME, STOP, COMPLETE)
# The actions that set the bag running at a rate, and so are checked against the order.
RUNNING_ACTIONS = (HANG, RATE_CHANGE, RESUME)

RUNNING, PAUSED, ENDED = "running", "paused", "ended"


def check_hang(
    infusion: InfusionFacts,
    order: OrderFacts,
    units: list[tuple[int, ScannedUnit]],
    out: Findings,
) -> None:
    """A new bag for `order` (chosen and usable): its serial, the line, the rate."""
    if infusion.action == PREVIEW and order.infusion_rate_ml_h is None:
        return
    unserialised = [index for index, unit in units if not unit.serial]
    if unserialised:
        out.add(FindingCode.INFUSION_BAG_NOT_SERIALISED, units=unserialised)
    on_line = [
        bag
        for bag in infusion.infusing
        if bag.order_id == order.id
        and (bag.line == infusion.line or infusion.action == PREVIEW)
        and bag.state != ENDED
    ]
    if len(on_line) >= order.max_concurrent_bags:
        out.add(
            FindingCode.INFUSION_ALREADY_RUNNING,
            {
                "running": len(on_line),
                "line": infusion.line or ", ".join(sorted({bag.line for bag in on_line})),
            },
            order_id=order.id,
            line=infusion.line,
            running=[bag.administration_id for bag in on_line],
            max_concurrent_bags=order.max_concurrent_bags,
        )
    check_rate(infusion, order, out)


def check_bag_event(facts: CheckFacts, infusion: InfusionFacts, out: Findings) -> OrderFacts | None:
    """An action on a hung bag, for an identified patient in care: the bag's patient, order and
    state. Returns the bag's order when the bag is this patient's."""
    bag = infusion.bag
    if bag is None:
        out.add(FindingCode.INFUSION_BAG_NOT_HUNG, action=infusion.action)
        return None
    if facts.patient is None or bag.patient_id != facts.patient.id:
        out.add(FindingCode.INFUSION_BAG_OTHER_PATIENT, administration_id=bag.administration_id)
        return None
    order = next((o for o in facts.orders if o.id == bag.order_id), None)
    if order is None or (
        facts.requested_order_id is not None and facts.requested_order_id != bag.order_id
    ):
        out.add(
            FindingCode.INFUSION_BAG_OTHER_ORDER,
            {"medication": order.medication.name if order is not None else "?"},
            administration_id=bag.administration_id,
            order_id=bag.order_id,
        )
        return None
    if bag.state == ENDED:
        out.add(
            FindingCode.INFUSION_BAG_ENDED,
            {"ended_at": clock(bag.ended_at or facts.now, facts)},
            administration_id=bag.administration_id,
        )
        return order
    if infusion.action in (RATE_CHANGE, PAUSE) and bag.state == PAUSED:
        out.add(FindingCode.INFUSION_BAG_STATE, variant=PAUSED, action=infusion.action)
    elif infusion.action == RESUME and bag.state == RUNNING:
        out.add(FindingCode.INFUSION_BAG_STATE, variant=RUNNING, action=infusion.action)
    if infusion.action in RUNNING_ACTIONS:
        if not _active(order, facts):
            out.add(FindingCode.INFUSION_ORDER_ENDED, order_id=order.id, status=order.status)
        check_rate(infusion, order, out)
    return order


def check_rate(infusion: InfusionFacts, order: OrderFacts, out: Findings) -> None:
    ordered = order.infusion_rate_ml_h
    rate = infusion.rate_ml_h
    if ordered is None or rate is None or rate == ordered:
        return
    factor = infusion.rate_stop_factor
    far = rate > ordered * factor or rate * factor < ordered
    words = {"rate": format_decimal(rate), "ordered": format_decimal(ordered)}
    data = {
        "rate_ml_h": format_decimal(rate),
        "ordered_rate_ml_h": format_decimal(ordered),
        "stop_factor": format_decimal(factor),
    }
    if far:
        out.add(FindingCode.INFUSION_RATE_FAR_OUTSIDE_ORDER, words, **data)
    else:
        out.add(FindingCode.INFUSION_RATE_OUTSIDE_ORDER, words, **data)


def _active(order: OrderFacts, facts: CheckFacts) -> bool:
    return (
        order.status == "active"
        and order.verified
        and order.start_at <= facts.now
        and (order.stop_at is None or facts.now < order.stop_at)
    )


@dataclass(frozen=True)
class BagLife:
    """Where a bag's life stands, read from its events in order."""

    state: str  # RUNNING | PAUSED | ENDED
    rate_ml_h: Decimal | None  # the running rate; None while paused or ended
    started_at: datetime
    ended_at: datetime | None
    # Running stretches so far: (rate, from, until); the last one open (until None) if running.
    segments: tuple[tuple[Decimal, datetime, datetime | None], ...]

    def volume_infused(self, *, until: datetime, volume_ml: Decimal | None) -> Decimal:
        """Rate × time over the running stretches up to `until`, never more than the bag held:
        what completing the bag reports unless the nurse reads another figure off the pump."""
        total = self._infused(until)
        if volume_ml is not None:
            total = min(total, volume_ml)
        return total.quantize(Decimal("0.1"))

    def _infused(self, until: datetime) -> Decimal:
        total = Decimal(0)
        for rate, since, end in self.segments:
            seconds = Decimal(((end or until) - since).total_seconds())
            total += rate * max(seconds, Decimal(0)) / 3600
        return total

    def expected_end(self, *, now: datetime, volume_ml: Decimal | None) -> datetime | None:
        """When the bag runs dry at its present rate (None if paused, ended or of no volume)."""
        if self.state != RUNNING or volume_ml is None or not self.rate_ml_h:
            return None
        # Past the end, `left` is negative: the end is in the past (overdue for a change).
        left = volume_ml - self._infused(now)
        return now + timedelta(hours=float(left / self.rate_ml_h))


# What each event does to the bag: (the state after it, whether it sets the rate).
_EVENTS = {
    "started": (RUNNING, True),
    "rate_changed": (RUNNING, True),
    "paused": (PAUSED, False),
    "resumed": (RUNNING, True),
    "completed": (ENDED, False),
    "stopped": (ENDED, False),
}


def bag_life(events: list[tuple[str, datetime, Decimal | None]]) -> BagLife:
    """The life of a bag from its events (kind, at, rate), oldest first; the first is "started".
    A resume without a rate runs at the rate before the pause."""
    segments: list[list[Any]] = []
    state, rate, ended_at = RUNNING, None, None
    for kind, at, event_rate in events:
        if segments and segments[-1][2] is None:
            segments[-1][2] = at
        state, sets_rate = _EVENTS[kind]
        if sets_rate:
            rate = event_rate if event_rate is not None else rate
        if state == RUNNING and rate is not None:
            segments.append([rate, at, None])
        if state == ENDED:
            ended_at = at
    return BagLife(
        state=state,
        rate_ml_h=rate if state == RUNNING else None,
        started_at=events[0][1],
        ended_at=ended_at,
        segments=tuple(tuple(segment) for segment in segments),
    )
