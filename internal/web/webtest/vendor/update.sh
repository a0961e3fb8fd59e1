#!/usr/bin/env bash
# Re-vendors axe-core from npm and checks it against the recorded hash.
#
#   internal/web/webtest/vendor/update.sh          # fetch AXE_VERSION, fail unless it matches axe.min.js.sha256
#   internal/web/webtest/vendor/update.sh 4.10.4   # move to another version and record its hash
#
# The npm tarball's own integrity is checked by npm; the sha256 of axe.min.js
# recorded here is what TestVendoredAxeHash checks the embedded file against.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
version="${1:-$(cat AXE_VERSION)}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack --silent "axe-core@$version" >/dev/null)
tar -xzf "$tmp/axe-core-$version.tgz" -C "$tmp"
got="$(sha256sum "$tmp/package/axe.min.js" | cut -d' ' -f1)"

# axe-core publishes the SRI hash of every release in sri-history.json: the
# file must match what its authors recorded, not only what npm served today.
sri="$(node -e 'const h=require(process.argv[1])[process.argv[2]]; process.stdout.write(h ? h["axe.min.js"] : "")' \
  "$tmp/package/sri-history.json" "$version")"
mine="sha256-$(openssl dgst -sha256 -binary "$tmp/package/axe.min.js" | base64 -w0)"
if [ "$sri" != "$mine" ]; then
  echo "axe-core $version: axe.min.js is $mine, its sri-history.json says ${sri:-nothing}" >&2
  exit 1
fi

if [ $# -eq 0 ]; then
  want="$(cut -d' ' -f1 axe.min.js.sha256)"
  if [ "$got" != "$want" ]; then
    echo "axe-core $version: sha256 $got, recorded $want" >&2
    exit 1
  fi
fi

cp "$tmp/package/axe.min.js" axe.min.js
cp "$tmp/package/LICENSE" axe-core.LICENSE
cp "$tmp/package/LICENSE-3RD-PARTY.txt" axe-core.LICENSE-3RD-PARTY.txt
echo "$version" > AXE_VERSION
echo "$got  axe.min.js" > axe.min.js.sha256
echo "vendored axe-core $version (sha256 $got)"
