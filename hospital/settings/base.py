"""Settings shared by every environment. Anything secret or host-specific comes from the environment."""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

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
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "axes",
    "hospital",
    "wards",
    "pharmacy",
    "scanning",
    "interop",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "hospital.middleware.DefaultLanguageMiddleware",
    "hospital.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it turns a lockout into the response.
    "axes.middleware.AxesMiddleware",
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

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
    )
}


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
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "hospital.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "hospital.auth.BadgePinBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Five wrong PINs (or passwords) for one badge (or username) lock it for 15 minutes, wherever they
# were typed: carts share IP addresses, so the badge is what is counted.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_LOCKOUT_CALLABLE = "hospital.auth.lockout_response"
# Failures are not forgotten on a good login (axes cannot find the badge in our JSON logins at
# that moment): five within the cool-off lock the badge.
AXES_RESET_ON_SUCCESS = False
# axes.W006 wants the IP address counted too. Carts behind one proxy share it, so five typos on
# one cart would lock a whole ward out; the badge is the right thing to count here.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
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
        # Token first: its WWW-Authenticate header makes anonymous requests a 401, not a 403.
        "hospital.authentication.TokenWithRolesAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "hospital.api.exception_handler",
    "UNAUTHENTICATED_USER": None,
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
    "ENUM_NAME_OVERRIDES": {"DoseUnitEnum": "pharmacy.models.DoseUnit"},
}

# Barcode images: Pillow's own bomb limit (179 MP) is far too high for a cart frame.
BARCODE_MAX_IMAGE_BYTES = int(os.environ.get("BARCODE_MAX_IMAGE_BYTES", str(8 * 1024 * 1024)))
BARCODE_MAX_IMAGE_PIXELS = int(os.environ.get("BARCODE_MAX_IMAGE_PIXELS", str(20_000_000)))
# A JSON body must fit a base64 image at the byte limit (4/3 larger) plus the rest of the request.
DATA_UPLOAD_MAX_MEMORY_SIZE = BARCODE_MAX_IMAGE_BYTES * 4 // 3 + 1024 * 1024
# Some wedge scanners cannot send ASCII 29 (GS) and are configured to send a printable stand-in.
BARCODE_GS_SUBSTITUTE = os.environ.get("BARCODE_GS_SUBSTITUTE", "")

# Scheduled doses are materialised this far ahead of now.
DOSE_SCHEDULE_HORIZON_HOURS = int(os.environ.get("DOSE_SCHEDULE_HORIZON_HOURS", "48"))

# The cart locks itself (and forgets the patient on screen) after this much idle time.
CART_IDLE_LOCK_SECONDS = int(os.environ.get("CART_IDLE_LOCK_SECONDS", "120"))
# A cart whose clock is further than this from the server's is logged and warned (never trusted).
CLOCK_SKEW_WARN_SECONDS = int(os.environ.get("CLOCK_SKEW_WARN_SECONDS", "120"))
# A wristband scanned outside the nurse's wards opens that patient's record to her this long.
BREAK_GLASS_ACCESS_HOURS = int(os.environ.get("BREAK_GLASS_ACCESS_HOURS", "12"))

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
    "filters": {"patient_paths": {"()": "hospital.log_filters.RedactPatientPaths"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # axes announces itself on every command at INFO; failures still log at WARNING.
        "axes": {"level": "WARNING"},
        # Its 4xx and 5xx lines carry the path, and a MAR's path carries the patient's MRN.
        "django.request": {"filters": ["patient_paths"]},
    },
}
