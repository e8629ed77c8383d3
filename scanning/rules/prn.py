"""PRN: as-needed orders have no schedule and no time window, but a minimum interval and a 24-hour
maximum. Checked only for a usable order.

- PRN_TOO_SOON: the minimum interval counts from the last given dose of the same order; exactly
  elapsed is fine.
- PRN_MAX_EXCEEDED: the maximum is over a rolling 24 h window and includes this dose; a dose given
  exactly 24 h ago has left the window. This dose counts as what the nurse gives (`amount`), else
  the scanned amount up to the ordered dose, else the ordered dose. A prior dose whose amount
  cannot be converted to the order's unit counts as one ordered dose.
- PRN_REASON_REQUIRED: a PRN dose names the indication it is given for, one of the order's
  (`OrderFacts.prn_indications`; an order written with one free-text indication offers that one).
  Compared as a nurse reads them: spaces collapsed, case and Unicode composition ignored ("Đau"
  is "đau"); anything else, or nothing, is a STOP. An order with no indication at all (stored
  around its constraint) refuses every dose rather than take any reason. Asked of the check and
  the record, not of a correction's replacement: the record keeps the reason it was given for.
- `prn_next_allowed` answers, for the cart's dose list, when both rules next allow a dose.

Words and severities: catalogue.py. Tests: tests/scanning/rules/test_prn.py.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import datetime, timedelta
from fractions import Fraction

from scanning.dosemath import Comparison, Quantity, compare_amount, format_decimal, to_decimal
from scanning.rules.codes import FindingCode
from scanning.rules.core import Findings, clock, duration, iso
from scanning.rules.dose import DATA_ERRORS, share, strength
from scanning.rules.facts import CheckFacts, OrderFacts, PriorDose, ReplacementFacts


def _prior_in_order_unit(prior: PriorDose, order: OrderFacts) -> Fraction:
    try:
        order_strength = strength(order.medication)
        compared = compare_amount(
            Quantity(order.dose_value, order.dose_unit),
            Quantity(prior.amount, prior.unit),
            amount_strength=order_strength,
            ordered_strength=order_strength,
        )
    except DATA_ERRORS:
        return Fraction(order.dose_value)
    if compared.comparison is Comparison.INCOMPARABLE:
        return Fraction(order.dose_value)
    return share(compared, order)


def check_prn(
    facts: CheckFacts | ReplacementFacts,
    order: OrderFacts,
    this_dose: Fraction | None,
    out: Findings,
) -> None:
    """`this_dose` in the order's unit; None counts as one ordered dose."""
    if this_dose is None:
        this_dose = Fraction(order.dose_value)
    prior = [p for p in facts.prior_doses if p.order_id == order.id]
    if order.prn_min_interval_minutes and prior:
        last = max(prior, key=lambda p: p.administered_at)
        interval = timedelta(minutes=order.prn_min_interval_minutes)
        elapsed = facts.now - last.administered_at
        if elapsed < interval:
            remaining = -((elapsed - interval) // timedelta(minutes=1))
            out.add(
                FindingCode.PRN_TOO_SOON,
                {
                    "last": clock(last.administered_at, facts),
                    "interval": duration(order.prn_min_interval_minutes),
                    "wait": duration(remaining),
                },
                order_id=order.id,
                last_given_at=iso(last.administered_at),
                min_interval_minutes=order.prn_min_interval_minutes,
                minutes_remaining=remaining,
            )
    if order.prn_max_per_24h is None:
        return
    # A dose given exactly 24 h ago has left the rolling window.
    since = facts.now - timedelta(hours=24)
    counted = [p for p in prior if p.administered_at > since]
    total = sum((_prior_in_order_unit(p, order) for p in counted), Fraction(0)) + this_dose
    maximum = Fraction(order.prn_max_per_24h)
    if total > maximum:
        out.add(
            FindingCode.PRN_MAX_EXCEEDED,
            {
                "total": f"{format_decimal(to_decimal(total))} {order.dose_unit}",
                "maximum": f"{format_decimal(order.prn_max_per_24h)} {order.dose_unit}",
            },
            order_id=order.id,
            total={"value": format_decimal(to_decimal(total)), "unit": order.dose_unit},
            maximum={"value": format_decimal(order.prn_max_per_24h), "unit": order.dose_unit},
            doses_in_window=len(counted),
        )


def reason_key(text: str) -> str:
    """A PRN reason as it is compared: spaces collapsed, composed, case folded."""
    return unicodedata.normalize("NFC", " ".join(text.split())).casefold()


def reason_matched(order: OrderFacts, reason: str) -> str | None:
    """The order's own spelling of the indication `reason` names, None when it names none."""
    key = reason_key(reason)
    if not key:
        return None
    return next((i for i in order.prn_indications if reason_key(i) == key), None)


def check_prn_reason(facts: CheckFacts, order: OrderFacts, out: Findings) -> None:
    words = {"medication": order.medication.name, "indications": " / ".join(order.prn_indications)}
    listed = list(order.prn_indications)
    if not order.prn_indications:
        out.add(
            FindingCode.PRN_REASON_REQUIRED,
            words,
            variant="none_listed",
            order_id=order.id,
            indications=listed,
        )
    elif not facts.prn_reason.strip():
        out.add(FindingCode.PRN_REASON_REQUIRED, words, order_id=order.id, indications=listed)
    elif reason_matched(order, facts.prn_reason) is None:
        reason = facts.prn_reason.strip()[:100]
        out.add(
            FindingCode.PRN_REASON_REQUIRED,
            {**words, "reason": reason},
            variant="not_listed",
            order_id=order.id,
            indications=listed,
            reason=reason,
        )


def prn_next_allowed(
    order: OrderFacts, prior: Iterable[PriorDose], now: datetime
) -> datetime | None:
    """The earliest moment from `now` at which one ordered dose of this PRN order keeps both the
    minimum interval and the rolling 24 h maximum, as check_prn judges them; None when even a
    single dose is above the maximum. `prior` are the order's counting given doses."""
    prior = sorted((p for p in prior if p.order_id == order.id), key=lambda p: p.administered_at)
    earliest = now
    if order.prn_min_interval_minutes and prior:
        earliest = max(
            earliest, prior[-1].administered_at + timedelta(minutes=order.prn_min_interval_minutes)
        )
    if order.prn_max_per_24h is None:
        return earliest
    maximum = Fraction(order.prn_max_per_24h)
    this_dose = Fraction(order.dose_value)
    # the total only falls when a dose leaves the window, exactly 24 h after it was given
    for moment in [earliest, *(p.administered_at + timedelta(hours=24) for p in prior)]:
        if moment < earliest:
            continue
        since = moment - timedelta(hours=24)
        total = sum(
            (_prior_in_order_unit(p, order) for p in prior if since < p.administered_at <= moment),
            Fraction(0),
        )
        if total + this_dose <= maximum:
            return moment
    return None
