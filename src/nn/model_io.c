/*
 * model_io.c - model files: dg_model_save writes a net and its metadata atomically,
 * dg_model_load reads and checks one, dg_model_stat checks a file without building the net.
 *
 * The format is described byte by byte in docs/model-format.md; in short:
 *
 *   header   8 magic "\x89DGM\r\n\x1a\n", u32 version, u32 byte-order mark 0x01020304,
 *            u64 file size                                                      (24 bytes)
 *   sections 4-byte tag, u64 payload length, payload: ARCH NORM LABL TRAN PARM
 *   trailer  u32 CRC-32 of everything before it
 *
 * All numbers are little-endian whatever the host; they are encoded byte by byte.
 * A file is read whole into memory (it is refused above DG_MODEL_MAX_BYTES before
 * reading), and every length in it is compared with the bytes left before it is used.
 */
#include "base/fileio.h"
#include "digits.h"

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
#include <zlib.h>

static const uint8_t magic[8] = {0x89, 'D', 'G', 'M', '\r', '\n', 0x1a, '\n'};

#define HEADER_BYTES       24u
#define SECTION_HEAD       12u /* tag + u64 length */
#define TRAILER_BYTES      4u
#define MAX_SIDE           4096u
#define MAX_SPEC           4096u
#define MAX_LABEL          31u /* fits dg_model_meta.labels[i] with its NUL */
#define MAX_PRESET         31u
#define MAX_DATASET        63u
#define BYTE_ORDER_MARK    0x01020304u
#define BYTE_ORDER_SWAPPED 0x04030201u

/* Required sections, in the order the writer stores them. */
enum { SEC_ARCH, SEC_NORM, SEC_LABL, SEC_TRAN, SEC_PARM, SEC_COUNT };
static const char section_tags[SEC_COUNT][5] = {"ARCH", "NORM", "LABL", "TRAN", "PARM"};

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
    meta->preprocess = 1;
}

/* A name is printed on terminals as it is: no control bytes. UTF-8 bytes >= 0x80 pass. */
static bool printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            return false;
        }
    }
    return true;
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
        if (n == 0 || n > MAX_LABEL || !printable(m->labels[i], n)) {
            snprintf(buf, buf_size, "label of class %d must be 1..%u printable bytes", i,
                     MAX_LABEL);
            return buf;
        }
    }
    size_t n_preset = strnlen(m->preset, sizeof m->preset);
    if (n_preset > MAX_PRESET || !printable(m->preset, n_preset)) {
        return "preset name must be 0..31 printable bytes";
    }
    size_t n_dataset = strnlen(m->dataset, sizeof m->dataset);
    if (n_dataset > MAX_DATASET || !printable(m->dataset, n_dataset)) {
        return "dataset name must be 0..63 printable bytes";
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
    return NULL;
}

static bool shape_ok(dg_shape s)
{
    return s.c >= 1 && s.h >= 1 && s.w >= 1 && (unsigned)s.c <= MAX_SIDE &&
           (unsigned)s.h <= MAX_SIDE && (unsigned)s.w <= MAX_SIDE;
}

/* ---------------------------------------------------------------- encoding */

/*
 * Output cursor. With data == NULL it only counts, so the same encoder first measures the
 * file and then fills a buffer of exactly that size.
 */
typedef struct writer {
    uint8_t *data;
    size_t pos, cap;
} writer;

static void put_bytes(writer *w, const void *src, size_t n)
{
    if (w->data) {
        /* the measuring pass sized the buffer */
        assert(w->pos + n <= w->cap);
        memcpy(w->data + w->pos, src, n);
    }
    w->pos += n;
}

