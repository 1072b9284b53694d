/*
 * checkpoint.h - the training checkpoint as train.c fills it and checkpoint.c saves and
 * loads it (docs/model-format.md, "Training checkpoints"). Private to nn.
 */
#ifndef DG_NN_CHECKPOINT_H
#define DG_NN_CHECKPOINT_H

#include "digits.h"

struct dg_checkpoint {
    dg_net *net;         /* the weights at the checkpoint, and the spec */
    dg_model_meta meta;  /* as the model file stores it; meta.norm is cfg.norm */
    dg_train_config cfg; /* pointers NULL */
    dg_run_files files;
    int threads; /* the net's thread count when the checkpoint was made */
    dg_train_progress progress;
    /* the data: examples in ds, a CRC-32 of their labels then images, the training part */
    uint32_t n_examples, data_crc, n_train;
    dg_rng rng;      /* shuffling and dropout, after the last step done */
    uint32_t *order; /* [n_train] example order of the current epoch (its shuffle done
                      * when progress.step > 0, else the previous epoch's order) */
    /* the epoch so far: sum of per-example loss, correct, examples seen, seconds */
    double loss_sum, seconds;
    uint64_t correct, seen;
    /* optimiser */
    size_t n_params;
    long optim_step;
    float *m, *v;            /* [n_params] moments (SGD: velocity in m, v zero) */
    float *best;             /* [n_params] weights of progress.best_epoch, NULL when none */
    dg_history_row *history; /* [progress.epoch] */
};

/* An empty checkpoint for a net's parameter count and n_train examples, arrays allocated
 * (best too when want_best), history room for max_epochs rows. */
dg_status dg_checkpoint_alloc(const dg_net *net, uint32_t n_train, bool want_best, int max_epochs,
                              dg_checkpoint **out);

/* optim.c: the optimiser's moments [n] and step count, read or restored for checkpoints. */
void dg_optim_state(dg_optim *opt, float **m, float **v, long **step);

#endif
