/*
 * report.c - the HTML report: one self-contained page, DIR/index.html. Every picture is
 * inside it: the charts as inline SVG (sharp at any size and pixel density), the images
 * as PNG data URIs; nothing else is written beside it.
 *
 * "Self-contained" means it opens offline, from any folder, on its own: the style is
 * inline, there are no scripts, fonts or links to anything else, and every text that
 * comes from outside (file names, labels, the spec) is HTML-escaped. The page is laid out
 * for any screen: galleries of cards that fill as many columns as fit, charts and wide
 * tables that scroll inside their card on a narrow screen instead of shrinking their text
 * to nothing. It is written to a temporary name and renamed, so a reader never sees half
 * a file.
 */
#include "base/fileio.h"
#include "pictures/surface.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Where a picture is drawn before it goes into the page, inside the report folder. */
#define TMP_PICTURE ".report-picture"
/* Charts scroll in their card rather than shrink below this share of their width, so
 * that their 13-pixel text stays at least 7 pixels tall on a phone. */
#define CHART_MIN_SCALE 0.55
/* Largest picture file put into the page. */
#define MAX_PICTURE_BYTES (64u << 20)

static const char style[] =
    "*{box-sizing:border-box}\n"
    "body{font-family:system-ui,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;margin:0;"
    "background:#f5f6f8;color:#222;line-height:1.45}\n"
    "main{max-width:1220px;margin:0 auto;padding:16px 16px 40px}\n"
    "header h1{margin:8px 0 2px;font-size:28px}\n"
    "header p{margin:0;color:#666;overflow-wrap:anywhere}\n"
    "section{background:#fff;border:1px solid #e2e4e8;border-radius:8px;padding:16px;"
    "margin:18px 0;min-width:0}\n"
    "h2{margin:0 0 12px;font-size:20px}\n"
    "h3{margin:16px 0 8px;font-size:17px}\n"
    ".notes{background:#fff8e6;border:1px solid #f0d48a;border-radius:8px;padding:8px 16px;"
    "margin:12px 0}\n"
    ".notes p{margin:4px 0}\n"
    ".cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:12px;"
    "margin-top:12px}\n"
    ".card{background:#fff;border:1px solid #e2e4e8;border-radius:8px;padding:10px 14px}\n"
    ".card .v{font-size:28px;font-weight:700}\n"
    ".card .k{color:#666;font-size:14px}\n"
    ".card.main .v{color:#1f77b4}\n"
    ".scroll{overflow-x:auto;max-width:100%}\n"
    "table{border-collapse:collapse;margin:4px 0}\n"
    "th,td{padding:4px 10px;border-bottom:1px solid #eceef1;text-align:right;"
    "white-space:nowrap}\n"
    "th{background:#f0f2f5;font-weight:600}\n"
    "td.l,th.l{text-align:left}\n"
    "code{background:#f0f2f5;padding:1px 5px;border-radius:4px;overflow-wrap:anywhere}\n"
    ".chart svg{display:block;width:100%;height:auto}\n"
    ".pair{display:flex;flex-wrap:wrap;gap:8px}\n"
    ".pair>.chart{flex:1 1 320px}\n"
    "img{display:block}\n"
    ".bar{display:inline-block;height:10px;background:#1f77b4;vertical-align:middle;"
    "margin-right:8px}\n"
    ".bad{color:#d62728;font-weight:700}\n"
    ".bad .bar{background:#d62728}\n"
    ".note{color:#666;margin:6px 0 10px}\n"
    ".gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(140px,1fr));gap:10px}\n"
    ".gallery.small{grid-template-columns:repeat(auto-fill,minmax(96px,1fr))}\n"
    ".gallery figure{margin:0;border:1px solid #e2e4e8;border-radius:8px;padding:10px;"
    "min-width:0;display:flex;flex-direction:column;gap:4px}\n"
    ".gallery figure.wide{grid-column:span 2}\n"
    "@media (min-width:900px){.gallery figure.wide{grid-column:span 3}}\n"
    "@media (max-width:359px){.gallery figure.wide{grid-column:1/-1}}\n"
    ".pics{display:flex;gap:8px;align-items:flex-end}\n"
    ".thumb{width:84px;height:84px;border:1px solid #e2e4e8;border-radius:4px}\n"
    ".px{width:42px;height:42px;image-rendering:pixelated;border:1px solid #e2e4e8}\n"
    ".small .px{width:72px;height:72px}\n"
    ".number{width:100%;max-width:560px;height:auto;border:1px solid #e2e4e8;border-radius:4px}\n"
    ".answer{font-size:34px;font-weight:700;line-height:1.1}\n"
    ".small .answer{font-size:18px}\n"
    ".meter{height:8px;background:#eceef1;border-radius:4px;overflow:hidden}\n"
    ".meter span{display:block;height:100%;background:#1a7f37}\n"
    ".conf{font-size:14px;color:#444}\n"
    ".ok .answer{color:#1a7f37}\n"
    ".unsure .answer{color:#b26b00}\n"
    ".unsure .meter span{background:#b26b00}\n"
    ".none .answer{color:#666}\n"
    ".wrong .answer{color:#d62728}\n"
    ".wrong .meter span{background:#d62728}\n"
    "figcaption{font-size:13px;color:#666;overflow-wrap:anywhere}\n"
    ".maps{display:flex;flex-wrap:wrap;gap:4px}\n"
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

