import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent.parent


def _server_url() -> str:
    """The PostgreSQL server the suite runs on (CI: 127.0.0.1), as the benchmarks' admin URL.
    The benchmark creates and drops a database of its own there; the test database is untouched."""
    settings = connection.settings_dict
    credentials = settings["USER"] or "postgres"
    if settings["PASSWORD"]:
        credentials += f":{settings['PASSWORD']}"
    host = settings["HOST"] or "127.0.0.1"
    return f"postgres://{credentials}@{host}:{settings['PORT'] or 5432}/postgres"


@pytest.fixture(scope="session")
def bench_template():
    """A database migrated once, which every smoke run below copies (`BENCH_TEMPLATE_DATABASE`,
    bench._common.recreate_database) instead of migrating its own from empty."""
    from bench import _common

    server = _server_url()
    name = f"bench_template_{os.getpid()}"
    url = _common.recreate_database(server, name)
    completed = subprocess.run(  # noqa: S603 - our interpreter, our module
        [
            sys.executable,
            "-c",
            f"from bench import _common; _common.django_setup({url!r}); _common.migrate()",
        ],
        cwd=ROOT,
        env={key: value for key, value in os.environ.items() if key != "BENCH_TEMPLATE_DATABASE"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    yield name
    _common.drop_database(server, name)


@pytest.fixture(scope="module")
def run_bench(tmp_path_factory, bench_template):
    """Runs a benchmark with --smoke once per test module (each run takes seconds)."""
    runs: dict[str, tuple[subprocess.CompletedProcess, Path]] = {}

    def run(module: str, database: str) -> tuple[subprocess.CompletedProcess, Path]:
        if module in runs:
            return runs[module]
        figures = tmp_path_factory.mktemp("bench") / "figures.json"
        completed = subprocess.run(  # noqa: S603 - our interpreter, our module
            [
                sys.executable,
                "-m",
                module,
                "--smoke",
                "--database",
                f"{database}_{os.getpid()}",
                "--json",
                str(figures),
            ],
            cwd=ROOT,
            env={
                **os.environ,
                "BENCH_POSTGRES_URL": _server_url(),
                "BENCH_TEMPLATE_DATABASE": bench_template,
            },
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        runs[module] = completed, figures
        return runs[module]

    return run
