/*
 * model_io.c - model files: dg_model_save writes a net and its metadata atomically,
 * dg_model_load reads and checks one, dg_model_stat checks a file without building the net.
 *
 * The format is described byte by byte in docs/model-format.md; in short:
 *
 *   header   8 magic "\x89DGM\r\n\x1a\n", u32 version, u32 byte-order mark 0x01020304,
 *            u64 file size                                                      (24 bytes)
 *   sections 4-byte tag, u64 payload length, payload: ARCH NORM LABL TRAN PARM, and the
 *            optional prec (the training products' precision) after a bf16 run
 *   trailer  u32 CRC-32 of everything before it
 *
 * All numbers are little-endian whatever the host; they are encoded byte by byte.
 * A file is read whole into memory (it is refused above DG_MODEL_MAX_BYTES before
 * reading), and every length in it is compared with the bytes left before it is used.
 */
#include "base/fileio.h"
#include "digits.h"
#include "nn/codec.h"
#include "nn/net.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const uint8_t magic[8] = {0x89, 'D', 'G', 'M', '\r', '\n', 0x1a, '\n'};

#define HEADER_BYTES       DG_FILE_HEADER_BYTES
#define TRAILER_BYTES      DG_FILE_TRAILER_BYTES
#define MAX_SIDE           4096u
#define MAX_SPEC           4096u
#define MAX_LABEL          31u /* fits dg_model_meta.labels[i] with its NUL */
#define MAX_PRESET         31u
#define MAX_DATASET        63u
#define BYTE_ORDER_MARK    DG_BYTE_ORDER_MARK
#define BYTE_ORDER_SWAPPED 0x04030201u

/* The sections, in the order the writer stores them; prec is optional. */
enum { SEC_ARCH, SEC_NORM, SEC_LABL, SEC_TRAN, SEC_PARM, SEC_PREC, SEC_COUNT };
static const char section_tags[SEC_COUNT][5] = {"ARCH", "NORM", "LABL",
                                                "TRAN", "PARM", DG_PRECISION_TAG};

/* ---------------------------------------------------------------- metadata */

void dg_model_meta_default(dg_model_meta *meta)
{
    memset(meta, 0, sizeof *meta);
    meta->norm = dg_norm_default();
    meta->classes = 10;
    for (int i = 0; i < 10; i++) {
        meta->labels[i][0] = (char)('0' + i);
    }
    snprintf(meta->dataset, sizeof meta->dataset, "mnist");
    meta->val_accuracy = -1;
    meta->test_accuracy = -1;
    meta->preprocess = DG_PREPROCESS_VERSION;
}

static bool accuracy_ok(double a)
{
    return a == -1.0 || (a >= 0.0 && a <= 1.0);
}

/*
 * The limits of docs/model-format.md on everything but the architecture, shared by the
 * writer (which must never write what the reader refuses) and the reader. Returns a
 * description of the first violation, or NULL.
 */
static const char *meta_problem(const dg_model_meta *m, char *buf, size_t buf_size)
{
    if (!isfinite(m->norm.scale) || !isfinite(m->norm.mean) || !isfinite(m->norm.std) ||
        !(m->norm.std > 0)) {
        return "normalisation needs finite scale and mean and a finite std > 0";
    }
    if (m->classes < 1 || m->classes > DG_MAX_CLASSES) {
        snprintf(buf, buf_size, "%d classes (want 1..%d)", m->classes, DG_MAX_CLASSES);
        return buf;
    }
    for (int i = 0; i < m->classes; i++) {
        size_t n = strnlen(m->labels[i], sizeof m->labels[i]);
        if (n == 0 || n > MAX_LABEL || !dg_printable(m->labels[i], n)) {
            snprintf(buf, buf_size, "label of class %d must be 1..%u dg_printable bytes", i,
                     MAX_LABEL);
            return buf;
        }
    }
    size_t n_preset = strnlen(m->preset, sizeof m->preset);
    if (n_preset > MAX_PRESET || !dg_printable(m->preset, n_preset)) {
        return "preset name must be 0..31 dg_printable bytes";
    }
    size_t n_dataset = strnlen(m->dataset, sizeof m->dataset);
    if (n_dataset > MAX_DATASET || !dg_printable(m->dataset, n_dataset)) {
        return "dataset name must be 0..63 dg_printable bytes";
    }
    if (m->epochs < 0 || m->batch < 0) {
        return "epochs and batch must not be negative";
    }
    if (!isfinite(m->lr) || m->lr < 0) {
        return "learning rate must be finite and >= 0";
    }
    if (!accuracy_ok(m->val_accuracy) || !accuracy_ok(m->test_accuracy)) {
        return "accuracies must be in 0..1 or -1 (unknown)";
    }
    if (m->precision != DG_PRECISION_FP32 && m->precision != DG_PRECISION_BF16) {
        return "precision must be fp32 or bf16";
    }
    return NULL;
}

