"""Order: which of the patient's orders the scan is for, its status and its route. Checked only
for a patient in care (identified, admitted, alive).

- One medication per check: the scanned products must share active substance and dose form (the
  order-matching key); otherwise MIXED_PRODUCTS and no order or dose findings.
- A product matches an order of the same substance and dose form; strength may differ. None:
  NOT_ORDERED (an extended-release form for an immediate-release order is NOT_ORDERED).
- Among matching orders a usable one (active, verified, start inclusive, stop exclusive) is used:
  the one the cart asked for (`requested_order_id`), else the one with the dose nearest to now,
  else the newest. A usable order other than the one asked for is ORDER_MISMATCH (WARN).
- With no usable order the most recent matching order gives the status finding (ORDER_ON_HOLD
  etc., not NOT_ORDERED), and still gets its route and dose findings; the schedule and PRN
  findings are only for a usable order.
- A verbal STAT order a nurse documented at the bedside is usable before the pharmacist
  verifies it: the doctor at the bedside wants the dose now, and hospitals give a STAT dose
  before verification (the pharmacist verifies it afterwards, in the usual queue). Every other
  verbal order (once at a time, every N hours) waits for verification like any order.
- VERBAL_ORDER_UNSIGNED (WARN) for a usable verbal order the prescriber has not co-signed more
  than `verbal_cosign_hours` after it was documented (exactly that long is in time). Not a STOP:
  the STAT dose the doctor just ordered is never held back for a signature, and refusing a later
  dose would leave the patient without treatment for want of paperwork; but past that time each
  dose needs an override reason, so it is recorded and counted, never silent. Before that time
  nothing is raised (the cart shows the order flagged "unsigned").
- ROUTE_MISMATCH when the ordered route is not listed for a scanned product or its dose form
  cannot go by it (pharmacy/routes.py): a formulary slip listing IV for a tablet still STOPs.

Words and severities: catalogue.py. Tests: tests/scanning/rules/test_order.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypedDict

from pharmacy.routes import form_allows_route, route_names
from scanning.rules.codes import FindingCode
from scanning.rules.core import Findings, Words, clock, iso, names
from scanning.rules.facts import CheckFacts, MedicationFacts, OrderFacts
from scanning.rules.timing import nearest_dose


@dataclass(frozen=True)
class OrderChoice:
    order: OrderFacts
    usable: bool  # False: the most recent matching order, reported with its status


def choose_order(
    facts: CheckFacts, medications: list[MedicationFacts], out: Findings
) -> OrderChoice | None:
    """The order the scanned medication is for; None (and the finding that says why) when the
    scan is of several medications or of one the patient has no order for."""
    kinds = list(dict.fromkeys((m.substance_code, m.dose_form) for m in medications))
    if len(kinds) > 1:
        out.add(
            FindingCode.MIXED_PRODUCTS,
            {"medications": names(medications)},
            medications=[m.name for m in medications],
        )
        return None
    substance, form = kinds[0]
    matching = [
        o
        for o in facts.orders
        if o.medication.substance_code == substance and o.medication.dose_form == form
    ]
    if not matching:
        out.add(
            FindingCode.NOT_ORDERED,
            {"medications": names(medications)},
            substance_code=substance,
            dose_form=form,
        )
        return None

    usable = [o for o in matching if _usable(o, facts.now)]
    if not usable:
        order = max(matching, key=lambda o: (o.created_at, o.id))
        _order_status_finding(facts, order, out)
        return OrderChoice(order, usable=False)
    order = _preferred(facts, usable)
    requested = facts.requested_order_id
    if requested is not None and requested != order.id:
        out.add(
            FindingCode.ORDER_MISMATCH,
            {"medication": order.medication.name, "order_id": order.id, "requested": requested},
            order_id=order.id,
            requested_order_id=requested,
        )
    check_verbal(facts, order, out)
    return OrderChoice(order, usable=True)


def check_verbal(facts: CheckFacts, order: OrderFacts, out: Findings) -> None:
    if not order.verbal or order.cosigned:
        return
    limit = timedelta(hours=facts.verbal_cosign_hours)
    if facts.now - order.created_at <= limit:
        return
    out.add(
        FindingCode.VERBAL_ORDER_UNSIGNED,
        {
            "medication": order.medication.name,
            "prescriber": order.prescriber,
            "documented": clock(order.created_at, facts),
            "hours": facts.verbal_cosign_hours,
        },
        order_id=order.id,
        documented_at=iso(order.created_at),
        cosign_hours=facts.verbal_cosign_hours,
    )


def givable_before_verification(order: OrderFacts) -> bool:
    """A verbal STAT order: its dose may go before the pharmacist verifies it."""
    return order.verbal and order.schedule_kind == "stat"


def _usable(order: OrderFacts, now: datetime) -> bool:
    return (
        order.status == "active"
        and (order.verified or givable_before_verification(order))
        and order.start_at <= now
        and (order.stop_at is None or now < order.stop_at)
    )


def _preferred(facts: CheckFacts, usable: list[OrderFacts]) -> OrderFacts:
    for order in usable:
        if order.id == facts.requested_order_id:
            return order

    def distance(order: OrderFacts) -> tuple[int, timedelta]:
        dose = nearest_dose(facts, order)
        return (1, timedelta(0)) if dose is None else (0, abs(dose.due_at - facts.now))

    newest_first = sorted(usable, key=lambda o: (o.created_at, o.id), reverse=True)
    return min(newest_first, key=distance)


class _OrderStatusData(TypedDict):
    order_id: int
    status: str


def _order_status_finding(facts: CheckFacts, order: OrderFacts, out: Findings) -> None:
    fields = {"medication": order.medication.name}
    data = _OrderStatusData(order_id=order.id, status=order.status)
    if order.status == "pending_verification" or (
        order.status == "active" and not order.verified and not givable_before_verification(order)
    ):
        out.add(FindingCode.ORDER_NOT_VERIFIED, fields, **data)
    elif order.status == "on_hold":
        out.add(FindingCode.ORDER_ON_HOLD, fields, **data)
    elif order.status == "discontinued":
        out.add(FindingCode.ORDER_DISCONTINUED, fields, **data)
    elif order.status == "active" and facts.now < order.start_at:
        out.add(
            FindingCode.ORDER_NOT_ACTIVE,
            {**fields, "start": clock(order.start_at, facts)},
            variant="not_started",
            start_at=iso(order.start_at),
            **data,
        )
    elif order.status == "active" and order.stop_at is not None:
        out.add(
            FindingCode.ORDER_NOT_ACTIVE,
            {**fields, "stop": clock(order.stop_at, facts)},
            variant="ended",
            stop_at=iso(order.stop_at),
            **data,
        )
    else:
        out.add(FindingCode.ORDER_NOT_ACTIVE, fields, **data)


def check_route(order: OrderFacts, medications: list[MedicationFacts], out: Findings) -> None:
    # Listed for the product and possible for its form: a formulary entry listing "IV" for a
    # tablet is a data error that must not reach the patient.
    wrong = [
        m for m in medications if not (order.route in m.routes and _form_allows(m, order.route))
    ]
    if not wrong:
        return
    route = route_names(order.route)
    out.add(
        FindingCode.ROUTE_MISMATCH,
        {
            "route_name": Words(route.vi, route.en),
            "route": order.route,
            "medications": names(wrong),
        },
        variant="intrathecal" if order.route == "IT" else "default",
        order_id=order.id,
        route=order.route,
        product_routes=sorted({r for m in wrong for r in m.routes if _form_allows(m, r)}),
    )


def _form_allows(medication: MedicationFacts, route: str) -> bool:
    return form_allows_route(medication.dose_form, route)
