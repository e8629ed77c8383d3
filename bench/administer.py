"""Check + record over HTTP: the app under gunicorn on PostgreSQL, beside a bare baseline endpoint.

    .venv/bin/python -m bench.administer [--workers N] [--json FILE] [--profile N] [--smoke]

The benchmark makes its own database (`bench_administer`, dropped and created again), migrates
it, generates a hospital of 40 wards × 30 beds whose 1,200 patients have 8 orders each, every one
with a dose due now (9,600 distinct due doses; the 4 doses of each order in the last 24 hours are
already recorded), starts gunicorn (sync workers) on a free port of 127.0.0.1, and drives it from
this process with an asyncio client on raw sockets:

1. service time: one cart, back to back: check, then record, on the next due dose;
2. capacity: 8, 16, 32 and 64 carts in a closed loop (each cart checks and records, then
   starts the next dose at once): administrations per second and their latency;
3. peak: administrations arriving at random (Poisson) at 100 per second, whatever the answers,
   latency counted from the arrival to the answer of the record.

Every mode is also run against `POST /bench/baseline/` (bench/baseline.py: one indexed read and
one insert in a transaction), in the same run, on the same server. Every dose is administered
once, every record carries its own Idempotency-Key, and each unit its own serial, so any answer
other than a GO check and a 201 record is an error. Afterwards gunicorn is stopped and the
database is checked: one record per acknowledged 201, no dose recorded twice, no serial twice.
Every loop is bounded in count and in time. The targets come from DESIGN.md section 8.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import http.client
import itertools
import json
import os
import pstats
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from bench import _common, cluster
from bench._common import (
    CHARTS_DIR,
    ROOT,
    Hospital,
    HospitalSpec,
    Inpatient,
    Medicine,
    Series,
    mark,
    percentile,
)

TARGET_SERVICE_P50_MS = 8.0
TARGET_SERVICE_P99_MS = 20.0
TARGET_CAPACITY_RATIO = 0.40
TARGET_PEAK_P99_MS = 30.0
REQUEST_TIMEOUT = 10.0

CHECK_PATH = "/api/v1/scan/check/"
RECORD_PATH = "/api/v1/administrations/"
LOGIN_PATH = "/api/v1/auth/badge/"
BASELINE_PATH = "/bench/baseline/"


@dataclass(frozen=True)
class Plan:
    spec: HospitalSpec
    workers: int
    warmup: int  # administrations before any measurement, one per worker at a time
    service: int  # administrations back to back
    baseline_service: int  # baseline requests back to back
    levels: tuple[int, ...]  # carts in the closed loop
    capacity_carts: int  # the level the capacity target is read at
    level_seconds: float
    level_cap: int  # administrations at most per level
    baseline_seconds: float
    peak_rate: float  # administrations per second
    peak_seconds: float


FULL = Plan(
    spec=HospitalSpec(wards=40, beds_per_ward=30, orders_per_patient=8, nurses=64),
    workers=5,
    warmup=40,
    service=500,
    baseline_service=1000,
    levels=(8, 16, 32, 64),
    capacity_carts=32,
    level_seconds=10.0,
    level_cap=1500,
    baseline_seconds=5.0,
    peak_rate=100.0,
    peak_seconds=20.0,
)
SMOKE = Plan(
    spec=HospitalSpec(wards=2, beds_per_ward=5, orders_per_patient=6, nurses=4),
    workers=2,
    warmup=2,
    service=5,
    baseline_service=10,
    levels=(2, 4),
    capacity_carts=4,
    level_seconds=2.0,
    level_cap=5,
    baseline_seconds=0.5,
    peak_rate=20.0,
    peak_seconds=0.5,
)


# --------------------------------------------------------------------------- the client


@dataclass
class Reply:
    status: int
    body: bytes
    seconds: float


async def http_post(
    port: int, path: str, body: bytes, headers: dict[str, str] | None = None
) -> Reply:
    """One POST on a fresh connection to 127.0.0.1 (gunicorn's sync workers close every
    connection after its answer, so a kept-alive socket would be closed under us)."""
    started = time.perf_counter()

    async def exchange() -> tuple[int, bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            head = [
                f"POST {path} HTTP/1.1",
                f"Host: 127.0.0.1:{port}",
                "Content-Type: application/json",
                "Accept: application/json",
                f"Content-Length: {len(body)}",
                "Connection: close",
                *(f"{name}: {value}" for name, value in (headers or {}).items()),
            ]
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
            status_line = await reader.readline()
            status = int(status_line.split()[1])
            length = None
            chunked = False
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b"\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
                elif name.strip().lower() == "transfer-encoding" and "chunked" in value.lower():
                    chunked = True
            if length is not None:
                data = await reader.readexactly(length)
            elif chunked:
                parts = []
                while size := int((await reader.readline()).strip() or b"0", 16):
                    parts.append(await reader.readexactly(size))
                    await reader.readline()
                data = b"".join(parts)
            else:
                data = await reader.read()
            return status, data
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    status, data = await asyncio.wait_for(exchange(), REQUEST_TIMEOUT)
    return Reply(status, data, time.perf_counter() - started)


# --------------------------------------------------------------------------- the work


@dataclass(frozen=True)
class Dose:
    patient: Inpatient
    medicine: Medicine


class Doses:
    """The due doses, each handed out once; consecutive doses belong to different patients, so
    that carts running together do not queue on one patient's row lock."""

    def __init__(self, hospital: Hospital):
        self._iterator: Iterator[Dose] = (
            Dose(patient, medicine)
            for medicine in hospital.medicines
            for patient in hospital.patients
        )
        self.total = len(hospital.medicines) * len(hospital.patients)
        self.taken = 0
        self._serials = itertools.count(1)

    def take(self) -> Dose | None:
        dose = next(self._iterator, None)
        if dose is not None:
            self.taken += 1
        return dose

    def serial(self) -> str:
        return f"B{next(self._serials):09d}"


