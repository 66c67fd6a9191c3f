"""JWT access tokens (RFC 9068) verified by two JOSE implementations that share no code with
Tokener nor with each other:

- PyJWT (Python): `jwt.PyJWKClient` on the `jwks_uri` of the server metadata, then
  `jwt.decode_complete` with ES256 only, the issuer, the audience and the claims RFC 9068 §2.2
  requires. PyJWT does not look at the `typ` header, which RFC 9068 §4 requires a resource
  server to check (`at+jwt`): the verifier in `jwt_support.py` checks it, as a resource server using PyJWT must.
- panva/jose (Node): `createRemoteJWKSet` + `jwtVerify` (typ `at+jwt`, ES256 only), run by the
  small CLI `tests/interop/node/verify.mjs`; its version is pinned in
  `tests/interop/node/package-lock.json` and installed by `npm ci` (scripts/test.sh does it).
  A missing `node` or package fails these tests, never skips them.

Each library is given nothing but what a resource server has: the `jwks_uri` and `issuer` of
`GET /.well-known/oauth-authorization-server`, and the audience it serves (Tokener's own
introspection of JWTs is in test_jwt_introspection.py). Every refusal is preceded by the
acceptance of the genuine token it was made from.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from datetime import datetime
from pathlib import Path

import jwt
import requests

from conftest import random_secret, run_tokener, tokener_binary
from jwt_support import (  # noqa: F401 (fixtures are used by name)
    ACCESS_TOKEN_TYPE,
    ADMIN_SCOPE,
    AUDIENCE,
    AUDIENCES,
    HTTP_TIMEOUT_S,
    JoseVerifier,
    PyJWTVerifier,
    REQUIRED_CLAIMS,
    SCOPES,
    SHORT_TTL_S,
    TOKEN_ID,
    admin,
    b64url_json,
    both,
    client,
    introspect,
    issue,
    issue_json,
    jws_parts,
    library,
    metadata,
    metadata_of,
    node,
    register,
    server,
    wait_until_expired,
)


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
