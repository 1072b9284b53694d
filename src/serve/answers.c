/*
 * answers.c - images in, JSON answers out, with no HTTP in sight: the same preprocessing
 * and prediction as `digits predict`, the same segmentation as `digits read`, and the
 * gradient heat-map of `digits predict --explain`. Field by field in docs/api.md.
 * Probabilities and confidences are 0..1 floats; a class is given by its index ("digit")
 * and its label.
 */
#include "serve/serve.h"

#include <stdlib.h>
#include <string.h>

/* "message" of an answer, as the CLI says it. */
static const char *answer_message(dg_answer a)
{
    switch (a) {
    case DG_ANSWER_DIGIT:
        return "a digit";
    case DG_ANSWER_UNSURE:
        return "unsure: the best guess is shown as a guess";
    case DG_ANSWER_EMPTY:
        return "empty: no ink found";
    case DG_ANSWER_NO_DIGIT:
        return "no digit: only lines, frames or noise";
    }
    return "";
}

static bool found(const dg_prediction *p)
{
    return p->answer == DG_ANSWER_DIGIT || p->answer == DG_ANSWER_UNSURE;
}

static void class_field(dg_buf *b, const char *name, int cls)
{
    dg_buf_printf(b, ",\"%s\":", name);
    if (cls < 0) {
        dg_buf_puts(b, "null");
    } else {
        dg_buf_printf(b, "%d", cls);
    }
}

/* The fields every answer about one digit has, without the braces:
 * "status","digit","label","guess","confidence","message","top3","probabilities". */
static void prediction_fields(dg_buf *b, const dg_answer_ctx *ctx, const dg_prediction *p)
{
    dg_buf_puts(b, "\"status\":");
    dg_json_string(b, dg_answer_name(p->answer));
    bool sure = p->answer == DG_ANSWER_DIGIT;
    class_field(b, "digit", sure ? p->digit : -1);
    dg_buf_puts(b, ",\"label\":");
    if (sure) {
        dg_json_string(b, ctx->meta->labels[p->digit]);
    } else {
        dg_buf_puts(b, "null");
    }
    class_field(b, "guess", found(p) ? p->digit : -1);
    dg_buf_puts(b, ",\"confidence\":");
    dg_json_number(b, found(p) ? p->confidence : 0.0, 6);
    dg_buf_puts(b, ",\"message\":");
    dg_json_string(b, answer_message(p->answer));
    dg_buf_puts(b, ",\"top3\":[");
    for (int t = 0; found(p) && t < 3 && p->top[t] >= 0; t++) {
        dg_buf_printf(b, "%s{\"digit\":%d,\"label\":", t ? "," : "", p->top[t]);
        dg_json_string(b, ctx->meta->labels[p->top[t]]);
        dg_buf_puts(b, ",\"probability\":");
        dg_json_number(b, p->top_p[t], 6);
        dg_buf_puts(b, "}");
    }
    dg_buf_puts(b, "],\"probabilities\":");
    if (!found(p)) {
        dg_buf_puts(b, "null");
        return;
    }
    for (int c = 0; c < p->classes; c++) {
        dg_buf_puts(b, c ? "," : "[");
        dg_json_number(b, p->probs[c], 6);
    }
    dg_buf_puts(b, "]");
}

/* ,"preprocessed":"data:image/png;base64,..." when asked for. */
static dg_status preprocessed_field(dg_buf *b, const dg_answer_ctx *ctx,
                                    const uint8_t digit[DG_MNIST_PIXELS])
{
    if (!ctx->preprocessed) {
        return DG_OK;
    }
    /* the 28x28 as it is, borrowed by a picture that is never freed */
    const dg_image img = {DG_MNIST_SIDE, DG_MNIST_SIDE, 1, (uint8_t *)digit};
    dg_buf_puts(b, ",\"preprocessed\":");
    return dg_json_png(b, &img);
}

/* A box of the decoded image, reported in the pixels of the picture sent. */
static void box_field(dg_buf *b, const dg_answer_ctx *ctx, const char *name, dg_digit_box box)
{
    dg_digit_box s = dg_box_in_source(box, &ctx->source);
    dg_buf_printf(b, ",\"%s\":{\"x\":%d,\"y\":%d,\"w\":%d,\"h\":%d}", name, s.x, s.y, s.w, s.h);
}

