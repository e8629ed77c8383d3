"""Tests for gs1: check digits, element strings and parse_scan.

Demo identifiers use GS1 prefix 952 (reserved for examples) and Vietnamese EAN-13s (893).
"""

import ast
import json
import string
import time
from datetime import date
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import gs1
from gs1 import (
    GS,
    BadgePayload,
    MedicationPayload,
    ParsedScan,
    WristbandPayload,
    badge_element_string,
    gs1_check_digit,
    is_valid_gsrn,
    is_valid_gtin,
    make_gsrn,
    make_gtin,
    medication_element_string,
    normalize_gtin,
    parse_scan,
    to_hri,
    wristband_element_string,
)

PATIENT_GSRN = "952000000000000019"
NURSE_GSRN = "952000000000012340"
GTIN_13 = "9520000000011"
GTIN_14 = "09520000000011"
VN_EAN_13 = "8936012345674"
VN_EAN_13_OTHER = "8930000000019"
BAD_GSRN = "952000000000000018"
BAD_GTIN_14 = "09520000000012"

BAND = f"8018{PATIENT_GSRN}{GS}80193"
BADGE = f"8017{NURSE_GSRN}"
MEDICATION = f"01{GTIN_14}17271231" + f"10LOT-A1{GS}21SN0001"
MEDICATION_PAYLOAD = MedicationPayload(
    gtin=GTIN_14, expiry=date(2027, 12, 31), lot="LOT-A1", serial="SN0001"
)

FAST = settings(max_examples=200, deadline=None)


def error_code(scan: ParsedScan) -> str | None:
    return scan.error.split(":", 1)[0] if scan.error else None


# --- check digits -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("digits", "check"),
    [
        ("400638133393", "1"),  # published EAN-13 4006381333931
        ("590123412345", "7"),  # GS1's own example 5901234123457
        ("03600029145", "2"),  # UPC-A 036000291452
        ("9638507", "4"),  # EAN-8 96385074
        ("952000000001", "1"),
        ("95200000000000001", "9"),
        ("893601234567", "4"),
        ("0000000", "0"),
    ],
)
def test_gs1_check_digit_matches_published_codes(digits, check):
    assert gs1_check_digit(digits) == check


@pytest.mark.parametrize("digits", ["", "12a4", "١٢٣", " 123", "12.3"])
def test_gs1_check_digit_rejects_non_ascii_digits(digits):
    with pytest.raises(ValueError):
        gs1_check_digit(digits)


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("96385074", True),
        ("036000291452", True),
        (GTIN_13, True),
        (VN_EAN_13, True),
        (GTIN_14, True),
        ("19520000000018", True),
        ("96385075", False),
        ("9520000000012", False),
        ("952000000001", False),  # 12 digits, wrong check digit
        ("1234567", False),  # 7 digits is no GTIN length
        ("123456789012345", False),
        ("0952000000001 ", False),
        ("٩٥٢٠٠٠٠٠٠٠٠١١", False),  # Arabic-Indic digits
        ("", False),
    ],
)
def test_is_valid_gtin(code, valid):
    assert is_valid_gtin(code) is valid


@pytest.mark.parametrize(
    ("code", "gtin_14"),
    [("96385074", "00000096385074"), (GTIN_13, GTIN_14), (GTIN_14, GTIN_14)],
)
def test_normalize_gtin_pads_to_14_digits(code, gtin_14):
    assert normalize_gtin(code) == gtin_14


@pytest.mark.parametrize("code", ["9520000000012", "12345", "", "abcdefgh"])
def test_normalize_gtin_rejects_invalid_codes(code):
    with pytest.raises(ValueError):
        normalize_gtin(code)


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        (PATIENT_GSRN, True),
        (NURSE_GSRN, True),
        (BAD_GSRN, False),
        (PATIENT_GSRN[:-1], False),
        (PATIENT_GSRN + "0", False),
        (GTIN_14, False),
    ],
)
def test_is_valid_gsrn(code, valid):
    assert is_valid_gsrn(code) is valid


def test_make_gsrn_appends_check_digit():
    assert make_gsrn("95200000000000001") == PATIENT_GSRN


