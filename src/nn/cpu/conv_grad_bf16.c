/*
 * conv_grad_bf16.c - the gradients of a convolution in bf16 training without im2col:
 * conv_grad_avx512.c's register tiles with a pair of bf16 in each 32-bit word, so that
 * VDPBF16PS does two multiply-adds per lane where an FMA does one.
 *
 * Legend: N examples, N2 = ceil(N/2) pairs of them, C input channels, H/W input size,
 * K kernel side, O output channels, O2 = ceil(O/2) pairs of them, OH/OW output size,
 * P = OH*OW output positions, R = C*K*K patch rows (c, u, v).
 *
 * A pair must lie along the sum. Everything is rounded to bf16 once per call, as it is
 * paired:
 *
 * Weight gradient, the sum over examples and positions, paired by examples 2e and 2e+1:
 *   xp[e][c][h][w] = (x[2e][c][h][w], x[2e+1][c][h][w])
 *   gp[e][p][o] = (dz[2e][o][p], dz[2e+1][o][p])         (the output gradient transposed)
 *   dw[o][c][u][v] += sum over e, i, j of xp[e][c][i+u][j+v] . gp[e][i*OW + j][o]
 * where a . b = lo(a) lo(b) + hi(a) hi(b). Any patch element of the pair is one word, so
 * the tile of 12 patch rows x 32 output channels broadcasts its left operand from xp in
 * place, as the fp32 tile does from x, and covers two examples per step.
 *
 * Input gradient, one example, the sum over output channels, paired by channels 2o2 and
 * 2o2+1:
 *   zp[o2][p] = (dz[2o2][p], dz[2o2+1][p])
 *   wt[u][v][o2][c] = (w[2o2][c][u][v], w[2o2+1][c][u][v])   (once per call)
 *   dx_t[(i+u)*W + j+v][c] += sum over o2 of zp[o2][i*OW + j] . wt[u][v][o2][c]
 * scattered from each output position as in conv_grad_avx512.c, 12 positions x 32 input
 * channels a tile (the last 8 of at most 24 in 256-bit vectors; a plane's last positions in
 * a tile of 4 or 8), then dx_t [H*W][C] transposed into dx [C][H][W].
 *
 * An odd N or O pairs its last with zeros. Each element's sum runs in the same order on
 * every call.
 */
#include "nn/cpu/bf16_panels.h"
#include "nn/cpu/conv_tiles.h"

#include <string.h>

#define TILE_R 12 /* patch rows (weight gradient) or positions (input gradient) per tile */

/* The parts of the scratch, in 32-bit words, each starting on a 64-byte line. */
typedef struct grad_parts {
    uint32_t *xp; /* [N2][C][H][W] */
    uint32_t *gp; /* [N2][P][O] */
    float *dz;    /* [2][O][P]: a pair of examples' output gradients through the ReLU */
    uint32_t *zp; /* [O2][P], then TILE_R words read past the last position */
    uint32_t *wt; /* [K][K][O2][C] */
    float *dx_t;  /* [H*W][C] */
} grad_parts;

static size_t whole_lines(size_t words)
{
    return (words + 15) / 16 * 16;
}

/* The parts' sizes in words, in the order of grad_parts. */
static void part_sizes(const dg_conv_args *l, int n, size_t size[6])
{
    size_t in = (size_t)l->in.c * l->in.h * l->in.w, p = (size_t)l->out.h * l->out.w;
    size_t n2 = (size_t)(n + 1) / 2, o2 = (size_t)(l->units + 1) / 2;
    size[0] = n2 * in;
    size[1] = n2 * p * l->units;
    size[2] = 2 * p * l->units;
    size[3] = o2 * p + TILE_R;
    size[4] = (size_t)l->k * l->k * o2 * l->in.c;
    size[5] = (size_t)l->in.h * l->in.w * l->in.c;
}

size_t dg_conv_bf16_backward_work_floats(const dg_conv_args *l, int n)
{
    size_t size[6], total = 0;
    part_sizes(l, n, size);
    for (int i = 0; i < 6; i++) {
        total += whole_lines(size[i]);
    }
    return total;
}

#if defined(DG_HAVE_BF16_KERNELS)

