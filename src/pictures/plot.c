/*
 * plot.c - the charts: training curves, prediction grids, the confusion heat-map and the
 * view of one prediction; "nice" tick values.
 *
 * Each chart computes its layout in pixels first, then draws through a surface (surface.h)
 * so that the same code writes PNG or SVG. Sizes are fixed per element (tile, cell, panel)
 * rather than per page, so labels keep the same legible size whatever the data.
 * The font is 8x13 pixels per character at scale 1; titles use scale 2.
 */
#include "pictures/surface.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- scales and ticks */

int dg_nice_ticks(double lo, double hi, int target, double *ticks, int max)
{
    if (!ticks || max < 2 || !isfinite(lo) || !isfinite(hi) || hi < lo) {
        return 0;
    }
    if (target < 1) {
        target = 1;
    }
    if (hi == lo) {
        double pad = lo == 0.0 ? 1.0 : fabs(lo) * 0.1;
        lo -= pad;
        hi += pad;
    }
    double raw = (hi - lo) / target;
    if (!isfinite(raw) || raw <= 0.0) {
        return 0;
    }
    double mag = pow(10.0, floor(log10(raw)));
    static const double mult[] = {1, 2, 5, 10, 20, 50, 100};
    /* the smallest 1-2-5 step at least as large as wanted, coarser if max is too small */
    size_t m = 0;
    while (m + 1 < sizeof mult / sizeof mult[0] && mult[m] * mag < raw * (1 - 1e-9)) {
        m++;
    }
    for (; m < sizeof mult / sizeof mult[0]; m++) {
        double step = mult[m] * mag;
        double first = floor(lo / step + 1e-9), last = ceil(hi / step - 1e-9);
        double count = last - first + 1;
        if (!(count <= max) || !(step > 0.0)) {
            continue;
        }
        for (int i = 0; i < (int)count; i++) {
            double v = (first + i) * step;
            /* -0 and 1e-17 read badly as labels */
            ticks[i] = fabs(v) < step * 1e-9 ? 0.0 : v;
        }
        return (int)count;
    }
    return 0;
}

void dg_plot_area_map(const dg_plot_area *a, double x, double y, double *px, double *py)
{
    double xs = a->x1 != a->x0 ? (x - a->x0) / (a->x1 - a->x0) : 0.5;
    double ys = a->y1 != a->y0 ? (y - a->y0) / (a->y1 - a->y0) : 0.5;
    if (px) {
        *px = a->x + xs * a->w;
    }
    if (py) {
        *py = a->y + a->h - ys * a->h;
    }
}

/* Digits after the point that tick labels spaced by step need. */
static int tick_decimals(double step)
{
    int d = (int)ceil(-log10(step) - 1e-9);
    return d < 0 ? 0 : (d > 6 ? 6 : d);
}

/* Mixes two colours, t = 0 gives a, t = 1 gives b. */
static dg_color mix(dg_color a, dg_color b, double t)
{
    t = t < 0 ? 0 : (t > 1 ? 1 : t);
    dg_color out = 0;
    for (int shift = 16; shift >= 0; shift -= 8) {
        double ca = (a >> shift) & 255, cb = (b >> shift) & 255;
        out |= (dg_color)lround(ca + (cb - ca) * t) << shift;
    }
    return out;
}

