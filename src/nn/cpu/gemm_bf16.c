/*
 * gemm_bf16.c - matrix products with bf16 inputs and fp32 sums (AVX512_BF16), for training
 * with precision bf16 (dg_gemm_bf16 in cpu.h).
 *
 * C[M][N] = alpha * op(A)[M][K] op(B)[K][N] + beta * C, as dg_sgemm, except that every
 * element of op(A) and op(B) is first rounded to bf16 (the upper 16 bits of a float: its
 * sign, 8 exponent bits, 7 mantissa bits) to nearest, ties to even, by VCVTNE2PS2BF16,
 * which also reads denormals as zero. Products and sums are fp32: VDPBF16PS multiplies
 * two pairs of bf16 (exactly, 8-bit mantissas) and adds both products to an fp32 lane.
 *
 * The blocking of gemm_avx512.c with K counted in pairs. A 32-bit word of a packed panel
 * holds elements k = 2p (low half) and 2p + 1 (high half) of one row or column; an odd K
 * gets a zero last pair half. op(B) goes into panels of NR = 32 columns, [KC/2][32]
 * words, op(A) into panels of MR = 12 rows, [KC/2][12] words, zero beyond the edges.
 * All of op(A) within a block of K is packed once per call when it has at most MA rows
 * (the weights of every layer of the presets), then each block of NC columns of op(B);
 * the transposes cost only in packing. The micro-kernel keeps a 12x32 tile of C in 24
 * zmm registers; per pair of k it loads two vectors of B, broadcasts 12 words of A and
 * issues 24 VDPBF16PS (1,536 flops). Every element's sum runs over k in the same order
 * on every call, so results are reproducible. Packing buffers are per thread and static.
 *
 * The file builds without -mavx512bf16: each function carries the target attribute, and
 * the CPU is asked at run time (dg_bf16_available). Compilers without AVX512_BF16
 * intrinsics get a stub that reports it unavailable.
 */
#include "nn/cpu/cpu.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__clang__) ? __clang_major__ >= 9 : __GNUC__ >= 10)
#define HAVE_BF16_KERNELS 1
#endif

#if defined(HAVE_BF16_KERNELS)

#include <cpuid.h>
#include <immintrin.h>

#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

#define MR 12
#define NR 32
#define KC 256 /* k per block: 128 pairs */
#define MA 384 /* rows of op(A) packed at once: a multiple of MR */
#define NC 512

static _Thread_local uint32_t packed_a[MA * KC / 2] __attribute__((aligned(64)));
static _Thread_local uint32_t packed_b[NC * KC / 2] __attribute__((aligned(64)));

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

/* Transposes a 16x16 block of 32-bit words: r[i] holds row i; afterwards r[j] holds
 * column j. Unpacks pair rows within 128-bit lanes, then 64-bit unpacks make 4x4 blocks,
 * and two rounds of lane shuffles put the blocks in place. */
