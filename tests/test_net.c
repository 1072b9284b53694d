/*
 * test_net.c - the network library: spec parsing, shapes and parameter counts, forward
 * results worked out by hand, fast kernels against the reference loops, threads,
 * determinism, optimiser steps by hand, and a learning test.
 */
#include "nn/net.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

DG_TEST(net_preset_parameter_counts)
{
    /* worked out by hand: conv 1->32 3x3: 32*9+32; conv 32->64: 64*32*9+64;
     * dense 1600->64: 1600*64+64; dense 64->10: 640+10 */
    dg_net *net;
    CHECK_OK(dg_net_new(dg_preset_spec("seed-cnn"), (dg_shape){1, 28, 28}, &net));
    size_t count = dg_net_param_count(net);
    dg_layer_info info;
    dg_net_layer_info(net, 4, &info);
    dg_net_free(net);
    CHECK(count == 320 + 18496 + 102464 + 650);
    CHECK(info.out.c == 1600 && info.out.h == 1 && info.out.w == 1);
    CHECK_OK(dg_net_new(dg_preset_spec("mlp"), (dg_shape){1, 28, 28}, &net));
    count = dg_net_param_count(net);
    dg_net_free(net);
    CHECK(count == DG_MNIST_PIXELS * 128 + 128 + 128 * 128 + 128 + 1290);
    CHECK_OK(dg_net_new(dg_preset_spec("seed-cnn-dropout"), (dg_shape){1, 28, 28}, &net));
    count = dg_net_param_count(net);
    dg_net_free(net);
    CHECK(count == 320 + 18496 + 1600 * 128 + 128 + 1290);
}

/* Every preset builds and has a description and training settings; fast's by hand. */
DG_TEST(net_presets_one_table)
{
    const char *const *names = dg_preset_names();
    int n = 0;
    for (; names[n]; n++) {
        dg_net *net;
        CHECK_MSG(dg_preset_spec(names[n]), "%s: no spec", names[n]);
        CHECK_OK(dg_net_new(dg_preset_spec(names[n]), (dg_shape){1, 28, 28}, &net));
        dg_net_free(net);
        const char *description = dg_preset_description(names[n]);
        CHECK_MSG(description && description[0], "%s: no description", names[n]);
        dg_train_config cfg;
        CHECK_OK(dg_preset_train_config(names[n], &cfg));
        CHECK(cfg.epochs >= 1 && cfg.batch >= 1 && cfg.optim.lr > 0.0f);
    }
    CHECK(n == 5 && !strcmp(names[0], "seed-cnn") && !strcmp(names[4], "best"));
    dg_train_config cfg;
    CHECK_OK(dg_preset_train_config("seed-cnn", &cfg));
    CHECK(!cfg.augment.on && cfg.precision == DG_PRECISION_FP32);
    CHECK_OK(dg_preset_train_config("best", &cfg));
    CHECK(cfg.augment.on && cfg.val_split == 0.0);
    CHECK_OK(dg_augment_check(&cfg.augment));
    CHECK_OK(dg_preset_train_config("fast", &cfg));
    CHECK(cfg.epochs == 1 && cfg.batch == 128 && cfg.optim.lr == 1e-2f && cfg.optim.beta1 == 0.7f &&
          cfg.optim.beta2 == 0.9f && cfg.schedule == DG_SCHEDULE_ONECYCLE && cfg.val_split == 0.0);
    CHECK(cfg.precision == DG_PRECISION_BF16);
    CHECK_OK(dg_preset_train_config("mlp", &cfg));
    CHECK(cfg.epochs == 3 && cfg.batch == 32 && cfg.schedule == DG_SCHEDULE_COSINE);
    CHECK_STATUS(dg_preset_train_config("nope", &cfg), DG_ERR_ARG);
    CHECK(!dg_preset_spec("nope") && !dg_preset_description("nope"));
}

DG_TEST(net_spec_canonical_round_trip)
{
    dg_net *net, *again;
    CHECK_OK(dg_net_new("  Conv 8 3x3 ReLU,maxpool 2 ,flatten, dense 10 softmax",
                        (dg_shape){1, 9, 9}, &net));
    CHECK(!strcmp(dg_net_spec(net), "conv 8 3 relu, maxpool 2, flatten, dense 10"));
    CHECK_OK(dg_net_new(dg_net_spec(net), (dg_shape){1, 9, 9}, &again));
    CHECK(!strcmp(dg_net_spec(net), dg_net_spec(again)));
    CHECK(dg_net_param_count(net) == dg_net_param_count(again));
    dg_net_free(net);
    dg_net_free(again);
}

