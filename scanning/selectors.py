"""Reads for the scanning core. `check_context_build` gathers every fact the rules need in a fixed
number of queries, whatever the patient's history."""

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Prefetch, Q
from django.utils import timezone

import gs1
from hospital.models import Role, User
from pharmacy.assessments import OrderAssessments, order_assessments
from pharmacy.models import (
    ONE_TIME_KINDS,
    DoseState,
    Medication,
    MedicationOrder,
    OrderStatus,
    Package,
    ScheduledDose,
    ScheduleKind,
)
from scanning import rules
from scanning.dosemath import Quantity
from scanning.facts import fast_sql
from scanning.models import (
    AdministeredUnit,
    Administration,
    AdministrationStatus,
    CheckedDose,
    InfusionEvent,
    ScanEvent,
    ScanPurpose,
    standing_q,
)
from scanning.reassessments import reassessments_due
from scanning.scans import ResolvedScan
from wards.models import Admission, Allergy, Bed, Patient

DOSE_LOOKAROUND = timedelta(hours=24)
PRN_LOOKBACK = timedelta(hours=48)
PRN_LAST_DOSES_SHOWN = 6  # the cart's list of a PRN order's doses in the last 24 hours
# A dose this long past its window is no longer "overdue" but "missed".
OVERDUE_BEFORE_MISSED = timedelta(hours=4)


@dataclass
class CheckContext:
    """The facts for the rules, and the rows behind them for recording."""

    facts: rules.CheckFacts
    patient: Patient | None = None
    admission: Admission | None = None
    allergies: list[Allergy] = field(default_factory=list)
    # whether the performer is assigned to the admission's ward (break-the-glass reads it)
    performer_on_ward: bool = False
    packages: dict[str, Package] = field(default_factory=dict)
    orders: dict[int, MedicationOrder] = field(default_factory=dict)
    doses: dict[int, ScheduledDose] = field(default_factory=dict)
    witness: User | None = None
    cosigner: User | None = None  # the badge in the co-sign slot (a student's instructor)
    units: tuple[gs1.ParsedScan, ...] = ()
    unit_keyed: tuple[bool, ...] = ()
    bag: Administration | None = None  # the hung bag a bag event scanned, if any


@dataclass(frozen=True)
class InfusionAction:
    """What the nurse does with an infusion bag (scanning.rules.infusion.ACTIONS)."""

    action: str
    rate_ml_h: Decimal | None = None
    line: str = ""


@dataclass(frozen=True)
class Bag:
    """A hung bag and its life, for the rules, the services and the lists."""

    administration: Administration
    life: rules.infusion.BagLife
    line: str
    events: tuple[InfusionEvent, ...] = ()

    def facts(self) -> rules.BagFacts:
        return rules.BagFacts(
            administration_id=self.administration.pk,
            patient_id=self.administration.patient_id,
            order_id=self.administration.order_id,
            line=self.line,
            state=self.life.state,
            rate_ml_h=self.life.rate_ml_h,
            ended_at=self.life.ended_at,
        )


