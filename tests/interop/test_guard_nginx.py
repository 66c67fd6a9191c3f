"""`tokener guard` behind NGINX `auth_request`: the forward-auth sidecar in front of a real
upstream, as it would run in production.

    client -> NGINX --auth_request /_auth--> tokener guard --feed--> Tokener
                    \\--proxy_pass (with X-Tokener-* from the guard)--> upstream

NGINX comes from Debian (installed by the `nginx_binary` fixture when missing, as root) and runs
as this test's own process (`-g 'daemon off;'`), its configuration, pid file, logs and temp paths
all under the test's tmp dir, on a free loopback port. The upstream is a small Python HTTP
server that echoes the X-Tokener-* headers it received. Nothing is mocked.

The catch-up test needs a store that survives a restart: it runs Tokener on MongoDB
(`TOKENER_TEST_MONGODB_URI`, set by scripts/test-services.sh); without it the test is skipped,
or fails when `TOKENER_TEST_REQUIRE_SERVICES=1`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import http.server
import json
import os
import secrets
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest
import requests

from conftest import (
    REPO_ROOT,
    Tokener,
    free_loopback_port,
    random_secret,
    run_tokener,
    tokener_binary,
)

HTTP_TIMEOUT_S = 10
START_TIMEOUT_S = 20.0
STOP_GRACE_S = 5.0
PORT_ATTEMPTS = 3
POLL_INTERVAL_S = 0.02
REVOCATION_BOUND_S = 3.0  # the guard follows the stream: expected well under a second
CATCH_UP_BOUND_S = 10.0  # after a Tokener restart: the stream's reconnection delay on top
REQUIRED_SCOPE = "orders:read"


# --- NGINX -------------------------------------------------------------------------------------


def _require_services() -> bool:
    return os.environ.get("TOKENER_TEST_REQUIRE_SERVICES") == "1"


@pytest.fixture(scope="session")
def nginx_binary() -> str:
    """`nginx` (with the auth_request module), installed from Debian when missing."""
    with _install_lock():
        found = _find_nginx() or _install_nginx()
    version = subprocess.run([found, "-V"], capture_output=True, text=True, timeout=30)
    if "http_auth_request_module" not in version.stderr:
        pytest.fail(f"{found} was built without the auth_request module", pytrace=False)
    return found


def _find_nginx() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )


@contextlib.contextmanager
def _install_lock() -> Iterator[None]:
    """One installer at a time across parallel test processes (dpkg takes one at a time)."""
    lock_dir = REPO_ROOT / (os.environ.get("CARGO_TARGET_DIR") or "target")
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / "interop-nginx-install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _install_nginx() -> str:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.fail(
            "nginx is not installed and cannot be installed here (needs root and apt-get): "
            "install Debian's nginx package",
            pytrace=False,
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "nginx"]
    result = subprocess.run(install, env=env, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:  # stale package lists: update once, then retry
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=600)
        result = subprocess.run(install, env=env, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        pytest.fail(f"apt-get install nginx failed:\n{result.stderr[-3000:]}", pytrace=False)
    found = _find_nginx()
    if found is None:
        pytest.fail("apt-get installed nginx, but no nginx binary was found", pytrace=False)
    return found


NGINX_CONFIG = """\
# Written by tests/interop/test_guard_nginx.py; everything lives under {tmp}.
{user}
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log info;

events {{
    worker_connections 128;
}}

