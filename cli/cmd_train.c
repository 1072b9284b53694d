/*
 * cmd_train.c - `digits train`: builds a network from a preset or spec, trains it on
 * MNIST-format data with Keras-style progress, evaluates it on the test set, writes the
 * history CSV and saves the model atomically.
 */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A printf format: the presets and their settings fill the %s (print_usage). */
static const char usage[] =
    "usage: digits train [--preset NAME | --spec \"...\"] [--epochs N] [--batch N] [--lr X]\n"
    "                    [--seed N] [--threads N] [--data DIR] [-o MODEL]\n"
    "\n"
    "Trains a network on DIR/train-* and evaluates it on DIR/t10k-*.\n"
    "\n"
    "  --preset NAME      layers and training settings (default %s):\n"
    "%s"
    "  --spec \"...\"       layers, e.g. \"conv 32 3 relu, maxpool 2, flatten, dense 10\";\n"
    "                     with --preset, that preset's training settings on these layers\n"
    "  --epochs N         passes over the training data (%s)\n"
    "  --batch N          examples per step (%s)\n"
    "  --lr X             learning rate (%s; %g with --optimizer sgd)\n"
    "  --optimizer NAME   adam (default) or sgd (momentum 0.9)\n"
    "  --schedule NAME    cosine (to lr/100), constant or onecycle (%s)\n"
    "  --val-split X      fraction held out for validation (%s)\n"
    "  --seed N           random seed for weights, shuffling and dropout (default 1)\n"
    "  --threads N        worker threads, 1 to 64 (default: all cores)\n"
    "  --data DIR         MNIST-format IDX files (default data/mnist)\n"
    "  -o, --output MODEL where to save the model (default model/digits.model);\n"
    "  -m, --model MODEL  the same\n"
    "  --history CSV      per-epoch history (default: MODEL with .history.csv)\n"
    "  --limit N          train on the first N training images only\n"
    "  --labels A,B,...   class names stored in the model (default 0,1,...,9), e.g. for\n"
    "                     Fashion-MNIST: --labels T-shirt,Trouser,Pullover,...\n"
    "  --no-test          skip the test-set evaluation at the end\n"
    "  -q, --quiet        no progress output\n";

/* ---------------------------------------------------------------- presets in the usage */

typedef void (*setting_fn)(const dg_train_config *cfg, char *buf, size_t size);

static void epochs_value(const dg_train_config *cfg, char *buf, size_t size)
{
    snprintf(buf, size, "%d", cfg->epochs);
}

static void batch_value(const dg_train_config *cfg, char *buf, size_t size)
{
    snprintf(buf, size, "%d", cfg->batch);
}

static void lr_value(const dg_train_config *cfg, char *buf, size_t size)
{
    snprintf(buf, size, "%g", (double)cfg->optim.lr);
}

static void schedule_value(const dg_train_config *cfg, char *buf, size_t size)
{
    snprintf(buf, size, "%s",
             cfg->schedule == DG_SCHEDULE_ONECYCLE ? "onecycle"
             : cfg->schedule == DG_SCHEDULE_COSINE ? "cosine"
                                                   : "constant");
}

static void val_split_value(const dg_train_config *cfg, char *buf, size_t size)
{
    snprintf(buf, size, "%g", cfg->val_split);
}

/* "default 5; mlp 3; fast 1": the default preset's value of a setting, then those of
 * the presets that differ. */
static void preset_values(setting_fn value, char *out, size_t size)
{
    const char *const *names = dg_preset_names();
    dg_train_config cfg;
    char first[32], other[32];
    dg_preset_train_config(names[0], &cfg);
    value(&cfg, first, sizeof first);
    size_t used = (size_t)snprintf(out, size, "default %s", first);
    for (int i = 1; names[i] && used < size; i++) {
        dg_preset_train_config(names[i], &cfg);
        value(&cfg, other, sizeof other);
        if (strcmp(other, first)) {
            used += (size_t)snprintf(out + used, size - used, "; %s %s", names[i], other);
        }
    }
}

/* One line per preset: its name and what it is. */
static void preset_lines(char *out, size_t size)
{
    const char *const *names = dg_preset_names();
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; names[i] && used < size; i++) {
        used += (size_t)snprintf(out + used, size - used, "%21s%-18s%s\n", "", names[i],
                                 dg_preset_description(names[i]));
    }
}

