/*
 * bench_cores.c - how far apart two cores are: the time one cache line takes to travel
 * from one to the other, which is what threads of one process pay for the data they share
 * (a training step's weights, written by one core and read by both). On a virtual machine
 * the host places its cores where it likes and may move them: two cores that share a
 * level-3 cache pass a line in tens of nanoseconds, two on different dies in well over a
 * hundred. scripts/bench.sh prints it beside the two-thread figures. Prints:
 *
 *   RESULT cores one_way_ns 34
 *
 * A thread on CPU --a and one on CPU --b hand a counter back and forth on one line, each
 * waiting for the other's value; the median of --rounds runs of ROUND_TRIPS round trips,
 * halved. Needs Linux and both CPUs free to run on; otherwise it says so and exits 1.
 */
#include "bench/bench_util.h"

#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#define ROUND_TRIPS 100000

static const char usage[] =
    "usage: bench_cores [--a CPU] [--b CPU] [--rounds N]\n"
    "Measures the one-way time of a cache line between CPUs A and B (default 0 and 1),\n"
    "the median of N rounds (default 5) of 100,000 round trips.\n";

static _Alignas(64) atomic_long line;
static _Alignas(64) atomic_int ready; /* the answering thread: 0 starting, 1 pinned, -1 not */

static bool pin(int cpu)
{
#ifdef __linux__
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
#else
    (void)cpu;
    return false;
#endif
}

/* Waits for each odd value and answers with the next even one. */
static void *answer(void *arg)
{
    if (!pin(*(const int *)arg)) {
        atomic_store(&ready, -1);
        return NULL;
    }
    atomic_store(&ready, 1);
    for (long v = 1; v < 2L * ROUND_TRIPS; v += 2) {
        while (atomic_load_explicit(&line, memory_order_acquire) != v) {
        }
        atomic_store_explicit(&line, v + 1, memory_order_release);
    }
    return NULL;
}

/* One round: ROUND_TRIPS round trips from CPU a to b and back; seconds, or -1. */
static double round_trips(int a, int b)
{
    atomic_store(&line, 0);
    atomic_store(&ready, 0);
    pthread_t t;
    if (!pin(a) || pthread_create(&t, NULL, answer, &b) != 0) {
        return -1;
    }
    while (atomic_load(&ready) == 0) {
    }
    if (atomic_load(&ready) < 0) {
        pthread_join(t, NULL);
        return -1;
    }
    double t0 = bench_seconds();
    for (long v = 0; v < 2L * ROUND_TRIPS; v += 2) {
        atomic_store_explicit(&line, v + 1, memory_order_release);
        while (atomic_load_explicit(&line, memory_order_acquire) != v + 2) {
        }
    }
    double dt = bench_seconds() - t0;
    pthread_join(t, NULL);
    return dt;
}

int main(int argc, char **argv)
{
    static const struct option longs[] = {
        {"a", required_argument, 0, 'a'},
        {"b", required_argument, 0, 'b'},
        {"rounds", required_argument, 0, 'r'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    long a = 0, b = 1, rounds = 5;
    int c;
    while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        bool ok = true;
        if (c == 'a') {
            ok = bench_long_option("bench_cores", "--a", optarg, 0, 4095, &a);
        } else if (c == 'b') {
            ok = bench_long_option("bench_cores", "--b", optarg, 0, 4095, &b);
        } else if (c == 'r') {
            ok = bench_long_option("bench_cores", "--rounds", optarg, 1, 1000, &rounds);
        } else {
            int rc = bench_other_option(usage, c);
            return rc < 0 ? 0 : 2;
        }
        if (!ok) {
            return 2;
        }
    }
    if (optind < argc || a == b) {
        fprintf(stderr, "bench_cores: %s\n%s",
                a == b ? "--a and --b must be two different CPUs" : "unexpected argument", usage);
        return 2;
    }
    double *t = malloc(sizeof *t * (size_t)rounds);
    if (!t) {
        fprintf(stderr, "bench_cores: out of memory\n");
        return 1;
    }
    for (long r = 0; r < rounds; r++) {
        t[r] = round_trips((int)a, (int)b);
        if (t[r] < 0) {
            fprintf(stderr, "bench_cores: cannot run threads on CPUs %ld and %ld\n", a, b);
            free(t);
            return 1;
        }
    }
    printf("RESULT cores one_way_ns %.0f\n",
           bench_median(t, (size_t)rounds) / ROUND_TRIPS / 2 * 1e9);
    free(t);
    return 0;
}
