/*
 * kernels.c - the element-wise loops of cpu.h: AVX-512 intrinsics when the build
 * targets AVX-512F, plain loops otherwise. Each AVX-512 loop handles its tail with
 * masked loads and stores, so any length works. Sums keep one running total per lane and
 * reduce them in a fixed order: the same inputs always give the same bits.
 */
#include "nn/cpu/cpu.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#if defined(__AVX512F__)
#include <immintrin.h>

static __mmask16 tail_mask(int left)
{
    return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1u);
}

void dg_bias_relu_rows(float *y, const float *bias, int rows, int cols, bool relu)
{
    __m512 zero = _mm512_setzero_ps();
    for (int r = 0; r < rows; r++) {
        float *row = y + (size_t)r * cols;
        __m512 b = _mm512_set1_ps(bias[r]);
        for (int c = 0; c < cols; c += 16) {
            __mmask16 m = tail_mask(cols - c);
            __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, row + c), b);
            if (relu) {
                v = _mm512_max_ps(v, zero);
            }
            _mm512_mask_storeu_ps(row + c, m, v);
        }
    }
}

float dg_relu_grad_sum(const float *y, const float *dy, float *dz, int n, bool relu)
{
    __m512 acc = _mm512_setzero_ps(), zero = _mm512_setzero_ps();
    for (int j = 0; j < n; j += 16) {
        __mmask16 m = tail_mask(n - j);
        __m512 g = _mm512_maskz_loadu_ps(m, dy + j);
        if (relu) {
            __mmask16 on =
                _mm512_mask_cmp_ps_mask(m, _mm512_maskz_loadu_ps(m, y + j), zero, _CMP_GT_OQ);
            g = _mm512_maskz_mov_ps(on, g);
        }
        if (dz) {
            _mm512_mask_storeu_ps(dz + j, m, g);
        }
        acc = _mm512_add_ps(acc, g);
    }
    return _mm512_reduce_add_ps(acc);
}

/* Row r's sum: two running vectors, over elements 32 apart, then added lane by lane and
 * reduced. Both paths below keep this order, so a row's result does not depend on the
 * rows around it. */
static float dot_row(const float *w, const float *x, int n)
{
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    for (int i = 0; i < n; i += 32) {
        __mmask16 m0 = tail_mask(n - i), m1 = tail_mask(n - i - 16 > 0 ? n - i - 16 : 0);
        acc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m0, w + i), _mm512_maskz_loadu_ps(m0, x + i),
                               acc0);
        acc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m1, w + i + 16),
                               _mm512_maskz_loadu_ps(m1, x + i + 16), acc1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

void dg_dot_rows(const float *w, size_t ld, int rows, const float *x, int n, float *out)
{
    int r = 0;
    /* four rows at a time share each load of x */
    for (; r + 4 <= rows; r += 4) {
        const float *w0 = w + (size_t)r * ld, *w1 = w0 + ld, *w2 = w1 + ld, *w3 = w2 + ld;
        __m512 acc[4][2];
        for (int k = 0; k < 4; k++) {
            acc[k][0] = acc[k][1] = _mm512_setzero_ps();
        }
        for (int i = 0; i < n; i += 32) {
            __mmask16 m0 = tail_mask(n - i), m1 = tail_mask(n - i - 16 > 0 ? n - i - 16 : 0);
            __m512 x0 = _mm512_maskz_loadu_ps(m0, x + i),
                   x1 = _mm512_maskz_loadu_ps(m1, x + i + 16);
            acc[0][0] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m0, w0 + i), x0, acc[0][0]);
            acc[0][1] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m1, w0 + i + 16), x1, acc[0][1]);
            acc[1][0] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m0, w1 + i), x0, acc[1][0]);
            acc[1][1] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m1, w1 + i + 16), x1, acc[1][1]);
            acc[2][0] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m0, w2 + i), x0, acc[2][0]);
            acc[2][1] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m1, w2 + i + 16), x1, acc[2][1]);
            acc[3][0] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m0, w3 + i), x0, acc[3][0]);
            acc[3][1] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m1, w3 + i + 16), x1, acc[3][1]);
        }
        for (int k = 0; k < 4; k++) {
            out[r + k] = _mm512_reduce_add_ps(_mm512_add_ps(acc[k][0], acc[k][1]));
        }
    }
    for (; r < rows; r++) {
        out[r] = dot_row(w + (size_t)r * ld, x, n);
    }
}

