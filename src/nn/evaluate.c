/*
 * evaluate.c - loss, accuracy and confusion matrix of a network over part of a dataset,
 * in chunks so that memory stays bounded whatever the dataset size.
 *
 * Legend: B chunk size, S = H*W pixels. xbuf [B][1][H][W].
 */
#include "digits.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK 128

int dg_argmax(const float *values, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++) {
        if (values[i] > values[best]) {
            best = i;
        }
    }
    return best;
}

dg_status dg_evaluate(dg_net *net, const dg_dataset *ds, const dg_norm *norm, uint32_t first,
                      uint32_t count, dg_eval *out, uint8_t *predicted, float *confidence)
{
    memset(out, 0, sizeof *out);
    dg_shape in = dg_net_input_shape(net);
    if (in.c != 1 || (uint32_t)in.h != ds->h || (uint32_t)in.w != ds->w) {
        return dg_fail(DG_ERR_MISMATCH, "data has %ux%u images, the network takes %dx%dx%d", ds->h,
                       ds->w, in.c, in.h, in.w);
    }
    if (first > ds->n || count > ds->n - first) {
        return dg_fail(DG_ERR_ARG, "examples %u..%u beyond the dataset's %u", first, first + count,
                       ds->n);
    }
    int classes = dg_net_classes(net);
    size_t pixels = (size_t)ds->h * ds->w;
    float *xbuf = malloc(CHUNK * pixels * sizeof *xbuf);
    if (!xbuf) {
        return dg_fail(DG_ERR_NOMEM, "out of memory for evaluation");
    }
    double loss = 0.0;
    uint32_t correct = 0;
    out->classes = classes;
    for (uint32_t done = 0; done < count; done += CHUNK) {
        int n = (int)(count - done < CHUNK ? count - done : CHUNK);
        dg_normalise(norm, ds->images + (size_t)(first + done) * pixels, (size_t)n * pixels, xbuf);
        const float *probs;
        dg_status st = dg_net_forward(net, xbuf, n, false, NULL, &probs);
        if (st != DG_OK) {
            free(xbuf);
            return st;
        }
        for (int i = 0; i < n; i++) {
            const float *p = probs + (size_t)i * classes;
            int best = dg_argmax(p, classes);
            uint8_t label = ds->labels[first + done + (uint32_t)i];
            if (label >= classes) {
                free(xbuf);
                return dg_fail(DG_ERR_MISMATCH, "label %u beyond the network's %d classes", label,
                               classes);
            }
            double pl = p[label] > 1e-30f ? p[label] : 1e-30;
            loss -= log(pl);
            correct += best == label;
            out->confusion[label][best]++;
            if (predicted) {
                predicted[done + (uint32_t)i] = (uint8_t)best;
            }
            if (confidence) {
                confidence[done + (uint32_t)i] = p[best];
            }
        }
    }
    free(xbuf);
    out->n = count;
    out->loss = count ? loss / count : 0.0;
    out->accuracy = count ? (double)correct / count : 0.0;
    return DG_OK;
}
