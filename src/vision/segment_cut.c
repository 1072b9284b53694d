/*
 * segment_cut.c - the pieces that become the digits of a written number, made from the
 * groups that segment.c merged and segment_drop.c kept: one per group, or several for a
 * group of touching digits, cut apart.
 *
 * A group too wide for one digit (touching digits: wider than 1.45 typical digit widths of
 * this number, or as wide as tall) is cut into the number of pieces near width / typical
 * width whose cuts are cheapest. A column is cheap to cut where its ink spans few rows:
 * digits touch at a point, while most digits' middles have a top and a bottom stroke. The
 * only group of an image that is nearly as wide as tall (0.85-0.95), or a group under 1.8
 * typical widths and narrower than tall among other digits, may be one digit written wide
 * (a 0, a 2 or a 5 with a long bar) as well as two touching: it is cut only where a column
 * is cheap, and only into pieces that each hold a connected stroke 70% as tall as the
 * digits. The typical width is the median width of the number's other plausible single
 * digits (typical_width). Each piece is a group and a column range.
 * Coordinates: x column, y row; boxes and column ranges use inclusive ends.
 */
#include "vision/segment.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A cheap cut: the ink of the column spans at most about this share of the group's height
 * (cut_costs) */
#define CHEAP_CUT 0.8
/* A group under this many typical widths of its number may be one wide digit
 * (dg_seg_cut_groups) */
#define WIDE_DIGIT_RATIO 1.8

/* Whether run i belongs to group g. */
static bool run_in_group(const seg_work *w, size_t i, int g)
{
    int c = w->run_comp[i];
    return c >= 0 && w->comps[c].group == g;
}

/* Tight bounds of the pixels of group g within columns c0..c1; false when there are none. */
static bool piece_bounds(const seg_work *w, piece *p)
{
    bool any = false;
    for (size_t i = 0; i < w->n_runs; i++) {
        if (!run_in_group(w, i, p->group)) {
            continue;
        }
        int x0 = imax(w->runs[i].x0, p->c0), x1 = imin(w->runs[i].x1, p->c1);
        if (x0 > x1) {
            continue;
        }
        if (!any) {
            p->x0 = x0;
            p->x1 = x1;
            p->y0 = p->y1 = w->runs[i].y;
            any = true;
        }
        p->x0 = imin(p->x0, x0);
        p->x1 = imax(p->x1, x1);
        p->y0 = imin(p->y0, w->runs[i].y);
        p->y1 = imax(p->y1, w->runs[i].y);
    }
    return any;
}

static dg_status add_piece(seg_work *w, int g, int c0, int c1)
{
    piece p = {.group = g, .c0 = c0, .c1 = c1};
    if (!piece_bounds(w, &p)) {
        return DG_OK;
    }
    if (w->n_pieces >= DG_SEGMENT_MAX_DIGITS) {
        return dg_fail(DG_ERR_TOO_LARGE, "segment: more than %d digits", DG_SEGMENT_MAX_DIGITS);
    }
    w->pieces[w->n_pieces++] = p;
    return DG_OK;
}

/*
 * What cutting group g at each of its columns x0..x1 costs, cost[x - x0]. Touching digits
 * meet at a point, so the column there holds ink in a short stretch only, while a column
 * through the middle of most digits meets a top and a bottom stroke far apart (a 0's middle
 * has little ink but a tall span). So the cost is the span from the column's first to
 * last ink pixel relative to the group's height, plus a little for the ink in it, smoothed
 * over three columns. Also leaves each column's first and last ink row in top and bottom
 * (INT32_MAX and -1 where it has none); count is scratch. All are [width].
 */
static void cut_costs(const seg_work *w, int g, double *cost, int *top, int *bottom, int *count)
{
    const group *gr = &w->groups[g];
    int width = group_width(gr);
    for (int x = 0; x < width; x++) {
        top[x] = INT32_MAX;
        bottom[x] = -1;
        count[x] = 0;
    }
    for (size_t i = 0; i < w->n_runs; i++) {
        if (!run_in_group(w, i, g)) {
            continue;
        }
        for (int x = w->runs[i].x0; x <= w->runs[i].x1; x++) {
            int k = x - gr->x0;
            top[k] = imin(top[k], w->runs[i].y);
            bottom[k] = imax(bottom[k], w->runs[i].y);
            count[k]++;
        }
    }
    double height = group_height(gr);
    for (int x = 0; x < width; x++) {
        cost[x] = count[x] ? ((bottom[x] - top[x] + 1) + 0.5 * count[x]) / height : 0.0;
    }
    double prev = cost[0];
    for (int x = 0; x < width; x++) {
        double here = cost[x], next = x + 1 < width ? cost[x + 1] : here;
        cost[x] = (prev + here + next) / 3.0;
        prev = here;
    }
}