DG_TEST(net_spec_errors)
{
    static const char *const bad[] = {
        "",                               /* empty */
        "conv 32 3 relu",                 /* no class scores at the end */
        "conv 32 4, flatten, dense 10",   /* even kernel */
        "conv 32 29, flatten, dense 10",  /* kernel larger than the input */
        "dense 10",                       /* dense on a 28x28 input */
        "flatten, dense 10,, dense 10",   /* empty layer */
        "flatten, dense ten",             /* not a number */
        "flatten, dense 10 relu extra",   /* extra argument */
        "flatten, softmax 10",            /* unknown layer */
        "flatten, dropout 1.5, dense 10", /* rate out of range */
        "flatten, dense 1",               /* a single class */
        "flatten, dense 100",             /* too many classes */
        "maxpool 30, flatten, dense 10",  /* pool larger than the input */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dg_net *net = (dg_net *)1;
        dg_status st = dg_net_new(bad[i], (dg_shape){1, 28, 28}, &net);
        CHECK_MSG(st == DG_ERR_ARG, "spec '%s' gave %s, want %s", bad[i], dg_status_name(st),
                  dg_status_name(DG_ERR_ARG));
        CHECK(net == NULL);
        CHECK_MSG(dg_last_error()[0] != '\0', "spec '%s' left no message", bad[i]);
    }
}

