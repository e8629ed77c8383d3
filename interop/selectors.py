"""Reads for interop: administration records as snapshots, in a fixed number of queries."""

from dataclasses import dataclass, replace
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import translation

from interop.fhir import BAG_STATUS
from interop.models import Destination, OutboundMessage, OutboundState
from interop.snapshot import (
    AdministrationSnapshot,
    Encounter,
    InfusionState,
    Measurement,
    Order,
    Patient,
    RemovalNote,
    Staff,
    Unit,
    WasteSnapshot,
    Withdrawal,
)
from pharmacy.models import MedicationOrder, ScheduleKind
from scanning.models import (
    AdministeredUnit,
    Administration,
    AdministrationStatus,
    CorrectionReason,
    InfusionEvent,
    NotGivenReason,
    Override,
    WasteReason,
    withdrawn_q,
)
from scanning.rules import OVERRIDE_REASON_LABELS
from scanning.rules.infusion import bag_life
from wards.models import Admission
from wards.models import Patient as PatientRow

# The override findings whose reason says why a dose was partial.
PARTIAL_FINDINGS = ("DOSE_INCOMPLETE", "PARTIAL_UNIT")

# The record's own relations in one query; what a correction points at in a second, only when
# there is one. (One 19-table join instead plans slowly on PostgreSQL, tens of ms with a LIMIT.)
_RELATIONS = (
    "patient",
    "admission__ward__hospital",
    "admission__bed",
    "order__medication",
    "performer",
    "witness",
    "cosigner",
    "replaces",
)


def administration_number() -> Subquery:
    """RXA-2: how many of the order's records, withdrawals aside, were written up to this one
    (its place among the order's administrations, from 1). The bedside locks the order's rows
    while it records, so the numbers of one order are written in key order and never change."""
    return Coalesce(
        Subquery(
            Administration.objects.filter(order_id=OuterRef("order_id"), pk__lte=OuterRef("pk"))
            .exclude(status=AdministrationStatus.ENTERED_IN_ERROR)
            .order_by()
            .values("order_id")
            .annotate(number=Count("pk"))
            .values("number"),
            output_field=IntegerField(),
        ),
        1,
    )


def administrations_for_snapshots() -> QuerySet:
    corrected = (
        Administration.objects.select_related(*_RELATIONS)
        .prefetch_related("units", "overrides", "assessments", "replaces__units")
        .annotate(number=administration_number())
    )
    return (
        Administration.objects.select_related(
            *_RELATIONS, "correction", "removal__performer", "waste__performer", "waste__witness"
        )
        .prefetch_related(
            "units",
            "overrides",
            "assessments",
            "replaces__units",
            Prefetch("corrects", queryset=corrected),
            Prefetch("infusion_events", queryset=InfusionEvent.objects.order_by("chain_seq", "pk")),
        )
        .annotate(number=administration_number())
        .order_by()
    )


def administration_snapshot(administration_id: int) -> AdministrationSnapshot:
    """The snapshot of one record as the database holds it now (constant queries: the row, its
    units, overrides and bag events; the corrected record's too for a correction)."""
    rows = list(administrations_for_snapshots().filter(pk=administration_id))
    if not rows:
        raise Administration.DoesNotExist(administration_id)
    return snapshot_from_row(rows[0])


def administrations_with_fhir_status(codes: frozenset[str]) -> Q:
    """Records whose FHIR status is one of `codes`: a record withdrawn by a later entered-in-error
    record reads as entered-in-error, whatever it was."""
    withdrawn = withdrawn_q()
    condition = Q(pk__in=[])
    given = Q(status=AdministrationStatus.COMPLETED) & ~withdrawn
    # A hung bag reads as its latest event says (interop.fhir.BAG_STATUS).
    latest = InfusionEvent.objects.filter(
        pk=Subquery(
            InfusionEvent.objects.filter(administration=OuterRef("administration"))
            .order_by("-chain_seq")
            .values("pk")[:1]
        )
    )
    bags = InfusionEvent.objects.values("administration_id")
    for code in sorted(codes & set(BAG_STATUS.values()) - {"completed"}):
        kinds = [kind for kind, status in BAG_STATUS.items() if status == code]
        condition |= given & Q(pk__in=latest.filter(kind__in=kinds).values("administration_id"))
    if "completed" in codes:
        condition |= given & ~Q(pk__in=bags) | given & Q(
            pk__in=latest.filter(kind="completed").values("administration_id")
        )
    if "not-done" in codes:
        condition |= Q(status=AdministrationStatus.NOT_DONE) & ~withdrawn
    if "entered-in-error" in codes:
        condition |= Q(status=AdministrationStatus.ENTERED_IN_ERROR) | withdrawn
    return condition


