"""Safety rules (scanning/rules.py): pure tables and properties, no database.

Every test starts from `good()`: a nurse at 08:00 local time on ward NOI1 scans the active band of
an admitted patient and one paracetamol 500 mg tablet for the 08:00 dose of an active, verified
order → "go". Each row changes one thing.
"""

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanning.dose import Quantity
from scanning.rules import (
    CODE_ORDER,
    OVERRIDE_REASON_LABELS,
    OVERRIDE_REASONS,
    REASONS_NEEDING_COMMENT,
    WARN_CODES,
    AdmissionFacts,
    AllergyFacts,
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

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 3, 14, 8, 0, tzinfo=TZ)
TODAY = date(2026, 3, 14)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


# --- builders ------------------------------------------------------------------------------


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


def with_order(**changes) -> CheckFacts:
    return good(orders=(order(**changes),))


def prn(*priors: PriorDose, **changes) -> CheckFacts:
    return good(**{"orders": (prn_order(),), "doses": (), "prior_doses": priors, **changes})


def check(facts: CheckFacts) -> CheckResult:
    return check_administration(facts)


def finding(result: CheckResult, code: str):
    found = [f for f in result.findings if f.code == code]
    assert len(found) == 1, f"expected one {code}, got {result.codes()}"
    return found[0]


YESTERDAY = TODAY - timedelta(days=1)


# --- the good case -------------------------------------------------------------------------


def test_everything_right_is_go():
    result = check(good())

    assert result.verdict == "go"
    assert result.findings == ()
    assert result.order == order()
    assert result.dose == dose()
    assert result.dose_summary.comparison == "equal"
    assert str(result.dose_summary.ordered) == str(result.dose_summary.scanned) == "500 mg"


# --- one row per code and condition: the code is raised with its severity -----------------

STOP, WARN = Severity.STOP, Severity.WARN

POSITIVE = [
    (
        "UNKNOWN_CODE",
        STOP,
        "patient-slot",
        good(patient_scan=PatientScan("unknown", False), patient=None),
    ),
    ("UNKNOWN_CODE", STOP, "medication-slot", good(units=(unit(), other_kind_unit("unknown")))),
    ("UNKNOWN_CODE", STOP, "witness-slot", good(witness_scan_kind="unknown")),
    ("PATIENT_UNKNOWN", STOP, "no-patient-for-gsrn", good(patient=None, band_active=False)),
    ("WRISTBAND_VOID", STOP, "voided-or-superseded", good(band_active=False)),
    ("PATIENT_NOT_ADMITTED", STOP, "no-open-admission", good(admission=None, orders=(), doses=())),
    ("PATIENT_DECEASED", STOP, "deceased", good(patient=replace(PATIENT, deceased=True))),
    ("WRONG_WARD", WARN, "other-ward", good(cart_ward_code="NGOAI2")),
    ("PRODUCT_UNKNOWN", STOP, "gtin-not-in-formulary", good(units=(unknown_product_unit(),))),
    ("NOT_ORDERED", STOP, "other-substance", good(units=(unit(product(AMOXICILLIN)),))),
    ("NOT_ORDERED", STOP, "no-orders", good(orders=(), doses=())),
    ("NOT_ORDERED", STOP, "er-for-ir", good(units=(unit(product(PARACETAMOL_ER)),))),
    (
        "ORDER_NOT_VERIFIED",
        STOP,
        "pending",
        with_order(status="pending_verification", verified=False),
    ),
    ("ORDER_NOT_VERIFIED", STOP, "active-unverified", with_order(verified=False)),
    ("ORDER_ON_HOLD", STOP, "on-hold", with_order(status="on_hold")),
    ("ORDER_DISCONTINUED", STOP, "discontinued", with_order(status="discontinued")),
    ("ORDER_NOT_ACTIVE", STOP, "completed", with_order(status="completed")),
    ("ORDER_NOT_ACTIVE", STOP, "not-started", with_order(start_at=NOW + MINUTE)),
    ("ORDER_NOT_ACTIVE", STOP, "stop-is-exclusive", with_order(stop_at=NOW)),
    ("PRODUCT_EXPIRED", STOP, "yesterday", good(units=(unit(expiry=YESTERDAY),))),
    ("LOT_RECALLED", STOP, "recalled", good(recalled_lots=frozenset({(GTINS[1], "L1")}))),
    ("SERIAL_ALREADY_USED", STOP, "used", good(used_serials=frozenset({(GTINS[1], "S1")}))),
    (
        "ALLERGY",
        STOP,
        "severe-substance",
        good(allergies=(AllergyFacts("paracetamol", "Paracetamol", "severe"),)),
    ),
    (
        "ALLERGY",
        STOP,
        "severe-class",
        for_medication(
            AMOXICILLIN,
            (unit(product(AMOXICILLIN)),),
            allergies=(AllergyFacts("penicillins", "Nhóm penicillin", "severe"),),
        ),
    ),
    *(
        (
            "ALLERGY",
            WARN,
            severity,
            good(allergies=(AllergyFacts("paracetamol", "Paracetamol", severity),)),
        )
        for severity in ("moderate", "mild", "unknown")
    ),
    (
        "ALLERGY",
        WARN,
        "moderate-class",
        for_medication(
            AMOXICILLIN,
            (unit(product(AMOXICILLIN)),),
            allergies=(AllergyFacts("penicillins", "Nhóm penicillin", "moderate"),),
        ),
    ),
    ("ROUTE_MISMATCH", STOP, "tablet-iv", with_order(route="IV")),
    ("DOSE_INCOMPLETE", WARN, "one-250-for-500", good(units=(unit(product(PARACETAMOL_250)),))),
    (
        "DOSE_INCOMPLETE",
        WARN,
        "amount-less",
        good(amount=Quantity(D("250"), "mg"), units=(unit(product(PARACETAMOL_250)),)),
    ),
    ("DOSE_EXCEEDED", STOP, "two-500-for-500", good(units=units(product(), 2))),
    (
        "DOSE_EXCEEDED",
        STOP,
        "amount-more",
        good(amount=Quantity(D("1000"), "mg"), units=units(product(), 2)),
    ),
    ("PARTIAL_UNIT", WARN, "insulin-6-of-1000", insulin("6")),
    ("DOSE_UNIT_MISMATCH", STOP, "iu-vs-mg", with_order(dose_value=D("1000"), dose_unit="IU")),
    ("DOSE_UNIT_MISMATCH", STOP, "amount-iu", good(amount=Quantity(D("500"), "IU"))),
    (
        "DUPLICATE_SCAN",
        STOP,
        "same-serial-twice",
        good(units=(unit(product(PARACETAMOL_250)),) * 2),
    ),
    (
        "WRONG_SCAN_KIND",
        STOP,
        "product-in-patient-slot",
        good(patient_scan=PatientScan("medication", False), patient=None),
    ),
    (
        "WRONG_SCAN_KIND",
        STOP,
        "badge-in-patient-slot",
        good(patient_scan=PatientScan("badge", False), patient=None),
    ),
    (
        "WRONG_SCAN_KIND",
        STOP,
        "wristband-in-medication-slot",
        good(units=(unit(), other_kind_unit("wristband"))),
    ),
    (
        "WRONG_SCAN_KIND",
        STOP,
        "badge-in-medication-slot",
        good(units=(unit(), other_kind_unit("badge"))),
    ),
    ("WRONG_SCAN_KIND", STOP, "wristband-in-witness-slot", good(witness_scan_kind="wristband")),
    ("WRONG_SCAN_KIND", STOP, "product-in-witness-slot", good(witness_scan_kind="medication")),
    ("TOO_EARLY", WARN, "61-min-early", good(doses=(dose(due_at=NOW + 61 * MINUTE),))),
    ("TOO_LATE", WARN, "61-min-late", good(doses=(dose(due_at=NOW - 61 * MINUTE),))),
    ("ALREADY_GIVEN", STOP, "given", good(doses=(dose(state="given", given=True),))),
    ("PRN_TOO_SOON", STOP, "239-of-240-min", prn(prior(239))),
    (
        "PRN_MAX_EXCEEDED",
        STOP,
        "4500-of-4000",
        prn(prior(300, "1000"), prior(600, "1000"), prior(900, "2000")),
    ),
    (
        "WITNESS_REQUIRED",
        STOP,
        "no-witness",
        insulin("1000", witness_scan_kind=None, witness=None, witness_pin_ok=False),
    ),
    ("KEYED_ENTRY", WARN, "patient-keyed", good(patient_scan=PatientScan("wristband", True))),
    ("KEYED_ENTRY", WARN, "unit-keyed", good(units=(unit(keyed=True),))),
    ("PERFORMER_NOT_ALLOWED", STOP, "pharmacist", good(performer=PHARMACIST)),
    ("PERFORMER_NOT_ALLOWED", STOP, "inactive", good(performer=replace(NURSE, active=False))),
    (
        "MIXED_PRODUCTS",
        STOP,
        "two-medications",
        good(units=(unit(), unit(product(AMOXICILLIN), "S2"))),
    ),
    (
        "AMOUNT_NOT_SCANNED",
        STOP,
        "500-of-250-scanned",
        good(units=(unit(product(PARACETAMOL_250)),), amount=Quantity(D("500"), "mg")),
    ),
    ("ORDER_MISMATCH", WARN, "other-order-requested", good(requested_order_id=99)),
    ("NO_SCHEDULED_DOSE", STOP, "scheduled-order-without-dose", good(doses=())),
]


