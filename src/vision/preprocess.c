/*
 * preprocess.c - users' images into MNIST-like 28x28 digits, the way MNIST itself was made:
 * the digit is fitted into a 20x20 box keeping its aspect ratio, the scaling's
 * anti-aliasing gives the grey levels, and the box is placed in a 28x28 field so that its
 * centre of mass sits at the field's centre. Users' images are not NIST's clean binary
 * scans, so first the ink has to be found. Layout: images are [h][w] row-major; x is the
 * column, y the row; a pixel's coordinates are its indices (its centre), so the field's
 * centre is pixel (14, 14), which is where MNIST puts the centre of mass (measured on the
 * training set: mean 14.01, 13.99, all within 13.5..14.5).
 *
 * The ink map (dg_ink_map), in three passes over the pixels:
 *  1. Grey planes. Each pixel gives two levels: the minimum of its channels (blue, red or
 *     any coloured ink is dark there) and the maximum (coloured ink on a dark ground is
 *     bright there). Alpha is composited first onto a level chosen so that transparent
 *     means background: when opaque pixels are a minority they are the drawing, and the
 *     ground gets the level that contrasts with them; otherwise it gets their median.
 *     dg_preprocess first pools images larger than 512 px down to about 512 px, keeping
 *     each block's darkest minimum and brightest maximum so that 1 px lines keep their
 *     contrast in either polarity; dg_ink_map keeps the full resolution.
 *  2. Polarity and background, on a coarse grid (about 32 cells along the longer side).
 *     Polarity: against the median of the cell means over 9x9 cells (the local background,
 *     whatever the lighting; the whole image's median for images up to 64 px, crops whose
 *     bold strokes may fill a local window), the darkest pixel of every cell is dark
 *     evidence and the brightest light evidence, counted beyond what a typical cell shows
 *     (noise gives every cell extremes both ways). The background's own brightness is a
 *     prior: ink on light paper is dark unless the light evidence is twice the dark (a red
 *     margin line is brighter than grey paper in the maximum channel), and the reverse.
 *     Background: each cell's median in the plane where ink stands out (ink covering
 *     under half a cell does not move it), closed (max then min filter) for dark ink or
 *     opened for light ink with a radius of 2 cells, which follows shadows and vignetting;
 *     where that sinks far towards the ink level a bold stroke filled the cells, and the
 *     same filter with radius 6 is used there. Then smoothed and interpolated linearly to
 *     every pixel (one flat level for images up to 64 px). The residual is ink evidence
 *     in grey levels: for light ink max - background; for dark ink (background - min) *
 *     255 / background, relative to the paper's brightness because light falls on ink and
 *     paper alike, so strokes in a shadow keep their weight.
 *  3. Levels, from the histogram of residuals: the background offset (median), the noise
 *     (1.4826 times the median absolute deviation), the full-ink level (90th percentile of
 *     the clear ink). A noisy image (contrast under 12 noise deviations) has its ink-side
 *     plane smoothed by a 3x3 mean, up to twice, and measured again, so that grain and
 *     sensor noise do not break strokes into dust. No clear ink (nothing 6 noise
 *     deviations and 12 levels above the background) means DG_PREP_EMPTY. The ink value is
 *     the residual scaled so that full ink is 255, kept above a low threshold (3 noise
 *     deviations, 2% of the contrast); pixels above a high threshold (40% of the contrast)
 *     are "strong". This is hysteresis thresholding: strong pixels decide what is ink,
 *     faint ones are kept only next to them (the anti-aliased edges of strokes, not noise
 *     or faint shadows).
 *  4. Components, on a second grid of cells of one or a few pixels (at most 256 along the
 *     longer side, so this stays cheap on photos), 8-connected over the cells holding strong
 *     pixels. Long thin runs crossing the whole image are first peeled off as ruling or
 *     grid lines: followed across with a little tilt, bridging where a stroke crosses them
 *     (there the run is thick and stays). Then dropped: components mostly made of isolated
 *     strong pixels (dust, grain, pepper noise merged by the cells); components touching
 *     the border and spanning 90% of it or covering a fifth of the image (paper edges, the
 *     table around the sheet, frames), when some interior component looks like a digit or
 *     when they hug their own box like a frame; frames drawn around other ink; specks under
 *     2% of the largest component left. Faint pixels survive within two pixels of kept
 *     strong cells; everything else is set to 0.
 *
 * The digit (dg_preprocess): the component with the largest strong area, weighted towards
 * the image centre, plus every other kept component within 0.4 of the growing group's size
 * of it (the bar of a 5, a broken 4). Twelve or more components of which the digit holds
 * under 60% is scattered ink, not a digit: DG_PREP_NO_DIGIT, as when nothing is left.
 *
 * MNIST conversion (dg_ink_to_mnist), on the ink of the digit only:
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
#include "digits.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MNIST_SIDE   28
#define MNIST_PIXELS (MNIST_SIDE * MNIST_SIDE)
#define MNIST_BOX    20
#define MNIST_CENTRE 14.0 /* where MNIST puts the centre of mass, in pixel indices */

/* Stroke widths by the estimator below, measured on the MNIST training set: median, and
 * a range holding 99.5% of the digits. Widths inside it are left as drawn. */
#define STROKE_TARGET 2.5f
#define STROKE_LO     1.25f
#define STROKE_HI     5.0f

#define BG_CELLS         32    /* background grid: cells along the longer side */
#define BG_RADIUS        2     /* closing/opening radius in cells: removes ink filling < 5 cells */
#define BG_RADIUS_BOLD   6     /* the same for bold strokes, up to 13 cells */
#define BG_GLOBAL_SIDE   64    /* images this small get one flat background level */
#define POLARITY_RADIUS  4     /* local median window for the polarity vote, cells */
#define COMP_CELLS       256   /* component grid: at most this many cells along a side */
#define MIN_CONTRAST     12.0f /* grey levels of ink needed, whatever the noise */
#define HALO_PX          2     /* faint pixels kept this close to strong ones */
#define SPECK_FRACTION   0.02  /* components smaller than this part of the largest go */
#define RENDER_K         4     /* redrawing grid cells per box pixel, each way */
#define POOL_SIDE        512   /* dg_preprocess works on at most about this many pixels a side */
#define SMOOTH_MIN_NOISE 3.0f  /* noise, grey levels, from which a noisy image may be smoothed */
#define SMOOTH_SNR       12.0f /* ... when its contrast is under this many noise deviations */
#define SMOOTH_ROUNDS    2     /* 3x3 means at most, each dividing white noise by 3 */
#define GROUP_GAP        0.4   /* parts of a digit within this part of its size join it */

/* ---------------------------------------------------------------- small helpers */

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static float clampf(float v, float lo, float hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static int ceil_div(int a, int b)
{
    return (a + b - 1) / b;
}

/* The k-th smallest of v[0..n), k < n; reorders v. */
static float select_kth(float *v, int n, int k)
{
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        float pivot = v[(lo + hi) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot) {
                i++;
            }
            while (v[j] > pivot) {
                j--;
            }
            if (i <= j) {
                float t = v[i];
                v[i] = v[j];
                v[j] = t;
                i++;
                j--;
            }
        }
        if (k <= j) {
            hi = j;
        } else if (k >= i) {
            lo = i;
        } else {
            break;
        }
    }
    return v[k];
}

/* Max (is_max) or min filter of radius r along one axis of a [n_lines][n] grid stored with
 * element step `step` and line step `line_step`; windows are clipped at the ends. */
static void extremum_filter(float *g, float *tmp, int n, int n_lines, int step, int line_step,
                            int r, int is_max)
{
    for (int l = 0; l < n_lines; l++) {
        float *p = g + (size_t)l * line_step;
        for (int i = 0; i < n; i++) {
            float best = p[i * step];
            int a = i - r < 0 ? 0 : i - r, b = i + r >= n ? n - 1 : i + r;
            for (int k = a; k <= b; k++) {
                float v = p[k * step];
                best = is_max ? (v > best ? v : best) : (v < best ? v : best);
            }
            tmp[i] = best;
        }
        for (int i = 0; i < n; i++) {
            p[i * step] = tmp[i];
        }
    }
}

static void extremum_filter_2d(float *g, float *tmp, int gw, int gh, int r, int is_max)
{
    extremum_filter(g, tmp, gw, gh, 1, gw, r, is_max);
    extremum_filter(g, tmp, gh, gw, gw, 1, r, is_max);
}

/* 3x3 mean with the window clipped at the borders. */
static void box_blur_3(float *g, float *tmp, int gw, int gh)
{
    for (int y = 0; y < gh; y++) {
        for (int x = 0; x < gw; x++) {
            float s = 0;
            int n = 0;
            for (int dy = -1; dy <= 1; dy++) {
                for (int dx = -1; dx <= 1; dx++) {
                    int yy = y + dy, xx = x + dx;
                    if (yy >= 0 && yy < gh && xx >= 0 && xx < gw) {
                        s += g[yy * gw + xx];
                        n++;
                    }
                }
            }
            tmp[y * gw + x] = s / (float)n;
        }
    }
    memcpy(g, tmp, sizeof *g * (size_t)gw * (size_t)gh);
}

