#!/usr/bin/env bash
# pdf.js (npm package pdfjs-dist) for the document viewer, fetched at install time and served by
# the gateway from its own /static (never a CDN; the files are not committed: .gitignore).
# bootstrap.sh runs it for the local stack, the Dockerfile's pdfjs stage for the image.
# The tarball comes from the npm registry through npm itself and must match the pinned hash.
#   deploy/vendor-pdfjs.sh [TARGET]   (default gateway/web/static/vendor/pdfjs)
# Idempotent: a target that already holds this version is left as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
. deploy/npm-package.sh

VERSION=6.5.438
INTEGRITY="sha512-vg8Pw1x+AFKy4AMDvhuWl5cOYV8d698UoEANoFFhc79hqXDnZQqnOXoxw3HG907WHOg1JYOvLhP756boddFxpA=="
target="${1:-gateway/web/static/vendor/pdfjs}"

if [ "$(cat "$target/VERSION" 2>/dev/null)" = "$VERSION" ]; then
  exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
npm_package_unpacked pdfjs-dist "$VERSION" "$INTEGRITY" "$work"
# The legacy build: the phones of clients run browsers a few versions behind the newest.
# cmaps, standard fonts, wasm decoders (and their no-wasm fallbacks) and colour profiles are
# fetched by pdf.js on demand for the PDFs that need them.
staged="$work/out"
mkdir -p "$staged"
cp "$work/package/legacy/build/pdf.min.mjs" "$work/package/legacy/build/pdf.worker.min.mjs" \
   "$work/package/LICENSE" "$staged/"
cp -r "$work/package/cmaps" "$work/package/standard_fonts" "$work/package/wasm" \
   "$work/package/iccs" "$staged/"
npm_folder_installed "$staged" "$target" "$VERSION"
echo "[vendor-pdfjs] pdfjs-dist $VERSION in $target"
