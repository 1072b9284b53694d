#!/bin/sh
# preprocess_compare.sh - how much the MNIST-faithful preprocessing of `digits predict`
# helps on images that do not look like MNIST: accuracy on a synthetic set of handwritten
# digits (Paint canvases, paper scans and photos, dark screens, MNIST-like frames; see
# scripts/gen_samples.c) against the tutorials' naive preprocessing (grey, resize the whole
# image to 28x28, invert if bright; scripts/naive_predict.c), with the same model.
#
#   bench/preprocess_compare.sh [BUILD_DIR] [N] [SEED] [MODEL]
#
# Defaults: build, 600 images, seed 1, model/digits.model. Skips (exit 0) when there is no
# model. Every answer counts (--min-confidence 0): an unsure answer is still a digit.
set -eu

B=${1:-build}
N=${2:-600}
SEED=${3:-1}
MODEL=${4:-model/digits.model}

if [ ! -f "$MODEL" ]; then
    echo "preprocess_compare: skipped: no model at $MODEL (train one with: $B/digits train -o $MODEL)"
    exit 0
fi
for tool in digits gen_samples naive_predict; do
    if [ ! -x "$B/$tool" ]; then
        echo "preprocess_compare: $B/$tool is missing; run make first" >&2
        exit 1
    fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/preprocess_compare.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

"$B/gen_samples" --set "$N" --seed "$SEED" "$tmp/set" >/dev/null
"$B/digits" predict --model "$MODEL" --csv --min-confidence 0 "$tmp/set" >"$tmp/faithful.csv" ||
    true
"$B/naive_predict" --model "$MODEL" --min-confidence 0 "$tmp"/set/*.png >"$tmp/naive.csv" || true

# One line per canvas and one for all: "name images correct", from labels.csv (file, label,
# canvas) and a predict CSV (path, digit, confidence, status).
score() {
    awk -F, '
        NR == FNR { if (FNR > 1) { label[$1] = $2; canvas[$1] = $3 } next }
        FNR > 1 {
            n = split($1, part, "/"); f = part[n]
            if (!(f in label)) next
            c = canvas[f]; total[c]++; all++
            if ($2 == label[f]) { right[c]++; good++ }
        }
        END {
            for (c in total) printf "%s %d %d\n", c, total[c], right[c] + 0
            printf "all %d %d\n", all, good + 0
        }' "$tmp/set/labels.csv" "$1" | sort
}
score "$tmp/faithful.csv" >"$tmp/faithful.txt"
score "$tmp/naive.csv" >"$tmp/naive.txt"

echo "synthetic handwritten digits: $N images, seed $SEED, model $MODEL"
printf '%-8s %7s %16s %16s\n' canvas images "MNIST-faithful" "naive resize"
join "$tmp/faithful.txt" "$tmp/naive.txt" >"$tmp/both.txt"
row() {
    awk '{ printf "%-8s %7d %15.1f%% %15.1f%%\n", $1, $2, $2 ? 100 * $3 / $2 : 0, $4 ? 100 * $5 / $4 : 0 }'
}
grep -v '^all ' "$tmp/both.txt" | row || true
grep '^all ' "$tmp/both.txt" | row
