"""Issue 14, item 1: nobody can lock the nurses out, and nobody can guess PINs at speed.

Failures are counted per credential *and* source (IP address and cart), with delays that grow
rather than a lock a stranger can trigger; one source trying many badges is limited on its own;
a burst alerts the administrator; a charge nurse or an administrator lets a delayed nurse in.
Everything lives in the database, so several app servers share it."""

import logging
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from hospital.models import LoginThrottle, SecurityEvent, SecurityEventKind, User
from tests.factories import NurseFactory
from tests.scanning.conftest import DEMO_NOW, HOA_BADGE, code, image

pytestmark = pytest.mark.django_db

LAN_BADGE = "8017952000200000000143"  # charge nurse, PIN 444444
MAI_BADGE = "8017952000200000000136"  # nurse, NGOAI, PIN 333333
PHAT = "8018952000100000001167\x1d80191"  # heparin IV due on NGOAI: needs a witness
STRANGER, HOA_CART = "10.9.9.9", "10.1.1.21"


def login(client, pin, *, badge=HOA_BADGE, ip=HOA_CART, cart="NOI-1", ward="NOI"):
    return client.post(
        "/api/v1/auth/badge/",
        {"badge": code(badge), "pin": pin, "cart": cart, "ward": ward},
        content_type="application/json",
        REMOTE_ADDR=ip,
    )


@pytest.fixture
def now():
    with time_machine.travel(DEMO_NOW, tick=False) as traveller:
        yield traveller


def test_a_stranger_guessing_from_elsewhere_does_not_lock_the_nurse_out(frozen_demo, client):
    # given: the attack of the issue, 25 wrong PINs on Hoa's printed badge number from one machine
    for _ in range(25):
        login(client, "000000", ip=STRANGER, cart="")

    # when: Hoa logs in at her cart
    answer = login(Client(), "111111")

    # then
    assert answer.status_code == 200, answer.content


def test_wrong_pins_bring_growing_delays_not_a_lock(frozen_demo, now, settings):
    # given
    settings.LOGIN_FREE_FAILURES = 3
    settings.LOGIN_DELAY_BASE_SECONDS = 5
    client = Client()
    statuses = [login(client, "000000").status_code for _ in range(4)]

    # when: a fifth try at once
    too_soon = login(client, "111111")

    # then: refused without looking at the PIN, and told for how long
    assert statuses == [401, 401, 401, 401]
    assert too_soon.status_code == 429
    assert too_soon.json()["error"]["code"] == "LOGIN_THROTTLED"
    waits = [int(too_soon["Retry-After"])]
    assert waits[0] == 5

    # and each further failure doubles the wait, after which a try is allowed again
    now.shift(timedelta(seconds=5))
    assert login(client, "000000").status_code == 401
    waits.append(int(login(client, "000000")["Retry-After"]))
    now.shift(timedelta(seconds=waits[-1]))
    assert login(client, "111111").status_code == 200
    assert waits == [5, 10]


def test_the_delay_is_capped(frozen_demo, now, settings):
    settings.LOGIN_FREE_FAILURES = 1
    settings.LOGIN_DELAY_BASE_SECONDS = 5
    settings.LOGIN_DELAY_MAX_SECONDS = 60
    client = Client()
    for _ in range(12):
        login(client, "000000")
        now.shift(timedelta(seconds=61))
    login(client, "000000")

    assert int(login(client, "000000")["Retry-After"]) <= 60


def test_a_good_login_forgets_the_failures_of_that_badge_at_that_cart(frozen_demo, now, settings):
    settings.LOGIN_FREE_FAILURES = 3
    client = Client()
    for _ in range(3):
        login(client, "000000")
    assert login(client, "111111").status_code == 200

    statuses = [login(Client(), "000000").status_code for _ in range(3)]

    assert statuses == [401, 401, 401]


def test_one_source_trying_many_badges_is_limited_across_badges(frozen_demo, now, settings):
    # given: one wrong PIN on each of many badges (printed, sequential) from one machine
    settings.LOGIN_SOURCE_FREE_FAILURES = 10
    client = Client()
    statuses = [
        login(client, "000000", badge=f"8017{NurseFactory().badge_gsrn}", ip=STRANGER).status_code
        for _ in range(12)
    ]

    # then: the source is held back, whichever badge it tries next, even a real one
    assert statuses[:10] == [401] * 10
    assert statuses[11] == 429
    assert login(client, "111111", ip=STRANGER).status_code == 429
    # and the wards' own carts are not
    assert login(Client(), "111111").status_code == 200


