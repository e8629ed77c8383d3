"""Writes for interop: queue a record for every subscribed destination, and re-queue by hand."""

from dataclasses import replace
from functools import cache

from django.db import transaction
from django.db.models import Field, Model, QuerySet
from django.utils import timezone

from hospital.sql import ModelColumns, fetchall, quote, table
from interop.hl7v2 import message_control_id
from interop.models import Destination, MessageType, OutboundMessage, OutboundState
from interop.selectors import administration_snapshot, infusion_state, snapshot_of_new_record
from interop.snapshot import RemovalNote, Staff, snapshot_to_json
from scanning.models import Administration, InfusionEvent, Removal, Waste
from wards.models import Admission, Ward


def outbox_enqueue_administration(*, administration: Administration) -> list[OutboundMessage]:
    """One RAS^O17 row per enabled destination that takes them. Called from the signal that the
    recording transaction sends, so the rows commit or roll back with the record."""
    destinations = _destinations(administration.pk)
    if not destinations:
        return []
    snapshot = snapshot_to_json(snapshot_of_new_record(administration))
    message_id = message_control_id(administration.external_id)
    prerequisites = _sent_before(administration, destinations)
    now = timezone.now()
    return OutboundMessage.objects.bulk_create(
        [
            OutboundMessage(
                destination=destination,
                administration=administration,
                message_type=MessageType.RAS_O17,
                message_id=message_id,
                snapshot=snapshot,
                depends_on=prerequisites.get(destination.pk),
                next_attempt_at=now,
            )
            for destination in destinations
        ]
    )


def outbox_enqueue_removal(*, removal: Removal) -> list[OutboundMessage]:
    """One RAS^O17 row per enabled destination for a patch, ring or implant taken off: the
    applying record as the database holds it, with its removal (interop.hl7v2 sends it as an
    update of that record), after the record's own message. In the removal's transaction."""
    destinations = _destinations(removal.administration_id)
    if not destinations:
        return []
    snapshot = administration_snapshot(removal.administration_id)
    snapshot = replace(
        snapshot,
        removed=RemovalNote(
            id=removal.external_id,
            removed_at=removal.removed_at,
            recorded_at=removal.created_at,
            performer=Staff(
                username=removal.performer.username,
                family_name=removal.performer.last_name,
                given_name=removal.performer.first_name,
            ),
            site=removal.site,
            scanned=removal.scanned,
        ),
    )
    applied = {
        message.destination_id: message
        for message in OutboundMessage.objects.filter(
            administration_id=removal.administration_id,
            removal__isnull=True,
            waste__isnull=True,
            destination__in=destinations,
            message_type=MessageType.RAS_O17,
        )
    }
    now = timezone.now()
    return OutboundMessage.objects.bulk_create(
        [
            OutboundMessage(
                destination=destination,
                administration_id=removal.administration_id,
                removal=removal,
                message_type=MessageType.RAS_O17,
                message_id=message_control_id(removal.external_id),
                snapshot=snapshot_to_json(snapshot),
                depends_on=applied.get(destination.pk),
                next_attempt_at=now,
            )
            for destination in destinations
        ]
    )


def outbox_enqueue_waste(*, waste: Waste) -> list[OutboundMessage]:
    """One RAS^O17 row per enabled destination for waste documented after the record (a waste
    written with the record went out in the record's own message): the record as the database
    holds it, with its waste (interop.hl7v2 sends it as an update of that record, under the
    waste's own MSH-10), after the record's own message. In the waste's transaction."""
    destinations = _destinations(waste.administration_id)
    if not destinations:
        return []
    snapshot = administration_snapshot(waste.administration_id)
    if snapshot.waste is None:  # read with the record in the same transaction: never
        raise Waste.DoesNotExist(waste.pk)
    snapshot = replace(
        snapshot,
        waste=replace(snapshot.waste, id=waste.external_id, recorded_at=waste.created_at),
    )
    applied = {
        message.destination_id: message
        for message in OutboundMessage.objects.filter(
            administration_id=waste.administration_id,
            removal__isnull=True,
            waste__isnull=True,
            infusion_event__isnull=True,
            destination__in=destinations,
            message_type=MessageType.RAS_O17,
        )
    }
    now = timezone.now()
    return OutboundMessage.objects.bulk_create(
        [
            OutboundMessage(
                destination=destination,
                administration_id=waste.administration_id,
                waste=waste,
                message_type=MessageType.RAS_O17,
                message_id=message_control_id(waste.external_id),
                snapshot=snapshot_to_json(snapshot),
                depends_on=applied.get(destination.pk),
                next_attempt_at=now,
            )
            for destination in destinations
        ]
    )


