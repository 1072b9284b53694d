/*
 * cpu.h - the compute kernels the layers and the optimiser call: matrix products (the one
 * door to BLAS), the AVX-512 convolution forward, and element-wise loops on the hot path.
 * Each has an AVX-512 version where the build has it and plain loops otherwise; the
 * layers' reference paths do not use them, so the tests compare the two.
 *
 * This module knows tensors only as float arrays and shapes: it includes nothing of the
 * network (nn/) above it.
 */
#ifndef DG_CPU_H
#define DG_CPU_H

#include "digits.h"

/* Row-major single-precision GEMM: C[M][N] = alpha * op(A) op(B) + beta * C, with op(X)
 * transposed when trans_x. lda/ldb/ldc are row strides. The one door to BLAS. */
void dg_sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a, int lda,
              const float *b, int ldb, float beta, float *c, int ldc);

/* The same product by plain blocked loops: the fallback when OpenBLAS cannot be loaded
 * (or DIGITS_BLAS=builtin), and the reference the tests compare it with. */
void dg_sgemm_builtin(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a,
                      int lda, const float *b, int ldb, float beta, float *c, int ldc);

#if defined(__AVX512F__)
/* The same product with AVX-512 kernels (gemm_avx512.c). */
void dg_sgemm_avx512(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a,
                     int lda, const float *b, int ldb, float beta, float *c, int ldc);
#endif

/* The signature of dg_sgemm and dg_gemm_bf16, for a layer that picks one per call. */
typedef void (*dg_gemm_fn)(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                           const float *a, int lda, const float *b, int ldb, float beta, float *c,
                           int ldc);

/* The same product with op(A) and op(B) rounded to bf16 (to nearest, ties to even;
 * denormals read as zero) and fp32 sums, by AVX512_BF16 (gemm_bf16.c): the training
 * products of precision bf16. dg_sgemm when dg_bf16_available() is false. */
void dg_gemm_bf16(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a,
                  int lda, const float *b, int ldb, float beta, float *c, int ldc);

/* dg_gemm_bf16 when bf16, else dg_sgemm. */
dg_gemm_fn dg_gemm_for(bool bf16);

/* True when the AVX-512 kernels are in use: the build and the CPU have AVX-512 and
 * DIGITS_BLAS does not ask for another backend. */
bool dg_avx512_active(void);

/* A convolution as the kernels see it: input in [C][H][W], output out [O][OH][OW] with
 * O = units, square kernels of side k, weights w [O][C][K][K], biases b [O], and an
 * optional ReLU on the output. */
typedef struct dg_conv_args {
    dg_shape in, out;
    int units, k;
    bool relu;
    const float *w, *b;
    /* For the gradients, when not 0: only the first live_h rows and live_w columns of the
     * output gradient can be other than zero (2x2 max pooling above leaves an odd last row
     * and column out of its windows), and the products skip the rest. */
    int live_h, live_w;
} dg_conv_args;

/* Output rows and columns whose gradient can be other than zero. */
static inline int dg_conv_live_h(const dg_conv_args *l)
{
    return l->live_h ? l->live_h : l->out.h;
}

static inline int dg_conv_live_w(const dg_conv_args *l)
{
    return l->live_w ? l->live_w : l->out.w;
}

#if defined(__AVX512F__)
/* Forward convolution of one example into y [O][OH][OW] with bias and ReLU, for tiles
 * [first, end) of dg_conv_window_tiles(l), from the example's input x [C][H][W] copied K
 * times by dg_conv_shift_input into xs [C][K][H][OW] = x[c][r][j+v], followed by a
 * table of the taps' offsets in it: dg_conv_shifted_floats(l) floats (conv_avx512.c). */
size_t dg_conv_shifted_floats(const dg_conv_args *l);
void dg_conv_shift_input(const dg_conv_args *l, const float *x, float *xs);
int dg_conv_window_tiles(const dg_conv_args *l);
void dg_conv_window_avx512(const dg_conv_args *l, const float *xs, float *y, int first, int end);

/* The same convolution of one example followed by 2x2 max pooling: pooled [O][OH/2][OW/2]
 * and its argmax arg (offsets into an output plane, as dg_maxpool2_plane gives), both
 * written, the output itself not; block holds dg_conv_pooled_block_floats(l) floats. */
void dg_conv_window_pooled_avx512(const dg_conv_args *l, const float *xs, float *block,
                                  float *pooled, int32_t *arg);
#endif

/* Output channels the convolution kernels sum in one block of tiles. */
#define DG_CONV_BLOCK_CHANNELS 8

