"""MAR and ward due list: latency and query count as the database grows to 1 M administrations.

    .venv/bin/python -m bench.mar_scale [--sizes 10000,100000,1000000] [--json FILE] [--smoke]

The benchmark makes its own database (`bench_mar_scale`, dropped and created again), migrates
it and generates the admitted hospital: 5 wards of 40 beds, every patient with 4 orders given
every 6 hours for the last 48 hours (6,400 administrations), each with a dose due now and two
more ahead. It then grows the history to each size in turn (discharged admissions of 5 days, each
an hour before the last, on every ward including the measured one: see `history_add`), runs
VACUUM ANALYZE as autovacuum would, and measures, for ward W01 (40 beds) and a nurse's cart session:

- the due list, `GET /api/v1/wards/W01/due/` (160 doses due now);
- the MAR of each of its 40 patients for yesterday, `GET /api/v1/patients/<mrn>/mar/?date=…`
  (16 doses and 16 administrations each: a full day, whatever the hour of the run).

Requests run in this process through Django's test client (the whole middleware, DRF and
rendering stack, without HTTP), one at a time; each is timed on its own. Query counts come from
a separate pass with the queries captured, and each distinct SQL statement of one request of each
kind is run again under EXPLAIN (ANALYZE, BUFFERS). The targets come from DESIGN.md section 8.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

from bench import _common
from bench._common import CHARTS_DIR, HospitalSpec, Series, mark, percentile

TARGET_P95_MS = 25.0
# "Flat": the slowest size's p95 within this factor of the fastest size's.
FLAT_FACTOR = 1.5
MEASURED_WARD = "W01"


@dataclass(frozen=True)
class Plan:
    spec: HospitalSpec
    sizes: tuple[int, ...]
    due_repeats: int
    mar_rounds: int  # every patient of the ward this many times
    warmup: int


FULL = Plan(
    spec=HospitalSpec(
        wards=5, beds_per_ward=40, orders_per_patient=4, nurses=8, doses_before=8, doses_after=2
    ),
    sizes=(10_000, 100_000, 1_000_000),
    due_repeats=100,
    mar_rounds=5,
    warmup=20,
)
SMOKE = Plan(
    spec=HospitalSpec(
        wards=2, beds_per_ward=3, orders_per_patient=2, nurses=2, doses_before=8, doses_after=2
    ),
    sizes=(200, 400),
    due_repeats=3,
    mar_rounds=1,
    warmup=1,
)


def _ms(values: Sequence[float], fraction: float) -> float:
    return percentile(values, fraction) * 1000


def _nurse_client(ward_code: str):
    """A Django test client with a nurse's cart session on the ward."""
    from django.test import Client

    from hospital.models import User

    nurse = User.objects.filter(username__startswith="bench-nurse-").order_by("pk").first()
    client = Client()
    client.force_login(nurse)
    session = client.session
    session["ward"] = ward_code
    session.save()
    return client


