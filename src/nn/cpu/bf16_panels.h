/*
 * bf16_panels.h - what the bf16 kernels (gemm_bf16.c, conv_bf16.c, conv_grad_bf16.c) share:
 * rounding floats to bf16 in pairs, packing them into panels, and the micro-kernel that multiplies
 * an MR-row panel of A by an NR-column panel of B with VDPBF16PS into fp32 (gemm_bf16.c
 * describes the layout). Private to nn/cpu; every function carries the target attribute,
 * so the files build without -mavx512bf16 and run only where the CPU has it.
 */
#ifndef DG_BF16_PANELS_H
#define DG_BF16_PANELS_H

#include "nn/cpu/cpu.h"

#if defined(__x86_64__) && (defined(__clang__) ? __clang_major__ >= 9 : __GNUC__ >= 10)
#define DG_HAVE_BF16_KERNELS 1
#endif

#if defined(DG_HAVE_BF16_KERNELS)

#include <immintrin.h>
#include <stdint.h>

#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

#define MR 12 /* rows of a panel of A, of the micro-kernel's tile */
#define NR 32 /* columns of a panel of B, of the tile */

/* Word 2j takes word j of a vector, word 2j + 1 word 16 + j: two rows of 16 bf16
 * interleaved into 16 pairs. */
static const uint16_t interleave_words[32]
    __attribute__((aligned(64))) = {0, 16, 1, 17, 2,  18, 3,  19, 4,  20, 5,  21, 6,  22, 7,  23,
                                    8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};

BF16_TARGET static inline __mmask16 lanes(int n)
{
    return n <= 0 ? 0 : n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1u);
}

/* The first n of 32 floats at src (zeros after), as 32 bf16 words in the same order. */
BF16_TARGET static inline __m512i bf16_words(const float *src, int n)
{
    __m512 lo = _mm512_maskz_loadu_ps(lanes(n), src);
    __m512 hi = _mm512_maskz_loadu_ps(lanes(n - 16), src + 16);
    return (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
}

/* 16 words (e[i], o[i]) rounded to bf16, e in the low half: the pairs VDPBF16PS takes. */
BF16_TARGET static inline __m512i pair_words(__m512 e, __m512 o)
{
    return _mm512_permutexvar_epi16(_mm512_load_si512(interleave_words),
                                    (__m512i)_mm512_cvtne2ps_pbh(o, e));
}

/* Transposes a 16x16 block of 32-bit words: r[i] holds row i; afterwards r[j] holds
 * column j. Unpacks pair rows within 128-bit lanes, then 64-bit unpacks make 4x4 blocks,
 * and two rounds of lane shuffles put the blocks in place. */
BF16_TARGET static inline void transpose_words(__m512i r[16])
{
    __m512i t[16], u[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        u[4 * i + 0] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
        u[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
    }
    for (int j = 0; j < 4; j++) {
        __m512i v = _mm512_shuffle_i32x4(u[j], u[4 + j], 0x88);
        __m512i w = _mm512_shuffle_i32x4(u[j], u[4 + j], 0xDD);
        __m512i v2 = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0x88);
        __m512i w2 = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0xDD);
        r[j] = _mm512_shuffle_i32x4(v, v2, 0x88);
        r[8 + j] = _mm512_shuffle_i32x4(v, v2, 0xDD);
        r[4 + j] = _mm512_shuffle_i32x4(w, w2, 0x88);
        r[12 + j] = _mm512_shuffle_i32x4(w, w2, 0xDD);
    }
}

/* Rows stored along k: dst[p * stride + i] = (src_i[2p], src_i[2p + 1]) for rows
 * i < n_rows (at most 16; src_i = src + i * ld, kc floats each) and p < ceil(kc / 2);
 * lanes n_rows..store_lanes-1 get zeros. */
BF16_TARGET static inline void pack_pairs_transposed(const float *src, int ld, int n_rows, int kc,
                                                     uint32_t *dst, int stride, int store_lanes)
{
    __mmask16 store = lanes(store_lanes);
    for (int k0 = 0; k0 < kc; k0 += 32) {
        int n_k = kc - k0 < 32 ? kc - k0 : 32;
        __m512i r[16];
        for (int i = 0; i < 16; i++) {
            r[i] = i < n_rows ? bf16_words(src + (size_t)i * ld + k0, n_k) : _mm512_setzero_si512();
        }
        transpose_words(r);
        for (int p = 0; p < (n_k + 1) / 2; p++) {
            _mm512_mask_storeu_epi32(dst + (size_t)(k0 / 2 + p) * stride, store, r[p]);
        }
    }
}

