import uuid

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.crypto import salted_hmac
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from gs1 import is_valid_gln


class BaseModel(models.Model):
    """Public identity for URLs (never the integer key) and when the row was written."""

    external_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        abstract = True


def gln_validator(value: str) -> None:
    if not is_valid_gln(value):
        raise ValidationError(_("A GLN has 13 digits and a valid GS1 check digit."))


class Hospital(BaseModel):
    """One hospital of the province: a tenant. It owns its wards (and through them its beds,
    admissions and staff assignments); staff work in one or more hospitals (`User.hospitals`) and
    read nothing of another's (scanning/access.py). The formulary is provincial."""

    code = models.CharField(
        _("code"),
        max_length=20,
        unique=True,
        validators=[RegexValidator(r"^[A-Z0-9-]{2,20}$", _("Upper-case letters, digits, dashes."))],
    )
    name = models.CharField(_("name"), max_length=200)
    # GS1 Global Location Number: the hospital as a GS1 party (GS1 Healthcare, AI 414).
    gln = models.CharField(_("GLN"), max_length=13, unique=True, validators=[gln_validator])
    # HL7 MSH-4 (and PID-3's assigning authority): the facility its HIS sends as, and the one
    # messages about its patients are sent from.
    hl7_facility = models.CharField(_("HL7 facility (MSH-4)"), max_length=20, unique=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("hospital")
        verbose_name_plural = _("hospitals")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(gln__regex=r"^\d{13}$"),
                name="%(app_label)s_%(class)s_gln_13_digits",
            ),
        ]

    def __str__(self):
        return f"{self.code} – {self.name}"


class Role(models.TextChoices):
    """Each role is a Group of the same name holding its permissions (see migration 0002)."""

    NURSE = "nurse", _("Nurse")
    CHARGE_NURSE = "charge_nurse", _("Charge nurse")
    PHARMACIST = "pharmacist", _("Pharmacist")
    ADMIN = "admin", _("Administrator")
    # A student nurse gives medication only with an instructor's badge + PIN co-sign on each
    # record (STUDENT_COSIGN_REQUIRED); she never witnesses or co-signs for anyone.
    STUDENT_NURSE = "student_nurse", _("Student nurse")
    # A marker beside a nurse's own role: a nurse (or charge nurse) in this group may co-sign a
    # student's records. The group holds no permissions of its own.
    INSTRUCTOR = "instructor", _("Clinical instructor")


# Roles allowed to give medication (a student only with a co-sign).
ADMINISTERING_ROLES = frozenset({Role.NURSE, Role.CHARGE_NURSE, Role.STUDENT_NURSE})
# Roles allowed to witness a high-alert dose or co-sign a student's: licensed nurses.
LICENSED_NURSE_ROLES = frozenset({Role.NURSE, Role.CHARGE_NURSE})

