/*
 * conv_bf16.c - forward convolution in bf16 training without im2col: conv_avx512.c's
 * shifted copies and register tiles, with pairs of input channels in each 32-bit word so
 * that VDPBF16PS does two multiply-adds per lane.
 *
 * Legend: C input channels, C2 = ceil(C/2) pairs of them, H/W input size, K kernel side,
 * O output channels, OH/OW output size, P = OH*OW output positions, p = i*OW + j.
 *
 * The input is copied once per example, K times, each copy shifted left by one more column
 * and cut to OW columns, as in conv_avx512.c, but rounded to bf16 with channels 2c and 2c+1
 * side by side: xs[c2][v][r][j] = (x[2c2][r][j+v], x[2c2+1][r][j+v]) (the low half the even
 * channel; a channel past an odd C reads as zero). For a tap pair (c2, u, v) the words of
 * consecutive output positions are consecutive at u*OW + p in the plane xs[c2][v]. The
 * weights are rounded and paired the same way once per call, wp[o][c2][u][v] =
 * (w[o][2c2][u][v], w[o][2c2+1][u][v]); VDPBF16PS multiplies the two halves of a word by
 * the two halves of the other and adds both products to the lane's fp32 sum.
 *
 * A layer of fewer than 32 patch rows (a first layer of one channel, whose channel pairs
 * would be half zeros) pairs consecutive patch rows instead, in a copy of its patches,
 * xs[t2][p] = (row 2t2 at p, row 2t2+1 at p), and wp[o][t2] = (w[o][2t2], w[o][2t2+1]): a few
 * rows per position, cheap to gather, and the same tiles read them.
 *
 * A tile is 8 output channels x 48 positions: 24 accumulators, per tap pair three loads,
 * eight broadcast words of weights, 24 VDPBF16PS (twice the multiply-adds of the fp32
 * tile's 24 FMAs); the last tile of a plane has the vectors it needs (1 to 3). Bias and ReLU
 * are applied as the sums are stored. Each output's sum runs over the tap pairs in the same
 * order for every example and call. Followed by 2x2 max pooling, the sums of the rows its
 * windows cover go to a block of ROWS planes, pooled while it is in the L1 cache, as in
 * conv_avx512.c.
 */
#include "nn/cpu/bf16_panels.h"

#include <math.h>

#define ROWS DG_CONV_BLOCK_CHANNELS /* output channels per tile */
#define COLS 48                     /* positions per tile: three vectors */

/* Below this many patch rows (C*K*K) the forward pass pairs consecutive patch rows rather
 * than channels, and the gradients stay on the fp32 kernels. */
#define FEW_ROWS 32

static int patch_rows(const dg_conv_args *l)
{
    return l->in.c * l->k * l->k;
}

/* Whether the layer pairs patch rows: a first layer of one channel, whose channel pairs
 * would be half zeros. */
static bool pairs_rows(const dg_conv_args *l)
{
    return patch_rows(l) < FEW_ROWS;
}

static int channel_pairs(const dg_conv_args *l)
{
    return (l->in.c + 1) / 2;
}

/* Pairs of taps summed by one VDPBF16PS: (c2, u, v), or pairs of patch rows */
static size_t tap_pairs(const dg_conv_args *l)
{
    if (pairs_rows(l)) {
        return (size_t)(patch_rows(l) + 1) / 2;
    }
    return (size_t)channel_pairs(l) * l->k * l->k;
}

/* Words of the paired copies: shifted [C2][K][H][OW], or patch row pairs [CKK/2][P] */
static size_t copies_words(const dg_conv_args *l)
{
    if (pairs_rows(l)) {
        return tap_pairs(l) * l->out.h * l->out.w;
    }
    return (size_t)channel_pairs(l) * l->k * l->in.h * l->out.w;
}

size_t dg_conv_bf16_work_floats(const dg_conv_args *l)
{
    /* the copies, the table of each tap pair's offset in them, the paired weights [O][pairs],
     * in whole 64-byte lines (a pooled block may follow) */
    size_t words = copies_words(l) + tap_pairs(l) + (size_t)l->units * tap_pairs(l);
    return (words + 15) / 16 * 16;
}