def test_a_burst_from_one_source_alerts_the_administrator(frozen_demo, now, settings, caplog):
    # given
    settings.LOGIN_SOURCE_FREE_FAILURES = 5
    settings.ADMINS = [("Quản trị", "quantri@benhvien.example")]
    client = Client()

    # when
    with caplog.at_level(logging.WARNING, logger="bcma.security"):
        for _ in range(20):
            login(client, "000000", badge=f"8017{NurseFactory().badge_gsrn}", ip=STRANGER)

    # then: one alert (not twenty), in the log, in the pharmacy site's list and by e-mail
    events = SecurityEvent.objects.filter(kind=SecurityEventKind.SOURCE_THROTTLED)
    assert [(e.source_ip, e.failures) for e in events] == [(STRANGER, 6)]
    assert [r for r in caplog.records if STRANGER in r.getMessage()]
    assert len(mail.outbox) == 1 and STRANGER in mail.outbox[0].body


def test_the_security_events_are_listed_in_the_pharmacy_site(frozen_demo, now, settings):
    """A stranger's address concerns no hospital's staff: the province's IT (a superuser) reads
    its alert and its delay; a hospital's administrator reads her own nurses' delays
    (backoffice/tenancy.py)."""
    settings.LOGIN_SOURCE_FREE_FAILURES = 2
    for _ in range(4):
        login(Client(), "000000", ip=STRANGER)
    login(Client(), "000000")  # Hoa's own wrong PIN, at her cart
    root, admin = Client(), Client()
    root.force_login(User.objects.create_superuser("tinh.it", password="x" * 12))
    admin.force_login(User.objects.get(username="quantri"))

    page = root.get("/pharmacy/hospital/securityevent/")
    delays = root.get("/pharmacy/hospital/loginthrottle/")
    hers = admin.get("/pharmacy/hospital/loginthrottle/").context_data["cl"].queryset

    assert page.status_code == 200 and STRANGER in page.content.decode()
    assert delays.status_code == 200 and STRANGER in delays.content.decode()
    # her nurse's badge at both sources (the stranger tried it too), no source's own counter
    assert {(row.credential, row.source_ip) for row in hers} == {
        (HOA_BADGE[4:], STRANGER),
        (HOA_BADGE[4:], HOA_CART),
    }
    assert STRANGER not in admin.get("/pharmacy/hospital/securityevent/").content.decode()


def delay_hoa(settings):
    settings.LOGIN_FREE_FAILURES = 1
    client = Client()
    login(client, "000000")
    login(client, "000000")
    assert login(client, "111111").status_code == 429


def test_a_charge_nurse_lets_a_delayed_nurse_in_at_the_cart(frozen_demo, now, settings):
    # given
    delay_hoa(settings)

    # when: the charge nurse scans the nurse's badge, then her own, and types her PIN
    released = Client().post(
        "/api/v1/auth/badge/release/",
        {"badge": code(HOA_BADGE), "by": code(LAN_BADGE), "pin": "444444"},
        content_type="application/json",
        REMOTE_ADDR=HOA_CART,
    )

    # then: the nurse logs in with her own PIN at once, and the release is on record
    assert released.status_code == 200, released.content
    assert login(Client(), "111111").status_code == 200
    event = SecurityEvent.objects.get(kind=SecurityEventKind.RELEASED)
    assert event.actor.username == "dieuduong.lan" and event.credential == HOA_BADGE[4:]


def test_the_cart_page_lets_a_charge_nurse_release_a_nurse(frozen_demo, now, settings):
    delay_hoa(settings)
    page = Client().post(
        "/cart/release/",
        {"badge": HOA_BADGE, "by": LAN_BADGE, "pin": "444444"},
        REMOTE_ADDR=HOA_CART,
    )
    assert page.status_code == 200 and "Hoa" in page.content.decode()
    assert login(Client(), "111111").status_code == 200


def test_a_nurse_cannot_release_another_nurse(frozen_demo, now, settings):
    delay_hoa(settings)
    released = Client().post(
        "/api/v1/auth/badge/release/",
        {"badge": code(HOA_BADGE), "by": code(MAI_BADGE), "pin": "333333"},
        content_type="application/json",
        REMOTE_ADDR=HOA_CART,
    )
    assert released.status_code == 403
    assert released.json()["error"]["code"] == "RELEASE_NOT_ALLOWED"
    assert login(Client(), "111111").status_code == 429


