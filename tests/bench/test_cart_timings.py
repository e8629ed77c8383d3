"""The cart timings benchmark at smoke size: the browser reaches each state on every round and
the figures are sound. Timings are not asserted: they belong to docs/benchmarks.md."""

import json
import os
from pathlib import Path

import pytest

from bench.cart_timings import CHROMIUM

pytestmark = pytest.mark.postgres


@pytest.fixture
def chromium():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium is missing at {CHROMIUM}: CI must run the browser benchmark")
        pytest.skip(f"Chromium is not installed at {CHROMIUM}")


def test_the_smoke_run_times_every_round_against_its_baselines(chromium, run_bench):
    # when
    completed, figures = run_bench("bench.cart_timings", "bench_smoke_cart_timings")

    # then
    assert completed.returncode == 0, completed.stdout + completed.stderr
    results = json.loads(figures.read_text(encoding="utf-8"))
    rounds = results["repeat"]
    assert rounds > 0
    for name in ("banner", "doses", "verdict", "static", "api", "banner_api", "verdict_api"):
        assert len(results["ms"][name]) == rounds, name
        assert all(value > 0 for value in results["ms"][name]), name
    # each state is reached after the two API requests that decide it, never before
    assert all(
        total >= api
        for total, api in zip(results["ms"]["banner"], results["ms"]["banner_api"], strict=True)
    )
    for heading in ("wristband → patient banner", "drug → verdict", "baseline", "Targets"):
        assert heading in completed.stdout
    assert completed.stdout.count("PASS") + completed.stdout.count("MISS") == 2
