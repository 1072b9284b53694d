/*
 * net.c - the sequential network: layers built from a spec, the parameter arena, slices
 * of the batch and the threads' workspaces, forward, softmax cross-entropy and backward.
 *
 * Legend: N batch, L layers, T threads, S slices. act[i] [N][shape_i] is the input of
 * layer i (act[0] the network input, act[L] the logits). See net.h for how work is split.
 */
#include "nn/net.h"
#include "nn/cpu/cpu.h"

#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

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
    dg_update_fn update;   /* during a training pass's last wait: the optimiser's step */
    void *update_arg;
    /* dg_net_predict holds it for its whole pass: slices, probabilities and the pool
     * serve one pass at a time */
    pthread_mutex_t predict_lock;
    bool has_lock;
};

/* ------------------------------------------------------------------ building */

static void *alloc_floats(size_t n)
{
    size_t bytes = (n ? n : 1) * sizeof(float);
    bytes = (bytes + 63) / 64 * 64;
    return aligned_alloc(64, bytes);
}

/* Parameters of layer l in the arena: weights, biases, running state. */
static size_t layer_params(const dg_layer *l)
{
    return l->n_weights + l->n_bias + l->n_state;
}

/* Whether l's gradients are made once for the whole batch after backward (its kind's
 * batch_grads) rather than added by each slice into its own arena. */
static bool summed_by_product(const dg_net *net, const dg_layer *l)
{
    return !net->reference && l->ops->batch_grads;
}

/* Initialises layer i of net, parsed, on its input shape; checks what it gives. */
static dg_status init_layer(dg_net *net, int i, dg_shape in)
{
    dg_layer *l = &net->layers[i];
    l->in = in;
    l->param_offset = net->n_params;
    dg_status st = l->ops->init(l);
    if (st != DG_OK) {
        char desc[64];
        dg_spec_describe(l, desc, sizeof desc);
        return dg_fail(st, "spec: layer %d (%s): %s", i + 1, desc, dg_last_error());
    }
    if (l->out.c < 1 || l->out.h < 1 || l->out.w < 1) {
        return dg_fail(DG_ERR_ARG, "spec: layer %d (%s) leaves nothing of its %dx%dx%d input",
                       i + 1, l->ops->name, l->in.c, l->in.h, l->in.w);
    }
    if (dg_shape_size(l->out) > 64u * 1024 * 1024) {
        return dg_fail(DG_ERR_TOO_LARGE, "spec: layer %d output too large", i + 1);
    }
    net->n_params += l->n_weights + l->n_bias + l->n_state;
    if (net->n_params > 256u * 1024 * 1024) {
        return dg_fail(DG_ERR_TOO_LARGE, "spec: more than 256M parameters");
    }
    return DG_OK;
}

/* Parses spec into net->layers, initialising each on the shape before it, and keeps the
 * canonical spec. */
static dg_status build_layers(dg_net *net, const char *spec)
{
    size_t len = strlen(spec);
    if (len == 0 || len >= DG_SPEC_MAX) {
        return dg_fail(DG_ERR_ARG, "spec: empty or longer than %d characters", DG_SPEC_MAX - 1);
    }
    char text[DG_SPEC_MAX];
    memcpy(text, spec, len + 1);
    char *parts[DG_MAX_LAYERS];
    int n;
    dg_status st = dg_spec_split(text, parts, DG_MAX_LAYERS, &n);
    if (st != DG_OK) {
        return st;
    }
    net->layers = calloc((size_t)n, sizeof *net->layers);
    if (!net->layers) {
        return dg_fail(DG_ERR_NOMEM, "out of memory for %d layers", n);
    }
    net->n_layers = n;
    dg_shape shape = net->input;
    char canon[DG_SPEC_MAX] = "";
    size_t used = 0;
    for (int i = 0; i < n; i++) {
        st = dg_spec_parse_layer(parts[i], i == n - 1, &net->layers[i]);
        if (st == DG_OK) {
            st = init_layer(net, i, shape);
        }
        if (st != DG_OK) {
            return st;
        }
        shape = net->layers[i].out;
        if (!dg_spec_append(canon, sizeof canon, &used, &net->layers[i])) {
            return dg_fail(DG_ERR_ARG, "spec: too long");
        }
    }
    /* a ReLU's gradient taken where the layer after it (max pooling) has fewer gradients */
    for (int i = 0; i + 1 < n; i++) {
        if (net->layers[i].relu && net->layers[i + 1].ops->can_apply_input_relu) {
            net->layers[i].relu_applied_above = true;
            net->layers[i + 1].input_relu = true;
        }
    }
    if (shape.h != 1 || shape.w != 1 || shape.c < 2 || shape.c > DG_MAX_CLASSES) {
        return dg_fail(DG_ERR_ARG,
                       "spec: the last layer must give 2..%d class scores, e.g. 'dense 10' (it "
                       "gives %dx%dx%d)",
                       DG_MAX_CLASSES, shape.c, shape.h, shape.w);
    }
    net->classes = shape.c;
    for (int i = 0; i < n; i++) {
        net->slice_stats = net->slice_stats || net->layers[i].ops->fold_state;
    }
    net->spec = strdup(canon);
    if (!net->spec) {
        return dg_fail(DG_ERR_NOMEM, "out of memory");
    }
    return DG_OK;
}

