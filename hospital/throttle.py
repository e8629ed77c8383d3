"""Login throttling: growing delays per credential *and* source, a limit per source across
credentials, an alert on a burst, and a way to let a delayed nurse in. Kept in the database
(`LoginThrottle`), so that every app server behind the load balancer sees the same state.

Why not a lock per badge (what django-axes did here): badge numbers are printed and sequential,
so a stranger who can count to 25 could lock every nurse out of every cart. Failures are counted
per credential at one source (IP address and cart): a stranger's guesses delay only his own
machine. One source trying many badges is held back by its own counter (that bounds a guesser who
rotates cart names too). A delay grows with each failure and is capped; nothing is a lock that
only time lifts: a charge nurse (at the cart) or an administrator (in /pharmacy/) lifts it.

An attempt is counted *before* its PIN is checked and forgiven when the PIN was right, so that
parallel attempts cannot slip past the limit while their hashes run; an attempt refused for a
delay is answered from one indexed read, without a lock, a write or a hash.
"""

import logging
import math
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from hashlib import sha256

from django.conf import settings
from django.core.mail import mail_admins
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from hospital.exceptions import ApplicationError
from hospital.models import LoginThrottle, SecurityEvent, SecurityEventKind, ThrottleScope

logger = logging.getLogger("bcma.security")

BADGE, PASSWORD, CLIENT = "badge", "password", "client"  # what a credential is


class LoginBusyError(ApplicationError):
    code = "LOGIN_BUSY"
    status = 429
    retry_after = 1

    def __init__(self):
        super().__init__(
            "The system is checking other logins: try again in a moment.",
            details={"retry_after_seconds": self.retry_after},
        )


class LoginThrottledError(ApplicationError):
    code = "LOGIN_THROTTLED"
    status = 429

    def __init__(self, retry_after: int):
        self.retry_after = max(1, retry_after)
        super().__init__(
            f"Too many failed attempts: wait {self.retry_after} seconds, "
            "or ask the charge nurse to let you in.",
            details={"retry_after_seconds": self.retry_after},
        )


@dataclass(frozen=True)
class Source:
    """Where an attempt comes from: the client's address (see `client_ip`) and the cart it names."""

    ip: str
    cart: str = ""


def client_ip(request) -> str:
    """The caller's address. Behind `TRUSTED_PROXY_COUNT` proxies (each appends the address it
    received from to X-Forwarded-For), the one that many from the right; anything further left
    was written by the client and is not believed."""
    remote = request.META.get("REMOTE_ADDR", "")
    hops = settings.TRUSTED_PROXY_COUNT
    if hops <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if not forwarded:
        return remote
    return forwarded[-hops] if len(forwarded) >= hops else forwarded[0]


def request_source(request, cart: str = "") -> Source:
    return Source(ip=client_ip(request)[:45], cart=cart[:60])


@dataclass(frozen=True)
class _Rule:
    key: str
    scope: str
    credential: str
    source: Source
    free: int  # failures before any delay
    base: int  # the first delay, doubled with each further failure
    cap: int  # the longest delay (0: this counter never delays, it only alerts)
    forget: int  # failures are forgotten after this long without one


@dataclass(frozen=True)
class Attempt:
    """A counted attempt: `login_attempt_succeeded` forgives it."""

    rules: tuple[_Rule, ...]


def _key(*parts: str) -> str:
    return sha256("\x1f".join(parts).encode()).hexdigest()


