/*
 * ink_light.c - the page's light at the scale of strokes, for the ink map's background
 * (ink_background.c): what a coarse grid cannot follow. A hard shadow's edge (a phone or a
 * hand between the lamp and the page), the edge of the page on a desk, a finger: steps of
 * brightness that stay sharp. Grey morphology on the ink-side plane, pooled to at most
 * FINE_SIDE cells a side: a closing (dark ink; an opening for light ink) with a radius of
 * a fortieth of the image keeps every step wider than its window where it is and fills
 * the strokes, so dividing it out leaves the paper uniform up to a shadow's edge. Also the
 * desk's edge at that scale, and a second opinion on the polarity from thin strokes.
 * Layout: planes are [h][w] row-major; x the column, y the row.
 */
#include "vision/preprocess.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FINE_SIDE      512   /* the stroke-scale background: at most this many cells a side */
#define CLOSE_DIV      40    /* its closing radius: the longer side over this, in cells */
#define LIGHT_RATIO    0.33f /* closing darker than this part of the paper: ink, not light */
#define EVIDENCE_BLOCK 16    /* thin strokes' polarity: noise measured over blocks this wide */

/* ---------------------------------------------------------------- grey morphology */

static inline uint8_t pick(uint8_t a, uint8_t b, int is_max)
{
    return is_max ? (a > b ? a : b) : (a < b ? a : b);
}

/* The window [lo, hi] of a van Herk / Gil-Werman filter with blocks of k from g (running
 * extremes from each block's start) and h (to each block's end), n long: the window is
 * whole blocks' worth unless clipped at an end, where one of the two covers it alone. */
static inline int vhgw_same_block(int lo, int hi, int k)
{
    return lo / k == hi / k;
}

/* Max (is_max) or min filter of radius r along each row of a [h][w] byte plane, src into
 * dst, windows clipped at the ends: van Herk / Gil-Werman, three comparisons a pixel
 * whatever r. g and h are [w] scratch. */
static void byte_filter_rows(const uint8_t *src, uint8_t *dst, int w, int h, int r, int is_max,
                             uint8_t *g, uint8_t *hs)
{
    int k = 2 * r + 1;
    for (int y = 0; y < h; y++) {
        const uint8_t *s = src + (size_t)y * w;
        uint8_t *d = dst + (size_t)y * w;
        for (int b0 = 0; b0 < w; b0 += k) {
            int b1 = b0 + k < w ? b0 + k : w;
            g[b0] = s[b0];
            for (int x = b0 + 1; x < b1; x++) {
                g[x] = pick(g[x - 1], s[x], is_max);
            }
            hs[b1 - 1] = s[b1 - 1];
            for (int x = b1 - 2; x >= b0; x--) {
                hs[x] = pick(hs[x + 1], s[x], is_max);
            }
        }
        for (int x = 0; x < w; x++) {
            int lo = x - r < 0 ? 0 : x - r, hi = x + r >= w ? w - 1 : x + r;
            if (!vhgw_same_block(lo, hi, k)) {
                d[x] = pick(hs[lo], g[hi], is_max);
            } else {
                d[x] = lo % k == 0 ? g[hi] : hs[lo];
            }
        }
    }
}

/* d = max (is_max) or min of a and b, elementwise over n bytes. */
static void byte_pick(uint8_t *d, const uint8_t *a, const uint8_t *b, int n, int is_max)
{
    if (is_max) {
        for (int x = 0; x < n; x++) {
            d[x] = a[x] > b[x] ? a[x] : b[x];
        }
    } else {
        for (int x = 0; x < n; x++) {
            d[x] = a[x] < b[x] ? a[x] : b[x];
        }
    }
}

/* The same down the columns, whole rows at a time; g and hs are [h][w] scratch. */
static void byte_filter_cols(const uint8_t *src, uint8_t *dst, int w, int h, int r, int is_max,
                             uint8_t *g, uint8_t *hs)
{
    int k = 2 * r + 1;
    size_t W = (size_t)w;
    for (int y = 0; y < h; y++) {
        if (y % k == 0) {
            memcpy(g + y * W, src + y * W, W);
        } else {
            byte_pick(g + y * W, g + (y - 1) * W, src + y * W, w, is_max);
        }
    }
    for (int y = h - 1; y >= 0; y--) {
        if (y == h - 1 || (y + 1) % k == 0) {
            memcpy(hs + y * W, src + y * W, W);
        } else {
            byte_pick(hs + y * W, hs + (y + 1) * W, src + y * W, w, is_max);
        }
    }
    for (int y = 0; y < h; y++) {
        int lo = y - r < 0 ? 0 : y - r, hi = y + r >= h ? h - 1 : y + r;
        if (!vhgw_same_block(lo, hi, k)) {
            byte_pick(dst + y * W, hs + lo * W, g + hi * W, w, is_max);
        } else {
            memcpy(dst + y * W, lo % k == 0 ? g + hi * W : hs + lo * W, W);
        }
    }
}

