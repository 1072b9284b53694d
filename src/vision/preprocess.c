/*
 * preprocess.c - users' images into MNIST-like 28x28 digits (dg_preprocess): the ink map
 * (ink.c, ink_components.c), the choice of the digit among its components (here), and the
 * MNIST conversion of that digit alone (mnist.c). Users' images are not NIST's clean
 * binary scans, so first the ink has to be found; images larger than about 512 px a side
 * are pooled down first (ink.c keeps thin lines through the pooling), and so, further, is
 * a drawing of thin strokes on a flat ground (a drawing program's canvas), down to about
 * 40 px for the drawing: its strokes are redrawn at MNIST's width in the end anyway.
 *
 * The digit (dg_preprocess): the component with the largest strong area, weighted towards
 * the image centre, plus every other kept component within 0.4 of the growing group's size
 * of it (the bar of a 5, a broken 4). Twelve or more components of which the digit holds
 * under 60% is scattered ink, not a digit: DG_PREP_NO_DIGIT, as when nothing is left.
 */
#include "vision/preprocess.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define POOL_SIDE       512 /* dg_preprocess works on at most about this many pixels a side */
#define DRAWN_WORK_SIDE 40  /* thin strokes on a flat ground: the drawing pooled to this */
#define DRAWN_MAX_POOL  3   /* ... by at most this */
#define DIGIT_MIN_SIDE  40  /* pixels of the digit's longer side that pooling must leave */
#define CLEAR_DIV       16  /* ... and keeps this part of the picture's side from its border */
#define FLAT_ROW_STEP   4   /* rows read to tell a flat ground */
#define FLAT_SHARE      0.5 /* of the pixels read, at one exact value: a flat ground */
#define GROUP_GAP       0.4 /* parts of a digit within this part of its size join it */

/* ---------------------------------------------------------------- one digit */

/* Picks the digit's components among the kept ones into keep[] (see the file comment).
 * Returns how many, 0 when the ink looks like noise. */
static int choose_digit(const dg_prep *p, int *keep)
{
    double cx = 0.5 * p->w, cy = 0.5 * p->h, diag = hypot(p->w, p->h);
    int main_id = -1, n_kept = 0;
    double best = -1;
    uint64_t total = 0;
    for (int i = 0; i < p->n_comps; i++) {
        keep[i] = 0;
        const dg_prep_comp *c = &p->comps[i];
        if (!c->keep) {
            continue;
        }
        n_kept++;
        total += c->area;
        double dx = c->sx / (double)c->area - cx, dy = c->sy / (double)c->area - cy;
        double d = hypot(dx, dy) / (0.35 * diag);
        double score = (double)c->area / (1.0 + d * d);
        if (score > best) {
            best = score;
            main_id = i;
        }
    }
    if (main_id < 0) {
        return 0;
    }
    keep[main_id] = 1;
    dg_prep_comp group = p->comps[main_id];
    int n = 1, grew = 1;
    while (grew) {
        grew = 0;
        int gw = group.x1 - group.x0 + 1, gh = group.y1 - group.y0 + 1;
        double reach = GROUP_GAP * (gw > gh ? gw : gh);
        for (int i = 0; i < p->n_comps; i++) {
            const dg_prep_comp *c = &p->comps[i];
            if (!c->keep || keep[i]) {
                continue;
            }
            int gap_x = c->x0 > group.x1   ? c->x0 - group.x1
                        : group.x0 > c->x1 ? group.x0 - c->x1
                                           : 0;
            int gap_y = c->y0 > group.y1   ? c->y0 - group.y1
                        : group.y0 > c->y1 ? group.y0 - c->y1
                                           : 0;
            if (gap_x <= reach && gap_y <= reach) {
                keep[i] = 1;
                n++;
                group.x0 = c->x0 < group.x0 ? c->x0 : group.x0;
                group.y0 = c->y0 < group.y0 ? c->y0 : group.y0;
                group.x1 = c->x1 > group.x1 ? c->x1 : group.x1;
                group.y1 = c->y1 > group.y1 ? c->y1 : group.y1;
                group.area += c->area;
                grew = 1;
            }
        }
    }
    /* scattered ink of which the digit holds little: noise, not a digit */
    if (n_kept >= 12 && 10 * group.area < 6 * total) {
        return 0;
    }
    return n;
}

