/*
 * idx.c - the MNIST IDX reader: an images file and a labels file, raw or gzip'd, into one
 * dg_dataset. Images are [n][h][w] bytes, labels [n] bytes, kept exactly as stored.
 *
 * IDX layout (all integers big-endian):
 *   byte 0-1  0x00 0x00
 *   byte 2    element type: 0x08 unsigned byte (the only one read here), 0x09 signed
 *             byte, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
 *   byte 3    number of dimensions D: 3 for images (n, rows, columns), 1 for labels (n)
 *   then      D uint32 sizes, then the n * rows * columns elements, row-major,
 *             and nothing after them.
 * So an images file starts 00 00 08 03 (magic 0x00000803), a labels file 00 00 08 01.
 *
 * Files go through zlib's gzread, which inflates gzip'd files and passes raw ones through,
 * so the format is told by content, never by name. Every count in a header is checked
 * against the limits in digits.h, and a raw file's size against its header, before any
 * data buffer is allocated; a gzip'd file's buffer grows only as inflated data arrives, so
 * a small file claiming a huge size cannot make us allocate it.
 */
#include "digits.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define IDX_TYPE_UBYTE 0x08
#define IDX_HEAD_BYTES 64         /* first bytes kept to recognise text and HTML */
#define IDX_READ_CHUNK (1u << 30) /* gzread takes an unsigned count and returns an int */
#define IDX_GZ_BUFFER  (1u << 17) /* zlib's input buffer; the 8 KB default inflates slower */
#define IDX_GROW_START (1u << 20) /* first buffer size for inflated data of unknown size */

/* What the caller expects a file to hold. */
typedef enum idx_kind { IDX_IMAGES, IDX_LABELS } idx_kind;

/* One open IDX file whose header has been read and checked. */
typedef struct idx_file {
    const char *path; /* borrowed, starts every message */
    gzFile gz;        /* NULL when closed */
    struct stat st;
    uint8_t head[IDX_HEAD_BYTES];
    size_t n_head;    /* bytes read into head */
    size_t n_header;  /* header bytes: 4 + 4 * dims */
    uint32_t dims[3]; /* N (images: N, H, W) */
    size_t n_data;    /* element bytes the header describes */
} idx_file;

static const char *const kind_noun[] = {[IDX_IMAGES] = "images", [IDX_LABELS] = "labels"};
static const char *const kind_a[] = {[IDX_IMAGES] = "an images", [IDX_LABELS] = "a labels"};
static const unsigned kind_dims[] = {[IDX_IMAGES] = 3, [IDX_LABELS] = 1};

static const char *const missing_hint = "run `make data` to download MNIST, or pass --data DIR";

static uint32_t read_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static const char *idx_type_name(unsigned type)
{
    switch (type) {
    case 0x08:
        return "unsigned byte";
    case 0x09:
        return "signed byte";
    case 0x0B:
        return "16-bit integer";
    case 0x0C:
        return "32-bit integer";
    case 0x0D:
        return "32-bit float";
    case 0x0E:
        return "64-bit float";
    default:
        return NULL;
    }
}

static void idx_close(idx_file *f)
{
    if (f->gz) {
        gzclose(f->gz);
        f->gz = NULL;
    }
}

/* Turns the zlib stream's error state after a failed or short read into a status.
 * saved_errno is errno right after the read (zlib reports system errors as Z_ERRNO). */
static dg_status stream_error(const idx_file *f, int saved_errno, size_t got, size_t want)
{
    int errnum = Z_OK;
    const char *msg = gzerror(f->gz, &errnum);
    /* zlib prefixes its message with "<fd:N>: " for a stream opened by gzdopen. */
    const char *colon = strstr(msg, ": ");
    if (!strncmp(msg, "<fd:", 4) && colon) {
        msg = colon + 2;
    }
    switch (errnum) {
    case Z_ERRNO:
        return dg_fail(DG_ERR_IO, "%s: read error: %s", f->path, strerror(saved_errno));
    case Z_MEM_ERROR:
        return dg_fail(DG_ERR_NOMEM, "%s: out of memory while inflating", f->path);
    case Z_OK:
    case Z_BUF_ERROR: /* zlib's "unexpected end of file": the gzip stream was cut short */
        return dg_fail(DG_ERR_TRUNCATED,
                       "%s: file ends after %zu of %zu bytes (truncated download?)", f->path, got,
                       want);
    default:
        return dg_fail(DG_ERR_FORMAT, "%s: corrupt gzip data (%s)", f->path, msg);
    }
}

