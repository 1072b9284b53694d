#!/bin/sh
# bench.sh BUILD_DIR - speed of digits against PyTorch on this machine, printed as figures
# (nothing is asserted). Called by `make bench`. Method and latest figures:
# docs/performance.md.
#
# In one invocation, digits and PyTorch runs alternate for several rounds, so that changes
# in the machine's load hit both sides alike; the tables show the median of each measure:
#   - a peak probe (build/bench_peak): one core's fp32 FMA and bf16 dot-product GFLOP/s;
#     and how far apart CPUs 0 and 1 are (build/bench_cores: a cache line's one-way time,
#     which threads sharing data pay, and which a virtual machine's host may change)
#   - training seed-cnn, one full epoch of the 60,000 training images, batch 32, Adam, as
#     a whole `digits train` / torch_reference.py process timed by its own epoch clock:
#     digits fp32 at 1 and 2 threads (and --precision bf16 when `digits train --help`
#     lists it), PyTorch fp32 and bf16 autocast at 1 and 2 threads; images/s, GFLOP/s,
#     % of the peak of the cores used, test accuracy after the epoch, peak RSS
#   - one-image forward, batches of 1000 test images, `digits predict one.png` as a whole
#     process against a torch process doing the least a predict command must
#   - the fast recipe end to end (process start to an evaluated, saved model): digits'
#     `--preset fast` against PyTorch's fastest published recipe in fp32 and in bf16
#     autocast, and their test accuracies
#   - after the rounds: digits fp32 epochs at 1 and 2 threads, alternating, while a busy
#     loop holds CPU 0 (a busy neighbour); as many pairs as rounds, medians
#
# Environment: BENCH_QUICK=1 for a quick look (1 round on the first 6,000 images, no fast
# recipe, no neighbour: not full epochs, and the output says so); BENCH_ROUNDS,
# BENCH_LIMIT (train on the first N images; 0 = all), BENCH_PREDICT_RUNS, BENCH_FAST=0/1,
# BENCH_NEIGHBOUR=0/1 override; BENCH_DATA (default data/mnist); BENCH_MODEL (default
# model/digits.model).
set -eu

B=${1:-build}
DATA=${BENCH_DATA:-data/mnist}
PY=/usr/bin/python3
REF=bench/torch_reference.py

QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then
    ROUNDS=${BENCH_ROUNDS:-1}
    LIMIT=${BENCH_LIMIT:-6000}
    PREDICT_RUNS=${BENCH_PREDICT_RUNS:-3} # per side and round
    FAST=${BENCH_FAST:-0}
    NEIGHBOUR=${BENCH_NEIGHBOUR:-0}
    OUR_RUNS=1000
    TORCH_RUNS=500
    REPEATS=1
    PEAK_SECONDS=0.2
else
    ROUNDS=${BENCH_ROUNDS:-3}
    LIMIT=${BENCH_LIMIT:-0}
    PREDICT_RUNS=${BENCH_PREDICT_RUNS:-7}
    FAST=${BENCH_FAST:-1}
    NEIGHBOUR=${BENCH_NEIGHBOUR:-1}
    OUR_RUNS=5000
    TORCH_RUNS=2000
    REPEATS=3
    PEAK_SECONDS=0.5
fi

die() {
    echo "bench: $*" >&2
    exit 1
}

for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte \
    t10k-labels-idx1-ubyte; do
    [ -e "$DATA/$f" ] || [ -e "$DATA/$f.gz" ] || die "$DATA/$f is missing (run 'make data')"