static grad_parts cut_parts(const dg_conv_args *l, int n, float *work)
{
    size_t size[6];
    part_sizes(l, n, size);
    uint32_t *at[6], *w = (uint32_t *)work;
    for (int i = 0; i < 6; i++) {
        at[i] = w;
        w += whole_lines(size[i]);
    }
    return (grad_parts){at[0], at[1], (float *)at[2], at[3], at[4], (float *)at[5]};
}

/* dst[i] = (a[i], b[i]) for i < n; b NULL reads as zeros */
BF16_TARGET static void pair_arrays(const float *a, const float *b, size_t n, uint32_t *dst)
{
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = lanes((int)(n - i < 16 ? n - i : 16));
        __m512 e = _mm512_maskz_loadu_ps(m, a + i);
        __m512 o = b ? _mm512_maskz_loadu_ps(m, b + i) : _mm512_setzero_ps();
        _mm512_mask_storeu_epi32(dst + i, m, pair_words(e, o));
    }
}

/* gp[p][o] = (g0[o][p], g1[o][p]) for o < O, p < P, from g0, g1 [O][P] (g1 NULL: zeros),
 * in blocks of 16 x 16 words transposed in registers */
BF16_TARGET static void pair_transposed(const float *g0, const float *g1, int o_count, int p,
                                        uint32_t *gp)
{
    for (int o0 = 0; o0 < o_count; o0 += 16) {
        int rows = o_count - o0 < 16 ? o_count - o0 : 16;
        __mmask16 row_lanes = lanes(rows);
        for (int p0 = 0; p0 < p; p0 += 16) {
            int cols = p - p0 < 16 ? p - p0 : 16;
            __mmask16 m = lanes(cols);
            __m512i r[16];
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++) {
                __mmask16 mi = i < rows ? m : 0;
                size_t at = (size_t)(o0 + i) * p + p0;
                __m512 e = _mm512_maskz_loadu_ps(mi, g0 + at);
                __m512 o = g1 ? _mm512_maskz_loadu_ps(mi, g1 + at) : _mm512_setzero_ps();
                r[i] = pair_words(e, o);
            }
            transpose_words(r);
#pragma GCC unroll 16
            for (int j = 0; j < 16; j++) {
                _mm512_mask_storeu_epi32(gp + (size_t)(p0 + j) * o_count + o0,
                                         j < cols ? row_lanes : 0, r[j]);
            }
        }
    }
}

/* The taps t0.. (at most 16) of the weights w[o][c0..c0+cols-1][.] (cols at most 16) as
 * 16 vectors, r[t] holding tap t0 + t of the 16 channels: rows loaded, then transposed.
 * o past the last reads as zeros. */
BF16_TARGET static inline void taps_of_channels(const dg_conv_args *l, int o, int c0, int cols,
                                                int t0, __m512i r[16])
{
    int kk = l->k * l->k, c_count = l->in.c;
    __mmask16 m = lanes(kk - t0);
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++) {
        r[i] = i < cols && o < l->units
                   ? _mm512_maskz_loadu_epi32(m, l->w + ((size_t)o * c_count + c0 + i) * kk + t0)
                   : _mm512_setzero_si512();
    }
    transpose_words(r);
}

/* wt[u][v][o2][c] = (w[2o2][c][u][v], w[2o2+1][c][u][v]) */
BF16_TARGET static void pair_weight_taps(const dg_conv_args *l, uint32_t *wt)
{
    int kk = l->k * l->k, c_count = l->in.c, o2n = (l->units + 1) / 2;
    for (int o2 = 0; o2 < o2n; o2++) {
        for (int c0 = 0; c0 < c_count; c0 += 16) {
            int cols = c_count - c0 < 16 ? c_count - c0 : 16;
            for (int t0 = 0; t0 < kk; t0 += 16) {
                __m512i even[16], odd[16];
                taps_of_channels(l, 2 * o2, c0, cols, t0, even);
                taps_of_channels(l, 2 * o2 + 1, c0, cols, t0, odd);
                int taps = kk - t0 < 16 ? kk - t0 : 16;
                for (int t = 0; t < taps; t++) {
                    __m512i words = pair_words((__m512)even[t], (__m512)odd[t]);
                    _mm512_mask_storeu_epi32(wt + ((size_t)(t0 + t) * o2n + o2) * c_count + c0,
                                             lanes(cols), words);
                }
            }
        }
    }
}