@pytest.mark.parametrize("digits", ["9520000000000001", "952000000000000011", "9520000000000000x"])
def test_make_gsrn_needs_17_digits(digits):
    with pytest.raises(ValueError):
        make_gsrn(digits)


@pytest.mark.parametrize(
    ("digits", "gtin"),
    [
        ("9638507", "96385074"),
        ("03600029145", "036000291452"),
        ("952000000001", GTIN_13),
        ("0952000000001", GTIN_14),
    ],
)
def test_make_gtin_appends_check_digit(digits, gtin):
    assert make_gtin(digits) == gtin


@pytest.mark.parametrize("digits", ["123456", "1234567890", "12345678901234", "95200a0"])
def test_make_gtin_rejects_other_lengths(digits):
    with pytest.raises(ValueError):
        make_gtin(digits)


# --- building element strings -------------------------------------------------------------


def test_wristband_element_string_puts_gs_after_8018_only():
    # GS1 lists 8018 among AIs that need a separator although its length is fixed.
    assert wristband_element_string(WristbandPayload(PATIENT_GSRN, 3)) == BAND


def test_badge_element_string():
    assert badge_element_string(BadgePayload(NURSE_GSRN)) == BADGE


@pytest.mark.parametrize(
    ("payload", "element_string"),
    [
        (MEDICATION_PAYLOAD, MEDICATION),
        (MedicationPayload(GTIN_13), f"01{GTIN_14}"),
        (MedicationPayload(VN_EAN_13, lot="L1"), f"010{VN_EAN_13}10L1"),
        (MedicationPayload(GTIN_14, serial="S1", lot="L1"), f"01{GTIN_14}10L1{GS}21S1"),
        (MedicationPayload(GTIN_14, expiry=date(2030, 2, 28)), f"01{GTIN_14}17300228"),
    ],
)
def test_medication_element_string_orders_01_17_10_21(payload, element_string):
    assert medication_element_string(payload) == element_string


@pytest.mark.parametrize(
    "build",
    [
        lambda: wristband_element_string(WristbandPayload(BAD_GSRN, 1)),
        lambda: wristband_element_string(WristbandPayload(PATIENT_GSRN, 0)),
        lambda: wristband_element_string(WristbandPayload(PATIENT_GSRN, 10_000_000_000)),
        lambda: wristband_element_string(WristbandPayload(PATIENT_GSRN, True)),
        lambda: badge_element_string(BadgePayload("123")),
        lambda: medication_element_string(MedicationPayload(BAD_GTIN_14)),
        lambda: medication_element_string(MedicationPayload(GTIN_14, lot="")),
        lambda: medication_element_string(MedicationPayload(GTIN_14, lot="LOT 1")),
        lambda: medication_element_string(MedicationPayload(GTIN_14, serial="S" * 21)),
    ],
)
def test_builders_refuse_invalid_payloads(build):
    with pytest.raises(ValueError):
        build()


@pytest.mark.parametrize(
    ("element_string", "hri"),
    [
        (MEDICATION, f"(01){GTIN_14}(17)271231(10)LOT-A1(21)SN0001"),
        (BAND, f"(8018){PATIENT_GSRN}(8019)3"),
        (BADGE, f"(8017){NURSE_GSRN}"),
    ],
)
def test_to_hri(element_string, hri):
    assert to_hri(element_string) == hri


@pytest.mark.parametrize("element_string", ["", "0112345", "ABC", "9", f"01{GTIN_14}17271331"])
def test_to_hri_rejects_non_gs1(element_string):
    with pytest.raises(ValueError):
        to_hri(element_string)


# --- parse_scan: the three ways in --------------------------------------------------------

WRISTBAND_3 = WristbandPayload(PATIENT_GSRN, 3)
NURSE_BADGE = BadgePayload(NURSE_GSRN)

