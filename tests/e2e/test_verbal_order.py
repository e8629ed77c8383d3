"""A verbal STAT order in Debian's Chromium: the doctor at the bedside orders paracetamol 1 g by
mouth now for Trần Thị Bích Ngọc; the nurse documents it at the cart (read back), gives it by
scanning through the same check as any dose, and the pharmacist records the doctor's signature in
/pharmacy/; the cart's flag is gone."""

import pytest
from playwright.sync_api import expect

from pharmacy.models import MedicationOrder
from scanning.models import Administration
from tests.e2e.conftest import label, log_in, scan, screenshot, wedge
from tests.e2e.test_pharmacy_site import pharmacist_log_in

pytestmark = pytest.mark.django_db(transaction=True)

HOA = ("]C18017952000200000000112", "111111")  # nurse, NOI
NGOC = "wristband-BN2026000102.png"  # no paracetamol order


def open_ngoc(page):
    expect(page.locator("#scan")).to_be_focused()
    scan(page, wedge(NGOC, "]C1"))
    expect(page.locator("#patient-name")).to_have_text("Trần Thị Bích Ngọc")
    expect(page.locator("#doses")).to_be_visible()


def paracetamol_row(page):
    return page.locator("#dose-list li.dose").filter(has_text="Paracetamol")


def test_a_verbal_stat_order_is_documented_given_and_co_signed(page, browser):
    # given: Hoa at the cart with Ngọc open
    log_in(page, *HOA)
    open_ngoc(page)

    # when: she documents the doctor's word, read back
    page.click("#verbal-open")
    expect(page.locator("#verbal-dialog")).to_be_visible()
    page.click('#verbal-kinds button[data-kind="verbal"]')
    page.fill("#verbal-prescriber", "BS. Phạm Quốc Việt")
    expect(page.locator('#verbal-medication option[value="paracetamol-500-tab"]')).to_have_count(1)
    page.select_option("#verbal-medication", "paracetamol-500-tab")
    page.fill("#verbal-dose", "1000")
    page.select_option("#verbal-unit", "mg")
    page.select_option("#verbal-route", "PO")
    page.click("#verbal-confirm")
    # then: refused until she ticks the read-back
    expect(page.locator("#verbal-problem")).to_be_visible()
    page.check("#verbal-read-back")
    page.click("#verbal-confirm")
    expect(page.locator("#message")).to_have_class("message ok")
    expect(paracetamol_row(page).locator(".verbal-unsigned")).to_contain_text("BS. Phạm Quốc Việt")
    screenshot(page, "cart-verbal-order-vi", show=paracetamol_row(page))

    # when: she scans the two tablets and records the dose
    scan(page, wedge(label("PCM2611A", 1)))
    expect(page.locator("#progress")).to_contain_text("1")
    scan(page, wedge(label("PCM2611A", 2)))
    expect(page.locator("#verdict")).to_have_class("verdict go")
    page.click("#record")
    expect(page.locator("#dose-list li.dose.given").filter(has_text="Paracetamol")).to_have_count(1)
    order = MedicationOrder.objects.get(
        admission__patient__mrn="BN2026000102", verbal_kind="verbal"
    )
    assert Administration.objects.filter(order=order).count() == 1

    # when: the pharmacist records the doctor's signature
    pharmacy = browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN")
    pharmacist = pharmacy.new_page()
    pharmacist.base_url = page.base_url
    pharmacist_log_in(pharmacist)
    pharmacist.click('a[href="/pharmacy/verbal-orders/"]')
    row = pharmacist.locator("#verbal-order-queue tr").filter(has_text="Trần Thị Bích Ngọc")
    expect(row).to_contain_text("BS. Phạm Quốc Việt")
    screenshot(pharmacist, "pharmacy-verbal-orders-vi")
    row.get_by_role("button").click()
    expect(pharmacist.locator(".messagelist")).to_contain_text("Đã ghi nhận chữ ký")
    expect(
        pharmacist.locator("#verbal-order-queue tr").filter(has_text="Trần Thị Bích Ngọc")
    ).to_have_count(0)
    pharmacy.close()

    # then: the cart, opening Ngọc again, shows the order given and no longer flagged
    page.reload()
    open_ngoc(page)
    expect(paracetamol_row(page)).to_have_count(1)
    expect(paracetamol_row(page).locator(".verbal-unsigned")).to_have_count(0)
    order.refresh_from_db()
    assert order.cosigned_at is not None and order.cosign_recorded_by.username == "duocsi.tuan"
