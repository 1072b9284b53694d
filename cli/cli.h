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
int cmd_serve(int argc, char **argv);
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
/*
 * The model a command acts on, named the same way everywhere: `--model/-m MODEL`, or, for
 * the commands that act on model files (info, verify, evaluate, report), the MODEL
 * argument too; model/digits.model when neither is given.
 *
 * cli_parse_model_args parses `digits CMD [--model MODEL] [--help] [MODEL...]` (info,
 * verify): fills models[0..*n_models) (at most max_models) and returns -1 to go on, else
 * the status to exit with. cli_one_model, for commands that parsed their own options, takes
 * --model's value (named, may be NULL) or the one argument left at argv[optind], not both;
 * NULL after printing a usage error.
 */
int cli_parse_model_args(const char *cmd, const char *usage, int max_models, int argc, char **argv,
                         const char **models, int *n_models);
const char *cli_one_model(const char *cmd, const char *named, int argc, char **argv);
/* A model's training history: MODEL with ".model" replaced by ".history.csv" (appended
 * when it has no such end), as `digits train` writes it. */
void cli_history_path(const char *model, char *out, size_t size);
/* Whether path names a picture digits can write: ends in .png or .svg (any case). When
 * not, prints "digits: CMD: -o: 'h.pdf' is not a .png or .svg name..." and returns false
 * (a usage error). */
bool cli_picture_path(const char *cmd, const char *option, const char *path);
/* The same for a picture written as PNG only (an image, not a chart): ends in .png. */
bool cli_png_path(const char *cmd, const char *option, const char *path);
/* "wrote WHAT" on stdout, or on stderr when stdout carries CSV. */
void cli_wrote(bool to_stderr, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Prints, indented, what preprocessing decided (--show): the polarity and levels,
 * whether the page's light was followed at the scale of strokes and a desk left out, and
 * how many ink components were kept and dropped, and why. */
void cli_show_preprocess(const dg_preprocess_info *info);
/* The 28x28 the network saw as terminal art, each class's probability beside it when
 * there was a digit to recognise (p may be NULL). */
void cli_show_digit(const uint8_t *d, const dg_prediction *p, const dg_model_meta *meta);
/* The folder of an option that writes a file per image (--save-preprocessed,
 * --show-steps): creates dir when missing and checks that it is a folder files can be
 * written in; else prints why (naming the option) and returns false. */
bool cli_output_dir(const char *cmd, const char *option, const char *dir);
/* DIR/NAME.SUFFIX into out[size], NAME being path's file name without its extension;
 * false when it does not fit. */
bool cli_name_in_dir(const char *dir, const char *path, const char *suffix, char *out, size_t size);
/* --show-steps: writes DIR/NAME.steps.png (NAME: path's file name without its extension),
 * the picture of what preprocessing decided about img (dg_plot_steps), and says so (on
 * stderr when stdout carries CSV). With all_kept (read), every component the filters
 * left counts as kept, not only the one digit dg_preprocess chooses. Returns false after
 * printing the error. */
bool cli_write_steps(const char *cmd, const char *dir, const char *path, const dg_image *img,
                     bool all_kept, bool csv);
/* Loads a model for a command; when the file is missing says how to train one. Prints
 * the error itself and returns NULL on failure. */
dg_net *cli_load_model(const char *cmd, const char *path, dg_model_meta *meta);

/* The options `predict` and `read` share; save_dir (--save-preprocessed) and explain
 * (--explain) are predict's. */
typedef struct cli_image_options {
    const char *model, *save_dir, *plot, *explain;
    const char *steps_dir; /* --show-steps DIR */
    bool csv, show;
    double min_confidence;
} cli_image_options;
/* Parses argv's options into o (defaults first) and checks that images follow (exactly
 * one with --plot or --explain); --save-preprocessed and --explain only when with_save_dir. Returns
 * -1 when the command should go on with argv[optind..], else the status to exit with (after --help
 * or a usage error, whose message it prints). */
int cli_parse_image_options(const char *cmd, const char *usage, bool with_save_dir, int argc,
                            char **argv, cli_image_options *o);

/*
 * Ctrl-C and SIGTERM during a long command (stop.c). cli_stop_block() blocks both signals
 * in the calling thread, so that threads started after it (the library's workers) never
 * take them; cli_stop_install() then installs the handlers and unblocks them again: the
 * main thread alone receives them. The first signal sets *cli_stop_flag() to its number;
 * a second one ends the process with 128 + its number, at once, or at cli_write_end()
 * when it comes between cli_write_begin() and cli_write_end() (around each file written).
 */
void cli_stop_block(void);
bool cli_stop_install(void);
volatile sig_atomic_t *cli_stop_flag(void);
void cli_write_begin(void);
void cli_write_end(void);
/* Removes PATH.tmp.XXXXXX (an atomic write cut short by a kill) and PATH.part (the
 * history of older versions) beside path. */
void cli_remove_stale(const char *path);

/* What `digits read` does to one image: segments it into digits (dg_segment_at with side;
 * *seg, free with dg_segmentation_free) and classifies each (pred[(*seg)->n]). On failure
 * *seg is NULL and dg_last_error() says why. */
dg_status cli_read_number(dg_net *net, const dg_model_meta *meta, float min_confidence,
                          const dg_image *img, int side, dg_segmentation **seg,
                          dg_prediction pred[DG_SEGMENT_MAX_DIGITS]);

/* The side at which `digits predict` (and the report) looks for a whole number: the
 * working side of dg_preprocess. */
#define CLI_NUMBER_CHECK_SIDE 512

/* Whether img, read as one digit (whole), rather holds a number of several separate digits,
 * as `digits predict` and the report tell: its digits (free with dg_segmentation_free) and
 * their answers in pred, or NULL for one digit (also when there is no ink, when only one
 * digit is found, when two pieces touch in their columns and one of them is no sure
 * digit: one digit broken in two, or when looking fails). */
dg_segmentation *cli_number_check(dg_net *net, const dg_model_meta *meta, float min_confidence,
                                  const dg_image *img, const dg_prediction *whole,
                                  dg_prediction pred[DG_SEGMENT_MAX_DIGITS]);

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
