"""Hospitals as tenants: whoever works at the provincial general hospital (BVDKT) reads and
changes nothing of Bãi Cháy's (BVBC), on every URL the project serves, whatever identifier she
types. The URLs are the role matrix's (found by walking the resolver, so a page added later is
covered the day it is wired in); the identifiers are Bãi Cháy's patient, ward, order, record and
pharmacy-site rows. Bãi Cháy's patients include one its HIS registered but nobody has admitted
yet: she is Bãi Cháy's too (`Patient.hospital`), not the province's.

A request passes when it is refused (401/403/404, a redirect to a login), or when it answers
without any of Bãi Cháy's patients in it: a list or a report cut to the user's hospitals passes.
No request may end in a 5xx, and none may change Bãi Cháy's rows.
"""

import base64
import json
import re
from collections import defaultdict
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser

import pytest
import time_machine
from django.apps import apps
from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application

from backoffice.admin_site import pharmacy_site
from backoffice.reports.definitions import REPORTS
from backoffice.reports.selectors import ReportFilter
from hospital.models import (
    Hospital,
    LoginThrottle,
    Role,
    SecurityEvent,
    SecurityEventKind,
    User,
)
from hospital.scopes import SCOPES
from hospital.service_accounts import service_account_create
from hospital.throttle import (
    BADGE,
    PASSWORD,
    Source,
    login_attempt_begin,
    login_throttle_release,
)
from interop.models import (
    CodeMapKind,
    Destination,
    InboundCodeMap,
    InboundMessage,
    InboundState,
    OutboundMessage,
)
from pharmacy.models import (
    Medication,
    MedicationOrder,
    OrderStatus,
    ScheduledDose,
    ScheduleKind,
)
from pharmacy.services import VerbalOrderInput, order_create_verbal
from scanning.chains import waste_append
from scanning.missing_doses import missing_dose_request
from scanning.models import (
    AccessLog,
    AccessReason,
    Administration,
    MissingDoseRequest,
    ScanEvent,
    Waste,
    WasteReason,
)
from tests.demo_copy import demo_hospital_copy
from tests.factories import OrderFactory
from tests.hospital.test_role_matrix import (
    ADMIN,
    CHARGE_NURSE,
    NURSE,
    PHARMACIST,
    PUBLIC,
    ROUTES,
    SERVICE,
    World,
    _record_a_dose,
    _service_account_token,
    ask,
    cart_client,
    expected,
    urls,
)
from tests.scanning.conftest import DEMO_NOW
from wards.models import Admission, Patient, Ward, Wristband
from wards.services import patient_save_from_his

pytestmark = pytest.mark.django_db

ROLES = [NURSE, CHARGE_NURSE, PHARMACIST, ADMIN, SERVICE]
THEIRS = "BVBC"
HAI_BAND = "wristband-BC2026000001.png"  # paracetamol 1 g due now, at Bãi Cháy
HAI_PARACETAMOL = [
    "unit-dose-08936012345001-PCM2611AS005.png",
    "unit-dose-08936012345001-PCM2611AS006.png",
]
# Registered by Bãi Cháy's HIS (an outpatient visit booked), admitted nowhere yet.
NGA = "BC2026000003"


def staff_of(hospital: str) -> QuerySet:
    """The people and systems who work at the hospital (by assignment to one of its wards, or
    by its list of staff)."""
    return User.objects.filter(
        Q(hospitals__code=hospital) | Q(wards__hospital__code=hospital)
    ).distinct()


def _credential_of_staff(hospital: str) -> Q:
    staff = staff_of(hospital)
    return (
        Q(credential__in=staff.values("username"))
        | Q(credential__in=staff.values("badge_gsrn"))
        | Q(credential__in=Application.objects.filter(user__in=staff).values("client_id"))
    )


