/*
 * net.h - internals of the sequential network shared by net.c, pass.c, spec.c and the layers.
 *
 * Legend: N batch, C channels, H height, W width, K kernel side, O outputs; NCHW.
 *
 * Parameters of all layers live in one arena (net->params) mirrored by gradients
 * (net->grads). Work is split by examples: a batch of N examples is cut into S contiguous
 * slices, S set by N and the net alone (never by the thread count: slices of at least 8
 * examples, 32 in a net with batch normalisation, at most 8 slices). Each slice has its own
 * activations and gradient arena (slice 0's is net->grads); the threads take slices as
 * they free up and run the whole layer stack over each, in their own scratch. The other
 * slices' gradients are then added to slice 0's in slice order (or, for kinds with
 * batch_grads, made from every slice in slice order), so the same seed gives the same
 * bits on any number of threads, however the slices fell to them.
 */
#ifndef DG_NET_H
#define DG_NET_H

#include "base/parallel.h"
#include "digits.h"

typedef struct dg_layer dg_layer;

/* Part of the parameter arena: rows runs of n floats, the first at first, each the next
 * stride floats further on (a block of columns of a matrix; rows = 1 for one run). */
typedef struct dg_span {
    size_t first, n, rows, stride;
} dg_span;

/* What a layer kernel sees: the replica's scratch and state for one call. */
typedef struct dg_layer_ctx {
    float *scratch; /* layer->scratch_floats(n) floats, shared by all layers */
    void *aux;      /* layer->aux_bytes_per_item * n bytes kept from forward to backward */
    float *dparams; /* this replica's gradient arena (layer offsets apply) */
    bool is_training;
    bool keep_aux;         /* forward keeps what backward needs (pooling argmax) even when not
                              training: an input gradient at inference */
    bool reference;        /* use the plain loops */
    bool bf16;             /* matrix products in bf16 with fp32 sums (dg_gemm_bf16): set in
                              the training passes of a net whose precision is bf16 */
    uint64_t dropout_seed; /* per step; examples draw from seed + global example index */
    int first_item;        /* index of this slice's first example in the batch */
    dg_pool *pool;         /* when the whole batch is one slice at inference (a single
                              image): threads a layer may split its outputs across; else
                              NULL */
    /* For a layer with pools_above: the next layer's output [n][out of the pooling] and aux
     * (its argmax) for this call, which its training forward fills (dg_pool_fused). */
    float *pooled;
    void *pooled_aux;
} dg_layer_ctx;

