/*
 * test_plot.c - charts: nice ticks, the data-to-pixel mapping of the training curves, the
 * history CSV reader (good and bad files), and every chart written as PNG that decodes
 * again with the right size (and as SVG).
 */
#include "test.h"

#include <stdlib.h>
#include <string.h>

#define TRAIN_BLUE 0x1f77b4u
#define VAL_ORANGE 0xff7f0eu
#define RED        0xd62728u

static dg_color pixel(const dg_image *img, int x, int y)
{
    const uint8_t *p = img->pixels + ((size_t)y * (size_t)img->w + (size_t)x) * img->channels;
    if (img->channels < 3) {
        return 0x010101u * p[0];
    }
    return ((dg_color)p[0] << 16) | ((dg_color)p[1] << 8) | p[2];
}

static int count_colour(const dg_image *img, dg_color c)
{
    int n = 0;
    for (int y = 0; y < img->h; y++) {
        for (int x = 0; x < img->w; x++) {
            n += pixel(img, x, y) == c;
        }
    }
    return n;
}

static const char *tmp_file(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", test_tmp_dir(), name);
    return path;
}

static const char *write_text(const char *name, const char *text)
{
    const char *path = tmp_file(name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return path;
}

DG_TEST(plot_nice_ticks_unit_range)
{
    double t[32];
    int n = dg_nice_ticks(0, 1, 5, t, 32);
    CHECK(n == 6);
    for (int i = 0; i < n; i++) {
        CHECK_NEAR(t[i], 0.2 * i, 1e-12);
    }
}

DG_TEST(plot_nice_ticks_cover_range)
{
    double t[64];
    /* 0..7.3 in about 5 steps: step 2, from 0 to 8 */
    int n = dg_nice_ticks(0, 7.3, 5, t, 64);
    CHECK(n == 5 && t[0] == 0 && t[4] == 8);
    /* -3..17: step 5, from -5 to 20 */
    n = dg_nice_ticks(-3, 17, 5, t, 64);
    CHECK(n == 6 && t[0] == -5 && t[5] == 20);
    /* accuracies in percent */
    n = dg_nice_ticks(96.2, 99.4, 5, t, 64);
    CHECK(n >= 4 && t[0] <= 96.2 && t[n - 1] >= 99.4);
    CHECK_NEAR(t[1] - t[0], 1, 1e-9); /* 0.64 wanted: the next 1-2-5 step up */
    /* tiny values: 0.0012..0.0049 */
    n = dg_nice_ticks(0.0012, 0.0049, 4, t, 64);
    CHECK(n >= 3 && t[0] <= 0.0012 && t[n - 1] >= 0.0049);
    CHECK_NEAR(t[1] - t[0], 0.001, 1e-12);
    /* one value is widened around it */
    n = dg_nice_ticks(3, 3, 5, t, 64);
    CHECK(n >= 2 && t[0] < 3 && t[n - 1] > 3);
    /* max too small for the wanted step: a coarser one */
    n = dg_nice_ticks(0, 1, 10, t, 4);
    CHECK(n >= 2 && n <= 4 && t[0] == 0 && t[n - 1] >= 1);
}

DG_TEST(plot_nice_ticks_bad_input)
{
    double t[8];
    CHECK(dg_nice_ticks(1, 0, 5, t, 8) == 0);
    CHECK(dg_nice_ticks(0, 1.0 / 0.0, 5, t, 8) == 0);
    CHECK(dg_nice_ticks(0.0 / 0.0, 1, 5, t, 8) == 0);
    CHECK(dg_nice_ticks(-1e308, 1e308, 5, t, 8) == 0);
    CHECK(dg_nice_ticks(0, 1, 5, NULL, 8) == 0);
    CHECK(dg_nice_ticks(0, 1, 5, t, 1) == 0);
}

DG_TEST(plot_area_map)
{
    dg_plot_area a = {100, 50, 200, 100, 0, 10, 0, 1};
    double px, py;
    dg_plot_area_map(&a, 0, 0, &px, &py);
    CHECK(px == 100 && py == 150);
    dg_plot_area_map(&a, 10, 1, &px, &py);
    CHECK(px == 300 && py == 50);
    dg_plot_area_map(&a, 5, 0.25, &px, &py);
    CHECK(px == 200 && py == 125);
}

DG_TEST(plot_history_points_at_pixels)
{
    /* loss 1.0 at epoch 1 and 0.5 at epoch 2: the loss axis runs 0..1, so the first point
     * sits on the top edge and the second half way down, at the ends of the epoch axis */
    const dg_history_row rows[2] = {
        {1, 1.0, 0.50, -1, -1, 1.0},
        {2, 0.5, 0.75, -1, -1, 1.0},
    };
    dg_image *img = NULL;
    dg_plot_area p[2];
    CHECK_OK(dg_chart_history(rows, 2, &img, p));
    double x1, y1, x2, y2, ax, ay;
    dg_plot_area_map(&p[0], 1, 1.0, &x1, &y1);
    dg_plot_area_map(&p[0], 2, 0.5, &x2, &y2);
    dg_plot_area_map(&p[1], 2, 75.0, &ax, &ay);
    int axis = p[0].y0 == 0 && p[0].y1 == 1 && p[0].x0 < 1 && p[0].x1 > 2;
    int pos = y1 == p[0].y && y2 == p[0].y + p[0].h / 2.0 && x1 > p[0].x && x2 < p[0].x + p[0].w;
    /* the pixels under those points are the training colour, the canvas holds both panels */
    dg_color c1 = pixel(img, (int)x1, (int)y1), c2 = pixel(img, (int)x2, (int)y2);
    dg_color c3 = pixel(img, (int)ax, (int)ay);
    int between = pixel(img, (int)((x1 + x2) / 2), (int)((y1 + y2) / 2)) == TRAIN_BLUE;
    int inside = p[1].x > p[0].x + p[0].w && p[1].x + p[1].w <= img->w && p[0].y + p[0].h <= img->h;
    int no_val = count_colour(img, VAL_ORANGE) == 0;
    dg_image_free(img);
    CHECK_MSG(axis, "loss axis %g..%g, epochs %g..%g", p[0].y0, p[0].y1, p[0].x0, p[0].x1);
    CHECK_MSG(pos, "points at (%g, %g) and (%g, %g), area %d,%d %dx%d", x1, y1, x2, y2, p[0].x,
              p[0].y, p[0].w, p[0].h);
    CHECK_MSG(c1 == TRAIN_BLUE && c2 == TRAIN_BLUE && c3 == TRAIN_BLUE, "colours %06x %06x %06x",
              c1, c2, c3);
    CHECK(between);
    CHECK(inside);
    CHECK(no_val);
}

DG_TEST(plot_history_validation_series)
{
    const dg_history_row rows[3] = {
        {1, 0.40, 0.88, 0.20, 0.94, 3.0},
        {2, 0.15, 0.95, 0.12, 0.96, 3.0},
        {3, 0.10, 0.97, 0.09, 0.975, 3.0},
    };
    dg_image *img = NULL;
    dg_plot_area p[2];
    CHECK_OK(dg_chart_history(rows, 3, &img, p));
    double x, y;
    dg_plot_area_map(&p[1], 3, 97.5, &x, &y);
    dg_color c = pixel(img, (int)x, (int)y);
    int orange = count_colour(img, VAL_ORANGE);
    dg_image_free(img);
    CHECK(orange > 50);
    CHECK_MSG(c == VAL_ORANGE, "colour %06x at the last validation accuracy", c);
    /* accuracy is zoomed onto the data, in percent */
    CHECK(p[1].y0 <= 88 && p[1].y0 >= 80 && p[1].y1 >= 97.5 && p[1].y1 <= 100);
}

DG_TEST(plot_history_single_epoch)
{
    const dg_history_row row = {1, 0.3, 0.9, -1, -1, 2.0};
    dg_image *img = NULL;
    dg_plot_area p[2];
    CHECK_OK(dg_chart_history(&row, 1, &img, p));
    double x, y;
    dg_plot_area_map(&p[0], 1, 0.3, &x, &y);
    dg_color c = pixel(img, (int)x, (int)y);
    dg_image_free(img);
    CHECK(c == TRAIN_BLUE);
    CHECK_NEAR(x, p[0].x + p[0].w / 2.0, 1e-9); /* centred */
    CHECK_STATUS(dg_chart_history(&row, 0, &img, p), DG_ERR_ARG);
    CHECK(img == NULL);
    CHECK_STATUS(dg_plot_history(NULL, 3, tmp_file("x.png")), DG_ERR_ARG);
}

DG_TEST(plot_history_load_good)
{
    const char *path = write_text("h.csv", "epoch,loss,accuracy,val_loss,val_accuracy,seconds\r\n"
                                           "1,0.25,0.925,0.12,0.9641,12.5\r\n"
                                           "2,0.1,0.97,,,11\r\n"
                                           "3,0.05,0.985,-1,-1,10.25\r\n"
                                           "\r\n");
    dg_history_row *rows = NULL;
    int n = 0;
    CHECK_OK(dg_history_load(path, &rows, &n));
    int ok = n == 3 && rows[0].epoch == 1 && rows[0].loss == 0.25 && rows[0].accuracy == 0.925 &&
             rows[0].val_loss == 0.12 && rows[0].val_accuracy == 0.9641 &&
             rows[0].seconds == 12.5 && rows[1].val_loss < 0 && rows[1].val_accuracy < 0 &&
             rows[2].epoch == 3 && rows[2].val_loss < 0 && rows[2].seconds == 10.25;
    free(rows);
    CHECK(ok);
}

/* Loads text and expects DG_ERR_FORMAT naming the line ":LINE:". */
static int bad_csv_line(const char *text, int line)
{
    const char *path = write_text("bad.csv", text);
    dg_history_row *rows = (dg_history_row *)1;
    int n = 7;
    dg_status st = dg_history_load(path, &rows, &n);
    char want[32];
    snprintf(want, sizeof want, ":%d:", line);
    if (st != DG_ERR_FORMAT || rows != NULL || n != 0 || !strstr(dg_last_error(), want)) {
        test_fail(__FILE__, __LINE__, "status %s, message \"%s\", want format at line %d",
                  dg_status_name(st), dg_last_error(), line);
        return 0;
    }
    return 1;
}

DG_TEST(plot_history_load_bad)
{
#define H "epoch,loss,accuracy,val_loss,val_accuracy,seconds\n"
    CHECK(bad_csv_line("", 1));
    CHECK(bad_csv_line("epoch,loss,acc\n1,2,3\n", 1));
    CHECK(bad_csv_line(H, 2));                                         /* no rows */
    CHECK(bad_csv_line(H "1,0.5,0.9,0.4,0.91,3\n2,0.4,0.9,0.3\n", 3)); /* 4 fields */
    CHECK(bad_csv_line(H "1,0.5,0.9,0.4,0.91,3,7\n", 2));              /* 7 fields */
    CHECK(bad_csv_line(H "1,abc,0.9,,,3\n", 2));
    CHECK(bad_csv_line(H "1,nan,0.9,,,3\n", 2));
    CHECK(bad_csv_line(H "1,0.5,1.5,,,3\n", 2)); /* accuracy > 1 */
    CHECK(bad_csv_line(H "0,0.5,0.9,,,3\n", 2)); /* epoch 0 */
    CHECK(bad_csv_line(H "1.5,0.5,0.9,,,3\n", 2));
    CHECK(bad_csv_line(H "1,0.5,0.9,,,\n", 2));                 /* no seconds */
    CHECK(bad_csv_line(H "2,0.5,0.9,,,3\n2,0.4,0.9,,,3\n", 3)); /* epochs must increase */
    CHECK(bad_csv_line(H "1,0.5,0.9,,,3\n\n3,0.5 ,0.9,,,3\n", 4));
#undef H
    char *long_line = malloc(5000);
    CHECK(long_line);
    strcpy(long_line, "epoch,loss,accuracy,val_loss,val_accuracy,seconds\n1,");
    size_t base = strlen(long_line);
    memset(long_line + base, '1', 3000);
    strcpy(long_line + base + 3000, "\n");
    int ok = bad_csv_line(long_line, 2);
    free(long_line);
    CHECK(ok);
    dg_history_row *rows = NULL;
    int n = 0;
    CHECK_STATUS(dg_history_load(tmp_file("missing.csv"), &rows, &n), DG_ERR_NOT_FOUND);
    CHECK(rows == NULL && n == 0);
}

static void fake_digit(uint8_t *img, int d)
{
    /* a bar whose position depends on d, enough to tell tiles apart */
    memset(img, 0, DG_MNIST_PIXELS);
    for (int y = 4; y < 24; y++) {
        for (int x = 0; x < 4; x++) {
            img[y * 28 + 4 + 2 * d + x] = (uint8_t)(128 + y * 5);
        }
    }
}

DG_TEST(plot_predictions_png)
{
    enum { N = 10 };
    uint8_t images[N * DG_MNIST_PIXELS], labels[N], pred[N];
    float conf[N];
    for (int i = 0; i < N; i++) {
        fake_digit(images + i * DG_MNIST_PIXELS, i);
        labels[i] = (uint8_t)i;
        pred[i] = (uint8_t)(i == 3 ? 8 : i);
        conf[i] = 0.5f + 0.05f * i;
    }
    const char *path = tmp_file("grid.png");
    CHECK_OK(dg_plot_predictions(images, labels, pred, conf, N, 0, 4, path));
    dg_image *img = NULL;
    CHECK_OK(dg_image_load(path, &img));
    int red = count_colour(img, RED);
    int w = img->w, h = img->h;
    dg_image_free(img);
    /* 4 columns by 3 rows of tiles, at least 112 pixels each */
    CHECK_MSG(w >= 4 * 112 && h >= 3 * 112 && w < 4 * 200 && h < 3 * 240, "%dx%d", w, h);
    CHECK_MSG(red > 4 * 4 * 112, "only %d red pixels for the mistake's frame", red);

    /* no mistakes: no red at all */
    pred[3] = 3;
    CHECK_OK(dg_plot_predictions(images, labels, pred, NULL, N, 0, 5, path));
    CHECK_OK(dg_image_load(path, &img));
    red = count_colour(img, RED);
    dg_image_free(img);
    CHECK(red == 0);
    CHECK_STATUS(dg_plot_predictions(images, labels, pred, conf, 0, 0, 4, path), DG_ERR_ARG);
    CHECK_STATUS(dg_plot_predictions(images, labels, pred, conf, 3, 0, 0, path), DG_ERR_ARG);
}

static void fake_eval(dg_eval *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->classes = 10;
    for (int i = 0; i < 10; i++) {
        ev->confusion[i][i] = 950 + 10 * i;
        ev->confusion[i][(i + 3) % 10] = (uint32_t)(i * 2);
        ev->confusion[i][(i + 5) % 10] = 1;
    }
    for (int i = 0; i < 10; i++) {
        for (int j = 0; j < 10; j++) {
            ev->n += ev->confusion[i][j];
        }
    }
    ev->accuracy = 0.98;
    ev->loss = 0.06;
}

DG_TEST(plot_confusion_png)
{
    dg_eval ev;
    fake_eval(&ev);
    const char *path = tmp_file("confusion.png");
    CHECK_OK(dg_plot_confusion(&ev, NULL, path));
    dg_image *img = NULL;
    CHECK_OK(dg_image_load(path, &img));
    int w = img->w, h = img->h;
    dg_image_free(img);
    CHECK_MSG(w >= 10 * 40 && h >= 10 * 40 && w < 1400 && h < 1400, "%dx%d", w, h);
    /* many classes with labels, and one class */
    static char labels[DG_MAX_CLASSES][32];
    for (int i = 0; i < DG_MAX_CLASSES; i++) {
        snprintf(labels[i], sizeof labels[i], "class-%d", i);
    }
    ev.classes = DG_MAX_CLASSES;
    ev.confusion[40][41] = 123456;
    CHECK_OK(dg_plot_confusion(&ev, (const char(*)[32])labels, path));
    ev.classes = 1;
    CHECK_OK(dg_plot_confusion(&ev, NULL, path));
    ev.classes = 0;
    CHECK_STATUS(dg_plot_confusion(&ev, NULL, path), DG_ERR_ARG);
    CHECK_STATUS(dg_plot_confusion(NULL, NULL, path), DG_ERR_ARG);
}

DG_TEST(plot_probabilities_png)
{
    uint8_t digit[DG_MNIST_PIXELS];
    fake_digit(digit, 7);
    float probs[10] = {0.01f, 0.0f, 0.02f, 0.0f, 0.0f, 0.0f, 0.0f, 0.93f, 0.04f, 0.0f};
    dg_image *photo = NULL;
    CHECK_OK(dg_canvas_new(300, 200, 0xf0e0d0, &photo));
    dg_draw_line(photo, 150, 30, 150, 170, 12, 0x202020);
    const char *path = tmp_file("one.png");
    CHECK_OK(dg_plot_probabilities(photo, digit, probs, 10, path));
    dg_image *img = NULL;
    CHECK_OK(dg_image_load(path, &img));
    int blue = count_colour(img, TRAIN_BLUE), w = img->w;
    dg_image_free(img);
    CHECK(blue > 1000); /* the top bar is highlighted */
    CHECK_OK(dg_plot_probabilities(NULL, digit, probs, 10, path));
    CHECK_OK(dg_image_load(path, &img));
    int narrower = img->w < w;
    dg_image_free(img);
    dg_image_free(photo);
    CHECK(narrower);
    probs[0] = 0.0f / 0.0f; /* NaN reads as 0 */
    CHECK_OK(dg_plot_probabilities(NULL, digit, probs, 10, path));
    CHECK_STATUS(dg_plot_probabilities(NULL, digit, probs, 0, path), DG_ERR_ARG);
    CHECK_STATUS(dg_plot_probabilities(NULL, NULL, probs, 10, path), DG_ERR_ARG);
}

DG_TEST(plot_history_png_matches_image)
{
    const dg_history_row rows[4] = {{1, 0.5, 0.85, 0.3, 0.9, 1},
                                    {2, 0.3, 0.9, 0.2, 0.93, 1},
                                    {3, 0.2, 0.94, 0.15, 0.95, 1},
                                    {4, 0.15, 0.95, 0.14, 0.955, 1}};
    dg_image *want = NULL, *got = NULL;
    CHECK_OK(dg_chart_history(rows, 4, &want, NULL));
    const char *path = tmp_file("curves.png");
    dg_status st = dg_plot_history(rows, 4, path);
    if (st == DG_OK) {
        st = dg_image_load(path, &got);
    }
    int same = st == DG_OK && got->w == want->w && got->h == want->h && got->channels == 3 &&
               !memcmp(got->pixels, want->pixels, (size_t)want->w * want->h * 3);
    dg_image_free(want);
    dg_image_free(got);
    CHECK_OK(st);
    CHECK(same);
}

DG_TEST(plot_svg_output)
{
    const dg_history_row rows[2] = {{1, 0.5, 0.85, 0.3, 0.9, 1}, {2, 0.3, 0.9, 0.2, 0.93, 1}};
    const char *path = tmp_file("curves.svg");
    CHECK_OK(dg_plot_history(rows, 2, path));
    char *svg = test_read_file(path, NULL);
    CHECK(svg);
    int ok = !strncmp(svg, "<?xml", 5) && strstr(svg, "<svg ") && strstr(svg, "</svg>\n") &&
             strstr(svg, ">Loss</text>") && !strstr(svg, "nan") && !strstr(svg, "inf");
    free(svg);
    CHECK(ok);
    uint8_t images[2 * DG_MNIST_PIXELS] = {0}, labels[2] = {1, 2}, pred[2] = {1, 7};
    float conf[2] = {0.9f, 0.6f};
    path = tmp_file("grid.SVG");
    CHECK_OK(dg_plot_predictions(images, labels, pred, conf, 2, 0, 2, path));
    svg = test_read_file(path, NULL);
    CHECK(svg);
    ok = strstr(svg, "pred 7 60.0%") != NULL && strstr(svg, "#d62728") != NULL;
    free(svg);
    CHECK(ok);
    /* class names are escaped, and what the bitmap font cannot draw reads '?' as in a PNG */
    dg_eval ev = {.n = 3, .classes = 2};
    ev.confusion[0][0] = 2;
    ev.confusion[1][1] = 1;
    const char names[2][32] = {"<a&b>", "\xc3\xa9'q\""};
    path = tmp_file("confusion.svg");
    CHECK_OK(dg_plot_confusion(&ev, names, path));
    svg = test_read_file(path, NULL);
    CHECK(svg);
    ok = strstr(svg, ">&lt;a&amp;b&gt;<") && strstr(svg, ">??&#39;q&quot;<");
    free(svg);
    CHECK_MSG(ok, "class names not escaped for SVG text");
}

DG_TEST(plot_unwritable_path)
{
    const dg_history_row row = {1, 0.3, 0.9, -1, -1, 2.0};
    char path[600];
    snprintf(path, sizeof path, "%s/no/such/folder/x.png", test_tmp_dir());
    CHECK_STATUS(dg_plot_history(&row, 1, path), DG_ERR_NOT_FOUND);
    snprintf(path, sizeof path, "%s/no/such/folder/x.svg", test_tmp_dir());
    CHECK_STATUS(dg_plot_history(&row, 1, path), DG_ERR_IO);
}

/* A "?" is drawn as one: an unsure answer says so and shows its best guess as a guess,
 * an empty image says it is empty and draws no bars; read's picture marks unsure digits. */
DG_TEST(plot_prediction_honest)
{
    uint8_t digit[DG_MNIST_PIXELS] = {0};
    memset(digit + 300, 255, 100);
    dg_prediction p = {.answer = DG_ANSWER_UNSURE, .digit = 7, .confidence = 0.394f, .classes = 10};
    p.probs[7] = 0.394f;
    p.probs[0] = 0.35f;
    p.probs[1] = 0.256f;
    const char *path = tmp_file("unsure.svg");
    CHECK_OK(dg_plot_prediction(NULL, digit, &p, NULL, path));
    char *svg = test_read_file(path, NULL);
    CHECK(svg);
    bool ok = strstr(svg, ">Unsure: ?<") && strstr(svg, ">best guess 7, only 39.4% sure<") &&
              strstr(svg, ">39.4%<") && !strstr(svg, "Prediction");
    free(svg);
    CHECK_MSG(ok, "the unsure answer is not drawn as unsure");

    dg_prediction empty = {.answer = DG_ANSWER_EMPTY, .digit = -1, .classes = 10};
    dg_image *blank = NULL;
    CHECK_OK(dg_canvas_new(40, 30, 0xffffff, &blank));
    path = tmp_file("empty.svg");
    dg_status st = dg_plot_prediction(blank, digit, &empty, NULL, path);
    dg_image_free(blank);
    CHECK_OK(st);
    svg = test_read_file(path, NULL);
    CHECK(svg);
    ok = strstr(svg, ">Empty image: ?<") && strstr(svg, ">no ink found, nothing to recognise<") &&
         !strstr(svg, "probability per class");
    free(svg);
    CHECK_MSG(ok, "the empty image is not drawn as empty");
    CHECK_OK(dg_plot_prediction(NULL, NULL, &empty, NULL, tmp_file("empty.png")));

    /* a number: the second digit only a guess */
    dg_image *img = NULL;
    CHECK_OK(dg_canvas_new(240, 100, 0xffffff, &img));
    dg_draw_line(img, 60, 15, 60, 85, 8, 0);
    dg_draw_line(img, 150, 15, 190, 85, 8, 0);
    dg_segmentation *seg = NULL;
    st = dg_segment(img, &seg);
    if (st != DG_OK) {
        dg_image_free(img);
    }
    CHECK_OK(st);
    dg_prediction d[2] = {
        {.answer = DG_ANSWER_DIGIT, .digit = 1, .confidence = 0.98f, .classes = 10},
        {.answer = DG_ANSWER_UNSURE, .digit = 7, .confidence = 0.41f, .classes = 10}};
    path = tmp_file("number.svg");
    st = seg->n == 2 ? dg_plot_number(img, seg, d, NULL, path) : DG_ERR_ARG;
    dg_segmentation_free(seg);
    dg_image_free(img);
    CHECK_OK(st);
    svg = test_read_file(path, NULL);
    CHECK(svg);
    ok = strstr(svg, ">read: 1?<") && strstr(svg, ">98.0%<") && strstr(svg, ">7? 41.0%<") &&
         strstr(svg, "1 unsure");
    free(svg);
    CHECK_MSG(ok, "the read number does not mark its unsure digit");
    CHECK_STATUS(dg_plot_prediction(NULL, digit, NULL, NULL, path), DG_ERR_ARG);
}

/* Filters need a convolution; feature maps need the one image the net just saw. */
DG_TEST(plot_filters_and_activations)
{
    dg_net *net = NULL;
    CHECK_OK(
        dg_net_new("conv 4 3 relu, maxpool 2, flatten, dense 10", (dg_shape){1, 28, 28}, &net));
    dg_rng rng;
    dg_rng_seed(&rng, 1);
    dg_net_init_params(net, &rng);
    uint8_t digit[DG_MNIST_PIXELS] = {0};
    memset(digit + 300, 255, 100);
    dg_status before = dg_plot_activations(net, digit, tmp_file("early.svg"));
    dg_prediction p;
    dg_norm norm = dg_norm_default();
    dg_status st = dg_predict_mnist(net, &norm, digit, 0.5f, &p);
    char maps[600], filters[600];
    const char *tmp = test_tmp_dir();
    snprintf(maps, sizeof maps, "%s/maps.svg", tmp);
    snprintf(filters, sizeof filters, "%s/filters.svg", tmp);
    dg_status drawn = st == DG_OK ? dg_plot_activations(net, digit, maps) : st;
    dg_status drawn_filters = dg_plot_filters(net, filters);
    dg_net_free(net);
    CHECK_STATUS(before, DG_ERR_ARG);
    CHECK_OK(drawn);
    CHECK_OK(drawn_filters);
    char *svg = test_read_file(maps, NULL);
    bool ok = svg && strstr(svg, ">layer 1: conv 4 3 relu, 4 maps of 26x26<");
    free(svg);
    CHECK_MSG(ok, "no feature maps of layer 1");
    svg = test_read_file(filters, NULL);
    ok = svg && strstr(svg, ">Filters of layer 1: conv 4 3 relu<") &&
         strstr(svg, "4 kernels of 3x3");
    free(svg);
    CHECK_MSG(ok, "no filters of layer 1");
    CHECK_OK(dg_net_new("flatten, dense 10", (dg_shape){1, 28, 28}, &net));
    st = dg_plot_filters(net, tmp_file("none.png"));
    dg_status st2 = dg_plot_activations(net, digit, tmp_file("none2.png"));
    dg_net_free(net);
    CHECK_STATUS(st, DG_ERR_ARG);
    CHECK_STATUS(st2, DG_ERR_ARG);
}

/* One epoch: the accuracy axis is a few points around it and never passes 100%. */
DG_TEST(plot_history_one_epoch_axis)
{
    const dg_history_row row = {1, 0.15, 0.9564, -1, -1, 27.0};
    dg_image *img = NULL;
    dg_plot_area panels[2];
    CHECK_OK(dg_chart_history(&row, 1, &img, panels));
    dg_image_free(img);
    CHECK_MSG(panels[1].y1 <= 100.0 && panels[1].y0 < 95.64 && panels[1].y1 > 95.64,
              "accuracy axis %g..%g", panels[1].y0, panels[1].y1);
    CHECK_OK(dg_plot_history_panel(&row, 1, 1, tmp_file("acc.svg")));
    CHECK_STATUS(dg_plot_history_panel(&row, 1, 2, tmp_file("bad.svg")), DG_ERR_ARG);
}

/* Hand-made steps of w x h: paper with a bar of ink, kept as the digit, a dropped frame
 * along the left edge and desk along the right. */
static dg_status fake_steps(int w, int h, dg_prep_steps *s)
{
    memset(s, 0, sizeof *s);
    s->scale = 2;
    dg_status st = dg_image_new(w, h, 1, &s->page);
    if (st == DG_OK) {
        st = dg_image_new(w, h, 1, &s->ink);
    }
    s->decision = calloc((size_t)w * h, 1);
    if (st != DG_OK || !s->decision) {
        dg_prep_steps_free(s);
        return DG_ERR_NOMEM;
    }
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            int bar = x >= w / 2 - 2 && x <= w / 2 + 2 && y >= h / 4 && y < 3 * h / 4;
            s->page->pixels[i] = bar ? 40 : 255;
            s->ink->pixels[i] = bar || x == 1 ? 255 : 0;
            s->decision[i] = bar          ? DG_STEP_DIGIT
                             : x == 1     ? DG_STEP_DROPPED + DG_PREP_DROP_FRAME
                             : x >= w - 3 ? DG_STEP_DESK
                                          : DG_STEP_BACKGROUND;
        }
    }
    s->info.status = DG_PREP_OK;
    s->info.inverted = true;
    s->info.components = 1;
    s->info.kept = 1;
    s->info.desk = true;
    s->info.dropped[DG_PREP_DROP_FRAME] = 1;
    return DG_OK;
}

