#!/usr/bin/env bash
# Sets up everything the tests need on a fresh Debian machine (Redis, a FerretDB built from
# its Go module, the Python test tools), starts the servers on free loopback ports, and runs
# every test of the project against them. A missing server fails the run: nothing is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

# Start Redis and FerretDB (exports TOKENER_TEST_*). Services this script started are stopped
# when it exits; services that were already running (`just services`) are left running.
already_running=$(bash scripts/test-services.sh status | grep -c ': pid ' || true)
# shellcheck source=scripts/test-services.sh
source scripts/test-services.sh
if [ "$already_running" -eq 0 ]; then
  trap 'bash scripts/test-services.sh stop' EXIT
fi

export TOKENER_TEST_REQUIRE_SERVICES="${TOKENER_TEST_REQUIRE_SERVICES:-1}"

cargo test --workspace --locked

# The unit-file check needs systemd-analyze (Debian's systemd package).
if ! command -v systemd-analyze >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd >/dev/null
fi

# Python suites: interoperability with third-party OAuth2 and Biscuit libraries (against the
# binary cargo just built), and checks of the deployment files.
for suite in tests/interop tests/infra; do
  if [ -d "$suite" ]; then
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
      -r "$suite/requirements.txt"
    python3 -m pytest -q -rs -p no:cacheprovider "$suite"
  fi
done