/* Text drawn bottom to top (rotated a quarter turn anticlockwise), centred on (cx, cy). */
static void text_up(dg_surface *c, int cx, int cy, const char *text, int scale, dg_color color)
{
    int len = dg_text_width(text, scale);
    if (c->svg) {
        fprintf(c->svg, "<g transform=\"translate(%d %d) rotate(-90)\">\n", cx, cy);
        dg_surface_text(c, 0, -DG_FONT_H * scale / 2, text, scale, color, 0);
        fprintf(c->svg, "</g>\n");
        return;
    }
    /* font pixel (gx, gy) of the i-th character lands at x = left + gy, y = bottom - i*W - gx */
    int left = cx - DG_FONT_H * scale / 2, bottom = cy + len / 2;
    int i = 0;
    for (const unsigned char *s = (const unsigned char *)text; *s; s++, i++) {
        for (int gy = 0; gy < DG_FONT_H; gy++) {
            for (int gx = 0; gx < DG_FONT_W; gx++) {
                if (dg_font_pixel(*s, gx, gy)) {
                    dg_surface_rect(c, left + gy * scale, bottom - (i * DG_FONT_W + gx + 1) * scale,
                                    scale, scale, color);
                }
            }
        }
    }
}

/* ---------------------------------------------------------------- training curves */

#define HIST_W      1160
#define HIST_H      500
#define HIST_LEFT   92 /* room for tick labels and the rotated axis name */
#define HIST_RIGHT  28
#define HIST_TOP    92 /* title and legend */
#define HIST_BOTTOM 64 /* tick labels and "epoch" */
#define MAX_TICKS   64

/* The value a panel plots for row r: which = 0 loss, 1 accuracy (in %), val selects the
 * validation column. Returns false when absent. */
static int history_value(const dg_history_row *r, int which, int val, double *out)
{
    double v = which == 0 ? (val ? r->val_loss : r->loss) : (val ? r->val_accuracy : r->accuracy);
    if (!(v >= 0.0) || !isfinite(v)) {
        return 0;
    }
    *out = which == 0 ? v : v * 100.0;
    return 1;
}

static void draw_series(dg_surface *c, const dg_plot_area *a, const dg_history_row *rows, int n,
                        int which, int val, dg_color color)
{
    int have_prev = 0;
    double prev_x = 0, prev_y = 0;
    for (int i = 0; i < n; i++) {
        double v, px, py;
        if (!history_value(&rows[i], which, val, &v)) {
            have_prev = 0;
            continue;
        }
        dg_plot_area_map(a, rows[i].epoch, v, &px, &py);
        if (have_prev) {
            dg_surface_line(c, prev_x, prev_y, px, py, 2.5, color);
        }
        prev_x = px;
        prev_y = py;
        have_prev = 1;
    }
    /* markers show where the measurements are; on long runs they would only clutter */
    double radius = n <= 40 ? 4.0 : (n <= 100 ? 2.5 : 0.0);
    for (int i = 0; i < n && radius > 0; i++) {
        double v, px, py;
        if (history_value(&rows[i], which, val, &v)) {
            dg_plot_area_map(a, rows[i].epoch, v, &px, &py);
            dg_surface_disc(c, px, py, radius + 1.5, WHITE);
            dg_surface_disc(c, px, py, radius, color);
        }
    }
}

/* One legend entry at (x, y): a line with a marker and the text; returns the x after it. */
static int legend_entry(dg_surface *c, int x, int y, dg_color color, const char *text)
{
    dg_surface_line(c, x, y + 6, x + 26, y + 6, 2.5, color);
    dg_surface_disc(c, x + 13, y + 6, 4.0, color);
    dg_surface_text(c, x + 34, y, text, 1, INK, -1);
    return x + 34 + dg_text_width(text, 1) + 24;
}

