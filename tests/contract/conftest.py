"""A real `tokener` process for the contract tests, started the way tests/interop starts one.

The binary is `$TOKENER_BIN` when set, else `<repo>/target/debug/tokener` (under
`$CARGO_TARGET_DIR` when that is set). Unlike tests/interop this suite never builds it: the
workspace build (`cargo test --workspace` in scripts/test.sh) makes it first, and a missing
binary fails the run with a message, and so does an openapi.yaml that is not the document this
binary generates (the run would report every difference between two versions as a failure).

The process runs the embedded default (in-memory store) on a free loopback port. Its bootstrap
client is the admin client (`tokener:admin`); a second, ordinary client for HTTP Basic is
registered through the admin API once the process is up. Both ids end in a random suffix, so a
generated input cannot name them (and `contract_hooks.py` keeps any input that learned them
from a response away from them). Two settings differ from the defaults (see `_child_env`): the
maximum TTL is the one-year bound the document states, so every TTL it allows is one the server
takes; and the authentication back-off is raised, so that it neither delays nor refuses the
hundreds of deliberately failed client authentications negative testing sends from one address.

Every third-party package is imported unconditionally: a missing package is a collection error
(a failed run), never a skipped test.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests
import schemathesis  # noqa: F401  (the suite's reason to exist: fail collection when missing)
import yaml  # noqa: F401  (a dependency of schemathesis; test_openapi_contract.py reads the document)

# The process handling shared with tests/interop (tests/tokener_process.py).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tokener_process import DEFAULT_BINARY, REPO_ROOT, isolated_env, random_secret, started  # noqa: E402

DOCUMENT = REPO_ROOT / "openapi.yaml"

ADMIN_SCOPE = "tokener:admin"
# The ordinary client the generated requests authenticate as with HTTP Basic.
CLIENT_SCOPES = ("orders:read", "orders:write")
CLIENT_AUDIENCES = ("orders",)

HTTP_TIMEOUT_S = 10.0
# Revocations in the feed before the run starts: the revocation stream then has events to send
# at once (see `max-stream-events` in schemathesis.toml).
SEEDED_REVOCATIONS = 3


@dataclasses.dataclass(frozen=True)
class ContractServer:
    """A running Tokener and the two clients the contract run authenticates as."""

    base_url: str
    admin_id: str
    admin_secret: str = dataclasses.field(repr=False)  # never in a failure report
    client_id: str = ""
    client_secret: str = dataclasses.field(default="", repr=False)
    log_path: Path | None = None

    def secret_values(self) -> tuple[str, ...]:
        """Every secret a report must never show."""
        return tuple(s for s in (self.admin_secret, self.client_secret) if s)


def tokener_binary() -> Path:
    explicit = os.environ.get("TOKENER_BIN")
    path = Path(explicit) if explicit else DEFAULT_BINARY
    if not path.is_file():
        pytest.fail(
            f"{'TOKENER_BIN=' + explicit if explicit else path} is not a file: build it with "
            "`cargo build -p tokener-http` or set TOKENER_BIN to a built `tokener`",
            pytrace=False,
        )
    return path


def check_document_matches(binary: Path) -> None:
    """The run compares openapi.yaml with this binary's behaviour: both must be of one build,
    or every difference between two versions would show up as a contract failure."""
    generated = subprocess.run(
        [str(binary), "openapi"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=30
    )
    if generated.returncode != 0:
        pytest.fail(f"`{binary} openapi` failed:\n{generated.stderr[-2000:]}", pytrace=False)
    if generated.stdout != DOCUMENT.read_text():
        pytest.fail(
            f"{DOCUMENT} is not the document {binary} generates: rebuild the binary, or "
            "regenerate the document (`cargo run -q -p tokener-http -- openapi > openapi.yaml`)",
            pytrace=False,
        )


def _child_env(port: int, admin_id: str, admin_secret: str) -> dict[str, str]:
    # A fresh, isolated, embedded process configured only here.
    return isolated_env(
        {
            "TOKENER_LISTEN": f"127.0.0.1:{port}",
            "TOKENER_BOOTSTRAP_CLIENT_ID": admin_id,
            "TOKENER_BOOTSTRAP_CLIENT_SECRET": admin_secret,
            "TOKENER_BOOTSTRAP_CLIENT_SCOPES": ADMIN_SCOPE,
            # The document bounds every TTL by one year (31622400 s), "at most the configured
            # maximum": configured at that maximum, every TTL the document allows is one the
            # server accepts, so a refused TTL is a real disagreement and not our configuration.
            "TOKENER_MAX_TTL_SECONDS": "31622400",
            # Negative testing sends hundreds of failed client authentications (missing, wrong
            # or generated credentials), all from 127.0.0.1. With the defaults (20 per pair,
            # 100 per source) the source is refused with 429 within a minute, and from the 6th
            # failure on each one is held back up to 1 s (the delay grows with
            # max(pair count, source count * per_pair / per_source)).
            # 1000 per pair keeps every (client id, source) pair far from refusal; 1,000,000 per
            # source keeps the source's weighted count (n * 1000 / 1000000) below the 5 free
            # failures up to 5000 failures a minute, so no answer is held back.
            "TOKENER_AUTH_FAILURES_PER_MINUTE": "1000",
            "TOKENER_AUTH_FAILURES_PER_SOURCE_PER_MINUTE": "1000000",
            "TOKENER_LOG": "info",
        }
    )


def _expect(response: requests.Response, status: int, what: str) -> dict:
    # Never the body of a successful answer: it may hold a token or a secret.
    if response.status_code != status:
        pytest.fail(
            f"{what}: expected {status}, got {response.status_code}: {response.text[:500]}",
            pytrace=False,
        )
    return response.json() if response.content else {}


def admin_token(http: requests.Session, base_url: str, admin_id: str, admin_secret: str) -> str:
    """A fresh admin token (client credentials grant with the admin scope, 10 minutes)."""
    response = http.post(
        base_url + "/oauth2/token",
        data={"grant_type": "client_credentials", "scope": ADMIN_SCOPE},
        auth=(admin_id, admin_secret),
        timeout=HTTP_TIMEOUT_S,
    )
    return _expect(response, 200, "admin token")["access_token"]


def _prepare(base_url: str, admin_id: str, admin_secret: str) -> tuple[str, str]:
    """Registers the Basic client and seeds the revocation feed; returns the client's id and
    secret."""
    client_id = f"contract-client-{secrets.token_hex(8)}"
    with requests.Session() as http:
        bearer = {"Authorization": f"Bearer {admin_token(http, base_url, admin_id, admin_secret)}"}
        created = _expect(
            http.post(
                base_url + "/admin/clients",
                json={
                    "client_id": client_id,
                    "scopes": list(CLIENT_SCOPES),
                    "audiences": list(CLIENT_AUDIENCES),
                },
                headers=bearer,
                timeout=HTTP_TIMEOUT_S,
            ),
            201,
            "register the Basic client",
        )
        client_secret = created["client_secret"]
        for _ in range(SEEDED_REVOCATIONS):
            token = _expect(
                http.post(base_url + "/token", auth=(client_id, client_secret), timeout=HTTP_TIMEOUT_S),
                200,
                "issue a token to revoke",
            )["access_token"]
            _expect(
                http.post(
                    base_url + "/oauth2/revoke",
                    data={"token": token},
                    auth=(client_id, client_secret),
                    timeout=HTTP_TIMEOUT_S,
                ),
                200,
                "revoke it",
            )
        # The feed hands an entry out once it has settled (within half a second).
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            page = _expect(http.get(base_url + "/revocations", timeout=HTTP_TIMEOUT_S), 200, "feed")
            if len(page["revocations"]) >= SEEDED_REVOCATIONS:
                break
            time.sleep(0.1)
        else:
            pytest.fail("the seeded revocations did not reach GET /revocations within 5 s", pytrace=False)
    return client_id, client_secret


@contextlib.contextmanager
def run_contract_server(log_dir: Path) -> Iterator[ContractServer]:
    """Starts Tokener on a free loopback port, prepares its clients, yields it, stops it."""
    binary = tokener_binary()
    check_document_matches(binary)
    admin_id = f"contract-admin-{secrets.token_hex(8)}"
    admin_secret = random_secret()
    with started(
        binary, log_dir, lambda port: _child_env(port, admin_id, admin_secret)
    ) as process:
        client_id, client_secret = _prepare(process.base_url, admin_id, admin_secret)
        yield ContractServer(
            base_url=process.base_url,
            admin_id=admin_id,
            admin_secret=admin_secret,
            client_id=client_id,
            client_secret=client_secret,
            log_path=process.log_path,
        )


@pytest.fixture(scope="session")
def contract_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ContractServer]:
    """One Tokener for the whole run, with its admin and Basic clients ready."""
    with run_contract_server(tmp_path_factory.mktemp("tokener")) as server:
        yield server
