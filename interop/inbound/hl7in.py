"""HL7 v2.5 ADT and pharmacy orders from the HIS → plain data (pure: no ORM, no settings).

Parsed with python-hl7, which splits on the message's own delimiters and leaves escapes in the
leaves; every value read is unescaped (`\\F\\`, `\\S\\`, `\\T\\`, `\\R\\`, `\\E\\`, `\\Xhh\\`).
Segments we do not read (Z-segments, EVN extras, NK1, IN1 but for the insurance number, OBX …)
are ignored. What a message must hold and does not is a `Rejected` (never stored as applicable)
or an `InboundProblem` (stored, answered AE, in the work queue).

    ADT^A01/A04 admit, A02 transfer, A03 discharge, A08 update, A11/A12/A13 cancel admit,
        transfer, discharge, A40 merge (MRG-1 the record merged away)
    RDE^O11 (RXE) and OMP^O09 (RXO): one ORC group per order, ORC-1 NW/XO/HD/RL/DC/CA,
        TQ1 timing, RXR route
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import timezone as fixed_offset
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

import hl7
from hl7.exceptions import HL7Exception

from interop.inbound import types as t

ADT_EVENTS = {
    "A01": t.ADMIT,
    "A04": t.ADMIT,
    "A02": t.TRANSFER,
    "A03": t.DISCHARGE,
    "A08": t.UPDATE,
    "A11": t.CANCEL_ADMIT,
    "A12": t.CANCEL_TRANSFER,
    "A13": t.CANCEL_DISCHARGE,
    "A40": t.MERGE,
}
ORDER_EVENTS = {("RDE", "O11"): "RXE", ("OMP", "O09"): "RXO"}
ORDER_CONTROLS = {
    "NW": t.NEW,
    "XO": t.CHANGE,
    "HD": t.HOLD,
    "RL": t.RELEASE,
    "DC": t.DISCONTINUE,
    "CA": t.CANCEL,
}

# UCUM (RXE-5, RXO-4) → our dose units. Anything else is a problem, not a guess.
UCUM_UNITS = {
    "mg": "mg",
    "g": "g",
    "ug": "mcg",
    "mcg": "mcg",
    "ml": "mL",
    "l": "L",
    "[iu]": "IU",
    "iu": "IU",
    "[i'u]": "IU",
    "{unit}": "each",
    "{tbl}": "each",
    "{tablet}": "each",
    "{cap}": "each",
    "{capsule}": "each",
    "{each}": "each",
    "{ea}": "each",
    "{vial}": "each",
    "{amp}": "each",
    "{dose}": "each",
    "{puff}": "each",
    "1": "each",
}
SEX = {"F": "F", "M": "M", "O": "O", "U": "U", "A": "O", "N": "U"}
# HL7 table 0128 (allergy severity) → ours.
SEVERITY = {"SV": "severe", "MO": "moderate", "MI": "mild", "U": "unknown"}
# PID-3 identifier types (HL7 table 0203) for the national ID (CCCD) and the insurance card (BHYT).
NATIONAL_ID_TYPES = ("NNVNM", "NI", "CZ", "NN")
INSURANCE_TYPES = ("HC", "BHYT", "NH")

_INTERVAL = re.compile(r"^Q(\d{1,3})(H|M|D)$")
_TS = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.\d{1,4})?([+-]\d{4})?$")


@dataclass(frozen=True)
class ParseConfig:
    time_zone: str = "Asia/Ho_Chi_Minh"
    # Only PID-3 repetitions with this assigning authority (CX-4) are our MRN; "" takes the
    # first repetition of type MR, else the first.
    mrn_authority: str = ""
    # Repeat patterns (TQ1-3) that the hospital gives fixed times: {"BID": ("08:00", "20:00")}.
    repeat_times: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Header:
    sending_application: str
    sending_facility: str
    control_id: str
    message_type: str  # e.g. ADT^A01
    processing_id: str
    version: str
    sent_at: datetime | None


@dataclass(frozen=True)
class Parsed:
    header: Header
    body: t.AdtEvent | t.OrderMessage | None = None
    # The MRNs whose messages must be applied in order with this one (two for a merge).
    patient_keys: tuple[str, ...] = ()
    # Set when the message is readable but cannot be applied as it stands.
    problem: t.InboundProblem | None = None


def normalise(text: str) -> str:
    """Segments end with CR; tolerate LF and CRLF from hand-made senders."""
    return text.replace("\r\n", "\r").replace("\n", "\r").strip("\r\x00 \t")


def header_read(text: str, time_zone: str = "Asia/Ho_Chi_Minh") -> Header:
    """MSH only, leniently: enough to store, deduplicate and acknowledge the message."""
    message = _parse(text)
    msh = message.segments("MSH")[0]
    control_id = _value(message, msh, 10)
    if not control_id:
        raise t.Rejected(
            "MSH-10 (message control ID) is empty.", hl7_error="101", location="MSH^1^10"
        )
    return Header(
        sending_application=_value(message, msh, 3),
        sending_facility=_hd(message, msh, 4),
        control_id=control_id,
        message_type="^".join(
            p for p in (_value(message, msh, 9), _value(message, msh, 9, c=2)) if p
        ),
        processing_id=_value(message, msh, 11),
        version=_value(message, msh, 12),
        sent_at=_ts_or_none(_value(message, msh, 7), ZoneInfo(time_zone)),
    )


def parse(text: str, config: ParseConfig = ParseConfig()) -> Parsed:
    """The whole message. Raises `Rejected` for what cannot be stored as applicable."""
    header = header_read(text, config.time_zone)
    message = _parse(text)
    zone = ZoneInfo(config.time_zone)
    reader = _Reader(message, zone, config)
    kind, _sep, trigger = header.message_type.partition("^")
    try:
        if kind == "ADT":
            event = ADT_EVENTS.get(trigger)
            if event is None:
                raise t.Rejected(
                    f"ADT^{trigger} is not a message we take.", hl7_error="201", location="MSH^1^9"
                )
            body = reader.adt(event, header)
            keys = tuple(k for k in (body.patient.mrn, body.prior_mrn) if k)
        elif (kind, trigger) in ORDER_EVENTS:
            body = reader.orders(ORDER_EVENTS[(kind, trigger)], header)
            keys = (body.patient.mrn,)
        else:
            raise t.Rejected(
                f"{header.message_type or 'A message without MSH-9'} is not a message we take.",
                hl7_error="200",
                location="MSH^1^9",
            )
    except t.InboundProblem as problem:
        return Parsed(header=header, patient_keys=reader.mrns, problem=problem)
    return Parsed(header=header, body=body, patient_keys=keys)


def _parse(text: str) -> hl7.Message:
    text = normalise(text)
    if not text.startswith("MSH"):
        raise t.Rejected("Not an HL7 v2 message: it does not start with MSH.", hl7_error="100")
    try:
        message = hl7.parse(text)
        message.segments("MSH")
    except (HL7Exception, KeyError, IndexError, ValueError) as error:
        raise t.Rejected(f"Not a readable HL7 v2 message: {error}", hl7_error="102") from error
    return message


def _leaf(segment, f: int, r: int = 1, c: int = 1, s: int = 1) -> str:
    try:
        node = segment[f]
    except IndexError:
        return ""
    for index in (r, c, s):
        if isinstance(node, str):
            return node if index == 1 else ""
        if index > len(node):
            return ""
        node = node[index - 1]
    while not isinstance(node, str):
        node = node[0] if len(node) else ""
    return node


def _repetitions(segment, f: int) -> int:
    try:
        node = segment[f]
    except IndexError:
        return 0
    if len(node) == 1 and isinstance(node[0], str):
        return 1 if node[0] else 0
    return len(node)


def _value(message, segment, f: int, r: int = 1, c: int = 1, s: int = 1) -> str:
    return message.unescape(_leaf(segment, f, r, c, s)).strip()


def _hd(message, segment, f: int) -> str:
    """A HD field (MSH-4): the namespace id, or the universal id when that is all there is."""
    return _value(message, segment, f) or _value(message, segment, f, c=2)


def _ts_or_none(value: str, zone) -> datetime | None:
    try:
        return _ts(value, zone)
    except ValueError:
        return None


def _ts(value: str, zone) -> datetime | None:
    """HL7 TS/DTM: YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ]; no zone means the hospital's."""
    if not value:
        return None
    match = _TS.match(value)
    if match is None:
        raise ValueError(f"{value!r} is not an HL7 date/time")
    year, month, day, hour, minute, second, offset = match.groups()
    tzinfo = zone
    if offset:
        sign = 1 if offset[0] == "+" else -1
        delta = timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5]))
        tzinfo = fixed_offset(sign * delta)
    return datetime(
        int(year),
        int(month or 1),
        int(day or 1),
        int(hour or 0),
        int(minute or 0),
        int(second or 0),
        tzinfo=tzinfo,
    )


