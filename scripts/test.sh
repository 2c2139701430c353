#!/usr/bin/env bash
# Every check and test of the workspace: formatting, lints, docs, both crypto backends and
# the provider-backed integration tests. Needs Node.js 20 and `npm ci --prefix tests/provider`
# (the integration tests fail with a message saying so when the provider cannot start).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy -p logto-proto --no-default-features --features rustcrypto --all-targets -- -D warnings

step "cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps

step "tests: aws-lc backend (default), whole workspace"
cargo test --workspace 2>&1 | tee target/test-aws-lc.log

step "tests: rustcrypto backend, logto-proto"
cargo test -p logto-proto --no-default-features --features rustcrypto 2>&1 | tee target/test-rustcrypto.log

passed=$(cat target/test-aws-lc.log target/test-rustcrypto.log | grep -E '^test result:' | sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed.*/\1/' | paste -sd+ | bc)
failed=$(cat target/test-aws-lc.log target/test-rustcrypto.log | grep -E '^test result:' | sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed.*/\2/' | paste -sd+ | bc)
provider=$(grep -E '^test result:' -B0 target/test-aws-lc.log >/dev/null; grep -cE '^test .*(provider|integration).* ok$' target/test-aws-lc.log || true)
printf '\nprovider-backed tests passed: %s\n' "$provider"
printf '%s passed, %s failed\n' "$passed" "$failed"
