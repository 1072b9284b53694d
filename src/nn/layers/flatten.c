/*
 * flatten.c - [N][C][H][W] -> [N][C*H*W][1][1]. NCHW memory is already in that order,
 * so forward and backward are copies.
 */
#include "nn/net.h"

#include <string.h>

static dg_status flatten_init(dg_layer *l)
{
    l->out = (dg_shape){(int)dg_shape_size(l->in), 1, 1};
    l->n_weights = 0;
    l->n_bias = 0;
    l->aux_bytes_per_item = 0;
    return DG_OK;
}

static size_t flatten_scratch_floats(const dg_layer *l, int n)
{
    (void)l;
    (void)n;
    return 0;
}

static void flatten_forward(const dg_layer *l, const float *x, float *y, int n, dg_layer_ctx *ctx)
{
    (void)ctx;
    memcpy(y, x, (size_t)n * dg_shape_size(l->in) * sizeof(float));
}

static void flatten_backward(const dg_layer *l, const float *x, const float *y, const float *dy,
                             float *dx, int n, dg_layer_ctx *ctx)
{
    (void)x;
    (void)y;
    (void)ctx;
    if (dx) {
        memcpy(dx, dy, (size_t)n * dg_shape_size(l->in) * sizeof(float));
    }
}

const dg_layer_ops dg_flatten_ops = {
    .id = 3,
    .name = "flatten",
    .init = flatten_init,
    .scratch_floats = flatten_scratch_floats,
    .forward = flatten_forward,
    .backward = flatten_backward,
};
