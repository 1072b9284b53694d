#!/bin/sh
# check-install.sh BUILD_DIR - what an installed digits gives a C programmer: installs
# into a temporary prefix (make install PREFIX=...), checks that libdigits.so carries its
# soname and exports only the functions include/digits.h declares, builds
# examples/classify.c and examples/train_small.c with nothing but
# `pkg-config --cflags --libs digits`, runs classify on samples/digits (each image's digit
# is the first character of its name) and train_small on generated data, and uninstalls.
# Exit status 1 on any failure.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${1:-build}
prefix=$(mktemp -d)
work=$(mktemp -d)
trap 'rm -rf "$prefix" "$work"' EXIT

make --no-print-directory B="$build" PREFIX="$prefix" install >/dev/null
lib=$(ls "$prefix"/lib/libdigits.so.*.*)
echo "installed into $prefix: $(cd "$prefix" && find . -type f -o -type l | sort | tr '\n' ' ')"
soname=$(objdump -p "$lib" | sed -n 's/^ *SONAME *//p')
[ "$soname" = "libdigits.so.0" ] || { echo "check-install: soname '$soname'" >&2; exit 1; }
grep -o 'dg_[a-z0-9_]*(' include/digits.h | tr -d '(' | sort -u >"$work/declared"
others=$(nm -D --defined-only "$lib" | awk '{print $3}' | sort | comm -23 - "$work/declared")
if [ -n "$others" ]; then
    echo "check-install: libdigits.so exports what include/digits.h does not declare: $others" >&2
    exit 1
fi
echo "libdigits.so: soname $soname, $(nm -D --defined-only "$lib" | wc -l) symbols, all declared in digits.h"

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Werror examples/classify.c $(pkg-config --cflags --libs digits) -o "$work/classify"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Werror examples/train_small.c $(pkg-config --cflags --libs digits) \
    -o "$work/train_small"
ldd "$work/classify" | grep -q "$prefix/lib/libdigits.so.0" ||
    { echo "check-install: classify does not use the installed libdigits.so" >&2; exit 1; }

"$work/train_small" -o "$work/bars.model"
model=model/digits.model
if [ ! -f "$model" ]; then
    model=$work/digits.model
    if [ -f data/mnist/train-images-idx3-ubyte ] || [ -f data/mnist/train-images-idx3-ubyte.gz ]; then
        "$build/digits" train --preset fast -o "$model" >/dev/null 2>&1
    fi
fi
if [ -f "$model" ]; then
    "$work/classify" "$model" samples/digits/*.png >"$work/out.txt"
    wrong=0
    while IFS= read -r line; do
        name=${line%%:*}
        want=$(basename "$name" | cut -c1)
        got=$(echo "$line" | sed 's/^[^:]*: \([0-9]\).*/\1/')
        [ "$got" = "$want" ] || { echo "  $line (want $want)"; wrong=$((wrong + 1)); }
    done <"$work/out.txt"
    echo "classify: $(wc -l <"$work/out.txt") samples, $wrong not read as their name says"
    [ "$wrong" -le 2 ] || exit 1
else
    echo "check-install: no model and no MNIST: classify not run"
fi
make --no-print-directory B="$build" PREFIX="$prefix" uninstall >/dev/null
left=$(find "$prefix" -type f -o -type l)
[ -z "$left" ] || { echo "check-install: uninstall left $left" >&2; exit 1; }
echo "check-install: ok"