def _rules(kind: str, credential: str, source: Source, purpose: str) -> list[_Rule]:
    rules = [
        _Rule(
            key=_key("source", purpose, source.ip),
            scope=ThrottleScope.SOURCE,
            credential="",
            source=Source(ip=source.ip),
            free=settings.LOGIN_SOURCE_FREE_FAILURES,
            base=settings.LOGIN_DELAY_BASE_SECONDS,
            cap=settings.LOGIN_DELAY_MAX_SECONDS,
            forget=settings.LOGIN_SOURCE_FORGET_AFTER_SECONDS,
        ),
        _Rule(
            key=_key("everywhere"),
            scope=ThrottleScope.EVERYWHERE,
            credential="",
            source=Source(ip=""),
            free=settings.LOGIN_BURST_ALERT_FAILURES,
            base=0,
            cap=0,
            forget=settings.LOGIN_SOURCE_FORGET_AFTER_SECONDS,
        ),
    ]
    if credential:
        rules.append(
            _Rule(
                key=_key("credential", kind, credential, source.ip, source.cart),
                scope=ThrottleScope.CREDENTIAL,
                credential=credential,
                source=source,
                free=settings.LOGIN_FREE_FAILURES,
                base=settings.LOGIN_DELAY_BASE_SECONDS,
                cap=settings.LOGIN_DELAY_MAX_SECONDS,
                forget=settings.LOGIN_FORGET_AFTER_SECONDS,
            )
        )
    # A fixed order, so that two attempts never wait on each other's rows (no deadlock).
    return sorted(rules, key=lambda rule: rule.key)


def source_wait(ip: str, purpose: str = "login") -> int:
    """Seconds the source must still wait (0: none): one indexed read, for the gate in front of
    the login endpoints (hospital.middleware.LoginGateMiddleware)."""
    now = timezone.now()
    until = (
        LoginThrottle.objects.filter(key=_key("source", purpose, ip), blocked_until__gt=now)
        .values_list("blocked_until", flat=True)
        .first()
    )
    return _seconds_until(until, now) if until else 0


def delay_seconds(failures: int, rule: _Rule) -> int:
    if failures <= rule.free or rule.cap <= 0:
        return 0
    return min(rule.base * 2 ** min(failures - rule.free - 1, 30), rule.cap)


def _seconds_until(moment, now) -> int:
    return math.ceil((moment - now).total_seconds())


def _locked(rule: _Rule) -> LoginThrottle:
    """The rule's row, locked until the transaction ends; created on its first failure."""
    row = LoginThrottle.objects.select_for_update().filter(key=rule.key).first()
    if row is not None:
        return row
    try:
        with transaction.atomic():
            return LoginThrottle.objects.create(
                key=rule.key,
                scope=rule.scope,
                credential=rule.credential,
                source_ip=rule.source.ip,
                cart=rule.source.cart,
            )
    except IntegrityError:  # another attempt created it first
        return LoginThrottle.objects.select_for_update().get(key=rule.key)


def login_attempt_begin(
    *, kind: str, credential: str, source: Source, purpose: str = "login"
) -> Attempt:
    """Count an attempt before its secret is checked, or refuse it (`LoginThrottledError`)
    while a delay runs. `credential` "" (not a badge at all) counts for the source only.
    `purpose` "release" counts a charge nurse letting someone in apart from the logins, so that
    a source held back for its failed logins can still be cleared at the cart."""
    rules = _rules(kind, credential, source, purpose)
    now = timezone.now()
    waiting = LoginThrottle.objects.filter(
        key__in=[rule.key for rule in rules], blocked_until__gt=now
    ).values_list("blocked_until", flat=True)
    if waiting:
        raise LoginThrottledError(_seconds_until(max(waiting), now))
    alerts = []
    with transaction.atomic():
        rows = [(rule, _locked(rule)) for rule in rules]
        for rule, row in rows:
            if row.last_failure_at and now - row.last_failure_at > timedelta(seconds=rule.forget):
                row.failures, row.blocked_until = 0, None
        blocked = [
            row.blocked_until
            for _rule, row in rows
            if row.blocked_until and row.blocked_until > now
        ]
        if blocked:
            raise LoginThrottledError(_seconds_until(max(blocked), now))
        for rule, row in rows:
            row.failures += 1
            row.last_failure_at = now
            delay = delay_seconds(row.failures, rule)
            row.blocked_until = now + timedelta(seconds=delay) if delay else None
            row.save(update_fields=["failures", "last_failure_at", "blocked_until"])
            if rule.scope != ThrottleScope.CREDENTIAL and row.failures == rule.free + 1:
                alerts.append((rule, row.failures))
    for rule, failures in alerts:
        _alert(rule, failures)
    return Attempt(rules=tuple(rules))


