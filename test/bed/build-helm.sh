#!/usr/bin/env bash
# Builds Helm v4 (helm.sh/helm/v4/cmd/helm) from its Go module, once per version, into a cache outside the checkout:
# $CACHE/helm-<version>/bin/helm. Used by `npm run bench` to compare `helm upgrade --rollback-on-failure --wait` with
# Rollout Guard on the same cluster. helm's go.mod has no `replace` directives, so a plain `go install mod/cmd@version`
# builds it. Prints the bin directory on its last line. Idempotent: a finished build is reused (marker file per version);
# one builder at a time (flock), a second caller waits for the first. Built with `nice -n 10` (shared machines).
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v4.3.1}"
CACHE_ROOT="${ROLLOUT_GUARD_CACHE:-$HOME/.cache/rollout-guard}"
OUT="$CACHE_ROOT/helm-$HELM_VERSION"
BIN="$OUT/bin"

log() { printf '[bed:helm] %s\n' "$*" >&2; }

complete() { [ -f "$OUT/.complete" ] && [ -x "$BIN/helm" ]; }

if complete; then
  echo "$BIN"
  exit 0
fi

command -v go >/dev/null || { log "Go is required to build Helm $HELM_VERSION for the bench; install Go >= 1.26"; exit 1; }
mkdir -p "$BIN"
exec 9>"$OUT/.lock"
flock 9
if complete; then echo "$BIN"; exit 0; fi

export GOFLAGS="-mod=mod -buildvcs=false"
export CGO_ENABLED=0
start=$(date +%s)
log "building helm $HELM_VERSION (first time only; a few minutes)"
# `go install` wants a directory outside any module; the cache folder is one.
(cd "$OUT" && GOBIN="$BIN" nice -n 10 go install -trimpath \
  -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION -X helm.sh/helm/v4/internal/version.gitTreeState=clean" \
  "helm.sh/helm/v4/cmd/helm@$HELM_VERSION")
"$BIN/helm" version --short | grep -qF "$HELM_VERSION" || {
  log "the built helm does not report version $HELM_VERSION: $("$BIN/helm" version --short 2>&1)"
  exit 1
}
date -u +%FT%TZ >"$OUT/.complete"
log "built helm $HELM_VERSION in $(($(date +%s) - start))s into $BIN"
echo "$BIN"
