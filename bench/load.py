#!/usr/bin/env python3
"""HTTP load harness for Tokener: throughput, latency, CPU and memory per storage mode.

    python3 bench/load.py [--modes embedded,mongodb] [--duration 10] [--out bench/results] [--quick]
                          [--token-format biscuit|jwt]

For each mode it starts what the mode needs and the release binary (`target/release/tokener
serve`, built when missing), then drives three scenarios, each on a freshly started service:

    token       POST /token               HTTP Basic, empty body
    oauth2      POST /oauth2/token        HTTP Basic, form grant_type=client_credentials
    introspect  POST /oauth2/introspect   HTTP Basic, form token=<a token issued first>

Per scenario: a short warm-up, a fixed-concurrency run (`--concurrency`, default 32) that finds
the peak throughput, then fixed-rate runs at 25 %, 50 % and 75 % of that peak (latency against
throughput). Every run records requests/s, p50/p90/p99/max latency, errors (non-2xx responses
plus transport errors), the service's CPU-seconds per 1,000 requests (utime+stime from
/proc/<pid>/stat), its peak RSS (VmHWM), the load generator's own CPU and the machine's other CPU
use during the run (what else ran: a sign of perturbed numbers).

Modes:
    embedded     the in-memory store (no TOKENER_MONGODB_URI)
    mongodb      write-through to a MongoDB-wire server: the FerretDB that
                 `scripts/test-services.sh start` builds and runs; a fresh database per run
                 and scenario;
                 after each token scenario the `tokens` documents are counted against the number
                 of tokens issued (needs pymongo, from bench/requirements.txt; installed on use)
    writebehind  MongoDB + TOKENER_REDIS_URL (Redis cache and write-behind queue), the Redis of
                 the tests; with --sustain, 60 s fixed-rate token runs that read the worker's lag
                 from Redis the moment each ends
    cluster      MongoDB + TOKENER_REDIS_CLUSTER_URLS: the same on the tests' Redis Cluster
                 (3 primaries, 3 replicas on this machine), the queue in 16 partitions; for the
                 cluster-versus-single comparison (the six nodes' CPU is not broken out)

Load generator: `oha` (found on PATH or in target/tools/bin, else installed there with
`cargo install oha --locked --root target/tools`, a few minutes), else `wrk` (fixed concurrency
only: the fixed-rate runs are skipped, and the results say so).

--token-format jwt gives the bootstrap client JWT access tokens (ES256) instead of Biscuits
(TOKENER_BOOTSTRAP_CLIENT_TOKEN_FORMAT), in every mode and scenario; the first token of each
scenario is checked to be in that format, and the results name it.

--binary PATH measures a given build as it is (an older commit's, for a before/after).
--profile records a CPU profile (`perf`, cpu-clock samples) of the service and the database
servers during an extra peak-like run of the token scenario (in no table),
into <out>/profiles/<mode>-token-peak-<program>.txt:
the functions each program spends its samples in, so a bound set by FerretDB or Redis on this
machine shows where.

Before each scenario's first run the harness waits until the database servers have been idle
for two seconds (a restarted FerretDB keeps working on its files for a while).

Writes <out>/results.json (machine, versions, every run), <out>/results.md (a table per mode) and
<out>/latency.svg (p99 latency against achieved throughput, one line per mode and scenario);
load-generator output and service logs go to <out>/raw/.

Run time: about modes x 3 scenarios x (warm-up + 4 points x --duration) plus start-up; with the
defaults (10 s points, 2 s warm-up) about 2.3 minutes per mode, about 5 minutes for
embedded,mongodb (plus the first build of the binary, oha or FerretDB, and any wait for a quiet
machine). --quick: 3 s points, 1 s warm-up, about 40 s per mode.

The load generator runs on the same machine as the service (and, in mongodb mode, FerretDB), so
on a small machine they compete for the same cores: read the CPU columns with that in mind.
Before starting, the harness waits (up to --load-wait seconds) for the 1-minute load average to
fall to --max-load, so that a concurrent build does not skew the numbers; it records the load.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import math
import os
import platform
import re
import resource
import secrets
import shlex
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parent.parent
TOOLS_ROOT = REPO / "target" / "tools"
BINARY = REPO / "target" / "release" / "tokener"
CLK_TCK = os.sysconf("SC_CLK_TCK")

CLIENT_ID = "bench"
CLIENT_SCOPES = "orders:read orders:write"
CLIENT_AUDIENCES = "orders"
TOKEN_FORMATS = ("biscuit", "jwt")
RATE_FRACTIONS = (0.25, 0.50, 0.75)


def log(message: str) -> None:
    print(f"[load {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Skip(Exception):
    """A mode that cannot run here; the harness goes on with the others."""


# --- utilities -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def random_secret(n: int = 40) -> str:
    alphabet = string.ascii_letters + string.digits + "_-"
    return "".join(secrets.choice(alphabet) for _ in range(n))


def read_text(path: Path | str) -> str | None:
    try:
        return Path(path).read_text()
    except OSError:
        return None


def proc_cpu_seconds(pid: int | None) -> float | None:
    """utime + stime of a process, in seconds (None when it cannot be read)."""
    if pid is None:
        return None
    text = read_text(f"/proc/{pid}/stat")
    if text is None:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    fields = text[text.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_status_kib(pid: int, key: str) -> int | None:
    text = read_text(f"/proc/{pid}/status")
    if text is None:
        return None
    m = re.search(rf"^{key}:\s+(\d+)\s+kB", text, re.M)
    return int(m.group(1)) if m else None


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU-seconds of the whole machine since boot, from /proc/stat."""
    first = (read_text("/proc/stat") or "").splitlines()[0].split()
    values = [int(v) for v in first[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    total = sum(values[:8])  # guest time is already counted in user/nice
    return (total - idle) / CLK_TCK, total / CLK_TCK


def process_cpu_table() -> dict[int, tuple[str, float]]:
    """{pid: (command name, CPU-seconds)} of every process that can be read."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        text = read_text(f"/proc/{entry.name}/stat")
        if not text or ")" not in text:
            continue
        comm = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        table[int(entry.name)] = (comm, (int(fields[11]) + int(fields[12])) / CLK_TCK)
    return table


def busiest_others(before: dict, after: dict, exclude: set[int], limit: int = 3) -> dict[str, float]:
    """CPU-seconds used between two process tables by other programs, by command name."""
    used: dict[str, float] = {}
    for pid, (comm, cpu) in after.items():
        if pid in exclude:
            continue
        prev = before.get(pid)
        # A kernel worker renames itself after its current work queue: same pid, same process.
        # A pid whose CPU went down was reused by a new process.
        delta = cpu - prev[1] if prev and cpu >= prev[1] else cpu
        name = "kworker" if comm.startswith("kworker/") else comm
        if delta > 0:
            used[name] = used.get(name, 0.0) + delta
    top = sorted(used.items(), key=lambda kv: -kv[1])[:limit]
    return {comm: round(cpu, 2) for comm, cpu in top if cpu >= 0.1}


def children_cpu_seconds() -> float:
    """CPU time of the waited-for children of this process (the load generator's runs)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def loadavg() -> list[float]:
    return [float(v) for v in (read_text("/proc/loadavg") or "0 0 0").split()[:3]]


def command_output(argv: list[str], **kwargs) -> str:
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=60, **kwargs)
        return (p.stdout + p.stderr).strip()
    except (OSError, subprocess.SubprocessError) as e:
        return f"unavailable ({e})"


def http(method: str, url: str, *, headers: dict | None = None, body: bytes | None = None,
         timeout: float = 5.0) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


# --- build, tools --------------------------------------------------------------------------------


def ensure_binary(given: str | None) -> None:
    global BINARY
    if given:
        # An older commit's build, to compare with: measured as it is, never rebuilt.
        BINARY = Path(given).resolve()
        if not BINARY.exists():
            sys.exit(f"--binary {given}: no such file")
        return
    # Always ask cargo: a stale binary would measure old code (cargo does nothing if fresh).
    log("building the release binary: cargo build --release -p tokener-http")
    subprocess.run(["cargo", "build", "--release", "-p", "tokener-http"], cwd=REPO, check=True)
    if not BINARY.exists():
        sys.exit(f"cargo build succeeded but {BINARY} is missing")


def find_or_install_oha(allow_install: bool) -> str | None:
    found = shutil.which("oha")
    if found:
        return found
    local = TOOLS_ROOT / "bin" / "oha"
    if local.exists():
        return str(local)
    if not allow_install or not shutil.which("cargo"):
        return None
    log("installing oha: cargo install oha --locked --root target/tools (a few minutes)")
    p = subprocess.run(["cargo", "install", "oha", "--locked", "--root", str(TOOLS_ROOT)], cwd=REPO)
    if p.returncode == 0 and local.exists():
        return str(local)
    log("installing oha failed")
    return None


def find_or_install_wrk(allow_install: bool) -> str | None:
    found = shutil.which("wrk")
    if found or not allow_install or not shutil.which("apt-get") or os.geteuid() != 0:
        return found
    log("installing wrk: apt-get install -y wrk")
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    return shutil.which("wrk")


def ensure_pymongo():
    try:
        import pymongo  # noqa: F401

        return pymongo
    except ImportError:
        pass
    log("installing pymongo: pip install -r bench/requirements.txt")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-r", str(REPO / "bench" / "requirements.txt")])
    try:
        import pymongo  # noqa: F401

        return pymongo
    except ImportError:
        log("pymongo is unavailable: the tokens collection will not be counted")
        return None


# --- load generators ------------------------------------------------------------------------------


@dataclass
class Target:
    """One scenario's request."""

    url: str
    headers: dict[str, str]
    body: str  # may be empty


@dataclass
class LoadResult:
    duration_s: float
    responses: int  # HTTP responses of any status
    ok: int  # 2xx
    non_2xx: int
    transport_errors: int
    aborted_at_deadline: int  # requests still in flight when the run ended (not errors)
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    mean_ms: float | None
    status_codes: dict[str, int]
    error_kinds: dict[str, int]

    @property
    def errors(self) -> int:
        return self.non_2xx + self.transport_errors

    @property
    def rps(self) -> float:
        return self.responses / self.duration_s if self.duration_s > 0 else 0.0


class Oha:
    name = "oha"
    supports_rate = True

    def __init__(self, path: str):
        self.path = path
        self.version = command_output([path, "--version"]).splitlines()[0]
        help_text = command_output([path, "--help"])

        def has(flag: str) -> bool:
            return re.search(rf"(^|[\s,]){re.escape(flag)}([\s,=<]|$)", help_text, re.M) is not None

        if has("--output-format"):
            self.json_args = ["--output-format", "json"]
        elif has("--json"):
            self.json_args = ["--json"]
        elif has("-j"):
            self.json_args = ["-j"]
        else:
            raise RuntimeError(f"{self.version}: no JSON output option in --help")
        self.extra = ["--no-tui"] if has("--no-tui") else []
        # Let requests in flight at the deadline finish, so they are neither errors nor lost.
        if has("--wait-ongoing-requests-after-deadline"):
            self.extra.append("--wait-ongoing-requests-after-deadline")
        # At a fixed rate, measure latency from when a request was due, not when it was sent
        # (no coordinated omission).
        self.latency_correction = has("--latency-correction")

    def run(self, target: Target, *, concurrency: int, duration: float, rate: float | None,
            raw_path: Path) -> LoadResult:
        argv = [self.path, *self.extra, *self.json_args, "-c", str(concurrency), "-z", f"{duration:g}s",
                "-m", "POST"]
        for k, v in target.headers.items():
            argv += ["-H", f"{k}: {v}"]
        if target.body:
            argv += ["-d", target.body]
        if rate is not None:
            argv += ["-q", f"{rate:.1f}"]
            if self.latency_correction:
                argv.append("--latency-correction")
        argv.append(target.url)
        p = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        raw_path.write_text(p.stdout + ("\n--- stderr ---\n" + p.stderr if p.stderr else ""))
        if p.returncode != 0:
            raise RuntimeError(f"oha exited with {p.returncode}: {p.stderr.strip()[:500]}")
        return self.parse(json.loads(p.stdout))

    @staticmethod
    def parse(doc: dict) -> LoadResult:
        summary = doc.get("summary", {})
        codes = {str(k): int(v) for k, v in (doc.get("statusCodeDistribution") or {}).items()}
        error_kinds = {str(k): int(v) for k, v in (doc.get("errorDistribution") or {}).items()}
        aborted = sum(v for k, v in error_kinds.items() if "deadline" in k.lower())
        transport = sum(error_kinds.values()) - aborted
        ok = sum(v for k, v in codes.items() if k.startswith("2"))
        responses = sum(codes.values())
        pct = doc.get("latencyPercentiles") or {}

        def ms(value) -> float | None:
            return None if value is None else float(value) * 1000.0

        return LoadResult(
            duration_s=float(summary.get("total") or 0.0),
            responses=responses,
            ok=ok,
            non_2xx=responses - ok,
            transport_errors=transport,
            aborted_at_deadline=aborted,
            p50_ms=ms(pct.get("p50")),
            p90_ms=ms(pct.get("p90")),
            p99_ms=ms(pct.get("p99")),
            max_ms=ms(summary.get("slowest")),
            mean_ms=ms(summary.get("average")),
            status_codes=codes,
            error_kinds=error_kinds,
        )


WRK_SCRIPT = r"""
wrk.method = "POST"
wrk.body = %(body)s
%(headers)s
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%%d,"duration_us":%%d,"connect":%%d,"read":%%d,"write":%%d,"status":%%d,' ..
    '"timeout":%%d,"p50_us":%%.1f,"p90_us":%%.1f,"p99_us":%%.1f,"max_us":%%.1f,"mean_us":%%.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
"""


class Wrk:
    name = "wrk"
    supports_rate = False

    def __init__(self, path: str):
        self.path = path
        # `wrk -v` prints its version and exits non-zero.
        self.version = command_output([path, "-v"]).splitlines()[0]

    def run(self, target: Target, *, concurrency: int, duration: float, rate: float | None,
            raw_path: Path) -> LoadResult:
        if rate is not None:
            raise RuntimeError("wrk has no fixed-rate mode")
        headers = "\n".join(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in target.headers.items())
        script = raw_path.with_suffix(".lua")
        script.write_text(WRK_SCRIPT % {"body": json.dumps(target.body), "headers": headers})
        threads = max(1, min(concurrency, os.cpu_count() or 1))
        argv = [self.path, "-t", str(threads), "-c", str(concurrency), "-d", f"{max(1, round(duration))}s",
                "-s", str(script), target.url]
        p = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        raw_path.write_text(p.stdout + ("\n--- stderr ---\n" + p.stderr if p.stderr else ""))
        m = re.search(r"^WRK_JSON (\{.*\})$", p.stdout, re.M)
        if p.returncode != 0 or not m:
            raise RuntimeError(f"wrk exited with {p.returncode}: {(p.stderr or p.stdout).strip()[:500]}")
        d = json.loads(m.group(1))
        non_2xx = int(d["status"])  # wrk counts statuses >= 400 only
        transport = int(d["connect"] + d["read"] + d["write"] + d["timeout"])
        return LoadResult(
            duration_s=d["duration_us"] / 1e6,
            responses=int(d["requests"]),
            ok=int(d["requests"]) - non_2xx,
            non_2xx=non_2xx,
            transport_errors=transport,
            aborted_at_deadline=0,
            p50_ms=d["p50_us"] / 1000,
            p90_ms=d["p90_us"] / 1000,
            p99_ms=d["p99_us"] / 1000,
            max_ms=d["max_us"] / 1000,
            mean_ms=d["mean_us"] / 1000,
            status_codes={},
            error_kinds={k: int(d[k]) for k in ("connect", "read", "write", "timeout", "status") if d[k]},
        )


# --- backing services and modes ------------------------------------------------------------------


_test_services_env: dict[str, str] | None = None


def test_services(fresh: bool = False) -> dict[str, str]:
    """Starts (or reuses) the test services; returns the TOKENER_TEST_* variables they export.

    `fresh` asks the script again (after a server was restarted) instead of the cached answer.
    """
    global _test_services_env
    if _test_services_env is None or fresh:
        log("starting the test services: bash scripts/test-services.sh start")
        p = subprocess.run(["bash", str(REPO / "scripts" / "test-services.sh"), "start"], cwd=REPO,
                           stdout=subprocess.PIPE, text=True)
        if p.returncode != 0:
            raise Skip("scripts/test-services.sh start failed (see its messages above)")
        env = {}
        for line in p.stdout.splitlines():
            m = re.match(r"^export ([A-Z_][A-Z0-9_]*)=(.*)$", line.strip())
            if m:
                parts = shlex.split(m.group(2))
                env[m.group(1)] = parts[0] if parts else ""
        if "TOKENER_TEST_MONGODB_URI" not in env:
            raise Skip("scripts/test-services.sh printed no TOKENER_TEST_MONGODB_URI")
        _test_services_env = env
    return _test_services_env


def test_service_pid(name: str) -> int | None:
    """The pid of a server the test services run (`ferretdb`, `redis`), to account for its CPU."""
    text = read_text(REPO / "target" / "test-services" / name / "pid")
    if text and text.strip().isdigit() and Path(f"/proc/{text.strip()}").exists():
        return int(text.strip())
    return None


def database_pids(*names: str) -> dict[str, int]:
    """Display name -> pid of each named test server that runs on this machine."""
    labels = {"ferretdb": "FerretDB", "redis": "Redis"}
    pids = {labels[n]: test_service_pid(n) for n in names}
    return {label: pid for label, pid in pids.items() if pid is not None}


@dataclass
class ModeSetup:
    env: dict[str, str]
    mongodb_uri: str | None = None
    database: str | None = None
    # The database servers that run on this machine ("ferretdb", "redis"): their CPU is measured
    # apart from the service's.
    db_names: tuple[str, ...] = ()

    @property
    def db_pids(self) -> dict[str, int]:
        """Display name -> pid, looked up each time: the harness restarts FerretDB."""
        return database_pids(*self.db_names)

    def for_scenario(self, scenario: str) -> "ModeSetup":
        """The same, with a database of the scenario's own (none of another run's documents)."""
        if not self.database:
            return self
        database = f"{self.database}_{scenario}"
        env = {**self.env, "TOKENER_MONGODB_DATABASE": database}
        if uses_redis(env):
            # A queue and cache of the scenario's own, like its database.
            env["TOKENER_REDIS_PREFIX"] = database
        return ModeSetup(env=env, mongodb_uri=self.mongodb_uri, database=database, db_names=self.db_names)


def setup_embedded(run_id: str) -> ModeSetup:
    # A scenario issues ~50 s x the peak rate; the default cap (500,000 records, none of them
    # expired yet) would turn the last points into 503s, measuring the cap instead of the path.
    return ModeSetup(env={"TOKENER_MEMORY_MAX_TOKENS": "5000000"})


def setup_mongodb(run_id: str) -> ModeSetup:
    services = test_services()
    uri = services["TOKENER_TEST_MONGODB_URI"]
    database = f"tokener_bench_{run_id}"
    return ModeSetup(env={"TOKENER_MONGODB_URI": uri, "TOKENER_MONGODB_DATABASE": database},
                     mongodb_uri=uri, database=database, db_names=("ferretdb",))


def with_redis(run_id: str, service_var: str, env_var: str, db_names: tuple[str, ...]) -> ModeSetup:
    """MongoDB as the record, and as cache and write-behind queue the test services' Redis that
    `service_var` names, handed to the service as `env_var`."""
    base = setup_mongodb(run_id)
    redis = test_services().get(service_var)
    if not redis:
        raise Skip(f"scripts/test-services.sh printed no {service_var}")
    base.env[env_var] = redis
    base.db_names = db_names
    return base


def setup_writebehind(run_id: str) -> ModeSetup:
    return with_redis(run_id, "TOKENER_TEST_REDIS_URL", "TOKENER_REDIS_URL", ("ferretdb", "redis"))


def setup_cluster(run_id: str) -> ModeSetup:
    # The six nodes' CPU is not broken out: only FerretDB's.
    return with_redis(run_id, "TOKENER_TEST_REDIS_CLUSTER_URLS", "TOKENER_REDIS_CLUSTER_URLS", ("ferretdb",))


def uses_redis(env: dict[str, str]) -> bool:
    """Whether the service runs write-behind (on one Redis or a cluster)."""
    return "TOKENER_REDIS_URL" in env or "TOKENER_REDIS_CLUSTER_URLS" in env


MODES: dict[str, Callable[[str], ModeSetup]] = {
    "embedded": setup_embedded,
    "mongodb": setup_mongodb,
    "writebehind": setup_writebehind,
    "cluster": setup_cluster,
}


# --- the service ---------------------------------------------------------------------------------


class Service:
    def __init__(self, env: dict[str, str], log_path: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("TOKENER_")}
        full_env.update(env)
        full_env["TOKENER_LISTEN"] = f"127.0.0.1:{self.port}"
        self.log_file = open(log_path, "ab")
        self.proc = subprocess.Popen([str(BINARY), "serve"], env=full_env, cwd=REPO, stdin=subprocess.DEVNULL,
                                     stdout=self.log_file, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                text = read_text(self.log_path) or ""
                if "not available in this version" in text:
                    why = next((line.strip(" -\t") for line in text.splitlines() if "TOKENER_REDIS_URL" in line), "")
                    raise Skip("this tokener binary refuses TOKENER_REDIS_URL (no Redis cache or write-behind "
                               f"queue yet); it says: {why[:300]}")
                raise RuntimeError(f"tokener exited with {self.proc.returncode} before it was ready:\n{text[-2000:]}")
            try:
                status, _ = http("GET", self.base + "/readyz", timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"tokener not ready after {timeout:.0f} s; see {self.log_path}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()


# --- one scenario on one service -----------------------------------------------------------------


SCENARIOS = ("token", "oauth2", "introspect")
SCENARIO_LABELS = {
    "token": "POST /token",
    "oauth2": "POST /oauth2/token",
    "introspect": "POST /oauth2/introspect",
}
TOKEN_ISSUING = {"token", "oauth2"}


def basic_auth(secret: str) -> str:
    return "Basic " + base64.b64encode(f"{CLIENT_ID}:{secret}".encode()).decode()


def issue_token(base: str, auth: str) -> str:
    status, body = http("POST", base + "/token", headers={"Authorization": auth})
    if status != 200:
        raise RuntimeError(f"POST /token answered {status}: {body[:300]!r}")
    return json.loads(body)["access_token"]


def token_format_of(token: str) -> str:
    """`jwt` for a JWS compact form (three dot-separated parts), else `biscuit` (base64url, no dot)."""
    return "jwt" if token.count(".") == 2 else "biscuit"


def scenario_target(scenario: str, base: str, auth: str, token_format: str) -> tuple[Target, int]:
    """The request of a scenario, and how many tokens preparing it issued: one, checked to be in
    `token_format` (a binary that ignores TOKENER_BOOTSTRAP_CLIENT_TOKEN_FORMAT would otherwise
    measure the other format), which the introspect scenario then introspects."""
    form = "application/x-www-form-urlencoded"
    token = issue_token(base, auth)
    if token_format_of(token) != token_format:
        raise RuntimeError(f"asked for {token_format} tokens, the service issued a {token_format_of(token)}: "
                           f"{token[:60]}...")
    if scenario == "token":
        return Target(base + "/token", {"Authorization": auth}, ""), 1
    if scenario == "oauth2":
        return Target(base + "/oauth2/token", {"Authorization": auth, "Content-Type": form},
                      "grant_type=client_credentials"), 1
    if scenario == "introspect":
        target = Target(base + "/oauth2/introspect", {"Authorization": auth, "Content-Type": form},
                        "token=" + urllib.parse.quote(token, safe=""))
        # Sanity check: the token is active, so the runs measure a full verification.
        status, body = http("POST", target.url, headers=target.headers, body=target.body.encode())
        if status != 200 or not json.loads(body).get("active"):
            raise RuntimeError(f"introspection of a fresh token answered {status}: {body[:300]!r}")
        return target, 1
    raise ValueError(scenario)


@dataclass
class Measured:
    kind: str  # "warmup", "peak", "rate 25%", ...
    concurrency: int
    target_rps: float | None
    load: LoadResult
    server_cpu_s: float | None
    loadgen_cpu_s: float
    db_cpu_s: dict[str, float | None]  # by database server
    machine_busy_cpu_s: float
    other_top: dict[str, float]
    wall_s: float
    peak_rss_kib: int | None
    rss_kib: int | None

    def per_1k(self, cpu: float | None) -> float | None:
        if cpu is None or self.load.responses == 0:
            return None
        return cpu / self.load.responses * 1000

    def to_json(self) -> dict:
        load = self.load
        databases = sum(v or 0 for v in self.db_cpu_s.values())
        other = self.machine_busy_cpu_s - (self.server_cpu_s or 0) - self.loadgen_cpu_s - databases
        return {
            "kind": self.kind,
            "concurrency": self.concurrency,
            "target_rps": None if self.target_rps is None else round(self.target_rps, 1),
            "duration_s": round(load.duration_s, 3),
            "requests": load.responses,
            "ok_2xx": load.ok,
            "rps": round(load.rps, 1),
            "ok_rps": round(load.ok / load.duration_s, 1) if load.duration_s else 0.0,
            "latency_ms": {k: None if v is None else round(v, 3) for k, v in (
                ("p50", load.p50_ms), ("p90", load.p90_ms), ("p99", load.p99_ms), ("max", load.max_ms),
                ("mean", load.mean_ms))},
            "errors": load.errors,
            "non_2xx": load.non_2xx,
            "transport_errors": load.transport_errors,
            "aborted_at_deadline": load.aborted_at_deadline,
            "status_codes": load.status_codes,
            "error_kinds": load.error_kinds,
            "server_cpu_s": _round(self.server_cpu_s, 3),
            "server_cpu_s_per_1k": _round(self.per_1k(self.server_cpu_s), 4),
            "server_cores_busy": _round(self.server_cpu_s / self.wall_s if self.server_cpu_s is not None else None, 2),
            "loadgen_cpu_s": round(self.loadgen_cpu_s, 3),
            "loadgen_cpu_s_per_1k": _round(self.per_1k(self.loadgen_cpu_s), 4),
            "db_cpu_s": {name: _round(cpu, 3) for name, cpu in self.db_cpu_s.items()},
            "db_cpu_s_per_1k": {name: _round(self.per_1k(cpu), 4) for name, cpu in self.db_cpu_s.items()},
            "machine_busy_cores": round(self.machine_busy_cpu_s / self.wall_s, 2) if self.wall_s else None,
            "other_cpu_s": round(other, 3),
            "other_busiest": self.other_top,
            "peak_rss_mib": _round(self.peak_rss_kib / 1024 if self.peak_rss_kib else None, 1),
            "rss_mib": _round(self.rss_kib / 1024 if self.rss_kib else None, 1),
        }


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def measure(gen, service: Service, setup: ModeSetup, target: Target, *, kind: str, concurrency: int,
            duration: float, rate: float | None, raw_path: Path) -> Measured:
    table0 = process_cpu_table()
    cpu0 = proc_cpu_seconds(service.pid)
    db0 = {name: proc_cpu_seconds(pid) for name, pid in setup.db_pids.items()}
    kids0 = children_cpu_seconds()
    busy0, _ = machine_cpu()
    t0 = time.monotonic()
    load = gen.run(target, concurrency=concurrency, duration=duration, rate=rate, raw_path=raw_path)
    wall = time.monotonic() - t0
    busy1, _ = machine_cpu()
    kids1 = children_cpu_seconds()
    cpu1 = proc_cpu_seconds(service.pid)
    db1 = {name: proc_cpu_seconds(pid) for name, pid in setup.db_pids.items()}
    # Programs that ran alongside (a concurrent build shows up here; programs that started and
    # ended within the run, and kernel work charged to no process, only count in other_cpu_s).
    others = busiest_others(table0, process_cpu_table(), {service.pid, *setup.db_pids.values(), os.getpid()})
    return Measured(
        kind=kind,
        concurrency=concurrency,
        target_rps=rate,
        load=load,
        server_cpu_s=None if cpu0 is None or cpu1 is None else cpu1 - cpu0,
        loadgen_cpu_s=kids1 - kids0,
        db_cpu_s={name: None if db0[name] is None or db1[name] is None else db1[name] - db0[name]
                  for name in setup.db_pids},
        machine_busy_cpu_s=busy1 - busy0,
        other_top=others,
        wall_s=wall,
        peak_rss_kib=proc_status_kib(service.pid, "VmHWM"),
        rss_kib=proc_status_kib(service.pid, "VmRSS"),
    )


def restart_ferretdb(setup: ModeSetup) -> None:
    """Restarts the test FerretDB (same port), so that SQLite folds its write-ahead log.

    Under sustained writes FerretDB's SQLite backend lets the log grow to gigabytes (a checkpoint
    never finds it free of readers), and every read then walks it: counting 280,000 documents did
    not finish in 20 minutes, and took 16 s once FerretDB had closed the database (7 s) and come
    back. The next scenario starts on a folded log too, as the first one did.
    """
    pid = setup.db_pids.get("FerretDB")
    if pid is None:
        return
    log("  restarting FerretDB to fold its SQLite write-ahead log before counting")
    # Not `test-services.sh stop`: it stops Redis too, and sends SIGKILL after 5 s, sooner than
    # folding a large log takes (7 s for 4 GB), which would leave the log as it was.
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 600
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    if Path(f"/proc/{pid}").exists():
        log("  FerretDB is still folding its log after 600 s: counting through it as it is")
    if test_services(fresh=True)["TOKENER_TEST_MONGODB_URI"] != setup.mongodb_uri:
        sys.exit("FerretDB came back on another port: the remaining scenarios cannot reach it")


def wait_for_quiet_databases(setup: ModeSetup, *, below_cores: float = 0.05, within_s: float = 180.0) -> float | None:
    """Waits until every database server of the mode has been idle for two 1 s windows in a row.

    After a restart and a dropped database FerretDB keeps working for a while (0.1-0.3 ms of CPU per
    request was seen at the first points of an introspection scenario that touches no database),
    which takes cores from the service and makes that scenario measure the leftover. Returns the
    seconds waited, or None when the servers did not go quiet within `within_s`.
    """
    pids = setup.db_pids
    if not pids:
        return 0.0
    started = time.monotonic()
    quiet_windows = 0
    while time.monotonic() - started < within_s:
        before = {name: proc_cpu_seconds(pid) for name, pid in pids.items()}
        time.sleep(1.0)
        after = {name: proc_cpu_seconds(pid) for name, pid in pids.items()}
        busy = max((after[n] - before[n]) for n in pids if before[n] is not None and after[n] is not None)
        quiet_windows = quiet_windows + 1 if busy < below_cores else 0
        if quiet_windows >= 2:
            return round(time.monotonic() - started, 1)
    return None


class Profile:
    """`perf record` of each given process during one run (cpu-clock samples, which a VM without
    hardware counters still has): per process, its samples by component (Go package, Rust crate,
    shared library, kernel) and its busiest functions."""

    def __init__(self, pids: dict[str, int], duration: float, stem: Path):
        stem.parent.mkdir(parents=True, exist_ok=True)
        # The middle of the run: not the load generator's ramp-up, not its end.
        margin = min(1.0, duration / 4)
        self.recordings = []
        for name, pid in pids.items():
            path = stem.parent / f"{stem.name}-{name}.txt"
            data = path.with_suffix(".data")
            proc = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-F", "499", "-p", str(pid),
                                     "-D", str(int(margin * 1000)), "-o", str(data),
                                     "--", "sleep", f"{duration - margin:g}"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            self.recordings.append((name, path, data, proc))

    def finish(self) -> None:
        for name, path, data, proc in self.recordings:
            _, err = proc.communicate(timeout=120)
            if proc.returncode != 0:
                log(f"  perf record of {name} failed: {err.decode(errors='replace').strip()[:300]}")
                continue
            report = command_output(["perf", "report", "-i", str(data), "--stdio", "--no-children",
                                     "-F", "overhead,dso,sym", "-t", "\t", "--percent-limit", "0"])
            data.unlink(missing_ok=True)
            path.write_text(profile_summary(name, report))
            log(f"  profile of {name}: {path}")


def profile_component(dso: str, symbol: str) -> str:
    """What a sampled function belongs to: the kernel, a shared library, or, inside the
    program's own binary, its Go package or Rust crate."""
    if dso == "[kernel.kallsyms]" or symbol.startswith("[k]"):
        return "kernel"
    name = symbol.removeprefix("[.]").strip()
    if re.match(r"^lib.*\.so", dso) or name.startswith("0x"):
        return dso
    name = name.lstrip("<&*( ").removeprefix("mut ").removeprefix("dyn ")
    if "::" in name:  # Rust: crate::module::item
        return name.split("::", 1)[0]
    # Go: an import path, then the package's name up to the first dot after the last slash.
    head, _, tail = name.rpartition("/")
    if "." not in tail:  # C (or assembly): no packages, the program itself
        return dso
    return (head + "/" if head else "") + tail.split(".", 1)[0]


def profile_summary(name: str, report: str, top: int = 25) -> str:
    rows = []
    for line in report.splitlines():
        parts = [part.strip() for part in line.split("\t")]
        if len(parts) >= 3 and parts[0].endswith("%"):
            rows.append((float(parts[0].rstrip("%")), parts[1].strip(), parts[2].strip()))
    by_component: dict[str, float] = {}
    for share, dso, symbol in rows:
        key = profile_component(dso, symbol)
        by_component[key] = by_component.get(key, 0.0) + share
    samples = re.search(r"^# Samples: (\S+)", report, re.M)
    count = f" ({samples.group(1)} samples at 499 Hz)" if samples else ""
    out = [f"# {name}: share of its CPU samples{count}", "", "## by component", ""]
    out += [f"{share:6.2f}%  {key}" for key, share in sorted(by_component.items(), key=lambda kv: -kv[1])
            if share >= 0.5]
    out += ["", f"## the {top} busiest functions", ""]
    out += [f"{share:6.2f}%  {symbol.removeprefix('[.]').removeprefix('[k]').strip()}  ({dso})"
            for share, dso, symbol in sorted(rows, key=lambda r: -r[0])[:top]]
    return "\n".join(out) + "\n"


def count_tokens(setup: ModeSetup) -> int | None:
    if not setup.mongodb_uri:
        return None
    pymongo = ensure_pymongo()
    if pymongo is None:
        return None
    client = pymongo.MongoClient(setup.mongodb_uri, serverSelectionTimeoutMS=10_000)
    try:
        return client[setup.database]["tokens"].count_documents({})
    finally:
        client.close()


def drop_database(setup: ModeSetup) -> None:
    pymongo = ensure_pymongo() if setup.mongodb_uri else None
    if pymongo is None:
        return
    client = pymongo.MongoClient(setup.mongodb_uri, serverSelectionTimeoutMS=10_000)
    try:
        client.drop_database(setup.database)
    except Exception as e:  # noqa: BLE001 - best effort clean-up
        log(f"could not drop database {setup.database}: {e}")
    finally:
        client.close()


def run_scenario(gen, mode: str, scenario: str, setup: ModeSetup, common_env: dict[str, str], secret: str,
                 args, raw_dir: Path) -> dict:
    auth = basic_auth(secret)
    service = Service({**common_env, **setup.env}, raw_dir / f"{mode}-{scenario}-service.log")
    runs: list[Measured] = []
    notes: list[str] = []
    try:
        service.wait_ready()
        tokens_before = count_tokens(setup)
        target, prepared_tokens = scenario_target(scenario, service.base, auth, args.token_format)
        stem = f"{mode}-{scenario}"

        def one(kind: str, duration: float, rate: float | None) -> Measured:
            label = kind if rate is None else f"{kind} ({rate:.0f} req/s)"
            log(f"{mode} / {SCENARIO_LABELS[scenario]}: {label}, {duration:g} s")
            m = measure(gen, service, setup, target, kind=kind, concurrency=args.concurrency, duration=duration,
                        rate=rate, raw_path=raw_dir / f"{stem}-{kind.replace(' ', '').replace('%', 'pct')}.txt")
            log(f"  -> {m.load.rps:.0f} req/s, p50 {fmt_ms(m.load.p50_ms)} p99 {fmt_ms(m.load.p99_ms)} ms, "
                f"errors {m.load.errors}, server CPU {fmt(m.per_1k(m.server_cpu_s), 3)} s/1k req")
            return m

        quiet_s = wait_for_quiet_databases(setup)
        if quiet_s is None:
            notes.append("the database servers were still busy 180 s after the scenario was prepared")
            log("  the database servers are still busy after 180 s: measuring anyway")
        elif quiet_s > 2.5:
            log(f"  waited {quiet_s} s for the database servers to go idle")
        warmup = one("warmup", args.warmup, None) if args.warmup > 0 else None
        peak = one("peak", args.duration, None)
        runs.append(peak)
        if gen.supports_rate:
            for fraction in RATE_FRACTIONS:
                time.sleep(args.pause)
                runs.append(one(f"rate {fraction * 100:.0f}%", args.rate_duration, peak.load.rps * fraction))
        # (else: the report's global note says that the fixed-rate runs were skipped)
        profiled = None
        if args.profile and scenario in args.profile_scenarios:
            # A run of its own like the peak one, so that perf's cost is in no reported figure.
            time.sleep(args.pause)
            profile = Profile({"service": service.pid, **setup.db_pids}, args.duration,
                              args.out_dir / "profiles" / f"{mode}-{scenario}-peak")
            profiled = one("profiled", args.duration, None)
            profile.finish()
        sustained = []
        if args.sustain_rates and "TOKENER_REDIS_URL" in setup.env and scenario == "token":
            for rate in args.sustain_rates:
                # Each starts on an empty queue, so its lag is its own.
                wait_for_drain(service.base)
                time.sleep(args.pause)
                m = one("sustained", args.sustain_duration, rate)
                backlog = queue_backlog(setup.env)
                runs.append(m)
                sustained.append({"target_rps": rate, "rps": m.load.rps, **backlog})
                log(f"  sustained {rate:.0f}/s: worker lag {backlog['lag_at_end_s']} s, "
                    f"{backlog['depth_at_end']} records queued when the load stopped")

        result = {
            "scenario": scenario,
            "label": SCENARIO_LABELS[scenario],
            "service_pid": service.pid,
            "warmup": warmup.to_json() if warmup else None,
            "runs": [m.to_json() for m in runs],
            "notes": notes,
            "databases_quiet_after_s": quiet_s,
        }
        if sustained:
            result["sustained"] = sustained
        if setup.database:
            result["database"] = setup.database
            result["documents_at_start"] = tokens_before
        if uses_redis(setup.env) and scenario in TOKEN_ISSUING:
            result["write_behind"] = wait_for_drain(service.base)
            log(f"  write-behind: lag {result['write_behind']['lag_at_end_s']} s and depth "
                f"{result['write_behind']['depth_at_end']} when the load stopped; drained in "
                f"{result['write_behind']['drain_s']} s")
        if scenario in TOKEN_ISSUING and setup.mongodb_uri:
            restart_ferretdb(setup)
            tokens_after = count_tokens(setup)
            issued = (sum(m.load.ok for m in runs) + sum(m.load.ok for m in (warmup, profiled) if m)
                      + prepared_tokens)
            if tokens_before is not None and tokens_after is not None:
                recorded = tokens_after - tokens_before
                result["token_records"] = {
                    "tokens_issued_2xx": issued,
                    "documents_added": recorded,
                    "difference": recorded - issued,
                }
                log(f"  tokens collection: {recorded} documents added, {issued} tokens issued (2xx)")
        return result
    finally:
        service.stop()


def gauges(base: str) -> dict[str, float]:
    """The write-behind gauges of GET /metrics."""
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:
        text = response.read().decode()
    values = {}
    for line in text.splitlines():
        if line.startswith("tokener_writebehind_"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def wait_for_drain(base: str, within_s: float = 120.0) -> dict:
    """Worker lag and queue depth as the load stops, then how long the worker took to empty
    the queue (the gauges refresh every second)."""
    time.sleep(1.1)
    first = gauges(base)
    started = time.monotonic()
    drain_s = None
    while time.monotonic() - started < within_s:
        if gauges(base).get("tokener_writebehind_queue_depth", 1) == 0:
            drain_s = round(time.monotonic() - started, 1)
            break
        time.sleep(0.5)
    return {
        "lag_at_end_s": first.get("tokener_writebehind_lag_seconds"),
        "depth_at_end": first.get("tokener_writebehind_queue_depth"),
        "drain_s": drain_s,
        "dead_letters": first.get("tokener_writebehind_dead_letters"),
    }


def queue_backlog(env: dict[str, str]) -> dict:
    """The write-behind queue as it is now, read from Redis itself (the service's gauges refresh
    only every second): its depth, and the age of its oldest entry (the worker's lag; the stream
    ids are the milliseconds Redis accepted each entry). The key is the service's layout:
    `<TOKENER_REDIS_PREFIX>:wb:records`."""
    url = env["TOKENER_REDIS_URL"]
    key = f"{env.get('TOKENER_REDIS_PREFIX', 'tokener')}:wb:records"

    def cli(*argv: str) -> list[str]:
        return subprocess.run(["redis-cli", "-u", url, "--raw", *argv], capture_output=True, text=True,
                              timeout=30, check=True).stdout.split()

    now_s, now_us = cli("TIME")
    oldest = cli("XRANGE", key, "-", "+", "COUNT", "1")
    depth = int(cli("XLEN", key)[0])
    lag = None
    if oldest:
        lag = round(max(0.0, int(now_s) + int(now_us) / 1e6 - int(oldest[0].split("-")[0]) / 1000), 3)
    return {"lag_at_end_s": lag if depth else 0.0, "depth_at_end": depth}


# Per token format: the criterion benchmark of the raw signing cost a token's CPU is compared with
# (group, name), and what the report calls it.
MINT_FLOORS = {
    "biscuit": ("floor/biscuit_mint", "biscuit_mint_builder", "the raw biscuit-auth mint"),
    "jwt": ("floor/jwt_mint", "ring_es256_sign", "the raw ES256 signature (ring)"),
}


def measure_mint_floor(token_format: str) -> float | None:
    """The raw mint of the format (the floor a token's cost is compared with), measured now with
    criterion so that it shares the run's conditions; microseconds (median), None on failure."""
    group, name, _ = MINT_FLOORS[token_format]
    log(f"measuring the mint floor: cargo bench ... {group}/{name}")
    try:
        subprocess.run(["cargo", "bench", "-q", "-p", "tokener-core", "--bench", "mint_verify", "--",
                        f"^{group}/{name}$", "--warm-up-time", "1", "--measurement-time", "5", "--noplot"],
                       cwd=REPO, check=True, capture_output=True, timeout=1800)
        estimates = REPO / "target" / "criterion" / group.replace("/", "_") / name / "new" / "estimates.json"
        return round(json.loads(estimates.read_text())["median"]["point_estimate"] / 1000, 2)
    except (OSError, subprocess.SubprocessError, KeyError, ValueError) as e:
        log(f"could not measure the mint floor: {e}")
        return None


def fmt(value: float | None, digits: int) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if value < 1 else f"{value:.2f}" if value < 100 else f"{value:.0f}"


# --- machine and preflight -----------------------------------------------------------------------


def machine_info() -> dict:
    cpuinfo = read_text("/proc/cpuinfo") or ""
    m = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    mem = re.search(r"^MemTotal:\s+(\d+)", read_text("/proc/meminfo") or "", re.M)
    return {
        "nproc": os.cpu_count(),
        "cpu_model": m.group(1).strip() if m else platform.processor() or "unknown",
        "memory_gib": round(int(mem.group(1)) / 1024 / 1024, 1) if mem else None,
        "kernel": platform.release(),
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def wait_for_quiet_machine(max_load: float, wait_s: float) -> dict:
    """Waits until the 1-minute load average is at most max_load (up to wait_s seconds)."""
    first = loadavg()
    info = {"loadavg_first_check": first, "waited_s": 0.0, "threshold": max_load}
    start = time.monotonic()
    if first[0] > max_load and wait_s > 0:
        log(f"load average {first[0]:.2f} > {max_load}: something else is running; waiting up to {wait_s:.0f} s")
        while time.monotonic() - start < wait_s:
            time.sleep(10)
            if loadavg()[0] <= max_load:
                break
        info["waited_s"] = round(time.monotonic() - start, 1)
    info["loadavg_at_start"] = loadavg()
    info["quiet_at_start"] = info["loadavg_at_start"][0] <= max_load
    if not info["quiet_at_start"]:
        log(f"load average still {info['loadavg_at_start'][0]:.2f}: going on; the numbers may be perturbed")
    return info


# --- reports -------------------------------------------------------------------------------------


def report_token_format(report: dict) -> str:
    """The bootstrap client's token format of a report (reports from before JWTs: biscuit)."""
    return report["settings"].get("token_format", "biscuit")


def write_markdown(path: Path, report: dict) -> None:
    machine = report["machine"]
    token_format = report_token_format(report)
    gen = report["load_generator"]
    load = report["machine_load"]
    lines = [
        "# Tokener load test",
        "",
        f"{report['date']} · `{report['tokener_version']}` · {machine['nproc']} × {machine['cpu_model']}, "
        f"{machine['memory_gib']} GiB, Linux {machine['kernel']}",
        "",
        f"Load generator: {gen['version']} on the same machine (it competes with the service for the same "
        f"{machine['nproc']} cores), {report['settings']['concurrency']} connections; peak = fixed concurrency "
        f"for {report['settings']['duration_s']:g} s, rate N% = fixed rate at N% of that peak for "
        f"{report['settings']['rate_duration_s']:g} s"
        + (" (latency measured from when each request was due)" if gen.get("latency_correction") else "") + ". "
        f"Each scenario runs on a freshly started service after a {report['settings']['warmup_s']:g} s warm-up.",
        "",
        f"Token format: {token_format}, the bootstrap client's (TOKENER_BOOTSTRAP_CLIENT_TOKEN_FORMAT): every "
        "token issued and introspected is one.",
        "",
        f"Load average (1/5/15 min) at start: {' / '.join(f'{v:.2f}' for v in load['loadavg_at_start'])}"
        f"{'' if load['quiet_at_start'] else ' — above the threshold: other work was running'}; "
        f"at the end: {' / '.join(f'{v:.2f}' for v in load['loadavg_at_end'])}. "
        f"Total run time {report['total_run_time_s'] / 60:.1f} min "
        f"({report['wall_clock_s'] / 60:.1f} min with set-up{' and waiting for a quiet machine' if load['waited_s'] else ''}).",
        "",
        "Columns: latency in ms; errors = non-2xx responses + transport errors; CPU-s/1k = CPU-seconds per "
        "1,000 requests of the service, the load generator and each database server on this machine (FerretDB, "
        "Redis), apart; other CPU-s = CPU-seconds "
        "the rest of the machine used during the run (other programs, and kernel network work charged to no "
        "process; about ±1 s is accounting noise; higher values: the run was perturbed); peak RSS = the service's high-water mark since it "
        "started (each scenario starts a fresh service).",
    ]
    for note in report.get("notes", []):
        lines += ["", f"Note: {note}"]
    for mode in report["modes"]:
        lines += ["", f"## {mode['mode']}", ""]
        if mode.get("skipped"):
            lines.append(f"Skipped: {mode['skipped']}")
            continue
        if mode.get("description"):
            lines += [mode["description"], ""]
        databases = sorted({name for s in mode["scenarios"] for r in s["runs"] for name in r.get("db_cpu_s") or {}})
        header = ["scenario", "kind", "req/s", "p50", "p90", "p99", "max", "errors", "CPU-s/1k service",
                  "CPU-s/1k load gen"] + [f"CPU-s/1k {name}" for name in databases] + ["other CPU-s", "peak RSS MiB"]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "|".join(["---"] * 2 + ["---:"] * (len(header) - 2)) + "|")
        for s in mode["scenarios"]:
            for r in s["runs"]:
                kind = r["kind"] if r["target_rps"] is None else f"{r['kind']} ({r['target_rps']:.0f}/s)"
                lat = r["latency_ms"]
                row = [s["label"], kind, f"{r['rps']:.0f}", fmt_ms(lat["p50"]), fmt_ms(lat["p90"]),
                       fmt_ms(lat["p99"]), fmt_ms(lat["max"]), str(r["errors"]), fmt(r["server_cpu_s_per_1k"], 3),
                       fmt(r["loadgen_cpu_s_per_1k"], 3)]
                row += [fmt((r.get("db_cpu_s_per_1k") or {}).get(name), 3) for name in databases]
                other = fmt(r["other_cpu_s"], 1)
                if perturbed(r):
                    other += " *"
                row += [other, fmt(r["peak_rss_mib"], 1)]
                lines.append("| " + " | ".join(row) + " |")
        runs = [r for s in mode["scenarios"] for r in s["runs"]]
        if any(perturbed(r) for r in runs):
            lines += ["", f"\\* {sum(perturbed(r) for r in runs)} of {len(runs)} runs shared the machine with other "
                          f"work using more than {PERTURBED_CORES:g} of a core on average: their numbers are "
                          "perturbed."]
        busiest: dict[str, float] = {}
        for s in mode["scenarios"]:
            for r in s["runs"]:
                for comm, cpu in (r.get("other_busiest") or {}).items():
                    busiest[comm] = busiest.get(comm, 0.0) + cpu
        if busiest:
            top = sorted(busiest.items(), key=lambda kv: -kv[1])[:5]
            lines += ["", "Other programs busiest during these runs (CPU-seconds): "
                      + ", ".join(f"{comm} {cpu:.1f}" for comm, cpu in top) + "."]
        floor = report.get("mint_floor_us")
        ratios = []
        for s in mode["scenarios"]:
            peak = next((r for r in s["runs"] if r["kind"] == "peak"), None)
            if floor and s["scenario"] in TOKEN_ISSUING and peak and peak.get("server_cpu_s_per_1k"):
                per_token = peak["server_cpu_s_per_1k"] * 1000
                databases = "".join(f", {name} {cpu * 1000:.0f} µs"
                                    for name, cpu in sorted((peak.get("db_cpu_s_per_1k") or {}).items())
                                    if cpu is not None)
                ratios.append(f"{s['label']} {per_token:.0f} µs ({per_token / floor:.2f}×){databases}")
        if ratios:
            lines += ["", f"Service CPU per token at peak against {MINT_FLOORS[token_format][2]} measured in this run "
                          f"({floor:.1f} µs), and the database servers' CPU per token beside it: " + "; ".join(ratios) + "."]
        for s in mode["scenarios"]:
            for run in s.get("sustained", []):
                lines += ["", f"Sustained {run['target_rps']:.0f} tokens/s for {report['settings']['sustain_duration_s']:g} s "
                              f"({run['rps']:.0f}/s achieved): worker lag {fmt(run['lag_at_end_s'], 2)} s and "
                              f"{run['depth_at_end']} records queued the moment the load stopped (read from Redis)."]
        records = [(s["label"], s["token_records"]) for s in mode["scenarios"] if s.get("token_records")]
        if records:
            lines += ["", "Token records in MongoDB (documents added to `tokens` during the scenario vs 2xx token "
                          "responses, warm-up and set-up included):", ""]
            for label, rec in records:
                lines.append(f"- {label}: {rec['documents_added']} documents, {rec['tokens_issued_2xx']} tokens "
                             f"issued (difference {rec['difference']:+d})")
        for s in mode["scenarios"]:
            for note in s.get("notes", []):
                lines += ["", f"Note ({s['label']}): {note}"]
    lines += ["", "Chart: [latency.svg](latency.svg) (p99 latency against achieved throughput).", ""]
    path.write_text("\n".join(lines))


PERTURBED_CORES = 0.2


def perturbed(run: dict) -> bool:
    """Whether other work used more than PERTURBED_CORES of a core on average during the run."""
    return (run.get("other_cpu_s") or 0) > PERTURBED_CORES * max(run.get("duration_s") or 1, 1)


PALETTE = {"token": "#1f77b4", "oauth2": "#2ca02c", "introspect": "#d62728"}
DASHES = {"embedded": "", "mongodb": "7,4", "writebehind": "2,3", "cluster": "1,2"}


def nice_ticks(lo: float, hi: float, log_scale: bool) -> list[float]:
    if log_scale:
        ticks = []
        for exp in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1):
            for m in (1, 2, 5):
                v = m * 10 ** exp
                if lo <= v <= hi:
                    ticks.append(v)
        return ticks
    span = hi - lo
    raw = span / 6
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step) * step
    return [start + i * step for i in range(int((hi - start) / step) + 1)]


def tick_label(v: float) -> str:
    if v >= 1000:
        return f"{v / 1000:g}k"
    return f"{v:g}"


def esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write_svg(path: Path, report: dict) -> None:
    series = []  # (mode, scenario, label, [(x, y, kind)])
    for mode in report["modes"]:
        for s in mode.get("scenarios", []):
            # The sustained runs are about the worker, not the latency curve: left out.
            pts = [(r["rps"], r["latency_ms"]["p99"], r["kind"]) for r in s["runs"]
                   if r["kind"] != "sustained" and r["rps"] and r["latency_ms"]["p99"]]
            if pts:
                series.append((mode["mode"], s["scenario"], f"{mode['mode']} · {s['label']}",
                               sorted(pts, key=lambda p: p[0])))
    width, height = 1040, 560
    left, right, top, bottom = 80, 350, 64, 66
    pw, ph = width - left - right, height - top - bottom
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left}" y="26" font-size="16" font-weight="bold">Tokener: p99 latency vs achieved '
           f'throughput</text>',
           f'<text x="{left}" y="46" fill="#555">{esc(report["machine"]["cpu_model"])}, '
           f'{report["machine"]["nproc"]} cores shared with the load generator ({esc(report["load_generator"]["name"])}); '
           f'{report_token_format(report)} tokens; {esc(report["date"][:10])}</text>']
    if not series:
        out.append(f'<text x="{left}" y="{top + 40}">no data</text></svg>')
        path.write_text("\n".join(out))
        return
    xs = [p[0] for s in series for p in s[3]]
    ys = [p[1] for s in series for p in s[3]]
    x_log = max(xs) / min(xs) > 8
    y_log = max(ys) / min(ys) > 8

    def bounds(values, log_scale):
        lo, hi = min(values), max(values)
        if log_scale:
            return lo / 1.3, hi * 1.3
        pad = (hi - lo) * 0.08 or hi * 0.1
        return max(0.0, lo - pad), hi + pad

    x_lo, x_hi = bounds(xs, x_log)
    y_lo, y_hi = bounds(ys, y_log)

    def scale(v, lo, hi, log_scale, size):
        if log_scale:
            return (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) * size
        return (v - lo) / (hi - lo) * size

    def sx(v):
        return left + scale(v, x_lo, x_hi, x_log, pw)

    def sy(v):
        return top + ph - scale(v, y_lo, y_hi, y_log, ph)

    out.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#fafafa" stroke="#999"/>')
    for t in nice_ticks(x_lo, x_hi, x_log):
        x = sx(t)
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + ph}" stroke="#e3e3e3"/>')
        out.append(f'<text x="{x:.1f}" y="{top + ph + 16}" text-anchor="middle">{tick_label(t)}</text>')
    for t in nice_ticks(y_lo, y_hi, y_log):
        y = sy(t)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" stroke="#e3e3e3"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{tick_label(t)}</text>')
    out.append(f'<text x="{left + pw / 2}" y="{height - 22}" text-anchor="middle" font-size="13">achieved '
               f'throughput (requests/s{", log scale" if x_log else ""})</text>')
    out.append(f'<text transform="translate(22 {top + ph / 2}) rotate(-90)" text-anchor="middle" font-size="13">'
               f'p99 latency (ms{", log scale" if y_log else ""})</text>')
    for mode, scenario, label, pts in series:
        color = PALETTE.get(scenario, "#444")
        dash = DASHES.get(mode, "4,2")
        # The line joins the fixed-rate points only: the peak run is closed-loop (its latency is
        # not corrected for coordinated omission), so it is a separate marker.
        path_d = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y, kind in pts if kind != "peak")
        out.append(f'<polyline points="{path_d}" fill="none" stroke="{color}" stroke-width="2"'
                   + (f' stroke-dasharray="{dash}"' if dash else "") + "/>")
        for x, y, kind in pts:
            if kind == "peak":
                cx, cy = sx(x), sy(y)
                out.append(f'<rect x="{cx - 5:.1f}" y="{cy - 5:.1f}" width="10" height="10" fill="{color}" '
                           f'transform="rotate(45 {cx:.1f} {cy:.1f})"><title>{esc(label)}: peak, {x:.0f} req/s, '
                           f'p99 {y:.2f} ms</title></rect>')
            else:
                out.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="4" fill="white" stroke="{color}" '
                           f'stroke-width="2"><title>{esc(label)}: {esc(kind)}, {x:.0f} req/s, p99 {y:.2f} ms'
                           f'</title></circle>')
    # Legend.
    lx, ly = left + pw + 24, top + 8
    out.append(f'<text x="{lx}" y="{ly}" font-weight="bold">mode · scenario</text>')
    for i, (mode, scenario, label, _) in enumerate(series):
        y = ly + 22 + i * 22
        color = PALETTE.get(scenario, "#444")
        dash = DASHES.get(mode, "4,2")
        out.append(f'<line x1="{lx}" y1="{y - 4}" x2="{lx + 34}" y2="{y - 4}" stroke="{color}" stroke-width="2"'
                   + (f' stroke-dasharray="{dash}"' if dash else "") + "/>")
        out.append(f'<text x="{lx + 42}" y="{y}">{esc(label)}</text>')
    y = ly + 22 + len(series) * 22 + 14
    out.append(f'<circle cx="{lx + 17}" cy="{y - 4}" r="4" fill="white" stroke="#444" stroke-width="2"/>')
    out.append(f'<text x="{lx + 42}" y="{y}">fixed rate: 25 / 50 / 75 % of peak</text>')
    y += 22
    out.append(f'<rect x="{lx + 12}" y="{y - 9}" width="10" height="10" fill="#444" '
               f'transform="rotate(45 {lx + 17} {y - 4})"/>')
    out.append(f'<text x="{lx + 42}" y="{y}">peak: {report["settings"]["concurrency"]} connections, '
               f'no rate limit</text>')
    out.append(f'<text x="{lx + 42}" y="{y + 16}" fill="#555" font-size="11">(closed loop: its latency '
               f'is not comparable)</text>')
    out.append("</svg>")
    path.write_text("\n".join(out) + "\n")


