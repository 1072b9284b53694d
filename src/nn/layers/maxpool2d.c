/*
 * maxpool2d.c - max pooling over non-overlapping KxK windows (stride K, floor).
 *
 * Legend: N batch, C channels, H/W input, OH = H/K, OW = W/K.
 *   x [N][C][H][W]  ->  y [N][C][OH][OW];  aux: argmax [N][C][OH][OW] as int32 offsets
 *   into the input plane, so backward routes each gradient to the one input that won.
 * Ties go to the first maximum in row-major window order. Of size 2 after a convolution
 * (pooled_below), the convolution's training forward pools as it stores its output, and
 * this forward has nothing left to do.
 */
#include "nn/cpu/cpu.h"
#include "nn/net.h"

#include <stdio.h>
#include <string.h>

static bool maxpool_parse(dg_layer *l, char **words, int n)
{
    return n == 1 && dg_spec_kernel(words[0], &l->k);
}

static void maxpool_describe(const dg_layer *l, char *buf, size_t size)
{
    snprintf(buf, size, "maxpool %d", l->k);
}

static dg_status maxpool_init(dg_layer *l)
{
    if (l->k < 1 || l->k > l->in.h || l->k > l->in.w) {
        return dg_fail(DG_ERR_ARG, "size %d does not fit its %dx%d input", l->k, l->in.h, l->in.w);
    }
    l->out = (dg_shape){l->in.c, l->in.h / l->k, l->in.w / l->k};
    l->n_weights = 0;
    l->n_bias = 0;
    l->aux_bytes_per_item = dg_shape_size(l->out) * sizeof(int32_t);
    return DG_OK;
}

static size_t maxpool_scratch_floats(const dg_layer *l, int n)
{
    (void)l;
    (void)n;
    return 0;
}

/* 2x2 pooling of planes split across threads; argmax only when training needs it */
typedef struct pool_planes {
    const dg_layer *l;
    const float *x;
    float *y;
    int32_t *arg;
    size_t planes;
} pool_planes;

static void pool_planes_task(void *arg, int t, int n_threads)
{
    const pool_planes *a = arg;
    int h = a->l->in.h, w = a->l->in.w, oh = a->l->out.h, ow = a->l->out.w;
    size_t first = a->planes * t / n_threads, end = a->planes * (t + 1) / n_threads;
    for (size_t pl = first; pl < end; pl++) {
        dg_maxpool2_plane(a->x + pl * h * w, a->y + pl * oh * ow,
                          a->arg ? a->arg + pl * oh * ow : NULL, w, oh, ow);
    }
}

static void maxpool_forward(const dg_layer *l, const float *x, float *y, int n, dg_layer_ctx *ctx)
{
    int k = l->k, h = l->in.h, w = l->in.w, oh = l->out.h, ow = l->out.w;
    int32_t *arg = ctx->aux;
    size_t planes = (size_t)n * l->in.c;
    if (l->pooled_below && dg_pool_fused(ctx)) {
        return; /* the layer below wrote y and the argmax as it stored its output */
    }
    if (k == 2 && !ctx->reference) {
        pool_planes args = {l, x, y, ctx->is_training || ctx->keep_aux ? arg : NULL, planes};
        if (ctx->pool) {
            dg_pool_run(ctx->pool, pool_planes_task, &args);
        } else {
            pool_planes_task(&args, 0, 1);
        }
        return;
    }
    for (size_t pl = 0; pl < planes; pl++) {
        const float *xp = x + pl * h * w;
        float *yp = y + pl * oh * ow;
        int32_t *ap = arg + pl * oh * ow;
        for (int i = 0; i < oh; i++) {
            for (int j = 0; j < ow; j++) {
                int best = (i * k) * w + j * k;
                float m = xp[best];
                for (int u = 0; u < k; u++) {
                    const float *row = xp + (i * k + u) * w + j * k;
                    for (int v = 0; v < k; v++) {
                        if (row[v] > m) {
                            m = row[v];
                            best = (i * k + u) * w + j * k + v;
                        }
                    }
                }
                yp[i * ow + j] = m;
                ap[i * ow + j] = best;
            }
        }
    }
}

static void maxpool_backward(const dg_layer *l, const float *x, const float *y, const float *dy,
                             float *dx, int n, dg_layer_ctx *ctx)
{
    (void)x;
    if (!dx) {
        return;
    }
    size_t in_plane = (size_t)l->in.h * l->in.w, out_plane = (size_t)l->out.h * l->out.w;
    size_t planes = (size_t)n * l->in.c;
    const int32_t *arg = ctx->aux;
    /* below a ReLU: a maximum not above zero is a ReLU output of 0, whose gradient is 0 */
    bool relu = l->input_relu && !ctx->reference;
    /* one pass per plane; on output rows narrower than 8 (half a vector) the scatter after
     * one memset of the whole batch is faster */
    if (l->k == 2 && l->out.w >= 8 && !ctx->reference) {
        for (size_t pl = 0; pl < planes; pl++) {
            dg_maxpool2_grad_plane(dx + pl * in_plane, arg + pl * out_plane, dy + pl * out_plane,
                                   relu ? y + pl * out_plane : NULL, l->in.h, l->in.w, l->out.h,
                                   l->out.w);
        }
        return;
    }
    memset(dx, 0, planes * in_plane * sizeof(float));
    for (size_t pl = 0; pl < planes; pl++) {
        /* windows do not overlap: each input gets at most one output's gradient */
        dg_scatter_floats(dx + pl * in_plane, arg + pl * out_plane, dy + pl * out_plane,
                          relu ? y + pl * out_plane : NULL, (int)out_plane);
    }
}

static bool maxpool_is_pool2(const dg_layer *l)
{
    return l->k == 2;
}

const dg_layer_ops dg_maxpool2d_ops = {
    .id = 2,
    .name = "maxpool",
    .parse = maxpool_parse,
    .usage = "K",
    .example = "maxpool 2",
    .describe = maxpool_describe,
    .init = maxpool_init,
    .scratch_floats = maxpool_scratch_floats,
    .forward = maxpool_forward,
    .backward = maxpool_backward,
    .can_apply_input_relu = true,
    .is_pool2 = maxpool_is_pool2,
};
