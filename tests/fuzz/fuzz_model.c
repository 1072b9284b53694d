/*
 * fuzz_model.c - fuzz target for the model file reader. The input is written to a
 * temporary file and loaded twice: as it is, and with its file size field and CRC-32 set
 * to agree with its bytes, so that mutations reach the section parser instead of stopping
 * at the checksum. Each time dg_model_stat checks the same file first: where it fails,
 * dg_model_load must fail alike. Any status is fine; a crash, leak, sanitizer report, a
 * failure that leaves *net set or gives no message, a dg_model_stat failure that leaves its
 * output set, or a loaded net that cannot be saved back is a bug.
 */
#include "digits.h"
#include "fuzz_files.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Larger inputs only repeat what small ones exercise, and slow each run. */
#define FUZZ_MAX_INPUT (1u << 20)

/* the fuzzed input, and the file loaded or written beside it */
static const char *const input_path = fuzz_path_a, *const output_path = fuzz_path_b;

/* dg_model_stat on the input; its status, which dg_model_load must repeat on failure */
static dg_status stat_input(size_t size)
{
    dg_model_file file;
    memset(&file, 0xa5, sizeof file);
    dg_status st = dg_model_stat(input_path, &file);
    if (st != DG_OK) {
        if (file.version != 0 || file.n_bytes != 0 || file.checksum != 0 ||
            dg_last_error()[0] == '\0') {
            abort();
        }
    } else if (file.n_bytes != size || file.version == 0) {
        abort();
    }
    return st;
}

static void load(size_t size)
{
    dg_status stat_st = stat_input(size);
    dg_net *net = (dg_net *)&net; /* not NULL: the loader must set it either way */
    dg_model_meta meta;
    dg_status st = dg_model_load(input_path, &net, &meta);
    if (stat_st != DG_OK && st != stat_st) {
        abort(); /* both check the header, size and checksum alike */
    }
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
        load(size);
    }
    uint8_t *fixed = fuzz_with_valid_frame(data, size);
    if (fixed && fuzz_write_file(input_path, fixed, size)) {
        load(size);
    }
    free(fixed);
    return 0;
}
