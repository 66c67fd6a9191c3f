"""Shared code for the deployment-file tests (Docker, Compose, Terraform, systemd, cloud-init).

These tests read the files as text and check them against what the `tokener` binary actually
reads (crates/tokener-http/src/configuration/mod.rs), so a renamed or new TOKENER_* setting that the
deployment files do not follow fails here.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
from functools import lru_cache
from pathlib import Path

import hcl2
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
TERRAFORM = INFRA / "terraform"
CLOUD_INIT_TEMPLATE = INFRA / "cloud-init" / "user-data.yaml.tftpl"
SYSTEMD_UNIT = INFRA / "systemd" / "tokener.service"
CONFIGURATION_RS = REPO / "crates" / "tokener-http" / "src" / "configuration" / "mod.rs"


# --- what the binary reads ------------------------------------------------------------------------


@lru_cache(maxsize=None)
def tokener_env_names() -> frozenset[str]:
    """Every TOKENER_* variable name that configuration/mod.rs mentions in a string literal."""
    names = frozenset(re.findall(r'"(TOKENER_[A-Z0-9_]+)"', CONFIGURATION_RS.read_text()))
    assert "TOKENER_LISTEN" in names, "could not find the TOKENER_* names in configuration/mod.rs"
    return names


# --- YAML ---------------------------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """A safe loader that rejects duplicate keys (PyYAML keeps the last one silently)."""


def _construct_mapping(loader, node, deep=False):
    keys = [loader.construct_object(key, deep=deep) for key, _ in node.value]
    duplicates = sorted({str(k) for k in keys if keys.count(k) > 1})
    if duplicates:
        raise yaml.constructor.ConstructorError(
            None, None, f"duplicate keys {duplicates}", node.start_mark
        )
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(text: str):
    """YAML from text, failing on duplicate keys."""
    return yaml.load(text, Loader=_StrictLoader)


# --- HCL ----------------------------------------------------------------------------------------------


def _unquote(value):
    """python-hcl2 8.x keeps string literals' quotes ("\\"x\\""); older versions do not."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return json.loads(value) if "\\" in value else value[1:-1]
    return value


def normalize_hcl(node):
    """python-hcl2 output with quotes stripped from labels and strings and markers removed.

    Expressions stay as "${...}" strings, literals become plain values, and blocks stay lists
    of dicts, whatever python-hcl2 version parsed them.
    """
    if isinstance(node, dict):
        return {
            _unquote(k): normalize_hcl(v)
            for k, v in node.items()
            if not (isinstance(k, str) and k.startswith("__") and k.endswith("__"))
        }
    if isinstance(node, list):
        return [normalize_hcl(v) for v in node]
    return _unquote(node)


@lru_cache(maxsize=None)
def _parse_tf(path: str) -> dict:
    with open(path) as f:
        return normalize_hcl(hcl2.load(f))


def tf_files() -> list[Path]:
    files = sorted(TERRAFORM.glob("*.tf"))
    assert files, f"no .tf files in {TERRAFORM}"
    return files


def tf_parsed(path: Path) -> dict:
    return _parse_tf(str(path))


def tf_resources(resource_type: str) -> dict[str, dict]:
    """name -> body for every resource of the given type, across all .tf files."""
    found: dict[str, dict] = {}
    for path in tf_files():
        for block in tf_parsed(path).get("resource", []):
            for rtype, by_name in block.items():
                if rtype == resource_type:
                    found.update(by_name)
    return found


def tf_blocks(kind: str) -> list[dict]:
    """Every top-level block of a kind (locals, variable, output, data, terraform, ...)."""
    out = []
    for path in tf_files():
        out.extend(tf_parsed(path).get(kind, []))
    return out


def tf_locals() -> dict:
    merged: dict = {}
    for block in tf_blocks("locals"):
        merged.update(block)
    return merged


def tf_ref(address: str) -> str:
    """The expression form of a reference, as python-hcl2 renders it: ${address}."""
    return "${" + address + "}"


def resolve_number(value):
    """An integer from a literal, "8080", ${local.x} or ${tostring(local.x)}."""
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str):
        if value.isdigit():
            return int(value)
        m = re.fullmatch(r"\$\{(?:tostring\()?local\.(\w+)\)?\}", value)
        if m:
            return resolve_number(tf_locals()[m.group(1)])
    raise AssertionError(f"cannot resolve {value!r} to a number")


def strip_hcl_comments(text: str) -> str:
    """HCL source without # // and /* */ comments (outside of strings, roughly)."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    out = []
    for line in text.splitlines():
        in_string = False
        cut = len(line)
        i = 0
        while i < len(line):
            c = line[i]
            if c == '"' and (i == 0 or line[i - 1] != "\\"):
                in_string = not in_string
            elif not in_string and (c == "#" or line.startswith("//", i)):
                cut = i
                break
            i += 1
        out.append(line[:cut])
    return "\n".join(out)


# --- the cloud-init template -------------------------------------------------------------------------

PLACEHOLDER = re.compile(r"(?<!\$)\$\{([^}]*)\}")


def template_placeholders(text: str) -> set[str]:
    """The ${...} interpolations of a Terraform template ($${...} is an escaped literal)."""
    return {m.group(1).strip() for m in PLACEHOLDER.finditer(text)}


def render_template(text: str, values: dict[str, str]) -> str:
    """Renders a Terraform template that uses only plain ${name} interpolations.

    Fails on template directives (%{...}) and on any interpolation that is not a plain name
    given in `values`, so what this renders is what templatefile() renders.
    """
    assert "%{" not in text.replace("%%{", ""), "template directives are not supported here"

    def substitute(m: re.Match) -> str:
        name = m.group(1).strip()
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name), f"not a plain name: ${{{name}}}"
        assert name in values, f"no value for ${{{name}}}"
        return values[name]

    rendered = PLACEHOLDER.sub(substitute, text)
    return rendered.replace("$${", "${").replace("%%{", "%{")


def sample_settings() -> dict:
    """Settings like the ones main.tf's local.user_data_vars.settings_json holds."""
    return {
        "tokener_version": "0.1.0",
        "artifact_url": "s3://example-artifacts/tokener/0.1.0/tokener",
        "artifact_sha256": "0123456789abcdef" * 4,
        "aws_region": "eu-west-1",
        "secret_arn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:tokener-AbCdEf",
        "mongodb_uri_secret_arn": None,
        "cloudwatch_agent": True,
        "cloudwatch_log_group": "/tokener/instances",
        "environment": {
            "TOKENER_LISTEN": "0.0.0.0:8080",
            "TOKENER_MONGODB_DATABASE": "tokener",
            "TOKENER_DEFAULT_TTL_SECONDS": "3600",
            "TOKENER_MAX_TTL_SECONDS": "86400",
            "TOKENER_LOG": "info",
            "TOKENER_LOG_FORMAT": "json",
            "TOKENER_BOOTSTRAP_CLIENT_ID": "ops",
            "TOKENER_BOOTSTRAP_CLIENT_SCOPES": "tokener:admin",
            "TOKENER_BOOTSTRAP_CLIENT_AUDIENCES": "",
        },
    }


def sample_template_values() -> dict[str, str]:
    return {
        "settings_json": json.dumps(sample_settings(), separators=(",", ":"), sort_keys=True),
        "systemd_unit_b64": base64.b64encode(SYSTEMD_UNIT.read_bytes()).decode(),
    }


def require_command(name: str) -> str:
    """The path of a command, or skip the test (with the reason printed by pytest -rs)."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed")
    return path
