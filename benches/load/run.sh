#!/usr/bin/env bash
# The load scenarios of docs/performance.md, in one command:
#
#   benches/load/run.sh            # the full run (about 14 minutes)
#   QUICK=1 benches/load/run.sh    # a smoke run with short durations (about 5 minutes)
#
# Builds the release examples (bench_hello, bench_portal, bench_producer, bench_load),
# installs wrk with apt-get if missing, installs Podium from package-lock.json (npm ci),
# then starts every server on 127.0.0.1 and measures:
#
#   baseline  a bare hyper "hello" server                              (wrk, closed loop)
#   A0        a page of 12 in-process portlets each answering a fixed 1 kB fragment,
#             uncached, beside bare hyper sending that same page as fixed bytes: the
#             ratio of the two rates is the portal's own cost per page  (wrk, closed loop)
#   A         a page of 12 in-process portlets, logged-in user         (wrk, closed loop)
#   B         a page of N = 1, 5, 20 remote fragments: Cartable producer + portal,
#             against @podium/podlet servers + @podium/layout          (wrk, closed loop)
#   C         as B (N = 5) with one fragment taking 500 ms, then also one that hangs;
#             time to first byte from bench_load                       (wrk + bench_load)
#   W         the agenda's superposed week view (issue 16): eleve0 reads 5 agendas of
#             W_EVENTS (2,000) events each; the tab (this week) and the next week's
#             link (W-next)                                                     (wrk, closed loop)
#   D         15,000 sessions, each asking for its home page every 15 s: 1,000 pages/s
#             open loop for 60 s, on SQLite and on PostgreSQL           (bench_load)
#
# The composer under test runs on core $COMPOSER_CPU, the fragment servers and the load
# generator on core $LOAD_CPU (taskset). Peak RSS is VmHWM of the composer's process; CPU
# is the composer's (and the fragment servers') CPU time over the measured period, in % of
# one core. The table goes to stdout and to target/load/results.md; logs and raw outputs
# stay in target/load/. Every server started is killed on exit.
#
# Environment: QUICK=1, DURATION (s, 30), W_EVENTS (2000), WARMUP (s, 5), CONNS (16), D_RATE (1000),
# D_SESSIONS (15000), D_DURATION (60), D_WARMUP (10), DEADLINE_MS (1000), SLOW_MS (500),
# COMPOSER_CPU (0), LOAD_CPU (1), PG_URL (unset: D runs on a throwaway cluster that
# tests/pg/cluster.sh starts on a free loopback port and removes at the end; never 5432),
# PODIUM_FRAGMENTS (node|hyper|both, default both: N=20 is measured with Node podlets
# and with bench_producer --podium), ONLY (e.g. "baseline A0" to run some scenarios; Node
# and Podium are only needed for B and C),
# SKIP_BUILD=1 (use the examples already in target/release/examples), CARTABLE_BENCH_BIN
# (another directory of the four examples, e.g. two builds compared with SKIP_BUILD=1), NICE (-10 as root:
# servers and load generators are not preempted by other work on a shared machine).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LOAD_DIR=$ROOT/benches/load
OUT=$ROOT/target/load
WORK=$OUT/work
BIN=${CARTABLE_BENCH_BIN:-$ROOT/target/release/examples}

QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
    DURATION=${DURATION:-5}; WARMUP=${WARMUP:-2}
    D_DURATION=${D_DURATION:-15}; D_WARMUP=${D_WARMUP:-3}
    TTFB_DURATION=${TTFB_DURATION:-4}
else
    DURATION=${DURATION:-30}; WARMUP=${WARMUP:-5}
    D_DURATION=${D_DURATION:-60}; D_WARMUP=${D_WARMUP:-10}
    TTFB_DURATION=${TTFB_DURATION:-15}
