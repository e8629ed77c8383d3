"""The MAR and due-list scale benchmark at smoke size. Query counts are asserted (a constant count
is the property, not a timing); latencies are not."""

import json

import pytest

pytestmark = pytest.mark.postgres


def test_the_smoke_run_reads_the_same_ward_with_the_same_queries_at_every_size(run_bench):
    # when
    completed, figures = run_bench("bench.mar_scale", "bench_smoke_mar_scale")

    # then
    assert completed.returncode == 0, completed.stdout + completed.stderr
    results = json.loads(figures.read_text(encoding="utf-8"))
    sizes = results["sizes"]
    assert [s["counts"]["administrations"] for s in sizes] == results["plan"]["sizes"]
    assert len({s["due"]["queries"] for s in sizes}) == 1
    assert len({tuple(s["mar"]["queries"]) for s in sizes}) == 1
    assert all(len(s["mar"]["queries"]) == 1 for s in sizes)
    assert len({tuple(s["due"]["rows"]) for s in sizes}) == 1
    assert all(s["due"]["rows"][0] > 0 for s in sizes)
    assert all(s["explain"]["due"] and s["explain"]["mar"] for s in sizes)
    assert "Targets" in completed.stdout
