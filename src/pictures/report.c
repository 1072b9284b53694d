/*
 * report.c - the HTML report: one self-contained page, DIR/index.html, with the PNG charts
 * it shows written beside it and referenced by plain file name.
 *
 * "Self-contained" means it opens offline from any folder: the style is inline, there are
 * no scripts, fonts or links to anything outside DIR, and every text that comes from
 * outside (file names, labels, the spec) is HTML-escaped. The page and the pictures are
 * written to temporary names and renamed, so a reader never sees half a file.
 */
#include "pictures/surface.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Picture files, all inside the report folder. */
#define CURVES_PNG    "curves.png"
#define CONFUSION_PNG "confusion.png"
#define MISTAKES_PNG  "mistakes.png"

static const char style[] =
    "body{font-family:system-ui,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;margin:0;"
    "background:#f5f6f8;color:#222;line-height:1.45}\n"
    "main{max-width:1220px;margin:0 auto;padding:20px 24px 40px}\n"
    "header h1{margin:8px 0 2px;font-size:28px}\n"
    "header p{margin:0;color:#666}\n"
    "section{background:#fff;border:1px solid #e2e4e8;border-radius:8px;padding:16px 20px;"
    "margin:18px 0}\n"
    "h2{margin:0 0 12px;font-size:20px}\n"
    ".cards{display:flex;flex-wrap:wrap;gap:12px}\n"
    ".card{background:#fff;border:1px solid #e2e4e8;border-radius:8px;padding:10px 16px;"
    "min-width:150px}\n"
    ".card .v{font-size:28px;font-weight:700}\n"
    ".card .k{color:#666;font-size:14px}\n"
    ".card.main .v{color:#1f77b4;font-size:40px}\n"
    "table{border-collapse:collapse;margin:4px 0}\n"
    "th,td{padding:4px 12px;border-bottom:1px solid #eceef1;text-align:right}\n"
    "th{background:#f0f2f5;font-weight:600}\n"
    "td.l,th.l{text-align:left}\n"
    "code{background:#f0f2f5;padding:1px 5px;border-radius:4px}\n"
    "img{max-width:100%;height:auto;display:block}\n"
    ".bar{display:inline-block;height:10px;background:#1f77b4;vertical-align:middle;"
    "margin-right:8px}\n"
    ".bad{color:#d62728;font-weight:700}\n"
    ".bad .bar{background:#d62728}\n"
    ".note{color:#666;margin:6px 0 10px}\n"
    ".samples{display:flex;flex-wrap:wrap;gap:16px}\n"
    ".samples figure{margin:0;border:1px solid #e2e4e8;border-radius:6px;padding:8px}\n"
    ".samples figcaption{margin-top:6px}\n"
    ".pred{font-size:22px;font-weight:700}\n"
    "footer{color:#888;font-size:13px;text-align:center}\n";

/* Text from outside (names, labels, the spec) in the page: escaped, UTF-8 kept. */
static void html(FILE *f, const char *s)
{
    dg_markup_text(f, s, false);
}

/* Creates dir and its missing parents, like mkdir -p. */
static dg_status make_dirs(const char *dir)
{
    size_t n = strlen(dir);
    if (n == 0 || n >= 4096) {
        return dg_fail(DG_ERR_ARG, "report: bad folder name");
    }
    char path[4096];
    memcpy(path, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0') {
            continue;
        }
        char saved = path[i];
        path[i] = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST) {
            return dg_fail(DG_ERR_IO, "%s: cannot create folder: %s", path, strerror(errno));
        }
        path[i] = saved;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        return dg_fail(DG_ERR_IO, "%s: not a folder", dir);
    }
    return DG_OK;
}

/* dir/name into buf; DG_ERR_ARG when it does not fit. */
static dg_status join(char *buf, size_t size, const char *dir, const char *name)
{
    int len = snprintf(buf, size, "%s/%s", dir, name);
    if (len < 0 || (size_t)len >= size) {
        return dg_fail(DG_ERR_ARG, "%s: path too long", dir);
    }
    return DG_OK;
}

