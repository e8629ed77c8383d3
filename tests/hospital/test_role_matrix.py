"""Who may reach what: every URL pattern the project serves (found by walking the resolver, so a
page added later is covered the day it is wired in), asked by every kind of staff member, against
a small table of rules. A URL that no rule covers fails `test_every_url_has_a_rule`: whoever adds
a page decides who may use it.

"Allowed" means the permission layer let the request through: anything but 401, 403 or a
redirect to a login page (a 400 for an empty body, a 404 for a sample id and a 405 for the wrong
method are allowed). No request may end in a 5xx. Staff call the API and the pages with a session
from the test client (a cart session names the nurse's ward), which checks no CSRF token: a 403
here is always a permission refusal, never a missing CSRF token. A service account calls with an
OAuth2 bearer token holding every scope. Object-level rules (a nurse's wards) are in
tests/scanning/test_ward_scoping.py; the samples here are on the nurse's own ward.
"""

import base64
import re
import uuid
from dataclasses import dataclass, field

import pytest
import time_machine
from django.apps import apps
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from backoffice.admin_site import pharmacy_site
from hospital.models import Hospital, Role, User
from hospital.scopes import SCOPES
from hospital.service_accounts import service_account_create
from interop.inbound import his_day as his_messages
from interop.inbound.inbox import inbox_receive
from interop.models import CodeMapKind, Destination, InboundCodeMap
from scanning.models import AccessLog, AccessReason, Administration
from tests.demo_copy import demo_hospital_copy
from tests.factories import NurseFactory, UserFactory
from tests.scanning.conftest import AN_BAND, DEMO_NOW, PARACETAMOL, image
from wards.models import Patient, Ward

pytestmark = pytest.mark.django_db

NURSE, CHARGE_NURSE, PHARMACIST, ADMIN = "nurse", "charge_nurse", "pharmacist", "admin"
INACTIVE_NURSE, INACTIVE_ADMIN, NO_ROLE = "inactive_nurse", "inactive_admin", "no_role"
SERVICE = "service_account"
ROLES = [NURSE, CHARGE_NURSE, PHARMACIST, ADMIN, INACTIVE_NURSE, INACTIVE_ADMIN, NO_ROLE, SERVICE]

NOBODY: frozenset[str] = frozenset()
NURSES = frozenset({NURSE, CHARGE_NURSE})
PHARMACY = frozenset({PHARMACIST, ADMIN})
CLINICAL = NURSES | PHARMACY
SYSTEMS = CLINICAL | {SERVICE}  # the reads a service account's scopes open
WARD_OVERSIGHT = frozenset({CHARGE_NURSE, PHARMACIST, ADMIN})
ADMINS = frozenset({ADMIN})
PUBLIC = "public"  # open to anyone: only "never a 5xx" is checked
BOTH = ("GET", "POST")


@dataclass(frozen=True)
class Rule:
    pattern: str  # matched against the route as Django spells it, from its start
    allowed: frozenset[str] | str
    methods: tuple[str, ...] = BOTH


