/*
 * train_options.c - the options of `digits train`: its usage text (each preset's settings
 * filled in from the preset table), parsing them, and turning them into a run's training
 * settings on top of the preset's.
 */
#include "cli/train.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the names --optimizer, --schedule and --precision take, and what each stands for */
const char *const cli_optimizer_names[] = {"adam", "sgd", NULL};
const dg_optim_kind cli_optimizer_kinds[] = {DG_OPTIM_ADAM, DG_OPTIM_SGD};
const char *const cli_schedule_names[] = {"constant", "cosine", "onecycle", NULL};
const dg_schedule cli_schedule_kinds[] = {DG_SCHEDULE_CONSTANT, DG_SCHEDULE_COSINE,
                                          DG_SCHEDULE_ONECYCLE};
const char *const cli_precision_names[] = {"fp32", "bf16", NULL};
const dg_precision cli_precision_kinds[] = {DG_PRECISION_FP32, DG_PRECISION_BF16};

/* A printf format: the presets and their settings fill the %s (print_usage). */
static const char usage[] =
    "usage: digits train [--preset NAME | --spec \"...\"] [--epochs N] [--batch N] [--lr X]\n"
    "                    [--seed N] [--threads N] [--data DIR] [-o MODEL]\n"
    "       digits train --resume CKPT [--epochs N] [--threads N]\n"
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
    "  --precision P      fp32 or bf16 (%s): bf16 rounds the inputs of\n"
    "                     training's matrix products to bf16 and sums in fp32 (AVX512_BF16;\n"
    "                     on a CPU without it, or with DIGITS_NO_BF16=1, fp32, with a notice\n"
    "                     when asked for); weights, optimiser and the saved model stay fp32\n"
    "  --threads N        worker threads, 1 to 64 (default: all cores; with --resume, the\n"
    "                     checkpoint's)\n"
    "  --data DIR         MNIST-format IDX files (default data/mnist)\n"
    "  -o, --output MODEL where to save the model (default model/digits.model);\n"
    "  -m, --model MODEL  the same\n"
    "  --history CSV      per-epoch history (default: MODEL with .history.csv)\n"
    "  --limit N          train on the first N training images only\n"
    "  --labels A,B,...   class names stored in the model (default 0,1,...,9), e.g. for\n"
    "                     Fashion-MNIST: --labels T-shirt,Trouser,Pullover,...\n"
    "  --no-test          skip the test-set evaluation at the end\n"
    "  --early-stop N     stop when the validation loss has not improved for N epochs and\n"
    "                     keep the weights of the best epoch\n"
    "  --keep-best        save the epoch with the best validation accuracy\n"
    "  --checkpoint-every N  also checkpoint every N steps (default: after every epoch)\n"
    "  --augment          distort every training image at random each time it is used\n"
    "                     (%s); the ranges, each turning it on:\n"
    "  --rotate DEG       rotation within +-DEG degrees (default %g)\n"
    "  --scale F          scaling by 1-F to 1+F (default %g)\n"
    "  --shift PX         shift within +-PX pixels on each axis (default %g)\n"
    "  --shear DEG        shear within +-DEG degrees (default %g)\n"
    "  --elastic A[,S]    elastic distortion: random displacements smoothed by a Gaussian\n"
    "                     of S pixels (default %g), scaled by A pixels (e.g. 34; default none)\n"
    "  --no-augment       no augmentation, not even a preset's\n"
    "  --flagged-ones F   draw an up-stroke (a flag), sometimes a foot, on a share F (0-1)\n"
    "                     of the training 1s each time they are used: the 1 much of Europe\n"
    "                     writes, which MNIST's writers rarely did (default 0; digits only)\n"
    "  --resume CKPT      continue the run of checkpoint CKPT where it stopped\n"
    "  -q, --quiet        no progress output\n"
    "\n"
    "After every epoch the whole training state goes to MODEL's .ckpt file (model/digits.ckpt\n"
    "for model/digits.model). Ctrl-C or SIGTERM stops after the current step, writes the\n"
    "checkpoint and the history so far, leaves MODEL as it was and exits with 130 (143);\n"
    "a second Ctrl-C stops at once. --resume takes every setting from the checkpoint; only\n"
    "--epochs (to extend the run), --threads, --data, -o, --history, --checkpoint-every,\n"
    "--no-test and -q may be given with it (others only with the checkpoint's value). It\n"
    "ends with the weights of the run never stopped, on any number of threads.\n";

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

static void precision_value(const dg_train_config *cfg, char *buf, size_t size)
{
    snprintf(buf, size, "%s", dg_precision_name(cfg->precision));
}

