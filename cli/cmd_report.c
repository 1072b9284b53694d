/*
 * cmd_report.c - `digits report`: gathers what there is to know about a model (its
 * layers, training history, test results, worst mistakes, and what it makes of the
 * pictures in a samples folder) and has dg_report_write() lay it out as one offline HTML
 * page with its pictures beside it.
 *
 * Parts that were not asked for explicitly are optional: a missing default history CSV,
 * test set or samples folder leaves that part out with a note; a missing file that was
 * named on the command line is an error.
 */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CMD         "report"
#define MAX_SAMPLES 200

static const char usage[] =
    "usage: digits report [MODEL | --model MODEL] [--data DIR] [--history CSV]\n"
    "                     [--samples DIR] [--mistakes N] [--threads N] [-o DIR]\n"
    "\n"
    "Writes DIR/index.html (default report/index.html): one self-contained page, every\n"
    "picture inside it (charts as SVG, images as PNG data URIs), that opens offline on any\n"
    "screen, with the model's layers, training curves, test accuracy, confusion heat-map,\n"
    "precision and recall per class, the worst mistakes, and the answers for the images\n"
    "in the samples folder. A part that cannot be made is left out with a note on the page.\n"
    "\n"
    "  MODEL, -m, --model MODEL   model file (default model/digits.model)\n"
    "  --data DIR      MNIST-format IDX files, the test split is used (default data/mnist\n"
    "                  here, else beside the model's folder)\n"
    "  --history CSV   training history (default: MODEL with .model replaced by\n"
    "                  .history.csv)\n"
    "  --samples DIR   pictures to recognise: PNG, JPEG, PGM/PPM or BMP (default\n"
    "                  samples/digits here, else beside the model's folder)\n"
    "  --mistakes N    how many of the worst mistakes to show (default 24, 0 for none)\n"
    "  --threads N     worker threads, 1 to 64 (default: all cores)\n"
    "  -o DIR          output folder (default report)\n";

typedef struct sample {
    char name[256];
    dg_image *img;
    uint8_t mnist[DG_MNIST_PIXELS];
    dg_prediction pred;
    int recognised;       /* pred holds the answer */
    dg_segmentation *seg; /* several digits: read's boxes, else NULL */
    dg_prediction digits[DG_SEGMENT_MAX_DIGITS];
    const char *note; /* what to say besides, or NULL */
} sample;

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const sample *)a)->name, ((const sample *)b)->name);
}

/* Lists the regular files of dir (not hidden ones) into *out, sorted by name, at most
 * MAX_SAMPLES; returns the count or -1 after printing an error. */
static int list_samples(const char *dir, sample **out)
{
    *out = NULL;
    DIR *d = opendir(dir);
    if (!d) {
        cli_error(CMD, "%s: cannot open folder: %s", dir, strerror(errno));
        return -1;
    }
    sample *s = calloc(MAX_SAMPLES, sizeof *s);
    if (!s) {
        closedir(d);
        cli_error(CMD, "out of memory");
        return -1;
    }
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strlen(e->d_name) >= sizeof s[0].name) {
            continue;
        }
        char path[4096 + 256 + 2];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            continue;
        }
        if (n == MAX_SAMPLES) {
            fprintf(stderr, "digits: %s: more than %d files in %s, showing the first %d\n", CMD,
                    MAX_SAMPLES, dir, MAX_SAMPLES);
            break;
        }
        snprintf(s[n++].name, sizeof s[0].name, "%s", e->d_name);
    }
    closedir(d);
    qsort(s, (size_t)n, sizeof *s, by_name);
    *out = s;
    return n;
}

/* Loads, preprocesses and recognises the pictures of dir. Files that are not pictures are
 * skipped with a note. Returns the number kept in *out, or -1 after an error. */
