/*
 * forms.c - ways of writing a digit that MNIST's writers rarely used, drawn onto its own
 * images at training time: the 1 with an up-stroke from its top down to the left (a
 * flag), sometimes with a foot, as much of Europe writes it. MNIST's 1s are almost all a
 * single stroke, so a network trained on them alone reads a flagged 1 as a 7.
 *
 * The flag is drawn along the 1's own stroke: its top and slant from the ink's moments,
 * its width from the ink's area over its length, its brightness the stroke's; then the
 * image is moved by whole pixels so that the ink's centre of mass is where it was, as
 * MNIST placed it.
 *
 * Legend: H, W image height and width; coordinates (x, y) = (column, row) of pixel
 * centres; ink is high (255), background 0, as in MNIST's files.
 */
#include "digits.h"

#include <math.h>
#include <string.h>

#define DEG (3.14159265358979323846 / 180.0)

/* A stroke shorter than this (pixels) is not drawn on: nothing a 1 could be. */
#define MIN_STROKE 6.0f

/* The sine of the steepest backward lean of a 1 that gets a flag (about 12 degrees). */
#define MAX_LEAN_BACK 0.2f

/* The ink's moments: mass, centre, the principal axis (pointing down) and how far the
 * ink reaches along it either side of the centre. */
typedef struct moments {
    float mass, cx, cy;
    float dx, dy;      /* unit vector of the axis, dy >= 0 */
    float top, bottom; /* extent along the axis from the centre (top < 0 < bottom) */
    uint8_t peak;      /* the brightest pixel */
} moments;

static bool ink_moments(const uint8_t *in, uint32_t h, uint32_t w, moments *m)
{
    double mass = 0, sx = 0, sy = 0;
    uint8_t peak = 0;
    for (uint32_t y = 0; y < h; y++) {
        for (uint32_t x = 0; x < w; x++) {
            double v = in[(size_t)y * w + x] / 255.0;
            mass += v;
            sx += v * x;
            sy += v * y;
            peak = in[(size_t)y * w + x] > peak ? in[(size_t)y * w + x] : peak;
        }
    }
    if (mass < 1.0) {
        return false;
    }
    double cx = sx / mass, cy = sy / mass, sxx = 0, syy = 0, sxy = 0;
    for (uint32_t y = 0; y < h; y++) {
        for (uint32_t x = 0; x < w; x++) {
            double v = in[(size_t)y * w + x] / 255.0;
            sxx += v * (x - cx) * (x - cx);
            syy += v * (y - cy) * (y - cy);
            sxy += v * (x - cx) * (y - cy);
        }
    }
    double theta = 0.5 * atan2(2.0 * sxy, sxx - syy);
    double dx = cos(theta), dy = sin(theta);
    if (dy < 0) {
        dx = -dx;
        dy = -dy;
    }
    double top = 0, bottom = 0;
    for (uint32_t y = 0; y < h; y++) {
        for (uint32_t x = 0; x < w; x++) {
            if (in[(size_t)y * w + x] >= 128) {
                double t = (x - cx) * dx + (y - cy) * dy;
                top = t < top ? t : top;
                bottom = t > bottom ? t : bottom;
            }
        }
    }
    *m = (moments){(float)mass, (float)cx,  (float)cy,     (float)dx,
                   (float)dy,   (float)top, (float)bottom, peak};
    return true;
}

/* Draws the segment (x0, y0)-(x1, y1) of the given width into img with brightness peak,
 * its edge a pixel wide, where it is brighter than what is there. */
static void draw_segment(uint8_t *img, uint32_t h, uint32_t w, float x0, float y0, float x1,
                         float y1, float width, uint8_t peak)
{
    float vx = x1 - x0, vy = y1 - y0, len2 = vx * vx + vy * vy;
    float half = 0.5f * width;
    for (uint32_t y = 0; y < h; y++) {
        for (uint32_t x = 0; x < w; x++) {
            float px = (float)x - x0, py = (float)y - y0;
            float t = len2 > 0 ? (px * vx + py * vy) / len2 : 0.0f;
            t = t < 0 ? 0 : t > 1 ? 1 : t;
            float ex = px - t * vx, ey = py - t * vy;
            float cover = half + 0.5f - sqrtf(ex * ex + ey * ey);
            if (cover <= 0) {
                continue;
            }
            float v = (cover > 1 ? 1 : cover) * (float)peak;
            uint8_t *p = &img[(size_t)y * w + x];
            if (v > *p) {
                *p = (uint8_t)lrintf(v);
            }
        }
    }
}

/* out = img moved by (sx, sy) whole pixels, zero from outside: whole pixels, so that the
 * strokes stay as sharp as the other digits' (a fraction of a pixel would blur them). */
static void move(const uint8_t *img, uint32_t h, uint32_t w, int sx, int sy, uint8_t *out)
{
    for (int y = 0; y < (int)h; y++) {
        for (int x = 0; x < (int)w; x++) {
            int xx = x - sx, yy = y - sy;
            bool inside = xx >= 0 && xx < (int)w && yy >= 0 && yy < (int)h;
            out[(size_t)y * w + (size_t)x] = inside ? img[(size_t)yy * w + (size_t)xx] : 0;
        }
    }
}

void dg_form_flagged_one(uint64_t seed, const uint8_t *in, uint32_t h, uint32_t w, uint8_t *work,
                         uint8_t *out)
{
    moments m;
    /* a 1 leaning back (its top to the left of its foot) would take a flag as a roof */
    if (!ink_moments(in, h, w, &m) || m.bottom - m.top < MIN_STROKE || m.dx > MAX_LEAN_BACK) {
        memcpy(out, in, (size_t)h * w);
        return;
    }
    dg_rng rng;
    dg_rng_seed(&rng, seed);
    float length = m.bottom - m.top;
    /* the ink's area over its length, less a little for the round ends */
    float width = 0.9f * m.mass / length;
    width = width < 1.5f ? 1.5f : width > 5.0f ? 5.0f : width;
    /* the flag: from the top of the stroke (its cap's centre) down to the left, 18-35% of
     * the stroke's length, 35-65 degrees below the horizontal (a flatter one is a 7's bar) */
    float top_x = m.cx + (m.top + 0.5f * width) * m.dx;
    float top_y = m.cy + (m.top + 0.5f * width) * m.dy;
    float flag = length * (0.22f + 0.23f * dg_rng_uniform(&rng));
    double angle = (30.0 + 30.0 * dg_rng_uniform(&rng)) * DEG;
    float fx = top_x - flag * (float)cos(angle), fy = top_y + flag * (float)sin(angle);
    /* a foot in a third of them: level, centred under the stroke, 35-55% of its length */
    bool foot = dg_rng_uniform(&rng) < 1.0f / 3.0f;
    float half_foot = 0.5f * length * (0.35f + 0.2f * dg_rng_uniform(&rng));
    float bottom_x = m.cx + (m.bottom - 0.5f * width) * m.dx;
    float bottom_y = m.cy + (m.bottom - 0.5f * width) * m.dy;
    memcpy(work, in, (size_t)h * w);
    draw_segment(work, h, w, top_x, top_y, fx, fy, width, m.peak);
    if (foot) {
        draw_segment(work, h, w, bottom_x - half_foot, bottom_y, bottom_x + half_foot, bottom_y,
                     width, m.peak);
    }
    moments after;
    if (!ink_moments(work, h, w, &after)) {
        memcpy(out, in, (size_t)h * w);
        return;
    }
    move(work, h, w, (int)lrintf(m.cx - after.cx), (int)lrintf(m.cy - after.cy), out);
}
