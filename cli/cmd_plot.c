/*
 * cmd_plot.c - `digits plot`: pictures instead of numbers. `history` draws the training
 * curves from a history CSV, `predictions` a grid of test images with what the model said
 * (random ones, or only its mistakes, worst first), `confusion` the confusion heat-map,
 * `filters` the first convolution's kernels, `activations` the feature maps of one image.
 * An output name ending in .svg gives SVG, .png PNG; others are refused. Also the test-set run that
 * `report` shares.
 */
#include "cli.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: digits plot history [CSV] [--model MODEL] [-o OUT]\n"
    "       digits plot predictions [--model MODEL] [--data DIR] [--n N] [--cols N]\n"
    "                               [--errors] [--seed N] [-o OUT]\n"
    "       digits plot confusion [--model MODEL] [--data DIR] [-o OUT]\n"
    "       digits plot filters [--model MODEL] [-o OUT]\n"
    "       digits plot activations IMAGE [--model MODEL] [-o OUT]\n"
    "\n"
    "Draws a picture into OUT, PNG or SVG after its extension (.png or .svg; any other is\n"
    "refused), and says where it went.\n"
    "\n"
    "  history       loss and accuracy per epoch from the history CSV that `digits train`\n"
    "                writes beside the model (default: MODEL's, model/digits.history.csv);\n"
    "                default OUT curves.png\n"
    "  predictions   test images with the true and predicted class and the confidence,\n"
    "                mistakes framed in red; default OUT predictions.png\n"
    "  confusion     the confusion matrix as a heat-map, with recall and precision per\n"
    "                class; default OUT confusion.png\n"
    "  filters       the first convolution's kernels; default OUT filters.png\n"
    "  activations   the feature maps of every convolution for one image (preprocessed as\n"
    "                by predict); default OUT activations.png\n"
    "\n"
    "  -m, --model MODEL  model file (default model/digits.model)\n"
    "  --data DIR      MNIST-format IDX files, the test split is used (default data/mnist)\n"
    "  --n N           images in the grid (default 36)\n"
    "  --cols N        grid columns (default: a square grid, at most 10)\n"
    "  --errors        only misclassified images, the most confident wrong answers first\n"
    "  --seed N        which random test images (default 1)\n"
    "  --threads N     worker threads for the evaluation, 1 to 64 (default: all cores)\n"
    "  -o OUT          output file\n";

/* ---------------------------------------------------------------- the shared test run */

int cli_test_run_load(const char *cmd, dg_net *net, const dg_model_meta *meta, const char *dir,
                      cli_test_run *run)
{
    memset(run, 0, sizeof *run);
    if (dg_dataset_load(dir, DG_SPLIT_TEST, &run->ds) != DG_OK) {
        return cli_error(cmd, "%s", dg_last_error());
    }
    uint32_t n = run->ds->n;
    run->predicted = malloc(n ? n : 1);
    run->confidence = malloc((n ? n : 1) * sizeof *run->confidence);
    if (!run->predicted || !run->confidence) {
        cli_test_run_free(run);
        return cli_error(cmd, "out of memory for %u predictions", n);
    }
    if (dg_evaluate(net, run->ds, &meta->norm, 0, n, &run->ev, run->predicted, run->confidence) !=
        DG_OK) {
        cli_error(cmd, "%s", dg_last_error());
        cli_test_run_free(run);
        return DG_EXIT_FAIL;
    }
    return DG_EXIT_OK;
}

void cli_test_run_free(cli_test_run *run)
{
    dg_dataset_free(run->ds);
    free(run->predicted);
    free(run->confidence);
    memset(run, 0, sizeof *run);
}

typedef struct ranked {
    uint32_t idx;
    float confidence;
} ranked;

static int by_confidence_desc(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->confidence != y->confidence) {
        return x->confidence > y->confidence ? -1 : 1;
    }
    return x->idx < y->idx ? -1 : (x->idx > y->idx); /* ties: stable, in test-set order */
}