@pytest.mark.parametrize(
    ("code", "severity", "facts"),
    [
        pytest.param(code, severity, facts, id=f"{code}-{name}")
        for code, severity, name, facts in POSITIVE
    ],
)
def test_code_is_raised(code, severity, facts):
    result = check(facts)

    assert {f.severity for f in result.findings if f.code == code} == {severity}
    assert result.verdict == ("stop" if result.stops() else "warn")


def test_every_code_has_a_positive_row():
    assert {code for code, *_rest in POSITIVE} == set(CODE_ORDER)


# --- one row per code: the neighbouring situation that must NOT raise it -------------------

NEGATIVE = [
    (
        "UNKNOWN_CODE",
        "badge-in-witness-slot",
        good(witness_scan_kind="badge", witness=SECOND_NURSE),
        "go",
    ),
    ("PATIENT_UNKNOWN", "known-patient", good(), "go"),
    ("WRISTBAND_VOID", "active-band", good(band_active=True), "go"),
    ("PATIENT_NOT_ADMITTED", "admitted", good(), "go"),
    ("PATIENT_DECEASED", "alive", good(), "go"),
    ("WRONG_WARD", "cart-without-ward", good(cart_ward_code=None), "go"),
    ("WRONG_WARD", "same-ward", good(cart_ward_code="NOI1"), "go"),
    ("PRODUCT_UNKNOWN", "known", good(), "go"),
    (
        "NOT_ORDERED",
        "other-strength-same-form",
        good(units=units(product(PARACETAMOL_250), 2)),
        "go",
    ),
    ("ORDER_NOT_VERIFIED", "verified", good(), "go"),
    ("ORDER_ON_HOLD", "active", good(), "go"),
    ("ORDER_DISCONTINUED", "active", good(), "go"),
    ("ORDER_NOT_ACTIVE", "start-is-inclusive", with_order(start_at=NOW), "go"),
    ("ORDER_NOT_ACTIVE", "stops-in-a-minute", with_order(stop_at=NOW + MINUTE), "go"),
    ("PRODUCT_EXPIRED", "expires-today", good(units=(unit(expiry=TODAY),)), "go"),
    ("PRODUCT_EXPIRED", "no-expiry", good(units=(unit(expiry=None),)), "go"),
    (
        "LOT_RECALLED",
        "same-lot-other-gtin",
        good(recalled_lots=frozenset({(GTINS[2], "L1")})),
        "go",
    ),
    ("LOT_RECALLED", "other-lot", good(recalled_lots=frozenset({(GTINS[1], "L2")})), "go"),
    ("SERIAL_ALREADY_USED", "other-serial", good(used_serials=frozenset({(GTINS[1], "S2")})), "go"),
    (
        "SERIAL_ALREADY_USED",
        "no-serial",
        good(units=(unit(serial=None),), used_serials=frozenset({(GTINS[1], "S1")})),
        "go",
    ),
    (
        "ALLERGY",
        "other-substance",
        good(allergies=(AllergyFacts("amoxicillin", "Amoxicillin", "severe"),)),
        "go",
    ),
    (
        "ALLERGY",
        "blank-codes-never-match",
        good(allergies=(AllergyFacts("", "?", "severe"),)),
        "go",
    ),
    ("ROUTE_MISMATCH", "other-allowed-route", with_order(route="NG"), "go"),
    ("DOSE_INCOMPLETE", "two-250-for-500", good(units=units(product(PARACETAMOL_250), 2)), "go"),
    ("DOSE_EXCEEDED", "divisible-partial-unit", insulin("6"), "warn"),
    ("PARTIAL_UNIT", "not-divisible", with_order(dose_value=D("250")), "stop"),
    ("PARTIAL_UNIT", "vial-holds-the-dose", insulin("1000"), "go"),
    (
        "DOSE_UNIT_MISMATCH",
        "g-order-mg-tablets",
        with_order(dose_value=D("0.5"), dose_unit="g"),
        "go",
    ),
    (
        "DUPLICATE_SCAN",
        "no-serial-twice",
        good(units=(unit(product(PARACETAMOL_250), None),) * 2),
        "go",
    ),
    (
        "DUPLICATE_SCAN",
        "same-serial-other-gtin",
        good(
            units=(unit(product(PARACETAMOL_250), "S1"), unit(product(PARACETAMOL_500), "S1")),
            orders=(order(dose_value=D("750")),),
        ),
        "go",
    ),
    (
        "WRONG_SCAN_KIND",
        "badge-in-witness-slot",
        good(witness_scan_kind="badge", witness=SECOND_NURSE),
        "go",
    ),
    ("TOO_EARLY", "exactly-60-early", good(doses=(dose(due_at=NOW + 60 * MINUTE),)), "go"),
    ("TOO_LATE", "exactly-60-late", good(doses=(dose(due_at=NOW - 60 * MINUTE),)), "go"),
    ("ALREADY_GIVEN", "documented-not-given", good(doses=(dose(state="not_given"),)), "go"),
    ("PRN_TOO_SOON", "exactly-elapsed", prn(prior(240)), "go"),
    (
        "PRN_MAX_EXCEEDED",
        "exactly-the-maximum",
        prn(prior(300, "1000"), prior(600, "1000"), prior(900, "1500")),
        "go",
    ),
    ("WITNESS_REQUIRED", "good-witness", insulin("1000"), "go"),
    ("KEYED_ENTRY", "scanned", good(), "go"),
    ("PERFORMER_NOT_ALLOWED", "nurse", good(performer=NURSE), "go"),
    (
        "MIXED_PRODUCTS",
        "two-strengths-one-medication",
        good(
            units=(unit(), unit(product(PARACETAMOL_250), "S2")),
            orders=(order(dose_value=D("750")),),
        ),
        "go",
    ),
    ("AMOUNT_NOT_SCANNED", "amount-equals-scanned", good(amount=Quantity(D("500"), "mg")), "go"),
    ("ORDER_MISMATCH", "requested-is-used", good(requested_order_id=10), "go"),
    ("NO_SCHEDULED_DOSE", "prn-has-no-schedule", prn(), "go"),
]