done
for p in digits bench_train bench_infer bench_peak bench_cores; do
    [ -x "$B/$p" ] || die "$B/$p is missing (run 'make bench')"
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/digits-bench.XXXXXX")
HOG=""
cleanup() {
    [ -z "$HOG" ] || kill "$HOG" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
RES=$TMP/results # "side measure value" lines
START_S=$(date +%s)

# ---------------------------------------------------------------- PyTorch available?

torch_ok() {
    [ -x "$PY" ] && "$PY" -c 'import torch, numpy' >/dev/null 2>&1
}
TORCH=1
if ! torch_ok; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "bench: PyTorch is missing for $PY; installing python3-torch"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -qq python3-torch >/dev/null 2>&1 ||
            { apt-get update -qq >/dev/null 2>&1 &&
                  apt-get install -y -qq python3-torch >/dev/null 2>&1; } || true
    fi
    if ! torch_ok; then
        TORCH=0
        echo "bench: SKIPPING the PyTorch side: $PY cannot import torch and numpy" \
            "(install the Debian package python3-torch as root); measuring digits alone"
    fi
fi
TORCH_PREDICT=$TORCH
if [ "$TORCH" = 1 ] && ! "$PY" -c 'import PIL' >/dev/null 2>&1; then
    TORCH_PREDICT=0
    echo "bench: no PIL for $PY (python3-pil): the torch predict process is skipped"
fi

# digits trains in bf16 when its train command has the option (detected, not assumed)
DIGITS_BF16=0
if "$B/digits" train --help 2>&1 | grep -q -- '--precision'; then
    DIGITS_BF16=1
fi

# ---------------------------------------------------------------- helpers

# GNU time gives the peak RSS of a whole process; without it, each program's own
# getrusage figure (its RESULT peak_rss_mb line) is used.
GNU_TIME=0
if [ -x /usr/bin/time ] && /usr/bin/time -f %M -o "$TMP/probe" true 2>/dev/null &&
    grep -q '^[0-9][0-9]*$' "$TMP/probe"; then
    GNU_TIME=1
fi

now_ns() {
    date +%s%N
}

# ms between two now_ns readings, 0.1 ms resolution
elapsed_ms() {
    awk -v d=$(($2 - $1)) 'BEGIN { printf "%.1f", d / 1e6 }'
}

record() { # SIDE MEASURE VALUE; an empty value (a missing figure) is left out
    [ -z "${3:-}" ] || echo "$1 $2 $3" >>"$RES"
}

# result_of, digits_images_per_s, digits_accuracy, percent
. bench/bench_parse.sh

# run NAME CMD...: runs CMD with its output in $TMP/NAME.out and .err, under GNU time when
# available (peak RSS in KiB in $TMP/NAME.rss); sets WALL_MS. Returns CMD's status.
run() {
    name=$1
    shift
    t0=$(now_ns)
    st=0
    if [ "$GNU_TIME" = 1 ]; then
        /usr/bin/time -f %M -o "$TMP/$name.rss" "$@" </dev/null >"$TMP/$name.out" \
            2>"$TMP/$name.err" || st=$?
    else
        "$@" </dev/null >"$TMP/$name.out" 2>"$TMP/$name.err" || st=$?
    fi
    WALL_MS=$(elapsed_ms "$t0" "$(now_ns)")
    if [ "$st" -ne 0 ]; then
        echo "bench: $name failed (status $st): $*" >&2
        tail -n 5 "$TMP/$name.err" >&2
    fi
    return "$st"
}

# peak RSS in MB of run NAME: GNU time's, else the program's own RESULT line
peak_mb() {
    if [ -s "$TMP/$1.rss" ]; then
        awk 'NR == 1 { printf "%.0f", $1 / 1024 }' "$TMP/$1.rss"
    else
        result_of "$TMP/$1.out" peak_rss_mb
    fi
}

median() { # SIDE MEASURE
    awk -v s="$1" -v m="$2" '$1 == s && $2 == m { print $3 }' "$RES" | sort -g |
        awk '{ v[NR] = $1 } END {
            if (NR == 0) { print "-"; exit }
            if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

largest() { # SIDE MEASURE
    awk -v s="$1" -v m="$2" '$1 == s && $2 == m && (n++ == 0 || $3 > v) { v = $3 }
        END { print n ? v : "-" }' "$RES"
}

count() { # SIDE MEASURE
    awk -v s="$1" -v m="$2" '$1 == s && $2 == m { n++ } END { print n + 0 }' "$RES"
}

# ratio A B as "1.23", "-" when either is missing
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        if (a == "-" || b == "-" || a + 0 <= 0 || b + 0 <= 0) print "-"
        else printf "%.2f", a / b }'
}

