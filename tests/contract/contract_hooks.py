"""Schemathesis hooks for the contract run (loaded by `st` through `SCHEMATHESIS_HOOKS`).

Configured by the environment test_openapi_contract.py gives the `st` process (never printed):

- `CONTRACT_BASE_URL`: the Tokener under test.
- `CONTRACT_ADMIN_ID`, `CONTRACT_ADMIN_SECRET`: the bootstrap client, holding `tokener:admin`.
- `CONTRACT_CLIENT_ID`, `CONTRACT_CLIENT_SECRET`: the ordinary client for HTTP Basic.

What they do:

1. Credentials of the scheme each operation names (`security` in openapi.yaml), fresh for every
   request: `admin_bearer` operations get a Bearer token minted just before the request (client
   credentials grant with `tokener:admin`), `client_basic` operations the Basic client. The run
   mutates server state (it revokes tokens by id, revokes client-wide, rotates secrets, adds
   and retires keys), so a token reused across requests could be one it revoked meanwhile;
   minting costs one request to an in-memory server. `refresh_interval=None` turns
   schemathesis' caching off, so `get` runs for every case. Cases whose generated credentials
   are meant to be wrong (negative testing of the security scheme) are left alone by
   schemathesis itself (`is_security_param_negated`).

2. The two clients above are the run's own identities: a generated request must never disable,
   change, rotate or revoke them. Their ids end in a random suffix, so generation cannot guess
   them, but schemathesis reuses values it saw in responses (GET /admin/clients lists them,
   GET /admin/audit names them), in stateful links and in its extra data sources. `before_call`
   runs before every test case is sent, in every phase, and points a case aimed at one of them
   at a client that does not exist instead (in place, so the probes checks derive from the
   case, such as ignored_auth's resend without credentials, carry the change too). The request
   stays valid for the schema, and the server answers it 404 as documented. The last test of
   the suite checks that both clients came through unchanged.
"""

from __future__ import annotations

import os
import secrets
import threading
from typing import Any

import requests
from requests.auth import _basic_auth_str

import schemathesis

BASE_URL = os.environ["CONTRACT_BASE_URL"]
ADMIN_ID = os.environ["CONTRACT_ADMIN_ID"]
ADMIN_SECRET = os.environ["CONTRACT_ADMIN_SECRET"]
CLIENT_ID = os.environ["CONTRACT_CLIENT_ID"]
CLIENT_SECRET = os.environ["CONTRACT_CLIENT_SECRET"]
ADMIN_SCOPE = "tokener:admin"

PROTECTED_CLIENT_IDS = frozenset({ADMIN_ID, CLIENT_ID})
# Matches the document's client id pattern, and no client exists by that name.
STAND_IN_CLIENT_ID = f"absent-{secrets.token_hex(8)}"

_local = threading.local()


def _session() -> requests.Session:
    # One session per worker thread: connection reuse, no sharing across threads.
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    return session


def _schemes(operation: Any) -> set[str]:
    requirements = operation.definition.raw.get("security") or []
    return {name for requirement in requirements for name in requirement}


def fresh_admin_token() -> str:
    response = _session().post(
        BASE_URL + "/oauth2/token",
        data={"grant_type": "client_credentials", "scope": ADMIN_SCOPE},
        auth=(ADMIN_ID, ADMIN_SECRET),
        timeout=10,
    )
    if response.status_code != 200:
        # The status and the error code only: a successful body would hold a token.
        raise RuntimeError(
            f"minting an admin token failed: {response.status_code} "
            f"{response.headers.get('content-type', '')} {response.text[:300]}"
        )
    return response.json()["access_token"]


@schemathesis.auth(refresh_interval=None)
class FreshCredentials:
    """Bearer for `admin_bearer` operations, Basic for `client_basic` ones, nothing for public
    operations; see the module docstring."""

    def get(self, case: Any, ctx: Any) -> tuple[str, Any] | None:
        schemes = _schemes(ctx.operation)
        if "admin_bearer" in schemes:
            return ("bearer", fresh_admin_token())
        if "client_basic" in schemes:
            return ("basic", (CLIENT_ID, CLIENT_SECRET))
        return None

    def set(self, case: Any, data: tuple[str, Any], ctx: Any) -> None:
        kind, value = data
        header = f"Bearer {value}" if kind == "bearer" else _basic_auth_str(*value)
        if case.headers is None:
            case.headers = {}
        case.headers["Authorization"] = header


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    path_parameters = case.path_parameters
    if path_parameters and path_parameters.get("client_id") in PROTECTED_CLIENT_IDS:
        path_parameters["client_id"] = STAND_IN_CLIENT_ID