/* The cells the digit owns (after dg_prep_assign_owners) as a pixel mask over their
 * bounding box [x0, x1) x [y0, y1) of the ink map, r = {x0, y0, x1, y1}: a new
 * *out[y1 - y0][x1 - x0], 1 where the digit owns the pixel. */
static dg_status digit_mask(const dg_prep *p, uint8_t **out, int r[4])
{
    int cx0 = p->owned[0], cy0 = p->owned[1], cx1 = p->owned[2], cy1 = p->owned[3];
    int x0 = cx0 * p->cs, y0 = cy0 * p->cs;
    int x1 = (cx1 + 1) * p->cs < p->w ? (cx1 + 1) * p->cs : p->w;
    int y1 = (cy1 + 1) * p->cs < p->h ? (cy1 + 1) * p->cs : p->h;
    int mw = x1 - x0, mh = y1 - y0;
    uint8_t *mask = malloc((size_t)mw * mh);
    if (!mask) {
        return dg_prep_nomem();
    }
    for (int y = 0; y < mh; y++) {
        const int32_t *orow = p->owner + (size_t)((y0 + y) / p->cs) * p->cgw;
        for (int x = 0; x < mw; x++) {
            mask[(size_t)y * mw + x] = orow[(x0 + x) / p->cs] >= 0;
        }
    }
    *out = mask;
    r[0] = x0;
    r[1] = y0;
    r[2] = x1;
    r[3] = y1;
    return DG_OK;
}

/* The MNIST conversion of the digit's own pixels of the ink map, which was pooled by q
 * from img. info (may be NULL) gets the box, stroke width and redrawing in img's pixels;
 * *status becomes DG_PREP_NO_DIGIT when the conversion found no ink. */
static dg_status digit_to_mnist(const dg_prep *p, const dg_image *img, int q,
                                uint8_t out[DG_MNIST_PIXELS], dg_preprocess_info *info,
                                dg_prep_status *status, int *side)
{
    uint8_t *mask = NULL;
    int r[4] = {0, 0, 0, 0};
    dg_status st = digit_mask(p, &mask, r);
    if (st != DG_OK) {
        return st;
    }
    dg_preprocess_info sub;
    memset(&sub, 0, sizeof sub);
    st = dg_prep_to_mnist(p->ink, mask, r[0], r[1], r[2] - r[0], r[0], r[1], r[2], r[3], out, &sub);
    free(mask);
    *side = sub.box_w > sub.box_h ? sub.box_w : sub.box_h;
    if (st == DG_OK && info) {
        /* back to source pixels */
        info->box_x = sub.box_x * q;
        info->box_y = sub.box_y * q;
        info->box_w = sub.box_w * q < img->w - info->box_x ? sub.box_w * q : img->w - info->box_x;
        info->box_h = sub.box_h * q < img->h - info->box_y ? sub.box_h * q : img->h - info->box_y;
        /* pooling by extremes widened strokes by q - 1 pixels on average */
        info->stroke_px =
            fmaxf(sub.stroke_px * (float)q - (float)(q - 1), fminf(sub.stroke_px * (float)q, 1.0f));
        info->restroked = sub.restroked;
    }
    if (st == DG_OK && sub.status != DG_PREP_OK) {
        *status = DG_PREP_NO_DIGIT;
    }
    return st;
}

