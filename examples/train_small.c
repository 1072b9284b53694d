/*
 * train_small.c - build a small network from a spec and train it, using only the
 * installed library:
 *
 *   cc train_small.c $(pkg-config --cflags --libs digits) -o train_small
 *   ./train_small [MNIST_DIR] [-o OUT.model]
 *
 * With MNIST_DIR (train-* and t10k-* IDX files) it trains on the first 6000 training
 * images for one epoch and tests on the test set; without, it makes its own data: 28x28
 * pictures of a horizontal (class 0) or vertical (class 1) bar at a random place, with
 * noise. Prints the test accuracy; exit status 1 below 90%.
 */
#include <digits.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIDE 28

/* n pictures of bars with labels, in a dataset the caller frees with dg_dataset_free. */
static dg_status make_bars(uint32_t n, uint64_t seed, dg_dataset **out)
{
    dg_dataset *ds = calloc(1, sizeof *ds);
    if (!ds) {
        return dg_fail(DG_ERR_NOMEM, "out of memory");
    }
    ds->n = n;
    ds->h = ds->w = SIDE;
    ds->images = calloc((size_t)n * SIDE * SIDE, 1);
    ds->labels = calloc(n, 1);
    if (!ds->images || !ds->labels) {
        dg_dataset_free(ds);
        return dg_fail(DG_ERR_NOMEM, "out of memory");
    }
    dg_rng rng;
    dg_rng_seed(&rng, seed);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *img = ds->images + (size_t)i * SIDE * SIDE;
        int label = (int)dg_rng_below(&rng, 2);
        int at = 4 + (int)dg_rng_below(&rng, SIDE - 8), from = 2 + (int)dg_rng_below(&rng, 8);
        for (int k = from; k < from + 16; k++) {
            int r = label ? k : at, c = label ? at : k;
            img[r * SIDE + c] = 255;
            img[(label ? r : r + 1) * SIDE + (label ? c + 1 : c)] = 200;
        }
        for (int p = 0; p < SIDE * SIDE; p++) {
            if (dg_rng_uniform(&rng) < 0.05f) {
                img[p] = (uint8_t)dg_rng_below(&rng, 128);
            }
        }
        ds->labels[i] = (uint8_t)label;
    }
    *out = ds;
    return DG_OK;
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-o") && i + 1 < argc) {
            out = argv[++i];
        } else if (argv[i][0] != '-' && !dir) {
            dir = argv[i];
        } else {
            fprintf(stderr, "usage: %s [MNIST_DIR] [-o OUT.model]\n", argv[0]);
            return 2;
        }
    }
    const char *spec = dir ? "conv 8 3 relu, maxpool 2, flatten, dense 32 relu, dense 10"
                           : "conv 4 3 relu, maxpool 2, flatten, dense 16 relu, dense 2";
    dg_dataset *train = NULL, *test = NULL;
    dg_net *net = NULL;
    dg_train_config cfg = dg_train_defaults();
    cfg.epochs = dir ? 1 : 3;
    cfg.val_split = 0;
    dg_eval ev;
    dg_status st = dir ? dg_dataset_load(dir, DG_SPLIT_TRAIN, &train) : make_bars(2000, 1, &train);
    if (st == DG_OK) {
        st = dir ? dg_dataset_load(dir, DG_SPLIT_TEST, &test) : make_bars(500, 2, &test);
    }
    if (st == DG_OK) {
        st = dg_net_new(spec, (dg_shape){1, SIDE, SIDE}, &net);
    }
    if (st == DG_OK) {
        dg_dataset part = *train; /* the first 6000 examples are enough for a demonstration */
        part.n = part.n < 6000 ? part.n : 6000;
        printf("training '%s' on %u %s images\n", spec, part.n, dir ? "MNIST" : "generated");
        st = dg_train(net, &part, &cfg, NULL);
    }
    if (st == DG_OK) {
        st = dg_evaluate(net, test, &cfg.norm, 0, test->n, &ev, NULL, NULL);
    }
    if (st == DG_OK && out) {
        dg_model_meta meta;
        dg_model_meta_default(&meta);
        meta.classes = dg_net_classes(net);
        meta.norm = cfg.norm;
        meta.epochs = cfg.epochs;
        meta.batch = cfg.batch;
        meta.test_accuracy = ev.accuracy;
        snprintf(meta.dataset, sizeof meta.dataset, "%s", dir ? "mnist" : "bars");
        st = dg_model_save(out, net, &meta);
    }
    if (st != DG_OK) {
        fprintf(stderr, "train_small: %s\n", dg_last_error());
    } else {
        printf("test accuracy %.4f on %u images\n", ev.accuracy, ev.n);
    }
    dg_net_free(net);
    dg_dataset_free(train);
    dg_dataset_free(test);
    return st != DG_OK || ev.accuracy < 0.9 ? 1 : 0;
}