/* The name of class i: the model's label when it has one, else the number. */
static const char *class_name(const dg_report *r, int i, char buf[16])
{
    if (r->meta && i < r->meta->classes && i < DG_MAX_CLASSES && r->meta->labels[i][0]) {
        return r->meta->labels[i];
    }
    snprintf(buf, 16, "%d", i);
    return buf;
}

static int report_classes(const dg_report *r)
{
    if (r->eval && r->eval->classes > 0) {
        return r->eval->classes;
    }
    if (r->meta && r->meta->classes > 0) {
        return r->meta->classes;
    }
    return r->classes;
}

static void write_cards(FILE *f, const dg_report *r)
{
    fputs("<div class=\"cards\">\n", f);
    if (r->eval && r->eval->n > 0) {
        fprintf(f,
                "<div class=\"card main\"><div class=\"v\">%.2f%%</div>"
                "<div class=\"k\">test accuracy</div></div>\n",
                100.0 * r->eval->accuracy);
        uint64_t right = 0;
        for (int i = 0; i < r->eval->classes && i < DG_MAX_CLASSES; i++) {
            right += r->eval->confusion[i][i];
        }
        unsigned long long wrong = r->eval->n > right ? r->eval->n - right : 0;
        fprintf(f,
                "<div class=\"card\"><div class=\"v\">%llu</div><div class=\"k\">mistakes in %u "
                "test images</div></div>\n",
                wrong, r->eval->n);
        fprintf(f,
                "<div class=\"card\"><div class=\"v\">%.4f</div><div class=\"k\">test loss</div>"
                "</div>\n",
                r->eval->loss);
    }
    if (r->net) {
        fprintf(f,
                "<div class=\"card\"><div class=\"v\">%zu</div><div class=\"k\">parameters</div>"
                "</div>\n",
                dg_net_param_count(r->net));
    }
    if (r->n_history > 0 && r->history) {
        double total = 0;
        for (int i = 0; i < r->n_history; i++) {
            total += r->history[i].seconds;
        }
        fprintf(f,
                "<div class=\"card\"><div class=\"v\">%d</div><div class=\"k\">epochs, %.0f s "
                "of training</div></div>\n",
                r->history[r->n_history - 1].epoch, total);
    }
    fputs("</div>\n", f);
}

static void write_model(FILE *f, const dg_report *r)
{
    if (!r->net && !r->meta) {
        return;
    }
    fputs("<section>\n<h2>Model</h2>\n", f);
    if (r->net) {
        fputs("<p>Layers: <code>", f);
        html(f, dg_net_spec(r->net));
        fputs("</code></p>\n", f);
        dg_shape in = dg_net_input_shape(r->net);
        fputs("<table>\n<tr><th>#</th><th class=\"l\">layer</th><th>output (C x H x W)</th>"
              "<th>parameters</th></tr>\n",
              f);
        fprintf(f, "<tr><td></td><td class=\"l\">input</td><td>%d x %d x %d</td><td></td></tr>\n",
                in.c, in.h, in.w);
        int count = dg_net_layer_count(r->net);
        for (int i = 0; i < count; i++) {
            dg_layer_info info;
            dg_net_layer_info(r->net, i, &info);
            fprintf(f, "<tr><td>%d</td><td class=\"l\">", i + 1);
            html(f, info.desc);
            fprintf(f, "</td><td>%d x %d x %d</td><td>%zu</td></tr>\n", info.out.c, info.out.h,
                    info.out.w, info.n_params);
        }
        fprintf(f, "<tr><th></th><th class=\"l\">total</th><th></th><th>%zu</th></tr>\n</table>\n",
                dg_net_param_count(r->net));
    }
    if (r->meta) {
        const dg_model_meta *m = r->meta;
        fputs("<table>\n", f);
        if (m->preset[0]) {
            fputs("<tr><td class=\"l\">preset</td><td class=\"l\">", f);
            html(f, m->preset);
            fputs("</td></tr>\n", f);
        }
        if (m->dataset[0]) {
            fputs("<tr><td class=\"l\">trained on</td><td class=\"l\">", f);
            html(f, m->dataset);
            fprintf(f, " (%u images)</td></tr>\n", m->n_train);
        }
        fprintf(f,
                "<tr><td class=\"l\">epochs, batch, learning rate</td><td class=\"l\">%d, %d, "
                "%g</td></tr>\n",
                m->epochs, m->batch, (double)m->lr);
        fprintf(f, "<tr><td class=\"l\">seed</td><td class=\"l\">%llu</td></tr>\n",
                (unsigned long long)m->seed);
        if (m->val_accuracy >= 0) {
            fprintf(f,
                    "<tr><td class=\"l\">validation accuracy</td><td class=\"l\">%.2f%%</td>"
                    "</tr>\n",
                    100.0 * m->val_accuracy);
        }
        if (m->created > 0) {
            time_t t = (time_t)m->created;
            struct tm tm;
            char when[64];
            if (gmtime_r(&t, &tm) && strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm)) {
                fprintf(f, "<tr><td class=\"l\">created</td><td class=\"l\">%s</td></tr>\n", when);
            }
        }
        fputs("</table>\n", f);
    }
    fputs("</section>\n", f);
}

