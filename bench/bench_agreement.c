/*
 * bench_agreement.c - does the preprocessing leave MNIST-like input alone? Each of the
 * 10,000 MNIST test images is written out as a PNG, read back with dg_image_load and
 * classified through the full user-image path (dg_predict_image: preprocessing, then the
 * network), and compared with the class the network gives the raw test image, as
 * `digits evaluate` does. Prints the agreement and the disagreements' indices.
 *
 *   build/bench_agreement [MODEL] [DATA_DIR]
 */
#include "bench/bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    const char *model = argc > 1 ? argv[1] : "model/digits.model";
    const char *data = argc > 2 ? argv[2] : "data/mnist";
    dg_net *net;
    dg_model_meta meta;
    dg_dataset *ds;
    if (!bench_load("bench_agreement", model, data, DG_SPLIT_TEST, &net, &meta, &ds)) {
        return 1;
    }
    char dir[] = "/tmp/digits-agreement-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("bench_agreement: mkdtemp");
        return 1;
    }
    uint32_t agree = 0, listed = 0;
    for (uint32_t i = 0; i < ds->n; i++) {
        const uint8_t *raw = ds->images + (size_t)i * DG_MNIST_PIXELS;
        dg_image *img = NULL, *back = NULL;
        char path[256];
        snprintf(path, sizeof path, "%s/%05u.png", dir, i);
        dg_prediction direct, through;
        if (dg_image_new(28, 28, 1, &img) != DG_OK) {
            fprintf(stderr, "bench_agreement: %s\n", dg_last_error());
            return 1;
        }
        memcpy(img->pixels, raw, DG_MNIST_PIXELS);
        if (dg_image_save_png(path, img) != DG_OK || dg_image_load(path, &back) != DG_OK ||
            dg_predict_mnist(net, &meta.norm, raw, 0.0f, &direct) != DG_OK ||
            dg_predict_image(net, &meta.norm, back, 0.0f, &through, NULL, NULL) != DG_OK) {
            fprintf(stderr, "bench_agreement: image %u: %s\n", i, dg_last_error());
            return 1;
        }
        unlink(path);
        dg_image_free(img);
        dg_image_free(back);
        if (through.digit == direct.digit) {
            agree++;
        } else if (listed++ < 20) {
            printf("  test image %u: evaluate says %d, predict says %d (%s)\n", i, direct.digit,
                   through.digit, dg_answer_name(through.answer));
        }
    }
    rmdir(dir);
    printf("agreement between predict (PNG, preprocessing) and evaluate (raw): %u of %u = "
           "%.2f%%\n",
           agree, ds->n, 100.0 * agree / ds->n);
    dg_dataset_free(ds);
    dg_net_free(net);
    return 0;
}
