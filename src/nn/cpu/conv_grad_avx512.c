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
 * Input gradient, one example, dx^T [H*W][C] = padded dz windows [H*W][O*K*K] * w_t:
 *   dx[c][i][j] = sum over o, u, v of dzp[o][i+u][j+v] * w_t[o][u][v][c]
 * with dzp the output gradient padded by K-1 on every side, read in place, and
 * w_t[o][u][v][c] = w[o][c][K-1-u][K-1-v] (the weights flipped, channels last).
 *
 * Each element's sum runs in the same order on every call.
 */
#include "nn/cpu/cpu.h"

#if defined(__AVX512F__)

#include "nn/cpu/avx512.h"

#define TILE_R 12 /* patch rows per tile */
#define TILE_O 32 /* output channels per tile: two vectors */

static __mmask16 lanes(int n)
{
    return n <= 0 ? 0 : n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1u);
}

/* The tile of patch rows r0.. and output channels o0.. over n examples, added into dw. */
static void weight_grad_tile(const dg_conv_args *l, const float *x, const float *dz_t, int n,
                             int r0, int o0, float *dw)
{
    int k = l->k, kk = k * k, w = l->in.w, oh = l->out.h, ow = l->out.w, o_count = l->units;
    int rows_total = l->in.c * kk;
    size_t x_size = (size_t)l->in.c * l->in.h * w, dz_size = (size_t)oh * ow * o_count;
    __mmask16 m0 = lanes(o_count - o0), m1 = lanes(o_count - o0 - 16);
    size_t x_at[TILE_R];
    for (int t = 0; t < TILE_R; t++) {
        /* rows past the last repeat the tile's first; they are not stored */
        int r = r0 + t < rows_total ? r0 + t : r0;
        int c = r / kk, u = r % kk / k, v = r % k;
        x_at[t] = ((size_t)c * l->in.h + u) * w + v;
    }
    __m512 acc[TILE_R][2];
#pragma GCC unroll 12
    for (int t = 0; t < TILE_R; t++) {
        acc[t][0] = acc[t][1] = _mm512_setzero_ps();
    }
    for (int b = 0; b < n; b++) {
        const float *xb = x + (size_t)b * x_size;
        const float *dzb = dz_t + (size_t)b * dz_size + o0;
        for (int i = 0; i < oh; i++) {
            const float *xi = xb + (size_t)i * w;
            const float *dzi = dzb + (size_t)i * ow * o_count;
            for (int j = 0; j < ow; j++) {
                __m512 g0 = _mm512_maskz_loadu_ps(m0, dzi + (size_t)j * o_count);
                __m512 g1 = _mm512_maskz_loadu_ps(m1, dzi + (size_t)j * o_count + 16);
#pragma GCC unroll 12
                for (int t = 0; t < TILE_R; t++) {
                    __m512 a = _mm512_set1_ps(xi[x_at[t] + j]);
                    acc[t][0] = _mm512_fmadd_ps(a, g0, acc[t][0]);
                    acc[t][1] = _mm512_fmadd_ps(a, g1, acc[t][1]);
                }
            }
        }
    }
    /* every accumulator indexed by constants, so that all of them stay in registers */
    float tile[TILE_R][TILE_O] __attribute__((aligned(64)));
#pragma GCC unroll 12
    for (int t = 0; t < TILE_R; t++) {
        _mm512_store_ps(tile[t], acc[t][0]);
        _mm512_store_ps(tile[t] + 16, acc[t][1]);
    }
    int rows = rows_total - r0 < TILE_R ? rows_total - r0 : TILE_R;
    int cols = o_count - o0 < TILE_O ? o_count - o0 : TILE_O;
    for (int c = 0; c < cols; c++) {
        float *dwo = dw + (size_t)(o0 + c) * rows_total + r0;
        for (int t = 0; t < rows; t++) {
            dwo[t] += tile[t][c];
        }
    }
}

