/*
 * mnist.c - ink into MNIST-like 28x28 digits (dg_ink_to_mnist, dg_ink_mask_to_mnist), the
 * way MNIST itself was made: the digit is fitted into a 20x20 box keeping its aspect ratio,
 * the scaling's anti-aliasing gives the grey levels, and the box is placed in a 28x28 field
 * so that its centre of mass sits at the field's centre. Layout: images are [h][w]
 * row-major; x is the column, y the row; a pixel's coordinates are its indices (its
 * centre), so the field's centre is pixel (14, 14), which is where MNIST puts the centre of
 * mass (measured on the training set: mean 14.01, 13.99, all within 13.5..14.5).
 *
 * The conversion, on the ink of the digit only (an ink map from ink.c, cut to the digit by
 * preprocess.c or segment.c):
 *  1. Crop to the bounding box of nonzero ink, and estimate the stroke width as
 *     2 * area / perimeter, the perimeter being the total variation of the ink (sum of
 *     |differences| between 4-neighbours) times pi/4 to undo the city-block bias. On
 *     MNIST itself this gives a median of 2.5 px and 99.5% of the digits within 1.25..5.0.
 *  2. If the width the stroke would have in the 20x20 box is in that range, the crop is
 *     resampled as it is: scaled by 20 / longer side (exactly 1 when that side is already
 *     19-21 px, so MNIST digits pass through untouched) with an area-averaging box filter,
 *     or linear interpolation when enlarging.
 *  3. Otherwise (a 1 px pencil line on a 1000 px canvas would be 0.02 px wide in the box, a
 *     marker blob far too bold) the strokes are redrawn: the ink is sampled onto a grid 4
 *     times finer than the box (maximum over each cell's pixels, so thin lines survive),
 *     thresholded at half ink, thinned to its skeleton (Zhang-Suen), and drawn back with a
 *     disc of the MNIST median width, 2.5 px, anti-aliased from the exact Euclidean
 *     distance to the skeleton, then averaged down 4x4. The scale is chosen so that the
 *     skeleton plus the new stroke fills 20 px, as the strokes of a MNIST digit do.
 *  4. The box is scaled so its brightest pixel is 255, quantised, and placed in 28x28
 *     shifted by whole pixels so that the centre of mass of its bytes is at (14, 14) within
 *     half a pixel, by rounding, as MNIST did; whole-pixel shifts keep the anti-aliasing of
 *     the scaling alone, and ink pushed outside the field is lost, as there. A 28x28 ink
 *     map whose digit already sits within 0.53 px of the centre keeps its place, so a MNIST
 *     digit on a rounding tie is not moved by a pixel.
 */
#include "vision/preprocess.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MNIST_CENTRE 14.0 /* where MNIST puts the centre of mass, in pixel indices */

/* Stroke widths by the estimator below, measured on the MNIST training set: median, and
 * a range holding 99.5% of the digits. Widths inside it are left as drawn. */
#define STROKE_TARGET 2.5f
#define STROKE_LO     DG_PREP_REDRAWN_BELOW
#define STROKE_HI     5.0f
#define RENDER_K      4 /* redrawing grid cells per box pixel, each way */
/* the squared distance, in grid cells, beyond which a redrawn stroke covers nothing:
 * (STROKE_TARGET * RENDER_K / 2 + 0.5)^2 rounded up */
#define REACH2_MAX 31

/* ---------------------------------------------------------------- measuring the ink */

/* Bounding box of nonzero pixels of a [h][w] byte image inside (x0, y0, x1, y1] where
 * mask (rw wide, origin at mx, my; may be NULL) is nonzero. Returns 0 when there is none. */
