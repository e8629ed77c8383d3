"""HL7 v2.5 messages for other hospital systems, built with hl7apy (pure: no ORM, no settings).

`ras_o17` maps one administration record to a pharmacy/treatment administration message:

    MSH  UTF-8 declared in MSH-18; MSH-10 = the record's short id, stable across re-sends;
         MSH-15/16 AL/AL for a destination in enhanced acknowledgement mode
    NTE  the nurse's comment, if any
    PID  MRN, name (family^given^middle), date of birth, sex
    PV1  ward^^bed, PV1-19 the HIS's visit number
    ORC  RE; ORC-2/ORC-3 the HIS's placer and filler order numbers
    RXA  RXA-2 the record's place among the order's administrations; times, product (GTIN, else
         formulary code), amount + UCUM unit, notes (why not given, withdrawn or partial),
         performer, lots and expiries, refusal, PRN indication, completion status CP/PA/RE/NA,
         action A (or D for entered in error), system entry time, the scanned barcode
    RXR  route (HL7 table 0162) and site (HL7 table 0163 when coded, else the old free text)
    OBX  the witness of a high-alert dose, if any
    OBX  a student nurse's record: the clinical instructor who co-signed it (local code COSIGNER)
    OBX  the amount wasted of the units (NM + UCUM unit), if any: OBX-14 when, OBX-16 the
         witness of the waste, OBX-17 why (README, "Interop: waste", says why an OBX)
    OBX  each value measured before giving or holding the dose (heart rate, glucose, pain…):
         NM, LOINC code (LN), the value, its UCUM unit, OBX-14 the record's time

Numbers the HIS did not give (an order or admission typed in /pharmacy/) go out as our own stable
short ids with our application (MSH-3) as the assigning authority: `ID^BCMA` in ORC-2/3 (EI-2) and
`ID^^^BCMA` in PV1-19 (CX-4), so a receiver never mistakes them for its own numbers.

A patch, ring or implant taken off is sent as an update of the record that applied it (RXA-21 =
U, same ORC-2/ORC-3 and RXA-2, its own MSH-10): RXA-3 stays the time it was applied, RXA-4 is the
time it was removed (the end of the administration), RXA-9 adds REMOVED. A waste documented after
the record is sent the same way (RXA-21 = U, its own MSH-10 from the waste's id), with its OBX.

An entered-in-error record is sent as the withdrawn record's content with RXA-21 = D and the same
ORC-2/ORC-3 and RXA-2, so a receiver deletes exactly the administration it was sent before.

Every segment ends with a carriage return, the last one too (HL7 v2 says segments are terminated,
not separated; some receivers drop an unterminated last segment).
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
from hl7apy.core import Element, ElementProxy, Message
from hl7apy.factories import datatype_factory

from interop.ids import short_id
from interop.snapshot import (
    BAG_COMPLETED,
    BAG_STARTED,
    COMPLETED,
    ENTERED_IN_ERROR,
    NOT_DONE,
    REFUSED,
    AdministrationSnapshot,
    InfusionState,
    Measurement,
    Staff,
    WasteSnapshot,
)
from pharmacy.assessments import ASSESSMENT_KINDS
from pharmacy.body_sites import HL7_TABLE as SITE_CODES
from pharmacy.body_sites import site_get
from pharmacy.routes import ROUTES as PHARMACY_ROUTES

VERSION = "2.5"
STRICT = VALIDATION_LEVEL.STRICT
CHARACTER_SET = "UNICODE UTF-8"
MESSAGE_TYPE = "RAS^O17^RAS_O17"
LOCAL_CODES = "L"  # HL7 table 0396: locally defined codes
REMOVED = "REMOVED"  # RXA-9: the patch, ring or implant was taken off
# GTIN is not in table 0396 (v2.5), which reserves "99zzz" for local coding systems: GS1's GTIN
# goes out as "99GS1", with the formulary code as the alternate identifier (CE-4..6, "L"), which a
# receiver that does not know GTINs maps instead.
GTIN_CODES = "99GS1"
UCUM_CODES = "UCUM"
ROUTE_CODES = "HL70162"
# HL7 v2.5 limits CE-1/CWE-1 (identifier) to 20 characters.
CODE_MAX_LENGTH = 20
SEGMENT_END = "\r"

# A segment, field or component of an hl7apy message, reached by attribute (`pid.pid_3.cx_1`: an
# ElementProxy) or added (`rxa.add_field("RXA_15")`: an Element). hl7apy has no type information,
# so to mypy these are Any (ignore_missing_imports): the alias says what they are.
type Hl7Element = ElementProxy | Element

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

# HL7 table 0162 displays for the routes we use (pharmacy/routes.py).
ROUTES = {code: names.hl7 for code, names in PHARMACY_ROUTES.items()}


@dataclass(frozen=True)
class Hl7Config:
    sending_application: str = "BCMA"
    sending_facility: str = "HOSPITAL"
    receiving_application: str = ""
    receiving_facility: str = ""
    processing_id: str = "P"  # HL7 table 0103: P production, T training, D debugging
    time_zone: str = "Asia/Ho_Chi_Minh"
    # Enhanced acknowledgement mode: MSH-15/16 = AL/AL (a commit ACK, then the application ACK).
    enhanced_acks: bool = False


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
    """The ER7 text of the RAS^O17 message for one record: every segment ends with `\\r`."""
    er7: str = ras_o17_message(snapshot, config).to_er7()
    return er7 + SEGMENT_END


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
    if snapshot.visit_number:
        _text(pv1.pv1_19.cx_1, snapshot.visit_number)
    else:
        _text(pv1.pv1_19.cx_1, short_id(snapshot.encounter_id))
        _text(pv1.pv1_19.cx_4.hd_1, config.sending_application)

    order = message.add_group("RAS_O17_ORDER")
    orc = order.orc
    orc.orc_1 = "RE"
    _order_number(orc.orc_2, snapshot.placer_order_number, snapshot, config)
    _order_number(orc.orc_3, snapshot.filler_order_number, snapshot, config)
    _timestamp(orc.orc_9, snapshot.recorded_at, zone)
    _staff(orc.orc_10, snapshot.performer)

    administration = order.add_group("RAS_O17_ADMINISTRATION")
    _rxa(administration.rxa, snapshot, zone)
    rxr = administration.rxr
    route = record.route or snapshot.order_route
    _coded(rxr.rxr_1, route, ROUTES.get(route, route), ROUTE_CODES)
    body_site = site_get(record.site)
    if body_site is not None:
        _coded(rxr.rxr_2, body_site.code, body_site.hl7, SITE_CODES)
    elif record.site:
        _text(rxr.rxr_2.cwe_2, record.site)
    if record.witness is not None:
        observation = administration.add_group("RAS_O17_OBSERVATION")
        obx = observation.obx
        obx.obx_1 = "1"
        obx.obx_2 = "XCN"
        _coded(obx.obx_3, "WITNESS", "Witness of a high-alert dose", LOCAL_CODES)
        obx.obx_5 = _xcn_er7(record.witness)
        obx.obx_11 = "F"
    set_id = 1 if record.witness is not None else 0
    if record.cosigner is not None:
        # A student nurse's record: her clinical instructor's co-sign, as the witness goes out.
        set_id += 1
        observation = administration.add_group("RAS_O17_OBSERVATION")
        obx = observation.obx
        obx.obx_1 = str(set_id)
        obx.obx_2 = "XCN"
        _coded(obx.obx_3, "COSIGNER", "Clinical instructor co-signing a student", LOCAL_CODES)
        obx.obx_5 = _xcn_er7(record.cosigner)
        obx.obx_11 = "F"
    if record.waste is not None and snapshot.status == COMPLETED:
        set_id += 1
        _waste_obx(administration, record.waste, set_id, zone)
    for measurement in record.assessments:
        set_id += 1
        _assessment_obx(administration, measurement, set_id, record.administered_at, zone)
    return message


def _assessment_obx(
    administration: Hl7Element,
    measurement: Measurement,
    set_id: int,
    measured_at: datetime,
    zone: ZoneInfo,
) -> None:
    """A value measured before giving (or holding) the dose: LOINC-coded, in its UCUM unit."""
    kind = ASSESSMENT_KINDS.get(measurement.kind)
    obx = administration.add_group("RAS_O17_OBSERVATION").obx
    obx.obx_1 = str(set_id)
    obx.obx_2 = "NM"
    if kind is not None:
        _coded(obx.obx_3, kind.loinc, kind.loinc_display, "LN")
    else:
        _coded(obx.obx_3, measurement.kind, measurement.kind, LOCAL_CODES)
    obx.obx_5 = _number(measurement.value)
    _coded(obx.obx_6, measurement.unit, measurement.unit, UCUM_CODES)
    obx.obx_11 = "F"
    _timestamp(obx.obx_14, measured_at, zone)


def _waste_obx(
    administration: Hl7Element, waste: WasteSnapshot, set_id: int, zone: ZoneInfo
) -> None:
    """The part of the units not given, as an observation on the administration: a receiver that
    does not know the code still files it with the dose, and RXA-6 stays what was given."""
    obx = administration.add_group("RAS_O17_OBSERVATION").obx
    obx.obx_1 = str(set_id)
    obx.obx_2 = "NM"
    _coded(obx.obx_3, "WASTE", "Amount wasted of the units", LOCAL_CODES)
    obx.obx_5 = _number(waste.amount)
    code, text = UCUM.get(waste.unit, (waste.unit, waste.unit))
    _coded(obx.obx_6, code, text, UCUM_CODES)
    obx.obx_11 = "F"
    _timestamp(obx.obx_14, waste.wasted_at, zone)
    if waste.witness is not None:
        _staff(obx.obx_16, waste.witness)
    _coded(obx.obx_17, waste.reason, waste.reason_label or waste.reason, LOCAL_CODES)


def _order_number(
    field: Hl7Element, his_number: str, snapshot: AdministrationSnapshot, config: Hl7Config
) -> None:
    """The HIS's number as it sent it, or our own stable one with our namespace (EI-2)."""
    if his_number:
        _text(field.ei_1, his_number)
    else:
        _text(field.ei_1, short_id(snapshot.order_id))
        _text(field.ei_2, config.sending_application)


