"""infra/systemd/tokener.service: a valid, hardened unit that stops gracefully."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from infra_lib import SYSTEMD_UNIT, require_command, tokener_env_names

BINARY = "/usr/local/bin/tokener"


def parse_unit(text: str) -> dict[str, list[tuple[str, str]]]:
    """section -> [(key, value)] in order; repeated keys stay (systemd merges many of them)."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            sections.setdefault(current, [])
            continue
        assert current is not None, f"key outside a section: {line}"
        key, sep, value = line.partition("=")
        assert sep, f"not a key=value line: {line}"
        sections[current].append((key.strip(), value.strip()))
    return sections


@pytest.fixture(scope="module")
def unit() -> dict[str, list[tuple[str, str]]]:
    return parse_unit(SYSTEMD_UNIT.read_text())


def values(unit, key: str, section: str = "Service") -> list[str]:
    return [v for k, v in unit.get(section, []) if k == key]


def value(unit, key: str, section: str = "Service") -> str:
    found = values(unit, key, section)
    assert found, f"{key} is not set in [{section}]"
    return found[-1]


def seconds(text: str) -> float:
    """A systemd time span: 45, 45s, 1min 30s, 2m ..."""
    text = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    units = {"ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600}
    total = 0.0
    for amount, unit in re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]+)", text):
        total += float(amount) * units[unit]
    return total


def stub_copy(tmp_path: Path) -> Path:
    """The unit with ExecStart pointed at a stub executable.

    `systemd-analyze verify` refuses a unit whose ExecStart binary does not exist, and the
    tokener binary is not installed on the machine running the tests. Everything else in the
    unit is verified unchanged; only the path of the one ExecStart line differs.
    """
    stub = tmp_path / "tokener"
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    text = SYSTEMD_UNIT.read_text()
    rewritten, count = re.subn(
        rf"^ExecStart={re.escape(BINARY)}\b", f"ExecStart={stub}", text, flags=re.M
    )
    assert count == 1, "expected exactly one ExecStart line running " + BINARY
    copy = tmp_path / "tokener.service"
    copy.write_text(rewritten)
    return copy


def test_runs_the_binary_as_the_service_user(unit):
    assert value(unit, "ExecStart") == f"{BINARY} serve"
    assert value(unit, "User") == "tokener"
    assert value(unit, "Group") == "tokener"
    assert value(unit, "EnvironmentFile") == "/etc/tokener/tokener.env"
    assert value(unit, "Restart") == "on-failure"
    assert seconds(value(unit, "RestartSec")) >= 1
    assert value(unit, "WantedBy", "Install") == "multi-user.target"


def test_stops_gracefully(unit):
    assert value(unit, "KillSignal") == "SIGTERM"
    # tokener gives in-flight requests 30 s after SIGTERM; systemd must wait longer than that.
    assert seconds(value(unit, "TimeoutStopSec")) >= 35


@pytest.mark.parametrize(
    "key,expected",
    [
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("ProtectKernelTunables", "yes"),
        ("ProtectKernelModules", "yes"),
        ("ProtectKernelLogs", "yes"),
        ("ProtectControlGroups", "yes"),
        ("RestrictNamespaces", "yes"),
        ("RestrictRealtime", "yes"),
        ("RestrictSUIDSGID", "yes"),
        ("LockPersonality", "yes"),
        ("MemoryDenyWriteExecute", "yes"),
        ("SystemCallArchitectures", "native"),
        ("CapabilityBoundingSet", ""),
        ("AmbientCapabilities", ""),
        ("ReadOnlyPaths", "/etc/tokener"),
    ],
)
def test_hardening(unit, key, expected):
    assert value(unit, key) == expected


def test_address_families_and_system_calls(unit):
    families = set(value(unit, "RestrictAddressFamilies").split())
    assert families == {"AF_INET", "AF_INET6", "AF_UNIX"}
    filters = values(unit, "SystemCallFilter")
    assert "@system-service" in filters[0].split(), "the allow list comes first"
    assert int(value(unit, "LimitNOFILE")) >= 65536


def test_no_secrets_or_settings_inline(unit):
    """Settings come from the EnvironmentFile only, never from the unit (which is world-readable)."""
    assert not values(unit, "Environment")
    assert "TOKENER_" not in SYSTEMD_UNIT.read_text().replace("TOKENER_*", "")
    assert tokener_env_names()  # the names the env file may hold come from configuration/mod.rs


def test_systemd_analyze_verify(tmp_path):
    systemd_analyze = require_command("systemd-analyze")
    copy = stub_copy(tmp_path)
    result = subprocess.run(
        [systemd_analyze, "verify", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SYSTEMD_LOG_COLOR": "0"},
    )
    # verify exits 0 even for unknown keys or unparsable values; it only warns. Any message
    # about this unit is a failure.
    messages = [line for line in (result.stdout + result.stderr).splitlines() if copy.name in line]
    assert result.returncode == 0 and not messages, result.stdout + result.stderr


def test_systemd_analyze_security_exposure(tmp_path):
    systemd_analyze = require_command("systemd-analyze")
    copy = stub_copy(tmp_path)
    result = subprocess.run(
        [systemd_analyze, "security", "--offline=yes", "--no-pager", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0 and "offline" in result.stderr:
        pytest.skip("this systemd-analyze has no --offline security check (systemd < 250)")
    m = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", result.stdout)
    assert m, result.stdout + result.stderr
    # 0 is fully locked down, 10 is no hardening; systemd calls below 2 "OK".
    assert float(m.group(1)) <= 2.0, result.stdout
