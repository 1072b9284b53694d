/*
 * common.c - what the commands share: one-line error messages in the "digits: CMD: ..."
 * form, strict number parsing for option values, and loading a model with a message that
 * says what to do when there is none.
 */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static void vreport(const char *cmd, const char *fmt, va_list ap)
{
    fprintf(stderr, "digits: %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(cmd, fmt, ap);
    va_end(ap);
    return DG_EXIT_FAIL;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(cmd, fmt, ap);
    va_end(ap);
    fprintf(stderr, "try 'digits %s --help'\n", cmd);
    return DG_EXIT_USAGE;
}

/* strtol and strtod skip leading blanks and accept a prefix; option values must be a
 * number and nothing else. */
static int starts_like_number(const char *s)
{
    return s && s[0] && (s[0] == '-' || s[0] == '+' || s[0] == '.' || (s[0] >= '0' && s[0] <= '9'));
}

int cli_parse_int(const char *s, long lo, long hi, long *out)
{
    if (!starts_like_number(s)) {
        return 0;
    }
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi) {
        return 0;
    }
    *out = v;
    return 1;
}

int cli_parse_double(const char *s, double lo, double hi, double *out)
{
    if (!starts_like_number(s) || strpbrk(s, "xX")) {
        return 0;
    }
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    /* strtod also takes "nan", "inf" and hex floats; only plain finite decimals pass */
    if (errno != 0 || *end != '\0' || !isfinite(v) || v < lo || v > hi) {
        return 0;
    }
    *out = v;
    return 1;
}

dg_net *cli_load_model(const char *cmd, const char *path, dg_model_meta *meta)
{
    dg_net *net = NULL;
    dg_status st = dg_model_load(path, &net, meta);
    if (st == DG_ERR_NOT_FOUND) {
        cli_error(cmd, "no model at %s; train one first with: digits train -o %s", path, path);
        return NULL;
    }
    if (st != DG_OK) {
        cli_error(cmd, "%s", dg_last_error());
        return NULL;
    }
    return net;
}
