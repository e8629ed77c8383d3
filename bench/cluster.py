"""The province's deployment, on 127.0.0.1, for the benchmarks: etcd, PostgreSQL 15 nodes run by
Patroni (a primary and a streaming standby, each its own cluster with its own port and data
directory under a temporary directory), gunicorn app servers and HAProxy in front of them.

Each piece runs the configuration shipped in deploy/ (Patroni's bcma.yml, haproxy.cfg,
gunicorn.conf.py), changed only where a single machine needs it: addresses and ports, paths,
passwords, and Patroni's timings (a 10 s leader key rather than 30 s, so a failover fits in a
short run). Nothing here touches the system's PostgreSQL cluster on 5432: the bench clusters are
initdb'd by Patroni into the temporary directory, on ports of their own.

PostgreSQL refuses to run as root: when the bench runs as root (CI), Patroni and etcd run as the
`postgres` user. Everything started is stopped on the way out (`Deployment.close`), whatever
happened, and the temporary directory is removed.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bench._common import ROOT

DEPLOY = ROOT / "deploy"
PATRONI = "/usr/bin/patroni"
ETCD = "/usr/bin/etcd"
HAPROXY = "/usr/sbin/haproxy"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
DEBIAN_PACKAGES = {PATRONI: "patroni", ETCD: "etcd-server", HAPROXY: "haproxy"}

# A failover within a short run: the standby takes over once the dead primary's key has not been
# renewed for TTL seconds (deploy/patroni/bcma.yml ships 30/10/10).
TTL, LOOP_WAIT, RETRY_TIMEOUT = 10, 2, 3


class ClusterError(RuntimeError):
    """A piece of the deployment did not start or did not become ready in time."""


def missing_programs() -> list[str]:
    """The Debian packages this needs and lacks (CI installs them: .ci/run)."""
    needed = [*DEBIAN_PACKAGES, str(PG_BIN / "postgres")]
    return [DEBIAN_PACKAGES.get(p, "postgresql-15") for p in needed if not Path(p).exists()]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _http(url: str, *, method: str = "GET", body: dict | None = None, timeout: float = 2.0):
    """(status, parsed JSON or text); (0, error) when nothing answered."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - our own 127.0.0.1 services
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        raw, status = error.read(), error.code
    except (OSError, TimeoutError) as error:
        return 0, repr(error)
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def wait_for(what: str, ready: Callable[[], bool], *, seconds: float, every: float = 0.2) -> float:
    """Poll `ready` until it is true; the seconds it took. ClusterError after `seconds`."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if ready():
            return time.monotonic() - started
        time.sleep(every)
    raise ClusterError(f"{what}: not ready after {seconds:.0f} s")


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, chars: int = 1500) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def kill(self) -> None:
        """SIGKILL to its whole process group (it was started in a session of its own)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=10)

    def stop(self, seconds: float = 15.0) -> None:
        if not self.alive():
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            self.kill()


@dataclass
class DatabaseNode:
    name: str
    port: int
    api_port: int
    directory: Path
    process: Process | None = None

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    def role(self) -> str:
        """What Patroni's REST API says: "primary", "replica", or "down"."""
        status, body = _http(f"http://127.0.0.1:{self.api_port}/patroni")
        if status == 0 or not isinstance(body, dict):
            return "down"
        if body.get("state") != "running":
            return "down"
        return "primary" if body.get("role") in ("master", "primary") else "replica"

    def is_sync_standby(self) -> bool:
        return _http(f"http://127.0.0.1:{self.api_port}/sync")[0] == 200

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None


