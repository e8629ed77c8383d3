"""The world the API fuzzer runs in: the demo hospital at 08:10, cart sessions for a nurse, a
charge nurse and a pharmacist, a service account's OAuth2 token, and a few records of every status for the correction
endpoint to work on. Every example runs in a savepoint that is rolled back, so each one sees
exactly this world whatever the examples before it wrote."""

import json
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from werkzeug.test import Client

import gs1
from pharmacy.demo import DEMO_NAMESPACE, read_demo
from pharmacy.models import ScheduledDose
from tests.demo_copy import demo_hospital_copy
from tests.scanning.conftest import DEMO_NOW
from wards.models import Patient

# hospital.wsgi defaults DJANGO_SETTINGS_MODULE to production; pytest-django has already
# configured the test settings, so build the handler directly.
APP = get_wsgi_application()

BARCODES = json.loads((settings.BASE_DIR / "fixtures" / "barcodes" / "index.json").read_text())
DEMO = read_demo()


def _codes(kind: str) -> list[str]:
    return sorted(
        {
            entry["element_string"]
            for name, entry in BARCODES.items()
            if entry["kind"] == kind and name.endswith(".png")
        }
    )


WRISTBANDS = _codes("wristband")
BADGES = _codes("badge")
MEDICATIONS = _codes("medication")
PINS = sorted({staff["pin"] for staff in DEMO["staff"] if staff["pin"]})
WARDS = [ward["code"] for ward in DEMO["wards"]]
MRNS = [patient["mrn"] for patient in DEMO["patients"]]
ORDERS = [str(uuid.uuid5(DEMO_NAMESPACE, order["key"])) for order in DEMO["orders"]]


def barcode(kind: str, **match) -> str:
    return next(
        entry["element_string"]
        for entry in BARCODES.values()
        if entry["kind"] == kind and all(entry.get(k) == v for k, v in match.items())
    )


def _unit_doses(medication: str) -> list[str]:
    spec = next(m for m in DEMO["medications"] if m["code"] == medication)
    gtins = {gs1.normalize_gtin(gs1.make_gtin(p["gtin_ref"])) for p in spec["packages"]}
    return sorted(
        entry["element_string"]
        for name, entry in BARCODES.items()
        if entry["kind"] == "medication" and entry.get("gtin") in gtins and name.endswith(".png")
    )


@dataclass(frozen=True)
class DemoOrder:
    """What a nurse would scan for one demo order: the patient's band and the drug's unit doses."""

    id: str
    wristband: str
    unit_doses: tuple[str, ...]
    dose: tuple[str, str]
    units: int  # how many unit doses make the ordered dose, when they are whole units


def _units(order: dict) -> int:
    spec = next(m for m in DEMO["medications"] if m["code"] == order["medication"])
    (strength, unit), (dose, dose_unit) = spec["strength"], order["dose"]
    ratio = Decimal(dose) / Decimal(strength) if unit == dose_unit and "per" not in spec else 1
    return int(ratio) if ratio == int(ratio) and 1 <= ratio <= 4 else 1


DEMO_ORDERS = [
    DemoOrder(
        id=str(uuid.uuid5(DEMO_NAMESPACE, order["key"])),
        wristband=barcode("wristband", mrn=order["mrn"]),
        unit_doses=tuple(_unit_doses(order["medication"])),
        dose=tuple(order["dose"]),
        units=_units(order),
    )
    for order in DEMO["orders"]
]


def scan(text: str) -> dict:
    return {"code": text, "keyed": False}


# A valid 32-character CSRF secret, sent as cookie and header with every session request.
CSRF = "fuzzcsrf" * 4


@dataclass
class World:
    sessions: dict[str, str]  # role → a cart session's cookie (staff have no tokens)
    bearer: str  # a service account's OAuth2 token, every scope
    administrations: list[str] = field(default_factory=list)
    doses: list[str] = field(default_factory=list)
    doses_by_order: dict[str, list[str]] = field(default_factory=dict)
    patients: list[str] = field(default_factory=list)


def session_transport(session: str) -> dict:
    return {
        "headers": {"X-CSRFToken": CSRF},
        "cookies": {"sessionid": session, "csrftoken": CSRF},
    }


