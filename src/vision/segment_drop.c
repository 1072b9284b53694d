/*
 * segment_drop.c - the rules that drop what the ink map let through and is no digit,
 * applied to the groups of a written number once they are merged (segment.c) and before
 * they are cut into digits (segment_cut.c):
 *  - thin lines along a side of the frame (the page's edge, the narrow end of the desk a
 *    tilted page leaves) are dropped when there is ink inside the frame, before the digits'
 *    height is measured for what follows;
 *  - groups much shorter than the digits (dots, specks, dashes) are dropped, and faint
 *    ones on the image border (shadows, paper edges), and ones on the border unlike the
 *    digits in height (the edge of a tilted page or of the desk it leaves), and straight
 *    lines over 1.4 times as tall as every digit beside them that is not a line itself, or
 *    under 0.6 times their median height (a page's edge or a fold inside the frame, whole
 *    or in pieces: the digits of one number are written about as tall).
 * A dropped group is no longer alive. Coordinates: x column, y row; boxes use inclusive ends.
 */
#include "vision/segment.h"

#include <math.h>
#include <stdlib.h>

static bool touches_border(const group *g, const dg_image *img)
{
    return g->x0 == 0 || g->y0 == 0 || g->x1 == img->w - 1 || g->y1 == img->h - 1;
}

/* Shadows and paper edges that the ink map let through sit on the image border and are
 * much fainter than the written digits; a digit cut by the border keeps its ink. */
static void drop_faint_border_groups(seg_work *w)
{
    double best = 0.0;
    for (int g = 0; g < w->n_groups; g++) {
        const group *gr = &w->groups[g];
        if (gr->alive && gr->area > 0 && !touches_border(gr, w->ink_map)) {
            best = fmax(best, (double)gr->ink / (double)gr->area);
        }
    }
    for (int g = 0; g < w->n_groups; g++) {
        group *gr = &w->groups[g];
        if (gr->alive && gr->area > 0 && touches_border(gr, w->ink_map) &&
            (double)gr->ink / (double)gr->area < 0.6 * best) {
            gr->alive = false;
        }
    }
}

/* What the ink map lets through along the image's border (the edge of a page or of the desk
 * a tilted page leaves, the end of a fold) and is not shaped like the digits beside it:
 * under 60% or over 150% of their height. A digit cut by the frame is rarely read right
 * anyway; a lone group is kept, since then there is nothing to compare it with. */
static void drop_border_groups_unlike_digits(seg_work *w, int h_digit)
{
    int inside = 0;
    for (int g = 0; g < w->n_groups; g++) {
        inside += w->groups[g].alive && !touches_border(&w->groups[g], w->ink_map);
    }
    if (inside == 0) {
        return;
    }
    for (int g = 0; g < w->n_groups; g++) {
        group *gr = &w->groups[g];
        int gh = group_height(gr);
        if (gr->alive && touches_border(gr, w->ink_map) &&
            (gh * 100 < h_digit * 60 || gh * 100 > h_digit * 150)) {
            gr->alive = false;
        }
    }
}

/* A thin straight stroke, as a 1 or a page's edge is: under a quarter as wide as tall. */
static bool line_shaped(const group *gr)
{
    return 4 * group_width(gr) <= group_height(gr);
}

/* A line unlike the digits beside it in height is no 1: the digits of one number are
 * written about as tall. Over 1.4 times the tallest group that is not a line itself, it is
 * the edge of the page, a fold or the wedge of desk a tilted page leaves; under 0.6 times
 * their median height, a piece of such an edge broken by the desk's grain. */
static void drop_lines_unlike_digits(seg_work *w)
{
    int heights[DG_SEG_MAX_GROUPS], n = 0, tallest = 0;
    for (int g = 0; g < w->n_groups; g++) {
        const group *gr = &w->groups[g];
        if (gr->alive && !line_shaped(gr)) {
            heights[n++] = group_height(gr);
            tallest = imax(tallest, group_height(gr));
        }
    }
    if (n == 0) {
        return;
    }
    qsort(heights, (size_t)n, sizeof *heights, cmp_int);
    int typical = heights[n / 2];
    for (int g = 0; g < w->n_groups; g++) {
        group *gr = &w->groups[g];
        int gh = group_height(gr);
        if (gr->alive && line_shaped(gr) && (gh * 10 > tallest * 14 || gh * 10 < typical * 6)) {
            gr->alive = false;
        }
    }
}

/* A thin line along a side of the frame (touching it, under a quarter as wide as it is long
 * along that side): the edge of the page or the narrow end of the desk a tilted page leaves,
 * where the ink map's closing left it a pixel off the frame in places. Dropped when there
 * is ink of some size inside the frame (a tenth of the largest group's or more), before
 * the digits' height is measured, so that such lines, as tall as the photo, neither pass
 * for 1s nor make the digits beside them look like specks. */
void dg_seg_drop_lines_along_the_frame(seg_work *w)
{
    long largest = 0;
    for (int g = 0; g < w->n_groups; g++) {
        if (w->groups[g].alive) {
            largest = w->groups[g].area > largest ? w->groups[g].area : largest;
        }
    }
    bool inside = false;
    for (int g = 0; g < w->n_groups; g++) {
        const group *gr = &w->groups[g];
        inside |= gr->alive && gr->area * 10 >= largest && !touches_border(gr, w->ink_map);
    }
    if (!inside) {
        return;
    }
    const dg_image *img = w->ink_map;
    for (int g = 0; g < w->n_groups; g++) {
        group *gr = &w->groups[g];
        int gw = group_width(gr), gh = group_height(gr);
        bool side = (gr->x0 == 0 || gr->x1 == img->w - 1) && 4 * gw <= gh;
        bool top_bottom = (gr->y0 == 0 || gr->y1 == img->h - 1) && 4 * gh <= gw;
        if (gr->alive && (side || top_bottom)) {
            gr->alive = false;
        }
    }
}

/* The groups that are no digit beside digits h_digit tall, each rule in turn. */
void dg_seg_drop_unlike_digits(seg_work *w, int h_digit)
{
    for (int g = 0; g < w->n_groups; g++) {
        group *gr = &w->groups[g];
        /* dots, dashes and specks: much shorter than the digits, or only a few rows */
        int gh = group_height(gr);
        if (gr->alive && (gh * 100 < h_digit * 35 || gh < 4)) {
            gr->alive = false;
        }
    }
    drop_faint_border_groups(w);
    drop_border_groups_unlike_digits(w, h_digit);
    drop_lines_unlike_digits(w);
}
