/*
 * conv_avx512.c - forward convolution without im2col, with AVX-512 intrinsics, used by
 * conv2d.c when the AVX-512 kernels are in use.
 *
 * Legend: C input channels, H/W input size, K kernel side, O output channels,
 * OH/OW output size, q = i*W + j a position in the input's row-major plane.
 *
 * Read the output as if it were W wide instead of OW: output (i, j) sits at q = i*W + j,
 * and the input patch row (c, u, v) it needs is x[c][u][v + q]. So for a fixed (c, u, v)
 * the inputs of consecutive positions are consecutive floats of x, and the product
 * w [O][CKK] * patches [CKK][q] reads its right-hand side straight from x, shifted by
 * c*H*W + u*W + v: no im2col copy, no packing. The columns j >= OW of this wide output
 * are computed and thrown away (OW/W of the work is kept: 11/13 for the second
 * convolution of seed-cnn), and positions stop at the last real one,
 * q_end = (OH-1)*W + OW, which keeps every read inside x.
 *
 * A tile is 8 output channels x 48 positions: 24 accumulators, and per (c, u, v) three
 * loads of x, eight broadcasts of weights read in place, 24 FMAs. The real outputs of a
 * vector are consecutive in y (row i's last column is followed by row i+1's first), so
 * bias, ReLU, a compress of the real lanes and one masked store put them in place.
 * Tiles are numbered channel-block-major, so that a range of tiles given to one thread
 * covers whole output planes (the next layer, split by planes, then mostly reads what its
 * own core wrote); each element's sum runs over (c, u, v) in the same order whatever the
 * split, so results do not depend on the thread count.
 */
#include "nn/cpu/cpu.h"

#if defined(__AVX512F__)

#include <immintrin.h>
#include <math.h>

#define ROWS 8  /* output channels per tile */
#define COLS 48 /* positions per tile: three vectors */

static __mmask16 lanes(int n)
{
    return n <= 0 ? 0 : n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1u);
}

/* v where v >= floor or v is NaN, else floor */
static inline __m512 relu_floor(__m512 v, __m512 floor)
{
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, floor, _CMP_LT_OQ), v, floor);
}

/* One past the last position of the wide output that holds a real output. */
static int window_end(const dg_conv_args *l)
{
    return (l->out.h - 1) * l->in.w + l->out.w;
}

int dg_conv_window_tiles(const dg_conv_args *l)
{
    return (l->units + ROWS - 1) / ROWS * ((window_end(l) + COLS - 1) / COLS);
}

/* The real outputs among the 16 positions from q: mask of their lanes, and the index in
 * the output plane of the first (real outputs are consecutive there, row after row). */
