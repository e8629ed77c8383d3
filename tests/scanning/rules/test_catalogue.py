"""The catalogue (scanning/rules/catalogue.py): every code has one entry, the rules emit only
catalogued codes, each from the module of its area, and the tables derived from it.
"""

import ast
import re
from collections import Counter
from pathlib import Path
from string import Formatter

import pytest

import scanning.rules as rules_package
from scanning.rules import (
    CATALOGUE,
    CODE_ORDER,
    OVERRIDE_REASON_LABELS,
    OVERRIDE_REASONS,
    REASONS_NEEDING_COMMENT,
    WARN_CODES,
    FindingCode,
)
from scanning.rules.catalogue import AREAS, ENTRIES, REASONS
from tests.scanning.rules.builders import STOP, WARN
from tests.scanning.rules.rows import POSITIVE


def test_every_warning_has_override_reasons():
    produced = {code for code, severity, *_rest in POSITIVE if severity is WARN}

    assert produced == WARN_CODES == set(OVERRIDE_REASONS)
    for reasons in OVERRIDE_REASONS.values():
        assert "OTHER" in reasons
        assert set(reasons) <= set(OVERRIDE_REASON_LABELS)
    assert OVERRIDE_REASONS["TOO_LATE"] == (
        "PATIENT_UNAVAILABLE",
        "CLINICAL_DELAY",
        "PHYSICIAN_ORDER",
        "OTHER",
    )
    assert "OTHER" in REASONS_NEEDING_COMMENT
    assert REASONS_NEEDING_COMMENT.issubset(OVERRIDE_REASON_LABELS)


# --- one entry per code, each rule in the module of its area ---------------------------------

RULES = Path(rules_package.__file__).parent
AREA_MODULES = {area.name: RULES / f"{area.name}.py" for area in AREAS}
LOOKS_LIKE_A_CODE = re.compile(r"^[A-Z]+(_[A-Z]+)+$")


def code_references(path: Path, *, like=LOOKS_LIKE_A_CODE) -> tuple[set[str], set[str]]:
    """(FindingCode members a module names, string constants in it that are or look like codes:
    a misspelt code in a string would never be raised)."""
    members, strings = set(), set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "FindingCode"
        ):
            members.add(node.attr)
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and (node.value in set(FindingCode) or like.match(node.value))
        ):
            strings.add(node.value)
    return members, strings


def test_every_code_has_exactly_one_entry():
    counts = Counter(entry.code for entry in ENTRIES)

    assert set(counts) == set(FindingCode)
    assert set(counts.values()) == {1}
    assert list(CATALOGUE) == list(FindingCode)
    assert tuple(str(code) for code in FindingCode) == CODE_ORDER


def test_every_area_has_its_module_and_every_entry_an_area():
    assert {entry.area for entry in CATALOGUE.values()} == set(AREA_MODULES)
    for path in AREA_MODULES.values():
        assert path.is_file(), path


@pytest.mark.parametrize("area", sorted(AREA_MODULES))
def test_an_area_module_emits_exactly_the_codes_of_its_area(area):
    members, strings = code_references(AREA_MODULES[area])

    assert members <= {code.name for code in FindingCode}
    assert members == {code.name for code, entry in CATALOGUE.items() if entry.area == area}
    assert strings == set(), "name a code as FindingCode.X, so that the catalogue knows it"


def test_no_other_rules_module_names_a_code():
    others = set(RULES.glob("*.py")) - set(AREA_MODULES.values())
    others -= {RULES / "codes.py", RULES / "catalogue.py"}

    assert others, "the package's other modules are checked too"
    for path in others:
        # __init__.py's __all__ lists CODE_ORDER and the like: only real codes count here
        members, strings = code_references(path, like=re.compile("(?!)"))
        assert members == strings == set(), path


def test_messages_use_the_same_fields_in_both_languages():
    for entry in CATALOGUE.values():
        assert entry.messages, entry.code
        for variant, message in entry.messages.items():
            vi = {name for _l, name, _s, _c in Formatter().parse(message.vi) if name}
            en = {name for _l, name, _s, _c in Formatter().parse(message.en) if name}
            assert vi == en == message.fields(), (entry.code, variant)
            assert message.vi != message.en, (entry.code, variant)


def test_a_stop_has_no_override_reasons_and_every_reason_is_offered_somewhere():
    for entry in CATALOGUE.values():
        assert set(entry.override_reasons) <= set(REASONS), entry.code
        if entry.severity is STOP:
            assert entry.override_reasons == (), entry.code
            assert entry.severities() == {STOP}, entry.code
    offered = {reason for entry in CATALOGUE.values() for reason in entry.override_reasons}
    assert offered == set(REASONS)


def test_a_warning_may_be_a_stop_only_in_a_variant_that_says_so():
    allergy = CATALOGUE[FindingCode.ALLERGY]

    assert allergy.severity is WARN
    assert allergy.severities() == {STOP, WARN}
    assert allergy.messages["severe"].severity is STOP
    assert [e.code for e in CATALOGUE.values() if len(e.severities()) > 1] == ["ALLERGY"]


# DESIGN.md section 4: the codes the design names, and their severity there. ALLERGY is
# "STOP (severe) / WARN"; WITNESS_REQUIRED "STOP until resolved".
DESIGN_SEVERITIES = {
    "UNKNOWN_CODE": STOP,
    "PATIENT_UNKNOWN": STOP,
    "WRISTBAND_VOID": STOP,
    "PATIENT_NOT_ADMITTED": STOP,
    "PATIENT_DECEASED": STOP,
    "WRONG_WARD": WARN,
    "PRODUCT_UNKNOWN": STOP,
    "NOT_ORDERED": STOP,
    "ORDER_NOT_VERIFIED": STOP,
    "ORDER_ON_HOLD": STOP,
    "ORDER_DISCONTINUED": STOP,
    "ORDER_NOT_ACTIVE": STOP,
    "PRODUCT_EXPIRED": STOP,
    "LOT_RECALLED": STOP,
    "SERIAL_ALREADY_USED": STOP,
    "ALLERGY": WARN,
    "ROUTE_MISMATCH": STOP,
    "DOSE_INCOMPLETE": WARN,
    "DOSE_EXCEEDED": STOP,
    "PARTIAL_UNIT": WARN,
    "DOSE_UNIT_MISMATCH": STOP,
    "DUPLICATE_SCAN": STOP,
    "WRONG_SCAN_KIND": STOP,
    "TOO_EARLY": WARN,
    "TOO_LATE": WARN,
    "ALREADY_GIVEN": STOP,
    "PRN_TOO_SOON": STOP,
    "PRN_MAX_EXCEEDED": STOP,
    "WITNESS_REQUIRED": STOP,
    "KEYED_ENTRY": WARN,
}


def test_the_codes_of_the_design_keep_their_names_and_severities():
    for code, severity in DESIGN_SEVERITIES.items():
        assert CATALOGUE[FindingCode(code)].severity is severity, code
