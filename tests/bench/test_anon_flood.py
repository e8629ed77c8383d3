"""The anonymous-flood benchmark at smoke size: it runs end to end, the flood is refused without
hashing beyond the throttle's free attempts, and the figures are sound. Timings are not asserted:
they belong to docs/benchmarks.md, not to the suite."""

import json

import pytest

pytestmark = pytest.mark.postgres


def test_the_smoke_run_checks_under_a_flood_that_is_refused(run_bench):
    # when
    completed, figures = run_bench("bench.anon_flood", "bench_smoke_anon_flood")

    # then
    assert completed.returncode == 0, completed.stdout + completed.stderr
    results = json.loads(figures.read_text(encoding="utf-8"))
    assert results["hasher"].startswith("pbkdf2")  # production-strength PIN hashing
    assert results["idle"]["n"] == results["flood"]["n"] > 0
    answers = results["flood"]["answers"]
    assert answers.get("429 LOGIN_THROTTLED", 0) > 0
    assert answers.get("400 BADGE_TEXT_ONLY", 0) + answers.get("413 REQUEST_TOO_LARGE", 0) > 0
    assert not [answer for answer in answers if answer.startswith(("5", "200"))]
    # each flooder's failures stop at the per-source limit: no unbounded hashing
    # 10 free (LOGIN_SOURCE_FREE_FAILURES), then one each time a delay (5, 10, 20 s …) runs out
    limit = 10 + 5
    assert all(n <= limit for n in results["hashes"]["failures_counted_per_flooder"])
    assert (
        results["timing"]["real badge, wrong PIN"]["n"] == results["timing"]["unknown badge"]["n"]
    )


def test_the_smoke_run_prints_its_figures_and_target(run_bench):
    completed, _figures = run_bench("bench.anon_flood", "bench_smoke_anon_flood")

    assert completed.returncode == 0, completed.stdout + completed.stderr
    for heading in ("Nurse's check", "Flood:", "Login timing", "Targets"):
        assert heading in completed.stdout
    assert completed.stdout.count("PASS") + completed.stdout.count("MISS") == 1
