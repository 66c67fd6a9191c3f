"""`GET /revocations/stream`, the server-sent events feed the guard follows, read by a plain
HTTP client with a small SSE parser (no Tokener code): the replay, live events, and resuming
with `Last-Event-ID` (or `since`) without a gap or a duplicate.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import queue
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
from typing import Iterator

import pytest

HTTP_TIMEOUT_S = 10
EVENT_BOUND_S = 3.0  # a revocation reaches a connected follower well within this
QUIET_S = 0.7  # how long "nothing more arrives" is watched


class EventStream:
    """One open SSE connection, parsed on a thread into field dicts on a queue.

    http.client rather than requests: closing must wake the reading thread at once (a socket
    shutdown does), and lines must be handed over as they arrive, not per read buffer."""

    def __init__(self, url: str, headers: dict | None = None, params: dict | None = None):
        parts = urllib.parse.urlsplit(url)
        path = parts.path + ("?" + urllib.parse.urlencode(params) if params else "")
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=HTTP_TIMEOUT_S)
        self.connection.request("GET", path, headers={"Accept": "text/event-stream", **(headers or {})})
        self.socket = self.connection.sock
        self.response = self.connection.getresponse()
        self.status = self.response.status
        self.content_type = self.response.getheader("Content-Type", "")
        self.events: queue.Queue = queue.Queue()
        self.comments: list[str] = []
        self.retry: str | None = None
        self.body = ""
        self.reader = threading.Thread(target=self._read, daemon=True)
        if self.status == 200:
            self.socket.settimeout(None)  # an idle stream is normal: wait until closed
            self.reader.start()
        else:
            self.body = self.response.read(2000).decode(errors="replace")

    def _read(self) -> None:
        event: dict[str, str] = {}
        try:
            while raw := self.response.readline():
                line = raw.decode().rstrip("\r\n")
                if line == "":
                    if "data" in event or "id" in event:
                        self.events.put(event)
                    event = {}
                elif line.startswith(":"):
                    self.comments.append(line[1:].strip())
                else:
                    name, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if name == "retry":
                        self.retry = value
                    elif name == "data" and "data" in event:
                        event["data"] += "\n" + value
                    else:
                        event[name] = value
        except (OSError, ValueError, http.client.HTTPException):
            pass  # closed by the test

    def next(self, bound_s: float = EVENT_BOUND_S) -> dict:
        try:
            return self.events.get(timeout=bound_s)
        except queue.Empty:
            pytest.fail(f"no event within {bound_s}s", pytrace=False)

    def take(self, count: int, bound_s: float = EVENT_BOUND_S) -> list[dict]:
        return [self.next(bound_s) for _ in range(count)]

    def quiet(self, for_s: float = QUIET_S) -> list[dict]:
        """Whatever else arrives within `for_s` (expected: nothing)."""
        extra = []
        deadline = time.monotonic() + for_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                extra.append(self.events.get(timeout=left))
            except queue.Empty:
                break
        return extra

    def close(self) -> None:
        # The shutdown ends the reader's blocking read; the connection is closed once the
        # reader is done with it.
        with contextlib.suppress(OSError):
            self.socket.shutdown(socket.SHUT_RDWR)
        if self.reader.is_alive():
            self.reader.join(timeout=HTTP_TIMEOUT_S)
        self.connection.close()


@pytest.fixture
def open_stream(tokener) -> Iterator:
    opened: list[EventStream] = []

    def open_(**kwargs) -> EventStream:
        stream = EventStream(tokener.url("/revocations/stream"), **kwargs)
        opened.append(stream)
        assert stream.status == 200, (stream.status, stream.body)
        assert stream.content_type.startswith("text/event-stream"), stream.content_type
        return stream

    yield open_
    for stream in opened:
        stream.close()


@pytest.fixture
def revoke_new(tokener, http):
    """`revoke_new()`: issues a token, revokes it, returns its token id."""

    def call() -> str:
        response = http.post(tokener.url("/token"), auth=tokener.basic_auth, timeout=HTTP_TIMEOUT_S)
        assert response.status_code == 200, response.text
        answer = response.json()
        response = http.post(
            tokener.url("/oauth2/revoke"),
            data={"token": answer["access_token"]},
            auth=tokener.basic_auth,
            timeout=HTTP_TIMEOUT_S,
        )
        assert response.status_code == 200, response.text
        return answer["token_id"]

    return call


def _entry(event: dict) -> dict:
    assert event.get("event") == "revocation", event
    entry = json.loads(event["data"])
    assert entry["cursor"] == event["id"], event
    return entry


def _replay_until(stream: EventStream, wanted: set[str]) -> list[dict]:
    """Reads the replay until every id in `wanted` was seen; returns every entry read."""
    entries = []
    seen: set[str] = set()
    while not wanted <= seen:
        entry = _entry(stream.next())
        entries.append(entry)
        if entry["kind"] == "token":
            seen.add(entry["token_id"])
    return entries


def test_metadata_names_the_stream(tokener, server_metadata):
    assert server_metadata["revocations_stream_uri"] == tokener.url("/revocations/stream")
    assert server_metadata["revocations_uri"] == tokener.url("/revocations")


def test_replay_then_live_events(open_stream, revoke_new):
    before = {revoke_new() for _ in range(3)}

    stream = open_stream()
    replay = _replay_until(stream, before)
    assert stream.retry == "1000"
    for entry in replay:
        if entry["kind"] == "token":
            assert isinstance(entry["revoked_at"], int) and isinstance(entry["expires_at"], int), entry

    live = revoke_new()
    started = time.monotonic()
    (entry,) = [_entry(event) for event in stream.take(1)]
    assert entry == {**entry, "kind": "token", "token_id": live}
    assert time.monotonic() - started < EVENT_BOUND_S


@pytest.mark.parametrize("resume_with", ["last-event-id", "since"])
def test_resuming_gives_no_gap_and_no_duplicate(open_stream, revoke_new, resume_with):
    first = open_stream()
    known = {revoke_new() for _ in range(2)}
    entries = _replay_until(first, known)
    last_id = entries[-1]["cursor"]
    first.close()

    missed = [revoke_new() for _ in range(3)]

    if resume_with == "last-event-id":
        second = open_stream(headers={"Last-Event-ID": last_id})
    else:
        second = open_stream(params={"since": last_id})
    resumed = [_entry(event) for event in second.take(len(missed))]
    resumed += [_entry(event) for event in second.quiet()]

    token_ids = [entry["token_id"] for entry in resumed if entry["kind"] == "token"]
    assert sorted(token_ids) == sorted(missed), "resuming must deliver exactly what was missed"
    # Cursors strictly follow the one resumed from, in order.
    assert all(entry["cursor"] != last_id for entry in resumed)


def test_last_event_id_wins_over_since(open_stream, revoke_new):
    stream = open_stream()
    pair = {revoke_new(), revoke_new()}
    entries = _replay_until(stream, pair)
    stream.close()
    ordered = [entry for entry in entries if entry["kind"] == "token" and entry["token_id"] in pair]
    earlier, later = ordered[0]["cursor"], ordered[-1]["cursor"]

    # `since` points before the later one, the header at it: honouring `since` would replay
    # the later one again.
    resumed = open_stream(params={"since": earlier}, headers={"Last-Event-ID": later})
    after = revoke_new()
    (entry,) = [_entry(event) for event in resumed.take(1)]
    assert entry["token_id"] == after
    assert resumed.quiet() == []


SHUTDOWN_BOUND_S = 5.0


def test_sigterm_ends_open_streams(launch_tokener):
    """A follower's stream never finishes by itself: a graceful stop must end it, not wait the
    whole shutdown timeout for it (every guard keeps one open)."""
    with launch_tokener() as server:
        stream = EventStream(server.url("/revocations/stream"))
        try:
            assert stream.status == 200, (stream.status, stream.body)
            deadline = time.monotonic() + EVENT_BOUND_S
            while stream.retry is None and time.monotonic() < deadline:
                time.sleep(0.01)  # connected and served: the retry line arrived
            assert stream.retry is not None

            started = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            try:
                code = server.process.wait(timeout=SHUTDOWN_BOUND_S + 1)
            except subprocess.TimeoutExpired:
                code = None
            took = time.monotonic() - started
            assert code == 0 and took <= SHUTDOWN_BOUND_S, (
                f"tokener with one open /revocations/stream: exit {code} after {took:.1f}s "
                f"(want 0 within {SHUTDOWN_BOUND_S:.0f}s); log:\n{server.log_tail(1500)}"
            )
            stream.reader.join(timeout=2)
            assert not stream.reader.is_alive(), "the stream stayed open after the process exited"
        finally:
            stream.close()
