"""Generated-input contract tests: every operation of openapi.yaml against a real Tokener.

Schemathesis generates requests from the document, valid and invalid (positive and negative
data), in its examples, coverage, fuzzing and stateful phases, sends them to a fresh embedded
Tokener (conftest.py) with the credentials each operation's `security` names (HTTP Basic client
credentials, or an admin Bearer token minted for that very request: contract_hooks.py), and
applies every check it has (`--checks all`): a 5xx; a status code, content type or header the
document does not list; a body (or server-sent event) that violates its schema; a valid
request refused; an invalid one accepted; a request without or with wrong credentials
accepted; an undeclared method not answered 405 with `Allow`; a resource missing right after
it was created (or still there after a DELETE, of which Tokener has none); an answer slower
than 10 s.

Why the `st` command line, run once per session as a subprocess, and not the pytest
integration (`@schema.parametrize()`):
- `--checks all` is the command line's own switch, and the command line is the interface
  Schemathesis documents and keeps stable. The pytest integration runs one Hypothesis test per
  operation: the stateful phase is a separate state machine test, and checks that rely on the
  engine's run context (ignored_auth probing each operation once, use_after_free and
  ensure_resource_availability following links between operations) differ or are missing.
- One engine run keeps the budget in one place (`--max-examples` per operation and phase, one
  seed, one worker) and writes one JUnit report with every failure and its curl command.
- Its own process: a hang of Schemathesis or of a request fails this suite after
  `RUN_TIMEOUT_S` with what it printed, instead of hanging pytest.
Each operation of the document is then one pytest test that fails with that operation's
failures as Schemathesis reported them, followed by every distinct answer behind them
(Schemathesis reports one failure per check and status code, so several causes can hide behind
one "400"). An operation missing from the report, skipped, or in error fails too: nothing is
skipped silently. Secrets and tokens are masked in everything this suite prints, and the raw
reports are deleted.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
import yaml

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
DOCUMENT = REPO_ROOT / "openapi.yaml"
CONFIG = HERE / "schemathesis.toml"

# Fixed, so a CI run is reproducible: with hypothesis' example database and schemathesis'
# crash cache off (schemathesis.toml) and one worker, the same seed sends the same requests in
# the same order. Change it (or set CONTRACT_SEED) to explore other inputs.
SEED = int(os.environ.get("CONTRACT_SEED", "20261202"))
# Generated test cases per operation in the fuzzing phase (positive and negative); it also
# bounds the stateful phase. The examples and coverage phases add a fixed set of cases derived
# from the document, whatever this number. 150 gives ~3,800 test cases, and the whole session
# takes about 1 minute on the 2-core development machine with the debug build (measured 57-60 s,
# ~50 s of it schemathesis): a 3x margin under the 3-4 minute budget, for slower CI machines and
# for shrinking, which takes longer the more failures there are. 300 took 95 s and found no
# distinct failure that 150 had not. Raise it locally (CONTRACT_MAX_EXAMPLES) to dig further.
MAX_EXAMPLES = int(os.environ.get("CONTRACT_MAX_EXAMPLES", "150"))
# Hard bound on the schemathesis process: past it the run is killed and this suite fails.
RUN_TIMEOUT_S = 420
PHASES = "examples,coverage,fuzzing,stateful"
STATEFUL_LABEL = "Stateful tests"

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
MASK = "[Filtered]"


def document_operations() -> list[str]:
    """`METHOD /path` of every operation in openapi.yaml, as Schemathesis labels them."""
    document = yaml.safe_load(DOCUMENT.read_text())
    return [
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method in item
        if method in HTTP_METHODS
    ]


OPERATIONS = document_operations()


# What masking removes from anything this suite prints: the run's own secrets (exactly), and
# whatever looks like a credential in the requests and responses Schemathesis shows: JSON and
# form fields holding a secret or an access token, `Authorization` headers (Schemathesis masks
# them itself), and Biscuit tokens, wherever they are (long base64url runs; token ids are hex
# and stay readable).
_SENSITIVE_JSON = re.compile(
    r'(\\?"(?:access_token|client_secret|refresh_token|client_assertion)\\?"\s*:\s*\\?")([^"\\]*)', re.I
)
_SENSITIVE_FORM = re.compile(
    r"((?:^|[&\s'?])(?:client_secret|access_token|client_assertion)=)([^&\s']+)", re.I
)
_AUTHORIZATION = re.compile(r"((?:authorization|client_secret)\s*:\s*)(?!\[Filtered\])([^'\"\n]+)", re.I)
_BISCUIT = re.compile(r"(?<![A-Za-z0-9_-])(?=[A-Za-z0-9_-]*[g-zG-Z_-])[A-Za-z0-9_-]{120,}={0,2}")


def mask(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        text = text.replace(secret, MASK)
    text = _SENSITIVE_JSON.sub(lambda m: m.group(1) + MASK, text)
    text = _SENSITIVE_FORM.sub(lambda m: m.group(1) + MASK, text)
    text = _AUTHORIZATION.sub(lambda m: m.group(1) + MASK, text)
    return _BISCUIT.sub(MASK, text)


@dataclass
class Outcome:
    """One operation's (or the stateful phase's) result in the JUnit report."""

    failures: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    # Every distinct failed check behind `failures` (from the NDJSON report), one line each.
    causes: list[str] = field(default_factory=list)


@dataclass
class ContractRun:
    returncode: int
    output: str  # masked
    seconds: float
    outcomes: dict[str, Outcome]
    output_path: Path


def _read_junit(path: Path, secrets: tuple[str, ...]) -> dict[str, Outcome]:
    outcomes: dict[str, Outcome] = {}
    for case in ElementTree.parse(path).getroot().iter("testcase"):
        outcome = outcomes.setdefault(case.get("name", ""), Outcome())
        lists = {"failure": outcome.failures, "error": outcome.errors, "skipped": outcome.skipped}
        for kind, target in lists.items():
            for element in case.iter(kind):
                target.append(mask((element.text or element.get("message") or "").strip(), secrets))
    return outcomes


# Headers every request has; the others (generated ones) are shown with the request.
_ORDINARY_HEADERS = frozenset(
    {"authorization", "user-agent", "accept", "accept-encoding", "connection", "content-length", "content-type"}
)


def _decode(content: object) -> str:
    if isinstance(content, dict) and "$base64" in content:
        return base64.b64decode(content["$base64"]).decode("utf-8", "replace")
    return "" if content is None else str(content)


def _answer(body: str, failure: dict) -> str:
    """What a failed check is about: the server's `error_description` when it sent one, else
    the most telling line of schemathesis' message."""
    described = re.search(r'"error_description":"([^"]*)"', body)
    if described:
        return described.group(1)
    lines = [line.strip() for line in (failure.get("message") or "").splitlines() if line.strip()]
    for line in lines:
        if line.startswith("Invalid component:"):
            return line
    return lines[0] if lines else failure.get("title", "")


