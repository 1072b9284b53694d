#!/bin/sh
# run-fuzz-corpora.sh BUILD_DIR - replays every fuzz corpus with its plain-main build:
# BUILD_DIR/replay_fuzz_X over tests/fuzz/corpus/X/, for each replay binary built. A
# target without a corpus folder is skipped. Exit status 1 if any replay fails (a crash,
# a sanitizer report, an unreadable input) or no replay binary is found, 2 on bad usage.

set -u

if [ $# -ne 1 ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
build=$1
corpora="$(cd "$(dirname "$0")/.." && pwd)/tests/fuzz/corpus"

found=0
failed=0
for bin in "$build"/replay_fuzz_*; do
    if [ ! -f "$bin" ] || [ ! -x "$bin" ]; then
        continue
    fi
    found=1
    target=${bin##*/replay_fuzz_}
    if [ ! -d "$corpora/$target" ]; then
        echo "fuzz $target: no corpus in $corpora/$target, skipped"
        continue
    fi
    if result=$("$bin" "$corpora/$target"); then
        echo "fuzz $target: $result"
    else
        echo "fuzz $target: FAILED replaying $corpora/$target ($result)" >&2
        failed=1
    fi
done

if [ "$found" -eq 0 ]; then
    echo "run-fuzz-corpora: no replay_fuzz_* programs in $build (run make first)" >&2
    exit 1
fi
exit "$failed"
