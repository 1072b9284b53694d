/*
 * dropout.c - inverted dropout: while training each value is kept with probability
 * 1 - rate and scaled by 1 / (1 - rate); at inference it is the identity.
 *
 *   x [N][S] -> y [N][S];  aux: keep mask [N][S] bytes, from forward to backward.
 * Example e of a step draws from its own stream (step seed, e), so the masks do not
 * depend on how the batch is split across threads.
 */
#include "nn/net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool dropout_parse(dg_layer *l, char **words, int n)
{
    if (n != 1) {
        return false;
    }
    char *end;
    l->rate = strtof(words[0], &end);
    return end != words[0] && *end == '\0';
}

static void dropout_describe(const dg_layer *l, char *buf, size_t size)
{
    /* %g's six digits unless they read back as another rate: 0.9999999 is not 1 */
    for (int digits = 6; digits <= 9; digits++) {
        snprintf(buf, size, "dropout %.*g", digits, (double)l->rate);
        if (strtof(buf + strlen("dropout "), NULL) == l->rate) {
            break;
        }
    }
}

static dg_status dropout_init(dg_layer *l)
{
    if (!(l->rate >= 0.0f && l->rate < 1.0f)) {
        return dg_fail(DG_ERR_ARG, "rate %g (want 0 <= rate < 1)", (double)l->rate);
    }
    l->out = l->in;
    l->n_weights = 0;
    l->n_bias = 0;
    l->aux_bytes_per_item = dg_shape_size(l->in);
    return DG_OK;
}

static size_t dropout_scratch_floats(const dg_layer *l, int n)
{
    (void)l;
    (void)n;
    return 0;
}

static void dropout_forward(const dg_layer *l, const float *x, float *y, int n, dg_layer_ctx *ctx)
{
    size_t size = dg_shape_size(l->in);
    uint8_t *keep = ctx->aux;
    if (!ctx->is_training || l->rate == 0.0f) {
        memcpy(y, x, (size_t)n * size * sizeof(float));
        memset(keep, 1, (size_t)n * size);
        return;
    }
    float scale = 1.0f / (1.0f - l->rate);
    for (int e = 0; e < n; e++) {
        dg_rng rng;
        dg_rng_seed(&rng, dg_mix64(ctx->dropout_seed ^ dg_mix64((uint64_t)(ctx->first_item + e))));
        for (size_t i = 0; i < size; i++) {
            size_t at = (size_t)e * size + i;
            keep[at] = dg_rng_uniform(&rng) >= l->rate;
            y[at] = keep[at] ? x[at] * scale : 0.0f;
        }
    }
}

static void dropout_backward(const dg_layer *l, const float *x, const float *y, const float *dy,
                             float *dx, int n, dg_layer_ctx *ctx)
{
    (void)x;
    (void)y;
    if (!dx) {
        return;
    }
    size_t count = (size_t)n * dg_shape_size(l->in);
    const uint8_t *keep = ctx->aux;
    float scale = (ctx->is_training && l->rate > 0.0f) ? 1.0f / (1.0f - l->rate) : 1.0f;
    for (size_t i = 0; i < count; i++) {
        dx[i] = keep[i] ? dy[i] * scale : 0.0f;
    }
}

const dg_layer_ops dg_dropout_ops = {
    .id = 5,
    .name = "dropout",
    .parse = dropout_parse,
    .usage = "RATE",
    .example = "dropout 0.5",
    .describe = dropout_describe,
    .init = dropout_init,
    .scratch_floats = dropout_scratch_floats,
    .forward = dropout_forward,
    .backward = dropout_backward,
};
