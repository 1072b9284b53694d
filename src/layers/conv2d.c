/*
 * conv2d.c - 2-D convolution, stride 1, valid padding, optional fused ReLU.
 *
 * Legend: N batch, C input channels, O output channels, K kernel side, H/W input size,
 * P = OH*OW output positions, OH = H-K+1, OW = W-K+1.
 *   x [N][C][H][W]   w [O][C][K][K]   b [O]   y [N][O][OH][OW]
 *   y[n][o][i][j] = b[o] + sum_{c,u,v} w[o][c][u][v] * x[n][c][i+u][j+v]
 *
 * Fast path, per example: im2col gathers the input patches into col [C*K*K][P], then
 * one GEMM gives y = w (O x CKK) * col; backward uses dw += dz * col^T and
 * dcol = w^T * dz followed by col2im. The plain loops (conv_*_ref) stay beside it as the
 * reference the fast path is checked against.
 */
#include "net.h"

#include <string.h>

static dg_status conv_init(dg_layer *l)
{
    if (l->units < 1 || l->units > 4096) {
        return dg_fail(DG_ERR_ARG, "conv: %d output channels (want 1..4096)", l->units);
    }
    if (l->k < 1 || l->k % 2 == 0) {
        return dg_fail(DG_ERR_ARG, "conv: kernel size %d (want an odd size >= 1)", l->k);
    }
    if (l->k > l->in.h || l->k > l->in.w) {
        return dg_fail(DG_ERR_ARG, "conv: kernel %dx%d larger than its %dx%d input", l->k, l->k,
                       l->in.h, l->in.w);
    }
    l->out = (dg_shape){l->units, l->in.h - l->k + 1, l->in.w - l->k + 1};
    l->n_weights = (size_t)l->units * l->in.c * l->k * l->k;
    l->n_bias = (size_t)l->units;
    l->aux_bytes_per_item = 0;
    return DG_OK;
}

static size_t conv_scratch_floats(const dg_layer *l, int n)
{
    (void)n;
    size_t ckk = (size_t)l->in.c * l->k * l->k;
    size_t p = (size_t)l->out.h * l->out.w;
    /* col, dcol (or dz) for one example */
    return 2 * ckk * p + (size_t)l->units * p;
}

/* col[c*K*K + u*K + v][i*OW + j] = x[c][i+u][j+v] */
static void im2col(const dg_layer *l, const float *x, float *col)
{
    int k = l->k, oh = l->out.h, ow = l->out.w, h = l->in.h, w = l->in.w;
    for (int c = 0; c < l->in.c; c++) {
        for (int u = 0; u < k; u++) {
            for (int v = 0; v < k; v++) {
                float *row = col + ((size_t)(c * k + u) * k + v) * oh * ow;
                const float *src = x + ((size_t)c * h + u) * w + v;
                for (int i = 0; i < oh; i++) {
                    memcpy(row + (size_t)i * ow, src + (size_t)i * w, (size_t)ow * sizeof(float));
                }
            }
        }
    }
}

/* dx[c][i+u][j+v] += dcol[c*K*K + u*K + v][i*OW + j]; dx zeroed by the caller */
static void col2im(const dg_layer *l, const float *dcol, float *dx)
{
    int k = l->k, oh = l->out.h, ow = l->out.w, h = l->in.h, w = l->in.w;
    for (int c = 0; c < l->in.c; c++) {
        for (int u = 0; u < k; u++) {
            for (int v = 0; v < k; v++) {
                const float *row = dcol + ((size_t)(c * k + u) * k + v) * oh * ow;
                float *dst = dx + ((size_t)c * h + u) * w + v;
                for (int i = 0; i < oh; i++) {
                    const float *r = row + (size_t)i * ow;
                    float *d = dst + (size_t)i * w;
                    for (int j = 0; j < ow; j++) {
                        d[j] += r[j];
                    }
                }
            }
        }
    }
}

static void conv_forward_ref(const dg_layer *l, const float *x, float *y, int n)
{
    int C = l->in.c, H = l->in.h, W = l->in.w, O = l->units, K = l->k;
    int OH = l->out.h, OW = l->out.w;
    for (int b = 0; b < n; b++) {
        const float *xb = x + (size_t)b * C * H * W;
        float *yb = y + (size_t)b * O * OH * OW;
        for (int o = 0; o < O; o++) {
            for (int i = 0; i < OH; i++) {
                for (int j = 0; j < OW; j++) {
                    float s = l->b[o];
                    for (int c = 0; c < C; c++) {
                        for (int u = 0; u < K; u++) {
                            for (int v = 0; v < K; v++) {
                                s += l->w[((o * C + c) * K + u) * K + v] *
                                     xb[(c * H + i + u) * W + j + v];
                            }
                        }
                    }
                    yb[(o * OH + i) * OW + j] = (l->relu && s < 0.0f) ? 0.0f : s;
                }
            }
        }
    }
}

