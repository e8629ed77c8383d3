"""Issuing and revoking service accounts (OAuth2 clients for systems; see ServiceAccount)."""

from django.db import transaction
from django.utils import timezone
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import AccessToken, Application, RefreshToken

from hospital.exceptions import ApplicationError
from hospital.models import Hospital, SecurityEvent, SecurityEventKind, ServiceAccount, User
from hospital.scopes import SCOPES


def service_account_create(*, name: str, scopes, by, hospitals=None) -> tuple[ServiceAccount, str]:
    """A new service account with these scopes, reading the wards of `hospitals` (by default
    those its creator works in; every hospital when a superuser creates it); returns it and its
    client secret, which is stored hashed and so shown this once."""
    scopes = sorted(set(scopes))
    unknown = set(scopes) - set(SCOPES)
    if not scopes or unknown:
        raise ApplicationError(
            "Choose at least one known scope.", code="INVALID_SCOPE", details=sorted(unknown)
        )
    secret = generate_client_secret()
    with transaction.atomic():
        user = User(username=f"service.{name}"[:150], is_service_account=True)
        user.set_unusable_password()
        user.save()
        if hospitals is None:
            hospitals = Hospital.objects.all() if by.is_superuser else by.hospitals.all()
        user.hospitals.set(hospitals)
        application = Application.objects.create(
            name=name,
            user=user,
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
            client_secret=secret,
            hash_client_secret=True,
        )
        account = ServiceAccount.objects.create(
            name=name, user=user, application=application, scopes=" ".join(scopes), created_by=by
        )
        SecurityEvent.objects.create(
            kind=SecurityEventKind.SERVICE_ACCOUNT_ISSUED,
            credential=application.client_id,
            actor=by,
            subject=user,
        )
    return account, secret


def service_account_new_secret(*, account: ServiceAccount, by) -> str:
    """A new client secret (the old one stops working; tokens already issued run out)."""
    secret = generate_client_secret()
    with transaction.atomic():
        application = Application.objects.select_for_update().get(pk=account.application_id)
        application.client_secret = secret
        application.save(update_fields=["client_secret"])
        SecurityEvent.objects.create(
            kind=SecurityEventKind.SERVICE_ACCOUNT_ISSUED,
            credential=application.client_id,
            actor=by,
            subject=account.user,
        )
    return secret


def service_account_revoke(*, account: ServiceAccount, by) -> None:
    """No more tokens, and the ones issued stop working at once."""
    with transaction.atomic():
        account = ServiceAccount.objects.select_for_update().get(pk=account.pk)
        if account.revoked_at is not None:
            return
        account.revoked_at = timezone.now()
        account.save(update_fields=["revoked_at"])
        application = account.application
        application.client_secret = generate_client_secret()  # never shown to anyone
        application.save(update_fields=["client_secret"])
        RefreshToken.objects.filter(application=application).delete()
        AccessToken.objects.filter(application=application).delete()
        User.objects.filter(pk=account.user_id).update(is_active=False)
        SecurityEvent.objects.create(
            kind=SecurityEventKind.SERVICE_ACCOUNT_REVOKED,
            credential=application.client_id,
            actor=by,
            subject=account.user,
        )