/* ---------------------------------------------------------------- pictures in the page */

static void base64(FILE *f, const uint8_t *b, size_t n)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)b[i] << 16;
        v |= i + 1 < n ? (uint32_t)b[i + 1] << 8 : 0;
        v |= i + 2 < n ? b[i + 2] : 0;
        fputc(abc[(v >> 18) & 63], f);
        fputc(abc[(v >> 12) & 63], f);
        fputc(i + 1 < n ? abc[(v >> 6) & 63] : '=', f);
        fputc(i + 2 < n ? abc[v & 63] : '=', f);
    }
}

/* The page being written: its file and the folder its pictures are drawn in first. */
typedef struct page {
    FILE *f;
    char png[4096], svg[4096]; /* dir/TMP_PICTURE.png and .svg */
    dg_status st;              /* the first failure, DG_OK until then */
} page;

/* Writes the file at path as a data URI (an <img> src) and removes it. */
static void data_uri(page *pg, const char *path)
{
    uint8_t *bytes = NULL;
    size_t n = 0;
    dg_status st = dg_read_file(path, MAX_PICTURE_BYTES, "a picture", &bytes, &n);
    remove(path);
    if (st != DG_OK) {
        pg->st = pg->st != DG_OK ? pg->st : st;
        return;
    }
    fputs("data:image/png;base64,", pg->f);
    base64(pg->f, bytes, n);
    free(bytes);
}

/* An <img> of img as a PNG data URI, with a class and alt text. */
static void img_tag(page *pg, const dg_image *img, const char *cls, const char *alt)
{
    dg_status st = dg_image_save_png(pg->png, img);
    if (st != DG_OK) {
        pg->st = pg->st != DG_OK ? pg->st : st;
        return;
    }
    fprintf(pg->f, "<img class=\"%s\" src=\"", cls);
    data_uri(pg, pg->png);
    fputs("\" alt=\"", pg->f);
    html(pg->f, alt);
    fputs("\">", pg->f);
}

/* The 28x28 the network saw, dark ink on white as in the charts, drawn pixelated. */
static void mnist_tag(page *pg, const uint8_t *mnist, const char *alt)
{
    dg_image *img = NULL;
    dg_status st = dg_canvas_new(DG_MNIST_SIDE, DG_MNIST_SIDE, WHITE, &img);
    if (st != DG_OK) {
        pg->st = pg->st != DG_OK ? pg->st : st;
        return;
    }
    dg_draw_grey(img, 0, 0, mnist, DG_MNIST_SIDE, DG_MNIST_SIDE, 1);
    img_tag(pg, img, "px", alt);
    dg_image_free(img);
}