/* Closing (a dilation then an erosion of radius r_out; is_max) or opening (!is_max) of a
 * [h][w] plane in place; tmp is [h][w], g and hs [h][w] scratch. */
static void byte_morph(uint8_t *a, uint8_t *tmp, int w, int h, int r_in, int r_out, int is_max,
                       uint8_t *g, uint8_t *hs)
{
    byte_filter_rows(a, tmp, w, h, r_in, is_max, g, hs);
    byte_filter_cols(tmp, a, w, h, r_in, is_max, g, hs);
    byte_filter_rows(a, tmp, w, h, r_out, !is_max, g, hs);
    byte_filter_cols(tmp, a, w, h, r_out, !is_max, g, hs);
}

/* The mean over (2r + 1)^2 windows (clipped at the borders) of a [h][w] plane, in place;
 * sums is [h][w] scratch of 32-bit counts (4 bytes a cell). */
static void box_mean(uint8_t *v, int w, int h, int r, uint32_t *sums)
{
    /* along the rows into sums, then down the columns back into v */
    for (int y = 0; y < h; y++) {
        const uint8_t *row = v + (size_t)y * w;
        uint32_t *out = sums + (size_t)y * w, acc = 0;
        for (int x = 0; x < r && x < w; x++) {
            acc += row[x];
        }
        for (int x = 0; x < w; x++) {
            acc += x + r < w ? row[x + r] : 0;
            acc -= x - r - 1 >= 0 ? row[x - r - 1] : 0;
            int n = (x + r < w ? x + r : w - 1) - (x - r > 0 ? x - r : 0) + 1;
            out[x] = (acc + (uint32_t)n / 2) / (uint32_t)n;
        }
    }
    for (int x = 0; x < w; x++) {
        uint32_t acc = 0;
        for (int y = 0; y < r && y < h; y++) {
            acc += sums[(size_t)y * w + x];
        }
        for (int y = 0; y < h; y++) {
            acc += y + r < h ? sums[(size_t)(y + r) * w + x] : 0;
            acc -= y - r - 1 >= 0 ? sums[(size_t)(y - r - 1) * w + x] : 0;
            int n = (y + r < h ? y + r : h - 1) - (y - r > 0 ? y - r : 0) + 1;
            v[(size_t)y * w + x] = (uint8_t)((acc + (uint32_t)n / 2) / (uint32_t)n);
        }
    }
}

/* The coarse background's level at pixel (x, y), interpolated as the residuals do. */
static float coarse_at(const dg_prep *p, float x, float y)
{
    float tx = x / (float)p->bs - 0.5f, ty = y / (float)p->bs - 0.5f;
    tx = dg_clampf(tx, 0.0f, (float)(p->bgw - 1));
    ty = dg_clampf(ty, 0.0f, (float)(p->bgh - 1));
    int x0 = (int)tx, y0 = (int)ty;
    int x1 = x0 + 1 < p->bgw ? x0 + 1 : x0, y1 = y0 + 1 < p->bgh ? y0 + 1 : y0;
    float fx = tx - (float)x0, fy = ty - (float)y0;
    const float *g = p->bg;
    float top = g[y0 * p->bgw + x0] + fx * (g[y0 * p->bgw + x1] - g[y0 * p->bgw + x0]);
    float bot = g[y1 * p->bgw + x0] + fx * (g[y1 * p->bgw + x1] - g[y1 * p->bgw + x0]);
    return top + fy * (bot - top);
}

/*
 * The desk's edge at the scale of strokes: the coarse desk cells stop short of the page's
 * edge, and the cells between hold the thin shadow the page casts on the desk, and the
 * desk's grain, which look like strokes. The closing a ([fh][fw], paper side up) keeps
 * the page's edge where it is and fills the ink on the page, so near the coarse desk a
 * fine cell is desk where the closing is nearer the desk's level than the paper's (the
 * median of the page's coarse cells). Replaces p->desk by the fine mask.
 */
