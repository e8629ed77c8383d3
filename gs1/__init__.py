"""GS1 identifiers and barcode scans: check digits, element strings and `parse_scan`.

Pure: plain data in, plain data out; no Django. `parse_scan` never raises for a `str`:
anything it cannot read with certainty comes back as kind "unknown" with an `error` of the
form "CODE: human text", so a wristband number is never guessed to be a GTIN.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, Literal

from biip import ParseConfig, ParseError
from biip.gs1_application_identifiers import GS1ApplicationIdentifier
from biip.gs1_element_strings import GS1ElementString
from biip.gs1_messages import GS1Message
from biip.symbology import GS1Symbology

GS = "\x1d"

# Seven times our longest payload; bounds the work done on garbage input.
MAX_SCAN_LENGTH = 512
MAX_INSTANCE = 9_999_999_999

AI_GTIN = "01"
AI_EXPIRY = "17"
AI_LOT = "10"
AI_SERIAL = "21"
AI_PROVIDER_GSRN = "8017"
AI_RECIPIENT_GSRN = "8018"
AI_SERVICE_INSTANCE = "8019"

_OUR_LEADING_AIS = (AI_GTIN, AI_PROVIDER_GSRN, AI_RECIPIENT_GSRN)
_MEDICATION_ATTRIBUTE_AIS = frozenset({AI_EXPIRY, AI_LOT, AI_SERIAL})
# Other GS1 identification keys: next to one of ours, we cannot tell what the code is for.
_OTHER_KEY_AIS = frozenset(
    {"00", "02", "03", "253", "255", "401", "402", "414", "417"}
    | {"8003", "8004", "8006", "8010", "8013", "8026"}
)

_GTIN_LENGTHS = frozenset({8, 12, 13, 14})
_GTIN_SYMBOLOGIES = frozenset(s.value for s in GS1Symbology.with_gtin()) - {"E3"}
_GS1_MESSAGE_SYMBOLOGIES = frozenset(s.value for s in GS1Symbology.with_gs1_messages())

_SYMBOLOGY_ID_RE = re.compile(r"\][A-Za-z][0-9A-Za-z]")
_AI82_RE = re.compile(r"[!\"%-?A-Z_a-z]{1,20}")
_HRI_EXPIRY_RE = re.compile(r"\(17\)([0-9]{6})")

# Dates are checked by us (BAD_DATE) rather than raised from deep inside biip.
_BIIP_CONFIG = ParseConfig(gs1_element_strings_verify_date=False, separator_chars=(GS,))


class ScanError(StrEnum):
    EMPTY = "EMPTY"
    TOO_LONG = "TOO_LONG"
    NOT_GS1 = "NOT_GS1"
    MALFORMED_GS1 = "MALFORMED_GS1"
    UNSUPPORTED_GS1 = "UNSUPPORTED_GS1"
    AMBIGUOUS = "AMBIGUOUS"
    GTIN_CHECK_DIGIT = "GTIN_CHECK_DIGIT"
    GSRN_CHECK_DIGIT = "GSRN_CHECK_DIGIT"
    BAD_DATE = "BAD_DATE"
    MISSING_INSTANCE = "MISSING_INSTANCE"
    MISSING_GSRN = "MISSING_GSRN"
    BAD_INSTANCE = "BAD_INSTANCE"


# --- check digits -------------------------------------------------------------------------


def _is_ascii_digits(value: str) -> bool:
    # str.isdigit() alone accepts Arabic-Indic and other Unicode digits.
    return value.isascii() and value.isdigit()


def gs1_check_digit(digits_without_check: str) -> str:
    """GS1 mod-10 check digit: weights 3, 1, 3, … from the rightmost digit."""
    if not _is_ascii_digits(digits_without_check):
        raise ValueError(f"expected ASCII digits, got {digits_without_check!r}")
    total = sum(
        int(digit) * (3 if position % 2 == 0 else 1)
        for position, digit in enumerate(reversed(digits_without_check))
    )
    return str(-total % 10)


def _has_valid_check_digit(code: str, lengths: frozenset[int]) -> bool:
    return (
        len(code) in lengths and _is_ascii_digits(code) and gs1_check_digit(code[:-1]) == code[-1]
    )


def is_valid_gtin(code: str) -> bool:
    return _has_valid_check_digit(code, _GTIN_LENGTHS)


def normalize_gtin(code: str) -> str:
    """GTIN-8/12/13/14 -> GTIN-14, the form we store and compare."""
    if not is_valid_gtin(code):
        raise ValueError(f"not a valid GTIN: {code!r}")
    return code.zfill(14)


def is_valid_gsrn(code: str) -> bool:
    return _has_valid_check_digit(code, frozenset({18}))


def is_valid_gln(code: str) -> bool:
    return _has_valid_check_digit(code, frozenset({13}))


def make_gsrn(first_17_digits: str) -> str:
    if len(first_17_digits) != 17 or not _is_ascii_digits(first_17_digits):
        raise ValueError(f"a GSRN needs 17 digits before its check digit: {first_17_digits!r}")
    return first_17_digits + gs1_check_digit(first_17_digits)


def make_gtin(digits_without_check: str) -> str:
    if len(digits_without_check) + 1 not in _GTIN_LENGTHS or not _is_ascii_digits(
        digits_without_check
    ):
        raise ValueError(f"a GTIN needs 7, 11, 12 or 13 digits: {digits_without_check!r}")
    return digits_without_check + gs1_check_digit(digits_without_check)


# --- payloads -----------------------------------------------------------------------------


@dataclass(frozen=True)
class WristbandPayload:
    gsrn: str
    instance: int


@dataclass(frozen=True)
class BadgePayload:
    gsrn: str


@dataclass(frozen=True)
class MedicationPayload:
    gtin: str
    expiry: date | None = None
    lot: str | None = None
    serial: str | None = None


Payload = WristbandPayload | BadgePayload | MedicationPayload
ScanKind = Literal["wristband", "badge", "medication", "unknown"]


@dataclass(frozen=True)
class ParsedScan:
    kind: ScanKind
    payload: Payload | None
    text: str
    symbology_id: str | None
    element_strings: dict[str, str]
    error: str | None

    @property
    def error_code(self) -> str | None:
        return self.error.split(":", 1)[0] if self.error else None

    def as_dict(self) -> dict[str, Any]:
        payload = None
        if self.payload is not None:
            payload = {
                name: value.isoformat() if isinstance(value, date) else value
                for name, value in dataclasses.asdict(self.payload).items()
            }
        return {
            "kind": self.kind,
            "text": self.text,
            "symbology_id": self.symbology_id,
            "gs1": dict(self.element_strings),
            "payload": payload,
            "error": self.error,
            "error_code": self.error_code,
        }


# --- building element strings -------------------------------------------------------------


def _join_element_strings(elements: list[tuple[str, str]]) -> str:
    """Concatenate (AI, value) pairs with GS only after non-predefined-length AIs."""
    parts = []
    for index, (ai, value) in enumerate(elements):
        parts.append(ai + value)
        is_last = index == len(elements) - 1
        if not is_last and GS1ApplicationIdentifier.extract(ai).separator_required:
            parts.append(GS)
    return "".join(parts)


def _require_gsrn(gsrn: str) -> str:
    if not is_valid_gsrn(gsrn):
        raise ValueError(f"not a valid GSRN: {gsrn!r}")
    return gsrn


def wristband_element_string(p: WristbandPayload) -> str:
    # 8018 is N18 but not a GS1 "predefined length" AI, so GS1 still puts a GS after it.
    if isinstance(p.instance, bool) or not 1 <= p.instance <= MAX_INSTANCE:
        raise ValueError(f"band instance must be 1..{MAX_INSTANCE}: {p.instance!r}")
    return _join_element_strings(
        [(AI_RECIPIENT_GSRN, _require_gsrn(p.gsrn)), (AI_SERVICE_INSTANCE, str(p.instance))]
    )


def badge_element_string(p: BadgePayload) -> str:
    return _join_element_strings([(AI_PROVIDER_GSRN, _require_gsrn(p.gsrn))])


def _require_ai82(name: str, value: str) -> str:
    if not _AI82_RE.fullmatch(value):
        raise ValueError(f"{name} must be 1-20 characters of the GS1 AI 82 set: {value!r}")
    return value


def medication_element_string(p: MedicationPayload) -> str:
    elements = [(AI_GTIN, normalize_gtin(p.gtin))]
    if p.expiry is not None:
        elements.append((AI_EXPIRY, p.expiry.strftime("%y%m%d")))
    if p.lot is not None:
        elements.append((AI_LOT, _require_ai82("lot", p.lot)))
    if p.serial is not None:
        elements.append((AI_SERIAL, _require_ai82("serial", p.serial)))
    return _join_element_strings(elements)


def to_hri(element_string: str, separator: str = "") -> str:
    """Render as HRI, e.g. "(01)09520000000011(17)271231"; ValueError if it is not GS1.

    Printed labels put a space between elements ("(01)… (17)…"): easier to read aloud and to
    type, and `parse_scan` reads it back (no AI value can hold a space)."""
    elements = _split_element_strings(element_string)
    if isinstance(elements, _Failure):
        raise ValueError(elements.error)
    return separator.join(f"({es.ai.ai}){es.value}" for es in elements)


# --- parsing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Failure:
    error: str


def _failure(code: ScanError, message: str) -> _Failure:
    return _Failure(f"{code}: {message}")


def _shorten(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")


def _element_failure(rest: str, reason: str) -> _Failure:
    expiry = rest[2:8]
    if rest.startswith(AI_EXPIRY) and len(expiry) == 6 and _is_ascii_digits(expiry):
        return _failure(ScanError.BAD_DATE, f"expiry (17) {expiry} is not a real date")
    return _failure(
        ScanError.MALFORMED_GS1, f"cannot read an element string at {_shorten(rest)}: {reason}"
    )


def _split_element_strings(text: str) -> list[GS1ElementString] | _Failure:
    """biip's GS1Message.parse loop, kept here to know where and why it stops."""
    elements = []
    rest = text.strip(GS)
    if not rest:
        return _failure(ScanError.MALFORMED_GS1, "no element strings")
    while rest:
        try:
            element = GS1ElementString.extract(rest, config=_BIIP_CONFIG)
        except (ParseError, ValueError) as exc:
            return _element_failure(rest, _shorten(str(exc), 120))
        elements.append(element)
        rest = rest[len(element) :].lstrip(GS)
    return elements


