#!/bin/sh
# bench.sh BUILD_DIR - speed of digits against PyTorch on this machine, printed as figures
# (nothing is asserted). Called by `make bench`. Method and latest figures:
# docs/performance.md.
#
# In one invocation, digits and PyTorch runs alternate (digits, torch, digits, torch, ...)
# for several rounds, so that changes in the machine's load hit both sides alike; the
# final table shows the median of each measure and the ratio digits / torch:
#   - training images/s, seed-cnn, batch 32, one epoch of the first BENCH_LIMIT images;
#     each side runs at 1 and 2 threads in the first round and keeps its faster setting
#   - peak RSS of those training processes
#   - one-image forward on one thread (in-process loop, median microseconds)
#   - batches of 1000 test images (images/s)
#   - `digits predict one.png` as a whole process against a torch process doing the least
#     a predict command must (import, build, load weights, read, forward), in ms
#   - the fast recipe end to end (process start to an evaluated, saved model) and its
#     test accuracy
#
# Environment: BENCH_QUICK=1 for a short run (1 round, fewer images, no fast recipe);
# BENCH_ROUNDS, BENCH_LIMIT, BENCH_PREDICT_RUNS, BENCH_FAST=0/1 override; BENCH_DATA
# (default data/mnist); BENCH_MODEL (default model/digits.model).
set -eu

B=${1:-build}
DATA=${BENCH_DATA:-data/mnist}
PY=/usr/bin/python3
REF=bench/torch_reference.py

if [ "${BENCH_QUICK:-0}" = 1 ]; then
    ROUNDS=${BENCH_ROUNDS:-1}
    LIMIT=${BENCH_LIMIT:-4000}
    PREDICT_RUNS=${BENCH_PREDICT_RUNS:-3} # per side and round
    FAST=${BENCH_FAST:-0}
    OUR_RUNS=1000
    TORCH_RUNS=500
    REPEATS=1
else
    ROUNDS=${BENCH_ROUNDS:-3}
    LIMIT=${BENCH_LIMIT:-20000}
    PREDICT_RUNS=${BENCH_PREDICT_RUNS:-7}
    FAST=${BENCH_FAST:-1}
    OUR_RUNS=5000
    TORCH_RUNS=2000
    REPEATS=3
fi

die() {
    echo "bench: $*" >&2
    exit 1
}

for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte \
    t10k-labels-idx1-ubyte; do
    [ -e "$DATA/$f" ] || [ -e "$DATA/$f.gz" ] || die "$DATA/$f is missing (run 'make data')"
done
for p in digits bench_train bench_infer; do
    [ -x "$B/$p" ] || die "$B/$p is missing (run 'make bench')"
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/digits-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM
RES=$TMP/results # "side measure value" lines

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

# value of "RESULT SIDE MEASURE VALUE" in a file (last one), empty if absent
result_of() {
    awk -v m="$2" '$1 == "RESULT" && $3 == m { v = $4 } END { if (v != "") print v }' "$1"
}

