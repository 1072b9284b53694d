/*
 * test_segment.c - splitting written numbers into digits, checked on synthetic numbers
 * whose true digit boxes are known: the right count in the right order on a stated share of
 * clean, mixed, touching and broken numbers; nothing on blank pages; no crash on a huge
 * blob, a black page or noise.
 */
#include "synth/synth.h"
#include "test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Right count, and found digit k's centre column inside true digit k's box. */
static bool matches(const dg_segmentation *seg, const dg_digit_box *truth, int n)
{
    if (seg->n != n) {
        return false;
    }
    for (int k = 0; k < n; k++) {
        int cx = seg->boxes[k].x + seg->boxes[k].w / 2;
        if (cx < truth[k].x || cx >= truth[k].x + truth[k].w) {
            return false;
        }
    }
    return true;
}

static void random_number(dg_rng *rng, char *num, int max_len)
{
    int len = 1 + (int)dg_rng_below(rng, (uint32_t)max_len);
    for (int k = 0; k < len; k++) {
        num[k] = (char)('0' + dg_rng_below(rng, 10));
    }
    num[len] = '\0';
}

typedef enum mix { MIX_CLEAN, MIX_RANDOM, MIX_TOUCHING, MIX_BROKEN_FIVES } mix;

/*
 * Renders n numbers ("2024" and "31415" first, then random ones of 1-6 digits) in styles
 * of the given mix and returns how many were segmented right; *done counts the numbers
 * that were both drawn and segmented without an error status. Heights are capped so the
 * test stays quick.
 */
static int segment_share(mix m, int n, uint64_t seed, int *done)
{
    dg_rng rng;
    dg_rng_seed(&rng, seed);
    int right = 0;
    *done = 0;
    for (int i = 0; i < n; i++) {
        char num[8];
        if (i == 0) {
            strcpy(num, "2024");
        } else if (i == 1) {
            strcpy(num, "31415");
        } else {
            random_number(&rng, num, 6);
        }
        dg_synth_style st;
        do {
            dg_synth_random_style(&rng, &st);
        } while (st.canvas == DG_SYNTH_MNIST);
        st.height = st.height > 120 ? 120 : st.height;
        if (m == MIX_CLEAN) {
            /* the same shapes, on a plain page: what the segmenter itself gets right */
            st.paper[0] = st.paper[1] = st.paper[2] = 255;
            st.ink[0] = st.ink[1] = st.ink[2] = 0;
            st.noise = st.lighting = st.blur = st.specks = st.grain = 0.0f;
            st.lines = DG_SYNTH_LINES_NONE;
        } else if (m == MIX_TOUCHING) {
            /* every other number written tightly: neighbours touch or cross at an edge */
            st.gap = i % 2 ? -0.04f : st.gap;
        } else if (m == MIX_BROKEN_FIVES) {
            for (int k = 0; num[k]; k += 2) {
                num[k] = '5';
            }
            st.broken = 1.0f;
        }
        dg_image *img;
        dg_digit_box truth[8];
        if (dg_synth_number(&rng, num, &st, &img, truth) != DG_OK) {
            continue;
        }
        dg_segmentation *seg;
        if (dg_segment(img, &seg) == DG_OK) {
            right += matches(seg, truth, (int)strlen(num));
            dg_segmentation_free(seg);
            (*done)++;
        }
        dg_image_free(img);
    }
    return right;
}

/*
 * Floors a little under the shares measured with these seeds (clean 96, mixed 91, half
 * touching 78, broken 5s 94 of 100). Clean pages test the segmenter itself; on mixed
 * pages most misses are faint pencil or photos whose ink map lost strokes, so that floor
 * leaves room for the ink map to change. On 200 numbers with every neighbour touching,
 * about 7 in 10 are right: a 1 touching a wide digit cannot be told from one wide digit.
 */
DG_TEST(segment_synthetic_clean_numbers)
{
    int done, right = segment_share(MIX_CLEAN, 100, 77, &done);
    CHECK_MSG(done == 100, "%d of 100 numbers drawn and segmented: %s", done, dg_last_error());
    CHECK_MSG(right >= 90, "%d of 100 clean numbers segmented right, want >= 90", right);
}

DG_TEST(segment_synthetic_mixed_numbers)
{
    int done, right = segment_share(MIX_RANDOM, 100, 78, &done);
    CHECK_MSG(done == 100, "%d of 100 numbers drawn and segmented: %s", done, dg_last_error());
    CHECK_MSG(right >= 85, "%d of 100 numbers on mixed pages segmented right, want >= 85", right);
}

DG_TEST(segment_synthetic_touching_numbers)
{
    int done, right = segment_share(MIX_TOUCHING, 100, 79, &done);
    CHECK_MSG(done == 100, "%d of 100 numbers drawn and segmented: %s", done, dg_last_error());
    CHECK_MSG(right >= 72, "%d of 100 numbers, half touching, segmented right, want >= 72", right);
}

