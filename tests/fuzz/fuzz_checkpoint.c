/*
 * fuzz_checkpoint.c - fuzz target for the training checkpoint reader. The input is written
 * to a temporary file and loaded twice: as it is, and with its file size field and CRC-32
 * set to agree with its bytes, so that mutations reach the section parser (and the model
 * file embedded in MODL) instead of stopping at the checksum. Any status is fine; a crash,
 * leak, sanitizer report, a failure that leaves *out set or gives no message, or a loaded
 * checkpoint that cannot be saved back, loaded again, or give its net, is a bug.
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

static const char *const input_path = fuzz_path_a, *const output_path = fuzz_path_b;

static void load(void)
{
    dg_checkpoint *ck = (dg_checkpoint *)&ck; /* not NULL: the loader must set it either way */
    dg_status st = dg_checkpoint_load(input_path, &ck);
    if (st != DG_OK) {
        if (ck != NULL || dg_last_error()[0] == '\0') {
            abort();
        }
        return;
    }
    /* what loads must save, load again and build its net; the history has one row per
     * epoch done */
    int rows = -1;
    dg_checkpoint_history(ck, &rows);
    dg_train_progress p = dg_checkpoint_progress(ck);
    if (rows != p.epoch || p.step >= p.steps || p.epoch > dg_checkpoint_config(ck)->epochs) {
        abort();
    }
    dg_net *net = NULL;
    if (dg_checkpoint_net(ck, &net) != DG_OK || dg_checkpoint_save(output_path, ck) != DG_OK) {
        abort();
    }
    dg_net_free(net);
    dg_checkpoint_free(ck);
    ck = NULL;
    if (dg_checkpoint_load(output_path, &ck) != DG_OK) {
        abort();
    }
    dg_checkpoint_free(ck);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_INPUT || !fuzz_files_setup("input.ckpt", "output.ckpt")) {
        return 0;
    }
    if (fuzz_write_file(input_path, data, size)) {
        load();
    }
    uint8_t *fixed = fuzz_with_valid_frame(data, size);
    if (fixed && fuzz_write_file(input_path, fixed, size)) {
        load();
    }
    free(fixed);
    return 0;
}