# run NAME CMD...: runs CMD with its output in $TMP/NAME.out and .err, under GNU time when
# available (peak RSS in KiB in $TMP/NAME.rss); sets WALL_MS. Returns CMD's status.
run() {
    name=$1
    shift
    t0=$(now_ns)
    st=0
    if [ "$GNU_TIME" = 1 ]; then
        /usr/bin/time -f %M -o "$TMP/$name.rss" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" || st=$?
    else
        "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" || st=$?
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

# train SIDE THREADS NAME: one limited seed-cnn training run; prints its images/s
train() {
    if [ "$1" = digits ]; then
        run "$3" "$B/bench_train" --preset seed-cnn --epochs 1 --batch 32 --limit "$LIMIT" \
            --threads "$2" --data "$DATA" || return 1
    else
        run "$3" "$PY" "$REF" --mode train --epochs 1 --batch 32 --limit "$LIMIT" \
            --threads "$2" --data "$DATA" --save "$TMP/torch-seed.pt" || return 1
    fi
    result_of "$TMP/$3.out" train_images_per_s
}

keep_train() { # SIDE NAME IMAGES_PER_S
    record "$1" train_images_per_s "$3"
    rss=$(peak_mb "$2")
    [ -n "$rss" ] && record "$1" train_peak_rss_mb "$rss"
    return 0
}

median() { # SIDE MEASURE
    awk -v s="$1" -v m="$2" '$1 == s && $2 == m { print $3 }' "$RES" | sort -g |
        awk '{ v[NR] = $1 } END {
            if (NR == 0) { print "-"; exit }
            if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

count() { # SIDE MEASURE
    awk -v s="$1" -v m="$2" '$1 == s && $2 == m { n++ } END { print n + 0 }' "$RES"
}

# ---------------------------------------------------------------- set-up

: >"$RES"
CORES=$(nproc 2>/dev/null || echo 1)
CPU=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)
echo "digits benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), ${CPU:-unknown CPU}, $CORES cores," \
    "load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
[ "$TORCH" = 1 ] && echo "PyTorch $("$PY" -c 'import torch; print(torch.__version__)')"
echo "rounds $ROUNDS, training on the first $LIMIT images, predict runs $PREDICT_RUNS per" \
    "side and round, fast recipe $([ "$FAST" = 1 ] && echo on || echo off)," \
    "peak RSS from $([ "$GNU_TIME" = 1 ] && echo 'GNU time' || echo 'getrusage')"

MODEL=${BENCH_MODEL:-model/digits.model}
if [ ! -e "$MODEL" ]; then
    echo "bench: no $MODEL; training a 1-epoch seed-cnn model for the inference figures"
    MODEL=$TMP/digits.model
    run model "$B/digits" train --preset seed-cnn --epochs 1 --no-test -q --data "$DATA" \
        -o "$MODEL" || die "could not train a model"
fi
run sample "$B/bench_infer" --sample "$TMP/one.png" || die "could not write the sample picture"

# ---------------------------------------------------------------- rounds

OUR_T=$CORES
TORCH_T=1
r=1
while [ "$r" -le "$ROUNDS" ]; do
    echo "round $r/$ROUNDS"

    # training; the first round chooses each side's thread count
    if [ "$r" = 1 ] && [ "$CORES" -ge 2 ]; then
        o1=$(train digits 1 train-d1) || die "digits training failed"
        t1=""
        if [ "$TORCH" = 1 ]; then
            t1=$(train torch 1 train-t1) || t1=""
        fi
        o2=$(train digits 2 train-d2) || die "digits training failed"
        t2=""
        if [ "$TORCH" = 1 ]; then
            t2=$(train torch 2 train-t2) || t2=""
        fi
        echo "  training images/s: digits 1 thread $o1, 2 threads $o2;" \
            "torch 1 thread ${t1:--}, 2 threads ${t2:--}"
        if awk -v a="$o1" -v b="$o2" 'BEGIN { exit !(a > b) }'; then
            OUR_T=1
            keep_train digits train-d1 "$o1"
        else
            OUR_T=2
            keep_train digits train-d2 "$o2"
        fi
        if [ -n "$t1" ] && [ -n "$t2" ]; then
            if awk -v a="$t1" -v b="$t2" 'BEGIN { exit !(a >= b) }'; then
                TORCH_T=1
                keep_train torch train-t1 "$t1"
            else
                TORCH_T=2
                keep_train torch train-t2 "$t2"
            fi
        elif [ -n "$t1" ]; then
            keep_train torch train-t1 "$t1"
        fi
        echo "  thread settings kept: digits $OUR_T, torch $TORCH_T"
    else
        o=$(train digits "$OUR_T" train-d) || die "digits training failed"
        keep_train digits train-d "$o"
        msg="  training images/s: digits $o"
        if [ "$TORCH" = 1 ] && t=$(train torch "$TORCH_T" train-t); then
            keep_train torch train-t "$t"
            msg="$msg, torch $t"
        fi
        echo "$msg"
    fi

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

    # the fast recipe, end to end
    if [ "$FAST" = 1 ]; then
        run fast-d "$B/digits" train --preset fast -q --threads "$OUR_T" --data "$DATA" \
            -o "$TMP/fast.model" || die "digits fast recipe failed"
        record digits fast_total_s "$(awk -v t="$WALL_MS" 'BEGIN { printf "%.2f", t / 1e3 }')"
        acc=$(sed -n 's/^test accuracy: \([0-9.]*\)%*$/\1/p' "$TMP/fast-d.out")
        record digits fast_test_accuracy "$acc"
        msg="  fast recipe: digits ${WALL_MS} ms, accuracy $acc"
        if [ "$TORCH" = 1 ] && run fast-t "$PY" "$REF" --mode fast --threads "$TORCH_T" \
            --data "$DATA" --save "$TMP/fast.pt"; then
            record torch fast_total_s "$(awk -v t="$WALL_MS" 'BEGIN { printf "%.2f", t / 1e3 }')"
            acc=$(result_of "$TMP/fast-t.out" test_accuracy)
            record torch fast_test_accuracy "$acc"
            msg="$msg; torch ${WALL_MS} ms, accuracy $acc"
        fi
        echo "$msg"
    fi
    r=$((r + 1))
done

# ---------------------------------------------------------------- table

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
echo "Medians over $ROUNDS round(s); threads: digits $OUR_T, torch $TORCH_T" \
    "(one image: torch 1 thread, digits the better of 1 and all cores);" \
    "load average now $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| measure | digits | torch | digits / torch | digits is | runs |"
echo "|---|---:|---:|---:|---|---:|"
row "training seed-cnn, batch 32 (images/s)" train_images_per_s rate
row "peak RSS while training (MB)" train_peak_rss_mb memory
row "one-image forward (us; torch 1 thread, digits best of 1 and 2)" infer1_us time
row "batches of 1000 test images (images/s)" infer1000_images_per_s rate
row "predict one.png, whole process (ms)" predict_ms time
if [ "$FAST" = 1 ]; then
    row "fast recipe, start to saved model (s)" fast_total_s time
    row "fast recipe test accuracy" fast_test_accuracy plain
fi
[ "$TORCH" = 1 ] || echo "(PyTorch was not available: torch columns are empty)"
[ "$TORCH_PREDICT" = 1 ] || echo "(no PIL: the torch predict process was not measured)"
