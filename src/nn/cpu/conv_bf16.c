/*
 * conv_bf16.c - forward convolution in bf16 training without im2col: the product
 * w [O][C*K*K] x patches [C*K*K][positions] with its right-hand side packed straight from
 * the input into the panels of bf16 pairs that the micro-kernel of bf16_panels.h reads.
 *
 * Legend: C input channels, H/W input size, K kernel side, O output channels, OH/OW
 * output size, t = (c*K + u)*K + v a kernel tap, q = i*W + j a position.
 *
 * As conv_avx512.c, the output is computed as if it were W wide: output (i, j) sits at
 * q = i*W + j, and tap t reads x[off(t) + q] with off(t) = c*H*W + u*W + v, so for a fixed
 * tap consecutive positions are consecutive floats of x. A panel of B for positions
 * q0..q0+31 holds, for each pair of taps (2p, 2p+1), the words (x[off(2p) + q],
 * x[off(2p+1) + q]) rounded to bf16: two loads, one conversion, one interleave per 16
 * positions. The weights are packed once per call into panels of MR rows; each panel of B
 * is used by every panel of weights while it sits in the L1 cache. The columns j >= OW of
 * the wide output are computed and dropped when the tile is stored with bias and ReLU;
 * positions stop at (OH-1)*W + OW, which keeps every read inside x.
 *
 * Each output's sum runs over the pairs of taps in order, the same for every example and
 * thread count.
 */
#include "nn/cpu/bf16_panels.h"

#include <math.h>

/* The scratch layout, in 32-bit words: packed weights [O rounded up to MR][pairs], a
 * panel of B [pairs][NR], the tile [O rounded up to MR][NR], tap offsets [C*K*K]. */
static size_t weight_words(const dg_conv_args *l)
{
    size_t ckk = (size_t)l->in.c * l->k * l->k;
    return (size_t)(l->units + MR - 1) / MR * MR * ((ckk + 1) / 2);
}

size_t dg_conv_bf16_work_floats(const dg_conv_args *l)
{
    size_t ckk = (size_t)l->in.c * l->k * l->k, rows = (size_t)(l->units + MR - 1) / MR * MR;
    return weight_words(l) + (ckk + 1) / 2 * NR + rows * NR + ckk + 1;
}

#if defined(DG_HAVE_BF16_KERNELS)

/* One panel of B: dst[p][c] = (x[off[2p] + q0 + c], x[off[2p + 1] + q0 + c]) for
 * c < cols, zeros beyond; the tap past an odd count reads as zeros. */
BF16_TARGET static void pack_taps(const float *x, const int32_t *off, int ckk, int q0, int cols,
                                  uint32_t *dst)
{
    __m512i order = _mm512_load_si512(interleave_words);
    __mmask16 lo = lanes(cols), hi = lanes(cols - 16);
    for (int t = 0; t < ckk; t += 2) {
        const float *even = x + off[t] + q0;
        __m512 e0 = _mm512_maskz_loadu_ps(lo, even), e1 = _mm512_maskz_loadu_ps(hi, even + 16);
        __m512 o0 = _mm512_setzero_ps(), o1 = _mm512_setzero_ps();
        if (t + 1 < ckk) {
            const float *odd = x + off[t + 1] + q0;
            o0 = _mm512_maskz_loadu_ps(lo, odd);
            o1 = _mm512_maskz_loadu_ps(hi, odd + 16);
        }
        uint32_t *d = dst + (size_t)(t / 2) * NR;
        _mm512_storeu_si512(d,
                            _mm512_permutexvar_epi16(order, (__m512i)_mm512_cvtne2ps_pbh(o0, e0)));
        _mm512_storeu_si512(d + 16,
                            _mm512_permutexvar_epi16(order, (__m512i)_mm512_cvtne2ps_pbh(o1, e1)));
    }
}

/* y[o][i*OW + j] = bias[o] + tile[o][q - q0] (ReLU'd when the layer has it) for the real
 * positions q = i*W + j (j < OW) among q0..q0+cols-1. Real positions of one row are
 * consecutive in both, so each row segment is one masked load and store per 16. */
