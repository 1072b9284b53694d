/*
 * preprocess.h - private to the preprocessing: the state of one ink map while it is built,
 * its components, and the steps its files call in one another. Layout: images and grids
 * are [h][w] row-major; x is the column, y the row.
 *
 * dg_preprocess (preprocess.c) and dg_ink_map (ink.c) both build the ink map with
 * dg_prep_build_ink: ink.c's passes over the pixels, with the background from
 * ink_background.c (and the desk around a page from ink_desk.c), then ink_components.c's
 * cells and components. dg_preprocess then chooses the digit's components; the MNIST
 * conversion (mnist.c) takes it from there.
 */
#ifndef DG_PREPROCESS_H
#define DG_PREPROCESS_H

#include "digits.h"

/* One connected group of strong cells on the component grid. */
typedef struct dg_prep_comp {
    int x0, y0, x1, y1; /* bounding box in cells, inclusive */
    uint32_t n_cells;
    uint64_t area;      /* strong pixels */
    double sx, sy;      /* area-weighted sums of cell centres, pixels */
    uint32_t n_band;    /* cells near the edges of its own box (ring and line test) */
    uint64_t n_alone;   /* strong pixels without a strong 8-neighbour (noise test) */
    uint32_t n_edge[4]; /* cells on the grid's left, right, top and bottom border */
    uint32_t n_desk;    /* cells beside the desk (p->desk) */
    uint32_t n_line;    /* cells beside a peeled line (p->gone) */
    int keep;
    int peeled;       /* what a peeled line left: gone with it, not dropped */
    dg_prep_drop why; /* when !keep after filtering */
} dg_prep_comp;

typedef struct dg_prep {
    const dg_image *img;
    int q;                  /* source pixels per working pixel, each way */
    int w, h;               /* working size: the image's, divided by q */
    uint8_t *planes;        /* [2][h][w] owned min/max planes; NULL for grey images */
    uint8_t *smooth;        /* [h][w] smoothed ink-side plane of a noisy image, or NULL */
    const uint8_t *lo, *hi; /* [h][w] minimum and maximum channel */

    int bs, bgw, bgh; /* background grid: cell side in pixels, grid size */
    int followed;     /* the background was followed at the scale of strokes */
    uint8_t *desk;    /* [dgh][dgw] cells of the desk around the page, or NULL: no ink there */
    int ds, dgw, dgh; /* the desk's grid: the background's first (coarse) one */
    float *bg;        /* [bgh][bgw] background level in the ink-side plane */
    int dark;         /* ink darker than the background */
    float base, sigma, contrast, t_low, t_high;
    int strong_v; /* ink values from this one up are strong (256: none) */

    dg_image *ink;  /* [h][w] residual, then ink 0..255 */
    dg_image *page; /* [h][w] 255 - residual, clamped: the page over its background, or
                     * NULL (only for dg_preprocess_steps, which takes it) */

    int cs, cgw, cgh; /* component grid */
    uint32_t *strong; /* [cgh][cgw] strong pixels per cell */
    uint8_t *weak;    /* [cgh][cgw] cell holds a nonzero ink pixel */
    uint8_t *on;      /* [cgh][cgw] cell holds a strong pixel and is not a line */
    int on_box[4];    /* box of the cells on before lines were peeled, {x0, y0, x1, y1} */
    uint8_t *gone;    /* [cgh][cgw] peeled off as part of a line */
    int32_t *label;   /* [cgh][cgw] component of a strong cell, -1 */
    int32_t *owner;   /* [cgh][cgw] kept component owning the cell's pixels, -1 */
    int owned[4];     /* box of the cells with an owner, {x0, y0, x1, y1}, x1 < x0: none */
    dg_prep_comp *comps;
    int n_comps;
    int n_found; /* components before filtering */
} dg_prep;

