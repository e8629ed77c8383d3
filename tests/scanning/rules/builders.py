"""Facts for the rules tests: a nurse at 08:00 local time on ward NOI1 scans the active band of an
admitted patient and one paracetamol 500 mg tablet for the 08:00 dose of an active, verified order
(`good()`, which is "go"). Each test and each row changes one thing.
"""

from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest

from scanning.rules import (
    AdmissionFacts,
    CheckFacts,
    CheckResult,
    DoseFacts,
    MedicationFacts,
    OrderFacts,
    PatientFacts,
    PatientScan,
    PriorDose,
    ProductFacts,
    ScannedUnit,
    Severity,
    StaffFacts,
    check_administration,
)
from scanning.rules.catalogue import CATALOGUE

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 3, 14, 8, 0, tzinfo=TZ)
TODAY = date(2026, 3, 14)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def medication(**changes) -> MedicationFacts:
    base = MedicationFacts(
        id=1,
        name="Paracetamol 500 mg",
        substance_code="paracetamol",
        allergy_class_code="",
        dose_form="tablet",
        routes=frozenset({"PO", "NG"}),
        strength_value=D("500"),
        strength_unit="mg",
        per_value=D("1"),
        per_unit="each",
        high_alert=False,
        time_critical=False,
        divisible=False,
    )
    return replace(base, **changes)


PARACETAMOL_500 = medication()
PARACETAMOL_250 = medication(id=2, name="Paracetamol 250 mg", strength_value=D("250"))
PARACETAMOL_ER = medication(
    id=3, name="Paracetamol 650 mg ER", dose_form="tablet_er", strength_value=D("650")
)
PARACETAMOL_SYRUP = medication(
    id=4,
    name="Paracetamol 250 mg/5 mL",
    dose_form="oral_solution",
    strength_value=D("250"),
    per_value=D("5"),
    per_unit="mL",
    divisible=True,
)
AMOXICILLIN = medication(
    id=5,
    name="Amoxicillin 500 mg",
    substance_code="amoxicillin",
    allergy_class_code="penicillins",
    dose_form="capsule",
    routes=frozenset({"PO"}),
)
INSULIN = medication(
    id=6,
    name="Insulin human 100 IU/mL",
    substance_code="insulin-human",
    dose_form="injection",
    routes=frozenset({"SC", "IV"}),
    strength_value=D("100"),
    strength_unit="IU",
    per_value=D("1"),
    per_unit="mL",
    high_alert=True,
    divisible=True,
)
LEVOTHYROXINE = medication(
    id=7,
    name="Levothyroxine 0.1 mg",
    substance_code="levothyroxine",
    strength_value=D("0.1"),
)
COLECALCIFEROL_IU = medication(
    id=8,
    name="Colecalciferol 1000 IU",
    substance_code="colecalciferol",
    strength_value=D("1000"),
    strength_unit="IU",
)
CEFTRIAXONE = medication(
    id=9,
    name="Ceftriaxone 1 g",
    substance_code="ceftriaxone",
    allergy_class_code="cephalosporins",
    dose_form="powder_injection",
    routes=frozenset({"IV", "IM"}),
    strength_value=D("1"),
    strength_unit="g",
    time_critical=True,
)
HEPARIN = medication(
    id=10,
    name="Heparin 5000 IU/mL",
    substance_code="heparin",
    dose_form="injection",
    routes=frozenset({"SC", "IV"}),
    strength_value=D("5000"),
    strength_unit="IU",
    per_value=D("1"),
    per_unit="mL",
    high_alert=True,
    divisible=True,
)

VINCRISTINE = medication(
    id=11,
    name="Vincristine 1 mg/mL",
    substance_code="vincristine",
    dose_form="injection",
    routes=frozenset({"IV"}),
    strength_value=D("1"),
    strength_unit="mg",
    per_value=D("1"),
    per_unit="mL",
    high_alert=True,
    divisible=True,
)
# Bad formulary data: a tablet listed for IV. The form decides what can go by a route.
TABLET_LISTED_IV = medication(id=12, routes=frozenset({"PO", "IV"}))

