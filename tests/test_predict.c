/*
 * test_predict.c - one digit in, one answer out (src/vision/predict.c), on a "flatten,
 * dense K" net whose parameters are set by hand: class k's logit is W_PIXEL times the
 * normalised value of one chosen pixel, so every probability is known. Checked: the digit,
 * its confidence, the top three in order, probabilities summing to 1, the model's
 * normalisation, the unsure answer that keeps its best guess, the empty and no-digit
 * answers of images without a digit, and the shape check.
 */
#include "test.h"

#include <string.h>

#define W_PIXEL 4.0f /* weight of each class's own pixel */

/* The pixel whose ink is evidence for class k: row 14, columns 4, 6, ..., 22. */
static int class_pixel(int k)
{
    return 14 * DG_MNIST_SIDE + 4 + 2 * k;
}

/* A "flatten, dense classes" net over input, zero everywhere but for the weight W_PIXEL
 * from class_pixel(k) to class k (the dense layer stores w[classes][in], then b). */
static dg_status pixel_net(int classes, dg_shape input, dg_net **out)
{
    char spec[64];
    snprintf(spec, sizeof spec, "flatten, dense %d", classes);
    dg_status st = dg_net_new(spec, input, out);
    if (st != DG_OK) {
        return st;
    }
    size_t n_in = (size_t)input.c * input.h * input.w;
    if (dg_net_param_count(*out) != (size_t)classes * n_in + (size_t)classes) {
        dg_net_free(*out);
        *out = NULL;
        return dg_fail(DG_ERR_MISMATCH, "unexpected parameter count");
    }
    float *p = dg_net_params(*out);
    memset(p, 0, dg_net_param_count(*out) * sizeof *p);
    for (int k = 0; k < classes; k++) {
        if ((size_t)class_pixel(k) < n_in) {
            p[(size_t)k * n_in + (size_t)class_pixel(k)] = W_PIXEL;
        }
    }
    return DG_OK;
}

/* The softmax of logits z[n], in double precision. */
static void softmax(const double *z, int n, double *p)
{
    double top = z[0], sum = 0;
    for (int k = 1; k < n; k++) {
        top = z[k] > top ? z[k] : top;
    }
    for (int k = 0; k < n; k++) {
        p[k] = exp(z[k] - top);
        sum += p[k];
    }
    for (int k = 0; k < n; k++) {
        p[k] /= sum;
    }
}

/* A digit with ink 255 on class 3's pixel, 128 on class 5's and 64 on class 8's, and the
 * probabilities the pixel net gives it under norm. */
static void three_five_eight(const dg_norm *norm, uint8_t digit[DG_MNIST_PIXELS], double p[10])
{
    memset(digit, 0, DG_MNIST_PIXELS);
    digit[class_pixel(3)] = 255;
    digit[class_pixel(5)] = 128;
    digit[class_pixel(8)] = 64;
    double z[10];
    for (int k = 0; k < 10; k++) {
        double x = ((double)digit[class_pixel(k)] * norm->scale - norm->mean) / norm->std;
        z[k] = W_PIXEL * x;
    }
    softmax(z, 10, p);
}

/* The right digit, its confidence, the top three in order, all probabilities. */
DG_TEST(predict_mnist_known_probabilities)
{
    dg_net *net;
    CHECK_OK(pixel_net(10, (dg_shape){1, DG_MNIST_SIDE, DG_MNIST_SIDE}, &net));
    dg_norm norm = dg_norm_default();
    uint8_t digit[DG_MNIST_PIXELS];
    double want[10];
    three_five_eight(&norm, digit, want);
    dg_prediction pred;
    dg_status st = dg_predict_mnist(net, &norm, digit, 0.6f, &pred);
    dg_net_free(net);
    CHECK_OK(st);
    CHECK(pred.answer == DG_ANSWER_DIGIT);
    CHECK(pred.classes == 10);
    CHECK(pred.digit == 3);
    CHECK_NEAR(pred.confidence, want[3], 1e-5);
    CHECK(want[3] > 0.7 && want[3] < 0.8); /* worked out by hand: e^4 / (e^4 + e^2 + e + 7) */
    CHECK(pred.top[0] == 3 && pred.top[1] == 5 && pred.top[2] == 8);
    CHECK_NEAR(pred.top_p[0], want[3], 1e-5);
    CHECK_NEAR(pred.top_p[1], want[5], 1e-5);
    CHECK_NEAR(pred.top_p[2], want[8], 1e-5);
    double sum = 0;
    for (int k = 0; k < 10; k++) {
        CHECK_NEAR(pred.probs[k], want[k], 1e-5);
        sum += pred.probs[k];
    }
    CHECK_NEAR(sum, 1.0, 1e-5);
    for (int k = 10; k < DG_MAX_CLASSES; k++) {
        CHECK(pred.probs[k] == 0.0f);
    }
}

