#!/usr/bin/env bash
# Starts (or reuses) a Redis Cluster on loopback for the tests: six redis-server processes, three
# primaries and three replicas (`redis-cli --cluster create ... --cluster-replicas 1`), each with
# AOF and fsync on every write, as production would run them. Prints the seed URLs,
# comma-separated, on stdout.
#
# Usage: scripts/redis-cluster.sh start|stop|status [DIR]
#        scripts/redis-cluster.sh restart-node DIR N   (a node killed by a test rejoins)
#   DIR defaults to target/test-services/redis-cluster; node N lives in DIR/N.
# Needs redis-server and redis-cli (Debian's redis-server package brings both).

set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${2:-$REPO/target/test-services/redis-cluster}"
NODES=6

log() { echo "redis-cluster: $*" >&2; }
die() { log "error: $*"; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A port free for the node and for its cluster bus (the port + 10000).
free_port() {
    local port
    for _ in $(seq 1 100); do
        port=$((20000 + RANDOM % 20000))
        if ! port_open "$port" && ! port_open $((port + 10000)); then
            echo "$port"
            return 0
        fi
    done
    die "found no free loopback port"
}

node_pid() {
    local pid
    pid="$(cat "$DIR/$1/pid" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

cluster_ok() {
    local port
    port="$(cat "$DIR/1/port" 2>/dev/null)" || return 1
    redis-cli -p "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok'
}

seeds() {
    local urls=() n
    for n in $(seq 1 $NODES); do
        urls+=("redis://127.0.0.1:$(cat "$DIR/$n/port")/")
    done
    (IFS=,; echo "${urls[*]}")
}

# Starts node N on its port (again, after a kill: it rejoins the cluster it knew, as a replica
# if its slots were taken over meanwhile).
start_node() {
    local n="$1" port
    port="$(cat "$DIR/$n/port")"
    # A short node timeout: a killed primary is replaced within seconds in the tests.
    redis-server --port "$port" --bind 127.0.0.1 \
        --cluster-enabled yes --cluster-config-file "$DIR/$n/nodes.conf" \
        --cluster-node-timeout 2000 \
        --appendonly yes --appendfsync always --save '' \
        --dir "$DIR/$n" --daemonize yes --pidfile "$DIR/$n/pid" --logfile "$DIR/$n/log" \
        </dev/null >/dev/null 2>&1 || die "node $n did not start; see $DIR/$n/log"
}

cmd_restart_node() {
    local n="${1:?node number}"
    start_node "$n"
    for _ in $(seq 1 100); do
        redis-cli -p "$(cat "$DIR/$n/port")" ping 2>/dev/null | grep -q PONG && return 0
        sleep 0.1
    done
    die "node $n did not answer after its restart; see $DIR/$n/log"
}

cmd_start() {
    command -v redis-server >/dev/null || die "redis-server is missing"
    command -v redis-cli >/dev/null || die "redis-cli is missing"
    local all_up=1 n
    for n in $(seq 1 $NODES); do
        node_pid "$n" >/dev/null || all_up=0
    done
    if [[ "$all_up" == 1 ]] && cluster_ok; then
        seeds
        return 0
    fi
    cmd_stop 2>/dev/null
    rm -rf "$DIR"
    local addresses=() port
    for n in $(seq 1 $NODES); do
        mkdir -p "$DIR/$n"
        port="$(free_port)"
        echo "$port" >"$DIR/$n/port"
        start_node "$n"
        addresses+=("127.0.0.1:$port")
    done
    for n in $(seq 1 $NODES); do
        for _ in $(seq 1 100); do
            redis-cli -p "$(cat "$DIR/$n/port")" ping 2>/dev/null | grep -q PONG && break
            sleep 0.1
        done
    done
    redis-cli --cluster create "${addresses[@]}" --cluster-replicas 1 --cluster-yes \
        >"$DIR/create.log" 2>&1 || die "cluster create failed; see $DIR/create.log"
    # Every node must agree the slots are covered before a client can use the cluster.
    for _ in $(seq 1 200); do
        local ready=1
        for n in $(seq 1 $NODES); do
            redis-cli -p "$(cat "$DIR/$n/port")" cluster info 2>/dev/null |
                grep -q '^cluster_state:ok' || ready=0
        done
        [[ "$ready" == 1 ]] && break
        sleep 0.1
    done
    [[ "$ready" == 1 ]] || die "the cluster did not reach cluster_state:ok; see $DIR/*/log"
    # And every primary's replica past its initial sync (`state=online`), so that a test
    # waiting for a replica (WAIT) or killing a primary finds the replica ready.
    for _ in $(seq 1 300); do
        local online=0
        for n in $(seq 1 $NODES); do
            redis-cli -p "$(cat "$DIR/$n/port")" info replication 2>/dev/null |
                grep -q '^slave0:.*state=online' && online=$((online + 1))
        done
        if [[ "$online" -ge $((NODES / 2)) ]]; then
            log "cluster of $NODES nodes ready (${addresses[*]})"
            seeds
            return 0
        fi
        sleep 0.1
    done
    die "the replicas did not finish their initial sync; see $DIR/*/log"
}

cmd_stop() {
    local n pid
    for n in $(seq 1 $NODES); do
        if pid="$(node_pid "$n")"; then
            kill "$pid" 2>/dev/null || true
        fi
    done
    for n in $(seq 1 $NODES); do
        for _ in $(seq 1 50); do
            node_pid "$n" >/dev/null || break
            sleep 0.1
        done
    done
}

cmd_status() {
    if cluster_ok; then
        echo "redis cluster: $(seeds)"
    else
        echo "redis cluster: not running"
    fi
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    restart-node) cmd_restart_node "${3:-}" ;;
    *)
        echo "usage: $0 start|stop|status [DIR] | restart-node DIR N" >&2
        exit 2
        ;;
esac
