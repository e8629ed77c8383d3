"""The demo hospital's bedside history: the records a ward would already hold when the demo
opens, so that `make run` shows a patch on a patient (due off now) and an insulin patient whose
last injection site warns. Written like the services write records (hash-chained under the
patient's lock), with fixed ids, so that loading twice adds nothing. No outbox message is queued:
this is history, not news for the HIS.

pharmacy.demo loads the hospital itself; this runs after it (`manage.py demo_load` calls the
`demo_bedside_history` command by name: the pharmacy layer cannot import the bedside's)."""

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

import gs1
from hospital.models import User
from pharmacy.demo import DEMO_NAMESPACE
from pharmacy.models import MedicationOrder, Package
from scanning import locks
from scanning.chains import administration_append
from scanning.models import (
    AdministeredUnit,
    Administration,
    AdministrationStatus,
    MissingDoseReason,
    MissingDoseRequest,
)


@dataclass(frozen=True)
class PastRecord:
    key: str  # with DEMO_NAMESPACE, the record's fixed external id
    order_key: str  # the order's key in fixtures/demo_hospital.json
    hours_ago: float
    amount: str
    unit: str
    site: str  # pharmacy.body_sites code
    performer: str
    lot: str
    expiry: date
    serial: str = ""
    witness: str = ""


PAST_RECORDS = (
    # Applied three days ago: exactly its 72 h wear time, so it is due off when the demo opens.
    PastRecord(
        "hau-fentanyl-applied", "hau-fentanyl", 72, "25", "mcg", "LUA", "dieuduong.hoa",
        "FEN2610", date(2027, 10, 31), serial="FEN2610S004",
    ),
    PastRecord(
        "dung-insulin-2d", "dung-insulin", 40, "6", "IU", "RLAQ", "dieuduong.mai",
        "INS2607", date(2027, 4, 30), witness="dieuduong.lan",
    ),
    PastRecord(
        "dung-insulin-1d", "dung-insulin", 15, "6", "IU", "LLAQ", "dieuduong.mai",
        "INS2607", date(2027, 4, 30), witness="dieuduong.lan",
    ),
)  # fmt: skip


@transaction.atomic
def demo_bedside_history_load() -> int:
    """Write the past records not yet written; returns how many were written."""
    written = 0
    now = timezone.now()
    for past in PAST_RECORDS:
        external_id = uuid.uuid5(DEMO_NAMESPACE, past.key)
        if Administration.objects.filter(external_id=external_id).exists():
            continue
        order = MedicationOrder.objects.select_related("admission__patient").get(
            external_id=uuid.uuid5(DEMO_NAMESPACE, past.order_key)
        )
        package = Package.objects.filter(medication=order.medication).order_by("pk").first()
        locks.patient(order.admission.patient_id)
        administration_append(
            Administration(
                external_id=external_id,
                patient=order.admission.patient,
                admission=order.admission,
                order=order,
                status=AdministrationStatus.COMPLETED,
                performer=User.objects.get(username=past.performer),
                witness=User.objects.get(username=past.witness) if past.witness else None,
                administered_at=now - timedelta(hours=past.hours_ago),
                amount=Decimal(past.amount),
                unit=past.unit,
                route=order.route,
                site=past.site,
                cart="DEMO",
            ),
            units=[
                AdministeredUnit(
                    package=package,
                    gtin=gs1.normalize_gtin(package.gtin),
                    lot=past.lot,
                    expiry=past.expiry,
                    serial=past.serial,
                )
            ],
        )
        written += 1
    return written


# Bùi Thị Lệ's aspirin due now (NOI 08) was not on the cart: Bình asked the pharmacy for it ten
# minutes before the demo opens, and it waits in /pharmacy/missing-doses/.
MISSING_DOSE_KEY = "le-aspirin-missing"


@transaction.atomic
def demo_missing_dose_load() -> int:
    """Write the demo's open missing-dose request unless it was written before (sent since or
    not); returns how many were written."""
    external_id = uuid.uuid5(DEMO_NAMESPACE, MISSING_DOSE_KEY)
    if MissingDoseRequest.objects.filter(external_id=external_id).exists():
        return 0
    order = MedicationOrder.objects.select_related("admission").get(
        external_id=uuid.uuid5(DEMO_NAMESPACE, "le-aspirin")
    )
    now = timezone.now()
    dose = min(order.scheduled_doses.all(), key=lambda d: abs(d.due_at - now))
    MissingDoseRequest.objects.create(
        external_id=external_id,
        order=order,
        due_at=dose.due_at,
        ward_id=order.admission.ward_id,
        reason=MissingDoseReason.NOT_ON_CART,
        requested_by=User.objects.get(username="dieuduong.binh"),
        requested_at=now - timedelta(minutes=10),
        cart="DEMO",
    )
    return 1