static void conv_backward_ref(const dg_layer *l, const float *x, const float *y, const float *dy,
                              float *dx, int n, float *dw, float *db)
{
    int C = l->in.c, H = l->in.h, W = l->in.w, O = l->units, K = l->k;
    int OH = l->out.h, OW = l->out.w;
    if (dx) {
        memset(dx, 0, (size_t)n * C * H * W * sizeof(float));
    }
    for (int b = 0; b < n; b++) {
        const float *xb = x + (size_t)b * C * H * W;
        for (int o = 0; o < O; o++) {
            for (int i = 0; i < OH; i++) {
                for (int j = 0; j < OW; j++) {
                    size_t at = (((size_t)b * O + o) * OH + i) * OW + j;
                    float g = dy[at];
                    if (l->relu && y[at] <= 0.0f) {
                        g = 0.0f;
                    }
                    db[o] += g;
                    for (int c = 0; c < C; c++) {
                        for (int u = 0; u < K; u++) {
                            for (int v = 0; v < K; v++) {
                                size_t xi = ((size_t)c * H + i + u) * W + j + v;
                                dw[((o * C + c) * K + u) * K + v] += g * xb[xi];
                                if (dx) {
                                    dx[(size_t)b * C * H * W + xi] +=
                                        g * l->w[((o * C + c) * K + u) * K + v];
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/* dz = dy where y > 0 (or everywhere without ReLU); returns the sum of dz. Sixteen
 * running sums, one per lane, so the loop vectorises without reordering any one sum. */
static float mask_and_sum(const float *restrict y, const float *restrict dy, float *restrict dz,
                          int p, bool relu)
{
    enum { LANES = 16 };
    float acc[LANES] = {0};
    int j = 0;
    for (; j + LANES <= p; j += LANES) {
        for (int i = 0; i < LANES; i++) {
            float g = (relu && y[j + i] <= 0.0f) ? 0.0f : dy[j + i];
            dz[j + i] = g;
            acc[i] += g;
        }
    }
    float s = 0.0f;
    for (; j < p; j++) {
        float g = (relu && y[j] <= 0.0f) ? 0.0f : dy[j];
        dz[j] = g;
        s += g;
    }
    for (int i = 0; i < LANES; i++) {
        s += acc[i];
    }
    return s;
}

static void conv_forward(const dg_layer *l, const float *x, float *y, int n, dg_layer_ctx *ctx)
{
    if (ctx->reference) {
        conv_forward_ref(l, x, y, n);
        return;
    }
    int ckk = l->in.c * l->k * l->k, p = l->out.h * l->out.w;
    size_t in_size = dg_shape_size(l->in), out_size = dg_shape_size(l->out);
    float *col = ctx->scratch; /* [CKK][P] */
    for (int b = 0; b < n; b++) {
        const float *xb = x + (size_t)b * in_size;
        float *yb = y + (size_t)b * out_size;
        if (l->k == 1) {
            dg_sgemm(false, false, l->units, p, ckk, 1.0f, l->w, ckk, xb, p, 0.0f, yb, p);
        } else {
            im2col(l, xb, col);
            dg_sgemm(false, false, l->units, p, ckk, 1.0f, l->w, ckk, col, p, 0.0f, yb, p);
        }
        dg_bias_relu_rows(yb, l->b, l->units, p, l->relu);
    }
}

static void conv_backward(const dg_layer *l, const float *x, const float *y, const float *dy,
                          float *dx, int n, dg_layer_ctx *ctx)
{
    float *dw = ctx->dparams + l->param_offset;
    float *db = dw + l->n_weights;
    if (ctx->reference) {
        conv_backward_ref(l, x, y, dy, dx, n, dw, db);
        return;
    }
    int ckk = l->in.c * l->k * l->k, p = l->out.h * l->out.w, o_count = l->units;
    size_t in_size = dg_shape_size(l->in), out_size = dg_shape_size(l->out);
    float *col = ctx->scratch;                /* [CKK][P] */
    float *dcol = col + (size_t)ckk * p;      /* [CKK][P] */
    float *dz = dcol + (size_t)ckk * p;       /* [O][P] */
    for (int b = 0; b < n; b++) {
        const float *xb = x + (size_t)b * in_size;
        const float *yb = y + (size_t)b * out_size;
        const float *dyb = dy + (size_t)b * out_size;
        for (int o = 0; o < o_count; o++) {
            size_t at = (size_t)o * p;
            db[o] += mask_and_sum(yb + at, dyb + at, dz + at, p, l->relu);
        }
        const float *patches = xb;
        if (l->k != 1) {
            im2col(l, xb, col);
            patches = col;
        }
        dg_sgemm(false, true, o_count, ckk, p, 1.0f, dz, p, patches, p, 1.0f, dw, ckk);
        if (dx) {
            float *dxb = dx + (size_t)b * in_size;
            if (l->k == 1) {
                dg_sgemm(true, false, ckk, p, o_count, 1.0f, l->w, ckk, dz, p, 0.0f, dxb, p);
            } else {
                dg_sgemm(true, false, ckk, p, o_count, 1.0f, l->w, ckk, dz, p, 0.0f, dcol, p);
                memset(dxb, 0, in_size * sizeof(float));
                col2im(l, dcol, dxb);
            }
        }
    }
}

const dg_layer_ops dg_conv2d_ops = {
    .id = 1,
    .name = "conv",
    .init = conv_init,
    .scratch_floats = conv_scratch_floats,
    .forward = conv_forward,
    .backward = conv_backward,
};
