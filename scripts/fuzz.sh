#!/bin/sh
# fuzz.sh - runs the libFuzzer targets that `make fuzz-build` puts in build-fuzz/, and keeps
# what they find small enough to commit (docs/fuzzing.md).
#
#   scripts/fuzz.sh run [-t SECONDS] [-j JOBS] [TARGET...]   (make fuzz)
#   scripts/fuzz.sh merge [TARGET...]                        (make fuzz-corpus)
#
# TARGET is a name such as "spec" (build-fuzz/fuzz_spec); none means every target built.
#
# run: fuzzes each target for SECONDS (default 60), JOBS at a time (default 1), with
# -max_total_time, -rss_limit_mb=2048 and -timeout=10. The working corpus is
# build-fuzz/corpus/T, topped up from tests/fuzz/corpus/T before each run; crash, leak,
# timeout and out-of-memory inputs go to build-fuzz/findings/T/, libFuzzer's output to
# build-fuzz/logs/T.log; tests/fuzz/T.dict is used when present. Ends with one line per
# target: seconds, executions (libFuzzer's final stats), corpus size, findings of this run.
# Exit status 1 when a target found something or could not run, 2 on bad usage.
#
# merge: minimises each working corpus into tests/fuzz/corpus/T with -merge=1: the files
# already there (the hand-made seeds and earlier merges) are all kept, and an input of the
# working corpus is added only when it reaches code they do not. The kept corpus is
# bounded to MAX_FILES files and MAX_BYTES bytes per target: when the merge adds more, the
# smallest new inputs are kept first (small inputs replay fast and are easy to read), and
# the rest are dropped with a note. Exit status 1 when a merge fails.

set -u

MAX_FILES=300
MAX_BYTES=$((2 * 1024 * 1024))

root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/build-fuzz
seeds=$root/tests/fuzz/corpus

usage() {
    echo "usage: $0 run [-t SECONDS] [-j JOBS] [TARGET...] | merge [TARGET...]" >&2
    exit 2
}

# The targets named, or every fuzz_* built; fails when one is not built.
list_targets() {
    if [ $# -gt 0 ]; then
        for t in "$@"; do
            if [ ! -x "$out/fuzz_$t" ]; then
                echo "fuzz: no $out/fuzz_$t (run make fuzz-build)" >&2
                return 1
            fi
            echo "$t"
        done
        return 0
    fi
    found=0
    for bin in "$out"/fuzz_*; do
        case $bin in *.d | *.o) continue ;; esac
        if [ -f "$bin" ] && [ -x "$bin" ]; then
            echo "${bin##*/fuzz_}"
            found=1
        fi
    done
    if [ "$found" -eq 0 ]; then
        echo "fuzz: no fuzz_* programs in $out (run make fuzz-build)" >&2
        return 1
    fi
}

count_files() {
    find "$1" -type f 2>/dev/null | wc -l | tr -d ' '
}

# run_one T SECONDS: one fuzzing run; leaves "seconds exit-status" in logs/T.result.
run_one() {
    t=$1
    corpus=$out/corpus/$t
    findings=$out/findings/$t
    mkdir -p "$corpus" "$findings" "$out/logs"
    if [ -d "$seeds/$t" ]; then
        cp -n "$seeds/$t"/* "$corpus"/ 2>/dev/null
    fi
    dict=
    if [ -f "$root/tests/fuzz/$t.dict" ]; then
        dict=-dict=$root/tests/fuzz/$t.dict
    fi
    touch "$out/logs/$t.start" # findings newer than this are this run's
    start=$(date +%s)
    # $dict is empty or one word without blanks
    # shellcheck disable=SC2086
    "$out/fuzz_$t" -max_total_time="$2" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$findings/" $dict "$corpus" >"$out/logs/$t.log" 2>&1
    status=$?
    echo "$(($(date +%s) - start)) $status" >"$out/logs/$t.result"
}

# One summary line for target T; returns 1 when it found something or did not run.
report_one() {
    t=$1
    read -r seconds status <"$out/logs/$t.result"
    log=$out/logs/$t.log
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    if [ -z "$execs" ]; then # no final stats (killed): the last progress line's count
        execs=$(sed -n 's/^#\([0-9][0-9]*\).*/\1/p' "$log" | tail -n 1)
    fi
    files=$(count_files "$out/corpus/$t")
    kib=$(du -sk "$out/corpus/$t" | cut -f1)
    found=$(find "$out/findings/$t" -type f -newer "$out/logs/$t.start" \
        \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l |
        tr -d ' ')
    note=
    if [ "$found" -gt 0 ]; then
        note="  see $out/findings/$t/ and $log"
    elif [ "$status" -ne 0 ]; then
        note="  exit status $status, see $log"
    fi
    printf '%-10s %8s %12s %7s %8s %9s%s\n' "$t" "$seconds" "${execs:-?}" "$files" "$kib" \
        "$found" "$note"
    [ "$found" -eq 0 ] && [ "$status" -eq 0 ]
}