typedef struct dg_layer_ops {
    int id;           /* 1..number of kinds, unique, never reused */
    const char *name; /* spec keyword, stored in model files: never reused */
    /* Reads the words after the name (lower case, n >= 0) into l's fields. Returns false
     * when they do not match usage. NULL when the kind takes no words. */
    bool (*parse)(dg_layer *l, char **words, int n);
    /* With parse: the words after the name, "OUT K [relu]", and an example of the whole
     * layer; a malformed layer's message says "want 'conv OUT K [relu]', e.g.
     * 'conv 32 3 relu'". */
    const char *usage, *example;
    /* Canonical text of l, as parse reads it back: "conv 32 3 relu". NULL: the name. */
    void (*describe)(const dg_layer *l, char *buf, size_t size);
    /* Glorot fan-in and fan-out of the weights, receptive field included (as Keras).
     * NULL for kinds without weights. */
    void (*fans)(const dg_layer *l, double *fan_in, double *fan_out);
    /* Checks hyperparameters against l->in, sets l->out, l->n_weights, l->n_bias,
     * l->n_state, l->aux_bytes_per_item. Returns DG_ERR_ARG with a message on a bad spec, which the
     * net puts after "spec: layer 2 (conv 64 3): ", e.g. "kernel size 4 (want an odd
     * size >= 1)". */
    dg_status (*init)(dg_layer *l);
    /* Fresh values of all n_weights + n_bias + n_state parameters at p. NULL: Glorot
     * uniform weights (fans), zero biases. */
    void (*init_params)(const dg_layer *l, float *p);
    /* Scratch floats needed for n examples. NULL: none. */
    size_t (*scratch_floats)(const dg_layer *l, int n);
    /* y[n][out] from x[n][in] */
    void (*forward)(const dg_layer *l, const float *x, float *y, int n, dg_layer_ctx *ctx);
    /* From dy[n][out]: adds parameter gradients into ctx->dparams and writes dx[n][in]
     * (dx may be NULL when no input gradient is needed). */
    void (*backward)(const dg_layer *l, const float *x, const float *y, const float *dy, float *dx,
                     int n, dg_layer_ctx *ctx);
    /* Kinds with running state (batch normalisation): after a training forward, moves
     * the n_state values at state using what each slice's forward left in its aux,
     * aux[r] for counts[r] examples, r < slices in slice order. NULL without state. A net
     * with such a kind cuts its batches into slices of at least 32 examples, since each
     * slice is normalised on its own. */
    void (*fold_state)(const dg_layer *l, float *state, const void *const *aux, const int *counts,
                       int slices);
    /* Kinds with running state: whether the state in the arena (as read from a file) can be
     * used, NULL if so, else why not ("running variance -1 of channel 3"). NULL hook: any
     * finite values do. */
    const char *(*check_state)(const dg_layer *l, char *why, size_t size);
    /* Kinds whose weight gradient is a matrix product over the examples (dense): parts of
     * it worth handing to threads, at least 1. NULL otherwise, and then backward adds the
     * parameter gradients into ctx->dparams itself. */
    int (*batch_grad_parts)(const dg_layer *l);
    /* With batch_grad_parts: the fast backward (not the reference loops) leaves in each
     * slice's aux what the product needs, and after every slice's backward the net calls
     * this for each part, on whichever thread: it sets part `part` of `parts` of the layer's
     * gradients in dparams (the net's arena) to the sum over the slices, in slice order, of
     * each slice's gradients, from slice r's input x[r] and aux[r] for counts[r] examples,
     * and says in spans[0..1] which parts of the arena it set (n = 0 for none). The sums
     * are those backward would have added into cleared arenas, summed in slice order: the
     * same bits, without an arena per slice to clear and add. Returns whether every
     * gradient it set is finite. */
    bool (*batch_grads)(const dg_layer *l, const float *const *x, const void *const *aux,
                        const int *counts, int slices, float *dparams, int part, int parts,
                        bool bf16, dg_span spans[2]);
    /* Whether backward can give gradients only to inputs above zero when told that its
     * input is a ReLU's output (dg_layer.input_relu): max pooling, whose gradients each go
     * to one input, the maximum of a window, so one test per output does it. */
    bool can_apply_input_relu;
    /* Whether the kind's forward can write, in place of its output, the 2x2 max pooling of
     * it and the pooling's argmax (dg_layer.pools_above): the convolution, which pools each
     * block of output planes while it is in the cache. */
    bool can_pool_output;
    /* Whether a layer of this kind is the 2x2 max pooling that a layer below it with
     * can_pool_output may do in its forward (max pooling of size 2). NULL: never. */
    bool (*is_pool2)(const dg_layer *l);
} dg_layer_ops;

struct dg_layer {
    const dg_layer_ops *ops;
    int units;  /* conv: output channels; dense: outputs */
    int k;      /* conv kernel side, pool size */
    int pad;    /* conv: zeros added on each side of the input, 0..K-1 */
    float rate; /* dropout rate */
    bool relu;  /* fused ReLU on the output */
    /* Set by the net when a layer with a fused ReLU comes before one whose kind
     * can_apply_input_relu: the later one's backward (fast path) zeroes the gradients of
     * inputs not above zero, and this one's fast backward then skips its own ReLU mask.
     * The reference loops ignore both flags, which changes no result: a mask taken twice
     * is the mask taken once. */
    bool relu_applied_above, input_relu;
    /* Set by the net when a layer whose kind can_pool_output comes before one that is_pool2:
     * in a training pass on the fast kernels (dg_pool_fused), the first one's forward writes
     * the pooling's output and argmax (dg_layer_ctx.pooled) and not its own output, and the
     * pooling's forward does nothing. Nothing in a file changes: the net decides it when it
     * is built, and the reference loops, inference and the input gradient of a single image
     * run the two layers apart. */
    bool pools_above, pooled_below;
    dg_shape in, out;
    size_t n_weights, n_bias;
    size_t n_state;      /* running statistics after the biases, in the arena (saved with
                            the model) but not trained: their gradient is always 0 */
    size_t param_offset; /* weights at params + offset, biases right after, then state */
    size_t aux_bytes_per_item;
    const float *w, *b; /* into the net's parameter arena */
};

/* Whether a layer with pools_above writes the pooled output in this call (and one with
 * pooled_below has nothing left to do): in training passes that are not on the reference
 * loops. Backward needs neither the convolution's own output (the pooling above takes the
 * ReLU's gradient) nor anything but the pooling's argmax and output. */
static inline bool dg_pool_fused(const dg_layer_ctx *ctx)
{
    return ctx->is_training && !ctx->reference;
}