static dg_status refine_desk(dg_prep *p, const uint8_t *a, int f, int fw, int fh)
{
    size_t n = (size_t)fw * (size_t)fh;
    uint8_t *fine = calloc(n, 1);
    if (!fine) {
        return dg_prep_nomem();
    }
    double sum = 0;
    size_t count = 0;
    for (int cy = 0; cy < fh; cy++) {
        for (int cx = 0; cx < fw; cx++) {
            int dx = cx * f / p->ds, dy = cy * f / p->ds;
            if (p->desk[(size_t)dy * p->dgw + dx]) {
                sum += a[(size_t)cy * fw + cx];
                count++;
            }
        }
    }
    float desk = count ? (float)(sum / (double)count) : 0.0f;
    /* the page's level: the median of the coarse background over the page's cells */
    float *tmp = malloc(sizeof *tmp * (size_t)p->bgw * (size_t)p->bgh);
    if (!tmp) {
        free(fine);
        return dg_prep_nomem();
    }
    int n_page = 0;
    for (int c = 0; c < p->bgw * p->bgh; c++) {
        if (!p->desk[c]) {
            tmp[n_page++] = p->dark ? p->bg[c] : 255.0f - p->bg[c];
        }
    }
    float paper = n_page ? dg_prep_select_kth(tmp, n_page, n_page / 2) : 255.0f;
    free(tmp);
    for (int cy = 0; cy < fh; cy++) {
        for (int cx = 0; cx < fw; cx++) {
            int near = dg_prep_near_set(p->desk, p->dgw, p->dgh, cx * f / p->ds, cy * f / p->ds);
            float level = (float)a[(size_t)cy * fw + cx];
            /* the desk may be darker than the paper or, told by its colour, brighter */
            fine[(size_t)cy * fw + cx] = near && fabsf(level - desk) < fabsf(level - paper);
        }
    }
    free(p->desk);
    p->desk = fine;
    p->ds = f;
    p->dgw = fw;
    p->dgh = fh;
    return DG_OK;
}

/*
 * The background at the scale of strokes: a grey closing (dark ink; an opening for light
 * ink) of the ink-side plane, pooled to at most FINE_SIDE cells a side by the paper-side
 * extreme, with a radius of a fortieth of the image. A closing keeps every step of
 * brightness wider than its window exactly where it is (a hard shadow's edge, the page's
 * edge on a desk, a finger) and fills what is narrower (strokes), so dividing it out
 * leaves the paper uniform up to a shadow's edge. It replaces the coarse background
 * wherever it differs from it by more than the noise and stays above LIGHT_RATIO of it: darker
 * still, it met ink bolder than its window, which the coarse background was made for. On pooled
 * planes a cell that straddles a shadow's edge takes the lit side's level, so the closing ends with
 * one more cell of erosion: an edge then errs towards the shadow, which costs strokes there a
 * little contrast instead of drawing a false stroke along it. The result becomes p->bg.
 */
