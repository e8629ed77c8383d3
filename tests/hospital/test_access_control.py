"""Every URL the project serves refuses anonymous requests, except the few that must not."""

import re
import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

# The only doors open to a stranger: the ways in, and choosing a language.
PUBLIC = {
    "cart/login/",
    "pharmacy/login/",
    "api/v1/auth/badge/",
    "i18n/setlang/",
    # A charge nurse's badge and PIN let a nurse in; service accounts' OAuth2 client credentials.
    "cart/release/",
    "api/v1/auth/badge/release/",
    "oauth/token/",
    "oauth/revoke_token/",
    # The load balancer's check, a fixed "ok" with no data (tests/hospital/test_healthz.py).
    "healthz",
}
# Logging out nobody is a no-op that redirects; it reveals and changes nothing.
HARMLESS = {"pharmacy/logout/"}
SAMPLE = {"uuid": str(uuid.uuid4()), "int": "1", "path": "1/1", "str": "X1", "slug": "x", None: "1"}


def walk(patterns, prefix=""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route


def concrete(route: str) -> str:
    route = re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLE.get(m.group(1), "1"), route)
    route = route.lstrip("^").rstrip("$").replace("\\Z", "")
    return route


ROUTES = sorted(set(walk(get_resolver().url_patterns)))


def test_the_walk_found_every_app():
    joined = " ".join(ROUTES)
    for expected in [
        "cart/",
        "pharmacy/",
        "api/v1/scan/check/",
        "api/v1/administrations/",
        "api/v1/schema/",
    ]:
        assert expected in joined


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_requests_are_refused(client, route, method):
    url = "/" + concrete(route)
    if concrete(route) in PUBLIC | HARMLESS or url == "/":
        return
    response = getattr(client, method)(url)
    refused = response.status_code in (401, 403, 404, 405) or (
        response.status_code == 302 and "login" in response["Location"]
    )
    assert refused, f"{method.upper()} {url} answered {response.status_code} to an anonymous client"


def test_the_home_page_sends_strangers_to_a_login(client):
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0].endswith("/cart/login/")