void dg_scatter_floats(float *dst, const int32_t *at, const float *src, const float *keep, int n)
{
    float g[16] __attribute__((aligned(64)));
    for (int j = 0; j < n; j += 16) {
        __mmask16 m = tail_mask(n - j);
        __m512 v = _mm512_maskz_loadu_ps(m, src + j);
        if (keep) {
            __mmask16 on = _mm512_mask_cmp_ps_mask(m, _mm512_maskz_loadu_ps(m, keep + j),
                                                   _mm512_setzero_ps(), _CMP_GT_OQ);
            v = _mm512_maskz_mov_ps(on, v);
        }
        _mm512_store_ps(g, v);
        int count = n - j < 16 ? n - j : 16;
        for (int i = 0; i < count; i++) {
            dst[at[j + i]] = g[i];
        }
    }
}

void dg_maxpool2_grad_plane(float *dx, const int32_t *arg, const float *dy, const float *keep,
                            int h, int w, int oh, int ow)
{
    /* word 2k of a window row takes its left input's value k, word 2k + 1 its right one's */
    const __m512i low = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i high = _mm512_add_epi32(low, _mm512_set1_epi32(8));
    const __m512i lane2 = _mm512_slli_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), 1);
    const __m512i one = _mm512_set1_epi32(1), below = _mm512_set1_epi32(w);
    const __m512i below_right = _mm512_set1_epi32(w + 1);
    for (int i = 0; i < oh; i++) {
        float *top = dx + (size_t)(2 * i) * w, *bottom = top + w;
        for (int j = 0; j < ow; j += 16) {
            int outs = ow - j < 16 ? ow - j : 16;
            __mmask16 m = tail_mask(outs);
            size_t at = (size_t)i * ow + j;
            __m512 g = _mm512_maskz_loadu_ps(m, dy + at);
            if (keep) {
                __mmask16 on = _mm512_mask_cmp_ps_mask(m, _mm512_maskz_loadu_ps(m, keep + at),
                                                       _mm512_setzero_ps(), _CMP_GT_OQ);
                g = _mm512_maskz_mov_ps(on, g);
            }
            /* where in its window each maximum is: 0, 1, w or w + 1 past the corner */
            __m512i corner = _mm512_add_epi32(_mm512_set1_epi32(2 * i * w + 2 * j), lane2);
            __m512i rel = _mm512_sub_epi32(_mm512_maskz_loadu_epi32(m, arg + at), corner);
            __mmask16 right =
                _mm512_cmpeq_epi32_mask(rel, one) | _mm512_cmpeq_epi32_mask(rel, below_right);
            __mmask16 low_row = _mm512_cmpge_epi32_mask(rel, below);
            __m512 tl = _mm512_maskz_mov_ps(~right & ~low_row, g);
            __m512 tr = _mm512_maskz_mov_ps(right & ~low_row, g);
            __m512 bl = _mm512_maskz_mov_ps(~right & low_row, g);
            __m512 br = _mm512_maskz_mov_ps(right & low_row, g);
            __mmask16 first = tail_mask(2 * outs), second = tail_mask(outs > 8 ? 2 * outs - 16 : 0);
            _mm512_mask_storeu_ps(top + 2 * j, first, _mm512_permutex2var_ps(tl, low, tr));
            _mm512_mask_storeu_ps(top + 2 * j + 16, second, _mm512_permutex2var_ps(tl, high, tr));
            _mm512_mask_storeu_ps(bottom + 2 * j, first, _mm512_permutex2var_ps(bl, low, br));
            _mm512_mask_storeu_ps(bottom + 2 * j + 16, second,
                                  _mm512_permutex2var_ps(bl, high, br));
        }
        /* an odd width's last column is in no window */
        for (int c = 2 * ow; c < w; c++) {
            top[c] = bottom[c] = 0.0f;
        }
    }
    /* nor is an odd height's last row */
    memset(dx + (size_t)(2 * oh) * w, 0, (size_t)(h - 2 * oh) * w * sizeof(float));
}

/* The tile of rows r0..r0+3 of x and rows o0..o0+5 of w: 24 dot products of length k,
 * each summed in one vector along k, then reduced. Rows past the last repeat the tile's
 * first; they are not stored. */
