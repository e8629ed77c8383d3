"""One deployment for a province, on this machine: carts keep recording while an app server and
then the primary database die.

    .venv/bin/python -m bench.province [--smoke] [--json FILE]

Everything runs on 127.0.0.1 under a temporary directory (bench/cluster.py): etcd, two
PostgreSQL 15 clusters run by Patroni (a primary and a synchronous streaming standby, each on a
port and data directory of its own; the system's cluster on 5432 is not touched), two gunicorn
app servers behind HAProxy, each with the configuration shipped in deploy/. The app servers name
both database nodes (`host=a,b target_session_attrs=read-write`) and read the feed, reports and
FHIR search from the standby (`target_session_attrs=prefer-standby`, hospital/replica.py).

The data: three hospitals (tenants: H1, H2, H3) of bench.administer's generated size (40 wards ×
30 beds, 8 orders per patient each), with a shared formulary. Each nurse works the wards of one
hospital (H1W01…, H2W01…, H3W01…), and each cart takes the due doses of its nurse's hospital.
Before the carts start, each cart scans a wristband of the next hospital: it must be refused
(404 PATIENT_NOT_IN_YOUR_HOSPITALS) with nothing written.

1. The cost of zero loss: carts in a closed loop with the standby synchronous (a commit waits
   for the standby's flush, Patroni's synchronous_mode) and then asynchronous (Patroni's dynamic
   configuration, switched between runs): administrations/s and latency, alternated.
2. Failures while the carts record (synchronous): kill -9 of one app server (HAProxy takes it
   out; a record in flight on it is sent again to the other with its Idempotency-Key), then
   kill -9 of the primary's Patroni and PostgreSQL (the machine dies); Patroni promotes the
   standby when the leader key expires. A cart that gets a 503 (or no answer) sends the same
   request again, as the cart terminal does, with the same Idempotency-Key.
3. Afterwards, on the new primary: every 201 answered is there, no dose recorded twice, no serial
   used twice, and `manage.py verify_audit` finds every hash chain intact.

Bounded: every phase has a time limit, every request a timeout, every retry a deadline. Exit 1
when a database check fails or a cart saw an error that its retries did not resolve.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from bench import _common, cluster
from bench._common import ROOT, Hospital, HospitalSpec, Inpatient, Medicine, percentile
from bench.administer import REQUEST_TIMEOUT, Cart, http_post, login

CHECK_PATH = "/api/v1/scan/check/"
RECORD_PATH = "/api/v1/administrations/"
FEED_PATH = "/api/v1/administrations/"
DATABASE = "bench_province"
RETRYABLE = {502, 503, 504}
# What one administration writes (with its indexes), for sizing: deploy/README.md.
SIZED_TABLES = (
    "scanning_administration",
    "scanning_administeredunit",
    "scanning_scanevent",
    "scanning_idempotentrequest",
    "pharmacy_scheduleddose",
)


@dataclass(frozen=True)
class Plan:
    hospital: HospitalSpec  # each of the hospitals
    hospitals: int
    nurses: int
    app_servers: int
    workers: int  # gunicorn sync workers per app server
    carts: int
    cost_seconds: float  # each synchronous / asynchronous run
    cost_rounds: int
    before_seconds: float  # the closed loop before the app server is killed
    app_down_seconds: float  # then one app server fewer, before the primary is killed
    after_seconds: float  # after the first record on the new primary
    failover_limit: float  # the longest the carts wait for a new primary
    retry_pause: float  # between a cart's tries of one request
    retry_limit: float  # a cart gives one request up after this long


FULL = Plan(
    # One earlier dose per order recorded (not four as in bench.administer): the audit chains of
    # the generated history are sealed in Python before the run, and that is what takes time.
    hospital=HospitalSpec(
        wards=40, beds_per_ward=30, orders_per_patient=8, nurses=0, doses_before=1
    ),
    hospitals=3,
    nurses=48,
    app_servers=2,
    workers=3,
    carts=24,
    cost_seconds=15.0,
    cost_rounds=2,
    before_seconds=20.0,
    app_down_seconds=20.0,
    after_seconds=20.0,
    failover_limit=90.0,
    retry_pause=0.5,
    retry_limit=120.0,
)
SMOKE = Plan(
    hospital=HospitalSpec(wards=5, beds_per_ward=24, orders_per_patient=8, nurses=0),
    hospitals=3,
    nurses=3,
    app_servers=2,
    workers=2,
    carts=3,
    cost_seconds=3.0,
    cost_rounds=1,
    before_seconds=4.0,
    app_down_seconds=4.0,
    after_seconds=4.0,
    failover_limit=60.0,
    retry_pause=0.5,
    retry_limit=90.0,
)


# --------------------------------------------------------------------------- the work


@dataclass(frozen=True)
class Dose:
    patient: Inpatient
    medicine: Medicine


class ProvinceDoses:
    """The due doses of each hospital, each handed out once; one serial counter for all (a GS1
    serial is used once, whoever scans it)."""

    def __init__(self, hospital: Hospital, groups: Sequence[str]):
        self.queues = {
            group: iter(
                [
                    Dose(patient, medicine)
                    for medicine in hospital.medicines
                    for patient in hospital.patients
                    if patient.ward.startswith(f"{group}W")
                ]
            )
            for group in groups
        }
        self._serials = itertools.count(1)

    def take(self, group: str) -> Dose | None:
        return next(self.queues[group], None)

    def serial(self) -> str:
        return f"P{next(self._serials):09d}"


@dataclass
class Tally:
    """What the carts saw in one phase; times from time.monotonic()."""

    recorded_at: list[float] = field(default_factory=list)
    latency: list[float] = field(default_factory=list)  # check start → record's 201, tries included
    errors: Counter = field(default_factory=Counter)  # "record: 503 DATABASE_UNAVAILABLE" → n
    samples: list[str] = field(default_factory=list)
    fatal: list[str] = field(default_factory=list)  # answers that no retry may resolve
    retried_doses: int = 0
    given_up: int = 0  # requests abandoned after retry_limit (their outcome unknown)
    exhausted: bool = False

    error_times: list[tuple[float, str]] = field(default_factory=list)

    def error(self, kind: str, detail: str = "") -> None:
        self.errors[kind] += 1
        self.error_times.append((time.monotonic(), kind))
        if len(self.samples) < 8:
            self.samples.append(f"{kind}: {detail[:200]}")


@dataclass
class Run:
    port: int
    plan: Plan
    doses: ProvinceDoses
    acknowledged: dict[str, float] = field(default_factory=dict)  # record id → when answered
    given_up: int = 0  # requests abandoned in any phase
    keys: itertools.count = field(default_factory=lambda: itertools.count(1))

    async def _send(self, tally: Tally, what: str, path: str, body: bytes, headers, deadline):
        """One request, sent again (same body, same headers) after a 5xx or no answer, until
        `deadline`; the final reply or None if given up."""
        while True:
            try:
                reply = await http_post(self.port, path, body, headers)
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as error:
                tally.error(f"{what}: no answer", repr(error))
                reply = None
            if reply is not None and reply.status not in RETRYABLE:
                return reply
            if reply is not None:
                code = _error_code(reply.body)
                tally.error(f"{what}: {reply.status} {code}", reply.body.decode(errors="replace"))
            if time.monotonic() + self.plan.retry_pause > deadline:
                tally.given_up += 1
                self.given_up += 1
                return None
            await asyncio.sleep(self.plan.retry_pause)

    async def administer(self, cart: Cart, dose: Dose, tally: Tally) -> None:
        started = time.monotonic()
        deadline = started + self.plan.retry_limit
        errors_before = sum(tally.errors.values())
        body = json.dumps(
            {
                "patient": {"code": dose.patient.wristband_scan},
                "medications": [{"code": _common.unit_scan(dose.medicine, self.doses.serial())}],
                "cart": cart.name,
            }
        ).encode()
        auth = cart.headers(dose.patient.ward)
        check = await self._send(tally, "check", CHECK_PATH, body, auth, deadline)
        if check is None:
            return
        verdict = json.loads(check.body) if check.status == 200 else {}
        if check.status != 200 or verdict.get("verdict") != "go":
            tally.fatal.append(f"check {check.status}: {check.body[:300]!r}")
            return
        key = {"Idempotency-Key": f"province-{os.getpid()}-{next(self.keys)}"}
        record = await self._send(tally, "record", RECORD_PATH, body, auth | key, deadline)
        if record is None:
            return
        if record.status != 201:
            tally.fatal.append(f"record {record.status}: {record.body[:300]!r}")
            return
        answered = time.monotonic()
        self.acknowledged[json.loads(record.body)["id"]] = answered
        tally.recorded_at.append(answered)
        tally.latency.append(answered - started)
        if sum(tally.errors.values()) > errors_before:
            tally.retried_doses += 1

    async def closed_loop(
        self, carts: Sequence[tuple[Cart, str]], tally: Tally, until: Callable[[], bool]
    ) -> None:
        async def run(cart: Cart, group: str) -> None:
            while not until():
                dose = self.doses.take(group)
                if dose is None:
                    tally.exhausted = True
                    return
                await self.administer(cart, dose, tally)

        await asyncio.gather(*(run(cart, group) for cart, group in carts))

    async def probe_other_hospital(
        self, carts: Sequence[tuple[Cart, str]], patients: Sequence[Inpatient]
    ) -> dict:
        """Each cart scans a wristband of the next hospital on its own ward: refused as a patient
        it does not know (404 PATIENT_NOT_IN_YOUR_HOSPITALS), or the bench fails."""
        groups = sorted({group for _cart, group in carts})
        answers: Counter = Counter()
        for cart, group in carts:
            other = groups[(groups.index(group) + 1) % len(groups)]
            patient = next(p for p in patients if p.ward.startswith(f"{other}W"))
            own_ward = next(iter(cart.sessions))
            body = json.dumps(
                {"patient": {"code": patient.wristband_scan}, "medications": [], "cart": cart.name}
            ).encode()
            reply = await http_post(self.port, CHECK_PATH, body, cart.headers(own_ward))
            answers[f"{reply.status} {_error_code(reply.body)}"] += 1
        return {"probes": len(carts), "answers": dict(answers)}


def _error_code(body: bytes) -> str:
    try:
        return json.loads(body)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return "(not JSON)"


async def feed_reader(port: int, cart: Cart, stop: asyncio.Event, seen: Counter) -> None:
    """Other systems polling the administrations feed once a second: where each answer was read
    from (X-Read-From: replica or primary), or its error."""
    while not stop.is_set():
        started = time.monotonic()
        try:
            status, headers = await asyncio.wait_for(_get(port, FEED_PATH, cart), 10)
            seen[f"{status} {headers.get('x-read-from', '-')}"] += 1
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
            seen["no answer"] += 1
        await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - started)))


async def _get(port: int, path: str, cart: Cart) -> tuple[int, dict[str, str]]:
    session = next(iter(cart.sessions.values()))
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: sessionid={session}\r\n"
                "Accept: application/json\r\nConnection: close\r\n\r\n"
            ).encode()
        )
        status = int((await reader.readline()).split()[1])
        headers = {}
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        await reader.read()
        return status, headers
    finally:
        writer.close()


# --------------------------------------------------------------------------- the phases


def _rate(times: Sequence[float], start: float, end: float) -> dict:
    inside = [t for t in times if start <= t < end]
    seconds = max(end - start, 1e-9)
    return {"seconds": seconds, "recorded": len(inside), "per_s": len(inside) / seconds}


def _latency_ms(values: Sequence[float]) -> dict:
    return {
        "n": len(values),
        "p50_ms": percentile(values, 0.5) * 1000 if values else None,
        "p99_ms": percentile(values, 0.99) * 1000 if values else None,
    }


async def cost_of_synchronous_commit(
    run: Run, carts, deployment: cluster.Deployment, standby: cluster.DatabaseNode, log
) -> dict:
    """Closed loops with the standby synchronous and asynchronous, alternated, with one cart (the
    latency a commit adds) and with every cart (the capacity)."""
    plan = run.plan
    levels = sorted({1, len(carts)})
    rows: dict[str, dict[int, list[dict]]] = {
        mode: {level: [] for level in levels} for mode in ("synchronous", "asynchronous")
    }
    for _round in range(plan.cost_rounds):
        for mode in rows:
            deployment.set_synchronous(mode == "synchronous")
            if mode == "synchronous":
                deployment.wait_sync_standby(standby)
            else:
                cluster.wait_for(
                    "standby no longer synchronous",
                    lambda: not standby.is_sync_standby(),
                    seconds=30,
                )
            for level in levels:
                tally = Tally()
                started = time.monotonic()
                end = started + plan.cost_seconds
                await run.closed_loop(carts[:level], tally, lambda end=end: time.monotonic() >= end)
                row = {
                    **_rate(tally.recorded_at, started, time.monotonic()),
                    "doses_ran_out": tally.exhausted,
                    "latency": tally.latency,
                    "errors": sum(tally.errors.values()) + len(tally.fatal),
                }
                rows[mode][level].append(row)
                log(f"{mode}, {level} carts: {row['per_s']:.1f} administrations/s")
    deployment.set_synchronous(True)
    deployment.wait_sync_standby(standby)
    summary: dict = {}
    for mode, by_level in rows.items():
        for level, runs in by_level.items():
            latency = [value for r in runs for value in r["latency"]]
            summary.setdefault(mode, {})[level] = {
                "per_s": sum(r["recorded"] for r in runs) / sum(r["seconds"] for r in runs),
                **_latency_ms(latency),
                "errors": sum(r["errors"] + int(r["doses_ran_out"]) for r in runs),
                "doses_ran_out": any(r["doses_ran_out"] for r in runs),
            }
    return summary


async def failures(run: Run, carts, deployment: cluster.Deployment, primary, standby, log) -> dict:
    """The closed loop goes on while an app server and then the primary die."""
    plan = run.plan
    tally = Tally()
    events: dict[str, float] = {}
    stop_at = [float("inf")]
    stop_feed = asyncio.Event()
    feed: Counter = Counter()
    started = time.monotonic()
    hard_stop = started + plan.before_seconds + plan.app_down_seconds + plan.failover_limit + 60

    def until() -> bool:
        now = time.monotonic()
        return now >= stop_at[0] or now >= hard_stop

    async def script() -> None:
        await asyncio.sleep(plan.before_seconds)
        victim = deployment.app_servers[0]
        victim.process.kill()
        events["app_server_killed"] = time.monotonic()
        log(f"kill -9 app server {victim.name}")
        await asyncio.sleep(plan.app_down_seconds)
        deployment.kill_node(primary)
        events["primary_killed"] = time.monotonic()
        log(f"kill -9 the primary ({primary.name}: Patroni and PostgreSQL)")
        promoted = await asyncio.to_thread(
            deployment.wait_role, standby, "primary", seconds=plan.failover_limit
        )
        events["standby_promoted"] = time.monotonic()
        log(f"Patroni promoted {standby.name} {promoted:.1f} s after the kill")
        # Recovery: the first record answered by the new primary. (Records answered between the
        # kill and the promotion were committed before the kill, their answers still in flight.)
        while time.monotonic() < hard_stop and not tally.exhausted:
            after = [t for t in tally.recorded_at if t > events["standby_promoted"]]
            if after:
                events["first_record_after"] = after[0]
                break
            await asyncio.sleep(0.1)
        stop_at[0] = time.monotonic() + plan.after_seconds

    reader = asyncio.create_task(feed_reader(run.port, carts[-1][0], stop_feed, feed))
    try:
        await asyncio.gather(script(), run.closed_loop(carts, tally, until))
    finally:
        stop_feed.set()
        await reader
    ended = time.monotonic()
    killed_app = events.get("app_server_killed", ended)
    killed_db = events.get("primary_killed", ended)
    recovered = events.get("first_record_after", ended)
    return {
        "events_s": {name: at - started for name, at in events.items()},
        "before": _rate(tally.recorded_at, started, killed_app),
        "one_app_server_down": _rate(tally.recorded_at, killed_app, killed_db),
        "failover": {
            **_rate(tally.recorded_at, killed_db, recovered),
            "no_record_for_s": recovered - killed_db,
        },
        "after": _rate(tally.recorded_at, recovered, ended),
        "latency": _latency_ms(tally.latency),
        "errors": dict(tally.errors),
        "errors_by_phase": {
            phase: dict(Counter(kind for at, kind in tally.error_times if start <= at < end))
            for phase, start, end in (
                ("before", started, killed_app),
                ("one_app_server_down", killed_app, killed_db),
                ("failover", killed_db, recovered),
                ("after", recovered, ended),
            )
        },
        "error_samples": tally.samples,
        "fatal": tally.fatal[:10],
        "retried_doses": tally.retried_doses,
        "given_up": tally.given_up,
        "doses_ran_out": tally.exhausted,
        "feed": dict(feed),
    }


# --------------------------------------------------------------------------- afterwards


def verify(acknowledged: dict[str, float], db_url: str, given_up: int) -> dict:
    """On the new primary: every 201 is there, nothing twice, the audit chains intact."""
    from django.db import connections
    from django.db.models import Count

    from scanning.models import AdministeredUnit, Administration, AdministrationStatus

    connections.close_all()
    present = set(
        str(u)
        for u in Administration.objects.filter(cart__startswith="cart-").values_list(
            "external_id", flat=True
        )
    )
    lost = sorted(set(acknowledged) - present)
    doubles = (
        Administration.objects.filter(
            status=AdministrationStatus.COMPLETED,
            scheduled_dose__isnull=False,
            replaces__isnull=True,
        )
        .values("scheduled_dose")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    serials = (
        AdministeredUnit.objects.exclude(serial="")
        .values("gtin", "serial")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    # Each record is on a ward of its nurse's hospital, and no cart opened break-the-glass (bench
    # nurses work every ward of their own hospital, so one would mean a crossing).
    from django.db.models import Exists, OuterRef

    from scanning.models import AccessLog
    from wards.models import Ward

    works_there = Ward.staff.through.objects.filter(
        user_id=OuterRef("performer_id"), ward__hospital_id=OuterRef("admission__ward__hospital_id")
    )
    crossed = (
        Administration.objects.filter(cart__startswith="cart-").exclude(Exists(works_there)).count()
    )
    break_glass = AccessLog.objects.count()
    audit = subprocess.run(
        [sys.executable, "manage.py", "verify_audit"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "DATABASE_URL": db_url},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    unanswered = len(present) - len(set(acknowledged) & present)
    sizes = {}
    with connections["default"].cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
        for table in SIZED_TABLES:
            cursor.execute(
                f"SELECT pg_total_relation_size(%s), count(*) FROM {table}",  # noqa: S608
                [table],
            )
            total, rows = cursor.fetchone()
            sizes[table] = {"bytes": total, "rows": rows, "per_row": total / rows if rows else None}
    return {
        "acknowledged": len(acknowledged),
        "records_by_carts": len(present),
        "lost": len(lost),
        "lost_sample": lost[:5],
        "records_without_a_201": unanswered,
        "requests_given_up": given_up,
        "doses_recorded_twice": doubles,
        "serials_recorded_twice": serials,
        "records_outside_the_nurses_hospital": crossed,
        "break_the_glass_opened": break_glass,
        "table_sizes": sizes,
        "audit_exit": audit.returncode,
        "audit": (audit.stdout + audit.stderr).strip()[-600:],
    }


def passed(results: dict) -> dict:
    check = results["database"]
    fail = results["failures"]
    cart_errors = set(fail["errors"])
    return {
        "no_record_lost": check["lost"] == 0,
        "no_dose_twice": check["doses_recorded_twice"] == 0
        and check["serials_recorded_twice"] == 0,
        "audit_intact": check["audit_exit"] == 0,
        "hospitals_kept_apart": results["other_hospital"]["answers"]
        == {"404 PATIENT_NOT_IN_YOUR_HOSPITALS": results["other_hospital"]["probes"]}
        and check["records_outside_the_nurses_hospital"] == 0
        and check["break_the_glass_opened"] == 0,
        # A record without a 201 can only be one whose every retry was given up.
        "records_match_answers": check["records_without_a_201"] <= check["requests_given_up"],
        "only_retried_unavailable": not fail["fatal"]
        and fail["given_up"] == 0
        and all(
            kind.endswith(("503 DATABASE_UNAVAILABLE", "503 SERVICE_UNAVAILABLE", "no answer"))
            for kind in cart_errors
        ),
        "recovered": "first_record_after" in fail["events_s"] and fail["after"]["recorded"] > 0,
        "enough_doses": not fail["doses_ran_out"]
        and not any(r["doses_ran_out"] for c in results["cost"].values() for r in c.values()),
    }


# --------------------------------------------------------------------------- the report

PHASES = (
    ("before: 2 app servers, primary + standby", "before"),
    ("one app server killed (kill -9)", "one_app_server_down"),
    ("primary killed → first record on the new primary", "failover"),
    ("after: 1 app server, the promoted standby alone", "after"),
)


def render(results: dict, plan: Plan) -> str:
    cost = results["cost"]
    sync, async_ = cost["synchronous"], cost["asynchronous"]
    fail = results["failures"]
    check = results["database"]
    ok = results["passed"]
    lines = [
        f"Cost of zero loss (closed loop, {plan.cost_rounds} × {plan.cost_seconds:.0f} s per "
        "row, synchronous and asynchronous alternated)",
        "",
        "| standby | carts | administrations/s | administration p50 ms | p99 ms | errors |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for label, mode in (("synchronous (zero loss)", sync), ("asynchronous", async_)):
        for level, row in sorted(mode.items()):
            lines.append(
                f"| {label} | {level} | {row['per_s']:.1f} | {row['p50_ms'] or 0:.1f} "
                f"| {row['p99_ms'] or 0:.1f} | {row['errors']} |"
            )
    one, every = min(sync), max(sync)
    if async_[every]["per_s"] and async_[one]["p50_ms"]:
        lines.append(
            f"\nSynchronous commit: one cart's administration takes "
            f"{sync[one]['p50_ms'] - async_[one]['p50_ms']:+.1f} ms at p50; with {every} carts "
            f"the administrations per second change by "
            f"{(sync[every]['per_s'] / async_[every]['per_s'] - 1) * 100:+.1f} % "
            "(both clusters on this one machine: the standby's flush is a local fsync away)."
        )
    events = fail["events_s"]
    lines += [
        "",
        "Failures while recording (synchronous standby)",
        "",
        "| phase | seconds | administrations | administrations/s |",
        "|---|--:|--:|--:|",
    ]
    for label, key in PHASES:
        row = fail[key]
        lines.append(f"| {label} | {row['seconds']:.1f} | {row['recorded']} | {row['per_s']:.1f} |")
    lines += [
        "",
        "Events (seconds into the run): "
        + ", ".join(f"{name.replace('_', ' ')} {at:.1f}" for name, at in events.items())
        + f". No record answered for {fail['failover']['no_record_for_s']:.1f} s.",
        "",
        "Errors the carts saw (each followed by a retry of the same request, same "
        "Idempotency-Key): "
        + (", ".join(f"{kind} × {n}" for kind, n in sorted(fail["errors"].items())) or "none")
        + f"; doses that needed a retry: {fail['retried_doses']}; requests given up: "
        f"{fail['given_up']}; answers no retry may resolve: {len(fail['fatal'])}.",
        "Errors by phase: "
        + "; ".join(
            f"{label.split(':')[0]}: "
            + (
                ", ".join(f"{k} × {n}" for k, n in sorted(fail["errors_by_phase"][key].items()))
                or "none"
            )
            for label, key in PHASES
        )
        + ".",
        "Feed reads during the run (status, read from): "
        + ", ".join(f"{k} × {n}" for k, n in sorted(fail["feed"].items())),
        "",
        f"Database afterwards (the new primary): {check['records_by_carts']} records by the carts "
        f"for {check['acknowledged']} answers 201; lost: {check['lost']}; records without a 201: "
        f"{check['records_without_a_201']}; doses recorded twice: {check['doses_recorded_twice']}; "
        f"serials twice: {check['serials_recorded_twice']}; verify_audit exit "
        f"{check['audit_exit']}: {check['audit'].splitlines()[-1] if check['audit'] else ''}",
        "",
        "Hospitals kept apart: each cart scanned a wristband of another hospital: "
        + ", ".join(f"{k} × {n}" for k, n in sorted(results["other_hospital"]["answers"].items()))
        + f"; records on a ward outside the nurse's hospital: "
        f"{check['records_outside_the_nurses_hospital']}; break-the-glass opened: "
        f"{check['break_the_glass_opened']}.",
        "",
        "Bytes per row, indexes included: "
        + ", ".join(
            f"{table} {row['per_row']:.0f}"
            for table, row in check["table_sizes"].items()
            if row["per_row"]
        ),
        "",
        "Checks: " + ", ".join(f"{_common.mark(v)} {k.replace('_', ' ')}" for k, v in ok.items()),
    ]
    if fail["fatal"]:
        lines += ["", "Answers no retry may resolve:", *(f"- {f}" for f in fail["fatal"])]
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.province", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--smoke", action="store_true", help="tiny hospitals, about a minute")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--carts", type=int, default=None)
    parser.add_argument("--logs", type=Path, default=None, help="keep every server's log here")
    args = parser.parse_args(argv)
    plan = SMOKE if args.smoke else FULL
    if args.carts:
        plan = replace(plan, carts=args.carts)
    started = time.monotonic()

    def log(message: str) -> None:
        print(f"[{time.monotonic() - started:6.1f} s] {message}", file=sys.stderr, flush=True)

    load_before = _common.load_average()
    results: dict = {"plan": asdict(plan)}
    with cluster.deployment(log, keep_logs=args.logs) as deployment:
        try:
            results.update(_run(deployment, plan, log))
        except BaseException:
            for process in deployment.processes:
                if process.tail():
                    print(f"--- {process.name} log\n{process.tail(800)}", file=sys.stderr)
            raise
    results["machine"] = _common.machine()
    results["load_average"] = {"before": load_before, "after": _common.load_average()}
    results["seconds"] = time.monotonic() - started
    print(_common.machine())
    print(
        f"load average (1, 5, 15 min) before the run: {load_before}; after: "
        f"{results['load_average']['after']}"
    )
    print(
        f"{plan.hospitals} hospitals × {plan.hospital.wards} wards × "
        f"{plan.hospital.beds_per_ward} beds, {plan.hospital.orders_per_patient} orders per "
        f"patient; {plan.app_servers} app servers × {plan.workers} gunicorn workers behind "
        f"HAProxy; PostgreSQL 15 primary + standby (Patroni, etcd); {plan.carts} carts"
    )
    print()
    print(render(results, plan))
    print(f"\n{results['seconds']:.0f} s")
    if args.json is not None:
        args.json.write_text(
            json.dumps(results, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
        )
    return 0 if all(results["passed"].values()) else 1


def _run(deployment: cluster.Deployment, plan: Plan, log) -> dict:
    deployment.start_etcd()
    primary = deployment.start_node(synchronous=True)
    log(f"{primary.name} is the primary after {deployment.wait_role(primary, 'primary'):.1f} s")
    standby = deployment.start_node(synchronous=True)
    deployment.wait_role(standby, "replica")
    log(
        f"{standby.name} is a synchronous standby after {deployment.wait_sync_standby(standby):.1f} s"
    )

    import psycopg
    from psycopg import sql

    with psycopg.connect(deployment.url("postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
    db_url = deployment.url(DATABASE)
    replica_url = deployment.url(DATABASE, attrs="prefer-standby")
    _common.django_setup(db_url)
    _common.migrate()
    spec = replace(plan.hospital, nurses=plan.nurses)
    hospital = _common.hospital_generate(spec, tenants=plan.hospitals)
    groups = sorted({nurse.hospital for nurse in hospital.nurses})
    _common.audit_chains_seal()
    _common.analyze()
    from django.db import connections

    connections.close_all()
    log(
        f"{plan.hospitals} hospitals: {len(hospital.wards)} wards, {len(hospital.patients)} "
        f"patients, {len(hospital.patients) * len(hospital.medicines)} doses due now"
    )

    deployment.start_app_servers(
        plan.app_servers,
        workers=plan.workers,
        env={
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DATABASE_URL": db_url,
            "DATABASE_REPLICA_URL": replica_url,
            "DATABASE_CONN_MAX_AGE": "600",
        },
    )
    port = deployment.start_haproxy()
    # A cart session names its ward: each cart logs in once for each ward of its hospital.
    carts = []
    for index, nurse in enumerate(hospital.nurses[: plan.carts]):
        wards = [code for code in hospital.wards if code.startswith(f"{nurse.hospital}W")]
        carts.append((login(port, nurse, index, wards), nurse.hospital))
    run = Run(port=port, plan=plan, doses=ProvinceDoses(hospital, groups))

    async def drive() -> dict:
        other_hospital = await run.probe_other_hospital(carts, hospital.patients)
        log(f"another hospital's wristband: {other_hospital['answers']}")
        # A few doses per cart first: connections opened, statements prepared.
        warm = Tally()
        end = time.monotonic() + 2
        await run.closed_loop(carts, warm, lambda: time.monotonic() >= end)
        log("the cost of synchronous commit")
        cost = await cost_of_synchronous_commit(run, carts, deployment, standby, log)
        log("failures while recording")
        return {
            "other_hospital": other_hospital,
            "cost": cost,
            "failures": await failures(run, carts, deployment, primary, standby, log),
        }

    results = asyncio.run(drive())
    for server in deployment.app_servers:
        server.process.stop()
    if deployment.haproxy is not None:
        deployment.haproxy.stop()
    results["database"] = verify(run.acknowledged, db_url, run.given_up)
    results["passed"] = passed(results)
    results["patients"] = len(hospital.patients)
    results["doses_due"] = len(hospital.patients) * len(hospital.medicines)
    results["request_timeout_s"] = REQUEST_TIMEOUT
    return results


if __name__ == "__main__":
    raise SystemExit(main())
