"""The cart's pages (scanning/web/views.py) for issue 13, item 2: the countdown before the idle
lock, and the login after a lock that left a scanned dose unrecorded."""

import pytest
from django.test import Client

from scanning.web.views import idle_warning_seconds

pytestmark = pytest.mark.django_db

HOA_LOGIN = {"badge": "]C18017952000200000000112", "pin": "111111", "ward": "NOI", "cart": "NOI-1"}


def cart() -> Client:
    client = Client()
    assert client.post("/cart/login/", HOA_LOGIN).status_code == 302
    return client


def test_a_lock_with_an_unrecorded_dose_is_named_once_at_the_login(frozen_demo):
    # given
    client = cart()

    # when: the page locks itself with a GO on screen
    response = client.post(
        "/cart/logout/", {"reason": "idle", "unrecorded": "Paracetamol 500 mg viên nén 1000 mg"}
    )

    # then: the login says the dose was NOT recorded, once, and the session is gone
    assert response["Location"] == "/cart/login/?locked=1"
    page = client.get(response["Location"]).content.decode()
    assert 'id="lock-unrecorded"' in page
    assert "Paracetamol 500 mg viên nén 1000 mg" in page
    assert "CHƯA được ghi nhận" in page
    assert 'id="lock-unrecorded"' not in client.get("/cart/login/?locked=1").content.decode()
    assert client.get("/cart/").status_code == 302


def test_a_logout_by_hand_names_no_dose(frozen_demo):
    client = cart()

    response = client.post("/cart/logout/", {"reason": "", "unrecorded": "Paracetamol 1 g"})

    assert 'id="lock-unrecorded"' not in client.get(response["Location"]).content.decode()


def test_what_the_page_names_is_text_and_short(frozen_demo):
    client = cart()

    response = client.post(
        "/cart/logout/", {"reason": "idle", "unrecorded": "<b>x</b>\n" + "y" * 500}
    )

    page = client.get(response["Location"]).content.decode()
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt; " + "y" * 111 + "." in page


@pytest.mark.parametrize(
    ("idle", "chosen", "countdown"),
    [
        (120, None, 30),  # 30 s
        (60, None, 15),  # a quarter of a short idle time
        (2, None, 1),  # at least a second
        (12, 8, 8),  # the setting
        (12, 30, 11),  # never the whole idle time
    ],
)
def test_the_countdown_before_the_idle_lock(settings, idle, chosen, countdown):
    settings.CART_IDLE_LOCK_SECONDS = idle
    settings.CART_IDLE_WARNING_SECONDS = chosen

    assert idle_warning_seconds() == countdown


def test_the_terminal_tells_its_page_who_is_logged_in(frozen_demo, settings):
    settings.CART_IDLE_LOCK_SECONDS = 60
    client = cart()

    config = client.get("/cart/").context["config"]

    assert config["username"] == "dieuduong.hoa"
    assert config["nurseName"] == "Nguyễn Thị Hoa"
    assert config["idleWarningSeconds"] == 15
    assert config["administeringRoles"] == ["charge_nurse", "nurse", "student_nurse"]


def test_the_json_login_names_the_nurse_as_the_ward_says_it(frozen_demo):
    client = Client()
    answer = client.post(
        "/api/v1/auth/badge/",
        {"badge": {"code": HOA_LOGIN["badge"]}, "pin": "111111", "cart": "NOI-1", "ward": "NOI"},
        content_type="application/json",
    )

    assert answer.status_code == 200
    assert answer.json()["display_name"] == "Nguyễn Thị Hoa"


def test_the_carts_wards_are_listed_by_hospital_and_another_hospitals_ward_refuses_her(
    frozen_demo,
):
    # given: a province of two hospitals, each with its own internal medicine ward
    page = Client().get("/cart/login/").content.decode()

    # then: the ward picker groups them under their hospitals
    def group(hospital: str) -> str:
        start = page.index(f'<optgroup label="{hospital}">')
        return page[start : page.index("</optgroup>", start)]

    general, bai_chay = group("Bệnh viện Đa khoa tỉnh (demo)"), group("Bệnh viện Bãi Cháy (demo)")
    assert 'value="NOI"' in general and 'value="NGOAI"' in general
    assert 'value="BC-NOI"' in bai_chay and 'value="NOI"' not in bai_chay

    # when: a nurse of the provincial hospital picks Bãi Cháy's ward
    response = Client().post("/cart/login/", {**HOA_LOGIN, "ward": "BC-NOI"})

    # then: no session, and the reason in her language
    assert response.status_code == 401
    assert "_auth_user_id" not in response.wsgi_request.session
    assert "Bạn không được phân công ở khoa này." in response.content.decode()