static int recognise_samples(const char *dir, dg_net *net, const dg_model_meta *meta, sample **out)
{
    sample *s = NULL;
    int listed = list_samples(dir, &s);
    if (listed < 0) {
        return -1;
    }
    dg_shape in = dg_net_input_shape(net);
    int classes = dg_net_classes(net);
    if (in.c != 1 || in.h != DG_MNIST_SIDE || in.w != DG_MNIST_SIDE || classes < 1 ||
        classes > DG_MAX_CLASSES) {
        fprintf(stderr, "digits: %s: the model does not take 28x28 digits: samples skipped\n", CMD);
        free(s);
        *out = NULL;
        return 0;
    }
    int kept = 0;
    for (int i = 0; i < listed; i++) {
        char path[4096 + 256 + 2];
        snprintf(path, sizeof path, "%s/%s", dir, s[i].name);
        dg_image *img = NULL;
        if (dg_image_load(path, &img) != DG_OK) {
            fprintf(stderr, "digits: %s: skipping %s: %s\n", CMD, path, dg_last_error());
            continue;
        }
        sample *t = &s[kept];
        if (t != &s[i]) {
            memcpy(t->name, s[i].name, sizeof t->name);
        }
        t->img = img;
        t->recognised = 0;
        t->seg = NULL;
        t->note = "could not be recognised";
        kept++;
        /* the same answers as `digits predict`: empty, no digit, unsure, a digit, or a
         * number of several digits, drawn as `digits read` draws it */
        if (dg_predict_image(net, &meta->norm, img, DG_MIN_CONFIDENCE, &t->pred, t->mnist, NULL) !=
            DG_OK) {
            fprintf(stderr, "digits: %s: %s: %s\n", CMD, path, dg_last_error());
            continue;
        }
        t->note = NULL;
        t->recognised = 1;
        t->seg = cli_number_check(net, meta, DG_MIN_CONFIDENCE, img, &t->pred, t->digits);
    }
    *out = s;
    return kept;
}

/* The worst mistakes of a test run, copied out for the report. */
typedef struct mistakes {
    uint8_t *images, *labels, *predicted;
    float *confidence;
    int n;
} mistakes;

static int collect_mistakes(const cli_test_run *run, int want, mistakes *m, int *total)
{
    memset(m, 0, sizeof *m);
    const dg_dataset *ds = run->ds;
    if (want <= 0 || ds->w != 28 || ds->h != 28) {
        return DG_EXIT_OK;
    }
    uint32_t *idx = malloc((ds->n ? ds->n : 1) * sizeof *idx);
    m->images = malloc((size_t)want * DG_MNIST_PIXELS);
    m->labels = malloc((size_t)want);
    m->predicted = malloc((size_t)want);
    m->confidence = malloc((size_t)want * sizeof *m->confidence);
    if (!idx || !m->images || !m->labels || !m->predicted || !m->confidence) {
        free(idx);
        return cli_error(CMD, "out of memory");
    }
    uint32_t count = cli_test_run_mistakes(run, idx);
    *total = (int)count;
    m->n = count < (uint32_t)want ? (int)count : want;
    for (int i = 0; i < m->n; i++) {
        memcpy(m->images + (size_t)i * DG_MNIST_PIXELS,
               ds->images + (size_t)idx[i] * DG_MNIST_PIXELS, DG_MNIST_PIXELS);
        m->labels[i] = ds->labels[idx[i]];
        m->predicted[i] = run->predicted[idx[i]];
        m->confidence[i] = run->confidence[idx[i]];
    }
    free(idx);
    return DG_EXIT_OK;
}

static void free_mistakes(mistakes *m)
{
    free(m->images);
    free(m->labels);
    free(m->predicted);
    free(m->confidence);
}

/* A folder the report looks for when none was named (samples/digits, data/mnist): here,
 * else beside the model's folder (model/digits.model -> model/../samples/digits), so that
 * a report made from another folder still finds it. Returns false when neither exists. */