# First match wins. Model pages of the pharmacy site are decided by ADMIN_MODELS below.
RULES = [
    # The ways in, the language switch, and logging out (which reveals and changes nothing; the
    # pharmacy site sends anyone it does not serve to its index instead).
    Rule(r"$", PUBLIC),
    Rule(r"(cart|pharmacy)/(login|logout)/$", PUBLIC),
    Rule(r"(api/v1/auth/badge|api/v1/auth/badge/release|i18n/setlang)/$", PUBLIC),
    Rule(r"cart/release/$", PUBLIC),  # a charge nurse's badge and PIN let a nurse in
    Rule(r"oauth/(token|revoke_token)/$", PUBLIC),  # service accounts' client credentials
    Rule(r"healthz$", PUBLIC),  # the load balancer's check: no data, no database
    # The bedside.
    Rule(r"cart/$", NURSES),
    Rule(r"api/v1/scan/check/$", NURSES),
    Rule(r"api/v1/administrations/$", NURSES, ("POST",)),
    Rule(r"api/v1/administrations/$", SYSTEMS, ("GET",)),
    Rule(r"api/v1/administrations/not-given/$", NURSES),
    Rule(r"api/v1/administrations/<uuid:external_id>/correct/$", NURSES),
    Rule(r"api/v1/administrations/<uuid:external_id>/remove/$", NURSES),
    Rule(r"api/v1/administrations/<uuid:external_id>/reassessment/$", NURSES),
    Rule(r"api/v1/administrations/<uuid:external_id>/waste/$", NURSES),
    Rule(r"api/v1/administrations/outcome/$", NURSES),
    Rule(
        r"api/v1/infusions/(hang|events)/$", NURSES
    ),  # a bag hung, and its later events  # what became of her own key
    Rule(r"api/v1/checks/unrecorded/$", NURSES),  # her own scanned-but-not-recorded checks
    Rule(r"api/v1/checks/<uuid:external_id>/acknowledge/$", NURSES),
    Rule(r"api/v1/missing-doses/$", NURSES),  # a dose asked for from the pharmacy
    Rule(r"api/v1/missing-doses/<uuid:external_id>/sent/$", PHARMACY),
    Rule(r"api/v1/patients/<str:mrn>/verbal-orders/$", NURSES),  # documented at the bedside
    Rule(r"api/v1/medications/$", CLINICAL),  # the formulary, for the verbal-order form
    # Reading the record (further limited to a nurse's wards: test_ward_scoping.py).
    Rule(r"api/v1/scan/decode/$", CLINICAL),
    Rule(r"api/v1/patients/<str:mrn>/mar/$", CLINICAL),
    Rule(r"api/v1/patients/<str:mrn>/infusions/$", CLINICAL),
    Rule(r"api/v1/patients/<str:mrn>/administrations/recent/$", CLINICAL),
    Rule(r"api/v1/wards/<str:code>/due/$", CLINICAL),
    Rule(r"api/v1/wards/<str:code>/worklist/$", NURSES),  # the cart's worklist before a scan
    Rule(r"api/v1/administrations/<str:external_id>/hl7/$", SYSTEMS),
    # The FHIR base takes transaction Bundles from systems only (a GET there is a 405).
    Rule(r"api/v1/fhir/?$", frozenset({SERVICE})),
    Rule(r"api/v1/fhir/", SYSTEMS),
    Rule(r"api/v1/(schema|docs)/$", CLINICAL),
    # The ward dashboard: charge nurses and the pharmacy, not the nurse at the cart. Its logout
    # reveals and changes nothing but the caller's own session.
    Rule(r"dashboard/logout/$", PUBLIC),
    Rule(r"dashboard/", WARD_OVERSIGHT),
    # The pharmacy's own pages, and the rest of its site (index, app pages, password, logout).
    Rule(r"pharmacy/print/badge/", ADMINS),  # staff badges: whoever manages staff accounts
    Rule(r"pharmacy/(verify|print|reports)/", PHARMACY),
    # a prescriber's co-signature is recorded by a pharmacist only; anyone in the site may read
    Rule(r"pharmacy/verbal-orders/<uuid:order_id>/cosign/$", frozenset({PHARMACIST})),
    Rule(r"pharmacy/verbal-orders/", PHARMACY),
    Rule(r"pharmacy/", PHARMACY),
]


@dataclass(frozen=True)
class ModelPages:
    view: frozenset[str]
    add: frozenset[str] = NOBODY
    change: frozenset[str] = NOBODY
    delete: frozenset[str] = NOBODY