static void write_history(FILE *f, const dg_report *r, int have_png)
{
    if (!r->history || r->n_history < 1) {
        return;
    }
    fputs("<section>\n<h2>Training</h2>\n", f);
    if (have_png) {
        fputs("<img src=\"" CURVES_PNG "\" alt=\"loss and accuracy per epoch\">\n", f);
    }
    fputs("<details><summary>numbers per epoch</summary>\n<table>\n<tr><th>epoch</th>"
          "<th>loss</th><th>accuracy</th><th>val loss</th><th>val accuracy</th>"
          "<th>seconds</th></tr>\n",
          f);
    for (int i = 0; i < r->n_history; i++) {
        const dg_history_row *h = &r->history[i];
        fprintf(f, "<tr><td>%d</td><td>%.4f</td><td>%.2f%%</td>", h->epoch, h->loss,
                100.0 * h->accuracy);
        if (h->val_loss >= 0) {
            fprintf(f, "<td>%.4f</td>", h->val_loss);
        } else {
            fputs("<td>-</td>", f);
        }
        if (h->val_accuracy >= 0) {
            fprintf(f, "<td>%.2f%%</td>", 100.0 * h->val_accuracy);
        } else {
            fputs("<td>-</td>", f);
        }
        fprintf(f, "<td>%.1f</td></tr>\n", h->seconds);
    }
    fputs("</table>\n</details>\n</section>\n", f);
}

/* A percentage, red when it is the weakest of all classes. */
static void pct_cell(FILE *f, double pct, int worst)
{
    if (pct < 0) {
        fputs("<td>-</td>", f);
        return;
    }
    fprintf(f, "<td%s>%.2f%%</td>", worst ? " class=\"bad\"" : "", pct);
}