_SPACED_HRI_PART_RE = re.compile(r"\((\d{2,4})\)(\S+)")


def _parse_spaced_hri(text: str) -> list[GS1ElementString] | None:
    """Our labels' printed form, one element per word: "(01)… (17)… (10)L(2)A (21)…". The spaces
    settle where a lot holding brackets ends, which bracketed text alone cannot. None when the
    text is not in that form."""
    parts = text.split()
    matches = [_SPACED_HRI_PART_RE.fullmatch(part) for part in parts]
    if len(parts) < 2 or not all(matches):
        return None
    typed = [(match.group(1), match.group(2)) for match in matches if match is not None]
    elements = _split_element_strings(_join_element_strings(typed))
    # each word must be exactly one element: a short fixed-length value would run into the next
    if isinstance(elements, _Failure) or [(e.ai.ai, e.value) for e in elements] != typed:
        return None
    return elements


def _parse_hri(text: str) -> list[GS1ElementString] | _Failure:
    spaced = _parse_spaced_hri(text)
    if spaced is not None:
        return spaced
    try:
        message = GS1Message.parse_hri(text, config=_BIIP_CONFIG)
    except (ParseError, ValueError) as exc:
        expiry = _HRI_EXPIRY_RE.search(text)
        if expiry:
            bad_expiry = _split_element_strings(AI_EXPIRY + expiry.group(1))
            if isinstance(bad_expiry, _Failure):
                return bad_expiry
        return _failure(ScanError.MALFORMED_GS1, _shorten(str(exc), 120))
    # biip's HRI regex silently skips text it cannot match, e.g. "(10)A(B" reads as lot "A".
    if message.as_hri() != "".join(text.split()):
        return _failure(ScanError.MALFORMED_GS1, "part of the bracketed text is not GS1")
    return list(message.element_strings)