http {{
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;

    server {{
        listen 127.0.0.1:{port};

        # The forward-auth subrequest: only the headers go to the guard, never the body.
        location = /_auth {{
            internal;
            proxy_pass http://127.0.0.1:{guard_port}/auth?scope={scope};
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header Authorization $http_authorization;
            proxy_set_header X-Original-Method $request_method;
            proxy_set_header X-Original-URI $request_uri;
        }}

        location / {{
            auth_request /_auth;
            auth_request_set $tokener_client $upstream_http_x_tokener_client;
            auth_request_set $tokener_scopes $upstream_http_x_tokener_scopes;
            auth_request_set $tokener_token_id $upstream_http_x_tokener_token_id;
            auth_request_set $auth_www $upstream_http_www_authenticate;

            # The guard's answer replaces anything the client sent under these names.
            proxy_set_header X-Tokener-Client $tokener_client;
            proxy_set_header X-Tokener-Scopes $tokener_scopes;
            proxy_set_header X-Tokener-Token-Id $tokener_token_id;
            proxy_pass http://127.0.0.1:{upstream_port};

            # The client sees the guard's status and challenge. On a 401, auth_request itself
            # passes the guard's WWW-Authenticate on (adding it again would send it twice);
            # on a 403 it passes nothing, so @forbidden adds it.
            error_page 401 = @unauthorized;
            error_page 403 = @forbidden;
        }}

        location @unauthorized {{
            return 401 "unauthorized\\n";
        }}

        location @forbidden {{
            add_header WWW-Authenticate $auth_www always;
            return 403 "forbidden\\n";
        }}
    }}
}}
"""


def _stop_process(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_GRACE_S)


def _tail(path: Path, limit: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return "<no log>"


def _wait_http(process: subprocess.Popen, url: str, ready: Callable[[requests.Response], bool]) -> bool:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            if ready(requests.get(url, timeout=1)):
                return True
        except requests.RequestException:
            pass
        time.sleep(0.05)
    return False


@contextlib.contextmanager
def run_nginx(binary: str, tmp: Path, guard_port: int, upstream_port: int) -> Iterator[str]:
    """NGINX in front of the upstream, asking the guard; yields its base URL."""
    tmp.mkdir(parents=True, exist_ok=True)
    # Run as root, NGINX would hand its workers to `nobody`, who cannot enter the tmp dir.
    user = "user root;" if os.geteuid() == 0 else ""
    last = ""
    for attempt in range(PORT_ATTEMPTS):
        port = free_loopback_port()
        config = tmp / f"nginx-{attempt}.conf"
        config.write_text(
            NGINX_CONFIG.format(
                tmp=tmp,
                user=user,
                port=port,
                guard_port=guard_port,
                upstream_port=upstream_port,
                scope=REQUIRED_SCOPE,
            )
        )
        log = tmp / f"nginx-{attempt}.out"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [binary, "-p", str(tmp), "-e", str(tmp / "error.log"), "-c", str(config), "-g", "daemon off;"],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        base_url = f"http://127.0.0.1:{port}"
        try:
            # Any HTTP answer means NGINX listens (401 here: no token).
            if _wait_http(process, base_url + "/", lambda r: r.status_code in (200, 401, 403, 500, 503)):
                yield base_url
                return
            last = _tail(log) + _tail(tmp / "error.log")
        finally:
            # SIGQUIT: graceful shutdown of master and workers.
            _stop_process(process, signal.SIGQUIT)
    pytest.fail(f"nginx did not start ({PORT_ATTEMPTS} attempts):\n{last}", pytrace=False)


# --- the upstream ------------------------------------------------------------------------------


class Upstream:
    """A threaded HTTP server answering every request with the X-Tokener-* headers it got."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        self.lock = threading.Lock()
        upstream = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                seen = {k.lower(): v for k, v in self.headers.items() if k.lower().startswith("x-tokener-")}
                with upstream.lock:
                    upstream.requests.append({"path": self.path, **seen})
                body = json.dumps({"path": self.path, "headers": seen}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, format, *args) -> None:  # noqa: A002 - the base class's name
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Upstream":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def count(self) -> int:
        with self.lock:
            return len(self.requests)


# --- the guard ---------------------------------------------------------------------------------


@dataclasses.dataclass
class Guard:
    base_url: str
    port: int
    log_path: Path

    def log_tail(self) -> str:
        return _tail(self.log_path)