@dataclass
class Deployment:
    """Everything started, in the order to stop it in reverse."""

    scratch: Path
    superuser_password: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    etcd_port: int = 0
    nodes: list[DatabaseNode] = field(default_factory=list)
    processes: list[Process] = field(default_factory=list)
    app_servers: list[AppServer] = field(default_factory=list)
    haproxy_port: int = 0
    haproxy: Process | None = None
    log: Callable[[str], None] = print
    keep_logs: Path | None = None  # copy every log here before the scratch directory goes

    # ----------------------------------------------------------------------- plumbing

    def _start(
        self, name: str, command: list[str], *, as_postgres: bool, env=None, cwd=None, cpus=None
    ) -> Process:
        log = self.scratch / f"{name}.log"
        user = "postgres" if as_postgres and os.geteuid() == 0 else None
        with open(log, "ab") as out:
            popen = subprocess.Popen(  # noqa: S603 - Debian's programs, our arguments
                command,
                cwd=cwd or self.scratch,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                user=user,
                preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
                env=env if env is not None else _plain_env(),
            )
        if user:
            with contextlib.suppress(OSError):
                shutil.chown(log, user=user)
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    def _owned_dir(self, name: str) -> Path:
        path = self.scratch / name
        path.mkdir(mode=0o700)
        if os.geteuid() == 0:
            shutil.chown(path, user="postgres", group="postgres")
        return path

    # ----------------------------------------------------------------------- etcd

    def start_etcd(self) -> None:
        self.etcd_port, peer = free_port(), free_port()
        directory = self._owned_dir("etcd")
        process = self._start(
            "etcd",
            [
                ETCD,
                "--name=bench",
                f"--data-dir={directory / 'data'}",
                f"--listen-client-urls=http://127.0.0.1:{self.etcd_port}",
                f"--advertise-client-urls=http://127.0.0.1:{self.etcd_port}",
                f"--listen-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-cluster=bench=http://127.0.0.1:{peer}",
                "--initial-cluster-state=new",
                "--log-level=warn",
            ],
            as_postgres=True,
        )

        def healthy() -> bool:
            if not process.alive():
                raise ClusterError(f"etcd exited:\n{process.tail()}")
            status, body = _http(f"http://127.0.0.1:{self.etcd_port}/health")
            return status == 200 and isinstance(body, dict) and body.get("health") == "true"

        took = wait_for("etcd", healthy, seconds=30)
        self.log(f"etcd on 127.0.0.1:{self.etcd_port} ({took:.1f} s)")

    # ----------------------------------------------------------------------- PostgreSQL

    def patroni_config(self, node: DatabaseNode, *, synchronous: bool) -> dict:
        """deploy/patroni/bcma.yml for this node on 127.0.0.1."""
        config = yaml.safe_load((DEPLOY / "patroni" / "bcma.yml").read_text(encoding="utf-8"))
        config["scope"] = "bcma-bench"
        config["name"] = node.name
        config["restapi"] = {
            "listen": f"127.0.0.1:{node.api_port}",
            "connect_address": f"127.0.0.1:{node.api_port}",
        }
        config["etcd3"] = {"hosts": f"127.0.0.1:{self.etcd_port}"}
        dcs = config["bootstrap"]["dcs"]
        dcs.update(ttl=TTL, loop_wait=LOOP_WAIT, retry_timeout=RETRY_TIMEOUT)
        dcs["synchronous_mode"] = synchronous
        archive = self.scratch / "wal-archive"
        dcs["postgresql"]["parameters"]["archive_command"] = (
            f"test ! -f {archive}/%f && cp %p {archive}/%f"
        )
        config["bootstrap"]["pg_hba"] = [
            "local all all trust",
            "host replication replicator 127.0.0.1/32 scram-sha-256",
            "host all all 127.0.0.1/32 scram-sha-256",
        ]
        postgresql = config["postgresql"]
        postgresql.update(
            listen=f"127.0.0.1:{node.port}",
            connect_address=f"127.0.0.1:{node.port}",
            data_dir=str(node.data_dir),
            bin_dir=str(PG_BIN),
            pgpass=str(node.directory / "pgpass"),
        )
        postgresql["authentication"]["superuser"]["password"] = self.superuser_password
        for role in ("replication", "rewind"):
            postgresql["authentication"][role]["password"] = secrets.token_urlsafe(16)
        # A bench machine, not a database server: the shipped memory settings would not fit.
        postgresql["parameters"] = {
            "unix_socket_directories": str(node.directory),
            "shared_buffers": "128MB",
            "effective_cache_size": "512MB",
        }
        return config

    def start_node(self, *, synchronous: bool) -> DatabaseNode:
        if not (self.scratch / "wal-archive").exists():
            self._owned_dir("wal-archive")
        name = f"db{len(self.nodes) + 1}"
        node = DatabaseNode(name, free_port(), free_port(), self._owned_dir(name))
        config_path = node.directory / "patroni.yml"
        config_path.write_text(yaml.safe_dump(self.patroni_config(node, synchronous=synchronous)))
        if os.geteuid() == 0:
            shutil.chown(config_path, user="postgres", group="postgres")
        config_path.chmod(0o600)
        node.process = self._start(f"patroni-{name}", [PATRONI, str(config_path)], as_postgres=True)
        self.nodes.append(node)
        return node

    def wait_role(self, node: DatabaseNode, role: str, *, seconds: float = 90) -> float:
        def ready() -> bool:
            if node.process is not None and not node.process.alive():
                raise ClusterError(f"Patroni {node.name} exited:\n{node.process.tail()}")
            return node.role() == role

        return wait_for(f"{node.name} as {role}", ready, seconds=seconds)

    def wait_sync_standby(self, node: DatabaseNode, *, seconds: float = 60) -> float:
        return wait_for(
            f"{node.name} as synchronous standby", node.is_sync_standby, seconds=seconds
        )

    def primary(self) -> DatabaseNode | None:
        return next((n for n in self.nodes if n.role() == "primary"), None)

    def set_synchronous(self, on: bool) -> None:
        """Patroni's dynamic configuration (what `patronictl edit-config` changes)."""
        node = self.primary()
        if node is None:
            raise ClusterError("no primary to configure")
        status, body = _http(
            f"http://127.0.0.1:{node.api_port}/config",
            method="PATCH",
            body={"synchronous_mode": on},
        )
        if status != 200:
            raise ClusterError(f"PATCH /config: {status} {body}")

    def kill_node(self, node: DatabaseNode) -> None:
        """The machine dies: Patroni and PostgreSQL (postmaster and every backend) get SIGKILL."""
        pid = node.postmaster_pid()
        if node.process is not None:
            node.process.kill()
        if pid:
            _kill_postgres(pid)

    def url(self, database: str, *, attrs: str = "read-write", nodes=None) -> str:
        """A URL naming every node (libpq multi-host), as an app server is configured."""
        hosts = ",".join(f"127.0.0.1:{n.port}" for n in (nodes or self.nodes))
        return (
            f"postgres://postgres:{self.superuser_password}@{hosts}/{database}"
            f"?target_session_attrs={attrs}&connect_timeout=3"
        )

    # ----------------------------------------------------------------------- app servers

    def start_app_servers(
        self, count: int, *, env: dict[str, str], workers: int, cpus: list[set[int]] | None = None
    ) -> None:
        """`count` gunicorn instances; with `cpus`, instance i runs on the CPUs cpus[i] only."""
        for index in range(count):
            port = free_port()
            pinned = cpus[index] if cpus else None
            process = self._start(
                f"gunicorn-app{index + 1}",
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-c",
                    str(DEPLOY / "gunicorn" / "gunicorn.conf.py"),
                    "hospital.wsgi:application",
                ],
                as_postgres=False,
                cwd=ROOT,
                env={
                    **os.environ,
                    **env,
                    "GUNICORN_BIND": f"127.0.0.1:{port}",
                    "GUNICORN_WORKERS": str(workers),
                    "GUNICORN_ERROR_LOG": "-",
                },
                cpus=pinned,
            )
            self.app_servers.append(AppServer(f"app{index + 1}", port, process))
        for server in self.app_servers:

            def up(server=server) -> bool:
                if not server.process.alive():
                    raise ClusterError(f"{server.name} exited:\n{server.process.tail()}")
                return _http(f"http://127.0.0.1:{server.port}/healthz")[0] == 200

            wait_for(f"gunicorn {server.name}", up, seconds=90)
        self.log(
            f"{count} app servers × {workers} sync workers on "
            + ", ".join(f"127.0.0.1:{s.port}" for s in self.app_servers)
        )

    def start_haproxy(self) -> int:
        """deploy/haproxy/haproxy.cfg in front of the app servers; its port."""
        self.haproxy_port = free_port()
        path = self.scratch / "haproxy.cfg"
        path.write_text(haproxy_config(self.haproxy_port, self.app_servers), encoding="utf-8")
        check = subprocess.run(  # noqa: S603 - Debian's haproxy on our file
            [HAPROXY, "-c", "-q", "-f", str(path)], capture_output=True, text=True, check=False
        )
        if check.returncode != 0:
            raise ClusterError(f"haproxy -c: {check.stdout}{check.stderr}")
        self.haproxy = self._start("haproxy", [HAPROXY, "-db", "-f", str(path)], as_postgres=False)
        wait_for(
            "haproxy",
            lambda: _http(f"http://127.0.0.1:{self.haproxy_port}/healthz")[0] == 200,
            seconds=30,
        )
        self.log(f"HAProxy on 127.0.0.1:{self.haproxy_port}")
        return self.haproxy_port

    # ----------------------------------------------------------------------- the end

    def close(self) -> None:
        for server in self.app_servers:
            server.process.stop()
        for process in reversed(self.processes):
            process.stop()
        for node in self.nodes:
            # Patroni stops PostgreSQL on SIGTERM; a killed Patroni leaves it to us.
            pid = node.postmaster_pid()
            if pid:
                _kill_postgres(pid)
        if self.keep_logs is not None:
            self.keep_logs.mkdir(parents=True, exist_ok=True)
            for log in self.scratch.glob("*.log"):
                shutil.copy(log, self.keep_logs / log.name)
        shutil.rmtree(self.scratch, ignore_errors=True)


