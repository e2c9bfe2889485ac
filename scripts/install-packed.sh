#!/usr/bin/env bash
# Packs the five packages as they would be published and installs the tarballs with plain npm into
# <dir>/app, an empty project outside the workspace: what a user who runs `npm install` gets. The
# tarballs stay in <dir>/tarballs. Used by pack-check and by the scale bench, which measures the
# daemon as installed (compiled JavaScript, no type stripping).
#
# With --with-patches, the workspace's patches to dependencies (patches/, applied by pnpm inside the
# workspace only) are applied to the installed copies too, each to the version it was made for.
set -euo pipefail
usage() {
  echo "usage: install-packed.sh <dir> [--with-patches]" >&2
  exit 2
}
[ $# -ge 1 ] && [ $# -le 2 ] || usage
work=$(mkdir -p "$1" && cd "$1" && pwd)
with_patches=false
if [ $# -eq 2 ]; then
  [ "$2" = --with-patches ] || usage
  with_patches=true
fi
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mkdir -p "$work/tarballs" "$work/app"

for pkg in core transport coordinator node worker; do
  # prepack builds dist/ from scratch; publishConfig points exports, types and bin at it.
  (cd "packages/$pkg" && npx --loglevel=error -y pnpm@10 pack --pack-destination "$work/tarballs" >/dev/null)
done
for tarball in "$work"/tarballs/*.tgz; do
  if tar -tzf "$tarball" | grep -E -q '(^package/(test|bench)/|tsbuildinfo$)'; then
    echo "install-packed: $(basename "$tarball") holds tests or build state" >&2
    exit 1
  fi
done

cd "$work/app"
echo '{ "name": "meshwork-packed", "private": true, "type": "module" }' >package.json
npm install --prefer-offline --no-audit --no-fund --loglevel=error "$work"/tarballs/*.tgz

if $with_patches; then
  for file in "$root"/patches/*.patch; do
    spec=$(basename "$file" .patch) # @scope__name@version
    name=${spec%@*}
    name=${name/__//}
    version=${spec##*@}
    installed=$(node -p "require('./node_modules/$name/package.json').version")
    if [ "$installed" != "$version" ]; then
      echo "install-packed: $name is $installed here, its patch is for $version" >&2
      exit 1
    fi
    patch --quiet -p1 -d "node_modules/$name" <"$file"
  done
fi