gsrn_validator = RegexValidator(r"^\d{18}$", _("A GSRN has exactly 18 digits."))
# Six digits at least (docs/security.md, "PIN policy"): badge numbers are printed and sequential,
# so the PIN is the only secret, and the login throttle leaves a guesser a few hundred tries a day.
PIN_MIN_DIGITS, PIN_MAX_DIGITS = 6, 8
pin_validator = RegexValidator(
    rf"^\d{{{PIN_MIN_DIGITS},{PIN_MAX_DIGITS}}}$", _("A PIN has 6 to 8 digits.")
)


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
    # A system's user (hospital.ServiceAccount): no role, no badge, no password; reads what its
    # OAuth2 scopes allow, on every ward.
    is_service_account = models.BooleanField(_("service account"), default=False, editable=False)
    # The hospitals this person (or system) works in: everything it reads is of these hospitals'
    # wards. A nurse reads only her assigned wards among them; a superuser reads the province.
    hospitals = models.ManyToManyField(
        Hospital, blank=True, related_name="staff", verbose_name=_("hospitals")
    )

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

    def _get_session_auth_hash(self, secret=None):
        # Django ends a user's sessions when this changes: with the PIN in it, a new PIN ends
        # every session she had (a cart left logged in somewhere, a PIN someone watched).
        return salted_hmac(
            "hospital.models.User.session_auth_hash",
            f"{self.password}\x1f{self.pin_hash}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

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

    @property
    def is_student_nurse(self) -> bool:
        """A student: her doses need an instructor's co-sign. A student role beside a licensed
        one still counts as a student (the safer reading of a doubtful account)."""
        return Role.STUDENT_NURSE in self.roles

    @property
    def is_instructor(self) -> bool:
        """May co-sign a student's records: in the instructor group, a licensed nurse, active,
        and no student herself."""
        return (
            self.is_active
            and Role.INSTRUCTOR in self.roles
            and bool(self.roles & LICENSED_NURSE_ROLES)
            and not self.is_student_nurse
        )


class ThrottleScope(models.TextChoices):
    """What a login throttle row counts (hospital/throttle.py)."""

    CREDENTIAL = "credential", _("credential at one source")
    SOURCE = "source", _("source, across credentials")
    EVERYWHERE = "everywhere", _("every source")


class LoginThrottle(models.Model):
    """Failed logins counted in the database, so every app server sees the same delays.

    One row per credential (badge GSRN, username or OAuth client id) at one source (IP address and
    cart), one per source across credentials, and one for the whole site (which only alerts).
    `failures` counts the failures since the last good login or quiet period; `blocked_until` is
    when the next attempt will be heard."""

    key = models.CharField(_("key"), max_length=255, unique=True)
    scope = models.CharField(_("counts"), max_length=20, choices=ThrottleScope.choices)
    credential = models.CharField(_("badge, username or client"), max_length=150, blank=True)
    source_ip = models.CharField(_("IP address"), max_length=45, blank=True)
    cart = models.CharField(_("cart"), max_length=60, blank=True)
    failures = models.PositiveIntegerField(_("failures"), default=0)
    blocked_until = models.DateTimeField(_("next attempt heard at"), null=True, blank=True)
    last_failure_at = models.DateTimeField(_("last failure"), null=True, blank=True)

    class Meta:
        ordering = ["-last_failure_at"]
        verbose_name = _("login delay")
        verbose_name_plural = _("login delays")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(scope__in=ThrottleScope.values),
                name="%(app_label)s_%(class)s_scope_valid",
            ),
        ]
        indexes = [models.Index(fields=["credential"], name="hospital_throttle_cred_idx")]

    def __str__(self):
        return self.key


class SecurityEventKind(models.TextChoices):
    SOURCE_THROTTLED = "source_throttled", _("many failed logins from one source")
    LOGIN_BURST = "login_burst", _("many failed logins across the site")
    RELEASED = "released", _("login delay lifted")
    PIN_CHANGED = "pin_changed", _("PIN changed")
    SERVICE_ACCOUNT_ISSUED = "service_account_issued", _("service account issued")
    SERVICE_ACCOUNT_REVOKED = "service_account_revoked", _("service account revoked")
    BREAK_GLASS_REPEATED = "break_glass_repeated", _("repeated break-the-glass")
    BREAK_GLASS_LIMITED = "break_glass_limited", _("break-the-glass limit reached")
    BREAK_GLASS_REFUSED = "break_glass_refused", _("break-the-glass refused: band not scanned")


class SecurityEvent(models.Model):
    """What an administrator must see: bursts of failed logins, delays lifted, PINs and service
    accounts changed. Written by services only; read-only in /pharmacy/."""

    created_at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    kind = models.CharField(_("event"), max_length=40, choices=SecurityEventKind.choices)
    source_ip = models.CharField(_("IP address"), max_length=45, blank=True)
    credential = models.CharField(_("badge, username or client"), max_length=150, blank=True)
    cart = models.CharField(_("cart"), max_length=60, blank=True)
    failures = models.PositiveIntegerField(_("failures"), default=0)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("staff member concerned"),
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("security event")
        verbose_name_plural = _("security events")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=SecurityEventKind.values),
                name="%(app_label)s_%(class)s_kind_valid",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.created_at:%Y-%m-%d %H:%M})"


class ServiceAccount(models.Model):
    """A system (the hospital information system, an integration engine) that reads the API as
    itself: an OAuth2 client (client credentials) with the scopes an administrator gave it, and a
    user of its own that holds no role (so it can never check, record or log in anywhere). Issued,
    listed and revoked in /pharmacy/ (hospital/service_accounts.py)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="service_account",
        editable=False,
    )
    application = models.OneToOneField(
        "oauth2_provider.Application",
        on_delete=models.PROTECT,
        related_name="service_account",
        editable=False,
    )
    scopes = models.CharField(_("scopes"), max_length=500, help_text=_("separated by spaces"))
    created_at = models.DateTimeField(_("issued at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("issued by"),
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("service account")
        verbose_name_plural = _("service accounts")

    def __str__(self):
        return self.name

    @property
    def client_id(self) -> str:
        return self.application.client_id

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()
