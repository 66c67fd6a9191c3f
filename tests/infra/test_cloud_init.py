"""infra/cloud-init/user-data.yaml.tftpl: renders to a valid cloud-config that installs tokener safely."""

from __future__ import annotations

import base64
import gzip
import json
import os
import pwd
import re
import subprocess
import tempfile

import pytest

from infra_lib import (
    CLOUD_INIT_TEMPLATE,
    SYSTEMD_UNIT,
    load_yaml,
    render_template,
    require_command,
    sample_settings,
    sample_template_values,
    template_placeholders,
    tf_locals,
    tokener_env_names,
)

# Cloud-config keys this file may use (a typo would be silently ignored by cloud-init).
KNOWN_KEYS = {"users", "groups", "write_files", "runcmd", "packages", "package_update", "bootcmd"}
DEPLOY_SCRIPT = "/usr/local/sbin/tokener-deploy"


@pytest.fixture(scope="module")
def rendered() -> str:
    return render_template(CLOUD_INIT_TEMPLATE.read_text(), sample_template_values())


@pytest.fixture(scope="module")
def config(rendered) -> dict:
    return load_yaml(rendered)


@pytest.fixture(scope="module")
def files(config) -> dict[str, dict]:
    return {entry["path"]: entry for entry in config["write_files"]}


@pytest.fixture(scope="module")
def script(files) -> str:
    return files[DEPLOY_SCRIPT]["content"]


def heredoc(script: str, marker: str, index: int = 0) -> str:
    """The body of the index-th <<'marker' here-document in a shell script."""
    bodies = re.findall(rf"<<'{marker}'\n(.*?)\n{marker}\n", script, flags=re.S)
    assert len(bodies) > index, f"no <<'{marker}' here-document #{index}"
    return bodies[index]


def test_template_placeholders_match_the_terraform_inputs():
    placeholders = template_placeholders(CLOUD_INIT_TEMPLATE.read_text())
    inputs = set(tf_locals()["user_data_vars"])
    assert placeholders == inputs, f"template uses {sorted(placeholders)}, Terraform passes {sorted(inputs)}"
    assert "%{" not in CLOUD_INIT_TEMPLATE.read_text(), "keep the template free of directives"


def test_settings_json_has_what_the_script_reads(script):
    settings_json = tf_locals()["user_data_vars"]["settings_json"]
    read = set(re.findall(r"\$\(setting (\w+)\)", script))
    for key in read:
        assert re.search(rf"\b{key}\s*=", settings_json), f"settings_json lacks {key}"
        assert key in sample_settings(), f"the test's sample settings lack {key}"
    assert "environment" in settings_json


def test_renders_to_a_cloud_config(rendered, config):
    assert rendered.startswith("#cloud-config\n")
    assert isinstance(config, dict)
    assert set(config) <= KNOWN_KEYS, f"unexpected keys: {sorted(set(config) - KNOWN_KEYS)}"


def test_fits_in_ec2_user_data(rendered):
    # EC2 takes at most 16 KiB of user data; Terraform sends it gzipped (base64gzip).
    assert len(gzip.compress(rendered.encode())) < 16 * 1024
    assert len(rendered.encode()) < 64 * 1024


def test_creates_the_tokener_system_user(config):
    users = [u for u in config["users"] if isinstance(u, dict)]
    tokener = next(u for u in users if u["name"] == "tokener")
    assert tokener["system"] is True
    assert tokener.get("lock_passwd", True) is True
    assert tokener["shell"].endswith("nologin")
    assert "default" in config["users"], "keep the image's default user"


def test_write_files_entries_are_well_formed(config):
    for entry in config["write_files"]:
        assert entry["path"].startswith("/"), entry
        assert re.fullmatch(r"0[0-7]{3}", entry["permissions"]), entry
        assert "content" in entry, entry
        # write_files runs before users are created: only root may own what it writes.
        assert entry.get("owner", "root:root") == "root:root", entry


def test_installs_exactly_the_repository_unit(files):
    entry = files["/etc/systemd/system/tokener.service"]
    assert entry["encoding"] == "b64"
    assert base64.b64decode(entry["content"]) == SYSTEMD_UNIT.read_bytes()
    assert entry["permissions"] == "0644"


def test_settings_file_is_private_json(files):
    entry = files["/etc/tokener/deploy.json"]
    assert entry["permissions"] == "0600"
    assert json.loads(entry["content"]) == sample_settings()


def test_runcmd_runs_the_deploy_script(config, files):
    assert [DEPLOY_SCRIPT] in config["runcmd"] or DEPLOY_SCRIPT in config["runcmd"]
    assert files[DEPLOY_SCRIPT]["permissions"] == "0700"


