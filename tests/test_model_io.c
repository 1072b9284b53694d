/*
 * test_model_io.c - model files. Round trips (same spec, parameter bytes, predictions,
 * metadata, and the same file bytes when saved again); a "toy" file assembled here byte by
 * byte from docs/model-format.md, so that the reader is checked against the document and
 * not only against the writer; every kind of broken file, each with its exact status and
 * with *net left NULL; and atomic saving.
 */
#include "test.h"

#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define SMALL_SPEC "conv 4 3 relu, maxpool 2, flatten, dense 10"

/* ---------------------------------------------------------------- helpers */

static const char *path_in(const char *dir, const char *name)
{
    static char bufs[4][512];
    static int next;
    /* dir or name may be an earlier result: copy them out of the ring first */
    char d[300], f[200];
    snprintf(d, sizeof d, "%s", dir);
    snprintf(f, sizeof f, "%s", name);
    char *p = bufs[next++ % 4];
    snprintf(p, sizeof bufs[0], "%s/%s", d, f);
    return p;
}

static int write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        return 0;
    }
    size_t put = fwrite(data, 1, n, f);
    return fclose(f) == 0 && put == n;
}

static int same_file(const char *path, const uint8_t *data, size_t n)
{
    size_t m;
    uint8_t *got = test_read_file(path, &m);
    int same = got && m == n && memcmp(got, data, n) == 0;
    free(got);
    return same;
}

/* Number of entries in dir other than . and .. (temporary files left behind show here). */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        return -1;
    }
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    }
    closedir(d);
    return n;
}

