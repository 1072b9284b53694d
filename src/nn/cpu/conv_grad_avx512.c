/*
 * conv_grad_avx512.c - the gradients of a convolution without im2col, with AVX-512
 * intrinsics, used by conv2d.c when the AVX-512 kernels are in use.
 *
 * Legend: N examples, C input channels, H/W input size, K kernel side, O output channels,
 * OH/OW output size, P = OH*OW output positions, R = C*K*K patch rows (c, u, v).
 *
 * Both are matrix products whose left operand is never gathered: each of its elements is
 * broadcast from where it lies, and the right operand has the 32 columns of a tile
 * consecutive, so that a tile of 12 rows x 32 columns keeps 24 vectors of sums in
 * registers over the whole sum (per step: 2 loads, 12 broadcasts, 24 FMAs), as the GEMM's
 * micro-kernel does, but without packing.
 *
 * Weight gradient, dw^T [R][O] = patches [R][N*P] * dz [N*P][O]:
 *   dw[o][c][u][v] += sum over n, i, j of x[n][c][i+u][j+v] * dz_t[n][i*OW + j][o]
 * the output gradient transposed so that 16 output channels are one vector, the patches
 * read from x in place; added into dw, whose layout is [O][R], once at the end.
 *
 * Input gradient, one example, scattered rather than gathered: each output position
 * p = i*OW + j sends dz[o][p] * w[o][c][u][v] to input position (i+u, j+v), so
 *   dx_t[(i+u)*W + j+v][c] += sum over o of dz[o][i*OW + j] * w_taps[u][v][o][c]
 * with w_taps[u][v][o][c] = w[o][c][u][v] (the weights with the channels last, one
 * [O][C] matrix per tap). A tile of 12 output positions x 32 input channels sums over o in
 * registers, per tap, and adds its 24 vectors into dx_t [H*W][C]; only real output
 * positions are visited, so no product touches the zeros around dz that a gathered
 * (full) convolution would read. dx_t is transposed into dx [C][H][W] at the end.
 *
 * Each element's sum runs in the same order on every call.
 */
#include "nn/cpu/cpu.h"

#if defined(__AVX512F__)

#include "nn/cpu/avx512.h"
#include "nn/cpu/conv_tiles.h"

#include <string.h>

#define TILE_R 12 /* patch rows per tile */
#define TILE_O 32 /* output channels per tile: two vectors */

/* The tile of `rows` patch rows r0.. and 16 * `vecs` output channels o0.. over n examples,
 * added into dw; rows x vecs is 24 accumulators (12 x 2 or 8 x 3), each a constant where
 * inlined. With triplets (K = 3 and 12 rows, so that the tile's rows come in threes of
 * consecutive v, one input float apart), the broadcasts take four base offsets and
 * constant displacements instead of twelve offsets, which leaves the loop enough
 * general registers not to spill. */
