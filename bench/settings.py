"""Settings for the benchmarks: the shared base (DEBUG off, the same middleware and API stack as
production) on the benchmark's own PostgreSQL database, with the bare baseline endpoint routed.

    DJANGO_SETTINGS_MODULE=bench.settings DATABASE_URL=postgres://…/bench_administer

Differences from production, each because the benchmark is not about it: the PIN hasher is MD5
(the benchmarks create hundreds of badge users; the PIN is checked at login only, never on the
measured path), plain HTTP on 127.0.0.1 (no TLS redirect), and logging at WARNING.
Database connections persist (`DATABASE_CONN_MAX_AGE`, 600 s unless set), as a deployment
behind gunicorn should configure them.
"""

import os

import dj_database_url
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
DATABASES = {
    "default": prepared_statements(  # noqa: F405
        dj_database_url.parse(
            _url, conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "600"))
        )
    )
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
BENCH_BASELINE = True
SECURE_SSL_REDIRECT = False
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
# Static files are not on the measured path, and a fresh clone has no collectstatic output.
STATIC_ROOT = None
