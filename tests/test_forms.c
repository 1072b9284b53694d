/*
 * test_forms.c - forms of writing drawn at training time (src/data/forms.c): a flag goes
 * on the top left of a 1 and the ink's centre of mass stays put; the seed alone decides
 * the drawing; what is no upright 1 (no ink, a speck, a 1 leaning back) is left as it is;
 * the share travels in checkpoints, is checked, and is refused for classes that are not
 * digits; a training run with it is deterministic and differs from one without.
 */
#include "test.h"

#include <stdlib.h>
#include <string.h>

#define SIDE 28
#define PIX  (SIDE * SIDE)

/* A 1 as MNIST writes one: a bar 3 pixels wide from row 4 to row 23, leaning by lean
 * pixels over its height (positive: the top to the right). */
static void one(uint8_t *img, int lean)
{
    memset(img, 0, PIX);
    for (int y = 4; y < 24; y++) {
        int x = 13 + lean * (24 - y) / 20 - lean / 2;
        img[y * SIDE + x - 1] = img[y * SIDE + x] = img[y * SIDE + x + 1] = 255;
    }
}

/* Ink mass and centre of mass of img. */
static double centre(const uint8_t *img, double *cx, double *cy)
{
    double m = 0, sx = 0, sy = 0;
    for (int p = 0; p < PIX; p++) {
        m += img[p];
        sx += (double)img[p] * (p % SIDE);
        sy += (double)img[p] * (p / SIDE);
    }
    *cx = m > 0 ? sx / m : 0;
    *cy = m > 0 ? sy / m : 0;
    return m;
}

/* How far out was moved from in, by whole pixels: the offset under which the middle of
 * in's bar (rows 12-19, away from a flag and a foot) matches out best. */
static void moved_by(const uint8_t *in, const uint8_t *out, int *dx, int *dy)
{
    long best = -1;
    for (int oy = -3; oy <= 3; oy++) {
        for (int ox = -3; ox <= 3; ox++) {
            long diff = 0;
            for (int y = 12; y < 20; y++) {
                for (int x = 3; x < SIDE - 3; x++) {
                    diff += labs((long)in[y * SIDE + x] - out[(y + oy) * SIDE + x + ox]);
                }
            }
            if (best < 0 || diff < best) {
                best = diff;
                *dx = ox;
                *dy = oy;
            }
        }
    }
}

DG_TEST(flagged_one_has_a_flag_at_its_top_left)
{
    uint8_t in[PIX], work[PIX], out[PIX];
    for (int lean = 0; lean <= 6; lean += 3) {
        one(in, lean);
        double cx0, cy0, cx1, cy1;
        double before = centre(in, &cx0, &cy0);
        for (uint64_t seed = 1; seed <= 20; seed++) {
            dg_form_flagged_one(seed, in, SIDE, SIDE, work, out);
            double after = centre(out, &cx1, &cy1);
            CHECK_MSG(after > before * 1.05, "lean %d seed %llu: ink %g, was %g", lean,
                      (unsigned long long)seed, after, before);
            /* moved by whole pixels: within half a pixel, and a little more for rounding */
            CHECK(fabs(cx1 - cx0) <= 0.6 && fabs(cy1 - cy0) <= 0.6);
            /* the new ink: a good part in the top half (the foot's is at the bottom), and
             * there left of the bar's top but for the flag's round start */
            double new_ink = 0, top = 0, top_left = 0;
            int top_x = 13 + lean - lean / 2; /* the bar's middle column in its top row */
            int dx = 0, dy = 0;
            moved_by(in, out, &dx, &dy);
            for (int y = 0; y < SIDE; y++) {
                for (int x = 0; x < SIDE; x++) {
                    int sx = x - dx, sy = y - dy;
                    int was = sx >= 0 && sx < SIDE && sy >= 0 && sy < SIDE ? in[sy * SIDE + sx] : 0;
                    int added = out[y * SIDE + x] - was;
                    if (added > 0) {
                        new_ink += added;
                        top += sy < 14 ? added : 0;
                        top_left += sy < 14 && sx <= top_x + 1 ? added : 0;
                    }
                }
            }
            CHECK_MSG(top > 0.15 * new_ink && top_left > 0.7 * top,
                      "lean %d seed %llu: new ink %g, %g in the top half, %g of it left", lean,
                      (unsigned long long)seed, new_ink, top, top_left);
        }
    }
}

DG_TEST(flagged_one_is_a_function_of_the_seed)
{
    uint8_t in[PIX], work[PIX], a[PIX], b[PIX], c[PIX];
    one(in, 2);
    dg_form_flagged_one(7, in, SIDE, SIDE, work, a);
    memset(work, 0xff, sizeof work); /* the work space holds nothing between calls */
    dg_form_flagged_one(7, in, SIDE, SIDE, work, b);
    dg_form_flagged_one(8, in, SIDE, SIDE, work, c);
    CHECK(!memcmp(a, b, PIX));
    CHECK(memcmp(a, c, PIX) != 0);
}

