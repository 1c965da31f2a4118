#!/usr/bin/env bash
# Interleaved A/B of one load scenario between two builds of examples/bench_portal:
#
#   A=/path/to/old/bench_portal B=target/release/examples/bench_portal benches/load/ab.sh
#
# Both composers run side by side on core 0 and are measured in turn (wrk -t1 -c16 on
# core 1) for ROUNDS rounds of SECS seconds, so that both see the same machine state: on a
# shared virtual machine whose speed changes from one minute to the next, two full runs of
# run.sh one after the other are not comparable, these rounds are. Prints req/s and the
# composer's CPU µs per page of each round, the medians, and the median per-round ratio.
# ARGS: bench_portal's arguments (default: A0's fixed fragments; "" for A; "--cache-secs
# 60" for A cached); PAGE: the path measured (default page/accueil).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ARGS=${ARGS---fixed-fragment $ROOT/benches/load/fragment.html}
A=${A:?the older bench_portal binary}; B=${B:-$ROOT/target/release/examples/bench_portal}
ROUNDS=${ROUNDS:-8}; SECS=${SECS:-5}
TCK=$(getconf CLK_TCK)
W=$(mktemp -d)
start() { # name binary
  nice -n -10 taskset -c 0 "$2" --data-dir "$W/$1" $ARGS > "$W/$1.out" 2> "$W/$1.err" &
  echo $! > "$W/$1.pid"
  for _ in $(seq 100); do [ -s "$W/$1.out" ] && break; sleep 0.1; done
}
login() {
  local base=$1 jar; jar=$(mktemp)
  local token; token=$(curl -fsS -c "$jar" "${base}login" | grep -o 'name="_csrf" value="[^"]*"' | head -n1 | sed 's/.*value="//; s/"$//')
  curl -fsS -o /dev/null -b "$jar" -c "$jar" --data-urlencode "_csrf=$token" --data-urlencode login=eleve0 --data-urlencode password=bench-pw "${base}login"
  awk '$6 == "cartable_sid" {print $7}' "$jar"
}
start main "$B"
start before "$A"
trap 'kill $(cat $W/main.pid) $(cat $W/before.pid) 2>/dev/null' EXIT
declare -A URL SID PID
for t in main before; do
  URL[$t]=$(head -1 "$W/$t.out"); SID[$t]=$(login "${URL[$t]}"); PID[$t]=$(cat "$W/$t.pid")
  nice -n -10 taskset -c 1 wrk -t1 -c16 -d2s -H "Cookie: cartable_sid=${SID[$t]}" "${URL[$t]}${PAGE:-page/accueil}" > /dev/null
done
for r in $(seq "$ROUNDS"); do
  for t in main before; do
    a=$(awk '{print $14+$15}' /proc/${PID[$t]}/stat)
    out=$(nice -n -10 taskset -c 1 wrk -t1 -c16 -d${SECS}s -H "Cookie: cartable_sid=${SID[$t]}" "${URL[$t]}${PAGE:-page/accueil}")
    b=$(awk '{print $14+$15}' /proc/${PID[$t]}/stat)
    n=$(awk '/requests in/ {print $1}' <<<"$out")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    us=$(awk -v a="$a" -v b="$b" -v n="$n" -v t="$TCK" 'BEGIN{printf "%.1f", (b-a)/t/n*1e6}')
    echo "$r $t $rps $us"
  done
done | tee "$W/rounds.txt"
for t in main before; do
  echo "$t median req/s $(awk -v t=$t '$2==t {print $3}' "$W/rounds.txt" | sort -n | awk '{a[NR]=$1} END{print (NR%2? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')" \
       "median CPU µs/page $(awk -v t=$t '$2==t {print $4}' "$W/rounds.txt" | sort -n | awk '{a[NR]=$1} END{print (NR%2? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')"
done
# Per round: main/before ratio of req/s, median.
echo "median per-round ratio main/before req/s: $(awk '{v[$1" "$2]=$3} END{for (r=1;r<=200;r++) if ((r" main") in v) print v[r" main"]/v[r" before"]}' "$W/rounds.txt" | sort -n | awk '{a[NR]=$1} END{printf "%.3f", (NR%2? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')"
