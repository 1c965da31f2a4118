#!/usr/bin/env bash
# Instructions per page of builds of examples/bench_portal, counted by valgrind's
# callgrind: the same figure for the same binary and requests whatever else the machine is
# doing, where req/s and CPU time move with the virtual machine's speed (see
# docs/performance.md). A ratio of two builds' instructions is a ratio of their CPU cost
# per page; it does not see waiting (locks, I/O) or cache misses, which the timed rows do.
#
#   BINS="before=/tmp/old/bench_portal after=target/release/examples/bench_portal" \
#     ARGS="--fixed-fragment benches/load/fragment.html" benches/load/instructions.sh
#
# Each build is started under callgrind, logged in as eleve0, warmed with WARM requests,
# its counters zeroed, then sent N requests of PAGE one after the other on one keep-alive
# connection (curl), and its counters dumped: instructions / N is its cost per page,
# everything the process did in that time included (hyper, the router and layers, the
# page, the background tasks' ticks). ARGS: bench_portal's arguments (default: A0's fixed
# fragments; "" for A). OUT: a folder to keep each build's profile in
# (`callgrind_annotate OUT/<name>.callgrind` says where the instructions went). Needs
# valgrind (callgrind_control) and curl.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ARGS=${ARGS---fixed-fragment $ROOT/benches/load/fragment.html}
BINS=${BINS:-"after=$ROOT/target/release/examples/bench_portal"}
N=${N:-400}; WARM=${WARM:-100}; PAGE=${PAGE:-page/accueil}
command -v valgrind > /dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
W=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

login() {
  local base=$1 jar; jar=$(mktemp)
  local token; token=$(curl -fsS -c "$jar" "${base}login" | grep -o 'name="_csrf" value="[^"]*"' | head -n1 | sed 's/.*value="//; s/"$//')
  curl -fsS -o /dev/null -b "$jar" -c "$jar" --data-urlencode "_csrf=$token" --data-urlencode login=eleve0 --data-urlencode password=bench-pw "${base}login"
  awk '$6 == "cartable_sid" {print $7}' "$jar"
}

# N requests of one URL on one connection.
requests() { # url sid n
  local cfg=$W/curl.cfg
  : > "$cfg"
  for _ in $(seq "$3"); do printf 'url = "%s"\noutput = "/dev/null"\n' "$1" >> "$cfg"; done
  curl -fsS -H "Cookie: cartable_sid=$2" --config "$cfg"
}

for entry in $BINS; do
  name=${entry%%=*}; bin=${entry#*=}
  # shellcheck disable=SC2086
  valgrind --tool=callgrind --callgrind-out-file="$W/$name.cg" \
    "$bin" --data-dir "$W/$name" $ARGS > "$W/$name.out" 2> "$W/$name.err" &
  pid=$!; PIDS+=("$pid")
  for _ in $(seq 600); do [ -s "$W/$name.out" ] && break; sleep 0.2; done
  url=$(head -1 "$W/$name.out")
  [ -n "$url" ] || { echo "$name did not start:" >&2; tail "$W/$name.err" >&2; exit 1; }
  sid=$(login "$url")
  requests "$url$PAGE" "$sid" "$WARM"
  callgrind_control -z "$pid" > /dev/null 2>&1
  requests "$url$PAGE" "$sid" "$N"
  callgrind_control -d "$pid" > /dev/null 2>&1
  sleep 1
  ir=$(awk '/^(summary|totals):/ {print $2; exit}' "$W/$name".cg.*)
  [ -n "${OUT:-}" ] && mkdir -p "$OUT" && cp "$W/$name".cg.1 "$OUT/$name.callgrind"
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  echo "$name $ir $N" | awk '{printf "%s: %d instructions for %d pages, %.0f per page\n", $1, $2, $3, $2/$3}' | tee -a "$W/results.txt"
done
if [ "$(wc -l < "$W/results.txt")" -ge 2 ]; then
  awk 'NR==1 {first=$7; name=$1} NR>1 {printf "%s / %s: %.3f\n", $1, name, $7/first}' \
    FS='[ ,]+' "$W/results.txt"
fi
