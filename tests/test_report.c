/*
 * test_report.c - the HTML report: it references only files that exist in its folder, by
 * plain relative name, links to nothing outside (no "http://", "https://", "//"), escapes
 * outside text, and its pictures decode.
 */
#include "test.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int b64_value(char c)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = c ? strchr(abc, c) : NULL;
    return p ? (int)(p - abc) : -1;
}

/* Checks every src="..." of html: a PNG data URI that decodes as an image of at least
 * min_side pixels a side; href="..." and url(...) must not occur. Returns how many images
 * there were, or -1 after recording a failure. */
static int check_images(const char *html, const char *tmp, int min_side)
{
    static const char prefix[] = "data:image/png;base64,";
    if (strstr(html, "href=\"") || strstr(html, "url(")) {
        test_fail(__FILE__, __LINE__, "the page links to something");
        return -1;
    }
    int count = 0;
    for (const char *p = strstr(html, "src=\""); p; p = strstr(p + 1, "src=\"")) {
        const char *v = p + 5;
        if (strncmp(v, prefix, strlen(prefix)) != 0) {
            test_fail(__FILE__, __LINE__, "image %d is not a PNG data URI: %.40s", count + 1, v);
            return -1;
        }
        v += strlen(prefix);
        size_t n = strcspn(v, "\"");
        uint8_t *bytes = malloc(n);
        size_t used = 0;
        uint32_t acc = 0;
        int bits = 0;
        for (size_t i = 0; bytes && i < n && v[i] != '='; i++) {
            int d = b64_value(v[i]);
            if (d < 0) {
                free(bytes);
                test_fail(__FILE__, __LINE__, "image %d: '%c' in base64", count + 1, v[i]);
                return -1;
            }
            acc = acc << 6 | (uint32_t)d;
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                bytes[used++] = (uint8_t)(acc >> bits);
            }
        }
        char path[512];
        snprintf(path, sizeof path, "%s/image.png", tmp);
        FILE *f = fopen(path, "wb");
        bool written = f && bytes && fwrite(bytes, 1, used, f) == used;
        written = f && fclose(f) == 0 && written;
        free(bytes);
        dg_image *img = NULL;
        if (!written || dg_image_load(path, &img) != DG_OK || img->w < min_side ||
            img->h < min_side) {
            test_fail(__FILE__, __LINE__, "image %d does not decode: %s", count + 1,
                      dg_last_error());
            dg_image_free(img);
            return -1;
        }
        dg_image_free(img);
        count++;
    }
    return count;
}

/* How many entries dir holds besides . and .. */
static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    }
    if (d) {
        closedir(d);
    }
    return n;
}

static int count_of(const char *html, const char *text)
{
    int n = 0;
    for (const char *p = strstr(html, text); p; p = strstr(p + 1, text)) {
        n++;
    }
    return n;
}

/* Nothing that would fetch anything: no addresses, scripts, links or frames outside the
 * data URIs (whose base64 may hold "//" by chance). */
static int self_contained(const char *html)
{
    static const char *const banned[] = {"http:", "https:",  "//",      "<script",
                                         "<link", "@import", "<iframe", "javascript:"};
    char *text = strdup(html);
    if (!text) {
        test_fail(__FILE__, __LINE__, "out of memory");
        return 0;
    }
    for (char *p = strstr(text, "base64,"); p; p = strstr(p + 1, "base64,")) {
        for (char *q = p + 7; *q && *q != '"'; q++) {
            *q = 'A';
        }
    }
    for (size_t i = 0; i < sizeof banned / sizeof banned[0]; i++) {
        if (strstr(text, banned[i])) {
            test_fail(__FILE__, __LINE__, "the page contains \"%s\"", banned[i]);
            free(text);
            return 0;
        }
    }
    free(text);
    return 1;
}