/* The steps' picture: the photo, page, ink and decisions of a small picture enlarged by
 * whole pixels, the digit green and the frame in its colour, only the decisions present in
 * the legend; one row for a tall picture, two for a wide one; written as a PNG that decodes
 * at the same size; refused without steps. */
DG_TEST(plot_steps_png)
{
    dg_prep_steps s;
    CHECK_OK(fake_steps(40, 60, &s));
    dg_image *photo = NULL, *chart = NULL;
    CHECK_OK(dg_canvas_new(80, 120, 0xf0e0c0u, &photo));
    CHECK_OK(dg_chart_steps(photo, &s, &chart));
    CHECK_MSG(chart->channels == 3 && chart->w > 4 * 200 && chart->w < 2000 && chart->h > 320 &&
                  chart->h < 600,
              "tall: %dx%d", chart->w, chart->h);
    /* enlarged 5 times (320 / 60): the 5 x 30 bar is 25 x 150 green pixels, plus a swatch */
    int green = count_colour(chart, 0x1a7f37u), orange = count_colour(chart, VAL_ORANGE);
    CHECK_MSG(green >= 25 * 150 && green <= 25 * 150 + 200, "green: %d", green);
    CHECK_MSG(orange >= 5 * 300, "frame: %d", orange);
    CHECK_MSG(count_colour(chart, 0xc9a100u) == 0, "specks drawn where there are none");
    dg_image_free(chart);

    char path[1024];
    snprintf(path, sizeof path, "%s/steps.png", test_tmp_dir());
    dg_prep_steps_free(&s);
    CHECK_OK(fake_steps(200, 50, &s));
    CHECK_OK(dg_plot_steps(photo, &s, path));
    dg_image *img = NULL;
    CHECK_OK(dg_image_load(path, &img));
    CHECK_OK(dg_chart_steps(photo, &s, &chart));
    CHECK_MSG(img->w == chart->w && img->h == chart->h, "%dx%d written, %dx%d drawn", img->w,
              img->h, chart->w, chart->h);
    /* wide: shrunk to 320 x 80, two rows of two */
    CHECK_MSG(chart->w < 2 * 320 + 200 && chart->h > 2 * 80 + 60, "wide: %dx%d", chart->w,
              chart->h);
    dg_image_free(img);
    dg_image_free(chart);

    free(s.decision);
    s.decision = NULL;
    CHECK(dg_chart_steps(photo, &s, &chart) == DG_ERR_ARG && chart == NULL);
    CHECK(dg_plot_steps(NULL, &s, path) == DG_ERR_ARG);
    dg_prep_steps_free(&s);
    dg_image_free(photo);
}
