/*
 * cmd_predict.c - `digits predict`: recognises the digit in each image (files, or
 * folders walked in sorted order) through the MNIST-faithful preprocessing, with top-3
 * confidences, honest "?" answers, CSV output, terminal art of what the network saw,
 * the 28x28 written out, or a picture of the prediction.
 */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: digits predict [--model MODEL] [--csv] [--show] [--show-steps DIR]\n"
    "                      [--save-preprocessed DIR] [--min-confidence X]\n"
    "                      [--plot OUT.png|OUT.svg] [--explain OUT.png] PATH...\n"
    "\n"
    "Recognises the digit in PNG, JPEG, PGM/PPM or BMP images; a folder is read in sorted\n"
    "order. Images are turned into MNIST-like 28x28 digits first (docs/preprocessing.md).\n"
    "The answer is '?' when the image is empty, holds no digit, or the network is unsure\n"
    "(its best guess is then shown as a guess); an image of several separate digits is\n"
    "reported as a number, for `digits read`. Confidences are percentages.\n"
    "\n"
    "  -m, --model MODEL      model file (default model/digits.model)\n"
    "  --csv                  print path,digit,confidence,status rows: confidence 0..1,\n"
    "                         status ok, unsure, empty, no digit or number of N digits\n"
    "  --show                 print what preprocessing decided (polarity, levels, light,\n"
    "                         desk, ink components kept and dropped and why), the 28x28\n"
    "                         the network saw and each class's probability\n"
    "  --show-steps DIR       draw what preprocessing decided as DIR/NAME.steps.png: the\n"
    "                         photo, the page with its light divided out, the ink map, and\n"
    "                         what was kept, dropped and why (DIR is created when missing)\n"
    "  --save-preprocessed D  write each 28x28 as D/NAME.png\n"
    "  --min-confidence X     answer '?' below this top probability, 0..1 (default 0.6)\n"
    "  --plot OUT             draw the image, its 28x28 and the probabilities (one image);\n"
    "                         PNG or SVG after OUT's extension (.png or .svg)\n"
    "  --explain OUT.png      draw which strokes drove the answer: the gradient of its score\n"
    "                         over the 28x28, red towards it, blue against (one image)\n";

typedef struct predict_run {
    cli_image_options opt;
    dg_net *net;
    dg_model_meta meta;
    int n_images, n_failed, n_saved;
} predict_run;

static void save_preprocessed(predict_run *run, const char *path, const uint8_t *d)
{
    char name[4096];
    if (!cli_name_in_dir(run->opt.save_dir, path, "png", name, sizeof name)) {
        cli_error("predict", "--save-preprocessed: the 28x28's name for %s is too long", path);
        run->n_failed++;
        return;
    }
    dg_image *img = NULL;
    if (dg_image_new(DG_MNIST_SIDE, DG_MNIST_SIDE, 1, &img) == DG_OK) {
        memcpy(img->pixels, d, DG_MNIST_PIXELS);
        if (dg_image_save_png(name, img) != DG_OK) {
            cli_error("predict", "%s", dg_last_error());
            run->n_failed++;
        } else {
            run->n_saved++;
        }
    }
    dg_image_free(img);
}

/* The heat-map of the answer's score over the 28x28 (docs/api.md, "Why"). */
static dg_status explain(predict_run *run, const uint8_t *digit, const dg_prediction *p)
{
    if (p->answer == DG_ANSWER_EMPTY || p->answer == DG_ANSWER_NO_DIGIT) {
        return dg_fail(DG_ERR_ARG, "--explain: no digit found, nothing to explain");
    }
    float heat[DG_MNIST_PIXELS];
    dg_status st = dg_explain_mnist(run->net, &run->meta.norm, digit, p->digit, heat);
    dg_image *pic = NULL;
    if (st == DG_OK) {
        st = dg_heatmap_picture(digit, heat, 10, &pic);
    }
    if (st == DG_OK) {
        st = dg_image_save_png(run->opt.explain, pic);
    }
    dg_image_free(pic);
    return st;
}

static void report_failure(predict_run *run, const char *path, const char *message)
{
    run->n_failed++;
    if (run->opt.csv) {
        cli_print_csv_field(path);
        printf(",,,");
        char status[1200];
        snprintf(status, sizeof status, "error: %s", message);
        cli_print_csv_field(status);
        putchar('\n');
    } else {
        cli_error("predict", "%s", message);
    }
}

/* The top three as "7 99.3%, 2 0.5%, 1 0.1%". */
static void print_top3(const predict_run *run, const dg_prediction *p)
{
    char pct[16];
    for (int i = 0; i < 3 && i < p->classes; i++) {
        printf("%s%s %s", i ? ", " : "", run->meta.labels[p->top[i]],
               dg_format_percent(p->top_p[i], pct));
    }
}

/* One image: the answer (a digit, or "?" with why), or, when the image holds several
 * separate digits, that it looks like a number for `digits read`. */
