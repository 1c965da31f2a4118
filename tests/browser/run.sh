#!/usr/bin/env bash
# The browser suite (called by scripts/test.sh, or alone): installs Debian's chromium if
# missing, builds the lycée demo and the browser fixture (examples/), installs the
# suite's npm packages from the lock file, starts both portals on loopback ports the
# system picks, with throwaway data directories, runs suite.test.mjs against them, and
# always stops them.
set -euo pipefail
cd "$(dirname "$0")/../.."
begin=$SECONDS

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

if ! command -v chromium >/dev/null || ! command -v curl >/dev/null; then
    echo "-- installing chromium and curl (apt)"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium curl
fi
chromium --version 2>/dev/null || true

# The examples are built in release, as the README runs the demo. CARTABLE_BROWSER_PROFILE=dev
# uses the debug build instead, which `cargo test --all-targets` has already made.
case "${CARTABLE_BROWSER_PROFILE:-release}" in
    release) profile_flag=(--release) bin_dir="${CARGO_TARGET_DIR:-target}/release/examples" ;;
    dev) profile_flag=() bin_dir="${CARGO_TARGET_DIR:-target}/debug/examples" ;;
    *) echo "CARTABLE_BROWSER_PROFILE must be release or dev" >&2; exit 2 ;;
esac
echo "-- building the examples (${CARTABLE_BROWSER_PROFILE:-release})"
cargo build "${profile_flag[@]}" --locked --example lycee --example browser_fixture

echo "-- npm ci (tests/browser)"
(cd tests/browser && npm ci --no-audit --no-fund)

work="$(mktemp -d "${TMPDIR:-/tmp}/cartable-browser.XXXXXX")"
pids=()
stop() {
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap stop EXIT
trap 'exit 130' INT TERM

# start NAME: runs the example NAME on 127.0.0.1, port 0 (the system picks a free one),
# and sets URL to the address it prints once listening.
start() {
    local name="$1" log="$work/$1.log" i
    mkdir -p "$work/$name-data"
    CARTABLE_LISTEN=127.0.0.1:0 CARTABLE_DATA_DIR="$work/$name-data" RUST_LOG=warn \
        "$bin_dir/$name" >"$log" 2>&1 &
    pids+=("$!")
    URL=""
    for i in $(seq 1 300); do
        URL="$(grep -o -m1 'http://127\.0\.0\.1:[0-9]*' "$log" || true)"
        if [ -n "$URL" ] && curl -fs -o /dev/null "$URL/login"; then
            echo "-- $name on $URL"
            return 0
        fi
        if ! kill -0 "${pids[-1]}" 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    echo "$name did not answer within 30 s; its log:" >&2
    cat "$log" >&2
    return 1
}

start lycee
export CARTABLE_LYCEE_URL="$URL"
start browser_fixture
export CARTABLE_FIXTURE_URL="$URL"

echo "-- suite"
# Playwright's fresh browser profile goes under $work too.
export TMPDIR="$work" CHROMIUM="${CHROMIUM:-$(command -v chromium)}"
started=$SECONDS
status=0
(cd tests/browser && node --test --test-reporter=spec suite.test.mjs) || status=$?
echo "-- browser suite: $((SECONDS - started)) s (with install, build and start: $((SECONDS - begin)) s)"
if [ "$status" != 0 ]; then
    echo "-- server logs" >&2
    tail -n 40 "$work"/*.log >&2 || true
fi
exit "$status"