def administration_snapshots_search(
    *,
    patient_id: int | None = None,
    record_ids: frozenset | None = None,
    wards: QuerySet | None = None,
    statuses: frozenset[str] | None = None,
    occurred_from: datetime | None = None,
    occurred_before: datetime | None = None,
    offset: int = 0,
    count: int = 50,
) -> tuple[int, list[AdministrationSnapshot]]:
    """Records by time given, oldest first: (total, one page) in 9 queries at most. By patient,
    by id (`_id`) or both; `statuses` are FHIR status codes. `wards` (None: all) limits the
    records to those made on these wards, in the query, so that the total counts only them."""
    queryset = Administration.objects.all()
    if wards is not None:
        queryset = queryset.filter(admission__ward__in=wards.values("pk"))
    if patient_id is not None:
        queryset = queryset.filter(patient_id=patient_id)
    if record_ids is not None:
        queryset = queryset.filter(external_id__in=record_ids)
    if statuses is not None:
        queryset = queryset.filter(administrations_with_fhir_status(statuses))
    if occurred_from is not None:
        queryset = queryset.filter(administered_at__gte=occurred_from)
    if occurred_before is not None:
        queryset = queryset.filter(administered_at__lt=occurred_before)
    total = queryset.count()
    if count == 0:
        return total, []
    page = list(
        queryset.order_by("administered_at", "created_at", "pk").values_list("pk", flat=True)[
            offset : offset + count
        ]
    )
    rows = {row.pk: row for row in administrations_for_snapshots().filter(pk__in=page)}
    return total, [snapshot_from_row(rows[pk]) for pk in page]


def _label(status: str, reason: str) -> str:
    choices = NotGivenReason if status == AdministrationStatus.NOT_DONE else CorrectionReason
    try:
        label = choices(reason).label
    except ValueError:
        return reason
    with translation.override(settings.LANGUAGE_CODE):
        return str(label)


def _waste(row: Administration) -> WasteSnapshot | None:
    """The record's waste when it was read with it (select_related) or written with it; never a
    query of its own (a record read otherwise goes out without it)."""
    if not Administration.waste.is_cached(row):
        return None
    try:
        waste = row.waste
    except ObjectDoesNotExist:
        return None
    try:
        label = WasteReason(waste.reason).label
    except ValueError:
        label = waste.reason
    with translation.override(settings.LANGUAGE_CODE):
        label = str(label)
    return WasteSnapshot(
        amount=waste.amount,
        unit=waste.unit,
        reason=waste.reason,
        reason_label=label,
        wasted_at=waste.wasted_at,
        performer=_staff(waste.performer),
        witness=_staff(waste.witness),
    )


def _staff(user) -> Staff | None:
    if user is None:
        return None
    return Staff(username=user.username, family_name=user.last_name, given_name=user.first_name)


def snapshot_from_row(row: Administration) -> AdministrationSnapshot:
    """Map a row fetched with `administrations_for_snapshots()` (no further queries, but for a
    replacement of a replacement)."""
    try:
        correction = row.correction
    except ObjectDoesNotExist:
        correction = None
    rows = [row, row.corrects] if row.corrects_id else [row]
    facts = {
        record.pk: _Facts(
            units=_units_or_replaced(record, list(record.units.all())),
            partial=_partial_override(list(record.overrides.all())),
            number=record.number,
        )
        for record in rows
    }
    snapshot = _snapshot(row, facts=facts, correction=correction)
    events = list(row.infusion_events.all())
    if events and row.status == AdministrationStatus.COMPLETED:
        # A bag reads as its life stands now: running, paused or taken down.
        return replace(snapshot, infusion=_bag_state(events))
    try:
        removal = row.removal
    except ObjectDoesNotExist:
        return snapshot
    # A patch taken off: FHIR shows the administration's period, from applied to removed.
    return replace(
        snapshot,
        removed=RemovalNote(
            id=removal.external_id,
            removed_at=removal.removed_at,
            recorded_at=removal.created_at,
            performer=_staff(removal.performer),
            site=removal.site,
            scanned=removal.scanned,
        ),
    )


