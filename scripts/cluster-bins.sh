#!/usr/bin/env bash
# Builds the local control plane's binaries from their Go modules (tools/):
# etcd, kube-apiserver, kube-controller-manager and kubectl, into a cache
# outside the checkout keyed by version, so every clone and CI run on this
# machine reuses them. Prints the directory that holds them on its last line.
#
#   scripts/cluster-bins.sh          build what is missing, print the bin dir
#   scripts/cluster-bins.sh --path   print the bin dir only (exit 1 if incomplete)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=scripts/cluster-versions.sh
. "$root/scripts/cluster-versions.sh"

bin_dir="$(cluster_bin_dir)"
binaries=(etcd kube-apiserver kube-controller-manager kubectl)

complete() {
    local b
    for b in "${binaries[@]}"; do
        [ -x "$bin_dir/$b" ] || return 1
    done
}

if [ "${1:-}" = "--path" ]; then
    complete || { echo "control-plane binaries not built: run make cluster-bins" >&2; exit 1; }
    echo "$bin_dir"
    exit 0
fi

if complete; then
    echo "$bin_dir"
    exit 0
fi

if ! command -v go >/dev/null 2>&1; then
    cat >&2 <<EOF
error: Go is needed to build the local Kubernetes control plane (etcd,
kube-apiserver, kube-controller-manager, kubectl) and was not found on PATH.
Install Go ${GO_MIN_VERSION} or newer (https://go.dev/doc/install, or your
distribution's golang package), then run this again.
EOF
    exit 1
fi

# The wrapper modules pin their Go version; never let the go command go
# looking for another toolchain.
export GOTOOLCHAIN=local CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:-} -mod=readonly -trimpath"

mkdir -p "$bin_dir"
staging="$bin_dir/.staging.$$"
mkdir -p "$staging"
trap 'rm -rf "$staging"' EXIT

started=$(date +%s)
cat >&2 <<EOF
==> Building the local control plane into $bin_dir
    etcd $ETCD_VERSION, Kubernetes $K8S_VERSION (kube-apiserver, kube-controller-manager, kubectl)
    Once per machine: about 15 minutes on 2 cores and ~700 MB of Go modules
    (less when the Go module and build caches are warm). Later runs reuse it.
EOF

build() { # name module-dir package ldflags
    local name=$1 dir=$2 pkg=$3 ldflags=$4 t0
    if [ -x "$bin_dir/$name" ]; then
        echo "    $name: cached" >&2
        return
    fi
    t0=$(date +%s)
    echo "    $name: building ..." >&2
    (cd "$root/tools/$dir" && go build -o "$staging/$name" -ldflags "$ldflags" "$pkg")
    mv "$staging/$name" "$bin_dir/$name"
    echo "    $name: done in $(( $(date +%s) - t0 ))s ($(du -h "$bin_dir/$name" | cut -f1))" >&2
}

# What `kube-apiserver --version` and the /version endpoint report: Helm checks
# a chart's kubeVersion against it, so it must be the real version.
k8s_minor="${K8S_VERSION#v1.}"; k8s_minor="${k8s_minor%%.*}"
k8s_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    k8s_ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$k8s_minor"
    k8s_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

build etcd etcd . "-s -w"
build kube-apiserver kubernetes k8s.io/kubernetes/cmd/kube-apiserver "$k8s_ldflags"
build kube-controller-manager kubernetes k8s.io/kubernetes/cmd/kube-controller-manager "$k8s_ldflags"
build kubectl kubernetes k8s.io/kubernetes/cmd/kubectl "$k8s_ldflags"

echo "==> Control plane built in $(( $(date +%s) - started ))s" >&2
echo "$bin_dir"