static bool shape_ok(dg_shape s)
{
    return s.c >= 1 && s.h >= 1 && s.w >= 1 && (unsigned)s.c <= MAX_SIDE &&
           (unsigned)s.h <= MAX_SIDE && (unsigned)s.w <= MAX_SIDE;
}

/* The whole file but the CRC, which the caller appends once the bytes are final. */
static void encode(dg_writer *w, const dg_net *net, const dg_model_meta *m)
{
    dg_put_bytes(w, magic, sizeof magic);
    dg_put_u32(w, DG_MODEL_FORMAT_VERSION);
    dg_put_u32(w, BYTE_ORDER_MARK);
    size_t size_at = w->pos;
    dg_put_u64(w, 0);

    dg_shape in = dg_net_input_shape(net);
    const char *spec = dg_net_spec(net);
    size_t at = dg_begin_section(w, section_tags[SEC_ARCH]);
    dg_put_u32(w, (uint32_t)in.c);
    dg_put_u32(w, (uint32_t)in.h);
    dg_put_u32(w, (uint32_t)in.w);
    dg_put_string(w, spec, strlen(spec));
    dg_end_section(w, at);

    at = dg_begin_section(w, section_tags[SEC_NORM]);
    dg_put_f32(w, m->norm.scale);
    dg_put_f32(w, m->norm.mean);
    dg_put_f32(w, m->norm.std);
    dg_end_section(w, at);

    at = dg_begin_section(w, section_tags[SEC_LABL]);
    dg_put_u32(w, (uint32_t)m->classes);
    for (int i = 0; i < m->classes; i++) {
        dg_put_string(w, m->labels[i], strnlen(m->labels[i], sizeof m->labels[i]));
    }
    dg_end_section(w, at);

    at = dg_begin_section(w, section_tags[SEC_TRAN]);
    dg_put_u64(w, m->seed);
    dg_put_u32(w, (uint32_t)m->epochs);
    dg_put_u32(w, (uint32_t)m->batch);
    dg_put_f32(w, m->lr);
    dg_put_u32(w, m->n_train);
    dg_put_f64(w, m->val_accuracy);
    dg_put_f64(w, m->test_accuracy);
    dg_put_u64(w, (uint64_t)m->created);
    dg_put_u32(w, m->preprocess);
    dg_put_string(w, m->preset, strnlen(m->preset, sizeof m->preset));
    dg_put_string(w, m->dataset, strnlen(m->dataset, sizeof m->dataset));
    dg_end_section(w, at);

    size_t n_params = dg_net_param_count(net);
    const float *params = dg_net_params_const(net);
    at = dg_begin_section(w, section_tags[SEC_PARM]);
    dg_put_u64(w, (uint64_t)n_params);
    for (size_t i = 0; i < n_params; i++) {
        dg_put_f32(w, params[i]);
    }
    dg_end_section(w, at);
    dg_put_precision(w, m->precision);

    /* The file size counts the trailer that follows. */
    dg_patch_u64(w, size_at, (uint64_t)(w->pos + TRAILER_BYTES));
}

