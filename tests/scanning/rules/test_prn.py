"""PRN rules (scanning/rules/prn.py): as-needed orders: minimum interval and 24-hour maximum.

Pure tables, no database. Every row starts from `good()` (builders.py), which is "go", and changes
one thing.
"""

import unicodedata
from decimal import Decimal as D

import pytest

from scanning.dosemath import Quantity
from tests.scanning.rules.builders import (
    HOUR,
    NOW,
    PARACETAMOL_250,
    STOP,
    area_codes,
    check,
    dose,
    finding,
    good,
    not_raised,
    prior,
    prn,
    prn_order,
    product,
    raised,
    unit,
)

# --- one row per code and condition: the code is raised with its severity -----------------

POSITIVE = [
    ("PRN_TOO_SOON", STOP, "239-of-240-min", prn(prior(239))),
    (
        "PRN_MAX_EXCEEDED",
        STOP,
        "4500-of-4000",
        prn(prior(300, "1000"), prior(600, "1000"), prior(900, "2000")),
    ),
    ("PRN_REASON_REQUIRED", STOP, "no-reason", prn(prn_reason="")),
    ("PRN_REASON_REQUIRED", STOP, "reason-not-an-indication", prn(prn_reason="mất ngủ")),
]


@pytest.mark.parametrize(("code", "severity", "facts"), raised(POSITIVE))
def test_code_is_raised(code, severity, facts):
    result = check(facts)

    assert {f.severity for f in result.findings if f.code == code} == {severity}
    assert result.verdict == ("stop" if result.stops() else "warn")


def test_every_code_has_a_positive_row():
    assert {code for code, *_rest in POSITIVE} == area_codes("prn")


# --- one row per code: the neighbouring situation that must NOT raise it -------------------

NEGATIVE = [
    ("PRN_TOO_SOON", "exactly-elapsed", prn(prior(240)), "go"),
    (
        "PRN_MAX_EXCEEDED",
        "exactly-the-maximum",
        prn(prior(300, "1000"), prior(600, "1000"), prior(900, "1500")),
        "go",
    ),
    ("PRN_REASON_REQUIRED", "an-indication-of-the-order", prn(prn_reason="sốt"), "go"),
]


@pytest.mark.parametrize(("code", "facts", "verdict"), not_raised(NEGATIVE))
def test_code_is_not_raised(code, facts, verdict):
    result = check(facts)

    assert code not in result.codes()
    assert result.verdict == verdict


def test_every_code_has_a_negative_row():
    assert {code for code, *_rest in NEGATIVE} == area_codes("prn")


@pytest.mark.parametrize(("minutes_ago", "too_soon"), [(239, True), (240, False), (241, False)])
def test_prn_minimum_interval_exactly_elapsed_is_fine(minutes_ago, too_soon):
    result = check(prn(prior(minutes_ago)))

    assert ("PRN_TOO_SOON" in result.codes()) is too_soon


def test_prn_interval_counts_from_the_last_dose_of_the_same_order():
    result = check(prn(prior(600), prior(100, order_id=11), prior(300)))

    assert result.verdict == "go"


def test_prn_too_soon_says_how_long_to_wait():
    result = check(prn(prior(200)))

    too_soon = finding(result, "PRN_TOO_SOON")
    assert too_soon.data["minutes_remaining"] == 40
    assert too_soon.message_vi == (
        "Liều khi cần gần nhất lúc 04:40; phải cách ít nhất 4 giờ. Chờ thêm 40 phút."
    )


@pytest.mark.parametrize(
    ("priors", "exceeded"),
    [
        pytest.param(
            [(300, "1000"), (600, "1000"), (900, "1500")], False, id="4000-with-this-dose"
        ),
        pytest.param([(300, "1000"), (600, "1000"), (900, "1501")], True, id="4001-with-this-dose"),
        pytest.param(
            [(24 * 60, "2000"), (300, "1000"), (600, "1000")], False, id="24h-ago-left-window"
        ),
        pytest.param(
            [(24 * 60 - 1, "2000"), (300, "1000"), (600, "1000")], True, id="23h59-ago-counts"
        ),
        pytest.param([(30 * 60, "9000")], False, id="older-than-24h"),
    ],
)
def test_prn_maximum_is_a_rolling_24h_window_including_this_dose(priors, exceeded):
    result = check(prn(*(prior(minutes, amount) for minutes, amount in priors)))

    assert ("PRN_MAX_EXCEEDED" in result.codes()) is exceeded