/* What a quick look at every FLAT_ROW_STEP-th row tells of a drawing on a flat ground. */
typedef struct drawing {
    int side;   /* longer side of the box of the pixels that differ from the ground */
    double run; /* their mean horizontal run, pixels: about the width of the strokes */
    int clear;  /* that box keeps 1/CLEAR_DIV of the picture's side from its border */
} drawing;

/* Whether the 8 pixels of c bytes at s are all the ground, whose pixel repeats through
 * plain: 8 pixels are c words of 8 bytes. */
static inline bool ground_octet(const uint8_t *s, const uint8_t *plain, int c)
{
    for (int k = 0; k < c; k++) {
        uint64_t a, b;
        memcpy(&a, s + 8 * k, 8);
        memcpy(&b, plain + 8 * k, 8);
        if (a != b) {
            return false;
        }
    }
    return true;
}

/* Describes into *d the pixels of every FLAT_ROW_STEP-th row of img that are not exactly
 * `ground` (img->channels bytes); returns how many pixels those rows hold. `plain` is a row
 * of nothing but ground: a row equal to it is passed over by one comparison, and within
 * the other rows so is every 8 pixels of ground, which add nothing and end a run. */
static uint64_t describe_drawing(const dg_image *img, const uint8_t *ground, const uint8_t *plain,
                                 drawing *d, uint64_t *n_ground)
{
    int c = img->channels, x0 = img->w, x1 = -1, y0 = img->h, y1 = -1;
    size_t row_bytes = (size_t)img->w * c;
    uint64_t n = 0, area = 0, runs = 0;
    for (int y = 0; y < img->h; y += FLAT_ROW_STEP) {
        const uint8_t *s = img->pixels + (size_t)y * row_bytes;
        n += (uint64_t)img->w;
        if (memcmp(s, plain, row_bytes) == 0) {
            continue;
        }
        int inside = 0;
        for (int x = 0; x < img->w; x++, s += c) {
            if (x % 8 == 0 && x + 8 <= img->w && ground_octet(s, plain, c)) {
                inside = 0;
                x += 7;
                s += 7 * c;
                continue;
            }
            int drawn = s[0] != ground[0] || (c > 1 && (s[1] != ground[1] || s[2] != ground[2])) ||
                        (c == 4 && s[3] != ground[3]);
            if (drawn) {
                area++;
                runs += !inside;
                x0 = x < x0 ? x : x0;
                x1 = x > x1 ? x : x1;
                y0 = y < y0 ? y : y0;
                y1 = y;
            }
            inside = drawn;
        }
    }
    d->side = x1 < 0 ? 0 : x1 - x0 > y1 - y0 ? x1 - x0 + 1 : y1 - y0 + 1;
    d->run = runs ? (double)area / (double)runs : 0.0;
    int m = (img->w > img->h ? img->w : img->h) / CLEAR_DIV;
    m = m > FLAT_ROW_STEP ? m : FLAT_ROW_STEP;
    d->clear = x1 >= 0 && x0 >= m && x1 < img->w - m && y0 >= m && y1 < img->h - m;
    *n_ground = n - area;
    return n;
}

/* plain[w * c]: the pixel of c bytes at ground, w times over. */
static void fill_plain(uint8_t *plain, const uint8_t *ground, int w, int c)
{
    for (int x = 0; x < w; x++) {
        memcpy(plain + (size_t)x * c, ground, (size_t)c);
    }
}

/* Whether most of img is one exact colour, as a drawing program's canvas is and no photo or
 * scan, whose grain spreads its paper over many levels: the first channel (and alpha) of
 * every FLAT_ROW_STEP-th row, its most common value against the pixels read. When it is,
 * *d describes what differs from that ground (the first pixel read of that value, all its
 * channels) in the same rows. The top-left pixel is tried first: when more than half of
 * those pixels are exactly it, it is that ground, found without counting every value. */