bool dg_conv_bf16_backward_pays(const dg_conv_args *l)
{
    /* measured: on a first layer of one channel the bf16 gradients are no faster */
    return !pairs_rows(l);
}

#if defined(DG_HAVE_BF16_KERNELS)

/* The paired shifted copies of one example's input x [C][H][W], and the table of each tap
 * pair's offset in them after the copies. */
BF16_TARGET static void shift_pairs(const dg_conv_args *l, const float *x, uint32_t *xs)
{
    int c_count = l->in.c, h = l->in.h, w = l->in.w, ow = l->out.w, k = l->k;
    int c2n = channel_pairs(l);
    for (int c2 = 0; c2 < c2n; c2++) {
        const float *even = x + (size_t)(2 * c2) * h * w;
        const float *odd = 2 * c2 + 1 < c_count ? even + (size_t)h * w : NULL;
        for (int v = 0; v < k; v++) {
            uint32_t *dst = xs + ((size_t)c2 * k + v) * h * ow;
            for (int r = 0; r < h; r++) {
                for (int j = 0; j < ow; j += 16) {
                    __mmask16 m = lanes(ow - j);
                    size_t at = (size_t)r * w + v + j;
                    __m512 e = _mm512_maskz_loadu_ps(m, even + at);
                    __m512 o = odd ? _mm512_maskz_loadu_ps(m, odd + at) : _mm512_setzero_ps();
                    _mm512_mask_storeu_epi32(dst + (size_t)r * ow + j, m, pair_words(e, o));
                }
            }
        }
    }
    int32_t *at = (int32_t *)(xs + copies_words(l));
    for (int c2 = 0, t = 0; c2 < c2n; c2++) {
        for (int u = 0; u < k; u++) {
            for (int v = 0; v < k; v++, t++) {
                at[t] = (int32_t)((((size_t)c2 * k + v) * h + u) * ow);
            }
        }
    }
}

/* Patch rows paired, xs[t2][p] = (row 2t2 at p, row 2t2+1 at p) with row (c, u, v) at
 * p = i*OW + j being x[c][i+u][j+v] (a row past an odd count reads as zero), and the table
 * of each pair's offset after them. */
BF16_TARGET static void pair_patch_rows(const dg_conv_args *l, const float *x, uint32_t *xs)
{
    int rows = patch_rows(l), k = l->k, kk = k * k, h = l->in.h, w = l->in.w;
    int oh = l->out.h, ow = l->out.w, p = oh * ow, pairs = (int)tap_pairs(l);
    for (int t2 = 0; t2 < pairs; t2++) {
        int r = 2 * t2, c = r / kk, u = r % kk / k, v = r % k;
        const float *even = x + ((size_t)c * h + u) * w + v, *odd = NULL;
        if (r + 1 < rows) {
            c = (r + 1) / kk, u = (r + 1) % kk / k, v = (r + 1) % k;
            odd = x + ((size_t)c * h + u) * w + v;
        }
        uint32_t *dst = xs + (size_t)t2 * p;
        for (int i = 0; i < oh; i++) {
            for (int j = 0; j < ow; j += 16) {
                __mmask16 m = lanes(ow - j);
                size_t at = (size_t)i * w + j;
                __m512 e = _mm512_maskz_loadu_ps(m, even + at);
                __m512 o = odd ? _mm512_maskz_loadu_ps(m, odd + at) : _mm512_setzero_ps();
                _mm512_mask_storeu_epi32(dst + (size_t)i * ow + j, m, pair_words(e, o));
            }
        }
    }
    int32_t *at = (int32_t *)(xs + copies_words(l));
    for (int t2 = 0; t2 < pairs; t2++) {
        at[t2] = t2 * p;
    }
}

/* wp[o][c2][u][v] = (w[o][2c2][u][v], w[o][2c2+1][u][v]) rounded to bf16, or with patch rows
 * paired wp[o][t2] = (w[o][2t2], w[o][2t2+1]): the row's bf16 in order */
