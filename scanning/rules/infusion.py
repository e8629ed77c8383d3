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

from decimal import Decimal

from scanning.dosemath import format_decimal
from scanning.rules.codes import FindingCode
from scanning.rules.core import Findings, clock
from scanning.rules.facts import CheckFacts, InfusionFacts, OrderFacts, ScannedUnit

HANG = "hang"
RATE_CHANGE = "rate_change"
PAUSE = "pause"
RESUME = "resume"
STOP = "stop"
COMPLETE = "complete"
ACTIONS = (HANG, RATE_CHANGE, PAUSE, RESUME, STOP, COMPLETE)
# The actions that set the bag running at a rate, and so are checked against the order.
RUNNING_ACTIONS = (HANG, RATE_CHANGE, RESUME)

RUNNING, PAUSED, ENDED = "running", "paused", "ended"


def check_hang(
    facts: CheckFacts, order: OrderFacts, units: list[tuple[int, ScannedUnit]], out: Findings
) -> None:
    """A new bag for `order` (chosen and usable): its serial, the line, the rate."""
    infusion = facts.infusion
    unserialised = [index for index, unit in units if not unit.serial]
    if unserialised:
        out.add(FindingCode.INFUSION_BAG_NOT_SERIALISED, units=unserialised)
    on_line = [
        bag
        for bag in infusion.infusing
        if bag.order_id == order.id and bag.line == infusion.line and bag.state != ENDED
    ]
    if len(on_line) >= order.max_concurrent_bags:
        out.add(
            FindingCode.INFUSION_ALREADY_RUNNING,
            {"running": len(on_line), "line": infusion.line},
            order_id=order.id,
            line=infusion.line,
            running=[bag.administration_id for bag in on_line],
            max_concurrent_bags=order.max_concurrent_bags,
        )
    check_rate(infusion, order, out)


def check_bag_event(facts: CheckFacts, out: Findings) -> OrderFacts | None:
    """An action on a hung bag, for an identified patient in care: the bag's patient, order and
    state. Returns the bag's order when the bag is this patient's."""
    infusion = facts.infusion
    bag = infusion.bag
    if bag is None:
        out.add(FindingCode.INFUSION_BAG_NOT_HUNG, action=infusion.action)
        return None
    if bag.patient_id != facts.patient.id:
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


def volume_infused(
    *, rate_segments: list[tuple[Decimal, float]], volume_ml: Decimal | None
) -> Decimal:
    """The volume a bag gave: the sum of rate × hours over its running segments, never more than
    the bag held. Reported when the bag is completed or stopped (the nurse may say otherwise)."""
    total = sum((rate * Decimal(str(hours)) for rate, hours in rate_segments), Decimal(0))
    if volume_ml is not None:
        total = min(total, volume_ml)
    return total.quantize(Decimal("0.1"))
