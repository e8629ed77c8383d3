"""HL7 v2.5 messages for other hospital systems, built with hl7apy (pure: no ORM, no settings).

`ras_o17` maps one administration record to a pharmacy/treatment administration message:

    MSH  UTF-8 declared in MSH-18; MSH-10 = the record's short id, stable across re-sends
    NTE  the nurse's comment, if any
    PID  MRN, name (family^given^middle), date of birth, sex
    PV1  ward^^bed, visit number = the admission
    ORC  RE; ORC-2 the order, ORC-3 the administration record (the one a delete refers to)
    RXA  times, product (GTIN, else formulary code), amount + UCUM unit, performer, lots and expiries,
         completion status CP/PA/RE/NA, action A (or D for entered in error), system entry time
    RXR  route (HL7 table 0162) and site
    OBX  the witness of a high-alert dose, if any

An entered-in-error record is sent as the withdrawn record's content with RXA-21 = D and ORC-3
naming the withdrawn record, so a receiver deletes exactly what it was sent before.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import hl7
from hl7.exceptions import HL7Exception
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message
from hl7apy.factories import datatype_factory

from interop.ids import short_id
from interop.snapshot import (
    COMPLETED,
    ENTERED_IN_ERROR,
    NOT_DONE,
    REFUSED,
    AdministrationSnapshot,
    Staff,
)

VERSION = "2.5"
STRICT = VALIDATION_LEVEL.STRICT
CHARACTER_SET = "UNICODE UTF-8"
MESSAGE_TYPE = "RAS^O17^RAS_O17"
LOCAL_CODES = "L"  # HL7 table 0396: locally defined codes
GTIN_CODES = "GTIN"
UCUM_CODES = "UCUM"
ROUTE_CODES = "HL70162"

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Longest value hl7apy accepts for each text type under STRICT validation (longer raises).
_MAX_LENGTH = {"ST": 199, "IS": 20, "GTS": 199, "FT": 65536, "TX": 65536}

# Our dose units → UCUM code and the text shown with it.
UCUM = {
    "mcg": ("ug", "mcg"),
    "mg": ("mg", "mg"),
    "g": ("g", "g"),
    "mL": ("mL", "mL"),
    "L": ("L", "L"),
    "IU": ("[iU]", "IU"),
    "each": ("{unit}", "unit"),
}

# HL7 table 0162 displays for the routes we use.
ROUTES = {
    "PO": "Oral",
    "SL": "Sublingual",
    "NG": "Nasogastric",
    "IV": "Intravenous",
    "IM": "Intramuscular",
    "SC": "Subcutaneous",
    "PR": "Rectal",
    "IH": "Inhalation",
    "OP": "Ophthalmic",
    "TP": "Topical",
}


@dataclass(frozen=True)
class Hl7Config:
    sending_application: str = "BCMA"
    sending_facility: str = "HOSPITAL"
    receiving_application: str = ""
    receiving_facility: str = ""
    processing_id: str = "P"  # HL7 table 0103: P production, T training, D debugging
    time_zone: str = "Asia/Ho_Chi_Minh"


class Hl7MappingError(ValueError):
    """The record cannot be expressed as a valid message (a bug, not a delivery problem)."""


def message_control_id(administration_id: uuid.UUID) -> str:
    return short_id(administration_id)


def completion_status(snapshot: AdministrationSnapshot) -> str:
    """RXA-20 (HL7 table 0322) of a given or not-given record."""
    if snapshot.status == COMPLETED:
        return "PA" if snapshot.is_partial else "CP"
    if snapshot.status == NOT_DONE:
        return "RE" if snapshot.reason == REFUSED else "NA"
    raise Hl7MappingError("an entered-in-error record has no completion status of its own")


def ras_o17(snapshot: AdministrationSnapshot, config: Hl7Config = Hl7Config()) -> str:
    """The ER7 text of the RAS^O17 message for one record: segments separated by `\\r`."""
    return ras_o17_message(snapshot, config).to_er7()


def ras_o17_message(snapshot: AdministrationSnapshot, config: Hl7Config = Hl7Config()) -> Message:
    zone = ZoneInfo(config.time_zone)
    record = snapshot.clinical
    message = Message("RAS_O17", version=VERSION, validation_level=STRICT)
    _msh(message, snapshot, config, zone)
    if snapshot.comment:
        nte = message.add_segment("NTE")
        nte.nte_1 = "1"
        _text(nte.nte_3, snapshot.comment)

    patient_group = message.add_group("RAS_O17_PATIENT")
    _pid(patient_group.pid, snapshot, config)
    visit = patient_group.add_group("RAS_O17_PATIENT_VISIT")
    pv1 = visit.pv1
    pv1.pv1_1 = "1"
    pv1.pv1_2 = "I"  # inpatient
    _text(pv1.pv1_3.pl_1, snapshot.ward_code)
    _text(pv1.pv1_3.pl_3, snapshot.bed_code)
    _text(pv1.pv1_19.cx_1, short_id(snapshot.encounter_id))

    order = message.add_group("RAS_O17_ORDER")
    orc = order.orc
    orc.orc_1 = "RE"
    _text(orc.orc_2.ei_1, short_id(snapshot.order_id))
    _text(orc.orc_3.ei_1, short_id(record.id))
    _timestamp(orc.orc_9, snapshot.recorded_at, zone)
    _staff(orc.orc_10, snapshot.performer)

    administration = order.add_group("RAS_O17_ADMINISTRATION")
    _rxa(administration.rxa, snapshot, zone)
    rxr = administration.rxr
    route = record.route or snapshot.order_route
    _coded(rxr.rxr_1, route, ROUTES.get(route, route), ROUTE_CODES)
    if record.site:
        _text(rxr.rxr_2.cwe_2, record.site)
    if record.witness is not None:
        observation = administration.add_group("RAS_O17_OBSERVATION")
        obx = observation.obx
        obx.obx_1 = "1"
        obx.obx_2 = "XCN"
        _coded(obx.obx_3, "WITNESS", "Witness of a high-alert dose", LOCAL_CODES)
        obx.obx_5 = _xcn_er7(record.witness)
        obx.obx_11 = "F"
    return message


def _msh(message: Message, snapshot: AdministrationSnapshot, config: Hl7Config, zone) -> None:
    msh = message.msh
    _text(msh.msh_3.hd_1, config.sending_application)
    _text(msh.msh_4.hd_1, config.sending_facility)
    if config.receiving_application:
        _text(msh.msh_5.hd_1, config.receiving_application)
    if config.receiving_facility:
        _text(msh.msh_6.hd_1, config.receiving_facility)
    # The record's own time, not "now": a re-built message is byte-for-byte the same.
    msh.msh_7 = _ts(snapshot.recorded_at, zone)
    msh.msh_9 = MESSAGE_TYPE
    msh.msh_10 = message_control_id(snapshot.id)
    msh.msh_11 = config.processing_id
    msh.msh_18 = CHARACTER_SET


def _pid(pid, snapshot: AdministrationSnapshot, config: Hl7Config) -> None:
    patient = snapshot.patient
    pid.pid_1 = "1"
    _text(pid.pid_3.cx_1, patient.mrn)
    _text(pid.pid_3.cx_4.hd_1, config.sending_facility)
    pid.pid_3.cx_5 = "MR"
    family, given, middle = patient.name_parts
    _text(pid.pid_5.xpn_1.fn_1, family)
    _text(pid.pid_5.xpn_2, given)
    _text(pid.pid_5.xpn_3, middle)
    pid.pid_5.xpn_7 = "L"  # legal name
    pid.pid_7.ts_1 = _date(patient.date_of_birth)
    pid.pid_8 = patient.sex


def _rxa(rxa, snapshot: AdministrationSnapshot, zone) -> None:
    record = snapshot.clinical
    rxa.rxa_1 = "0"
    rxa.rxa_2 = "1"
    _timestamp(rxa.rxa_3, record.administered_at, zone)
    _timestamp(rxa.rxa_4, record.administered_at, zone)
    gtins = record.gtins
    if gtins:
        _coded(
            rxa.rxa_5,
            gtins[0],
            snapshot.medication_name,
            GTIN_CODES,
            alternate=(snapshot.medication_code, snapshot.medication_name, LOCAL_CODES),
        )
    else:
        _coded(rxa.rxa_5, snapshot.medication_code, snapshot.medication_name, LOCAL_CODES)
    if record.status == COMPLETED and record.amount is not None:
        rxa.rxa_6 = _number(record.amount)
        unit = record.unit
    else:
        # Nothing was given: HL7 wants an amount, and zero is the truth.
        rxa.rxa_6 = "0"
        unit = snapshot.order_dose_unit
    if unit:
        code, text = UCUM.get(unit, (unit, unit))
        _coded(rxa.rxa_7, code, text, UCUM_CODES)
    if snapshot.status == ENTERED_IN_ERROR:
        _coded(rxa.rxa_9, snapshot.reason, snapshot.reason_label or snapshot.reason, LOCAL_CODES)
    elif record.reason:
        _coded(rxa.rxa_9, record.reason, record.reason_label or record.reason, LOCAL_CODES)
    _staff(rxa.rxa_10, record.performer)
    for lot, _expiry in record.lots:
        _text(rxa.add_field("RXA_15"), lot)
    if any(expiry for _lot, expiry in record.lots):
        for _lot, expiry in record.lots:
            field = rxa.add_field("RXA_16")
            if expiry is not None:
                field.ts_1 = _date(expiry)
    if record.status == NOT_DONE and record.reason == REFUSED:
        _coded(rxa.rxa_18, record.reason, record.reason_label or record.reason, LOCAL_CODES)
    rxa.rxa_20 = completion_status(record)
    rxa.rxa_21 = "D" if snapshot.status == ENTERED_IN_ERROR else "A"
    _timestamp(rxa.rxa_22, snapshot.recorded_at, zone)


def _text(element, value: str) -> None:
    """Set a primitive component from plain text. hl7apy escapes the delimiters (| ^ ~ \\ &) of a
    datatype object; a bare string would be parsed as components instead."""
    value = _plain(value)
    if not value:
        return
    datatype = element.datatype
    limit = _MAX_LENGTH.get(datatype)
    element.value = datatype_factory(
        datatype, value[:limit] if limit else value, version=VERSION, validation_level=STRICT
    )


def _coded(field, code: str, text: str, system: str, *, alternate=None) -> None:
    """A CE (or CWE) field: identifier ^ text ^ coding system [^ alternate triple]."""
    names = _component_names(field)
    for name, value in zip(names[:3], (code, text, system), strict=True):
        _text(getattr(field, name), value)
    if alternate is not None:
        for name, value in zip(names[3:6], alternate, strict=True):
            _text(getattr(field, name), value)


def _component_names(field) -> list[str]:
    prefix = field.datatype.lower()
    return [f"{prefix}_{index}" for index in range(1, 7)]


def _staff(field, staff: Staff) -> None:
    _text(field.xcn_1, staff.username)
    _text(field.xcn_2.fn_1, staff.family_name)
    _text(field.xcn_3, staff.given_name)


def _xcn_er7(staff: Staff) -> str:
    """OBX-5 is of type "varies", which hl7apy fills from ER7 text: escape it ourselves."""
    return "^".join(_escape(part) for part in (staff.username, staff.family_name, staff.given_name))


def _plain(value: str) -> str:
    """Control characters become spaces: a line break would end the segment, and 0x0b or 0x1c
    in a nurse's comment would break the MLLP frame."""
    return _CONTROL.sub(" ", value)