fi
CONNS=${CONNS:-16}
D_RATE=${D_RATE:-1000}
D_SESSIONS=${D_SESSIONS:-15000}
DEADLINE_MS=${DEADLINE_MS:-1000}
SLOW_MS=${SLOW_MS:-500}
COMPOSER_CPU=${COMPOSER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
PG_URL=${PG_URL:-}
PG_CLUSTER_DIR_OURS=""
PG_SCHEMA=bench_load_$$
PODIUM_FRAGMENTS=${PODIUM_FRAGMENTS:-both}
W_EVENTS=${W_EVENTS:-2000}
ONLY=${ONLY:-baseline A0 A W B C D}
# Every measured process runs at this niceness: on a machine shared with builds, a
# negative value (root only) keeps them from being preempted by the builds.
if [[ $(id -u) == 0 ]]; then NICE=${NICE:--10}; else NICE=${NICE:-0}; fi
CLK_TCK=$(getconf CLK_TCK)

log() { printf '[load %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
want() { [[ " $ONLY " == *" $1 "* ]]; }

# ---------------------------------------------------------------------------------------
# Processes: every server is started through `start` and killed on exit.

PIDS=()
PG_USED=0
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    if [[ $PG_USED == 1 ]]; then
        psql "$PG_URL" -qc "DROP SCHEMA IF EXISTS $PG_SCHEMA CASCADE" >/dev/null 2>&1 || true
    fi
    if [[ -n $PG_CLUSTER_DIR_OURS ]]; then
        PG_CLUSTER_DIR=$PG_CLUSTER_DIR_OURS "$ROOT/tests/pg/cluster.sh" stop >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start NAME CPU COMMAND…: run COMMAND pinned to CPU, wait for the URL it prints first on
# stdout; sets URL and PID.
start() {
    local name=$1 cpu=$2
    shift 2
    : >"$WORK/$name.out"
    nice -n "$NICE" taskset -c "$cpu" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    PID=$!
    PIDS+=("$PID")
    local i
    for ((i = 0; i < 1200; i++)); do
        if [[ -s $WORK/$name.out ]]; then
            URL=$(head -n1 "$WORK/$name.out")
            return 0
        fi
        if ! kill -0 "$PID" 2>/dev/null; then
            log "$name died:"; cat "$WORK/$name.err" >&2; exit 1
        fi
        sleep 0.1
    done
    log "$name did not start within 120 s"; exit 1
}

stop() {
    local pid
    for pid in "$@"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}

# CPU ticks (user + system) of a process so far.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# Peak resident set of a process, in MB.
peak_rss() { awk '/^VmHWM:/{printf "%.0f", $2 / 1024}' "/proc/$1/status"; }
# CPU % of one core between two tick counts over SECONDS.
cpu_pct() { awk -v a="$1" -v b="$2" -v s="$3" -v t="$CLK_TCK" 'BEGIN{printf "%.0f", (b - a) / t / s * 100}'; }

# Log eleve0 in through the login form (GET /login, POST /login with the CSRF token);
# prints the session id.
login() {
    local base=$1 jar=$WORK/cookies.txt token
    rm -f "$jar"
    token=$(curl -fsS -c "$jar" "${base}login" | grep -o 'name="_csrf" value="[^"]*"' | head -n1 | sed 's/.*value="//; s/"$//')
    curl -fsS -o /dev/null -b "$jar" -c "$jar" --data-urlencode "_csrf=$token" \
        --data-urlencode login=eleve0 --data-urlencode password=bench-pw "${base}login"
    awk '$6 == "cartable_sid" {print $7}' "$jar"
}

# check URL MARKER COUNT [COOKIE]: the page answers 200 with COUNT times MARKER.
check_page() {
    local url=$1 marker=$2 count=$3 cookie=${4:-} got
    local args=(-sS -o "$WORK/page.html" -w '%{http_code}' --max-time 30)
    [[ -n $cookie ]] && args+=(-H "Cookie: cartable_sid=$cookie")
    local status
    status=$(curl "${args[@]}" "$url")
    got=$({ grep -o "$marker" "$WORK/page.html" || true; } | wc -l)
    if [[ $status != 200 || $got -lt $count ]]; then
        log "unexpected page at $url: status $status, $got × '$marker' (wanted $count)"; exit 1
    fi
}

# wrk in milliseconds: 99.00us, 4.86ms, 1.02s, 1.50m.
to_ms() {
    awk '{v = $1;
        if (v ~ /us$/) { sub(/us$/, "", v); v = v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v) }
        else if (v ~ /m$/) { sub(/m$/, "", v); v = v * 60000 }
        else if (v ~ /s$/) { sub(/s$/, "", v); v = v * 1000 }
        printf "%.2f", v }'
}

