/*
 * bench_peak.c - one core's arithmetic peak, the denominator of the "% of peak" figures of
 * scripts/bench.sh. Prints machine-readable lines:
 *
 *   RESULT peak fp32_vector avx512
 *   RESULT peak fp32_gflops 241.3
 *   RESULT peak bf16_gflops 478.6        (only when built for AVX512_BF16)
 *
 * fp32: CHAINS independent accumulators, each updated acc = acc * a + b with one fused
 * multiply-add per step, on the widest vectors this build has: AVX-512 zmm (16 floats)
 * when __AVX512F__, else AVX2 ymm with FMA (8 floats), else plain floats (fmaf when the
 * build has FMA, otherwise a multiply and an add). A multiply-add counts as 2 FLOPs.
 * The chains are independent so that the FMA units' latency is hidden: the loop is
 * bound by how many FMAs the core issues per cycle, which is the peak.
 *
 * bf16: VDPBF16PS (_mm512_dpbf16_ps), each lane of 16 adding two bf16 products to an
 * fp32 accumulator: 64 FLOPs per instruction, the same CHAINS layout.
 *
 * Each probe doubles its step count until one timed run lasts about 20 ms, then keeps the
 * fastest of the runs filling --seconds: a peak is what the core can do, so the slower
 * runs say only that something else had the core. Runs are timed on the thread's CPU clock,
 * so time the scheduler gives to other processes is not counted (time a hypervisor takes
 * from the virtual core still is).
 */
#include "bench/bench_util.h"

#include <getopt.h>
#include <immintrin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CHAINS          16 /* independent accumulators: more than latency x FMA units per core */
#define MIN_RUN_SECONDS 0.02

static const char usage[] =
    "usage: bench_peak [--seconds X]\n"
    "Measures one core's fp32 FMA peak and, when built for AVX512_BF16, its bf16\n"
    "dot-product peak (GFLOP/s); about X seconds per probe (default 0.5).\n";

/* Kept out of the compiler's reach so that nothing is folded at build time. */
static volatile float factor = 0.999999f, addend = 1e-6f;
static volatile float sink;

#if defined(__AVX512F__)
static const char vector_name[] = "avx512";

/* steps x CHAINS x 16 lanes multiply-adds; returns a value depending on all of them */
static float fp32_chains(long steps)
{
    __m512 acc[CHAINS];
    const __m512 a = _mm512_set1_ps(factor), b = _mm512_set1_ps(addend);
    for (int j = 0; j < CHAINS; j++) {
        acc[j] = _mm512_set1_ps((float)j);
    }
    for (long i = 0; i < steps; i++) {
#pragma GCC unroll 16
        for (int j = 0; j < CHAINS; j++) {
            acc[j] = _mm512_fmadd_ps(acc[j], a, b);
        }
    }
    for (int j = 1; j < CHAINS; j++) {
        acc[0] = _mm512_add_ps(acc[0], acc[j]);
    }
    return _mm512_reduce_add_ps(acc[0]);
}
#define FP32_FLOPS_PER_STEP (CHAINS * 16 * 2)

#elif defined(__AVX2__) && defined(__FMA__)
static const char vector_name[] = "avx2";

static float fp32_chains(long steps)
{
    enum { YMM_CHAINS = 12 }; /* 16 ymm registers: 12 accumulators and the two constants */
    __m256 acc[YMM_CHAINS];
    const __m256 a = _mm256_set1_ps(factor), b = _mm256_set1_ps(addend);
    for (int j = 0; j < YMM_CHAINS; j++) {
        acc[j] = _mm256_set1_ps((float)j);
    }
    for (long i = 0; i < steps; i++) {
#pragma GCC unroll 12
        for (int j = 0; j < YMM_CHAINS; j++) {
            acc[j] = _mm256_fmadd_ps(acc[j], a, b);
        }
    }
    float out[8], sum = 0.0f;
    for (int j = 1; j < YMM_CHAINS; j++) {
        acc[0] = _mm256_add_ps(acc[0], acc[j]);
    }
    _mm256_storeu_ps(out, acc[0]);
    for (int k = 0; k < 8; k++) {
        sum += out[k];
    }
    return sum;
}
#define FP32_FLOPS_PER_STEP (12 * 8 * 2)