SAME_SCAN_MANY_WAYS = [
    # (a) keyboard wedge: prefix or not, GS or substitute, trailing Enter
    ("band, GS", BAND, {}, WRISTBAND_3),
    ("band, no GS after 8018", BAND.replace(GS, ""), {}, WRISTBAND_3),
    ("band, ]d2", "]d2" + BAND, {}, WRISTBAND_3),
    ("band, ]C1 + CRLF", "]C1" + BAND + "\r\n", {}, WRISTBAND_3),
    ("band, ]Q3 + leading FNC1", "]Q3" + GS + BAND, {}, WRISTBAND_3),
    ("band, trailing GS", BAND + GS + "\n", {}, WRISTBAND_3),
    ("band, ~ for leading FNC1", "~" + BAND.replace(GS, "~"), {"gs_substitute": "~"}, WRISTBAND_3),
    ("band, ~", BAND.replace(GS, "~"), {"gs_substitute": "~"}, WRISTBAND_3),
    ("band, <GS>", "]d2" + BAND.replace(GS, "<GS>"), {"gs_substitute": "<GS>"}, WRISTBAND_3),
    ("badge", BADGE, {}, NURSE_BADGE),
    ("badge, ]C1", "]C1" + BADGE + "\n", {}, NURSE_BADGE),
    ("medication, GS", MEDICATION, {}, MEDICATION_PAYLOAD),
    ("medication, ]d2", "]d2" + MEDICATION, {}, MEDICATION_PAYLOAD),
    ("medication, ]e0 DataBar", "]e0" + MEDICATION, {}, MEDICATION_PAYLOAD),
    ("medication, ~", MEDICATION.replace(GS, "~"), {"gs_substitute": "~"}, MEDICATION_PAYLOAD),
    (
        "medication, ]d2 <GS> + Enter",
        "]d2" + MEDICATION.replace(GS, "<GS>") + "\r",
        {"gs_substitute": "<GS>"},
        MEDICATION_PAYLOAD,
    ),
    # (b) human-readable brackets
    ("band, HRI", f"(8018){PATIENT_GSRN}(8019)3", {}, WRISTBAND_3),
    ("band, HRI with spaces", f" (8018) {PATIENT_GSRN} (8019) 3 \n", {}, WRISTBAND_3),
    ("badge, HRI", f"(8017){NURSE_GSRN}", {}, NURSE_BADGE),
    (
        "medication, HRI",
        f"(01){GTIN_14}(17)271231(10)LOT-A1(21)SN0001",
        {},
        MEDICATION_PAYLOAD,
    ),
    (
        "medication, HRI after ]d2",
        f"]d2(01){GTIN_14}(17)271231(10)LOT-A1(21)SN0001",
        {},
        MEDICATION_PAYLOAD,
    ),
    # (c) image decoder: plain text plus symbology id and GS1 flag
    ("band, decoder", BAND, {"symbology_id": "]d2", "is_gs1": True}, WRISTBAND_3),
    ("band, decoder GS1-128", BAND, {"symbology_id": "]C1", "is_gs1": True}, WRISTBAND_3),
    ("badge, decoder", BADGE, {"symbology_id": "]C1", "is_gs1": True}, NURSE_BADGE),
    ("badge, flag only", BADGE, {"is_gs1": True}, NURSE_BADGE),
    (
        "medication, decoder",
        MEDICATION,
        {"symbology_id": "]d2", "is_gs1": True},
        MEDICATION_PAYLOAD,
    ),
    ("medication, decoder id without ]", MEDICATION, {"symbology_id": "d2"}, MEDICATION_PAYLOAD),
]


@pytest.mark.parametrize(
    ("text", "options", "payload"),
    [case[1:] for case in SAME_SCAN_MANY_WAYS],
    ids=[case[0] for case in SAME_SCAN_MANY_WAYS],
)
def test_every_way_in_gives_the_same_payload(text, options, payload):
    scan = parse_scan(text, **options)

    assert scan.error is None
    assert scan.payload == payload
    expected_kind = {
        WristbandPayload: "wristband",
        BadgePayload: "badge",
        MedicationPayload: "medication",
    }[type(payload)]
    assert scan.kind == expected_kind


def test_text_keeps_gs_and_drops_prefix_substitute_and_enter():
    scan = parse_scan("]d2" + BAND.replace(GS, "~") + "\r\n", gs_substitute="~")

    assert scan.text == BAND
    assert scan.symbology_id == "]d2"
    assert scan.element_strings == {"8018": PATIENT_GSRN, "8019": "3"}