static void write_eval(FILE *f, const dg_report *r, int have_png)
{
    const dg_eval *ev = r->eval;
    if (!ev || ev->classes < 1 || ev->classes > DG_MAX_CLASSES) {
        return;
    }
    int k = ev->classes;
    fputs("<section>\n<h2>Test results</h2>\n", f);
    if (have_png) {
        fputs("<p class=\"note\">Rows: the true class; columns: what the network said. Blue cells "
              "are right answers, red cells mistakes.</p>\n<img src=\"" CONFUSION_PNG
              "\" alt=\"confusion matrix\">\n",
              f);
    }
    double recall[DG_MAX_CLASSES], precision[DG_MAX_CLASSES];
    uint64_t rows[DG_MAX_CLASSES] = {0}, cols[DG_MAX_CLASSES] = {0};
    int worst_r = -1, worst_p = -1;
    for (int i = 0; i < k; i++) {
        for (int j = 0; j < k; j++) {
            rows[i] += ev->confusion[i][j];
            cols[j] += ev->confusion[i][j];
        }
    }
    for (int i = 0; i < k; i++) {
        recall[i] = rows[i] ? 100.0 * ev->confusion[i][i] / (double)rows[i] : -1;
        precision[i] = cols[i] ? 100.0 * ev->confusion[i][i] / (double)cols[i] : -1;
        if (recall[i] >= 0 && (worst_r < 0 || recall[i] < recall[worst_r])) {
            worst_r = i;
        }
        if (precision[i] >= 0 && (worst_p < 0 || precision[i] < precision[worst_p])) {
            worst_p = i;
        }
    }
    fputs("<h3>Per class</h3>\n<p class=\"note\">Recall: of the images of a class, the share "
          "recognised. Precision: of the answers naming a class, the share right.</p>\n"
          "<table>\n<tr><th class=\"l\">class</th><th>images</th><th>right</th>"
          "<th class=\"l\">recall</th><th class=\"l\">precision</th>"
          "<th class=\"l\">missed</th><th class=\"l\">most often taken for</th></tr>\n",
          f);
    /* accuracies near 100% all look alike as bars: the misses, scaled to the class that
     * misses most, show at a glance where the trouble is */
    uint64_t most_missed = 1;
    for (int i = 0; i < k; i++) {
        uint64_t missed = rows[i] - ev->confusion[i][i];
        most_missed = missed > most_missed ? missed : most_missed;
    }
    char buf[16];
    for (int i = 0; i < k; i++) {
        int other = -1;
        for (int j = 0; j < k; j++) {
            if (j != i && ev->confusion[i][j] > 0 &&
                (other < 0 || ev->confusion[i][j] > ev->confusion[i][other])) {
                other = j;
            }
        }
        fputs("<tr><td class=\"l\">", f);
        html(f, class_name(r, i, buf));
        fprintf(f, "</td><td>%llu</td><td>%u</td>", (unsigned long long)rows[i],
                ev->confusion[i][i]);
        pct_cell(f, recall[i], i == worst_r);
        pct_cell(f, precision[i], i == worst_p);
        uint64_t missed = rows[i] - ev->confusion[i][i];
        fprintf(f, "<td class=\"l%s\"><span class=\"bar\" style=\"width:%dpx\"></span>%llu</td>",
                missed ? " bad" : "", (int)lround(160.0 * (double)missed / (double)most_missed),
                (unsigned long long)missed);
        fputs("<td class=\"l\">", f);
        if (other >= 0) {
            uint32_t times = ev->confusion[i][other];
            html(f, class_name(r, other, buf));
            if (times == 1) {
                fputs(" (once)", f);
            } else {
                fprintf(f, " (%u times)", times);
            }
        } else {
            fputs("-", f);
        }
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n</section>\n", f);
}

/* Writes the page itself to a temporary file, then renames it over dir/index.html. */
static dg_status write_page(const char *dir, const dg_report *r, const int have[3],
                            const int *sample_ok)
{
    char path[4096], tmp[4096 + 16];
    dg_status st = join(path, sizeof path, dir, "index.html");
    if (st != DG_OK) {
        return st;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        return dg_fail(DG_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    }
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<title>digits report",
          f);
    if (r->model_path) {
        fputs(": ", f);
        html(f, r->model_path);
    }
    fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<main>\n<header>\n", style);
    fputs("<h1>digits report</h1>\n<p>", f);
    if (r->model_path) {
        fputs("model <code>", f);
        html(f, r->model_path);
        fputs("</code>", f);
    }
    fputs("</p>\n</header>\n", f);
    write_cards(f, r);
    write_model(f, r);
    write_history(f, r, have[0]);
    write_eval(f, r, have[1]);
    if (have[2]) {
        fprintf(f,
                "<section>\n<h2>Worst mistakes</h2>\n<p class=\"note\">Test images the network "
                "got wrong, the most confident wrong answers first.</p>\n<img src=\"" MISTAKES_PNG
                "\" alt=\"the %d worst mistakes\">\n</section>\n",
                r->n_mistakes);
    }
    if (r->samples && r->n_samples > 0) {
        int classes = report_classes(r);
        fputs("<section>\n<h2>Your images</h2>\n<div class=\"samples\">\n", f);
        for (int i = 0; i < r->n_samples; i++) {
            const dg_report_sample *s = &r->samples[i];
            int best = s->probs ? dg_argmax(s->probs, classes) : 0;
            char buf[16];
            fputs("<figure>\n", f);
            if (sample_ok[i]) {
                fprintf(f, "<img src=\"sample-%03d.png\" alt=\"", i + 1);
                html(f, s->name);
                fputs("\">\n", f);
            }
            fputs("<figcaption><span class=\"pred\">", f);
            if (s->probs && classes > 0) {
                html(f, class_name(r, best, buf));
                fprintf(f, "</span> %.1f%% sure &middot; ", 100.0 * s->probs[best]);
            } else {
                fputs("?</span> ", f);
            }
            html(f, s->name ? s->name : "");
            if (s->note) {
                fputs("<br><span class=\"bad\">", f);
                html(f, s->note);
                fputs("</span>", f);
            }
            fputs("</figcaption>\n</figure>\n", f);
        }
        fputs("</div>\n</section>\n", f);
    }
    fprintf(f, "<footer>made by digits %s</footer>\n</main>\n</body>\n</html>\n",
            DG_VERSION_STRING);
    int bad = fflush(f) != 0 || ferror(f);
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        remove(tmp);
        return dg_fail(DG_ERR_IO, "%s: cannot write the file", path);
    }
    return DG_OK;
}