/* ---------------------------------------------------------------- ink map state */

/* One connected group of strong cells on the component grid. */
typedef struct comp {
    int x0, y0, x1, y1; /* bounding box in cells, inclusive */
    uint32_t n_cells;
    uint64_t area;    /* strong pixels */
    double sx, sy;    /* area-weighted sums of cell centres, pixels */
    uint32_t n_band;  /* cells near the edges of its own box (ring and line test) */
    uint64_t n_alone; /* strong pixels without a strong 8-neighbour (noise test) */
    int keep;
} comp;

typedef struct prep {
    const dg_image *img;
    int q;                  /* source pixels per working pixel, each way */
    int w, h;               /* working size: the image's, divided by q */
    uint8_t *planes;        /* [2][h][w] owned min/max planes; NULL for grey images */
    uint8_t *smooth;        /* [h][w] smoothed ink-side plane of a noisy image, or NULL */
    const uint8_t *lo, *hi; /* [h][w] minimum and maximum channel */

    int bs, bgw, bgh; /* background grid: cell side in pixels, grid size */
    float *bg;        /* [bgh][bgw] background level in the ink-side plane */
    int dark;         /* ink darker than the background */
    float base, sigma, contrast, t_low, t_high;
    int strong_v; /* ink values from this one up are strong (256: none) */

    dg_image *ink; /* [h][w] residual, then ink 0..255 */

    int cs, cgw, cgh; /* component grid */
    uint32_t *strong; /* [cgh][cgw] strong pixels per cell */
    uint8_t *weak;    /* [cgh][cgw] cell holds a nonzero ink pixel */
    uint8_t *on;      /* [cgh][cgw] cell holds a strong pixel and is not a line */
    uint8_t *gone;    /* [cgh][cgw] peeled off as part of a line */
    int32_t *label;   /* [cgh][cgw] component of a strong cell, -1 */
    int32_t *owner;   /* [cgh][cgw] kept component owning the cell's pixels, -1 */
    comp *comps;
    int n_comps;
    int n_found; /* components before filtering */
} prep;

static void prep_free(prep *p)
{
    free(p->planes);
    free(p->smooth);
    free(p->bg);
    dg_image_free(p->ink);
    free(p->strong);
    free(p->weak);
    free(p->on);
    free(p->gone);
    free(p->label);
    free(p->owner);
    free(p->comps);
}

static dg_status nomem(void)
{
    return dg_fail(DG_ERR_NOMEM, "preprocess: out of memory");
}

static dg_status check_image(const dg_image *img, const char *what)
{
    if (!img || !img->pixels || img->w <= 0 || img->h <= 0 ||
        (img->channels != 1 && img->channels != 3 && img->channels != 4)) {
        return dg_fail(DG_ERR_ARG, "%s: not a valid 1, 3 or 4 channel image", what);
    }
    if ((uint64_t)img->w * (uint64_t)img->h > DG_IMAGE_MAX_PIXELS) {
        return dg_fail(DG_ERR_TOO_LARGE, "%s: %dx%d is more than %u pixels", what, img->w, img->h,
                       DG_IMAGE_MAX_PIXELS);
    }
    return DG_OK;
}

/* ---------------------------------------------------------------- 1. grey planes */

/* The level transparent pixels are composited onto (see the file comment). */
static int alpha_ground(const dg_image *img)
{
    size_t n = (size_t)img->w * (size_t)img->h, n_opaque = 0;
    uint32_t hist[256] = {0};
    const uint8_t *p = img->pixels;
    for (size_t i = 0; i < n; i++, p += 4) {
        if (p[3] >= 128) {
            int lo = p[0] < p[1] ? p[0] : p[1], hi = p[0] > p[1] ? p[0] : p[1];
            lo = p[2] < lo ? p[2] : lo;
            hi = p[2] > hi ? p[2] : hi;
            hist[(lo + hi) / 2]++;
            n_opaque++;
        }
    }
    if (n_opaque == 0) {
        return 255;
    }
    size_t half = (n_opaque + 1) / 2, seen = 0;
    int median = 0;
    while (median < 255 && seen + hist[median] < half) {
        seen += hist[median++];
    }
    if (2 * n_opaque < n) {
        return median < 128 ? 255 : 0; /* opaque pixels are the drawing */
    }
    return median;
}

/* Minimum and maximum channel of one pixel after compositing alpha onto `ground`. */
static inline void pixel_range(const uint8_t *s, int channels, unsigned ground, uint8_t *lo,
                               uint8_t *hi)
{
    if (channels == 1) {
        *lo = *hi = s[0];
        return;
    }
    uint8_t c[3] = {s[0], s[1], s[2]};
    if (channels == 4 && s[3] != 255) {
        unsigned a = s[3], g = ground * (255u - a);
        for (int k = 0; k < 3; k++) {
            c[k] = (uint8_t)((c[k] * a + g + 127u) / 255u);
        }
    }
    uint8_t mn = c[0] < c[1] ? c[0] : c[1], mx = c[0] > c[1] ? c[0] : c[1];
    *lo = c[2] < mn ? c[2] : mn;
    *hi = c[2] > mx ? c[2] : mx;
}

/* The min and max planes of the image, pooled over q x q blocks (q = 1: none). Pooling
 * keeps the darkest minimum and the brightest maximum, so a 1 px line keeps its full
 * contrast whichever its polarity; strokes grow by under one block, which is far below a
 * 20 px box pixel on the images that get pooled. */
static dg_status make_planes(prep *p, int q)
{
    const dg_image *img = p->img;
    p->q = q;
    p->w = ceil_div(img->w, q);
    p->h = ceil_div(img->h, q);
    if (img->channels == 1 && q == 1) {
        p->lo = p->hi = img->pixels;
        return DG_OK;
    }
    size_t n = (size_t)p->w * (size_t)p->h;
    p->planes = malloc(2 * n);
    if (!p->planes) {
        return nomem();
    }
    uint8_t *lo = p->planes, *hi = p->planes + n;
    int c = img->channels, sw = img->w;
    unsigned ground = c == 4 ? (unsigned)alpha_ground(img) : 0;
    uint8_t *scratch = c == 1 ? NULL : malloc(2 * (size_t)sw);
    if (c != 1 && !scratch) {
        return nomem();
    }
    memset(lo, 255, n);
    memset(hi, 0, n);
    for (int sy = 0; sy < img->h; sy++) {
        const uint8_t *s = img->pixels + (size_t)sy * sw * c;
        /* this source row's minimum and maximum channels */
        const uint8_t *rl = s, *rh = s;
        if (c == 3) {
            uint8_t *ml = scratch, *mh = scratch + sw;
            for (int x = 0; x < sw; x++, s += 3) {
                uint8_t a = s[0] < s[1] ? s[0] : s[1], b = s[0] > s[1] ? s[0] : s[1];
                ml[x] = s[2] < a ? s[2] : a;
                mh[x] = s[2] > b ? s[2] : b;
            }
            rl = ml;
            rh = mh;
        } else if (c == 4) {
            for (int x = 0; x < sw; x++, s += 4) {
                pixel_range(s, 4, ground, &scratch[x], &scratch[sw + x]);
            }
            rl = scratch;
            rh = scratch + sw;
        }
        /* pooled into the working row: whole blocks first, then the ragged end */
        uint8_t *lrow = lo + (size_t)(sy / q) * p->w, *hrow = hi + (size_t)(sy / q) * p->w;
        int whole = sw / q;
        if (q == 1) {
            memcpy(lrow, rl, (size_t)sw);
            memcpy(hrow, rh, (size_t)sw);
        } else if (q == 2) {
            for (int x = 0; x < whole; x++) {
                uint8_t a = rl[2 * x] < rl[2 * x + 1] ? rl[2 * x] : rl[2 * x + 1];
                uint8_t b = rh[2 * x] > rh[2 * x + 1] ? rh[2 * x] : rh[2 * x + 1];
                lrow[x] = a < lrow[x] ? a : lrow[x];
                hrow[x] = b > hrow[x] ? b : hrow[x];
            }
        } else {
            for (int x = 0; x < whole; x++) {
                uint8_t a = lrow[x], b = hrow[x];
                for (int k = x * q; k < x * q + q; k++) {
                    a = rl[k] < a ? rl[k] : a;
                    b = rh[k] > b ? rh[k] : b;
                }
                lrow[x] = a;
                hrow[x] = b;
            }
        }
        for (int k = whole * q; k < sw; k++) {
            lrow[whole] = rl[k] < lrow[whole] ? rl[k] : lrow[whole];
            hrow[whole] = rh[k] > hrow[whole] ? rh[k] : hrow[whole];
        }
    }
    free(scratch);
    p->lo = lo;
    p->hi = hi;
    return DG_OK;
}

/* ---------------------------------------------------------------- 2. polarity, background */

