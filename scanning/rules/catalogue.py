"""One entry per finding code: its clinical area, severity, when it is raised, its messages in
Vietnamese and English, and the override reasons a nurse may give for it.

This is the single source: the severity a rule reports, the order findings are shown in, which
codes can be overridden and with which reasons, and which reasons need a comment all come from
here, and so does docs/rules.md (`make rules-doc`), the page a hospital's pharmacy and
therapeutics committee signs off. The rule itself is in the module named after the entry's area
(scanning/rules/<area>.py), its tests in tests/scanning/rules/test_<area>.py.

A message is a template: `{name}` is filled by the rule (a medication name, a time, an amount).
Where one code has several wordings (a discharged patient rather than one never admitted, a dose
compared by units scanned or by the amount the nurse gives) each is a variant; a code with one
wording has the variant "default". A variant's own severity, where it has one, overrides the
code's (a severe allergy is a STOP).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from string import Formatter

from scanning.rules.codes import FindingCode, Severity

STOP, WARN = Severity.STOP, Severity.WARN
DEFAULT = "default"


@dataclass(frozen=True)
class Area:
    name: str  # the module under scanning/rules/ that holds its rules
    title: str
    about: str


AREAS: tuple[Area, ...] = (
    Area("identity", "Identity", "who gives the medication, and to whom: performer, band, patient"),
    Area("entry", "Entry", "what each slot holds and how it got there: the kind of code, typing"),
    Area("product", "Product", "each scanned unit: formulary, serial, lot, recall, expiry"),
    Area("allergy", "Allergy", "the patient's allergies against the scanned medication"),
    Area("order", "Order", "which order the scan is for, its status and route"),
    Area("dose", "Dose", "the ordered dose against the units scanned and the amount given"),
    Area(
        "weight",
        "Weight",
        "doses per kilogram of the current weight: the weight itself, its age for a child, "
        "the maximum per kg",
    ),
    Area("timing", "Timing", "the scheduled dose the scan belongs to and its time window"),
    Area("prn", "PRN", "as-needed orders: minimum interval and 24-hour maximum"),
    Area(
        "assessment",
        "Assessment",
        "what is measured before giving (heart rate, blood pressure, glucose, pain) and the "
        "order's hold parameters",
    ),
    Area("removal", "Removal", "patches, rings and implants: the last one off before a new one"),
    Area("site", "Site", "the body site chosen for an injection or patch: rotation"),
    Area("witness", "Witness", "the second nurse who cross-checks high-alert medication"),
    Area("cosign", "Co-sign", "a student nurse's records, co-signed by her clinical instructor"),
    Area(
        "waste",
        "Waste",
        "the part of a unit not given: its amount and, for controlled drugs, its witness",
    ),
    Area(
        "infusion",
        "Infusion",
        "bags and syringes that run over time: one per line, the ordered rate, the bag's life",
    ),
)


@dataclass(frozen=True)
class OverrideReason:
    vi: str
    en: str
    needs_comment: bool = False


# A physician's verbal order and "other" need words: who ordered, what happened.
REASONS: dict[str, OverrideReason] = {
    "PATIENT_TRANSFERRED": OverrideReason("Người bệnh vừa chuyển khoa", "Patient just transferred"),
    "COVERING_OTHER_WARD": OverrideReason("Đang hỗ trợ khoa khác", "Covering another ward"),
    "PRESCRIBER_AWARE": OverrideReason(
        "Bác sĩ đã biết và chỉ định", "Prescriber aware and ordered it"
    ),
    "TOLERATED_BEFORE": OverrideReason(
        "Người bệnh đã dùng trước đây không sao", "Tolerated before"
    ),
    "OTHER_ORDER_INTENDED": OverrideReason("Đúng y lệnh này", "This order was intended"),
    "REMAINDER_WASTED": OverrideReason("Phần thừa đã hủy", "Remainder wasted"),
    "MULTI_DOSE_CONTAINER": OverrideReason("Lọ/bút dùng nhiều lần", "Multi-dose container"),
    "PATIENT_REFUSED_PART": OverrideReason("Người bệnh từ chối một phần", "Patient refused part"),
    "INSUFFICIENT_STOCK": OverrideReason("Không đủ thuốc", "Not enough stock"),
    "PHYSICIAN_ORDER": OverrideReason(
        "Theo chỉ định của bác sĩ", "Physician's order", needs_comment=True
    ),
    "PATIENT_LEAVING_UNIT": OverrideReason("Người bệnh sắp rời khoa", "Patient leaving the unit"),
    "PROCEDURE_SCHEDULED": OverrideReason("Có thủ thuật theo lịch", "Procedure scheduled"),
    "PATIENT_UNAVAILABLE": OverrideReason("Người bệnh vắng mặt", "Patient unavailable"),
    "CLINICAL_DELAY": OverrideReason("Trì hoãn vì lý do lâm sàng", "Clinical delay"),
    "DAMAGED_BARCODE": OverrideReason("Mã vạch hỏng", "Damaged barcode"),
    "NO_BARCODE": OverrideReason("Không có mã vạch", "No barcode"),
    "SCANNER_FAILURE": OverrideReason("Máy quét hỏng", "Scanner failure"),
    "NO_OTHER_SITE": OverrideReason("Không còn vị trí phù hợp khác", "No other suitable site"),
    "CANNOT_WEIGH_NOW": OverrideReason(
        "Không cân lại được lúc này", "The patient cannot be weighed now"
    ),
    "COSIGN_REQUESTED": OverrideReason(
        "Đã báo bác sĩ ký xác nhận y lệnh", "Prescriber asked to co-sign"
    ),
    "OTHER": OverrideReason("Khác (ghi rõ)", "Other (explain)", needs_comment=True),
}


@dataclass(frozen=True)
class Message:
    vi: str
    en: str
    severity: Severity | None = None  # this wording's own severity, where it is not the code's

    def fields(self) -> set[str]:
        parsed = [part for text in (self.vi, self.en) for part in Formatter().parse(text)]
        return {name for _literal, name, _spec, _conversion in parsed if name}


@dataclass(frozen=True)
class Entry:
    code: FindingCode
    area: str
    severity: Severity
    when: str  # for the committee's page, in English
    messages: Mapping[str, Message]
    override_reasons: tuple[str, ...] = field(default=())

    @property
    def reasons_needing_comment(self) -> tuple[str, ...]:
        return tuple(r for r in self.override_reasons if REASONS[r].needs_comment)

    def severities(self) -> set[Severity]:
        return {message.severity or self.severity for message in self.messages.values()}


_COSIGN_VI = (
    "Sinh viên điều dưỡng chỉ được cho người bệnh dùng thuốc khi có giảng viên hướng dẫn ký xác "
    "nhận: giảng viên quét thẻ và nhập mã PIN."
)
_COSIGN_EN = (
    "A student nurse gives medication only with her clinical instructor's co-sign: the "
    "instructor scans their badge and enters their PIN."
)
# What is wrong with the co-signer given (cosign.py's `cosign_problem` names the variants).
_COSIGN_PROBLEMS: dict[str, tuple[str, str]] = {
    "missing": ("", ""),
    "not_a_badge": (
        " Mã ở ô giảng viên ký xác nhận không phải thẻ nhân viên.",
        " The co-sign slot does not hold a staff badge.",
    ),
    "unknown_badge": (
        " Không nhận ra thẻ của giảng viên.",
        " The instructor's badge is not known.",
    ),
    "same_person": (
        " Sinh viên không thể tự ký xác nhận cho mình.",
        " A student cannot co-sign her own record.",
    ),
    "inactive": (
        " Tài khoản của giảng viên không còn hoạt động.",
        " The instructor's account is not active.",
    ),
    "not_instructor": (
        " Thẻ đã quét không phải thẻ của giảng viên hướng dẫn lâm sàng.",
        " The badge scanned is not a clinical instructor's.",
    ),
    "pin": (" Mã PIN của giảng viên không đúng.", " The instructor's PIN is wrong."),
}


def _one(vi: str, en: str) -> dict[str, Message]:
    return {DEFAULT: Message(vi, en)}


_WITNESS_VI = (
    "{medications} là thuốc nguy cơ cao: cần một điều dưỡng khác kiểm tra chéo (quét thẻ và "
    "nhập mã PIN)."
)
_WITNESS_EN = (
    "{medications} is high-alert: another nurse must scan their badge and enter their PIN."
)


def _witness(vi: str, en: str) -> Message:
    return Message(_WITNESS_VI + vi, _WITNESS_EN + en)


_WASTE_WITNESS_VI = (
    "Huỷ bỏ phần thuốc thừa của {medications} phải có người chứng kiến: một điều dưỡng khác "
    "quét thẻ và nhập mã PIN."
)
_WASTE_WITNESS_EN = (
    "Wasting {medications} needs a witness: another nurse must scan their badge and enter "
    "their PIN."
)


def _waste_witness(vi: str, en: str) -> Message:
    return Message(_WASTE_WITNESS_VI + vi, _WASTE_WITNESS_EN + en)


# What is wrong with the witness given, worded once for both witness codes (witness.py's
# `witness_problem` names the variants).
_WITNESS_PROBLEMS: dict[str, tuple[str, str]] = {
    "missing": ("", ""),
    "not_a_badge": (
        " Mã ở ô người kiểm tra chéo không phải thẻ nhân viên.",
        " The witness slot does not hold a staff badge.",
    ),
    "unknown_badge": (
        " Không nhận ra thẻ của người kiểm tra chéo.",
        " The witness badge is not known.",
    ),
    "same_person": (
        " Người kiểm tra chéo phải là người khác, không phải bạn.",
        " The witness must be someone other than you.",
    ),
    "inactive": (
        " Tài khoản của người kiểm tra chéo không còn hoạt động.",
        " The witness's account is not active.",
    ),
    "pharmacist": (" Dược sĩ không thể là người kiểm tra chéo.", " A pharmacist cannot witness."),
    "student": (
        " Sinh viên điều dưỡng không thể là người kiểm tra chéo.",
        " A student nurse cannot witness.",
    ),
    "not_allowed": (
        " Người kiểm tra chéo phải là người được phép cho người bệnh dùng thuốc.",
        " The witness must be allowed to give medication.",
    ),
    "pin": (" Mã PIN của người kiểm tra chéo không đúng.", " The witness PIN is wrong."),
}


ENTRIES: tuple[Entry, ...] = (
    # --- identity ---------------------------------------------------------------------------
    Entry(
        FindingCode.PERFORMER_NOT_ALLOWED,
        "identity",
        STOP,
        "the person scanning is inactive or may not give medication (a pharmacist)",
        _one(
            "Tài khoản này không được phép dùng thuốc cho người bệnh. Cần điều dưỡng thực hiện.",
            "This account may not give medication. A nurse must do it.",
        ),
    ),
    Entry(
        FindingCode.PATIENT_UNKNOWN,
        "identity",
        STOP,
        "the band's GSRN matches no patient",
        _one(
            "Vòng tay không khớp với người bệnh nào. Không được dùng thuốc; báo điều dưỡng trưởng.",
            "This wristband matches no patient. Do not give; tell the charge nurse.",
        ),
    ),
    Entry(
        FindingCode.WRISTBAND_VOID,
        "identity",
        STOP,
        "the band was voided, superseded or never issued (the discharge band of a patient not "
        "readmitted since says PATIENT_NOT_ADMITTED or PATIENT_DECEASED instead)",
        _one(
            "Vòng tay này đã bị hủy hoặc thay thế. Quét vòng tay hiện tại của người bệnh.",
            "This wristband was voided or replaced. Scan the patient's current band.",
        ),
    ),
    Entry(
        FindingCode.PATIENT_DECEASED,
        "identity",
        STOP,
        "the patient is recorded as deceased (alone: not also PATIENT_NOT_ADMITTED)",
        _one(
            "Người bệnh {mrn} đã được ghi nhận tử vong. Không được dùng thuốc.",
            "Patient {mrn} is recorded as deceased. Do not give.",
        ),
    ),
    Entry(
        FindingCode.PATIENT_NOT_ADMITTED,
        "identity",
        STOP,
        "the patient has no open admission",
        {
            DEFAULT: Message(
                "Người bệnh {mrn} hiện không nằm điều trị nội trú. Không được dùng thuốc.",
                "Patient {mrn} is not admitted. Do not give.",
            ),
            "discharged": Message(
                "Người bệnh {mrn} đã ra viện lúc {discharged_at}. Không được dùng thuốc; "
                "báo điều dưỡng trưởng.",
                "Patient {mrn} was discharged at {discharged_at}. Do not give; tell the "
                "charge nurse.",
            ),
        },
    ),
    Entry(
        FindingCode.WRONG_WARD,
        "identity",
        WARN,
        "the admission's ward is not the cart's ward (only when the cart has a ward)",
        _one(
            "Người bệnh nằm ở khoa {patient_ward}, không phải khoa của xe thuốc ({cart_ward}). "
            "Kiểm tra lại người bệnh.",
            "The patient is on ward {patient_ward}, not this cart's ward {cart_ward}. "
            "Check the patient.",
        ),
        ("PATIENT_TRANSFERRED", "COVERING_OTHER_WARD", "OTHER"),
    ),
    # --- entry ------------------------------------------------------------------------------
    Entry(
        FindingCode.UNKNOWN_CODE,
        "entry",
        STOP,
        "a scan is neither wristband, badge nor known product",
        {
            "patient": Message(
                "Mã ở ô người bệnh không phải vòng tay, thẻ nhân viên hay thuốc đã biết. "
                "Hãy quét lại.",
                "The code in the patient slot is not a wristband, badge or known product. "
                "Scan again.",
            ),
            "medication": Message(
                "Mã ở ô thuốc không phải vòng tay, thẻ nhân viên hay thuốc đã biết. Hãy quét lại.",
                "The code in the medication slot is not a wristband, badge or known product. "
                "Scan again.",
            ),
            "witness": Message(
                "Mã ở ô người kiểm tra chéo không phải vòng tay, thẻ nhân viên hay thuốc đã biết. "
                "Hãy quét lại.",
                "The code in the witness slot is not a wristband, badge or known product. "
                "Scan again.",
            ),
        },
    ),
    Entry(
        FindingCode.WRONG_SCAN_KIND,
        "entry",
        STOP,
        "a product in the patient slot, a wristband in the medication slot, a badge where "
        "neither belongs",
        {
            "patient": Message(
                "Ô người bệnh cần quét vòng tay, không phải {kind}.",
                "The patient slot takes the wristband, not a {kind}.",
            ),
            "medication": Message(
                "Ô thuốc cần quét mã trên thuốc, không phải {kind}.",
                "The medication slot takes the product code, not a {kind}.",
            ),
            "witness": Message(
                "Ô người kiểm tra chéo cần quét thẻ nhân viên, không phải {kind}.",
                "The witness slot takes a staff badge, not a {kind}.",
            ),
        },
    ),
    Entry(
        FindingCode.KEYED_ENTRY,
        "entry",
        WARN,
        "an identifier was typed, not scanned (counted in compliance reports)",
        {
            "wristband": Message(
                "Mã vòng tay được nhập tay, không quét. Chọn lý do.",
                "The wristband code was typed, not scanned. Choose a reason.",
            ),
            "medication": Message(
                "Mã thuốc được nhập tay, không quét. Chọn lý do.",
                "The medication code was typed, not scanned. Choose a reason.",
            ),
            "both": Message(
                "Mã vòng tay và thuốc được nhập tay, không quét. Chọn lý do.",
                "The wristband and medication codes were typed, not scanned. Choose a reason.",
            ),
        },
        ("DAMAGED_BARCODE", "NO_BARCODE", "SCANNER_FAILURE", "OTHER"),
    ),
    # --- product ----------------------------------------------------------------------------
    Entry(
        FindingCode.PRODUCT_UNKNOWN,
        "product",
        STOP,
        "the GTIN is not in the formulary",
        _one(
            "Mã thuốc {gtin} không có trong danh mục. Không được dùng; báo khoa Dược.",
            "Product {gtin} is not in the formulary. Do not give; tell pharmacy.",
        ),
    ),
    Entry(
        FindingCode.DUPLICATE_SCAN,
        "product",
        STOP,
        "the same unit (GTIN + serial) was scanned twice in one check",
        _one(
            "Viên/ống số sê-ri {serial} được quét {count} lần. Mỗi viên/ống chỉ quét một lần.",
            "The unit with serial {serial} was scanned {count} times. Scan each unit once.",
        ),
    ),
    Entry(
        FindingCode.SERIAL_ALREADY_USED,
        "product",
        STOP,
        "this GS1 serial was already administered (an entered-in-error record's too)",
        _one(
            "{product} số sê-ri {serial} đã được dùng trước đây. Lấy viên/ống khác.",
            "{product} with serial {serial} was already given. Use another unit.",
        ),
    ),
    Entry(
        FindingCode.LOT_RECALLED,
        "product",
        STOP,
        "the lot is recalled",
        _one(
            "Lô {lot} của {product} đã bị thu hồi. Không được dùng; trả lại khoa Dược.",
            "Lot {lot} of {product} has been recalled. Do not give; return it to pharmacy.",
        ),
    ),
    Entry(
        FindingCode.PRODUCT_EXPIRED,
        "product",
        STOP,
        "the GS1 expiry is before today's local date (day 00 = end of month)",
        {
            DEFAULT: Message(
                "{product} đã hết hạn ngày {expiry}. Lấy hộp khác.",
                "{product} expired on {expiry}. Use another pack.",
            ),
            "lot": Message(
                "{product} lô {lot} đã hết hạn ngày {expiry}. Lấy hộp khác.",
                "{product} lot {lot} expired on {expiry}. Use another pack.",
            ),
        },
    ),
    Entry(
        FindingCode.KEYED_LOT_EXPIRY_MISSING,
        "product",
        STOP,
        "a typed medication code lacks its lot or expiry, so recall and expiry cannot be checked",
        _one(
            "Mã thuốc {gtin} được nhập tay nhưng thiếu số lô hoặc hạn dùng. Nhập cả số lô và "
            "hạn dùng in trên vỉ/hộp để kiểm tra thu hồi và hạn dùng.",
            "The medication code {gtin} was typed without its lot or expiry. Type the lot and "
            "expiry printed on the pack so that recalls and expiry can be checked.",
        ),
    ),
    # --- allergy ----------------------------------------------------------------------------
    Entry(
        FindingCode.ALLERGY,
        "allergy",
        WARN,
        "the medication's substance or allergy class is in the patient's allergies; STOP when "
        "any matching allergy is severe",
        {
            DEFAULT: Message(
                "Người bệnh dị ứng {allergies}. Cân nhắc trước khi dùng {medications}.",
                "The patient is allergic to {allergies}. Check before giving {medications}.",
            ),
            "severe": Message(
                "Người bệnh dị ứng {allergies}: không được dùng {medications}.",
                "The patient is allergic to {allergies}: do not give {medications}.",
                STOP,
            ),
        },
        ("PRESCRIBER_AWARE", "TOLERATED_BEFORE", "OTHER"),
    ),
    # --- order ------------------------------------------------------------------------------
    Entry(
        FindingCode.MIXED_PRODUCTS,
        "order",
        STOP,
        "the scanned products differ in active substance or dose form (one medication per check)",
        _one(
            "Đã quét nhiều thuốc khác nhau ({medications}). Mỗi lần chỉ quét một thuốc.",
            "Different medications scanned ({medications}). Scan one medication at a time.",
        ),
    ),
    Entry(
        FindingCode.NOT_ORDERED,
        "order",
        STOP,
        "no order of the patient has this substance and dose form",
        _one(
            "Không có y lệnh {medications} cho người bệnh này. Không được dùng.",
            "{medications} is not ordered for this patient. Do not give.",
        ),
    ),
    Entry(
        FindingCode.ORDER_NOT_VERIFIED,
        "order",
        STOP,
        "the order awaits pharmacist verification",
        _one(
            "Y lệnh {medication} chưa được dược sĩ duyệt. Không được dùng.",
            "The {medication} order awaits pharmacist verification. Do not give.",
        ),
    ),
    Entry(
        FindingCode.ORDER_ON_HOLD,
        "order",
        STOP,
        "the order is on hold",
        _one(
            "Y lệnh {medication} đang tạm ngưng. Không được dùng.",
            "The {medication} order is on hold. Do not give.",
        ),
    ),
    Entry(
        FindingCode.ORDER_DISCONTINUED,
        "order",
        STOP,
        "the order was discontinued",
        _one(
            "Y lệnh {medication} đã bị ngưng. Không được dùng.",
            "The {medication} order was discontinued. Do not give.",
        ),
    ),
    Entry(
        FindingCode.ORDER_NOT_ACTIVE,
        "order",
        STOP,
        "the order is completed, or now is before its start (inclusive) or after its stop "
        "(exclusive)",
        {
            DEFAULT: Message(
                "Y lệnh {medication} không còn hiệu lực. Không được dùng.",
                "The {medication} order is no longer active. Do not give.",
            ),
            "not_started": Message(
                "Y lệnh {medication} chỉ bắt đầu từ {start}. Không được dùng.",
                "The {medication} order starts at {start}. Do not give.",
            ),
            "ended": Message(
                "Y lệnh {medication} đã kết thúc lúc {stop}. Không được dùng.",
                "The {medication} order ended at {stop}. Do not give.",
            ),
        },
    ),
    Entry(
        FindingCode.ORDER_MISMATCH,
        "order",
        WARN,
        "the scan matches a usable order other than the one the cart selected",
        _one(
            "Thuốc đã quét thuộc y lệnh {medication} (#{order_id}), không phải y lệnh đã chọn "
            "(#{requested}). Kiểm tra lại.",
            "The scanned medication is for the {medication} order (#{order_id}), not the "
            "selected order (#{requested}). Check.",
        ),
        ("OTHER_ORDER_INTENDED", "OTHER"),
    ),
    Entry(
        FindingCode.VERBAL_ORDER_UNSIGNED,
        "order",
        WARN,
        "a verbal or telephone order the prescriber has not co-signed more than "
        "VERBAL_ORDER_COSIGN_HOURS (default 24) after it was documented; exactly that long is "
        "in time",
        _one(
            "Y lệnh miệng {medication} (bác sĩ {prescriber}, ghi nhận lúc {documented}) chưa được "
            "bác sĩ ký xác nhận sau {hours} giờ. Báo bác sĩ ký xác nhận y lệnh.",
            "The verbal {medication} order (Dr {prescriber}, documented at {documented}) has not "
            "been co-signed after {hours} hours. Ask the prescriber to co-sign it.",
        ),
        ("COSIGN_REQUESTED", "PRESCRIBER_AWARE", "OTHER"),
    ),
    Entry(
        FindingCode.ROUTE_MISMATCH,
        "order",
        STOP,
        "the ordered route is not listed for a scanned product, or its dose form cannot go by it",
        {
            DEFAULT: Message(
                "Y lệnh dùng đường {route_name} ({route}), nhưng {medications} không dùng được "
                "đường này. Không được dùng.",
                "The order is for the {route_name} route ({route}), but {medications} cannot be "
                "given that way. Do not give.",
            ),
            "intrathecal": Message(
                "Y lệnh dùng đường {route_name} ({route}), nhưng {medications} không dùng được "
                "đường này. Không được dùng. Tiêm nội tủy nhầm thuốc có thể gây tử vong.",
                "The order is for the {route_name} route ({route}), but {medications} cannot be "
                "given that way. Do not give. The wrong drug given intrathecally can kill.",
            ),
        },
    ),
    # --- dose -------------------------------------------------------------------------------
    Entry(
        FindingCode.DOSE_UNIT_MISMATCH,
        "dose",
        STOP,
        "the ordered dose, the scanned units or the amount cannot be compared (mass vs volume "
        "with no strength, IU vs mg, bad formulary data)",
        {
            "scanned": Message(
                "Không so được liều y lệnh {ordered} với thuốc đã quét ({strengths}). Hỏi dược sĩ.",
                "The ordered {ordered} cannot be compared with the scanned product "
                "({strengths}). Ask pharmacy.",
            ),
            "scanned_amount": Message(
                "Không so được liều y lệnh {ordered} (lượng định dùng {amount}) với thuốc đã quét "
                "({strengths}). Hỏi dược sĩ.",
                "The ordered {ordered} (amount to give {amount}) cannot be compared with the "
                "scanned product ({strengths}). Ask pharmacy.",
            ),
            "amount": Message(
                "Không so được lượng {amount} với liều y lệnh {ordered}. Hỏi dược sĩ.",
                "The amount {amount} cannot be compared with the {ordered} ordered. Ask pharmacy.",
            ),
        },
    ),
    Entry(
        FindingCode.DOSE_EXCEEDED,
        "dose",
        STOP,
        "the units scanned or the amount to give are more than the ordered dose (a divisible "
        "unit holding more than the dose is PARTIAL_UNIT)",
        {
            "scanned": Message(
                "Đã quét {scanned}, nhiều hơn liều y lệnh {ordered}. Bỏ bớt viên/ống thừa.",
                "Scanned {scanned}, more than the {ordered} ordered. Remove the extra units.",
            ),
            "amount": Message(
                "Lượng định dùng {amount} nhiều hơn liều y lệnh {ordered}.",
                "The amount to give, {amount}, is more than the {ordered} ordered.",
            ),
            "scanned_amount": Message(
                "Đã quét {scanned}, nhiều hơn lượng định dùng {amount}. Bỏ bớt viên/ống thừa.",
                "Scanned {scanned}, more than the {amount} to give. Remove the extra units.",
            ),
        },
    ),
    Entry(
        FindingCode.AMOUNT_NOT_SCANNED,
        "dose",
        STOP,
        "the amount to give is more than the units scanned (unscanned medication)",
        _one(
            "Lượng định dùng {amount} nhiều hơn lượng đã quét {scanned}. "
            "Quét từng viên/ống sẽ dùng.",
            "The amount to give, {amount}, is more than the {scanned} scanned. "
            "Scan every unit you give.",
        ),
    ),
    Entry(
        FindingCode.PARTIAL_UNIT,
        "dose",
        WARN,
        "divisible units hold more than the dose by less than their smallest unit: give part, "
        "waste or keep the rest",
        {
            DEFAULT: Message(
                "Chỉ dùng {give} trong {scanned} đã quét. Phần còn lại {waste}: hủy hoặc bảo quản "
                "theo quy định và ghi nhận.",
                "Give only {give} of the {scanned} scanned. The remaining {waste}: waste or keep "
                "as per policy, and document it.",
            ),
            "volume": Message(
                "Chỉ dùng {give} ({volume}) trong {scanned} đã quét. Phần còn lại {waste}: hủy "
                "hoặc bảo quản theo quy định và ghi nhận.",
                "Give only {give} ({volume}) of the {scanned} scanned. The remaining {waste}: "
                "waste or keep as per policy, and document it.",
            ),
        },
        ("REMAINDER_WASTED", "MULTI_DOSE_CONTAINER", "OTHER"),
    ),
    Entry(
        FindingCode.DOSE_INCOMPLETE,
        "dose",
        WARN,
        "the units scanned or the amount to give are less than the ordered dose",
        {
            "scanned": Message(
                "Đã quét {scanned}, y lệnh {ordered}: còn thiếu {missing}. Quét thêm, hoặc ghi "
                "nhận liều một phần kèm lý do.",
                "Scanned {scanned} of the {ordered} ordered: {missing} short. Scan more, or "
                "record a partial dose with a reason.",
            ),
            "amount": Message(
                "Lượng định dùng {amount} ít hơn liều y lệnh {ordered}. "
                "Ghi nhận liều một phần kèm lý do.",
                "The amount to give, {amount}, is less than the {ordered} ordered. "
                "Record a partial dose with a reason.",
            ),
        },
        ("PATIENT_REFUSED_PART", "INSUFFICIENT_STOCK", "PHYSICIAN_ORDER", "OTHER"),
    ),
    # --- timing -----------------------------------------------------------------------------
    # --- weight -----------------------------------------------------------------------------
    Entry(
        FindingCode.WEIGHT_REQUIRED,
        "weight",
        STOP,
        "the order is written per kg, or carries a maximum per kg, and the patient has no weight",
        {
            "per_kg": Message(
                "Y lệnh tính theo cân nặng ({per_kg}) nhưng người bệnh chưa có cân nặng. Cân "
                "người bệnh và ghi nhận cân nặng trước khi dùng thuốc.",
                "The order is per kg ({per_kg}) but the patient has no weight. Weigh the patient "
                "and record the weight before giving.",
            ),
            "max_per_kg": Message(
                "Y lệnh có liều tối đa {max} nhưng người bệnh chưa có cân nặng, không kiểm tra "
                "được liều. Cân người bệnh và ghi nhận cân nặng trước khi dùng thuốc.",
                "The order has a maximum of {max} but the patient has no weight, so the dose "
                "cannot be checked. Weigh the patient and record the weight before giving.",
            ),
        },
    ),
    Entry(
        FindingCode.WEIGHT_DOSE_EXCEEDED,
        "weight",
        STOP,
        "the dose given, per kg of the current weight, is above the order's maximum per kg "
        "(exactly the maximum is allowed)",
        _one(
            "Liều {dose} tương đương {per_kg} với cân nặng {weight} kg (cân ngày {weighed}), vượt quá "
            "liều tối đa {max} của y lệnh. Không được dùng; báo bác sĩ.",
            "A dose of {dose} is {per_kg} at the weight of {weight} kg (weighed on {weighed}), "
            "above the order's maximum of {max}. Do not give it; tell the prescriber.",
        ),
    ),
    Entry(
        FindingCode.WEIGHT_STALE,
        "weight",
        WARN,
        "a weight-based order for a child (younger than CHILD_UNDER_YEARS) whose weight was "
        "measured more than CHILD_WEIGHT_MAX_AGE_DAYS days ago (exactly that many is fresh)",
        _one(
            "Cân nặng {weight} kg được cân ngày {weighed}, đã quá {days} ngày. Trẻ em cần được "
            "cân lại để tính liều theo cân nặng.",
            "The weight of {weight} kg was measured on {weighed}, more than {days} days ago. "
            "Weigh the child again for a dose by weight.",
        ),
        ("CANNOT_WEIGH_NOW", "PRESCRIBER_AWARE", "OTHER"),
    ),
    Entry(
        FindingCode.NO_SCHEDULED_DOSE,
        "timing",
        STOP,
        "a scheduled (non-PRN) order has no scheduled dose around now",
        _one(
            "Y lệnh {medication} không có liều nào theo lịch quanh thời điểm này. Hỏi dược sĩ.",
            "The {medication} order has no scheduled dose around now. Ask pharmacy.",
        ),
    ),
    Entry(
        FindingCode.ALREADY_GIVEN,
        "timing",
        STOP,
        "the scheduled dose nearest to now already has a given record",
        _one(
            "Liều {due} đã được dùng. Không được dùng lại.",
            "The {due} dose has already been given. Do not give it again.",
        ),
    ),
    Entry(
        FindingCode.TOO_EARLY,
        "timing",
        WARN,
        "before the window of the admission's ward (default 60 min; 30 min for time-critical "
        "medication); exactly on the edge is inside",
        _one("Sớm {early} so với giờ dùng {due}.", "{early} early for the {due} dose."),
        ("PATIENT_LEAVING_UNIT", "PROCEDURE_SCHEDULED", "PHYSICIAN_ORDER", "OTHER"),
    ),
    Entry(
        FindingCode.TOO_LATE,
        "timing",
        WARN,
        "after the window of the admission's ward (default 60 min; 30 min for time-critical "
        "medication); exactly on the edge is inside; never a STOP",
        _one("Trễ {late} so với giờ dùng {due}.", "{late} late for the {due} dose."),
        ("PATIENT_UNAVAILABLE", "CLINICAL_DELAY", "PHYSICIAN_ORDER", "OTHER"),
    ),
    # --- prn --------------------------------------------------------------------------------
    Entry(
        FindingCode.PRN_TOO_SOON,
        "prn",
        STOP,
        "the minimum interval since the order's last given dose has not elapsed (exactly "
        "elapsed is fine)",
        _one(
            "Liều khi cần gần nhất lúc {last}; phải cách ít nhất {interval}. Chờ thêm {wait}.",
            "Last PRN dose at {last}; at least {interval} must pass. Wait {wait} more.",
        ),
    ),
    Entry(
        FindingCode.PRN_MAX_EXCEEDED,
        "prn",
        STOP,
        "this dose would take the rolling 24-hour total above the order's maximum",
        _one(
            "Liều này đưa tổng trong 24 giờ lên {total}, vượt mức tối đa {maximum}.",
            "This dose would bring the 24-hour total to {total}, above the {maximum} maximum.",
        ),
    ),
    Entry(
        FindingCode.PRN_REASON_REQUIRED,
        "prn",
        STOP,
        "a PRN dose names no reason, or one that is not among the order's indications (an order "
        "written with one indication offers that one)",
        {
            DEFAULT: Message(
                "Chọn lý do dùng {medication} khi cần: {indications}.",
                "Choose why {medication} is given as needed: {indications}.",
            ),
            "not_listed": Message(
                "Lý do «{reason}» không có trong y lệnh {medication}. Chọn một trong: "
                "{indications}.",
                "«{reason}» is not an indication of the {medication} order. Choose one of: "
                "{indications}.",
            ),
            "none_listed": Message(
                "Y lệnh {medication} khi cần không ghi chỉ định. Không được dùng: báo bác sĩ "
                "bổ sung chỉ định.",
                "The PRN {medication} order names no indication. Do not give it: ask the "
                "prescriber to add one.",
            ),
        },
    ),
    # --- assessment -------------------------------------------------------------------------
    Entry(
        FindingCode.ASSESSMENT_REQUIRED,
        "assessment",
        STOP,
        "the order asks for a value measured before giving (listed, or named by a hold "
        "parameter) and the nurse has not entered it",
        _one(
            "Trước khi dùng {medication} cần đo và nhập: {assessments}.",
            "Before giving {medication}, measure and enter: {assessments}.",
        ),
    ),
    Entry(
        FindingCode.HOLD_PARAMETER,
        "assessment",
        STOP,
        "a value measured meets one of the order's hold parameters (the limit itself does not "
        "meet a strict < or >); the dose is documented not given, held for a clinical reason. "
        "Hold parameters stored in a form that cannot be read are a STOP of their own",
        {
            DEFAULT: Message(
                "Tạm hoãn liều {medication}: {assessment} {value}, y lệnh ghi tạm hoãn nếu "
                "{assessment} {rule}. Không được dùng liều này: ghi nhận với lý do «Tạm hoãn vì "
                "lý do lâm sàng» và báo bác sĩ.",
                "Hold {medication}: {assessment} is {value}; the order says hold if {assessment} "
                "{rule}. Do not give this dose; document it not given and tell the prescriber.",
            ),
            "unreadable": Message(
                "Không đọc được điều kiện tạm hoãn liều của y lệnh {medication}. Không được dùng: "
                "báo khoa Dược kiểm tra lại y lệnh.",
                "The hold parameters of the {medication} order cannot be read. Do not give it: "
                "ask the pharmacy to check the order.",
            ),
        },
    ),
    # --- infusion ---------------------------------------------------------------------------
    Entry(
        FindingCode.INFUSION_BAG_NOT_HUNG,
        "infusion",
        STOP,
        "a rate change, pause, resume or take-down of a bag that was never hung",
        _one(
            "Túi dịch truyền này chưa được ghi nhận treo. Quét túi đang truyền cho người bệnh.",
            "This infusion bag was never recorded as hung. Scan the bag that is running.",
        ),
    ),
    Entry(
        FindingCode.INFUSION_BAG_OTHER_PATIENT,
        "infusion",
        STOP,
        "the scanned bag was hung for another patient",
        _one(
            "Túi dịch truyền này được treo cho người bệnh khác. Dừng lại, kiểm tra người bệnh.",
            "This infusion bag was hung for another patient. Stop and check the patient.",
        ),
    ),
    Entry(
        FindingCode.INFUSION_BAG_OTHER_ORDER,
        "infusion",
        STOP,
        "the scanned bag belongs to another order than the one chosen",
        _one(
            "Túi dịch truyền này thuộc y lệnh khác ({medication}). Kiểm tra lại y lệnh.",
            "This infusion bag belongs to another order ({medication}). Check the order.",
        ),
    ),
    Entry(
        FindingCode.INFUSION_BAG_ENDED,
        "infusion",
        STOP,
        "the bag was already completed or stopped: its life has ended",
        _one(
            "Túi dịch truyền này đã kết thúc lúc {ended_at}. Không thể thao tác thêm.",
            "This infusion bag was already taken down at {ended_at}. Nothing more can be done "
            "with it.",
        ),
    ),
    Entry(
        FindingCode.INFUSION_BAG_STATE,
        "infusion",
        STOP,
        "the action does not fit the bag's state: a paused bag's rate is changed or it is "
        "paused again, or a running bag is resumed",
        {
            "paused": Message(
                "Túi dịch truyền đang tạm dừng. Tiếp tục truyền trước khi đổi tốc độ.",
                "The infusion is paused. Resume it before changing the rate.",
            ),
            "running": Message(
                "Túi dịch truyền đang chạy, không cần tiếp tục.",
                "The infusion is already running: there is nothing to resume.",
            ),
        },
    ),
    Entry(
        FindingCode.INFUSION_BAG_NOT_SERIALISED,
        "infusion",
        STOP,
        "a bag for an infusion order has no serial (neither the pharmacy label's nor a scanned "
        "one): its life could not be followed",
        _one(
            "Túi dịch truyền không có số sê-ri. In nhãn túi tại khoa dược hoặc quét sê-ri của túi.",
            "The infusion bag has no serial. Print a bag label in pharmacy or scan its serial.",
        ),
    ),
    Entry(
        FindingCode.INFUSION_ORDER_ENDED,
        "infusion",
        STOP,
        "the bag's order is no longer active (discontinued, on hold, expired): it may be taken "
        "down but not restarted or sped up",
        _one(
            "Y lệnh của túi dịch truyền này không còn hiệu lực. Chỉ được ngừng truyền.",
            "The order for this infusion bag is no longer active. It may only be stopped.",
        ),
    ),
    Entry(
        FindingCode.INFUSION_ALREADY_RUNNING,
        "infusion",
        STOP,
        "as many bags of this order as the order allows are already running on this line",
        _one(
            "Đã có {running} túi của y lệnh này đang truyền trên đường truyền {line}. Kết thúc "
            "túi cũ trước khi treo túi mới.",
            "{running} bag(s) of this order are already running on line {line}. Take the old "
            "bag down before hanging a new one.",
        ),
    ),
    Entry(
        FindingCode.INFUSION_RATE_FAR_OUTSIDE_ORDER,
        "infusion",
        STOP,
        "the rate is more than the configured factor above the ordered rate, or below it by "
        "that factor (exactly the factor is a warning)",
        _one(
            "Tốc độ truyền {rate} mL/giờ quá xa tốc độ chỉ định {ordered} mL/giờ. Không được "
            "truyền; báo bác sĩ.",
            "A rate of {rate} mL/h is far from the ordered {ordered} mL/h. Do not run it; tell "
            "the prescriber.",
        ),
    ),
    Entry(
        FindingCode.INFUSION_RATE_OUTSIDE_ORDER,
        "infusion",
        WARN,
        "the rate differs from the ordered rate, within the configured factor",
        _one(
            "Tốc độ truyền {rate} mL/giờ khác tốc độ chỉ định {ordered} mL/giờ.",
            "A rate of {rate} mL/h differs from the ordered {ordered} mL/h.",
        ),
        ("PRESCRIBER_AWARE", "PHYSICIAN_ORDER", "OTHER"),
    ),
    # --- removal ----------------------------------------------------------------------------
    Entry(
        FindingCode.PREVIOUS_NOT_REMOVED,
        "removal",
        STOP,
        "a product that requires removal (patch, ring, implant) is scanned while one of the same "
        "substance is on the patient, applied and not documented removed (VistA's MRR)",
        _one(
            "{medication} (dán lúc {applied}, ở {site}) chưa được ghi nhận tháo. Tháo miếng cũ "
            "và ghi nhận tháo trước khi dán miếng mới.",
            "{medication} applied at {applied} on the {site} is not documented as removed. "
            "Remove it and document the removal before applying a new one.",
        ),
    ),
    # --- site -------------------------------------------------------------------------------
    Entry(
        FindingCode.SITE_RECENTLY_USED,
        "site",
        WARN,
        "the chosen site was used for the same substance within the substance's look-back "
        "(exactly the look-back ago is outside it)",
        _one(
            "Vị trí {site} đã dùng cho {substance} lúc {last}. Nên chọn vị trí khác.",
            "The {site} was used for {substance} at {last}. Choose another site.",
        ),
        ("NO_OTHER_SITE", "PHYSICIAN_ORDER", "OTHER"),
    ),
    # --- witness ----------------------------------------------------------------------------
    Entry(
        FindingCode.WITNESS_REQUIRED,
        "witness",
        STOP,
        "high-alert medication (ordered or scanned) without another active nurse's badge and PIN",
        {
            "missing": _witness("", ""),
            "not_a_badge": _witness(
                " Mã ở ô người kiểm tra chéo không phải thẻ nhân viên.",
                " The witness slot does not hold a staff badge.",
            ),
            "unknown_badge": _witness(
                " Không nhận ra thẻ của người kiểm tra chéo.", " The witness badge is not known."
            ),
            "same_person": _witness(
                " Người kiểm tra chéo phải là người khác, không phải bạn.",
                " The witness must be someone other than you.",
            ),
            "inactive": _witness(
                " Tài khoản của người kiểm tra chéo không còn hoạt động.",
                " The witness's account is not active.",
            ),
            "pharmacist": _witness(
                " Dược sĩ không thể là người kiểm tra chéo.", " A pharmacist cannot witness."
            ),
            "student": _witness(
                " Sinh viên điều dưỡng không thể là người kiểm tra chéo.",
                " A student nurse cannot witness.",
            ),
            "not_allowed": _witness(
                " Người kiểm tra chéo phải là người được phép cho người bệnh dùng thuốc.",
                " The witness must be allowed to give medication.",
            ),
            "pin": _witness(
                " Mã PIN của người kiểm tra chéo không đúng.", " The witness PIN is wrong."
            ),
        },
    ),
    # --- cosign -----------------------------------------------------------------------------
    Entry(
        FindingCode.STUDENT_COSIGN_REQUIRED,
        "cosign",
        STOP,
        "the nurse giving is a student nurse, and no clinical instructor (another active licensed "
        "nurse in the instructor group) co-signed with her badge and PIN",
        {
            problem: Message(_COSIGN_VI + vi, _COSIGN_EN + en)
            for problem, (vi, en) in _COSIGN_PROBLEMS.items()
        },
    ),
    # --- waste ------------------------------------------------------------------------------
    Entry(
        FindingCode.WASTE_AMOUNT_MISMATCH,
        "waste",
        STOP,
        "waste documented: the amount given plus the amount wasted is not exactly what the "
        "units scanned hold, or cannot be related to them",
        {
            DEFAULT: Message(
                "Lượng dùng {given} cộng lượng huỷ bỏ {waste} là {total}, không bằng lượng thuốc "
                "trong các ống/lọ đã quét ({held}). Kiểm tra lại số liệu.",
                "Given {given} plus wasted {waste} is {total}, not the {held} the scanned units "
                "hold. Check the amounts.",
            ),
            "incomparable": Message(
                "Không so được lượng dùng {given} và lượng huỷ bỏ {waste} với thuốc đã quét. "
                "Ghi lượng bằng mg hoặc mL. Hỏi dược sĩ.",
                "Given {given} and wasted {waste} cannot be compared with the scanned units. "
                "Use the medication's unit (mg) or mL. Ask pharmacy.",
            ),
        },
    ),
    Entry(
        FindingCode.WASTE_WITNESS_REQUIRED,
        "waste",
        STOP,
        "waste of a controlled or high-alert medication without another active nurse's badge "
        "and PIN",
        {problem: _waste_witness(vi, en) for problem, (vi, en) in _WITNESS_PROBLEMS.items()},
    ),
)

CATALOGUE: dict[FindingCode, Entry] = {
    code: entry for code in FindingCode for entry in ENTRIES if entry.code is code
}

# What the rest of the system reads, derived from the entries above.
CODE_ORDER: tuple[str, ...] = tuple(str(code) for code in FindingCode)
CODE_RANK: dict[str, int] = {code: rank for rank, code in enumerate(CODE_ORDER)}
WARN_CODES = frozenset(str(e.code) for e in CATALOGUE.values() if e.severity is WARN)
OVERRIDE_REASONS: dict[str, tuple[str, ...]] = {
    str(e.code): e.override_reasons for e in CATALOGUE.values() if e.override_reasons
}
REASONS_NEEDING_COMMENT = frozenset(code for code, r in REASONS.items() if r.needs_comment)
OVERRIDE_REASON_LABELS: dict[str, tuple[str, str]] = {  # (vi, en)
    code: (reason.vi, reason.en) for code, reason in REASONS.items()
}
