"""The check's reads written plainly in the ORM: what each of scanning/facts/fast_sql.py's
statements means.

The bedside runs the hand-written SQL, which is several times cheaper (docs/benchmarks.md); these
are its definitions. Each function has the name, signature and return shape of its fast twin and
builds on the one-definition helpers (docs/architecture.md, "One definition per clinical read"):
a record counts through AdministrationQuerySet.counting_given (scanning.models.standing_q), a
band is active through WristbandQuerySet.active, a discharge voided a band through
wards.selectors.wristband_discharged_at. tests/scanning/test_facts_twins.py holds each pair equal
over random wards on both databases; a difference there is a bug in the SQL until shown
otherwise."""

from datetime import datetime
from functools import reduce
from operator import or_

from django.db.models import Exists, OuterRef, Q

from pharmacy.models import LotRecall, MedicationOrder, Package, ScheduledDose
from scanning.facts.shapes import BandRead
from scanning.models import AdministeredUnit, Administration
from wards.models import Admission, Allergy, Patient, Wristband
from wards.selectors import wristband_discharged_at


def patient_admission_band(*, gsrn: str, band_instance: int, user_id: int) -> BandRead:
    """The wristband's patient, their open admission (patient and ward attached), whether this band
    is the admission's active one, whether `user_id` is assigned to that ward, and when the band's
    admission was discharged if the discharge voided it. Without an open admission no band is
    active and nobody is on its ward.

    Twin: scanning.facts.fast_sql.patient_admission_band"""
    patient = Patient.objects.filter(gsrn=gsrn).first()
    if patient is None:
        return BandRead(None, None, False, False, None)
    discharged_at = wristband_discharged_at(gsrn=gsrn, instance=band_instance)
    admission = (
        Admission.objects.select_related("ward")
        .filter(patient=patient, discharged_at__isnull=True)
        .first()
    )
    if admission is None:
        return BandRead(patient, None, False, False, discharged_at)
    admission.patient = patient
    return BandRead(
        patient,
        admission,
        Wristband.objects.active().filter(patient=patient, instance=band_instance).exists(),
        admission.ward.staff.filter(pk=user_id).exists(),
        discharged_at,
    )


def allergies_of(patient_id: int) -> list[Allergy]:
    """The patient's allergies by name.

    Twin: scanning.facts.fast_sql.allergies_of"""
    return list(Allergy.objects.filter(patient_id=patient_id).order_by("allergen_name", "pk"))


def packages_by_gtin(gtins: set[str]) -> dict[str, Package]:
    """The formulary's packages among these GTINs, each with its medication and substance.

    Twin: scanning.facts.fast_sql.packages_by_gtin"""
    return {
        package.gtin: package
        for package in Package.objects.select_related("medication__substance").filter(
            gtin__in=gtins
        )
    }


def orders_of(admission_id: int) -> dict[int, MedicationOrder]:
    """Every order of the admission, newest start first, with its medication and substance.

    Twin: scanning.facts.fast_sql.orders_of"""
    return {
        order.pk: order
        for order in MedicationOrder.objects.filter(admission_id=admission_id)
        .select_related("medication__substance")
        .order_by("-start_at", "pk")
    }


def doses_either_side(
    *, admission_id: int, now: datetime, since: datetime, until: datetime
) -> dict[int, ScheduledDose]:
    """For each order of the admission, its last dose due at or before `now` (from `since`) and its
    first dose due after `now` (up to `until`), each with `is_given`: whether a record that still
    counts gives it; by due time.

    Twin: scanning.facts.fast_sql.doses_either_side"""
    candidates = (
        ScheduledDose.objects.filter(order__admission_id=admission_id)
        .filter(Q(due_at__gte=since, due_at__lte=now) | Q(due_at__gt=now, due_at__lte=until))
        .annotate(
            is_given=Exists(
                Administration.objects.filter(scheduled_dose=OuterRef("pk")).counting_given()
            )
        )
    )
    last_due: dict[int, ScheduledDose] = {}
    next_due: dict[int, ScheduledDose] = {}
    for dose in candidates:
        if dose.due_at <= now:
            kept = last_due.get(dose.order_id)
            if kept is None or dose.due_at > kept.due_at:
                last_due[dose.order_id] = dose
        else:
            kept = next_due.get(dose.order_id)
            if kept is None or dose.due_at < kept.due_at:
                next_due[dose.order_id] = dose
    chosen = sorted([*last_due.values(), *next_due.values()], key=lambda d: (d.due_at, d.pk))
    return {dose.pk: dose for dose in chosen}


def prior_given(*, order_ids: list[int], since: datetime) -> list[tuple]:
    """(order_id, administered_at, amount, unit) of the records that still count, given under
    these orders since `since`, in no particular order.

    Twin: scanning.facts.fast_sql.prior_given"""
    return list(
        Administration.objects.counting_given()
        .filter(order_id__in=order_ids, administered_at__gte=since)
        .values_list("order_id", "administered_at", "amount", "unit")
    )


def used_serials_and_recalled_lots(
    *,
    serial_keys: set[tuple[str, str]],
    lot_keys: set[tuple[str, str]],
    repackaged_lot_keys: set[tuple[int, str]],
) -> list[tuple[str, str, str, int]]:
    """(gtin, value, kind, medication_id) rows: `serial` rows for (gtin, serial) pairs already
    administered, `lot` rows for recalls matching (gtin, lot) pairs or (medication_id, lot) pairs
    of repackaged unit doses (read only alongside `lot_keys`: the repackaged pairs are drawn from
    them). In no particular order.

    Twin: scanning.facts.fast_sql.used_serials_and_recalled_lots"""
    rows: list[tuple[str, str, str, int]] = []
    if serial_keys:
        used = reduce(or_, (Q(gtin=gtin, serial=serial) for gtin, serial in serial_keys))
        rows += [
            (gtin, serial, "serial", 0)
            for gtin, serial in AdministeredUnit.objects.filter(used).values_list("gtin", "serial")
        ]
    if lot_keys:
        recalled = reduce(
            or_,
            [Q(package__gtin=gtin, lot=lot) for gtin, lot in lot_keys]
            + [
                Q(package__medication_id=medication, lot=lot)
                for medication, lot in repackaged_lot_keys
            ],
        )
        rows += [
            (gtin, lot, "lot", medication)
            for gtin, lot, medication in LotRecall.objects.filter(recalled).values_list(
                "package__gtin", "lot", "package__medication_id"
            )
        ]
    return rows
