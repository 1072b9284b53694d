/*
 * run_tests.c - the one test runner. The Makefile lists every DG_TEST in tests/test_*.c
 * into test_list.h; `run_tests [NAME...]` runs the tests whose names contain any NAME
 * (all when none), prints "ok", "FAIL" or "skip NAME: REASON" for each, and ends with
 * "N passed, N failed, N skipped"; the exit status is 1 on failure, 0 otherwise.
 */
#define _XOPEN_SOURCE 700
#include "test.h"

#include <ftw.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define X(name) void test_##name(void);
#include "test_list.h"
#undef X

typedef struct test_entry {
    const char *name;
    void (*run)(void);
} test_entry;

static const test_entry tests[] = {
#define X(name) {#name, test_##name},
#include "test_list.h"
#undef X
};

static int current_failed;
static char current_skip[256]; /* the reason the running test skipped, "" if it did not */
static char tmp_dir[256];

void test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "  %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    current_failed = 1;
}

void test_skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(current_skip, sizeof current_skip, fmt, ap);
    va_end(ap);
    if (!current_skip[0]) {
        snprintf(current_skip, sizeof current_skip, "no reason given");
    }
}

const char *test_data_dir(void)
{
    return "tests/data";
}

const char *test_mnist_dir(void)
{
    const char *dir = getenv("DIGITS_MNIST");
    if (!dir) {
        dir = "data/mnist";
    }
    char path[512];
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte", dir);
    return access(path, R_OK) == 0 ? dir : NULL;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void remove_tmp_dir(void)
{
    if (tmp_dir[0]) {
        nftw(tmp_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        tmp_dir[0] = '\0';
    }
}

const char *test_tmp_dir(void)
{
    remove_tmp_dir();
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/digits-test-XXXXXX");
    if (!mkdtemp(tmp_dir)) {
        tmp_dir[0] = '\0';
        return "/tmp";
    }
    return tmp_dir;
}

int test_run_shell(const char *line, char *out, size_t size)
{
    char cmd[8400];
    snprintf(cmd, sizeof cmd, "%s </dev/null", line);
    FILE *p = popen(cmd, "r");
    if (!p) {
        return -2;
    }
    size_t n = fread(out, 1, size - 1, p);
    out[n] = '\0';
    while (fgetc(p) != EOF) {
    }
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

dg_dataset *test_dataset_new(uint32_t n, int side)
{
    dg_dataset *ds = calloc(1, sizeof *ds);
    if (!ds) {
        return NULL;
    }
    ds->n = n;
    ds->h = ds->w = (uint32_t)side;
    ds->images = calloc((size_t)n * (size_t)side * (size_t)side, 1);
    ds->labels = calloc(n, 1);
    if (!ds->images || !ds->labels) {
        dg_dataset_free(ds);
        return NULL;
    }
    return ds;
}

void *test_read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        return NULL;
    }
    char *buf = NULL;
    size_t cap = 0, used = 0;
    for (;;) {
        if (used + 1 >= cap) {
            cap = cap ? 2 * cap : 4096;
            char *grown = realloc(buf, cap);
            if (!grown) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = grown;
        }
        size_t k = fread(buf + used, 1, cap - 1 - used, f);
        used += k;
        if (k == 0) {
            break;
        }
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        return NULL;
    }
    buf[used] = '\0';
    if (n) {
        *n = used;
    }
    return buf;
}

static int selected(const char *name, int argc, char **argv)
{
    if (argc < 2) {
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        if (strstr(name, argv[i])) {
            return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    int passed = 0, failed = 0, skipped = 0;
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        if (!selected(tests[i].name, argc, argv)) {
            continue;
        }
        current_failed = 0;
        current_skip[0] = '\0';
        tests[i].run();
        remove_tmp_dir();
        if (current_failed) {
            failed++;
            printf("FAIL %s\n", tests[i].name);
        } else if (current_skip[0]) {
            skipped++;
            printf("skip %s: %s\n", tests[i].name, current_skip);
        } else {
            passed++;
            printf("ok   %s\n", tests[i].name);
        }
        fflush(stdout);
    }
    printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed ? 1 : 0;
}