def _escape(value: str) -> str:
    return (
        _plain(value)
        .replace("\\", "\\E\\")
        .replace("|", "\\F\\")
        .replace("^", "\\S\\")
        .replace("&", "\\T\\")
        .replace("~", "\\R\\")
    )


def _timestamp(field, moment: datetime, zone) -> None:
    field.ts_1 = _ts(moment, zone)


def _ts(moment: datetime, zone) -> str:
    if moment.tzinfo is None:
        raise Hl7MappingError("times must be timezone-aware")
    return moment.astimezone(zone).strftime("%Y%m%d%H%M%S%z")


def _date(day: date) -> str:
    return day.strftime("%Y%m%d")


def _number(value: Decimal) -> str:
    return f"{value.normalize():f}"


@dataclass(frozen=True)
class Ack:
    code: str  # MSA-1: AA, AE, AR (or CA, CE, CR in enhanced mode)
    control_id: str  # MSA-2: the MSH-10 of the message acknowledged
    text: str = ""  # MSA-3, or ERR text, when the receiver explains itself

    @property
    def accepted(self) -> bool:
        return self.code in ("AA", "CA")


class AckParseError(ValueError):
    pass


def ack_parse(text: str) -> Ack:
    """Read an acknowledgement leniently (python-hl7): receivers send every variant of ACK, and
    what matters is MSA-1, MSA-2 and any explanation."""
    try:
        message = hl7.parse(text.replace("\r\n", "\r").replace("\n", "\r").strip())
        msa = message.segment("MSA")
    except (HL7Exception, KeyError, IndexError, ValueError) as error:
        raise AckParseError(f"not an HL7 acknowledgement: {text[:80]!r}") from error
    code = str(msa(1)).strip().upper() if len(msa) > 1 else ""
    control_id = str(msa(2)).strip() if len(msa) > 2 else ""
    explanation = message.unescape(str(msa(3))) if len(msa) > 3 else ""
    if not explanation:
        try:
            err = message.segment("ERR")
            explanation = message.unescape(str(err)) if err else ""
        except KeyError:
            explanation = ""
    if not code:
        raise AckParseError("the acknowledgement has no MSA-1 code")
    return Ack(code=code, control_id=control_id, text=explanation[:300])


