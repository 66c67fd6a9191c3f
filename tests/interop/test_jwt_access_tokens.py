"""JWT access tokens (RFC 9068) verified by two JOSE implementations that share no code with
Tokener nor with each other:

- PyJWT (Python): `jwt.PyJWKClient` on the `jwks_uri` of the server metadata, then
  `jwt.decode_complete` with ES256 only, the issuer, the audience and the claims RFC 9068 §2.2
  requires. PyJWT does not look at the `typ` header, which RFC 9068 §4 requires a resource
  server to check (`at+jwt`): the verifier below checks it, as a resource server using PyJWT must.
- panva/jose (Node): `createRemoteJWKSet` + `jwtVerify` (typ `at+jwt`, ES256 only), run by the
  small CLI `tests/interop/node/verify.mjs`; its version is pinned in
  `tests/interop/node/package-lock.json` and installed by `npm ci` (scripts/test.sh does it).
  A missing `node` or package fails these tests, never skips them.

Each library is given nothing but what a resource server has: the `jwks_uri` and `issuer` of
`GET /.well-known/oauth-authorization-server`, and the audience it serves. Tokener's own
introspection is checked on the same tokens (revoked, expired, forged, client-wide revoked).
Every refusal is preceded by the acceptance of the genuine token it was made from.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import re
import secrets
import shutil
import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import Iterator

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization

from conftest import Tokener, random_secret, run_tokener, tokener_binary

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


# --- the JWK set -------------------------------------------------------------------------------


def test_metadata_names_a_jwks_holding_the_signing_key(server, metadata):
    assert metadata["issuer"] == server.base_url
    assert metadata["jwks_uri"] == server.url("/jwks")

    response = requests.get(metadata["jwks_uri"], timeout=HTTP_TIMEOUT_S)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "public, max-age=60"
    assert response.headers.get("etag")
    jwks = response.json()
    (key,) = jwks["keys"]
    assert key == {
        "kty": "EC",
        "crv": "P-256",
        "x": key["x"],
        "y": key["y"],
        "kid": "1",
        "use": "sig",
        "alg": "ES256",
    }, "one public EC key, and nothing private"
    # PyJWT reads it as an ES256 verification key.
    (parsed,) = jwt.PyJWKSet.from_dict(jwks).keys
    assert (parsed.key_id, parsed.algorithm_name, parsed.key_type) == ("1", "ES256", "EC")

    unchanged = requests.get(
        metadata["jwks_uri"], headers={"If-None-Match": response.headers["etag"]}, timeout=HTTP_TIMEOUT_S
    )
    assert unchanged.status_code == 304


# --- verification ------------------------------------------------------------------------------


def test_a_client_switched_to_jwt_gets_rfc9068_access_tokens(server, metadata, library):
    switched = register(server, token_format=None)
    biscuit = issue(server, switched.basic_auth)["access_token"]
    assert "." not in biscuit, "a client's tokens are Biscuits by default"

    response = admin(server, "PATCH", f"/admin/clients/{switched.client_id}", {"token_format": "jwt"})
    assert response.status_code == 200, response.text
    assert response.json()["token_format"] == "jwt"

    verifier = library(metadata)
    form = issue(server, switched.basic_auth)
    narrowed = issue_json(server, switched.basic_auth, {"scope": ["orders:read"], "ttl_seconds": 600})
    for answer, scopes in ((form, SCOPES), (narrowed, ("orders:read",))):
        token = answer["access_token"]
        verified = verifier.verify(token)
        now = time.time()
        assert verified["header"] == {"alg": "ES256", "typ": ACCESS_TOKEN_TYPE, "kid": "1"}
        claims = verified["payload"]
        assert claims["iss"] == metadata["issuer"] == server.base_url
        assert claims["sub"] == claims["client_id"] == switched.client_id
        assert isinstance(claims["aud"], list) and sorted(claims["aud"]) == sorted(AUDIENCES)
        assert sorted(claims["scope"].split(" ")) == sorted(scopes)
        assert TOKEN_ID.match(claims["jti"]), claims["jti"]
        assert claims["iat"] <= now + 1 and claims["exp"] > now
        assert claims["exp"] - claims["iat"] == answer["expires_in"]
        assert set(claims) == set(REQUIRED_CLAIMS) | {"scope"}
    assert form["scope"] == " ".join(SCOPES)
    # POST /token names the token id: the jti.
    claims = jws_parts(narrowed["access_token"])[1]
    assert claims["jti"] == narrowed["token_id"]
    assert claims["exp"] == int(datetime.fromisoformat(narrowed["expires_at"].replace("Z", "+00:00")).timestamp())

    # The audience and issuer are checked, not only the signature.
    token = form["access_token"]
    assert library(metadata, audience="billing").verify(token)["payload"]["jti"] == jws_parts(token)[1]["jti"]
    assert library(metadata, audience="payments").refusal(token) == verifier.WRONG_AUDIENCE
    elsewhere = {**metadata, "issuer": "http://tokener.invalid"}
    assert library(elsewhere).refusal(token) == verifier.WRONG_ISSUER

    # The Biscuit issued before the switch is still Tokener's.
    assert introspect(server, biscuit)["active"] is True


def test_a_tampered_token_is_refused(server, metadata, client, library):
    verifier = library(metadata)
    token = issue(server, client.basic_auth)["access_token"]
    assert verifier.verify(token)["payload"]["client_id"] == client.client_id

    header, _, signature = token.split(".")
    escalated = {**jws_parts(token)[1], "scope": " ".join((*SCOPES, ADMIN_SCOPE)), "aud": [AUDIENCE, "payments"]}
    tampered = f"{header}.{b64url_json(escalated)}.{signature}"
    assert verifier.refusal(tampered) == verifier.BAD_SIGNATURE


def test_an_alg_none_token_is_refused(server, metadata, client, library):
    verifier = library(metadata)
    token = issue(server, client.basic_auth)["access_token"]
    assert verifier.verify(token)["header"]["alg"] == "ES256"

    unsigned = b64url_json({"alg": "none", "typ": ACCESS_TOKEN_TYPE, "kid": "1"}) + "." + token.split(".")[1] + "."
    assert verifier.refusal(unsigned) == verifier.ALG_NOT_ALLOWED


def test_introspection_refuses_forged_jwts(server, metadata, client):
    token = issue(server, client.basic_auth)["access_token"]
    assert introspect(server, token)["active"] is True

    header, payload, signature = token.split(".")
    claims = jws_parts(token)[1]
    escalated = b64url_json({**claims, "scope": " ".join((*SCOPES, ADMIN_SCOPE))})
    unsigned_header = b64url_json({"alg": "none", "typ": ACCESS_TOKEN_TYPE, "kid": "1"})
    # The classic confusion: HMAC keyed with the server's public key, as PEM.
    (public,) = jwt.PyJWKClient(metadata["jwks_uri"]).get_signing_keys()
    pem = public.key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    hs256_input = b64url_json({"alg": "HS256", "typ": ACCESS_TOKEN_TYPE, "kid": "1"}) + "." + payload
    hs256 = hs256_input + "." + b64url(hmac.new(pem, hs256_input.encode(), hashlib.sha256).digest())
    forged = {
        "payload changed, signature kept": f"{header}.{escalated}.{signature}",
        "alg none, no signature": f"{unsigned_header}.{payload}.",
        "alg none, the original signature": f"{unsigned_header}.{payload}.{signature}",
        "HS256 keyed with the public key": hs256,
    }
    for what, bearer in forged.items():
        assert introspect(server, bearer) == {"active": False}, what
    # Nor does revoking them, by the client the genuine token was issued to, revoke anything:
    # they all carry its jti.
    for what, bearer in forged.items():
        response = requests.post(
            server.url("/oauth2/revoke"), data={"token": bearer}, auth=client.basic_auth, timeout=HTTP_TIMEOUT_S
        )
        assert response.status_code == 200, (what, response.text)
    assert introspect(server, token)["active"] is True


def test_an_expired_token_is_refused(server, metadata, client, both):
    verifiers = both(metadata)
    # Four seconds: at least three of them left once the whole seconds are counted.
    answer = issue_json(server, client.basic_auth, {"ttl_seconds": 4})
    token = answer["access_token"]
    assert answer["expires_in"] == 4
    for verifier in verifiers:
        assert verifier.verify(token)["payload"]["jti"] == answer["token_id"]
    assert introspect(server, token)["active"] is True

    wait_until_expired(jws_parts(token)[1]["exp"])
    for verifier in verifiers:
        assert verifier.refusal(token) == verifier.EXPIRED, verifier.name
    assert introspect(server, token) == {"active": False}


# --- key rotation ------------------------------------------------------------------------------


def write_key_file(path: Path, keys: list[dict]) -> None:
    path.write_text(json.dumps({"keys": keys}))
    path.chmod(0o600)


def test_a_rotated_out_key_verifies_its_tokens_until_they_expire(tmp_path, node):
    key_file = tmp_path / "keys.json"
    generated = subprocess.run(
        [str(tokener_binary()), "keys", "generate", "--out", str(key_file)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert generated.returncode == 0, generated.stderr[-2000:]
    (first_key,) = json.loads(key_file.read_text())["keys"]
    assert first_key["id"] == 1 and first_key["active"] is True
    settings = {"TOKENER_SIGNING_KEY_FILE": str(key_file), "TOKENER_BOOTSTRAP_CLIENT_TOKEN_FORMAT": "jwt"}
    secret = random_secret()

    with run_tokener(tmp_path / "key-1", secret, env=settings) as before:
        metadata = metadata_of(before)
        # A PyJWT verifier that stays up across the rotation, its JWK set cached; cooldown 0:
        # an unknown kid makes it fetch the set again at once.
        cached = PyJWTVerifier(metadata, jwks=jwt.PyJWKClient(metadata["jwks_uri"], cooldown_duration=0))
        lasting = issue(before, before.basic_auth)["access_token"]
        short = issue_json(before, before.basic_auth, {"ttl_seconds": SHORT_TTL_S})["access_token"]
        short_exp = jws_parts(short)[1]["exp"]
        for verifier in (cached, JoseVerifier(node, metadata)):
            for token in (lasting, short):
                assert verifier.verify(token)["header"]["kid"] == "1", verifier.name
        port = before.port

    # Key 1 stops signing but stays in the file (retired); key 2 signs.
    second_key = {"id": 2, "private_key": "ed25519-private/" + secrets.token_hex(32), "active": True}
    write_key_file(key_file, [{**first_key, "active": False}, second_key])
    # The same port: the same issuer and jwks_uri, as a restarted service keeps its address.
    with run_tokener(tmp_path / "key-2", secret, port=port, env=settings) as after:
        left = short_exp - time.time()
        assert left > 1, f"the restart took too long: the short token has {left:.1f} s left"
        verifiers = [cached, PyJWTVerifier(metadata), JoseVerifier(node, metadata)]
        # The short token first, while it surely has time left.
        for verifier in verifiers:
            assert verifier.verify(short)["header"]["kid"] == "1", verifier.name
        assert metadata_of(after) == metadata
        jwks = requests.get(metadata["jwks_uri"], timeout=HTTP_TIMEOUT_S).json()
        assert sorted(k["kid"] for k in jwks["keys"]) == ["1", "2"]
        fresh = issue(after, after.basic_auth)["access_token"]
        for verifier in verifiers:
            assert verifier.verify(fresh)["header"]["kid"] == "2", verifier.name
            assert verifier.verify(lasting)["header"]["kid"] == "1", verifier.name

        # The short token ends with its expiry, while the lasting one of the same key verifies.
        wait_until_expired(short_exp)
        for verifier in verifiers:
            assert verifier.refusal(short) == verifier.EXPIRED, verifier.name
            assert verifier.verify(lasting)["header"]["kid"] == "1", verifier.name

    # A key the file no longer holds is no longer published: its tokens are refused.
    write_key_file(key_file, [second_key])
    with run_tokener(tmp_path / "key-2-only", secret, port=port, env=settings) as last:
        jwks = requests.get(metadata_of(last)["jwks_uri"], timeout=HTTP_TIMEOUT_S).json()
        assert [k["kid"] for k in jwks["keys"]] == ["2"]
        for verifier in (PyJWTVerifier(metadata), JoseVerifier(node, metadata)):
            assert verifier.verify(fresh)["header"]["kid"] == "2", verifier.name
            assert verifier.refusal(lasting) == verifier.UNKNOWN_KEY, verifier.name


# --- Tokener's introspection -------------------------------------------------------------------


def test_introspection_of_a_jwt_follows_its_revocation(server, client):
    token = issue(server, client.basic_auth)["access_token"]
    claims = jws_parts(token)[1]

    answer = introspect(server, token)
    assert answer["active"] is True
    for name in ("client_id", "sub", "scope", "exp", "iat", "jti"):
        assert answer[name] == claims[name], name
    assert sorted(answer["aud"]) == sorted(claims["aud"])

    response = requests.post(
        server.url("/oauth2/revoke"), data={"token": token}, auth=client.basic_auth, timeout=HTTP_TIMEOUT_S
    )
    assert response.status_code == 200, response.text
    assert introspect(server, token) == {"active": False}

    # Offline verifiers learn it from the feed, by the token id: the JWT's jti.
    deadline = time.monotonic() + 5
    while True:
        feed = requests.get(server.url("/revocations"), timeout=HTTP_TIMEOUT_S).json()
        if claims["jti"] in {entry.get("token_id") for entry in feed["revocations"]}:
            break
        assert time.monotonic() < deadline, "the jti is not in GET /revocations within 5 s"
        time.sleep(0.1)


def test_introspection_of_jwts_follows_client_wide_revocation(server, metadata, client):
    earlier = [issue(server, client.basic_auth)["access_token"] for _ in range(2)]
    for token in earlier:
        assert introspect(server, token)["active"] is True

    response = admin(server, "POST", f"/admin/clients/{client.client_id}/revoke-tokens")
    assert response.status_code == 200, response.text
    for token in earlier:
        assert introspect(server, token) == {"active": False}

    # Tokens issued after the revocation are not touched by it, and are not dated in the
    # future (PyJWT refuses an `iat` ahead of its clock) ...
    later = issue(server, client.basic_auth)["access_token"]
    assert introspect(server, later)["active"] is True
    PyJWTVerifier(metadata).verify(later)
    # ... until the client is disabled.
    response = admin(server, "PATCH", f"/admin/clients/{client.client_id}", {"disabled": True})
    assert response.status_code == 200, response.text
    assert introspect(server, later) == {"active": False}
