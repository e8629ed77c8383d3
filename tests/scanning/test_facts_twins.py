"""Every read of scanning/facts/fast_sql.py returns what its plain ORM twin in
scanning/facts/reference.py returns, over random wards and random arguments, on the database the
suite runs on (CI: SQLite, then PostgreSQL).

A ward is drawn as a plan of plain data (patients, their admissions open and closed, wristbands
active, reprinted, voided by hand or by the discharge or left unvoided, allergies, orders in every
status, verified or not, scheduled and PRN, doses either side of now, records given and not given,
withdrawn and replaced, units with lots and serials, recalls), built with tests/factories.py in a
savepoint that each example rolls back. Times sit on a half-hour grid, so that a dose due exactly
at `now`, a record at exactly `since` and a band voided exactly at the discharge are drawn often."""

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from django.db import transaction
from django.db.models import Model
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from pharmacy.models import DoseState, OrderStatus, ScheduledDose, ScheduleKind
from scanning.facts import fast_sql, reference
from scanning.models import AdministrationStatus
from tests.factories import (
    AdministeredUnitFactory,
    AdministrationFactory,
    AdmissionFactory,
    AllergyFactory,
    LotRecallFactory,
    MedicationFactory,
    NurseFactory,
    OrderFactory,
    PackageFactory,
    PatientFactory,
    PharmacistFactory,
    ScheduledDoseFactory,
    SubstanceFactory,
    WardFactory,
    WristbandFactory,
)

pytestmark = pytest.mark.django_db

# Each example builds a ward of up to ~100 rows and makes 7 to 28 calls to each side. On two busy
# cores 80 examples took 15 s on SQLite and 24 s on PostgreSQL. A failure shrinks for up to five
# minutes (hypothesis's limit) before it prints the smallest ward it found.
EXAMPLES = 80

ORIGIN = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # 08:00 in Hồ Chí Minh City
STEP = timedelta(minutes=30)
LOTS = ["L1", "L2", "L3"]
SERIALS = ["S1", "S2", "S3", "S4"]
NOWHERE = 987_654_321  # an id no row has


def at(step: int) -> datetime:
    return ORIGIN + step * STEP


# -- the plan: plain data ------------------------------------------------------------------------

substances = st.lists(
    st.tuples(
        st.sampled_from(["paracetamol", "amoxicillin", "morphine", "heparin"]),
        st.sampled_from(["", "penicillins", "opioids"]),
    ),
    min_size=1,
    max_size=3,
    unique_by=lambda s: s[0],
)

records = st.fixed_dictionaries(
    {
        "dose": st.integers(0, 2),  # which of the order's doses (none for PRN, or when beyond)
        "status": st.sampled_from([AdministrationStatus.COMPLETED, AdministrationStatus.NOT_DONE]),
        "at": st.integers(-60, 60),
        "half": st.booleans(),  # half the ordered amount
        "withdrawn": st.booleans(),
        "replaced_by": st.none()
        | st.tuples(
            st.sampled_from([AdministrationStatus.COMPLETED, AdministrationStatus.NOT_DONE]),
            st.booleans(),  # the replacement withdrawn in turn
        ),
        "units": st.lists(
            st.tuples(
                st.integers(0, 3),  # package
                st.sampled_from(["", *LOTS]),
                st.sampled_from(["", *SERIALS]),
            ),
            max_size=2,
        ),
    }
)

orders = st.fixed_dictionaries(
    {
        "medication": st.integers(0, 2),
        "status": st.sampled_from(OrderStatus.values),
        "verified": st.booleans(),
        "kind": st.sampled_from(ScheduleKind.values),
        "start": st.integers(-70, 10),
        "stop_after": st.none() | st.integers(1, 80),  # steps after the start: expired or not
        "doses": st.lists(
            st.tuples(st.integers(-60, 60), st.sampled_from(DoseState.values)),
            max_size=5,
            unique_by=lambda d: d[0],
        ),
        "records": st.lists(records, max_size=4),
        # (mg per kg, maximum mg per kg): written per kg, capped per kg, both, or neither
        "per_kg": st.sampled_from([(None, None), ("15", None), (None, "15"), ("10", "12.5")]),
    }
)

