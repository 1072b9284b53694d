/*
 * batchnorm2d.c - batch normalisation per channel (Ioffe and Szegedy 2015), as PyTorch's
 * BatchNorm2d (BatchNorm1d after a dense layer, whose outputs are channels of 1x1) and
 * ONNX's BatchNormalization, with an optional fused ReLU.
 *
 * Legend: N batch, C channels, S = H*W positions of a channel, M = N*S values per channel.
 *   x [N][C][H][W] -> y [N][C][H][W],  y = gamma[c] * (x - mean[c]) / sqrt(var[c] + EPS)
 *                                          + beta[c]
 *   parameters: gamma [C] (the weights), beta [C] (the biases), then the running state
 *   running_mean [C], running_var [C]: saved in the model, never changed by the optimiser
 *   (their gradient is always 0).
 * Training normalises with the mean and biased variance of the values in the slice of
 * the batch it is given (see net.h: a net with this layer cuts its batches into slices of
 * at least 32 examples, whatever the thread count, each normalised on its own statistics,
 * "ghost" batches; a batch under 64 is one slice); aux keeps them, [2][C] floats, for
 * backward and for fold_state, which merges the slices into
 * the statistics of the whole batch and moves the running state towards them:
 *   running = (1 - MOMENTUM) * running + MOMENTUM * batch  (unbiased variance), as PyTorch.
 * Inference normalises with the running state.
 * Backward in training, xh = (x - mean) * inv_std and dz = dy masked by ReLU:
 *   dbeta += sum dz, dgamma += sum dz * xh,
 *   dx = gamma * inv_std / M * (M * dz - sum dz - xh * sum dz * xh);
 * at inference the map is affine: dx = dz * gamma * inv_std.
 */
#include "nn/net.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define EPS      DG_BATCHNORM_EPS
#define MOMENTUM 0.1f /* PyTorch's: the weight of the new batch */

static bool batchnorm_parse(dg_layer *l, char **words, int n)
{
    return dg_spec_take_relu(l, words, n) == 0;
}

static void batchnorm_describe(const dg_layer *l, char *buf, size_t size)
{
    snprintf(buf, size, "batchnorm%s", l->relu ? " relu" : "");
}

static dg_status batchnorm_init(dg_layer *l)
{
    l->out = l->in;
    l->n_weights = (size_t)l->in.c;
    l->n_bias = (size_t)l->in.c;
    l->n_state = 2 * (size_t)l->in.c;
    l->aux_bytes_per_item = 2 * (size_t)l->in.c * sizeof(float);
    return DG_OK;
}

/* gamma 1, beta 0, running mean 0, running variance 1: the identity at the start. */
static void batchnorm_init_params(const dg_layer *l, float *p)
{
    size_t c = (size_t)l->in.c;
    for (size_t i = 0; i < c; i++) {
        p[i] = 1.0f;
        p[c + i] = 0.0f;
        p[2 * c + i] = 0.0f;
        p[3 * c + i] = 1.0f;
    }
}

static size_t batchnorm_scratch_floats(const dg_layer *l, int n)
{
    (void)n;
    return (size_t)l->in.h * l->in.w; /* one row's masked gradient */
}

static const float *running_mean(const dg_layer *l)
{
    return l->b + l->n_bias;
}

static const float *running_var(const dg_layer *l)
{
    return l->b + l->n_bias + l->in.c;
}

#define LANES 8 /* independent partial sums: the compiler keeps them in one vector */

/* Sum of p[0..s) - shift, and of its squares, with LANES partial sums in float (one row of
 * a channel is at most a few thousand values) added up in double by the caller. */
static void row_sums(const float *p, size_t s, float shift, double *sum, double *sq)
{
    float a[LANES] = {0}, b[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= s; i += LANES) {
        for (int j = 0; j < LANES; j++) {
            float d = p[i + j] - shift;
            a[j] += d;
            b[j] += d * d;
        }
    }
    for (; i < s; i++) {
        float d = p[i] - shift;
        a[0] += d;
        b[0] += d * d;
    }
    for (int j = 0; j < LANES; j++) {
        *sum += a[j];
        *sq += b[j];
    }
}

/* Mean and biased variance of channel c over the n examples. The squares are taken about
 * the channel's first value, so that a large mean does not swamp the variance. */