/* The digit is normalised the model's way: x = (p * scale - mean) / std. */
DG_TEST(predict_mnist_uses_the_models_normalisation)
{
    dg_net *net;
    CHECK_OK(pixel_net(10, (dg_shape){1, DG_MNIST_SIDE, DG_MNIST_SIDE}, &net));
    dg_norm norm = {1.0f / 255.0f, 0.0f, 0.5f}; /* doubles every input */
    uint8_t digit[DG_MNIST_PIXELS];
    double want[10], plain[10];
    three_five_eight(&norm, digit, want);
    dg_norm def = dg_norm_default();
    three_five_eight(&def, digit, plain);
    dg_prediction pred;
    dg_status st = dg_predict_mnist(net, &norm, digit, 0.6f, &pred);
    dg_net_free(net);
    CHECK_OK(st);
    CHECK(pred.digit == 3);
    CHECK(want[3] > plain[3] + 0.1); /* a sharper answer than with x / 255 */
    for (int k = 0; k < 10; k++) {
        CHECK_NEAR(pred.probs[k], want[k], 1e-5);
    }
}

/* Below min_confidence the answer is unsure, with the best guess and its ranking kept; at
 * exactly the threshold it is a digit. */
DG_TEST(predict_mnist_unsure_keeps_best_guess)
{
    dg_net *net;
    CHECK_OK(pixel_net(10, (dg_shape){1, DG_MNIST_SIDE, DG_MNIST_SIDE}, &net));
    dg_norm norm = dg_norm_default();
    uint8_t digit[DG_MNIST_PIXELS];
    double want[10];
    three_five_eight(&norm, digit, want);
    dg_prediction sure, unsure, edge;
    dg_status st1 = dg_predict_mnist(net, &norm, digit, 0.6f, &sure);
    dg_status st2 = dg_predict_mnist(net, &norm, digit, 0.9f, &unsure);
    dg_status st3 = dg_predict_mnist(net, &norm, digit, sure.confidence, &edge);
    dg_net_free(net);
    CHECK_OK(st1);
    CHECK_OK(st2);
    CHECK_OK(st3);
    CHECK(sure.answer == DG_ANSWER_DIGIT);
    CHECK(unsure.answer == DG_ANSWER_UNSURE);
    CHECK(unsure.digit == 3);
    CHECK(unsure.confidence == sure.confidence);
    CHECK(memcmp(unsure.top, sure.top, sizeof sure.top) == 0);
    CHECK(memcmp(unsure.probs, sure.probs, sizeof sure.probs) == 0);
    CHECK(edge.answer == DG_ANSWER_DIGIT);

    /* a blank digit: every class equally likely, 0.1 each, so unsure at the default */
    uint8_t blank[DG_MNIST_PIXELS] = {0};
    dg_prediction flat;
    CHECK_OK(pixel_net(10, (dg_shape){1, DG_MNIST_SIDE, DG_MNIST_SIDE}, &net));
    st1 = dg_predict_mnist(net, &norm, blank, DG_MIN_CONFIDENCE, &flat);
    dg_net_free(net);
    CHECK_OK(st1);
    CHECK(flat.answer == DG_ANSWER_UNSURE);
    CHECK(flat.digit >= 0 && flat.digit < 10);
    CHECK_NEAR(flat.confidence, 0.1, 1e-6);
}

/* With fewer than three classes the unused ranks are -1 with probability 0. */
DG_TEST(predict_mnist_two_classes)
{
    dg_net *net;
    CHECK_OK(pixel_net(2, (dg_shape){1, DG_MNIST_SIDE, DG_MNIST_SIDE}, &net));
    dg_norm norm = dg_norm_default();
    uint8_t digit[DG_MNIST_PIXELS] = {0};
    digit[class_pixel(1)] = 255;
    dg_prediction pred;
    dg_status st = dg_predict_mnist(net, &norm, digit, 0.5f, &pred);
    dg_net_free(net);
    CHECK_OK(st);
    double z[2] = {0.0, W_PIXEL}, want[2];
    softmax(z, 2, want);
    CHECK(pred.classes == 2);
    CHECK(pred.digit == 1 && pred.answer == DG_ANSWER_DIGIT);
    CHECK(pred.top[0] == 1 && pred.top[1] == 0 && pred.top[2] == -1);
    CHECK_NEAR(pred.top_p[0], want[1], 1e-5);
    CHECK_NEAR(pred.top_p[1], want[0], 1e-5);
    CHECK(pred.top_p[2] == 0.0f);
}

