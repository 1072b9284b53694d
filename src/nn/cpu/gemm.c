/*
 * gemm.c - the one door to matrix products.
 *
 * Three backends, chosen once at first use: the AVX-512 kernels of gemm_avx512.c when
 * the build and the CPU have AVX-512 (on the shapes of these networks they beat the
 * OpenBLAS of Debian 12, whose kernel choice on AMD CPUs is AVX2); else OpenBLAS, loaded
 * with dlopen so that a machine without it still runs; else plain blocked loops.
 * DIGITS_BLAS=avx512|openblas|builtin forces one. BLAS runs single-threaded: libdigits
 * splits work across its own threads by examples (net.h), which keeps results
 * reproducible.
 */
#include "nn/cpu/cpu.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* CBLAS enumeration values, fixed by the CBLAS standard */
enum { CBLAS_ROW_MAJOR = 101, CBLAS_NO_TRANS = 111, CBLAS_TRANS = 112 };

typedef void (*cblas_sgemm_fn)(int order, int trans_a, int trans_b, int m, int n, int k,
                               float alpha, const float *a, int lda, const float *b, int ldb,
                               float beta, float *c, int ldc);
typedef void (*set_threads_fn)(int n);

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
static cblas_sgemm_fn blas_sgemm;
static const char *backend_name = "builtin";
#if defined(__AVX512F__)
static bool use_avx512;
#endif

#if defined(__AVX512F__)
/* A binary built for AVX-512 may still be run elsewhere: ask the CPU. */
static bool cpu_has_avx512(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}
#endif

/* DIGITS_BLAS=avx512|openblas|builtin chooses; by default the first that works. */
static void load_blas(void)
{
    const char *choice = getenv("DIGITS_BLAS");
    if (choice && !strcmp(choice, "builtin")) {
        return;
    }
#if defined(__AVX512F__)
    if ((!choice || !strcmp(choice, "avx512")) && cpu_has_avx512()) {
        use_avx512 = true;
        backend_name = "avx512";
        return;
    }
#endif
    void *lib = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        return;
    }
    cblas_sgemm_fn sgemm = (cblas_sgemm_fn)dlsym(lib, "cblas_sgemm");
    set_threads_fn set_threads = (set_threads_fn)dlsym(lib, "openblas_set_num_threads");
    if (!sgemm) {
        dlclose(lib);
        return;
    }
    if (set_threads) {
        set_threads(1);
    }
    blas_sgemm = sgemm;
    backend_name = "openblas";
}

bool dg_avx512_active(void)
{
    pthread_once(&blas_once, load_blas);
#if defined(__AVX512F__)
    return use_avx512;
#else
    return false;
#endif
}

const char *dg_blas_backend(void)
{
    pthread_once(&blas_once, load_blas);
    return backend_name;
}

/* C[i][j] = alpha * sum_p A(i,p) B(p,j) + beta * C[i][j], with A(i,p) = a[i*lda+p] or
 * a[p*lda+i] when transposed, likewise B. Blocked over p so rows of B stay in cache. */
void dg_sgemm_builtin(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a,
                      int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    for (int i = 0; i < m; i++) {
        float *ci = c + (size_t)i * ldc;
        if (beta == 0.0f) {
            memset(ci, 0, (size_t)n * sizeof(float));
        } else if (beta != 1.0f) {
            for (int j = 0; j < n; j++) {
                ci[j] *= beta;
            }
        }
    }
    const int block = 64;
    for (int p0 = 0; p0 < k; p0 += block) {
        int p1 = p0 + block < k ? p0 + block : k;
        for (int i = 0; i < m; i++) {
            float *ci = c + (size_t)i * ldc;
            for (int p = p0; p < p1; p++) {
                float av = alpha * (trans_a ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p]);
                if (av == 0.0f) {
                    continue;
                }
                if (!trans_b) {
                    const float *bp = b + (size_t)p * ldb;
                    for (int j = 0; j < n; j++) {
                        ci[j] += av * bp[j];
                    }
                } else {
                    for (int j = 0; j < n; j++) {
                        ci[j] += av * b[(size_t)j * ldb + p];
                    }
                }
            }
        }
    }
}

void dg_sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a, int lda,
              const float *b, int ldb, float beta, float *c, int ldc)
{
    pthread_once(&blas_once, load_blas);
#if defined(__AVX512F__)
    if (use_avx512) {
        dg_sgemm_avx512(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
#endif
    if (blas_sgemm) {
        blas_sgemm(CBLAS_ROW_MAJOR, trans_a ? CBLAS_TRANS : CBLAS_NO_TRANS,
                   trans_b ? CBLAS_TRANS : CBLAS_NO_TRANS, m, n, k, alpha, a, lda, b, ldb, beta, c,
                   ldc);
    } else {
        dg_sgemm_builtin(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }
}