DG_TEST(segment_synthetic_broken_fives)
{
    int done, right = segment_share(MIX_BROKEN_FIVES, 100, 80, &done);
    CHECK_MSG(done == 100, "%d of 100 numbers drawn and segmented: %s", done, dg_last_error());
    CHECK_MSG(right >= 88, "%d of 100 numbers with broken 5s segmented right, want >= 88", right);
}

/* "2024" in a plain style: four boxes in order, each a 28x28 with ink. */
DG_TEST(segment_plain_2024)
{
    dg_rng rng;
    dg_rng_seed(&rng, 2024);
    dg_synth_style st;
    dg_synth_style_default(&st);
    st.gap = 0.25f;
    dg_image *img;
    dg_digit_box truth[4];
    CHECK_OK(dg_synth_number(&rng, "2024", &st, &img, truth));
    dg_segmentation *seg;
    CHECK_OK(dg_segment(img, &seg));
    CHECK_MSG(matches(seg, truth, 4), "found %d digits", seg->n);
    CHECK(seg->ink && seg->ink->w == img->w && seg->ink->h == img->h && seg->owner);
    for (int k = 0; k < seg->n; k++) {
        uint8_t mnist[DG_MNIST_PIXELS];
        CHECK_OK(dg_segment_to_mnist(seg, k, mnist));
        int ink = 0;
        for (int i = 0; i < DG_MNIST_PIXELS; i++) {
            ink += mnist[i] > 128;
        }
        CHECK_MSG(ink > 30, "digit %d: %d ink pixels in its 28x28", k, ink);
    }
    uint8_t mnist[DG_MNIST_PIXELS];
    CHECK_STATUS(dg_segment_to_mnist(seg, 4, mnist), DG_ERR_ARG);
    CHECK_STATUS(dg_segment_to_mnist(seg, -1, mnist), DG_ERR_ARG);
    dg_segmentation_free(seg);
    dg_image_free(img);
}

/* img enlarged k times, each pixel a k x k block. */
static dg_image *enlarged(const dg_image *img, int k)
{
    dg_image *big = NULL;
    if (dg_image_new(img->w * k, img->h * k, img->channels, &big) != DG_OK) {
        return NULL;
    }
    int c = img->channels;
    for (int y = 0; y < big->h; y++) {
        for (int x = 0; x < big->w; x++) {
            memcpy(big->pixels + ((size_t)y * big->w + x) * c,
                   img->pixels + ((size_t)(y / k) * img->w + x / k) * c, (size_t)c);
        }
    }
    return big;
}

/* A picture over 1024 px a side is segmented pooled: the ink map is the pooled size, the
 * boxes come back in the picture's pixels, and the digits are those of the small one; the
 * same with the side given (dg_segment_at). */
DG_TEST(segment_large_picture_pooled)
{
    dg_rng rng;
    dg_rng_seed(&rng, 2024);
    dg_synth_style st;
    dg_synth_style_default(&st);
    st.gap = 0.25f;
    st.height = 100;
    dg_image *img;
    dg_digit_box truth[4];
    CHECK_OK(dg_synth_number(&rng, "2024", &st, &img, truth));
    dg_image *big = enlarged(img, 6);
    CHECK(big != NULL);
    dg_segmentation *small, *seg;
    CHECK_OK(dg_segment(img, &small));
    CHECK_OK(dg_segment(big, &seg));
    int longer = big->w > big->h ? big->w : big->h;
    CHECK_MSG(small->scale == 1 && seg->scale == (longer + 1023) / 1024, "scale %d for %dx%d",
              seg->scale, big->w, big->h);
    CHECK(seg->ink->w == (big->w + seg->scale - 1) / seg->scale &&
          seg->ink->h == (big->h + seg->scale - 1) / seg->scale);
    dg_digit_box big_truth[4];
    for (int k = 0; k < 4; k++) {
        big_truth[k] =
            (dg_digit_box){6 * truth[k].x, 6 * truth[k].y, 6 * truth[k].w, 6 * truth[k].h};
    }
    CHECK_MSG(matches(seg, big_truth, 4), "found %d digits", seg->n);
    for (int k = 0; k < seg->n && k < small->n; k++) {
        const dg_digit_box *b = &seg->boxes[k], *s = &small->boxes[k];
        CHECK(b->x >= 0 && b->y >= 0 && b->x + b->w <= big->w && b->y + b->h <= big->h);
        /* the same box, six times larger, within a pooled pixel and a stroke's growth */
        int slack = 2 * seg->scale + 6;
        CHECK_MSG(abs(b->x - 6 * s->x) <= slack && abs(b->w - 6 * s->w) <= 2 * slack,
                  "digit %d: %d+%d against %d+%d", k, b->x, b->w, 6 * s->x, 6 * s->w);
        uint8_t a[DG_MNIST_PIXELS], z[DG_MNIST_PIXELS];
        CHECK_OK(dg_segment_to_mnist(seg, k, a));
        CHECK_OK(dg_segment_to_mnist(small, k, z));
        int differ = 0;
        for (int i = 0; i < DG_MNIST_PIXELS; i++) {
            differ += abs(a[i] - z[i]) > 128;
        }
        CHECK_MSG(differ < 80, "digit %d: %d of 784 pixels differ by half the range", k, differ);
    }
    /* dg_segment_at: the small picture pooled by 2 finds the same digits; side 0 never pools */
    dg_segmentation *half, *whole;
    int small_side = img->w > img->h ? img->w : img->h;
    CHECK_OK(dg_segment_at(img, (small_side + 1) / 2, &half));
    CHECK_OK(dg_segment_at(big, 0, &whole));
    CHECK_MSG(half->scale == 2 && matches(half, truth, 4), "scale %d, %d digits", half->scale,
              half->n);
    CHECK(whole->scale == 1 && whole->ink->w == big->w);
    dg_segmentation_free(half);
    dg_segmentation_free(whole);
    dg_segmentation_free(small);
    dg_segmentation_free(seg);
    dg_image_free(big);
    dg_image_free(img);
}

