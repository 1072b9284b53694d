/*
 * naive_predict.c - the baseline for bench/preprocess_compare.sh: classifies images after
 * the preprocessing most tutorials show (to grey, resize the whole image to 28x28 with
 * bilinear interpolation, invert when the mean is bright), with no cropping, no fitting
 * into 20x20 and no centring by mass. Prints the same CSV as `digits predict --csv`:
 *
 *   naive_predict [--model MODEL] [--min-confidence X] IMAGE...
 *   path,digit,confidence,status
 */
#include "digits.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Grey level of a pixel; transparent pixels are composited over white. */
static float grey_at(const dg_image *img, int x, int y)
{
    const uint8_t *p = &img->pixels[((size_t)y * (size_t)img->w + (size_t)x) * img->channels];
    if (img->channels == 1) {
        return p[0];
    }
    float g = 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
    if (img->channels == 4) {
        float a = p[3] / 255.0f;
        g = g * a + 255.0f * (1.0f - a);
    }
    return g;
}

/* Bilinear resize of the whole image to 28x28, sampling at pixel centres as OpenCV's
 * INTER_LINEAR does (no averaging over the pixels in between when shrinking), then
 * inverted when the mean is above mid-grey so that ink is bright as in MNIST. */
static void naive_28(const dg_image *img, uint8_t out[DG_MNIST_PIXELS])
{
    float v[DG_MNIST_PIXELS], sum = 0.0f;
    float sx = (float)img->w / 28.0f, sy = (float)img->h / 28.0f;
    for (int r = 0; r < 28; r++) {
        float fy = (r + 0.5f) * sy - 0.5f;
        fy = fy < 0.0f ? 0.0f : fy > img->h - 1 ? (float)(img->h - 1) : fy;
        int y0 = (int)fy, y1 = y0 + 1 < img->h ? y0 + 1 : y0;
        float ty = fy - (float)y0;
        for (int c = 0; c < 28; c++) {
            float fx = (c + 0.5f) * sx - 0.5f;
            fx = fx < 0.0f ? 0.0f : fx > img->w - 1 ? (float)(img->w - 1) : fx;
            int x0 = (int)fx, x1 = x0 + 1 < img->w ? x0 + 1 : x0;
            float tx = fx - (float)x0;
            float top = grey_at(img, x0, y0) * (1 - tx) + grey_at(img, x1, y0) * tx;
            float bottom = grey_at(img, x0, y1) * (1 - tx) + grey_at(img, x1, y1) * tx;
            v[r * 28 + c] = top * (1 - ty) + bottom * ty;
            sum += v[r * 28 + c];
        }
    }
    bool invert = sum / (float)DG_MNIST_PIXELS > 127.5f;
    for (int i = 0; i < DG_MNIST_PIXELS; i++) {
        float g = invert ? 255.0f - v[i] : v[i];
        out[i] = (uint8_t)(g < 0.0f ? 0 : g > 255.0f ? 255 : (int)(g + 0.5f));
    }
}

static void print_field(const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"') {
            putchar('"');
        }
        putchar(*s);
    }
    putchar('"');
}

int main(int argc, char **argv)
{
    const char *model = "model/digits.model";
    double min_confidence = DG_MIN_CONFIDENCE;
    int first = 1;
    while (first < argc && argv[first][0] == '-') {
        if (!strcmp(argv[first], "--model") && first + 1 < argc) {
            model = argv[first + 1];
        } else if (!strcmp(argv[first], "--min-confidence") && first + 1 < argc) {
            char *end;
            errno = 0;
            min_confidence = strtod(argv[first + 1], &end);
            if (errno || *end || !(min_confidence >= 0.0 && min_confidence <= 1.0)) {
                fprintf(stderr, "naive_predict: --min-confidence wants 0..1\n");
                return 2;
            }
        } else {
            fprintf(stderr, "usage: naive_predict [--model MODEL] [--min-confidence X] IMAGE...\n");
            return 2;
        }
        first += 2;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: naive_predict [--model MODEL] [--min-confidence X] IMAGE...\n");
        return 2;
    }
    dg_net *net;
    dg_model_meta meta;
    if (dg_model_load(model, &net, &meta) != DG_OK) {
        fprintf(stderr, "naive_predict: %s\n", dg_last_error());
        return 1;
    }
    if (dg_net_set_threads(net, 1) != DG_OK) {
        fprintf(stderr, "naive_predict: %s\n", dg_last_error());
        dg_net_free(net);
        return 1;
    }
    printf("path,digit,confidence,status\n");
    int failed = 0;
    for (int i = first; i < argc; i++) {
        dg_image *img;
        uint8_t d[DG_MNIST_PIXELS];
        dg_prediction p;
        if (dg_image_load(argv[i], &img) != DG_OK) {
            print_field(argv[i]);
            printf(",,,");
            char status[1024];
            snprintf(status, sizeof status, "error: %s", dg_last_error());
            print_field(status);
            putchar('\n');
            failed = 1;
            continue;
        }
        naive_28(img, d);
        dg_image_free(img);
        if (dg_predict_mnist(net, &meta.norm, d, (float)min_confidence, &p) != DG_OK) {
            fprintf(stderr, "naive_predict: %s\n", dg_last_error());
            dg_net_free(net);
            return 1;
        }
        print_field(argv[i]);
        printf(",%s,%.4f,%s\n", p.answer == DG_ANSWER_DIGIT ? meta.labels[p.digit] : "",
               (double)p.confidence, dg_answer_name(p.answer));
    }
    dg_net_free(net);
    return failed;
}
