#!/bin/sh
# augment_cost.sh [BUILD_DIR] [ROUNDS] [FLAGS] - what --augment costs a training epoch:
# one full 60,000-image epoch of seed-cnn on 2 threads without, then with, augmentation
# (FLAGS, default --augment), alternating A/B/A/B for ROUNDS rounds (default 2) so that
# other jobs on a shared machine weigh on both alike. Prints each run's epoch seconds
# (data loading and the test excluded) and the medians and their ratio.
set -eu
build=${1:-build}
rounds=${2:-2}
flags=${3:---augment}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

epoch_seconds() {
    # shellcheck disable=SC2086 # $1 is a list of flags
    "$build/digits" train --preset seed-cnn --epochs 1 --val-split 0 --no-test --threads 2 \
        $1 -o "$tmp/m.model" 2>&1 | sed -n 's/^epoch 1\/1: \([0-9.]*\)s.*/\1/p'
}

median() {
    sort -n | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

i=1
while [ "$i" -le "$rounds" ]; do
    a=$(epoch_seconds "")
    b=$(epoch_seconds "$flags")
    echo "round $i: plain ${a}s, $flags ${b}s (load $(cut -d' ' -f1 /proc/loadavg))"
    echo "$a" >>"$tmp/a"
    echo "$b" >>"$tmp/b"
    i=$((i + 1))
done
ma=$(median <"$tmp/a")
mb=$(median <"$tmp/b")
echo "median epoch: plain ${ma}s, $flags ${mb}s, ratio $(echo "$ma $mb" | awk '{ printf "%.3f", $2 / $1 }')"
