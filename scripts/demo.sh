#!/usr/bin/env bash
# dnsfailover's main job, on this machine: the controller on a real (local)
# Kubernetes control plane, reconciling a FailoverRecord applied with kubectl
# into the Route 53 emulator, and writing back status and events.
#
#   make demo          (builds what it needs first: .venv, the control plane's
#                       binaries from Go modules, the dnsfailover binary)
#
# Every command a user would type is printed (`$ ...`) before its output.
# Whatever happens, also on Ctrl-C, everything it started is stopped and
# .demo/ is removed at the end. The standalone CLI walkthrough is `make demo-cli`.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)

VENV=${VENV:-.venv}
BIN="${CARGO_TARGET_DIR:-target}/debug/dnsfailover"
STATE="$root/.demo"
CLUSTER="$STATE/cluster"
NS=web
SYSTEM=dnsfailover-system

header() { printf '\n\033[1m==== %s ====\033[0m\n\n' "$*"; }
die() { printf 'demo: error: %s\n' "$*" >&2; exit 1; }
# Print a command as a user would type it (quoting what the shell would
# need quoted), then run it.
run() {
    local shown="" arg
    for arg in "$@"; do
        if [[ $arg =~ [^A-Za-z0-9_./=:,@+-] ]]; then shown+=" '$arg'"; else shown+=" $arg"; fi
    done
    printf '$%s\n' "$shown"
    "$@"
}

[[ -x "$VENV/bin/python" ]] || die "$VENV is missing; run 'make demo' (it creates it)"
[[ -x "$BIN" ]] || die "$BIN is missing; run 'make demo' (it builds it)"
bins=$(scripts/cluster-bins.sh --path) || die "the control plane is not built; run 'make demo'"

cleanup() {
    local status=$?
    # Ignore further Ctrl-C: the teardown must finish.
    trap '' INT TERM
    trap - EXIT
    header "Stopping everything the demo started"
    "$VENV/bin/python" scripts/cluster.py down --dir "$CLUSTER" || true
    rm -rf "$STATE"
    exit "$status"
}
trap cleanup EXIT
trap 'echo; echo "interrupted"; exit 130' INT TERM

header "Starting a local Kubernetes control plane and the Route 53 emulator"
rm -rf "$STATE"
mkdir -p "$STATE"
"$VENV/bin/python" scripts/cluster.py up --dir "$CLUSTER"
# KUBECONFIG, the emulator as AWS_ENDPOINT_URL, test credentials, kubectl on PATH.
# shellcheck source=/dev/null
. "$CLUSTER/env"
export PATH="$bins:$PATH"

header "A hosted zone in the emulator (in AWS, it already exists)"
"$VENV/bin/python" scripts/route53.py create-zone example.com

header "Installing the chart (Helm's SDK; with a helm binary it is the command shown)"
run kubectl create namespace "$SYSTEM"
run kubectl -n "$SYSTEM" create secret generic route53-credentials \
    --from-literal=AWS_ACCESS_KEY_ID=testing --from-literal=AWS_SECRET_ACCESS_KEY=testing
printf '$ helm install dnsfailover charts/dnsfailover -n %s \\\n' "$SYSTEM"
# The emulator's zones name AWS's real name servers: the demo keeps its DNS
# answer watch off and its traffic on this machine.
printf '    --set aws.route53Endpoint=%s --set aws.credentialsSecret.name=route53-credentials --set dnsWatch.enabled=false\n' "$AWS_ENDPOINT_URL"
"$VENV/bin/python" scripts/chart.py install charts/dnsfailover dnsfailover \
    --kubeconfig "$KUBECONFIG" --namespace "$SYSTEM" \
    --set-json "{\"aws\": {\"route53Endpoint\": \"$AWS_ENDPOINT_URL\", \"credentialsSecret\": {\"name\": \"route53-credentials\"}}, \"dnsWatch\": {\"enabled\": false}}" \
    | "$VENV/bin/python" -c 'import json, sys; r = json.load(sys.stdin); print("release %s, revision %s: %s" % (r["name"], r["revision"], r["status"]))'
run kubectl -n "$SYSTEM" get deployment,serviceaccount,role -l app.kubernetes.io/instance=dnsfailover

header "Running the controller as the Deployment's pod would (no kubelet here)"
echo "The chart's container args and env, with only the ServiceAccount's token:"
pid=$("$VENV/bin/python" scripts/cluster.py controller --dir "$CLUSTER" \
    --namespace "$SYSTEM" --release dnsfailover --pod dnsfailover-0 \
    --binary "$BIN" --http-address 127.0.0.1:0 --log "$STATE/controller.log")
echo "dnsfailover run (pid $pid), logs in .demo/controller.log"

header "Declaring the failover pair"
run kubectl create namespace "$NS"
run cat examples/examplefailover.yaml
run kubectl apply -f examples/examplefailover.yaml
run kubectl -n "$NS" wait --for=condition=Ready failoverrecord/examplefailover --timeout=120s
# Ready means Route 53 holds the records; the active side follows once the
# health check's status has been read.
run kubectl -n "$NS" wait --for=jsonpath='{.status.active}'=Primary failoverrecord/examplefailover --timeout=120s
run kubectl -n "$NS" get failoverrecords -o wide

header "What happened, as events"
run kubectl -n "$NS" get events --field-selector involvedObject.name=examplefailover \
    --sort-by=.lastTimestamp -o custom-columns=TYPE:.type,REASON:.reason,MESSAGE:.message

header "What Route 53 now holds"
"$VENV/bin/python" scripts/route53.py show example.com

header "A failover drill: invert the primary's health check"
run kubectl -n "$NS" patch failoverrecord examplefailover --type merge \
    -p '{"spec":{"primary":{"healthCheck":{"inverted":true}}}}'
run kubectl -n "$NS" wait --for=jsonpath='{.status.active}'=Secondary \
    failoverrecord/examplefailover --timeout=120s
run kubectl -n "$NS" get failoverrecords
run kubectl -n "$NS" describe failoverrecord examplefailover

header "Deleting it: records first, then the health check, then the finalizer"
run kubectl -n "$NS" delete failoverrecord examplefailover --timeout=120s
"$VENV/bin/python" scripts/route53.py show example.com

header "Done"
echo "Nothing was sent to AWS. Run 'make cluster-up' to keep a cluster like this one."
