import uuid

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _


class BaseModel(models.Model):
    """Public identity for URLs (never the integer key) and when the row was written."""

    external_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        abstract = True


class Role(models.TextChoices):
    """Each role is a Group of the same name holding its permissions (see migration 0002)."""

    NURSE = "nurse", _("Nurse")
    CHARGE_NURSE = "charge_nurse", _("Charge nurse")
    PHARMACIST = "pharmacist", _("Pharmacist")
    ADMIN = "admin", _("Administrator")


# Roles allowed to give medication or to witness a high-alert dose.
ADMINISTERING_ROLES = frozenset({Role.NURSE, Role.CHARGE_NURSE})

gsrn_validator = RegexValidator(r"^\d{18}$", _("A GSRN has exactly 18 digits."))
pin_validator = RegexValidator(r"^\d{4,8}$", _("A PIN has 4 to 8 digits."))


class User(AbstractUser):
    """Staff. Carts log in by badge (GS1 AI 8017 GSRN) plus PIN; the pharmacy site by password."""

    badge_gsrn = models.CharField(
        _("badge GSRN"),
        max_length=18,
        unique=True,
        null=True,
        blank=True,
        validators=[gsrn_validator],
    )
    pin_hash = models.CharField(_("PIN hash"), max_length=128, blank=True, editable=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(badge_gsrn__isnull=True)
                | models.Q(badge_gsrn__regex=r"^\d{18}$"),
                name="%(app_label)s_%(class)s_badge_gsrn_18_digits",
            ),
        ]

    def set_pin(self, raw_pin: str) -> None:
        pin_validator(raw_pin)
        self.pin_hash = make_password(raw_pin)

    def check_pin(self, raw_pin: str) -> bool:
        return bool(self.pin_hash) and check_password(raw_pin, self.pin_hash)

    @cached_property
    def roles(self) -> frozenset[str]:
        # Read once per instance (a request's user lives one request): the bedside path asked for
        # the groups six times per administration. Uses prefetched groups when there are some;
        # token authentication sets them from its own statement (hospital/authentication.py).
        return self.roles_from_groups(group.name for group in self.groups.all())

    @staticmethod
    def roles_from_groups(group_names) -> frozenset[str]:
        return frozenset(group_names) & set(Role.values)

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))

    @property
    def may_administer(self) -> bool:
        return self.is_active and bool(self.roles & ADMINISTERING_ROLES)


class AccessReason(models.TextChoices):
    """What opened a patient outside the staff member's wards (see scanning/access.py)."""

    WRISTBAND_CHECK = "wristband_check", _("wristband scanned: check")
    ADMINISTRATION = "administration", _("wristband scanned: recording a dose")
    NOT_GIVEN = "not_given", _("wristband scanned: documenting a dose not given")


class AccessLog(BaseModel):
    """Break-the-glass: a nurse scanned the wristband of a patient on a ward she is not assigned
    to. The scan is the justification (she stands at the bed); the row opens that patient's record
    to her for `BREAK_GLASS_ACCESS_HOURS`. Append-only: nobody edits or deletes these rows (on
    PostgreSQL a trigger refuses it, see migration 0002)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("staff member"),
    )
    # Strings, not imports: `hospital` sits below `wards` and never imports it.
    patient = models.ForeignKey(
        "wards.Patient", on_delete=models.PROTECT, related_name="+", verbose_name=_("patient")
    )
    ward = models.ForeignKey(
        "wards.Ward",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("patient's ward"),
    )
    reason = models.CharField(_("reason"), max_length=20, choices=AccessReason.choices)
    cart = models.CharField(_("cart"), max_length=60, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("break-the-glass access")
        verbose_name_plural = _("break-the-glass accesses")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(reason__in=AccessReason.values),
                name="%(app_label)s_%(class)s_reason_valid",
            ),
        ]
        indexes = [
            models.Index(
                fields=["user", "patient", "created_at"],
                name="hospital_accesslog_open_idx",
            ),
        ]

    def __str__(self):
        return f"{self.user} → {self.patient} ({self.created_at:%Y-%m-%d %H:%M})"
