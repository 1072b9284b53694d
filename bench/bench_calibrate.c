/*
 * bench_calibrate.c - how the "unsure" threshold trades answers for errors. On held-out
 * MNIST (the last 6,000 training images, which `digits train` keeps for validation), for
 * each threshold on the top probability: the share of answers withheld, the error rate of
 * the answers given, and the error rate of those withheld.
 *
 *   build/bench_calibrate [MODEL] [DATA_DIR]
 */
#include "bench/bench_util.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    const char *model = argc > 1 ? argv[1] : "model/digits.model";
    const char *data = argc > 2 ? argv[2] : "data/mnist";
    dg_net *net;
    dg_model_meta meta;
    dg_dataset *ds;
    if (!bench_load("bench_calibrate", model, data, DG_SPLIT_TRAIN, &net, &meta, &ds)) {
        return 1;
    }
    if (dg_net_set_threads(net, 0) != DG_OK) {
        fprintf(stderr, "bench_calibrate: %s\n", dg_last_error());
        return 1;
    }
    uint32_t first = ds->n - ds->n / 10, count = ds->n / 10;
    uint8_t *pred = malloc(count);
    float *conf = malloc(count * sizeof *conf);
    dg_eval *ev = malloc(sizeof *ev);
    if (!pred || !conf || !ev ||
        dg_evaluate(net, ds, &meta.norm, first, count, ev, pred, conf) != DG_OK) {
        fprintf(stderr, "bench_calibrate: %s\n", dg_last_error());
        return 1;
    }
    printf("held-out images %u..%u, accuracy %.4f\n", first, first + count - 1, ev->accuracy);
    printf("%9s %10s %16s %16s\n", "threshold", "withheld", "error if given", "error if withheld");
    static const float thresholds[] = {0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f, 0.9f, 0.95f};
    for (size_t t = 0; t < sizeof thresholds / sizeof thresholds[0]; t++) {
        uint32_t held = 0, held_wrong = 0, given_wrong = 0;
        for (uint32_t i = 0; i < count; i++) {
            int wrong = pred[i] != ds->labels[first + i];
            if (conf[i] < thresholds[t]) {
                held++;
                held_wrong += wrong;
            } else {
                given_wrong += wrong;
            }
        }
        printf("%9.2f %9.2f%% %15.3f%% %15.1f%%\n", (double)thresholds[t], 100.0 * held / count,
               100.0 * given_wrong / (count - held), held ? 100.0 * held_wrong / held : 0.0);
    }
    free(pred);
    free(conf);
    free(ev);
    dg_dataset_free(ds);
    dg_net_free(net);
    return 0;
}
