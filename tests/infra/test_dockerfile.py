"""Dockerfile and .dockerignore: a multi-stage build of the binary into a small non-root image."""

from __future__ import annotations

import json
import re
import shlex

import pytest

from infra_lib import REPO

DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with line continuations joined and comments dropped."""
    lines: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    out = []
    for line in lines:
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for instruction in instructions():
        if instruction[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


def final_stage() -> list[tuple[str, str]]:
    return stages()[-1]


def args_of(stage, name: str) -> list[str]:
    return [rest for word, rest in stage if word == name]


def test_multi_stage_build():
    froms = args_of(instructions(), "FROM")
    assert len(froms) >= 2, "expected a build stage and a runtime stage"
    arg_defaults = dict(
        re.match(r"(\w+)=(\S+)", rest).groups()
        for word, rest in instructions()
        if word == "ARG" and "=" in rest
    )

    def image(from_args: str) -> str:
        ref = from_args.split()[0]
        return re.sub(r"\$\{?(\w+)\}?", lambda m: arg_defaults.get(m.group(1), m.group(0)), ref)

    assert image(froms[0]).startswith("rust:") and "bookworm" in image(froms[0])
    assert image(froms[-1]) in ("debian:bookworm-slim", "gcr.io/distroless/cc-debian12")


def test_builds_the_binary_locked_and_in_release_mode():
    runs = " ".join(args_of(stages()[0], "RUN"))
    assert re.search(r"cargo build\b.*--release", runs)
    assert "--locked" in runs
    assert "-p tokener-http" in runs or "--package tokener-http" in runs


def test_runtime_runs_as_a_non_root_user():
    users = args_of(final_stage(), "USER")
    assert users, "the runtime stage sets no USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), f"runs as {user}"
    assert user in ("10001", "tokener")


def test_healthcheck_listen_address_and_port():
    stage = final_stage()
    health = args_of(stage, "HEALTHCHECK")
    assert health and "/healthz" in health[-1]
    assert "8080" in " ".join(args_of(stage, "EXPOSE")).split()
    env = " ".join(args_of(stage, "ENV"))
    assert re.search(r"TOKENER_LISTEN[= ]0\.0\.0\.0:8080", env)
    # The healthcheck's tool must be in the image: curl installed, or no curl needed.
    if "curl" in health[-1]:
        assert re.search(r"apt-get install[^&]*\bcurl\b", " ".join(args_of(stage, "RUN")))


def test_entrypoint_and_default_command():
    stage = final_stage()
    assert json.loads(args_of(stage, "ENTRYPOINT")[-1]) == ["tokener"]
    assert json.loads(args_of(stage, "CMD")[-1]) == ["serve"]


# --- .dockerignore --------------------------------------------------------------------------------


def ignore_patterns() -> list[tuple[bool, re.Pattern]]:
    """(negated, regex) per .dockerignore line, in order (Docker's rules: last match wins)."""
    patterns = []
    for line in DOCKERIGNORE.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line[1:] if negated else line
        pattern = pattern.strip("/")
        regex = ""
        i = 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                regex += "(?:.*/)?"
                i += 3
            elif pattern.startswith("**", i):
                regex += ".*"
                i += 2
            elif pattern[i] == "*":
                regex += "[^/]*"
                i += 1
            elif pattern[i] == "?":
                regex += "[^/]"
                i += 1
            else:
                regex += re.escape(pattern[i])
                i += 1
        patterns.append((negated, re.compile(regex)))
    return patterns


def ignored(path: str) -> bool:
    """Whether the build context leaves `path` out (a pattern that matches a parent counts)."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    result = False
    for negated, regex in ignore_patterns():
        if any(regex.fullmatch(p) for p in prefixes):
            result = not negated
    return result


@pytest.mark.parametrize(
    "path",
    ["target/release/tokener", ".git/HEAD", "crates/tokener-http/target/debug/x", ".dev/x.sqlite"],
)
def test_dockerignore_leaves_out_build_output_and_git(path):
    assert ignored(path)


def test_dockerignore_keeps_what_the_dockerfile_copies():
    sources = []
    for word, rest in instructions():
        if word == "COPY" and "--from" not in rest:
            words = shlex.split(rest)
            sources.extend(w for w in words[:-1] if not w.startswith("--"))
    assert sources
    for source in sources:
        assert (REPO / source).exists(), f"COPY {source}: no such path"
        sample = source
        if (REPO / source).is_dir():
            files = sorted(p for p in (REPO / source).rglob("*") if p.is_file() and "target" not in p.parts)
            assert files, f"{source} is empty"
            sample = str(files[0].relative_to(REPO))
        assert not ignored(sample), f"{sample} is copied but .dockerignore leaves it out"
    for crate_file in ["crates/tokener-http/src/main.rs", "crates/tokener-http/Cargo.toml"]:
        assert not ignored(crate_file)
