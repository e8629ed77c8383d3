from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from hospital.models import BaseModel
from scanning.models import Administration


class MessageType(models.TextChoices):
    RAS_O17 = "RAS^O17", _("HL7 v2.5 RAS^O17 (every administration)")


def validate_message_types(value):
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError(_("List the message types."))
    unknown = [item for item in value if item not in MessageType.values]
    if unknown:
        raise ValidationError(
            _("Unknown message types: %(types)s"), params={"types": ", ".join(unknown)}
        )


def default_message_types():
    return [MessageType.RAS_O17.value]


class Destination(BaseModel):
    """Another hospital system that receives our messages over MLLP."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    host = models.CharField(_("host"), max_length=255)
    port = models.PositiveIntegerField(
        _("port"), validators=[MinValueValidator(1), MaxValueValidator(65535)]
    )
    enabled = models.BooleanField(
        _("enabled"),
        default=True,
        help_text=_(
            "Only enabled destinations get new messages and deliveries. Messages queued before "
            "the destination was disabled are delivered when it is enabled again."
        ),
    )
    message_types = models.JSONField(
        _("message types"),
        default=default_message_types,
        validators=[validate_message_types],
        help_text=_('For example ["RAS^O17"].'),
    )
    receiving_application = models.CharField(
        _("receiving application (MSH-5)"), max_length=20, blank=True
    )
    receiving_facility = models.CharField(
        _("receiving facility (MSH-6)"), max_length=20, blank=True
    )
    max_attempts = models.PositiveSmallIntegerField(
        _("attempts before dead-lettering"), default=20, validators=[MinValueValidator(1)]
    )
    ack_timeout_seconds = models.FloatField(
        _("acknowledgement timeout (seconds)"),
        default=10.0,
        validators=[MinValueValidator(0.01), MaxValueValidator(600)],
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("destination")
        verbose_name_plural = _("destinations")
        constraints = [
            models.CheckConstraint(
                condition=Q(port__gte=1) & Q(port__lte=65535),
                name="%(app_label)s_%(class)s_port_valid",
            ),
            models.CheckConstraint(
                condition=Q(max_attempts__gte=1), name="%(app_label)s_%(class)s_attempts_positive"
            ),
            models.CheckConstraint(
                condition=Q(ack_timeout_seconds__gt=0) & Q(ack_timeout_seconds__lte=600),
                name="%(app_label)s_%(class)s_ack_timeout_valid",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.host}:{self.port})"

    def accepts(self, message_type: str) -> bool:
        return message_type in (self.message_types or [])


class OutboundState(models.TextChoices):
    PENDING = "pending", _("pending")
    DELIVERED = "delivered", _("delivered")
    DEAD = "dead", _("dead-lettered")


class OutboundMessage(BaseModel):
    """One message for one destination, written in the transaction that records the
    administration. The worker delivers it; nothing else changes it (but "retry now")."""

    destination = models.ForeignKey(Destination, on_delete=models.PROTECT, related_name="messages")
    administration = models.ForeignKey(
        Administration, on_delete=models.PROTECT, related_name="outbound_messages"
    )
    message_type = models.CharField(
        _("message type"), max_length=20, choices=MessageType.choices, default=MessageType.RAS_O17
    )
    # MSH-10: the same for every destination and every re-send, so receivers can drop duplicates.
    message_id = models.CharField(_("message control ID (MSH-10)"), max_length=20)
    # What the message says, taken inside the recording transaction (see interop.snapshot).
    snapshot = models.JSONField(_("snapshot"))
    # The bytes sent, rendered on the first attempt and re-sent unchanged.
    payload = models.TextField(_("payload"), blank=True)
    # A correction is held back until the message about the record it corrects is settled.
    depends_on = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("sent after"),
    )
    state = models.CharField(
        _("state"), max_length=10, choices=OutboundState.choices, default=OutboundState.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"))
    # Set while a worker holds the message; its result is written only if it still holds it.
    lease_token = models.UUIDField(null=True, blank=True, editable=False)
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    ack_code = models.CharField(_("last acknowledgement code"), max_length=2, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("outbound message")
        verbose_name_plural = _("outbound messages")
        constraints = [
            models.UniqueConstraint(
                fields=["destination", "administration", "message_type"],
                name="%(app_label)s_%(class)s_one_per_destination",
                violation_error_message=_("This record is already queued for this destination."),
            ),
            models.UniqueConstraint(
                fields=["destination", "message_id"],
                name="%(app_label)s_%(class)s_message_id_unique",
            ),
            models.CheckConstraint(
                condition=Q(state__in=OutboundState.values),
                name="%(app_label)s_%(class)s_state_valid",
            ),
            models.CheckConstraint(
                condition=Q(message_type__in=MessageType.values),
                name="%(app_label)s_%(class)s_message_type_valid",
            ),
            models.CheckConstraint(
                condition=(Q(state=OutboundState.DELIVERED) & Q(delivered_at__isnull=False))
                | (~Q(state=OutboundState.DELIVERED) & Q(delivered_at__isnull=True)),
                name="%(app_label)s_%(class)s_delivered_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(state=OutboundState.DEAD) | ~Q(last_error=""),
                name="%(app_label)s_%(class)s_dead_has_reason",
                violation_error_message=_("A dead-lettered message needs the reason."),
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state="pending"),
                name="interop_outbound_due",
            ),
            models.Index(fields=["state", "destination"], name="interop_outbound_state"),
        ]

    def __str__(self):
        return f"{self.message_type} {self.message_id} → {self.destination.name}"
