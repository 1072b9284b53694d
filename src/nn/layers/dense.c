/*
 * dense.c - fully connected layer with optional fused ReLU.
 *
 * Legend: N batch, I inputs, O outputs.
 *   x [N][I]   w [O][I]   b [O]   y [N][O] = x * w^T + b
 * Backward: dz = dy masked by ReLU, db += column sums of dz, dw += dz^T * x,
 * dx = dz * w. The fast path: dot products forward, dx by register tiles reading w in place
 * (dg_times_matrix; a GEMM in bf16 training), dw by a GEMM (dg_gemm_bf16 in bf16 training);
 * the plain loops are the reference.
 *
 * In the fast path a slice's backward computes only dx and keeps dz in its aux [N][O];
 * dw and db are made after every slice's backward (dense_batch_grads), each thread a part
 * of w's rows across all the slices in slice order. The weights (1200x256 floats in the
 * fast preset, most of the net) then need no gradient arena per slice to clear, fill from
 * memory and add up again: a part's dw stays in cache while the slices are added to it,
 * and it is one run of the arena, which the finite check and the optimiser then read
 * straight through.
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
    l->aux_bytes_per_item = (size_t)l->units * sizeof(float); /* dz, for dense_batch_grads */
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
    float *dz = ctx->reference ? ctx->scratch : ctx->aux; /* [N][O] */
    for (size_t i = 0; i < (size_t)n * out; i++) {
        dz[i] = (l->relu && y[i] <= 0.0f) ? 0.0f : dy[i];
    }
    if (!ctx->reference) {
        if (dx && !ctx->bf16 && dg_avx512_active()) {
            dg_times_matrix(dz, n, out, l->w, in, dx);
        } else if (dx) {
            dg_gemm_for(ctx->bf16)(false, false, n, in, out, 1.0f, dz, out, l->w, in, 0.0f, dx, in);
        }
        return; /* dw and db: dense_batch_grads */
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
    }
}

/* Weights per part of the weight gradient, at least: a part's dw [rows][I] (25,600 floats
 * for seed-cnn's first dense layer cut in four) stays in the L2 cache while every slice
 * is added to it, and each part packs the slices' inputs once. Whole rows make a part one
 * run of the arena: columns would make it one short run per output (512 bytes in each of
 * the gradients, weights and both moments), which the prefetchers barely follow. */
#define GRAD_PART_WEIGHTS 16384

static int dense_batch_grad_parts(const dg_layer *l)
{
    int parts = (int)(l->n_weights / GRAD_PART_WEIGHTS);
    parts = parts < l->units ? parts : l->units;
    return parts < 1 ? 1 : parts;
}

/* Rows [o0, o1) of dw, and part 0 also db: slice 0's product written, the others' added,
 * in slice order. Each product sums its slice's examples in order and is added once, as
 * backward into a cleared arena and then the arenas' sum in slice order gave. */
static bool dense_batch_grads(const dg_layer *l, const float *const *x, const void *const *aux,
                              const int *counts, int slices, float *dparams, int part, int parts,
                              bool bf16, dg_span spans[2])
{
    int in = l->in.c, out = l->units;
    float *dw = dparams + l->param_offset;
    float *db = dw + l->n_weights;
    int o0 = (int)((long)out * part / parts), rows = (int)((long)out * (part + 1) / parts) - o0;
    float *dw_rows = dw + (size_t)o0 * in;
    dg_gemm_fn gemm = dg_gemm_for(bf16);
    for (int k = 0; k < slices && rows > 0; k++) {
        const float *dz = aux[k];
        gemm(true, false, rows, in, counts[k], 1.0f, dz + o0, out, x[k], in, k ? 1.0f : 0.0f,
             dw_rows, in);
    }
    size_t n_rows = (size_t)rows * in;
    bool finite = dg_floats_finite(dw_rows, n_rows);
    spans[0] = (dg_span){l->param_offset + (size_t)o0 * in, n_rows, 1, 0};
    if (part == 0) {
        for (int k = 0; k < slices; k++) {
            const float *dz = aux[k];
            for (int o = 0; o < out; o++) {
                float s = 0.0f;
                for (int r = 0; r < counts[k]; r++) {
                    s += dz[(size_t)r * out + o];
                }
                db[o] = k ? db[o] + s : s;
            }
        }
        finite = finite && dg_floats_finite(db, (size_t)out);
        spans[1] = (dg_span){l->param_offset + l->n_weights, (size_t)out, 1, 0};
    }
    return finite;
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
    .batch_grad_parts = dense_batch_grad_parts,
    .batch_grads = dense_batch_grads,
};
