/*
 * digits.h - the whole public API of libdigits: handwritten digit recognition in C.
 *
 * Tensors are float32, batched, NCHW: N batch, C channels, H height, W width.
 * A network is a sequence of layers built from a short text spec; all parameters live in
 * one flat arena (mirrored by gradients and optimiser moments), activations and scratch
 * space are sized once by dg_net_prepare(), and forward/backward never allocate.
 *
 * Errors: every function that can fail returns a dg_status (DG_OK on success) and keeps a
 * one-line message for dg_last_error(). The library never prints and never exits.
 * Ownership: dg_x_new()/dg_x_load() fill an out-pointer that the caller frees with
 * dg_x_free(); on failure the out-pointer is NULL and nothing leaks; dg_x_free(NULL) is a
 * no-op. Pointers returned by accessors are borrowed: valid until the owner is freed.
 *
 * Threads: functions that take different objects may run at once on different threads
 * (there is no global mutable state; dg_last_error() is per thread). One net may be
 * shared by many threads that only predict: dg_net_predict, dg_predict_mnist and
 * dg_predict_image (and so reading a written number: dg_segment, dg_segment_to_mnist,
 * then dg_predict_mnist per digit) lock the net for their pass and copy the answer out.
 * Everything else that changes a net is for one thread at a time and not while others
 * predict with it: dg_net_forward (its probabilities are borrowed from the net),
 * dg_net_backward, training, dg_net_prepare, dg_net_set_threads, loading parameters.
 *
 * Sections follow the library's layers from the bottom up (base, data, nn, vision,
 * pictures, as the folders of src/): each uses only what comes before it. Synthetic
 * handwriting, for tests and benchmarks, has its own header (synth/synth.h).
 */
#ifndef DIGITS_H
#define DIGITS_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DG_VERSION_STRING "0.1.0"

/* =============================================================================================
 * base: errors and random numbers (src/base/)
 * ============================================================================================= */

/* ---------------------------------------------------------------- status */

typedef enum dg_status {
    DG_OK = 0,
    DG_ERR_ARG,         /* a bad argument: unknown preset, malformed spec, bad value */
    DG_ERR_IO,          /* a file could not be opened, read or written */
    DG_ERR_NOMEM,       /* an allocation failed */
    DG_ERR_FORMAT,      /* a file is not what it claims to be: magic, type, layout */
    DG_ERR_TRUNCATED,   /* a file ends before its header says it should */
    DG_ERR_TOO_LARGE,   /* dimensions beyond the limits, refused before allocating */
    DG_ERR_CHECKSUM,    /* stored and computed checksums differ */
    DG_ERR_VERSION,     /* a format version this build does not read */
    DG_ERR_MISMATCH,    /* two inputs disagree: image/label counts, model/data shapes */
    DG_ERR_UNSUPPORTED, /* a valid input this build cannot handle */
    DG_ERR_NOT_FOUND,   /* a file or directory does not exist */
    DG_ERR_STOPPED,     /* training was asked to stop (dg_train_config.stop) and did */
    DG_ERR_DIVERGED,    /* training met a NaN or infinite loss, gradient or weight */
    DG_STATUS_COUNT
} dg_status;

/* Message of the last failure in this thread ("" if none). Borrowed, thread-local. */
const char *dg_last_error(void);
/* Short fixed name of a status, e.g. "format" for DG_ERR_FORMAT. */
const char *dg_status_name(dg_status status);
/* Sets the thread's last error message (printf-style) and returns status. For library
 * modules and for programs that embed libdigits and want one error channel. An argument
 * may be dg_last_error() itself, to put context around the last message. */
