#!/usr/bin/env bash
# Re-creates web/vendor/hls.light.min.js (served at /web/vendor/hls.light.min.js to the public
# watch page) and web/vendor/LICENSE.hls.js.txt (Apache-2.0) from the hls.js version pinned,
# exactly, in web/vendor/package.json and package-lock.json: `npm ci` (which checks the lock's
# integrity hash), then a byte-for-byte copy of the package's dist/hls.light.min.js and LICENSE.
#
#   scripts/vendor-hls.sh           refresh the two files (after `npm install --save-exact
#                                   hls.js@<version>` in web/vendor to move the pin)
#   scripts/vendor-hls.sh --check   change nothing; exit 1 if either committed file differs
#                                   from the pinned package's (installed in a temporary folder)
# Needs node and npm, and the npm registry (or a cache holding the pinned tarball).
set -euo pipefail
cd "$(dirname "$0")/.."
vendor=web/vendor
files=("dist/hls.light.min.js:hls.light.min.js" "LICENSE:LICENSE.hls.js.txt")

check=0
case "${1:-}" in
  --check) check=1 ;;
  "") ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

pinned=$(node -e 'const p = require(process.argv[1]); const v = (p.dependencies || {})["hls.js"];
  if (!/^\d+\.\d+\.\d+$/.test(v || "")) { console.error(`hls.js is not pinned to an exact version: ${v}`); process.exit(1); }
  console.log(v);' "$PWD/$vendor/package.json")

if [ "$check" = 1 ]; then
  # A scratch install: the work tree (and any node_modules there) stays as it is.
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  cp "$vendor/package.json" "$vendor/package-lock.json" "$work/"
  (cd "$work" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null)
  pkg="$work/node_modules/hls.js"
else
  (cd "$vendor" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null)
  pkg="$vendor/node_modules/hls.js"
fi

installed=$(node -p 'require(process.argv[1]).version' "$(cd "$pkg" && pwd)/package.json")
if [ "$installed" != "$pinned" ]; then
  echo "npm ci installed hls.js $installed, but package.json pins $pinned" >&2
  exit 1
fi

status=0
for pair in "${files[@]}"; do
  from="$pkg/${pair%%:*}" to="$vendor/${pair##*:}"
  if [ "$check" = 1 ]; then
    if ! cmp -s "$from" "$to"; then
      echo "$to differs from hls.js@$pinned ${pair%%:*} (run scripts/vendor-hls.sh)" >&2
      status=1
    fi
  else
    cp "$from" "$to"
    chmod 644 "$to"
  fi
done
if [ "$check" = 1 ] && [ "$status" = 0 ]; then
  echo "web/vendor matches hls.js@$pinned"
elif [ "$check" = 0 ]; then
  echo "web/vendor: hls.light.min.js and LICENSE.hls.js.txt from hls.js@$pinned"
fi
exit "$status"