def snapshot_of_new_record(administration: Administration) -> AdministrationSnapshot:
    """The snapshot of a record being written, for the outbox, inside the recording transaction.

    The services hand over the instance they saved, with the patient, admission, order and staff
    already loaded; reading them from there (and only the units, overrides and the record's
    number from the database) keeps the bedside record fast. A new record cannot have been
    withdrawn yet."""
    rows = [administration]
    if administration.corrects_id:
        rows.append(administration.corrects)
    wanted = [row.pk for row in rows]
    units: dict[int, list[AdministeredUnit]] = {pk: [] for pk in wanted}
    for unit in AdministeredUnit.objects.filter(administration_id__in=wanted).order_by("pk"):
        units[unit.administration_id].append(unit)
    overrides: dict[int, list[Override]] = {pk: [] for pk in wanted}
    if any(row.is_partial for row in rows):
        for override in Override.objects.filter(
            administration_id__in=wanted, finding_code__in=PARTIAL_FINDINGS
        ):
            overrides[override.administration_id].append(override)
    numbers = dict(
        Administration.objects.filter(pk__in=wanted)
        .annotate(number=administration_number())
        .values_list("pk", "number")
    )
    facts = {
        row.pk: _Facts(
            units=_units_or_replaced(row, units[row.pk]),
            partial=_partial_override(overrides[row.pk]),
            number=numbers[row.pk],
        )
        for row in rows
    }
    snapshot = _snapshot(administration, facts=facts, correction=None)
    started = (
        InfusionEvent.objects.filter(administration=administration, kind="started").first()
        if administration.status == AdministrationStatus.COMPLETED
        else None
    )
    return replace(snapshot, infusion=infusion_state(started)) if started else snapshot


def infusion_state(event: InfusionEvent) -> InfusionState:
    """The bag as of `event` (its life up to and including it), for the message that tells it."""
    return _bag_state(
        list(
            InfusionEvent.objects.filter(
                administration_id=event.administration_id, chain_seq__lte=event.chain_seq
            ).order_by("chain_seq")
        )
    )


def _bag_state(events: list[InfusionEvent]) -> InfusionState:
    """The bag as of the last of `events` (its life so far, oldest first)."""
    event = events[-1]
    life = bag_life([(e.kind, e.at, e.rate_ml_h) for e in events])
    return InfusionState(
        event_id=event.external_id,
        event=event.kind,
        at=event.at,
        started_at=life.started_at,
        line=events[0].line,
        rate_ml_h=life.rate_ml_h,
        ended_at=life.ended_at,
        volume_infused_ml=event.volume_infused_ml if life.ended_at is not None else None,
    )


@dataclass(frozen=True)
class _Facts:
    """What a record's snapshot needs beyond its row and the rows it joins."""

    units: list
    partial: Override | None
    number: int


def _units_or_replaced(row: Administration, units: list) -> list:
    """A replacement written by a correction has no units of its own: it is the same dose, the
    same packages, recorded again with the right amount. Its units are those of the record it
    replaces (and so on up a chain of corrections), so its GTIN, lot and expiry still go out."""
    seen = set()
    while not units and row.replaces_id is not None and row.replaces_id not in seen:
        seen.add(row.replaces_id)
        row = row.replaces
        units = sorted(row.units.all(), key=lambda unit: unit.pk)
    return units


def _partial_override(overrides: list) -> Override | None:
    found = [o for o in overrides if o.finding_code in PARTIAL_FINDINGS]
    return min(found, key=lambda o: PARTIAL_FINDINGS.index(o.finding_code)) if found else None


def _override_label(reason: str) -> str:
    vietnamese, english = OVERRIDE_REASON_LABELS.get(reason, (reason, reason))
    return vietnamese if settings.LANGUAGE_CODE.startswith("vi") else english


def patient_snapshot(patient: PatientRow, *, mrn: str = "") -> Patient:
    """`mrn`: her number at the hospital the record was made in (its admission's), which goes out
    under that hospital's name; without one, the number she was registered with."""
    return Patient(
        id=patient.external_id,
        mrn=mrn or patient.mrn,
        full_name=patient.full_name,
        date_of_birth=patient.date_of_birth,
        sex=patient.sex,
        national_id=patient.national_id,
        health_insurance_number=patient.health_insurance_number,
        deceased_at=patient.deceased_at,
    )