int dg_prep_ink_box(const uint8_t *px, int w, const uint8_t *mask, int mx, int my, int rw, int x0,
                    int y0, int x1, int y1, int box[4])
{
    int bx0 = x1, by0 = y1, bx1 = x0 - 1, by1 = y0 - 1;
    for (int y = y0; y < y1; y++) {
        const uint8_t *row = px + (size_t)y * w;
        const uint8_t *mrow = mask ? mask + (size_t)(y - my) * rw : NULL;
        int first = -1, last = -1;
        for (int x = x0; x < x1; x++) {
            if (row[x] && (!mrow || mrow[x - mx])) {
                first = x;
                break;
            }
        }
        if (first < 0) {
            continue;
        }
        for (int x = x1 - 1; x >= first; x--) {
            if (row[x] && (!mrow || mrow[x - mx])) {
                last = x;
                break;
            }
        }
        bx0 = first < bx0 ? first : bx0;
        bx1 = last > bx1 ? last : bx1;
        by0 = y < by0 ? y : by0;
        by1 = y;
    }
    if (bx1 < bx0) {
        return 0;
    }
    box[0] = bx0;
    box[1] = by0;
    box[2] = bx1 - bx0 + 1;
    box[3] = by1 - by0 + 1;
    return 1;
}

/* Stroke width estimate of a [h][w] ink crop (0..255): 2 * area / perimeter, the perimeter
 * being the total variation (outside the crop counts as 0) times pi / 4. */
float dg_prep_stroke_width(const uint8_t *px, int w, int h, size_t stride)
{
    double area = 0, tv = 0;
    for (int y = 0; y < h; y++) {
        const uint8_t *row = px + (size_t)y * stride;
        const uint8_t *up = y > 0 ? row - stride : NULL;
        int left = 0;
        for (int x = 0; x < w; x++) {
            int v = row[x];
            area += v;
            tv += abs(v - left);
            tv += abs(v - (up ? up[x] : 0));
            left = v;
        }
        tv += left;
    }
    const uint8_t *last = px + (size_t)(h - 1) * stride;
    for (int x = 0; x < w; x++) {
        tv += last[x];
    }
    if (tv <= 0) {
        return 0;
    }
    return (float)(2.0 * area / (tv * M_PI / 4.0));
}

/* ---------------------------------------------------------------- resampling */

/* Weights of a 1-D resampling by `scale` output pixels per source pixel: output pixel i
 * covers source [(i - off) / scale, (i + 1 - off) / scale), averaged (box filter) when it
 * covers a pixel or more, else interpolated linearly at its centre. Sources outside
 * [0, n_src) are background. first[i], count[i] index into w (n_out * max_taps). */
typedef struct taps {
    int n_out, max_taps;
    int *first, *count;
    float *w;
} taps;

static void taps_free(taps *t)
{
    free(t->first);
    free(t->count);
    free(t->w);
}

static dg_status taps_make(taps *t, int n_src, int n_out, double scale, double off)
{
    double span = 1.0 / scale;
    t->n_out = n_out;
    t->max_taps = (int)ceil(span) + 2;
    t->first = malloc(sizeof(int) * (size_t)n_out);
    t->count = malloc(sizeof(int) * (size_t)n_out);
    t->w = malloc(sizeof(float) * (size_t)n_out * (size_t)t->max_taps);
    if (!t->first || !t->count || !t->w) {
        taps_free(t);
        return dg_prep_nomem();
    }
    for (int i = 0; i < n_out; i++) {
        float *w = t->w + (size_t)i * t->max_taps;
        int n = 0, first = 0;
        if (span >= 1.0) {
            double a = (i - off) * span, b = a + span;
            int k0 = (int)floor(a), k1 = (int)ceil(b) - 1;
            k0 = k0 < 0 ? 0 : k0;
            k1 = k1 >= n_src ? n_src - 1 : k1;
            first = k0;
            for (int k = k0; k <= k1 && n < t->max_taps; k++) {
                double lo = a > k ? a : k, hi = b < k + 1 ? b : k + 1;
                w[n++] = hi > lo ? (float)((hi - lo) / span) : 0.0f;
            }
        } else {
            double c = (i + 0.5 - off) * span - 0.5;
            int k0 = (int)floor(c);
            float f = (float)(c - k0);
            first = k0 < 0 ? 0 : k0;
            if (k0 >= 0 && k0 < n_src) {
                w[n++] = 1.0f - f;
            }
            if (k0 + 1 >= 0 && k0 + 1 < n_src) {
                if (n == 0) {
                    first = k0 + 1;
                }
                w[n++] = f;
            }
        }
        t->first[i] = first;
        t->count[i] = n;
    }
    return DG_OK;
}

