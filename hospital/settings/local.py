"""Developer machine: `make run`. SQLite unless DATABASE_URL says otherwise."""

import os

from .base import *  # noqa: F403
from .base import env_list

DEBUG = True
SECRET_KEY = "local-development-only-not-secret"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
# Serve static files from the apps directly; no collectstatic step for development or tests.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Anchors of the audit chains are signed with this unless AUDIT_ANCHOR_KEY says otherwise.
AUDIT_ANCHOR_KEY = os.environ.get("AUDIT_ANCHOR_KEY") or "local-development-only-anchor-key"
