/*
 * history.c - the training history CSV that `digits train` writes beside a model, one row
 * per epoch, and that the curves and the report read back:
 *
 *   epoch,loss,accuracy,val_loss,val_accuracy,seconds
 *   1,0.153210,0.953019,0.061273,0.981833,4.812
 *
 * Validation columns are empty (or -1) when there was no validation split. The reader
 * checks every field and that epochs increase, and names the line of the first problem.
 */
#include "base/fileio.h"
#include "digits.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HISTORY_HEADER   "epoch,loss,accuracy,val_loss,val_accuracy,seconds"
#define HISTORY_MAX_LINE 1024
#define HISTORY_MAX_ROWS 1000000

/* Parses one numeric field; "" and "-1" mean "absent" (-1) when optional. */
static int parse_field(const char *s, int optional, double *out)
{
    if (optional && (*s == '\0' || !strcmp(s, "-1"))) {
        *out = -1.0;
        return 1;
    }
    if (*s == '\0') {
        return 0;
    }
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end != '\0' || !isfinite(v)) {
        return 0;
    }
    if (optional && v < 0.0) {
        *out = -1.0; /* any negative marks an absent value */
        return 1;
    }
    *out = v;
    return 1;
}

/* Splits a CSV line in place at commas; returns the number of fields (at most max). */
static int split_fields(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line;
    while (n < max) {
        fields[n++] = p;
        char *comma = strchr(p, ',');
        if (!comma) {
            return n;
        }
        *comma = '\0';
        p = comma + 1;
    }
    return max + 1; /* more fields than wanted */
}

static void chomp(char *line)
{
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ')) {
        line[--n] = '\0';
    }
}

/* One data row into *row; returns NULL or what is wrong with it. */
static const char *parse_history_row(char *line, dg_history_row *row)
{
    char *f[6];
    int n = split_fields(line, f, 6);
    if (n != 6) {
        return "want 6 comma-separated fields";
    }
    double epoch;
    if (!parse_field(f[0], 0, &epoch) || epoch < 1 || epoch > 1e9 || epoch != floor(epoch)) {
        return "epoch is not a whole number >= 1";
    }
    row->epoch = (int)epoch;
    if (!parse_field(f[1], 0, &row->loss) || row->loss < 0) {
        return "loss is not a number >= 0";
    }
    if (!parse_field(f[2], 0, &row->accuracy) || row->accuracy < 0 || row->accuracy > 1) {
        return "accuracy is not a number in 0..1";
    }
    if (!parse_field(f[3], 1, &row->val_loss)) {
        return "val_loss is not a number, empty or -1";
    }
    if (!parse_field(f[4], 1, &row->val_accuracy) || row->val_accuracy > 1) {
        return "val_accuracy is not a number in 0..1, empty or -1";
    }
    if (!parse_field(f[5], 0, &row->seconds) || row->seconds < 0) {
        return "seconds is not a number >= 0";
    }
    return NULL;
}