/* The weight gradient's tile of `rows` patch rows r0.. and 16 * `vecs` output channels o0..
 * over n2 pairs of examples, added into dw; rows x vecs is 24 accumulators, triplets as in
 * conv_grad_avx512.c (K = 3, 12 rows: four base offsets, constant displacements). */
BF16_TARGET static inline __attribute__((always_inline)) void
weight_grad_tile_of(const dg_conv_args *l, const uint32_t *xp, const uint32_t *gp, int n2, int r0,
                    int o0, float *dw, const int rows, const int vecs, const bool triplets)
{
    int w = l->in.w, oh = l->out.h, ow = l->out.w, o_count = l->units;
    int live_h = dg_conv_live_h(l), live_w = dg_conv_live_w(l);
    size_t x_size = (size_t)l->in.c * l->in.h * w, g_size = (size_t)oh * ow * o_count;
    __mmask16 m[3];
    size_t x_at[TILE_R];
#pragma GCC unroll 3
    for (int i = 0; i < vecs; i++) {
        m[i] = lanes(o_count - o0 - 16 * i);
    }
    dg_patch_row_offsets(l, r0, rows, x_at);
    __m512 acc[TILE_R][3];
#pragma GCC unroll 12
    for (int t = 0; t < rows; t++) {
#pragma GCC unroll 3
        for (int i = 0; i < vecs; i++) {
            acc[t][i] = _mm512_setzero_ps();
        }
    }
    for (int e = 0; e < n2; e++) {
        const uint32_t *xe = xp + (size_t)e * x_size;
        const uint32_t *ge = gp + (size_t)e * g_size + o0;
        for (int i = 0; i < live_h; i++) {
            const uint32_t *xi = xe + (size_t)i * w;
            const uint32_t *gi = ge + (size_t)i * ow * o_count;
            for (int j = 0; j < live_w; j++) {
                __m512bh g[3];
#pragma GCC unroll 3
                for (int s = 0; s < vecs; s++) {
                    g[s] =
                        (__m512bh)_mm512_maskz_loadu_epi32(m[s], gi + (size_t)j * o_count + 16 * s);
                }
#pragma GCC unroll 12
                for (int t = 0; t < rows; t++) {
                    uint32_t word = triplets ? xi[x_at[t - t % 3] + t % 3 + j] : xi[x_at[t] + j];
                    __m512bh a = (__m512bh)_mm512_set1_epi32((int)word);
#pragma GCC unroll 3
                    for (int s = 0; s < vecs; s++) {
                        acc[t][s] = _mm512_dpbf16_ps(acc[t][s], a, g[s]);
                    }
                }
            }
        }
    }
    /* every accumulator indexed by constants, so that all of them stay in registers */
    float tile[TILE_R][48] __attribute__((aligned(64)));
#pragma GCC unroll 12
    for (int t = 0; t < rows; t++) {
#pragma GCC unroll 3
        for (int s = 0; s < vecs; s++) {
            _mm512_store_ps(tile[t] + 16 * s, acc[t][s]);
        }
    }
    dg_weight_tile_add(l, (const float(*)[48])tile, r0, o0, rows, vecs, dw);
}

BF16_TARGET static void weight_grad(const dg_conv_args *l, const uint32_t *xp, const uint32_t *gp,
                                    int n2, float *dw)
{
    int o = l->units, rows_total = l->in.c * l->k * l->k;
    if (dg_weight_grad_wide(l)) {
        for (int o0 = 0; o0 < o; o0 += 48) {
            for (int r0 = 0; r0 < rows_total; r0 += 8) {
                weight_grad_tile_of(l, xp, gp, n2, r0, o0, dw, 8, 3, false);
            }
        }
        return;
    }
    for (int o0 = 0; o0 < o; o0 += 32) {
        for (int r0 = 0; r0 < rows_total; r0 += TILE_R) {
            if (l->k == 3) {
                weight_grad_tile_of(l, xp, gp, n2, r0, o0, dw, TILE_R, 2, true);
            } else {
                weight_grad_tile_of(l, xp, gp, n2, r0, o0, dw, TILE_R, 2, false);
            }
        }
    }
}

