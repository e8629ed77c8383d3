"""Which recorded allergies a medication triggers: the one matcher that the bedside rule
(scanning.rules.allergy, ALLERGY) and the pharmacist's order review (pharmacy.selectors) share.

An allergy matches when its code names the medication's substance code or its allergy class code,
compared without case and surrounding blanks; a blank code on either side never matches. Pure: it
takes plain strings, so both sides pass whatever shape they hold (rule facts or model rows).

Tests: tests/pharmacy/test_allergy.py.
"""

from collections.abc import Callable, Iterable


def _normal(code: str) -> str:
    return code.strip().casefold()


def medication_codes(*, substance_code: str, allergy_class_code: str) -> frozenset[str]:
    """The codes an allergy may name to match this medication, normalised; blanks dropped."""
    return frozenset(_normal(c) for c in (substance_code, allergy_class_code)) - {""}


def allergies_matching[Allergy](
    allergies: Iterable[Allergy],
    *,
    code_of: Callable[[Allergy], str],
    substance_code: str,
    allergy_class_code: str,
) -> list[Allergy]:
    """The allergies (in their given order) whose code, read by `code_of`, names the medication's
    substance or its allergy class."""
    codes = medication_codes(substance_code=substance_code, allergy_class_code=allergy_class_code)
    return [allergy for allergy in allergies if _normal(code_of(allergy)) in codes]
