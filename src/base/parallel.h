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
/* Number of online CPUs (at least 1). */
int dg_cpu_count(void);

#endif
