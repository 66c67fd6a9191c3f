# syntax=docker/dockerfile:1
#
# tokener container image.
#
#   docker build -t tokener .
#   docker run --rm -p 8080:8080 tokener            # embedded in-memory store, prints a demo client
#
# Configuration is by TOKENER_* environment variables (see README.md); the image listens on
# 0.0.0.0:8080 and runs as the unprivileged user 10001.

ARG RUST_IMAGE=rust:1-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# --- build ---------------------------------------------------------------------------------------
FROM ${RUST_IMAGE} AS builder
WORKDIR /src

# Only what the build reads (see .dockerignore): the manifests, the lock file and the crates.
COPY Cargo.toml Cargo.lock ./
COPY crates ./crates

# The cargo registry and the target directory are BuildKit cache mounts: after a source change
# only the workspace crates recompile, not the dependencies. The binary is copied out of the
# cache mount so the next stage can take it.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked -p tokener-http --bin tokener \
    && install -D -m 0755 target/release/tokener /out/tokener

# --- runtime -------------------------------------------------------------------------------------
# Debian 12 slim, the same glibc the builder links against. curl is there for HEALTHCHECK only;
# ca-certificates for TLS connections to MongoDB or Redis that use the system trust store.
FROM ${RUNTIME_IMAGE} AS runtime

RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 tokener \
    && useradd --system --uid 10001 --gid tokener --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin tokener \
    && install -d -o 10001 -g 10001 -m 0700 /keys

COPY --from=builder /out/tokener /usr/local/bin/tokener

LABEL org.opencontainers.image.title="tokener" \
      org.opencontainers.image.description="The token service for a network of microservices" \
      org.opencontainers.image.licenses="Apache-2.0"

# /keys: where a signing key file can be mounted or generated (owned by the service user, so a
# named volume mounted there starts out writable for `tokener keys generate`).
ENV TOKENER_LISTEN=0.0.0.0:8080
USER 10001:10001
EXPOSE 8080
STOPSIGNAL SIGTERM

# Liveness only (/healthz calls no dependency): a MongoDB outage must not restart the container.
# Orchestrators that route traffic should probe /readyz.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["curl", "--fail", "--silent", "--output", "/dev/null", "http://127.0.0.1:8080/healthz"]

ENTRYPOINT ["tokener"]
CMD ["serve"]
