"""Starting and stopping a `tokener` process, for the Python suites (tests/interop and
tests/contract import it from their conftest.py): on a free loopback port, on another port if
that one was taken meanwhile, stopped with SIGTERM (then SIGKILL) afterwards.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parents[1]
# Cargo resolves a relative CARGO_TARGET_DIR against the directory it runs in (the repo root).
DEFAULT_BINARY = REPO_ROOT / (os.environ.get("CARGO_TARGET_DIR") or "target") / "debug" / "tokener"

STARTUP_TIMEOUT_S = 20.0
STOP_GRACE_S = 5.0
PORT_ATTEMPTS = 3


def random_secret() -> str:
    """A random client secret: 48 URL-safe characters (well over Tokener's 32 minimum)."""
    return secrets.token_urlsafe(36)


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def isolated_env(settings: dict[str, str]) -> dict[str, str]:
    """This environment without any TOKENER_* setting of the caller (a MongoDB URI, a key
    file, ...), plus `settings`: each process is configured only by its suite."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKENER_")}
    env.update(settings)
    return env


def stop(process: subprocess.Popen) -> None:
    """Stops the process now (SIGTERM, then SIGKILL after a grace period)."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_GRACE_S)


def wait_healthy(process: subprocess.Popen, base_url: str) -> bool:
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


@dataclasses.dataclass(frozen=True)
class Started:
    base_url: str
    log_path: Path
    process: subprocess.Popen


@contextlib.contextmanager
def started(
    binary: Path,
    log_dir: Path,
    env_for_port: Callable[[int], dict[str, str]],
    port: int | None = None,
) -> Iterator[Started]:
    """Runs `binary` with the environment `env_for_port(port)` on a free loopback port (or on
    `port`: one attempt only), yields it once healthy, stops it afterwards."""
    log_dir.mkdir(parents=True, exist_ok=True)
    last_log = ""
    attempts = PORT_ATTEMPTS if port is None else 1
    for attempt in range(attempts):
        chosen = port or free_loopback_port()
        base_url = f"http://127.0.0.1:{chosen}"
        log_path = log_dir / f"tokener-{chosen}-{attempt}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [str(binary)],
                cwd=REPO_ROOT,
                env=env_for_port(chosen),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            if wait_healthy(process, base_url):
                yield Started(base_url=base_url, log_path=log_path, process=process)
                return
            last_log = log_path.read_text(errors="replace")[-4000:]
            # The process died (the port may have been taken in the meantime) or never became
            # healthy: try again on another port.
        finally:
            stop(process)
    pytest.fail(
        f"tokener did not answer GET /healthz within {STARTUP_TIMEOUT_S:.0f}s "
        f"({attempts} attempt(s)); last log:\n{last_log}",
        pytrace=False,
    )
