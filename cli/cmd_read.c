/*
 * cmd_read.c - `digits read`: reads a whole written number. Each image is segmented into
 * digits left to right (dg_segment: touching digits cut apart, broken strokes joined),
 * each digit becomes an MNIST-like 28x28 of its own pixels and is classified. Prints the
 * number with each digit's confidence, optionally the boxes, CSV rows, or a picture of
 * the image with every digit boxed and labelled.
 */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: digits read [--model MODEL] [--csv] [--show] [--min-confidence X]\n"
    "                   [--plot OUT.png] IMAGE...\n"
    "\n"
    "Reads the number written in each PNG, JPEG, PGM/PPM or BMP image: finds its digits\n"
    "left to right and recognises each one. A digit below the confidence threshold is\n"
    "printed as '?'.\n"
    "\n"
    "  --model MODEL         model file (default model/digits.model)\n"
    "  --csv                 print path,number,digits,confidences,status rows\n"
    "  --show                also print each digit's box (x,y width x height) and top 3\n"
    "  --min-confidence X    answer '?' below this top probability (default 0.6)\n"
    "  --plot OUT.png        draw the image with each digit boxed and labelled (one image)\n";

#define PLOT_OK     0x1a9641u /* green: a confident digit */
#define PLOT_UNSURE 0xe66101u /* orange: below the confidence threshold */

typedef struct read_run {
    cli_image_options opt;
    dg_net *net;
    dg_model_meta meta;
    int n_failed;
} read_run;

/* CSV field: quoted when it holds a comma, quote or newline. */
static void report_failure(read_run *run, const char *path, const char *message)
{
    run->n_failed++;
    if (run->opt.csv) {
        char status[1200];
        snprintf(status, sizeof status, "error: %s", message);
        cli_print_csv_field(path);
        printf(",,,,");
        cli_print_csv_field(status);
        putchar('\n');
    } else if (!strncmp(message, path, strlen(path))) {
        cli_error("read", "%s", message); /* the library named the file already */
    } else {
        cli_error("read", "%s: %s", path, message);
    }
}

/* The label text of a prediction: the class name, or "?" when unsure. */
static const char *answer_text(const read_run *run, const dg_prediction *p)
{
    return p->answer == DG_ANSWER_DIGIT ? run->meta.labels[p->digit] : "?";
}

/*
 * The image with a band on top; each digit framed and labelled in the band above it with
 * its answer over its confidence, green when confident, orange when not. Labels go in the
 * first of two lanes where they do not run into the previous label.
 */
static dg_status plot_read(const read_run *run, const dg_image *img, const dg_segmentation *seg,
                           const dg_prediction *pred)
{
    /* drawn at a readable size: the image scaled to 640..1200 pixels wide */
    double f = img->w < 640 ? 640.0 / img->w : img->w > 1200 ? 1200.0 / img->w : 1.0;
    int w = (int)(img->w * f + 0.5), h = (int)(img->h * f + 0.5);
    const int title_scale = 2, digit_scale = 3, margin = 8;
    int title_h = DG_FONT_H * title_scale + 2 * margin;
    int labels_h = DG_FONT_H * (digit_scale + 1) + margin;
    int top = title_h + labels_h;
    dg_image *out;
    dg_status st = dg_canvas_new(w, top + h, 0xffffffu, &out);
    if (st != DG_OK) {
        return st;
    }
    char title[16 + 2 * DG_SEGMENT_MAX_DIGITS * 32] = "read: ";
    for (int k = 0; k < seg->n; k++) {
        strncat(title, answer_text(run, &pred[k]), sizeof title - strlen(title) - 1);
    }
    if (seg->n == 0) {
        strncat(title, "no digits found", sizeof title - strlen(title) - 1);
    }
    dg_draw_text(out, margin, margin, title, title_scale, 0x222222u);
    dg_draw_image(out, 0, top, w, h, img);
    int thick = h >= 400 ? 3 : 2;
    for (int k = 0; k < seg->n; k++) {
        const dg_digit_box *b = &seg->boxes[k];
        int bx = (int)(b->x * f), by = (int)(b->y * f) + top;
        int bw = (int)(b->w * f + 0.5), bh = (int)(b->h * f + 0.5);
        dg_color color = pred[k].answer == DG_ANSWER_DIGIT ? PLOT_OK : PLOT_UNSURE;
        dg_draw_frame(out, bx, by, bw, bh, thick, color);
        /* the answer above its box, centred, its confidence under it */
        const char *text = answer_text(run, &pred[k]);
        char conf[16];
        snprintf(conf, sizeof conf, "%.2f", (double)pred[k].confidence);
        int cx = bx + bw / 2;
        dg_draw_text(out, cx - dg_text_width(text, digit_scale) / 2, title_h, text, digit_scale,
                     color);
        dg_draw_text(out, cx - dg_text_width(conf, 1) / 2, title_h + DG_FONT_H * digit_scale, conf,
                     1, color);
    }
    st = dg_image_save_png(run->opt.plot, out);
    dg_image_free(out);
    return st;
}

