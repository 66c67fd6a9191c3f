"""Tokener's OAuth2 endpoints driven by an off-the-shelf client library: Authlib's requests
integration (`OAuth2Session`), with nothing Tokener-specific configured in it.

Covered: RFC 8414 server metadata (discovery and Authlib's own validator), the RFC 6749 §4.4
client credentials grant with `client_secret_basic` and `client_secret_post`, RFC 7662
introspection and RFC 7009 revocation through Authlib's helpers, OAuth2 error codes as Authlib
reports them, and Authlib's automatic renewal of an expired client-credentials token.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs

import pytest
import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

AUTH_METHODS = ("client_secret_basic", "client_secret_post")
DEFAULT_TTL_S = 24 * 3600
HTTP_TIMEOUT_S = 10


def new_session(
    tokener,
    auth_method: str,
    secret: str | None = None,
    **kwargs,
) -> OAuth2Session:
    """An Authlib session for the bootstrap client, using `auth_method` on every endpoint."""
    return OAuth2Session(
        client_id=tokener.client_id,
        client_secret=tokener.client_secret if secret is None else secret,
        token_endpoint_auth_method=auth_method,
        revocation_endpoint_auth_method=auth_method,
        default_timeout=HTTP_TIMEOUT_S,
        **kwargs,
    )


def assert_client_authentication(request: requests.PreparedRequest, auth_method: str, tokener):
    """The request Authlib sent authenticated the client the way `auth_method` says."""
    body = request.body or ""
    if isinstance(body, bytes):
        body = body.decode()
    form = parse_qs(body)
    if auth_method == "client_secret_basic":
        assert request.headers.get("Authorization", "").startswith("Basic ")
        assert "client_secret" not in form
    else:
        assert "Authorization" not in request.headers
        assert form["client_id"] == [tokener.client_id]
        assert form["client_secret"] == [tokener.client_secret]


# --- RFC 8414 metadata -------------------------------------------------------------------------


def test_metadata_describes_this_server(tokener, server_metadata):
    # RFC 8414 §3.3: the issuer is the URL the well-known path was appended to.
    assert server_metadata["issuer"] == tokener.base_url
    assert server_metadata["token_endpoint"] == tokener.url("/oauth2/token")
    assert server_metadata["introspection_endpoint"] == tokener.url("/oauth2/introspect")
    assert server_metadata["revocation_endpoint"] == tokener.url("/oauth2/revoke")
    assert "client_credentials" in server_metadata["grant_types_supported"]
    for key in (
        "token_endpoint_auth_methods_supported",
        "introspection_endpoint_auth_methods_supported",
        "revocation_endpoint_auth_methods_supported",
    ):
        assert set(AUTH_METHODS) <= set(server_metadata[key]), key


def test_metadata_fields_pass_authlib_validation(server_metadata):
    """Every field Authlib's RFC 8414 model knows is valid, except `response_types_supported`
    (see the strict xfail below)."""
    metadata = AuthorizationServerMetadata(server_metadata)
    for key in AuthorizationServerMetadata.REGISTRY_KEYS:
        if key == "response_types_supported":
            continue
        getattr(metadata, f"validate_{key}")()
    assert isinstance(server_metadata["response_types_supported"], list)


@pytest.mark.xfail(
    strict=True,
    raises=ValueError,
    reason=(
        "Tokener publishes response_types_supported: [] (it has no authorization endpoint); "
        "RFC 8414 §2 marks the field REQUIRED and Authlib's validator rejects an empty array"
    ),
)
def test_metadata_passes_full_authlib_validation(server_metadata):
    AuthorizationServerMetadata(server_metadata).validate()


# --- client credentials, introspection, revocation ---------------------------------------------


@pytest.mark.parametrize("auth_method", AUTH_METHODS)
def test_token_introspect_revoke_round_trip(tokener, server_metadata, auth_method):
    session = new_session(tokener, auth_method)
    before = int(time.time())

    token = session.fetch_token(
        server_metadata["token_endpoint"], grant_type="client_credentials"
    )

    assert token["token_type"].lower() == "bearer"
    assert token["access_token"]
    assert 0 < token["expires_in"] <= DEFAULT_TTL_S
    # No scope requested: the client's full allowance, reported as RFC 6749 §3.3 text.
    assert set(token["scope"].split()) == set(tokener.scopes)
    assert "refresh_token" not in token  # RFC 6749 §4.4.3: SHOULD NOT be included
    assert session.token["access_token"] == token["access_token"]

    response = session.introspect_token(
        server_metadata["introspection_endpoint"], token=token["access_token"]
    )
    assert response.status_code == 200, response.text
    assert_client_authentication(response.request, auth_method, tokener)
    claims = response.json()
    assert claims["active"] is True
    assert claims["client_id"] == tokener.client_id
    assert claims["sub"] == tokener.client_id
    assert claims["token_type"].lower() == "bearer"
    assert set(claims["scope"].split()) == set(tokener.scopes)
    aud = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    assert set(aud) == set(tokener.audiences)
    assert before - 5 <= claims["iat"] <= time.time() + 5
    assert claims["exp"] - claims["iat"] == token["expires_in"]
    assert isinstance(claims["jti"], str) and claims["jti"]

    response = session.revoke_token(
        server_metadata["revocation_endpoint"],
        token=token["access_token"],
        token_type_hint="access_token",
    )
    assert response.status_code == 200, response.text  # RFC 7009 §2.2
    assert_client_authentication(response.request, auth_method, tokener)

    response = session.introspect_token(
        server_metadata["introspection_endpoint"], token=token["access_token"]
    )
    assert response.status_code == 200, response.text
    # RFC 7662 §2.2: an inactive token says only that.
    assert response.json() == {"active": False}


@pytest.mark.parametrize("auth_method", AUTH_METHODS)
def test_requested_scope_and_audience(tokener, server_metadata, auth_method):
    session = new_session(tokener, auth_method)
    token = session.fetch_token(
        server_metadata["token_endpoint"],
        grant_type="client_credentials",
        scope="orders:read",
        audience="orders",
    )
    assert token["scope"] == "orders:read"

    claims = session.introspect_token(
        server_metadata["introspection_endpoint"], token=token["access_token"]
    ).json()
    assert claims["active"] is True
    assert claims["scope"] == "orders:read"
    aud = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    assert aud == ["orders"]


def test_revocation_ignores_a_wrong_token_type_hint(tokener, server_metadata):
    # RFC 7009 §2.1 / RFC 7662 §2.1: the hint is only a hint; the server must still find the
    # token when it is of another type than hinted.
    session = new_session(tokener, "client_secret_basic")
    token = session.fetch_token(server_metadata["token_endpoint"], grant_type="client_credentials")
    access_token = token["access_token"]

    response = session.introspect_token(
        server_metadata["introspection_endpoint"],
        token=access_token,
        token_type_hint="refresh_token",
    )
    assert response.json()["active"] is True

    response = session.revoke_token(
        server_metadata["revocation_endpoint"],
        token=access_token,
        token_type_hint="refresh_token",
    )
    assert response.status_code == 200, response.text
    response = session.introspect_token(
        server_metadata["introspection_endpoint"], token=access_token
    )
    assert response.json() == {"active": False}


@pytest.mark.parametrize("auth_method", AUTH_METHODS)
def test_unknown_tokens(tokener, server_metadata, auth_method):
    session = new_session(tokener, auth_method)
    # RFC 7009 §2.2: an invalid token is not an error for revocation.
    response = session.revoke_token(server_metadata["revocation_endpoint"], token="not-a-token")
    assert response.status_code == 200, response.text
    # RFC 7662 §2.2: an unknown token is simply inactive.
    response = session.introspect_token(
        server_metadata["introspection_endpoint"], token="not-a-token"
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"active": False}


# --- errors as Authlib reports them ------------------------------------------------------------


@pytest.mark.parametrize("auth_method", AUTH_METHODS)
def test_wrong_secret_is_invalid_client(tokener, server_metadata, auth_method):
    session = new_session(tokener, auth_method, secret="w" * 43)
    with pytest.raises(OAuthError) as failure:
        session.fetch_token(server_metadata["token_endpoint"], grant_type="client_credentials")
    assert failure.value.error == "invalid_client"


def test_wrong_secret_on_introspection_and_revocation_is_rejected(tokener, server_metadata):
    good = new_session(tokener, "client_secret_basic")
    access_token = good.fetch_token(
        server_metadata["token_endpoint"], grant_type="client_credentials"
    )["access_token"]

    bad = new_session(tokener, "client_secret_basic", secret="w" * 43)
    for response in (
        bad.introspect_token(server_metadata["introspection_endpoint"], token=access_token),
        bad.revoke_token(server_metadata["revocation_endpoint"], token=access_token),
    ):
        assert response.status_code == 401, response.text
        assert response.json()["error"] == "invalid_client"
        assert response.headers.get("WWW-Authenticate", "").lower().startswith("basic")

    # The failed revocation did nothing.
    response = good.introspect_token(server_metadata["introspection_endpoint"], token=access_token)
    assert response.json()["active"] is True


@pytest.mark.parametrize("auth_method", AUTH_METHODS)
def test_scope_outside_the_allowance_is_invalid_scope(tokener, server_metadata, auth_method):
    session = new_session(tokener, auth_method)
    with pytest.raises(OAuthError) as failure:
        session.fetch_token(
            server_metadata["token_endpoint"],
            grant_type="client_credentials",
            scope="orders:read orders:admin",
        )
    assert failure.value.error == "invalid_scope"


def test_audience_outside_the_allowance_is_refused(tokener, server_metadata):
    session = new_session(tokener, "client_secret_basic")
    with pytest.raises(OAuthError) as failure:
        session.fetch_token(
            server_metadata["token_endpoint"],
            grant_type="client_credentials",
            audience="billing",
        )
    # RFC 8693 §2.2.2 / RFC 8707 name `invalid_target` for an unacceptable audience; Tokener
    # answers `invalid_scope`. Either is an OAuth2 error Authlib understands.
    assert failure.value.error in {"invalid_target", "invalid_scope"}


def test_unsupported_grant_type(tokener, server_metadata):
    session = new_session(tokener, "client_secret_basic")
    with pytest.raises(OAuthError) as failure:
        session.fetch_token(
            server_metadata["token_endpoint"],
            grant_type="password",
            username="someone",
            password="something",
        )
    assert failure.value.error == "unsupported_grant_type"


# --- Authlib's automatic renewal ---------------------------------------------------------------


def test_authlib_renews_an_expired_token_through_the_discovered_endpoint(
    tokener, server_metadata, introspect
):
    session = new_session(
        tokener,
        "client_secret_basic",
        token_endpoint=server_metadata["token_endpoint"],
        grant_type="client_credentials",
    )
    first = session.fetch_token(server_metadata["token_endpoint"], grant_type="client_credentials")
    # Pretend the token has expired: the next request through the session renews it first.
    session.token = dict(first, expires_at=int(time.time()) - 3600)

    response = session.get(tokener.url("/keys"))
    assert response.status_code == 200

    renewed = session.token["access_token"]
    assert renewed != first["access_token"]
    assert response.request.headers["Authorization"] == f"Bearer {renewed}"
    assert introspect(renewed)["active"] is True


# --- secrets whose meaning would depend on form-encoding ----------------------------------------


def test_a_bootstrap_secret_that_form_encoding_would_change_is_refused_at_start():
    """RFC 6749 §2.3.1 asks clients to form-encode Basic credentials; Authlib and curl do not.
    A secret holding `+`, `%`, `/`... would then mean two different things, so Tokener refuses
    it at start with a message naming the allowed characters, and every secret it generates is
    made of characters encoding leaves alone."""
    import subprocess

    from conftest import free_loopback_port, tokener_binary

    env = {
        "PATH": "/usr/bin:/bin",
        "TOKENER_LISTEN": f"127.0.0.1:{free_loopback_port()}",
        "TOKENER_BOOTSTRAP_CLIENT_ID": "interop",
        "TOKENER_BOOTSTRAP_CLIENT_SECRET": "Ab+cD%2F:ef/gh=ij&kl" + "x" * 24,
    }
    result = subprocess.run(
        [str(tokener_binary())], env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode != 0
    assert "TOKENER_BOOTSTRAP_CLIENT_SECRET" in result.stderr
    assert "A-Z a-z 0-9 - . _ ~" in result.stderr
    assert "Ab+cD" not in result.stderr, "the secret itself is never echoed"
