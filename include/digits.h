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
 */
#ifndef DIGITS_H
#define DIGITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DG_VERSION_STRING "0.1.0"

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
    DG_STATUS_COUNT
} dg_status;

/* Message of the last failure in this thread ("" if none). Borrowed, thread-local. */
const char *dg_last_error(void);
/* Short fixed name of a status, e.g. "format" for DG_ERR_FORMAT. */
const char *dg_status_name(dg_status status);
/* Sets the thread's last error message (printf-style) and returns status. For library
 * modules and for programs that embed libdigits and want one error channel. */
dg_status dg_fail(dg_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

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

/* ---------------------------------------------------------------- datasets (IDX) */

/* Images and labels held as bytes, exactly as in the IDX files. */
typedef struct dg_dataset {
    uint32_t n;       /* number of examples */
    uint32_t h, w;    /* image size, 28x28 for MNIST */
    uint8_t *images;  /* [n][h][w], 0 = background, 255 = ink */
    uint8_t *labels;  /* [n], 0..9 */
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

/* ---------------------------------------------------------------- networks */

/* Shape of one example (batch dimension excluded). */
typedef struct dg_shape {
    int c, h, w;
} dg_shape;

typedef struct dg_net dg_net;

/*
 * Builds a network from a spec: layers separated by commas, for example
 *   "conv 32 3 relu, maxpool 2, conv 64 3 relu, maxpool 2, flatten, dense 64 relu, dense 10"
 * Layer forms: "conv OUT K [relu]", "maxpool K", "flatten", "dense OUT [relu]",
 * "dropout P", "relu". The last layer's outputs are the class logits; softmax and
 * cross-entropy are applied by the net. Parameters are uninitialised: call
 * dg_net_init_params() or load them. DG_ERR_ARG with a message on a malformed spec.
 */
dg_status dg_net_new(const char *spec, dg_shape input, dg_net **out);
void dg_net_free(dg_net *net);

/* The spec of a named preset ("seed-cnn", "seed-cnn-dropout", "mlp", "fast"), or NULL. */
const char *dg_preset_spec(const char *name);
/* Names of all presets, NULL-terminated, borrowed. */
const char *const *dg_preset_names(void);

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
    const char *kind;    /* "conv", "maxpool", ... (borrowed) */
    char desc[64];       /* "conv 32 3x3 relu" */
    dg_shape out;        /* output shape of one example */
    size_t n_params;
} dg_layer_info;
int dg_net_layer_count(const dg_net *net);
void dg_net_layer_info(const dg_net *net, int i, dg_layer_info *info);

/* Glorot-uniform weights, zero biases. */
void dg_net_init_params(dg_net *net, dg_rng *rng);

/* Worker threads used by forward and backward (1 = none). n <= 0 means all cores.
 * Work is split so that a fixed thread count gives bit-identical results. */
dg_status dg_net_set_threads(dg_net *net, int n);
int dg_net_threads(const dg_net *net);

/* Use the plain reference loops instead of the fast kernels (for checks). */
void dg_net_set_reference(dg_net *net, bool reference);

/* Sizes activations and the shared workspace for batches of up to max_batch examples.
 * Called automatically by forward with a larger batch; call it once up front so that
 * forward and backward never allocate. */
dg_status dg_net_prepare(dg_net *net, int max_batch);

/*
 * Forward pass over n examples x[n][c][h][w] (already normalised). Returns the softmax
 * probabilities [n][classes] (borrowed, valid until the next forward). is_training
 * enables dropout, drawing from rng (rng may be NULL when is_training is false).
 * Returns NULL only if n exceeds the prepared batch and growing it fails.
 */
const float *dg_net_forward(dg_net *net, const float *x, int n, bool is_training, dg_rng *rng);
/* Logits [n][classes] of the last forward (borrowed). */
const float *dg_net_logits(const dg_net *net);

/*
 * After a forward over the same n examples: zeroes the gradients, computes the mean
 * cross-entropy against labels[n] and back-propagates it into dg_net_grads().
 * Returns the mean loss. Labels must be < dg_net_classes().
 */
float dg_net_backward(dg_net *net, const uint8_t *labels, int n);

/* Gradient of the mean loss with respect to the input of the last backward, [n][c][h][w]
 * (borrowed). Computed only when dg_net_set_input_grad(net, true) (gradient checks). */
void dg_net_set_input_grad(dg_net *net, bool on);
const float *dg_net_input_grad(const dg_net *net);

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

/* Normalisation applied to raw 0..255 pixels: x = (p * scale - mean) / std. */
typedef struct dg_norm {
    float scale, mean, std;
} dg_norm;
/* The Keras tutorial's x / 255. */
dg_norm dg_norm_default(void);
/* Converts n images of h*w bytes to floats [n][1][h][w]. */
void dg_normalise(const dg_norm *norm, const uint8_t *pixels, size_t n_pixels, float *out);

typedef enum dg_schedule { DG_SCHEDULE_CONSTANT, DG_SCHEDULE_ONECYCLE } dg_schedule;

typedef struct dg_epoch_stats {
    int epoch;           /* 1-based */
    double loss, accuracy;
    double val_loss, val_accuracy; /* negative when there is no validation split */
    double seconds;
    double images_per_second;
} dg_epoch_stats;

/* Progress reports; return false to stop training early. */
typedef struct dg_train_callbacks {
    void *user;
    /* After each step: step 1..steps of this epoch, running mean loss and accuracy. */
    void (*on_step)(void *user, int epoch, int step, int steps, double loss, double accuracy,
                    double seconds_elapsed);
    bool (*on_epoch)(void *user, const dg_epoch_stats *stats);
} dg_train_callbacks;

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
} dg_train_config;