@contextlib.contextmanager
def run_guard(tmp: Path, tokener_url: str, *extra: str) -> Iterator[Guard]:
    """`tokener guard` following `tokener_url`; yields it once `/readyz` answers 200 (keys
    loaded, revocations synced)."""
    binary = tokener_binary()
    tmp.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKENER_")}
    last = ""
    for attempt in range(PORT_ATTEMPTS):
        port = free_loopback_port()
        log_path = tmp / f"guard-{port}-{attempt}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [str(binary), "guard", "--listen", f"127.0.0.1:{port}", "--tokener-url", tokener_url, *extra],
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        guard = Guard(base_url=f"http://127.0.0.1:{port}", port=port, log_path=log_path)
        try:
            if _wait_http(process, guard.base_url + "/readyz", lambda r: r.status_code == 200):
                yield guard
                return
            outcome = (
                f"exited with status {process.returncode}"
                if process.poll() is not None
                else f"did not answer GET /readyz with 200 within {START_TIMEOUT_S:.0f}s"
            )
            last = f"{outcome}; log:\n{guard.log_tail()}"
        finally:
            _stop_process(process)
    pytest.fail(f"tokener guard did not start ({PORT_ATTEMPTS} attempts): {last}", pytrace=False)


# --- the whole stack ---------------------------------------------------------------------------


def issue(session: requests.Session, server: Tokener, *scopes: str) -> dict:
    """A token from the client credentials grant (all the client's scopes unless named)."""
    form = {"grant_type": "client_credentials"}
    if scopes:
        form["scope"] = " ".join(scopes)
    response = session.post(server.url("/oauth2/token"), data=form, auth=server.basic_auth, timeout=HTTP_TIMEOUT_S)
    assert response.status_code == 200, response.text
    return response.json()


def revoke(session: requests.Session, server: Tokener, token: str) -> None:
    response = session.post(
        server.url("/oauth2/revoke"), data={"token": token}, auth=server.basic_auth, timeout=HTTP_TIMEOUT_S
    )
    assert response.status_code == 200, response.text