static void history_panel(dg_surface *c, int px0, int pw, const dg_history_row *rows, int n,
                          int which, dg_plot_area *out)
{
    const char *title = which == 0 ? "Loss" : "Accuracy";
    const char *axis_name = which == 0 ? "loss (cross-entropy)" : "accuracy (%)";
    int have_val = 0;
    double lo = INFINITY, hi = -INFINITY;
    int emin = rows[0].epoch, emax = rows[0].epoch;
    for (int i = 0; i < n; i++) {
        double v;
        for (int val = 0; val < 2; val++) {
            if (history_value(&rows[i], which, val, &v)) {
                lo = fmin(lo, v);
                hi = fmax(hi, v);
                have_val |= val;
            }
        }
        emin = rows[i].epoch < emin ? rows[i].epoch : emin;
        emax = rows[i].epoch > emax ? rows[i].epoch : emax;
    }
    if (!(lo <= hi)) {
        lo = 0;
        hi = which == 0 ? 1 : 100;
    }
    if (which == 0) {
        lo = 0; /* losses are read against zero */
    } else if (hi - lo < 1.0) {
        /* one epoch, or a flat run: a few points around it, never above 100% */
        lo = hi - 5.0;
        hi = fmin(hi + 5.0, 100.0);
    }
    double yt[MAX_TICKS];
    int ny = dg_nice_ticks(lo, hi, 5, yt, MAX_TICKS);
    if (ny < 2) {
        yt[0] = lo;
        yt[1] = hi > lo ? hi : lo + 1;
        ny = 2;
    }
    dg_plot_area a;
    a.x = px0 + HIST_LEFT;
    a.y = HIST_TOP;
    a.w = pw - HIST_LEFT - HIST_RIGHT;
    a.h = HIST_H - HIST_TOP - HIST_BOTTOM;
    a.y0 = yt[0];
    a.y1 = yt[ny - 1];
    /* a little room left and right so that the first and last markers stay clear of the
     * axis; a single epoch is centred */
    double pad = emax > emin ? (emax - emin) * 0.04 : 1.0;
    a.x0 = emin - pad;
    a.x1 = emax + pad;
    *out = a;

    /* title, legend */
    dg_surface_text(c, a.x, 16, title, 2, INK, -1);
    char text[96];
    double last;
    int lx = a.x;
    if (history_value(&rows[n - 1], which, 0, &last)) {
        snprintf(text, sizeof text, which == 0 ? "training (last %.4f)" : "training (last %.2f%%)",
                 last);
    } else {
        snprintf(text, sizeof text, "training");
    }
    lx = legend_entry(c, lx, 56, TRAIN, text);
    if (have_val) {
        if (history_value(&rows[n - 1], which, 1, &last)) {
            snprintf(text, sizeof text,
                     which == 0 ? "validation (last %.4f)" : "validation (last %.2f%%)", last);
        } else {
            snprintf(text, sizeof text, "validation");
        }
        legend_entry(c, lx, 56, VALIDATION, text);
    }

    /* horizontal grid and y ticks */
    int dec = tick_decimals(yt[1] - yt[0]);
    for (int i = 0; i < ny; i++) {
        double py;
        dg_plot_area_map(&a, a.x0, yt[i], NULL, &py);
        int iy = (int)lround(py);
        if (i > 0) {
            dg_surface_line(c, a.x + 1, iy, a.x + a.w, iy, 1, GRID);
        }
        dg_surface_line(c, a.x - 6, iy, a.x - 1, iy, 1, AXIS);
        snprintf(text, sizeof text, "%.*f", dec, yt[i]);
        dg_surface_text(c, a.x - 10, iy - 6, text, 1, INK, 1);
    }
    /* x ticks on whole epochs only */
    double xt[MAX_TICKS];
    int nx = dg_nice_ticks(emin, emax, emax - emin < 10 ? (emax > emin ? emax - emin : 1) : 8, xt,
                           MAX_TICKS);
    for (int i = 0; i < nx; i++) {
        if (xt[i] != floor(xt[i]) || xt[i] < emin || xt[i] > emax) {
            continue;
        }
        double px;
        dg_plot_area_map(&a, xt[i], a.y0, &px, NULL);
        int ix = (int)lround(px);
        dg_surface_line(c, ix, a.y + a.h + 1, ix, a.y + a.h + 6, 1, AXIS);
        snprintf(text, sizeof text, "%.0f", xt[i]);
        dg_surface_text(c, ix, a.y + a.h + 12, text, 1, INK, 0);
    }
    dg_surface_text(c, a.x + a.w / 2, a.y + a.h + 36, "epoch", 1, MUTED, 0);
    text_up(c, px0 + 16, a.y + a.h / 2, axis_name, 1, MUTED);
    /* axes: left and bottom */
    dg_surface_rect(c, a.x - 1, a.y, 1, a.h + 1, AXIS);
    dg_surface_rect(c, a.x - 1, a.y + a.h, a.w + 2, 1, AXIS);

    if (have_val) {
        draw_series(c, &a, rows, n, which, 1, VALIDATION);
    }
    draw_series(c, &a, rows, n, which, 0, TRAIN);
}

