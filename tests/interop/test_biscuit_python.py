"""Tokener tokens read, verified, authorized and attenuated by an independent Biscuit
implementation: `biscuit-python` (import time
import name `biscuit_auth`, bindings to the Rust reference
library, but none of Tokener's code), which is given nothing but the public keys published
at `GET /keys`.

Attenuated tokens written by biscuit-python are then handed back to Tokener's RFC 7662
introspection, which must enforce the checks of the appended block.
"""

from __future__ import annotations

import base64
import re
import time
from datetime import datetime, timedelta, timezone

import pytest
from biscuit_auth import (
    AuthorizationError,
    AuthorizerBuilder,
    Biscuit,
    BiscuitBuilder,
    BiscuitValidationError,
    BlockBuilder,
    KeyPair,
    Policy,
    PublicKey,
    Rule,
    UnverifiedBiscuit,
)

HTTP_TIMEOUT_S = 10
PUBLIC_KEY_PATTERN = re.compile(r"^ed25519/[0-9a-f]{64}$")


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def datalog_date(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def b64decode(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def published_keys(tokener, http) -> list[dict]:
    response = http.get(tokener.url("/keys"), timeout=HTTP_TIMEOUT_S)
    assert response.status_code == 200, response.text
    keys = response.json()["keys"]
    assert keys, "GET /keys published no key"
    return keys


class KeyProvider:
    """biscuit-python's root key callback: token root key id -> published `PublicKey`."""

    def __init__(self, published: list[dict]):
        self.keys = {entry["id"]: PublicKey(entry["public_key"]) for entry in published}
        self.asked: list[int | None] = []

    def __call__(self, key_id):
        self.asked.append(key_id)
        return self.keys[key_id]  # an unknown id raises: verification fails


@pytest.fixture
def key_provider(published_keys) -> KeyProvider:
    return KeyProvider(published_keys)


@pytest.fixture
def active_key(published_keys) -> PublicKey:
    (entry,) = [k for k in published_keys if k["status"] == "active"]
    return PublicKey(entry["public_key"])


@pytest.fixture
def issue(tokener, http):
    """`issue(**form)`: a fresh token from `POST /oauth2/token` (client_secret_basic); returns
    the whole JSON answer."""

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


def authorizer_for(biscuit: Biscuit, code: str, **parameters):
    return AuthorizerBuilder(code, parameters or None).build(biscuit)


def query_values(authorizer, predicate: str) -> list:
    facts = authorizer.query(Rule(f"value($x) <- {predicate}($x)"))
    return [fact.terms[0] for fact in facts]


# --- the published keys ------------------------------------------------------------------------


def test_published_keys_parse_as_biscuit_public_keys(published_keys):
    for entry in published_keys:
        assert isinstance(entry["id"], int)
        assert entry["algorithm"] == "ed25519"
        assert entry["status"] in {"active", "retired"}
        assert PUBLIC_KEY_PATTERN.match(entry["public_key"]), entry["public_key"]
        assert str(PublicKey(entry["public_key"])) == entry["public_key"]
    assert [k["status"] for k in published_keys].count("active") == 1


# --- verification ------------------------------------------------------------------------------


def test_verifies_with_the_key_named_by_the_root_key_id(token, key_provider, published_keys):
    root_key_id = UnverifiedBiscuit.from_base64(token).root_key_id()
    assert root_key_id in {k["id"] for k in published_keys}

    biscuit = Biscuit.from_base64(token, key_provider)

    assert key_provider.asked == [root_key_id]
    assert biscuit.block_count() == 1
    assert biscuit.to_base64().rstrip("=") == token.rstrip("=")


def test_verifies_with_the_single_active_key(token, active_key):
    assert Biscuit.from_base64(token, active_key).block_count() == 1


def test_another_key_is_refused(token):
    with pytest.raises(BiscuitValidationError):
        Biscuit.from_base64(token, KeyPair().public_key)


def test_unknown_root_key_id_is_refused(token):
    def no_key(key_id):
        raise KeyError(key_id)

    with pytest.raises(BiscuitValidationError):
        Biscuit.from_base64(token, no_key)


# --- the authority block -----------------------------------------------------------------------


def test_authority_facts(tokener, issue, key_provider, introspect):
    before = utc_now()
    answer = issue()
    biscuit = Biscuit.from_base64(answer["access_token"], key_provider)
    authorizer = authorizer_for(biscuit, "allow if true")

    assert query_values(authorizer, "client") == [tokener.client_id]
    assert sorted(query_values(authorizer, "audience")) == sorted(tokener.audiences)
    assert sorted(query_values(authorizer, "scope")) == sorted(tokener.scopes)
    (issued_at,) = query_values(authorizer, "issued_at")
    (expires_at,) = query_values(authorizer, "expires_at")
    assert isinstance(issued_at, datetime) and isinstance(expires_at, datetime)
    assert before - timedelta(seconds=5) <= issued_at <= utc_now() + timedelta(seconds=5)
    assert (expires_at - issued_at).total_seconds() == answer["expires_in"]

    # The token carries its own expiry check, in the documented form.
    source = biscuit.block_source(0)
    assert f"check if time($t), $t <= {datalog_date(expires_at)};" in source
    assert f'client("{tokener.client_id}");' in source

    # Tokener's introspection reports the same claims as the block.
    claims = introspect(answer["access_token"])
    assert claims["iat"] == int(issued_at.timestamp())
    assert claims["exp"] == int(expires_at.timestamp())
    assert claims["client_id"] == tokener.client_id
    assert sorted(claims["scope"].split()) == sorted(tokener.scopes)


def test_requested_scope_narrows_the_authority_block(issue, key_provider):
    biscuit = Biscuit.from_base64(
        issue(scope="orders:read", audience="orders")["access_token"], key_provider
    )
    authorizer = authorizer_for(biscuit, "allow if true")
    assert query_values(authorizer, "scope") == ["orders:read"]
    assert query_values(authorizer, "audience") == ["orders"]


# --- authorization -----------------------------------------------------------------------------


def test_authorizes_now(token, key_provider):
    biscuit = Biscuit.from_base64(token, key_provider)
    assert authorizer_for(biscuit, "time({now}); allow if true", now=utc_now()).authorize() == 0

    # set_time() is biscuit-python's own way of providing time(now).
    builder = AuthorizerBuilder()
    builder.set_time()
    builder.add_policy(Policy("allow if true"))
    assert builder.build(biscuit).authorize() == 0


def test_offline_service_policy(token, key_provider):
    """What a service behind Tokener would do offline: require its audience and a scope."""
    biscuit = Biscuit.from_base64(token, key_provider)
    allowed = authorizer_for(
        biscuit,
        'time({now}); allow if audience("orders"), scope("orders:read");',
        now=utc_now(),
    )
    assert allowed.authorize() == 0

    refused = authorizer_for(
        biscuit,
        'time({now}); allow if audience("orders"), scope("orders:admin");',
        now=utc_now(),
    )
    with pytest.raises(AuthorizationError):
        refused.authorize()


def test_expiry_is_enforced_offline(token, key_provider):
    biscuit = Biscuit.from_base64(token, key_provider)
    (expires_at,) = query_values(authorizer_for(biscuit, "allow if true"), "expires_at")

    at_expiry = authorizer_for(biscuit, "time({t}); allow if true", t=expires_at)
    assert at_expiry.authorize() == 0

    after = authorizer_for(
        biscuit, "time({t}); allow if true", t=expires_at + timedelta(seconds=1)
    )
    with pytest.raises(AuthorizationError):
        after.authorize()


# --- tampering and forgery ---------------------------------------------------------------------


def test_tampered_authority_block_is_refused(tokener, token, key_provider, introspect):
    raw = b64decode(token)
    client = tokener.client_id.encode()
    assert raw.count(client) == 1
    forged_name = b"x" * len(client)  # same length: the protobuf framing stays valid
    tampered = b64encode(raw.replace(client, forged_name))

    with pytest.raises(BiscuitValidationError):
        Biscuit.from_base64(tampered, key_provider)
    assert introspect(tampered) == {"active": False}


def test_flipped_signature_bit_is_refused(token, key_provider, introspect):
    raw = bytearray(b64decode(token))
    biscuit = Biscuit.from_base64(token, key_provider)
    # The authority block's signature is its revocation id: flip one of its bits.
    signature = bytes.fromhex(biscuit.revocation_ids[0])
    offset = bytes(raw).index(signature)
    raw[offset + 10] ^= 0x01
    tampered = b64encode(bytes(raw))

    with pytest.raises(BiscuitValidationError):
        Biscuit.from_base64(tampered, key_provider)
    assert introspect(tampered) == {"active": False}


def test_token_forged_with_another_key_is_refused(token, key_provider, introspect):
    """The same authority block, plus a scope, signed by a key Tokener never published."""
    genuine = Biscuit.from_base64(token, key_provider)
    source = genuine.block_source(0) + '\nscope("orders:admin");'
    root_key_id = UnverifiedBiscuit.from_base64(token).root_key_id()
    forger = KeyPair()
    builder = BiscuitBuilder(source)
    builder.set_root_key_id(root_key_id)
    forged = builder.build(forger.private_key).to_base64()

    # Well-formed: it verifies with the forger's key ...
    assert Biscuit.from_base64(forged, forger.public_key).block_count() == 1
    # ... but not with Tokener's published keys, offline or at Tokener.
    with pytest.raises(BiscuitValidationError):
        Biscuit.from_base64(forged, key_provider)
    assert introspect(forged) == {"active": False}


# --- token id ----------------------------------------------------------------------------------


def test_token_id_is_the_authority_revocation_id(tokener, http, token, key_provider, introspect):
    biscuit = Biscuit.from_base64(token, key_provider)
    authority_revocation_id = biscuit.revocation_ids[0]
    assert re.fullmatch(r"[0-9a-f]+", authority_revocation_id)
    assert introspect(token)["jti"] == authority_revocation_id

    # The non-OAuth issuing route reports the same id as `token_id`.
    response = http.post(tokener.url("/token"), auth=tokener.basic_auth, timeout=HTTP_TIMEOUT_S)
    assert response.status_code == 200, response.text
    answer = response.json()
    other = Biscuit.from_base64(answer["access_token"], key_provider)
    assert answer["token_id"] == other.revocation_ids[0]


# --- attenuation written by biscuit-python, enforced by Tokener ---------------------------------


def _in_a_minute() -> datetime:
    return utc_now() + timedelta(seconds=60)


ATTENUATIONS = [
    pytest.param(
        "check if time($t), $t <= {limit}",
        lambda: {"limit": _in_a_minute()},
        True,
        id="time-limit-in-a-minute",
    ),
    pytest.param(
        "check if time($t), $t <= 2001-01-01T00:00:00Z",
        dict,
        False,
        id="time-limit-in-the-past",
    ),
    pytest.param('check if operation("read")', dict, False, id="needs-an-operation-fact"),
    pytest.param('check if scope("orders:read")', dict, True, id="held-scope"),
    pytest.param('check if scope("orders:admin")', dict, False, id="missing-scope"),
    pytest.param('check if audience("orders")', dict, True, id="held-audience"),
    pytest.param('check if client("someone-else")', dict, False, id="other-client"),
]


@pytest.mark.parametrize(("code", "parameters", "active"), ATTENUATIONS)
def test_introspection_honours_an_appended_block(
    token, key_provider, introspect, code, parameters, active
):
    original = Biscuit.from_base64(token, key_provider)
    attenuated = original.append(BlockBuilder(code, parameters() or None))
    attenuated_token = attenuated.to_base64()

    # Still a valid Biscuit under Tokener's key, one block longer, same token id.
    reparsed = Biscuit.from_base64(attenuated_token, key_provider)
    assert reparsed.block_count() == 2
    assert reparsed.revocation_ids[0] == original.revocation_ids[0]

    claims = introspect(attenuated_token)
    assert claims["active"] is active, (code, claims)
    if active:
        assert claims["jti"] == original.revocation_ids[0]
    else:
        assert claims == {"active": False}
    # The original token is untouched by its attenuated copy.
    assert introspect(token)["active"] is True


def test_offline_authorizer_enforces_the_appended_block(token, key_provider):
    biscuit = Biscuit.from_base64(token, key_provider).append(
        BlockBuilder('check if operation("read")')
    )
    reading = authorizer_for(
        biscuit, 'time({now}); operation("read"); allow if true', now=utc_now()
    )
    assert reading.authorize() == 0
    writing = authorizer_for(
        biscuit, 'time({now}); operation("write"); allow if true', now=utc_now()
    )
    with pytest.raises(AuthorizationError):
        writing.authorize()


def test_facts_in_an_appended_block_grant_nothing(tokener, token, key_provider, introspect):
    """A holder cannot widen its token: facts of an attenuation block are not trusted."""
    widened = (
        Biscuit.from_base64(token, key_provider)
        .append(BlockBuilder('scope("orders:admin"); client("mallory"); audience("billing");'))
    )
    claims = introspect(widened.to_base64())
    assert claims["active"] is True
    assert claims["client_id"] == tokener.client_id
    assert sorted(claims["scope"].split()) == sorted(tokener.scopes)
    aud = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    assert aud == list(tokener.audiences)

    # biscuit-python's authorizer does not trust them either (default scope: authority only).
    authorizer = authorizer_for(
        widened, 'time({now}); allow if scope("orders:admin");', now=utc_now()
    )
    with pytest.raises(AuthorizationError):
        authorizer.authorize()


def test_revoking_an_attenuated_copy_revokes_the_token(
    tokener, http, token, key_provider, introspect
):
    original = Biscuit.from_base64(token, key_provider)
    attenuated = original.append(
        BlockBuilder("check if time($t), $t <= {limit}", {"limit": _in_a_minute()})
    ).to_base64()
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

    # The revocation feed names the id biscuit-python computes for the token. The feed hands an
    # entry out about half a second after the revocation (so entries come in order): wait for it.
    token_id = original.revocation_ids[0]
    deadline = time.monotonic() + 3
    while token_id not in _all_revoked_ids(tokener, http):
        assert time.monotonic() < deadline, "the revocation never reached the feed"
        time.sleep(0.05)


def _all_revoked_ids(tokener, http) -> set[str]:
    ids: set[str] = set()
    params: dict = {}
    for _ in range(100):
        response = http.get(tokener.url("/revocations"), params=params, timeout=HTTP_TIMEOUT_S)
        assert response.status_code == 200, response.text
        page = response.json()
        entries = page.get("revocations", [])
        ids.update(entry["token_id"] for entry in entries if entry.get("kind") == "token")
        if not entries or not page.get("next"):
            break
        params = {"since": page["next"]}
    return ids
