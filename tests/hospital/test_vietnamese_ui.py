"""No English left in the Vietnamese pharmacy site, ward dashboard and cart login: every page a
pharmacist, an administrator or a charge nurse opens is walked in Vietnamese (the default), its
visible text and the words in its controls (placeholders, titles, button values) read, and a list
of English words and phrases that a translation gap leaves behind must not appear.

Django's own Vietnamese catalogues lag its English (timesince, the admin's "Please correct the
error below.", "- Select an option -"): hospital/django_messages.py lists those messages so our
catalogue translates them."""

import json
import re
from html.parser import HTMLParser

import pytest
import time_machine
from django.test import Client

from backoffice.admin_site import pharmacy_site
from pharmacy.models import MedicationOrder, OrderStatus
from tests.demo_copy import demo_hospital_copy
from tests.scanning.conftest import DEMO_NOW

pytestmark = pytest.mark.django_db

# Words and phrases of the English UI that must not survive in the Vietnamese one. Chosen not to
# be Vietnamese syllables or codes (IV, PRN, GTIN, MRN, PDF stay), so data cannot trip them.
ENGLISH = re.compile(
    r"\b("
    r"Please|correct the|error below|errors below|Select an option|select an option|"
    r"minutes?|hours?|days?|weeks?|months?|years?|ago|"
    r"Save|Delete|History|Search|Filter|Home|Add|Change|View|Welcome|Log out|Log in|"
    r"Password|Username|Status|Action|Actions|Yes|None|Today|Now|Clear|Show all|"
    r"Reason|Patient|Ward|Bed|Medication|Order|Orders|Due|Given|Missed|Overdue|Print|"
    r"Recall|Verify|Unknown|selected|results?|total|Run|Close|Cancel|Back|Next|Previous|"
    r"the|and|with|from|this|that|not|which|Choose|Enter|required|field|Required|"
    r"Back|Download|Chart|Report|Reports|Nurse|Pharmacist|Administrator|Wristband|Badge|"
    r"Dose|Route|Schedule|Start|Stop|Lot|Expiry|Allergy|Allergies|Weight|Age|"
    r"January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
    r")\b"
)
# What the demo data itself says in English (names of people, products, codes).
DATA = ("Điều dưỡng / Nurse", "Dược sĩ / Pharmacist", "Điều dưỡng trưởng / Charge nurse")
# Protocol identifiers an integration engineer types as they are: OAuth2 scopes and the FHIR
# resource names they open.
IDENTIFIERS = re.compile(
    r"system/\S+|FHIR (MedicationAdministration|MedicationRequest|Patient|Encounter)"
)


class _Forms(HTMLParser):
    """Forms whose required controls the browser would check itself, in its own language."""

    def __init__(self):
        super().__init__()
        self.current: dict | None = None
        self.bubbles: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "form":
            self.current = {
                "id": values.get("id") or values.get("action", "?"),
                "off": "novalidate" in values,
            }
        elif (
            tag in ("input", "select", "textarea")
            and "required" in values
            and self.current
            and not self.current["off"]
        ):
            self.bubbles.append(f"form {self.current['id']}: {values.get('name')}")

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None


def browser_bubbles(html: str) -> list[str]:
    reader = _Forms()
    reader.feed(html)
    return reader.bubbles


class _Visible(HTMLParser):
    SKIP = {"script", "style", "svg", "template", "noscript"}
    ATTRIBUTES = ("placeholder", "title", "aria-label", "alt")

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        values = dict(attrs)
        self.parts.extend(values[name] for name in self.ATTRIBUTES if values.get(name))
        if tag == "input" and values.get("type") in ("submit", "button") and values.get("value"):
            self.parts.append(values["value"])

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.skipping:
            self.skipping -= 1

    def handle_data(self, data):
        if not self.skipping and data.strip():
            self.parts.append(data.strip())


