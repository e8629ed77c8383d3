"""Every area's rows, for the tests that run over all codes."""

from tests.scanning.rules import (
    test_allergy,
    test_assessment,
    test_cosign,
    test_dose,
    test_entry,
    test_identity,
    test_infusion,
    test_order,
    test_prn,
    test_product,
    test_removal,
    test_site,
    test_timing,
    test_waste,
    test_weight,
    test_witness,
)

AREA_TESTS = (
    test_identity,
    test_entry,
    test_product,
    test_allergy,
    test_order,
    test_dose,
    test_weight,
    test_timing,
    test_prn,
    test_assessment,
    test_removal,
    test_site,
    test_witness,
    test_cosign,
    test_infusion,
    test_waste,
)
POSITIVE = [row for module in AREA_TESTS for row in module.POSITIVE]
NEGATIVE = [row for module in AREA_TESTS for row in module.NEGATIVE]