# run_wrk NAME URL COOKIE COMPOSER_PID FRAGMENTS_PID: warm up, then measure with wrk at
# $CONNS connections; sets RPS P50 P99 ERRORS CPU_C CPU_F.
run_wrk() {
    local name=$1 url=$2 cookie=$3 cpid=$4 fpid=${5:-}
    local hdr=()
    [[ -n $cookie ]] && hdr=(-H "Cookie: cartable_sid=$cookie")
    nice -n "$NICE" taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${WARMUP}s" --timeout 10s "${hdr[@]}" "$url" >"$WORK/$name.warmup" 2>&1
    local c0 f0 c1 f1
    c0=$(ticks "$cpid"); [[ -n $fpid ]] && f0=$(ticks "$fpid")
    nice -n "$NICE" taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${DURATION}s" --timeout 10s --latency "${hdr[@]}" "$url" >"$WORK/$name.wrk" 2>&1
    c1=$(ticks "$cpid"); [[ -n $fpid ]] && f1=$(ticks "$fpid")
    local f=$WORK/$name.wrk
    RPS=$(awk '/^Requests\/sec:/{printf "%.0f", $2}' "$f")
    P50=$(awk '$1 == "50%" {print $2}' "$f" | to_ms)
    P99=$(awk '$1 == "99%" {print $2}' "$f" | to_ms)
    local non2xx sock
    non2xx=$(awk '/Non-2xx or 3xx responses:/{print $NF}' "$f")
    sock=$(awk -F'[ ,]+' '/Socket errors:/{print $4 + $6 + $8 + $10}' "$f")
    ERRORS=$(( ${non2xx:-0} + ${sock:-0} ))
    CPU_C=$(cpu_pct "$c0" "$c1" "$DURATION")
    CPU_F=—
    [[ -n $fpid ]] && CPU_F=$(cpu_pct "$f0" "$f1" "$DURATION")
    TTFB="—"
    return 0
}

# bench_load output field.
field() { tr ' ' '\n' <<<"$2" | awk -F= -v k="$1" '$1 == k {print $2}'; }

# ttfb NAME URL COOKIE: closed loop with bench_load; sets TTFB "p50 / p99" and adds its
# total latency (µs resolution, where wrk rounds to 10 ms past 1 s) to NOTES.
ttfb() {
    local name=$1 url=$2 cookie=$3 out
    local args=(--url "$url" --connections "$CONNS" --duration "$TTFB_DURATION" --warmup 1 --timeout-ms 10000)
    [[ -n $cookie ]] && args+=(--cookie "$cookie")
    out=$(nice -n "$NICE" taskset -c "$LOAD_CPU" "$BIN/bench_load" "${args[@]}")
    echo "$out" >"$WORK/$name.ttfb"
    TTFB="$(field ttfb_p50_ms "$out") / $(field ttfb_p99_ms "$out")"
    NOTES="${NOTES:+$NOTES; }bench_load total p50 $(field p50_ms "$out"), p99 $(field p99_ms "$out") ms"
}

# ---------------------------------------------------------------------------------------
# Results.

ROWS=()
declare -A M_RPS M_P99 M_RSS M_ERR
# row KEY SCENARIO COMPOSER LOAD RSS NOTES (uses RPS P50 P99 TTFB CPU_C CPU_F ERRORS)
row() {
    local key=$1 scenario=$2 composer=$3 load=$4 rss=$5 notes=${6:-}
    M_RPS[$key]=$RPS; M_P99[$key]=$P99; M_RSS[$key]=$rss; M_ERR[$key]=$ERRORS
    ROWS+=("| $scenario | $composer | $load | $RPS | $P50 | $P99 | $TTFB | $CPU_C / $CPU_F | $rss | $ERRORS | $notes |")
    log "$scenario / $composer: ${RPS} req/s, p50 ${P50} ms, p99 ${P99} ms, TTFB ${TTFB}, CPU ${CPU_C}/${CPU_F} %, RSS ${rss} MB, errors ${ERRORS}"
}

# A0's two rates, their ratio, and the composer's CPU per page in each (µs, from its CPU
# time over the measured period): the difference is the portal's own work per page.
a0_summary() {
    awk -v c="${M_RPS[A0]}" -v h="${M_RPS[A0-hyper]}" -v cc="$A0_CPU" -v hc="$A0_HYPER_CPU" 'BEGIN {
        if (c <= 0 || h <= 0) { print "no rate measured"; exit }
        uc = cc / 100 * 1e6 / c; uh = hc / 100 * 1e6 / h
        printf "Cartable %d pages/s, bare hyper with the same page %d req/s: ratio %.1f× (Cartable at %.1f %% of bare hyper); composer CPU per page %.1f µs against %.1f µs: the portal'"'"'s own ≈ %.1f µs\n",
            c, h, h / c, 100 * c / h, uc, uh, uc - uh }'
}

# ---------------------------------------------------------------------------------------
# Preparation.

mkdir -p "$OUT"
rm -rf "$WORK"
mkdir -p "$WORK"

need_apt() {
    log "installing $1 (apt-get)"
    if [[ $(id -u) == 0 ]]; then
        apt-get install -y -qq "$1" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$1" >/dev/null; }
    else
        sudo apt-get install -y -qq "$1" >/dev/null
    fi
}
command -v wrk >/dev/null || need_apt wrk
command -v taskset >/dev/null || need_apt util-linux
command -v curl >/dev/null || need_apt curl
command -v psql >/dev/null || need_apt postgresql-client
if want B || want C; then
    command -v node >/dev/null || { log "Node.js (20 or later) and npm are needed for the Podium side"; exit 1; }
