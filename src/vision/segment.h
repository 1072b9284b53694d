/*
 * segment.h - private to the segmentation files: the state of one segmentation while it
 * runs (the ink's runs, their components, the groups that become digits, the pieces) and
 * the steps those files call in one another. Coordinates: x column, y row; boxes and runs
 * use inclusive ends.
 *
 * dg_segment_at (segment.c) finds the runs and components of the ink map and merges them
 * into groups, one per digit; the rules of segment_drop.c drop the groups that are no
 * digit; segment_cut.c makes the pieces, a group of touching digits cut apart; segment.c
 * orders them left to right and records their pixels in the owner map.
 */
#ifndef DG_SEGMENT_H
#define DG_SEGMENT_H

#include "vision/preprocess.h"

#define DG_SEG_MAX_GROUPS (4 * DG_SEGMENT_MAX_DIGITS)

typedef struct ink_run {
    int y, x0, x1; /* columns x0..x1 of row y */
} ink_run;

typedef struct comp {
    int x0, y0, x1, y1; /* inclusive bounds */
    long area;          /* ink pixels */
    long ink;           /* sum of their ink map values */
    int group;          /* the digit group it belongs to, -1 when dropped */
} comp;

typedef struct group {
    int x0, y0, x1, y1;
    long area;
    long ink;
    bool alive;
} group;

/* One output digit: the pixels of a group within columns c0..c1. */
typedef struct piece {
    int group, c0, c1;
    int x0, y0, x1, y1; /* tight bounds of those pixels */
} piece;

typedef struct seg_work {
    ink_run *runs;
    int *parent; /* union-find over runs */
    size_t n_runs, cap;
    int *run_comp; /* component index of each run (-1: dropped) */
    comp *comps;
    int n_comps;
    group groups[DG_SEG_MAX_GROUPS];
    int n_groups;
    piece pieces[DG_SEGMENT_MAX_DIGITS + 1];
    int n_pieces;
    int height; /* H, the digit height estimate */
    const dg_image *ink_map;
} seg_work;

static inline int imin(int a, int b)
{
    return a < b ? a : b;
}

static inline int imax(int a, int b)
{
    return a > b ? a : b;
}

static inline int group_width(const group *g)
{
    return g->x1 - g->x0 + 1;
}

static inline int group_height(const group *g)
{
    return g->y1 - g->y0 + 1;
}

/* segment.c: runs in row order joined where they touch (8-connected), as a union-find
 * forest in parent[n]; and the root of run i in it. */
void dg_seg_join_runs(const ink_run *runs, size_t n, int *parent);
int dg_seg_find_root(int *parent, int i);

/* Ascending ints, for qsort. */
static inline int cmp_int(const void *pa, const void *pb)
{
    int a = *(const int *)pa, b = *(const int *)pb;
    return (a > b) - (a < b);
}

/* segment_drop.c: thin lines along a side of the frame dropped (their groups no longer
 * alive) when there is ink of some size inside it; called before the digits' height is
 * measured. */
void dg_seg_drop_lines_along_the_frame(seg_work *w);
/* segment_drop.c: the groups that are no digit beside digits h_digit tall dropped: specks,
 * faint ones on the image border, ones on the border unlike the digits in height, and
 * straight lines unlike them in height. */
void dg_seg_drop_unlike_digits(seg_work *w, int h_digit);

/* segment_cut.c: the pieces of the groups still alive, into w->pieces: one per group, or
 * several for a group too wide for one digit of this number (touching digits), the digits
 * being h_digit tall. DG_ERR_TOO_LARGE beyond DG_SEGMENT_MAX_DIGITS pieces, DG_ERR_NOMEM. */
dg_status dg_seg_cut_groups(seg_work *w, int h_digit);

#endif
