"""What the JWT interoperability tests share: the two JOSE verifiers (PyJWT, and panva/jose
through `node/verify.mjs`), JWS helpers, and a Tokener whose bootstrap client may use the admin
API, with clients registered in the JWT format. The fixtures are imported by the test modules.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import secrets
import shutil
import subprocess
import time
from pathlib import Path
from typing import Iterator

import jwt
import pytest
import requests

from conftest import Tokener, run_tokener

HTTP_TIMEOUT_S = 10
NODE_TIMEOUT_S = 30
NODE_DIR = Path(__file__).resolve().parent / "node"
VERIFY_SCRIPT = NODE_DIR / "verify.mjs"
MIN_NODE_MAJOR = 20  # package.json "engines"

ACCESS_TOKEN_TYPE = "at+jwt"
# RFC 9068 §2.2: the claims a JWT access token must carry.
REQUIRED_CLAIMS = ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"]
TOKEN_ID = re.compile(r"^[0-9a-f]{128}$")

# The clients registered here: two audiences, so that `aud` is a real array.
SCOPES = ("orders:read", "orders:write")
AUDIENCES = ("billing", "orders")
AUDIENCE = "orders"  # the resource server verifying the tokens

ADMIN_SCOPE = "tokener:admin"
# The lifetime of a token that must outlive a restart of Tokener (a few seconds on a loaded
# machine), then expire.
SHORT_TTL_S = 10


# --- JWS parts ---------------------------------------------------------------------------------


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64url_json(value: dict) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def jws_parts(token: str) -> tuple[dict, dict, str]:
    """The header and claims (not verified) and the signature part of a compact JWS."""
    header, payload, signature = token.split(".")
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(payload)), signature


def wait_until_expired(exp: int) -> None:
    """Sleeps until `exp` is past on every clock here (jose compares whole seconds)."""
    delay = exp + 0.5 - time.time()
    if delay > 0:
        time.sleep(delay)


# --- the two libraries -------------------------------------------------------------------------


class PyJWTVerifier:
    """A resource server verifying with PyJWT: keys from `jwks_uri`, ES256 only."""

    name = "pyjwt"
    # What a refusal is reported as: the class name of PyJWT's exception.
    BAD_SIGNATURE = "InvalidSignatureError"
    ALG_NOT_ALLOWED = "InvalidAlgorithmError"
    EXPIRED = "ExpiredSignatureError"
    WRONG_AUDIENCE = "InvalidAudienceError"
    WRONG_ISSUER = "InvalidIssuerError"
    UNKNOWN_KEY = "PyJWKClientError"

    def __init__(self, metadata: dict, audience: str = AUDIENCE, jwks: jwt.PyJWKClient | None = None):
        self.jwks = jwks or jwt.PyJWKClient(metadata["jwks_uri"], timeout=HTTP_TIMEOUT_S)
        self.issuer = metadata["issuer"]
        self.audience = audience

    def _decode(self, token: str) -> dict:
        key = self.jwks.get_signing_key_from_jwt(token)
        decoded = jwt.decode_complete(
            token,
            key,
            algorithms=["ES256"],
            issuer=self.issuer,
            audience=self.audience,
            options={"require": REQUIRED_CLAIMS},
        )
        if decoded["header"].get("typ") != ACCESS_TOKEN_TYPE:
            raise jwt.InvalidTokenError(f"typ is {decoded['header'].get('typ')!r}, not at+jwt")
        return {"header": decoded["header"], "payload": decoded["payload"]}

    def verify(self, token: str) -> dict:
        """`{"header": ..., "payload": ...}` of a token the library accepts."""
        try:
            return self._decode(token)
        except jwt.PyJWTError as error:
            pytest.fail(f"PyJWT refused the token: {type(error).__name__}: {error}", pytrace=False)

    def refusal(self, token: str) -> str:
        """Asserts the library refuses the token; returns the name of the refusal."""
        with pytest.raises(jwt.PyJWTError) as refused:
            self._decode(token)
        return type(refused.value).__name__


class JoseVerifier:
    """A resource server verifying with panva/jose, through `tests/interop/node/verify.mjs`.
    The token goes on standard input, never in argv."""

    name = "jose"
    # What a refusal is reported as: jose's error code.
    BAD_SIGNATURE = "ERR_JWS_SIGNATURE_VERIFICATION_FAILED"
    ALG_NOT_ALLOWED = "ERR_JOSE_ALG_NOT_ALLOWED"
    EXPIRED = "ERR_JWT_EXPIRED"
    WRONG_AUDIENCE = "ERR_JWT_CLAIM_VALIDATION_FAILED"
    WRONG_ISSUER = "ERR_JWT_CLAIM_VALIDATION_FAILED"
    UNKNOWN_KEY = "ERR_JWKS_NO_MATCHING_KEY"

    def __init__(self, node: str, metadata: dict, audience: str = AUDIENCE):
        self.node = node
        self.jwks_uri = metadata["jwks_uri"]
        self.issuer = metadata["issuer"]
        self.audience = audience

    def _run(self, token: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [self.node, str(VERIFY_SCRIPT), self.jwks_uri, self.issuer, self.audience],
            cwd=NODE_DIR,
            input=token,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            timeout=NODE_TIMEOUT_S,
        )

    def verify(self, token: str) -> dict:
        result = self._run(token)
        # stderr never holds the token (the script's own rule), so it is safe to show.
        assert result.returncode == 0, f"jose refused the token (exit {result.returncode}): {result.stderr}"
        return json.loads(result.stdout)

    def refusal(self, token: str) -> str:
        result = self._run(token)
        # Exit 1 is a refusal; 2 would be a usage error, not a verdict on the token.
        assert result.returncode == 1, (result.returncode, result.stderr)
        assert result.stdout == ""
        return result.stderr.split(":", 1)[0]


def locked_jose_version() -> str:
    lock = json.loads((NODE_DIR / "package-lock.json").read_text())
    return lock["packages"]["node_modules/jose"]["version"]


@pytest.fixture(scope="session")
def node() -> str:
    """The `node` command, with the jose version of package-lock.json installed."""
    found = shutil.which("node")
    if found is None:
        pytest.fail("Node.js is not installed (`node` is not on PATH); the jose interop tests need it", pytrace=False)
    version = subprocess.run([found, "--version"], capture_output=True, text=True, timeout=NODE_TIMEOUT_S).stdout
    major = re.match(r"v(\d+)\.", version)
    if major is None or int(major.group(1)) < MIN_NODE_MAJOR:
        pytest.fail(
            f"jose {locked_jose_version()} needs Node.js {MIN_NODE_MAJOR} or later (its WebCrypto "
            f"global); `node --version` says {version.strip() or 'nothing'}",
            pytrace=False,
        )
    installed = NODE_DIR / "node_modules" / "jose" / "package.json"
    if not installed.is_file():
        pytest.fail(
            f"the jose package is not installed: run `npm ci --no-audit --no-fund` in {NODE_DIR}",
            pytrace=False,
        )
    version = json.loads(installed.read_text())["version"]
    if version != locked_jose_version():
        pytest.fail(
            f"jose {version} is installed but package-lock.json pins {locked_jose_version()}: "
            f"run `npm ci --no-audit --no-fund` in {NODE_DIR}",
            pytrace=False,
        )
    return found


@pytest.fixture(params=["pyjwt", "jose"])
def library(request):
    """`library(metadata)`: a verifier of one of the two libraries (the test runs with each)."""
    if request.param == "jose":
        found = request.getfixturevalue("node")
        return lambda metadata, **kw: JoseVerifier(found, metadata, **kw)
    return lambda metadata, **kw: PyJWTVerifier(metadata, **kw)


@pytest.fixture
def both(node):
    """`both(metadata)`: a verifier of each library."""
    return lambda metadata: [PyJWTVerifier(metadata), JoseVerifier(node, metadata)]


# --- Tokener -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Client:
    client_id: str
    secret: str = dataclasses.field(repr=False)

    @property
    def basic_auth(self) -> tuple[str, str]:
        return (self.client_id, self.secret)


def metadata_of(server: Tokener) -> dict:
    response = requests.get(server.url("/.well-known/oauth-authorization-server"), timeout=HTTP_TIMEOUT_S)
    assert response.status_code == 200, response.text
    return response.json()


def issue(server: Tokener, auth: tuple[str, str], **form: str) -> dict:
    """`POST /oauth2/token` (client_credentials, form, client_secret_basic): the answer."""
    response = requests.post(
        server.url("/oauth2/token"),
        data={"grant_type": "client_credentials", **form},
        auth=auth,
        timeout=HTTP_TIMEOUT_S,
    )
    assert response.status_code == 200, response.text
    return response.json()


def issue_json(server: Tokener, auth: tuple[str, str], body: dict | None = None) -> dict:
    """`POST /token` (Basic auth, JSON body): the answer."""
    response = requests.post(server.url("/token"), auth=auth, json=body or {}, timeout=HTTP_TIMEOUT_S)
    assert response.status_code == 200, response.text
    return response.json()


def introspect(server: Tokener, token: str) -> dict:
    """`POST /oauth2/introspect`, asked by the bootstrap client (any client may ask)."""
    response = requests.post(
        server.url("/oauth2/introspect"), data={"token": token}, auth=server.basic_auth, timeout=HTTP_TIMEOUT_S
    )
    assert response.status_code == 200, response.text
    return response.json()


def admin(server: Tokener, method: str, path: str, body: dict | None = None) -> requests.Response:
    """An admin API call with a fresh admin token of the bootstrap client."""
    token = issue_json(server, server.basic_auth, {"scope": [ADMIN_SCOPE], "ttl_seconds": 300})["access_token"]
    return requests.request(
        method,
        server.url(path),
        headers={"Authorization": f"Bearer {token}"},
        json=body,
        timeout=HTTP_TIMEOUT_S,
    )


def register(server: Tokener, token_format: str | None = "jwt") -> Client:
    """A new client with its own id; `token_format` None leaves the default."""
    body = {"client_id": f"jwt-{secrets.token_hex(6)}", "scopes": list(SCOPES), "audiences": list(AUDIENCES)}
    if token_format is not None:
        body["token_format"] = token_format
    response = admin(server, "POST", "/admin/clients", body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["client"]["token_format"] == (token_format or "biscuit")
    return Client(created["client"]["client_id"], created["client_secret"])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tokener]:
    """A Tokener whose bootstrap client (Biscuit tokens, the default) may use the admin API."""
    with run_tokener(tmp_path_factory.mktemp("tokener-jwt"), scopes=("orders:read", ADMIN_SCOPE)) as running:
        yield running


@pytest.fixture(scope="module")
def metadata(server: Tokener) -> dict:
    return metadata_of(server)


@pytest.fixture
def client(server: Tokener) -> Client:
    """A client of its own, registered with `token_format: jwt`."""
    return register(server, "jwt")
