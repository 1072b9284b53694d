/*
 * test_golden.c - the library against the PyTorch reference: a tiny fixed network,
 * inputs and labels given by formulas (the same as in scripts/golden.py), whose logits,
 * loss, parameter gradients and one Adam step are compared with the values PyTorch
 * computed, stored in tests/data/golden/tiny-cnn.txt. Regenerate that file only on purpose,
 * with scripts/golden.py.
 */
#include "test.h"

#include <stdlib.h>
#include <string.h>

#define GOLDEN_SPEC "conv 2 3 relu, maxpool 2, conv 3 3 relu, flatten, dense 6 relu, dense 10"
#define BATCH       3
#define SIDE        10

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

static void run_golden(bool reference, int threads)
{
    char path[256];
    snprintf(path, sizeof path, "%s/golden/tiny-cnn.txt", test_data_dir());
    dg_net *net;
    CHECK_OK(dg_net_new(GOLDEN_SPEC, (dg_shape){1, SIDE, SIDE}, &net));
    dg_net_set_reference(net, reference);
    CHECK_OK(dg_net_set_threads(net, threads));
    size_t np = dg_net_param_count(net);
    float *p = dg_net_params(net);
    for (size_t i = 0; i < np; i++) {
        p[i] = (float)(0.5 * sin(0.37 * (double)i + 0.1));
    }
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
    CHECK(read_golden(path, "loss", want, 1) == 1);
    CHECK_NEAR(loss, want[0], 1e-5);
    CHECK_MSG(read_golden(path, "grads", want, 4096) == (int)np, "%s: %zu gradients wanted", path,
              np);
    const float *g = dg_net_grads(net);
    for (size_t i = 0; i < np; i++) {
        CHECK_MSG(fabs(g[i] - want[i]) <= 1e-5 + 1e-4 * fabs(want[i]),
                  "gradient %zu: %.8g, PyTorch %.8g", i, (double)g[i], (double)want[i]);
    }
    dg_optim_config cfg = dg_optim_defaults(DG_OPTIM_ADAM);
    dg_optim *opt;
    CHECK_OK(dg_optim_new(&cfg, np, &opt));
    dg_optim_step(opt, p, g, cfg.lr);
    dg_optim_free(opt);
    CHECK((size_t)read_golden(path, "adam", want, 4096) == np);
    for (size_t i = 0; i < np; i++) {
        CHECK_MSG(fabs(p[i] - want[i]) <= 1e-6, "parameter %zu after Adam: %.8g, PyTorch %.8g", i,
                  (double)p[i], (double)want[i]);
    }
    dg_net_free(net);
}

DG_TEST(golden_reference_loops)
{
    run_golden(true, 1);
}

DG_TEST(golden_fast_kernels)
{
    run_golden(false, 1);
}

DG_TEST(golden_fast_kernels_two_threads)
{
    run_golden(false, 2);
}
