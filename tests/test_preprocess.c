/*
 * test_preprocess.c - users' images into MNIST-like 28x28 digits: geometry of the output
 * (20 px box, centre of mass at 14,14) on synthetic drawings with the troubles of real
 * ones (polarity, colour, shading, specks, grid lines, frames, transparency, stroke
 * width), MNIST digits passing through unchanged, and the ink-map entry points.
 * Images are [h][w][channels]; drawings are anti-aliased capsules (segments of a width).
 */
#include "synth/synth.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- drawing */

static dg_image *canvas(int w, int h, int channels, const uint8_t *colour)
{
    dg_image *img = NULL;
    if (dg_image_new(w, h, channels, &img) != DG_OK) {
        return NULL;
    }
    for (size_t i = 0; i < (size_t)w * h; i++) {
        memcpy(img->pixels + i * channels, colour, (size_t)channels);
    }
    return img;
}

/* Blends colour over the pixels within radius of the segment a-b, anti-aliased over one
 * pixel; on RGBA the alpha channel takes the coverage. */
static void segment(dg_image *img, double ax, double ay, double bx, double by, double radius,
                    const uint8_t *colour)
{
    int x0 = (int)floor(fmin(ax, bx) - radius - 2), x1 = (int)ceil(fmax(ax, bx) + radius + 2);
    int y0 = (int)floor(fmin(ay, by) - radius - 2), y1 = (int)ceil(fmax(ay, by) + radius + 2);
    x0 = x0 < 0 ? 0 : x0;
    y0 = y0 < 0 ? 0 : y0;
    x1 = x1 >= img->w ? img->w - 1 : x1;
    y1 = y1 >= img->h ? img->h - 1 : y1;
    double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
    for (int y = y0; y <= y1; y++) {
        for (int x = x0; x <= x1; x++) {
            double t = len2 > 0 ? ((x - ax) * dx + (y - ay) * dy) / len2 : 0;
            t = t < 0 ? 0 : t > 1 ? 1 : t;
            double ex = x - ax - t * dx, ey = y - ay - t * dy;
            double cover = radius + 0.5 - sqrt(ex * ex + ey * ey);
            if (cover <= 0) {
                continue;
            }
            cover = cover > 1 ? 1 : cover;
            uint8_t *p = img->pixels + ((size_t)y * img->w + x) * img->channels;
            for (int k = 0; k < img->channels; k++) {
                if (img->channels == 4 && k == 3) {
                    double a = fmax(p[3], cover * colour[3]);
                    p[3] = (uint8_t)(a + 0.5);
                } else {
                    p[k] = (uint8_t)(p[k] * (1 - cover) + colour[k] * cover + 0.5);
                }
            }
        }
    }
}

static void ellipse(dg_image *img, double cx, double cy, double rx, double ry, double radius,
                    const uint8_t *colour)
{
    const int n = 72;
    for (int i = 0; i < n; i++) {
        double a0 = 2 * M_PI * i / n, a1 = 2 * M_PI * (i + 1) / n;
        segment(img, cx + rx * cos(a0), cy + ry * sin(a0), cx + rx * cos(a1), cy + ry * sin(a1),
                radius, colour);
    }
}

/* The outline of the rectangle with corners (x0, y0) and (x1, y1): a frame. */
static void rectangle(dg_image *img, double x0, double y0, double x1, double y1, double radius,
                      const uint8_t *colour)
{
    segment(img, x0, y0, x1, y0, radius, colour);
    segment(img, x1, y0, x1, y1, radius, colour);
    segment(img, x1, y1, x0, y1, radius, colour);
    segment(img, x0, y1, x0, y0, radius, colour);
}

/* A "7" whose box is (x, y, w, h). */
static void seven(dg_image *img, double x, double y, double w, double h, double radius,
                  const uint8_t *colour)
{
    segment(img, x, y, x + w, y, radius, colour);
    segment(img, x + w, y, x + 0.3 * w, y + h, radius, colour);
}

/* A "5" drawn as a bar apart from the rest, as many people write it: box (x, y, w, h). */
static void five(dg_image *img, double x, double y, double w, double h, double radius,
                 const uint8_t *colour)
{
    segment(img, x + 0.15 * w, y, x + w, y, radius, colour); /* the separate bar */
    segment(img, x + 0.1 * w, y + 0.15 * h, x + 0.05 * w, y + 0.45 * h, radius, colour);
    int n = 24;
    double cx = x + 0.5 * w, cy = y + 0.7 * h, rx = 0.48 * w, ry = 0.28 * h;
    for (int i = 0; i < n; i++) {
        double a0 = -0.75 * M_PI + 1.5 * M_PI * i / n, a1 = -0.75 * M_PI + 1.5 * M_PI * (i + 1) / n;
        segment(img, cx + rx * cos(a0), cy + ry * sin(a0), cx + rx * cos(a1), cy + ry * sin(a1),
                radius, colour);
    }
}

/* A grey level rounded and clamped to a byte. */
static uint8_t to_byte(double v)
{
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5);
}

static const uint8_t white[4] = {255, 255, 255, 255};
static const uint8_t black[4] = {0, 0, 0, 255};

/* ---------------------------------------------------------------- measuring the output */

typedef struct digit_stats {
    double mass, com_x, com_y; /* centre of mass in pixel indices */
    int box_w, box_h;          /* bounding box of nonzero pixels */
    double stroke;             /* 2 * area / perimeter, as the preprocessing measures it */
} digit_stats;

static digit_stats measure(const uint8_t *d)
{
    digit_stats s = {0};
    int x0 = 28, y0 = 28, x1 = -1, y1 = -1;
    double area = 0, tv = 0;
    for (int y = 0; y < 28; y++) {
        for (int x = 0; x < 28; x++) {
            double v = d[y * 28 + x];
            s.mass += v;
            s.com_x += v * x;
            s.com_y += v * y;
            if (v > 0) {
                x0 = x < x0 ? x : x0;
                x1 = x > x1 ? x : x1;
                y0 = y < y0 ? y : y0;
                y1 = y > y1 ? y : y1;
            }
            double right = x < 27 ? d[y * 28 + x + 1] : 0, down = y < 27 ? d[(y + 1) * 28 + x] : 0;
            area += v / 255;
            tv += fabs(v - right) / 255 + fabs(v - down) / 255;
            tv += (x == 0 ? v / 255 : 0) + (y == 0 ? v / 255 : 0);
        }
    }
    if (s.mass > 0) {
        s.com_x /= s.mass;
        s.com_y /= s.mass;
        s.box_w = x1 - x0 + 1;
        s.box_h = y1 - y0 + 1;
        s.stroke = 2 * area / (tv * M_PI / 4);
    }
    return s;
}

static double mean_abs_diff(const uint8_t *a, const uint8_t *b)
{
    double s = 0;
    for (int i = 0; i < DG_MNIST_PIXELS; i++) {
        s += fabs((double)a[i] - b[i]);
    }
    return s / DG_MNIST_PIXELS;
}

/* The smallest mean absolute difference between a and b moved by up to one pixel each
 * way: two drawings of one digit may round their centres of mass differently. */
static double near_diff(const uint8_t *a, const uint8_t *b)
{
    double best = 1e9;
    for (int dy = -1; dy <= 1; dy++) {
        for (int dx = -1; dx <= 1; dx++) {
            double s = 0;
            for (int y = 0; y < 28; y++) {
                for (int x = 0; x < 28; x++) {
                    int xx = x + dx, yy = y + dy;
                    double v = xx >= 0 && xx < 28 && yy >= 0 && yy < 28 ? b[yy * 28 + xx] : 0;
                    s += fabs(a[y * 28 + x] - v);
                }
            }
            best = s / DG_MNIST_PIXELS < best ? s / DG_MNIST_PIXELS : best;
        }
    }
    return best;
}

/* Preprocesses img, frees it, and checks the MNIST geometry of a found digit. */
#define PREPROCESS_OK(img, out, info)                                                              \
    do {                                                                                           \
        CHECK((img) != NULL);                                                                      \
        dg_status st_ = dg_preprocess((img), (out), (info));                                       \
        dg_image_free(img);                                                                        \
        CHECK_OK(st_);                                                                             \
        CHECK_MSG((info)->status == DG_PREP_OK, "status %d", (int)(info)->status);                 \
        digit_stats s_ = measure(out);                                                             \
        int long_ = s_.box_w > s_.box_h ? s_.box_w : s_.box_h;                                     \
        CHECK_MSG(abs(long_ - 20) <= 1, "longest side %d", long_);                                 \
        CHECK_NEAR(s_.com_x, 14.0, 0.5);                                                           \
        CHECK_NEAR(s_.com_y, 14.0, 0.5);                                                           \
    } while (0)

