#!/usr/bin/env bash
# One-command demo: the async sample app (axum + logto-axum) signing in against a local
# Logto-compatible provider (tests/provider), or against your own Logto tenant.
#
#   scripts/demo.sh            # local provider on 127.0.0.1:3001, sample on http://localhost:3000
#   scripts/demo.sh --tenant   # a real tenant: needs LOGTO_ENDPOINT, LOGTO_APP_ID (and usually
#                              # LOGTO_APP_SECRET, LOGTO_SCOPES, LOGTO_RESOURCES, BASE_URL)
#
# Local mode overrides: PROVIDER_PORT (3001), SAMPLE_PORT (3000). SAMPLE_PACKAGE=logto-actix
# runs the actix-web sample instead of the axum one. Ctrl-C stops everything.
# Prerequisites: Rust and a C compiler; in local mode Node.js >= 20.19 with npm too. They
# are checked first (scripts/prerequisites.sh), and the provider's npm packages installed.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "demo: $*" >&2; exit 1; }

package="${SAMPLE_PACKAGE:-logto-axum}"
case "$package" in
    logto-axum | logto-actix) ;;
    *) die "SAMPLE_PACKAGE is logto-axum (default) or logto-actix, not \`$package\`" ;;
esac

if [[ "${1:-}" == "--tenant" ]]; then
    [[ -n "${LOGTO_ENDPOINT:-}" ]] || die "set LOGTO_ENDPOINT (e.g. https://your-tenant.logto.app)"
    [[ -n "${LOGTO_APP_ID:-}" ]] || die "set LOGTO_APP_ID (a \"Traditional web\" app of your tenant)"
    ./scripts/prerequisites.sh tenant || exit 1
    base="${BASE_URL:-http://localhost:3000}"
    echo "Register in Logto Console: redirect URI ${base%/}/callback, post sign-out URI ${base%/}/"
    echo "Then open ${base%/}"
    exec cargo run -q -p "$package" --features redis --example web
elif [[ $# -gt 0 ]]; then
    die "usage: $0 [--tenant]"
fi

PROVIDER_PORT="${PROVIDER_PORT:-3001}"
SAMPLE_PORT="${SAMPLE_PORT:-3000}"
base="http://localhost:${SAMPLE_PORT}"
./scripts/prerequisites.sh demo || die "stopped before building: see above (or use --tenant)"
echo "Building the sample (cargo build -p $package --features redis --example web)..."
cargo build -q -p "$package" --features redis --example web

logs="$(mktemp -d)"
pids=()
cleanup() {
    trap - EXIT INT TERM
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$logs"
}
trap cleanup EXIT
trap 'echo; echo "Stopping."; exit 0' INT TERM

# wait_for FILE PATTERN PID WHAT: until FILE has a line matching PATTERN (30 s).
wait_for() {
    for _ in $(seq 300); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        kill -0 "$3" 2>/dev/null || { cat "$1" "$1.err" >&2 2>/dev/null; die "$4 exited"; }
        sleep 0.1
    done
    cat "$1" "$1.err" >&2 2>/dev/null
    die "$4 did not start within 30 s"
}

PORT="$PROVIDER_PORT" \
REDIRECT_URIS="${base}/callback" \
POST_LOGOUT_REDIRECT_URIS="${base}/" \
    node tests/provider/server.js >"$logs/provider" 2>"$logs/provider.err" &
pids+=($!)
wait_for "$logs/provider" LISTENING $! "the provider (port ${PROVIDER_PORT})"

LOGTO_ENDPOINT="http://127.0.0.1:${PROVIDER_PORT}" \
LOGTO_APP_ID=web-app \
LOGTO_APP_SECRET=web-app-secret \
LOGTO_SCOPES="email custom_data urn:logto:scope:organizations" \
LOGTO_RESOURCES=https://api.example.com \
BASE_URL="$base" \
    cargo run -q -p "$package" --features redis --example web >"$logs/sample" 2>"$logs/sample.err" &
pids+=($!)
wait_for "$logs/sample" Listening $! "the sample app (port ${SAMPLE_PORT})"

cat <<EOF

  Logto sample app:  ${base}
  Local provider:    http://127.0.0.1:${PROVIDER_PORT}/oidc

  Sign in as  alice / alice-password   (or bob / bob-password)
  JSON routes: ${base}/api/id-token-claims, /api/userinfo,
               /api/access-token?resource=https://api.example.com,
               /api/organization-token?organization_id=org1

  Press Ctrl-C to stop.
EOF
tail -f "$logs/sample.err" "$logs/provider.err" 2>/dev/null &
pids+=($!)
wait -n "${pids[0]}" "${pids[1]}" || true
echo "demo: a process exited; stopping." >&2
