# Sourced by the deploy/vendor-*.sh scripts: an npm package fetched at install time through npm
# itself, checked against its pinned hash, then installed as a folder holding a VERSION file.

# npm_package_unpacked NAME VERSION INTEGRITY WORK: the package's files under WORK/package, or
# exit 1 when the tarball does not match INTEGRITY (the npm registry's sha512).
npm_package_unpacked() {
  local name="$1" version="$2" integrity="$3" work="$4" tarball actual
  (cd "$work" && npm pack --silent "$name@$version" >/dev/null)
  tarball="$work/${name}-${version}.tgz"
  actual="sha512-$(node -e 'process.stdout.write(require("crypto").createHash("sha512")
    .update(require("fs").readFileSync(process.argv[1])).digest("base64"))' "$tarball")"
  if [ "$actual" != "$integrity" ]; then
    echo "$name $version: the tarball does not match the pinned hash" >&2
    exit 1
  fi
  tar -xzf "$tarball" -C "$work"
}

# npm_folder_installed STAGED TARGET VERSION: STAGED (with a VERSION file) replaces TARGET.
npm_folder_installed() {
  local staged="$1" target="$2" version="$3"
  echo "$version" > "$staged/VERSION"
  rm -rf "$target"
  mkdir -p "$(dirname "$target")"
  mv "$staged" "$target"
}