/* Columns stored along the row: dst[p * stride + j] = (src[2p][j], src[2p + 1][j]) for
 * j < cols (at most 16) and p < ceil(kc / 2), with src[k] = src + k * ld; the row past an
 * odd kc and lanes cols..store_lanes-1 read as zeros. */
BF16_TARGET static inline void pack_pairs_interleaved(const float *src, int ld, int kc, int cols,
                                                      uint32_t *dst, int stride, int store_lanes)
{
    __m512i order = _mm512_load_si512(interleave_words);
    __mmask16 load = lanes(cols), store = lanes(store_lanes);
    for (int k = 0; k < kc; k += 2) {
        __m512 even = _mm512_maskz_loadu_ps(load, src + (size_t)k * ld);
        __m512 odd = k + 1 < kc ? _mm512_maskz_loadu_ps(load, src + (size_t)(k + 1) * ld)
                                : _mm512_setzero_ps();
        __m512i words = (__m512i)_mm512_cvtne2ps_pbh(odd, even);
        _mm512_mask_storeu_epi32(dst + (size_t)(k / 2) * stride, store,
                                 _mm512_permutexvar_epi16(order, words));
    }
}

/* The tile stored transposed: element (r, col) of the tile goes to c[col][r]. */
BF16_TARGET static inline void store_transposed(const __m512 acc[MR][2], float *c, int ldc,
                                                float alpha, float beta, int rows, int cols)
{
    float tile[MR][NR] __attribute__((aligned(64)));
    for (int r = 0; r < MR; r++) {
        _mm512_store_ps(tile[r], acc[r][0]);
        _mm512_store_ps(tile[r] + 16, acc[r][1]);
    }
    for (int col = 0; col < cols; col++) {
        float *cc = c + (size_t)col * ldc;
        for (int r = 0; r < rows; r++) {
            float v = alpha * tile[r][col];
            cc[r] = beta != 0.0f ? v + beta * cc[r] : v;
        }
    }
}

/* C tile (rows x cols valid, at most MR x NR) = alpha * pa * pb + beta * C over kp pairs,
 * or its transpose when c_trans (then c points at the tile's transposed corner). */
BF16_TARGET static inline void micro_kernel(int kp, const uint32_t *restrict pa,
                                            const uint32_t *restrict pb, float *c, int ldc,
                                            float alpha, float beta, int rows, int cols,
                                            bool c_trans)
{
    __m512 acc[MR][2];
#pragma GCC unroll 12
    for (int r = 0; r < MR; r++) {
        acc[r][0] = _mm512_setzero_ps();
        acc[r][1] = _mm512_setzero_ps();
    }
    for (int p = 0; p < kp; p++) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(pb);
        __m512bh b1 = (__m512bh)_mm512_loadu_si512(pb + 16);
#pragma GCC unroll 12
        for (int r = 0; r < MR; r++) {
            __m512bh av = (__m512bh)_mm512_set1_epi32((int)pa[r]);
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], av, b0);
            acc[r][1] = _mm512_dpbf16_ps(acc[r][1], av, b1);
        }
        pa += MR;
        pb += NR;
    }
    if (c_trans) {
        store_transposed(acc, c, ldc, alpha, beta, rows, cols);
        return;
    }
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    __mmask16 m0 = lanes(cols), m1 = lanes(cols - 16);
    for (int r = 0; r < rows; r++) {
        float *cr = c + (size_t)r * ldc;
        __m512 v0 = _mm512_mul_ps(va, acc[r][0]);
        __m512 v1 = _mm512_mul_ps(va, acc[r][1]);
        if (beta != 0.0f) {
            v0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, cr), v0);
            v1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, cr + 16), v1);
        }
        _mm512_mask_storeu_ps(cr, m0, v0);
        _mm512_mask_storeu_ps(cr + 16, m1, v1);
    }
}

#endif /* DG_HAVE_BF16_KERNELS */

#endif