GTINS = {
    PARACETAMOL_500.id: "08930000000011",
    PARACETAMOL_250.id: "08930000000028",
    PARACETAMOL_ER.id: "08930000000035",
    PARACETAMOL_SYRUP.id: "08930000000042",
    AMOXICILLIN.id: "08930000000059",
    INSULIN.id: "08930000000066",
    LEVOTHYROXINE.id: "08930000000073",
    COLECALCIFEROL_IU.id: "08930000000080",
    CEFTRIAXONE.id: "08930000000097",
    HEPARIN.id: "08930000000103",
    VINCRISTINE.id: "08930000000110",
    TABLET_LISTED_IV.id: "08930000000127",
}


def product(med: MedicationFacts = PARACETAMOL_500, quantity="1", unit="each") -> ProductFacts:
    return ProductFacts(
        gtin=GTINS[med.id], quantity=D(quantity), quantity_unit=unit, medication=med
    )


def unit(
    prod: ProductFacts | None = None,
    serial: str | None = "S1",
    *,
    lot: str | None = "L1",
    expiry: date | None = date(2027, 12, 31),
    keyed: bool = False,
    kind: str = "medication",
    gtin: str | None = None,
) -> ScannedUnit:
    prod = product() if prod is None else prod
    return ScannedUnit(
        kind=kind,
        gtin=gtin or prod.gtin,
        lot=lot,
        serial=serial,
        expiry=expiry,
        keyed=keyed,
        product=prod,
    )


def units(prod: ProductFacts, count: int) -> tuple[ScannedUnit, ...]:
    return tuple(unit(prod, f"S{n}") for n in range(1, count + 1))


def unknown_product_unit() -> ScannedUnit:
    return ScannedUnit("medication", "09520000000017", "L9", "S9", date(2027, 1, 31), False, None)


def other_kind_unit(kind: str) -> ScannedUnit:
    return ScannedUnit(kind, None, None, None, None, False, None)


def order(**changes) -> OrderFacts:
    base = OrderFacts(
        id=10,
        medication=PARACETAMOL_500,
        dose_value=D("500"),
        dose_unit="mg",
        route="PO",
        status="active",
        verified=True,
        start_at=NOW - timedelta(days=2),
        stop_at=None,
        is_prn=False,
        prn_min_interval_minutes=None,
        prn_max_per_24h=None,
        created_at=NOW - timedelta(days=2),
    )
    return replace(base, **changes)


def prn_order(**changes) -> OrderFacts:
    return order(
        **{
            "is_prn": True,
            "prn_min_interval_minutes": 240,
            "prn_max_per_24h": D("4000"),
            "prn_indications": ("đau", "sốt"),
            **changes,
        }
    )


def dose(**changes) -> DoseFacts:
    return replace(
        DoseFacts(id=100, order_id=10, due_at=NOW, state="scheduled", given=False), **changes
    )


def prior(minutes_ago: float, amount="500", dose_unit="mg", order_id=10) -> PriorDose:
    return PriorDose(order_id, NOW - timedelta(minutes=minutes_ago), D(amount), dose_unit)


NURSE = StaffFacts(id=1, may_administer=True, is_pharmacist=False, active=True)
SECOND_NURSE = StaffFacts(id=2, may_administer=True, is_pharmacist=False, active=True)
PHARMACIST = StaffFacts(id=3, may_administer=False, is_pharmacist=True, active=True)
STUDENT = StaffFacts(id=4, may_administer=True, is_pharmacist=False, active=True, is_student=True)
INSTRUCTOR = StaffFacts(
    id=5, may_administer=True, is_pharmacist=False, active=True, is_instructor=True
)
PATIENT = PatientFacts(
    id=1, mrn="BN000123", full_name="Nguyễn Văn An", date_of_birth=date(1950, 5, 1), deceased=False
)
ADMISSION = AdmissionFacts(
    id=1, ward_code="NOI1", window_minutes=60, time_critical_window_minutes=30
)


