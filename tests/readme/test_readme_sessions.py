"""The README's sessions, run as printed against the freshly built binary.

Blocks are taken from README.md itself: each fence right after an HTML comment
`<!-- readme-test: KIND -->` (KIND: `demo-start`, `session`, `admin-start`, `admin`). Only the
address and the binary are substituted: `cargo run --release -p tokener-http` becomes the debug
binary (`$TOKENER_BIN`, else target/debug/tokener), `http://127.0.0.1:8080` the test's address,
a `tokener <subcommand>` the binary's path. The demo secret is read from the service's standard
output, as a user would, and pasted into the `SECRET='paste the printed secret here'` line.

Expected outputs are the `# ...` lines right below a command (no blank line between). Their JSON
is compared by shape: the same keys; values equal, except that `…` elides (`"CAES…"`: a
base64url string with that prefix; `"b245f380…"`: hex; `"ed25519/09b4…"`: that prefix, then
hex; `"1796170508437.4549…"`: a cursor; `1796…`: any integer) and that RFC 3339 times match
as times. `# (prints nothing)` means empty output.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
DEFAULT_BINARY = REPO / (os.environ.get("CARGO_TARGET_DIR") or "target") / "debug" / "tokener"
README_ADDRESS = "http://127.0.0.1:8080"
START_COMMAND = "cargo run --release -p tokener-http"
SECRET_LINE = "SECRET='paste the printed secret here'"
STARTUP_TIMEOUT_S = 20.0
RUN_TIMEOUT_S = 30.0
STEP_MARK = "@@readme-step@@"
ELLIPSIS = "\u2026"


# --- the README's blocks --------------------------------------------------------------------------


def readme_blocks(kind: str) -> list[str]:
    """The bodies of the fenced blocks marked `<!-- readme-test: kind -->`, in order."""
    pattern = re.compile(
        r"^<!-- readme-test: ([\w-]+) -->\n```[\w-]*\n(.*?)^```$", re.M | re.S
    )
    blocks = [body for found, body in pattern.findall(README.read_text()) if found == kind]
    assert blocks, f"README.md has no block marked <!-- readme-test: {kind} -->"
    return blocks


def binary() -> Path:
    path = Path(os.environ.get("TOKENER_BIN") or DEFAULT_BINARY)
    if not path.is_file():
        result = subprocess.run(
            ["cargo", "build", "-p", "tokener-http"], cwd=REPO, capture_output=True, text=True
        )
        assert result.returncode == 0 and path.is_file(), result.stderr[-4000:]
    return path


def substitute(text: str, address: str) -> str:
    """The README's text with only the address and the binary replaced."""
    text = text.replace(START_COMMAND, f"exec {binary()}")
    text = text.replace(README_ADDRESS, address)
    return re.sub(
        r"(?<![\w/.:\"'-])tokener(?= (?:client|token|keys|guard|serve|openapi)\b)",
        str(binary()),
        text,
    )


# --- steps and their expected outputs -------------------------------------------------------------


def split_steps(block: str) -> list[tuple[str, list[str]]]:
    """(command, expected output lines) for each command of a shell block. A command spans
    its `\\`-continued lines; the `# ` lines right below it are its output."""
    steps: list[tuple[str, list[str]]] = []
    lines = block.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip() or line.lstrip().startswith("#"):
            i += 1
            continue
        command = [line]
        while command[-1].rstrip().endswith("\\") and i + 1 < len(lines):
            i += 1
            command.append(lines[i])
        i += 1
        expected = []
        while i < len(lines) and lines[i].startswith("#"):
            expected.append(lines[i][1:].strip())
            i += 1
        steps.append(("\n".join(command), expected))
    return steps


def run_steps(steps: list[tuple[str, list[str]]], address: str, env: dict) -> list[str]:
    """Runs every command in one bash (so variables carry over); each command's output."""
    script = ["set -euo pipefail"]
    for command, _ in steps:
        script.append(f"printf '\\n{STEP_MARK}\\n'")
        script.append(substitute(command, address))
    result = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    assert result.returncode == 0, f"the README's commands failed:\n{result.stdout}\n{result.stderr}"
    outputs = result.stdout.split(f"\n{STEP_MARK}\n")[1:]
    assert len(outputs) == len(steps), result.stdout
    return [output.strip() for output in outputs]


RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
HEX = re.compile(r"^[0-9a-f]+$")
B64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")
CURSOR = re.compile(r"^\d+\.[0-9a-f]+$")


class Elided:
    """A value the README shows only in part."""

    def __init__(self, shown):
        self.shown = shown

    def __repr__(self):
        return f"{self.shown}{ELLIPSIS}"


def parse_expected(lines: list[str]):
    text = "".join(lines)
    text = re.sub(r'"([^"]*)' + ELLIPSIS + '"', lambda m: json.dumps({"\0elided": m.group(1)}), text)
    text = re.sub(r"(\d+)" + ELLIPSIS, lambda m: json.dumps({"\0elided": int(m.group(1))}), text)
    return json.loads(
        text, object_hook=lambda o: Elided(o["\0elided"]) if set(o) == {"\0elided"} else o
    )