/* Separable resampling of src[h][w] (stride sstride, 0..255 bytes) into dst[oh][ow]
 * floats 0..1, by `scale` with output offset off (both axes). */
static dg_status resample(const uint8_t *src, int w, int h, size_t sstride, float *dst, int ow,
                          int oh, double scale, double off_x, double off_y)
{
    taps tx = {0}, ty = {0};
    float *tmp = malloc(sizeof *tmp * (size_t)ow * (size_t)h);
    dg_status st = tmp ? taps_make(&tx, w, ow, scale, off_x) : dg_prep_nomem();
    if (st == DG_OK) {
        st = taps_make(&ty, h, oh, scale, off_y);
    }
    if (st != DG_OK) {
        free(tmp);
        taps_free(&tx);
        return st;
    }
    for (int y = 0; y < h; y++) {
        const uint8_t *row = src + (size_t)y * sstride;
        for (int i = 0; i < ow; i++) {
            const float *wt = tx.w + (size_t)i * tx.max_taps;
            float s = 0;
            for (int k = 0; k < tx.count[i]; k++) {
                s += wt[k] * row[tx.first[i] + k];
            }
            tmp[(size_t)y * ow + i] = s * (1.0f / 255.0f);
        }
    }
    for (int j = 0; j < oh; j++) {
        const float *wt = ty.w + (size_t)j * ty.max_taps;
        for (int i = 0; i < ow; i++) {
            float s = 0;
            for (int k = 0; k < ty.count[j]; k++) {
                s += wt[k] * tmp[(size_t)(ty.first[j] + k) * ow + i];
            }
            dst[(size_t)j * ow + i] = s;
        }
    }
    free(tmp);
    taps_free(&tx);
    taps_free(&ty);
    return DG_OK;
}

/* ---------------------------------------------------------------- redrawing strokes */

/* Zhang-Suen thinning of a binary grid g[h][w] whose border cells are 0. Each pass
 * decides on the grid as it was when the pass began and deletes what it decided after it,
 * so only the cells still set need looking at, in any order: they are listed once, and
 * each pass drops from the list the cells it deletes. */
static void thin(uint8_t *g, int w, int h)
{
    size_t n_set = 0;
    for (int y = 1; y < h - 1; y++) {
        for (int x = 1; x < w - 1; x++) {
            n_set += g[(size_t)y * w + x] != 0;
        }
    }
    if (n_set == 0) {
        return;
    }
    size_t *set = malloc(sizeof *set * (n_set + 1)); /* + 1: the listing writes one ahead */
    size_t *del = malloc(sizeof *del * n_set);
    if (!set || !del) {
        free(set);
        free(del);
        return; /* unthinned strokes come out bolder, not wrong */
    }
    n_set = 0;
    for (int y = 1; y < h - 1; y++) {
        for (int x = 1; x < w - 1; x++) {
            set[n_set] = (size_t)y * w + x; /* kept when set: no branch to mispredict */
            n_set += g[(size_t)y * w + x] != 0;
        }
    }
    int changed = 1;
    while (changed) {
        changed = 0;
        for (int pass = 0; pass < 2; pass++) {
            size_t n_del = 0, n_kept = 0;
            for (size_t i = 0; i < n_set; i++) {
                const uint8_t *c = g + set[i];
                /* neighbours P2..P9 clockwise from north */
                int n[8] = {c[-w], c[-w + 1], c[1], c[w + 1], c[w], c[w - 1], c[-1], c[-w - 1]};
                int b = 0, a = 0;
                for (int k = 0; k < 8; k++) {
                    b += n[k];
                    a += !n[k] && n[(k + 1) % 8];
                }
                int ok = b >= 2 && b <= 6 && a == 1 &&
                         (pass == 0 ? !(n[0] && n[2] && n[4]) && !(n[2] && n[4] && n[6])
                                    : !(n[0] && n[2] && n[6]) && !(n[0] && n[4] && n[6]));
                if (ok) {
                    del[n_del++] = set[i];
                } else {
                    set[n_kept++] = set[i];
                }
            }
            for (size_t i = 0; i < n_del; i++) {
                g[del[i]] = 0;
            }
            n_set = n_kept;
            changed |= n_del > 0;
        }
    }
    free(set);
    free(del);
}

