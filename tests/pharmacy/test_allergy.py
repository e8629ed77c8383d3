"""pharmacy/allergy.py: the one allergy matcher of the bedside rule and the order review. Pure:
no database."""

from dataclasses import dataclass

import pytest

from pharmacy.allergy import allergies_matching, medication_codes


@dataclass(frozen=True)
class Recorded:
    code: str


def matching(codes, *, substance="AMOX", allergy_class="PENICILLIN"):
    allergies = [Recorded(code) for code in codes]
    found = allergies_matching(
        allergies,
        code_of=lambda allergy: allergy.code,
        substance_code=substance,
        allergy_class_code=allergy_class,
    )
    return [allergy.code for allergy in found]


def test_an_allergy_to_the_class_matches():
    assert matching(["PENICILLIN"]) == ["PENICILLIN"]


def test_an_allergy_to_the_ingredient_matches():
    assert matching(["AMOX"]) == ["AMOX"]


@pytest.mark.parametrize("code", ["penicillin", " Penicillin ", "amox\t", "\nAmOx"])
def test_case_and_surrounding_blanks_do_not_matter(code):
    assert matching([code]) == [code]


def test_the_medication_s_codes_are_normalised_too():
    assert matching(["amox"], substance=" AMOX ", allergy_class="") == ["amox"]


def test_an_unrelated_allergy_does_not_match():
    assert matching(["SULFA", "ASPIRIN"]) == []


def test_no_allergies_match_nothing():
    assert matching([]) == []


@pytest.mark.parametrize("code", ["", "   "])
def test_a_blank_allergy_code_never_matches(code):
    assert matching([code], allergy_class="") == []
    assert matching([code], substance="", allergy_class="") == []


def test_matches_keep_the_given_order_and_every_match():
    assert matching(["PENICILLIN", "SULFA", "amox"]) == ["PENICILLIN", "amox"]


def test_medication_codes_drop_blanks():
    assert medication_codes(substance_code="AMOX", allergy_class_code=" ") == {"amox"}
