"""Reads for the pharmacy site: the verification queue, an order under review, lot recipients."""

from dataclasses import dataclass
from uuid import UUID

from django.db.models import Prefetch, Q, QuerySet

import gs1
from pharmacy import allergy as matcher
from pharmacy.models import MedicationOrder, OrderStatus, Package
from wards.models import Allergy

LIVE_STATUSES = (OrderStatus.PENDING_VERIFICATION, OrderStatus.ACTIVE, OrderStatus.ON_HOLD)


def order_list_awaiting_verification(*, ward_code: str | None = None) -> QuerySet[MedicationOrder]:
    """Orders a pharmacist has not yet verified, oldest first (the order in which they came in),
    with everything the queue shows on one line."""
    orders = (
        MedicationOrder.objects.filter(
            # a verbal STAT order is active before verification, and verified all the same
            Q(status=OrderStatus.PENDING_VERIFICATION)
            | Q(status=OrderStatus.ACTIVE, verified_at__isnull=True),
            admission__discharged_at__isnull=True,
        )
        .select_related(
            "admission__patient", "admission__ward", "admission__bed", "medication__substance"
        )
        .prefetch_related(
            Prefetch("admission__patient__allergies", queryset=Allergy.objects.order_by("pk"))
        )
        .order_by("created_at", "pk")
    )
    if ward_code:
        orders = orders.filter(admission__ward__code=ward_code)
    return orders


def allergy_matches(order: MedicationOrder, allergies) -> list[Allergy]:
    """The patient's allergies that name this order's substance or its allergy class, matched by
    pharmacy.allergy, the matcher of the bedside's ALLERGY rule."""
    substance = order.medication.substance
    return matcher.allergies_matching(
        allergies,
        code_of=lambda allergy: allergy.allergen_code,
        substance_code=substance.code,
        allergy_class_code=substance.allergy_class_code,
    )


@dataclass(frozen=True)
class OrderReview:
    order: MedicationOrder
    allergies: list[Allergy]
    matching_allergies: list[Allergy]
    other_orders: list[MedicationOrder]
    # Other live orders for the same substance or allergy class: a duplicate or a double dose.
    overlapping_orders: list[MedicationOrder]
    history: list
    next_in_queue: UUID | None


def order_review_get(*, order_id, ward_code: str | None = None) -> OrderReview:
    order = (
        MedicationOrder.objects.select_related(
            "admission__patient",
            "admission__ward",
            "admission__bed",
            "medication__substance",
            "verified_by",
            "status_changed_by",
            "allergy_acknowledgement__acknowledged_by",
        )
        .prefetch_related("medication__packages")
        .get(external_id=order_id)
    )
    allergies = list(order.admission.patient.allergies.order_by("allergen_name"))
    others = list(
        MedicationOrder.objects.filter(admission=order.admission, status__in=LIVE_STATUSES)
        .exclude(pk=order.pk)
        .select_related("medication__substance")
        .order_by("medication__name", "start_at")
    )
    substance = order.medication.substance
    overlapping = [
        other
        for other in others
        if other.medication.substance_id == substance.pk
        or (
            substance.allergy_class_code
            and other.medication.substance.allergy_class_code == substance.allergy_class_code
        )
    ]
    history = list(
        order.history.select_related("history_user").order_by("-history_date", "-history_id")[:50]
    )
    next_order = (
        order_list_awaiting_verification(ward_code=ward_code)
        .exclude(pk=order.pk)
        .values_list("external_id", flat=True)
        .first()
    )
    return OrderReview(
        order=order,
        allergies=allergies,
        matching_allergies=allergy_matches(order, allergies),
        other_orders=others,
        overlapping_orders=overlapping,
        history=history,
        next_in_queue=next_order,
    )


def scanned_gtin_and_lot(text: str) -> tuple[str, str] | None:
    """A pharmacist's scan into a search box: the GTIN (and lot, if the code carries one) of a
    medication barcode, or None when the text is not a medication code."""
    parsed = gs1.parse_scan(text)
    if parsed.kind != "medication" or parsed.payload is None:
        return None
    return parsed.payload.gtin, parsed.payload.lot or ""


def package_q_for_search(text: str, *, prefix: str = "") -> Q | None:
    """A filter on packages (under `prefix`, e.g. "packages__") for a scanned or typed GTIN."""
    found = scanned_gtin_and_lot(text)
    if found is None:
        return None
    return Q(**{f"{prefix}gtin": found[0]})


def package_get_by_gtin(gtin: str) -> Package | None:
    return Package.objects.select_related("medication").filter(gtin=gtin).first()


def verbal_orders_unsigned(*, ward_code: str | None = None) -> QuerySet[MedicationOrder]:
    """Verbal and telephone orders the prescriber has not co-signed, oldest first, on open
    admissions: what the pharmacy's co-sign page lists and the report counts."""
    orders = (
        MedicationOrder.objects.filter(cosigned_at__isnull=True)
        .exclude(verbal_kind="")
        .select_related(
            "admission__patient",
            "admission__ward",
            "admission__bed",
            "medication",
            "documented_by",
        )
        .order_by("created_at", "pk")
    )
    if ward_code:
        orders = orders.filter(admission__ward__code=ward_code)
    return orders
