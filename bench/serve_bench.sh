#!/bin/sh
# serve_bench.sh [BUILD_DIR] - load figures for `digits serve` beside a reference Python
# server (bench/torch_server.py: ThreadingHTTPServer + PyTorch, the same seed-cnn), both
# in one run, with wrk at 16 connections POSTing a picture to /api/predict. Prints figures;
# asserts nothing. Method and latest figures: docs/performance.md.
#
# For each picture (a 28x28 MNIST PNG and a 436x326 Paint-style PNG from samples/), each
# server gets one wrk run of SERVE_BENCH_SECONDS (default 10): requests/s, p50 and p99
# latency, non-2xx answers and socket errors. Then digits serve alone runs one wrk run of
# SERVE_BENCH_LONG seconds (default 60), both pictures in turn, request by request, and
# more such runs until it has taken at least SERVE_BENCH_REQUESTS (default 100000); its
# resident memory (VmRSS) is read before and after, and the non-2xx answers and socket
# errors of those runs are counted.
#
# The digits model is a seed-cnn trained for one epoch (SERVE_BENCH_MODEL, made when
# missing; its answers do not matter here, its shape does). Ports: SERVE_BENCH_PORT and
# the next one (default 8090, 8091).
set -eu

B=${1:-build}
SECS=${SERVE_BENCH_SECONDS:-10}
TOTAL=${SERVE_BENCH_REQUESTS:-100000}
LONG=${SERVE_BENCH_LONG:-60}
MODEL=${SERVE_BENCH_MODEL:-model/seed-cnn-bench.model}
PORT=${SERVE_BENCH_PORT:-8090}
PY_PORT=$((PORT + 1))
THREADS=${SERVE_BENCH_THREADS:-2}
SMALL=samples/digits/2-mnist.png
LARGE=samples/digits/7-paint-thin.png

for tool in wrk curl /usr/bin/python3; do
    command -v "$tool" >/dev/null 2>&1 || { echo "serve_bench: $tool is missing" >&2; exit 1; }
done
if [ ! -f "$MODEL" ]; then
    echo "serve_bench: training $MODEL (seed-cnn, one epoch)"
    "$B/digits" train --preset seed-cnn --epochs 1 -q -o "$MODEL"
fi

tmp=$(mktemp -d)
ours=""
theirs=""
cleanup() {
    [ -n "$ours" ] && kill "$ours" 2>/dev/null || true
    [ -n "$theirs" ] && kill "$theirs" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

wait_up() { # URL
    i=0
    until curl -fs "$1" >/dev/null 2>&1 || curl -fs -o /dev/null --data-binary @"$SMALL" \
        "${1%/}/api/predict" 2>/dev/null; do
        i=$((i + 1))
        [ $i -gt 300 ] && { echo "serve_bench: $1 does not answer" >&2; exit 1; }
        sleep 0.1
    done
}

rss_kb() { # PID
    awk '/^VmRSS:/ {print $2}' "/proc/$1/status"
}

"$B/digits" serve --model "$MODEL" --port "$PORT" --threads "$THREADS" >"$tmp/ours.log" 2>&1 &
ours=$!
/usr/bin/python3 bench/torch_server.py "$PY_PORT" >"$tmp/theirs.log" 2>&1 &
theirs=$!
wait_up "http://127.0.0.1:$PORT/healthz"
wait_up "http://127.0.0.1:$PY_PORT/"
echo "digits:  $(head -1 "$tmp/ours.log")"
echo "torch:   $(head -1 "$tmp/theirs.log")"
echo "machine: $(nproc) cores, $(uname -sr); wrk -t2 -c16 -d${SECS}s, POST /api/predict"
echo

# one wrk run: prints "requests/s p50 p99 non2xx errors total"
run_wrk() { # URL SECONDS FILE...
    wrk_url=$1
    wrk_secs=$2
    shift 2
    wrk -t2 -c16 -d"$wrk_secs"s --latency -s bench/wrk_post.lua "$wrk_url" -- "$@" >"$tmp/wrk.out" 2>&1
    awk '
        /Requests\/sec:/ { rps = $2 }
        /^ +50%/ { p50 = $2 }
        /^ +99%/ { p99 = $2 }
        /Non-2xx or 3xx responses:/ { non2xx = $5 }
        /Socket errors:/ { errs = $4 + $6 + $8 + $10; gsub(",", "", errs) }
        /requests in/ { total = $1 }
        END { printf "%s %s %s %d %d %d\n", rps, p50, p99, non2xx, errs, total }
    ' "$tmp/wrk.out"
}

printf '%-26s %-8s %12s %10s %10s %8s %8s\n' picture server "requests/s" p50 p99 non-2xx errors
for pic in "$SMALL" "$LARGE"; do
    for side in digits torch; do
        if [ $side = digits ]; then
            url="http://127.0.0.1:$PORT/api/predict"
        else
            url="http://127.0.0.1:$PY_PORT/api/predict"
        fi
        set -- $(run_wrk "$url" "$SECS" "$pic")
        printf '%-26s %-8s %12s %10s %10s %8s %8s\n' "${pic##*/}" $side "$1" "$2" "$3" "$4" "$5"
        eval "rps_${side}=$1"
    done
    awk -v a="$rps_digits" -v b="$rps_torch" \
        'BEGIN { if (b > 0) printf "%-26s digits / torch: %.1fx requests/s\n", "", a / b }'
done

echo
before=$(rss_kb "$ours")
done_requests=0
bad=0
runs=0
while [ "$done_requests" -lt "$TOTAL" ]; do
    set -- $(run_wrk "http://127.0.0.1:$PORT/api/predict" "$LONG" "$SMALL" "$LARGE")
    done_requests=$((done_requests + $6))
    bad=$((bad + $4 + $5))
    runs=$((runs + 1))
    echo "digits serve alone, ${LONG} s, ${SMALL##*/} and ${LARGE##*/} in turn:" \
        "$1 requests/s, p50 $2, p99 $3, non-2xx $4, socket errors $5, $6 requests"
done
after=$(rss_kb "$ours")
echo "digits serve RSS: $before kB before, $after kB after $done_requests more requests" \
    "in $runs run(s) (growth $((after - before)) kB); non-2xx and socket errors in them: $bad"