DG_TEST(flagged_one_leaves_what_is_no_upright_one)
{
    uint8_t in[PIX], work[PIX], out[PIX];
    memset(in, 0, PIX);
    dg_form_flagged_one(1, in, SIDE, SIDE, work, out);
    CHECK(!memcmp(in, out, PIX));
    in[14 * SIDE + 14] = in[14 * SIDE + 15] = 255; /* a speck */
    dg_form_flagged_one(1, in, SIDE, SIDE, work, out);
    CHECK(!memcmp(in, out, PIX));
    one(in, -8); /* leaning back: its top to the left of its foot */
    dg_form_flagged_one(1, in, SIDE, SIDE, work, out);
    CHECK(!memcmp(in, out, PIX));
}

/* 200 images of ten classes: 1s as bars, the other classes rings. */
static dg_dataset *ones_and_rings(void)
{
    dg_dataset *ds = test_dataset_new(200, SIDE);
    if (!ds) {
        return NULL;
    }
    for (uint32_t i = 0; i < ds->n; i++) {
        uint8_t *img = ds->images + (size_t)i * PIX;
        ds->labels[i] = (uint8_t)(i % 10);
        if (ds->labels[i] == 1) {
            one(img, (int)(i % 5));
            continue;
        }
        for (int y = 0; y < SIDE; y++) {
            for (int x = 0; x < SIDE; x++) {
                double dx = x - 13.5, dy = y - 13.5, r = sqrt(dx * dx + dy * dy);
                img[y * SIDE + x] = fabs(r - 3.0 - (double)(i % 10) * 0.5) < 1.2 ? 255 : 0;
            }
        }
    }
    return ds;
}

static dg_status save_checkpoint(void *user, const dg_checkpoint *ck)
{
    return dg_checkpoint_save(user, ck);
}

/* Trains "flatten, dense 10" one epoch with the share given; its weights into *out (which
 * the caller frees) and the share its checkpoint kept into *kept. */
static dg_status train_with_share(const dg_dataset *ds, float share, const dg_model_meta *meta,
                                  float **out, float *kept)
{
    char path[512];
    snprintf(path, sizeof path, "%s/forms.ckpt", test_tmp_dir());
    *out = NULL;
    dg_net *net = NULL;
    dg_checkpoint *ck = NULL;
    dg_train_config cfg = dg_train_defaults();
    cfg.epochs = 1;
    cfg.batch = 20;
    cfg.flagged_ones = share;
    cfg.meta = meta;
    dg_train_callbacks cb = {.user = path, .on_checkpoint = save_checkpoint};
    dg_status st = dg_net_new("flatten, dense 10", (dg_shape){1, SIDE, SIDE}, &net);
    st = st ? st : dg_train(net, ds, &cfg, &cb);
    st = st ? st : dg_checkpoint_load(path, &ck);
    if (st == DG_OK) {
        *kept = dg_checkpoint_config(ck)->flagged_ones;
        size_t n = dg_net_param_count(net);
        *out = malloc(n * sizeof **out);
        if (*out) {
            memcpy(*out, dg_net_params(net), n * sizeof **out);
        }
    }
    dg_checkpoint_free(ck);
    dg_net_free(net);
    return st;
}

DG_TEST(train_with_flagged_ones_is_deterministic_and_kept)
{
    dg_dataset *ds = ones_and_rings();
    CHECK(ds);
    float *a = NULL, *b = NULL, *plain = NULL;
    float kept_a = -1, kept_b = -1, kept_plain = -1;
    dg_status st = train_with_share(ds, 0.75f, NULL, &a, &kept_a);
    st = st ? st : train_with_share(ds, 0.75f, NULL, &b, &kept_b);
    st = st ? st : train_with_share(ds, 0.0f, NULL, &plain, &kept_plain);
    size_t bytes = (size_t)(PIX * 10 + 10) * sizeof(float);
    bool same = st == DG_OK && a && b && !memcmp(a, b, bytes);
    bool other = st == DG_OK && a && plain && memcmp(a, plain, bytes) != 0;
    free(a);
    free(b);
    free(plain);
    dg_dataset_free(ds);
    CHECK_OK(st);
    CHECK(same);
    CHECK(other);
    CHECK(kept_a == 0.75f && kept_plain == 0.0f);
}

DG_TEST(flagged_ones_are_checked)
{
    dg_dataset *ds = ones_and_rings();
    CHECK(ds);
    float *w = NULL, kept;
    dg_status out_of_range = train_with_share(ds, 1.5f, NULL, &w, &kept);
    free(w);
    dg_model_meta fashion;
    dg_model_meta_default(&fashion);
    fashion.classes = 10;
    snprintf(fashion.labels[1], sizeof fashion.labels[1], "%s", "Trouser");
    dg_status not_digits = train_with_share(ds, 0.5f, &fashion, &w, &kept);
    bool names_it = strstr(dg_last_error(), "'Trouser'") != NULL;
    free(w);
    snprintf(fashion.labels[1], sizeof fashion.labels[1], "%s", "1");
    dg_status digits = train_with_share(ds, 0.5f, &fashion, &w, &kept);
    free(w);
    dg_dataset_free(ds);
    CHECK(out_of_range == DG_ERR_ARG);
    CHECK(not_digits == DG_ERR_ARG);
    CHECK(names_it);
    CHECK_OK(digits);
}
