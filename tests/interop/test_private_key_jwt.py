"""`private_key_jwt` (RFC 7523 §2.2) with Authlib and joserfc as the client: keys generated and
exported by joserfc are registered through the admin API, and Authlib's `PrivateKeyJWT`
signs the assertions Tokener checks at the token, introspection and revocation endpoints.

Authlib's `PrivateKeyJWT` sets `exp` one hour ahead unless told otherwise, and Tokener accepts
at most five minutes (plus 30 s of clock skew); and a `claims` dict handed to it is reused
across calls with the `jti` it wrote into it the first time. `FreshPrivateKeyJWT` below passes
fresh claims to each signature, as a client of Tokener must configure Authlib.
"""

from __future__ import annotations

import time
from typing import Iterator
from urllib.parse import parse_qs

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc.jwk import ECKey, OKPKey

from conftest import Tokener, run_tokener

HTTP_TIMEOUT_S = 10
ASSERTION_LIFETIME_S = 120


class FreshPrivateKeyJWT(PrivateKeyJWT):
    """`PrivateKeyJWT` with a short `exp` and a new `jti` in every assertion."""

    def sign(self, auth, token_endpoint):
        self.claims = {"exp": int(time.time()) + ASSERTION_LIFETIME_S}
        return super().sign(auth, token_endpoint)


@pytest.fixture(scope="module")
def admin_tokener(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tokener]:
    """A Tokener whose bootstrap client may use the admin API."""
    with run_tokener(
        tmp_path_factory.mktemp("tokener-pkjwt"), scopes=("orders:read", "tokener:admin")
    ) as server:
        yield server


def admin_token(server: Tokener) -> str:
    response = requests.post(
        server.url("/token"),
        auth=server.basic_auth,
        json={"scope": ["tokener:admin"], "ttl_seconds": 300},
        timeout=HTTP_TIMEOUT_S,
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def register(server: Tokener, client_id: str, public_jwk: dict) -> dict:
    response = requests.post(
        server.url("/admin/clients"),
        headers={"Authorization": f"Bearer {admin_token(server)}"},
        json={
            "client_id": client_id,
            "scopes": ["orders:read"],
            "audiences": ["orders"],
            "jwks": {"keys": [public_jwk]},
        },
        timeout=HTTP_TIMEOUT_S,
    )
    assert response.status_code == 201, response.text
    return response.json()


@pytest.mark.parametrize(
    ("alg", "generate"),
    [
        ("ES256", lambda: ECKey.generate_key("P-256")),
        ("EdDSA", lambda: OKPKey.generate_key("Ed25519")),
    ],
)
def test_authlib_authenticates_with_a_signed_assertion(admin_tokener, alg, generate):
    key = generate()
    client_id = f"pkjwt-{alg.lower()}"
    created = register(admin_tokener, client_id, key.as_dict(private=False))
    assert "client_secret" not in created
    assert created["client"]["token_endpoint_auth_method"] == "private_key_jwt"

    token_endpoint = admin_tokener.url("/oauth2/token")
    session = OAuth2Session(
        client_id=client_id,
        client_secret=key,
        token_endpoint_auth_method=FreshPrivateKeyJWT(token_endpoint, alg=alg),
        revocation_endpoint_auth_method=FreshPrivateKeyJWT(token_endpoint, alg=alg),
        default_timeout=HTTP_TIMEOUT_S,
    )
    token = session.fetch_token(token_endpoint, grant_type="client_credentials")
    assert token["scope"] == "orders:read"

    response = session.introspect_token(
        admin_tokener.url("/oauth2/introspect"), token=token["access_token"]
    )
    assert response.status_code == 200, response.text
    assert response.json()["active"] is True
    assert response.json()["client_id"] == client_id
    sent = parse_qs(response.request.body)
    assert sent["client_assertion_type"] == [
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    ]

    # The assertion Authlib just sent, sent again by someone who saw it: refused.
    replay = requests.post(
        admin_tokener.url("/oauth2/introspect"),
        data={
            "token": token["access_token"],
            "client_assertion_type": sent["client_assertion_type"][0],
            "client_assertion": sent["client_assertion"][0],
        },
        timeout=HTTP_TIMEOUT_S,
    )
    assert replay.status_code == 401, replay.text
    assert replay.json()["error"] == "invalid_client"
    assert "already used" in replay.json()["error_description"]

    response = session.revoke_token(
        admin_tokener.url("/oauth2/revoke"), token=token["access_token"]
    )
    assert response.status_code == 200, response.text
    response = session.introspect_token(
        admin_tokener.url("/oauth2/introspect"), token=token["access_token"]
    )
    assert response.json() == {"active": False}


def test_authlib_default_lifetime_is_refused_with_the_reason(admin_tokener):
    """Authlib's default `exp` (one hour) is past Tokener's five minutes: said, not hidden."""
    key = OKPKey.generate_key("Ed25519")
    register(admin_tokener, "pkjwt-default", key.as_dict(private=False))
    token_endpoint = admin_tokener.url("/oauth2/token")
    session = OAuth2Session(
        client_id="pkjwt-default",
        client_secret=key,
        token_endpoint_auth_method=PrivateKeyJWT(token_endpoint, alg="EdDSA"),
        default_timeout=HTTP_TIMEOUT_S,
    )
    with pytest.raises(Exception) as refused:
        session.fetch_token(token_endpoint, grant_type="client_credentials")
    assert "300 seconds" in str(refused.value)