/* ---------------------------------------------------------------- geometry */

DG_TEST(preprocess_ring_black_on_white)
{
    dg_image *img = canvas(300, 200, 1, white);
    ellipse(img, 80, 70, 28, 42, 5, black); /* off-centre, up and left */
    uint8_t out[DG_MNIST_PIXELS];
    dg_preprocess_info info;
    PREPROCESS_OK(img, out, &info);
    CHECK(info.inverted);
    CHECK(info.components == 1 && info.kept == 1);
    /* the ink box in the source: the ring spans 80 +- 33.5, 70 +- 47.5 */
    CHECK(abs(info.box_x - 46) <= 2 && abs(info.box_y - 22) <= 2);
    CHECK(abs(info.box_w - 68) <= 3 && abs(info.box_h - 96) <= 3);
    CHECK_NEAR(info.stroke_px, 11.0, 2.5);
    digit_stats s = measure(out);
    CHECK(s.box_h == 20 && s.box_w >= 13 && s.box_w <= 16); /* aspect ratio kept */
    /* a ring: the centre is empty, the stroke is there */
    CHECK(out[14 * 28 + 14] == 0);
    CHECK(out[14 * 28 + 14 - s.box_w / 2 + 1] > 128 || out[14 * 28 + 14 + s.box_w / 2 - 1] > 128);
}

DG_TEST(preprocess_polarity_both_ways)
{
    uint8_t a[DG_MNIST_PIXELS], b[DG_MNIST_PIXELS];
    dg_preprocess_info ia, ib;
    dg_image *img = canvas(300, 200, 1, white);
    seven(img, 170, 40, 70, 120, 6, black);
    PREPROCESS_OK(img, a, &ia);
    img = canvas(300, 200, 1, black);
    seven(img, 170, 40, 70, 120, 6, white);
    PREPROCESS_OK(img, b, &ib);
    CHECK(ia.inverted && !ib.inverted);
    CHECK_MSG(near_diff(a, b) < 2.0, "outputs differ by %.2f", near_diff(a, b));
}

DG_TEST(preprocess_blue_ink_on_beige)
{
    static const uint8_t beige[3] = {236, 222, 188}, blue[3] = {35, 70, 175},
                         grey[3] = {255, 255, 255}, ink[3] = {0, 0, 0};
    uint8_t a[DG_MNIST_PIXELS], b[DG_MNIST_PIXELS];
    dg_preprocess_info ia, ib;
    dg_image *img = canvas(400, 300, 3, beige);
    seven(img, 150, 60, 90, 170, 5, blue);
    PREPROCESS_OK(img, a, &ia);
    img = canvas(400, 300, 3, grey);
    seven(img, 150, 60, 90, 170, 5, ink);
    PREPROCESS_OK(img, b, &ib);
    CHECK(ia.inverted);
    CHECK_MSG(near_diff(a, b) < 4.0, "blue on beige vs black on white: %.2f", near_diff(a, b));
}

/* Paper lit from one side with a darker corner: the ink in the shadow must count as much
 * as the ink in the light, and the shadow itself not at all. */
DG_TEST(preprocess_shaded_background)
{
    uint8_t a[DG_MNIST_PIXELS], b[DG_MNIST_PIXELS];
    dg_preprocess_info ia, ib;
    dg_image *img = canvas(400, 300, 1, white);
    dg_image *shade = canvas(400, 300, 1, white);
    CHECK(img && shade);
    for (int y = 0; y < 300; y++) {
        for (int x = 0; x < 400; x++) {
            double light = 0.95 - 0.45 * x / 400.0 - 0.15 * (y / 300.0) * (x / 400.0);
            shade->pixels[y * 400 + x] = (uint8_t)(255 * light);
        }
    }
    ellipse(img, 210, 150, 45, 70, 6, black);
    segment(img, 150, 60, 280, 250, 5, black);
    /* multiply the drawing by the light, as a photo does, plus a little noise */
    dg_rng rng;
    dg_rng_seed(&rng, 7);
    for (int i = 0; i < 400 * 300; i++) {
        double v = img->pixels[i] * shade->pixels[i] / 255.0 + 3 * dg_rng_normal(&rng);
        shade->pixels[i] = to_byte(v);
    }
    PREPROCESS_OK(shade, a, &ia); /* frees shade */
    PREPROCESS_OK(img, b, &ib);
    CHECK(ia.inverted);
    CHECK(ia.noise > 1.0 && ia.noise < 8.0);
    CHECK_MSG(near_diff(a, b) < 12.0, "shaded vs clean: %.2f", near_diff(a, b));
}

DG_TEST(preprocess_specks_and_grid_lines)
{
    uint8_t a[DG_MNIST_PIXELS], b[DG_MNIST_PIXELS];
    dg_preprocess_info ia, ib;
    static const uint8_t grid[4] = {90, 90, 90, 255};
    dg_image *img = canvas(400, 300, 1, white);
    CHECK(img != NULL);
    /* ruled paper: lines across the whole sheet, one of them through the digit */
    for (int y = 20; y < 300; y += 60) {
        segment(img, 0, y, 399, y + 3, 0.8, grid);
    }
    segment(img, 30, 0, 31, 299, 0.8, grid);
    dg_rng rng;
    dg_rng_seed(&rng, 3);
    for (int i = 0; i < 40; i++) {
        double x = dg_rng_uniform(&rng) * 400, y = dg_rng_uniform(&rng) * 300;
        segment(img, x, y, x, y, 0.6 + dg_rng_uniform(&rng), black);
    }
    ellipse(img, 230, 140, 35, 55, 5, black);
    PREPROCESS_OK(img, a, &ia);
    img = canvas(400, 300, 1, white);
    ellipse(img, 230, 140, 35, 55, 5, black);
    PREPROCESS_OK(img, b, &ib);
    CHECK(abs(ia.box_x - ib.box_x) <= 3 && abs(ia.box_y - ib.box_y) <= 3);
    CHECK(abs(ia.box_w - ib.box_w) <= 5 && abs(ia.box_h - ib.box_h) <= 5);
    CHECK_MSG(near_diff(a, b) < 8.0, "with lines and specks vs clean: %.2f", near_diff(a, b));
}

DG_TEST(preprocess_frame_is_not_a_digit)
{
    uint8_t a[DG_MNIST_PIXELS], b[DG_MNIST_PIXELS];
    dg_preprocess_info ia, ib;
    dg_image *img = canvas(300, 300, 1, white);
    CHECK(img != NULL);
    /* a rectangle drawn around the digit, and one along the image border */
    rectangle(img, 40, 40, 260, 260, 2, black);
    segment(img, 0, 1, 299, 1, 1, black);
    segment(img, 1, 0, 1, 299, 1, black);
    seven(img, 120, 90, 60, 110, 5, black);
    PREPROCESS_OK(img, a, &ia);
    img = canvas(300, 300, 1, white);
    seven(img, 120, 90, 60, 110, 5, black);
    PREPROCESS_OK(img, b, &ib);
    CHECK_MSG(near_diff(a, b) < 3.0, "framed vs plain: %.2f", near_diff(a, b));

    img = canvas(300, 300, 1, white);
    CHECK(img != NULL);
    segment(img, 10, 10, 290, 10, 2, black);
    segment(img, 290, 10, 290, 290, 2, black);
    segment(img, 290, 290, 10, 290, 2, black);
    segment(img, 10, 290, 10, 10, 2, black);
    CHECK_OK(dg_preprocess(img, a, &ia));
    dg_image_free(img);
    CHECK_MSG(ia.status == DG_PREP_NO_DIGIT, "frame alone: status %d", (int)ia.status);
}

/* A digit in a fine blue pen on beige paper, photographed with the desk or a fold as the
 * synthesiser draws them, defocused: height in pixels, pen width as a part of it, defocus
 * radius in pixels. */
