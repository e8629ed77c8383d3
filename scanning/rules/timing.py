"""Timing: the scheduled dose a scan belongs to, and whether it is given in its window. Checked
only for a usable, scheduled (non-PRN) order.

- The scan belongs to the scheduled dose whose due time is nearest to now, whatever its state;
  ties go to the earlier dose (a scan never moves on to the next dose: that is how double doses
  slip through as "early").
- NO_SCHEDULED_DOSE when the order has no scheduled dose among those passed (STOP: recording it
  would bypass the one-given-record-per-dose constraint).
- ALREADY_GIVEN when the caller says the dose has a counting given record or its state is
  "given".
- TOO_EARLY / TOO_LATE outside the window of the patient's admission ward (`window_minutes`, or
  `time_critical_window_minutes` when the ordered or any scanned medication is time critical);
  exactly on the edge is inside. A WARN, never a STOP: a late antibiotic must stay recordable,
  with a reason. The message tells the time in hours and minutes, in local time.
- One-time orders have one dose, due at the order's start, so a second scan of a given one-time
  order is ALREADY_GIVEN. A STAT dose has its own window (`stat_window_minutes` after it was
  ordered: TOO_LATE past it; it cannot be early). An on-call dose (given when the ward is called,
  e.g. before a procedure) has no window: it is givable once from its start, and nobody knows
  when the call comes.

Words and severities: catalogue.py. Tests: tests/scanning/rules/test_timing.py.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TypedDict

from scanning.rules.codes import FindingCode
from scanning.rules.core import Findings, clock, duration, iso
from scanning.rules.facts import (
    AdmissionFacts,
    CheckFacts,
    DoseFacts,
    MedicationFacts,
    OrderFacts,
)


def nearest_dose(facts: CheckFacts, order: OrderFacts) -> DoseFacts | None:
    doses = [dose for dose in facts.doses if dose.order_id == order.id]
    if not doses:
        return None
    # Ties go to the earlier dose: a scan never moves on to the next dose.
    return min(doses, key=lambda d: (abs(d.due_at - facts.now), d.due_at, d.id))


class _ScheduledDoseData(TypedDict):
    order_id: int
    dose_id: int
    due_at: str


def check_schedule(
    facts: CheckFacts,
    order: OrderFacts,
    medications: list[MedicationFacts],
    admission: AdmissionFacts,
    out: Findings,
) -> DoseFacts | None:
    dose = nearest_dose(facts, order)
    if dose is None:
        out.add(
            FindingCode.NO_SCHEDULED_DOSE,
            {"medication": order.medication.name},
            order_id=order.id,
        )
        return None
    due = clock(dose.due_at, facts)
    data = _ScheduledDoseData(order_id=order.id, dose_id=dose.id, due_at=iso(dose.due_at))
    if dose.given or dose.state == "given":
        out.add(FindingCode.ALREADY_GIVEN, {"due": due}, **data)
        return dose
    if order.schedule_kind == "on_call":
        return dose
    time_critical = order.medication.time_critical or any(m.time_critical for m in medications)
    window = admission.time_critical_window_minutes if time_critical else admission.window_minutes
    if order.schedule_kind == "stat":
        window = facts.stat_window_minutes
    late = facts.now - dose.due_at
    minute = timedelta(minutes=1)
    if late > timedelta(minutes=window):
        minutes = late // minute
        out.add(
            FindingCode.TOO_LATE,
            {"late": duration(minutes), "due": due},
            minutes=minutes,
            window_minutes=window,
            **data,
        )
    elif -late > timedelta(minutes=window):
        minutes = -late // minute
        out.add(
            FindingCode.TOO_EARLY,
            {"early": duration(minutes), "due": due},
            minutes=minutes,
            window_minutes=window,
            **data,
        )
    return dose