static dg_status history_check(const dg_history_row *rows, int n)
{
    if (!rows || n < 1) {
        return dg_fail(DG_ERR_ARG, "history plot: no epochs");
    }
    return DG_OK;
}

static void history_draw(dg_surface *c, const dg_history_row *rows, int n, dg_plot_area panels[2])
{
    dg_plot_area a[2];
    history_panel(c, 0, HIST_W / 2, rows, n, 0, &a[0]);
    history_panel(c, HIST_W / 2, HIST_W / 2, rows, n, 1, &a[1]);
    dg_surface_rect(c, HIST_W / 2, 16, 1, HIST_H - 32, GRID);
    if (panels) {
        panels[0] = a[0];
        panels[1] = a[1];
    }
}

dg_status dg_chart_history(const dg_history_row *rows, int n, dg_image **out,
                           dg_plot_area panels[2])
{
    if (!out) {
        return dg_fail(DG_ERR_ARG, "history plot: no output");
    }
    *out = NULL;
    dg_status st = history_check(rows, n);
    dg_surface c;
    if (st != DG_OK || (st = dg_surface_start(&c, HIST_W, HIST_H, WHITE, NULL)) != DG_OK) {
        return st;
    }
    history_draw(&c, rows, n, panels);
    *out = dg_surface_take(&c);
    return DG_OK;
}

dg_status dg_plot_history(const dg_history_row *rows, int n, const char *path)
{
    dg_status st = history_check(rows, n);
    dg_surface c;
    if (st != DG_OK || (st = dg_surface_start(&c, HIST_W, HIST_H, WHITE, path)) != DG_OK) {
        return st;
    }
    history_draw(&c, rows, n, NULL);
    return dg_surface_finish(&c, path);
}

dg_status dg_plot_history_panel(const dg_history_row *rows, int n, int which, const char *path)
{
    dg_status st = history_check(rows, n);
    if (st == DG_OK && which != 0 && which != 1) {
        st = dg_fail(DG_ERR_ARG, "history plot: panel %d (want 0 loss or 1 accuracy)", which);
    }
    dg_surface c;
    if (st != DG_OK || (st = dg_surface_start(&c, HIST_W / 2, HIST_H, WHITE, path)) != DG_OK) {
        return st;
    }
    dg_plot_area a;
    history_panel(&c, 0, HIST_W / 2, rows, n, which, &a);
    return dg_surface_finish(&c, path);
}

/* ---------------------------------------------------------------- prediction grid */

#define TILE_SCALE 4 /* 28x28 shown as 112x112 */
#define TILE_PAD   12
#define TILE_W     (28 * TILE_SCALE + 2 * TILE_PAD)
#define TILE_H     (28 * TILE_SCALE + TILE_PAD + 8 + 2 * 16 + 6)
#define TILE_GAP   10
#define GRID_TOP   62