static dg_status background(prep *p)
{
    int L = p->w > p->h ? p->w : p->h;
    p->bs = ceil_div(L, BG_CELLS);
    p->bgw = ceil_div(p->w, p->bs);
    p->bgh = ceil_div(p->h, p->bs);
    int n_cells = p->bgw * p->bgh;
    int win = (2 * POLARITY_RADIUS + 1) * (2 * POLARITY_RADIUS + 1);
    double *sum = calloc((size_t)n_cells * 2, sizeof *sum);
    float *cell = malloc(sizeof(float) * (size_t)n_cells * 6 + sizeof(float) * (size_t)win);
    p->bg = malloc(sizeof *p->bg * (size_t)n_cells);
    if (!sum || !cell || !p->bg) {
        free(sum);
        free(cell);
        return nomem();
    }
    float *min_lo = cell, *max_hi = cell + n_cells, *mid = cell + 2 * n_cells;
    float *ref = cell + 3 * n_cells, *tmp = cell + 4 * n_cells, *count = cell + 5 * n_cells;
    float *window = cell + 6 * n_cells;
    for (int i = 0; i < n_cells; i++) {
        min_lo[i] = 255;
        max_hi[i] = 0;
        count[i] = 0;
    }
    /* cell sums and extremes of both planes */
    for (int y = 0; y < p->h; y++) {
        int gy = y / p->bs;
        const uint8_t *lo = p->lo + (size_t)y * p->w, *hi = p->hi + (size_t)y * p->w;
        for (int gx = 0; gx < p->bgw; gx++) {
            int x0 = gx * p->bs, x1 = x0 + p->bs < p->w ? x0 + p->bs : p->w;
            uint32_t s_lo = 0, s_hi = 0;
            uint8_t mn = 255, mx = 0;
            for (int x = x0; x < x1; x++) {
                s_lo += lo[x];
                s_hi += hi[x];
                mn = lo[x] < mn ? lo[x] : mn;
                mx = hi[x] > mx ? hi[x] : mx;
            }
            int c = gy * p->bgw + gx;
            sum[2 * c] += s_lo;
            sum[2 * c + 1] += s_hi;
            min_lo[c] = mn < min_lo[c] ? mn : min_lo[c];
            max_hi[c] = mx > max_hi[c] ? mx : max_hi[c];
            count[c] += (float)(x1 - x0);
        }
    }
    for (int c = 0; c < n_cells; c++) {
        mid[c] = (float)((sum[2 * c] + sum[2 * c + 1]) / (2.0 * count[c]));
    }
    /* Polarity against the local median of the cell means; on small images, which are
     * crops of one digit whose bold strokes may fill most of any local window, against
     * the median of the whole image. */
    int global = L <= BG_GLOBAL_SIDE;
    float global_ref = 0;
    if (global) {
        memcpy(tmp, mid, sizeof *tmp * (size_t)n_cells);
        global_ref = select_kth(tmp, n_cells, n_cells / 2);
    }
    for (int gy = 0; gy < p->bgh; gy++) {
        for (int gx = 0; gx < p->bgw; gx++) {
            int c = gy * p->bgw + gx, n = 0;
            if (global) {
                ref[c] = global_ref;
            } else {
                for (int yy = gy - POLARITY_RADIUS; yy <= gy + POLARITY_RADIUS; yy++) {
                    for (int xx = gx - POLARITY_RADIUS; xx <= gx + POLARITY_RADIUS; xx++) {
                        if (yy >= 0 && yy < p->bgh && xx >= 0 && xx < p->bgw) {
                            window[n++] = mid[yy * p->bgw + xx];
                        }
                    }
                }
                ref[c] = select_kth(window, n, n / 2);
            }
        }
    }
    /* Each cell's deviations beyond what a typical (ink-free) cell shows: on a noisy photo
     * every cell has extremes both ways, and only what exceeds them is evidence. */
    for (int c = 0; c < n_cells; c++) {
        tmp[c] = ref[c] - min_lo[c];
    }
    float noise_dark = select_kth(tmp, n_cells, n_cells / 2);
    for (int c = 0; c < n_cells; c++) {
        tmp[c] = max_hi[c] - ref[c];
    }
    float noise_light = select_kth(tmp, n_cells, n_cells / 2);
    double dark = 0, light = 0;
    for (int c = 0; c < n_cells; c++) {
        float d = ref[c] - min_lo[c] - 1.5f * fmaxf(noise_dark, 0.0f);
        float l = max_hi[c] - ref[c] - 1.5f * fmaxf(noise_light, 0.0f);
        dark += d > 0 ? d : 0;
        light += l > 0 ? l : 0;
    }
    /* A prior from the background's brightness: ink on light paper is dark, on a dark
     * screen light, unless the evidence against it is twice as strong (a red margin line
     * is brighter than grey paper in the maximum channel, and must not flip the image). */
    memcpy(tmp, mid, sizeof *tmp * (size_t)n_cells);
    float ground = select_kth(tmp, n_cells, n_cells / 2);
    p->dark = ground >= 128.0f ? !(light > 2.0 * dark) : dark > 2.0 * light;
    /* Background level in the plane where the ink stands out: each cell's median, which
     * ink covering under half of the cell does not move. */
    uint32_t *hist = calloc((size_t)p->bgw * 256, sizeof *hist);
    if (!hist) {
        free(sum);
        free(cell);
        return nomem();
    }
    const uint8_t *plane = p->dark ? p->lo : p->hi;
    int step = p->bs >= 8 ? 2 : 1; /* a quarter of the pixels of a big cell give its median */
    for (int gy = 0; gy < p->bgh; gy++) {
        int y1 = (gy + 1) * p->bs < p->h ? (gy + 1) * p->bs : p->h;
        memset(hist, 0, sizeof *hist * (size_t)p->bgw * 256);
        for (int y = gy * p->bs; y < y1; y += step) {
            const uint8_t *row = plane + (size_t)y * p->w;
            for (int gx = 0; gx < p->bgw; gx++) {
                uint32_t *h = hist + (size_t)gx * 256;
                int x0 = gx * p->bs, x1 = x0 + p->bs < p->w ? x0 + p->bs : p->w;
                for (int x = x0; x < x1; x += step) {
                    h[row[x]]++;
                }
            }
        }
        for (int gx = 0; gx < p->bgw; gx++) {
            int c = gy * p->bgw + gx;
            const uint32_t *h = hist + (size_t)gx * 256;
            uint32_t n = 0, acc = 0;
            for (int v = 0; v < 256; v++) {
                n += h[v];
            }
            uint32_t half = (n + 1) / 2;
            int v = 0;
            while (v < 255 && acc + h[v] < half) {
                acc += h[v++];
            }
            p->bg[c] = (float)v;
        }
    }
    free(hist);
    /* Small images are crops of one digit, whose bold strokes may fill much of them, and
     * too small for lighting to vary: one level, the brightest (dark ink) or darkest cell. */
    if (global) {
        float level = p->bg[0];
        for (int c = 1; c < n_cells; c++) {
            level = p->dark ? fmaxf(level, p->bg[c]) : fminf(level, p->bg[c]);
        }
        for (int c = 0; c < n_cells; c++) {
            p->bg[c] = level;
        }
    } else {
        /* A small closing follows shadows and vignetting; a large one survives bold
         * strokes that fill many cells. Where the small one sinks far towards the ink
         * (below 60% of the large one's brightness for dark ink, 40% of the way to white
         * for light ink) it has met such a stroke, not a shadow. */
        float *large = ref; /* the polarity references are no longer needed */
        memcpy(large, p->bg, sizeof *large * (size_t)n_cells);
        extremum_filter_2d(p->bg, tmp, p->bgw, p->bgh, BG_RADIUS, p->dark);
        extremum_filter_2d(p->bg, tmp, p->bgw, p->bgh, BG_RADIUS, !p->dark);
        extremum_filter_2d(large, tmp, p->bgw, p->bgh, BG_RADIUS_BOLD, p->dark);
        extremum_filter_2d(large, tmp, p->bgw, p->bgh, BG_RADIUS_BOLD, !p->dark);
        for (int c = 0; c < n_cells; c++) {
            int leak = p->dark ? p->bg[c] < 0.6f * large[c]
                               : p->bg[c] > large[c] + 0.4f * (255.0f - large[c]);
            p->bg[c] = leak ? large[c] : p->bg[c];
        }
        box_blur_3(p->bg, tmp, p->bgw, p->bgh);
    }
    free(sum);
    free(cell);
    return DG_OK;
}

/* Pass 2: residuals into p->ink (clamped to 0..255) and their histogram, -255..255.
 * Each row's background is interpolated linearly between the centres of background
 * cells, first down the grid (between two cell rows), then along the row, segment by
 * segment, so that the per-pixel loops are straight arithmetic the compiler vectorises;
 * the histogram is counted into four interleaved tables so that runs of equal values do
 * not wait on one counter. */