def _msh(
    message: Message, snapshot: AdministrationSnapshot, config: Hl7Config, zone: ZoneInfo
) -> None:
    msh = message.msh
    _text(msh.msh_3.hd_1, config.sending_application)
    # The hospital the record was made in speaks for it; the setting only for older snapshots.
    _text(msh.msh_4.hd_1, snapshot.hl7_facility or config.sending_facility)
    if config.receiving_application:
        _text(msh.msh_5.hd_1, config.receiving_application)
    if config.receiving_facility:
        _text(msh.msh_6.hd_1, config.receiving_facility)
    # The record's own time, not "now": a re-built message is byte-for-byte the same.
    msh.msh_7 = _ts(snapshot.recorded_at, zone)
    msh.msh_9 = MESSAGE_TYPE
    # A waste documented later, a bag's later events and a patch's removal are messages of their
    # own about the same record.
    if snapshot.waste_update is not None:
        control_id = snapshot.waste_update
    elif snapshot.infusion is not None:
        control_id = snapshot.infusion.event_id
    elif snapshot.removed is not None:
        control_id = snapshot.removed.id
    else:
        control_id = snapshot.id
    msh.msh_10 = message_control_id(control_id)
    msh.msh_11 = config.processing_id
    if config.enhanced_acks:
        msh.msh_15 = "AL"  # accept (commit) acknowledgement: always
        msh.msh_16 = "AL"  # application acknowledgement: always
    msh.msh_18 = CHARACTER_SET


