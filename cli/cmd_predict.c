/*
 * cmd_predict.c - `digits predict`: recognises the digit in each image (files, or
 * folders walked in sorted order) through the MNIST-faithful preprocessing, with top-3
 * confidences, honest "?" answers, CSV output, terminal art of what the network saw,
 * the 28x28 written out, or a picture of the prediction.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char usage[] =
    "usage: digits predict [--model MODEL] [--csv] [--show] [--save-preprocessed DIR]\n"
    "                      [--min-confidence X] [--plot OUT.png] [--explain OUT.png] PATH...\n"
    "\n"
    "Recognises the digit in PNG, JPEG, PGM/PPM or BMP images; a folder is read in sorted\n"
    "order. Images are turned into MNIST-like 28x28 digits first (docs/preprocessing.md).\n"
    "\n"
    "  --model MODEL          model file (default model/digits.model)\n"
    "  --csv                  print path,digit,confidence,status rows\n"
    "  --show                 print the 28x28 the network saw and its top-3 answers\n"
    "  --save-preprocessed D  write each 28x28 as D/NAME.png\n"
    "  --min-confidence X     answer '?' below this top probability (default 0.6)\n"
    "  --plot OUT.png         draw the image, its 28x28 and the ten probabilities (one image)\n"
    "  --explain OUT.png      draw which strokes drove the answer: the gradient of its score\n"
    "                         over the 28x28, red towards it, blue against (one image)\n";

typedef struct predict_run {
    cli_image_options opt;
    dg_net *net;
    dg_model_meta meta;
    int n_images, n_failed;
} predict_run;

static void show_digit(const uint8_t *d, const dg_prediction *p, const dg_model_meta *meta)
{
    static const char ramp[] = " .:-=+*#%@";
    for (int r = 0; r < 28; r++) {
        printf("  ");
        for (int c = 0; c < 28; c++) {
            char ch = ramp[d[r * 28 + c] * 9 / 255];
            putchar(ch);
            putchar(ch);
        }
        int cls = r / 2 - 2;
        if (r % 2 == 0 && cls >= 0 && cls < p->classes && p->answer != DG_ANSWER_EMPTY &&
            p->answer != DG_ANSWER_NO_DIGIT) {
            int bar = (int)(p->probs[cls] * 30.0f + 0.5f);
            printf("   %-3.3s %5.3f ", meta->labels[cls], (double)p->probs[cls]);
            for (int i = 0; i < bar; i++) {
                putchar('#');
            }
        }
        putchar('\n');
    }
}

static void save_preprocessed(predict_run *run, const char *path, const uint8_t *d)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char name[1024];
    const char *dot = strrchr(base, '.');
    int len = dot ? (int)(dot - base) : (int)strlen(base);
    snprintf(name, sizeof name, "%s/%.*s.png", run->opt.save_dir, len, base);
    dg_image *img = NULL;
    if (dg_image_new(28, 28, 1, &img) == DG_OK) {
        memcpy(img->pixels, d, DG_MNIST_PIXELS);
        if (dg_image_save_png(name, img) != DG_OK) {
            cli_error("predict", "%s", dg_last_error());
            run->n_failed++;
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

static void predict_one(predict_run *run, const char *path)
{
    run->n_images++;
    dg_image *img = NULL;
    if (dg_image_load(path, &img) != DG_OK) {
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
    bool sure = p.answer == DG_ANSWER_DIGIT;
    bool found = p.answer == DG_ANSWER_DIGIT || p.answer == DG_ANSWER_UNSURE;
    if (run->opt.csv) {
        cli_print_csv_field(path);
        printf(",%s,", sure ? run->meta.labels[p.digit] : "");
        if (found) {
            printf("%.4f", (double)p.confidence);
        }
        printf(",%s\n", dg_answer_name(p.answer));
    } else {
        printf("%s: %s", path, sure ? run->meta.labels[p.digit] : "?");
        if (found) {
            printf("  (confidence %.3f; top 3: %s %.3f, %s %.3f, %s %.3f)", (double)p.confidence,
                   run->meta.labels[p.top[0]], (double)p.top_p[0], run->meta.labels[p.top[1]],
                   (double)p.top_p[1], run->meta.labels[p.top[2]], (double)p.top_p[2]);
        }
        if (p.answer == DG_ANSWER_UNSURE) {
            printf("  unsure: best guess %s", run->meta.labels[p.digit]);
        } else if (!found) {
            printf("  %s", p.answer == DG_ANSWER_EMPTY ? "empty: no ink found"
                                                       : "no digit: only lines, frames or noise");
        }
        putchar('\n');
        if (run->opt.show) {
            show_digit(digit, &p, &run->meta);
        }
    }
    if (run->opt.save_dir) {
        save_preprocessed(run, path, digit);
    }
    if (run->opt.plot && dg_plot_probabilities(img, digit, found ? p.probs : NULL, p.classes,
                                               run->opt.plot) != DG_OK) {
        cli_error("predict", "%s", dg_last_error());
        run->n_failed++;
    }
    if (run->opt.explain && explain(run, digit, &p) != DG_OK) {
        cli_error("predict", "%s", dg_last_error());
        run->n_failed++;
    }
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
    if (run.opt.save_dir && mkdir(run.opt.save_dir, 0777) != 0 && errno != EEXIST) {
        return cli_error("predict", "cannot create %s: %s", run.opt.save_dir, strerror(errno));
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
    if (run.n_images == 0) {
        return cli_error("predict", "no images found in the given paths");
    }
    return run.n_failed ? DG_EXIT_FAIL : DG_EXIT_OK;
}
