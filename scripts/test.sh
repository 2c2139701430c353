#!/usr/bin/env bash
# Every check and test of the workspace: formatting, lints, docs, packaging, both crypto
# backends and the provider-, Redis- and browser-backed integration tests. Checks the
# prerequisites first (scripts/prerequisites.sh: Rust, a C compiler, Node.js >= 20.19 with
# npm, redis-server, chromium, chromedriver), installs the provider's npm packages itself,
# and says how to install anything else missing before building anything.
set -euo pipefail
cd "$(dirname "$0")/.."

# One feature set for every workspace-wide step (lints, docs, benches, tests), so that they
# share one build: the defaults plus the web frameworks' Redis store, whose tests need it.
WORKSPACE_FEATURES=(--features logto-axum/redis,logto-actix/redis)
# The pure-Rust build: every crate that can build with no C compiler (the web frameworks on
# their default transport), checked with none.
PURE_RUST=(-p logto-proto -p logto-store -p logto-driver -p logto-ureq -p logto-reqwest -p logto-redis -p logto-web -p logto-axum -p logto-actix
  --no-default-features --features rustcrypto,logto-axum/reqwest,logto-actix/reqwest)

step() { printf '\n==> %s  (%ss so far)\n' "$*" "$SECONDS"; }

step "prerequisites"
./scripts/prerequisites.sh test

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets "${WORKSPACE_FEATURES[@]}" -- -D warnings
# Default features off: the rustcrypto backend, and no C compiler at all (CC=false makes any
# build script that compiles C fail). logto-axum with its default transport.
CC=false CXX=false cargo clippy "${PURE_RUST[@]}" -- -D warnings
# The same crates' tests, benches and examples with default features off (their
# dev-dependencies sign test tokens with aws-lc-rs, so a C compiler is allowed here), and
# the web frameworks' with their defaults (no Redis).
cargo clippy -p logto-proto -p logto-store -p logto-driver -p logto-ureq -p logto-reqwest -p logto-redis \
  --no-default-features --features rustcrypto --all-targets -- -D warnings
cargo clippy -p logto-axum -p logto-actix --all-targets -- -D warnings
# curl is C: logto-isahc, and logto-axum on it instead of the default transport.
cargo clippy -p logto-isahc -p logto-axum --no-default-features --features rustcrypto,logto-axum/isahc --all-targets -- -D warnings
# logto-redis's two sides, each alone (its tests need both).
for side in blocking tokio; do
  cargo clippy -p logto-redis --no-default-features --features "aws-lc,$side" -- -D warnings
done

step "dependency shape: stores depend on no HTTP client, the blocking client on no Redis, the web frameworks on no C HTTP library nor Redis, one crypto library per build, a pure-Rust build with no C"
if cargo tree -p logto-store -p logto-redis -e normal | grep -E '(ureq|isahc|curl|reqwest|hyper)' ; then
  echo "a store depends on an HTTP client (above)"; exit 1
fi
if cargo tree -p logto-ureq -e normal | grep -E 'redis' ; then
  echo "logto-ureq depends on Redis (above)"; exit 1
fi
for crate in logto-axum logto-actix; do
  if cargo tree -p "$crate" -e normal | grep -E '(isahc|curl|nghttp2|libz-sys|redis)' ; then
    echo "$crate with default features builds a C HTTP library, a second HTTP stack or Redis (above)"; exit 1
  fi
done
# One crypto library per build: aws-lc-rs serves both TLS and signatures, never beside ring.
for crate in logto-ureq logto-reqwest logto-axum logto-actix; do
  libs="$(cargo tree -p "$crate" -e normal --prefix none | grep -oE '^(ring|aws-lc-sys) ' | sort -u | tr -d ' ' | paste -sd' ')"
  [ "$libs" = "aws-lc-sys" ] || { echo "$crate builds crypto libraries '$libs', expected aws-lc-sys alone"; exit 1; }
done
if cargo tree "${PURE_RUST[@]}" -e normal,build --prefix none | grep -E '^(ring|aws-lc-sys|aws-lc-rs|cc|cmake) '; then
  echo "the rustcrypto build depends on C code or a C build tool (above)"; exit 1
fi

step "cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps "${WORKSPACE_FEATURES[@]}"

step "cargo package (every publishable crate, packaged together so path dependencies resolve)"
# Cargo verifies each package against a temporary registry of the others. It takes a
# registry crate of a given name and version to be immutable: it unpacks it under
# CARGO_HOME once and never again, and reuses what it compiled of it. So that the
# verification builds what was just packaged, this workspace's unpacked copies go first (no
# registry has these crates), and the verification builds in a target directory of its own,
# emptied each time (about two minutes on 2 cores).
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)"
rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/logto-{proto,store,driver,ureq,isahc,reqwest,web,axum,actix,redis}-"$version"
rm -rf target/package-verify
CARGO_TARGET_DIR=target/package-verify \
    cargo package --workspace --exclude logto-integration --allow-dirty

step "benchmarks compile"
# In the test profile, on the dependencies the tests build anyway: a bench that compiles and
# links here builds under `cargo bench` too, without a second, optimised build of the
# workspace in CI.
cargo build --workspace --benches "${WORKSPACE_FEATURES[@]}"

step "tests: aws-lc backend (default), whole workspace"
cargo test --workspace "${WORKSPACE_FEATURES[@]}" 2>&1 | tee target/test-aws-lc.log

step "tests: rustcrypto backend: logto-proto, and logto-ureq against the provider with no C compiler"
# logto-proto's tests sign their tokens with aws-lc-rs (a dev-dependency), so only the
# client's build goes without a C compiler.
cargo test -p logto-proto --no-default-features --features rustcrypto 2>&1 | tee target/test-rustcrypto.log
CC=false CXX=false cargo test -p logto-ureq --no-default-features --features rustcrypto 2>&1 | tee -a target/test-rustcrypto.log
# logto-reqwest's own tests there (its provider tests need a process-default TLS provider).
CC=false CXX=false cargo test -p logto-reqwest --lib --no-default-features --features rustcrypto 2>&1 | tee -a target/test-rustcrypto.log

summary() {
  # Totals over every `test result:` line; provider-backed = the binaries that start the
  # provider or redis-server (logto-integration's tests, the browser ones included, the
  # adapters' tests/provider.rs, and the tests/redis.rs of logto-redis and logto-axum).
  awk '
    /Doc-tests/ { provider = 0 }
    /Running / { provider = ($0 ~ /tests\/(provider|provider_selftest|proto_flows|browser_e2e|redis|api|api_examples|sample_outage|std_net|native_flows)\.rs/) }
    /^test result:/ {
      match($0, /[0-9]+ passed/); p = substr($0, RSTART, RLENGTH) + 0
      match($0, /[0-9]+ failed/); f = substr($0, RSTART, RLENGTH) + 0
      passed += p; failed += f; if (provider) prov += p
    }
    END { printf "\nprovider- or Redis-backed tests passed: %d\n%d passed, %d failed\n", prov, passed, failed }
  ' "$@"
}
summary target/test-aws-lc.log target/test-rustcrypto.log