/* A net with its layers built and checked, but no arenas yet. */
static dg_status new_layers_only(const char *spec, dg_shape input, dg_net **out)
{
    *out = NULL;
    if (!spec) {
        return dg_fail(DG_ERR_ARG, "spec: missing");
    }
    if (input.c < 1 || input.h < 1 || input.w < 1 || input.c > 64 || input.h > 4096 ||
        input.w > 4096) {
        return dg_fail(DG_ERR_ARG, "input shape %dx%dx%d out of range", input.c, input.h, input.w);
    }
    dg_net *net = calloc(1, sizeof *net);
    if (!net) {
        return dg_fail(DG_ERR_NOMEM, "out of memory for a network");
    }
    net->input = input;
    net->threads = 1;
    if (pthread_mutex_init(&net->predict_lock, NULL) != 0) {
        free(net);
        return dg_fail(DG_ERR_NOMEM, "cannot make a network's lock");
    }
    net->has_lock = true;
    dg_status st = build_layers(net, spec);
    if (st != DG_OK) {
        dg_net_free(net);
        return st;
    }
    *out = net;
    return DG_OK;
}

dg_status dg_spec_param_count(const char *spec, dg_shape input, size_t *n_params)
{
    dg_net *net;
    *n_params = 0;
    dg_status st = new_layers_only(spec, input, &net);
    if (st == DG_OK) {
        *n_params = net->n_params;
        dg_net_free(net);
    }
    return st;
}

dg_status dg_net_new(const char *spec, dg_shape input, dg_net **out)
{
    dg_net *net;
    dg_status st = new_layers_only(spec, input, &net);
    if (st != DG_OK) {
        *out = NULL;
        return st;
    }
    net->params = alloc_floats(net->n_params);
    net->grads = alloc_floats(net->n_params);
    if (!net->params || !net->grads) {
        st = dg_fail(DG_ERR_NOMEM, "out of memory for %zu parameters", net->n_params);
    }
    if (st == DG_OK) {
        memset(net->params, 0, net->n_params * sizeof(float));
        memset(net->grads, 0, net->n_params * sizeof(float));
        for (int i = 0; i < net->n_layers; i++) {
            dg_layer *l = &net->layers[i];
            l->w = net->params + l->param_offset;
            l->b = l->w + l->n_weights;
        }
        st = dg_pool_new(1, &net->pool);
    }
    if (st != DG_OK) {
        dg_net_free(net);
        return st;
    }
    *out = net;
    return DG_OK;
}

static void free_slices(dg_net *net)
{
    for (int k = 0; net->slices && k < net->n_slices; k++) {
        slice *sl = &net->slices[k];
        for (int i = 0; sl->act && i <= net->n_layers; i++) {
            free(sl->act[i]);
        }
        for (int i = 0; sl->aux && i < net->n_layers; i++) {
            free(sl->aux[i]);
        }
        free(sl->act);
        free(sl->aux);
        if (k > 0) {
            free(sl->grads);
        }
    }
    for (int t = 0; net->workers && t < net->threads; t++) {
        free(net->workers[t].grad_a);
        free(net->workers[t].grad_b);
        free(net->workers[t].scratch);
    }
    free(net->slices);
    free(net->workers);
    net->slices = NULL;
    net->workers = NULL;
    free(net->probs);
    free(net->logits);
    free(net->input_grad);
    net->probs = net->logits = net->input_grad = NULL;
    net->max_batch = 0;
    net->cap = 0;
    net->n_slices = net->used_slices = 0;
}