/* The input gradient's tile of output positions p0..p0+11 and input channels c0..: for each
 * tap (u, v), 12 x 32 sums over the channel pairs o2 of zp[o2][p] . wt[u][v][o2][c] in
 * registers, added into dx_t at the input position each output position sends that tap to.
 * Positions t < skip belong to the tile before and positions t >= valid do not exist: their
 * sums are not added. With half (a constant where inlined) the tile has at most 24 channels
 * and sums its last 8 in 256-bit vectors, which this CPU issues two at a time. */
BF16_TARGET static inline __attribute__((always_inline)) void
input_grad_tile_of(const dg_conv_args *l, const uint32_t *zp, const uint32_t *wt, int p0, int skip,
                   int valid, int c0, float *dx_t, const int rows, const bool half)
{
    int k = l->k, c_count = l->in.c, w = l->in.w, ow = l->out.w, o2n = (l->units + 1) / 2;
    int p = l->out.h * ow;
    __mmask16 m0 = lanes(c_count - c0), m1 = lanes(c_count - c0 - 16);
    int at[TILE_R];
    for (int t = 0; t < rows; t++) {
        at[t] = (p0 + t) / ow * w + (p0 + t) % ow;
    }
    const uint32_t *zt = zp + p0;
    for (int u = 0; u < k; u++) {
        for (int v = 0; v < k; v++) {
            const uint32_t *wk = wt + (size_t)(u * k + v) * o2n * c_count + c0;
            __m512 acc[TILE_R][2];
            __m256 acc_h[TILE_R];
#pragma GCC unroll 12
            for (int t = 0; t < rows; t++) {
                acc[t][0] = acc[t][1] = _mm512_setzero_ps();
                acc_h[t] = _mm256_setzero_ps();
            }
            for (int o2 = 0; o2 < o2n; o2++) {
                const uint32_t *zo = zt + (size_t)o2 * p;
                const uint32_t *wo = wk + (size_t)o2 * c_count;
                __m512bh b0 = (__m512bh)_mm512_maskz_loadu_epi32(m0, wo);
                __m512bh b1 = (__m512bh)_mm512_setzero_si512();
                __m256bh b1h = (__m256bh)_mm256_setzero_si256();
                if (half) {
                    b1h = (__m256bh)_mm256_maskz_loadu_epi32((__mmask8)m1, wo + 16);
                } else {
                    b1 = (__m512bh)_mm512_maskz_loadu_epi32(m1, wo + 16);
                }
#pragma GCC unroll 12
                for (int t = 0; t < rows; t++) {
                    __m512i a = _mm512_set1_epi32((int)zo[t]);
                    acc[t][0] = _mm512_dpbf16_ps(acc[t][0], (__m512bh)a, b0);
                    if (half) {
                        acc_h[t] =
                            _mm256_dpbf16_ps(acc_h[t], (__m256bh)_mm512_castsi512_si256(a), b1h);
                    } else {
                        acc[t][1] = _mm512_dpbf16_ps(acc[t][1], (__m512bh)a, b1);
                    }
                }
            }
            float *dst = dx_t + (size_t)(u * w + v) * c_count + c0;
#pragma GCC unroll 12
            for (int t = 0; t < rows; t++) {
                if (t >= skip && t < valid) {
                    float *d = dst + (size_t)at[t] * c_count;
                    _mm512_mask_storeu_ps(d, m0,
                                          _mm512_add_ps(_mm512_maskz_loadu_ps(m0, d), acc[t][0]));
                    if (half) {
                        __mmask8 mh = (__mmask8)m1;
                        _mm256_mask_storeu_ps(
                            d + 16, mh, _mm256_add_ps(_mm256_maskz_loadu_ps(mh, d + 16), acc_h[t]));
                    } else {
                        _mm512_mask_storeu_ps(
                            d + 16, m1,
                            _mm512_add_ps(_mm512_maskz_loadu_ps(m1, d + 16), acc[t][1]));
                    }
                }
            }
        }
    }
}