static void augment_value(const dg_train_config *cfg, char *buf, size_t size)
{
    snprintf(buf, size, "%s", cfg->augment.on ? "on" : "off");
}

/* "default 5; mlp 3; fast 1": the default preset's value of a setting, then those of
 * the presets that differ. */
static void preset_values(setting_fn value, char *out, size_t size)
{
    const char *const *names = dg_preset_names();
    dg_train_config cfg;
    char first[32], other[32];
    out[0] = '\0';
    if (dg_preset_train_config(names[0], &cfg) != DG_OK) {
        return; /* the names come from the same table */
    }
    value(&cfg, first, sizeof first);
    size_t used = (size_t)snprintf(out, size, "default %s", first);
    for (int i = 1; names[i] && used < size; i++) {
        if (dg_preset_train_config(names[i], &cfg) != DG_OK) {
            continue;
        }
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
    char presets[1024], epochs[128], batch[128], lr[128], schedule[128], val_split[128],
        precision[128], augment[128];
    preset_lines(presets, sizeof presets);
    preset_values(precision_value, precision, sizeof precision);
    preset_values(augment_value, augment, sizeof augment);
    preset_values(epochs_value, epochs, sizeof epochs);
    preset_values(batch_value, batch, sizeof batch);
    preset_values(lr_value, lr, sizeof lr);
    preset_values(schedule_value, schedule, sizeof schedule);
    preset_values(val_split_value, val_split, sizeof val_split);
    dg_augment a = dg_augment_defaults();
    printf(usage, dg_preset_names()[0], presets, epochs, batch, lr,
           (double)dg_optim_defaults(DG_OPTIM_SGD).lr, schedule, val_split, precision, augment,
           (double)a.rotate, (double)a.scale, (double)a.shift, (double)a.shear,
           (double)a.elastic_sigma);
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
    OPT_EARLY_STOP,
    OPT_KEEP_BEST,
    OPT_CKPT_EVERY,
    OPT_RESUME,
    OPT_AUGMENT,
    OPT_NO_AUGMENT,
    OPT_ROTATE,
    OPT_SCALE,
    OPT_SHIFT,
    OPT_SHEAR,
    OPT_ELASTIC,
    OPT_PRECISION,
    OPT_FLAGGED_ONES,
};

/* --elastic ALPHA[,SIGMA] */
static bool elastic_option(const char *value, train_options *o)
{
    char alpha[64];
    const char *comma = strchr(value, ',');
    size_t len = comma ? (size_t)(comma - value) : strlen(value);
    if (len >= sizeof alpha) {
        len = sizeof alpha - 1;
    }
    memcpy(alpha, value, len);
    alpha[len] = '\0';
    if (!cli_float_option("train", "--elastic", alpha, 0.0, 1000.0, &o->elastic_alpha)) {
        return false;
    }
    return !comma || cli_float_option("train", "--elastic", comma + 1, 0.5,
                                      (double)DG_AUGMENT_MAX_SIGMA, &o->elastic_sigma);
}

void cli_train_augment(const train_options *o, dg_augment *a)
{
    const double given[] = {o->rotate, o->scale,         o->shift,
                            o->shear,  o->elastic_alpha, o->elastic_sigma};
    float *field[] = {&a->rotate, &a->scale,         &a->shift,
                      &a->shear,  &a->elastic_alpha, &a->elastic_sigma};
    for (size_t i = 0; i < sizeof given / sizeof given[0]; i++) {
        if (given[i] >= 0) {
            *field[i] = (float)given[i];
            a->on = true;
        }
    }
    if (o->augment >= 0) {
        a->on = o->augment == 1;
    }
}

int cli_train_options_parse(int argc, char **argv, train_options *o)
{
    *o = (train_options){.seed = -1,
                         .val_split = -1.0,
                         .optimizer = -1,
                         .schedule = -1,
                         .augment = -1,
                         .rotate = -1.0,
                         .scale = -1.0,
                         .shift = -1.0,
                         .shear = -1.0,
                         .elastic_alpha = -1.0,
                         .elastic_sigma = -1.0,
                         .precision = -1,
                         .flagged_ones = -1.0};
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
        {"early-stop", required_argument, 0, OPT_EARLY_STOP},
        {"keep-best", no_argument, 0, OPT_KEEP_BEST},
        {"checkpoint-every", required_argument, 0, OPT_CKPT_EVERY},
        {"resume", required_argument, 0, OPT_RESUME},
        {"augment", no_argument, 0, OPT_AUGMENT},
        {"no-augment", no_argument, 0, OPT_NO_AUGMENT},
        {"rotate", required_argument, 0, OPT_ROTATE},
        {"scale", required_argument, 0, OPT_SCALE},
        {"shift", required_argument, 0, OPT_SHIFT},
        {"shear", required_argument, 0, OPT_SHEAR},
        {"elastic", required_argument, 0, OPT_ELASTIC},
        {"precision", required_argument, 0, OPT_PRECISION},
        {"flagged-ones", required_argument, 0, OPT_FLAGGED_ONES},
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
            ok = cli_choice_option("train", "--optimizer", optarg, cli_optimizer_names,
                                   &o->optimizer);
            break;
        case OPT_SCHEDULE:
            ok = cli_choice_option("train", "--schedule", optarg, cli_schedule_names, &o->schedule);
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
        case OPT_EARLY_STOP:
            ok = cli_int_option("train", "--early-stop", optarg, 1, 10000, &o->early_stop);
            break;
        case OPT_KEEP_BEST:
            o->keep_best = true;
            break;
        case OPT_CKPT_EVERY:
            ok = cli_int_option("train", "--checkpoint-every", optarg, 1, 1000000000,
                                &o->checkpoint_every);
            break;
        case OPT_RESUME:
            o->resume = optarg;
            break;
        case OPT_AUGMENT:
        case OPT_NO_AUGMENT:
            if (o->augment >= 0 && o->augment != (c == OPT_AUGMENT)) {
                return cli_usage_error("train", "--augment and --no-augment together");
            }
            o->augment = c == OPT_AUGMENT;
            break;
        case OPT_ROTATE:
            ok = cli_float_option("train", "--rotate", optarg, 0.0, 180.0, &o->rotate);
            break;
        case OPT_SCALE:
            ok = cli_float_option("train", "--scale", optarg, 0.0, 0.9, &o->scale);
            break;
        case OPT_SHIFT:
            ok = cli_float_option("train", "--shift", optarg, 0.0, 64.0, &o->shift);
            break;
        case OPT_SHEAR:
            ok = cli_float_option("train", "--shear", optarg, 0.0, 75.0, &o->shear);
            break;
        case OPT_ELASTIC:
            ok = elastic_option(optarg, o);
            break;
        case OPT_PRECISION:
            ok = cli_choice_option("train", "--precision", optarg, cli_precision_names,
                                   &o->precision);
            break;
        case OPT_FLAGGED_ONES:
            ok = cli_float_option("train", "--flagged-ones", optarg, 0.0, 1.0, &o->flagged_ones);
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
    if (o->augment == 0 && (o->rotate >= 0 || o->scale >= 0 || o->shift >= 0 || o->shear >= 0 ||
                            o->elastic_alpha >= 0)) {
        return cli_usage_error("train", "--no-augment with an augmentation range");
    }
    int preset;
    if (o->preset &&
        !cli_choice_option("train", "--preset", o->preset, dg_preset_names(), &preset)) {
        return DG_EXIT_USAGE;
    }
    return 0;
}

int cli_train_options_apply(const train_options *o, dg_train_config *cfg)
{
    if (dg_preset_train_config(o->preset ? o->preset : dg_preset_names()[0], cfg) != DG_OK) {
        return cli_error("train", "%s", dg_last_error());
    }
    /* adam keeps the preset's settings (fast's betas); sgd brings its own */
    if (o->optimizer >= 0 && cli_optimizer_kinds[o->optimizer] == DG_OPTIM_SGD) {
        cfg->optim = dg_optim_defaults(DG_OPTIM_SGD);
    }
    if (o->schedule >= 0) {
        cfg->schedule = cli_schedule_kinds[o->schedule];
    }
    if (o->precision >= 0) {
        cfg->precision = cli_precision_kinds[o->precision];
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
    cfg->seed = (uint64_t)(o->seed >= 0 ? o->seed : 1);
    cfg->early_stop = (int)o->early_stop;
    cfg->keep_best = o->keep_best;
    cfg->checkpoint_every = (int)(o->checkpoint_every > 0 ? o->checkpoint_every : 0);
    cli_train_augment(o, &cfg->augment);
    if (o->flagged_ones >= 0) {
        cfg->flagged_ones = (float)o->flagged_ones;
    }
    if ((cfg->early_stop || cfg->keep_best) && !(cfg->val_split > 0)) {
        return cli_usage_error("train", "--early-stop and --keep-best need a validation split "
                                        "(--val-split above 0)");
    }
    return DG_EXIT_OK;
}
