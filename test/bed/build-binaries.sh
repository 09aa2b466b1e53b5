#!/usr/bin/env bash
# Builds the test bed's control plane from Go modules, once per version, into a cache outside the checkout:
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubectl  (k8s.io/kubernetes)
#   etcd                                                               (go.etcd.io/etcd/server/v3)
#   kwok                                                               (sigs.k8s.io/kwok)
# k8s.io/kubernetes and etcd's server module carry `replace` directives pointing at their own source trees, so
# `go install mod@version` refuses them. Each is built from a small generated wrapper module that requires the
# published module and maps every staging module to its published twin.
# Prints the bin directory on its last line. Idempotent: a finished build is reused (marker file per version).
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.37.2}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"
CACHE_ROOT="${ROLLOUT_GUARD_CACHE:-$HOME/.cache/rollout-guard}"
KEY="k8s-${K8S_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}"
OUT="$CACHE_ROOT/$KEY"
BIN="$OUT/bin"
WANT=(kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok)

log() { printf '[bed:build] %s\n' "$*" >&2; }

complete() {
  [ -f "$OUT/.complete" ] || return 1
  [ -f "$OUT/kwok/logs-crd.yaml" ] || return 1
  for b in "${WANT[@]}"; do [ -x "$BIN/$b" ] || return 1; done
}

if complete; then
  echo "$BIN"
  exit 0
fi

command -v go >/dev/null || { log "Go is required to build the test bed (k8s.io/kubernetes $K8S_VERSION); install Go >= 1.26"; exit 1; }
mkdir -p "$BIN" "$OUT/src"
# One builder at a time: a second caller waits for the first instead of racing it.
exec 9>"$OUT/.lock"
flock 9
if complete; then echo "$BIN"; exit 0; fi

export GOFLAGS="-mod=mod -buildvcs=false"
export CGO_ENABLED=0
start=$(date +%s)

build_kubernetes() {
  local dir="$OUT/src/kubernetes"
  mkdir -p "$dir"
  log "fetching k8s.io/kubernetes@$K8S_VERSION go.mod"
  local upstream
  upstream=$(cd "$dir" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
  local staging_version="v0${K8S_VERSION#v1}"
  {
    echo "module rollout-guard.local/bed/kubernetes"
    echo
    grep -E '^go [0-9.]+$' "$upstream"
    grep -E '^godebug ' "$upstream" || true
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    # Every `k8s.io/x => ./staging/src/k8s.io/x` becomes `k8s.io/x => k8s.io/x v0.N.P`.
    sed -n 's#^[[:space:]]*\(k8s.io/[^[:space:]]*\) => ./staging/src/.*#\1#p' "$upstream" |
      while read -r m; do printf '\t%s => %s %s\n' "$m" "$m" "$staging_version"; done
    echo ")"
  } >"$dir/go.mod"
  local minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  local ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  log "building kube-apiserver, kube-controller-manager, kube-scheduler, kubectl $K8S_VERSION (the first build takes a long time)"
  (cd "$dir" && go build -ldflags "$ldflags" -o "$BIN/" \
    k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler \
    k8s.io/kubernetes/cmd/kubectl)
}

build_etcd() {
  local dir="$OUT/src/etcd"
  mkdir -p "$dir"
  local upstream
  upstream=$(cd "$dir" && go mod download -json "go.etcd.io/etcd/server/v3@$ETCD_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
  {
    echo "module rollout-guard.local/bed/etcd"
    echo
    grep -E '^go [0-9.]+$' "$upstream"
    echo
    echo "require go.etcd.io/etcd/server/v3 $ETCD_VERSION"
    echo
    echo "replace ("
    # The server's sibling modules (api, client/pkg, client/v3, pkg) are published with the same version.
    sed -n 's#^[[:space:]]*\(go.etcd.io/etcd/[^[:space:]]*\) => \.\./.*#\1#p' "$upstream" |
      while read -r m; do printf '\t%s => %s %s\n' "$m" "$m" "$ETCD_VERSION"; done
    echo ")"
  } >"$dir/go.mod"
  log "building etcd $ETCD_VERSION"
  (cd "$dir" && go build -ldflags "-s -w" -o "$BIN/etcd" go.etcd.io/etcd/server/v3)
}

build_kwok() {
  log "building kwok $KWOK_VERSION"
  GOBIN="$BIN" go install -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
}

[ -x "$BIN/etcd" ] || build_etcd
[ -x "$BIN/kwok" ] || build_kwok
{ [ -x "$BIN/kube-apiserver" ] && [ -x "$BIN/kube-controller-manager" ] && [ -x "$BIN/kube-scheduler" ] && [ -x "$BIN/kubectl" ]; } || build_kubernetes

# kwok's own published assets, read from its module at build time (not vendored into this repo): the Logs CRD and
# the node stages that keep fake nodes Ready (initialize + heartbeat with a lease).
copy_kwok_assets() {
  local moddir
  moddir=$(cd "$OUT/src" && go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')
  mkdir -p "$OUT/kwok"
  cp "$moddir/kustomize/crd/bases/kwok.x-k8s.io_logs.yaml" "$OUT/kwok/logs-crd.yaml"
  cp "$moddir/kustomize/stage/node/fast/node-initialize.yaml" "$OUT/kwok/node-initialize.yaml"
  cp "$moddir/kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml" "$OUT/kwok/node-heartbeat-with-lease.yaml"
  chmod 0644 "$OUT/kwok/"*.yaml
}
copy_kwok_assets

complete_marker="$OUT/.complete"
for b in "${WANT[@]}"; do [ -x "$BIN/$b" ] || { log "missing $b after build"; exit 1; }; done
date -u +%FT%TZ >"$complete_marker"
log "built in $(( $(date +%s) - start ))s into $BIN"
echo "$BIN"