# pg_try_advisory_lock keys of the hashing slots: this number plus the slot.
_HASHING_SLOTS_KEY = 0x6263_6D61_0000


@contextmanager
def hashing_slot():
    """Hold one of `LOGIN_CONCURRENT_HASHES` slots across the deployment while a PIN, password or
    client secret is hashed, or refuse at once (`LoginBusyError`, 429: try again in a second).
    A PIN hash costs a core for a good part of a second; without a cap, strangers trying logins
    from many addresses could keep every core hashing and slow every nurse's check. Refusing
    rather than waiting keeps the app servers' workers free for the bedside. PostgreSQL advisory
    locks, so that every app server shares the slots; nothing to hold on SQLite (development)."""
    if connection.vendor != "postgresql":
        yield
        return
    held = None
    with connection.cursor() as cursor:
        for slot in range(settings.LOGIN_CONCURRENT_HASHES):
            cursor.execute("SELECT pg_try_advisory_lock(%s::bigint)", [_HASHING_SLOTS_KEY + slot])
            if cursor.fetchone()[0]:
                held = _HASHING_SLOTS_KEY + slot
                break
    if held is None:
        raise LoginBusyError()
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s::bigint)", [held])


def login_attempt_succeeded(attempt: Attempt) -> None:
    """The secret was right: this credential at this source starts afresh, and the attempt no
    longer counts against the source."""
    for rule in attempt.rules:
        rows = LoginThrottle.objects.filter(key=rule.key)
        if rule.scope == ThrottleScope.CREDENTIAL:
            rows.update(failures=0, blocked_until=None)
            continue
        rows.filter(failures__gt=0).update(failures=F("failures") - 1)
        rows.filter(failures__lte=rule.free).update(blocked_until=None)


def _alert(rule: _Rule, failures: int) -> None:
    kind = (
        SecurityEventKind.SOURCE_THROTTLED
        if rule.scope == ThrottleScope.SOURCE
        else SecurityEventKind.LOGIN_BURST
    )
    event = SecurityEvent.objects.create(kind=kind, source_ip=rule.source.ip, failures=failures)
    where = f"from {rule.source.ip}" if rule.source.ip else "across the site"
    message = (
        f"{failures} failed logins {where} since {failures - 1} were allowed; further attempts "
        f"are delayed. Security events in /pharmacy/ (event {event.pk})."
    )
    logger.warning("login burst: %s", message)
    if settings.ADMINS:
        mail_admins("Failed logins: " + where, message, fail_silently=True)


def login_throttle_release(*, credential: str, source_ip: str = "", by, subject=None) -> int:
    """Let a delayed staff member in: forget the failures of her credential at every source,
    and of the source she is being let in at. Recorded as a security event. Returns the number
    of counters cleared."""
    rows = Q(scope=ThrottleScope.CREDENTIAL, credential=credential)
    if source_ip:
        rows |= Q(scope=ThrottleScope.SOURCE, source_ip=source_ip)
    cleared = LoginThrottle.objects.filter(rows).update(failures=0, blocked_until=None)
    SecurityEvent.objects.create(
        kind=SecurityEventKind.RELEASED,
        credential=credential,
        source_ip=source_ip,
        actor=by,
        subject=subject,
    )
    logger.info("login delay lifted by user %s (security event)", by.pk)
    return cleared


def login_throttle_rows_release(*, rows, by) -> int:
    """The administrator's action in /pharmacy/: clear the selected counters."""
    cleared = 0
    for row in rows:
        LoginThrottle.objects.filter(pk=row.pk).update(failures=0, blocked_until=None)
        SecurityEvent.objects.create(
            kind=SecurityEventKind.RELEASED,
            credential=row.credential,
            source_ip=row.source_ip,
            cart=row.cart,
            actor=by,
        )
        cleared += 1
    return cleared