void dg_net_free(dg_net *net)
{
    if (!net) {
        return;
    }
    free_slices(net);
    dg_pool_free(net->pool);
    free(net->layers);
    free(net->params);
    free(net->grads);
    free(net->spec);
    if (net->has_lock) {
        pthread_mutex_destroy(&net->predict_lock);
    }
    free(net);
}

/* ------------------------------------------------------------------ accessors */

const char *dg_net_spec(const dg_net *net)
{
    return net->spec;
}

dg_shape dg_net_input_shape(const dg_net *net)
{
    return net->input;
}

int dg_net_classes(const dg_net *net)
{
    return net->classes;
}

size_t dg_net_param_count(const dg_net *net)
{
    return net->n_params;
}

float *dg_net_params(dg_net *net)
{
    return net->params;
}

const float *dg_net_params_const(const dg_net *net)
{
    return net->params;
}

float *dg_net_grads(dg_net *net)
{
    return net->grads;
}

int dg_net_layer_count(const dg_net *net)
{
    return net->n_layers;
}

const dg_layer *dg_net_layer(const dg_net *net, int i)
{
    return &net->layers[i];
}

dg_status dg_layer_init_same_shape(dg_layer *l)
{
    l->out = l->in;
    l->n_weights = 0;
    l->n_bias = 0;
    l->aux_bytes_per_item = 0;
    return DG_OK;
}

const char *dg_net_state_problem(const dg_net *net, char *why, size_t size)
{
    for (int i = 0; i < net->n_layers; i++) {
        const dg_layer *l = &net->layers[i];
        char reason[160];
        if (l->ops->check_state && l->ops->check_state(l, reason, sizeof reason)) {
            snprintf(why, size, "layer %d (%s): %s", i + 1, l->ops->name, reason);
            return why;
        }
    }
    return NULL;
}

void dg_net_layer_info(const dg_net *net, int i, dg_layer_info *info)
{
    const dg_layer *l = &net->layers[i];
    info->kind = l->ops->name;
    dg_spec_describe(l, info->desc, sizeof info->desc);
    info->out = l->out;
    info->n_params = l->n_weights + l->n_bias + l->n_state;
    info->n_state = l->n_state;
}

const float *dg_net_layer_output(const dg_net *net, int i)
{
    if (i < 0 || i >= net->n_layers || net->last_n != 1 || !net->slices) {
        return NULL;
    }
    return net->slices[0].act[i + 1]; /* one example: the first slice's first */
}

const float *dg_net_layer_weights(const dg_net *net, int i, size_t *n)
{
    *n = 0;
    if (i < 0 || i >= net->n_layers || net->layers[i].n_weights == 0) {
        return NULL;
    }
    *n = net->layers[i].n_weights;
    return net->layers[i].w;
}

void dg_net_shape_text(const dg_net *net, int i, char *buf, size_t size)
{
    bool flat = false;
    for (int k = 0; k <= i && k < net->n_layers; k++) {
        const char *kind = net->layers[k].ops->name;
        flat = flat || !strcmp(kind, "flatten") || !strcmp(kind, "dense");
    }
    dg_shape s = i < 0 || i >= net->n_layers ? net->input : net->layers[i].out;
    if (flat) {
        snprintf(buf, size, "(None, %d)", s.c * s.h * s.w);
    } else {
        snprintf(buf, size, "(None, %d, %d, %d)", s.h, s.w, s.c);
    }
}

void dg_net_init_params(dg_net *net, dg_rng *rng)
{
    for (int i = 0; i < net->n_layers; i++) {
        dg_layer *l = &net->layers[i];
        float *w = net->params + l->param_offset;
        if (l->ops->init_params) {
            l->ops->init_params(l, w);
            continue;
        }
        if (!l->n_weights) {
            continue;
        }
        /* Glorot uniform */
        double fan_in, fan_out;
        assert(l->ops->fans); /* a kind with weights says how they connect */
        l->ops->fans(l, &fan_in, &fan_out);
        float limit = (float)sqrt(6.0 / (fan_in + fan_out));
        for (size_t j = 0; j < l->n_weights; j++) {
            w[j] = (2.0f * dg_rng_uniform(rng) - 1.0f) * limit;
        }
        memset(w + l->n_weights, 0, l->n_bias * sizeof(float));
    }
}