def test_symbology_id_in_text_wins_over_the_argument():
    scan = parse_scan("]C1" + BADGE, symbology_id="]d2")

    assert scan.symbology_id == "]C1"
    assert scan.kind == "badge"


# --- parse_scan: GTINs and non-GS1 text ---------------------------------------------------

BARE_CODES = [
    ("EAN-13 Vietnam", VN_EAN_13, {}, "medication", f"0{VN_EAN_13}"),
    ("EAN-13 952", GTIN_13, {}, "medication", GTIN_14),
    ("EAN-13 + Enter", VN_EAN_13_OTHER + "\r\n", {}, "medication", f"0{VN_EAN_13_OTHER}"),
    ("EAN-8", "96385074", {}, "medication", "00000096385074"),
    ("UPC-A", "036000291452", {}, "medication", "00036000291452"),
    ("GTIN-14", "19520000000018", {}, "medication", "19520000000018"),
    ("]E0 EAN-13", "]E0" + VN_EAN_13, {}, "medication", f"0{VN_EAN_13}"),
    ("]E4 EAN-8", "]E496385074", {}, "medication", "00000096385074"),
    ("]I1 ITF-14", "]I119520000000018", {}, "medication", "19520000000018"),
    (
        "decoder EAN-13 not GS1",
        VN_EAN_13,
        {"symbology_id": "]E0", "is_gs1": False},
        "medication",
        f"0{VN_EAN_13}",
    ),
    ("decoder without id", VN_EAN_13, {"is_gs1": False}, "medication", f"0{VN_EAN_13}"),
    # biip.parse reads this as AI 95 "20000000011": we must not
    ("13 digits with GS1 flag", GTIN_13, {"is_gs1": True}, "medication", GTIN_14),
]


@pytest.mark.parametrize(
    ("text", "options", "kind", "gtin"),
    [case[1:] for case in BARE_CODES],
    ids=[case[0] for case in BARE_CODES],
)
def test_bare_gtin_is_a_medication(text, options, kind, gtin):
    scan = parse_scan(text, **options)

    assert (scan.kind, scan.error) == (kind, None)
    assert scan.payload == MedicationPayload(gtin=gtin)
    assert scan.element_strings == {}


