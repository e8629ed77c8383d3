"""Issue 14, items 4 and 7: a nurse's login is a cart session, never a token; the session ends on
the server after the idle time and on a PIN change, always carries the cart's ward, and cannot be
planted by another site (login CSRF)."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.test import Client

from hospital.models import User
from tests.scanning.conftest import AN_BAND, DEMO_NOW, HOA_BADGE, PARACETAMOL, code, image

pytestmark = pytest.mark.django_db

MAI_BADGE = "8017952000200000000136"  # nurse, NGOAI, PIN 333333
MAR = "/api/v1/patients/BN2026000101/mar/?date=2026-11-24"
HOA_LOGIN = {"badge": code(HOA_BADGE), "pin": "111111", "cart": "NOI-1", "ward": "NOI"}


@pytest.fixture
def now():
    with time_machine.travel(DEMO_NOW, tick=False) as traveller:
        yield traveller


def cart(body=None):
    client = Client()
    answer = client.post("/api/v1/auth/badge/", body or HOA_LOGIN, content_type="application/json")
    assert answer.status_code == 200, answer.content
    return client


def test_a_nurse_cannot_get_an_api_token(frozen_demo):
    answer = Client().post(
        "/api/v1/auth/badge/", {**HOA_LOGIN, "token": True}, content_type="application/json"
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "TOKEN_NOT_FOR_STAFF"
    assert "token" not in answer.json()


def test_the_session_ends_on_the_server_after_the_idle_time(frozen_demo, now):
    # given
    client = cart()
    assert client.get(MAR).status_code == 200

    # when: the cart is left alone past its idle lock (and the page's lock never ran)
    now.shift(timedelta(seconds=django_settings.CART_IDLE_LOCK_SECONDS + 61))

    # then
    assert client.get(MAR).status_code in (401, 403)


def test_each_request_keeps_the_session_alive(frozen_demo, now):
    client = cart()
    for _ in range(6):
        now.shift(timedelta(seconds=django_settings.CART_IDLE_LOCK_SECONDS - 20))
        assert client.get(MAR).status_code == 200


def test_a_session_no_longer_lives_for_days(frozen_demo):
    assert django_settings.SESSION_COOKIE_AGE <= 12 * 3600
    client = Client()
    client.force_login(User.objects.get(username="duocsi.tuan"))
    with time_machine.travel(timedelta(days=1)):
        assert client.get("/pharmacy/").status_code == 302


def test_a_pin_change_ends_the_nurses_other_sessions(frozen_demo):
    # given: Hoa logged in at two carts
    first, second = cart(), cart()

    # when: her PIN is changed
    hoa = User.objects.get(username="dieuduong.hoa")
    hoa.set_pin("918273")
    hoa.save()

    # then: both sessions end; the new PIN opens a new one
    assert first.get(MAR).status_code in (401, 403)
    assert second.get(MAR).status_code in (401, 403)
    assert cart({**HOA_LOGIN, "pin": "918273"}).get(MAR).status_code == 200


def test_a_check_without_a_cart_ward_is_refused_not_silently_go(frozen_demo):
    # given: a nurse whose session names no cart ward (e.g. logged in by some other path);
    # Mai works on NGOAI, and An lies on NOI: at a cart this is WARN WRONG_WARD
    mai = Client()
    mai.force_login(User.objects.get(username="dieuduong.mai"))
    body = {"patient": image(AN_BAND), "medications": [image(n) for n in PARACETAMOL]}

    # when
    answer = mai.post("/api/v1/scan/check/", body, content_type="application/json")

    # then: never GO where a cart session would warn
    assert answer.status_code == 400, answer.content
    assert answer.json()["error"]["code"] == "WARD_REQUIRED"
    at_cart = cart({**HOA_LOGIN, "badge": code(MAI_BADGE), "pin": "333333", "ward": "NGOAI"})
    warned = at_cart.post("/api/v1/scan/check/", body, content_type="application/json").json()
    assert "WRONG_WARD" in [f["code"] for f in warned["findings"]]


# --------------------------------------------------------------------------- login CSRF


def test_a_cross_site_form_post_to_the_api_login_sets_no_session(frozen_demo):
    # given: another site's page posting a form to the badge login (DRF reads `badge.code`)
    browser = Client(enforce_csrf_checks=True)

    # when
    answer = browser.post(
        "/api/v1/auth/badge/",
        {"badge.code": HOA_BADGE, "pin": "111111", "ward": "NOI", "cart": "NOI-1"},
    )

    # then
    assert answer.status_code in (403, 415)
    assert django_settings.SESSION_COOKIE_NAME not in answer.cookies


def test_a_json_login_without_the_csrf_token_sets_no_session(frozen_demo):
    browser = Client(enforce_csrf_checks=True)
    answer = browser.post("/api/v1/auth/badge/", HOA_LOGIN, content_type="application/json")
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "CSRF_FAILED"
    assert django_settings.SESSION_COOKIE_NAME not in answer.cookies


def test_the_cart_logs_in_through_the_api_with_its_csrf_token(frozen_demo):
    # given: the token comes from the login endpoint itself (or any page's cookie)
    browser = Client(enforce_csrf_checks=True)
    token = browser.get("/api/v1/auth/badge/").json()["csrf_token"]

    # when
    answer = browser.post(
        "/api/v1/auth/badge/", HOA_LOGIN, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )

    # then
    assert answer.status_code == 200
    assert browser.get(MAR).status_code == 200


def test_a_cross_site_post_to_the_cart_login_form_sets_no_session(frozen_demo):
    browser = Client(enforce_csrf_checks=True)
    answer = browser.post(
        "/cart/login/", {"badge": HOA_BADGE, "pin": "111111", "ward": "NOI", "cart": "NOI-1"}
    )
    assert answer.status_code == 403
    assert django_settings.SESSION_COOKIE_NAME not in answer.cookies


def test_a_malformed_multipart_login_is_a_4xx_not_a_500(frozen_demo):
    browser = Client(enforce_csrf_checks=True)
    answer = browser.generic(
        "POST", "/api/v1/auth/badge/", b"{}", content_type="multipart/form-data"
    )
    assert 400 <= answer.status_code < 500


def test_an_administrator_sets_a_pin_and_the_nurses_sessions_end(frozen_demo):
    # given
    first = cart()
    admin = Client()
    admin.force_login(User.objects.get(username="quantri"))
    hoa = User.objects.get(username="dieuduong.hoa")

    # when
    page = admin.post(
        f"/pharmacy/hospital/user/{hoa.pk}/pin/", {"pin": "918273", "again": "918273"}
    )
    short = admin.post(f"/pharmacy/hospital/user/{hoa.pk}/pin/", {"pin": "1234", "again": "1234"})

    # then
    assert page.status_code == 302
    assert short.status_code == 200  # the form again: four digits are refused
    assert first.get(MAR).status_code in (401, 403)
    assert cart({**HOA_LOGIN, "pin": "918273"}).get(MAR).status_code == 200


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"badge": "", "pin": "", "ward": ""}, "badge", "Scan your badge first."),
        ({"badge": HOA_BADGE, "pin": "1111", "ward": "NOI"}, "pin", "A PIN has 6 to 8 digits."),
        (
            {"badge": HOA_BADGE, "pin": "111111", "ward": ""},
            "ward",
            "Choose the ward of this cart.",
        ),
    ],
)
def test_a_login_form_sent_before_the_page_script_ran_is_explained_not_counted(
    frozen_demo, form, field, message
):
    # A fast Enter can post the form before login.js has loaded: the server says what the script
    # would have said, names the field, and counts no failed attempt.
    from hospital.models import LoginThrottle

    browser = Client()
    browser.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    answer = browser.post("/cart/login/", {**form, "cart": "NOI-1"})

    assert answer.status_code == 400
    page = answer.content.decode()
    assert f'<p class="error" role="alert" id="login-problem">✕ {message}</p>' in page
    assert f'data-focus="{field}"' in page
    assert django_settings.SESSION_COOKIE_NAME not in answer.cookies
    assert not LoginThrottle.objects.exists()