static dg_image *fine_pen_photo(uint64_t seed, int digit, int height, float stroke, float defocus,
                                dg_synth_desk desk, bool fold)
{
    dg_synth_style st;
    dg_synth_style_default(&st);
    st.canvas = DG_SYNTH_PAPER;
    st.channels = 3;
    st.height = height;
    st.stroke = stroke;
    memcpy(st.ink, (uint8_t[3]){60, 60, 170}, 3);
    memcpy(st.paper, (uint8_t[3]){235, 225, 200}, 3);
    st.noise = 1.5f;
    st.margin = 1.5f;
    st.desk = desk;
    st.fold = fold;
    st.defocus = defocus;
    dg_rng rng;
    dg_rng_seed(&rng, seed);
    dg_image *img = NULL;
    return dg_synth_digit(&rng, digit, &st, &img) == DG_OK ? img : NULL;
}

/* A fine 9 with the page's right edge in the frame: the edge is peeled off as a line, and
 * what it leaves where it runs thicker lies along the peeled line and goes with it, so the
 * 9 is the only ink left (it was left as a second component). */
DG_TEST(preprocess_what_a_peeled_line_leaves_goes_with_it)
{
    dg_image *img = fine_pen_photo(41, 9, 60, 0.03f, 1.5f, DG_SYNTH_DESK_EDGE, false);
    uint8_t out[DG_MNIST_PIXELS];
    dg_preprocess_info info;
    PREPROCESS_OK(img, out, &info);
    CHECK_MSG(info.components == 1 && abs(info.box_x - 114) <= 3 && abs(info.box_y - 101) <= 3,
              "%d components left, box at %d,%d", info.components, info.box_x, info.box_y);
}

/* The desk below the page's bottom edge, a strip over a seventh of the photo's height
 * (145x264) but under a fifth: it stays by the frame, so it does not set how dark full
 * ink is, and the faint 9 is the digit (the strip was, read as a number of 7 digits). */
DG_TEST(preprocess_faint_digit_above_a_strip_of_desk)
{
    dg_image *img = fine_pen_photo(12, 9, 40, 0.04f, 2.0f, DG_SYNTH_DESK_EDGE, false);
    uint8_t out[DG_MNIST_PIXELS];
    dg_preprocess_info info;
    PREPROCESS_OK(img, out, &info);
    CHECK_MSG(abs(info.box_x - 26) <= 3 && abs(info.box_y - 98) <= 3 && info.box_h >= 40,
              "box at %d,%d %dx%d", info.box_x, info.box_y, info.box_w, info.box_h);
}

DG_TEST(preprocess_broken_digit_parts_kept)
{
    uint8_t out[DG_MNIST_PIXELS];
    dg_preprocess_info info;
    dg_image *img = canvas(300, 300, 1, white);
    five(img, 100, 60, 90, 170, 6, black);
    PREPROCESS_OK(img, out, &info);
    CHECK(info.kept == 2);
    CHECK(abs(info.box_y - 53) <= 3 && abs(info.box_h - 184) <= 8); /* bar included */
}

/* A 1 px pencil line on a big canvas and a 15 px marker end up with MNIST-like strokes. */
DG_TEST(preprocess_stroke_width_normalised)
{
    uint8_t thin[DG_MNIST_PIXELS], thick[DG_MNIST_PIXELS], mid[DG_MNIST_PIXELS];
    dg_preprocess_info it, ik, im;
    dg_image *img = canvas(1000, 1000, 1, white);
    seven(img, 380, 250, 230, 450, 0, black);
    PREPROCESS_OK(img, thin, &it);
    img = canvas(1000, 1000, 1, white);
    seven(img, 380, 250, 230, 450, 7, black);
    PREPROCESS_OK(img, thick, &ik);
    img = canvas(1000, 1000, 1, white);
    seven(img, 380, 250, 230, 450, 110, black); /* a blob: far bolder than MNIST */
    PREPROCESS_OK(img, mid, &im);
    digit_stats a = measure(thin), b = measure(thick), c = measure(mid);
    CHECK_MSG(it.restroked && im.restroked, "thin %d, very thick %d", it.restroked, im.restroked);
    CHECK_NEAR(it.stroke_px, 1.3, 0.6);
    CHECK_NEAR(ik.stroke_px, 15.0, 2.5);
    /* MNIST strokes: median 2.5 px, 99% within 1.4..5 by this measure */
    CHECK(a.stroke > 1.8 && a.stroke < 3.3);
    CHECK(b.stroke > 1.8 && b.stroke < 3.3);
    CHECK(c.stroke > 1.8 && c.stroke < 3.3);
    CHECK_NEAR(a.stroke, b.stroke, 0.7);
    CHECK_MSG(near_diff(thin, thick) < 20, "thin vs thick: %.2f", near_diff(thin, thick));
}

DG_TEST(preprocess_transparent_background)
{
    static const uint8_t clear[4] = {0, 0, 0, 0}, ink_white[4] = {255, 255, 255, 255};
    uint8_t a[DG_MNIST_PIXELS], b[DG_MNIST_PIXELS], c[DG_MNIST_PIXELS];
    dg_preprocess_info ia, ib, ic;
    /* black strokes on transparent black (what many drawing tools save) */
    dg_image *img = canvas(200, 200, 4, clear);
    ellipse(img, 100, 100, 30, 50, 5, black);
    PREPROCESS_OK(img, a, &ia);
    /* white strokes on transparent black */
    img = canvas(200, 200, 4, clear);
    ellipse(img, 100, 100, 30, 50, 5, ink_white);
    PREPROCESS_OK(img, b, &ib);
    /* the same ring, opaque */
    img = canvas(200, 200, 1, white);
    ellipse(img, 100, 100, 30, 50, 5, black);
    PREPROCESS_OK(img, c, &ic);
    CHECK_MSG(near_diff(a, c) < 3 && near_diff(b, c) < 3, "%.2f %.2f", near_diff(a, c),
              near_diff(b, c));
}

DG_TEST(preprocess_small_digit_in_corner)
{
    uint8_t out[DG_MNIST_PIXELS];
    dg_preprocess_info info;
    dg_image *img = canvas(640, 480, 3, white);
    seven(img, 560, 390, 25, 50, 2, black);
    PREPROCESS_OK(img, out, &info);
    CHECK(info.box_x >= 550 && info.box_y >= 380);
}

/* A drawing of thin strokes on a flat ground is worked on pooled, the drawing down to about
 * 40-80 px; the same drawing on a grainy ground keeps the full 436 px. Both give nearly the
 * same 28x28, and the box in the picture's own pixels. */
DG_TEST(preprocess_flat_drawing_pooled_like_full_resolution)
{
    uint8_t flat_out[DG_MNIST_PIXELS], grain_out[DG_MNIST_PIXELS];
    dg_preprocess_info flat_info, grain_info;
    dg_image *flat = canvas(436, 326, 3, white), *grain = canvas(436, 326, 3, white);
    CHECK(flat && grain);
    dg_rng rng;
    dg_rng_seed(&rng, 7);
    for (size_t i = 0; i < (size_t)436 * 326 * 3; i++) {
        grain->pixels[i] = (uint8_t)(250 + dg_rng_below(&rng, 6));
    }
    seven(flat, 150, 90, 110, 160, 1.5, black);
    seven(grain, 150, 90, 110, 160, 1.5, black);
    PREPROCESS_OK(flat, flat_out, &flat_info);
    PREPROCESS_OK(grain, grain_out, &grain_info);
    CHECK_MSG(abs(flat_info.box_x - grain_info.box_x) <= 3 &&
                  abs(flat_info.box_y - grain_info.box_y) <= 3 &&
                  abs(flat_info.box_w - grain_info.box_w) <= 6 &&
                  abs(flat_info.box_h - grain_info.box_h) <= 6,
              "box %d,%d %dx%d pooled, %d,%d %dx%d at full size", flat_info.box_x, flat_info.box_y,
              flat_info.box_w, flat_info.box_h, grain_info.box_x, grain_info.box_y,
              grain_info.box_w, grain_info.box_h);
    CHECK(flat_info.box_x >= 145 && flat_info.box_x + flat_info.box_w <= 266);
    double diff = mean_abs_diff(flat_out, grain_out);
    CHECK_MSG(diff < 12.0, "mean difference %.1f levels", diff);
}

/* ---------------------------------------------------------------- no digit */