static void predict_one(predict_run *run, const char *path)
{
    run->n_images++;
    dg_image *img = NULL;
    if (dg_image_load_reduced(path, DG_IMAGE_RECOGNITION_SIDE, &img, NULL) != DG_OK) {
        report_failure(run, path, dg_last_error());
        return;
    }
    uint8_t digit[DG_MNIST_PIXELS];
    dg_prediction p;
    dg_preprocess_info info;
    if (dg_predict_image(run->net, &run->meta.norm, img, (float)run->opt.min_confidence, &p, digit,
                         &info) != DG_OK) {
        report_failure(run, path, dg_last_error());
        dg_image_free(img);
        return;
    }
    /* several separate digits: one answer for the whole image would be a wrong one */
    dg_prediction digits[DG_SEGMENT_MAX_DIGITS];
    dg_segmentation *seg =
        cli_number_check(run->net, &run->meta, (float)run->opt.min_confidence, img, &p, digits);
    bool sure = p.answer == DG_ANSWER_DIGIT && !seg;
    bool found = (p.answer == DG_ANSWER_DIGIT || p.answer == DG_ANSWER_UNSURE) && !seg;
    char pct[16];
    if (run->opt.csv) {
        cli_print_csv_field(path);
        printf(",%s,", sure ? run->meta.labels[p.digit] : "");
        if (found) {
            printf("%.4f", (double)p.confidence);
        }
        if (seg) {
            printf(",number of %d digits\n", seg->n);
        } else {
            printf(",%s\n", dg_answer_name(p.answer));
        }
    } else {
        printf("%s: %s", path, sure ? run->meta.labels[p.digit] : "?");
        if (seg) {
            printf("  looks like a number of %d digits; try `digits read`", seg->n);
        } else if (sure) {
            printf("  (%s sure; top 3: ", dg_format_percent(p.confidence, pct));
            print_top3(run, &p);
            printf(")");
        } else if (found) {
            char limit[16];
            printf("  unsure: best guess %s at %s, below %s (top 3: ", run->meta.labels[p.digit],
                   dg_format_percent(p.confidence, pct),
                   dg_format_percent(run->opt.min_confidence, limit));
            print_top3(run, &p);
            printf(")");
        } else {
            printf("  %s", p.answer == DG_ANSWER_EMPTY ? "empty: no ink found"
                                                       : "no digit: only lines, frames or noise");
        }
        putchar('\n');
        if (run->opt.show) {
            cli_show_preprocess(&info);
            cli_show_digit(digit, found ? &p : NULL, &run->meta);
        }
    }
    if (run->opt.save_dir) {
        save_preprocessed(run, path, digit);
    }
    if (run->opt.steps_dir &&
        !cli_write_steps("predict", run->opt.steps_dir, path, img, false, run->opt.csv)) {
        run->n_failed++;
    }
    if (run->opt.plot) {
        dg_status st = seg ? dg_plot_number(img, seg, digits, (const char(*)[32])run->meta.labels,
                                            run->opt.plot)
                           : dg_plot_prediction(img, digit, &p, (const char(*)[32])run->meta.labels,
                                                run->opt.plot);
        if (st != DG_OK) {
            cli_error("predict", "%s", dg_last_error());
            run->n_failed++;
        } else {
            cli_wrote(run->opt.csv, "%s", run->opt.plot);
        }
    }
    if (run->opt.explain) {
        if (explain(run, digit, &p) != DG_OK) {
            cli_error("predict", "%s", dg_last_error());
            run->n_failed++;
        } else {
            cli_wrote(run->opt.csv, "%s", run->opt.explain);
        }
    }
    dg_segmentation_free(seg);
    dg_image_free(img);
}

static void visit_image(void *user, const char *path)
{
    predict_one(user, path);
}

static void fail_path(void *user, const char *path, const char *message)
{
    predict_run *run = user;
    run->n_images++;
    report_failure(run, path, message);
}

int cmd_predict(int argc, char **argv)
{
    predict_run run = {0};
    int status = cli_parse_image_options("predict", usage, true, argc, argv, &run.opt);
    if (status >= 0) {
        return status;
    }
    if ((run.opt.save_dir && !cli_output_dir("predict", "--save-preprocessed", run.opt.save_dir)) ||
        (run.opt.steps_dir && !cli_output_dir("predict", "--show-steps", run.opt.steps_dir))) {
        return DG_EXIT_FAIL;
    }
    run.net = cli_load_model("predict", run.opt.model, &run.meta);
    if (!run.net) {
        return DG_EXIT_FAIL;
    }
    if (dg_net_set_threads(run.net, 1) != DG_OK) { /* one image at a time */
        dg_net_free(run.net);
        return cli_error("predict", "%s", dg_last_error());
    }
    if (run.opt.csv) {
        printf("path,digit,confidence,status\n");
    }
    cli_walk_images(argv + optind, argc - optind, visit_image, fail_path, &run);
    dg_net_free(run.net);
    if (run.n_saved > 0) {
        cli_wrote(run.opt.csv, "%d preprocessed 28x28 picture%s to %s", run.n_saved,
                  run.n_saved == 1 ? "" : "s", run.opt.save_dir);
    }
    if (run.n_images == 0) {
        return cli_error("predict", "no images found in the given paths");
    }
    return run.n_failed ? DG_EXIT_FAIL : DG_EXIT_OK;
}
