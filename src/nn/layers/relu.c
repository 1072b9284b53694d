/*
 * relu.c - y = max(x, 0) as a layer of its own; conv and dense can also fuse it.
 * Backward passes dy where y > 0.
 */
#include "nn/net.h"

static void relu_forward(const dg_layer *l, const float *x, float *y, int n, dg_layer_ctx *ctx)
{
    (void)ctx;
    size_t count = (size_t)n * dg_shape_size(l->in);
    for (size_t i = 0; i < count; i++) {
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
    }
}

static void relu_backward(const dg_layer *l, const float *x, const float *y, const float *dy,
                          float *dx, int n, dg_layer_ctx *ctx)
{
    (void)x;
    (void)ctx;
    if (!dx) {
        return;
    }
    size_t count = (size_t)n * dg_shape_size(l->in);
    for (size_t i = 0; i < count; i++) {
        dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
    }
}

const dg_layer_ops dg_relu_ops = {
    .id = 6,
    .name = "relu",
    .init = dg_layer_init_same_shape,
    .forward = relu_forward,
    .backward = relu_backward,
};
