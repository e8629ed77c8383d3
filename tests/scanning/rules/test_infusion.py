"""Infusion rules (scanning/rules/infusion.py): bags and syringes that run over time.

Pure tables, no database. A hang starts from `hang()`, which is "go"; an event on a hung bag from
`event()`, which is "go"; each row changes one thing.
"""

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal as D

import pytest

from scanning.rules import BagFacts, InfusionFacts, ProductFacts
from tests.scanning.rules.builders import (
    NOW,
    PATIENT,
    STOP,
    WARN,
    area_codes,
    check,
    dose,
    finding,
    good,
    medication,
    not_raised,
    order,
    raised,
    unit,
)

SALINE = medication(
    id=40,
    name="Natri clorid 0,9% 1000 mL",
    substance_code="sodium-chloride",
    dose_form="infusion",
    routes=frozenset({"IV"}),
    strength_value=D("9"),
    strength_unit="mg",
    per_value=D("1"),
    per_unit="mL",
    divisible=True,
)
BAG = ProductFacts(gtin="08930000004004", quantity=D("1000"), quantity_unit="mL", medication=SALINE)
INFUSION_ORDER = order(
    id=40,
    medication=SALINE,
    dose_value=D("1000"),
    dose_unit="mL",
    route="IV",
    infusion_rate_ml_h=D("125"),
)


def bag(**changes) -> BagFacts:
    base = BagFacts(
        administration_id=900,
        patient_id=PATIENT.id,
        order_id=INFUSION_ORDER.id,
        line="1",
        state="running",
        rate_ml_h=D("125"),
    )
    return replace(base, **changes)


def infusion(action="hang", rate="125", **changes) -> InfusionFacts:
    base = InfusionFacts(
        action=action,
        rate_ml_h=D(rate) if rate is not None else None,
        line="1",
        rate_stop_factor=D("1.5"),
    )
    return replace(base, **changes)


def hang(order_changes=None, serial="BAG-0001", **changes) -> object:
    """A new bag of saline for the saline order, at the ordered rate, on an empty line."""
    the_order = replace(INFUSION_ORDER, **(order_changes or {}))
    defaults = {
        "units": (unit(BAG, serial),),
        "orders": (the_order,),
        "doses": (dose(id=400, order_id=the_order.id),),
        "infusion": infusion(),
    }
    return good(**{**defaults, **changes})


def event(action="rate_change", rate="125", bag_changes=None, order_changes=None, **changes):
    """An action on the running bag of the saline order (scanned: the band and the bag)."""
    the_order = replace(INFUSION_ORDER, **(order_changes or {}))
    the_bag = bag(**(bag_changes or {}))
    defaults = {
        "units": (unit(BAG, "BAG-0001"),),
        "orders": (the_order,),
        "doses": (),
        "infusion": infusion(action, rate, bag=the_bag, infusing=(the_bag,)),
    }
    return good(**{**defaults, **changes})


def running_on(line="1", order_id=40, state="running", administration_id=901):
    return bag(line=line, order_id=order_id, state=state, administration_id=administration_id)


# --- one row per code and condition: the code is raised with its severity -----------------