UNKNOWN_CODES = [
    ("empty", "", {}, "EMPTY"),
    ("only whitespace", " \r\n\t", {}, "EMPTY"),
    ("only a symbology id", "]d2\r\n", {}, "EMPTY"),
    ("only GS", GS + GS, {}, "EMPTY"),
    ("10,000 characters", "0" * 10_000, {}, "TOO_LONG"),
    ("MRN", "MRN-2026-000123", {}, "NOT_GS1"),
    ("numeric MRN", "2026000123", {}, "NOT_GS1"),
    ("Vietnamese text", "Nguyễn Văn An", {}, "NOT_GS1"),
    ("13 digits, bad check digit", "8936012345675", {}, "NOT_GS1"),
    ("plain Code 128 with a GTIN", "]C0" + VN_EAN_13, {}, "NOT_GS1"),
    ("plain DataMatrix with GS1 data", "]d1" + MEDICATION, {}, "NOT_GS1"),
    ("plain QR with HRI", f"]Q1(01){GTIN_14}", {}, "NOT_GS1"),
    ("decoder says plain Code 128", BAND, {"symbology_id": "]C0", "is_gs1": False}, "NOT_GS1"),
    ("decoder says not GS1", BAND, {"is_gs1": False}, "NOT_GS1"),
    ("unprefixed, starts with 01, too short", "0112345678", {}, "NOT_GS1"),
    ("unprefixed, bad GSRN", f"8018{BAD_GSRN}80191", {}, "NOT_GS1"),
    ("unprefixed, bad GTIN", f"01{BAD_GTIN_14}", {}, "NOT_GS1"),
    ("unprefixed AI 95", "95ABC", {}, "NOT_GS1"),
    ("]E0 with bad check digit", "]E08936012345675", {}, "GTIN_CHECK_DIGIT"),
    ("]E0 with letters", "]E0ABC", {}, "MALFORMED_GS1"),
    ("GS1 flag, bad check digit", "8936012345675", {"is_gs1": True}, "GTIN_CHECK_DIGIT"),
    ("]d2 bad GTIN", f"]d201{BAD_GTIN_14}", {}, "GTIN_CHECK_DIGIT"),
    ("HRI bad GTIN", f"(01){BAD_GTIN_14}(10)A", {}, "GTIN_CHECK_DIGIT"),
    ("]d2 bad patient GSRN", f"]d28018{BAD_GSRN}{GS}80191", {}, "GSRN_CHECK_DIGIT"),
    ("HRI bad nurse GSRN", f"(8017){BAD_GSRN}", {}, "GSRN_CHECK_DIGIT"),
    ("]C1 truncated 01", "]C1010952000000", {}, "MALFORMED_GS1"),
    ("]d2 truncated 17", f"]d201{GTIN_14}172712", {}, "MALFORMED_GS1"),
    ("]d2 truncated 8018", "]d28018952000", {}, "MALFORMED_GS1"),
    ("]d2 AI without data", f"]d201{GTIN_14}10", {}, "MALFORMED_GS1"),
    ("]d2 unknown AI", f"]d201{GTIN_14}{GS}2399", {}, "MALFORMED_GS1"),
    ("]d2 lot too long", f"]d201{GTIN_14}10{'L' * 21}", {}, "MALFORMED_GS1"),
    ("]d2 lot with a space", f"]d201{GTIN_14}10LOT 1", {}, "MALFORMED_GS1"),
    ("]d2 Arabic-Indic digits", "]d201" + "٠٩٥٢٠٠٠٠٠٠٠٠١١", {}, "MALFORMED_GS1"),
    ("HRI unknown AI", f"(01){GTIN_14}(2399)X", {}, "MALFORMED_GS1"),
    ("HRI with stray text", f"(01){GTIN_14}(10)A(B", {}, "MALFORMED_GS1"),
    ("HRI empty value", f"(01){GTIN_14}(10)(21)S1", {}, "MALFORMED_GS1"),
    ("HRI no AI", "(hello)", {}, "MALFORMED_GS1"),
    ("]d2 month 13", f"]d201{GTIN_14}17271331", {}, "BAD_DATE"),
    ("]d2 month 00", f"]d201{GTIN_14}17270015", {}, "BAD_DATE"),
    ("]d2 31 April", f"]d201{GTIN_14}17270431", {}, "BAD_DATE"),
    ("]d2 29 Feb 2027", f"]d201{GTIN_14}17270229", {}, "BAD_DATE"),
    ("HRI month 13", f"(01){GTIN_14}(17)271331(10)A", {}, "BAD_DATE"),
    ("HRI 30 Feb", f"(01){GTIN_14}(17)280230", {}, "BAD_DATE"),
    ("]d2 band without instance", f"]d28018{PATIENT_GSRN}", {}, "MISSING_INSTANCE"),
    ("unprefixed band without instance", f"8018{PATIENT_GSRN}", {}, "MISSING_INSTANCE"),
    ("HRI band without instance", f"(8018){PATIENT_GSRN}", {}, "MISSING_INSTANCE"),
    ("]d2 instance without band", "]d280193", {}, "MISSING_GSRN"),
    ("]d2 instance 0", f"]d28018{PATIENT_GSRN}80190", {}, "BAD_INSTANCE"),
    ("band and GTIN", f"8018{PATIENT_GSRN}{GS}80193{GS}01{GTIN_14}", {}, "AMBIGUOUS"),
    ("GTIN and band", f"]d201{GTIN_14}8018{PATIENT_GSRN}{GS}80193", {}, "AMBIGUOUS"),
    ("badge and band", f"]C18017{NURSE_GSRN}{GS}8018{PATIENT_GSRN}{GS}80191", {}, "AMBIGUOUS"),
    ("badge with instance", f"]C18017{NURSE_GSRN}{GS}80191", {}, "AMBIGUOUS"),
    ("band with a lot", f"]d28018{PATIENT_GSRN}{GS}80191{GS}10LOT", {}, "AMBIGUOUS"),
    ("GTIN and SSCC", f"]C101{GTIN_14}00{'0' * 17}5", {}, "AMBIGUOUS"),
    ("GTIN twice, different", f"]d201{GTIN_14}01{'1' * 13}6", {}, "AMBIGUOUS"),
    ("SSCC only", f"]C100{'0' * 17}5", {}, "UNSUPPORTED_GS1"),
    ("lot only", "]d210LOT1", {}, "UNSUPPORTED_GS1"),
    ("]C1 with 13 digits is AI 95", f"]C1{GTIN_13}", {}, "UNSUPPORTED_GS1"),
]


