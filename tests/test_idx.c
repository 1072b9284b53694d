/*
 * test_idx.c - the IDX reader: small files written into a temporary folder, raw and
 * gzip'd, loaded whole; then one broken file per error path, each checked for its exact
 * status and for a message that starts with the file's name. With MNIST present, the real
 * train and test sets.
 */
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

/* A small good dataset: 3 images of H=2 rows by W=4 columns (not square, so that a
 * rows/columns mix-up shows), pixels 10*item + offset, labels 7 0 9. */
#define T_N 3
#define T_H 2
#define T_W 4
static const uint8_t t_labels[T_N] = {7, 0, 9};

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* An images file in buf: header 00 00 08 03, n, h, w, then n_pixels pixel bytes (which
 * may differ from n*h*w to make a broken file). Returns the length. */
static size_t make_images(uint8_t *buf, uint32_t n, uint32_t h, uint32_t w, size_t n_pixels)
{
    put_be32(buf, 0x00000803);
    put_be32(buf + 4, n);
    put_be32(buf + 8, h);
    put_be32(buf + 12, w);
    for (size_t i = 0; i < n_pixels; i++) {
        buf[16 + i] = (uint8_t)(10 * (i / (T_H * T_W)) + i % (T_H * T_W));
    }
    return 16 + n_pixels;
}

/* A labels file in buf: header 00 00 08 01, n, then the n_labels given labels. */
static size_t make_labels(uint8_t *buf, uint32_t n, const uint8_t *labels, size_t n_labels)
{
    put_be32(buf, 0x00000801);
    put_be32(buf + 4, n);
    memcpy(buf + 8, labels, n_labels);
    return 8 + n_labels;
}

/* dir/name into a static buffer; one of four in turn so that a call can use several. */
static const char *path_in(const char *dir, const char *name)
{
    static char bufs[4][512];
    static int next;
    char *p = bufs[next++ % 4];
    snprintf(p, sizeof bufs[0], "%s/%s", dir, name);
    return p;
}

static int write_raw(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        return 0;
    }
    int ok = fwrite(data, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

static int write_gz(const char *path, const void *data, size_t n)
{
    gzFile gz = gzopen(path, "wb");
    if (!gz) {
        return 0;
    }
    int ok = n == 0 || gzwrite(gz, data, (unsigned)n) == (int)n;
    return gzclose(gz) == Z_OK && ok;
}

/* The gzip'd form of data in out (capacity cap); returns its length, 0 on failure. */
static size_t gzip_bytes(const void *data, size_t n, uint8_t *out, size_t cap)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        return 0;
    }
    zs.next_in = (Bytef *)(uintptr_t)data;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    int r = deflate(&zs, Z_FINISH);
    size_t len = cap - zs.avail_out;
    deflateEnd(&zs);
    return r == Z_STREAM_END ? len : 0;
}

/* Writes the good dataset as dir/images and dir/labels (gzip'd when gz). */
static int write_good(const char *images, const char *labels, int gz)
{
    uint8_t img[16 + T_N * T_H * T_W], lab[8 + T_N];
    size_t n_img = make_images(img, T_N, T_H, T_W, T_N * T_H * T_W);
    size_t n_lab = make_labels(lab, T_N, t_labels, T_N);
    if (gz) {
        return write_gz(images, img, n_img) && write_gz(labels, lab, n_lab);
    }
    return write_raw(images, img, n_img) && write_raw(labels, lab, n_lab);
}

/* Checks that ds holds exactly the good dataset. */
static int is_good(const dg_dataset *ds)
{
    if (!ds || ds->n != T_N || ds->h != T_H || ds->w != T_W) {
        test_fail(__FILE__, __LINE__, "wrong shape");
        return 0;
    }
    for (size_t i = 0; i < T_N * T_H * T_W; i++) {
        if (ds->images[i] != 10 * (i / (T_H * T_W)) + i % (T_H * T_W)) {
            test_fail(__FILE__, __LINE__, "pixel %zu is %u", i, ds->images[i]);
            return 0;
        }
    }
    if (memcmp(ds->labels, t_labels, T_N) != 0) {
        test_fail(__FILE__, __LINE__, "wrong labels");
        return 0;
    }
    return 1;
}

