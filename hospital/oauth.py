"""OAuth2 for service accounts (django-oauth-toolkit, client credentials grant): which scopes a
client may have, which clients may get tokens, the API's bearer authentication and the
permission that maps a scope to an endpoint. Systems authenticate as systems, never with a
nurse's badge (DESIGN.md, Interop)."""

import base64
import binascii
from urllib.parse import unquote

from django.http import JsonResponse
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from oauth2_provider.models import AccessToken
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.scopes import BaseScopes
from oauth2_provider.views import TokenView
from rest_framework import exceptions
from rest_framework.permissions import BasePermission

from hospital.models import ServiceAccount
from hospital.scopes import SCOPES, scope_grants
from hospital.throttle import (
    CLIENT,
    LoginBusyError,
    LoginThrottledError,
    hashing_slot,
    login_attempt_begin,
    login_attempt_succeeded,
    request_source,
)


def _granted(application) -> list[str]:
    account = ServiceAccount.objects.filter(
        application_id=getattr(application, "pk", None), revoked_at__isnull=True
    ).first()
    return account.scope_list if account is not None else []


class ServiceAccountScopes(BaseScopes):
    """A client may ask for the scopes its account was given, and gets all of them by default."""

    def get_all_scopes(self):
        return {scope: str(text) for scope, text in SCOPES.items()}

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        return _granted(application)

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        return _granted(application)


class ServiceAccountValidator(OAuth2Validator):
    """Only clients of a service account that is not revoked get tokens."""

    def authenticate_client(self, request, *args, **kwargs):
        if not super().authenticate_client(request, *args, **kwargs):
            return False
        return ServiceAccount.objects.filter(
            application_id=request.client.pk, revoked_at__isnull=True
        ).exists()


def _client_id(request) -> str:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header.startswith("Basic "):
        try:
            decoded = base64.b64decode(header[6:], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return unquote(decoded.partition(":")[0])[:150]
    return request.POST.get("client_id", "")[:150]


class ServiceTokenView(TokenView):
    """The token endpoint, throttled like every login (hospital/throttle.py): a client secret
    is checked with the password hasher, so guesses are paid for by the guesser."""

    def post(self, request, *args, **kwargs):
        try:
            attempt = login_attempt_begin(
                kind=CLIENT, credential=_client_id(request), source=request_source(request)
            )
            with hashing_slot():
                response = super().post(request, *args, **kwargs)
        except (LoginThrottledError, LoginBusyError) as refused:
            return JsonResponse(
                {"error": "slow_down", "error_description": refused.message},
                status=429,
                headers={"Retry-After": str(refused.retry_after)},
            )
        if response.status_code == 200:
            login_attempt_succeeded(attempt)
        return response


class ServiceAccountAuthentication(OAuth2Authentication):
    """`Authorization: Bearer <token>`: the request runs as the service account's own user.

    A request without that header is not handed to oauthlib: asking it costs about 1,200 Python
    calls on every cart request, which carries a session and no token (docs/benchmarks.md,
    "Administer"). Tokens are read from the header only, as before."""

    def authenticate(self, request):
        scheme = request.META.get("HTTP_AUTHORIZATION", "").split(" ", 1)[0]
        if scheme.lower() != "bearer":
            return None
        found = super().authenticate(request)
        if found is None:
            return None
        _nobody, token = found
        account = (
            ServiceAccount.objects.select_related("user")
            .filter(application_id=token.application_id, revoked_at__isnull=True)
            .first()
        )
        if account is None or not account.user.is_active:
            raise exceptions.AuthenticationFailed("This service account is revoked.")
        return account.user, token


class ServiceAccountScheme(OpenApiAuthenticationExtension):
    """The OpenAPI description of the bearer tokens: OAuth2 client credentials and the scopes."""

    target_class = "hospital.oauth.ServiceAccountAuthentication"
    name = "oauth2"

    def get_security_definition(self, auto_schema):
        return {
            "type": "oauth2",
            "flows": {
                "clientCredentials": {
                    "tokenUrl": "/oauth/token/",
                    "scopes": {scope: str(text) for scope, text in SCOPES.items()},
                }
            },
        }


ANY_SYSTEM_SCOPE = "*"


class SystemScope(BasePermission):
    """A service account's token that holds the view's `system_scope` (see hospital/scopes.py);
    `ANY_SYSTEM_SCOPE` lets any service account in (what the server serves, not what it holds).
    Combine with a role check: `IsClinicalStaff | SystemScope`."""

    message = "This token's scopes do not include this resource."

    def has_permission(self, request, view):
        token = request.auth
        required = getattr(view, "system_scope", None)
        return bool(
            required
            and isinstance(token, AccessToken)
            and (required == ANY_SYSTEM_SCOPE or scope_grants(set(token.scope.split()), required))
        )
