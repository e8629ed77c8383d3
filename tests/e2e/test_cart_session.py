"""Issue 13, item 2 in Debian's Chromium: a scanned dose that was not recorded is never dropped in
silence. The idle countdown names it; a session that ended on the server is logged in again over
the page and the same request (the same Idempotency-Key) finishes; another nurse logging in does
not finish it under her name; the nurse's own "scanned but not recorded" list at her next login;
the ward dashboard's tile."""

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone
from playwright.sync_api import expect

from hospital.models import User
from scanning.models import Administration, AdministrationStatus, UnrecordedCheckAcknowledgement
from scanning.selectors import checks_unrecorded
from tests.e2e.conftest import label, log_in, scan, screenshot, wedge
from tests.e2e.test_cart import AN, HOA, open_patient

pytestmark = pytest.mark.django_db(transaction=True)

BINH = ("]C18017952000200000000129", "222222")  # nurse, NOI
LAN = ("]C18017952000200000000143", "444444")  # charge nurse, both wards


def an_with_a_go(page, nurse=HOA):
    log_in(page, *nurse)
    open_patient(page, AN, "Nguyễn Văn An")
    scan(page, wedge(label("PCM2611A", 1)))
    scan(page, wedge(label("PCM2611A", 2)))
    expect(page.locator("#verdict")).to_have_class("verdict go")
    expect(page.locator("#verdict-drug")).to_contain_text("· uống")  # the route in words
    expect(page.locator("#record")).to_be_enabled()


def record_keys(page) -> list[str]:
    """The Idempotency-Key of every record request the page sends."""
    keys: list[str] = []
    page.on(
        "request",
        lambda request: (
            keys.append(request.headers.get("idempotency-key", ""))
            if request.method == "POST" and request.url.endswith("/api/v1/administrations/")
            else None
        ),
    )
    return keys


def session_ends_on_the_server():
    """Expired, or lost in a restart: the cart's next request is a 401."""
    Session.objects.all().delete()


def log_in_over_the_page(page, badge: str, pin: str):
    dialog = page.locator("#reauth-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#reauth-badge")).to_be_focused()
    scan(page, badge)  # the badge's Enter moves on to the PIN
    expect(page.locator("#reauth-pin")).to_be_focused()
    page.keyboard.type(pin)
    page.keyboard.press("Enter")


# --- the idle countdown ---------------------------------------------------------------------------


def test_the_idle_countdown_names_the_unrecorded_dose_and_the_login_says_it_was_not_recorded(
    page, settings
):
    # given: a short idle time, its last 8 seconds counted down
    settings.CART_IDLE_LOCK_SECONDS = 12
    settings.CART_IDLE_WARNING_SECONDS = 8
    an_with_a_go(page)
    warning = page.locator("#idle-warning")

    # then: before the lock, the banner names the dose that is not recorded
    expect(warning).to_be_visible(timeout=15_000)
    expect(warning).to_have_attribute("role", "alert")
    expect(warning).to_contain_text("CHƯA GHI NHẬN")
    expect(warning).to_contain_text("Paracetamol")
    expect(warning).to_contain_text("Nguyễn Văn An")
    expect(warning).to_contain_text("tự khóa sau")
    screenshot(page, "cart-idle-countdown-vi")

    # when: a key → the banner goes and the time starts again
    page.keyboard.press("Shift")
    expect(warning).to_be_hidden()
    expect(page.locator("#verdict")).to_have_class("verdict go")

    # then: left alone, it counts down again and locks; the login says the dose was NOT recorded
    expect(warning).to_be_visible(timeout=15_000)
    page.wait_for_url("**/cart/login/?locked=1", timeout=20_000)
    notice = page.locator("#lock-unrecorded")
    expect(notice).to_contain_text("CHƯA được ghi nhận")
    expect(notice).to_contain_text("Paracetamol")
    screenshot(page, "cart-locked-unrecorded-vi")
    assert "Nguyễn Văn An" not in page.content()  # a locked screen shows no patient
    assert not Administration.objects.exists()


