/*
 * test_synth.c - the synthetic digit renderer: every template of every digit renders on
 * every canvas, a seed gives the same image, the ink stays inside the canvas and inside
 * the reported boxes, MNIST frames look like MNIST, bad styles are refused.
 */
#include "synth/synth.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

/* Grey level of pixel (x, y), whatever the channel count. */
static int grey_at(const dg_image *img, int x, int y)
{
    const uint8_t *p = &img->pixels[((size_t)y * img->w + x) * img->channels];
    return img->channels == 1 ? p[0] : (p[0] + p[1] + p[2]) / 3;
}

/* Pixels darker than level. */
static long count_dark(const dg_image *img, int level)
{
    long n = 0;
    for (int y = 0; y < img->h; y++) {
        for (int x = 0; x < img->w; x++) {
            n += grey_at(img, x, y) < level;
        }
    }
    return n;
}

DG_TEST(synth_every_template_every_canvas)
{
    dg_rng rng;
    dg_rng_seed(&rng, 11);
    for (int canvas = 0; canvas < DG_SYNTH_CANVAS_COUNT; canvas++) {
        for (int d = 0; d < 10; d++) {
            int n = dg_synth_variant_count(d);
            CHECK_MSG(n >= 2, "digit %d has %d templates", d, n);
            for (int v = 0; v < n; v++) {
                dg_synth_style st;
                do {
                    dg_synth_random_style(&rng, &st);
                } while ((int)st.canvas != canvas);
                st.variant = v;
                st.height = st.height > 120 ? 120 : st.height;
                dg_image *img = NULL;
                CHECK_OK(dg_synth_digit(&rng, d, &st, &img));
                CHECK(img && img->w > 0 && img->h > 0);
                CHECK(img->channels == (canvas == DG_SYNTH_MNIST ? 1 : st.channels));
                if (canvas == DG_SYNTH_MNIST) {
                    CHECK(img->w == 28 && img->h == 28);
                }
                dg_image_free(img);
            }
        }
    }
    CHECK(dg_synth_variant_count(-1) == 0 && dg_synth_variant_count(10) == 0);
}

DG_TEST(synth_plain_digit_has_ink)
{
    dg_rng rng;
    dg_rng_seed(&rng, 3);
    for (int d = 0; d < 10; d++) {
        for (int v = 0; v < dg_synth_variant_count(d); v++) {
            dg_synth_style st;
            dg_synth_style_default(&st);
            st.variant = v;
            dg_image *img;
            CHECK_OK(dg_synth_digit(&rng, d, &st, &img));
            /* a 100 px digit with an 8 px pen: hundreds of dark pixels, most still white */
            long dark = count_dark(img, 128);
            CHECK_MSG(dark > 300 && dark < (long)img->w * img->h / 2, "digit %d/%d: %ld dark", d, v,
                      dark);
            dg_image_free(img);
        }
    }
}

DG_TEST(synth_same_seed_same_image)
{
    for (int i = 0; i < 8; i++) {
        dg_image *a, *b;
        dg_synth_style st;
        dg_rng rng;
        dg_rng_seed(&rng, 100 + i);
        dg_synth_random_style(&rng, &st);
        CHECK_OK(dg_synth_number(&rng, "2024", &st, &a, NULL));
        dg_rng_seed(&rng, 100 + i);
        dg_synth_random_style(&rng, &st);
        CHECK_OK(dg_synth_number(&rng, "2024", &st, &b, NULL));
        CHECK(a->w == b->w && a->h == b->h && a->channels == b->channels);
        CHECK(!memcmp(a->pixels, b->pixels, (size_t)a->w * a->h * a->channels));
        dg_image_free(b);
        dg_rng_seed(&rng, 200 + i);
        dg_synth_random_style(&rng, &st);
        CHECK_OK(dg_synth_number(&rng, "2024", &st, &b, NULL));
        CHECK(a->w != b->w || a->h != b->h || a->channels != b->channels ||
              memcmp(a->pixels, b->pixels, (size_t)a->w * a->h * a->channels));
        dg_image_free(a);
        dg_image_free(b);
    }
}