# The pharmacy-site models whose rows belong to one hospital, and the lookup of that hospital's
# code (or, for a row that names its staff member by a credential, a Q of the code). The others
# (the formulary, recalls) are the province's, and so are a code map or a destination without a
# hospital.
HOSPITAL_ROWS: dict[str, str | Callable[[str], Q]] = {
    "hospital.hospital": "code",
    "wards.ward": "hospital__code",
    "wards.patient": "admissions__ward__hospital__code",
    "wards.admission": "ward__hospital__code",
    "wards.wristband": "admission__ward__hospital__code",
    "pharmacy.medicationorder": "admission__ward__hospital__code",
    "scanning.administration": "admission__ward__hospital__code",
    "scanning.scanevent": "administration__admission__ward__hospital__code",
    "scanning.accesslog": "ward__hospital__code",
    "interop.outboundmessage": "administration__admission__ward__hospital__code",
    "interop.inboundmessage": "hospital__code",
    "interop.destination": "hospital__code",
    "scanning.waste": "administration__admission__ward__hospital__code",
    "hospital.user": "wards__hospital__code",
    "hospital.serviceaccount": "user__hospitals__code",
    "interop.inboundcodemap": "hospital__code",
    "hospital.securityevent": lambda code: Q(subject__in=staff_of(code)),
    "hospital.loginthrottle": _credential_of_staff,
    "oauth2_provider.accesstoken": lambda code: Q(application__user__in=staff_of(code)),
}

# The pharmacy site's other models, and why they belong to the whole province. A model added to
# the site must join one of the two lists (and HOSPITAL_ROWS needs a Bãi Cháy sample of it), so
# a page of a new kind of row cannot slip past this file unscoped.
PROVINCE_ROWS = {
    "pharmacy.substance": "the province's formulary",
    "pharmacy.medication": "the province's formulary (stocked per hospital: not_stocked_at)",
    "pharmacy.package": "the province's formulary",
    "pharmacy.lotrecall": "a recall is the province's",
}

# What a login throttle and its alerts keep about a stranger: an address and a username nobody
# has. They concern no hospital's staff, so only a superuser (the province's IT) reads them.
STRANGER_IP = "203.0.113.77"
STRANGER_USERNAME = "khong.ai.ca"
BC_CART_IP = "10.9.8.7"


def secrets_of(hospital: str, *, public: bool = False) -> list[str]:
    """What must never appear in another hospital's answers: its patients' MRNs, GSRNs and names
    (as HTML and as JSON with its escapes); on a page behind a login, its staff, its wards'
    names and its prescribers too. A public page (the cart's login, where a cart's ward is
    picked before anyone is known) may name the province's wards."""
    found = []
    theirs = Q(admissions__ward__hospital__code=hospital) | Q(
        hospital__code=hospital, admissions__isnull=True
    )
    for mrn, gsrn, name in (
        Patient.objects.filter(theirs).distinct().values_list("mrn", "gsrn", "full_name")
    ):
        found += [mrn, gsrn, name, json.dumps(name)[1:-1]]
    if not public:
        for name in [
            "Bệnh viện Bãi Cháy (demo)",
            "Đỗ Thu Hà",
            "Trịnh Khánh Linh",
            "Khoa Nội (Bãi Cháy)",
            "BS. Đinh Văn Quang",
            "HIS Bãi Cháy",
        ]:
            found += [name, json.dumps(name)[1:-1]]
        # Its staff's and systems' accounts (on the security pages: events, login delays,
        # tokens), and what those pages keep about strangers, which is no hospital's to read.
        staff = staff_of(hospital)
        found += list(staff.values_list("username", flat=True))
        found += list(staff.exclude(badge_gsrn=None).values_list("badge_gsrn", flat=True))
        found += list(Application.objects.filter(user__in=staff).values_list("name", flat=True))
        found += [STRANGER_IP, STRANGER_USERNAME, BC_CART_IP]
    return found


