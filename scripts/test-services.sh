#!/usr/bin/env bash
# Starts the backing services the integration tests use: FerretDB (a MongoDB wire-protocol server,
# SQLite backend, built from the Go module in infra/dev/ferretdb) and Redis, each on a free
# loopback port, with their data and pid files under target/test-services/.
#
# Usage:
#   source scripts/test-services.sh          start (or reuse) the services and export
#                                            TOKENER_TEST_* into the current shell
#   source scripts/test-services.sh stop     stop them and unset the variables
#   scripts/test-services.sh start           start (or reuse) them and print `export` lines,
#                                            e.g. eval "$(scripts/test-services.sh start)"
#   scripts/test-services.sh stop            stop them
#   scripts/test-services.sh status          show what runs where
#
# Exported variables:
#   TOKENER_TEST_MONGODB_URI     mongodb://127.0.0.1:<port>/
#   TOKENER_TEST_REDIS_URL       redis://127.0.0.1:<port>/
#   TOKENER_TEST_FERRETDB_BIN    the ferretdb binary, for tests that start their own instance
#   TOKENER_TEST_REDIS_BIN       the redis-server binary, likewise
#   TOKENER_TEST_REDIS_CLUSTER_URLS  the seed nodes of a 3-primary, 3-replica Redis Cluster
#                                (scripts/redis-cluster.sh), comma-separated redis:// URLs
#
# Idempotent: the FerretDB build is skipped while the binary is newer than go.mod/go.sum and
# runs; services already running (per their pid files) are reused. Services keep running after
# the shell that started them exits, so test runs can share them; stop them with `stop`.
# Needs bash, Go (the version go.mod names, or a Go that can download it) and, to install Redis
# when it is missing, root or sudo on Debian/Ubuntu.

# When sourced, all the work happens in a child bash running this file, so strict mode, traps
# and failures never leak into the interactive shell; only the resulting exports are applied.
if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
    __tokener_services_status=0
    # Sourced without arguments, $1 is the sourcing script's own first argument (and must not
    # be changed), so anything but `stop` or `status` means start.
    case "${1:-}" in
        stop | status) __tokener_services_cmd="$1" ;;
        *) __tokener_services_cmd=start ;;
    esac
    case "$__tokener_services_cmd" in
        start)
            if __tokener_services_env="$(bash "${BASH_SOURCE[0]}" start)"; then
                eval "$__tokener_services_env"
                echo "test services ready: mongodb at $TOKENER_TEST_MONGODB_URI, redis at $TOKENER_TEST_REDIS_URL" >&2
            else
                __tokener_services_status=1
                echo "test services failed to start (see messages above)" >&2
            fi
            unset __tokener_services_env
            ;;
        stop)
            bash "${BASH_SOURCE[0]}" stop || __tokener_services_status=$?
            unset TOKENER_TEST_MONGODB_URI TOKENER_TEST_REDIS_URL TOKENER_TEST_FERRETDB_BIN TOKENER_TEST_REDIS_BIN TOKENER_TEST_REDIS_CLUSTER_URLS
            ;;
        status)
            bash "${BASH_SOURCE[0]}" status || __tokener_services_status=$?
            ;;
    esac
    # A failure is returned, so a `set -e` script that sources this stops there. (eval expands
    # the status before the unset runs, leaving no variable behind.)
    unset __tokener_services_cmd
    eval "unset __tokener_services_status; return $__tokener_services_status"
fi

set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODULE_DIR="$REPO/infra/dev/ferretdb"
TOOLS_DIR="$REPO/target/tools"
FERRETDB_BIN="$TOOLS_DIR/ferretdb"
RUN_DIR="$REPO/target/test-services"
FERRETDB_PKG="github.com/FerretDB/FerretDB"

log() { echo "test-services: $*" >&2; }
die() { log "error: $*"; exit 1; }

# --- tools -------------------------------------------------------------------------------------

find_go() {
    if command -v go >/dev/null 2>&1; then
        command -v go
    elif [[ -x /usr/local/go/bin/go ]]; then
        echo /usr/local/go/bin/go
    else
        die "Go is not installed (needed to build FerretDB from $MODULE_DIR; see https://go.dev/dl/)"
    fi
}

ferretdb_is_current() {
    [[ -x "$FERRETDB_BIN" ]] &&
        [[ "$FERRETDB_BIN" -nt "$MODULE_DIR/go.mod" ]] &&
        [[ "$FERRETDB_BIN" -nt "$MODULE_DIR/go.sum" ]] &&
        "$FERRETDB_BIN" --version >/dev/null 2>&1
}