@pytest.mark.parametrize(
    ("code", "facts", "verdict"),
    [
        pytest.param(code, facts, verdict, id=f"{code}-{name}")
        for code, name, facts, verdict in NEGATIVE
    ],
)
def test_code_is_not_raised(code, facts, verdict):
    result = check(facts)

    assert code not in result.codes()
    assert result.verdict == verdict


def test_every_code_has_a_negative_row():
    assert {code for code, *_rest in NEGATIVE} == set(CODE_ORDER)


# --- which order ---------------------------------------------------------------------------


def test_strength_may_differ_from_the_order():
    facts = good(orders=(order(medication=PARACETAMOL_250, dose_value=D("500")),))

    result = check(facts)

    assert result.verdict == "go"
    assert result.order.medication == PARACETAMOL_250


def test_extended_release_for_an_immediate_release_order_is_not_ordered():
    result = check(good(units=(unit(product(PARACETAMOL_ER)),)))

    assert result.codes() == {"NOT_ORDERED"}
    assert result.order is None


def test_an_active_order_is_used_over_a_newer_held_one():
    held = order(id=11, status="on_hold", created_at=NOW - HOUR)

    result = check(good(orders=(held, order())))

    assert result.verdict == "go"
    assert result.order.id == 10


def test_without_an_active_order_the_most_recent_matching_order_gives_the_status():
    discontinued = order(id=10, status="discontinued", created_at=NOW - timedelta(days=3))
    held = order(id=11, status="on_hold", created_at=NOW - timedelta(days=1))
    other_drug = order(id=12, medication=AMOXICILLIN, created_at=NOW - HOUR)

    result = check(good(orders=(discontinued, held, other_drug)))

    assert "ORDER_ON_HOLD" in result.codes()
    assert not result.codes() & {"NOT_ORDERED", "ORDER_DISCONTINUED"}
    assert result.order.id == 11
    assert result.dose is None


def test_among_active_orders_the_one_with_the_nearest_dose_is_used():
    facts = good(
        orders=(order(id=10), order(id=11)),
        doses=(
            dose(id=100, order_id=10, due_at=NOW + 3 * HOUR),
            dose(id=101, order_id=11, due_at=NOW + 10 * MINUTE),
        ),
    )

    result = check(facts)

    assert result.verdict == "go"
    assert (result.order.id, result.dose.id) == (11, 101)


def test_among_active_orders_the_requested_one_is_used():
    facts = good(
        orders=(order(id=10), order(id=11)),
        doses=(
            dose(id=100, order_id=10, due_at=NOW + 3 * HOUR),
            dose(id=101, order_id=11, due_at=NOW + 10 * MINUTE),
        ),
        requested_order_id=10,
    )

    result = check(facts)

    assert (result.order.id, result.dose.id) == (10, 100)
    assert result.codes() == {"TOO_EARLY"}


def test_a_requested_order_that_is_not_usable_is_not_used():
    held = order(id=11, status="on_hold", created_at=NOW - HOUR)

    result = check(good(orders=(order(), held), requested_order_id=11))

    assert result.order.id == 10
    assert result.codes() == {"ORDER_MISMATCH"}
    assert finding(result, "ORDER_MISMATCH").data == {"order_id": 10, "requested_order_id": 11}


# --- which dose ----------------------------------------------------------------------------


def test_nearest_dose_given_is_already_given_even_when_the_next_is_due_soon():
    given_at_0720 = dose(id=100, due_at=NOW - 40 * MINUTE, state="given", given=True)
    due_at_0845 = dose(id=101, due_at=NOW + 45 * MINUTE)

    result = check(good(doses=(due_at_0845, given_at_0720)))

    assert result.verdict == "stop"
    assert "ALREADY_GIVEN" in result.codes()
    assert result.dose.id == 100
    assert finding(result, "ALREADY_GIVEN").message_en == (
        "The 07:20 dose has already been given. Do not give it again."
    )


def test_an_equally_near_dose_is_the_earlier_one():
    earlier = dose(id=100, due_at=NOW - 2 * HOUR, state="given", given=True)
    later = dose(id=101, due_at=NOW + 2 * HOUR)

    result = check(good(doses=(later, earlier)))

    assert result.dose.id == 100
    assert "ALREADY_GIVEN" in result.codes()


@pytest.mark.parametrize("state", ["scheduled", "not_given", "cancelled"])
def test_the_nearest_dose_is_used_whatever_its_state(state):
    nearest = dose(id=100, due_at=NOW + 5 * MINUTE, state=state)
    farther = dose(id=101, due_at=NOW - 30 * MINUTE)

    result = check(good(doses=(farther, nearest)))

    assert result.dose.id == 100
    assert result.verdict == "go"


def test_a_dose_in_state_given_is_already_given_even_without_the_flag():
    result = check(good(doses=(dose(state="given", given=False),)))

    assert "ALREADY_GIVEN" in result.codes()


def test_doses_of_other_orders_are_not_considered():
    result = check(good(doses=(dose(), dose(id=200, order_id=11, due_at=NOW, given=True))))

    assert result.verdict == "go"
    assert result.dose.id == 100


def test_entered_in_error_record_does_not_count_as_given_but_its_serial_stays_used():
    # The caller leaves the withdrawn record out of `given` and `prior_doses`, and keeps its
    # serial in `used_serials`.
    withdrawn_serial = frozenset({(GTINS[1], "S1")})

    same_unit = check(good(used_serials=withdrawn_serial))
    fresh_unit = check(good(used_serials=withdrawn_serial, units=(unit(serial="S2"),)))

    assert same_unit.codes() == {"SERIAL_ALREADY_USED"}
    assert fresh_unit.verdict == "go"


# --- time windows --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset_minutes", "code"),
    [(-61, "TOO_LATE"), (-60, None), (0, None), (60, None), (61, "TOO_EARLY")],
)
def test_window_edges_are_inside(offset_minutes, code):
    result = check(good(doses=(dose(due_at=NOW + offset_minutes * MINUTE),)))

    assert result.codes() == ({code} if code else set())


def test_one_second_past_the_edge_is_outside():
    result = check(good(doses=(dose(due_at=NOW - 60 * MINUTE - timedelta(seconds=1)),)))

    assert finding(result, "TOO_LATE").data["minutes"] == 60


