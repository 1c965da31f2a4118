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
echo "== cargo test (unit, integration, benches in test mode)"
cargo test --workspace --all-targets --locked
echo "== cargo test --doc"
cargo test --workspace --doc --locked
echo "== all tests passed"