cmd_run() {
    seconds=60
    jobs=1
    while getopts t:j: opt; do
        case $opt in
        t) seconds=$OPTARG ;;
        j) jobs=$OPTARG ;;
        *) usage ;;
        esac
    done
    shift $((OPTIND - 1))
    case $seconds$jobs in *[!0-9]*) usage ;; esac
    if [ "$seconds" -lt 1 ] || [ "$jobs" -lt 1 ]; then
        usage
    fi
    targets=$(list_targets "$@") || exit 1
    running=0
    for t in $targets; do
        echo "fuzz $t: ${seconds}s, log in $out/logs/$t.log"
        run_one "$t" "$seconds" &
        running=$((running + 1))
        if [ "$running" -ge "$jobs" ]; then
            wait
            running=0
        fi
    done
    wait
    echo
    printf '%-10s %8s %12s %7s %8s %9s\n' target seconds executions corpus KiB findings
    failed=0
    for t in $targets; do
        report_one "$t" || failed=1
    done
    exit "$failed"
}

# keep_bounded T DIR: copies the inputs of DIR that tests/fuzz/corpus/T lacks into it,
# smallest first, while the kept corpus stays within MAX_FILES and MAX_BYTES.
keep_bounded() {
    kept=$seeds/$1
    files=$(count_files "$kept")
    bytes=$(find "$kept" -type f -exec cat {} + | wc -c | tr -d ' ')
    added=0
    dropped=0
    for f in "$2"/*; do
        [ -f "$f" ] || continue
        [ -e "$kept/${f##*/}" ] && continue
        echo "$(wc -c <"$f" | tr -d ' ') $f"
    done | sort -n >"$out/merge/$1.new"
    while read -r size f; do
        if [ "$files" -lt "$MAX_FILES" ] && [ $((bytes + size)) -le "$MAX_BYTES" ]; then
            cp "$f" "$kept/"
            files=$((files + 1))
            bytes=$((bytes + size))
            added=$((added + 1))
        else
            dropped=$((dropped + 1))
        fi
    done <"$out/merge/$1.new"
    echo "fuzz $1: kept $files files, $bytes bytes in $kept ($added added," \
        "$dropped left out by the bound)"
}

cmd_merge() {
    targets=$(list_targets "$@") || exit 1
    failed=0
    for t in $targets; do
        if [ ! -d "$out/corpus/$t" ]; then
            echo "fuzz $t: no working corpus in $out/corpus/$t, skipped"
            continue
        fi
        into=$out/merge/$t
        rm -rf "$into"
        mkdir -p "$into" "$seeds/$t" "$out/logs"
        cp "$seeds/$t"/* "$into"/ 2>/dev/null
        if ! "$out/fuzz_$t" -merge=1 -rss_limit_mb=2048 -timeout=10 "$into" "$out/corpus/$t" \
            >"$out/logs/$t.merge.log" 2>&1; then
            echo "fuzz $t: merge failed, see $out/logs/$t.merge.log" >&2
            failed=1
            continue
        fi
        keep_bounded "$t" "$into"
    done
    exit "$failed"
}

[ $# -ge 1 ] || usage
command=$1
shift
case $command in
run) cmd_run "$@" ;;
merge) cmd_merge "$@" ;;
*) usage ;;
esac