# one seed-cnn training epoch: train_epoch SIDE PRECISION THREADS [SUFFIX LABEL]; records
# images/s, test accuracy and peak RSS under SIDE and "PRECISION_tTHREADS[SUFFIX]"; prints
# a line
train_epoch() {
    side=$1 prec=$2 t=$3 suffix=${4:-} label=${5:-}
    key=${prec}_t$t$suffix
    name=train-$side-$key
    if [ "$side" = digits ]; then
        set -- "$B/digits" train --preset seed-cnn --epochs 1 --batch 32 --val-split 0 \
            --threads "$t" --data "$DATA" -o "$TMP/seed-digits.model"
        [ "$LIMIT" = 0 ] || set -- "$@" --limit "$LIMIT"
        [ "$prec" = fp32 ] || set -- "$@" --precision "$prec"
        run "$name" "$@" || die "digits training failed"
        cat "$TMP/$name.err" >>"$TMP/$name.out"
        ips=$(digits_images_per_s "$TMP/$name.out")
        acc=$(digits_accuracy "$TMP/$name.out")
    else
        set -- "$PY" "$REF" --mode train --epochs 1 --batch 32 --threads "$t" \
            --precision "$prec" --test --data "$DATA"
        [ "$LIMIT" = 0 ] || set -- "$@" --limit "$LIMIT"
        [ "$prec" != fp32 ] || set -- "$@" --save "$TMP/torch-seed.pt"
        run "$name" "$@" || return 0
        ips=$(result_of "$TMP/$name.out" train_images_per_s)
        acc=$(percent "$(result_of "$TMP/$name.out" test_accuracy)")
        flop=$(result_of "$TMP/$name.out" train_flop_per_image)
        [ -z "$flop" ] || TORCH_FLOP=$flop
    fi
    [ -n "$ips" ] || die "$name printed no images/s"
    record "$side" "train_$key" "$ips"
    record "$side" "acc_$key" "$acc"
    record "$side" "rss_$key" "$(peak_mb "$name")"
    printf '  %-6s %s %s thread%s%s: %s images/s, test accuracy %s%%\n' "$side" "$prec" "$t" \
        "$([ "$t" = 1 ] || echo s)" "${label:+ ($label)}" "$ips" "${acc:--}"
}

# the thread count (1 or 2) at which SIDE trained PRECISION faster, by median so far
faster_threads() {
    a=$(median "$1" "train_$2_t1")
    b=$(median "$1" "train_$2_t2")
    if [ "$b" != - ] && { [ "$a" = - ] || awk -v a="$a" -v b="$b" 'BEGIN { exit !(b > a) }'; }
    then
        echo 2
    else
        echo 1
    fi
}

# ---------------------------------------------------------------- set-up

: >"$RES"
CORES=$(nproc 2>/dev/null || echo 1)
THREAD_COUNTS=1
[ "$CORES" -lt 2 ] || THREAD_COUNTS="1 2"
CPU=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)
echo "digits benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), ${CPU:-unknown CPU}, $CORES cores," \
    "load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
[ "$TORCH" = 1 ] && echo "PyTorch $("$PY" -c 'import torch; print(torch.__version__)')"
if [ "$LIMIT" = 0 ]; then
    what="full epochs of the 60,000 training images"
else
    what="the first $LIMIT training images per epoch (NOT full epochs: a quick look only)"
fi
[ "$QUICK" = 1 ] && echo "QUICK MODE (BENCH_QUICK=1): a quick look, not full epochs; the" \
    "figures are not those of a full run"
echo "rounds $ROUNDS, training on $what; digits bf16 training" \
    "$([ "$DIGITS_BF16" = 1 ] && echo 'measured (digits train lists --precision)' ||
        echo 'not measured (digits train has no --precision)');" \
    "fast recipe $([ "$FAST" = 1 ] && echo on || echo off)," \
    "busy neighbour $([ "$NEIGHBOUR" = 1 ] && echo on || echo off)"

DIGITS_FLOP=$("$B/bench_train" --preset seed-cnn --flops | awk '$3 == "train_flop_per_image" {
    print $4 }')
TORCH_FLOP=""

MODEL=${BENCH_MODEL:-model/digits.model}
if [ ! -e "$MODEL" ]; then
    echo "bench: no $MODEL; training a 1-epoch seed-cnn model for the inference figures"
    MODEL=$TMP/digits.model
    run model "$B/digits" train --preset seed-cnn --epochs 1 --no-test -q --data "$DATA" \
        -o "$MODEL" || die "could not train a model"
fi
run sample "$B/bench_infer" --sample "$TMP/one.png" || die "could not write the sample picture"

