/*
 * preset.c - the one table of presets: a name, the layers, the training settings
 * `digits train --preset` uses, and a line saying what the preset is. The first row is
 * the default of `digits train`. Every other training setting is dg_train_defaults()'s.
 */
#include "digits.h"

#include <string.h>

/* Epochs of the best preset: what fits in about 20 minutes on two cores. */
#define BEST_EPOCHS 17

typedef struct preset {
    const char *name, *spec, *description;
    int epochs, batch;
    float lr, beta1, beta2; /* Adam */
    dg_schedule schedule;
    double val_split;
    bool augment;           /* with the ranges of dg_augment_defaults (--augment) */
    dg_precision precision; /* of the products; bf16 falls back to fp32 without AVX512_BF16 */
} preset;

/* The rows: name, description, epochs, batch, Adam's lr, beta1 and beta2, schedule,
 * validation split, augmentation, precision, spec. seed-cnn, seed-cnn-dropout and mlp take
 * the tutorials' constant rate decayed by a cosine (about +0.3 points on MNIST); "fast" is a
 * time-to-accuracy recipe, its products in bf16 (as accurate as fp32 over seeds 1-5:
 * docs/performance.md, "bf16 training"); "best" the most accurate single model that trains
 * in about 20 minutes on two cores: a VGG-style net on randomly rotated, scaled, sheared and
 * shifted images, all 60,000 of them (no validation split). A list of macro rows, so that
 * dg_preset_names() can be a constant array of the same names. */
#define PRESETS(X)                                                                                 \
    X("seed-cnn", "the Keras tutorial's CNN: two conv + maxpool, dense 64", 5, 32, 1e-3f, 0.9f,    \
      0.999f, DG_SCHEDULE_COSINE, 0.1, false, DG_PRECISION_FP32,                                   \
      "conv 32 3 relu, maxpool 2, conv 64 3 relu, maxpool 2, flatten, dense 64 relu, dense 10")    \
    X("seed-cnn-dropout", "seed-cnn with dense 128 and dropout 0.5", 5, 32, 1e-3f, 0.9f, 0.999f,   \
      DG_SCHEDULE_COSINE, 0.1, false, DG_PRECISION_FP32,                                           \
      "conv 32 3 relu, maxpool 2, conv 64 3 relu, maxpool 2, flatten, dense 128 relu, "            \
      "dropout 0.5, dense 10")                                                                     \
    X("mlp", "a 784-128-128-10 perceptron, no convolution", 3, 32, 1e-3f, 0.9f, 0.999f,            \
      DG_SCHEDULE_COSINE, 0.1, false, DG_PRECISION_FP32,                                           \
      "flatten, dense 128 relu, dense 128 relu, dense 10")                                         \
    X("fast", "one epoch to about 99%: one-cycle Adam, batch 128", 1, 128, 1e-2f, 0.7f, 0.9f,      \
      DG_SCHEDULE_ONECYCLE, 0.0, false, DG_PRECISION_BF16,                                         \
      "conv 24 5 relu, maxpool 2, conv 48 3 relu, maxpool 2, flatten, dense 256 relu, dense 10")   \
    X("best", "four conv, batchnorm, dense 256, dropout, augmented images: 20 min", BEST_EPOCHS,   \
      64, 2e-3f, 0.9f, 0.999f, DG_SCHEDULE_ONECYCLE, 0.0, true, DG_PRECISION_FP32,                 \
      "conv 32 3, batchnorm relu, conv 32 3, batchnorm relu, maxpool 2, conv 64 3, batchnorm "     \
      "relu, conv 64 3, batchnorm relu, maxpool 2, flatten, dense 256, batchnorm relu, "           \
      "dropout 0.5, dense 10")

#define ROW(name, description, epochs, batch, lr, beta1, beta2, schedule, val_split, augment,      \
            precision, spec)                                                                       \
    {name,  spec,  description, epochs,    batch,   lr,                                            \
     beta1, beta2, schedule,    val_split, augment, precision},
static const preset presets[] = {PRESETS(ROW)};

#define NAME(name, ...) name,
static const char *const preset_names[] = {PRESETS(NAME) NULL};

#define N_PRESETS (sizeof presets / sizeof presets[0])

static const preset *find(const char *name)
{
    for (size_t i = 0; i < N_PRESETS; i++) {
        if (!strcmp(name, presets[i].name)) {
            return &presets[i];
        }
    }
    return NULL;
}

const char *const *dg_preset_names(void)
{
    return preset_names;
}

const char *dg_preset_spec(const char *name)
{
    const preset *p = find(name);
    return p ? p->spec : NULL;
}

const char *dg_preset_description(const char *name)
{
    const preset *p = find(name);
    return p ? p->description : NULL;
}

dg_status dg_preset_train_config(const char *name, dg_train_config *cfg)
{
    const preset *p = find(name);
    if (!p) {
        return dg_fail(DG_ERR_ARG, "unknown preset '%s'", name);
    }
    *cfg = dg_train_defaults();
    cfg->epochs = p->epochs;
    cfg->batch = p->batch;
    cfg->optim.lr = p->lr;
    cfg->optim.beta1 = p->beta1;
    cfg->optim.beta2 = p->beta2;
    cfg->schedule = p->schedule;
    cfg->val_split = p->val_split;
    cfg->augment = dg_augment_defaults();
    cfg->augment.on = p->augment;
    cfg->precision = p->precision;
    return DG_OK;
}