static void fake_eval(dg_eval *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->classes = 10;
    for (int i = 0; i < 10; i++) {
        ev->confusion[i][i] = 90 + i;
        ev->confusion[i][(i + 1) % 10] = (uint32_t)(i % 3);
    }
    for (int i = 0; i < 10; i++) {
        for (int j = 0; j < 10; j++) {
            ev->n += ev->confusion[i][j];
        }
    }
    ev->accuracy = 0.97;
    ev->loss = 0.1;
}

/* A report with every part: curves, test results, 5 of 12 mistakes, and samples that are
 * a sure digit, an unsure one, an empty picture and a number of two digits, filters and
 * feature maps. */
enum { M = 5 };
typedef struct fixture {
    dg_history_row hist[3];
    dg_eval ev;
    dg_model_meta meta;
    dg_net *net;
    uint8_t images[M * DG_MNIST_PIXELS], labels[M], pred[M];
    float conf[M];
    dg_image *photo, *number;
    dg_segmentation *seg;
    dg_prediction sure, unsure, empty, digits[2];
    dg_report_sample samples[4];
    const char *notes[1];
    dg_report r;
} fixture;

static void fixture_free(fixture *fx)
{
    dg_net_free(fx->net);
    dg_image_free(fx->photo);
    dg_image_free(fx->number);
    dg_segmentation_free(fx->seg);
}

static dg_prediction answer(dg_answer a, int digit, float p)
{
    dg_prediction pr = {.answer = a, .digit = digit, .confidence = p, .classes = 10};
    if (digit >= 0) {
        pr.probs[digit] = p;
        pr.probs[(digit + 1) % 10] = 1.0f - p;
    }
    return pr;
}

/* Fills fx; false after recording a failure. */
static bool fixture_make(fixture *fx)
{
    memset(fx, 0, sizeof *fx);
    dg_history_row hist[3] = {
        {1, 0.5, 0.85, 0.3, 0.9, 2}, {2, 0.3, 0.9, 0.2, 0.93, 2}, {3, 0.2, 0.94, 0.15, 0.95, 2}};
    memcpy(fx->hist, hist, sizeof hist);
    fake_eval(&fx->ev);
    dg_model_meta_default(&fx->meta);
    snprintf(fx->meta.preset, sizeof fx->meta.preset, "<fast & \"small\">");
    if (dg_net_new("conv 4 3 relu, maxpool 2, flatten, dense 10", (dg_shape){1, 28, 28},
                   &fx->net) != DG_OK ||
        dg_canvas_new(120, 90, 0xeeeeee, &fx->photo) != DG_OK ||
        dg_canvas_new(240, 100, 0xffffff, &fx->number) != DG_OK) {
        test_fail(__FILE__, __LINE__, "setup: %s", dg_last_error());
        return false;
    }
    for (int i = 0; i < M; i++) {
        memset(fx->images + i * DG_MNIST_PIXELS, 0, DG_MNIST_PIXELS);
        memset(fx->images + i * DG_MNIST_PIXELS + 300, 255, 100);
        fx->labels[i] = (uint8_t)i;
        fx->pred[i] = (uint8_t)(i + 1);
        fx->conf[i] = 0.9f - 0.1f * i;
    }
    dg_draw_line(fx->photo, 60, 10, 60, 80, 8, 0);
    /* two separate strokes: a number of two digits */
    dg_draw_line(fx->number, 60, 15, 60, 85, 8, 0);
    dg_draw_line(fx->number, 150, 15, 190, 85, 8, 0);
    /* feature maps of the first mistake's image: the net's last forward */
    dg_rng rng;
    dg_rng_seed(&rng, 1);
    dg_net_init_params(fx->net, &rng);
    dg_prediction seen;
    dg_norm norm = dg_norm_default();
    if (dg_predict_mnist(fx->net, &norm, fx->images, 0.5f, &seen) != DG_OK) {
        test_fail(__FILE__, __LINE__, "forward: %s", dg_last_error());
        return false;
    }
    fx->r.activations_mnist = fx->images;
    fx->r.activations_name = "first <mistake>";
    if (dg_segment(fx->number, &fx->seg) != DG_OK || fx->seg->n != 2) {
        test_fail(__FILE__, __LINE__, "the number has %d digits, want 2",
                  fx->seg ? fx->seg->n : -1);
        return false;
    }
    fx->sure = answer(DG_ANSWER_DIGIT, 1, 0.993f);
    fx->unsure = answer(DG_ANSWER_UNSURE, 7, 0.394f);
    fx->empty = answer(DG_ANSWER_EMPTY, -1, 0.0f);
    fx->digits[0] = answer(DG_ANSWER_DIGIT, 1, 0.98f);
    fx->digits[1] = answer(DG_ANSWER_UNSURE, 7, 0.41f);
    dg_report_sample samples[4] = {
        {"one <b>&amp;</b>.png", fx->photo, fx->images, &fx->sure, NULL, NULL, NULL},
        {"unsure.png", fx->photo, fx->images, &fx->unsure, NULL, NULL, NULL},
        {"blank.png", fx->photo, NULL, &fx->empty, NULL, NULL, NULL},
        {"17-number.png", fx->number, fx->images, &fx->sure, fx->seg, fx->digits, NULL},
    };
    memcpy(fx->samples, samples, sizeof samples);
    fx->notes[0] = "No test data in <nowhere>: left out.";
    dg_report *r = &fx->r;
    r->model_path = "model/<digits>.model";
    r->net = fx->net;
    r->meta = &fx->meta;
    r->history = fx->hist;
    r->n_history = 3;
    r->eval = &fx->ev;
    r->mistake_images = fx->images;
    r->mistake_labels = fx->labels;
    r->mistake_predicted = fx->pred;
    r->mistake_confidence = fx->conf;
    r->n_mistakes = M;
    r->n_mistakes_total = 12;
    r->samples = fx->samples;
    r->n_samples = 4;
    r->notes = fx->notes;
    r->n_notes = 1;
    return true;
}

