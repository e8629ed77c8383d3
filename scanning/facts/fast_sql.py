"""The bedside path's statements in hand-written SQL: the check's reads. The record's row locks,
raw SQL too, are in scanning/locks.py with every other bedside lock, in their order.

The reads run twice per administration (the check, and the record's re-check on locked rows), and
through the ORM each cost three to five times its round trip in compiling and building instances
(docs/benchmarks.md, "Where the time goes"). The statements stay plain, portable SQL; rows come
back as the ORM would return them (hospital/sql.py).

What each statement must mean is written once more, plainly, in the ORM: its twin of the same name
and signature in scanning/facts/reference.py, built on the one-definition helpers (standing_q and
the counting querysets, the active band). Change the two together:
tests/scanning/test_facts_twins.py generates random wards and holds every pair equal on SQLite
and on PostgreSQL, and tests/scanning/test_bedside_sql.py pins the cases the bedside relies on."""

from datetime import datetime

from hospital.sql import ModelColumns, fetchall, table
from pharmacy.models import (
    LotRecall,
    Medication,
    MedicationOrder,
    Package,
    ScheduledDose,
    Substance,
)
from scanning.facts.shapes import BandRead
from scanning.models import AdministeredUnit, Administration, AdministrationStatus
from wards.models import Admission, Allergy, Patient, Ward, Wristband

_PATIENT = ModelColumns(Patient, "p")
_ADMISSION = ModelColumns(Admission, "a")
_WARD = ModelColumns(Ward, "w")
_ALLERGY = ModelColumns(Allergy, "al")
_ORDER = ModelColumns(MedicationOrder, "o")
_MEDICATION = ModelColumns(Medication, "m")
_SUBSTANCE = ModelColumns(Substance, "s")
_PACKAGE = ModelColumns(Package, "pk")
_DOSE = ModelColumns(ScheduledDose, "d")
_PRIOR = ModelColumns(Administration, "a", only=("order", "administered_at", "amount", "unit"))

_DISCHARGED_AT = ModelColumns(Admission, "ba", only=("discharged_at",))

_WARD_STAFF = Ward.staff.through


def patient_admission_band(*, gsrn: str, band_instance: int, user_id: int) -> BandRead:
    """The wristband's patient, their open admission (ward attached), whether this band is the
    admission's active one, whether `user_id` is assigned to that ward, and when the band's
    admission was discharged if the discharge voided it: one statement. A band is active only
    while its admission is open, so without one no band is active. The ORM spelling of the last
    value is wards.selectors.wristband_discharged_at; "active" is WristbandQuerySet.active.

    Twin: scanning.facts.reference.patient_admission_band"""
    rows = fetchall(
        f"SELECT {_PATIENT.sql}, {_ADMISSION.sql}, {_WARD.sql}, "  # noqa: S608 - names only
        f"EXISTS (SELECT 1 FROM {table(Wristband)} b JOIN {table(Admission)} ba "
        "ON ba.id = b.admission_id WHERE b.patient_id = p.id AND b.instance = %s "
        "AND b.voided_at IS NULL AND ba.discharged_at IS NULL), "
        f"EXISTS (SELECT 1 FROM {table(_WARD_STAFF)} ws "
        "WHERE ws.ward_id = a.ward_id AND ws.user_id = %s), "
        f"(SELECT ba.discharged_at FROM {table(Wristband)} b JOIN {table(Admission)} ba "
        "ON ba.id = b.admission_id WHERE b.patient_id = p.id AND b.instance = %s "
        "AND ba.discharged_at IS NOT NULL AND b.voided_at >= ba.discharged_at "
        f"AND NOT EXISTS (SELECT 1 FROM {table(Wristband)} later "
        "WHERE later.admission_id = b.admission_id AND later.instance > b.instance)) "
        f"FROM {table(Patient)} p "
        f"LEFT JOIN {table(Admission)} a ON a.patient_id = p.id AND a.discharged_at IS NULL "
        f"LEFT JOIN {table(Ward)} w ON w.id = a.ward_id "
        "WHERE p.gsrn = %s",
        [band_instance, user_id, band_instance, gsrn],
    )
    if not rows:
        return BandRead(None, None, False, False, None)
    row = rows[0]
    patient = _PATIENT.instance(row)
    admission_at = _PATIENT.width
    flags_at = admission_at + _ADMISSION.width + _WARD.width
    (discharged_at,) = _DISCHARGED_AT.values(row, flags_at + 2)
    if row[admission_at] is None:
        return BandRead(patient, None, False, False, discharged_at)
    admission = _ADMISSION.instance(row, admission_at)
    admission.patient = patient
    admission.ward = _WARD.instance(row, admission_at + _ADMISSION.width)
    return BandRead(patient, admission, bool(row[flags_at]), bool(row[flags_at + 1]), discharged_at)