@dataclass
class Tally:
    """What one mode saw. Latencies in seconds."""

    check: list[float] = field(default_factory=list)
    record: list[float] = field(default_factory=list)
    administration: list[float] = field(default_factory=list)
    baseline: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)
    recorded: int = 0
    seconds: float = 0.0
    baseline_seconds: float = 0.0
    exhausted: bool = False

    def error(self, kind: str, detail: str = "") -> None:
        self.errors[kind] += 1
        if len(self.samples) < 5:
            self.samples.append(f"{kind}: {detail[:300]}")


# Any 32-character secret serves as a CSRF token when it is sent as both cookie and header.
CSRF = "benchcsrf" * 3 + "bench"


@dataclass
class Cart:
    """A cart logged in once for each ward (a cart session names its ward, and a patient on
    another ward would be a WRONG_WARD warning, not the GO every dose here must get)."""

    name: str
    sessions: dict[str, str]  # ward code → session id
    badge: str

    def headers(self, ward: str) -> dict[str, str]:
        return {
            "Cookie": f"sessionid={self.sessions[ward]}; csrftoken={CSRF}",
            "X-CSRFToken": CSRF,
        }


class Bench:
    def __init__(self, port: int, hospital: Hospital, doses: Doses):
        self.port = port
        self.hospital = hospital
        self.doses = doses
        self.keys = itertools.count(1)
        self.acknowledged = 0  # 201s over the whole run, warm-up included
        # Records sent whose answer never came (the client gave up): made or not, we cannot know.
        self.unanswered_records = 0

    async def administer(self, cart: Cart, dose: Dose, tally: Tally, arrived: float) -> None:
        """Check, then record if the check says GO. `arrived` is when the work was due to start."""
        body = json.dumps(
            {
                "patient": {"code": dose.patient.wristband_scan},
                "medications": [{"code": _common.unit_scan(dose.medicine, self.doses.serial())}],
                "cart": cart.name,
            }
        ).encode()
        auth = cart.headers(dose.patient.ward)
        try:
            check = await http_post(self.port, CHECK_PATH, body, auth)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as error:
            tally.error("check: no answer", repr(error))
            return
        tally.check.append(check.seconds)
        if check.status != 200:
            tally.error(f"check: HTTP {check.status}", check.body.decode(errors="replace"))
            return
        verdict = json.loads(check.body)
        if verdict.get("verdict") != "go":
            tally.error(f"check: {verdict.get('verdict')}", json.dumps(verdict["findings"]))
            return
        key = {"Idempotency-Key": f"bench-{os.getpid()}-{next(self.keys)}"}
        try:
            record = await http_post(self.port, RECORD_PATH, body, auth | key)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as error:
            self.unanswered_records += 1
            tally.error("record: no answer", repr(error))
            return
        tally.record.append(record.seconds)
        if record.status != 201:
            tally.error(f"record: HTTP {record.status}", record.body.decode(errors="replace"))
            return
        self.acknowledged += 1
        tally.recorded += 1
        tally.administration.append(time.perf_counter() - arrived)

    async def baseline_once(self, cart: Cart, tally: Tally) -> None:
        body = json.dumps({"badge": cart.badge}).encode()
        try:
            reply = await http_post(self.port, BASELINE_PATH, body)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as error:
            tally.error("baseline: no answer", repr(error))
            return
        tally.baseline.append(reply.seconds)
        if reply.status != 201:
            tally.error(f"baseline: HTTP {reply.status}", reply.body.decode(errors="replace"))

    async def closed_loop(
        self, carts: Sequence[Cart], *, seconds: float, cap: int, tally: Tally
    ) -> None:
        """Each cart administers dose after dose until `seconds` pass or `cap` doses are out."""
        started = time.perf_counter()
        deadline = started + seconds
        budget = itertools.count()

        async def run(cart: Cart) -> None:
            while time.perf_counter() < deadline and next(budget) < cap:
                dose = self.doses.take()
                if dose is None:
                    tally.exhausted = True
                    return
                await self.administer(cart, dose, tally, time.perf_counter())

        await asyncio.gather(*(run(cart) for cart in carts))
        tally.seconds = time.perf_counter() - started

    async def baseline_closed_loop(
        self, carts: Sequence[Cart], *, seconds: float, cap: int, tally: Tally
    ) -> None:
        started = time.perf_counter()
        deadline = started + seconds
        budget = itertools.count()

        async def run(cart: Cart) -> None:
            while time.perf_counter() < deadline and next(budget) < cap:
                await self.baseline_once(cart, tally)

        await asyncio.gather(*(run(cart) for cart in carts))
        tally.baseline_seconds = time.perf_counter() - started

    async def open_loop(
        self, carts: Sequence[Cart], *, rate: float, seconds: float, tally: Tally, baseline: bool
    ) -> None:
        """Arrivals at random at `rate` per second for `seconds`, each started on time whatever
        is still in flight (so a slow answer cannot slow the arrivals down)."""
        rng = random.Random(7)  # noqa: S311 - reproducible arrivals, not secrets
        started = time.perf_counter()
        tasks = []
        at = 0.0
        for index in itertools.count():
            at += rng.expovariate(rate)
            if at >= seconds:
                break
            delay = started + at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            cart = carts[index % len(carts)]
            if baseline:
                tasks.append(asyncio.create_task(self.baseline_once(cart, tally)))
                continue
            dose = self.doses.take()
            if dose is None:
                tally.exhausted = True
                break
            tasks.append(asyncio.create_task(self.administer(cart, dose, tally, started + at)))
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=REQUEST_TIMEOUT * 3)
            for task in pending:
                task.cancel()
                tally.error("no answer in time")
        elapsed = time.perf_counter() - started
        if baseline:
            tally.baseline_seconds = elapsed
        else:
            tally.seconds = elapsed

    async def service(self, cart: Cart, *, count: int, baseline_count: int, tally: Tally) -> None:
        for _ in range(count):
            dose = self.doses.take()
            if dose is None:
                tally.exhausted = True
                break
            await self.administer(cart, dose, tally, time.perf_counter())
        for _ in range(baseline_count):
            await self.baseline_once(cart, tally)


