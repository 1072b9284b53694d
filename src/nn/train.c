/*
 * train.c - the training loop: validation split, per-epoch shuffling, mini-batches of
 * normalised images, forward, backward, optimiser step, learning-rate schedule, progress
 * through callbacks; the divergence guard at every step, early stopping and the best
 * epoch's weights; checkpoints of the whole state and resuming from one. Evaluation lives
 * in evaluate.c, checkpoint files in checkpoint.c.
 *
 * Everything that the rest of a run depends on is in train_state and goes into a
 * checkpoint: weights, optimiser moments and step, the random state (shuffling and the
 * dropout seeds), the example order, the position (epoch, step) and the epoch's running
 * sums, the best epoch's record and the history. Resuming restores all of it, so the
 * remaining steps compute the same bits.
 *
 * With augmentation on, each step draws one seed from the run's generator and the net's
 * threads fill the batch, example i of the step from seed + i (data/augment.c): the
 * images depend on the seed and the step only, not on the thread count, and the seed
 * comes from the checkpointed generator, so a resumed run draws the same images.
 *
 * Legend: N batch, S = H*W pixels of one image, P parameters, T threads. ybuf [N],
 * aug_work [T][dg_augment_work_floats]. The images are normalised (or augmented) by the
 * slices' threads straight into each slice's input, from the dataset's bytes.
 */
#include "base/parallel.h"
#include "digits.h"
#include "nn/checkpoint.h"
#include "nn/codec.h"
#include "nn/cpu/cpu.h"
#include "nn/net.h"
#include "nn/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
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
        .checkpoint_every = 0,
        .early_stop = 0,
        .keep_best = false,
        .augment = dg_augment_defaults(),
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
    uint8_t *ybuf;   /* [N] */
    uint32_t n_train, n_val, data_crc;
    long step, total_steps;
    int steps;                /* per epoch */
    int k;                    /* steps done in the epoch in progress (0: not started) */
    double loss_sum, seconds; /* the epoch in progress: sum of losses, seconds before now */
    long correct, seen;
    dg_train_progress prog;
    dg_history_row *history; /* [epochs] */
    float *best;             /* [P] weights of prog.best_epoch, when early_stop or keep_best */
    dg_checkpoint *ck;       /* filled for on_checkpoint */
    float *aug_work;         /* [T][work] when augmenting */
    size_t aug_floats;       /* work floats per thread */
    uint8_t *form_work;      /* [T][2][H*W] when drawing forms of writing */
} train_state;

/* What the slices filling their inputs from a batch share. */
typedef struct fill_args {
    const train_state *s;
    uint32_t first; /* the batch's first position in s->order */
    uint64_t seed;  /* of the batch's augmentation and forms of writing, when on */
} fill_args;

/* A training 1 drawn with a flag in cfg->flagged_ones of the draws from seed (a stream of
 * its own, apart from the augmentation's), in thread t's work space; else image itself. */
static const uint8_t *flag_one(const train_state *s, uint64_t seed, const uint8_t *image, int t)
{
    dg_rng rng;
    dg_rng_seed(&rng, seed ^ 0x666c616767656431ull);
    if (!(dg_rng_uniform(&rng) < s->cfg->flagged_ones)) {
        return image;
    }
    size_t pixels = (size_t)s->ds->h * s->ds->w;
    uint8_t *out = s->form_work + (size_t)t * 2 * pixels;
    dg_form_flagged_one(dg_rng_next(&rng), image, s->ds->h, s->ds->w, out + pixels, out);
    return out;
}

/* Examples [i, i + n) of the batch into x, normalised (and augmented, by thread t in its
 * own work space) straight from the dataset's bytes into the slice's input. */
static void fill_examples(void *arg, int i, int n, float *x, int t)
{
    const fill_args *a = arg;
    const train_state *s = a->s;
    size_t pixels = (size_t)s->ds->h * s->ds->w;
    for (int j = i; j < i + n; j++, x += pixels) {
        uint32_t e = s->order[a->first + (uint32_t)j];
        const uint8_t *image = s->ds->images + (size_t)e * pixels;
        if (s->ds->labels[e] == 1 && s->cfg->flagged_ones > 0) {
            image = flag_one(s, a->seed + (uint64_t)j, image, t);
        }
        if (s->cfg->augment.on) {
            dg_augment_image(&s->cfg->augment, &s->cfg->norm, a->seed + (uint64_t)j, image,
                             s->ds->h, s->ds->w, s->aug_work + (size_t)t * s->aug_floats, x);
        } else {
            dg_normalise(&s->cfg->norm, image, pixels, x);
        }
    }
}

