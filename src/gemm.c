/*
 * gemm.c - the one door to BLAS (OpenBLAS), plus small fused element-wise helpers used
 * by several layers. BLAS runs single-threaded: libdigits splits work across its own
 * threads by examples (see net.h), which keeps results reproducible.
 */
#include "net.h"

#include <cblas.h>
#include <pthread.h>

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

static void blas_single_thread(void)
{
    openblas_set_num_threads(1);
}

void dg_sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a,
              int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    pthread_once(&blas_once, blas_single_thread);
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c,
                ldc);
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
