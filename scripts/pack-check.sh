#!/usr/bin/env bash
# Packs the five packages as they would be published, installs the tarballs with plain npm into an
# empty directory outside the workspace, and runs what a new user would: the `meshwork` binary and
# a small program (scripts/pack-check/consumer.js), which is also type-checked against the
# installed declarations, and the library examples (examples/*.ts) as a user would copy them. Run it through `pnpm pack-check`, which puts the workspace's Node first
# on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
node -e 'if (+process.versions.node.split(".")[0] < 22) { console.error(`pack-check: Node ${process.version}; run it as pnpm pack-check`); process.exit(1) }'

work=$(mktemp -d "${TMPDIR:-/tmp}/meshwork-pack-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/tarballs" "$work/app"

for pkg in core transport coordinator node worker; do
  # prepack builds dist/ from scratch; publishConfig points exports, types and bin at it.
  (cd "packages/$pkg" && npx --loglevel=error -y pnpm@10 pack --pack-destination "$work/tarballs" >/dev/null)
done
echo "pack-check: packed $(cd "$work/tarballs" && echo *.tgz)"
for tarball in "$work"/tarballs/*.tgz; do
  if tar -tzf "$tarball" | grep -E -q '(^package/(test|bench)/|tsbuildinfo$)'; then
    echo "pack-check: $(basename "$tarball") holds tests or build state" >&2
    exit 1
  fi
done

cd "$work/app"
echo '{ "name": "pack-check-app", "private": true, "type": "module" }' >package.json
npm install --prefer-offline --no-audit --no-fund --loglevel=error "$work"/tarballs/*.tgz

version=$(./node_modules/.bin/meshwork --version)
expected=$(node -p 'require("./node_modules/@meshwork/node/package.json").version')
if [ "$version" != "$expected" ]; then
  echo "pack-check: meshwork --version printed '$version', expected '$expected'" >&2
  exit 1
fi
echo "pack-check: meshwork --version -> $version"
./node_modules/.bin/meshwork init --data-dir "$work/node-data" --name packed --json >"$work/init.json"
echo "pack-check: meshwork init made peer $(node -p "require('$work/init.json').peerId") in $work/node-data"

cp "$root/scripts/pack-check/consumer.js" consumer.js
node consumer.js
cat >tsconfig.json <<JSON
{
  "compilerOptions": {
    "target": "ES2023",
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "strict": true,
    "allowJs": true,
    "checkJs": true,
    "noEmit": true,
    "skipLibCheck": true,
    "typeRoots": ["$root/node_modules/@types"],
    "types": ["node"]
  },
  "files": ["consumer.js"]
}
JSON
"$root/node_modules/.bin/tsc" -p tsconfig.json
echo "pack-check: consumer.js type-checks against the installed declarations"

for example in library-quick-start workflow resource-pool; do
  cp "$root/examples/$example.ts" "$example.ts"
  node "$example.ts" >"$work/$example.out"
  echo "pack-check: examples/$example.ts -> $(tail -n 1 "$work/$example.out")"
done
