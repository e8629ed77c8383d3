"""Settings for the benchmarks: the shared base (DEBUG off, the same middleware and API stack as
production) on the benchmark's own PostgreSQL database, with the bare baseline endpoint routed.

    DJANGO_SETTINGS_MODULE=bench.settings DATABASE_URL=postgres://…/bench_administer

Differences from production, each because the benchmark is not about it: the PIN hasher is MD5
(the benchmarks create hundreds of badge users; the PIN is checked at login only, never on the
measured path; `BENCH_PRODUCTION_HASHERS=1`, set by bench.anon_flood, keeps Django's default),
plain HTTP on 127.0.0.1 (no TLS redirect), logging at WARNING, and cart sessions that last an
hour (carts wait between the benchmark's modes).
Database connections persist (`DATABASE_CONN_MAX_AGE`, 600 s unless set), as a deployment
behind gunicorn should configure them.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from hospital.settings.base import *  # noqa: F403

_url = os.environ.get("DATABASE_URL", "")
if not _url.startswith(("postgres://", "postgresql://")):
    raise ImproperlyConfigured(
        "bench.settings needs DATABASE_URL=postgres://… (the bench database)"
    )

DEBUG = False
SECRET_KEY = "bench-only-not-secret"  # noqa: S105 - never served beyond 127.0.0.1
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
# The replica alias (DATABASE_REPLICA_URL), if any, as the base settings made it; the URL may
# name several nodes (bench.province).
DATABASES["default"] = prepared_statements(  # noqa: F405
    database_config(  # noqa: F405
        _url, conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "600"))
    )
)
# bench.anon_flood measures with the production hasher (Django's default): it is about what a
# login costs.
if not env_bool("BENCH_PRODUCTION_HASHERS"):  # noqa: F405
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
BENCH_BASELINE = True
SECURE_SSL_REDIRECT = False
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"refused_logins": {"()": "hospital.log_filters.DropRefusedLogins"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"django.request": {"filters": ["refused_logins"]}},
}
# The carts of the benchmark sit idle between its modes for minutes: their sessions must outlive
# that (a real cart's ends two minutes after its last request).
CART_IDLE_LOCK_SECONDS = 3600
# A fresh clone has no collectstatic output: WhiteNoise serves the apps' static files directly
# (read once when a worker starts), which bench.cart_timings needs for the cart page.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
