/*
 * sigmoid.c - y = 1 / (1 + exp(-x)), as ONNX's Sigmoid and PyTorch's nn.Sigmoid. Backward:
 * dx = dy y (1 - y).
 *
 *   x [N][S] -> y [N][S], element by element.
 */
#include "nn/net.h"

#include <math.h>

static void sigmoid_forward(const dg_layer *l, const float *x, float *y, int n, dg_layer_ctx *ctx)
{
    (void)ctx;
    size_t count = (size_t)n * dg_shape_size(l->in);
    for (size_t i = 0; i < count; i++) {
        y[i] = 1.0f / (1.0f + expf(-x[i]));
    }
}

static void sigmoid_backward(const dg_layer *l, const float *x, const float *y, const float *dy,
                             float *dx, int n, dg_layer_ctx *ctx)
{
    (void)x;
    (void)ctx;
    if (!dx) {
        return;
    }
    size_t count = (size_t)n * dg_shape_size(l->in);
    for (size_t i = 0; i < count; i++) {
        dx[i] = dy[i] * y[i] * (1.0f - y[i]);
    }
}

const dg_layer_ops dg_sigmoid_ops = {
    .id = 9,
    .name = "sigmoid",
    .init = dg_layer_init_same_shape,
    .forward = sigmoid_forward,
    .backward = sigmoid_backward,
};