DG_TEST(preprocess_empty_image)
{
    uint8_t out[DG_MNIST_PIXELS];
    dg_preprocess_info info;
    static const uint8_t paper[3] = {240, 236, 228};
    dg_image *img = canvas(320, 240, 3, paper);
    CHECK(img != NULL);
    CHECK_OK(dg_preprocess(img, out, &info));
    dg_image_free(img);
    CHECK(info.status == DG_PREP_EMPTY);
    for (int i = 0; i < DG_MNIST_PIXELS; i++) {
        CHECK(out[i] == 0);
    }
}

DG_TEST(preprocess_noise_is_not_a_digit)
{
    uint8_t out[DG_MNIST_PIXELS];
    dg_preprocess_info info;
    dg_rng rng;
    dg_rng_seed(&rng, 11);
    dg_image *img = canvas(300, 200, 1, white);
    CHECK(img != NULL);
    for (int i = 0; i < 300 * 200; i++) {
        img->pixels[i] = (uint8_t)dg_rng_below(&rng, 256);
    }
    CHECK_OK(dg_preprocess(img, out, &info));
    CHECK_MSG(info.status == DG_PREP_EMPTY || info.status == DG_PREP_NO_DIGIT, "uniform: %d",
              (int)info.status);
    /* pepper: sparse black dots on white */
    for (int i = 0; i < 300 * 200; i++) {
        img->pixels[i] = dg_rng_below(&rng, 40) == 0 ? 0 : 255;
    }
    CHECK_OK(dg_preprocess(img, out, &info));
    dg_image_free(img);
    CHECK_MSG(info.status == DG_PREP_EMPTY || info.status == DG_PREP_NO_DIGIT, "pepper: %d",
              (int)info.status);
    for (int i = 0; i < DG_MNIST_PIXELS; i++) {
        CHECK(out[i] == 0);
    }
}

DG_TEST(preprocess_tiny_and_elongated_images)
{
    uint8_t out[DG_MNIST_PIXELS];
    dg_preprocess_info info;
    dg_image *img = canvas(1, 1, 1, white);
    CHECK(img != NULL);
    CHECK_OK(dg_preprocess(img, out, &info));
    CHECK(info.status == DG_PREP_EMPTY);
    img->pixels[0] = 0;
    CHECK_OK(dg_preprocess(img, out, &info));
    dg_image_free(img);
    img = canvas(1000, 3, 1, white);
    segment(img, 100, 1, 900, 1, 0, black);
    CHECK_OK(dg_preprocess(img, out, &info));
    dg_image_free(img);
    img = canvas(3, 1000, 3, white);
    segment(img, 1, 100, 1, 900, 0, black);
    CHECK_OK(dg_preprocess(img, out, &info));
    dg_image_free(img);
    img = canvas(2, 2, 4, black);
    CHECK_OK(dg_preprocess(img, out, &info));
    dg_image_free(img);
    /* a digit in a 3000x40 strip */
    img = canvas(3000, 40, 1, white);
    seven(img, 1400, 5, 15, 30, 2, black);
    CHECK_OK(dg_preprocess(img, out, &info));
    dg_image_free(img);
    CHECK(info.status == DG_PREP_OK);
}

DG_TEST(preprocess_bad_arguments)
{
    uint8_t out[DG_MNIST_PIXELS];
    dg_preprocess_info info;
    CHECK_STATUS(dg_preprocess(NULL, out, &info), DG_ERR_ARG);
    dg_image bad = {4, 4, 2, out};
    CHECK_STATUS(dg_preprocess(&bad, out, &info), DG_ERR_ARG);
    dg_image *img = canvas(8, 8, 1, white);
    CHECK(img != NULL);
    CHECK_STATUS(dg_preprocess(img, NULL, &info), DG_ERR_ARG);
    CHECK_OK(dg_preprocess(img, out, NULL));
    dg_image *ink = NULL;
    CHECK_STATUS(dg_ink_map(img, NULL, &info), DG_ERR_ARG);
    CHECK_STATUS(dg_ink_to_mnist(img, 20, 20, 4, 4, out), DG_ERR_ARG); /* outside */
    CHECK_STATUS(dg_ink_to_mnist(img, 0, 0, 0, 4, out), DG_ERR_ARG);
    dg_image *rgb = canvas(8, 8, 3, white);
    CHECK(rgb != NULL);
    CHECK_STATUS(dg_ink_to_mnist(rgb, 0, 0, 8, 8, out), DG_ERR_ARG); /* not an ink map */
    CHECK_OK(dg_ink_map(rgb, &ink, NULL));
    dg_image_free(rgb);
    dg_image_free(ink);
    dg_image_free(img);
}

/* ---------------------------------------------------------------- MNIST passes through */

/* Checks that digits already in MNIST form come out nearly unchanged: mean absolute
 * difference under 3 levels, centres of mass within half a pixel. */
static void check_passthrough(const uint8_t *digits, int n, double *mean_diff, int *n_com_moved)
{
    dg_image *img = NULL;
    *mean_diff = 1e9;
    *n_com_moved = n;
    CHECK_OK(dg_image_new(28, 28, 1, &img));
    double total = 0;
    int moved = 0;
    dg_status st = DG_OK;
    for (int i = 0; i < n; i++) {
        uint8_t out[DG_MNIST_PIXELS];
        memcpy(img->pixels, digits + DG_MNIST_PIXELS * i, DG_MNIST_PIXELS);
        st = dg_preprocess(img, out, NULL);
        if (st != DG_OK) {
            break;
        }
        digit_stats a = measure(digits + DG_MNIST_PIXELS * i), b = measure(out);
        total += mean_abs_diff(digits + DG_MNIST_PIXELS * i, out);
        moved += fabs(a.com_x - b.com_x) > 0.5 || fabs(a.com_y - b.com_y) > 0.5;
    }
    dg_image_free(img);
    CHECK_OK(st);
    *mean_diff = total / n;
    *n_com_moved = moved;
}

/* Draws MNIST-like digits: a shape fitted in 20x20 and centred by mass in 28x28, the
 * way the database was made, by preprocessing a big clean drawing. */
DG_TEST(preprocess_mnist_like_synthetic_passes_through)
{
    enum { N = 6 };
    uint8_t digits[N][DG_MNIST_PIXELS];
    for (int k = 0; k < N; k++) {
        dg_image *img = canvas(400, 400, 1, black);
        CHECK(img != NULL);
        double r = 12 + 4 * k;
        if (k % 3 == 0) {
            ellipse(img, 200, 200, 70 + 10 * k, 140, r, white);
        } else if (k % 3 == 1) {
            seven(img, 110, 60, 180, 280, r, white);
        } else {
            five(img, 120, 60, 160, 280, r, white);
        }
        dg_preprocess_info info;
        CHECK_OK(dg_preprocess(img, digits[k], &info));
        dg_image_free(img);
        CHECK(info.status == DG_PREP_OK);
    }
    double diff;
    int moved;
    check_passthrough(&digits[0][0], N, &diff, &moved);
    CHECK_MSG(diff < 1.0, "mean difference %.3f", diff);
    CHECK(moved == 0);
}

DG_TEST(preprocess_mnist_test_digits_pass_through)
{
    const char *dir = test_mnist_dir();
    if (!dir) {
        SKIP("MNIST not found in data/mnist or $DIGITS_MNIST; run make data");
    }
    dg_dataset *ds = NULL;
    CHECK_OK(dg_dataset_load(dir, DG_SPLIT_TEST, &ds));
    CHECK(ds->h == 28 && ds->w == 28);
    int n = ds->n < 2000 ? (int)ds->n : 2000;
    double diff;
    int moved;
    check_passthrough(ds->images, n, &diff, &moved);
    dg_dataset_free(ds);
    CHECK_MSG(diff < 3.0, "mean difference %.3f levels over %d digits", diff, n);
    CHECK_MSG(moved <= n / 100, "%d of %d centres of mass moved by more than 0.5 px", moved, n);
}

/* ---------------------------------------------------------------- ink map entry points */

