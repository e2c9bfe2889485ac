#!/usr/bin/env bash
# Packs the five packages as they would be published and installs the tarballs with plain npm into
# <dir>/app, an empty project outside the workspace: what a user who runs `npm install` gets. The
# tarballs stay in <dir>/tarballs. Used by pack-check and by the scale bench, which measures the
# daemon as installed (compiled JavaScript, no type stripping).
set -euo pipefail
if [ $# -ne 1 ]; then
  echo "usage: install-packed.sh <dir>" >&2
  exit 2
fi
work=$1
cd "$(dirname "$0")/.."
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