# the training settings of a round, in order: each digits run followed by torch's
SETTINGS=$TMP/settings
: >"$SETTINGS"
for prec in fp32 bf16; do
    for t in $THREAD_COUNTS; do
        [ "$prec" = fp32 ] || [ "$DIGITS_BF16" = 1 ] || [ "$TORCH" = 1 ] || continue
        if [ "$prec" = fp32 ] || [ "$DIGITS_BF16" = 1 ]; then
            echo "digits $prec $t" >>"$SETTINGS"
        fi
        [ "$TORCH" = 0 ] || echo "torch $prec $t" >>"$SETTINGS"
    done
done

# ---------------------------------------------------------------- rounds

OUR_T=1
TORCH_T=1
r=1
while [ "$r" -le "$ROUNDS" ]; do
    echo "round $r/$ROUNDS, load average $(cut -d' ' -f1-3 /proc/loadavg)"

    # the peak probe: the best of the rounds is kept (it is timed on its own CPU clock)
    if run "peak-$r" "$B/bench_peak" --seconds "$PEAK_SECONDS"; then
        for m in fp32_gflops bf16_gflops; do
            record peak "$m" "$(result_of "$TMP/peak-$r.out" "$m")"
        done
        PEAK_VECTOR=$(result_of "$TMP/peak-$r.out" fp32_vector)
        echo "  peak of one core: fp32 $(result_of "$TMP/peak-$r.out" fp32_gflops) GFLOP/s" \
            "($PEAK_VECTOR), bf16 $(result_of "$TMP/peak-$r.out" bf16_gflops) GFLOP/s"
    fi
    if [ "$CORES" -ge 2 ] && run "cores-$r" "$B/bench_cores"; then
        record cores one_way_ns "$(result_of "$TMP/cores-$r.out" one_way_ns)"
        echo "  CPUs 0 and 1: a cache line goes from one to the other in" \
            "$(result_of "$TMP/cores-$r.out" one_way_ns) ns"
    fi

    # training; even rounds run the settings in reverse order, so that neither side is
    # always the one after a given other run
    if [ $((r % 2)) = 1 ]; then
        cp "$SETTINGS" "$TMP/order"
    else
        awk '{ l[NR] = $0 } END { for (i = NR; i >= 1; i--) print l[i] }' "$SETTINGS" \
            >"$TMP/order"
    fi
    while read -r side prec t; do
        train_epoch "$side" "$prec" "$t"
    done <"$TMP/order"
    OUR_T=$(faster_threads digits fp32)
    TORCH_T=$(faster_threads torch fp32)
    TORCH_T_BF16=$(faster_threads torch bf16)

    # inference in-process: one image on one thread, batches of 1000
    run infer-d "$B/bench_infer" --runs "$OUR_RUNS" --repeats "$REPEATS" --threads "$OUR_T" \
        --data "$DATA" "$MODEL" || die "digits inference failed"
    for m in infer1_us infer1000_images_per_s; do
        record digits "$m" "$(result_of "$TMP/infer-d.out" "$m")"
    done
    msg="  one image (us) / 1000 (images/s): digits $(result_of "$TMP/infer-d.out" infer1_us)"
    msg="$msg / $(result_of "$TMP/infer-d.out" infer1000_images_per_s)"
    if [ "$TORCH" = 1 ]; then
        if run infer1-t "$PY" "$REF" --mode infer1 --runs "$TORCH_RUNS" --data "$DATA"; then
            record torch infer1_us "$(result_of "$TMP/infer1-t.out" infer1_us)"
        fi
        if run infer1000-t "$PY" "$REF" --mode infer1000 --threads "$TORCH_T" \
            --repeats "$REPEATS" --data "$DATA"; then
            record torch infer1000_images_per_s \
                "$(result_of "$TMP/infer1000-t.out" infer1000_images_per_s)"
        fi
        msg="$msg; torch $(result_of "$TMP/infer1-t.out" infer1_us 2>/dev/null)"
        msg="$msg / $(result_of "$TMP/infer1000-t.out" infer1000_images_per_s 2>/dev/null)"
    fi
    echo "$msg"

    # one prediction as a whole process, alternating run by run
    weights=""
    [ -s "$TMP/torch-seed.pt" ] && weights="--weights $TMP/torch-seed.pt"
    i=1
    while [ "$i" -le "$PREDICT_RUNS" ]; do
        t0=$(now_ns)
        "$B/digits" predict --model "$MODEL" "$TMP/one.png" >"$TMP/predict-d.out" 2>&1 ||
            die "digits predict failed: $(cat "$TMP/predict-d.out")"
        record digits predict_ms "$(elapsed_ms "$t0" "$(now_ns)")"
        if [ "$TORCH_PREDICT" = 1 ]; then
            t0=$(now_ns)
            # shellcheck disable=SC2086
            if "$PY" "$REF" --mode predict1 --threads 1 --image "$TMP/one.png" $weights \
                >"$TMP/predict-t.out" 2>&1; then
                record torch predict_ms "$(elapsed_ms "$t0" "$(now_ns)")"
            fi
        fi
        i=$((i + 1))
    done
    echo "  predict one.png (ms, median so far): digits $(median digits predict_ms)," \
        "torch $(median torch predict_ms)"

    # the fast recipe, end to end: digits, torch fp32, [digits bf16,] torch bf16
    if [ "$FAST" = 1 ]; then
        for prec in fp32 bf16; do
            if [ "$prec" = fp32 ] || [ "$DIGITS_BF16" = 1 ]; then
                set -- "$B/digits" train --preset fast -q --threads "$OUR_T" --data "$DATA" \
                    -o "$TMP/fast.model" --precision "$prec"
                run "fast-d-$prec" "$@" || die "digits fast recipe failed"
                s=$(awk -v t="$WALL_MS" 'BEGIN { printf "%.2f", t / 1e3 }')
                acc=$(digits_accuracy "$TMP/fast-d-$prec.out")
                record digits "fast_s_$prec" "$s"
                record digits "fast_acc_$prec" "$acc"
                echo "  fast recipe: digits $prec $s s, test accuracy $acc%"
            fi
            [ "$TORCH" = 1 ] || continue
            tt=$TORCH_T
            [ "$prec" = fp32 ] || tt=$TORCH_T_BF16
            if run "fast-t-$prec" "$PY" "$REF" --mode fast --threads "$tt" --precision "$prec" \
                --data "$DATA" --save "$TMP/fast.pt"; then
                s=$(awk -v t="$WALL_MS" 'BEGIN { printf "%.2f", t / 1e3 }')
                acc=$(percent "$(result_of "$TMP/fast-t-$prec.out" test_accuracy)")
                record torch "fast_s_$prec" "$s"
                record torch "fast_acc_$prec" "$acc"
                record torch "fast_threads_$prec" "$tt"
                echo "  fast recipe: torch $prec ($tt thread$([ "$tt" = 1 ] || echo s))" \
                    "$s s, test accuracy $acc%"
            fi
        done
    fi
    r=$((r + 1))
