/*
 * bench_util.h - what the bench programs share: a monotonic clock, the median of a set of
 * timings, option values checked against a range, the getopt cases every program treats
 * alike, and loading a model with a data split. Each bench_*.c includes it; the functions
 * are static inline, so there is nothing more to link.
 */
#ifndef DG_BENCH_UTIL_H
#define DG_BENCH_UTIL_H

#include "digits.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Seconds on the monotonic clock, for differences. */
static inline double bench_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline int bench_compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of v[0..n), n >= 1; sorts v in place. */
static inline double bench_median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, bench_compare_doubles);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* The value of option as a whole number in [lo, hi]; otherwise says so on stderr
 * ("bench_infer: --runs: 'x' is not a whole number in 1..10000000") and returns false. */
static inline bool bench_long_option(const char *prog, const char *option, const char *value,
                                     long lo, long hi, long *out)
{
    char *end;
    long v = strtol(value, &end, 10);
    if (end == value || *end || v < lo || v > hi) {
        fprintf(stderr, "%s: %s: '%s' is not a whole number in %ld..%ld\n", prog, option, value, lo,
                hi);
        return false;
    }
    *out = v;
    return true;
}

/* getopt_long's 'h' prints usage on stdout and gives -1 (exit 0); anything else (an
 * unknown option, a missing value: getopt has said which) prints usage on stderr and
 * gives 1 (exit 2). */
static inline int bench_other_option(const char *usage, int c)
{
    if (c == 'h') {
        fputs(usage, stdout);
        return -1;
    }
    fputs(usage, stderr);
    return 1;
}

/* Loads the model and the split of the MNIST-format folder data; on failure prints
 * "PROG: message", leaves *net and *ds NULL and returns false. */
static inline bool bench_load(const char *prog, const char *model, const char *data, dg_split split,
                              dg_net **net, dg_model_meta *meta, dg_dataset **ds)
{
    *net = NULL;
    *ds = NULL;
    if (dg_model_load(model, net, meta) != DG_OK || dg_dataset_load(data, split, ds) != DG_OK) {
        fprintf(stderr, "%s: %s\n", prog, dg_last_error());
        dg_net_free(*net);
        *net = NULL;
        return false;
    }
    return true;
}

#endif
