"""Test runs: SQLite by default; `DATABASE_URL=postgres://…` runs the same suite on PostgreSQL."""

from .base import *  # noqa: F403

DEBUG = False
SECRET_KEY = "test-only-not-secret"
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
# Hashing PINs and passwords at full strength makes the suite minutes slower and proves nothing.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Serve static files from the apps directly; no collectstatic step for development or tests.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# The test client's login() authenticates without a request, which django-axes refuses; the
# lockout tests switch it back on with the settings fixture.
AXES_ENABLED = False