/* A picture fitted into a square twice the size it is shown at, for sharp screens. */
static void thumb_tag(page *pg, const dg_image *original, const char *alt)
{
    dg_image *img = NULL;
    dg_status st = dg_canvas_new(200, 200, 0xf4f4f4u, &img);
    if (st != DG_OK) {
        pg->st = pg->st != DG_OK ? pg->st : st;
        return;
    }
    dg_draw_image(img, 0, 0, 200, 200, original);
    img_tag(pg, img, "thumb", alt);
    dg_image_free(img);
}

/* Puts the chart drawn at pg->svg into the page as inline SVG, in a box that scrolls
 * sideways on a screen too narrow for it to keep its text legible. */
static void embed_svg(page *pg, dg_status drawn, const char *label)
{
    if (drawn != DG_OK) {
        pg->st = pg->st != DG_OK ? pg->st : drawn;
        return;
    }
    uint8_t *bytes = NULL;
    size_t n = 0;
    dg_status st = dg_read_file(pg->svg, MAX_PICTURE_BYTES, "a chart", &bytes, &n);
    remove(pg->svg);
    if (st != DG_OK) {
        pg->st = pg->st != DG_OK ? pg->st : st;
        return;
    }
    /* the file as a string, to search it */
    char *text = malloc(n + 1);
    if (!text) {
        free(bytes);
        pg->st = pg->st != DG_OK ? pg->st : dg_fail(DG_ERR_NOMEM, "report: out of memory");
        return;
    }
    memcpy(text, bytes, n);
    text[n] = '\0';
    free(bytes);
    char *svg = strstr(text, "<svg ");
    int width = 0;
    char *w = svg ? strstr(svg, "width=\"") : NULL;
    if (!svg || !w || sscanf(w, "width=\"%d\"", &width) != 1 || width < 1) {
        free(text);
        pg->st = pg->st != DG_OK ? pg->st : dg_fail(DG_ERR_FORMAT, "report: a chart is not SVG");
        return;
    }
    /* HTML needs no namespace, and the page names no address */
    static const char xmlns[] = " xmlns=\"http://www.w3.org/2000/svg\"";
    char *ns = strstr(svg, xmlns);
    fprintf(pg->f,
            "<div class=\"scroll chart\"><div style=\"min-width:%dpx;max-width:%dpx\" "
            "role=\"img\" aria-label=\"",
            (int)(width * CHART_MIN_SCALE), width);
    html(pg->f, label);
    fputs("\">\n", pg->f);
    if (ns) {
        fwrite(svg, 1, (size_t)(ns - svg), pg->f);
        fputs(ns + strlen(xmlns), pg->f);
    } else {
        fputs(svg, pg->f);
    }
    fputs("</div></div>\n", pg->f);
    free(text);
}

/* A wide raster picture drawn at pg->png, in the same scrolling box as a chart. */
static void embed_png(page *pg, dg_status drawn, int width, const char *label)
{
    if (drawn != DG_OK) {
        pg->st = pg->st != DG_OK ? pg->st : drawn;
        return;
    }
    fprintf(pg->f,
            "<div class=\"scroll chart\"><div style=\"min-width:%dpx;max-width:%dpx\">"
            "<img style=\"width:100%%;height:auto\" src=\"",
            (int)(width * CHART_MIN_SCALE), width);
    data_uri(pg, pg->png);
    fputs("\" alt=\"", pg->f);
    html(pg->f, label);
    fputs("\"></div></div>\n", pg->f);
}

/* A confidence bar and its figure. */
static void meter(FILE *f, double share, const char *text)
{
    char pct[16];
    dg_format_percent(share, pct);
    fprintf(f, "<div class=\"meter\"><span style=\"width:%s\"></span></div>\n", pct);
    fprintf(f, "<div class=\"conf\">%s</div>\n", text);
}