DG_TEST(preprocess_ink_map_and_regions)
{
    static const uint8_t paper[3] = {220, 225, 235}, ink[3] = {20, 30, 60};
    dg_image *img = canvas(500, 260, 3, paper);
    CHECK(img != NULL);
    seven(img, 60, 50, 90, 160, 6, ink);
    ellipse(img, 330, 130, 45, 80, 6, ink);
    dg_image *map = NULL;
    dg_preprocess_info info;
    CHECK_OK(dg_ink_map(img, &map, &info));
    dg_image_free(img);
    CHECK(map->w == 500 && map->h == 260 && map->channels == 1);
    CHECK(info.status == DG_PREP_OK && info.inverted && info.components == 2);
    CHECK(info.box_x <= 56 && info.box_x + info.box_w >= 382);
    CHECK(map->pixels[5 * 500 + 5] == 0);       /* paper */
    CHECK(map->pixels[50 * 500 + 100] >= 200);  /* on the bar of the 7 */
    CHECK(map->pixels[130 * 500 + 330] == 0);   /* inside the 0 */
    CHECK(map->pixels[130 * 500 + 375] >= 200); /* on the 0 */

    /* each half as its own digit; and the 0 cut out by a mask over the whole image */
    uint8_t seven_out[DG_MNIST_PIXELS], zero_out[DG_MNIST_PIXELS], masked[DG_MNIST_PIXELS];
    CHECK_OK(dg_ink_to_mnist(map, 0, 0, 250, 260, seven_out));
    CHECK_OK(dg_ink_to_mnist(map, 250, 0, 250, 260, zero_out));
    uint8_t *mask = calloc(500 * 260, 1);
    CHECK(mask != NULL);
    for (int y = 0; y < 260; y++) {
        for (int x = 250; x < 500; x++) {
            mask[y * 500 + x] = 1;
        }
    }
    dg_preprocess_info mi;
    CHECK_OK(dg_ink_mask_to_mnist(map, mask, 0, 0, 500, 260, masked, &mi));
    free(mask);
    CHECK(mi.status == DG_PREP_OK && mi.box_x >= 276);
    CHECK(mean_abs_diff(masked, zero_out) < 0.5);
    digit_stats s7 = measure(seven_out), s0 = measure(zero_out);
    CHECK(s7.box_h == 20 && s0.box_h == 20);
    CHECK_NEAR(s7.com_x, 14, 0.5);
    CHECK_NEAR(s0.com_y, 14, 0.5);
    CHECK(zero_out[14 * 28 + 14] == 0 && near_diff(seven_out, zero_out) > 15);
    /* a region without ink */
    CHECK_OK(dg_ink_mask_to_mnist(map, NULL, 0, 240, 40, 20, masked, &mi));
    CHECK(mi.status == DG_PREP_EMPTY && measure(masked).mass == 0);
    dg_image_free(map);
}

/* ---------------------------------------------------------------- phone photos */

/* A grey photo of white paper (235, grain of 3 levels) under a hard shadow: a disc of the
 * given radius centred at (cx, cy), `dark` of the light taken away inside it, with an
 * edge of two pixels; the drawing and the grain multiplied by the same light. */
static dg_image *shadowed_photo(const dg_image *drawing, double cx, double cy, double radius,
                                double dark, uint64_t seed)
{
    dg_image *img = canvas(drawing->w, drawing->h, 1, white);
    if (!img) {
        return NULL;
    }
    dg_rng rng;
    dg_rng_seed(&rng, seed);
    for (int y = 0; y < img->h; y++) {
        for (int x = 0; x < img->w; x++) {
            double d = radius - hypot(x + 0.5 - cx, y + 0.5 - cy);
            double t = d < -1 ? 0 : d > 1 ? 1 : 0.5 + 0.5 * d;
            double v = drawing->pixels[(size_t)y * img->w + x] * 235.0 / 255.0;
            v = (v + 3 * dg_rng_normal(&rng)) * (1 - dark * t);
            img->pixels[(size_t)y * img->w + x] = to_byte(v);
        }
    }
    return img;
}

static const uint8_t pen[4] = {70, 70, 70, 255};

/* Ink pixels of a map outside the box (x0, y0)-(x1, y1). */
static int ink_outside(const dg_image *map, int x0, int y0, int x1, int y1)
{
    int n = 0;
    for (int y = 0; y < map->h; y++) {
        for (int x = 0; x < map->w; x++) {
            n += map->pixels[(size_t)y * map->w + x] && (x < x0 || x > x1 || y < y0 || y > y1);
        }
    }
    return n;
}

/* A thin 9 on a 60x64 crop. */
static void nine(dg_image *img)
{
    ellipse(img, 30, 22, 10, 11, 1.2, black);
    segment(img, 40, 24, 33, 54, 1.2, black);
}

/* A small crop of a photo (60x64, so one background for the whole image) whose light falls
 * from 235 at the top to 120 at the bottom: its background follows a plane. With one level
 * (the brightest paper) the dim end of the page was all ink and the 9 was lost ("no ink"). */
DG_TEST(preprocess_small_crop_with_light_falling_off)
{
    dg_image *img = canvas(60, 64, 1, white);
    dg_image *clean = canvas(60, 64, 1, white);
    CHECK(img && clean);
    nine(img);
    nine(clean);
    dg_rng rng;
    dg_rng_seed(&rng, 3);
    for (int y = 0; y < 64; y++) {
        for (int x = 0; x < 60; x++) {
            double light = (235.0 - 115.0 * y / 63.0) / 255.0;
            double v = img->pixels[y * 60 + x] * light + 6 * dg_rng_normal(&rng);
            img->pixels[y * 60 + x] = to_byte(v);
        }
    }
    uint8_t a[DG_MNIST_PIXELS], b[DG_MNIST_PIXELS];
    dg_preprocess_info ia, ib;
    PREPROCESS_OK(img, a, &ia); /* frees img */
    PREPROCESS_OK(clean, b, &ib);
    CHECK_MSG(near_diff(a, b) < 12.0, "falling light vs even: %.2f", near_diff(a, b));
}

/* A shadow over most of a small photo, the lit paper left in a corner: the ground is dim,
 * and the lit paper's thin ends along the border look like light strokes. They run out of
 * the frame, so they are the surroundings: the ink is the dark 0 in the shadow. */
DG_TEST(preprocess_shadow_over_most_of_the_page)
{
    dg_image *drawing = canvas(300, 300, 1, white);
    CHECK(drawing != NULL);
    ellipse(drawing, 200, 110, 10, 22, 1.2, pen);
    dg_image *img = shadowed_photo(drawing, 330, -30, 330, 0.6, 5);
    dg_image_free(drawing);
    uint8_t out[DG_MNIST_PIXELS];
    dg_preprocess_info info;
    PREPROCESS_OK(img, out, &info);
    CHECK_MSG(info.inverted, "took the lit paper for light ink");
    CHECK_MSG(abs(info.box_x - 188) <= 3 && abs(info.box_y - 86) <= 3, "box at %d,%d", info.box_x,
              info.box_y);
}

/* A black 0 in a shadow deep enough (the paper at 30% of its light) and wide enough (about
 * two thirds of the page) that the page's median is as dim as a dark screen's: the lit
 * third of the page tells a shadow, and the strokes decide the polarity. Taken for a dark
 * screen, the lit paper beyond the shadow's edge was the ink (read as a 7). */
DG_TEST(preprocess_black_digit_under_a_shadow_over_most_of_the_page)
{
    dg_image *drawing = canvas(300, 300, 1, white);
    CHECK(drawing != NULL);
    ellipse(drawing, 120, 170, 22, 40, 2.5, black);
    dg_image *img = shadowed_photo(drawing, 10, 320, 280, 0.7, 7);
    dg_image_free(drawing);
    uint8_t out[DG_MNIST_PIXELS];
    dg_preprocess_info info;
    PREPROCESS_OK(img, out, &info);
    CHECK_MSG(info.inverted, "took the lit paper for light ink (background %d)", info.background);
    CHECK_MSG(abs(info.box_x - 95) <= 3 && abs(info.box_y - 127) <= 3, "box at %d,%d", info.box_x,
              info.box_y);
}

/* A faint pen (a grey of 190) in a deep shadow over most of the page: its strokes give
 * only a little more evidence than the lit corner's grain, and they decide. */