# FerretDB's build/version package panics at startup unless build/version/version.txt exists,
# and a plain `go build` of the module as a dependency has no such file (release builds generate
# it). So the build uses a writable copy of the module with that file added, wired in through a
# throw-away go.mod (-modfile) with a replace directive; the committed go.mod stays untouched and
# still pins the version.
build_ferretdb() {
    if ferretdb_is_current; then
        return 0
    fi
    local go build_dir src version
    go="$(find_go)"
    build_dir="$TOOLS_DIR/ferretdb-build"
    log "building FerretDB from $MODULE_DIR (takes a few minutes the first time)"
    # On a fresh machine the module is not in the module cache yet, and `go list -m` then
    # reports no directory: download it (with everything the build needs) first.
    (cd "$MODULE_DIR" && "$go" mod download "$FERRETDB_PKG" && "$go" mod download) >&2
    src="$(cd "$MODULE_DIR" && "$go" list -m -f '{{.Dir}}' "$FERRETDB_PKG")"
    version="$(cd "$MODULE_DIR" && "$go" list -m -f '{{.Version}}' "$FERRETDB_PKG")"
    [[ -n "$src" && -d "$src" ]] || die "could not locate the $FERRETDB_PKG module source"
    rm -rf "$build_dir"
    mkdir -p "$build_dir"
    cp -R "$src" "$build_dir/src"
    chmod -R u+w "$build_dir/src"
    echo "$version" >"$build_dir/src/build/version/version.txt"
    cp "$MODULE_DIR/go.mod" "$build_dir/build.mod"
    cp "$MODULE_DIR/go.sum" "$build_dir/build.sum"
    printf '\nreplace %s => %s\n' "$FERRETDB_PKG" "$build_dir/src" >>"$build_dir/build.mod"
    (cd "$MODULE_DIR" && "$go" build -modfile="$build_dir/build.mod" -o "$FERRETDB_BIN.tmp" "$FERRETDB_PKG/cmd/ferretdb")
    mv -f "$FERRETDB_BIN.tmp" "$FERRETDB_BIN"
    rm -rf "$build_dir"
    "$FERRETDB_BIN" --version >/dev/null || die "the built FerretDB does not run"
    log "built $FERRETDB_BIN ($version)"
}

ensure_redis() {
    if command -v redis-server >/dev/null 2>&1; then
        return 0
    fi
    local sudo=()
    if [[ "$(id -u)" -ne 0 ]]; then
        command -v sudo >/dev/null 2>&1 || die "redis-server is missing; install it (apt-get install redis-server) or run as root"
        sudo=(sudo)
    fi
    command -v apt-get >/dev/null 2>&1 || die "redis-server is missing and apt-get is not available to install it"
    log "installing redis-server with apt-get"
    "${sudo[@]}" apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends redis-server >&2
    command -v redis-server >/dev/null 2>&1 || die "redis-server is still missing after apt-get install"
}

# --- processes ---------------------------------------------------------------------------------

# Whether something accepts TCP connections on the loopback port.
port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# A loopback port nothing listens on. Another process may take it before we bind it; the start
# functions retry with a fresh port when that happens.
free_port() {
    local port attempt
    for attempt in $(seq 1 50); do
        port=$((20000 + RANDOM % 40000))
        if ! port_open "$port"; then
            echo "$port"
            return 0
        fi
    done
    die "found no free loopback port"
}

# The pid in a pid file, if that process still runs the expected binary (pids get reused).
live_pid() {
    local pidfile="$1" binary="$2" pid
    [[ -f "$pidfile" ]] || return 1
    pid="$(cat "$pidfile" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$(basename "$binary")" || return 1
    echo "$pid"
}

redis_answers() {
    # In a subshell: a failed `exec` redirection would end a non-interactive shell.
    (
        exec 3<>"/dev/tcp/127.0.0.1/$1"
        printf 'PING\r\n' >&3
        reply=""
        IFS= read -r -t 2 reply <&3 || true
        [[ "$reply" == "+PONG"* ]]
    ) 2>/dev/null
}

