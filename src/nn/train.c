/*
 * train.c - the training loop: validation split, per-epoch shuffling, mini-batches of
 * normalised images, forward, backward, optimiser step, learning-rate schedule, and
 * progress through callbacks. Evaluation lives in evaluate.c.
 *
 * Legend: N batch, S = H*W pixels of one image. xbuf [N][1][H][W] floats, ybuf [N].
 */
#include "digits.h"

#include <math.h>
#include <stdlib.h>
#include <time.h>

#define EVAL_CHUNK 128

dg_train_config dg_train_defaults(void)
{
    dg_train_config c = {
        .epochs = 5,
        .batch = 32,
        .optim = dg_optim_defaults(DG_OPTIM_ADAM),
        .schedule = DG_SCHEDULE_CONSTANT,
        .val_split = 0.1,
        .seed = 1,
        .shuffle = true,
        .init_params = true,
        .norm = dg_norm_default(),
    };
    return c;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The learning rate of a step (dg_schedule says what each schedule does). */
static float scheduled_lr(const dg_train_config *cfg, long step, long total)
{
    float lr = cfg->optim.lr;
    if (cfg->schedule == DG_SCHEDULE_CONSTANT || total <= 1) {
        return lr;
    }
    double pct = (double)step / (double)(total - 1);
    if (cfg->schedule == DG_SCHEDULE_COSINE) {
        double lo = lr * 1e-2;
        return (float)(lo + (lr - lo) * 0.5 * (1.0 + cos(M_PI * pct)));
    }
    const double warm = 0.25;
    if (pct < warm) {
        return (float)(lr * (0.1 + 0.9 * pct / warm));
    }
    double t = (pct - warm) / (1.0 - warm);
    double lo = lr * 1e-3;
    return (float)(lo + (lr - lo) * 0.5 * (1.0 + cos(M_PI * t)));
}

static dg_status check_data(const dg_net *net, const dg_dataset *ds)
{
    dg_shape in = dg_net_input_shape(net);
    if (in.c != 1 || (uint32_t)in.h != ds->h || (uint32_t)in.w != ds->w) {
        return dg_fail(DG_ERR_MISMATCH, "data has %ux%u images, the network takes %dx%dx%d", ds->h,
                       ds->w, in.c, in.h, in.w);
    }
    int classes = dg_net_classes(net);
    for (uint32_t i = 0; i < ds->n; i++) {
        if (ds->labels[i] >= classes) {
            return dg_fail(DG_ERR_MISMATCH,
                           "label %u of example %u is beyond the network's %d "
                           "classes",
                           ds->labels[i], i, classes);
        }
    }
    return DG_OK;
}

typedef struct train_state {
    dg_net *net;
    const dg_dataset *ds;
    const dg_train_config *cfg;
    const dg_train_callbacks *cb;
    dg_optim *opt;
    dg_rng rng;
    uint32_t *order; /* [n_train] */
    float *xbuf;     /* [N][S] */
    uint8_t *ybuf;   /* [N] */
    uint32_t n_train, n_val;
    long step, total_steps;
} train_state;

static dg_status run_epoch(train_state *s, int epoch, dg_epoch_stats *st)
{
    const dg_train_config *cfg = s->cfg;
    size_t pixels = (size_t)s->ds->h * s->ds->w;
    int classes = dg_net_classes(s->net);
    if (cfg->shuffle) {
        dg_rng_shuffle(&s->rng, s->order, s->n_train);
    }
    int steps = (int)((s->n_train + (uint32_t)cfg->batch - 1) / (uint32_t)cfg->batch);
    double loss_sum = 0.0, t0 = now_seconds();
    long correct = 0, seen = 0;
    for (int k = 0; k < steps; k++) {
        uint32_t first = (uint32_t)k * (uint32_t)cfg->batch;
        int n = (int)(s->n_train - first < (uint32_t)cfg->batch ? s->n_train - first
                                                                : (uint32_t)cfg->batch);
        for (int i = 0; i < n; i++) {
            uint32_t e = s->order[first + (uint32_t)i];
            dg_normalise(&cfg->norm, s->ds->images + (size_t)e * pixels, pixels,
                         s->xbuf + (size_t)i * pixels);
            s->ybuf[i] = s->ds->labels[e];
        }
        const float *probs;
        dg_status status = dg_net_forward(s->net, s->xbuf, n, true, &s->rng, &probs);
        if (status != DG_OK) {
            return status;
        }
        for (int i = 0; i < n; i++) {
            correct += dg_argmax(probs + (size_t)i * classes, classes) == s->ybuf[i];
        }
        float loss = dg_net_backward(s->net, s->ybuf, n);
        loss_sum += (double)loss * n;
        seen += n;
        float lr = scheduled_lr(cfg, s->step++, s->total_steps);
        dg_optim_step(s->opt, dg_net_params(s->net), dg_net_grads(s->net), lr);
        if (s->cb && s->cb->on_step) {
            s->cb->on_step(s->cb->user, epoch, k + 1, steps, loss_sum / (double)seen,
                           (double)correct / (double)seen, now_seconds() - t0);
        }
    }
    st->epoch = epoch;
    st->seconds = now_seconds() - t0;
    st->loss = loss_sum / (double)seen;
    st->accuracy = (double)correct / (double)seen;
    st->images_per_second = st->seconds > 0 ? (double)seen / st->seconds : 0.0;
    st->val_loss = st->val_accuracy = -1.0;
    return DG_OK;
}

dg_status dg_train(dg_net *net, const dg_dataset *ds, const dg_train_config *cfg,
                   const dg_train_callbacks *cb)
{
    if (cfg->epochs < 1 || cfg->batch < 1 || cfg->batch > 65536 || !(cfg->val_split >= 0.0) ||
        !(cfg->val_split < 1.0)) {
        return dg_fail(DG_ERR_ARG,
                       "training settings out of range (epochs %d, batch %d, "
                       "validation split %g)",
                       cfg->epochs, cfg->batch, cfg->val_split);
    }
    dg_status status = check_data(net, ds);
    if (status != DG_OK) {
        return status;
    }
    train_state s = {.net = net, .ds = ds, .cfg = cfg, .cb = cb};
    s.n_val = (uint32_t)((double)ds->n * cfg->val_split);
    s.n_train = ds->n - s.n_val;
    if (s.n_train < 1) {
        return dg_fail(DG_ERR_ARG, "no training examples left after the validation split");
    }
    dg_rng_seed(&s.rng, cfg->seed);
    if (cfg->init_params) {
        dg_net_init_params(net, &s.rng);
    }
    status = dg_net_prepare(net, cfg->batch > EVAL_CHUNK ? cfg->batch : EVAL_CHUNK);
    if (status != DG_OK) {
        return status;
    }
    status = dg_optim_new(&cfg->optim, dg_net_param_count(net), &s.opt);
    if (status != DG_OK) {
        return status;
    }
    size_t pixels = (size_t)ds->h * ds->w;
    s.order = malloc(s.n_train * sizeof *s.order);
    s.xbuf = malloc((size_t)cfg->batch * pixels * sizeof *s.xbuf);
    s.ybuf = malloc((size_t)cfg->batch);
    if (!s.order || !s.xbuf || !s.ybuf) {
        status = dg_fail(DG_ERR_NOMEM, "out of memory for training buffers");
        goto done;
    }
    for (uint32_t i = 0; i < s.n_train; i++) {
        s.order[i] = i;
    }
    long steps = (long)((s.n_train + (uint32_t)cfg->batch - 1) / (uint32_t)cfg->batch);
    s.total_steps = steps * cfg->epochs;
    for (int epoch = 1; epoch <= cfg->epochs; epoch++) {
        dg_epoch_stats st;
        status = run_epoch(&s, epoch, &st);
        if (status != DG_OK) {
            goto done;
        }
        if (s.n_val > 0) {
            dg_eval ev;
            status = dg_evaluate(net, ds, &cfg->norm, s.n_train, s.n_val, &ev, NULL, NULL);
            if (status != DG_OK) {
                goto done;
            }
            st.val_loss = ev.loss;
            st.val_accuracy = ev.accuracy;
        }
        if (!isfinite(st.loss)) {
            status = dg_fail(DG_ERR_ARG,
                             "training diverged in epoch %d (loss is not finite); "
                             "try a smaller learning rate",
                             epoch);
            goto done;
        }
        if (cb && cb->on_epoch && !cb->on_epoch(cb->user, &st)) {
            break;
        }
    }
done:
    dg_optim_free(s.opt);
    free(s.order);
    free(s.xbuf);
    free(s.ybuf);
    return status;
}
