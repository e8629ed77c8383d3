"""Issue 14, item 4 (and issue 16's "systems authenticate as systems"): API tokens only for
service accounts an administrator issues. OAuth2 client credentials (django-oauth-toolkit):
tokens expire, carry SMART-style scopes per resource, are revocable and listed in /pharmacy/."""

import base64
import re
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.test import Client

from hospital.models import ServiceAccount, User
from hospital.service_accounts import service_account_create, service_account_revoke
from tests.scanning.conftest import AN_BAND, PARACETAMOL, image

pytestmark = pytest.mark.django_db

FEED = "/api/v1/administrations/"
FHIR_SEARCH = "/api/v1/fhir/MedicationAdministration?patient.identifier=BN2026000101"
ALL_READS = "system/MedicationAdministration.read administrations.read"


@pytest.fixture
def record(frozen_demo):
    nurse = Client()
    nurse.post(
        "/api/v1/auth/badge/",
        {"badge": {"code": "8017952000200000000112"}, "pin": "111111", "ward": "NOI"},
        content_type="application/json",
    )
    answer = nurse.post(
        "/api/v1/administrations/",
        {"patient": image(AN_BAND), "medications": [image(n) for n in PARACETAMOL]},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="svc-1",
    )
    assert answer.status_code == 201, answer.content
    return answer.json()["id"]


def account(scopes=ALL_READS, name="his"):
    admin = User.objects.get(username="quantri")
    return service_account_create(name=name, scopes=scopes.split(), by=admin)


def token_answer(client_id, secret, scope=None):
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    body = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
    return Client().post("/oauth/token/", body, HTTP_AUTHORIZATION=f"Basic {basic}")


def token(client_id, secret, scope=None) -> str:
    answer = token_answer(client_id, secret, scope)
    assert answer.status_code == 200, answer.content
    return answer.json()["access_token"]


def get(url, bearer):
    return Client().get(url, HTTP_AUTHORIZATION=f"Bearer {bearer}")


def test_a_service_account_reads_the_feed_hl7_and_fhir_with_a_client_credentials_token(record):
    # given
    created, secret = account()

    # when
    answer = token_answer(created.client_id, secret)
    bearer = answer.json()["access_token"]

    # then: a short-lived bearer token with the account's scopes
    assert answer.json()["token_type"] == "Bearer"
    assert answer.json()["expires_in"] == django_settings.OAUTH_ACCESS_TOKEN_SECONDS
    assert set(answer.json()["scope"].split()) == set(ALL_READS.split())
    assert get(FEED, bearer).json()["results"][0]["id"] == record
    assert get(f"/api/v1/administrations/{record}/hl7/", bearer).status_code == 200
    assert get(FHIR_SEARCH, bearer).json()["total"] == 1
    assert get(f"/api/v1/fhir/MedicationAdministration/{record}", bearer).status_code == 200


def test_a_token_opens_the_api_from_the_authorization_header_only(record):
    # given
    created, secret = account()
    bearer = token(created.client_id, secret)

    # when: the token in the query string, and in the header with a lower-case scheme
    in_the_url = Client().get(f"{FEED}?access_token={bearer}")
    lower_case_scheme = Client().get(FEED, HTTP_AUTHORIZATION=f"bearer {bearer}")

    # then: a token in a URL (access logs, browser history) opens nothing; the scheme's case does
    # not matter (RFC 7235)
    assert in_the_url.status_code == 401
    assert in_the_url.headers["WWW-Authenticate"].startswith("Bearer")
    assert lower_case_scheme.json()["results"][0]["id"] == record


def test_a_token_reads_only_what_its_scopes_allow(record):
    created, secret = account(scopes="system/MedicationAdministration.read")
    bearer = token(created.client_id, secret)

    assert get(FHIR_SEARCH, bearer).status_code == 200
    assert get(FEED, bearer).status_code == 403
    assert get(f"/api/v1/administrations/{record}/hl7/", bearer).status_code == 403
    assert get("/api/v1/patients/BN2026000101/mar/", bearer).status_code == 403


def test_a_client_cannot_ask_for_a_scope_it_was_not_given(frozen_demo):
    created, secret = account(scopes="system/MedicationAdministration.read")
    answer = token_answer(created.client_id, secret, scope="administrations.read")
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_scope"


def test_a_service_token_cannot_check_or_record(frozen_demo):
    created, secret = account()
    bearer = token(created.client_id, secret)
    body = {"patient": image(AN_BAND), "medications": [image(n) for n in PARACETAMOL]}
    for path in ("/api/v1/scan/check/", "/api/v1/administrations/"):
        answer = Client().post(
            path, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {bearer}"
        )
        assert answer.status_code == 403, path


def test_a_token_expires(record):
    created, secret = account()
    bearer = token(created.client_id, secret)
    later = timedelta(seconds=django_settings.OAUTH_ACCESS_TOKEN_SECONDS + 1)
    with time_machine.travel(later):
        assert get(FEED, bearer).status_code == 401


def test_a_revoked_account_loses_its_tokens_and_gets_no_new_one(record):
    created, secret = account()
    bearer = token(created.client_id, secret)

    service_account_revoke(account=created, by=User.objects.get(username="quantri"))

    assert get(FEED, bearer).status_code == 401
    assert token_answer(created.client_id, secret).status_code in (400, 401)


def test_a_wrong_secret_gets_no_token(frozen_demo):
    created, _secret = account()
    assert token_answer(created.client_id, "not-the-secret").status_code == 401


def test_a_nurse_token_of_the_old_kind_no_longer_opens_the_api(record):
    answer = Client().get(FEED, HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert answer.status_code == 401


def test_an_administrator_issues_lists_and_revokes_service_accounts_in_the_pharmacy_site(
    frozen_demo,
):
    # given
    admin = Client()
    admin.force_login(User.objects.get(username="quantri"))

    # when: she creates one, the secret is shown once
    page = admin.post(
        "/pharmacy/hospital/serviceaccount/add/",
        {"name": "Mirth", "scopes": ["administrations.read"]},
    )

    # then
    assert page.status_code == 200, page.content
    created = ServiceAccount.objects.get(name="Mirth")
    secret = re.search(r'data-secret="([^"]+)"', page.content.decode()).group(1)
    assert token_answer(created.client_id, secret).status_code == 200
    listing = admin.get("/pharmacy/hospital/serviceaccount/").content.decode()
    assert "Mirth" in listing and secret not in listing
    # and revokes it
    admin.post(
        "/pharmacy/hospital/serviceaccount/",
        {"action": "revoke", "_selected_action": [str(created.pk)]},
    )
    assert token_answer(created.client_id, secret).status_code in (400, 401)


def test_a_pharmacist_cannot_issue_service_accounts(frozen_demo):
    pharmacist = Client()
    pharmacist.force_login(User.objects.get(username="duocsi.tuan"))
    page = pharmacist.post(
        "/pharmacy/hospital/serviceaccount/add/",
        {"name": "Mirth", "scopes": ["administrations.read"]},
    )
    assert page.status_code == 403
    assert not ServiceAccount.objects.exists()
