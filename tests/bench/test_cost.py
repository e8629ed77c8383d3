"""The counted cost of an administration at smoke size: calls and statements are counted, and
the same build counts the same statements twice."""

import json

import pytest

pytestmark = pytest.mark.postgres


def test_the_smoke_run_counts_calls_and_statements_per_administration(run_bench):
    completed, figures = run_bench("bench.cost", "bench_smoke_cost")

    assert completed.returncode == 0, completed.stdout + completed.stderr
    results = json.loads(figures.read_text(encoding="utf-8"))
    assert results["administrations"] == 5
    # the check's and record's own code ran under the profiler, not only the test client
    assert results["calls_by_package"]["scanning"] > 0
    assert results["calls_per_administration"] > sum(
        calls for name, calls in results["calls_by_package"].items() if name == "scanning"
    )
    assert results["statements"]["check"] > 0
    assert results["statements"]["record"] > results["statements"]["check"]
    assert "Python function calls per administration" in completed.stdout