DG_TEST(synth_ink_inside_canvas_and_boxes)
{
    dg_rng rng;
    dg_rng_seed(&rng, 5);
    const char *numbers[] = {"7", "42", "2024", "31415", "1234567890", "555"};
    for (int i = 0; i < 60; i++) {
        const char *num = numbers[i % 6];
        dg_synth_style st;
        dg_synth_style_default(&st);
        st.height = 30 + (int)dg_rng_below(&rng, 90);
        st.stroke = 0.02f + 0.1f * dg_rng_uniform(&rng);
        st.rotation = 30.0f * dg_rng_uniform(&rng) - 15.0f;
        st.slant = 0.6f * dg_rng_uniform(&rng) - 0.3f;
        st.jitter = 0.05f * dg_rng_uniform(&rng);
        st.gap = 0.4f * dg_rng_uniform(&rng) - 0.1f;
        st.broken = 0.5f;
        st.margin = 0.5f * dg_rng_uniform(&rng);
        st.antialias = i % 2;
        dg_digit_box boxes[16];
        dg_image *img;
        CHECK_OK(dg_synth_number(&rng, num, &st, &img, boxes));
        /* the margin keeps ink off the edges: the border is pure paper */
        for (int x = 0; x < img->w; x++) {
            CHECK_MSG(grey_at(img, x, 0) == 255 && grey_at(img, x, img->h - 1) == 255,
                      "%s: ink on the top or bottom edge", num);
        }
        for (int y = 0; y < img->h; y++) {
            CHECK_MSG(grey_at(img, 0, y) == 255 && grey_at(img, img->w - 1, y) == 255,
                      "%s: ink on the left or right edge", num);
        }
        /* each box lies in the image, holds ink, and boxes run left to right */
        long inside = 0;
        for (size_t k = 0; k < strlen(num); k++) {
            const dg_digit_box *b = &boxes[k];
            CHECK_MSG(b->w > 0 && b->h > 0 && b->x >= 0 && b->y >= 0 && b->x + b->w <= img->w &&
                          b->y + b->h <= img->h,
                      "%s: box %zu (%d,%d %dx%d) outside %dx%d", num, k, b->x, b->y, b->w, b->h,
                      img->w, img->h);
            if (k > 0) {
                CHECK(b->x + b->w / 2 > boxes[k - 1].x + boxes[k - 1].w / 2);
            }
        }
        /* every dark pixel belongs to some digit's box */
        long dark = 0;
        for (int y = 0; y < img->h; y++) {
            for (int x = 0; x < img->w; x++) {
                if (grey_at(img, x, y) >= 128) {
                    continue;
                }
                dark++;
                for (size_t k = 0; k < strlen(num); k++) {
                    const dg_digit_box *b = &boxes[k];
                    if (x >= b->x && x < b->x + b->w && y >= b->y && y < b->y + b->h) {
                        inside++;
                        break;
                    }
                }
            }
        }
        CHECK_MSG(dark > 0 && inside == dark, "%s: %ld of %ld dark pixels in boxes", num, inside,
                  dark);
        dg_image_free(img);
    }
}