RECORD = ModelPages(view=PHARMACY)  # what happened: read-only for everyone, superusers included
FORMULARY = ModelPages(view=PHARMACY, add=PHARMACY, change=PHARMACY)
HOSPITAL_SETUP = ModelPages(view=PHARMACY, add=ADMINS, change=ADMINS)
# Every model registered in the pharmacy site. Nobody deletes anything: clinical rows are
# PROTECTed and withdrawn by services (discharge, void, discontinue), never deleted.
ADMIN_MODELS = {
    "hospital.user": ModelPages(view=ADMINS, add=ADMINS, change=ADMINS),
    "hospital.hospital": ModelPages(view=ADMINS),  # added and changed by a superuser only
    "scanning.accesslog": RECORD,
    "hospital.securityevent": ModelPages(view=ADMINS),
    "hospital.loginthrottle": ModelPages(view=ADMINS),  # lifted by an action, never edited
    "hospital.serviceaccount": ModelPages(view=ADMINS, add=ADMINS),  # revoked by an action
    "oauth2_provider.accesstoken": ModelPages(view=ADMINS),
    "wards.ward": HOSPITAL_SETUP,
    "wards.patient": HOSPITAL_SETUP,
    "wards.admission": HOSPITAL_SETUP,
    "wards.wristband": ModelPages(view=PHARMACY),  # printed and voided through services
    "pharmacy.substance": FORMULARY,
    "pharmacy.medication": FORMULARY,
    "pharmacy.package": FORMULARY,
    "pharmacy.medicationorder": FORMULARY,
    "pharmacy.lotrecall": FORMULARY,
    "interop.destination": HOSPITAL_SETUP,
    "interop.outboundmessage": RECORD,  # retried by an action, never edited
    "interop.inboundmessage": RECORD,  # reprocessed or dismissed by actions, never edited
    "interop.inboundcodemap": FORMULARY,  # the pharmacy maps the HIS's codes
    "scanning.administration": RECORD,
    "scanning.scanevent": RECORD,
    "scanning.waste": RECORD,
}
_ADMIN_MODEL_ROUTE = re.compile(r"pharmacy/(?P<app>\w+)/(?P<model>\w+)/(?P<rest>.*)$")
# Queries that make a page answer on its merits rather than refuse a malformed request.
QUERIES = {
    "pharmacy/autocomplete/": "?app_label=wards&model_name=admission&field_name=patient&term=a",
}


