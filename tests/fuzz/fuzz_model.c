/*
 * fuzz_model.c - fuzz target for the model file reader. The input is written to a
 * temporary file and loaded twice: as it is, and with its file size field and CRC-32 set
 * to agree with its bytes, so that mutations reach the section parser instead of stopping
 * at the checksum. Any status is fine; a crash, leak, sanitizer report, a failure that
 * leaves *net set or gives no message, or a loaded net that cannot be saved back is a bug.
 */
#include "digits.h"
#include "fuzz_files.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Larger inputs only repeat what small ones exercise, and slow each run. */
#define FUZZ_MAX_INPUT (1u << 20)

/* the fuzzed input, and the file loaded or written beside it */
static const char *const input_path = fuzz_path_a, *const output_path = fuzz_path_b;

static void load(void)
{
    dg_net *net = (dg_net *)&net; /* not NULL: the loader must set it either way */
    dg_model_meta meta;
    dg_status st = dg_model_load(input_path, &net, &meta);
    if (st != DG_OK) {
        if (net != NULL || dg_last_error()[0] == '\0') {
            abort();
        }
        return;
    }
    /* what loads must save (the writer checks the same limits) and load again */
    if (dg_model_save(output_path, net, &meta) != DG_OK) {
        abort();
    }
    dg_net_free(net);
    net = NULL;
    if (dg_model_load(output_path, &net, NULL) != DG_OK) {
        abort();
    }
    dg_net_free(net);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_INPUT || !fuzz_files_setup("input.model", "output.model")) {
        return 0;
    }
    if (fuzz_write_file(input_path, data, size)) {
        load();
    }
    if (size < 28) {
        return 0;
    }
    uint8_t *fixed = malloc(size);
    if (!fixed) {
        return 0;
    }
    memcpy(fixed, data, size);
    for (int i = 0; i < 8; i++) {
        fixed[16 + i] = (uint8_t)((uint64_t)size >> (8 * i));
    }
    uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), fixed, (uInt)(size - 4));
    for (int i = 0; i < 4; i++) {
        fixed[size - 4 + (size_t)i] = (uint8_t)(crc >> (8 * i));
    }
    if (fuzz_write_file(input_path, fixed, size)) {
        load();
    }
    free(fixed);
    return 0;
}