/* A layer that does not fit says once which layer it is and what is wrong. */
DG_TEST(net_spec_layer_error_message)
{
    static const char *const cases[][2] = {
        {"conv 2 3, conv 4 3 relu, flatten, dense 10",
         "spec: layer 2 (conv 4 3 relu): kernel 3x3 larger than its 2x2 input"},
        {"flatten, dense 10, dropout 1.5, dense 10",
         "spec: layer 3 (dropout 1.5): rate 1.5 (want 0 <= rate < 1)"},
        {"dense 10", "spec: layer 1 (dense 10): input is 1x4x4; add 'flatten' before it"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dg_net *net;
        CHECK_STATUS(dg_net_new(cases[i][0], (dg_shape){1, 4, 4}, &net), DG_ERR_ARG);
        CHECK_MSG(!strcmp(dg_last_error(), cases[i][1]), "'%s': got \"%s\"", cases[i][0],
                  dg_last_error());
    }
}

/* conv 1 3 over a 3x3 input is one dot product; maxpool 2 of 4x4 by hand. */
DG_TEST(net_forward_by_hand)
{
    dg_net *net;
    CHECK_OK(dg_net_new("conv 2 3 relu, flatten, dense 2", (dg_shape){1, 3, 3}, &net));
    float *p = dg_net_params(net);
    /* conv weights [2][1][3][3], biases [2], dense [2][2], biases [2] */
    for (int i = 0; i < 9; i++) {
        p[i] = (float)(i + 1);            /* channel 0: 1..9 */
        p[9 + i] = i == 4 ? -1.0f : 0.0f; /* channel 1: minus the centre */
    }
    p[18] = 0.5f;
    p[19] = 0.25f;
    p[20] = 1.0f, p[21] = 0.0f, p[22] = 0.0f, p[23] = 2.0f; /* identity-ish dense */
    p[24] = 0.0f, p[25] = -1.0f;
    float x[9] = {1, 0, 0, 0, 2, 0, 0, 0, 1};
    /* channel 0: 1*1 + 5*2 + 9*1 + 0.5 = 20.5; channel 1: -2 + 0.25 = -1.75 -> relu 0 */
    CHECK_OK(dg_net_forward(net, x, 1, false, NULL, NULL));
    const float *z = dg_net_logits(net);
    CHECK_NEAR(z[0], 20.5, 1e-5);
    CHECK_NEAR(z[1], -1.0, 1e-5);
    dg_net_free(net);

    CHECK_OK(dg_net_new("maxpool 2, flatten, dense 4", (dg_shape){1, 4, 4}, &net));
    p = dg_net_params(net);
    memset(p, 0, dg_net_param_count(net) * sizeof *p);
    for (int i = 0; i < 4; i++) {
        p[i * 4 + i] = 1.0f; /* dense = identity over the 4 pooled values */
    }
    float y[16] = {1, 5, 2, 0, 3, 4, 8, -1, -3, -2, 0, 0, -4, -5, 7, 6};
    CHECK_OK(dg_net_forward(net, y, 1, false, NULL, NULL));
    z = dg_net_logits(net);
    CHECK_NEAR(z[0], 5, 0);
    CHECK_NEAR(z[1], 8, 0);
    CHECK_NEAR(z[2], -2, 0);
    CHECK_NEAR(z[3], 7, 0);
    /* softmax of the output sums to one */
    const float *probs;
    CHECK_OK(dg_net_forward(net, y, 1, false, NULL, &probs));
    CHECK_NEAR(probs[0] + probs[1] + probs[2] + probs[3], 1.0, 1e-6);
    dg_net_free(net);
}

/* A forward that cannot run says so and leaves no probabilities to read. */
DG_TEST(net_forward_status)
{
    dg_net *net;
    CHECK_OK(dg_net_new("flatten, dense 2", (dg_shape){1, 2, 2}, &net));
    float x[4] = {0};
    const float *probs = x;
    dg_status st = dg_net_forward(net, x, 0, false, NULL, &probs);
    dg_net_free(net);
    CHECK(st == DG_ERR_ARG && probs == NULL);
    CHECK(!strcmp(dg_last_error(), "forward: 0 examples (want at least 1)"));
}

static void random_batch(dg_rng *rng, float *x, uint8_t *labels, int n, int size)
{
    for (int i = 0; i < n * size; i++) {
        x[i] = dg_rng_uniform(rng);
    }
    for (int i = 0; i < n; i++) {
        labels[i] = (uint8_t)dg_rng_below(rng, 10);
    }
}

/* The fast kernels and threads agree with the plain loops on seed-cnn. */
DG_TEST(net_fast_matches_reference)
{
    enum { N = 7 };
    static float x[N * DG_MNIST_PIXELS];
    uint8_t labels[N];
    dg_rng rng;
    dg_rng_seed(&rng, 3);
    random_batch(&rng, x, labels, N, DG_MNIST_PIXELS);
    dg_net *ref, *fast;
    CHECK_OK(dg_net_new(dg_preset_spec("seed-cnn-dropout"), (dg_shape){1, 28, 28}, &ref));
    CHECK_OK(dg_net_new(dg_preset_spec("seed-cnn-dropout"), (dg_shape){1, 28, 28}, &fast));
    dg_net_set_reference(ref, true);
    CHECK_OK(dg_net_set_threads(fast, 2));
    dg_net_init_params(ref, &rng);
    size_t np = dg_net_param_count(ref);
    memcpy(dg_net_params(fast), dg_net_params(ref), np * sizeof(float));
    dg_rng r1 = rng, r2 = rng;
    const float *pr, *pf;
    CHECK_OK(dg_net_forward(ref, x, N, true, &r1, &pr));
    CHECK_OK(dg_net_forward(fast, x, N, true, &r2, &pf));
    for (int i = 0; i < N * 10; i++) {
        CHECK_NEAR(pr[i], pf[i], 1e-5);
    }
    float lr = dg_net_backward(ref, labels, N);
    float lf = dg_net_backward(fast, labels, N);
    CHECK_NEAR(lr, lf, 1e-5);
    const float *gr = dg_net_grads(ref), *gf = dg_net_grads(fast);
    double max_g = 0.0;
    for (size_t i = 0; i < np; i++) {
        max_g = fmax(max_g, fabs(gr[i]));
    }
    CHECK(max_g > 0.0);
    for (size_t i = 0; i < np; i++) {
        CHECK_MSG(fabs(gr[i] - gf[i]) <= 1e-4 * max_g, "gradient %zu: reference %g, fast %g", i,
                  (double)gr[i], (double)gf[i]);
    }
    dg_net_free(ref);
    dg_net_free(fast);
}

/* Convolutions of awkward shapes (rows wider than a tile, several rows per vector, one
 * output column, channel counts that are not a multiple of the tile) agree with the
 * plain loops, batched on one thread and as a single image split across two, forward and,
 * for training, in every gradient. */
DG_TEST(net_conv_shapes_fast_match_reference)
{
    static const struct {
        const char *spec;
        dg_shape input;
    } cases[] = {
        {"conv 13 3 relu, flatten, dense 3", {2, 9, 50}},
        {"conv 5 1, flatten, dense 3", {3, 4, 7}},
        {"conv 8 5 relu, flatten, dense 3", {1, 6, 5}},
        {"conv 24 5 relu, flatten, dense 3", {1, 28, 28}},
        {"conv 1 3, flatten, dense 3", {1, 3, 3}},
        {"conv 17 3 relu, flatten, dense 3", {4, 13, 13}},
        {"conv 9 7 relu, flatten, dense 3", {2, 20, 64}},
        /* below another convolution, so that its input gradient is used */
        {"conv 3 3 relu, conv 37 3 relu, flatten, dense 3", {1, 12, 11}},
        {"conv 5 3, conv 16 5 pad 2 relu, flatten, dense 3", {2, 9, 9}},
        {"conv 40 3 relu, conv 33 1, flatten, dense 3", {1, 5, 18}},
        /* input gradients: a plane of fewer positions than a tile (2x3); 20 positions, whose
         * last tile overlaps the one before, and 35 channels, a tile and a remainder */
        {"conv 6 3 relu, conv 7 3 relu, flatten, dense 3", {2, 6, 7}},
        {"conv 35 3, conv 9 3 relu, flatten, dense 3", {1, 9, 8}},
        {"conv 20 3 relu, conv 6 3 relu, flatten, dense 3", {1, 9, 9}}, /* 16 + 4 channels */
        /* max pooling after a ReLU takes the ReLU's gradient (odd sizes, windows of 2 and 3) */
        {"conv 5 3 relu, maxpool 2, conv 7 3 relu, maxpool 3, flatten, dense 3", {2, 15, 14}},
        /* 2x2 pooling's gradient written in one pass: rows of 17 and 10 outputs, an odd height
         * and width whose last row and column are in no window, with and without the ReLU */
        {"conv 4 3 relu, maxpool 2, flatten, dense 3", {1, 21, 37}},
        {"conv 3 3, maxpool 2, flatten, dense 3", {2, 20, 22}},
    };
    enum { N = 3 };
    dg_rng rng;
    dg_rng_seed(&rng, 17);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        dg_net *ref, *fast, *split;
        CHECK_OK(dg_net_new(cases[c].spec, cases[c].input, &ref));
        CHECK_OK(dg_net_new(cases[c].spec, cases[c].input, &fast));
        CHECK_OK(dg_net_new(cases[c].spec, cases[c].input, &split));
        dg_net_set_reference(ref, true);
        CHECK_OK(dg_net_set_threads(fast, 1));
        CHECK_OK(dg_net_set_threads(split, 2));
        dg_net_init_params(ref, &rng);
        size_t np = dg_net_param_count(ref);
        float *params = dg_net_params(ref);
        for (size_t i = 0; i < np; i++) {
            params[i] += 0.05f * (dg_rng_uniform(&rng) - 0.5f); /* biases too */
        }
        memcpy(dg_net_params(fast), params, np * sizeof(float));
        memcpy(dg_net_params(split), params, np * sizeof(float));
        size_t size = (size_t)cases[c].input.c * cases[c].input.h * cases[c].input.w;
        float *x = malloc(N * size * sizeof(float));
        for (size_t i = 0; i < N * size; i++) {
            x[i] = dg_rng_uniform(&rng) - 0.3f;
        }
        float want[N * 3], got[N * 3], one[3];
        CHECK_OK(dg_net_forward(ref, x, N, false, NULL, NULL));
        memcpy(want, dg_net_logits(ref), sizeof want);
        CHECK_OK(dg_net_forward(fast, x, N, false, NULL, NULL));
        memcpy(got, dg_net_logits(fast), sizeof got);
        CHECK_OK(dg_net_forward(split, x + size, 1, false, NULL, NULL));
        memcpy(one, dg_net_logits(split), sizeof one);
        for (int i = 0; i < N * 3; i++) {
            CHECK_MSG(fabsf(want[i] - got[i]) <= 1e-4f * (1.0f + fabsf(want[i])),
                      "%s: logit %d: reference %g, fast %g", cases[c].spec, i, (double)want[i],
                      (double)got[i]);
        }
        for (int i = 0; i < 3; i++) {
            CHECK_MSG(fabsf(want[3 + i] - one[i]) <= 1e-4f * (1.0f + fabsf(want[3 + i])),
                      "%s: one image, logit %d: reference %g, two threads %g", cases[c].spec, i,
                      (double)want[3 + i], (double)one[i]);
        }
        /* training: every parameter's gradient, the input's through the layers above */
        uint8_t labels[N] = {0, 2, 1};
        dg_rng r1 = rng, r2 = rng;
        CHECK_OK(dg_net_forward(ref, x, N, true, &r1, NULL));
        CHECK_OK(dg_net_forward(fast, x, N, true, &r2, NULL));
        dg_net_backward(ref, labels, N);
        dg_net_backward(fast, labels, N);
        const float *gr = dg_net_grads(ref), *gf = dg_net_grads(fast);
        double max_g = 0.0;
        for (size_t i = 0; i < np; i++) {
            max_g = fmax(max_g, fabs(gr[i]));
        }
        CHECK(max_g > 0.0);
        for (size_t i = 0; i < np; i++) {
            CHECK_MSG(fabs(gr[i] - gf[i]) <= 1e-4 * max_g,
                      "%s: gradient %zu: reference %g, fast %g", cases[c].spec, i, (double)gr[i],
                      (double)gf[i]);
        }
        free(x);
        dg_net_free(ref);
        dg_net_free(fast);
        dg_net_free(split);
    }
}