def test_deploy_script_is_valid_bash(script):
    bash = require_command("bash")
    result = subprocess.run([bash, "-n"], input=script, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert script.startswith("#!/bin/bash\n")
    assert "set -euo pipefail" in script


def test_verifies_the_sha256_before_installing(script):
    check = script.index("sha256sum --check")
    assert "artifact_sha256" in script[:check]
    install = script.index("install -o root -g root -m 0755")
    assert check < install, "the binary is installed before its SHA-256 is checked"
    assert script.index("aws s3 cp") < check
    assert "/usr/local/bin/tokener" in script


def test_starts_the_service(script):
    assert "systemctl daemon-reload" in script
    assert "systemctl enable tokener.service" in script
    assert "systemctl restart tokener.service" in script
    assert "http://127.0.0.1:8080/healthz" in script


def test_embedded_python_compiles(script):
    for index in range(2):
        compile(heredoc(script, "PY", index), f"<tokener-deploy python #{index}>", "exec")


def test_secret_writer_produces_private_key_and_env_files():
    """Runs the embedded secret writer on sample data, as the current user, in a temp dir."""
    rendered = render_template(CLOUD_INIT_TEMPLATE.read_text(), sample_template_values())
    script = {e["path"]: e for e in load_yaml(rendered)["write_files"]}[DEPLOY_SCRIPT]["content"]
    writer = heredoc(script, "PY", 0)
    keys = {"keys": [{"id": 1, "private_key": "ed25519-private/" + "ab" * 32, "active": True}]}
    secret = {
        "signing_keys": json.dumps(keys),
        "bootstrap_client_secret": 'a-secret-with "quotes" and \\ backslash 0123456789',
        "mongodb_uri": "mongodb://user:p%40ss@db1:27017,db2:27017/?replicaSet=rs0&tls=true",
    }
    user = pwd.getpwuid(os.getuid()).pw_name
    with tempfile.TemporaryDirectory() as tmp:
        settings_path = os.path.join(tmp, "deploy.json")
        secret_path = os.path.join(tmp, "secret.json")
        with open(settings_path, "w") as f:
            json.dump(sample_settings(), f)
        with open(secret_path, "w") as f:
            json.dump(secret, f)
        etc = os.path.join(tmp, "etc")
        os.mkdir(etc)
        result = subprocess.run(
            ["python3", "-", settings_path, secret_path, os.path.join(tmp, "absent"), etc, user],
            input=writer,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 0, result.stderr

        key_file = os.path.join(etc, "signing-keys.json")
        env_file = os.path.join(etc, "tokener.env")
        assert json.load(open(key_file)) == keys
        for path in (key_file, env_file):
            assert os.stat(path).st_mode & 0o777 == 0o600, path

        env = {}
        for line in open(env_file).read().splitlines():
            name, _, quoted = line.partition("=")
            assert quoted.startswith('"') and quoted.endswith('"'), line
            env[name] = re.sub(r"\\(.)", r"\1", quoted[1:-1])
        assert set(env) <= tokener_env_names(), sorted(set(env) - tokener_env_names())
        assert env["TOKENER_MONGODB_URI"] == secret["mongodb_uri"]
        assert env["TOKENER_BOOTSTRAP_CLIENT_SECRET"] == secret["bootstrap_client_secret"]
        assert env["TOKENER_SIGNING_KEY_FILE"] == key_file
        assert env["TOKENER_LISTEN"] == "0.0.0.0:8080"


def test_matches_terraform_templatefile():
    """Terraform's own rendering equals the one these tests check."""
    terraform = require_command("terraform")
    values = sample_template_values()
    expression = "templatefile({}, {{ settings_json = {}, systemd_unit_b64 = {} }})".format(
        json.dumps(str(CLOUD_INIT_TEMPLATE)),
        json.dumps(values["settings_json"]),
        json.dumps(values["systemd_unit_b64"]),
    )
    with tempfile.TemporaryDirectory() as empty:
        result = subprocess.run(
            [terraform, "console"],
            input=f"base64encode({expression})\n",
            capture_output=True,
            text=True,
            cwd=empty,
            timeout=60,
            env={**os.environ, "TF_CLI_CONFIG_FILE": os.devnull, "CHECKPOINT_DISABLE": "1"},
        )
    assert result.returncode == 0, result.stderr
    # The console prints a string in quotes; base64 needs no escaping.
    encoded = result.stdout.strip().splitlines()[-1].strip('"')
    rendered_by_terraform = base64.b64decode(encoded).decode()
    assert rendered_by_terraform == render_template(CLOUD_INIT_TEMPLATE.read_text(), values)


def test_cloud_init_schema(tmp_path, rendered):
    cloud_init = require_command("cloud-init")
    path = tmp_path / "user-data.yaml"
    path.write_text(rendered)
    result = subprocess.run(
        [cloud_init, "schema", "--config-file", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and "Valid" in result.stdout, result.stdout + result.stderr