def fingerprint(hospital: str) -> dict:
    """Bãi Cháy's rows that a request could change, counted and summed by state."""
    ward = {"admission__ward__hospital__code": hospital}
    return {
        "administrations": list(
            Administration.objects.filter(**ward)
            .values("status")
            .annotate(n=Count("pk"))
            .order_by("status")
        ),
        "orders": list(
            MedicationOrder.objects.filter(**ward)
            .values("status", "verified_by_id", "cosigned_at")
            .order_by("pk")
        ),
        "bands": list(Wristband.objects.filter(**ward).values("voided_at").order_by("pk")),
        "admissions": list(
            Admission.objects.filter(ward__hospital__code=hospital)
            .values("ward_id", "bed_id", "discharged_at")
            .order_by("pk")
        ),
        "scan_events": ScanEvent.objects.filter(
            administration__admission__ward__hospital__code=hospital
        ).count(),
        "login_delays": list(
            LoginThrottle.objects.filter(_credential_of_staff(hospital))
            .values("failures", "blocked_until")
            .order_by("pk")
        ),
        "tokens": AccessToken.objects.filter(application__user__in=staff_of(hospital)).count(),
        "code_maps": list(
            InboundCodeMap.objects.filter(hospital__code=hospital).values().order_by("pk")
        ),
    }


@pytest.fixture
def province():
    """The demo province, with a dose given at Bãi Cháy by its own nurse, and the users of the
    provincial general hospital who must not see it."""
    with time_machine.travel(DEMO_NOW, tick=False):
        demo_hospital_copy()
        Destination.objects.create(name="HIS", host="127.0.0.1", port=2575)
        users = {
            NURSE: User.objects.get(username="dieuduong.hoa"),
            CHARGE_NURSE: User.objects.get(username="dieuduong.lan"),
            PHARMACIST: User.objects.get(username="duocsi.tuan"),
            ADMIN: User.objects.get(username="quantri"),
        }
        ha = User.objects.get(username="dieuduong.ha")
        administration = _record_a_dose(ha, band=HAI_BAND, units=HAI_PARACETAMOL, ward="BC-NOI")
        hai = administration.patient
        AccessLog.objects.create(
            user=ha,
            patient=hai,
            ward=Ward.objects.get(code="BC-NOI"),
            reason=AccessReason.WRISTBAND_CHECK,
        )
        _more_of_bai_chay(ha, administration)
        bearer = _service_account_token(users[ADMIN])
        users[SERVICE] = User.objects.get(username="service.his")
        _security_rows_of_bai_chay(ha)
        InboundCodeMap.objects.create(
            kind=CodeMapKind.WARD,
            his_code="K-BC-NOI",
            ward=Ward.objects.get(code="BC-NOI"),
            hospital=Hospital.objects.get(code=THEIRS),
        )
        objects = defaultdict(lambda: "1")  # a list page's URL names no row
        for label, lookup in HOSPITAL_ROWS.items():
            model = apps.get_model(label)
            theirs = lookup(THEIRS) if callable(lookup) else Q(**{lookup: THEIRS})
            row = model.objects.filter(theirs).order_by("pk").first()
            assert row is not None, f"the test needs a Bãi Cháy {label}"
            objects[label] = str(row.pk)
        order = MedicationOrder.objects.filter(admission__patient=hai).first()
        huyen = Admission.objects.get(patient__mrn="BC2026000002")
        samples = {
            "admission_id": str(huyen.external_id),
            "request_id": str(MissingDoseRequest.objects.get(order__admission=huyen).external_id),
            "ward_code": "BC-NOI",
            "user_id": str(ha.pk),
            "id": str(ha.pk),  # a staff member's PIN and password pages
            "mrn": hai.mrn,
            "code": "BC-NOI",
            "external_id": str(administration.external_id),
            "order_id": str(order.external_id),
            "action": "verify",
            "content_type_id": "1",
            "url": "no-such-page/",
        }
        assert OutboundMessage.objects.filter(administration=administration).exists()
        yield World(users=users, samples=samples, objects=objects, bearer=bearer)