/* The net for spec with the 2x2 max pooling after each convolution kept apart from it: an
 * "avgpool 1" (which gives its input, and passes its gradient, unchanged) between the two,
 * so that the convolution stores its whole output and the pooling reads it. */
static dg_net *net_pooling_apart(const char *spec, dg_shape input)
{
    char apart[512] = "";
    const char *at = spec;
    for (const char *hit; (hit = strstr(at, ", maxpool 2")); at = hit) {
        strncat(apart, at, (size_t)(hit - at));
        strcat(apart, ", avgpool 1, maxpool 2");
        hit += strlen(", maxpool 2");
    }
    strcat(apart, at);
    dg_net *net = NULL;
    return dg_net_new(apart, input, &net) == DG_OK ? net : NULL;
}

/* One training step of fused and apart on the same n examples: the logits equal, and the
 * gradients equal (tol 0) or within tol of the largest. */
static void check_pooling_fused(const char *spec, dg_net *fused, dg_net *apart, const float *x,
                                int n, double tol)
{
    uint8_t labels[3] = {0, 2, 1};
    dg_rng r1, r2;
    dg_rng_seed(&r1, 1);
    dg_rng_seed(&r2, 1);
    size_t np = dg_net_param_count(fused);
    CHECK_OK(dg_net_forward(fused, x, n, true, &r1, NULL));
    CHECK_OK(dg_net_forward(apart, x, n, true, &r2, NULL));
    const float *lf = dg_net_logits(fused), *la = dg_net_logits(apart);
    for (int i = 0; i < n * 3; i++) {
        CHECK_MSG(lf[i] == la[i], "%s, %d examples: logit %d: fused %.9g, apart %.9g", spec, n, i,
                  (double)lf[i], (double)la[i]);
    }
    dg_net_backward(fused, labels, n);
    dg_net_backward(apart, labels, n);
    const float *gf = dg_net_grads(fused), *ga = dg_net_grads(apart);
    double max_g = 0.0;
    for (size_t i = 0; i < np; i++) {
        max_g = fmax(max_g, fabs(ga[i]));
    }
    CHECK(max_g > 0.0);
    for (size_t i = 0; i < np; i++) {
        CHECK_MSG(fabs(gf[i] - ga[i]) <= tol * max_g,
                  "%s, %d examples: gradient %zu: fused %.9g, apart %.9g", spec, n, i,
                  (double)gf[i], (double)ga[i]);
    }
}

