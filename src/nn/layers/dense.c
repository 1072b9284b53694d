/*
 * dense.c - fully connected layer with optional fused ReLU.
 *
 * Legend: N batch, I inputs, O outputs.
 *   x [N][I]   w [O][I]   b [O]   y [N][O] = x * w^T + b
 * Backward: dz = dy masked by ReLU, db += column sums of dz, dw += dz^T * x,
 * dx = dz * w. The fast path is dot products forward and one GEMM for each gradient
 * (dg_gemm_bf16 in bf16 training); the plain loops are the reference.
 */
#include "nn/cpu/cpu.h"
#include "nn/net.h"

/* Below this many examples the forward pass uses dot products instead of a GEMM. */
#define SMALL_BATCH 4

#include <stdio.h>
#include <string.h>

static bool dense_parse(dg_layer *l, char **words, int n)
{
    n = dg_spec_take_relu(l, words, n);
    return n == 1 && dg_spec_int(words[0], &l->units);
}

static void dense_describe(const dg_layer *l, char *buf, size_t size)
{
    snprintf(buf, size, "dense %d%s", l->units, l->relu ? " relu" : "");
}

static void dense_fans(const dg_layer *l, double *fan_in, double *fan_out)
{
    *fan_in = (double)dg_shape_size(l->in);
    *fan_out = (double)l->units;
}

static dg_status dense_init(dg_layer *l)
{
    if (l->in.h != 1 || l->in.w != 1) {
        return dg_fail(DG_ERR_ARG, "input is %dx%dx%d; add 'flatten' before it", l->in.c, l->in.h,
                       l->in.w);
    }
    if (l->units < 1 || l->units > 65536) {
        return dg_fail(DG_ERR_ARG, "%d outputs (want 1..65536)", l->units);
    }
    l->out = (dg_shape){l->units, 1, 1};
    l->n_weights = (size_t)l->units * l->in.c;
    l->n_bias = (size_t)l->units;
    l->aux_bytes_per_item = 0;
    return DG_OK;
}

static size_t dense_scratch_floats(const dg_layer *l, int n)
{
    return (size_t)n * l->units; /* dz */
}

/* A few rows: dot products read each weight row once, with no packing; outputs split
 * across threads. */
typedef struct dense_dots {
    const dg_layer *l;
    const float *x;
    float *y;
    int n;
} dense_dots;

static void dense_dots_task(void *arg, int t, int n_threads)
{
    const dense_dots *a = arg;
    int in = a->l->in.c, out = a->l->units;
    int o0 = out * t / n_threads, o1 = out * (t + 1) / n_threads;
    for (int r = 0; r < a->n; r++) {
        dg_dot_rows(a->l->w + (size_t)o0 * in, (size_t)in, o1 - o0, a->x + (size_t)r * in, in,
                    a->y + (size_t)r * out + o0);
    }
}

static void dense_forward(const dg_layer *l, const float *x, float *y, int n, dg_layer_ctx *ctx)
{
    int in = l->in.c, out = l->units;
    if (ctx->reference) {
        for (int r = 0; r < n; r++) {
            for (int o = 0; o < out; o++) {
                float s = l->b[o];
                for (int i = 0; i < in; i++) {
                    s += x[(size_t)r * in + i] * l->w[(size_t)o * in + i];
                }
                y[(size_t)r * out + o] = (l->relu && s < 0.0f) ? 0.0f : s;
            }
        }
        return;
    }
    if (n < SMALL_BATCH) {
        dense_dots args = {l, x, y, n};
        if (ctx->pool) {
            dg_pool_run(ctx->pool, dense_dots_task, &args);
        } else {
            dense_dots_task(&args, 0, 1);
        }
    } else if (dg_avx512_active()) {
        /* both operands run along the inputs: dot products need no packed transposes (in
         * bf16 training too: on a slice of 8 examples, packing the weights into bf16 panels
         * costs more than the products gain) */
        dg_dot_products(x, n, l->w, out, in, y);
    } else {
        dg_gemm_for(ctx->bf16)(false, true, n, out, in, 1.0f, x, in, l->w, in, 0.0f, y, out);
    }
    for (int r = 0; r < n; r++) {
        float *row = y + (size_t)r * out;
        for (int o = 0; o < out; o++) {
            float v = row[o] + l->b[o];
            row[o] = (l->relu && v < 0.0f) ? 0.0f : v;
        }
    }
}

static void dense_backward(const dg_layer *l, const float *x, const float *y, const float *dy,
                           float *dx, int n, dg_layer_ctx *ctx)
{
    int in = l->in.c, out = l->units;
    float *dw = ctx->dparams + l->param_offset;
    float *db = dw + l->n_weights;
    float *dz = ctx->scratch; /* [N][O] */
    for (size_t i = 0; i < (size_t)n * out; i++) {
        dz[i] = (l->relu && y[i] <= 0.0f) ? 0.0f : dy[i];
    }
    for (int r = 0; r < n; r++) {
        for (int o = 0; o < out; o++) {
            db[o] += dz[(size_t)r * out + o];
        }
    }
    if (ctx->reference) {
        for (int r = 0; r < n; r++) {
            for (int o = 0; o < out; o++) {
                float g = dz[(size_t)r * out + o];
                for (int i = 0; i < in; i++) {
                    dw[(size_t)o * in + i] += g * x[(size_t)r * in + i];
                }
            }
        }
        if (dx) {
            for (int r = 0; r < n; r++) {
                for (int i = 0; i < in; i++) {
                    float s = 0.0f;
                    for (int o = 0; o < out; o++) {
                        s += dz[(size_t)r * out + o] * l->w[(size_t)o * in + i];
                    }
                    dx[(size_t)r * in + i] = s;
                }
            }
        }
        return;
    }
    dg_gemm_fn gemm = dg_gemm_for(ctx->bf16);
    gemm(true, false, out, in, n, 1.0f, dz, out, x, in, 1.0f, dw, in);
    if (dx) {
        gemm(false, false, n, in, out, 1.0f, dz, out, l->w, in, 0.0f, dx, in);
    }
}

const dg_layer_ops dg_dense_ops = {
    .id = 4,
    .name = "dense",
    .parse = dense_parse,
    .usage = "OUT [relu]",
    .example = "dense 64 relu",
    .describe = dense_describe,
    .fans = dense_fans,
    .init = dense_init,
    .scratch_floats = dense_scratch_floats,
    .forward = dense_forward,
    .backward = dense_backward,
};
