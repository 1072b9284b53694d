/*
 * augment.c - training-time data augmentation: a random affine map (rotation, scale,
 * shear, shift) and an elastic distortion (Simard, Steinkraus and Platt 2003: a field of
 * uniform random displacements smoothed by a Gaussian and scaled), applied to one image
 * of raw bytes and written as normalised floats, what a network takes.
 *
 * It works on the bytes, before normalisation, so that the background (0) is what the
 * map brings in from outside the image, whatever the normalisation.
 *
 * Legend: H, W image height and width; S = H*W pixels. Coordinates are (x, y) = (column,
 * row) with the image centre at ((W-1)/2, (H-1)/2). For an output pixel p the source
 * point is A^-1 (p - c - t) + c + alpha * d(p): A = rotation * shear * scale, t the
 * shift, d the smoothed displacement field; the source is read by bilinear interpolation,
 * zero outside the image.
 *
 * Each image draws from its own generator seeded by the caller, so the result depends on
 * the seed and the pixels only: not on the thread that computes it.
 */
#include "digits.h"

#include <math.h>
#include <string.h>

#define DEG (3.14159265358979323846 / 180.0)

dg_augment dg_augment_defaults(void)
{
    dg_augment a = {
        .on = false,
        .rotate = 10.0f,
        .scale = 0.1f,
        .shift = 2.0f,
        .shear = 10.0f,
        .elastic_alpha = 0.0f,
        .elastic_sigma = 4.0f,
    };
    return a;
}

dg_status dg_augment_check(const dg_augment *a)
{
    if (!(a->rotate >= 0 && a->rotate <= 180) || !(a->scale >= 0 && a->scale < 1) ||
        !(a->shift >= 0 && a->shift <= 64) || !(a->shear >= 0 && a->shear < 80) ||
        !(a->elastic_alpha >= 0 && a->elastic_alpha <= 1000) ||
        !(a->elastic_sigma >= 0.5f && a->elastic_sigma <= DG_AUGMENT_MAX_SIGMA)) {
        return dg_fail(DG_ERR_ARG,
                       "augmentation out of range (rotate %g in 0..180 degrees, scale %g in "
                       "0..1, shift %g in 0..64 pixels, shear %g in 0..80 degrees, elastic "
                       "alpha %g in 0..1000, sigma %g in 0.5..%g)",
                       (double)a->rotate, (double)a->scale, (double)a->shift, (double)a->shear,
                       (double)a->elastic_alpha, (double)a->elastic_sigma,
                       (double)DG_AUGMENT_MAX_SIGMA);
    }
    return DG_OK;
}

size_t dg_augment_work_floats(uint32_t h, uint32_t w)
{
    /* two displacement fields and one row or column being smoothed, plus the kernel */
    size_t s = (size_t)h * w;
    size_t line = h > w ? h : w;
    return 2 * s + line + (size_t)(3 * DG_AUGMENT_MAX_SIGMA + 1) + 1;
}

/* A uniform draw in [-r, r]. */
static float symmetric(dg_rng *rng, float r)
{
    return (2.0f * dg_rng_uniform(rng) - 1.0f) * r;
}

/* Smooths f[h][w] in place with the normalised kernel g[-radius..radius] (g points at
 * its centre), along rows then columns; outside the image counts as zero. */
static void smooth(float *f, uint32_t h, uint32_t w, const float *g, int radius, float *line)
{
    for (uint32_t y = 0; y < h; y++) {
        float *row = f + (size_t)y * w;
        memcpy(line, row, w * sizeof *line);
        for (int x = 0; x < (int)w; x++) {
            float sum = 0.0f;
            int lo = x - radius < 0 ? -x : -radius;
            int hi = x + radius >= (int)w ? (int)w - 1 - x : radius;
            for (int k = lo; k <= hi; k++) {
                sum += g[k] * line[x + k];
            }
            row[x] = sum;
        }
    }
    for (uint32_t x = 0; x < w; x++) {
        for (uint32_t y = 0; y < h; y++) {
            line[y] = f[(size_t)y * w + x];
        }
        for (int y = 0; y < (int)h; y++) {
            float sum = 0.0f;
            int lo = y - radius < 0 ? -y : -radius;
            int hi = y + radius >= (int)h ? (int)h - 1 - y : radius;
            for (int k = lo; k <= hi; k++) {
                sum += g[k] * line[y + k];
            }
            f[(size_t)y * w + x] = sum;
        }
    }
}