# --- main ----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--modes", default="embedded,mongodb", help="comma-separated: " + ", ".join(MODES))
    p.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated: " + ", ".join(SCENARIOS))
    p.add_argument("--token-format", choices=TOKEN_FORMATS, default="biscuit",
                   help="the bootstrap client's access tokens (TOKENER_BOOTSTRAP_CLIENT_TOKEN_FORMAT), in every "
                        "mode and scenario; the floor measured is that format's")
    p.add_argument("--duration", type=float, default=None, help="seconds of the peak run (default 10; 3 with --quick)")
    p.add_argument("--rate-duration", type=float, default=None, help="seconds of each fixed-rate run (default: --duration)")
    p.add_argument("--warmup", type=float, default=None, help="seconds of warm-up per scenario (default 2; 1 with --quick)")
    p.add_argument("--concurrency", type=int, default=32, help="connections of the peak runs (and at most, of the rate runs)")
    p.add_argument("--pause", type=float, default=1.0, help="seconds of rest between runs")
    p.add_argument("--out", default=str(REPO / "bench" / "results"), help="directory of the results")
    p.add_argument("--quick", action="store_true", help="short runs, to try the harness out")
    p.add_argument("--tool", choices=("auto", "oha", "wrk"), default="auto", help="load generator")
    p.add_argument("--no-install", action="store_true", help="do not install oha, wrk or pymongo when missing")
    p.add_argument("--max-load", type=float, default=1.5, help="wait for the 1-minute load average to fall to this")
    p.add_argument("--load-wait", type=float, default=240, help="seconds to wait at most for that (0: do not wait)")
    p.add_argument("--sustain", default="",
                   help="comma-separated rates (tokens/s): in writebehind mode, after the other runs of the "
                        "token scenario, a fixed-rate run at each for --sustain-duration seconds, with the "
                        "worker's lag read from Redis the moment it ends")
    p.add_argument("--sustain-duration", type=float, default=60, help="seconds of each --sustain run")
    p.add_argument("--no-floor", action="store_true",
                   help="do not measure the raw mint cost (criterion) to compare the CPU per token with")
    p.add_argument("--binary", default=None,
                   help="measure this tokener binary instead of building target/release/tokener "
                        "(e.g. an older commit's release build, for a before/after)")
    p.add_argument("--profile", action="store_true",
                   help="after the rate runs of each of --profile-scenarios, one more peak-like run (in no "
                        "table) with a CPU profile of the service and the database servers by `perf` "
                        "(cpu-clock), into <out>/profiles/")
    p.add_argument("--profile-scenarios", default="token", help="comma-separated scenarios --profile covers")
    p.add_argument("--keep-db", action="store_true", help="keep the mongodb mode's database afterwards")
    p.add_argument("--render-only", action="store_true", help="only rewrite results.md and latency.svg from results.json")
    args = p.parse_args(argv)
    if args.duration is None:
        args.duration = 3.0 if args.quick else 10.0
    if args.rate_duration is None:
        args.rate_duration = args.duration
    if args.warmup is None:
        args.warmup = 1.0 if args.quick else 2.0
    try:
        args.sustain_rates = [float(r) for r in args.sustain.split(",") if r.strip()]
    except ValueError:
        p.error(f"--sustain: not a list of rates: {args.sustain!r}")
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    for m in args.modes:
        if m not in MODES:
            p.error(f"unknown mode {m!r}; known: {', '.join(MODES)}")
    args.profile_scenarios = [s.strip() for s in args.profile_scenarios.split(",") if s.strip()]
    for s in args.scenarios + args.profile_scenarios:
        if s not in SCENARIOS:
            p.error(f"unknown scenario {s!r}; known: {', '.join(SCENARIOS)}")
    if args.profile and not shutil.which("perf"):
        p.error("--profile needs perf (Debian: apt-get install -y linux-perf)")
    args.out_dir = Path(args.out).resolve()
    return args


