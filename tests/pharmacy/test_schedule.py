from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from pharmacy.schedule import due_times

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def local(*args):
    return datetime(*args, tzinfo=HCM)


def test_times_of_day_are_local_wall_clock_times():
    result = due_times(
        kind="times",
        times_of_day=["08:00", "20:00"],
        start_at=local(2026, 11, 24, 0, 0),
        stop_at=None,
        window_start=local(2026, 11, 24, 0, 0),
        window_end=local(2026, 11, 25, 0, 0),
        tz=HCM,
    )
    assert result == [local(2026, 11, 24, 8, 0), local(2026, 11, 24, 20, 0)]
    assert result[0].astimezone(UTC).hour == 1  # 08:00 in Hồ Chí Minh City is 01:00 UTC


def test_start_is_inclusive_and_stop_is_exclusive():
    result = due_times(
        kind="times",
        times_of_day=["08:00"],
        start_at=local(2026, 11, 24, 8, 0),
        stop_at=local(2026, 11, 26, 8, 0),
        window_start=local(2026, 11, 20),
        window_end=local(2026, 12, 1),
        tz=HCM,
    )
    assert result == [local(2026, 11, 24, 8, 0), local(2026, 11, 25, 8, 0)]


def test_interval_counts_from_the_order_start_not_the_window():
    start = local(2026, 11, 24, 9, 30)
    result = due_times(
        kind="interval",
        interval_hours=8,
        start_at=start,
        stop_at=None,
        window_start=local(2026, 11, 25, 0, 0),
        window_end=local(2026, 11, 26, 0, 0),
        tz=HCM,
    )
    assert result == [
        local(2026, 11, 25, 1, 30),
        local(2026, 11, 25, 9, 30),
        local(2026, 11, 25, 17, 30),
    ]


def test_prn_orders_have_no_due_times():
    assert (
        due_times(
            kind="prn",
            start_at=local(2026, 1, 1),
            stop_at=None,
            window_start=local(2026, 1, 1),
            window_end=local(2026, 1, 3),
            tz=HCM,
        )
        == []
    )


@given(
    interval=st.integers(min_value=1, max_value=48),
    offset_minutes=st.integers(min_value=-3000, max_value=3000),
    span_hours=st.integers(min_value=1, max_value=96),
)
def test_interval_doses_match_a_brute_force_enumeration(interval, offset_minutes, span_hours):
    start = local(2026, 11, 24, 9, 0)
    window_start = start + timedelta(minutes=offset_minutes)
    window_end = window_start + timedelta(hours=span_hours)
    result = due_times(
        kind="interval",
        interval_hours=interval,
        start_at=start,
        stop_at=None,
        window_start=window_start,
        window_end=window_end,
        tz=HCM,
    )
    every_dose = (start + k * timedelta(hours=interval) for k in range(200))
    assert result == [due for due in every_dose if window_start <= due < window_end]
