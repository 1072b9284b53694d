/*
 * ink.c - the ink map (dg_ink_map): where the ink of a user's image is, whatever its paper,
 * lighting, colour or polarity, as levels from 0 (none) to 255 (full ink). Ruling lines,
 * frames and specks are taken out by ink_components.c; preprocess.c then chooses the digit
 * and mnist.c turns it into MNIST's 28x28. Layout: images are [h][w] row-major; x is the
 * column, y the row.
 *
 * The ink map, in three passes over the pixels, then over cells:
 *  1. Grey planes. Each pixel gives two levels: the minimum of its channels (blue, red or
 *     any coloured ink is dark there) and the maximum (coloured ink on a dark ground is
 *     bright there). Alpha is composited first onto a level chosen so that transparent
 *     means background: when opaque pixels are a minority they are the drawing, and the
 *     ground gets the level that contrasts with them; otherwise it gets their median.
 *     dg_preprocess first pools images larger than 512 px down to about 512 px, keeping
 *     each block's darkest minimum and brightest maximum so that 1 px lines keep their
 *     contrast in either polarity; dg_ink_map keeps the full resolution.
 *  2. Polarity and background: ink_background.c; the desk around a page: ink_desk.c.
 *  3. Levels, from the histogram of residuals: the background offset (median), the noise
 *     (1.4826 times the median absolute deviation), the full-ink level (90th percentile of
 *     the clear ink; of the clear ink not connected to the frame when that is a fifth of
 *     it or more, or what is connected stays by the frame or within a third of the image
 *     from one side, and darkens less: the desk beside a page does not set it). A noisy
 *     image (contrast under 12 noise deviations, or, when the clear ink is mostly what
 *     runs out of the frame, the ink inside under 10 on its own) has its ink-side plane
 *     smoothed by a 3x3 mean, up to twice, and measured again, so that grain and sensor
 *     noise do not break strokes into dust. No clear ink (nothing 6 noise deviations and
 *     12 levels above the background) means DG_PREP_EMPTY. The ink value is the residual
 *     scaled so that full ink is 255, kept above a low threshold (3 noise deviations, 2%
 *     of the contrast); pixels above a high threshold (40% of the contrast) are "strong".
 *     This is hysteresis thresholding: strong pixels decide what is ink, faint ones are
 *     kept only next to them (the anti-aliased edges of strokes, not noise or faint
 *     shadows).
 *  4. Components, on a grid of cells: ink_components.c.
 */
#include "vision/preprocess.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MIN_CONTRAST     12.0f /* grey levels of ink needed, whatever the noise */
#define SMOOTH_MIN_NOISE 3.0f  /* noise, grey levels, from which a noisy image may be smoothed */
#define SMOOTH_SNR       12.0f /* ... when its contrast is under this many noise deviations */
#define SMOOTH_ROUNDS    2     /* 3x3 means at most, each dividing white noise by 3 */
#define FRAMED_SNR       10.0f /* ... or when the ink inside the frame is under this many */
#define MIN_INSIDE       20    /* clear ink pixels away from the frame that set the contrast, */
#define INSIDE_SHARE     5     /* ... and at least one in this many of all the clear ones */
#define INSIDE_SIDE      512   /* ... looked for on about this many pixels a side */
#define HUG_DIV          5     /* what runs out of the frame stays by it: within this part */
#define HUG_IN_20        19    /* ... of the width or height of the border, this many in 20 */
#define STRIP_DIV        3     /* ... or within this part of one side: a strip of desk there */

/* ---------------------------------------------------------------- ink map state */

void dg_prep_free(dg_prep *p)
{
    free(p->planes);
    free(p->smooth);
    free(p->bg);
    free(p->desk);
    dg_image_free(p->ink);
    dg_image_free(p->page);
    free(p->strong);
    free(p->weak);
    free(p->on);
    free(p->gone);
    free(p->label);
    free(p->owner);
    free(p->comps);
}

