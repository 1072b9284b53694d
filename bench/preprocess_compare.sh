#!/bin/sh
# preprocess_compare.sh - how much the MNIST-faithful preprocessing of `digits predict`
# helps on images that do not look like MNIST: accuracy on a synthetic set of handwritten
# digits (Paint canvases, paper scans and photos, dark screens, MNIST-like frames; see
# scripts/gen_samples.c) against the tutorials' naive preprocessing (grey, resize the whole
# image to 28x28, invert if bright; scripts/naive_predict.c), with the same model. Then
# phone photos of a page under real light (gen_samples --light: a hard shadow, light
# falling off, the page on a desk, a page edge or fold, defocus, keystone, and "plain"
# without any): single digits by `digits predict`, and whole numbers of 2-6 digits by
# `digits read`, counted right only when every digit is.
#
#   bench/preprocess_compare.sh [BUILD_DIR] [N] [SEED] [MODEL]
#
# Defaults: build, 600 images (and as many photos, and half as many numbers), seed 1,
# model/digits.model. Skips (exit 0) when there is no
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

# One line per canvas and one for all: "name images correct", from a predict CSV (path,
# digit, confidence, status) and labels.csv (file, label, canvas; the set's by default).
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
        }' "${2:-$tmp/set/labels.csv}" "$1" | sort
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

# Phone photos under real light: one line per condition, digits and whole numbers.
"$B/gen_samples" --set "$N" --seed "$SEED" --light "$tmp/light" >/dev/null
"$B/gen_samples" --set $((N / 2)) --seed "$SEED" --light --numbers "$tmp/lightnum" >/dev/null
"$B/digits" predict --model "$MODEL" --csv --min-confidence 0 "$tmp/light" >"$tmp/light.csv" ||
    true
"$B/digits" read --model "$MODEL" --csv --min-confidence 0 "$tmp/lightnum" >"$tmp/lightnum.csv" ||
    true
score "$tmp/light.csv" "$tmp/light/labels.csv" >"$tmp/light.txt"
awk -F, -v labels="$tmp/lightnum/labels.csv" '
    BEGIN { while ((getline line < labels) > 0) { split(line, col, ","); label[col[1]] = col[2]; cond[col[1]] = col[3] } }
    FNR > 1 {
        n = split($1, part, "/"); f = part[n]
        if (!(f in label)) next
        c = cond[f]; total[c]++; all++
        if ($2 == label[f]) { right[c]++; good++ }
    }
    END {
        for (c in total) printf "%s %d %d\n", c, total[c], right[c] + 0
        printf "all %d %d\n", all, good + 0
    }' "$tmp/lightnum.csv" | sort >"$tmp/lightnum.txt"
echo
echo "phone photos under real light: $N digits, $((N / 2)) numbers, seed $SEED"
printf '%-9s %7s %10s %8s %12s\n' condition digits predict numbers "read exactly"
join "$tmp/light.txt" "$tmp/lightnum.txt" | awk '{ printf "%-9s %7d %9.1f%% %8d %11.1f%%\n", $1, $2, $2 ? 100 * $3 / $2 : 0, $4, $4 ? 100 * $5 / $4 : 0 }' |
    sort -k1,1 | awk '$1 != "all"'
join "$tmp/light.txt" "$tmp/lightnum.txt" | awk '$1 == "all" { printf "%-9s %7d %9.1f%% %8d %11.1f%%\n", $1, $2, $2 ? 100 * $3 / $2 : 0, $4, $4 ? 100 * $5 / $4 : 0 }'
