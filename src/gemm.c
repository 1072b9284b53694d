/*
 * gemm.c - the one door to BLAS, plus small fused element-wise helpers used by several
 * layers.
 *
 * OpenBLAS is loaded at first use with dlopen rather than linked, for two reasons: its
 * kernel choice is made when it loads, and the Debian build (0.3.21) picks its AVX2
 * kernels on AVX-512 CPUs it does not know by name (AMD Zen 4), about 1.4x slower here;
 * so when the CPU has AVX-512 (F, BW, DQ, VL) and the user has not chosen,
 * OPENBLAS_CORETYPE=SKYLAKEX is set before loading. And where OpenBLAS is missing, a
 * plain blocked GEMM takes over, so the library still works. BLAS runs single-threaded:
 * libdigits splits work across its own threads by examples (net.h), which keeps
 * results reproducible.
 */
#include "net.h"

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

static bool cpu_has_avx512(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
#else
    return false;
#endif
}

static void load_blas(void)
{
    const char *choice = getenv("DIGITS_BLAS");
    if (choice && !strcmp(choice, "builtin")) {
        return;
    }
    if (!getenv("OPENBLAS_CORETYPE") && cpu_has_avx512()) {
        setenv("OPENBLAS_CORETYPE", "SKYLAKEX", 0);
    }
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

const char *dg_blas_backend(void)
{
    pthread_once(&blas_once, load_blas);
    return backend_name;
}

/* C[i][j] = alpha * sum_p A(i,p) B(p,j) + beta * C[i][j], with A(i,p) = a[i*lda+p] or
 * a[p*lda+i] when transposed, likewise B. Blocked over p so rows of B stay in cache. */
void dg_sgemm_builtin(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                      const float *a, int lda, const float *b, int ldb, float beta, float *c,
                      int ldc)
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

void dg_sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a,
              int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    pthread_once(&blas_once, load_blas);
    if (blas_sgemm) {
        blas_sgemm(CBLAS_ROW_MAJOR, trans_a ? CBLAS_TRANS : CBLAS_NO_TRANS,
                   trans_b ? CBLAS_TRANS : CBLAS_NO_TRANS, m, n, k, alpha, a, lda, b, ldb, beta,
                   c, ldc);
    } else {
        dg_sgemm_builtin(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }
}

void dg_bias_relu_rows(float *y, const float *bias, int rows, int cols, bool relu)
{
    for (int r = 0; r < rows; r++) {
        float *row = y + (size_t)r * cols;
        float b = bias[r];
        if (relu) {
            for (int c = 0; c < cols; c++) {
                float v = row[c] + b;
                row[c] = v > 0.0f ? v : 0.0f;
            }
        } else {
            for (int c = 0; c < cols; c++) {
                row[c] += b;
            }
        }
    }
}
