/*
 * test.h - the test harness: DG_TEST(name) defines a test, CHECK* macros record a failure
 * (file, line, expression) and end the test; SKIP(reason) ends it as skipped, for a test
 * whose data or tool is missing. build/run_tests runs the tests found by the Makefile (every
 * DG_TEST in tests/test_*.c), by name, and ends "N passed, N failed, N skipped".
 */
#ifndef DG_TEST_H
#define DG_TEST_H

#include "digits.h"

#include <math.h>
#include <stdio.h>

#define DG_TEST(name)                                                                              \
    void test_##name(void);                                                                        \
    void test_##name(void)

/* Records one failure of the running test. */
void test_fail(const char *file, int line, const char *fmt, ...);
/* Marks the running test as skipped, with a reason (printf-style). */
void test_skip(const char *fmt, ...);
/* Path of the test data folder (tests/data) and of the MNIST folder if present, else NULL. */
const char *test_data_dir(void);
const char *test_mnist_dir(void);
/* A fresh empty temporary folder for this test (removed at exit). */
const char *test_tmp_dir(void);
/* The whole file at path in a new buffer with a '\0' after it (so text can be searched),
 * its size in *n (n may be NULL); NULL when it cannot be read. The caller frees it. */
void *test_read_file(const char *path, size_t *n);
/* Runs the shell command line with stdin from /dev/null; its exit status (-1 when it did
 * not exit normally, e.g. a crash; -2 when it could not be started) and its standard output
 * in out (add 2>&1 to the line for both streams). */
int test_run_shell(const char *line, char *out, size_t size);
/* A dataset of n black side x side images, labels 0, for a test to draw its classes into;
 * NULL when out of memory. Freed with dg_dataset_free. */
dg_dataset *test_dataset_new(uint32_t n, int side);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            test_fail(__FILE__, __LINE__, "%s", #cond);                                            \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/* Ends the running test as skipped: its data or a tool it needs is missing. */
#define SKIP(...)                                                                                  \
    do {                                                                                           \
        test_skip(__VA_ARGS__);                                                                    \
        return;                                                                                    \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                       \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            test_fail(__FILE__, __LINE__, __VA_ARGS__);                                            \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define CHECK_OK(expr)                                                                             \
    do {                                                                                           \
        dg_status check_status_ = (expr);                                                          \
        if (check_status_ != DG_OK) {                                                              \
            test_fail(__FILE__, __LINE__, "%s: %s (%s)", #expr, dg_status_name(check_status_),     \
                      dg_last_error());                                                            \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define CHECK_STATUS(expr, want)                                                                   \
    do {                                                                                           \
        dg_status check_status_ = (expr);                                                          \
        if (check_status_ != (want)) {                                                             \
            test_fail(__FILE__, __LINE__, "%s gave %s (%s), want %s", #expr,                       \
                      dg_status_name(check_status_), dg_last_error(), dg_status_name(want));       \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                                      \
    do {                                                                                           \
        double check_a_ = (a), check_b_ = (b);                                                     \
        if (!(fabs(check_a_ - check_b_) <= (tol))) {                                               \
            test_fail(__FILE__, __LINE__, "%s = %.9g, %s = %.9g, tolerance %g", #a, check_a_, #b,  \
                      check_b_, (double)(tol));                                                    \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#endif
