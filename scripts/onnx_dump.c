/*
 * onnx_dump.c - what the ONNX agreement checks compare against: the raw pixels of the
 * first N test images of DIR and a digits model's class probabilities for them.
 *
 *   onnx_dump MODEL DIR N OUT    writes OUT.u8 [N][H*W] bytes (0..255, as in the IDX file)
 *                                and OUT.f32 [N][classes] float32 little-endian, and
 *                                prints "N CLASSES SCALE MEAN STD" (the model's
 *                                normalisation) on stdout
 *
 * scripts/onnx_check.js feeds the same pixels, normalised as docs/onnx.md says, to ONNX
 * Runtime; scripts/torch_onnx.py to PyTorch.
 */
#include "digits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 256

static int fail(const char *what)
{
    fprintf(stderr, "onnx_dump: %s: %s\n", what, dg_last_error());
    return 1;
}

static int write_all(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return 1;
    }
    size_t put = fwrite(data, 1, n, f);
    if (fclose(f) != 0 || put != n) {
        perror(path);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: onnx_dump MODEL DIR N OUT\n");
        return 2;
    }
    char *end;
    long n = strtol(argv[3], &end, 10);
    if (*end || n < 1 || n > 1000000) {
        fprintf(stderr, "onnx_dump: N '%s' is not a count\n", argv[3]);
        return 2;
    }
    dg_net *net;
    dg_model_meta meta;
    if (dg_model_load(argv[1], &net, &meta) != DG_OK) {
        return fail("model");
    }
    dg_dataset *ds;
    if (dg_dataset_load(argv[2], DG_SPLIT_TEST, &ds) != DG_OK) {
        dg_net_free(net);
        return fail("data");
    }
    n = n < (long)ds->n ? n : (long)ds->n;
    size_t pixels = (size_t)ds->h * ds->w, classes = (size_t)dg_net_classes(net);
    float *x = malloc(BATCH * pixels * sizeof *x), *probs = malloc((size_t)n * classes * 4);
    int rc = x && probs ? 0 : 1;
    for (long at = 0; rc == 0 && at < n; at += BATCH) {
        int m = (int)(n - at < BATCH ? n - at : BATCH);
        dg_normalise(&meta.norm, ds->images + (size_t)at * pixels, (size_t)m * pixels, x);
        const float *p;
        if (dg_net_forward(net, x, m, false, NULL, &p) != DG_OK) {
            rc = fail("forward");
            break;
        }
        memcpy(probs + (size_t)at * classes, p, (size_t)m * classes * sizeof *p);
    }
    char path[4096];
    if (rc == 0) {
        snprintf(path, sizeof path, "%s.u8", argv[4]);
        rc = write_all(path, ds->images, (size_t)n * pixels);
    }
    if (rc == 0) {
        snprintf(path, sizeof path, "%s.f32", argv[4]);
        rc = write_all(path, probs, (size_t)n * classes * sizeof *probs);
    }
    if (rc == 0) {
        printf("%ld %zu %.9g %.9g %.9g\n", n, classes, (double)meta.norm.scale,
               (double)meta.norm.mean, (double)meta.norm.std);
    }
    free(x);
    free(probs);
    dg_dataset_free(ds);
    dg_net_free(net);
    return rc;
}
