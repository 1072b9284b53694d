/*
 * ink_desk.c - the desk around a page that does not fill the photo, found for step 2 of the
 * ink map (ink_background.c) on the background's coarse grid, from the figures of its cells,
 * before the polarity vote. Layout: the grid is [bgh][bgw] row-major, x the column, y the
 * row; the desk's mask p->desk is [dgh][dgw], the same grid.
 *
 * A page that does not fill the photo: the desk around it (dg_prep_find_desk: darker than
 * the paper, or more coloured, as wood is) takes no part in the polarity vote or the levels
 * and holds no ink. Desk-like cells joined to the image's border are the desk when they
 * reach all four sides and leave a page of a quarter of the image or more, solid,
 * paper-like and with an edge (mark_desk); a shadow or a dark side of the page does not.
 * At the scale of strokes the desk's edge is followed further (ink_light.c).
 */
#include "vision/preprocess.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DESK_LIGHT_GAP  24.0f /* the paper this many levels brighter than the desk, */
#define DESK_COLOUR_GAP 24.0f /* ... or the desk this much more coloured than the paper */

/* Whether a cell joins a region, which it then belongs to: true once, when it joins. */
typedef bool (*join_fn)(void *ctx, int cell);

/* Grows a region of a [gh][gw] grid from the cells queue[0, tail) over their 4-neighbours
 * that join it, breadth first; queue has room for every cell. Returns the region's size. */
static int grow4(int gw, int gh, int32_t *queue, int tail, join_fn join, void *ctx)
{
    for (int head = 0; head < tail; head++) {
        int c = queue[head], x = c % gw, y = c / gw;
        const int nb[4][2] = {{x - 1, y}, {x + 1, y}, {x, y - 1}, {x, y + 1}};
        for (int k = 0; k < 4; k++) {
            int xx = nb[k][0], yy = nb[k][1], d = yy * gw + xx;
            if (xx >= 0 && yy >= 0 && xx < gw && yy < gh && join(ctx, d)) {
                queue[tail++] = d;
            }
        }
    }
    return tail;
}

/* only_the_page's regions: an unmarked cell not yet in one joins the region of `start`. */
typedef struct page_regions {
    const uint8_t *mark;
    int32_t *region; /* each unmarked cell's region: its first cell, -1 before */
    int start;
} page_regions;

static bool joins_page_region(void *ctx, int c)
{
    page_regions *r = ctx;
    if (r->mark[c] || r->region[c] >= 0) {
        return false;
    }
    r->region[c] = r->start;
    return true;
}

/* Leaves unmarked only the largest 4-connected region of unmarked cells of a [gh][gw]
 * mask, the page, without the one-cell spurs along its edge: the rest lies on the desk,
 * cells that a bright fleck of its grain or of noise kept out of it. queue is
 * [2 * gw * gh] scratch. */
static void only_the_page(uint8_t *mark, int gw, int gh, int32_t *queue)
{
    int n = gw * gh, best = -1, best_size = 0;
    page_regions r = {mark, queue + n, 0};
    int32_t *region = r.region;
    for (int start = 0; start < n; start++) {
        region[start] = -1;
    }
    for (int start = 0; start < n; start++) {
        r.start = start;
        if (!joins_page_region(&r, start)) {
            continue;
        }
        queue[0] = start;
        int tail = grow4(gw, gh, queue, 1, joins_page_region, &r);
        if (tail > best_size) {
            best_size = tail;
            best = start;
        }
    }
    for (int c = 0; c < n; c++) {
        mark[c] = mark[c] || region[c] != best;
    }
    /* flecks beside the page's edge: cells with one neighbour on the page, or none */
    for (int changed = 1; changed;) {
        changed = 0;
        for (int c = 0; c < n; c++) {
            int x = c % gw, y = c / gw;
            if (mark[c]) {
                continue;
            }
            int on_page = (x > 0 && !mark[c - 1]) + (x + 1 < gw && !mark[c + 1]) +
                          (y > 0 && !mark[c - gw]) + (y + 1 < gh && !mark[c + gw]);
            if (on_page < 2) {
                mark[c] = 1;
                changed = 1;
            }
        }
    }
}