static void dot_tile(const float *x, int n, const float *w, int out, int k, int r0, int o0,
                     float *y)
{
    const float *xr[4], *wr[6];
    for (int i = 0; i < 4; i++) {
        xr[i] = x + (size_t)(r0 + i < n ? r0 + i : r0) * k;
    }
    for (int j = 0; j < 6; j++) {
        wr[j] = w + (size_t)(o0 + j < out ? o0 + j : o0) * k;
    }
    __m512 acc[4][6];
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
#pragma GCC unroll 6
        for (int j = 0; j < 6; j++) {
            acc[i][j] = _mm512_setzero_ps();
        }
    }
    for (int p = 0; p < k; p += 16) {
        __mmask16 m = tail_mask(k - p);
        __m512 a[4];
#pragma GCC unroll 4
        for (int i = 0; i < 4; i++) {
            a[i] = _mm512_maskz_loadu_ps(m, xr[i] + p);
        }
#pragma GCC unroll 6
        for (int j = 0; j < 6; j++) {
            __m512 b = _mm512_maskz_loadu_ps(m, wr[j] + p);
#pragma GCC unroll 4
            for (int i = 0; i < 4; i++) {
                acc[i][j] = _mm512_fmadd_ps(a[i], b, acc[i][j]);
            }
        }
    }
    float sums[4][6];
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
#pragma GCC unroll 6
        for (int j = 0; j < 6; j++) {
            sums[i][j] = _mm512_reduce_add_ps(acc[i][j]);
        }
    }
    for (int i = 0; i < 4 && r0 + i < n; i++) {
        for (int j = 0; j < 6 && o0 + j < out; j++) {
            y[(size_t)(r0 + i) * out + o0 + j] = sums[i][j];
        }
    }
}

void dg_dot_products(const float *x, int n, const float *w, int out, int k, float *y)
{
    for (int r0 = 0; r0 < n; r0 += 4) {
        for (int o0 = 0; o0 < out; o0 += 6) {
            dot_tile(x, n, w, out, k, r0, o0, y);
        }
    }
}

/* Rows [r0, r0 + rows) by columns [j0, j0 + 48) of c = a b (rows <= 8): 24 sums in
 * registers over k in order, b's rows read in place. */
static void times_tile(const float *a, int k, const float *b, int m, float *c, int r0, int rows,
                       int j0)
{
    __mmask16 mask[3];
    for (int v = 0; v < 3; v++) {
        int left = m - j0 - 16 * v;
        mask[v] = left <= 0 ? 0 : tail_mask(left);
    }
    __m512 acc[8][3];
#pragma GCC unroll 8
    for (int r = 0; r < 8; r++) {
        acc[r][0] = acc[r][1] = acc[r][2] = _mm512_setzero_ps();
    }
    const float *ar = a + (size_t)r0 * k;
    for (int p = 0; p < k; p++) {
        const float *bp = b + (size_t)p * m + j0;
        __m512 b0 = _mm512_maskz_loadu_ps(mask[0], bp);
        __m512 b1 = _mm512_maskz_loadu_ps(mask[1], bp + 16);
        __m512 b2 = _mm512_maskz_loadu_ps(mask[2], bp + 32);
#pragma GCC unroll 8
        for (int r = 0; r < 8; r++) {
            if (r < rows) {
                __m512 x = _mm512_set1_ps(ar[(size_t)r * k + p]);
                acc[r][0] = _mm512_fmadd_ps(x, b0, acc[r][0]);
                acc[r][1] = _mm512_fmadd_ps(x, b1, acc[r][1]);
                acc[r][2] = _mm512_fmadd_ps(x, b2, acc[r][2]);
            }
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < 8; r++) {
        if (r < rows) {
            float *cr = c + (size_t)(r0 + r) * m + j0;
            _mm512_mask_storeu_ps(cr, mask[0], acc[r][0]);
            _mm512_mask_storeu_ps(cr + 16, mask[1], acc[r][1]);
            _mm512_mask_storeu_ps(cr + 32, mask[2], acc[r][2]);
        }
    }
}

void dg_times_matrix(const float *a, int n, int k, const float *b, int m, float *c)
{
    /* a column block of b ([k][48], 48 KB for k = 256) stays in cache for all the rows */
    for (int j0 = 0; j0 < m; j0 += 48) {
        for (int r0 = 0; r0 < n; r0 += 8) {
            times_tile(a, k, b, m, c, r0, n - r0 < 8 ? n - r0 : 8, j0);
        }
    }
}

void dg_copy_floats(float *dst, const float *src, int n)
{
    for (int i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(dst + i, m, _mm512_maskz_loadu_ps(m, src + i));
    }
}

void dg_add_floats(float *dst, const float *src, int n)
{
    for (int i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i);
        __m512 sum =
            _mm512_add_ps(_mm512_maskz_loadu_ps(m, dst + i), _mm512_maskz_loadu_ps(m, src + i));
        _mm512_mask_storeu_ps(dst + i, m, sum);
    }
}