# Waits up to ~15 s for `check <port>` to succeed while the process lives.
wait_until() {
    local check="$1" port="$2" pid="$3" i
    for i in $(seq 1 150); do
        if "$check" "$port" 2>/dev/null; then
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

start_ferretdb() {
    local dir="$RUN_DIR/ferretdb" pid port attempt
    mkdir -p "$dir/data" "$dir/state"
    if pid="$(live_pid "$dir/pid" "$FERRETDB_BIN")" && port="$(cat "$dir/port")" && port_open "$port"; then
        echo "$port"
        return 0
    fi
    for attempt in 1 2 3 4 5; do
        # The port of the previous start when it is free again, so that a restart (the load
        # harness restarts FerretDB to fold its SQLite write-ahead log) keeps the URI valid.
        port="$(cat "$dir/port" 2>/dev/null || true)"
        if [[ "$attempt" -gt 1 || ! "$port" =~ ^[0-9]+$ ]] || port_open "$port"; then
            port="$(free_port)"
        fi
        # setsid + closed stdio: the server must outlive this script and must not hold the pipe
        # of a `$(...)` that captures our output.
        setsid "$FERRETDB_BIN" \
            --handler=sqlite \
            --sqlite-url="file:$dir/data/" \
            --state-dir="$dir/state" \
            --listen-addr="127.0.0.1:$port" \
            --debug-addr=- \
            --telemetry=disable \
            --log-level=WARN \
            </dev/null >>"$dir/log" 2>&1 &
        pid=$!
        echo "$pid" >"$dir/pid"
        echo "$port" >"$dir/port"
        if wait_until port_open "$port" "$pid"; then
            echo "$port"
            return 0
        fi
        kill "$pid" 2>/dev/null || true
        log "FerretDB did not come up on port $port (attempt $attempt); see $dir/log"
    done
    die "FerretDB failed to start; see $dir/log"
}

start_redis() {
    local dir="$RUN_DIR/redis" bin pid port attempt
    bin="$(command -v redis-server)"
    mkdir -p "$dir"
    if pid="$(live_pid "$dir/pid" "$bin")" && port="$(cat "$dir/port")" && redis_answers "$port"; then
        echo "$port"
        return 0
    fi
    for attempt in 1 2 3 4 5; do
        port="$(free_port)"
        rm -f "$dir/pid"
        # Durable like production would be (AOF, fsync on every write) so fault tests mean
        # something; no RDB snapshots.
        "$bin" --port "$port" --bind 127.0.0.1 \
            --appendonly yes --appendfsync always --save '' \
            --dir "$dir" --daemonize yes --pidfile "$dir/pid" --logfile "$dir/log" \
            </dev/null >/dev/null 2>&1 || true
        echo "$port" >"$dir/port"
        # The daemon writes its pid file shortly after forking.
        for _ in $(seq 1 50); do
            [[ -s "$dir/pid" ]] && break
            sleep 0.1
        done
        if pid="$(live_pid "$dir/pid" "$bin")" && wait_until redis_answers "$port" "$pid"; then
            echo "$port"
            return 0
        fi
        [[ -n "${pid:-}" ]] && kill "$pid" 2>/dev/null || true
        log "Redis did not come up on port $port (attempt $attempt); see $dir/log"
    done
    die "Redis failed to start; see $dir/log"
}

stop_one() {
    local name="$1" binary="$2" dir="$RUN_DIR/$1" pid i
    if pid="$(live_pid "$dir/pid" "$binary")"; then
        kill "$pid" 2>/dev/null || true
        for i in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "$name (pid $pid) ignored SIGTERM; sending SIGKILL"
            kill -9 "$pid" 2>/dev/null || true
        fi
        log "stopped $name (pid $pid)"
    else
        log "$name is not running"
    fi
    rm -f "$dir/pid" "$dir/port"
}

print_env() {
    local mongo_port="$1" redis_port="$2" cluster_urls="$3"
    printf 'export TOKENER_TEST_MONGODB_URI=%q\n' "mongodb://127.0.0.1:$mongo_port/"
    printf 'export TOKENER_TEST_REDIS_URL=%q\n' "redis://127.0.0.1:$redis_port/"
    printf 'export TOKENER_TEST_FERRETDB_BIN=%q\n' "$FERRETDB_BIN"
    printf 'export TOKENER_TEST_REDIS_BIN=%q\n' "$(command -v redis-server)"
    printf 'export TOKENER_TEST_REDIS_CLUSTER_URLS=%q\n' "$cluster_urls"
}

cmd_start() {
    local mongo_port redis_port cluster_urls
    build_ferretdb
    ensure_redis
    mkdir -p "$RUN_DIR"
    mongo_port="$(start_ferretdb)"
    redis_port="$(start_redis)"
    cluster_urls="$(bash "$REPO/scripts/redis-cluster.sh" start)"
    print_env "$mongo_port" "$redis_port" "$cluster_urls" | tee "$RUN_DIR/env"
}

cmd_stop() {
    stop_one ferretdb "$FERRETDB_BIN"
    stop_one redis "$(command -v redis-server || echo redis-server)"
    bash "$REPO/scripts/redis-cluster.sh" stop
    rm -f "$RUN_DIR/env"
}

cmd_status() {
    local pid
    if pid="$(live_pid "$RUN_DIR/ferretdb/pid" "$FERRETDB_BIN")"; then
        echo "ferretdb: pid $pid, mongodb://127.0.0.1:$(cat "$RUN_DIR/ferretdb/port")/"
    else
        echo "ferretdb: not running"
    fi
    if pid="$(live_pid "$RUN_DIR/redis/pid" "$(command -v redis-server || echo redis-server)")"; then
        echo "redis: pid $pid, redis://127.0.0.1:$(cat "$RUN_DIR/redis/port")/"
    else
        echo "redis: not running"
    fi
    bash "$REPO/scripts/redis-cluster.sh" status
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    *)
        echo "usage: $0 start|stop|status   (or: source $0 [start|stop])" >&2
        exit 2
        ;;
esac