/* ---------------------------------------------------------------- sections */

static void write_cards(FILE *f, const dg_report *r)
{
    char num[32], all[32], pct[16];
    fputs("<div class=\"cards\">\n", f);
    if (r->eval && r->eval->n > 0) {
        fprintf(f,
                "<div class=\"card main\"><div class=\"v\">%s</div>"
                "<div class=\"k\">test accuracy</div></div>\n",
                dg_format_accuracy(r->eval->accuracy, pct));
        uint64_t right = 0;
        for (int i = 0; i < r->eval->classes && i < DG_MAX_CLASSES; i++) {
            right += r->eval->confusion[i][i];
        }
        uint64_t wrong = r->eval->n > right ? r->eval->n - right : 0;
        fprintf(f,
                "<div class=\"card\"><div class=\"v\">%s</div><div class=\"k\">mistakes in %s "
                "test images</div></div>\n",
                dg_format_count(wrong, num), dg_format_count(r->eval->n, all));
        fprintf(f,
                "<div class=\"card\"><div class=\"v\">%.4f</div><div class=\"k\">test loss</div>"
                "</div>\n",
                r->eval->loss);
    }
    if (r->net) {
        fprintf(f,
                "<div class=\"card\"><div class=\"v\">%s</div><div class=\"k\">parameters</div>"
                "</div>\n",
                dg_format_count(dg_net_param_count(r->net), num));
    }
    if (r->n_history > 0 && r->history) {
        double total = 0;
        for (int i = 0; i < r->n_history; i++) {
            total += r->history[i].seconds;
        }
        int epochs = r->history[r->n_history - 1].epoch;
        fprintf(f,
                "<div class=\"card\"><div class=\"v\">%d</div><div class=\"k\">epoch%s, %.0f s "
                "of training</div></div>\n",
                epochs, epochs == 1 ? "" : "s", total);
    }
    fputs("</div>\n", f);
}

static void write_model(FILE *f, const dg_report *r)
{
    if (!r->net && !r->meta) {
        return;
    }
    char num[32], shape[64], pct[16];
    fputs("<section>\n<h2>Model</h2>\n", f);
    if (r->net) {
        fputs("<p>Layers: <code>", f);
        html(f, dg_net_spec(r->net));
        fputs("</code></p>\n", f);
        fputs("<div class=\"scroll\"><table>\n<tr><th>#</th><th class=\"l\">layer</th>"
              "<th class=\"l\">output shape</th><th>parameters</th></tr>\n",
              f);
        dg_net_shape_text(r->net, -1, shape, sizeof shape);
        fprintf(f, "<tr><td></td><td class=\"l\">input</td><td class=\"l\">%s</td><td></td></tr>\n",
                shape);
        int count = dg_net_layer_count(r->net);
        for (int i = 0; i < count; i++) {
            dg_layer_info info;
            dg_net_layer_info(r->net, i, &info);
            dg_net_shape_text(r->net, i, shape, sizeof shape);
            fprintf(f, "<tr><td>%d</td><td class=\"l\">", i + 1);
            html(f, info.desc);
            fprintf(f, "</td><td class=\"l\">%s</td><td>%s</td></tr>\n", shape,
                    dg_format_count(info.n_params, num));
        }
        fprintf(f,
                "<tr><th></th><th class=\"l\">total</th><th></th><th>%s</th></tr>\n</table></div>\n"
                "<p class=\"note\">Shapes as Keras writes them: (None, height, width, "
                "channels).</p>\n",
                dg_format_count(dg_net_param_count(r->net), num));
    }
    if (r->meta) {
        const dg_model_meta *m = r->meta;
        fputs("<div class=\"scroll\"><table>\n", f);
        if (m->preset[0]) {
            fputs("<tr><td class=\"l\">preset</td><td class=\"l\">", f);
            html(f, m->preset);
            fputs("</td></tr>\n", f);
        }
        if (m->dataset[0]) {
            fputs("<tr><td class=\"l\">trained on</td><td class=\"l\">", f);
            html(f, m->dataset);
            fprintf(f, " (%s images)</td></tr>\n", dg_format_count(m->n_train, num));
        }
        fprintf(f,
                "<tr><td class=\"l\">epochs, batch, learning rate</td><td class=\"l\">%d, %d, "
                "%g</td></tr>\n",
                m->epochs, m->batch, (double)m->lr);
        fprintf(f, "<tr><td class=\"l\">seed</td><td class=\"l\">%llu</td></tr>\n",
                (unsigned long long)m->seed);
        if (m->val_accuracy >= 0) {
            fprintf(f,
                    "<tr><td class=\"l\">validation accuracy</td><td class=\"l\">%s</td>"
                    "</tr>\n",
                    dg_format_accuracy(m->val_accuracy, pct));
        }
        if (m->created > 0) {
            time_t t = (time_t)m->created;
            struct tm tm;
            char when[64];
            if (gmtime_r(&t, &tm) && strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm)) {
                fprintf(f, "<tr><td class=\"l\">created</td><td class=\"l\">%s</td></tr>\n", when);
            }
        }
        fputs("</table></div>\n", f);
    }
    fputs("</section>\n", f);
}

