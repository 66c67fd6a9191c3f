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
import subprocess
import sys
import threading
from pathlib import Path
from typing import Iterator

import pytest
import requests

# The process handling shared with tests/contract (tests/tokener_process.py).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tokener_process import (  # noqa: E402
    DEFAULT_BINARY,
    REPO_ROOT,
    free_loopback_port,
    isolated_env,
    random_secret,
    started,
    stop,
)

CLIENT_ID = "interop"
CLIENT_SCOPES = ("orders:read", "orders:write")
CLIENT_AUDIENCES = ("orders",)

HTTP_TIMEOUT_S = 10.0

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
            stop(self.process)

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


def _child_env(
    port: int,
    secret: str,
    extra: dict[str, str] | None = None,
    scopes: tuple[str, ...] = CLIENT_SCOPES,
) -> dict[str, str]:
    # A fresh, isolated process, configured only by `extra` and the bootstrap client.
    return isolated_env(
        {
            **(extra or {}),
            "TOKENER_LISTEN": f"127.0.0.1:{port}",
            "TOKENER_BOOTSTRAP_CLIENT_ID": CLIENT_ID,
            "TOKENER_BOOTSTRAP_CLIENT_SECRET": secret,
            "TOKENER_BOOTSTRAP_CLIENT_SCOPES": " ".join(scopes),
            "TOKENER_BOOTSTRAP_CLIENT_AUDIENCES": " ".join(CLIENT_AUDIENCES),
        }
    )


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
    with started(
        binary, log_dir, lambda chosen: _child_env(chosen, secret, env, scopes), port
    ) as process:
        yield Tokener(
            base_url=process.base_url,
            client_id=CLIENT_ID,
            client_secret=secret,
            scopes=scopes,
            audiences=CLIENT_AUDIENCES,
            log_path=process.log_path,
            process=process.process,
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