/* A convolution followed by 2x2 max pooling writes the pooled output and argmax as it
 * stores its sums, in training: the same bits as the two layers apart, forward and in
 * every gradient, in fp32 (the same sums in the same order, the same comparisons) and in
 * bf16 (the same rounded products), on odd heights and widths whose last row and column
 * are in no window, channel counts that are not a multiple of the block, a padded
 * convolution, one without ReLU, two in a row, and batches of 3 and 1; and the training
 * forward gives the inference forward's logits. */
DG_TEST(net_pooling_in_conv_store_matches_apart)
{
    static const struct {
        const char *spec;
        dg_shape input;
    } cases[] = {
        {"conv 5 3 relu, maxpool 2, flatten, dense 3", {1, 12, 11}},
        {"conv 13 3 relu, maxpool 2, conv 9 3 relu, maxpool 2, flatten, dense 3", {2, 15, 14}},
        {"conv 8 5 pad 2 relu, maxpool 2, flatten, dense 3", {1, 9, 9}},
        {"conv 3 3, maxpool 2, flatten, dense 3", {3, 20, 23}},
        {"conv 17 3 relu, maxpool 2, flatten, dense 3", {1, 28, 28}},
        {"conv 40 3 relu, maxpool 2, flatten, dense 3", {34, 5, 6}},
        {"conv 24 5 relu, maxpool 2, conv 48 3 relu, maxpool 2, flatten, dense 3", {1, 28, 28}},
    };
    dg_rng rng;
    dg_rng_seed(&rng, 23);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        dg_net *fused, *apart = net_pooling_apart(cases[c].spec, cases[c].input);
        CHECK_OK(dg_net_new(cases[c].spec, cases[c].input, &fused));
        CHECK(apart && dg_net_layer(fused, 0)->pools_above && !dg_net_layer(apart, 0)->pools_above);
        if (!apart) {
            dg_net_free(fused);
            continue;
        }
        dg_net_init_params(fused, &rng);
        size_t np = dg_net_param_count(fused);
        float *params = dg_net_params(fused);
        for (size_t i = 0; i < np; i++) {
            params[i] += 0.05f * (dg_rng_uniform(&rng) - 0.5f); /* biases too */
        }
        memcpy(dg_net_params(apart), params, np * sizeof(float));
        size_t size = dg_shape_size(cases[c].input);
        float *x = malloc(3 * size * sizeof(float));
        for (size_t i = 0; i < 3 * size; i++) {
            x[i] = dg_rng_uniform(&rng) - 0.3f;
        }
        check_pooling_fused(cases[c].spec, fused, apart, x, 3, 0.0);
        check_pooling_fused(cases[c].spec, fused, apart, x + size, 1, 0.0);
        float trained[3];
        memcpy(trained, dg_net_logits(fused), sizeof trained);
        CHECK_OK(dg_net_forward(fused, x + size, 1, false, NULL, NULL));
        CHECK(!memcmp(trained, dg_net_logits(fused), sizeof trained));
        if (dg_net_set_precision(fused, DG_PRECISION_BF16) == DG_PRECISION_BF16) {
            dg_net_set_precision(apart, DG_PRECISION_BF16);
            /* a layer of few patch rows sums its bias gradient in another order when the
             * pooling takes its ReLU's gradient: within fp32 rounding of the sums */
            check_pooling_fused(cases[c].spec, fused, apart, x, 3, 1e-5);
            check_pooling_fused(cases[c].spec, fused, apart, x + size, 1, 1e-5);
            /* and near the reference loops in fp32: a maximum moves no more than the values
             * it is taken from, each product within bf16's rounding (8 significant bits) */
            dg_net *ref;
            CHECK_OK(dg_net_new(cases[c].spec, cases[c].input, &ref));
            dg_net_set_reference(ref, true);
            memcpy(dg_net_params(ref), params, np * sizeof(float));
            dg_rng r1, r2;
            dg_rng_seed(&r1, 1);
            dg_rng_seed(&r2, 1);
            CHECK_OK(dg_net_forward(ref, x, 3, true, &r1, NULL));
            CHECK_OK(dg_net_forward(fused, x, 3, true, &r2, NULL));
            const float *lr = dg_net_logits(ref), *lf = dg_net_logits(fused);
            for (int i = 0; i < 9; i++) {
                CHECK_MSG(fabsf(lr[i] - lf[i]) <= 0.01f * (1.0f + fabsf(lr[i])),
                          "%s: bf16 logit %d: reference %g, fused %g", cases[c].spec, i,
                          (double)lr[i], (double)lf[i]);
            }
            dg_net_free(ref);
        }
        free(x);
        dg_net_free(fused);
        dg_net_free(apart);
    }
}

