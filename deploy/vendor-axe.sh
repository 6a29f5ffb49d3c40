#!/usr/bin/env bash
# axe-core (npm package axe-core) for the accessibility browser tests, fetched at install time
# (never a CDN; the file is not committed: .gitignore). bootstrap.sh runs it.
# The tarball comes from the npm registry through npm itself and must match the pinned hash.
#   deploy/vendor-axe.sh [TARGET]   (default tests/browser/vendor/axe-core)
# Idempotent: a target that already holds this version is left as it is.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=4.14.1
INTEGRITY="sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
target="${1:-tests/browser/vendor/axe-core}"

if [ "$(cat "$target/VERSION" 2>/dev/null)" = "$VERSION" ]; then
  exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "axe-core@$VERSION" >/dev/null)
tarball="$work/axe-core-$VERSION.tgz"
actual="sha512-$(node -e 'process.stdout.write(require("crypto").createHash("sha512")
  .update(require("fs").readFileSync(process.argv[1])).digest("base64"))' "$tarball")"
if [ "$actual" != "$INTEGRITY" ]; then
  echo "axe-core $VERSION: the tarball does not match the pinned hash" >&2
  exit 1
fi
tar -xzf "$tarball" -C "$work"
staged="$work/out"
mkdir -p "$staged"
cp "$work/package/axe.min.js" "$work/package/LICENSE" "$staged/"
echo "$VERSION" > "$staged/VERSION"
rm -rf "$target"
mkdir -p "$(dirname "$target")"
mv "$staged" "$target"
echo "[vendor-axe] axe-core $VERSION in $target"
