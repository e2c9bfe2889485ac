#!/usr/bin/env bash
# Packs the five packages as they would be published, installs the tarballs with plain npm into an
# empty directory outside the workspace (scripts/install-packed.sh), and runs what a new user would: the `meshwork` binary and
# a small program (scripts/pack-check/consumer.js), which is also type-checked against the
# installed declarations, and the library examples (examples/*.ts) as a user would copy them. Run it through `pnpm pack-check`, which puts the workspace's Node first
# on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
node -e 'if (+process.versions.node.split(".")[0] < 22) { console.error(`pack-check: Node ${process.version}; run it as pnpm pack-check`); process.exit(1) }'

work=$(mktemp -d "${TMPDIR:-/tmp}/meshwork-pack-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
bash scripts/install-packed.sh "$work"
echo "pack-check: packed $(cd "$work/tarballs" && echo *.tgz)"
cd "$work/app"

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
