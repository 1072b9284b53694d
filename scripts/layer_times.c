/*
 * layer_times.c - where a training step's time goes, layer by layer: runs each layer's
 * forward and backward of a preset's network on one thread over a batch of random inputs,
 * many times, and prints the fastest time of each call, its share of the step, its
 * multiply-adds and the GFLOP/s they make. The optimiser's update over the parameter arena
 * is timed the same way. docs/performance.md, "Where the time goes in training", uses it
 * beside perf.
 *
 *   layer_times [--preset NAME] [--batch N] [--reps N] [--bf16]
 *
 * --bf16 runs the layers as bf16 training does (products on bf16-rounded inputs with fp32
 * sums, where the CPU has AVX512_BF16; the tool says when it does not).
 *
 * Uses the library's internals (nn/net.h), as a tool built with it may.
 */
#include "digits.h"
#include "nn/cpu/cpu.h"
#include "nn/net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The fastest of n timings: on a shared machine the others only add other work's time. */
static double fastest(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, compare_doubles);
    return v[0];
}

/* Multiply-adds of one example through a layer's forward pass (conv and dense only). */
static double forward_flops(const dg_layer *l)
{
    if (!strcmp(l->ops->name, "conv") || !strcmp(l->ops->name, "dense")) {
        return 2.0 * (double)l->n_weights * (double)l->out.h * (double)l->out.w;
    }
    return 0.0;
}

static void *alloc_floats(size_t n)
{
    return aligned_alloc(64, ((n ? n : 1) * sizeof(float) + 63) / 64 * 64);
}