/*
 * Plans k pieces of a group of `width` columns: cut j goes to the cheapest column within
 * 0.45 of a piece width of where even spacing puts it, drawn a little towards that place
 * so a flat stretch is cut in its middle. cut[j] is the last column of piece j (k-1 cuts).
 * Returns the plan's cost: the mean cost at the cuts, plus how far the pieces' widths
 * stray from a typical digit's and from each other (coefficient of variation).
 */
static double plan_cuts(const double *cost, int width, int k, double typical, int *cut)
{
    double pitch = (double)width / k, total = 0.0;
    int prev = -1;
    for (int j = 1; j < k; j++) {
        int ideal = (int)(j * pitch);
        int lo = imax(prev + 2, (int)(ideal - 0.45 * pitch));
        int hi = imin(width - 2, (int)(ideal + 0.45 * pitch));
        int best = imin(imax(ideal, lo), imax(lo, hi));
        double best_c = 1e300;
        for (int x = lo; x <= hi; x++) {
            double c = cost[x] + 0.3 * fabs((double)(x - ideal)) / pitch;
            if (c < best_c) {
                best_c = c;
                best = x;
            }
        }
        cut[j - 1] = best;
        total += cost[best] / (k - 1);
        prev = best;
    }
    /* the digits of one number have similar widths: pieces should be alike and typical */
    double sum = 0.0, sum2 = 0.0;
    prev = -1;
    for (int j = 0; j < k; j++) {
        int end = j < k - 1 ? cut[j] : width - 1;
        double pw = end - prev;
        total += 0.25 * fabs(pw / typical - 1.0) / k;
        sum += pw;
        sum2 += pw * pw;
        prev = end;
    }
    double mean = sum / k;
    return total + 0.5 * sqrt(fmax(0.0, sum2 / k - mean * mean)) / mean;
}

/* A group's ink, to judge the pieces a plan cuts it into: its runs in row order, its first
 * column, each column's first and last ink row, and [n] scratch for tallest_part. */
typedef struct group_ink {
    const ink_run *runs;
    size_t n;
    int x0;
    const int *top, *bottom;
    ink_run *clipped;
    int *parent;
} group_ink;

/* The height of the tallest connected part of the group's ink within columns c0..c1
 * (relative to its first column). */
static int tallest_part(const group_ink *gi, int c0, int c1)
{
    size_t m = 0;
    for (size_t i = 0; i < gi->n; i++) {
        int x0 = imax(gi->runs[i].x0, gi->x0 + c0), x1 = imin(gi->runs[i].x1, gi->x0 + c1);
        if (x0 <= x1) {
            gi->clipped[m++] = (ink_run){gi->runs[i].y, x0, x1};
        }
    }
    dg_seg_join_runs(gi->clipped, m, gi->parent);
    int tallest = 0;
    for (size_t i = 0; i < m; i++) {
        /* a part's root is its first run, and so its top row */
        int root = dg_seg_find_root(gi->parent, (int)i);
        tallest = imax(tallest, gi->clipped[i].y - gi->clipped[root].y + 1);
    }
    return tallest;
}

/* Whether every piece of a plan is about as tall as a digit: touching digits each span
 * the line, while a cut that leaves a hook or a bar alone is cutting one digit apart. With
 * connected, a piece needs one connected part that tall: the ends of a wide 3's two arcs
 * span the line together, but are not joined within the piece. */
static bool plan_pieces_tall(const group_ink *gi, int width, int k, const int *cut, int min_height,
                             bool connected)
{
    int prev = -1;
    for (int j = 0; j < k; j++) {
        int end = j < k - 1 ? cut[j] : width - 1, y0 = INT32_MAX, y1 = -1;
        for (int x = prev + 1; x <= end; x++) {
            y0 = imin(y0, gi->top[x]);
            y1 = imax(y1, gi->bottom[x]);
        }
        if (y1 - y0 + 1 < min_height ||
            (connected && tallest_part(gi, prev + 1, end) < min_height)) {
            return false;
        }
        prev = end;
    }
    return true;
}

/* Whether every cut of a plan is cheap: two digits touching meet in a short stretch of a
 * column, while the middle of one wide digit (a 0, a 3, a 6 with a long flag) has strokes
 * above and below across its height. */
static bool plan_cuts_cheap(const double *cost, int k, const int *cut)
{
    for (int j = 0; j < k - 1; j++) {
        if (cost[cut[j]] > CHEAP_CUT) {
            return false;
        }
    }
    return true;
}

/*
 * Splits group g, too wide for one digit (about `ratio` typical widths), into the number of
 * pieces near ratio whose plan costs least among those whose pieces are all digit-tall
 * (and, with cheap_cuts_only, whose cuts are all cheap); keeps it whole when there is none.
 */
