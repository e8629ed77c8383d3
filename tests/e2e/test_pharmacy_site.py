"""What a pharmacist does on the pharmacy site, in Debian's Chromium, scanning as a wedge types."""

import os

import pytest
from playwright.sync_api import expect

from pharmacy.models import LotRecall
from tests.e2e.conftest import SCREENSHOTS, label, scan, screenshot, wedge

pytestmark = pytest.mark.django_db(transaction=True)

PHARMACIST = ("duocsi.tuan", "duocsi-demo-2026")


def pharmacist_log_in(page):
    page.goto(page.base_url + "/pharmacy/login/")
    page.fill("#id_username", PHARMACIST[0])
    page.fill("#id_password", PHARMACIST[1])
    page.click("input[type=submit]")
    page.wait_for_url("**/pharmacy/")


def test_a_wedge_scan_fills_the_recall_form_without_submitting_it(page):
    # given: the lot-recall form, its scan box focused
    pharmacist_log_in(page)
    page.goto(page.base_url + "/pharmacy/pharmacy/lotrecall/add/")
    expect(page.locator("#id_scan")).to_be_focused()
    add_url = page.url

    # when: a scanner types a pack's GS1 DataMatrix and its Enter
    scan(page, wedge(label("MET2610", 1)))

    # then: GTIN and lot are filled in, nothing is saved, the reason is next
    expect(page.locator("#id_gtin")).to_have_value("08936012345049")
    expect(page.locator("#id_lot")).to_have_value("MET2610")
    expect(page.locator("#scan-note")).to_contain_text("lý do")
    expect(page.locator("#id_reason")).to_be_focused()
    assert page.url == add_url
    assert not LotRecall.objects.filter(lot="MET2610").exists()
    screenshot(page, "recall-scan-vi")

    # and the pharmacist saves it with a reason
    page.fill("#id_reason", "Công văn thu hồi của Cục Quản lý Dược")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_be_visible()
    recall = LotRecall.objects.get(lot="MET2610")
    assert recall.package.gtin == "08936012345049"


def test_a_wristband_scanned_into_the_recall_form_is_refused_in_words(page):
    pharmacist_log_in(page)
    page.goto(page.base_url + "/pharmacy/pharmacy/lotrecall/add/")
    recalls = LotRecall.objects.count()

    scan(page, wedge("wristband-BN2026000101.png", "]C1"))

    expect(page.locator("#scan-note")).to_have_class("errornote")
    expect(page.locator("#scan-note")).to_contain_text("không phải mã vạch thuốc")
    expect(page.locator("#id_gtin")).to_have_value("")
    assert LotRecall.objects.count() == recalls


def test_the_pharmacist_acknowledges_an_allergy_to_verify_in_the_browser(page):
    from pharmacy.models import AllergyAcknowledgement, MedicationOrder

    pharmacist_log_in(page)
    page.goto(page.base_url + "/pharmacy/verify/")
    expect(page.locator("#content-main")).to_contain_text("Châu Ngọc Yến")
    screenshot(page, "verification-queue")
    order = MedicationOrder.objects.get(
        admission__patient__mrn="BN2026000115", status="pending_verification"
    )
    page.goto(page.base_url + f"/pharmacy/verify/{order.external_id}/")
    expect(page.locator("#allergy-warning")).to_be_visible()
    expect(page.locator("#dose-units-warning")).to_contain_text("0,5")
    expect(page.locator("#patient-age")).to_have_text("11 tuổi")
    expect(page.locator("#patient-weight")).to_contain_text("24,5 kg")
    page.set_viewport_size({"width": 1366, "height": 900})
    screenshot(page, "verification-review")

    page.click("#verify")  # without a reason: refused
    expect(page.locator(".messagelist")).to_contain_text("chọn lý do")
    page.select_option("#id_allergy_reason", "prescriber_confirmed")
    page.fill("#id_allergy_comment", "BS. Thắng xác nhận qua điện thoại")
    page.click("#verify")

    expect(page.locator(".messagelist")).to_contain_text("Đã duyệt")
    assert AllergyAcknowledgement.objects.get(order=order).reason == "prescriber_confirmed"


def test_the_order_page_in_english(page):
    from pharmacy.models import MedicationOrder

    pharmacist_log_in(page)
    order = MedicationOrder.objects.get(
        admission__patient__mrn="BN2026000115", status="pending_verification"
    )
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": page.base_url}])
    page.goto(page.base_url + f"/pharmacy/verify/{order.external_id}/")
    expect(page.locator("#patient-age")).to_have_text("11 years")
    page.set_viewport_size({"width": 1366, "height": 900})
    screenshot(page, "verification-review-en")


def test_the_scan_compliance_report_page(browser, live_server, transactional_db):
    """docs/screenshots/report-scan-compliance.png, on the hand-counted report data."""
    import time_machine

    from tests.backoffice.report_data import D1, D2, NOW, build_report_data

    with time_machine.travel(NOW, tick=True):
        data = build_report_data()
        data.pharmacist.set_password("duocsi-demo-2026")
        data.pharmacist.save(update_fields=["password"])
        context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN")
        page = context.new_page()
        page.base_url = live_server.url
        pharmacist_log_in(page)
        page.goto(
            f"{live_server.url}/pharmacy/reports/scan-compliance/?date_from={D1}&date_to={D2}"
        )
        expect(page.locator("#content-main")).to_contain_text("Quét vòng tay")
        if os.environ.get("UPDATE_SCREENSHOTS"):
            page.screenshot(path=str(SCREENSHOTS / "report-scan-compliance.png"), full_page=True)
        context.close()