void dg_maxpool2_plane(const float *x, float *y, int32_t *arg, int w, int oh, int ow)
{
    const __m512i even =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    const __m512i lane2 = _mm512_slli_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), 1);
    for (int i = 0; i < oh; i++) {
        const float *r0 = x + (size_t)(2 * i) * w, *r1 = r0 + w;
        for (int j = 0; j < ow; j += 16) {
            int outs = ow - j < 16 ? ow - j : 16;
            /* the 2*outs input columns, in two masked halves */
            __mmask16 lo = tail_mask(2 * outs),
                      hi = tail_mask(2 * outs - 16 > 0 ? 2 * outs - 16 : 0);
            const float *p0 = r0 + 2 * j, *p1 = r1 + 2 * j;
            __m512 a0 = _mm512_maskz_loadu_ps(lo, p0), a1 = _mm512_maskz_loadu_ps(hi, p0 + 16);
            __m512 b0 = _mm512_maskz_loadu_ps(lo, p1), b1 = _mm512_maskz_loadu_ps(hi, p1 + 16);
            __m512 a = _mm512_permutex2var_ps(a0, even, a1),
                   b = _mm512_permutex2var_ps(a0, odd, a1);
            __m512 c = _mm512_permutex2var_ps(b0, even, b1),
                   d = _mm512_permutex2var_ps(b0, odd, b1);
            __mmask16 top_right = _mm512_cmp_ps_mask(b, a, _CMP_GT_OQ);
            __mmask16 bottom_right = _mm512_cmp_ps_mask(d, c, _CMP_GT_OQ);
            __m512 top = _mm512_mask_blend_ps(top_right, a, b);
            __m512 bottom = _mm512_mask_blend_ps(bottom_right, c, d);
            __mmask16 lower = _mm512_cmp_ps_mask(bottom, top, _CMP_GT_OQ);
            __m512i top_at = _mm512_maskz_mov_epi32(top_right, _mm512_set1_epi32(1));
            __m512i bottom_at = _mm512_mask_blend_epi32(bottom_right, _mm512_set1_epi32(w),
                                                        _mm512_set1_epi32(w + 1));
            __m512i at = _mm512_mask_blend_epi32(lower, top_at, bottom_at);
            at =
                _mm512_add_epi32(at, _mm512_add_epi32(lane2, _mm512_set1_epi32(2 * i * w + 2 * j)));
            __mmask16 out = tail_mask(outs);
            _mm512_mask_storeu_ps(y + (size_t)i * ow + j, out,
                                  _mm512_mask_blend_ps(lower, top, bottom));
            if (arg) {
                _mm512_mask_storeu_epi32(arg + (size_t)i * ow + j, out, at);
            }
        }
    }
}

bool dg_floats_finite(const float *x, size_t n)
{
    /* x * 0 is 0 for a finite x and NaN otherwise; a NaN in a running sum stays */
    __m512 zero = _mm512_setzero_ps(), acc0 = zero, acc1 = zero;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), zero, acc0);
        acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 16), zero, acc1);
    }
    for (; i < n; i += 16) {
        __mmask16 k = tail_mask(n - i > 16 ? 16 : (int)(n - i));
        acc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, x + i), zero, acc0);
    }
    return _mm512_cmp_ps_mask(_mm512_add_ps(acc0, acc1), zero, _CMP_EQ_OQ) == 0xffff;
}

void dg_adam_update(float *p, const float *g, float *m, float *v, size_t n, float b1, float b2,
                    float lr_t, float eps)
{
    __m512 vb1 = _mm512_set1_ps(b1), vb2 = _mm512_set1_ps(b2);
    __m512 vc1 = _mm512_set1_ps(1.0f - b1), vc2 = _mm512_set1_ps(1.0f - b2);
    __m512 vlr = _mm512_set1_ps(lr_t), veps = _mm512_set1_ps(eps);
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 k = tail_mask(n - i > 16 ? 16 : (int)(n - i));
        __m512 gi = _mm512_maskz_loadu_ps(k, g + i);
        __m512 mi = _mm512_add_ps(_mm512_mul_ps(vb1, _mm512_maskz_loadu_ps(k, m + i)),
                                  _mm512_mul_ps(vc1, gi));
        __m512 vi = _mm512_add_ps(_mm512_mul_ps(vb2, _mm512_maskz_loadu_ps(k, v + i)),
                                  _mm512_mul_ps(vc2, _mm512_mul_ps(gi, gi)));
        __m512 step =
            _mm512_div_ps(_mm512_mul_ps(vlr, mi), _mm512_add_ps(_mm512_sqrt_ps(vi), veps));
        _mm512_mask_storeu_ps(m + i, k, mi);
        _mm512_mask_storeu_ps(v + i, k, vi);
        _mm512_mask_storeu_ps(p + i, k, _mm512_sub_ps(_mm512_maskz_loadu_ps(k, p + i), step));
    }
}

