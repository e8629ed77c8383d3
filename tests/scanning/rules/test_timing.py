"""Timing rules (scanning/rules/timing.py): the scheduled dose the scan belongs to and its time
window.

Pure tables, no database. Every row starts from `good()` (builders.py), which is "go", and changes
one thing.
"""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from scanning.rules import CheckFacts
from tests.scanning.rules.builders import (
    ADMISSION,
    CEFTRIAXONE,
    GTINS,
    HOUR,
    MINUTE,
    NOW,
    STOP,
    TZ,
    WARN,
    area_codes,
    check,
    dose,
    finding,
    for_medication,
    good,
    not_raised,
    order,
    prn,
    product,
    raised,
    unit,
)

# --- one row per code and condition: the code is raised with its severity -----------------

POSITIVE = [
    ("TOO_EARLY", WARN, "61-min-early", good(doses=(dose(due_at=NOW + 61 * MINUTE),))),
    ("TOO_LATE", WARN, "61-min-late", good(doses=(dose(due_at=NOW - 61 * MINUTE),))),
    ("ALREADY_GIVEN", STOP, "given", good(doses=(dose(state="given", given=True),))),
    (
        "ALREADY_GIVEN",
        STOP,
        "one-time-given-twice",
        good(
            orders=(order(schedule_kind="once", start_at=NOW - HOUR),),
            doses=(dose(due_at=NOW - HOUR, state="given", given=True),),
        ),
    ),
    (
        "TOO_LATE",
        WARN,
        "stat-31-min-late",
        good(
            orders=(order(schedule_kind="stat", start_at=NOW - 31 * MINUTE),),
            doses=(dose(due_at=NOW - 31 * MINUTE),),
        ),
    ),
    ("NO_SCHEDULED_DOSE", STOP, "scheduled-order-without-dose", good(doses=())),
]


@pytest.mark.parametrize(("code", "severity", "facts"), raised(POSITIVE))
def test_code_is_raised(code, severity, facts):
    result = check(facts)

    assert {f.severity for f in result.findings if f.code == code} == {severity}
    assert result.verdict == ("stop" if result.stops() else "warn")


def test_every_code_has_a_positive_row():
    assert {code for code, *_rest in POSITIVE} == area_codes("timing")


# --- one row per code: the neighbouring situation that must NOT raise it -------------------

NEGATIVE = [
    ("TOO_EARLY", "exactly-60-early", good(doses=(dose(due_at=NOW + 60 * MINUTE),)), "go"),
    ("TOO_LATE", "exactly-60-late", good(doses=(dose(due_at=NOW - 60 * MINUTE),)), "go"),
    (
        "TOO_LATE",
        "stat-exactly-30-late",
        good(
            orders=(order(schedule_kind="stat", start_at=NOW - 30 * MINUTE),),
            doses=(dose(due_at=NOW - 30 * MINUTE),),
        ),
        "go",
    ),
    (
        "TOO_LATE",
        "on-call-hours-after-its-start",
        good(
            orders=(order(schedule_kind="on_call", start_at=NOW - 10 * HOUR),),
            doses=(dose(due_at=NOW - 10 * HOUR),),
        ),
        "go",
    ),
    ("ALREADY_GIVEN", "documented-not-given", good(doses=(dose(state="not_given"),)), "go"),
    ("NO_SCHEDULED_DOSE", "prn-has-no-schedule", prn(), "go"),
]


@pytest.mark.parametrize(("code", "facts", "verdict"), not_raised(NEGATIVE))
def test_code_is_not_raised(code, facts, verdict):
    result = check(facts)

    assert code not in result.codes()
    assert result.verdict == verdict


def test_every_code_has_a_negative_row():
    assert {code for code, *_rest in NEGATIVE} == area_codes("timing")


def test_nearest_dose_given_is_already_given_even_when_the_next_is_due_soon():
    given_at_0720 = dose(id=100, due_at=NOW - 40 * MINUTE, state="given", given=True)
    due_at_0845 = dose(id=101, due_at=NOW + 45 * MINUTE)

    result = check(good(doses=(due_at_0845, given_at_0720)))

    assert result.verdict == "stop"
    assert "ALREADY_GIVEN" in result.codes()
    assert result.dose.id == 100
    assert finding(result, "ALREADY_GIVEN").message_en == (
        "The 07:20 dose has already been given. Do not give it again."
    )


def test_an_equally_near_dose_is_the_earlier_one():
    earlier = dose(id=100, due_at=NOW - 2 * HOUR, state="given", given=True)
    later = dose(id=101, due_at=NOW + 2 * HOUR)

    result = check(good(doses=(later, earlier)))

    assert result.dose.id == 100
    assert "ALREADY_GIVEN" in result.codes()


@pytest.mark.parametrize("state", ["scheduled", "not_given", "cancelled"])
def test_the_nearest_dose_is_used_whatever_its_state(state):
    nearest = dose(id=100, due_at=NOW + 5 * MINUTE, state=state)
    farther = dose(id=101, due_at=NOW - 30 * MINUTE)

    result = check(good(doses=(farther, nearest)))

    assert result.dose.id == 100
    assert result.verdict == "go"


def test_a_dose_in_state_given_is_already_given_even_without_the_flag():
    result = check(good(doses=(dose(state="given", given=False),)))

    assert "ALREADY_GIVEN" in result.codes()