def _post(path: str, body: dict, session: str, **headers) -> dict:
    client = Client(APP)
    client.set_cookie("sessionid", session)
    client.set_cookie("csrftoken", CSRF)
    response = client.post(path, json=body, headers={"X-CSRFToken": CSRF, **headers})
    assert response.status_code == 201, (path, response.status_code, response.get_data(True))
    return response.json


def _login(username: str, *, ward: str = "") -> str:
    """A cart's login through the API (with its CSRF token); the session cookie."""
    client = Client(APP)
    client.set_cookie("csrftoken", CSRF)
    staff = next(s for s in DEMO["staff"] if s["username"] == username)
    response = client.post(
        "/api/v1/auth/badge/",
        json={
            "badge": scan(barcode("badge", username=username)),
            "pin": staff["pin"],
            "cart": "NOI-1",
            "ward": ward,
        },
        headers={"X-CSRFToken": CSRF},
    )
    assert response.status_code == 200, response.get_data(True)
    return client.get_cookie("sessionid").value


def _service_account_token() -> str:
    from hospital.models import User
    from hospital.scopes import SCOPES
    from hospital.service_accounts import service_account_create

    account, secret = service_account_create(
        name="fuzz", scopes=list(SCOPES), by=User.objects.get(username="quantri")
    )
    response = Client(APP).post(
        "/oauth/token/",
        data={"grant_type": "client_credentials"},
        auth=(account.client_id, secret),
    )
    assert response.status_code == 200, response.get_data(True)
    return response.json["access_token"]


@pytest.fixture
def wsgi_keeps_the_test_connection():
    """The WSGI handler closes the database connection after every request, which would end the
    test's transaction on PostgreSQL; Django's own test client unhooks the same handler."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_world(db, wsgi_keeps_the_test_connection):
    with time_machine.travel(DEMO_NOW, tick=False):
        demo_hospital_copy()
        sessions = {
            "nurse": _login("dieuduong.hoa", ward="NOI"),
            "charge_nurse": _login("dieuduong.lan", ward="NOI"),
            "pharmacist": _login("duocsi.tuan"),
        }
        bearer = _service_account_token()
        nurse = sessions["nurse"]
        given = _post(
            "/api/v1/administrations/",
            {
                "patient": scan(barcode("wristband", mrn="BN2026000101")),
                "medications": [
                    scan(barcode("medication", serial="PCM2611AS001")),
                    scan(barcode("medication", serial="PCM2611AS002")),
                ],
            },
            nurse,
            **{"Idempotency-Key": "fuzz-world-1"},
        )
        corrected = _post(
            "/api/v1/administrations/",
            {
                "patient": scan(barcode("wristband", mrn="BN2026000108")),
                "medications": [scan(barcode("medication", serial="ASP2610S001"))],
            },
            nurse,
        )
        correction = _post(
            f"/api/v1/administrations/{corrected['id']}/correct/",
            {
                "reason": "wrong_dose",
                "comment": "81 mg, not 162",
                "replacement_amount": "81",
                "replacement_unit": "mg",
            },
            nurse,
        )
        not_given = _post(
            "/api/v1/administrations/not-given/",
            {
                "patient": scan(barcode("wristband", mrn="BN2026000105")),
                "order": str(uuid.uuid5(DEMO_NAMESPACE, "duc-omeprazole")),
                "reason": "refused",
            },
            nurse,
        )
        doses = ScheduledDose.objects.order_by("due_at", "pk").values_list(
            "order__external_id", "external_id"
        )
        yield World(
            sessions=sessions,
            bearer=bearer,
            administrations=[
                given["id"],
                corrected["id"],
                correction["entered_in_error"]["id"],
                correction["replacement"]["id"],
                not_given["id"],
            ],
            doses=[str(dose) for _order, dose in doses],
            doses_by_order={
                order: [str(d) for o, d in doses if str(o) == order] for order in ORDERS
            },
            patients=[
                str(external_id)
                for external_id in Patient.objects.order_by("mrn").values_list(
                    "external_id", flat=True
                )
            ],
        )