static void write_history(page *pg, const dg_report *r)
{
    if (!r->history || r->n_history < 1) {
        return;
    }
    FILE *f = pg->f;
    char pct[16];
    fputs("<section>\n<h2>Training</h2>\n", f);
    /* the two panels side by side where they fit, one above the other on a phone */
    fputs("<div class=\"pair\">\n", f);
    embed_svg(pg, dg_plot_history_panel(r->history, r->n_history, 0, pg->svg), "loss per epoch");
    embed_svg(pg, dg_plot_history_panel(r->history, r->n_history, 1, pg->svg),
              "accuracy per epoch");
    fputs("</div>\n", f);
    fputs("<details><summary>numbers per epoch</summary>\n<div class=\"scroll\"><table>\n"
          "<tr><th>epoch</th><th>loss</th><th>accuracy</th><th>val loss</th>"
          "<th>val accuracy</th><th>seconds</th></tr>\n",
          f);
    for (int i = 0; i < r->n_history; i++) {
        const dg_history_row *h = &r->history[i];
        fprintf(f, "<tr><td>%d</td><td>%.4f</td><td>%s</td>", h->epoch, h->loss,
                dg_format_accuracy(h->accuracy, pct));
        if (h->val_loss >= 0) {
            fprintf(f, "<td>%.4f</td>", h->val_loss);
        } else {
            fputs("<td>-</td>", f);
        }
        if (h->val_accuracy >= 0) {
            fprintf(f, "<td>%s</td>", dg_format_accuracy(h->val_accuracy, pct));
        } else {
            fputs("<td>-</td>", f);
        }
        fprintf(f, "<td>%.1f</td></tr>\n", h->seconds);
    }
    fputs("</table></div>\n</details>\n</section>\n", f);
}

/* A share, red when it is the weakest of all classes. */
static void pct_cell(FILE *f, double share, int worst)
{
    char pct[16];
    if (share < 0) {
        fputs("<td>-</td>", f);
        return;
    }
    fprintf(f, "<td%s>%s</td>", worst ? " class=\"bad\"" : "", dg_format_accuracy(share, pct));
}