def test_doses_of_other_orders_are_not_considered():
    result = check(good(doses=(dose(), dose(id=200, order_id=11, due_at=NOW, given=True))))

    assert result.verdict == "go"
    assert result.dose.id == 100


def test_entered_in_error_record_does_not_count_as_given_but_its_serial_stays_used():
    # The caller leaves the withdrawn record out of `given` and `prior_doses`, and keeps its
    # serial in `used_serials`.
    withdrawn_serial = frozenset({(GTINS[1], "S1")})

    same_unit = check(good(used_serials=withdrawn_serial))
    fresh_unit = check(good(used_serials=withdrawn_serial, units=(unit(serial="S2"),)))

    assert same_unit.codes() == {"SERIAL_ALREADY_USED"}
    assert fresh_unit.verdict == "go"


@pytest.mark.parametrize(
    ("offset_minutes", "code"),
    [(-61, "TOO_LATE"), (-60, None), (0, None), (60, None), (61, "TOO_EARLY")],
)
def test_window_edges_are_inside(offset_minutes, code):
    result = check(good(doses=(dose(due_at=NOW + offset_minutes * MINUTE),)))

    assert result.codes() == ({code} if code else set())


def test_one_second_past_the_edge_is_outside():
    result = check(good(doses=(dose(due_at=NOW - 60 * MINUTE - timedelta(seconds=1)),)))

    assert finding(result, "TOO_LATE").data["minutes"] == 60


def ceftriaxone(late_minutes: int) -> CheckFacts:
    return for_medication(
        CEFTRIAXONE,
        (unit(product(CEFTRIAXONE)),),
        order_changes={"dose_value": D("1"), "dose_unit": "g"},
        doses=(dose(due_at=NOW - late_minutes * MINUTE),),
    )


@pytest.mark.parametrize(("late", "codes"), [(30, set()), (31, {"TOO_LATE"})])
def test_time_critical_medication_uses_the_time_critical_window(late, codes):
    result = check(ceftriaxone(late))

    assert result.codes() == codes
    assert result.verdict == ("warn" if codes else "go")


def test_time_critical_late_is_never_a_stop():
    result = check(ceftriaxone(600))

    assert result.verdict == "warn"
    assert finding(result, "TOO_LATE").data["window_minutes"] == 30


def test_the_window_comes_from_the_admission_ward():
    wide = replace(ADMISSION, window_minutes=120)

    result = check(good(admission=wide, doses=(dose(due_at=NOW - 90 * MINUTE),)))

    assert result.verdict == "go"


def test_too_late_message_in_local_time():
    due_0800_utc = datetime(2026, 3, 14, 1, 0, tzinfo=UTC)  # 08:00 in Ho Chi Minh City

    result = check(good(now=due_0800_utc + 75 * MINUTE, doses=(dose(due_at=due_0800_utc),)))

    late = finding(result, "TOO_LATE")
    assert late.message_vi == "Trễ 1 giờ 15 phút so với giờ dùng 08:00."
    assert late.message_en == "1 h 15 min late for the 08:00 dose."
    assert late.message() == late.message_vi
    assert late.message("en") == late.message_en
    assert late.data["minutes"] == 75


def test_too_early_message():
    result = check(good(doses=(dose(due_at=NOW + 90 * MINUTE),)))

    early = finding(result, "TOO_EARLY")
    assert early.message_vi == "Sớm 1 giờ 30 phút so với giờ dùng 09:30."
    assert early.message_en == "1 h 30 min early for the 09:30 dose."


def test_a_dose_due_on_another_day_shows_its_day():
    just_after_midnight = datetime(2026, 3, 14, 0, 30, tzinfo=TZ)

    result = check(
        good(now=just_after_midnight, doses=(dose(due_at=datetime(2026, 3, 13, 22, 0, tzinfo=TZ)),))
    )

    late = finding(result, "TOO_LATE")
    assert late.message_vi == "Trễ 2 giờ 30 phút so với giờ dùng 22:00 (13/03)."
    assert late.message_en == "2 h 30 min late for the 22:00 (13 Mar) dose."


@pytest.mark.parametrize(
    ("late", "vi", "en"),
    [
        (669, "Trễ 11 giờ 9 phút so với giờ dùng 08:00.", "11 h 9 min late for the 08:00 dose."),
        (61, "Trễ 1 giờ 1 phút so với giờ dùng 08:00.", "1 h 1 min late for the 08:00 dose."),
        (120, "Trễ 2 giờ so với giờ dùng 08:00.", "2 h late for the 08:00 dose."),
    ],
)
def test_lateness_is_told_in_hours_and_minutes(late, vi, en):
    facts = good(now=NOW + late * MINUTE, doses=(dose(),))

    found = finding(check(facts), "TOO_LATE")

    assert (found.message_vi, found.message_en) == (vi, en)
    assert found.data["minutes"] == late


def test_earliness_is_told_in_hours_and_minutes():
    found = finding(check(good(doses=(dose(due_at=NOW + 75 * MINUTE),))), "TOO_EARLY")

    assert found.message_vi == "Sớm 1 giờ 15 phút so với giờ dùng 09:15."
    assert found.message_en == "1 h 15 min early for the 09:15 dose."