def allergies_of(patient_id: int) -> list[Allergy]:
    """The patient's allergies by name.

    Twin: scanning.facts.reference.allergies_of"""
    return [
        _ALLERGY.instance(row)
        for row in fetchall(
            f"SELECT {_ALLERGY.sql} FROM {table(Allergy)} al "  # noqa: S608
            "WHERE al.patient_id = %s ORDER BY al.allergen_name, al.id",
            [patient_id],
        )
    ]


def _with_medication(row, start: int) -> Medication:
    medication = _MEDICATION.instance(row, start)
    medication.substance = _SUBSTANCE.instance(row, start + _MEDICATION.width)
    return medication


def packages_by_gtin(gtins: set[str]) -> dict[str, Package]:
    """The formulary's packages among these GTINs, each with its medication and substance.

    Twin: scanning.facts.reference.packages_by_gtin"""
    if not gtins:
        return {}
    ordered = sorted(gtins)
    rows = fetchall(
        f"SELECT {_PACKAGE.sql}, {_MEDICATION.sql}, {_SUBSTANCE.sql} "  # noqa: S608
        f"FROM {table(Package)} pk "
        f"JOIN {table(Medication)} m ON m.id = pk.medication_id "
        f"JOIN {table(Substance)} s ON s.id = m.substance_id "
        f"WHERE pk.gtin IN ({', '.join(['%s'] * len(ordered))})",
        ordered,
    )
    packages = {}
    for row in rows:
        package = _PACKAGE.instance(row)
        package.medication = _with_medication(row, _PACKAGE.width)
        packages[package.gtin] = package
    return packages


def orders_of(admission_id: int) -> dict[int, MedicationOrder]:
    """Every order of the admission, newest start first, with its medication and substance.

    Twin: scanning.facts.reference.orders_of"""
    rows = fetchall(
        f"SELECT {_ORDER.sql}, {_MEDICATION.sql}, {_SUBSTANCE.sql} "  # noqa: S608
        f"FROM {table(MedicationOrder)} o "
        f"JOIN {table(Medication)} m ON m.id = o.medication_id "
        f"JOIN {table(Substance)} s ON s.id = m.substance_id "
        "WHERE o.admission_id = %s ORDER BY o.start_at DESC, o.id",
        [admission_id],
    )
    orders = {}
    for row in rows:
        order = _ORDER.instance(row)
        order.medication = _with_medication(row, _ORDER.width)
        orders[order.pk] = order
    return orders


def _counting_given() -> str:
    """Record `a` still counts: completed, and no entered-in-error record withdraws it. The ORM twin
    is AdministrationQuerySet.counting_given (on scanning.models.standing_q); tests/scanning/
    test_bedside_sql.py and test_facts_twins.py hold them equal. Takes one parameter:
    AdministrationStatus.COMPLETED."""
    return (
        "a.status = %s AND NOT EXISTS "  # noqa: S608 - a table name only
        f"(SELECT 1 FROM {table(Administration)} c WHERE c.corrects_id = a.id)"
    )