dg_status dg_fail(dg_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* ---------------------------------------------------------------- numbers for people */

/* One way to write each quantity wherever people read it. A count with a comma every
 * three digits: 121930 -> "121,930". Returns buf. */
const char *dg_format_count(uint64_t v, char buf[32]);
/* A share in 0..1 (a probability, a confidence, an accuracy) as a percentage with one
 * decimal: 0.99274 -> "99.3%"; clamped to 0..1, "-" when not finite. Returns buf. */
const char *dg_format_percent(double share, char buf[16]);
/* An accuracy in 0..1 as a percentage with two decimals, enough to tell runs apart:
 * 0.99134 -> "99.13%"; "-" when not finite. Returns buf. */
const char *dg_format_accuracy(double accuracy, char buf[16]);

/* ---------------------------------------------------------------- random numbers */

/* xoshiro256** generator. A small value: copy it to fork a stream. */
typedef struct dg_rng {
    uint64_t s[4];
} dg_rng;

void dg_rng_seed(dg_rng *rng, uint64_t seed);
uint64_t dg_rng_next(dg_rng *rng);
/* Uniform in [0, 1). */
float dg_rng_uniform(dg_rng *rng);
/* Uniform integer in [0, n), n > 0, without modulo bias. */
uint32_t dg_rng_below(dg_rng *rng, uint32_t n);
/* Standard normal (Box-Muller). */
float dg_rng_normal(dg_rng *rng);
/* Fisher-Yates shuffle of idx[0..n). */
void dg_rng_shuffle(dg_rng *rng, uint32_t *idx, size_t n);

/* =============================================================================================
 * data: data sets, normalisation, training history (src/data/)
 * ============================================================================================= */

/* ---------------------------------------------------------------- datasets (IDX) */

/* Images and labels held as bytes, exactly as in the IDX files. */
typedef struct dg_dataset {
    uint32_t n;      /* number of examples */
    uint32_t h, w;   /* image size, 28x28 for MNIST */
    uint8_t *images; /* [n][h][w], 0 = background, 255 = ink */
    uint8_t *labels; /* [n], 0..9 */
} dg_dataset;

/* Limits applied to counts read from a file before allocating. */
#define DG_IDX_MAX_ITEMS 10000000u
#define DG_IDX_MAX_SIDE  1024u

/*
 * Loads an images file (magic 0x00000803) and a labels file (magic 0x00000801), raw or
 * gzip'd (detected by content, not by name). Checks magic, type byte, dimensions, that
 * the file size matches the header, and that the counts agree. On failure *out is NULL
 * and dg_last_error() names the file and the problem.
 */
dg_status dg_idx_load(const char *images_path, const char *labels_path, dg_dataset **out);

/* Which part of a data directory: "train" (train-*) or "test" (t10k-*). */
typedef enum dg_split { DG_SPLIT_TRAIN, DG_SPLIT_TEST } dg_split;

/* Loads DIR/train-images-idx3-ubyte + DIR/train-labels-idx1-ubyte (or t10k-*),
 * trying each name as is and with ".gz". */
dg_status dg_dataset_load(const char *dir, dg_split split, dg_dataset **out);
void dg_dataset_free(dg_dataset *ds);

/* ---------------------------------------------------------------- normalisation */

/* Normalisation applied to raw 0..255 pixels: x = (p * scale - mean) / std. */
typedef struct dg_norm {
    float scale, mean, std;
} dg_norm;
/* The Keras tutorial's x / 255. */
dg_norm dg_norm_default(void);
/* Converts n images of h*w bytes to floats [n][1][h][w]. */
void dg_normalise(const dg_norm *norm, const uint8_t *pixels, size_t n_pixels, float *out);

/* ---------------------------------------------------------------- augmentation */

/* Training-time augmentation (src/data/augment.c): every training image, every time it
 * is used, goes through a random affine map, then an elastic distortion when
 * elastic_alpha > 0 (Simard et al. 2003). Each range is drawn uniformly. */
typedef struct dg_augment {
    bool on;             /* default false */
    float rotate;        /* degrees, angle in [-rotate, rotate]; --augment: 10 */
    float scale;         /* relative, factor in [1 - scale, 1 + scale]; --augment: 0.1 */
    float shift;         /* pixels, each axis in [-shift, shift]; --augment: 2 */
    float shear;         /* degrees, in [-shear, shear]; --augment: 10 */
    float elastic_alpha; /* pixels: the smoothed field's scale; 0 (default) = none */
    float elastic_sigma; /* pixels: the smoothing Gaussian's deviation, 0.5..8, default 4 */
} dg_augment;

#define DG_AUGMENT_MAX_SIGMA 8.0f

/* Off, with the ranges `--augment` uses when on (above). */
dg_augment dg_augment_defaults(void);
/* DG_OK when every range is within the limits above, else DG_ERR_ARG with a message. */
dg_status dg_augment_check(const dg_augment *a);
/* Floats of work memory dg_augment_image needs for an h x w image. */
size_t dg_augment_work_floats(uint32_t h, uint32_t w);
/* One augmented image: in[h][w] raw bytes through a random map drawn from seed alone
 * (whatever a->on says), then normalised as dg_normalise does, into out[h][w]; work holds
 * dg_augment_work_floats(h, w) floats. The same seed and image give the same bits. */
void dg_augment_image(const dg_augment *a, const dg_norm *norm, uint64_t seed, const uint8_t *in,
                      uint32_t h, uint32_t w, float *work, float *out);

/* ---------------------------------------------------------------- forms of writing */

/* A 1 as much of Europe writes it (src/data/forms.c): in[h][w], raw bytes of a 1 written
 * as MNIST's are (ink high, centred by its centre of mass), with an up-stroke from its top
 * down to the left (a flag) of its own stroke's width and brightness, in a third of the
 * draws also a foot, then moved by whole pixels so that the ink's centre of mass stays
 * where it was; into out[h][w], work holds h*w bytes. Lengths and angles are drawn from
 * seed alone. An image with too little ink for a stroke is copied as it is. */
void dg_form_flagged_one(uint64_t seed, const uint8_t *in, uint32_t h, uint32_t w, uint8_t *work,
                         uint8_t *out);

/* ---------------------------------------------------------------- training history (CSV) */

/* One epoch of a training history. */
typedef struct dg_history_row {
    int epoch;
    double loss, accuracy;
    double val_loss, val_accuracy; /* negative when there was no validation split */
    double seconds;
} dg_history_row;

/*
 * Reads the training history CSV written by `digits train`: the header
 * "epoch,loss,accuracy,val_loss,val_accuracy,seconds", then one row per epoch (val
 * columns empty or -1 without validation). On success *rows holds *n >= 1 rows; the
 * caller frees it with free(). On failure *rows is NULL, *n 0: DG_ERR_NOT_FOUND, DG_ERR_IO,
 * or DG_ERR_FORMAT with the line number of the bad header, field or row.
 */
dg_status dg_history_load(const char *path, dg_history_row **rows, int *n);

/* Writers of the same format, for `digits train`: the header line, then one row per epoch
 * (validation columns left empty when negative), each flushed. DG_ERR_IO when f fails. */
dg_status dg_history_write_header(FILE *f);
dg_status dg_history_write_row(FILE *f, const dg_history_row *row);
/* The header and rows[n] (n >= 0) written to path atomically, as model files are: on
 * failure path is left as it was and no temporary file remains. DG_ERR_IO, _NOT_FOUND
 * (no such folder), _NOMEM. */
dg_status dg_history_save(const char *path, const dg_history_row *rows, int n);

/* =============================================================================================
 * nn: networks, training, evaluation, model files (src/nn/)
 * ============================================================================================= */

/* ---------------------------------------------------------------- networks */

/* Shape of one example (batch dimension excluded). */
typedef struct dg_shape {
    int c, h, w;
} dg_shape;

typedef struct dg_net dg_net;

/*
 * Builds a network from a spec: layers separated by commas, for example
 *   "conv 32 3 relu, maxpool 2, conv 64 3 relu, maxpool 2, flatten, dense 64 relu, dense 10"
 * Layer forms include "conv OUT K [pad P] [relu]", "maxpool K", "flatten", "dense OUT [relu]",
 * "dropout P", "relu", "tanh" and "sigmoid"; the message for an unknown one lists every
 * kind. The last layer's outputs are the class logits; softmax and cross-entropy are
 * applied by the net.
 * Parameters are uninitialised: call dg_net_init_params() or load them. DG_ERR_ARG with a
 * message on a malformed spec.
 */
dg_status dg_net_new(const char *spec, dg_shape input, dg_net **out);
void dg_net_free(dg_net *net);
/* Checks a spec and counts its parameters without allocating them (for loaders that
 * must compare with a stored count first). Same errors as dg_net_new. */
dg_status dg_spec_param_count(const char *spec, dg_shape input, size_t *n_params);

/* Presets: named specs with their training settings (dg_preset_train_config). */
/* The spec of a named preset ("seed-cnn", "seed-cnn-dropout", "mlp", "fast", "best"), or
 * NULL. */
const char *dg_preset_spec(const char *name);
/* Names of all presets, NULL-terminated, borrowed; the first is `digits train`'s default. */
const char *const *dg_preset_names(void);
/* What a preset is, in one line without a final period ("a 784-128-128-10 perceptron, no
 * convolution"), borrowed; NULL for an unknown name. */
const char *dg_preset_description(const char *name);

/* Canonical spec of the net (borrowed). Feeding it to dg_net_new gives the same net. */
const char *dg_net_spec(const dg_net *net);
dg_shape dg_net_input_shape(const dg_net *net);
int dg_net_classes(const dg_net *net);

/* The flat parameter arena and its gradient mirror (borrowed, n floats each). */
size_t dg_net_param_count(const dg_net *net);
float *dg_net_params(dg_net *net);
const float *dg_net_params_const(const dg_net *net);
float *dg_net_grads(dg_net *net);

/* One row of a model summary. */
typedef struct dg_layer_info {
    const char *kind; /* "conv", "maxpool", ... (borrowed) */
    char desc[64];    /* "conv 32 3x3 relu" */
    dg_shape out;     /* output shape of one example */
    size_t n_params;
    size_t n_state; /* of n_params, the running statistics (batchnorm) that training
                       updates but does not fit: Keras's non-trainable parameters */
} dg_layer_info;
int dg_net_layer_count(const dg_net *net);
void dg_net_layer_info(const dg_net *net, int i, dg_layer_info *info);
/* Layer i's output shape as Keras prints it, the one way digits writes shapes:
 * "(None, 26, 26, 32)" (height, width, channels), "(None, 128)" once a flatten or dense
 * layer is passed; i = -1 is the input. */
void dg_net_shape_text(const dg_net *net, int i, char *buf, size_t size);
/* Layer i's weights (borrowed; PyTorch's layouts: conv [O][C][K][K], dense [O][I]) and
 * their count in *n; NULL and 0 for a layer without weights or a bad i. */
const float *dg_net_layer_weights(const dg_net *net, int i, size_t *n);
/* After a forward over exactly one example: layer i's output for it, [out.c][out.h][out.w]
 * (borrowed, valid until the next forward); NULL otherwise or for a bad i. */
const float *dg_net_layer_output(const dg_net *net, int i);

/* Glorot-uniform weights, zero biases. */
void dg_net_init_params(dg_net *net, dg_rng *rng);

/* Worker threads used by forward and backward (1 = none). n <= 0 means all cores.
 * Work is split so that the results are the same bits on any number of threads. */
dg_status dg_net_set_threads(dg_net *net, int n);
int dg_net_threads(const dg_net *net);

/* The matrix-multiply backend in use: "openblas" or "builtin" (loads it on first call). */
const char *dg_blas_backend(void);

/* Number formats of the matrix products of training. */
typedef enum dg_precision {
    DG_PRECISION_FP32 = 0, /* fp32 throughout */
    /* The products of training (convolution forward, input and weight gradients; dense
     * forward and backward) round their inputs to bf16 (to nearest, ties to even) and sum
     * in fp32, by AVX512_BF16; weights, optimiser and the element-wise work stay fp32. */
    DG_PRECISION_BF16 = 1,
} dg_precision;

/* "fp32" or "bf16". */
const char *dg_precision_name(dg_precision p);
/* Reads "fp32" or "bf16" into *out; DG_ERR_ARG otherwise, *out unchanged. */
dg_status dg_precision_parse(const char *text, dg_precision *out);
/* Whether this build and this CPU have the bf16 kernels (AVX512_BF16). False when the
 * environment variable DIGITS_NO_BF16 is set to anything but "" or "0". */
bool dg_bf16_available(void);
/* The precision of the net's training passes (a forward with is_training, and backward);
 * inference always runs in fp32. DG_PRECISION_BF16 without dg_bf16_available() gives
 * fp32. Returns the precision now in effect. */
dg_precision dg_net_set_precision(dg_net *net, dg_precision p);
dg_precision dg_net_precision(const dg_net *net);

/* Use the plain reference loops instead of the fast kernels (for checks). */
void dg_net_set_reference(dg_net *net, bool reference);

/* Sizes activations and the shared workspace for batches of up to max_batch examples.
 * Called automatically by forward with a larger batch; call it once up front so that
 * forward and backward never allocate. */
dg_status dg_net_prepare(dg_net *net, int max_batch);

/*
 * Forward pass over n examples x[n][c][h][w] (already normalised). On DG_OK, *probs
 * points at the softmax probabilities [n][classes] (borrowed, valid until the next
 * forward); probs may be NULL when the caller needs no probabilities (a training step,
 * or dg_net_logits() after). is_training enables dropout, drawing from rng (rng may be
 * NULL when is_training is false). Fails, *probs NULL, with DG_ERR_ARG when n < 1 and
 * DG_ERR_NOMEM when n exceeds the prepared batch and growing it fails.
 */
dg_status dg_net_forward(dg_net *net, const float *x, int n, bool is_training, dg_rng *rng,
                         const float **probs);
/*
 * Inference that may run on several threads at once with one shared net: the forward pass
 * of n examples x[n][c][h][w] (normalised) under the net's lock, the probabilities copied
 * into the caller's probs[n][classes] before it is released. Same failures as
 * dg_net_forward; probs is unchanged then.
 */
dg_status dg_net_predict(dg_net *net, const float *x, int n, float *probs);
/* Logits [n][classes] of the last forward (borrowed). */
const float *dg_net_logits(const dg_net *net);

/*
 * After a training forward (is_training true) over the same n examples: zeroes the
 * gradients, computes the mean cross-entropy against labels[n] and back-propagates it
 * into dg_net_grads().
 * Returns the mean loss. Labels must be < dg_net_classes().
 */
float dg_net_backward(dg_net *net, const uint8_t *labels, int n);

/* Gradient of the mean loss with respect to the input of the last backward, [n][c][h][w]
 * (borrowed). Computed only when dg_net_set_input_grad(net, true) (gradient checks). */
dg_status dg_net_set_input_grad(dg_net *net, bool on);
const float *dg_net_input_grad(const dg_net *net);

/* Gradient of class cls's logit (its score before softmax) with respect to one input
 * x[c][h][w], at inference (no dropout), into grad[c][h][w]: which inputs raise or lower
 * that score. Turns the input gradient on (dg_net_set_input_grad); overwrites the
 * parameter gradients and the last forward's outputs. DG_ERR_ARG for a bad class. */
dg_status dg_net_class_gradient(dg_net *net, const float *x, int cls, float *grad);

/* ---------------------------------------------------------------- optimisers */

typedef enum dg_optim_kind { DG_OPTIM_ADAM, DG_OPTIM_SGD } dg_optim_kind;

typedef struct dg_optim_config {
    dg_optim_kind kind;
    float lr;       /* default 1e-3 (Adam), 1e-2 (SGD) */
    float beta1;    /* Adam, default 0.9 */
    float beta2;    /* Adam, default 0.999 */
    float eps;      /* Adam, default 1e-7 (Keras) */
    float momentum; /* SGD, default 0.9 */
} dg_optim_config;

/* Keras defaults for a kind. */
dg_optim_config dg_optim_defaults(dg_optim_kind kind);

typedef struct dg_optim dg_optim;
dg_status dg_optim_new(const dg_optim_config *cfg, size_t n_params, dg_optim **out);
void dg_optim_free(dg_optim *opt);
/* One update of params from grads with learning rate lr (overrides cfg->lr for
 * schedules). */
void dg_optim_step(dg_optim *opt, float *params, const float *grads, float lr);

/* ---------------------------------------------------------------- training */

typedef enum dg_schedule {
    DG_SCHEDULE_CONSTANT, /* lr throughout */
    DG_SCHEDULE_ONECYCLE, /* linear warm-up from lr/10 over 25% of steps, cosine to lr/1000 */
    DG_SCHEDULE_COSINE    /* cosine from lr down to lr/100 over the whole run */
} dg_schedule;

typedef struct dg_epoch_stats {
    int epoch; /* 1-based */
    double loss, accuracy;
    double val_loss, val_accuracy; /* negative when there is no validation split */
    double seconds;
    double images_per_second;
} dg_epoch_stats;

/* A training checkpoint: everything needed to continue a run exactly where it stopped
 * (weights, optimiser moments, schedule position, epoch and step, shuffling and dropout
 * random state, settings, history). Its own file kind, never read as a model. */
typedef struct dg_checkpoint dg_checkpoint;

/* How far a run has come, as a checkpoint records it. */
typedef struct dg_train_progress {
    int epoch;       /* epochs completed */
    int step;        /* steps done of epoch `epoch + 1`; 0 at an epoch boundary */
    int steps;       /* steps per epoch */
    long total_step; /* optimiser steps since the run began: epoch * steps + step */
    int best_epoch;  /* epoch of the kept weights (early_stop, keep_best), 0 = none yet */
    double best_val_loss, best_val_accuracy; /* the best seen so far, -1 = none yet */
    int bad_epochs;                          /* epochs since the validation loss last improved */
    bool early_stopped;                      /* early stopping ended the run */
} dg_train_progress;

/* Progress reports; return false to stop training early. */
typedef struct dg_train_callbacks {
    void *user;
    /* After each step: step 1..steps of this epoch, running mean loss and accuracy. */
    void (*on_step)(void *user, int epoch, int step, int steps, double loss, double accuracy,
                    double seconds_elapsed);
    bool (*on_epoch)(void *user, const dg_epoch_stats *stats);
    /* A checkpoint of the run, after every epoch, every checkpoint_every steps and when
     * stopped; borrowed for the call (save it with dg_checkpoint_save). A status other than
     * DG_OK ends training with that status. NULL: no checkpoints are made. */
    dg_status (*on_checkpoint)(void *user, const dg_checkpoint *ck);
} dg_train_callbacks;

typedef struct dg_model_meta dg_model_meta; /* model files, below */

/* Where a run reads and writes, kept in its checkpoints so that a resumed run needs no
 * other setting. Paths as given, relative to where the run started. */
typedef struct dg_run_files {
    char data[1024];    /* data folder */
    char model[1024];   /* model file */
    char history[1024]; /* history CSV */
    uint32_t limit;     /* training examples used from the start of the split, 0 = all */
} dg_run_files;

typedef struct dg_train_config {
    int epochs;            /* default 5 */
    int batch;             /* default 32 */
    dg_optim_config optim; /* default Adam, Keras settings */
    dg_schedule schedule;  /* default constant */
    double val_split;      /* fraction held out for validation, default 0.1; 0 = none */
    uint64_t seed;         /* initialisation, shuffling, dropout */
    bool shuffle;          /* shuffle every epoch, default true */
    bool init_params;      /* initialise the net's parameters first, default true */
    dg_norm norm;
    int checkpoint_every; /* a checkpoint every this many steps too; 0 (default): epoch ends */
    /* Early stopping (Keras EarlyStopping, restore_best_weights=True): stop when the
     * validation loss has not improved for this many epochs and end with the weights of
     * the best epoch. 0 (default) = off. Needs a validation split. */
    int early_stop;
    /* End with the weights of the epoch with the best validation accuracy (with
     * early_stop, that epoch instead of the one with the best loss). Needs validation. */
    bool keep_best;
    /* Random affine and elastic distortion of the training images (validation and test
     * images are never augmented); default off. The per-step seed is drawn from the run's
     * generator only when on, so runs without augmentation are unchanged. */
    dg_augment augment;
    /* The share of the training 1s (class 1) drawn with a flag each time they are used
     * (dg_form_flagged_one), 0..1; default 0. For digit datasets only: MNIST's writers
     * rarely flagged their 1s, and a network that has not seen one reads it as a 7. */
    float flagged_ones;
    /* The products' precision, default fp32. bf16 where the CPU lacks AVX512_BF16 trains
     * in fp32 (dg_net_set_precision); the model is fp32 either way. */
    dg_precision precision;
    /* The rest is not stored in checkpoints. */
    /* When nonzero (e.g. set by a signal handler), training stops after the current step:
     * a checkpoint is made and dg_train returns DG_ERR_STOPPED. NULL = never. */
    volatile sig_atomic_t *stop;
    /* Continue this checkpoint's run instead of starting one (see dg_train). */
    const dg_checkpoint *resume;
    /* Stored in checkpoints as they are: the model's labels, preset and dataset names
     * (NULL: dg_model_meta_default with the net's classes), and the run's files (NULL: empty). */
    const dg_model_meta *meta;
    const dg_run_files *files;
} dg_train_config;

/* The Keras tutorial's settings: 5 epochs, batch 32, Adam at a constant 1e-3, 10% held
 * out for validation, seed 1, x / 255. */
dg_train_config dg_train_defaults(void);

/* The recommended training settings of a preset over cfg (what `digits train --preset`
 * uses); DG_ERR_ARG for an unknown name. seed-cnn, seed-cnn-dropout and mlp: the tutorial
 * settings with a cosine decay of the learning rate (mlp: 3 epochs). "fast" is the
 * time-to-accuracy recipe: 1 epoch, batch 128, one-cycle Adam at 1e-2 with betas
 * (0.7, 0.9), no validation split. "best" is the most accurate: batch 64, one-cycle Adam,
 * augmentation on (random affine maps), no validation split. Only best augments. */
dg_status dg_preset_train_config(const char *name, dg_train_config *cfg);

/*
 * Trains net on ds (the last val_split of the examples, before shuffling, are held out
 * for validation, as Keras's validation_split does). The net's thread setting is used.
 * Callbacks may be NULL. Returns DG_ERR_MISMATCH when the data does not fit the net.
 *
 * A NaN or infinite loss or gradient stops training at the step where it appears, before
 * the update, with DG_ERR_DIVERGED and a message naming the epoch and step; no
 * checkpoint is made of that state, so the last one saved stays the last good one.
 * When *cfg->stop becomes nonzero, the current step finishes, a checkpoint is made and
 * DG_ERR_STOPPED is returned. The library never installs signal handlers.
 *
 * With cfg->resume, net must have the checkpoint's spec (dg_checkpoint_net makes one); it
 * receives the checkpoint's weights and the run continues from its epoch and step with
 * its optimiser moments, schedule position and random state: on any thread count the
 * weights end bit-identical to those of the run never interrupted. The settings must
 * be the checkpoint's (dg_checkpoint_config) except epochs (at least the epochs done; more
 * extends the run, and a decaying schedule is then stretched over the new length),
 * checkpoint_every, stop, meta and files; ds must hold the same examples (DG_ERR_MISMATCH).
 */
dg_status dg_train(dg_net *net, const dg_dataset *ds, const dg_train_config *cfg,
                   const dg_train_callbacks *cb);

/* ---------------------------------------------------------------- checkpoints */

/* The checkpoint format this build writes and reads (docs/model-format.md). */
#define DG_CHECKPOINT_FORMAT_VERSION 3u
/* Checkpoint files larger than this are refused before reading (and never written). */
#define DG_CHECKPOINT_MAX_BYTES (4ull << 30)

/* Writes ck to path atomically, as dg_model_save does (an existing file is replaced only
 * by a complete new one; no temporary file remains). DG_ERR_IO, _NOT_FOUND, _NOMEM. */
dg_status dg_checkpoint_save(const char *path, const dg_checkpoint *ck);
/* Reads a checkpoint, checking the checksum and every count before allocating; the
 * caller frees *out with dg_checkpoint_free (NULL on failure). A model file, or anything
 * else, is DG_ERR_FORMAT; then the statuses of dg_model_load. */
dg_status dg_checkpoint_load(const char *path, dg_checkpoint **out);
void dg_checkpoint_free(dg_checkpoint *ck);
/* A new net with the checkpoint's spec and weights (as of the checkpoint, not the best
 * kept ones); the caller frees it. DG_ERR_NOMEM. */
dg_status dg_checkpoint_net(const dg_checkpoint *ck, dg_net **out);
/* What it holds, borrowed from ck. The config's pointers (stop, resume, meta, files) are
 * NULL and init_params is false. */
const dg_train_config *dg_checkpoint_config(const dg_checkpoint *ck);
const dg_model_meta *dg_checkpoint_meta(const dg_checkpoint *ck);
const dg_run_files *dg_checkpoint_files(const dg_checkpoint *ck);
dg_train_progress dg_checkpoint_progress(const dg_checkpoint *ck);
/* The thread count of the net that made it, which a resumed run uses by default (any
 * count gives the bits of the run never stopped). */
int dg_checkpoint_threads(const dg_checkpoint *ck);
/* The history of the completed epochs, *n rows (epochs 1..n), borrowed. */
const dg_history_row *dg_checkpoint_history(const dg_checkpoint *ck, int *n);

/* ---------------------------------------------------------------- evaluation */

#define DG_MAX_CLASSES 64

typedef struct dg_eval {
    uint32_t n;
    double loss, accuracy;
    /* confusion[true][predicted], counts; only the first classes x classes are used */
    uint32_t confusion[DG_MAX_CLASSES][DG_MAX_CLASSES];
    int classes;
} dg_eval;

/* The index of the largest of values[0..n), the first one on a tie; 0 when n < 1.
 * Values are compared with >, which is false for NaN: a NaN is never picked, except that
 * a NaN at values[0] is never beaten, so the answer is then 0. */
int dg_argmax(const float *values, int n);

/* Evaluates net on examples [first, first+count) of ds (the predicted class of each is
 * dg_argmax of its probabilities). Optionally writes the predicted class and its
 * probability per example (arrays of count, may be NULL). */
dg_status dg_evaluate(dg_net *net, const dg_dataset *ds, const dg_norm *norm, uint32_t first,
                      uint32_t count, dg_eval *out, uint8_t *predicted, float *confidence);

/* ---------------------------------------------------------------- model files */

/* The model file format this build writes, and the newest it reads. */
#define DG_MODEL_FORMAT_VERSION 1u
/* Model files larger than this are refused before reading (and never written). */
#define DG_MODEL_MAX_BYTES (1ull << 30)

/* A model file as a file, for `digits info` and `digits verify`. */
typedef struct dg_model_file {
    uint32_t version;  /* format version */
    uint64_t n_bytes;  /* file size */
    uint32_t checksum; /* the CRC-32 stored in the file, which matched its bytes */
} dg_model_file;

/*
 * Checks a model file's header, size and checksum without building the network, and fills
 * *out (may be NULL). Failures give the same statuses and messages as dg_model_load, and
 * zero *out. A DG_OK here does not mean the sections are valid: dg_model_load checks them.
 */
dg_status dg_model_stat(const char *path, dg_model_file *out);

/* What a model file carries besides the architecture and the tensors. */
typedef struct dg_model_meta {
    dg_norm norm;                    /* input normalisation */
    int classes;                     /* number of class labels */
    char labels[DG_MAX_CLASSES][32]; /* class names, "0".."9" for MNIST */
    char preset[32];                 /* preset name or "" */
    char dataset[64];                /* e.g. "mnist" */
    uint64_t seed;
    int epochs, batch;
    float lr;
    uint32_t n_train;       /* examples trained on */
    double val_accuracy;    /* -1 if unknown */
    double test_accuracy;   /* -1 if unknown */
    int64_t created;        /* Unix time */
    uint32_t preprocess;    /* preprocessing version users' images need */
    dg_precision precision; /* of the training products (the weights are fp32 either way) */
} dg_model_meta;

/* Metadata for an MNIST digit model: x/255, labels "0".."9", dataset "mnist",
 * preprocessing version DG_PREPROCESS_VERSION, accuracies unknown (-1), created 0 (set when
 * saved). */
void dg_model_meta_default(dg_model_meta *meta);

/*
 * Writes net and meta to path atomically: a temporary file beside it is written,
 * flushed, fsync'd and renamed over path, so an existing model is never lost; a missing
 * parent directory is created (one level). meta NULL means dg_model_meta_default() with
 * labels "0".."N-1"; meta->created 0 is replaced by the current time and negative
 * accuracies are stored as -1 (unknown). DG_ERR_ARG when meta
 * breaks the format's limits, its class count differs from the net's, or a parameter is
 * NaN/infinite. Format: docs/model-format.md.
 */
dg_status dg_model_save(const char *path, const dg_net *net, const dg_model_meta *meta);
/* Reads a model file, checking every size against the file length before allocating and
 * the checksum over everything, and rebuilds the net (caller frees with dg_net_free).
 * meta may be NULL. On failure *net is NULL, *meta is unchanged and the status says why:
 * DG_ERR_NOT_FOUND, _IO, _TOO_LARGE, _FORMAT, _TRUNCATED, _CHECKSUM, _VERSION,
 * _UNSUPPORTED, _MISMATCH (spec and stored tensors disagree), _NOMEM. */
dg_status dg_model_load(const char *path, dg_net **net, dg_model_meta *meta);

/* =============================================================================================
 * onnx: ONNX export and import (src/onnx/)
 * ============================================================================================= */

/* ONNX files larger than this are refused before reading. */
#define DG_ONNX_MAX_BYTES (1ull << 30)

/*
 * Writes net as a standard ONNX model (opset 13) to path, atomically like dg_model_save:
 * input "input" float [N][C][H][W] with a dynamic batch N, taking the normalised pixels
 * (p * scale - mean) / std; outputs "logits" [N][classes] and "probabilities" (their
 * softmax). Dropout is left out. meta (NULL: dg_model_save's defaults) goes into
 * metadata_props: the normalisation, the class labels and the training record, under
 * "digits.*" keys. Layout and keys: docs/onnx.md. DG_ERR_ARG as dg_model_save,
 * DG_ERR_UNSUPPORTED for a layer kind with no ONNX form, DG_ERR_IO, DG_ERR_NOMEM.
 */
dg_status dg_onnx_export(const char *path, const dg_net *net, const dg_model_meta *meta);
/* The same file's bytes in a new buffer (*out, freed by the caller with free(); *n bytes).
 * On failure *out is NULL. */
dg_status dg_onnx_export_memory(const dg_net *net, const dg_model_meta *meta, uint8_t **out,
                                size_t *n);

/*
 * Reads an ONNX model whose graph is one chain of operators digits has (Conv, Relu, Tanh,
 * Sigmoid, MaxPool, AveragePool, Flatten, Reshape to a flat vector, Gemm, MatMul + Add,
 * Softmax, Dropout, Identity; docs/onnx.md says which attributes) from its float [N][C][H][W] input
 * to its output, and builds the same network as a digits net (freed by the caller with
 * dg_net_free). meta (may be NULL) receives the metadata dg_onnx_export writes, or
 * defaults for other files: normalisation x/255, labels "0".."N-1", nothing known of
 * training. On failure *net is NULL and the one-line message names the node and the
 * reason: DG_ERR_UNSUPPORTED (an operator, attribute or graph digits cannot run, external
 * data), DG_ERR_FORMAT / DG_ERR_TRUNCATED (not valid protobuf or ONNX), DG_ERR_TOO_LARGE,
 * DG_ERR_NOT_FOUND, DG_ERR_IO, DG_ERR_NOMEM.
 */
dg_status dg_onnx_import(const char *path, dg_net **net, dg_model_meta *meta);
/* The same from the bytes data[n] of a file. */
dg_status dg_onnx_import_memory(const uint8_t *data, size_t n, dg_net **net, dg_model_meta *meta);

/* =============================================================================================
 * vision: images, preprocessing, prediction, segmentation (src/vision/)
 * ============================================================================================= */

/* ---------------------------------------------------------------- images */

/* An 8-bit image, row-major, channels 1 (grey), 3 (RGB) or 4 (RGBA). */
typedef struct dg_image {
    int w, h, channels;
    uint8_t *pixels; /* [h][w][channels] */
} dg_image;

/* Refused before allocating when w*h exceeds this. */
#define DG_IMAGE_MAX_PIXELS (50u * 1000u * 1000u)

dg_status dg_image_new(int w, int h, int channels, dg_image **out);
void dg_image_free(dg_image *img);
/* Reads PNG, JPEG (EXIF orientation applied), PGM/PPM (P2/P3/P5/P6) or BMP by content. */
dg_status dg_image_load(const char *path, dg_image **out);
dg_status dg_image_load_memory(const uint8_t *data, size_t n_bytes, dg_image **out);

/* What a reduced load read: the upright picture's size in the file, and the factor it was
 * reduced by (1, 2, 4 or 8); pixel (x, y) of the image covers the file's pixels from
 * (x * reduction, y * reduction), reduction of them each way (fewer at the far edges). */
typedef struct dg_image_source {
    int w, h, reduction;
} dg_image_source;

/* The picture side a reduced load keeps at least, for recognition: dg_preprocess works on at
 * most about 512 pixels a side and dg_segment on 1024, pooling by each block's extremes. */
#define DG_IMAGE_RECOGNITION_SIDE 768

/* As dg_image_load and dg_image_load_memory, but a JPEG is decoded already reduced by 2, 4 or
 * 8 (libjpeg's DCT scaling: each pixel its block's mean), the most that keeps its longer side
 * at least min_side pixels; every other format, and min_side <= 0, reads at full size. The
 * size limits and errors are those of the full-size picture. source (may be NULL) is filled
 * on DG_OK. */
dg_status dg_image_load_reduced(const char *path, int min_side, dg_image **out,
                                dg_image_source *source);
dg_status dg_image_load_memory_reduced(const uint8_t *data, size_t n_bytes, int min_side,
                                       dg_image **out, dg_image_source *source);
/* Writes PNG (any channel count). Atomic like model files. */
dg_status dg_image_save_png(const char *path, const dg_image *img);
/* The PNG file of img in memory: on DG_OK *data holds *n_bytes bytes, freed by the caller
 * with free(); on failure *data is NULL and *n_bytes 0 (DG_ERR_ARG for an invalid image,
 * DG_ERR_NOMEM). */
dg_status dg_image_encode_png(const dg_image *img, uint8_t **data, size_t *n_bytes);
/* The same picture as dg_image_encode_png, its rows stored without compression (about
 * w * h * channels bytes and a few dozen more): for small pictures wanted at once, such as
 * the API's 28x28s, it is written many times faster than libpng's compressed file. The
 * same ownership and failures. */
dg_status dg_image_encode_png_stored(const dg_image *img, uint8_t **data, size_t *n_bytes);

/* ---------------------------------------------------------------- preprocessing */

/*
 * Users' images into MNIST-like 28x28 digits: white (255) ink on black (0), the digit fitted
 * into a 20x20 box keeping its aspect ratio, anti-aliased, its centre of mass (in pixel
 * indices 0..27) at (14, 14) within half a pixel, as in MNIST (a 28x28 input already
 * placed so keeps its place, within 0.53). How and why: docs/preprocessing.md.
 */

/* MNIST's geometry: a digit is DG_MNIST_SIDE x DG_MNIST_SIDE bytes, row-major, its ink
 * fitted into a DG_MNIST_BOX x DG_MNIST_BOX box within. */
#define DG_MNIST_SIDE   28
#define DG_MNIST_BOX    20
#define DG_MNIST_PIXELS (DG_MNIST_SIDE * DG_MNIST_SIDE) /* 784 */

/* Changes whenever the output for the same input changes on purpose; a model records the
 * version its users' images need (dg_model_meta.preprocess). 1: MNIST-style crop, fit
 * into 20x20, centre of mass in 28x28; 2: the same, with the page's light normalised at
 * the scale of strokes (hard shadows, the desk around the page) first; 3: with a shadow's
 * edge, the desk's grain and a tilted page's edge along the border no longer taken for
 * ink; 4: a faint pen under a shadow over most of the page no longer taken for light ink,
 * full ink measured without the dark surroundings that run out of the frame, thin-stroked
 * drawings on a flat ground worked on pooled (the drawing down to about 40 px), and
 * numbers in pictures over 1024 px a side read pooled to about that; 5: dark ink found on
 * light paper even when the strokes pass through most of the page's cells, and a strip of
 * desk along the border left out beside a digit written with a fine pen; 6: the desk
 * around a page also told from the page by its colour (a grey page on a wood desk as
 * bright as it, or brighter); 7: a faint pen on grainy paper between strips of desk
 * smoothed as any noisy photo's; 8: a dark digit under a shadow over most of the page,
 * whose median is then as dim as a dark screen's, no longer taken for light ink when a
 * quarter of the page is lit paper; 9: a small image (64 px or less a side) whose light
 * falls off across it given a sloping background instead of one level, and full ink
 * measured without wedges and strips of desk that stay by the frame however many they are,
 * and what a peeled line leaves beside it peeled with it (docs/preprocessing.md,
 * Versions). */
#define DG_PREPROCESS_VERSION 10u

typedef enum dg_prep_status {
    DG_PREP_OK = 0,  /* a digit was found and converted */
    DG_PREP_EMPTY,   /* no ink: blank or nearly uniform; the output is all 0 */
    DG_PREP_NO_DIGIT /* ink, but nothing digit-like (only noise, lines, a frame); all 0 */
} dg_prep_status;

/* Why a component of ink was not taken for part of a digit. */
typedef enum dg_prep_drop {
    DG_PREP_DROP_NOISE,  /* scattered dots: dust, grain, pepper noise */
    DG_PREP_DROP_BORDER, /* across or along the image's border: paper edge, desk, a finger */
    DG_PREP_DROP_DESK,   /* along the desk's edge: the page's edge and its shadow */
    DG_PREP_DROP_FRAME,  /* a frame or ring drawn around other ink */
    DG_PREP_DROP_SPECK,  /* under 2% of the largest component */
    DG_PREP_DROP_COUNT
} dg_prep_drop;

/* What preprocessing found. Every field is filled on DG_OK; box and stroke are 0 when
 * there is no ink. */
typedef struct dg_preprocess_info {
    dg_prep_status status;
    bool inverted;                   /* dark ink on a light background was found (and flipped) */
    int box_x, box_y, box_w, box_h;  /* the kept ink's bounding box in the source image */
    float stroke_px;                 /* estimated stroke width of the kept ink, source pixels */
    bool restroked;                  /* strokes were redrawn at MNIST width (too thin or thick) */
    float background;                /* background level in the ink channel, 0..255 */
    float contrast;                  /* ink level minus background level, 0..255 */
    float noise;                     /* robust standard deviation of the background, levels */
    int components;                  /* ink components left after removing lines, frames, specks */
    int kept;                        /* of those, kept as the digit (dg_preprocess only) */
    bool light_followed;             /* the page's light was followed at the scale of strokes */
    bool desk;                       /* the page lies on a desk, which was left out */
    int dropped[DG_PREP_DROP_COUNT]; /* components dropped, by reason */
} dg_preprocess_info;

/* A short phrase for why components were dropped ("along the border", ...). */
const char *dg_prep_drop_name(dg_prep_drop why);

/*
 * Turns img (any size, 1/3/4 channels; transparent pixels count as background) into a
 * 28x28 MNIST-like digit out[DG_MNIST_PIXELS], row-major, 0 background, 255 ink. Returns
 * DG_OK even when no digit is found: then out is all 0 and info->status says why.
 * DG_ERR_ARG for an invalid image, DG_ERR_NOMEM. info may be NULL.
 */
dg_status dg_preprocess(const dg_image *img, uint8_t out[DG_MNIST_PIXELS],
                        dg_preprocess_info *info);

/* What preprocessing decided about a pixel of its working picture (dg_prep_steps). */
typedef enum dg_prep_step {
    DG_STEP_BACKGROUND = 0, /* no ink: the page's paper */
    DG_STEP_DESK,           /* the desk around the page, left out */
    DG_STEP_DIGIT,          /* ink kept as the digit */
    DG_STEP_LEFT,           /* ink of a component the filters left, not taken for the digit */
    DG_STEP_LINE,           /* ink of a ruling or grid line, peeled off */
    DG_STEP_FAINT,          /* faint ink near no strong ink */
    DG_STEP_DROPPED,        /* + a dg_prep_drop: ink of a component dropped for that reason */
    DG_STEP_COUNT = DG_STEP_DROPPED + DG_PREP_DROP_COUNT
} dg_prep_step;

/* What dg_preprocess saw and decided, at its working resolution: the picture pooled by
 * `scale` source pixels each way (by each block's extremes), w = ceil(img->w / scale) by
 * h = ceil(img->h / scale). */
typedef struct dg_prep_steps {
    int scale;               /* source pixels per working pixel each way */
    dg_image *page;          /* 1 channel [h][w]: the page with its light divided out, the plane
                              * where ink stands out over its background; paper 255 whatever the
                              * light, ink darker, whatever its polarity */
    dg_image *ink;           /* 1 channel [h][w]: the ink map (0 none .. 255 full ink) before the
                              * digit was chosen among its components */
    uint8_t *decision;       /* [h][w] dg_prep_step of every pixel */
    dg_preprocess_info info; /* as dg_preprocess gives it */
    uint8_t mnist[DG_MNIST_PIXELS]; /* the 28x28 dg_preprocess gives */
} dg_prep_steps;

/*
 * dg_preprocess's steps on img, to be seen: the same work with the same answers (info and
 * the 28x28), keeping the pictures it otherwise frees on the way. Fills *out; free its pictures
 * with dg_prep_steps_free. On failure *out holds nothing to free: DG_ERR_ARG for an invalid image
 * or a NULL out, DG_ERR_TOO_LARGE, DG_ERR_NOMEM.
 */
dg_status dg_preprocess_steps(const dg_image *img, dg_prep_steps *out);
/* Frees the pictures of s (not s itself) and leaves them NULL; NULL does nothing. */
void dg_prep_steps_free(dg_prep_steps *s);
/* A short phrase for a dg_prep_step ("the digit", "ruling line", a dg_prep_drop_name). */
const char *dg_prep_step_name(int step);

/*
 * The ink map of a whole image, for segmenting written numbers: a new 1-channel image of
 * img's size, 0 where there is no ink and up to 255 for full ink, whatever the polarity,
 * colour or lighting of img. Background, ruling and grid lines, paper edges, frames and
 * specks much smaller than the largest ink component are already 0. The caller frees
 * *ink_out with dg_image_free (NULL on failure). info (may be NULL) gets the status
 * (DG_PREP_EMPTY when there is no ink at all, DG_PREP_NO_DIGIT when only lines, frames or
 * noise were found), polarity, levels, the box of all kept ink and its stroke width.
 */
dg_status dg_ink_map(const dg_image *img, dg_image **ink_out, dg_preprocess_info *info);

/*
 * Converts the ink inside the rectangle (x, y, w, h) of an ink map (1 channel, ink high,
 * as made by dg_ink_map) into a 28x28 MNIST-like digit, as dg_preprocess does after finding
 * its digit: crop to the ink's box, scale into 20x20, set the stroke width, centre by mass.
 * The rectangle is clipped to the image; DG_ERR_ARG when nothing of it is inside or ink is
 * not 1-channel. A rectangle without ink gives DG_OK and an all-0 out.
 */
dg_status dg_ink_to_mnist(const dg_image *ink, int x, int y, int w, int h,
                          uint8_t out[DG_MNIST_PIXELS]);

/*
 * The same, keeping only the pixels whose mask byte is nonzero: mask[h][w] covers the
 * rectangle (before clipping), row-major, so that a digit touching another one can be cut
 * out by its components. mask may be NULL (everything), info may be NULL; info->status is
 * DG_PREP_EMPTY when no ink is selected.
 */
dg_status dg_ink_mask_to_mnist(const dg_image *ink, const uint8_t *mask, int x, int y, int w, int h,
                               uint8_t out[DG_MNIST_PIXELS], dg_preprocess_info *info);

/* ---------------------------------------------------------------- prediction */

/* Below this top probability an answer is "unsure" rather than a digit. Calibrated on
 * held-out MNIST with the seed-cnn model (docs/preprocessing.md, "Honest answers"). */
#define DG_MIN_CONFIDENCE 0.6f

typedef enum dg_answer {
    DG_ANSWER_DIGIT = 0, /* a confident digit */
    DG_ANSWER_UNSURE,    /* the network's top probability is below the threshold */
    DG_ANSWER_EMPTY,     /* no ink in the image */
    DG_ANSWER_NO_DIGIT   /* ink, but nothing digit-like */
} dg_answer;

/* One recognised digit. */
typedef struct dg_prediction {
    dg_answer answer;
    int digit;        /* the top class, -1 for EMPTY and NO_DIGIT */
    float confidence; /* its probability (0 for EMPTY and NO_DIGIT) */
    int top[3];       /* the three most probable classes, best first */
    float top_p[3];
    int classes;
    float probs[DG_MAX_CLASSES]; /* all class probabilities */
} dg_prediction;

/* Short words for an answer: "ok", "unsure", "empty", "no digit". */
const char *dg_answer_name(dg_answer answer);

/* Classifies one MNIST-like 28x28 digit (0 background, 255 ink) with the model's
 * normalisation; answers DG_ANSWER_UNSURE below min_confidence. DG_ERR_MISMATCH when the
 * net does not take 1x28x28 input. Safe to call from several threads with one net
 * (dg_net_predict). */
dg_status dg_predict_mnist(dg_net *net, const dg_norm *norm, const uint8_t mnist28[DG_MNIST_PIXELS],
                           float min_confidence, dg_prediction *out);

/* Preprocesses a user's image (dg_preprocess) and classifies it. mnist28 (may be NULL)
 * receives the 28x28 the network saw, info (may be NULL) what preprocessing found. Safe
 * to call from several threads with one net, as dg_predict_mnist. */
dg_status dg_predict_image(dg_net *net, const dg_norm *norm, const dg_image *img,
                           float min_confidence, dg_prediction *out,
                           uint8_t mnist28[DG_MNIST_PIXELS], dg_preprocess_info *info);

/* Why the net answers class cls for a 28x28 digit: heat[i] is the gradient of cls's score
 * (its logit) with respect to pixel i, per pixel level (0..255): positive where more ink
 * would raise the score, negative where it would lower it. Overwrites the net's last
 * outputs. DG_ERR_ARG for a bad class, DG_ERR_MISMATCH as dg_predict_mnist. */
dg_status dg_explain_mnist(dg_net *net, const dg_norm *norm, const uint8_t mnist28[DG_MNIST_PIXELS],
                           int cls, float heat[DG_MNIST_PIXELS]);

/* ---------------------------------------------------------------- segmentation */

/* One digit's place in an image: columns [x, x+w), rows [y, y+h). */
typedef struct dg_digit_box {
    int x, y, w, h;
} dg_digit_box;

/* Most digits dg_segment reports; more digit-like parts than this is DG_ERR_TOO_LARGE. */
#define DG_SEGMENT_MAX_DIGITS 64

/* The digits of a written number, left to right. */
typedef struct dg_segmentation {
    int n;                                     /* digits found, 0 for a blank image */
    dg_digit_box boxes[DG_SEGMENT_MAX_DIGITS]; /* [n], in image pixels, sorted by x */
    dg_image *ink;  /* the image's ink map (dg_ink_map): 1 channel, the image's size / scale */
    uint8_t *owner; /* [ink->h][ink->w]: k+1 where the pixel is ink of digit k, else 0 */
    int scale;      /* image pixels per ink-map pixel each way: 1, more beyond DG_SEGMENT_SIDE */
} dg_segmentation;

/*
 * Finds the digits of a number written on one line in img (any dg_image_load result): ink
 * map, threshold, 8-connected components; specks, dots and faint border shadows dropped,
 * the parts of one digit (the bar of a 5, a broken stroke) merged, and components too
 * wide for one digit (touching digits) cut where the ink spans fewest rows into the likely
 * number of digits. On success *out holds the result (free with dg_segmentation_free).
 * On failure *out is NULL: DG_ERR_ARG for an invalid image, DG_ERR_NOMEM,
 * DG_ERR_TOO_LARGE for more than DG_SEGMENT_MAX_DIGITS digit-like parts.
 */
dg_status dg_segment(const dg_image *img, dg_segmentation **out);
/* Pictures larger than this a side are segmented pooled to about it: a number of up to a
 * dozen digits stays tens of pixels tall. */
#define DG_SEGMENT_SIDE 1024
/* dg_segment pooling pictures larger than side pixels a side (0: never), for a quicker,
 * coarser look: `digits predict` tells a number from a digit at 512. */
dg_status dg_segment_at(const dg_image *img, int side, dg_segmentation **out);
void dg_segmentation_free(dg_segmentation *seg);
/* Digit k (0..n-1) as an MNIST-like 28x28 (dg_ink_mask_to_mnist on its own pixels only,
 * so a touching neighbour does not leak in). DG_ERR_ARG for a bad k. */
dg_status dg_segment_to_mnist(const dg_segmentation *seg, int k, uint8_t out[DG_MNIST_PIXELS]);
/* Box b of an image read by dg_image_load_reduced, in the pixels of the file's picture. */
dg_digit_box dg_box_in_source(dg_digit_box b, const dg_image_source *source);

/* =============================================================================================
 * pictures: drawing, charts, the report (src/pictures/)
 * ============================================================================================= */

/* ---------------------------------------------------------------- drawing and charts */

/*
 * Drawing on RGB images (channels 3; images with other channel counts are left as they
 * are). Colours are 0xRRGGBB. Coordinates are pixels from the top-left corner, a pixel's
 * centre at its integer coordinates. Everything is clipped to the image, so drawing
 * cannot fail.
 */
typedef uint32_t dg_color;

/* The built-in bitmap font: printable ASCII 32..126 (other bytes draw as '?') in cells of
 * DG_FONT_W x DG_FONT_H pixels at scale 1; capitals and digits are 9 pixels tall. */
#define DG_FONT_W 8
#define DG_FONT_H 13

/* A new RGB image filled with background; free with dg_image_free(). */
dg_status dg_canvas_new(int w, int h, dg_color background, dg_image **out);
/* Filled rectangle covering pixels x..x+w-1, y..y+h-1. */
void dg_draw_rect(dg_image *img, int x, int y, int w, int h, dg_color color);
/* The border of that rectangle, thickness pixels wide, drawn inside it. */
void dg_draw_frame(dg_image *img, int x, int y, int w, int h, int thickness, dg_color color);
/* Anti-aliased line with round ends, thickness pixels wide. A line of thickness 1 between
 * integer points on a row or column covers exactly those pixels. */
void dg_draw_line(dg_image *img, double x0, double y0, double x1, double y1, double thickness,
                  dg_color color);
/* Anti-aliased filled disc. */
void dg_draw_disc(dg_image *img, double cx, double cy, double radius, dg_color color);
/* A grey picture grey[h][w] (0 background, 255 ink, as MNIST) with its top-left at (x, y),
 * each pixel a scale x scale block, drawn as dark ink on white. */
void dg_draw_grey(dg_image *img, int x, int y, const uint8_t *grey, int w, int h, int scale);
/* Any image (1, 3 or 4 channels; alpha over white) resized to fit the box x, y, w, h,
 * keeping its aspect ratio, centred in the box. */
void dg_draw_image(dg_image *img, int x, int y, int w, int h, const dg_image *src);
/* Draws text with the top-left of its first cell at (x, y), scale x scale pixels per font
 * pixel. Returns the width of the text, dg_text_width(text, scale). */
int dg_draw_text(dg_image *img, int x, int y, const char *text, int scale, dg_color color);
/* strlen(text) * DG_FONT_W * scale (0 for NULL or scale < 1). */
int dg_text_width(const char *text, int scale);
/* Whether font pixel (gx, gy) of character c is ink; gx < DG_FONT_W, gy < DG_FONT_H. */
bool dg_font_pixel(unsigned char c, int gx, int gy);

/*
 * "Nice" axis ticks: the multiples of one step (1, 2 or 5 x 10^k, chosen to give about
 * `target` intervals) from the last one <= lo to the first one >= hi; 0..1 gives 0, 0.2,
 * ..., 1. Writes at most max values, returns how many (0 when lo or hi is not finite,
 * hi < lo, or max is too small). lo == hi is widened around the value.
 */
int dg_nice_ticks(double lo, double hi, int target, double *ticks, int max);

/* Where a chart put its data: the plot area's pixels and the data values at its edges. */
typedef struct dg_plot_area {
    int x, y, w, h;        /* left, top, width, height in pixels */
    double x0, x1, y0, y1; /* data value at the left, right, bottom and top edges */
} dg_plot_area;
/* Pixel position of data point (x, y): px = area.x + (x - x0) / (x1 - x0) * w,
 * py = area.y + h - (y - y0) / (y1 - y0) * h. */
void dg_plot_area_map(const dg_plot_area *area, double x, double y, double *px, double *py);

/*
 * The charts. dg_plot_* write path as SVG when it ends in ".svg", else as PNG; they
 * return DG_ERR_ARG on bad arguments (NULL data, n < 1) and the writer's status.
 *
 * Training curves: a loss panel and an accuracy panel, per epoch, training and (when
 * present) validation series, ticks and a legend with the last values.
 * dg_chart_history draws them into a new image (free with dg_image_free) and, when panels
 * is not NULL, tells where the loss [0] and accuracy [1] panels put their data (accuracy
 * is plotted in percent).
 */
dg_status dg_chart_history(const dg_history_row *rows, int n, dg_image **out,
                           dg_plot_area panels[2]);
dg_status dg_plot_history(const dg_history_row *rows, int n, const char *path);
/* One of the two panels alone, half as wide: which = 0 loss, 1 accuracy (for pages that
 * stack them on a narrow screen). */
dg_status dg_plot_history_panel(const dg_history_row *rows, int n, int which, const char *path);
/* A grid of cols columns of 28x28 images [n][DG_MNIST_PIXELS] titled "true T" /
 * "pred P 93.1%"; wrong predictions are framed and labelled in red. confidence may be NULL.
 * n_total is how many the n were chosen from (n or less: just n), so that the title counts
 * what it shows out of the whole: "24 of 73 mistakes". */
dg_status dg_plot_predictions(const uint8_t *images, const uint8_t *labels,
                              const uint8_t *predicted, const float *confidence, int n, int n_total,
                              int cols, const char *path);
/* The confusion matrix as a heat-map with the counts (correct cells blue, mistakes red),
 * recall per row and precision per column. labels may be NULL ("0", "1", ...). */
dg_status dg_plot_confusion(const dg_eval *ev, const char labels[][32], const char *path);
/* One prediction: the original picture (may be NULL), the 28x28 the network saw (may be
 * NULL for an empty image), and the probabilities as bars, headed by what the answer is:
 * "Prediction: 7" and how sure, "Unsure: ?" with the best guess drawn as a guess, or
 * "Empty image" / "No digit" with no bars. labels [p->classes] may be NULL ("0", "1", ...).
 * DG_ERR_ARG for a bad class count. */
dg_status dg_plot_prediction(const dg_image *original, const uint8_t mnist28[DG_MNIST_PIXELS],
                             const dg_prediction *p, const char (*labels)[32], const char *path);
/* dg_plot_prediction for probabilities [classes] taken as a confident answer. */
dg_status dg_plot_probabilities(const dg_image *original, const uint8_t mnist28[DG_MNIST_PIXELS],
                                const float *probs, int classes, const char *path);

/* A read number: img with each digit of seg framed and labelled above, pred[seg->n] the
 * answers (a confident digit in green, an unsure one as "?" with its guess, in orange),
 * the number read in the title. DG_ERR_ARG without an image. */
dg_status dg_plot_number(const dg_image *img, const dg_segmentation *seg, const dg_prediction *pred,
                         const char (*labels)[32], const char *path);

/* What preprocessing decided about img (steps from dg_preprocess_steps on it): the photo,
 * the page with its light divided out, the ink map and every pixel's decision side by side
 * (two rows of two for a wide picture), titled, with a legend of the decisions shown (the
 * reasons components were dropped, and how many) and the levels in one line. The working
 * pictures are enlarged by whole pixels or shrunk to about 320 pixels a side.
 * dg_chart_steps draws it into a new RGB image (free with dg_image_free; NULL on failure),
 * dg_plot_steps writes it as PNG (atomically). DG_ERR_ARG without an image or with
 * incomplete steps. */
dg_status dg_chart_steps(const dg_image *img, const dg_prep_steps *steps, dg_image **out);
dg_status dg_plot_steps(const dg_image *img, const dg_prep_steps *steps, const char *path);

/* The first convolution's kernels, one tile each (input channels side by side), on one
 * diverging scale: blue positive, red negative, white zero. DG_ERR_ARG without a
 * convolution. */
dg_status dg_plot_filters(const dg_net *net, const char *path);
/* The feature maps of every convolution for the one example the net's last forward ran
 * over (dg_predict_mnist or dg_predict_image just before), each map scaled to its own
 * strongest response; mnist28 (may be NULL) is that example, drawn first. DG_ERR_ARG
 * without a convolution or such a forward. */
dg_status dg_plot_activations(const dg_net *net, const uint8_t mnist28[DG_MNIST_PIXELS],
                              const char *path);

/* A heat-map of dg_explain_mnist over the digit it explains: the 28x28 drawn in light grey,
 * each pixel a scale x scale block, tinted red where heat is positive (the pixel pushes
 * towards the class) and blue where negative, in proportion to |heat| / max |heat|. A new
 * RGB image of 28*scale pixels a side (free with dg_image_free); DG_ERR_ARG for scale
 * outside 1..64. */
dg_status dg_heatmap_picture(const uint8_t mnist28[DG_MNIST_PIXELS],
                             const float heat[DG_MNIST_PIXELS], int scale, dg_image **out);

/* ---------------------------------------------------------------- report */

/* One picture for the report: what it is called, what it looked like, what was seen. */
typedef struct dg_report_sample {
    const char *name;            /* shown as is, e.g. the file name */
    const dg_image *original;    /* the picture as loaded, or NULL */
    const uint8_t *mnist;        /* [DG_MNIST_PIXELS] what the network saw, or NULL */
    const dg_prediction *pred;   /* the answer, as dg_predict_image gave it, or NULL */
    const dg_segmentation *seg;  /* a picture of several digits: their boxes, else NULL */
    const dg_prediction *digits; /* with seg: the answer for each of its seg->n digits */
    const char *note;            /* shown with the result, e.g. "could not be read", or NULL */
} dg_report_sample;

/* What goes into a report; every part may be left out (NULL or 0). Pointers are borrowed. */
typedef struct dg_report {
    const char *model_path;        /* shown in the heading */
    const dg_net *net;             /* layer table */
    const dg_model_meta *meta;     /* training settings, class labels */
    const dg_history_row *history; /* training curves, n_history rows */
    int n_history;
    const dg_eval *eval;           /* test accuracy, confusion, precision and recall */
    const uint8_t *mistake_images; /* [n_mistakes][DG_MNIST_PIXELS] worst mistakes, worst first */
    const uint8_t *mistake_labels; /* [n_mistakes] true classes */
    const uint8_t *mistake_predicted;
    const float *mistake_confidence;
    int n_mistakes;
    int n_mistakes_total;            /* all the mistakes the n_mistakes were chosen from */
    const dg_report_sample *samples; /* [n_samples] */
    int n_samples;
    int classes;              /* for samples' answers when there is no eval or meta */
    const char *const *notes; /* [n_notes] shown at the top: what was left out and why */
    int n_notes;
    /* Inside the network: the first convolution's filters (drawn from net), and the
     * feature maps for one example whose forward was net's last (dg_plot_activations),
     * named activations_name; NULL to leave them out. */
    const uint8_t *activations_mnist;
    const char *activations_name;
} dg_report;

/*
 * Writes dir/index.html (created with dir if missing): one self-contained page that opens
 * offline from anywhere, the charts inline as SVG and the pictures as PNG data URIs, with
 * inline style and no scripts; nothing else is left in dir. Returns DG_ERR_IO when the
 * page cannot be written, or a drawing's status.
 */
dg_status dg_report_write(const char *dir, const dg_report *report);

/* =============================================================================================
 * serve: the HTTP API as functions over bytes, and the server (src/serve/)
 * ============================================================================================= */

/* ---------------------------------------------------------------- requests and answers */

/* Bodies larger than this are refused (413) unless dg_api_config.max_body says otherwise. */
#define DG_API_DEFAULT_MAX_BODY (8u * 1024u * 1024u)
/* Pictures of more pixels are refused (413) once decoded: a few kilobytes of PNG can hold
 * a picture that takes seconds to preprocess. A 12-megapixel phone photo passes. */
#define DG_API_MAX_PIXELS (24u * 1000u * 1000u)

/* One HTTP request as the server read it. Borrowed strings. */
typedef struct dg_http_request {
    const char *method;       /* "GET", "POST", ... */
    const char *target;       /* the request target as sent: "/api/predict?preprocessed=0" */
    const char *content_type; /* the Content-Type header, NULL when absent */
    int64_t content_length;   /* the Content-Length header, -1 when absent */
    bool chunked;             /* Transfer-Encoding: chunked (a body without a length) */
    const uint8_t *body;      /* n_body bytes, NULL when there are none */
    size_t n_body;
} dg_http_request;

/* The answer to send. The body is borrowed from the api (pages) or owned (JSON): free
 * with dg_http_response_free, which also resets it. */
typedef struct dg_http_response {
    int status;               /* 200, 400, 404, ... */
    const char *content_type; /* static text */
    const char *allow;        /* the Allow header of a 405 (static), else NULL */
    const uint8_t *body;
    size_t n_body;
    bool is_page; /* a page of the interface: sent with its Content-Security-Policy */
    void *owned;  /* what dg_http_response_free frees */
} dg_http_response;
void dg_http_response_free(dg_http_response *resp);

/* How an api answers. */
typedef struct dg_api_config {
    const char *model_name; /* shown by GET /api/model, e.g. the model's path */
    size_t max_body;        /* largest body taken; 0 means DG_API_DEFAULT_MAX_BODY */
    float min_confidence;   /* below it an answer is "unsure"; 0 means DG_MIN_CONFIDENCE */
    int workers;            /* requests answered at once (each has its own copy of the
                               net); < 1 means 1 */
} dg_api_config;

typedef struct dg_api dg_api;

/*
 * An api answering with a copy of net (and meta, may be NULL for the defaults): one copy
 * per worker, each set to one thread, so that concurrent requests never share one net's
 * buffers. net itself is not kept. DG_ERR_MISMATCH when the net does not take 28x28
 * digits, DG_ERR_NOMEM. Free with dg_api_free.
 */
dg_status dg_api_new(const dg_net *net, const dg_model_meta *meta, const dg_api_config *cfg,
                     dg_api **out);
void dg_api_free(dg_api *api);
/* The api's largest body in bytes. */
size_t dg_api_max_body(const dg_api *api);

/*
 * Answers what can be answered before the body is read, from the request line and the
 * headers (req->body ignored): a bad target (400), an unknown path (404), a method the
 * path does not take (405, with Allow), a POST without Content-Length or chunked body
 * (411), a Content-Length over the limit (413), a form instead of image bytes (415).
 * Returns true when *resp holds that answer; false when the request goes on (the body
 * is to be read), *resp then untouched.
 */
bool dg_api_precheck(const dg_api *api, const dg_http_request *req, dg_http_response *resp);
/*
 * The whole answer to a request, body included (docs/api.md): the pages of the
 * interface, GET /healthz, GET /api/model, POST /api/predict, /api/read and /api/explain.
 * Safe to call from several threads at once: each call takes one of the api's nets,
 * waiting for one to be free. Every failure is an answer, {"error": "..."} with its
 * status; never fails otherwise.
 */
void dg_api_handle(dg_api *api, const dg_http_request *req, dg_http_response *resp);
/* {"error": message} with the given status. */
void dg_api_error(dg_http_response *resp, int status, const char *message);

/* ---------------------------------------------------------------- the server */

/* How a server listens. */
typedef struct dg_server_config {
    const char *host;    /* address or name to bind; NULL means "127.0.0.1" */
    int port;            /* 0 picks a free port (dg_server_port says which) */
    int threads;         /* threads answering requests; < 1 means 1. The api should have
                            as many workers. */
    int max_connections; /* open connections beyond this get 503; < 1 means 256 */
} dg_server_config;

typedef struct dg_server dg_server;

/*
 * Starts an HTTP/1.1 server (libmicrohttpd, its own threads) answering every request with
 * api (borrowed: it must outlive the server). Headers are capped by libmicrohttpd's
 * per-connection memory, bodies by dg_api_max_body while they are read. DG_ERR_ARG for a
 * host that does not resolve, DG_ERR_IO when the address cannot be bound (the message
 * says why, e.g. already in use). Stop and free with dg_server_stop.
 */
dg_status dg_server_start(dg_api *api, const dg_server_config *cfg, dg_server **out);
/* The port the server listens on. */
int dg_server_port(const dg_server *server);
/* Whether the server is bound to a loopback address only. */
bool dg_server_is_loopback(const dg_server *server);
/* Stops taking connections, lets the requests under way finish (waiting up to
 * wait_ms milliseconds), then closes everything and frees the server. NULL does nothing. */
void dg_server_stop(dg_server *server, int wait_ms);

#ifdef __cplusplus
}
#endif

#endif