/* ---------------------------------------------------------------- saving */

/* Creates the parent directory of path when it is missing (one level, for convenience). */
static dg_status ensure_parent(const char *path)
{
    char *dir = dg_parent_dir(path);
    if (!dir) {
        return dg_fail(DG_ERR_NOMEM, "%s: out of memory", path);
    }
    dg_status st = DG_OK;
    struct stat sb;
    if (stat(dir, &sb) != 0 && errno == ENOENT && mkdir(dir, 0777) != 0 && errno != EEXIST) {
        st = dg_fail(errno == ENOENT ? DG_ERR_NOT_FOUND : DG_ERR_IO,
                     "%s: not saved: cannot create directory %s: %s", path, dir, strerror(errno));
    }
    free(dir);
    return st;
}

dg_status dg_model_encode(const char *path, const dg_net *net, const dg_model_meta *meta,
                          uint8_t **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (!net) {
        return dg_fail(DG_ERR_ARG, "%s: no network to save", path);
    }
    /* m: the metadata as the file stores it; "unknown" accuracies are -1, created 0 is now */
    dg_model_meta m;
    if (meta) {
        m = *meta;
    } else {
        dg_model_meta_default(&m);
        m.classes = dg_net_classes(net);
        for (int i = 0; i < m.classes && i < DG_MAX_CLASSES; i++) {
            snprintf(m.labels[i], sizeof m.labels[i], "%d", i);
        }
    }
    m.val_accuracy = m.val_accuracy < 0 ? -1 : m.val_accuracy;
    m.test_accuracy = m.test_accuracy < 0 ? -1 : m.test_accuracy;
    if (m.created == 0) {
        m.created = (int64_t)time(NULL);
    }
    char why[128];
    const char *problem = meta_problem(&m, why, sizeof why);
    if (problem) {
        return dg_fail(DG_ERR_ARG, "%s: not saved: %s", path, problem);
    }
    if (m.classes != dg_net_classes(net)) {
        return dg_fail(DG_ERR_ARG, "%s: not saved: %d labels for a network with %d outputs", path,
                       m.classes, dg_net_classes(net));
    }
    const char *spec = dg_net_spec(net);
    size_t spec_len = strlen(spec);
    if (!shape_ok(dg_net_input_shape(net)) || spec_len == 0 || spec_len > MAX_SPEC ||
        !dg_printable(spec, spec_len)) {
        return dg_fail(DG_ERR_ARG, "%s: not saved: input shape or spec beyond the file limits",
                       path);
    }
    size_t n_params = dg_net_param_count(net);
    if (n_params > DG_MODEL_MAX_BYTES / 4) {
        return dg_fail(DG_ERR_TOO_LARGE,
                       "%s: not saved: %zu parameters exceed the %llu-byte file limit", path,
                       n_params, (unsigned long long)DG_MODEL_MAX_BYTES);
    }
    const float *params = dg_net_params_const(net);
    for (size_t i = 0; i < n_params; i++) {
        if (!isfinite(params[i])) {
            return dg_fail(DG_ERR_ARG, "%s: not saved: parameter %zu is %s (training diverged?)",
                           path, i, isnan(params[i]) ? "NaN" : "infinite");
        }
    }
    dg_writer w = {0};
    encode(&w, net, &m);
    size_t n = w.pos + TRAILER_BYTES;
    if (n > DG_MODEL_MAX_BYTES) {
        return dg_fail(DG_ERR_TOO_LARGE, "%s: not saved: the file would exceed %llu bytes", path,
                       (unsigned long long)DG_MODEL_MAX_BYTES);
    }
    w.data = malloc(n);
    if (!w.data) {
        return dg_fail(DG_ERR_NOMEM, "%s: out of memory for %zu bytes", path, n);
    }
    w.cap = n;
    w.pos = 0;
    encode(&w, net, &m);
    dg_put_u32(&w, dg_crc32(w.data, n - TRAILER_BYTES));
    *out = w.data;
    *n_out = n;
    return DG_OK;
}

