/*
 * test_golden.c - the library against the PyTorch reference: tiny fixed networks, inputs
 * and labels given by formulas (the same as in scripts/golden.py), whose logits, loss,
 * parameter gradients and one Adam step are compared with the values PyTorch computed,
 * stored in tests/data/golden/NAME.txt; with batch normalisation also the running
 * statistics after the training forward and the logits at inference. Regenerate those
 * files only on purpose, with scripts/golden.py.
 */
#include "nn/net.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

#define BATCH 3
#define SIDE  10

typedef struct golden_case {
    const char *name; /* tests/data/golden/NAME.txt */
    const char *spec;
} golden_case;

static const golden_case tiny_cnn = {
    "tiny-cnn", "conv 2 3 relu, maxpool 2, conv 3 3 relu, flatten, dense 6 relu, dense 10"};
static const golden_case tiny_bn = {
    "tiny-bn", "conv 2 3 pad 1, batchnorm relu, maxpool 2, conv 3 3, batchnorm, relu, flatten, "
               "dense 6, batchnorm relu, dense 10"};

/* Reads the line starting with name into values (at most max); returns how many. */
static int read_golden(const char *path, const char *name, float *values, int max)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        return -1;
    }
    static char line[1 << 16];
    int n = -1;
    size_t len = strlen(name);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, name, len) || line[len] != ' ') {
            continue;
        }
        n = 0;
        char *p = line + len, *end;
        for (;;) {
            float v = strtof(p, &end);
            if (end == p || n == max) {
                break;
            }
            values[n++] = v;
            p = end;
        }
        break;
    }
    fclose(f);
    return n;
}

/* The parameters of scripts/golden.py: 0.5 sin(0.37 i + 0.1) at arena index i, plus 1 for
 * a running variance (the second half of a layer's state), which must be positive. */
static void fill_params(dg_net *net)
{
    float *p = dg_net_params(net);
    size_t at = 0;
    for (int l = 0; l < dg_net_layer_count(net); l++) {
        const dg_layer *layer = dg_net_layer(net, l);
        size_t n = layer->n_weights + layer->n_bias + layer->n_state;
        for (size_t j = 0; j < n; j++, at++) {
            bool is_var = j >= n - layer->n_state / 2 && layer->n_state;
            p[at] = (float)(0.5 * sin(0.37 * (double)at + 0.1) + (is_var ? 1.0 : 0.0));
        }
    }
}

static void run_golden(const golden_case *gc, bool reference, int threads)
{
    char path[256];
    snprintf(path, sizeof path, "%s/golden/%s.txt", test_data_dir(), gc->name);
    dg_net *net;
    CHECK_OK(dg_net_new(gc->spec, (dg_shape){1, SIDE, SIDE}, &net));
    dg_net_set_reference(net, reference);
    CHECK_OK(dg_net_set_threads(net, threads));
    size_t np = dg_net_param_count(net);
    float *p = dg_net_params(net);
    fill_params(net);
    float x[BATCH * SIDE * SIDE];
    for (int j = 0; j < BATCH * SIDE * SIDE; j++) {
        x[j] = (float)(0.5 + 0.5 * cos(0.11 * j));
    }
    uint8_t labels[BATCH] = {3, 7, 1};
    static float want[4096];
    CHECK_OK(dg_net_forward(net, x, BATCH, true, NULL, NULL));
    const float *logits = dg_net_logits(net);
    CHECK_MSG(read_golden(path, "logits", want, 4096) == BATCH * 10, "%s: no logits", path);
    for (int i = 0; i < BATCH * 10; i++) {
        CHECK_NEAR(logits[i], want[i], 1e-5 + 1e-5 * fabs(want[i]));
    }
    float loss = dg_net_backward(net, labels, BATCH);
    int n_state = read_golden(path, "state", want, 4096);
    if (n_state >= 0) {
        /* the running statistics moved by the training forward, the rest unchanged */
        CHECK_MSG(n_state == (int)np, "%s: %zu parameters wanted after the forward", path, np);
        for (size_t i = 0; i < np; i++) {
            CHECK_MSG(fabs(p[i] - want[i]) <= 1e-6 + 1e-5 * fabs(want[i]),
                      "parameter %zu after the forward: %.8g, PyTorch %.8g", i, (double)p[i],
                      (double)want[i]);
        }
    }
    CHECK(read_golden(path, "loss", want, 1) == 1);
    CHECK_NEAR(loss, want[0], 1e-5);
    CHECK_MSG(read_golden(path, "grads", want, 4096) == (int)np, "%s: %zu gradients wanted", path,
              np);
    const float *g = dg_net_grads(net);
    static float want_grads[4096];
    memcpy(want_grads, want, np * sizeof *want);
    for (size_t i = 0; i < np; i++) {
        CHECK_MSG(fabs(g[i] - want[i]) <= 1e-5 + 1e-4 * fabs(want[i]),
                  "gradient %zu: %.8g, PyTorch %.8g", i, (double)g[i], (double)want[i]);
    }
    static float eval_logits[BATCH * 10];
    int n_eval = read_golden(path, "eval", want, 4096);
    if (n_eval >= 0) {
        /* inference normalises with the running statistics */
        CHECK(n_eval == BATCH * 10);
        float *keep = malloc(np * sizeof *keep);
        memcpy(keep, g, np * sizeof *keep);
        CHECK_OK(dg_net_forward(net, x, BATCH, false, NULL, NULL));
        memcpy(eval_logits, dg_net_logits(net), sizeof eval_logits);
        g = dg_net_grads(net);
        CHECK(memcmp(keep, g, np * sizeof *keep) == 0);
        free(keep);
        for (int i = 0; i < BATCH * 10; i++) {
            CHECK_MSG(fabs(eval_logits[i] - want[i]) <= 1e-5 + 1e-5 * fabs(want[i]),
                      "logit %d at inference: %.8g, PyTorch %.8g", i, (double)eval_logits[i],
                      (double)want[i]);
        }
    }
    dg_optim_config cfg = dg_optim_defaults(DG_OPTIM_ADAM);
    dg_optim *opt;
    CHECK_OK(dg_optim_new(&cfg, np, &opt));
    dg_optim_step(opt, p, g, cfg.lr);
    dg_optim_free(opt);
    CHECK((size_t)read_golden(path, "adam", want, 4096) == np);
    for (size_t i = 0; i < np; i++) {
        /* a gradient that is 0 but for rounding (a conv bias before batchnorm) gets a first
         * Adam step of up to lr either way: only its size is checked */
        double tol = fabs(want_grads[i]) < 1e-6 ? 2.0 * cfg.lr : 1e-6;
        CHECK_MSG(fabs(p[i] - want[i]) <= tol, "parameter %zu after Adam: %.8g, PyTorch %.8g", i,
                  (double)p[i], (double)want[i]);
    }
    dg_net_free(net);
}

DG_TEST(golden_reference_loops)
{
    run_golden(&tiny_cnn, true, 1);
}

DG_TEST(golden_fast_kernels)
{
    run_golden(&tiny_cnn, false, 1);
}

DG_TEST(golden_fast_kernels_two_threads)
{
    run_golden(&tiny_cnn, false, 2);
}

DG_TEST(golden_batchnorm_reference_loops)
{
    run_golden(&tiny_bn, true, 1);
}

DG_TEST(golden_batchnorm_fast_kernels)
{
    run_golden(&tiny_bn, false, 1);
}

DG_TEST(golden_batchnorm_two_threads)
{
    run_golden(&tiny_bn, false, 2);
}