class _Reader:
    def __init__(self, message: hl7.Message, zone: ZoneInfo, config: ParseConfig):
        self.message = message
        self.zone = zone
        self.config = config
        self.mrns: tuple[str, ...] = ()

    def v(self, segment, f, r=1, c=1, s=1) -> str:
        return _value(self.message, segment, f, r, c, s)

    def one(self, name: str, *, required: bool = True):
        try:
            return self.message.segments(name)[0]
        except KeyError:
            if required:
                raise t.InboundProblem(
                    "SEGMENT_MISSING",
                    f"The message has no {name} segment.",
                    location=name,
                    hl7_error="100",
                ) from None
            return None

    def ts(self, segment, f: int, name: str, *, c: int = 1) -> datetime | None:
        value = self.v(segment, f, c=c)
        try:
            return _ts(value, self.zone)
        except ValueError:
            raise t.InboundProblem(
                "BAD_TIMESTAMP",
                f"{name} ({value!r}) is not a date/time.",
                location=f"{segment[0][0]}^1^{f}",
                hl7_error="102",
            ) from None

    # ----------------------------------------------------------------------------- patient

    def patient(self, pid) -> t.PatientData:
        mrn = self._mrn(pid)
        self.mrns = (mrn,)
        national_id = insurance = ""
        for rep in range(1, _repetitions(pid, 3) + 1):
            kind = self.v(pid, 3, rep, 5).upper()
            if kind in NATIONAL_ID_TYPES and not national_id:
                national_id = self.v(pid, 3, rep)
            elif kind in INSURANCE_TYPES and not insurance:
                insurance = self.v(pid, 3, rep)
        in1 = self.one("IN1", required=False)
        if in1 is not None and not insurance:
            insurance = self.v(in1, 36)
        family, given, middle = self.v(pid, 5), self.v(pid, 5, c=2), self.v(pid, 5, c=3)
        # Vietnamese order: family, middle, given ("Nguyễn^An^Văn" is Nguyễn Văn An).
        full_name = " ".join(part for part in (family, middle, given) if part)
        birth = self.ts(pid, 7, "PID-7 date of birth")
        deceased = self.ts(pid, 29, "PID-29 death date/time")
        if deceased is None and self.v(pid, 30).upper() == "Y":
            raise t.InboundProblem(
                "DEATH_TIME_MISSING",
                "PID-30 says the patient died but PID-29 gives no time.",
                location="PID^1^29",
                hl7_error="101",
            )
        return t.PatientData(
            mrn=mrn,
            full_name=full_name,
            date_of_birth=birth.astimezone(self.zone).date() if birth else None,
            sex=SEX.get(self.v(pid, 8).upper(), ""),
            national_id=national_id[:20],
            health_insurance_number=insurance[:20],
            deceased_at=deceased,
        )

    def _mrn(self, pid) -> str:
        authority = self.config.mrn_authority
        candidates = []
        for rep in range(1, _repetitions(pid, 3) + 1):
            value = self.v(pid, 3, rep)
            kind = self.v(pid, 3, rep, 5).upper()
            rep_authority = self.v(pid, 3, rep, 4)
            if not value:
                continue
            if authority and rep_authority != authority:
                continue
            candidates.append((kind != "MR", rep, value))
        if not candidates:
            where = f" assigned by {authority}" if authority else ""
            raise t.InboundProblem(
                "MRN_MISSING",
                f"PID-3 has no medical record number{where}.",
                location="PID^1^3",
                hl7_error="101",
            )
        return sorted(candidates)[0][2].upper()

    def allergies(self) -> tuple[t.AllergyData, ...] | None:
        try:
            segments = self.message.segments("AL1")
        except KeyError:
            return None
        found = []
        for index, al1 in enumerate(segments, start=1):
            code, text = self.v(al1, 3), self.v(al1, 3, c=2)
            if not code and not text:
                raise t.InboundProblem(
                    "ALLERGEN_MISSING",
                    f"AL1 #{index} names no allergen.",
                    location=f"AL1^{index}^3",
                    hl7_error="101",
                )
            found.append(
                t.AllergyData(
                    allergen=t.CodedValue(
                        code=code or text, text=text or code, system=self.v(al1, 3, c=3)
                    ),
                    severity=SEVERITY.get(self.v(al1, 4).upper(), "unknown"),
                    reaction="; ".join(
                        self.v(al1, 5, rep)
                        for rep in range(1, _repetitions(al1, 5) + 1)
                        if self.v(al1, 5, rep)
                    )[:200],
                )
            )
        return tuple(found)

    def visit(self, pv1) -> t.VisitData:
        return t.VisitData(
            visit_number=self.v(pv1, 19),
            ward_code=self.v(pv1, 3),
            bed_code=self.v(pv1, 3, c=3),
            prior_ward_code=self.v(pv1, 6),
            prior_bed_code=self.v(pv1, 6, c=3),
            admitted_at=self.ts(pv1, 44, "PV1-44 admit date/time"),
            discharged_at=self.ts(pv1, 45, "PV1-45 discharge date/time"),
        )

    # ----------------------------------------------------------------------------- ADT

    def adt(self, kind: str, header: Header) -> t.AdtEvent:
        pid = self.one("PID")
        patient = self.patient(pid)
        pv1 = self.one("PV1", required=kind not in (t.UPDATE, t.MERGE))
        evn = self.one("EVN", required=False)
        occurred = None
        if evn is not None:
            occurred = self.ts(evn, 6, "EVN-6 event occurred") or self.ts(evn, 2, "EVN-2 recorded")
        occurred = occurred or header.sent_at
        if occurred is None:
            raise t.InboundProblem(
                "EVENT_TIME_MISSING",
                "Neither EVN nor MSH-7 says when this happened.",
                location="EVN^1^2",
                hl7_error="101",
            )
        prior_mrn = ""
        if kind == t.MERGE:
            mrg = self.one("MRG")
            prior_mrn = self.v(mrg, 1).upper()
            if not prior_mrn:
                raise t.InboundProblem(
                    "PRIOR_MRN_MISSING",
                    "MRG-1 names no prior patient identifier.",
                    location="MRG^1^1",
                    hl7_error="101",
                )
            self.mrns = (patient.mrn, prior_mrn)
        return t.AdtEvent(
            kind=kind,
            patient=patient,
            occurred_at=occurred,
            visit=self.visit(pv1) if pv1 is not None else None,
            allergies=self.allergies(),
            prior_mrn=prior_mrn,
        )

    # ----------------------------------------------------------------------------- orders

    def orders(self, detail: str, header: Header) -> t.OrderMessage:
        patient = self.patient(self.one("PID"))
        pv1 = self.one("PV1", required=False)
        visit = self.visit(pv1) if pv1 is not None else None
        groups: list[list] = []
        for segment in self.message:
            name = str(segment[0][0])
            if name == "ORC":
                groups.append([segment])
            elif groups and name in ("TQ1", "RXE", "RXO", "RXR", "NTE"):
                groups[-1].append(segment)
        if not groups:
            raise t.InboundProblem(
                "SEGMENT_MISSING",
                "The message has no ORC segment.",
                location="ORC",
                hl7_error="100",
            )
        orders = tuple(
            self.order(group, index, detail, visit, patient, header)
            for index, group in enumerate(groups, start=1)
        )
        return t.OrderMessage(patient=patient, visit=visit, orders=orders)

    def order(self, group, index: int, detail: str, visit, patient, header) -> t.OrderData:
        orc = group[0]
        segments: dict[str, list] = {}
        for segment in group[1:]:
            segments.setdefault(str(segment[0][0]), []).append(segment)
        control_code = self.v(orc, 1).upper()
        control = ORDER_CONTROLS.get(control_code)
        if control is None:
            raise t.InboundProblem(
                "ORDER_CONTROL_UNSUPPORTED",
                f"ORC-1 {control_code!r} is not an order control we take (NW, XO, HD, RL, DC, CA).",
                location=f"ORC^{index}^1",
                hl7_error="103",
            )
        placer, filler = self.v(orc, 2), self.v(orc, 3)
        if not placer and not filler:
            raise t.InboundProblem(
                "ORDER_NUMBER_MISSING",
                "ORC-2 and ORC-3 are both empty: the order cannot be identified.",
                location=f"ORC^{index}^2",
                hl7_error="101",
            )
        occurred = self.ts(orc, 9, "ORC-9 transaction date/time") or header.sent_at
        prescriber = " ".join(
            p for p in (self.v(orc, 12, c=2), self.v(orc, 12, c=4), self.v(orc, 12, c=3)) if p
        ) or self.v(orc, 12)
        reason = self.v(orc, 16, c=2) or self.v(orc, 16)
        base = {
            "control": control,
            "placer_number": placer,
            "filler_number": filler,
            "mrn": patient.mrn,
            "visit_number": visit.visit_number if visit else "",
            "occurred_at": occurred,
            "prescriber_name": prescriber[:200],
            "reason": reason[:300],
        }
        if control not in (t.NEW, t.CHANGE):
            return t.OrderData(**base)
        detail_segments = segments.get(detail)
        if not detail_segments:
            raise t.InboundProblem(
                "SEGMENT_MISSING",
                f"Order {index} ({placer or filler}) has no {detail} segment.",
                location=f"{detail}^{index}",
                hl7_error="100",
            )
        rx = detail_segments[0]
        if detail == "RXE":
            code_field, amount_field, unit_field, daily_field, indication_field = 2, 3, 5, 19, 27
        else:  # RXO: requested give code, amount, units; no total daily dose
            code_field, amount_field, unit_field, daily_field, indication_field = 1, 2, 4, 0, 20
        medication = t.CodedValue(
            code=self.v(rx, code_field),
            text=self.v(rx, code_field, c=2),
            system=self.v(rx, code_field, c=3),
        )
        if not medication.code:
            raise t.InboundProblem(
                "DRUG_CODE_MISSING",
                f"{detail}-{code_field} (give code) is empty.",
                location=f"{detail}^{index}^{code_field}",
                hl7_error="101",
            )
        dose_unit = self._unit(rx, unit_field, f"{detail}^{index}^{unit_field}")
        dose_value = self._decimal(
            rx, amount_field, f"{detail}^{index}^{amount_field}", "give amount"
        )
        route_segment = (segments.get("RXR") or [None])[0]
        route = self.v(route_segment, 1).upper() if route_segment is not None else ""
        if not route:
            raise t.InboundProblem(
                "ROUTE_MISSING",
                "RXR-1 (route) is empty.",
                location=f"RXR^{index}^1",
                hl7_error="101",
            )
        indication = self.v(rx, indication_field, c=2) or self.v(rx, indication_field)
        daily_max = None
        if daily_field and self.v(rx, daily_field):
            daily_max = self._decimal(
                rx, daily_field, f"{detail}^{index}^{daily_field}", "total daily dose"
            )
            daily_unit = self._unit(
                rx, daily_field, f"{detail}^{index}^{daily_field}", component=2, required=False
            )
            if daily_unit and daily_unit != dose_unit:
                raise t.InboundProblem(
                    "BAD_TIMING",
                    f"The 24-hour maximum is in {daily_unit}, the dose in {dose_unit}.",
                    location=f"{detail}^{index}^{daily_field}",
                    hl7_error="102",
                )
        timing = self.timing(
            (segments.get("TQ1") or [None])[0], index, indication, daily_max, occurred
        )
        notes = [self.v(nte, 3) for nte in segments.get("NTE", []) if self.v(nte, 3)]
        instructions = self.v(rx, 7, c=2) or self.v(rx, 7) if detail == "RXE" else ""
        return t.OrderData(
            **base,
            medication=medication,
            dose_value=dose_value,
            dose_unit=dose_unit,
            route=route,
            timing=timing,
            instructions="; ".join([p for p in (instructions, *notes) if p])[:300],
            locations={
                "medication": f"{detail}^{index}^{code_field}",
                "dose": f"{detail}^{index}^{amount_field}",
                "route": f"RXR^{index}^1",
                "timing": f"TQ1^{index}",
            },
        )

    def _decimal(self, segment, f: int, location: str, name: str) -> Decimal:
        value = self.v(segment, f)
        try:
            number = Decimal(value)
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite() or number <= 0:
            raise t.InboundProblem(
                "BAD_DOSE",
                f"The {name} ({value!r}) is not a positive number.",
                location=location,
                hl7_error="102",
            )
        return number

    def _unit(
        self, segment, f: int, location: str, *, component: int = 1, required: bool = True
    ) -> str:
        code = self.v(segment, f, c=component)
        if not code and not required:
            return ""
        unit = UCUM_UNITS.get(code.lower())
        if unit is None:
            raise t.InboundProblem(
                "UNIT_UNKNOWN",
                f"The dose unit {code!r} is not a UCUM unit we know (mg, g, ug, mL, L, [iU], {{unit}}).",
                location=location,
                hl7_error="103",
            )
        return unit

    # One check per TQ1 field, in field order, each with its own error: read against the segment.
    def timing(self, tq1, index: int, indication: str, daily_max, occurred) -> t.TimingData:  # noqa: C901
        location = f"TQ1^{index}"
        if tq1 is None:
            raise t.InboundProblem(
                "BAD_TIMING", "The order has no TQ1 (timing).", location=location, hl7_error="101"
            )

        def problem(message: str, f: int) -> t.InboundProblem:
            return t.InboundProblem(
                "BAD_TIMING", message, location=f"{location}^{f}", hl7_error="102"
            )

        start = self.ts(tq1, 7, "TQ1-7 start") or occurred
        stop = self.ts(tq1, 8, "TQ1-8 end")
        if start is None:
            raise problem("TQ1-7 gives no start.", 7)
        if stop is not None and stop <= start:
            raise problem("TQ1-8 (end) is not after TQ1-7 (start).", 8)
        repeat = self.v(tq1, 3).upper().replace(" ", "")
        priorities = {self.v(tq1, 9, rep).upper() for rep in range(1, _repetitions(tq1, 9) + 1)}
        times = []
        for rep in range(1, _repetitions(tq1, 4) + 1):
            value = self.v(tq1, 4, rep)
            if not re.fullmatch(r"\d{4}", value) or int(value[:2]) > 23 or int(value[2:]) > 59:
                raise problem(f"TQ1-4 time {value!r} is not HHMM.", 4)
            times.append(f"{value[:2]}:{value[2:]}")
        interval = _INTERVAL.match(repeat)
        minutes = None
        if interval:
            count, unit = int(interval.group(1)), interval.group(2)
            minutes = count * {"M": 1, "H": 60, "D": 1440}[unit]
        if "PRN" in priorities or repeat == "PRN" or repeat.endswith("PRN"):
            indication = self.v(tq1, 10) or indication
            if minutes is None or not indication or daily_max is None:
                raise problem(
                    "A PRN order needs an indication (TQ1-10 or the give indication), a minimum "
                    "interval (TQ1-3, e.g. Q4H) and a 24-hour maximum (RXE-19).",
                    3,
                )
            return t.TimingData(
                kind=t.PRN,
                start_at=start,
                stop_at=stop,
                prn_indication=indication[:200],
                prn_min_interval_minutes=minutes,
                prn_max_per_24h=daily_max,
            )
        if times:
            if len(set(times)) != len(times):
                raise problem("TQ1-4 repeats a time.", 4)
            return t.TimingData(
                kind=t.TIMES, start_at=start, stop_at=stop, times_of_day=tuple(times)
            )
        if repeat in self.config.repeat_times:
            return t.TimingData(
                kind=t.TIMES,
                start_at=start,
                stop_at=stop,
                times_of_day=self.config.repeat_times[repeat],
            )
        if minutes is not None:
            if minutes % 60 or not 1 <= minutes // 60 <= 168:
                raise problem(f"TQ1-3 {repeat}: we schedule every 1 to 168 whole hours.", 3)
            return t.TimingData(
                kind=t.INTERVAL, start_at=start, stop_at=stop, interval_hours=minutes // 60
            )
        # One dose. TQ1-9 priority is HL7 table 0485 (v2.5): S stat, A ASAP, P preop, C callback.
        # TQ1-3 repeat patterns are the site's (table 0335): ONCE, STAT/NOW and ONCALL here.
        if repeat in ("STAT", "NOW") or (not repeat and priorities & {"S", "STAT"}):
            return t.TimingData(kind=t.STAT, start_at=start, stop_at=stop)
        if repeat == "ONCALL" or (not repeat and priorities & {"C", "P"}):
            return t.TimingData(kind=t.ON_CALL, start_at=start, stop_at=stop)
        if repeat == "ONCE" or (not repeat and "A" in priorities):
            return t.TimingData(kind=t.ONCE, start_at=start, stop_at=stop)
        raise problem(
            f"The timing {repeat or '(none)'} is not one we can schedule: send times (TQ1-4), "
            "every N hours (Q6H), ONCE, STAT, ONCALL or PRN.",
            3,
        )