dg_status dg_model_save(const char *path, const dg_net *net, const dg_model_meta *meta)
{
    if (!path || !path[0]) {
        return dg_fail(DG_ERR_ARG, "model: no path to save to");
    }
    uint8_t *bytes;
    size_t n;
    dg_status st = dg_model_encode(path, net, meta, &bytes, &n);
    if (st != DG_OK) {
        return st;
    }
    st = ensure_parent(path);
    if (st == DG_OK) {
        st = dg_write_file_atomic(path, bytes, n);
    }
    free(bytes);
    return st;
}

/* ---------------------------------------------------------------- reading */

/* What a file that is not a model seems to be, for the message. */
static const char *guess_kind(const uint8_t *d, size_t n)
{
    if (n >= 4 && !memcmp(d, magic, 4)) {
        return " (its header is damaged: were line endings converted by a text-mode transfer?)";
    }
    if (n >= 4 && !memcmp(d, "\x89PNG", 4)) {
        return " (it is a PNG image)";
    }
    if (n >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff) {
        return " (it is a JPEG image)";
    }
    if (n >= 2 && d[0] == 0x1f && d[1] == 0x8b) {
        return " (it is gzip-compressed)";
    }
    if (n >= 4 && d[0] == 0 && d[1] == 0 && d[2] == 0x08 && (d[3] == 1 || d[3] == 3)) {
        return " (it is an MNIST IDX file)";
    }
    size_t k = n < 64 ? n : 64;
    for (size_t i = 0; i < k; i++) {
        if ((d[i] < 0x20 && d[i] != '\n' && d[i] != '\r' && d[i] != '\t') || d[i] == 0x7f) {
            return "";
        }
    }
    return " (it looks like text)";
}

/*
 * Header, size and checksum: everything that can be checked without reading the sections.
 * Fills *info on success.
 */
static dg_status check_file(const char *path, const uint8_t *d, size_t n, dg_model_file *info)
{
    if (n == 0) {
        return dg_fail(DG_ERR_FORMAT, "%s: empty file, not a digits model", path);
    }
    if (n >= sizeof dg_checkpoint_magic && !memcmp(d, dg_checkpoint_magic, sizeof magic)) {
        return dg_fail(DG_ERR_FORMAT,
                       "%s is a training checkpoint, not a model; continue it with: digits train "
                       "--resume %s",
                       path, path);
    }
    if (memcmp(d, magic, n < sizeof magic ? n : sizeof magic) != 0) {
        return dg_fail(DG_ERR_FORMAT, "%s: not a digits model file%s", path, guess_kind(d, n));
    }
    if (n < HEADER_BYTES) {
        return dg_fail(DG_ERR_TRUNCATED,
                       "%s: truncated: %zu bytes, shorter than the %u-byte header", path, n,
                       HEADER_BYTES);
    }
    uint32_t mark = dg_le32(d + 12);
    if (mark == BYTE_ORDER_SWAPPED) {
        return dg_fail(DG_ERR_UNSUPPORTED,
                       "%s: byte-swapped (big-endian) model file; model files are little-endian",
                       path);
    }
    if (mark != BYTE_ORDER_MARK) {
        return dg_fail(DG_ERR_FORMAT, "%s: bad byte-order mark 0x%08x (want 0x%08x)", path, mark,
                       BYTE_ORDER_MARK);
    }
    uint32_t version = dg_le32(d + 8);
    if (version == 0) {
        return dg_fail(DG_ERR_FORMAT, "%s: format version 0 is not valid", path);
    }
    if (version > DG_MODEL_FORMAT_VERSION) {
        return dg_fail(DG_ERR_VERSION,
                       "%s: written by a newer digits (format %u, this build reads %u)", path,
                       version, DG_MODEL_FORMAT_VERSION);
    }
    uint64_t size = dg_le64(d + 16);
    if (size < HEADER_BYTES + TRAILER_BYTES) {
        return dg_fail(DG_ERR_FORMAT, "%s: header gives a file size of %llu bytes (minimum %u)",
                       path, (unsigned long long)size, HEADER_BYTES + TRAILER_BYTES);
    }
    if (size > n) {
        return dg_fail(DG_ERR_TRUNCATED, "%s: truncated: %zu of %llu bytes", path, n,
                       (unsigned long long)size);
    }
    if (size < n) {
        return dg_fail(DG_ERR_FORMAT, "%s: %llu bytes of model followed by %llu unexpected bytes",
                       path, (unsigned long long)size, (unsigned long long)(n - size));
    }
    uint32_t stored = dg_le32(d + n - TRAILER_BYTES);
    uint32_t computed = dg_crc32(d, n - TRAILER_BYTES);
    if (stored != computed) {
        return dg_fail(
            DG_ERR_CHECKSUM,
            "%s: checksum mismatch (stored 0x%08x, computed 0x%08x): the file is damaged", path,
            stored, computed);
    }
    if (info) {
        info->version = version;
        info->n_bytes = size;
        info->checksum = stored;
    }
    return DG_OK;
}

