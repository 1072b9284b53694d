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

/* --threads takes 1 to the library's 64; without it, a command uses all cores. */
#define CLI_MAX_THREADS 64
#define CLI_MAX_SEED    2147483647L

typedef struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
    const char *synopsis;              /* one line: "[--model MODEL] [--csv] PATH..." */
    const char *summary;               /* what it does, a few words */
} cli_command;

int cmd_train(int argc, char **argv);
int cmd_evaluate(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_read(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_import(int argc, char **argv);

/* A model's predictions on the test set, shared by `plot` and `report` (cmd_plot.c). */
typedef struct cli_test_run {
    dg_dataset *ds;
    dg_eval ev;
    uint8_t *predicted; /* [ds->n] */
    float *confidence;  /* [ds->n] probability of the predicted class */
} cli_test_run;
/* Loads DIR's test split and evaluates net on it; prints the error itself and returns
 * DG_EXIT_FAIL on failure (run is then empty), DG_EXIT_OK on success. */
int cli_test_run_load(const char *cmd, dg_net *net, const dg_model_meta *meta, const char *dir,
                      cli_test_run *run);
void cli_test_run_free(cli_test_run *run);
/* Indices of the misclassified test images, the most confident wrong answers first, into
 * idx[ds->n]; returns how many. */
uint32_t cli_test_run_mistakes(const cli_test_run *run, uint32_t *idx);

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
/*
 * Option values, one function per kind: the value of `option` (e.g. "--lr") as a whole
 * decimal integer in [lo, hi], a plain decimal number in [lo, hi], or one of the names in
 * the NULL-terminated list (its index into *out). On a bad value each prints the usage
 * error "digits: CMD: --lr: '50' is not a number in 1e-06..10" and returns false: the
 * command then returns DG_EXIT_USAGE.
 */
bool cli_int_option(const char *cmd, const char *option, const char *value, long lo, long hi,
                    long *out);
bool cli_float_option(const char *cmd, const char *option, const char *value, double lo, double hi,
                      double *out);
bool cli_choice_option(const char *cmd, const char *option, const char *value,
                       const char *const *names, int *out);
/* The getopt_long results every command treats alike: 'h' prints usage and gives
 * DG_EXIT_OK, ':' (an option without its value) and anything unknown a usage error. */
int cli_other_option(const char *cmd, const char *usage, int c, char **argv);
/* `digits CMD [--help] MODEL...` (info, verify): parses the options; returns -1 when the
 * command should go on with the model files argv[optind..] (at least one, at most
 * max_models), else the status to exit with. */
int cli_parse_model_args(const char *cmd, const char *usage, int max_models, int argc, char **argv);
/* Loads a model for a command; when the file is missing says how to train one. Prints
 * the error itself and returns NULL on failure. */
dg_net *cli_load_model(const char *cmd, const char *path, dg_model_meta *meta);

/* The options `predict` and `read` share; save_dir (--save-preprocessed) is predict's. */
typedef struct cli_image_options {
    const char *model, *save_dir, *plot;
    bool csv, show;
    double min_confidence;
} cli_image_options;
/* Parses argv's options into o (defaults first) and checks that images follow (exactly
 * one with --plot); --save-preprocessed only when with_save_dir. Returns -1 when the
 * command should go on with argv[optind..], else the status to exit with (after --help
 * or a usage error, whose message it prints). */
int cli_parse_image_options(const char *cmd, const char *usage, bool with_save_dir, int argc,
                            char **argv, cli_image_options *o);

/* A CSV field on stdout, quoted when it holds a comma, quote or line break. */
void cli_print_csv_field(const char *s);

/* Calls visit(user, path) for every image among paths: a file as given, a folder walked
 * in sorted order (subfolders too; hidden entries skipped; .png .jpg .jpeg .pgm .ppm
 * .pnm .bmp only). A path that cannot be read calls fail(user, path, message). Returns
 * the number of calls made. */
typedef void (*cli_visit_fn)(void *user, const char *path);
typedef void (*cli_fail_fn)(void *user, const char *path, const char *message);
int cli_walk_images(char **paths, int n, cli_visit_fn visit, cli_fail_fn fail, void *user);

#endif
