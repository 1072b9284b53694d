/*
 * test_status.c - status names and the last-error message, including a message that
 * wraps the previous one (an argument pointing into the message buffer).
 */
#include "test.h"

#include <string.h>

DG_TEST(status_fail_sets_message_and_returns_status)
{
    CHECK(dg_fail(DG_ERR_FORMAT, "bad magic 0x%08x", 0x12u) == DG_ERR_FORMAT);
    CHECK(!strcmp(dg_last_error(), "bad magic 0x00000012"));
    CHECK(!strcmp(dg_status_name(DG_ERR_FORMAT), "format"));
    CHECK(!strcmp(dg_status_name(DG_STATUS_COUNT), "unknown"));
}

DG_TEST(status_fail_wraps_the_last_error)
{
    dg_fail(DG_ERR_ARG, "kernel %d does not fit a %dx%d input", 3, 2, 2);
    CHECK(dg_fail(DG_ERR_ARG, "x: %s", dg_last_error()) == DG_ERR_ARG);
    CHECK_MSG(!strcmp(dg_last_error(), "x: kernel 3 does not fit a 2x2 input"), "got \"%s\"",
              dg_last_error());
    /* twice more, the message in the middle of the new one */
    dg_fail(DG_ERR_ARG, "a %s b", dg_last_error());
    dg_fail(DG_ERR_ARG, "[%s] (%s)", dg_last_error(), dg_last_error());
    CHECK_MSG(!strcmp(dg_last_error(), "[a x: kernel 3 does not fit a 2x2 input b] (a x: kernel 3 "
                                       "does not fit a 2x2 input b)"),
              "got \"%s\"", dg_last_error());
}

/* A wrapped message longer than the buffer keeps its start, cut at 511 bytes. */
DG_TEST(status_fail_wrap_truncates)
{
    char long_text[600];
    memset(long_text, 'y', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    dg_fail(DG_ERR_ARG, "%s", long_text);
    CHECK(strlen(dg_last_error()) == 511);
    dg_fail(DG_ERR_ARG, "wrapped: %s", dg_last_error());
    const char *m = dg_last_error();
    CHECK(strlen(m) == 511);
    CHECK(!strncmp(m, "wrapped: yyy", 12));
    CHECK(m[510] == 'y');
}
