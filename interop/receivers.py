from scanning.signals import administration_recorded


def queue_administration(sender, administration, **kwargs):
    from interop.services import outbox_enqueue_administration

    outbox_enqueue_administration(administration=administration)


def connect() -> None:
    administration_recorded.connect(queue_administration, dispatch_uid="interop.outbox")