/* Reads up to n bytes into buf, adding the count to *got. Stops early only at the end of
 * the data (a short count, DG_OK); a stream error is a status. */
static dg_status read_some(idx_file *f, uint8_t *buf, size_t n, size_t *got, size_t want)
{
    size_t done = 0;
    while (done < n) {
        size_t left = n - done;
        unsigned chunk = left < IDX_READ_CHUNK ? (unsigned)left : IDX_READ_CHUNK;
        errno = 0;
        int r = gzread(f->gz, buf + done, chunk);
        if (r < 0) {
            return stream_error(f, errno, *got + done, want);
        }
        if (r == 0) {
            break;
        }
        done += (size_t)r;
    }
    *got += done;
    return DG_OK;
}

/* After a short read: the end of a raw file, or a gzip stream cut off or broken. */
static dg_status short_read(idx_file *f, size_t got, size_t want)
{
    return stream_error(f, 0, got, want);
}

/* HTML, XML, or a text file instead of binary IDX: the usual result of a download that
 * saved an error page. Only called when the first two bytes are not the IDX zeros. */
static dg_status not_idx(const idx_file *f, idx_kind kind)
{
    const uint8_t *p = f->head, *end = f->head + f->n_head;
    if (end - p >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) {
        p += 3; /* UTF-8 byte order mark */
    }
    while (p < end && isspace(*p)) {
        p++;
    }
    if (p + 1 < end && p[0] == '<' && (isalpha(p[1]) || p[1] == '!' || p[1] == '?')) {
        return dg_fail(DG_ERR_FORMAT,
                       "%s: is an HTML page, not an IDX file (a failed download? run make data)",
                       f->path);
    }
    int text = 1;
    for (size_t i = 0; i < f->n_head; i++) {
        uint8_t c = f->head[i];
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
            text = 0;
        }
    }
    if (text) {
        return dg_fail(DG_ERR_FORMAT,
                       "%s: is a text file, not an IDX file (a failed download? run make data)",
                       f->path);
    }
    return dg_fail(DG_ERR_FORMAT, "%s: bad magic 0x%08x (want 0x%08x, an IDX %s file)", f->path,
                   read_be32(f->head), 0x800u | kind_dims[kind], kind_noun[kind]);
}

