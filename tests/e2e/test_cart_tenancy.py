"""Another hospital's patient at the cart (issue 19): a nurse of the provincial hospital who
scans a wristband of Bãi Cháy is told, in her language, that no such patient is in her hospitals;
nothing about him appears, no break-the-glass is logged, and the cart stays ready for the next
band. Bãi Cháy's own nurse, at her own ward's cart, opens him."""

import pytest
from playwright.sync_api import expect

from scanning.models import AccessLog, ScanEvent
from tests.e2e.conftest import log_in, scan, wedge

pytestmark = pytest.mark.django_db(transaction=True)

HOA = ("]C18017952000200000000112", "111111")  # nurse, NOI (provincial general hospital)
HA = ("]C18017952000200000000181", "888888")  # nurse, BC-NOI (Bãi Cháy)
HAI = "wristband-BC2026000001.png"  # Bãi Cháy's patient
AN = "wristband-BN2026000101.png"  # the provincial hospital's


def test_a_wristband_of_another_hospital_opens_nothing_and_says_why(page):
    log_in(page, *HOA)

    scan(page, wedge(HAI, "]C1"))

    expect(page.locator("#message")).to_have_class("message error")
    expect(page.locator("#message")).to_contain_text(
        "Không có người bệnh nào mang mã này tại các bệnh viện bạn làm việc."
    )
    expect(page.locator("#patient")).to_be_hidden()
    assert "Lương Văn Hải" not in page.content()
    assert not AccessLog.objects.filter(patient__mrn="BC2026000001").exists()
    assert not ScanEvent.objects.filter(patient__mrn="BC2026000001").exists()
    # The cart is ready for the right band.
    expect(page.locator("#scan")).to_be_focused()
    scan(page, wedge(AN, "]C1"))
    expect(page.locator("#patient-name")).to_have_text("Nguyễn Văn An")


def test_the_hospitals_own_nurse_opens_him(page):
    log_in(page, *HA, ward="BC-NOI")
    scan(page, wedge(HAI, "]C1"))
    expect(page.locator("#patient-name")).to_have_text("Lương Văn Hải")
