/*
 * ink_components.c - step 4 of the ink map (ink.c): once every pixel has its ink value,
 * what is digit-like. The work is done on a second grid of cells of one or a few pixels
 * (at most 256 along the longer side, so this stays cheap on photos), 8-connected over the
 * cells holding strong pixels. Long thin runs crossing the whole image are first peeled
 * off as ruling or grid lines: followed across with a little tilt, bridging where a stroke
 * crosses them (there the run is thick and stays); a component lying along a peeled line
 * (80% of its cells beside it) is what the line left and goes with it. Then dropped:
 * components mostly made of isolated strong pixels (dust, grain, pepper noise merged by
 * the cells); components touching the border and spanning 90% of it or covering a fifth
 * of the image (paper edges, the table around the sheet, frames) or lying along it, when
 * some interior component looks like a digit (not a speck beside the largest interior
 * one: a strip of desk along the border can outweigh a whole number written with a fine
 * pen) or when they hug their own box like a frame, and then what is left of such a strip
 * in the outer quarter on its side; frames drawn around other ink; specks
 * under 2% of the largest component left. Faint pixels survive within two pixels of kept
 * strong cells; everything else is set to 0 (dg_prep_assign_owners).
 */
#include "vision/preprocess.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define COMP_CELLS     256    /* component grid: at most this many cells along a side */
#define HALO_PX        2      /* faint pixels kept this close to strong ones */
#define SPECK_FRACTION 0.02   /* components smaller than this part of the largest go */
#define LINE_SHARE     80     /* percent of a component's cells beside a peeled line: remnant */
#define LINE_THIN      0.015f /* a line's runs: at most this part of the image across */

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* ---------------------------------------------------------------- 4. cells */

static dg_status alloc_cells(dg_prep *p)
{
    int L = p->w > p->h ? p->w : p->h;
    p->cs = dg_ceil_div(L, COMP_CELLS);
    p->cgw = dg_ceil_div(p->w, p->cs);
    p->cgh = dg_ceil_div(p->h, p->cs);
    size_t n = (size_t)p->cgw * (size_t)p->cgh;
    p->strong = malloc(n * sizeof *p->strong); /* strong, weak, on: set by classify */
    p->weak = malloc(n);
    p->on = malloc(n);
    p->gone = calloc(n, 1);
    p->label = malloc(n * sizeof *p->label);
    p->owner = malloc(n * sizeof *p->owner); /* set by dg_prep_assign_owners */
    if (!p->strong || !p->weak || !p->on || !p->gone || !p->label || !p->owner) {
        return dg_prep_nomem();
    }
    for (size_t i = 0; i < n; i++) {
        p->label[i] = -1;
    }
    return DG_OK;
}

/* Residuals to ink values (step 3 of ink.c), strong counts and faint flags per cell. A
 * row of cells at a time: the columns' counts over its rows first (loops along whole
 * rows), then each cell's over its columns. */
