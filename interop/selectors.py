"""Reads for interop: administration records as snapshots, in a fixed number of queries."""

from datetime import datetime

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import translation

from interop.models import Destination, OutboundMessage, OutboundState
from interop.snapshot import (
    AdministrationSnapshot,
    Patient,
    Staff,
    Unit,
    Withdrawal,
)
from scanning.models import (
    AdministeredUnit,
    Administration,
    AdministrationStatus,
    CorrectionReason,
    NotGivenReason,
)

# The record's own relations in one query; what a correction points at in a second, only when
# there is one. (One 19-table join instead plans slowly on PostgreSQL, tens of ms with a LIMIT.)
_RELATIONS = (
    "patient",
    "admission__ward",
    "admission__bed",
    "order__medication",
    "performer",
    "witness",
    "replaces",
)


def administrations_for_snapshots() -> QuerySet:
    corrected = Administration.objects.select_related(*_RELATIONS).prefetch_related("units")
    return (
        Administration.objects.select_related(*_RELATIONS, "correction")
        .prefetch_related("units", Prefetch("corrects", queryset=corrected))
        .order_by()
    )


def administration_snapshot(administration_id: int) -> AdministrationSnapshot:
    """The snapshot of one record as the database holds it now (2 queries, 4 for a correction)."""
    rows = list(administrations_for_snapshots().filter(pk=administration_id))
    if not rows:
        raise Administration.DoesNotExist(administration_id)
    return snapshot_from_row(rows[0])


def administration_snapshots_search(
    *,
    patient_id: int,
    occurred_from: datetime | None = None,
    occurred_before: datetime | None = None,
    offset: int = 0,
    count: int = 50,
) -> tuple[int, list[AdministrationSnapshot]]:
    """A patient's records by time given, oldest first: (total, one page) in 6 queries at most."""
    queryset = Administration.objects.filter(patient_id=patient_id)
    if occurred_from is not None:
        queryset = queryset.filter(administered_at__gte=occurred_from)
    if occurred_before is not None:
        queryset = queryset.filter(administered_at__lt=occurred_before)
    total = queryset.count()
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


def _staff(user) -> Staff | None:
    if user is None:
        return None
    return Staff(username=user.username, family_name=user.last_name, given_name=user.first_name)


def snapshot_from_row(row: Administration) -> AdministrationSnapshot:
    """Map a row fetched with `administrations_for_snapshots()` (no further queries)."""
    try:
        correction = row.correction
    except ObjectDoesNotExist:
        correction = None
    units = {row.pk: list(row.units.all())}
    if row.corrects_id:
        units[row.corrects_id] = list(row.corrects.units.all())
    return _snapshot(row, units=units, correction=correction)


def snapshot_of_new_record(administration: Administration) -> AdministrationSnapshot:
    """The snapshot of a record being written, for the outbox, inside the recording transaction.

    The services hand over the instance they saved, with the patient, admission, order and staff
    already loaded; reading them from there (and only the units from the database) keeps the
    bedside record fast. A new record cannot have been withdrawn yet."""
    wanted = [pk for pk in (administration.pk, administration.corrects_id) if pk]
    units: dict[int, list[AdministeredUnit]] = {pk: [] for pk in wanted}
    for unit in AdministeredUnit.objects.filter(administration_id__in=wanted).order_by("pk"):
        units[unit.administration_id].append(unit)
    return _snapshot(administration, units=units, correction=None)


def _snapshot(row: Administration, *, units: dict, correction) -> AdministrationSnapshot:
    admission = row.admission
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
        patient=Patient(
            id=row.patient.external_id,
            mrn=row.patient.mrn,
            full_name=row.patient.full_name,
            date_of_birth=row.patient.date_of_birth,
            sex=row.patient.sex,
        ),
        encounter_id=admission.external_id,
        ward_code=admission.ward.code,
        ward_name=admission.ward.name,
        bed_code=admission.bed.code if admission.bed_id else "",
        order_id=row.order.external_id,
        medication_code=row.order.medication.code,
        medication_name=row.order.medication.name,
        order_route=row.order.route,
        order_dose_unit=row.order.dose_unit,
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
        units=tuple(
            Unit(
                gtin=unit.gtin,
                lot=unit.lot,
                expiry=unit.expiry,
                serial=unit.serial,
                scanned=unit.scanned,
            )
            for unit in sorted(units.get(row.pk, ()), key=lambda unit: unit.pk)
        ),
        corrects=_snapshot(row.corrects, units=units, correction=None) if row.corrects_id else None,
        replaces_id=row.replaces.external_id if row.replaces_id else None,
        withdrawn_by=withdrawn_by,
    )


def destinations_with_queue() -> QuerySet:
    return Destination.objects.annotate(
        pending_count=Count("messages", filter=Q(messages__state=OutboundState.PENDING)),
        dead_count=Count("messages", filter=Q(messages__state=OutboundState.DEAD)),
    )


def outbox_pending_count() -> int:
    return OutboundMessage.objects.filter(state=OutboundState.PENDING).count()
