/*
 * test_explain.c - "why" answers: the gradient of one class's score with respect to the
 * input, checked against central differences of the logit through conv, max pooling,
 * dropout (off at inference), batchnorm (its running statistics) and dense layers; the per-pixel
 * heat of a 28x28 digit and its picture; predict --explain from the command line.
 */
#include "test.h"

#include <stdlib.h>
#include <string.h>

/* logit cls of one input, at inference */
static float logit_of(dg_net *net, const float *x, int cls)
{
    const float *probs;
    if (dg_net_forward(net, x, 1, false, NULL, &probs) != DG_OK) {
        return NAN;
    }
    return dg_net_logits(net)[cls];
}

static void check_class_gradient(const char *spec)
{
    dg_net *net;
    dg_shape in = {1, 8, 8};
    CHECK_OK(dg_net_new(spec, in, &net));
    dg_rng rng;
    dg_rng_seed(&rng, 7);
    dg_net_init_params(net, &rng);
    float x[64], grad[64];
    float batch[8 * 64];
    for (int i = 0; i < 8 * 64; i++) {
        batch[i] = 2.0f * dg_rng_uniform(&rng);
    }
    /* training passes move batchnorm's running statistics away from 0 and 1 */
    for (int k = 0; k < 5; k++) {
        CHECK_OK(dg_net_forward(net, batch, 8, true, &rng, NULL));
    }
    for (int i = 0; i < 64; i++) {
        x[i] = dg_rng_uniform(&rng);
    }
    const int cls = 3;
    dg_status st = dg_net_class_gradient(net, x, cls, grad);
    int nonzero = 0;
    for (int i = 0; st == DG_OK && i < 64; i++) {
        float keep = x[i];
        const float h = 1e-3f;
        x[i] = keep + h;
        float up = logit_of(net, x, cls);
        x[i] = keep - h;
        float down = logit_of(net, x, cls);
        x[i] = keep;
        float numeric = (up - down) / (2 * h);
        nonzero += grad[i] != 0.0f;
        if (!(fabsf(numeric - grad[i]) <= 2e-2f * (1.0f + fabsf(numeric)))) {
            test_fail(__FILE__, __LINE__, "input %d: gradient %g, differences %g", i,
                      (double)grad[i], (double)numeric);
            break;
        }
    }
    CHECK(dg_net_class_gradient(net, x, 10, grad) == DG_ERR_ARG);
    CHECK(dg_net_class_gradient(net, x, -1, grad) == DG_ERR_ARG);
    dg_net_free(net);
    CHECK_OK(st);
    CHECK_MSG(nonzero > 10, "only %d inputs have a gradient", nonzero);
}

DG_TEST(explain_class_gradient_matches_differences)
{
    check_class_gradient("conv 4 3 relu, maxpool 2, dropout 0.5, flatten, dense 10");
    check_class_gradient("conv 4 3, batchnorm relu, maxpool 2, flatten, dense 6, batchnorm, "
                         "dense 10");
}

DG_TEST(explain_mnist_heat_and_picture)
{
    dg_net *net;
    dg_shape in = {1, 28, 28};
    CHECK_OK(dg_net_new("flatten, dense 10", in, &net));
    /* class 4's score is the sum of the ink in the top-left quarter, scaled */
    float *w = dg_net_params(net);
    memset(w, 0, dg_net_param_count(net) * sizeof *w);
    for (int i = 0; i < DG_MNIST_PIXELS; i++) {
        if (i / 28 < 14 && i % 28 < 14) {
            w[4 * DG_MNIST_PIXELS + i] = 0.5f;
        }
    }
    uint8_t digit[DG_MNIST_PIXELS] = {0};
    float heat[DG_MNIST_PIXELS];
    dg_norm norm = dg_norm_default();
    dg_status st = dg_explain_mnist(net, &norm, digit, 4, heat);
    dg_net_free(net);
    CHECK_OK(st);
    CHECK_NEAR(heat[0], 0.5 / 255.0, 1e-7);
    CHECK_NEAR(heat[27], 0.0, 0.0);
    CHECK_NEAR(heat[27 * 28], 0.0, 0.0);
    dg_image *pic;
    CHECK_OK(dg_heatmap_picture(digit, heat, 3, &pic));
    bool ok = pic->w == 84 && pic->h == 84 && pic->channels == 3;
    /* top-left red-tinted, bottom-right white */
    const uint8_t *tl = pic->pixels, *br = pic->pixels + (size_t)(84 * 84 - 1) * 3;
    ok = ok && tl[0] > tl[2] + 50 && br[0] == 255 && br[1] == 255 && br[2] == 255;
    dg_image_free(pic);
    CHECK_MSG(ok, "heat-map picture: wrong size or colours");
    CHECK(dg_heatmap_picture(digit, heat, 0, &pic) == DG_ERR_ARG && !pic);
}