@dataclass(frozen=True)
class ReceivedMessage:
    control_id: str
    message_type: str
    sending_application: str
    sending_facility: str


def message_header(text: str) -> ReceivedMessage:
    """MSH-10, MSH-9 and the sender of a received message, read leniently (python-hl7)."""
    try:
        message = hl7.parse(text.replace("\r\n", "\r").replace("\n", "\r").strip())
        msh = message.segment("MSH")
    except (HL7Exception, KeyError, IndexError) as error:
        raise ValueError(f"not an HL7 message: {text[:80]!r}") from error
    return ReceivedMessage(
        control_id=str(msh(10)),
        message_type=str(msh(9)),
        sending_application=str(msh(3)),
        sending_facility=str(msh(4)),
    )


def ack_build(
    received: ReceivedMessage,
    *,
    code: str = "AA",
    text: str = "",
    control_id: str,
    at: datetime,
    application: str = "MLLP-LISTEN",
    facility: str = "",
) -> str:
    """An original-mode ACK (MSH + MSA) for a received message, built with hl7apy."""
    ack = Message("ACK", version=VERSION, validation_level=STRICT)
    msh = ack.msh
    _text(msh.msh_3.hd_1, application)
    if facility:
        _text(msh.msh_4.hd_1, facility)
    if received.sending_application:
        _text(msh.msh_5.hd_1, received.sending_application.split("^")[0][:20])
    if received.sending_facility:
        _text(msh.msh_6.hd_1, received.sending_facility.split("^")[0][:20])
    msh.msh_7 = at.strftime("%Y%m%d%H%M%S%z")
    trigger = received.message_type.split("^")[1] if "^" in received.message_type else ""
    msh.msh_9 = f"ACK^{trigger}^ACK" if trigger else "ACK"
    msh.msh_10 = control_id
    msh.msh_11 = "P"
    msh.msh_18 = CHARACTER_SET
    msa = ack.add_segment("MSA")
    msa.msa_1 = code
    _text(msa.msa_2, received.control_id[:199])
    if text:
        _text(msa.msa_3, text)
    return ack.to_er7()