static dg_status residuals(prep *p, uint32_t hist[511])
{
    float *cells = malloc(sizeof *cells * (size_t)p->bgw);
    float *bgrow = malloc(sizeof *bgrow * (size_t)p->w);
    int16_t *rrow = malloc(sizeof *rrow * (size_t)p->w);
    uint32_t(*sub)[511] = calloc(4, sizeof *sub);
    if (!cells || !bgrow || !rrow || !sub) {
        free(cells);
        free(bgrow);
        free(rrow);
        free(sub);
        return nomem();
    }
    const uint8_t *plane = p->dark ? p->lo : p->hi;
    float half = 0.5f * (float)p->bs;
    for (int y = 0; y < p->h; y++) {
        /* vertical interpolation between the two nearest cell rows */
        float t = ((float)y + 0.5f) / (float)p->bs - 0.5f;
        int c0 = t <= 0 ? 0 : (int)t;
        c0 = c0 > p->bgh - 1 ? p->bgh - 1 : c0;
        int c1 = c0 + 1 < p->bgh ? c0 + 1 : c0;
        float f = clampf(t - (float)c0, 0.0f, 1.0f);
        const float *g0 = p->bg + (size_t)c0 * p->bgw, *g1 = p->bg + (size_t)c1 * p->bgw;
        for (int gx = 0; gx < p->bgw; gx++) {
            cells[gx] = g0[gx] + f * (g1[gx] - g0[gx]);
        }
        /* horizontal: flat before the first and after the last centre, linear between */
        for (int gx = -1; gx < p->bgw; gx++) {
            int x0 = gx < 0 ? 0 : (int)((float)gx * p->bs + half);
            int x1 = gx + 1 < p->bgw ? (int)((float)(gx + 1) * p->bs + half) : p->w;
            x1 = x1 > p->w ? p->w : x1;
            float a = cells[gx < 0 ? 0 : gx], b = cells[gx + 1 < p->bgw ? gx + 1 : gx];
            float centre = (float)(gx < 0 ? 0 : gx) * p->bs + half - 0.5f;
            float slope = gx < 0 || gx + 1 >= p->bgw ? 0.0f : (b - a) / (float)p->bs;
            for (int x = x0; x < x1; x++) {
                bgrow[x] = a + slope * ((float)x - centre);
            }
        }
        const uint8_t *v = plane + (size_t)y * p->w;
        uint8_t *out = p->ink->pixels + (size_t)y * p->w;
        if (p->dark) {
            /* Light falls on ink and paper alike: dark ink is measured relative to the
             * paper's brightness, so strokes in a shadow keep their weight. */
            for (int x = 0; x < p->w; x++) {
                float b = bgrow[x];
                float r = (b - (float)v[x]) * 255.0f / (b > 24.0f ? b : 24.0f);
                r = r < -255.0f ? -255.0f : r > 255.0f ? 255.0f : r;
                rrow[x] = (int16_t)(r + 255.5f) - 255; /* rounded */
            }
        } else {
            for (int x = 0; x < p->w; x++) {
                float r = (float)v[x] - bgrow[x];
                r = r < -255.0f ? -255.0f : r > 255.0f ? 255.0f : r;
                rrow[x] = (int16_t)(r + 255.5f) - 255;
            }
        }
        for (int x = 0; x < p->w; x++) {
            int r = rrow[x];
            out[x] = (uint8_t)(r < 0 ? 0 : r);
        }
        int x = 0;
        for (; x + 4 <= p->w; x += 4) {
            sub[0][rrow[x] + 255]++;
            sub[1][rrow[x + 1] + 255]++;
            sub[2][rrow[x + 2] + 255]++;
            sub[3][rrow[x + 3] + 255]++;
        }
        for (; x < p->w; x++) {
            sub[0][rrow[x] + 255]++;
        }
    }
    for (int i = 0; i < 511; i++) {
        hist[i] = sub[0][i] + sub[1][i] + sub[2][i] + sub[3][i];
    }

    free(cells);
    free(bgrow);
    free(rrow);
    free(sub);
    return DG_OK;
}

/* Replaces the plane where ink stands out by its 3x3 mean (windows clipped at the
 * borders), into p->smooth. */
static dg_status smooth_plane(prep *p)
{
    int w = p->w, h = p->h;
    const uint8_t *src = p->dark ? p->lo : p->hi;
    uint8_t *dst = malloc((size_t)w * h);
    uint16_t *cols = malloc(sizeof *cols * (size_t)w * 2); /* vertical sums and counts */
    if (!dst || !cols) {
        free(dst);
        free(cols);
        return nomem();
    }
    uint16_t *sum = cols, *cnt = cols + w;
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            sum[x] = 0;
            cnt[x] = 0;
        }
        for (int yy = y - 1; yy <= y + 1; yy++) {
            if (yy < 0 || yy >= h) {
                continue;
            }
            const uint8_t *r = src + (size_t)yy * w;
            for (int x = 0; x < w; x++) {
                sum[x] = (uint16_t)(sum[x] + r[x]);
                cnt[x]++;
            }
        }
        uint8_t *o = dst + (size_t)y * w;
        for (int x = 0; x < w; x++) {
            unsigned s = sum[x], n = cnt[x];
            if (x > 0) {
                s += sum[x - 1];
                n += cnt[x - 1];
            }
            if (x + 1 < w) {
                s += sum[x + 1];
                n += cnt[x + 1];
            }
            o[x] = (uint8_t)((s + n / 2) / n);
        }
    }
    free(cols);
    free(p->smooth);
    p->smooth = dst;
    if (p->dark) {
        p->lo = dst;
    } else {
        p->hi = dst;
    }
    return DG_OK;
}

/* ---------------------------------------------------------------- 3. levels */

/* Sets base, sigma, contrast and thresholds; returns 0 when there is no clear ink. */
static int levels(prep *p, const uint32_t hist[511])
{
    uint64_t n = 0;
    for (int i = 0; i < 511; i++) {
        n += hist[i];
    }
    uint64_t seen = 0;
    int med = 0;
    while (med < 510 && seen + hist[med] < (n + 1) / 2) {
        seen += hist[med++];
    }
    /* median absolute deviation: widen a window around the median until it holds half */
    uint64_t inside = hist[med];
    int mad = 0;
    while (inside < (n + 1) / 2 && mad < 510) {
        mad++;
        if (med - mad >= 0) {
            inside += hist[med - mad];
        }
        if (med + mad <= 510) {
            inside += hist[med + mad];
        }
    }
    p->base = (float)(med - 255);
    p->sigma = 1.4826f * (float)mad;
    float clear = p->base + fmaxf(6.0f * p->sigma, MIN_CONTRAST);
    uint64_t n_clear = 0;
    for (int i = 0; i < 511; i++) {
        if ((float)(i - 255) > clear) {
            n_clear += hist[i];
        }
    }
    p->contrast = 0;
    if (n_clear == 0) {
        return 0;
    }
    /* full ink: 90th percentile of the clear ink */
    uint64_t want = n_clear - n_clear / 10, acc = 0;
    int full = 510;
    for (int i = 0; i < 511; i++) {
        if ((float)(i - 255) > clear) {
            acc += hist[i];
            if (acc >= want) {
                full = i;
                break;
            }
        }
    }
    p->contrast = (float)(full - 255) - p->base;
    float c = p->contrast;
    p->t_low = p->base + fmaxf(fmaxf(3.0f * p->sigma, 0.02f * c), 2.0f);
    p->t_low = fmaxf(p->t_low, 1.0f); /* residuals below 0 are stored as 0 */
    p->t_high = p->base + fmaxf(0.4f * c, 2.0f * (p->t_low - p->base));
    return 1;
}

/* ---------------------------------------------------------------- 4. cells */

static dg_status alloc_cells(prep *p)
{
    int L = p->w > p->h ? p->w : p->h;
    p->cs = ceil_div(L, COMP_CELLS);
    p->cgw = ceil_div(p->w, p->cs);
    p->cgh = ceil_div(p->h, p->cs);
    size_t n = (size_t)p->cgw * (size_t)p->cgh;
    p->strong = calloc(n, sizeof *p->strong);
    p->weak = calloc(n, 1);
    p->on = calloc(n, 1);
    p->gone = calloc(n, 1);
    p->label = malloc(n * sizeof *p->label);
    p->owner = malloc(n * sizeof *p->owner);
    if (!p->strong || !p->weak || !p->on || !p->gone || !p->label || !p->owner) {
        return nomem();
    }
    for (size_t i = 0; i < n; i++) {
        p->label[i] = -1;
        p->owner[i] = -1;
    }
    return DG_OK;
}