def _explain(sql: str) -> dict:
    """EXPLAIN (ANALYZE, BUFFERS) of a captured statement: its time, the indexes it used, any
    sequential scan, and the plan as text."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    execution = re.search(r"Execution Time: ([\d.]+) ms", plan)
    planning = re.search(r"Planning Time: ([\d.]+) ms", plan)
    return {
        "execution_ms": float(execution.group(1)) if execution else None,
        "planning_ms": float(planning.group(1)) if planning else None,
        "indexes": sorted(
            set(
                re.findall(
                    r"(?:Index|Index Only|Bitmap Index) Scan (?:Backward )?using (\S+)", plan
                )
            )
        ),
        "seq_scans": sorted(set(re.findall(r"Seq Scan on (\S+)", plan))),
        "plan": plan,
    }


def _label(sql: str) -> str:
    """A short name for a statement: the table it reads first."""
    found = re.search(r'FROM "(\w+)"', sql)
    return found.group(1) if found else sql.split(" ", 1)[0]


def measure(plan: Plan, ward_code: str, day) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from wards.models import Admission

    client = _nurse_client(ward_code)
    headers = {}
    due_path = f"/api/v1/wards/{ward_code}/due/"
    mrns = list(
        Admission.objects.filter(ward__code=ward_code, discharged_at__isnull=True)
        .order_by("bed__code")
        .values_list("patient__mrn", flat=True)
    )
    mar_paths = [f"/api/v1/patients/{mrn}/mar/?date={day.isoformat()}" for mrn in mrns]

    def get(path: str) -> tuple[float, dict]:
        started = time.perf_counter()
        response = client.get(path, **headers)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code} {response.content[:300]!r}")
        return elapsed, response.json()

    for _ in range(plan.warmup):
        get(due_path)
    for path in mar_paths[: plan.warmup]:
        get(path)

    due_times, mar_times = [], []
    due_rows = set()
    for _ in range(plan.due_repeats):
        elapsed, body = get(due_path)
        due_times.append(elapsed)
        due_rows.add(len(body["doses"]))
    mar_shapes = set()
    for _ in range(plan.mar_rounds):
        for path in mar_paths:
            elapsed, body = get(path)
            mar_times.append(elapsed)
            mar_shapes.add(
                (
                    sum(len(order["doses"]) for order in body["orders"]),
                    len(body["administrations"]),
                )
            )

    with CaptureQueriesContext(connection) as due_queries:
        get(due_path)
    mar_counts = set()
    mar_queries = None
    for path in mar_paths:
        with CaptureQueriesContext(connection) as captured:
            get(path)
        mar_counts.add(len(captured))
        mar_queries = mar_queries or captured
    explained = {
        "due": [
            {"query": _label(q["sql"]), **_explain(q["sql"])}
            for q in due_queries.captured_queries
            if q["sql"].startswith("SELECT")
        ],
        "mar": [
            {"query": _label(q["sql"]), **_explain(q["sql"])}
            for q in mar_queries.captured_queries
            if q["sql"].startswith("SELECT")
        ],
    }
    return {
        "due": {
            "n": len(due_times),
            "p50_ms": _ms(due_times, 0.50),
            "p95_ms": _ms(due_times, 0.95),
            "p99_ms": _ms(due_times, 0.99),
            "queries": len(due_queries),
            "rows": sorted(due_rows),
        },
        "mar": {
            "n": len(mar_times),
            "p50_ms": _ms(mar_times, 0.50),
            "p95_ms": _ms(mar_times, 0.95),
            "p99_ms": _ms(mar_times, 0.99),
            "queries": sorted(mar_counts),
            "patients": len(mar_paths),
            "doses_and_administrations": sorted(mar_shapes),
        },
        "explain": explained,
    }


def counts() -> dict:
    from django.db import connection

    from pharmacy.models import ScheduledDose
    from scanning.models import AdministeredUnit, Administration
    from wards.models import Admission

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        size = cursor.fetchone()[0]
    return {
        "administrations": Administration.objects.count(),
        "administered_units": AdministeredUnit.objects.count(),
        "scheduled_doses": ScheduledDose.objects.count(),
        "admissions": Admission.objects.count(),
        "database_mb": size / 1024 / 1024,
    }


def create_indexes(statements: Sequence[str]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def targets(results: dict) -> dict:
    sizes = results["sizes"]
    out = {}
    for kind, label in (("due", "due list"), ("mar", "MAR")):
        p95 = [s[kind]["p95_ms"] for s in sizes]
        queries = [
            tuple(s[kind]["queries"])
            if isinstance(s[kind]["queries"], list)
            else (s[kind]["queries"],)
            for s in sizes
        ]
        out[f"{kind}_p95"] = {
            "label": label,
            "value": max(p95),
            "target": TARGET_P95_MS,
            "pass": max(p95) <= TARGET_P95_MS,
        }
        out[f"{kind}_flat"] = {
            "label": label,
            "value": max(p95) / min(p95),
            "target": FLAT_FACTOR,
            "pass": max(p95) / min(p95) <= FLAT_FACTOR,
        }
        out[f"{kind}_queries"] = {
            "label": label,
            "value": sorted({q for qs in queries for q in qs}),
            "target": "one count at every size",
            "pass": len(set(queries)) == 1 and len(queries[0]) == 1,
        }
    return out


def render(results: dict) -> str:
    lines = [
        f"Ward {results['ward']} ({results['ward_beds']} beds): due list ×{results['plan']['due_repeats']}, MAR of "
        f"each of its patients ×{results['plan']['mar_rounds']} (for {results['day']}), ms",
        "",
        "| administrations | database | due list p50 | p95 | p99 | queries | MAR p50 | p95 | p99 "
        "| queries |",
        "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for size in results["sizes"]:
        due, mar, count = size["due"], size["mar"], size["counts"]
        lines.append(
            f"| {count['administrations']:,} | {count['database_mb']:,.0f} MB "
            f"| {due['p50_ms']:.2f} | {due['p95_ms']:.2f} | {due['p99_ms']:.2f} | {due['queries']} "
            f"| {mar['p50_ms']:.2f} | {mar['p95_ms']:.2f} | {mar['p99_ms']:.2f} "
            f"| {', '.join(map(str, mar['queries']))} |"
        )
    lines += [
        "",
        "EXPLAIN (ANALYZE) execution time of each statement, ms, by size:",
        "",
        "| request | statement on | "
        + " | ".join(f"{s['counts']['administrations']:,}" for s in results["sizes"])
        + " |",
        "|---|---|" + "--:|" * len(results["sizes"]),
    ]
    for kind, label in (("due", "due list"), ("mar", "MAR")):
        for index, statement in enumerate(results["sizes"][0]["explain"][kind]):
            cells = [
                f"{s['explain'][kind][index]['execution_ms']:.3f}"
                if index < len(s["explain"][kind])
                else "–"
                for s in results["sizes"]
            ]
            lines.append(f"| {label} | {statement['query']} | " + " | ".join(cells) + " |")
    last = results["sizes"][-1]
    lines += [
        "",
        f"Due list rows: {', '.join(str(s['due']['rows']) for s in results['sizes'])}; MAR "
        "(doses, administrations) per patient: "
        + ", ".join(str(s["mar"]["doses_and_administrations"]) for s in results["sizes"])
        + ".",
        "",
        f"EXPLAIN (ANALYZE) at {last['counts']['administrations']:,} administrations:",
        "",
        "| request | statement on | execution ms | indexes | sequential scans |",
        "|---|---|--:|---|---|",
    ]
    for kind, label in (("due", "due list"), ("mar", "MAR")):
        for statement in last["explain"][kind]:
            lines.append(
                f"| {label} | {statement['query']} | {statement['execution_ms']:.3f} "
                f"| {', '.join(statement['indexes']) or '–'} "
                f"| {', '.join(statement['seq_scans']) or '–'} |"
            )
    if results["extra_indexes"]:
        lines += [
            "",
            "Indexes created by hand before measuring:",
            *(f"- `{s}`" for s in results["extra_indexes"]),
        ]
    t = results["targets"]
    lines += ["", "Targets", ""]
    for kind in ("due", "mar"):
        p95, flat, queries = t[f"{kind}_p95"], t[f"{kind}_flat"], t[f"{kind}_queries"]
        lines += [
            f"- {mark(p95['pass'])} {p95['label']} p95 at every size: worst {p95['value']:.2f} ms "
            f"(≤ {TARGET_P95_MS:.0f} ms)",
            f"- {mark(flat['pass'])} {flat['label']} flat: slowest p95 / fastest p95 "
            f"{flat['value']:.2f} (≤ {FLAT_FACTOR})",
            f"- {mark(queries['pass'])} {queries['label']} query count identical at every size: "
            f"{', '.join(map(str, queries['value']))}",
        ]
    return "\n".join(lines)


def chart(results: dict, path: Path) -> None:
    sizes = results["sizes"]
    xs = [s["counts"]["administrations"] for s in sizes]
    _common.svg_line_chart(
        path,
        title="MAR and due list latency vs database size (ward of 40 beds)",
        x_label="administrations in the database",
        y_label="ms",
        x_ticks=[(x, f"{x:,}") for x in xs],
        log_x=True,
        targets=[(TARGET_P95_MS, f"target p95 ≤ {TARGET_P95_MS:.0f} ms")],
        series=[
            Series(
                "due list p50",
                [(x, s["due"]["p50_ms"]) for x, s in zip(xs, sizes, strict=True)],
                "#d62728",
            ),
            Series(
                "due list p95",
                [(x, s["due"]["p95_ms"]) for x, s in zip(xs, sizes, strict=True)],
                "#d62728",
                dashed=True,
            ),
            Series(
                "MAR p50",
                [(x, s["mar"]["p50_ms"]) for x, s in zip(xs, sizes, strict=True)],
                "#1f77b4",
            ),
            Series(
                "MAR p95",
                [(x, s["mar"]["p95_ms"]) for x, s in zip(xs, sizes, strict=True)],
                "#1f77b4",
                dashed=True,
            ),
        ],
        notes=[
            f"queries: due list {sizes[0]['due']['queries']},",
            f"MAR {sizes[0]['mar']['queries'][0]}, at every size",
        ],
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.mar_scale", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--sizes", default=None, help="administrations, comma-separated")
    parser.add_argument("--database", default="bench_mar_scale", help="dropped and recreated")
    parser.add_argument(
        "--index",
        action="append",
        default=[],
        help="a CREATE INDEX statement to run by hand before measuring (repeatable)",
    )
    parser.add_argument("--wards", type=int, default=None, help="admitted wards (of 40 beds)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--chart", type=Path, default=None, help="the latency-vs-size SVG")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--smoke", action="store_true", help="a tiny hospital, seconds")
    args = parser.parse_args(argv)
    plan = SMOKE if args.smoke else FULL
    if args.sizes:
        plan = replace(plan, sizes=tuple(int(s) for s in args.sizes.split(",")))
    if args.wards:
        plan = replace(plan, spec=replace(plan.spec, wards=args.wards))
    started = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f} s] {message}", file=sys.stderr, flush=True)

    load_before = _common.load_average()
    server = _common.server_url()
    db_url = _common.recreate_database(server, args.database)
    results: dict = {
        "sizes": [],
        "extra_indexes": args.index,
        "ward": MEASURED_WARD,
        "ward_beds": plan.spec.beds_per_ward,
    }
    try:
        _common.django_setup(db_url)
        _common.migrate()
        log(f"migrated {args.database}")
        if args.index:
            create_indexes(args.index)
        hospital = _common.hospital_generate(plan.spec)
        from django.utils import timezone

        day = timezone.localdate(hospital.anchor) - timedelta(days=1)
        results["day"] = day.isoformat()
        census = counts()["administrations"]
        log(f"admitted hospital: {len(hospital.patients)} patients, {census:,} administrations")
        for size in plan.sizes:
            have = counts()["administrations"]
            if size < have:
                raise SystemExit(f"size {size} is below the {have} administrations already there")
            _common.history_add(hospital, size - have)
            _common.analyze()
            count = counts()
            log(f"{count['administrations']:,} administrations, {count['database_mb']:,.0f} MB")
            figures = measure(plan, MEASURED_WARD, day)
            figures["counts"] = count
            results["sizes"].append(figures)
            log(
                f"due list p95 {figures['due']['p95_ms']:.2f} ms, "
                f"MAR p95 {figures['mar']['p95_ms']:.2f} ms"
            )
        results["targets"] = targets(results)
        results["machine"] = _common.machine()
        results["plan"] = {
            "spec": plan.spec.__dict__,
            "sizes": plan.sizes,
            "due_repeats": plan.due_repeats,
            "mar_rounds": plan.mar_rounds,
            "census_administrations": census,
        }
        results["seconds"] = time.perf_counter() - started
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            _common.drop_database(server, args.database)

    results["load_average"] = {"before": load_before, "after": _common.load_average()}
    print(_common.machine())
    print(
        f"load average (1, 5, 15 min) before the run: {load_before}; "
        f"after: {results['load_average']['after']}"
    )
    print(
        f"{plan.spec.wards} wards × {plan.spec.beds_per_ward} beds admitted, "
        f"{plan.spec.orders_per_patient} orders per patient"
    )
    print()
    print(render(results))
    print(f"\n{results['seconds']:.0f} s")
    if not args.smoke or args.chart:
        chart(results, args.chart or CHARTS_DIR / "mar-scale.svg")
    if args.json is not None:
        args.json.write_text(
            json.dumps(results, indent=1, ensure_ascii=False, default=str) + "\n",
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