def test_an_administrator_lets_a_nurse_in_from_the_pharmacy_site(frozen_demo, now, settings):
    delay_hoa(settings)
    admin = Client()
    admin.force_login(User.objects.get(username="quantri"))
    rows = LoginThrottle.objects.filter(credential=HOA_BADGE[4:])

    page = admin.post(
        "/pharmacy/hospital/loginthrottle/",
        {"action": "release", "_selected_action": [str(row.pk) for row in rows]},
    )

    assert page.status_code == 302
    assert login(Client(), "111111").status_code == 200
    assert SecurityEvent.objects.get(kind=SecurityEventKind.RELEASED).actor.username == "quantri"


def test_guessing_a_witness_pin_is_throttled_like_a_login(frozen_demo, now, settings):
    # given
    settings.LOGIN_FREE_FAILURES = 2
    nurse = Client()
    assert login(nurse, "333333", badge=MAI_BADGE, ward="NGOAI").status_code == 200
    body = {
        "patient": code(PHAT),
        "medications": [image("unit-dose-09520003000070-HEP2608S001.png")],
        "witness": code(LAN_BADGE),
    }

    def check(pin):
        return nurse.post(
            "/api/v1/scan/check/",
            {**body, "witness_pin": pin},
            content_type="application/json",
            REMOTE_ADDR=HOA_CART,
        )

    for guess in ["000001", "000002", "000003"]:
        check(guess)

    # then: the witness's badge is held back at this cart, and the cart is told so
    held = check("444444")
    assert held.status_code == 429
    assert held.json()["error"]["code"] == "LOGIN_THROTTLED"
    # and the charge nurse still logs in at her own cart
    assert login(Client(), "444444", badge=LAN_BADGE, ip="10.1.1.40").status_code == 200


def test_the_cart_login_page_says_how_long_to_wait(frozen_demo, now, settings):
    settings.LOGIN_FREE_FAILURES = 1
    client = Client()
    for _ in range(2):
        client.post("/cart/login/", {"badge": HOA_BADGE, "pin": "000000", "ward": "NOI"})

    page = client.post("/cart/login/", {"badge": HOA_BADGE, "pin": "111111", "ward": "NOI"})

    assert page.status_code == 429
    assert "giây" in page.content.decode()  # "wait N seconds"
    assert "/cart/release/" in page.content.decode()


def test_failures_are_forgotten_after_a_quiet_hour(frozen_demo, now, settings):
    settings.LOGIN_FREE_FAILURES = 1
    client = Client()
    login(client, "000000")
    login(client, "000000")
    now.shift(timedelta(seconds=settings.LOGIN_FORGET_AFTER_SECONDS + 1))
    assert [login(client, "000000").status_code for _ in range(2)] == [401, 401]


def test_the_throttle_is_kept_in_the_database(frozen_demo, now, settings):
    # Two app servers see the same delays: nothing is kept in the process.
    settings.LOGIN_FREE_FAILURES = 1
    login(Client(), "000000")
    login(Client(), "000000")
    row = LoginThrottle.objects.get(credential=HOA_BADGE[4:])
    assert row.failures == 2 and row.blocked_until > timezone.now()


@pytest.mark.parametrize("pin", ["1234", "12345", "abcdef", "123456789"])
def test_a_pin_has_six_to_eight_digits(pin):
    with pytest.raises(ValidationError):
        User(username="x").set_pin(pin)


def test_password_guessing_at_the_pharmacy_site_is_throttled(frozen_demo, now, settings):
    settings.LOGIN_FREE_FAILURES = 2
    client = Client()

    def log_in(password):
        return client.post(
            "/pharmacy/login/",
            {"username": "duocsi.tuan", "password": password},
            REMOTE_ADDR=STRANGER,
        )

    statuses = [log_in("wrong").status_code for _ in range(3)]

    assert statuses == [200, 200, 200]  # the form again, with its error
    refused = log_in("duocsi-demo-2026")
    assert refused.status_code == 429 and int(refused["Retry-After"]) == 5
    now.shift(timedelta(seconds=5))
    assert log_in("duocsi-demo-2026").status_code == 302


def test_a_flood_of_refused_logins_writes_no_line_per_request(frozen_demo, now, settings, caplog):
    # A line per refused request would cost the server and fill the disk: the alert is enough.
    settings.LOGIN_FREE_FAILURES = 1
    client = Client()
    with caplog.at_level(logging.INFO):
        for _ in range(30):
            login(client, "000000")
    refused = [r for r in caplog.records if getattr(r, "status_code", None) == 429]
    assert refused == []