/* Pass 3: residuals to ink values, strong counts and faint flags per cell. */
static void classify(prep *p)
{
    uint8_t lut[256];
    int strong_from = (int)floorf(p->t_high) + 1; /* r8 > t_high */
    for (int r = 0; r < 256; r++) {
        if ((float)r <= p->t_low) {
            lut[r] = 0;
        } else {
            float v = ((float)r - p->base) / p->contrast * 255.0f;
            lut[r] = (uint8_t)clampf(v + 0.5f, 1.0f, 255.0f);
        }
    }
    p->strong_v = strong_from <= 255 ? lut[strong_from] : 256;
    for (int y = 0; y < p->h; y++) {
        uint8_t *px = p->ink->pixels + (size_t)y * p->w;
        int cy = y / p->cs;
        for (int cx = 0; cx < p->cgw; cx++) {
            int x0 = cx * p->cs, x1 = x0 + p->cs < p->w ? x0 + p->cs : p->w;
            uint32_t n_strong = 0;
            unsigned any = 0;
            for (int x = x0; x < x1; x++) {
                int r = px[x];
                n_strong += r >= strong_from;
                px[x] = lut[r];
                any |= px[x];
            }
            size_t c = (size_t)cy * p->cgw + cx;
            p->strong[c] += n_strong;
            p->weak[c] |= any != 0;
        }
    }
    for (size_t c = 0; c < (size_t)p->cgw * p->cgh; c++) {
        p->on[c] = p->strong[c] > 0;
    }
}

/* ---------------------------------------------------------------- lines */

/* One thin run of cells across a line's direction: at position i along it, cells j0..j1. */
typedef struct line_piece {
    int i, j0, j1;
    int chain;   /* the chain it belongs to */
    int cand, d; /* while assigning: nearest chain that could take it (-1) and distance */
} line_piece;

typedef struct line_chain {
    int start, last, n_pieces;
    int centre;   /* rounded smoothed centre, where at[] lists it */
    float smooth; /* running average of its runs' centres: a speck beside it moves it little */
} line_chain;

/*
 * Peels ruling and grid lines running along one axis of the cell grid: cell (i, j), i
 * along the line (n_along cells), j across it (n_across), is on[i * s_along + j * s_across].
 * A line is a chain of thin runs (at most thin_max cells across) from one border to the
 * other, each run within 2.5 cells of the chain's running centre, bridging up to
 * n_along / 5 positions where the line is hidden or crossed by a stroke. Its runs are cleared and
 * marked gone; where a stroke crosses, the run there is thick and stays.
 */
static dg_status peel_lines(prep *p, int n_along, int n_across, size_t s_along, size_t s_across)
{
    if (n_along < 16 || n_across < 4) {
        return DG_OK;
    }
    int thin_max = (int)ceilf(0.015f * (float)n_across);
    thin_max = thin_max < 2 ? 2 : thin_max;
    int gap_max = n_along / 5 > 3 ? n_along / 5 : 3;
    size_t cap = 1024, n_pieces = 0;
    int n_chains = 0;
    line_piece *pieces = malloc(cap * sizeof *pieces);
    line_chain *chains = malloc(cap * sizeof *chains);
    int *at = malloc((size_t)n_across * sizeof *at); /* chain whose last run is centred at j */
    if (!pieces || !chains || !at) {
        free(pieces);
        free(chains);
        free(at);
        return nomem();
    }
    for (int j = 0; j < n_across; j++) {
        at[j] = -1;
    }
    dg_status st = DG_OK;
    for (int i = 0; i < n_along && st == DG_OK; i++) {
        /* this position's thin runs, each with the nearest chain that could continue */
        size_t first = n_pieces;
        int j = 0;
        while (j < n_across) {
            if (!p->on[i * s_along + j * s_across]) {
                j++;
                continue;
            }
            int j0 = j;
            while (j < n_across && p->on[i * s_along + j * s_across]) {
                j++;
            }
            if (j - j0 > thin_max) {
                continue;
            }
            if (n_pieces == cap || (size_t)n_chains + (n_pieces - first) >= cap) {
                line_piece *np = realloc(pieces, 2 * cap * sizeof *pieces);
                if (np) {
                    pieces = np;
                }
                line_chain *nc = realloc(chains, 2 * cap * sizeof *chains);
                if (nc) {
                    chains = nc;
                }
                if (!np || !nc) {
                    st = nomem();
                    break;
                }
                cap *= 2;
            }
            int centre = (j0 + j - 1) / 2, best = -1, best_d = 3;
            for (int d = -3; d <= 3; d++) {
                int jj = centre + d;
                if (jj < 0 || jj >= n_across || at[jj] < 0) {
                    continue;
                }
                const line_chain *ch = &chains[at[jj]];
                float dist = fabsf(ch->smooth - (float)(j0 + j - 1) * 0.5f);
                if (i - ch->last <= gap_max && dist <= 2.5f && (int)dist < best_d) {
                    best = at[jj];
                    best_d = (int)dist;
                }
            }
            pieces[n_pieces++] = (line_piece){i, j0, j - 1, -1, best, best_d};
        }
        /* closest pieces first, so a speck beside a line does not take the line's chain */
        for (int d = 0; d <= 3; d++) {
            for (size_t k = first; k < n_pieces; k++) {
                line_piece *pc = &pieces[k];
                if (pc->chain >= 0 || (pc->cand >= 0 ? pc->d : 3) != d) {
                    continue;
                }
                float centre = (float)(pc->j0 + pc->j1) * 0.5f;
                int c = pc->cand;
                if (c < 0 || chains[c].last == i) {
                    c = n_chains++;
                    chains[c] = (line_chain){i, i, 0, (int)centre, centre};
                } else {
                    if (at[chains[c].centre] == c) {
                        at[chains[c].centre] = -1;
                    }
                    chains[c].smooth += 0.3f * (centre - chains[c].smooth);
                }
                chains[c].last = i;
                chains[c].centre = clampi((int)(chains[c].smooth + 0.5f), 0, n_across - 1);
                chains[c].n_pieces++;
                at[chains[c].centre] = c;
                pc->chain = c;
            }
        }
    }
    if (st == DG_OK) {
        int edge = n_along / 20;
        for (size_t k = 0; k < n_pieces; k++) {
            const line_chain *ch = &chains[pieces[k].chain];
            if (ch->start <= edge && ch->last >= n_along - 1 - edge &&
                2 * ch->n_pieces >= n_along) {
                for (int j = pieces[k].j0; j <= pieces[k].j1; j++) {
                    size_t c = pieces[k].i * s_along + j * s_across;
                    p->on[c] = 0;
                    p->gone[c] = 1;
                }
            }
        }
    }
    free(pieces);
    free(chains);
    free(at);
    return st;
}

/* ---------------------------------------------------------------- components */

static dg_status label_components(prep *p)
{
    int gw = p->cgw, gh = p->cgh;
    size_t n = (size_t)gw * gh;
    int32_t *queue = malloc(n * sizeof *queue);
    size_t cap = 64;
    p->comps = malloc(cap * sizeof *p->comps);
    if (!queue || !p->comps) {
        free(queue);
        return nomem();
    }
    p->n_comps = 0;
    for (size_t start = 0; start < n; start++) {
        if (!p->on[start] || p->label[start] >= 0) {
            continue;
        }
        if ((size_t)p->n_comps == cap) {
            comp *grown = realloc(p->comps, 2 * cap * sizeof *p->comps);
            if (!grown) {
                free(queue);
                return nomem();
            }
            p->comps = grown;
            cap *= 2;
        }
        int id = p->n_comps++;
        comp *c = &p->comps[id];
        memset(c, 0, sizeof *c);
        c->x0 = gw;
        c->y0 = gh;
        c->x1 = c->y1 = -1;
        size_t head = 0, tail = 0;
        queue[tail++] = (int32_t)start;
        p->label[start] = id;
        while (head < tail) {
            int cell = queue[head++];
            int x = cell % gw, y = cell / gw;
            c->x0 = x < c->x0 ? x : c->x0;
            c->x1 = x > c->x1 ? x : c->x1;
            c->y0 = y < c->y0 ? y : c->y0;
            c->y1 = y > c->y1 ? y : c->y1;
            c->n_cells++;
            c->area += p->strong[cell];
            c->sx += (double)p->strong[cell] * ((x + 0.5) * p->cs);
            c->sy += (double)p->strong[cell] * ((y + 0.5) * p->cs);
            for (int dy = -1; dy <= 1; dy++) {
                for (int dx = -1; dx <= 1; dx++) {
                    int xx = x + dx, yy = y + dy;
                    if (xx < 0 || yy < 0 || xx >= gw || yy >= gh) {
                        continue;
                    }
                    int nb = yy * gw + xx;
                    if (p->on[nb] && p->label[nb] < 0) {
                        p->label[nb] = id;
                        queue[tail++] = nb;
                    }
                }
            }
        }
    }
    free(queue);
    /* cells near the edges of their component's own box */
    for (int y = 0; y < gh; y++) {
        for (int x = 0; x < gw; x++) {
            int id = p->label[y * gw + x];
            if (id < 0) {
                continue;
            }
            comp *c = &p->comps[id];
            int bw = c->x1 - c->x0 + 1, bh = c->y1 - c->y0 + 1;
            int band = (int)ceilf(0.12f * (float)(bw < bh ? bw : bh));
            band = band < 1 ? 1 : band;
            if (x - c->x0 < band || c->x1 - x < band || y - c->y0 < band || c->y1 - y < band) {
                c->n_band++;
            }
        }
    }
    /* strong pixels with no strong neighbour: dust, grain, pepper noise */
    for (int cy = 0; cy < gh; cy++) {
        for (int cx = 0; cx < gw; cx++) {
            int id = p->label[cy * gw + cx];
            if (id < 0) {
                continue;
            }
            int x0 = cx * p->cs, x1 = x0 + p->cs < p->w ? x0 + p->cs : p->w;
            int y0 = cy * p->cs, y1 = y0 + p->cs < p->h ? y0 + p->cs : p->h;
            for (int y = y0; y < y1; y++) {
                const uint8_t *row = p->ink->pixels + (size_t)y * p->w;
                for (int x = x0; x < x1; x++) {
                    if (row[x] < p->strong_v) {
                        continue;
                    }
                    int alone = 1;
                    for (int dy = -1; dy <= 1 && alone; dy++) {
                        if (y + dy < 0 || y + dy >= p->h) {
                            continue;
                        }
                        const uint8_t *r2 = row + (ptrdiff_t)dy * p->w;
                        for (int dx = -1; dx <= 1; dx++) {
                            if ((dx || dy) && x + dx >= 0 && x + dx < p->w &&
                                r2[x + dx] >= p->strong_v) {
                                alone = 0;
                                break;
                            }
                        }
                    }
                    p->comps[id].n_alone += (uint64_t)alone;
                }
            }
        }
    }
    p->n_found = p->n_comps;
    return DG_OK;
}

