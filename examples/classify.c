/*
 * classify.c - recognise the digit in each image named on the command line with a
 * trained digits model, using only the installed library:
 *
 *   cc classify.c $(pkg-config --cflags --libs digits) -o classify
 *   ./classify model/digits.model samples/digits/7-dark.png samples/digits/3-paper-blue.png
 *
 * Prints "IMAGE: DIGIT (CONFIDENCE)", or what was found instead ("unsure", "empty",
 * "no digit"). Exit status 1 when the model or an image cannot be read.
 */
#include <digits.h>

#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL IMAGE...\n", argv[0]);
        return 2;
    }
    dg_net *net;
    dg_model_meta meta;
    if (dg_model_load(argv[1], &net, &meta) != DG_OK) {
        fprintf(stderr, "classify: %s\n", dg_last_error());
        return 1;
    }
    int rc = 0;
    for (int i = 2; i < argc; i++) {
        dg_image *img;
        dg_prediction p;
        if (dg_image_load(argv[i], &img) != DG_OK) {
            fprintf(stderr, "classify: %s\n", dg_last_error());
            rc = 1;
            continue;
        }
        dg_status st = dg_predict_image(net, &meta.norm, img, DG_MIN_CONFIDENCE, &p, NULL, NULL);
        dg_image_free(img);
        if (st != DG_OK) {
            fprintf(stderr, "classify: %s: %s\n", argv[i], dg_last_error());
            rc = 1;
        } else if (p.answer == DG_ANSWER_DIGIT) {
            printf("%s: %s (%.2f)\n", argv[i], meta.labels[p.digit], p.confidence);
        } else {
            printf("%s: %s\n", argv[i], dg_answer_name(p.answer));
        }
    }
    dg_net_free(net);
    return rc;
}
