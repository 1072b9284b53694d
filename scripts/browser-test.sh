#!/bin/sh
# browser-test.sh DIGITS_BIN MODEL [SHOTS_DIR] - runs tests/browser/serve.test.js: the page
# of `digits serve` in headless chromium driven by puppeteer-core. Screenshots go to
# SHOTS_DIR (default build/browser/serve); puppeteer-core comes from tests/browser/node_modules
# (make browser-deps).
# Exit status: the test's (0 passed, 1 failed); 77 when chromium, node, puppeteer-core or
# the model is missing, with the reason on stdout.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
deps="$root/tests/browser"

if [ $# -lt 2 ]; then
    echo "usage: $0 DIGITS_BIN MODEL [SHOTS_DIR]" >&2
    exit 2
fi
bin=$1
model=$2
shots=${3:-$root/build/browser/serve}
if [ ! -x /usr/bin/chromium ]; then
    echo "no /usr/bin/chromium (apt-get install chromium)"
    exit 77
fi
if ! command -v node >/dev/null 2>&1; then
    echo "no node (apt-get install nodejs)"
    exit 77
fi
if [ ! -d "$deps/node_modules/puppeteer-core" ]; then
    echo "no puppeteer-core in tests/browser/node_modules (make browser-deps)"
    exit 77
fi
if [ ! -f "$model" ]; then
    echo "no trained model at $model (digits train -o $model)"
    exit 77
fi
mkdir -p "$shots"
exec node "$root/tests/browser/serve.test.js" "$bin" "$model" "$shots"