static int touches_border(const prep *p, const comp *c)
{
    return c->x0 == 0 || c->y0 == 0 || c->x1 == p->cgw - 1 || c->y1 == p->cgh - 1;
}

/* Paper edge, table, frame or line along the border. */
static int border_structure(const prep *p, const comp *c)
{
    if (!touches_border(p, c)) {
        return 0;
    }
    int bw = c->x1 - c->x0 + 1, bh = c->y1 - c->y0 + 1;
    return 10 * bw >= 9 * p->cgw || 10 * bh >= 9 * p->cgh ||
           5 * (uint64_t)c->n_cells >= (uint64_t)p->cgw * p->cgh;
}

/* Its cells hug the edges of its own box: a frame, a rectangle, a line. */
static int ring_like(const comp *c)
{
    int bw = c->x1 - c->x0 + 1, bh = c->y1 - c->y0 + 1;
    return bw >= 8 && bh >= 8 && 10 * (uint64_t)c->n_band >= 9 * (uint64_t)c->n_cells &&
           (uint64_t)c->n_cells * 3 < (uint64_t)bw * bh;
}

static int box_inside(const comp *in, const comp *out)
{
    return in->x0 > out->x0 && in->x1 < out->x1 && in->y0 > out->y0 && in->y1 < out->y1;
}

/* Keeps the components that may be digits (see the file comment). */
static void filter_components(prep *p)
{
    uint64_t largest = 0;
    for (int i = 0; i < p->n_comps; i++) {
        comp *c = &p->comps[i];
        /* made of scattered dots (cells merge nearby dust into one component) */
        c->keep = 10 * c->n_alone < 3 * c->area;
        if (c->keep && c->area > largest) {
            largest = c->area;
        }
    }
    /* interior components that look like digits: not specks, not slivers */
    int min_side = p->cgw < p->cgh ? p->cgw : p->cgh;
    int digit_inside = 0;
    for (int i = 0; i < p->n_comps; i++) {
        const comp *c = &p->comps[i];
        int side = c->x1 - c->x0 > c->y1 - c->y0 ? c->x1 - c->x0 + 1 : c->y1 - c->y0 + 1;
        if (c->keep && !border_structure(p, c) && !ring_like(c) &&
            (double)c->area >= SPECK_FRACTION * (double)largest && 25 * side >= min_side) {
            digit_inside = 1;
        }
    }
    for (int i = 0; i < p->n_comps; i++) {
        comp *c = &p->comps[i];
        if (border_structure(p, c) && (digit_inside || ring_like(c))) {
            c->keep = 0;
        }
    }
    /* frames drawn around other ink */
    for (int i = 0; i < p->n_comps; i++) {
        comp *c = &p->comps[i];
        if (!c->keep || !ring_like(c)) {
            continue;
        }
        for (int j = 0; j < p->n_comps; j++) {
            const comp *d = &p->comps[j];
            if (j != i && d->keep && box_inside(d, c) && 10 * d->area >= c->area / 10) {
                c->keep = 0;
                break;
            }
        }
    }
    /* specks, relative to the largest component left */
    largest = 0;
    for (int i = 0; i < p->n_comps; i++) {
        if (p->comps[i].keep && p->comps[i].area > largest) {
            largest = p->comps[i].area;
        }
    }
    for (int i = 0; i < p->n_comps; i++) {
        comp *c = &p->comps[i];
        if (c->keep && (double)c->area < SPECK_FRACTION * (double)largest) {
            c->keep = 0;
        }
    }
}

/* Gives the cells of kept components, and the faint cells around them, their owner; and
 * sets to 0 the pixels of every other cell. keep_comp(i) decides which components count. */
static void assign_owners(prep *p, const int *keep)
{
    int gw = p->cgw, gh = p->cgh;
    int halo = ceil_div(HALO_PX, p->cs);
    size_t n = (size_t)gw * gh;
    for (size_t c = 0; c < n; c++) {
        int id = p->label[c];
        p->owner[c] = id >= 0 && keep[id] ? id : -1;
    }
    for (int y = 0; y < gh; y++) {
        for (int x = 0; x < gw; x++) {
            int id = p->label[y * gw + x];
            if (id < 0 || !keep[id]) {
                continue;
            }
            for (int yy = y - halo; yy <= y + halo; yy++) {
                for (int xx = x - halo; xx <= x + halo; xx++) {
                    if (yy < 0 || xx < 0 || yy >= gh || xx >= gw) {
                        continue;
                    }
                    size_t c = (size_t)yy * gw + xx;
                    if (p->owner[c] < 0 && p->label[c] < 0 && p->weak[c] && !p->gone[c]) {
                        p->owner[c] = id;
                    }
                }
            }
        }
    }
    for (int cy = 0; cy < gh; cy++) {
        for (int cx = 0; cx < gw; cx++) {
            size_t c = (size_t)cy * gw + cx;
            if (p->owner[c] >= 0 || !p->weak[c]) {
                continue;
            }
            int x0 = cx * p->cs, x1 = x0 + p->cs < p->w ? x0 + p->cs : p->w;
            int y0 = cy * p->cs, y1 = y0 + p->cs < p->h ? y0 + p->cs : p->h;
            for (int y = y0; y < y1; y++) {
                memset(p->ink->pixels + (size_t)y * p->w + x0, 0, (size_t)(x1 - x0));
            }
        }
    }
}

/* ---------------------------------------------------------------- the ink map */

/* Runs the ink map up to the component filter. On DG_OK, *status is DG_PREP_EMPTY (no ink;
 * p->ink all 0), else the components are labelled and filtered. */
static dg_status build_ink(prep *p, const dg_image *img, int q, dg_prep_status *status)
{
    memset(p, 0, sizeof *p);
    p->img = img;
    dg_status st = make_planes(p, q);
    if (st == DG_OK) {
        st = background(p);
    }
    if (st == DG_OK) {
        st = dg_image_new(p->w, p->h, 1, &p->ink);
    }
    uint32_t hist[511] = {0};
    if (st == DG_OK) {
        st = residuals(p, hist);
    }
    if (st != DG_OK) {
        return st == DG_ERR_NOMEM ? nomem() : st;
    }
    /* Noisy photos: smooth the plane where ink stands out and measure again, so that
     * grain and sensor noise do not break strokes into dust (clean images never are). */
    int found = levels(p, hist);
    for (int round = 0; round < SMOOTH_ROUNDS && p->sigma >= SMOOTH_MIN_NOISE &&
                        (!found || p->sigma * SMOOTH_SNR > p->contrast);
         round++) {
        st = smooth_plane(p);
        if (st == DG_OK) {
            st = residuals(p, hist);
        }
        if (st != DG_OK) {
            return st;
        }
        found = levels(p, hist);
    }
    free(p->planes); /* no longer needed; frees memory early on big photos */
    free(p->smooth);
    p->planes = p->smooth = NULL;
    p->lo = p->hi = NULL;
    if (!found) {
        memset(p->ink->pixels, 0, (size_t)p->w * p->h);
        *status = DG_PREP_EMPTY;
        return DG_OK;
    }
    st = alloc_cells(p);
    if (st != DG_OK) {
        return st;
    }
    classify(p);
    st = peel_lines(p, p->cgw, p->cgh, 1, (size_t)p->cgw);
    if (st == DG_OK) {
        st = peel_lines(p, p->cgh, p->cgw, (size_t)p->cgw, 1);
    }
    if (st == DG_OK) {
        st = label_components(p);
    }
    if (st != DG_OK) {
        return st;
    }
    filter_components(p);
    *status = DG_PREP_OK;
    return DG_OK;
}

