"""Fixtures for the interoperability tests: a real `tokener` process on a free loopback port.

The binary is `$TOKENER_BIN` when set, else `<repo>/target/debug/tokener` (under
`$CARGO_TARGET_DIR` when that is set), built once with `cargo build -p tokener-http` when
missing. Each test session (each xdist worker, when run in parallel) starts its own process
on its own port with the embedded in-memory store, so runs never share state.

The third-party packages are imported unconditionally: a missing package is a collection
error (a failed run), never a skipped test.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
# Cargo resolves a relative CARGO_TARGET_DIR against the directory it runs in (the repo root).
DEFAULT_BINARY = REPO_ROOT / (os.environ.get("CARGO_TARGET_DIR") or "target") / "debug" / "tokener"

CLIENT_ID = "interop"
CLIENT_SCOPES = ("orders:read", "orders:write")
CLIENT_AUDIENCES = ("orders",)

STARTUP_TIMEOUT_S = 20.0
STOP_GRACE_S = 5.0
HTTP_TIMEOUT_S = 10.0
PORT_ATTEMPTS = 3

_build_lock = threading.Lock()


@dataclasses.dataclass(frozen=True)
class Tokener:
    """A running Tokener process and the bootstrap client it was started with."""

    base_url: str
    client_id: str
    client_secret: str = dataclasses.field(repr=False)  # never in a failure report
    scopes: tuple[str, ...]
    audiences: tuple[str, ...]
    log_path: Path
    process: subprocess.Popen | None = dataclasses.field(default=None, compare=False, repr=False)

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])

    def stop(self) -> None:
        """Stops the process now (SIGTERM, then SIGKILL after a grace period)."""
        if self.process is not None:
            _stop(self.process)

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def basic_auth(self) -> tuple[str, str]:
        return (self.client_id, self.client_secret)

    def log_tail(self, limit: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-limit:]
        except OSError:
            return "<no log>"


def random_secret() -> str:
    """A random client secret: 48 URL-safe characters (well over Tokener's 32 minimum)."""
    return secrets.token_urlsafe(36)


def tokener_binary() -> Path:
    """The binary to run: `$TOKENER_BIN`, else the debug build (built once when missing)."""
    explicit = os.environ.get("TOKENER_BIN")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            pytest.fail(f"TOKENER_BIN={explicit} is not a file", pytrace=False)
        return path
    with _build_lock:
        if not DEFAULT_BINARY.is_file():
            result = subprocess.run(
                ["cargo", "build", "-p", "tokener-http"],
                cwd=REPO_ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            if result.returncode != 0:
                pytest.fail(
                    "cargo build -p tokener-http failed:\n" + result.stdout[-4000:],
                    pytrace=False,
                )
            if not DEFAULT_BINARY.is_file():
                pytest.fail(
                    f"cargo build -p tokener-http succeeded but {DEFAULT_BINARY} does not "
                    "exist; set TOKENER_BIN to the built binary",
                    pytrace=False,
                )
    return DEFAULT_BINARY


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _child_env(
    port: int,
    secret: str,
    extra: dict[str, str] | None = None,
    scopes: tuple[str, ...] = CLIENT_SCOPES,
) -> dict[str, str]:
    # Drop any TOKENER_* settings of the caller (a MongoDB URI, a key file, ...): these tests
    # always run against a fresh, isolated process, configured only by `extra`.
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKENER_")}
    env.update(extra or {})
    env.update(
        {
            "TOKENER_LISTEN": f"127.0.0.1:{port}",
            "TOKENER_BOOTSTRAP_CLIENT_ID": CLIENT_ID,
            "TOKENER_BOOTSTRAP_CLIENT_SECRET": secret,
            "TOKENER_BOOTSTRAP_CLIENT_SCOPES": " ".join(scopes),
            "TOKENER_BOOTSTRAP_CLIENT_AUDIENCES": " ".join(CLIENT_AUDIENCES),
        }
    )
    return env


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_GRACE_S)


def _wait_healthy(process: subprocess.Popen, base_url: str) -> bool:
    """True once `GET /healthz` answers 200; False if the process exits first."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            if requests.get(base_url + "/healthz", timeout=1).status_code == 200:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.05)
    return False


@contextlib.contextmanager
def run_tokener(
    log_dir: Path,
    secret: str | None = None,
    *,
    port: int | None = None,
    env: dict[str, str] | None = None,
    scopes: tuple[str, ...] = CLIENT_SCOPES,
) -> Iterator[Tokener]:
    """Start Tokener on a free loopback port (or on `port`: one attempt only), with the
    `TOKENER_*` settings in `env` added and the bootstrap client allowed `scopes`, yield it
    once healthy, stop it afterwards."""
    binary = tokener_binary()
    secret = secret or random_secret()
    log_dir.mkdir(parents=True, exist_ok=True)
    last_log = ""
    attempts = PORT_ATTEMPTS if port is None else 1
    fixed_port = port
    for attempt in range(attempts):
        port = fixed_port or free_loopback_port()
        base_url = f"http://127.0.0.1:{port}"
        log_path = log_dir / f"tokener-{port}-{attempt}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [str(binary)],
                cwd=REPO_ROOT,
                env=_child_env(port, secret, env, scopes),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        server = Tokener(
            base_url=base_url,
            client_id=CLIENT_ID,
            client_secret=secret,
            scopes=scopes,
            audiences=CLIENT_AUDIENCES,
            log_path=log_path,
            process=process,
        )
        try:
            if _wait_healthy(process, base_url):
                yield server
                return
            last_log = server.log_tail()
            # The process died (the port may have been taken in the meantime) or never became
            # healthy: try again on another port.
        finally:
            _stop(process)
    pytest.fail(
        f"tokener did not answer GET /healthz within {STARTUP_TIMEOUT_S:.0f}s "
        f"({attempts} attempt(s)); last log:\n{last_log}",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def tokener(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tokener]:
    """One Tokener process for the whole session, with the `interop` bootstrap client."""
    with run_tokener(tmp_path_factory.mktemp("tokener")) as server:
        yield server


@pytest.fixture(scope="session")
def http() -> Iterator[requests.Session]:
    """A plain HTTP session (no OAuth2 logic) for direct calls."""
    with requests.Session() as session:
        yield session


@pytest.fixture(scope="session")
def server_metadata(tokener: Tokener, http: requests.Session) -> dict:
    """The RFC 8414 metadata document."""
    response = http.get(
        tokener.url("/.well-known/oauth-authorization-server"), timeout=HTTP_TIMEOUT_S
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="session")
def launch_tokener(tmp_path_factory: pytest.TempPathFactory):
    """`launch_tokener(secret)`: a context manager running one more, separate Tokener process
    whose bootstrap client has the given secret."""

    def launch(secret: str | None = None):
        return run_tokener(tmp_path_factory.mktemp("tokener-extra"), secret)

    return launch


@pytest.fixture(scope="session")
def introspect(tokener: Tokener, http: requests.Session):
    """`introspect(token)`: `POST /oauth2/introspect` with client_secret_basic, parsed JSON."""

    def call(token: str) -> dict:
        response = http.post(
            tokener.url("/oauth2/introspect"),
            data={"token": token},
            auth=tokener.basic_auth,
            timeout=HTTP_TIMEOUT_S,
        )
        assert response.status_code == 200, response.text
        assert response.headers.get("content-type", "").startswith("application/json")
        return response.json()

    return call
