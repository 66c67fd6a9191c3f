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

# In-process micro-benchmarks (criterion).
bench:
    cargo bench -p tokener-core
