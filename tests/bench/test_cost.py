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


# The statements of one check and one record as docs/benchmarks.md last measured them ("Cost per
# administration"). Each statement is a round trip on every administration of every cart: a
# change that adds one fails here until the budget and the benchmarks page are updated with it.
STATEMENTS_CHECK = 13
STATEMENTS_RECORD = 23


def test_a_check_and_a_record_stay_within_their_measured_statements(run_bench):
    completed, figures = run_bench("bench.cost", "bench_smoke_cost")

    assert completed.returncode == 0, completed.stdout + completed.stderr
    statements = json.loads(figures.read_text(encoding="utf-8"))["statements"]
    assert statements["check"] <= STATEMENTS_CHECK, (
        f"the check now runs {statements['check']} statements (budget {STATEMENTS_CHECK}): "
        "measure the cost (bench.cost, bench.administer --profile) and update docs/benchmarks.md"
    )
    assert statements["record"] <= STATEMENTS_RECORD, (
        f"the record now runs {statements['record']} statements (budget {STATEMENTS_RECORD}): "
        "measure the cost (bench.cost, bench.administer --profile) and update docs/benchmarks.md"
    )
