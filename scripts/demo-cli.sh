#!/usr/bin/env bash
# The classic Route 53 DNS failover walkthrough, on a laptop, against a local
# Route 53 emulator (moto) — no AWS account, no cluster.
#
#   make demo-cli        (creates .venv with the emulator first)
#   scripts/demo-cli.sh  (if .venv is already there)
#
# It starts the emulator on a free loopback port, creates the hosted zone
# example.com, then runs `dnsfailover plan`, `apply`, shows what landed in
# Route 53, runs `status`, and runs `apply` a second time, which must not write
# anything. The emulator is stopped on exit, whatever happens.
set -euo pipefail

cd "$(dirname "$0")/.."

CARGO=${CARGO:-cargo}
VENV=${VENV:-.venv}
MANIFEST=examples/examplefailover.yaml
ZONE=example.com
BIN="${CARGO_TARGET_DIR:-target}/debug/dnsfailover"

header() {
    printf '\n==== %s ====\n\n' "$*"
}

die() {
    printf 'demo: error: %s\n' "$*" >&2
    exit 1
}

[[ -x "$VENV/bin/moto_server" ]] || die "$VENV/bin/moto_server not found; run 'make venv' (or 'make demo')"
[[ -f "$MANIFEST" ]] || die "$MANIFEST not found"

header "Building dnsfailover"
"$CARGO" build --quiet
[[ -x "$BIN" ]] || die "$BIN was not built"
echo "built $BIN"

workdir=$(mktemp -d "${TMPDIR:-/tmp}/dnsfailover-demo.XXXXXX")
moto_log="$workdir/moto.log"
moto_pid=""

cleanup() {
    local status=$?
    if [[ -n "$moto_pid" ]] && kill -0 "$moto_pid" 2>/dev/null; then
        kill "$moto_pid" 2>/dev/null || true
        wait "$moto_pid" 2>/dev/null || true
    fi
    rm -rf "$workdir"
    exit "$status"
}
trap cleanup EXIT

header "Starting the local Route 53 emulator"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
endpoint="http://127.0.0.1:$port"
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$moto_log" 2>&1 &
moto_pid=$!

ready=""
deadline=$((SECONDS + 20))
while ((SECONDS < deadline)); do
    if ! kill -0 "$moto_pid" 2>/dev/null; then
        echo "moto_server exited early; last lines of its log:" >&2
        tail -n 20 "$moto_log" >&2 || true
        die "the emulator did not start"
    fi
    if python3 - "$endpoint" <<'PY' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen(sys.argv[1] + "/moto-api/", timeout=1).read()
PY
    then
        ready=yes
        break
    fi
    sleep 0.2
done
if [[ -z "$ready" ]]; then
    echo "moto_server did not answer on $endpoint within 20 s; last lines of its log:" >&2
    tail -n 20 "$moto_log" >&2 || true
    die "the emulator did not start"
fi
echo "moto_server (pid $moto_pid) is answering on $endpoint"

# Fake credentials: the emulator accepts anything, and nothing can reach AWS.
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_ENDPOINT_URL_ROUTE_53
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export DNSFAILOVER_ROUTE53_ENDPOINT="$endpoint"

header "Creating the hosted zone $ZONE"
"$VENV/bin/python" scripts/route53.py create-zone "$ZONE"

header "dnsfailover plan -f $MANIFEST   (read-only: what apply would change)"
"$BIN" plan -f "$MANIFEST"

header "dnsfailover apply -f $MANIFEST"
"$BIN" apply -f "$MANIFEST"

header "What Route 53 now holds for $ZONE"
"$VENV/bin/python" scripts/route53.py show "$ZONE"

header "dnsfailover status -f $MANIFEST"
"$BIN" status -f "$MANIFEST"

header "dnsfailover apply -f $MANIFEST, again: must make zero write calls"
apply2_err="$workdir/apply2.stderr"
# Show stdout and stderr as usual, and keep a copy of stderr to check the
# "Route 53 requests:" summary.
{ "$BIN" apply -f "$MANIFEST" 2>&1 1>&3 | tee "$apply2_err" >&2; } 3>&1
if ! grep -q "Route 53 requests:" "$apply2_err"; then
    die "the second apply printed no 'Route 53 requests:' summary"
fi
if ! grep -Eq "(^|[^0-9])0 of them writes" "$apply2_err"; then
    die "the second apply wrote to Route 53; it should have found nothing to change"
fi
echo
echo "OK: the second apply made 0 write calls: Route 53 already matched the manifest."

header "Done"
echo "The emulator (pid $moto_pid) is being stopped; nothing was sent to AWS."