/* The squared Euclidean distance from every cell of g[h][w] to the nearest nonzero cell,
 * into d2, where it is at most reach2 (a whole number); NO_REACH elsewhere. Each nonzero
 * cell stamps the disc of radius sqrt(reach2) around it, keeping the smallest square: a
 * cell's nearest nonzero cell within the disc is among the stamps, so the squares found
 * are the exact ones. (The disc covers nothing further away; a distance transform of the
 * whole grid would spend most of its work there.) A nonzero cell skips the part of its disc
 * beyond a nonzero neighbour (left, right, above, below): the neighbour is strictly nearer
 * to all of it, so the nearest nonzero cell of a cell there is never the one skipping it. */
#define NO_REACH UINT16_MAX
static void distance_within(const uint8_t *g, int w, int h, int reach2, uint16_t *d2)
{
    int r = (int)sqrt((double)reach2);
    int half[REACH2_MAX + 1];        /* the disc's half-width dy rows away */
    uint16_t sq[2 * REACH2_MAX + 1]; /* sq[r + d] = d^2 for |d| <= r */
    for (int dy = 0; dy <= r; dy++) {
        half[dy] = (int)sqrt((double)(reach2 - dy * dy));
        sq[r + dy] = sq[r - dy] = (uint16_t)(dy * dy);
    }
    memset(d2, 0xff, sizeof *d2 * (size_t)w * h); /* NO_REACH in every cell */
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            const uint8_t *c = g + (size_t)y * w + x;
            if (!*c) {
                continue;
            }
            /* a side with a nonzero neighbour is left to it (above) */
            bool left = x > 0 && c[-1], right = x + 1 < w && c[1];
            bool up = y > 0 && c[-w], down = y + 1 < h && c[w];
            int y0 = up ? y : y - r < 0 ? 0 : y - r, y1 = down ? y : y + r >= h ? h - 1 : y + r;
            for (int yy = y0; yy <= y1; yy++) {
                int dy2 = (yy - y) * (yy - y);
                int dx = half[yy > y ? yy - y : y - yy];
                int x0 = left ? x : x - dx < 0 ? 0 : x - dx;
                int x1 = right ? x : x + dx >= w ? w - 1 : x + dx;
                uint16_t *row = d2 + (size_t)yy * w;
                for (int xx = x0; xx <= x1; xx++) {
                    uint16_t v = (uint16_t)(dy2 + sq[r + xx - x]);
                    row[xx] = v < row[xx] ? v : row[xx];
                }
            }
        }
    }
}

/*
 * Redraws the ink of crop[h][w] with strokes STROKE_TARGET box pixels wide, scaled by
 * `scale` box pixels per source pixel. Writes a box image of *bw x *bh pixels (0..1) into a
 * new *out, with a margin wide enough for the redrawn strokes.
 */
