/*
 * conv2d.c - 2-D convolution, stride 1, valid padding, optional fused ReLU.
 *
 * Legend: N batch, C input channels, O output channels, K kernel side, H/W input size,
 * P = OH*OW output positions, OH = H-K+1, OW = W-K+1.
 *   x [N][C][H][W]   w [O][C][K][K]   b [O]   y [N][O][OH][OW]
 *   y[n][o][i][j] = b[o] + sum_{c,u,v} w[o][c][u][v] * x[n][c][i+u][j+v]
 *
 * With the AVX-512 kernels nothing is gathered: forward is conv_avx512.c, which reads K
 * shifted copies of each example's input; backward (conv_grad_avx512.c) takes the weight gradient
 * from the input in place and the output gradient transposed, and the input gradient by scattering
 * each output position's gradient through the weights, one [O][C] matrix per tap. Otherwise, per
 * chunk of N examples (as many as keep the chunk's work in the L2 cache): im2col gathers the input
 * patches of all N into col [C*K*K][N*P], then one GEMM gives w (O x CKK) * col = [O][N*P], copied
 * into y with bias and ReLU; backward uses dw += dz * col^T and dcol = w^T * dz over all N at once,
 * then col2im. The plain loops (conv_*_ref) stay beside them as the reference the fast paths are
 * checked against. In bf16 training (ctx->bf16) the forward pass is conv_bf16.c's and,
 * where they gain (dg_conv_bf16_backward_pays: not a first layer of one channel), the
 * gradients conv_grad_bf16.c's: the same shapes of kernels with pairs of bf16 in a word.
 * Followed by 2x2 max pooling (pools_above), a training forward writes the pooled output and
 * argmax into the pooling's buffers (ctx->pooled) instead of y: the fast kernels pool each
 * block of planes as they store it, the others pool y after.
 */
#include "nn/cpu/cpu.h"
#include "nn/net.h"

#include <stdio.h>
#include <string.h>

/* "OUT K [pad P] [relu]" */
static bool conv_parse(dg_layer *l, char **words, int n)
{
    n = dg_spec_take_relu(l, words, n);
    if (n == 4 && (strcmp(words[2], "pad") || !dg_spec_int(words[3], &l->pad))) {
        return false;
    }
    return (n == 2 || n == 4) && dg_spec_int(words[0], &l->units) &&
           dg_spec_kernel(words[1], &l->k);
}

static void conv_describe(const dg_layer *l, char *buf, size_t size)
{
    char pad[24] = "";
    if (l->pad) {
        snprintf(pad, sizeof pad, " pad %d", l->pad);
    }
    snprintf(buf, size, "conv %d %d%s%s", l->units, l->k, pad, l->relu ? " relu" : "");
}

/* A weight connects one of C*K*K inputs to one of O*K*K outputs. */
static void conv_fans(const dg_layer *l, double *fan_in, double *fan_out)
{
    size_t field = (size_t)l->k * l->k;
    *fan_in = (double)l->in.c * (double)field;
    *fan_out = (double)l->units * (double)field;
}

static dg_status conv_init(dg_layer *l)
{
    if (l->units < 1 || l->units > 4096) {
        return dg_fail(DG_ERR_ARG, "%d output channels (want 1..4096)", l->units);
    }
    if (l->k < 1 || l->k % 2 == 0) {
        return dg_fail(DG_ERR_ARG, "kernel size %d (want an odd size >= 1)", l->k);
    }
    if (l->pad < 0 || l->pad >= l->k) {
        return dg_fail(DG_ERR_ARG, "padding %d (want 0..%d for a kernel of %d)", l->pad, l->k - 1,
                       l->k);
    }
    int h = l->in.h + 2 * l->pad, w = l->in.w + 2 * l->pad;
    if (l->k > h || l->k > w) {
        return dg_fail(DG_ERR_ARG, "kernel %dx%d larger than its %dx%d input", l->k, l->k, h, w);
    }
    l->out = (dg_shape){l->units, h - l->k + 1, w - l->k + 1};
    l->n_weights = (size_t)l->units * l->in.c * l->k * l->k;
    l->n_bias = (size_t)l->units;
    l->aux_bytes_per_item = 0;
    return DG_OK;
}

/* Bytes of scratch one chunk of examples may use: the patches and products of a chunk
 * stay in the L2 cache between im2col, the GEMM and the copy back. */
#define CHUNK_BYTES (768u * 1024u)

