from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from hospital.models import BaseModel
from scanning.models import Administration, Removal, Waste


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


class AckMode(models.TextChoices):
    # MSH-15/16 empty: one acknowledgement, AA / AE / AR.
    ORIGINAL = "original", _("original mode (AA, AE, AR)")
    # MSH-15/16 AL/AL: a commit acknowledgement (CA, CE, CR), then the application's (AA …).
    ENHANCED = "enhanced", _("enhanced mode (CA, then AA)")


class RejectPolicy(models.TextChoices):
    DEAD = "dead", _("dead-letter at once, with the reason")
    RETRY = "retry", _("retry like an error")


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
    hospital = models.ForeignKey(
        "hospital.Hospital",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("hospital"),
        help_text=_("Only this hospital's records are sent here. Empty: every hospital's."),
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
    ack_mode = models.CharField(
        _("acknowledgement mode"),
        max_length=10,
        choices=AckMode.choices,
        default=AckMode.ORIGINAL,
        help_text=_(
            "Enhanced: the receiver first commits (CA) and then answers for its application "
            "(AA); only the AA counts as delivered."
        ),
    )
    on_reject = models.CharField(
        _("when the receiver rejects (AR, CR)"),
        max_length=10,
        choices=RejectPolicy.choices,
        default=RejectPolicy.DEAD,
        help_text=_(
            "A rejection says the message itself is unacceptable, so sending it again does not "
            "help: it is dead-lettered with the reason unless this says retry. Errors (AE, CE) "
            "are always retried."
        ),
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
            models.CheckConstraint(
                condition=Q(ack_mode__in=AckMode.values),
                name="%(app_label)s_%(class)s_ack_mode_valid",
            ),
            models.CheckConstraint(
                condition=Q(on_reject__in=RejectPolicy.values),
                name="%(app_label)s_%(class)s_on_reject_valid",
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
    # Set when the message reports the removal of the record's patch, ring or implant: an update
    # of the record (RXA-21 U) with its own MSH-10, sent after the record's own message.
    removal = models.ForeignKey(
        Removal,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="outbound_messages",
    )
    # Set when the message reports waste documented after the record (the rest of an ampoule
    # found on the tray): an update of the record (RXA-21 U) with its own MSH-10, sent after the
    # record's own message. A waste written with the record goes out in that message.
    waste = models.ForeignKey(
        Waste,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="outbound_messages",
    )
    message_type = models.CharField(
        _("message type"), max_length=20, choices=MessageType.choices, default=MessageType.RAS_O17
    )
    # MSH-10: the same for every destination and every re-send, so receivers can drop duplicates.
    # A later event in the life of an infusion bag: a message of its own about the same
    # administration (the bag's hanging); None for the administration's own message.
    infusion_event = models.ForeignKey(
        "scanning.InfusionEvent",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="outbound_messages",
    )
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
                condition=Q(infusion_event__isnull=True, removal__isnull=True, waste__isnull=True),
                name="%(app_label)s_%(class)s_one_per_destination",
                violation_error_message=_("This record is already queued for this destination."),
            ),
            models.UniqueConstraint(
                fields=["destination", "infusion_event", "message_type"],
                condition=Q(infusion_event__isnull=False),
                name="%(app_label)s_%(class)s_one_per_bag_event",
            ),
            models.UniqueConstraint(
                fields=["destination", "removal", "message_type"],
                condition=Q(removal__isnull=False),
                name="%(app_label)s_%(class)s_one_removal_per_destination",
                violation_error_message=_("This removal is already queued for this destination."),
            ),
            models.UniqueConstraint(
                fields=["destination", "waste", "message_type"],
                condition=Q(waste__isnull=False),
                name="%(app_label)s_%(class)s_one_waste_per_destination",
                violation_error_message=_("This waste is already queued for this destination."),
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


class AttemptOutcome(models.TextChoices):
    # Written before the first byte goes out: a worker that dies mid-send leaves it so, and the
    # receiver may or may not have the message.
    SENDING = "sending", _("sending (no result recorded)")
    DELIVERED = "delivered", _("delivered (AA)")
    FAILED = "failed", _("failed, to retry")
    REJECTED = "rejected", _("rejected (AR, CR)")


class DeliveryAttempt(BaseModel):
    """One try at delivering one outbound message: when, on which connection, how many bytes
    went out and what came back (or how it failed). Every copy of a message that a receiver may
    have seen is one of these rows: nothing is re-sent without one."""

    message = models.ForeignKey(
        OutboundMessage, on_delete=models.PROTECT, related_name="delivery_attempts"
    )
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    local_address = models.CharField(_("our address"), max_length=64, blank=True)
    remote_address = models.CharField(_("receiver's address"), max_length=64, blank=True)
    new_connection = models.BooleanField(_("new connection"), default=True)
    bytes_sent = models.PositiveIntegerField(_("bytes sent"), default=0)
    frame_bytes = models.PositiveIntegerField(_("bytes in the frame"), default=0)
    outcome = models.CharField(
        _("outcome"), max_length=10, choices=AttemptOutcome.choices, default=AttemptOutcome.SENDING
    )
    ack_code = models.CharField(_("acknowledgement code"), max_length=2, blank=True)
    # Every frame read back during the attempt, in order (commit ACK, application ACK, strays).
    reply = models.TextField(_("what came back"), blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["message", "started_at", "pk"]
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome__in=AttemptOutcome.values),
                name="%(app_label)s_%(class)s_outcome_valid",
            ),
            models.CheckConstraint(
                condition=Q(outcome=AttemptOutcome.SENDING) | Q(finished_at__isnull=False),
                name="%(app_label)s_%(class)s_finished_has_time",
            ),
            models.CheckConstraint(
                condition=Q(bytes_sent__lte=F("frame_bytes")),
                name="%(app_label)s_%(class)s_bytes_within_frame",
            ),
        ]

    def __str__(self):
        return f"{self.message.message_id} @ {self.started_at:%Y-%m-%d %H:%M:%S}: {self.outcome}"


class InboundState(models.TextChoices):
    RECEIVED = "received", _("received, not yet applied")
    APPLIED = "applied", _("applied")
    WAITING = "waiting", _("waiting for an earlier message")
    FAILED = "failed", _("needs attention")
    REJECTED = "rejected", _("rejected (unreadable)")
    DISMISSED = "dismissed", _("dismissed")


# States a person must look at: the pharmacy's work queue.
WORK_QUEUE_STATES = (InboundState.FAILED, InboundState.WAITING)


class InboundMessage(BaseModel):
    """One HL7 v2 message from the HIS, stored before it is acknowledged.

    (sending facility, MSH-10) is unique: a repeat is answered with the stored ACK and never
    applied again. Messages of one patient are applied in arrival order (`id`); one that needs an
    earlier message (a discharge before its admission) waits, one that cannot be applied (an
    unmapped drug code) waits for a person in the work queue. Nothing is deleted."""

    sending_application = models.CharField(_("sending application (MSH-3)"), max_length=180)
    sending_facility = models.CharField(_("sending facility (MSH-4)"), max_length=180)
    # The hospital whose HIS sent it (MSH-4 = Hospital.hl7_facility): the message is applied to
    # that hospital's wards and patients only. Empty while MSH-4 names no hospital here.
    hospital = models.ForeignKey(
        "hospital.Hospital",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("hospital"),
    )
    control_id = models.CharField(_("message control ID (MSH-10)"), max_length=199)
    message_type = models.CharField(_("message type (MSH-9)"), max_length=40, blank=True)
    # The MRN the message is about: messages with the same key are applied one at a time, in order.
    patient_key = models.CharField(_("patient (MRN)"), max_length=60, blank=True, db_index=True)
    raw = models.TextField(_("message"))
    state = models.CharField(
        _("state"), max_length=10, choices=InboundState.choices, default=InboundState.RECEIVED
    )
    received_at = models.DateTimeField(_("received at"))
    # MSH-7: messages waiting for an earlier one are retried in the order the HIS sent them.
    sent_at = models.DateTimeField(_("sent at (MSH-7)"), null=True, blank=True)
    applied_at = models.DateTimeField(_("applied at"), null=True, blank=True)
    # Why the message waits, failed or was rejected: a stable code, and words for a person.
    problem_code = models.CharField(_("problem"), max_length=40, blank=True)
    problem = models.TextField(_("what is wrong"), blank=True)
    # What applying it did, in a few words.
    outcome = models.CharField(_("outcome"), max_length=300, blank=True)
    # Where in the message (ERR-2), e.g. RXE^1^2.
    problem_location = models.CharField(_("where"), max_length=40, blank=True)
    attempts = models.PositiveIntegerField(_("attempts to apply"), default=0)
    # The acknowledgement sent (or to be sent): a repeat of the message gets exactly this.
    ack_code = models.CharField(_("acknowledgement code"), max_length=2, blank=True)
    ack = models.TextField(_("acknowledgement"), blank=True)
    times_received = models.PositiveIntegerField(_("times received"), default=1)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("resolved by"),
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolution = models.CharField(_("resolution"), max_length=300, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("inbound HL7 message")
        verbose_name_plural = _("inbound HL7 messages")
        constraints = [
            models.UniqueConstraint(
                fields=["sending_facility", "control_id"],
                name="%(app_label)s_%(class)s_once_per_sender",
                violation_error_message=_("This message was already received."),
            ),
            models.CheckConstraint(
                condition=Q(state__in=InboundState.values),
                name="%(app_label)s_%(class)s_state_valid",
            ),
            models.CheckConstraint(
                condition=~Q(state__in=[InboundState.FAILED, InboundState.WAITING])
                | ~Q(problem=""),
                name="%(app_label)s_%(class)s_queue_has_reason",
                violation_error_message=_("A message in the work queue needs the reason."),
            ),
            models.CheckConstraint(
                condition=~Q(state=InboundState.DISMISSED)
                | (Q(resolved_at__isnull=False) & ~Q(resolution="")),
                name="%(app_label)s_%(class)s_dismissal_has_reason",
                violation_error_message=_("Dismissing a message needs a reason."),
            ),
        ]
        indexes = [
            models.Index(
                fields=["patient_key", "id"],
                condition=Q(state__in=["received", "waiting"]),
                name="interop_inbound_open",
            ),
            models.Index(fields=["state", "received_at"], name="interop_inbound_state"),
        ]

    def __str__(self):
        return f"{self.message_type} {self.control_id} ({self.sending_facility})"


class CodeMapKind(models.TextChoices):
    MEDICATION = "medication", _("drug (RXE give code)")
    ALLERGEN = "allergen", _("allergen (AL1-3)")
    WARD = "ward", _("ward (PV1-3)")


class InboundCodeMap(BaseModel):
    """What the HIS's code means here: a drug code → a formulary item, an allergen code → the
    substance or allergy-class code the bedside rules match, a ward code → a ward. The pharmacy
    maintains it; an unmapped code sends the message to the work queue, never to a guess.

    Each hospital's HIS has its own codes: a row of a hospital reads the messages of that
    hospital's sender, a row without one is the province's default, and a hospital's own row
    wins over the default (interop/inbound/services.py). Two hospitals may so map one code to
    different items."""

    # Empty: the province's default, changed by a superuser (backoffice/admin/interop.py).
    hospital = models.ForeignKey(
        "hospital.Hospital",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("hospital"),
        help_text=_("Only this hospital's messages read this mapping. Empty: every hospital's."),
    )
    kind = models.CharField(_("kind"), max_length=12, choices=CodeMapKind.choices)
    his_code = models.CharField(_("HIS code"), max_length=60)
    his_name = models.CharField(_("HIS name"), max_length=200, blank=True)
    medication = models.ForeignKey(
        "pharmacy.Medication",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("formulary item"),
    )
    allergen_code = models.SlugField(
        _("substance or allergy-class code"), max_length=60, blank=True
    )
    ward = models.ForeignKey(
        "wards.Ward",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("ward"),
    )

    class Meta:
        ordering = ["kind", "his_code"]
        verbose_name = _("HIS code mapping")
        verbose_name_plural = _("HIS code mappings")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "his_code"],
                condition=Q(hospital__isnull=True),
                name="%(app_label)s_%(class)s_one_default_per_code",
                violation_error_message=_("This HIS code is already mapped."),
            ),
            models.UniqueConstraint(
                fields=["hospital", "kind", "his_code"],
                condition=Q(hospital__isnull=False),
                name="%(app_label)s_%(class)s_one_per_code_per_hospital",
                violation_error_message=_("This HIS code is already mapped for this hospital."),
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind=CodeMapKind.MEDICATION, medication__isnull=False)
                    & Q(allergen_code="", ward__isnull=True)
                )
                | (
                    Q(kind=CodeMapKind.ALLERGEN, medication__isnull=True, ward__isnull=True)
                    & ~Q(allergen_code="")
                )
                | (
                    Q(kind=CodeMapKind.WARD, ward__isnull=False)
                    & Q(allergen_code="", medication__isnull=True)
                ),
                name="%(app_label)s_%(class)s_target_matches_kind",
                violation_error_message=_(
                    "Give a formulary item for a drug, a substance or class code for an "
                    "allergen, a ward for a ward; nothing else."
                ),
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.his_code}"

    def clean(self):
        # A hospital's HIS places patients on its own wards only: a ward of another hospital
        # would be refused for every message anyway (WARD_OTHER_HOSPITAL), so say it here.
        # Not a constraint: the ward's hospital is another table's column.
        super().clean()
        if (
            self.hospital_id is not None
            and self.ward is not None
            and self.ward.hospital_id != self.hospital_id
        ):
            raise ValidationError(
                {"ward": _("Choose a ward of this mapping's hospital.")},
                code="ward_other_hospital",
            )


class FhirTransaction(BaseModel):
    """A FHIR transaction Bundle from a system, stored in the transaction that applied it (a
    bundle that fails leaves nothing, this row included). With a key (the `Idempotency-Key`
    header, else the Bundle's identifier) a repeat from the same client is answered with the
    stored response and applied nothing twice; the same key with another bundle is refused."""

    client = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("client"),
    )
    key = models.CharField(_("idempotency key"), max_length=300, blank=True)
    # SHA-256 of the bundle's canonical JSON: the same key must come with the same bundle.
    digest = models.CharField(_("bundle digest"), max_length=64)
    fhir_version = models.CharField(_("FHIR version"), max_length=4)
    bundle = models.JSONField(_("bundle"))
    response = models.JSONField(_("response"), null=True, blank=True)
    entries = models.PositiveIntegerField(_("entries"), default=0)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("FHIR transaction")
        verbose_name_plural = _("FHIR transactions")
        constraints = [
            models.UniqueConstraint(
                fields=["client", "key"],
                condition=~Q(key=""),
                name="%(app_label)s_%(class)s_once_per_key",
                violation_error_message=_("This bundle was already applied."),
            ),
        ]

    def __str__(self):
        return f"Bundle {self.key or self.pk} ({self.entries} entries)"