def badge_login(port: int, badge: str, *, ward: str, cart: str) -> str:
    """A cart's login over HTTP (badge scan, PIN, CSRF token); its session id."""
    body = json.dumps(
        {"badge": {"code": f"]C18017{badge}"}, "pin": _common.PIN, "cart": cart, "ward": ward}
    )
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    headers = {
        "Content-Type": "application/json",
        "Cookie": f"csrftoken={CSRF}",
        "X-CSRFToken": CSRF,
    }
    try:
        connection.request("POST", LOGIN_PATH, body, headers)
        response = connection.getresponse()
        answer = response.read()
        cookies = response.headers.get_all("Set-Cookie") or []
    finally:
        connection.close()
    if response.status != 200:
        raise RuntimeError(f"badge login failed for {badge}: {response.status} {answer!r}")
    for cookie in cookies:
        name, _, rest = cookie.partition("=")
        if name.strip() == "sessionid":
            return rest.split(";", 1)[0]
    raise RuntimeError(f"badge login for {badge} set no session cookie")


def login(port: int, nurse: _common.Nurse, index: int, wards: Sequence[str]) -> Cart:
    name = f"cart-{index:02d}"
    sessions = {ward: badge_login(port, nurse.badge, ward=ward, cart=name) for ward in wards}
    return Cart(name=name, sessions=sessions, badge=nurse.badge)


# --------------------------------------------------------------------------- gunicorn


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def gunicorn(db_url: str, *, workers: int, conn_max_age: int, log: Path) -> Iterator[int]:
    """gunicorn with `bench.settings` on a free port of 127.0.0.1; stopped on the way out."""
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": db_url,
        "DATABASE_CONN_MAX_AGE": str(conn_max_age),
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "hospital.wsgi:application",
        f"--bind=127.0.0.1:{port}",
        f"--workers={workers}",
        "--worker-class=sync",
        "--timeout=60",
        "--log-level=warning",
        f"--error-logfile={log}",
        f"--chdir={ROOT}",
    ]
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_until_up(port, process)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_until_up(port: int, process: subprocess.Popen, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}; see its log")
        with contextlib.suppress(OSError):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            try:
                connection.request("GET", BASELINE_PATH)
                if connection.getresponse().status == 405:
                    return
            finally:
                connection.close()
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer within a minute")


# --------------------------------------------------------------------------- the run


def _ms(values: Sequence[float], fraction: float) -> float:
    return percentile(values, fraction) * 1000


def _latency(values: Sequence[float]) -> dict:
    return {
        "n": len(values),
        "p50_ms": _ms(values, 0.50),
        "p99_ms": _ms(values, 0.99),
        "max_ms": max(values) * 1000 if values else float("nan"),
    }


def summarize_mode(tally: Tally) -> dict:
    return {
        "check": _latency(tally.check),
        "record": _latency(tally.record),
        "administration": _latency(tally.administration),
        "baseline": _latency(tally.baseline),
        "recorded": tally.recorded,
        "seconds": tally.seconds,
        "administrations_per_s": tally.recorded / tally.seconds if tally.seconds else None,
        "requests_per_s": (len(tally.check) + len(tally.record)) / tally.seconds
        if tally.seconds
        else None,
        "baseline_per_s": len(tally.baseline) / tally.baseline_seconds
        if tally.baseline_seconds
        else None,
        "errors": dict(tally.errors),
        "error_samples": tally.samples,
        "doses_ran_out": tally.exhausted,
    }


