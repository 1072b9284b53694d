/*
 * fuzz_history.c - fuzz target for the training-history CSV reader. The input is written to
 * a temporary file and loaded. A history that loads must hold at least one row, epochs
 * that increase, values in their ranges, and must survive being written back with the
 * writer and read again (to the writer's precision; validation loss is only kept beside a
 * validation accuracy). A crash, leak, sanitizer report, a failure that leaves *rows set
 * or gives no message, or a broken check is a bug.
 */
#include "digits.h"
#include "fuzz_files.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The reader refuses lines over 1 KiB; larger inputs only repeat rows. */
#define FUZZ_MAX_INPUT (64u * 1024u)

/* the fuzzed input, and the history written back from it */
static const char *const input_path = fuzz_path_a, *const output_path = fuzz_path_b;

/* Loads path; on failure checks the failure contract and returns 0. */
static int load(const char *path, dg_history_row **rows, int *n)
{
    *rows = (dg_history_row *)rows; /* not NULL: the reader must set it either way */
    *n = -1;
    if (dg_history_load(path, rows, n) != DG_OK) {
        if (*rows != NULL || *n != 0 || dg_last_error()[0] == '\0') {
            abort();
        }
        return 0;
    }
    if (*rows == NULL || *n < 1) {
        abort();
    }
    return 1;
}

static void check_ranges(const dg_history_row *rows, int n)
{
    for (int i = 0; i < n; i++) {
        const dg_history_row *r = &rows[i];
        if (r->epoch < 1 || (i > 0 && r->epoch <= rows[i - 1].epoch) || !(r->loss >= 0) ||
            !(r->accuracy >= 0 && r->accuracy <= 1) || !(r->val_loss >= 0 || r->val_loss == -1) ||
            !(r->val_accuracy <= 1 && (r->val_accuracy >= 0 || r->val_accuracy == -1)) ||
            !(r->seconds >= 0) || !isfinite(r->loss) || !isfinite(r->val_loss) ||
            !isfinite(r->seconds)) {
            abort();
        }
    }
}

/* a and b agree to the writer's fixed decimals (plus a last-digit rounding) */
static int close_to(double a, double b, double decimals)
{
    return fabs(a - b) <= decimals * (fabs(a) > 1 ? fabs(a) : 1);
}

static void check_rewrite(const dg_history_row *rows, int n)
{
    FILE *f = fopen(output_path, "w");
    if (!f) {
        return;
    }
    int ok = dg_history_write_header(f) == DG_OK;
    for (int i = 0; ok && i < n; i++) {
        ok = dg_history_write_row(f, &rows[i]) == DG_OK;
    }
    if (fclose(f) != 0 || !ok) {
        return; /* the disk, not the code */
    }
    dg_history_row *back;
    int n_back;
    if (!load(output_path, &back, &n_back) || n_back != n) {
        abort(); /* what the writer writes, the reader must read */
    }
    for (int i = 0; i < n; i++) {
        const dg_history_row *a = &rows[i], *b = &back[i];
        int has_val = a->val_accuracy >= 0;
        if (a->epoch != b->epoch || !close_to(a->loss, b->loss, 1e-6) ||
            !close_to(a->accuracy, b->accuracy, 1e-6) || !close_to(a->seconds, b->seconds, 1e-3) ||
            (has_val && !close_to(a->val_accuracy, b->val_accuracy, 1e-6)) ||
            (has_val && !close_to(a->val_loss, b->val_loss, 1e-6)) ||
            (!has_val && (b->val_accuracy != -1 || b->val_loss != -1))) {
            abort();
        }
    }
    free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_INPUT || !fuzz_files_setup("history.csv", "rewritten.csv") ||
        !fuzz_write_file(input_path, data, size)) {
        return 0;
    }
    dg_history_row *rows;
    int n;
    if (load(input_path, &rows, &n)) {
        check_ranges(rows, n);
        check_rewrite(rows, n);
        free(rows);
    }
    return 0;
}
