/*
 * net.c - the sequential network: layers built from a spec, the parameter arena, accessors
 * and settings (threads, precision, input gradient). The parallel pass over slices of the
 * batch (dg_net_prepare, forward, backward, the training pass) is pass.c.
 *
 * Legend: N batch, L layers, T threads, S slices. See net.h for how work is split.
 */
#include "nn/cpu/cpu.h"
#include "nn/net_private.h"

#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ building */

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
    /* 2x2 max pooling done by the layer below it as it stores its output (training) */
    for (int i = 0; i + 1 < n; i++) {
        dg_layer *below = &net->layers[i], *pool = &net->layers[i + 1];
        if (below->ops->can_pool_output && pool->ops->is_pool2 && pool->ops->is_pool2(pool)) {
            below->pools_above = true;
            pool->pooled_below = true;
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
    net->params = dg_alloc_floats(net->n_params);
    net->grads = dg_alloc_floats(net->n_params);
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

void dg_net_free(dg_net *net)
{
    if (!net) {
        return;
    }
    dg_net_free_slices(net);
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
    dg_net_free_slices(net);
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
    dg_net_free_slices(net);
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