done

# ---------------------------------------------------------------- busy neighbour

if [ "$NEIGHBOUR" = 1 ] && [ "$CORES" -ge 2 ]; then
    pin="unpinned"
    if command -v taskset >/dev/null 2>&1; then
        taskset -c 0 sh -c 'while :; do :; done' &
        pin="pinned to CPU 0"
    else
        sh -c 'while :; do :; done' &
    fi
    HOG=$!
    echo "busy neighbour: a shell busy loop ($pin, pid $HOG) during digits fp32 epochs"
    sleep 1
    for _ in $(seq "$ROUNDS"); do
        train_epoch digits fp32 1 _busy "busy neighbour"
        train_epoch digits fp32 2 _busy "busy neighbour"
    done
    kill "$HOG" 2>/dev/null || true
    wait "$HOG" 2>/dev/null || true
    HOG=""
fi

# ---------------------------------------------------------------- tables

PEAK_FP32=$(largest peak fp32_gflops)
PEAK_BF16=$(largest peak bf16_gflops)
[ -n "$TORCH_FLOP" ] || TORCH_FLOP=$DIGITS_FLOP
elapsed=$(($(date +%s) - START_S))

echo
echo "Medians over $ROUNDS round(s); load average now $(cut -d' ' -f1-3 /proc/loadavg);" \
    "the whole benchmark took $((elapsed / 60)) min $((elapsed % 60)) s"
echo
echo "Training seed-cnn, batch 32, Adam, one epoch of" \
    "$([ "$LIMIT" = 0 ] && echo '60,000 images (full epochs)' ||
        echo "the first $LIMIT images (NOT full epochs)")."
