"""Test runs: SQLite by default; `DATABASE_URL=postgres://…` runs the same suite on PostgreSQL."""

import os

from .base import *  # noqa: F403

DEBUG = False
SECRET_KEY = "test-only-not-secret"
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
# Hashing PINs and passwords at full strength makes the suite minutes slower and proves nothing.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Serve static files from the apps directly; no collectstatic step for development or tests.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# A test database need not survive a power cut: on PostgreSQL its commits do not wait for the WAL
# to reach the disk (a transactional test commits hundreds of times). Visibility and locking are
# unchanged, so the concurrency tests prove the same.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":  # noqa: F405
    DATABASES["default"]["OPTIONS"]["options"] = "-c synchronous_commit=off"  # noqa: F405
# A `replica` alias that mirrors the test database (same data, a connection of its own), so a test
# can count the queries each alias ran. Reads go there only when a test sets
# DATABASE_REPLICA_READS (tests/hospital/test_replica_router.py).
DATABASES["replica"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}  # noqa: F405
DATABASE_REPLICA_READS = False
# Anchors of the audit chains are signed with this unless AUDIT_ANCHOR_KEY says otherwise.
AUDIT_ANCHOR_KEY = os.environ.get("AUDIT_ANCHOR_KEY") or "test-only-anchor-key"