def _more_of_bai_chay(nurse: User, given: Administration) -> None:
    """A row of every kind the pharmacy's queues, pages and reports list: an order awaiting
    verification, an unsigned telephone order, a missing dose asked for, a waste, a message from
    its HIS and its HIS as a destination (its service account: _security_rows_of_bai_chay)."""
    huyen = Admission.objects.get(patient__mrn="BC2026000002")
    bai_chay = Hospital.objects.get(code=THEIRS)
    waste_append(
        Waste(
            administration=given,
            patient=given.patient,
            amount=Decimal("250"),
            unit="mg",
            reason=WasteReason.DROPPED,
            performer=nurse,
            wasted_at=timezone.now(),
        )
    )
    InboundMessage.objects.create(
        sending_application="HIS",
        sending_facility="BAICHAY",
        hospital=bai_chay,
        control_id="BC-0001",
        message_type="ADT^A08",
        patient_key=given.patient.mrn,
        raw=f"MSH|^~\\&|HIS|BAICHAY|BCMA|BAICHAY|20261124||ADT^A08|BC-0001|P|2.5\rPID|||{given.patient.mrn}",
        state=InboundState.FAILED,
        problem_code="BED_UNKNOWN",
        problem="PV1-3: no bed BC-NOI-99 on ward BC-NOI",
        received_at=timezone.now(),
    )
    Destination.objects.create(name="HIS Bãi Cháy", host="127.0.0.1", port=2576, hospital=bai_chay)
    OrderFactory(
        admission=huyen,
        medication=Medication.objects.get(code="losartan-50-tab"),
        dose_value=Decimal("50"),
        status=OrderStatus.PENDING_VERIFICATION,
        verified_by=None,
        verified_at=None,
    )
    order_create_verbal(
        nurse=nurse,
        values=VerbalOrderInput(
            admission=huyen,
            medication=Medication.objects.get(code="paracetamol-500-tab"),
            dose_value=Decimal("500"),
            dose_unit="mg",
            route="PO",
            schedule_kind=ScheduleKind.STAT,
            prescriber_name="BS. Đinh Văn Quang",
            verbal_kind="telephone",
            read_back_confirmed=True,
        ),
    )
    due = ScheduledDose.objects.filter(order__admission=huyen, order__status=OrderStatus.ACTIVE)
    missing_dose_request(
        nurse=nurse, scheduled_dose=due.order_by("due_at").first(), reason="not_on_cart"
    )
    _registered_not_admitted()


def _registered_not_admitted() -> Patient:
    """A patient Bãi Cháy's HIS registered (A28/A04 before the visit) and nobody admitted yet."""
    return patient_save_from_his(
        mrn=NGA,
        values={
            "full_name": "Quách Thị Thanh Nga",
            "date_of_birth": date(1979, 5, 30),
            "sex": "F",
            "national_id": "022179000123",
        },
        create=True,
        hospital_id=Hospital.objects.get(code=THEIRS).pk,
    )


def _security_rows_of_bai_chay(ha: User) -> None:
    """A row of every kind the security pages list: Bãi Cháy's nurse delayed after wrong PINs at
    her cart and let in by her pharmacist (a login delay and a security event), a token of Bãi
    Cháy's HIS, and a stranger's guesses (an address and a username nobody has)."""
    linh = User.objects.get(username="duocsi.linh")
    cart = Source(ip=BC_CART_IP, cart="BC-NOI-1")
    for _attempt in range(settings.LOGIN_FREE_FAILURES + 1):
        login_attempt_begin(kind=BADGE, credential=ha.badge_gsrn, source=cart)
    login_throttle_release(credential=ha.badge_gsrn, by=linh, subject=ha)
    login_attempt_begin(kind=BADGE, credential=ha.badge_gsrn, source=cart)
    stranger = Source(ip=STRANGER_IP)
    login_attempt_begin(kind=PASSWORD, credential=STRANGER_USERNAME, source=stranger)
    SecurityEvent.objects.create(
        kind=SecurityEventKind.SOURCE_THROTTLED, source_ip=STRANGER_IP, failures=21
    )
    account, secret = service_account_create(
        name="his-baichay",
        scopes=list(SCOPES),
        by=linh,
        hospitals=[Hospital.objects.get(code=THEIRS)],
    )
    basic = base64.b64encode(f"{account.client_id}:{secret}".encode()).decode()
    answer = Client().post(
        "/oauth/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}"
    )
    assert answer.status_code == 200, answer.content


