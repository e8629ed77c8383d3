"""A child's dose judged per kilogram at the cart, in Debian's Chromium.

The demo's Yến (BN2026000115, NGOAI 07) is eleven and weighs 24.5 kg, weighed on admission
yesterday; her paracetamol 500 mg PRN has a maximum of 15 mg/kg per dose: 500 mg is 20.4 mg/kg.
"""

from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from scanning.models import Administration
from tests.e2e.conftest import label, log_in, scan, screenshot, wedge
from wards.models import Patient

pytestmark = pytest.mark.django_db(transaction=True)

MAI = ("]C18017952000200000000136", "333333")  # nurse, NGOAI
YEN = "wristband-BN2026000115.png"


def open_yen(page):
    expect(page.locator("#scan")).to_be_focused()
    scan(page, wedge(YEN, "]C1"))
    expect(page.locator("#patient-name")).to_have_text("Châu Ngọc Yến")


def test_the_banner_shows_the_childs_age_and_weight_with_its_date(page):
    log_in(page, *MAI, ward="NGOAI")

    open_yen(page)

    expect(page.locator("#patient-age")).to_have_text("11 tuổi")
    expect(page.locator("#patient-weight")).to_have_text("24.5 kg (cân ngày 23/11/2026)")
    expect(page.locator("#dose-list")).to_contain_text("500 mg (tối đa 15 mg/kg)")


def test_a_childs_paracetamol_above_15_mg_per_kg_is_refused_and_at_or_below_it_is_given(page):
    # given
    log_in(page, *MAI, ward="NGOAI")
    open_yen(page)
    # when: one 500 mg tablet for 24.5 kg
    scan(page, wedge(label("PCM2611A", 1)))
    # then
    expect(page.locator("#verdict")).to_have_class("verdict stop")
    finding = page.locator("#findings")
    expect(finding).to_contain_text("20.41 mg/kg")
    expect(finding).to_contain_text("24.5 kg (cân ngày 23/11/2026)")
    expect(finding).to_contain_text("tối đa 15 mg/kg")
    expect(page.locator("#verdict-drug")).to_contain_text("500 mg")
    expect(page.locator("#record")).to_be_disabled()
    screenshot(page, "cart-weight-stop-vi", show=page.locator("#verdict"))
    assert not Administration.objects.exists()

    # given she is weighed again on the ward: 500 mg is 14.7 mg/kg of 34 kg
    Patient.objects.filter(mrn="BN2026000115").update(
        weight_kg=Decimal("34"), weight_measured_at=timezone.now()
    )
    page.click("#close-patient")
    open_yen(page)
    expect(page.locator("#patient-weight")).to_contain_text("34 kg")
    # when
    scan(page, wedge(label("PCM2611A", 2)))
    page.click("#prn-reason-choices button")  # the order's one indication (issue 18)
    # then
    expect(page.locator("#verdict")).to_have_class("verdict go")
    page.click("#record")
    expect(page.locator("#message")).to_have_class("message ok")
    administration = Administration.objects.get()
    assert administration.patient.mrn == "BN2026000115"
    assert administration.amount == Decimal("500")