dg_status dg_plot_predictions(const uint8_t *images, const uint8_t *labels,
                              const uint8_t *predicted, const float *confidence, int n, int n_total,
                              int cols, const char *path)
{
    if (!images || !labels || !predicted || n < 1 || cols < 1) {
        return dg_fail(DG_ERR_ARG, "prediction grid: no images (n %d, cols %d)", n, cols);
    }
    if (n > 10000) {
        return dg_fail(DG_ERR_TOO_LARGE, "prediction grid: %d images, at most 10000", n);
    }
    cols = cols > n ? n : cols;
    int rows = (n + cols - 1) / cols;
    int wrong = 0;
    for (int i = 0; i < n; i++) {
        wrong += labels[i] != predicted[i];
    }
    n_total = n_total > n ? n_total : n;
    char title[160], sub[160], shown[32], total[32];
    dg_format_count((uint64_t)n, shown);
    dg_format_count((uint64_t)n_total, total);
    snprintf(title, sizeof title, "%d of %d right", n - wrong, n);
    if (wrong == n) {
        /* a gallery of mistakes: how many of all of them */
        if (n_total > n) {
            snprintf(title, sizeof title, "%s of %s mistakes", shown, total);
        } else {
            snprintf(title, sizeof title, "%s mistake%s", shown, n == 1 ? "" : "s");
        }
        snprintf(sub, sizeof sub, "true class, then the network's answer and its confidence");
    } else if (n_total > n) {
        snprintf(sub, sizeof sub, "%s of %s images; %d wrong%s", shown, total, wrong,
                 wrong ? ", framed in red" : "");
    } else if (wrong) {
        snprintf(sub, sizeof sub, "%d wrong, framed in red", wrong);
    } else {
        snprintf(sub, sizeof sub, "no mistakes");
    }
    int w = cols * (TILE_W + TILE_GAP) + TILE_GAP;
    int need = TILE_GAP + dg_text_width(title, 2) + 16 + dg_text_width(sub, 1) + TILE_GAP;
    w = w < need ? need : w;
    int h = GRID_TOP + rows * (TILE_H + TILE_GAP) + TILE_GAP;
    dg_surface c;
    dg_status st = dg_surface_start(&c, w, h, WHITE, path);
    if (st != DG_OK) {
        return st;
    }
    dg_surface_text(&c, TILE_GAP, 18, title, 2, INK, -1);
    dg_surface_text(&c, TILE_GAP + dg_text_width(title, 2) + 16, 28, sub, 1,
                    wrong == n ? MUTED : (wrong ? WRONG : RIGHT), -1);
    for (int i = 0; i < n; i++) {
        int tx = TILE_GAP + (i % cols) * (TILE_W + TILE_GAP);
        int ty = GRID_TOP + (i / cols) * (TILE_H + TILE_GAP);
        int bad = labels[i] != predicted[i];
        if (bad) {
            dg_surface_rect(&c, tx, ty, TILE_W, TILE_H, WRONG_BG);
            dg_surface_frame(&c, tx, ty, TILE_W, TILE_H, 4, WRONG);
        } else {
            dg_surface_frame(&c, tx, ty, TILE_W, TILE_H, 1, FAINT);
        }
        int ix = tx + TILE_PAD, iy = ty + TILE_PAD;
        dg_surface_grey(&c, ix, iy, images + (size_t)i * DG_MNIST_PIXELS, 28, 28, TILE_SCALE);
        dg_surface_frame(&c, ix - 1, iy - 1, 28 * TILE_SCALE + 2, 28 * TILE_SCALE + 2, 1, GRID);
        char line[64];
        int y1 = iy + 28 * TILE_SCALE + 8;
        snprintf(line, sizeof line, "true %u", (unsigned)labels[i]);
        dg_surface_text(&c, ix, y1, line, 1, INK, -1);
        if (confidence) {
            char pct[16];
            snprintf(line, sizeof line, "pred %u %s", (unsigned)predicted[i],
                     dg_format_percent(confidence[i], pct));
        } else {
            snprintf(line, sizeof line, "pred %u", (unsigned)predicted[i]);
        }
        dg_surface_text(&c, ix, y1 + 16, line, 1, bad ? WRONG : RIGHT, -1);
    }
    return dg_surface_finish(&c, path);
}

/* ---------------------------------------------------------------- confusion heat-map */