/* Checks bytes 0-3 and the dimension sizes; fills dims, n_header and n_data. */
static dg_status check_header(idx_file *f, idx_kind kind)
{
    const uint8_t *h = f->head;
    if (f->n_head == 0) {
        return dg_fail(DG_ERR_TRUNCATED, "%s: empty file (truncated download?)", f->path);
    }
    if (h[0] != 0 || (f->n_head > 1 && h[1] != 0)) {
        return not_idx(f, kind);
    }
    if (f->n_head < 4) {
        return dg_fail(DG_ERR_TRUNCATED,
                       "%s: file ends after %zu bytes, inside the header (truncated download?)",
                       f->path, f->n_head);
    }
    uint32_t magic = read_be32(h);
    unsigned type = h[2], n_dims = h[3];
    const char *type_name = idx_type_name(type);
    if (!type_name) {
        return dg_fail(DG_ERR_FORMAT, "%s: bad magic 0x%08x (want 0x%08x, an IDX %s file)", f->path,
                       magic, 0x800u | kind_dims[kind], kind_noun[kind]);
    }
    if (type != IDX_TYPE_UBYTE) {
        return dg_fail(DG_ERR_UNSUPPORTED,
                       "%s: holds %s elements (type 0x%02x); only unsigned bytes (0x08) are read",
                       f->path, type_name, type);
    }
    idx_kind other = kind == IDX_IMAGES ? IDX_LABELS : IDX_IMAGES;
    if (n_dims == kind_dims[other]) {
        return dg_fail(DG_ERR_FORMAT,
                       "%s: is %s file (magic 0x%08x), not %s file; are the images and "
                       "labels files swapped?",
                       f->path, kind_a[other], magic, kind_a[kind]);
    }
    if (n_dims != kind_dims[kind]) {
        return dg_fail(DG_ERR_FORMAT, "%s: has %u dimensions (magic 0x%08x), want %u for %s",
                       f->path, n_dims, magic, kind_dims[kind], kind_noun[kind]);
    }
    f->n_header = 4 + 4 * (size_t)n_dims;
    if (f->n_head < f->n_header) {
        return dg_fail(DG_ERR_TRUNCATED,
                       "%s: file ends after %zu of %zu header bytes (truncated download?)", f->path,
                       f->n_head, f->n_header);
    }
    for (unsigned i = 0; i < n_dims; i++) {
        f->dims[i] = read_be32(h + 4 + 4 * i);
    }
    if (f->dims[0] > DG_IDX_MAX_ITEMS) {
        return dg_fail(DG_ERR_TOO_LARGE, "%s: header claims %u %s, more than the limit of %u",
                       f->path, f->dims[0], kind_noun[kind], DG_IDX_MAX_ITEMS);
    }
    if (kind == IDX_IMAGES && (f->dims[1] > DG_IDX_MAX_SIDE || f->dims[2] > DG_IDX_MAX_SIDE)) {
        return dg_fail(DG_ERR_TOO_LARGE, "%s: header claims %ux%u images, larger than %ux%u",
                       f->path, f->dims[1], f->dims[2], DG_IDX_MAX_SIDE, DG_IDX_MAX_SIDE);
    }
    if (f->dims[0] == 0) {
        return dg_fail(DG_ERR_FORMAT, "%s: holds no %s", f->path, kind_noun[kind]);
    }
    if (kind == IDX_IMAGES && (f->dims[1] == 0 || f->dims[2] == 0)) {
        return dg_fail(DG_ERR_FORMAT, "%s: header claims %ux%u images", f->path, f->dims[1],
                       f->dims[2]);
    }
    /* Within the limits the product is below 2^44: no wrap in 64 bits. */
    uint64_t n_data = f->dims[0];
    if (kind == IDX_IMAGES) {
        n_data *= (uint64_t)f->dims[1] * f->dims[2];
    }
    if (n_data > SIZE_MAX - f->n_header) {
        return dg_fail(DG_ERR_TOO_LARGE, "%s: %llu bytes of data do not fit in memory", f->path,
                       (unsigned long long)n_data);
    }
    f->n_data = (size_t)n_data;
    return DG_OK;
}

