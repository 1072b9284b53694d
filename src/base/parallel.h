/*
 * parallel.h - a small pool of worker threads that share out the items of a job: each
 * thread takes the next item as soon as it is free. The caller is thread 0 and takes items
 * too; a call returns when every item has finished.
 */
#ifndef DG_PARALLEL_H
#define DG_PARALLEL_H

#include "digits.h"

#include <stdatomic.h>
#include <stdbool.h>

typedef struct dg_pool dg_pool;
typedef void (*dg_pool_fn)(void *arg, int thread, int n_threads);

/* n_threads >= 1; 1 starts no thread. */
dg_status dg_pool_new(int n_threads, dg_pool **out);
void dg_pool_free(dg_pool *pool);
int dg_pool_threads(const dg_pool *pool);
/* Runs fn(arg, t, T) once for every part t in [0, T), T = dg_pool_threads, each part on
 * whichever thread is free (a part is a share of the work, not a thread); not reentrant. */
void dg_pool_run(dg_pool *pool, dg_pool_fn fn, void *arg);

typedef void (*dg_pool_item_fn)(void *arg, int item, int thread);
/* Runs fn(arg, i, t) once for every item i in [0, n_items) (at most 2^21 - 1), on whichever
 * thread t is free: each thread takes the next item in order as soon as it has finished its
 * last, so a thread slowed by another process on its core simply takes fewer. Which thread
 * runs an item is a matter of timing: fn may use t to pick per-thread scratch, never to
 * decide a result. One item runs on the caller alone. Not reentrant. */
void dg_pool_for(dg_pool *pool, int n_items, dg_pool_item_fn fn, void *arg);
/* For an item of dg_pool_for that needs what items running on other threads are making:
 * returns when *counter, which those items raise by dg_pool_raise, has reached value. It
 * spins a short while, as the pool's threads do between jobs, then sleeps until a raise,
 * so that a late item's thread, or another process, can have its core. Items taken before
 * it must not wait for items taken after it: the pool hands items out in order, so waiting
 * only on earlier items cannot deadlock. */
void dg_pool_wait_for(dg_pool *pool, atomic_int *counter, int value);
/* Adds one to *counter and wakes the threads in dg_pool_wait_for on pool. */
void dg_pool_raise(dg_pool *pool, atomic_int *counter);
/* While on, the workers keep off the core the caller runs on: before each job, when the
 * caller is on another core than at the last, the workers are let run only on the other
 * cores they may use (the scheduler picks among those). Off lets them run on all of them
 * again. For a long run of jobs from one thread, such as training: the scheduler, left to
 * itself, puts both threads of a pool on one core when another process keeps the other
 * busy, and they then take turns on it. No-op with one thread, with more threads than
 * cores, or where cores cannot be chosen. */
void dg_pool_keep_off_caller(dg_pool *pool, bool on);
/* Part t of n_parts of an array of n floats, [*first, *end): whole 64-byte lines (from a
 * 64-byte aligned start), so that no two threads write one line; the parts cover [0, n)
 * in order. A part is a thread's share, or an item of dg_pool_for. */
void dg_pool_range(size_t n, int t, int n_parts, size_t *first, size_t *end);
/* Parts worth handing out to dg_pool_for for element-wise work on an array of n floats:
 * enough for a slow thread to take fewer, few enough that each is some microseconds. */
int dg_pool_parts(size_t n);
/* Number of online CPUs (at least 1). */
int dg_cpu_count(void);

#endif
