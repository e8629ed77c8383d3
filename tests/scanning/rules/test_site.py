"""Site rules (scanning/rules/site.py): the same site for the same substance within the
substance's look-back WARNs with the last time it was used.

Pure tables, no database. Every row starts from `heparin_at()`, which is "go", and changes one
thing.
"""

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal as D

import pytest

from scanning.rules import SiteUse
from tests.scanning.rules.builders import (
    HEPARIN,
    HOUR,
    NOW,
    WARN,
    area_codes,
    check,
    finding,
    for_medication,
    not_raised,
    product,
    raised,
    unit,
)

HEPARIN_48H = replace(HEPARIN, site_lookback_hours=48)


def used(hours_ago, site="LLAQ", substance="heparin"):
    return SiteUse(substance_code=substance, site=site, at=NOW - timedelta(hours=hours_ago))


def heparin_at(site="LLAQ", *uses, med=HEPARIN_48H, **changes):
    return for_medication(
        med,
        (unit(product(med, "1", "mL")),),
        order_changes={"dose_value": D("5000"), "dose_unit": "IU", "route": "SC"},
        site=site,
        site_uses=uses,
        **changes,
    )


POSITIVE = [
    ("SITE_RECENTLY_USED", WARN, "same-site-yesterday", heparin_at("LLAQ", used(24))),
    # The boundary on the inside: a minute short of the look-back.
    ("SITE_RECENTLY_USED", WARN, "just-inside", heparin_at("LLAQ", used(48 - 1 / 60))),
]


@pytest.mark.parametrize(("code", "severity", "facts"), raised(POSITIVE))
def test_code_is_raised(code, severity, facts):
    result = check(facts)

    assert {f.severity for f in result.findings if f.code == code} == {severity}
    assert result.verdict == "warn"


def test_every_code_has_a_positive_row():
    assert {code for code, *_rest in POSITIVE} == area_codes("site")


NEGATIVE = [
    # Exactly the look-back ago is free again.
    ("SITE_RECENTLY_USED", "exactly-48h", heparin_at("LLAQ", used(48)), "go"),
    ("SITE_RECENTLY_USED", "other-site", heparin_at("RLAQ", used(24)), "go"),
    (
        "SITE_RECENTLY_USED",
        "other-substance",
        heparin_at("LLAQ", used(24, substance="insulin-human")),
        "go",
    ),
    ("SITE_RECENTLY_USED", "no-site-yet", heparin_at("", used(24)), "go"),
    (
        "SITE_RECENTLY_USED",
        "no-lookback",
        heparin_at("LLAQ", used(24), med=replace(HEPARIN, site_lookback_hours=None)),
        "go",
    ),
]


@pytest.mark.parametrize(("code", "facts", "verdict"), not_raised(NEGATIVE))
def test_code_is_not_raised(code, facts, verdict):
    result = check(facts)

    assert code not in result.codes()
    assert result.verdict == verdict


def test_every_code_has_a_negative_row():
    assert {code for code, *_rest in NEGATIVE} == area_codes("site")


def test_the_warning_names_the_last_use_of_several():
    result = check(heparin_at("LLAQ", used(40), used(20), used(30)))

    found = finding(result, "SITE_RECENTLY_USED")
    assert found.data["last_used_at"] == (NOW - 20 * HOUR).isoformat()
    assert found.message_vi == (
        "Vị trí bụng dưới bên trái đã dùng cho Heparin 5000 IU/mL lúc 12:00 (13/03). "
        "Nên chọn vị trí khác."
    )
    assert found.message_en.startswith("The left lower abdomen was used for Heparin")


def test_it_can_be_overridden_with_no_other_site():
    from scanning.rules import OVERRIDE_REASONS

    assert "NO_OTHER_SITE" in OVERRIDE_REASONS["SITE_RECENTLY_USED"]
