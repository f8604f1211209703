# shellcheck shell=bash
# The pinned versions of the local control plane (and of the other tools built
# from Go modules), and where they are cached. Sourced by scripts/cluster-bins.sh,
# scripts/gateway-api-crds.sh and scripts/promtool.sh; the Go
# wrapper modules under tools/ pin the same versions (a test checks they agree).

# Used by the scripts that source this file.
# shellcheck disable=SC2034
{
    K8S_VERSION=v1.34.4
    ETCD_VERSION=v3.6.16
    GO_MIN_VERSION=1.26
    # The Gateway API whose published CRDs (config/crd/standard in the
    # sigs.k8s.io/gateway-api module) the gatewayRef tests install.
    GATEWAY_API_VERSION=v1.3.0
    # promtool, which evaluates the chart's alerting rules (tests/chart.rs):
    # the github.com/prometheus/prometheus module's v0.3xx.y is Prometheus 3.xx.y.
    PROMETHEUS_VERSION=v0.316.0
}

# Outside the checkout, so clones and CI runs on one machine share it;
# DNSFAILOVER_CACHE_DIR overrides it.
cluster_bin_dir() {
    local base="${DNSFAILOVER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dnsfailover}"
    echo "$base/control-plane-k8s-$K8S_VERSION-etcd-$ETCD_VERSION/bin"
}

# promtool, built by scripts/promtool.sh, cached like the binaries.
promtool_bin() {
    local base="${DNSFAILOVER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dnsfailover}"
    echo "$base/promtool-$PROMETHEUS_VERSION/bin/promtool"
}

# The Gateway API's standard CRD manifests, cached like the binaries.
gateway_api_crd_dir() {
    local base="${DNSFAILOVER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dnsfailover}"
    echo "$base/gateway-api-$GATEWAY_API_VERSION/crd/standard"
}
