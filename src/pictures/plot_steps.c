/*
 * plot_steps.c - a picture of what preprocessing decided (dg_prep_steps): the photo, the
 * page with its light divided out, the ink map, and the decisions, each pixel coloured by
 * what became of it, with a legend and the levels in one line.
 *
 * The panels show the working resolution: small pictures (a drawing pooled to 40 px)
 * enlarged by whole pixels, so each working pixel stays a crisp square; larger ones
 * shrunk to PANEL_SIDE. Shrinking the decisions keeps, of the working pixels under one
 * shown pixel, the one that matters most (the digit over what was dropped over the
 * paper), so a speck or a thin frame does not vanish. Panels stand in one row, or two rows
 * of two for a picture much wider than tall.
 */
#include "pictures/surface.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PANEL_SIDE  320 /* longer side of a panel, pixels */
#define PANEL_GAP   24
#define MARGIN      20
#define TITLE_H     22 /* a panel's title above it */
#define LEGEND_ROW  18
#define SWATCH      12
#define HATCH       6 /* period of the desk's stripes, pixels */
#define WIDE_ASPECT 1.3
#define LEGEND_W    340 /* a legend column */
#define DESK_STRIPE 0xa08660u
#define GROWN       0x80 /* a shown decision grown from its neighbour, which does not grow */

/* The colour of each decision (dg_prep_step); the paper is the page itself, lightened. */
static dg_color step_color(int step)
{
    static const dg_color dropped[DG_PREP_DROP_COUNT] = {
        0xe377c2u,  /* scattered dots: pink */
        WRONG,      /* across or along the border: red */
        0x8c564bu,  /* along the desk's edge: brown */
        VALIDATION, /* a frame around other ink: orange */
        0xc9a100u,  /* specks: gold */
    };
    switch (step) {
    case DG_STEP_DESK:
        return 0xd8c4a0u;
    case DG_STEP_DIGIT:
        return RIGHT;
    case DG_STEP_LEFT:
        return TRAIN;
    case DG_STEP_LINE:
        return 0x9467bdu; /* purple */
    case DG_STEP_FAINT:
        return 0xc4d0dcu; /* light: mostly grain, which is set to 0 */
    default:
        return step >= DG_STEP_DROPPED && step < DG_STEP_COUNT ? dropped[step - DG_STEP_DROPPED]
                                                               : WHITE;
    }
}

/* How much a decision matters when several share a shown pixel: higher wins. */
static int step_rank(int step)
{
    switch (step) {
    case DG_STEP_BACKGROUND:
        return 0;
    case DG_STEP_DESK:
        return 1;
    case DG_STEP_FAINT:
        return 2;
    case DG_STEP_LINE:
        return 3;
    case DG_STEP_LEFT:
        return 4;
    case DG_STEP_DIGIT:
        return 6;
    default:
        return 5; /* dropped */
    }
}

/* The working pixels [*x0, *x1) under shown pixel d of n shown for w working ones. */
static void source_span(int d, int n, int w, int *x0, int *x1)
{
    *x0 = (int)((int64_t)d * w / n);
    *x1 = (int)(((int64_t)(d + 1) * w + n - 1) / n);
    *x1 = *x1 > w ? w : (*x1 <= *x0 ? *x0 + 1 : *x1);
}

/* The decision shown at each of the dw x dh shown pixels, into code[dh][dw]: the one that
 * matters most among the working pixels under it; what was dropped then grown by one
 * shown pixel over the paper around it, so that a speck of one working pixel is seen. */
static void shown_decisions(const dg_prep_steps *s, int dw, int dh, uint8_t *code)
{
    int w = s->page->w, h = s->page->h;
    for (int dy = 0; dy < dh; dy++) {
        int y0, y1;
        source_span(dy, dh, h, &y0, &y1);
        for (int dx = 0; dx < dw; dx++) {
            int x0, x1;
            source_span(dx, dw, w, &x0, &x1);
            int best = DG_STEP_BACKGROUND, rank = -1;
            for (int y = y0; y < y1; y++) {
                const uint8_t *d = s->decision + (size_t)y * w;
                for (int x = x0; x < x1; x++) {
                    if (step_rank(d[x]) > rank) {
                        rank = step_rank(d[x]);
                        best = d[x];
                    }
                }
            }
            code[(size_t)dy * dw + dx] = (uint8_t)best;
        }
    }
    for (int dy = 0; dy < dh; dy++) {
        for (int dx = 0; dx < dw; dx++) {
            uint8_t *c = &code[(size_t)dy * dw + dx];
            if (*c != DG_STEP_BACKGROUND && *c != DG_STEP_FAINT) {
                continue;
            }
            for (int k = 0; k < 4; k++) {
                int x = dx + (k == 0) - (k == 1), y = dy + (k == 2) - (k == 3);
                if (x < 0 || y < 0 || x >= dw || y >= dh) {
                    continue;
                }
                uint8_t n = code[(size_t)y * dw + x];
                if (n >= DG_STEP_DROPPED && n < DG_STEP_COUNT) {
                    *c = (uint8_t)(GROWN | n);
                    break;
                }
            }
        }
    }
    for (size_t i = 0; i < (size_t)dw * dh; i++) {
        code[i] &= (uint8_t)~GROWN;
    }
}