async def drive(port: int, hospital: Hospital, plan: Plan, log: Callable[[str], None]) -> dict:
    doses = Doses(hospital)
    carts_needed = max(*plan.levels, plan.workers, 1)
    carts = [
        login(port, nurse, i, hospital.wards)
        for i, nurse in enumerate(hospital.nurses[:carts_needed])
    ]
    bench = Bench(port, hospital, doses)
    results: dict = {"levels": {}}

    log(f"warm-up: {plan.warmup} administrations, {plan.warmup * 4} baseline requests")
    warm = Tally()
    await bench.closed_loop(carts[: plan.workers], seconds=60, cap=plan.warmup, tally=warm)
    await bench.baseline_closed_loop(
        carts[: plan.workers], seconds=60, cap=plan.warmup * 4, tally=warm
    )
    results["warmup"] = summarize_mode(warm)

    log(f"service time: {plan.service} administrations, {plan.baseline_service} baseline, 1 cart")
    service = Tally()
    started = time.perf_counter()
    await bench.service(
        carts[0], count=plan.service, baseline_count=plan.baseline_service, tally=service
    )
    service.seconds = time.perf_counter() - started
    results["service"] = summarize_mode(service)
    results["service"]["check_plus_record"] = _latency(
        [c + r for c, r in zip(service.check, service.record, strict=False)]
    )

    for level in plan.levels:
        log(f"closed loop: {level} carts, {plan.level_seconds:.0f} s or {plan.level_cap} doses")
        tally = Tally()
        await bench.closed_loop(
            carts[:level], seconds=plan.level_seconds, cap=plan.level_cap, tally=tally
        )
        await bench.baseline_closed_loop(
            carts[:level], seconds=plan.baseline_seconds, cap=100_000, tally=tally
        )
        results["levels"][level] = summarize_mode(tally)

    peak = Tally()
    log(
        f"peak, baseline first: {plan.peak_rate * 2:.0f} requests/s for {plan.peak_seconds / 2:.0f} s"
    )
    await bench.open_loop(
        carts, rate=plan.peak_rate * 2, seconds=plan.peak_seconds / 2, tally=peak, baseline=True
    )
    capacity = results["levels"][plan.capacity_carts]["administrations_per_s"] or 1.0
    half = Tally()
    log(f"open loop at half the capacity: {capacity / 2:.0f} administrations/s")
    await bench.open_loop(
        carts, rate=capacity / 2, seconds=plan.peak_seconds / 2, tally=half, baseline=False
    )
    results["half_capacity"] = {"rate": capacity / 2, **summarize_mode(half)}
    log(f"peak: {plan.peak_rate:.0f} administrations/s for {plan.peak_seconds:.0f} s (Poisson)")
    await bench.open_loop(
        carts, rate=plan.peak_rate, seconds=plan.peak_seconds, tally=peak, baseline=False
    )
    results["peak"] = summarize_mode(peak)
    results["acknowledged"] = bench.acknowledged
    results["records_unanswered"] = bench.unanswered_records
    results["doses"] = {"total": doses.total, "taken": doses.taken}
    return results