@dataclasses.dataclass
class Stack:
    tokener: Tokener
    guard: Guard
    upstream: Upstream
    nginx_url: str
    http: requests.Session

    def issue(self, *scopes: str) -> dict:
        return issue(self.http, self.tokener, *scopes)

    def revoke(self, token: str) -> None:
        revoke(self.http, self.tokener, token)

    def call(
        self, token: str | None, path: str = "/orders", headers: dict | None = None, method: str = "GET"
    ) -> requests.Response:
        headers = dict(headers or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.http.request(method, self.nginx_url + path, headers=headers, timeout=HTTP_TIMEOUT_S)

    def wait_status(self, token: str, status: int, bound_s: float) -> float:
        """Polls through NGINX until `token` gets `status`; returns the delay in seconds."""
        start = time.monotonic()
        last = None
        while True:
            last = self.call(token).status_code
            elapsed = time.monotonic() - start
            if last == status:
                return elapsed
            if elapsed > bound_s:
                pytest.fail(
                    f"still {last} (want {status}) {elapsed:.2f}s after the change; guard log:\n"
                    f"{self.guard.log_tail()}",
                    pytrace=False,
                )
            time.sleep(POLL_INTERVAL_S)

    def diagnostics(self) -> str:
        return f"guard log:\n{self.guard.log_tail()}\ntokener log:\n{self.tokener.log_tail()}"


@contextlib.contextmanager
def guarded(tokener: Tokener, tmp: Path, nginx: str) -> Iterator[Stack]:
    with (
        requests.Session() as session,
        run_guard(tmp / "guard", tokener.base_url) as guard,
        Upstream() as upstream,
        run_nginx(nginx, tmp / "nginx", guard.port, upstream.port) as nginx_url,
    ):
        yield Stack(tokener=tokener, guard=guard, upstream=upstream, nginx_url=nginx_url, http=session)


@pytest.fixture(scope="module")
def stack(tmp_path_factory, nginx_binary) -> Iterator[Stack]:
    """One Tokener (embedded store), guard, upstream and NGINX for the tests that leave them running."""
    tmp = tmp_path_factory.mktemp("guard-stack")
    with run_tokener(tmp / "tokener") as server, guarded(server, tmp, nginx_binary) as running:
        yield running


@pytest.fixture
def own_stack(tmp_path, nginx_binary) -> Iterator[Stack]:
    """A stack of its own, for a test that stops Tokener."""
    with run_tokener(tmp_path / "tokener") as server, guarded(server, tmp_path, nginx_binary) as running:
        yield running


def challenge_of(response: requests.Response) -> str:
    """The one WWW-Authenticate header of the answer (NGINX must not repeat it)."""
    values = response.raw.headers.getlist("WWW-Authenticate")
    assert len(values) == 1, f"want one WWW-Authenticate header, got {values}"
    return values[0]


def report(capsys, line: str) -> None:
    """A measurement on the terminal even when pytest captures output."""
    with capsys.disabled():
        print(f"\n    {line}")


# --- the answers ---------------------------------------------------------------------------------


def test_valid_token_reaches_the_upstream_with_the_guard_headers(stack):
    answer = stack.issue()
    before = stack.upstream.count()

    response = stack.call(answer["access_token"])

    assert response.status_code == 200, (response.status_code, response.text, stack.diagnostics())
    seen = response.json()["headers"]
    assert seen["x-tokener-client"] == stack.tokener.client_id
    assert set(seen["x-tokener-scopes"].split(" ")) == set(stack.tokener.scopes)
    token_id = stack.http.post(
        stack.tokener.url("/oauth2/introspect"),
        data={"token": answer["access_token"]},
        auth=stack.tokener.basic_auth,
        timeout=HTTP_TIMEOUT_S,
    ).json()["jti"]
    assert seen["x-tokener-token-id"] == token_id
    assert stack.upstream.count() == before + 1


def test_client_supplied_identity_headers_are_replaced(stack):
    token = stack.issue(REQUIRED_SCOPE)["access_token"]
    response = stack.call(token, headers={"X-Tokener-Client": "mallory", "X-Tokener-Scopes": "tokener:admin"})
    assert response.status_code == 200, response.text
    seen = response.json()["headers"]
    assert seen["x-tokener-client"] == stack.tokener.client_id
    assert seen["x-tokener-scopes"] == REQUIRED_SCOPE


def test_no_token_is_401_with_a_bare_challenge(stack):
    before = stack.upstream.count()
    response = stack.call(None)
    assert response.status_code == 401, response.text
    challenge = challenge_of(response)
    assert challenge.startswith("Bearer"), challenge
    assert 'realm="tokener"' in challenge
    assert "error=" not in challenge  # RFC 6750 §3.1: no error code without credentials
    assert stack.upstream.count() == before


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param("Bearer not-a-biscuit", id="garbage"),
        pytest.param("Bearer " + "A" * 200, id="undecodable-base64-blob"),
        pytest.param("Basic aW50ZXJvcDpzZWNyZXQ=", id="basic-credentials"),
    ],
)
def test_invalid_credentials_are_401_invalid_token(stack, authorization):
    before = stack.upstream.count()
    response = stack.call(None, headers={"Authorization": authorization})
    assert response.status_code == 401, response.text
    challenge = challenge_of(response)
    assert challenge.startswith("Bearer"), challenge
    if authorization.startswith("Bearer "):
        assert 'error="invalid_token"' in challenge, challenge
    assert stack.upstream.count() == before


