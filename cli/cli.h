/*
 * cli.h - what the `digits` commands share: the command table's row type, the commands,
 * and helpers for messages and options. Only main() exits; commands return its status:
 * 0 success, 1 failure, 2 usage error.
 */
#ifndef DG_CLI_H
#define DG_CLI_H

#include "digits.h"

#include <stdio.h>

#define DG_EXIT_OK    0
#define DG_EXIT_FAIL  1
#define DG_EXIT_USAGE 2

#define DG_DEFAULT_MODEL "model/digits.model"
#define DG_DEFAULT_DATA  "data/mnist"

typedef struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
    const char *synopsis;              /* one line: "[--model MODEL] [--csv] PATH..." */
    const char *summary;               /* what it does, a few words */
} cli_command;

int cmd_train(int argc, char **argv);
int cmd_evaluate(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_verify(int argc, char **argv);

/* "digits: CMD: message" on stderr; returns DG_EXIT_FAIL. */
int cli_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* "digits: CMD: message" plus "try 'digits CMD --help'" on stderr; returns DG_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Parses a whole decimal integer in [lo, hi] or a float in [lo, hi]; false on junk. */
int cli_parse_int(const char *s, long lo, long hi, long *out);
int cli_parse_double(const char *s, double lo, double hi, double *out);
/* Loads a model for a command; when the file is missing says how to train one. Prints
 * the error itself and returns NULL on failure. */
dg_net *cli_load_model(const char *cmd, const char *path, dg_model_meta *meta);

#endif
