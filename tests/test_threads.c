/*
 * test_threads.c - one loaded net shared by several threads that predict at once
 * (digits.h, "Threads"): each thread classifies its own images with dg_predict_mnist and
 * dg_net_predict and checks every answer against the one computed alone beforehand, bit
 * for bit. `make TSAN=1 test-threads` runs it under ThreadSanitizer.
 */
#include "test.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 4
#define IMAGES  24
#define ROUNDS  60

typedef struct shared {
    dg_net *net;
    dg_norm norm;
    uint8_t images[IMAGES][DG_MNIST_PIXELS];
    dg_prediction want[IMAGES];
} shared;

typedef struct worker {
    shared *s;
    int id;
    int wrong; /* answers that differ from the single-threaded ones */
    int failed;
} worker;

static void *predict_many(void *arg)
{
    worker *w = arg;
    shared *s = w->s;
    float x[DG_MNIST_PIXELS], probs[10];
    for (int r = 0; r < ROUNDS; r++) {
        int k = (w->id * 7 + r * 5) % IMAGES;
        dg_prediction got;
        if (dg_predict_mnist(s->net, &s->norm, s->images[k], 0.5f, &got) != DG_OK) {
            w->failed++;
            continue;
        }
        w->wrong += memcmp(got.probs, s->want[k].probs, sizeof got.probs) != 0 ||
                    got.digit != s->want[k].digit || got.answer != s->want[k].answer;
        dg_normalise(&s->norm, s->images[k], DG_MNIST_PIXELS, x);
        if (dg_net_predict(s->net, x, 1, probs) != DG_OK) {
            w->failed++;
            continue;
        }
        w->wrong += memcmp(probs, s->want[k].probs, sizeof probs) != 0;
    }
    return NULL;
}

DG_TEST(threads_predict_shared_net)
{
    shared *s = calloc(1, sizeof *s);
    CHECK(s);
    dg_status st = dg_net_new("conv 6 3 relu, maxpool 2, flatten, dense 16 relu, dense 10",
                              (dg_shape){1, 28, 28}, &s->net);
    if (st != DG_OK) {
        free(s);
        CHECK_OK(st);
    }
    dg_rng rng;
    dg_rng_seed(&rng, 11);
    dg_net_init_params(s->net, &rng);
    s->norm = dg_norm_default();
    /* the net splits each pass over 2 threads of its own, behind its lock */
    st = dg_net_set_threads(s->net, 2);
    for (int k = 0; k < IMAGES && st == DG_OK; k++) {
        for (int i = 0; i < DG_MNIST_PIXELS; i++) {
            s->images[k][i] = (uint8_t)dg_rng_below(&rng, 256);
        }
        st = dg_predict_mnist(s->net, &s->norm, s->images[k], 0.5f, &s->want[k]);
    }
    worker w[THREADS] = {{0}};
    pthread_t tid[THREADS];
    int started = 0;
    for (int t = 0; t < THREADS && st == DG_OK; t++) {
        w[t] = (worker){s, t, 0, 0};
        if (pthread_create(&tid[t], NULL, predict_many, &w[t]) != 0) {
            break;
        }
        started++;
    }
    int wrong = 0, failed = 0;
    for (int t = 0; t < started; t++) {
        pthread_join(tid[t], NULL);
        wrong += w[t].wrong;
        failed += w[t].failed;
    }
    int distinct = 0; /* the images must not all give one answer, or the check is weak */
    for (int k = 1; k < IMAGES; k++) {
        distinct += memcmp(s->want[k].probs, s->want[0].probs, sizeof s->want[0].probs) != 0;
    }
    dg_net_free(s->net);
    free(s);
    CHECK_OK(st);
    CHECK(started == THREADS);
    CHECK_MSG(failed == 0 && wrong == 0, "%d failed and %d wrong answers of %d", failed, wrong,
              THREADS * ROUNDS * 2);
    CHECK(distinct == IMAGES - 1);
}
