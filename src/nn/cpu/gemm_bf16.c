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
#include "nn/cpu/bf16_panels.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(DG_HAVE_BF16_KERNELS)

#include <cpuid.h>

#define KC 256 /* k per block: 128 pairs */
#define MA 384 /* rows of op(A) packed at once: a multiple of MR */
#define NC 512

static _Thread_local uint32_t packed_a[MA * KC / 2] __attribute__((aligned(64)));
static _Thread_local uint32_t packed_b[NC * KC / 2] __attribute__((aligned(64)));

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

#endif /* DG_HAVE_BF16_KERNELS */

static pthread_once_t bf16_once = PTHREAD_ONCE_INIT;
static bool bf16_ok;

/* DIGITS_NO_BF16 set to anything but "" or "0" turns the kernels off. */
static void detect_bf16(void)
{
    const char *off = getenv("DIGITS_NO_BF16");
    if (off && *off && strcmp(off, "0")) {
        return;
    }
#if defined(DG_HAVE_BF16_KERNELS)
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
#if defined(DG_HAVE_BF16_KERNELS)
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