static inline __attribute__((always_inline)) void
weight_grad_tile_of(const dg_conv_args *l, const float *x, const float *dz_t, int n, int r0, int o0,
                    float *dw, const int rows, const int vecs, const bool triplets)
{
    int w = l->in.w, oh = l->out.h, ow = l->out.w, o_count = l->units;
    int live_h = dg_conv_live_h(l), live_w = dg_conv_live_w(l);
    size_t x_size = (size_t)l->in.c * l->in.h * w, dz_size = (size_t)oh * ow * o_count;
    __mmask16 m[3];
    size_t x_at[TILE_R];
#pragma GCC unroll 3
    for (int i = 0; i < vecs; i++) {
        m[i] = dg_lanes(o_count - o0 - 16 * i);
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
    for (int b = 0; b < n; b++) {
        const float *xb = x + (size_t)b * x_size;
        const float *dzb = dz_t + (size_t)b * dz_size + o0;
        for (int i = 0; i < live_h; i++) {
            const float *xi = xb + (size_t)i * w;
            const float *dzi = dzb + (size_t)i * ow * o_count;
            for (int j = 0; j < live_w; j++) {
                __m512 g[3];
#pragma GCC unroll 3
                for (int e = 0; e < vecs; e++) {
                    g[e] = _mm512_maskz_loadu_ps(m[e], dzi + (size_t)j * o_count + 16 * e);
                }
#pragma GCC unroll 12
                for (int t = 0; t < rows; t++) {
                    __m512 a = _mm512_set1_ps(triplets ? xi[x_at[t - t % 3] + t % 3 + j]
                                                       : xi[x_at[t] + j]);
#pragma GCC unroll 3
                    for (int e = 0; e < vecs; e++) {
                        acc[t][e] = _mm512_fmadd_ps(a, g[e], acc[t][e]);
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
        for (int e = 0; e < vecs; e++) {
            _mm512_store_ps(tile[t] + 16 * e, acc[t][e]);
        }
    }
    dg_weight_tile_add(l, (const float(*)[48])tile, r0, o0, rows, vecs, dw);
}

void dg_conv_output_grad_avx512(const float *y, const float *dy, int o_count, int p, bool relu,
                                float *dz, float *dz_t, float *db)
{
    /* each plane in one sequential pass, then the transpose out of the cache */
    for (int o = 0; o < o_count; o++) {
        db[o] += dg_relu_grad_sum(y + (size_t)o * p, dy + (size_t)o * p,
                                  dz ? dz + (size_t)o * p : NULL, p, relu);
    }
    const float *g = dz ? dz : dy;
    for (int o0 = 0; dz_t && o0 < o_count; o0 += 16) {
        int rows = o_count - o0 < 16 ? o_count - o0 : 16;
        __mmask16 row_lanes = dg_lanes(rows);
        for (int p0 = 0; p0 < p; p0 += 16) {
            int cols = p - p0 < 16 ? p - p0 : 16;
            __mmask16 m = dg_lanes(cols);
            __m512 r[16];
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++) {
                r[i] = _mm512_maskz_loadu_ps(i < rows ? m : 0, g + (size_t)(o0 + i) * p + p0);
            }
            dg_transpose16(r);
#pragma GCC unroll 16
            for (int j = 0; j < 16; j++) {
                _mm512_mask_storeu_ps(dz_t + (size_t)(p0 + j) * o_count + o0,
                                      j < cols ? row_lanes : 0, r[j]);
            }
        }
    }
}

/* Whether the weight gradient's tiles are 8 patch rows x 48 output channels rather than
 * 12 x 32: when that leaves fewer channels of the last tile empty (48 channels: 0 of 48
 * against 16 of 64). */
void dg_conv_weight_grad_avx512(const dg_conv_args *l, const float *x, const float *dz_t, int n,
                                float *dw)
{
    int rows_total = l->in.c * l->k * l->k;
    if (dg_weight_grad_wide(l)) {
        for (int o0 = 0; o0 < l->units; o0 += 48) {
            for (int r0 = 0; r0 < rows_total; r0 += 8) {
                weight_grad_tile_of(l, x, dz_t, n, r0, o0, dw, 8, 3, false);
            }
        }
        return;
    }
    for (int o0 = 0; o0 < l->units; o0 += TILE_O) {
        for (int r0 = 0; r0 < rows_total; r0 += TILE_R) {
            if (l->k == 3) {
                weight_grad_tile_of(l, x, dz_t, n, r0, o0, dw, TILE_R, 2, true);
            } else {
                weight_grad_tile_of(l, x, dz_t, n, r0, o0, dw, TILE_R, 2, false);
            }
        }
    }
}

/* Up to 8 channels in one vector: 256 bits where the build has AVX-512VL (masked 256-bit
 * operations), else a 512-bit vector with the same mask. */
#if defined(__AVX512VL__)
typedef __m256 half_vec;
static inline half_vec half_zero(void)
{
    return _mm256_setzero_ps();
}
static inline half_vec half_load(__mmask16 m, const float *p)
{
    return _mm256_maskz_loadu_ps((__mmask8)m, p);
}
static inline half_vec half_fma(__m512 a, half_vec b, half_vec c)
{
    return _mm256_fmadd_ps(_mm512_castps512_ps256(a), b, c);
}
static inline void half_add_store(float *d, __mmask16 m, half_vec v)
{
    _mm256_mask_storeu_ps(d, (__mmask8)m, _mm256_add_ps(_mm256_maskz_loadu_ps((__mmask8)m, d), v));
}
static inline half_vec half_fma2(half_vec a, half_vec b, half_vec c)
{
    return _mm256_fmadd_ps(a, b, c);
}
static inline float half_sum(half_vec v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}
#else
typedef __m512 half_vec;
static inline half_vec half_zero(void)
{
    return _mm512_setzero_ps();
}
static inline half_vec half_load(__mmask16 m, const float *p)
{
    return _mm512_maskz_loadu_ps(m, p);
}
static inline half_vec half_fma(__m512 a, half_vec b, half_vec c)
{
    return _mm512_fmadd_ps(a, b, c);
}
static inline void half_add_store(float *d, __mmask16 m, half_vec v)
{
    _mm512_mask_storeu_ps(d, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, d), v));
}
static inline half_vec half_fma2(half_vec a, half_vec b, half_vec c)
{
    return _mm512_fmadd_ps(a, b, c);
}
static inline float half_sum(half_vec v)
{
    return _mm512_reduce_add_ps(v);
}
#endif

/* The input gradient's tile of output positions p0..p0+11 and input channels c0..: for
 * each tap (u, v), 12 x 32 sums over o of dz[o][p] * w_taps[u][v][o][c], in registers, then
 * added into dx_t at the input position each output position p = i*OW + j sends that tap
 * to, (i+u)*W + j+v. Positions before p0 + skip belong to the tile before (the last tile
 * of a plane is moved back so that it ends at P): their sums are not added. With half (a
 * constant where inlined), the tile has at most 24 channels and the last 8 are summed in
 * 256-bit vectors: this CPU issues two 256-bit FMAs where it issues one 512-bit FMA, so a
 * half-empty 512-bit vector (24 channels) would cost as much as a full one. */
static inline __attribute__((always_inline)) void
input_grad_tile_of(const dg_conv_args *l, const float *dz, const float *w_taps, int p0, int skip,
                   int c0, float *dx_t, const bool half)
{
    int k = l->k, c_count = l->in.c, w = l->in.w, ow = l->out.w, o_count = l->units;
    int p = l->out.h * ow;
    __mmask16 m0 = dg_lanes(c_count - c0), m1 = dg_lanes(c_count - c0 - 16);
    int at[TILE_R];
    for (int t = 0; t < TILE_R; t++) {
        at[t] = (p0 + t) / ow * w + (p0 + t) % ow;
    }
    const float *dzp = dz + p0;
    for (int u = 0; u < k; u++) {
        for (int v = 0; v < k; v++) {
            const float *wk = w_taps + (size_t)(u * k + v) * o_count * c_count + c0;
            __m512 acc[TILE_R][2];
            half_vec acc_h[TILE_R];
#pragma GCC unroll 12
            for (int t = 0; t < TILE_R; t++) {
                acc[t][0] = acc[t][1] = _mm512_setzero_ps();
                acc_h[t] = half_zero();
            }
            for (int o = 0; o < o_count; o++) {
                const float *dzo = dzp + (size_t)o * p;
                __m512 b0 = _mm512_maskz_loadu_ps(m0, wk + (size_t)o * c_count);
                __m512 b1 = _mm512_setzero_ps();
                half_vec b1h = half_zero();
                if (half) {
                    b1h = half_load(m1, wk + (size_t)o * c_count + 16);
                } else {
                    b1 = _mm512_maskz_loadu_ps(m1, wk + (size_t)o * c_count + 16);
                }
#pragma GCC unroll 12
                for (int t = 0; t < TILE_R; t++) {
                    __m512 a = _mm512_set1_ps(dzo[t]);
                    acc[t][0] = _mm512_fmadd_ps(a, b0, acc[t][0]);
                    if (half) {
                        acc_h[t] = half_fma(a, b1h, acc_h[t]);
                    } else {
                        acc[t][1] = _mm512_fmadd_ps(a, b1, acc[t][1]);
                    }
                }
            }
            float *dst = dx_t + (size_t)(u * w + v) * c_count + c0;
#pragma GCC unroll 12
            for (int t = 0; t < TILE_R; t++) {
                if (t >= skip) {
                    float *d = dst + (size_t)at[t] * c_count;
                    _mm512_mask_storeu_ps(d, m0,
                                          _mm512_add_ps(_mm512_maskz_loadu_ps(m0, d), acc[t][0]));
                    if (half) {
                        half_add_store(d + 16, m1, acc_h[t]);
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

static void input_grad_tile(const dg_conv_args *l, const float *dz, const float *w_taps, int p0,
                            int skip, int c0, float *dx_t)
{
    if (l->in.c - c0 <= 24) {
        input_grad_tile_of(l, dz, w_taps, p0, skip, c0, dx_t, true);
    } else {
        input_grad_tile_of(l, dz, w_taps, p0, skip, c0, dx_t, false);
    }
}

/* dx [C][H*W] = dx_t [H*W][C] transposed, in blocks of 16 x 16 */
static void transpose_to_planes(const float *dx_t, int positions, int c_count, float *dx)
{
    for (int q0 = 0; q0 < positions; q0 += 16) {
        int rows = positions - q0 < 16 ? positions - q0 : 16;
        __mmask16 row_lanes = dg_lanes(rows);
        for (int c0 = 0; c0 < c_count; c0 += 16) {
            int cols = c_count - c0 < 16 ? c_count - c0 : 16;
            __mmask16 m = dg_lanes(cols);
            __m512 r[16];
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++) {
                r[i] =
                    _mm512_maskz_loadu_ps(i < rows ? m : 0, dx_t + (size_t)(q0 + i) * c_count + c0);
            }
            dg_transpose16(r);
#pragma GCC unroll 16
            for (int j = 0; j < 16; j++) {
                _mm512_mask_storeu_ps(dx + (size_t)(c0 + j) * positions + q0,
                                      j < cols ? row_lanes : 0, r[j]);
            }
        }
    }
}

/* The same sums by plain loops, for planes of fewer output positions than a tile. */
static void input_grad_small(const dg_conv_args *l, const float *dz, const float *w_taps,
                             float *dx_t)
{
    int k = l->k, c_count = l->in.c, w = l->in.w, ow = l->out.w, o_count = l->units;
    int p = l->out.h * ow;
    for (int q = 0; q < p; q++) {
        for (int u = 0; u < k; u++) {
            for (int v = 0; v < k; v++) {
                const float *wk = w_taps + (size_t)(u * k + v) * o_count * c_count;
                float *d = dx_t + (size_t)((q / ow + u) * w + q % ow + v) * c_count;
                for (int c = 0; c < c_count; c++) {
                    float s = 0.0f;
                    for (int o = 0; o < o_count; o++) {
                        s += dz[(size_t)o * p + q] * wk[(size_t)o * c_count + c];
                    }
                    d[c] += s;
                }
            }
        }
    }
}

void dg_conv_weight_taps_avx512(const dg_conv_args *l, float *w_taps)
{
    /* blocks of 16 channels x 16 taps: each row of taps loaded, the block transposed in
     * registers and stored a tap's channels at a time, so that the stores run along w_taps
     * (one scalar store per weight, each a whole matrix apart, cost 2% of a training step) */
    int kk = l->k * l->k, c_count = l->in.c, o_count = l->units;
    for (int o = 0; o < o_count; o++) {
        for (int c0 = 0; c0 < c_count; c0 += 16) {
            int cols = c_count - c0 < 16 ? c_count - c0 : 16;
            for (int t0 = 0; t0 < kk; t0 += 16) {
                __mmask16 m = dg_lanes(kk - t0);
                __m512 r[16];
#pragma GCC unroll 16
                for (int i = 0; i < 16; i++) {
                    r[i] = i < cols ? _mm512_maskz_loadu_ps(
                                          m, l->w + ((size_t)o * c_count + c0 + i) * kk + t0)
                                    : _mm512_setzero_ps();
                }
                dg_transpose16(r);
                int taps = kk - t0 < 16 ? kk - t0 : 16;
                for (int t = 0; t < taps; t++) {
                    _mm512_mask_storeu_ps(w_taps + ((size_t)(t0 + t) * o_count + o) * c_count + c0,
                                          dg_lanes(cols), r[t]);
                }
            }
        }
    }
}

size_t dg_conv_input_grad_work_floats(const dg_conv_args *l)
{
    return (size_t)l->in.h * l->in.w * l->in.c;
}

void dg_conv_input_grad_avx512(const dg_conv_args *l, const float *dz, const float *w_taps,
                               float *dx, float *work)
{
    int positions = l->in.h * l->in.w, p = l->out.h * l->out.w, c_count = l->in.c;
    float *dx_t = work; /* [H*W][C] */
    memset(dx_t, 0, (size_t)positions * c_count * sizeof(float));
    /* tiles from the first past the live rows on add only zeros */
    int live = dg_conv_live_h(l) * l->out.w;
    if (p < TILE_R) {
        input_grad_small(l, dz, w_taps, dx_t);
    } else {
        for (int c0 = 0; c0 < c_count; c0 += TILE_O) {
            for (int p0 = 0; p0 < p && p0 < live; p0 += TILE_R) {
                int start = p0 + TILE_R <= p ? p0 : p - TILE_R;
                input_grad_tile(l, dz, w_taps, start, p0 - start, c0, dx_t);
            }
        }
    }
    transpose_to_planes(dx_t, positions, c_count, dx);
}

/* Patch rows below which the weight gradient is taken by dot products: transposing the
 * output gradient would cost more than the few rows' products. */
#define FEW_ROWS 32
#define DOT_O    3 /* output channels per dot-product tile */
#define DOT_R    9 /* patch rows per dot-product tile */

bool dg_conv_weight_grad_by_dots(const dg_conv_args *l)
{
    return l->in.c * l->k * l->k < FEW_ROWS;
}

/* The dot-product tile of output channels o0.. and patch rows r0..: 27 vectors of partial
 * sums along the output rows of every example, each added up once at the end. */
/* sums[s][t] += the dot products of weight_dots_tile over the columns main..OW-1 of
 * every row (1 to 8 of them), in vectors of 8: this CPU issues two 256-bit FMAs where it
 * issues one 512-bit FMA, so a half-empty 512-bit vector would cost a full one. */
static void dots_tail(const float *x, size_t x_size, const float *dz, size_t dz_size, int n, int oh,
                      int w, int ow, int main, const size_t *dz_at, const size_t *x_at,
                      float sums[DOT_O][DOT_R])
{
    __mmask16 m = dg_lanes(ow - main);
    half_vec acc[DOT_O][DOT_R];
#pragma GCC unroll 3
    for (int s = 0; s < DOT_O; s++) {
#pragma GCC unroll 9
        for (int t = 0; t < DOT_R; t++) {
            acc[s][t] = half_zero();
        }
    }
    for (int b = 0; b < n; b++) {
        const float *xb = x + (size_t)b * x_size + main, *dzb = dz + (size_t)b * dz_size + main;
        for (int i = 0; i < oh; i++) {
            const float *xi = xb + (size_t)i * w, *dzi = dzb + (size_t)i * ow;
            half_vec d[DOT_O];
#pragma GCC unroll 3
            for (int s = 0; s < DOT_O; s++) {
                d[s] = half_load(m, dzi + dz_at[s]);
            }
#pragma GCC unroll 9
            for (int t = 0; t < DOT_R; t++) {
                half_vec xv = half_load(m, xi + x_at[t]);
#pragma GCC unroll 3
                for (int s = 0; s < DOT_O; s++) {
                    acc[s][t] = half_fma2(d[s], xv, acc[s][t]);
                }
            }
        }
    }
#pragma GCC unroll 3
    for (int s = 0; s < DOT_O; s++) {
#pragma GCC unroll 9
        for (int t = 0; t < DOT_R; t++) {
            sums[s][t] += half_sum(acc[s][t]);
        }
    }
}

static void weight_dots_tile(const dg_conv_args *l, const float *x, const float *dz, int n, int o0,
                             int r0, float *dw)
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
    __m512 acc[DOT_O][DOT_R];
#pragma GCC unroll 3
    for (int s = 0; s < DOT_O; s++) {
#pragma GCC unroll 9
        for (int t = 0; t < DOT_R; t++) {
            acc[s][t] = _mm512_setzero_ps();
        }
    }
    /* a row's last 1 to 8 columns are taken apart below, in 256-bit vectors */
    int tail = ow % 16 && ow % 16 <= 8 ? ow % 16 : 0, main = ow - tail;
    for (int b = 0; b < n; b++) {
        const float *xb = x + (size_t)b * x_size, *dzb = dz + (size_t)b * dz_size;
        for (int i = 0; i < oh; i++) {
            const float *xi = xb + (size_t)i * w, *dzi = dzb + (size_t)i * ow;
            for (int j = 0; j < main; j += 16) {
                __mmask16 m = dg_lanes(ow - j);
                __m512 d[DOT_O];
#pragma GCC unroll 3
                for (int s = 0; s < DOT_O; s++) {
                    d[s] = _mm512_maskz_loadu_ps(m, dzi + dz_at[s] + j);
                }
#pragma GCC unroll 9
                for (int t = 0; t < DOT_R; t++) {
                    __m512 xv = _mm512_maskz_loadu_ps(m, xi + x_at[t] + j);
#pragma GCC unroll 3
                    for (int s = 0; s < DOT_O; s++) {
                        acc[s][t] = _mm512_fmadd_ps(d[s], xv, acc[s][t]);
                    }
                }
            }
        }
    }
    /* every accumulator indexed by constants, so that all of them stay in registers */
    float sums[DOT_O][DOT_R];
#pragma GCC unroll 3
    for (int s = 0; s < DOT_O; s++) {
#pragma GCC unroll 9
        for (int t = 0; t < DOT_R; t++) {
            sums[s][t] = _mm512_reduce_add_ps(acc[s][t]);
        }
    }
    if (tail) {
        dots_tail(x, x_size, dz, dz_size, n, oh, w, ow, main, dz_at, x_at, sums);
    }
    int outs = l->units - o0 < DOT_O ? l->units - o0 : DOT_O;
    int rows = rows_total - r0 < DOT_R ? rows_total - r0 : DOT_R;
    for (int s = 0; s < outs; s++) {
        for (int t = 0; t < rows; t++) {
            dw[(size_t)(o0 + s) * rows_total + r0 + t] += sums[s][t];
        }
    }
}

void dg_conv_weight_grad_dots_avx512(const dg_conv_args *l, const float *x, const float *dz, int n,
                                     float *dw)
{
    int rows_total = l->in.c * l->k * l->k;
    for (int o0 = 0; o0 < l->units; o0 += DOT_O) {
        for (int r0 = 0; r0 < rows_total; r0 += DOT_R) {
            weight_dots_tile(l, x, dz, n, o0, r0, dw);
        }
    }
}

#endif
