"""Order rules (scanning/rules/order.py): which order the scan is for, its status and route.

Pure tables, no database. Every row starts from `good()` (builders.py), which is "go", and changes
one thing.
"""

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal as D

import pytest

from scanning.rules import AllergyFacts
from tests.scanning.rules.builders import (
    AMOXICILLIN,
    GOOD_WITNESS,
    HOUR,
    MINUTE,
    NOW,
    PARACETAMOL_250,
    PARACETAMOL_ER,
    STOP,
    TABLET_LISTED_IV,
    VINCRISTINE,
    WARN,
    area_codes,
    check,
    dose,
    finding,
    good,
    medication,
    not_raised,
    order,
    product,
    raised,
    unit,
    units,
    vincristine,
    with_order,
)

# --- one row per code and condition: the code is raised with its severity -----------------

POSITIVE = [
    ("NOT_ORDERED", STOP, "other-substance", good(units=(unit(product(AMOXICILLIN)),))),
    ("NOT_ORDERED", STOP, "no-orders", good(orders=(), doses=())),
    ("NOT_ORDERED", STOP, "er-for-ir", good(units=(unit(product(PARACETAMOL_ER)),))),
    (
        "ORDER_NOT_VERIFIED",
        STOP,
        "pending",
        with_order(status="pending_verification", verified=False),
    ),
    ("ORDER_NOT_VERIFIED", STOP, "active-unverified", with_order(verified=False)),
    ("ORDER_ON_HOLD", STOP, "on-hold", with_order(status="on_hold")),
    ("ORDER_DISCONTINUED", STOP, "discontinued", with_order(status="discontinued")),
    ("ORDER_NOT_ACTIVE", STOP, "completed", with_order(status="completed")),
    ("ORDER_NOT_ACTIVE", STOP, "not-started", with_order(start_at=NOW + MINUTE)),
    ("ORDER_NOT_ACTIVE", STOP, "stop-is-exclusive", with_order(stop_at=NOW)),
    ("ROUTE_MISMATCH", STOP, "tablet-iv", with_order(route="IV")),
    ("ROUTE_MISMATCH", STOP, "vincristine-intrathecal", vincristine(route="IT")),
    (
        "ROUTE_MISMATCH",
        STOP,
        "form-cannot-go-by-the-route",
        good(
            units=(unit(product(TABLET_LISTED_IV)),),
            orders=(order(medication=TABLET_LISTED_IV, route="IV"),),
        ),
    ),
    (
        "MIXED_PRODUCTS",
        STOP,
        "two-medications",
        good(units=(unit(), unit(product(AMOXICILLIN), "S2"))),
    ),
    ("ORDER_MISMATCH", WARN, "other-order-requested", good(requested_order_id=99)),
    (
        "VERBAL_ORDER_UNSIGNED",
        WARN,
        "unsigned-24h-and-a-minute",
        with_order(verbal=True, created_at=NOW - 24 * HOUR - MINUTE),
    ),
    (
        "ORDER_NOT_VERIFIED",
        STOP,
        "verbal-once-unverified",
        with_order(verbal=True, schedule_kind="once", verified=False),
    ),
]


@pytest.mark.parametrize(("code", "severity", "facts"), raised(POSITIVE))
def test_code_is_raised(code, severity, facts):
    result = check(facts)

    assert {f.severity for f in result.findings if f.code == code} == {severity}
    assert result.verdict == ("stop" if result.stops() else "warn")


def test_every_code_has_a_positive_row():
    assert {code for code, *_rest in POSITIVE} == area_codes("order")


# --- one row per code: the neighbouring situation that must NOT raise it -------------------

