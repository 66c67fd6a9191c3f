"""Tokener tokens verified, attenuated and forged by biscuit-go (github.com/biscuit-auth/biscuit-go,
a Go implementation of Biscuit sharing no code with Tokener or the Rust library).

The Go side is the small CLI in `tests/interop/go/` (its own module, pinned in go.mod/go.sum),
built once per session into `target/interop-go/`. It is given nothing but the public key in hex
from `GET /keys` (`public_key_hex`) and the token on standard input.

biscuit-go's `Append` writes the token back without the `root_key_id` field Tokener sets:
Tokener's introspection must accept such a token (the key is then the one that verifies it)
and enforce the checks of the appended block.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

HTTP_TIMEOUT_S = 10
GO_BUILD_TIMEOUT_S = 600
CLI_TIMEOUT_S = 30
REPO_ROOT = Path(__file__).resolve().parents[2]
GO_MODULE = REPO_ROOT / "tests" / "interop" / "go"
GO_OUTPUT = REPO_ROOT / (os.environ.get("CARGO_TARGET_DIR") or "target") / "interop-go"
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")

_build_lock = threading.Lock()


def find_go() -> str:
    go = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").is_file() else None)
    if go is None:
        pytest.fail(
            "Go is not installed (neither `go` on PATH nor /usr/local/go/bin/go); the biscuit-go "
            "interop tests need it (the Go version tests/interop/go/go.mod names)",
            pytrace=False,
        )
    return go


def b64decode(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


class GoBiscuit:
    """The built CLI. Every call passes the token on standard input, never in argv."""

    def __init__(self, binary: Path):
        self.binary = binary

    def run(self, *args: str, token: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.binary), *args],
            input=token or "",
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            timeout=CLI_TIMEOUT_S,
        )

    def ok(self, *args: str, token: str | None = None) -> str:
        result = self.run(*args, token=token)
        # stderr never holds a token (the CLI's own rule), so it is safe to show.
        assert result.returncode == 0, f"biscuitgo {args[0]} exited {result.returncode}: {result.stderr}"
        return result.stdout.strip()

    def verify(self, token: str, public_key_hex: str, *authorizer: str) -> dict:
        extra = [arg for code in authorizer for arg in ("--authorizer", code)]
        return json.loads(self.ok("verify", "--public-key", public_key_hex, *extra, token=token))

    def refuses(self, token: str, public_key_hex: str, *authorizer: str) -> str:
        """Asserts verification fails with exit 1 (refused, not a usage error); returns stderr."""
        extra = [arg for code in authorizer for arg in ("--authorizer", code)]
        result = self.run("verify", "--public-key", public_key_hex, *extra, token=token)
        assert result.returncode == 1, (result.returncode, result.stderr)
        assert result.stdout == ""
        return result.stderr

    def attenuate(self, token: str, *, ttl_seconds: int | None = None, checks: tuple[str, ...] = ()) -> str:
        args = ["attenuate"]
        if ttl_seconds is not None:
            args += ["--ttl-seconds", str(ttl_seconds)]
        for check in checks:
            args += ["--check", check]
        attenuated = self.ok(*args, token=token)
        assert TOKEN_PATTERN.match(attenuated), "biscuitgo printed no base64 token"
        return attenuated

    def tamper(self, token: str, *args: str) -> str:
        return self.ok("tamper", *args, token=token)

    def forge(self, *args: str) -> dict:
        return json.loads(self.ok("forge", *args))

    def random_key(self) -> str:
        return json.loads(self.ok("keygen"))["public_key_hex"]


@pytest.fixture(scope="session")
def biscuit_go() -> GoBiscuit:
    go = find_go()
    binary = GO_OUTPUT / "biscuitgo"
    with _build_lock:
        GO_OUTPUT.mkdir(parents=True, exist_ok=True)
        # `go build` is incremental (Go's build cache): after the first run this takes well
        # under a second. -mod=readonly: go.mod and go.sum are committed and must be complete.
        result = subprocess.run(
            [go, "build", "-mod=readonly", "-o", str(binary), "."],
            cwd=GO_MODULE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=GO_BUILD_TIMEOUT_S,
        )
        if result.returncode != 0:
            pytest.fail(f"go build in {GO_MODULE} failed:\n{result.stdout[-4000:]}", pytrace=False)
    return GoBiscuit(binary)


@pytest.fixture(scope="session")
def published_keys(tokener, http) -> list[dict]:
    response = http.get(tokener.url("/keys"), timeout=HTTP_TIMEOUT_S)
    assert response.status_code == 200, response.text
    keys = response.json()["keys"]
    assert keys, "GET /keys published no key"
    return keys


@pytest.fixture(scope="session")
def active_key(published_keys) -> dict:
    (entry,) = [k for k in published_keys if k["status"] == "active"]
    return entry


@pytest.fixture(scope="session")
def public_key_hex(active_key) -> str:
    """The active key in the form biscuit-go takes: `public_key_hex` from `GET /keys`."""
    assert "public_key_hex" in active_key, f"GET /keys has no public_key_hex: {sorted(active_key)}"
    return active_key["public_key_hex"]


@pytest.fixture
def issue(tokener, http):
    def call(**form) -> dict:
        response = http.post(
            tokener.url("/oauth2/token"),
            data={"grant_type": "client_credentials", **form},
            auth=tokener.basic_auth,
            timeout=HTTP_TIMEOUT_S,
        )
        assert response.status_code == 200, response.text
        return response.json()

    return call


@pytest.fixture
def token(issue) -> str:
    return issue()["access_token"]


# --- the key form ------------------------------------------------------------------------------


def test_keys_publish_the_bare_hex_form(published_keys):
    for entry in published_keys:
        assert re.fullmatch(r"[0-9a-f]{64}", entry.get("public_key_hex", "")), entry
        assert entry["public_key"] == "ed25519/" + entry["public_key_hex"]


# --- verification ------------------------------------------------------------------------------


def test_go_verifies_a_tokener_token(tokener, biscuit_go, issue, public_key_hex, introspect, active_key):
    answer = issue()
    token = answer["access_token"]
    assert TOKEN_PATTERN.match(token)

    claims = biscuit_go.verify(token, public_key_hex)

    assert claims["client"] == tokener.client_id
    assert claims["scopes"] == sorted(tokener.scopes)
    assert claims["audiences"] == sorted(tokener.audiences)
    assert claims["block_count"] == 1
    assert claims["expires_at"] - claims["issued_at"] == answer["expires_in"]
    # Tokener names its key in the token; biscuit-go reads the field.
    assert claims["has_root_key_id"] is True
    assert claims["root_key_id"] == active_key["id"]
    # The token id is the hex of the authority block's revocation id, as biscuit-go computes it.
    assert introspect(token)["jti"] == claims["revocation_ids"][0]


def test_go_applies_a_service_policy(biscuit_go, token, public_key_hex):
    """What a Go service behind Tokener would do offline: require its audience and a scope."""
    biscuit_go.verify(token, public_key_hex, 'check if audience("orders"), scope("orders:read")')
    stderr = biscuit_go.refuses(token, public_key_hex, 'check if scope("orders:admin")')
    assert "orders:admin" in stderr


def test_go_refuses_another_key(biscuit_go, token):
    stderr = biscuit_go.refuses(token, biscuit_go.random_key())
    assert "signature" in stderr


def test_go_reads_and_writes_the_token_encoding(biscuit_go, token, public_key_hex):
    """Tokener writes URL-safe base64 with padding, as biscuit-go does; biscuit-go reads it
    with or without the padding."""
    raw = b64decode(token)
    assert b64encode(raw) == token
    biscuit_go.verify(b64encode(raw).rstrip("="), public_key_hex)
    attenuated = biscuit_go.attenuate(token, ttl_seconds=60)
    assert b64encode(b64decode(attenuated)) == attenuated


# --- attenuation written by biscuit-go, enforced by Tokener -------------------------------------


def test_go_attenuated_token_is_active(tokener, biscuit_go, token, public_key_hex, introspect):
    original = biscuit_go.verify(token, public_key_hex)
    attenuated = biscuit_go.attenuate(token, ttl_seconds=60)

    # A longer valid Biscuit under Tokener's key, with the same token id; biscuit-go dropped
    # the root key id when it re-serialized.
    reparsed = biscuit_go.verify(attenuated, public_key_hex)
    assert reparsed["block_count"] == 2
    assert reparsed["revocation_ids"][0] == original["revocation_ids"][0]
    assert reparsed["has_root_key_id"] is False

    claims = introspect(attenuated)
    assert claims["active"] is True, claims
    assert claims["jti"] == original["revocation_ids"][0]
    assert claims["client_id"] == tokener.client_id
    # The original is untouched by its attenuated copy.
    assert introspect(token)["active"] is True


def test_go_attenuation_with_a_held_scope_is_active(biscuit_go, token, introspect):
    attenuated = biscuit_go.attenuate(token, checks=('check if scope("orders:read")',))
    assert introspect(attenuated)["active"] is True


@pytest.mark.parametrize(
    ("ttl_seconds", "checks"),
    [
        pytest.param(-60, (), id="time-limit-in-the-past"),
        pytest.param(None, ('check if scope("orders:admin")',), id="missing-scope"),
        pytest.param(None, ('check if operation("read")',), id="needs-an-operation-fact"),
        pytest.param(60, ('check if client("someone-else")',), id="other-client"),
    ],
)
def test_go_attenuation_whose_check_fails_is_inactive(
    biscuit_go, token, public_key_hex, introspect, ttl_seconds, checks
):
    attenuated = biscuit_go.attenuate(token, ttl_seconds=ttl_seconds, checks=checks)
    # biscuit-go itself refuses it too: the check fails, the signature is fine.
    assert "check" in biscuit_go.refuses(attenuated, public_key_hex)

    assert introspect(attenuated) == {"active": False}
    # Inactive because of the check, not because of how biscuit-go wrote the token: the same
    # token attenuated by biscuit-go with a check that holds is active.
    assert introspect(biscuit_go.attenuate(token, ttl_seconds=60))["active"] is True
    assert introspect(token)["active"] is True


def test_go_attenuation_can_be_chained(biscuit_go, token, public_key_hex, introspect):
    once = biscuit_go.attenuate(token, ttl_seconds=120)
    twice = biscuit_go.attenuate(once, checks=('check if audience("orders")',))
    assert biscuit_go.verify(twice, public_key_hex)["block_count"] == 3
    assert introspect(twice)["active"] is True

    failing = biscuit_go.attenuate(twice, ttl_seconds=-1)
    assert introspect(failing) == {"active": False}


def test_revoking_a_go_attenuated_copy_revokes_the_token(tokener, http, biscuit_go, token, introspect):
    attenuated = biscuit_go.attenuate(token, ttl_seconds=60)
    assert introspect(attenuated)["active"] is True

    response = http.post(
        tokener.url("/oauth2/revoke"),
        data={"token": attenuated},
        auth=tokener.basic_auth,
        timeout=HTTP_TIMEOUT_S,
    )
    assert response.status_code == 200, response.text
    assert introspect(attenuated) == {"active": False}
    assert introspect(token) == {"active": False}


# --- forgery and tampering ---------------------------------------------------------------------


def test_token_forged_by_go_with_another_key_is_inactive(tokener, biscuit_go, introspect):
    forged = biscuit_go.forge(
        "--client", tokener.client_id,
        *[arg for scope in tokener.scopes for arg in ("--scope", scope)],
        "--scope", "tokener:admin",
        *[arg for audience in tokener.audiences for arg in ("--audience", audience)],
    )
    # Well-formed: it verifies under the forger's own key ...
    assert biscuit_go.verify(forged["token"], forged["public_key_hex"])["client"] == tokener.client_id
    # ... but Tokener never published that key.
    assert introspect(forged["token"]) == {"active": False}


def test_forged_token_attenuated_by_go_is_inactive(tokener, biscuit_go, introspect):
    forged = biscuit_go.forge("--client", tokener.client_id, "--scope", "orders:read")
    attenuated = biscuit_go.attenuate(forged["token"], ttl_seconds=60)
    assert introspect(attenuated) == {"active": False}


@pytest.mark.parametrize("part", ["signature", "client"])
def test_tampered_token_is_inactive(tokener, biscuit_go, token, public_key_hex, introspect, part):
    tampered = biscuit_go.tamper(token, "--part", part, "--client", tokener.client_id)
    assert tampered != token
    assert "signature" in biscuit_go.refuses(tampered, public_key_hex)
    assert introspect(tampered) == {"active": False}


def test_tampered_go_attenuation_is_inactive(biscuit_go, token, public_key_hex, introspect):
    """A flipped bit in the block biscuit-go appended breaks the chain of signatures."""
    attenuated = biscuit_go.attenuate(token, checks=('check if scope("orders:read")',))
    tampered = biscuit_go.tamper(attenuated, "--part", "last-block")
    assert "signature" in biscuit_go.refuses(tampered, public_key_hex)
    assert introspect(tampered) == {"active": False}
    assert introspect(attenuated)["active"] is True  # the untampered copy is fine
