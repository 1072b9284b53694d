/*
 * segment.c - splits a written number into its digits, left to right.
 *
 * The image becomes an ink map (dg_ink_map: ink high, background, lines and specks
 * removed; pictures over DG_SEGMENT_SIDE px a side pooled to about that, the boxes mapped
 * back to the image's pixels), thresholded. Connected components (8-connected) are found on
 * horizontal runs of ink with union-find, row by row, so memory grows with the runs, not the
 * pixels, and nothing recurses. Then, with H the height of the tallest substantial component,
 * groups of components that look like parts of one digit are merged, surest pair first:
 * sharing most of the narrower one's columns when one is short or lies inside the other (the
 * bar of a 5, the loop of a 9 drawn apart from its stem), stacked (a steep stroke broken in
 * two), both short side by side (a loop broken in two), or a piece under about half the
 * digits' height right beside a digit (a 9's loop beside its stem). The groups that are no
 * digit are dropped (segment_drop.c), and a group too wide for one digit is cut into
 * touching digits (segment_cut.c).
 * Each digit is a group of components and a column range; its pixels are recorded in an
 * owner map so that a digit can be converted to 28x28 without its touching neighbours.
 * Coordinates: x column, y row; boxes and runs use inclusive ends internally.
 */
#include "vision/segment.h"

#include <stdlib.h>
#include <string.h>

/* Of 255: a bit under half ink, so anti-aliased halos do not bridge neighbours but 1 px
 * lines (about half ink) survive. */
#define INK_THRESHOLD  96
#define MAX_COMPONENTS 1024 /* the largest are kept; more is noise the ink map let through */

static void work_free(seg_work *w)
{
    free(w->runs);
    free(w->parent);
    free(w->run_comp);
    free(w->comps);
}

void dg_segmentation_free(dg_segmentation *seg)
{
    if (!seg) {
        return;
    }
    dg_image_free(seg->ink);
    free(seg->owner);
    free(seg);
}

int dg_seg_find_root(int *parent, int i)
{
    while (parent[i] != i) {
        parent[i] = parent[parent[i]]; /* path halving */
        i = parent[i];
    }
    return i;
}

static void unite(int *parent, int a, int b)
{
    a = dg_seg_find_root(parent, a);
    b = dg_seg_find_root(parent, b);
    if (a != b) {
        /* the smaller index stays the root: labels then follow reading order */
        if (a < b) {
            parent[b] = a;
        } else {
            parent[a] = b;
        }
    }
}

static dg_status push_run(seg_work *w, int y, int x0, int x1)
{
    if (w->n_runs == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 1024;
        if (cap > (size_t)0x7fffffff) {
            return dg_fail(DG_ERR_TOO_LARGE, "segment: too many ink runs");
        }
        ink_run *runs = realloc(w->runs, cap * sizeof *runs);
        if (!runs) {
            return dg_fail(DG_ERR_NOMEM, "segment: no memory for %zu ink runs", cap);
        }
        w->runs = runs;
        w->cap = cap;
    }
    w->runs[w->n_runs++] = (ink_run){y, x0, x1};
    return DG_OK;
}

/* Runs of thresholded ink, row by row, joined to the touching runs of the row above. */
static dg_status find_runs(seg_work *w, const dg_image *ink)
{
    for (int y = 0; y < ink->h; y++) {
        const uint8_t *row = &ink->pixels[(size_t)y * (size_t)ink->w];
        for (int x = 0; x < ink->w;) {
            if (row[x] < INK_THRESHOLD) {
                x++;
                continue;
            }
            int x0 = x;
            while (x < ink->w && row[x] >= INK_THRESHOLD) {
                x++;
            }
            dg_status st = push_run(w, y, x0, x - 1);
            if (st != DG_OK) {
                return st;
            }
        }
    }
    w->parent = malloc((w->n_runs ? w->n_runs : 1) * sizeof *w->parent);
    if (!w->parent) {
        return dg_fail(DG_ERR_NOMEM, "segment: no memory for %zu ink runs", w->n_runs);
    }
    dg_seg_join_runs(w->runs, w->n_runs, w->parent);
    return DG_OK;
}

