/*
 * ink_background.c - step 2 of the ink map (ink.c): polarity and background, on a coarse
 * grid (about 32 cells along the longer side), then the residual of every pixel against
 * the background: the evidence of ink that step 3 (ink.c) measures. Layout: images are
 * [h][w] row-major, the background grid [bgh][bgw].
 *
 * Polarity: against the median of the cell means over 9x9 cells (the local background,
 * whatever the lighting; the whole image's median for images up to 64 px, crops whose
 * bold strokes may fill a local window), the darkest pixel of every cell is dark
 * evidence and the brightest light evidence, counted beyond what a typical cell shows
 * (noise gives every cell extremes both ways). The background's own brightness is a
 * prior: ink on light paper is dark unless the light evidence is twice the dark (a red
 * margin line is brighter than grey paper in the maximum channel), and the reverse.
 * Background: each cell's median in the plane where ink stands out (ink covering
 * under half a cell does not move it), closed (max then min filter) for dark ink or
 * opened for light ink with a radius of 2 cells, which follows shadows and vignetting;
 * where that sinks far towards the ink level a bold stroke filled the cells, and the
 * same filter with radius 6 is used there. Then smoothed and interpolated linearly to
 * every pixel (one flat level for images up to 64 px). The residual is ink evidence
 * in grey levels: for light ink max - background; for dark ink (background - min) *
 * 255 / background, relative to the paper's brightness because light falls on ink and
 * paper alike, so strokes in a shadow keep their weight.
 * The desk around a page that does not fill the photo, left out of all this: ink_desk.c.
 * Unless the cells are all one level, the background is then refined at the scale of
 * strokes (ink_light.c), which follows a hard shadow's edge and the desk's; and light ink
 * found on a dim ground (what a shadow over most of the page looks like) is checked on
 * thin strokes (ink_light.c).
 */
#include "vision/preprocess.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BG_CELLS          32    /* background grid: cells along the longer side */
#define BG_RADIUS         2     /* closing/opening radius in cells: removes ink filling < 5 cells */
#define BG_RADIUS_BOLD    6     /* the same for bold strokes, up to 13 cells */
#define BG_GLOBAL_SIDE    64    /* images this small get one flat background level */
#define POLARITY_RADIUS   4     /* local median window for the polarity vote, cells */
#define FLAT_RANGE        16.0f /* a coarse background within this many levels is flat */
#define SHADOW_GROUND_MIN 80.0f /* dimmer ground than this is a dark screen or board, */
#define LIT_PAPER_MIN     128.0f /* ... unless a quarter of the page is this bright paper */
#define PLANE_ROUNDS      4      /* a small image's background plane: fits, ink left out */
#define PLANE_INK_GAP     12.0   /* ... cells further on the ink's side than this are ink */
#define PLANE_MIN_FALL    40.0   /* ... followed when it falls by more across the image */
#define PLANE_PAPER       0.9    /* ... at this quantile of the cells about it (dark ink) */
#define PLANE_MIN_CELLS   16     /* ... fitted through at least this many cells */

/* ---------------------------------------------------------------- small helpers */

/* The k-th smallest of v[0..n), k < n; reorders v. */
float dg_prep_select_kth(float *v, int n, int k)
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

/* The median of v[0..n), as dg_prep_select_kth(v, n, n / 2) gives it (may reorder v).
 * The cells of a drawing or a page, and windows of them, are mostly ground: when no more
 * than n / 2 values lie below the largest (or above the smallest), the median is that
 * value, found by counting instead of selecting. */