def verify(acknowledged: int, unanswered: int) -> dict:
    """After the run, from the database: records made by the carts against the 201s (a record
    whose answer the client gave up on may or may not exist), doses or serials recorded twice,
    and records whose dose is not marked given."""
    from django.db.models import Count

    from pharmacy.models import DoseState
    from scanning.models import AdministeredUnit, Administration, AdministrationStatus

    made = Administration.objects.filter(cart__startswith="cart-")
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
    serial_twice = (
        AdministeredUnit.objects.exclude(serial="")
        .values("gtin", "serial")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    records = made.count()
    return {
        "records": records,
        "acknowledged": acknowledged,
        "unanswered": unanswered,
        "records_match_201s": acknowledged <= records <= acknowledged + unanswered,
        "doses_recorded_twice": doubles,
        "serials_recorded_twice": serial_twice,
        "records_on_a_dose_not_given": made.exclude(scheduled_dose__state=DoseState.GIVEN).count(),
    }


def query_counts(hospital: Hospital) -> dict:
    """Queries per request, counted in this process through Django's test client on the same
    database (three more due doses; the last count of each is kept)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from pharmacy.models import DoseState, ScheduledDose

    clients = cart_clients(hospital.nurses[0].username, hospital.wards)
    counts = {}
    open_doses = (
        ScheduledDose.objects.filter(state=DoseState.SCHEDULED, due_at=hospital.anchor)
        .select_related("order__admission__patient", "order__medication")
        .order_by("-pk")[:3]
    )
    for n, dose in enumerate(open_doses):
        patient = next(p for p in hospital.patients if p.admission_id == dose.order.admission_id)
        medicine = next(m for m in hospital.medicines if m.id == dose.order.medication_id)
        body = {
            "patient": {"code": patient.wristband_scan},
            "medications": [{"code": _common.unit_scan(medicine, f"Q{n:09d}")}],
            "cart": "queries",
        }
        client = clients[patient.ward]
        with CaptureQueriesContext(connection) as check:
            client.post(CHECK_PATH, body, content_type="application/json")
        with CaptureQueriesContext(connection) as record:
            client.post(
                RECORD_PATH,
                body,
                content_type="application/json",
                HTTP_IDEMPOTENCY_KEY=f"queries-{n}",
            )
        with CaptureQueriesContext(connection) as baseline:
            client.post(
                BASELINE_PATH, {"badge": hospital.nurses[0].badge}, content_type="application/json"
            )
        counts = {"check": len(check), "record": len(record), "baseline": len(baseline)}
        counts["record_sql"] = [q["sql"][:160] for q in record.captured_queries]
    return counts


def cart_clients(username: str, wards: Sequence[str]) -> dict:
    """Django test clients logged in as this nurse, one cart session per ward."""
    from django.test import Client

    from hospital.models import User

    user = User.objects.get(username=username)
    clients = {}
    for ward in wards:
        client = Client()
        client.force_login(user)
        session = client.session
        session["ward"] = ward
        session.save()
        clients[ward] = client
    return clients


# Where an administration's time goes, as shares of the samples taken inside the requests (py-spy
# with --idle samples waiting as well as running, so a share is a share of wall time). The rows
# overlap (a query's compilation is also part of the service that made it).
PROFILE_ROWS = (
    ("check service (administration_check)", r"administration_check \(scanning/services"),
    ("record service (administration_record)", r"administration_record \(scanning/services"),
    ("· the rules' facts (check_context_build)", r"check_context_build \(scanning/selectors"),
    (
        "· the rules themselves (rules.check_administration)",
        r"check_administration \(scanning/rules",
    ),
    ("· barcode parsing (scans_resolve)", r"scans_resolve \(scanning/services"),
    ("· row locks (_lock_patient_and_orders)", r"_lock_patient_and_orders"),
    ("· audit rows (ScanEvent)", r"_event \(scanning/services"),
    ("· outbox row (interop receiver)", r"\(interop/"),
    ("idempotency key row (idempotent_call, less the record)", None),
    ("record's answer (AdministrationOutputSerializer)", r"data \(rest_framework/serializers"),
    ("session and user with roles (hospital.auth.get_user)", r"get_user \(hospital/auth"),
    ("staff roles: one auth_group query per use (User.roles)", r"roles \(hospital/models"),
    ("waiting for PostgreSQL (psycopg)", r"wait \(psycopg/connection"),
    ("ORM: compiling SQL (as_sql)", r"as_sql \(django/db/models/sql"),
    ("ORM: rows to model instances (from_db)", r"from_db \(django/db/models/base"),
    ("outside the views (middleware, routing, request, test client)", None),
)


def _py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def _stack_shares(raw: Path) -> list[tuple[str, float]]:
    """py-spy's raw output (one `frame;frame;… count` per line) → PROFILE_ROWS shares."""
    stacks = []
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            frames = stack.split(";")
            if any("post (django/test/client.py" in frame for frame in frames):
                stacks.append((frames, int(count)))
    total = sum(count for _frames, count in stacks) or 1

    def share(pattern: str) -> float:
        found = re.compile(pattern)
        return sum(n for frames, n in stacks if any(found.search(f) for f in frames)) / total * 100

    rows = []
    for label, pattern in PROFILE_ROWS:
        if label.startswith("idempotency"):
            value = share(r"idempotent_call \(scanning/api") - share(r"post \(scanning/api/views")
        elif label.startswith("outside"):
            value = 100 - share(r"dispatch \(rest_framework/views")
        else:
            value = share(pattern)
        rows.append((label, round(value, 1)))
    return rows


def profile(hospital: Hospital, count: int) -> dict:
    """`count` check + record pairs in this process (Django's test client, the same database),
    one at a time: their wall time, the part spent in SQL (a wrapper around every execute), and
    where the rest goes, sampled by py-spy when it is installed, else by cProfile."""
    from django.db import connection

    from pharmacy.models import DoseState, ScheduledDose

    clients = cart_clients(hospital.nurses[1].username, hospital.wards)
    by_admission = {p.admission_id: p for p in hospital.patients}
    by_medication = {m.id: m for m in hospital.medicines}
    doses = list(
        ScheduledDose.objects.filter(state=DoseState.SCHEDULED, due_at=hospital.anchor)
        .values_list("order__admission_id", "order__medication_id")
        .order_by("pk")[:count]
    )
    sql = {"check": 0.0, "record": 0.0}
    wall = {"check": 0.0, "record": 0.0}
    phase = ["check"]

    def timed(execute, statement, params, many, context):
        started = time.perf_counter()
        try:
            return execute(statement, params, many, context)
        finally:
            sql[phase[0]] += time.perf_counter() - started

    spy = _py_spy()
    scratch = Path(tempfile.mkdtemp(prefix="bench-profile-"))
    raw = scratch / "py-spy.txt"
    sampler = profiler = None
    if spy:
        sampler = subprocess.Popen(  # noqa: S603 - py-spy on this very process
            [
                spy,
                "record",
                "--pid",
                str(os.getpid()),
                "--rate",
                "200",
                "--format",
                "raw",
                "--output",
                str(raw),
                "--idle",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1.5)
    else:
        profiler = cProfile.Profile()
        profiler.enable()
    try:
        with connection.execute_wrapper(timed):
            for n, (admission_id, medication_id) in enumerate(doses):
                body = {
                    "patient": {"code": by_admission[admission_id].wristband_scan},
                    "medications": [
                        {"code": _common.unit_scan(by_medication[medication_id], f"P{n:09d}")}
                    ],
                    "cart": "profile",
                }
                for name, path, extra in (
                    ("check", CHECK_PATH, {}),
                    ("record", RECORD_PATH, {"HTTP_IDEMPOTENCY_KEY": f"profile-{n}"}),
                ):
                    phase[0] = name
                    started = time.perf_counter()
                    client = clients[by_admission[admission_id].ward]
                    response = client.post(path, body, content_type="application/json", **extra)
                    wall[name] += time.perf_counter() - started
                    if response.status_code not in (200, 201):
                        raise RuntimeError(
                            f"profile {name}: {response.status_code} {response.content!r}"
                        )
    finally:
        if sampler is not None:
            sampler.send_signal(signal.SIGINT)
            sampler.wait(timeout=60)
        if profiler is not None:
            profiler.disable()
    n = max(len(doses), 1)
    result = {
        "administrations": len(doses),
        "check_ms": wall["check"] / n * 1000,
        "record_ms": wall["record"] / n * 1000,
        "check_sql_ms": sql["check"] / n * 1000,
        "record_sql_ms": sql["record"] / n * 1000,
    }
    if sampler is not None and raw.exists():
        result["sampler"] = "py-spy"
        result["shares"] = _stack_shares(raw)
    elif profiler is not None:
        by_package: Counter = Counter()
        stats = pstats.Stats(profiler)
        for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
            by_package[_package(filename)] += tottime
        total = sum(by_package.values()) or 1
        result["sampler"] = "cProfile"
        result["shares"] = [
            (f"own time in {name}", round(seconds / total * 100, 1))
            for name, seconds in by_package.most_common(10)
        ]
    shutil.rmtree(scratch, ignore_errors=True)
    return result


def _package(filename: str) -> str:
    path = filename.replace("\\", "/")
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1].split("/", 1)[0]
    if path.startswith(str(ROOT)):
        return path[len(str(ROOT)) + 1 :].split("/", 1)[0]
    return "Python and the standard library"


def targets(results: dict, plan: Plan) -> dict:
    service = results["service"]["check_plus_record"]
    at = results["levels"][plan.capacity_carts]
    ratio = (at["administrations_per_s"] or 0) / (at["baseline_per_s"] or float("inf"))
    modes = [
        results["service"],
        results["peak"],
        results["half_capacity"],
        *results["levels"].values(),
    ]
    errors = sum(sum(mode["errors"].values()) + int(mode["doses_ran_out"]) for mode in modes)
    check = results["database"]
    doubles = check["doses_recorded_twice"] + check["serials_recorded_twice"]
    return {
        "service_p50": {
            "value": service["p50_ms"],
            "target": TARGET_SERVICE_P50_MS,
            "pass": service["p50_ms"] <= TARGET_SERVICE_P50_MS,
        },
        "service_p99": {
            "value": service["p99_ms"],
            "target": TARGET_SERVICE_P99_MS,
            "pass": service["p99_ms"] <= TARGET_SERVICE_P99_MS,
        },
        "capacity_ratio": {
            "value": ratio,
            "target": TARGET_CAPACITY_RATIO,
            "pass": ratio >= TARGET_CAPACITY_RATIO,
        },
        "peak_p99": {
            "value": results["peak"]["administration"]["p99_ms"],
            "target": TARGET_PEAK_P99_MS,
            "pass": results["peak"]["administration"]["p99_ms"] <= TARGET_PEAK_P99_MS,
        },
        "zero_errors": {"value": errors, "target": 0, "pass": errors == 0},
        "zero_double_records": {
            "value": doubles,
            "target": 0,
            "pass": doubles == 0
            and check["records_match_201s"]
            and check["records_on_a_dose_not_given"] == 0,
        },
    }


def _f(value: float | None, digits: int = 1) -> str:
    return "–" if value is None or value != value else f"{value:,.{digits}f}"


def _errors(mode: dict) -> str:
    count = sum(mode["errors"].values())
    return f"{count}" + (" (doses ran out)" if mode["doses_ran_out"] else "")


def render(results: dict, plan: Plan) -> str:
    service = results["service"]
    lines = [
        f"Service time: one cart, back to back ({service['check']['n']} administrations, "
        f"{service['baseline']['n']} baseline requests), ms",
        "",
        "| request | p50 | p99 | max |",
        "|---|--:|--:|--:|",
    ]
    for label, key in (
        ("check", "check"),
        ("record", "record"),
        ("**check + record**", "check_plus_record"),
        ("baseline", "baseline"),
    ):
        row = service[key]
        lines.append(
            f"| {label} | {_f(row['p50_ms'], 2)} | {_f(row['p99_ms'], 2)} | {_f(row['max_ms'], 2)} |"
        )
    lines.append(f"\nErrors: {_errors(service)}.")

    lines += [
        "",
        f"Capacity: carts in a closed loop ({plan.level_seconds:.0f} s or {plan.level_cap} "
        f"administrations per level; the baseline {plan.baseline_seconds:.0f} s with as many "
        "clients)",
        "",
        "| carts | administrations/s | app requests/s | administration p50 ms | p99 ms "
        "| baseline requests/s | baseline p50 ms | p99 ms | adm/s ÷ baseline req/s | errors |",
        "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for carts, row in results["levels"].items():
        ratio = (row["administrations_per_s"] or 0) / (row["baseline_per_s"] or float("inf"))
        lines.append(
            f"| {carts} | {_f(row['administrations_per_s'])} | {_f(row['requests_per_s'])} "
            f"| {_f(row['administration']['p50_ms'])} | {_f(row['administration']['p99_ms'])} "
            f"| {_f(row['baseline_per_s'])} | {_f(row['baseline']['p50_ms'], 2)} "
            f"| {_f(row['baseline']['p99_ms'], 2)} | {ratio * 100:.1f} % | {_errors(row)} |"
        )

    peak = results["peak"]
    lines += [
        "",
        f"Peak: Poisson arrivals at {plan.peak_rate:.0f} administrations/s for "
        f"{plan.peak_seconds:.0f} s; the baseline at {plan.peak_rate * 2:.0f} requests/s "
        "(the same request rate), ms",
        "",
        "| what | n | p50 | p99 | max |",
        "|---|--:|--:|--:|--:|",
    ]
    for label, key in (
        ("**administration** (arrival → record answered)", "administration"),
        ("check", "check"),
        ("record", "record"),
        ("baseline", "baseline"),
    ):
        row = peak[key]
        lines.append(
            f"| {label} | {row['n']} | {_f(row['p50_ms'], 2)} | {_f(row['p99_ms'], 2)} "
            f"| {_f(row['max_ms'], 2)} |"
        )
    lines.append(
        f"\nAchieved: {_f(peak['administrations_per_s'])} administrations/s; errors: "
        f"{_errors(peak)}."
    )

    half = results["half_capacity"]
    lines += [
        "",
        f"Open loop at half the capacity measured at {plan.capacity_carts} carts "
        f"({half['rate']:.1f} administrations/s, {plan.peak_seconds / 2:.0f} s; not a target): "
        f"administration p50 {_f(half['administration']['p50_ms'], 2)} ms, p99 "
        f"{_f(half['administration']['p99_ms'], 2)} ms, errors {_errors(half)}.",
    ]

    database = results["database"]
    lines += [
        "",
        f"Database afterwards: {database['records']} records by the carts for "
        f"{database['acknowledged']} answers 201 and {database['unanswered']} records whose "
        f"answer the client gave up on ({'consistent' if database['records_match_201s'] else 'INCONSISTENT'}); "
        "doses recorded twice: "
        f"{database['doses_recorded_twice']}; serials recorded twice: "
        f"{database['serials_recorded_twice']}; records whose dose is not marked given: "
        f"{database['records_on_a_dose_not_given']}.",
    ]
    if results.get("queries"):
        q = results["queries"]
        lines.append(
            f"Queries per request: check {q['check']}, record {q['record']}, baseline "
            f"{q['baseline']}."
        )

    samples = [s for mode in ("service", "peak") for s in results[mode]["error_samples"]] + [
        s for row in results["levels"].values() for s in row["error_samples"]
    ]
    if samples:
        lines += ["", "First errors:", *(f"- {s}" for s in samples[:10])]

    t = results["targets"]
    lines += [
        "",
        "Targets",
        "",
        f"- {mark(t['service_p50']['pass'])} service time, check + record p50 "
        f"{_f(t['service_p50']['value'], 2)} ms (≤ {TARGET_SERVICE_P50_MS:.0f} ms)",
        f"- {mark(t['service_p99']['pass'])} service time, check + record p99 "
        f"{_f(t['service_p99']['value'], 2)} ms (≤ {TARGET_SERVICE_P99_MS:.0f} ms)",
        f"- {mark(t['capacity_ratio']['pass'])} capacity at {plan.capacity_carts} carts "
        f"{t['capacity_ratio']['value'] * 100:.1f} % of the baseline's requests/s "
        f"(≥ {TARGET_CAPACITY_RATIO * 100:.0f} %)",
        f"- {mark(t['peak_p99']['pass'])} peak at {plan.peak_rate:.0f}/s, administration p99 "
        f"{_f(t['peak_p99']['value'], 2)} ms (≤ {TARGET_PEAK_P99_MS:.0f} ms)",
        f"- {mark(t['zero_errors']['pass'])} errors in every mode: {t['zero_errors']['value']}",
        f"- {mark(t['zero_double_records']['pass'])} double records in the database: "
        f"{t['zero_double_records']['value']}",
    ]
    if "profile" in results:
        p = results["profile"]
        lines += [
            "",
            f"Profile: {p['administrations']} administrations in this process, one at a time "
            f"(no HTTP): check {p['check_ms']:.2f} ms, of which SQL {p['check_sql_ms']:.2f} ms; "
            f"record {p['record_ms']:.2f} ms, of which SQL {p['record_sql_ms']:.2f} ms. "
            f"Where the time goes ({p['sampler']}, share of the wall time in the requests; "
            "rows overlap):",
            "",
            "| part | share |",
            "|---|--:|",
            *(f"| {label} | {share:.1f} % |" for label, share in p["shares"]),
        ]
    return "\n".join(lines)


def per_app_core(results: dict) -> str:
    """Capacity as app cores grow: administrations/s ÷ the CPUs the app servers may use."""
    tier = results["app_tier"]
    cores = tier["app_cores"]
    how = "pinned" if tier["pinned"] else "shared with PostgreSQL, HAProxy and the client"
    lines = [
        "",
        f"{tier['servers']} app servers × {tier['workers_per_server']} workers behind HAProxy, "
        f"{cores} app cores ({how})",
        "",
        "| carts | administrations/s | per app core |",
        "|--:|--:|--:|",
    ]
    for carts, row in results["levels"].items():
        rate = row["administrations_per_s"] or 0
        lines.append(f"| {carts} | {rate:.1f} | {rate / cores:.1f} |")
    return "\n".join(lines)


def chart(results: dict, path: Path) -> None:
    levels = sorted(results["levels"])
    rows = [results["levels"][c] for c in levels]
    _common.svg_line_chart(
        path,
        title="Check + record latency vs concurrent carts (closed loop)",
        x_label="carts",
        y_label="ms",
        x_ticks=[(c, str(c)) for c in levels],
        log_x=True,
        series=[
            Series(
                "administration p50",
                [(c, r["administration"]["p50_ms"]) for c, r in zip(levels, rows, strict=True)],
                "#1f77b4",
            ),
            Series(
                "administration p99",
                [(c, r["administration"]["p99_ms"]) for c, r in zip(levels, rows, strict=True)],
                "#1f77b4",
                dashed=True,
            ),
            Series(
                "baseline p50",
                [(c, r["baseline"]["p50_ms"]) for c, r in zip(levels, rows, strict=True)],
                "#2ca02c",
            ),
            Series(
                "baseline p99",
                [(c, r["baseline"]["p99_ms"]) for c, r in zip(levels, rows, strict=True)],
                "#2ca02c",
                dashed=True,
            ),
        ],
        notes=[
            "administrations/s:",
            *(
                f"{c} carts: {r['administrations_per_s']:.0f}"
                for c, r in zip(levels, rows, strict=True)
            ),
            "baseline requests/s:",
            *(f"{c} clients: {r['baseline_per_s']:.0f}" for c, r in zip(levels, rows, strict=True)),
        ],
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.administer", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--workers", type=int, default=None, help="gunicorn sync workers")
    parser.add_argument("--database", default="bench_administer", help="dropped and recreated")
    parser.add_argument("--conn-max-age", type=int, default=600, help="DATABASE_CONN_MAX_AGE")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--chart", type=Path, default=None, help="the latency-vs-carts SVG")
    parser.add_argument("--profile", type=int, default=0, help="then profile N in-process")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--smoke", action="store_true", help="a tiny hospital, seconds")
    parser.add_argument(
        "--app-servers",
        type=int,
        default=0,
        help="N gunicorn instances (--workers each) behind HAProxy (deploy/); 0: one, direct",
    )
    parser.add_argument(
        "--cpus-per-server", type=int, default=0, help="pin each app server to this many CPUs"
    )
    args = parser.parse_args(argv)
    plan = SMOKE if args.smoke else FULL
    if args.workers:
        plan = replace(plan, workers=args.workers)
    started = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f} s] {message}", file=sys.stderr, flush=True)

    load_before = _common.load_average()
    server = _common.server_url()
    db_url = _common.recreate_database(server, args.database)
    try:
        _common.django_setup(db_url)
        _common.migrate()
        log(f"migrated {args.database}")
        hospital = _common.hospital_generate(plan.spec)
        _common.analyze()
        log(
            f"hospital: {len(hospital.wards)} wards, {len(hospital.patients)} patients, "
            f"{len(hospital.patients) * len(hospital.medicines)} doses due now"
        )
        from django.db import connection

        connection.close()
        with tempfile.TemporaryDirectory(prefix="bench-gunicorn-") as scratch:
            log_path = Path(scratch) / "gunicorn.log"
            try:
                if args.app_servers:
                    tier = cluster.app_tier(
                        db_url,
                        servers=args.app_servers,
                        workers=plan.workers,
                        cpus_per_server=args.cpus_per_server,
                        log=log,
                        env={"DATABASE_CONN_MAX_AGE": str(args.conn_max_age)},
                    )
                    with tier as (port, app_cores):
                        results = asyncio.run(drive(port, hospital, plan, log))
                    results["app_tier"] = {
                        "servers": args.app_servers,
                        "workers_per_server": plan.workers,
                        "app_cores": app_cores,
                        "pinned": bool(args.cpus_per_server),
                    }
                else:
                    with gunicorn(
                        db_url, workers=plan.workers, conn_max_age=args.conn_max_age, log=log_path
                    ) as port:
                        log(f"gunicorn: {plan.workers} sync workers on 127.0.0.1:{port}")
                        results = asyncio.run(drive(port, hospital, plan, log))
            finally:
                server_log = log_path.read_text(errors="replace") if log_path.exists() else ""
        results["gunicorn_log_tail"] = server_log[-2000:]
        results["database"] = verify(results["acknowledged"], results["records_unanswered"])
        results["queries"] = query_counts(hospital)
        if args.profile:
            log(f"profiling {args.profile} administrations in-process")
            results["profile"] = profile(hospital, args.profile)
        results["targets"] = targets(results, plan)
        results["machine"] = _common.machine()
        results["plan"] = {
            **asdict(plan),
            "patients": len(hospital.patients),
            "doses_due": len(hospital.patients) * len(hospital.medicines),
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
        f"{len(hospital.wards)} wards × {plan.spec.beds_per_ward} beds, "
        f"{plan.spec.orders_per_patient} orders per patient, gunicorn {plan.workers} sync workers"
    )
    print()
    print(render(results, plan))
    if "app_tier" in results:
        print(per_app_core(results))
    print(f"\n{results['seconds']:.0f} s")
    if not args.smoke or args.chart:
        chart(results, args.chart or CHARTS_DIR / "administer-carts.svg")
    if args.json is not None:
        args.json.write_text(
            json.dumps(results, indent=1, ensure_ascii=False, default=str) + "\n",
            encoding="utf-8",
        )
    # A missed latency or error target is a figure to report; a dose recorded twice is a failure.
    return 0 if results["targets"]["zero_double_records"]["pass"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
