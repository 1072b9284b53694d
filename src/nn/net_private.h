/*
 * net_private.h - what net.c and pass.c share about a net: the struct itself, its slices
 * of the batch and the threads' workspaces. Private to src/nn/ (the layers see net.h).
 *
 * Legend: N batch, L layers, T threads, S slices, P parameters.
 */
#ifndef DG_NET_PRIVATE_H
#define DG_NET_PRIVATE_H

#include "nn/net.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

/* How a batch is cut (net.h): slices of at least SLICE_MIN examples, so that the matrix
 * products inside a slice stay efficient, or SLICE_MIN_STATS in a net whose layers
 * normalise by the statistics of what they are given (batch normalisation: the slice is
 * its batch), and at most MAX_SLICES slices, which bounds the gradient arenas. None of
 * these depends on the thread count. */
#define SLICE_MIN       8
#define SLICE_MIN_STATS 32
#define MAX_SLICES      8

/* A slice of the batch, examples [first, first + n): what its forward leaves for its
 * backward, and its own gradient arena, whichever threads run them. */
typedef struct slice {
    float **act;  /* [L+1] each [cap][shape_i] */
    void **aux;   /* [L] each [cap][aux_bytes_per_item] */
    float *grads; /* gradient arena [P]: net->grads for slice 0 */
    int first, n;
    double loss_sum;
} slice;

/* What a thread works in while it runs a slice; nothing in it outlives the call. */
typedef struct worker {
    float *grad_a, *grad_b; /* ping-pong activation gradients [cap][max shape] */
    float *scratch;         /* max over layers of scratch_floats(cap) */
} worker;

struct dg_net {
    char *spec;
    dg_shape input;
    int n_layers;
    dg_layer *layers;
    int classes;
    size_t n_params;
    float *params, *grads;
    int threads;
    dg_pool *pool;
    bool reference;
    dg_precision precision; /* of the training passes; bf16 only where available */
    bool want_input_grad;
    bool slice_stats;          /* a layer normalises by its input's statistics */
    int max_batch, cap;        /* prepared batch, examples per slice at most */
    int n_slices, used_slices; /* slices allocated, slices of the current batch */
    slice *slices;             /* [n_slices] */
    worker *workers;           /* [threads] */
    float *probs;              /* [max_batch][classes] */
    float *logits;             /* [max_batch][classes] */
    float *input_grad;         /* [max_batch][input] when want_input_grad */
    int last_n;
    bool last_training;
    bool keep_aux;          /* the next forward keeps pooling argmaxes for backward */
    const float *seed_grad; /* [classes]: backward starts from this logit gradient, not
                               the loss (dg_net_class_gradient) */
    uint64_t dropout_seed;
    const uint8_t *labels; /* during backward */
    atomic_bool grads_bad; /* a gradient summed by the last backward is not finite */
    /* [L]: slices whose backward has passed layer i in the current pass (a training
     * step's gradients of layer i wait for all of them) */
    atomic_int backward_done[DG_MAX_LAYERS];
    dg_update_fn update; /* during a training pass's last wait: the optimiser's step */
    void *update_arg;
    /* dg_net_predict holds it for its whole pass: slices, probabilities and the pool
     * serve one pass at a time */
    pthread_mutex_t predict_lock;
    bool has_lock;
};

/* n floats (at least one) on a 64-byte boundary, rounded up to whole lines. */
static inline void *dg_alloc_floats(size_t n)
{
    size_t bytes = (n ? n : 1) * sizeof(float);
    bytes = (bytes + 63) / 64 * 64;
    return aligned_alloc(64, bytes);
}

/* Frees the slices, the workers' buffers, probabilities and logits; the net then has no
 * prepared batch (pass.c). */
void dg_net_free_slices(dg_net *net);

#endif