/* The optimiser's step on one part of the parameters, as soon as its gradients are whole
 * (dg_net_train_pass). */
static void update_span(void *arg, float *params, const float *grads, size_t first, size_t n)
{
    dg_optim_update(arg, params, grads, first, n);
}

static bool all_finite(const float *x, size_t n)
{
    return dg_floats_finite(x, n);
}

/* The model metadata a checkpoint embeds: the caller's, or defaults for the net. */
static void checkpoint_meta(const train_state *s, dg_model_meta *m)
{
    if (s->cfg->meta) {
        *m = *s->cfg->meta;
    } else {
        dg_model_meta_default(m);
        m->classes = dg_net_classes(s->net);
        for (int c = 0; c < m->classes && c < DG_MAX_CLASSES; c++) {
            snprintf(m->labels[c], sizeof m->labels[c], "%d", c);
        }
    }
    m->norm = s->cfg->norm;
    m->seed = s->cfg->seed;
    m->epochs = s->cfg->epochs;
    m->batch = s->cfg->batch;
    m->lr = s->cfg->optim.lr;
    m->n_train = s->n_train;
    m->precision = dg_net_precision(s->net);
}

/* Copies the state into s->ck and hands it to on_checkpoint (nothing without one). */
static dg_status checkpoint(train_state *s)
{
    if (!s->cb || !s->cb->on_checkpoint) {
        return DG_OK;
    }
    dg_checkpoint *ck = s->ck;
    size_t n = dg_net_param_count(s->net);
    /* an update can overflow with finite gradients: such weights are never checkpointed */
    if (!all_finite(dg_net_params_const(s->net), n)) {
        return dg_fail(DG_ERR_DIVERGED,
                       "training diverged in epoch %d after step %d: a weight is not finite; "
                       "try a smaller learning rate",
                       s->prog.epoch + (s->k > 0), s->k ? s->k : s->steps);
    }
    ck->threads = dg_net_threads(s->net);
    memcpy(dg_net_params(ck->net), dg_net_params_const(s->net), n * sizeof(float));
    checkpoint_meta(s, &ck->meta);
    ck->cfg = *s->cfg;
    ck->cfg.init_params = false;
    ck->cfg.stop = NULL;
    ck->cfg.resume = NULL;
    ck->cfg.meta = NULL;
    ck->cfg.files = NULL;
    memset(&ck->files, 0, sizeof ck->files);
    if (s->cfg->files) {
        ck->files = *s->cfg->files;
    }
    ck->progress = s->prog;
    ck->progress.step = s->k;
    ck->progress.steps = s->steps;
    ck->progress.total_step = s->step;
    ck->n_examples = s->ds->n;
    ck->data_crc = s->data_crc;
    ck->n_train = s->n_train;
    ck->rng = s->rng;
    memcpy(ck->order, s->order, s->n_train * sizeof *s->order);
    ck->loss_sum = s->k ? s->loss_sum : 0.0;
    ck->correct = s->k ? (uint64_t)s->correct : 0;
    ck->seen = s->k ? (uint64_t)s->seen : 0;
    ck->seconds = s->k ? s->seconds : 0.0;
    float *m, *v;
    long *step;
    dg_optim_state(s->opt, &m, &v, &step);
    memcpy(ck->m, m, n * sizeof *m);
    memcpy(ck->v, v, n * sizeof *v);
    ck->optim_step = *step;
    if (s->best && ck->best) {
        memcpy(ck->best, s->best, n * sizeof *s->best);
    }
    memcpy(ck->history, s->history, (size_t)s->prog.epoch * sizeof *s->history);
    return s->cb->on_checkpoint(s->cb->user, ck);
}

static dg_status stopped(const train_state *s, int epoch)
{
    if (s->k == 0) {
        return dg_fail(DG_ERR_STOPPED, "training stopped after epoch %d of %d", epoch,
                       s->cfg->epochs);
    }
    return dg_fail(DG_ERR_STOPPED, "training stopped in epoch %d of %d, after step %d of %d", epoch,
                   s->cfg->epochs, s->k, s->steps);
}