dg_status dg_net_set_threads(dg_net *net, int n)
{
    if (n <= 0) {
        n = dg_cpu_count();
    }
    if (n > 64) {
        return dg_fail(DG_ERR_ARG, "%d threads: at most 64", n);
    }
    if (n == net->threads) {
        return DG_OK;
    }
    int batch = net->max_batch;
    free_slices(net);
    dg_pool *pool;
    dg_status st = dg_pool_new(n, &pool);
    if (st != DG_OK) {
        return st;
    }
    dg_pool_free(net->pool);
    net->pool = pool;
    net->threads = n;
    return batch ? dg_net_prepare(net, batch) : DG_OK;
}

dg_pool *dg_net_pool(dg_net *net)
{
    return net->pool;
}

int dg_net_threads(const dg_net *net)
{
    return net->threads;
}

const char *dg_precision_name(dg_precision p)
{
    return p == DG_PRECISION_BF16 ? "bf16" : "fp32";
}

dg_status dg_precision_parse(const char *text, dg_precision *out)
{
    if (!strcmp(text, "fp32")) {
        *out = DG_PRECISION_FP32;
    } else if (!strcmp(text, "bf16")) {
        *out = DG_PRECISION_BF16;
    } else {
        return dg_fail(DG_ERR_ARG, "precision '%s' (want fp32 or bf16)", text);
    }
    return DG_OK;
}

dg_precision dg_net_set_precision(dg_net *net, dg_precision p)
{
    net->precision = p == DG_PRECISION_BF16 && dg_bf16_available() ? p : DG_PRECISION_FP32;
    return net->precision;
}

dg_precision dg_net_precision(const dg_net *net)
{
    return net->precision;
}

void dg_net_set_reference(dg_net *net, bool reference)
{
    net->reference = reference;
}

dg_status dg_net_set_input_grad(dg_net *net, bool on)
{
    if (on == net->want_input_grad) {
        return DG_OK;
    }
    int batch = net->max_batch;
    free_slices(net);
    net->want_input_grad = on;
    return batch ? dg_net_prepare(net, batch) : DG_OK;
}

const float *dg_net_input_grad(const dg_net *net)
{
    return net->input_grad;
}

const float *dg_net_logits(const dg_net *net)
{
    return net->logits;
}

/* ------------------------------------------------------------------ workspace */

static dg_status alloc_slice(dg_net *net, slice *sl, int k)
{
    int cap = net->cap;
    sl->act = calloc((size_t)net->n_layers + 1, sizeof *sl->act);
    sl->aux = calloc((size_t)net->n_layers, sizeof *sl->aux);
    if (!sl->act || !sl->aux) {
        return DG_ERR_NOMEM;
    }
    sl->act[0] = alloc_floats((size_t)cap * dg_shape_size(net->input));
    if (!sl->act[0]) {
        return DG_ERR_NOMEM;
    }
    for (int i = 0; i < net->n_layers; i++) {
        const dg_layer *l = &net->layers[i];
        sl->act[i + 1] = alloc_floats((size_t)cap * dg_shape_size(l->out));
        sl->aux[i] = malloc(l->aux_bytes_per_item * (size_t)cap + 1);
        if (!sl->act[i + 1] || !sl->aux[i]) {
            return DG_ERR_NOMEM;
        }
    }
    sl->grads = k == 0 ? net->grads : alloc_floats(net->n_params);
    return sl->grads ? DG_OK : DG_ERR_NOMEM;
}

static dg_status alloc_worker(dg_net *net, worker *w)
{
    int cap = net->cap;
    size_t max_size = dg_shape_size(net->input), scratch = 0;
    for (int i = 0; i < net->n_layers; i++) {
        const dg_layer *l = &net->layers[i];
        size_t size = dg_shape_size(l->out);
        max_size = size > max_size ? size : max_size;
        size_t s = l->ops->scratch_floats ? l->ops->scratch_floats(l, cap) : 0;
        scratch = s > scratch ? s : scratch;
    }
    /* the loss gradient over the logits also lives in grad_a/grad_b */
    w->grad_a = alloc_floats((size_t)cap * max_size);
    w->grad_b = alloc_floats((size_t)cap * max_size);
    w->scratch = alloc_floats(scratch);
    return w->grad_a && w->grad_b && w->scratch ? DG_OK : DG_ERR_NOMEM;
}

/* Slices of a batch of n examples: as few as keep each within the larger of the smallest
 * slice and n / MAX_SLICES. */
static int slices_for(const dg_net *net, int n)
{
    int least = net->slice_stats ? SLICE_MIN_STATS : SLICE_MIN;
    int size = (n + MAX_SLICES - 1) / MAX_SLICES;
    size = size > least ? size : least;
    return (n + size - 1) / size;
}