/*
 * What tells the desk's cells from the page's: a level per cell (level, [n]) that the desk
 * holds below `cut` and the paper above it, the paper's typical level, and optionally the
 * cells' brightest pixels, which must also stay below bright_cut.
 */
typedef struct desk_cue {
    const float *level;
    float paper, cut;
    const float *bright; /* or NULL */
    float bright_cut;
} desk_cue;

static int desk_like(const desk_cue *q, int c)
{
    return q->level[c] < q->cut && (!q->bright || q->bright[c] < q->bright_cut);
}

/* mark_desk's region: a desk-like cell not yet marked joins it. */
typedef struct desk_region {
    uint8_t *mark;
    const desk_cue *q;
} desk_region;

static bool joins_desk(void *ctx, int c)
{
    desk_region *r = ctx;
    if (r->mark[c] || !desk_like(r->q, c)) {
        return false;
    }
    r->mark[c] = 1;
    return true;
}

/*
 * Marks the cells connected to the image's border through desk-like cells, when they reach
 * all four sides, so surround the page, and leave it at least a quarter of the image, solid
 * and paper-like, with an edge. A shadow or a dark side of the page reaches two or three
 * sides at most and stays paper, ink in it included. Sets p->desk and g->desk, or leaves
 * them NULL.
 */
static dg_status mark_desk(dg_prep *p, dg_prep_bg_cells *g, const desk_cue *q)
{
    int n = g->n, gw = p->bgw, gh = p->bgh;
    uint8_t *mark = calloc((size_t)n, 1);
    int32_t *queue = malloc(sizeof *queue * 2 * (size_t)n);
    if (!mark || !queue) {
        free(mark);
        free(queue);
        return dg_prep_nomem();
    }
    desk_region r = {mark, q};
    int tail = 0;
    for (int c = 0; c < n; c++) {
        int x = c % gw, y = c / gw;
        if ((x == 0 || y == 0 || x == gw - 1 || y == gh - 1) && joins_desk(&r, c)) {
            queue[tail++] = c;
        }
    }
    grow4(gw, gh, queue, tail, joins_desk, &r);
    only_the_page(mark, gw, gh, queue);
    free(queue);
    int sides = 0;
    for (int i = 0; i < gw; i++) {
        sides |= mark[i] ? 1 : 0;
        sides |= mark[(gh - 1) * gw + i] ? 2 : 0;
    }
    for (int i = 0; i < gh; i++) {
        sides |= mark[i * gw] ? 4 : 0;
        sides |= mark[i * gw + gw - 1] ? 8 : 0;
    }
    /* The page: a quarter of the image or more, solid (filling its box) and paper-like: not
     * the strokes of a big light digit on a dark ground, whose box is mostly ground and
     * whose loops hold dark cells. */
    int n_page = 0, n_paper = 0, x0 = gw, y0 = gh, x1 = -1, y1 = -1;
    for (int c = 0; c < n; c++) {
        if (!mark[c]) {
            int x = c % gw, y = c / gw;
            n_page++;
            n_paper += q->level[c] >= q->cut;
            x0 = x < x0 ? x : x0;
            x1 = x > x1 ? x : x1;
            y0 = y < y0 ? y : y0;
            y1 = y > y1 ? y : y1;
        }
    }
    int box = n_page ? (x1 - x0 + 1) * (y1 - y0 + 1) : 1;
    /* A page has an edge: two cells in from the desk it is paper. Light falling off
     * towards the border (vignetting) crosses the cut gradually instead. */
    int n_inner = 0, n_inner_paper = 0;
    for (int c = 0; c < n; c++) {
        int x = c % gw, y = c / gw;
        const int nb[4][2] = {{-1, 0}, {1, 0}, {0, -1}, {0, 1}};
        for (int k = 0; k < 4 && !mark[c]; k++) {
            int dx = nb[k][0], dy = nb[k][1], xx = x - dx, yy = y - dy;
            if (x + dx < 0 || y + dy < 0 || x + dx >= gw || y + dy >= gh ||
                !mark[(y + dy) * gw + x + dx] || xx < 0 || yy < 0 || xx >= gw || yy >= gh ||
                mark[yy * gw + xx]) {
                continue;
            }
            n_inner++;
            n_inner_paper += q->level[yy * gw + xx] >= q->cut + 0.6f * (q->paper - q->cut);
        }
    }
    if (sides != 15 || 4 * n_page < n || 100 * n_page < 85 * box || 10 * n_paper < 7 * n_page ||
        10 * n_inner_paper < 6 * n_inner) {
        free(mark);
        return DG_OK;
    }
    p->desk = mark;
    p->ds = p->bs;
    p->dgw = gw;
    p->dgh = gh;
    g->desk = mark;
    return DG_OK;
}

