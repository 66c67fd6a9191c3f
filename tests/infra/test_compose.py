"""docker-compose.yml: the local stack (MongoDB, Redis, tokener) is wired the way tokener reads it."""

from __future__ import annotations

import re
import subprocess

import pytest

from infra_lib import REPO, load_yaml, require_command, tokener_env_names

COMPOSE_FILE = REPO / "docker-compose.yml"
DEFAULTED = re.compile(r"^\$\{([A-Z0-9_]+):?-(.*)\}$")


@pytest.fixture(scope="module")
def compose() -> dict:
    return load_yaml(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


@pytest.fixture(scope="module")
def tokener(services) -> dict:
    return services["tokener"]


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def depends_on(service: dict) -> dict[str, dict]:
    deps = service.get("depends_on", {})
    if isinstance(deps, list):
        return {name: {"condition": "service_started"} for name in deps}
    return deps


def one_shot_services(services: dict) -> set[str]:
    """Services others wait on to complete (run once and exit, so they need no healthcheck)."""
    return {
        name
        for service in services.values()
        for name, dep in depends_on(service).items()
        if dep.get("condition") == "service_completed_successfully"
    }


def seconds(duration: str) -> float:
    """A compose duration such as 45s, 1m30s or 1m."""
    total = 0.0
    for amount, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", str(duration)):
        total += float(amount) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6}[unit]
    assert total > 0, f"cannot read duration {duration!r}"
    return total


def healthcheck_command(service: dict) -> str:
    test = service["healthcheck"]["test"]
    return " ".join(test) if isinstance(test, list) else str(test)


def test_compose_file_parses_and_has_the_services(services):
    assert {"mongodb", "redis", "tokener"} <= set(services)


def test_tokener_environment_uses_only_names_the_binary_reads(tokener):
    unknown = set(environment(tokener)) - tokener_env_names()
    assert not unknown, f"tokener does not read {sorted(unknown)} (see configuration/mod.rs)"


def test_tokener_listens_on_all_interfaces_and_publishes_8080(tokener):
    assert environment(tokener)["TOKENER_LISTEN"] == "0.0.0.0:8080"
    published = []
    for port in tokener.get("ports", []):
        if isinstance(port, dict):
            published.append((str(port.get("published")), str(port["target"])))
        else:
            parts = str(port).split("/")[0].split(":")
            published.append((parts[-2] if len(parts) > 1 else parts[-1], parts[-1]))
    assert ("8080", "8080") in published, f"8080 is not published: {tokener.get('ports')}"


def test_tokener_uses_mongodb_service(tokener, services):
    env = environment(tokener)
    assert env["TOKENER_MONGODB_URI"].startswith("mongodb://mongodb:")
    assert env.get("TOKENER_MONGODB_DATABASE") == "tokener"
    assert "mongodb" in depends_on(tokener)


def test_tokener_uses_redis_for_write_behind(tokener, services):
    env = environment(tokener)
    assert env["TOKENER_REDIS_URL"].startswith("redis://redis:")
    assert "redis" in depends_on(tokener)
    command = " ".join(str(part) for part in services["redis"]["command"])
    # A 2xx means the record is in Redis: it must be fsynced before Redis replies, and never
    # evicted.
    assert "--appendfsync always" in command
    assert "--maxmemory-policy noeviction" in command


def test_every_long_running_service_has_a_healthcheck(services):
    one_shot = one_shot_services(services)
    for name, service in services.items():
        if name in one_shot:
            assert service.get("restart", "no") == "no", f"one-shot service {name} must not restart"
            continue
        assert "healthcheck" in service, f"{name} has no healthcheck"
        assert not service["healthcheck"].get("disable"), f"{name} disables its healthcheck"
        assert healthcheck_command(service).strip(), f"{name} has an empty healthcheck"


def test_tokener_healthcheck_probes_readiness_or_liveness(tokener):
    command = healthcheck_command(tokener)
    assert re.search(r"127\.0\.0\.1:8080/(readyz|healthz)\b|localhost:8080/(readyz|healthz)\b", command)


def test_dependency_healthchecks(services):
    assert "db.adminCommand('ping').ok" in healthcheck_command(services["mongodb"])
    assert "mongosh" in healthcheck_command(services["mongodb"])
    assert "redis-cli ping" in healthcheck_command(services["redis"])


def test_depends_on_waits_for_healthy_services(services):
    one_shot = one_shot_services(services)
    for name, service in services.items():
        for dep, spec in depends_on(service).items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            expected = "service_completed_successfully" if dep in one_shot else "service_healthy"
            assert spec.get("condition") == expected, f"{name} -> {dep}: {spec}"
    assert depends_on(services["tokener"])["mongodb"]["condition"] == "service_healthy"


def test_redis_persists_with_an_append_only_file(services):
    command = services["redis"]["command"]
    words = command if isinstance(command, list) else str(command).split()
    words = [str(w) for w in words]
    assert "--appendonly" in words and words[words.index("--appendonly") + 1] == "yes"
    assert "--appendfsync" in words
    assert words[words.index("--appendfsync") + 1] in ("everysec", "always")
    assert any(str(v).endswith(":/data") for v in services["redis"].get("volumes", []))


def test_mongodb_is_the_official_image_with_a_volume(services):
    image = services["mongodb"]["image"]
    assert re.fullmatch(r"(docker\.io/(library/)?)?mongo:[\w.-]+", image), image
    assert any(str(v).endswith(":/data/db") for v in services["mongodb"].get("volumes", []))


def test_bootstrap_client_secret_default_is_long_enough(tokener):
    env = environment(tokener)
    assert env.get("TOKENER_BOOTSTRAP_CLIENT_ID"), "no bootstrap client"
    m = DEFAULTED.match(env["TOKENER_BOOTSTRAP_CLIENT_SECRET"])
    assert m, "the bootstrap secret should come from a variable with a default"
    default = m.group(2)
    assert len(default) >= 32, "ClientSecret::parse needs at least 32 characters"
    assert all(c.isascii() and (c.isalnum() or c in "-._~") for c in default), (
        "URL-unreserved characters only, as ClientSecret::parse requires"
    )


def test_every_interpolation_has_a_default(compose):
    """`docker compose up` works without a .env file."""
    text = COMPOSE_FILE.read_text()
    for m in re.finditer(r"(?<!\$)\$\{([^}]*)\}", text):
        assert re.fullmatch(r"[A-Z0-9_]+:?-.*", m.group(1)), f"${{{m.group(1)}}} has no default"


def test_stop_grace_period_covers_the_drain(tokener):
    assert seconds(tokener["stop_grace_period"]) >= 35
    assert tokener.get("stop_signal", "SIGTERM") == "SIGTERM"


def test_signing_key_is_persisted_and_read_only_for_the_service(tokener, services):
    key_file = environment(tokener)["TOKENER_SIGNING_KEY_FILE"]
    key_dir = key_file.rsplit("/", 1)[0]
    mounts = [str(v) for v in tokener.get("volumes", [])]
    assert any(m.split(":")[1] == key_dir and m.endswith(":ro") for m in mounts), mounts
    generator = services["signing-key"]
    assert "tokener keys generate --out " + key_file in " ".join(generator["command"])
    assert depends_on(tokener)["signing-key"]["condition"] == "service_completed_successfully"


def test_docker_compose_config_accepts_the_file():
    docker = require_command("docker")
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip("the docker compose plugin is not installed")
    result = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE_FILE), "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