NEGATIVE = [
    (
        "NOT_ORDERED",
        "other-strength-same-form",
        good(units=units(product(PARACETAMOL_250), 2)),
        "go",
    ),
    ("ORDER_NOT_VERIFIED", "verified", good(), "go"),
    ("ORDER_ON_HOLD", "active", good(), "go"),
    ("ORDER_DISCONTINUED", "active", good(), "go"),
    ("ORDER_NOT_ACTIVE", "start-is-inclusive", with_order(start_at=NOW), "go"),
    ("ORDER_NOT_ACTIVE", "stops-in-a-minute", with_order(stop_at=NOW + MINUTE), "go"),
    ("ROUTE_MISMATCH", "other-allowed-route", with_order(route="NG"), "go"),
    ("ROUTE_MISMATCH", "vincristine-intravenous", vincristine(route="IV"), "go"),
    (
        "MIXED_PRODUCTS",
        "two-strengths-one-medication",
        good(
            units=(unit(), unit(product(PARACETAMOL_250), "S2")),
            orders=(order(dose_value=D("750")),),
        ),
        "go",
    ),
    ("ORDER_MISMATCH", "requested-is-used", good(requested_order_id=10), "go"),
    (
        "VERBAL_ORDER_UNSIGNED",
        "exactly-24h-unsigned",
        with_order(verbal=True, created_at=NOW - 24 * HOUR),
        "go",
    ),
    (
        "VERBAL_ORDER_UNSIGNED",
        "cosigned-long-ago",
        with_order(verbal=True, cosigned=True, created_at=NOW - 72 * HOUR),
        "go",
    ),
    (
        "ORDER_NOT_VERIFIED",
        "verbal-stat-before-verification",
        with_order(verbal=True, schedule_kind="stat", verified=False, start_at=NOW, created_at=NOW),
        "go",
    ),
]


def test_verbal_stat_dose_the_doctor_just_ordered_is_never_held_for_a_signature():
    # given: a verbal STAT order documented a minute ago, unverified and unsigned
    facts = with_order(
        verbal=True,
        schedule_kind="stat",
        verified=False,
        start_at=NOW - MINUTE,
        created_at=NOW - MINUTE,
    )
    # when
    result = check(replace(facts, doses=(dose(due_at=NOW - MINUTE),)))
    # then
    assert result.verdict == "go"
    assert result.codes() == set()


def test_verbal_unsigned_message_names_the_prescriber_and_the_limit():
    facts = with_order(verbal=True, prescriber="Trần Văn Bình", created_at=NOW - 30 * HOUR)
    found = finding(check(replace(facts, verbal_cosign_hours=24)), "VERBAL_ORDER_UNSIGNED")
    assert "Trần Văn Bình" in found.message_vi
    assert "24" in found.message_en
    assert found.data["cosign_hours"] == 24


def test_verbal_cosign_hours_is_configurable():
    facts = with_order(verbal=True, created_at=NOW - 5 * HOUR)
    assert "VERBAL_ORDER_UNSIGNED" not in check(facts).codes()
    assert "VERBAL_ORDER_UNSIGNED" in check(replace(facts, verbal_cosign_hours=4)).codes()


@pytest.mark.parametrize(("code", "facts", "verdict"), not_raised(NEGATIVE))
def test_code_is_not_raised(code, facts, verdict):
    result = check(facts)

    assert code not in result.codes()
    assert result.verdict == verdict


def test_every_code_has_a_negative_row():
    assert {code for code, *_rest in NEGATIVE} == area_codes("order")


def test_strength_may_differ_from_the_order():
    facts = good(orders=(order(medication=PARACETAMOL_250, dose_value=D("500")),))

    result = check(facts)

    assert result.verdict == "go"
    assert result.order.medication == PARACETAMOL_250


def test_extended_release_for_an_immediate_release_order_is_not_ordered():
    result = check(good(units=(unit(product(PARACETAMOL_ER)),)))

    assert result.codes() == {"NOT_ORDERED"}
    assert result.order is None


def test_an_active_order_is_used_over_a_newer_held_one():
    held = order(id=11, status="on_hold", created_at=NOW - HOUR)

    result = check(good(orders=(held, order())))

    assert result.verdict == "go"
    assert result.order.id == 10


def test_without_an_active_order_the_most_recent_matching_order_gives_the_status():
    discontinued = order(id=10, status="discontinued", created_at=NOW - timedelta(days=3))
    held = order(id=11, status="on_hold", created_at=NOW - timedelta(days=1))
    other_drug = order(id=12, medication=AMOXICILLIN, created_at=NOW - HOUR)

    result = check(good(orders=(discontinued, held, other_drug)))

    assert "ORDER_ON_HOLD" in result.codes()
    assert not result.codes() & {"NOT_ORDERED", "ORDER_DISCONTINUED"}
    assert result.order.id == 11
    assert result.dose is None


def test_among_active_orders_the_one_with_the_nearest_dose_is_used():
    facts = good(
        orders=(order(id=10), order(id=11)),
        doses=(
            dose(id=100, order_id=10, due_at=NOW + 3 * HOUR),
            dose(id=101, order_id=11, due_at=NOW + 10 * MINUTE),
        ),
    )

    result = check(facts)

    assert result.verdict == "go"
    assert (result.order.id, result.dose.id) == (11, 101)


