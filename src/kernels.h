/*
 * kernels.h - element-wise loops on the hot path of training, with AVX-512 versions
 * where the build has it (kernels.c) and plain loops otherwise. The layers' reference
 * paths do not use them, so the tests compare the two.
 */
#ifndef DG_KERNELS_H
#define DG_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* y[r][c] += bias[r], then max(y, 0) when relu; y [rows][cols] */
void dg_bias_relu_rows(float *y, const float *bias, int rows, int cols, bool relu);

/* dz[j] = dy[j] where y[j] > 0 (every j without relu); returns the sum of dz. */
float dg_relu_grad_sum(const float *y, const float *dy, float *dz, int n, bool relu);

/* 2x2 max pooling of one plane x [2*oh..][w] into y [oh][ow], argmax offsets into arg
 * (unless NULL); ties go to the earlier element in row-major window order. */
void dg_maxpool2_plane(const float *x, float *y, int32_t *arg, int w, int oh, int ow);

/* dst[0..n) = src[0..n): for the short rows of im2col, where a memcpy call costs more
 * than the copy */
void dg_copy_floats(float *dst, const float *src, int n);

/* out[r] = sum of w[r*ld + i] * x[i] over i < n, for r < rows: the dense layer's
 * product for one example. Each row's result is the same whatever rows surround it. */
void dg_dot_rows(const float *w, size_t ld, int rows, const float *x, int n, float *out);

/* Adam update with bias correction folded into lr_t:
 * m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= lr_t m / (sqrt(v) + eps) */
void dg_adam_update(float *p, const float *g, float *m, float *v, size_t n, float b1, float b2,
                    float lr_t, float eps);

#endif