def _as_ai_map(elements: list[GS1ElementString]) -> dict[str, str] | _Failure:
    values: dict[str, str] = {}
    for element in elements:
        ai, value = element.ai.ai, element.value
        if not value.isascii():
            return _failure(ScanError.MALFORMED_GS1, f"AI {ai} holds non-ASCII digits")
        if values.get(ai, value) != value:
            return _failure(ScanError.AMBIGUOUS, f"AI {ai} appears twice with different values")
        values[ai] = value
    return values


def _check_digit_failure(values: dict[str, str]) -> _Failure | None:
    gtin = values.get(AI_GTIN)
    if gtin is not None and not is_valid_gtin(gtin):
        return _failure(ScanError.GTIN_CHECK_DIGIT, f"GTIN (01) {gtin} has a wrong check digit")
    for ai, who in ((AI_RECIPIENT_GSRN, "patient"), (AI_PROVIDER_GSRN, "care provider")):
        gsrn = values.get(ai)
        if gsrn is not None and not is_valid_gsrn(gsrn):
            return _failure(
                ScanError.GSRN_CHECK_DIGIT, f"{who} GSRN ({ai}) {gsrn} has a wrong check digit"
            )
    return None


_GS1Read = tuple[list[GS1ElementString], dict[str, str]]


def _read_gs1(body: str) -> _GS1Read | _Failure:
    """Element strings and AI map, or why the text is not well-formed GS1 with valid keys."""
    elements = _parse_hri(body) if body.startswith("(") else _split_element_strings(body)
    if isinstance(elements, _Failure):
        return elements
    values = _as_ai_map(elements)
    if isinstance(values, _Failure):
        return values
    return _check_digit_failure(values) or (elements, values)


