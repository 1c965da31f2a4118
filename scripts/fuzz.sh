#!/usr/bin/env bash
# Fuzz the parsers that read outside input, each target for a bounded time, one after
# the other, and report. Not part of scripts/test.sh: run it by hand or from a nightly job.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# SECONDS_PER_TARGET (or FUZZ_SECONDS) defaults to 60; TARGETs default to all of them
# (`cargo fuzz list`). FUZZ_SANITIZER picks the sanitizer (default `none`: the code under
# test is safe Rust, and ASan halves the speed; `address` works too). The targets, what
# they check and what was found are in docs/fuzzing.md.
#
# Crashes land in fuzz/artifacts/<target>/; reproduce one with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run -s none -a <target> fuzz/artifacts/<target>/crash-…
# and minimize it with `cargo fuzz tmin -s none -a <target> <crash>` (from fuzz/).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds="${1:-${FUZZ_SECONDS:-60}}"
shift $(( $# > 0 ? 1 : 0 ))
sanitizer="${FUZZ_SANITIZER:-none}"
case "$seconds" in
    '' | *[!0-9]*) echo "seconds per target must be a number, not '$seconds'" >&2; exit 2 ;;
esac

# cargo fuzz builds with nightly-only flags (-Zsanitizer, the sancov passes of
# -Cllvm-args, `cargo build -Z…`). Only a stable toolchain is installed here, and none
# can be fetched: RUSTC_BOOTSTRAP=1 lets the stable compiler and cargo accept those flags.
# It applies to this script's builds only (into fuzz/target), never to the workspace's.
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo fuzz list)
fi

# -a: debug assertions on (integer overflow panics, debug_assert!s): findings, not noise.
flags=(-s "$sanitizer" -a)
echo "== building ${#targets[@]} fuzz targets (sanitizer: $sanitizer)"
cargo fuzz build "${flags[@]}"

mkdir -p artifacts
results=()
failed=0
for target in "${targets[@]}"; do
    # The committed seeds (seeds/<target>) are read; what the fuzzer finds grows
    # corpus/<target> (not committed), kept from one run to the next.
    mkdir -p "corpus/$target" "seeds/$target" "artifacts/$target"
    log="artifacts/$target.log"
    echo "== $target: ${seconds}s (log: fuzz/$log)"
    start=$(date +%s)
    status=ok
    # -timeout: an input that takes over 10 s is a hang, reported like a crash.
    # -rss_limit_mb: so does one that needs over 2 GiB.
    if ! cargo fuzz run "${flags[@]}" "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 >"$log" 2>&1; then
        status=FAILED
        failed=1
    fi
    elapsed=$(( $(date +%s) - start ))
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
    corpus=$(find "corpus/$target" -type f | wc -l)
    crash=$(grep -o "artifacts/$target/[a-z-]*-[0-9a-f]*" "$log" | head -n 1 || true)
    results+=("$(printf '%-16s %-7s %5ss %10s runs %6s corpus  %s' \
        "$target" "$status" "$elapsed" "${runs:-?}" "$corpus" "${crash:+fuzz/$crash}")")
    if [ "$status" != ok ]; then
        tail -n 30 "$log" >&2
    fi
done

echo
echo "== fuzzing report ($(date -u +%Y-%m-%dT%H:%MZ), ${seconds}s per target)"
printf '%s\n' "${results[@]}"
exit "$failed"