POSITIVE = [
    (
        "INFUSION_BAG_NOT_HUNG",
        STOP,
        "rate-change-of-unknown-bag",
        event(infusion=infusion("rate_change", "100", bag=None)),
    ),
    (
        "INFUSION_BAG_OTHER_PATIENT",
        STOP,
        "bag-hung-for-patient-2",
        event(bag_changes={"patient_id": 2}),
    ),
    ("INFUSION_BAG_OTHER_ORDER", STOP, "cart-chose-order-41", event(requested_order_id=41)),
    (
        "INFUSION_BAG_ENDED",
        STOP,
        "complete-a-completed-bag",
        event("complete", None, bag_changes={"state": "ended", "rate_ml_h": None}),
    ),
    (
        "INFUSION_BAG_STATE",
        STOP,
        "rate-change-while-paused",
        event(bag_changes={"state": "paused", "rate_ml_h": None}),
    ),
    ("INFUSION_BAG_NOT_SERIALISED", STOP, "bag-without-serial", hang(serial=None)),
    (
        "INFUSION_ORDER_ENDED",
        STOP,
        "resume-after-discontinue",
        event(
            "resume",
            "125",
            bag_changes={"state": "paused", "rate_ml_h": None},
            order_changes={"status": "discontinued"},
        ),
    ),
    (
        "INFUSION_ALREADY_RUNNING",
        STOP,
        "second-bag-same-line",
        hang(infusion=infusion(infusing=(running_on(),))),
    ),
    (
        "INFUSION_RATE_FAR_OUTSIDE_ORDER",
        STOP,
        "188-of-125x1.5",
        hang(infusion=infusion(rate="188")),
    ),
    ("INFUSION_RATE_OUTSIDE_ORDER", WARN, "150-of-125", hang(infusion=infusion(rate="150"))),
]


@pytest.mark.parametrize(("code", "severity", "facts"), raised(POSITIVE))
def test_code_is_raised(code, severity, facts):
    result = check(facts)

    assert {f.severity for f in result.findings if f.code == code} == {severity}
    assert result.verdict == ("stop" if result.stops() else "warn")


def test_every_code_has_a_positive_row():
    assert {code for code, *_rest in POSITIVE} == area_codes("infusion")


# --- one row per code: the neighbouring situation that must NOT raise it -------------------

NEGATIVE = [
    ("INFUSION_BAG_NOT_HUNG", "rate-change-of-hung-bag", event(rate="125"), "go"),
    ("INFUSION_BAG_OTHER_PATIENT", "bag-hung-for-this-patient", event(), "go"),
    ("INFUSION_BAG_OTHER_ORDER", "cart-chose-the-bag's-order", event(requested_order_id=40), "go"),
    (
        "INFUSION_BAG_ENDED",
        "complete-a-paused-bag",
        event("complete", None, bag_changes={"state": "paused", "rate_ml_h": None}),
        "go",
    ),
    (
        "INFUSION_BAG_STATE",
        "resume-while-paused",
        event("resume", "125", bag_changes={"state": "paused", "rate_ml_h": None}),
        "go",
    ),
    ("INFUSION_BAG_NOT_SERIALISED", "bag-with-serial", hang(), "go"),
    (
        "INFUSION_ORDER_ENDED",
        "stop-after-discontinue",
        event("stop", None, order_changes={"status": "discontinued"}),
        "go",
    ),
    (
        "INFUSION_ALREADY_RUNNING",
        "first-bag-on-other-line",
        hang(infusion=infusion(infusing=(running_on(line="2"),))),
        "go",
    ),
    (
        "INFUSION_RATE_FAR_OUTSIDE_ORDER",
        "187.5-is-exactly-the-factor",
        hang(infusion=infusion(rate="187.5")),
        "warn",
    ),
    ("INFUSION_RATE_OUTSIDE_ORDER", "125-as-ordered", hang(), "go"),
]


@pytest.mark.parametrize(("code", "facts", "verdict"), not_raised(NEGATIVE))
def test_code_is_not_raised(code, facts, verdict):
    result = check(facts)

    assert code not in result.codes()
    assert result.verdict == verdict


def test_every_code_has_a_negative_row():
    assert {code for code, *_rest in NEGATIVE} == area_codes("infusion")


# --- the decisions the design left open ----------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "code"),
    [
        pytest.param("125", None, id="as-ordered"),
        pytest.param("125.1", "INFUSION_RATE_OUTSIDE_ORDER", id="a-little-above"),
        pytest.param("187.5", "INFUSION_RATE_OUTSIDE_ORDER", id="exactly-1.5x"),
        pytest.param("187.6", "INFUSION_RATE_FAR_OUTSIDE_ORDER", id="above-1.5x"),
        pytest.param("83.4", "INFUSION_RATE_OUTSIDE_ORDER", id="just-above-125/1.5"),
        pytest.param("83.3", "INFUSION_RATE_FAR_OUTSIDE_ORDER", id="below-125/1.5"),
    ],
)
def test_rate_is_judged_against_the_ordered_rate_and_the_stop_factor(rate, code):
    result = check(hang(infusion=infusion(rate=rate)))

    infusion_codes = {c for c in result.codes() if c.startswith("INFUSION_RATE")}
    assert infusion_codes == ({code} if code else set())