/* A net that does not take 1x28x28 input is refused, whatever the digit. */
DG_TEST(predict_mnist_wrong_input_shape)
{
    static const dg_shape shapes[] = {{1, 20, 20}, {3, DG_MNIST_SIDE, DG_MNIST_SIDE}, {1, 28, 27}};
    dg_norm norm = dg_norm_default();
    uint8_t digit[DG_MNIST_PIXELS] = {0};
    digit[class_pixel(2)] = 255;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        dg_net *net;
        CHECK_OK(pixel_net(10, shapes[i], &net));
        dg_prediction pred;
        dg_status st = dg_predict_mnist(net, &norm, digit, 0.6f, &pred);
        dg_net_free(net);
        CHECK_STATUS(st, DG_ERR_MISMATCH);
        CHECK(strstr(dg_last_error(), "input") != NULL);
    }
}

/* Draws a "1" 60 px tall, dark on white, in a 120x100 RGB picture. */
static dg_status picture_of_one(dg_image **out)
{
    dg_status st = dg_canvas_new(120, 100, 0xffffff, out);
    if (st == DG_OK) {
        dg_draw_line(*out, 60, 20, 60, 80, 5, 0x000000);
    }
    return st;
}

/* A picture goes through dg_preprocess, and the answer is the network's on what it gave. */
DG_TEST(predict_image_preprocesses_then_classifies)
{
    dg_net *net;
    CHECK_OK(pixel_net(10, (dg_shape){1, DG_MNIST_SIDE, DG_MNIST_SIDE}, &net));
    dg_image *img;
    CHECK_OK(picture_of_one(&img));
    dg_norm norm = dg_norm_default();
    uint8_t seen[DG_MNIST_PIXELS], want_seen[DG_MNIST_PIXELS];
    dg_preprocess_info info, want_info;
    dg_prediction pred, want;
    dg_status st1 = dg_predict_image(net, &norm, img, 0.0f, &pred, seen, &info);
    dg_status st2 = dg_preprocess(img, want_seen, &want_info);
    dg_status st3 = dg_predict_mnist(net, &norm, want_seen, 0.0f, &want);
    dg_prediction bare;
    dg_status st4 = dg_predict_image(net, &norm, img, 0.0f, &bare, NULL, NULL);
    dg_image_free(img);
    dg_net_free(net);
    CHECK_OK(st1);
    CHECK_OK(st2);
    CHECK_OK(st3);
    CHECK_OK(st4);
    CHECK(info.status == DG_PREP_OK && info.kept == 1);
    CHECK(memcmp(seen, want_seen, sizeof seen) == 0);
    int ink = 0;
    for (int i = 0; i < DG_MNIST_PIXELS; i++) {
        ink += seen[i] > 0;
    }
    CHECK(ink > 20);
    CHECK(memcmp(&pred, &want, sizeof pred) == 0);
    CHECK(memcmp(&bare, &want, sizeof bare) == 0);
    CHECK(pred.answer == DG_ANSWER_DIGIT || pred.answer == DG_ANSWER_UNSURE);
    CHECK(pred.digit >= 0 && pred.digit < 10);
}

/* The pixel net's answer to img (taken and freed), at the default threshold, with what
 * the network saw (set to 0xaa first) and what preprocessing found. */
static dg_status answer_picture(dg_image *img, dg_prediction *pred, uint8_t seen[DG_MNIST_PIXELS],
                                dg_preprocess_info *info)
{
    dg_net *net;
    dg_status st = pixel_net(10, (dg_shape){1, DG_MNIST_SIDE, DG_MNIST_SIDE}, &net);
    if (st == DG_OK) {
        dg_norm norm = dg_norm_default();
        memset(seen, 0xaa, DG_MNIST_PIXELS);
        st = dg_predict_image(net, &norm, img, DG_MIN_CONFIDENCE, pred, seen, info);
    }
    dg_net_free(net);
    dg_image_free(img);
    return st;
}

/* Checks the answer to a picture without a digit: no guess, nothing the network saw. */
#define CHECK_NO_ANSWER(pred, seen, want_answer)                                                   \
    do {                                                                                           \
        CHECK((pred).answer == (want_answer));                                                     \
        CHECK((pred).digit == -1);                                                                 \
        CHECK((pred).confidence == 0.0f);                                                          \
        CHECK((pred).classes == 10);                                                               \
        CHECK((pred).top[0] == -1 && (pred).top[1] == -1 && (pred).top[2] == -1);                  \
        for (int i_ = 0; i_ < DG_MNIST_PIXELS; i_++) {                                             \
            CHECK((seen)[i_] == 0);                                                                \
        }                                                                                          \
    } while (0)

