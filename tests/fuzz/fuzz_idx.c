/*
 * fuzz_idx.c - fuzz target for the IDX reader. The input is written to a temporary file
 * and loaded twice: as an images file beside a labels file made to agree with its header,
 * and as a labels file beside matching 1x1 images. Everything is freed; any status is
 * fine, a crash, leak or sanitizer report is a bug.
 */
#include "digits.h"
#include "fuzz_files.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Partner files are written in full only up to this count, to keep each run fast; beyond
 * it they hold just a header, which still lets the fuzzed file be read to its end. */
#define FUZZ_MAX_PARTNER 65536u

/* the fuzzed input, and the file loaded or written beside it */
static const char *const input_path = fuzz_path_a, *const partner_path = fuzz_path_b;

/* The item count in an IDX header (bytes 4-7, big-endian), 0 if the input is shorter. */
static uint32_t header_count(const uint8_t *data, size_t size)
{
    if (size < 8) {
        return 0;
    }
    return (uint32_t)data[4] << 24 | (uint32_t)data[5] << 16 | (uint32_t)data[6] << 8 |
           (uint32_t)data[7];
}

/* A labels (is_images 0) or 1x1 images (is_images 1) file holding n zero items; only the
 * header when n is above FUZZ_MAX_PARTNER. */
static int write_partner(uint32_t n, int is_images)
{
    size_t header = is_images ? 16 : 8;
    size_t body = n <= FUZZ_MAX_PARTNER ? n : 0;
    uint8_t *buf = calloc(1, header + body);
    if (!buf) {
        return 0;
    }
    uint8_t head[16] = {0,
                        0,
                        0x08,
                        (uint8_t)(is_images ? 3 : 1),
                        (uint8_t)(n >> 24),
                        (uint8_t)(n >> 16),
                        (uint8_t)(n >> 8),
                        (uint8_t)n,
                        0,
                        0,
                        0,
                        1,
                        0,
                        0,
                        0,
                        1};
    memcpy(buf, head, header);
    int ok = fuzz_write_file(partner_path, buf, header + body);
    free(buf);
    return ok;
}

static void load(const char *images, const char *labels)
{
    dg_dataset *ds = NULL;
    if (dg_idx_load(images, labels, &ds) == DG_OK) {
        /* Touch every byte so that a wrong size shows under ASan. */
        unsigned sum = 0;
        size_t n_pixels = (size_t)ds->n * ds->h * ds->w;
        for (size_t i = 0; i < n_pixels; i++) {
            sum += ds->images[i];
        }
        for (uint32_t i = 0; i < ds->n; i++) {
            sum += ds->labels[i];
        }
        (void)sum;
    } else if (ds != NULL || dg_last_error()[0] == '\0') {
        abort(); /* a failure must clear *out and leave a message */
    }
    dg_dataset_free(ds);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fuzz_files_setup("input", "partner") || !fuzz_write_file(input_path, data, size)) {
        return 0;
    }
    /* The count is read from the raw bytes: for a gzip'd input the partner will not match,
     * which exercises the mismatch path instead. */
    uint32_t n = header_count(data, size);
    if (n == 0 || n > DG_IDX_MAX_ITEMS) {
        n = 1; /* a partner the reader accepts, so the input is what fails */
    }
    if (write_partner(n, 0)) {
        load(input_path, partner_path);
    }
    if (write_partner(n, 1)) {
        load(partner_path, input_path);
    }
    return 0;
}