void dg_seg_join_runs(const ink_run *runs, size_t n, int *parent)
{
    for (size_t i = 0; i < n; i++) {
        parent[i] = (int)i;
    }
    /* runs are in row order: sweep each row against the previous one with two pointers;
     * 8-connectivity means runs touch when their columns overlap after widening by one */
    size_t a = 0; /* first run of the previous row */
    size_t b = 0; /* first run of the current row */
    while (b < n) {
        int y = runs[b].y;
        size_t e = b;
        while (e < n && runs[e].y == y) {
            e++;
        }
        if (b > 0 && runs[b - 1].y == y - 1) {
            size_t p = a;
            for (size_t c = b; c < e; c++) {
                while (p < b && runs[p].x1 < runs[c].x0 - 1) {
                    p++;
                }
                for (size_t q = p; q < b && runs[q].x0 <= runs[c].x1 + 1; q++) {
                    unite(parent, (int)q, (int)c);
                }
            }
        }
        a = b;
        b = e;
    }
}

static int by_area_desc(const void *pa, const void *pb)
{
    const comp *a = pa, *b = pb;
    return a->area < b->area ? 1 : a->area > b->area ? -1 : (a->x0 > b->x0) - (a->x0 < b->x0);
}

/* Components from the run forest; keeps the MAX_COMPONENTS largest of at least 3 pixels
 * (smaller ones are noise whatever the image size) and labels each run with its kept
 * component, or -1. */
static dg_status find_components(seg_work *w)
{
    size_t n = w->n_runs ? w->n_runs : 1;
    int *root_comp = malloc(n * sizeof *root_comp); /* run -> component number, for roots */
    int *renumber = malloc(n * sizeof *renumber);   /* component number -> kept index or -1 */
    w->run_comp = malloc(n * sizeof *w->run_comp);
    comp *all = calloc(n, sizeof *all);
    if (!root_comp || !renumber || !w->run_comp || !all) {
        free(root_comp);
        free(renumber);
        free(all);
        return dg_fail(DG_ERR_NOMEM, "segment: no memory for %zu ink runs", w->n_runs);
    }
    int n_roots = 0;
    for (size_t i = 0; i < w->n_runs; i++) {
        root_comp[i] = dg_seg_find_root(w->parent, (int)i) == (int)i ? n_roots++ : -1;
    }
    for (int c = 0; c < n_roots; c++) {
        all[c] = (comp){.x0 = -1, .group = c}; /* .group: the number, until sorted */
    }
    for (size_t i = 0; i < w->n_runs; i++) {
        const ink_run *r = &w->runs[i];
        comp *k = &all[root_comp[dg_seg_find_root(w->parent, (int)i)]];
        if (k->x0 < 0) {
            *k = (comp){.x0 = r->x0, .y0 = r->y, .x1 = r->x1, .y1 = r->y, .group = k->group};
        }
        k->x0 = imin(k->x0, r->x0);
        k->x1 = imax(k->x1, r->x1);
        k->y1 = r->y; /* runs come in row order */
        k->area += r->x1 - r->x0 + 1;
        const uint8_t *row = &w->ink_map->pixels[(size_t)r->y * (size_t)w->ink_map->w];
        for (int x = r->x0; x <= r->x1; x++) {
            k->ink += row[x];
        }
    }
    qsort(all, (size_t)n_roots, sizeof *all, by_area_desc);
    int keep = 0;
    while (keep < n_roots && keep < MAX_COMPONENTS && all[keep].area >= 3) {
        keep++;
    }
    for (int c = 0; c < n_roots; c++) {
        renumber[c] = -1;
    }
    for (int k = 0; k < keep; k++) {
        renumber[all[k].group] = k;
    }
    for (size_t i = 0; i < w->n_runs; i++) {
        w->run_comp[i] = renumber[root_comp[dg_seg_find_root(w->parent, (int)i)]];
    }
    free(root_comp);
    free(renumber);
    w->comps = all;
    w->n_comps = keep;
    return DG_OK;
}

static void group_box(seg_work *w)
{
    for (int g = 0; g < w->n_groups; g++) {
        w->groups[g].alive = false;
        w->groups[g].area = 0;
        w->groups[g].ink = 0;
    }
    for (int c = 0; c < w->n_comps; c++) {
        const comp *k = &w->comps[c];
        if (k->group < 0) {
            continue;
        }
        group *g = &w->groups[k->group];
        if (!g->alive) {
            g->alive = true;
            g->x0 = k->x0;
            g->x1 = k->x1;
            g->y0 = k->y0;
            g->y1 = k->y1;
        }
        g->x0 = k->x0 < g->x0 ? k->x0 : g->x0;
        g->x1 = k->x1 > g->x1 ? k->x1 : g->x1;
        g->y0 = k->y0 < g->y0 ? k->y0 : g->y0;
        g->y1 = k->y1 > g->y1 ? k->y1 : g->y1;
        g->area += k->area;
        g->ink += k->ink;
    }
}

