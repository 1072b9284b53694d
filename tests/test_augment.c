/*
 * test_augment.c - training-time augmentation (src/data/augment.c): with every range zero
 * it is exactly the normalisation; a seed gives the same bits every time and another seed
 * other images; the ink stays about where and how much it was; a training run with it is
 * deterministic for a seed and thread count, and differs with another seed; the ranges
 * travel in checkpoints.
 */
#include "test.h"

#include <stdlib.h>
#include <string.h>

#define SIDE 28
#define PIX  (SIDE * SIDE)

/* A ring of ink, radius 7, centred: something with a centre and a mass. */
static void ring(uint8_t *img)
{
    for (int y = 0; y < SIDE; y++) {
        for (int x = 0; x < SIDE; x++) {
            double dx = x - 13.5, dy = y - 13.5, r = sqrt(dx * dx + dy * dy);
            img[y * SIDE + x] = fabs(r - 7.0) < 1.5 ? 255 : 0;
        }
    }
}

static float *work_buffer(void)
{
    return malloc(dg_augment_work_floats(SIDE, SIDE) * sizeof(float));
}

DG_TEST(augment_with_zero_ranges_is_normalisation)
{
    uint8_t img[PIX];
    dg_rng rng;
    dg_rng_seed(&rng, 3);
    for (int i = 0; i < PIX; i++) {
        img[i] = (uint8_t)dg_rng_below(&rng, 256);
    }
    dg_augment a = {.on = true, .elastic_sigma = 4.0f};
    dg_norm norm = {1.0f / 255.0f, 0.1307f, 0.3081f};
    float want[PIX], got[PIX];
    float *work = work_buffer();
    CHECK(work);
    dg_normalise(&norm, img, PIX, want);
    dg_augment_image(&a, &norm, 42, img, SIDE, SIDE, work, got);
    free(work);
    CHECK(!memcmp(want, got, sizeof want));
}

DG_TEST(augment_is_a_function_of_the_seed)
{
    uint8_t img[PIX];
    ring(img);
    dg_augment a = dg_augment_defaults();
    a.elastic_alpha = 34.0f;
    dg_norm norm = dg_norm_default();
    float x[PIX], y[PIX], z[PIX], plain[PIX];
    float *work = work_buffer();
    CHECK(work);
    dg_augment_image(&a, &norm, 7, img, SIDE, SIDE, work, x);
    memset(work, 0xff, dg_augment_work_floats(SIDE, SIDE) * sizeof(float)); /* no memory */
    dg_augment_image(&a, &norm, 7, img, SIDE, SIDE, work, y);
    dg_augment_image(&a, &norm, 8, img, SIDE, SIDE, work, z);
    free(work);
    dg_normalise(&norm, img, PIX, plain);
    CHECK(!memcmp(x, y, sizeof x));
    CHECK(memcmp(x, z, sizeof x) != 0);
    CHECK(memcmp(x, plain, sizeof x) != 0);
}

/* Over many draws the map moves the ink a little and keeps about as much of it. */
DG_TEST(augment_keeps_the_ink_near)
{
    uint8_t img[PIX];
    ring(img);
    dg_augment a = dg_augment_defaults();
    a.elastic_alpha = 8.0f;
    a.elastic_sigma = 3.0f;
    dg_norm norm = dg_norm_default();
    float out[PIX], before = 0.0f;
    for (int i = 0; i < PIX; i++) {
        before += img[i] / 255.0f;
    }
    float *work = work_buffer();
    CHECK(work);
    double max_shift = 0.0, mass_lo = 1e9, mass_hi = 0.0, mean_x = 0.0;
    for (uint64_t seed = 1; seed <= 200; seed++) {
        dg_augment_image(&a, &norm, seed, img, SIDE, SIDE, work, out);
        double mass = 0.0, cx = 0.0, cy = 0.0;
        for (int i = 0; i < PIX; i++) {
            mass += out[i];
            cx += out[i] * (i % SIDE);
            cy += out[i] * (i / SIDE);
        }
        cx /= mass;
        cy /= mass;
        double shift = fmax(fabs(cx - 13.5), fabs(cy - 13.5));
        max_shift = fmax(max_shift, shift);
        mass_lo = fmin(mass_lo, mass / before);
        mass_hi = fmax(mass_hi, mass / before);
        mean_x += (cx - 13.5) / 200.0;
    }
    free(work);
    /* shift 2 px, plus what scaling and the elastic field move */
    CHECK_MSG(max_shift < 3.5 && max_shift > 0.5, "centre moved up to %.2f px", max_shift);
    CHECK_MSG(mass_lo > 0.7 && mass_hi < 1.35, "ink %.2f..%.2f of before", mass_lo, mass_hi);
    CHECK_MSG(fabs(mean_x) < 0.4, "mean horizontal shift %.2f px", mean_x);
}