def bag_summary(bag: Bag, *, now: datetime) -> dict:
    """What the cart, the API and the dashboard show of a bag: its drug, line, state and rate,
    how long it has run and when it should end at its present rate."""
    administration = bag.administration
    order = administration.order
    volume = bag_volume_ml(administration)
    ended = bag.life.ended_at
    return {
        "administration": administration.external_id,
        "order": order.external_id,
        "medication": order.medication.name,
        "additives": order.additives,
        "line": bag.line,
        "state": bag.life.state,
        "rate_ml_h": bag.life.rate_ml_h,
        "ordered_rate_ml_h": _decimal_or_none(order.infusion_rate_ml_h()),
        "volume_ml": volume,
        "volume_infused_ml": bag.life.volume_infused(until=ended or now, volume_ml=volume),
        "started_at": bag.life.started_at,
        "elapsed_minutes": int(((ended or now) - bag.life.started_at).total_seconds() // 60),
        "expected_end_at": bag.life.expected_end(now=now, volume_ml=volume),
        "ended_at": ended,
    }


def bag_volume_ml(administration: Administration) -> Decimal | None:
    """What the bag held: the recorded amount in mL, else the order's volume."""
    if administration.unit == "mL" and administration.amount:
        return Decimal(administration.amount)
    volume = administration.order.volume_ml
    return Decimal(volume) if volume is not None else None


def bags_read(administrations, *, events=None) -> list[Bag]:
    """Each administration with its bag's life, read from its events in one query (`events`, a
    queryset of them, when the caller has a cheaper or fixed-cost one)."""
    administrations = list(administrations)
    if events is None:
        events = InfusionEvent.objects.filter(administration__in=administrations)
    by_bag: dict[int, list[InfusionEvent]] = {a.pk: [] for a in administrations}
    for event in events.order_by("administration_id", "chain_seq", "pk"):
        if event.administration_id in by_bag:
            by_bag[event.administration_id].append(event)
    events = by_bag
    bags = []
    for administration in administrations:
        rows = events[administration.pk]
        if not rows or rows[0].kind != "started":
            continue
        bags.append(
            Bag(
                administration=administration,
                life=rules.infusion.bag_life([(e.kind, e.at, e.rate_ml_h) for e in rows]),
                line=rows[0].line,
                events=tuple(rows),
            )
        )
    return bags


def bags_infusing(*, patient_id: int | None = None, admission_ids=None) -> list[Bag]:
    """Bags infusing now (running or paused), through Administration.objects.infusing(), the one
    definition, with their order and medication."""
    queryset = Administration.objects.infusing().select_related(
        "order__medication", "patient", "admission__ward", "admission__bed"
    )
    if patient_id is not None:
        queryset = queryset.filter(patient_id=patient_id)
    if admission_ids is not None:
        queryset = queryset.filter(admission_id__in=admission_ids)
    return bags_read(queryset.order_by("administered_at", "pk"))


def bags_ending(*, admission_ids, now: datetime, until: datetime) -> list[tuple[Bag, datetime]]:
    """Bags infusing on these admissions whose expected end at their present rate is by `until`
    (past ends included: overdue for a bag change), each with that end, soonest first. A paused
    bag has no end."""
    ending = []
    for bag in bags_infusing(admission_ids=admission_ids):
        end = bag.life.expected_end(now=now, volume_ml=bag_volume_ml(bag.administration))
        if end is not None and end <= until:
            ending.append((bag, end))
    return sorted(ending, key=lambda pair: pair[1])


def bag_of_unit(*, gtin: str | None, serial: str | None) -> Bag | None:
    """The bag hung with this unit (GTIN and serial), ended or not; None if never hung."""
    if not gtin or not serial:
        return None
    unit = (
        AdministeredUnit.objects.filter(gtin=gtin, serial=serial)
        .filter(
            standing_q("administration__"), administration__status=AdministrationStatus.COMPLETED
        )
        .select_related("administration__order__medication")
        .first()
    )
    if unit is None:
        return None
    found = bags_read([unit.administration])
    return found[0] if found else None


def medication_facts(medication: Medication) -> rules.MedicationFacts:
    return rules.MedicationFacts(
        id=medication.pk,
        name=medication.name,
        substance_code=medication.substance.code,
        allergy_class_code=medication.substance.allergy_class_code,
        dose_form=medication.dose_form,
        routes=frozenset(medication.routes or ()),
        strength_value=medication.strength_value,
        strength_unit=medication.strength_unit,
        per_value=medication.per_value,
        per_unit=medication.per_unit,
        high_alert=medication.high_alert,
        time_critical=medication.time_critical,
        divisible=medication.divisible,
        requires_removal=medication.requires_removal,
        site_lookback_hours=medication.substance.site_lookback_hours,
        controlled=medication.controlled,
    )


def staff_facts(user) -> rules.StaffFacts:
    return rules.StaffFacts(
        id=user.pk,
        may_administer=user.may_administer,
        is_pharmacist=user.has_role(Role.PHARMACIST),
        active=user.is_active,
        is_student=user.is_student_nurse,
        is_instructor=user.is_instructor,
    )


def _patient_slot(scan: ResolvedScan) -> gs1.ParsedScan | None:
    return scan.first("wristband")


def _medication_slot(
    scans: list[ResolvedScan],
) -> tuple[tuple[gs1.ParsedScan, ...], tuple[bool, ...]]:
    """The units in the medication slot. A typed scan is one unit. From an image only medication
    symbols count, and one package printed twice (an EAN-13 beside its DataMatrix) is one unit:
    an image holds several units of a GTIN only when they carry different serials."""
    units, keyed = [], []
    for scan in scans:
        medications = [p for p in scan.parsed if p.kind == "medication"]
        if scan.source != "image" or not medications:
            chosen = list(scan.parsed[:1])
        else:
            chosen = _one_per_package(medications)
        for parsed in chosen:
            units.append(parsed)
            keyed.append(scan.keyed)
    return tuple(units), tuple(keyed)


def _one_per_package(symbols: list[gs1.ParsedScan]) -> list[gs1.ParsedScan]:
    by_gtin: dict[str, list[gs1.ParsedScan]] = {}
    for symbol in symbols:
        by_gtin.setdefault(symbol.payload.gtin, []).append(symbol)
    chosen = []
    for same_gtin in by_gtin.values():
        serialised = {s.payload.serial: s for s in same_gtin if s.payload.serial}
        if len(serialised) > 1:
            chosen.extend(serialised.values())
        else:
            # the most complete reading: serial, lot and expiry over a bare EAN-13
            chosen.append(
                max(
                    same_gtin,
                    key=lambda s: (
                        bool(s.payload.serial),
                        bool(s.payload.lot),
                        s.payload.expiry is not None,
                    ),
                )
            )
    return chosen


def staff_get_by_badge(*, scan: ResolvedScan):
    badge = scan.first("badge")
    if badge is None:
        return None
    return (
        get_user_model()
        .objects.prefetch_related("groups")
        .filter(badge_gsrn=badge.payload.gsrn)
        .first()
    )


def _used_serials_and_recalled_lots(
    units: tuple[rules.ScannedUnit, ...], packages: dict[str, Package]
) -> tuple[frozenset[tuple[str, str]], frozenset[tuple[str, str]]]:
    """(gtin, serial) pairs already administered and (gtin, lot) pairs recalled, among the scanned
    units, in one round trip.

    A unit dose the pharmacy repackaged carries its source's lot under the hospital's own GTIN,
    so a recall of that lot of any package of the same medication recalls it too."""
    lot_keys = {(u.gtin, u.lot) for u in units if u.gtin and u.lot}
    repackaged = {
        (packages[gtin].medication_id, lot): gtin
        for gtin, lot in lot_keys
        if gtin in packages and packages[gtin].hospital_repackaged
    }
    found: dict[str, set[tuple[str, str]]] = {"serial": set(), "lot": set()}
    for gtin, value, kind, medication in fast_sql.used_serials_and_recalled_lots(
        serial_keys={(u.gtin, u.serial) for u in units if u.gtin and u.serial},
        lot_keys=lot_keys,
        repackaged_lot_keys=set(repackaged),
    ):
        found[kind].add((gtin, value))
        if kind == "lot" and (medication, value) in repackaged:
            found[kind].add((repackaged[(medication, value)], value))
    return frozenset(found["serial"]), frozenset(found["lot"])


def check_context_build(
    *,
    performer,
    cart_ward_code: str | None,
    patient_scan: ResolvedScan,
    unit_scans: list[ResolvedScan],
    witness_scan: ResolvedScan | None = None,
    witness_verified_id: int | None = None,
    cosigner_scan: ResolvedScan | None = None,
    cosigner_verified_id: int | None = None,
    requested_order_id: int | None = None,
    amount: Quantity | None = None,
    now: datetime | None = None,
    infusion: InfusionAction | None = None,
    site: str = "",
    waste: Quantity | None = None,
    assessments: tuple[rules.AssessmentValue, ...] = (),
    prn_reason: str = "",
) -> CheckContext:
    now = now or timezone.now()
    band = _patient_slot(patient_scan)
    patient = admission = None
    band_active = performer_on_ward = False
    band_discharged_at = None
    allergies: list[Allergy] = []
    if band is not None:
        patient, admission, band_active, performer_on_ward, band_discharged_at = (
            fast_sql.patient_admission_band(
                gsrn=band.payload.gsrn, band_instance=band.payload.instance, user_id=performer.pk
            )
        )
    if patient is not None:
        allergies = fast_sql.allergies_of(patient.pk)

    units, unit_keyed = _medication_slot(unit_scans)
    packages = fast_sql.packages_by_gtin({u.payload.gtin for u in units if u.kind == "medication"})
    scanned_units = tuple(
        rules.ScannedUnit(
            kind=unit.kind,
            gtin=unit.payload.gtin if unit.kind == "medication" else None,
            lot=unit.payload.lot if unit.kind == "medication" else None,
            serial=unit.payload.serial if unit.kind == "medication" else None,
            expiry=unit.payload.expiry if unit.kind == "medication" else None,
            keyed=keyed,
            product=_product_facts(packages.get(unit.payload.gtin))
            if unit.kind == "medication"
            else None,
        )
        for unit, keyed in zip(units, unit_keyed, strict=True)
    )

    orders: dict[int, MedicationOrder] = {}
    doses: dict[int, ScheduledDose] = {}
    prior: tuple[rules.PriorDose, ...] = ()
    if admission is not None:
        orders = fast_sql.orders_of(admission.pk)
        if orders:
            doses = fast_sql.doses_either_side(
                admission_id=admission.pk,
                now=now,
                since=now - DOSE_LOOKAROUND,
                until=now + DOSE_LOOKAROUND,
            )
        # Only the PRN rules read earlier doses (interval and 24 h maximum).
        prn_orders = [o for o in orders.values() if o.is_prn]
        if prn_orders:
            lookback = max(
                [PRN_LOOKBACK] + [timedelta(minutes=o.prn_min_interval_minutes) for o in prn_orders]
            )
            prior = tuple(
                rules.PriorDose(
                    order_id=order_id, administered_at=administered_at, amount=amount, unit=unit
                )
                for order_id, administered_at, amount, unit in fast_sql.prior_given(
                    order_ids=[o.pk for o in prn_orders], since=now - lookback
                )
            )

    used_serials, recalled = _used_serials_and_recalled_lots(scanned_units, packages)
    worn, site_uses = _worn_and_site_uses(
        patient if admission is not None else None, packages.values(), site=site, now=now
    )

    witness = staff_get_by_badge(scan=witness_scan) if witness_scan is not None else None
    # Only a student's record is co-signed: a nurse's co-sign slot is neither read nor recorded.
    cosigner = (
        staff_get_by_badge(scan=cosigner_scan)
        if cosigner_scan is not None and performer.is_student_nurse
        else None
    )
    if (
        infusion is not None
        and infusion.action == rules.infusion.PREVIEW
        and not any(order.is_infusion for order in orders.values())
    ):
        infusion = None  # a check with no infusion order in sight reads no bags
    infusion_facts, bag = _infusion_facts(infusion, patient, scanned_units)
    facts = rules.CheckFacts(
        now=now,
        tz=timezone.get_default_timezone(),
        cart_ward_code=cart_ward_code,
        patient_scan=rules.PatientScan(kind=patient_scan.kind, keyed=patient_scan.keyed),
        patient=rules.PatientFacts(
            id=patient.pk,
            # The number the admitting hospital knows her by (the band's, the cart's header).
            mrn=admission.mrn if admission is not None else patient.mrn,
            full_name=patient.full_name,
            date_of_birth=patient.date_of_birth,
            deceased=patient.deceased_at is not None,
            weight_kg=patient.weight_kg,
            weight_measured_at=patient.weight_measured_at,
        )
        if patient
        else None,
        band_active=band_active,
        admission=rules.AdmissionFacts(
            id=admission.pk,
            ward_code=admission.ward.code,
            window_minutes=admission.ward.window_minutes,
            time_critical_window_minutes=admission.ward.time_critical_window_minutes,
        )
        if admission
        else None,
        allergies=tuple(
            rules.AllergyFacts(code=a.allergen_code, name=a.allergen_name, severity=a.severity)
            for a in allergies
        ),
        units=scanned_units,
        orders=tuple(_order_facts(order) for order in orders.values()),
        doses=tuple(
            rules.DoseFacts(
                id=d.pk, order_id=d.order_id, due_at=d.due_at, state=d.state, given=d.is_given
            )
            for d in doses.values()
        ),
        prior_doses=prior,
        used_serials=used_serials,
        recalled_lots=recalled,
        performer=staff_facts(performer),
        witness_scan_kind=witness_scan.kind if witness_scan is not None else None,
        witness=staff_facts(witness) if witness is not None else None,
        witness_pin_ok=witness is not None and witness.pk == witness_verified_id,
        cosigner_scan_kind=cosigner_scan.kind
        if cosigner_scan is not None and performer.is_student_nurse
        else None,
        cosigner=staff_facts(cosigner) if cosigner is not None else None,
        cosigner_pin_ok=cosigner is not None and cosigner.pk == cosigner_verified_id,
        requested_order_id=requested_order_id,
        amount=amount,
        band_discharged_at=band_discharged_at,
        infusion=infusion_facts,
        site=site,
        worn=worn,
        site_uses=site_uses,
        waste=waste,
        assessments=assessments,
        prn_reason=prn_reason,
        child_under_years=settings.CHILD_UNDER_YEARS,
        child_weight_max_age_days=settings.CHILD_WEIGHT_MAX_AGE_DAYS,
        stat_window_minutes=settings.STAT_WINDOW_MINUTES,
        verbal_cosign_hours=settings.VERBAL_ORDER_COSIGN_HOURS,
    )
    return CheckContext(
        facts=facts,
        patient=patient,
        admission=admission,
        allergies=allergies,
        performer_on_ward=performer_on_ward,
        packages=packages,
        orders=orders,
        doses=doses,
        witness=witness,
        cosigner=cosigner,
        units=units,
        unit_keyed=unit_keyed,
        bag=bag.administration if bag is not None else None,
    )


def _infusion_facts(
    infusion: InfusionAction | None, patient: Patient | None, units: tuple[rules.ScannedUnit, ...]
) -> tuple[rules.InfusionFacts | None, Bag | None]:
    """The infusion facts of a hang or a bag event: the patient's bags infusing now and, for an
    event, the bag the scanned unit was hung as."""
    if infusion is None:
        return None, None
    bag = None
    if infusion.action not in (rules.infusion.HANG, rules.infusion.PREVIEW) and units:
        bag = bag_of_unit(gtin=units[0].gtin, serial=units[0].serial)
    infusing = bags_infusing(patient_id=patient.pk) if patient is not None else []
    facts = rules.InfusionFacts(
        action=infusion.action,
        rate_ml_h=infusion.rate_ml_h,
        line=infusion.line,
        rate_stop_factor=Decimal(str(settings.INFUSION_RATE_STOP_FACTOR)),
        bag=bag.facts() if bag is not None else None,
        infusing=tuple(b.facts() for b in infusing),
    )
    return facts, bag


def _worn_and_site_uses(
    patient: Patient | None, packages, *, site: str, now: datetime
) -> tuple[tuple[rules.WornProduct, ...], tuple[rules.SiteUse, ...]]:
    """What the removal and site rules read, and only when they can need it (a scanned product
    that requires removal; a chosen site and a substance with a look-back), so that a tablet's
    check costs no query more. Worn products through AdministrationQuerySet.still_worn."""
    if patient is None:
        return (), ()
    medications = [package.medication for package in packages]
    removable = {m.substance.code for m in medications if m.requires_removal}
    worn: tuple[rules.WornProduct, ...] = ()
    if removable:
        worn = tuple(
            rules.WornProduct(
                administration_id=record.pk,
                medication_name=record.order.medication.name,
                substance_code=record.order.medication.substance.code,
                site=record.site,
                applied_at=record.administered_at,
            )
            for record in worn_on_patient(patient).filter(
                order__medication__substance__code__in=removable
            )
        )
    lookbacks = {
        m.substance.code: m.substance.site_lookback_hours
        for m in medications
        if m.substance.site_lookback_hours
    }
    uses: tuple[rules.SiteUse, ...] = ()
    if site and lookbacks:
        since = now - timedelta(hours=max(lookbacks.values()))
        uses = tuple(
            rules.SiteUse(substance_code=code, site=used_site, at=at)
            for code, used_site, at in Administration.objects.counting_given()
            .filter(
                patient=patient,
                site=site,
                order__medication__substance__code__in=set(lookbacks),
                administered_at__gte=since,
            )
            .values_list("order__medication__substance__code", "site", "administered_at")
        )
    return worn, uses


def worn_on_patient(patient: Patient):
    """The patient's patches, rings and implants on now (AdministrationQuerySet.still_worn), oldest
    first, with their medication."""
    return (
        Administration.objects.still_worn()
        .filter(patient=patient)
        .select_related("order__medication__substance")
        .order_by("administered_at", "pk")
    )


def removal_due_at(record: Administration) -> datetime | None:
    """When a product that requires removal is due off: applied plus the medication's wear time."""
    hours = record.order.medication.wear_hours
    return record.administered_at + timedelta(hours=hours) if hours else None


def worn_list(*, patient: Patient) -> list[dict]:
    """The cart's list of what is on the patient: medication, site, applied, due off, overdue."""
    now = timezone.now()
    rows = []
    for record in worn_on_patient(patient):
        due = removal_due_at(record)
        rows.append(
            {
                "administration": record,
                "medication": record.order.medication.name,
                "site": record.site,
                "applied_at": record.administered_at,
                "due_at": due,
                "overdue": due is not None and due <= now,
            }
        )
    return rows


def removals_due(*, ward_ids=None, until: datetime) -> list[tuple[Administration, datetime]]:
    """Patches, rings and implants on the open admissions of these wards (all wards if None) whose
    removal is due by `until`, each with its due time, in one query."""
    records = (
        Administration.objects.still_worn()
        .filter(admission__discharged_at__isnull=True)
        .select_related("order__medication", "patient", "admission__ward", "admission__bed")
    )
    if ward_ids is not None:
        records = records.filter(admission__ward_id__in=ward_ids)
    due_by = [(record, removal_due_at(record)) for record in records]
    return [(record, due) for record, due in due_by if due is not None and due <= until]


def removals_overdue(*, ward_ids=None, now: datetime | None = None) -> list[dict]:
    """Patches, rings and implants past their removal time on the open admissions of these wards
    (all wards if None), most overdue first: the dashboard's and the report's one read."""
    now = now or timezone.now()
    rows = []
    for record, due in removals_due(ward_ids=ward_ids, until=now):
        rows.append(
            {
                "administration": record,
                "patient": record.patient,
                "mrn": record.admission.mrn,  # her number at this hospital
                "ward": record.admission.ward,
                "bed": record.admission.bed,
                "medication": record.order.medication.name,
                "site": record.site,
                "applied_at": record.administered_at,
                "due_at": due,
                "overdue_minutes": int((now - due).total_seconds() // 60),
            }
        )
    rows.sort(key=lambda row: row["due_at"])
    return rows


def product_facts(package: Package) -> rules.ProductFacts:
    """A recorded unit's package as the rules see it (waste documented after the record)."""
    return _product_facts(package)


def _product_facts(package: Package | None) -> rules.ProductFacts | None:
    if package is None:
        return None
    return rules.ProductFacts(
        gtin=package.gtin,
        quantity=package.quantity,
        quantity_unit=package.quantity_unit,
        medication=medication_facts(package.medication),
    )


def _order_facts(order: MedicationOrder) -> rules.OrderFacts:
    assessments = order_assessments_of(order)
    return rules.OrderFacts(
        id=order.pk,
        medication=medication_facts(order.medication),
        dose_value=order.dose_value,
        dose_unit=order.dose_unit,
        route=order.route,
        status=order.status,
        verified=order.verified_at is not None,
        start_at=order.start_at,
        stop_at=order.stop_at,
        is_prn=order.is_prn,
        prn_min_interval_minutes=order.prn_min_interval_minutes,
        prn_max_per_24h=order.prn_max_per_24h
        if order.prn_max_per_24h is None
        else Decimal(order.prn_max_per_24h),
        created_at=order.created_at,
        infusion_rate_ml_h=_decimal_or_none(order.infusion_rate_ml_h()),
        max_concurrent_bags=order.max_concurrent_bags or 1,
        assessments_needed=assessments.needed,
        hold_parameters=assessments.holds,
        hold_parameters_unreadable=assessments.unreadable,
        dose_per_kg=_decimal_or_none(order.dose_per_kg),
        max_dose_per_kg=_decimal_or_none(order.max_dose_per_kg),
        prn_indications=tuple(order.prn_indications_offered),
        schedule_kind=order.schedule_kind,
        verbal=order.is_verbal,
        cosigned=order.cosigned_at is not None,
        prescriber=order.prescriber_name,
    )


def order_assessments_of(order: MedicationOrder) -> OrderAssessments:
    """What the nurse measures before giving this order, and when it is held
    (pharmacy/assessments.py)."""
    return order_assessments(
        order.assessments_required, order.hold_parameters, analgesic=order.pain_score_asked
    )


def _decimal_or_none(value) -> Decimal | None:
    return None if value is None else Decimal(value)


def mar_get(*, patient: Patient, day) -> dict:
    """One patient's medication administration record for a local date, in a fixed number of
    queries: orders, that day's scheduled doses and administrations (with units and overrides)."""
    tz = timezone.get_default_timezone()
    start = datetime.combine(day, datetime.min.time(), tzinfo=tz)
    end = start + timedelta(days=1)
    admission = (
        Admission.objects.select_related("ward", "bed", "transferred_from", "transferred_from_bed")
        .filter(patient=patient, admitted_at__lt=end)
        .filter(Q(discharged_at__isnull=True) | Q(discharged_at__gte=start))
        .order_by("-admitted_at")
        .first()
    )
    orders = []
    administrations = []
    if admission is not None:
        orders = list(
            MedicationOrder.objects.filter(admission=admission)
            .select_related("medication__substance", "documented_by")
            .prefetch_related(
                Prefetch(
                    "scheduled_doses",
                    queryset=ScheduledDose.objects.filter(
                        due_at__gte=start, due_at__lt=end
                    ).order_by("due_at"),
                    to_attr="day_doses",
                )
            )
            .order_by("pk")
        )
        administrations = list(
            Administration.objects.filter(
                admission=admission, administered_at__gte=start, administered_at__lt=end
            )
            .select_related(
                "patient",
                "performer",
                "witness",
                "cosigner",
                "order__medication",
                "scheduled_dose",
                "corrects",
                "replaces",
            )
            .prefetch_related("units", "overrides", "assessments")
            .order_by("administered_at", "pk")
        )
    return {
        "patient": patient,
        "admission": admission,
        "orders": orders,
        "administrations": administrations,
        "day": day,
    }


def mar_order_flags(*, patient: Patient, orders: list[MedicationOrder], now: datetime) -> dict:
    """For the cart's dose list, per order id: the patient's allergies that the bedside ALLERGY
    rule matches to the order's medication, and for a PRN order its last counting dose and the
    next moment a dose is allowed (rules.prn_next_allowed) and whether that is now. Two queries,
    whatever the orders."""
    allergies = [
        rules.AllergyFacts(code=a.allergen_code, name=a.allergen_name, severity=a.severity)
        for a in Allergy.objects.filter(patient=patient).order_by("pk")
    ]
    prn_orders = [o for o in orders if o.is_prn]
    prior = []
    if prn_orders:
        lookback = max(
            [PRN_LOOKBACK]
            + [timedelta(minutes=o.prn_min_interval_minutes or 0) for o in prn_orders]
        )
        prior = [
            rules.PriorDose(order_id=order_id, administered_at=at, amount=amount, unit=unit)
            for order_id, at, amount, unit in fast_sql.prior_given(
                order_ids=[o.pk for o in prn_orders], since=now - lookback
            )
        ]
    flags = {}
    for order in orders:
        entry = {
            "allergies": rules.allergies_matching(allergies, medication_facts(order.medication))
        }
        if order.is_prn:
            mine = [p for p in prior if p.order_id == order.pk]
            entry["last_given_at"] = max((p.administered_at for p in mine), default=None)
            entry["last_doses"] = sorted(
                (p for p in mine if p.administered_at > now - timedelta(hours=24)),
                key=lambda p: p.administered_at,
                reverse=True,
            )[:PRN_LAST_DOSES_SHOWN]
            allowed = rules.prn_next_allowed(_order_facts(order), mine, now)
            entry["next_allowed_at"] = allowed
            # judged by the server's clock: a cart's clock running ahead must not read "now"
            entry["allowed_now"] = allowed is not None and allowed <= now
        flags[order.pk] = entry
    return flags


def administration_list_recent(*, patient: Patient, since: datetime):
    """The patient's records since `since` (given, not given, entered in error), newest first."""
    return (
        Administration.objects.filter(patient=patient, administered_at__gte=since)
        .select_related("order__medication", "performer", "scheduled_dose")
        .order_by("-administered_at", "-pk")
    )


def dose_list_due_for_ward(
    *, ward, now: datetime, hours_ahead: int = 4, hours_back: int = 24
) -> list[dict]:
    """Open scheduled doses of the ward's admitted patients from `hours_back` ago to `hours_ahead`,
    each classed as upcoming, due (inside the ward's window), overdue (past the window, under
    4 hours) or missed (older), in one query.

    Only doses that are (or were) due: under an active order verified by the time the dose fell
    due, for a living patient whose admission is open. A pending, held, stopped or late-verified
    order's doses, and a deceased patient's, are nobody's to give and never "missed". A one-time
    order's dose is due at the order's start, before anyone could verify it (a STAT dose above
    all; a verbal STAT order is active before verification): it counts once the order is
    active."""
    doses = (
        ScheduledDose.objects.filter(
            Q(order__verified_at__lte=F("due_at")) | Q(order__schedule_kind__in=ONE_TIME_KINDS),
            order__admission__ward=ward,
            order__admission__discharged_at__isnull=True,
            order__admission__patient__deceased_at__isnull=True,
            order__status=OrderStatus.ACTIVE,
            state=DoseState.SCHEDULED,
            due_at__gte=now - timedelta(hours=hours_back),
            due_at__lte=now + timedelta(hours=hours_ahead),
        )
        .select_related("order__medication", "order__admission__patient", "order__admission__bed")
        .order_by("due_at", "pk")
    )
    with _planned_for_these_values():
        doses = list(doses)
    return [{"dose": dose, "status": dose_timing(dose, ward=ward, now=now)} for dose in doses]


class WorklistKind:
    """What a worklist row asks of the nurse: a dose, a patch due off, a bag due to end, or a PRN
    dose's effect to reassess (scanning.reassessments.reassessments_due; `detail` is the reason
    the dose was given for)."""

    DOSE = "dose"
    REMOVAL = "removal"  # a patch, ring or implant due off
    BAG_END = "bag_end"  # an infusion bag due to end at its present rate
    REASSESSMENT = "reassessment"
    CHOICES = (DOSE, REMOVAL, BAG_END, REASSESSMENT)


class WorklistPending:
    """What a row needs besides the nurse: a second nurse at the bedside (WITNESS_REQUIRED for a
    high-alert drug), a witness for any waste of a controlled drug, or values measured before
    giving (the order's assessments and hold parameters)."""

    WITNESS = "witness"
    CONTROLLED = "controlled"
    MEASURE = "measure"
    CHOICES = (WITNESS, CONTROLLED, MEASURE)


@dataclass(frozen=True)
class WorklistRow:
    kind: str  # WorklistKind
    due_at: datetime
    overdue: bool  # past the ward's window for a dose; past its time for a removal or a bag
    patient: Patient
    mrn: str  # hers at this ward's hospital (the admission's)
    bed: Bed | None
    order: MedicationOrder  # with medication
    status: str = ""  # a dose's timing (dose_timing): due, overdue or missed
    detail: str = ""  # a patch's site, a bag's line
    pending: tuple[str, ...] = ()  # WorklistPending


def ward_worklist(*, ward, now: datetime, hours_before: int, hours_ahead: int) -> list[WorklistRow]:
    """The cart's ward worklist before a wristband is scanned: the ward's open doses due from
    `hours_before` ago to `hours_ahead` (both ends inside), as the due list counts them
    (`dose_list_due_for_ward`: active, verified, open admission, living patient, not given), with
    the patches due off and the bags due to end by then. Overdue first, then by due time. A fixed
    number of queries, whatever the number of patients."""
    until = now + timedelta(hours=hours_ahead)
    rows = []
    for item in dose_list_due_for_ward(
        ward=ward, now=now, hours_ahead=hours_ahead, hours_back=hours_before
    ):
        dose = item["dose"]
        medication = dose.order.medication
        pending = []
        if medication.high_alert:
            pending.append(WorklistPending.WITNESS)
        if medication.controlled:
            pending.append(WorklistPending.CONTROLLED)
        measure = order_assessments_of(dose.order)
        if measure.needed or measure.unreadable:
            pending.append(WorklistPending.MEASURE)
        rows.append(
            WorklistRow(
                kind=WorklistKind.DOSE,
                due_at=dose.due_at,
                overdue=item["status"] in ("overdue", "missed"),
                patient=dose.order.admission.patient,
                mrn=dose.order.admission.mrn,
                bed=dose.order.admission.bed,
                order=dose.order,
                status=item["status"],
                pending=tuple(pending),
            )
        )
    for record, due in removals_due(ward_ids=[ward.pk], until=until):
        rows.append(
            WorklistRow(
                kind=WorklistKind.REMOVAL,
                due_at=due,
                overdue=due <= now,
                patient=record.patient,
                mrn=record.admission.mrn,
                bed=record.admission.bed,
                order=record.order,
                detail=record.site,
            )
        )
    for item in reassessments_due(now=now, until=until, ward_ids=[ward.pk]):
        record = item.record
        rows.append(
            WorklistRow(
                kind=WorklistKind.REASSESSMENT,
                due_at=item.due_at,
                overdue=item.overdue(now),
                patient=record.patient,
                mrn=record.admission.mrn,
                bed=record.admission.bed,
                order=record.order,
                detail=record.prn_reason,
            )
        )
    open_admissions = Admission.objects.filter(ward=ward, discharged_at__isnull=True)
    for bag, end in bags_ending(admission_ids=open_admissions.values("pk"), now=now, until=until):
        rows.append(
            WorklistRow(
                kind=WorklistKind.BAG_END,
                due_at=end,
                overdue=end <= now,
                patient=bag.administration.patient,
                mrn=bag.administration.admission.mrn,
                bed=bag.administration.admission.bed,
                order=bag.administration.order,
                detail=bag.line,
            )
        )
    rows.sort(
        key=lambda row: (not row.overdue, row.due_at, row.bed.code if row.bed else "", row.kind)
    )
    return rows


@contextmanager
def _planned_for_these_values():
    """Plan the statements inside for their parameter values. A prepared statement's generic plan
    cannot see how narrow the due list's time window is: measured at 10 k administrations it
    read 22.6 ms against 14.2 ms (docs/benchmarks.md). SET LOCAL lasts to the end of the
    transaction, so inside a caller's transaction it is reset afterwards."""
    if connection.vendor != "postgresql":
        yield
        return
    nested = connection.in_atomic_block
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        yield
        if nested:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL plan_cache_mode = DEFAULT")


def dose_timing(dose: ScheduledDose, *, ward, now: datetime) -> str:
    """given / not_given / cancelled by its state; otherwise upcoming, due (inside the ward's
    window, narrower for time-critical drugs), overdue (up to 4 h past it) or missed."""
    if dose.state != DoseState.SCHEDULED:
        return dose.state
    kind = dose.order.schedule_kind
    if kind == ScheduleKind.ON_CALL:  # no time until the ward is called: due from its start
        return "upcoming" if dose.due_at > now else "due"
    window = timedelta(
        minutes=settings.STAT_WINDOW_MINUTES
        if kind == ScheduleKind.STAT
        else ward.time_critical_window_minutes
        if dose.order.medication.time_critical
        else ward.window_minutes
    )
    if dose.due_at > now + window:
        return "upcoming"
    if dose.due_at >= now - window:
        return "due"
    if dose.due_at >= now - window - OVERDUE_BEFORE_MISSED:
        return "overdue"
    return "missed"


def lot_recipients_list(*, gtin: str, lot: str):
    """Every administration that used units of this GTIN and lot, newest first, with the patient,
    ward and nurse: the people a pharmacist must follow up after a recall. Withdrawn records
    are included (the medication may still have been given) and marked by their status."""
    # with the hospital's repackaged unit doses of that lot (see _used_serials_and_recalled_lots)
    recalled_units = Q(units__gtin=gtin, units__lot=lot) | Q(
        units__lot=lot,
        units__package__hospital_repackaged=True,
        units__package__medication__packages__gtin=gtin,
    )
    return (
        Administration.objects.filter(recalled_units)
        .select_related("patient", "admission__ward", "admission__bed", "performer", "correction")
        .distinct()
        .order_by("-administered_at")
    )


def replacement_facts_build(
    *, original: Administration, amount: Quantity
) -> rules.ReplacementFacts:
    """The facts of `rules.check_replacement` for a correction of `original` to `amount`: the
    units of the record (or of the record it replaced, for a replacement, which has none of its
    own), and the order's other counting doses before it."""
    record = original
    units = list(record.units.select_related("package__medication__substance"))
    for _hop in range(20):  # a chain of replacements leads back to the scanned record
        if units or record.replaces_id is None:
            break
        record = Administration.objects.get(pk=record.replaces_id)
        units = list(record.units.select_related("package__medication__substance"))
    order = MedicationOrder.objects.select_related("medication__substance").get(
        pk=original.order_id
    )
    prior: tuple[rules.PriorDose, ...] = ()
    if order.is_prn:
        lookback = max(PRN_LOOKBACK, timedelta(minutes=order.prn_min_interval_minutes or 0))
        prior = tuple(
            rules.PriorDose(
                order_id=row.order_id,
                administered_at=row.administered_at,
                amount=row.amount,
                unit=row.unit,
            )
            for row in Administration.objects.filter(order_id=order.pk)
            .counting_given()
            .exclude(pk=original.pk)
            .filter(
                administered_at__gte=original.administered_at - lookback,
                administered_at__lt=original.administered_at,
            )
        )
    order_facts = _order_facts(order)
    weight_kg = original.patient.weight_kg if order.dose_per_kg is not None else None
    if weight_kg is not None:
        order_facts = rules.weight.dosed_for_weight(order_facts, weight_kg)
    return rules.ReplacementFacts(
        now=original.administered_at,
        tz=timezone.get_default_timezone(),
        order=order_facts,
        units=tuple(
            rules.ScannedUnit(
                kind="medication",
                gtin=unit.gtin,
                lot=unit.lot or None,
                serial=unit.serial or None,
                expiry=unit.expiry,
                keyed=not unit.scanned,
                product=_product_facts(unit.package),
            )
            for unit in units
        ),
        prior_doses=prior,
        amount=amount,
    )


def checks_unrecorded(
    *,
    now: datetime,
    older_than: timedelta,
    lookback: timedelta,
    ward=None,
    performer=None,
):
    """Checks that said GO or WARN for a dose and that nothing followed: no record of that dose
    (given or not given) since, no newer check of it (by anyone) and no acknowledgement. The
    nurse believes she charted a dose that is on no record: "scanned but not recorded". Only
    checks at least `older_than` old (a nurse may still be recording) and at most `lookback`;
    of one ward or one nurse. Oldest first, in one query."""
    # A PRN check has no scheduled dose: its order is "the dose".
    same_dose = Q(scheduled_dose_id=OuterRef("checked_dose__scheduled_dose_id")) | Q(
        scheduled_dose__isnull=True
    )
    newer_check = CheckedDose.objects.filter(
        same_dose,
        order_id=OuterRef("checked_dose__order_id"),
        checked_at__gt=OuterRef("created_at"),
    )
    record_since = Administration.objects.filter(
        same_dose,
        order_id=OuterRef("checked_dose__order_id"),
        created_at__gte=OuterRef("created_at"),
        status__in=(AdministrationStatus.COMPLETED, AdministrationStatus.NOT_DONE),
    )
    events = ScanEvent.objects.filter(
        purpose=ScanPurpose.CHECK,
        verdict__in=("go", "warn"),
        created_at__gte=now - lookback,
        created_at__lte=now - older_than,
        checked_dose__isnull=False,
        unrecorded_acknowledgement__isnull=True,
    )
    if ward is not None:
        events = events.filter(ward=ward)
    if performer is not None:
        events = events.filter(performer=performer)
    return list(
        events.exclude(Exists(newer_check))
        .exclude(Exists(record_since))
        .select_related(
            "performer",
            "patient",
            "checked_dose__order__medication",
            "checked_dose__order__admission__bed",
            "checked_dose__scheduled_dose",
        )
        .order_by("created_at", "pk")
    )
