/*
 * heatmap.c - the picture of an explanation: the 28x28 digit the network saw, faint,
 * with the gradient of the chosen class's score over it, red where ink pushes towards
 * the class and blue where it pushes away. Each pixel's tint is its |gradient| over the
 * largest one, through a square root so that weaker strokes still show.
 */
#include "digits.h"

#include <math.h>

/* a over b with weight t in 0..1, per 8-bit channel */
static dg_color blend(dg_color a, dg_color b, double t)
{
    dg_color out = 0;
    for (int shift = 0; shift <= 16; shift += 8) {
        double ca = (a >> shift) & 0xff, cb = (b >> shift) & 0xff;
        out |= (dg_color)(ca * t + cb * (1.0 - t) + 0.5) << shift;
    }
    return out;
}

dg_status dg_heatmap_picture(const uint8_t mnist28[DG_MNIST_PIXELS],
                             const float heat[DG_MNIST_PIXELS], int scale, dg_image **out)
{
    *out = NULL;
    if (scale < 1 || scale > 64) {
        return dg_fail(DG_ERR_ARG, "heat-map: scale %d out of range 1..64", scale);
    }
    dg_image *img;
    dg_status st = dg_canvas_new(DG_MNIST_SIDE * scale, DG_MNIST_SIDE * scale, 0xffffffu, &img);
    if (st != DG_OK) {
        return st;
    }
    double top = 0.0;
    for (int i = 0; i < DG_MNIST_PIXELS; i++) {
        double a = fabs((double)heat[i]);
        top = isfinite(a) && a > top ? a : top;
    }
    for (int i = 0; i < DG_MNIST_PIXELS; i++) {
        /* the digit in light grey: ink 255 becomes 0xb4 */
        dg_color grey = 255u - (dg_color)(mnist28[i] * 75u / 255u);
        dg_color base = grey << 16 | grey << 8 | grey;
        double v = top > 0.0 && isfinite(heat[i]) ? heat[i] / top : 0.0;
        dg_color tint = v >= 0.0 ? 0xd7301fu : 0x2166acu;
        dg_color c = blend(tint, base, sqrt(fabs(v)) * 0.9);
        dg_draw_rect(img, (i % DG_MNIST_SIDE) * scale, (i / DG_MNIST_SIDE) * scale, scale, scale,
                     c);
    }
    *out = img;
    return DG_OK;
}