@pytest.mark.parametrize(
    ("text", "options", "code"),
    [case[1:] for case in UNKNOWN_CODES],
    ids=[case[0] for case in UNKNOWN_CODES],
)
def test_unreadable_scans_are_unknown_with_a_reason(text, options, code):
    scan = parse_scan(text, **options)

    assert scan.kind == "unknown"
    assert scan.payload is None
    assert scan.element_strings == {}
    assert error_code(scan) == code
    assert scan.error.startswith(f"{code}: ")
    assert len(scan.error) > len(code) + 2


@pytest.mark.parametrize(
    ("expiry", "last_day"),
    [
        ("280200", date(2028, 2, 29)),  # leap year
        ("270200", date(2027, 2, 28)),
        ("300200", date(2030, 2, 28)),
        ("271200", date(2027, 12, 31)),
        ("270400", date(2027, 4, 30)),
    ],
)
def test_expiry_day_00_is_the_last_day_of_the_month(expiry, last_day):
    scan = parse_scan(f"]d201{GTIN_14}17{expiry}10L1")

    assert scan.payload == MedicationPayload(gtin=GTIN_14, expiry=last_day, lot="L1")
    assert scan.element_strings["17"] == expiry


def test_extra_harmless_ais_are_kept_but_ignored():
    scan = parse_scan(f"(01){GTIN_14}(17)271231(30)20(240)VN-REG-123(10)L1")

    assert scan.payload == MedicationPayload(gtin=GTIN_14, expiry=date(2027, 12, 31), lot="L1")
    assert scan.element_strings["30"] == "20"
    assert scan.element_strings["240"] == "VN-REG-123"


def test_repeated_ai_with_the_same_value_is_accepted():
    scan = parse_scan(f"]d201{GTIN_14}01{GTIN_14}")

    assert scan.payload == MedicationPayload(gtin=GTIN_14)


def test_instance_is_read_as_a_number_and_raw_value_kept():
    scan = parse_scan(f"]d28018{PATIENT_GSRN}{GS}80190000000042")

    assert scan.payload == WristbandPayload(PATIENT_GSRN, 42)
    assert scan.element_strings["8019"] == "0000000042"


def test_largest_instance_without_gs_after_8018():
    scan = parse_scan(f"8018{PATIENT_GSRN}80199999999999")

    assert scan.payload == WristbandPayload(PATIENT_GSRN, 9_999_999_999)


def test_as_dict_is_json_friendly():
    scan = parse_scan("]d2" + MEDICATION)

    assert json.loads(json.dumps(scan.as_dict())) == {
        "kind": "medication",
        "text": MEDICATION,
        "symbology_id": "]d2",
        "gs1": {"01": GTIN_14, "17": "271231", "10": "LOT-A1", "21": "SN0001"},
        "payload": {
            "gtin": GTIN_14,
            "expiry": "2027-12-31",
            "lot": "LOT-A1",
            "serial": "SN0001",
        },
        "error": None,
        "error_code": None,
    }


def test_as_dict_of_an_unknown_scan():
    data = parse_scan("]d1hello").as_dict()

    assert data["kind"] == "unknown"
    assert data["payload"] is None
    assert data["gs1"] == {}
    assert data["error_code"] == "NOT_GS1"
    assert data["error"].startswith("NOT_GS1: ")