/* A picture fitted into a 240x240 frame, for samples without a prediction. */
static dg_status write_picture(const dg_image *img, const char *path)
{
    dg_surface c;
    dg_status st = dg_surface_start(&c, 256, 256, 0xffffffu, path);
    if (st != DG_OK) {
        return st;
    }
    dg_surface_rect(&c, 8, 8, 240, 240, 0xf4f4f4u);
    dg_surface_image(&c, 8, 8, 240, 240, img);
    dg_surface_frame(&c, 7, 7, 242, 242, 1, 0xc8c8c8u);
    return dg_surface_finish(&c, path);
}

dg_status dg_report_write(const char *dir, const dg_report *r)
{
    if (!dir || !r) {
        return dg_fail(DG_ERR_ARG, "report: no folder or no content");
    }
    dg_status st = make_dirs(dir);
    if (st != DG_OK) {
        return st;
    }
    char path[4096];
    int have[3] = {0, 0, 0}; /* curves, confusion, mistakes */
    if (r->history && r->n_history > 0) {
        if ((st = join(path, sizeof path, dir, CURVES_PNG)) != DG_OK ||
            (st = dg_plot_history(r->history, r->n_history, path)) != DG_OK) {
            return st;
        }
        have[0] = 1;
    }
    if (r->eval && r->eval->classes > 0) {
        if ((st = join(path, sizeof path, dir, CONFUSION_PNG)) != DG_OK ||
            (st = dg_plot_confusion(r->eval, r->meta ? (const char(*)[32])r->meta->labels : NULL,
                                    path)) != DG_OK) {
            return st;
        }
        have[1] = 1;
    }
    if (r->mistake_images && r->mistake_labels && r->mistake_predicted && r->n_mistakes > 0) {
        int cols = r->n_mistakes < 8 ? r->n_mistakes : 8;
        if ((st = join(path, sizeof path, dir, MISTAKES_PNG)) != DG_OK ||
            (st = dg_plot_predictions(r->mistake_images, r->mistake_labels, r->mistake_predicted,
                                      r->mistake_confidence, r->n_mistakes, cols, path)) != DG_OK) {
            return st;
        }
        have[2] = 1;
    }
    int *sample_ok = NULL;
    if (r->samples && r->n_samples > 0) {
        if (r->n_samples > 100000 ||
            !(sample_ok = calloc((size_t)r->n_samples, sizeof *sample_ok))) {
            return dg_fail(DG_ERR_NOMEM, "report: too many samples (%d)", r->n_samples);
        }
        int classes = report_classes(r);
        for (int i = 0; i < r->n_samples; i++) {
            const dg_report_sample *s = &r->samples[i];
            char name[32];
            snprintf(name, sizeof name, "sample-%03d.png", i + 1);
            if (s->mnist && s->probs && classes > 0) {
                st = join(path, sizeof path, dir, name);
                if (st == DG_OK) {
                    st = dg_plot_probabilities(s->original, s->mnist, s->probs, classes, path);
                }
            } else if (s->original) {
                /* nothing recognised: the picture alone, so the reader sees why */
                st = join(path, sizeof path, dir, name);
                if (st == DG_OK) {
                    st = write_picture(s->original, path);
                }
            } else {
                continue;
            }
            if (st != DG_OK) {
                free(sample_ok);
                return st;
            }
            sample_ok[i] = 1;
        }
    }
    st = write_page(dir, r, have, sample_ok);
    free(sample_ok);
    return st;
}