/* A touching pair cut apart: the owner map gives each digit only its own pixels. */
DG_TEST(segment_touching_pair_owners)
{
    dg_rng rng;
    dg_rng_seed(&rng, 40);
    dg_synth_style st;
    dg_synth_style_default(&st);
    st.gap = -0.05f;
    st.variant = 0;
    dg_image *img;
    dg_digit_box truth[2];
    CHECK_OK(dg_synth_number(&rng, "00", &st, &img, truth));
    dg_segmentation *seg;
    CHECK_OK(dg_segment(img, &seg));
    CHECK_MSG(matches(seg, truth, 2), "found %d digits", seg->n);
    long owned[3] = {0};
    for (int i = 0; i < seg->ink->w * seg->ink->h; i++) {
        CHECK(seg->owner[i] <= 2);
        owned[seg->owner[i]]++;
    }
    CHECK(owned[1] > 100 && owned[2] > 100);
    dg_segmentation_free(seg);
    dg_image_free(img);
}

/* One digit written wide, nearly as wide as tall (0.85-0.9), alone on the page: one digit,
 * not two touching ones, since no column of it meets ink in a short stretch only. */
DG_TEST(segment_wide_single_digit_whole)
{
    static const char *const digits[] = {"0", "2", "3", "6"};
    for (int i = 0; i < 4; i++) {
        dg_rng rng;
        dg_rng_seed(&rng, 7);
        dg_synth_style st;
        dg_synth_style_default(&st);
        st.aspect = 1.5f;
        st.variant = 0;
        dg_image *img;
        dg_digit_box truth[1];
        CHECK_OK(dg_synth_number(&rng, digits[i], &st, &img, truth));
        CHECK_MSG(truth[0].w * 100 > truth[0].h * 85, "%s: %dx%d is not wide", digits[i],
                  truth[0].w, truth[0].h);
        dg_segmentation *seg;
        CHECK_OK(dg_segment(img, &seg));
        CHECK_MSG(matches(seg, truth, 1), "a wide %s: found %d digits", digits[i], seg->n);
        dg_segmentation_free(seg);
        dg_image_free(img);
    }
}

/* Pen drawings on a white page: an arc of the ellipse centred (cx, cy) with radii rx, ry from
 * angle a0 to a1 (radians, clockwise on the page from 3 o'clock), as short lines. */
static void pen_arc(dg_image *img, double cx, double cy, double rx, double ry, double a0, double a1)
{
    const int n = 48;
    for (int i = 0; i < n; i++) {
        double t0 = a0 + (a1 - a0) * i / n, t1 = a0 + (a1 - a0) * (i + 1) / n;
        dg_draw_line(img, cx + rx * cos(t0), cy + ry * sin(t0), cx + rx * cos(t1),
                     cy + ry * sin(t1), 4.0, 0x202020);
    }
}

/* Segments img and frees it: whether n digits are found, the k-th centred in the columns
 * x[k] .. x[k] + w[k]; *found says how many were found (-1: segmenting failed). */
static bool segments_into_columns(dg_image *img, const int *x, const int *w, int n, int *found)
{
    dg_segmentation *seg;
    dg_status st = dg_segment(img, &seg);
    dg_image_free(img);
    if (st != DG_OK) {
        *found = -1;
        return false;
    }
    *found = seg->n;
    bool ok = seg->n == n;
    for (int k = 0; ok && k < n; k++) {
        int cx = seg->boxes[k].x + seg->boxes[k].w / 2;
        ok = cx >= x[k] && cx <= x[k] + w[k];
    }
    dg_segmentation_free(seg);
    return ok;
}

/* "219" with the 9 written as a loop apart from its stem, the loop under half the digits'
 * height: one digit, not a 0 and a 1. */
DG_TEST(segment_nine_loop_apart_from_its_stem)
{
    dg_image *img;
    CHECK_OK(dg_canvas_new(520, 340, 0xeeeeee, &img));
    pen_arc(img, 210, 120, 55, 35, M_PI, 2.0 * M_PI); /* the 2 */
    dg_draw_line(img, 265, 120, 150, 300, 4.0, 0x202020);
    dg_draw_line(img, 150, 300, 270, 300, 4.0, 0x202020);
    dg_draw_line(img, 300, 80, 292, 300, 4.0, 0x202020); /* the 1 */
    pen_arc(img, 400, 135, 52, 48, 0.0, 2.0 * M_PI);     /* the 9: a loop 0.45 as tall */
    dg_draw_line(img, 462, 88, 456, 306, 4.0, 0x202020); /* and its stem, apart */
    const int x[3] = {148, 288, 346}, w[3] = {124, 14, 120};
    int found;
    CHECK_MSG(segments_into_columns(img, x, w, 3, &found), "found %d digits", found);
}