dg_status dg_prep_follow_strokes(dg_prep *p)
{
    int L = p->w > p->h ? p->w : p->h;
    int f = dg_ceil_div(L, FINE_SIDE);
    int fw = dg_ceil_div(p->w, f), fh = dg_ceil_div(p->h, f);
    size_t n = (size_t)fw * (size_t)fh;
    uint8_t *a = malloc(n), *b = malloc(n);
    uint32_t *sum = calloc(n, sizeof *sum);
    float *g = malloc(sizeof *g * n);
    if (!a || !b || !sum || !g) {
        free(a);
        free(b);
        free(sum);
        free(g);
        return dg_prep_nomem();
    }
    /* pooled, paper side up: the brightest of a block for dark ink, the darkest inverted
     * for light ink; and the blocks' sums */
    const uint8_t *plane = p->dark ? p->lo : p->hi;
    uint8_t flip = p->dark ? 0 : 255;
    memset(a, 0, n);
    for (int y = 0; y < p->h; y++) {
        const uint8_t *row = plane + (size_t)y * p->w;
        uint8_t *o = a + (size_t)(y / f) * fw;
        uint32_t *so = sum + (size_t)(y / f) * fw;
        for (int cx = 0; cx < fw; cx++) {
            int x0 = cx * f, x1 = x0 + f < p->w ? x0 + f : p->w;
            uint8_t m = o[cx];
            uint32_t t = 0;
            for (int x = x0; x < x1; x++) {
                uint8_t v = (uint8_t)(row[x] ^ flip);
                m = v > m ? v : m;
                t += v;
            }
            o[cx] = m;
            so[cx] += t;
        }
    }
    int r = (fw > fh ? fw : fh) / CLOSE_DIV;
    r = r < 2 ? 2 : r;
    int extra = f > 1;
    uint8_t *scratch = malloc(2 * n);
    if (!scratch) {
        free(a);
        free(b);
        free(sum);
        free(g);
        return dg_prep_nomem();
    }
    byte_morph(a, b, fw, fh, r, r + extra, 1, scratch, scratch + n);
    free(scratch);
    /* Noise: the extremes of a noisy plane stand above its mean, and so does the closing.
     * What the closing stands above the blocks' means on most of the image is that bias,
     * taken off so that the paper's residual stays centred on 0. */
    uint32_t hist[256] = {0};
    for (int cy = 0; cy < fh; cy++) {
        int rows = (cy + 1) * f < p->h ? f : p->h - cy * f;
        for (int cx = 0; cx < fw; cx++) {
            int cols = (cx + 1) * f < p->w ? f : p->w - cx * f;
            size_t c = (size_t)cy * fw + cx;
            int d =
                (int)a[c] - (int)((sum[c] + (uint32_t)(rows * cols) / 2) / (uint32_t)(rows * cols));
            hist[d < 0 ? 0 : d]++;
        }
    }
    free(sum);
    size_t seen = 0;
    int bias = 0;
    while (bias < 255 && seen + hist[bias] < (n + 1) / 2) {
        seen += hist[bias++];
    }
    for (size_t c = 0; c < n; c++) {
        a[c] = (uint8_t)(a[c] > bias ? a[c] - bias : 0);
    }
    /* The closing carries the plane's noise; where it stays near the coarse background,
     * the smooth coarse one is kept, and only steps of light (a shadow's edge, the desk)
     * take the closing, blended in over delta. The coarse background is smoothed over two
     * of its cells, so it is wrong all along a step's side to that reach, where it comes
     * back towards the closing half-way: within that reach of a clear step (the closing
     * rising by 1.5 delta) the closing is taken whole, or the half-way levels would draw a
     * false stroke beside every shadow's edge; and over one reach more, less and less, so
     * that the end of that band draws no line either. */
    float delta = 12.0f + 2.0f * (float)bias;
    uint8_t *tmp = malloc(4 * n);
    if (!tmp) {
        free(a);
        free(b);
        free(g);
        return dg_prep_nomem();
    }
    int reach = dg_ceil_div(2 * p->bs, f);
    /* steps of light, not bold strokes: the closing closed again, four times as wide */
    uint8_t *wide = tmp + 3 * n;
    memcpy(wide, a, n);
    byte_morph(wide, b, fw, fh, 4 * r, 4 * r, 1, tmp + n, tmp + 2 * n);
    /* a step: the wide closing rising by 1.5 delta within the closing's own window (light
     * falling off across the page rises as much only over a far longer way) */
    uint8_t *near_max = b, *near_min = tmp + 3 * n;
    byte_filter_rows(wide, tmp, fw, fh, r, 1, tmp + n, tmp + 2 * n);
    byte_filter_cols(tmp, near_max, fw, fh, r, 1, tmp + n, tmp + 2 * n);
    byte_filter_rows(wide, tmp, fw, fh, r, 0, tmp + n, tmp + 2 * n);
    byte_filter_cols(tmp, near_min, fw, fh, r, 0, tmp + n, tmp + 2 * n);
    uint8_t *step = b; /* 255 within two reaches of a clear step, then its mean over one */
    for (size_t c = 0; c < n; c++) {
        step[c] = (float)(near_max[c] - near_min[c]) >= 1.5f * delta ? 255 : 0;
    }
    byte_filter_rows(step, tmp, fw, fh, 2 * reach, 1, tmp + n, tmp + 2 * n);
    byte_filter_cols(tmp, step, fw, fh, 2 * reach, 1, tmp + n, tmp + 2 * n);
    box_mean(step, fw, fh, reach, (uint32_t *)(void *)tmp);
    for (int cy = 0; cy < fh; cy++) {
        for (int cx = 0; cx < fw; cx++) {
            size_t c = (size_t)cy * fw + cx;
            float coarse =
                coarse_at(p, ((float)cx + 0.5f) * (float)f, ((float)cy + 0.5f) * (float)f);
            float paper = p->dark ? coarse : 255.0f - coarse; /* paper side up */
            float closed = (float)a[c];
            /* from the coarse level to the closing as their difference grows past the
             * noise: a blend, so that no sharp step of background is drawn as a line */
            float w = dg_clampf((fabsf(closed - paper) - 0.5f * delta) / delta, 0.0f, 1.0f);
            w = fmaxf(w, (float)step[c] / 255.0f);
            float level = closed >= LIGHT_RATIO * paper ? paper + w * (closed - paper) : paper;
            g[c] = p->dark ? level : 255.0f - level;
        }
    }
    free(tmp);
    dg_status st = p->desk ? refine_desk(p, a, f, fw, fh) : DG_OK;
    free(a);
    free(b);
    free(p->bg);
    p->bg = g;
    p->bs = f;
    p->bgw = fw;
    p->bgh = fh;
    return st;
}

