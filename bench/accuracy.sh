#!/bin/sh
# accuracy.sh [BUILD_DIR] - test accuracy of the presets over seeds 1, 2, 3 (the first
# three, none picked by hand), trained on all 60,000 MNIST training images
# (--val-split 0) as the PyTorch reference runs were, batch 32, Adam, Keras defaults.
# Prints each run and the mean and minimum per preset. ACCURACY_ARGS adds train flags,
# e.g. ACCURACY_ARGS="--schedule constant" for the tutorials' constant learning rate.
set -eu
build=${1:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
runs="seed-cnn:5 seed-cnn-dropout:5 mlp:3"
if [ -n "${ACCURACY_PRESETS:-}" ]; then
    runs=$ACCURACY_PRESETS
fi
printf '%-18s %6s %5s %10s\n' preset epochs seed accuracy
for run in $runs; do
    preset=${run%%:*}
    epochs=${run##*:}
    for seed in 1 2 3; do
        # shellcheck disable=SC2086 # ACCURACY_ARGS is a list of flags
        acc=$("$build/digits" train --preset "$preset" --epochs "$epochs" --seed "$seed" \
            --val-split 0 ${ACCURACY_ARGS:-} -q -o "$tmp/m.model" |
            sed -n 's/^test accuracy: \([0-9.]*\)%*$/\1/p')
        printf '%-18s %6s %5s %10s\n' "$preset" "$epochs" "$seed" "$acc" | tee -a "$tmp/all"
    done
done
echo
awk '{ n[$1]++; s[$1] += $4; if (!($1 in m) || $4 < m[$1]) m[$1] = $4 }
     END { for (p in n) printf "%-18s mean %.4f  min %.4f  (%d seeds)\n", p, s[p] / n[p], m[p], n[p] }' \
    "$tmp/all"