def ceftriaxone(late_minutes: int) -> CheckFacts:
    return for_medication(
        CEFTRIAXONE,
        (unit(product(CEFTRIAXONE)),),
        order_changes={"dose_value": D("1"), "dose_unit": "g"},
        doses=(dose(due_at=NOW - late_minutes * MINUTE),),
    )


@pytest.mark.parametrize(("late", "codes"), [(30, set()), (31, {"TOO_LATE"})])
def test_time_critical_medication_uses_the_time_critical_window(late, codes):
    result = check(ceftriaxone(late))

    assert result.codes() == codes
    assert result.verdict == ("warn" if codes else "go")


def test_time_critical_late_is_never_a_stop():
    result = check(ceftriaxone(600))

    assert result.verdict == "warn"
    assert finding(result, "TOO_LATE").data["window_minutes"] == 30


def test_the_window_comes_from_the_admission_ward():
    wide = replace(ADMISSION, window_minutes=120)

    result = check(good(admission=wide, doses=(dose(due_at=NOW - 90 * MINUTE),)))

    assert result.verdict == "go"


def test_too_late_message_in_local_time():
    due_0800_utc = datetime(2026, 3, 14, 1, 0, tzinfo=UTC)  # 08:00 in Ho Chi Minh City

    result = check(good(now=due_0800_utc + 75 * MINUTE, doses=(dose(due_at=due_0800_utc),)))

    late = finding(result, "TOO_LATE")
    assert late.message_vi == "Trễ 75 phút so với giờ dùng 08:00."
    assert late.message_en == "75 minutes late for the 08:00 dose."
    assert late.message() == late.message_vi
    assert late.message("en") == late.message_en
    assert late.data["minutes"] == 75


def test_too_early_message():
    result = check(good(doses=(dose(due_at=NOW + 90 * MINUTE),)))

    early = finding(result, "TOO_EARLY")
    assert early.message_vi == "Sớm 90 phút so với giờ dùng 09:30."
    assert early.message_en == "90 minutes early for the 09:30 dose."


def test_a_dose_due_on_another_day_shows_its_day():
    just_after_midnight = datetime(2026, 3, 14, 0, 30, tzinfo=TZ)

    result = check(
        good(now=just_after_midnight, doses=(dose(due_at=datetime(2026, 3, 13, 22, 0, tzinfo=TZ)),))
    )

    late = finding(result, "TOO_LATE")
    assert late.message_vi == "Trễ 150 phút so với giờ dùng 22:00 (13/03)."
    assert late.message_en == "150 minutes late for the 22:00 (13 Mar) dose."


# --- PRN -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("minutes_ago", "too_soon"), [(239, True), (240, False), (241, False)])
def test_prn_minimum_interval_exactly_elapsed_is_fine(minutes_ago, too_soon):
    result = check(prn(prior(minutes_ago)))

    assert ("PRN_TOO_SOON" in result.codes()) is too_soon


def test_prn_interval_counts_from_the_last_dose_of_the_same_order():
    result = check(prn(prior(600), prior(100, order_id=11), prior(300)))

    assert result.verdict == "go"


def test_prn_too_soon_says_how_long_to_wait():
    result = check(prn(prior(200)))

    too_soon = finding(result, "PRN_TOO_SOON")
    assert too_soon.data["minutes_remaining"] == 40
    assert too_soon.message_vi == (
        "Liều khi cần gần nhất lúc 04:40; phải cách ít nhất 240 phút. Chờ thêm 40 phút."
    )


@pytest.mark.parametrize(
    ("priors", "exceeded"),
    [
        pytest.param(
            [(300, "1000"), (600, "1000"), (900, "1500")], False, id="4000-with-this-dose"
        ),
        pytest.param([(300, "1000"), (600, "1000"), (900, "1501")], True, id="4001-with-this-dose"),
        pytest.param(
            [(24 * 60, "2000"), (300, "1000"), (600, "1000")], False, id="24h-ago-left-window"
        ),
        pytest.param(
            [(24 * 60 - 1, "2000"), (300, "1000"), (600, "1000")], True, id="23h59-ago-counts"
        ),
        pytest.param([(30 * 60, "9000")], False, id="older-than-24h"),
    ],
)
def test_prn_maximum_is_a_rolling_24h_window_including_this_dose(priors, exceeded):
    result = check(prn(*(prior(minutes, amount) for minutes, amount in priors)))

    assert ("PRN_MAX_EXCEEDED" in result.codes()) is exceeded


def test_prn_maximum_converts_prior_amounts_to_the_order_unit():
    within = check(prn(prior(300, "1", "g"), prior(600, "2.5", "g")))
    over = check(prn(prior(300, "1", "g"), prior(600, "3", "g")))

    assert within.verdict == "go"
    assert finding(over, "PRN_MAX_EXCEEDED").data["total"] == {"value": "4500", "unit": "mg"}


def test_prn_maximum_counts_this_dose_as_what_is_scanned_when_short():
    half = (unit(product(PARACETAMOL_250)),)

    within = check(prn(prior(300, "1000"), prior(600, "2750"), units=half))
    over = check(prn(prior(300, "1000"), prior(600, "2751"), units=half))

    assert within.codes() == {"DOSE_INCOMPLETE"}
    assert "PRN_MAX_EXCEEDED" in over.codes()


def test_prn_maximum_counts_this_dose_as_the_amount_given():
    result = check(
        prn(
            prior(300, "1000"),
            prior(600, "2750"),
            units=(unit(product(PARACETAMOL_250)),),
            amount=Quantity(D("250"), "mg"),
        )
    )

    assert result.codes() == {"DOSE_INCOMPLETE"}


def test_prn_prior_dose_in_an_incomparable_unit_counts_as_one_ordered_dose():
    result = check(prn(prior(300, "1000"), prior(600, "2001"), prior(700, "1", "IU")))

    assert finding(result, "PRN_MAX_EXCEEDED").data["total"] == {"value": "4001", "unit": "mg"}


def test_prn_has_no_time_window():
    result = check(prn(prior(600), doses=(dose(due_at=NOW - 5 * HOUR),)))

    assert result.verdict == "go"
    assert result.dose is None


# --- dose arithmetic -----------------------------------------------------------------------


def test_two_250mg_tablets_for_500mg_is_go():
    result = check(good(units=units(product(PARACETAMOL_250), 2)))

    assert result.verdict == "go"
    assert str(result.dose_summary.scanned) == "500 mg"


def test_one_250mg_tablet_for_500mg_is_dose_incomplete():
    result = check(good(units=(unit(product(PARACETAMOL_250)),)))

    assert result.verdict == "warn"
    incomplete = finding(result, "DOSE_INCOMPLETE")
    assert incomplete.data["missing"] == {"value": "250", "unit": "mg"}
    assert incomplete.message_vi == (
        "Đã quét 250 mg, y lệnh 500 mg: còn thiếu 250 mg. "
        "Quét thêm, hoặc ghi nhận liều một phần kèm lý do."
    )
    assert result.dose_summary.comparison == "less"