/* "40" with the 0 broken at its top and bottom into a wide left arc and a narrow right one
 * that shares a little over half of its columns with the left: both as tall as the digits,
 * so neither is a bar or a loop apart; one digit, not two 1s. */
DG_TEST(segment_zero_broken_into_two_arcs_whole)
{
    dg_image *img;
    CHECK_OK(dg_canvas_new(520, 340, 0xeeeeee, &img));
    dg_draw_line(img, 200, 60, 120, 220, 4.0, 0x202020); /* the 4 */
    dg_draw_line(img, 120, 220, 240, 220, 4.0, 0x202020);
    dg_draw_line(img, 215, 130, 210, 300, 4.0, 0x202020);
    pen_arc(img, 385, 180, 40, 115, 0.5 * M_PI, 1.5 * M_PI);  /* the 0: its left arc */
    pen_arc(img, 376, 180, 20, 100, -0.5 * M_PI, 0.5 * M_PI); /* and its right one */
    const int x[2] = {118, 340}, w[2] = {124, 62};
    int found;
    CHECK_MSG(segments_into_columns(img, x, w, 2, &found), "found %d digits", found);
}

/* A lone 3 written wide (0.9 of its height), the end of its top arc reaching further left
 * than the end of its bottom arc: the columns there hold the top arc alone, and where the
 * bottom arc's end comes in, a cut is cheap. The piece left of it holds both ends, far
 * apart but not joined: no connected part of it is as tall as a digit, so the 3 stays one
 * digit (the piece's height from top to bottom cut it in two). */
DG_TEST(segment_wide_three_whole)
{
    static const double pen[][2] = {{25, 69}, {40, 59}, {60, 58},  {72, 66},  {66, 80},
                                    {55, 84}, {75, 92}, {76, 106}, {62, 115}, {40, 110}};
    dg_image *img;
    CHECK_OK(dg_canvas_new(100, 130, 0xeeeeee, &img));
    for (int i = 0; i + 1 < 10; i++) {
        dg_draw_line(img, pen[i][0], pen[i][1], pen[i + 1][0], pen[i + 1][1], 4.0, 0x202020);
    }
    const int x[1] = {23}, w[1] = {56};
    int found;
    CHECK_MSG(segments_into_columns(img, x, w, 1, &found), "found %d digits", found);
}

/* A 9 below what a page's edge across the top of the photo leaves in pieces: a dozen
 * dashes, each wider than tall and a tenth of the 9's height, more of them than digits.
 * They are no digit's height: one digit (the dashes' height was taken for the digits'). */
DG_TEST(segment_dashes_of_an_edge_are_no_digits)
{
    dg_image *img;
    CHECK_OK(dg_canvas_new(300, 220, 0xeeeeee, &img));
    for (int k = 0; k < 12; k++) {
        dg_draw_line(img, 12 + 23 * k, 30, 26 + 23 * k, 31, 4.0, 0x202020);
    }
    pen_arc(img, 150, 110, 18, 20, 0.0, 2.0 * M_PI); /* the 9: its loop */
    dg_draw_line(img, 168, 110, 164, 170, 4.0, 0x202020);
    const int x[1] = {128}, w[1] = {44};
    int found;
    CHECK_MSG(segments_into_columns(img, x, w, 1, &found), "found %d digits", found);
}

/* "0550": the 5s written with a long top bar, one and a half times as wide as the 0s but
 * not as wide as tall. Two digits side by side would meet in a short stretch of a column;
 * every column of a 5 meets its bar at the top and its belly at the bottom: one digit. */
DG_TEST(segment_wide_digit_among_narrow_ones_whole)
{
    dg_image *img;
    CHECK_OK(dg_canvas_new(560, 200, 0xeeeeee, &img));
    const int x[4] = {40, 150, 290, 430}, w[4] = {64, 100, 100, 64};
    for (int k = 0; k < 4; k++) {
        if (k == 0 || k == 3) {
            pen_arc(img, x[k] + 32, 100, 32, 55, 0.0, 2.0 * M_PI);
            continue;
        }
        dg_draw_line(img, x[k], 45, x[k] + 100, 45, 4.0, 0x202020); /* the bar */
        dg_draw_line(img, x[k], 45, x[k] - 2, 100, 4.0, 0x202020);  /* the neck */
        pen_arc(img, x[k] + 45, 122, 50, 33, -0.75 * M_PI, 0.8 * M_PI);
    }
    int found;
    CHECK_MSG(segments_into_columns(img, x, w, 4, &found), "found %d digits", found);
}