DG_TEST(preprocess_faint_pen_under_a_deep_shadow)
{
    static const struct {
        double cx, dark;
    } shadows[] = {{330, 0.6}, {360, 0.6}};
    static const uint8_t faint[4] = {190, 190, 190, 255};
    for (int i = 0; i < 2; i++) {
        dg_image *drawing = canvas(300, 300, 1, white);
        CHECK(drawing != NULL);
        ellipse(drawing, 200, 110, 10, 22, 1.2, faint);
        dg_image *img = shadowed_photo(drawing, shadows[i].cx, -30, 330, shadows[i].dark, 5);
        dg_image_free(drawing);
        uint8_t out[DG_MNIST_PIXELS];
        dg_preprocess_info info;
        PREPROCESS_OK(img, out, &info);
        CHECK_MSG(info.inverted, "shadow %d: took the lit paper for light ink", i);
        CHECK_MSG(abs(info.box_x - 188) <= 3 && abs(info.box_y - 86) <= 3,
                  "shadow %d: box at %d,%d", i, info.box_x, info.box_y);
    }
}

/* A faint ring on grey paper (225, grain of 4 levels) beside a strip of dark desk along the
 * right side of the photo: the desk runs out of the frame and does not set how dark full
 * ink is, so the faint ring stays ink and is the digit. */