BF16_TARGET static void pair_weights(const dg_conv_args *l, uint32_t *wp)
{
    if (pairs_rows(l)) {
        int rows = patch_rows(l), pairs = (int)tap_pairs(l);
        for (int o = 0; o < l->units; o++) {
            const float *row = l->w + (size_t)o * rows;
            for (int t0 = 0; t0 < rows; t0 += 32) {
                int n = rows - t0 < 32 ? rows - t0 : 32;
                _mm512_mask_storeu_epi32(wp + (size_t)o * pairs + t0 / 2, lanes((n + 1) / 2),
                                         bf16_words(row + t0, n));
            }
        }
        return;
    }
    int c_count = l->in.c, kk = l->k * l->k, c2n = channel_pairs(l);
    for (int o = 0; o < l->units; o++) {
        for (int c2 = 0; c2 < c2n; c2++) {
            const float *even = l->w + ((size_t)o * c_count + 2 * c2) * kk;
            bool has_odd = 2 * c2 + 1 < c_count;
            uint32_t *dst = wp + ((size_t)o * c2n + c2) * kk;
            for (int t = 0; t < kk; t += 16) {
                __mmask16 m = lanes(kk - t);
                __m512 e = _mm512_maskz_loadu_ps(m, even + t);
                __m512 od = has_odd ? _mm512_maskz_loadu_ps(m, even + kk + t) : _mm512_setzero_ps();
                _mm512_mask_storeu_epi32(dst + t, m, pair_words(e, od));
            }
        }
    }
}

/* The sums of the tile of channels o0.. and positions p0.. (of the first p_end) over its
 * first nv vectors (a constant where it is inlined), bias and ReLU, stored into the block
 * y [ROWS][ld] of channels o0..: y + r*ld + p holds channel o0 + r at position p. */
BF16_TARGET static inline __attribute__((always_inline)) void
window_tile(const dg_conv_args *l, const uint32_t *xs, const uint32_t *wp, int o0, int p0,
            int p_end, const int nv, float *y, size_t ld)
{
    size_t taps = tap_pairs(l);
    int left = p_end - p0;
    __mmask16 m[3] = {lanes(left), lanes(left - 16), lanes(left - 32)};
    const uint32_t *wr[ROWS];
    for (int r = 0; r < ROWS; r++) {
        /* rows past the last channel repeat the block's first; they are not stored */
        int o = o0 + r < l->units ? o0 + r : o0;
        wr[r] = wp + (size_t)o * taps;
    }
    __m512 acc[ROWS][3];
#pragma GCC unroll 8
    for (int r = 0; r < ROWS; r++) {
#pragma GCC unroll 3
        for (int i = 0; i < nv; i++) {
            acc[r][i] = _mm512_setzero_ps();
        }
    }
    const int32_t *at = (const int32_t *)(xs + copies_words(l));
    const uint32_t *x0 = xs + p0;
    for (size_t t = 0; t < taps; t++) {
        const uint32_t *src = x0 + at[t];
        __m512bh b[3];
#pragma GCC unroll 3
        for (int i = 0; i < nv; i++) {
            b[i] = (__m512bh)_mm512_maskz_loadu_epi32(m[i], src + 16 * i);
        }
#pragma GCC unroll 8
        for (int r = 0; r < ROWS; r++) {
            __m512bh a = (__m512bh)_mm512_set1_epi32((int)wr[r][t]);
#pragma GCC unroll 3
            for (int i = 0; i < nv; i++) {
                acc[r][i] = _mm512_dpbf16_ps(acc[r][i], a, b[i]);
            }
        }
    }
    /* NaN stays NaN under the ReLU, as in the reference's (s < 0 ? 0 : s) */
    __m512 floor = _mm512_set1_ps(l->relu ? 0.0f : -INFINITY);
    int rows = l->units - o0 < ROWS ? l->units - o0 : ROWS;
#pragma GCC unroll 8
    for (int r = 0; r < ROWS; r++) {
        if (r < rows) {
            __m512 bias = _mm512_set1_ps(l->b[o0 + r]);
            float *yr = y + (size_t)r * ld + p0;
#pragma GCC unroll 3
            for (int i = 0; i < nv; i++) {
                __m512 s = _mm512_add_ps(acc[r][i], bias);
                s = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(s, floor, _CMP_LT_OQ), s, floor);
                _mm512_mask_storeu_ps(yr + 16 * i, m[i], s);
            }
        }
    }
}