def test_ten_thousand_characters_return_quickly():
    junk = ("(01)" + "8018" * 3 + GS) * 700

    started = time.perf_counter()
    scans = [parse_scan(junk), parse_scan("]d2" + junk), parse_scan(junk, is_gs1=True)]
    elapsed = time.perf_counter() - started

    assert {error_code(scan) for scan in scans} == {"TOO_LONG"}
    assert elapsed < 0.05


def test_longest_accepted_input_is_parsed_quickly():
    many_counts = "]d2" + f"01{GTIN_14}" + f"301{GS}" * 120

    started = time.perf_counter()
    scan = parse_scan(many_counts)
    elapsed = time.perf_counter() - started

    assert scan.kind == "medication"
    assert elapsed < 0.5


def test_module_is_pure():
    tree = ast.parse(Path(gs1.__file__).read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }

    assert "django" not in imported
    assert "rest_framework" not in imported


# --- properties ---------------------------------------------------------------------------

AI82_CHARACTERS = "!\"%&'()*+,-./:;<=>?_" + string.digits + string.ascii_letters
ai82_text = st.text(alphabet=AI82_CHARACTERS, min_size=1, max_size=20)
# GS1 reads YY within -49/+50 years of today; stay well inside that window.
expiry_dates = st.dates(min_value=date(2020, 1, 1), max_value=date(2069, 12, 31))


@st.composite
def gsrns(draw):
    return make_gsrn(draw(st.text(alphabet=string.digits, min_size=17, max_size=17)))


@st.composite
def gtins(draw):
    length = draw(st.sampled_from([7, 11, 12, 13]))
    return make_gtin(draw(st.text(alphabet=string.digits, min_size=length, max_size=length)))


wristbands = st.builds(
    WristbandPayload, gsrn=gsrns(), instance=st.integers(min_value=1, max_value=9_999_999_999)
)
badges = st.builds(BadgePayload, gsrn=gsrns())
medications = st.builds(
    MedicationPayload,
    gtin=gtins().map(normalize_gtin),
    expiry=st.none() | expiry_dates,
    lot=st.none() | ai82_text,
    serial=st.none() | ai82_text,
)


def element_string_of(payload) -> str:
    builder = {
        WristbandPayload: wristband_element_string,
        BadgePayload: badge_element_string,
        MedicationPayload: medication_element_string,
    }[type(payload)]
    return builder(payload)


@FAST
@given(st.one_of(wristbands, badges, medications))
def test_build_then_parse_round_trips(payload):
    scan = parse_scan("]d2" + element_string_of(payload))

    assert scan.error is None
    assert scan.payload == payload


@FAST
@given(
    st.one_of(wristbands, badges, medications),
    st.sampled_from(["]d2", "]C1", "]Q3", ""]),
    st.sampled_from(["", "\r", "\n", "\r\n", "\t"]),
)
def test_every_way_in_agrees(payload, prefix, enter):
    element_string = element_string_of(payload)
    hri = to_hri(element_string)
    # HRI cannot carry "(" in a value unambiguously, and "<GS>" inside a lot is lost.
    assume(all("(" not in value for value in _lot_and_serial(payload)))
    assume(all("<GS>" not in value for value in _lot_and_serial(payload)))

    ways = [
        parse_scan(prefix + element_string + enter),
        parse_scan(prefix + element_string.replace(GS, "~") + enter, gs_substitute="~"),
        parse_scan(prefix + element_string.replace(GS, "<GS>") + enter, gs_substitute="<GS>"),
        parse_scan(hri + enter),
        parse_scan(element_string, symbology_id="]d2", is_gs1=True),
        parse_scan(element_string, is_gs1=True),
    ]

    assert {(scan.kind, scan.payload, scan.error) for scan in ways} == {
        (ways[0].kind, payload, None)
    }
    assert all(scan.element_strings == ways[0].element_strings for scan in ways)


def _lot_and_serial(payload) -> list[str]:
    if not isinstance(payload, MedicationPayload):
        return []
    return [value for value in (payload.lot, payload.serial) if value is not None]