def walk(patterns, prefix=""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route


ROUTES = sorted(set(walk(get_resolver().url_patterns)))
REQUESTS = [(route, method) for route in ROUTES for method in BOTH]


def admin_model(route: str) -> tuple[str, str] | None:
    match = _ADMIN_MODEL_ROUTE.match(route)
    if match is None or f"{match['app']}.{match['model']}" not in ADMIN_MODELS:
        return None
    return f"{match['app']}.{match['model']}", match["rest"]


def admin_page_rule(model_label: str, rest: str, method: str) -> frozenset[str]:
    pages = ADMIN_MODELS[model_label]
    rest = re.sub(r"(?<!\[)\^|\$$", "", rest)
    if rest == "":
        return pages.view  # the list (POST runs actions, which check their own permission)
    if rest == "add/":
        return pages.add
    if rest == "<path:object_id>/":
        return PHARMACY  # a redirect to the change page, behind the site's own check
    if rest == "<path:object_id>/change/":
        return pages.view if method == "GET" else pages.change
    if rest == "<path:object_id>/delete/":
        return pages.delete
    if rest == "<path:object_id>/history/":
        return pages.view  # a read, whatever the method
    if rest == "([^/]+)/history/([^/]+)/":
        return pages.view if method == "GET" else pages.change  # POST reverts to that version
    if rest in ("<id>/password/", "<id>/pin/"):
        return pages.change
    raise LookupError(f"no rule for the model page {model_label} {rest!r}")


def expected(route: str, method: str) -> frozenset[str] | str:
    found = admin_model(route)
    if found is not None:
        return admin_page_rule(*found, method)
    for rule in RULES:
        if method in rule.methods and re.match(rule.pattern, route):
            return rule.allowed
    raise LookupError(f"no rule for {method} /{route}: add one to RULES")


@pytest.mark.parametrize(("route", "method"), REQUESTS)
def test_every_url_has_a_rule(route, method):
    expected(route, method)


def test_every_model_of_the_pharmacy_site_has_a_rule():
    registered = {model._meta.label_lower for model in pharmacy_site._registry}
    assert registered == set(ADMIN_MODELS), (
        f"not in ADMIN_MODELS: {registered - set(ADMIN_MODELS)}; "
        f"no longer registered: {set(ADMIN_MODELS) - registered}"
    )


def test_the_walk_found_the_pages_being_built():
    # The pharmacy pages and the dashboard join the matrix as soon as their URLs exist.
    for prefix in ("pharmacy/verify/", "api/v1/fhir/", "cart/", "pharmacy/scanning/"):
        assert any(route.startswith(prefix) for route in ROUTES), prefix


# ------------------------------------------------------------------------------ the world


@dataclass
class World:
    users: dict[str, User]
    samples: dict[str, str]  # URL parameter → value
    objects: dict[str, str]  # "app.model" → a primary key in the pharmacy site
    bearer: str = ""  # the service account's token
    sessions: dict[str, dict] = field(default_factory=dict)  # role → a cart session's data


def _waste_sample(administration, nurse, witness):
    """A row of the waste ledger for its pages (the bedside's own rules: tests/scanning/test_waste.py)."""
    from django.db import transaction
    from django.utils import timezone

    from scanning.chains import waste_append
    from scanning.models import Waste

    with transaction.atomic():
        waste_append(
            Waste(
                administration=administration,
                patient_id=administration.patient_id,
                amount=1,
                unit="mg",
                reason="dropped",
                performer=nurse,
                witness=witness,
                wasted_at=timezone.now(),
            )
        )


@pytest.fixture
def world():
    with time_machine.travel(DEMO_NOW, tick=False):
        demo_hospital_copy()
        Destination.objects.create(
            name="HIS", host="127.0.0.1", port=2575, hospital=Hospital.objects.get(code="BVDKT")
        )
        InboundCodeMap.objects.create(
            kind=CodeMapKind.WARD,
            his_code="K-NOI",
            ward=Ward.objects.get(code="NOI"),
            hospital=Hospital.objects.get(code="BVDKT"),
        )
        inbox_receive(his_messages.ward_day(DEMO_NOW)[0][1])
        users = {
            NURSE: User.objects.get(username="dieuduong.hoa"),
            CHARGE_NURSE: User.objects.get(username="dieuduong.lan"),
            PHARMACIST: User.objects.get(username="duocsi.tuan"),
            ADMIN: User.objects.get(username="quantri"),
            INACTIVE_NURSE: NurseFactory(is_active=False),
            INACTIVE_ADMIN: UserFactory(role=Role.ADMIN, is_staff=True, is_active=False),
            NO_ROLE: UserFactory(is_staff=True),
        }
        Ward.objects.get(code="NOI").staff.add(users[INACTIVE_NURSE])
        administration = _record_a_dose(users[NURSE])
        _waste_sample(administration, users[NURSE], users[CHARGE_NURSE])
        bearer = _service_account_token(users[ADMIN])
        users[SERVICE] = User.objects.get(is_service_account=True)
        Client().post(
            "/api/v1/auth/badge/",
            {"badge": {"code": "8017952000200000000112"}, "pin": "000000"},
            content_type="application/json",
        )  # a failed login: a login delay counter to show
        patient = Patient.objects.get(mrn="BN2026000101")
        AccessLog.objects.create(
            user=users[NURSE],
            patient=patient,
            ward=Ward.objects.get(code="NOI"),
            reason=AccessReason.WRISTBAND_CHECK,
        )
        objects = {}
        for label in ADMIN_MODELS:
            model = apps.get_model(label)
            # A nurse's login delay, which her hospital's administrators read (a source's own
            # counter is the province's IT's: backoffice/tenancy.py).
            sample = {"scope": "credential"} if label == "hospital.loginthrottle" else {}
            first = model.objects.filter(**sample).order_by("pk").first()
            assert first is not None, f"the matrix needs a sample {label} to open its pages"
            objects[label] = str(first.pk)
        samples = {
            "mrn": patient.mrn,
            "code": "NOI",
            "external_id": str(administration.external_id),
            "order_id": str(uuid.uuid4()),
            "action": "verify",
            "content_type_id": "1",
            "url": "no-such-page/",
        }
        yield World(users=users, samples=samples, objects=objects, bearer=bearer)


def cart_client(user: User, ward: str = "NOI") -> Client:
    """A session as a cart's login makes it: the user and the cart's ward."""
    client = Client()
    client.force_login(user)
    session = client.session
    session["ward"] = ward
    session.save()
    return client


def _record_a_dose(
    nurse: User, band: str = AN_BAND, units: list[str] = PARACETAMOL, ward: str = "NOI"
) -> Administration:
    response = cart_client(nurse, ward).post(
        "/api/v1/administrations/",
        {"patient": image(band), "medications": [image(name) for name in units]},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return Administration.objects.get(external_id=response.json()["id"])


def _service_account_token(admin: User) -> str:
    account, secret = service_account_create(name="his", scopes=list(SCOPES), by=admin)
    response = Client().post(
        "/oauth/token/",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION="Basic "
        + base64.b64encode(f"{account.client_id}:{secret}".encode()).decode(),
    )
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def urls(route: str, world: World) -> list[str]:
    """The concrete URLs that exercise a route: sample values for its parameters, a real object
    for a model page, every alternative of a regex group (the site's app pages)."""
    found = admin_model(route)
    object_id = world.objects[found[0]] if found else "1"
    values = {**world.samples, "object_id": object_id, "id": object_id}
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values.get(m.group(1), "1"), route)
    path = re.sub(r"\(\?P<url>[^)]*\)", values["url"], path)
    path = path.replace("([^/]+)/history/([^/]+)", f"{object_id}/history/{_history_id(found)}")
    path = path.replace("^", "").replace("$", "").replace("\\Z", "")
    alternatives = re.search(r"\(\?P<\w+>([^)]*)\)", path)
    if alternatives:
        return [
            "/" + path.replace(alternatives.group(0), option)
            for option in alternatives.group(1).split("|")
        ]
    return ["/" + path + QUERIES.get(route, "")]


def _history_id(found) -> str:
    if found is None:
        return "1"
    model = apps.get_model(found[0])
    history = getattr(model, "history", None)
    latest = history.order_by("-pk").first() if history is not None else None
    return str(latest.pk) if latest is not None else "1"


def ask(world: World, role: str, method: str, url: str):
    if role == SERVICE:
        # A system has a bearer token and no session, wherever it knocks.
        return getattr(Client(), method.lower())(url, HTTP_AUTHORIZATION=f"Bearer {world.bearer}")
    # A fresh session each time (logging out must not spill into the next), copied from one cart
    # login per role: a login per request was a minute of every CI pass. A POST may change the
    # user (her password, her session hash), so the next request logs in again.
    if role not in world.sessions:
        world.sessions[role] = dict(cart_client(world.users[role]).session.items())
    session = SessionStore()
    session.update(world.sessions[role])
    session.create()
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    if method == "POST":
        world.sessions.pop(role)
    return getattr(client, method.lower())(url)


def refused(response) -> bool:
    return response.status_code in (401, 403) or (
        response.status_code == 302 and "/login/" in response["Location"]
    )


@pytest.mark.parametrize("role", ROLES)
def test_the_role_matrix(world, role):
    wrong = []
    for route, method in REQUESTS:
        allowed = expected(route, method)
        for url in urls(route, world):
            response = ask(world, role, method, url)
            if response.status_code >= 500:
                wrong.append(f"{method} {url}: {response.status_code}")
            elif allowed != PUBLIC and refused(response) == (role in allowed):
                want = "allowed" if role in allowed else "refused"
                wrong.append(f"{method} {url}: {response.status_code}, should be {want}")
    assert not wrong, f"{role}:\n" + "\n".join(wrong)


# ------------------------------------------------------------------------------ read-only records


@pytest.mark.parametrize(
    "label",
    ["scanning.administration", "scanning.scanevent", "scanning.waste", "scanning.accesslog"],
)
def test_the_record_is_read_only_in_the_pharmacy_site_even_for_a_superuser(world, label):
    superuser = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(superuser)
    app, model = label.split(".")
    base = f"/pharmacy/{app}/{model}/"
    pk = world.objects[label]
    model_class = apps.get_model(label)
    before = model_class.objects.count()

    assert client.get(base).status_code == 200
    assert client.get(f"{base}{pk}/change/").status_code == 200
    for method, url in [
        ("get", f"{base}add/"),
        ("post", f"{base}add/"),
        ("post", f"{base}{pk}/change/"),
        ("get", f"{base}{pk}/delete/"),
        ("post", f"{base}{pk}/delete/"),
    ]:
        assert (
            getattr(client, method)(url, {"post": "yes"} if method == "post" else None).status_code
            == 403
        ), (
            method,
            url,
        )
    assert model_class.objects.count() == before