/* The tile of channels o0.. and positions p0.. of the first p_end, into the block y [ROWS][ld]
 * of channels o0.. */
BF16_TARGET static void window_tile_any(const dg_conv_args *l, const uint32_t *xs,
                                        const uint32_t *wp, int o0, int p0, int p_end, float *y,
                                        size_t ld)
{
    int vectors = (p_end - p0 + 15) / 16;
    if (vectors >= 3) {
        window_tile(l, xs, wp, o0, p0, p_end, 3, y, ld);
    } else if (vectors == 2) {
        window_tile(l, xs, wp, o0, p0, p_end, 2, y, ld);
    } else {
        window_tile(l, xs, wp, o0, p0, p_end, 1, y, ld);
    }
}

/* The paired copies of one example's input x [C][H][W] and their table, into xs. */
BF16_TARGET static void pair_input(const dg_conv_args *l, const float *x, uint32_t *xs)
{
    if (pairs_rows(l)) {
        pair_patch_rows(l, x, xs);
    } else {
        shift_pairs(l, x, xs);
    }
}

/* y [N][O][P] from x [N][C][H][W]; or, when pooled is not NULL, only the 2x2 max pooling of
 * each block of ROWS output planes, summed over the rows its windows cover into the block
 * after the paired weights and pooled while it is in the L1 cache: pooled
 * [N][O][OH/2][OW/2] and the argmax arg. */
BF16_TARGET static void conv_forward(const dg_conv_args *l, const float *x, float *y, float *pooled,
                                     int32_t *arg, int n, float *work)
{
    uint32_t *xs = (uint32_t *)work;                    /* [C2][K][H][OW], then the table */
    uint32_t *wp = xs + copies_words(l) + tap_pairs(l); /* [O][C2][K][K] */
    float *block = work + dg_conv_bf16_work_floats(l);  /* [ROWS][2*(OH/2)*OW] */
    pair_weights(l, wp);
    int p = l->out.h * l->out.w;
    size_t in_size = (size_t)l->in.c * l->in.h * l->in.w, out_size = (size_t)l->units * p;
    size_t pooled_size = (size_t)l->units * (l->out.h / 2) * (l->out.w / 2);
    for (int b = 0; b < n; b++) {
        pair_input(l, x + (size_t)b * in_size, xs);
        if (!pooled) {
            float *yb = y + (size_t)b * out_size;
            for (int o0 = 0; o0 < l->units; o0 += ROWS) {
                for (int p0 = 0; p0 < p; p0 += COLS) {
                    window_tile_any(l, xs, wp, o0, p0, p, yb + (size_t)o0 * p, (size_t)p);
                }
            }
            continue;
        }
        int p_end = dg_conv_pooled_plane_floats(l); /* only the rows the windows cover */
        for (int o0 = 0; o0 < l->units; o0 += ROWS) {
            for (int p0 = 0; p0 < p_end; p0 += COLS) {
                window_tile_any(l, xs, wp, o0, p0, p_end, block, (size_t)p_end);
            }
            size_t at = (size_t)b * pooled_size;
            dg_conv_pool_block(l, block, o0, pooled + at, arg + at);
        }
    }
}

#endif /* DG_HAVE_BF16_KERNELS */

bool dg_conv_forward_bf16(const dg_conv_args *l, const float *x, float *y, int n, float *work)
{
#if defined(DG_HAVE_BF16_KERNELS)
    if (dg_bf16_available()) {
        conv_forward(l, x, y, NULL, NULL, n, work);
        return true;
    }
#endif
    (void)l, (void)x, (void)y, (void)n, (void)work;
    return false;
}

bool dg_conv_forward_pooled_bf16(const dg_conv_args *l, const float *x, float *pooled, int32_t *arg,
                                 int n, float *work)
{
#if defined(DG_HAVE_BF16_KERNELS)
    if (dg_bf16_available()) {
        conv_forward(l, x, NULL, pooled, arg, n, work);
        return true;
    }
#endif
    (void)l, (void)x, (void)pooled, (void)arg, (void)n, (void)work;
    return false;
}
