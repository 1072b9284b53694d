/*
 * pass.c - the parallel pass of a net: its batch cut into slices, the threads' workspaces
 * (dg_net_prepare), forward and backward across the slices, the gradients made whole and
 * handed to the optimiser (dg_net_train_pass), and a class's gradient for "why" answers.
 *
 * Legend: N batch, L layers, T threads, S slices. act[i] [N][shape_i] is the input of
 * layer i (act[0] the network input, act[L] the logits). See net.h for how work is split.
 */
#include "nn/cpu/cpu.h"
#include "nn/net_private.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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

void dg_net_free_slices(dg_net *net)
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

/* ------------------------------------------------------------------ workspace */

static dg_status alloc_slice(dg_net *net, slice *sl, int k)
{
    int cap = net->cap;
    sl->act = calloc((size_t)net->n_layers + 1, sizeof *sl->act);
    sl->aux = calloc((size_t)net->n_layers, sizeof *sl->aux);
    if (!sl->act || !sl->aux) {
        return DG_ERR_NOMEM;
    }
    sl->act[0] = dg_alloc_floats((size_t)cap * dg_shape_size(net->input));
    if (!sl->act[0]) {
        return DG_ERR_NOMEM;
    }
    for (int i = 0; i < net->n_layers; i++) {
        const dg_layer *l = &net->layers[i];
        sl->act[i + 1] = dg_alloc_floats((size_t)cap * dg_shape_size(l->out));
        sl->aux[i] = malloc(l->aux_bytes_per_item * (size_t)cap + 1);
        if (!sl->act[i + 1] || !sl->aux[i]) {
            return DG_ERR_NOMEM;
        }
    }
    sl->grads = k == 0 ? net->grads : dg_alloc_floats(net->n_params);
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
    w->grad_a = dg_alloc_floats((size_t)cap * max_size);
    w->grad_b = dg_alloc_floats((size_t)cap * max_size);
    w->scratch = dg_alloc_floats(scratch);
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
    dg_net_free_slices(net);
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
    net->probs = dg_alloc_floats((size_t)max_batch * net->classes);
    net->logits = dg_alloc_floats((size_t)max_batch * net->classes);
    if (net->want_input_grad) {
        net->input_grad = dg_alloc_floats((size_t)max_batch * dg_shape_size(net->input));
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
        dg_net_free_slices(net);
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
        if (l->pools_above) {
            const dg_layer *above = &net->layers[i + 1];
            ctx.pooled = sl->act[i + 2] + (size_t)s * dg_shape_size(above->out);
            ctx.pooled_aux = (char *)sl->aux[i + 1] + (size_t)s * above->aux_bytes_per_item;
        }
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
        dg_pool_raise(net->pool, &net->backward_done[i]);
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

/* Item `item` of the gradients' job: which layer, which part of how many. The last layer's
 * parts come first: backward reaches it first, so in a training step's one job its
 * gradients can be made whole while the last slices still run the layers below. */
static const dg_layer *grad_item(const dg_net *net, int item, int *part, int *parts)
{
    for (int i = net->n_layers - 1; i >= 0; i--) {
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

/* Hands the finished gradients of a run of the arena to update, if there is one and they
 * are finite; else notes that a gradient is not finite. */
static void finish_span(dg_net *net, dg_span span, bool finite, dg_update_fn update)
{
    if (!finite) {
        atomic_store(&net->grads_bad, true);
    } else if (update) {
        for (size_t r = 0; r < span.rows && span.n > 0; r++) {
            update(net->update_arg, net->params, net->grads, span.first + r * span.stride, span.n);
        }
    }
}

/* Part `part` of `parts` of layer l's gradients, once every slice's backward has passed l:
 * made whole (the slices' product, or their arenas added), checked and handed to update. */
static void finish_grads(dg_net *net, const dg_layer *l, int part, int parts, dg_update_fn update)
{
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
        finish_span(net, spans[0], finite, update);
        finish_span(net, spans[1], finite, update);
        return;
    }
    sum_slices(net, l, part, parts);
    size_t first, end;
    dg_pool_range(layer_params(l), part, parts, &first, &end);
    dg_span span = {l->param_offset + first, end - first, 1, 0};
    finish_span(net, span, dg_floats_finite(net->grads + span.first, span.n), update);
}

/* One item of the gradients' job, after every slice's backward. */
static void finish_grads_item(void *arg, int item, int t)
{
    (void)t;
    dg_net *net = arg;
    int part, parts;
    const dg_layer *l = grad_item(net, item, &part, &parts);
    finish_grads(net, l, part, parts, net->update);
}

/* The mean loss of the pass: the slices' sums added in slice order. */
static float mean_loss(const dg_net *net)
{
    double loss = 0.0;
    for (int k = 0; k < net->used_slices; k++) {
        loss += net->slices[k].loss_sum;
    }
    return (float)(loss / net->last_n);
}

/* Items of the gradients' job: every part of every layer with parameters. */
static int grad_items(const dg_net *net)
{
    int items = 0;
    for (int i = 0; i < net->n_layers; i++) {
        items += grad_parts(net, &net->layers[i]);
    }
    return items;
}

/* After the slices' backward: the mean loss, and the gradients made whole in net->grads,
 * each part handed to update when it and the loss are finite. */
static float end_backward(dg_net *net, dg_update_fn update, void *update_arg)
{
    float mean = mean_loss(net);
    net->update = isfinite(mean) ? update : NULL;
    net->update_arg = update_arg;
    atomic_store(&net->grads_bad, false);
    dg_pool_for(net->pool, grad_items(net), finish_grads_item, net);
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

/* Item `item` of a training step's one job: the slices first (each its forward and
 * backward), then the gradients' parts, the last layer's first. A part waits until every
 * slice's backward has passed its layer; all slices were taken before it, so a thread that
 * would otherwise wait for the last slice makes the upper layers' gradients whole and
 * updates them meanwhile. Each part checks the loss (written before any layer's backward)
 * itself. */
static void train_item(void *arg, int item, int t)
{
    pass_args *a = arg;
    dg_net *net = a->net;
    if (item < net->used_slices) {
        train_slice(arg, item, t);
        return;
    }
    int part, parts;
    const dg_layer *l = grad_item(net, item - net->used_slices, &part, &parts);
    dg_pool_wait_for(net->pool, &net->backward_done[l - net->layers], net->used_slices);
    finish_grads(net, l, part, parts, isfinite(mean_loss(net)) ? net->update : NULL);
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
    *probs = net->probs;
    if (net->slice_stats) {
        /* running statistics are folded between the slices and the update (batch
         * normalisation's backward reads only its slice's statistics, so they may move
         * after it): two jobs */
        dg_pool_for(net->pool, net->used_slices, train_slice, &a);
        fold_states(net);
        *loss = end_backward(net, update, update_arg);
        return DG_OK;
    }
    for (int i = 0; i < net->n_layers; i++) {
        atomic_store_explicit(&net->backward_done[i], 0, memory_order_relaxed);
    }
    net->update = update;
    net->update_arg = update_arg;
    atomic_store(&net->grads_bad, false);
    dg_pool_for(net->pool, net->used_slices + grad_items(net), train_item, &a);
    net->labels = NULL;
    net->update = NULL;
    *loss = mean_loss(net);
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
