#!/usr/bin/env bash
# Pages per second of the lycée-like page of 12 in-process portlets, served by:
#   one node on SQLite, one node on PostgreSQL, two nodes on one PostgreSQL.
# Closed loop, 16 connections in all (two nodes: 8 each, summed), sessions shared.
# Usage: benches/load/nodes.sh            (DURATION=20 by default)
# PostgreSQL: the server at PG_URL if given (tests/pg/ready.sh waits for it), else a
# throwaway cluster started for the run by tests/pg/cluster.sh (installed from Debian's
# packages if missing, on a free loopback port) and removed at the end; the system's own
# server on 5432 is never used. Prints one markdown table.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION="${DURATION:-20}"
SCHEMA="bench_nodes_$$"
work="target/load/nodes"
rm -rf "$work" && mkdir -p "$work"

pids=()
pg_cluster_dir=""
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    if [ -n "$pg_cluster_dir" ]; then
        PG_CLUSTER_DIR="$pg_cluster_dir" tests/pg/cluster.sh stop >/dev/null 2>&1 || true
    elif [ -n "${PG_URL:-}" ]; then
        psql "$PG_URL" -qc "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT

if [ -n "${PG_URL:-}" ]; then
    tests/pg/ready.sh "$PG_URL" >/dev/null
else
    pg_cluster_dir="$(mktemp -d /tmp/cartable-pg.XXXXXX)"
    # CARTABLE_TEST_PG_URL unset: cluster.sh would otherwise use that server.
    env -u CARTABLE_TEST_PG_URL PG_CLUSTER_DIR="$pg_cluster_dir" tests/pg/cluster.sh start
    PG_URL="$(env -u CARTABLE_TEST_PG_URL PG_CLUSTER_DIR="$pg_cluster_dir" tests/pg/cluster.sh env)"
    PG_URL="${PG_URL#export CARTABLE_TEST_PG_URL=}"
fi
cargo build --release --quiet --example bench_portal --example bench_load

# start NAME ARGS… : a portal node; sets URL once it listens (no subshell: pids and
# URL must reach the caller).
start() {
    local name="$1"; shift
    target/release/examples/bench_portal --data-dir "$work/$name" "$@" >"$work/$name.out" 2>"$work/$name.log" &
    pids+=($!)
    URL=""
    for _ in $(seq 1 600); do
        URL=$(head -n1 "$work/$name.out" 2>/dev/null || true)
        [ -n "$URL" ] && break
        kill -0 "${pids[-1]}" 2>/dev/null || { echo "node $name died: $(tail -3 "$work/$name.log")" >&2; exit 1; }
        sleep 0.1
    done
    [ -n "$URL" ] || { echo "node $name did not start" >&2; exit 1; }
    case "$URL" in */) ;; *) URL="$URL/" ;; esac
}

# load URL CONNS : one closed-loop run, prints the result line.
load() {
    target/release/examples/bench_load --url "$1page/accueil" --connections "$2" \
        --duration "$DURATION" --warmup 3 --cookies "$work/cookies" --expect '<main'
}
field() { tr ' ' '\n' | sed -n "s/^$1=//p"; }

row() { # name line
    echo "| $1 | $(echo "$2" | field rps) | $(echo "$2" | field p50_ms) | $(echo "$2" | field p99_ms) | $(echo "$2" | field errors) |"
}

echo "| setup | pages/s | p50 ms | p99 ms | errors |"
echo "|---|---:|---:|---:|---:|"

start sqlite --users 200 --sessions 200 --cookies "$work/cookies" --storage sqlite
row "1 node, SQLite" "$(load "$URL" 16)"
kill "${pids[-1]}"; unset 'pids[-1]'

start pg1 --users 200 --sessions 200 --cookies "$work/cookies" --storage postgres --pg-url "$PG_URL" --pg-schema "$SCHEMA"
url="$URL"
row "1 node, PostgreSQL" "$(load "$url" 16)"

# A second node on the same schema: the sessions written by the first work on it.
start pg2 --users 200 --storage postgres --pg-url "$PG_URL" --pg-schema "$SCHEMA"
url2="$URL"
load "$url" 8 >"$work/a.txt" &
a=$!
load "$url2" 8 >"$work/b.txt"
wait "$a"
ra=$(field rps <"$work/a.txt"); rb=$(field rps <"$work/b.txt")
echo "| 2 nodes, PostgreSQL | $(python3 -c "print(round($ra + $rb))") ($ra + $rb) | $(field p50_ms <"$work/a.txt") / $(field p50_ms <"$work/b.txt") | $(field p99_ms <"$work/a.txt") / $(field p99_ms <"$work/b.txt") | $(field errors <"$work/a.txt") + $(field errors <"$work/b.txt") |"
echo
echo "Machine: $(nproc) cores; DURATION=${DURATION}s per run; $(git rev-parse --short HEAD); PostgreSQL $(psql -X "$PG_URL" -qtAc 'show server_version' 2>/dev/null || echo '?') at $PG_URL$([ -n "$pg_cluster_dir" ] && echo ' (a throwaway cluster)')."
