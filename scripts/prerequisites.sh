#!/usr/bin/env bash
# What the test command (scripts/test.sh) and the demo (scripts/demo.sh) need, checked
# before anything is built. It installs what it can itself (the provider's npm packages)
# and, for anything else missing, says how to install it on Debian and stops.
#
#   scripts/prerequisites.sh test    # everything the tests need
#   scripts/prerequisites.sh demo    # the demo with the local provider
#   scripts/prerequisites.sh tenant  # the demo against a Logto tenant (Rust only)
# Node.js is looked for as $NODE, else `node` on PATH (as the test harness does).
set -euo pipefail
cd "$(dirname "$0")/.."

purpose="${1:?usage: $0 test|demo|tenant}"
missing=()
# Install hints say `sudo` unless already root.
sudo="sudo "
[[ "$(id -u)" == 0 ]] && sudo=""
need() { missing+=("$1"$'\n'"      $2"); }

# version_at_least HAVE WANT: dotted versions, numerically.
version_at_least() {
    [[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" == "$2" ]]
}

rust_version="$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml)"
if ! command -v cargo >/dev/null; then
    need "Rust ${rust_version} or newer (cargo)" \
        "install rustup (https://rustup.rs), then: rustup toolchain install stable"
elif ! version_at_least "$(rustc --version | cut -d' ' -f2)" "$rust_version"; then
    need "Rust ${rust_version} or newer (found $(rustc --version | cut -d' ' -f2))" "rustup update stable"
elif [[ "$purpose" == test ]]; then
    for component in rustfmt clippy; do
        cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1 \
            || need "the Rust component ${component}" "rustup component add ${component}"
    done
fi
command -v cc >/dev/null \
    || need "a C compiler (aws-lc-rs, the signature backend, builds C code)" \
        "${sudo}apt-get update && ${sudo}apt-get install -y build-essential"

node_wanted="$(sed -n 's/.*"node": ">=\([0-9.]*\)".*/\1/p' tests/provider/package.json)"
node="${NODE:-node}"
if [[ "$purpose" == tenant ]]; then
    : # the provider is the tenant's
elif ! command -v "$node" >/dev/null; then
    need "Node.js ${node_wanted} or newer (the local Logto-compatible provider)" \
        "Debian 13: ${sudo}apt-get update && ${sudo}apt-get install -y nodejs npm; Debian 12 packages Node 18, too old: install Node.js 22 from nodejs.org or with nvm"
elif ! version_at_least "$("$node" --version | tr -d v)" "$node_wanted"; then
    need "Node.js ${node_wanted} or newer (found $("$node" --version))" \
        "install Node.js 22 from nodejs.org or with nvm (Debian 12 packages Node 18)"
elif ! command -v npm >/dev/null; then
    need "npm (installs the provider's packages)" "${sudo}apt-get update && ${sudo}apt-get install -y npm"
fi

if [[ "$purpose" == test ]]; then
    command -v redis-server >/dev/null \
        || need "redis-server (the Redis store tests start their own)" \
            "${sudo}apt-get update && ${sudo}apt-get install -y redis-server"
    command -v chromium >/dev/null \
        || need "chromium (the browser end-to-end tests)" "${sudo}apt-get update && ${sudo}apt-get install -y chromium"
    command -v chromedriver >/dev/null \
        || need "chromedriver (drives chromium in the end-to-end tests)" \
            "${sudo}apt-get update && ${sudo}apt-get install -y chromium-driver"
fi

if ((${#missing[@]})); then
    {
        echo "Missing before the ${purpose} can run:"
        for item in "${missing[@]}"; do echo "  - ${item}"; done
    } >&2
    exit 1
fi

[[ "$purpose" == tenant ]] && exit 0

# The provider's packages: installed, or installed again when the lock file changed.
installed=tests/provider/node_modules/.package-lock.json
if [[ ! -f "$installed" || tests/provider/package-lock.json -nt "$installed" ]]; then
    echo "Installing the provider's npm packages (npm ci --prefix tests/provider)..."
    npm ci --prefix tests/provider --no-audit --no-fund
fi