static dg_reader section_reader(const char *path, const dg_sections *s, int sec)
{
    dg_reader r = {s->payload[sec], s->len[sec], 0, path, section_tags[sec]};
    return r;
}

/* What ARCH holds. */
typedef struct arch {
    dg_shape in;
    char spec[MAX_SPEC + 1];
} arch;

static dg_status read_arch(dg_reader *r, arch *a)
{
    uint32_t c = 0, h = 0, w = 0;
    dg_status st = dg_get_u32(r, "channels", &c);
    if (st == DG_OK) {
        st = dg_get_u32(r, "height", &h);
    }
    if (st == DG_OK) {
        st = dg_get_u32(r, "width", &w);
    }
    if (st != DG_OK) {
        return st;
    }
    if (c < 1 || h < 1 || w < 1 || c > MAX_SIDE || h > MAX_SIDE || w > MAX_SIDE) {
        return dg_fail(DG_ERR_FORMAT, "%s: input shape %ux%ux%u out of range (1..%u each)", r->path,
                       c, h, w, MAX_SIDE);
    }
    a->in = (dg_shape){(int)c, (int)h, (int)w};
    st = dg_get_string(r, "spec", 1, MAX_SPEC, a->spec);
    return st == DG_OK ? dg_end_of_payload(r) : st;
}

static dg_status read_norm(dg_reader *r, dg_model_meta *m)
{
    dg_status st = dg_get_f32(r, "scale", &m->norm.scale);
    if (st == DG_OK) {
        st = dg_get_f32(r, "mean", &m->norm.mean);
    }
    if (st == DG_OK) {
        st = dg_get_f32(r, "std", &m->norm.std);
    }
    return st == DG_OK ? dg_end_of_payload(r) : st;
}

static dg_status read_labels(dg_reader *r, dg_model_meta *m)
{
    uint32_t k;
    dg_status st = dg_get_u32(r, "class count", &k);
    if (st != DG_OK) {
        return st;
    }
    if (k < 1 || k > DG_MAX_CLASSES) {
        return dg_fail(DG_ERR_FORMAT, "%s: %u classes (want 1..%d)", r->path, k, DG_MAX_CLASSES);
    }
    m->classes = (int)k;
    for (uint32_t i = 0; i < k && st == DG_OK; i++) {
        st = dg_get_string(r, "label", 1, MAX_LABEL, m->labels[i]);
    }
    return st == DG_OK ? dg_end_of_payload(r) : st;
}

