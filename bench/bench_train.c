/*
 * bench_train.c - training speed of a preset for the benchmark (scripts/bench.sh): trains
 * on the first --limit MNIST training images, without a validation split, shuffled every
 * epoch, and prints machine-readable lines
 *
 *   RESULT digits train_images_per_s 8149.2
 *   RESULT digits train_seconds 2.454
 *   RESULT digits peak_rss_mb 96
 *   RESULT digits train_flop_per_image 15168000
 *
 * Only the epochs are timed (as torch_reference.py --mode train does): loading the data
 * and building the net are not. Peak RSS is the whole process's, from getrusage.
 *
 * With --flops it only counts the work of one training image of the preset's net on a
 * 28x28 MNIST image, from the layer shapes, and prints the FLOP lines (scripts/bench.sh
 * turns images/s into GFLOP/s with them). Forward: a convolution uses each of its weights
 * once per output position, a dense layer each weight once, 2 FLOPs per multiply-add;
 * pooling, activations and biases are left out, as FLOP counts of networks usually do.
 * Training is counted as 3 forwards (the forward, then the products for the input and
 * the weight gradients, each as large as the forward's).
 */
#include "bench/bench_util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static const char usage[] =
    "usage: bench_train [--preset NAME] [--epochs N] [--limit N] [--batch N] [--threads N]\n"
    "                   [--data DIR] [--test]\n"
    "       bench_train [--preset NAME] --flops\n"
    "Trains on the first N training images (default all) and prints RESULT lines;\n"
    "--flops prints the FLOPs of one training image instead.\n";

typedef struct bench_options {
    const char *preset, *data;
    long epochs, limit, batch, threads;
    bool test, flops_only;
} bench_options;

typedef struct epoch_totals {
    double seconds;
    int epochs;
} epoch_totals;

static bool on_epoch(void *user, const dg_epoch_stats *st)
{
    epoch_totals *t = user;
    t->seconds += st->seconds;
    t->epochs++;
    fprintf(stderr, "epoch %d: %.2fs - %.0f images/s - loss: %.4f - accuracy: %.4f\n", st->epoch,
            st->seconds, st->images_per_second, st->loss, st->accuracy);
    return true;
}