def test_a_paused_bag_still_holds_its_line():
    result = check(hang(infusion=infusion(infusing=(running_on(state="paused"),))))

    assert "INFUSION_ALREADY_RUNNING" in result.codes()


def test_an_ended_bag_frees_its_line():
    result = check(hang(infusion=infusion(infusing=(running_on(state="ended"),))))

    assert result.verdict == "go"


def test_another_orders_bag_on_the_line_does_not_count():
    result = check(hang(infusion=infusion(infusing=(running_on(order_id=77),))))

    assert "INFUSION_ALREADY_RUNNING" not in result.codes()


def test_an_order_may_allow_two_bags_at_once():
    two = {"max_concurrent_bags": 2}
    one_running = hang(order_changes=two, infusion=infusion(infusing=(running_on(),)))
    two_running = hang(
        order_changes=two,
        infusion=infusion(infusing=(running_on(), running_on(administration_id=902))),
    )

    assert check(one_running).verdict == "go"
    assert finding(check(two_running), "INFUSION_ALREADY_RUNNING").data["running"] == [901, 902]


def test_a_bag_of_a_discontinued_order_cannot_be_hung():
    result = check(hang(order_changes={"status": "discontinued"}))

    assert "ORDER_DISCONTINUED" in result.codes()
    assert result.verdict == "stop"


def test_a_bag_of_an_expired_order_cannot_be_hung():
    result = check(hang(order_changes={"stop_at": NOW - timedelta(minutes=1)}))

    assert result.verdict == "stop"


def test_a_bag_of_another_patients_order_is_not_ordered_here():
    result = check(hang(orders=()))

    assert "NOT_ORDERED" in result.codes()


def test_a_bag_of_a_discontinued_order_may_still_be_paused_and_taken_down():
    for action in ("pause", "stop", "complete"):
        result = check(event(action, None, order_changes={"status": "discontinued"}))
        assert result.verdict == "go", action


def test_a_running_bag_cannot_be_resumed():
    result = check(event("resume", "125"))

    assert finding(result, "INFUSION_BAG_STATE").message_en == (
        "The infusion is already running: there is nothing to resume."
    )


def test_a_bag_event_needs_the_right_patient_band():
    result = check(event(band_active=False))

    assert "WRISTBAND_VOID" in result.codes()
    assert not any(code.startswith("INFUSION_") for code in result.codes())


def test_a_bag_event_does_not_ask_the_dose_rules_again():
    # The bag's serial is used (it was hung): that is what identifies it, not a reuse.
    result = check(event(used_serials=frozenset({(BAG.gtin, "BAG-0001")})))

    assert result.verdict == "go"


def test_rate_messages_speak_mL_per_hour_in_both_languages():
    result = check(hang(infusion=infusion(rate="150")))

    warn = finding(result, "INFUSION_RATE_OUTSIDE_ORDER")
    assert warn.message_vi == "Tốc độ truyền 150 mL/giờ khác tốc độ chỉ định 125 mL/giờ."
    assert warn.message_en == "A rate of 150 mL/h differs from the ordered 125 mL/h."


def test_the_carts_check_counts_a_running_bag_on_any_line():
    preview = infusion("preview", None, line="", infusing=(running_on(line="2"),))

    result = check(hang(infusion=preview))

    assert finding(result, "INFUSION_ALREADY_RUNNING").message_en.startswith(
        "1 bag(s) of this order are already running on line 2."
    )


def test_the_carts_check_leaves_other_orders_alone():
    tablet = good(infusion=infusion("preview", None, line=""))

    assert check(tablet).verdict == "go"