def _pid(pid: Hl7Element, snapshot: AdministrationSnapshot, config: Hl7Config) -> None:
    patient = snapshot.patient
    pid.pid_1 = "1"
    _text(pid.pid_3.cx_1, patient.mrn)
    _text(pid.pid_3.cx_4.hd_1, snapshot.hl7_facility or config.sending_facility)
    pid.pid_3.cx_5 = "MR"
    family, given, middle = patient.name_parts
    _text(pid.pid_5.xpn_1.fn_1, family)
    _text(pid.pid_5.xpn_2, given)
    _text(pid.pid_5.xpn_3, middle)
    pid.pid_5.xpn_7 = "L"  # legal name
    pid.pid_7.ts_1 = _date(patient.date_of_birth)
    pid.pid_8 = patient.sex


def _rxa(rxa: Hl7Element, snapshot: AdministrationSnapshot, zone: ZoneInfo) -> None:
    record = snapshot.clinical
    if len(snapshot.medication_code) > CODE_MAX_LENGTH:
        raise Hl7MappingError(
            f"formulary code {snapshot.medication_code!r} is longer than HL7's "
            f"{CODE_MAX_LENGTH} characters"
        )
    rxa.rxa_1 = "0"
    rxa.rxa_2 = str(record.administration_number)
    _timestamp(rxa.rxa_3, record.administered_at, zone)
    _timestamp(
        rxa.rxa_4, snapshot.removed.removed_at if snapshot.removed else record.administered_at, zone
    )
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
    for code, label in _rxa_notes(snapshot):
        _coded(rxa.add_field("RXA_9"), code, label or code, LOCAL_CODES)
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
    if record.prn_indication:
        _text(rxa.rxa_19.ce_2, record.prn_indication)
    infusion = snapshot.infusion if snapshot.status != ENTERED_IN_ERROR else None
    if infusion is None:
        rxa.rxa_20 = completion_status(record)
    _timestamp(rxa.rxa_22, snapshot.recorded_at, zone)
    if infusion is not None:
        _rxa_infusion(rxa, infusion, zone)
    rxa.rxa_21 = _action_code(snapshot, infusion)
    scanned = next((unit for unit in record.units if unit.barcode), None)
    if scanned is not None:
        # The identifier is the GTIN (CWE-1 holds 20 characters); the whole GS1 element string
        # as scanned, in human-readable form, is the original text (CWE-9).
        _text(rxa.rxa_25.cwe_1, scanned.gtin)
        _text(rxa.rxa_25.cwe_3, GTIN_CODES)
        _text(rxa.rxa_25.cwe_9, scanned.barcode)


