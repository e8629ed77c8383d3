"""A student nurse at the cart (issue 18): every dose she gives waits, amber, for her clinical
instructor's badge and PIN; a wrong PIN keeps it unrecorded and says why; the right one names the
instructor, and the record carries her co-sign."""

import pytest
from playwright.sync_api import expect

from scanning.models import Administration
from tests.e2e.conftest import label, log_in, scan, screenshot, wedge

pytestmark = pytest.mark.django_db(transaction=True)

THU = ("]C18017952000200000000174", "777777")  # student nurse, NOI
NGA_BADGE = "]C18017952000200000000167"  # nurse and clinical instructor, NOI, PIN 666666
AN = "wristband-BN2026000101.png"  # paracetamol 1 g due 08:00: two 500 mg tablets


def test_a_student_gives_a_dose_with_her_instructors_cosign(page):
    # given: the student has scanned the patient and both tablets
    log_in(page, *THU)
    scan(page, wedge(AN, "]C1"))
    expect(page.locator("#patient-name")).to_have_text("Nguyễn Văn An")
    scan(page, wedge(label("PCM2611A", 1)))
    scan(page, wedge(label("PCM2611A", 2)))

    # then: waiting for the instructor, amber, not a red STOP
    expect(page.locator("#verdict")).to_have_class("verdict witness")
    expect(page.locator("#verdict-word")).to_have_text("CHỜ – cần giảng viên hướng dẫn ký xác nhận")
    expect(page.locator("#cosign")).to_be_visible()
    expect(page.locator("#record")).to_be_disabled()

    # when: the instructor scans her badge and mistypes her PIN
    scan(page, NGA_BADGE)
    expect(page.locator("#cosign-pin")).to_be_focused()
    page.keyboard.type("000000")
    page.keyboard.press("Enter")

    # then: still waiting, told why, nothing recorded
    expect(page.locator("#findings")).to_contain_text("Mã PIN của giảng viên không đúng")
    expect(page.locator("#verdict")).to_have_class("verdict witness")
    expect(page.locator("#record")).to_be_disabled()
    expect(page.locator("#scan")).to_be_focused()
    assert not Administration.objects.exists()
    screenshot(page, "cart-student-cosign-vi")

    # when: her badge again, the right PIN, and Record
    scan(page, NGA_BADGE)
    expect(page.locator("#cosign-pin")).to_be_focused()
    page.keyboard.type("666666")
    page.keyboard.press("Enter")
    expect(page.locator("#verdict")).to_have_class("verdict go")
    expect(page.locator("#cosign-confirmed")).to_have_text(
        "Giảng viên hướng dẫn đã ký xác nhận: Đỗ Thị Nga"
    )
    page.click("#record")

    # then: recorded by the student, co-signed by the instructor
    expect(page.locator("#message")).to_have_class("message ok")
    record = Administration.objects.get()
    assert (record.performer.username, record.cosigner.username) == (
        "sinhvien.thu",
        "giangvien.nga",
    )