static bool find_folder(const char *model, const char *rel, char *out, size_t size)
{
    snprintf(out, size, "%s", rel);
    if (is_dir(out)) {
        return true;
    }
    const char *slash = strrchr(model, '/');
    if (slash) {
        snprintf(out, size, "%.*s/../%s", (int)(slash - model), model, rel);
    } else {
        snprintf(out, size, "../%s", rel);
    }
    return is_dir(out);
}

/* Notes for the top of the page: what was left out and why. */
typedef struct notes {
    char text[4][4400];
    const char *ptr[4];
    int n;
} notes;

static void note(notes *nt, const char *fmt, const char *path)
{
    if (nt->n < 4) {
        snprintf(nt->text[nt->n], sizeof nt->text[0], fmt, path);
        fprintf(stderr, "digits: %s: %s\n", CMD, nt->text[nt->n]);
        nt->ptr[nt->n] = nt->text[nt->n];
        nt->n++;
    }
}

int cmd_report(int argc, char **argv)
{
    static const struct option longs[] = {
        {"model", required_argument, 0, 'm'},
        {"data", required_argument, 0, 'd'},
        {"history", required_argument, 0, 'H'},
        {"samples", required_argument, 0, 's'},
        {"mistakes", required_argument, 0, 'k'},
        {"threads", required_argument, 0, 't'},
        {"output", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *model = NULL, *data = NULL, *history = NULL, *samples = NULL;
    const char *out = "report";
    long n_mistakes = 24, threads = 0; /* all cores */
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":ho:m:", longs, NULL)) != -1) {
        bool ok = true;
        switch (c) {
        case 'm':
            model = optarg;
            break;
        case 'd':
            data = optarg;
            break;
        case 'H':
            history = optarg;
            break;
        case 's':
            samples = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'k':
            ok = cli_int_option(CMD, "--mistakes", optarg, 0, 1000, &n_mistakes);
            break;
        case 't':
            ok = cli_int_option(CMD, "--threads", optarg, 1, CLI_MAX_THREADS, &threads);
            break;
        default:
            return cli_other_option(CMD, usage, c, argv);
        }
        if (!ok) {
            return DG_EXIT_USAGE;
        }
    }
    model = cli_one_model(CMD, model, argc, argv);
    if (!model) {
        return DG_EXIT_USAGE;
    }

    dg_model_meta meta;
    dg_net *net = cli_load_model(CMD, model, &meta);
    if (!net) {
        return DG_EXIT_FAIL;
    }
    int rc = DG_EXIT_FAIL;
    cli_test_run run = {0};
    int have_run = 0, total_mistakes = 0;
    mistakes m = {0};
    dg_history_row *rows = NULL;
    int n_rows = 0;
    sample *s = NULL;
    int n_samples = 0;
    dg_report_sample *rs = NULL;
    notes nt = {0};

    if (dg_net_set_threads(net, (int)threads) != DG_OK) {
        cli_error(CMD, "%s", dg_last_error());
        goto done;
    }
    /* training history */
    char history_path[4096];
    if (history) {
        snprintf(history_path, sizeof history_path, "%s", history);
    } else {
        cli_history_path(model, history_path, sizeof history_path);
    }
    dg_status st = dg_history_load(history_path, &rows, &n_rows);
    if (st == DG_ERR_NOT_FOUND && !history) {
        note(&nt, "No training history at %s: the curves are left out.", history_path);
    } else if (st != DG_OK) {
        cli_error(CMD, "%s", dg_last_error());
        goto done;
    }
    /* test results */
    char data_dir[4096];
    if (data) {
        snprintf(data_dir, sizeof data_dir, "%s", data);
    }
    if (data || find_folder(model, DG_DEFAULT_DATA, data_dir, sizeof data_dir)) {
        if (cli_test_run_load(CMD, net, &meta, data_dir, &run) != DG_EXIT_OK) {
            goto done;
        }
        have_run = 1;
        if (collect_mistakes(&run, (int)n_mistakes, &m, &total_mistakes) != DG_EXIT_OK) {
            goto done;
        }
    } else {
        note(&nt,
             "No test data (looked for data/mnist here and beside %s): test results and "
             "mistakes are left out (--data DIR).",
             model);
    }
    /* samples */
    char samples_dir[4096];
    bool have_samples = true;
    if (samples) {
        snprintf(samples_dir, sizeof samples_dir, "%s", samples);
    } else if (!find_folder(model, "samples/digits", samples_dir, sizeof samples_dir)) {
        have_samples = false;
        note(&nt,
             "No samples folder (looked for samples/digits here and beside %s): \"Your "
             "images\" is left out (--samples DIR).",
             model);
    }
    if (have_samples) {
        n_samples = recognise_samples(samples_dir, net, &meta, &s);
        if (n_samples < 0) {
            goto done;
        }
        rs = calloc((size_t)(n_samples ? n_samples : 1), sizeof *rs);
        if (!rs) {
            cli_error(CMD, "out of memory");
            goto done;
        }
        for (int i = 0; i < n_samples; i++) {
            rs[i].name = s[i].name;
            rs[i].original = s[i].img;
            rs[i].mnist = s[i].recognised ? s[i].mnist : NULL;
            rs[i].pred = s[i].recognised ? &s[i].pred : NULL;
            rs[i].seg = s[i].seg;
            rs[i].digits = s[i].digits;
            rs[i].note = s[i].note;
        }
    }

    dg_report r = {0};
    r.model_path = model;
    r.net = net;
    r.meta = &meta;
    r.history = rows;
    r.n_history = n_rows;
    r.eval = have_run ? &run.ev : NULL;
    r.mistake_images = m.images;
    r.mistake_labels = m.labels;
    r.mistake_predicted = m.predicted;
    r.mistake_confidence = m.confidence;
    r.n_mistakes = m.n;
    r.n_mistakes_total = total_mistakes;
    r.samples = rs;
    r.n_samples = n_samples;
    r.classes = dg_net_classes(net);
    r.notes = nt.ptr;
    r.n_notes = nt.n;
    /* feature maps of the first sample with a digit: the net's last forward must be it */
    for (int i = 0; i < n_samples; i++) {
        dg_prediction again;
        if (s[i].recognised && !s[i].seg &&
            (s[i].pred.answer == DG_ANSWER_DIGIT || s[i].pred.answer == DG_ANSWER_UNSURE) &&
            dg_predict_mnist(net, &meta.norm, s[i].mnist, DG_MIN_CONFIDENCE, &again) == DG_OK) {
            r.activations_mnist = s[i].mnist;
            r.activations_name = s[i].name;
            break;
        }
    }
    if (dg_report_write(out, &r) != DG_OK) {
        cli_error(CMD, "%s", dg_last_error());
        goto done;
    }
    char pct[16], shown[32], all[32];
    if (have_run) {
        cli_wrote(false,
                  "%s/index.html (test accuracy %s, %s of %s mistakes shown, %d sample "
                  "images from %s)",
                  out, dg_format_accuracy(run.ev.accuracy, pct), dg_format_count(m.n, shown),
                  dg_format_count(total_mistakes, all), n_samples,
                  have_samples ? samples_dir : "nowhere");
    } else {
        cli_wrote(false, "%s/index.html (%d sample images from %s)", out, n_samples,
                  have_samples ? samples_dir : "nowhere");
    }
    rc = DG_EXIT_OK;
done:
    for (int i = 0; i < n_samples; i++) {
        dg_image_free(s[i].img);
        dg_segmentation_free(s[i].seg);
    }
    free(s);
    free(rs);
    free(rows);
    free_mistakes(&m);
    if (have_run) {
        cli_test_run_free(&run);
    }
    dg_net_free(net);
    return rc;
}
