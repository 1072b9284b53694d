/*
 * bench_infer.c - inference speed of a trained model for the benchmark (scripts/bench.sh),
 * measured in-process on MNIST test images:
 *
 *   one image    dg_net_forward with n = 1 on one thread and on all cores (the better is
 *                infer1_us), called in a loop: after a
 *                warm-up, the median of many timed calls, in microseconds;
 *   predict      dg_predict_mnist (normalise, forward, copy out the probabilities, rank)
 *                of one test image on one thread, the same way: predict1_us;
 *   batches      forwards of 1000 test images with --threads threads (default all cores):
 *                the median batch time over a few passes of the test set, as images/s.
 *
 * Prints machine-readable lines ("RESULT digits infer1_us 21.3"), plus the test accuracy
 * of the batched pass as a check that the model is a real one. With --sample OUT.png it
 * instead writes a synthetic handwritten digit (dark ink on a white canvas, as a user's
 * picture) for timing `digits predict` as a whole process.
 *
 * Legend: N batch (1000), S = 1*28*28 floats per image. test_x [n_test][S].
 */
#include "bench/bench_util.h"
#include "synth/synth.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 1000

static const char usage[] =
    "usage: bench_infer [--data DIR] [--runs N] [--repeats N] [--threads N] [MODEL]\n"
    "       bench_infer --sample OUT.png\n"
    "Times one-image and 1000-image forwards of MODEL (default model/digits.model).\n";

typedef struct bench_options {
    const char *model, *data, *sample;
    long runs, warmup, repeats, threads;
} bench_options;