DG_TEST(preprocess_faint_digit_beside_a_desk_strip)
{
    static const struct {
        int pen, desk;
    } cases[] = {{175, 40}, {175, 70}, {150, 40}};
    for (int i = 0; i < 3; i++) {
        dg_image *img = NULL;
        CHECK_OK(dg_image_new(240, 300, 1, &img));
        dg_rng rng;
        dg_rng_seed(&rng, 3);
        for (int y = 0; y < 300; y++) {
            for (int x = 0; x < 240; x++) {
                double ring = fabs(hypot((x - 100) / 30.0, (y - 150) / 50.0) - 1.0) * 40;
                double v = x >= 150 ? cases[i].desk : ring < 2.0 ? cases[i].pen : 225;
                v += 4 * dg_rng_normal(&rng);
                img->pixels[y * 240 + x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
        }
        uint8_t out[DG_MNIST_PIXELS];
        dg_preprocess_info info;
        PREPROCESS_OK(img, out, &info);
        CHECK_MSG(abs(info.box_x - 69) <= 3 && abs(info.box_y - 98) <= 4 && info.box_h > 95,
                  "pen %d, desk %d: box at %d,%d %dx%d", cases[i].pen, cases[i].desk, info.box_x,
                  info.box_y, info.box_w, info.box_h);
    }
}

/* The wedges of desk a keystone photo leaves along both sides (a grey of 50, 16 px wide at
 * the top and none at the bottom, too narrow to be found as a desk) beside a thin faint 7
 * (a grey of 195): the desk's clear pixels outnumber the digit's about ten to one, but
 * they stay by the frame, so they do not set how dark full ink is. When they did, the 7
 * fell under the thresholds and a wedge was the digit. */
DG_TEST(preprocess_faint_digit_between_wedges_of_desk)
{
    static const uint8_t faint[4] = {195, 195, 195, 255};
    dg_image *drawing = canvas(300, 320, 1, white);
    CHECK(drawing != NULL);
    seven(drawing, 110, 110, 70, 110, 1.2, faint);
    dg_rng rng;
    dg_rng_seed(&rng, 5);
    for (int y = 0; y < 320; y++) {
        double wedge = 16 - 16.0 * y / 319.0;
        for (int x = 0; x < 300; x++) {
            double v = x < wedge || x >= 300 - wedge ? 50 : drawing->pixels[y * 300 + x] * 0.87;
            v += 3 * dg_rng_normal(&rng);
            drawing->pixels[y * 300 + x] = to_byte(v);
        }
    }
    uint8_t out[DG_MNIST_PIXELS];
    dg_preprocess_info info;
    PREPROCESS_OK(drawing, out, &info);
    CHECK_MSG(abs(info.box_x - 109) <= 4 && abs(info.box_y - 109) <= 4 && info.box_h > 100,
              "box at %d,%d %dx%d", info.box_x, info.box_y, info.box_w, info.box_h);
}

/* A curved shadow's edge beside a digit: the paper on both sides is paper, and no stroke
 * is drawn along the edge's shadow side, where the coarse background comes back towards the
 * shadow's level only gradually. */
DG_TEST(preprocess_no_stroke_along_a_shadow_edge)
{
    dg_image *drawing = canvas(400, 420, 1, white);
    CHECK(drawing != NULL);
    seven(drawing, 250, 150, 60, 110, 1.5, pen);
    dg_image *img = shadowed_photo(drawing, -0.1 * 400, -0.1 * 420, 0.6 * hypot(400, 420), 0.45, 6);
    dg_image_free(drawing);
    CHECK(img != NULL);
    dg_image *map = NULL;
    dg_preprocess_info info;
    CHECK_OK(dg_ink_map(img, &map, &info));
    dg_image_free(img);
    CHECK(info.status == DG_PREP_OK && info.inverted);
    int stray = ink_outside(map, 240, 140, 320, 270);
    CHECK_MSG(stray < 50, "%d ink pixels away from the 7", stray);
    dg_image_free(map);
}

/* Paper photographed with the light falling off towards the corners (vignetting): the dim
 * border is no desk, since it has no edge, and the digit near it stays. */
DG_TEST(preprocess_vignetting_is_no_desk)
{
    dg_image *drawing = canvas(480, 360, 1, white);
    CHECK(drawing != NULL);
    seven(drawing, 60, 40, 70, 120, 3, pen);
    ellipse(drawing, 300, 200, 30, 50, 3, pen);
    dg_rng rng;
    dg_rng_seed(&rng, 9);
    for (int y = 0; y < 360; y++) {
        for (int x = 0; x < 480; x++) {
            double rx = (x - 240) / 240.0, ry = (y - 180) / 180.0;
            double light = 1.0 - 0.3 * (rx * rx * rx * rx + ry * ry * ry * ry);
            uint8_t *px = &drawing->pixels[(size_t)y * 480 + x];
            double v = (*px * 250.0 / 255.0 + 2 * dg_rng_normal(&rng)) * light;
            *px = to_byte(v);
        }
    }
    dg_image *map = NULL;
    dg_preprocess_info info;
    CHECK_OK(dg_ink_map(drawing, &map, &info));
    dg_image_free(drawing);
    CHECK_MSG(!info.desk, "took the dim border for a desk");
    CHECK(info.status == DG_PREP_OK && info.components == 2);
    CHECK(map->pixels[40 * 480 + 95] > 0); /* on the 7's bar, near the corner */
    dg_image_free(map);
}

/* A number written so large that its strokes pass through most of the page's cells: the
 * darkest pixel of the median cell is then the ink itself, which must not be taken for the
 * paper's grain (that left no dark evidence at all, and a few bright flecks decided: light
 * ink on white paper). */
DG_TEST(preprocess_page_mostly_ink_is_dark_ink)
{
    static const uint8_t paper[1] = {200};
    dg_image *img = canvas(640, 240, 1, paper);
    CHECK(img != NULL);
    for (int k = 0; k < 32; k++) { /* a row of thin 1s, one in every cell column */
        segment(img, 12 + 19.5 * k, 50, 10 + 19.5 * k, 190, 0.6, black);
    }
    dg_rng rng;
    dg_rng_seed(&rng, 5);
    for (int i = 0; i < 640 * 240; i++) {
        double v = img->pixels[i] + 4 * dg_rng_normal(&rng);
        img->pixels[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
    for (int k = 0; k < 6; k++) { /* flecks of glare */
        img->pixels[(size_t)(30 + 30 * k) * 640 + 100 * k + 15] = 255;
    }
    dg_image *map = NULL;
    dg_preprocess_info info;
    CHECK_OK(dg_ink_map(img, &map, &info));
    CHECK_MSG(info.inverted, "light ink found on white paper");
    dg_image_free(map);
    dg_image_free(img);
}

/* A dark strip of desk down the whole right border, and a digit written with a fine pen
 * whose ink is under 2% of the strip's: the digit is what is kept, not the strip (it used
 * to count as a speck beside the strip, and then the strip was taken for a 1). */
DG_TEST(preprocess_fine_digit_beside_a_strip_along_the_border)
{
    static const uint8_t desk[1] = {40};
    dg_image *img = canvas(400, 300, 1, white);
    CHECK(img != NULL);
    for (int y = 0; y < 300; y++) {
        memset(img->pixels + (size_t)y * 400 + 350, desk[0], 50);
    }
    seven(img, 150, 110, 40, 70, 0.8, black);
    uint8_t out[DG_MNIST_PIXELS];
    dg_preprocess_info info;
    PREPROCESS_OK(img, out, &info);
    CHECK_MSG(info.box_x >= 140 && info.box_x + info.box_w <= 200, "kept the box at x %d, %d wide",
              info.box_x, info.box_w);
}

/* A faint pen on grainy paper between two thin strips of dark desk along the frame (the
 * wedges a tilted page leaves): full ink is the desk's, so the paper's grain looks small
 * beside it, but the pen inside is not clear of the grain on its own. The plane is then
 * smoothed as for any noisy photo, and the ring comes out as it does drawn clean. */
DG_TEST(preprocess_faint_pen_between_strips_of_desk_is_smoothed)
{
    dg_image *photo = NULL, *clean = NULL;
    CHECK_OK(dg_image_new(240, 300, 1, &photo));
    CHECK_OK(dg_image_new(240, 300, 1, &clean));
    dg_rng rng;
    dg_rng_seed(&rng, 5);
    for (int y = 0; y < 300; y++) {
        for (int x = 0; x < 240; x++) {
            double ring = fabs(hypot((x - 120) / 30.0, (y - 150) / 50.0) - 1.0) * 40;
            double wedge = 3 + 25 * (300 - y) / 300.0; /* the desk a tilted page leaves */
            double v = x < wedge || x >= 240 - wedge ? 50 : ring < 2.5 ? 140 : 210;
            v += 9 * dg_rng_normal(&rng);
            photo->pixels[y * 240 + x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            clean->pixels[y * 240 + x] = ring < 2.5 ? 0 : 255;
        }
    }
    uint8_t a[DG_MNIST_PIXELS], b[DG_MNIST_PIXELS];
    dg_preprocess_info ia, ib;
    PREPROCESS_OK(photo, a, &ia);
    PREPROCESS_OK(clean, b, &ib);
    CHECK_MSG(abs(ia.box_x - 89) <= 4 && abs(ia.box_y - 99) <= 4 && ia.box_w > 55 && ia.box_h > 95,
              "box at %d,%d %dx%d", ia.box_x, ia.box_y, ia.box_w, ia.box_h);
    CHECK_MSG(near_diff(a, b) < 12.0, "photo vs clean: %.2f", near_diff(a, b));
    CHECK_MSG(ia.noise < 6.0f, "noise %.1f: not smoothed", (double)ia.noise);
}

/* ---------------------------------------------------------------- the steps, to be seen */

static int same_info(const dg_preprocess_info *a, const dg_preprocess_info *b)
{
    int same = a->status == b->status && a->inverted == b->inverted && a->box_x == b->box_x &&
               a->box_y == b->box_y && a->box_w == b->box_w && a->box_h == b->box_h &&
               a->stroke_px == b->stroke_px && a->restroked == b->restroked &&
               a->background == b->background && a->contrast == b->contrast &&
               a->noise == b->noise && a->components == b->components && a->kept == b->kept &&
               a->light_followed == b->light_followed && a->desk == b->desk;
    for (int r = 0; r < DG_PREP_DROP_COUNT; r++) {
        same = same && a->dropped[r] == b->dropped[r];
    }
    return same;
}

static int cmp_u8(const void *a, const void *b)
{
    return *(const uint8_t *)a - *(const uint8_t *)b;
}

/* The median of v[0..n), n > 0; reorders v. */
static int median_u8(uint8_t *v, size_t n)
{
    qsort(v, n, 1, cmp_u8);
    return v[n / 2];
}

/* Whether the drawing is white (paper) all over the (2r+1)^2 square around (x, y). */
static int paper_around(const dg_image *drawing, int x, int y, int r)
{
    for (int yy = y - r; yy <= y + r; yy++) {
        for (int xx = x - r; xx <= x + r; xx++) {
            if (xx < 0 || yy < 0 || xx >= drawing->w || yy >= drawing->h ||
                drawing->pixels[(size_t)yy * drawing->w + xx] != 255) {
                return 0;
            }
        }
    }
    return 1;
}

/* A 7 inside a drawn frame with two specks, under a hard shadow over the bottom-right
 * (half the light, its edge across the 7's stroke): the page view's paper is one level on
 * both sides of the shadow's edge, the 7's ink is marked as the digit, the frame and the
 * specks as dropped for their reasons, and the answers are dg_preprocess's, bit for bit. */
DG_TEST(preprocess_steps_show_the_decisions)
{
    dg_image *drawing = canvas(300, 300, 1, white);
    CHECK(drawing != NULL);
    rectangle(drawing, 40, 40, 260, 260, 2, pen);
    seven(drawing, 120, 90, 60, 110, 5, pen);
    segment(drawing, 70, 225, 71, 225, 1.2, pen); /* specks */
    segment(drawing, 225, 70, 226, 70, 1.2, pen);
    const double cx = 300, cy = 300, radius = 190;
    dg_image *img = shadowed_photo(drawing, cx, cy, radius, 0.5, 9);
    CHECK(img != NULL);
    uint8_t out[DG_MNIST_PIXELS];
    dg_preprocess_info info;
    CHECK_OK(dg_preprocess(img, out, &info));
    CHECK_MSG(info.status == DG_PREP_OK, "status %d", (int)info.status);
    dg_prep_steps s;
    CHECK_OK(dg_preprocess_steps(img, &s));
    CHECK(s.scale == 1 && s.page && s.ink && s.decision);
    CHECK(s.page->w == 300 && s.page->h == 300 && s.page->channels == 1);
    CHECK(s.ink->w == 300 && s.ink->h == 300 && s.ink->channels == 1);
    CHECK_MSG(same_info(&s.info, &info), "the steps' info differs from dg_preprocess's");
    CHECK_MSG(memcmp(s.mnist, out, DG_MNIST_PIXELS) == 0, "the steps' 28x28 differs");
    uint8_t again[DG_MNIST_PIXELS];
    dg_preprocess_info info_again;
    CHECK_OK(dg_preprocess(img, again, &info_again));
    CHECK(memcmp(again, out, DG_MNIST_PIXELS) == 0 && same_info(&info_again, &info));
    CHECK_MSG(info.dropped[DG_PREP_DROP_FRAME] >= 1, "frame not dropped as a frame");

    /* paper away from ink and from the shadow's edge: the page is one level on both sides,
     * where the photo differs by tens */
    uint8_t *lit = malloc(300 * 300), *dim = malloc(300 * 300);
    uint8_t *raw_lit = malloc(300 * 300), *raw_dim = malloc(300 * 300);
    CHECK(lit && dim && raw_lit && raw_dim);
    size_t n_lit = 0, n_dim = 0;
    for (int y = 0; y < 300; y++) {
        for (int x = 0; x < 300; x++) {
            double d = radius - hypot(x + 0.5 - cx, y + 0.5 - cy); /* > 0: in the shadow */
            if (fabs(d) < 6 || !paper_around(drawing, x, y, 4)) {
                continue;
            }
            size_t i = (size_t)y * 300 + x;
            if (d > 0) {
                dim[n_dim] = s.page->pixels[i];
                raw_dim[n_dim++] = img->pixels[i];
            } else {
                lit[n_lit] = s.page->pixels[i];
                raw_lit[n_lit++] = img->pixels[i];
            }
        }
    }
    CHECK(n_lit > 1000 && n_dim > 1000);
    int page_lit = median_u8(lit, n_lit), page_dim = median_u8(dim, n_dim);
    int photo_lit = median_u8(raw_lit, n_lit), photo_dim = median_u8(raw_dim, n_dim);
    int low_lit = lit[n_lit / 20], low_dim = dim[n_dim / 20]; /* 5th percentiles */
    free(lit);
    free(dim);
    free(raw_lit);
    free(raw_dim);
    CHECK_MSG(photo_lit - photo_dim > 60, "photo: paper %d lit, %d in the shadow", photo_lit,
              photo_dim);
    CHECK_MSG(abs(page_lit - page_dim) <= 4 && page_lit >= 245,
              "page: paper %d lit, %d in the shadow", page_lit, page_dim);
    CHECK_MSG(low_lit >= 225 && low_dim >= 225, "page: 5th percentiles %d lit, %d in the shadow",
              low_lit, low_dim);

    /* the 7's ink (also in the shadow), the frame's, the specks' */
    int n_seven = 0, n_digit = 0, n_frame = 0, n_framed = 0, n_dim_digit = 0;
    for (int y = 0; y < 300; y++) {
        for (int x = 0; x < 300; x++) {
            size_t i = (size_t)y * 300 + x;
            if (drawing->pixels[i] > 100) {
                continue;
            }
            int on_frame =
                (abs(x - 40) <= 1 || abs(x - 260) <= 1 || abs(y - 40) <= 1 || abs(y - 260) <= 1);
            if (on_frame) {
                n_frame++;
                n_framed += s.decision[i] == DG_STEP_DROPPED + DG_PREP_DROP_FRAME;
                CHECK_MSG(s.ink->pixels[i] > 0, "frame pixel %d,%d not in the ink map", x, y);
            } else if (x >= 110 && x <= 190 && y >= 80 && y <= 210) {
                n_seven++;
                n_digit += s.decision[i] == DG_STEP_DIGIT;
                n_dim_digit += s.decision[i] == DG_STEP_DIGIT && hypot(x - cx, y - cy) < radius;
            }
        }
    }
    CHECK_MSG(n_seven > 500 && n_digit >= n_seven * 95 / 100, "the 7: %d of %d pixels kept",
              n_digit, n_seven);
    CHECK_MSG(n_dim_digit > 50, "the 7 in the shadow: %d pixels kept", n_dim_digit);
    CHECK_MSG(n_frame > 500 && n_framed >= n_frame * 95 / 100,
              "the frame: %d of %d pixels dropped as a frame", n_framed, n_frame);
    int speck_a = s.decision[225 * 300 + 70], speck_b = s.decision[70 * 300 + 225];
    CHECK_MSG(speck_a >= DG_STEP_DROPPED && speck_b >= DG_STEP_DROPPED && speck_a < DG_STEP_COUNT &&
                  speck_b < DG_STEP_COUNT,
              "specks: decisions %d and %d", speck_a, speck_b);
    CHECK(s.decision[150 * 300 + 60] == DG_STEP_BACKGROUND);
    CHECK(strcmp(dg_prep_step_name(DG_STEP_DROPPED + DG_PREP_DROP_FRAME),
                 dg_prep_drop_name(DG_PREP_DROP_FRAME)) == 0);
    dg_prep_steps_free(&s);
    CHECK(s.page == NULL && s.ink == NULL && s.decision == NULL);
    dg_prep_steps_free(NULL);
    dg_image_free(img);
    dg_image_free(drawing);
}

/* A thin-stroked drawing on a flat ground is worked on pooled: the steps are at that
 * resolution, with its scale, and the answers are dg_preprocess's. A bad image leaves
 * nothing to free. */
DG_TEST(preprocess_steps_of_a_pooled_drawing)
{
    dg_image *img = canvas(600, 600, 3, white);
    CHECK(img != NULL);
    seven(img, 200, 150, 200, 300, 1.0, black);
    uint8_t out[DG_MNIST_PIXELS];
    dg_preprocess_info info;
    CHECK_OK(dg_preprocess(img, out, &info));
    dg_prep_steps s;
    CHECK_OK(dg_preprocess_steps(img, &s));
    CHECK_MSG(s.scale == 3 && s.page->w == 200 && s.page->h == 200, "scale %d, %dx%d", s.scale,
              s.page->w, s.page->h);
    CHECK(memcmp(s.mnist, out, DG_MNIST_PIXELS) == 0 && same_info(&s.info, &info));
    int n_digit = 0;
    for (int i = 0; i < 200 * 200; i++) {
        n_digit += s.decision[i] == DG_STEP_DIGIT;
        CHECK(s.decision[i] == DG_STEP_DIGIT || s.decision[i] == DG_STEP_BACKGROUND ||
              s.decision[i] == DG_STEP_FAINT);
    }
    CHECK(n_digit > 100);
    dg_prep_steps_free(&s);
    dg_image_free(img);
    dg_image bad = {0, 0, 1, NULL};
    CHECK(dg_preprocess_steps(&bad, &s) == DG_ERR_ARG);
    CHECK(s.page == NULL && s.ink == NULL && s.decision == NULL);
    CHECK(dg_preprocess_steps(NULL, &s) == DG_ERR_ARG);
}

/* A grey page (180) on a desk only 30 levels darker (150), both with a little noise: the
 * desk is found and left out, so the page's edge, which the light divided out can turn
 * into a frame in pieces around the digit, is no ink; only the 5 (its bar and its body)
 * is left. Photos of such a page had the frame's sides left beside the digit, and
 * `predict` took them for numbers of 2 or 3 digits. */
DG_TEST(preprocess_page_on_a_desk_a_little_darker)
{
    static const uint8_t page_grey[4] = {180, 180, 180, 255};
    dg_image *img = canvas(340, 360, 1, page_grey);
    CHECK(img != NULL);
    five(img, 130, 130, 70, 100, 3, black);
    dg_rng rng;
    dg_rng_seed(&rng, 3);
    for (int y = 0; y < 360; y++) {
        for (int x = 0; x < 340; x++) {
            bool desk = x < 30 || x >= 260 || y < 80 || y >= 290;
            double v = desk ? 150 : img->pixels[y * 340 + x];
            v += 4 * dg_rng_normal(&rng);
            img->pixels[y * 340 + x] = to_byte(v);
        }
    }
    uint8_t out[DG_MNIST_PIXELS];
    dg_preprocess_info info;
    PREPROCESS_OK(img, out, &info);
    CHECK_MSG(info.desk && info.kept == info.components, "desk %d, %d components, %d kept",
              info.desk, info.components, info.kept);
}

/* The desk beyond the page's right edge, a strip a quarter of the photo wide (a grey of
 * 60 beside paper of 190), and a faint 8 (a grey of 140) on the page: the strip runs out
 * of the frame and stays within a third of the photo from its side, so it does not set
 * how dark full ink is, and the 8 is the digit. When it did, the 8 fell under the
 * thresholds as faint ink and the strip was the digit. */
DG_TEST(preprocess_faint_digit_beside_a_wide_strip_of_desk)
{
    static const uint8_t paper[4] = {190, 190, 190, 255}, faint[4] = {140, 140, 140, 255};
    dg_image *img = canvas(300, 360, 1, paper);
    CHECK(img != NULL);
    ellipse(img, 110, 140, 40, 40, 1.5, faint);
    ellipse(img, 110, 220, 45, 40, 1.5, faint);
    dg_rng rng;
    dg_rng_seed(&rng, 4);
    for (int y = 0; y < 360; y++) {
        for (int x = 0; x < 300; x++) {
            double v = x >= 225 ? 60 : img->pixels[y * 300 + x];
            v += 3 * dg_rng_normal(&rng);
            img->pixels[y * 300 + x] = to_byte(v);
        }
    }
    uint8_t out[DG_MNIST_PIXELS];
    dg_preprocess_info info;
    PREPROCESS_OK(img, out, &info);
    CHECK_MSG(abs(info.box_x - 64) <= 6 && info.box_x + info.box_w < 225 && info.box_h > 150,
              "box at %d,%d %dx%d", info.box_x, info.box_y, info.box_w, info.box_h);
}

/* A keystone photo of a 2 (the synthesiser's paper, the far edge a fifth narrower): where
 * the wedge of desk along the right side narrows, the page's edge is no longer joined to
 * the border and was left as a sliver beside the digit. It carries on the wedge's piece
 * dropped along the border, over the same columns, and goes with it. */
DG_TEST(preprocess_edge_of_a_narrowing_wedge_of_desk)
{
    dg_rng rng;
    dg_rng_seed(&rng, 122);
    dg_synth_style st;
    do {
        dg_synth_random_style(&rng, &st);
    } while (st.canvas != DG_SYNTH_PAPER);
    st.lines = DG_SYNTH_LINES_NONE;
    st.lighting = 0;
    st.broken = 0;
    st.perspective = 0.15f + 0.1f * dg_rng_uniform(&rng);
    dg_image *img = NULL;
    CHECK_OK(dg_synth_digit(&rng, 2, &st, &img));
    uint8_t out[DG_MNIST_PIXELS];
    dg_preprocess_info info;
    PREPROCESS_OK(img, out, &info);
    CHECK_MSG(info.components == 1 && info.dropped[DG_PREP_DROP_BORDER] >= 3,
              "%d components, %d dropped along the border", info.components,
              info.dropped[DG_PREP_DROP_BORDER]);
}