uint32_t cli_test_run_mistakes(const cli_test_run *run, uint32_t *idx)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < run->ds->n; i++) {
        n += run->predicted[i] != run->ds->labels[i];
    }
    ranked *r = malloc((n ? n : 1) * sizeof *r);
    if (!r) {
        /* unsorted is still correct, only less useful */
        uint32_t k = 0;
        for (uint32_t i = 0; i < run->ds->n; i++) {
            if (run->predicted[i] != run->ds->labels[i]) {
                idx[k++] = i;
            }
        }
        return k;
    }
    uint32_t k = 0;
    for (uint32_t i = 0; i < run->ds->n; i++) {
        if (run->predicted[i] != run->ds->labels[i]) {
            float c = run->confidence[i];
            r[k++] = (ranked){i, isnan(c) ? 0.0f : c};
        }
    }
    qsort(r, k, sizeof *r, by_confidence_desc);
    for (uint32_t i = 0; i < k; i++) {
        idx[i] = r[i].idx;
    }
    free(r);
    return k;
}

/* ---------------------------------------------------------------- options */

typedef struct plot_opts {
    const char *model, *data, *out;
    long n, cols, seed, threads;
    int errors;
    const char *args[2]; /* positional arguments */
    int n_args;
} plot_opts;

/* Parses the options of one subcommand; returns -1 to go on, or an exit status. */
static int parse(const char *cmd, int argc, char **argv, plot_opts *o)
{
    static const struct option longs[] = {
        {"model", required_argument, 0, 'm'},   {"data", required_argument, 0, 'd'},
        {"n", required_argument, 0, 'n'},       {"cols", required_argument, 0, 'c'},
        {"errors", no_argument, 0, 'e'},        {"seed", required_argument, 0, 's'},
        {"threads", required_argument, 0, 't'}, {"output", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0},
    };
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":ho:m:", longs, NULL)) != -1) {
        bool ok = true;
        switch (c) {
        case 'm':
            o->model = optarg;
            break;
        case 'd':
            o->data = optarg;
            break;
        case 'o':
            ok = cli_picture_path(cmd, "-o", optarg);
            o->out = optarg;
            break;
        case 'e':
            o->errors = 1;
            break;
        case 'n':
            ok = cli_int_option(cmd, "--n", optarg, 1, 1000, &o->n);
            break;
        case 'c':
            ok = cli_int_option(cmd, "--cols", optarg, 1, 100, &o->cols);
            break;
        case 's':
            ok = cli_int_option(cmd, "--seed", optarg, 0, CLI_MAX_SEED, &o->seed);
            break;
        case 't':
            ok = cli_int_option(cmd, "--threads", optarg, 1, CLI_MAX_THREADS, &o->threads);
            break;
        default:
            return cli_other_option(cmd, usage, c, argv);
        }
        if (!ok) {
            return DG_EXIT_USAGE;
        }
    }
    for (; optind < argc; optind++) {
        if (o->n_args == 2) {
            return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
        }
        o->args[o->n_args++] = argv[optind];
    }
    return -1;
}

/* ---------------------------------------------------------------- subcommands */

static int plot_history(plot_opts *o)
{
    const char *cmd = "plot history";
    if (o->n_args > 1) {
        return cli_usage_error(cmd, "unexpected argument '%s'", o->args[1]);
    }
    /* without a CSV, the history `digits train` wrote beside the model */
    char csv[4096];
    if (o->n_args == 1) {
        snprintf(csv, sizeof csv, "%s", o->args[0]);
    } else {
        cli_history_path(o->model, csv, sizeof csv);
    }
    const char *out = o->out ? o->out : "curves.png";
    dg_history_row *rows = NULL;
    int n = 0;
    dg_status st = dg_history_load(csv, &rows, &n);
    if (st == DG_ERR_NOT_FOUND && o->n_args == 0) {
        return cli_error(cmd, "no training history at %s (digits train writes it beside the model)",
                         csv);
    }
    if (st != DG_OK || dg_plot_history(rows, n, out) != DG_OK) {
        free(rows);
        return cli_error(cmd, "%s", dg_last_error());
    }
    free(rows);
    cli_wrote(false, "%s (%d epoch%s from %s)", out, n, n == 1 ? "" : "s", csv);
    return DG_EXIT_OK;
}