def _medication(
    elements: list[GS1ElementString], values: dict[str, str]
) -> MedicationPayload | _Failure:
    expiry = None
    if AI_EXPIRY in values:
        # biip applies GS1's rules: the century window and day 00 = last day of the month.
        expiry = next(es.date for es in elements if es.ai.ai == AI_EXPIRY)
        if expiry is None:
            return _failure(
                ScanError.BAD_DATE, f"expiry (17) {values[AI_EXPIRY]} is not a real date"
            )
    return MedicationPayload(
        gtin=values[AI_GTIN],
        expiry=expiry,
        lot=values.get(AI_LOT),
        serial=values.get(AI_SERIAL),
    )


def _wristband(values: dict[str, str]) -> WristbandPayload | _Failure:
    if AI_RECIPIENT_GSRN not in values:
        return _failure(ScanError.MISSING_GSRN, "band instance (8019) without patient GSRN (8018)")
    if AI_SERVICE_INSTANCE not in values:
        return _failure(
            ScanError.MISSING_INSTANCE, "patient GSRN (8018) without band instance (8019)"
        )
    instance = int(values[AI_SERVICE_INSTANCE])
    if instance < 1:
        return _failure(ScanError.BAD_INSTANCE, "band instance (8019) must be 1 or more")
    return WristbandPayload(gsrn=values[AI_RECIPIENT_GSRN], instance=instance)


def _ambiguity(values: dict[str, str]) -> _Failure | None:
    present = set(values)
    kinds = [
        name
        for name, ais in (
            ("medication (01)", {AI_GTIN}),
            ("badge (8017)", {AI_PROVIDER_GSRN}),
            ("wristband (8018/8019)", {AI_RECIPIENT_GSRN, AI_SERVICE_INSTANCE}),
        )
        if present & ais
    ]
    if len(kinds) > 1:
        return _failure(ScanError.AMBIGUOUS, "the code mixes " + " and ".join(kinds))
    other_keys = sorted(present & _OTHER_KEY_AIS)
    if kinds and other_keys:
        return _failure(
            ScanError.AMBIGUOUS, f"{kinds[0]} together with other GS1 keys {other_keys}"
        )
    medication_attributes = sorted(present & _MEDICATION_ATTRIBUTE_AIS)
    if kinds and AI_GTIN not in present and medication_attributes:
        return _failure(
            ScanError.AMBIGUOUS, f"{kinds[0]} with medication fields {medication_attributes}"
        )
    if not kinds:
        return _failure(ScanError.UNSUPPORTED_GS1, "GS1 but neither 01, 8017 nor 8018")
    return None


def _interpret_gs1(
    elements: list[GS1ElementString], values: dict[str, str]
) -> tuple[ScanKind, Payload] | _Failure:
    ambiguity = _ambiguity(values)
    if ambiguity is not None:
        return ambiguity
    if AI_GTIN in values:
        medication = _medication(elements, values)
        return medication if isinstance(medication, _Failure) else ("medication", medication)
    if AI_PROVIDER_GSRN in values:
        return "badge", BadgePayload(gsrn=values[AI_PROVIDER_GSRN])
    wristband = _wristband(values)
    return wristband if isinstance(wristband, _Failure) else ("wristband", wristband)


def _is_bare_gtin_shape(body: str) -> bool:
    return len(body) in _GTIN_LENGTHS and _is_ascii_digits(body)


def _normalize_symbology_id(symbology_id: str | None) -> str | None:
    if not symbology_id or not symbology_id.strip():
        return None
    symbology_id = symbology_id.strip()
    return symbology_id if symbology_id.startswith("]") else "]" + symbology_id


@dataclass(frozen=True)
class _Scan:
    """The scan after stripping whitespace, the symbology id and the GS substitute."""

    text: str
    symbology_id: str | None

    def unknown(self, failure: _Failure) -> ParsedScan:
        return ParsedScan(
            kind="unknown",
            payload=None,
            text=self.text,
            symbology_id=self.symbology_id,
            element_strings={},
            error=failure.error,
        )

    def recognised(
        self, kind: ScanKind, payload: Payload, element_strings: dict[str, str]
    ) -> ParsedScan:
        return ParsedScan(
            kind=kind,
            payload=payload,
            text=self.text,
            symbology_id=self.symbology_id,
            element_strings=element_strings,
            error=None,
        )


