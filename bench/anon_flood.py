"""A nurse's check while strangers flood the login endpoint, with production PIN hashing.

    .venv/bin/python -m bench.anon_flood [--flooders N] [--checks N] [--workers N] [--json FILE]
                                         [--smoke]

The benchmark makes its own database (`bench_anon_flood`), a small hospital, and starts gunicorn
(sync workers, `bench.settings` with `BENCH_PRODUCTION_HASHERS=1`: Django's default PBKDF2 for PINs,
as in production; one proxy trusted, so that the timing probe can come from many addresses). A
nurse's cart logs in; then, on 127.0.0.1:

1. idle: the nurse's cart checks a dose (`scan/check/`) again and again, one at a time;
2. flood: the same, while `--flooders` anonymous clients post to `auth/badge/` as fast as the
   server answers, each from its own address (X-Forwarded-For), with a CSRF token, cycling through
   real badges with wrong PINs, unknown badges, a badge image (9 MP once decoded) and a 2 MB body.
   Each stranger is a process of its own at nice 19: an attacker's CPU is his own, and on this
   one machine the clients would otherwise take the server's. The checks of the flood's first
   seconds (each new address spends its free failures, one PIN hash at a time in the deployment)
   are reported apart from those of the sustained flood (every address delayed);
3. timing: wrong PINs on real badges and any PIN on unknown badges, interleaved, each from a fresh
   address (so that no delay applies): the answer's time should not tell them apart.

Reported: the check's p50 and p95 idle and under the flood, their ratio (DESIGN.md section 8: at
most 1.5), what the flood was answered (by status), how many PIN hashes the flood could make the
server run, and the login timings. Every loop is bounded in count and in time; traffic goes to
127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from bench import _common
from bench._common import HospitalSpec, mark, percentile
from bench.administer import CSRF, badge_login, gunicorn, http_post

CHECK_PATH = "/api/v1/scan/check/"
LOGIN_PATH = "/api/v1/auth/badge/"
TARGET_RATIO = 1.5


@dataclass(frozen=True)
class Plan:
    spec: HospitalSpec
    workers: int
    flooders: int
    checks: int  # checks idle, and again under the flood
    timing_probes: int  # of each kind (real badge, unknown badge)
    flood_seconds_max: float


FULL = Plan(
    spec=HospitalSpec(wards=2, beds_per_ward=20, orders_per_patient=4, nurses=8),
    workers=4,
    flooders=3,
    checks=300,
    timing_probes=20,
    flood_seconds_max=120,
)
SMOKE = Plan(
    spec=HospitalSpec(wards=1, beds_per_ward=4, orders_per_patient=2, nurses=3),
    workers=2,
    flooders=2,
    checks=20,
    timing_probes=3,
    flood_seconds_max=30,
)


def _badge_image() -> str:
    """A PNG that is small on the wire and 9 megapixels once decoded."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (3000, 3000)).save(buffer, "PNG", optimize=True)
    return base64.b64encode(buffer.getvalue()).decode()


def _unknown_badge(n: int) -> str:
    import gs1

    return gs1.make_gsrn(f"95299900{n:09d}")


def flood_bodies(hospital) -> list[bytes]:
    """What the strangers send, in turn: printed badges with wrong PINs, badges nobody has, an
    image to decode, and a body far over the anonymous limit."""
    real = [nurse.badge for nurse in hospital.nurses]
    bodies = [
        json.dumps({"badge": {"code": f"]C18017{badge}"}, "pin": "000000", "ward": "W01"})
        for badge in real
    ]
    bodies += [
        json.dumps({"badge": {"code": f"]C18017{_unknown_badge(n)}"}, "pin": "000000"})
        for n in range(len(real))
    ]
    bodies.append(json.dumps({"badge": {"image": _badge_image()}, "pin": "000000"}))
    bodies.append(json.dumps({"badge": {"code": "x" * (2 * 1024 * 1024)}, "pin": "000000"}))
    return [body.encode() for body in bodies]


def _csrf_headers(address: str) -> dict[str, str]:
    return {
        "Cookie": f"csrftoken={CSRF}",
        "X-CSRFToken": CSRF,
        "X-Forwarded-For": address,
    }


async def _checks(port: int, session: str, body: bytes, count: int, seconds: float) -> list[float]:
    headers = {"Cookie": f"sessionid={session}; csrftoken={CSRF}", "X-CSRFToken": CSRF}
    times = []
    deadline = time.monotonic() + seconds
    for _ in range(count):
        if time.monotonic() > deadline:
            break
        reply = await http_post(port, CHECK_PATH, body, headers)
        if reply.status != 200:
            raise RuntimeError(f"check: HTTP {reply.status} {reply.body[:300]!r}")
        times.append(reply.seconds)
    return times