/* A blank picture, white, black or coloured, is empty. */
DG_TEST(predict_image_blank_is_empty)
{
    static const dg_color grounds[] = {0xffffff, 0x000000, 0x8090a0};
    for (size_t i = 0; i < sizeof grounds / sizeof grounds[0]; i++) {
        dg_image *img;
        CHECK_OK(dg_canvas_new(90, 70, grounds[i], &img));
        uint8_t seen[DG_MNIST_PIXELS];
        dg_preprocess_info info;
        dg_prediction pred;
        CHECK_OK(answer_picture(img, &pred, seen, &info));
        CHECK(info.status == DG_PREP_EMPTY);
        CHECK_NO_ANSWER(pred, seen, DG_ANSWER_EMPTY);
    }
}

/* Pictures with ink but no digit: a ruled line, ruled paper, a frame, pepper noise. */
DG_TEST(predict_image_lines_and_noise_are_no_digit)
{
    dg_rng rng;
    dg_rng_seed(&rng, 11);
    for (int kind = 0; kind < 4; kind++) {
        dg_image *img;
        CHECK_OK(dg_canvas_new(200, 150, 0xffffff, &img));
        if (kind == 0) {
            dg_draw_rect(img, 0, 70, 200, 2, 0x202020);
        } else if (kind == 1) {
            for (int k = 0; k < 5; k++) {
                dg_draw_rect(img, 0, 20 + 25 * k, 200, 1, 0x6080c0);
            }
        } else if (kind == 2) {
            dg_draw_frame(img, 0, 0, 200, 150, 3, 0x000000);
        } else {
            for (int k = 0; k < 600; k++) {
                int x = (int)dg_rng_below(&rng, 200), y = (int)dg_rng_below(&rng, 150);
                dg_draw_rect(img, x, y, 1, 1, 0x000000);
            }
        }
        uint8_t seen[DG_MNIST_PIXELS];
        dg_preprocess_info info;
        dg_prediction pred;
        CHECK_OK(answer_picture(img, &pred, seen, &info));
        CHECK_MSG(info.status == DG_PREP_NO_DIGIT, "picture %d: preprocessing status %d", kind,
                  (int)info.status);
        CHECK_NO_ANSWER(pred, seen, DG_ANSWER_NO_DIGIT);
    }
}

/* A picture of a digit and a net that does not take 28x28 digits: refused. */
DG_TEST(predict_image_wrong_input_shape)
{
    dg_net *net;
    CHECK_OK(pixel_net(10, (dg_shape){1, 20, 20}, &net));
    dg_image *img;
    dg_status st = picture_of_one(&img);
    if (st != DG_OK) {
        dg_net_free(net);
    }
    CHECK_OK(st);
    dg_norm norm = dg_norm_default();
    dg_prediction pred;
    st = dg_predict_image(net, &norm, img, DG_MIN_CONFIDENCE, &pred, NULL, NULL);
    /* a blank picture too: the net is refused before the picture is judged empty */
    memset(img->pixels, 255, (size_t)img->w * img->h * img->channels);
    dg_status blank = dg_predict_image(net, &norm, img, DG_MIN_CONFIDENCE, &pred, NULL, NULL);
    dg_image_free(img);
    dg_net_free(net);
    CHECK_STATUS(st, DG_ERR_MISMATCH);
    CHECK_STATUS(blank, DG_ERR_MISMATCH);
}

/* An invalid picture is the preprocessing's DG_ERR_ARG. */
DG_TEST(predict_image_invalid_image)
{
    dg_net *net;
    CHECK_OK(pixel_net(10, (dg_shape){1, DG_MNIST_SIDE, DG_MNIST_SIDE}, &net));
    dg_norm norm = dg_norm_default();
    uint8_t px[4] = {0};
    dg_image two_channels = {2, 1, 2, px};
    dg_prediction pred;
    dg_status st1 = dg_predict_image(net, &norm, &two_channels, 0.6f, &pred, NULL, NULL);
    dg_status st2 = dg_predict_image(net, &norm, NULL, 0.6f, &pred, NULL, NULL);
    dg_net_free(net);
    CHECK_STATUS(st1, DG_ERR_ARG);
    CHECK_STATUS(st2, DG_ERR_ARG);
}

DG_TEST(predict_answer_names)
{
    CHECK(strcmp(dg_answer_name(DG_ANSWER_DIGIT), "ok") == 0);
    CHECK(strcmp(dg_answer_name(DG_ANSWER_UNSURE), "unsure") == 0);
    CHECK(strcmp(dg_answer_name(DG_ANSWER_EMPTY), "empty") == 0);
    CHECK(strcmp(dg_answer_name(DG_ANSWER_NO_DIGIT), "no digit") == 0);
    CHECK(strcmp(dg_answer_name((dg_answer)99), "unknown") == 0);
}