/* "000" with what a tilted page's edge leaves at the frame: a short stroke at the left
 * border, a line down the whole right border, both as dark as the digits. Neither is
 * shaped like the digits beside it: three digits. */
DG_TEST(segment_border_pieces_unlike_the_digits_dropped)
{
    dg_image *img;
    CHECK_OK(dg_canvas_new(400, 200, 0xeeeeee, &img));
    const int x[3] = {72, 152, 232}, w[3] = {56, 56, 56};
    for (int k = 0; k < 3; k++) {
        pen_arc(img, x[k] + 28, 100, 28, 50, 0.0, 2.0 * M_PI);
    }
    dg_draw_line(img, 1, 80, 14, 118, 4.0, 0x202020);
    dg_draw_line(img, 380, 1, 398, 198, 4.0, 0x202020);
    int found;
    CHECK_MSG(segments_into_columns(img, x, w, 3, &found), "found %d digits", found);
}

/* A "0" with the edge of a page beside it, not on the frame: a straight line over twice as
 * tall as the digit, as dark. No digit of a number is written that much taller than the
 * others: one digit. */
DG_TEST(segment_line_far_taller_than_the_digit_dropped)
{
    dg_image *img;
    CHECK_OK(dg_canvas_new(300, 320, 0xeeeeee, &img));
    dg_draw_line(img, 40, 40, 44, 270, 4.0, 0x202020);
    pen_arc(img, 180, 160, 30, 50, 0.0, 2.0 * M_PI);
    const int x[1] = {150}, w[1] = {60};
    int found;
    CHECK_MSG(segments_into_columns(img, x, w, 1, &found), "found %d digits", found);
}

/* "00" and, beside them, a piece of a page's edge: a straight line under half as tall as
 * the digits, off the frame. A 1 is written as tall as the digits beside it: two digits. */
DG_TEST(segment_line_far_shorter_than_the_digits_dropped)
{
    dg_image *img;
    CHECK_OK(dg_canvas_new(400, 240, 0xeeeeee, &img));
    const int x[2] = {80, 180}, w[2] = {60, 60};
    for (int k = 0; k < 2; k++) {
        pen_arc(img, x[k] + 30, 120, 30, 50, 0.0, 2.0 * M_PI);
    }
    dg_draw_line(img, 320, 60, 322, 105, 4.0, 0x202020);
    int found;
    CHECK_MSG(segments_into_columns(img, x, w, 2, &found), "found %d digits", found);
}

/* "10" and "01" with the 1 written a little short or a little tall (0.7 and 1.3 times the
 * 0's height): still a 1 of the number, kept. */
DG_TEST(segment_one_about_as_tall_as_the_digits_kept)
{
    const double tall[2] = {0.7, 1.3};
    for (int i = 0; i < 2; i++) {
        dg_image *img;
        CHECK_OK(dg_canvas_new(300, 300, 0xeeeeee, &img));
        int one = i == 0 ? 70 : 200, zero = i == 0 ? 160 : 80;
        double half = 50.0 * tall[i];
        dg_draw_line(img, one + 3, 150 - half, one, 150 + half, 4.0, 0x202020);
        pen_arc(img, zero + 30, 150, 30, 50, 0.0, 2.0 * M_PI);
        const int x[2] = {i == 0 ? one - 8 : zero, i == 0 ? zero : one - 8},
                  w[2] = {i == 0 ? 16 : 60, i == 0 ? 60 : 16};
        int found;
        CHECK_MSG(segments_into_columns(img, x, w, 2, &found), "1 %.1f as tall: found %d digits",
                  tall[i], found);
    }
}

static dg_image *filled(int w, int h, int channels, uint8_t value)
{
    dg_image *img = NULL;
    if (dg_image_new(w, h, channels, &img) == DG_OK) {
        memset(img->pixels, value, (size_t)w * h * channels);
    }
    return img;
}

DG_TEST(segment_blank_pages)
{
    const uint8_t levels[] = {255, 128, 0};
    for (int i = 0; i < 3; i++) {
        dg_image *img = filled(300, 120, i == 1 ? 1 : 3, levels[i]);
        CHECK(img);
        dg_segmentation *seg;
        CHECK_OK(dg_segment(img, &seg));
        CHECK_MSG(seg->n == 0, "level %d: found %d digits", levels[i], seg->n);
        dg_segmentation_free(seg);
        dg_image_free(img);
    }
    dg_image *one = filled(1, 1, 1, 255);
    dg_segmentation *seg;
    CHECK_OK(dg_segment(one, &seg));
    CHECK(seg->n == 0);
    dg_segmentation_free(seg);
    dg_image_free(one);
}