def test_token_lacking_the_scope_is_403_insufficient_scope(stack):
    token = stack.issue("orders:write")["access_token"]
    before = stack.upstream.count()

    response = stack.call(token)

    assert response.status_code == 403, (response.status_code, response.text)
    challenge = challenge_of(response)
    assert challenge.startswith("Bearer"), challenge
    assert 'error="insufficient_scope"' in challenge, challenge
    assert f'scope="{REQUIRED_SCOPE}"' in challenge, challenge
    assert stack.upstream.count() == before


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_every_method_is_guarded(stack, method):
    """auth_request sends the original method to the guard (without the body)."""
    token = stack.issue(REQUIRED_SCOPE)["access_token"]
    response = stack.http.request(
        method,
        stack.nginx_url + "/orders/42",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        data=json.dumps({"note": "x" * 2048}),
        timeout=HTTP_TIMEOUT_S,
    )
    assert response.status_code == 200, (response.status_code, response.text, stack.diagnostics())
    assert response.json()["headers"]["x-tokener-client"] == stack.tokener.client_id
    assert stack.call(None, path="/orders/42", method=method).status_code == 401


def test_revoked_token_is_401_within_a_second(stack, capsys):
    token = stack.issue(REQUIRED_SCOPE)["access_token"]
    assert stack.call(token).status_code == 200

    stack.revoke(token)
    delay = stack.wait_status(token, 401, REVOCATION_BOUND_S)

    report(capsys, f"guard behind nginx rejected a revoked token {delay * 1000:.0f} ms after the revocation")
    response = stack.call(token)
    assert 'error="invalid_token"' in challenge_of(response)
    # Other tokens are unaffected.
    assert stack.call(stack.issue(REQUIRED_SCOPE)["access_token"]).status_code == 200


def test_guard_keeps_deciding_while_tokener_is_down(own_stack):
    stack = own_stack
    valid = stack.issue(REQUIRED_SCOPE)["access_token"]
    revoked = stack.issue(REQUIRED_SCOPE)["access_token"]
    assert stack.call(valid).status_code == 200
    stack.revoke(revoked)
    stack.wait_status(revoked, 401, REVOCATION_BOUND_S)

    stack.tokener.stop()
    with pytest.raises(requests.ConnectionError):
        stack.http.get(stack.tokener.url("/healthz"), timeout=2)

    # Offline verification with the keys and the revocations the guard already holds.
    for _ in range(5):
        assert stack.call(valid).status_code == 200, stack.diagnostics()
        assert stack.call(revoked).status_code == 401, stack.diagnostics()
    assert stack.call(None).status_code == 401


def _ask_guard(guard: Guard, token: str, session: requests.Session) -> requests.Response:
    """The guard directly, without NGINX (which turns anything but 2xx/401/403 into a 500)."""
    return session.get(
        guard.base_url + "/auth",
        params={"scope": REQUIRED_SCOPE},
        headers={"Authorization": f"Bearer {token}"},
        timeout=HTTP_TIMEOUT_S,
    )


# Longer than the stream's heartbeat interval (5 s), so a guard connected to a live Tokener is
# never stale, however it measures staleness.
STALENESS_S = 6
STALE_BOUND_S = STALENESS_S + 5 + 4


def test_guard_fails_closed_when_its_revocations_are_stale(tmp_path):
    with (
        requests.Session() as session,
        run_tokener(tmp_path / "tokener") as server,
        run_guard(tmp_path / "closed", server.base_url, "--max-staleness-seconds", str(STALENESS_S)) as closed,
        run_guard(
            tmp_path / "open",
            server.base_url,
            "--max-staleness-seconds",
            str(STALENESS_S),
            "--fail-open-when-stale",
        ) as open_,
    ):
        valid = issue(session, server, REQUIRED_SCOPE)["access_token"]
        revoked = issue(session, server, REQUIRED_SCOPE)["access_token"]
        revoke(session, server, revoked)
        deadline = time.monotonic() + REVOCATION_BOUND_S
        while any(_ask_guard(g, revoked, session).status_code != 401 for g in (closed, open_)):
            assert time.monotonic() < deadline, "the guards did not learn of the revocation"
            time.sleep(POLL_INTERVAL_S)
        assert _ask_guard(closed, valid, session).status_code == 200

        server.stop()
        stopped = time.monotonic()
        while (answer := _ask_guard(closed, valid, session)).status_code == 200:
            assert time.monotonic() - stopped < STALE_BOUND_S, (
                f"the guard still allows {STALE_BOUND_S}s after Tokener stopped "
                f"(--max-staleness-seconds {STALENESS_S}); log:\n{closed.log_tail()}"
            )
            time.sleep(0.1)
        # (No lower bound on when: the guard may count from its last confirmation, which can
        # precede the stop by a heartbeat interval.)
        assert answer.status_code == 503, (answer.status_code, answer.text)
        assert answer.headers.get("Retry-After", "").isdigit(), answer.headers
        assert session.get(closed.base_url + "/readyz", timeout=HTTP_TIMEOUT_S).status_code == 503
        # Failing open lets valid tokens through; revocations it holds still apply.
        assert _ask_guard(open_, valid, session).status_code == 200
        assert _ask_guard(open_, revoked, session).status_code == 401