async def _flooder(port: int, index: int, bodies: list[bytes], stop, last_hashed) -> Counter:
    """One stranger: posts the bodies in turn as fast as the server answers, until `stop`."""
    headers = _csrf_headers(f"10.66.0.{index + 1}")
    answers: Counter = Counter()
    n = index
    while not stop.is_set():
        body = bodies[n % len(bodies)]
        n += 1
        try:
            reply = await http_post(port, LOGIN_PATH, body, headers)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
            answers["no answer"] += 1
            continue
        code = ""
        if reply.body.startswith(b"{"):
            code = json.loads(reply.body).get("error", {}).get("code", "")
        answers[f"{reply.status} {code}".strip()] += 1
        if code in ("BADGE_LOGIN_FAILED", "LOGIN_BUSY"):
            last_hashed.value = time.monotonic()
    return answers


def _flood_process(port, index, bodies, stop, last_hashed, results) -> None:
    """Each stranger in a process of its own, as an attacker's machine would be, so that the
    flood does not slow the nurse's client (its own event loop) rather than the server; and at
    the lowest CPU priority, because an attacker's own CPU is not the server's (on this one
    machine it would be: what is measured is what the server spends on the flood)."""
    os.nice(19)
    results.put(asyncio.run(_flooder(port, index, bodies, stop, last_hashed)))


async def drive(port: int, session: str, check_body: bytes, hospital, plan: Plan, log) -> dict:
    log(f"idle: {plan.checks} checks")
    await _checks(port, session, check_body, 10, 30)  # warm every worker's connection
    idle = await _checks(port, session, check_body, plan.checks, plan.flood_seconds_max)

    log(f"flood: {plan.flooders} anonymous clients on {LOGIN_PATH}")
    bodies = flood_bodies(hospital)
    context = multiprocessing.get_context("spawn")
    stop, results = context.Event(), context.Queue()
    last_hashed = context.Value("d", time.monotonic())
    flooders = [
        context.Process(
            target=_flood_process, args=(port, i, bodies, stop, last_hashed, results), daemon=True
        )
        for i in range(plan.flooders)
    ]
    for flooder in flooders:
        flooder.start()
    started = time.perf_counter()
    try:
        # The burst: each new source's free failures, each one a PIN hash (one at a time in the
        # deployment). Checks run meanwhile; it ends when no attempt has reached a hash for 3 s.
        burst: list[float] = []
        deadline = time.monotonic() + plan.flood_seconds_max
        while time.monotonic() < deadline and time.monotonic() - last_hashed.value < 3.0:
            burst += await _checks(port, session, check_body, 1, 30)
        burst_seconds = time.perf_counter() - started
        log(f"burst over after {burst_seconds:.1f} s; sustained flood: {plan.checks} checks")
        flooded = await _checks(port, session, check_body, plan.checks, plan.flood_seconds_max)
    finally:
        stop.set()
        answers: Counter = Counter()
        for _flooder_process in flooders:
            answers.update(results.get(timeout=60))
        for flooder in flooders:
            flooder.join(timeout=30)
            if flooder.is_alive():
                flooder.kill()
    flood_seconds = time.perf_counter() - started

    log(f"timing: {plan.timing_probes} wrong PINs on real badges, as many unknown badges")
    timing: dict[str, list[float]] = {"real badge, wrong PIN": [], "unknown badge": []}
    for n in range(plan.timing_probes):
        for kind, badge in (
            ("real badge, wrong PIN", hospital.nurses[n % len(hospital.nurses)].badge),
            ("unknown badge", _unknown_badge(1000 + n)),
        ):
            body = json.dumps({"badge": {"code": f"]C18017{badge}"}, "pin": "000000"}).encode()
            address = f"10.{77 if kind == 'unknown badge' else 78}.{n // 250}.{n % 250 + 1}"
            reply = await http_post(port, LOGIN_PATH, body, _csrf_headers(address))
            if reply.status != 401:
                raise RuntimeError(f"timing probe: HTTP {reply.status} {reply.body[:200]!r}")
            timing[kind].append(reply.seconds)
    return {
        "idle": _summary(idle),
        "burst": {**_summary(burst), "seconds": burst_seconds},
        "flood": {
            **_summary(flooded),
            "answers": dict(answers.most_common()),
            "requests": sum(answers.values()),
            "requests_per_s": sum(answers.values()) / flood_seconds,
        },
        "ratio_p50": statistics.median(flooded) / statistics.median(idle),
        "timing": {kind: _summary(values) for kind, values in timing.items()},
    }


def _summary(values: Sequence[float]) -> dict:
    return {
        "n": len(values),
        "p50_ms": percentile(values, 0.5) * 1000,
        "p95_ms": percentile(values, 0.95) * 1000,
        "mean_ms": statistics.fmean(values) * 1000 if values else float("nan"),
    }


def hashes_run() -> dict:
    """What the flood could make the server hash: the failures the throttle let through."""
    from hospital.models import LoginThrottle, SecurityEvent, ThrottleScope

    sources = LoginThrottle.objects.filter(
        scope=ThrottleScope.SOURCE, source_ip__startswith="10.66."
    )
    return {
        "failures_counted_per_flooder": sorted(sources.values_list("failures", flat=True)),
        "alerts": SecurityEvent.objects.filter(source_ip__startswith="10.66.").count(),
    }