#else
#if defined(__FMA__)
static const char vector_name[] = "scalar-fma";
#else
static const char vector_name[] = "scalar";
#endif

static inline float multiply_add(float x, float a, float b)
{
#if defined(__FMA__)
    return fmaf(x, a, b);
#else
    return x * a + b;
#endif
}

static float fp32_chains(long steps)
{
    float acc[CHAINS];
    const float a = factor, b = addend;
    for (int j = 0; j < CHAINS; j++) {
        acc[j] = (float)j;
    }
    for (long i = 0; i < steps; i++) {
#pragma GCC unroll 16
        for (int j = 0; j < CHAINS; j++) {
            acc[j] = multiply_add(acc[j], a, b);
        }
    }
    float sum = 0.0f;
    for (int j = 0; j < CHAINS; j++) {
        sum += acc[j];
    }
    return sum;
}
#define FP32_FLOPS_PER_STEP (CHAINS * 2)
#endif

#if defined(__AVX512BF16__)
/* steps x CHAINS instructions, each 16 lanes x 2 bf16 products added in fp32 */
static float bf16_chains(long steps)
{
    __m512 acc[CHAINS];
    const __m512 fa = _mm512_set1_ps(factor), fb = _mm512_set1_ps(addend);
    /* 32 bf16 values each; the products are tiny, so the sums stay finite */
    const __m512bh a = _mm512_cvtne2ps_pbh(fa, fa), b = _mm512_cvtne2ps_pbh(fb, fb);
    for (int j = 0; j < CHAINS; j++) {
        acc[j] = _mm512_set1_ps((float)j);
    }
    for (long i = 0; i < steps; i++) {
#pragma GCC unroll 16
        for (int j = 0; j < CHAINS; j++) {
            acc[j] = _mm512_dpbf16_ps(acc[j], a, b);
        }
    }
    for (int j = 1; j < CHAINS; j++) {
        acc[0] = _mm512_add_ps(acc[0], acc[j]);
    }
    return _mm512_reduce_add_ps(acc[0]);
}
#define BF16_FLOPS_PER_STEP (CHAINS * 16 * 2 * 2)
#endif

typedef float (*chains_fn)(long steps);

/* Seconds of CPU time this thread has used. */
static double thread_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The best GFLOP/s of fn over about `seconds`, each run long enough to time. */
static double probe(chains_fn fn, double flops_per_step, double seconds)
{
    long steps = 1 << 16;
    double t;
    for (;;) {
        double t0 = thread_seconds();
        sink = fn(steps);
        t = thread_seconds() - t0;
        if (t >= MIN_RUN_SECONDS || steps > (1L << 40)) {
            break;
        }
        steps *= 2;
    }
    double best = t, start = bench_seconds();
    while (bench_seconds() - start < seconds) {
        double t0 = thread_seconds();
        sink = fn(steps);
        double dt = thread_seconds() - t0;
        best = dt < best ? dt : best;
    }
    return flops_per_step * (double)steps / best / 1e9;
}

int main(int argc, char **argv)
{
    static const struct option longs[] = {
        {"seconds", required_argument, 0, 's'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    double seconds = 0.5;
    int c;
    while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        if (c == 's') {
            char *end;
            seconds = strtod(optarg, &end);
            if (end == optarg || *end || !(seconds >= 0.0 && seconds <= 60.0)) {
                fprintf(stderr, "bench_peak: --seconds: '%s' is not a number in 0..60\n", optarg);
                return 2;
            }
        } else {
            int rc = bench_other_option(usage, c);
            return rc < 0 ? 0 : 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "bench_peak: unexpected argument '%s'\n%s", argv[optind], usage);
        return 2;
    }
    printf("RESULT peak fp32_vector %s\n", vector_name);
    printf("RESULT peak fp32_gflops %.1f\n", probe(fp32_chains, FP32_FLOPS_PER_STEP, seconds));
#if defined(__AVX512BF16__)
    printf("RESULT peak bf16_gflops %.1f\n", probe(bf16_chains, BF16_FLOPS_PER_STEP, seconds));
#endif
    return 0;
}