static void write_eval(page *pg, const dg_report *r)
{
    const dg_eval *ev = r->eval;
    if (!ev || ev->classes < 1 || ev->classes > DG_MAX_CLASSES) {
        return;
    }
    FILE *f = pg->f;
    int k = ev->classes;
    fputs("<section>\n<h2>Test results</h2>\n", f);
    fputs("<p class=\"note\">Rows: the true class; columns: what the network said. Blue cells "
          "are right answers, red cells mistakes.</p>\n",
          f);
    embed_svg(pg,
              dg_plot_confusion(ev, r->meta ? (const char(*)[32])r->meta->labels : NULL, pg->svg),
              "confusion matrix");
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
        recall[i] = rows[i] ? ev->confusion[i][i] / (double)rows[i] : -1;
        precision[i] = cols[i] ? ev->confusion[i][i] / (double)cols[i] : -1;
        if (recall[i] >= 0 && (worst_r < 0 || recall[i] < recall[worst_r])) {
            worst_r = i;
        }
        if (precision[i] >= 0 && (worst_p < 0 || precision[i] < precision[worst_p])) {
            worst_p = i;
        }
    }
    fputs("<h3>Per class</h3>\n<p class=\"note\">Recall: of the images of a class, the share "
          "recognised. Precision: of the answers naming a class, the share right.</p>\n"
          "<div class=\"scroll\"><table>\n<tr><th class=\"l\">class</th><th>images</th>"
          "<th>right</th><th>recall</th><th>precision</th>"
          "<th class=\"l\">missed</th><th class=\"l\">most often taken for</th></tr>\n",
          f);
    /* accuracies near 100% all look alike as bars: the misses, scaled to the class that
     * misses most, show at a glance where the trouble is */
    uint64_t most_missed = 1;
    for (int i = 0; i < k; i++) {
        uint64_t missed = rows[i] - ev->confusion[i][i];
        most_missed = missed > most_missed ? missed : most_missed;
    }
    char buf[16], num[32], right[32];
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
        fprintf(f, "</td><td>%s</td><td>%s</td>", dg_format_count(rows[i], num),
                dg_format_count(ev->confusion[i][i], right));
        pct_cell(f, recall[i], i == worst_r);
        pct_cell(f, precision[i], i == worst_p);
        uint64_t missed = rows[i] - ev->confusion[i][i];
        fprintf(f, "<td class=\"l%s\"><span class=\"bar\" style=\"width:%dpx\"></span>%s</td>",
                missed ? " bad" : "", (int)lround(80.0 * (double)missed / (double)most_missed),
                dg_format_count(missed, num));
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
    fputs("</table></div>\n</section>\n", f);
}

static void write_mistakes(page *pg, const dg_report *r)
{
    if (!r->mistake_images || !r->mistake_labels || !r->mistake_predicted || r->n_mistakes < 1) {
        return;
    }
    FILE *f = pg->f;
    int total = r->n_mistakes_total > r->n_mistakes ? r->n_mistakes_total : r->n_mistakes;
    char shown[32], all[32], buf[16], pct[16], alt[96], conf[64];
    fprintf(f, "<section>\n<h2>Worst mistakes: %s of %s</h2>\n",
            dg_format_count((uint64_t)r->n_mistakes, shown), dg_format_count((uint64_t)total, all));
    fputs("<p class=\"note\">Test images the network got wrong, the most confident wrong answers "
          "first: what it said, big, and the true class.</p>\n<div class=\"gallery small\">\n",
          f);
    for (int i = 0; i < r->n_mistakes; i++) {
        int said = r->mistake_predicted[i], truth = r->mistake_labels[i];
        fputs("<figure class=\"wrong\">\n", f);
        snprintf(alt, sizeof alt, "test image %d of class %d", i + 1, truth);
        mnist_tag(pg, r->mistake_images + (size_t)i * DG_MNIST_PIXELS, alt);
        fputs("\n<div class=\"answer\">said ", f);
        html(f, class_name(r, said, buf));
        fputs("</div>\n", f);
        double c = r->mistake_confidence ? r->mistake_confidence[i] : NAN;
        snprintf(conf, sizeof conf, "%s sure", dg_format_percent(c, pct));
        meter(f, c, conf);
        fputs("<figcaption>true class ", f);
        html(f, class_name(r, truth, buf));
        fputs("</figcaption>\n</figure>\n", f);
    }
    fputs("</div>\n</section>\n", f);
}