# --- catch-up after a Tokener restart (MongoDB: the store outlives the process) ----------------


@pytest.fixture
def mongodb_uri() -> str:
    uri = os.environ.get("TOKENER_TEST_MONGODB_URI", "").strip()
    if not uri:
        message = "TOKENER_TEST_MONGODB_URI is unset (run `source scripts/test-services.sh` first)"
        if _require_services():
            pytest.fail(message + " but TOKENER_TEST_REQUIRE_SERVICES=1", pytrace=False)
        pytest.skip(message)
    return uri


def _generate_key_file(path: Path) -> Path:
    result = subprocess.run(
        [str(tokener_binary()), "keys", "generate", "--out", str(path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, f"tokener keys generate failed: {result.stderr[-2000:]}"
    assert path.is_file()
    return path


def test_guard_catches_up_after_tokener_restarts(tmp_path, nginx_binary, mongodb_uri, capsys):
    key_file = _generate_key_file(tmp_path / "keys.json")
    settings = {
        "TOKENER_MONGODB_URI": mongodb_uri,
        # A database of its own: parallel runs and other suites never see these records.
        "TOKENER_MONGODB_DATABASE": f"tokener_guard_{secrets.token_hex(6)}",
        "TOKENER_SIGNING_KEY_FILE": str(key_file),
    }
    secret = random_secret()

    with run_tokener(tmp_path / "tokener-1", secret, env=settings) as first:
        with guarded(first, tmp_path, nginx_binary) as stack:
            kept = stack.issue(REQUIRED_SCOPE)["access_token"]
            early = stack.issue(REQUIRED_SCOPE)["access_token"]
            later = [stack.issue(REQUIRED_SCOPE)["access_token"] for _ in range(2)]
            for token in (kept, early, *later):
                assert stack.call(token).status_code == 200, stack.diagnostics()
            stack.revoke(early)
            stack.wait_status(early, 401, REVOCATION_BOUND_S)

            # Tokener goes away; the guard keeps answering from what it holds.
            first.stop()
            assert stack.call(kept).status_code == 200, stack.diagnostics()
            assert stack.call(early).status_code == 401

            # The same service comes back: same port, same database, same key.
            with run_tokener(tmp_path / "tokener-2", secret, port=first.port, env=settings) as second:
                stack.tokener = second
                # Tokens issued before the restart are still Tokener's own.
                assert stack.call(kept).status_code == 200, stack.diagnostics()
                for token in later:
                    stack.revoke(token)
                delays = [stack.wait_status(token, 401, CATCH_UP_BOUND_S) for token in later]

                report(
                    capsys,
                    "guard after a Tokener restart rejected the newly revoked tokens within "
                    + ", ".join(f"{d * 1000:.0f} ms" for d in delays),
                )
                # None lost, none extra.
                for token in later:
                    assert stack.call(token).status_code == 401
                assert stack.call(early).status_code == 401
                assert stack.call(kept).status_code == 200
                fresh = stack.issue(REQUIRED_SCOPE)["access_token"]
                assert stack.call(fresh).status_code == 200, stack.diagnostics()