static __mmask16 real_lanes(const dg_conv_args *l, int q, int *first_out)
{
    int w = l->in.w, ow = l->out.w;
    int row = q / w, col = q % w;
    *first_out = row * ow + (col < ow ? col : ow);
    /* lane b's column: col + b, wrapped into [0, w) (more than once when w < 16) */
    __m512i cols =
        _mm512_add_epi32(_mm512_set1_epi32(col),
                         _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
    __m512i width = _mm512_set1_epi32(w);
    __mmask16 over;
    while ((over = _mm512_cmpge_epi32_mask(cols, width))) {
        cols = _mm512_mask_sub_epi32(cols, over, cols, width);
    }
    return _mm512_cmplt_epi32_mask(cols, _mm512_set1_epi32(ow)) & lanes(window_end(l) - q);
}

/* The real outputs of v at the lanes of `real`, packed, to dst */
static inline void store_real(float *dst, __m512 v, __mmask16 real)
{
    /* packing in a register and a plain masked store: a compressing store to memory is
     * microcoded on some CPUs */
    __m512 packed = _mm512_maskz_compress_ps(real, v);
    _mm512_mask_storeu_ps(dst, lanes(__builtin_popcount(real)), packed);
}

/* tile[r][q] = sum over (c, u, v) of w[o0 + r][c][u][v] * x[c][u][v + q0 + q] */
static void window_sums(const dg_conv_args *l, const float *x, int o0, int q0,
                        float tile[ROWS][COLS])
{
    int channels = l->in.c, h = l->in.h, w = l->in.w, k = l->k;
    size_t ckk = (size_t)channels * k * k;
    int left = window_end(l) - q0;
    __mmask16 m0 = lanes(left), m1 = lanes(left - 16), m2 = lanes(left - 32);
    const float *wr[ROWS];
    for (int r = 0; r < ROWS; r++) {
        /* rows past the last channel repeat the block's first; they are not stored */
        int o = o0 + r < l->units ? o0 + r : o0;
        wr[r] = l->w + (size_t)o * ckk;
    }
    __m512 acc[ROWS][3];
#pragma GCC unroll 8
    for (int r = 0; r < ROWS; r++) {
        acc[r][0] = acc[r][1] = acc[r][2] = _mm512_setzero_ps();
    }
    size_t p = 0;
    for (int c = 0; c < channels; c++) {
        for (int u = 0; u < k; u++) {
            const float *xu = x + ((size_t)c * h + u) * w + q0;
            for (int v = 0; v < k; v++, p++) {
                __m512 b0 = _mm512_maskz_loadu_ps(m0, xu + v);
                __m512 b1 = _mm512_maskz_loadu_ps(m1, xu + v + 16);
                __m512 b2 = _mm512_maskz_loadu_ps(m2, xu + v + 32);
#pragma GCC unroll 8
                for (int r = 0; r < ROWS; r++) {
                    __m512 a = _mm512_set1_ps(wr[r][p]);
                    acc[r][0] = _mm512_fmadd_ps(a, b0, acc[r][0]);
                    acc[r][1] = _mm512_fmadd_ps(a, b1, acc[r][1]);
                    acc[r][2] = _mm512_fmadd_ps(a, b2, acc[r][2]);
                }
            }
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < ROWS; r++) {
        _mm512_store_ps(tile[r], acc[r][0]);
        _mm512_store_ps(tile[r] + 16, acc[r][1]);
        _mm512_store_ps(tile[r] + 32, acc[r][2]);
    }
}

/* Where the real outputs among positions q0..q0+47 go: for each of the three vectors,
 * the mask of real lanes and the output index of the first. */
typedef struct window_targets {
    __mmask16 real[3];
    int at[3];
} window_targets;

static void find_targets(const dg_conv_args *l, int q0, window_targets *to)
{
    for (int i = 0; i < 3; i++) {
        to->real[i] = real_lanes(l, q0 + 16 * i, &to->at[i]);
    }
}

/* y[o0 + r] at the real outputs among the tile's positions = bias[o0 + r] + tile[r],
 * ReLU'd when the layer has it. The tile is read back at the offsets it was written at,
 * so the loads take their values straight from the pending stores. */
static void window_store(const dg_conv_args *l, float tile[ROWS][COLS], int o0,
                         const window_targets *to, float *y)
{
    size_t plane = (size_t)l->out.h * l->out.w;
    /* NaN stays NaN under the ReLU, as in the reference's (s < 0 ? 0 : s) */
    __m512 floor = _mm512_set1_ps(l->relu ? 0.0f : -INFINITY);
    int rows = l->units - o0 < ROWS ? l->units - o0 : ROWS;
    for (int r = 0; r < rows; r++) {
        __m512 bias = _mm512_set1_ps(l->b[o0 + r]);
        float *yr = y + (size_t)(o0 + r) * plane;
        for (int i = 0; i < 3; i++) {
            __m512 v = _mm512_add_ps(_mm512_load_ps(tile[r] + 16 * i), bias);
            store_real(yr + to->at[i], relu_floor(v, floor), to->real[i]);
        }
    }
}

void dg_conv_window_avx512(const dg_conv_args *l, const float *x, float *y, int first, int end)
{
    int per_block = (window_end(l) + COLS - 1) / COLS;
    float tile[ROWS][COLS] __attribute__((aligned(64)));
    for (int t = first; t < end; t++) {
        int o0 = t / per_block * ROWS, q0 = t % per_block * COLS;
        window_targets to;
        find_targets(l, q0, &to);
        window_sums(l, x, o0, q0, tile);
        window_store(l, tile, o0, &to, y);
    }
}

#endif