static int flat_ground(const dg_image *img, drawing *d)
{
    int c = img->channels;
    uint64_t n_ground;
    uint8_t *plain = malloc((size_t)img->w * c);
    if (!plain) {
        return 0; /* out of memory: the picture is simply not taken for a drawing */
    }
    fill_plain(plain, img->pixels, img->w, c);
    uint64_t n = describe_drawing(img, img->pixels, plain, d, &n_ground);
    if ((double)n_ground > FLAT_SHARE * (double)n) {
        free(plain);
        return 1;
    }
    uint32_t count[257] = {0}; /* [256]: pixels not fully opaque */
    uint32_t n_read = 0;
    for (int y = 0; y < img->h; y += FLAT_ROW_STEP) {
        const uint8_t *s = img->pixels + (size_t)y * img->w * c;
        for (int x = 0; x < img->w; x++, s += c) {
            count[c == 4 && s[3] != 255 ? 256 : s[0]]++;
        }
        n_read += (uint32_t)img->w;
    }
    int mode = 0;
    for (int v = 1; v < 257; v++) {
        mode = count[v] > count[mode] ? v : mode;
    }
    const uint8_t *ground = NULL;
    for (int y = 0; y < img->h && !ground && (double)count[mode] >= FLAT_SHARE * n_read;
         y += FLAT_ROW_STEP) {
        const uint8_t *s = img->pixels + (size_t)y * img->w * c;
        for (int x = 0; x < img->w && !ground; x++, s += c) {
            ground = (c == 4 && s[3] != 255 ? 256 : s[0]) == mode ? s : NULL;
        }
    }
    if (ground) {
        fill_plain(plain, ground, img->w, c);
        describe_drawing(img, ground, plain, d, &n_ground);
    }
    free(plain);
    return ground != NULL;
}

/* ---------------------------------------------------------------- the steps, for seeing them */

#define DECIDED_FAINT 0x80 /* code[] flag: a faint cell's decision, which does not spread */

/* The decision for the ink of faint cell (cx, cy), neither the digit's nor a component's
 * strong cell: that of a component or line within reach of it (the faint edges of its
 * strokes), else faint ink on its own. code[] holds the strong cells' decisions. */
static uint8_t faint_decision(const dg_prep *p, const uint8_t *code, int cx, int cy)
{
    int reach = p->cs > 1 ? 1 : 2;
    for (int d = 1; d <= reach; d++) {
        for (int y = cy - d; y <= cy + d; y++) {
            for (int x = cx - d; x <= cx + d; x++) {
                if (x < 0 || y < 0 || x >= p->cgw || y >= p->cgh) {
                    continue;
                }
                uint8_t c = code[(size_t)y * p->cgw + x];
                if (c != DG_STEP_BACKGROUND && c != DG_STEP_FAINT && !(c & DECIDED_FAINT)) {
                    return c;
                }
            }
        }
    }
    return DG_STEP_FAINT;
}

/* The decision of every pixel of the ink map into s->decision (see dg_prep_step): the desk
 * from p->desk, the rest from the cells of the ink before the digit was chosen (s->ink),
 * their components and whether the digit (chosen[], when `owned`: dg_prep_assign_owners
 * ran) holds them. */
