/*
 * normalise.c - raw pixels (bytes 0..255, as IDX files and the preprocessing give them)
 * into the floats a network takes: x = (pixel * scale - mean) / std.
 */
#include "digits.h"

dg_norm dg_norm_default(void)
{
    dg_norm n = {1.0f / 255.0f, 0.0f, 1.0f};
    return n;
}

void dg_normalise(const dg_norm *norm, const uint8_t *pixels, size_t n_pixels, float *out)
{
    float scale = norm->scale / norm->std, shift = norm->mean / norm->std;
    for (size_t i = 0; i < n_pixels; i++) {
        out[i] = (float)pixels[i] * scale - shift;
    }
}