def test_prn_maximum_converts_prior_amounts_to_the_order_unit():
    within = check(prn(prior(300, "1", "g"), prior(600, "2.5", "g")))
    over = check(prn(prior(300, "1", "g"), prior(600, "3", "g")))

    assert within.verdict == "go"
    assert finding(over, "PRN_MAX_EXCEEDED").data["total"] == {"value": "4500", "unit": "mg"}


def test_prn_maximum_counts_this_dose_as_what_is_scanned_when_short():
    half = (unit(product(PARACETAMOL_250)),)

    within = check(prn(prior(300, "1000"), prior(600, "2750"), units=half))
    over = check(prn(prior(300, "1000"), prior(600, "2751"), units=half))

    assert within.codes() == {"DOSE_INCOMPLETE"}
    assert "PRN_MAX_EXCEEDED" in over.codes()


def test_prn_maximum_counts_this_dose_as_the_amount_given():
    result = check(
        prn(
            prior(300, "1000"),
            prior(600, "2750"),
            units=(unit(product(PARACETAMOL_250)),),
            amount=Quantity(D("250"), "mg"),
        )
    )

    assert result.codes() == {"DOSE_INCOMPLETE"}


def test_prn_prior_dose_in_an_incomparable_unit_counts_as_one_ordered_dose():
    result = check(prn(prior(300, "1000"), prior(600, "2001"), prior(700, "1", "IU")))

    assert finding(result, "PRN_MAX_EXCEEDED").data["total"] == {"value": "4001", "unit": "mg"}


def test_prn_has_no_time_window():
    result = check(prn(prior(600), doses=(dose(due_at=NOW - 5 * HOUR),)))

    assert result.verdict == "go"
    assert result.dose is None


def test_the_prn_wait_is_told_in_hours_and_minutes():
    found = finding(
        check(prn(prior(115), orders=(prn_order(prn_min_interval_minutes=360),))), "PRN_TOO_SOON"
    )

    assert "phải cách ít nhất 6 giờ. Chờ thêm 4 giờ 5 phút." in found.message_vi
    assert "at least 6 h must pass. Wait 4 h 5 min more." in found.message_en


# --- the PRN reason --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "raised_"),
    [
        pytest.param("đau", False, id="listed"),
        pytest.param("  Đau ", False, id="case-and-spaces-ignored"),
        pytest.param("đa\u0300u", True, id="another-word"),
        pytest.param("đau bụng", True, id="longer-than-listed"),
        pytest.param("đ", True, id="a-prefix-is-not-a-match"),
        pytest.param("   ", True, id="blank"),
    ],
)
def test_prn_reason_must_be_one_of_the_orders_indications(reason, raised_):
    result = check(prn(prn_reason=reason))

    assert ("PRN_REASON_REQUIRED" in result.codes()) is raised_


def test_prn_reason_compares_unicode_compositions_alike():
    decomposed = unicodedata.normalize("NFD", "sốt")

    result = check(prn(prn_reason=decomposed))

    assert "PRN_REASON_REQUIRED" not in result.codes()


def test_prn_reason_missing_lists_the_indications_to_choose_from():
    result = check(prn(prn_reason=""))

    found = finding(result, "PRN_REASON_REQUIRED")
    assert found.data["indications"] == ["đau", "sốt"]
    assert found.message_vi == "Chọn lý do dùng Paracetamol 500 mg khi cần: đau / sốt."


def test_prn_order_written_with_one_indication_offers_that_one():
    facts = prn(orders=(prn_order(prn_indications=("đau",)),), prn_reason="đau")

    assert check(facts).verdict == "go"


def test_prn_order_without_any_indication_refuses_every_reason():
    facts = prn(orders=(prn_order(prn_indications=()),), prn_reason="đau")

    found = finding(check(facts), "PRN_REASON_REQUIRED")
    assert found.message_en.startswith("The PRN Paracetamol 500 mg order names no indication")


def test_prn_reason_is_not_asked_of_a_scheduled_order():
    result = check(good(prn_reason=""))

    assert result.verdict == "go"
