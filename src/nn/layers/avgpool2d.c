/*
 * avgpool2d.c - average pooling over non-overlapping KxK windows (stride K, floor), as
 * Keras's AveragePooling2D and ONNX's AveragePool with strides equal to the kernel and
 * no padding.
 *
 * Legend: N batch, C channels, H/W input, OH = H/K, OW = W/K.
 *   x [N][C][H][W]  ->  y [N][C][OH][OW],  y[i][j] = mean of x[i*K + u][j*K + v], u, v < K
 * Backward spreads dy[i][j] / (K*K) over its window; rows and columns past the last
 * whole window get no gradient, as they took no part.
 */
#include "nn/net.h"

#include <stdio.h>
#include <string.h>

static bool avgpool_parse(dg_layer *l, char **words, int n)
{
    return n == 1 && dg_spec_kernel(words[0], &l->k);
}

static void avgpool_describe(const dg_layer *l, char *buf, size_t size)
{
    snprintf(buf, size, "avgpool %d", l->k);
}

static dg_status avgpool_init(dg_layer *l)
{
    if (l->k < 1 || l->k > l->in.h || l->k > l->in.w) {
        return dg_fail(DG_ERR_ARG, "size %d does not fit its %dx%d input", l->k, l->in.h, l->in.w);
    }
    l->out = (dg_shape){l->in.c, l->in.h / l->k, l->in.w / l->k};
    l->n_weights = 0;
    l->n_bias = 0;
    l->aux_bytes_per_item = 0;
    return DG_OK;
}

static size_t avgpool_scratch_floats(const dg_layer *l, int n)
{
    (void)l;
    (void)n;
    return 0;
}

static void avgpool_forward(const dg_layer *l, const float *x, float *y, int n, dg_layer_ctx *ctx)
{
    (void)ctx;
    int k = l->k, w = l->in.w, oh = l->out.h, ow = l->out.w;
    size_t planes = (size_t)n * l->in.c, in_plane = (size_t)l->in.h * w;
    float scale = 1.0f / (float)(k * k);
    for (size_t pl = 0; pl < planes; pl++) {
        const float *xp = x + pl * in_plane;
        float *yp = y + pl * oh * ow;
        for (int i = 0; i < oh; i++) {
            for (int j = 0; j < ow; j++) {
                float s = 0.0f;
                for (int u = 0; u < k; u++) {
                    const float *row = xp + (size_t)(i * k + u) * w + j * k;
                    for (int v = 0; v < k; v++) {
                        s += row[v];
                    }
                }
                yp[i * ow + j] = s * scale;
            }
        }
    }
}

static void avgpool_backward(const dg_layer *l, const float *x, const float *y, const float *dy,
                             float *dx, int n, dg_layer_ctx *ctx)
{
    (void)x;
    (void)y;
    (void)ctx;
    if (!dx) {
        return;
    }
    int k = l->k, w = l->in.w, oh = l->out.h, ow = l->out.w;
    size_t planes = (size_t)n * l->in.c, in_plane = (size_t)l->in.h * w;
    float scale = 1.0f / (float)(k * k);
    memset(dx, 0, planes * in_plane * sizeof(float));
    for (size_t pl = 0; pl < planes; pl++) {
        float *dxp = dx + pl * in_plane;
        const float *dyp = dy + pl * oh * ow;
        for (int i = 0; i < oh; i++) {
            for (int j = 0; j < ow; j++) {
                float g = dyp[i * ow + j] * scale;
                for (int u = 0; u < k; u++) {
                    float *row = dxp + (size_t)(i * k + u) * w + j * k;
                    for (int v = 0; v < k; v++) {
                        row[v] = g;
                    }
                }
            }
        }
    }
}

const dg_layer_ops dg_avgpool2d_ops = {
    .id = 7,
    .name = "avgpool",
    .parse = avgpool_parse,
    .usage = "K",
    .example = "avgpool 2",
    .describe = avgpool_describe,
    .init = avgpool_init,
    .scratch_floats = avgpool_scratch_floats,
    .forward = avgpool_forward,
    .backward = avgpool_backward,
};