def test_among_active_orders_the_requested_one_is_used():
    facts = good(
        orders=(order(id=10), order(id=11)),
        doses=(
            dose(id=100, order_id=10, due_at=NOW + 3 * HOUR),
            dose(id=101, order_id=11, due_at=NOW + 10 * MINUTE),
        ),
        requested_order_id=10,
    )

    result = check(facts)

    assert (result.order.id, result.dose.id) == (10, 100)
    assert result.codes() == {"TOO_EARLY"}


def test_a_requested_order_that_is_not_usable_is_not_used():
    held = order(id=11, status="on_hold", created_at=NOW - HOUR)

    result = check(good(orders=(order(), held), requested_order_id=11))

    assert result.order.id == 10
    assert result.codes() == {"ORDER_MISMATCH"}
    assert finding(result, "ORDER_MISMATCH").data == {"order_id": 10, "requested_order_id": 11}


def test_vincristine_ordered_intrathecal_is_a_route_mismatch_stop():
    result = check(vincristine(route="IT"))

    assert result.verdict == "stop"
    found = finding(result, "ROUTE_MISMATCH")
    assert found.severity is STOP
    assert found.data["route"] == "IT"
    assert found.data["product_routes"] == ["IV"]
    assert "tiêm nội tủy" in found.message_vi
    assert "intrathecal" in found.message_en


def test_vincristine_scanned_against_an_intrathecal_order_of_another_drug_never_goes():
    methotrexate = medication(
        id=13,
        name="Methotrexate 50 mg/2 mL",
        substance_code="methotrexate",
        dose_form="injection",
        routes=frozenset({"IV", "IM", "IT"}),
        strength_value=D("50"),
        per_value=D("2"),
        per_unit="mL",
        divisible=True,
    )
    facts = good(
        units=(unit(product(VINCRISTINE, "1", "mL")),),
        orders=(order(medication=methotrexate, dose_value=D("12"), route="IT"),),
        **GOOD_WITNESS,
    )

    result = check(facts)

    assert result.verdict == "stop"
    assert "NOT_ORDERED" in result.codes()


def test_a_form_that_cannot_go_by_the_route_is_a_mismatch_even_if_listed():
    result = check(
        good(
            units=(unit(product(TABLET_LISTED_IV)),),
            orders=(order(medication=TABLET_LISTED_IV, route="IV"),),
        )
    )

    found = finding(result, "ROUTE_MISMATCH")
    assert found.data["product_routes"] == ["PO"]


@pytest.mark.parametrize(
    ("form", "route", "possible"),
    [
        ("tablet", "PO", True),
        ("tablet", "NG", True),
        ("tablet", "IV", False),
        ("tablet_er", "NG", False),  # crushing an extended-release tablet dumps the dose
        ("capsule_er", "PO", True),
        ("injection", "IT", True),
        ("injection", "PO", False),
        ("powder_injection", "IM", True),
        ("infusion", "IM", False),
        ("suppository", "PR", True),
        ("suppository", "PO", False),
        ("eye_drops", "OP", True),
        ("eye_drops", "IV", False),
        ("inhalation", "IH", True),
        ("topical", "TP", True),
        ("topical", "IV", False),
        ("patch", "TD", True),
        ("oral_solution", "IV", False),
    ],
)
def test_what_each_form_can_go_by(form, route, possible):
    from pharmacy.routes import form_allows_route

    assert form_allows_route(form, route) is possible


def test_units_of_different_medications_are_mixed_products():
    facts = good(
        units=(unit(), unit(product(AMOXICILLIN), "S2")),
        orders=(order(), order(id=11, medication=AMOXICILLIN)),
        allergies=(AllergyFacts("penicillins", "Nhóm penicillin", "moderate"),),
    )

    result = check(facts)

    assert result.codes() == {"MIXED_PRODUCTS", "ALLERGY"}
    assert result.order is None
    assert result.dose_summary is None
    assert finding(result, "MIXED_PRODUCTS").data["medications"] == [
        "Paracetamol 500 mg",
        "Amoxicillin 500 mg",
    ]


def test_ir_and_er_of_one_substance_are_mixed_products():
    result = check(good(units=(unit(), unit(product(PARACETAMOL_ER), "S2"))))

    assert result.codes() == {"MIXED_PRODUCTS"}
