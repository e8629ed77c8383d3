"""Product rules (scanning/rules/product.py): each scanned unit: formulary, serial, lot, recall,
expiry.

Pure tables, no database. Every row starts from `good()` (builders.py), which is "go", and changes
one thing.
"""

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest

from tests.scanning.rules.builders import (
    GTINS,
    PARACETAMOL_250,
    PARACETAMOL_500,
    STOP,
    TODAY,
    YESTERDAY,
    area_codes,
    check,
    dose,
    finding,
    good,
    not_raised,
    order,
    product,
    raised,
    unit,
    unknown_product_unit,
)

# --- one row per code and condition: the code is raised with its severity -----------------

POSITIVE = [
    ("PRODUCT_UNKNOWN", STOP, "gtin-not-in-formulary", good(units=(unknown_product_unit(),))),
    ("PRODUCT_EXPIRED", STOP, "yesterday", good(units=(unit(expiry=YESTERDAY),))),
    ("LOT_RECALLED", STOP, "recalled", good(recalled_lots=frozenset({(GTINS[1], "L1")}))),
    ("SERIAL_ALREADY_USED", STOP, "used", good(used_serials=frozenset({(GTINS[1], "S1")}))),
    (
        "DUPLICATE_SCAN",
        STOP,
        "same-serial-twice",
        good(units=(unit(product(PARACETAMOL_250)),) * 2),
    ),
    (
        "KEYED_LOT_EXPIRY_MISSING",
        STOP,
        "typed-gtin-alone",
        good(units=(unit(keyed=True, lot=None, expiry=None, serial=None),)),
    ),
    (
        "KEYED_LOT_EXPIRY_MISSING",
        STOP,
        "typed-without-expiry",
        good(units=(unit(keyed=True, expiry=None),)),
    ),
]


@pytest.mark.parametrize(("code", "severity", "facts"), raised(POSITIVE))
def test_code_is_raised(code, severity, facts):
    result = check(facts)

    assert {f.severity for f in result.findings if f.code == code} == {severity}
    assert result.verdict == ("stop" if result.stops() else "warn")


def test_every_code_has_a_positive_row():
    assert {code for code, *_rest in POSITIVE} == area_codes("product")


# --- one row per code: the neighbouring situation that must NOT raise it -------------------

NEGATIVE = [
    ("PRODUCT_UNKNOWN", "known", good(), "go"),
    ("PRODUCT_EXPIRED", "expires-today", good(units=(unit(expiry=TODAY),)), "go"),
    ("PRODUCT_EXPIRED", "no-expiry", good(units=(unit(expiry=None),)), "go"),
    (
        "LOT_RECALLED",
        "same-lot-other-gtin",
        good(recalled_lots=frozenset({(GTINS[2], "L1")})),
        "go",
    ),
    ("LOT_RECALLED", "other-lot", good(recalled_lots=frozenset({(GTINS[1], "L2")})), "go"),
    ("SERIAL_ALREADY_USED", "other-serial", good(used_serials=frozenset({(GTINS[1], "S2")})), "go"),
    (
        "SERIAL_ALREADY_USED",
        "no-serial",
        good(units=(unit(serial=None),), used_serials=frozenset({(GTINS[1], "S1")})),
        "go",
    ),
    (
        "DUPLICATE_SCAN",
        "no-serial-twice",
        good(units=(unit(product(PARACETAMOL_250), None),) * 2),
        "go",
    ),
    (
        "DUPLICATE_SCAN",
        "same-serial-other-gtin",
        good(
            units=(unit(product(PARACETAMOL_250), "S1"), unit(product(PARACETAMOL_500), "S1")),
            orders=(order(dose_value=D("750")),),
        ),
        "go",
    ),
    (
        "KEYED_LOT_EXPIRY_MISSING",
        "scanned-ean13-has-no-lot",
        good(units=(unit(lot=None, expiry=None, serial=None),)),
        "go",
    ),
    (
        "KEYED_LOT_EXPIRY_MISSING",
        "typed-with-lot-and-expiry",
        good(units=(unit(keyed=True),)),
        "warn",
    ),
]


@pytest.mark.parametrize(("code", "facts", "verdict"), not_raised(NEGATIVE))
def test_code_is_not_raised(code, facts, verdict):
    result = check(facts)

    assert code not in result.codes()
    assert result.verdict == verdict


def test_every_code_has_a_negative_row():
    assert {code for code, *_rest in NEGATIVE} == area_codes("product")


def test_one_finding_per_lot_or_serial_listing_the_units():
    expired = (
        unit(product(PARACETAMOL_250), "S1", expiry=YESTERDAY),
        unit(product(PARACETAMOL_250), "S2", expiry=YESTERDAY),
    )

    result = check(good(units=expired))

    assert finding(result, "PRODUCT_EXPIRED").data == {
        "expiry": YESTERDAY.isoformat(),
        "lot": "L1",
        "units": [0, 1],
    }


def test_expiry_compares_with_the_local_date():
    # 03:00 on 14 March in Ho Chi Minh City is still 13 March in UTC.
    early_morning = datetime(2026, 3, 13, 20, 0, tzinfo=UTC)
    facts = good(now=early_morning, doses=(dose(due_at=early_morning),))

    expired = check(replace(facts, units=(unit(expiry=date(2026, 3, 13)),)))
    today = check(replace(facts, units=(unit(expiry=date(2026, 3, 14)),)))

    assert "PRODUCT_EXPIRED" in expired.codes()
    assert finding(expired, "PRODUCT_EXPIRED").message_vi == (
        "Paracetamol 500 mg lô L1 đã hết hạn ngày 13/03/2026. Lấy hộp khác."
    )
    assert today.verdict == "go"


def test_recall_and_used_serial_match_either_gtin_form():
    short_gtin_unit = unit(gtin="8930000000011")

    result = check(
        good(
            units=(short_gtin_unit,),
            recalled_lots=frozenset({("8930000000011", "L1")}),
            used_serials=frozenset({(GTINS[1], "S1")}),
        )
    )

    assert {"LOT_RECALLED", "SERIAL_ALREADY_USED"} <= result.codes()