void dg_conv_output_grad_avx512(const float *y, const float *dy, int o_count, int p, bool relu,
                                float *dz, float *dz_t, float *db)
{
    /* each plane in one sequential pass, then the transpose out of the cache */
    for (int o = 0; o < o_count; o++) {
        db[o] +=
            dg_relu_grad_sum(y + (size_t)o * p, dy + (size_t)o * p, dz + (size_t)o * p, p, relu);
    }
    for (int o0 = 0; dz_t && o0 < o_count; o0 += 16) {
        int rows = o_count - o0 < 16 ? o_count - o0 : 16;
        __mmask16 row_lanes = lanes(rows);
        for (int p0 = 0; p0 < p; p0 += 16) {
            int cols = p - p0 < 16 ? p - p0 : 16;
            __mmask16 m = lanes(cols);
            __m512 r[16];
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++) {
                r[i] = _mm512_maskz_loadu_ps(i < rows ? m : 0, dz + (size_t)(o0 + i) * p + p0);
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

void dg_conv_weight_grad_avx512(const dg_conv_args *l, const float *x, const float *dz_t, int n,
                                float *dw)
{
    int rows_total = l->in.c * l->k * l->k;
    for (int o0 = 0; o0 < l->units; o0 += TILE_O) {
        for (int r0 = 0; r0 < rows_total; r0 += TILE_R) {
            weight_grad_tile(l, x, dz_t, n, r0, o0, dw);
        }
    }
}

/* The tile of input positions q0.. (of H*W) and input channels c0.. of one example's
 * input gradient. */
static void input_grad_tile(const dg_conv_args *l, const float *dzp, const float *w_t, int q0,
                            int c0, float *dx)
{
    int k = l->k, c_count = l->in.c, h = l->in.h, w = l->in.w, positions = h * w;
    int pw = w + k - 1, plane = (h + k - 1) * pw;
    __mmask16 m0 = lanes(c_count - c0), m1 = lanes(c_count - c0 - 16);
    int at[TILE_R];
    for (int t = 0; t < TILE_R; t++) {
        /* positions past the last repeat the tile's first; they are not stored */
        int q = q0 + t < positions ? q0 + t : q0;
        at[t] = q / w * pw + q % w;
    }
    __m512 acc[TILE_R][2];
#pragma GCC unroll 12
    for (int t = 0; t < TILE_R; t++) {
        acc[t][0] = acc[t][1] = _mm512_setzero_ps();
    }
    const float *wk = w_t + c0;
    for (int o = 0; o < l->units; o++) {
        for (int u = 0; u < k; u++) {
            const float *row = dzp + (size_t)o * plane + (size_t)u * pw;
            for (int v = 0; v < k; v++, wk += c_count) {
                __m512 b0 = _mm512_maskz_loadu_ps(m0, wk);
                __m512 b1 = _mm512_maskz_loadu_ps(m1, wk + 16);
#pragma GCC unroll 12
                for (int t = 0; t < TILE_R; t++) {
                    __m512 a = _mm512_set1_ps(row[at[t] + v]);
                    acc[t][0] = _mm512_fmadd_ps(a, b0, acc[t][0]);
                    acc[t][1] = _mm512_fmadd_ps(a, b1, acc[t][1]);
                }
            }
        }
    }
    float tile[TILE_R][TILE_O] __attribute__((aligned(64)));
#pragma GCC unroll 12
    for (int t = 0; t < TILE_R; t++) {
        _mm512_store_ps(tile[t], acc[t][0]);
        _mm512_store_ps(tile[t] + 16, acc[t][1]);
    }
    int rows = positions - q0 < TILE_R ? positions - q0 : TILE_R;
    int cols = c_count - c0 < TILE_O ? c_count - c0 : TILE_O;
    for (int c = 0; c < cols; c++) {
        float *dxc = dx + (size_t)(c0 + c) * positions + q0;
        for (int t = 0; t < rows; t++) {
            dxc[t] = tile[t][c];
        }
    }
}

void dg_conv_input_grad_avx512(const dg_conv_args *l, const float *dz_padded, const float *w_t,
                               float *dx)
{
    int positions = l->in.h * l->in.w;
    for (int c0 = 0; c0 < l->in.c; c0 += TILE_O) {
        for (int q0 = 0; q0 < positions; q0 += TILE_R) {
            input_grad_tile(l, dz_padded, w_t, q0, c0, dx);
        }
    }
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
    for (int t = 0; t < DOT_R; t++) {
        int r = r0 + t < rows_total ? r0 + t : r0;
        x_at[t] = ((size_t)(r / kk) * l->in.h + (size_t)(r % kk / k)) * w + (size_t)(r % k);
    }
    __m512 acc[DOT_O][DOT_R];
#pragma GCC unroll 3
    for (int s = 0; s < DOT_O; s++) {
#pragma GCC unroll 9
        for (int t = 0; t < DOT_R; t++) {
            acc[s][t] = _mm512_setzero_ps();
        }
    }
    for (int b = 0; b < n; b++) {
        const float *xb = x + (size_t)b * x_size, *dzb = dz + (size_t)b * dz_size;
        for (int i = 0; i < oh; i++) {
            const float *xi = xb + (size_t)i * w, *dzi = dzb + (size_t)i * ow;
            for (int j = 0; j < ow; j += 16) {
                __mmask16 m = lanes(ow - j);
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