admissions = st.fixed_dictionaries(
    {
        "ward": st.integers(0, 1),
        "length": st.integers(1, 40),  # steps until the discharge, for a closed one
        "reprints": st.integers(0, 2),
        # the last band: open admission: active or voided by hand; closed: voided by the
        # discharge, after it, before it (by hand), or never voided
        "last_band": st.sampled_from(["active", "by_hand", "discharge", "after", "never", "none"]),
        "orders": st.lists(orders, max_size=3),
    }
)

patients = st.fixed_dictionaries(
    {
        "allergies": st.lists(
            st.tuples(
                st.sampled_from(["Penicillin", "Sulfa", "Morphin"]),
                st.sampled_from(["penicillins", "amoxicillin", "opioids", "sulfonamides"]),
            ),
            max_size=3,
            unique_by=lambda allergy: allergy[1],  # one entry per allergen and patient
        ),
        "admissions": st.lists(admissions, min_size=1, max_size=3),
        "last_open": st.booleans(),
        "first_instance": st.integers(1, 3),
        # (kg, steps ago it was measured, cm) or never weighed
        "weighed": st.none()
        | st.tuples(
            st.sampled_from(["0.48", "13.45", "62"]),
            st.integers(0, 80),
            st.none() | st.sampled_from(["48.5", "152"]),
        ),
    }
)

wards = st.fixed_dictionaries(
    {
        "substances": substances,
        "medications": st.lists(
            st.tuples(st.integers(0, 2), st.booleans()), min_size=1, max_size=3
        ),  # (substance, high alert)
        "packages": st.lists(
            st.tuples(st.integers(0, 2), st.booleans()), min_size=1, max_size=4
        ),  # (medication, repackaged by the hospital)
        "recalls": st.sets(st.tuples(st.integers(0, 3), st.sampled_from(LOTS)), max_size=4),
        "staffed": st.tuples(st.booleans(), st.booleans()),  # the nurse on ward 0, on ward 1
        "patients": st.lists(patients, min_size=1, max_size=3),
    }
)


# -- building it ---------------------------------------------------------------------------------


class Built:
    """The ids and keys of a built ward, to draw arguments from."""

    def __init__(self):
        self.patients, self.admissions, self.orders, self.medications = [], [], [], []
        self.admissions_with_orders: list[int] = []
        self.bands: list[tuple[str, int]] = []  # (gsrn, instance)
        self.moments: list[datetime] = []  # doses' due times and records' times
        self.gtins: list[str] = []
        self.used_serials: set[tuple[str, str]] = set()
        self.given_doses: set[int] = set()


def pick(items: list, index: int):
    return items[index % len(items)]


def build(plan: dict, nurse, pharmacist) -> Built:
    built = Built()
    substance_rows = [
        SubstanceFactory(code=code, name=code.title(), allergy_class_code=allergy_class)
        for code, allergy_class in plan["substances"]
    ]
    medications = [
        MedicationFactory(substance=pick(substance_rows, substance), high_alert=high_alert)
        for substance, high_alert in plan["medications"]
    ]
    packages = [
        PackageFactory(medication=pick(medications, medication), hospital_repackaged=repackaged)
        for medication, repackaged in plan["packages"]
    ]
    for package, lot in plan["recalls"]:
        if package < len(packages):
            LotRecallFactory(package=packages[package], lot=lot, recorded_by=pharmacist)
    ward_rows = [WardFactory(), WardFactory()]
    for ward, staffed in zip(ward_rows, plan["staffed"], strict=True):
        if staffed:
            ward.staff.add(nurse)
    built.medications = [m.pk for m in medications]
    built.gtins = [p.gtin for p in packages]
    for patient_plan in plan["patients"]:
        _build_patient(patient_plan, built, ward_rows, medications, packages, nurse, pharmacist)
    return built