def leftovers(html: str) -> list[str]:
    reader = _Visible()
    reader.feed(html)
    found = [f"browser-language bubble: {bubble}" for bubble in browser_bubbles(html)]
    for part in reader.parts:
        for text in DATA:
            part = part.replace(text, "")
        part = IDENTIFIERS.sub("", part)
        found += [f"{match.group(0)!r} in {part[:90]!r}" for match in ENGLISH.finditer(part)]
    return found


@pytest.fixture
def demo():
    with time_machine.travel(DEMO_NOW, tick=False):
        demo_hospital_copy()
        yield


def logged_in(username: str, password: str) -> Client:
    client = Client()
    assert client.login(username=username, password=password)
    return client


def site_pages() -> list[str]:
    pages = [
        "/pharmacy/",
        "/pharmacy/verify/",
        "/pharmacy/print/",
        "/pharmacy/print/unit-dose/",
        "/pharmacy/print/downtime/",
        "/pharmacy/reports/",
        "/pharmacy/missing-doses/",
        "/pharmacy/password_change/",
        f"/pharmacy/verify/{MedicationOrder.objects.filter(status=OrderStatus.PENDING_VERIFICATION, admission__patient__mrn='BN2026000115').get().external_id}/",
    ]
    from backoffice.reports.definitions import REPORTS

    pages += [f"/pharmacy/reports/{slug}/" for slug in REPORTS]
    for model in pharmacy_site._registry:
        base = f"/pharmacy/{model._meta.app_label}/{model._meta.model_name}/"
        first = model.objects.order_by("pk").first()
        pages += [base, base + "add/"]
        if first is not None:
            pages += [f"{base}{first.pk}/change/", f"{base}{first.pk}/history/"]
    return pages


def test_the_pharmacy_site_has_no_english_left_in_vietnamese(demo):
    administrator = logged_in("quantri", "quantri-demo-2026")
    pharmacist = logged_in("duocsi.tuan", "duocsi-demo-2026")
    found = []
    for url in site_pages():
        for client in (administrator, pharmacist):
            response = client.get(url)
            if response.status_code == 200 and "text/html" in response["Content-Type"]:
                found += [f"{url}: {item}" for item in leftovers(response.content.decode())]
                break
    assert not found, "\n".join(sorted(set(found)))


def test_form_errors_and_empty_choices_are_vietnamese(demo):
    administrator = logged_in("quantri", "quantri-demo-2026")
    found = []
    for url in ("/pharmacy/wards/patient/add/", "/pharmacy/pharmacy/medication/add/"):
        response = administrator.post(url, {})
        assert response.status_code == 200
        found += [f"{url}: {item}" for item in leftovers(response.content.decode())]
    assert not found, "\n".join(sorted(set(found)))


def test_the_dashboard_and_the_logins_have_no_english_left_in_vietnamese(demo):
    found = []
    anonymous = Client()
    for url in ("/cart/login/", "/pharmacy/login/"):
        found += [f"{url}: {item}" for item in leftovers(anonymous.get(url).content.decode())]
    failed = anonymous.post("/pharmacy/login/", {"username": "x", "password": "y"})
    found += [f"failed login: {item}" for item in leftovers(failed.content.decode())]
    charge_nurse = Client()
    charge_nurse.post(
        "/cart/login/",
        {"badge": "]C18017952000200000000143", "pin": "444444", "ward": "NOI", "cart": "NOI-1"},
    )
    dashboard = charge_nurse.get("/dashboard/?ward=NOI")
    assert dashboard.status_code == 200
    found += [f"dashboard: {item}" for item in leftovers(dashboard.content.decode())]
    assert not found, "\n".join(sorted(set(found)))


def test_the_admin_scripts_speak_vietnamese(demo):
    # The calendar, date shortcuts and the permission picker take their words from here.
    catalogue = logged_in("quantri", "quantri-demo-2026").get("/pharmacy/jsi18n/")

    text = catalogue.content.decode()
    for vietnamese in ("Chủ nhật", "Hôm nay (%(date)s)", "Chọn tất cả %s", "(bấm để xóa)"):
        assert json.dumps(vietnamese) in text