static dg_status fill_decisions(const dg_prep *p, const int *chosen, bool owned, dg_prep_steps *s)
{
    size_t n = (size_t)p->w * p->h;
    s->decision = calloc(n, 1); /* DG_STEP_BACKGROUND */
    uint8_t *code = NULL;
    if (!s->decision) {
        return dg_prep_nomem();
    }
    if (p->label) {
        size_t n_cells = (size_t)p->cgw * p->cgh;
        code = calloc(n_cells, 1);
        if (!code) {
            return dg_prep_nomem();
        }
        for (size_t c = 0; c < n_cells; c++) {
            int id = p->label[c];
            if (owned && p->owner[c] >= 0) {
                code[c] = DG_STEP_DIGIT;
            } else if (id >= 0 && !p->comps[id].keep) {
                code[c] = (uint8_t)(DG_STEP_DROPPED + p->comps[id].why);
            } else if (id >= 0) {
                code[c] = owned && chosen[id] ? DG_STEP_DIGIT : DG_STEP_LEFT;
            } else if (p->gone[c]) {
                code[c] = DG_STEP_LINE;
            } else if (p->weak[c]) {
                code[c] = DG_STEP_FAINT;
            }
        }
        for (int cy = 0; cy < p->cgh; cy++) {
            for (int cx = 0; cx < p->cgw; cx++) {
                uint8_t *c = &code[(size_t)cy * p->cgw + cx];
                *c = *c == DG_STEP_FAINT ? DECIDED_FAINT | faint_decision(p, code, cx, cy) : *c;
            }
        }
        for (size_t c = 0; c < n_cells; c++) {
            code[c] &= (uint8_t)~DECIDED_FAINT;
        }
    }
    for (int y = 0; y < p->h; y++) {
        const uint8_t *ink = s->ink->pixels + (size_t)y * p->w;
        const uint8_t *desk = p->desk ? p->desk + (size_t)(y / p->ds) * p->dgw : NULL;
        uint8_t *out = s->decision + (size_t)y * p->w;
        for (int x = 0; x < p->w; x++) {
            if (desk && desk[x / p->ds]) {
                out[x] = DG_STEP_DESK;
            } else if (ink[x] && code) {
                out[x] = code[(size_t)(y / p->cs) * p->cgw + x / p->cs];
            }
        }
    }
    free(code);
    return DG_OK;
}

/* ---------------------------------------------------------------- the pipeline */

/* The whole pipeline on img pooled by q; *side gets the longer side of the digit's ink box
 * in the pooled pixels (0 when there is no digit). steps (may be NULL) gets the page, the
 * ink map and the decisions at this resolution (its info is the caller's to fill). */
static dg_status preprocess_pooled(const dg_image *img, int q, uint8_t out[DG_MNIST_PIXELS],
                                   dg_preprocess_info *info, int *side, dg_prep_steps *steps)
{
    memset(out, 0, DG_MNIST_PIXELS);
    memset(info, 0, sizeof *info);
    *side = 0;
    dg_prep p;
    dg_prep_status status;
    dg_status st = dg_prep_build_ink(&p, img, q, steps != NULL, &status);
    if (st == DG_OK && steps) {
        dg_prep_steps_free(steps);
        steps->scale = q;
        steps->page = p.page; /* taken: the ink map goes on being used, so it is copied */
        p.page = NULL;
        st = dg_image_new(p.w, p.h, 1, &steps->ink);
        if (st == DG_OK) {
            memcpy(steps->ink->pixels, p.ink->pixels, (size_t)p.w * p.h);
        }
    }
    int *keep = NULL;
    int n_kept = 0, n_left = 0;
    if (st == DG_OK && status == DG_PREP_OK) {
        keep = malloc(sizeof *keep * (size_t)(p.n_comps ? p.n_comps : 1));
        st = keep ? DG_OK : dg_prep_nomem();
    }
    if (st == DG_OK && status == DG_PREP_OK) {
        for (int i = 0; i < p.n_comps; i++) {
            n_left += p.comps[i].keep;
        }
        n_kept = choose_digit(&p, keep);
        if (n_kept == 0) {
            status = DG_PREP_NO_DIGIT;
        } else {
            dg_prep_assign_owners(&p, keep);
            st = digit_to_mnist(&p, img, q, out, info, &status, side);
        }
        if (n_left == 0) {
            status = DG_PREP_NO_DIGIT;
        }
    }
    if (st == DG_OK && steps) {
        st = fill_decisions(&p, keep, status == DG_PREP_OK && n_kept > 0, steps);
    }
    if (st == DG_OK) {
        info->status = status;
        dg_prep_fill_levels(&p, info);
        info->components = n_left;
        info->kept = status == DG_PREP_OK ? n_kept : 0;
    }
    if (st != DG_OK || status != DG_PREP_OK) {
        memset(out, 0, DG_MNIST_PIXELS);
        *side = 0;
    }
    free(keep);
    dg_prep_free(&p);
    return st;
}