@FAST
@given(st.one_of(wristbands, badges), st.booleans())
def test_gs_after_8018_and_8019_is_optional(payload, trailing_gs):
    element_string = element_string_of(payload).replace(GS, "")

    scan = parse_scan(element_string + (GS if trailing_gs else ""))

    assert scan.payload == payload


@FAST
@given(gtins())
def test_bare_gtin_always_parses_as_medication(gtin):
    for text in (gtin, gtin + "\r\n", f"]E0{gtin}" if len(gtin) == 13 else gtin):
        scan = parse_scan(text)
        assert scan.kind == "medication"
        assert scan.payload == MedicationPayload(gtin=normalize_gtin(gtin))


@FAST
@given(st.one_of(gtins(), gsrns()), st.data())
def test_any_single_digit_change_breaks_the_check_digit(code, data):
    position = data.draw(st.integers(min_value=0, max_value=len(code) - 1))
    new_digit = data.draw(st.sampled_from(string.digits).filter(lambda d: d != code[position]))
    changed = code[:position] + new_digit + code[position + 1 :]

    is_valid = is_valid_gsrn if len(code) == 18 else is_valid_gtin
    assert is_valid(code)
    assert not is_valid(changed)


@FAST
@given(st.text(alphabet=string.digits, min_size=1, max_size=30))
def test_check_digit_makes_a_code_valid(digits):
    code = digits + gs1_check_digit(digits)

    assert (len(code) in {8, 12, 13, 14}) == is_valid_gtin(code)
    assert (len(code) == 18) == is_valid_gsrn(code)


@FAST
@given(st.text(alphabet=string.digits, min_size=0, max_size=40))
def test_unprefixed_digits_are_a_gtin_or_start_with_our_ai(digits):
    scan = parse_scan(digits)

    if scan.kind == "medication":
        assert is_valid_gtin(digits) or digits.startswith("01")
    if scan.kind in {"wristband", "badge"}:
        assert digits.startswith(("8017", "8018"))
        assert is_valid_gsrn(digits[4:22])


GS1_ISH = st.lists(
    st.sampled_from(
        [
            *string.digits,
            *(GS, "(", ")", "]", "d", "C", "~", " ", "\r", "\n", "A", "é", "٣", "\x00", "<GS>"),
            *("01", "17", "10", "21", "8017", "8018", "8019", "30", "95", "00", "]d2", "]E0"),
            *(PATIENT_GSRN, NURSE_GSRN, GTIN_14, "271231", "280200"),
        ]
    ),
    max_size=30,
).map("".join)


@FAST
@given(
    st.one_of(st.text(max_size=200), GS1_ISH, st.text(alphabet="0123456789\x1d()", max_size=60)),
    st.sampled_from([None, "]d2", "]C0", "]E0", "d2", "", "garbage"]),
    st.sampled_from([None, True, False]),
    st.sampled_from([None, "~", "<GS>", ""]),
)
def test_parse_scan_never_raises(text, symbology_id, is_gs1, gs_substitute):
    scan = parse_scan(text, symbology_id=symbology_id, is_gs1=is_gs1, gs_substitute=gs_substitute)

    assert isinstance(scan, ParsedScan)
    json.dumps(scan.as_dict())
    if scan.kind == "unknown":
        assert scan.payload is None
        assert scan.error
    else:
        assert scan.error is None
        assert scan.payload is not None


# --- the printed form, one element per word, typed back (issue 13, item 7) ------------------


@pytest.mark.parametrize(
    "typed",
    [
        "(01)09520123456788 (17)271231 (10)L(2)A (21)SN0001",
        "  (01)09520123456788  (17)271231 (10)L(2)A (21)SN0001 ",
    ],
)
def test_the_spaced_printed_text_with_a_bracketed_lot_reads_back(typed):
    scan = gs1.parse_scan(typed)

    assert scan.kind == "medication"
    assert (scan.payload.gtin, scan.payload.lot, scan.payload.serial) == (
        "09520123456788",
        "L(2)A",
        "SN0001",
    )


def test_a_short_fixed_length_value_in_the_spaced_text_is_not_read_into_the_next():
    scan = gs1.parse_scan("(01)0952012345678 (17)271231 (10)LOT1")

    assert scan.kind == "unknown"