DG_TEST(report_self_contained)
{
    const char *tmp = test_tmp_dir();
    char dir[512];
    snprintf(dir, sizeof dir, "%s/out/report", tmp); /* parents are created */
    fixture fx;
    bool made = fixture_make(&fx);
    dg_status st = made ? dg_report_write(dir, &fx.r) : DG_ERR_ARG;
    fixture_free(&fx);
    if (!made) {
        return;
    }
    CHECK_OK(st);
    CHECK_MSG(entries(dir) == 1, "%d files in the report folder, want index.html alone",
              entries(dir));

    char path[600];
    snprintf(path, sizeof path, "%s/index.html", dir);
    char *html = test_read_file(path, NULL);
    CHECK(html);
    /* 5 mistakes; per sample a picture and its 28x28, none for the empty one, one picture
     * for the number */
    int images = check_images(html, tmp, 28);
    int clean = self_contained(html);
    int charts = count_of(html, "<svg ");
    int inside = strstr(html, "Feature maps of first &lt;mistake&gt;") != NULL;
    int escaped = strstr(html, "one &lt;b&gt;&amp;amp;&lt;/b&gt;.png") &&
                  strstr(html, "&lt;fast &amp; &quot;small&quot;&gt;") &&
                  strstr(html, "model/&lt;digits&gt;.model") && !strstr(html, "<digits>") &&
                  !strstr(html, "<b>") && strstr(html, "in &lt;nowhere&gt;: left out.");
    int numbers = strstr(html, "97.00%") && strstr(html, "99.3% sure") &&
                  strstr(html, "Worst mistakes: 5 of 12") && strstr(html, "(None, 26, 26, 4)") &&
                  strstr(html, "<td>6,770</td>");
    int honest = strstr(html, "unsure: best guess 7, 39.4%") &&
                 strstr(html, "empty: no ink found") && strstr(html, ">1?</div>") &&
                 strstr(html, "a number of 2 digits") && strstr(html, "17-number.png");
    free(html);
    CHECK_MSG(images == M + 2 + 2 + 1 + 1 + 1, "%d images", images);
    CHECK_MSG(charts == 4, "%d inline SVG charts, want loss, accuracy, confusion and filters",
              charts);
    CHECK(inside);
    CHECK(clean);
    CHECK(escaped);
    CHECK(numbers);
    CHECK(honest);
}

