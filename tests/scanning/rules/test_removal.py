"""Removal rules (scanning/rules/removal.py): a patch, ring or implant is not applied while the
last one of the same substance is on the patient.

Pure tables, no database. Every row starts from `patch()`, which is "go", and changes one thing.
"""

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal as D

import pytest

from scanning.rules import ProductFacts, WornProduct
from tests.scanning.rules.builders import (
    NOW,
    STOP,
    area_codes,
    check,
    finding,
    for_medication,
    good,
    medication,
    not_raised,
    raised,
    unit,
)

FENTANYL_PATCH = medication(
    id=40,
    name="Fentanyl 25 mcg/h patch",
    substance_code="fentanyl",
    dose_form="patch",
    routes=frozenset({"TD"}),
    strength_value=D("25"),
    strength_unit="mcg",
    requires_removal=True,
    site_lookback_hours=168,
)
FENTANYL_50 = replace(FENTANYL_PATCH, id=41, name="Fentanyl 50 mcg/h patch", strength_value=D("50"))
NITRO_PATCH = replace(
    FENTANYL_PATCH,
    id=42,
    name="Nitroglycerin 5 mg/24 h patch",
    substance_code="glyceryl-trinitrate",
)


def patch_unit(med=FENTANYL_PATCH, serial="P1"):
    return unit(ProductFacts(f"0952000000{med.id:04d}", D("1"), "each", med), serial)


def worn(med=FENTANYL_PATCH, hours_ago=72, site="LUA", administration_id=500):
    return WornProduct(
        administration_id=administration_id,
        medication_name=med.name,
        substance_code=med.substance_code,
        site=site,
        applied_at=NOW - timedelta(hours=hours_ago),
    )


def patch(med=FENTANYL_PATCH, **changes):
    return for_medication(
        med,
        (patch_unit(med),),
        order_changes={"dose_value": D("25"), "dose_unit": "mcg", "route": "TD"},
        **changes,
    )


POSITIVE = [
    ("PREVIOUS_NOT_REMOVED", STOP, "same-patch-still-on", patch(worn=(worn(),))),
]


@pytest.mark.parametrize(("code", "severity", "facts"), raised(POSITIVE))
def test_code_is_raised(code, severity, facts):
    result = check(facts)

    assert {f.severity for f in result.findings if f.code == code} == {severity}
    assert result.verdict == "stop"


def test_every_code_has_a_positive_row():
    assert {code for code, *_rest in POSITIVE} == area_codes("removal")


NEGATIVE = [
    # The boundary: another substance's patch on the patient is no reason to stop this one.
    ("PREVIOUS_NOT_REMOVED", "other-substance-on", patch(worn=(worn(NITRO_PATCH),)), "go"),
    ("PREVIOUS_NOT_REMOVED", "nothing-on", patch(), "go"),
]


@pytest.mark.parametrize(("code", "facts", "verdict"), not_raised(NEGATIVE))
def test_code_is_not_raised(code, facts, verdict):
    result = check(facts)

    assert code not in result.codes()
    assert result.verdict == verdict


def test_every_code_has_a_negative_row():
    assert {code for code, *_rest in NEGATIVE} == area_codes("removal")


def test_another_strength_of_the_same_substance_is_still_a_second_patch():
    result = check(patch(FENTANYL_50, worn=(worn(FENTANYL_PATCH),)))

    assert "PREVIOUS_NOT_REMOVED" in result.codes()


def test_the_message_names_the_patch_its_site_and_when_it_was_applied():
    found = finding(check(patch(worn=(worn(hours_ago=2, site="RUA"),))), "PREVIOUS_NOT_REMOVED")

    assert found.message_vi.startswith(
        "Fentanyl 25 mcg/h patch (dán lúc 06:00, ở cánh tay phải) chưa được ghi nhận tháo."
    )
    assert "right upper arm" in found.message_en
    assert found.data == {"administration": 500, "site": "RUA"}


def test_old_free_text_site_is_shown_as_written():
    found = finding(check(patch(worn=(worn(site="vai trái"),))), "PREVIOUS_NOT_REMOVED")

    assert "ở vai trái)" in found.message_vi


def test_a_tablet_is_not_stopped_by_a_patch_on_the_patient():
    assert check(good(worn=(worn(),))).verdict == "go"


def test_not_checked_before_the_patient_is_in_care():
    result = check(patch(worn=(worn(),), admission=None))

    assert "PREVIOUS_NOT_REMOVED" not in result.codes()