dg_status dg_prep_nomem(void)
{
    return dg_fail(DG_ERR_NOMEM, "preprocess: out of memory");
}

dg_status dg_prep_check_image(const dg_image *img, const char *what)
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

/* One working row from the rows' extremes rl, rh (sw source columns): each block of q
 * columns gives its minimum and maximum. Inlined with q a constant for the common q. */
static inline void pool_columns(const uint8_t *rl, const uint8_t *rh, int sw, int q, uint8_t *lrow,
                                uint8_t *hrow)
{
    int whole = sw / q;
    for (int x = 0; x < whole; x++) {
        uint8_t a = rl[x * q], b = rh[x * q];
        for (int k = 1; k < q; k++) {
            a = rl[x * q + k] < a ? rl[x * q + k] : a;
            b = rh[x * q + k] > b ? rh[x * q + k] : b;
        }
        lrow[x] = a;
        hrow[x] = b;
    }
    if (whole * q < sw) {
        uint8_t a = 255, b = 0;
        for (int k = whole * q; k < sw; k++) {
            a = rl[k] < a ? rl[k] : a;
            b = rh[k] > b ? rh[k] : b;
        }
        lrow[whole] = a;
        hrow[whole] = b;
    }
}

/* The min and max planes of the image, pooled over q x q blocks (q = 1: none). Pooling
 * keeps the darkest minimum and the brightest maximum, so a 1 px line keeps its full
 * contrast whichever its polarity; strokes grow by under one block, which is far below a
 * 20 px box pixel on the images that get pooled. Each block's q rows are reduced first,
 * element by element, then its q columns once. A source row the same, byte for byte, as
 * the row above it (a drawing's blank rows) changes none of this: its extremes are the
 * ones already worked out, it leaves its block's as they were, and a block of nothing but
 * the row repeated since the block before, itself of one row repeated, repeats that
 * block's working row. */