DG_TEST(segment_huge_blob_and_noise)
{
    /* a black block filling most of a white page: one big component, no crash */
    dg_image *img = filled(1600, 1000, 1, 255);
    CHECK(img);
    for (int y = 50; y < 950; y++) {
        memset(&img->pixels[(size_t)y * 1600 + 40], 0, 1520);
    }
    dg_segmentation *seg;
    CHECK_OK(dg_segment(img, &seg));
    CHECK(seg->n >= 0 && seg->n <= DG_SEGMENT_MAX_DIGITS);
    dg_segmentation_free(seg);
    /* salt and pepper everywhere: whatever is found, the call succeeds or says too many */
    dg_rng rng;
    dg_rng_seed(&rng, 9);
    for (size_t i = 0; i < (size_t)img->w * img->h; i++) {
        img->pixels[i] = dg_rng_uniform(&rng) < 0.5f ? 0 : 255;
    }
    dg_status st = dg_segment(img, &seg);
    CHECK_MSG(st == DG_OK || st == DG_ERR_TOO_LARGE, "noise: %s", dg_last_error());
    if (st == DG_OK) {
        dg_segmentation_free(seg);
    } else {
        CHECK(seg == NULL);
    }
    dg_image_free(img);
}

DG_TEST(segment_bad_input)
{
    dg_segmentation *seg = (dg_segmentation *)1;
    CHECK_STATUS(dg_segment(NULL, &seg), DG_ERR_ARG);
    CHECK(seg == NULL);
    dg_image empty = {0, 0, 1, NULL};
    CHECK_STATUS(dg_segment(&empty, &seg), DG_ERR_ARG);
    CHECK_STATUS(dg_segment_to_mnist(NULL, 0, (uint8_t[DG_MNIST_PIXELS]){0}), DG_ERR_ARG);
    dg_segmentation_free(NULL);
}

/* A page of paper of size w x h (RGB) with noise, and the number `img` pasted at (x, y). */
static dg_image *page_with(const dg_image *img, int w, int h, int x, int y, dg_rng *rng)
{
    dg_image *page;
    if (dg_image_new(w, h, 3, &page) != DG_OK) {
        return NULL;
    }
    for (size_t i = 0; i < (size_t)w * h; i++) {
        int v = 232 + (int)(3.0f * dg_rng_normal(rng));
        page->pixels[3 * i] = page->pixels[3 * i + 1] = page->pixels[3 * i + 2] = (uint8_t)v;
    }
    for (int yy = 0; yy < img->h; yy++) {
        memcpy(&page->pixels[((size_t)(y + yy) * w + x) * 3], &img->pixels[(size_t)yy * img->w * 3],
               (size_t)img->w * 3);
    }
    return page;
}

/* The photo: a ten-digit number near the top of a white page, the hard shadow of
 * the phone over the lower third, half as bright; then the same with the shadow's edge
 * crossing the digits. The shadow is lighting, not ink. */
DG_TEST(segment_number_beside_and_under_a_hard_shadow)
{
    for (int crossing = 0; crossing < 2; crossing++) {
        dg_rng rng;
        dg_rng_seed(&rng, 1234);
        dg_synth_style st;
        dg_synth_style_default(&st);
        st.paper[0] = st.paper[1] = st.paper[2] = 232;
        st.ink[0] = st.ink[1] = st.ink[2] = 35;
        st.height = 60;
        st.gap = 0.3f;
        st.margin = 0.2f;
        st.noise = 3.0f;
        dg_image *num;
        dg_digit_box truth[10];
        CHECK_OK(dg_synth_number(&rng, "4815162342", &st, &num, truth));
        int W = num->w + 80, H = 3 * num->h + 200, ox = 40, oy = 60;
        dg_image *img = page_with(num, W, H, ox, oy, &rng);
        CHECK(img != NULL);
        for (int k = 0; k < 10; k++) {
            truth[k].x += ox;
            truth[k].y += oy;
        }
        /* straight hard edge: the lower third, or a slant through the digits' lower half */
        for (int y = 0; y < H; y++) {
            for (int x = 0; x < W; x++) {
                double edge = crossing ? oy + 0.7 * num->h + 0.15 * (x - W / 2) : 2.0 * H / 3.0;
                if (y > edge) {
                    uint8_t *px = &img->pixels[((size_t)y * W + x) * 3];
                    for (int c = 0; c < 3; c++) {
                        px[c] = (uint8_t)(px[c] / 2);
                    }
                }
            }
        }
        dg_segmentation *seg;
        CHECK_OK(dg_segment(img, &seg));
        CHECK_MSG(matches(seg, truth, 10), "shadow %s: found %d digits",
                  crossing ? "through the digits" : "below", seg->n);
        dg_segmentation_free(seg);
        dg_image_free(img);
        dg_image_free(num);
    }
}

/* A page that does not fill the photo: on a dark desk, and on wood grain. */
DG_TEST(segment_number_on_a_page_on_a_desk)
{
    for (int grain = 0; grain < 2; grain++) {
        dg_rng rng;
        dg_rng_seed(&rng, 77 + (uint64_t)grain);
        dg_synth_style st;
        dg_synth_style_default(&st);
        st.paper[0] = st.paper[1] = st.paper[2] = 236;
        st.ink[0] = st.ink[1] = st.ink[2] = 30;
        st.height = 70;
        st.gap = 0.3f;
        st.margin = 1.0f;
        st.noise = 3.0f;
        st.desk = grain ? DG_SYNTH_DESK_PATTERN : DG_SYNTH_DESK_DARK;
        dg_image *img;
        dg_digit_box truth[4];
        CHECK_OK(dg_synth_number(&rng, "2718", &st, &img, truth));
        dg_segmentation *seg;
        CHECK_OK(dg_segment(img, &seg));
        CHECK_MSG(matches(seg, truth, 4), "%s desk: found %d digits", grain ? "wood" : "dark",
                  seg->n);
        dg_segmentation_free(seg);
        dg_image_free(img);
    }
}

