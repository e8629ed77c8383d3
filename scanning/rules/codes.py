"""The stable finding codes and their severities.

A code is part of the API (the cart, the override records, the reports and HL7 read it): never
rename one. The members are listed in the order findings are shown (after STOP before WARN): who,
what was scanned, the patient, the product, the order, the dose, the schedule, what is still on the
patient and the site, the witness, how it
was entered. Each code's severity, override reasons and messages are in catalogue.py.
"""

from enum import StrEnum


class Severity(StrEnum):
    STOP = "STOP"  # cannot be recorded
    WARN = "WARN"  # can be recorded with an override reason


class FindingCode(StrEnum):
    PERFORMER_NOT_ALLOWED = "PERFORMER_NOT_ALLOWED"
    UNKNOWN_CODE = "UNKNOWN_CODE"
    WRONG_SCAN_KIND = "WRONG_SCAN_KIND"
    PATIENT_UNKNOWN = "PATIENT_UNKNOWN"
    WRISTBAND_VOID = "WRISTBAND_VOID"
    PATIENT_DECEASED = "PATIENT_DECEASED"
    PATIENT_NOT_ADMITTED = "PATIENT_NOT_ADMITTED"
    WRONG_WARD = "WRONG_WARD"
    PRODUCT_UNKNOWN = "PRODUCT_UNKNOWN"
    DUPLICATE_SCAN = "DUPLICATE_SCAN"
    SERIAL_ALREADY_USED = "SERIAL_ALREADY_USED"
    LOT_RECALLED = "LOT_RECALLED"
    PRODUCT_EXPIRED = "PRODUCT_EXPIRED"
    KEYED_LOT_EXPIRY_MISSING = "KEYED_LOT_EXPIRY_MISSING"
    ALLERGY = "ALLERGY"
    MIXED_PRODUCTS = "MIXED_PRODUCTS"
    NOT_ORDERED = "NOT_ORDERED"
    ORDER_NOT_VERIFIED = "ORDER_NOT_VERIFIED"
    ORDER_ON_HOLD = "ORDER_ON_HOLD"
    ORDER_DISCONTINUED = "ORDER_DISCONTINUED"
    ORDER_NOT_ACTIVE = "ORDER_NOT_ACTIVE"
    ORDER_MISMATCH = "ORDER_MISMATCH"
    ROUTE_MISMATCH = "ROUTE_MISMATCH"
    DOSE_UNIT_MISMATCH = "DOSE_UNIT_MISMATCH"
    DOSE_EXCEEDED = "DOSE_EXCEEDED"
    AMOUNT_NOT_SCANNED = "AMOUNT_NOT_SCANNED"
    PARTIAL_UNIT = "PARTIAL_UNIT"
    DOSE_INCOMPLETE = "DOSE_INCOMPLETE"
    NO_SCHEDULED_DOSE = "NO_SCHEDULED_DOSE"
    ALREADY_GIVEN = "ALREADY_GIVEN"
    TOO_EARLY = "TOO_EARLY"
    TOO_LATE = "TOO_LATE"
    PRN_TOO_SOON = "PRN_TOO_SOON"
    PRN_MAX_EXCEEDED = "PRN_MAX_EXCEEDED"
    PREVIOUS_NOT_REMOVED = "PREVIOUS_NOT_REMOVED"
    SITE_RECENTLY_USED = "SITE_RECENTLY_USED"
    WITNESS_REQUIRED = "WITNESS_REQUIRED"
    KEYED_ENTRY = "KEYED_ENTRY"