echo "Peak of one core (best of the rounds): fp32 FMA $PEAK_FP32 GFLOP/s" \
    "(${PEAK_VECTOR:-?}), bf16 dot product $PEAK_BF16 GFLOP/s. One training image:" \
    "$(awk -v f="$DIGITS_FLOP" 'BEGIN { printf "%.2f", f / 1e6 }') MFLOP (digits' count)," \
    "$(awk -v f="$TORCH_FLOP" 'BEGIN { printf "%.2f", f / 1e6 }') MFLOP (PyTorch's count)."
echo "% of peak = GFLOP/s / (threads x one core's peak); fp32 rows against the fp32 FMA" \
    "peak, bf16 rows against the bf16 dot-product peak (fp32's when it was not measured)."
echo
echo "| who | precision | threads | images/s | GFLOP/s | % of peak | test accuracy | peak RSS (MB) | runs |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
train_row() { # SIDE LABEL PRECISION THREADS FLOP
    ips=$(median "$1" "train_$3_t$4")
    [ "$ips" != - ] || return 0
    peak=$PEAK_FP32
    [ "$3" = fp32 ] || [ "$PEAK_BF16" = - ] || peak=$PEAK_BF16
    awk -v who="$2" -v prec="$3" -v t="$4" -v ips="$ips" -v f="$5" -v peak="$peak" \
        -v acc="$(median "$1" "acc_$3_t$4")" -v rss="$(median "$1" "rss_$3_t$4")" \
        -v n="$(count "$1" "train_$3_t$4")" 'BEGIN {
        g = ips * f / 1e9
        pct = peak == "-" || peak + 0 <= 0 ? "-" : sprintf("%.0f%%", 100 * g / (t * peak))
        acc = acc == "-" ? "-" : sprintf("%.2f%%", acc)
        rss = rss == "-" ? "-" : sprintf("%.0f", rss)
        printf "| %s | %s | %d | %.0f | %.1f | %s | %s | %s | %d |\n", who, prec, t, ips, g,
            pct, acc, rss, n }'
}
for prec in fp32 bf16; do
    for t in $THREAD_COUNTS; do
        train_row digits digits "$prec" "$t" "$DIGITS_FLOP"
    done
done
for t in $THREAD_COUNTS; do
    train_row torch PyTorch fp32 "$t" "$TORCH_FLOP"
done
for t in $THREAD_COUNTS; do
    train_row torch "PyTorch (bf16 autocast)" bf16 "$t" "$TORCH_FLOP"
done

# the best median images/s of SIDE over the given precisions, as "value setting"
best_setting() {
    side=$1
    shift
    for prec in "$@"; do
        for t in $THREAD_COUNTS; do
            echo "$(median "$side" "train_${prec}_t$t") ${prec}_t$t"
        done
    done | awk '$1 != "-" { if (!n || $1 + 0 > best + 0) { best = $1; s = $2 } n++ }
        END { print (n ? best : "-"), (n ? s : "-") }'
}
setting_words() { # fp32_t2 -> "fp32, 2 threads"
    echo "$1" | sed -e 's/_t1$/, 1 thread/' -e 's/_t\([0-9]*\)$/, \1 threads/'
}
# shellcheck disable=SC2046 # "value setting" split into $1 and $2
set -- $(best_setting digits fp32)
D_FP32=$1 D_FP32_SET=$2
# shellcheck disable=SC2046
set -- $(best_setting digits bf16)
D_BF16=$1 D_BF16_SET=$2
# shellcheck disable=SC2046
set -- $(best_setting torch fp32)
T_FP32=$1 T_FP32_SET=$2
# shellcheck disable=SC2046
set -- $(best_setting torch fp32 bf16)
T_BEST=$1 T_BEST_SET=$2
echo
echo "Ratios of medians (images/s):"
echo "- digits best fp32 ($(setting_words "$D_FP32_SET")) / PyTorch best fp32" \
    "($(setting_words "$T_FP32_SET")): $(ratio "$D_FP32" "$T_FP32")"
echo "- digits best fp32 / PyTorch's best setting ($(setting_words "$T_BEST_SET")):" \
    "$(ratio "$D_FP32" "$T_BEST")"