int main(int argc, char **argv)
{
    const char *preset = "seed-cnn";
    int batch = 32, reps = 200;
    bool bf16 = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--bf16")) {
            bf16 = true;
            continue;
        }
        if (i + 1 == argc) {
            break;
        }
        if (!strcmp(argv[i], "--preset")) {
            preset = argv[i + 1];
        } else if (!strcmp(argv[i], "--batch")) {
            batch = atoi(argv[i + 1]);
        } else if (!strcmp(argv[i], "--reps")) {
            reps = atoi(argv[i + 1]);
        }
        i++;
    }
    const char *spec = dg_preset_spec(preset);
    if (!spec || batch < 1 || batch > 4096 || reps < 3) {
        fprintf(stderr, "usage: layer_times [--preset NAME] [--batch 1..4096] [--reps N>=3] "
                        "[--bf16]\n");
        return 2;
    }
    if (bf16 && !dg_bf16_available()) {
        printf("no AVX512_BF16 here (or DIGITS_NO_BF16 is set): bf16 runs in fp32\n");
        bf16 = false;
    }
    dg_net *net;
    if (dg_net_new(spec, (dg_shape){1, 28, 28}, &net) != DG_OK) {
        fprintf(stderr, "layer_times: %s\n", dg_last_error());
        return 1;
    }
    dg_rng rng;
    dg_rng_seed(&rng, 1);
    dg_net_init_params(net, &rng);
    int n_layers = dg_net_layer_count(net);
    size_t scratch = 0;
    float **act = calloc((size_t)n_layers + 1, sizeof *act);
    float **grad = calloc((size_t)n_layers + 1, sizeof *grad);
    void **aux = calloc((size_t)n_layers, sizeof *aux);
    dg_shape in = dg_net_input_shape(net);
    act[0] = alloc_floats((size_t)batch * dg_shape_size(in));
    grad[0] = alloc_floats((size_t)batch * dg_shape_size(in));
    for (size_t j = 0; j < (size_t)batch * dg_shape_size(in); j++) {
        act[0][j] = dg_rng_uniform(&rng);
    }
    for (int i = 0; i < n_layers; i++) {
        const dg_layer *l = dg_net_layer(net, i);
        size_t s = l->ops->scratch_floats(l, batch);
        scratch = s > scratch ? s : scratch;
        act[i + 1] = alloc_floats((size_t)batch * dg_shape_size(l->out));
        grad[i + 1] = alloc_floats((size_t)batch * dg_shape_size(l->out));
        aux[i] = malloc(l->aux_bytes_per_item * (size_t)batch + 1);
        for (size_t j = 0; j < (size_t)batch * dg_shape_size(l->out); j++) {
            grad[i + 1][j] = 1e-3f * (dg_rng_uniform(&rng) - 0.5f);
        }
    }
    float *scratch_buf = alloc_floats(scratch);
    size_t n_params = dg_net_param_count(net);
    float *m = calloc(n_params, sizeof *m), *v = calloc(n_params, sizeof *v);
    double *fwd = calloc((size_t)n_layers * reps, sizeof *fwd);
    double *bwd = calloc((size_t)n_layers * reps, sizeof *bwd);
    double *opt = calloc((size_t)reps, sizeof *opt);
    for (int r = 0; r < reps; r++) {
        for (int i = 0; i < n_layers; i++) {
            const dg_layer *l = dg_net_layer(net, i);
            dg_layer_ctx ctx = {.scratch = scratch_buf,
                                .aux = aux[i],
                                .dparams = dg_net_grads(net),
                                .is_training = true,
                                .bf16 = bf16};
            double t0 = now_seconds();
            l->ops->forward(l, act[i], act[i + 1], batch, &ctx);
            fwd[(size_t)i * reps + r] = now_seconds() - t0;
        }
        for (int i = n_layers - 1; i >= 0; i--) {
            const dg_layer *l = dg_net_layer(net, i);
            dg_layer_ctx ctx = {.scratch = scratch_buf,
                                .aux = aux[i],
                                .dparams = dg_net_grads(net),
                                .is_training = true,
                                .bf16 = bf16};
            double t0 = now_seconds();
            l->ops->backward(l, act[i], act[i + 1], grad[i + 1], i ? grad[i] : NULL, batch, &ctx);
            if (l->ops->batch_grads) {
                /* the weight gradient the net makes after the slices' backward */
                const float *xs[1] = {act[i]};
                const void *auxs[1] = {aux[i]};
                int counts[1] = {batch};
                dg_span spans[2];
                for (int p = 0, parts = l->ops->batch_grad_parts(l); p < parts; p++) {
                    l->ops->batch_grads(l, xs, auxs, counts, 1, dg_net_grads(net), p, parts, false,
                                        spans);
                }
            }
            bwd[(size_t)i * reps + r] = now_seconds() - t0;
        }
        memset(dg_net_grads(net), 0, n_params * sizeof(float));
        double t0 = now_seconds();
        dg_adam_update(dg_net_params(net), dg_net_grads(net), m, v, n_params, 0.9f, 0.999f, 0.0f,
                       1e-7f);
        opt[r] = now_seconds() - t0;
    }
    double total = fastest(opt, reps), flops_total = 0.0;
    double *f = calloc((size_t)n_layers, sizeof *f), *b = calloc((size_t)n_layers, sizeof *b);
    for (int i = 0; i < n_layers; i++) {
        f[i] = fastest(fwd + (size_t)i * reps, reps);
        b[i] = fastest(bwd + (size_t)i * reps, reps);
        total += f[i] + b[i];
    }
    printf("%s, batch %d, one thread, fastest of %d steps; backend %s; %s\n", preset, batch, reps,
           dg_blas_backend(), bf16 ? "bf16" : "fp32");
    printf("%-22s %5s %10s %6s %8s\n", "layer", "pass", "us/batch", "%", "GFLOP/s");
    for (int i = 0; i < n_layers; i++) {
        const dg_layer *l = dg_net_layer(net, i);
        char desc[64];
        dg_spec_describe(l, desc, sizeof desc);
        double fl = forward_flops(l) * batch;
        /* backward: the weight gradient, and the input gradient but for the first layer */
        double bl = fl * (i ? 2.0 : 1.0);
        flops_total += fl + bl;
        printf("%-22s %5s %10.1f %6.1f %8.1f\n", desc, "fwd", 1e6 * f[i], 100.0 * f[i] / total,
               fl > 0 ? fl / f[i] / 1e9 : 0.0);
        printf("%-22s %5s %10.1f %6.1f %8.1f\n", "", "bwd", 1e6 * b[i], 100.0 * b[i] / total,
               bl > 0 ? bl / b[i] / 1e9 : 0.0);
    }
    double o = fastest(opt, reps);
    printf("%-22s %5s %10.1f %6.1f\n", "adam update", "", 1e6 * o, 100.0 * o / total);
    printf("total %.1f us/batch, %.0f images/s, %.2f MFLOP per image, %.1f GFLOP/s\n", 1e6 * total,
           batch / total, flops_total / batch / 1e6, flops_total / total / 1e9);
    return 0;
}
