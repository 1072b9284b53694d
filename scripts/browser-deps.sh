#!/bin/sh
# browser-deps.sh - what the report's browser test needs (tests/browser/layout.js): Debian's
# chromium and node, and puppeteer-core from npm into tests/browser/node_modules (ignored by
# git; --ignore-scripts, so npm downloads no browser of its own). Safe to run again.
set -eu
cd "$(dirname "$0")/.."
missing=""
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || missing="$missing chromium"
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ]; then
        apt-get install -y $missing
    else
        echo "browser-deps: missing:$missing; run: sudo apt-get install -y$missing" >&2
        exit 1
    fi
fi
if [ ! -f tests/browser/node_modules/puppeteer-core/package.json ]; then
    (cd tests/browser && npm install --ignore-scripts --no-audit --no-fund)
fi
echo "browser-deps: chromium, node and puppeteer-core are ready for make test"
