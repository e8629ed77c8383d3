"""Every row lock a bedside write takes, in one place, in the one order they are taken.

    1. the patient                      patient_and_open_orders (record, not given), patient
                                        (correction)
    2. the patient's open orders,       patient_and_open_orders
       by primary key
    3. the scheduled dose written       dose_with_record_to_replace (record), dose (not given)
    4. the performer                    performer (taken with the scan event's chain head, last)

Why one order: two transactions that take the same rows in different orders can each hold the row
the other waits for, and PostgreSQL breaks the deadlock by failing one of them, a record lost at
the bedside. Taken in this order, two carts on one patient simply take turns at step 1, and every
other writer of these rows fits it: a reprint or discharge (wards.services) locks the patient
first, a pharmacist's status change (pharmacy.services) locks only its order, and the orders are
locked by primary key so that no two writers meet them in opposite orders. A check writes only its
scan event, so it holds only the performer (step 4).

Every lock is FOR NO KEY UPDATE on PostgreSQL (hospital.sql.row_lock says why) and nothing on
SQLite, which serialises writers itself. The record's locks are raw SQL, on its measured path
(scanning.facts.fast_sql); the others go through the ORM; both kinds live here so that the order is
read in one place. Tests: tests/scanning/test_lock_modes.py, test_concurrency.py, test_races.py.
"""

from django.contrib.auth import get_user_model

from hospital.sql import fetchall, quote, row_lock, table
from pharmacy.models import MedicationOrder, ScheduledDose
from scanning.models import Administration, AdministrationStatus
from wards.models import Admission, Patient


def patient_and_open_orders(gsrn: str) -> None:
    """Steps 1 and 2, raw SQL: the patient with this GSRN, then the open admission's orders by
    primary key."""
    lock = row_lock()
    if not lock:
        return
    patient = fetchall(f"SELECT id FROM {table(Patient)} WHERE gsrn = %s {lock}", [gsrn])  # noqa: S608
    if patient:
        fetchall(
            f"SELECT o.id FROM {table(MedicationOrder)} o "  # noqa: S608
            f"JOIN {table(Admission)} a ON a.id = o.admission_id "
            "WHERE a.patient_id = %s AND a.discharged_at IS NULL "
            f"ORDER BY o.id {row_lock(of='o')}",
            [patient[0][0]],
        )


def patient(patient_id: int) -> None:
    """Step 1 alone, ORM: a correction writes only to the patient's ledger, which the patient's lock
    serialises. No lock on the record itself: that needs UPDATE on the ledger, which the
    application's database role does not have (hospital/db_roles.py)."""
    Patient.objects.select_for_update(no_key=True).get(pk=patient_id)


def dose_with_record_to_replace(dose_id: int) -> int | None:
    """Step 3 for a record, raw SQL: lock the scheduled dose about to be recorded, and find the
    record to replace: its given record that was entered in error and not yet replaced, the latest
    if several, which keeps "one given record per dose" a constraint. "Entered in error" is the
    `c.corrects_id` EXISTS, the twin of scanning.models.withdrawn_q."""
    administration = table(Administration)
    rows = fetchall(
        f"SELECT (SELECT a.id FROM {administration} a "  # noqa: S608
        "WHERE a.scheduled_dose_id = d.id AND a.status = %s "
        f"AND EXISTS (SELECT 1 FROM {administration} c WHERE c.corrects_id = a.id) "
        f"AND NOT EXISTS (SELECT 1 FROM {administration} r WHERE r.replaces_id = a.id) "
        "ORDER BY a.administered_at DESC LIMIT 1) "
        f"FROM {table(ScheduledDose)} d WHERE d.id = %s {row_lock(of='d')}",
        [AdministrationStatus.COMPLETED, dose_id],
    )
    return rows[0][0] if rows else None


def dose(dose_id: int) -> ScheduledDose:
    """Step 3 for a not-given note, ORM: the scheduled dose, locked and read afresh."""
    return ScheduledDose.objects.select_for_update(of=("self",), no_key=True).get(pk=dose_id)


def performer(user_id: int) -> None:
    """Step 4, raw SQL (every scan takes it): the performer's row, which guards the head of her
    scan events' chain until the transaction ends."""
    if lock := row_lock():
        user = get_user_model()
        fetchall(
            f"SELECT 1 FROM {table(user)} WHERE {quote(user._meta.pk.column)} = %s {lock}",  # noqa: S608
            [user_id],
        )
