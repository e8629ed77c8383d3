"""Issue 14, items 5 and 7: what an anonymous caller can make the server do, and what the answer's
timing tells.

No image is decoded before authentication; a login attempt runs exactly one PIN hasher, whether the
badge is real (right or wrong PIN) or unknown, so neither the CPU cost nor the timing tells a real
badge from an unknown one; a large anonymous body is refused before it is parsed. Counting the
hasher's runs stands in for timing here (speed is measured in bench/, see bench/anon_flood.py)."""

import base64
import io

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.test import Client
from PIL import Image

from tests.scanning.conftest import HOA_BADGE, code, image

pytestmark = pytest.mark.django_db

LAN_BADGE = "8017952000200000000143"
UNKNOWN_BADGE = "8017952000200000099994"  # a valid GSRN no one carries
PHAT = "8018952000100000001167\x1d80191"


class CountingHasher(MD5PasswordHasher):
    algorithm = "counting_md5"
    runs = 0

    def encode(self, password, salt):
        CountingHasher.runs += 1
        return super().encode(password, salt)


@pytest.fixture
def hashes(settings):
    settings.PASSWORD_HASHERS = ["tests.hospital.test_login_cost.CountingHasher"]
    CountingHasher.runs = 0

    def runs_of(call):
        CountingHasher.runs = 0
        call()
        return CountingHasher.runs

    return runs_of


def login(badge, pin, client=None):
    return (client or Client()).post(
        "/api/v1/auth/badge/",
        {"badge": code(badge), "pin": pin, "cart": "NOI-1", "ward": "NOI"},
        content_type="application/json",
    )


@pytest.fixture
def demo_with_counted_pins(frozen_demo, hashes):
    from hospital.auth import stand_in_pin_hash
    from hospital.models import User

    stand_in_pin_hash()  # made once per process: what is counted is each attempt's cost
    # The demo's PINs hashed again by the counting hasher, so that verifying them counts too.
    for user, pin in [("dieuduong.hoa", "111111"), ("dieuduong.lan", "444444")]:
        staff = User.objects.get(username=user)
        staff.set_pin(pin)
        staff.save()
    return hashes


@pytest.mark.parametrize(
    ("badge", "pin", "status"),
    [(HOA_BADGE, "111111", 200), (HOA_BADGE, "000000", 401), (UNKNOWN_BADGE, "000000", 401)],
    ids=["right PIN", "wrong PIN", "unknown badge"],
)
def test_every_login_attempt_runs_exactly_one_pin_hash(demo_with_counted_pins, badge, pin, status):
    answers = []
    runs = demo_with_counted_pins(lambda: answers.append(login(badge, pin)))
    assert answers[0].status_code == status
    assert runs == 1


def test_a_witness_pin_is_hashed_once_per_request(demo_with_counted_pins):
    nurse = Client()
    assert login(HOA_BADGE, "111111", nurse).status_code == 200
    body = {
        "patient": code(PHAT),
        "medications": [image("unit-dose-09520003000070-HEP2608S001.png")],
        "witness": code(LAN_BADGE),
    }
    for pin in ("000000", "444444"):
        runs = demo_with_counted_pins(
            lambda pin=pin: nurse.post(
                "/api/v1/scan/check/", {**body, "witness_pin": pin}, content_type="application/json"
            )
        )
        assert runs == 1, pin


def test_the_badge_login_decodes_no_image(frozen_demo, monkeypatch):
    # given: an image small enough on the wire to pass the body limit, 9 MP once decoded
    def decoding_is_a_failure(*args, **kwargs):
        raise AssertionError("an image was decoded before authentication")

    monkeypatch.setattr("scanning.scans.decode_image", decoding_is_a_failure)
    buffer = io.BytesIO()
    Image.new("L", (3000, 3000)).save(buffer, "PNG", optimize=True)
    assert len(buffer.getvalue()) < 16 * 1024
    bomb = {"image": base64.b64encode(buffer.getvalue()).decode()}

    # when
    answer = Client().post(
        "/api/v1/auth/badge/", {"badge": bomb, "pin": "111111"}, content_type="application/json"
    )

    # then
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "BADGE_TEXT_ONLY"


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/api/v1/auth/badge/", "application/json"),
        ("/api/v1/auth/badge/release/", "application/json"),
        ("/cart/login/", "application/x-www-form-urlencoded"),
        ("/pharmacy/login/", "application/x-www-form-urlencoded"),
        ("/api/v1/scan/decode/", "application/json"),
    ],
)
def test_a_large_anonymous_body_is_refused_before_it_is_parsed(frozen_demo, path, content_type):
    # given: 2 MB that would be parsed (and, as JSON, held in memory several times over)
    body = b"pin=" + b"1" * (2 * 1024 * 1024)

    # when
    answer = Client().generic("POST", path, body, content_type=content_type)

    # then: too large for a login; anywhere else in the API the caller is not logged in
    assert answer.status_code == (401 if "scan/decode" in path else 413)


def test_an_anonymous_multipart_upload_is_refused_before_it_is_read(frozen_demo):
    upload = io.BytesIO(b"\x89PNG" + b"0" * (1024 * 1024))
    upload.name = "badge.png"
    answer = Client().post("/cart/login/", {"badge": upload, "pin": "111111"})
    assert answer.status_code == 413


def test_a_logged_in_nurse_still_sends_camera_frames(nurse_client):
    # The limit is for anonymous callers: a cart's camera frame is a few hundred kilobytes.
    answer = nurse_client.post(
        "/api/v1/scan/decode/",
        image("wristband-BN2026000101.png"),
        format="json",
    )
    assert answer.status_code == 200


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_login_beyond_the_hashing_slots_is_refused_at_once_not_queued(frozen_demo, settings):
    # given: every hashing slot of the deployment taken (another app server hashing a PIN)
    import psycopg
    from django.db import connection

    from hospital.throttle import _HASHING_SLOTS_KEY

    settings.LOGIN_CONCURRENT_HASHES = 1
    db = connection.settings_dict
    other = psycopg.connect(
        dbname=db["NAME"], user=db["USER"], host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432
    )
    try:
        other.execute("SELECT pg_advisory_lock(%s::bigint)", [_HASHING_SLOTS_KEY])

        # when
        busy = login(HOA_BADGE, "111111")

        # then: a quick "try again", not a worker waiting on the lock
        assert busy.status_code == 429
        assert busy.json()["error"]["code"] == "LOGIN_BUSY"
        assert busy["Retry-After"] == "1"
    finally:
        other.close()
    assert login(HOA_BADGE, "111111").status_code == 200
