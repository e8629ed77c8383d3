"""Checking a staff member's PIN, and loading the user of a session in one statement.

One PIN hash per attempt, whatever the outcome: a wrong PIN hashes once (Django's
`authenticate()` ran every backend, and ModelBackend hashed the PIN a second time for a badge it
took for an unknown username), and an unknown badge hashes once too, against a stand-in hash of
the same cost, so that neither the CPU spent nor the answer's timing tells a real badge from an
unknown one (docs/security.md)."""

import secrets
from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.hashers import check_password, get_hasher, make_password
from django.core.exceptions import ValidationError

from hospital.sql import ModelColumns, fetchall, table


@cache
def _stand_in_hash(algorithm: str) -> str:
    return make_password(secrets.token_hex(16), hasher=algorithm)


def stand_in_pin_hash() -> str:
    """A hash of nothing anyone knows, made by the current hasher (and so of the same cost as
    checking a real PIN). Made once per process and hasher."""
    return _stand_in_hash(get_hasher().algorithm)


def staff_pin_verify(*, gsrn: str, pin: str):
    """The active staff member whose badge this is, if the PIN is hers; else None. Runs the
    hasher exactly once."""
    user = (
        get_user_model().objects.prefetch_related("groups").filter(badge_gsrn=gsrn).first()
        if gsrn
        else None
    )
    encoded = user.pin_hash if user is not None and user.pin_hash else stand_in_pin_hash()
    matches = check_password(pin, encoded)
    if user is None or not user.pin_hash or not user.is_active or not matches:
        return None
    return user


@cache
def _user_statement() -> tuple[str, ModelColumns]:
    from django.contrib.auth.models import Group

    user_model = get_user_model()
    user = ModelColumns(user_model, "u")
    sql = (
        f"SELECT {user.sql}, g.name FROM {table(user_model)} u "  # noqa: S608 - names only
        f"LEFT JOIN {table(user_model.groups.through)} m ON m.user_id = u.id "
        f"LEFT JOIN {table(Group)} g ON g.id = m.group_id "
        "WHERE u.id = %s"
    )
    return sql, user


class StaffBackend(ModelBackend):
    """Django's username + password backend (the pharmacy site), whose `get_user` reads the user
    of a session with her roles in one statement: every bedside request loads her."""

    def get_user(self, user_id):
        try:
            user_id = get_user_model()._meta.pk.to_python(user_id)
        except ValidationError:
            return None
        sql, columns = _user_statement()
        rows = fetchall(sql, [user_id])
        if not rows:
            return None
        user = columns.instance(rows[0])
        user.__dict__["roles"] = user.roles_from_groups(
            row[-1] for row in rows if row[-1] is not None
        )
        return user if self.user_can_authenticate(user) else None


def staff_pin_set(*, staff, pin: str, by) -> None:
    """A new PIN (6 to 8 digits): every session the staff member had ends (the session's auth
    hash covers the PIN hash), and a security event records who set it."""
    from hospital.models import SecurityEvent, SecurityEventKind

    staff.set_pin(pin)
    staff.save(update_fields=["pin_hash"])
    SecurityEvent.objects.create(
        kind=SecurityEventKind.PIN_CHANGED,
        credential=staff.badge_gsrn or "",
        actor=by,
        subject=staff,
    )
