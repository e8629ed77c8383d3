import pytest
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions

from hospital.api import exception_handler
from hospital.exceptions import ApplicationError


class WristbandVoidError(ApplicationError):
    code = "WRISTBAND_VOID"
    status = 422


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (WristbandVoidError("This band was replaced."), 422, "WRISTBAND_VOID"),
        (ApplicationError("no", code="REASON_REQUIRED", status=400), 400, "REASON_REQUIRED"),
        (exceptions.ValidationError({"code": ["This field is required."]}), 400, "INVALID_INPUT"),
        (DjangoValidationError({"gtin": ["bad"]}), 400, "INVALID_INPUT"),
        (exceptions.NotAuthenticated(), 401, "NOT_AUTHENTICATED"),
        (exceptions.PermissionDenied(), 403, "PERMISSION_DENIED"),
        (PermissionDenied(), 403, "PERMISSION_DENIED"),
        (Http404(), 404, "NOT_FOUND"),
        (exceptions.ParseError(), 400, "PARSE_ERROR"),
        (exceptions.Throttled(wait=3), 429, "THROTTLED"),
        (RequestDataTooBig(), 413, "REQUEST_TOO_LARGE"),
        (ZeroDivisionError(), 500, "SERVER_ERROR"),
    ],
)
def test_every_error_has_the_one_json_shape(exc, status, code):
    response = exception_handler(exc, {})
    assert response.status_code == status
    error = response.data["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], dict | list)


def test_validation_details_keep_the_field_messages():
    response = exception_handler(
        exceptions.ValidationError({"code": ["This field is required."]}), {}
    )
    assert response.data["error"]["details"] == {"code": ["This field is required."]}


def test_an_unexpected_error_reveals_nothing_of_the_exception():
    response = exception_handler(RuntimeError("password=hunter2 at /srv/app.py line 3"), {})
    assert "hunter2" not in str(response.data)


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post"])
def test_an_api_path_without_its_slash_is_a_json_404_not_a_redirect(client, method):
    # when: the cart posts to /api/v1/administrations (no slash)
    if method == "post":
        response = client.post("/api/v1/administrations", "{}", content_type="application/json")
    else:
        response = client.get("/api/v1/administrations")

    # then: no 301 that would resend the POST as a GET; a JSON answer naming the right path
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == "NOT_FOUND"
    assert error["details"]["path"] == "/api/v1/administrations/"


@pytest.mark.django_db
def test_pages_outside_the_api_still_get_their_slash(client):
    response = client.get("/cart")

    assert response.status_code == 301 and response["Location"] == "/cart/"


@pytest.mark.django_db
def test_a_bad_host_header_gets_json_under_the_api(client, settings):
    settings.ALLOWED_HOSTS = ["bcma.example.org"]
    settings.DEBUG = False

    api = client.post("/api/v1/auth/badge/", {}, HTTP_HOST="evil.example.com")
    page = client.get("/cart/", HTTP_HOST="evil.example.com")

    assert api.status_code == 400 and api["Content-Type"] == "application/json"
    assert api.json()["error"]["code"] == "BAD_REQUEST"
    assert page.status_code == 400 and "json" not in page["Content-Type"]