static dg_status make_planes(dg_prep *p, int q)
{
    const dg_image *img = p->img;
    p->q = q;
    p->w = dg_ceil_div(img->w, q);
    p->h = dg_ceil_div(img->h, q);
    if (img->channels == 1 && q == 1) {
        p->lo = p->hi = img->pixels;
        return DG_OK;
    }
    size_t n = (size_t)p->w * (size_t)p->h;
    p->planes = malloc(2 * n);
    if (!p->planes) {
        return dg_prep_nomem();
    }
    uint8_t *lo = p->planes, *hi = p->planes + n;
    int c = img->channels, sw = img->w;
    unsigned ground = c == 4 ? (unsigned)alpha_ground(img) : 0;
    size_t row_bytes = (size_t)sw * c;
    /* [4][sw]: a source row's (RGBA) or the block's minimum and maximum channels, and the
     * block's so far (RGBA); [2][row_bytes]: the block's rows' bytes reduced (grey, RGB) */
    uint8_t *scratch = malloc(4 * (size_t)sw + 2 * row_bytes);
    if (!scratch) {
        return dg_prep_nomem();
    }
    uint8_t *ml = scratch, *mh = scratch + sw, *bl = scratch + 2 * (size_t)sw,
            *bh = scratch + 3 * (size_t)sw;
    uint8_t *byte_lo = scratch + 4 * (size_t)sw, *byte_hi = byte_lo + row_bytes;
    bool prev_one_row = false; /* the block before held one source row, repeated */
    for (int oy = 0; oy < p->h; oy++) {
        int y0 = oy * q, y1 = y0 + q < img->h ? y0 + q : img->h;
        bool one_row = true, repeats_prev = false;
        /* grey and RGB: the block's extremes are those of all its bytes, so its rows are
         * reduced byte by byte, and the channels once (blo, bhi: the bytes so far) */
        const uint8_t *blo = NULL, *bhi = NULL;
        for (int sy = y0; sy < y1; sy++) {
            const uint8_t *s = img->pixels + (size_t)sy * row_bytes;
            bool same = sy > 0 && memcmp(s, s - row_bytes, row_bytes) == 0;
            if (sy == y0) {
                repeats_prev = same;
            } else {
                one_row = one_row && same;
            }
            if (same && sy > y0) {
                continue; /* the block's extremes already include this row's */
            }
            if (c != 4) {
                if (sy == y0) {
                    blo = bhi = s;
                    continue;
                }
                for (size_t i = 0; i < row_bytes; i++) {
                    byte_lo[i] = s[i] < blo[i] ? s[i] : blo[i];
                    byte_hi[i] = s[i] > bhi[i] ? s[i] : bhi[i];
                }
                blo = byte_lo;
                bhi = byte_hi;
                continue;
            }
            const uint8_t *rl = ml, *rh = mh;
            if (!same) { /* else still the row above's extremes */
                for (int x = 0; x < sw; x++, s += 4) {
                    pixel_range(s, 4, ground, &ml[x], &mh[x]);
                }
            }
            if (sy == y0) {
                memcpy(bl, rl, (size_t)sw);
                memcpy(bh, rh, (size_t)sw);
            } else {
                for (int x = 0; x < sw; x++) {
                    bl[x] = rl[x] < bl[x] ? rl[x] : bl[x];
                    bh[x] = rh[x] > bh[x] ? rh[x] : bh[x];
                }
            }
        }
        uint8_t *lrow = lo + (size_t)oy * p->w, *hrow = hi + (size_t)oy * p->w;
        bool repeat = one_row && repeats_prev && prev_one_row;
        prev_one_row = one_row;
        if (repeat) {
            memcpy(lrow, lrow - p->w, (size_t)p->w);
            memcpy(hrow, hrow - p->w, (size_t)p->w);
            continue;
        }
        if (c == 1) {
            memcpy(bl, blo, (size_t)sw);
            memcpy(bh, bhi, (size_t)sw);
        } else if (c == 3) {
            for (int x = 0; x < sw; x++) {
                const uint8_t *a = blo + 3 * (size_t)x, *b = bhi + 3 * (size_t)x;
                uint8_t a01 = a[0] < a[1] ? a[0] : a[1], b01 = b[0] > b[1] ? b[0] : b[1];
                bl[x] = a[2] < a01 ? a[2] : a01;
                bh[x] = b[2] > b01 ? b[2] : b01;
            }
        }
        switch (q) {
        case 1:
            memcpy(lrow, bl, (size_t)sw);
            memcpy(hrow, bh, (size_t)sw);
            break;
        case 2:
            pool_columns(bl, bh, sw, 2, lrow, hrow);
            break;
        case 3:
            pool_columns(bl, bh, sw, 3, lrow, hrow);
            break;
        case 4:
            pool_columns(bl, bh, sw, 4, lrow, hrow);
            break;
        default:
            pool_columns(bl, bh, sw, q, lrow, hrow);
            break;
        }
    }
    free(scratch);
    p->lo = lo;
    p->hi = hi;
    return DG_OK;
}

/* Replaces the plane where ink stands out by its 3x3 mean (windows clipped at the
 * borders), into p->smooth. */