/* The elastic displacement fields dx[S], dy[S] in pixels. */
static void elastic_field(const dg_augment *a, dg_rng *rng, uint32_t h, uint32_t w, float *dx,
                          float *dy, float *line, float *kernel)
{
    size_t s = (size_t)h * w;
    for (size_t i = 0; i < s; i++) {
        dx[i] = symmetric(rng, 1.0f);
        dy[i] = symmetric(rng, 1.0f);
    }
    int radius = (int)ceilf(3.0f * a->elastic_sigma);
    float *g = kernel + radius;
    float total = 0.0f;
    for (int k = -radius; k <= radius; k++) {
        g[k] = expf(-(float)(k * k) / (2.0f * a->elastic_sigma * a->elastic_sigma));
        total += g[k];
    }
    /* alpha folded into the kernel: both passes together scale by alpha */
    float norm = sqrtf(a->elastic_alpha) / total;
    for (int k = -radius; k <= radius; k++) {
        g[k] *= norm;
    }
    smooth(dx, h, w, g, radius, line);
    smooth(dy, h, w, g, radius, line);
}

/* Bilinear read of in[h][w] at (x, y), zero outside. */
static float sample(const uint8_t *in, uint32_t h, uint32_t w, float x, float y)
{
    float fx0 = floorf(x), fy0 = floorf(y);
    int x0 = (int)fx0, y0 = (int)fy0;
    float fx = x - fx0, fy = y - fy0;
    float p[2][2] = {{0.0f, 0.0f}, {0.0f, 0.0f}};
    for (int j = 0; j < 2; j++) {
        int yy = y0 + j;
        if (yy < 0 || yy >= (int)h) {
            continue;
        }
        for (int i = 0; i < 2; i++) {
            int xx = x0 + i;
            if (xx >= 0 && xx < (int)w) {
                p[j][i] = (float)in[(size_t)yy * w + (size_t)xx];
            }
        }
    }
    float top = p[0][0] + fx * (p[0][1] - p[0][0]);
    float bottom = p[1][0] + fx * (p[1][1] - p[1][0]);
    return top + fy * (bottom - top);
}

void dg_augment_image(const dg_augment *a, const dg_norm *norm, uint64_t seed, const uint8_t *in,
                      uint32_t h, uint32_t w, float *work, float *out)
{
    dg_rng rng;
    dg_rng_seed(&rng, seed);
    /* the draws in a fixed order, each whether its range is zero or not */
    double theta = (double)symmetric(&rng, a->rotate) * DEG;
    double phi = (double)symmetric(&rng, a->shear) * DEG;
    double s = 1.0 + (double)symmetric(&rng, a->scale);
    float tx = symmetric(&rng, a->shift), ty = symmetric(&rng, a->shift);
    /* M = rotation * shear has determinant 1, so A^-1 = M^-1 / s */
    double c = cos(theta), sn = sin(theta), t = tan(phi);
    double m00 = c, m01 = c * t - sn, m10 = sn, m11 = sn * t + c;
    float i00 = (float)(m11 / s), i01 = (float)(-m01 / s);
    float i10 = (float)(-m10 / s), i11 = (float)(m00 / s);
    float cx = 0.5f * (float)(w - 1), cy = 0.5f * (float)(h - 1);
    size_t n = (size_t)h * w;
    float *dx = work, *dy = work + n;
    bool elastic = a->elastic_alpha > 0;
    if (elastic) {
        elastic_field(a, &rng, h, w, dx, dy, work + 2 * n, work + 2 * n + (h > w ? h : w));
    }
    float scale = norm->scale / norm->std, shift = norm->mean / norm->std;
    for (uint32_t y = 0; y < h; y++) {
        for (uint32_t x = 0; x < w; x++) {
            float u = (float)x - cx - tx, v = (float)y - cy - ty;
            float sx = i00 * u + i01 * v + cx, sy = i10 * u + i11 * v + cy;
            size_t at = (size_t)y * w + x;
            if (elastic) {
                sx += dx[at];
                sy += dy[at];
            }
            out[at] = sample(in, h, w, sx, sy) * scale - shift;
        }
    }
}