/*
 * What the cells of a [h][w] top-hat plane show all around (grain, noise), into floor2[h][w]
 * as twice the level that evidence must exceed: 1.5 times the median of the block of
 * EVIDENCE_BLOCK cells a side that holds the cell, plus 2. Local, since the light varies
 * across a photo and the grain with it: the lit part of a page under a shadow has stronger
 * grain than the shadowed part, which must not outvote the strokes in the shadow.
 */
static void evidence_floor(const uint8_t *v, int w, int h, uint16_t *floor2)
{
    for (int by = 0; by < h; by += EVIDENCE_BLOCK) {
        int y1 = by + EVIDENCE_BLOCK < h ? by + EVIDENCE_BLOCK : h;
        for (int bx = 0; bx < w; bx += EVIDENCE_BLOCK) {
            int x1 = bx + EVIDENCE_BLOCK < w ? bx + EVIDENCE_BLOCK : w;
            uint32_t hist[256] = {0};
            for (int y = by; y < y1; y++) {
                for (int x = bx; x < x1; x++) {
                    hist[v[(size_t)y * w + x]]++;
                }
            }
            uint32_t n = (uint32_t)((y1 - by) * (x1 - bx)), seen = 0;
            int med = 0;
            while (med < 255 && seen + hist[med] < (n + 1) / 2) {
                seen += hist[med++];
            }
            for (int y = by; y < y1; y++) {
                for (int x = bx; x < x1; x++) {
                    floor2[(size_t)y * w + x] = (uint16_t)(3 * med + 4);
                }
            }
        }
    }
}

/*
 * Clears the evidence of a [h][w] top-hat plane that is connected to the image's border
 * through cells above their floor: what runs out of the frame is the surroundings (the thin
 * end of a lit strip between a shadow's edge and the border, the edge of the page, a
 * strip of desk), while a written stroke lies within it. queue is [w * h] scratch.
 */
static void clear_border_evidence(uint8_t *v, int w, int h, const uint16_t *floor2, int32_t *queue)
{
    size_t head = 0, tail = 0;
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            size_t c = (size_t)y * w + x;
            if ((x == 0 || y == 0 || x == w - 1 || y == h - 1) && 2 * v[c] > floor2[c]) {
                v[c] = 0;
                queue[tail++] = (int32_t)c;
            }
        }
    }
    while (head < tail) {
        int c = queue[head++], x = c % w, y = c / w;
        for (int dy = -1; dy <= 1; dy++) {
            for (int dx = -1; dx <= 1; dx++) {
                int xx = x + dx, yy = y + dy;
                if (xx < 0 || yy < 0 || xx >= w || yy >= h) {
                    continue;
                }
                size_t d = (size_t)yy * w + xx;
                if (2 * v[d] > floor2[d]) {
                    v[d] = 0;
                    queue[tail++] = (int32_t)d;
                }
            }
        }
    }
}

/* The sum over a [n] top-hat plane of what exceeds its floor. */
static double excess(const uint8_t *v, size_t n, const uint16_t *floor2)
{
    uint64_t sum2 = 0;
    for (size_t i = 0; i < n; i++) {
        sum2 += 2 * v[i] > floor2[i] ? (uint64_t)(2 * v[i] - floor2[i]) : 0;
    }
    return 0.5 * (double)sum2;
}

