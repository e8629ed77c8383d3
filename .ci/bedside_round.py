"""CI, two-role step: one bedside round through the API (check, record, not given, a correction
with a replacement, a refused record) on the demo hospital, as whatever role DATABASE_URL names.
Run from the checkout: `.venv/bin/python .ci/bedside_round.py`."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hospital.settings.test")

import django

django.setup()

import time_machine  # noqa: E402
from django.db import connection  # noqa: E402

from pharmacy.demo import demo_hospital_load  # noqa: E402
from scanning.models import Administration, ScanEvent  # noqa: E402
from tests.scanning.conftest import DEMO_NOW, HOA_BADGE, badge_client  # noqa: E402
from tests.scanning.test_audit_chain import bedside_flow  # noqa: E402

with time_machine.travel(DEMO_NOW, tick=False):
    demo_hospital_load()
    bedside_flow(badge_client(HOA_BADGE, "111111"))
with connection.cursor() as cursor:
    cursor.execute("SELECT current_user")
    (role,) = cursor.fetchone()
print(
    f"Bedside round as {role}: {Administration.objects.count()} administrations, "
    f"{ScanEvent.objects.count()} scan events."
)