DG_TEST(synth_mnist_frame)
{
    dg_rng rng;
    dg_rng_seed(&rng, 8);
    for (int i = 0; i < 50; i++) {
        dg_synth_style st;
        do {
            dg_synth_random_style(&rng, &st);
        } while (st.canvas != DG_SYNTH_MNIST);
        dg_image *img;
        CHECK_OK(dg_synth_digit(&rng, i % 10, &st, &img));
        CHECK(img->w == 28 && img->h == 28 && img->channels == 1);
        /* white on black, ink box at most about 20x20, centre of mass near (14, 14) */
        double sum = 0, sx = 0, sy = 0;
        int x0 = 28, x1 = -1, y0 = 28, y1 = -1;
        for (int y = 0; y < 28; y++) {
            for (int x = 0; x < 28; x++) {
                int p = img->pixels[y * 28 + x];
                sum += p;
                sx += p * (x + 0.5);
                sy += p * (y + 0.5);
                if (p > 64) {
                    x0 = x < x0 ? x : x0;
                    x1 = x > x1 ? x : x1;
                    y0 = y < y0 ? y : y0;
                    y1 = y > y1 ? y : y1;
                }
            }
        }
        CHECK(sum > 0);
        CHECK_NEAR(sx / sum, 14.0, 1.0);
        CHECK_NEAR(sy / sum, 14.0, 1.0);
        CHECK_MSG(x1 - x0 + 1 <= 22 && y1 - y0 + 1 <= 22 && y1 - y0 + 1 >= 12,
                  "digit %d: ink box %dx%d", i % 10, x1 - x0 + 1, y1 - y0 + 1);
        CHECK(img->pixels[0] == 0 && img->pixels[27] == 0 && img->pixels[27 * 28] == 0);
        dg_image_free(img);
    }
}

DG_TEST(synth_random_styles_render)
{
    dg_rng rng;
    dg_rng_seed(&rng, 21);
    for (int i = 0; i < 40; i++) {
        dg_synth_style st;
        dg_synth_random_style(&rng, &st);
        st.height = st.height > 100 ? 100 : st.height;
        char num[8];
        int len = 1 + (int)dg_rng_below(&rng, 6);
        for (int k = 0; k < len; k++) {
            num[k] = (char)('0' + dg_rng_below(&rng, 10));
        }
        num[len] = '\0';
        dg_image *img;
        CHECK_OK(dg_synth_number(&rng, num, &st, &img, NULL));
        CHECK(img->w > 0 && img->h > 0);
        dg_image_free(img);
    }
}

DG_TEST(synth_bad_arguments)
{
    dg_rng rng;
    dg_rng_seed(&rng, 1);
    dg_synth_style st;
    dg_synth_style_default(&st);
    dg_image *img = (dg_image *)&st; /* must come back NULL */
    CHECK_STATUS(dg_synth_digit(&rng, 10, &st, &img), DG_ERR_ARG);
    CHECK(img == NULL);
    img = (dg_image *)&st;
    CHECK_STATUS(dg_synth_number(&rng, "12a", &st, &img, NULL), DG_ERR_ARG);
    CHECK(img == NULL);
    CHECK_STATUS(dg_synth_number(&rng, "", &st, &img, NULL), DG_ERR_ARG);
    CHECK_STATUS(dg_synth_number(&rng, "123456789012345678901234567890123", &st, &img, NULL),
                 DG_ERR_ARG);
    dg_synth_style bad = st;
    bad.height = 0;
    CHECK_STATUS(dg_synth_digit(&rng, 3, &bad, &img), DG_ERR_ARG);
    CHECK(strstr(dg_last_error(), "height"));
    bad = st;
    bad.stroke = NAN;
    CHECK_STATUS(dg_synth_digit(&rng, 3, &bad, &img), DG_ERR_ARG);
    bad = st;
    bad.channels = 2;
    CHECK_STATUS(dg_synth_digit(&rng, 3, &bad, &img), DG_ERR_ARG);
    bad = st;
    bad.canvas = DG_SYNTH_CANVAS_COUNT;
    CHECK_STATUS(dg_synth_digit(&rng, 3, &bad, &img), DG_ERR_ARG);
    /* a 600 px digit with a 4-height margin on every side is too large for 32 digits */
    bad = st;
    bad.height = 600;
    bad.margin = 4.0f;
    bad.gap = 1.0f;
    CHECK_STATUS(dg_synth_number(&rng, "12345678901234567890123456789012", &bad, &img, NULL),
                 DG_ERR_TOO_LARGE);
    CHECK(img == NULL);
}