/* Opens path and reads and checks its header. On failure the file is closed. */
static dg_status idx_open(idx_file *f, const char *path, idx_kind kind)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        if (errno == ENOENT) {
            return dg_fail(DG_ERR_NOT_FOUND, "%s: no such file (%s)", path, missing_hint);
        }
        return dg_fail(DG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    if (fstat(fd, &f->st) != 0) {
        int e = errno;
        close(fd);
        return dg_fail(DG_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (S_ISDIR(f->st.st_mode)) {
        close(fd);
        return dg_fail(DG_ERR_IO, "%s: is a directory, not an IDX %s file", path, kind_noun[kind]);
    }
    f->gz = gzdopen(fd, "rb");
    if (!f->gz) {
        close(fd);
        return dg_fail(DG_ERR_NOMEM, "%s: out of memory opening the file", path);
    }
    gzbuffer(f->gz, IDX_GZ_BUFFER);
    dg_status st = read_some(f, f->head, sizeof f->head, &f->n_head, sizeof f->head);
    if (st == DG_OK && f->n_head < sizeof f->head) {
        /* A short first read is fine for a small file, not for a broken gzip stream. */
        int errnum = Z_OK;
        gzerror(f->gz, &errnum);
        if (errnum != Z_OK && errnum != Z_BUF_ERROR) {
            st = short_read(f, f->n_head, sizeof f->head);
        }
    }
    if (st == DG_OK) {
        st = check_header(f, kind);
    }
    if (st != DG_OK) {
        idx_close(f);
    }
    return st;
}

/* For a raw regular file the size is known now: compare it with the header before
 * allocating anything. */
static dg_status check_raw_size(const idx_file *f)
{
    if (!gzdirect(f->gz) || !S_ISREG(f->st.st_mode)) {
        return DG_OK;
    }
    size_t want = f->n_header + f->n_data;
    unsigned long long have = (unsigned long long)f->st.st_size;
    if (have < want) {
        return dg_fail(DG_ERR_TRUNCATED,
                       "%s: file ends after %llu of %zu bytes (truncated download?)", f->path, have,
                       want);
    }
    if (have > want) {
        return dg_fail(DG_ERR_FORMAT,
                       "%s: has %llu bytes, %llu more than its header describes (%zu)", f->path,
                       have, have - want, want);
    }
    return DG_OK;
}

/* Reads the n_data element bytes that follow the header and checks that nothing follows
 * them. *out is malloc'd, NULL on failure. */
static dg_status idx_read_data(idx_file *f, uint8_t **out)
{
    *out = NULL;
    dg_status st = check_raw_size(f);
    if (st != DG_OK) {
        return st;
    }
    size_t want = f->n_header + f->n_data; /* file bytes, for messages */
    /* A raw file's size matched: allocate it all. Inflated (or piped) data is trusted only
     * as it arrives: grow the buffer by doubling. */
    int sized = gzdirect(f->gz) && S_ISREG(f->st.st_mode);
    size_t cap = (sized || f->n_data < IDX_GROW_START) ? f->n_data : IDX_GROW_START;
    uint8_t *data = malloc(cap);
    if (!data) {
        return dg_fail(DG_ERR_NOMEM, "%s: out of memory for %zu bytes of data", f->path, cap);
    }
    size_t got = f->n_head - f->n_header; /* data bytes already in head */
    if (got > f->n_data) {
        got = f->n_data;
    }
    memcpy(data, f->head + f->n_header, got);
    size_t file_got = f->n_header + got;
    for (;;) {
        size_t before = file_got;
        st = read_some(f, data + got, cap - got, &file_got, want);
        if (st != DG_OK) {
            free(data);
            return st;
        }
        got += file_got - before;
        if (got < cap) {
            free(data);
            return short_read(f, file_got, want);
        }
        if (cap == f->n_data) {
            break;
        }
        size_t next = cap > f->n_data / 2 ? f->n_data : cap * 2;
        uint8_t *grown = realloc(data, next);
        if (!grown) {
            free(data);
            return dg_fail(DG_ERR_NOMEM, "%s: out of memory for %zu bytes of data", f->path, next);
        }
        data = grown;
        cap = next;
    }
    /* Bytes left in head beyond the data, or one more byte from the stream, are extra.
     * The probe read also makes zlib check the gzip trailer (CRC and length). */
    uint8_t probe;
    size_t extra = f->n_head > f->n_header + f->n_data;
    if (!extra) {
        st = read_some(f, &probe, 1, &extra, want);
        if (st == DG_OK && !extra) {
            int errnum = Z_OK;
            gzerror(f->gz, &errnum);
            if (errnum != Z_OK) {
                st = dg_fail(DG_ERR_TRUNCATED,
                             "%s: gzip stream ends before its trailer (truncated download?)",
                             f->path);
            }
        }
    }
    if (st == DG_OK && extra) {
        st = dg_fail(DG_ERR_FORMAT, "%s: has bytes after the %zu its header describes", f->path,
                     want);
    }
    if (st != DG_OK) {
        free(data);
        return st;
    }
    *out = data;
    return DG_OK;
}

void dg_dataset_free(dg_dataset *ds)
{
    if (!ds) {
        return;
    }
    free(ds->images);
    free(ds->labels);
    free(ds);
}

dg_status dg_idx_load(const char *images_path, const char *labels_path, dg_dataset **out)
{
    if (!out) {
        return dg_fail(DG_ERR_ARG, "dg_idx_load: out is NULL");
    }
    *out = NULL;
    if (!images_path || !labels_path) {
        return dg_fail(DG_ERR_ARG, "dg_idx_load: a path is NULL");
    }
    /* Both headers first, so that a count mismatch is found before reading 47 MB. */
    idx_file img, lab;
    dg_status st = idx_open(&img, images_path, IDX_IMAGES);
    if (st != DG_OK) {
        return st;
    }
    st = idx_open(&lab, labels_path, IDX_LABELS);
    if (st != DG_OK) {
        idx_close(&img);
        return st;
    }
    dg_dataset *ds = NULL;
    if (img.dims[0] != lab.dims[0]) {
        st = dg_fail(DG_ERR_MISMATCH, "%s: holds %u images but %s holds %u labels", images_path,
                     img.dims[0], labels_path, lab.dims[0]);
        goto done;
    }
    ds = calloc(1, sizeof *ds);
    if (!ds) {
        st = dg_fail(DG_ERR_NOMEM, "%s: out of memory", images_path);
        goto done;
    }
    ds->n = img.dims[0];
    ds->h = img.dims[1];
    ds->w = img.dims[2];
    st = idx_read_data(&img, &ds->images);
    if (st != DG_OK) {
        goto done;
    }
    st = idx_read_data(&lab, &ds->labels);
    if (st != DG_OK) {
        goto done;
    }
    for (uint32_t i = 0; i < ds->n; i++) {
        if (ds->labels[i] >= DG_MAX_CLASSES) {
            st = dg_fail(DG_ERR_FORMAT, "%s: label %u of item %u is out of range (0..%d)",
                         labels_path, ds->labels[i], i, DG_MAX_CLASSES - 1);
            break;
        }
    }
done:
    idx_close(&img);
    idx_close(&lab);
    if (st != DG_OK) {
        dg_dataset_free(ds);
        return st;
    }
    *out = ds;
    return DG_OK;
}

/* Writes DIR/NAME into buf, the first of the usual spellings that exists: as named, with
 * ".gz", then with a dot for the dash before "idx" (as some mirrors name them). */
static dg_status find_file(const char *dir, const char *prefix, const char *kind, const char *idx,
                           char *buf, size_t size)
{
    static const char *const forms[] = {"%s/%s-%s-%s", "%s/%s-%s-%s.gz", "%s/%s-%s.%s",
                                        "%s/%s-%s.%s.gz"};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        int n = snprintf(buf, size, forms[i], dir, prefix, kind, idx);
        if (n < 0 || (size_t)n >= size) {
            return dg_fail(DG_ERR_ARG, "%s: path too long", dir);
        }
        if (access(buf, F_OK) == 0) {
            return DG_OK;
        }
    }
    snprintf(buf, size, forms[0], dir, prefix, kind, idx);
    return dg_fail(DG_ERR_NOT_FOUND, "%s: no such file, nor .gz (%s)", buf, missing_hint);
}

dg_status dg_dataset_load(const char *dir, dg_split split, dg_dataset **out)
{
    if (!out) {
        return dg_fail(DG_ERR_ARG, "dg_dataset_load: out is NULL");
    }
    *out = NULL;
    if (!dir || (split != DG_SPLIT_TRAIN && split != DG_SPLIT_TEST)) {
        return dg_fail(DG_ERR_ARG, "dg_dataset_load: bad directory or split");
    }
    struct stat st_dir;
    if (stat(dir, &st_dir) != 0) {
        if (errno == ENOENT) {
            return dg_fail(DG_ERR_NOT_FOUND, "%s: no such directory (%s)", dir, missing_hint);
        }
        return dg_fail(DG_ERR_IO, "%s: %s", dir, strerror(errno));
    }
    if (!S_ISDIR(st_dir.st_mode)) {
        return dg_fail(DG_ERR_ARG, "%s: not a directory (pass --data DIR with the MNIST files)",
                       dir);
    }
    const char *prefix = split == DG_SPLIT_TRAIN ? "train" : "t10k";
    char images[4096], labels[4096];
    dg_status st = find_file(dir, prefix, "images", "idx3-ubyte", images, sizeof images);
    if (st != DG_OK) {
        return st;
    }
    st = find_file(dir, prefix, "labels", "idx1-ubyte", labels, sizeof labels);
    if (st != DG_OK) {
        return st;
    }
    return dg_idx_load(images, labels, out);
}