/* Batch normalisation's epsilon, added to the variance (PyTorch's and ONNX's default). */
#define DG_BATCHNORM_EPS 1e-5f

/* Layer i (0..dg_net_layer_count - 1) of net, borrowed: for readers of a whole net such as
 * the ONNX exporter. */
const dg_layer *dg_net_layer(const dg_net *net, int i);

/* init for kinds without parameters whose output has the input's shape (relu, tanh,
 * sigmoid). */
dg_status dg_layer_init_same_shape(dg_layer *l);

/* Whether every layer's running state (batch normalisation's statistics) can be used, as
 * read from a file: NULL if so, else why not, written into why ("layer 2 (batchnorm):
 * running variance -1 of channel 3"). */
const char *dg_net_state_problem(const dg_net *net, char *why, size_t size);

/* Writes examples [first, first + n) of a batch into x [n][input], on thread t (which
 * picks the caller's per-thread scratch, never a result). */
typedef void (*dg_fill_fn)(void *arg, int first, int n, float *x, int t);

/* Updates the parameters [first, first + n) of the arena from their gradients, on any
 * thread: the optimiser's step for one part of the arena. */
typedef void (*dg_update_fn)(void *arg, float *params, const float *grads, size_t first, size_t n);

/* One training step over n examples in one wait for the threads (two in a net with batch
 * normalisation, whose running statistics are folded in between). Each slice fills its
 * own input by fill (its examples, straight into the buffer its first layer reads) and
 * runs its forward and then its backward, taken by whichever thread is free. The
 * gradients are made whole part by part (the slices' arenas added in slice order, the
 * kinds' batch_grads), the last layer's first, each part as soon as every slice's backward
 * has passed its layer, so a thread with no slice left works on them while the last
 * slices run; each part is checked and, when it is finite and so is the loss, handed at
 * once to update (NULL: none). The gradients are the same bits as
 * dg_net_forward (training) on the filled batch followed by dg_net_backward. *probs
 * [n][classes] as dg_net_forward's; *loss the mean loss; dg_net_grads_finite says whether
 * every gradient was finite. A part whose gradients are not finite is not updated, so the
 * weights stay finite, but then the other parts may have been. */
dg_status dg_net_train_pass(dg_net *net, dg_fill_fn fill, void *fill_arg, const uint8_t *labels,
                            int n, dg_rng *rng, dg_update_fn update, void *update_arg,
                            const float **probs, float *loss);

/* After dg_net_backward or dg_net_train_pass: whether every gradient in dg_net_grads is
 * finite (checked by the threads as they summed them). */
bool dg_net_grads_finite(const dg_net *net);

/* The net's worker threads (dg_net_threads of them), borrowed: for work beside the
 * passes, such as preparing an augmented batch or the optimiser's update. */
dg_pool *dg_net_pool(dg_net *net);

/* The registry of layer kinds (layers/registry.c): every kind once, NULL-terminated. */
extern const dg_layer_ops *const dg_layer_registry[];
/* The kind whose name is name, or NULL. */
const dg_layer_ops *dg_layer_find(const char *name);

/* ---------------------------------------------------------------- spec text (spec.c) */

#define DG_SPEC_MAX   1024 /* bytes of a spec, its terminator included */
#define DG_MAX_LAYERS 64

/* Cuts text at its commas, in place, into parts[0..*n). DG_ERR_ARG past max parts. */
dg_status dg_spec_split(char *text, char **parts, int max, int *n);
/* Reads one layer's text (changed in place) into l: its kind and the fields its words
 * give, nothing else. is_last allows a trailing "softmax". DG_ERR_ARG with a message. */
dg_status dg_spec_parse_layer(char *text, bool is_last, dg_layer *l);
/* Canonical text of one layer, e.g. "conv 32 3 relu". */
void dg_spec_describe(const dg_layer *l, char *buf, size_t size);
/* Appends l's canonical text to canon[size] (", " between layers); *used counts the
 * bytes so far. False when it does not fit. */
bool dg_spec_append(char *canon, size_t size, size_t *used, const dg_layer *l);

/* For the layers' parse: a whole integer, a kernel side "3" or "3x3", and the optional
 * trailing "relu" (sets l->relu; returns the number of words before it). */
bool dg_spec_int(const char *word, int *out);
bool dg_spec_kernel(const char *word, int *out);
int dg_spec_take_relu(dg_layer *l, char **words, int n);

static inline size_t dg_shape_size(dg_shape s)
{
    return (size_t)s.c * (size_t)s.h * (size_t)s.w;
}

/* Per-example random stream for dropout, independent of how a batch is split. */
static inline uint64_t dg_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

#endif