BF16_TARGET static void transpose_words(__m512i r[16])
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
BF16_TARGET static void pack_pairs_transposed(const float *src, int ld, int n_rows, int kc,
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
BF16_TARGET static void pack_pairs_interleaved(const float *src, int ld, int kc, int cols,
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

/* packed_a[panel][p][r] = pair p of op(A)[i0 + panel*MR + r][p0..p0+kc), zero beyond mc */
BF16_TARGET static void pack_a(bool trans, const float *a, int lda, int i0, int mc, int p0, int kc)
{
    int kp = (kc + 1) / 2;
    for (int ip = 0; ip < mc; ip += MR) {
        int rows = mc - ip < MR ? mc - ip : MR;
        uint32_t *dst = packed_a + (size_t)ip * kp;
        if (trans) {
            pack_pairs_interleaved(a + (size_t)p0 * lda + i0 + ip, lda, kc, rows, dst, MR, MR);
        } else {
            pack_pairs_transposed(a + (size_t)(i0 + ip) * lda + p0, lda, rows, kc, dst, MR, MR);
        }
    }
}

/* packed_b[panel][p][c] = pair p of op(B)[p0..p0+kc)[j0 + panel*NR + c], zero beyond nc */
BF16_TARGET static void pack_b(bool trans, const float *b, int ldb, int p0, int kc, int j0, int nc)
{
    int kp = (kc + 1) / 2;
    for (int jp = 0; jp < nc; jp += NR) {
        int cols = nc - jp < NR ? nc - jp : NR;
        uint32_t *dst = packed_b + (size_t)jp * kp;
        for (int half = 0; half < NR; half += 16) {
            int n = cols - half;
            n = n < 0 ? 0 : n > 16 ? 16 : n;
            int j = j0 + jp + (n > 0 ? half : 0); /* an empty half reads nothing */
            if (trans) {
                pack_pairs_transposed(b + (size_t)j * ldb + p0, ldb, n, kc, dst + half, NR, 16);
            } else {
                pack_pairs_interleaved(b + (size_t)p0 * ldb + j, ldb, kc, n, dst + half, NR, 16);
            }
        }
    }
}

/* The tile stored transposed: element (r, col) of the tile goes to c[col][r]. */
BF16_TARGET static void store_transposed(const __m512 acc[MR][2], float *c, int ldc, float alpha,
                                         float beta, int rows, int cols)
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
BF16_TARGET static void micro_kernel(int kp, const uint32_t *restrict pa,
                                     const uint32_t *restrict pb, float *c, int ldc, float alpha,
                                     float beta, int rows, int cols, bool c_trans)
{
    __m512 acc[MR][2];
#pragma GCC unroll 12
    for (int r = 0; r < MR; r++) {
        acc[r][0] = _mm512_setzero_ps();
        acc[r][1] = _mm512_setzero_ps();
    }
    for (int p = 0; p < kp; p++) {
        __m512bh b0 = (__m512bh)_mm512_load_si512(pb);
        __m512bh b1 = (__m512bh)_mm512_load_si512(pb + 16);
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

/* C (or C^T when c_trans, stored at c[j][i]) = alpha op(A) op(B) + beta C */
BF16_TARGET static void gemm_blocked(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                                     const float *a, int lda, const float *b, int ldb, float beta,
                                     float *c, int ldc, bool c_trans)
{
    for (int p0 = 0; p0 < k; p0 += KC) {
        int kc = k - p0 < KC ? k - p0 : KC, kp = (kc + 1) / 2;
        float beta_here = p0 == 0 ? beta : 1.0f;
        for (int i0 = 0; i0 < m; i0 += MA) {
            int mc = m - i0 < MA ? m - i0 : MA;
            pack_a(trans_a, a, lda, i0, mc, p0, kc);
            for (int j0 = 0; j0 < n; j0 += NC) {
                int nc = n - j0 < NC ? n - j0 : NC;
                pack_b(trans_b, b, ldb, p0, kc, j0, nc);
                for (int jp = 0; jp < nc; jp += NR) {
                    int cols = nc - jp < NR ? nc - jp : NR;
                    for (int ip = 0; ip < mc; ip += MR) {
                        int rows = mc - ip < MR ? mc - ip : MR;
                        size_t at = c_trans ? (size_t)(j0 + jp) * ldc + i0 + ip
                                            : (size_t)(i0 + ip) * ldc + j0 + jp;
                        micro_kernel(kp, packed_a + (size_t)ip * kp, packed_b + (size_t)jp * kp,
                                     c + at, ldc, alpha, beta_here, rows, cols, c_trans);
                    }
                }
            }
        }
    }
}

BF16_TARGET static void gemm_bf16(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                                  const float *a, int lda, const float *b, int ldb, float beta,
                                  float *c, int ldc)
{
    if (n < NR / 2 && m > n) {
        /* few columns would leave most of each 32-wide tile empty: compute
         * C^T = op(B)^T op(A)^T, whose rows are C's columns, and store it transposed */
        gemm_blocked(!trans_b, !trans_a, n, m, k, alpha, b, ldb, a, lda, beta, c, ldc, true);
        return;
    }
    gemm_blocked(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, false);
}

/* AVX512_BF16 is CPUID leaf 7, sub-leaf 1, EAX bit 5; the others the compiler knows. */
static bool cpu_has_bf16(void)
{
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
        !__builtin_cpu_supports("avx512vl")) {
        return false;
    }
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx)) {
        return false;
    }
    return (eax >> 5) & 1u;
}

#endif /* HAVE_BF16_KERNELS */

static pthread_once_t bf16_once = PTHREAD_ONCE_INIT;
static bool bf16_ok;

/* DIGITS_NO_BF16 set to anything but "" or "0" turns the kernels off. */
static void detect_bf16(void)
{
    const char *off = getenv("DIGITS_NO_BF16");
    if (off && *off && strcmp(off, "0")) {
        return;
    }
#if defined(HAVE_BF16_KERNELS)
    bf16_ok = cpu_has_bf16();
#endif
}

bool dg_bf16_available(void)
{
    pthread_once(&bf16_once, detect_bf16);
    return bf16_ok;
}

void dg_gemm_bf16(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a,
                  int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
#if defined(HAVE_BF16_KERNELS)
    if (k > 0 && dg_bf16_available()) {
        gemm_bf16(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
#endif
    dg_sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

dg_gemm_fn dg_gemm_for(bool bf16)
{
    return bf16 ? dg_gemm_bf16 : dg_sgemm;
}