def render(results: dict, plan: Plan) -> str:
    idle, flood, timing = results["idle"], results["flood"], results["timing"]
    burst = results["burst"]
    lines = [
        "Nurse's check (scan/check/), one at a time",
        f"  idle:   p50 {idle['p50_ms']:.1f} ms, p95 {idle['p95_ms']:.1f} ms (n={idle['n']})",
        f"  burst:  p50 {burst['p50_ms']:.1f} ms, p95 {burst['p95_ms']:.1f} ms (n={burst['n']}; "
        f"the flood's first {burst['seconds']:.1f} s, while each new source spent its free "
        "failures, one PIN hash at a time)",
        f"  flood:  p50 {flood['p50_ms']:.1f} ms, p95 {flood['p95_ms']:.1f} ms (n={flood['n']}; "
        "sustained, every source delayed)",
        "",
        f"Flood: {plan.flooders} anonymous clients, {flood['requests']} requests "
        f"({flood['requests_per_s']:.0f}/s), answered:",
        *(f"  {count:6d}  {answer}" for answer, count in flood["answers"].items()),
        f"  failures counted per flooder (each at most one PIN hash): "
        f"{results['hashes']['failures_counted_per_flooder']}; alerts: {results['hashes']['alerts']}",
        "",
        "Login timing (401 either way)",
        *(
            f"  {kind:24s} p50 {t['p50_ms']:.1f} ms, mean {t['mean_ms']:.1f} ms (n={t['n']})"
            for kind, t in timing.items()
        ),
        "",
        "Targets",
        f"  check p50 under a sustained flood ≤ {TARGET_RATIO} × idle: {results['ratio_p50']:.2f} × "
        f"{mark(results['ratio_p50'] <= TARGET_RATIO)}",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.anon_flood", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--workers", type=int, default=None, help="gunicorn sync workers")
    parser.add_argument("--flooders", type=int, default=None, help="anonymous clients")
    parser.add_argument("--checks", type=int, default=None, help="checks idle and under the flood")
    parser.add_argument("--database", default="bench_anon_flood", help="dropped and recreated")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--smoke", action="store_true", help="a tiny hospital, seconds")
    args = parser.parse_args(argv)
    plan = SMOKE if args.smoke else FULL
    plan = Plan(
        **{
            **asdict(plan),
            "spec": plan.spec,
            "workers": args.workers or plan.workers,
            "flooders": args.flooders or plan.flooders,
            "checks": args.checks or plan.checks,
        }
    )
    started = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f} s] {message}", file=sys.stderr, flush=True)

    os.environ["BENCH_PRODUCTION_HASHERS"] = "1"
    os.environ["TRUSTED_PROXY_COUNT"] = "1"
    load_before = _common.load_average()
    server = _common.server_url()
    db_url = _common.recreate_database(server, args.database)
    try:
        _common.django_setup(db_url)
        _common.migrate()
        hospital = _common.hospital_generate(plan.spec)
        from django.contrib.auth.hashers import get_hasher
        from django.db import connection

        hasher = get_hasher().algorithm
        connection.close()
        patient = hospital.patients[0]
        check_body = json.dumps(
            {
                "patient": {"code": patient.wristband_scan},
                "medications": [{"code": _common.unit_scan(hospital.medicines[0], "FLOOD0001")}],
                "cart": "flood-bench",
            }
        ).encode()
        with tempfile.TemporaryDirectory(prefix="bench-gunicorn-") as scratch:
            log_path = Path(scratch) / "gunicorn.log"
            with gunicorn(db_url, workers=plan.workers, conn_max_age=600, log=log_path) as port:
                log(f"gunicorn: {plan.workers} sync workers on 127.0.0.1:{port}, PINs: {hasher}")
                session = badge_login(
                    port, hospital.nurses[0].badge, ward=patient.ward, cart="flood-bench"
                )
                results = asyncio.run(drive(port, session, check_body, hospital, plan, log))
        results["hashes"] = hashes_run()
        results["hasher"] = hasher
        results["machine"] = _common.machine()
        results["plan"] = asdict(plan)
        results["target_ratio"] = TARGET_RATIO
        results["seconds"] = time.perf_counter() - started
    finally:
        from django.db import connections

        connections.close_all()
        _common.drop_database(server, args.database)
    results["load_average"] = {"before": load_before, "after": _common.load_average()}
    print(_common.machine())
    print(f"PIN hasher: {results['hasher']}; gunicorn {plan.workers} sync workers")
    print(f"load average before: {load_before}; after: {results['load_average']['after']}")
    print()
    print(render(results, plan))
    print(f"\n{results['seconds']:.0f} s")
    if args.json is not None:
        args.json.write_text(
            json.dumps(results, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
