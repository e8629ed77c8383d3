import pytest

from tests.scanning.conftest import HOA_BADGE, badge_client, code, image

pytestmark = pytest.mark.django_db

PHAT = "8018952000100000001167\x1d80191"  # heparin IV due: high-alert, needs a witness
LAN = "8017952000200000000143"  # charge nurse, PIN 4444


@pytest.fixture(autouse=True)
def axes_on(settings):
    settings.AXES_ENABLED = True


def login(client, pin):
    return client.post(
        "/api/v1/auth/badge/",
        {"badge": code(HOA_BADGE), "pin": pin},
        content_type="application/json",
    )


def test_five_wrong_pins_lock_the_badge_even_against_the_right_pin(frozen_demo, client):
    # given
    statuses = [login(client, "0000").status_code for _ in range(5)]
    # when
    right_pin = login(client, "1111")
    # then
    assert statuses == [401, 401, 401, 401, 429]
    assert right_pin.status_code == 429
    assert right_pin.json()["error"]["code"] == "LOCKED_OUT"


def test_guessing_a_witness_pin_locks_the_witness_badge(frozen_demo):
    nurse = badge_client("8017952000200000000136", "3333", ward="NGOAI")
    body = {
        "patient": code(PHAT),
        "medications": [image("unit-dose-09520003000070-HEP2608S001.png")],
        "witness": code(LAN),
    }
    for guess in ["0001", "0002", "0003", "0004", "0005"]:
        nurse.post("/api/v1/scan/check/", {**body, "witness_pin": guess}, format="json")
    # the right PIN no longer helps: the witness's badge is locked, and the cart is told so
    check = nurse.post("/api/v1/scan/check/", {**body, "witness_pin": "4444"}, format="json")
    assert check.status_code == 429
    assert check.json()["error"]["code"] == "LOCKED_OUT"
    recorded = nurse.post(
        "/api/v1/administrations/", {**body, "witness_pin": "4444"}, format="json"
    )
    assert recorded.status_code == 429


def test_the_cart_login_page_says_locked(frozen_demo, client):
    for _ in range(5):
        client.post("/cart/login/", {"badge": HOA_BADGE, "pin": "0000"})
    page = client.post("/cart/login/", {"badge": HOA_BADGE, "pin": "1111"})
    assert page.status_code == 429
    assert "15 phút" in page.content.decode()