@pytest.mark.parametrize(("dose_value", "dose_unit"), [("0.3", "mg"), ("300", "mcg")])
def test_three_tenths_of_a_milligram_are_three_tenths(dose_value, dose_unit):
    facts = for_medication(
        LEVOTHYROXINE,
        units(product(LEVOTHYROXINE), 3),
        order_changes={"dose_value": D(dose_value), "dose_unit": dose_unit},
    )

    result = check(facts)

    assert result.verdict == "go"
    assert result.dose_summary.comparison == "equal"


def test_two_5ml_bottles_for_a_10ml_order():
    facts = for_medication(
        PARACETAMOL_SYRUP,
        units(product(PARACETAMOL_SYRUP, "5", "mL"), 2),
        order_changes={"dose_value": D("10"), "dose_unit": "mL"},
    )

    result = check(facts)

    assert result.verdict == "go"
    assert str(result.dose_summary.scanned) == "10 mL"


def test_a_mg_order_for_a_liquid_compares_through_strength():
    facts = for_medication(
        PARACETAMOL_SYRUP,
        (unit(product(PARACETAMOL_SYRUP, "5", "mL")),),
        order_changes={"dose_value": D("250"), "dose_unit": "mg"},
    )

    assert check(facts).verdict == "go"


def test_a_1g_order_and_two_500mg_tablets():
    result = check(
        good(units=units(product(), 2), orders=(order(dose_value=D("1"), dose_unit="g"),))
    )

    assert result.verdict == "go"
    assert str(result.dose_summary.ordered) == "1 g"


def test_iu_against_mg_is_dose_unit_mismatch():
    facts = for_medication(
        COLECALCIFEROL_IU,
        (unit(product(COLECALCIFEROL_IU)),),
        order_changes={"dose_value": D("0.025"), "dose_unit": "mg"},
    )

    result = check(facts)

    assert result.codes() == {"DOSE_UNIT_MISMATCH"}
    assert result.dose_summary.comparison == "incomparable"
    assert result.dose_summary.scanned is None


def test_an_each_order_counts_tablets_only_for_products_per_each():
    tablets = check(
        good(orders=(order(dose_value=D("2"), dose_unit="each"),), units=units(product(), 2))
    )
    syrup = for_medication(
        PARACETAMOL_SYRUP,
        (unit(product(PARACETAMOL_SYRUP, "5", "mL")),),
        order_changes={"dose_value": D("1"), "dose_unit": "each"},
    )

    assert tablets.verdict == "go"
    assert check(syrup).codes() == {"DOSE_UNIT_MISMATCH"}


def test_insulin_6iu_from_a_1000iu_vial_is_a_partial_unit():
    result = check(insulin("6"))

    assert result.verdict == "warn"
    assert result.codes() == {"PARTIAL_UNIT"}
    partial = finding(result, "PARTIAL_UNIT")
    assert partial.data["give"] == {"value": "6", "unit": "IU"}
    assert partial.data["give_volume"] == {"value": "0.06", "unit": "mL"}
    assert partial.data["waste"] == {"value": "994", "unit": "IU"}
    assert partial.message_en.startswith("Give only 6 IU (0.06 mL) of the 1000 IU scanned.")
    assert result.dose_summary.comparison == "more"


def test_heparin_7500iu_from_two_5000iu_vials_is_a_partial_unit():
    facts = for_medication(
        HEPARIN,
        units(product(HEPARIN, "1", "mL"), 2),
        order_changes={"dose_value": D("7500"), "dose_unit": "IU", "route": "SC"},
    )

    result = check(facts)

    assert result.codes() == {"PARTIAL_UNIT"}
    assert finding(result, "PARTIAL_UNIT").data["waste"] == {"value": "2500", "unit": "IU"}


def test_a_whole_spare_divisible_unit_is_dose_exceeded():
    result = check(insulin("6", vials=2))

    assert result.codes() == {"DOSE_EXCEEDED"}


def test_a_non_divisible_unit_holding_more_than_the_dose_is_dose_exceeded():
    result = check(with_order(dose_value=D("250")))

    assert result.verdict == "stop"
    assert result.codes() == {"DOSE_EXCEEDED"}
    assert finding(result, "DOSE_EXCEEDED").message_en == (
        "Scanned 500 mg, more than the 250 mg ordered. Remove the extra units."
    )


@pytest.mark.parametrize(
    ("amount", "scanned", "codes"),
    [
        pytest.param("6", 1, {"PARTIAL_UNIT"}, id="partial-unit-as-ordered"),
        pytest.param("4", 1, {"DOSE_INCOMPLETE", "PARTIAL_UNIT"}, id="partial-dose-from-vial"),
        pytest.param("8", 1, {"DOSE_EXCEEDED", "PARTIAL_UNIT"}, id="more-than-ordered"),
    ],
)
def test_the_amount_the_nurse_gives(amount, scanned, codes):
    result = check(insulin("6", vials=scanned, amount=Quantity(D(amount), "IU")))

    assert result.codes() == codes


def test_an_amount_in_ml_of_the_product_in_hand():
    result = check(insulin("6", amount=Quantity(D("0.06"), "mL")))

    assert result.codes() == {"PARTIAL_UNIT"}


def test_partial_dose_of_whole_tablets():
    result = check(good(units=(unit(product(PARACETAMOL_250)),), amount=Quantity(D("250"), "mg")))

    assert result.codes() == {"DOSE_INCOMPLETE"}
    assert result.verdict == "warn"


def test_no_dose_findings_when_a_unit_in_the_slot_is_not_a_known_product():
    result = check(good(units=(unit(product(PARACETAMOL_250)), unknown_product_unit())))

    assert result.codes() == {"PRODUCT_UNKNOWN"}
    assert result.dose_summary is None
    assert result.order.id == 10


def test_bad_formulary_data_is_a_stop_not_an_exception():
    broken = replace(PARACETAMOL_500, per_value=D("0"))

    result = check(good(units=(unit(product(broken)),)))

    assert result.codes() == {"DOSE_UNIT_MISMATCH"}


# --- when the patient is not identified ----------------------------------------------------

PROBLEMS_EVERYWHERE = dict(
    units=(unit(expiry=YESTERDAY),),
    allergies=(AllergyFacts("paracetamol", "Paracetamol", "severe"),),
    doses=(dose(due_at=NOW - 5 * HOUR),),
    cart_ward_code="NGOAI2",
)


@pytest.mark.parametrize(
    ("changes", "codes"),
    [
        pytest.param({"patient": None}, {"PATIENT_UNKNOWN", "PRODUCT_EXPIRED"}, id="unknown"),
        pytest.param({"band_active": False}, {"WRISTBAND_VOID", "PRODUCT_EXPIRED"}, id="void-band"),
        pytest.param(
            {"patient_scan": PatientScan("medication", False)},
            {"WRONG_SCAN_KIND", "PRODUCT_EXPIRED"},
            id="product-in-patient-slot",
        ),
        pytest.param(
            {"patient": replace(PATIENT, deceased=True)},
            {"PATIENT_DECEASED", "PRODUCT_EXPIRED", "ALLERGY"},
            id="deceased",
        ),
        pytest.param(
            {"admission": None, "orders": ()},
            {"PATIENT_NOT_ADMITTED", "PRODUCT_EXPIRED", "ALLERGY"},
            id="not-admitted",
        ),
    ],
)
def test_findings_that_need_the_patient_are_left_out(changes, codes):
    result = check(good(**{**PROBLEMS_EVERYWHERE, **changes}))

    assert result.codes() == codes
    assert result.verdict == "stop"
    assert result.order is result.dose is result.dose_summary is None