static dg_status read_training(dg_reader *r, dg_model_meta *m)
{
    uint32_t epochs = 0, batch = 0;
    uint64_t created = 0;
    dg_status st = dg_get_u64(r, "seed", &m->seed);
    if (st == DG_OK) {
        st = dg_get_u32(r, "epochs", &epochs);
    }
    if (st == DG_OK) {
        st = dg_get_u32(r, "batch", &batch);
    }
    if (st == DG_OK) {
        st = dg_get_f32(r, "learning rate", &m->lr);
    }
    if (st == DG_OK) {
        st = dg_get_u32(r, "training examples", &m->n_train);
    }
    if (st == DG_OK) {
        st = dg_get_f64(r, "validation accuracy", &m->val_accuracy);
    }
    if (st == DG_OK) {
        st = dg_get_f64(r, "test accuracy", &m->test_accuracy);
    }
    if (st == DG_OK) {
        st = dg_get_u64(r, "creation time", &created);
    }
    if (st == DG_OK) {
        st = dg_get_u32(r, "preprocessing version", &m->preprocess);
    }
    if (st == DG_OK) {
        st = dg_get_string(r, "preset", 0, MAX_PRESET, m->preset);
    }
    if (st == DG_OK) {
        st = dg_get_string(r, "dataset", 0, MAX_DATASET, m->dataset);
    }
    if (st != DG_OK) {
        return st;
    }
    if (epochs > INT_MAX || batch > INT_MAX) {
        return dg_fail(DG_ERR_FORMAT, "%s: epochs %u or batch %u out of range", r->path, epochs,
                       batch);
    }
    m->epochs = (int)epochs;
    m->batch = (int)batch;
    /* two's complement, as the writer stored it */
    memcpy(&m->created, &created, sizeof m->created);
    return dg_end_of_payload(r);
}

/* Checks PARM's count against its length; the values are decoded once the net exists. */
static dg_status read_param_count(dg_reader *r, uint64_t *count)
{
    dg_status st = dg_get_u64(r, "parameter count", count);
    if (st != DG_OK) {
        return st;
    }
    size_t left = r->n - r->pos;
    if (*count > left / 4) {
        return dg_runs_past(r, "parameters", *count > UINT64_MAX / 4 ? UINT64_MAX : *count * 4);
    }
    if (*count * 4 != left) {
        return dg_fail(DG_ERR_FORMAT, "%s: section PARM has %zu spare bytes", r->path,
                       left - (size_t)*count * 4);
    }
    return DG_OK;
}

