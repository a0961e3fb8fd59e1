#!/bin/sh
# Re-vendors htmx from the npm registry at the pinned version and checks its
# sha256 against the recorded one (htmx.sha256). To move to another version,
# change VERSION, run `./update.sh --record`, review the diff and commit it.
# The web package's tests check that the embedded file still has this hash.
set -eu
VERSION=2.0.11
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "htmx.org@$VERSION" >/dev/null && tar -xzf "htmx.org-$VERSION.tgz")
cp "$tmp/package/dist/htmx.min.js" htmx.min.js
cp "$tmp/package/LICENSE" htmx.LICENSE
sum=$(sha256sum htmx.min.js | cut -d' ' -f1)
if [ "${1:-}" = "--record" ]; then
	printf '%s  htmx.min.js  htmx.org@%s\n' "$sum" "$VERSION" >htmx.sha256
fi
want=$(cut -d' ' -f1 htmx.sha256)
if [ "$sum" != "$want" ]; then
	echo "htmx.min.js sha256 $sum does not match htmx.sha256 ($want)" >&2
	exit 1
fi
echo "htmx.org@$VERSION vendored, sha256 $sum"
