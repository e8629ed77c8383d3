"""FHIR search parameters we support, parsed into plain values (pure)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

PREFIXES = ("eq", "ge", "gt", "le", "lt")
_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


class SearchError(ValueError):
    pass


@dataclass(frozen=True)
class TimeWindow:
    start: datetime | None = None  # inclusive
    end: datetime | None = None  # exclusive

    def narrow(self, other: TimeWindow) -> TimeWindow:
        starts = [moment for moment in (self.start, other.start) if moment is not None]
        ends = [moment for moment in (self.end, other.end) if moment is not None]
        return TimeWindow(max(starts) if starts else None, min(ends) if ends else None)


def _span(value: str, zone: tzinfo) -> tuple[datetime, datetime]:
    """The instants a FHIR date or dateTime value covers: [first, after last)."""
    match = _DATE.match(value)
    if match:
        year, month, day = match.groups()
        if day:
            first = date(int(year), int(month), int(day))
            after = first + timedelta(days=1)
        elif month:
            first = date(int(year), int(month), 1)
            after = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        else:
            first = date(int(year), 1, 1)
            after = date(first.year + 1, 1, 1)
        return (
            datetime.combine(first, time(), tzinfo=zone),
            datetime.combine(after, time(), tzinfo=zone),
        )
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    precision = timedelta(seconds=1) if moment.microsecond == 0 else timedelta(microseconds=1)
    return moment, moment + precision


def date_window(values: list[str], zone: tzinfo) -> TimeWindow:
    """`date=ge2026-11-24&date=lt2026-11-25` → the window both allow (AND, as FHIR says)."""
    window = TimeWindow()
    for raw in values:
        prefix, value = (raw[:2], raw[2:]) if raw[:2].isalpha() else ("eq", raw)
        if prefix not in PREFIXES:
            raise SearchError(
                f"date prefix {prefix!r} is not supported (use {', '.join(PREFIXES)})"
            )
        try:
            first, after = _span(value, zone)
        except ValueError as error:
            raise SearchError(f"{value!r} is not a FHIR date or dateTime") from error
        if not 1900 <= first.year <= 2200:
            raise SearchError(f"{value!r} is out of range")
        window = window.narrow(
            {
                "eq": TimeWindow(first, after),
                "ge": TimeWindow(first, None),
                "gt": TimeWindow(after, None),
                "le": TimeWindow(None, after),
                "lt": TimeWindow(None, first),
            }[prefix]
        )
    return window


def patient_id(value: str) -> uuid.UUID:
    """`Patient/<id>` or `<id>` → the id."""
    reference = value.removeprefix("Patient/")
    try:
        return uuid.UUID(reference)
    except ValueError as error:
        raise SearchError(f"{value!r} is not a Patient reference") from error


def token(value: str) -> tuple[str | None, str]:
    """`system|code` or `code` → (system or None, code)."""
    if "|" in value:
        system, _sep, code = value.partition("|")
        return system or None, code
    return None, value


# MedicationAdministration.status codes by version (the value set), and what we record.
STATUS_CODES = frozenset(
    {"in-progress", "not-done", "on-hold", "completed", "entered-in-error", "stopped", "unknown"}
)


def statuses(values: list[str]) -> frozenset[str] | None:
    """`status=completed,not-done` (comma = OR; repeating the parameter = AND) → the codes a record
    may have, or None when not asked. An unknown code is an error, not an empty result."""
    allowed: frozenset[str] | None = None
    for raw in values:
        codes = frozenset(code.strip() for code in raw.split(","))
        unknown = sorted(codes - STATUS_CODES)
        if unknown or not raw.strip():
            raise SearchError(
                f"status {', '.join(unknown) or raw!r} is not a MedicationAdministration status "
                f"({', '.join(sorted(STATUS_CODES))})"
            )
        allowed = codes if allowed is None else allowed & codes
    return allowed


def ids(values: list[str]) -> frozenset[uuid.UUID] | None:
    """`_id=a,b` → the ids (OR); an id that is not one of ours matches nothing."""
    found: frozenset[uuid.UUID] | None = None
    for raw in values:
        parsed = set()
        for value in raw.split(","):
            try:
                parsed.add(uuid.UUID(value.strip()))
            except ValueError:
                continue
        found = frozenset(parsed) if found is None else found & parsed
    return found