def _snapshot(row: Administration, *, facts: dict, correction) -> AdministrationSnapshot:
    admission = row.admission
    order = row.order
    own = facts[row.pk]
    withdrawn_by = None
    if correction is not None:
        withdrawn_by = Withdrawal(
            id=correction.external_id,
            reason=correction.reason,
            reason_label=_label(correction.status, correction.reason),
            recorded_at=correction.created_at,
        )
    return AdministrationSnapshot(
        id=row.external_id,
        status=row.status,
        administered_at=row.administered_at,
        recorded_at=row.created_at,
        patient=patient_snapshot(row.patient, mrn=admission.mrn),
        encounter_id=admission.external_id,
        ward_code=admission.ward.code,
        ward_name=admission.ward.name,
        hl7_facility=admission.ward.hospital.hl7_facility,
        bed_code=admission.bed.code if admission.bed_id else "",
        order_id=order.external_id,
        medication_code=order.medication.code,
        medication_name=order.medication.name,
        order_route=order.route,
        order_dose_unit=order.dose_unit,
        performer=_staff(row.performer),
        amount=row.amount,
        unit=row.unit,
        route=row.route,
        site=row.site,
        is_partial=row.is_partial,
        reason=row.reason,
        reason_label=_label(row.status, row.reason) if row.reason else "",
        comment=row.comment,
        witness=_staff(row.witness),
        cosigner=_staff(row.cosigner) if row.cosigner_id else None,
        placer_order_number=order.placer_order_number,
        filler_order_number=order.filler_order_number,
        visit_number=admission.visit_number,
        administration_number=own.number,
        # The indication the nurse gave the dose for (one of the order's); a record written before
        # doses named theirs carries the order's own indication, as it always went out.
        prn_indication=(row.prn_reason or order.prn_indication)
        if order.schedule_kind == ScheduleKind.PRN
        else "",
        partial_reason=own.partial.reason if own.partial is not None else "",
        partial_reason_label=_override_label(own.partial.reason) if own.partial else "",
        units=tuple(
            Unit(
                gtin=unit.gtin,
                lot=unit.lot,
                expiry=unit.expiry,
                serial=unit.serial,
                scanned=unit.scanned,
            )
            for unit in sorted(own.units, key=lambda unit: unit.pk)
        ),
        corrects=_snapshot(row.corrects, facts=facts, correction=None) if row.corrects_id else None,
        replaces_id=row.replaces.external_id if row.replaces_id else None,
        withdrawn_by=withdrawn_by,
        waste=_waste(row),
        assessments=tuple(
            Measurement(id=value.external_id, kind=value.kind, value=value.value, unit=value.unit)
            for value in sorted(row.recorded_assessments, key=lambda value: value.pk or 0)
        ),
    )


def encounter_get(external_id) -> tuple[Encounter, int, int] | None:
    """An admission as FHIR sees it, with its patient's and ward's keys for the access check."""
    admission = (
        Admission.objects.select_related("patient", "ward__hospital", "bed")
        .filter(external_id=external_id)
        .first()
    )
    if admission is None:
        return None
    encounter = Encounter(
        id=admission.external_id,
        patient=patient_snapshot(admission.patient, mrn=admission.mrn),
        ward_code=admission.ward.code,
        ward_name=admission.ward.name,
        bed_code=admission.bed.code if admission.bed_id else "",
        admitted_at=admission.admitted_at,
        discharged_at=admission.discharged_at,
        visit_number=admission.visit_number,
        hospital_gln=admission.ward.hospital.gln,
        hospital_name=admission.ward.hospital.name,
    )
    return encounter, admission.patient_id, admission.ward_id


def order_get(external_id) -> tuple[Order, int, int] | None:
    """A medication order as FHIR sees it, with its patient's and ward's keys."""
    order = (
        MedicationOrder.objects.select_related("admission__patient", "medication")
        .filter(external_id=external_id)
        .first()
    )
    if order is None:
        return None
    admission = order.admission
    prn = order.schedule_kind == ScheduleKind.PRN
    snapshot = Order(
        id=order.external_id,
        patient=patient_snapshot(admission.patient, mrn=admission.mrn),
        encounter_id=admission.external_id,
        medication_code=order.medication.code,
        medication_name=order.medication.name,
        dose_value=order.dose_value,
        dose_unit=order.dose_unit,
        route=order.route,
        schedule_kind=order.schedule_kind,
        status=order.status,
        start_at=order.start_at,
        authored_at=order.created_at,
        prescriber_name=order.prescriber_name,
        times_of_day=tuple(order.times_of_day or ()),
        interval_hours=order.interval_hours,
        prn_indication=order.prn_indication if prn else "",
        prn_min_interval_minutes=order.prn_min_interval_minutes if prn else None,
        prn_max_per_24h=order.prn_max_per_24h if prn else None,
        stop_at=order.stop_at,
        instructions=order.instructions,
        status_reason=order.status_reason,
        placer_order_number=order.placer_order_number,
        filler_order_number=order.filler_order_number,
        visit_number=admission.visit_number,
    )
    return snapshot, admission.patient_id, admission.ward_id


def destinations_with_queue() -> QuerySet:
    return Destination.objects.annotate(
        pending_count=Count("messages", filter=Q(messages__state=OutboundState.PENDING)),
        dead_count=Count("messages", filter=Q(messages__state=OutboundState.DEAD)),
    )


def outbox_pending_count() -> int:
    return OutboundMessage.objects.filter(state=OutboundState.PENDING).count()