/* Loads the model and runs it over the test set. */
static int evaluate(const char *cmd, plot_opts *o, dg_model_meta *meta, cli_test_run *run)
{
    if (o->n_args != 0) {
        return cli_usage_error(cmd, "unexpected argument '%s'", o->args[0]);
    }
    dg_net *net = cli_load_model(cmd, o->model, meta);
    if (!net) {
        return DG_EXIT_FAIL;
    }
    int rc = DG_EXIT_FAIL;
    if (dg_net_set_threads(net, (int)o->threads) != DG_OK) {
        cli_error(cmd, "%s", dg_last_error());
    } else {
        rc = cli_test_run_load(cmd, net, meta, o->data, run);
    }
    dg_net_free(net);
    return rc;
}

static int plot_predictions(plot_opts *o)
{
    const char *cmd = "plot predictions";
    const char *out = o->out ? o->out : "predictions.png";
    dg_model_meta meta;
    cli_test_run run;
    int rc = evaluate(cmd, o, &meta, &run);
    if (rc != DG_EXIT_OK) {
        return rc;
    }
    const dg_dataset *ds = run.ds;
    uint32_t *idx = malloc((ds->n ? ds->n : 1) * sizeof *idx);
    uint8_t *images = malloc((size_t)o->n * DG_MNIST_PIXELS);
    uint8_t *labels = malloc((size_t)o->n), *pred = malloc((size_t)o->n);
    float *conf = malloc((size_t)o->n * sizeof *conf);
    rc = DG_EXIT_FAIL;
    uint32_t count = 0;
    if (!idx || !images || !labels || !pred || !conf) {
        cli_error(cmd, "out of memory");
    } else if (ds->w != 28 || ds->h != 28) {
        cli_error(cmd, "%s: the images are %ux%u, the grid shows 28x28 only", o->data, ds->w,
                  ds->h);
    } else if (o->errors && (count = cli_test_run_mistakes(&run, idx)) == 0) {
        printf("no mistakes on the %u test images: nothing to draw\n", ds->n);
        rc = DG_EXIT_OK;
    } else {
        if (!o->errors) {
            /* a seeded shuffle: the same seed shows the same images */
            dg_rng rng;
            dg_rng_seed(&rng, (uint64_t)o->seed);
            for (uint32_t i = 0; i < ds->n; i++) {
                idx[i] = i;
            }
            dg_rng_shuffle(&rng, idx, ds->n);
            count = ds->n;
        }
        int n = count < (uint32_t)o->n ? (int)count : (int)o->n;
        for (int i = 0; i < n; i++) {
            memcpy(images + (size_t)i * DG_MNIST_PIXELS,
                   ds->images + (size_t)idx[i] * DG_MNIST_PIXELS, DG_MNIST_PIXELS);
            labels[i] = ds->labels[idx[i]];
            pred[i] = run.predicted[idx[i]];
            conf[i] = run.confidence[idx[i]];
        }
        int cols = o->cols ? (int)o->cols : (int)ceil(sqrt((double)n));
        cols = cols > 10 && !o->cols ? 10 : cols;
        if (dg_plot_predictions(images, labels, pred, conf, n, o->errors ? (int)count : (int)ds->n,
                                cols, out) != DG_OK) {
            cli_error(cmd, "%s", dg_last_error());
        } else {
            int wrong = 0;
            for (int i = 0; i < n; i++) {
                wrong += labels[i] != pred[i];
            }
            char all[32], total[32];
            dg_format_count(ds->n, all);
            if (o->errors) {
                cli_wrote(false, "%s (%d of %s mistakes on %s test images)", out, n,
                          dg_format_count(count, total), all);
            } else {
                cli_wrote(false, "%s (%d of %s test images, %d wrong)", out, n, all, wrong);
            }
            rc = DG_EXIT_OK;
        }
    }
    free(idx);
    free(images);
    free(labels);
    free(pred);
    free(conf);
    cli_test_run_free(&run);
    return rc;
}