def _build_patient(plan, built, ward_rows, medications, packages, nurse, pharmacist):
    weighed = plan["weighed"]
    patient = PatientFactory(
        weight_kg=None if weighed is None else Decimal(weighed[0]),
        weight_measured_at=None if weighed is None else at(-weighed[1]),
        height_cm=None if weighed is None or weighed[2] is None else Decimal(weighed[2]),
    )
    built.patients.append(patient)
    for name, code in plan["allergies"]:
        AllergyFactory(patient=patient, allergen_name=name, allergen_code=code)
    instance = plan["first_instance"]
    cursor = -80
    for number, admission_plan in enumerate(plan["admissions"]):
        is_open = plan["last_open"] and number == len(plan["admissions"]) - 1
        admitted = cursor
        discharged = None if is_open else admitted + admission_plan["length"]
        admission = AdmissionFactory(
            patient=patient,
            ward=pick(ward_rows, admission_plan["ward"]),
            admitted_at=at(admitted),
            discharged_at=None if discharged is None else at(discharged),
        )
        built.admissions.append(admission.pk)
        cursor = (discharged if discharged is not None else admitted) + 1
        instance = _build_bands(admission_plan, admission, is_open, instance, pharmacist, built)
        if admission_plan["orders"]:
            built.admissions_with_orders.append(admission.pk)
        for order_plan in admission_plan["orders"]:
            _build_order(order_plan, built, admission, medications, packages, nurse, pharmacist)


def _build_bands(plan, admission, is_open, instance, pharmacist, built) -> int:
    last = plan["last_band"]
    if last == "none":
        return instance
    admitted = admission.admitted_at
    printed = [admitted + n * timedelta(minutes=10) for n in range(plan["reprints"] + 1)]
    for reprinted_at, next_printed in pairwise(printed):
        built.bands.append((admission.patient.gsrn, instance))
        WristbandFactory(
            admission=admission,
            instance=instance,
            printed_at=reprinted_at,
            printed_by=pharmacist,
            voided_at=next_printed,
            void_reason="reprint",
        )
        instance += 1
    discharged = admission.discharged_at
    if is_open:
        voided_at = printed[-1] + STEP if last == "by_hand" else None
    else:
        voided_at = {
            "discharge": discharged,
            "after": discharged + STEP,
            "by_hand": discharged - timedelta(minutes=5),
            "active": discharged,
            "never": None,
        }[last]
    built.bands.append((admission.patient.gsrn, instance))
    WristbandFactory(
        admission=admission,
        instance=instance,
        printed_at=printed[-1],
        printed_by=pharmacist,
        voided_at=voided_at,
        void_reason="" if voided_at is None else "discharge",
    )
    return instance + 1 + (last == "never")  # now and then an instance never issued


def _build_order(plan, built, admission, medications, packages, nurse, pharmacist):
    status = plan["status"]
    verified = plan["verified"] or status in (
        OrderStatus.ACTIVE,
        OrderStatus.ON_HOLD,
        OrderStatus.COMPLETED,
    )
    kind = plan["kind"]
    start = at(plan["start"])
    order = OrderFactory(
        admission=admission,
        medication=pick(medications, plan["medication"]),
        status=status,
        verified_by=pharmacist if verified else None,
        verified_at=start if verified else None,
        schedule_kind=kind,
        times_of_day=["08:00", "20:00"] if kind == ScheduleKind.TIMES_OF_DAY else [],
        interval_hours=6 if kind == ScheduleKind.INTERVAL else None,
        prn_indication="đau" if kind == ScheduleKind.PRN else "",
        prn_min_interval_minutes=240 if kind == ScheduleKind.PRN else None,
        prn_max_per_24h=Decimal("4000") if kind == ScheduleKind.PRN else None,
        start_at=start,
        stop_at=None if plan["stop_after"] is None else start + plan["stop_after"] * STEP,
        dose_per_kg=None if plan["per_kg"][0] is None else Decimal(plan["per_kg"][0]),
        max_dose_per_kg=None if plan["per_kg"][1] is None else Decimal(plan["per_kg"][1]),
    )
    built.orders.append(order.pk)
    doses = (
        []
        if kind == ScheduleKind.PRN
        else [
            ScheduledDoseFactory(order=order, due_at=at(step), state=state)
            for step, state in plan["doses"]
        ]
    )
    built.moments += [dose.due_at for dose in doses]
    for record in plan["records"]:
        dose = doses[record["dose"]] if record["dose"] < len(doses) else None
        original = _record(record["status"], record, order, dose, built, packages, nurse, False)
        if not record["withdrawn"]:
            continue
        _withdraw(original, nurse)
        if record["replaced_by"] is not None:
            status, withdrawn_too = record["replaced_by"]
            replacement = _record(status, record, order, dose, built, packages, nurse, original)
            if withdrawn_too:
                _withdraw(replacement, nurse)


