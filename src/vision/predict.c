/*
 * predict.c - one digit in, one honest answer out: the 28x28 MNIST-like digit is
 * normalised as the model was trained, classified, and reported with its top three
 * classes; a top probability under the threshold is "unsure", and an image in which
 * preprocessing found no digit is "empty" or "no digit" rather than a guess.
 */
#include "digits.h"

#include <string.h>

const char *dg_answer_name(dg_answer answer)
{
    switch (answer) {
    case DG_ANSWER_DIGIT:
        return "ok";
    case DG_ANSWER_UNSURE:
        return "unsure";
    case DG_ANSWER_EMPTY:
        return "empty";
    case DG_ANSWER_NO_DIGIT:
        return "no digit";
    }
    return "unknown";
}

static void rank_top3(dg_prediction *out)
{
    for (int t = 0; t < 3; t++) {
        out->top[t] = -1;
        out->top_p[t] = 0.0f;
    }
    for (int c = 0; c < out->classes; c++) {
        float p = out->probs[c];
        for (int t = 0; t < 3; t++) {
            if (out->top[t] < 0 || p > out->top_p[t]) {
                for (int u = 2; u > t; u--) {
                    out->top[u] = out->top[u - 1];
                    out->top_p[u] = out->top_p[u - 1];
                }
                out->top[t] = c;
                out->top_p[t] = p;
                break;
            }
        }
    }
}

/* DG_ERR_MISMATCH unless the net takes one 28x28 grey digit. */
static dg_status check_digit_input(const dg_net *net)
{
    dg_shape in = dg_net_input_shape(net);
    if (in.c != 1 || in.h != DG_MNIST_SIDE || in.w != DG_MNIST_SIDE) {
        return dg_fail(DG_ERR_MISMATCH, "the model takes %dx%dx%d input, not 28x28 digits", in.c,
                       in.h, in.w);
    }
    return DG_OK;
}

dg_status dg_predict_mnist(dg_net *net, const dg_norm *norm, const uint8_t mnist28[DG_MNIST_PIXELS],
                           float min_confidence, dg_prediction *out)
{
    memset(out, 0, sizeof *out);
    dg_status st = check_digit_input(net);
    if (st != DG_OK) {
        return st;
    }
    float x[DG_MNIST_PIXELS];
    dg_normalise(norm, mnist28, DG_MNIST_PIXELS, x);
    /* into the caller's answer under the net's lock: other threads may share the net */
    st = dg_net_predict(net, x, 1, out->probs);
    if (st != DG_OK) {
        memset(out, 0, sizeof *out);
        return st;
    }
    out->classes = dg_net_classes(net);
    rank_top3(out);
    out->digit = out->top[0];
    out->confidence = out->top_p[0];
    out->answer = out->confidence >= min_confidence ? DG_ANSWER_DIGIT : DG_ANSWER_UNSURE;
    return DG_OK;
}

dg_status dg_predict_image(dg_net *net, const dg_norm *norm, const dg_image *img,
                           float min_confidence, dg_prediction *out,
                           uint8_t mnist28[DG_MNIST_PIXELS], dg_preprocess_info *info)
{
    uint8_t local[DG_MNIST_PIXELS];
    dg_preprocess_info local_info;
    uint8_t *digit = mnist28 ? mnist28 : local;
    dg_preprocess_info *pi = info ? info : &local_info;
    memset(out, 0, sizeof *out);
    dg_status st = check_digit_input(net);
    if (st != DG_OK) {
        return st;
    }
    st = dg_preprocess(img, digit, pi);
    if (st != DG_OK) {
        return st;
    }
    if (pi->status != DG_PREP_OK) {
        out->answer = pi->status == DG_PREP_EMPTY ? DG_ANSWER_EMPTY : DG_ANSWER_NO_DIGIT;
        out->digit = -1;
        out->classes = dg_net_classes(net);
        for (int t = 0; t < 3; t++) {
            out->top[t] = -1;
        }
        return DG_OK;
    }
    return dg_predict_mnist(net, norm, digit, min_confidence, out);
}

dg_status dg_explain_mnist(dg_net *net, const dg_norm *norm, const uint8_t mnist28[DG_MNIST_PIXELS],
                           int cls, float heat[DG_MNIST_PIXELS])
{
    dg_status st = check_digit_input(net);
    if (st != DG_OK) {
        return st;
    }
    float x[DG_MNIST_PIXELS];
    dg_normalise(norm, mnist28, DG_MNIST_PIXELS, x);
    st = dg_net_class_gradient(net, x, cls, heat);
    if (st != DG_OK) {
        return st;
    }
    /* x = (p * scale - mean) / std: one pixel level moves x by scale / std */
    float per_level = norm->std != 0.0f ? norm->scale / norm->std : norm->scale;
    for (int i = 0; i < DG_MNIST_PIXELS; i++) {
        heat[i] *= per_level;
    }
    return DG_OK;
}