static dg_status restroke(const uint8_t *crop, int w, int h, double scale, float **out, int *bw,
                          int *bh)
{
    const int K = RENDER_K;
    float radius = 0.5f * STROKE_TARGET * K; /* disc radius, grid cells */
    int margin = (int)ceilf(radius) + 2;
    double g = scale * K; /* grid cells per source pixel */
    int dw = (int)ceil(w * g), dh = (int)ceil(h * g);
    dw = dw < 1 ? 1 : dw;
    dh = dh < 1 ? 1 : dh;
    int ow = dg_ceil_div(dw + 2 * margin, K), oh = dg_ceil_div(dh + 2 * margin, K);
    int gw = ow * K, gh = oh * K;
    int ox = (gw - dw) / 2, oy = (gh - dh) / 2; /* the drawing's corner in the grid */
    size_t n = (size_t)gw * gh;
    uint8_t *grid = calloc(n, 1);
    uint16_t *d2 = malloc(sizeof *d2 * n);
    float *dom = malloc(sizeof *dom * (size_t)dw * dh);
    float *box = calloc((size_t)ow * oh, sizeof *box);
    if (!grid || !d2 || !dom || !box) {
        free(grid);
        free(d2);
        free(dom);
        free(box);
        return dg_prep_nomem();
    }
    dg_status st;
    if (g <= 1.0) {
        /* shrinking: a cell is ink when any pixel it covers is half ink, so 1 px lines stay */
        for (int v = 0; v < dh; v++) {
            int y0 = (int)floor(v / g), y1 = (int)ceil((v + 1) / g);
            y1 = y1 > h ? h : y1;
            for (int u = 0; u < dw; u++) {
                int x0 = (int)floor(u / g), x1 = (int)ceil((u + 1) / g);
                x1 = x1 > w ? w : x1;
                int best = 0;
                for (int y = y0; y < y1 && best < 128; y++) {
                    for (int x = x0; x < x1; x++) {
                        best = crop[(size_t)y * w + x] > best ? crop[(size_t)y * w + x] : best;
                    }
                }
                dom[(size_t)v * dw + u] = (float)best / 255.0f;
            }
        }
        st = DG_OK;
    } else {
        st = resample(crop, w, h, (size_t)w, dom, dw, dh, g, 0.0, 0.0);
    }
    if (st == DG_OK) {
        size_t n_ink = 0;
        for (int v = 0; v < dh; v++) {
            for (int u = 0; u < dw; u++) {
                int ink = dom[(size_t)v * dw + u] >= 0.5f;
                grid[(size_t)(v + oy) * gw + u + ox] = (uint8_t)ink;
                n_ink += (size_t)ink;
            }
        }
        if (n_ink == 0) {
            /* faint ink everywhere: take whatever there is */
            for (int v = 0; v < dh; v++) {
                for (int u = 0; u < dw; u++) {
                    grid[(size_t)(v + oy) * gw + u + ox] = dom[(size_t)v * dw + u] > 0.0f;
                }
            }
        }
        thin(grid, gw, gh);
    }
    if (st == DG_OK) {
        /* Cells further than radius + 0.5 from the skeleton get no cover (adding 0 changes
         * no sum): the distances are needed only up to the first square beyond it. */
        int reach2 = (int)ceilf((radius + 0.5f) * (radius + 0.5f));
        assert(reach2 <= REACH2_MAX);
        distance_within(grid, gw, gh, reach2, d2);
        float inv = 1.0f / (float)(K * K);
        /* a cell's share of the box pixel for each squared distance it can have */
        float share[REACH2_MAX + 2];
        for (int sq = 0; sq <= reach2; sq++) {
            float dist = (float)sqrt((double)sq);
            share[sq] = dg_clampf(radius + 0.5f - dist, 0.0f, 1.0f) * inv;
        }
        share[reach2 + 1] = 0.0f; /* out of reach: adding +0 leaves a sum of covers as it is */
        for (int y = 0; y < gh; y++) {
            for (int x = 0; x < gw; x++) {
                uint16_t sq = d2[(size_t)y * gw + x];
                box[(size_t)(y / K) * ow + x / K] += share[sq <= reach2 ? sq : reach2 + 1];
            }
        }
        *out = box;
        *bw = ow;
        *bh = oh;
        box = NULL;
    }
    free(grid);
    free(d2);
    free(dom);
    free(box);
    return st;
}

