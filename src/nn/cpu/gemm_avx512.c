/*
 * gemm_avx512.c - single-precision GEMM with AVX-512 intrinsics, used by dg_sgemm when
 * the build targets a CPU with AVX-512F (-march=native on such a machine).
 *
 * Row-major C[M][N] = alpha * op(A)[M][K] op(B)[K][N] + beta * C. The classic blocking:
 * K is cut into blocks of KC, N into blocks of NC, M into blocks of MC; for each block
 * op(B) is packed into panels of NR = 32 columns ([KC][32] each) and op(A) into panels of
 * MR = 12 rows ([KC][12] each), both zero-padded at the edges, so the transposes cost
 * only in packing. The micro-kernel keeps a 12x32 tile of C in 24 zmm registers and adds
 * one rank-1 update per k: 2 loads of B, 12 broadcasts of A, 24 FMAs. Every element's
 * sum runs over k in the same order on every call, so results are reproducible.
 * Packing buffers are per thread and static: no allocation per call. When C has only a
 * few columns, its transpose is computed instead, so the wide tiles stay full.
 */
#include "nn/cpu/cpu.h"

#if defined(__AVX512F__)

#include "nn/cpu/avx512.h"

#include <string.h>

#define MR 12
#define NR 32
#define KC 256
#define MC 96
#define NC 512

static _Thread_local float packed_a[MC * KC] __attribute__((aligned(64)));
static _Thread_local float packed_b[KC * NC] __attribute__((aligned(64)));

static __mmask16 first_lanes(int n)
{
    return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1u);
}

/* dst[p * stride + i] = src_i[p] for i < n_rows (at most 16), p < kc: n_rows rows read
 * along p (src_i = src + i * ld), written down the panel 16 at a time; lanes
 * n_rows..store_lanes-1 get zeros. */
static void pack_rows_transposed(const float *src, int ld, int n_rows, int kc, float *dst,
                                 int stride, int store_lanes)
{
    __mmask16 store = first_lanes(store_lanes);
    for (int p0 = 0; p0 < kc; p0 += 16) {
        int n_p = kc - p0 < 16 ? kc - p0 : 16;
        __mmask16 load = first_lanes(n_p);
        __m512 r[16];
        for (int i = 0; i < 16; i++) {
            r[i] = i < n_rows ? _mm512_maskz_loadu_ps(load, src + (size_t)i * ld + p0)
                              : _mm512_setzero_ps();
        }
        dg_transpose16(r);
        for (int p = 0; p < n_p; p++) {
            _mm512_mask_storeu_ps(dst + (size_t)(p0 + p) * stride, store, r[p]);
        }
    }
}

/* packed_a[panel][p][r] = op(A)[i0 + panel*MR + r][p0 + p], zero beyond mc */
static void pack_a(bool trans, const float *a, int lda, int i0, int mc, int p0, int kc)
{
    for (int ip = 0; ip < mc; ip += MR) {
        int rows = mc - ip < MR ? mc - ip : MR;
        float *dst = packed_a + (size_t)ip * kc;
        if (trans) {
            if (rows < MR) {
                memset(dst, 0, (size_t)kc * MR * sizeof(float));
            }
            for (int p = 0; p < kc; p++) {
                memcpy(dst + (size_t)p * MR, a + (size_t)(p0 + p) * lda + i0 + ip,
                       (size_t)rows * sizeof(float));
            }
        } else {
            pack_rows_transposed(a + (size_t)(i0 + ip) * lda + p0, lda, rows, kc, dst, MR, MR);
        }
    }
}

/* packed_b[panel][p][c] = op(B)[p0 + p][j0 + panel*NR + c], zero beyond nc */
static void pack_b(bool trans, const float *b, int ldb, int p0, int kc, int j0, int nc)
{
    for (int jp = 0; jp < nc; jp += NR) {
        int cols = nc - jp < NR ? nc - jp : NR;
        float *dst = packed_b + (size_t)jp * kc;
        if (!trans) {
            if (cols < NR) {
                memset(dst, 0, (size_t)kc * NR * sizeof(float));
            }
            for (int p = 0; p < kc; p++) {
                memcpy(dst + (size_t)p * NR, b + (size_t)(p0 + p) * ldb + j0 + jp,
                       (size_t)cols * sizeof(float));
            }
        } else {
            /* the stored B^T's rows are op(B)'s columns: 16 at a time, transposed */
            for (int half = 0; half < NR; half += 16) {
                int n_rows = cols - half;
                n_rows = n_rows < 0 ? 0 : n_rows > 16 ? 16 : n_rows;
                pack_rows_transposed(b + (size_t)(j0 + jp + half) * ldb + p0, ldb, n_rows, kc,
                                     dst + half, NR, 16);
            }
        }
    }
}

