#!/bin/sh
# browser-test.sh DIGITS_BIN MODEL [SHOTS_DIR] - runs tests/browser/serve.test.js: the page
# of `digits serve` in headless chromium driven by puppeteer-core. Screenshots go to
# SHOTS_DIR (default build-browser/shots).
#   scripts/browser-test.sh --install   installs puppeteer-core into build-browser/ (npm,
#                                       no install scripts: it uses Debian's chromium and
#                                       downloads no browser)
# Exit status: the test's (0 passed, 1 failed); 77 when chromium, node, puppeteer-core or
# the model is missing, with the reason on stdout.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
deps="$root/build-browser"

if [ "${1:-}" = "--install" ]; then
    if [ -d "$deps/node_modules/puppeteer-core" ]; then
        exit 0
    fi
    command -v npm >/dev/null 2>&1 || { echo "browser-test: npm is missing (make deps)" >&2; exit 1; }
    mkdir -p "$deps"
    cd "$deps"
    [ -f package.json ] || echo '{"private": true}' > package.json
    npm install --ignore-scripts --no-audit --no-fund puppeteer-core
    exit 0
fi

if [ $# -lt 2 ]; then
    echo "usage: $0 DIGITS_BIN MODEL [SHOTS_DIR] | $0 --install" >&2
    exit 2
fi
bin=$1
model=$2
shots=${3:-$deps/shots}
if [ ! -x /usr/bin/chromium ]; then
    echo "no /usr/bin/chromium (apt-get install chromium)"
    exit 77
fi
if ! command -v node >/dev/null 2>&1; then
    echo "no node (apt-get install nodejs)"
    exit 77
fi
if [ ! -d "$deps/node_modules/puppeteer-core" ]; then
    echo "no puppeteer-core in build-browser/ (make browser-deps)"
    exit 77
fi
if [ ! -f "$model" ]; then
    echo "no trained model at $model (digits train -o $model)"
    exit 77
fi
mkdir -p "$shots"
NODE_PATH="$deps/node_modules" exec node "$root/tests/browser/serve.test.js" "$bin" "$model" "$shots"