def assert_shape(expected, actual, where: str = "$") -> None:
    if isinstance(expected, Elided):
        shown = expected.shown
        if isinstance(shown, int):
            assert isinstance(actual, int) and not isinstance(actual, bool), (where, actual)
        elif CURSOR.match(shown + "0"):
            assert isinstance(actual, str) and CURSOR.match(actual), (where, actual)
        elif "/" in shown:
            prefix = shown.rpartition("/")[0]
            assert isinstance(actual, str) and actual.startswith(prefix + "/"), (where, actual)
            assert HEX.match(actual[len(prefix) + 1 :]), (where, actual)
        elif HEX.match(shown):
            assert isinstance(actual, str) and HEX.match(actual), (where, actual)
        else:
            assert isinstance(actual, str) and B64URL.match(actual), (where, actual)
            assert actual.startswith(shown), (where, actual)
    elif isinstance(expected, dict):
        assert isinstance(actual, dict), (where, actual)
        assert sorted(actual) == sorted(expected), (where, sorted(actual), sorted(expected))
        for key in expected:
            assert_shape(expected[key], actual[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), (where, actual)
        for i, (e, a) in enumerate(zip(expected, actual)):
            assert_shape(e, a, f"{where}[{i}]")
    elif isinstance(expected, str) and RFC3339.match(expected):
        assert isinstance(actual, str) and RFC3339.match(actual), (where, actual)
    else:
        assert actual == expected, (where, actual, expected)


def check_outputs(steps, outputs) -> int:
    """Checks every output the README shows; returns how many it checked."""
    checked = 0
    for (command, expected), output in zip(steps, outputs):
        if not expected:
            continue
        checked += 1
        if expected == ["(prints nothing)"]:
            assert output == "", (command, output)
            continue
        try:
            actual = json.loads(output)
        except json.JSONDecodeError:
            pytest.fail(f"not JSON, from {command!r}:\n{output}", pytrace=False)
        assert_shape(parse_expected(expected), actual, command.splitlines()[0])
        for key in ("token_id", "jti"):
            if isinstance(actual, dict) and key in actual:
                assert re.fullmatch(r"[0-9a-f]{128}", actual[key]), (key, actual[key])
    return checked


# --- the service ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(port: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKENER_")}
    env["TOKENER_LISTEN"] = f"127.0.0.1:{port}"
    return env


def start(command: str, port: int, stdout_path: Path) -> subprocess.Popen:
    """Runs a README start command (with the binary substituted) and waits for /healthz."""
    with open(stdout_path, "wb") as out, open(stdout_path.with_suffix(".log"), "wb") as log:
        process = subprocess.Popen(
            ["bash", "-c", command],
            cwd=REPO,
            env=clean_env(port),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=log,
        )
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        assert process.poll() is None, stdout_path.with_suffix(".log").read_text()[-3000:]
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            time.sleep(0.05)
    stop(process)
    pytest.fail(f"the service did not listen on port {port}", pytrace=False)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


# --- the tests ------------------------------------------------------------------------------------


def test_demo_session(tmp_path):
    port = free_port()
    address = f"http://127.0.0.1:{port}"
    (shown,) = readme_blocks("demo-start")
    shown_lines = shown.splitlines()
    assert shown_lines[0] == "$ " + START_COMMAND
    stdout = tmp_path / "demo.out"
    process = start(substitute(START_COMMAND, address), port, stdout)
    try:
        # What the service printed matches the README's lines, `…` standing for the secret.
        deadline = time.monotonic() + 5
        while "try:" not in stdout.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        printed = [line for line in stdout.read_text().splitlines() if line.strip()]
        patterns = [
            re.escape(line.replace(README_ADDRESS, address))
            for line in shown_lines[1:]
        ]
        patterns = [re.sub(r"[^\s']*" + ELLIPSIS, lambda m: r"[^\s']+", p) for p in patterns]
        assert len(printed) == len(patterns), printed
        for pattern, line in zip(patterns, printed):
            assert re.fullmatch(pattern, line), (pattern, line)
        secret = re.search(r"client secret: (\S+)", stdout.read_text()).group(1)

        blocks = readme_blocks("session")
        assert SECRET_LINE in blocks[0]
        blocks[0] = blocks[0].replace(SECRET_LINE, f"SECRET='{secret}'")
        steps = [step for block in blocks for step in split_steps(block)]
        outputs = run_steps(steps, address, clean_env(port))
        assert check_outputs(steps, outputs) >= 7
    finally:
        stop(process)


def test_admin_session(tmp_path):
    port = free_port()
    address = f"http://127.0.0.1:{port}"
    (start_block,) = readme_blocks("admin-start")
    stdout = tmp_path / "admin.out"
    process = start(substitute(start_block, address), port, stdout)
    try:
        (block,) = readme_blocks("admin")
        steps = split_steps(block)
        outputs = run_steps(steps, address, clean_env(port))
        assert check_outputs(steps, outputs) >= 4
        # As the README says: with a bootstrap client, no demo client and nothing on stdout.
        assert stdout.read_text() == ""
        assert "bootstrap client ready client_id=ops" in stdout.with_suffix(".log").read_text()
    finally:
        stop(process)
