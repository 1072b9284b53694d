/*
 * test_cpu.c - the kernels of src/nn/cpu against plain loops written here: the GEMM door
 * on every transpose and on sizes that leave partial tiles, the finiteness check at every
 * position of a vector and its tail, and the optimiser's update split across threads
 * against the same update on one.
 */
#include "base/parallel.h"
#include "nn/cpu/cpu.h"
#include "nn/optim.h"
#include "test.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* c[i][j] = sum over p of op(a)(i, p) * op(b)(p, j), in double */
static void naive_gemm(bool ta, bool tb, int m, int n, int k, const float *a, int lda,
                       const float *b, int ldb, double *c)
{
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            double s = 0.0;
            for (int p = 0; p < k; p++) {
                double av = ta ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p];
                double bv = tb ? b[(size_t)j * ldb + p] : b[(size_t)p * ldb + j];
                s += av * bv;
            }
            c[(size_t)i * n + j] = s;
        }
    }
}

/* Shapes with partial register tiles and cache blocks in every dimension, one row or
 * column, and K past a block. */
DG_TEST(cpu_gemm_matches_plain_loops)
{
    static const int shapes[][3] = {{1, 1, 1},      {3, 5, 7},      {13, 33, 17},
                                    {12, 32, 256},  {97, 31, 300},  {5, 600, 9},
                                    {64, 288, 121}, {288, 121, 64}, {40, 3, 70}};
    dg_rng rng;
    dg_rng_seed(&rng, 5);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        for (int mode = 0; mode < 4; mode++) {
            bool ta = mode & 1, tb = mode & 2;
            int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1, ldc = n + 2;
            float *a = malloc((size_t)(ta ? k : m) * lda * sizeof(float));
            float *b = malloc((size_t)(tb ? n : k) * ldb * sizeof(float));
            float *c = malloc((size_t)m * ldc * sizeof(float));
            double *want = malloc((size_t)m * n * sizeof(double));
            for (int i = 0; i < (ta ? k : m) * lda; i++) {
                a[i] = dg_rng_uniform(&rng) - 0.5f;
            }
            for (int i = 0; i < (tb ? n : k) * ldb; i++) {
                b[i] = dg_rng_uniform(&rng) - 0.5f;
            }
            for (int i = 0; i < m * ldc; i++) {
                c[i] = 1.0f;
            }
            naive_gemm(ta, tb, m, n, k, a, lda, b, ldb, want);
            /* alpha 2, beta 0.5 over C = 1: 2 AB + 0.5; the padding of each row untouched */
            dg_sgemm(ta, tb, m, n, k, 2.0f, a, lda, b, ldb, 0.5f, c, ldc);
            bool ok = true;
            for (int i = 0; i < m && ok; i++) {
                for (int j = 0; j < ldc && ok; j++) {
                    double w = j < n ? 2.0 * want[(size_t)i * n + j] + 0.5 : 1.0;
                    double got = c[(size_t)i * ldc + j];
                    CHECK_MSG(fabs(got - w) <= 1e-4 * (1.0 + sqrt((double)k)),
                              "%dx%dx%d trans %d%d: c[%d][%d] = %g, want %g", m, n, k, ta, tb, i, j,
                              got, w);
                }
            }
            free(a);
            free(b);
            free(c);
            free(want);
        }
    }
}

/* The dense layer's input gradient without packing: the plain sums on awkward shapes, and
 * where the AVX-512 GEMM serves dg_sgemm, its very bits (the same sums over k in order). */