static dg_status split_group(seg_work *w, int g, double ratio, double typical, int h_digit,
                             bool cheap_cuts_only)
{
    const group *gr = &w->groups[g];
    int width = group_width(gr);
    size_t n_runs = 0;
    for (size_t i = 0; i < w->n_runs; i++) {
        n_runs += run_in_group(w, i, g);
    }
    double *cost = malloc((size_t)width * sizeof *cost);
    int *cols = malloc((size_t)width * 3 * sizeof *cols);
    ink_run *runs = malloc(2 * (n_runs ? n_runs : 1) * sizeof *runs); /* the group's, clipped */
    int *parent = malloc((n_runs ? n_runs : 1) * sizeof *parent);
    int cut[2][DG_SEGMENT_MAX_DIGITS];
    if (!cost || !cols || !runs || !parent) {
        free(cost);
        free(cols);
        free(runs);
        free(parent);
        return dg_fail(DG_ERR_NOMEM, "segment: no memory for %d columns", width);
    }
    n_runs = 0;
    for (size_t i = 0; i < w->n_runs; i++) {
        if (run_in_group(w, i, g)) {
            runs[n_runs++] = w->runs[i];
        }
    }
    int *top = cols, *bottom = cols + width;
    cut_costs(w, g, cost, top, bottom, cols + 2 * width);
    group_ink gi = {runs, n_runs, gr->x0, top, bottom, runs + n_runs, parent};
    /* touching digits overlap a little, so the ratio may under- or overestimate the count:
     * try the nearest counts around it */
    int k_mid = imax(2, (int)(ratio + 0.5));
    int k_max = imin(DG_SEGMENT_MAX_DIGITS, imax(2, (int)(width / (0.25 * typical))));
    int best_k = 1;
    double best_cost = 1e300;
    for (int k = imax(2, k_mid - 1); k <= imin(k_max, k_mid + 1); k++) {
        double c = plan_cuts(cost, width, k, typical, cut[0]);
        if (c < best_cost &&
            plan_pieces_tall(&gi, width, k, cut[0], h_digit * 70 / 100, cheap_cuts_only) &&
            (!cheap_cuts_only || plan_cuts_cheap(cost, k, cut[0]))) {
            best_cost = c;
            best_k = k;
            memcpy(cut[1], cut[0], (size_t)(k - 1) * sizeof cut[0][0]);
        }
    }
    dg_status st = DG_OK;
    int prev = -1;
    for (int j = 0; j < best_k && st == DG_OK; j++) {
        int end = j < best_k - 1 ? cut[1][j] : width - 1;
        st = add_piece(w, g, gr->x0 + prev + 1, gr->x0 + end);
        prev = end;
    }
    free(cost);
    free(cols);
    free(runs);
    free(parent);
    return st;
}

/* The typical digit width of this number leaving group `self` out: the median width of
 * the other plausible single digits (1s excluded: too narrow to tell), pulled towards a
 * share of the digit height when few were measured. *measured says how many. */
static double typical_width(const seg_work *w, int self, int h_digit, int *measured)
{
    int widths[DG_SEG_MAX_GROUPS], n = 0;
    for (int g = 0; g < w->n_groups; g++) {
        const group *gr = &w->groups[g];
        int gh = group_height(gr), gw = group_width(gr);
        if (g != self && gr->alive && gw * 100 > h_digit * 35 && gw < gh) {
            widths[n++] = gw;
        }
    }
    *measured = n;
    double prior = 0.58 * h_digit;
    if (n == 0) {
        return prior;
    }
    qsort(widths, (size_t)n, sizeof *widths, cmp_int);
    double median = widths[n / 2];
    return n >= 3 ? median : (median + prior) / 2.0;
}

/* Makes the pieces: one per group, or several for a group too wide for one digit of this
 * number. */
dg_status dg_seg_cut_groups(seg_work *w, int h_digit)
{
    int n_alive = 0;
    for (int g = 0; g < w->n_groups; g++) {
        n_alive += w->groups[g].alive;
    }
    for (int g = 0; g < w->n_groups; g++) {
        group *gr = &w->groups[g];
        if (!gr->alive) {
            continue;
        }
        int gh = group_height(gr), gw = group_width(gr), measured;
        double typical = fmax(1.0, typical_width(w, g, h_digit, &measured));
        /* One handwritten digit other than a 1 is about 0.45-0.75 times as wide as tall (a 1
         * less) and hardly ever 1.45 times as wide as the other digits of its number: a
         * group beyond that is touching digits. Alone, only its shape can tell. */
        dg_status st;
        double ratio = gw / typical;
        if (measured >= 2 ? ratio > 1.45 || gw * 100 > gh * 95 : gw * 100 > gh * 85) {
            /* the only group, nearly as wide as tall, or under two digits' width beside
             * the others: a wide 0, 3 or 6, or a 2 or 5 with a long bar, as often as two
             * digits touching, which then meet in a short stretch of a column */
            bool wide_digit = measured >= 2 ? ratio < WIDE_DIGIT_RATIO && gw * 100 <= gh * 95
                                            : n_alive == 1 && gw * 100 <= gh * 95;
            st = split_group(w, g, ratio, typical, h_digit, wide_digit);
        } else {
            st = add_piece(w, g, gr->x0, gr->x1);
        }
        if (st != DG_OK) {
            return st;
        }
    }
    return DG_OK;
}