float dg_prep_cells_median(float *v, int n)
{
    int k = n / 2, below = 0, above = 0;
    float lo = v[0], hi = v[0];
    for (int i = 1; i < n; i++) {
        lo = v[i] < lo ? v[i] : lo;
        hi = v[i] > hi ? v[i] : hi;
    }
    for (int i = 0; i < n; i++) {
        below += v[i] < hi;
        above += v[i] > lo;
    }
    if (below <= k) {
        return hi; /* v sorted: [below values under hi] hi ... so index k holds hi */
    }
    if (above <= n - 1 - k) {
        return lo;
    }
    return dg_prep_select_kth(v, n, k);
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

/* ---------------------------------------------------------------- 2. polarity, background */

/* Cell sums and extremes of both planes, and their mean. A row of cells at a time: the
 * columns' sums and extremes over its rows first (loops along whole rows, which
 * vectorise), then each cell's over its columns. */
static dg_status cell_stats(const dg_prep *p, dg_prep_bg_cells *g)
{
    int w = p->w;
    uint32_t *col_sum = malloc(2 * sizeof *col_sum * (size_t)w); /* [2][w] lo, hi */
    uint8_t *col_ext = malloc(2 * (size_t)w);                    /* [2][w] min lo, max hi */
    if (!col_sum || !col_ext) {
        free(col_sum);
        free(col_ext);
        return dg_prep_nomem();
    }
    uint32_t *s_lo = col_sum, *s_hi = col_sum + w;
    uint8_t *mn = col_ext, *mx = col_ext + w;
    for (int gy = 0; gy < p->bgh; gy++) {
        int y0 = gy * p->bs, y1 = y0 + p->bs < p->h ? y0 + p->bs : p->h;
        memset(col_sum, 0, 2 * sizeof *col_sum * (size_t)w);
        memset(mn, 255, (size_t)w);
        memset(mx, 0, (size_t)w);
        for (int y = y0; y < y1; y++) {
            const uint8_t *lo = p->lo + (size_t)y * w, *hi = p->hi + (size_t)y * w;
            for (int x = 0; x < w; x++) {
                s_lo[x] += lo[x];
                s_hi[x] += hi[x];
                mn[x] = lo[x] < mn[x] ? lo[x] : mn[x];
                mx[x] = hi[x] > mx[x] ? hi[x] : mx[x];
            }
        }
        for (int gx = 0; gx < p->bgw; gx++) {
            int x0 = gx * p->bs, x1 = x0 + p->bs < w ? x0 + p->bs : w;
            uint32_t sum_lo = 0, sum_hi = 0;
            uint8_t cell_mn = 255, cell_mx = 0;
            for (int x = x0; x < x1; x++) {
                sum_lo += s_lo[x];
                sum_hi += s_hi[x];
                cell_mn = mn[x] < cell_mn ? mn[x] : cell_mn;
                cell_mx = mx[x] > cell_mx ? mx[x] : cell_mx;
            }
            int c = gy * p->bgw + gx;
            g->sum[2 * c] = sum_lo;
            g->sum[2 * c + 1] = sum_hi;
            g->min_lo[c] = cell_mn;
            g->max_hi[c] = cell_mx;
            g->count[c] = (float)((x1 - x0) * (y1 - y0));
        }
    }
    free(col_sum);
    free(col_ext);
    for (int c = 0; c < g->n; c++) {
        g->mid[c] = (float)((g->sum[2 * c] + g->sum[2 * c + 1]) / (2.0 * g->count[c]));
    }
    return DG_OK;
}

/* Summed-area tables over the [gh][gw] grid, each [gh + 1][gw + 1] with a zero first row
 * and column: the page's cells (not the desk's), and those of them whose mean is the
 * page's largest (top) or smallest (bottom). */
typedef struct window_counts {
    int gw;
    int32_t *page, *at_top, *at_bottom;
} window_counts;

static int32_t window_sum(const window_counts *wc, const int32_t *t, int x0, int y0, int x1, int y1)
{
    size_t s = (size_t)wc->gw + 1;
    return t[(size_t)(y1 + 1) * s + x1 + 1] - t[(size_t)y0 * s + x1 + 1] -
           t[(size_t)(y1 + 1) * s + x0] + t[(size_t)y0 * s + x0];
}

/* Polarity against the local median of the cell means; on small images (global), which
 * are crops of one digit whose bold strokes may fill most of any local window, against
 * the median of the whole image. A window with at most half of its cells below the page's
 * largest mean (or above its smallest) has that mean as its median (dg_prep_cells_median),
 * which counts in the summed-area tables find without gathering the window. */
static dg_status polarity_refs(const dg_prep *p, dg_prep_bg_cells *g, int global)
{
    float global_ref = 0;
    if (global) {
        memcpy(g->tmp, g->mid, sizeof *g->tmp * (size_t)g->n);
        global_ref = dg_prep_cells_median(g->tmp, g->n);
        for (int c = 0; c < g->n; c++) {
            g->ref[c] = global_ref;
        }
        return DG_OK;
    }
    float page_ref = 0, top = -1.0f, bottom = 256.0f;
    int n_page = 0;
    for (int c = 0; c < g->n; c++) {
        if (!g->desk || !g->desk[c]) {
            g->tmp[n_page++] = g->mid[c];
            top = g->mid[c] > top ? g->mid[c] : top;
            bottom = g->mid[c] < bottom ? g->mid[c] : bottom;
        }
    }
    if (g->desk) {
        page_ref = dg_prep_cells_median(g->tmp, n_page);
    }
    int gw = p->bgw, gh = p->bgh;
    size_t s = (size_t)gw + 1, n_sat = s * ((size_t)gh + 1);
    int32_t *sat = calloc(3 * n_sat, sizeof *sat);
    if (!sat) {
        return dg_prep_nomem();
    }
    window_counts wc = {gw, sat, sat + n_sat, sat + 2 * n_sat};
    for (int gy = 0; gy < gh; gy++) {
        for (int gx = 0; gx < gw; gx++) {
            int c = gy * gw + gx, on_page = !g->desk || !g->desk[c];
            size_t at = (size_t)(gy + 1) * s + gx + 1, up = at - s;
            wc.page[at] = on_page + wc.page[at - 1] + wc.page[up] - wc.page[up - 1];
            wc.at_top[at] = (on_page && g->mid[c] == top) + wc.at_top[at - 1] + wc.at_top[up] -
                            wc.at_top[up - 1];
            wc.at_bottom[at] = (on_page && g->mid[c] == bottom) + wc.at_bottom[at - 1] +
                               wc.at_bottom[up] - wc.at_bottom[up - 1];
        }
    }
    for (int gy = 0; gy < gh; gy++) {
        for (int gx = 0; gx < gw; gx++) {
            int c = gy * gw + gx, n = 0;
            /* the window clipped to the grid, the desk's cells left out */
            int y0 = gy - POLARITY_RADIUS < 0 ? 0 : gy - POLARITY_RADIUS;
            int y1 = gy + POLARITY_RADIUS < gh ? gy + POLARITY_RADIUS : gh - 1;
            int x0 = gx - POLARITY_RADIUS < 0 ? 0 : gx - POLARITY_RADIUS;
            int x1 = gx + POLARITY_RADIUS < gw ? gx + POLARITY_RADIUS : gw - 1;
            int n_win = window_sum(&wc, wc.page, x0, y0, x1, y1);
            int n_top = window_sum(&wc, wc.at_top, x0, y0, x1, y1);
            int n_bottom = window_sum(&wc, wc.at_bottom, x0, y0, x1, y1);
            if (n_win == 0) {
                g->ref[c] = page_ref;
                continue;
            }
            if (n_top > 0 && n_win - n_top <= n_win / 2) {
                g->ref[c] = top;
                continue;
            }
            if (n_bottom > 0 && n_win - n_bottom <= n_win - 1 - n_win / 2) {
                g->ref[c] = bottom;
                continue;
            }
            for (int yy = y0; yy <= y1; yy++) {
                const float *mid = g->mid + (size_t)yy * gw;
                const uint8_t *desk = g->desk ? g->desk + (size_t)yy * gw : NULL;
                for (int xx = x0; xx <= x1; xx++) {
                    if (!desk || !desk[xx]) {
                        g->window[n++] = mid[xx];
                    }
                }
            }
            g->ref[c] = dg_prep_cells_median(g->window, n);
        }
    }
    free(sat);
    return DG_OK;
}

/* Whether the ink is darker than the background: the cells' dark and light evidence
 * against their references, weighed with a prior from the background's brightness (the
 * median of the page's cells, into *ground_out; their upper quartile into *lit_out). */
static int vote_dark(dg_prep_bg_cells *g, float *ground_out, float *lit_out)
{
    /* the page's cells only: the desk around it is neither paper nor ink */
    int n_cells = 0;
    for (int c = 0; c < g->n; c++) {
        if (!g->desk || !g->desk[c]) {
            g->ref[n_cells] = g->ref[c];
            g->min_lo[n_cells] = g->min_lo[c];
            g->max_hi[n_cells] = g->max_hi[c];
            g->mid[n_cells] = g->mid[c];
            n_cells++;
        }
    }
    float *tmp = g->tmp;
    memcpy(tmp, g->mid, sizeof *tmp * (size_t)n_cells);
    float ground = dg_prep_cells_median(tmp, n_cells);
    *ground_out = ground;
    memcpy(tmp, g->mid, sizeof *tmp * (size_t)n_cells);
    *lit_out = n_cells ? dg_prep_select_kth(tmp, n_cells, 3 * n_cells / 4) : ground;
    int expect_dark = ground >= 128.0f;
    /* Each cell's deviations beyond what a typical (ink-free) cell shows: on a noisy photo
     * every cell has extremes both ways, and only what exceeds them is evidence. On light
     * paper the typical cell's darkest pixel is the lower quarter's: a number written
     * large can pass through more than half of a page's cells, whose median then measures
     * the ink itself and leaves no evidence of it. The light side keeps the median, so that
     * grid lines brighter than the paper through most cells still have to outweigh the
     * ink; and so does a dim ground (a dark screen, a page under a deep shadow or light
     * falling off), where a quarter of the cells is too few to tell grain from ink. */
    for (int c = 0; c < n_cells; c++) {
        tmp[c] = g->ref[c] - g->min_lo[c];
    }
    float noise_dark = expect_dark ? dg_prep_select_kth(tmp, n_cells, n_cells / 4)
                                   : dg_prep_cells_median(tmp, n_cells);
    for (int c = 0; c < n_cells; c++) {
        tmp[c] = g->max_hi[c] - g->ref[c];
    }
    float noise_light = dg_prep_cells_median(tmp, n_cells);
    double dark = 0, light = 0;
    for (int c = 0; c < n_cells; c++) {
        float d = g->ref[c] - g->min_lo[c] - 1.5f * fmaxf(noise_dark, 0.0f);
        float l = g->max_hi[c] - g->ref[c] - 1.5f * fmaxf(noise_light, 0.0f);
        dark += d > 0 ? d : 0;
        light += l > 0 ? l : 0;
    }
    /* A prior from the background's brightness: ink on light paper is dark, on a dark
     * screen light, unless the evidence against it is twice as strong (a red margin line
     * is brighter than grey paper in the maximum channel, and must not flip the image). */
    return expect_dark ? !(light > 2.0 * dark) : dark > 2.0 * light;
}

/* The median of the samples of cell (gx, gy) of plane, every step-th pixel each way: the
 * smallest value that at least half of them, rounded up, do not exceed. hist[256] is
 * scratch, zero on entry and on return. */
static float cell_median(const dg_prep *p, const uint8_t *plane, int gx, int gy, int step,
                         uint32_t *hist)
{
    int x0 = gx * p->bs, x1 = x0 + p->bs < p->w ? x0 + p->bs : p->w;
    int y0 = gy * p->bs, y1 = y0 + p->bs < p->h ? y0 + p->bs : p->h;
    uint32_t count = 0;
    int lo = 255, hi = 0;
    for (int y = y0; y < y1; y += step) {
        const uint8_t *row = plane + (size_t)y * p->w;
        for (int x = x0; x < x1; x += step) {
            hist[row[x]]++;
            lo = row[x] < lo ? row[x] : lo;
            hi = row[x] > hi ? row[x] : hi;
            count++;
        }
    }
    uint32_t half = (count + 1) / 2, acc = 0;
    int v = lo; /* the bins below it are empty */
    while (v < 255 && acc + hist[v] < half) {
        acc += hist[v++];
    }
    memset(hist + lo, 0, sizeof *hist * (size_t)(hi - lo + 1));
    return (float)v;
}

/* Background level in the plane where the ink stands out, into p->bg: each cell's median,
 * which ink covering under half of the cell does not move. A drawing's or a page's cells
 * are mostly ground, the brightest value of the plane for dark ink (the darkest for light
 * ink): a cell with fewer than half of its samples below the plane's largest value has
 * that value as its median, and one with half or more at the smallest value has that one.
 * Samples are counted against both along whole rows; only the other cells are sorted
 * into a histogram. */
static dg_status cell_medians(dg_prep *p)
{
    const uint8_t *plane = p->dark ? p->lo : p->hi;
    int w = p->w, step = p->bs >= 8 ? 2 : 1; /* a quarter of the pixels of a big cell suffice */
    uint8_t top = 0, bottom = 255;
    for (size_t i = 0; i < (size_t)w * p->h; i++) {
        top = plane[i] > top ? plane[i] : top;
        bottom = plane[i] < bottom ? plane[i] : bottom;
    }
    uint32_t *hist = calloc(256, sizeof *hist);
    uint32_t *cols = malloc(2 * sizeof *cols * (size_t)w); /* [2][w] below top, at bottom */
    if (!hist || !cols) {
        free(hist);
        free(cols);
        return dg_prep_nomem();
    }
    uint32_t *n_below = cols, *n_bottom = cols + w;
    for (int gy = 0; gy < p->bgh; gy++) {
        int y0 = gy * p->bs, y1 = y0 + p->bs < p->h ? y0 + p->bs : p->h;
        memset(cols, 0, 2 * sizeof *cols * (size_t)w);
        for (int y = y0; y < y1; y += step) {
            const uint8_t *row = plane + (size_t)y * w;
            for (int x = 0; x < w; x++) {
                n_below[x] += row[x] < top;
                n_bottom[x] += row[x] == bottom;
            }
        }
        int rows = (y1 - y0 + step - 1) / step;
        for (int gx = 0; gx < p->bgw; gx++) {
            int x0 = gx * p->bs, x1 = x0 + p->bs < w ? x0 + p->bs : w;
            uint32_t below = 0, at_bottom = 0;
            for (int x = x0; x < x1; x += step) {
                below += n_below[x];
                at_bottom += n_bottom[x];
            }
            uint32_t half = ((uint32_t)(rows * ((x1 - x0 + step - 1) / step)) + 1) / 2;
            float *bg = &p->bg[gy * p->bgw + gx];
            if (below < half) {
                *bg = (float)top;
            } else if (at_bottom >= half) {
                *bg = (float)bottom;
            } else {
                *bg = cell_median(p, plane, gx, gy, step, hist);
            }
        }
    }
    free(hist);
    free(cols);
    return DG_OK;
}

/* The level of plane (a, b, c) = a + b x + c y at cell c of a grid w cells wide. */
static double plane_at(const double plane[3], int c, int w)
{
    return plane[0] + plane[1] * (c % w) + plane[2] * (c / w);
}

/* The plane a + b x + c y (x, y in cells) through the background cells of a small image,
 * by least squares, ink cells left out: each round keeps the cells no further on the ink's
 * side of the last plane than PLANE_INK_GAP levels (or twice the spread of the kept cells'
 * distances, if more). Returns 0 when the cells are too few to fit. */
static int background_plane(const dg_prep *p, float *tmp, double plane[3])
{
    int n_cells = p->bgw * p->bgh;
    double side = p->dark ? 1.0 : -1.0; /* ink lies below the plane (dark ink) or above */
    double gap = 1e30;
    for (int round = 0; round < PLANE_ROUNDS; round++) {
        double m[3][4] = {{0}};
        int kept = 0;
        for (int c = 0; c < n_cells; c++) {
            double x = c % p->bgw, y = c / p->bgw, z = p->bg[c];
            if (round > 0 && side * (z - plane_at(plane, c, p->bgw)) < -gap) {
                continue;
            }
            double v[4] = {1.0, x, y, z};
            for (int i = 0; i < 3; i++) {
                for (int j = 0; j < 4; j++) {
                    m[i][j] += v[i] * v[j];
                }
            }
            kept++;
        }
        if (kept < PLANE_MIN_CELLS) {
            return 0;
        }
        /* Gauss-Jordan on the 3x3 normal equations, pivoting on the largest */
        for (int i = 0; i < 3; i++) {
            int best = i;
            for (int r = i + 1; r < 3; r++) {
                best = fabs(m[r][i]) > fabs(m[best][i]) ? r : best;
            }
            for (int j = 0; j < 4; j++) {
                double t = m[i][j];
                m[i][j] = m[best][j];
                m[best][j] = t;
            }
            if (fabs(m[i][i]) < 1e-9) {
                return 0;
            }
            for (int r = 0; r < 3; r++) {
                double f = m[r][i] / m[i][i];
                for (int j = 0; r != i && j < 4; j++) {
                    m[r][j] -= f * m[i][j];
                }
            }
        }
        for (int i = 0; i < 3; i++) {
            plane[i] = m[i][3] / m[i][i];
        }
        /* the spread of the cells' distances from the plane (1.4826 MAD) */
        for (int c = 0; c < n_cells; c++) {
            tmp[c] = fabsf(p->bg[c] - (float)plane_at(plane, c, p->bgw));
        }
        double spread = 1.4826 * dg_prep_cells_median(tmp, n_cells);
        gap = fmax(PLANE_INK_GAP, 2.0 * spread);
    }
    return 1;
}

/* One background level for a small image: the brightest cell (dark ink) or the darkest.
 * A small crop of a photo may still have its light falling off across it: when the plane
 * through its background cells falls by more than PLANE_MIN_FALL across the image, the
 * background follows the plane instead, raised (dark ink) or lowered to the cells'
 * PLANE_PAPER quantile about it. */
static void small_image_background(dg_prep *p, float *tmp)
{
    int n_cells = p->bgw * p->bgh;
    double plane[3];
    if (background_plane(p, tmp, plane)) {
        double fall = fabs(plane[1]) * (p->bgw - 1) + fabs(plane[2]) * (p->bgh - 1);
        if (fall > PLANE_MIN_FALL) {
            for (int c = 0; c < n_cells; c++) {
                tmp[c] = (p->dark ? 1.0f : -1.0f) * (p->bg[c] - (float)plane_at(plane, c, p->bgw));
            }
            double lift = dg_prep_select_kth(tmp, n_cells, (int)(PLANE_PAPER * (n_cells - 1)));
            lift = p->dark ? lift : -lift;
            for (int c = 0; c < n_cells; c++) {
                p->bg[c] = dg_clampf((float)(plane_at(plane, c, p->bgw) + lift), 0.0f, 255.0f);
            }
            return;
        }
    }
    float level = p->bg[0];
    for (int c = 1; c < n_cells; c++) {
        level = p->dark ? fmaxf(level, p->bg[c]) : fminf(level, p->bg[c]);
    }
    for (int c = 0; c < n_cells; c++) {
        p->bg[c] = level;
    }
}

/* From the cells' medians to the background: one level or a plane on small images
 * (global), else a closing (dark ink) or opening (light ink) that follows the lighting but
 * not the ink.
 * large and tmp are [bgh][bgw] scratch. */
static void follow_lighting(dg_prep *p, int global, float *large, float *tmp)
{
    int n_cells = p->bgw * p->bgh;
    /* Small images are crops of one digit, whose bold strokes may fill much of them: no
     * closing, but one level or a plane (small_image_background). */
    if (global) {
        small_image_background(p, tmp);
        return;
    }
    /* Cells all at one level (a drawing's canvas) stay at it: the filters below keep it,
     * and a mean of up to nine equal whole numbers is that number. */
    int one_level = 1;
    for (int c = 1; c < n_cells && one_level; c++) {
        one_level = p->bg[c] == p->bg[0];
    }
    if (one_level) {
        return;
    }
    /* A small closing follows shadows and vignetting; a large one survives bold strokes
     * that fill many cells. Where the small one sinks far towards the ink (below 60% of
     * the large one's brightness for dark ink, 40% of the way to white for light ink) it
     * has met such a stroke, not a shadow. */
    memcpy(large, p->bg, sizeof *large * (size_t)n_cells);
    extremum_filter_2d(p->bg, tmp, p->bgw, p->bgh, BG_RADIUS, p->dark);
    extremum_filter_2d(p->bg, tmp, p->bgw, p->bgh, BG_RADIUS, !p->dark);
    extremum_filter_2d(large, tmp, p->bgw, p->bgh, BG_RADIUS_BOLD, p->dark);
    extremum_filter_2d(large, tmp, p->bgw, p->bgh, BG_RADIUS_BOLD, !p->dark);
    for (int c = 0; c < n_cells; c++) {
        int leak =
            p->dark ? p->bg[c] < 0.6f * large[c] : p->bg[c] > large[c] + 0.4f * (255.0f - large[c]);
        p->bg[c] = leak ? large[c] : p->bg[c];
    }
    box_blur_3(p->bg, tmp, p->bgw, p->bgh);
}

/* Whether the cells' medians are one level within FLAT_RANGE, and no desk was found: a
 * drawing program's canvas or an evenly lit scan, where the stroke-scale background has
 * nothing to add. (Before follow_lighting, which may take a shadow over a band of cells
 * for a bold stroke and fill it.) */
static int flat_lighting(const dg_prep *p)
{
    float lo = p->bg[0], hi = p->bg[0];
    for (int c = 1; c < p->bgw * p->bgh; c++) {
        lo = fminf(lo, p->bg[c]);
        hi = fmaxf(hi, p->bg[c]);
    }
    return !p->desk && hi - lo < FLAT_RANGE;
}

/* The grid, the polarity (p->dark) and the background level of every cell (p->bg). */
dg_status dg_prep_background(dg_prep *p)
{
    int L = p->w > p->h ? p->w : p->h;
    p->bs = dg_ceil_div(L, BG_CELLS);
    p->bgw = dg_ceil_div(p->w, p->bs);
    p->bgh = dg_ceil_div(p->h, p->bs);
    int n_cells = p->bgw * p->bgh;
    int win = (2 * POLARITY_RADIUS + 1) * (2 * POLARITY_RADIUS + 1);
    dg_prep_bg_cells g = {.n = n_cells};
    g.sum = calloc((size_t)n_cells * 2, sizeof *g.sum);
    float *cell = malloc(sizeof(float) * (size_t)n_cells * 6 + sizeof(float) * (size_t)win);
    p->bg = malloc(sizeof *p->bg * (size_t)n_cells);
    if (!g.sum || !cell || !p->bg) {
        free(g.sum);
        free(cell);
        return dg_prep_nomem();
    }
    g.min_lo = cell;
    g.max_hi = cell + n_cells;
    g.mid = cell + 2 * n_cells;
    g.ref = cell + 3 * n_cells;
    g.tmp = cell + 4 * n_cells;
    g.count = cell + 5 * n_cells;
    g.window = cell + 6 * n_cells;
    int global = L <= BG_GLOBAL_SIDE;
    dg_status st = cell_stats(p, &g);
    if (st == DG_OK && !global) {
        st = dg_prep_find_desk(p, &g);
    }
    if (st != DG_OK) {
        free(g.sum);
        free(cell);
        return st;
    }
    st = polarity_refs(p, &g, global);
    if (st != DG_OK) {
        free(g.sum);
        free(cell);
        return st;
    }
    float ground, lit;
    p->dark = vote_dark(&g, &ground, &lit);
    /* a dim ground is a dark screen or board, or paper under a shadow over most of it;
     * a quarter of the page that is bright paper tells the second */
    bool shadowed = ground >= SHADOW_GROUND_MIN || (lit >= LIT_PAPER_MIN && lit >= 2.0f * ground);
    if (!global && !p->dark && shadowed && ground < 128.0f) {
        st = dg_prep_vote_strokes(p);
    }
    if (st == DG_OK) {
        st = cell_medians(p);
    }
    int flat = st == DG_OK && flat_lighting(p);
    if (st == DG_OK) {
        /* the polarity references are no longer needed */
        follow_lighting(p, global, g.ref, g.tmp);
    }
    free(g.sum);
    free(cell);
    if (st == DG_OK && !global && !flat) {
        p->followed = 1;
        st = dg_prep_follow_strokes(p);
    }
    return st;
}

/* Which pixels of row y lie in desk cells, into mask[w]; 0 when none do. */
static int desk_row(const dg_prep *p, int y, uint8_t *mask)
{
    const uint8_t *d = p->desk + (size_t)(y / p->ds) * p->dgw;
    int any = 0;
    for (int c = 0; c < p->dgw; c++) {
        any |= d[c];
    }
    if (!any) {
        return 0;
    }
    for (int c = 0; c < p->dgw; c++) {
        int x0 = c * p->ds, x1 = x0 + p->ds < p->w ? x0 + p->ds : p->w;
        memset(mask + x0, d[c], (size_t)(x1 - x0));
    }
    return 1;
}

/* The residuals of n pixels v against their background levels bg, rounded, into r. */
static inline void residual_row(int dark, const uint8_t *v, const float *bg, int16_t *r, int n)
{
    if (dark) {
        /* Light falls on ink and paper alike: dark ink is measured relative to the
         * paper's brightness, so strokes in a shadow keep their weight. */
        for (int x = 0; x < n; x++) {
            float b = bg[x];
            float d = (b - (float)v[x]) * 255.0f / (b > 24.0f ? b : 24.0f);
            d = d < -255.0f ? -255.0f : d > 255.0f ? 255.0f : d;
            r[x] = (int16_t)(d + 255.5f) - 255; /* rounded */
        }
    } else {
        for (int x = 0; x < n; x++) {
            float d = (float)v[x] - bg[x];
            d = d < -255.0f ? -255.0f : d > 255.0f ? 255.0f : d;
            r[x] = (int16_t)(d + 255.5f) - 255;
        }
    }
}

/* table[256]: the residual of every pixel value against the background level `level`. */
static void residual_table(int dark, float level, int16_t table[256])
{
    uint8_t values[256];
    float bg[256];
    for (int k = 0; k < 256; k++) {
        values[k] = (uint8_t)k;
        bg[k] = level;
    }
    residual_row(dark, values, bg, table, 256);
}

/* Residuals into p->ink (clamped to 0..255) and their histogram, -255..255.
 * Each row's background is interpolated linearly between the centres of background
 * cells, first down the grid (between two cell rows), then along the row, segment by
 * segment, so that the per-pixel loops are straight arithmetic the compiler vectorises;
 * the histogram is counted into four interleaved tables so that runs of equal values do
 * not wait on one counter. */
dg_status dg_prep_residuals(dg_prep *p, uint32_t hist[511])
{
    float *cells = malloc(sizeof *cells * (size_t)p->bgw);
    float *bgrow = malloc(sizeof *bgrow * (size_t)p->w);
    int16_t *rrow = malloc(sizeof *rrow * (size_t)p->w);
    uint32_t(*sub)[511] = calloc(4, sizeof *sub);
    uint8_t *deskrow = p->desk ? malloc((size_t)p->w) : NULL;
    if (!cells || !bgrow || !rrow || !sub || (p->desk && !deskrow)) {
        free(deskrow);
        free(cells);
        free(bgrow);
        free(rrow);
        free(sub);
        return dg_prep_nomem();
    }
    const uint8_t *plane = p->dark ? p->lo : p->hi;
    float half = 0.5f * (float)p->bs;
    int16_t table[256];
    float table_level = 0.0f;
    bool table_made = false;
    for (int y = 0; y < p->h; y++) {
        /* vertical interpolation between the two nearest cell rows */
        float t = ((float)y + 0.5f) / (float)p->bs - 0.5f;
        int c0 = t <= 0 ? 0 : (int)t;
        c0 = c0 > p->bgh - 1 ? p->bgh - 1 : c0;
        int c1 = c0 + 1 < p->bgh ? c0 + 1 : c0;
        float f = dg_clampf(t - (float)c0, 0.0f, 1.0f);
        const float *g0 = p->bg + (size_t)c0 * p->bgw, *g1 = p->bg + (size_t)c1 * p->bgw;
        for (int gx = 0; gx < p->bgw; gx++) {
            cells[gx] = g0[gx] + f * (g1[gx] - g0[gx]);
        }
        /* horizontal: flat before the first and after the last centre, linear between;
         * a row of equal cells is that level throughout (every slope is 0), and its
         * residuals depend on the pixel's value alone: looked up in a table made for that
         * level by the same arithmetic (a flat ground's rows share one) */
        int level = 1;
        for (int gx = 1; gx < p->bgw && level; gx++) {
            level = cells[gx] == cells[0];
        }
        const uint8_t *v = plane + (size_t)y * p->w;
        int w = p->w; /* not reread after each byte stored: the loops vectorise */
        uint8_t *out = p->ink->pixels + (size_t)y * p->w;
        if (level) {
            if (!table_made || table_level != cells[0]) {
                residual_table(p->dark, cells[0], table);
                table_level = cells[0];
                table_made = true;
            }
            for (int x0 = 0; x0 < w; x0 += 32) {
                /* blocks of 32 pixels of one value (blank paper) take one residual */
                int x1 = x0 + 32 < w ? x0 + 32 : w;
                unsigned differ = 0;
                for (int x = x0; x < x1; x++) {
                    differ |= (unsigned)(v[x] ^ v[x0]);
                }
                if (differ) {
                    for (int x = x0; x < x1; x++) {
                        rrow[x] = table[v[x]];
                    }
                    continue;
                }
                int16_t r0 = table[v[x0]];
                for (int x = x0; x < x1; x++) {
                    rrow[x] = r0;
                }
            }
        } else {
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
            residual_row(p->dark, v, bgrow, rrow, w);
        }
        for (int x = 0; x < w; x++) {
            int r = rrow[x];
            out[x] = (uint8_t)(r < 0 ? 0 : r);
        }
        if (p->page) {
            /* paper at 255 whatever the light, ink darker in either polarity */
            uint8_t *page = p->page->pixels + (size_t)y * w;
            for (int x = 0; x < w; x++) {
                int r = rrow[x];
                page[x] = (uint8_t)(r < 0 ? 255 : 255 - r);
            }
        }
        int x = 0;
        for (; x + 32 <= w; x += 32) {
            /* a block of paper exactly at the background level is one count */
            int any = 0;
            for (int k = x; k < x + 32; k++) {
                any |= rrow[k];
            }
            if (!any) {
                sub[0][255] += 32;
                continue;
            }
            for (int k = x; k < x + 32; k += 4) {
                sub[0][rrow[k] + 255]++;
                sub[1][rrow[k + 1] + 255]++;
                sub[2][rrow[k + 2] + 255]++;
                sub[3][rrow[k + 3] + 255]++;
            }
        }
        for (; x + 4 <= w; x += 4) {
            sub[0][rrow[x] + 255]++;
            sub[1][rrow[x + 1] + 255]++;
            sub[2][rrow[x + 2] + 255]++;
            sub[3][rrow[x + 3] + 255]++;
        }
        for (; x < w; x++) {
            sub[0][rrow[x] + 255]++;
        }
        if (p->desk && desk_row(p, y, deskrow)) {
            /* the desk: no ink, and taken back out of the page's levels */
            for (int k = 0; k < p->w; k++) {
                if (deskrow[k]) {
                    out[k] = 0;
                    sub[0][rrow[k] + 255]--;
                }
            }
        }
    }
    for (int i = 0; i < 511; i++) {
        hist[i] = sub[0][i] + sub[1][i] + sub[2][i] + sub[3][i];
    }

    free(deskrow);
    free(cells);
    free(bgrow);
    free(rrow);
    free(sub);
    return DG_OK;
}

/* For reporting: there is no one background level when the lighting varies. */
float dg_prep_background_median(const dg_prep *p)
{
    float level = 0;
    if (p->bg) {
        int n = p->bgw * p->bgh;
        float *tmp = malloc(sizeof *tmp * (size_t)n);
        if (tmp) {
            memcpy(tmp, p->bg, sizeof *tmp * (size_t)n);
            level = dg_prep_cells_median(tmp, n);
            free(tmp);
        }
    }
    return level;
}