/* Examples per chunk (at least one). */
static int conv_chunk(const dg_layer *l)
{
    size_t ckk = (size_t)l->in.c * l->k * l->k;
    size_t per_example = (2 * ckk + (size_t)l->units) * l->out.h * l->out.w * sizeof(float);
    size_t chunk = CHUNK_BYTES / per_example;
    return chunk < 1 ? 1 : chunk > 1024 ? 1024 : (int)chunk;
}

/* A padded convolution runs as a valid one over a zero-padded copy of its input: the same
 * layer seen with that input. */
static dg_layer padded_view(const dg_layer *l)
{
    dg_layer v = *l;
    v.in.h += 2 * l->pad;
    v.in.w += 2 * l->pad;
    v.pad = 0;
    return v;
}

static size_t conv_scratch_floats(const dg_layer *l, int n);

/* Scratch of a padded convolution: the padded input [N][C][H+2P][W+2P], for backward also
 * its gradient, then the valid convolution's own scratch. */
static size_t padded_scratch_floats(const dg_layer *l, int n)
{
    dg_layer v = padded_view(l);
    return 2 * (size_t)n * dg_shape_size(v.in) + conv_scratch_floats(&v, n);
}

/* Floats rounded up to whole 64-byte lines, so that each part of the scratch starts on one. */
static size_t whole_lines(size_t floats)
{
    return (floats + 15) / 16 * 16;
}

/* The layer as the convolution kernels see it. */
static dg_conv_args conv_args(const dg_layer *l)
{
    return (dg_conv_args){l->in, l->out, l->units, l->k, l->relu, l->w, l->b, 0, 0};
}

/* The layer as its gradients' kernels see it: with 2x2 max pooling above, an odd last row
 * and column have no gradient, and the products skip them. */
static dg_conv_args grad_args(const dg_layer *l)
{
    dg_conv_args args = conv_args(l);
    if (l->pools_above) {
        args.live_h = l->out.h / 2 * 2;
        args.live_w = l->out.w / 2 * 2;
    }
    return args;
}

/* Scratch of the backward pass without im2col: the output gradient transposed
 * [N][P][O], one example's [O][P], the input gradient with the channels last [H*W][C], the
 * weights one matrix per tap [K][K][O][C]; for a layer of few patch rows, the bf16 copies
 * its weight gradient takes in bf16 training. */
static size_t window_backward_floats(const dg_layer *l, int n)
{
    size_t positions = (size_t)l->units * l->out.h * l->out.w;
    size_t taps = (size_t)l->in.c * l->units * l->k * l->k;
    dg_conv_args args = conv_args(l);
    size_t dots_bf16 =
        dg_conv_bf16_backward_pays(&args) ? 0 : dg_conv_weight_grad_dots_bf16_work_floats(&args, n);
    return whole_lines((size_t)n * positions) + whole_lines(positions) +
           whole_lines(dg_shape_size(l->in)) + whole_lines(taps) + dots_bf16;
}

static size_t conv_scratch_floats(const dg_layer *l, int n)
{
    if (l->pad) {
        return padded_scratch_floats(l, n);
    }
    size_t ckk = (size_t)l->in.c * l->k * l->k;
    int chunk = conv_chunk(l);
    size_t np = (size_t)(n < chunk ? n : chunk) * l->out.h * l->out.w;
    /* col and dcol [CKK][C*P], and the GEMM output or dz [O][C*P], C examples a chunk */
    size_t im2col_floats = (2 * ckk + (size_t)l->units) * np;
    size_t window_floats = window_backward_floats(l, n);
    size_t floats = im2col_floats > window_floats ? im2col_floats : window_floats;
    /* or the bf16 passes' paired copies */
    dg_conv_args args = conv_args(l);
    /* (followed by a block of planes to pool when 2x2 max pooling comes next) */
    size_t block = dg_conv_pooled_block_floats(&args);
    size_t bf16 = dg_conv_bf16_work_floats(&args) + block;
    floats = floats > bf16 ? floats : bf16;
    bf16 = dg_conv_bf16_backward_work_floats(&args, n);
    floats = floats > bf16 ? floats : bf16;
#if defined(__AVX512F__)
    /* or the shifted copies of one example's input, for the forward pass */
    size_t shifted = whole_lines(dg_conv_shifted_floats(&args)) + block;
    floats = floats > shifted ? floats : shifted;
#endif
    return floats;
}
/* col[c*K*K + u*K + v][i*OW + j] = x[c][i+u][j+v]; rows of col are ld floats apart */
static void im2col(const dg_layer *l, const float *x, float *col, size_t ld)
{
    int k = l->k, oh = l->out.h, ow = l->out.w, h = l->in.h, w = l->in.w;
    for (int c = 0; c < l->in.c; c++) {
        for (int u = 0; u < k; u++) {
            for (int v = 0; v < k; v++) {
                float *row = col + ((size_t)(c * k + u) * k + v) * ld;
                const float *src = x + ((size_t)c * h + u) * w + v;
                for (int i = 0; i < oh; i++) {
                    dg_copy_floats(row + (size_t)i * ow, src + (size_t)i * w, ow);
                }
            }
        }
    }
}

