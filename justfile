# Everyday tasks. `just` lists them.

default:
    @just --list

# Run the service on the embedded in-memory default (prints a demo client).
run:
    cargo run --release -p tokener-http

# Set up Redis and the MongoDB-wire server, then run every test (what CI runs).
test:
    bash scripts/test.sh

# Formatting and lints, as CI checks them.
check:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Regenerate openapi.yaml from the handlers' annotations.
openapi:
    cargo run -q -p tokener-http -- openapi > openapi.yaml

# Start Redis and FerretDB for local work; prints the TOKENER_TEST_* exports.
services:
    bash scripts/test-services.sh start

# Stop what `just services` started.
services-stop:
    bash scripts/test-services.sh stop

# Micro-benchmarks (criterion: the domain, then request parsing and the in-process app), then
# the load harness in every mode, with 60 s sustained write-behind runs: writes
# bench/results/{results.json,results.md,latency.svg}.
bench:
    cargo bench -p tokener-core --bench mint_verify
    cargo bench -p tokener-core --bench client_assertion
    cargo bench -p tokener-redis --bench record_codec
    cargo bench -p tokener-http --bench request_parsing
    cargo bench -p tokener-verify --features actix --bench middleware
    cargo bench -p tokener-verify --features guard --bench guard
    python3 bench/load.py --modes embedded,mongodb,writebehind --sustain 1500,1000

# The load harness alone (e.g. `just load --modes embedded --quick`).
load *ARGS:
    python3 bench/load.py {{ARGS}}
