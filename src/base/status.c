/*
 * status.c - dg_status names and the per-thread message of the last failure.
 */
#include "digits.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_error[512];

static const char *const status_names[DG_STATUS_COUNT] = {
    [DG_OK] = "ok",
    [DG_ERR_ARG] = "argument",
    [DG_ERR_IO] = "io",
    [DG_ERR_NOMEM] = "out of memory",
    [DG_ERR_FORMAT] = "format",
    [DG_ERR_TRUNCATED] = "truncated",
    [DG_ERR_TOO_LARGE] = "too large",
    [DG_ERR_CHECKSUM] = "checksum",
    [DG_ERR_VERSION] = "version",
    [DG_ERR_MISMATCH] = "mismatch",
    [DG_ERR_UNSUPPORTED] = "unsupported",
    [DG_ERR_NOT_FOUND] = "not found",
    [DG_ERR_STOPPED] = "stopped",
    [DG_ERR_DIVERGED] = "diverged",
};

const char *dg_last_error(void)
{
    return last_error;
}

const char *dg_status_name(dg_status status)
{
    if ((int)status < 0 || status >= DG_STATUS_COUNT) {
        return "unknown";
    }
    return status_names[status];
}

/* An argument may be dg_last_error() itself ("spec: %s" around a layer's message): it is
 * formatted aside, then copied, so that no argument is overwritten while it is read. */
dg_status dg_fail(dg_status status, const char *fmt, ...)
{
    char message[sizeof last_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    memcpy(last_error, message, sizeof last_error);
    return status;
}