BF16_TARGET static void store_tile(const dg_conv_args *l, const float *tile, int q0, int cols,
                                   float *y)
{
    int w = l->in.w, ow = l->out.w;
    size_t plane = (size_t)l->out.h * ow;
    /* NaN stays NaN under the ReLU, as in the reference's (s < 0 ? 0 : s) */
    __m512 floor = _mm512_set1_ps(l->relu ? 0.0f : -INFINITY);
    for (int q = q0; q < q0 + cols;) {
        int i = q / w, j = q % w;
        int end = q - j + ow < q0 + cols ? q - j + ow : q0 + cols; /* past the segment */
        if (j < ow) {
            int n = end - q;
            for (int o = 0; o < l->units; o++) {
                const float *src = tile + (size_t)o * NR + (q - q0);
                float *dst = y + (size_t)o * plane + (size_t)i * ow + j;
                __m512 bias = _mm512_set1_ps(l->b[o]);
                for (int s = 0; s < n; s += 16) {
                    __mmask16 m = lanes(n - s);
                    __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, src + s), bias);
                    v = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, floor, _CMP_LT_OQ), v, floor);
                    _mm512_mask_storeu_ps(dst + s, m, v);
                }
            }
        }
        q = q - j + w; /* the next row's first position */
    }
}

BF16_TARGET static void conv_forward(const dg_conv_args *l, const float *x, float *y, int n,
                                     float *work)
{
    int c_in = l->in.c, h = l->in.h, w = l->in.w, k = l->k, ckk = c_in * k * k;
    int kp = (ckk + 1) / 2;
    size_t rows = (size_t)(l->units + MR - 1) / MR * MR;
    uint32_t *pa = (uint32_t *)work;               /* [rows / MR][kp][MR] */
    uint32_t *pb = pa + weight_words(l);           /* [kp][NR] */
    float *tile = (float *)(pb + (size_t)kp * NR); /* [rows][NR] */
    int32_t *off = (int32_t *)(tile + rows * NR);  /* [ckk] */
    for (int c = 0, t = 0; c < c_in; c++) {
        for (int u = 0; u < k; u++) {
            for (int v = 0; v < k; v++, t++) {
                off[t] = (c * h + u) * w + v;
            }
        }
    }
    for (int ip = 0; ip < l->units; ip += MR) {
        int r = l->units - ip < MR ? l->units - ip : MR;
        pack_pairs_transposed(l->w + (size_t)ip * ckk, ckk, r, ckk, pa + (size_t)ip * kp, MR, MR);
    }
    int q_end = (l->out.h - 1) * w + l->out.w;
    size_t in_size = (size_t)c_in * h * w, out_size = (size_t)l->units * l->out.h * l->out.w;
    for (int b = 0; b < n; b++) {
        const float *xb = x + (size_t)b * in_size;
        for (int q0 = 0; q0 < q_end; q0 += NR) {
            int cols = q_end - q0 < NR ? q_end - q0 : NR;
            pack_taps(xb, off, ckk, q0, cols, pb);
            for (int ip = 0; ip < l->units; ip += MR) {
                int r = l->units - ip < MR ? l->units - ip : MR;
                micro_kernel(kp, pa + (size_t)ip * kp, pb, tile + (size_t)ip * NR, NR, 1.0f, 0.0f,
                             r, NR, false);
            }
            store_tile(l, tile, q0, cols, y + (size_t)b * out_size);
        }
    }
}

#endif /* DG_HAVE_BF16_KERNELS */

bool dg_conv_forward_bf16(const dg_conv_args *l, const float *x, float *y, int n, float *work)
{
#if defined(DG_HAVE_BF16_KERNELS)
    if (dg_bf16_available()) {
        conv_forward(l, x, y, n, work);
        return true;
    }
#endif
    (void)l, (void)x, (void)y, (void)n, (void)work;
    return false;
}
