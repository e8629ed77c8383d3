"""Settings shared by every environment. Anything secret or host-specific comes from the environment."""

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import dj_database_url
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from hospital.scopes import SCOPES

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


SECRET_KEY = os.environ.get("SECRET_KEY", "")
DEBUG = False
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.admin",
    "rest_framework",
    "oauth2_provider",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "hospital",
    "wards",
    "pharmacy",
    "scanning",
    "interop",
    "backoffice",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # First after the security headers: a delayed source's logins cost one read, nothing more.
    "hospital.middleware.LoginGateMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "hospital.middleware.DefaultLanguageMiddleware",
    "hospital.middleware.DatabaseUnavailableMiddleware",
    "hospital.middleware.ApiAwareCommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "hospital.middleware.AnonymousBodyLimitMiddleware",
    "hospital.middleware.CartSessionIdleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "hospital.urls"
WSGI_APPLICATION = "hospital.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "hospital" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
            ],
        },
    },
]


def database_config(url: str, *, conn_max_age: int = 0) -> dict:
    """A Django database from a URL, including libpq's multi-host form that names every node of a
    replicated cluster: `postgres://user:pw@db1:5432,db2:5432/bcma?target_session_attrs=read-write`
    connects to whichever node is the primary now (docs: deploy/README.md). dj-database-url reads
    one host only, so the node list is handed to libpq as comma-separated HOST and PORT."""
    parts = urlsplit(url)
    userinfo, _at, hosts = parts.netloc.rpartition("@")
    if "," not in hosts:
        return dj_database_url.parse(url, conn_max_age=conn_max_age)
    nodes = [node.rpartition(":") if ":" in node else (node, "", "") for node in hosts.split(",")]
    if not all(host for host, _colon, _port in nodes):
        raise ValueError(f"an empty host in the database node list: {hosts!r}")
    single = urlunsplit(parts._replace(netloc=f"{userinfo}{_at}{nodes[0][0]}"))
    config = dj_database_url.parse(single, conn_max_age=conn_max_age)
    config["HOST"] = ",".join(host for host, _colon, _port in nodes)
    ports = [port for _host, _colon, port in nodes]
    config["PORT"] = ",".join(port or "5432" for port in ports) if any(ports) else ""
    return config


DATABASES = {
    "default": database_config(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
    )
}
# A dead primary leaves every persistent connection broken, and each app server process then
# answers one request with a 503 before it reconnects. Health checks spare that 503 for the price
# of a round trip (SELECT 1) at the start of every request: off unless asked for.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env_bool("DATABASE_CONN_HEALTH_CHECKS")


def prepared_statements(database: dict) -> dict:
    """On PostgreSQL, server-side parameters, so that psycopg prepares a statement after its fifth
    run on a connection: PostgreSQL then stops re-planning the bedside's statements, whose
    planning cost more than their execution (docs/benchmarks.md). Behind a transaction-mode
    pooler without prepared-statement support (PgBouncer before 1.21), set
    DATABASE_PREPARE_THRESHOLD=off."""
    if database["ENGINE"] == "django.db.backends.postgresql":
        threshold = os.environ.get("DATABASE_PREPARE_THRESHOLD", "5")
        database.setdefault("OPTIONS", {}).update(
            {
                "server_side_binding": True,
                "prepare_threshold": None if threshold == "off" else int(threshold),
            }
        )
    return database


prepared_statements(DATABASES["default"])

# Reads off the primary (hospital/replica.py): reports, the dashboard, FHIR search and the
# administrations feed read from a streaming standby when DATABASE_REPLICA_URL names one
# (`…@db1,db2/bcma?target_session_attrs=prefer-standby` finds whichever node is the standby, and
# the primary when none is left). Past DATABASE_REPLICA_MAX_LAG_SECONDS of replication lag they
# read from the primary. The bedside and every write always use the primary.
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = prepared_statements(
        database_config(
            os.environ["DATABASE_REPLICA_URL"],
            conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
        )
    )
    DATABASES["replica"]["CONN_HEALTH_CHECKS"] = DATABASES["default"]["CONN_HEALTH_CHECKS"]