static dg_dataset *small_dataset(uint32_t n, uint64_t seed)
{
    /* ten classes told apart by where a bright 6x6 square sits, plus noise */
    dg_dataset *ds = test_dataset_new(n, 28);
    if (!ds) {
        return NULL;
    }
    dg_rng rng;
    dg_rng_seed(&rng, seed);
    for (uint32_t i = 0; i < n; i++) {
        int label = (int)dg_rng_below(&rng, 10);
        ds->labels[i] = (uint8_t)label;
        uint8_t *img = ds->images + (size_t)i * DG_MNIST_PIXELS;
        for (int p = 0; p < DG_MNIST_PIXELS; p++) {
            img[p] = (uint8_t)dg_rng_below(&rng, 60);
        }
        int r0 = 3 + (label / 5) * 12 + (int)dg_rng_below(&rng, 3);
        int c0 = 1 + (label % 5) * 5 + (int)dg_rng_below(&rng, 2);
        for (int r = r0; r < r0 + 6 && r < 28; r++) {
            for (int c = c0; c < c0 + 4 && c < 28; c++) {
                img[r * 28 + c] = 255;
            }
        }
    }
    return ds;
}

static void train_small(const char *preset, int threads, uint64_t seed, dg_dataset *ds,
                        float *params_out, size_t *np_out)
{
    *np_out = 0;
    dg_net *net;
    CHECK_OK(dg_net_new(dg_preset_spec(preset), (dg_shape){1, 28, 28}, &net));
    dg_train_config cfg = dg_train_defaults();
    cfg.epochs = 1;
    cfg.seed = seed;
    dg_status st = dg_net_set_threads(net, threads);
    if (st == DG_OK) {
        st = dg_train(net, ds, &cfg, NULL);
    }
    if (st == DG_OK) {
        *np_out = dg_net_param_count(net);
        memcpy(params_out, dg_net_params(net), *np_out * sizeof(float));
    }
    dg_net_free(net);
    CHECK_OK(st);
}

