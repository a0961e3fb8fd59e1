#!/bin/sh
# Runs Lighthouse (npm, pinned) on portal pages as a signed-in user, with
# the mobile preset, in Debian's headless Chromium, and prints one JSON
# line per page: its URL, the performance, accessibility and
# best-practices scores (0-100) and the audits that fell short.
#
#   scripts/lighthouse.sh OUTDIR 'portico_session=...' URL...
#
# `portico bench web --lighthouse` calls it. Lighthouse is installed once
# into a cache directory outside the repository:
# $PORTICO_CACHE (default $XDG_CACHE_HOME/portico or ~/.cache/portico),
# lighthouse-VERSION/. Lighthouse 13 needs Node 22; 12.2.3 runs on Node 20.
# PORTICO_CHROMIUM names another Chromium. OUTDIR receives each page's
# full report (N.report.json).
set -eu
VERSION=12.2.3
[ $# -ge 3 ] || { echo "usage: $0 OUTDIR COOKIE URL..." >&2; exit 2; }
out=$1 cookie=$2
shift 2
cache=${PORTICO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/portico}/lighthouse-$VERSION
lh=$cache/node_modules/.bin/lighthouse
if [ ! -x "$lh" ]; then
	mkdir -p "$cache"
	echo "installing lighthouse@$VERSION into $cache" >&2
	npm install --prefix "$cache" --no-audit --no-fund --save-exact "lighthouse@$VERSION" >&2
fi
chromium=${PORTICO_CHROMIUM:-/usr/bin/chromium}
mkdir -p "$out"
headers=$out/headers.json
node -e 'process.stdout.write(JSON.stringify({Cookie: process.argv[1]}))' "$cookie" >"$headers"
i=0
for url; do
	i=$((i + 1))
	report=$out/$i.report.json
	"$lh" "$url" --quiet --chrome-path="$chromium" \
		--chrome-flags="--headless=new --no-sandbox --disable-gpu --disable-background-networking --disable-component-update --no-first-run" \
		--only-categories=performance,accessibility,best-practices \
		--extra-headers="$headers" --output=json --output-path="$report" >&2
	node -e '
const r = require(process.argv[1]);
const score = (c) => Math.round(r.categories[c].score * 100);
const short = [];
for (const c of ["performance", "accessibility", "best-practices"]) {
  for (const ref of r.categories[c].auditRefs) {
    const a = r.audits[ref.id];
    if (ref.weight > 0 && a.score !== null && a.score < 1) short.push(c + ":" + a.id + "=" + a.score);
  }
}
const console_ = ((r.audits["errors-in-console"].details || {}).items || []).map((i) => i.source + ": " + i.description);
const m = (id) => r.audits[id] && r.audits[id].numericValue !== undefined ? Math.round(r.audits[id].numericValue) : null;
console.log(JSON.stringify({url: r.finalDisplayedUrl, requested: r.requestedUrl, performance: score("performance"),
  accessibility: score("accessibility"), best_practices: score("best-practices"),
  fcp_ms: m("first-contentful-paint"), lcp_ms: m("largest-contentful-paint"), tbt_ms: m("total-blocking-time"),
  cls: r.audits["cumulative-layout-shift"].numericValue, short, console: console_}));
' "$(cd "$out" && pwd)/$i.report.json"
done