/* The decisions over the page, dw x dh shown pixels at (ox, oy): the page's paper and ink
 * lightened to a light grey, the desk tinted and hatched, every other decision in its
 * colour. code[dh][dw] is scratch. */
static void draw_decisions(dg_image *c, int ox, int oy, int dw, int dh, const dg_prep_steps *s,
                           uint8_t *code)
{
    int w = s->page->w, h = s->page->h;
    shown_decisions(s, dw, dh, code);
    for (int dy = 0; dy < dh; dy++) {
        int y0, y1;
        source_span(dy, dh, h, &y0, &y1);
        for (int dx = 0; dx < dw; dx++) {
            int best = code[(size_t)dy * dw + dx];
            dg_color col;
            if (best == DG_STEP_BACKGROUND) {
                int x0, x1;
                source_span(dx, dw, w, &x0, &x1);
                unsigned sum = 0, n = 0;
                for (int y = y0; y < y1; y++) {
                    for (int x = x0; x < x1; x++) {
                        sum += s->page->pixels[(size_t)y * w + x];
                        n++;
                    }
                }
                unsigned g = 255u - (255u - sum / n) * 3u / 10u; /* light grey */
                col = (g << 16) | (g << 8) | g;
            } else if (best == DG_STEP_DESK) {
                col = (dx + dy) % HATCH < 2 ? DESK_STRIPE : step_color(DG_STEP_DESK);
            } else {
                col = step_color(best);
            }
            dg_draw_rect(c, ox + dx, oy + dy, 1, 1, col);
        }
    }
}

/* The ink map as dark ink on white. */
static dg_status ink_picture(const dg_image *ink, dg_image **out)
{
    dg_status st = dg_image_new(ink->w, ink->h, 1, out);
    if (st != DG_OK) {
        return st;
    }
    size_t n = (size_t)ink->w * ink->h;
    for (size_t i = 0; i < n; i++) {
        (*out)->pixels[i] = (uint8_t)(255 - ink->pixels[i]);
    }
    return DG_OK;
}

/* The summary line, as `--show` prints it. */
static void summary(const dg_prep_steps *s, char *text, size_t size)
{
    const dg_preprocess_info *in = &s->info;
    const char *what = in->status == DG_PREP_OK      ? "ink kept"
                       : in->status == DG_PREP_EMPTY ? "empty: no ink"
                                                     : "no digit";
    int n = snprintf(text, size, "%s; %s ink, background %.0f, contrast %.0f, noise %.1f", what,
                     in->inverted ? "dark" : "light", (double)in->background, (double)in->contrast,
                     (double)in->noise);
    if (n > 0 && (size_t)n < size) {
        snprintf(text + n, size - (size_t)n, "; light %s; %s",
                 in->light_followed ? "followed" : "smooth",
                 in->desk ? "desk left out" : "no desk");
    }
}