/* predict's object, and explain's heat-map in it when explain is true. */
static dg_status predict_object(dg_net *net, const dg_answer_ctx *ctx, const dg_image *img,
                                bool explain, int explain_class, dg_buf *out)
{
    uint8_t digit[DG_MNIST_PIXELS];
    dg_prediction p;
    dg_preprocess_info info;
    dg_status st =
        dg_predict_image(net, &ctx->meta->norm, img, ctx->min_confidence, &p, digit, &info);
    if (st != DG_OK) {
        return st;
    }
    if (explain_class >= p.classes) {
        return dg_fail(DG_ERR_ARG, "class %d: the model has classes 0..%d", explain_class,
                       p.classes - 1);
    }
    dg_buf_puts(out, "{");
    prediction_fields(out, ctx, &p);
    dg_buf_printf(out, ",\"width\":%d,\"height\":%d", ctx->source.w, ctx->source.h);
    if (found(&p)) {
        box_field(out, ctx, "box", (dg_digit_box){info.box_x, info.box_y, info.box_w, info.box_h});
    }
    st = preprocessed_field(out, ctx, digit);
    if (st == DG_OK && explain) {
        int cls = explain_class >= 0 ? explain_class : p.digit;
        if (cls < 0) {
            dg_buf_puts(out, ",\"explained\":null,\"heatmap\":null,\"gradient\":null");
        } else {
            float heat[DG_MNIST_PIXELS];
            dg_image *pic = NULL;
            st = dg_explain_mnist(net, &ctx->meta->norm, digit, cls, heat);
            if (st == DG_OK) {
                st = dg_heatmap_picture(digit, heat, 10, &pic);
            }
            if (st == DG_OK) {
                dg_buf_printf(out, ",\"explained\":%d,\"heatmap\":", cls);
                st = dg_json_png(out, pic);
            }
            dg_image_free(pic);
            for (int i = 0; st == DG_OK && i < DG_MNIST_PIXELS; i++) {
                dg_buf_puts(out, i ? "," : ",\"gradient\":[");
                dg_json_number(out, heat[i], 4);
            }
            dg_buf_puts(out, st == DG_OK ? "]" : "");
        }
    }
    dg_buf_puts(out, "}");
    return st != DG_OK ? st : dg_buf_status(out);
}

dg_status dg_answer_predict(dg_net *net, const dg_answer_ctx *ctx, const dg_image *img, dg_buf *out)
{
    return predict_object(net, ctx, img, false, -1, out);
}

dg_status dg_answer_explain(dg_net *net, const dg_answer_ctx *ctx, const dg_image *img,
                            int explain_class, dg_buf *out)
{
    return predict_object(net, ctx, img, true, explain_class, out);
}

dg_status dg_answer_read(dg_net *net, const dg_answer_ctx *ctx, const dg_image *img, dg_buf *out)
{
    dg_segmentation *seg;
    dg_status st = dg_segment(img, &seg);
    if (st != DG_OK) {
        return st;
    }
    dg_prediction *pred = calloc((size_t)(seg->n ? seg->n : 1), sizeof *pred);
    uint8_t *digits = calloc((size_t)(seg->n ? seg->n : 1), DG_MNIST_PIXELS);
    if (!pred || !digits) {
        st = dg_fail(DG_ERR_NOMEM, "out of memory for %d digits", seg->n);
    }
    char number[DG_SEGMENT_MAX_DIGITS * 32 + 1] = "";
    bool unsure = false;
    for (int k = 0; st == DG_OK && k < seg->n; k++) {
        uint8_t *d = digits + (size_t)k * DG_MNIST_PIXELS;
        st = dg_segment_to_mnist(seg, k, d);
        if (st == DG_OK) {
            st = dg_predict_mnist(net, &ctx->meta->norm, d, ctx->min_confidence, &pred[k]);
        }
        if (st == DG_OK) {
            bool sure = pred[k].answer == DG_ANSWER_DIGIT;
            strcat(number, sure ? ctx->meta->labels[pred[k].digit] : "?");
            unsure = unsure || !sure;
        }
    }
    if (st == DG_OK) {
        dg_buf_puts(out, "{\"status\":");
        dg_json_string(out, seg->n == 0 ? "empty" : unsure ? "unsure" : "ok");
        dg_buf_puts(out, ",\"number\":");
        dg_json_string(out, number);
        dg_buf_printf(out, ",\"width\":%d,\"height\":%d,\"digits\":[", ctx->source.w,
                      ctx->source.h);
    }
    for (int k = 0; st == DG_OK && k < seg->n; k++) {
        dg_buf_puts(out, k ? ",{" : "{");
        prediction_fields(out, ctx, &pred[k]);
        box_field(out, ctx, "box", seg->boxes[k]);
        st = preprocessed_field(out, ctx, digits + (size_t)k * DG_MNIST_PIXELS);
        dg_buf_puts(out, "}");
    }
    dg_buf_puts(out, "]}");
    free(pred);
    free(digits);
    dg_segmentation_free(seg);
    return st != DG_OK ? st : dg_buf_status(out);
}