/* dx [C][H*W] = dx_t [H*W][C] transposed, in blocks of 16 x 16 */
BF16_TARGET static void transpose_to_planes(const float *dx_t, int positions, int c_count,
                                            float *dx)
{
    for (int q0 = 0; q0 < positions; q0 += 16) {
        int rows = positions - q0 < 16 ? positions - q0 : 16;
        __mmask16 row_lanes = lanes(rows);
        for (int c0 = 0; c0 < c_count; c0 += 16) {
            int cols = c_count - c0 < 16 ? c_count - c0 : 16;
            __mmask16 m = lanes(cols);
            __m512i r[16];
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++) {
                r[i] = _mm512_maskz_loadu_epi32(i < rows ? m : 0,
                                                dx_t + (size_t)(q0 + i) * c_count + c0);
            }
            transpose_words(r);
#pragma GCC unroll 16
            for (int j = 0; j < 16; j++) {
                _mm512_mask_storeu_epi32(dx + (size_t)(c0 + j) * positions + q0,
                                         j < cols ? row_lanes : 0, r[j]);
            }
        }
    }
}

/* One example's input gradient dx [C][H][W] from its output gradient paired by channels. */
/* The tile of `rows` (12, 8 or 4) positions from start, as input_grad_tile_of. */
BF16_TARGET static void input_grad_tile(const dg_conv_args *l, const uint32_t *zp,
                                        const uint32_t *wt, int start, int skip, int valid, int c0,
                                        float *dx_t, int rows)
{
    bool half = l->in.c - c0 <= 24;
    if (rows == 12) {
        if (half) {
            input_grad_tile_of(l, zp, wt, start, skip, valid, c0, dx_t, 12, true);
        } else {
            input_grad_tile_of(l, zp, wt, start, skip, valid, c0, dx_t, 12, false);
        }
    } else if (rows == 8) {
        if (half) {
            input_grad_tile_of(l, zp, wt, start, skip, valid, c0, dx_t, 8, true);
        } else {
            input_grad_tile_of(l, zp, wt, start, skip, valid, c0, dx_t, 8, false);
        }
    } else if (half) {
        input_grad_tile_of(l, zp, wt, start, skip, valid, c0, dx_t, 4, true);
    } else {
        input_grad_tile_of(l, zp, wt, start, skip, valid, c0, dx_t, 4, false);
    }
}

/* One example's input gradient dx [C][H][W] from its output gradient paired by channels. */
BF16_TARGET static void input_grad(const dg_conv_args *l, const uint32_t *zp, const uint32_t *wt,
                                   float *dx_t, float *dx)
{
    int positions = l->in.h * l->in.w, p = l->out.h * l->out.w, c_count = l->in.c;
    /* tiles from the first past the live rows on add only zeros */
    int live = dg_conv_live_h(l) * l->out.w;
    memset(dx_t, 0, (size_t)positions * c_count * sizeof(float));
    for (int c0 = 0; c0 < c_count; c0 += 32) {
        int p0 = 0;
        for (; p0 + TILE_R <= p && p0 < live; p0 += TILE_R) {
            input_grad_tile(l, zp, wt, p0, 0, TILE_R, c0, dx_t, TILE_R);
        }
        if (p0 >= p || p0 >= live) {
            continue;
        }
        if (p < TILE_R) {
            /* a plane shorter than a tile reads past P into the next pair's row or the
             * padding, and stores nothing there */
            input_grad_tile(l, zp, wt, 0, 0, p, c0, dx_t, TILE_R);
            continue;
        }
        /* the rest in a tile of 4, 8 or 12 moved back to end at P */
        int rows = (p - p0 + 3) / 4 * 4, start = p - rows;
        input_grad_tile(l, zp, wt, start, p0 - start, rows, c0, dx_t, rows);
    }
    transpose_to_planes(dx_t, positions, c_count, dx);
}