[ "$D_BF16" = - ] || echo "- digits best bf16 ($(setting_words "$D_BF16_SET")) /" \
    "PyTorch's best setting: $(ratio "$D_BF16" "$T_BEST")"
echo "- digits fp32, 2 threads / 1 thread: $(ratio "$(median digits train_fp32_t2)" \
    "$(median digits train_fp32_t1)")$([ "$(count cores one_way_ns)" = 0 ] ||
        echo " (CPUs 0 and 1 $(median cores one_way_ns) ns apart, a cache line one way)")"
if [ "$NEIGHBOUR" = 1 ] && [ "$(count digits train_fp32_t1_busy)" -gt 0 ]; then
    b1=$(median digits train_fp32_t1_busy)
    b2=$(median digits train_fp32_t2_busy)
    verdict="2 threads stay above 1"
    if awk -v a="$b1" -v b="$b2" 'BEGIN { exit !(b + 0 < a + 0) }'; then
        verdict="2 threads fall below 1"
    fi
    echo "- with a busy neighbour on CPU 0 ($(count digits train_fp32_t1_busy) run(s) each," \
        "medians): digits fp32 1 thread $b1," \
        "2 threads $b2 images/s; 2 threads / 1 thread: $(ratio "$b2" "$b1") ($verdict)"
fi

# row LABEL MEASURE KIND: rate (higher is better), time or memory (lower is better), or
# plain (no verdict)
row() {
    d=$(median digits "$2")
    t=$(median torch "$2")
    n=$(count digits "$2")
    awk -v label="$1" -v d="$d" -v t="$t" -v kind="$3" -v n="$n" 'BEGIN {
        ratio = "-"; words = "-"
        if (d != "-" && t != "-" && d + 0 > 0 && t + 0 > 0) {
            ratio = sprintf("%.2f", d / t)
            f = kind == "rate" ? d / t : t / d
            if (kind == "memory")
                words = f >= 1 ? sprintf("%.1fx smaller", f) : sprintf("%.1fx larger", 1 / f)
            else if (kind != "plain")
                words = f >= 1 ? sprintf("%.1fx faster", f) : sprintf("%.1fx slower", 1 / f)
        }
        printf "| %s | %s | %s | %s | %s | %d |\n", label, d, t, ratio, words, n
    }'
}

echo
echo "Inference; threads: digits $OUR_T, torch $TORCH_T (each side's faster fp32 training" \
    "setting; one image: torch 1 thread, digits the better of 1 and all cores)"
echo
echo "| measure | digits | torch | digits / torch | digits is | runs |"
echo "|---|---:|---:|---:|---|---:|"
row "one-image forward (us)" infer1_us time
row "batches of 1000 test images (images/s)" infer1000_images_per_s rate
row "predict one.png, whole process (ms)" predict_ms time

if [ "$FAST" = 1 ]; then
    echo
    echo "Fast recipe, process start to the evaluated, saved model: digits --preset fast" \
        "against PyTorch's fastest published recipe; each side at its faster training setting"
    echo
    echo "| who | precision | threads | seconds | test accuracy | PyTorch fp32 / this | PyTorch bf16 / this | runs |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|"
    tf=$(median torch fast_s_fp32)
    tb=$(median torch fast_s_bf16)
    fast_row() { # SIDE LABEL PRECISION THREADS
        s=$(median "$1" "fast_s_$3")
        [ "$s" != - ] || return 0
        acc=$(median "$1" "fast_acc_$3")
        echo "| $2 | $3 | $4 | $s | $acc% | $(ratio "$tf" "$s") | $(ratio "$tb" "$s") |" \
            "$(count "$1" "fast_s_$3") |"
    }
    fast_row digits digits fp32 "$OUR_T"
    fast_row digits digits bf16 "$OUR_T"
    fast_row torch PyTorch fp32 "$(median torch fast_threads_fp32)"
    fast_row torch "PyTorch (bf16 autocast)" bf16 "$(median torch fast_threads_bf16)"
fi
[ "$TORCH" = 1 ] || echo "(PyTorch was not available: torch rows are missing)"
[ "$TORCH_PREDICT" = 1 ] || echo "(no PIL: the torch predict process was not measured)"
[ "$QUICK" = 0 ] || echo "(QUICK MODE: not full epochs, one round; run 'make bench' for figures)"