static void channel_stats(const float *x, int n, int channels, int c, size_t s, float *mean,
                          float *var)
{
    float shift = x[(size_t)c * s];
    double sum = 0.0, sq = 0.0, m = (double)n * (double)s;
    for (int e = 0; e < n; e++) {
        row_sums(x + ((size_t)e * channels + c) * s, s, shift, &sum, &sq);
    }
    double d = sum / m, v = sq / m - d * d;
    *mean = (float)(shift + d);
    *var = (float)(v > 0.0 ? v : 0.0);
}

/* y = x * scale + shift, then max(y, 0) when relu, over one row: blocks of LANES that
 * the compiler turns into vector code, then the rest. */
static void affine_row(const float *restrict x, float *restrict y, size_t s, float scale,
                       float shift, bool relu)
{
    float floor = relu ? 0.0f : -INFINITY;
    size_t i = 0;
    for (; i + LANES <= s; i += LANES) {
        for (int j = 0; j < LANES; j++) {
            float v = x[i + j] * scale + shift;
            y[i + j] = v > floor ? v : floor;
        }
    }
    for (; i < s; i++) {
        float v = x[i] * scale + shift;
        y[i] = v > floor ? v : floor;
    }
}

static void batchnorm_forward(const dg_layer *l, const float *x, float *y, int n, dg_layer_ctx *ctx)
{
    int channels = l->in.c;
    size_t s = (size_t)l->in.h * l->in.w;
    float *stats = ctx->aux; /* [2][C]: the slice's mean and biased variance */
    for (int c = 0; c < channels; c++) {
        float mean, var;
        if (ctx->is_training) {
            channel_stats(x, n, channels, c, s, &mean, &var);
            stats[c] = mean;
            stats[channels + c] = var;
        } else {
            mean = running_mean(l)[c];
            var = running_var(l)[c];
        }
        float scale = l->w[c] / sqrtf(var + EPS);
        float shift = l->b[c] - mean * scale;
        for (int e = 0; e < n; e++) {
            size_t at = ((size_t)e * channels + c) * s;
            affine_row(x + at, y + at, s, scale, shift, l->relu);
        }
    }
}

/* The output gradient of one row, masked where a fused ReLU gave 0, into dz[s]. */
static void masked_row(const float *restrict dy, const float *restrict y, size_t s, bool relu,
                       float *restrict dz)
{
    if (!relu) {
        memcpy(dz, dy, s * sizeof *dz);
        return;
    }
    size_t i = 0;
    for (; i + LANES <= s; i += LANES) {
        for (int j = 0; j < LANES; j++) {
            float g = dy[i + j];
            dz[i + j] = y[i + j] > 0.0f ? g : 0.0f;
        }
    }
    for (; i < s; i++) {
        float g = dy[i];
        dz[i] = y[i] > 0.0f ? g : 0.0f;
    }
}

/* dx = k * dz + a * x + b over one row. */
static void input_grad_row(const float *restrict dz, const float *restrict x, size_t s, float k,
                           float a, float b, float *restrict dx)
{
    size_t i = 0;
    for (; i + LANES <= s; i += LANES) {
        for (int j = 0; j < LANES; j++) {
            dx[i + j] = k * dz[i + j] + a * x[i + j] + b;
        }
    }
    for (; i < s; i++) {
        dx[i] = k * dz[i] + a * x[i] + b;
    }
}

/* Sums of dz and of dz * (x - mean) over one row, LANES partial sums, into the doubles. */
static void row_grad_sums(const float *dz, const float *x, size_t s, float mean, double *sum_dz,
                          double *sum_dz_xc)
{
    float a[LANES] = {0}, b[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= s; i += LANES) {
        for (int j = 0; j < LANES; j++) {
            a[j] += dz[i + j];
            b[j] += dz[i + j] * (x[i + j] - mean);
        }
    }
    for (; i < s; i++) {
        a[0] += dz[i];
        b[0] += dz[i] * (x[i] - mean);
    }
    for (int j = 0; j < LANES; j++) {
        *sum_dz += a[j];
        *sum_dz_xc += b[j];
    }
}