/* Slice k of the S slices of a batch of n: the examples split as evenly as they go. */
static void slice_bounds(int n, int k, int s, int *first, int *count)
{
    *first = (int)((long)n * k / s);
    *count = (int)((long)n * (k + 1) / s) - *first;
}

dg_status dg_net_prepare(dg_net *net, int max_batch)
{
    if (max_batch < 1 || max_batch > 1 << 20) {
        return dg_fail(DG_ERR_ARG, "batch size %d out of range 1..%d", max_batch, 1 << 20);
    }
    if (net->slices && max_batch <= net->max_batch) {
        return DG_OK;
    }
    free_slices(net);
    net->max_batch = max_batch;
    /* the most slices and the largest slice any batch of up to max_batch gives */
    net->cap = net->n_slices = 1;
    for (int n = 1; n <= max_batch; n++) {
        int s = slices_for(net, n), first, count;
        slice_bounds(n, 0, s, &first, &count);
        net->n_slices = s > net->n_slices ? s : net->n_slices;
        net->cap = count > net->cap ? count : net->cap;
    }
    net->slices = calloc((size_t)net->n_slices, sizeof *net->slices);
    net->workers = calloc((size_t)net->threads, sizeof *net->workers);
    net->probs = alloc_floats((size_t)max_batch * net->classes);
    net->logits = alloc_floats((size_t)max_batch * net->classes);
    if (net->want_input_grad) {
        net->input_grad = alloc_floats((size_t)max_batch * dg_shape_size(net->input));
    }
    dg_status st = (net->slices && net->workers && net->probs && net->logits &&
                    (!net->want_input_grad || net->input_grad))
                       ? DG_OK
                       : DG_ERR_NOMEM;
    for (int k = 0; st == DG_OK && k < net->n_slices; k++) {
        st = alloc_slice(net, &net->slices[k], k);
    }
    for (int t = 0; st == DG_OK && t < net->threads; t++) {
        st = alloc_worker(net, &net->workers[t]);
    }
    if (st != DG_OK) {
        free_slices(net);
        return dg_fail(DG_ERR_NOMEM, "out of memory preparing a batch of %d", max_batch);
    }
    return DG_OK;
}

/* ------------------------------------------------------------------ forward / backward */

static void split_batch(dg_net *net, int n)
{
    net->used_slices = slices_for(net, n);
    for (int k = 0; k < net->used_slices; k++) {
        slice_bounds(n, k, net->used_slices, &net->slices[k].first, &net->slices[k].n);
    }
}

static dg_layer_ctx make_ctx(const dg_net *net, const slice *sl, const worker *w, int layer)
{
    dg_layer_ctx ctx = {
        .scratch = w->scratch,
        .aux = sl->aux[layer],
        .dparams = sl->grads,
        .is_training = net->last_training,
        .keep_aux = net->keep_aux,
        .reference = net->reference,
        .bf16 = net->precision == DG_PRECISION_BF16 && net->last_training,
        .dropout_seed = net->dropout_seed,
        .first_item = sl->first,
    };
    return ctx;
}

static void softmax_rows(const float *logits, float *probs, int n, int classes)
{
    for (int i = 0; i < n; i++) {
        const float *z = logits + (size_t)i * classes;
        float *p = probs + (size_t)i * classes;
        float m = z[0];
        for (int c = 1; c < classes; c++) {
            m = z[c] > m ? z[c] : m;
        }
        float sum = 0.0f;
        for (int c = 0; c < classes; c++) {
            p[c] = expf(z[c] - m);
            sum += p[c];
        }
        for (int c = 0; c < classes; c++) {
            p[c] /= sum;
        }
    }
}

typedef struct pass_args {
    dg_net *net;
    const float *x; /* the batch, or NULL when fill writes each slice's input */
    dg_fill_fn fill;
    void *fill_arg;
    dg_pool *layer_pool; /* passed to the layers when one thread runs the whole batch */
} pass_args;

/* Examples that go through all the layers together at inference: few enough that their
 * activations stay in the caches from one layer to the next. Training keeps every
 * activation for backward, so it runs the whole slice layer by layer. */
#define INFER_GROUP 8

