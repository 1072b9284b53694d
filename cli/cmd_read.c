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
    "usage: digits read [--model MODEL] [--csv] [--show] [--show-steps DIR]\n"
    "                   [--min-confidence X] [--plot OUT.png|OUT.svg] PATH...\n"
    "\n"
    "Reads the number written in each PNG, JPEG, PGM/PPM or BMP image (a folder is read in\n"
    "sorted order): finds its digits left to right and recognises each one. A digit below\n"
    "the confidence threshold is printed as '?' with its best guess. Confidences are\n"
    "percentages.\n"
    "\n"
    "  -m, --model MODEL     model file (default model/digits.model)\n"
    "  --csv                 print path,number,digits,confidences,status rows (0..1)\n"
    "  --show                print what preprocessing decided (polarity, levels, light, desk,\n"
    "                        ink components kept and dropped and why), each digit's box\n"
    "                        (x,y width x height), the 28x28 the network saw and each\n"
    "                        class's probability, as predict --show\n"
    "  --show-steps DIR      draw what preprocessing decided as DIR/NAME.steps.png, as\n"
    "                        predict --show-steps, every component left counted as kept\n"
    "  --min-confidence X    answer '?' below this top probability, 0..1 (default 0.6)\n"
    "  --plot OUT            draw the image with each digit boxed and labelled (one image);\n"
    "                        PNG or SVG after OUT's extension (.png or .svg)\n";

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

/* Boxes are printed in the pixels of the file's picture (source). */
static void print_result(const read_run *run, const char *path, const dg_image_source *source,
                         const dg_segmentation *seg, const dg_prediction *pred,
                         uint8_t (*digits)[DG_MNIST_PIXELS], const dg_preprocess_info *info)
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
    char pct[16];
    printf("%s: %s  (", path, number);
    for (int k = 0; k < seg->n; k++) {
        const dg_prediction *p = &pred[k];
        dg_format_percent(p->confidence, pct);
        if (p->answer == DG_ANSWER_DIGIT) {
            printf("%s%s %s", k ? ", " : "", run->meta.labels[p->digit], pct);
        } else {
            printf("%s? (best guess %s %s)", k ? ", " : "", run->meta.labels[p->digit], pct);
        }
    }
    printf(")\n");
    if (!run->opt.show) {
        return;
    }
    if (info) {
        cli_show_preprocess(info);
    }
    for (int k = 0; k < seg->n; k++) {
        dg_digit_box b = dg_box_in_source(seg->boxes[k], source);
        printf("  digit %d of %d: %s, box %d,%d %dx%d\n", k + 1, seg->n, answer_text(run, &pred[k]),
               b.x, b.y, b.w, b.h);
        cli_show_digit(digits[k], &pred[k], &run->meta);
    }
}

static void read_one(read_run *run, const char *path)
{
    dg_image *img = NULL;
    dg_image_source source;
    if (dg_image_load_reduced(path, DG_IMAGE_RECOGNITION_SIDE, &img, &source) != DG_OK) {
        report_failure(run, path, dg_last_error());
        return;
    }
    dg_segmentation *seg = NULL;
    dg_prediction pred[DG_SEGMENT_MAX_DIGITS];
    if (cli_read_number(run->net, &run->meta, (float)run->opt.min_confidence, img, DG_SEGMENT_SIDE,
                        &seg, pred) != DG_OK) {
        report_failure(run, path, dg_last_error());
        dg_image_free(img);
        return;
    }
    static uint8_t digits[DG_SEGMENT_MAX_DIGITS][DG_MNIST_PIXELS];
    for (int k = 0; run->opt.show && k < seg->n; k++) {
        if (dg_segment_to_mnist(seg, k, digits[k]) != DG_OK) {
            memset(digits[k], 0, DG_MNIST_PIXELS);
        }
    }
    /* what the ink map decided, for --show: the segmentation keeps only the ink */
    dg_preprocess_info info;
    dg_image *ink = NULL;
    bool have_info = run->opt.show && dg_ink_map(img, &ink, &info) == DG_OK;
    dg_image_free(ink);
    print_result(run, path, &source, seg, pred, digits, have_info ? &info : NULL);
    if (run->opt.plot) {
        if (dg_plot_number(img, seg, pred, (const char(*)[32])run->meta.labels, run->opt.plot) !=
            DG_OK) {
            cli_error("read", "%s", dg_last_error());
            run->n_failed++;
        } else {
            cli_wrote(run->opt.csv, "%s", run->opt.plot);
        }
    }
    if (run->opt.steps_dir &&
        !cli_write_steps("read", run->opt.steps_dir, path, img, true, run->opt.csv)) {
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
    if (run.opt.steps_dir && !cli_output_dir("read", "--show-steps", run.opt.steps_dir)) {
        return DG_EXIT_FAIL;
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
