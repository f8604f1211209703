#!/usr/bin/env bash
# Fetches the Gateway API's published standard CRD manifests (the
# config/crd/standard directory of the sigs.k8s.io/gateway-api Go module, at
# the version pinned in cluster-versions.sh) through the Go module proxy,
# into a cache outside the checkout keyed by version. Prints the directory
# that holds the YAML files on its last line.
#
#   scripts/gateway-api-crds.sh          fetch what is missing, print the dir
#   scripts/gateway-api-crds.sh --path   print the dir only (exit 1 if absent)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=scripts/cluster-versions.sh
. "$root/scripts/cluster-versions.sh"

crd_dir="$(gateway_api_crd_dir)"
# The two kinds a Gateway needs; the test installs these.
wanted=(gateway.networking.k8s.io_gatewayclasses.yaml gateway.networking.k8s.io_gateways.yaml)

complete() {
    local f
    for f in "${wanted[@]}"; do
        [ -s "$crd_dir/$f" ] || return 1
    done
}

if complete; then
    echo "$crd_dir"
    exit 0
fi
if [ "${1:-}" = "--path" ]; then
    echo "the Gateway API $GATEWAY_API_VERSION CRDs are not cached: run scripts/gateway-api-crds.sh" >&2
    exit 1
fi

if ! command -v go >/dev/null 2>&1; then
    cat >&2 <<MSG
error: Go is needed to fetch the Gateway API $GATEWAY_API_VERSION CRDs (the
sigs.k8s.io/gateway-api module, from the Go module proxy) and was not found
on PATH. Install Go ${GO_MIN_VERSION} or newer, then run this again.
MSG
    exit 1
fi

# Outside any module, so that no go.mod is read or changed; the module proxy
# verifies the download against the checksum database as for any module.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
module="sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION"
if ! info="$(cd "$work" && GOTOOLCHAIN=local GOFLAGS=-mod=mod go mod download -json "$module" 2>"$work/stderr")"; then
    echo "error: go mod download $module failed:" >&2
    cat "$work/stderr" >&2
    printf '%s\n' "$info" >&2
    exit 1
fi
dir="$(printf '%s\n' "$info" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
if [ -z "$dir" ] || [ ! -d "$dir/config/crd/standard" ]; then
    echo "error: go mod download $module gave no config/crd/standard directory (Dir: ${dir:-none}):" >&2
    printf '%s\n' "$info" >&2
    exit 1
fi

mkdir -p "$(dirname "$crd_dir")"
staging="$crd_dir.staging.$$"
rm -rf "$staging"
mkdir -p "$staging"
cp "$dir"/config/crd/standard/*.yaml "$staging/"
# The module cache is read-only; the copies need not be.
chmod u+w "$staging"/*.yaml
rm -rf "$crd_dir"
mv "$staging" "$crd_dir"
complete || { echo "error: $module has no ${wanted[*]} in config/crd/standard" >&2; exit 1; }
echo "$crd_dir"