static bool stop_requested(const train_state *s)
{
    return s->cfg->stop && *s->cfg->stop;
}

static dg_status run_epoch(train_state *s, int epoch, dg_epoch_stats *st)
{
    const dg_train_config *cfg = s->cfg;
    int classes = dg_net_classes(s->net);
    if (s->k == 0) {
        if (cfg->shuffle) {
            dg_rng_shuffle(&s->rng, s->order, s->n_train);
        }
        s->loss_sum = 0.0;
        s->correct = s->seen = 0;
        s->seconds = 0.0;
    }
    int steps = s->steps;
    double t0 = now_seconds();
    for (int k = s->k; k < steps; k++) {
        uint32_t first = (uint32_t)k * (uint32_t)cfg->batch;
        int n = (int)(s->n_train - first < (uint32_t)cfg->batch ? s->n_train - first
                                                                : (uint32_t)cfg->batch);
        for (int i = 0; i < n; i++) {
            s->ybuf[i] = s->ds->labels[s->order[first + (uint32_t)i]];
        }
        /* the batch's seed is drawn only when augmentation or forms are on: runs without
         * them draw what they always drew */
        bool seeded = cfg->augment.on || cfg->flagged_ones > 0;
        fill_args fa = {s, first, seeded ? dg_rng_next(&s->rng) : 0};
        dg_optim_begin(s->opt, scheduled_lr(cfg, s->step, s->total_steps));
        const float *probs;
        float loss;
        dg_status status = dg_net_train_pass(s->net, fill_examples, &fa, s->ybuf, n, &s->rng,
                                             update_span, s->opt, &probs, &loss);
        if (status != DG_OK) {
            return status;
        }
        long correct = 0;
        for (int i = 0; i < n; i++) {
            correct += dg_argmax(probs + (size_t)i * classes, classes) == s->ybuf[i];
        }
        /* no part whose gradients are not finite was updated: the weights stay finite, and
         * the last checkpoint good */
        if (!isfinite(loss) || !dg_net_grads_finite(s->net)) {
            return dg_fail(DG_ERR_DIVERGED,
                           "training diverged in epoch %d at step %d of %d: the %s is %s; try a "
                           "smaller learning rate",
                           epoch, k + 1, steps, isfinite(loss) ? "gradient" : "loss",
                           isfinite(loss) ? "not finite" : (isnan(loss) ? "NaN" : "infinite"));
        }
        s->correct += correct;
        s->loss_sum += (double)loss * n;
        s->seen += n;
        s->step++;
        s->k = k + 1;
        double elapsed = s->seconds + (now_seconds() - t0);
        if (s->cb && s->cb->on_step) {
            s->cb->on_step(s->cb->user, epoch, k + 1, steps, s->loss_sum / (double)s->seen,
                           (double)s->correct / (double)s->seen, elapsed);
        }
        /* the last step's state is saved at the epoch's end, after validation */
        bool stop = stop_requested(s);
        if (k + 1 < steps &&
            (stop || (cfg->checkpoint_every > 0 && s->step % cfg->checkpoint_every == 0))) {
            double saved = s->seconds;
            s->seconds = elapsed;
            status = checkpoint(s);
            s->seconds = saved;
            if (status != DG_OK) {
                return status;
            }
            if (stop) {
                return stopped(s, epoch);
            }
        }
    }
    st->epoch = epoch;
    st->seconds = s->seconds + (now_seconds() - t0);
    st->loss = s->loss_sum / (double)s->seen;
    st->accuracy = (double)s->correct / (double)s->seen;
    st->images_per_second = st->seconds > 0 ? (double)s->seen / st->seconds : 0.0;
    st->val_loss = st->val_accuracy = -1.0;
    return DG_OK;
}

/* Early stopping and the best epoch, after epoch e's validation (Keras's EarlyStopping:
 * an improvement is a strictly lower loss; patience counts the epochs since the last). */