/* Whether the shell finds the program NAME. */
static bool have_command(const char *name)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
    int status = system(cmd);
    return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* The report in a real browser, at 1280 and 390 pixels wide: the page never scrolls
 * sideways, every image loads, chart text stays legible (tests/browser/layout.js).
 * Screenshots go beside the program under test: build/browser/report-{1280,390}.png. */
DG_TEST(report_browser_layout)
{
    const char *chromium = getenv("CHROMIUM") ? getenv("CHROMIUM") : "/usr/bin/chromium";
    if (access(chromium, X_OK) != 0) {
        SKIP("no browser at %s: apt-get install -y chromium, then make browser-deps", chromium);
    }
    if (!have_command("node")) {
        SKIP("no node: apt-get install -y nodejs npm, then make browser-deps");
    }
    if (access("tests/browser/node_modules/puppeteer-core/package.json", R_OK) != 0) {
        SKIP("no puppeteer-core in tests/browser/node_modules: make browser-deps");
    }
    char dir[512];
    snprintf(dir, sizeof dir, "%s/report", test_tmp_dir());
    fixture fx;
    bool made = fixture_make(&fx);
    dg_status st = made ? dg_report_write(dir, &fx.r) : DG_ERR_ARG;
    fixture_free(&fx);
    if (!made) {
        return;
    }
    CHECK_OK(st);
    const char *bin = getenv("DIGITS_BIN") ? getenv("DIGITS_BIN") : "build/digits";
    char shots[512];
    const char *slash = strrchr(bin, '/');
    snprintf(shots, sizeof shots, "%.*s/browser", slash ? (int)(slash - bin) : 1,
             slash ? bin : ".");
    mkdir(shots, 0777);
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "CHROMIUM='%s' node tests/browser/layout.js '%s/index.html' '%s' 2>&1", chromium, dir,
             shots);
    FILE *p = popen(cmd, "r");
    CHECK(p);
    char out[4096];
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code == 2) {
        SKIP("the browser test cannot run: %s", out);
    }
    CHECK_MSG(code == 0, "layout problems:\n%s", out);
    CHECK_MSG(strstr(out, "1280 px: 12 images") && strstr(out, "390 px: 12 images"),
              "not every image was seen: %s", out);
}

DG_TEST(report_empty_parts_left_out)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/bare", test_tmp_dir());
    dg_report r = {0};
    CHECK_OK(dg_report_write(dir, &r));
    char path[600];
    snprintf(path, sizeof path, "%s/index.html", dir);
    char *html = test_read_file(path, NULL);
    CHECK(html);
    int refs = check_images(html, test_tmp_dir(), 1);
    int clean = self_contained(html);
    int none = !strstr(html, "<svg") && !strstr(html, "<img");
    free(html);
    CHECK(refs == 0);
    CHECK(clean);
    CHECK(none);
}

DG_TEST(report_bad_folder)
{
    dg_report r = {0};
    const char *tmp = test_tmp_dir(); /* each call makes a new folder: call it once */
    char path[600];
    snprintf(path, sizeof path, "%s/file", tmp);
    FILE *f = fopen(path, "w");
    CHECK(f);
    fclose(f);
    CHECK_STATUS(dg_report_write(path, &r), DG_ERR_IO); /* a file, not a folder */
    snprintf(path, sizeof path, "%s/file/sub", tmp);
    CHECK_STATUS(dg_report_write(path, &r), DG_ERR_IO);
    CHECK_STATUS(dg_report_write(NULL, &r), DG_ERR_ARG);
    CHECK_STATUS(dg_report_write(path, NULL), DG_ERR_ARG);
}
