/*
 * tanh.c - y = tanh(x), as ONNX's Tanh and PyTorch's nn.Tanh. Backward: dx = dy (1 - y^2).
 *
 *   x [N][S] -> y [N][S], element by element.
 */
#include "nn/net.h"

#include <math.h>

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
    .init = dg_layer_init_same_shape,
    .forward = tanh_forward,
    .backward = tanh_backward,
};