fi
if (( $(nproc) < 2 )); then
    log "needs 2 cores (composer on one, fragments and load on the other)"; exit 1
fi

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    log "building the release examples"
    (cd "$ROOT" && cargo build --release --quiet \
        --example bench_hello --example bench_portal --example bench_producer --example bench_load)
fi

PODIUM_VERSIONS="Podium not run (neither B nor C)"
if want B || want C; then
    log "installing Podium from package-lock.json"
    (cd "$LOAD_DIR/podium" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    PODIUM_VERSIONS=$(cd "$LOAD_DIR/podium" && node -e '
        const v = (p) => JSON.parse(require("fs").readFileSync(`node_modules/${p}/package.json`)).version;
        console.log(`@podium/layout ${v("@podium/layout")}, @podium/podlet ${v("@podium/podlet")}`)')
    PODIUM_VERSIONS="$PODIUM_VERSIONS on Node $(node --version)"
fi

FRAGMENT=$LOAD_DIR/fragment.html
FRAGMENT_BYTES=$(wc -c <"$FRAGMENT")

# ---------------------------------------------------------------------------------------
# Baseline: bare hyper.

if want baseline; then
    log "baseline: bare hyper hello"
    start hello "$COMPOSER_CPU" "$BIN/bench_hello"
    check_page "$URL" hello 1
    run_wrk hello "$URL" "" "$PID"
    row hello "baseline" "bare hyper" "$CONNS conns" "$(peak_rss "$PID")" "5-byte answer"
    stop "$PID"
fi

# ---------------------------------------------------------------------------------------
# A0: the portal's own cost. The page of A, but each of the 12 in-process portlets answers
# the same fixed 1 kB fragment (benches/load/fragment.html) and nothing is cached: the
# portal composes every page (session, layout, 12 windows under their deadlines, chrome
# and frames, streaming) around portlets that do no work. Then bare hyper sends that same
# page as fixed bytes. The ratio of the two rates is what composing costs per page.

if want A0; then
    log "A0: page of 12 fixed 1 kB fragments (in-process, uncached)"
    start portal-a0 "$COMPOSER_CPU" "$BIN/bench_portal" --data-dir "$WORK/a0" --fixed-fragment "$FRAGMENT"
    SID=$(login "$URL")
    check_page "${URL}page/accueil" 'fragment-title' 12 "$SID"
    cp "$WORK/page.html" "$WORK/a0-page.html"
    run_wrk A0 "${URL}page/accueil" "$SID" "$PID"
    A0_CPU=$CPU_C
    check_page "${URL}page/accueil" 'fragment-title' 12 "$SID"
    row A0 "A0: 12 fixed 1 kB fragments, uncached" "Cartable" "$CONNS conns" "$(peak_rss "$PID")" \
        "$(wc -c <"$WORK/a0-page.html") B page"
    stop "$PID"

    log "A0: the same page as fixed bytes, bare hyper"
    start hello-a0 "$COMPOSER_CPU" "$BIN/bench_hello" --body "$WORK/a0-page.html"
    check_page "$URL" 'fragment-title' 12
    run_wrk A0-hyper "$URL" "" "$PID"
    A0_HYPER_CPU=$CPU_C
    row A0-hyper "A0: the same page as fixed bytes" "bare hyper" "$CONNS conns" "$(peak_rss "$PID")" \
        "$(wc -c <"$WORK/a0-page.html") B answer"
    stop "$PID"
    log "A0: $(a0_summary)"
fi

# ---------------------------------------------------------------------------------------
# A: 12 in-process portlets.

if want A; then
    log "A: page of 12 in-process portlets"
    start portal-a "$COMPOSER_CPU" "$BIN/bench_portal" --data-dir "$WORK/a"
    SID=$(login "$URL")
    check_page "${URL}page/accueil" '<li>Élément' 96 "$SID"
    run_wrk A "${URL}page/accueil" "$SID" "$PID"
    check_page "${URL}page/accueil" '<li>Élément' 96 "$SID"
    row A "A: 12 in-process portlets" "Cartable" "$CONNS conns" "$(peak_rss "$PID")" \
        "$(wc -c <"$WORK/page.html") B page"
    stop "$PID"
fi

# The same page, served as fixed bytes by bare hyper: the ceiling for a page of that
# size, whatever composed it.
if want A && [[ -s $WORK/page.html ]]; then
    cp "$WORK/page.html" "$WORK/a-page.html"
    log "baseline: bare hyper answering A's page"
    start hello-page "$COMPOSER_CPU" "$BIN/bench_hello" --body "$WORK/a-page.html"
    check_page "$URL" '<li>Élément' 96
    run_wrk hello-page "$URL" "" "$PID"
    row hello-page "baseline: A's page as fixed bytes" "bare hyper" "$CONNS conns" "$(peak_rss "$PID")" \
        "$(wc -c <"$WORK/a-page.html") B answer"
    stop "$PID"
fi

# A again, the portlets declaring a per-user expiration cache of 60 s (what a portlet
# whose content does not change from one page to the next declares).
if want A; then
    log "A: page of 12 in-process portlets, fragments cached per user"
    start portal-a-cached "$COMPOSER_CPU" "$BIN/bench_portal" --data-dir "$WORK/a-cached" --cache-secs 60
    SID=$(login "$URL")
    check_page "${URL}page/accueil" '<li>Élément' 96 "$SID"
    run_wrk A-cached "${URL}page/accueil" "$SID" "$PID"
    check_page "${URL}page/accueil" '<li>Élément' 96 "$SID"
    row A-cached "A: 12 in-process portlets, cached 60 s per user" "Cartable" "$CONNS conns" "$(peak_rss "$PID")" \
        "$(wc -c <"$WORK/page.html") B page"
    stop "$PID"
fi

# ---------------------------------------------------------------------------------------
# W: the agenda's week view. The page is the agenda window alone; eleve0 reads 5 agendas
# of W_EVENTS events each over 300 days around today (about 47 a week in each for 2,000,
# some recurring), on SQLite. W is the agenda tab as she opens it (this week, the
# streamed page); W-next the week after, through the link of the view (a page titled
# after its window, sent whole).

if want W; then
    log "W: the agenda's week view over 5 agendas of $W_EVENTS events"
    start portal-w "$COMPOSER_CPU" "$BIN/bench_portal" --data-dir "$WORK/w" --agenda "$W_EVENTS"
    SID=$(login "$URL")
    for w in W W-next; do
        if [[ $w == W ]]; then
            W_URL="${URL}page/agenda"
        else
            W_URL="${URL}page/agenda/agenda?p.view=week&p.date=$(date -u -d '+7 days' +%F)"
        fi
        check_page "$W_URL" 'agenda-week' 1 "$SID"
        W_SHOWN=$({ grep -o 'Cours [0-9]*' "$WORK/page.html" || true; } | wc -l)
        # About 5 × W_EVENTS / 43 events in a week, each named twice (its line and its
        # edit link).
        if [[ $W_SHOWN -lt $((W_EVENTS / 10)) ]]; then
            log "$w: the week view names $W_SHOWN events, expected about $((W_EVENTS * 10 / 43))"; exit 1
        fi
        run_wrk "$w" "$W_URL" "$SID" "$PID"
        row "$w" "$w: agenda week view ($([[ $w == W ]] && echo 'the tab, this week' || echo 'next week, whole page')), 5 agendas × $W_EVENTS events" \
            "Cartable" "$CONNS conns" "$(peak_rss "$PID")" \
            "$((W_SHOWN / 2)) events shown, $(wc -c <"$WORK/page.html") B page"
    done
    stop "$PID"
fi

# ---------------------------------------------------------------------------------------
# B and C: remote fragments, Cartable against Podium.

# How many fragments a page shows once the run is over (a circuit breaker may hide some).
shown_after() {
    local args=(-sS --max-time 30)
    [[ -n $2 ]] && args+=(-H "Cookie: cartable_sid=$2")
    { curl "${args[@]}" "$1" | grep -o fragment-title || true; } | wc -l
}

# cartable KEY SCENARIO N TTFB(0|1) PRODUCER_ARGS… -- PORTAL_ARGS…
cartable() {
    local key=$1 scenario=$2 n=$3 ttfb_too=$4
    shift 4
    local pargs=() cargs=()
    while [[ $# -gt 0 && $1 != -- ]]; do pargs+=("$1"); shift; done
    [[ $# -gt 0 ]] && shift
    cargs=("$@")
    start "$key-producer" "$LOAD_CPU" "$BIN/bench_producer" --count "$n" --fragment "$FRAGMENT" "${pargs[@]}"
    local ppid=$PID purl=$URL
    start "$key-portal" "$COMPOSER_CPU" "$BIN/bench_portal" --data-dir "$WORK/$key" \
        --remote "$purl" --fragments "$n" --timeout-ms "$DEADLINE_MS" "${cargs[@]}"
    local cpid=$PID curl_=$URL
    SID=$(login "$curl_")
    check_page "${curl_}page/accueil" 'fragment-title' "${EXPECT:-$n}" "$SID"
    run_wrk "$key" "${curl_}page/accueil" "$SID" "$cpid" "$ppid"
    [[ $ttfb_too == 1 ]] && ttfb "$key" "${curl_}page/accueil" "$SID"
    local shown
    shown=$(shown_after "${curl_}page/accueil" "$SID")
    row "$key" "$scenario" "Cartable" "$CONNS conns" "$(peak_rss "$cpid")" "${NOTES:+$NOTES; }$shown/$n shown after"
    stop "$cpid" "$ppid"
}

# podium KEY SCENARIO N TTFB(0|1) FRAGMENT_SERVER(node|hyper) FRAGMENT_ARGS…
podium() {
    local key=$1 scenario=$2 n=$3 ttfb_too=$4 kind=$5
    shift 5
    if [[ $kind == node ]]; then
        start "$key-podlets" "$LOAD_CPU" node "$LOAD_DIR/podium/podlet.js" --count "$n" --fragment "$FRAGMENT" "$@"
    else
        start "$key-podlets" "$LOAD_CPU" "$BIN/bench_producer" --podium --count "$n" --fragment "$FRAGMENT" "$@"
    fi
    local ppid=$PID purl=$URL
    start "$key-layout" "$COMPOSER_CPU" node "$LOAD_DIR/podium/layout.js" \
        --podlets "$purl" --count "$n" --timeout "$DEADLINE_MS"
    local cpid=$PID lurl=$URL
    # The first request makes the layout fetch the manifests.
    check_page "$lurl" 'fragment-title' 0
    check_page "$lurl" 'fragment-title' "${EXPECT:-$n}"
    run_wrk "$key" "$lurl" "" "$cpid" "$ppid"
    [[ $ttfb_too == 1 ]] && ttfb "$key" "$lurl" ""
    local label="Podium" shown
    [[ $kind == hyper ]] && label="Podium (hyper podlets)"
    shown=$(shown_after "$lurl" "")
    row "$key" "$scenario" "$label" "$CONNS conns" "$(peak_rss "$cpid")" "${NOTES:+$NOTES; }$shown/$n shown after"
    stop "$cpid" "$ppid"
}

if want B; then
    for n in 1 5 20; do
        log "B: N = $n remote fragments"
        NOTES="" cartable "B$n" "B: $n remote" "$n" 0
        if [[ $PODIUM_FRAGMENTS == node || $PODIUM_FRAGMENTS == both ]]; then
            NOTES="" podium "B$n-podium" "B: $n remote" "$n" 0 node
        fi
        if [[ $PODIUM_FRAGMENTS == hyper || ($PODIUM_FRAGMENTS == both && $n == 20) ]]; then
            NOTES="" podium "B$n-podium-hyper" "B: $n remote" "$n" 0 hyper
        fi
    done
fi

if want C; then
    log "C: N = 5, f0 takes $SLOW_MS ms"
    NOTES="f0 ${SLOW_MS} ms" cartable C1 "C: 5 remote, one slow" 5 1 --delay "f0=$SLOW_MS" --
    NOTES="f0 ${SLOW_MS} ms" podium C1-podium "C: 5 remote, one slow" 5 1 node --delay "f0=$SLOW_MS"
    log "C: N = 5, f0 takes $SLOW_MS ms, f1 hangs"
    EXPECT=4 NOTES="f1 hangs; breaker off" cartable C2 "C: 5 remote, slow + hung" 5 1 \
        --delay "f0=$SLOW_MS" --hang f1 -- --no-breaker
    EXPECT=4 NOTES="f1 hangs" podium C2-podium "C: 5 remote, slow + hung" 5 1 node --delay "f0=$SLOW_MS" --hang f1
    EXPECT=4 NOTES="f1 hangs; breaker on (default: opens after 3 failures, 30 s)" cartable C3 \
        "C: 5 remote, slow + hung" 5 1 --delay "f0=$SLOW_MS" --hang f1 --
fi

# ---------------------------------------------------------------------------------------
# D: 15,000 sessions, 1,000 pages/s open loop.

# scenario_d KEY LABEL STORAGE_ARGS…
scenario_d() {
    local key=$1 label=$2
    shift 2
    start "$key" "$COMPOSER_CPU" "$BIN/bench_portal" --data-dir "$WORK/$key" \
        --users "$D_SESSIONS" --sessions "$D_SESSIONS" --cookies "$WORK/$key.sessions" "$@"
    local cpid=$PID base=$URL
    check_page "${base}page/accueil" '<li>Élément' 96 "$(head -n1 "$WORK/$key.sessions")"
    local c0 c1 out
    c0=$(ticks "$cpid")
    out=$(nice -n "$NICE" taskset -c "$LOAD_CPU" "$BIN/bench_load" --url "${base}page/accueil" \
        --rate "$D_RATE" --duration "$D_DURATION" --warmup "$D_WARMUP" \
        --cookies "$WORK/$key.sessions" --expect '<li>Élément' --timeout-ms 10000 \
        --series "$WORK/$key.series")
    c1=$(ticks "$cpid")
    echo "$out" >"$WORK/$key.load"
    RPS=$(field rps "$out" | awk '{printf "%.0f", $1}')
    P50=$(field p50_ms "$out"); P99=$(field p99_ms "$out")
    ERRORS=$(field errors "$out")
    TTFB="—"
    CPU_C=$(cpu_pct "$c0" "$c1" "$(( D_DURATION + D_WARMUP ))")
    CPU_F=—
    row "$key" "D: $D_SESSIONS sessions, $label" "Cartable" "$D_RATE/s open loop, ${D_DURATION} s" \
        "$(peak_rss "$cpid")" "$(field ok "$out")/$(field requests "$out") served, max $(field max_ms "$out") ms"
    stop "$cpid"
}

if want D; then
    log "D: SQLite"
    scenario_d D-sqlite "SQLite" --storage sqlite
    if [[ -z $PG_URL ]]; then
        # No server given: a throwaway cluster (PostgreSQL installed if missing) on a free
        # loopback port, removed on exit. CARTABLE_TEST_PG_URL would make cluster.sh use
        # that server instead, so it is unset for it.
        PG_CLUSTER_DIR_OURS=$(mktemp -d /tmp/cartable-pg.XXXXXX)
        if env -u CARTABLE_TEST_PG_URL PG_CLUSTER_DIR="$PG_CLUSTER_DIR_OURS" "$ROOT/tests/pg/cluster.sh" start \
            >"$WORK/pg-cluster.log" 2>&1; then
            PG_URL=$(env -u CARTABLE_TEST_PG_URL PG_CLUSTER_DIR="$PG_CLUSTER_DIR_OURS" "$ROOT/tests/pg/cluster.sh" env)
            PG_URL=${PG_URL#export CARTABLE_TEST_PG_URL=}
        else
            log "could not start a throwaway PostgreSQL cluster:"; cat "$WORK/pg-cluster.log" >&2
            PG_URL="(no cluster: see target/load/work/pg-cluster.log)"
        fi
    fi
    log "D: PostgreSQL ($PG_URL, schema $PG_SCHEMA)"
    if psql "$PG_URL" -qtAc 'select 1' >/dev/null 2>&1; then
        PG_USED=1
        scenario_d D-postgres "PostgreSQL" --storage postgres --pg-url "$PG_URL" --pg-schema "$PG_SCHEMA"
        psql "$PG_URL" -qc "DROP SCHEMA IF EXISTS $PG_SCHEMA CASCADE" >/dev/null
        PG_USED=0
    else
        log "no PostgreSQL at $PG_URL: D on PostgreSQL skipped"
        ROWS+=("| D: $D_SESSIONS sessions, PostgreSQL | Cartable | skipped | | | | | | | | no server at $PG_URL |")
    fi
fi

# ---------------------------------------------------------------------------------------
# The table and the targets.

verdict() { if awk "BEGIN{exit !($1)}"; then echo "holds"; else echo "**does not hold**"; fi; }
have() { [[ -n ${M_RPS[$1]:-} ]]; }

{
    echo "## Load scenarios — $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "Machine: $(nproc) cores ($(lscpu | awk -F: '/Model name/{gsub(/^ +/, "", $2); print $2; exit}')), $(free -g | awk '/^Mem:/{print $2}') GiB, $(uname -sr)."
    echo "Command: \`$( [[ $QUICK == 1 ]] && echo 'QUICK=1 ')benches/load/run.sh\` at $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')$( [[ -n $(cd "$ROOT" && git status --porcelain 2>/dev/null | head -n1) ]] && echo ' (uncommitted changes)')."
    echo "Composer on core $COMPOSER_CPU; fragment servers and load generator on core $LOAD_CPU (taskset), all at niceness $NICE; load average $(cut -d' ' -f1-3 /proc/loadavg) at the end."
    echo "Closed loop: wrk -t1 -c$CONNS, ${WARMUP} s warm-up then ${DURATION} s; TTFB: bench_load, $CONNS connections, ${TTFB_DURATION} s."
    echo "D: bench_load open loop, ${D_WARMUP} s warm-up then ${D_DURATION} s, latency from each request's scheduled time."
    echo "Fragments: ${FRAGMENT_BYTES} B of HTML each (benches/load/fragment.html); deadline ${DEADLINE_MS} ms (Cartable \`timeout_ms\`, Podium client \`timeout\`); $PODIUM_VERSIONS."
    echo
    echo "| scenario | composer | load | req/s | p50 ms | p99 ms | TTFB p50 / p99 ms | CPU % composer / fragments | peak RSS MB | errors | notes |"
    echo "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|"
    printf '%s\n' "${ROWS[@]}"
    echo
    echo "### Targets"
    echo
    if have A0 && have A0-hyper; then
        echo "- A0, the portal's own cost per page (no target): $(a0_summary)"
    fi
    if have hello && have A; then
        ratio=$(awk -v a="${M_RPS[A]}" -v h="${M_RPS[hello]}" 'BEGIN{printf "%.1f", 100 * a / h}')
        echo "- A ≥ 40 % of bare hyper's req/s: ${ratio} % — $(verdict "${M_RPS[A]} >= 0.4 * ${M_RPS[hello]}")"
        echo "- A p99 < 5 ms at $CONNS connections: ${M_P99[A]} ms — $(verdict "${M_P99[A]} < 5")"
    fi
    if have hello && have hello-page; then
        ratio=$(awk -v a="${M_RPS[hello-page]}" -v h="${M_RPS[hello]}" 'BEGIN{printf "%.1f", 100 * a / h}')
        echo "- (for scale) bare hyper answering A's page as fixed bytes: ${ratio} % of bare hyper's hello"
    fi
    if have hello && have A-cached; then
        ratio=$(awk -v a="${M_RPS[A-cached]}" -v h="${M_RPS[hello]}" 'BEGIN{printf "%.1f", 100 * a / h}')
        echo "- A with fragments cached per user: ${ratio} % of bare hyper's req/s — $(verdict "${M_RPS[A-cached]} >= 0.4 * ${M_RPS[hello]}"); p99 ${M_P99[A-cached]} ms — $(verdict "${M_P99[A-cached]} < 5")"
    fi
    for k in W W-next; do
        have "$k" || continue
        echo "- $k, the agenda's week view (5 agendas × $W_EVENTS events), p99 < 5 ms at $CONNS connections: ${M_P99[$k]} ms — $(verdict "${M_P99[$k]} < 5")"
    done
    for n in 1 5 20; do
        have "B$n" || continue
        best=""; bestp99=""
        for k in "B$n-podium" "B$n-podium-hyper"; do
            have "$k" || continue
            if [[ -z $best ]] || awk "BEGIN{exit !(${M_RPS[$k]} > $best)}"; then
                best=${M_RPS[$k]}; bestp99=${M_P99[$k]}
            fi
        done
        [[ -z $best ]] && continue
        x=$(awk -v a="${M_RPS[B$n]}" -v b="$best" 'BEGIN{printf "%.1f", a / b}')
        echo "- B N=$n ≥ 5× Podium's req/s (best Podium row): ${x}× — $(verdict "${M_RPS[B$n]} >= 5 * $best"); p99 ${M_P99[B$n]} ms vs ${bestp99} ms — $(verdict "${M_P99[B$n]} < $bestp99")"
    done
    if have C1; then
        lim=$(awk -v s="$SLOW_MS" 'BEGIN{print 1.1 * s + 5}')
        echo "- C slow fragment: p99 ≤ 1.1 × ${SLOW_MS} + 5 = ${lim} ms: ${M_P99[C1]} ms — $(verdict "${M_P99[C1]} <= $lim")"
    fi
    if have C2; then
        lim=$(awk -v s="$DEADLINE_MS" 'BEGIN{print 1.1 * s + 5}')
        echo "- C hung fragment bounded by the ${DEADLINE_MS} ms deadline: p99 ≤ ${lim} ms: ${M_P99[C2]} ms — $(verdict "${M_P99[C2]} <= $lim")"
    fi
    for k in D-sqlite D-postgres; do
        have "$k" || continue
        echo "- $k: every page served (errors ${M_ERR[$k]}) — $(verdict "${M_ERR[$k]} == 0"); p99 < 50 ms: ${M_P99[$k]} ms — $(verdict "${M_P99[$k]} < 50"); RSS < 300 MB: ${M_RSS[$k]} MB — $(verdict "${M_RSS[$k]} < 300")"
    done
} >"$OUT/results.md"

cat "$OUT/results.md"
log "written to target/load/results.md (raw outputs in target/load/work/)"
