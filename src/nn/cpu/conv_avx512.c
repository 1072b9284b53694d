/*
 * conv_avx512.c - forward convolution without im2col, with AVX-512 intrinsics, used by
 * conv2d.c when the AVX-512 kernels are in use.
 *
 * Legend: C input channels, H/W input size, K kernel side, O output channels,
 * OH/OW output size, P = OH*OW output positions, p = i*OW + j one of them.
 *
 * The input is first copied K times, each copy shifted left by one more column and cut to
 * OW columns: xs[c][v][r][j] = x[c][r][j+v], for j < OW (K*C*H*OW floats, a few per cent of
 * the products' work). Output (i, j) needs x[c][i+u][j+v] = xs[c][v][i+u][j], which sits at
 * u*OW + p in the plane xs[c][v]: for a fixed tap (c, u, v) the inputs of consecutive
 * output positions are consecutive floats. The product w [O][CKK] * patches [CKK][P] then
 * reads its right-hand side from xs with plain loads, every lane a real output: nothing is
 * computed to be thrown away, and the outputs of a vector are consecutive in y.
 *
 * A tile is 8 output channels x 48 positions: 24 accumulators, and per (c, u, v) three
 * loads, eight broadcasts of weights read in place, 24 FMAs, in one loop over the C*K*K
 * taps whose offsets in xs come from a table beside the copies (nested loops over c, u
 * and v, three taps each, cost a tenth of the time in their overheads); the last tile of a plane
 * has as many vectors as it needs (1 to 3). Bias and ReLU are applied as the sums are
 * stored. Tiles are numbered channel-block-major, so that a range of tiles given to one
 * thread covers whole output planes (the next layer, split by planes, then mostly reads
 * what its own core wrote); each element's sum runs over (c, u, v) in the same order
 * whatever the split, so results do not depend on the thread count.
 *
 * When 2x2 max pooling follows (training passes), only the rows its windows cover are
 * summed, the first 2*(OH/2) (10 of seed-cnn's 11 in its second convolution), into a block
 * of ROWS planes that is pooled (dg_maxpool2_plane) while it is still in the L1 cache: the
 * output itself is never stored, the pooling reads nothing from memory, and its output and
 * argmax are the bits the two layers give apart.
 */
#include "nn/cpu/cpu.h"

#if defined(__AVX512F__)

#include "nn/cpu/avx512.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

#define ROWS DG_CONV_BLOCK_CHANNELS /* output channels per tile */
#define COLS 48                     /* positions per tile: three vectors */

/* v where v >= floor or v is NaN, else floor */
static inline __m512 relu_floor(__m512 v, __m512 floor)
{
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, floor, _CMP_LT_OQ), v, floor);
}

static int positions(const dg_conv_args *l)
{
    return l->out.h * l->out.w;
}

/* Floats of the K shifted copies */
static size_t copies_floats(const dg_conv_args *l)
{
    return (size_t)l->k * l->in.c * l->in.h * l->out.w;
}

size_t dg_conv_shifted_floats(const dg_conv_args *l)
{
    /* the copies, then the table of each tap's offset in them (C*K*K 32-bit integers) */
    return copies_floats(l) + (size_t)l->in.c * l->k * l->k;
}

void dg_conv_shift_input(const dg_conv_args *l, const float *x, float *xs)
{
    int h = l->in.h, w = l->in.w, ow = l->out.w, k = l->k;
    for (int c = 0; c < l->in.c; c++) {
        const float *plane = x + (size_t)c * h * w;
        for (int v = 0; v < k; v++) {
            float *dst = xs + ((size_t)c * k + v) * h * ow;
            /* rows are short (11 floats for seed-cnn): masked vectors, not memcpy calls */
            for (int r = 0; r < h; r++) {
                const float *src = plane + (size_t)r * w + v;
                for (int j = 0; j < ow; j += 16) {
                    __mmask16 m = dg_lanes(ow - j);
                    _mm512_mask_storeu_ps(dst + (size_t)r * ow + j, m,
                                          _mm512_maskz_loadu_ps(m, src + j));
                }
            }
        }
    }
    int32_t *at = (int32_t *)(xs + copies_floats(l));
    for (int c = 0, t = 0; c < l->in.c; c++) {
        for (int u = 0; u < k; u++) {
            for (int v = 0; v < k; v++, t++) {
                at[t] = (int32_t)((((size_t)c * k + v) * h + u) * ow);
            }
        }
    }
}

