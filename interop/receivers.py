from scanning.signals import (
    administration_recorded,
    infusion_event_recorded,
    removal_recorded,
    waste_recorded,
)


def queue_administration(sender, administration, **kwargs):
    from interop.services import outbox_enqueue_administration

    outbox_enqueue_administration(administration=administration)


def queue_infusion_event(sender, event, **kwargs):
    from interop.services import outbox_enqueue_infusion_event

    outbox_enqueue_infusion_event(event=event)


def queue_removal(sender, removal, **kwargs):
    from interop.services import outbox_enqueue_removal

    outbox_enqueue_removal(removal=removal)


def queue_waste(sender, waste, **kwargs):
    from interop.services import outbox_enqueue_waste

    outbox_enqueue_waste(waste=waste)


def connect() -> None:
    administration_recorded.connect(queue_administration, dispatch_uid="interop.outbox")
    infusion_event_recorded.connect(queue_infusion_event, dispatch_uid="interop.outbox.infusion")
    removal_recorded.connect(queue_removal, dispatch_uid="interop.outbox.removal")
    waste_recorded.connect(queue_waste, dispatch_uid="interop.outbox.waste")