/* Runs examples [s, s + m) of slice sl through every layer, on thread t. */
static void forward_group(dg_net *net, slice *sl, int t, const pass_args *a, int s, int m)
{
    const worker *w = &net->workers[t];
    dg_pool *pool = a->layer_pool;
    size_t in_size = dg_shape_size(net->input);
    if (a->fill) {
        a->fill(a->fill_arg, sl->first + s, m, sl->act[0] + (size_t)s * in_size, t);
    } else {
        memcpy(sl->act[0] + (size_t)s * in_size, a->x + (size_t)(sl->first + s) * in_size,
               (size_t)m * in_size * sizeof(float));
    }
    for (int i = 0; i < net->n_layers; i++) {
        const dg_layer *l = &net->layers[i];
        dg_layer_ctx ctx = make_ctx(net, sl, w, i);
        ctx.pool = pool;
        ctx.aux = (char *)sl->aux[i] + (size_t)s * l->aux_bytes_per_item;
        ctx.first_item = sl->first + s;
        l->ops->forward(l, sl->act[i] + (size_t)s * dg_shape_size(l->in),
                        sl->act[i + 1] + (size_t)s * dg_shape_size(l->out), m, &ctx);
    }
    size_t k = (size_t)net->classes, at = (size_t)(sl->first + s) * k;
    const float *logits = sl->act[net->n_layers] + (size_t)s * k;
    memcpy(net->logits + at, logits, (size_t)m * k * sizeof(float));
    softmax_rows(logits, net->probs + at, m, net->classes);
}

/* Slice k's forward, on thread t. */
static void forward_slice(void *arg, int k, int t)
{
    pass_args *a = arg;
    dg_net *net = a->net;
    slice *sl = &net->slices[k];
    int group = net->last_training ? sl->n : INFER_GROUP;
    for (int s = 0; s < sl->n; s += group) {
        forward_group(net, sl, t, a, s, sl->n - s < group ? sl->n - s : group);
    }
}

/* After a training forward: the layers with running state fold in what each slice left
 * in its aux, in slice order. */
static void fold_states(dg_net *net)
{
    const void *aux[MAX_SLICES];
    int counts[MAX_SLICES];
    for (int i = 0; i < net->n_layers; i++) {
        const dg_layer *l = &net->layers[i];
        if (!l->ops->fold_state) {
            continue;
        }
        for (int k = 0; k < net->used_slices; k++) {
            aux[k] = net->slices[k].aux[i];
            counts[k] = net->slices[k].n;
        }
        float *state = net->params + l->param_offset + l->n_weights + l->n_bias;
        l->ops->fold_state(l, state, aux, counts, net->used_slices);
    }
}

/* What a forward pass of n examples sets before its slices run. */
static dg_status begin_forward(dg_net *net, int n, bool is_training, dg_rng *rng)
{
    dg_status st = dg_net_prepare(net, n > net->max_batch ? n : net->max_batch);
    if (st != DG_OK) {
        return st;
    }
    net->last_n = n;
    net->last_training = is_training;
    net->dropout_seed = (is_training && rng) ? dg_rng_next(rng) : 0;
    split_batch(net, n);
    return DG_OK;
}

dg_status dg_net_forward(dg_net *net, const float *x, int n, bool is_training, dg_rng *rng,
                         const float **probs)
{
    if (probs) {
        *probs = NULL;
    }
    if (n < 1) {
        return dg_fail(DG_ERR_ARG, "forward: %d examples (want at least 1)", n);
    }
    dg_status st = begin_forward(net, n, is_training, rng);
    if (st != DG_OK) {
        return st;
    }
    pass_args a = {.net = net, .x = x};
    if (net->used_slices == 1 && net->threads > 1 && !is_training) {
        /* too few examples to split: the layers split their channels instead */
        a.layer_pool = net->pool;
    }
    dg_pool_for(net->pool, net->used_slices, forward_slice, &a);
    if (is_training) {
        fold_states(net);
    }
    if (probs) {
        *probs = net->probs;
    }
    return DG_OK;
}

dg_status dg_net_predict(dg_net *net, const float *x, int n, float *probs)
{
    if (n < 1) {
        return dg_fail(DG_ERR_ARG, "predict: %d examples (want at least 1)", n);
    }
    if (pthread_mutex_lock(&net->predict_lock) != 0) {
        return dg_fail(DG_ERR_ARG, "predict: the network's lock failed");
    }
    const float *p;
    dg_status st = dg_net_forward(net, x, n, false, NULL, &p);
    if (st == DG_OK) {
        memcpy(probs, p, (size_t)n * (size_t)net->classes * sizeof *probs);
    }
    pthread_mutex_unlock(&net->predict_lock);
    return st;
}