def test_the_same_problems_with_the_patient_identified_are_all_reported():
    result = check(good(**PROBLEMS_EVERYWHERE))

    assert result.codes() == {"PRODUCT_EXPIRED", "ALLERGY", "TOO_LATE", "WRONG_WARD"}


def test_witness_is_required_for_high_alert_even_before_the_patient_is_known():
    facts = insulin("1000", patient=None, witness_scan_kind=None, witness=None)

    assert check(facts).codes() == {"PATIENT_UNKNOWN", "WITNESS_REQUIRED"}


@pytest.mark.parametrize(
    ("changes", "verdict", "codes"),
    [
        pytest.param({}, "go", set(), id="good-patient"),
        pytest.param({"band_active": False}, "stop", {"WRISTBAND_VOID"}, id="void-band"),
        pytest.param({"cart_ward_code": "NGOAI2"}, "warn", {"WRONG_WARD"}, id="other-ward"),
        pytest.param(
            {"doses": (dose(due_at=NOW - 5 * HOUR, given=True),)}, "go", set(), id="no-dose-talk"
        ),
    ],
)
def test_without_medication_the_verdict_covers_the_patient_only(changes, verdict, codes):
    result = check(good(units=(), **changes))

    assert result.verdict == verdict
    assert result.codes() == codes
    assert result.order is result.dose is result.dose_summary is None


# --- several medications in one check -------------------------------------------------------


def test_units_of_different_medications_are_mixed_products():
    facts = good(
        units=(unit(), unit(product(AMOXICILLIN), "S2")),
        orders=(order(), order(id=11, medication=AMOXICILLIN)),
        allergies=(AllergyFacts("penicillins", "Nhóm penicillin", "moderate"),),
    )

    result = check(facts)

    assert result.codes() == {"MIXED_PRODUCTS", "ALLERGY"}
    assert result.order is None
    assert result.dose_summary is None
    assert finding(result, "MIXED_PRODUCTS").data["medications"] == [
        "Paracetamol 500 mg",
        "Amoxicillin 500 mg",
    ]


def test_ir_and_er_of_one_substance_are_mixed_products():
    result = check(good(units=(unit(), unit(product(PARACETAMOL_ER), "S2"))))

    assert result.codes() == {"MIXED_PRODUCTS"}


# --- witness -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("witness_changes", "problem"),
    [
        ({"witness_scan_kind": None, "witness": None}, "missing"),
        ({"witness_scan_kind": "wristband", "witness": None}, "not_a_badge"),
        ({"witness": None}, "unknown_badge"),
        ({"witness": NURSE}, "same_person"),
        ({"witness": replace(SECOND_NURSE, active=False)}, "inactive"),
        ({"witness": replace(SECOND_NURSE, is_pharmacist=True)}, "pharmacist"),
        ({"witness": replace(SECOND_NURSE, may_administer=False)}, "not_allowed"),
        ({"witness_pin_ok": False}, "pin"),
    ],
)
def test_witness_must_be_another_active_nurse_with_badge_and_pin(witness_changes, problem):
    result = check(insulin("1000", **witness_changes))

    assert finding(result, "WITNESS_REQUIRED").data["problem"] == problem
    assert result.verdict == "stop"


def test_witness_is_not_checked_for_ordinary_medication():
    result = check(good(witness_scan_kind="badge", witness=NURSE, witness_pin_ok=False))

    assert result.verdict == "go"


def test_a_high_alert_order_needs_a_witness_whatever_the_product_flag():
    high_alert_order = order(medication=replace(PARACETAMOL_500, high_alert=True))

    result = check(good(orders=(high_alert_order,)))

    assert "WITNESS_REQUIRED" in result.codes()


# --- reporting -----------------------------------------------------------------------------


def test_all_findings_are_reported_not_only_the_first():
    facts = good(
        cart_ward_code="NGOAI2",
        patient_scan=PatientScan("wristband", True),
        units=(unit(expiry=YESTERDAY),),
        recalled_lots=frozenset({(GTINS[1], "L1")}),
        used_serials=frozenset({(GTINS[1], "S1")}),
        orders=(order(route="IV", status="on_hold", dose_value=D("250")),),
        performer=PHARMACIST,
    )

    result = check(facts)

    assert result.codes() == {
        "PERFORMER_NOT_ALLOWED",
        "WRONG_WARD",
        "SERIAL_ALREADY_USED",
        "LOT_RECALLED",
        "PRODUCT_EXPIRED",
        "ORDER_ON_HOLD",
        "ROUTE_MISMATCH",
        "DOSE_EXCEEDED",
        "KEYED_ENTRY",
    }
    assert [f.code for f in result.findings] == [
        "PERFORMER_NOT_ALLOWED",
        "SERIAL_ALREADY_USED",
        "LOT_RECALLED",
        "PRODUCT_EXPIRED",
        "ORDER_ON_HOLD",
        "ROUTE_MISMATCH",
        "DOSE_EXCEEDED",
        "WRONG_WARD",
        "KEYED_ENTRY",
    ]
    assert [f.code for f in result.warnings()] == ["WRONG_WARD", "KEYED_ENTRY"]


def test_one_finding_per_lot_or_serial_listing_the_units():
    expired = (
        unit(product(PARACETAMOL_250), "S1", expiry=YESTERDAY),
        unit(product(PARACETAMOL_250), "S2", expiry=YESTERDAY),
    )

    result = check(good(units=expired))

    assert finding(result, "PRODUCT_EXPIRED").data == {
        "expiry": YESTERDAY.isoformat(),
        "lot": "L1",
        "units": [0, 1],
    }


def test_expiry_compares_with_the_local_date():
    # 03:00 on 14 March in Ho Chi Minh City is still 13 March in UTC.
    early_morning = datetime(2026, 3, 13, 20, 0, tzinfo=UTC)
    facts = good(now=early_morning, doses=(dose(due_at=early_morning),))

    expired = check(replace(facts, units=(unit(expiry=date(2026, 3, 13)),)))
    today = check(replace(facts, units=(unit(expiry=date(2026, 3, 14)),)))

    assert "PRODUCT_EXPIRED" in expired.codes()
    assert finding(expired, "PRODUCT_EXPIRED").message_vi == (
        "Paracetamol 500 mg lô L1 đã hết hạn ngày 13/03/2026. Lấy hộp khác."
    )
    assert today.verdict == "go"


def test_recall_and_used_serial_match_either_gtin_form():
    short_gtin_unit = unit(gtin="8930000000011")

    result = check(
        good(
            units=(short_gtin_unit,),
            recalled_lots=frozenset({("8930000000011", "L1")}),
            used_serials=frozenset({(GTINS[1], "S1")}),
        )
    )

    assert {"LOT_RECALLED", "SERIAL_ALREADY_USED"} <= result.codes()


@pytest.mark.parametrize(("code", "severity", "facts"), [(c, s, f) for c, s, _n, f in POSITIVE])
def test_messages_are_in_both_languages_and_data_is_json(code, severity, facts):
    result = check(facts)

    for item in result.findings:
        assert item.message_vi and item.message_en
        assert item.message_vi != item.message_en
        assert item.message("vi") == item.message_vi
        assert item.message("en") == item.message_en
        json.dumps(item.data)