def test_with_nothing_unrecorded_the_countdown_names_no_dose(page, settings):
    settings.CART_IDLE_LOCK_SECONDS = 12
    settings.CART_IDLE_WARNING_SECONDS = 8
    log_in(page, *HOA)
    open_patient(page, AN, "Nguyễn Văn An")

    expect(page.locator("#idle-warning")).to_be_visible(timeout=15_000)
    expect(page.locator("#idle-warning-dose")).to_be_hidden()
    page.wait_for_url("**/cart/login/?locked=1", timeout=20_000)
    expect(page.locator("#lock-unrecorded")).to_have_count(0)


# --- logging in again over the page -------------------------------------------------------------


def test_a_401_during_record_logs_in_over_the_page_and_records_once_with_the_same_key(page):
    # given
    an_with_a_go(page)
    keys = record_keys(page)
    session_ends_on_the_server()

    # when
    page.click("#record")

    # then: a login over the page, the scans still there, nothing recorded yet
    expect(page.locator("#reauth-dialog")).to_be_visible()
    expect(page.locator("#reauth-pending")).to_contain_text("Paracetamol")
    expect(page.locator("#units li")).to_have_count(2)
    expect(page.locator("#verdict")).to_have_class("verdict go")
    screenshot(page, "cart-reauth-vi")
    assert page.url.endswith("/cart/")
    assert not Administration.objects.exists()

    # when: the same nurse logs in
    log_in_over_the_page(page, *HOA)

    # then: the same request went again and recorded once, under her name
    expect(page.locator("#message")).to_have_class("message ok")
    expect(page.locator("#message")).to_contain_text("Paracetamol")
    expect(page.locator("#reauth-dialog")).to_be_hidden()
    assert len(keys) == 2 and keys[0] and keys[0] == keys[1]
    record = Administration.objects.get()
    assert record.performer.username == "dieuduong.hoa"
    assert record.units.count() == 2
    expect(page.locator(".dose.given")).to_have_count(1)
    expect(page.locator("#scan")).to_be_focused()
    # and the new session's CSRF token is the page's: logging out works
    page.click("#logout-form button")
    page.wait_for_url("**/cart/login/")


def test_another_nurse_logging_in_over_the_page_does_not_record_under_her_name(page):
    # given
    an_with_a_go(page)
    session_ends_on_the_server()
    page.click("#record")

    # when: Bình logs in instead of Hoa
    log_in_over_the_page(page, *BINH)

    # then: nothing recorded, the screen cleared, and the cart says so in words
    message = page.locator("#message")
    expect(message).to_have_class("message error")
    expect(message).to_contain_text("Trần Văn Bình")
    expect(message).to_contain_text("Nguyễn Thị Hoa")
    expect(message).to_contain_text("CHƯA ghi nhận")
    expect(message).to_contain_text("Paracetamol")
    expect(page.locator("#nurse-name")).to_have_text("Trần Văn Bình")
    expect(page.locator("#patient")).to_be_hidden()
    expect(page.locator("#verdict")).to_be_hidden()
    assert not Administration.objects.exists()
    # Hoa's check is hers to answer for, not Bình's
    expect(page.locator("#unrecorded")).to_be_hidden()
    hoa = User.objects.get(username="dieuduong.hoa")
    unrecorded = checks_unrecorded(
        now=timezone.now(), older_than=timedelta(0), lookback=timedelta(hours=1), performer=hoa
    )
    assert len(unrecorded) == 1
    # and Bình goes on under her own session
    open_patient(page, AN, "Nguyễn Văn An")


def test_a_wrong_pin_over_the_page_keeps_the_dialog_and_the_scans(page):
    # given
    an_with_a_go(page)
    keys = record_keys(page)
    session_ends_on_the_server()
    page.click("#record")

    # when
    log_in_over_the_page(page, HOA[0], "999999")

    # then
    problem = page.locator("#reauth-problem")
    expect(problem).to_be_visible()
    expect(problem).to_contain_text("Thẻ nhân viên hoặc mã PIN không đúng")
    expect(page.locator("#reauth-dialog")).to_be_visible()
    expect(page.locator("#reauth-pin")).to_be_focused()
    expect(page.locator("#units li")).to_have_count(2)
    assert not Administration.objects.exists()

    # and the right PIN still finishes the same record
    page.keyboard.type(HOA[1])
    page.keyboard.press("Enter")
    expect(page.locator("#message")).to_have_class("message ok")
    assert Administration.objects.count() == 1
    assert len(set(keys)) == 1


