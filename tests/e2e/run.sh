#!/usr/bin/env bash
# End-to-end suite on a kind cluster, done the way a user would: install the
# chart, `kubectl apply` a FailoverRecord, wait for Ready, check Route 53,
# change the spec, break the spec, delete, uninstall. Route 53 is moto's
# emulator running in the cluster, so no AWS account is needed.
#
# Needs: docker, kind, kubectl, helm. Runs with `make e2e`.
# Environment:
#   IMAGE             image to build and load (default dnsfailover:e2e)
#   KIND_NODE_IMAGE   kind node image, e.g. kindest/node:v1.33.1 (default: kind's)
#   CLUSTER           kind cluster name (default dnsfailover-e2e)
#   KEEP_CLUSTER=1    keep the cluster afterwards, for debugging
set -euo pipefail
cd "$(dirname "$0")/../.."

CLUSTER="${CLUSTER:-dnsfailover-e2e}"
IMAGE="${IMAGE:-dnsfailover:e2e}"
KIND_NODE_IMAGE="${KIND_NODE_IMAGE:-}"
KEEP_CLUSTER="${KEEP_CLUSTER:-0}"
SYSTEM=dnsfailover-system
APPS=web
RECORD=examplefailover

log() { printf '\n==== %s ====\n' "$*"; }
fail() { echo "e2e FAILED: $*" >&2; exit 1; }

for tool in docker kind kubectl helm; do
  command -v "$tool" >/dev/null 2>&1 || { echo "e2e: '$tool' is required (see tests/e2e/run.sh)" >&2; exit 2; }
done

collect() {
  echo "---- controller logs ----" >&2
  kubectl -n "$SYSTEM" logs deploy/dnsfailover --tail=300 >&2 || true
  echo "---- events ----" >&2
  kubectl get events -A --sort-by=.lastTimestamp 2>/dev/null | tail -60 >&2 || true
  echo "---- FailoverRecords ----" >&2
  kubectl get failoverrecords -A -o yaml >&2 || true
}

finish() {
  local rc=$?
  if [ "$rc" -ne 0 ]; then collect; fi
  if [ "$KEEP_CLUSTER" != 1 ]; then kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true; fi
  exit "$rc"
}
trap finish EXIT

# Run a boto3 snippet against the emulator, inside its pod.
route53() {
  kubectl -n "$SYSTEM" exec deploy/moto -- python -c "
import boto3, json
r53 = boto3.client('route53', endpoint_url='http://localhost:5000', region_name='us-east-1',
                   aws_access_key_id='e2e', aws_secret_access_key='e2e')
$1"
}

log "kind cluster $CLUSTER"
kind create cluster --name "$CLUSTER" ${KIND_NODE_IMAGE:+--image "$KIND_NODE_IMAGE"} --wait 180s

log "image $IMAGE"
docker build -t "$IMAGE" .
kind load docker-image "$IMAGE" --name "$CLUSTER"

log "Route 53 emulator"
kubectl create namespace "$SYSTEM"
kubectl -n "$SYSTEM" apply -f tests/e2e/moto.yaml
kubectl -n "$SYSTEM" rollout status deploy/moto --timeout=180s
zone_id=$(route53 "print(r53.create_hosted_zone(Name='example.com', CallerReference='e2e')['HostedZone']['Id'].split('/')[-1])")
echo "hosted zone example.com: $zone_id"

log "helm install"
kubectl -n "$SYSTEM" create secret generic aws-credentials \
  --from-literal=AWS_ACCESS_KEY_ID=e2e --from-literal=AWS_SECRET_ACCESS_KEY=e2e
helm install dnsfailover charts/dnsfailover --namespace "$SYSTEM" \
  -f tests/e2e/values.yaml \
  --set image.repository="${IMAGE%:*}" --set image.tag="${IMAGE##*:}" \
  --set-string aws.route53Endpoint="http://route53.$SYSTEM.svc:5000" \
  --wait --timeout 180s
kubectl -n "$SYSTEM" get pods

log "kubectl apply examples/$RECORD.yaml"
kubectl create namespace "$APPS"
kubectl apply -f "examples/$RECORD.yaml"
kubectl -n "$APPS" wait --for=condition=Ready "failoverrecord/$RECORD" --timeout=180s
kubectl -n "$APPS" get failoverrecords

log "Route 53 holds the health check and both records"
route53 "
records = r53.list_resource_record_sets(HostedZoneId='$zone_id')['ResourceRecordSets']
pair = {r['Failover']: r for r in records if r['Name'] == 'examplefailover.example.com.' and r['Type'] == 'A'}
assert set(pair) == {'PRIMARY', 'SECONDARY'}, pair
assert [v['Value'] for v in pair['PRIMARY']['ResourceRecords']] == ['192.0.2.10'], pair
assert [v['Value'] for v in pair['SECONDARY']['ResourceRecords']] == ['192.0.2.20'], pair
assert pair['PRIMARY']['TTL'] == 60 and 'HealthCheckId' not in pair['SECONDARY'], pair
checks = r53.list_health_checks()['HealthChecks']
assert len(checks) == 1, checks
config = checks[0]['HealthCheckConfig']
assert checks[0]['Id'] == pair['PRIMARY']['HealthCheckId'], (checks, pair)
assert (config['Type'], config['IPAddress'], config['Port'], config['RequestInterval']) == ('HTTP', '192.0.2.10', 80, 10), config
print('ok: health check', checks[0]['Id'], 'and PRIMARY/SECONDARY records')
"
status_check=$(kubectl -n "$APPS" get "failoverrecord/$RECORD" -o jsonpath='{.status.primary.healthCheckId}')
[ -n "$status_check" ] || fail "status.primary.healthCheckId is empty"

log "change the spec: failureThreshold 3 -> 5"
kubectl -n "$APPS" patch "failoverrecord/$RECORD" --type merge \
  -p '{"spec":{"primary":{"healthCheck":{"failureThreshold":5}}}}'
kubectl -n "$APPS" wait --for=jsonpath='{.status.observedGeneration}'=2 "failoverrecord/$RECORD" --timeout=120s
kubectl -n "$APPS" wait --for=condition=Ready "failoverrecord/$RECORD" --timeout=120s
route53 "
checks = r53.list_health_checks()['HealthChecks']
assert len(checks) == 1 and checks[0]['HealthCheckConfig']['FailureThreshold'] == 5, checks
print('ok: updated in place')
"

log "break the spec: requestInterval 15 is refused with a message naming the field"
if output=$(kubectl -n "$APPS" patch "failoverrecord/$RECORD" --type merge \
    -p '{"spec":{"primary":{"healthCheck":{"requestInterval":15}}}}' 2>&1); then
  fail "an interval of 15 was accepted: $output"
fi
echo "$output"
grep -q "requestInterval must be 10 or 30" <<<"$output" || fail "unexpected rejection: $output"

log "delete: records first, then the health check"
kubectl -n "$APPS" delete "failoverrecord/$RECORD" --timeout=120s
route53 "
records = r53.list_resource_record_sets(HostedZoneId='$zone_id')['ResourceRecordSets']
left = [r for r in records if r['Type'] in ('A', 'TXT')]
assert not left, left
assert not r53.list_health_checks()['HealthChecks']
print('ok: nothing left in Route 53')
"

log "helm uninstall"
helm uninstall dnsfailover --namespace "$SYSTEM" --wait --timeout 120s
echo "e2e passed"