static inline float dg_clampf(float v, float lo, float hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static inline int dg_ceil_div(int a, int b)
{
    return (a + b - 1) / b;
}

/* Whether cell (x, y) of a [gh][gw] grid or one of its 8 neighbours is set. */
static inline int dg_prep_near_set(const uint8_t *grid, int gw, int gh, int x, int y)
{
    for (int yy = y - 1; yy <= y + 1; yy++) {
        for (int xx = x - 1; xx <= x + 1; xx++) {
            if (yy >= 0 && xx >= 0 && yy < gh && xx < gw && grid[(size_t)yy * gw + xx]) {
                return 1;
            }
        }
    }
    return 0;
}

/* DG_ERR_NOMEM with the preprocessing's message. */
dg_status dg_prep_nomem(void);
/* DG_ERR_ARG unless img is a 1, 3 or 4 channel image with pixels; DG_ERR_TOO_LARGE beyond
 * DG_IMAGE_MAX_PIXELS. what names the caller in the message. */
dg_status dg_prep_check_image(const dg_image *img, const char *what);

/* ink.c: the ink map of img pooled by q x q blocks, up to the component filter. Fills *p
 * (free it with dg_prep_free, also on failure). On DG_OK, *status is DG_PREP_EMPTY (no
 * ink; p->ink all 0), else the components are labelled and filtered (their keep flags).
 * With keep_page, p->page also gets the page over its background as the residuals last
 * saw it; the ink map itself is the same either way. */
dg_status dg_prep_build_ink(dg_prep *p, const dg_image *img, int q, bool keep_page,
                            dg_prep_status *status);
void dg_prep_free(dg_prep *p);
/* dg_ink_map of img pooled by q x q blocks (q = 1: dg_ink_map itself): *ink_out is
 * ceil(w / q) x ceil(h / q), and info's box and stroke width are in its pixels. */
dg_status dg_prep_ink_map(const dg_image *img, int q, dg_image **ink_out, dg_preprocess_info *info);
/* The polarity, background, contrast and noise fields of info, whether the light was
 * followed at the scale of strokes and a desk found, and the dropped components. */
void dg_prep_fill_levels(const dg_prep *p, dg_preprocess_info *info);

/* ink_background.c: step 2 of the ink map, from the grey planes p->lo and p->hi. The
 * background grid, the polarity p->dark and the background level of every cell p->bg. */
dg_status dg_prep_background(dg_prep *p);
/* The residuals of the plane where ink stands out against the background, into p->ink
 * (clamped to 0..255), and their histogram hist[r + 255], r = -255..255; when p->page is
 * not NULL, 255 - r into it (clamped), desk included. */
dg_status dg_prep_residuals(dg_prep *p, uint32_t hist[511]);
/* The median of the cells' background levels (0 before there are any), for reporting. */
float dg_prep_background_median(const dg_prep *p);
/* The k-th smallest of v[0..n), k < n; reorders v. */
float dg_prep_select_kth(float *v, int n, int k);
/* The median of v[0..n), n > 0, as dg_prep_select_kth(v, n, n / 2) gives it (may reorder
 * v); counted, not selected, when v is mostly one extreme value, as cells of ground are. */
float dg_prep_cells_median(float *v, int n);

/* Per-cell figures of the background pass on its grid (ink_background.c), which the desk
 * is found from (ink_desk.c): each [bgh][bgw] but window. */
typedef struct dg_prep_bg_cells {
    int n;
    double *sum;            /* [n][2] sums of the minimum and maximum planes */
    float *min_lo, *max_hi; /* darkest minimum, brightest maximum */
    float *mid;             /* mean of both planes */
    float *ref;             /* polarity reference: the median of mid around the cell */
    float *tmp;             /* scratch */
    float *count;           /* pixels in the cell */
    float *window;          /* scratch for the local medians (ink_background.c) */
    const uint8_t *desk;    /* the desk's cells, which take no part, or NULL */
} dg_prep_bg_cells;

/* ink_desk.c: the desk around a page that does not fill the photo, from the cells' sums,
 * means and brightest pixels in g (g->tmp is scratch). When one is found, p->desk (its
 * grid p->ds, p->dgw, p->dgh: the background's) and g->desk mark its cells; else both stay
 * NULL. Grids under 8 cells a side have none. */
dg_status dg_prep_find_desk(dg_prep *p, dg_prep_bg_cells *g);

/* ink_light.c: the background at the scale of strokes, replacing p->bg (and the desk's
 * mask p->desk by a finer one); and the polarity p->dark decided from thin strokes. */
dg_status dg_prep_follow_strokes(dg_prep *p);
dg_status dg_prep_vote_strokes(dg_prep *p);

/* ink_components.c: step 4 of the ink map, once the levels are known: the cells, ruling
 * lines peeled off, components labelled and filtered. */
dg_status dg_prep_find_components(dg_prep *p);
/* Gives the cells of the components with keep[i] set, and the faint cells around them,
 * their owner in p->owner, and sets to 0 the pixels of every other cell. */
void dg_prep_assign_owners(dg_prep *p, const int *keep);

/* mnist.c: strokes narrower than this in the 20 px box are thinned and redrawn. */
#define DG_PREP_REDRAWN_BELOW 1.25f
/* mnist.c: bounding box {x, y, w, h} of the nonzero pixels of a [h][w] byte image inside
 * [x0, x1) x [y0, y1) where mask (rw wide, origin at mx, my; may be NULL) is nonzero.
 * Returns 0 when there is none. */
int dg_prep_ink_box(const uint8_t *px, int w, const uint8_t *mask, int mx, int my, int rw, int x0,
                    int y0, int x1, int y1, int box[4]);
/* Stroke width estimate of a [h][w] ink crop (0..255) with row stride `stride`. */
float dg_prep_stroke_width(const uint8_t *px, int w, int h, size_t stride);
/* The MNIST conversion of the ink inside the (already clipped) rectangle [x0, x1) x
 * [y0, y1) where mask (mw wide, origin at mx, my; may be NULL) is nonzero. info (may be
 * NULL) gets the status, the box, the stroke width and whether strokes were redrawn. */
dg_status dg_prep_to_mnist(const dg_image *ink, const uint8_t *mask, int mx, int my, int mw, int x0,
                           int y0, int x1, int y1, uint8_t out[DG_MNIST_PIXELS],
                           dg_preprocess_info *info);

#endif
