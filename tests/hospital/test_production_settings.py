"""Production settings, loaded in a process of their own (they read the environment at import)."""

import json
import os
import subprocess
import sys

from django.conf import settings


def production(**env) -> dict:
    script = (
        "import json, django; from django.conf import settings; django.setup(); "
        "print(json.dumps({a: d.get('CONN_HEALTH_CHECKS') for a, d in settings.DATABASES.items()}))"
    )
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hospital.settings.production",
        "SECRET_KEY": "x" * 60,
        "DATABASE_URL": "postgres://app@127.0.0.1:5432/bcma",
        "ALLOWED_HOSTS": "bcma.example.org",
        **env,
    }
    environment.pop("DATABASE_CONN_HEALTH_CHECKS", None)
    environment.update(env)
    done = subprocess.run(  # noqa: S603 (our own interpreter and script)
        [sys.executable, "-c", script],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_production_checks_a_reused_connection_so_a_database_restart_is_no_503():
    checks = production()
    assert checks["default"] is True and set(checks.values()) == {True}


def test_the_health_check_can_be_switched_off():
    assert production(DATABASE_CONN_HEALTH_CHECKS="0") == {"default": False}