def _record(status, plan, order, dose, built, packages, nurse, replaces):
    # one original record gives a dose (scanning_administration_one_given_per_dose)
    if status == AdministrationStatus.COMPLETED and dose is not None and not replaces:
        if dose.pk in built.given_doses:
            status = AdministrationStatus.NOT_DONE
        built.given_doses.add(dose.pk)
    given = status == AdministrationStatus.COMPLETED
    built.moments.append(at(plan["at"]))
    record = AdministrationFactory(
        order=order,
        scheduled_dose=dose,
        status=status,
        performer=nurse,
        administered_at=at(plan["at"]),
        amount=(order.dose_value / 2 if plan["half"] else order.dose_value) if given else None,
        unit=order.dose_unit if given else "",
        route=order.route if given else "",
        reason="" if given else "refused",
        replaces=replaces or None,
    )
    for package, lot, serial in plan["units"] if given else ():
        package = pick(packages, package)
        if serial and (package.gtin, serial) in built.used_serials:
            serial = ""  # a serial is given once (scanning_administeredunit_serial_used_once)
        if serial:
            built.used_serials.add((package.gtin, serial))
        AdministeredUnitFactory(administration=record, package=package, lot=lot, serial=serial)
    return record


def _withdraw(record, nurse):
    AdministrationFactory(
        order=record.order,
        scheduled_dose=record.scheduled_dose,
        status=AdministrationStatus.ENTERED_IN_ERROR,
        performer=nurse,
        administered_at=record.administered_at,
        amount=None,
        unit="",
        route="",
        reason="duplicate",
        corrects=record,
    )


# -- comparing -----------------------------------------------------------------------------------


def plain(value):
    """What a read returned, as comparable data: a model instance as its class, every concrete
    field, the relations attached to it (so a twin that leaves one to a later query differs) and
    the dose's `is_given`; every leaf with its type (a float is not a Decimal)."""
    if isinstance(value, Model):
        return (
            type(value).__name__,
            {f.attname: plain(getattr(value, f.attname)) for f in value._meta.concrete_fields},
            {name: plain(related) for name, related in sorted(value._state.fields_cache.items())},
            plain(getattr(value, "is_given", None)),
        )
    if isinstance(value, dict):
        return [(plain(key), plain(item)) for key, item in value.items()]
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return (type(value).__name__, value)


def rows(value) -> Counter:
    """Rows read in no particular order, as a multiset."""
    return Counter(tuple(plain(row)) for row in value)


def by_key(value: dict) -> list:
    """A mapping whose order nobody reads (the packages, looked up by GTIN)."""
    return sorted(plain(value), key=lambda item: item[0])


def check(name: str, compare, **arguments):
    note(f"{name}({arguments})")
    read = getattr(fast_sql, name)(**arguments)
    event(f"{name}: {_found(read)}")
    fast, ref = compare(read), compare(getattr(reference, name)(**arguments))
    assert fast == ref, f"{name}({arguments})"


def _found(read) -> str:
    """How much a read found, for the statistics (--hypothesis-show-statistics): a property that
    only ever compares two empty answers proves nothing."""
    if isinstance(read, fast_sql.BandRead):
        found = [
            "admitted" if read.admission else "no open admission",
            "band active" if read.band_active else "band inactive",
            "band voided by the discharge" if read.band_discharged_at else "",
            "on the ward" if read.performer_on_ward else "",
        ]
        return ", ".join(part for part in found if part)
    if isinstance(read, dict) and read and isinstance(next(iter(read.values())), ScheduledDose):
        return f"{len(read)} doses, {sum(d.is_given for d in read.values())} given"
    return f"{min(len(read), 3)}{'+' if len(read) > 3 else ''} rows"