@dataclass
class AppServer:
    name: str
    port: int
    process: Process


def _kill_postgres(postmaster: int) -> None:
    """SIGKILL to a postmaster and its backends. Patroni starts it in a session of its own (led by
    a helper that has exited), so the group is found from the postmaster, not assumed."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(os.getpgid(postmaster), signal.SIGKILL)


def _plain_env() -> dict[str, str]:
    """Debian's Patroni and etcd with the system's Python and nothing of our virtualenv."""
    keep = ("LANG", "LC_ALL", "TZ")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin"
    env["HOME"] = pwd.getpwnam("postgres").pw_dir if os.geteuid() == 0 else os.environ["HOME"]
    env.setdefault("LANG", "C.UTF-8")
    return env


def haproxy_config(port: int, servers: list[AppServer]) -> str:
    """deploy/haproxy/haproxy.cfg with a foreground `global`, one plain bind on 127.0.0.1 and our
    servers; the error files from deploy/; everything else as shipped."""
    shipped = (DEPLOY / "haproxy" / "haproxy.cfg").read_text(encoding="utf-8")
    errors = DEPLOY / "haproxy" / "errors"
    out = ["global", "    maxconn 4000", "    log stdout format raw local0", ""]
    section = None
    bound = servers_written = False
    for line in shipped.splitlines():
        if line and not line[0].isspace() and not line.startswith("#"):
            section = line.split()[0]
        if section == "global" or line.lstrip().startswith("#"):
            continue
        stripped = line.strip()
        if stripped.startswith("bind "):
            if not bound:
                out.append(f"    bind 127.0.0.1:{port}")
                bound = True
            continue
        if stripped.startswith("http-request redirect scheme https"):
            continue  # plain HTTP on 127.0.0.1
        if stripped.startswith("server "):
            if not servers_written:
                out += [f"    server {s.name} 127.0.0.1:{s.port}" for s in servers]
                servers_written = True
            continue
        line = re.sub(r"/etc/haproxy/errors/", f"{errors}/", line)
        out.append(line)
    return "\n".join(out) + "\n"


@contextlib.contextmanager
def deployment(
    log: Callable[[str], None], *, need_database: bool = True, keep_logs: Path | None = None
) -> Iterator[Deployment]:
    """A scratch directory for a Deployment, removed (and everything stopped) on the way out."""
    missing = missing_programs()
    if not need_database:
        missing = [package for package in missing if package == DEBIAN_PACKAGES[HAPROXY]]
    if missing:
        raise ClusterError(
            "missing Debian packages: apt-get install --no-install-recommends " + " ".join(missing)
        )
    scratch = Path(tempfile.mkdtemp(prefix="bcma-province-"))
    scratch.chmod(0o755)
    built = Deployment(scratch=scratch, log=log, keep_logs=keep_logs)
    try:
        yield built
    finally:
        built.close()


@contextlib.contextmanager
def app_tier(
    db_url: str,
    *,
    servers: int,
    workers: int,
    cpus_per_server: int,
    log: Callable[[str], None],
    env: dict[str, str] | None = None,
) -> Iterator[tuple[int, int]]:
    """`servers` gunicorn instances behind HAProxy on the database at `db_url`; yields HAProxy's
    port and the number of CPUs the app servers may use (pinned: servers × cpus_per_server;
    else every CPU of the machine, which they share with PostgreSQL and the client)."""
    cpus = None
    if cpus_per_server:
        available = sorted(os.sched_getaffinity(0))
        if servers * cpus_per_server > len(available):
            raise ClusterError(
                f"{servers} servers × {cpus_per_server} CPUs: only {len(available)} CPUs here"
            )
        cpus = [
            set(available[i * cpus_per_server : (i + 1) * cpus_per_server]) for i in range(servers)
        ]
    with deployment(log, need_database=False) as built:
        built.start_app_servers(
            servers,
            workers=workers,
            cpus=cpus,
            env={
                "DJANGO_SETTINGS_MODULE": "bench.settings",
                "DATABASE_URL": db_url,
                **(env or {}),
            },
        )
        port = built.start_haproxy()
        yield port, servers * cpus_per_server if cpus else (os.cpu_count() or 1)