/* Single digits and pairs on a page under a curved hard shadow, 20-60% darker, as a hand
 * or a phone's corner casts it: the shadow's edge is no digit, wherever it runs. */
DG_TEST(segment_digits_beside_a_curved_shadow)
{
    static const char *const numbers[] = {"2", "7", "40", "5", "83", "1", "6", "29",
                                          "3", "8", "14", "0", "65", "9", "4", "72"};
    int right = 0, n = (int)(sizeof numbers / sizeof numbers[0]);
    for (int i = 0; i < n; i++) {
        dg_rng rng;
        dg_rng_seed(&rng, 300 + (uint64_t)i);
        dg_synth_style st;
        dg_synth_style_default(&st);
        st.paper[0] = st.paper[1] = st.paper[2] = 235;
        st.ink[0] = st.ink[1] = st.ink[2] = 110;
        st.height = 90;
        st.stroke = 0.04f;
        st.margin = 1.5f;
        st.noise = 3.0f;
        st.shadow = 0.2f + 0.4f * (float)i / (float)(n - 1);
        st.shadow_curved = true;
        dg_image *img;
        dg_digit_box truth[2];
        CHECK_OK(dg_synth_number(&rng, numbers[i], &st, &img, truth));
        dg_segmentation *seg;
        CHECK_OK(dg_segment(img, &seg));
        right += matches(seg, truth, (int)strlen(numbers[i]));
        dg_segmentation_free(seg);
        dg_image_free(img);
    }
    CHECK_MSG(right == n, "%d of %d segmented right", right, n);
}

/* The desk showing beside a tilted page: dark pieces along the image's border, as long
 * along it as they are wide or longer, where the page's edge comes and goes. They run out
 * of the frame, so they are the surroundings, not digits. */
DG_TEST(segment_desk_pieces_along_the_border)
{
    dg_rng rng;
    dg_rng_seed(&rng, 8);
    dg_synth_style st;
    dg_synth_style_default(&st);
    st.paper[0] = st.paper[1] = st.paper[2] = 232;
    st.ink[0] = st.ink[1] = st.ink[2] = 35;
    st.height = 90;
    st.channels = 3;
    dg_image *num;
    dg_digit_box truth[1];
    CHECK_OK(dg_synth_number(&rng, "8", &st, &num, truth));
    int W = 240, H = 340, ox = (W - num->w) / 2, oy = 120;
    dg_image *img = page_with(num, W, H, ox, oy, &rng);
    CHECK(img != NULL);
    truth[0].x += ox;
    truth[0].y += oy;
    for (int piece = 0; piece < 3; piece++) {
        for (int y = 15 + 45 * piece; y < 15 + 45 * piece + 26; y++) {
            for (int x = 0; x < 12; x++) {
                for (int c = 0; c < 3; c++) {
                    img->pixels[((size_t)y * W + x) * 3 + c] = 70;
                    img->pixels[((size_t)y * W + W - 1 - x) * 3 + c] = 70;
                }
            }
        }
    }
    dg_segmentation *seg;
    CHECK_OK(dg_segment(img, &seg));
    CHECK_MSG(matches(seg, truth, 1), "found %d digits", seg->n);
    dg_segmentation_free(seg);
    dg_image_free(img);
    dg_image_free(num);
}

/* Paper on a wood desk whose grain and noise put bright flecks in some of the desk's
 * cells: the desk is still found around the page, and the number read alone. */
DG_TEST(segment_grey_page_on_a_grainy_desk)
{
    int found = 0, right = 0;
    for (int i = 0; i < 4; i++) {
        dg_rng rng;
        dg_rng_seed(&rng, 500 + (uint64_t)i);
        dg_synth_style st;
        dg_synth_style_default(&st);
        st.paper[0] = st.paper[1] = st.paper[2] = 215;
        st.ink[0] = st.ink[1] = st.ink[2] = 30;
        st.height = 110;
        st.gap = 0.3f;
        st.margin = 1.2f;
        st.noise = 8.0f;
        st.channels = 3;
        st.desk = DG_SYNTH_DESK_PATTERN;
        dg_image *img;
        dg_digit_box truth[2];
        CHECK_OK(dg_synth_number(&rng, i % 2 ? "7" : "61", &st, &img, truth));
        dg_image *map;
        dg_preprocess_info info;
        CHECK_OK(dg_ink_map(img, &map, &info));
        found += info.desk;
        dg_image_free(map);
        dg_segmentation *seg;
        CHECK_OK(dg_segment(img, &seg));
        right += matches(seg, truth, i % 2 ? 1 : 2);
        dg_segmentation_free(seg);
        dg_image_free(img);
    }
    CHECK_MSG(found == 4 && right == 4, "desk found %d of 4, numbers right %d of 4", found, right);
}