def outbox_enqueue_infusion_event(*, event: InfusionEvent) -> list[OutboundMessage]:
    """One RAS^O17 row per destination for a later event in a bag's life (rate changed, paused,
    resumed, completed, stopped): about the bag's administration, under the event's own message
    id, and sent only after the bag's previous message to that destination is settled."""
    destinations = _destinations(event.administration_id)
    if not destinations:
        return []
    administration = event.administration
    snapshot = replace(snapshot_of_new_record(administration), id=administration.external_id)
    snapshot = replace(snapshot, infusion=infusion_state(event))
    previous = {}
    for message in OutboundMessage.objects.filter(
        administration=administration,
        destination__in=destinations,
        message_type=MessageType.RAS_O17,
    ).order_by("created_at", "pk"):
        previous[message.destination_id] = message
    now = timezone.now()
    return OutboundMessage.objects.bulk_create(
        [
            OutboundMessage(
                destination=destination,
                administration=administration,
                infusion_event=event,
                message_type=MessageType.RAS_O17,
                message_id=message_control_id(event.external_id),
                snapshot=snapshot_to_json(snapshot),
                depends_on=previous.get(destination.pk),
                next_attempt_at=now,
            )
            for destination in destinations
        ]
    )


def _destinations(administration_id: int) -> list[Destination]:
    """The enabled destinations taking RAS^O17 that serve the hospital the record was made in
    (or every hospital): one hospital's records never reach a system that serves another.

    One hand-written statement: every record, removal, waste and bag event asks, in the
    recording transaction, and the ORM compiled this query (its subquery through the admission
    and the ward) afresh each time: the record's outbox receiver took 2,594 Python calls with no
    destination at all, 143 this way (counted as bench.cost counts).
    It reads what `Destination.objects.filter(enabled=True).filter(Q(hospital__isnull=True) |
    Q(hospital__in=<the record's hospital>)).order_by("pk")` read
    (a test in tests/interop/test_tenancy.py holds the two equal)."""
    sql, columns = _destinations_statement()
    found: list[Destination] = [
        columns.instance(row)  # type: ignore[misc]  # ModelColumns(Destination) builds Destinations
        for row in fetchall(sql, [administration_id])
    ]
    return [destination for destination in found if destination.accepts(MessageType.RAS_O17)]


@cache
def _destinations_statement() -> tuple[str, ModelColumns]:
    def column(model: type[Model], name: str) -> str:
        field = model._meta.get_field(name)
        assert (
            isinstance(field, Field) and field.column
        )  # a concrete column, not a relation's reverse
        return quote(field.column)

    columns = ModelColumns(Destination, "d")
    hospital = column(Destination, "hospital")
    sql = (
        f"SELECT {columns.sql} FROM {table(Destination)} d "  # noqa: S608 - names only
        f"WHERE d.{column(Destination, 'enabled')} "
        f"AND (d.{hospital} IS NULL OR d.{hospital} IN ("
        f"SELECT w.{column(Ward, 'hospital')} FROM {table(Administration)} a "
        f"JOIN {table(Admission)} ad ON ad.{column(Admission, 'id')} = a.{column(Administration, 'admission')} "
        f"JOIN {table(Ward)} w ON w.{column(Ward, 'id')} = ad.{column(Admission, 'ward')} "
        f"WHERE a.{column(Administration, 'id')} = %s)) "
        f"ORDER BY d.{column(Destination, 'id')}"
    )
    return sql, columns


def _sent_before(
    administration: Administration, destinations: list[Destination]
) -> dict[int, OutboundMessage]:
    """Per destination, the message that must be settled first: a withdrawal follows the record it
    withdraws, and a replacement follows the withdrawal (so a receiver never holds two given
    records for one dose, nor deletes a record it has not seen yet)."""
    if administration.corrects_id is not None:
        earlier = administration.corrects_id
    elif administration.replaces_id is not None:
        earlier = (
            Administration.objects.filter(corrects_id=administration.replaces_id)
            .values_list("pk", flat=True)
            .first()
        ) or administration.replaces_id
    else:
        return {}
    messages = OutboundMessage.objects.filter(
        administration_id=earlier,
        removal__isnull=True,
        destination__in=destinations,
        message_type=MessageType.RAS_O17,
    )
    # A waste documented later is an update sent after the record: the withdrawal follows it, so
    # a receiver never has a record it deleted brought back.
    return {
        **{message.destination_id: message for message in messages.filter(waste__isnull=True)},
        **{message.destination_id: message for message in messages.filter(waste__isnull=False)},
    }


def outbound_retry_now(*, messages: QuerySet[OutboundMessage]) -> int:
    """Put dead (or waiting) messages back at the front of the queue with a fresh attempt count.
    A message a worker holds right now is left alone."""
    with transaction.atomic():
        return (
            messages.exclude(state=OutboundState.DELIVERED)
            .filter(lease_token__isnull=True)
            .update(state=OutboundState.PENDING, attempts=0, next_attempt_at=timezone.now())
        )
