"""Original-mode acknowledgements (MSH + MSA [+ ERR]) for received messages, built with hl7apy
(pure: no ORM, no settings)."""

from __future__ import annotations

from datetime import datetime

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message
from hl7apy.factories import datatype_factory

VERSION = "2.5"
STRICT = VALIDATION_LEVEL.STRICT
# HL7 table 0357, the codes we use.
ERROR_TEXT = {
    "100": "Segment sequence error",
    "101": "Required field missing",
    "102": "Data type error",
    "103": "Table value not found",
    "200": "Unsupported message type",
    "201": "Unsupported event code",
    "204": "Unknown key identifier",
    "205": "Duplicate key identifier",
    "207": "Application internal error",
}


def _text(element, datatype: str, value: str, limit: int) -> None:
    value = " ".join(value.split())[:limit]
    if value:
        element.value = datatype_factory(datatype, value, version=VERSION, validation_level=STRICT)


def _plain_id(value: str, limit: int) -> str:
    """An identifier safe in an ST field without escaping (MSH-3/5/6, MSA-2)."""
    return "".join(ch for ch in value if ch not in "|^~\\&\r\n")[:limit]


def ack_build(
    *,
    code: str,
    acknowledged_id: str,
    trigger: str,
    control_id: str,
    at: datetime,
    application: str,
    facility: str,
    to_application: str = "",
    to_facility: str = "",
    error_code: str = "",
    error_location: str = "",
    error_text: str = "",
) -> str:
    """AA, or AE / AR with an ERR segment: where (ERR-2), the HL7 error code (ERR-3), severity E
    (ERR-4) and what was wrong in words (ERR-8)."""
    ack = Message("ACK", version=VERSION, validation_level=STRICT)
    msh = ack.msh
    _text(msh.msh_3.hd_1, "IS", _plain_id(application, 20), 20)
    if facility:
        _text(msh.msh_4.hd_1, "IS", _plain_id(facility, 20), 20)
    if to_application:
        _text(msh.msh_5.hd_1, "IS", _plain_id(to_application, 20), 20)
    if to_facility:
        _text(msh.msh_6.hd_1, "IS", _plain_id(to_facility, 20), 20)
    msh.msh_7 = at.strftime("%Y%m%d%H%M%S%z")
    trigger = _plain_id(trigger, 3)
    msh.msh_9 = f"ACK^{trigger}^ACK" if trigger else "ACK"
    msh.msh_10 = _plain_id(control_id, 20)
    msh.msh_11 = "P"
    msh.msh_18 = "UNICODE UTF-8"
    msa = ack.add_segment("MSA")
    msa.msa_1 = code
    _text(msa.msa_2, "ST", acknowledged_id, 199)
    if code != "AA":
        err = ack.add_segment("ERR")
        if error_location:
            err.err_2 = _plain_id(error_location.replace("^", "\x00"), 40).replace("\x00", "^")
        error_code = error_code or "207"
        err.err_3 = f"{error_code}^{ERROR_TEXT.get(error_code, 'Error')}^HL70357"
        err.err_4 = "E"
        _text(err.err_8, "TX", error_text, 250)
    return ack.to_er7() + "\r"