def test_cancelling_the_login_says_the_dose_was_not_recorded(page):
    an_with_a_go(page)
    session_ends_on_the_server()
    page.click("#record")
    expect(page.locator("#reauth-dialog")).to_be_visible()

    page.click("#reauth-cancel")

    expect(page.locator("#reauth-dialog")).to_be_hidden()
    expect(page.locator("#message")).to_have_class("message error")
    expect(page.locator("#message")).to_contain_text("CHƯA ghi nhận")
    expect(page.locator("#message")).to_contain_text("Paracetamol")
    assert not Administration.objects.exists()
    # the scans stay; Record asks for the login again
    expect(page.locator("#units li")).to_have_count(2)
    page.click("#record")
    log_in_over_the_page(page, *HOA)
    expect(page.locator("#message")).to_have_class("message ok")
    assert Administration.objects.count() == 1


def test_a_401_during_not_given_logs_in_over_the_page_and_documents_once(page):
    log_in(page, *HOA)
    open_patient(page, AN, "Nguyễn Văn An")
    page.locator(".dose.due button").first.click()
    page.click('#not-given-reasons button[data-reason="refused"]')
    session_ends_on_the_server()

    page.click("#not-given-confirm")
    log_in_over_the_page(page, *HOA)

    expect(page.locator("#message")).to_have_class("message ok")
    assert Administration.objects.filter(status=AdministrationStatus.NOT_DONE).count() == 1


# --- her own list at the next login -------------------------------------------------------------


def test_the_next_login_lists_her_unrecorded_dose_until_she_answers_for_it(page):
    # given: a GO left on screen, and she logs out
    an_with_a_go(page)
    page.click("#logout-form button")
    page.wait_for_url("**/cart/login/")

    # when: she logs in again
    log_in(page, *HOA)

    # then: the list names the patient, the drug and the time of the check
    panel = page.locator("#unrecorded")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text("Đã quét nhưng chưa ghi nhận")
    item = panel.locator("#unrecorded-list li")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("Nguyễn Văn An")
    expect(item).to_contain_text("Paracetamol")
    expect(item).to_contain_text("quét lúc")
    expect(item).to_contain_text("· uống ·")  # the route in words, not "PO"
    screenshot(page, "cart-unrecorded-vi")

    # when: she answers for it
    item.locator("button.acknowledge").click()
    expect(page.locator("#ack-dialog")).to_be_visible()
    expect(page.locator("#ack-confirm")).to_be_disabled()
    page.click('#ack-reasons button[data-reason="scanned_in_error"]')
    page.click("#ack-confirm")

    # then
    expect(panel).to_be_hidden()
    expect(page.locator("#message")).to_have_class("message ok")
    acknowledgement = UnrecordedCheckAcknowledgement.objects.get()
    assert acknowledgement.reason == "scanned_in_error"
    assert acknowledgement.acknowledged_by.username == "dieuduong.hoa"
    # and it is gone at the login after that
    page.reload()
    expect(page.locator("#scan")).to_be_focused()
    expect(panel).to_be_hidden()


def test_other_needs_a_comment_and_the_list_stays_until_answered(page):
    an_with_a_go(page)
    page.click("#logout-form button")
    page.wait_for_url("**/cart/login/")
    log_in(page, *HOA)
    panel = page.locator("#unrecorded")
    expect(panel).to_be_visible()

    panel.locator("button.acknowledge").click()
    page.click('#ack-reasons button[data-reason="other"]')
    page.click("#ack-confirm")

    expect(page.locator("#ack-problem")).to_be_visible()
    expect(page.locator("#ack-dialog")).to_be_visible()
    page.click("#ack-cancel")
    expect(panel).to_be_visible()
    assert not UnrecordedCheckAcknowledgement.objects.exists()


# --- the ward dashboard ---------------------------------------------------------------------------


