"""An infusion bag at the cart (issue 17), in Debian's Chromium: hang it at its rate on a line,
change its rate, complete it; a second bag on the same order and line is a STOP; a rate change
whose answer is lost on the way back is retried and recorded once."""

import pytest
from playwright.sync_api import expect

from scanning.models import Administration, InfusionEvent
from tests.e2e.conftest import label, log_in, lose_answers_after_saving, scan, screenshot, wedge

pytestmark = pytest.mark.django_db(transaction=True)

MAI = ("]C18017952000200000000136", "333333")  # nurse, NGOAI
PHUONG = "wristband-BN2026000114.png"  # normal saline 1000 mL + KCl 20 mmol at 125 mL/h, due now
SALINE = "Natri clorid 0,9% 1000 mL"


def open_phuong(page):
    log_in(page, *MAI, ward="NGOAI")
    expect(page.locator("#scan")).to_be_focused()
    scan(page, wedge(PHUONG, "]C1"))
    expect(page.locator("#patient-name")).to_have_text("Mai Thị Phương")
    expect(page.locator("#doses")).to_be_visible()


def hang(page, bag_number: int):
    scan(page, wedge(label("NS2611", bag_number)))
    expect(page.locator("#verdict")).to_be_visible()


def bag_action(page, action: str, bag_number: int = 1):
    page.click(f'#infusion-list button[data-action="{action}"]')
    expect(page.locator("#bag-dialog")).to_be_visible()
    expect(page.locator("#bag-scan")).to_be_focused()
    scan(page, wedge(label("NS2611", bag_number)))
    expect(page.locator("#bag-scanned")).to_be_visible()


def test_a_second_bag_on_the_same_order_and_line_is_a_stop(page):
    # given: the first bag is running on line 1
    open_phuong(page)
    hang(page, 1)
    page.click("#record")
    expect(page.locator("#message")).to_have_class("message ok")
    expect(page.locator("#infusions")).to_be_visible()

    # when: a second bag of the same order is scanned
    hang(page, 2)

    # then: STOP, with the reason in Vietnamese, Record off, and nothing more recorded
    expect(page.locator("#verdict")).to_have_class("verdict stop")
    expect(page.locator("#findings")).to_contain_text("đang truyền trên đường truyền 1")
    expect(page.locator("#record")).to_be_disabled()
    screenshot(page, "cart-infusion-second-bag-stop-vi")
    assert Administration.objects.filter(order__medication__name__startswith=SALINE).count() == 1


def test_hang_a_bag_change_its_rate_and_complete_it(page):
    # given
    open_phuong(page)

    # when: the bag is scanned: the cart asks for the rate (the ordered one by default) and line
    hang(page, 1)
    expect(page.locator("#infusion")).to_be_visible()
    expect(page.locator("#infusion-order")).to_contain_text("125 mL/giờ")
    expect(page.locator("#infusion-order")).to_contain_text("KCl 20 mmol")
    expect(page.locator("#infusion-rate")).to_have_value("125")
    page.click("#record")

    # then: hung, and listed as infusing with its expected end
    expect(page.locator("#message")).to_contain_text("Đã treo túi")
    bag = page.locator("#infusion-list li.bag")
    expect(bag).to_have_count(1)
    expect(bag).to_contain_text("đang truyền")
    expect(bag).to_contain_text("125 mL/giờ")
    screenshot(page, "cart-infusion-running-vi", show=bag)

    # when: the rate goes to 100 mL/h, with the reason the rule asks for
    bag_action(page, "rate_change")
    page.fill("#bag-rate", "100")
    page.click("#bag-confirm")
    expect(page.locator("#bag-findings")).to_contain_text("khác tốc độ chỉ định 125 mL/giờ")
    page.click("#bag-findings button >> text=Bác sĩ đã biết và chỉ định")

    # then
    expect(page.locator("#bag-dialog")).to_be_hidden()
    expect(bag).to_contain_text("100 mL/giờ")

    # when: the bag is completed
    bag_action(page, "complete")
    page.click("#bag-confirm")

    # then: it leaves the list and its life is on record, each step a row of its own
    expect(page.locator("#message")).to_contain_text("Thể tích đã truyền")
    expect(page.locator("#infusions")).to_be_hidden()
    kinds = list(
        InfusionEvent.objects.order_by("administration_id", "chain_seq").values_list(
            "kind", "rate_ml_h"
        )
    )
    assert [kind for kind, _rate in kinds] == ["started", "rate_changed", "completed"]
    assert kinds[1][1] == 100


def test_a_rate_change_whose_answer_is_lost_is_recorded_once(page):
    # given: a running bag, and a rate change waiting for its reason
    open_phuong(page)
    hang(page, 1)
    page.click("#record")
    expect(page.locator("#infusions")).to_be_visible()
    bag_action(page, "rate_change")
    page.fill("#bag-rate", "100")
    page.click("#bag-confirm")
    expect(page.locator("#bag-findings button").first).to_be_visible()

    # when: the server records the change but the answer never reaches the cart
    seen = lose_answers_after_saving(page, "**/api/v1/infusions/events/")
    page.click("#bag-findings button >> text=Bác sĩ đã biết và chỉ định")

    # then: the cart says it is not confirmed, and nothing is shown as done
    expect(page.locator("#bag-problem")).to_contain_text("CHƯA được xác nhận")
    expect(page.locator("#bag-dialog")).to_be_visible()
    assert len(seen) == 1

    # when: the connection is back and the nurse confirms again
    page.unroute("**/api/v1/infusions/events/")
    page.click("#bag-confirm")

    # then: the first answer comes back; one rate change on record
    expect(page.locator("#bag-dialog")).to_be_hidden()
    expect(page.locator("#infusion-list li.bag")).to_contain_text("100 mL/giờ")
    assert InfusionEvent.objects.filter(kind="rate_changed").count() == 1
