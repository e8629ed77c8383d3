"""What one check + record costs, counted rather than timed: Python function calls and SQL
statements per administration, in-process.

    .venv/bin/python -m bench.cost [--count N] [--json FILE] [--smoke]

On a shared machine the HTTP benchmark's timings move by 15 % between runs of one build, too much
to tell two builds 5 % apart. Counts do not move with the load: the same build gives the same
calls (to a few in ten thousand) and the same statements, whatever else runs. So two builds are
compared by running this file in each (copy it into an older checkout's `bench/` first: it uses
only `bench.administer.profile`, `bench.administer.query_counts` and the hospital generator, all
older than issue 15).

It makes its own database (`bench_cost`), generates bench.administer's hospital, warms up with 20
administrations (imports, prepared statements), then records `--count` more under cProfile, one
at a time through Django's test client: calls per administration, by package, and the SQL
statements of one check and one record. The wall times it prints are cProfile's, slowed by the
profiler and by the machine's load: read them as a sanity check, not a figure.
"""

from __future__ import annotations

import argparse
import json
import pstats
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from bench import _common, administer

WARMUP = 20
# What turns the check's model instances into the rules' frozen facts (scanning/selectors.py):
# what "the rules' facts built straight from rows" (issue 19) could take away at most.
FACT_BUILDERS = {"_order_facts", "_product_facts", "staff_facts", "_infusion_facts"}
CHECK_BUILDER = "check_context_build"


def facts_share(stats: pstats.Stats) -> dict:
    """Seconds (under cProfile) inside the facts builders and the dataclass constructors that
    `check_context_build` calls itself, against `check_context_build` as a whole."""
    facts = check = 0.0
    for (filename, _line, name), (_cc, _nc, _tt, cumulative, callers) in stats.stats.items():
        if filename.endswith("scanning/selectors.py") and name == CHECK_BUILDER:
            check += cumulative
        elif filename.endswith("scanning/selectors.py") and name in FACT_BUILDERS:
            facts += sum(
                caller_cumulative
                for (_f, _l, caller), (_c, _n, _t, caller_cumulative) in callers.items()
                if caller not in FACT_BUILDERS
            )
        elif filename == "<string>" and name == "__init__":  # a dataclass's generated __init__
            facts += sum(
                caller_cumulative
                for (_f, _l, caller), (_c, _n, _t, caller_cumulative) in callers.items()
                if caller == CHECK_BUILDER
            )
    return {"facts_s": facts, "check_context_s": check}


def cost(database: str, *, count: int, smoke: bool) -> dict:
    plan = administer.SMOKE if smoke else administer.FULL
    warmup = 2 if smoke else WARMUP
    captured: dict = {}
    stats_init = pstats.Stats.__init__

    def capture(self, *args, **kwargs):  # profile() builds its Stats once, from its cProfile run
        stats_init(self, *args, **kwargs)
        by_package: Counter = Counter()
        for (filename, _line, _name), (_cc, calls, _tt, _ct, _callers) in self.stats.items():
            by_package[administer._package(filename)] += calls
        captured.update(calls=self.total_calls, by_package=by_package, **facts_share(self))

    server = _common.server_url()
    db_url = _common.recreate_database(server, database)
    try:
        _common.django_setup(db_url)
        _common.migrate()
        hospital = _common.hospital_generate(plan.spec)
        _common.analyze()
        from django.db import connection

        administer.profile(hospital, warmup)
        with connection.cursor() as cursor:  # profile() keys its records profile-0, profile-1 …
            cursor.execute("DELETE FROM scanning_idempotentrequest")
        pstats.Stats.__init__ = capture
        try:
            timed = administer.profile(hospital, count)
        finally:
            pstats.Stats.__init__ = stats_init
        queries = administer.query_counts(hospital)
    finally:
        from django.db import connections

        connections.close_all()
        _common.drop_database(server, database)
    if "calls" not in captured:
        raise RuntimeError("no cProfile run was captured: is py-spy installed? (it replaces it)")
    n = timed["administrations"]
    return {
        "administrations": n,
        "calls_per_administration": round(captured["calls"] / n),
        "calls_by_package": {
            name: round(calls / n) for name, calls in captured["by_package"].most_common(14)
        },
        "statements": {"check": queries["check"], "record": queries["record"]},
        "facts_us": round(captured["facts_s"] / n * 1e6),
        "check_context_us": round(captured["check_context_s"] / n * 1e6),
        "profiled_ms": {
            key: round(value, 2) for key, value in timed.items() if key.endswith("_ms")
        },
        "machine": _common.machine(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.cost", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--count", type=int, default=300, help="administrations counted")
    parser.add_argument("--database", default="bench_cost", help="dropped and recreated")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--smoke", action="store_true", help="a tiny hospital, seconds")
    args = parser.parse_args(argv)
    count = min(args.count, 5) if args.smoke else args.count
    figures = cost(args.database, count=count, smoke=args.smoke)
    print(figures["machine"])
    print(f"{figures['administrations']} administrations (check + record), in-process, cProfile")
    print()
    print(f"Python function calls per administration: {figures['calls_per_administration']:,}")
    print("| package | calls |")
    print("|---|--:|")
    for name, calls in figures["calls_by_package"].items():
        print(f"| {name} | {calls:,} |")
    print()
    statements = figures["statements"]
    print(f"SQL statements: check {statements['check']}, record {statements['record']}")
    print(f"Profiled wall time (not a figure): {figures['profiled_ms']}")
    print(
        f"Building the rules' facts from instances, per administration (under cProfile): "
        f"{figures['facts_us']} µs of check_context_build's {figures['check_context_us']} µs"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