static void print_usage(void)
{
    char presets[1024], epochs[128], batch[128], lr[128], schedule[128], val_split[128];
    preset_lines(presets, sizeof presets);
    preset_values(epochs_value, epochs, sizeof epochs);
    preset_values(batch_value, batch, sizeof batch);
    preset_values(lr_value, lr, sizeof lr);
    preset_values(schedule_value, schedule, sizeof schedule);
    preset_values(val_split_value, val_split, sizeof val_split);
    printf(usage, dg_preset_names()[0], presets, epochs, batch, lr,
           (double)dg_optim_defaults(DG_OPTIM_SGD).lr, schedule, val_split);
}

typedef struct progress {
    bool tty, quiet;
    int epochs;
    double last_draw;
    double last_val_accuracy;
    FILE *history;
} progress;

static double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void draw_bar(int step, int steps, double seconds, double loss, double acc, bool done)
{
    const int width = 30;
    int filled = (int)((long)width * step / steps);
    char bar[64];
    for (int i = 0; i < width; i++) {
        bar[i] = i < filled ? '=' : '.';
    }
    if (!done && filled < width) {
        bar[filled] = '>';
    }
    bar[width] = '\0';
    double per_step = step ? seconds / step : 0.0;
    if (done) {
        fprintf(stderr, "\r%d/%d [%s] - %.0fs %.0fms/step - loss: %.4f - accuracy: %.4f", step,
                steps, bar, seconds, per_step * 1e3, loss, acc);
    } else {
        fprintf(stderr, "\r%d/%d [%s] - ETA: %.0fs - loss: %.4f - accuracy: %.4f ", step, steps,
                bar, per_step * (steps - step), loss, acc);
    }
}

static void on_step(void *user, int epoch, int step, int steps, double loss, double acc,
                    double seconds)
{
    progress *p = user;
    if (p->quiet || !p->tty) {
        return;
    }
    if (step == 1) {
        fprintf(stderr, "Epoch %d/%d\n", epoch, p->epochs);
    }
    double now = wall_seconds();
    if (step == steps || now - p->last_draw > 0.1) {
        p->last_draw = now;
        draw_bar(step, steps, seconds, loss, acc, false);
    }
}

static bool on_epoch(void *user, const dg_epoch_stats *st)
{
    progress *p = user;
    p->last_val_accuracy = st->val_accuracy;
    if (!p->quiet) {
        if (p->tty) {
            fprintf(stderr, "\r\033[K");
            fprintf(stderr, "Epoch %d/%d: %.1fs - %.0f images/s - loss: %.4f - accuracy: %.4f",
                    st->epoch, p->epochs, st->seconds, st->images_per_second, st->loss,
                    st->accuracy);
        } else {
            fprintf(stderr, "epoch %d/%d: %.1fs - %.0f images/s - loss: %.4f - accuracy: %.4f",
                    st->epoch, p->epochs, st->seconds, st->images_per_second, st->loss,
                    st->accuracy);
        }
        if (st->val_accuracy >= 0) {
            fprintf(stderr, " - val_loss: %.4f - val_accuracy: %.4f", st->val_loss,
                    st->val_accuracy);
        }
        fputc('\n', stderr);
    }
    if (p->history) {
        dg_history_row row = {st->epoch,    st->loss,         st->accuracy,
                              st->val_loss, st->val_accuracy, st->seconds};
        dg_history_write_row(p->history, &row);
    }
    return true;
}

/* Fills meta's class names from "A,B,C"; false unless there is one per class. */
static bool set_labels(const char *list, int classes, dg_model_meta *meta)
{
    int n = 0;
    for (const char *p = list;; n++) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (n >= classes || len == 0 || len >= sizeof meta->labels[0]) {
            return false;
        }
        memcpy(meta->labels[n], p, len);
        meta->labels[n][len] = '\0';
        if (!comma) {
            break;
        }
        p = comma + 1;
    }
    meta->classes = classes;
    return n + 1 == classes;
}

/* Whether a file can be created in path's folder (made if missing), tried with a
 * temporary file so that an existing model is left alone. */
static bool can_write_beside(const char *path)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash) {
        snprintf(dir, sizeof dir, ".");
    } else if (slash == dir) {
        dir[1] = '\0';
    } else {
        *slash = '\0';
        mkdir(dir, 0777);
    }
    char probe[1100];
    snprintf(probe, sizeof probe, "%s/.digits-probe-XXXXXX", dir);
    int fd = mkstemp(probe);
    if (fd < 0) {
        return false;
    }
    close(fd);
    unlink(probe);
    return true;
}

