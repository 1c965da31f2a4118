#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: format, lints, unit, integration and
# doc tests. Later suites (LDAP on slapd, PostgreSQL, browser) install and start what
# they need from here.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
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

echo "== slapd (OpenLDAP test directory for cartable-ldap, on 127.0.0.1:${SLAPD_PORT:-3890})"
export SLAPD_PORT="${SLAPD_PORT:-3890}"
cleanup_steps+=("tests/ldap/slapd.sh stop")
tests/ldap/slapd.sh start
# Exports CARTABLE_TEST_LDAP_URL, _BIND_DN, _BIND_PASSWORD, _BASE, _CA_FILE and
# CARTABLE_TEST_LDAPS_URL (the last two when openssl made the test certificates).
eval "$(tests/ldap/slapd.sh env)"

echo "== PostgreSQL (cartable-postgres and the several-nodes tests; a schema per test)"
export CARTABLE_TEST_PG_URL="${CARTABLE_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}"
if [ "${CARTABLE_TEST_PG:-}" = skip ]; then
    echo "CARTABLE_TEST_PG=skip: the PostgreSQL tests are skipped"
else
    tests/pg/ready.sh "$CARTABLE_TEST_PG_URL"
fi

echo "== cargo build --examples (tests start the lycée demo and a remote producer as processes)"
# `cargo test --all-targets` builds examples as test harnesses only, not as the programs
# under target/debug/examples/ that tests/common/process.rs starts.
cargo build --workspace --examples --locked
echo "== cargo test (unit, integration, benches in test mode)"
cargo test --workspace --all-targets --locked
echo "== cargo test --doc"
cargo test --workspace --doc --locked
echo "== browser tests (chromium + playwright-core + axe-core: tests/browser)"
# Installs chromium if missing, builds the examples in release, npm ci, starts the lycée
# demo and the browser fixture on loopback, runs the suite, stops them (its own trap).
CARTABLE_BROWSER_PROFILE="${CARTABLE_BROWSER_PROFILE:-dev}" tests/browser/run.sh
echo "== all tests passed"