def good(**changes) -> CheckFacts:
    base = CheckFacts(
        now=NOW,
        tz=TZ,
        cart_ward_code="NOI1",
        patient_scan=PatientScan(kind="wristband", keyed=False),
        patient=PATIENT,
        band_active=True,
        admission=ADMISSION,
        allergies=(),
        units=(unit(),),
        orders=(order(),),
        doses=(dose(),),
        prior_doses=(),
        used_serials=frozenset(),
        recalled_lots=frozenset(),
        performer=NURSE,
        witness_scan_kind=None,
        witness=None,
        witness_pin_ok=False,
    )
    return replace(base, **changes)


GOOD_WITNESS = {"witness_scan_kind": "badge", "witness": SECOND_NURSE, "witness_pin_ok": True}


def for_medication(
    med: MedicationFacts,
    scanned: tuple[ScannedUnit, ...],
    *,
    order_changes: dict | None = None,
    **changes,
) -> CheckFacts:
    """An order for `med` and what was scanned; high-alert medication gets a good witness."""
    the_order = order(
        **{"medication": med, "route": sorted(med.routes)[0], **(order_changes or {})}
    )
    defaults = {
        "units": scanned,
        "orders": (the_order,),
        **(GOOD_WITNESS if med.high_alert else {}),
    }
    return good(**{**defaults, **changes})


def insulin(dose_iu: str = "6", vials: int = 1, **changes) -> CheckFacts:
    return for_medication(
        INSULIN,
        units(product(INSULIN, "10", "mL"), vials),
        order_changes={"dose_value": D(dose_iu), "dose_unit": "IU", "route": "SC"},
        **changes,
    )


def vincristine(route: str, **changes) -> CheckFacts:
    return for_medication(
        VINCRISTINE,
        (unit(product(VINCRISTINE, "1", "mL")),),
        order_changes={"dose_value": D("1"), "dose_unit": "mg", "route": route},
        **changes,
    )


DISCHARGED_AT = NOW - timedelta(hours=22)


def discharged(deceased: bool = False, **changes) -> CheckFacts:
    """The band the patient wore when the admission closed: voided by the discharge itself."""
    return good(
        **{
            "patient": replace(PATIENT, deceased=deceased),
            "band_active": False,
            "band_discharged_at": DISCHARGED_AT,
            "admission": None,
            "orders": (),
            "doses": (),
            **changes,
        }
    )


def with_order(**changes) -> CheckFacts:
    return good(orders=(order(**changes),))


def prn(*priors: PriorDose, **changes) -> CheckFacts:
    return good(
        **{
            "orders": (prn_order(),),
            "doses": (),
            "prior_doses": priors,
            "prn_reason": "đau",
            **changes,
        }
    )


def check(facts: CheckFacts) -> CheckResult:
    return check_administration(facts)


def finding(result: CheckResult, code: str):
    found = [f for f in result.findings if f.code == code]
    assert len(found) == 1, f"expected one {code}, got {result.codes()}"
    return found[0]


YESTERDAY = TODAY - timedelta(days=1)


STOP, WARN = Severity.STOP, Severity.WARN


def area_codes(area: str) -> set[str]:
    """The codes the catalogue files under `area` (the module scanning/rules/<area>.py)."""
    return {str(code) for code, entry in CATALOGUE.items() if entry.area == area}


def raised(rows: list) -> list:
    """pytest params of (code, severity, name, facts) rows, named code-name."""
    return [
        pytest.param(code, severity, facts, id=f"{code}-{name}")
        for code, severity, name, facts in rows
    ]


def not_raised(rows: list) -> list:
    """pytest params of (code, name, facts, verdict) rows, named code-name."""
    return [
        pytest.param(code, facts, verdict, id=f"{code}-{name}")
        for code, name, facts, verdict in rows
    ]
