import pytest
from django.core.management import call_command

from hospital import gs1
from hospital.models import User
from pharmacy.demo import demo_hospital_load, demo_lots, read_demo
from pharmacy.models import LotRecall, MedicationOrder, OrderStatus, Package, ScheduledDose
from wards.models import Admission, Patient, Wristband

pytestmark = pytest.mark.django_db

COUNTED = [User, Patient, Admission, Wristband, Package, LotRecall, MedicationOrder, ScheduledDose]


def counts():
    return {model.__name__: model.objects.count() for model in COUNTED}


def test_loading_the_demo_twice_duplicates_nothing():
    # given
    demo_hospital_load()
    first = counts()
    # when
    summary = demo_hospital_load()
    # then
    assert counts() == first
    assert not any(summary.created.values())


def test_demo_has_the_promised_shape():
    demo_hospital_load()
    open_admissions = Admission.objects.filter(
        discharged_at__isnull=True, patient__deceased_at__isnull=True
    )
    assert open_admissions.count() == 16
    assert Package.objects.count() >= 25
    assert LotRecall.objects.count() == 1
    statuses = set(MedicationOrder.objects.values_list("status", flat=True))
    assert {
        OrderStatus.ACTIVE,
        OrderStatus.ON_HOLD,
        OrderStatus.DISCONTINUED,
        OrderStatus.PENDING_VERIFICATION,
    } <= statuses
    assert MedicationOrder.objects.filter(schedule_kind="prn").count() >= 3
    assert MedicationOrder.objects.filter(medication__high_alert=True).exists()
    assert MedicationOrder.objects.filter(medication__time_critical=True).exists()
    assert all(gs1.is_valid_gsrn(gsrn) for gsrn in Patient.objects.values_list("gsrn", flat=True))
    assert any(
        any(ch in name for ch in "ăâđêôơư")
        for name in Patient.objects.values_list("full_name", flat=True)
    )


def test_every_active_admission_has_exactly_one_active_band():
    demo_hospital_load()
    for admission in Admission.objects.filter(discharged_at__isnull=True):
        assert admission.wristbands.filter(voided_at__isnull=True).count() == 1
    discharged = Admission.objects.get(discharged_at__isnull=False)
    assert not discharged.wristbands.filter(voided_at__isnull=True).exists()


def test_a_due_now_order_has_a_dose_within_its_window():
    from django.utils import timezone

    demo_hospital_load()
    now = timezone.now()
    due_soon = ScheduledDose.objects.filter(
        order__status=OrderStatus.ACTIVE,
        due_at__gte=now - timezone.timedelta(minutes=31),
        due_at__lte=now + timezone.timedelta(minutes=31),
    )
    assert due_soon.exists()


def test_demo_lots_include_expired_recalled_and_day_00_expiry():
    lots = demo_lots(read_demo())
    assert any(lot.recalled_reason for lot in lots)
    assert any(lot.expiry_raw.endswith("00") for lot in lots)
    assert all(gs1.is_valid_gtin(lot.gtin) for lot in lots)
    serials = [(lot.gtin, serial) for lot in lots for serial in lot.serials]
    assert len(serials) == len(set(serials))


def test_demo_load_command_prints_logins(capsys):
    call_command("demo_load")
    out = capsys.readouterr().out
    assert "duocsi.tuan" in out and "PIN 1111" in out and "(8018)" in out
