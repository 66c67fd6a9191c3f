"""Tokener's introspection of JWT access tokens: forged ones are inactive (and revoking them
touches nothing), a revoked one is inactive and listed in the feed, client-wide revocation
covers JWTs, and a JWT issued right after it is valid for a JOSE library too. Every refusal is
preceded by the acceptance of the genuine token."""

from __future__ import annotations

import hashlib
import hmac
import time

import jwt
import requests
from cryptography.hazmat.primitives import serialization

from jwt_support import (  # noqa: F401 (fixtures are used by name)
    ACCESS_TOKEN_TYPE,
    ADMIN_SCOPE,
    HTTP_TIMEOUT_S,
    PyJWTVerifier,
    SCOPES,
    admin,
    b64url,
    b64url_json,
    client,
    introspect,
    issue,
    jws_parts,
    metadata,
    server,
)


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