static void le32_at(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static void le64_at(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

/* Rewrites the trailing CRC-32 after a deliberate change, so the reader gets past it. */
static void fix_crc(uint8_t *d, size_t n)
{
    le32_at(d + n - 4, (uint32_t)crc32(crc32(0L, Z_NULL, 0), d, (uInt)(n - 4)));
}

/* Offset of the section header with this tag, or 0. */
static size_t find_section(const uint8_t *d, size_t n, const char *tag)
{
    size_t pos = 24;
    while (pos + 12 <= n - 4) {
        uint64_t len = 0;
        for (int i = 7; i >= 0; i--) {
            len = len << 8 | d[pos + 4 + (size_t)i];
        }
        if (!memcmp(d + pos, tag, 4)) {
            return pos;
        }
        pos += 12 + (size_t)len;
    }
    return 0;
}

/* Loads path and checks the status, that *net stays NULL and the message names the file. */
static int load_fails(const char *path, dg_status want)
{
    dg_net *net = (dg_net *)&net; /* not NULL, so that the loader must set it */
    dg_status st = dg_model_load(path, &net, NULL);
    if (st != want || net != NULL || strncmp(dg_last_error(), path, strlen(path)) != 0) {
        fprintf(stderr, "  %s: got %s (%s), want %s\n", path, dg_status_name(st), dg_last_error(),
                dg_status_name(want));
        if (st == DG_OK) {
            dg_net_free(net);
        }
        return 0;
    }
    return 1;
}

/* Writes bytes to path and loads them as above. */
static int bytes_fail(const char *path, const uint8_t *d, size_t n, dg_status want)
{
    return write_file(path, d, n) && load_fails(path, want);
}

static dg_net *small_net(uint64_t seed)
{
    dg_net *net = NULL;
    if (dg_net_new(SMALL_SPEC, (dg_shape){1, 28, 28}, &net) != DG_OK) {
        return NULL;
    }
    dg_rng rng;
    dg_rng_seed(&rng, seed);
    dg_net_init_params(net, &rng);
    /* biases start at zero: give them values so that a bias mix-up shows */
    float *p = dg_net_params(net);
    for (size_t i = 0; i < dg_net_param_count(net); i++) {
        if (p[i] == 0.0f) {
            p[i] = 0.01f * (float)(i % 7);
        }
    }
    return net;
}

/* Metadata with every field away from its default. */
static void full_meta(dg_model_meta *m)
{
    dg_model_meta_default(m);
    m->norm = (dg_norm){1.0f / 255, 0.1307f, 0.3081f};
    snprintf(m->preset, sizeof m->preset, "custom");
    snprintf(m->dataset, sizeof m->dataset, "mnist-small");
    m->seed = 0x0123456789abcdefull;
    m->epochs = 3;
    m->batch = 64;
    m->lr = 0.002f;
    m->n_train = 54000;
    m->val_accuracy = 0.9875;
    m->test_accuracy = 0.9861;
    m->created = 1700000000;
    m->preprocess = 1;
}

static int same_meta(const dg_model_meta *a, const dg_model_meta *b)
{
    if (memcmp(&a->norm, &b->norm, sizeof a->norm) || a->classes != b->classes ||
        strcmp(a->preset, b->preset) || strcmp(a->dataset, b->dataset) || a->seed != b->seed ||
        a->epochs != b->epochs || a->batch != b->batch || a->lr != b->lr ||
        a->n_train != b->n_train || a->val_accuracy != b->val_accuracy ||
        a->test_accuracy != b->test_accuracy || a->created != b->created ||
        a->preprocess != b->preprocess) {
        return 0;
    }
    for (int i = 0; i < a->classes; i++) {
        if (strcmp(a->labels[i], b->labels[i])) {
            return 0;
        }
    }
    return 1;
}

/* ---------------------------------------------------------------- the toy file
 *
 * Built from docs/model-format.md alone: "flatten, dense 2" over a 1x1x2 input, labels
 * "a" "b", 6 parameters. Fields can be changed to make broken files; toy_build() always
 * writes a correct file size and CRC unless told otherwise.
 */

typedef struct fbuf {
    uint8_t b[1024];
    size_t n;
} fbuf;

static void b_bytes(fbuf *f, const void *p, size_t n)
{
    if (f->n + n <= sizeof f->b) {
        memcpy(f->b + f->n, p, n);
    }
    f->n += n;
}

static void b_u32(fbuf *f, uint32_t v)
{
    uint8_t b[4];
    le32_at(b, v);
    b_bytes(f, b, 4);
}

static void b_u64(fbuf *f, uint64_t v)
{
    uint8_t b[8];
    le64_at(b, v);
    b_bytes(f, b, 8);
}

static void b_f32(fbuf *f, float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    b_u32(f, u);
}

static void b_f64(fbuf *f, double x)
{
    uint64_t u;
    memcpy(&u, &x, 8);
    b_u64(f, u);
}

static void b_str(fbuf *f, const char *s)
{
    b_u32(f, (uint32_t)strlen(s));
    b_bytes(f, s, strlen(s));
}

static void b_section(fbuf *f, const char *tag, const fbuf *payload)
{
    b_bytes(f, tag, 4);
    b_u64(f, payload->n);
    b_bytes(f, payload->b, payload->n);
}

typedef struct toy {
    uint32_t version, mark;
    uint32_t c, h, w;
    const char *spec;
    float scale, mean, std;
    uint32_t classes;
    const char *labels[4];
    uint32_t epochs;
    double val_accuracy;
    const char *preset;
    uint64_t param_count; /* as stored */
    size_t n_params;      /* values actually written */
    float params[8];
    const char *extra_tag; /* a sixth section (empty payload), or NULL */
    const char *skip_tag;  /* a section to leave out, or NULL */
} toy;

static toy toy_default(void)
{
    toy t = {
        .version = 1,
        .mark = 0x01020304,
        .c = 1,
        .h = 1,
        .w = 2,
        .spec = "flatten, dense 2",
        .scale = 1.0f / 255,
        .mean = 0,
        .std = 1,
        .classes = 2,
        .labels = {"a", "b"},
        .epochs = 5,
        .val_accuracy = 0.75,
        .preset = "",
        .param_count = 6,
        .n_params = 6,
        .params = {0.5f, -1.0f, 2.0f, 0.25f, -0.125f, 1.0f},
    };
    return t;
}

static void toy_build(const toy *t, fbuf *f)
{
    static const uint8_t magic[8] = {0x89, 'D', 'G', 'M', 0x0d, 0x0a, 0x1a, 0x0a};
    fbuf p;
    f->n = 0;
    b_bytes(f, magic, 8);
    b_u32(f, t->version);
    b_u32(f, t->mark);
    b_u64(f, 0); /* size, below */

    p.n = 0;
    b_u32(&p, t->c);
    b_u32(&p, t->h);
    b_u32(&p, t->w);
    b_str(&p, t->spec);
    if (!t->skip_tag || strcmp(t->skip_tag, "ARCH")) {
        b_section(f, "ARCH", &p);
    }
    p.n = 0;
    b_f32(&p, t->scale);
    b_f32(&p, t->mean);
    b_f32(&p, t->std);
    if (!t->skip_tag || strcmp(t->skip_tag, "NORM")) {
        b_section(f, "NORM", &p);
    }
    p.n = 0;
    b_u32(&p, t->classes);
    for (uint32_t i = 0; i < t->classes && i < 4; i++) {
        b_str(&p, t->labels[i] ? t->labels[i] : "?");
    }
    if (!t->skip_tag || strcmp(t->skip_tag, "LABL")) {
        b_section(f, "LABL", &p);
    }
    if (t->extra_tag) {
        fbuf empty = {.n = 0};
        b_section(f, t->extra_tag, &empty);
    }
    p.n = 0;
    b_u64(&p, 42);        /* seed */
    b_u32(&p, t->epochs); /* epochs */
    b_u32(&p, 16);        /* batch */
    b_f32(&p, 0.001f);    /* lr */
    b_u32(&p, 1000);      /* n_train */
    b_f64(&p, t->val_accuracy);
    b_f64(&p, -1);         /* test accuracy unknown */
    b_u64(&p, 1700000000); /* created */
    b_u32(&p, 1);          /* preprocess */
    b_str(&p, t->preset);
    b_str(&p, "toy");
    if (!t->skip_tag || strcmp(t->skip_tag, "TRAN")) {
        b_section(f, "TRAN", &p);
    }
    p.n = 0;
    b_u64(&p, t->param_count);
    for (size_t i = 0; i < t->n_params; i++) {
        b_f32(&p, t->params[i]);
    }
    if (!t->skip_tag || strcmp(t->skip_tag, "PARM")) {
        b_section(f, "PARM", &p);
    }
    le64_at(f->b + 16, f->n + 4);
    b_u32(f, 0);
    fix_crc(f->b, f->n);
}

/* Builds t and loads it from dir; checks the status as load_fails does. */
static int toy_fails(const char *dir, const toy *t, dg_status want)
{
    fbuf f;
    toy_build(t, &f);
    return bytes_fail(path_in(dir, "toy.model"), f.b, f.n, want);
}

/* ---------------------------------------------------------------- round trips */

DG_TEST(model_io_round_trip)
{
    const char *dir = test_tmp_dir();
    const char *path = path_in(dir, "m.model");
    dg_net *net = small_net(7);
    CHECK(net);
    dg_model_meta meta, back;
    full_meta(&meta);
    CHECK_OK(dg_model_save(path, net, &meta));

    dg_net *loaded = NULL;
    dg_status st = dg_model_load(path, &loaded, &back);
    if (st != DG_OK) {
        dg_net_free(net);
        CHECK_OK(st);
    }
    int ok = !strcmp(dg_net_spec(net), dg_net_spec(loaded)) &&
             dg_net_param_count(net) == dg_net_param_count(loaded) &&
             !memcmp(dg_net_params_const(net), dg_net_params_const(loaded),
                     dg_net_param_count(net) * sizeof(float)) &&
             same_meta(&meta, &back);
    dg_shape in = dg_net_input_shape(loaded);
    ok = ok && in.c == 1 && in.h == 28 && in.w == 28 && dg_net_classes(loaded) == 10;

    /* the same probabilities, bit for bit, on a few inputs */
    enum { N = 3, D = DG_MNIST_PIXELS };
    float *x = malloc(sizeof(float) * N * D);
    float *p1 = malloc(sizeof(float) * N * 10);
    dg_rng rng;
    dg_rng_seed(&rng, 99);
    if (x && p1) {
        for (int i = 0; i < N * D; i++) {
            x[i] = dg_rng_uniform(&rng);
        }
        const float *a, *b;
        bool ran = dg_net_forward(net, x, N, false, NULL, &a) == DG_OK;
        if (ran) {
            memcpy(p1, a, sizeof(float) * N * 10);
        }
        ran = ran && dg_net_forward(loaded, x, N, false, NULL, &b) == DG_OK;
        ok = ok && ran && !memcmp(p1, b, sizeof(float) * N * 10);
    }
    free(x);
    free(p1);
    dg_net_free(net);
    dg_net_free(loaded);
    CHECK(x && p1);
    CHECK_MSG(ok, "the loaded model differs from the saved one");
}

DG_TEST(model_io_same_bytes)
{
    const char *dir = test_tmp_dir();
    dg_net *net = small_net(3);
    CHECK(net);
    dg_model_meta meta;
    full_meta(&meta);
    dg_status s1 = dg_model_save(path_in(dir, "a.model"), net, &meta);
    dg_status s2 = dg_model_save(path_in(dir, "b.model"), net, &meta);
    dg_net_free(net);
    CHECK_OK(s1);
    CHECK_OK(s2);
    size_t na, nb, nc;
    uint8_t *a = test_read_file(path_in(dir, "a.model"), &na);
    uint8_t *b = test_read_file(path_in(dir, "b.model"), &nb);

    /* load and save again: the same bytes */
    dg_net *loaded = NULL;
    dg_model_meta back;
    dg_status s3 = dg_model_load(path_in(dir, "a.model"), &loaded, &back);
    dg_status s4 = s3 == DG_OK ? dg_model_save(path_in(dir, "c.model"), loaded, &back) : s3;
    dg_net_free(loaded);
    uint8_t *c = test_read_file(path_in(dir, "c.model"), &nc);
    int same = a && b && c && na == nb && na == nc && !memcmp(a, b, na) && !memcmp(a, c, na);
    free(a);
    free(b);
    free(c);
    CHECK_OK(s4);
    CHECK_MSG(same, "saving the same model twice gave different bytes");
}

DG_TEST(model_io_created_now)
{
    const char *dir = test_tmp_dir();
    const char *path = path_in(dir, "m.model");
    dg_net *net = small_net(1);
    CHECK(net);
    dg_model_meta meta, back;
    dg_model_meta_default(&meta);
    CHECK(meta.created == 0 && meta.classes == 10 && !strcmp(meta.labels[9], "9"));
    meta.test_accuracy = -0.5; /* any negative value means unknown */
    int64_t before = (int64_t)time(NULL);
    dg_status st = dg_model_save(path, net, &meta);
    int64_t after = (int64_t)time(NULL);
    dg_net_free(net);
    CHECK_OK(st);
    net = NULL;
    st = dg_model_load(path, &net, &back);
    dg_net_free(net);
    CHECK_OK(st);
    CHECK(back.created >= before && back.created <= after);
    CHECK(back.val_accuracy == -1 && back.test_accuracy == -1);
    CHECK(!strcmp(back.dataset, "mnist") && back.norm.scale == 1.0f / 255);
}

DG_TEST(model_io_null_meta)
{
    const char *dir = test_tmp_dir();
    const char *path = path_in(dir, "m.model");
    dg_net *net = NULL;
    CHECK_OK(dg_net_new("flatten, dense 3", (dg_shape){1, 2, 2}, &net));
    memset(dg_net_params(net), 0, dg_net_param_count(net) * sizeof(float));
    dg_status st = dg_model_save(path, net, NULL);
    dg_net_free(net);
    CHECK_OK(st);
    dg_model_meta back;
    net = NULL;
    st = dg_model_load(path, &net, &back);
    dg_net_free(net);
    CHECK_OK(st);
    CHECK(back.classes == 3 && !strcmp(back.labels[0], "0") && !strcmp(back.labels[2], "2"));
}

/* The toy file from the document loads, and saving what was loaded gives the same bytes:
 * the reader and the writer both follow docs/model-format.md. */
DG_TEST(model_io_document_example)
{
    const char *dir = test_tmp_dir();
    toy t = toy_default();
    fbuf f;
    toy_build(&t, &f);
    CHECK(f.n == 241);
    const char *path = path_in(dir, "toy.model");
    CHECK(write_file(path, f.b, f.n));
    dg_net *net = NULL;
    dg_model_meta meta;
    CHECK_OK(dg_model_load(path, &net, &meta));
    int ok = dg_net_param_count(net) == 6 &&
             !memcmp(dg_net_params_const(net), t.params, 6 * sizeof(float)) && meta.classes == 2 &&
             !strcmp(meta.labels[1], "b") && meta.epochs == 5 && meta.batch == 16 &&
             meta.seed == 42 && meta.lr == 0.001f && meta.n_train == 1000 &&
             meta.val_accuracy == 0.75 && meta.test_accuracy == -1 && meta.created == 1700000000 &&
             !strcmp(meta.dataset, "toy") && !meta.preset[0];
    dg_model_file info;
    dg_status stat_st = dg_model_stat(path, &info);
    ok = ok && stat_st == DG_OK && info.version == 1 && info.n_bytes == 241 &&
         info.checksum == 0xb2bfb9a5u; /* the document's example */
    dg_status st = dg_model_save(path_in(dir, "again.model"), net, &meta);
    dg_net_free(net);
    CHECK_OK(stat_st);
    CHECK_OK(st);
    CHECK_MSG(ok, "the toy file did not load as written");
    CHECK_MSG(same_file(path_in(dir, "again.model"), f.b, f.n),
              "the writer does not produce the document's bytes");
}

/* ---------------------------------------------------------------- broken files */

DG_TEST(model_io_truncated_every_cut)
{
    const char *dir = test_tmp_dir();
    fbuf f;
    toy t = toy_default();
    toy_build(&t, &f);
    const char *path = path_in(dir, "cut.model");
    CHECK(bytes_fail(path, f.b, 0, DG_ERR_FORMAT)); /* empty */
    for (size_t cut = 1; cut < f.n; cut++) {
        CHECK_MSG(bytes_fail(path, f.b, cut, DG_ERR_TRUNCATED), "cut at %zu", cut);
    }
}

DG_TEST(model_io_truncated_small_net)
{
    const char *dir = test_tmp_dir();
    const char *path = path_in(dir, "m.model");
    dg_net *net = small_net(5);
    CHECK(net);
    dg_model_meta meta;
    full_meta(&meta);
    dg_status st = dg_model_save(path, net, &meta);
    dg_net_free(net);
    CHECK_OK(st);
    size_t n;
    uint8_t *d = test_read_file(path, &n);
    CHECK(d);
    int ok = 1;
    const char *cut_path = path_in(dir, "cut.model");
    for (size_t cut = 1; cut < n && ok; cut += cut < 400 ? 1 : 211) {
        ok = bytes_fail(cut_path, d, cut, DG_ERR_TRUNCATED);
    }
    for (size_t back = 1; back <= 8 && ok; back++) {
        ok = bytes_fail(cut_path, d, n - back, DG_ERR_TRUNCATED);
    }
    free(d);
    CHECK(ok);
}

DG_TEST(model_io_flipped_bytes)
{
    const char *dir = test_tmp_dir();
    const char *path = path_in(dir, "flip.model");
    fbuf f;
    toy t = toy_default();
    toy_build(&t, &f);
    static const uint8_t masks[] = {0x01, 0x80, 0xff};
    for (size_t i = 0; i < f.n; i++) {
        for (size_t m = 0; m < sizeof masks; m++) {
            fbuf g = f;
            g.b[i] ^= masks[m];
            dg_status want = DG_ERR_CHECKSUM;
            if (i < 8) {
                want = DG_ERR_FORMAT; /* magic */
            } else if (i < 12) {
                uint32_t v = (uint32_t)g.b[8] | (uint32_t)g.b[9] << 8 | (uint32_t)g.b[10] << 16 |
                             (uint32_t)g.b[11] << 24;
                want = v == 0 ? DG_ERR_FORMAT : DG_ERR_VERSION;
            } else if (i < 16) {
                want = DG_ERR_FORMAT; /* byte-order mark */
            } else if (i < 24) {
                /* a larger size says the file was cut short; a smaller one leaves spare bytes */
                want = (g.b[i] > f.b[i]) ? DG_ERR_TRUNCATED : DG_ERR_FORMAT;
            }
            CHECK_MSG(bytes_fail(path, g.b, g.n, want), "byte %zu ^ 0x%02x", i, masks[m]);
        }
    }
}

DG_TEST(model_io_wrong_magic)
{
    const char *dir = test_tmp_dir();
    const char *path = path_in(dir, "x.model");
    fbuf f;
    toy t = toy_default();
    toy_build(&t, &f);
    memcpy(f.b, "GIF89a\0\0", 8);
    CHECK(bytes_fail(path, f.b, f.n, DG_ERR_FORMAT));
    CHECK(strstr(dg_last_error(), "not a digits model file"));

    static const char text[] = "conv 32 3 relu, maxpool 2, flatten, dense 10\nweights: 0.1 0.2\n";
    CHECK(bytes_fail(path, (const uint8_t *)text, sizeof text - 1, DG_ERR_FORMAT));
    CHECK(strstr(dg_last_error(), "not a digits model file (it looks like text)"));

    static const uint8_t png[] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13};
    CHECK(bytes_fail(path, png, sizeof png, DG_ERR_FORMAT));
    CHECK(strstr(dg_last_error(), "PNG"));

    /* a model sent through a text-mode transfer: CR LF became LF */
    fbuf g;
    toy_build(&t, &g);
    memmove(g.b + 4, g.b + 5, g.n - 5);
    CHECK(bytes_fail(path, g.b, g.n - 1, DG_ERR_FORMAT));
    CHECK(strstr(dg_last_error(), "line endings"));

    CHECK(bytes_fail(path, (const uint8_t *)"", 0, DG_ERR_FORMAT));
    CHECK(strstr(dg_last_error(), "empty"));
}

DG_TEST(model_io_future_version)
{
    const char *dir = test_tmp_dir();
    toy t = toy_default();
    t.version = 7;
    CHECK(toy_fails(dir, &t, DG_ERR_VERSION));
    CHECK(strstr(dg_last_error(), "written by a newer digits (format 7, this build reads 1)"));
    t.version = 0;
    CHECK(toy_fails(dir, &t, DG_ERR_FORMAT));
}

DG_TEST(model_io_byte_order)
{
    const char *dir = test_tmp_dir();
    toy t = toy_default();
    t.mark = 0x04030201; /* what a big-endian writer would leave */
    CHECK(toy_fails(dir, &t, DG_ERR_UNSUPPORTED));
    t.mark = 0x01020305;
    CHECK(toy_fails(dir, &t, DG_ERR_FORMAT));
}

/* Lengths far beyond the file, with a valid checksum, so that only the length check can
 * stop them: they must fail before any allocation or copy (ASan would see it). */
DG_TEST(model_io_huge_lengths)
{
    const char *dir = test_tmp_dir();
    const char *path = path_in(dir, "huge.model");
    fbuf f;
    toy t = toy_default();
    toy_build(&t, &f);
    static const char *const tags[] = {"ARCH", "NORM", "LABL", "TRAN", "PARM"};
    for (int i = 0; i < 5; i++) {
        fbuf g = f;
        size_t at = find_section(g.b, g.n, tags[i]);
        CHECK(at);
        le64_at(g.b + at + 4, 1ull << 60);
        fix_crc(g.b, g.n);
        CHECK_MSG(bytes_fail(path, g.b, g.n, DG_ERR_TRUNCATED), "%s length 2^60", tags[i]);
    }
    /* the parameter count */
    fbuf g = f;
    size_t at = find_section(g.b, g.n, "PARM");
    le64_at(g.b + at + 12, 1ull << 60);
    fix_crc(g.b, g.n);
    CHECK(bytes_fail(path, g.b, g.n, DG_ERR_TRUNCATED));
    /* the spec string's length */
    g = f;
    at = find_section(g.b, g.n, "ARCH");
    le32_at(g.b + at + 12 + 12, 0xffffffffu);
    fix_crc(g.b, g.n);
    CHECK(bytes_fail(path, g.b, g.n, DG_ERR_TRUNCATED));
    /* the file size field */
    g = f;
    le64_at(g.b + 16, 1ull << 60);
    fix_crc(g.b, g.n);
    CHECK(bytes_fail(path, g.b, g.n, DG_ERR_TRUNCATED));
    /* a class count of 2^32 - 1 */
    t.classes = 0xffffffffu;
    CHECK(toy_fails(dir, &t, DG_ERR_FORMAT));
}

DG_TEST(model_io_param_count_mismatch)
{
    const char *dir = test_tmp_dir();
    toy t = toy_default();
    t.param_count = 5;
    t.n_params = 5;
    CHECK(toy_fails(dir, &t, DG_ERR_MISMATCH));
    t.param_count = 7;
    t.n_params = 7;
    CHECK(toy_fails(dir, &t, DG_ERR_MISMATCH));
    /* a count that disagrees with the section's own length */
    t = toy_default();
    t.param_count = 5;
    CHECK(toy_fails(dir, &t, DG_ERR_FORMAT));
    t.param_count = 7;
    CHECK(toy_fails(dir, &t, DG_ERR_TRUNCATED));
    /* labels for 3 classes, a net with 2 */
    t = toy_default();
    t.classes = 3;
    t.labels[2] = "c";
    CHECK(toy_fails(dir, &t, DG_ERR_MISMATCH));
}

DG_TEST(model_io_bad_fields)
{
    const char *dir = test_tmp_dir();
    toy t = toy_default();
    t.params[3] = NAN;
    CHECK(toy_fails(dir, &t, DG_ERR_FORMAT));
    t = toy_default();
    t.params[0] = INFINITY;
    CHECK(toy_fails(dir, &t, DG_ERR_FORMAT));
    t = toy_default();
    t.std = 0;
    CHECK(toy_fails(dir, &t, DG_ERR_FORMAT));
    t = toy_default();
    t.mean = NAN;
    CHECK(toy_fails(dir, &t, DG_ERR_FORMAT));
    t = toy_default();
    t.spec = "flatten, teleport 2";
    CHECK(toy_fails(dir, &t, DG_ERR_FORMAT));
    CHECK(strstr(dg_last_error(), "architecture"));
    t = toy_default();
    t.spec = "";
    CHECK(toy_fails(dir, &t, DG_ERR_FORMAT));
    t = toy_default();
    t.spec = "flatten,\ndense 2";
    CHECK(toy_fails(dir, &t, DG_ERR_FORMAT));
    t = toy_default();
    t.w = 0;
    CHECK(toy_fails(dir, &t, DG_ERR_FORMAT));
    t = toy_default();
    t.h = 5000;
    CHECK(toy_fails(dir, &t, DG_ERR_FORMAT));
    t = toy_default();
    t.labels[1] = "";
    CHECK(toy_fails(dir, &t, DG_ERR_FORMAT));
    t = toy_default();
    t.labels[1] = "a label longer than thirty-one bytes";
    CHECK(toy_fails(dir, &t, DG_ERR_FORMAT));
    t = toy_default();
    t.labels[0] = "\x1b[2J";
    CHECK(toy_fails(dir, &t, DG_ERR_FORMAT));
    t = toy_default();
    t.classes = 0;
    CHECK(toy_fails(dir, &t, DG_ERR_FORMAT));
    t = toy_default();
    t.epochs = 0x80000000u;
    CHECK(toy_fails(dir, &t, DG_ERR_FORMAT));
    t = toy_default();
    t.val_accuracy = 1.5;
    CHECK(toy_fails(dir, &t, DG_ERR_FORMAT));
    t = toy_default();
    t.preset = "a preset name longer than 31 bytes";
    CHECK(toy_fails(dir, &t, DG_ERR_FORMAT));
}

DG_TEST(model_io_sections)
{
    const char *dir = test_tmp_dir();
    toy t = toy_default();
    t.extra_tag = "note"; /* optional: skipped */
    fbuf f;
    toy_build(&t, &f);
    const char *path = path_in(dir, "s.model");
    CHECK(write_file(path, f.b, f.n));
    dg_net *net = NULL;
    CHECK_OK(dg_model_load(path, &net, NULL));
    dg_net_free(net);

    t.extra_tag = "XTRA"; /* needed by a newer build */
    CHECK(toy_fails(dir, &t, DG_ERR_UNSUPPORTED));
    t.extra_tag = "NORM";
    CHECK(toy_fails(dir, &t, DG_ERR_FORMAT));
    CHECK(strstr(dg_last_error(), "twice"));
    static const char *const tags[] = {"ARCH", "NORM", "LABL", "TRAN", "PARM"};
    for (int i = 0; i < 5; i++) {
        t = toy_default();
        t.skip_tag = tags[i];
        CHECK_MSG(toy_fails(dir, &t, DG_ERR_FORMAT), "without %s", tags[i]);
    }
    /* spare bytes after a payload's fields */
    t = toy_default();
    toy_build(&t, &f);
    size_t at = find_section(f.b, f.n, "NORM");
    memmove(f.b + at + 24 + 4, f.b + at + 24, f.n - (at + 24));
    memset(f.b + at + 24, 0, 4);
    f.n += 4;
    le64_at(f.b + at + 4, 16);
    le64_at(f.b + 16, f.n);
    fix_crc(f.b, f.n);
    CHECK(bytes_fail(path, f.b, f.n, DG_ERR_FORMAT));
    CHECK(strstr(dg_last_error(), "spare"));
}

DG_TEST(model_io_trailing_bytes)
{
    const char *dir = test_tmp_dir();
    fbuf f;
    toy t = toy_default();
    toy_build(&t, &f);
    memcpy(f.b + f.n, "\n", 1);
    CHECK(bytes_fail(path_in(dir, "t.model"), f.b, f.n + 1, DG_ERR_FORMAT));
}

DG_TEST(model_io_not_found_and_not_a_file)
{
    const char *dir = test_tmp_dir();
    CHECK(load_fails(path_in(dir, "missing.model"), DG_ERR_NOT_FOUND));
    CHECK(load_fails(path_in(dir, "missing/deeper.model"), DG_ERR_NOT_FOUND));
    CHECK(load_fails(dir, DG_ERR_IO));
    dg_model_file info = {1, 2, 3};
    CHECK_STATUS(dg_model_stat(path_in(dir, "missing.model"), &info), DG_ERR_NOT_FOUND);
    CHECK(info.version == 0 && info.n_bytes == 0 && info.checksum == 0);
}

/* A file over the cap is refused from its size alone (a sparse file: nothing is read). */
DG_TEST(model_io_too_large)
{
    const char *dir = test_tmp_dir();
    const char *path = path_in(dir, "big.model");
    FILE *f = fopen(path, "wb");
    CHECK(f);
    int ok = ftruncate(fileno(f), (off_t)DG_MODEL_MAX_BYTES + 1) == 0;
    fclose(f);
    CHECK(ok);
    CHECK(load_fails(path, DG_ERR_TOO_LARGE));
}

/* ---------------------------------------------------------------- saving */

DG_TEST(model_io_save_replaces)
{
    const char *dir = test_tmp_dir();
    const char *path = path_in(dir, "m.model");
    dg_net *a = small_net(1), *b = small_net(2);
    dg_model_meta meta;
    full_meta(&meta);
    dg_status s1 = a ? dg_model_save(path, a, &meta) : DG_ERR_NOMEM;
    dg_status s2 = b ? dg_model_save(path, b, &meta) : DG_ERR_NOMEM;
    dg_net *back = NULL;
    dg_status s3 = dg_model_load(path, &back, NULL);
    int same = s3 == DG_OK && b &&
               !memcmp(dg_net_params_const(back), dg_net_params_const(b),
                       dg_net_param_count(b) * sizeof(float));
    dg_net_free(a);
    dg_net_free(b);
    dg_net_free(back);
    CHECK_OK(s1);
    CHECK_OK(s2);
    CHECK_OK(s3);
    CHECK_MSG(same, "the second save did not replace the first");
    CHECK(count_entries(dir) == 1); /* no temporary file left */
    struct stat sb;
    CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0644);
}