#else

void dg_bias_relu_rows(float *y, const float *bias, int rows, int cols, bool relu)
{
    for (int r = 0; r < rows; r++) {
        float *row = y + (size_t)r * cols;
        for (int c = 0; c < cols; c++) {
            float v = row[c] + bias[r];
            row[c] = (relu && v < 0.0f) ? 0.0f : v;
        }
    }
}

float dg_relu_grad_sum(const float *y, const float *dy, float *dz, int n, bool relu)
{
    float s = 0.0f;
    for (int j = 0; j < n; j++) {
        float g = (relu && !(y[j] > 0.0f)) ? 0.0f : dy[j];
        if (dz) {
            dz[j] = g;
        }
        s += g;
    }
    return s;
}

void dg_copy_floats(float *dst, const float *src, int n)
{
    memcpy(dst, src, (size_t)n * sizeof(float));
}

void dg_add_floats(float *dst, const float *src, int n)
{
    for (int i = 0; i < n; i++) {
        dst[i] += src[i];
    }
}

void dg_dot_products(const float *x, int n, const float *w, int out, int k, float *y)
{
    for (int r = 0; r < n; r++) {
        dg_dot_rows(w, (size_t)k, out, x + (size_t)r * k, k, y + (size_t)r * out);
    }
}

void dg_times_matrix(const float *a, int n, int k, const float *b, int m, float *c)
{
    for (int r = 0; r < n; r++) {
        for (int j = 0; j < m; j++) {
            float s = 0.0f;
            for (int p = 0; p < k; p++) {
                s += a[(size_t)r * k + p] * b[(size_t)p * m + j];
            }
            c[(size_t)r * m + j] = s;
        }
    }
}

void dg_scatter_floats(float *dst, const int32_t *at, const float *src, const float *keep, int n)
{
    for (int j = 0; j < n; j++) {
        dst[at[j]] = keep && !(keep[j] > 0.0f) ? 0.0f : src[j];
    }
}

void dg_maxpool2_grad_plane(float *dx, const int32_t *arg, const float *dy, const float *keep,
                            int h, int w, int oh, int ow)
{
    memset(dx, 0, (size_t)h * w * sizeof(float));
    dg_scatter_floats(dx, arg, dy, keep, oh * ow);
}

void dg_dot_rows(const float *w, size_t ld, int rows, const float *x, int n, float *out)
{
    for (int r = 0; r < rows; r++) {
        const float *wr = w + (size_t)r * ld;
        float s = 0.0f;
        for (int i = 0; i < n; i++) {
            s += wr[i] * x[i];
        }
        out[r] = s;
    }
}

void dg_maxpool2_plane(const float *x, float *y, int32_t *arg, int w, int oh, int ow)
{
    for (int i = 0; i < oh; i++) {
        const float *r0 = x + (size_t)(2 * i) * w, *r1 = r0 + w;
        for (int j = 0; j < ow; j++) {
            float a = r0[2 * j], b = r0[2 * j + 1], c = r1[2 * j], d = r1[2 * j + 1];
            float top = b > a ? b : a, bottom = d > c ? d : c;
            int32_t top_at = b > a ? 1 : 0, bottom_at = d > c ? w + 1 : w;
            bool lower = bottom > top;
            y[i * ow + j] = lower ? bottom : top;
            if (arg) {
                arg[i * ow + j] = 2 * i * w + 2 * j + (lower ? bottom_at : top_at);
            }
        }
    }
}

bool dg_floats_finite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i])) {
            return false;
        }
    }
    return true;
}

void dg_adam_update(float *p, const float *g, float *m, float *v, size_t n, float b1, float b2,
                    float lr_t, float eps)
{
    for (size_t i = 0; i < n; i++) {
        m[i] = b1 * m[i] + (1.0f - b1) * g[i];
        v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        p[i] -= lr_t * m[i] / (sqrtf(v[i]) + eps);
    }
}

#endif

void dg_conv_pool_block(const dg_conv_args *l, const float *block, int o0, float *pooled,
                        int32_t *arg)
{
    int plane = dg_conv_pooled_plane_floats(l), poh = l->out.h / 2, pow = l->out.w / 2;
    int rows = l->units - o0 < DG_CONV_BLOCK_CHANNELS ? l->units - o0 : DG_CONV_BLOCK_CHANNELS;
    for (int r = 0; r < rows; r++) {
        size_t at = (size_t)(o0 + r) * poh * pow;
        dg_maxpool2_plane(block + (size_t)r * plane, pooled + at, arg + at, l->out.w, poh, pow);
    }
}