static int plot_confusion(plot_opts *o)
{
    const char *cmd = "plot confusion";
    const char *out = o->out ? o->out : "confusion.png";
    dg_model_meta meta;
    cli_test_run run;
    int rc = evaluate(cmd, o, &meta, &run);
    if (rc != DG_EXIT_OK) {
        return rc;
    }
    if (dg_plot_confusion(&run.ev, (const char(*)[32])meta.labels, out) != DG_OK) {
        rc = cli_error(cmd, "%s", dg_last_error());
    } else {
        char all[32], pct[16];
        cli_wrote(false, "%s (%s test images, accuracy %s)", out, dg_format_count(run.ev.n, all),
                  dg_format_accuracy(run.ev.accuracy, pct));
    }
    cli_test_run_free(&run);
    return rc;
}

static int plot_filters(plot_opts *o)
{
    const char *cmd = "plot filters";
    if (o->n_args != 0) {
        return cli_usage_error(cmd, "unexpected argument '%s'", o->args[0]);
    }
    const char *out = o->out ? o->out : "filters.png";
    dg_model_meta meta;
    dg_net *net = cli_load_model(cmd, o->model, &meta);
    if (!net) {
        return DG_EXIT_FAIL;
    }
    int rc = DG_EXIT_OK;
    if (dg_plot_filters(net, out) != DG_OK) {
        rc = cli_error(cmd, "%s", dg_last_error());
    } else {
        cli_wrote(false, "%s (the first convolution's kernels of %s)", out, o->model);
    }
    dg_net_free(net);
    return rc;
}

static int plot_activations(plot_opts *o)
{
    const char *cmd = "plot activations";
    if (o->n_args != 1) {
        return cli_usage_error(cmd, "%s", o->n_args ? "one image, please" : "which image?");
    }
    const char *out = o->out ? o->out : "activations.png";
    dg_model_meta meta;
    dg_net *net = cli_load_model(cmd, o->model, &meta);
    if (!net) {
        return DG_EXIT_FAIL;
    }
    dg_image *img = NULL;
    uint8_t digit[DG_MNIST_PIXELS];
    dg_prediction p;
    int rc = DG_EXIT_FAIL;
    if (dg_net_set_threads(net, (int)o->threads) != DG_OK ||
        dg_image_load(o->args[0], &img) != DG_OK ||
        dg_predict_image(net, &meta.norm, img, DG_MIN_CONFIDENCE, &p, digit, NULL) != DG_OK ||
        dg_plot_activations(net, digit, out) != DG_OK) {
        cli_error(cmd, "%s", dg_last_error());
    } else {
        cli_wrote(false, "%s (feature maps of every convolution for %s)", out, o->args[0]);
        rc = DG_EXIT_OK;
    }
    dg_image_free(img);
    dg_net_free(net);
    return rc;
}

typedef struct subcommand {
    const char *name;
    int (*run)(plot_opts *o);
} subcommand;

static const subcommand subcommands[] = {
    {"history", plot_history}, {"predictions", plot_predictions}, {"confusion", plot_confusion},
    {"filters", plot_filters}, {"activations", plot_activations},
};

int cmd_plot(int argc, char **argv)
{
    if (argc < 2) {
        return cli_usage_error("plot", "what to plot? history, predictions, confusion, filters or "
                                       "activations");
    }
    const char *what = argv[1];
    if (!strcmp(what, "--help") || !strcmp(what, "-h") || !strcmp(what, "help")) {
        fputs(usage, stdout);
        return DG_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++) {
        if (!strcmp(what, subcommands[i].name)) {
            char cmd[32];
            snprintf(cmd, sizeof cmd, "plot %s", what);
            plot_opts o = {DG_DEFAULT_MODEL, DG_DEFAULT_DATA, NULL, 36, 0, 1, 0, 0, {0}, 0};
            int rc = parse(cmd, argc - 1, argv + 1, &o);
            return rc >= 0 ? rc : subcommands[i].run(&o);
        }
    }
    return cli_usage_error(
        "plot", "unknown plot '%s': history, predictions, confusion, filters or activations", what);
}