/* One of the user's pictures: what it was taken for, as `digits predict` or `read` says. */
static void write_sample(page *pg, const dg_report *r, const dg_report_sample *s)
{
    FILE *f = pg->f;
    const dg_prediction *p = s->pred;
    char buf[16], pct[16], text[160];
    const char *name = s->name ? s->name : "";
    if (s->seg && s->seg->n > 1 && s->digits && s->original) {
        /* several digits: the picture `digits read` draws, and the number */
        char number[DG_SEGMENT_MAX_DIGITS * 16 + 1] = "";
        int unsure = 0;
        double lowest = 1.0;
        for (int k = 0; k < s->seg->n; k++) {
            const dg_prediction *d = &s->digits[k];
            strncat(number, d->answer == DG_ANSWER_DIGIT ? class_name(r, d->digit, buf) : "?",
                    sizeof number - strlen(number) - 1);
            unsure += d->answer != DG_ANSWER_DIGIT;
            lowest = d->confidence < lowest ? d->confidence : lowest;
        }
        fprintf(f, "<figure class=\"wide %s\">\n", unsure ? "unsure" : "ok");
        dg_status st = dg_plot_number(s->original, s->seg, s->digits,
                                      r->meta ? (const char(*)[32])r->meta->labels : NULL, pg->png);
        if (st == DG_OK) {
            fputs("<img class=\"number\" src=\"", f);
            data_uri(pg, pg->png);
            fputs("\" alt=\"", f);
            html(f, name);
            fputs("\">\n", f);
        } else {
            pg->st = pg->st != DG_OK ? pg->st : st;
        }
        fputs("<div class=\"answer\">", f);
        html(f, number);
        fputs("</div>\n", f);
        snprintf(text, sizeof text, "a number of %d digits%s; the least sure %s", s->seg->n,
                 unsure ? ", some unsure (?)" : "", dg_format_percent(lowest, pct));
        meter(f, lowest, text);
    } else {
        bool found = p && (p->answer == DG_ANSWER_DIGIT || p->answer == DG_ANSWER_UNSURE);
        const char *cls = !p                              ? "none"
                          : p->answer == DG_ANSWER_DIGIT  ? "ok"
                          : p->answer == DG_ANSWER_UNSURE ? "unsure"
                                                          : "none";
        fprintf(f, "<figure class=\"%s\">\n<div class=\"pics\">", cls);
        if (s->original) {
            thumb_tag(pg, s->original, name);
        }
        if (s->mnist) {
            mnist_tag(pg, s->mnist, "the 28x28 the network saw");
        }
        fputs("</div>\n<div class=\"answer\">", f);
        html(f, p && p->answer == DG_ANSWER_DIGIT ? class_name(r, p->digit, buf) : "?");
        fputs("</div>\n", f);
        if (found && p->answer == DG_ANSWER_DIGIT) {
            snprintf(text, sizeof text, "%s sure", dg_format_percent(p->confidence, pct));
            meter(f, p->confidence, text);
        } else if (found) {
            snprintf(text, sizeof text, "unsure: best guess %s, %s", class_name(r, p->digit, buf),
                     dg_format_percent(p->confidence, pct));
            meter(f, p->confidence, text);
        } else {
            meter(f, 0.0,
                  !p                             ? "not recognised"
                  : p->answer == DG_ANSWER_EMPTY ? "empty: no ink found"
                                                 : "no digit: only lines, frames or noise");
        }
    }
    if (s->note) {
        fputs("<div class=\"conf bad\">", f);
        html(f, s->note);
        fputs("</div>\n", f);
    }
    fputs("<figcaption>", f);
    html(f, name);
    fputs("</figcaption>\n</figure>\n", f);
}