DG_TEST(cpu_times_matrix_matches_plain_loops_and_gemm)
{
    static const int shapes[][3] = {
        {1, 1, 1}, {3, 5, 7}, {9, 47, 13}, {16, 1200, 256}, {8, 49, 64}};
    dg_rng rng;
    dg_rng_seed(&rng, 6);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int n = shapes[s][0], m = shapes[s][1], k = shapes[s][2];
        float *a = malloc((size_t)n * k * sizeof(float)),
              *b = malloc((size_t)k * m * sizeof(float));
        float *c = malloc((size_t)n * m * sizeof(float)),
              *g = malloc((size_t)n * m * sizeof(float));
        double *want = malloc((size_t)n * m * sizeof(double));
        for (int i = 0; i < n * k; i++) {
            a[i] = dg_rng_uniform(&rng) - 0.5f;
        }
        for (int i = 0; i < k * m; i++) {
            b[i] = dg_rng_uniform(&rng) - 0.5f;
        }
        naive_gemm(false, false, n, m, k, a, k, b, m, want);
        dg_times_matrix(a, n, k, b, m, c);
        dg_sgemm(false, false, n, m, k, 1.0f, a, k, b, m, 0.0f, g, m);
        for (int i = 0; i < n * m; i++) {
            CHECK_MSG(fabs(c[i] - want[i]) <= 1e-5 * (1.0 + sqrt((double)k)),
                      "%dx%dx%d: c[%d] = %g, want %g", n, m, k, i, (double)c[i], want[i]);
            CHECK_MSG(!dg_avx512_active() || c[i] == g[i], "%dx%dx%d: c[%d] = %a, the GEMM's %a", n,
                      m, k, i, (double)c[i], (double)g[i]);
        }
        free(a);
        free(b);
        free(c);
        free(g);
        free(want);
    }
}

DG_TEST(cpu_floats_finite_finds_any_position)
{
    enum { N = 70 };
    float x[N];
    for (int i = 0; i < N; i++) {
        x[i] = (float)i - 30.5f;
    }
    for (size_t n = 0; n <= N; n++) {
        CHECK(dg_floats_finite(x, n));
    }
    float bad[] = {NAN, INFINITY, -INFINITY};
    for (int kind = 0; kind < 3; kind++) {
        for (size_t at = 0; at < N; at++) {
            float keep = x[at];
            x[at] = bad[kind];
            CHECK_MSG(!dg_floats_finite(x, N), "%g at %zu not found", (double)bad[kind], at);
            CHECK(dg_floats_finite(x, at)); /* before it, all finite */
            x[at] = keep;
        }
    }
}

DG_TEST(cpu_pool_range_splits_whole_lines)
{
    static const size_t sizes[] = {0, 1, 15, 16, 17, 100, 1000, 100000};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        for (int threads = 1; threads <= 5; threads++) {
            size_t next = 0;
            for (int t = 0; t < threads; t++) {
                size_t first, end;
                dg_pool_range(sizes[s], t, threads, &first, &end);
                CHECK(first == next && end >= first && end <= sizes[s]);
                CHECK(first % 16 == 0);
                CHECK(end % 16 == 0 || end == sizes[s]);
                next = end;
            }
            CHECK(next == sizes[s]);
        }
    }
}

/* What the items of a pool test record. */
typedef struct item_log {
    _Atomic int runs[300];
    _Atomic int bad_thread;
    int threads;
} item_log;

static void log_item(void *arg, int item, int thread)
{
    item_log *log = arg;
    atomic_fetch_add(&log->runs[item], 1);
    if (thread < 0 || thread >= log->threads) {
        atomic_fetch_add(&log->bad_thread, 1);
    }
    /* uneven items, so that threads overtake each other */
    volatile double x = 0.0;
    for (int i = 0; i < (item % 7) * 2000; i++) {
        x = x + 1.0;
    }
}

static void log_part(void *arg, int t, int n_threads)
{
    item_log *log = arg;
    atomic_fetch_add(&log->runs[t], 1);
    if (n_threads != log->threads) {
        atomic_fetch_add(&log->bad_thread, 1);
    }
}

/* dg_pool_for runs every item exactly once, on a thread of the pool, for any count of items
 * and threads, many jobs in a row; dg_pool_run runs every part once. */
