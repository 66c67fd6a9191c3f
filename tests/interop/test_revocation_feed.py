"""The revocation feed as an offline verifier follows it: `GET /revocations?since=<cursor>`,
passing each page's `next` back, while other clients revoke concurrently.

The contract: resuming with the last cursor received gives no gap and no duplicate. A feed
keyed by time is exposed to two races that only concurrency shows: two revocations stamped
within the cursor's resolution (the one sorting before the cursor is skipped), and a
revocation committed after a later-stamped one was already read. The follower below runs while
revocations land, so either race loses an id.

Runs on the embedded store and, when `TOKENER_TEST_MONGODB_URI` is set, on MongoDB (skipped
without it, failed when `TOKENER_TEST_REQUIRE_SERVICES=1`).
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from conftest import run_tokener

HTTP_TIMEOUT_S = 10
REVOKERS = 4
TOKENS_PER_REVOKER = 40
SETTLE_S = 2.0  # after the last revocation: the follower's last polls


def _issue_many(server, count: int) -> list[str]:
    with requests.Session() as session:
        tokens = []
        for _ in range(count):
            response = session.post(server.url("/token"), auth=server.basic_auth, timeout=HTTP_TIMEOUT_S)
            assert response.status_code == 200, response.text
            tokens.append(response.json())
        return tokens


class Follower(threading.Thread):
    """Pages through the feed from the beginning until told to stop, as a verifier would."""

    def __init__(self, server):
        super().__init__(daemon=True)
        self.server = server
        self.seen: list[str] = []
        self.cursor: str | None = None
        self.stop_at: float | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with requests.Session() as session:
                while self.stop_at is None or time.monotonic() < self.stop_at:
                    params = {"limit": 3} if self.cursor is None else {"since": self.cursor, "limit": 3}
                    response = session.get(self.server.url("/revocations"), params=params, timeout=HTTP_TIMEOUT_S)
                    assert response.status_code == 200, response.text
                    page = response.json()
                    self.seen.extend(entry["token_id"] for entry in page["revocations"] if "token_id" in entry)
                    if page.get("next"):
                        self.cursor = page["next"]
                    if not page["revocations"]:
                        time.sleep(0.005)
        except BaseException as error:  # reported by the test
            self.error = error


def _read_all(server) -> set[str]:
    ids: set[str] = set()
    params: dict = {"limit": 1000}
    with requests.Session() as session:
        for _ in range(100):
            response = session.get(server.url("/revocations"), params=params, timeout=HTTP_TIMEOUT_S)
            assert response.status_code == 200, response.text
            page = response.json()
            ids.update(entry["token_id"] for entry in page["revocations"] if "token_id" in entry)
            if not page["revocations"] or not page.get("next"):
                return ids
            params = {"since": page["next"], "limit": 1000}
    return ids


def _follow_while_revoking(server) -> tuple[list[str], list[str]]:
    issued = _issue_many(server, REVOKERS * TOKENS_PER_REVOKER)
    follower = Follower(server)
    follower.start()

    def revoke_all(batch: list[dict]) -> list[str]:
        with requests.Session() as session:
            for answer in batch:
                response = session.post(
                    server.url("/oauth2/revoke"),
                    data={"token": answer["access_token"]},
                    auth=server.basic_auth,
                    timeout=HTTP_TIMEOUT_S,
                )
                assert response.status_code == 200, response.text
        return [answer["token_id"] for answer in batch]

    batches = [issued[i::REVOKERS] for i in range(REVOKERS)]
    with ThreadPoolExecutor(REVOKERS) as pool:
        revoked = [token_id for ids in pool.map(revoke_all, batches) for token_id in ids]
    follower.stop_at = time.monotonic() + SETTLE_S
    follower.join(timeout=SETTLE_S + HTTP_TIMEOUT_S)
    assert not follower.is_alive(), "the follower did not stop"
    if follower.error is not None:
        raise follower.error

    # The control: read from the start once everything has landed, every id is there.
    assert set(revoked) <= _read_all(server), "the feed read from the start lacks revocations"
    return revoked, follower.seen


def _assert_complete(revoked: list[str], seen: list[str]) -> None:
    missing = set(revoked) - set(seen)
    duplicates = len(seen) - len(set(seen))
    assert not missing, (
        f"{len(missing)} of {len(revoked)} revocations never reached a follower of "
        "GET /revocations?since= (resumed with each page's next) while they were being made, "
        "though all are in the feed when read from the start"
    )
    assert duplicates == 0, f"{duplicates} revocations were delivered twice"


def test_a_follower_misses_no_revocation(tmp_path):
    with run_tokener(tmp_path / "tokener") as server:
        revoked, seen = _follow_while_revoking(server)
    _assert_complete(revoked, seen)


def test_a_follower_misses_no_revocation_on_mongodb(tmp_path):
    uri = os.environ.get("TOKENER_TEST_MONGODB_URI", "").strip()
    if not uri:
        message = "TOKENER_TEST_MONGODB_URI is unset (run `source scripts/test-services.sh` first)"
        if os.environ.get("TOKENER_TEST_REQUIRE_SERVICES") == "1":
            pytest.fail(message + " but TOKENER_TEST_REQUIRE_SERVICES=1", pytrace=False)
        pytest.skip(message)
    settings = {
        "TOKENER_MONGODB_URI": uri,
        "TOKENER_MONGODB_DATABASE": f"tokener_feed_{secrets.token_hex(6)}",
        # No key file: the signing keys are kept in MongoDB, sealed with this secret.
        "TOKENER_KEY_ENCRYPTION_SECRET": secrets.token_urlsafe(32),
    }
    with run_tokener(tmp_path / "tokener", env=settings) as server:
        revoked, seen = _follow_while_revoking(server)
    _assert_complete(revoked, seen)