def _rxa_infusion(rxa: Hl7Element, state: InfusionState, zone: ZoneInfo) -> None:
    """A bag's life on RXA: RXA-3 when it was hung; while it runs (or is paused) RXA-4 is this
    event's time, RXA-6/7 the rate with RXA-12 "H1" (per hour: 0 while paused) and RXA-20 is
    left empty (HL7 v2.5 table 0322 has no "in progress"); once taken down RXA-4 is its end,
    RXA-6/7 the volume infused, RXA-20 CP when completed and PA when stopped early. RXA-21
    (`_action_code`) is A for the hanging and U (update) for every later event."""
    _timestamp(rxa.rxa_3, state.started_at, zone)
    _timestamp(rxa.rxa_4, state.ended_at or state.at, zone)
    code, text = UCUM["mL"]
    if state.ended:
        rxa.rxa_6 = _number(state.volume_infused_ml or Decimal(0))
        _coded(rxa.rxa_7, code, text, UCUM_CODES)
        rxa.rxa_20 = "CP" if state.event == BAG_COMPLETED else "PA"
    else:
        rxa.rxa_6 = _number(state.rate_ml_h or Decimal(0))
        _coded(rxa.rxa_7, code, text, UCUM_CODES)
        rxa.rxa_12 = "H1"


def _action_code(snapshot: AdministrationSnapshot, infusion: InfusionState | None) -> str:
    """RXA-21: D for entered in error; U for an update of a record sent before (a removal, a
    waste documented later, a bag's later event); A for the record itself (a bag's hanging)."""
    if snapshot.status == ENTERED_IN_ERROR:
        return "D"
    if snapshot.removed is not None or snapshot.waste_update is not None:
        return "U"
    if infusion is not None and infusion.event != BAG_STARTED:
        return "U"
    return "A"


def _rxa_notes(snapshot: AdministrationSnapshot) -> list[tuple[str, str]]:
    """RXA-9's (code, label): why the record was entered in error or not given, and why a dose was
    partial."""
    record = snapshot.clinical
    notes = []
    if snapshot.status == ENTERED_IN_ERROR:
        notes.append((snapshot.reason, snapshot.reason_label))
    elif record.reason:
        notes.append((record.reason, record.reason_label))
    if record.status == COMPLETED and record.is_partial and record.partial_reason:
        notes.append((record.partial_reason, record.partial_reason_label))
    if snapshot.removed is not None:
        notes.append((REMOVED, "Đã tháo khỏi người bệnh"))
    return notes


def _text(element: Hl7Element, value: str) -> None:
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


def _coded(
    field: Hl7Element,
    code: str,
    text: str,
    system: str,
    *,
    alternate: tuple[str, str, str] | None = None,
) -> None:
    """A CE (or CWE) field: identifier ^ text ^ coding system [^ alternate triple]."""
    names = _component_names(field)
    for name, value in zip(names[:3], (code, text, system), strict=True):
        _text(getattr(field, name), value)
    if alternate is not None:
        for name, value in zip(names[3:6], alternate, strict=True):
            _text(getattr(field, name), value)


def _component_names(field: Hl7Element) -> list[str]:
    prefix = field.datatype.lower()
    return [f"{prefix}_{index}" for index in range(1, 7)]


def _staff(field: Hl7Element, staff: Staff) -> None:
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


def _timestamp(field: Hl7Element, moment: datetime, zone: ZoneInfo) -> None:
    field.ts_1 = _ts(moment, zone)


def _ts(moment: datetime, zone: ZoneInfo) -> str:
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
        """The receiver's application took the message. A commit ACK (CA) only says it stored
        it: in enhanced mode the application's AA is still to come."""
        return self.code == "AA"


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
    accept_ack_type: str = ""  # MSH-15: AL, NE, ER, SU (enhanced mode), empty in original mode


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
        accept_ack_type=str(msh(15)).strip().upper() if len(msh) > 15 else "",
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
    er7: str = ack.to_er7()
    return er7 + SEGMENT_END
