"""Developer machine: `make run`. SQLite unless DATABASE_URL says otherwise."""

from .base import *  # noqa: F403
from .base import env_list

DEBUG = True
SECRET_KEY = "local-development-only-not-secret"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
# Serve static files from the apps directly; no collectstatic step for development or tests.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