def their_urls(route: str, world: World) -> list[str]:
    """The route's URLs with Bãi Cháy's identifiers; a model page of a provincial model (the
    formulary) is left out, since it belongs to no hospital."""
    match = re.match(r"pharmacy/(?P<app>\w+)/(?P<model>\w+)/(?P<rest>.+)$", route)
    if match and "object_id" in match["rest"]:
        label = f"{match['app']}.{match['model']}"
        if label not in HOSPITAL_ROWS:
            return []
    return urls(route, world)


def leaks(response, secrets: list[str]) -> list[str]:
    if response.status_code != 200 or getattr(response, "streaming", False):
        return []
    body = response.content.decode("utf-8", "replace")
    return [secret for secret in secrets if secret in body]


@pytest.mark.parametrize("role", ROLES)
def test_another_hospitals_patients_are_out_of_reach_on_every_url(province, role):
    secrets = {False: secrets_of(THEIRS), True: secrets_of(THEIRS, public=True)}
    before = fingerprint(THEIRS)
    wrong = []
    for route in ROUTES:
        with_identifier = "<" in route or "(?P<" in route
        public = expected(route, "GET") == PUBLIC
        for url in their_urls(route, province):
            for method in ("GET", "POST") if with_identifier else ("GET",):
                response = ask(province, role, method, url)
                if response.status_code >= 500:
                    wrong.append(f"{method} {url}: {response.status_code}")
                elif found := leaks(response, secrets[public]):
                    wrong.append(f"{method} {url}: shows {found[:2]}")
                if method == "POST" and fingerprint(THEIRS) != before:
                    wrong.append(f"{method} {url}: changed Bãi Cháy's rows")
                    before = fingerprint(THEIRS)
    assert not wrong, f"{role}:\n" + "\n".join(wrong)


def report_urls() -> list[str]:
    """Every report over the demo day: its page, each table's CSV and its chart."""
    day = timezone.localdate(DEMO_NOW)
    period = f"?date_from={day}&date_to={day}"
    found = []
    for slug, report in REPORTS.items():
        found += [f"/pharmacy/reports/{slug}/{period}", f"/pharmacy/reports/{slug}/chart/{period}"]
        content = report.build(ReportFilter(date_from=day, date_to=day), timezone.now())
        found += [
            f"/pharmacy/reports/{slug}/csv/{period}&table={table.slug}" for table in content.tables
        ]
    return found