/*
 * How surely two groups are parts of one digit, 0 when they are not. Two side-by-side
 * digits are both full height and share at most their slanted edges' columns, so parts of
 * one digit are either
 *  - sharing half of the narrower one's columns or more, close vertically (the bar of a 5,
 *    the loop of a 9 drawn apart from its stem, the two arcs of a thin 0 broken at its top
 *    and bottom): the more columns shared, the surer; or
 *  - stacked: sharing few rows, close in columns, together no wider than a digit (a steep
 *    stroke broken in two); less sure; or
 *  - both short, side by side and close, together no wider than a digit (the two arcs of
 *    a broken loop; two digits are never both that short); less sure; or
 *  - a short piece (under 55% of the digits' height: a 9's loop is about half of it)
 *    mostly within the rows of a digit right beside it (the end of a hook cut off, the
 *    loop of a 9 drawn apart from its stem); the least sure, the nearer the surer.
 */
static double same_digit(const group *a, const group *b, int height)
{
    int cols = imin(a->x1, b->x1) - imax(a->x0, b->x0) + 1; /* < 0: a gap */
    int rows = imin(a->y1, b->y1) - imax(a->y0, b->y0) + 1;
    int narrow = imin(group_width(a), group_width(b));
    int shorter = imin(group_height(a), group_height(b));
    int union_w = imax(a->x1, b->x1) - imin(a->x0, b->x0) + 1;
    if (-rows > height * 35 / 100) {
        return 0.0;
    }
    if (cols * 2 >= narrow) {
        return (double)cols / narrow;
    }
    if (rows * 4 < shorter && -cols < height / 10 && union_w * 10 < height * 8) {
        return 0.1;
    }
    int taller = imax(group_height(a), group_height(b));
    if (taller * 10 < height * 6 && -cols < height / 10 && union_w * 10 < height * 8) {
        return 0.05;
    }
    if (shorter * 100 < height * 55 && -cols <= height / 12 && rows * 10 >= shorter * 6 &&
        union_w * 10 < height * 9) {
        return 0.02 * (1.0 - (double)imax(0, -cols) / (height / 12 + 1));
    }
    return 0.0;
}

/* Merges the surest pair of groups until no pair looks like one digit. */
static void merge_groups(seg_work *w)
{
    for (;;) {
        group_box(w);
        int bi = -1, bj = -1;
        double best = 0.0;
        for (int i = 0; i < w->n_groups; i++) {
            for (int j = i + 1; j < w->n_groups; j++) {
                if (!w->groups[i].alive || !w->groups[j].alive) {
                    continue;
                }
                double s = same_digit(&w->groups[i], &w->groups[j], w->height);
                if (s > best) {
                    best = s;
                    bi = i;
                    bj = j;
                }
            }
        }
        if (bi < 0) {
            return;
        }
        for (int c = 0; c < w->n_comps; c++) {
            if (w->comps[c].group == bj) {
                w->comps[c].group = bi;
            }
        }
    }
}

/* Drops what is no digit (segment_drop.c), then makes the pieces (segment_cut.c): one per
 * group, or several for a group too wide for one digit of this number. */
static dg_status make_pieces(seg_work *w)
{
    dg_seg_drop_lines_along_the_frame(w);
    /* the digit height: the upper median over the groups holding a tenth of the largest's
     * ink or more, so specks and stray bars do not pull it down, leaving out dashes (half
     * again as wide as tall and under a quarter of the tallest of them: what a page's edge
     * across the photo leaves in pieces), never a digit's height however many they are */
    long largest = 0;
    for (int g = 0; g < w->n_groups; g++) {
        if (w->groups[g].alive) {
            largest = w->groups[g].area > largest ? w->groups[g].area : largest;
        }
    }
    int tallest = 0;
    for (int g = 0; g < w->n_groups; g++) {
        if (w->groups[g].alive && w->groups[g].area * 10 >= largest) {
            tallest = imax(tallest, group_height(&w->groups[g]));
        }
    }
    int heights[DG_SEG_MAX_GROUPS], n_h = 0;
    for (int g = 0; g < w->n_groups; g++) {
        const group *gr = &w->groups[g];
        int gh = group_height(gr);
        bool dash = 2 * group_width(gr) >= 3 * gh && 4 * gh < tallest;
        if (gr->alive && gr->area * 10 >= largest && !dash) {
            heights[n_h++] = gh;
        }
    }
    if (n_h == 0) {
        return DG_OK;
    }
    qsort(heights, (size_t)n_h, sizeof *heights, cmp_int);
    int h_digit = heights[n_h * 2 / 3];
    dg_seg_drop_unlike_digits(w, h_digit);
    return dg_seg_cut_groups(w, h_digit);
}