int dg_conv_window_tiles(const dg_conv_args *l)
{
    return (l->units + ROWS - 1) / ROWS * ((positions(l) + COLS - 1) / COLS);
}

/* The sums of the tile of channels o0.. and positions p0.. (of the first p_end) over its
 * first nv vectors (a constant where it is inlined), bias and ReLU, stored into the block
 * y [ROWS][ld] of channels o0..: y + r*ld + p holds channel o0 + r at position p. */
static inline __attribute__((always_inline)) void window_tile(const dg_conv_args *l,
                                                              const float *xs, int o0, int p0,
                                                              int p_end, const int nv, float *y,
                                                              size_t ld)
{
    int channels = l->in.c, k = l->k;
    size_t ckk = (size_t)channels * k * k;
    int left = p_end - p0;
    __mmask16 m[3] = {dg_lanes(left), dg_lanes(left - 16), dg_lanes(left - 32)};
    const float *wr[ROWS];
    for (int r = 0; r < ROWS; r++) {
        /* rows past the last channel repeat the block's first; they are not stored */
        int o = o0 + r < l->units ? o0 + r : o0;
        wr[r] = l->w + (size_t)o * ckk;
    }
    __m512 acc[ROWS][3];
#pragma GCC unroll 8
    for (int r = 0; r < ROWS; r++) {
#pragma GCC unroll 3
        for (int i = 0; i < nv; i++) {
            acc[r][i] = _mm512_setzero_ps();
        }
    }
    /* one loop over the taps, each tap's place in xs from the table after it */
    const int32_t *at = (const int32_t *)(xs + copies_floats(l));
    const float *x0 = xs + p0;
    for (size_t t = 0; t < ckk; t++) {
        const float *src = x0 + at[t];
        __m512 b[3];
#pragma GCC unroll 3
        for (int i = 0; i < nv; i++) {
            b[i] = _mm512_maskz_loadu_ps(m[i], src + 16 * i);
        }
#pragma GCC unroll 8
        for (int r = 0; r < ROWS; r++) {
            __m512 a = _mm512_set1_ps(wr[r][t]);
#pragma GCC unroll 3
            for (int i = 0; i < nv; i++) {
                acc[r][i] = _mm512_fmadd_ps(a, b[i], acc[r][i]);
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
                _mm512_mask_storeu_ps(yr + 16 * i, m[i], relu_floor(s, floor));
            }
        }
    }
}

/* The tile of channels o0.. and positions p0.. of the first p_end, into the block y [ROWS][ld]
 * of channels o0.. */
static void window_tile_any(const dg_conv_args *l, const float *xs, int o0, int p0, int p_end,
                            float *y, size_t ld)
{
    int vectors = (p_end - p0 + 15) / 16;
    if (vectors >= 3) {
        window_tile(l, xs, o0, p0, p_end, 3, y, ld);
    } else if (vectors == 2) {
        window_tile(l, xs, o0, p0, p_end, 2, y, ld);
    } else {
        window_tile(l, xs, o0, p0, p_end, 1, y, ld);
    }
}

void dg_conv_window_avx512(const dg_conv_args *l, const float *xs, float *y, int first, int end)
{
    int p = positions(l), per_block = (p + COLS - 1) / COLS;
    for (int t = first; t < end; t++) {
        int o0 = t / per_block * ROWS, p0 = t % per_block * COLS;
        window_tile_any(l, xs, o0, p0, p, y + (size_t)o0 * p, (size_t)p);
    }
}

void dg_conv_window_pooled_avx512(const dg_conv_args *l, const float *xs, float *block,
                                  float *pooled, int32_t *arg)
{
    int p_end = dg_conv_pooled_plane_floats(l); /* only the rows the windows cover */
    for (int o0 = 0; o0 < l->units; o0 += ROWS) {
        for (int p0 = 0; p0 < p_end; p0 += COLS) {
            window_tile_any(l, xs, o0, p0, p_end, block, (size_t)p_end);
        }
        dg_conv_pool_block(l, block, o0, pooled, arg);
    }
}

#endif