# -- the property --------------------------------------------------------------------------------


@pytest.fixture
def staff(db):
    return NurseFactory(), PharmacistFactory()


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    # the staff are built once per test and only read; each example's ward is rolled back
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=wards, data=st.data())
def test_the_fast_reads_and_their_orm_twins_read_the_same_facts(staff, plan, data):
    nurse, pharmacist = staff
    note(f"ward: {plan}")
    with transaction.atomic():
        built = build(plan, nurse, pharmacist)
        _compare_every_twin(built, data, nurse, pharmacist)
        transaction.set_rollback(True)


def _compare_every_twin(built: Built, data, nurse, pharmacist):
    draw = data.draw
    some = st.integers(1, 4)
    patient_ids = st.sampled_from([p.pk for p in built.patients] + [NOWHERE])
    gsrns = st.sampled_from([p.gsrn for p in built.patients] + ["952000000000000000"])
    admission_ids = st.sampled_from([*built.admissions, NOWHERE])
    order_ids = st.sampled_from([*built.orders, NOWHERE])
    medication_ids = st.sampled_from([*built.medications, NOWHERE])
    gtins = st.sampled_from([*built.gtins, "09520000000009"])
    moments = st.integers(-130, 130).map(lambda n: ORIGIN + n * STEP / 2)
    if built.moments:  # now and then at a dose or a record, or just either side of it
        moments |= st.tuples(
            st.sampled_from(built.moments), st.sampled_from([-STEP / 2, 0 * STEP, STEP / 2])
        ).map(lambda due_and_shift: due_and_shift[0] + due_and_shift[1])
    bands = st.tuples(gsrns, st.integers(1, 10))
    if built.bands:
        bands |= st.sampled_from(built.bands)
    ordered_admissions = admission_ids
    if built.admissions_with_orders:
        ordered_admissions |= st.sampled_from(built.admissions_with_orders)
    reach = st.just(0) | st.integers(-2, 60)
    reach = reach.map(lambda n: n * STEP)  # a window that starts or ends at `now`, often

    for _ in range(draw(some)):
        gsrn, instance = draw(bands)
        check(
            "patient_admission_band",
            plain,
            gsrn=gsrn,
            band_instance=instance,
            user_id=draw(st.sampled_from([nurse.pk, pharmacist.pk, NOWHERE])),
        )
    for _ in range(draw(some)):
        check("allergies_of", plain, patient_id=draw(patient_ids))
    for _ in range(draw(some)):
        check("packages_by_gtin", by_key, gtins=draw(st.sets(gtins)))
    for _ in range(draw(some)):
        check("orders_of", plain, admission_id=draw(ordered_admissions))
    for _ in range(draw(some)):
        now = draw(moments)
        check(
            "doses_either_side",
            plain,
            admission_id=draw(ordered_admissions),
            now=now,
            since=now - draw(reach),
            until=now + draw(reach),
        )
    for _ in range(draw(some)):
        check(
            "prior_given",
            rows,
            order_ids=draw(st.lists(order_ids)),
            since=draw(moments),
        )
    serial_keys = st.tuples(gtins, st.sampled_from(SERIALS))
    if built.used_serials:
        serial_keys |= st.sampled_from(sorted(built.used_serials))
    for _ in range(draw(some)):
        check(
            "used_serials_and_recalled_lots",
            rows,
            serial_keys=draw(st.sets(serial_keys, max_size=4)),
            lot_keys=draw(st.sets(st.tuples(gtins, st.sampled_from(LOTS)), max_size=4)),
            repackaged_lot_keys=draw(
                st.sets(st.tuples(medication_ids, st.sampled_from(LOTS)), max_size=3)
            ),
        )