BF16_TARGET static void conv_backward(const dg_conv_args *l, const float *x, const float *y,
                                      const float *dy, float *dx, int n, bool masked, float *dw,
                                      float *db, float *work)
{
    grad_parts w = cut_parts(l, n, work);
    int o_count = l->units, p = l->out.h * l->out.w, n2 = (n + 1) / 2;
    size_t in_size = (size_t)l->in.c * l->in.h * l->in.w, out_size = (size_t)o_count * p;
    if (dx) {
        pair_weight_taps(l, w.wt);
    }
    for (int e = 0; e < n2; e++) {
        const float *g[2] = {NULL, NULL};
        for (int s = 0; s < 2 && 2 * e + s < n; s++) {
            size_t b = (size_t)(2 * e + s), at = b * out_size;
            float *dz = masked ? w.dz + (size_t)s * out_size : NULL;
            for (int o = 0; o < o_count; o++) {
                db[o] += dg_relu_grad_sum(y + at + (size_t)o * p, dy + at + (size_t)o * p,
                                          dz ? dz + (size_t)o * p : NULL, p, masked);
            }
            g[s] = dz ? dz : dy + at;
            if (dx) {
                for (int o = 0; o < o_count; o += 2) {
                    const float *odd = o + 1 < o_count ? g[s] + (size_t)(o + 1) * p : NULL;
                    pair_arrays(g[s] + (size_t)o * p, odd, (size_t)p, w.zp + (size_t)o / 2 * p);
                }
                input_grad(l, w.zp, w.wt, w.dx_t, dx + b * in_size);
            }
        }
        pair_transposed(g[0], g[1], o_count, p, w.gp + (size_t)e * out_size);
        const float *x0 = x + (size_t)(2 * e) * in_size;
        pair_arrays(x0, 2 * e + 1 < n ? x0 + in_size : NULL, in_size, w.xp + (size_t)e * in_size);
    }
    weight_grad(l, w.xp, w.gp, n2, dw);
}

/* The weight gradient of a layer with few patch rows by dot products along the output
 * rows, as conv_grad_avx512.c's dots: x (once per call) and dz (as it is loaded, each row
 * once per tile) rounded to bf16 in order, so that a word
 * holds two neighbouring positions of a row (x[c][i+u][j+v], x[c][i+u][j+1+v]) and
 * (dz[o][i][j], dz[o][i][j+1]), and one VDPBF16PS adds both products. A row of up to 32
 * positions is one vector (16 words); the tile is 3 output channels x 9 patch rows. */
#define DOT_O 3
#define DOT_R 9

/* dst[i] = x[i] rounded to bf16, for i < n */
BF16_TARGET static void round_floats(const float *x, size_t n, uint16_t *dst)
{
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = lanes((int)(n - i < 16 ? n - i : 16));
        __m256i h = (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, x + i));
        _mm256_mask_storeu_epi16(dst + i, m, h);
    }
}

BF16_TARGET static inline __mmask32 lanes32(int n)
{
    return n <= 0 ? 0 : n >= 32 ? (__mmask32)0xffffffffu : (__mmask32)((1u << n) - 1u);
}

/* With with_bias (a constant where inlined), also db[o] += the fp32 sums of the tile's dz
 * rows. */
BF16_TARGET static inline __attribute__((always_inline)) void
weight_dots_tile_of(const dg_conv_args *l, const uint16_t *x, const float *dz, int n, int o0,
                    int r0, float *dw, float *db, const bool with_bias)
{
    int k = l->k, kk = k * k, w = l->in.w, oh = l->out.h, ow = l->out.w;
    int rows_total = l->in.c * kk;
    size_t x_size = (size_t)l->in.c * l->in.h * w, p = (size_t)oh * ow, dz_size = p * l->units;
    size_t dz_at[DOT_O], x_at[DOT_R];
    for (int s = 0; s < DOT_O; s++) {
        /* channels and rows past the last repeat the tile's first; they are not stored */
        dz_at[s] = (size_t)(o0 + s < l->units ? o0 + s : o0) * p;
    }
    dg_patch_row_offsets(l, r0, DOT_R, x_at);
    __m512 acc[DOT_O][DOT_R], bias[DOT_O];
#pragma GCC unroll 3
    for (int s = 0; s < DOT_O; s++) {
        bias[s] = _mm512_setzero_ps();
#pragma GCC unroll 9
        for (int t = 0; t < DOT_R; t++) {
            acc[s][t] = _mm512_setzero_ps();
        }
    }
    for (int b = 0; b < n; b++) {
        const uint16_t *xb = x + (size_t)b * x_size;
        const float *dzb = dz + (size_t)b * dz_size;
        for (int i = 0; i < oh; i++) {
            const uint16_t *xi = xb + (size_t)i * w;
            const float *dzi = dzb + (size_t)i * ow;
            for (int j = 0; j < ow; j += 32) {
                __mmask32 m = lanes32(ow - j);
                __mmask16 lo = lanes(ow - j), hi = lanes(ow - j - 16);
                __m512bh d[DOT_O];
#pragma GCC unroll 3
                for (int s = 0; s < DOT_O; s++) {
                    const float *g = dzi + dz_at[s] + j;
                    __m512 g_lo = _mm512_maskz_loadu_ps(lo, g),
                           g_hi = _mm512_maskz_loadu_ps(hi, g + 16);
                    d[s] = _mm512_cvtne2ps_pbh(g_hi, g_lo);
                    if (with_bias) {
                        bias[s] = _mm512_add_ps(bias[s], _mm512_add_ps(g_lo, g_hi));
                    }
                }
#pragma GCC unroll 9
                for (int t = 0; t < DOT_R; t++) {
                    __m512bh xv = (__m512bh)_mm512_maskz_loadu_epi16(m, xi + x_at[t] + j);
#pragma GCC unroll 3
                    for (int s = 0; s < DOT_O; s++) {
                        acc[s][t] = _mm512_dpbf16_ps(acc[s][t], d[s], xv);
                    }
                }
            }
        }
    }
    int outs = l->units - o0 < DOT_O ? l->units - o0 : DOT_O;
    int rows = rows_total - r0 < DOT_R ? rows_total - r0 : DOT_R;
    /* every accumulator indexed by constants, so that all of them stay in registers */
    float sums[DOT_O][DOT_R];
#pragma GCC unroll 3
    for (int s = 0; s < DOT_O; s++) {
#pragma GCC unroll 9
        for (int t = 0; t < DOT_R; t++) {
            sums[s][t] = _mm512_reduce_add_ps(acc[s][t]);
        }
    }
    for (int s = 0; s < outs; s++) {
        for (int t = 0; t < rows; t++) {
            dw[(size_t)(o0 + s) * rows_total + r0 + t] += sums[s][t];
        }
        if (with_bias) {
            db[o0 + s] += _mm512_reduce_add_ps(bias[s]);
        }
    }
}