static int by_centre(const void *pa, const void *pb)
{
    const piece *a = pa, *b = pb;
    int ca = a->x0 + a->x1, cb = b->x0 + b->x1;
    return (ca > cb) - (ca < cb);
}

static dg_status segment_ink(seg_work *w, dg_segmentation *seg)
{
    w->ink_map = seg->ink;
    dg_status st = find_runs(w, seg->ink);
    if (st == DG_OK) {
        st = find_components(w);
    }
    if (st != DG_OK || w->n_comps == 0) {
        return st;
    }
    /* H: the tallest component among the substantial ones (a speck can be tall only if it is
     * a stroke, and the ink map already removed long lines) */
    long largest = w->comps[0].area;
    w->height = 1;
    for (int c = 0; c < w->n_comps; c++) {
        const comp *k = &w->comps[c];
        if (k->area * 20 >= largest) {
            w->height = imax(w->height, k->y1 - k->y0 + 1);
        }
    }
    /* groups start as one per component, the largest first; beyond DG_SEG_MAX_GROUPS
     * components the rest are too small to matter and are dropped */
    w->n_groups = imin(w->n_comps, DG_SEG_MAX_GROUPS);
    for (int c = 0; c < w->n_comps; c++) {
        w->comps[c].group = c < DG_SEG_MAX_GROUPS ? c : -1;
    }
    merge_groups(w);
    group_box(w);
    st = make_pieces(w);
    if (st != DG_OK) {
        return st;
    }
    qsort(w->pieces, (size_t)w->n_pieces, sizeof *w->pieces, by_centre);
    seg->n = w->n_pieces;
    for (int k = 0; k < w->n_pieces; k++) {
        const piece *p = &w->pieces[k];
        seg->boxes[k] = (dg_digit_box){p->x0, p->y0, p->x1 - p->x0 + 1, p->y1 - p->y0 + 1};
    }
    /* owner map: every run of a piece's group, clipped to the piece's columns */
    for (size_t i = 0; i < w->n_runs; i++) {
        int c = w->run_comp[i];
        if (c < 0 || w->comps[c].group < 0) {
            continue;
        }
        for (int k = 0; k < w->n_pieces; k++) {
            const piece *p = &w->pieces[k];
            if (p->group != w->comps[c].group) {
                continue;
            }
            int x0 = imax(w->runs[i].x0, p->c0), x1 = imin(w->runs[i].x1, p->c1);
            uint8_t *row = &seg->owner[(size_t)w->runs[i].y * (size_t)seg->ink->w];
            for (int x = x0; x <= x1; x++) {
                row[x] = (uint8_t)(k + 1);
            }
        }
    }
    return DG_OK;
}

dg_status dg_segment(const dg_image *img, dg_segmentation **out)
{
    return dg_segment_at(img, DG_SEGMENT_SIDE, out);
}

