"""PRN properly at the cart (issue 18): the demo's tramadol for Bùi Thị Lệ (NOI 08) is a PRN
analgesic for "Đau" or "Đau sau thủ thuật". The cart waits (amber) for the pain score and the
reason, records the dose with both, lists its effect to reassess, and the reassessment is saved
once, even when its first answer is lost after saving."""

import pytest
from playwright.sync_api import expect

from scanning.models import Administration, PrnReassessment
from tests.e2e.conftest import label, log_in, lose_answers_after_saving, scan, screenshot, wedge
from tests.e2e.test_cart import HOA, open_patient

pytestmark = pytest.mark.django_db(transaction=True)

LE = "wristband-BN2026000108.png"
REASSESSMENT = "**/api/v1/administrations/*/reassessment/"


def test_a_prn_tramadol_given_with_a_pain_score_and_a_reason_then_reassessed_once(page):
    log_in(page, *HOA)
    open_patient(page, LE, "Bùi Thị Lệ")
    scan(page, wedge(label("TRA2607", 1)))

    # Waiting for the pain score and the reason is amber, and Record stays off.
    expect(page.locator("#verdict")).to_have_class("verdict witness")
    expect(page.locator("#findings")).to_contain_text("Chọn lý do dùng Tramadol")
    expect(page.locator("#prn-reason-choices button")).to_have_text(["Đau", "Đau sau thủ thuật"])
    expect(page.locator("#record")).to_be_disabled()
    page.fill('#assessment-fields input[data-kind="pain_score"]', "7")
    page.click('#prn-reason-choices button[data-reason="Đau sau thủ thuật"]')
    expect(page.locator("#verdict")).to_have_class("verdict go")
    screenshot(page, "cart-prn-reason-vi", show=page.locator("#prn-reason"))
    page.click("#record")
    expect(page.locator("#message")).to_have_class("message ok")
    given = Administration.objects.get()
    assert given.prn_reason == "Đau sau thủ thuật"
    assert [(a.kind, int(a.value)) for a in given.assessments.all()] == [("pain_score", 7)]

    # Its effect is to be reassessed (PO: 60 min after); the first answer to the save is lost.
    item = page.locator("#reassess-list li")
    expect(item).to_contain_text("Tramadol 50 mg viên nang vì Đau sau thủ thuật")
    lost = lose_answers_after_saving(page, REASSESSMENT)
    item.locator("button.reassess-open").click()
    expect(page.locator("#reassess-confirm")).to_be_disabled()
    page.fill("#reassess-pain", "3")
    page.click('#reassess-effects button[data-effect="effective"]')
    page.click("#reassess-confirm")
    expect(page.locator("#message")).to_contain_text("Chưa rõ đánh giá lại đã được lưu")
    expect(page.locator("#reassess-dialog")).to_be_visible()
    page.unroute(REASSESSMENT)
    page.click("#reassess-confirm")  # the same key: answered, not saved twice

    expect(page.locator("#message")).to_contain_text("Đã lưu đánh giá lại: Tramadol")
    expect(page.locator("#reassess")).to_be_hidden()
    assert len(lost) == 1
    reassessment = PrnReassessment.objects.get()
    assert (reassessment.administration_id, reassessment.effect, reassessment.pain_score) == (
        given.pk,
        "effective",
        3,
    )
