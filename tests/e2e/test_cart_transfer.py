"""A patient the HIS moved here (ADT A02) within TRANSFER_NOTICE_HOURS carries a notice on the
cart's banner (issue 16), and a dose that fell due before the move is marked with the old ward
(issue 18); an older transfer, and a patient never moved, carry no notice."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.conftest import log_in, scan, screenshot, wedge
from wards.models import Admission, Ward

pytestmark = pytest.mark.django_db(transaction=True)

HOA = ("]C18017952000200000000112", "111111")  # nurse, NOI
AN = "wristband-BN2026000101.png"


def transferred(hours_ago: float) -> Ward:
    admission = Admission.objects.get(patient__mrn="BN2026000101", discharged_at__isnull=True)
    old_ward = Ward.objects.exclude(pk=admission.ward_id).order_by("code").first()
    Admission.objects.filter(pk=admission.pk).update(
        transferred_at=timezone.now() - timedelta(hours=hours_ago), transferred_from=old_ward
    )
    return old_ward


def test_a_patient_transferred_minutes_ago_shows_where_from_and_the_old_wards_dose(page):
    old_ward = transferred(hours_ago=0.1)  # after her paracetamol fell due at 08:00
    log_in(page, *HOA)
    scan(page, wedge(AN, "]C1"))
    expect(page.locator("#patient-name")).to_have_text("Nguyễn Văn An")
    expect(page.locator("#patient-transfer")).to_be_visible()
    expect(page.locator("#patient-transfer")).to_contain_text("Mới chuyển khoa")
    expect(page.locator("#patient-transfer")).to_contain_text(old_ward.code)
    # issue 18: the dose that fell due on the old ward is marked with it on the dose list
    expect(page.locator(".dose .tag.old-ward").first).to_have_text(
        f"⇄ đến giờ dùng ở khoa {old_ward.code}, trước khi chuyển khoa"
    )
    screenshot(page, "cart-transfer-vi")


def test_an_old_transfer_and_no_transfer_show_no_notice(page):
    transferred(hours_ago=24 * 30)
    log_in(page, *HOA)
    scan(page, wedge(AN, "]C1"))
    expect(page.locator("#patient-name")).to_have_text("Nguyễn Văn An")
    expect(page.locator("#patient-transfer")).to_be_hidden()
