"""Reads for printing. ``downtime_mar_get`` gathers one ward's paper MAR in a fixed number of
queries whatever the number of patients, orders or records.

It reads the bedside record (``scanning.Administration``), which is "upward" from pharmacy: the
print pages belong to the pharmacy site, and the last doses given are what a nurse most needs on
paper during an outage (a PRN opioid must not be repeated too soon).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import F, Prefetch, Q
from django.utils import timezone

from backoffice.printing.mar import (
    MarAllergy,
    MarDose,
    MarGiven,
    MarOrder,
    MarPatient,
    MarSheet,
)
from pharmacy.models import (
    DoseState,
    MedicationOrder,
    OrderStatus,
    ScheduledDose,
    ScheduleKind,
)
from pharmacy.selectors import allergy_matches
from scanning.models import Administration, AdministrationStatus, NotGivenReason
from scanning.selectors import OVERDUE_BEFORE_MISSED
from wards.models import Admission, Allergy, Ward

DOSES_AHEAD = timedelta(hours=24)
GIVEN_BACK = timedelta(hours=24)


def _amount(value: Decimal | None, unit_display: str) -> str:
    if value is None:
        return ""
    return f"{value.normalize():f} {unit_display}".strip()


def _order_dose(order: MedicationOrder) -> str:
    return _amount(order.dose_value, order.get_dose_unit_display())


def _route(code: str, display: str) -> str:
    return f"{code} ({display})" if code and display and display != code else code


def staff_display_name(user) -> str:
    """Family name first, as Vietnamese names are written (Django's get_full_name puts it last)."""
    if user is None:
        return ""
    return " ".join(part for part in (user.last_name, user.first_name) if part) or user.username


def _given(record: Administration) -> MarGiven:
    status = record.get_status_display()
    if record.status == AdministrationStatus.NOT_DONE and record.reason:
        reason = dict(NotGivenReason.choices).get(record.reason, record.reason)
        status = f"{status}: {reason}"
    if record.comment:
        status = f"{status} – {record.comment}"
    by = staff_display_name(record.performer)
    if record.witness_id:
        by = f"{by} / {staff_display_name(record.witness)}"
    return MarGiven(
        at=timezone.localtime(record.administered_at),
        medication=record.order.medication.name,
        dose=_amount(record.amount, record.get_unit_display()),
        route=_route(record.route, record.get_route_display()),
        status=status,
        by=by,
    )


def _allergy_names(order: MedicationOrder, allergies: list[Allergy]) -> tuple[str, ...]:
    return tuple(
        f"{allergy.allergen_name} ({allergy.get_severity_display()})"
        for allergy in allergy_matches(order, allergies)
    )


def _other_order(order: MedicationOrder, allergies: list[Allergy]) -> MarOrder:
    max_per_24h = ""
    if order.prn_max_per_24h is not None:
        max_per_24h = _amount(order.prn_max_per_24h, order.get_dose_unit_display())
    return MarOrder(
        medication=order.medication.name,
        dose=_order_dose(order),
        route=_route(order.route, order.get_route_display()),
        high_alert=order.medication.high_alert,
        indication=order.prn_indication,
        min_interval_minutes=order.prn_min_interval_minutes,
        max_per_24h=max_per_24h,
        reason=order.status_reason,
        allergies=_allergy_names(order, allergies),
    )


def downtime_mar_get(*, ward: Ward, now: datetime | None = None) -> MarSheet:
    """The ward's patients (open admissions, not deceased; by bed) with their allergies, the
    doses due from the oldest still overdue (window + 4 h before now) to 24 h ahead, their PRN and on-hold
    orders and what was given or documented as not given in the last 24 h. Five queries."""
    now = now or timezone.now()
    # As far back as the cart still shows a dose as overdue (not yet missed): a late dose must
    # not vanish from the paper sheet.
    doses_from = now - timedelta(minutes=ward.window_minutes) - OVERDUE_BEFORE_MISSED
    doses_until = now + DOSES_AHEAD
    given_since = now - GIVEN_BACK

    admissions = list(
        Admission.objects.filter(
            ward=ward, discharged_at__isnull=True, patient__deceased_at__isnull=True
        )
        .select_related("patient", "bed")
        .prefetch_related(
            Prefetch("patient__allergies", queryset=Allergy.objects.order_by("allergen_name"))
        )
        .order_by("bed__code", "patient__full_name", "pk")
    )
    ids = [admission.pk for admission in admissions]
    allergies = {admission.pk: list(admission.patient.allergies.all()) for admission in admissions}

    doses: dict[int, list[MarDose]] = defaultdict(list)
    for dose in (
        ScheduledDose.objects.filter(
            order__admission_id__in=ids,
            order__status=OrderStatus.ACTIVE,
            state=DoseState.SCHEDULED,
            due_at__gte=doses_from,
            due_at__lt=doses_until,
        )
        .filter(Q(order__stop_at__isnull=True) | Q(order__stop_at__gt=F("due_at")))
        .select_related("order__medication__substance")
        .order_by("due_at", "order__medication__name", "pk")
    ):
        order = dose.order
        doses[order.admission_id].append(
            MarDose(
                due_at=timezone.localtime(dose.due_at),
                medication=order.medication.name,
                dose=_order_dose(order),
                route=_route(order.route, order.get_route_display()),
                high_alert=order.medication.high_alert,
                time_critical=order.medication.time_critical,
                instructions=order.instructions,
                allergies=_allergy_names(order, allergies[order.admission_id]),
            )
        )

    prn: dict[int, list[MarOrder]] = defaultdict(list)
    held: dict[int, list[MarOrder]] = defaultdict(list)
    for order in (
        MedicationOrder.objects.filter(admission_id__in=ids)
        .filter(
            Q(status=OrderStatus.ACTIVE, schedule_kind=ScheduleKind.PRN)
            | Q(status=OrderStatus.ON_HOLD)
        )
        .filter(Q(stop_at__isnull=True) | Q(stop_at__gt=now), start_at__lt=doses_until)
        .select_related("medication__substance")
        .order_by("medication__name", "pk")
    ):
        target = held if order.status == OrderStatus.ON_HOLD else prn
        target[order.admission_id].append(_other_order(order, allergies[order.admission_id]))

    given: dict[int, list[MarGiven]] = defaultdict(list)
    for record in (
        # withdrawn as entered in error: never happened as far as the next nurse is concerned
        Administration.objects.still_counting()
        .filter(
            admission_id__in=ids,
            administered_at__gte=given_since,
            administered_at__lte=now,
        )
        .select_related("order__medication", "performer", "witness")
        .order_by("-administered_at", "-pk")
    ):
        given[record.admission_id].append(_given(record))

    patients = []
    for admission in admissions:
        patient = admission.patient
        patients.append(
            MarPatient(
                bed=admission.bed.code if admission.bed else "",
                full_name=patient.full_name,
                mrn=admission.mrn,
                date_of_birth=patient.date_of_birth,
                sex=patient.get_sex_display(),
                allergies=tuple(
                    MarAllergy(
                        name=allergy.allergen_name,
                        severity=allergy.get_severity_display(),
                        reaction=allergy.reaction,
                    )
                    for allergy in allergies[admission.pk]
                ),
                doses=tuple(doses[admission.pk]),
                prn_orders=tuple(prn[admission.pk]),
                held_orders=tuple(held[admission.pk]),
                given=tuple(given[admission.pk]),
            )
        )
    return MarSheet(
        ward_code=ward.code,
        ward_name=ward.name,
        printed_at=timezone.localtime(now),
        doses_from=timezone.localtime(doses_from),
        doses_until=timezone.localtime(doses_until),
        given_since=timezone.localtime(given_since),
        patients=tuple(patients),
        time_critical_window_minutes=ward.time_critical_window_minutes,
    )