/* ---------------------------------------------------------------- into 28x28 */

/* Places box[bh][bw] (0..1) into out[28][28], brightest pixel 255, shifted by whole pixels
 * so that its centre of mass is at MNIST_CENTRE (rounding, as MNIST). When (keep_x, keep_y)
 * is given (keep != 0) and already puts the centre of mass within half a pixel of the
 * centre, the box goes there instead: a digit already placed MNIST's way keeps its place
 * even when its centre of mass sits on a rounding tie. */
static void place(float *box, int bw, int bh, int keep, int keep_x, int keep_y,
                  uint8_t out[DG_MNIST_PIXELS])
{
    memset(out, 0, DG_MNIST_PIXELS);
    size_t n = (size_t)bw * bh;
    float peak = 0;
    for (size_t i = 0; i < n; i++) {
        peak = box[i] > peak ? box[i] : peak;
    }
    if (peak <= 0) {
        return;
    }
    /* quantise first, so that the centre of mass is that of the bytes written */
    double m = 0, mx = 0, my = 0;
    float gain = 255.0f / peak;
    for (int y = 0; y < bh; y++) {
        for (int x = 0; x < bw; x++) {
            float *v = &box[(size_t)y * bw + x];
            *v = floorf(dg_clampf(*v * gain, 0.0f, 255.0f) + 0.5f);
            m += *v;
            mx += *v * x;
            my += *v * y;
        }
    }
    int sx = (int)floor(MNIST_CENTRE - mx / m + 0.5), sy = (int)floor(MNIST_CENTRE - my / m + 0.5);
    if (keep && fabs(keep_x + mx / m - MNIST_CENTRE) <= 0.53 &&
        fabs(keep_y + my / m - MNIST_CENTRE) <= 0.53) {
        sx = keep_x;
        sy = keep_y;
    }
    for (int y = 0; y < bh; y++) {
        int oy = y + sy;
        if (oy < 0 || oy >= DG_MNIST_SIDE) {
            continue;
        }
        for (int x = 0; x < bw; x++) {
            int ox = x + sx;
            if (ox >= 0 && ox < DG_MNIST_SIDE) {
                out[oy * DG_MNIST_SIDE + ox] = (uint8_t)box[(size_t)y * bw + x];
            }
        }
    }
}