/* Of the cells' values v: the median along the grid's border (*border) and the value a
 * tenth of the cells reach or pass (*paper), in g->tmp. */
static void border_and_paper(dg_prep_bg_cells *g, int gw, int gh, const float *v, float *border,
                             float *paper)
{
    int n = g->n, n_border = 0;
    for (int c = 0; c < n; c++) {
        int x = c % gw, y = c / gw;
        if (x == 0 || y == 0 || x == gw - 1 || y == gh - 1) {
            g->tmp[n_border++] = v[c];
        }
    }
    *border = dg_prep_cells_median(g->tmp, n_border);
    memcpy(g->tmp, v, sizeof *g->tmp * (size_t)n);
    *paper = dg_prep_select_kth(g->tmp, n, n * 9 / 10);
}

/*
 * The desk around a page that does not fill the photo (mark_desk), told from the page by
 * either of two cues. Light: the cells' mean and brightest pixel well below the paper's
 * (the brightest compared with what the desk's and the paper's cells show, so that the
 * flecks of a wood grain or of noise do not stop it), when the paper is at least
 * DESK_LIGHT_GAP levels brighter than the border's cells. Colour: wood, a coloured table or
 * mat around white or grey paper, whatever their brightness (a grey page on a light wood
 * desk, or darker than it): the cells' mean colourfulness (maximum less minimum channel)
 * above the midpoint between the border's and the paper's (the least coloured tenth of the
 * cells, since the page is a quarter of the image or more), when the border is at least
 * DESK_COLOUR_GAP levels more coloured. A coloured pen's strokes cover too little of a
 * cell to reach it. The desk's pixels take no part in the polarity vote or the levels, and
 * hold no ink.
 */
dg_status dg_prep_find_desk(dg_prep *p, dg_prep_bg_cells *g)
{
    int n = g->n, gw = p->bgw, gh = p->bgh;
    if (gw < 8 || gh < 8) {
        return DG_OK;
    }
    float desk, paper;
    border_and_paper(g, gw, gh, g->mid, &desk, &paper);
    if (paper - desk >= DESK_LIGHT_GAP) {
        /* the same for the cells' brightest pixels, which the desk's grain and noise raise */
        float desk_bright, paper_bright;
        border_and_paper(g, gw, gh, g->max_hi, &desk_bright, &paper_bright);
        float t = 0.5f * (paper + desk);
        desk_cue light = {.level = g->mid,
                          .paper = paper,
                          .cut = t,
                          .bright = g->max_hi,
                          .bright_cut =
                              fmaxf(0.5f * (t + paper), 0.5f * (desk_bright + paper_bright))};
        dg_status st = mark_desk(p, g, &light);
        if (st != DG_OK || p->desk) {
            return st;
        }
    }
    /* colour: the level is minus the colourfulness, so that the desk lies below the cut */
    float *plain = malloc(sizeof *plain * (size_t)n);
    if (!plain) {
        return dg_prep_nomem();
    }
    for (int c = 0; c < n; c++) {
        plain[c] = -(float)((g->sum[2 * c + 1] - g->sum[2 * c]) / g->count[c]);
    }
    float desk_plain, paper_plain;
    border_and_paper(g, gw, gh, plain, &desk_plain, &paper_plain);
    dg_status st = DG_OK;
    if (paper_plain - desk_plain >= DESK_COLOUR_GAP) {
        desk_cue colour = {
            .level = plain, .paper = paper_plain, .cut = 0.5f * (desk_plain + paper_plain)};
        st = mark_desk(p, g, &colour);
    }
    free(plain);
    return st;
}