def test_the_dashboard_counts_a_check_left_unrecorded_for_n_minutes_and_lists_it(page, demo):
    # given: Hoa's GO, then nothing
    an_with_a_go(page)
    page.click("#logout-form button")
    page.wait_for_url("**/cart/login/")
    log_in(page, *LAN)
    page.goto(page.base_url + "/dashboard/?ward=NOI")
    expect(page.locator("#tile-unrecorded .number")).to_have_text("0")  # she may be recording

    # when: UNRECORDED_CHECK_MINUTES (10) go by
    demo.shift(timedelta(minutes=11))
    log_in(page, *LAN)
    page.goto(page.base_url + "/dashboard/?ward=NOI")

    # then
    tile = page.locator("#tile-unrecorded")
    expect(tile.locator(".number")).to_have_text("1")
    expect(tile).to_contain_text("Đã quét nhưng chưa ghi nhận")
    expect(tile).to_have_class("tile bad")
    tile.click()
    listed = page.locator("#list-unrecorded")
    expect(listed).to_be_visible()
    row = listed.locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Nguyễn Văn An")
    expect(row).to_contain_text("Paracetamol")
    expect(row).to_contain_text("Nguyễn Thị Hoa")
    expect(row).to_contain_text("chưa ghi nhận")


def test_a_401_while_asking_about_a_lost_answer_logs_in_and_asks_again(page):
    # given: the record is saved, then its answer is lost and the session ends
    an_with_a_go(page)

    def saved_then_lost_and_logged_out(route):
        route.fetch()
        session_ends_on_the_server()
        route.abort("connectionreset")

    page.route("**/api/v1/administrations/", saved_then_lost_and_logged_out)

    # when: the cart asks what became of the key, and meets the login
    page.click("#record")
    expect(page.locator("#reauth-pending")).to_contain_text("Mất phản hồi")
    log_in_over_the_page(page, *HOA)

    # then: it asked again, logged in, and shows what the server says
    expect(page.locator("#message")).to_have_class("message ok", timeout=15_000)
    expect(page.locator("#message")).to_contain_text("Paracetamol")
    assert Administration.objects.count() == 1


def test_the_item_2_states_speak_english(page, settings):
    # given: an English cart, a short idle time, a GO on screen
    settings.CART_IDLE_LOCK_SECONDS = 12
    settings.CART_IDLE_WARNING_SECONDS = 8
    log_in(page, *HOA)
    page.click('button.lang[value="en"]')
    expect(page.locator("#prompt")).to_have_text("Scan the patient's wristband")
    open_patient(page, AN, "Nguyễn Văn An")
    scan(page, wedge(label("PCM2611A", 1)))
    scan(page, wedge(label("PCM2611A", 2)))
    expect(page.locator("#verdict")).to_have_class("verdict go")

    # then: the countdown, in English, names the dose
    warning = page.locator("#idle-warning")
    expect(warning).to_be_visible(timeout=15_000)
    expect(warning).to_contain_text("NOT RECORDED YET")
    expect(warning).to_contain_text("Paracetamol")
    screenshot(page, "cart-idle-countdown-en")
    page.keyboard.press("Shift")
    expect(warning).to_be_hidden()

    # when: the session ends on the server and she presses Record
    session_ends_on_the_server()
    page.click("#record")

    # then: the login over the page, in English, says what is not recorded yet
    expect(page.locator("#reauth-dialog")).to_be_visible()
    expect(page.locator("#reauth-pending")).to_contain_text("not recorded yet")
    screenshot(page, "cart-reauth-en")
    page.click("#reauth-cancel")
    expect(page.locator("#reauth-dialog")).to_be_hidden()
    expect(page.locator("#message")).to_contain_text("NOT recorded")

    # when: she logs in again (the cart remembers English)
    log_in(page, *HOA)

    # then: her list, in English
    panel = page.locator("#unrecorded")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text("Scanned but not recorded")
    expect(panel.locator("#unrecorded-list li")).to_contain_text("Paracetamol")
    screenshot(page, "cart-unrecorded-en")
    assert not Administration.objects.exists()
