#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: format, lints, unit, integration and
# doc tests. Later suites (LDAP on slapd, PostgreSQL, browser) install and start what
# they need from here.
set -euo pipefail
cd "$(dirname "$0")/.."

# A full run's target/ takes about 21 GB without incremental caches (27 with them): say so
# at once rather than fail half an hour in with "No space left on device".
free_gb=$(df -P -BG "${CARGO_TARGET_DIR:-.}" 2>/dev/null | awk 'NR==2 {sub("G", "", $4); print $4}')
if [ -n "$free_gb" ] && [ "$free_gb" -lt 30 ]; then
  echo "warning: ${free_gb} GB free where target/ is built; a full run needs about 25 GB" >&2
fi

echo "== cargo fmt"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo doc (every public item's documentation, its links resolved)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked
echo "== cargo build -p cartable --no-default-features (a portal on the embedded defaults alone)"
cargo build -p cartable --no-default-features --locked
echo "== cargo build -p cartable --no-default-features --all-targets (tests and examples needing a feature are skipped, not broken)"
cargo build -p cartable --no-default-features --all-targets --locked
tree=$(cargo tree -p cartable --no-default-features -e normal --locked)
if grep -E ' (sqlx-postgres|ldap3|lettre) ' <<<"$tree"; then
    echo "the embedded defaults pull in a backend (above)"; exit 1
fi
# Cleanup at exit: each section that starts something appends a command to
# cleanup_steps (do not call `trap ... EXIT` again, it would replace this one).
cleanup_steps=()
cleanup() {
    local step
    for step in "${cleanup_steps[@]}"; do
        eval "$step" || true
    done
}
trap cleanup EXIT

# N distinct free TCP ports on 127.0.0.1, one a line: asked from the kernel (python3),
# else found by probing. The servers below listen on such ports, never on fixed ones, so
# two runs on one machine (or a server started by hand) do not collide.
free_ports() {
    if command -v python3 >/dev/null 2>&1 && python3 -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
for s in socks:
    print(s.getsockname()[1])' "$1" 2>/dev/null; then
        return 0
    fi
    local found=" " port
    while [ "$(echo $found | wc -w)" -lt "$1" ]; do
        port=$((20000 + RANDOM % 30000))
        case "$found" in *" $port "*) continue ;; esac
        # Connection refused: nobody listens there.
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { found="$found$port "; echo "$port"; }
    done
}

# xmllint (libxml2-utils): tests/indicators.rs validates the indicators' XML export
# against docs/indicators.xsd with it (the test skips, loudly, without it).
if ! command -v xmllint >/dev/null 2>&1; then
    echo "== installing xmllint (libxml2-utils, apt)"
    apt=(env DEBIAN_FRONTEND=noninteractive apt-get)
    [ "$(id -u)" = 0 ] || apt=(sudo "${apt[@]}")
    "${apt[@]}" install -y -q --no-install-recommends libxml2-utils \
        || { "${apt[@]}" update -q && "${apt[@]}" install -y -q --no-install-recommends libxml2-utils; }
fi

# bookmarks-parser (PyPI; BeautifulSoup over html5lib): an independent reader of the
# signets' bookmark export (crates/services/cartable-signets/tests/independent_parser.rs,
# which skips, loudly, without it). Installed in a virtual environment under target/.
bookmarks_venv="$PWD/target/py-bookmarks"
if ! "$bookmarks_venv/bin/python" -c 'import bookmarks_parser' >/dev/null 2>&1; then
    echo "== installing bookmarks-parser (PyPI, in $bookmarks_venv)"
    if ! python3 -m venv "$bookmarks_venv"; then
        apt=(env DEBIAN_FRONTEND=noninteractive apt-get)
        [ "$(id -u)" = 0 ] || apt=(sudo "${apt[@]}")
        "${apt[@]}" install -y -q --no-install-recommends python3-venv \
            || { "${apt[@]}" update -q && "${apt[@]}" install -y -q --no-install-recommends python3-venv; }
        python3 -m venv "$bookmarks_venv"
    fi
    "$bookmarks_venv/bin/pip" install -q 'bookmarks-parser==0.1.3'
fi
export CARTABLE_TEST_BOOKMARKS_PYTHON="$bookmarks_venv/bin/python"

# vobject and vdirsyncer (PyPI): an independent reader of the carnet d'adresses' vCard
# exports (crates/services/cartable-carnet/tests/independent_parser.rs) and a real
# CardDAV client that syncs the carnet both ways (tests/carddav.rs); both tests skip,
# loudly, without them. Installed in a virtual environment under target/.
carnet_venv="$PWD/target/py-carnet"
if ! "$carnet_venv/bin/python" -c 'import vobject' >/dev/null 2>&1 \
    || ! "$carnet_venv/bin/vdirsyncer" --version >/dev/null 2>&1; then
    echo "== installing vobject and vdirsyncer (PyPI, in $carnet_venv)"
    if ! python3 -m venv "$carnet_venv"; then
        apt=(env DEBIAN_FRONTEND=noninteractive apt-get)
        [ "$(id -u)" = 0 ] || apt=(sudo "${apt[@]}")
        "${apt[@]}" install -y -q --no-install-recommends python3-venv \
            || { "${apt[@]}" update -q && "${apt[@]}" install -y -q --no-install-recommends python3-venv; }
        python3 -m venv "$carnet_venv"
    fi
    "$carnet_venv/bin/pip" install -q 'vobject==0.9.9' 'vdirsyncer==0.21.0'