DG_TEST(net_same_seed_same_weights)
{
    dg_dataset *ds = small_dataset(300, 5);
    CHECK(ds);
    size_t na, nb, nc;
    float *a = malloc(300000 * sizeof(float)), *b = malloc(300000 * sizeof(float));
    float *c = malloc(300000 * sizeof(float));
    train_small("seed-cnn-dropout", 2, 11, ds, a, &na);
    train_small("seed-cnn-dropout", 2, 11, ds, b, &nb);
    train_small("seed-cnn-dropout", 2, 12, ds, c, &nc);
    int same = na == nb && na > 0 && !memcmp(a, b, na * sizeof(float));
    int differ = na == nc && memcmp(a, c, na * sizeof(float)) != 0;
    free(a);
    free(b);
    free(c);
    dg_dataset_free(ds);
    CHECK_MSG(same, "two runs with seed 11 and 2 threads gave different weights");
    CHECK_MSG(differ, "seeds 11 and 12 gave the same weights");
}

DG_TEST(net_adam_step_by_hand)
{
    dg_optim_config cfg = dg_optim_defaults(DG_OPTIM_ADAM);
    CHECK_NEAR(cfg.eps, 1e-7, 1e-12);
    dg_optim *opt;
    CHECK_OK(dg_optim_new(&cfg, 2, &opt));
    float p[2] = {1.0f, -1.0f}, g[2] = {0.5f, -2.0f};
    dg_optim_step(opt, p, g, 1e-3f);
    /* step 1: m = 0.1 g, v = 0.001 g^2, lr_t = lr sqrt(0.001)/0.1:
     * p -= lr_t * 0.1 g / (sqrt(0.001) |g| + eps) ~ lr * sign(g) */
    CHECK_NEAR(p[0], 1.0 - 1e-3, 1e-6);
    CHECK_NEAR(p[1], -1.0 + 1e-3, 1e-6);
    dg_optim_free(opt);

    cfg = dg_optim_defaults(DG_OPTIM_SGD);
    CHECK_OK(dg_optim_new(&cfg, 1, &opt));
    float q = 1.0f, h = 2.0f;
    dg_optim_step(opt, &q, &h, 0.1f); /* v = -0.2, q = 0.8 */
    dg_optim_step(opt, &q, &h, 0.1f); /* v = 0.9 * -0.2 - 0.2 = -0.38, q = 0.42 */
    CHECK_NEAR(q, 0.42, 1e-6);
    dg_optim_free(opt);
}

/* A few thousand real MNIST images when present, generated images otherwise: the loss
 * must fall and accuracy must clearly beat chance. */
DG_TEST(net_learns)
{
    dg_dataset *ds = NULL;
    const char *dir = test_mnist_dir();
    if (dir) {
        CHECK_OK(dg_dataset_load(dir, DG_SPLIT_TRAIN, &ds));
        ds->n = 3000;
    } else {
        ds = small_dataset(3000, 9);
        CHECK(ds);
    }
    dg_net *net;
    CHECK_OK(dg_net_new(dg_preset_spec("seed-cnn"), (dg_shape){1, 28, 28}, &net));
    dg_train_config cfg = dg_train_defaults();
    cfg.epochs = 1;
    cfg.val_split = 1.0 / 6.0; /* the last 500 images are held out */
    dg_rng rng;
    dg_rng_seed(&rng, cfg.seed);
    dg_net_init_params(net, &rng);
    cfg.init_params = false;
    dg_eval before, after;
    dg_norm norm = dg_norm_default();
    dg_status st = dg_evaluate(net, ds, &norm, 2500, 500, &before, NULL, NULL);
    if (st == DG_OK) {
        st = dg_train(net, ds, &cfg, NULL);
    }
    if (st == DG_OK) {
        st = dg_evaluate(net, ds, &norm, 2500, 500, &after, NULL, NULL);
    }
    dg_net_free(net);
    dg_dataset_free(ds);
    CHECK_OK(st);
    CHECK_MSG(after.loss < 0.5 * before.loss, "held-out loss %.3f, before training %.3f",
              after.loss, before.loss);
    CHECK_MSG(after.accuracy > 0.8, "held-out accuracy %.3f on %s data", after.accuracy,
              dir ? "MNIST" : "generated");
}