/* Slice k's backward, on thread t: its gradients into its own arena. */
static void backward_slice(void *arg, int k, int t)
{
    pass_args *a = arg;
    dg_net *net = a->net;
    slice *sl = &net->slices[k];
    const worker *w = &net->workers[t];
    for (int i = 0; i < net->n_layers; i++) {
        const dg_layer *l = &net->layers[i];
        if (!summed_by_product(net, l)) {
            memset(sl->grads + l->param_offset, 0, layer_params(l) * sizeof(float));
        }
    }
    sl->loss_sum = 0.0;
    int classes = net->classes;
    float inv_n = 1.0f / (float)net->last_n;
    float *dy = w->grad_a, *dx = w->grad_b;
    /* d(mean CE)/d logits = (softmax - onehot) / N, or the given logit gradient */
    for (int i = 0; i < sl->n && net->seed_grad; i++) {
        memcpy(dy + (size_t)i * classes, net->seed_grad, (size_t)classes * sizeof *dy);
    }
    for (int i = 0; i < sl->n && !net->seed_grad; i++) {
        const float *p = net->probs + (size_t)(sl->first + i) * classes;
        int label = net->labels[sl->first + i];
        float pl = p[label] > 1e-30f ? p[label] : 1e-30f;
        sl->loss_sum -= log((double)pl);
        for (int c = 0; c < classes; c++) {
            dy[(size_t)i * classes + c] = (p[c] - (c == label ? 1.0f : 0.0f)) * inv_n;
        }
    }
    size_t in_size = dg_shape_size(net->input);
    for (int i = net->n_layers - 1; i >= 0; i--) {
        dg_layer_ctx ctx = make_ctx(net, sl, w, i);
        float *target = dx;
        if (i == 0) {
            target = net->want_input_grad ? net->input_grad + (size_t)sl->first * in_size : NULL;
        }
        net->layers[i].ops->backward(&net->layers[i], sl->act[i], sl->act[i + 1], dy, target, sl->n,
                                     &ctx);
        float *t2 = dy;
        dy = dx;
        dx = t2;
    }
}

/* Part `part` of the gradients of a layer that slices add into their own arenas:
 * net->grads += the other slices' gradients, in slice order, so the sums are the same bits
 * whichever thread adds them. */
static void sum_slices(dg_net *net, const dg_layer *l, int part, int parts)
{
    size_t first, end;
    dg_pool_range(layer_params(l), part, parts, &first, &end);
    float *grads = net->grads + l->param_offset;
    /* in blocks that stay in L1 while every slice is added to them */
    for (size_t at = first; at < end; at += 256) {
        size_t stop = end - at < 256 ? end : at + 256;
        for (int k = 1; k < net->used_slices; k++) {
            const float *g = net->slices[k].grads + l->param_offset;
            for (size_t j = at; j < stop; j++) {
                grads[j] += g[j];
            }
        }
    }
}

/* Parts of a layer's gradients handed out to the threads after backward. */
static int grad_parts(const dg_net *net, const dg_layer *l)
{
    if (summed_by_product(net, l)) {
        return l->ops->batch_grad_parts(l);
    }
    return layer_params(l) ? dg_pool_parts(layer_params(l)) : 0;
}

/* Item `item` of the gradients' job: which layer, which part of how many. */
static const dg_layer *grad_item(const dg_net *net, int item, int *part, int *parts)
{
    for (int i = 0; i < net->n_layers; i++) {
        const dg_layer *l = &net->layers[i];
        int n = grad_parts(net, l);
        if (item < n) {
            *part = item;
            *parts = n;
            return l;
        }
        item -= n;
    }
    assert(!"gradient item out of range");
    return NULL;
}

/* Hands the finished gradients of a run of the arena to the update, if there is one and
 * they are finite; else notes that a gradient is not finite. */
static void finish_span(dg_net *net, dg_span span, bool finite)
{
    if (!finite) {
        atomic_store(&net->grads_bad, true);
    } else if (net->update) {
        for (size_t r = 0; r < span.rows && span.n > 0; r++) {
            net->update(net->update_arg, net->params, net->grads, span.first + r * span.stride,
                        span.n);
        }
    }
}

/* One item of the gradients after the slices' backward: a part of one layer's gradients
 * made whole (the slices' product, or their arenas added), checked and handed on. */
