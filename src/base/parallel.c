/*
 * parallel.c - the worker pool behind dg_pool_for and dg_pool_run.
 *
 * A job is a number of items. The caller publishes it in one 64-bit word (the job's
 * generation, its item count and the next item to take) and takes items itself; any worker
 * that is awake takes items too, each by a compare-and-swap on that word, until none are
 * left. The job is over when every item has finished, not when every worker has checked
 * in: a worker that is asleep, or waiting for its core behind another process, simply
 * takes no item, and the caller never waits for it to wake up. Only a worker in the
 * middle of an item holds the job up.
 *
 * A training step runs a few jobs of up to a few milliseconds each, with gaps of
 * microseconds between them, so workers spin on the word for a short while after each
 * job and only then sleep on a condition variable. The caller, once no item is left to
 * take, likewise spins a short while for the items still running and then sleeps until
 * the last one signals: a worker whose core is shared with another process can then be
 * moved onto the caller's core instead of waiting behind a thread that only spins.
 *
 * For a long run of jobs from one thread (training), the workers can also be kept off the
 * caller's core (dg_pool_keep_off_caller): left to itself, the scheduler keeps both
 * threads of a two-thread pool on one core while another process holds the other, and
 * they take turns there.
 */
#include "base/parallel.h"

#include <assert.h>
#include <immintrin.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Spinning before a worker sleeps, and before the caller sleeps while it waits: long
 * enough to span the gap between the jobs of a training step (a few microseconds), short
 * enough not to fight other work for the cores. It is bounded in time, not in rounds: a
 * pause instruction takes from a few to over a hundred cycles depending on the processor
 * (20,000 of them took 0.53 ms on this project's machine, ten times what was meant). A
 * thread that shares its core with another process and spins spends that process's turns,
 * and the scheduler then takes the core from it in the middle of its next item, which
 * holds up the whole job; one that sleeps soon is let back in at once when woken. */
#define SPIN_NS 50000
/* Pauses between two looks at the clock. */
#define SPIN_CHECK 32

/* The job word: generation (22 bits), item count (21 bits), next item (21 bits). A stale
 * copy can only win its compare-and-swap on a word equal to the current one, and then it
 * claims the current job's next item, which is exactly right. */
#define ITEM_BITS 21
#define MAX_ITEMS ((1 << ITEM_BITS) - 1)
#define ITEM_MASK ((uint64_t)MAX_ITEMS)

struct dg_pool {
    int n_threads;
    pthread_t *threads;
    pthread_mutex_t lock;
    pthread_cond_t wake;   /* a new job, or stop */
    pthread_cond_t done;   /* the last item of a job finished */
    pthread_cond_t raised; /* a counter of dg_pool_raise went up */
    atomic_int waiting;    /* threads waiting on raised */
    atomic_int sleepers;   /* workers waiting on wake */
    atomic_bool sleeping;  /* the caller waits on done */
    atomic_bool stop;
    /* dg_pool_keep_off_caller: on, the cores the workers may use, and the core the caller
     * was on at the last job (-1: the workers are not placed yet) */
    bool keep_off;
#ifdef __linux__
    cpu_set_t allowed;
#endif
    int caller_cpu;
    _Alignas(64) atomic_uint_least64_t job; /* generation, count, next: see above */
    _Alignas(64) atomic_int finished;       /* items of the current job finished */
    /* the current job, written before its word is published */
    _Alignas(64) dg_pool_item_fn fn;
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

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A spin of SPIN_NS from when it starts: spin_on(&s) after each unsuccessful look says
 * whether to keep spinning. */
typedef struct spin {
    uint64_t until;
    unsigned rounds;
} spin;

static bool spin_on(spin *s)
{
    if (++s->rounds % SPIN_CHECK != 0) {
        cpu_relax();
        return true;
    }
    uint64_t now = now_ns();
    if (s->until == 0) {
        s->until = now + SPIN_NS;
    }
    cpu_relax();
    return now < s->until;
}

static unsigned job_generation(uint64_t word)
{
    return (unsigned)(word >> (2 * ITEM_BITS));
}

static int job_count(uint64_t word)
{
    return (int)((word >> ITEM_BITS) & ITEM_MASK);
}

static int job_next(uint64_t word)
{
    return (int)(word & ITEM_MASK);
}

/* Takes and runs items of the current job until none is left; tells a sleeping caller when
 * it finished the job's last item. */
static void take_items(dg_pool *pool, int thread)
{
    uint64_t word = atomic_load(&pool->job);
    while (job_next(word) < job_count(word)) {
        if (!atomic_compare_exchange_weak(&pool->job, &word, word + 1)) {
            continue; /* word now holds the current value */
        }
        int item = job_next(word), count = job_count(word);
        pool->fn(pool->arg, item, thread);
        /* both sides sequentially consistent: either this thread sees the caller asleep, or
         * the caller sees every item finished before it sleeps */
        if (atomic_fetch_add(&pool->finished, 1) + 1 == count && atomic_load(&pool->sleeping)) {
            pthread_mutex_lock(&pool->lock);
            pthread_cond_signal(&pool->done);
            pthread_mutex_unlock(&pool->lock);
        }
        word = atomic_load(&pool->job);
    }
}

static void *worker_main(void *p)
{
    worker_start *start = p;
    dg_pool *pool = start->pool;
    int index = start->index;
    free(start);
    unsigned seen = 0;
    for (;;) {
        spin s = {0, 0};
        while (job_generation(atomic_load_explicit(&pool->job, memory_order_relaxed)) == seen &&
               !atomic_load_explicit(&pool->stop, memory_order_relaxed)) {
            if (spin_on(&s)) {
                continue;
            }
            pthread_mutex_lock(&pool->lock);
            atomic_fetch_add(&pool->sleepers, 1);
            while (job_generation(atomic_load(&pool->job)) == seen && !atomic_load(&pool->stop)) {
                pthread_cond_wait(&pool->wake, &pool->lock);
            }
            atomic_fetch_sub(&pool->sleepers, 1);
            pthread_mutex_unlock(&pool->lock);
        }
        if (atomic_load(&pool->stop)) {
            return NULL;
        }
        seen = job_generation(atomic_load(&pool->job));
        take_items(pool, index);
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
    dg_pool *pool = aligned_alloc(64, sizeof *pool);
    if (!pool) {
        return dg_fail(DG_ERR_NOMEM, "out of memory for a thread pool");
    }
    memset(pool, 0, sizeof *pool);
    pool->n_threads = 1;
    atomic_init(&pool->sleepers, 0);
    atomic_init(&pool->sleeping, false);
    atomic_init(&pool->stop, false);
    atomic_init(&pool->job, 0);
    atomic_init(&pool->finished, 0);
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pthread_cond_init(&pool->done, NULL);
    pthread_cond_init(&pool->raised, NULL);
    atomic_init(&pool->waiting, 0);
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
    pthread_cond_destroy(&pool->raised);
    free(pool->threads);
    free(pool);
}

int dg_pool_threads(const dg_pool *pool)
{
    return pool->n_threads;
}

#ifdef __linux__
/* Lets every worker run on all the cores it may use again. */
static void free_workers(dg_pool *pool)
{
    for (int t = 1; t < pool->n_threads; t++) {
        pthread_setaffinity_np(pool->threads[t], sizeof pool->allowed, &pool->allowed);
    }
}

/* Lets the workers run on the allowed cores other than cpu; when the system refuses, frees
 * them all and returns false. */
static bool place_workers(dg_pool *pool, int cpu)
{
    cpu_set_t others = pool->allowed;
    CPU_CLR(cpu, &others);
    for (int t = 1; t < pool->n_threads; t++) {
        if (pthread_setaffinity_np(pool->threads[t], sizeof others, &others)) {
            free_workers(pool);
            return false;
        }
    }
    return true;
}
#endif

void dg_pool_keep_off_caller(dg_pool *pool, bool on)
{
#ifdef __linux__
    if (!pool || pool->n_threads == 1 || on == pool->keep_off) {
        return;
    }
    if (on) {
        /* the cores the workers may use: theirs, as they were started; kept off only when
         * every thread of the pool can have a core of its own (more threads than cores
         * share cores anyway, and crowding the workers onto fewer would slow them) */
        pool->keep_off =
            pthread_getaffinity_np(pool->threads[1], sizeof pool->allowed, &pool->allowed) == 0 &&
            CPU_COUNT(&pool->allowed) >= pool->n_threads;
        pool->caller_cpu = -1;
        return;
    }
    pool->keep_off = false;
    free_workers(pool);
#else
    (void)pool;
    (void)on;
#endif
}

/* Runs one job of n items (1 < n <= MAX_ITEMS) on the caller and whichever workers come. */
static void run_job(dg_pool *pool, int n, dg_pool_item_fn fn, void *arg)
{
#ifdef __linux__
    if (pool->keep_off) {
        int cpu = sched_getcpu();
        if (cpu >= 0 && cpu != pool->caller_cpu) {
            /* the first job, or the caller has moved: the workers go to the other cores
             * (or, if the system refuses, stay free and are left so); a caller on a core
             * the workers may not use leaves them where they may */
            pool->keep_off = place_workers(pool, cpu);
            pool->caller_cpu = cpu;
        }
    }
#endif
    pool->fn = fn;
    pool->arg = arg;
    atomic_store(&pool->finished, 0);
    uint64_t word = atomic_load(&pool->job);
    uint64_t generation = (uint64_t)(job_generation(word) + 1) & 0x3fffff;
    atomic_store(&pool->job, generation << (2 * ITEM_BITS) | (uint64_t)n << ITEM_BITS);
    /* sequentially consistent with a worker's count before its last look at the word */
    if (atomic_load(&pool->sleepers) > 0) {
        pthread_mutex_lock(&pool->lock);
        pthread_cond_broadcast(&pool->wake);
        pthread_mutex_unlock(&pool->lock);
    }
    take_items(pool, 0);
    spin s = {0, 0};
    do {
        if (atomic_load_explicit(&pool->finished, memory_order_acquire) == n) {
            return;
        }
    } while (spin_on(&s));
    /* an item is late (its thread's core is shared, or it was preempted): sleep rather than
     * keep this core busy, so that the scheduler can move the late thread onto it */
    pthread_mutex_lock(&pool->lock);
    atomic_store(&pool->sleeping, true);
    while (atomic_load(&pool->finished) < n) {
        pthread_cond_wait(&pool->done, &pool->lock);
    }
    atomic_store(&pool->sleeping, false);
    pthread_mutex_unlock(&pool->lock);
}

void dg_pool_for(dg_pool *pool, int n_items, dg_pool_item_fn fn, void *arg)
{
    if (n_items <= 1 || pool->n_threads == 1) {
        for (int i = 0; i < n_items; i++) {
            fn(arg, i, 0);
        }
        return;
    }
    assert(n_items <= MAX_ITEMS); /* more than the largest batch a net takes */
    run_job(pool, n_items, fn, arg);
}

/* dg_pool_run's job: part `item` of T, on whichever thread. */
typedef struct pool_parts {
    dg_pool_fn fn;
    void *arg;
    int n_parts;
} pool_parts;

static void run_part(void *arg, int item, int thread)
{
    (void)thread;
    const pool_parts *parts = arg;
    parts->fn(parts->arg, item, parts->n_parts);
}

void dg_pool_run(dg_pool *pool, dg_pool_fn fn, void *arg)
{
    pool_parts parts = {fn, arg, pool->n_threads};
    dg_pool_for(pool, pool->n_threads, run_part, &parts);
}

void dg_pool_raise(dg_pool *pool, atomic_int *counter)
{
    /* both sides sequentially consistent: either the waiter sees the new count before it
     * sleeps, or this sees the waiter and wakes it */
    atomic_fetch_add(counter, 1);
    if (atomic_load(&pool->waiting) > 0) {
        pthread_mutex_lock(&pool->lock);
        pthread_cond_broadcast(&pool->raised);
        pthread_mutex_unlock(&pool->lock);
    }
}

void dg_pool_wait_for(dg_pool *pool, atomic_int *counter, int value)
{
    spin s = {0, 0};
    do {
        if (atomic_load_explicit(counter, memory_order_acquire) >= value) {
            return;
        }
    } while (spin_on(&s));
    /* the item it waits for is late (its thread preempted, or its core shared): sleep
     * rather than keep a core busy that the late thread or another process could use */
    pthread_mutex_lock(&pool->lock);
    atomic_fetch_add(&pool->waiting, 1);
    while (atomic_load(counter) < value) {
        pthread_cond_wait(&pool->raised, &pool->lock);
    }
    atomic_fetch_sub(&pool->waiting, 1);
    pthread_mutex_unlock(&pool->lock);
}

void dg_pool_range(size_t n, int t, int n_parts, size_t *first, size_t *end)
{
    size_t lines = (n + 15) / 16;
    size_t a = 16 * (lines * (size_t)t / (size_t)n_parts);
    size_t b = 16 * (lines * (size_t)(t + 1) / (size_t)n_parts);
    *first = a < n ? a : n;
    *end = b < n ? b : n;
}

int dg_pool_parts(size_t n)
{
    size_t parts = n / 4096;
    return parts < 1 ? 1 : parts > 64 ? 64 : (int)parts;
}