static void write_samples(page *pg, const dg_report *r)
{
    if (!r->samples || r->n_samples < 1) {
        return;
    }
    fputs("<section>\n<h2>Your images</h2>\n<p class=\"note\">Each picture, the 28x28 the network "
          "saw, its answer and how sure it is. '?' means no answer: the network was unsure (its "
          "best guess is shown as a guess), or there was no digit. A picture of several digits "
          "is read as a number, as <code>digits read</code> does.</p>\n<div class=\"gallery\">\n",
          pg->f);
    for (int i = 0; i < r->n_samples; i++) {
        write_sample(pg, r, &r->samples[i]);
    }
    fputs("</div>\n</section>\n", pg->f);
}

/* The first convolution's filters and one image's feature maps. */
static void write_inside(page *pg, const dg_report *r)
{
    if (!r->net) {
        return;
    }
    bool has_conv = false;
    for (int i = 0; i < dg_net_layer_count(r->net); i++) {
        dg_layer_info info;
        dg_net_layer_info(r->net, i, &info);
        has_conv = has_conv || !strcmp(info.kind, "conv");
    }
    if (!has_conv) {
        return;
    }
    fputs("<section>\n<h2>Inside the network</h2>\n<p class=\"note\">The patterns the first "
          "convolution looks for, and what every convolution's channels make of one image.</p>\n",
          pg->f);
    embed_svg(pg, dg_plot_filters(r->net, pg->svg), "the first convolution's filters");
    if (r->activations_mnist) {
        fputs("<h3>Feature maps of ", pg->f);
        html(pg->f, r->activations_name ? r->activations_name : "one image");
        fputs("</h3>\n", pg->f);
        dg_image *img = NULL;
        dg_status st = dg_plot_activations(r->net, r->activations_mnist, pg->png);
        if (st == DG_OK && (st = dg_image_load(pg->png, &img)) == DG_OK) {
            embed_png(pg, st, img->w, "feature maps");
        } else {
            pg->st = pg->st != DG_OK ? pg->st : st;
            remove(pg->png);
        }
        dg_image_free(img);
    }
    fputs("</section>\n", pg->f);
}

static void write_notes(FILE *f, const dg_report *r)
{
    if (!r->notes || r->n_notes < 1) {
        return;
    }
    fputs("<div class=\"notes\">\n", f);
    for (int i = 0; i < r->n_notes; i++) {
        fputs("<p>", f);
        html(f, r->notes[i]);
        fputs("</p>\n", f);
    }
    fputs("</div>\n", f);
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
    page pg = {.st = DG_OK};
    char path[4096], tmp[4096 + 16];
    if ((st = join(path, sizeof path, dir, "index.html")) != DG_OK ||
        (st = join(pg.png, sizeof pg.png, dir, TMP_PICTURE ".png")) != DG_OK ||
        (st = join(pg.svg, sizeof pg.svg, dir, TMP_PICTURE ".svg")) != DG_OK) {
        return st;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        return dg_fail(DG_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    }
    pg.f = f;
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
        fputs("</code>; ", f);
    }
    fputs("one self-contained page: every picture is inside this file.</p>\n</header>\n", f);
    write_notes(f, r);
    write_cards(f, r);
    write_model(f, r);
    write_history(&pg, r);
    write_eval(&pg, r);
    write_mistakes(&pg, r);
    write_samples(&pg, r);
    write_inside(&pg, r);
    fprintf(f, "<footer>made by digits %s</footer>\n</main>\n</body>\n</html>\n",
            DG_VERSION_STRING);
    int bad = fflush(f) != 0 || ferror(f);
    bad |= fclose(f) != 0;
    if (pg.st != DG_OK) {
        remove(tmp);
        return pg.st;
    }
    if (bad || rename(tmp, path) != 0) {
        remove(tmp);
        return dg_fail(DG_ERR_IO, "%s: cannot write the file", path);
    }
    return DG_OK;
}