/* The first largest wins; NaN is passed over, but a NaN in front is never beaten. */
DG_TEST(net_argmax)
{
    const float plain[] = {0.1f, 0.7f, 0.2f}, tie[] = {0.2f, 0.4f, 0.4f};
    const float nan_later[] = {0.3f, NAN, 0.5f}, nan_first[] = {NAN, 0.9f, 0.1f};
    CHECK(dg_argmax(plain, 3) == 1);
    CHECK(dg_argmax(tie, 3) == 1);
    CHECK(dg_argmax(nan_later, 3) == 2);
    CHECK(dg_argmax(nan_first, 3) == 0);
    CHECK(dg_argmax(plain, 1) == 0);
    CHECK(dg_argmax(plain, 0) == 0);
}

DG_TEST(net_train_rejects_mismatched_data)
{
    dg_dataset *ds = small_dataset(20, 1);
    CHECK(ds);
    dg_net *net;
    CHECK_OK(dg_net_new("flatten, dense 10", (dg_shape){1, 20, 20}, &net));
    dg_train_config cfg = dg_train_defaults();
    dg_status st = dg_train(net, ds, &cfg, NULL);
    dg_net_free(net);
    CHECK_OK(dg_net_new("flatten, dense 5", (dg_shape){1, 28, 28}, &net));
    dg_status st2 = dg_train(net, ds, &cfg, NULL);
    dg_net_free(net);
    dg_dataset_free(ds);
    CHECK_STATUS(st, DG_ERR_MISMATCH);
    CHECK_STATUS(st2, DG_ERR_MISMATCH);
}

/* One image on two threads splits each layer's outputs, not examples: the same answer as
 * one thread (to the bit with the AVX-512 kernels; BLAS may round differently when it
 * is given part of the columns). */
DG_TEST(net_single_image_split_channels)
{
    dg_net *one, *two;
    CHECK_OK(dg_net_new(dg_preset_spec("seed-cnn"), (dg_shape){1, 28, 28}, &one));
    CHECK_OK(dg_net_new(dg_preset_spec("seed-cnn"), (dg_shape){1, 28, 28}, &two));
    dg_rng rng;
    dg_rng_seed(&rng, 21);
    dg_net_init_params(one, &rng);
    memcpy(dg_net_params(two), dg_net_params(one), dg_net_param_count(one) * sizeof(float));
    CHECK_OK(dg_net_set_threads(two, 2));
    float x[DG_MNIST_PIXELS];
    for (int i = 0; i < DG_MNIST_PIXELS; i++) {
        x[i] = dg_rng_uniform(&rng);
    }
    float p1[10], p2[10];
    const float *probs1, *probs2;
    dg_status st1 = dg_net_forward(one, x, 1, false, NULL, &probs1);
    if (st1 == DG_OK) {
        memcpy(p1, probs1, sizeof p1);
    }
    dg_status st2 = dg_net_forward(two, x, 1, false, NULL, &probs2);
    if (st2 == DG_OK) {
        memcpy(p2, probs2, sizeof p2);
    }
    dg_net_free(one);
    dg_net_free(two);
    CHECK_OK(st1);
    CHECK_OK(st2);
    for (int c = 0; c < 10; c++) {
        CHECK_NEAR(p1[c], p2[c], 1e-6);
    }
}

/* Inference in groups of examples gives each example what it gets on its own. */
DG_TEST(net_inference_batch_matches_single)
{
    enum { N = 41 };
    static float x[N * DG_MNIST_PIXELS];
    dg_rng rng;
    dg_rng_seed(&rng, 5);
    for (int i = 0; i < N * DG_MNIST_PIXELS; i++) {
        x[i] = dg_rng_uniform(&rng);
    }
    dg_net *net;
    CHECK_OK(dg_net_new(dg_preset_spec("seed-cnn-dropout"), (dg_shape){1, 28, 28}, &net));
    CHECK_OK(dg_net_set_threads(net, 2));
    dg_net_init_params(net, &rng);
    static float batch[N * 10];
    const float *probs;
    CHECK_OK(dg_net_forward(net, x, N, false, NULL, &probs));
    memcpy(batch, probs, sizeof batch);
    for (int i = 0; i < N; i++) {
        const float *one;
        CHECK_OK(dg_net_forward(net, x + i * DG_MNIST_PIXELS, 1, false, NULL, &one));
        for (int c = 0; c < 10; c++) {
            CHECK_NEAR(one[c], batch[i * 10 + c], 1e-6);
        }
    }
    dg_net_free(net);
}