def doses_either_side(
    *, admission_id: int, now: datetime, since: datetime, until: datetime
) -> dict[int, ScheduledDose]:
    """For each order of the admission, its last dose due at or before `now` (from `since`) and its
    first dose due after `now` (up to `until`), each with `is_given`: whether a record that still
    counts gives it. The rules only ever pick an order's dose nearest to now, which is always one
    of these two; reading only them keeps the read to two rows per order, however dense the
    schedule. Both lookups walk the (order, due_at) unique index.

    Twin: scanning.facts.reference.doses_either_side"""
    dose = table(ScheduledDose)
    nearest = (
        f"SELECT (SELECT n.id FROM {dose} n WHERE n.order_id = o.id AND {{window}} "  # noqa: S608
        f"ORDER BY n.due_at {{direction}} LIMIT 1) FROM {table(MedicationOrder)} o "
        "WHERE o.admission_id = %s"
    )
    rows = fetchall(
        f"SELECT {_DOSE.sql}, "  # noqa: S608
        f"EXISTS (SELECT 1 FROM {table(Administration)} a "
        f"WHERE a.scheduled_dose_id = d.id AND {_counting_given()}) "
        f"FROM {dose} d WHERE d.id IN ("
        + nearest.format(window="n.due_at <= %s AND n.due_at >= %s", direction="DESC")
        + " UNION ALL "
        + nearest.format(window="n.due_at > %s AND n.due_at <= %s", direction="ASC")
        + ") ORDER BY d.due_at, d.id",
        [AdministrationStatus.COMPLETED, now, since, admission_id, now, until, admission_id],
    )
    doses = {}
    for row in rows:
        found = _DOSE.instance(row)
        found.is_given = bool(row[_DOSE.width])
        doses[found.pk] = found
    return doses


def prior_given(*, order_ids: list[int], since: datetime) -> list[tuple]:
    """(order_id, administered_at, amount, unit) of the records that still count, given under
    these orders since `since`, in no particular order.

    Twin: scanning.facts.reference.prior_given"""
    if not order_ids:
        return []
    rows = fetchall(
        f"SELECT {_PRIOR.sql} FROM {table(Administration)} a "  # noqa: S608
        f"WHERE a.order_id IN ({', '.join(['%s'] * len(order_ids))}) "
        f"AND a.administered_at >= %s AND {_counting_given()}",
        [*order_ids, since, AdministrationStatus.COMPLETED],
    )
    return [tuple(_PRIOR.values(row)) for row in rows]


def used_serials_and_recalled_lots(
    *,
    serial_keys: set[tuple[str, str]],
    lot_keys: set[tuple[str, str]],
    repackaged_lot_keys: set[tuple[int, str]],
) -> list[tuple[str, str, str, int]]:
    """(gtin, value, kind, medication_id) rows, one round trip: `serial` rows for (gtin, serial)
    pairs already administered, `lot` rows for recalls matching (gtin, lot) pairs or
    (medication_id, lot) pairs of repackaged unit doses (read only alongside `lot_keys`: the
    repackaged pairs are drawn from them). In no particular order.

    Twin: scanning.facts.reference.used_serials_and_recalled_lots"""
    parts, params = [], []
    if serial_keys:
        pairs = sorted(serial_keys)
        parts.append(
            "SELECT u.gtin, u.serial, 'serial', 0 "  # noqa: S608
            f"FROM {table(AdministeredUnit)} u WHERE "
            + " OR ".join(["(u.gtin = %s AND u.serial = %s)"] * len(pairs))
        )
        params += [value for pair in pairs for value in pair]
    if lot_keys:
        by_gtin = sorted(lot_keys)
        by_medication = sorted(repackaged_lot_keys)
        conditions = ["(pk.gtin = %s AND r.lot = %s)"] * len(by_gtin) + [
            "(pk.medication_id = %s AND r.lot = %s)"
        ] * len(by_medication)
        parts.append(
            "SELECT pk.gtin, r.lot, 'lot', pk.medication_id "  # noqa: S608
            f"FROM {table(LotRecall)} r JOIN {table(Package)} pk ON pk.id = r.package_id "
            "WHERE " + " OR ".join(conditions)
        )
        params += [value for pair in (*by_gtin, *by_medication) for value in pair]
    if not parts:
        return []
    return fetchall(" UNION ALL ".join(parts), params)
