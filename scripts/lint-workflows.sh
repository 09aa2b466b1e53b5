#!/usr/bin/env bash
# Lints the project's workflows and the README's workflow examples with actionlint:
#   .github/workflows/*.yml  examples/*.yml
# actionlint is built from its Go module once per version (needs Go) into
#   ${ROLLOUT_GUARD_CACHE:-$HOME/.cache/rollout-guard}/tools/actionlint-<version>/actionlint
# and reused from there. Set ACTIONLINT_VERSION to use another release.
#
# Offline by design: actionlint never downloads anything while linting. It knows the inputs of popular actions from
# a table compiled into it and does not fetch other actions' action.yml, so `acme/rollout-guard@v1` (and any action
# pinned by commit SHA) is not checked against its inputs; test/unit/readme-examples.test.ts checks the examples'
# rollout-guard inputs against action.yml instead. The only other programs it runs are shellcheck and pyflakes,
# when they are on PATH, to lint `run:` scripts; without them those checks are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION="${ACTIONLINT_VERSION:-v1.7.12}"
CACHE_ROOT="${ROLLOUT_GUARD_CACHE:-$HOME/.cache/rollout-guard}"
DIR="$CACHE_ROOT/tools/actionlint-$VERSION"
BIN="$DIR/actionlint"

if [ ! -x "$BIN" ]; then
  command -v go >/dev/null || { echo "lint-workflows: Go is needed to build actionlint $VERSION" >&2; exit 1; }
  echo "lint-workflows: building actionlint $VERSION into $DIR (once)" >&2
  mkdir -p "$DIR"
  # Build into a temporary folder first, so an interrupted build never leaves a half-written binary behind.
  tmp=$(mktemp -d "$DIR/.build.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  GOBIN="$tmp" GOFLAGS="${GOFLAGS:-} -buildvcs=false" go install "github.com/rhysd/actionlint/cmd/actionlint@$VERSION"
  mv "$tmp/actionlint" "$BIN"
fi

shopt -s nullglob
files=(.github/workflows/*.yml .github/workflows/*.yaml examples/*.yml examples/*.yaml)
if [ ${#files[@]} -eq 0 ]; then
  echo "lint-workflows: no workflow files found" >&2
  exit 1
fi
"$BIN" -oneline "$@" "${files[@]}"
echo "lint-workflows: ${#files[@]} files clean (actionlint $VERSION)"