dg_status dg_plot_confusion(const dg_eval *ev, const char labels[][32], const char *path)
{
    if (!ev || ev->classes < 1 || ev->classes > DG_MAX_CLASSES) {
        return dg_fail(DG_ERR_ARG, "confusion plot: bad class count %d", ev ? ev->classes : 0);
    }
    int k = ev->classes;
    int cell = k <= 12 ? 60 : (k <= 30 ? 720 / k : 22); /* "100.00%" fits */
    char names[DG_MAX_CLASSES][12];
    int label_w = dg_text_width("precision", 1);
    int ls = 2; /* class names at scale 2 when every one fits its cell */
    for (int i = 0; i < k; i++) {
        if (labels && labels[i][0]) {
            snprintf(names[i], sizeof names[i], "%.11s", labels[i]);
        } else {
            snprintf(names[i], sizeof names[i], "%d", i);
        }
        if (dg_text_width(names[i], 2) > cell - 6) {
            ls = 1;
        }
    }
    for (int i = 0; i < k; i++) {
        int lw = dg_text_width(names[i], ls);
        label_w = lw > label_w ? lw : label_w;
    }
    uint64_t row_sum[DG_MAX_CLASSES] = {0}, col_sum[DG_MAX_CLASSES] = {0}, total = 0, right = 0;
    uint32_t max_off = 0;
    for (int i = 0; i < k; i++) {
        for (int j = 0; j < k; j++) {
            uint32_t v = ev->confusion[i][j];
            row_sum[i] += v;
            col_sum[j] += v;
            total += v;
            if (i == j) {
                right += v;
            } else if (v > max_off) {
                max_off = v;
            }
        }
    }
    /* recall and precision in %, -1 when the class never occurs / is never predicted */
    double recall[DG_MAX_CLASSES], precision[DG_MAX_CLASSES];
    int worst_r = -1, worst_p = -1;
    for (int i = 0; i < k; i++) {
        recall[i] = row_sum[i] ? 100.0 * ev->confusion[i][i] / (double)row_sum[i] : -1;
        precision[i] = col_sum[i] ? 100.0 * ev->confusion[i][i] / (double)col_sum[i] : -1;
        if (recall[i] >= 0 && (worst_r < 0 || recall[i] < recall[worst_r])) {
            worst_r = i;
        }
        if (precision[i] >= 0 && (worst_p < 0 || precision[i] < precision[worst_p])) {
            worst_p = i;
        }
    }

    const int margin = 24, title_h = 74, head_h = 52;
    int grid_x = margin + 30 + label_w + 10; /* rotated "true class", row labels */
    int grid_y = title_h + head_h;
    int side_w = dg_text_width("100.00%", 1); /* the widest recall */
    int w = grid_x + k * cell + 14 + side_w + margin;
    int h = grid_y + k * cell + 8 + cell / 2 + 16 + 52 + margin;
    char title[160], sub[200];
    snprintf(title, sizeof title, "Confusion matrix");
    char n_total[32], n_right[32], n_wrong[32], acc[16];
    snprintf(sub, sizeof sub, "%s images, %s right (%s), %s wrong", dg_format_count(total, n_total),
             dg_format_count(right, n_right),
             dg_format_accuracy(total ? (double)right / (double)total : 0.0, acc),
             dg_format_count(total - right, n_wrong));
    int tw = margin + dg_text_width(sub, 1) + margin;
    w = w < tw ? tw : w;
    w = w < 560 ? 560 : w;
    dg_surface c;
    dg_status st = dg_surface_start(&c, w, h, WHITE, path);
    if (st != DG_OK) {
        return st;
    }
    dg_surface_text(&c, margin, 14, title, 2, INK, -1);
    dg_surface_text(&c, margin, 46, sub, 1, MUTED, -1);
    dg_surface_text(&c, grid_x + k * cell / 2, title_h, "predicted class", 1, INK, 0);
    text_up(&c, margin + 8, grid_y + k * cell / 2, "true class", 1, INK);

    char text[32];
    for (int j = 0; j < k; j++) {
        dg_surface_text(&c, grid_x + j * cell + cell / 2, grid_y - 8 - 10 * ls, names[j], ls, INK,
                        0);
    }
    dg_surface_text(&c, grid_x + k * cell + 14, grid_y - 18, "recall", 1, INK, -1);
    for (int i = 0; i < k; i++) {
        int y = grid_y + i * cell;
        dg_surface_text(&c, grid_x - 10, y + cell / 2 - 11 * ls / 2, names[i], ls, INK, 1);
        for (int j = 0; j < k; j++) {
            int x = grid_x + j * cell;
            uint32_t v = ev->confusion[i][j];
            dg_color bg = WHITE, fg = FAINT;
            if (i == j && v > 0) {
                /* right answers: blue, stronger as the class's recall nears 100% */
                double t = row_sum[i] ? (double)v / (double)row_sum[i] : 0;
                bg = mix(0xdbe9f6u, CELL_BLUE, t);
                fg = t > 0.45 ? WHITE : INK;
            } else if (v > 0) {
                /* mistakes: red, the square root makes single mistakes visible next to
                 * the largest confusion */
                double t = sqrt((double)v / (double)max_off);
                bg = mix(0xfde0ddu, 0xb2182bu, t);
                fg = t > 0.6 ? WHITE : INK;
            }
            dg_surface_rect(&c, x, y, cell, cell, bg);
            dg_format_count(v, text);
            if (dg_text_width(text, 1) <= cell - 4) {
                dg_surface_text(&c, x + cell / 2, y + cell / 2 - 6, text, 1, fg, 0);
            }
        }
        if (recall[i] >= 0) {
            dg_format_accuracy(recall[i] / 100.0, text);
        } else {
            snprintf(text, sizeof text, "-");
        }
        dg_surface_text(&c, grid_x + k * cell + 14, y + cell / 2 - 6, text, 1,
                        i == worst_r ? WRONG : INK, -1);
    }
    /* cell borders */
    for (int i = 0; i <= k; i++) {
        dg_surface_rect(&c, grid_x, grid_y + i * cell, k * cell + 1, 1, GRID);
        dg_surface_rect(&c, grid_x + i * cell, grid_y, 1, k * cell + 1, GRID);
    }
    int py = grid_y + k * cell + 10;
    dg_surface_text(&c, grid_x - 10, py + 2, "precision", 1, INK, 1);
    for (int j = 0; j < k; j++) {
        if (precision[j] >= 0) {
            /* as the report's table writes it, where the cell is wide enough */
            dg_format_accuracy(precision[j] / 100.0, text);
            if (dg_text_width(text, 1) > cell) {
                snprintf(text, sizeof text, "%.0f%%", precision[j]);
            }
        } else {
            snprintf(text, sizeof text, "-");
        }
        if (dg_text_width(text, 1) <= cell) {
            dg_surface_text(&c, grid_x + j * cell + cell / 2, py + 2, text, 1,
                            j == worst_p ? WRONG : INK, 0);
        }
    }
    /* key */
    int ky = py + cell / 2 + 16;
    dg_surface_rect(&c, grid_x, ky, 16, 16, CELL_BLUE);
    int kx = grid_x + 24;
    dg_surface_text(&c, kx, ky + 2, "right", 1, INK, -1);
    kx += dg_text_width("right", 1) + 24;
    dg_surface_rect(&c, kx, ky, 16, 16, 0xb2182bu);
    dg_surface_text(&c, kx + 24, ky + 2, "wrong (darker: more)", 1, INK, -1);
    dg_surface_text(&c, grid_x, ky + 26, "lowest recall and precision in red", 1, MUTED, -1);
    return dg_surface_finish(&c, path);
}