/* The tile stored transposed: element (r, col) of the tile goes to c[col][r]. */
static void store_transposed(const __m512 acc[MR][2], float *c, int ldc, float alpha, float beta,
                             int rows, int cols)
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

/* C tile (rows x cols valid, at most MR x NR) = alpha * pa * pb + beta * C, or its
 * transpose when c_trans (then c points at the tile's transposed corner). */
static void micro_kernel(int kc, const float *restrict pa, const float *restrict pb, float *c,
                         int ldc, float alpha, float beta, int rows, int cols, bool c_trans)
{
    __m512 acc[MR][2];
#pragma GCC unroll 12
    for (int r = 0; r < MR; r++) {
        acc[r][0] = _mm512_setzero_ps();
        acc[r][1] = _mm512_setzero_ps();
    }
    for (int p = 0; p < kc; p++) {
        __m512 b0 = _mm512_load_ps(pb);
        __m512 b1 = _mm512_load_ps(pb + 16);
#pragma GCC unroll 12
        for (int r = 0; r < MR; r++) {
            __m512 av = _mm512_set1_ps(pa[r]);
            acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
        }
        pa += MR;
        pb += NR;
    }
    if (c_trans) {
        store_transposed(acc, c, ldc, alpha, beta, rows, cols);
        return;
    }
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    __mmask16 m0 = cols >= 16 ? 0xffff : (__mmask16)((1u << cols) - 1);
    __mmask16 m1 = cols >= 32 ? 0xffff : cols > 16 ? (__mmask16)((1u << (cols - 16)) - 1) : 0;
#pragma GCC unroll 12
    for (int r = 0; r < MR; r++) {
        if (r >= rows) {
            break;
        }
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

/* C (or C^T when c_trans, stored at c[j][i]) = alpha op(A) op(B) + beta C */
static void gemm_blocked(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                         const float *a, int lda, const float *b, int ldb, float beta, float *c,
                         int ldc, bool c_trans)
{
    for (int j0 = 0; j0 < n; j0 += NC) {
        int nc = n - j0 < NC ? n - j0 : NC;
        for (int p0 = 0; p0 < k; p0 += KC) {
            int kc = k - p0 < KC ? k - p0 : KC;
            float beta_here = p0 == 0 ? beta : 1.0f;
            pack_b(trans_b, b, ldb, p0, kc, j0, nc);
            for (int i0 = 0; i0 < m; i0 += MC) {
                int mc = m - i0 < MC ? m - i0 : MC;
                pack_a(trans_a, a, lda, i0, mc, p0, kc);
                for (int jp = 0; jp < nc; jp += NR) {
                    int cols = nc - jp < NR ? nc - jp : NR;
                    for (int ip = 0; ip < mc; ip += MR) {
                        int rows = mc - ip < MR ? mc - ip : MR;
                        size_t at = c_trans ? (size_t)(j0 + jp) * ldc + i0 + ip
                                            : (size_t)(i0 + ip) * ldc + j0 + jp;
                        micro_kernel(kc, packed_a + (size_t)ip * kc, packed_b + (size_t)jp * kc,
                                     c + at, ldc, alpha, beta_here, rows, cols, c_trans);
                    }
                }
            }
        }
    }
}

void dg_sgemm_avx512(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a,
                     int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    if (k == 0) {
        for (int i = 0; i < m; i++) {
            float *ci = c + (size_t)i * ldc;
            for (int j = 0; j < n; j++) {
                ci[j] = beta == 0.0f ? 0.0f : beta * ci[j];
            }
        }
        return;
    }
    if (n < NR / 2 && m > n) {
        /* few columns would leave most of each 32-wide tile empty: compute
         * C^T = op(B)^T op(A)^T, whose rows are C's columns, and store it transposed */
        gemm_blocked(!trans_b, !trans_a, n, m, k, alpha, b, ldb, a, lda, beta, c, ldc, true);
        return;
    }
    gemm_blocked(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, false);
}

#endif