/* A grey page on a wood desk that is about as bright (lighter, or darker by under 40
 * levels): the desk is told from the page by its colour, and its grain, the page's edge and
 * the shadow the page casts are not cut into digits beside the number. */
DG_TEST(segment_grey_page_on_a_coloured_desk_as_bright)
{
    static const float woods[][3] = {{205, 172, 128}, {156, 124, 92}, {120, 160, 190}};
    for (int i = 0; i < 3; i++) {
        dg_rng rng;
        dg_rng_seed(&rng, 900 + (uint64_t)i);
        dg_synth_style st;
        dg_synth_style_default(&st);
        st.paper[0] = st.paper[1] = st.paper[2] = 150;
        st.ink[0] = st.ink[1] = st.ink[2] = 40;
        st.height = 80;
        st.gap = 0.3f;
        st.margin = 0.6f;
        st.noise = 4.0f;
        st.channels = 3;
        dg_image *num;
        dg_digit_box truth[4];
        CHECK_OK(dg_synth_number(&rng, "3794", &st, &num, truth));
        int W = num->w + 160, H = num->h + 140, ox = 70, oy = 60;
        dg_image *img;
        CHECK_OK(dg_image_new(W, H, 3, &img));
        for (int y = 0; y < H; y++) {
            for (int x = 0; x < W; x++) {
                int dx = x < ox ? ox - x : x >= ox + num->w ? x - ox - num->w + 1 : 0;
                int dy = y < oy ? oy - y : y >= oy + num->h ? y - oy - num->h + 1 : 0;
                int d = dx > dy ? dx : dy;
                uint8_t *px = &img->pixels[((size_t)y * W + x) * 3];
                if (d == 0) {
                    memcpy(px, &num->pixels[((size_t)(y - oy) * num->w + (x - ox)) * 3], 3);
                    continue;
                }
                /* grain across the desk, and the page's own shadow just outside its edge */
                double s = sin(2.0 * M_PI * (y + 5.0 * sin(0.03 * x)) / 23.0);
                double f = (1.0 + 0.15 * s * fabs(s)) * (1.0 - 0.35 * exp(-d / 2.5));
                for (int c = 0; c < 3; c++) {
                    double v = woods[i][c] * f + 4.0 * dg_rng_normal(&rng);
                    px[c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
                }
            }
        }
        for (int k = 0; k < 4; k++) {
            truth[k].x += ox;
            truth[k].y += oy;
        }
        dg_image *map;
        dg_preprocess_info info;
        CHECK_OK(dg_ink_map(img, &map, &info));
        CHECK_MSG(info.desk, "wood %d: no desk found", i);
        dg_image_free(map);
        dg_segmentation *seg;
        CHECK_OK(dg_segment(img, &seg));
        CHECK_MSG(matches(seg, truth, 4), "wood %d: found %d digits", i, seg->n);
        dg_segmentation_free(seg);
        dg_image_free(img);
        dg_image_free(num);
    }
}

/* The narrow ends of the desk a tilted page leaves: thin dark lines down both sides of the
 * frame, a little taller than the digits and a few pixels off the frame but for their lower
 * ends, so that they touch it over too short a stretch to lie along it. They are
 * the page's surroundings, not 1s before and after the number. */
DG_TEST(segment_lines_along_the_frame_are_no_digits)
{
    dg_rng rng;
    dg_rng_seed(&rng, 21);
    dg_synth_style st;
    dg_synth_style_default(&st);
    st.paper[0] = st.paper[1] = st.paper[2] = 232;
    st.ink[0] = st.ink[1] = st.ink[2] = 35;
    st.height = 80;
    st.gap = 0.3f;
    st.channels = 3;
    dg_image *num;
    dg_digit_box truth[2];
    CHECK_OK(dg_synth_number(&rng, "47", &st, &num, truth));
    int W = num->w + 80, H = num->h + 120, ox = 40, oy = 60;
    dg_image *img = page_with(num, W, H, ox, oy, &rng);
    CHECK(img != NULL);
    for (int k = 0; k < 2; k++) {
        truth[k].x += ox;
        truth[k].y += oy;
    }
    int y0 = truth[0].y - 10, y1 = y0 + truth[0].h * 13 / 10;
    for (int y = y0; y < y1 && y < H; y++) {
        int off = y < y0 + 3 * (y1 - y0) / 4 ? 4 : 0; /* off the frame above its lowest quarter */
        for (int x = off; x < off + 4; x++) {
            for (int c = 0; c < 3; c++) {
                img->pixels[((size_t)y * W + x) * 3 + c] = 60;
                img->pixels[((size_t)y * W + W - 1 - x) * 3 + c] = 60;
            }
        }
    }
    dg_segmentation *seg;
    CHECK_OK(dg_segment(img, &seg));
    CHECK_MSG(matches(seg, truth, 2), "found %d digits", seg->n);
    dg_segmentation_free(seg);
    dg_image_free(img);
    dg_image_free(num);
}
