#!/usr/bin/env bash
# Builds docker buildx (github.com/docker/buildx/cmd/buildx) from its Go module, once per version, into a cache outside
# the checkout, as a docker CLI plugin: $CACHE/buildx-<version>/cli-plugins/docker-buildx. Debian ships no buildx
# package, and GitHub's runners build with buildx, so the test bed builds it to run that path for real.
# buildx's go.mod has no `replace` directives, so a plain `go install module/cmd@version` builds it.
# Prints the cli-plugins directory on its last line. Idempotent: a finished build is reused (marker file per version);
# one builder at a time (flock), a second caller waits for the first.
set -euo pipefail

# v0.38.2 is the newest release the Go module proxy serves that builds with Go 1.26 (its go.mod asks for go 1.26.8).
BUILDX_VERSION="${BUILDX_VERSION:-v0.38.2}"
CACHE_ROOT="${ROLLOUT_GUARD_CACHE:-$HOME/.cache/rollout-guard}"
OUT="$CACHE_ROOT/buildx-$BUILDX_VERSION"
PLUGINS="$OUT/cli-plugins"

log() { printf '[bed:buildx] %s\n' "$*" >&2; }

complete() { [ -f "$OUT/.complete" ] && [ -x "$PLUGINS/docker-buildx" ]; }

if complete; then
  echo "$PLUGINS"
  exit 0
fi

command -v go >/dev/null || { log "Go is required to build docker buildx $BUILDX_VERSION for the test bed; install Go >= 1.26"; exit 1; }
mkdir -p "$PLUGINS"
exec 9>"$OUT/.lock"
flock 9
if complete; then echo "$PLUGINS"; exit 0; fi

export GOFLAGS="-mod=mod -buildvcs=false"
export CGO_ENABLED=0
start=$(date +%s)
log "building docker buildx $BUILDX_VERSION (first time only; a few minutes)"
# `go install` wants a directory outside any module; the cache folder is one.
(cd "$OUT" && GOBIN="$OUT/bin" go install -trimpath \
  -ldflags "-s -w -X github.com/docker/buildx/version.Version=$BUILDX_VERSION -X github.com/docker/buildx/version.Revision=gomod" \
  "github.com/docker/buildx/cmd/buildx@$BUILDX_VERSION")
mv -f "$OUT/bin/buildx" "$PLUGINS/docker-buildx"
rmdir "$OUT/bin" 2>/dev/null || true
# The docker CLI only runs a plugin that answers its metadata call.
"$PLUGINS/docker-buildx" docker-cli-plugin-metadata | grep -q '"SchemaVersion"' || {
  log "the built docker-buildx does not answer as a docker CLI plugin"
  exit 1
}
date -u +%FT%TZ >"$OUT/.complete"
log "built docker buildx $BUILDX_VERSION in $(($(date +%s) - start))s into $PLUGINS"
echo "$PLUGINS"