fi
export CARTABLE_TEST_VOBJECT_PYTHON="$carnet_venv/bin/python"
export CARTABLE_TEST_VDIRSYNCER="$carnet_venv/bin/vdirsyncer"

# caldav and icalendar (PyPI): a CalDAV client and an iCalendar parser the project did
# not write, for the agenda (tests/agenda_clients.rs syncs both ways through /dav and
# parses the .ics export; it skips, loudly, without them). Their own virtual environment.
dav_venv="$PWD/target/py-dav"
if ! "$dav_venv/bin/python" -c 'import caldav, icalendar' >/dev/null 2>&1; then
    echo "== installing caldav and icalendar (PyPI, in $dav_venv)"
    python3 -m venv "$dav_venv"
    "$dav_venv/bin/pip" install -q 'caldav==1.4.0' 'icalendar==6.1.3'
fi
export CARTABLE_TEST_DAV_PYTHON="$dav_venv/bin/python"

if [ -z "${SLAPD_PORT:-}" ]; then
    read -r SLAPD_PORT SLAPD_TLS_PORT <<<"$(free_ports 2 | tr '\n' ' ')"
    export SLAPD_PORT SLAPD_TLS_PORT
fi
echo "== slapd (OpenLDAP test directory for cartable-ldap, on 127.0.0.1:$SLAPD_PORT)"
cleanup_steps+=("tests/ldap/slapd.sh stop")
tests/ldap/slapd.sh start
# Exports CARTABLE_TEST_LDAP_URL, _BIND_DN, _BIND_PASSWORD, _BASE, _CA_FILE and
# CARTABLE_TEST_LDAPS_URL (the last two when openssl made the test certificates).
eval "$(tests/ldap/slapd.sh env)"

echo "== PostgreSQL (cartable-postgres, cartable-mail and the several-nodes tests; a schema per test)"
if [ "${CARTABLE_TEST_PG:-}" = skip ]; then
    echo "CARTABLE_TEST_PG=skip: the PostgreSQL tests are skipped"
else
    # A throwaway cluster (PostgreSQL installed if missing) on a free loopback port, in a
    # directory of this run; with CARTABLE_TEST_PG_URL set, that server is used instead.
    PG_CLUSTER_DIR="$(mktemp -d /tmp/cartable-pg.XXXXXX)"
    export PG_CLUSTER_DIR
    cleanup_steps+=("tests/pg/cluster.sh stop")
    tests/pg/cluster.sh start
    # Exports CARTABLE_TEST_PG_URL (postgres://postgres@127.0.0.1:PORT/test).
    eval "$(tests/pg/cluster.sh env)"
fi

echo "== cargo build --examples (tests start the lycée demo and a remote producer as processes)"
# `cargo test --all-targets` builds examples as test harnesses only, not as the programs
# under target/debug/examples/ that tests/common/process.rs starts.
cargo build --workspace --examples --locked
echo "== cargo test (unit, integration, benches in test mode)"
cargo test --workspace --all-targets --locked
echo "== cargo test --doc"
cargo test --workspace --doc --locked
echo "== cartable new-service demo-service (a generated service crate passes its own tests)"
# The generated crate is a workspace member while it exists, so Cargo.lock gains its own
# entry, which --locked refuses: its tests run without --locked. Cargo.lock is copied
# first and put back after (also on failure, from cleanup_steps; a copy rather than
# `git checkout`, which would drop uncommitted changes of a working tree), and the lock
# cargo wrote is compared with the copy: nothing may differ but the crate's own entry (it
# uses workspace dependencies only).
demo_service_dir=crates/services/cartable-demo-service
if [ -e "$demo_service_dir" ]; then
    echo "$demo_service_dir exists (left by an earlier run?): remove it and run again"; exit 1
fi
demo_service_lock="$(mktemp /tmp/cartable-lock.XXXXXX)"
cp Cargo.lock "$demo_service_lock"
cleanup_steps+=("if [ -e '$demo_service_lock' ]; then rm -rf '$demo_service_dir'; cp '$demo_service_lock' Cargo.lock; rm -f '$demo_service_lock'; fi")
cargo run -q -p cartable-cli --locked -- new-service demo-service
cargo test -p cartable-demo-service
# Cargo.lock's packages, one paragraph each, without the generated crate's.
lock_without_demo() { awk 'BEGIN { RS = ""; ORS = "\n\n" } !/\nname = "cartable-demo-service"\n/' "$1"; }
if ! cmp -s <(lock_without_demo Cargo.lock) <(lock_without_demo "$demo_service_lock"); then
    diff <(lock_without_demo "$demo_service_lock") <(lock_without_demo Cargo.lock) || true
    echo "the generated crate changed Cargo.lock beyond its own entry (above)"; exit 1
fi
rm -rf "$demo_service_dir"
cp "$demo_service_lock" Cargo.lock
rm -f "$demo_service_lock"
echo "== browser tests (chromium + playwright-core + axe-core: tests/browser)"
# Installs chromium if missing, builds the examples in release, npm ci, starts the lycée
# demo and the browser fixture on loopback, runs the suite, stops them (its own trap).
CARTABLE_BROWSER_PROFILE="${CARTABLE_BROWSER_PROFILE:-dev}" tests/browser/run.sh
echo "== all tests passed"