def test_vietnamese_messages_carry_diacritics():
    void = finding(check(good(band_active=False)), "WRISTBAND_VOID")
    held = finding(check(with_order(status="on_hold")), "ORDER_ON_HOLD")

    assert void.message_vi == (
        "Vòng tay này đã bị hủy hoặc thay thế. Quét vòng tay hiện tại của người bệnh."
    )
    assert held.message_vi == "Y lệnh Paracetamol 500 mg đang tạm ngưng. Không dùng."


# --- override reasons ----------------------------------------------------------------------


def test_every_warning_has_override_reasons():
    produced = {code for code, severity, *_rest in POSITIVE if severity is WARN}

    assert produced == WARN_CODES == set(OVERRIDE_REASONS)
    for reasons in OVERRIDE_REASONS.values():
        assert "OTHER" in reasons
        assert set(reasons) <= set(OVERRIDE_REASON_LABELS)
    assert OVERRIDE_REASONS["TOO_LATE"] == (
        "PATIENT_UNAVAILABLE",
        "CLINICAL_DELAY",
        "PHYSICIAN_ORDER",
        "OTHER",
    )
    assert "OTHER" in REASONS_NEEDING_COMMENT
    assert REASONS_NEEDING_COMMENT.issubset(OVERRIDE_REASON_LABELS)


# --- properties ----------------------------------------------------------------------------
#
# (1) Any STOP condition makes the verdict "stop", and every injected code is reported. The
# scenario starts from the good facts (scheduled or PRN order) and applies a random, compatible
# subset of STOP-causing changes; some WARN-causing noise is added to show it never hides a STOP.

IDENTITY_CHANGES = {
    "PATIENT_UNKNOWN": (dict(patient=None, band_active=False), {"PATIENT_UNKNOWN"}),
    "WRISTBAND_VOID": (dict(band_active=False), {"WRISTBAND_VOID"}),
    "PATIENT_SLOT_PRODUCT": (
        dict(patient_scan=PatientScan("medication", False), patient=None),
        {"WRONG_SCAN_KIND"},
    ),
    "PATIENT_SLOT_UNKNOWN": (
        dict(patient_scan=PatientScan("unknown", False), patient=None),
        {"UNKNOWN_CODE"},
    ),
    "PATIENT_DECEASED": (dict(patient=replace(PATIENT, deceased=True)), {"PATIENT_DECEASED"}),
    "PATIENT_NOT_ADMITTED": (
        dict(admission=None, orders=(), doses=(), prior_doses=()),
        {"PATIENT_NOT_ADMITTED"},
    ),
}
IDENTIFIED = {None, "PATIENT_DECEASED", "PATIENT_NOT_ADMITTED"}
ORDER_STATUS_CHANGES = {
    "ORDER_ON_HOLD": dict(status="on_hold"),
    "ORDER_DISCONTINUED": dict(status="discontinued"),
    "ORDER_NOT_VERIFIED": dict(status="pending_verification", verified=False),
    "ORDER_NOT_ACTIVE": dict(stop_at=NOW - HOUR),
    "NOT_ORDERED": dict(medication=AMOXICILLIN),
}
DOSE_CHANGES = {
    "DOSE_EXCEEDED": dict(dose_value=D("250")),
    "DOSE_UNIT_MISMATCH": dict(dose_unit="IU"),
}


@st.composite
def stop_scenarios(draw):
    is_prn = draw(st.booleans())
    the_order = prn_order() if is_prn else order()
    changes: dict = {"doses": () if is_prn else (dose(),)}
    the_unit = unit()
    appended: list[ScannedUnit] = []
    expected: set[str] = set()

    if draw(st.booleans()):
        changes["performer"] = draw(st.sampled_from([PHARMACIST, replace(NURSE, active=False)]))
        expected.add("PERFORMER_NOT_ALLOWED")
    if draw(st.booleans()):
        the_unit = replace(the_unit, expiry=YESTERDAY - timedelta(days=draw(st.integers(0, 400))))
        expected.add("PRODUCT_EXPIRED")
    if draw(st.booleans()):
        changes["recalled_lots"] = frozenset({(GTINS[1], "L1")})
        expected.add("LOT_RECALLED")
    if draw(st.booleans()):
        changes["used_serials"] = frozenset({(GTINS[1], "S1")})
        expected.add("SERIAL_ALREADY_USED")
    if draw(st.booleans()):
        high_alert = replace(the_unit.product.medication, high_alert=True)
        the_unit = replace(the_unit, product=replace(the_unit.product, medication=high_alert))
        expected.add("WITNESS_REQUIRED")
    witness_slot = draw(st.sampled_from([None, "wristband", "medication", "unknown"]))
    if witness_slot is not None:
        changes["witness_scan_kind"] = witness_slot
        expected.add("UNKNOWN_CODE" if witness_slot == "unknown" else "WRONG_SCAN_KIND")

    identity = draw(st.sampled_from([None, *IDENTITY_CHANGES]))
    if identity is not None:
        identity_changes, codes = IDENTITY_CHANGES[identity]
        changes.update(identity_changes)
        expected |= codes
    if identity in IDENTIFIED and draw(st.booleans()):
        changes["allergies"] = (AllergyFacts("paracetamol", "Paracetamol", "severe"),)
        expected.add("ALLERGY")

    dose_change = draw(st.sampled_from([None, "PRODUCT_UNKNOWN", *DOSE_CHANGES]))
    if dose_change == "PRODUCT_UNKNOWN":
        appended.append(unknown_product_unit())
        expected.add("PRODUCT_UNKNOWN")

    if identity is None:
        status = draw(st.sampled_from([None, "MIXED_PRODUCTS", *ORDER_STATUS_CHANGES]))
        order_changes: dict = {}
        if status in ORDER_STATUS_CHANGES:
            order_changes |= ORDER_STATUS_CHANGES[status]
        elif status == "MIXED_PRODUCTS":
            appended.append(unit(product(AMOXICILLIN), "S2"))
        if status is not None:
            expected.add(status)
        order_level = status not in ("NOT_ORDERED", "MIXED_PRODUCTS")
        if order_level and draw(st.booleans()):
            order_changes["route"] = "IV"
            expected.add("ROUTE_MISMATCH")
        if order_level and dose_change in DOSE_CHANGES:
            order_changes |= DOSE_CHANGES[dose_change]
            expected.add(dose_change)
        if status is None and not is_prn:
            schedule = draw(st.sampled_from([None, "ALREADY_GIVEN", "NO_SCHEDULED_DOSE"]))
            if schedule == "ALREADY_GIVEN":
                changes["doses"] = (dose(given=True, state="given"),)
            elif schedule == "NO_SCHEDULED_DOSE":
                changes["doses"] = ()
            if schedule is not None:
                expected.add(schedule)
        if status is None and is_prn:
            if draw(st.booleans()):
                changes.setdefault("prior_doses", ())
                changes["prior_doses"] += (prior(draw(st.integers(0, 239))),)
                expected.add("PRN_TOO_SOON")
            if draw(st.booleans()):
                order_changes["prn_max_per_24h"] = D("1")
                expected.add("PRN_MAX_EXCEEDED")
        the_order = replace(the_order, **order_changes)
        changes.setdefault("orders", (the_order,))
    elif identity != "PATIENT_NOT_ADMITTED":
        changes["orders"] = (the_order,)

    if draw(st.booleans()):
        changes["cart_ward_code"] = "NGOAI2"
    if draw(st.booleans()):
        changes["patient_scan"] = replace(
            changes.get("patient_scan", PatientScan("wristband", False)), keyed=True
        )
    if draw(st.booleans()):
        changes["now"] = NOW + draw(st.integers(-59, 59)) * MINUTE

    if draw(st.booleans()):
        appended.append(the_unit)
        expected.add("DUPLICATE_SCAN")
    changes["units"] = (the_unit, *appended)
    return good(**changes), expected


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=stop_scenarios())
def test_any_stop_condition_makes_the_verdict_stop(scenario):
    facts, expected = scenario
    if not expected:
        assert check(facts).verdict in ("go", "warn")
        return

    result = check(facts)

    assert result.verdict == "stop"
    assert expected <= result.codes(), f"missing {expected - result.codes()}"
    for code in expected:
        assert Severity.STOP in {f.severity for f in result.findings if f.code == code}