dg_status dg_chart_steps(const dg_image *img, const dg_prep_steps *s, dg_image **out)
{
    if (!out) {
        return dg_fail(DG_ERR_ARG, "steps picture: no output");
    }
    *out = NULL;
    if (!img || !s || !s->page || !s->ink || !s->decision || s->page->w != s->ink->w ||
        s->page->h != s->ink->h || s->page->channels != 1 || s->ink->channels != 1) {
        return dg_fail(DG_ERR_ARG, "steps picture: no image or incomplete steps");
    }
    int w = s->page->w, h = s->page->h, L = w > h ? w : h;
    /* shown size: whole-pixel enlargement up to PANEL_SIDE, else shrunk to it */
    int up = PANEL_SIDE / L;
    int dw = up >= 1 ? w * up : (int)((int64_t)w * PANEL_SIDE / L);
    int dh = up >= 1 ? h * up : (int)((int64_t)h * PANEL_SIDE / L);
    dw = dw < 1 ? 1 : dw;
    dh = dh < 1 ? 1 : dh;
    int cols = dw > WIDE_ASPECT * dh ? 2 : 4, rows = 4 / cols;
    int pw = dw > 200 ? dw : 200; /* room for the titles */
    /* the legend: which decisions the picture shows, and how many components each */
    int present[DG_STEP_COUNT] = {0};
    size_t n = (size_t)w * h;
    for (size_t i = 0; i < n; i++) {
        present[s->decision[i] < DG_STEP_COUNT ? s->decision[i] : 0] = 1;
    }
    int n_legend = 0;
    for (int k = 1; k < DG_STEP_COUNT; k++) {
        n_legend += present[k];
    }
    int width = 2 * MARGIN + cols * pw + (cols - 1) * PANEL_GAP;
    int min_w = 2 * MARGIN + 2 * LEGEND_W;
    width = width > min_w ? width : min_w;
    int legend_cols = (width - 2 * MARGIN) / LEGEND_W;
    int legend_rows = (n_legend + legend_cols - 1) / legend_cols;
    int top = MARGIN + 2 * DG_FONT_H + 14;
    int panels_h = rows * (TITLE_H + dh) + (rows - 1) * PANEL_GAP;
    int height = top + panels_h + 16 + legend_rows * LEGEND_ROW + MARGIN;
    dg_image *c = NULL;
    dg_status st = dg_canvas_new(width, height, WHITE, &c);
    dg_image *ink = NULL;
    if (st == DG_OK) {
        st = ink_picture(s->ink, &ink);
    }
    uint8_t *code = st == DG_OK ? malloc((size_t)dw * dh) : NULL; /* [dh][dw] */
    if (st == DG_OK && !code) {
        st = dg_fail(DG_ERR_NOMEM, "steps picture: out of memory");
    }
    if (st != DG_OK) {
        dg_image_free(ink);
        dg_image_free(c);
        return st;
    }
    char line[256];
    summary(s, line, sizeof line);
    dg_draw_text(c, MARGIN, MARGIN, "What preprocessing decided", 1, INK);
    dg_draw_text(c, MARGIN, MARGIN + DG_FONT_H + 4, line, 1, MUTED);
    char titles[4][96];
    snprintf(titles[0], sizeof titles[0], "photo (%dx%d)", img->w, img->h);
    snprintf(titles[1], sizeof titles[1], "page, light divided out");
    if (s->scale > 1) {
        snprintf(titles[2], sizeof titles[2], "ink map (%dx%d, 1/%d)", w, h, s->scale);
    } else {
        snprintf(titles[2], sizeof titles[2], "ink map (%dx%d)", w, h);
    }
    snprintf(titles[3], sizeof titles[3], "decisions");
    for (int k = 0; k < 4; k++) {
        int x = MARGIN + (k % cols) * (pw + PANEL_GAP);
        int y = top + (k / cols) * (TITLE_H + dh + PANEL_GAP);
        dg_draw_text(c, x, y, titles[k], 1, INK);
        y += TITLE_H;
        dg_draw_frame(c, x - 1, y - 1, dw + 2, dh + 2, 1, FAINT);
        if (k == 0) {
            dg_draw_image(c, x, y, dw, dh, img);
        } else if (k == 1) {
            dg_draw_image(c, x, y, dw, dh, s->page);
        } else if (k == 2) {
            dg_draw_image(c, x, y, dw, dh, ink);
        } else {
            draw_decisions(c, x, y, dw, dh, s, code);
        }
    }
    free(code);
    dg_image_free(ink);
    int ly = top + panels_h + 16, k_shown = 0;
    for (int k = 1; k < DG_STEP_COUNT; k++) {
        if (!present[k]) {
            continue;
        }
        int x = MARGIN + (k_shown % legend_cols) * LEGEND_W;
        int y = ly + (k_shown / legend_cols) * LEGEND_ROW;
        k_shown++;
        dg_draw_rect(c, x, y, SWATCH, SWATCH, step_color(k));
        if (k == DG_STEP_DESK) {
            for (int i = 0; i < SWATCH; i += HATCH) {
                dg_draw_line(c, x + i, y + SWATCH - 1, x + SWATCH - 1, y + i, 1, DESK_STRIPE);
            }
        }
        if (k >= DG_STEP_DROPPED) {
            snprintf(line, sizeof line, "dropped: %s (%d)", dg_prep_step_name(k),
                     s->info.dropped[k - DG_STEP_DROPPED]);
        } else if (k == DG_STEP_DIGIT) {
            snprintf(line, sizeof line, "the digit (%d component%s)", s->info.kept,
                     s->info.kept == 1 ? "" : "s");
        } else {
            snprintf(line, sizeof line, "%s", dg_prep_step_name(k));
        }
        dg_draw_text(c, x + SWATCH + 6, y, line, 1, INK);
    }
    *out = c;
    return DG_OK;
}

dg_status dg_plot_steps(const dg_image *img, const dg_prep_steps *s, const char *path)
{
    if (!path) {
        return dg_fail(DG_ERR_ARG, "steps picture: no path");
    }
    dg_image *c = NULL;
    dg_status st = dg_chart_steps(img, s, &c);
    if (st == DG_OK) {
        st = dg_image_save_png(path, c);
    }
    dg_image_free(c);
    return st;
}