/* 0 on success, 1 on a bad option, -1 after --help. */
static int parse_options(int argc, char **argv, bench_options *o)
{
    static const struct option longs[] = {
        {"data", required_argument, 0, 'd'},    {"runs", required_argument, 0, 'r'},
        {"warmup", required_argument, 0, 'w'},  {"repeats", required_argument, 0, 'R'},
        {"threads", required_argument, 0, 't'}, {"sample", required_argument, 0, 's'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        bool ok = true;
        switch (c) {
        case 'd':
            o->data = optarg;
            break;
        case 's':
            o->sample = optarg;
            break;
        case 'r':
            ok = bench_long_option("bench_infer", "--runs", optarg, 1, 10000000, &o->runs);
            break;
        case 'w':
            ok = bench_long_option("bench_infer", "--warmup", optarg, 0, 10000000, &o->warmup);
            break;
        case 'R':
            ok = bench_long_option("bench_infer", "--repeats", optarg, 1, 1000, &o->repeats);
            break;
        case 't':
            ok = bench_long_option("bench_infer", "--threads", optarg, 0, 64, &o->threads);
            break;
        default:
            return bench_other_option(usage, c);
        }
        if (!ok) {
            return 1;
        }
    }
    if (optind + 1 < argc) {
        fprintf(stderr, "bench_infer: unexpected argument '%s'\n%s", argv[optind + 1], usage);
        return 1;
    }
    if (optind < argc) {
        o->model = argv[optind];
    }
    return 0;
}

/* A handwritten 7 at 100 px on a white canvas, the same picture for every run. */
static int write_sample(const char *path)
{
    dg_rng rng;
    dg_rng_seed(&rng, 7);
    dg_synth_style style;
    dg_synth_style_default(&style);
    dg_image *img = NULL;
    if (dg_synth_digit(&rng, 7, &style, &img) != DG_OK || dg_image_save_png(path, img) != DG_OK) {
        fprintf(stderr, "bench_infer: %s\n", dg_last_error());
        dg_image_free(img);
        return 1;
    }
    dg_image_free(img);
    return 0;
}

/* Median microseconds of one-image forwards on `threads` threads (0: all cores, which
 * split each layer's outputs). */
static int time_one(dg_net *net, const float *x, const bench_options *o, int threads, double *us)
{
    double *t = malloc((size_t)o->runs * sizeof *t);
    if (!t || dg_net_set_threads(net, threads) != DG_OK || dg_net_prepare(net, 1) != DG_OK) {
        fprintf(stderr, "bench_infer: %s\n", t ? dg_last_error() : "out of memory");
        free(t);
        return 1;
    }
    dg_status st = DG_OK;
    for (long i = 0; i < o->warmup && st == DG_OK; i++) {
        st = dg_net_forward(net, x, 1, false, NULL, NULL);
    }
    for (long i = 0; i < o->runs && st == DG_OK; i++) {
        double t0 = bench_seconds();
        st = dg_net_forward(net, x, 1, false, NULL, NULL);
        t[i] = bench_seconds() - t0;
    }
    if (st != DG_OK) {
        fprintf(stderr, "bench_infer: %s\n", dg_last_error());
        free(t);
        return 1;
    }
    *us = bench_median(t, (size_t)o->runs) * 1e6;
    free(t);
    return 0;
}

/* Median microseconds of dg_predict_mnist of the first test image on one thread. */
static int time_predict(dg_net *net, const dg_dataset *test, const dg_norm *norm,
                        const bench_options *o, double *us)
{
    double *t = malloc((size_t)o->runs * sizeof *t);
    if (!t || dg_net_set_threads(net, 1) != DG_OK) {
        fprintf(stderr, "bench_infer: %s\n", t ? dg_last_error() : "out of memory");
        free(t);
        return 1;
    }
    dg_prediction pred;
    dg_status st = DG_OK;
    for (long i = 0; i < o->warmup && st == DG_OK; i++) {
        st = dg_predict_mnist(net, norm, test->images, 0.0f, &pred);
    }
    for (long i = 0; i < o->runs && st == DG_OK; i++) {
        double t0 = bench_seconds();
        st = dg_predict_mnist(net, norm, test->images, 0.0f, &pred);
        t[i] = bench_seconds() - t0;
    }
    if (st != DG_OK) {
        fprintf(stderr, "bench_infer: %s\n", dg_last_error());
        free(t);
        return 1;
    }
    *us = bench_median(t, (size_t)o->runs) * 1e6;
    free(t);
    return 0;
}

/* Images per second over batches of BATCH test images (median batch time), and the
 * accuracy of the last pass. */
static int time_batches(dg_net *net, const dg_dataset *test, const float *x, const bench_options *o,
                        double *images_per_s, double *accuracy)
{
    uint32_t batches = test->n / BATCH;
    size_t image = (size_t)test->h * test->w, n_t = (size_t)batches * (size_t)o->repeats;
    double *t = malloc(n_t * sizeof *t);
    if (!t || dg_net_set_threads(net, (int)o->threads) != DG_OK ||
        dg_net_prepare(net, BATCH) != DG_OK) {
        fprintf(stderr, "bench_infer: %s\n", t ? dg_last_error() : "out of memory");
        free(t);
        return 1;
    }
    int classes = dg_net_classes(net);
    /* warm-up: threads started, pages touched */
    dg_status st = dg_net_forward(net, x, BATCH, false, NULL, NULL);
    long correct = 0;
    size_t k = 0;
    for (long r = 0; r < o->repeats && st == DG_OK; r++) {
        correct = 0;
        for (uint32_t b = 0; b < batches && st == DG_OK; b++) {
            const float *xb = x + (size_t)b * BATCH * image;
            const float *p;
            double t0 = bench_seconds();
            st = dg_net_forward(net, xb, BATCH, false, NULL, &p);
            t[k++] = bench_seconds() - t0;
            for (int i = 0; i < BATCH && st == DG_OK; i++) {
                correct += dg_argmax(p + (size_t)i * classes, classes) ==
                           test->labels[(size_t)b * BATCH + (size_t)i];
            }
        }
    }
    if (st != DG_OK) {
        fprintf(stderr, "bench_infer: %s\n", dg_last_error());
        free(t);
        return 1;
    }
    *images_per_s = BATCH / bench_median(t, n_t);
    *accuracy = (double)correct / ((double)batches * BATCH);
    free(t);
    return 0;
}

int main(int argc, char **argv)
{
    bench_options o = {.model = "model/digits.model",
                       .data = "data/mnist",
                       .runs = 5000,
                       .warmup = 500,
                       .repeats = 3};
    int rc = parse_options(argc, argv, &o);
    if (rc) {
        return rc < 0 ? 0 : 2;
    }
    if (o.sample) {
        return write_sample(o.sample);
    }
    dg_net *net = NULL;
    dg_dataset *test = NULL;
    float *x = NULL;
    dg_model_meta meta;
    rc = 1;
    if (!bench_load("bench_infer", o.model, o.data, DG_SPLIT_TEST, &net, &meta, &test)) {
        goto done;
    }
    dg_shape in = dg_net_input_shape(net);
    if (in.c != 1 || (uint32_t)in.h != test->h || (uint32_t)in.w != test->w || test->n < BATCH) {
        fprintf(stderr, "bench_infer: the model takes %dx%dx%d, the test set has %u of %ux%u\n",
                in.c, in.h, in.w, test->n, test->h, test->w);
        goto done;
    }
    /* at most DG_IDX_MAX_ITEMS * DG_IDX_MAX_SIDE^2 floats: fits a 64-bit size_t */
    size_t pixels = (size_t)test->n * test->h * test->w;
    x = malloc(pixels * sizeof *x);
    if (!x) {
        fprintf(stderr, "bench_infer: out of memory for %u test images\n", test->n);
        goto done;
    }
    dg_normalise(&meta.norm, test->images, pixels, x);
    double us1, us_all, us_predict, images_per_s, accuracy;
    if (time_one(net, x, &o, 1, &us1) || time_one(net, x, &o, 0, &us_all) ||
        time_predict(net, test, &meta.norm, &o, &us_predict) ||
        time_batches(net, test, x, &o, &images_per_s, &accuracy)) {
        goto done;
    }
    fprintf(stderr,
            "bench_infer: %s, %s; one image: median of %ld on 1 thread and on all cores; "
            "batches of %d: %d threads\n",
            o.model, dg_blas_backend(), o.runs, BATCH, dg_net_threads(net));
    printf("RESULT digits infer1_us_1thread %.1f\n", us1);
    printf("RESULT digits infer1_us_all_cores %.1f\n", us_all);
    printf("RESULT digits infer1_us %.1f\n", us1 < us_all ? us1 : us_all);
    printf("RESULT digits predict1_us_1thread %.1f\n", us_predict);
    printf("RESULT digits infer1000_images_per_s %.0f\n", images_per_s);
    printf("RESULT digits infer_threads %d\n", dg_net_threads(net));
    printf("RESULT digits test_accuracy %.4f\n", accuracy);
    rc = 0;
done:
    free(x);
    dg_net_free(net);
    dg_dataset_free(test);
    return rc;
}
