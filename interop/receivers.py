from scanning.signals import administration_recorded, removal_recorded


def queue_administration(sender, administration, **kwargs):
    from interop.services import outbox_enqueue_administration

    outbox_enqueue_administration(administration=administration)


def queue_removal(sender, removal, **kwargs):
    from interop.services import outbox_enqueue_removal

    outbox_enqueue_removal(removal=removal)


def connect() -> None:
    administration_recorded.connect(queue_administration, dispatch_uid="interop.outbox")
    removal_recorded.connect(queue_removal, dispatch_uid="interop.outbox.removal")