static void print_result(const read_run *run, const char *path, const dg_segmentation *seg,
                         const dg_prediction *pred)
{
    char number[DG_SEGMENT_MAX_DIGITS * 32 + 1] = "";
    bool unsure = false;
    for (int k = 0; k < seg->n; k++) {
        strcat(number, answer_text(run, &pred[k]));
        unsure = unsure || pred[k].answer != DG_ANSWER_DIGIT;
    }
    if (run->opt.csv) {
        cli_print_csv_field(path);
        printf(",%s,%d,", number, seg->n);
        for (int k = 0; k < seg->n; k++) {
            printf("%s%.4f", k ? " " : "", (double)pred[k].confidence);
        }
        printf(",%s\n", seg->n == 0 ? "empty" : unsure ? "unsure" : "ok");
        return;
    }
    if (seg->n == 0) {
        printf("%s: no digits found\n", path);
        return;
    }
    printf("%s: %s  (", path, number);
    for (int k = 0; k < seg->n; k++) {
        const dg_prediction *p = &pred[k];
        if (p->answer == DG_ANSWER_DIGIT) {
            printf("%s%s %.2f", k ? ", " : "", run->meta.labels[p->digit], (double)p->confidence);
        } else {
            printf("%s? (best %s %.2f)", k ? ", " : "", run->meta.labels[p->digit],
                   (double)p->confidence);
        }
    }
    printf(")\n");
    if (!run->opt.show) {
        return;
    }
    for (int k = 0; k < seg->n; k++) {
        const dg_digit_box *b = &seg->boxes[k];
        const dg_prediction *p = &pred[k];
        printf("  digit %d: box %d,%d %dx%d  top 3: %s %.3f, %s %.3f, %s %.3f\n", k + 1, b->x, b->y,
               b->w, b->h, run->meta.labels[p->top[0]], (double)p->top_p[0],
               run->meta.labels[p->top[1]], (double)p->top_p[1], run->meta.labels[p->top[2]],
               (double)p->top_p[2]);
    }
}

static void read_one(read_run *run, const char *path)
{
    dg_image *img = NULL;
    if (dg_image_load(path, &img) != DG_OK) {
        report_failure(run, path, dg_last_error());
        return;
    }
    dg_segmentation *seg = NULL;
    if (dg_segment(img, &seg) != DG_OK) {
        report_failure(run, path, dg_last_error());
        dg_image_free(img);
        return;
    }
    dg_prediction pred[DG_SEGMENT_MAX_DIGITS];
    for (int k = 0; k < seg->n; k++) {
        uint8_t digit[DG_MNIST_PIXELS];
        if (dg_segment_to_mnist(seg, k, digit) != DG_OK ||
            dg_predict_mnist(run->net, &run->meta.norm, digit, (float)run->opt.min_confidence,
                             &pred[k]) != DG_OK) {
            report_failure(run, path, dg_last_error());
            dg_segmentation_free(seg);
            dg_image_free(img);
            return;
        }
    }
    print_result(run, path, seg, pred);
    if (run->opt.plot && plot_read(run, img, seg, pred) != DG_OK) {
        cli_error("read", "%s", dg_last_error());
        run->n_failed++;
    }
    dg_segmentation_free(seg);
    dg_image_free(img);
}

static void visit_image(void *user, const char *path)
{
    read_one(user, path);
}

static void fail_path(void *user, const char *path, const char *message)
{
    report_failure(user, path, message);
}

int cmd_read(int argc, char **argv)
{
    read_run run = {0};
    int status = cli_parse_image_options("read", usage, false, argc, argv, &run.opt);
    if (status >= 0) {
        return status;
    }
    run.net = cli_load_model("read", run.opt.model, &run.meta);
    if (!run.net) {
        return DG_EXIT_FAIL;
    }
    if (dg_net_set_threads(run.net, 1) != DG_OK) { /* one image at a time */
        dg_net_free(run.net);
        return cli_error("read", "%s", dg_last_error());
    }
    if (run.opt.csv) {
        printf("path,number,digits,confidences,status\n");
    }
    int found = cli_walk_images(argv + optind, argc - optind, visit_image, fail_path, &run);
    dg_net_free(run.net);
    if (found == 0) {
        return cli_error("read", "no images found in the given paths");
    }
    return run.n_failed ? DG_EXIT_FAIL : DG_EXIT_OK;
}