def _read_causes(path: Path, secrets: tuple[str, ...]) -> dict[str, list[str]]:
    """Per label: each distinct (check, code, status, answer) that failed, with how many cases
    and one request that got it."""
    seen: dict[str, dict[tuple, list]] = defaultdict(dict)
    with open(path, encoding="utf-8") as events:
        for line in events:
            event = json.loads(line).get("ScenarioFinished")
            if not event:
                continue
            recorder = event["recorder"]
            interactions = recorder.get("interactions") or {}
            for case_id, checks in (recorder.get("checks") or {}).items():
                for check in checks:
                    if check.get("status") == "success":
                        continue
                    failure = (check.get("failure_info") or {}).get("failure") or {}
                    interaction = interactions.get(case_id) or {}
                    response = interaction.get("response") or {}
                    answer = _answer(_decode(response.get("content")), failure)
                    # Numbers, ids and quoted values vary from case to case; the cause does not.
                    shape = re.sub(r"`[^`]*`|[0-9a-f]{16,}|\b\d+(\.\d+)?\b", "…", answer)[:100]
                    key = (check.get("name"), failure.get("code"), response.get("status_code"), shape)
                    entry = seen[recorder["label"]].setdefault(key, [0, interaction.get("request") or {}, answer])
                    entry[0] += 1
    causes: dict[str, list[str]] = {}
    for label, keys in seen.items():
        lines = []
        for (check, code, status, _), (count, request, answer) in keys.items():
            sent = _decode(request.get("body"))
            sent = f" -d {sent[:200]!r}{'…' if len(sent) > 200 else ''}" if sent else ""
            headers = "".join(
                f" -H {f'{name}: {values[0] if values else None}'!r}"
                for name, values in (request.get("headers") or {}).items()
                if name.lower() not in _ORDINARY_HEADERS
            )
            lines.append(
                f"- {code} {check}: {status} {answer[:200]!r} ({count} case{'s' * (count != 1)}), "
                f"e.g. {request.get('method')} {request.get('uri', '')[:300]}{headers}{sent}"
            )
        causes[label] = [mask(line, secrets) for line in lines]
    return causes