@pytest.mark.parametrize("role", [PHARMACIST, ADMIN])
def test_another_hospitals_rows_are_in_no_report(province, role):
    secrets = secrets_of(THEIRS)
    wrong = []
    with time_machine.travel(DEMO_NOW, tick=False):
        for url in report_urls():
            response = ask(province, role, "GET", url)
            if response.status_code != 200:
                wrong.append(f"{url}: {response.status_code}")
            elif found := leaks(response, secrets):
                wrong.append(f"{url}: shows {found[:2]}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("role", ROLES)
def test_a_patient_bai_chay_registered_and_nobody_admitted_is_out_of_reach(province, role):
    # given: Nga, registered by Bãi Cháy's HIS, admitted nowhere
    nga = Patient.objects.get(mrn=NGA)
    secrets = [NGA, nga.gsrn, nga.full_name, json.dumps(nga.full_name)[1:-1]]
    autocomplete = "/pharmacy/autocomplete/?app_label=wards&model_name=admission"

    # when: the provincial hospital's staff ask for her by every identifier
    wrong = []
    for url in [
        "/pharmacy/wards/patient/",
        "/pharmacy/wards/patient/?q=Quách",  # (the page repeats what was searched for)
        f"/pharmacy/wards/patient/{nga.pk}/change/",
        f"/pharmacy/wards/patient/{nga.pk}/history/",
        f"{autocomplete}&field_name=patient&term=Nga",
        f"/api/v1/patients/{NGA}/mar/",
        f"/api/v1/fhir/Patient/{nga.external_id}",
    ]:
        response = ask(province, role, "GET", url)
        if response.status_code >= 500:
            wrong.append(f"{url}: {response.status_code}")
        elif found := leaks(response, secrets):
            wrong.append(f"{url}: shows {found[:2]}")

    # then: she is nowhere in their answers
    assert not wrong, f"{role}:\n" + "\n".join(wrong)


def test_the_registering_hospital_sees_its_patient_nobody_admitted(province):
    from tests.hospital.test_role_matrix import cart_client

    linh = cart_client(User.objects.get(username="duocsi.linh"))
    page = linh.get("/pharmacy/wards/patient/")
    assert page.status_code == 200 and NGA in page.content.decode()
    assert linh.get(f"/api/v1/patients/{NGA}/mar/").status_code == 200


def test_the_hospitals_own_staff_do_see_it(province):
    """The refusals above are about the hospital, not the pages: Bãi Cháy's nurse and
    pharmacist read its patient."""
    ha = cart_client(User.objects.get(username="dieuduong.ha"), ward="BC-NOI")
    assert ha.get("/api/v1/patients/BC2026000001/mar/").status_code == 200
    linh = cart_client(User.objects.get(username="duocsi.linh"))
    page = linh.get("/pharmacy/wards/patient/")
    assert page.status_code == 200 and "BC2026000001" in page.content.decode()
    assert Role.PHARMACIST in {
        g.name for g in User.objects.get(username="duocsi.linh").groups.all()
    }


def test_saving_a_colleague_shared_with_another_hospital_keeps_her_there(province):
    """The staff form offers an administrator her own hospitals only; saving it must not take
    away the other hospital a colleague also works in."""
    # given: the charge nurse Lan also works at Bãi Cháy
    lan = User.objects.get(username="dieuduong.lan")
    lan.hospitals.add(Hospital.objects.get(code=THEIRS))
    admin = cart_client(User.objects.get(username="quantri"))
    url = f"/pharmacy/hospital/user/{lan.pk}/change/"

    # when: the provincial hospital's administrator saves her form as it is
    data = form_as_shown(admin.get(url).content.decode(), form_id="user_form")
    response = admin.post(url, data)

    # then: saved, and still at both hospitals
    assert response.status_code == 302, response.content[:2000]
    assert set(lan.hospitals.values_list("code", flat=True)) == {"BVDKT", THEIRS}


class _FormAsShown(HTMLParser):
    """The fields of one form as a browser would send them, nothing changed."""

    def __init__(self, form_id: str):
        super().__init__()
        self.form_id = form_id
        self.inside, self.select, self.textarea, self.data = False, None, None, {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside or ("name" not in a and tag != "option"):
            return
        if tag == "input":
            self._input(a)
        elif tag == "textarea":
            self.textarea = a["name"]
            self.data[self.textarea] = ""
        elif tag == "select":
            self.select = a["name"]
            self.data.setdefault(self.select, [])
        elif tag == "option" and self.select and "selected" in a:
            self.data[self.select].append(a.get("value", ""))

    def _input(self, a):
        kind = a.get("type")
        if kind == "checkbox":
            if "checked" in a:
                self.data.setdefault(a["name"], []).append(a.get("value", "on"))
        elif kind not in ("submit", "button"):
            self.data[a["name"]] = a.get("value", "")

    def handle_data(self, data):
        if self.textarea:
            self.data[self.textarea] += data

    def handle_endtag(self, tag):
        if tag == "textarea":
            # a browser drops the one newline that follows <textarea>
            value = self.data[self.textarea]
            self.data[self.textarea] = value[1:] if value.startswith("\n") else value
            self.textarea = None
        elif tag == "select":
            self.select = None
        elif tag == "form":
            self.inside = False


def form_as_shown(page: str, *, form_id: str) -> dict:
    """What a browser would send for the form as the page shows it, nothing changed."""
    parser = _FormAsShown(form_id)
    parser.feed(page)
    return parser.data


def test_every_page_of_the_pharmacy_site_is_of_a_hospital_or_of_the_province():
    registered = {model._meta.label_lower for model in pharmacy_site._registry}
    unplaced = registered - HOSPITAL_ROWS.keys() - PROVINCE_ROWS.keys()
    assert not unplaced, (
        f"place these in HOSPITAL_ROWS (with a Bãi Cháy sample) or PROVINCE_ROWS: {unplaced}"
    )
    assert not (HOSPITAL_ROWS.keys() & PROVINCE_ROWS.keys())


def test_the_security_pages_show_an_administrator_her_own_staff(province):
    # given: a nurse of the provincial hospital delayed after wrong PINs, as Bãi Cháy's was
    hoa = User.objects.get(username="dieuduong.hoa")
    login_attempt_begin(kind=BADGE, credential=hoa.badge_gsrn, source=Source(ip="10.1.1.1"))
    admin = cart_client(User.objects.get(username="quantri"))

    # when
    delays = admin.get("/pharmacy/hospital/loginthrottle/").content.decode()
    events = admin.get("/pharmacy/hospital/securityevent/").content.decode()
    tokens = admin.get("/pharmacy/oauth2_provider/accesstoken/").content.decode()

    # then: her nurse's delay and her system's token, nothing of Bãi Cháy's or of strangers
    ha = User.objects.get(username="dieuduong.ha")
    assert hoa.badge_gsrn in delays
    assert ha.badge_gsrn not in delays and STRANGER_USERNAME not in delays
    assert STRANGER_IP not in delays and BC_CART_IP not in delays
    assert "dieuduong.ha" not in events and STRANGER_IP not in events
    assert ">his<" in tokens and "his-baichay" not in tokens


def test_rows_about_no_known_account_are_read_by_a_superuser(province):
    root = cart_client(User.objects.create_superuser("tinh.it", password="x" * 12))

    delays = root.get("/pharmacy/hospital/loginthrottle/").content.decode()
    events = root.get("/pharmacy/hospital/securityevent/").content.decode()
    tokens = root.get("/pharmacy/oauth2_provider/accesstoken/").content.decode()

    assert STRANGER_USERNAME in delays and STRANGER_IP in delays
    assert STRANGER_IP in events and "dieuduong.ha" in events
    assert "his-baichay" in tokens


def test_an_administrator_cannot_lift_another_hospitals_delay_or_revoke_its_tokens(province):
    # given: Bãi Cháy's nurse's delay and Bãi Cháy's HIS's token
    ha = User.objects.get(username="dieuduong.ha")
    delay = LoginThrottle.objects.get(credential=ha.badge_gsrn)
    token = AccessToken.objects.get(application__name="his-baichay")
    admin = cart_client(User.objects.get(username="quantri"))

    # when: the provincial hospital's administrator posts the actions with their keys
    for url, action, pk in [
        ("/pharmacy/hospital/loginthrottle/", "release", delay.pk),
        ("/pharmacy/oauth2_provider/accesstoken/", "revoke_tokens", token.pk),
    ]:
        admin.post(url, {"action": action, "_selected_action": [pk], "index": 0})

    # then: nothing of Bãi Cháy's changed
    delay.refresh_from_db()
    assert delay.failures == 1
    assert AccessToken.objects.filter(pk=token.pk).exists()
    assert not SecurityEvent.objects.filter(
        kind=SecurityEventKind.RELEASED, actor__username="quantri"
    ).exists()


def test_a_patient_added_in_the_pharmacy_site_is_registered_by_the_editors_hospital(province):
    from tests.hospital.test_role_matrix import cart_client

    # given the provincial hospital's administrator on an empty patient form
    admin = cart_client(User.objects.get(username="quantri"))
    url = "/pharmacy/wards/patient/add/"
    data = form_as_shown(admin.get(url).content.decode(), form_id="patient_form")
    assert data["hospital"] == [str(Hospital.objects.get(code="BVDKT").pk)]  # her only one
    data.update(
        mrn="BN2026009201",
        gsrn="952000100000092011",
        full_name="Mai Văn Tiến",
        date_of_birth="1990-01-02",
        sex="M",
    )

    # when she picks Bãi Cháy (not offered: typed into the request), then her own
    refused = admin.post(url, {**data, "hospital": Hospital.objects.get(code=THEIRS).pk})
    saved = admin.post(url, data)

    # then the first is refused on the form, the second registered by her hospital
    assert refused.status_code == 200
    assert saved.status_code == 302, saved.content[:2000]
    assert Patient.objects.get(mrn="BN2026009201").hospital.code == "BVDKT"


def test_a_patient_typed_under_a_number_her_hospital_gave_a_linked_person_is_refused_on_the_form(
    province,
):
    from tests.hospital.test_role_matrix import cart_client
    from wards.models import PatientNumber

    # given a person registered by Bãi Cháy, also numbered BN2026009301 at the provincial
    # hospital (linked through her national ID): her Patient.mrn is Bãi Cháy's
    linked = Patient.objects.filter(hospital__code=THEIRS).first()
    bvdkt = Hospital.objects.get(code="BVDKT")
    PatientNumber.objects.create(patient=linked, hospital=bvdkt, mrn="BN2026009301")
    admin = cart_client(User.objects.get(username="quantri"))
    url = "/pharmacy/wards/patient/add/"
    data = form_as_shown(admin.get(url).content.decode(), form_id="patient_form")
    data.update(
        mrn="BN2026009301",
        gsrn="952000100000093011",
        full_name="Mai Văn Tiến",
        date_of_birth="1990-01-02",
        sex="M",
    )

    # when the provincial hospital's administrator types a new patient under that number
    refused = admin.post(url, data)

    # then the form says so (no server error), and nobody is added
    assert refused.status_code == 200
    assert "mrn" in refused.context_data["adminform"].form.errors
    assert not Patient.objects.filter(gsrn="952000100000093011").exists()
    assert PatientNumber.objects.get(hospital=bvdkt, mrn="BN2026009301").patient == linked


def test_an_administrator_adds_a_destination_for_her_hospital_never_for_the_province(province):
    from tests.hospital.test_role_matrix import cart_client

    # given the provincial hospital's administrator on an empty destination form
    admin = cart_client(User.objects.get(username="quantri"))
    url = "/pharmacy/interop/destination/add/"
    data = form_as_shown(admin.get(url).content.decode(), form_id="destination_form")
    assert data["hospital"] == [str(Hospital.objects.get(code="BVDKT").pk)]  # her only one
    data.update(name="HIS tỉnh", host="127.0.0.1", port="2590")

    # when she leaves the hospital empty (a destination for every hospital's records), then not
    province_wide = admin.post(url, {**data, "hospital": ""})
    saved = admin.post(url, data)

    # then the first is refused on the form: another hospital's records would reach her system
    assert province_wide.status_code == 200
    assert "hospital" in province_wide.context_data["adminform"].form.errors
    assert saved.status_code == 302, saved.context_data["adminform"].form.errors
    assert Destination.objects.get(name="HIS tỉnh").hospital.code == "BVDKT"
