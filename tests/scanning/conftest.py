import base64
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from rest_framework.test import APIClient

from tests.demo_copy import demo_hospital_copy

BARCODES = settings.BASE_DIR / "fixtures" / "barcodes"
# 08:10 in Hồ Chí Minh City: the demo's "due now" orders have a dose at 08:00.
DEMO_NOW = datetime(2026, 11, 24, 8, 10, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))

HOA_BADGE = "8017952000200000000112"  # nurse, NOI, PIN 111111
BINH_BADGE = "8017952000200000000129"  # nurse, NOI, PIN 222222
TUAN_BADGE = "8017952000200000000150"  # pharmacist, PIN 555555
AN_BAND = "wristband-BN2026000101.png"  # paracetamol 1 g due 08:00
NGOC_BAND = "wristband-BN2026000102.png"
PARACETAMOL = [
    "unit-dose-08936012345001-PCM2611AS001.png",
    "unit-dose-08936012345001-PCM2611AS002.png",
]
PARACETAMOL_EXPIRED = "unit-dose-08936012345001-PCM2409XS001.png"
METFORMIN = "unit-dose-08936012345049-MET2610S001.png"


def image(name: str) -> dict:
    return {"image": base64.b64encode((BARCODES / name).read_bytes()).decode()}


def code(text: str, keyed: bool = False) -> dict:
    return {"code": text, "keyed": keyed}


@pytest.fixture
def frozen_demo(db):
    with time_machine.travel(DEMO_NOW, tick=False):
        demo_hospital_copy()
        yield


def badge_client(badge: str, pin: str, ward: str = "NOI") -> APIClient:
    client = APIClient()
    response = client.post(
        "/api/v1/auth/badge/",
        {"badge": code(badge), "pin": pin, "cart": "NOI-1", "ward": ward},
        format="json",
    )
    assert response.status_code == 200, response.content
    return client


@pytest.fixture
def nurse_client(frozen_demo):
    return badge_client(HOA_BADGE, "111111")


@pytest.fixture
def pharmacist_client(frozen_demo):
    return badge_client(TUAN_BADGE, "555555", ward="")