static void fill_levels(const prep *p, dg_preprocess_info *info)
{
    info->inverted = p->dark != 0;
    float base_level = 0;
    if (p->bg) {
        /* the background's median level, for reporting */
        int n = p->bgw * p->bgh;
        float *tmp = malloc(sizeof *tmp * (size_t)n);
        if (tmp) {
            memcpy(tmp, p->bg, sizeof *tmp * (size_t)n);
            base_level = select_kth(tmp, n, n / 2);
            free(tmp);
        }
    }
    info->background = clampf(base_level + (p->dark ? -p->base : p->base), 0, 255);
    info->contrast = p->contrast;
    info->noise = p->sigma;
}

/* Bounding box of nonzero pixels of a [h][w] byte image inside (x0, y0, x1, y1] where
 * mask (rw wide, origin at mx, my; may be NULL) is nonzero. Returns 0 when there is none. */
static int ink_box(const uint8_t *px, int w, const uint8_t *mask, int mx, int my, int rw, int x0,
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
static float stroke_width(const uint8_t *px, int w, int h, size_t stride)
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

dg_status dg_ink_map(const dg_image *img, dg_image **ink_out, dg_preprocess_info *info)
{
    if (!ink_out) {
        return dg_fail(DG_ERR_ARG, "ink map: no output pointer");
    }
    *ink_out = NULL;
    dg_status st = check_image(img, "ink map");
    if (st != DG_OK) {
        return st;
    }
    prep p;
    dg_prep_status status;
    st = build_ink(&p, img, 1, &status);
    if (st != DG_OK) {
        prep_free(&p);
        return st;
    }
    int kept = 0;
    if (status == DG_PREP_OK) {
        int *keep = malloc(sizeof *keep * (size_t)(p.n_comps ? p.n_comps : 1));
        if (!keep) {
            prep_free(&p);
            return nomem();
        }
        for (int i = 0; i < p.n_comps; i++) {
            keep[i] = p.comps[i].keep;
            kept += keep[i];
        }
        assign_owners(&p, keep);
        free(keep);
        status = kept ? DG_PREP_OK : DG_PREP_NO_DIGIT;
    }
    if (info) {
        memset(info, 0, sizeof *info);
        info->status = status;
        fill_levels(&p, info);
        info->components = kept;
        int box[4];
        if (kept && ink_box(p.ink->pixels, p.w, NULL, 0, 0, 0, 0, 0, p.w, p.h, box)) {
            info->box_x = box[0];
            info->box_y = box[1];
            info->box_w = box[2];
            info->box_h = box[3];
            info->stroke_px = stroke_width(p.ink->pixels + (size_t)box[1] * p.w + box[0], box[2],
                                           box[3], (size_t)p.w);
        }
    }
    *ink_out = p.ink;
    p.ink = NULL;
    prep_free(&p);
    return DG_OK;
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
        return nomem();
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
    dg_status st = tmp ? taps_make(&tx, w, ow, scale, off_x) : nomem();
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

/* Zhang-Suen thinning of a binary grid g[h][w] whose border cells are 0. */
static void thin(uint8_t *g, int w, int h)
{
    uint8_t *del = calloc((size_t)w * h, 1);
    if (!del) {
        return; /* unthinned strokes come out bolder, not wrong */
    }
    int changed = 1;
    while (changed) {
        changed = 0;
        for (int pass = 0; pass < 2; pass++) {
            int n_del = 0;
            for (int y = 1; y < h - 1; y++) {
                for (int x = 1; x < w - 1; x++) {
                    uint8_t *c = g + (size_t)y * w + x;
                    if (!*c) {
                        continue;
                    }
                    /* neighbours P2..P9 clockwise from north */
                    int n[8] = {c[-w], c[-w + 1], c[1], c[w + 1], c[w], c[w - 1], c[-1], c[-w - 1]};
                    int b = 0, a = 0;
                    for (int k = 0; k < 8; k++) {
                        b += n[k];
                        a += !n[k] && n[(k + 1) % 8];
                    }
                    if (b < 2 || b > 6 || a != 1) {
                        continue;
                    }
                    int ok = pass == 0 ? !(n[0] && n[2] && n[4]) && !(n[2] && n[4] && n[6])
                                       : !(n[0] && n[2] && n[6]) && !(n[0] && n[4] && n[6]);
                    if (ok) {
                        del[(size_t)y * w + x] = 1;
                        n_del++;
                    }
                }
            }
            if (n_del) {
                changed = 1;
                for (size_t i = 0; i < (size_t)w * h; i++) {
                    if (del[i]) {
                        g[i] = 0;
                        del[i] = 0;
                    }
                }
            }
        }
    }
    free(del);
}

/* 1-D squared Euclidean distance transform (Felzenszwalb and Huttenlocher) of f[n] into d;
 * v[n] and z[n + 1] are scratch. */
static void edt_1d(const double *f, double *d, int n, int *v, double *z)
{
    int k = 0;
    v[0] = 0;
    z[0] = -DBL_MAX;
    z[1] = DBL_MAX;
    for (int q = 1; q < n; q++) {
        double s;
        for (;;) {
            int r = v[k];
            s = ((f[q] + (double)q * q) - (f[r] + (double)r * r)) / (2.0 * (q - r));
            if (s > z[k]) {
                break;
            }
            k--; /* z[0] is -DBL_MAX, so k stays >= 0 */
        }
        k++;
        v[k] = q;
        z[k] = s;
        z[k + 1] = DBL_MAX;
    }
    k = 0;
    for (int q = 0; q < n; q++) {
        while (z[k + 1] < q) {
            k++;
        }
        double dq = q - v[k];
        d[q] = dq * dq + f[v[k]];
    }
}

/* Euclidean distance from every cell of g[h][w] to the nearest nonzero cell, into dist. */
static dg_status distance_to(const uint8_t *g, int w, int h, float *dist)
{
    int n = w > h ? w : h;
    double *f = malloc(sizeof *f * (size_t)n), *d = malloc(sizeof *d * (size_t)n);
    double *z = malloc(sizeof *z * (size_t)(n + 1));
    double *col = malloc(sizeof *col * (size_t)w * h);
    int *v = malloc(sizeof *v * (size_t)n);
    if (!f || !d || !z || !col || !v) {
        free(f);
        free(d);
        free(z);
        free(col);
        free(v);
        return nomem();
    }
    /* large but finite: squares of grid distances stay exact next to it */
    const double far = 1e10;
    for (int x = 0; x < w; x++) {
        for (int y = 0; y < h; y++) {
            f[y] = g[(size_t)y * w + x] ? 0.0 : far;
        }
        edt_1d(f, d, h, v, z);
        for (int y = 0; y < h; y++) {
            col[(size_t)y * w + x] = d[y];
        }
    }
    for (int y = 0; y < h; y++) {
        edt_1d(col + (size_t)y * w, d, w, v, z);
        for (int x = 0; x < w; x++) {
            dist[(size_t)y * w + x] = (float)sqrt(d[x]);
        }
    }
    free(f);
    free(d);
    free(z);
    free(col);
    free(v);
    return DG_OK;
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
    int ow = ceil_div(dw + 2 * margin, K), oh = ceil_div(dh + 2 * margin, K);
    int gw = ow * K, gh = oh * K;
    int ox = (gw - dw) / 2, oy = (gh - dh) / 2; /* the drawing's corner in the grid */
    size_t n = (size_t)gw * gh;
    uint8_t *grid = calloc(n, 1);
    float *dist = malloc(sizeof *dist * n);
    float *dom = malloc(sizeof *dom * (size_t)dw * dh);
    float *box = calloc((size_t)ow * oh, sizeof *box);
    if (!grid || !dist || !dom || !box) {
        free(grid);
        free(dist);
        free(dom);
        free(box);
        return nomem();
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
        st = distance_to(grid, gw, gh, dist);
    }
    if (st == DG_OK) {
        float inv = 1.0f / (float)(K * K);
        for (int y = 0; y < gh; y++) {
            for (int x = 0; x < gw; x++) {
                float cover = clampf(radius + 0.5f - dist[(size_t)y * gw + x], 0.0f, 1.0f);
                box[(size_t)(y / K) * ow + x / K] += cover * inv;
            }
        }
        *out = box;
        *bw = ow;
        *bh = oh;
        box = NULL;
    }
    free(grid);
    free(dist);
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
                  uint8_t out[MNIST_PIXELS])
{
    memset(out, 0, MNIST_PIXELS);
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
            *v = floorf(clampf(*v * gain, 0.0f, 255.0f) + 0.5f);
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
        if (oy < 0 || oy >= MNIST_SIDE) {
            continue;
        }
        for (int x = 0; x < bw; x++) {
            int ox = x + sx;
            if (ox >= 0 && ox < MNIST_SIDE) {
                out[oy * MNIST_SIDE + ox] = (uint8_t)box[(size_t)y * bw + x];
            }
        }
    }
}

/* The MNIST conversion of the masked ink inside the (already clipped) rectangle. */
static dg_status to_mnist(const dg_image *ink, const uint8_t *mask, int mx, int my, int mw, int x0,
                          int y0, int x1, int y1, uint8_t out[MNIST_PIXELS],
                          dg_preprocess_info *info)
{
    memset(out, 0, MNIST_PIXELS);
    int box[4];
    if (!ink_box(ink->pixels, ink->w, mask, mx, my, mw, x0, y0, x1, y1, box)) {
        if (info) {
            info->status = DG_PREP_EMPTY;
        }
        return DG_OK;
    }
    int w = box[2], h = box[3];
    uint8_t *crop = malloc((size_t)w * h);
    if (!crop) {
        return nomem();
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
    float stroke = stroke_width(crop, w, h, (size_t)w);
    int side = w > h ? w : h;
    double scale = abs(side - MNIST_BOX) <= 1 ? 1.0 : (double)MNIST_BOX / side;
    float in_box = stroke * (float)scale;
    /* a 28x28 image whose digit already fills the 20 px box was made MNIST's way: its
     * strokes stay as drawn, thin or bold (MNIST has both) */
    int mnist_shaped = scale == 1.0 && ink->w == MNIST_SIDE && ink->h == MNIST_SIDE;
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
        st = img ? resample(crop, w, h, (size_t)w, img, bw, bh, scale, 0.0, 0.0) : nomem();
    } else {
        /* skeleton plus the new stroke should fill the box: the skeleton spans about the
         * ink's extent less its old width */
        double skel = fmax(fmax(side - stroke, 0.25 * side), 1.0);
        double s = (MNIST_BOX - STROKE_TARGET) / skel;
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
                               uint8_t out[784], dg_preprocess_info *info)
{
    if (!out) {
        return dg_fail(DG_ERR_ARG, "ink to mnist: no output buffer");
    }
    memset(out, 0, MNIST_PIXELS);
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
    return to_mnist(ink, mask, x, y, w, (int)x0, (int)y0, (int)x1, (int)y1, out, info);
}

dg_status dg_ink_to_mnist(const dg_image *ink, int x, int y, int w, int h, uint8_t out[784])
{
    return dg_ink_mask_to_mnist(ink, NULL, x, y, w, h, out, NULL);
}

/* ---------------------------------------------------------------- one digit */

/* Picks the digit's components among the kept ones into keep[] (see the file comment).
 * Returns how many, 0 when the ink looks like noise. */
static int choose_digit(const prep *p, int *keep)
{
    double cx = 0.5 * p->w, cy = 0.5 * p->h, diag = hypot(p->w, p->h);
    int main_id = -1, n_kept = 0;
    double best = -1;
    uint64_t total = 0;
    for (int i = 0; i < p->n_comps; i++) {
        keep[i] = 0;
        const comp *c = &p->comps[i];
        if (!c->keep) {
            continue;
        }
        n_kept++;
        total += c->area;
        double dx = c->sx / (double)c->area - cx, dy = c->sy / (double)c->area - cy;
        double d = hypot(dx, dy) / (0.35 * diag);
        double score = (double)c->area / (1.0 + d * d);
        if (score > best) {
            best = score;
            main_id = i;
        }
    }
    if (main_id < 0) {
        return 0;
    }
    keep[main_id] = 1;
    comp group = p->comps[main_id];
    int n = 1, grew = 1;
    while (grew) {
        grew = 0;
        int gw = group.x1 - group.x0 + 1, gh = group.y1 - group.y0 + 1;
        double reach = GROUP_GAP * (gw > gh ? gw : gh);
        for (int i = 0; i < p->n_comps; i++) {
            const comp *c = &p->comps[i];
            if (!c->keep || keep[i]) {
                continue;
            }
            int gap_x = c->x0 > group.x1   ? c->x0 - group.x1
                        : group.x0 > c->x1 ? group.x0 - c->x1
                                           : 0;
            int gap_y = c->y0 > group.y1   ? c->y0 - group.y1
                        : group.y0 > c->y1 ? group.y0 - c->y1
                                           : 0;
            if (gap_x <= reach && gap_y <= reach) {
                keep[i] = 1;
                n++;
                group.x0 = c->x0 < group.x0 ? c->x0 : group.x0;
                group.y0 = c->y0 < group.y0 ? c->y0 : group.y0;
                group.x1 = c->x1 > group.x1 ? c->x1 : group.x1;
                group.y1 = c->y1 > group.y1 ? c->y1 : group.y1;
                group.area += c->area;
                grew = 1;
            }
        }
    }
    /* scattered ink of which the digit holds little: noise, not a digit */
    if (n_kept >= 12 && 10 * group.area < 6 * total) {
        return 0;
    }
    return n;
}

dg_status dg_preprocess(const dg_image *img, uint8_t out[784], dg_preprocess_info *info)
{
    if (!out) {
        return dg_fail(DG_ERR_ARG, "preprocess: no output buffer");
    }
    memset(out, 0, MNIST_PIXELS);
    if (info) {
        memset(info, 0, sizeof *info);
    }
    dg_status st = check_image(img, "preprocess");
    if (st != DG_OK) {
        return st;
    }
    /* Big images are pooled down to about POOL_SIDE pixels: the digit ends up 20 px tall,
     * and every pass after the first then costs a fraction. */
    int L = img->w > img->h ? img->w : img->h;
    int q = ceil_div(L, POOL_SIDE);
    prep p;
    dg_prep_status status;
    st = build_ink(&p, img, q, &status);
    int *keep = NULL;
    uint8_t *mask = NULL;
    int n_kept = 0, n_left = 0;
    if (st == DG_OK && status == DG_PREP_OK) {
        keep = malloc(sizeof *keep * (size_t)(p.n_comps ? p.n_comps : 1));
        st = keep ? DG_OK : nomem();
    }
    if (st == DG_OK && status == DG_PREP_OK) {
        for (int i = 0; i < p.n_comps; i++) {
            n_left += p.comps[i].keep;
        }
        n_kept = choose_digit(&p, keep);
        if (n_kept == 0) {
            status = DG_PREP_NO_DIGIT;
        } else {
            assign_owners(&p, keep);
            /* the digit's cells as a pixel mask over their bounding box */
            int cx0 = p.cgw, cy0 = p.cgh, cx1 = -1, cy1 = -1;
            for (int cy = 0; cy < p.cgh; cy++) {
                for (int cx = 0; cx < p.cgw; cx++) {
                    if (p.owner[cy * p.cgw + cx] >= 0) {
                        cx0 = cx < cx0 ? cx : cx0;
                        cx1 = cx > cx1 ? cx : cx1;
                        cy0 = cy < cy0 ? cy : cy0;
                        cy1 = cy > cy1 ? cy : cy1;
                    }
                }
            }
            int x0 = cx0 * p.cs, y0 = cy0 * p.cs;
            int x1 = (cx1 + 1) * p.cs < p.w ? (cx1 + 1) * p.cs : p.w;
            int y1 = (cy1 + 1) * p.cs < p.h ? (cy1 + 1) * p.cs : p.h;
            int mw = x1 - x0, mh = y1 - y0;
            mask = malloc((size_t)mw * mh);
            if (!mask) {
                st = nomem();
            } else {
                for (int y = 0; y < mh; y++) {
                    const int32_t *orow = p.owner + (size_t)((y0 + y) / p.cs) * p.cgw;
                    for (int x = 0; x < mw; x++) {
                        mask[(size_t)y * mw + x] = orow[(x0 + x) / p.cs] >= 0;
                    }
                }
                dg_preprocess_info sub;
                memset(&sub, 0, sizeof sub);
                st = to_mnist(p.ink, mask, x0, y0, mw, x0, y0, x1, y1, out, &sub);
                if (st == DG_OK && info) {
                    /* back to source pixels */
                    info->box_x = sub.box_x * q;
                    info->box_y = sub.box_y * q;
                    info->box_w =
                        sub.box_w * q < img->w - info->box_x ? sub.box_w * q : img->w - info->box_x;
                    info->box_h =
                        sub.box_h * q < img->h - info->box_y ? sub.box_h * q : img->h - info->box_y;
                    /* pooling by extremes widened strokes by q - 1 pixels on average */
                    info->stroke_px = fmaxf(sub.stroke_px * (float)q - (float)(q - 1),
                                            fminf(sub.stroke_px * (float)q, 1.0f));
                    info->restroked = sub.restroked;
                }
                if (st == DG_OK && sub.status != DG_PREP_OK) {
                    status = DG_PREP_NO_DIGIT;
                }
            }
        }
        if (n_left == 0) {
            status = DG_PREP_NO_DIGIT;
        }
    }
    if (st == DG_OK && info) {
        info->status = status;
        fill_levels(&p, info);
        info->components = n_left;
        info->kept = status == DG_PREP_OK ? n_kept : 0;
    }
    if (st != DG_OK || status != DG_PREP_OK) {
        memset(out, 0, MNIST_PIXELS);
    }
    free(keep);
    free(mask);
    prep_free(&p);
    return st;
}