DATABASE_REPLICA_READS = "replica" in DATABASES
# Two roles on PostgreSQL (hospital/db_roles.py): DATABASE_URL is the application's, a role that
# owns nothing and may only add to the ledger; `manage.py migrate` connects as the owner of the
# tables, DATABASE_MIGRATE_URL (unset: migrate uses DATABASE_URL, as on SQLite).
# `manage.py db_roles` creates both from a superuser's DATABASE_ADMIN_URL.
DATABASE_MIGRATE_URL = os.environ.get("DATABASE_MIGRATE_URL", "")
DATABASE_ADMIN_URL = os.environ.get("DATABASE_ADMIN_URL", "")
DATABASE_REPLICA_MAX_LAG_SECONDS = float(os.environ.get("DATABASE_REPLICA_MAX_LAG_SECONDS", "5"))
# After a failed connection to the replica, reads go to the primary for this long before trying it.
DATABASE_REPLICA_RETRY_SECONDS = float(os.environ.get("DATABASE_REPLICA_RETRY_SECONDS", "30"))
DATABASE_ROUTERS = ["hospital.replica.PrimaryReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "hospital.User"
AUTHENTICATION_BACKENDS = ["hospital.auth.StaffBackend"]

# Failed logins (badge + PIN at a cart or as a witness, username + password at /pharmacy/, an
# OAuth client's secret) are throttled in the database, per credential at one source (IP address
# and cart) and per source across credentials: growing delays, never a lock a stranger can set off
# (hospital/throttle.py, docs/security.md). A delay doubles with each failure past the free ones.
LOGIN_FREE_FAILURES = int(os.environ.get("LOGIN_FREE_FAILURES", "3"))
LOGIN_DELAY_BASE_SECONDS = int(os.environ.get("LOGIN_DELAY_BASE_SECONDS", "5"))
LOGIN_DELAY_MAX_SECONDS = int(os.environ.get("LOGIN_DELAY_MAX_SECONDS", "300"))
LOGIN_FORGET_AFTER_SECONDS = int(os.environ.get("LOGIN_FORGET_AFTER_SECONDS", "3600"))
LOGIN_SOURCE_FREE_FAILURES = int(os.environ.get("LOGIN_SOURCE_FREE_FAILURES", "10"))
LOGIN_SOURCE_FORGET_AFTER_SECONDS = int(os.environ.get("LOGIN_SOURCE_FORGET_AFTER_SECONDS", "900"))
# PIN, password and client-secret checks running at once in the whole deployment (each costs a
# core for a good part of a second); a login beyond them is answered 429 LOGIN_BUSY at once.
LOGIN_CONCURRENT_HASHES = int(os.environ.get("LOGIN_CONCURRENT_HASHES", "1"))
# Failed logins across the whole site (within the source window) that alert the administrator.
LOGIN_BURST_ALERT_FAILURES = int(os.environ.get("LOGIN_BURST_ALERT_FAILURES", "100"))
# Proxies in front of the app servers that append the caller's address to X-Forwarded-For (e.g. 1
# behind one load balancer). 0: the caller is REMOTE_ADDR.
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
# Alerts go to the log (logger bcma.security), to Security events in /pharmacy/, and by e-mail to
# ADMINS when it is set (comma-separated addresses; the SMTP server from EMAIL_HOST, EMAIL_PORT).
ADMINS = env_list("ADMINS")
SERVER_EMAIL = os.environ.get("SERVER_EMAIL", "bcma@localhost")
MAILERS = {
    "default": {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": os.environ.get("EMAIL_HOST", "localhost"),
            "port": int(os.environ.get("EMAIL_PORT", "25")),
            "timeout": 5,  # an alert must not hold a login up for long
        },
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/pharmacy/login/"

LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Vietnamese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Bearer first: its WWW-Authenticate header makes anonymous requests a 401, not a 403.
        # Bearer tokens are for service accounts only (OAuth2 client credentials); staff use
        # a cart session.
        "hospital.oauth.ServiceAccountAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "hospital.api.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
# Service accounts (hospital.ServiceAccount): OAuth2 client credentials, tokens that expire,
# scopes per resource (hospital/scopes.py). Clients get tokens at /oauth/token/.
OAUTH_ACCESS_TOKEN_SECONDS = int(os.environ.get("OAUTH_ACCESS_TOKEN_SECONDS", "3600"))
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER = {
    "SCOPES": dict(SCOPES),
    "SCOPES_BACKEND_CLASS": "hospital.oauth.ServiceAccountScopes",
    "OAUTH2_VALIDATOR_CLASS": "hospital.oauth.ServiceAccountValidator",
    "ACCESS_TOKEN_EXPIRE_SECONDS": OAUTH_ACCESS_TOKEN_SECONDS,
    "PKCE_REQUIRED": True,
    # RFC 9700 (OAuth 2.0 Security BCP) throughout, ahead of django-oauth-toolkit 4.0: tokens
    # stored hashed, only in the Authorization header, no implicit or password grants.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Bedside medication administration API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["scanning.api.permissions.IsClinicalStaff"],
    # The docs page serves Swagger UI from our own static files: no CDN, hospitals are often offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "DoseUnitEnum": "pharmacy.models.DoseUnit",
        "WasteReasonEnum": "scanning.models.WasteReason",
        "MissingDoseStateEnum": ["requested", "sent"],
        "BagStateEnum": ["running", "paused", "ended"],
    },
}

# Barcode images: Pillow's own bomb limit (179 MP) is far too high for a cart frame.
BARCODE_MAX_IMAGE_BYTES = int(os.environ.get("BARCODE_MAX_IMAGE_BYTES", str(8 * 1024 * 1024)))
BARCODE_MAX_IMAGE_PIXELS = int(os.environ.get("BARCODE_MAX_IMAGE_PIXELS", str(20_000_000)))
# An image above 1 MP is decoded in a helper process, killed (413 IMAGE_DECODE_TIMEOUT) if it
# takes longer than this; a cart's camera frame is decoded in the request's own process.
BARCODE_DECODE_DEADLINE_SECONDS = float(os.environ.get("BARCODE_DECODE_DEADLINE_SECONDS", "1.5"))
# A JSON body must fit a base64 image at the byte limit (4/3 larger) plus the rest of the request.
DATA_UPLOAD_MAX_MEMORY_SIZE = BARCODE_MAX_IMAGE_BYTES * 4 // 3 + 1024 * 1024
# What a caller who has not logged in may send: a login is a few hundred bytes.
ANONYMOUS_MAX_BODY_BYTES = 16 * 1024
# Some wedge scanners cannot send ASCII 29 (GS) and are configured to send a printable stand-in.
BARCODE_GS_SUBSTITUTE = os.environ.get("BARCODE_GS_SUBSTITUTE", "")

# Scheduled doses are materialised this far ahead of now.
DOSE_SCHEDULE_HORIZON_HOURS = int(os.environ.get("DOSE_SCHEDULE_HORIZON_HOURS", "48"))
# The cart says "recently transferred" this long after a transfer from another ward (HL7 A02),
# and marks the doses that fell due on the old ward (issue 18: three days, a weekend's length).
TRANSFER_NOTICE_HOURS = int(os.environ.get("TRANSFER_NOTICE_HOURS", "72"))
# Patients the HIS sends get a GSRN (AI 8018, on the wristband) under this GS1 prefix: the
# hospital's company prefix and a range it reserves for patients (7 to 12 digits).
PATIENT_GSRN_PREFIX = os.environ.get("PATIENT_GSRN_PREFIX", "9520001")

# The cart locks itself (and forgets the patient on screen) after this much idle time. The
# server ends the cart's session a little later (the page's own countdown runs first), each
# request pushing the end back (hospital/middleware.py).
CART_IDLE_LOCK_SECONDS = int(os.environ.get("CART_IDLE_LOCK_SECONDS", "120"))
CART_SESSION_GRACE_SECONDS = 30
# The last seconds before the idle lock show a countdown that names a scanned dose not yet
# recorded. Unset: 30 s, or a quarter of the idle time when that is shorter.
CART_IDLE_WARNING_SECONDS = (
    int(os.environ["CART_IDLE_WARNING_SECONDS"])
    if os.environ.get("CART_IDLE_WARNING_SECONDS")
    else None
)
# Where a cart with no connection sends the nurse for the ward's printed downtime MAR, e.g. a
# file share that `manage.py downtime_mar WARD --out` fills; "{ward}" becomes the cart's ward.
CART_DOWNTIME_MAR_URL = os.environ.get("CART_DOWNTIME_MAR_URL", "")
# A check that said GO or WARN, followed for this long by no record, no not-given and no newer
# check of that dose, is "scanned but not recorded" on the ward dashboard; the nurse who scanned
# it sees her own at once, when she next logs in. Checks older than the look-back are not listed.
UNRECORDED_CHECK_MINUTES = int(os.environ.get("UNRECORDED_CHECK_MINUTES", "10"))
UNRECORDED_CHECK_LOOKBACK_HOURS = int(os.environ.get("UNRECORDED_CHECK_LOOKBACK_HOURS", "24"))
# A nurse may mark her own record entered in error (at the cart) for this long after recording
# it; later only a charge nurse corrects it.
CART_ENTERED_IN_ERROR_MINUTES = int(os.environ.get("CART_ENTERED_IN_ERROR_MINUTES", "60"))
# An infusion rate this many times the ordered rate (or the ordered rate divided by it) is a STOP
# (INFUSION_RATE_FAR_OUTSIDE_ORDER); a rate between is a WARN. Exactly the factor is a WARN.
INFUSION_RATE_STOP_FACTOR = os.environ.get("INFUSION_RATE_STOP_FACTOR", "1.5")
# The cart's ward worklist, shown before any wristband is scanned: open doses due from this many
# hours ago to this many hours ahead (with removals and bag ends due by then), refreshed this often.
CART_WORKLIST_HOURS_BEFORE = int(os.environ.get("CART_WORKLIST_HOURS_BEFORE", "4"))
CART_WORKLIST_HOURS_AHEAD = int(os.environ.get("CART_WORKLIST_HOURS_AHEAD", "2"))
CART_WORKLIST_REFRESH_SECONDS = int(os.environ.get("CART_WORKLIST_REFRESH_SECONDS", "60"))
# Weight-based doses: a patient younger than this many full years is a child, and a child's
# weight measured more than this many days ago is stale for a dose by weight (WEIGHT_STALE).
CHILD_UNDER_YEARS = int(os.environ.get("CHILD_UNDER_YEARS", "16"))
CHILD_WEIGHT_MAX_AGE_DAYS = int(os.environ.get("CHILD_WEIGHT_MAX_AGE_DAYS", "7"))
# A PRN dose's effect is reassessed this many minutes after it was given, by the order's route
# (HL7 table 0162 codes: "IV:30,IM:30,SC:30,PO:60"); any other route after the default. A
# reassessment documented more than the grace after it was due is late (a variance).
PRN_REASSESS_MINUTES = {
    route.strip(): int(minutes)
    for route, _, minutes in (
        item.partition(":")
        for item in os.environ.get(
            "PRN_REASSESS_MINUTES", "IV:30,IM:30,SC:30,SL:30,PO:60,NG:60,PR:60"
        ).split(",")
        if item.strip()
    )
}
PRN_REASSESS_DEFAULT_MINUTES = int(os.environ.get("PRN_REASSESS_DEFAULT_MINUTES", "60"))
PRN_REASSESS_GRACE_MINUTES = int(os.environ.get("PRN_REASSESS_GRACE_MINUTES", "15"))
# A PRN dose not reassessed this many hours after it was due leaves the cart's and the
# dashboard's lists (it stays missing in the PRN effectiveness report).
PRN_REASSESS_SHOWN_HOURS = int(os.environ.get("PRN_REASSESS_SHOWN_HOURS", "24"))
# A STAT dose given more than this many minutes after it was ordered is TOO_LATE.
STAT_WINDOW_MINUTES = int(os.environ.get("STAT_WINDOW_MINUTES", "30"))
# A verbal or telephone order not co-signed by the prescriber this many hours after it was
# documented raises VERBAL_ORDER_UNSIGNED (WARN) on each further dose.
VERBAL_ORDER_COSIGN_HOURS = int(os.environ.get("VERBAL_ORDER_COSIGN_HOURS", "24"))
# The ward dashboard lists a bag due to end within this many minutes.
INFUSION_ENDING_SOON_MINUTES = int(os.environ.get("INFUSION_ENDING_SOON_MINUTES", "30"))
# Django's database sessions, each read with one hand-written statement (hospital/session_store.py).
SESSION_ENGINE = "hospital.session_store"
# Sessions of the pharmacy site (username + password) last a shift at most.
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_MAX_AGE_SECONDS", str(8 * 3600)))
# The ward dashboard locks itself (logging out) after this much idle time, and refreshes its
# figures this often until then.
DASHBOARD_IDLE_LOCK_SECONDS = int(
    os.environ.get("DASHBOARD_IDLE_LOCK_SECONDS", str(CART_IDLE_LOCK_SECONDS))
)
DASHBOARD_REFRESH_SECONDS = int(os.environ.get("DASHBOARD_REFRESH_SECONDS", "60"))
# A cart whose clock is further than this from the server's is logged and warned (never trusted).
CLOCK_SKEW_WARN_SECONDS = int(os.environ.get("CLOCK_SKEW_WARN_SECONDS", "120"))
# A wristband scanned outside the nurse's wards opens that patient's record to her this long.
BREAK_GLASS_ACCESS_HOURS = int(os.environ.get("BREAK_GLASS_ACCESS_HOURS", "12"))
# Patients outside her wards a nurse may open by scanning in one hour; the alert comes earlier.
BREAK_GLASS_MAX_PER_HOUR = int(os.environ.get("BREAK_GLASS_MAX_PER_HOUR", "5"))
BREAK_GLASS_ALERT_AFTER = int(os.environ.get("BREAK_GLASS_ALERT_AFTER", "3"))

# The audit chains' heads and counts, signed and written outside the database by
# `manage.py audit_anchor` (scanning/anchors.py); `verify_audit` compares with the newest. The
# directory belongs on another machine or write-once storage, the key to neither the database nor
# its users (HMAC-SHA256; a long random string).
AUDIT_ANCHOR_DIR = os.environ.get("AUDIT_ANCHOR_DIR", "")
AUDIT_ANCHOR_KEY = os.environ.get("AUDIT_ANCHOR_KEY", "")

# History is for reading: "revert" would rewrite an order's status or a recall behind the
# services that record who changed what (and generate or cancel doses).
SIMPLE_HISTORY_REVERT_DISABLED = True

BENCH_BASELINE = env_bool("BENCH_BASELINE")

# Everything the pages load comes from this server. The camera needs blob: for its frames.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    # Inline style attributes are used by the admin; scripts stay nonce-only.
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:", "blob:"],
    "media-src": [CSP.SELF, "blob:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {
        "patient_paths": {"()": "hospital.log_filters.RedactPatientPaths"},
        "refused_logins": {"()": "hospital.log_filters.DropRefusedLogins"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # Its 4xx and 5xx lines carry the path, and a MAR's path carries the patient's MRN.
        "django.request": {"filters": ["patient_paths", "refused_logins"]},
    },
}