DG_TEST(model_io_save_creates_parent)
{
    const char *dir = test_tmp_dir();
    dg_net *net = small_net(1);
    CHECK(net);
    dg_status st = dg_model_save(path_in(dir, "model/digits.model"), net, NULL);
    dg_status deep = dg_model_save(path_in(dir, "no/such/place.model"), net, NULL);
    dg_net_free(net);
    CHECK_OK(st);
    CHECK_STATUS(deep, DG_ERR_NOT_FOUND);
    CHECK(access(path_in(dir, "model/digits.model"), R_OK) == 0);
}

/* Failed saves leave the file that was there byte for byte, and no temporary file. */
DG_TEST(model_io_save_failures_keep_old)
{
    const char *dir = test_tmp_dir();
    const char *sub = path_in(dir, "ro");
    CHECK(mkdir(sub, 0755) == 0);
    const char *path = path_in(sub, "m.model");
    dg_net *net = small_net(1), *other = small_net(2);
    dg_model_meta meta;
    full_meta(&meta);
    dg_status st = net && other ? dg_model_save(path, net, &meta) : DG_ERR_NOMEM;
    size_t n = 0;
    uint8_t *before = st == DG_OK ? test_read_file(path, &n) : NULL;
    int ok = before != NULL;

    /* a directory that cannot be written (not a restriction for root: skipped then) */
    if (ok && chmod(sub, 0555) == 0 && access(sub, W_OK) != 0) {
        ok = dg_model_save(path, other, &meta) == DG_ERR_IO && same_file(path, before, n) &&
             count_entries(sub) == 1;
    }
    chmod(sub, 0755);

    /* NaN parameters are refused before anything is written */
    if (ok) {
        float keep = dg_net_params(other)[5];
        dg_net_params(other)[5] = NAN;
        ok = dg_model_save(path, other, &meta) == DG_ERR_ARG && same_file(path, before, n);
        dg_net_params(other)[5] = keep;
    }
    /* metadata the format cannot hold */
    if (ok) {
        dg_model_meta bad = meta;
        bad.classes = 9;
        ok = dg_model_save(path, other, &bad) == DG_ERR_ARG;
        bad = meta;
        memset(bad.labels[3], 'x', sizeof bad.labels[3]);
        ok = ok && dg_model_save(path, other, &bad) == DG_ERR_ARG;
        bad = meta;
        bad.norm.std = 0;
        ok = ok && dg_model_save(path, other, &bad) == DG_ERR_ARG;
        ok = ok && same_file(path, before, n) && count_entries(sub) == 1;
    }

    /* the path is a directory: rename fails, the temporary file goes */
    const char *as_dir = path_in(sub, "dir.model");
    if (ok && mkdir(as_dir, 0755) == 0 && write_file(path_in(as_dir, "x"), "x", 1)) {
        ok = dg_model_save(as_dir, other, &meta) == DG_ERR_IO && count_entries(sub) == 2;
    }

    /* the parent is a file */
    const char *file = path_in(dir, "plain");
    if (ok && write_file(file, "keep", 4)) {
        ok = dg_model_save(path_in(file, "m.model"), other, &meta) == DG_ERR_IO &&
             same_file(file, (const uint8_t *)"keep", 4);
    }
    free(before);
    dg_net_free(net);
    dg_net_free(other);
    CHECK_OK(st);
    CHECK_MSG(ok, "a failed save changed the old model or left a file (%s)", dg_last_error());
}

/* Batch normalisation's running variance below zero (a damaged file with a good checksum)
 * is refused on load, naming the layer and the channel; zero is fine. */
DG_TEST(model_io_negative_running_variance)
{
    const char *dir = test_tmp_dir();
    const char *path = path_in(dir, "bn.model");
    dg_net *net = NULL;
    CHECK_OK(dg_net_new("batchnorm relu, flatten, dense 10", (dg_shape){2, 2, 2}, &net));
    dg_rng rng;
    dg_rng_seed(&rng, 5);
    dg_net_init_params(net, &rng);
    /* gamma [2], beta [2], running mean [2], running variance [2], then the dense layer */
    float *p = dg_net_params(net);
    p[6] = 0.0f;
    p[7] = -0.5f;
    dg_model_meta meta;
    full_meta(&meta);
    dg_status st = dg_model_save(path, net, &meta);
    dg_net_free(net);
    CHECK_OK(st);
    CHECK(load_fails(path, DG_ERR_FORMAT));
    CHECK_MSG(strstr(dg_last_error(), "layer 1 (batchnorm): running variance -0.5 of channel 1"),
              "%s", dg_last_error());
}
