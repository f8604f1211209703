#!/usr/bin/env bash
# Builds promtool from Prometheus's published Go module (tools/promtool) into a
# cache outside the checkout keyed by version, as scripts/cluster-bins.sh does
# the control plane. tests/chart.rs runs its `check rules` and `test rules` on
# the chart's PrometheusRule.
#
#   scripts/promtool.sh [--path]   print its path, building it first if missing
#                                  (what it builds, and its --version, on stderr)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=scripts/cluster-versions.sh
. "$root/scripts/cluster-versions.sh"

case "${1:-}" in
    "" | --path) ;;
    *) echo "usage: $0 [--path]" >&2; exit 2 ;;
esac

bin="$(promtool_bin)"
# The module's v0.3xx.y is Prometheus 3.xx.y.
release="${PROMETHEUS_VERSION#v0.}"
minor="${release%%.*}"
release="${minor:0:1}.$((10#${minor:1})).${release#*.}"

if [ ! -x "$bin" ]; then
    # Prometheus's module asks for this Go, or newer.
    go_min="$(sed -n 's/^go //p' "$root/tools/promtool/go.mod")"
    if ! command -v go >/dev/null 2>&1; then
        cat >&2 <<MSG
error: Go is needed to build promtool (Prometheus $release), with which the
chart tests evaluate the alerting rules, and was not found on PATH.
Install Go ${go_min} or newer (https://go.dev/doc/install, or your
distribution's golang package), then run this again.
MSG
        exit 1
    fi

    # The wrapper module pins its Go version; never let the go command go
    # looking for another toolchain.
    export GOTOOLCHAIN=local CGO_ENABLED=0
    export GOFLAGS="${GOFLAGS:-} -mod=readonly -trimpath"

    mkdir -p "$(dirname "$bin")"
    staging="$(dirname "$bin")/.staging.$$"
    trap 'rm -f "$staging"' EXIT

    started=$(date +%s)
    cat >&2 <<MSG
==> Building promtool (Prometheus $release, github.com/prometheus/prometheus $PROMETHEUS_VERSION) into $(dirname "$bin")
    Once per machine: about 4 minutes on 2 cores and ~160 MB of Go modules
    (less when the Go module and build caches are warm). Later runs reuse it.
MSG
    # remove_all_sd leaves out the service-discovery plugins (AWS, Azure, GCE
    # ...), which only `promtool check config` and `promtool sd` use. The
    # version variables make `promtool --version` say what it is.
    v=github.com/prometheus/common/version
    (cd "$root/tools/promtool" && go build -o "$staging" -tags remove_all_sd \
        -ldflags "-s -w -X $v.Version=$release -X $v.Branch=$PROMETHEUS_VERSION -X $v.BuildUser=dnsfailover/scripts/promtool.sh" \
        github.com/prometheus/prometheus/cmd/promtool)
    mv "$staging" "$bin"
    echo "==> promtool built in $(( $(date +%s) - started ))s ($(du -h "$bin" | cut -f1))" >&2
    "$bin" --version >&2
fi

echo "$bin"
