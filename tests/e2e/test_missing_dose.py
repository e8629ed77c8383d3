"""A missing-dose request's round trip in Debian's Chromium: the nurse asks the pharmacy for a
dose from its row on the cart, the pharmacist marks it sent on /pharmacy/missing-doses/, and the
cart shows it sent. And a request the server refused is shown as not requested, with the
reason."""

import pytest
from playwright.sync_api import expect

from scanning.models import MissingDoseRequest
from tests.e2e.conftest import log_in, scan, screenshot, wedge
from tests.e2e.test_pharmacy_site import pharmacist_log_in

pytestmark = pytest.mark.django_db(transaction=True)

HOA = ("]C18017952000200000000112", "111111")  # nurse, NOI
AN = "wristband-BN2026000101.png"  # paracetamol 1 g due 08:00


def open_an(page):
    expect(page.locator("#scan")).to_be_focused()
    scan(page, wedge(AN, "]C1"))
    expect(page.locator("#patient-name")).to_have_text("Nguyễn Văn An")
    expect(page.locator("#doses")).to_be_visible()


def paracetamol_row(page):
    return page.locator("#dose-list li.dose.due").filter(has_text="Paracetamol")


def ask_for_it(page, reason: str = "damaged"):
    paracetamol_row(page).locator(".missing-action").click()
    expect(page.locator("#missing-dialog")).to_be_visible()
    page.click(f'#missing-reasons button[data-reason="{reason}"]')
    page.click("#missing-confirm")


def test_a_dose_asked_for_at_the_cart_is_sent_by_the_pharmacy_and_shows_sent(page, browser):
    # given: Hoa at the cart, An's paracetamol due now
    log_in(page, *HOA)
    open_an(page)

    # when: she asks the pharmacy for it, damaged
    ask_for_it(page)

    # then: the row says requested, as the server answered, and the button is gone
    expect(page.locator("#message")).to_have_class("message ok")
    expect(paracetamol_row(page).locator(".missing-request")).to_contain_text(
        "Đã yêu cầu khoa Dược cấp"
    )
    expect(paracetamol_row(page).locator(".missing-request")).to_contain_text("Bị hỏng")
    expect(paracetamol_row(page).locator(".missing-action")).to_have_count(0)
    screenshot(page, "cart-missing-requested-vi", show=paracetamol_row(page))

    # when: the pharmacist finds it in the queue and marks it sent
    pharmacy = browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN")
    pharmacist = pharmacy.new_page()
    pharmacist.base_url = page.base_url
    pharmacist_log_in(pharmacist)
    pharmacist.click('a[href="/pharmacy/missing-doses/"]')
    queue = pharmacist.locator("#missing-dose-queue")
    row = queue.locator("tr").filter(has_text="Nguyễn Văn An")
    expect(row).to_contain_text("NOI / 01")
    expect(row).to_contain_text("Paracetamol")
    expect(row).to_contain_text("08:00")
    screenshot(pharmacist, "pharmacy-missing-doses-vi")
    row.get_by_role("button").click()
    expect(pharmacist.locator(".messagelist")).to_contain_text("Đã đánh dấu đã cấp")
    expect(queue.locator("tr").filter(has_text="Nguyễn Văn An")).to_have_count(0)
    pharmacy.close()

    # then: the cart, opening the patient again, shows it sent and by whom
    page.reload()
    open_an(page)
    expect(paracetamol_row(page).locator(".missing-request")).to_contain_text("Khoa Dược đã cấp")
    expect(paracetamol_row(page).locator(".missing-request")).to_contain_text("Võ Minh Tuấn")
    request = MissingDoseRequest.objects.get()
    assert (request.state, request.sent_by.username) == ("sent", "duocsi.tuan")


def test_a_request_the_server_refuses_is_shown_not_requested_with_the_reason(page):
    # given: the order is put on hold after the cart drew the list
    log_in(page, *HOA)
    open_an(page)
    request_order_on_hold()

    # when
    ask_for_it(page, reason="not_on_cart")

    # then: in red, NOT requested, and the row claims nothing
    expect(page.locator("#message")).to_have_class("message error")
    expect(page.locator("#message")).to_contain_text("CHƯA gửi được yêu cầu")
    expect(page.locator("#dose-list .missing-request")).to_have_count(0)
    assert not MissingDoseRequest.objects.exists()


def request_order_on_hold():
    from pharmacy.models import MedicationOrder, OrderStatus

    MedicationOrder.objects.filter(
        admission__patient__mrn="BN2026000101", medication__name__icontains="paracetamol"
    ).update(status=OrderStatus.ON_HOLD)