/* MODEL.model -> MODEL.SUFFIX, anything else -> NAME.SUFFIX */
static void path_beside(const char *model, const char *suffix, char *out, size_t size)
{
    size_t len = strlen(model);
    const char *ext = ".model";
    size_t el = strlen(ext);
    if (len > el && !strcmp(model + len - el, ext)) {
        len -= el;
    }
    snprintf(out, size, "%.*s.%s", (int)len, model, suffix);
}

/* The curves picture beside the model, from the history just written. */
static void plot_curves(const char *history_path, const char *curves_path)
{
    dg_history_row *rows = NULL;
    int n = 0;
    if (dg_history_load(history_path, &rows, &n) != DG_OK ||
        dg_plot_history(rows, n, curves_path) != DG_OK) {
        fprintf(stderr, "digits: train: warning: no training curves: %s\n", dg_last_error());
    } else {
        printf("training curves in %s\n", curves_path);
    }
    free(rows);
}

enum {
    OPT_PRESET = 256,
    OPT_SPEC,
    OPT_EPOCHS,
    OPT_BATCH,
    OPT_LR,
    OPT_SEED,
    OPT_THREADS,
    OPT_DATA,
    OPT_HISTORY,
    OPT_VAL,
    OPT_OPTIMIZER,
    OPT_SCHEDULE,
    OPT_NO_TEST,
    OPT_LIMIT,
    OPT_LABELS,
};

/* the names --optimizer and --schedule take, and what each stands for */
static const char *const optimizer_names[] = {"adam", "sgd", NULL};
static const dg_optim_kind optimizer_kinds[] = {DG_OPTIM_ADAM, DG_OPTIM_SGD};
static const char *const schedule_names[] = {"constant", "cosine", "onecycle", NULL};
static const dg_schedule schedule_kinds[] = {DG_SCHEDULE_CONSTANT, DG_SCHEDULE_COSINE,
                                             DG_SCHEDULE_ONECYCLE};

typedef struct train_options {
    const char *preset, *spec, *data, *output, *history, *labels;
    long epochs, batch, seed, threads, limit;
    double lr, val_split;
    int optimizer, schedule; /* index into optimizer_names, schedule_names; -1 if not given */
    bool no_test, quiet;
} train_options;

static int parse_options(int argc, char **argv, train_options *o)
{
    static const struct option longs[] = {
        {"preset", required_argument, 0, OPT_PRESET},
        {"spec", required_argument, 0, OPT_SPEC},
        {"epochs", required_argument, 0, OPT_EPOCHS},
        {"batch", required_argument, 0, OPT_BATCH},
        {"lr", required_argument, 0, OPT_LR},
        {"seed", required_argument, 0, OPT_SEED},
        {"threads", required_argument, 0, OPT_THREADS},
        {"data", required_argument, 0, OPT_DATA},
        {"output", required_argument, 0, 'o'},
        {"model", required_argument, 0, 'o'},
        {"history", required_argument, 0, OPT_HISTORY},
        {"val-split", required_argument, 0, OPT_VAL},
        {"optimizer", required_argument, 0, OPT_OPTIMIZER},
        {"schedule", required_argument, 0, OPT_SCHEDULE},
        {"no-test", no_argument, 0, OPT_NO_TEST},
        {"limit", required_argument, 0, OPT_LIMIT},
        {"labels", required_argument, 0, OPT_LABELS},
        {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":o:m:qh", longs, NULL)) != -1) {
        bool ok = true;
        switch (c) {
        case OPT_PRESET:
            o->preset = optarg;
            break;
        case OPT_SPEC:
            o->spec = optarg;
            break;
        case OPT_EPOCHS:
            ok = cli_int_option("train", "--epochs", optarg, 1, 10000, &o->epochs);
            break;
        case OPT_BATCH:
            ok = cli_int_option("train", "--batch", optarg, 1, 65536, &o->batch);
            break;
        case OPT_LR:
            ok = cli_float_option("train", "--lr", optarg, 1e-6, 10.0, &o->lr);
            break;
        case OPT_SEED:
            ok = cli_int_option("train", "--seed", optarg, 0, CLI_MAX_SEED, &o->seed);
            break;
        case OPT_THREADS:
            ok = cli_int_option("train", "--threads", optarg, 1, CLI_MAX_THREADS, &o->threads);
            break;
        case OPT_DATA:
            o->data = optarg;
            break;
        case 'o':
        case 'm':
            o->output = optarg;
            break;
        case OPT_HISTORY:
            o->history = optarg;
            break;
        case OPT_VAL:
            ok = cli_float_option("train", "--val-split", optarg, 0.0, 0.9, &o->val_split);
            break;
        case OPT_OPTIMIZER:
            ok = cli_choice_option("train", "--optimizer", optarg, optimizer_names, &o->optimizer);
            break;
        case OPT_SCHEDULE:
            ok = cli_choice_option("train", "--schedule", optarg, schedule_names, &o->schedule);
            break;
        case OPT_NO_TEST:
            o->no_test = true;
            break;
        case OPT_LIMIT:
            ok = cli_int_option("train", "--limit", optarg, 1, 100000000, &o->limit);
            break;
        case OPT_LABELS:
            o->labels = optarg;
            break;
        case 'q':
            o->quiet = true;
            break;
        case 'h':
            print_usage();
            return -1;
        default:
            return cli_other_option("train", usage, c, argv);
        }
        if (!ok) {
            return DG_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        return cli_usage_error("train", "unexpected argument '%s'", argv[optind]);
    }
    int preset;
    if (o->preset &&
        !cli_choice_option("train", "--preset", o->preset, dg_preset_names(), &preset)) {
        return DG_EXIT_USAGE;
    }
    return 0;
}