static void track_best(train_state *s, const dg_epoch_stats *st)
{
    const dg_train_config *cfg = s->cfg;
    dg_train_progress *p = &s->prog;
    if (!s->best || st->val_accuracy < 0) {
        return;
    }
    bool loss_better = p->best_epoch == 0 || st->val_loss < p->best_val_loss;
    bool acc_better = p->best_epoch == 0 || st->val_accuracy > p->best_val_accuracy;
    if (loss_better) {
        p->bad_epochs = 0;
    } else {
        p->bad_epochs++;
    }
    bool keep = cfg->keep_best ? acc_better : loss_better;
    if (keep) {
        memcpy(s->best, dg_net_params_const(s->net), dg_net_param_count(s->net) * sizeof(float));
        p->best_epoch = st->epoch;
    }
    if (loss_better || p->best_val_loss < 0) {
        p->best_val_loss = st->val_loss;
    }
    if (acc_better) {
        p->best_val_accuracy = st->val_accuracy;
    }
    if (cfg->early_stop > 0 && p->bad_epochs >= cfg->early_stop) {
        p->early_stopped = true;
    }
}

/* Off on both, or on with the same ranges. */
static bool same_augment(const dg_augment *a, const dg_augment *b)
{
    if (a->on != b->on) {
        return false;
    }
    return !a->on || (a->rotate == b->rotate && a->scale == b->scale && a->shift == b->shift &&
                      a->shear == b->shear && a->elastic_alpha == b->elastic_alpha &&
                      a->elastic_sigma == b->elastic_sigma);
}

static bool same_settings(const dg_train_config *a, const dg_train_config *b, const char **what)
{
    *what = a->batch != b->batch                     ? "batch size"
            : a->optim.kind != b->optim.kind         ? "optimiser"
            : a->optim.lr != b->optim.lr             ? "learning rate"
            : a->optim.beta1 != b->optim.beta1       ? "beta1"
            : a->optim.beta2 != b->optim.beta2       ? "beta2"
            : a->optim.eps != b->optim.eps           ? "epsilon"
            : a->optim.momentum != b->optim.momentum ? "momentum"
            : a->schedule != b->schedule             ? "schedule"
            : a->val_split != b->val_split           ? "validation split"
            : a->seed != b->seed                     ? "seed"
            : a->shuffle != b->shuffle               ? "shuffling"
            : a->flagged_ones != b->flagged_ones     ? "share of flagged ones"
            : a->norm.scale != b->norm.scale || a->norm.mean != b->norm.mean ||
                    a->norm.std != b->norm.std
                ? "normalisation"
            : a->early_stop != b->early_stop          ? "early-stop patience"
            : a->keep_best != b->keep_best            ? "keep-best"
            : !same_augment(&a->augment, &b->augment) ? "augmentation"
            : a->precision != b->precision            ? "precision"
                                                      : NULL;
    return *what == NULL;
}

/* Restores a checkpoint's state into s (buffers allocated, net built). */
static dg_status resume(train_state *s, const dg_checkpoint *ck)
{
    const dg_train_config *cfg = s->cfg;
    const char *what;
    if (strcmp(dg_net_spec(s->net), dg_net_spec(ck->net)) ||
        dg_net_param_count(s->net) != ck->n_params) {
        return dg_fail(DG_ERR_MISMATCH, "the network is not the checkpoint's (%s)",
                       dg_net_spec(ck->net));
    }
    if (!same_settings(cfg, &ck->cfg, &what)) {
        return dg_fail(DG_ERR_MISMATCH, "the %s differs from the checkpoint's", what);
    }
    if (cfg->epochs < ck->progress.epoch + (ck->progress.step > 0)) {
        return dg_fail(DG_ERR_ARG, "the checkpoint is %s epoch %d: %d epochs is too few",
                       ck->progress.step > 0 ? "in" : "after",
                       ck->progress.epoch + (ck->progress.step > 0), cfg->epochs);
    }
    if (s->ds->n != ck->n_examples || s->data_crc != ck->data_crc || s->n_train != ck->n_train) {
        return dg_fail(DG_ERR_MISMATCH,
                       "the data differs from the checkpoint's (%u examples, checksum 0x%08x; "
                       "the checkpoint's run had %u, 0x%08x)",
                       s->ds->n, s->data_crc, ck->n_examples, ck->data_crc);
    }
    if ((cfg->early_stop || cfg->keep_best) && ck->progress.best_epoch > 0 && !ck->best) {
        return dg_fail(DG_ERR_MISMATCH, "the checkpoint lacks the best epoch's weights");
    }
    size_t n = ck->n_params;
    memcpy(dg_net_params(s->net), dg_net_params_const(ck->net), n * sizeof(float));
    float *m, *v;
    long *step;
    dg_optim_state(s->opt, &m, &v, &step);
    memcpy(m, ck->m, n * sizeof *m);
    memcpy(v, ck->v, n * sizeof *v);
    *step = ck->optim_step;
    s->rng = ck->rng;
    memcpy(s->order, ck->order, s->n_train * sizeof *s->order);
    s->prog = ck->progress;
    s->step = ck->progress.total_step;
    s->k = ck->progress.step;
    s->loss_sum = ck->loss_sum;
    s->correct = (long)ck->correct;
    s->seen = (long)ck->seen;
    s->seconds = ck->seconds;
    if (s->best && ck->best) {
        memcpy(s->best, ck->best, n * sizeof *s->best);
    }
    memcpy(s->history, ck->history, (size_t)ck->progress.epoch * sizeof *s->history);
    return DG_OK;
}

