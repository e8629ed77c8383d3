"""DRF token authentication that reads the token, its user and the user's roles in one statement.

DRF's own reads the token with its user, and every permission check then asks for the user's
groups: two statements on each of the bedside's two requests per dose (docs/benchmarks.md)."""

from functools import cache

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from hospital.sql import ModelColumns, fetchall, table


@cache
def _statement() -> tuple[str, ModelColumns, ModelColumns]:
    # Built on first use: DRF imports authentication classes before the app registry is ready.
    from django.contrib.auth.models import Group
    from rest_framework.authtoken.models import Token

    from hospital.models import User

    token, user = ModelColumns(Token, "t"), ModelColumns(User, "u")
    sql = (
        f"SELECT {token.sql}, {user.sql}, g.name "  # noqa: S608 - names only
        f"FROM {table(Token)} t JOIN {table(User)} u ON u.id = t.user_id "
        f"LEFT JOIN {table(User.groups.through)} m ON m.user_id = u.id "
        f"LEFT JOIN {table(Group)} g ON g.id = m.group_id "
        "WHERE t.key = %s"
    )
    return sql, token, user


class TokenWithRolesAuthentication(TokenAuthentication):
    """Same header, answers and errors as DRF's `TokenAuthentication`."""

    def authenticate_credentials(self, key):
        sql, token_columns, user_columns = _statement()
        rows = fetchall(sql, [key])
        if not rows:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        token = token_columns.instance(rows[0])
        user = user_columns.instance(rows[0], token_columns.width)
        user.__dict__["roles"] = user.roles_from_groups(
            row[-1] for row in rows if row[-1] is not None
        )
        token.user = user
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return (user, token)