def _prepare(text: str, symbology_id: str | None, gs_substitute: str | None) -> _Scan:
    prefix = _SYMBOLOGY_ID_RE.match(text)
    if prefix:
        text = text[prefix.end() :]
    if gs_substitute:
        text = text.replace(gs_substitute, GS)
    # str.strip() also strips GS (Python counts it as whitespace): a leading FNC1 goes too.
    return _Scan(
        text=text.strip(),
        symbology_id=prefix.group() if prefix else _normalize_symbology_id(symbology_id),
    )


def _gtin_result(scan: _Scan) -> ParsedScan:
    if is_valid_gtin(scan.text):
        return scan.recognised("medication", MedicationPayload(normalize_gtin(scan.text)), {})
    if _is_bare_gtin_shape(scan.text):
        return scan.unknown(
            _failure(ScanError.GTIN_CHECK_DIGIT, f"GTIN {scan.text} has a wrong check digit")
        )
    return scan.unknown(
        _failure(ScanError.MALFORMED_GS1, f"{scan.symbology_id} needs 8-14 digits (a GTIN)")
    )


def _gs1_result(scan: _Scan, read: _GS1Read | _Failure) -> ParsedScan:
    if isinstance(read, _Failure):
        return scan.unknown(read)
    elements, values = read
    interpreted = _interpret_gs1(elements, values)
    if isinstance(interpreted, _Failure):
        return scan.unknown(interpreted)
    kind, payload = interpreted
    return scan.recognised(kind, payload, values)


def _unprefixed_result(scan: _Scan) -> ParsedScan:
    """No GS1 indicator: a bare GTIN, or GS1 text whose scanner dropped the prefix."""
    if _is_bare_gtin_shape(scan.text):
        if is_valid_gtin(scan.text):
            return _gtin_result(scan)
        why = f"{len(scan.text)} digits but not a GTIN (wrong check digit)"
    elif scan.text.startswith(_OUR_LEADING_AIS):
        read = _read_gs1(scan.text)
        if not isinstance(read, _Failure):
            return _gs1_result(scan, read)
        why = f"looks like GS1 but is not ({read.error})"
    else:
        why = "no GS1 symbology identifier, no AI 01/8017/8018 at the start, no (AI) brackets"
    return scan.unknown(_failure(ScanError.NOT_GS1, why))


def parse_scan(
    text: str,
    *,
    symbology_id: str | None = None,
    is_gs1: bool | None = None,
    gs_substitute: str | None = None,
) -> ParsedScan:
    """Read one scanned code as a wristband, a badge, a medication, or unknown with a reason.

    `symbology_id` and `is_gs1` come from an image decoder; a symbology id inside the text
    (keyboard-wedge scanners) wins over the argument. `gs_substitute` is the string a
    scanner was configured to send instead of the unprintable GS.
    """
    text = text.strip()
    if len(text) > MAX_SCAN_LENGTH:
        return _Scan(text=text, symbology_id=None).unknown(
            _failure(ScanError.TOO_LONG, f"{len(text)} characters, at most {MAX_SCAN_LENGTH}")
        )
    scan = _prepare(text, symbology_id, gs_substitute)
    if not scan.text:
        return scan.unknown(_failure(ScanError.EMPTY, "nothing was scanned"))

    symbology = scan.symbology_id[1:] if scan.symbology_id else None
    if symbology in _GTIN_SYMBOLOGIES:
        return _gtin_result(scan)
    if symbology in _GS1_MESSAGE_SYMBOLOGIES or is_gs1:
        if symbology is None and _is_bare_gtin_shape(scan.text):
            return _gtin_result(scan)  # a bare 13 digits is an EAN-13, never AI 95
        return _gs1_result(scan, _read_gs1(scan.text))
    if symbology is not None:
        return scan.unknown(
            _failure(ScanError.NOT_GS1, f"symbology {scan.symbology_id} does not carry GS1 data")
        )
    if is_gs1 is False:
        if is_valid_gtin(scan.text):
            return _gtin_result(scan)
        return scan.unknown(_failure(ScanError.NOT_GS1, "the decoder says the code is not GS1"))
    if scan.text.startswith("("):
        return _gs1_result(scan, _read_gs1(scan.text))
    return _unprefixed_result(scan)
