/*
 * fuzz_image.c - fuzz target for the image readers and the preprocessing: the input is
 * decoded from memory (PNG, JPEG, PGM/PPM or BMP by content), also reduced (which must give
 * the same status and the reduced size), and, when it decodes, turned into an ink map and an
 * MNIST digit. Any status is fine; a crash, leak or sanitizer
 * report is a bug, and so is a failure that leaves *out set or no message.
 */
#include "digits.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decoding stays fast on any input, but preprocessing a huge (valid) image is slow and
 * tells nothing new: such images are only decoded. */
#define FUZZ_MAX_PREPROCESS_PIXELS (4u * 1000u * 1000u)

/* The reduced load gives the full load's status, and on success the full picture's size
 * divided by its reduction, rounded up. */
static void check_reduced(const uint8_t *data, size_t size, dg_status full_status,
                          const dg_image *full)
{
    dg_image *img = NULL;
    dg_image_source src;
    dg_status st = dg_image_load_memory_reduced(data, size, 8, &img, &src);
    if (st != full_status || (st != DG_OK && img != NULL)) {
        abort();
    }
    if (st == DG_OK) {
        int r = src.reduction;
        if (src.w != full->w || src.h != full->h || img->w != (full->w + r - 1) / r ||
            img->h != (full->h + r - 1) / r || img->channels != full->channels) {
            abort();
        }
    }
    dg_image_free(img);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dg_image *img = NULL;
    dg_status st = dg_image_load_memory(data, size, &img);
    check_reduced(data, size, st, img);
    if (st != DG_OK) {
        if (img != NULL || dg_last_error()[0] == '\0') {
            abort();
        }
        return 0;
    }
    if ((size_t)img->w * (size_t)img->h <= FUZZ_MAX_PREPROCESS_PIXELS) {
        uint8_t out[DG_MNIST_PIXELS];
        dg_preprocess_info info;
        if (dg_preprocess(img, out, &info) != DG_OK) {
            abort(); /* a valid image can only fail for lack of memory */
        }
        /* the same holds for the ink map, and for the digit in its whole rectangle */
        dg_image *ink = NULL;
        if (dg_ink_map(img, &ink, &info) != DG_OK ||
            dg_ink_to_mnist(ink, 0, 0, ink->w, ink->h, out) != DG_OK) {
            abort();
        }
        dg_image_free(ink);
    }
    dg_image_free(img);
    return 0;
}