/* Loads images + labels expecting failure with status want, *out set to NULL, and a
 * message that starts with named. Records a failure and returns 0 otherwise. */
static int load_fails(const char *images, const char *labels, dg_status want, const char *named,
                      int line)
{
    dg_dataset dummy;
    dg_dataset *ds = &dummy;
    dg_status st = dg_idx_load(images, labels, &ds);
    if (st != want) {
        test_fail(__FILE__, line, "gave %s (%s), want %s", dg_status_name(st), dg_last_error(),
                  dg_status_name(want));
        if (st == DG_OK) {
            dg_dataset_free(ds);
        }
        return 0;
    }
    if (ds != NULL) {
        test_fail(__FILE__, line, "*out not NULL after a failure");
        return 0;
    }
    if (strncmp(dg_last_error(), named, strlen(named)) != 0) {
        test_fail(__FILE__, line, "message does not start with %s: %s", named, dg_last_error());
        return 0;
    }
    return 1;
}

#define CHECK_FAILS(images, labels, want, named)                                                   \
    do {                                                                                           \
        if (!load_fails(images, labels, want, named, __LINE__)) {                                  \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define CHECK_MESSAGE_HAS(text) CHECK_MSG(strstr(dg_last_error(), text), "%s", dg_last_error())

/* Writes bytes as a broken images file and loads it with a good labels file. */
static int broken_images(const char *dir, const void *data, size_t n, int gz, dg_status want,
                         int line)
{
    const char *images = path_in(dir, gz ? "bad-images.gz" : "bad-images");
    const char *good_images = path_in(dir, "good-images");
    const char *labels = path_in(dir, "good-labels");
    if (!write_good(good_images, labels, 0) ||
        !(gz ? write_gz(images, data, n) : write_raw(images, data, n))) {
        test_fail(__FILE__, line, "cannot write test files in %s", dir);
        return 0;
    }
    return load_fails(images, labels, want, images, line);
}

/* Same for a broken labels file with good images. */
static int broken_labels(const char *dir, const void *data, size_t n, int gz, dg_status want,
                         int line)
{
    const char *labels = path_in(dir, gz ? "bad-labels.gz" : "bad-labels");
    const char *images = path_in(dir, "good-images");
    const char *good_labels = path_in(dir, "good-labels");
    if (!write_good(images, good_labels, 0) ||
        !(gz ? write_gz(labels, data, n) : write_raw(labels, data, n))) {
        test_fail(__FILE__, line, "cannot write test files in %s", dir);
        return 0;
    }
    return load_fails(images, labels, want, labels, line);
}

#define CHECK_BAD_IMAGES(data, n, gz, want)                                                        \
    do {                                                                                           \
        if (!broken_images(dir, data, n, gz, want, __LINE__)) {                                    \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define CHECK_BAD_LABELS(data, n, gz, want)                                                        \
    do {                                                                                           \
        if (!broken_labels(dir, data, n, gz, want, __LINE__)) {                                    \
            return;                                                                                \
        }                                                                                          \
    } while (0)

DG_TEST(idx_load_raw)
{
    const char *dir = test_tmp_dir();
    const char *images = path_in(dir, "images"), *labels = path_in(dir, "labels");
    CHECK(write_good(images, labels, 0));
    dg_dataset *ds = NULL;
    CHECK_OK(dg_idx_load(images, labels, &ds));
    int good = is_good(ds);
    dg_dataset_free(ds);
    CHECK(good);
    dg_dataset_free(NULL);
}

DG_TEST(idx_load_gzip)
{
    const char *dir = test_tmp_dir();
    const char *images = path_in(dir, "images.gz"), *labels = path_in(dir, "labels.gz");
    CHECK(write_good(images, labels, 1));
    dg_dataset *ds = NULL;
    CHECK_OK(dg_idx_load(images, labels, &ds));
    int good = is_good(ds);
    dg_dataset_free(ds);
    CHECK(good);
    /* Detected by content: a gzip'd file without .gz and a raw one with it. */
    const char *raw_named_gz = path_in(dir, "raw.gz");
    uint8_t lab[8 + T_N];
    CHECK(write_raw(raw_named_gz, lab, make_labels(lab, T_N, t_labels, T_N)));
    ds = NULL;
    CHECK_OK(dg_idx_load(images, raw_named_gz, &ds));
    good = is_good(ds);
    dg_dataset_free(ds);
    CHECK(good);
}

DG_TEST(idx_load_larger_gzip)
{
    /* More inflated data than the reader's first buffer, so that it has to grow. */
    const uint32_t n = 3000;
    const char *dir = test_tmp_dir();
    const char *images = path_in(dir, "images.gz"), *labels = path_in(dir, "labels.gz");
    size_t n_pixels = (size_t)n * 28 * 28;
    uint8_t *img = malloc(16 + n_pixels), *lab = malloc(8 + n), *lab_values = malloc(n);
    CHECK(img && lab && lab_values);
    put_be32(img, 0x00000803);
    put_be32(img + 4, n);
    put_be32(img + 8, 28);
    put_be32(img + 12, 28);
    for (size_t i = 0; i < n_pixels; i++) {
        img[16 + i] = (uint8_t)(i * 7 + i / 1000);
    }
    for (uint32_t i = 0; i < n; i++) {
        lab_values[i] = (uint8_t)(i % 10);
    }
    size_t n_lab = make_labels(lab, n, lab_values, n);
    int written = write_gz(images, img, 16 + n_pixels) && write_gz(labels, lab, n_lab);
    dg_dataset *ds = NULL;
    dg_status st = written ? dg_idx_load(images, labels, &ds) : DG_ERR_IO;
    int same = st == DG_OK && ds->n == n && ds->h == 28 && ds->w == 28 &&
               memcmp(ds->images, img + 16, n_pixels) == 0 &&
               memcmp(ds->labels, lab_values, n) == 0;
    dg_dataset_free(ds);
    free(img);
    free(lab);
    free(lab_values);
    CHECK(written);
    CHECK_OK(st);
    CHECK(same);
}

DG_TEST(idx_dataset_load_names)
{
    const char *dir = test_tmp_dir();
    /* train: the usual names, gzip'd; test: the dotted spelling, raw. */
    CHECK(write_good(path_in(dir, "train-images-idx3-ubyte.gz"),
                     path_in(dir, "train-labels-idx1-ubyte.gz"), 1));
    CHECK(write_good(path_in(dir, "t10k-images.idx3-ubyte"), path_in(dir, "t10k-labels.idx1-ubyte"),
                     0));
    dg_dataset *ds = NULL;
    CHECK_OK(dg_dataset_load(dir, DG_SPLIT_TRAIN, &ds));
    int good = is_good(ds);
    dg_dataset_free(ds);
    CHECK(good);
    ds = NULL;
    CHECK_OK(dg_dataset_load(dir, DG_SPLIT_TEST, &ds));
    good = is_good(ds);
    dg_dataset_free(ds);
    CHECK(good);
}

DG_TEST(idx_dataset_load_missing)
{
    const char *dir = test_tmp_dir();
    dg_dataset dummy;
    dg_dataset *ds = &dummy;
    CHECK_STATUS(dg_dataset_load(dir, DG_SPLIT_TRAIN, &ds), DG_ERR_NOT_FOUND);
    CHECK(ds == NULL);
    const char *want = path_in(dir, "train-images-idx3-ubyte");
    CHECK_MSG(!strncmp(dg_last_error(), want, strlen(want)), "%s", dg_last_error());
    CHECK_MESSAGE_HAS("make data");
    CHECK_MESSAGE_HAS("--data");
    /* Only the labels missing: named. */
    uint8_t img[16 + T_N * T_H * T_W];
    CHECK(write_raw(path_in(dir, "t10k-images-idx3-ubyte"), img,
                    make_images(img, T_N, T_H, T_W, T_N * T_H * T_W)));
    CHECK_STATUS(dg_dataset_load(dir, DG_SPLIT_TEST, &ds), DG_ERR_NOT_FOUND);
    CHECK_MESSAGE_HAS("t10k-labels-idx1-ubyte");
    /* No such folder. */
    const char *nowhere = path_in(dir, "no-such-folder");
    CHECK_STATUS(dg_dataset_load(nowhere, DG_SPLIT_TRAIN, &ds), DG_ERR_NOT_FOUND);
    CHECK_MSG(!strncmp(dg_last_error(), nowhere, strlen(nowhere)), "%s", dg_last_error());
    CHECK_MESSAGE_HAS("make data");
}

DG_TEST(idx_missing_file)
{
    const char *dir = test_tmp_dir();
    const char *images = path_in(dir, "images"), *labels = path_in(dir, "labels");
    const char *missing = path_in(dir, "train-images-idx3-ubyte");
    CHECK(write_good(images, labels, 0));
    CHECK_FAILS(missing, labels, DG_ERR_NOT_FOUND, missing);
    CHECK_MESSAGE_HAS("make data");
    CHECK_FAILS(images, missing, DG_ERR_NOT_FOUND, missing);
    CHECK_FAILS(dir, labels, DG_ERR_IO, dir); /* a folder, not a file */
}

DG_TEST(idx_bad_arguments)
{
    dg_dataset *ds = NULL;
    CHECK_STATUS(dg_idx_load(NULL, "x", &ds), DG_ERR_ARG);
    CHECK_STATUS(dg_idx_load("x", NULL, &ds), DG_ERR_ARG);
    CHECK_STATUS(dg_idx_load("x", "y", NULL), DG_ERR_ARG);
    CHECK_STATUS(dg_dataset_load(NULL, DG_SPLIT_TRAIN, &ds), DG_ERR_ARG);
    CHECK(ds == NULL);
}

DG_TEST(idx_truncated_header)
{
    const char *dir = test_tmp_dir();
    uint8_t img[16 + T_N * T_H * T_W];
    make_images(img, T_N, T_H, T_W, T_N * T_H * T_W);
    CHECK_BAD_IMAGES(img, 0, 0, DG_ERR_TRUNCATED);  /* empty */
    CHECK_BAD_IMAGES(img, 2, 0, DG_ERR_TRUNCATED);  /* inside the magic */
    CHECK_BAD_IMAGES(img, 10, 0, DG_ERR_TRUNCATED); /* inside the sizes */
    CHECK_MESSAGE_HAS("10 of 16 header bytes");
    CHECK_BAD_IMAGES(img, 10, 1, DG_ERR_TRUNCATED);
    CHECK_BAD_IMAGES(img, 0, 1, DG_ERR_TRUNCATED);
    uint8_t lab[8 + T_N];
    make_labels(lab, T_N, t_labels, T_N);
    CHECK_BAD_LABELS(lab, 6, 0, DG_ERR_TRUNCATED);
}

DG_TEST(idx_truncated_data)
{
    const char *dir = test_tmp_dir();
    uint8_t img[16 + T_N * T_H * T_W];
    size_t n = make_images(img, T_N, T_H, T_W, T_N * T_H * T_W);
    CHECK_BAD_IMAGES(img, n - 1, 0, DG_ERR_TRUNCATED);
    CHECK_MESSAGE_HAS("file ends after 39 of 40 bytes (truncated download?)");
    CHECK_BAD_IMAGES(img, 17, 1, DG_ERR_TRUNCATED);
    CHECK_MESSAGE_HAS("file ends after 17 of 40 bytes");
    uint8_t lab[8 + T_N];
    n = make_labels(lab, T_N, t_labels, T_N);
    CHECK_BAD_LABELS(lab, n - 2, 0, DG_ERR_TRUNCATED);
    CHECK_BAD_LABELS(lab, n - 2, 1, DG_ERR_TRUNCATED);
}

DG_TEST(idx_truncated_gzip_stream)
{
    /* A gzip file cut short, inside the deflate data and inside the 8-byte trailer. */
    const char *dir = test_tmp_dir();
    uint8_t img[16 + T_N * T_H * T_W], gz[256];
    size_t n = make_images(img, T_N, T_H, T_W, T_N * T_H * T_W);
    size_t n_gz = gzip_bytes(img, n, gz, sizeof gz);
    CHECK(n_gz > 30);
    CHECK_BAD_IMAGES(gz, n_gz - 12, 0, DG_ERR_TRUNCATED);
    CHECK_BAD_IMAGES(gz, n_gz - 4, 0, DG_ERR_TRUNCATED);
}

DG_TEST(idx_extra_bytes)
{
    const char *dir = test_tmp_dir();
    uint8_t img[16 + T_N * T_H * T_W + 5];
    size_t n = make_images(img, T_N, T_H, T_W, T_N * T_H * T_W + 5);
    CHECK_BAD_IMAGES(img, n, 0, DG_ERR_FORMAT);
    CHECK_BAD_IMAGES(img, n - 4, 1, DG_ERR_FORMAT); /* one extra byte, gzip'd */
    uint8_t lab[8 + T_N + 1];
    const uint8_t values[T_N + 1] = {1, 2, 3, 4};
    n = make_labels(lab, T_N, values, T_N + 1);
    CHECK_BAD_LABELS(lab, n, 0, DG_ERR_FORMAT);
    CHECK_BAD_LABELS(lab, n, 1, DG_ERR_FORMAT);
    /* Extra bytes beyond the first bytes the reader looks at: found by reading past the data, raw
     * and gzip'd. */
    static uint8_t big[16 + T_N * 28 * 28 + 1];
    n = make_images(big, T_N, 28, 28, T_N * 28 * 28 + 1);
    CHECK_BAD_IMAGES(big, n, 0, DG_ERR_FORMAT);
    CHECK_BAD_IMAGES(big, n, 1, DG_ERR_FORMAT);
}

DG_TEST(idx_bad_magic)
{
    const char *dir = test_tmp_dir();
    uint8_t img[16 + T_N * T_H * T_W];
    size_t n = make_images(img, T_N, T_H, T_W, T_N * T_H * T_W);
    img[0] = 0x03; /* byte-swapped magic, as a little-endian writer would produce */
    img[1] = 0x08;
    img[2] = 0x00;
    img[3] = 0x00;
    CHECK_BAD_IMAGES(img, n, 0, DG_ERR_FORMAT);
    CHECK_MESSAGE_HAS("bad magic 0x03080000");
    put_be32(img, 0);
    CHECK_BAD_IMAGES(img, n, 1, DG_ERR_FORMAT);
    CHECK_MESSAGE_HAS("bad magic");
}

DG_TEST(idx_wrong_type)
{
    const char *dir = test_tmp_dir();
    uint8_t img[16 + T_N * T_H * T_W];
    size_t n = make_images(img, T_N, T_H, T_W, T_N * T_H * T_W);
    img[2] = 0x0D; /* float elements: valid IDX, not read here */
    CHECK_BAD_IMAGES(img, n, 0, DG_ERR_UNSUPPORTED);
    CHECK_MESSAGE_HAS("float");
    img[2] = 0x07; /* no such IDX type */
    CHECK_BAD_IMAGES(img, n, 0, DG_ERR_FORMAT);
}

DG_TEST(idx_wrong_dims)
{
    const char *dir = test_tmp_dir();
    uint8_t img[16 + T_N * T_H * T_W];
    size_t n = make_images(img, T_N, T_H, T_W, T_N * T_H * T_W);
    img[3] = 2;
    CHECK_BAD_IMAGES(img, n, 0, DG_ERR_FORMAT);
    CHECK_MESSAGE_HAS("2 dimensions");
    img[3] = 4;
    CHECK_BAD_IMAGES(img, n, 0, DG_ERR_FORMAT);
    img[3] = 0;
    CHECK_BAD_IMAGES(img, n, 0, DG_ERR_FORMAT);
    uint8_t lab[8 + T_N];
    n = make_labels(lab, T_N, t_labels, T_N);
    lab[3] = 2;
    CHECK_BAD_LABELS(lab, n, 0, DG_ERR_FORMAT);
}

DG_TEST(idx_empty_dims)
{
    const char *dir = test_tmp_dir();
    uint8_t img[16];
    CHECK_BAD_IMAGES(img, make_images(img, 0, T_H, T_W, 0), 0, DG_ERR_FORMAT);
    CHECK_BAD_IMAGES(img, make_images(img, T_N, 0, T_W, 0), 0, DG_ERR_FORMAT);
    CHECK_BAD_IMAGES(img, make_images(img, T_N, T_H, 0, 0), 0, DG_ERR_FORMAT);
}

DG_TEST(idx_huge_dims)
{
    /* Under SAN=1 an attempt to allocate any of these would abort the run. */
    const char *dir = test_tmp_dir();
    uint8_t img[16 + 64];
    memset(img, 0, sizeof img);
    CHECK_BAD_IMAGES(img, make_images(img, 0xFFFFFFFFu, 28, 28, 64), 0, DG_ERR_TOO_LARGE);
    CHECK_BAD_IMAGES(img, make_images(img, DG_IDX_MAX_ITEMS + 1, 28, 28, 64), 1, DG_ERR_TOO_LARGE);
    CHECK_BAD_IMAGES(img, make_images(img, 10, DG_IDX_MAX_SIDE + 1, 28, 64), 0, DG_ERR_TOO_LARGE);
    CHECK_BAD_IMAGES(img, make_images(img, 10, 28, 0xFFFFFFFFu, 64), 1, DG_ERR_TOO_LARGE);
    uint8_t lab[8];
    CHECK_BAD_LABELS(lab, make_labels(lab, DG_IDX_MAX_ITEMS + 1, t_labels, 0), 0, DG_ERR_TOO_LARGE);
    /* Within the limits (10^13 bytes) but the file is tiny: refused as truncated without
     * allocating, raw and gzip'd alike. */
    const char *images = path_in(dir, "huge-images"), *gz_images = path_in(dir, "huge-images.gz");
    const char *labels = path_in(dir, "many-labels");
    size_t n = make_images(img, DG_IDX_MAX_ITEMS, DG_IDX_MAX_SIDE, DG_IDX_MAX_SIDE, 64);
    CHECK(write_raw(images, img, n) && write_gz(gz_images, img, n));
    CHECK(write_raw(labels, lab, make_labels(lab, DG_IDX_MAX_ITEMS, t_labels, 0)));
    CHECK_FAILS(images, labels, DG_ERR_TRUNCATED, images);
    CHECK_MESSAGE_HAS("file ends after 80 of 10485760000016 bytes");
    CHECK_FAILS(gz_images, labels, DG_ERR_TRUNCATED, gz_images);
}

DG_TEST(idx_swapped_files)
{
    const char *dir = test_tmp_dir();
    const char *images = path_in(dir, "images"), *labels = path_in(dir, "labels");
    CHECK(write_good(images, labels, 0));
    CHECK_FAILS(labels, images, DG_ERR_FORMAT, labels);
    CHECK_MESSAGE_HAS("is a labels file");
    CHECK_MESSAGE_HAS("swapped");
    CHECK_FAILS(images, images, DG_ERR_FORMAT, images);
    CHECK_MESSAGE_HAS("is an images file");
}

DG_TEST(idx_html_page)
{
    const char *dir = test_tmp_dir();
    const char *page = "<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>";
    CHECK_BAD_IMAGES(page, strlen(page), 0, DG_ERR_FORMAT);
    CHECK_MESSAGE_HAS("is an HTML page, not an IDX file (a failed download? run make data)");
    const char *xml = "\xEF\xBB\xBF\r\n <?xml version=\"1.0\"?><Error>AccessDenied</Error>";
    CHECK_BAD_LABELS(xml, strlen(xml), 1, DG_ERR_FORMAT);
    CHECK_MESSAGE_HAS("HTML page");
    const char *text = "Not Found\n";
    CHECK_BAD_IMAGES(text, strlen(text), 0, DG_ERR_FORMAT);
    CHECK_MESSAGE_HAS("text file");
    const char *tiny = "<";
    CHECK_BAD_IMAGES(tiny, 1, 0, DG_ERR_FORMAT);
}

DG_TEST(idx_count_mismatch)
{
    const char *dir = test_tmp_dir();
    const char *images = path_in(dir, "images"), *labels = path_in(dir, "labels");
    const char *short_labels = path_in(dir, "labels2");
    CHECK(write_good(images, labels, 0));
    uint8_t lab[8 + 2];
    CHECK(write_raw(short_labels, lab, make_labels(lab, 2, t_labels, 2)));
    CHECK_FAILS(images, short_labels, DG_ERR_MISMATCH, images);
    CHECK_MESSAGE_HAS("3 images");
    CHECK_MESSAGE_HAS("2 labels");
    CHECK_MESSAGE_HAS(short_labels);
}

DG_TEST(idx_label_range)
{
    const char *dir = test_tmp_dir();
    uint8_t lab[8 + T_N];
    uint8_t values[T_N] = {1, DG_MAX_CLASSES, 2};
    size_t n = make_labels(lab, T_N, values, T_N);
    CHECK_BAD_LABELS(lab, n, 0, DG_ERR_FORMAT);
    CHECK_MESSAGE_HAS("item 1");
    values[1] = 255;
    CHECK_BAD_LABELS(lab, make_labels(lab, T_N, values, T_N), 1, DG_ERR_FORMAT);
    /* The largest allowed label loads. */
    values[1] = DG_MAX_CLASSES - 1;
    const char *images = path_in(dir, "images"), *labels = path_in(dir, "labels");
    CHECK(write_good(images, labels, 0));
    CHECK(write_raw(labels, lab, make_labels(lab, T_N, values, T_N)));
    dg_dataset *ds = NULL;
    CHECK_OK(dg_idx_load(images, labels, &ds));
    int ok = ds->labels[1] == DG_MAX_CLASSES - 1;
    dg_dataset_free(ds);
    CHECK(ok);
}

DG_TEST(idx_corrupt_gzip)
{
    const char *dir = test_tmp_dir();
    uint8_t img[16 + T_N * T_H * T_W], gz[256];
    size_t n = make_images(img, T_N, T_H, T_W, T_N * T_H * T_W);
    size_t n_gz = gzip_bytes(img, n, gz, sizeof gz);
    CHECK(n_gz > 30);
    /* A wrong CRC in the trailer. */
    gz[n_gz - 6] ^= 0x55;
    CHECK_BAD_IMAGES(gz, n_gz, 0, DG_ERR_FORMAT);
    CHECK_MESSAGE_HAS("gzip");
    gz[n_gz - 6] ^= 0x55;
    /* Garbage in the deflate data. */
    memset(gz + 10, 0xFF, 8);
    CHECK_BAD_IMAGES(gz, n_gz, 0, DG_ERR_FORMAT);
    CHECK_MESSAGE_HAS("gzip");
    /* A gzip magic and nothing sensible after it. */
    const uint8_t junk[] = {0x1f, 0x8b, 0x42, 0x00, 0x13, 0x37, 0x00, 0x00, 0x00, 0x00, 0x00};
    CHECK_BAD_LABELS(junk, sizeof junk, 0, DG_ERR_FORMAT);
}

DG_TEST(idx_mnist)
{
    const char *dir = test_mnist_dir();
    if (!dir) {
        SKIP("MNIST not found in data/mnist or $DIGITS_MNIST; run make data");
    }
    static const uint8_t train_first[10] = {5, 0, 4, 1, 9, 2, 1, 3, 1, 4};
    static const uint8_t test_first[10] = {7, 2, 1, 0, 4, 1, 4, 9, 5, 9};
    dg_dataset *train = NULL, *test = NULL;
    CHECK_OK(dg_dataset_load(dir, DG_SPLIT_TRAIN, &train));
    dg_status st = dg_dataset_load(dir, DG_SPLIT_TEST, &test);
    int ok = st == DG_OK && train->n == 60000 && train->h == 28 && train->w == 28 &&
             test->n == 10000 && test->h == 28 && test->w == 28 &&
             !memcmp(train->labels, train_first, 10) && !memcmp(test->labels, test_first, 10);
    /* Every label a digit; the first training image (a 5) has ink in its middle rows. */
    for (uint32_t i = 0; ok && i < train->n; i++) {
        ok = train->labels[i] < 10;
    }
    unsigned ink = 0;
    for (int i = 0; ok && i < DG_MNIST_PIXELS; i++) {
        ink += train->images[i] > 128;
    }
    dg_dataset_free(train);
    dg_dataset_free(test);
    CHECK_OK(st);
    CHECK(ok);
    CHECK(ink > 50);
}
