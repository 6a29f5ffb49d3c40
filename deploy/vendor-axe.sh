#!/usr/bin/env bash
# axe-core (npm package axe-core) for the accessibility browser tests, fetched at install time
# (never a CDN; the file is not committed: .gitignore). bootstrap.sh runs it.
# The tarball comes from the npm registry through npm itself and must match the pinned hash.
#   deploy/vendor-axe.sh [TARGET]   (default tests/browser/vendor/axe-core)
# Idempotent: a target that already holds this version is left as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
. deploy/npm-package.sh

VERSION=4.14.1
INTEGRITY="sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
target="${1:-tests/browser/vendor/axe-core}"

if [ "$(cat "$target/VERSION" 2>/dev/null)" = "$VERSION" ]; then
  exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
npm_package_unpacked axe-core "$VERSION" "$INTEGRITY" "$work"
staged="$work/out"
mkdir -p "$staged"
cp "$work/package/axe.min.js" "$work/package/LICENSE" "$staged/"
npm_folder_installed "$staged" "$target" "$VERSION"
echo "[vendor-axe] axe-core $VERSION in $target"
