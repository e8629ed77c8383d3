"""When scheduled doses fall due. Pure: plain values in, aware datetimes out."""

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# pharmacy.models.ONE_TIME_KINDS, as plain strings (this module imports no Django).
ONE_TIME_KINDS = ("once", "stat", "on_call")


def parse_times_of_day(values: Iterable[str]) -> list[time]:
    return sorted(time.fromisoformat(value) for value in values)


def due_times(
    *,
    kind: str,
    times_of_day: Iterable[str] = (),
    interval_hours: int | None = None,
    start_at: datetime,
    stop_at: datetime | None,
    window_start: datetime,
    window_end: datetime,
    tz: ZoneInfo,
) -> list[datetime]:
    """Due times in [window_start, window_end) that also fall in [start_at, stop_at).

    Times of day are local wall-clock times in `tz`; intervals count from `start_at`.
    A one-time order (once, STAT, on call) has one due time, its start. PRN orders have none.
    """
    lower = max(start_at, window_start)
    upper = window_end if stop_at is None else min(stop_at, window_end)
    if lower >= upper:
        return []
    if kind == "times":
        return _times_of_day_between(parse_times_of_day(times_of_day), lower, upper, tz)
    if kind in ONE_TIME_KINDS:
        return [start_at] if lower <= start_at < upper else []
    if kind == "interval":
        return _every_n_hours_between(start_at, timedelta(hours=interval_hours or 0), lower, upper)
    return []


def _times_of_day_between(
    times: list[time], lower: datetime, upper: datetime, tz: ZoneInfo
) -> list[datetime]:
    first_day: date = lower.astimezone(tz).date()
    last_day: date = upper.astimezone(tz).date()
    result = []
    day = first_day
    while day <= last_day:
        for at in times:
            due = datetime.combine(day, at, tzinfo=tz)
            if lower <= due < upper:
                result.append(due)
        day += timedelta(days=1)
    return result


def _every_n_hours_between(
    anchor: datetime, step: timedelta, lower: datetime, upper: datetime
) -> list[datetime]:
    if step <= timedelta(0):
        return []
    skipped = max(
        0, -(-(lower - anchor) // step)
    )  # ceil division: first due time not before `lower`
    due = anchor + skipped * step
    result = []
    while due < upper:
        result.append(due)
        due += step
    return result
