#!/usr/bin/env bash
# Interleaved A/B of one load scenario between two builds of the bench examples:
#
#   A=/path/to/old/examples B=target/release/examples benches/load/ab.sh
#
# A and B are the folders holding each build's bench_portal (and bench_producer, and
# bench_load for the open loop). Both composers run side by side on core 0 and are
# measured in turn (the load on core 1) for ROUNDS rounds of SECS seconds, so that both
# see the same machine state: on a shared virtual machine whose speed changes from one
# minute to the next, two full runs of run.sh one after the other are not comparable,
# these rounds are. Prints each round's req/s, p99 and the composer's CPU µs per page,
# the medians, and the median per-round ratio of req/s.
#
# The scenario, as in run.sh:
#   ARGS      bench_portal's arguments (default: A0's fixed fragments; "" for A;
#             "--cache-secs 60" for A cached)
#   PAGE      the path measured (default page/accueil)
#   REMOTE=N  B and C: each build's bench_producer serves N fragments (on core 1) and the
#             page shows them as N remote windows; PRODUCER_ARGS its arguments (C:
#             "--delay f0=500 --hang f1")
#   RATE=R    D: the open loop of bench_load at R pages/s over SESSIONS sessions (each
#             build's own bench_load), instead of wrk's closed loop
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ARGS=${ARGS---fixed-fragment $ROOT/benches/load/fragment.html}
A=${A:?the older build\'s examples folder}; B=${B:-$ROOT/target/release/examples}
ROUNDS=${ROUNDS:-8}; SECS=${SECS:-5}; PAGE=${PAGE:-page/accueil}
REMOTE=${REMOTE:-}; PRODUCER_ARGS=${PRODUCER_ARGS:-}
RATE=${RATE:-}; SESSIONS=${SESSIONS:-15000}
TCK=$(getconf CLK_TCK)
W=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

# start NAME CPU COMMAND…: run it, wait for the URL it prints first.
start() {
  local name=$1 cpu=$2; shift 2
  nice -n -10 taskset -c "$cpu" "$@" > "$W/$name.out" 2> "$W/$name.err" &
  PIDS+=("$!"); echo $! > "$W/$name.pid"
  for _ in $(seq 600); do [ -s "$W/$name.out" ] && return 0; sleep 0.1; done
  echo "$name did not start:" >&2; tail "$W/$name.err" >&2; exit 1
}
login() {
  local base=$1 jar; jar=$(mktemp)
  local token; token=$(curl -fsS -c "$jar" "${base}login" | grep -o 'name="_csrf" value="[^"]*"' | head -n1 | sed 's/.*value="//; s/"$//')
  curl -fsS -o /dev/null -b "$jar" -c "$jar" --data-urlencode "_csrf=$token" --data-urlencode login=eleve0 --data-urlencode password=bench-pw "${base}login"
  awk '$6 == "cartable_sid" {print $7}' "$jar"
}
field() { tr ' ' '\n' <<<"$2" | awk -F= -v k="$1" '$1 == k {print $2}'; }
ms() { # wrk's latency ("812.00us", "2.31ms", "1.02s") in ms
  awk '{v=$1; if (v ~ /us$/) {sub("us","",v); v/=1000} else if (v ~ /ms$/) {sub("ms","",v)} else if (v ~ /s$/) {sub("s","",v); v*=1000}; printf "%.2f", v}' <<<"$1"
}

declare -A DIR=([main]=$B [before]=$A) URL SID PID
for t in main before; do
  extra=()
  if [ -n "$REMOTE" ]; then
    # shellcheck disable=SC2086
    start "$t-producer" 1 "${DIR[$t]}/bench_producer" --count "$REMOTE" \
      --fragment "$ROOT/benches/load/fragment.html" $PRODUCER_ARGS
    extra=(--remote "$(head -1 "$W/$t-producer.out")" --fragments "$REMOTE" --timeout-ms 1000)
  fi
  if [ -n "$RATE" ]; then
    extra+=(--users "$SESSIONS" --sessions "$SESSIONS" --cookies "$W/$t.sessions")
  fi
  # shellcheck disable=SC2086
  start "$t" 0 "${DIR[$t]}/bench_portal" --data-dir "$W/$t" $ARGS "${extra[@]}"
  URL[$t]=$(head -1 "$W/$t.out"); PID[$t]=$(cat "$W/$t.pid")
  if [ -z "$RATE" ]; then
    SID[$t]=$(login "${URL[$t]}")
    nice -n -10 taskset -c 1 wrk -t1 -c16 -d2s -H "Cookie: cartable_sid=${SID[$t]}" "${URL[$t]}$PAGE" > /dev/null
  fi
done
for r in $(seq "$ROUNDS"); do
  for t in main before; do
    a=$(awk '{print $14+$15}' "/proc/${PID[$t]}/stat")
    if [ -n "$RATE" ]; then
      out=$(nice -n -10 taskset -c 1 "${DIR[$t]}/bench_load" --url "${URL[$t]}$PAGE" --rate "$RATE" \
        --duration "${SECS}s" --warmup 2s --cookies "$W/$t.sessions" --timeout-ms 10000)
      b=$(awk '{print $14+$15}' "/proc/${PID[$t]}/stat")
      n=$(( $(field requests "$out") * (SECS + 2) / SECS ))
      rps=$(field rps "$out"); p99=$(field p99_ms "$out")
    else
      out=$(nice -n -10 taskset -c 1 wrk -t1 -c16 -d"${SECS}s" --latency -H "Cookie: cartable_sid=${SID[$t]}" "${URL[$t]}$PAGE")
      b=$(awk '{print $14+$15}' "/proc/${PID[$t]}/stat")
      n=$(awk '/requests in/ {print $1}' <<<"$out")
      rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
      p99=$(ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
    fi
    us=$(awk -v a="$a" -v b="$b" -v n="$n" -v t="$TCK" 'BEGIN{printf "%.1f", (b-a)/t/n*1e6}')
    echo "$r $t $rps $us $p99"
  done
done | tee "$W/rounds.txt"
median() { sort -n | awk '{a[NR]=$1} END{print (NR%2? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
for t in main before; do
  echo "$t median req/s $(awk -v t=$t '$2==t {print $3}' "$W/rounds.txt" | median)" \
       "median CPU µs/page $(awk -v t=$t '$2==t {print $4}' "$W/rounds.txt" | median)" \
       "median p99 ms $(awk -v t=$t '$2==t {print $5}' "$W/rounds.txt" | median)"
done
# Per round: main/before ratio of req/s and of CPU per page, medians.
for col in 3 4; do
  what=$([ $col = 3 ] && echo "req/s" || echo "CPU µs/page")
  echo "median per-round ratio main/before $what: $(awk -v c=$col '{v[$1" "$2]=$c} END{for (r=1;r<=200;r++) if ((r" main") in v) print v[r" main"]/v[r" before"]}' "$W/rounds.txt" | median)"
done
