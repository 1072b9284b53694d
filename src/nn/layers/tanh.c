/*
 * tanh.c - y = tanh(x), as ONNX's Tanh and PyTorch's nn.Tanh. Backward: dx = dy (1 - y^2).
 *
 *   x [N][S] -> y [N][S], element by element.
 */
#include "nn/net.h"

#include <math.h>

static dg_status tanh_init(dg_layer *l)
{
    l->out = l->in;
    l->n_weights = 0;
    l->n_bias = 0;
    l->aux_bytes_per_item = 0;
    return DG_OK;
}

static size_t tanh_scratch_floats(const dg_layer *l, int n)
{
    (void)l;
    (void)n;
    return 0;
}

static void tanh_forward(const dg_layer *l, const float *x, float *y, int n, dg_layer_ctx *ctx)
{
    (void)ctx;
    size_t count = (size_t)n * dg_shape_size(l->in);
    for (size_t i = 0; i < count; i++) {
        y[i] = tanhf(x[i]);
    }
}

static void tanh_backward(const dg_layer *l, const float *x, const float *y, const float *dy,
                          float *dx, int n, dg_layer_ctx *ctx)
{
    (void)x;
    (void)ctx;
    if (!dx) {
        return;
    }
    size_t count = (size_t)n * dg_shape_size(l->in);
    for (size_t i = 0; i < count; i++) {
        dx[i] = dy[i] * (1.0f - y[i] * y[i]);
    }
}

const dg_layer_ops dg_tanh_ops = {
    .id = 8,
    .name = "tanh",
    .init = tanh_init,
    .scratch_floats = tanh_scratch_floats,
    .forward = tanh_forward,
    .backward = tanh_backward,
};