DG_TEST(cpu_pool_for_runs_every_item_once)
{
    static item_log log;
    for (int threads = 1; threads <= 3; threads++) {
        dg_pool *pool;
        CHECK_OK(dg_pool_new(threads, &pool));
        static const int counts[] = {0, 1, 2, 3, 7, 64, 300};
        for (int rep = 0; rep < 20; rep++) {
            for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
                memset(&log, 0, sizeof log);
                log.threads = threads;
                dg_pool_for(pool, counts[c], log_item, &log);
                for (int i = 0; i < 300; i++) {
                    CHECK(atomic_load(&log.runs[i]) == (i < counts[c] ? 1 : 0));
                }
                CHECK(atomic_load(&log.bad_thread) == 0);
            }
            memset(&log, 0, sizeof log);
            log.threads = threads;
            dg_pool_run(pool, log_part, &log);
            for (int t = 0; t < 300; t++) {
                CHECK(atomic_load(&log.runs[t]) == (t < threads ? 1 : 0));
            }
            CHECK(atomic_load(&log.bad_thread) == 0);
        }
        dg_pool_free(pool);
    }
}

/* A job whose first items make something and whose later items wait for it: each of the
 * first `makers` items raises the counter once, after a delay long enough (some of them)
 * for a waiting thread to go past its spin and sleep; each later item waits for all the
 * raises and records how many it saw. */
typedef struct wait_job {
    dg_pool *pool;
    int makers;
    atomic_int made;
    _Atomic int seen[16];
} wait_job;

static void wait_item(void *arg, int item, int thread)
{
    (void)thread;
    wait_job *job = arg;
    if (item < job->makers) {
        if (item == job->makers - 1) {
            struct timespec delay = {0, 2000000}; /* 2 ms: well past the 50 us spin */
            nanosleep(&delay, NULL);
        }
        dg_pool_raise(job->pool, &job->made);
        return;
    }
    dg_pool_wait_for(job->pool, &job->made, job->makers);
    atomic_store(&job->seen[item - job->makers], atomic_load(&job->made));
}

/* dg_pool_wait_for returns only once the earlier items have raised the counter, whether it
 * spun or slept, on one thread or several, and never hangs. */
DG_TEST(cpu_pool_wait_for_sees_every_raise)
{
    for (int threads = 1; threads <= 3; threads++) {
        dg_pool *pool;
        CHECK_OK(dg_pool_new(threads, &pool));
        for (int rep = 0; rep < 10; rep++) {
            static wait_job job;
            memset(&job, 0, sizeof job);
            job.pool = pool;
            job.makers = 1 + rep % 4;
            dg_pool_for(pool, job.makers + 16, wait_item, &job);
            CHECK(atomic_load(&job.made) == job.makers);
            for (int i = 0; i < 16; i++) {
                CHECK(atomic_load(&job.seen[i]) == job.makers);
            }
        }
        dg_pool_free(pool);
    }
}

/* Where the workers of a job ran: on the caller's core or bound to it (counted), and how
 * many items they took. */
typedef struct core_log {
    int caller_cpu;
    atomic_int worker_items, on_caller, bound_to_caller;
} core_log;

static void core_item(void *arg, int item, int thread)
{
    (void)item;
    core_log *log = arg;
    struct timespec delay = {0, 300000}; /* 0.3 ms: long enough for the workers to come */
    nanosleep(&delay, NULL);
    if (thread == 0) {
        return;
    }
    cpu_set_t mask;
    atomic_fetch_add(&log->worker_items, 1);
    atomic_fetch_add(&log->on_caller, sched_getcpu() == log->caller_cpu);
    if (pthread_getaffinity_np(pthread_self(), sizeof mask, &mask) == 0) {
        atomic_fetch_add(&log->bound_to_caller, CPU_ISSET(log->caller_cpu, &mask));
    }
}

/* Runs a job of 40 items on pool into log, its counts cleared first. */
static void run_core_job(dg_pool *pool, core_log *log)
{
    atomic_store(&log->worker_items, 0);
    atomic_store(&log->on_caller, 0);
    atomic_store(&log->bound_to_caller, 0);
    dg_pool_for(pool, 40, core_item, log);
}

/* dg_pool_keep_off_caller: while on, no worker of a pool with a core for each thread runs
 * on, or may run on, the caller's core; off, they may again. A pool with more threads than
 * cores is left as it is. The caller is held on one core for the test. */
