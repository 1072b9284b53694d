# bench_parse.sh - how scripts/bench.sh reads what the measured programs print; sourced
# by it, and by tests/test_bench.c and tests/test_cli.c, which check these readers against
# the programs' real output. POSIX sh functions, each printing one value or nothing.

# value of "RESULT SIDE MEASURE VALUE" in FILE (the last one), nothing if absent
result_of() { # FILE MEASURE
    awk -v m="$2" '$1 == "RESULT" && $3 == m { v = $4 } END { if (v != "") print v }' "$1"
}

# images/s of the epoch line `digits train` prints ("epoch 1/1: 8.8s - 6779 images/s - ...")
digits_images_per_s() { # FILE
    sed -n 's|^epoch 1/1: .* - \([0-9.]*\) images/s.*|\1|p' "$1" | tail -n 1
}

# the percentage of the "test accuracy: 98.91%" line of `digits train` and `digits evaluate`
digits_accuracy() { # FILE
    sed -n 's/^test accuracy: \([0-9.]*\)%*$/\1/p' "$1" | tail -n 1
}

# a fraction (0.9891) as a percentage with two decimals (98.91); nothing for nothing
percent() { # FRACTION
    [ -z "$1" ] || awk -v f="$1" 'BEGIN { printf "%.2f", 100 * f }'
}