static void batchnorm_backward(const dg_layer *l, const float *x, const float *y, const float *dy,
                               float *dx, int n, dg_layer_ctx *ctx)
{
    int channels = l->in.c;
    size_t s = (size_t)l->in.h * l->in.w;
    const float *stats = ctx->aux;
    float *dz = ctx->scratch; /* [S] one row's masked output gradient */
    float *dgamma = ctx->dparams + l->param_offset, *dbeta = dgamma + l->n_weights;
    double m = (double)n * (double)s;
    for (int c = 0; c < channels; c++) {
        float mean = ctx->is_training ? stats[c] : running_mean(l)[c];
        float var = ctx->is_training ? stats[channels + c] : running_var(l)[c];
        float inv_std = 1.0f / sqrtf(var + EPS);
        double sum_dz = 0.0, sum_dz_xc = 0.0;
        for (int e = 0; e < n; e++) {
            size_t at = ((size_t)e * channels + c) * s;
            masked_row(dy + at, y + at, s, l->relu, dz);
            row_grad_sums(dz, x + at, s, mean, &sum_dz, &sum_dz_xc);
        }
        double sum_dz_xh = sum_dz_xc * inv_std;
        dbeta[c] += (float)sum_dz;
        dgamma[c] += (float)sum_dz_xh;
        if (!dx) {
            continue;
        }
        /* dx = k * (dz - mean_dz - (x - mean) * inv_std * mean_dz_xh) = k * dz + a * x + b */
        float k = l->w[c] * inv_std;
        float mean_dz = ctx->is_training ? (float)(sum_dz / m) : 0.0f;
        float slope = ctx->is_training ? (float)(sum_dz_xh / m) * inv_std : 0.0f;
        float a = -k * slope, b = -k * (mean_dz - mean * slope);
        for (int e = 0; e < n; e++) {
            size_t at = ((size_t)e * channels + c) * s;
            masked_row(dy + at, y + at, s, l->relu, dz);
            input_grad_row(dz, x + at, s, k, a, b, dx + at);
        }
    }
}

/* The slices' statistics merged into the whole batch's (the variance of the union is the
 * mean of the variances plus the variance of the means), then the running update. */
static void batchnorm_fold_state(const dg_layer *l, float *state, const void *const *aux,
                                 const int *counts, int slices)
{
    int channels = l->in.c;
    size_t s = (size_t)l->in.h * l->in.w;
    int total = 0;
    for (int r = 0; r < slices; r++) {
        total += counts[r];
    }
    if (total == 0) {
        return;
    }
    double m = (double)total * (double)s;
    float *mean_run = state, *var_run = state + channels;
    for (int c = 0; c < channels; c++) {
        double mean = 0.0, var = 0.0;
        for (int r = 0; r < slices; r++) {
            const float *stats = aux[r];
            mean += (double)counts[r] / total * stats[c];
        }
        for (int r = 0; r < slices; r++) {
            const float *stats = aux[r];
            double d = stats[c] - mean;
            var += (double)counts[r] / total * (stats[channels + c] + d * d);
        }
        double unbiased = m > 1.0 ? var * m / (m - 1.0) : var;
        mean_run[c] = (1.0f - MOMENTUM) * mean_run[c] + MOMENTUM * (float)mean;
        var_run[c] = (1.0f - MOMENTUM) * var_run[c] + MOMENTUM * (float)unbiased;
    }
}

/* A running variance below zero would give a NaN at inference. */
static const char *batchnorm_check_state(const dg_layer *l, char *why, size_t size)
{
    const float *var = running_var(l);
    for (int c = 0; c < l->in.c; c++) {
        if (!(var[c] >= 0.0f)) {
            snprintf(why, size, "running variance %g of channel %d (want >= 0)", (double)var[c], c);
            return why;
        }
    }
    return NULL;
}

const dg_layer_ops dg_batchnorm2d_ops = {
    .id = 10,
    .name = "batchnorm",
    .parse = batchnorm_parse,
    .usage = "[relu]",
    .example = "batchnorm relu",
    .describe = batchnorm_describe,
    .init = batchnorm_init,
    .init_params = batchnorm_init_params,
    .scratch_floats = batchnorm_scratch_floats,
    .forward = batchnorm_forward,
    .backward = batchnorm_backward,
    .fold_state = batchnorm_fold_state,
    .check_state = batchnorm_check_state,
};