static dg_status smooth_plane(dg_prep *p)
{
    int w = p->w, h = p->h;
    const uint8_t *src = p->dark ? p->lo : p->hi;
    uint8_t *dst = malloc((size_t)w * h);
    uint16_t *cols = malloc(sizeof *cols * (size_t)w * 2); /* vertical sums and counts */
    if (!dst || !cols) {
        free(dst);
        free(cols);
        return dg_prep_nomem();
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

/* Contrast and thresholds from the n_clear values of hist above `clear`: full ink is their
 * 90th percentile. */
static void set_contrast(dg_prep *p, const uint32_t hist[511], float clear, uint64_t n_clear)
{
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
}

/*
 * The contrast measured without the clear ink that runs out of the frame: the surroundings
 * (a strip of desk along the page's edge, the wedges of desk a tilted page leaves at the
 * corners, the lit paper's end beyond a shadow) are often far darker than a faint pen,
 * and would set full ink so high that the digit fell under the thresholds. Only when
 * the clear ink inside is a fifth of it or more, or what runs out of the frame stays by
 * it (within a HUG_DIV-th of the width of the left and right sides, and of the height of
 * the top and bottom: strips and wedges of desk, while a digit cut by the frame runs on
 * inwards; otherwise what runs out of the frame is the digit itself, and what lies inside
 * only specks and grid lines), and only to lower the contrast. With framed (may be NULL),
 * also says whether the clear ink is mostly such surroundings and what lies inside is
 * under FRAMED_SNR noise deviations on its own (*framed 1, and nothing lowered): a faint
 * pen on grainy paper beside wedges of desk, which the surroundings' contrast would let
 * pass for clean.
 */
static dg_status contrast_inside_of(dg_prep *p, const uint8_t *v, int w, int h, int *framed)
{
    if (framed) {
        *framed = 0;
    }
    float clear = p->base + fmaxf(6.0f * p->sigma, MIN_CONTRAST);
    int cut = clear < 0.0f ? 0 : clear >= 255.0f ? 255 : (int)clear; /* clear: v > cut */
    size_t n_border = 0;
    for (int x = 0; x < w; x++) {
        n_border += (v[x] > cut) + (v[(size_t)(h - 1) * w + x] > cut);
    }
    for (int y = 0; y < h; y++) {
        n_border += (v[(size_t)y * w] > cut) + (v[(size_t)y * w + w - 1] > cut);
    }
    if (n_border == 0) {
        return DG_OK;
    }
    size_t n = (size_t)w * (size_t)h;
    uint8_t *seen = calloc(n, 1);
    int32_t *queue = malloc(sizeof *queue * n); /* each pixel enters it at most once */
    if (!seen || !queue) {
        free(seen);
        free(queue);
        return dg_prep_nomem();
    }
    size_t tail = 0;
    for (size_t i = 0; i < n; i++) {
        int x = (int)(i % (size_t)w), y = (int)(i / (size_t)w);
        if ((x == 0 || y == 0 || x == w - 1 || y == h - 1) && v[i] > cut) {
            seen[i] = 1;
            queue[tail++] = (int32_t)i;
        }
    }
    for (size_t head = 0; head < tail; head++) {
        int c = queue[head], cx = c % w, cy = c / w;
        for (int dy = -1; dy <= 1; dy++) {
            for (int dx = -1; dx <= 1; dx++) {
                int xx = cx + dx, yy = cy + dy;
                size_t d = (size_t)yy * w + (size_t)xx;
                if (xx < 0 || yy < 0 || xx >= w || yy >= h || seen[d] || v[d] <= cut) {
                    continue;
                }
                seen[d] = 1;
                queue[tail++] = (int32_t)d;
            }
        }
    }
    free(queue);
    uint32_t hist[511] = {0};
    uint64_t n_inside = 0, n_clear = 0, n_out = 0, n_hugging = 0, n_side[4] = {0};
    int band_x = w / HUG_DIV, band_y = h / HUG_DIV;
    int strip_x = w / STRIP_DIV, strip_y = h / STRIP_DIV;
    for (size_t i = 0; i < n; i++) {
        n_clear += v[i] > cut;
        if (v[i] > cut && !seen[i]) {
            hist[v[i] + 255]++;
            n_inside++;
        } else if (v[i] > cut) {
            int x = (int)(i % (size_t)w), y = (int)(i / (size_t)w);
            n_out++;
            n_hugging += x < band_x || x >= w - band_x || y < band_y || y >= h - band_y;
            n_side[0] += x < strip_x;
            n_side[1] += x >= w - strip_x;
            n_side[2] += y < strip_y;
            n_side[3] += y >= h - strip_y;
        }
    }
    free(seen);
    /* what runs out of the frame stays by the frame: strips and wedges of desk, not the
     * strokes of a digit cut by the frame, which run on inwards; a wider strip of desk
     * along one side (the page's edge in the photo) stays within a third of the image from
     * that side */
    bool hugging = n_out > 0 && 20 * n_hugging >= HUG_IN_20 * n_out;
    for (int k = 0; k < 4; k++) {
        hugging = hugging || (n_out > 0 && 20 * n_side[k] >= HUG_IN_20 * n_out);
    }
    if (framed && INSIDE_SHARE * n_inside < n_clear && n_inside >= MIN_INSIDE) {
        /* mostly surroundings: is what lies inside clear of the noise on its own? */
        dg_prep inner = *p;
        set_contrast(&inner, hist, clear, n_inside);
        *framed = inner.sigma * FRAMED_SNR > inner.contrast;
    }
    if (n_inside >= MIN_INSIDE && (INSIDE_SHARE * n_inside >= n_clear || hugging)) {
        dg_prep whole = *p;
        set_contrast(p, hist, clear, n_inside);
        if (p->contrast > whole.contrast) {
            /* the surroundings were fainter than the ink inside: they lowered nothing */
            p->contrast = whole.contrast;
            p->t_low = whole.t_low;
            p->t_high = whole.t_high;
        }
    }
    return DG_OK;
}

static dg_status contrast_inside(dg_prep *p, int *framed)
{
    /* on big maps (dg_ink_map keeps a photo's full resolution), every step-th pixel each way,
     * the last row and column kept: about INSIDE_SIDE a side */
    int step = dg_ceil_div(p->w > p->h ? p->w : p->h, INSIDE_SIDE);
    int w = dg_ceil_div(p->w, step), h = dg_ceil_div(p->h, step);
    uint8_t *sampled = NULL;
    const uint8_t *v = p->ink->pixels;
    if (step > 1) {
        sampled = malloc((size_t)w * (size_t)h);
        if (!sampled) {
            return dg_prep_nomem();
        }
        for (int y = 0; y < h; y++) {
            const uint8_t *row = v + (size_t)(y == h - 1 ? p->h - 1 : y * step) * p->w;
            for (int x = 0; x < w; x++) {
                sampled[(size_t)y * w + x] = row[x == w - 1 ? p->w - 1 : x * step];
            }
        }
        v = sampled;
    }
    dg_status st = contrast_inside_of(p, v, w, h, framed);
    free(sampled);
    return st;
}

/* Sets base, sigma, contrast and thresholds; returns 0 when there is no clear ink. */
static int levels(dg_prep *p, const uint32_t hist[511])
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
    set_contrast(p, hist, clear, n_clear);
    return 1;
}

/* ---------------------------------------------------------------- the ink map */

/* Runs the ink map up to the component filter. On DG_OK, *status is DG_PREP_EMPTY (no ink;
 * p->ink all 0), else the components are labelled and filtered. */
dg_status dg_prep_build_ink(dg_prep *p, const dg_image *img, int q, bool keep_page,
                            dg_prep_status *status)
{
    memset(p, 0, sizeof *p);
    p->img = img;
    dg_status st = make_planes(p, q);
    if (st == DG_OK) {
        st = dg_prep_background(p);
    }
    if (st == DG_OK) {
        st = dg_image_new(p->w, p->h, 1, &p->ink);
    }
    if (st == DG_OK && keep_page) {
        st = dg_image_new(p->w, p->h, 1, &p->page);
    }
    uint32_t hist[511] = {0};
    if (st == DG_OK) {
        st = dg_prep_residuals(p, hist);
    }
    if (st != DG_OK) {
        return st == DG_ERR_NOMEM ? dg_prep_nomem() : st;
    }
    /* Noisy photos: smooth the plane where ink stands out and measure again, so that
     * grain and sensor noise do not break strokes into dust (clean images never are).
     * Noisy is judged against the ink inside the frame when the clear ink is mostly the
     * surroundings (contrast_inside_of). */
    int found = levels(p, hist), inside_done = 0;
    for (int round = 0; round < SMOOTH_ROUNDS && p->sigma >= SMOOTH_MIN_NOISE; round++) {
        int framed = 0;
        if (found && p->sigma * SMOOTH_SNR <= p->contrast) {
            /* clean unless framed: then this is the contrast inside that stays */
            st = contrast_inside(p, &framed);
            inside_done = st == DG_OK && !framed;
        }
        if (st != DG_OK || inside_done) {
            break;
        }
        st = smooth_plane(p);
        if (st == DG_OK) {
            st = dg_prep_residuals(p, hist);
        }
        if (st != DG_OK) {
            break;
        }
        found = levels(p, hist);
    }
    if (st != DG_OK) {
        return st;
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
    st = inside_done ? DG_OK : contrast_inside(p, NULL);
    if (st == DG_OK) {
        st = dg_prep_find_components(p);
    }
    if (st != DG_OK) {
        return st;
    }
    *status = DG_PREP_OK;
    return DG_OK;
}

void dg_prep_fill_levels(const dg_prep *p, dg_preprocess_info *info)
{
    info->inverted = p->dark != 0;
    float base_level = dg_prep_background_median(p);
    info->background = dg_clampf(base_level + (p->dark ? -p->base : p->base), 0, 255);
    info->contrast = p->contrast;
    info->noise = p->sigma;
    info->light_followed = p->followed != 0;
    info->desk = p->desk != NULL;
    for (int i = 0; i < p->n_comps; i++) {
        if (!p->comps[i].keep && !p->comps[i].peeled) {
            info->dropped[p->comps[i].why]++;
        }
    }
}

const char *dg_prep_drop_name(dg_prep_drop why)
{
    static const char *const names[DG_PREP_DROP_COUNT] = {
        "scattered dots", "across or along the border", "along the desk's edge",
        "a frame around other ink", "specks"};
    return (int)why >= 0 && why < DG_PREP_DROP_COUNT ? names[why] : "?";
}

dg_status dg_ink_map(const dg_image *img, dg_image **ink_out, dg_preprocess_info *info)
{
    return dg_prep_ink_map(img, 1, ink_out, info);
}

dg_status dg_prep_ink_map(const dg_image *img, int q, dg_image **ink_out, dg_preprocess_info *info)
{
    if (!ink_out) {
        return dg_fail(DG_ERR_ARG, "ink map: no output pointer");
    }
    *ink_out = NULL;
    dg_status st = dg_prep_check_image(img, "ink map");
    if (st != DG_OK) {
        return st;
    }
    dg_prep p;
    dg_prep_status status;
    st = dg_prep_build_ink(&p, img, q, false, &status);
    if (st != DG_OK) {
        dg_prep_free(&p);
        return st;
    }
    int kept = 0;
    if (status == DG_PREP_OK) {
        int *keep = malloc(sizeof *keep * (size_t)(p.n_comps ? p.n_comps : 1));
        if (!keep) {
            dg_prep_free(&p);
            return dg_prep_nomem();
        }
        for (int i = 0; i < p.n_comps; i++) {
            keep[i] = p.comps[i].keep;
            kept += keep[i];
        }
        dg_prep_assign_owners(&p, keep);
        free(keep);
        status = kept ? DG_PREP_OK : DG_PREP_NO_DIGIT;
    }
    if (info) {
        memset(info, 0, sizeof *info);
        info->status = status;
        dg_prep_fill_levels(&p, info);
        info->components = kept;
        int box[4];
        if (kept && dg_prep_ink_box(p.ink->pixels, p.w, NULL, 0, 0, 0, 0, 0, p.w, p.h, box)) {
            info->box_x = box[0];
            info->box_y = box[1];
            info->box_w = box[2];
            info->box_h = box[3];
            info->stroke_px = dg_prep_stroke_width(p.ink->pixels + (size_t)box[1] * p.w + box[0],
                                                   box[2], box[3], (size_t)p.w);
        }
    }
    *ink_out = p.ink;
    p.ink = NULL;
    dg_prep_free(&p);
    return DG_OK;
}