static void apply_options(const train_options *o, dg_train_config *cfg)
{
    dg_preset_train_config(o->preset ? o->preset : dg_preset_names()[0], cfg);
    /* adam keeps the preset's settings (fast's betas); sgd brings its own */
    if (o->optimizer >= 0 && optimizer_kinds[o->optimizer] == DG_OPTIM_SGD) {
        cfg->optim = dg_optim_defaults(DG_OPTIM_SGD);
    }
    if (o->schedule >= 0) {
        cfg->schedule = schedule_kinds[o->schedule];
    }
    if (o->epochs) {
        cfg->epochs = (int)o->epochs;
    }
    if (o->batch) {
        cfg->batch = (int)o->batch;
    }
    if (o->lr > 0) {
        cfg->optim.lr = (float)o->lr;
    }
    if (o->val_split >= 0) {
        cfg->val_split = o->val_split;
    }
    cfg->seed = (uint64_t)o->seed;
}

int cmd_train(int argc, char **argv)
{
    double t_start = wall_seconds();
    train_options o = {.data = DG_DEFAULT_DATA,
                       .output = DG_DEFAULT_MODEL,
                       .seed = 1,
                       .val_split = -1.0,
                       .optimizer = -1,
                       .schedule = -1};
    int rc = parse_options(argc, argv, &o);
    if (rc) {
        return rc < 0 ? DG_EXIT_OK : rc;
    }
    dg_train_config cfg;
    apply_options(&o, &cfg);
    /* with --spec, a --preset gives only its training settings: the net has no preset */
    const char *preset = o.spec ? "" : (o.preset ? o.preset : dg_preset_names()[0]);
    const char *spec = o.spec ? o.spec : dg_preset_spec(preset);

    dg_dataset *train = NULL, *test = NULL;
    dg_net *net = NULL;
    FILE *history = NULL;
    char part_path[1100] = "";
    rc = DG_EXIT_FAIL;
    if (dg_dataset_load(o.data, DG_SPLIT_TRAIN, &train) != DG_OK) {
        cli_error("train", "%s", dg_last_error());
        goto done;
    }
    if (o.limit > 0 && (uint32_t)o.limit < train->n) {
        train->n = (uint32_t)o.limit; /* the arrays stay as loaded; only fewer are used */
    }
    if (!o.no_test && dg_dataset_load(o.data, DG_SPLIT_TEST, &test) != DG_OK) {
        cli_error("train", "%s (or pass --no-test)", dg_last_error());
        goto done;
    }
    if (dg_net_new(spec, (dg_shape){1, (int)train->h, (int)train->w}, &net) != DG_OK ||
        dg_net_set_threads(net, (int)o.threads) != DG_OK) {
        cli_error("train", "%s", dg_last_error());
        rc = o.spec ? DG_EXIT_USAGE : DG_EXIT_FAIL;
        goto done;
    }
    char history_path[1024];
    if (o.history) {
        snprintf(history_path, sizeof history_path, "%s", o.history);
    } else {
        path_beside(o.output, "history.csv", history_path, sizeof history_path);
    }
    dg_model_meta meta;
    dg_model_meta_default(&meta);
    meta.classes = dg_net_classes(net);
    for (int c = 0; c < meta.classes; c++) {
        snprintf(meta.labels[c], sizeof meta.labels[c], "%d", c);
    }
    if (o.labels && !set_labels(o.labels, dg_net_classes(net), &meta)) {
        rc = cli_usage_error("train",
                             "--labels: '%s' is not %d comma-separated names of 1 to %zu "
                             "characters",
                             o.labels, dg_net_classes(net), sizeof meta.labels[0] - 1);
        goto done;
    }
    /* fail before training, not after, when the model cannot be written */
    if (!can_write_beside(o.output)) {
        cli_error("train", "cannot write %s (is its folder writable?)", o.output);
        goto done;
    }
    /* the history grows in HISTORY.part and replaces HISTORY only with the new model: a
     * run that fails or is stopped leaves the old pair as it was */
    snprintf(part_path, sizeof part_path, "%s.part", history_path);
    history = fopen(part_path, "w");
    if (!history) {
        cli_error("train", "cannot write %s", part_path);
        goto done;
    }
    dg_history_write_header(history);
    progress prog = {.tty = isatty(2),
                     .quiet = o.quiet,
                     .epochs = cfg.epochs,
                     .history = history,
                     .last_val_accuracy = -1.0};
    dg_train_callbacks cb = {.user = &prog, .on_step = on_step, .on_epoch = on_epoch};
    if (!o.quiet) {
        char params[32], images[32];
        int threads = dg_net_threads(net);
        fprintf(stderr, "training %s (%s parameters) on %s images from %s, %d thread%s\n",
                o.spec ? dg_net_spec(net) : preset,
                dg_format_count(dg_net_param_count(net), params),
                dg_format_count(train->n - (uint32_t)(train->n * cfg.val_split), images), o.data,
                threads, threads == 1 ? "" : "s");
    }
    if (dg_train(net, train, &cfg, &cb) != DG_OK) {
        cli_error("train", "%s", dg_last_error());
        goto done;
    }
    snprintf(meta.preset, sizeof meta.preset, "%s", preset);
    snprintf(meta.dataset, sizeof meta.dataset, "%s", o.data);
    meta.norm = cfg.norm;
    meta.seed = cfg.seed;
    meta.epochs = cfg.epochs;
    meta.batch = cfg.batch;
    meta.lr = cfg.optim.lr;
    meta.n_train = train->n - (uint32_t)(train->n * cfg.val_split);
    meta.created = (int64_t)time(NULL);
    meta.val_accuracy = prog.last_val_accuracy;
    if (test) {
        dg_eval ev;
        if (dg_evaluate(net, test, &cfg.norm, 0, test->n, &ev, NULL, NULL) != DG_OK) {
            cli_error("train", "%s", dg_last_error());
            goto done;
        }
        meta.test_accuracy = ev.accuracy;
        char pct[16];
        printf("test loss: %.4f\ntest accuracy: %s\n", ev.loss,
               dg_format_accuracy(ev.accuracy, pct));
    }
    if (dg_model_save(o.output, net, &meta) != DG_OK) {
        cli_error("train", "%s", dg_last_error());
        goto done;
    }
    bool history_ok = fclose(history) == 0;
    history = NULL;
    if (!history_ok || rename(part_path, history_path) != 0) {
        cli_error("train", "saved model to %s, but cannot write %s", o.output, history_path);
        goto done;
    }
    printf("saved model to %s\nhistory in %s\n", o.output, history_path);
    char curves_path[1100];
    path_beside(o.output, "curves.png", curves_path, sizeof curves_path);
    plot_curves(history_path, curves_path);
    printf("total time: %.2fs\n", wall_seconds() - t_start);
    rc = DG_EXIT_OK;
done:
    if (history) {
        fclose(history);
        remove(part_path);
    }
    dg_net_free(net);
    dg_dataset_free(train);
    dg_dataset_free(test);
    return rc;
}