/*
 * A second opinion on the polarity when vote_dark found light ink on a dim ground, which
 * is also what paper looks like under a shadow covering most of it (the lit paper beyond
 * the shadow's edge then passes for light ink). From thin strokes only: dark ones are
 * what a small closing of the darkest minimum fills (the black top-hat), light ones what
 * a small opening of the brightest maximum removes (the white top-hat), with a third of
 * follow_strokes' radius, so that the inside of a loop seldom counts. A shadow's edge is
 * a step, which neither responds to. Evidence counts beyond what its neighbourhood shows
 * (evidence_floor: the lit part of the page has the stronger grain), and not when it runs
 * out of the frame (clear_border_evidence: the thin end of the lit paper between the
 * shadow's edge and the border is no light stroke). The thin strokes decide by
 * themselves, the more evidence winning: the first vote's prior for light ink on a dim
 * ground is what brought them in, and a faint pen under a deep shadow gives only a little
 * more dark evidence than the lit paper's grain gives light.
 */
dg_status dg_prep_vote_strokes(dg_prep *p)
{
    int L = p->w > p->h ? p->w : p->h;
    int f = dg_ceil_div(L, FINE_SIDE);
    int fw = dg_ceil_div(p->w, f), fh = dg_ceil_div(p->h, f);
    size_t n = (size_t)fw * (size_t)fh;
    uint8_t *lo = malloc(n), *hi = malloc(n), *a = malloc(n), *b = malloc(n);
    if (!lo || !hi || !a || !b) {
        free(lo);
        free(hi);
        free(a);
        free(b);
        return dg_prep_nomem();
    }
    memset(lo, 255, n);
    memset(hi, 0, n);
    for (int y = 0; y < p->h; y++) {
        const uint8_t *rl = p->lo + (size_t)y * p->w, *rh = p->hi + (size_t)y * p->w;
        uint8_t *ol = lo + (size_t)(y / f) * fw, *oh = hi + (size_t)(y / f) * fw;
        for (int cx = 0; cx < fw; cx++) {
            int x0 = cx * f, x1 = x0 + f < p->w ? x0 + f : p->w;
            uint8_t mn = ol[cx], mx = oh[cx];
            for (int x = x0; x < x1; x++) {
                mn = rl[x] < mn ? rl[x] : mn;
                mx = rh[x] > mx ? rh[x] : mx;
            }
            ol[cx] = mn;
            oh[cx] = mx;
        }
    }
    int r = (fw > fh ? fw : fh) / (3 * CLOSE_DIV);
    r = r < 2 ? 2 : r;
    uint8_t *scratch = malloc(2 * n);
    if (!scratch) {
        free(lo);
        free(hi);
        free(a);
        free(b);
        return dg_prep_nomem();
    }
    memcpy(a, lo, n);
    byte_morph(a, b, fw, fh, r, r, 1, scratch, scratch + n);
    for (size_t i = 0; i < n; i++) {
        lo[i] = (uint8_t)(a[i] - lo[i]); /* closing >= the plane */
    }
    memcpy(a, hi, n);
    byte_morph(a, b, fw, fh, r, r, 0, scratch, scratch + n);
    for (size_t i = 0; i < n; i++) {
        hi[i] = (uint8_t)(hi[i] - a[i]); /* opening <= the plane */
    }
    free(scratch);
    if (p->desk) {
        for (int cy = 0; cy < fh; cy++) {
            for (int cx = 0; cx < fw; cx++) {
                size_t c = (size_t)(cy * f / p->ds) * p->dgw + (size_t)(cx * f / p->ds);
                if (p->desk[c]) {
                    lo[(size_t)cy * fw + cx] = hi[(size_t)cy * fw + cx] = 0;
                }
            }
        }
    }
    int32_t *queue = malloc(sizeof *queue * n);
    uint16_t *floor2 = malloc(sizeof *floor2 * n);
    if (!queue || !floor2) {
        free(queue);
        free(floor2);
        free(lo);
        free(hi);
        free(a);
        free(b);
        return dg_prep_nomem();
    }
    evidence_floor(lo, fw, fh, floor2);
    clear_border_evidence(lo, fw, fh, floor2, queue);
    double dark = excess(lo, n, floor2);
    evidence_floor(hi, fw, fh, floor2);
    clear_border_evidence(hi, fw, fh, floor2, queue);
    double light = excess(hi, n, floor2);
    free(queue);
    free(floor2);
    p->dark = dark > light;
    free(lo);
    free(hi);
    free(a);
    free(b);
    return DG_OK;
}