/* dg_preprocess, and with steps (may be NULL) dg_preprocess_steps: the same work either way. */
static dg_status preprocess(const dg_image *img, uint8_t out[DG_MNIST_PIXELS],
                            dg_preprocess_info *info, dg_prep_steps *steps)
{
    if (!out) {
        return dg_fail(DG_ERR_ARG, "preprocess: no output buffer");
    }
    memset(out, 0, DG_MNIST_PIXELS);
    dg_preprocess_info local;
    info = info ? info : &local;
    memset(info, 0, sizeof *info);
    dg_status st = dg_prep_check_image(img, "preprocess");
    if (st != DG_OK) {
        return st;
    }
    /* A drawing of thin strokes on a flat ground (a drawing program's pen) is worked on
     * pooled so that the drawing is about DRAWN_WORK_SIDE pixels, by at most
     * DRAWN_MAX_POOL, when its strokes, even grown by the pooling, are narrow enough to be
     * redrawn at MNIST's width in the end anyway, and it stays clear of the border (no
     * ruling, frame or dust across the page); pooling by extremes keeps them. A digit
     * found smaller than DIGIT_MIN_SIDE there is done again at up to POOL_SIDE pixels a
     * side, the side every other picture gets, which bounds the work on big photos. */
    int L = img->w > img->h ? img->w : img->h;
    int q_fine = dg_ceil_div(L, POOL_SIDE);
    int side = 0;
    drawing d;
    if (L > DRAWN_WORK_SIDE && flat_ground(img, &d)) {
        int q =
            d.side / DRAWN_WORK_SIDE < DRAWN_MAX_POOL ? d.side / DRAWN_WORK_SIDE : DRAWN_MAX_POOL;
        double in_box = (d.run + q - 1) * DG_MNIST_BOX / (d.side > 0 ? d.side : 1);
        if (q > q_fine && d.clear && in_box < DG_PREP_REDRAWN_BELOW) {
            st = preprocess_pooled(img, q, out, info, &side, steps);
            if (st != DG_OK || side >= DIGIT_MIN_SIDE) {
                return st;
            }
        }
    }
    return preprocess_pooled(img, q_fine, out, info, &side, steps);
}

dg_status dg_preprocess(const dg_image *img, uint8_t out[DG_MNIST_PIXELS], dg_preprocess_info *info)
{
    return preprocess(img, out, info, NULL);
}

dg_status dg_preprocess_steps(const dg_image *img, dg_prep_steps *out)
{
    if (!out) {
        return dg_fail(DG_ERR_ARG, "preprocess steps: no output");
    }
    memset(out, 0, sizeof *out);
    dg_status st = preprocess(img, out->mnist, &out->info, out);
    assert(st != DG_OK || out->decision); /* every way through fills the steps */
    if (st != DG_OK) {
        dg_prep_steps_free(out);
        memset(out, 0, sizeof *out);
    }
    return st;
}

void dg_prep_steps_free(dg_prep_steps *s)
{
    if (!s) {
        return;
    }
    dg_image_free(s->page);
    dg_image_free(s->ink);
    free(s->decision);
    s->page = s->ink = NULL;
    s->decision = NULL;
    s->scale = 0;
}

const char *dg_prep_step_name(int step)
{
    static const char *const names[DG_STEP_DROPPED] = {
        "paper", "desk", "the digit", "ink left, not the digit", "ruling line", "faint ink alone"};
    if (step >= DG_STEP_DROPPED && step < DG_STEP_COUNT) {
        return dg_prep_drop_name((dg_prep_drop)(step - DG_STEP_DROPPED));
    }
    return step >= 0 && step < DG_STEP_DROPPED ? names[step] : "?";
}
