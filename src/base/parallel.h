/*
 * parallel.h - a small pool of worker threads that run one function on every thread.
 * The caller is thread 0; dg_pool_run returns when all threads have finished.
 */
#ifndef DG_PARALLEL_H
#define DG_PARALLEL_H

#include "digits.h"

typedef struct dg_pool dg_pool;
typedef void (*dg_pool_fn)(void *arg, int thread, int n_threads);

/* n_threads >= 1; 1 starts no thread. */
dg_status dg_pool_new(int n_threads, dg_pool **out);
void dg_pool_free(dg_pool *pool);
int dg_pool_threads(const dg_pool *pool);
/* Runs fn(arg, t, T) for every t in [0, T); not reentrant. */
void dg_pool_run(dg_pool *pool, dg_pool_fn fn, void *arg);
/* The part [*first, *end) of an array of n floats that thread t of n_threads works on:
 * whole 64-byte lines (from a 64-byte aligned start), so that no two threads write one
 * line; the parts cover [0, n) in thread order. */
void dg_pool_range(size_t n, int t, int n_threads, size_t *first, size_t *end);
/* Number of online CPUs (at least 1). */
int dg_cpu_count(void);

#endif
