#!/bin/sh
# install-deps.sh - installs the Debian packages digits builds with, when any is missing.
# As root it runs apt-get; otherwise it prints the exact command and fails.
set -eu

packages="build-essential zlib1g-dev libpng-dev libjpeg62-turbo-dev libopenblas-dev"

missing=""
for p in $packages; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
        missing="$missing $p"
    fi
done
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