/* 0 on success, 1 on a bad option, -1 after --help. */
static int parse_options(int argc, char **argv, bench_options *o)
{
    static const struct option longs[] = {
        {"preset", required_argument, 0, 'p'},  {"epochs", required_argument, 0, 'e'},
        {"limit", required_argument, 0, 'l'},   {"batch", required_argument, 0, 'b'},
        {"threads", required_argument, 0, 't'}, {"data", required_argument, 0, 'd'},
        {"test", no_argument, 0, 'T'},          {"flops", no_argument, 0, 'F'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        bool ok = true;
        switch (c) {
        case 'p':
            o->preset = optarg;
            break;
        case 'd':
            o->data = optarg;
            break;
        case 'e':
            ok = bench_long_option("bench_train", "--epochs", optarg, 1, 1000, &o->epochs);
            break;
        case 'l':
            ok =
                bench_long_option("bench_train", "--limit", optarg, 0, DG_IDX_MAX_ITEMS, &o->limit);
            break;
        case 'b':
            ok = bench_long_option("bench_train", "--batch", optarg, 1, 65536, &o->batch);
            break;
        case 't':
            ok = bench_long_option("bench_train", "--threads", optarg, 0, 64, &o->threads);
            break;
        case 'T':
            o->test = true;
            break;
        case 'F':
            o->flops_only = true;
            break;
        default:
            return bench_other_option(usage, c);
        }
        if (!ok) {
            return 1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "bench_train: unexpected argument '%s'\n%s", argv[optind], usage);
        return 1;
    }
    if (!dg_preset_spec(o->preset)) {
        fprintf(stderr, "bench_train: unknown preset '%s'\n", o->preset);
        return 1;
    }
    return 0;
}

/* Multiply-adds of one image's forward pass (see the top of the file). */
static double forward_multiply_adds(const dg_net *net)
{
    double total = 0.0;
    for (int i = 0; i < dg_net_layer_count(net); i++) {
        size_t n_weights;
        if (!dg_net_layer_weights(net, i, &n_weights)) {
            continue;
        }
        dg_layer_info info;
        dg_net_layer_info(net, i, &info);
        double uses = strcmp(info.kind, "conv") == 0 ? (double)info.out.h * info.out.w : 1.0;
        total += (double)n_weights * uses;
    }
    return total;
}

static void print_flops(const dg_net *net)
{
    double forward = 2.0 * forward_multiply_adds(net);
    printf("RESULT digits forward_flop_per_image %.0f\n", forward);
    printf("RESULT digits train_flop_per_image %.0f\n", 3.0 * forward);
}

/* --flops: the preset's net on a 28x28 image, counted without data or training. */
static int count_flops(const char *preset)
{
    dg_net *net = NULL;
    if (dg_net_new(dg_preset_spec(preset), (dg_shape){1, 28, 28}, &net) != DG_OK) {
        fprintf(stderr, "bench_train: %s\n", dg_last_error());
        return 1;
    }
    print_flops(net);
    dg_net_free(net);
    return 0;
}

int main(int argc, char **argv)
{
    bench_options o = {.preset = "seed-cnn", .data = "data/mnist", .epochs = 1, .batch = 32};
    int rc = parse_options(argc, argv, &o);
    if (rc) {
        return rc < 0 ? 0 : 2;
    }
    if (o.flops_only) {
        return count_flops(o.preset);
    }
    dg_dataset *train = NULL, *test = NULL;
    dg_net *net = NULL;
    rc = 1;
    if (dg_dataset_load(o.data, DG_SPLIT_TRAIN, &train) != DG_OK ||
        (o.test && dg_dataset_load(o.data, DG_SPLIT_TEST, &test) != DG_OK)) {
        fprintf(stderr, "bench_train: %s\n", dg_last_error());
        goto done;
    }
    /* a view of the first examples: the arrays stay owned by train */
    dg_dataset part = *train;
    if (o.limit > 0 && (uint32_t)o.limit < part.n) {
        part.n = (uint32_t)o.limit;
    }
    if (dg_net_new(dg_preset_spec(o.preset), (dg_shape){1, (int)part.h, (int)part.w}, &net) !=
            DG_OK ||
        dg_net_set_threads(net, (int)o.threads) != DG_OK) {
        fprintf(stderr, "bench_train: %s\n", dg_last_error());
        goto done;
    }
    dg_train_config cfg;
    if (dg_preset_train_config(o.preset, &cfg) != DG_OK) {
        fprintf(stderr, "bench_train: %s\n", dg_last_error());
        goto done;
    }
    cfg.epochs = (int)o.epochs;
    cfg.batch = (int)o.batch;
    cfg.val_split = 0.0;
    cfg.shuffle = true;
    epoch_totals totals = {0};
    dg_train_callbacks cb = {.user = &totals, .on_epoch = on_epoch};
    fprintf(stderr, "bench_train: %s on %u images, batch %d, %d threads, %s\n", o.preset, part.n,
            cfg.batch, dg_net_threads(net), dg_blas_backend());
    if (dg_train(net, &part, &cfg, &cb) != DG_OK) {
        fprintf(stderr, "bench_train: %s\n", dg_last_error());
        goto done;
    }
    double images = (double)part.n * (double)totals.epochs;
    printf("RESULT digits train_images_per_s %.1f\n", images / totals.seconds);
    printf("RESULT digits train_seconds %.3f\n", totals.seconds);
    print_flops(net);
    printf("RESULT digits threads %d\n", dg_net_threads(net));
    if (test) {
        dg_eval ev;
        if (dg_evaluate(net, test, &cfg.norm, 0, test->n, &ev, NULL, NULL) != DG_OK) {
            fprintf(stderr, "bench_train: %s\n", dg_last_error());
            goto done;
        }
        printf("RESULT digits test_accuracy %.4f\n", ev.accuracy);
    }
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        printf("RESULT digits peak_rss_mb %.0f\n", (double)ru.ru_maxrss / 1024.0); /* KiB */
    }
    rc = 0;
done:
    dg_net_free(net);
    dg_dataset_free(train);
    dg_dataset_free(test);
    return rc;
}