dg_train_config dg_train_defaults(void);

/*
 * Trains net on ds (the last val_split of the examples, before shuffling, are held out
 * for validation, as Keras's validation_split does). The net's thread setting is used.
 * Callbacks may be NULL. Returns DG_ERR_MISMATCH when the data does not fit the net.
 */
dg_status dg_train(dg_net *net, const dg_dataset *ds, const dg_train_config *cfg,
                   const dg_train_callbacks *cb);

/* ---------------------------------------------------------------- evaluation */

#define DG_MAX_CLASSES 64

typedef struct dg_eval {
    uint32_t n;
    double loss, accuracy;
    /* confusion[true][predicted], counts; only the first classes x classes are used */
    uint32_t confusion[DG_MAX_CLASSES][DG_MAX_CLASSES];
    int classes;
} dg_eval;

/* Evaluates net on examples [first, first+count) of ds. Optionally writes the predicted
 * class and its probability per example (arrays of count, may be NULL). */
dg_status dg_evaluate(dg_net *net, const dg_dataset *ds, const dg_norm *norm, uint32_t first,
                      uint32_t count, dg_eval *out, uint8_t *predicted, float *confidence);

/* ---------------------------------------------------------------- model files */

/* What a model file carries besides the architecture and the tensors. */
typedef struct dg_model_meta {
    dg_norm norm;                          /* input normalisation */
    int classes;                           /* number of class labels */
    char labels[DG_MAX_CLASSES][32];       /* class names, "0".."9" for MNIST */
    char preset[32];                       /* preset name or "" */
    char dataset[64];                      /* e.g. "mnist" */
    uint64_t seed;
    int epochs, batch;
    float lr;
    uint32_t n_train;                      /* examples trained on */
    double val_accuracy;                   /* -1 if unknown */
    double test_accuracy;                  /* -1 if unknown */
    int64_t created;                       /* Unix time */
    uint32_t preprocess;                   /* preprocessing version users' images need */
} dg_model_meta;

/* Metadata for an MNIST digit model: x/255, labels "0".."9", accuracies unknown. */
void dg_model_meta_default(dg_model_meta *meta);

/*
 * Writes net and meta to path atomically: a temporary file beside it is written,
 * flushed, fsync'd and renamed over path, so an existing model is never lost.
 * Format: docs/model-format.md.
 */
dg_status dg_model_save(const char *path, const dg_net *net, const dg_model_meta *meta);
/* Reads a model file, checking every size against the file length before allocating and
 * the checksum over everything. meta may be NULL. */
dg_status dg_model_load(const char *path, dg_net **net, dg_model_meta *meta);

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
/* Writes PNG (any channel count). Atomic like model files. */
dg_status dg_image_save_png(const char *path, const dg_image *img);

/* ---------------------------------------------------------------- preprocessing */

/* ---------------------------------------------------------------- segmentation */

/* ---------------------------------------------------------------- drawing and plots */

#ifdef __cplusplus
}
#endif

#endif