@pytest.fixture(scope="session")
def contract_run(contract_server, tmp_path_factory: pytest.TempPathFactory) -> ContractRun:
    """Runs `st run` once against the session's Tokener."""
    work = tmp_path_factory.mktemp("schemathesis")
    junit, ndjson = work / "junit.xml", work / "events.ndjson"
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(CONFIG),
        "run",
        str(DOCUMENT),
        "--url",
        contract_server.base_url,
        "--checks",
        "all",
        "--phases",
        PHASES,
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        # One worker: the requests reach the server in one order, so its state (keys added,
        # clients registered, tokens revoked) and thus its answers are the same on every run.
        "--workers",
        "1",
        # Every distinct failure of an operation, not only the first one.
        "--continue-on-failure",
        "--request-timeout",
        "10",
        "--report",
        "junit,ndjson",
        "--report-junit-path",
        str(junit),
        "--report-ndjson-path",
        str(ndjson),
        "--no-color",
    ]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
        "SCHEMATHESIS_HOOKS": "contract_hooks",
        "CONTRACT_BASE_URL": contract_server.base_url,
        "CONTRACT_ADMIN_ID": contract_server.admin_id,
        "CONTRACT_ADMIN_SECRET": contract_server.admin_secret,
        "CONTRACT_CLIENT_ID": contract_server.client_id,
        "CONTRACT_CLIENT_SECRET": contract_server.client_secret,
        "COLUMNS": "120",
    }
    secrets = contract_server.secret_values()
    started = time.monotonic()
    try:
        try:
            result = subprocess.run(
                command,
                cwd=work,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=RUN_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired as exc:
            output = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else exc.stdout or ""
            pytest.fail(
                f"schemathesis did not finish within {RUN_TIMEOUT_S}s; its output ended with:\n"
                + mask(output, secrets)[-6000:],
                pytrace=False,
            )
        seconds = time.monotonic() - started
        output = mask(result.stdout, secrets)
        output_path = work / "schemathesis-output.txt"
        output_path.write_text(output)
        if not junit.is_file() or not ndjson.is_file():
            pytest.fail(
                f"schemathesis exited {result.returncode} without its reports:\n{output[-6000:]}",
                pytrace=False,
            )
        outcomes = _read_junit(junit, secrets)
        for label, causes in _read_causes(ndjson, secrets).items():
            outcomes.setdefault(label, Outcome()).causes = causes
    finally:
        # The raw reports hold response bodies (tokens, generated clients' secrets): keep only
        # the masked output.
        for report in (junit, ndjson):
            report.unlink(missing_ok=True)
    return ContractRun(
        returncode=result.returncode, output=output, seconds=seconds, outcomes=outcomes, output_path=output_path
    )


def _fail_with(label: str, outcome: Outcome | None, *, required: bool = True) -> None:
    if outcome is None:
        if required:
            pytest.fail(f"{label} was not tested (not in schemathesis' report)", pytrace=False)
        return
    problems = outcome.failures + outcome.errors
    if outcome.skipped and not problems:
        pytest.fail(f"{label} was skipped: {' '.join(outcome.skipped)}", pytrace=False)
    if problems:
        report = "\n\n".join(problems)
        if outcome.causes:
            report += (
                "\n\nEvery distinct failed check behind these (schemathesis shows one per check "
                "and status code):\n" + "\n".join(outcome.causes)
            )
        pytest.fail(report, pytrace=False)


@pytest.mark.parametrize("label", OPERATIONS)
def test_operation_conforms(contract_run: ContractRun, label: str) -> None:
    _fail_with(label, contract_run.outcomes.get(label))


def test_stateful_sequences_conform(contract_run: ContractRun) -> None:
    """Sequences of operations linked by the values they return (inferred links)."""
    _fail_with(STATEFUL_LABEL, contract_run.outcomes.get(STATEFUL_LABEL))


def test_run_completed(contract_run: ContractRun) -> None:
    """The run itself: it finished and reported on nothing but the document's operations."""
    problems = []
    unknown = sorted(set(contract_run.outcomes) - set(OPERATIONS) - {STATEFUL_LABEL})
    if unknown:
        problems.append(f"schemathesis reported on labels that are no operation of the document: {unknown}")
    if contract_run.returncode not in (0, 1):
        problems.append(f"schemathesis exited {contract_run.returncode}")
    if contract_run.returncode == 1 and not any(
        outcome.failures or outcome.errors for outcome in contract_run.outcomes.values()
    ):
        problems.append("schemathesis exited 1 but its report shows no failure")
    if problems:
        pytest.fail(
            "\n".join(problems)
            + f"\n\nschemathesis output (masked; all of it in {contract_run.output_path}), last part:\n"
            + contract_run.output[-6000:],
            pytrace=False,
        )


def test_harness_identities_survived(contract_run: ContractRun, contract_server) -> None:
    """The run must not have disabled, changed or re-keyed the two clients it authenticates as
    (contract_hooks.before_call keeps generated requests away from them): a harness check."""
    with requests.Session() as http:
        minted = http.post(
            contract_server.base_url + "/oauth2/token",
            data={"grant_type": "client_credentials", "scope": "tokener:admin"},
            auth=(contract_server.admin_id, contract_server.admin_secret),
            timeout=10,
        )
        assert minted.status_code == 200, f"the admin client no longer gets tokens: {minted.status_code}"
        bearer = {"Authorization": "Bearer " + minted.json()["access_token"]}
        basic = http.post(
            contract_server.base_url + "/token",
            auth=(contract_server.client_id, contract_server.client_secret),
            timeout=10,
        )
        assert basic.status_code == 200, f"the Basic client no longer gets tokens: {basic.status_code}"
        for client_id in (contract_server.admin_id, contract_server.client_id):
            view = http.get(f"{contract_server.base_url}/admin/clients/{client_id}", headers=bearer, timeout=10)
            assert view.status_code == 200, view.text[:300]
            created, updated = view.json()["created_at"], view.json()["updated_at"]
            assert created == updated, f"{client_id} was changed during the run: {view.text[:300]}"