static dg_status classify(dg_prep *p)
{
    uint8_t lut[256];
    int strong_from = (int)floorf(p->t_high) + 1; /* r8 > t_high */
    for (int r = 0; r < 256; r++) {
        if ((float)r <= p->t_low) {
            lut[r] = 0;
        } else {
            float v = ((float)r - p->base) / p->contrast * 255.0f;
            lut[r] = (uint8_t)dg_clampf(v + 0.5f, 1.0f, 255.0f);
        }
    }
    p->strong_v = strong_from <= 255 ? lut[strong_from] : 256;
    /* in locals: a byte stored into the ink map may alias *p, which would be reread */
    int w = p->w, h = p->h, cs = p->cs, cgw = p->cgw;
    uint32_t *col_strong = malloc(sizeof *col_strong * (size_t)w);
    uint8_t *col_any = malloc((size_t)w);
    if (!col_strong || !col_any) {
        free(col_strong);
        free(col_any);
        return dg_prep_nomem();
    }
    for (int cy = 0; cy < p->cgh; cy++) {
        int y0 = cy * cs, y1 = y0 + cs < h ? y0 + cs : h;
        memset(col_strong, 0, sizeof *col_strong * (size_t)w);
        memset(col_any, 0, (size_t)w);
        for (int y = y0; y < y1; y++) {
            uint8_t *px = p->ink->pixels + (size_t)y * w;
            for (int x = 0; x < w; x++) {
                col_strong[x] += px[x] >= strong_from;
            }
            /* lut[0] is 0: the blocks of paper without ink are left as they are */
            int b = 0;
            for (; b + 32 <= w; b += 32) {
                unsigned any_ink = 0;
                for (int k = b; k < b + 32; k++) {
                    any_ink |= px[k];
                }
                for (int k = b; any_ink && k < b + 32; k++) {
                    px[k] = lut[px[k]];
                }
            }
            for (; b < w; b++) {
                px[b] = lut[px[b]];
            }
            for (int x = 0; x < w; x++) {
                col_any[x] |= px[x];
            }
        }
        uint32_t *strong = p->strong + (size_t)cy * cgw;
        uint8_t *weak = p->weak + (size_t)cy * cgw;
        if (cs == 1) { /* cells of one pixel: the columns are the cells */
            for (int x = 0; x < w; x++) {
                strong[x] = col_strong[x];
                weak[x] = col_any[x] != 0;
            }
            continue;
        }
        for (int cx = 0; cx < cgw; cx++) {
            int x0 = cx * cs, x1 = x0 + cs < w ? x0 + cs : w;
            uint32_t n_strong = 0;
            unsigned any = 0;
            for (int x = x0; x < x1; x++) {
                n_strong += col_strong[x];
                any |= col_any[x];
            }
            strong[cx] = n_strong;
            weak[cx] = any != 0;
        }
    }
    free(col_strong);
    free(col_any);
    const uint32_t *strong = p->strong;
    uint8_t *on = p->on;
    for (size_t c = 0, n = (size_t)p->cgw * p->cgh; c < n; c++) {
        on[c] = strong[c] > 0;
    }
    int *box = p->on_box;
    box[0] = cgw;
    box[1] = p->cgh;
    box[2] = box[3] = -1;
    for (int cy = 0; cy < p->cgh; cy++) {
        const uint8_t *row = on + (size_t)cy * cgw;
        const uint8_t *first = memchr(row, 1, (size_t)cgw);
        if (!first) {
            continue;
        }
        int last = (int)((const uint8_t *)memrchr(row, 1, (size_t)cgw) - row);
        box[0] = (int)(first - row) < box[0] ? (int)(first - row) : box[0];
        box[1] = cy < box[1] ? cy : box[1];
        box[2] = last > box[2] ? last : box[2];
        box[3] = cy;
    }
    return DG_OK;
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

/* The lines followed along one axis of the cell grid: cell (i, j), i along the line
 * (n_along cells), j across it (n_across), is on[i * s_along + j * s_across]. */
typedef struct line_set {
    int n_along, n_across;
    size_t s_along, s_across;
    int thin_max; /* widest run, cells, that may be part of a line */
    int gap_max;  /* most positions a line may be hidden for */
    line_piece *pieces;
    line_chain *chains;
    size_t cap, n_pieces; /* room in both arrays, pieces used */
    int n_chains;
    int *at;        /* [n_across] chain whose last run is centred at j, or -1 */
    int j_lo, j_hi; /* across, the cells outside j_lo..j_hi are all empty */
} line_set;

/* Room for one more piece, and for a new chain for each piece since `first`. */
static dg_status line_set_grow(line_set *ls, size_t first)
{
    if (ls->n_pieces < ls->cap && (size_t)ls->n_chains + (ls->n_pieces - first) < ls->cap) {
        return DG_OK;
    }
    line_piece *np = realloc(ls->pieces, 2 * ls->cap * sizeof *ls->pieces);
    if (np) {
        ls->pieces = np;
    }
    line_chain *nc = realloc(ls->chains, 2 * ls->cap * sizeof *ls->chains);
    if (nc) {
        ls->chains = nc;
    }
    if (!np || !nc) {
        return dg_prep_nomem();
    }
    ls->cap *= 2;
    return DG_OK;
}

/* The nearest chain that could continue with the run j0..j1 at position i (-1 for none),
 * and its distance in *best_d (3 for none). */
static int nearest_chain(const line_set *ls, int i, int j0, int j1, int *best_d)
{
    int centre = (j0 + j1) / 2, best = -1;
    *best_d = 3;
    for (int d = -3; d <= 3; d++) {
        int jj = centre + d;
        if (jj < 0 || jj >= ls->n_across || ls->at[jj] < 0) {
            continue;
        }
        const line_chain *ch = &ls->chains[ls->at[jj]];
        float dist = fabsf(ch->smooth - (float)(j0 + j1) * 0.5f);
        if (i - ch->last <= ls->gap_max && dist <= 2.5f && (int)dist < *best_d) {
            best = ls->at[jj];
            *best_d = (int)dist;
        }
    }
    return best;
}

/* The thin runs at position i, as pieces, each with the nearest chain that could take it. */
static dg_status find_pieces(const dg_prep *p, line_set *ls, int i)
{
    size_t first = ls->n_pieces;
    /* in locals: storing a piece must not make the loops reread them */
    const uint8_t *on = p->on + i * ls->s_along;
    size_t step = ls->s_across;
    int n = ls->j_hi + 1, j = ls->j_lo;
    while (j < n) {
        if (!on[j * step]) {
            j++;
            continue;
        }
        int j0 = j;
        while (j < n && on[j * step]) {
            j++;
        }
        if (j - j0 > ls->thin_max) {
            continue;
        }
        dg_status st = line_set_grow(ls, first);
        if (st != DG_OK) {
            return st;
        }
        int best_d;
        int best = nearest_chain(ls, i, j0, j - 1, &best_d);
        ls->pieces[ls->n_pieces++] = (line_piece){i, j0, j - 1, -1, best, best_d};
    }
    return DG_OK;
}

/* Gives the pieces of position i (from `first` on) to their chains, or starts new ones:
 * closest pieces first, so a speck beside a line does not take the line's chain. */
static void extend_chains(line_set *ls, int i, size_t first)
{
    line_chain *chains = ls->chains;
    for (int d = 0; d <= 3; d++) {
        for (size_t k = first; k < ls->n_pieces; k++) {
            line_piece *pc = &ls->pieces[k];
            if (pc->chain >= 0 || (pc->cand >= 0 ? pc->d : 3) != d) {
                continue;
            }
            float centre = (float)(pc->j0 + pc->j1) * 0.5f;
            int c = pc->cand;
            if (c < 0 || chains[c].last == i) {
                c = ls->n_chains++;
                chains[c] = (line_chain){i, i, 0, (int)centre, centre};
            } else {
                if (ls->at[chains[c].centre] == c) {
                    ls->at[chains[c].centre] = -1;
                }
                chains[c].smooth += 0.3f * (centre - chains[c].smooth);
            }
            chains[c].last = i;
            chains[c].centre = clampi((int)(chains[c].smooth + 0.5f), 0, ls->n_across - 1);
            chains[c].n_pieces++;
            ls->at[chains[c].centre] = c;
            pc->chain = c;
        }
    }
}

/* Clears, and marks gone, the runs of the chains that cross from border to border (within
 * a twentieth of the way) through at least half of the positions. */
static void clear_lines(dg_prep *p, const line_set *ls)
{
    int edge = ls->n_along / 20;
    for (size_t k = 0; k < ls->n_pieces; k++) {
        const line_piece *pc = &ls->pieces[k];
        const line_chain *ch = &ls->chains[pc->chain];
        if (ch->start <= edge && ch->last >= ls->n_along - 1 - edge &&
            2 * ch->n_pieces >= ls->n_along) {
            for (int j = pc->j0; j <= pc->j1; j++) {
                size_t c = pc->i * ls->s_along + j * ls->s_across;
                p->on[c] = 0;
                p->gone[c] = 1;
            }
        }
    }
}

/*
 * Peels ruling and grid lines running along one axis of the cell grid (see line_set).
 * A line is a chain of thin runs (at most thin_max cells across) from one border to the
 * other, each run within 2.5 cells of the chain's running centre, bridging up to
 * n_along / 5 positions where the line is hidden or crossed by a stroke. Its runs are cleared and
 * marked gone; where a stroke crosses, the run there is thick and stays.
 */
static dg_status peel_lines(dg_prep *p, int n_along, int n_across, size_t s_along, size_t s_across)
{
    if (n_along < 16 || n_across < 4) {
        return DG_OK;
    }
    /* A line runs from border to border, its first and last runs within a twentieth of the
     * way of each (clear_lines): without a cell that near both ends there is none. */
    int on_first = s_along == 1 ? p->on_box[0] : p->on_box[1];
    int on_last = s_along == 1 ? p->on_box[2] : p->on_box[3];
    if (on_first > n_along / 20 || on_last < n_along - 1 - n_along / 20) {
        return DG_OK;
    }
    int thin_max = (int)ceilf(LINE_THIN * (float)n_across);
    line_set ls = {
        .n_along = n_along,
        .n_across = n_across,
        .s_along = s_along,
        .s_across = s_across,
        .thin_max = thin_max < 2 ? 2 : thin_max,
        .gap_max = n_along / 5 > 3 ? n_along / 5 : 3,
        .cap = 1024,
    };
    ls.pieces = malloc(ls.cap * sizeof *ls.pieces);
    ls.chains = malloc(ls.cap * sizeof *ls.chains);
    ls.at = malloc((size_t)n_across * sizeof *ls.at);
    dg_status st = ls.pieces && ls.chains && ls.at ? DG_OK : dg_prep_nomem();
    for (int j = 0; j < n_across && st == DG_OK; j++) {
        ls.at[j] = -1;
    }
    /* which positions hold any cell at all: the others have no piece to find, and a
     * drawing leaves most of them empty */
    uint8_t *any = st == DG_OK ? calloc((size_t)n_along + (size_t)n_across, 1) : NULL;
    uint8_t *any_across = any ? any + n_along : NULL; /* and which across indices do */
    st = st == DG_OK && !any ? dg_prep_nomem() : st;
    for (int j = 0; j < n_across && st == DG_OK && s_along == 1; j++) {
        const uint8_t *on = p->on + j * s_across; /* a line of the grid: positions in a row */
        uint8_t acc = 0;
        for (int i = 0; i < n_along; i++) {
            any[i] |= on[i];
            acc |= on[i];
        }
        any_across[j] = acc;
    }
    for (int i = 0; i < n_along && st == DG_OK && s_along != 1; i++) {
        const uint8_t *on = p->on + i * s_along; /* positions are rows, read along */
        uint8_t acc = 0;
        for (size_t j = 0; j < (size_t)n_across; j++) {
            acc |= on[j * s_across];
            any_across[j] |= on[j * s_across];
        }
        any[i] = acc;
    }
    ls.j_lo = 0;
    ls.j_hi = n_across - 1;
    while (st == DG_OK && ls.j_lo < ls.j_hi && !any_across[ls.j_lo]) {
        ls.j_lo++;
    }
    while (st == DG_OK && ls.j_hi > ls.j_lo && !any_across[ls.j_hi]) {
        ls.j_hi--;
    }
    for (int i = 0; i < n_along && st == DG_OK; i++) {
        if (!any[i]) {
            continue;
        }
        size_t first = ls.n_pieces;
        st = find_pieces(p, &ls, i);
        if (st == DG_OK) {
            extend_chains(&ls, i, first);
        }
    }
    if (st == DG_OK) {
        clear_lines(p, &ls);
    }
    free(any);
    free(ls.pieces);
    free(ls.chains);
    free(ls.at);
    return st;
}

/* ---------------------------------------------------------------- components */

/* Labels the 8-connected strong cells from `start` as component id, breadth first through
 * queue (room for every cell), and measures its box, cells, area and centre. */
static void grow_component(dg_prep *p, size_t start, int id, int32_t *queue)
{
    int gw = p->cgw, gh = p->cgh;
    dg_prep_comp *c = &p->comps[id];
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
        c->n_edge[0] += x == 0;
        c->n_edge[1] += x == gw - 1;
        c->n_edge[2] += y == 0;
        c->n_edge[3] += y == gh - 1;
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

/* The box of every labelled cell, {x0, y0, x1, y1} inclusive (x1 < x0 when there is none):
 * the loops over the components' cells scan it alone, in the same order, since a drawing
 * leaves most of the grid without a component. */
static void labelled_box(const dg_prep *p, int box[4])
{
    box[0] = p->cgw;
    box[1] = p->cgh;
    box[2] = box[3] = -1;
    for (int i = 0; i < p->n_comps; i++) {
        const dg_prep_comp *c = &p->comps[i];
        box[0] = c->x0 < box[0] ? c->x0 : box[0];
        box[1] = c->y0 < box[1] ? c->y0 : box[1];
        box[2] = c->x1 > box[2] ? c->x1 : box[2];
        box[3] = c->y1 > box[3] ? c->y1 : box[3];
    }
}

/* Whether cell (x, y) lies near the edges of component c's own box. */
static int in_band(const dg_prep_comp *c, int x, int y)
{
    int bw = c->x1 - c->x0 + 1, bh = c->y1 - c->y0 + 1;
    int band = (int)ceilf(0.12f * (float)(bw < bh ? bw : bh));
    band = band < 1 ? 1 : band;
    return x - c->x0 < band || c->x1 - x < band || y - c->y0 < band || c->y1 - y < band;
}

/* Whether the strong pixel (x, y) has no strong 8-neighbour; row is its row. */
static int strong_alone(const dg_prep *p, const uint8_t *row, int x, int y)
{
    for (int dy = -1; dy <= 1; dy++) {
        if (y + dy < 0 || y + dy >= p->h) {
            continue;
        }
        const uint8_t *r2 = row + (ptrdiff_t)dy * p->w;
        for (int dx = -1; dx <= 1; dx++) {
            if ((dx || dy) && x + dx >= 0 && x + dx < p->w && r2[x + dx] >= p->strong_v) {
                return 0;
            }
        }
    }
    return 1;
}

/* The strong pixels of cell (cx, cy) with no strong neighbour: dust, grain, pepper noise. */
static uint64_t alone_pixels(const dg_prep *p, int cx, int cy)
{
    uint64_t n = 0;
    int x0 = cx * p->cs, x1 = x0 + p->cs < p->w ? x0 + p->cs : p->w;
    int y0 = cy * p->cs, y1 = y0 + p->cs < p->h ? y0 + p->cs : p->h;
    for (int y = y0; y < y1; y++) {
        const uint8_t *row = p->ink->pixels + (size_t)y * p->w;
        for (int x = x0; x < x1; x++) {
            if (row[x] >= p->strong_v) {
                n += (uint64_t)strong_alone(p, row, x, y);
            }
        }
    }
    return n;
}

/* Whether cell (cx, cy) lies within one desk cell of the desk. */
static int near_desk(const dg_prep *p, int cx, int cy)
{
    int dx = clampi((cx * p->cs + p->cs / 2) / p->ds, 0, p->dgw - 1);
    int dy = clampi((cy * p->cs + p->cs / 2) / p->ds, 0, p->dgh - 1);
    return dg_prep_near_set(p->desk, p->dgw, p->dgh, dx, dy);
}

/* Measures every component over its cells, in one pass over the labelled cells: those
 * near the edges of its own box (n_band), its strong pixels with no strong neighbour
 * (n_alone), its cells beside the desk (n_desk) and beside a peeled line (n_line). */
static void measure_components(dg_prep *p)
{
    int box[4];
    labelled_box(p, box);
    for (int cy = box[1]; cy <= box[3]; cy++) {
        for (int cx = box[0]; cx <= box[2]; cx++) {
            int id = p->label[cy * p->cgw + cx];
            if (id < 0) {
                continue;
            }
            dg_prep_comp *c = &p->comps[id];
            c->n_band += (uint32_t)in_band(c, cx, cy);
            c->n_alone += alone_pixels(p, cx, cy);
            c->n_desk += p->desk ? (uint32_t)near_desk(p, cx, cy) : 0;
            c->n_line += (uint32_t)dg_prep_near_set(p->gone, p->cgw, p->cgh, cx, cy);
        }
    }
}

/* A component lying along a peeled line (LINE_SHARE of its cells beside the line) is what
 * the line left where it runs thicker or wavers: it goes with the line. */
static void peel_line_remnants(dg_prep *p)
{
    for (int i = 0; i < p->n_comps; i++) {
        dg_prep_comp *c = &p->comps[i];
        if (100 * (uint64_t)c->n_line < LINE_SHARE * (uint64_t)c->n_cells) {
            continue;
        }
        c->peeled = 1; /* not kept: filter_components */
        for (int cy = c->y0; cy <= c->y1; cy++) {
            for (int cx = c->x0; cx <= c->x1; cx++) {
                size_t k = (size_t)cy * p->cgw + cx;
                if (p->label[k] == i) {
                    p->label[k] = -1;
                    p->on[k] = 0;
                    p->gone[k] = 1;
                }
            }
        }
    }
}

/* Finds the components of the strong cells left after peeling lines, and measures them. */
static dg_status label_components(dg_prep *p)
{
    size_t n = (size_t)p->cgw * p->cgh;
    int32_t *queue = malloc(n * sizeof *queue);
    size_t cap = 64;
    p->comps = malloc(cap * sizeof *p->comps);
    if (!queue || !p->comps) {
        free(queue);
        return dg_prep_nomem();
    }
    p->n_comps = 0;
    const uint8_t *on = p->on;
    /* from the first to the last cell of the box of the cells on, in the grid's order */
    const int *box = p->on_box;
    size_t first = (size_t)box[1] * p->cgw + (size_t)box[0];
    size_t end = box[2] < box[0] ? 0 : (size_t)box[3] * p->cgw + (size_t)box[2] + 1;
    for (size_t start = first; start < end; start++) {
        uint64_t eight;
        if (start + 8 <= n && (memcpy(&eight, on + start, 8), eight == 0)) {
            start += 7; /* eight cells without ink at once */
            continue;
        }
        if (!on[start] || p->label[start] >= 0) {
            continue;
        }
        if ((size_t)p->n_comps == cap) {
            dg_prep_comp *grown = realloc(p->comps, 2 * cap * sizeof *p->comps);
            if (!grown) {
                free(queue);
                return dg_prep_nomem();
            }
            p->comps = grown;
            cap *= 2;
        }
        grow_component(p, start, p->n_comps++, queue);
    }
    free(queue);
    measure_components(p);
    p->n_found = p->n_comps;
    return DG_OK;
}

static int touches_border(const dg_prep *p, const dg_prep_comp *c)
{
    return c->x0 == 0 || c->y0 == 0 || c->x1 == p->cgw - 1 || c->y1 == p->cgh - 1;
}

/* Paper edge, table, frame or line along the border. */
static int border_structure(const dg_prep *p, const dg_prep_comp *c)
{
    if (!touches_border(p, c)) {
        return 0;
    }
    int bw = c->x1 - c->x0 + 1, bh = c->y1 - c->y0 + 1;
    return 10 * bw >= 9 * p->cgw || 10 * bh >= 9 * p->cgh ||
           5 * (uint64_t)c->n_cells >= (uint64_t)p->cgw * p->cgh;
}

/* A piece lying along the image's border: at least as long along it as wide, and
 * touching it over half that length or more. What a photo shows there is the edge of the
 * page, a strip of desk (in pieces, where a tilted page's edge comes and goes), a finger;
 * a digit cut by the frame touches it with the ends of its strokes. */
static int along_border(const dg_prep_comp *c)
{
    uint64_t bw = (uint64_t)(c->x1 - c->x0 + 1), bh = (uint64_t)(c->y1 - c->y0 + 1);
    return (bh >= bw &&
            2 * (uint64_t)(c->n_edge[0] > c->n_edge[1] ? c->n_edge[0] : c->n_edge[1]) >= bh) ||
           (bw >= bh &&
            2 * (uint64_t)(c->n_edge[2] > c->n_edge[3] ? c->n_edge[2] : c->n_edge[3]) >= bw);
}

/* A sliver along the desk's edge: at least three times as long as wide, and most of its
 * cells beside the desk (the page's edge and the shadow it casts, the desk's grain). */
static int along_desk(const dg_prep_comp *c)
{
    uint64_t bw = (uint64_t)(c->x1 - c->x0 + 1), bh = (uint64_t)(c->y1 - c->y0 + 1);
    return (bh >= 3 * bw || bw >= 3 * bh) && 10 * (uint64_t)c->n_desk >= 6 * (uint64_t)c->n_cells;
}

/* Its cells hug the edges of its own box: a frame, a rectangle, a line. */
static int ring_like(const dg_prep_comp *c)
{
    int bw = c->x1 - c->x0 + 1, bh = c->y1 - c->y0 + 1;
    return bw >= 8 && bh >= 8 && 10 * (uint64_t)c->n_band >= 9 * (uint64_t)c->n_cells &&
           (uint64_t)c->n_cells * 3 < (uint64_t)bw * bh;
}

/* The sides of the image, 0 left, 1 right, 2 top, 3 bottom, as border_side and
 * left_of_strip name them: c's extent across side s (its columns for the left and right
 * sides, its rows for the top and bottom), and whether c is at least as long along s as
 * across (or three times, a sliver), touches s, or lies in the outer quarter on s. */
static void across(const dg_prep_comp *c, int s, int *lo, int *hi)
{
    *lo = s < 2 ? c->x0 : c->y0;
    *hi = s < 2 ? c->x1 : c->y1;
}

static int along_times(const dg_prep_comp *c, int s, int k)
{
    int bw = c->x1 - c->x0 + 1, bh = c->y1 - c->y0 + 1;
    return s < 2 ? bh >= k * bw : bw >= k * bh;
}

static int touches_side(const dg_prep *p, const dg_prep_comp *c, int s)
{
    return s == 0   ? c->x0 == 0
           : s == 1 ? c->x1 == p->cgw - 1
           : s == 2 ? c->y0 == 0
                    : c->y1 == p->cgh - 1;
}

static int in_outer_quarter(const dg_prep *p, const dg_prep_comp *c, int s)
{
    return s == 0   ? 4 * c->x1 < p->cgw
           : s == 1 ? 4 * c->x0 > 3 * p->cgw
           : s == 2 ? 4 * c->y1 < p->cgh
                    : 4 * c->y0 > 3 * p->cgh;
}

/* Which side of the image a piece dropped along the border lies on, or -1: at least as
 * long along that side as across, and touching it, or a sliver in its outer quarter (a
 * piece of an edge dropped with the strip). */
static int border_side(const dg_prep *p, const dg_prep_comp *d)
{
    for (int s = 0; s < 4; s++) {
        if (along_times(d, s, 1) &&
            (touches_side(p, d, s) || (along_times(d, s, 3) && in_outer_quarter(p, d, s)))) {
            return s;
        }
    }
    return -1;
}

/* What is left of a strip of desk whose piece d was dropped along the border on side s
 * (border_side): a sliver over the same columns (or rows), or a piece lying within them,
 * in the outer quarter of the image on that side. That is the edge of a wedge or strip of
 * desk where it narrows and no longer touches the border (a keystone photo of a page, its
 * corners short of the frame), or a bit of the strip the light divided out left apart. */
static int left_of_strip(const dg_prep *p, const dg_prep_comp *c, const dg_prep_comp *d, int s)
{
    int lo, hi, d_lo, d_hi;
    across(c, s, &lo, &hi);
    across(d, s, &d_lo, &d_hi);
    return in_outer_quarter(p, c, s) &&
           ((along_times(c, s, 3) && lo <= d_hi + 1 && hi >= d_lo - 1) ||
            (lo >= d_lo && hi <= d_hi));
}

/* Drops what is left of the strips dropped along the border (left_of_strip), each piece
 * dropped in turn able to carry the strip on, for STRIP_ROUNDS rounds at most; at most
 * STRIP_PIECES pieces along the border are followed. */
#define STRIP_PIECES 64
#define STRIP_ROUNDS 4

static void drop_rest_of_strips(dg_prep *p)
{
    int piece[STRIP_PIECES], side[STRIP_PIECES], n = 0;
    for (int j = 0; j < p->n_comps && n < STRIP_PIECES; j++) {
        const dg_prep_comp *d = &p->comps[j];
        int s = d->keep || d->why != DG_PREP_DROP_BORDER ? -1 : border_side(p, d);
        if (s >= 0) {
            piece[n] = j;
            side[n++] = s;
        }
    }
    for (int round = 0, changed = n > 0; round < STRIP_ROUNDS && changed; round++) {
        changed = 0;
        for (int i = 0; i < p->n_comps; i++) {
            dg_prep_comp *c = &p->comps[i];
            for (int k = 0; c->keep && k < n; k++) {
                if (left_of_strip(p, c, &p->comps[piece[k]], side[k])) {
                    c->keep = 0;
                    c->why = DG_PREP_DROP_BORDER;
                    changed = 1;
                    int s = border_side(p, c);
                    if (s >= 0 && n < STRIP_PIECES) {
                        piece[n] = i;
                        side[n++] = s;
                    }
                }
            }
        }
    }
}

static int box_inside(const dg_prep_comp *in, const dg_prep_comp *out)
{
    return in->x0 > out->x0 && in->x1 < out->x1 && in->y0 > out->y0 && in->y1 < out->y1;
}

/* Keeps the components that may be digits (see the file comment). */
static void filter_components(dg_prep *p)
{
    peel_line_remnants(p);
    uint64_t largest = 0;
    for (int i = 0; i < p->n_comps; i++) {
        dg_prep_comp *c = &p->comps[i];
        /* made of scattered dots (cells merge nearby dust into one component) */
        c->keep = !c->peeled && 10 * c->n_alone < 3 * c->area;
        c->why = DG_PREP_DROP_NOISE;
        if (c->keep && c->area > largest) {
            largest = c->area;
        }
    }
    /* interior components that look like digits: not specks beside the largest of them
     * (a strip of desk along the border can outweigh a whole faint number), not slivers */
    uint64_t largest_inside = 0;
    for (int i = 0; i < p->n_comps; i++) {
        const dg_prep_comp *c = &p->comps[i];
        if (c->keep && !border_structure(p, c) && !ring_like(c) && !along_border(c) &&
            !along_desk(c) && c->area > largest_inside) {
            largest_inside = c->area;
        }
    }
    int min_side = p->cgw < p->cgh ? p->cgw : p->cgh;
    int digit_inside = 0;
    for (int i = 0; i < p->n_comps; i++) {
        const dg_prep_comp *c = &p->comps[i];
        int side = c->x1 - c->x0 > c->y1 - c->y0 ? c->x1 - c->x0 + 1 : c->y1 - c->y0 + 1;
        if (c->keep && !border_structure(p, c) && !ring_like(c) && !along_border(c) &&
            !along_desk(c) && (double)c->area >= SPECK_FRACTION * (double)largest_inside &&
            25 * side >= min_side) {
            digit_inside = 1;
        }
    }
    for (int i = 0; i < p->n_comps; i++) {
        dg_prep_comp *c = &p->comps[i];
        if (c->keep && (border_structure(p, c) || along_border(c) || along_desk(c)) &&
            (digit_inside || ring_like(c))) {
            c->keep = 0;
            c->why =
                along_desk(c) && !border_structure(p, c) ? DG_PREP_DROP_DESK : DG_PREP_DROP_BORDER;
        }
    }
    /* the rest of a strip of desk dropped along the border */
    if (digit_inside) {
        drop_rest_of_strips(p);
    }
    /* frames drawn around other ink */
    for (int i = 0; i < p->n_comps; i++) {
        dg_prep_comp *c = &p->comps[i];
        if (!c->keep || !ring_like(c)) {
            continue;
        }
        for (int j = 0; j < p->n_comps; j++) {
            const dg_prep_comp *d = &p->comps[j];
            if (j != i && d->keep && box_inside(d, c) && 10 * d->area >= c->area / 10) {
                c->keep = 0;
                c->why = DG_PREP_DROP_FRAME;
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
        dg_prep_comp *c = &p->comps[i];
        if (c->keep && (double)c->area < SPECK_FRACTION * (double)largest) {
            c->keep = 0;
            c->why = DG_PREP_DROP_SPECK;
        }
    }
}

dg_status dg_prep_find_components(dg_prep *p)
{
    dg_status st = alloc_cells(p);
    if (st != DG_OK) {
        return st;
    }
    st = classify(p);
    if (st == DG_OK) {
        st = peel_lines(p, p->cgw, p->cgh, 1, (size_t)p->cgw);
    }
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
    return DG_OK;
}

/* Gives the cells of kept components, and the faint cells around them, their owner; and
 * sets to 0 the pixels of every other cell. keep[i] says which components count. */
void dg_prep_assign_owners(dg_prep *p, const int *keep)
{
    /* in locals: the stores into owner[] and the ink map must not make them be reread */
    int gw = p->cgw, gh = p->cgh, cs = p->cs, w = p->w, h = p->h;
    int halo = dg_ceil_div(HALO_PX, cs);
    size_t n = (size_t)gw * gh;
    const int32_t *label = p->label;
    const uint8_t *weak = p->weak, *gone = p->gone;
    int32_t *owner = p->owner;
    for (size_t c = 0; c < n; c++) {
        owner[c] = -1;
    }
    int box[4], *owned = p->owned;
    labelled_box(p, box);
    owned[0] = gw;
    owned[1] = gh;
    owned[2] = owned[3] = -1;
    for (int y = box[1]; y <= box[3]; y++) {
        for (int x = box[0]; x <= box[2]; x++) {
            int id = label[y * gw + x];
            if (id >= 0 && keep[id]) {
                owner[y * gw + x] = id;
            }
        }
    }
    for (int y = box[1]; y <= box[3]; y++) {
        for (int x = box[0]; x <= box[2]; x++) {
            int id = label[y * gw + x];
            if (id < 0 || !keep[id]) {
                continue;
            }
            int ya = y - halo > 0 ? y - halo : 0, yb = y + halo < gh ? y + halo : gh - 1;
            int xa = x - halo > 0 ? x - halo : 0, xb = x + halo < gw ? x + halo : gw - 1;
            for (int yy = ya; yy <= yb; yy++) {
                for (int xx = xa; xx <= xb; xx++) {
                    size_t c = (size_t)yy * gw + xx;
                    if (owner[c] < 0 && label[c] < 0 && weak[c] && !gone[c]) {
                        owner[c] = id;
                    }
                }
            }
        }
    }
    /* the box of the owned cells: the kept ones and the faint ones given to them, all
     * within the halo of the labelled box */
    int ya = box[1] - halo > 0 ? box[1] - halo : 0,
        yb = box[3] + halo < gh ? box[3] + halo : gh - 1;
    int xa = box[0] - halo > 0 ? box[0] - halo : 0,
        xb = box[2] + halo < gw ? box[2] + halo : gw - 1;
    for (int yy = ya; box[2] >= box[0] && yy <= yb; yy++) {
        for (int xx = xa; xx <= xb; xx++) {
            if (owner[(size_t)yy * gw + xx] >= 0) {
                owned[0] = xx < owned[0] ? xx : owned[0];
                owned[1] = yy < owned[1] ? yy : owned[1];
                owned[2] = xx > owned[2] ? xx : owned[2];
                owned[3] = yy;
            }
        }
    }
    uint8_t *ink = p->ink->pixels;
    if (cs == 1) { /* cells of one pixel */
        for (size_t c = 0; c < n; c++) {
            ink[c] = owner[c] < 0 && weak[c] ? 0 : ink[c];
        }
        return;
    }
    for (int cy = 0; cy < gh; cy++) {
        for (int cx = 0; cx < gw; cx++) {
            size_t c = (size_t)cy * gw + cx;
            if (owner[c] >= 0 || !weak[c]) {
                continue;
            }
            int x0 = cx * cs, x1 = x0 + cs < w ? x0 + cs : w;
            int y0 = cy * cs, y1 = y0 + cs < h ? y0 + cs : h;
            for (int y = y0; y < y1; y++) {
                memset(ink + (size_t)y * w + x0, 0, (size_t)(x1 - x0));
            }
        }
    }
}
