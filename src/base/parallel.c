/*
 * parallel.c - the worker pool behind dg_pool_run.
 *
 * A training step calls the pool a few times (forward, backward, the gradient sum, the
 * optimiser) with up to a few milliseconds of work each, so waking the workers must cost
 * microseconds: workers spin on a generation counter for a short while after each job
 * and only then sleep on a condition variable. The caller, once its own part is done,
 * likewise spins a short while for the workers and then sleeps until the last one
 * signals: a worker whose core is shared with another process then gets the caller's
 * core instead of waiting behind a thread that only spins or yields.
 */
#include "base/parallel.h"

#include <immintrin.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

/* About 50 µs of spinning before a worker sleeps, and before the caller starts yielding
 * its core while it waits: long enough to span the gap between the passes of a training
 * step, short enough not to fight other work for the cores. */
#define SPIN_ROUNDS 20000

struct dg_pool {
    int n_threads;
    pthread_t *threads;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_cond_t done;    /* the last worker of a job finished */
    atomic_bool sleeping;   /* the caller waits on done */
    atomic_uint generation; /* bumped for each job */
    atomic_int pending;     /* workers still running the current job */
    atomic_bool stop;
    dg_pool_fn fn;
    void *arg;
};

typedef struct worker_start {
    dg_pool *pool;
    int index;
} worker_start;

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#endif
}

static void *worker_main(void *p)
{
    worker_start *start = p;
    dg_pool *pool = start->pool;
    int index = start->index;
    free(start);
    unsigned seen = 0;
    for (;;) {
        int spins = 0;
        while (atomic_load_explicit(&pool->generation, memory_order_acquire) == seen &&
               !atomic_load(&pool->stop)) {
            if (++spins < SPIN_ROUNDS) {
                cpu_relax();
                continue;
            }
            pthread_mutex_lock(&pool->lock);
            while (atomic_load(&pool->generation) == seen && !atomic_load(&pool->stop)) {
                pthread_cond_wait(&pool->wake, &pool->lock);
            }
            pthread_mutex_unlock(&pool->lock);
        }
        if (atomic_load(&pool->stop)) {
            return NULL;
        }
        seen = atomic_load_explicit(&pool->generation, memory_order_acquire);
        pool->fn(pool->arg, index, pool->n_threads);
        /* both sides sequentially consistent: either this worker sees the caller asleep,
         * or the caller sees the count at zero before it sleeps */
        if (atomic_fetch_sub(&pool->pending, 1) == 1 && atomic_load(&pool->sleeping)) {
            pthread_mutex_lock(&pool->lock);
            pthread_cond_signal(&pool->done);
            pthread_mutex_unlock(&pool->lock);
        }
    }
}

int dg_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int)n;
}

dg_status dg_pool_new(int n_threads, dg_pool **out)
{
    *out = NULL;
    if (n_threads < 1 || n_threads > 256) {
        return dg_fail(DG_ERR_ARG, "thread count %d out of range 1..256", n_threads);
    }
    dg_pool *pool = calloc(1, sizeof *pool);
    if (!pool) {
        return dg_fail(DG_ERR_NOMEM, "out of memory for a thread pool");
    }
    pool->n_threads = 1;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pthread_cond_init(&pool->done, NULL);
    if (n_threads > 1) {
        pool->threads = calloc((size_t)n_threads, sizeof *pool->threads);
        if (!pool->threads) {
            dg_pool_free(pool);
            return dg_fail(DG_ERR_NOMEM, "out of memory for a thread pool");
        }
    }
    for (int t = 1; t < n_threads; t++) {
        worker_start *start = malloc(sizeof *start);
        if (!start) {
            dg_pool_free(pool);
            return dg_fail(DG_ERR_NOMEM, "out of memory for a thread pool");
        }
        start->pool = pool;
        start->index = t;
        if (pthread_create(&pool->threads[t], NULL, worker_main, start) != 0) {
            free(start);
            dg_pool_free(pool);
            return dg_fail(DG_ERR_NOMEM, "cannot start worker thread %d", t);
        }
        pool->n_threads = t + 1;
    }
    *out = pool;
    return DG_OK;
}

void dg_pool_free(dg_pool *pool)
{
    if (!pool) {
        return;
    }
    pthread_mutex_lock(&pool->lock);
    atomic_store(&pool->stop, true);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    for (int t = 1; t < pool->n_threads; t++) {
        pthread_join(pool->threads[t], NULL);
    }
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->wake);
    pthread_cond_destroy(&pool->done);
    free(pool->threads);
    free(pool);
}

int dg_pool_threads(const dg_pool *pool)
{
    return pool->n_threads;
}

void dg_pool_run(dg_pool *pool, dg_pool_fn fn, void *arg)
{
    if (pool->n_threads == 1) {
        fn(arg, 0, 1);
        return;
    }
    pool->fn = fn;
    pool->arg = arg;
    atomic_store(&pool->pending, pool->n_threads - 1);
    pthread_mutex_lock(&pool->lock);
    atomic_fetch_add_explicit(&pool->generation, 1, memory_order_release);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    fn(arg, 0, pool->n_threads);
    for (int spins = 0; spins < SPIN_ROUNDS; spins++) {
        if (atomic_load_explicit(&pool->pending, memory_order_acquire) == 0) {
            return;
        }
        cpu_relax();
    }
    /* a worker is late (its core is shared, or it was preempted): sleep rather than keep
     * this core busy, so that the scheduler can move the late worker onto it */
    pthread_mutex_lock(&pool->lock);
    atomic_store(&pool->sleeping, true);
    while (atomic_load(&pool->pending) > 0) {
        pthread_cond_wait(&pool->done, &pool->lock);
    }
    atomic_store(&pool->sleeping, false);
    pthread_mutex_unlock(&pool->lock);
}

void dg_pool_range(size_t n, int t, int n_threads, size_t *first, size_t *end)
{
    size_t lines = (n + 15) / 16;
    size_t a = 16 * (lines * (size_t)t / (size_t)n_threads);
    size_t b = 16 * (lines * (size_t)(t + 1) / (size_t)n_threads);
    *first = a < n ? a : n;
    *end = b < n ? b : n;
}