static dg_status epoch_end(train_state *s, dg_epoch_stats *st, bool *go_on)
{
    const dg_train_config *cfg = s->cfg;
    if (s->n_val > 0) {
        dg_eval ev;
        dg_status status =
            dg_evaluate(s->net, s->ds, &cfg->norm, s->n_train, s->n_val, &ev, NULL, NULL);
        if (status != DG_OK) {
            return status;
        }
        st->val_loss = ev.loss;
        st->val_accuracy = ev.accuracy;
    }
    if (!all_finite(dg_net_params_const(s->net), dg_net_param_count(s->net))) {
        return dg_fail(DG_ERR_DIVERGED,
                       "training diverged in epoch %d: a weight is not finite; try a smaller "
                       "learning rate",
                       st->epoch);
    }
    dg_history_row row = {st->epoch,    st->loss,         st->accuracy,
                          st->val_loss, st->val_accuracy, st->seconds};
    s->history[st->epoch - 1] = row;
    track_best(s, st);
    s->prog.epoch = st->epoch;
    s->k = 0;
    *go_on = !(s->cb && s->cb->on_epoch && !s->cb->on_epoch(s->cb->user, st));
    return checkpoint(s);
}

static dg_status check_config(const dg_train_config *cfg)
{
    if (cfg->epochs < 1 || cfg->batch < 1 || cfg->batch > 65536 || !(cfg->val_split >= 0.0) ||
        !(cfg->val_split < 1.0) || cfg->checkpoint_every < 0 || cfg->early_stop < 0) {
        return dg_fail(DG_ERR_ARG,
                       "training settings out of range (epochs %d, batch %d, "
                       "validation split %g)",
                       cfg->epochs, cfg->batch, cfg->val_split);
    }
    if (cfg->augment.on) {
        dg_status st = dg_augment_check(&cfg->augment);
        if (st != DG_OK) {
            return st;
        }
    }
    if (!(cfg->flagged_ones >= 0.0f && cfg->flagged_ones <= 1.0f)) {
        return dg_fail(DG_ERR_ARG, "flagged ones %g out of range (a share, 0..1)",
                       (double)cfg->flagged_ones);
    }
    if (cfg->flagged_ones > 0 && cfg->meta &&
        (cfg->meta->classes < 2 || strcmp(cfg->meta->labels[1], "1") != 0)) {
        return dg_fail(DG_ERR_ARG,
                       "flagged ones are for digits: class 1 of this run is '%s', "
                       "not '1'",
                       cfg->meta->classes < 2 ? "" : cfg->meta->labels[1]);
    }
    if ((cfg->early_stop > 0 || cfg->keep_best) && !(cfg->val_split > 0.0)) {
        return dg_fail(DG_ERR_ARG, "early stopping and keeping the best epoch need a "
                                   "validation split");
    }
    return DG_OK;
}

