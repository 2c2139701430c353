#!/usr/bin/env bash
# Fuzzes every untrusted input of logto-proto with cargo-fuzz (libFuzzer + ASan).
#
#   fuzz/run.sh [SECONDS_PER_TARGET]      (default 30)
#
# Env: FUZZ_TARGETS="a b" to run only some targets; FUZZ_SANITIZER=none to build without
# ASan (faster build, no memory-error detection; the core is #![forbid(unsafe_code)]).
# Exits non-zero if any target crashes (the artifact path is printed).
set -euo pipefail

SECS="${1:-30}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "run.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

# Toolchain: a nightly if rustup has one, else stable with RUSTC_BOOTSTRAP=1 (cargo-fuzz
# passes -Zsanitizer=address etc.; the ASan runtime ships with stable rustc too).
# FUZZ_TOOLCHAIN=stable forces the second route (its build goes to target/stable so the two
# routes do not invalidate each other's cache).
TC=()
DIR=()
if [ "${FUZZ_TOOLCHAIN:-}" != stable ] && command -v rustup >/dev/null 2>&1 \
    && rustup toolchain list | grep -q '^nightly'; then
    TC=(+nightly)
    echo "run.sh: toolchain nightly" >&2
else
    export RUSTC_BOOTSTRAP=1
    DIR=(--target-dir target/stable)
    if command -v rustup >/dev/null 2>&1 && rustup toolchain list | grep -q '^stable'; then
        TC=(+stable)
    fi
    echo "run.sh: toolchain $(rustc --version) with RUSTC_BOOTSTRAP=1" >&2
fi

SAN=(-s "${FUZZ_SANITIZER:-address}")
TARGETS="${FUZZ_TARGETS:-$(cargo "${TC[@]}" fuzz list)}"

start=$(date +%s)
cargo "${TC[@]}" fuzz build --release "${SAN[@]}" "${DIR[@]}"
echo "run.sh: build took $(( $(date +%s) - start ))s" >&2

failed=()
for t in $TARGETS; do
    mkdir -p "corpus/$t" "artifacts/$t"
    # Committed seeds live in corpus/seed-<target>/ (the working corpus is git-ignored).
    if [ -d "corpus/seed-$t" ]; then
        cp -n "corpus/seed-$t"/* "corpus/$t/" 2>/dev/null || true
    fi
    log="artifacts/$t/run.log"
    echo "=== $t (${SECS}s)" >&2
    if cargo "${TC[@]}" fuzz run --release "${SAN[@]}" "${DIR[@]}" "$t" "corpus/$t" -- \
        -max_total_time="$SECS" -dict=dict/json_jwt.dict -rss_limit_mb=2048 \
        -print_final_stats=1 >"$log" 2>&1; then
        execs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
        rate=$(grep -m1 'stat::average_exec_per_sec' "$log" | awk '{print $2}')
        echo "    ok: ${execs:-?} execs, ${rate:-?} exec/s, corpus $(ls "corpus/$t" | wc -l) files" >&2
    else
        failed+=("$t")
        echo "    CRASH in $t; log: fuzz/$log" >&2
        grep -E 'Test unit written to|panicked at|ERROR: AddressSanitizer' "$log" >&2 || tail -20 "$log" >&2
    fi
done

echo "run.sh: total $(( $(date +%s) - start ))s" >&2
if [ ${#failed[@]} -ne 0 ]; then
    echo "run.sh: FAILED targets: ${failed[*]}" >&2
    exit 1
fi
echo "run.sh: all targets ok" >&2