DG_TEST(cpu_pool_keeps_workers_off_the_callers_core)
{
    cpu_set_t before;
    CHECK(sched_getaffinity(0, sizeof before, &before) == 0);
    int cores = CPU_COUNT(&before);
    if (cores < 2) {
        SKIP("one core: nothing to keep off");
    }
    dg_pool *pool, *crowded;
    CHECK_OK(dg_pool_new(2, &pool)); /* their workers may use every core the test may */
    CHECK_OK(dg_pool_new(cores + 1, &crowded));
    static core_log log;
    memset(&log, 0, sizeof log);
    for (log.caller_cpu = 0; !CPU_ISSET(log.caller_cpu, &before); log.caller_cpu++) {
    }
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(log.caller_cpu, &one);
    CHECK(sched_setaffinity(0, sizeof one, &one) == 0);
    int on[3], off[2], crowd[2];
    dg_pool_keep_off_caller(pool, true);
    run_core_job(pool, &log);
    on[0] = atomic_load(&log.worker_items);
    on[1] = atomic_load(&log.on_caller);
    on[2] = atomic_load(&log.bound_to_caller);
    dg_pool_keep_off_caller(pool, false);
    run_core_job(pool, &log);
    off[0] = atomic_load(&log.worker_items);
    off[1] = atomic_load(&log.bound_to_caller);
    dg_pool_keep_off_caller(crowded, true);
    run_core_job(crowded, &log);
    crowd[0] = atomic_load(&log.worker_items);
    crowd[1] = atomic_load(&log.bound_to_caller);
    dg_pool_keep_off_caller(crowded, false);
    CHECK(sched_setaffinity(0, sizeof before, &before) == 0);
    dg_pool_free(pool);
    dg_pool_free(crowded);
    CHECK_MSG(on[0] > 0 && on[1] == 0 && on[2] == 0,
              "on: %d items on workers, %d on the caller's core, %d bound to it", on[0], on[1],
              on[2]);
    CHECK_MSG(off[0] > 0 && off[1] == off[0],
              "off: %d items on workers, %d of them free to use the caller's core", off[0], off[1]);
    CHECK_MSG(crowd[0] > 0 && crowd[1] == crowd[0],
              "%d threads on %d cores: %d items on workers, %d free to use the caller's core",
              cores + 1, cores, crowd[0], crowd[1]);
}

typedef struct parts_update {
    dg_optim *opt;
    float *params;
    const float *grads;
    size_t n;
} parts_update;

static void update_one_part(void *arg, int part, int t)
{
    (void)t;
    const parts_update *u = arg;
    size_t first, end;
    dg_pool_range(u->n, part, dg_pool_parts(u->n), &first, &end);
    dg_optim_update(u->opt, u->params, u->grads, first, end - first);
}

/* The update in parts on the pool's threads (dg_optim_begin, then dg_optim_update part by
 * part, as training does) gives the same bits as the whole step on one thread, Adam and
 * SGD. */
DG_TEST(cpu_optimiser_split_matches_one_thread)
{
    enum { N = 20000, STEPS = 3 };
    dg_pool *pool;
    CHECK_OK(dg_pool_new(2, &pool));
    for (int kind = 0; kind < 2; kind++) {
        dg_optim_config cfg = dg_optim_defaults(kind ? DG_OPTIM_SGD : DG_OPTIM_ADAM);
        dg_optim *one, *split;
        CHECK_OK(dg_optim_new(&cfg, N, &one));
        CHECK_OK(dg_optim_new(&cfg, N, &split));
        static float p1[N], p2[N], g[N];
        dg_rng rng;
        dg_rng_seed(&rng, 9);
        for (int i = 0; i < N; i++) {
            p1[i] = p2[i] = dg_rng_uniform(&rng) - 0.5f;
        }
        for (int step = 0; step < STEPS; step++) {
            for (int i = 0; i < N; i++) {
                g[i] = dg_rng_uniform(&rng) - 0.5f;
            }
            dg_optim_step(one, p1, g, 1e-2f);
            dg_optim_begin(split, 1e-2f);
            parts_update u = {split, p2, g, N};
            dg_pool_for(pool, dg_pool_parts(N), update_one_part, &u);
        }
        CHECK(memcmp(p1, p2, sizeof p1) == 0);
        CHECK(p1[0] != 0.0f);
        dg_optim_free(one);
        dg_optim_free(split);
    }
    dg_pool_free(pool);
}
