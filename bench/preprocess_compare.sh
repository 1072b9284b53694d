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
#   bench/preprocess_compare.sh [BUILD_DIR] [N] [SEEDS] [MODEL]
#
# Defaults: build, 600 images (and as many photos, and half as many numbers), seed 1,
# model/digits.model. SEEDS is one seed or a range FIRST-LAST: the sets of every seed in
# it are drawn and counted together (1-5: 3,000 photos, about 430 a condition, where one
# seed's 85 a condition move by 1.2 points a photo). Skips (exit 0) when there is no
# model. Every answer counts (--min-confidence 0): an unsure answer is still a digit.
set -eu

B=${1:-build}
N=${2:-600}
SEEDS=${3:-1}
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

case $SEEDS in
*-*) FIRST=${SEEDS%-*} LAST=${SEEDS#*-} ;;
*) FIRST=$SEEDS LAST=$SEEDS ;;
esac
case $FIRST$LAST in
'' | *[!0-9]*)
    echo "preprocess_compare: SEEDS must be a seed or a range such as 1-5, not '$SEEDS'" >&2
    exit 1
    ;;
esac
if [ "$FIRST" = "$LAST" ]; then SEED_WORDS="seed $FIRST"; else SEED_WORDS="seeds $SEEDS"; fi

# Every seed's set, drawn into DIR/SEED, with the labels keyed by the image's path in
# DIR.labels ("DIR/SEED/FILE,label,kind"), so that the seeds are counted together; the
# answers go to DIR.csv.
draw() { # DIR GEN_SAMPLES_ARGS...
    dir=$1
    shift
    mkdir -p "$dir"
    : >"$dir.labels"
    : >"$dir.csv"
    s=$FIRST
    while [ "$s" -le "$LAST" ]; do
        "$B/gen_samples" "$@" --seed "$s" "$dir/$s" >/dev/null
        awk -F, -v d="$dir/$s" 'FNR > 1 { print d "/" $0 }' "$dir/$s/labels.csv" >>"$dir.labels"
        s=$((s + 1))
    done
}
answer() { # DIR COMMAND: `digits COMMAND --csv` on every seed's set, into DIR.csv
    s=$FIRST
    while [ "$s" -le "$LAST" ]; do
        "$B/digits" "$2" --model "$MODEL" --csv --min-confidence 0 "$1/$s" >>"$1.csv" || true
        s=$((s + 1))
    done
}

draw "$tmp/set" --set "$N"
answer "$tmp/set" predict
: >"$tmp/naive.csv"
s=$FIRST
while [ "$s" -le "$LAST" ]; do
    "$B/naive_predict" --model "$MODEL" --min-confidence 0 "$tmp/set/$s"/*.png >>"$tmp/naive.csv" ||
        true
    s=$((s + 1))
done

# One line per kind (canvas or condition) and one for all: "name images correct", from
# answers in CSV (path, answer, ...) and the labels of draw (path, label, kind).
score() {
    awk -F, '
        NR == FNR { label[$1] = $2; kind[$1] = $3; next }
        !($1 in label) { next }
        {
            c = kind[$1]; total[c]++; all++
            if ($2 == label[$1]) { right[c]++; good++ }
        }
        END {
            for (c in total) printf "%s %d %d\n", c, total[c], right[c] + 0
            printf "all %d %d\n", all, good + 0
        }' "$2" "$1" | sort
}
score "$tmp/set.csv" "$tmp/set.labels" >"$tmp/faithful.txt"
score "$tmp/naive.csv" "$tmp/set.labels" >"$tmp/naive.txt"

echo "synthetic handwritten digits: $N images a seed, $SEED_WORDS, model $MODEL"
printf '%-8s %7s %16s %16s\n' canvas images "MNIST-faithful" "naive resize"
join "$tmp/faithful.txt" "$tmp/naive.txt" >"$tmp/both.txt"
row() {
    awk '{ printf "%-8s %7d %15.1f%% %15.1f%%\n", $1, $2, $2 ? 100 * $3 / $2 : 0, $4 ? 100 * $5 / $4 : 0 }'
}
grep -v '^all ' "$tmp/both.txt" | row || true
grep '^all ' "$tmp/both.txt" | row

# Phone photos under real light: one line per condition, digits and whole numbers.
draw "$tmp/light" --set "$N" --light
answer "$tmp/light" predict
draw "$tmp/lightnum" --set $((N / 2)) --light --numbers
answer "$tmp/lightnum" read
score "$tmp/light.csv" "$tmp/light.labels" >"$tmp/light.txt"
score "$tmp/lightnum.csv" "$tmp/lightnum.labels" >"$tmp/lightnum.txt"
echo
echo "phone photos under real light: $N digits and $((N / 2)) numbers a seed, $SEED_WORDS"
printf '%-9s %7s %10s %8s %12s\n' condition digits predict numbers "read exactly"
join "$tmp/light.txt" "$tmp/lightnum.txt" | awk '{ printf "%-9s %7d %9.1f%% %8d %11.1f%%\n", $1, $2, $2 ? 100 * $3 / $2 : 0, $4, $4 ? 100 * $5 / $4 : 0 }' |
    sort -k1,1 | awk '$1 != "all"'
join "$tmp/light.txt" "$tmp/lightnum.txt" | awk '$1 == "all" { printf "%-9s %7d %9.1f%% %8d %11.1f%%\n", $1, $2, $2 ? 100 * $3 / $2 : 0, $4, $4 ? 100 * $5 / $4 : 0 }'