DG_TEST(augment_ranges_are_checked)
{
    dg_augment a = dg_augment_defaults();
    CHECK_OK(dg_augment_check(&a));
    a.rotate = -1.0f;
    CHECK(dg_augment_check(&a) == DG_ERR_ARG);
    a = dg_augment_defaults();
    a.scale = 1.0f;
    CHECK(dg_augment_check(&a) == DG_ERR_ARG);
    a = dg_augment_defaults();
    a.elastic_sigma = 100.0f;
    CHECK(dg_augment_check(&a) == DG_ERR_ARG);
    a.elastic_sigma = NAN;
    CHECK(dg_augment_check(&a) == DG_ERR_ARG);
}

/* 240 ring-or-bar images of two classes, with noise. */
static dg_dataset *two_classes(void)
{
    dg_dataset *ds = test_dataset_new(240, SIDE);
    if (!ds) {
        return NULL;
    }
    dg_rng rng;
    dg_rng_seed(&rng, 9);
    for (uint32_t i = 0; i < ds->n; i++) {
        uint8_t *img = ds->images + (size_t)i * PIX;
        ds->labels[i] = (uint8_t)(i % 2);
        if (i % 2) {
            ring(img);
        } else {
            for (int y = 6; y < 22; y++) {
                img[y * SIDE + 13] = img[y * SIDE + 14] = 255;
            }
        }
        for (int p = 0; p < PIX; p++) {
            img[p] = (uint8_t)(img[p] | dg_rng_below(&rng, 40));
        }
    }
    return ds;
}

/* Trains a small net with threads threads and seed, augmentation on; weights into *out. */
static dg_status train_weights(const dg_dataset *ds, int threads, uint64_t seed, bool augment,
                               float **out)
{
    *out = NULL;
    dg_net *net;
    dg_status st =
        dg_net_new("conv 4 3 relu, maxpool 2, flatten, dense 2", (dg_shape){1, SIDE, SIDE}, &net);
    st = st ? st : dg_net_set_threads(net, threads);
    dg_train_config cfg = dg_train_defaults();
    cfg.epochs = 2;
    cfg.batch = 16;
    cfg.seed = seed;
    cfg.augment.on = augment;
    cfg.augment.elastic_alpha = 20.0f;
    st = st ? st : dg_train(net, ds, &cfg, NULL);
    if (st == DG_OK) {
        size_t n = dg_net_param_count(net);
        *out = malloc(n * sizeof **out);
        if (*out) {
            memcpy(*out, dg_net_params(net), n * sizeof **out);
        } else {
            st = DG_ERR_NOMEM;
        }
    }
    dg_net_free(net);
    return st;
}

DG_TEST(train_with_augmentation_is_deterministic)
{
    dg_dataset *ds = two_classes();
    CHECK(ds);
    float *a = NULL, *b = NULL, *c = NULL, *plain = NULL;
    dg_status st = train_weights(ds, 2, 5, true, &a);
    st = st ? st : train_weights(ds, 2, 5, true, &b);
    st = st ? st : train_weights(ds, 2, 6, true, &c);
    st = st ? st : train_weights(ds, 2, 5, false, &plain);
    size_t bytes = (size_t)(4 * 9 + 4 + 4 * 13 * 13 * 2 + 2) * sizeof(float);
    bool same = st == DG_OK && !memcmp(a, b, bytes);
    bool other_seed = st == DG_OK && memcmp(a, c, bytes) != 0;
    bool other_plain = st == DG_OK && memcmp(a, plain, bytes) != 0;
    free(a);
    free(b);
    free(c);
    free(plain);
    dg_dataset_free(ds);
    CHECK_OK(st);
    CHECK(same);
    CHECK(other_seed);
    CHECK(other_plain);
}

/* The ranges go into a checkpoint and come back. */
static dg_status save_ranges(void *user, const dg_checkpoint *ck)
{
    return dg_checkpoint_save(user, ck);
}

DG_TEST(checkpoint_keeps_augmentation)
{
    dg_dataset *ds = two_classes();
    CHECK(ds);
    char path[512];
    snprintf(path, sizeof path, "%s/aug.ckpt", test_tmp_dir());
    dg_net *net = NULL;
    dg_checkpoint *ck = NULL;
    dg_train_config cfg = dg_train_defaults();
    cfg.epochs = 1;
    cfg.augment = (dg_augment){true, 12.5f, 0.05f, 1.5f, 3.0f, 30.0f, 3.5f};
    dg_train_callbacks cb = {.user = path, .on_checkpoint = save_ranges};
    dg_status st = dg_net_new("flatten, dense 2", (dg_shape){1, SIDE, SIDE}, &net);
    st = st ? st : dg_train(net, ds, &cfg, &cb);
    st = st ? st : dg_checkpoint_load(path, &ck);
    dg_augment got = {0};
    if (st == DG_OK) {
        got = dg_checkpoint_config(ck)->augment;
    }
    dg_checkpoint_free(ck);
    dg_net_free(net);
    dg_dataset_free(ds);
    CHECK_OK(st);
    CHECK(got.on && got.rotate == 12.5f && got.scale == 0.05f && got.shift == 1.5f);
    CHECK(got.shear == 3.0f && got.elastic_alpha == 30.0f && got.elastic_sigma == 3.5f);
}