/* The MNIST conversion of the masked ink inside the (already clipped) rectangle. */
dg_status dg_prep_to_mnist(const dg_image *ink, const uint8_t *mask, int mx, int my, int mw, int x0,
                           int y0, int x1, int y1, uint8_t out[DG_MNIST_PIXELS],
                           dg_preprocess_info *info)
{
    memset(out, 0, DG_MNIST_PIXELS);
    int box[4];
    if (!dg_prep_ink_box(ink->pixels, ink->w, mask, mx, my, mw, x0, y0, x1, y1, box)) {
        if (info) {
            info->status = DG_PREP_EMPTY;
        }
        return DG_OK;
    }
    int w = box[2], h = box[3];
    uint8_t *crop = malloc((size_t)w * h);
    if (!crop) {
        return dg_prep_nomem();
    }
    for (int y = 0; y < h; y++) {
        const uint8_t *src = ink->pixels + (size_t)(box[1] + y) * ink->w + box[0];
        uint8_t *dst = crop + (size_t)y * w;
        if (mask) {
            const uint8_t *m = mask + (size_t)(box[1] + y - my) * mw + (box[0] - mx);
            for (int x = 0; x < w; x++) {
                dst[x] = m[x] ? src[x] : 0;
            }
        } else {
            memcpy(dst, src, (size_t)w);
        }
    }
    float stroke = dg_prep_stroke_width(crop, w, h, (size_t)w);
    int side = w > h ? w : h;
    double scale = abs(side - DG_MNIST_BOX) <= 1 ? 1.0 : (double)DG_MNIST_BOX / side;
    float in_box = stroke * (float)scale;
    /* a 28x28 image whose digit already fills the 20 px box was made MNIST's way: its
     * strokes stay as drawn, thin or bold (MNIST has both) */
    int mnist_shaped = scale == 1.0 && ink->w == DG_MNIST_SIDE && ink->h == DG_MNIST_SIDE;
    int redraw = !mnist_shaped && (in_box < STROKE_LO || in_box > STROKE_HI);
    float *img = NULL;
    int bw = 0, bh = 0;
    dg_status st;
    if (!redraw) {
        bw = (int)ceil(w * scale - 1e-9);
        bh = (int)ceil(h * scale - 1e-9);
        bw = bw < 1 ? 1 : bw;
        bh = bh < 1 ? 1 : bh;
        img = malloc(sizeof *img * (size_t)bw * bh);
        st = img ? resample(crop, w, h, (size_t)w, img, bw, bh, scale, 0.0, 0.0) : dg_prep_nomem();
    } else {
        /* skeleton plus the new stroke should fill the box: the skeleton spans about the
         * ink's extent less its old width */
        double skel = fmax(fmax(side - stroke, 0.25 * side), 1.0);
        double s = (DG_MNIST_BOX - STROKE_TARGET) / skel;
        st = restroke(crop, w, h, s, &img, &bw, &bh);
    }
    free(crop);
    if (st != DG_OK) {
        free(img);
        return st;
    }
    /* an ink map of MNIST's own size may hold a digit already in place */
    int keep = mnist_shaped;
    place(img, bw, bh, keep, box[0], box[1], out);
    free(img);
    if (info) {
        info->status = DG_PREP_OK;
        info->box_x = box[0];
        info->box_y = box[1];
        info->box_w = w;
        info->box_h = h;
        info->stroke_px = stroke;
        info->restroked = redraw != 0;
    }
    return DG_OK;
}

dg_status dg_ink_mask_to_mnist(const dg_image *ink, const uint8_t *mask, int x, int y, int w, int h,
                               uint8_t out[DG_MNIST_PIXELS], dg_preprocess_info *info)
{
    if (!out) {
        return dg_fail(DG_ERR_ARG, "ink to mnist: no output buffer");
    }
    memset(out, 0, DG_MNIST_PIXELS);
    if (info) {
        memset(info, 0, sizeof *info);
        info->status = DG_PREP_EMPTY;
    }
    if (!ink || !ink->pixels || ink->channels != 1 || ink->w <= 0 || ink->h <= 0) {
        return dg_fail(DG_ERR_ARG, "ink to mnist: not a 1-channel ink map");
    }
    if (w <= 0 || h <= 0) {
        return dg_fail(DG_ERR_ARG, "ink to mnist: empty rectangle %dx%d", w, h);
    }
    int64_t x0 = x > 0 ? x : 0, y0 = y > 0 ? y : 0;
    int64_t x1 = (int64_t)x + w < ink->w ? (int64_t)x + w : ink->w;
    int64_t y1 = (int64_t)y + h < ink->h ? (int64_t)y + h : ink->h;
    if (x0 >= x1 || y0 >= y1) {
        return dg_fail(DG_ERR_ARG, "ink to mnist: rectangle %d,%d %dx%d is outside the %dx%d image",
                       x, y, w, h, ink->w, ink->h);
    }
    return dg_prep_to_mnist(ink, mask, x, y, w, (int)x0, (int)y0, (int)x1, (int)y1, out, info);
}

dg_status dg_ink_to_mnist(const dg_image *ink, int x, int y, int w, int h,
                          uint8_t out[DG_MNIST_PIXELS])
{
    return dg_ink_mask_to_mnist(ink, NULL, x, y, w, h, out, NULL);
}