BF16_TARGET static void weight_dots_tile(const dg_conv_args *l, const uint16_t *x, const float *dz,
                                         int n, int o0, int r0, float *dw, float *db)
{
    if (db) {
        weight_dots_tile_of(l, x, dz, n, o0, r0, dw, db, true);
    } else {
        weight_dots_tile_of(l, x, dz, n, o0, r0, dw, NULL, false);
    }
}

BF16_TARGET static void weight_grad_dots(const dg_conv_args *l, const float *x, const float *dz,
                                         int n, float *dw, float *db, float *work)
{
    size_t x_count = (size_t)n * l->in.c * l->in.h * l->in.w;
    uint16_t *x16 = (uint16_t *)work;
    round_floats(x, x_count, x16);
    int rows_total = l->in.c * l->k * l->k;
    for (int o0 = 0; o0 < l->units; o0 += DOT_O) {
        for (int r0 = 0; r0 < rows_total; r0 += DOT_R) {
            /* the first tile of rows of each channel block sums the bias gradient */
            weight_dots_tile(l, x16, dz, n, o0, r0, dw, r0 == 0 ? db : NULL);
        }
    }
}

#endif /* DG_HAVE_BF16_KERNELS */

bool dg_conv_backward_bf16(const dg_conv_args *l, const float *x, const float *y, const float *dy,
                           float *dx, int n, bool masked, float *dw, float *db, float *work)
{
#if defined(DG_HAVE_BF16_KERNELS)
    if (dg_bf16_available()) {
        conv_backward(l, x, y, dy, dx, n, masked, dw, db, work);
        return true;
    }
#endif
    (void)l, (void)x, (void)y, (void)dy, (void)dx, (void)n, (void)masked, (void)dw, (void)db;
    (void)work;
    return false;
}

size_t dg_conv_weight_grad_dots_bf16_work_floats(const dg_conv_args *l, int n)
{
    return ((size_t)n * l->in.c * l->in.h * l->in.w + 1) / 2;
}

bool dg_conv_weight_grad_dots_bf16(const dg_conv_args *l, const float *x, const float *dz, int n,
                                   float *dw, float *db, float *work)
{
#if defined(DG_HAVE_BF16_KERNELS)
    if (dg_bf16_available()) {
        weight_grad_dots(l, x, dz, n, dw, db, work);
        return true;
    }
#endif
    (void)l, (void)x, (void)dz, (void)n, (void)dw, (void)db, (void)work;
    return false;
}