dg_status dg_train(dg_net *net, const dg_dataset *ds, const dg_train_config *cfg,
                   const dg_train_callbacks *cb)
{
    dg_status status = check_config(cfg);
    if (status != DG_OK) {
        return status;
    }
    status = check_data(net, ds);
    if (status != DG_OK) {
        return status;
    }
    train_state s = {.net = net, .ds = ds, .cfg = cfg, .cb = cb};
    s.n_val = (uint32_t)((double)ds->n * cfg->val_split);
    s.n_train = ds->n - s.n_val;
    if (s.n_train < 1) {
        return dg_fail(DG_ERR_ARG, "no training examples left after the validation split");
    }
    s.prog.best_val_loss = s.prog.best_val_accuracy = -1.0;
    dg_rng_seed(&s.rng, cfg->seed);
    if (cfg->init_params && !cfg->resume) {
        dg_net_init_params(net, &s.rng);
    }
    dg_precision was = dg_net_precision(net);
    dg_net_set_precision(net, cfg->precision);
    status = dg_net_prepare(net, cfg->batch > EVAL_CHUNK ? cfg->batch : EVAL_CHUNK);
    if (status == DG_OK) {
        status = dg_optim_new(&cfg->optim, dg_net_param_count(net), &s.opt);
    }
    if (status != DG_OK) {
        dg_net_set_precision(net, was);
        return status;
    }
    size_t pixels = (size_t)ds->h * ds->w;
    size_t n_params = dg_net_param_count(net);
    bool want_best = cfg->early_stop > 0 || cfg->keep_best;
    s.order = malloc(s.n_train * sizeof *s.order);
    s.ybuf = malloc((size_t)cfg->batch);
    s.history = calloc((size_t)cfg->epochs, sizeof *s.history);
    s.best = want_best ? malloc((n_params ? n_params : 1) * sizeof *s.best) : NULL;
    if (cfg->augment.on) {
        s.aug_floats = dg_augment_work_floats(ds->h, ds->w);
        s.aug_work = malloc((size_t)dg_net_threads(net) * s.aug_floats * sizeof *s.aug_work);
    }
    if (cfg->flagged_ones > 0) {
        s.form_work = malloc((size_t)dg_net_threads(net) * 2 * pixels);
    }
    if (!s.order || !s.ybuf || !s.history || (want_best && !s.best) ||
        (cfg->augment.on && !s.aug_work) || (cfg->flagged_ones > 0 && !s.form_work)) {
        status = dg_fail(DG_ERR_NOMEM, "out of memory for training buffers");
        goto done;
    }
    if (cb && cb->on_checkpoint) {
        status = dg_checkpoint_alloc(net, s.n_train, want_best, cfg->epochs, &s.ck);
        if (status != DG_OK) {
            goto done;
        }
    }
    if ((cb && cb->on_checkpoint) || cfg->resume) {
        /* what a resumed run checks that it trains on: the examples used, labels first */
        s.data_crc = dg_crc32(ds->labels, ds->n);
        s.data_crc = dg_crc32_more(s.data_crc, ds->images, (size_t)ds->n * pixels);
    }
    for (uint32_t i = 0; i < s.n_train; i++) {
        s.order[i] = i;
    }
    s.steps = (int)((s.n_train + (uint32_t)cfg->batch - 1) / (uint32_t)cfg->batch);
    s.total_steps = (long)s.steps * cfg->epochs;
    if (cfg->resume) {
        status = resume(&s, cfg->resume);
        if (status != DG_OK) {
            goto done;
        }
    }
    /* beside another busy process, the pool's threads would otherwise share one core */
    dg_pool_keep_off_caller(dg_net_pool(net), true);
    bool go_on = !s.prog.early_stopped;
    for (int epoch = s.prog.epoch + 1; go_on && epoch <= cfg->epochs; epoch++) {
        dg_epoch_stats st;
        status = run_epoch(&s, epoch, &st);
        if (status == DG_OK) {
            status = epoch_end(&s, &st, &go_on);
        }
        if (status != DG_OK) {
            goto done;
        }
        if (s.prog.early_stopped) {
            break;
        }
        if (stop_requested(&s) && epoch < cfg->epochs) {
            status = stopped(&s, epoch);
            goto done;
        }
    }
    if (s.best && s.prog.best_epoch > 0) {
        memcpy(dg_net_params(net), s.best, n_params * sizeof *s.best);
    }
done:
    dg_pool_keep_off_caller(dg_net_pool(net), false);
    dg_net_set_precision(net, was);
    dg_checkpoint_free(s.ck);
    dg_optim_free(s.opt);
    free(s.order);
    free(s.ybuf);
    free(s.history);
    free(s.best);
    free(s.aug_work);
    free(s.form_work);
    return status;
}
