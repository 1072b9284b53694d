/*
 * test_gradcheck.c - finite-difference checks of every layer kind and of the loss.
 *
 * Each row builds a small net around one layer kind, draws inputs and parameters, and
 * compares back-propagated gradients of the mean cross-entropy (parameters and input)
 * with central differences, in both the reference loops and the fast kernels. Inputs
 * are drawn away from ReLU and max-pool kinks (no value within a margin of 0, no near
 * ties), and a check fails when the analytic gradient is all zero. Every kind of the
 * layer registry needs a row whose net uses it.
 */
#include "nn/net.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

typedef struct grad_case {
    const char *name;
    const char *spec;
    dg_shape input;
} grad_case;

static const grad_case cases[] = {
    {"conv", "conv 3 3, flatten, dense 4", {2, 6, 6}},
    {"conv_relu", "conv 3 3 relu, flatten, dense 4", {2, 6, 6}},
    {"conv_k5", "conv 2 5 relu, flatten, dense 3", {1, 7, 8}},
    {"conv_k1", "conv 3 1, flatten, dense 3", {2, 4, 4}},
    {"conv_pad", "conv 3 3 pad 1 relu, flatten, dense 3", {2, 5, 4}},
    {"conv_pad2_k5", "conv 2 5 pad 2, maxpool 2, flatten, dense 3", {1, 6, 6}},
    {"maxpool", "conv 2 3, maxpool 2, flatten, dense 3", {1, 7, 7}},
    {"avgpool", "conv 2 3, avgpool 2, flatten, dense 3", {1, 7, 7}},
    {"dense_relu", "flatten, dense 5 relu, dense 3", {1, 3, 4}},
    {"relu", "flatten, dense 6, relu, dense 3", {1, 2, 5}},
    {"tanh", "conv 2 3, tanh, flatten, dense 3", {1, 5, 5}},
    {"sigmoid", "flatten, dense 6, sigmoid, dense 3", {1, 2, 5}},
    {"dropout", "flatten, dense 8 relu, dropout 0.3, dense 3", {1, 3, 3}},
    {"batchnorm", "conv 3 3 pad 1, batchnorm, flatten, dense 3", {2, 4, 4}},
    {"batchnorm_relu", "conv 3 3, batchnorm relu, maxpool 2, flatten, dense 3", {1, 6, 6}},
    {"batchnorm_dense", "flatten, dense 6, batchnorm relu, dense 3", {1, 2, 5}},
    {"seed_cnn_small",
     "conv 4 3 relu, maxpool 2, conv 5 3 relu, maxpool 2, flatten, "
     "dense 6 relu, dense 10",
     {1, 12, 12}},
};

#define BATCH 3

/* Loss of the current parameters at x; the rng copy fixes dropout masks. */
static double loss_at(dg_net *net, const float *x, const uint8_t *labels, const dg_rng *rng)
{
    dg_rng r = *rng;
    if (dg_net_forward(net, x, BATCH, true, &r, NULL) != DG_OK) {
        test_fail(__FILE__, __LINE__, "forward: %s", dg_last_error());
        return NAN;
    }
    return dg_net_backward(net, labels, BATCH);
}

/* A step that crosses a ReLU or max-pool kink shows as a second difference far above
 * what float rounding and smooth curvature give; such coordinates are skipped. */
static int crosses_kink(double up, double base, double down)
{
    return fabs(up - 2.0 * base + down) > 2e-6;
}

static int close_enough(double analytic, double numeric)
{
    double diff = fabs(analytic - numeric);
    return diff <= 2e-3 + 2e-2 * fabs(numeric);
}

/* Draws values in +-[0.1, 1] so that no ReLU input sits on its kink by accident. */
static float away_from_zero(dg_rng *rng)
{
    float v = 0.1f + 0.9f * dg_rng_uniform(rng);
    return dg_rng_uniform(rng) < 0.5f ? -v : v;
}