/* Floats of one output plane cut to the rows 2x2 max pooling reads, the first 2*(OH/2)
 * (the rows past the last pair are in no window): a plane of a pooled block. */
static inline int dg_conv_pooled_plane_floats(const dg_conv_args *l)
{
    return l->out.h / 2 * 2 * l->out.w;
}

/* Floats of a block of DG_CONV_BLOCK_CHANNELS such planes: where a convolution followed by
 * pooling keeps a block before pooling it. */
static inline size_t dg_conv_pooled_block_floats(const dg_conv_args *l)
{
    return (size_t)DG_CONV_BLOCK_CHANNELS * (size_t)dg_conv_pooled_plane_floats(l);
}

/* The 2x2 max pooling of the block of output channels o0.. (up to DG_CONV_BLOCK_CHANNELS
 * planes of dg_conv_pooled_plane_floats each) into one example's pooled [O][OH/2][OW/2]
 * and its argmax arg. */
void dg_conv_pool_block(const dg_conv_args *l, const float *block, int o0, float *pooled,
                        int32_t *arg);

#if defined(__AVX512F__)

/* One example's output gradient through the ReLU (when relu) from y, dy [O][P]:
 * dz [O][P] (unless dz is NULL: then relu is false and dz is dy), the same transposed
 * dz_t [P][O] (unless dz_t is NULL), and db[o] += the sum of dz[o] (conv_grad_avx512.c). */
void dg_conv_output_grad_avx512(const float *y, const float *dy, int o_count, int p, bool relu,
                                float *dz, float *dz_t, float *db);

/* One example's input gradient dx [C][H][W] (overwritten) from its output gradient
 * dz [O][OH*OW] and the weights with the channels last, one matrix per tap,
 * w_taps [K][K][O][C] = w[o][c][u][v]; work holds dg_conv_input_grad_work_floats(l) floats
 * (conv_grad_avx512.c). */
size_t dg_conv_input_grad_work_floats(const dg_conv_args *l);
/* w_taps [K][K][O][C] = w[o][c][u][v], the weights of l one matrix per tap. */
void dg_conv_weight_taps_avx512(const dg_conv_args *l, float *w_taps);
void dg_conv_input_grad_avx512(const dg_conv_args *l, const float *dz, const float *w_taps,
                               float *dx, float *work);

/* True when the layer has so few patch rows (C*K*K) that its weight gradient is taken by
 * dot products along the positions, dg_conv_weight_grad_dots_avx512, rather than from the
 * transposed output gradient. */
bool dg_conv_weight_grad_by_dots(const dg_conv_args *l);

/* dw [O][C][K][K] += the weight gradient over n examples x [n][C][H][W], from the output
 * gradient as it is, dz [n][O][OH*OW] (conv_grad_avx512.c). */
void dg_conv_weight_grad_dots_avx512(const dg_conv_args *l, const float *x, const float *dz, int n,
                                     float *dw);

/* dw [O][C][K][K] += the weight gradient over n examples x [n][C][H][W], from the output
 * gradient transposed, dz_t [n][OH*OW][O] (conv_grad_avx512.c). l->w, l->b and l->relu
 * are not used. */
void dg_conv_weight_grad_avx512(const dg_conv_args *l, const float *x, const float *dz_t, int n,
                                float *dw);
#endif

/* Whether the layer's gradients gain from bf16: false for so few patch rows (C*K*K, a first
 * layer of one channel) that bf16 training runs its backward pass on the fp32 kernels. */
bool dg_conv_bf16_backward_pays(const dg_conv_args *l);

/* Forward convolution of n examples x [N][C][H][W] into y [N][O][OH][OW] with bias and
 * ReLU, products on bf16-rounded inputs with fp32 sums, from shifted copies with pairs of
 * channels in a word, no im2col (conv_bf16.c); work holds dg_conv_bf16_work_floats(l)
 * floats. False, nothing done, without dg_bf16_available(). */
size_t dg_conv_bf16_work_floats(const dg_conv_args *l);
bool dg_conv_forward_bf16(const dg_conv_args *l, const float *x, float *y, int n, float *work);

/* The same followed by 2x2 max pooling: pooled [N][O][OH/2][OW/2] and its argmax arg (as
 * dg_conv_window_pooled_avx512's), the output itself not written; work holds
 * dg_conv_bf16_work_floats(l) + dg_conv_pooled_block_floats(l) floats. False, nothing
 * done, without dg_bf16_available(). */
bool dg_conv_forward_pooled_bf16(const dg_conv_args *l, const float *x, float *pooled, int32_t *arg,
                                 int n, float *work);

