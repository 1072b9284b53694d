/*
 * conv_tiles.h - the bookkeeping that the fp32 (conv_grad_avx512.c) and bf16
 * (conv_grad_bf16.c) convolution gradient kernels share around their register tiles: where
 * a patch row starts in an example's input, which weight-gradient tile shape fits the
 * layer, and a finished tile added into dw. Plain C, so that files built for different
 * instruction sets can include it.
 */
#ifndef DG_CPU_CONV_TILES_H
#define DG_CPU_CONV_TILES_H

#include "nn/cpu/cpu.h"

#include <stddef.h>

/* Patch row r = (c, u, v) reads the input from ((c * h + u) * w + v); the offsets of rows
 * r0 .. r0 + rows - 1 into x_at. Rows past the last repeat r0 (a tile's spare rows, which
 * are computed but never stored). */
static inline void dg_patch_row_offsets(const dg_conv_args *l, int r0, int rows, size_t *x_at)
{
    int k = l->k, kk = k * k, rows_total = l->in.c * kk;
    for (int t = 0; t < rows; t++) {
        int r = r0 + t < rows_total ? r0 + t : r0;
        x_at[t] = ((size_t)(r / kk) * l->in.h + (size_t)(r % kk / k)) * l->in.w + (size_t)(r % k);
    }
}

/* True when tiles of 8 rows x 48 output channels leave fewer channels of the last tile
 * empty than tiles of 12 rows x 32 channels. */
static inline bool dg_weight_grad_wide(const dg_conv_args *l)
{
    int o = l->units;
    return (o + 47) / 48 * 48 - o < (o + 31) / 32 * 32 - o;
}

/* Adds a finished tile (patch rows r0.. down, output channels o0.. across, 16 * vecs of
 * them; rows and channels past the layer's are dropped) into dw[o][r]. */
static inline void dg_weight_tile_add(const dg_conv_args *l, const float (*tile)[48], int r0,
                                      int o0, int rows, int vecs, float *dw)
{
    int rows_total = l->in.c * l->k * l->k, o_count = l->units;
    int real_rows = rows_total - r0 < rows ? rows_total - r0 : rows;
    int cols = o_count - o0 < 16 * vecs ? o_count - o0 : 16 * vecs;
    for (int c = 0; c < cols; c++) {
        float *dwo = dw + (size_t)(o0 + c) * rows_total + r0;
        for (int t = 0; t < real_rows; t++) {
            dwo[t] += tile[t][c];
        }
    }
}

#endif
