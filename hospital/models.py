import uuid

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
        # the groups six times per administration. Uses prefetched groups when there are some.
        return frozenset(group.name for group in self.groups.all()) & set(Role.values)

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))

    @property
    def may_administer(self) -> bool:
        return self.is_active and bool(self.roles & ADMINISTERING_ROLES)