static void finish_grads_item(void *arg, int item, int t)
{
    (void)t;
    dg_net *net = arg;
    int part, parts;
    const dg_layer *l = grad_item(net, item, &part, &parts);
    if (summed_by_product(net, l)) {
        const float *x[MAX_SLICES];
        const void *aux[MAX_SLICES];
        int counts[MAX_SLICES];
        int i = (int)(l - net->layers);
        for (int k = 0; k < net->used_slices; k++) {
            x[k] = net->slices[k].act[i];
            aux[k] = net->slices[k].aux[i];
            counts[k] = net->slices[k].n;
        }
        dg_span spans[2] = {{0, 0, 0, 0}, {0, 0, 0, 0}};
        bool finite = l->ops->batch_grads(l, x, aux, counts, net->used_slices, net->grads, part,
                                          parts, net->precision == DG_PRECISION_BF16, spans);
        /* both runs checked before either is updated */
        finish_span(net, spans[0], finite);
        finish_span(net, spans[1], finite);
        return;
    }
    sum_slices(net, l, part, parts);
    size_t first, end;
    dg_pool_range(layer_params(l), part, parts, &first, &end);
    dg_span span = {l->param_offset + first, end - first, 1, 0};
    finish_span(net, span, dg_floats_finite(net->grads + span.first, span.n));
}

/* After the slices' backward: the mean loss, and the gradients made whole in net->grads,
 * each part handed to update when it and the loss are finite. */
static float end_backward(dg_net *net, dg_update_fn update, void *update_arg)
{
    double loss = 0.0;
    for (int k = 0; k < net->used_slices; k++) {
        loss += net->slices[k].loss_sum;
    }
    float mean = (float)(loss / net->last_n);
    net->update = isfinite(mean) ? update : NULL;
    net->update_arg = update_arg;
    int items = 0;
    for (int i = 0; i < net->n_layers; i++) {
        items += grad_parts(net, &net->layers[i]);
    }
    atomic_store(&net->grads_bad, false);
    dg_pool_for(net->pool, items, finish_grads_item, net);
    net->labels = NULL;
    net->update = NULL;
    return mean;
}

bool dg_net_grads_finite(const dg_net *net)
{
    return !atomic_load(&net->grads_bad);
}

float dg_net_backward(dg_net *net, const uint8_t *labels, int n)
{
    /* backward pairs with the forward just before it */
    assert(n == net->last_n && net->last_training);
    net->labels = labels;
    pass_args a = {.net = net};
    dg_pool_for(net->pool, net->used_slices, backward_slice, &a);
    return end_backward(net, NULL, NULL);
}

/* Slice k's forward and then its backward, on thread t: the loss gradient of an example
 * needs only its own probabilities, so a slice never waits for the others. */
static void train_slice(void *arg, int k, int t)
{
    forward_slice(arg, k, t);
    backward_slice(arg, k, t);
}

dg_status dg_net_train_pass(dg_net *net, dg_fill_fn fill, void *fill_arg, const uint8_t *labels,
                            int n, dg_rng *rng, dg_update_fn update, void *update_arg,
                            const float **probs, float *loss)
{
    *probs = NULL;
    *loss = 0.0f;
    if (n < 1) {
        return dg_fail(DG_ERR_ARG, "forward: %d examples (want at least 1)", n);
    }
    dg_status st = begin_forward(net, n, true, rng);
    if (st != DG_OK) {
        return st;
    }
    net->labels = labels;
    pass_args a = {.net = net, .fill = fill, .fill_arg = fill_arg};
    dg_pool_for(net->pool, net->used_slices, train_slice, &a);
    /* batch normalisation's backward reads only its slice's statistics, not the running
     * ones, so they may move after it */
    fold_states(net);
    *probs = net->probs;
    *loss = end_backward(net, update, update_arg);
    return DG_OK;
}

dg_status dg_net_class_gradient(dg_net *net, const float *x, int cls, float *grad)
{
    if (cls < 0 || cls >= net->classes) {
        return dg_fail(DG_ERR_ARG, "class %d out of range 0..%d", cls, net->classes - 1);
    }
    dg_status st = dg_net_set_input_grad(net, true);
    if (st != DG_OK) {
        return st;
    }
    net->keep_aux = true;
    st = dg_net_forward(net, x, 1, false, NULL, NULL);
    net->keep_aux = false;
    if (st != DG_OK) {
        return st;
    }
    float seed[DG_MAX_CLASSES] = {0};
    seed[cls] = 1.0f;
    net->seed_grad = seed;
    pass_args a = {.net = net};
    dg_pool_for(net->pool, net->used_slices, backward_slice, &a);
    net->seed_grad = NULL;
    memcpy(grad, net->input_grad, dg_shape_size(net->input) * sizeof *grad);
    return DG_OK;
}