dg_status dg_segment_at(const dg_image *img, int side, dg_segmentation **out)
{
    *out = NULL;
    if (!img || !img->pixels || img->w < 1 || img->h < 1) {
        return dg_fail(DG_ERR_ARG, "segment: no image");
    }
    dg_segmentation *seg = calloc(1, sizeof *seg);
    if (!seg) {
        return dg_fail(DG_ERR_NOMEM, "segment: no memory");
    }
    int longer = img->w > img->h ? img->w : img->h;
    side = side > 0 ? side : longer;
    seg->scale = (longer + side - 1) / side;
    dg_preprocess_info info;
    dg_status st = dg_prep_ink_map(img, seg->scale, &seg->ink, &info);
    if (st != DG_OK) {
        dg_segmentation_free(seg);
        return st;
    }
    size_t n_px = (size_t)seg->ink->w * (size_t)seg->ink->h;
    seg->owner = calloc(n_px, 1);
    if (!seg->owner) {
        st = dg_fail(DG_ERR_NOMEM, "segment: no memory for a %dx%d owner map", seg->ink->w,
                     seg->ink->h);
        dg_segmentation_free(seg);
        return st;
    }
    if (info.status != DG_PREP_EMPTY) {
        seg_work w = {0};
        st = segment_ink(&w, seg);
        work_free(&w);
        if (st != DG_OK) {
            dg_segmentation_free(seg);
            return st;
        }
    }
    for (int k = 0; k < seg->n; k++) {
        dg_digit_box *b = &seg->boxes[k];
        b->x *= seg->scale;
        b->y *= seg->scale;
        b->w = imin(b->w * seg->scale, img->w - b->x);
        b->h = imin(b->h * seg->scale, img->h - b->y);
    }
    *out = seg;
    return DG_OK;
}

/* Digit k's box in the ink map's pixels: the image's box divided back, exactly, since
 * every ink-map pixel covers at least one image pixel. */
static dg_digit_box ink_box(const dg_segmentation *seg, int k)
{
    const dg_digit_box *b = &seg->boxes[k];
    int q = seg->scale;
    return (dg_digit_box){b->x / q, b->y / q, (b->w + q - 1) / q, (b->h + q - 1) / q};
}

/*
 * The mask of digit k inside its box: its own thresholded pixels, grown by up to two
 * pixels into faint ink nobody owns, which gives back the anti-aliased edges the
 * threshold cut off without taking ink from a neighbour.
 */
static void digit_mask(const dg_segmentation *seg, const dg_digit_box *b, int k, uint8_t *mask,
                       uint8_t *tmp)
{
    size_t stride = (size_t)seg->ink->w;
    for (int y = 0; y < b->h; y++) {
        size_t row = (size_t)(b->y + y) * stride + (size_t)b->x;
        for (int x = 0; x < b->w; x++) {
            mask[(size_t)y * (size_t)b->w + (size_t)x] = seg->owner[row + (size_t)x] == k + 1;
        }
    }
    for (int pass = 0; pass < 2; pass++) {
        memcpy(tmp, mask, (size_t)b->w * (size_t)b->h);
        for (int y = 0; y < b->h; y++) {
            for (int x = 0; x < b->w; x++) {
                size_t src = (size_t)(b->y + y) * stride + (size_t)(b->x + x);
                if (tmp[(size_t)y * (size_t)b->w + (size_t)x] || seg->owner[src] ||
                    !seg->ink->pixels[src]) {
                    continue;
                }
                bool near = false;
                for (int dy = -1; dy <= 1 && !near; dy++) {
                    for (int dx = -1; dx <= 1 && !near; dx++) {
                        int yy = y + dy, xx = x + dx;
                        near = yy >= 0 && yy < b->h && xx >= 0 && xx < b->w &&
                               tmp[(size_t)yy * (size_t)b->w + (size_t)xx];
                    }
                }
                mask[(size_t)y * (size_t)b->w + (size_t)x] = near;
            }
        }
    }
}

dg_status dg_segment_to_mnist(const dg_segmentation *seg, int k, uint8_t out[DG_MNIST_PIXELS])
{
    if (!seg || k < 0 || k >= seg->n) {
        return dg_fail(DG_ERR_ARG, "segment: no digit %d (found %d)", k, seg ? seg->n : 0);
    }
    dg_digit_box b = ink_box(seg, k);
    size_t n = (size_t)b.w * (size_t)b.h;
    uint8_t *mask = malloc(n), *tmp = malloc(n);
    if (!mask || !tmp) {
        free(mask);
        free(tmp);
        return dg_fail(DG_ERR_NOMEM, "segment: no memory for a %dx%d mask", b.w, b.h);
    }
    digit_mask(seg, &b, k, mask, tmp);
    dg_status st = dg_ink_mask_to_mnist(seg->ink, mask, b.x, b.y, b.w, b.h, out, NULL);
    free(mask);
    free(tmp);
    return st;
}

dg_digit_box dg_box_in_source(dg_digit_box b, const dg_image_source *source)
{
    int r = source->reduction;
    dg_digit_box out = {b.x * r, b.y * r, b.w * r, b.h * r};
    out.w = imin(out.w, source->w - out.x);
    out.h = imin(out.h, source->h - out.y);
    return out;
}