/* Builds the net from checked bytes. On failure *out is NULL. */
static dg_status decode(const char *path, const uint8_t *d, size_t n, dg_net **out,
                        dg_model_meta *meta)
{
    dg_sections s;
    dg_status st = dg_find_sections(path, d, n, section_tags, SEC_COUNT, &s);
    if (st != DG_OK) {
        return st;
    }
    arch a;
    uint64_t count = 0;
    dg_reader r = section_reader(path, &s, SEC_ARCH);
    st = read_arch(&r, &a);
    if (st == DG_OK) {
        r = section_reader(path, &s, SEC_NORM);
        st = read_norm(&r, meta);
    }
    if (st == DG_OK) {
        r = section_reader(path, &s, SEC_LABL);
        st = read_labels(&r, meta);
    }
    if (st == DG_OK) {
        r = section_reader(path, &s, SEC_TRAN);
        st = read_training(&r, meta);
    }
    if (st == DG_OK) {
        r = section_reader(path, &s, SEC_PARM);
        st = read_param_count(&r, &count);
    }
    if (st == DG_OK) {
        st = dg_read_precision(path, s.payload[SEC_PREC], s.len[SEC_PREC], &meta->precision);
    }
    if (st != DG_OK) {
        return st;
    }
    char why[128];
    const char *problem = meta_problem(meta, why, sizeof why);
    if (problem) {
        return dg_fail(DG_ERR_FORMAT, "%s: %s", path, problem);
    }

    /* compare counts before allocating what a crafted spec might ask for */
    size_t spec_count = 0;
    if (dg_spec_param_count(a.spec, a.in, &spec_count) == DG_OK && spec_count != count) {
        return dg_fail(DG_ERR_MISMATCH, "%s: %llu parameters stored, the architecture has %zu",
                       path, (unsigned long long)count, spec_count);
    }
    dg_net *net = NULL;
    st = dg_net_new(a.spec, a.in, &net);
    if (st != DG_OK) {
        char reason[256];
        snprintf(reason, sizeof reason, "%s", dg_last_error());
        dg_net_free(net);
        if (st == DG_ERR_NOMEM) {
            return dg_fail(st, "%s: %s", path, reason);
        }
        return dg_fail(DG_ERR_FORMAT, "%s: its architecture does not build: %s", path, reason);
    }
    if (dg_net_classes(net) != meta->classes) {
        st = dg_fail(DG_ERR_MISMATCH, "%s: %d class labels for a network with %d outputs", path,
                     meta->classes, dg_net_classes(net));
    } else if (dg_net_param_count(net) != count) {
        st = dg_fail(DG_ERR_MISMATCH, "%s: %llu parameters stored, the architecture has %zu", path,
                     (unsigned long long)count, dg_net_param_count(net));
    }
    if (st != DG_OK) {
        dg_net_free(net);
        return st;
    }
    /* the values follow the u64 count in PARM */
    const uint8_t *src = s.payload[SEC_PARM] + 8;
    float *params = dg_net_params(net);
    for (size_t i = 0; i < (size_t)count; i++) {
        uint32_t u = dg_le32(src + 4 * i);
        float v;
        memcpy(&v, &u, sizeof v);
        if (!isfinite(v)) {
            dg_net_free(net);
            return dg_fail(DG_ERR_FORMAT, "%s: parameter %zu is %s", path, i,
                           isnan(v) ? "NaN" : "infinite");
        }
        params[i] = v;
    }
    char bad_state[256];
    if (dg_net_state_problem(net, bad_state, sizeof bad_state)) {
        dg_net_free(net);
        return dg_fail(DG_ERR_FORMAT, "%s: %s", path, bad_state);
    }
    *out = net;
    return DG_OK;
}

/* Reads a whole model file of at most DG_MODEL_MAX_BYTES into a new buffer. */
static dg_status read_file(const char *path, uint8_t **out, size_t *n_out)
{
    return dg_read_file(path, DG_MODEL_MAX_BYTES, "a model file", out, n_out);
}

dg_status dg_model_stat(const char *path, dg_model_file *out)
{
    if (out) {
        memset(out, 0, sizeof *out);
    }
    if (!path) {
        return dg_fail(DG_ERR_ARG, "model: no path");
    }
    uint8_t *d;
    size_t n;
    dg_status st = read_file(path, &d, &n);
    if (st == DG_OK) {
        st = check_file(path, d, n, out);
        if (st != DG_OK && out) {
            memset(out, 0, sizeof *out);
        }
        free(d);
    }
    return st;
}

dg_status dg_model_load(const char *path, dg_net **net, dg_model_meta *meta)
{
    if (!net) {
        return dg_fail(DG_ERR_ARG, "model: nowhere to put the network");
    }
    *net = NULL;
    if (!path) {
        return dg_fail(DG_ERR_ARG, "model: no path");
    }
    uint8_t *d;
    size_t n;
    dg_status st = read_file(path, &d, &n);
    if (st != DG_OK) {
        return st;
    }
    st = dg_model_decode(path, d, n, net, meta);
    free(d);
    return st;
}

dg_status dg_model_decode(const char *path, const uint8_t *d, size_t n, dg_net **net,
                          dg_model_meta *meta)
{
    *net = NULL;
    /* filled apart from the caller's, which changes only on success */
    dg_model_meta m;
    memset(&m, 0, sizeof m);
    dg_status st = check_file(path, d, n, NULL);
    if (st == DG_OK) {
        st = decode(path, d, n, net, &m);
    }
    if (st == DG_OK && meta) {
        *meta = m;
    }
    return st;
}