static void check_case(const grad_case *gc, bool reference, int threads)
{
    dg_net *net;
    CHECK_OK(dg_net_new(gc->spec, gc->input, &net));
    dg_net_set_reference(net, reference);
    CHECK_OK(dg_net_set_threads(net, threads));
    CHECK_OK(dg_net_set_input_grad(net, true));
    dg_rng rng;
    dg_rng_seed(&rng, 42);
    dg_net_init_params(net, &rng);
    size_t np = dg_net_param_count(net);
    float *params = dg_net_params(net);
    for (size_t i = 0; i < np; i++) {
        params[i] += 0.05f * away_from_zero(&rng); /* non-zero biases too */
    }
    size_t in_size = (size_t)gc->input.c * gc->input.h * gc->input.w;
    float *x = malloc(BATCH * in_size * sizeof *x);
    float *grads = malloc(np * sizeof *grads);
    float *xgrad = malloc(BATCH * in_size * sizeof *xgrad);
    uint8_t labels[BATCH] = {0, 1, 2};
    for (size_t i = 0; i < BATCH * in_size; i++) {
        x[i] = away_from_zero(&rng);
    }
    dg_rng drop = rng;
    loss_at(net, x, labels, &drop);
    memcpy(grads, dg_net_grads(net), np * sizeof *grads);
    memcpy(xgrad, dg_net_input_grad(net), BATCH * in_size * sizeof *xgrad);

    int bad = 0, nonzero = 0, kinks = 0, checked = 0;
    const float eps = 1e-3f;
    double base = loss_at(net, x, labels, &drop);
    size_t stride = np > 60 ? np / 60 : 1;
    for (size_t i = 0; i < np && !bad; i += stride) {
        float keep = params[i];
        params[i] = keep + eps;
        double up = loss_at(net, x, labels, &drop);
        params[i] = keep - eps;
        double down = loss_at(net, x, labels, &drop);
        params[i] = keep;
        if (crosses_kink(up, base, down)) {
            kinks++;
            continue;
        }
        checked++;
        double numeric = (up - down) / (2.0 * eps);
        nonzero += grads[i] != 0.0f;
        if (!close_enough(grads[i], numeric)) {
            test_fail(__FILE__, __LINE__, "%s: parameter %zu: analytic %.6g, numeric %.6g",
                      gc->name, i, (double)grads[i], numeric);
            bad = 1;
        }
    }
    size_t xstride = BATCH * in_size > 40 ? BATCH * in_size / 40 : 1;
    int x_nonzero = 0;
    for (size_t i = 0; i < BATCH * in_size && !bad; i += xstride) {
        float keep = x[i];
        x[i] = keep + eps;
        double up = loss_at(net, x, labels, &drop);
        x[i] = keep - eps;
        double down = loss_at(net, x, labels, &drop);
        x[i] = keep;
        if (crosses_kink(up, base, down)) {
            kinks++;
            continue;
        }
        checked++;
        double numeric = (up - down) / (2.0 * eps);
        x_nonzero += xgrad[i] != 0.0f;
        if (!close_enough(xgrad[i], numeric)) {
            test_fail(__FILE__, __LINE__, "%s: input %zu: analytic %.6g, numeric %.6g", gc->name, i,
                      (double)xgrad[i], numeric);
            bad = 1;
        }
    }
    free(x);
    free(grads);
    free(xgrad);
    dg_net_free(net);
    CHECK(!bad);
    CHECK_MSG(kinks * 4 < checked, "%s: %d of %d steps crossed a kink", gc->name, kinks,
              kinks + checked);
    CHECK_MSG(nonzero > 0, "%s: all sampled parameter gradients are zero", gc->name);
    CHECK_MSG(x_nonzero > 0, "%s: all sampled input gradients are zero", gc->name);
}

DG_TEST(gradcheck_reference_layers)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        check_case(&cases[i], true, 1);
    }
}

DG_TEST(gradcheck_fast_layers)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        check_case(&cases[i], false, 1);
    }
}

DG_TEST(gradcheck_fast_layers_two_threads)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        check_case(&cases[i], false, 2);
    }
}

/* A row of the table above builds a net with a layer of this kind. */
static bool kind_has_row(const dg_layer_ops *ops)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dg_net *net;
        if (dg_net_new(cases[i].spec, cases[i].input, &net) != DG_OK) {
            continue;
        }
        bool found = false;
        for (int j = 0; j < dg_net_layer_count(net) && !found; j++) {
            dg_layer_info info;
            dg_net_layer_info(net, j, &info);
            found = !strcmp(info.kind, ops->name);
        }
        dg_net_free(net);
        if (found) {
            return true;
        }
    }
    return false;
}

DG_TEST(gradcheck_every_layer_kind_has_a_row)
{
    for (int i = 0; dg_layer_registry[i]; i++) {
        CHECK_MSG(kind_has_row(dg_layer_registry[i]),
                  "layer kind '%s' has no row in the gradient-check table",
                  dg_layer_registry[i]->name);
    }
}

/* Whole-net directional check: the loss change along a random direction d in parameter
 * space matches the gradient's dot product with d. */
DG_TEST(gradcheck_whole_net_direction)
{
    dg_net *net;
    CHECK_OK(dg_net_new(dg_preset_spec("seed-cnn"), (dg_shape){1, 28, 28}, &net));
    dg_rng rng;
    dg_rng_seed(&rng, 7);
    dg_net_init_params(net, &rng);
    size_t np = dg_net_param_count(net);
    float x[BATCH * DG_MNIST_PIXELS];
    for (int i = 0; i < BATCH * DG_MNIST_PIXELS; i++) {
        x[i] = dg_rng_uniform(&rng);
    }
    uint8_t labels[BATCH] = {3, 7, 1};
    float *p = dg_net_params(net);
    float *d = malloc(np * sizeof *d);
    float *p0 = malloc(np * sizeof *p0);
    memcpy(p0, p, np * sizeof *p0);
    double dot = 0.0;
    loss_at(net, x, labels, &rng);
    const float *g = dg_net_grads(net);
    for (size_t i = 0; i < np; i++) {
        d[i] = dg_rng_normal(&rng);
        dot += (double)d[i] * g[i];
    }
    const double h = 1e-4;
    for (size_t i = 0; i < np; i++) {
        p[i] = p0[i] + (float)h * d[i];
    }
    double up = loss_at(net, x, labels, &rng);
    for (size_t i = 0; i < np; i++) {
        p[i] = p0[i] - (float)h * d[i];
    }
    double down = loss_at(net, x, labels, &rng);
    free(d);
    free(p0);
    dg_net_free(net);
    double numeric = (up - down) / (2 * h);
    CHECK(dot != 0.0);
    CHECK_NEAR(dot, numeric, 0.02 * fabs(numeric) + 1e-3);
}