/* The backward pass of the same convolution over n examples, products on bf16-rounded
 * inputs with fp32 sums, without im2col (conv_grad_bf16.c): from the output gradient dy
 * [N][O][OH][OW], through the ReLU when masked (y its output), db[o] += the sums of dz,
 * dw [O][C][K][K] += the weight gradient, and, unless dx is NULL, dx [N][C][H][W]
 * (overwritten) the input gradient. work holds dg_conv_bf16_backward_work_floats(l, n)
 * floats. False, nothing done, without dg_bf16_available(). */
size_t dg_conv_bf16_backward_work_floats(const dg_conv_args *l, int n);
bool dg_conv_backward_bf16(const dg_conv_args *l, const float *x, const float *y, const float *dy,
                           float *dx, int n, bool masked, float *dw, float *db, float *work);

/* dw [O][C][K][K] += the weight gradient over n examples x [n][C][H][W] of a layer with few
 * patch rows, from its output gradient dz [n][O][OH*OW] as it is, by dot products along the
 * rows of positions on bf16-rounded inputs with fp32 sums, and, unless db is NULL, db[o] +=
 * the fp32 sum of dz[.][o] (conv_grad_bf16.c); work holds
 * dg_conv_weight_grad_dots_bf16_work_floats(l, n) floats. False, nothing done, without
 * dg_bf16_available(). */
size_t dg_conv_weight_grad_dots_bf16_work_floats(const dg_conv_args *l, int n);
bool dg_conv_weight_grad_dots_bf16(const dg_conv_args *l, const float *x, const float *dz, int n,
                                   float *dw, float *db, float *work);

/* y[r][c] += bias[r], then max(y, 0) when relu; y [rows][cols] */
void dg_bias_relu_rows(float *y, const float *bias, int rows, int cols, bool relu);

/* dz[j] = dy[j] where y[j] > 0 (every j without relu); returns the sum of dz. dz may be
 * NULL (only the sum) when relu is false. */
float dg_relu_grad_sum(const float *y, const float *dy, float *dz, int n, bool relu);

/* 2x2 max pooling of one plane x [2*oh..][w] into y [oh][ow], argmax offsets into arg
 * (unless NULL); ties go to the earlier element in row-major window order. */
void dg_maxpool2_plane(const float *x, float *y, int32_t *arg, int w, int oh, int ow);

/* dst[at[j]] = src[j] for j < n, or 0 where keep (unless NULL) is not above zero: max
 * pooling's gradient, the at[j] all different. */
void dg_scatter_floats(float *dst, const int32_t *at, const float *src, const float *keep, int n);

/* 2x2 max pooling's gradient for one plane, all of dx [h][w] written: dx[arg[j]] = dy[j]
 * (0 where keep, unless NULL, is not above zero) for the oh*ow outputs j, whose windows
 * do not overlap and whose arg (as dg_maxpool2_plane gives) lies in their own window; 0
 * everywhere else. One pass over dx, without clearing it first. */
void dg_maxpool2_grad_plane(float *dx, const int32_t *arg, const float *dy, const float *keep,
                            int h, int w, int oh, int ow);

/* dst[0..n) = src[0..n): for the short rows of im2col, where a memcpy call costs more
 * than the copy */
void dg_copy_floats(float *dst, const float *src, int n);
/* dst[i] += src[i] for i < n; the two do not overlap (col2im's rows). */
void dg_add_floats(float *dst, const float *src, int n);

/* out[r] = sum of w[r*ld + i] * x[i] over i < n, for r < rows: the dense layer's
 * product for one example. Each row's result is the same whatever rows surround it. */
void dg_dot_rows(const float *w, size_t ld, int rows, const float *x, int n, float *out);

/* y[r][o] = sum over i < k of x[r][i] * w[o][i], for r < n, o < out: a dense layer's
 * forward product, both operands read along k in place (no packing), each sum in one
 * vector, then reduced. */
void dg_dot_products(const float *x, int n, const float *w, int out, int k, float *y);

/* c[r][j] = sum over p < k of a[r][p] * b[p][j], for r < n, j < m: a dense layer's input
 * gradient (a = dz [N][O], b = w [O][I]), b read in place by rows (no packing of the
 * weights for each slice); each sum runs over p in order from zero, as the GEMM's does
 * for k up to its block of 256. */
void dg_times_matrix(const float *a, int n, int k, const float *b, int m, float *c);

/* Whether every x[i] is finite (no NaN, no infinity). */
bool dg_floats_finite(const float *x, size_t n);

/* Adam update with bias correction folded into lr_t:
 * m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= lr_t m / (sqrt(v) + eps) */
void dg_adam_update(float *p, const float *g, float *m, float *v, size_t n, float b1, float b2,
                    float lr_t, float eps);

#endif