# (2) and (3): for arbitrary facts the function never raises, answers the same twice, orders
# its findings, and its verdict follows from them.

small_decimals = st.decimals(
    min_value=0, max_value=5000, places=3, allow_nan=False, allow_infinity=False
)
dose_units = st.sampled_from(["mcg", "mg", "g", "mL", "L", "IU", "each"])
moments = st.integers(-48 * 60, 48 * 60).map(lambda minutes: NOW + minutes * MINUTE)
codes_ = st.sampled_from(["paracetamol", "amoxicillin", "penicillins", "insulin-human", ""])
gtins = st.sampled_from(sorted(GTINS.values())[:4])

medications = st.builds(
    MedicationFacts,
    id=st.integers(1, 4),
    name=st.sampled_from(["A", "B", "Thuốc C"]),
    substance_code=codes_,
    allergy_class_code=codes_,
    dose_form=st.sampled_from(["tablet", "tablet_er", "oral_solution", "injection"]),
    routes=st.frozensets(st.sampled_from(["PO", "IV", "SC", "NG"]), max_size=3),
    strength_value=small_decimals,
    strength_unit=dose_units,
    per_value=small_decimals,
    per_unit=dose_units,
    high_alert=st.booleans(),
    time_critical=st.booleans(),
    divisible=st.booleans(),
)
products = st.builds(
    ProductFacts,
    gtin=gtins,
    quantity=small_decimals,
    quantity_unit=dose_units,
    medication=medications,
)
scanned_units = st.builds(
    ScannedUnit,
    kind=st.sampled_from(["medication", "medication", "wristband", "badge", "unknown"]),
    gtin=st.none() | gtins,
    lot=st.none() | st.sampled_from(["L1", "L2"]),
    serial=st.none() | st.sampled_from(["S1", "S2"]),
    expiry=st.none() | st.dates(date(2026, 3, 1), date(2026, 4, 1)),
    keyed=st.booleans(),
    product=st.none() | products,
)
orders = st.builds(
    OrderFacts,
    id=st.integers(1, 4),
    medication=medications,
    dose_value=small_decimals,
    dose_unit=dose_units,
    route=st.sampled_from(["PO", "IV", "SC"]),
    status=st.sampled_from(
        ["active", "active", "on_hold", "discontinued", "completed", "pending_verification", "??"]
    ),
    verified=st.booleans(),
    start_at=moments,
    stop_at=st.none() | moments,
    is_prn=st.booleans(),
    prn_min_interval_minutes=st.none() | st.integers(0, 600),
    prn_max_per_24h=st.none() | small_decimals,
    created_at=moments,
)
staff = st.builds(
    StaffFacts,
    id=st.integers(1, 3),
    may_administer=st.booleans(),
    is_pharmacist=st.booleans(),
    active=st.booleans(),
)
kinds = st.sampled_from(["wristband", "badge", "medication", "unknown"])
any_facts = st.builds(
    CheckFacts,
    now=moments,
    tz=st.just(TZ),
    cart_ward_code=st.none() | st.sampled_from(["NOI1", "NGOAI2"]),
    patient_scan=st.builds(PatientScan, kind=kinds, keyed=st.booleans()),
    patient=st.none()
    | st.builds(
        PatientFacts,
        id=st.just(1),
        mrn=st.just("BN1"),
        full_name=st.just("An"),
        date_of_birth=st.just(date(1950, 1, 1)),
        deceased=st.booleans(),
    ),
    band_active=st.booleans(),
    admission=st.none()
    | st.builds(
        AdmissionFacts,
        id=st.just(1),
        ward_code=st.sampled_from(["NOI1", "NGOAI2"]),
        window_minutes=st.integers(1, 240),
        time_critical_window_minutes=st.integers(1, 120),
    ),
    allergies=st.lists(
        st.builds(
            AllergyFacts,
            code=codes_,
            name=st.just("X"),
            severity=st.sampled_from(["mild", "moderate", "severe", "unknown", "?"]),
        ),
        max_size=2,
    ).map(tuple),
    units=st.lists(scanned_units, max_size=4).map(tuple),
    orders=st.lists(orders, max_size=3).map(tuple),
    doses=st.lists(
        st.builds(
            DoseFacts,
            id=st.integers(1, 9),
            order_id=st.integers(1, 4),
            due_at=moments,
            state=st.sampled_from(["scheduled", "given", "not_given", "cancelled"]),
            given=st.booleans(),
        ),
        max_size=4,
    ).map(tuple),
    prior_doses=st.lists(
        st.builds(
            PriorDose,
            order_id=st.integers(1, 4),
            administered_at=moments,
            amount=small_decimals,
            unit=dose_units,
        ),
        max_size=4,
    ).map(tuple),
    used_serials=st.frozensets(st.tuples(gtins, st.sampled_from(["S1", "S2"])), max_size=2),
    recalled_lots=st.frozensets(st.tuples(gtins, st.sampled_from(["L1", "L2"])), max_size=2),
    performer=staff,
    witness_scan_kind=st.none() | kinds,
    witness=st.none() | staff,
    witness_pin_ok=st.booleans(),
    requested_order_id=st.none() | st.integers(1, 5),
    amount=st.none() | st.builds(Quantity, small_decimals, dose_units),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(facts=any_facts)
def test_never_raises_and_is_deterministic_and_ordered(facts):
    result = check(facts)
    again = check(facts)

    assert again == result
    ranks = [(f.severity != Severity.STOP, CODE_ORDER.index(f.code)) for f in result.findings]
    assert ranks == sorted(ranks)
    if result.stops():
        assert result.verdict == "stop"
    else:
        assert result.verdict == ("warn" if result.warnings() else "go")
    for item in result.findings:
        json.dumps(item.data)
        assert item.message_vi and item.message_en
    if result.order is not None:
        assert result.order in facts.orders
    if result.dose is not None:
        assert result.dose in facts.doses and result.dose.order_id == result.order.id
    # What the recording service relies on: a recordable medication check names its order,
    # and its scheduled dose unless the order is PRN.
    if result.verdict != "stop" and facts.units:
        assert result.order is not None
        assert (result.dose is None) is result.order.is_prn
