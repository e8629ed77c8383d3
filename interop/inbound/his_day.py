"""Realistic HL7 v2.5 messages from a Vietnamese hospital's HIS, for `manage.py his_simulate` and
the inbound tests: Vietnamese names (UTF-8), escapes, Z-segments we ignore, national ID
(CCCD) and insurance (BHYT) numbers in PID-3.

Written as ER7 text on purpose: they stand for what another vendor's system sends, not for what
our own builder would produce."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

HCMC = ZoneInfo("Asia/Ho_Chi_Minh")
# The simulated HIS's drug codes and the demo formulary items they mean.
DEMO_DRUG_CODES = {
    "TT01": ("Paracetamol 500mg", "paracetamol-500-tab"),
    "TT02": ("Ceftriaxone 1g", "ceftriaxone-1g-inj"),
    "TT03": ("Omeprazole 20mg", "omeprazole-20-cap"),
}
# MSH-4 of the simulated HIS: the demo's first hospital (BVDKT) sends as "HOSPITAL"; Bãi Cháy's
# HIS as "BAICHAY" (Hospital.hl7_facility). A message is applied for that hospital only.
FACILITY = "HOSPITAL"


def ts(moment: datetime) -> str:
    return moment.astimezone(HCMC).strftime("%Y%m%d%H%M%S")


def msh(message_type: str, control_id: str, at: datetime, facility: str = FACILITY) -> str:
    structure = {"ADT^A40": "ADT_A39", "RDE^O11": "RDE_O11", "OMP^O09": "OMP_O09"}.get(
        message_type, "ADT_A01"
    )
    return (
        f"MSH|^~\\&|HIS|{facility}|BCMA|{facility}|{ts(at)}||{message_type}^{structure}|"
        f"{control_id}|P|2.5|||AL|NE|VNM|UNICODE UTF-8"
    )


def pid(
    mrn: str,
    family: str,
    given: str,
    middle: str = "",
    *,
    birth: str = "19560314",
    sex: str = "M",
    cccd: str = "",
    bhyt: str = "",
    facility: str = FACILITY,
) -> str:
    ids = [f"{mrn}^^^{facility}^MR"]
    if cccd:
        ids.append(f"{cccd}^^^BCA^NNVNM")
    if bhyt:
        ids.append(f"{bhyt}^^^BHXH^HC")
    return f"PID|1||{'~'.join(ids)}||{family}^{given}^{middle}^^^^L||{birth}|{sex}"


def pv1(
    ward: str,
    bed: str,
    visit: str,
    *,
    prior: str = "",
    admitted: datetime | None = None,
    discharged: datetime | None = None,
) -> str:
    fields = [""] * 46
    fields[1] = "1"
    fields[2] = "I"
    fields[3] = f"{ward}^^{bed}" if bed else ward
    fields[6] = prior
    fields[19] = visit
    fields[44] = ts(admitted) if admitted else ""
    fields[45] = ts(discharged) if discharged else ""
    return "PV1|" + "|".join(fields[1:]).rstrip("|")


def adt(
    event: str,
    control_id: str,
    at: datetime,
    patient: str,
    visit: str = "",
    *extra: str,
    facility: str = FACILITY,
) -> str:
    segments = [msh(f"ADT^{event}", control_id, at, facility), f"EVN|{event}|{ts(at)}", patient]
    if visit:
        segments.append(visit)
    segments.extend(extra)
    return "\r".join(segments) + "\r"


def al1(index: int, code: str, text: str, severity: str, reaction: str = "") -> str:
    return f"AL1|{index}|DA|{code}^{text}^L|{severity}|{reaction}"


def order_group(
    control: str,
    placer: str,
    *,
    at: datetime,
    drug: str = "",
    drug_name: str = "",
    amount: str = "",
    unit: str = "mg",
    route: str = "PO",
    times: str = "",
    repeat: str = "",
    priority: str = "",
    start: datetime | None = None,
    stop: datetime | None = None,
    condition: str = "",
    daily_max: str = "",
    filler: str = "",
    doctor: str = "BS001^Lê^Tâm^Văn",
    reason: str = "",
) -> list[str]:
    orc = f"ORC|{control}|{placer}|{filler}||||||{ts(at)}|||{doctor}||||{reason}"
    if control not in ("NW", "XO"):
        return [orc]
    tq1 = (
        f"TQ1|1||{repeat}|{times}|||{ts(start or at)}|{ts(stop) if stop else ''}|{priority}|"
        f"{condition}"
    )
    rxe_fields = [""] * 28
    rxe_fields[2] = f"{drug}^{drug_name}^HIS"
    rxe_fields[3] = amount
    rxe_fields[5] = f"{unit}^{unit}^UCUM"
    rxe_fields[19] = f"{daily_max}^{unit}" if daily_max else ""
    rxe = "RXE|" + "|".join(rxe_fields[1:]).rstrip("|")
    return [orc, tq1, rxe, f"RXR|{route}^{route}^HL70162"]


def rde(
    control_id: str,
    at: datetime,
    patient: str,
    visit: str,
    *groups: list[str],
    facility: str = FACILITY,
) -> str:
    segments = [msh("RDE^O11", control_id, at, facility), patient, visit]
    for group in groups:
        segments.extend(group)
    segments.append("ZRX|1|Ghi chú nội bộ HIS")
    return "\r".join(segments) + "\r"


# ------------------------------------------------------------------------------------------------
# A ward day: the corpus that the end-to-end tests and his_simulate play.


def ward_day(start: datetime) -> list[tuple[str, str]]:
    """(label, message) in the order a HIS sends them on a morning in the internal medicine ward
    (NOI) and the surgical ward (NGOAI). Drug codes are the HIS's (TT01 …), mapped by the
    pharmacy to the demo formulary (DEMO_DRUG_CODES)."""
    t = lambda minutes: start + timedelta(minutes=minutes)  # noqa: E731
    an = pid("BN2026000201", "Nguyễn", "An", "Văn", cccd="001089012345", bhyt="DN4010123456789")
    hong = pid("BN2026000202", "Trần", "Hồng", "Thị", birth="19720808", sex="F")
    khoa = pid("BN2026000203", "Lê", "Khoa", "Đăng", birth="19880102")
    visit_an = pv1("NOI", "10", "VV2026001", admitted=t(0))
    visit_hong = pv1("NOI", "", "VV2026002", admitted=t(5))
    visit_khoa = pv1("NGOAI", "09", "VV2026003", admitted=t(10))
    return [
        (
            "A01 Nguyễn Văn An, NOI/10, penicillin allergy",
            adt(
                "A01",
                "HIS0001",
                t(0),
                an,
                visit_an,
                al1(1, "PENICILLINS", "Kháng sinh nhóm Penicillin", "SV", "Sốc phản vệ"),
                "ZPV|1|BHYT 80%",
            ),
        ),
        ("A01 Trần Thị Hồng, NOI (no bed yet)", adt("A01", "HIS0002", t(5), hong, visit_hong)),
        ("A04 Lê Đăng Khoa, NGOAI/09", adt("A04", "HIS0003", t(10), khoa, visit_khoa)),
        (
            "RDE NW paracetamol 1 g PO 08:00/14:00/20:00 for An",
            rde(
                "HIS0004",
                t(15),
                an,
                visit_an,
                order_group(
                    "NW",
                    "YL0001",
                    at=t(15),
                    drug="TT01",
                    drug_name="Paracetamol 500mg",
                    amount="1000",
                    unit="mg",
                    route="PO",
                    times="0800~1400~2000",
                ),
            ),
        ),
        (
            "RDE NW ceftriaxone 1 g IV q12h + omeprazole 20 mg PO QD for Hồng",
            rde(
                "HIS0005",
                t(20),
                hong,
                visit_hong,
                order_group(
                    "NW",
                    "YL0002",
                    at=t(20),
                    drug="TT02",
                    drug_name="Ceftriaxone 1g",
                    amount="1",
                    unit="g",
                    route="IV",
                    repeat="Q12H",
                ),
                order_group(
                    "NW",
                    "YL0003",
                    at=t(20),
                    drug="TT03",
                    drug_name="Omeprazole 20mg",
                    amount="20",
                    unit="mg",
                    route="PO",
                    times="0700",
                ),
            ),
        ),
        (
            "RDE NW paracetamol PRN for Khoa (pain, q4h, max 4 g/24 h)",
            rde(
                "HIS0006",
                t(25),
                khoa,
                visit_khoa,
                order_group(
                    "NW",
                    "YL0004",
                    at=t(25),
                    drug="TT01",
                    drug_name="Paracetamol 500mg",
                    amount="500",
                    unit="mg",
                    route="PO",
                    repeat="Q4H",
                    priority="PRN",
                    condition="Đau \\T\\ sốt > 38,5°C",
                    daily_max="4000",
                ),
            ),
        ),
        (
            "RDE XO paracetamol for An: 500 mg instead of 1 g",
            rde(
                "HIS0007",
                t(40),
                an,
                visit_an,
                order_group(
                    "XO",
                    "YL0001",
                    at=t(40),
                    drug="TT01",
                    drug_name="Paracetamol 500mg",
                    amount="500",
                    unit="mg",
                    route="PO",
                    times="0800~1400~2000",
                ),
            ),
        ),
        (
            "RDE DC omeprazole for Hồng",
            rde(
                "HIS0008",
                t(45),
                hong,
                visit_hong,
                order_group("DC", "YL0003", at=t(45), reason="^Bác sĩ ngưng thuốc"),
            ),
        ),
        (
            "A02 Trần Thị Hồng NOI → NGOAI/10",
            adt("A02", "HIS0009", t(50), hong, pv1("NGOAI", "10", "VV2026002", prior="NOI")),
        ),
        (
            "A08 Lê Đăng Khoa: insurance number added",
            adt(
                "A08",
                "HIS0010",
                t(55),
                pid("BN2026000203", "Lê", "Khoa", "Đăng", birth="19880102", bhyt="HC4790987654321"),
                visit_khoa,
            ),
        ),
        (
            "A03 Nguyễn Văn An discharged",
            adt("A03", "HIS0011", t(60), an, pv1("NOI", "10", "VV2026001", discharged=t(60))),
        ),
    ]