/* dx[c][i+u][j+v] += dcol[c*K*K + u*K + v][i*OW + j]; dx zeroed by the caller */
static void col2im(const dg_layer *l, const float *dcol, size_t ld, float *dx)
{
    int k = l->k, oh = l->out.h, ow = l->out.w, h = l->in.h, w = l->in.w;
    for (int c = 0; c < l->in.c; c++) {
        for (int u = 0; u < k; u++) {
            for (int v = 0; v < k; v++) {
                const float *row = dcol + ((size_t)(c * k + u) * k + v) * ld;
                float *dst = dx + ((size_t)c * h + u) * w + v;
                for (int i = 0; i < oh; i++) {
                    dg_add_floats(dst + (size_t)i * w, row + (size_t)i * ow, ow);
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

/* out [O][NP] = w [O][CKK] * col [CKK][NP], columns of out split across threads in
 * multiples of 16, so each thread packs only its own part of col. */
typedef struct conv_cols {
    const dg_layer *l;
    const float *col;
    float *out;
    int np;
    dg_gemm_fn gemm; /* dg_sgemm, or dg_gemm_bf16 in bf16 training */
} conv_cols;

static void conv_cols_task(void *arg, int t, int n_threads)
{
    const conv_cols *a = arg;
    int ckk = a->l->in.c * a->l->k * a->l->k;
    int blocks = (a->np + 15) / 16;
    int j0 = 16 * (blocks * t / n_threads), j1 = 16 * (blocks * (t + 1) / n_threads);
    j1 = j1 < a->np ? j1 : a->np;
    if (j1 > j0) {
        a->gemm(false, false, a->l->units, j1 - j0, ckk, 1.0f, a->l->w, ckk, a->col + j0, a->np,
                0.0f, a->out + j0, a->np);
    }
}

static void conv_forward_chunk(const dg_layer *l, const float *x, float *y, int n,
                               dg_layer_ctx *ctx)
{
    int ckk = l->in.c * l->k * l->k, p = l->out.h * l->out.w, o_count = l->units;
    size_t np = (size_t)n * p;
    size_t in_size = dg_shape_size(l->in), out_size = dg_shape_size(l->out);
    float *col = ctx->scratch;           /* [CKK][N*P] */
    float *out = col + (size_t)ckk * np; /* [O][N*P] */
    for (int b = 0; b < n; b++) {
        im2col(l, x + (size_t)b * in_size, col + (size_t)b * p, np);
    }
    /* one product for the whole slice: the weights are packed once */
    conv_cols cols = {l, col, out, (int)np, dg_gemm_for(ctx->bf16)};
    if (ctx->pool) {
        dg_pool_run(ctx->pool, conv_cols_task, &cols);
    } else {
        conv_cols_task(&cols, 0, 1);
    }
    for (int b = 0; b < n; b++) {
        float *yb = y + (size_t)b * out_size;
        for (int o = 0; o < o_count; o++) {
            memcpy(yb + (size_t)o * p, out + (size_t)o * np + (size_t)b * p,
                   (size_t)p * sizeof(float));
        }
        dg_bias_relu_rows(yb, l->b, o_count, p, l->relu);
    }
}

static void conv_backward_chunk(const dg_layer *l, const float *x, const float *y, const float *dy,
                                float *dx, int n, dg_layer_ctx *ctx)
{
    float *dw = ctx->dparams + l->param_offset;
    float *db = dw + l->n_weights;
    int ckk = l->in.c * l->k * l->k, p = l->out.h * l->out.w, o_count = l->units;
    size_t np = (size_t)n * p;
    size_t in_size = dg_shape_size(l->in), out_size = dg_shape_size(l->out);
    float *col = ctx->scratch;            /* [CKK][N*P] */
    float *dcol = col + (size_t)ckk * np; /* [CKK][N*P] */
    float *dz = dcol + (size_t)ckk * np;  /* [O][N*P] */
    /* when the pooling above took the ReLU's gradient already, dy is dz as it is (and y,
     * which a training forward that pooled as it stored did not write, is not read) */
    bool masked = l->relu && !l->relu_applied_above;
    for (int o = 0; o < o_count; o++) {
        float s = 0.0f;
        for (int b = 0; b < n; b++) {
            size_t at = (size_t)b * out_size + (size_t)o * p;
            s += dg_relu_grad_sum(y + at, dy + at, dz + (size_t)o * np + (size_t)b * p, p, masked);
        }
        db[o] += s;
    }
    for (int b = 0; b < n; b++) {
        im2col(l, x + (size_t)b * in_size, col + (size_t)b * p, np);
    }
    dg_gemm_fn gemm = dg_gemm_for(ctx->bf16);
    gemm(false, true, o_count, ckk, (int)np, 1.0f, dz, (int)np, col, (int)np, 1.0f, dw, ckk);
    if (dx) {
        gemm(true, false, ckk, (int)np, o_count, 1.0f, l->w, ckk, dz, (int)np, 0.0f, dcol, (int)np);
        memset(dx, 0, (size_t)n * in_size * sizeof(float));
        for (int b = 0; b < n; b++) {
            col2im(l, dcol + (size_t)b * p, np, dx + (size_t)b * in_size);
        }
    }
}

#if defined(__AVX512F__)
/* The forward pass without im2col (conv_avx512.c) of one example, whose input is already
 * in its shifted copies: tiles split across threads. */
typedef struct conv_window {
    dg_conv_args l;
    const float *xs;
    float *y;
} conv_window;

static void conv_window_task(void *arg, int t, int n_threads)
{
    const conv_window *a = arg;
    int tiles = dg_conv_window_tiles(&a->l);
    int first = (int)((long)tiles * t / n_threads), end = (int)((long)tiles * (t + 1) / n_threads);
    dg_conv_window_avx512(&a->l, a->xs, a->y, first, end);
}

/* With pooled (not NULL): only the 2x2 max pooling of the output, pooled
 * [N][O][OH/2][OW/2] and its argmax arg, y not written. */
static void conv_forward_window(const dg_conv_args *args, const float *x, float *y, float *pooled,
                                int32_t *arg, int n, dg_layer_ctx *ctx)
{
    size_t in_size = dg_shape_size(args->in), out_size = dg_shape_size(args->out);
    size_t pooled_size = (size_t)args->units * (args->out.h / 2) * (args->out.w / 2);
    float *xs = ctx->scratch;                                      /* [K][C][H][OW] */
    float *block = xs + whole_lines(dg_conv_shifted_floats(args)); /* [8][2*(OH/2)*OW] */
    for (int b = 0; b < n; b++) {
        dg_conv_shift_input(args, x + (size_t)b * in_size, xs);
        if (pooled) {
            size_t at = (size_t)b * pooled_size;
            dg_conv_window_pooled_avx512(args, xs, block, pooled + at, arg + at);
            continue;
        }
        conv_window window = {*args, xs, y + (size_t)b * out_size};
        if (ctx->pool) {
            dg_pool_run(ctx->pool, conv_window_task, &window);
        } else {
            conv_window_task(&window, 0, 1);
        }
    }
}

/* Backward without im2col, one example at a time: dz = dy through the ReLU [O][P], kept
 * transposed [P][O] for the weight gradient, which reads x in place once every example's
 * is there; the input gradient from dz and the weights one matrix per tap,
 *   dx[c][i+u][j+v] += sum over o of dz[o][i][j] * w[o][c][u][v]
 * (conv_grad_avx512.c). */
static void conv_backward_window(const dg_layer *l, const float *x, const float *y, const float *dy,
                                 float *dx, int n, dg_layer_ctx *ctx)
{
    float *dw = ctx->dparams + l->param_offset;
    float *db = dw + l->n_weights;
    int k = l->k, o_count = l->units;
    int p = l->out.h * l->out.w;
    size_t out_size = dg_shape_size(l->out), in_size = dg_shape_size(l->in);
    float *dz_t = ctx->scratch;                           /* [N][P][O] */
    float *dz = dz_t + whole_lines((size_t)n * out_size); /* [O][P] */
    float *dx_t = dz + whole_lines(out_size);             /* [H*W][C] */
    float *w_taps = dx_t + whole_lines(in_size);          /* [K][K][O][C] */
    float *dots_work = w_taps + whole_lines((size_t)l->in.c * o_count * k * k);
    dg_conv_args args = grad_args(l);
    args.relu = false;
    if (dx) {
        dg_conv_weight_taps_avx512(&args, w_taps);
    }
    /* when the pooling above took the ReLU's gradient already, dy is dz as it is */
    bool masked = l->relu && !l->relu_applied_above;
    /* few patch rows: dz kept as it is for every example, in dz_t's place, not transposed */
    bool by_dots = dg_conv_weight_grad_by_dots(&args);
    /* in bf16 training such a layer's weight gradient is taken by bf16 dot products, which
     * also sum the bias gradient when dz is dy as it is: no pass of its own over dy */
    bool dots_bf16 = by_dots && ctx->bf16 && dg_bf16_available();
    for (int b = 0; b < n; b++) {
        size_t at = (size_t)b * out_size;
        float *dzb = masked ? (by_dots ? dz_t + at : dz) : NULL;
        if (masked || !dots_bf16) {
            dg_conv_output_grad_avx512(y + at, dy + at, o_count, p, masked, dzb,
                                       by_dots ? NULL : dz_t + at, db);
        }
        if (dx) {
            dg_conv_input_grad_avx512(&args, dzb ? dzb : dy + at, w_taps, dx + (size_t)b * in_size,
                                      dx_t);
        }
    }
    if (dots_bf16) {
        dg_conv_weight_grad_dots_bf16(&args, x, masked ? dz_t : dy, n, dw, masked ? NULL : db,
                                      dots_work);
    } else if (by_dots) {
        dg_conv_weight_grad_dots_avx512(&args, x, masked ? dz_t : dy, n, dw);
    } else {
        dg_conv_weight_grad_avx512(&args, x, dz_t, n, dw);
    }
}
#endif

/* xp[n][C][H+2P][W+2P]: x with P zeros around each plane. */
static void pad_input(const dg_layer *l, const float *x, float *xp, int n)
{
    int p = l->pad, h = l->in.h, w = l->in.w, hp = h + 2 * p, wp = w + 2 * p;
    size_t planes = (size_t)n * l->in.c;
    memset(xp, 0, planes * hp * wp * sizeof(float));
    for (size_t pl = 0; pl < planes; pl++) {
        for (int i = 0; i < h; i++) {
            memcpy(xp + (pl * hp + (size_t)(i + p)) * wp + p, x + (pl * h + (size_t)i) * w,
                   (size_t)w * sizeof(float));
        }
    }
}

/* dx[n][C][H][W]: the inside of the padded input's gradient dxp. */
static void crop_grad(const dg_layer *l, const float *dxp, float *dx, int n)
{
    int p = l->pad, h = l->in.h, w = l->in.w, hp = h + 2 * p, wp = w + 2 * p;
    size_t planes = (size_t)n * l->in.c;
    for (size_t pl = 0; pl < planes; pl++) {
        for (int i = 0; i < h; i++) {
            memcpy(dx + (pl * h + (size_t)i) * w, dxp + (pl * hp + (size_t)(i + p)) * wp + p,
                   (size_t)w * sizeof(float));
        }
    }
}

static void conv_forward_valid(const dg_layer *l, const float *x, float *y, int n,
                               dg_layer_ctx *ctx);
static void conv_backward_valid(const dg_layer *l, const float *x, const float *y, const float *dy,
                                float *dx, int n, dg_layer_ctx *ctx);

static void conv_forward(const dg_layer *l, const float *x, float *y, int n, dg_layer_ctx *ctx)
{
    if (!l->pad) {
        conv_forward_valid(l, x, y, n, ctx);
        return;
    }
    dg_layer v = padded_view(l);
    dg_layer_ctx inner = *ctx;
    float *xp = ctx->scratch; /* [N][C][H+2P][W+2P] */
    inner.scratch = xp + 2 * (size_t)n * dg_shape_size(v.in);
    pad_input(l, x, xp, n);
    conv_forward_valid(&v, xp, y, n, &inner);
}

static void conv_backward(const dg_layer *l, const float *x, const float *y, const float *dy,
                          float *dx, int n, dg_layer_ctx *ctx)
{
    if (!l->pad) {
        conv_backward_valid(l, x, y, dy, dx, n, ctx);
        return;
    }
    dg_layer v = padded_view(l);
    dg_layer_ctx inner = *ctx;
    size_t padded = (size_t)n * dg_shape_size(v.in);
    float *xp = ctx->scratch, *dxp = xp + padded; /* each [N][C][H+2P][W+2P] */
    inner.scratch = dxp + padded;
    pad_input(l, x, xp, n);
    conv_backward_valid(&v, xp, y, dy, dx ? dxp : NULL, n, &inner);
    if (dx) {
        crop_grad(l, dxp, dx, n);
    }
}

/* 2x2 max pooling of y [N][O][OH][OW] into pooled [N][O][OH/2][OW/2] and its argmax arg:
 * the pooling above on kernels that do not pool as they store. */
static void pool_output(const dg_layer *l, const float *y, int n, float *pooled, int32_t *arg)
{
    int oh = l->out.h, ow = l->out.w;
    size_t planes = (size_t)n * l->units, plane = (size_t)oh * ow;
    size_t pooled_plane = (size_t)(oh / 2) * (ow / 2);
    for (size_t pl = 0; pl < planes; pl++) {
        dg_maxpool2_plane(y + pl * plane, pooled + pl * pooled_plane, arg + pl * pooled_plane, ow,
                          oh / 2, ow / 2);
    }
}

static void conv_forward_valid(const dg_layer *l, const float *x, float *y, int n,
                               dg_layer_ctx *ctx)
{
    if (ctx->reference) {
        conv_forward_ref(l, x, y, n);
        return;
    }
    dg_conv_args args = conv_args(l);
    /* the 2x2 max pooling above done here: its output and argmax instead of y */
    float *pooled = l->pools_above && dg_pool_fused(ctx) ? ctx->pooled : NULL;
    int32_t *arg = pooled ? ctx->pooled_aux : NULL;
    if (ctx->bf16 && (pooled ? dg_conv_forward_pooled_bf16(&args, x, pooled, arg, n, ctx->scratch)
                             : dg_conv_forward_bf16(&args, x, y, n, ctx->scratch))) {
        return;
    }
#if defined(__AVX512F__)
    if (dg_avx512_active()) {
        conv_forward_window(&args, x, y, pooled, arg, n, ctx);
        return;
    }
#endif
    int chunk = conv_chunk(l);
    size_t in_size = dg_shape_size(l->in), out_size = dg_shape_size(l->out);
    for (int b = 0; b < n; b += chunk) {
        int m = n - b < chunk ? n - b : chunk;
        conv_forward_chunk(l, x + (size_t)b * in_size, y + (size_t)b * out_size, m, ctx);
    }
    if (pooled) {
        pool_output(l, y, n, pooled, arg);
    }
}

static void conv_backward_valid(const dg_layer *l, const float *x, const float *y, const float *dy,
                                float *dx, int n, dg_layer_ctx *ctx)
{
    if (ctx->reference) {
        float *dw = ctx->dparams + l->param_offset;
        conv_backward_ref(l, x, y, dy, dx, n, dw, dw + l->n_weights);
        return;
    }
    dg_conv_args args = grad_args(l);
    bool bf16 = ctx->bf16 && dg_conv_bf16_backward_pays(&args);
    if (bf16) {
        float *dw = ctx->dparams + l->param_offset;
        /* when the pooling above took the ReLU's gradient already, dy is dz as it is */
        bool masked = l->relu && !l->relu_applied_above;
        if (dg_conv_backward_bf16(&args, x, y, dy, dx, n, masked, dw, dw + l->n_weights,
                                  ctx->scratch)) {
            return;
        }
    }
#if defined(__AVX512F__)
    if (dg_avx512_active() && !bf16) {
        conv_backward_window(l, x, y, dy, dx, n, ctx);
        return;
    }
#endif
    int chunk = conv_chunk(l);
    size_t in_size = dg_shape_size(l->in), out_size = dg_shape_size(l->out);
    for (int b = 0; b < n; b += chunk) {
        int m = n - b < chunk ? n - b : chunk;
        conv_backward_chunk(l, x + (size_t)b * in_size, y + (size_t)b * out_size,
                            dy + (size_t)b * out_size, dx ? dx + (size_t)b * in_size : NULL, m,
                            ctx);
    }
}

const dg_layer_ops dg_conv2d_ops = {
    .id = 1,
    .name = "conv",
    .parse = conv_parse,
    .usage = "OUT K [pad P] [relu]",
    .example = "conv 32 3 relu",
    .describe = conv_describe,
    .fans = conv_fans,
    .init = conv_init,
    .scratch_floats = conv_scratch_floats,
    .forward = conv_forward,
    .backward = conv_backward,
    .can_pool_output = true,
};