static void put_u32(writer *w, uint32_t v)
{
    uint8_t b[4];
    for (int i = 0; i < 4; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
    put_bytes(w, b, 4);
}

static void put_u64(writer *w, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
    put_bytes(w, b, 8);
}

static void put_f32(writer *w, float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    put_u32(w, u);
}

static void put_f64(writer *w, double f)
{
    uint64_t u;
    memcpy(&u, &f, sizeof u);
    put_u64(w, u);
}

static void put_string(writer *w, const char *s, size_t n)
{
    put_u32(w, (uint32_t)n);
    put_bytes(w, s, n);
}

/* Stores a u64 at an earlier position (a section length known only after its payload). */
static void patch_u64(writer *w, size_t at, uint64_t v)
{
    if (w->data) {
        for (int i = 0; i < 8; i++) {
            w->data[at + (size_t)i] = (uint8_t)(v >> (8 * i));
        }
    }
}

/* Starts a section; returns where its length goes, for end_section. */
static size_t begin_section(writer *w, int sec)
{
    put_bytes(w, section_tags[sec], 4);
    size_t at = w->pos;
    put_u64(w, 0);
    return at;
}

static void end_section(writer *w, size_t at)
{
    patch_u64(w, at, (uint64_t)(w->pos - at - 8));
}

/* The whole file but the CRC, which the caller appends once the bytes are final. */
static void encode(writer *w, const dg_net *net, const dg_model_meta *m)
{
    put_bytes(w, magic, sizeof magic);
    put_u32(w, DG_MODEL_FORMAT_VERSION);
    put_u32(w, BYTE_ORDER_MARK);
    size_t size_at = w->pos;
    put_u64(w, 0);

    dg_shape in = dg_net_input_shape(net);
    const char *spec = dg_net_spec(net);
    size_t at = begin_section(w, SEC_ARCH);
    put_u32(w, (uint32_t)in.c);
    put_u32(w, (uint32_t)in.h);
    put_u32(w, (uint32_t)in.w);
    put_string(w, spec, strlen(spec));
    end_section(w, at);

    at = begin_section(w, SEC_NORM);
    put_f32(w, m->norm.scale);
    put_f32(w, m->norm.mean);
    put_f32(w, m->norm.std);
    end_section(w, at);

    at = begin_section(w, SEC_LABL);
    put_u32(w, (uint32_t)m->classes);
    for (int i = 0; i < m->classes; i++) {
        put_string(w, m->labels[i], strnlen(m->labels[i], sizeof m->labels[i]));
    }
    end_section(w, at);

    at = begin_section(w, SEC_TRAN);
    put_u64(w, m->seed);
    put_u32(w, (uint32_t)m->epochs);
    put_u32(w, (uint32_t)m->batch);
    put_f32(w, m->lr);
    put_u32(w, m->n_train);
    put_f64(w, m->val_accuracy);
    put_f64(w, m->test_accuracy);
    put_u64(w, (uint64_t)m->created);
    put_u32(w, m->preprocess);
    put_string(w, m->preset, strnlen(m->preset, sizeof m->preset));
    put_string(w, m->dataset, strnlen(m->dataset, sizeof m->dataset));
    end_section(w, at);

    size_t n_params = dg_net_param_count(net);
    const float *params = dg_net_params_const(net);
    at = begin_section(w, SEC_PARM);
    put_u64(w, (uint64_t)n_params);
    for (size_t i = 0; i < n_params; i++) {
        put_f32(w, params[i]);
    }
    end_section(w, at);

    /* The file size counts the trailer that follows. */
    patch_u64(w, size_at, (uint64_t)(w->pos + TRAILER_BYTES));
}

static uint32_t crc_of(const uint8_t *data, size_t n)
{
    return (uint32_t)crc32_z(crc32_z(0L, Z_NULL, 0), data, n);
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

dg_status dg_model_save(const char *path, const dg_net *net, const dg_model_meta *meta)
{
    if (!path || !path[0]) {
        return dg_fail(DG_ERR_ARG, "model: no path to save to");
    }
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
        !printable(spec, spec_len)) {
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
    writer w = {0};
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
    put_u32(&w, crc_of(w.data, n - TRAILER_BYTES));
    dg_status st = ensure_parent(path);
    if (st == DG_OK) {
        st = dg_write_file_atomic(path, w.data, n);
    }
    free(w.data);
    return st;
}

/* ---------------------------------------------------------------- reading */

static uint32_t le32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint64_t le64(const uint8_t *b)
{
    return (uint64_t)le32(b) | (uint64_t)le32(b + 4) << 32;
}

/* Input cursor over one section's payload; `what` names the section in messages. */
typedef struct reader {
    const uint8_t *p;
    size_t n, pos;
    const char *path;
    const char *what;
} reader;

static dg_status runs_past(const reader *r, const char *field, uint64_t need)
{
    return dg_fail(DG_ERR_TRUNCATED, "%s: section %s: %s needs %llu bytes, %zu left", r->path,
                   r->what, field, (unsigned long long)need, r->n - r->pos);
}

static dg_status get_bytes(reader *r, size_t n, const char *field, const uint8_t **out)
{
    if (n > r->n - r->pos) {
        return runs_past(r, field, n);
    }
    *out = r->p + r->pos;
    r->pos += n;
    return DG_OK;
}

static dg_status get_u32(reader *r, const char *field, uint32_t *v)
{
    const uint8_t *b = NULL;
    dg_status st = get_bytes(r, 4, field, &b);
    if (st == DG_OK) {
        *v = le32(b);
    }
    return st;
}

static dg_status get_u64(reader *r, const char *field, uint64_t *v)
{
    const uint8_t *b = NULL;
    dg_status st = get_bytes(r, 8, field, &b);
    if (st == DG_OK) {
        *v = le64(b);
    }
    return st;
}

static dg_status get_f32(reader *r, const char *field, float *v)
{
    uint32_t u = 0;
    dg_status st = get_u32(r, field, &u);
    memcpy(v, &u, sizeof *v);
    return st;
}

static dg_status get_f64(reader *r, const char *field, double *v)
{
    uint64_t u = 0;
    dg_status st = get_u64(r, field, &u);
    memcpy(v, &u, sizeof *v);
    return st;
}

/* A string of lo..hi printable bytes into dst[hi + 1], NUL-terminated. */
static dg_status get_string(reader *r, const char *field, size_t lo, size_t hi, char *dst)
{
    uint32_t len;
    const uint8_t *b = NULL;
    dg_status st = get_u32(r, field, &len);
    if (st == DG_OK) {
        st = get_bytes(r, len, field, &b);
    }
    if (st != DG_OK) {
        return st;
    }
    if (len < lo || len > hi) {
        return dg_fail(DG_ERR_FORMAT, "%s: section %s: %s is %u bytes (want %zu..%zu)", r->path,
                       r->what, field, len, lo, hi);
    }
    if (!printable((const char *)b, len)) {
        return dg_fail(DG_ERR_FORMAT, "%s: section %s: %s holds a control or NUL byte", r->path,
                       r->what, field);
    }
    memcpy(dst, b, len);
    dst[len] = '\0';
    return DG_OK;
}

static dg_status end_of_payload(const reader *r)
{
    if (r->pos != r->n) {
        return dg_fail(DG_ERR_FORMAT, "%s: section %s has %zu spare bytes", r->path, r->what,
                       r->n - r->pos);
    }
    return DG_OK;
}

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
    if (memcmp(d, magic, n < sizeof magic ? n : sizeof magic) != 0) {
        return dg_fail(DG_ERR_FORMAT, "%s: not a digits model file%s", path, guess_kind(d, n));
    }
    if (n < HEADER_BYTES) {
        return dg_fail(DG_ERR_TRUNCATED,
                       "%s: truncated: %zu bytes, shorter than the %u-byte header", path, n,
                       HEADER_BYTES);
    }
    uint32_t mark = le32(d + 12);
    if (mark == BYTE_ORDER_SWAPPED) {
        return dg_fail(DG_ERR_UNSUPPORTED,
                       "%s: byte-swapped (big-endian) model file; model files are little-endian",
                       path);
    }
    if (mark != BYTE_ORDER_MARK) {
        return dg_fail(DG_ERR_FORMAT, "%s: bad byte-order mark 0x%08x (want 0x%08x)", path, mark,
                       BYTE_ORDER_MARK);
    }
    uint32_t version = le32(d + 8);
    if (version == 0) {
        return dg_fail(DG_ERR_FORMAT, "%s: format version 0 is not valid", path);
    }
    if (version > DG_MODEL_FORMAT_VERSION) {
        return dg_fail(DG_ERR_VERSION,
                       "%s: written by a newer digits (format %u, this build reads %u)", path,
                       version, DG_MODEL_FORMAT_VERSION);
    }
    uint64_t size = le64(d + 16);
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
    uint32_t stored = le32(d + n - TRAILER_BYTES);
    uint32_t computed = crc_of(d, n - TRAILER_BYTES);
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

/* Where the sections of a checked file are; payloads point into the file's bytes. */
typedef struct sections {
    const uint8_t *payload[SEC_COUNT];
    size_t len[SEC_COUNT];
} sections;

/* A tag for messages: as text when it is printable ASCII, else in hex. */
static void tag_text(const uint8_t *t, char out[16])
{
    for (int i = 0; i < 4; i++) {
        if (t[i] < 0x21 || t[i] > 0x7e) {
            snprintf(out, 16, "0x%08x", le32(t));
            return;
        }
    }
    snprintf(out, 16, "'%c%c%c%c'", t[0], t[1], t[2], t[3]);
}

static dg_status find_sections(const char *path, const uint8_t *d, size_t n, sections *s)
{
    memset(s, 0, sizeof *s);
    size_t end = n - TRAILER_BYTES;
    size_t pos = HEADER_BYTES;
    while (pos < end) {
        if (end - pos < SECTION_HEAD) {
            return dg_fail(DG_ERR_TRUNCATED,
                           "%s: section header at offset %zu needs %u bytes, %zu left", path, pos,
                           SECTION_HEAD, end - pos);
        }
        const uint8_t *tag = d + pos;
        uint64_t len = le64(d + pos + 4);
        char name[16];
        tag_text(tag, name);
        pos += SECTION_HEAD;
        if (len > end - pos) {
            return dg_fail(DG_ERR_TRUNCATED,
                           "%s: section %s at offset %zu claims %llu bytes, %zu left", path, name,
                           pos - SECTION_HEAD, (unsigned long long)len, end - pos);
        }
        int sec = -1;
        for (int i = 0; i < SEC_COUNT; i++) {
            if (!memcmp(tag, section_tags[i], 4)) {
                sec = i;
            }
        }
        if (sec < 0 && !(tag[0] >= 'a' && tag[0] <= 'z')) {
            return dg_fail(DG_ERR_UNSUPPORTED,
                           "%s: section %s is unknown to this build and not optional", path, name);
        }
        if (sec >= 0) {
            if (s->payload[sec]) {
                return dg_fail(DG_ERR_FORMAT, "%s: section %s appears twice", path, name);
            }
            s->payload[sec] = d + pos;
            s->len[sec] = (size_t)len;
        }
        pos += (size_t)len;
    }
    for (int i = 0; i < SEC_COUNT; i++) {
        if (!s->payload[i]) {
            return dg_fail(DG_ERR_FORMAT, "%s: no %s section", path, section_tags[i]);
        }
    }
    return DG_OK;
}

static reader section_reader(const char *path, const sections *s, int sec)
{
    reader r = {s->payload[sec], s->len[sec], 0, path, section_tags[sec]};
    return r;
}

/* What ARCH holds. */
typedef struct arch {
    dg_shape in;
    char spec[MAX_SPEC + 1];
} arch;

static dg_status read_arch(reader *r, arch *a)
{
    uint32_t c = 0, h = 0, w = 0;
    dg_status st = get_u32(r, "channels", &c);
    if (st == DG_OK) {
        st = get_u32(r, "height", &h);
    }
    if (st == DG_OK) {
        st = get_u32(r, "width", &w);
    }
    if (st != DG_OK) {
        return st;
    }
    if (c < 1 || h < 1 || w < 1 || c > MAX_SIDE || h > MAX_SIDE || w > MAX_SIDE) {
        return dg_fail(DG_ERR_FORMAT, "%s: input shape %ux%ux%u out of range (1..%u each)", r->path,
                       c, h, w, MAX_SIDE);
    }
    a->in = (dg_shape){(int)c, (int)h, (int)w};
    st = get_string(r, "spec", 1, MAX_SPEC, a->spec);
    return st == DG_OK ? end_of_payload(r) : st;
}

static dg_status read_norm(reader *r, dg_model_meta *m)
{
    dg_status st = get_f32(r, "scale", &m->norm.scale);
    if (st == DG_OK) {
        st = get_f32(r, "mean", &m->norm.mean);
    }
    if (st == DG_OK) {
        st = get_f32(r, "std", &m->norm.std);
    }
    return st == DG_OK ? end_of_payload(r) : st;
}

static dg_status read_labels(reader *r, dg_model_meta *m)
{
    uint32_t k;
    dg_status st = get_u32(r, "class count", &k);
    if (st != DG_OK) {
        return st;
    }
    if (k < 1 || k > DG_MAX_CLASSES) {
        return dg_fail(DG_ERR_FORMAT, "%s: %u classes (want 1..%d)", r->path, k, DG_MAX_CLASSES);
    }
    m->classes = (int)k;
    for (uint32_t i = 0; i < k && st == DG_OK; i++) {
        st = get_string(r, "label", 1, MAX_LABEL, m->labels[i]);
    }
    return st == DG_OK ? end_of_payload(r) : st;
}

static dg_status read_training(reader *r, dg_model_meta *m)
{
    uint32_t epochs = 0, batch = 0;
    uint64_t created = 0;
    dg_status st = get_u64(r, "seed", &m->seed);
    if (st == DG_OK) {
        st = get_u32(r, "epochs", &epochs);
    }
    if (st == DG_OK) {
        st = get_u32(r, "batch", &batch);
    }
    if (st == DG_OK) {
        st = get_f32(r, "learning rate", &m->lr);
    }
    if (st == DG_OK) {
        st = get_u32(r, "training examples", &m->n_train);
    }
    if (st == DG_OK) {
        st = get_f64(r, "validation accuracy", &m->val_accuracy);
    }
    if (st == DG_OK) {
        st = get_f64(r, "test accuracy", &m->test_accuracy);
    }
    if (st == DG_OK) {
        st = get_u64(r, "creation time", &created);
    }
    if (st == DG_OK) {
        st = get_u32(r, "preprocessing version", &m->preprocess);
    }
    if (st == DG_OK) {
        st = get_string(r, "preset", 0, MAX_PRESET, m->preset);
    }
    if (st == DG_OK) {
        st = get_string(r, "dataset", 0, MAX_DATASET, m->dataset);
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
    return end_of_payload(r);
}

/* Checks PARM's count against its length; the values are decoded once the net exists. */
static dg_status read_param_count(reader *r, uint64_t *count)
{
    dg_status st = get_u64(r, "parameter count", count);
    if (st != DG_OK) {
        return st;
    }
    size_t left = r->n - r->pos;
    if (*count > left / 4) {
        return runs_past(r, "parameters", *count > UINT64_MAX / 4 ? UINT64_MAX : *count * 4);
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
    sections s;
    dg_status st = find_sections(path, d, n, &s);
    if (st != DG_OK) {
        return st;
    }
    arch a;
    uint64_t count = 0;
    reader r = section_reader(path, &s, SEC_ARCH);
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
        uint32_t u = le32(src + 4 * i);
        float v;
        memcpy(&v, &u, sizeof v);
        if (!isfinite(v)) {
            dg_net_free(net);
            return dg_fail(DG_ERR_FORMAT, "%s: parameter %zu is %s", path, i,
                           isnan(v) ? "NaN" : "infinite");
        }
        params[i] = v;
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
    /* filled apart from the caller's, which changes only on success */
    dg_model_meta m;
    memset(&m, 0, sizeof m);
    st = check_file(path, d, n, NULL);
    if (st == DG_OK) {
        st = decode(path, d, n, net, &m);
    }
    free(d);
    if (st == DG_OK && meta) {
        *meta = m;
    }
    return st;
}