def main(argv: list[str] | None = None) -> int:
    invoked = time.monotonic()
    args = parse_args(argv)
    out = args.out_dir
    if args.render_only:
        report = json.loads((out / "results.json").read_text())
        write_markdown(out / "results.md", report)
        write_svg(out / "latency.svg", report)
        return 0
    raw_dir = out / "raw"
    raw_dir.mkdir(parents=True, exist_ok=True)
    ensure_binary(args.binary)

    gen = None
    notes = []
    if args.tool in ("auto", "oha"):
        path = find_or_install_oha(not args.no_install)
        if path:
            gen = Oha(path)
        elif args.tool == "oha":
            sys.exit("oha is not available")
    if gen is None:
        path = find_or_install_wrk(not args.no_install)
        if not path:
            sys.exit("no load generator: install oha (cargo install oha) or wrk (apt-get install wrk)")
        gen = Wrk(path)
        notes.append("the load generator is wrk, which has no fixed-rate mode: only the peak runs were made, "
                     "so there is no latency-vs-throughput curve")
    log(f"load generator: {gen.version} ({gen.path}); token format: {args.token_format}")

    run_id = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d_%H%M%S") + "_" + secrets.token_hex(3)
    secret = random_secret()
    tmp = Path(tempfile.mkdtemp(prefix="tokener-bench-"))
    keys = tmp / "keys.json"
    subprocess.run([str(BINARY), "keys", "generate", "--out", str(keys)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    common_env = {
        "TOKENER_BOOTSTRAP_CLIENT_ID": CLIENT_ID,
        "TOKENER_BOOTSTRAP_CLIENT_SECRET": secret,
        "TOKENER_BOOTSTRAP_CLIENT_SCOPES": CLIENT_SCOPES,
        "TOKENER_BOOTSTRAP_CLIENT_AUDIENCES": CLIENT_AUDIENCES,
        "TOKENER_BOOTSTRAP_CLIENT_TOKEN_FORMAT": args.token_format,
        "TOKENER_LOG": "warn",
        "TOKENER_SIGNING_KEY_FILE": str(keys),
    }

    # Start what the modes need before the quiet check, so a first FerretDB build is not measured.
    setups: dict[str, ModeSetup | Skip] = {}
    for mode in args.modes:
        try:
            setups[mode] = MODES[mode](run_id)
        except Skip as e:
            setups[mode] = e
            log(f"{mode}: skipped: {e}")

    if not args.no_floor:  # built now, measured once the machine is quiet
        subprocess.run(["cargo", "bench", "-q", "--no-run", "-p", "tokener-core", "--bench", "mint_verify"],
                       cwd=REPO, check=False, capture_output=True)
    machine_load = wait_for_quiet_machine(args.max_load, args.load_wait)
    mint_floor_us = None if args.no_floor else measure_mint_floor(args.token_format)
    started = time.monotonic()
    report = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "machine_load": machine_load,
        "tokener_version": command_output([str(BINARY), "--version"]),
        "load_generator": {"name": gen.name, "version": gen.version, "supports_rate": gen.supports_rate,
                           "latency_correction": getattr(gen, "latency_correction", False),
                           "same_machine": True},
        "settings": {"concurrency": args.concurrency, "duration_s": args.duration,
                     "rate_duration_s": args.rate_duration, "warmup_s": args.warmup,
                     "rate_fractions": list(RATE_FRACTIONS), "scenarios": args.scenarios,
                     "sustain_rates": args.sustain_rates, "sustain_duration_s": args.sustain_duration,
                     "client_scopes": CLIENT_SCOPES, "client_audiences": CLIENT_AUDIENCES,
                     "token_format": args.token_format},
        "notes": notes,
        "mint_floor_us": mint_floor_us,
        "mint_floor_benchmark": "/".join(MINT_FLOORS[args.token_format][:2]),
        "modes": [],
    }
    descriptions = {
        "embedded": "In-memory store (no TOKENER_MONGODB_URI).",
        "mongodb": ("Write-through to MongoDB: FerretDB (SQLite backend) on this machine, the server the tests use; "
                    "each scenario on a fresh database."),
        "writebehind": "MongoDB record plus Redis cache and write-behind queue (TOKENER_REDIS_URL).",
        "cluster": ("The same on a local Redis Cluster of 3 primaries and 3 replicas (TOKENER_REDIS_CLUSTER_URLS), "
                    "the queue in 16 partitions."),
    }
    try:
        for mode in args.modes:
            setup = setups[mode]
            entry = {"mode": mode, "description": descriptions.get(mode, ""), "scenarios": []}
            report["modes"].append(entry)
            if isinstance(setup, Skip):
                entry["skipped"] = str(setup)
                continue
            if setup.database:
                entry["databases"] = [setup.for_scenario(s).database for s in args.scenarios]
            try:
                for scenario in args.scenarios:
                    time.sleep(args.pause)
                    scenario_setup = setup.for_scenario(scenario)
                    try:
                        entry["scenarios"].append(run_scenario(gen, mode, scenario, scenario_setup, common_env,
                                                               secret, args, raw_dir))
                    finally:
                        if scenario_setup.database and not args.keep_db:
                            drop_database(scenario_setup)
            except Skip as e:
                log(f"{mode}: skipped: {e}")
                entry["skipped"] = str(e)
                entry["scenarios"] = []
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        report["total_run_time_s"] = round(time.monotonic() - started, 1)  # the measurements
        report["wall_clock_s"] = round(time.monotonic() - invoked, 1)  # with set-up and waiting
        machine_load["loadavg_at_end"] = loadavg()
        (out / "results.json").write_text(json.dumps(report, indent=2) + "\n")
        write_markdown(out / "results.md", report)
        write_svg(out / "latency.svg", report)
    log(f"done in {report['wall_clock_s'] / 60:.1f} min: {out / 'results.md'}, results.json, latency.svg")
    return 0


if __name__ == "__main__":
    sys.exit(main())
