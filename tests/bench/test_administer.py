"""The check + record benchmark at smoke size: it runs end to end and its figures are sound.
Timings are not asserted: they belong to docs/benchmarks.md, not to the suite."""

import json

import pytest

pytestmark = pytest.mark.postgres


def test_the_smoke_run_records_every_dose_once_without_errors(run_bench):
    # when
    completed, figures = run_bench("bench.administer", "bench_smoke_administer")

    # then
    assert completed.returncode == 0, completed.stdout + completed.stderr
    results = json.loads(figures.read_text(encoding="utf-8"))
    modes = [results["service"], results["peak"], results["half_capacity"]]
    modes += list(results["levels"].values())
    assert all(mode["errors"] == {} and not mode["doses_ran_out"] for mode in modes)
    assert all(mode["recorded"] > 0 for mode in modes)
    assert results["service"]["baseline"]["n"] > 0
    database = results["database"]
    assert database["records"] == database["acknowledged"] == results["acknowledged"]
    assert database["doses_recorded_twice"] == database["serials_recorded_twice"] == 0
    assert database["records_on_a_dose_not_given"] == 0
    assert results["queries"]["check"] > 0 and results["queries"]["record"] > 0


def test_the_smoke_run_prints_its_tables_and_targets(run_bench):
    completed, _figures = run_bench("bench.administer", "bench_smoke_administer")

    assert completed.returncode == 0, completed.stdout + completed.stderr
    for heading in ("Service time", "Capacity", "Peak", "Targets", "Database afterwards"):
        assert heading in completed.stdout
    assert completed.stdout.count("PASS") + completed.stdout.count("MISS") == 6
