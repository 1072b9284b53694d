/*
 * train.h - what cmd_train.c (the run), train_options.c (its options) and train_resume.c
 * (--resume) share.
 */
#ifndef DG_CLI_TRAIN_H
#define DG_CLI_TRAIN_H

#include "cli.h"

/* the names --optimizer and --schedule take, and what each stands for (NULL-terminated) */
extern const char *const cli_optimizer_names[];
extern const dg_optim_kind cli_optimizer_kinds[];
extern const char *const cli_schedule_names[];
extern const dg_schedule cli_schedule_kinds[];
extern const char *const cli_precision_names[];
extern const dg_precision cli_precision_kinds[];

/* Every option's "not given" value is 0, NULL or -1. */
typedef struct train_options {
    const char *preset, *spec, *data, *output, *history, *labels, *resume;
    long epochs, batch, seed, threads, limit, early_stop, checkpoint_every;
    double lr, val_split;
    int optimizer, schedule; /* index into cli_optimizer_names, cli_schedule_names; -1: none */
    int precision;           /* index into cli_precision_names; -1: none */
    bool no_test, quiet, keep_best;
    int augment; /* 1 --augment, 0 --no-augment, -1 neither */
    /* --rotate, --scale, --shift, --shear, --elastic ALPHA[,SIGMA]; -1: not given */
    double rotate, scale, shift, shear, elastic_alpha, elastic_sigma;
    double flagged_ones; /* share of the 1s flagged; -1 = the preset's (none) */
} train_options;

/* Parses `digits train`'s arguments into o (every option not given at its "not given"
 * value). Returns 0 to go on, -1 after printing the usage for --help, or the exit status of
 * a usage error (printed). */
int cli_train_options_parse(int argc, char **argv, train_options *o);

/* A fresh run's training settings: the preset's (the first preset without --preset), then
 * each option given. Prints its error; returns the exit status (0 on success). */
int cli_train_options_apply(const train_options *o, dg_train_config *cfg);

/* The augmentation the options make of a run's (a preset's, a checkpoint's): --augment
 * turns it on, a range option sets that range and turns it on, --no-augment turns it off. */
void cli_train_augment(const train_options *o, dg_augment *a);

/* Everything a run needs besides its options, owned by cmd_train. */
typedef struct train_run {
    dg_train_config cfg;
    dg_model_meta meta;
    dg_run_files files;
    dg_checkpoint *ck; /* with --resume */
    dg_net *net;
    const char *preset; /* "" for a custom spec */
    char ckpt_path[1100];
} train_run;

/* MODEL.model -> MODEL.SUFFIX, anything else -> NAME.SUFFIX */
void cli_path_beside(const char *model, const char *suffix, char *out, size_t size);

/* --resume: loads o->resume into r (settings, labels, files, net from the checkpoint, then
 * the options that may change); a usage error for any other option given with another
 * value than the checkpoint's. Prints its error; returns the exit status (0 on success). */
int cli_train_resume(const train_options *o, train_run *r);

#endif