dg_status dg_history_load(const char *path, dg_history_row **rows, int *n)
{
    if (!rows || !n) {
        return dg_fail(DG_ERR_ARG, "history: no output");
    }
    *rows = NULL;
    *n = 0;
    if (!path) {
        return dg_fail(DG_ERR_ARG, "history: no path");
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        return dg_fail(errno == ENOENT ? DG_ERR_NOT_FOUND : DG_ERR_IO, "%s: cannot open: %s", path,
                       strerror(errno));
    }
    char line[HISTORY_MAX_LINE];
    dg_history_row *out = NULL;
    int count = 0, cap = 0, line_no = 0;
    dg_status st = DG_OK;
    while (fgets(line, sizeof line, f)) {
        line_no++;
        if (!strchr(line, '\n') && !feof(f)) {
            st = dg_fail(DG_ERR_FORMAT, "%s:%d: line too long", path, line_no);
            break;
        }
        chomp(line);
        if (line_no == 1) {
            /* a UTF-8 byte order mark is tolerated: spreadsheets add one */
            const char *h = strncmp(line, "\xEF\xBB\xBF", 3) ? line : line + 3;
            if (strcmp(h, HISTORY_HEADER)) {
                st = dg_fail(DG_ERR_FORMAT, "%s:1: header is not \"%s\"", path, HISTORY_HEADER);
                break;
            }
            continue;
        }
        if (line[0] == '\0') {
            continue;
        }
        if (count == cap) {
            if (cap >= HISTORY_MAX_ROWS) {
                st = dg_fail(DG_ERR_TOO_LARGE, "%s: more than %d rows", path, HISTORY_MAX_ROWS);
                break;
            }
            int grown = cap ? cap * 2 : 64;
            dg_history_row *p = realloc(out, (size_t)grown * sizeof *p);
            if (!p) {
                st = dg_fail(DG_ERR_NOMEM, "%s: out of memory", path);
                break;
            }
            out = p;
            cap = grown;
        }
        dg_history_row *row = &out[count];
        const char *why = parse_history_row(line, row);
        if (why) {
            st = dg_fail(DG_ERR_FORMAT, "%s:%d: %s", path, line_no, why);
            break;
        }
        if (count > 0 && row->epoch <= out[count - 1].epoch) {
            st = dg_fail(DG_ERR_FORMAT, "%s:%d: epoch %d does not follow epoch %d", path, line_no,
                         row->epoch, out[count - 1].epoch);
            break;
        }
        count++;
    }
    if (st == DG_OK && ferror(f)) {
        st = dg_fail(DG_ERR_IO, "%s: read error", path);
    }
    if (st == DG_OK && line_no == 0) {
        st = dg_fail(DG_ERR_FORMAT, "%s:1: empty file, want the header \"%s\"", path,
                     HISTORY_HEADER);
    }
    if (st == DG_OK && count == 0) {
        st = dg_fail(DG_ERR_FORMAT, "%s:%d: no epochs after the header", path, line_no + 1);
    }
    fclose(f);
    if (st != DG_OK) {
        free(out);
        return st;
    }
    *rows = out;
    *n = count;
    return DG_OK;
}

dg_status dg_history_write_header(FILE *f)
{
    if (fprintf(f, "%s\n", HISTORY_HEADER) < 0) {
        return dg_fail(DG_ERR_IO, "history: write failed");
    }
    return DG_OK;
}

/* One data row with its newline into buf; returns its length (snprintf's). */
static int format_row(char *buf, size_t size, const dg_history_row *r)
{
    if (r->val_accuracy >= 0) {
        return snprintf(buf, size, "%d,%.6f,%.6f,%.6f,%.6f,%.3f\n", r->epoch, r->loss, r->accuracy,
                        r->val_loss, r->val_accuracy, r->seconds);
    }
    return snprintf(buf, size, "%d,%.6f,%.6f,,,%.3f\n", r->epoch, r->loss, r->accuracy, r->seconds);
}

dg_status dg_history_write_row(FILE *f, const dg_history_row *r)
{
    char line[HISTORY_MAX_LINE];
    int n = format_row(line, sizeof line, r);
    if (n < 0 || (size_t)n >= sizeof line || fputs(line, f) < 0 || fflush(f) != 0) {
        return dg_fail(DG_ERR_IO, "history: write failed");
    }
    return DG_OK;
}

dg_status dg_history_save(const char *path, const dg_history_row *rows, int n)
{
    if (!path || n < 0 || (n > 0 && !rows)) {
        return dg_fail(DG_ERR_ARG, "history: no path or rows");
    }
    size_t cap = sizeof HISTORY_HEADER + (size_t)n * HISTORY_MAX_LINE;
    char *text = malloc(cap);
    if (!text) {
        return dg_fail(DG_ERR_NOMEM, "%s: out of memory for %d rows", path, n);
    }
    size_t used = (size_t)snprintf(text, cap, "%s\n", HISTORY_HEADER);
    for (int i = 0; i < n; i++) {
        int k = format_row(text + used, cap - used, &rows[i]);
        if (k < 0 || (size_t)k >= cap - used) {
            free(text);
            return dg_fail(DG_ERR_ARG, "%s: history row %d does not fit a line", path, i + 1);
        }
        used += (size_t)k;
    }
    dg_status st = dg_write_file_atomic(path, (const uint8_t *)text, used);
    free(text);
    return st;
}
