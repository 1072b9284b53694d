/*
 * test_report.c - the HTML report: it references only files that exist in its folder, by
 * plain relative name, links to nothing outside (no "http://", "https://", "//"), escapes
 * outside text, and its pictures decode.
 */
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Checks every src="..." and href="..." of html: a plain file name (no folder, scheme or
 * query) of a file in dir that decodes as an image of some size. Returns how many
 * references there were, or -1 after recording a failure. */
static int check_references(const char *html, const char *dir)
{
    static const char *const attrs[] = {"src=\"", "href=\"", "url("};
    int count = 0;
    for (size_t a = 0; a < sizeof attrs / sizeof attrs[0]; a++) {
        for (const char *p = strstr(html, attrs[a]); p; p = strstr(p + 1, attrs[a])) {
            const char *v = p + strlen(attrs[a]);
            size_t n = strcspn(v, "\")");
            char name[256];
            if (n == 0 || n >= sizeof name) {
                test_fail(__FILE__, __LINE__, "reference of length %zu", n);
                return -1;
            }
            memcpy(name, v, n);
            name[n] = '\0';
            if (strpbrk(name, "/\\:?#") || name[0] == '.') {
                test_fail(__FILE__, __LINE__, "reference '%s' is not a plain file name", name);
                return -1;
            }
            char path[512];
            snprintf(path, sizeof path, "%s/%s", dir, name);
            dg_image *img = NULL;
            if (dg_image_load(path, &img) != DG_OK || img->w < 100 || img->h < 100) {
                test_fail(__FILE__, __LINE__, "'%s' is missing or not a picture: %s", name,
                          dg_last_error());
                dg_image_free(img);
                return -1;
            }
            dg_image_free(img);
            count++;
        }
    }
    return count;
}

static int self_contained(const char *html)
{
    static const char *const banned[] = {"http://", "https://", "//",      "<script",
                                         "<link",   "@import",  "<iframe", "javascript:"};
    for (size_t i = 0; i < sizeof banned / sizeof banned[0]; i++) {
        if (strstr(html, banned[i])) {
            test_fail(__FILE__, __LINE__, "the page contains \"%s\"", banned[i]);
            return 0;
        }
    }
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

DG_TEST(report_self_contained)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/out/report", test_tmp_dir()); /* parents are created */

    dg_history_row hist[3] = {
        {1, 0.5, 0.85, 0.3, 0.9, 2}, {2, 0.3, 0.9, 0.2, 0.93, 2}, {3, 0.2, 0.94, 0.15, 0.95, 2}};
    dg_eval ev;
    fake_eval(&ev);
    dg_model_meta meta;
    dg_model_meta_default(&meta);
    snprintf(meta.preset, sizeof meta.preset, "<fast & \"small\">");
    dg_net *net = NULL;
    CHECK_OK(dg_net_new("flatten, dense 10", (dg_shape){1, 28, 28}, &net));

    enum { M = 5 };
    uint8_t images[M * DG_MNIST_PIXELS], labels[M], pred[M];
    float conf[M];
    for (int i = 0; i < M; i++) {
        memset(images + i * DG_MNIST_PIXELS, 0, DG_MNIST_PIXELS);
        memset(images + i * DG_MNIST_PIXELS + 300, 255, 100);
        labels[i] = (uint8_t)i;
        pred[i] = (uint8_t)(i + 1);
        conf[i] = 0.9f - 0.1f * i;
    }
    dg_image *photo = NULL;
    CHECK_OK(dg_canvas_new(120, 90, 0xeeeeee, &photo));
    dg_draw_line(photo, 60, 10, 60, 80, 8, 0);
    float probs[10] = {0.05f, 0.9f, 0.05f};
    dg_report_sample samples[2] = {
        {"one <b>&amp;</b>.png", photo, images, probs, NULL},
        {"blank.png", photo, NULL, NULL, "no digit found"},
    };
    dg_report r = {0};
    r.model_path = "model/<digits>.model";
    r.net = net;
    r.meta = &meta;
    r.history = hist;
    r.n_history = 3;
    r.eval = &ev;
    r.mistake_images = images;
    r.mistake_labels = labels;
    r.mistake_predicted = pred;
    r.mistake_confidence = conf;
    r.n_mistakes = M;
    r.samples = samples;
    r.n_samples = 2;
    dg_status st = dg_report_write(dir, &r);
    dg_net_free(net);
    dg_image_free(photo);
    CHECK_OK(st);

    char path[600];
    snprintf(path, sizeof path, "%s/index.html", dir);
    char *html = test_read_file(path, NULL);
    CHECK(html);
    int refs = check_references(html, dir);
    int clean = self_contained(html);
    int escaped = strstr(html, "one &lt;b&gt;&amp;amp;&lt;/b&gt;.png") &&
                  strstr(html, "&lt;fast &amp; &quot;small&quot;&gt;") &&
                  strstr(html, "model/&lt;digits&gt;.model") && !strstr(html, "<digits>") &&
                  !strstr(html, "<b>");
    int parts = strstr(html, "curves.png") && strstr(html, "confusion.png") &&
                strstr(html, "mistakes.png") && strstr(html, "sample-001.png") &&
                strstr(html, "sample-002.png") && strstr(html, "no digit found") &&
                strstr(html, "97.00%") && strstr(html, "dense") && strstr(html, "</html>");
    free(html);
    CHECK_MSG(refs == 5, "%d references, want curves, confusion, mistakes, 2 samples", refs);
    CHECK(clean);
    CHECK(escaped);
    CHECK(parts);
    snprintf(path, sizeof path, "%s/index.html.tmp", dir);
    struct stat sb;
    CHECK(stat(path, &sb) != 0); /* no temporary left behind */
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
    int refs = check_references(html, dir);
    int clean = self_contained(html);
    int none = !strstr(html, ".png");
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
