/*
 * test_train.c - training that can be stopped and continued: a run stopped at an epoch
 * boundary or in the middle of an epoch and resumed from its checkpoint ends with the
 * same weights, bit for bit, as the run never stopped; the divergence guard stops at the
 * step where the loss goes bad; early stopping restores the best epoch; checkpoints are
 * refused as models and damaged checkpoints are refused. Small generated data, not MNIST.
 */
#include "test.h"

#include <stdlib.h>
#include <string.h>

#define SIDE 8

/* n images of SIDE x SIDE: class c is a bright row at 2 + (c % 5) / 2, left or right half
 * by c / 5, with noise; labels random when shuffled_labels. */
static dg_dataset *make_data(uint32_t n, uint64_t seed, bool random_labels)
{
    dg_dataset *ds = test_dataset_new(n, SIDE);
    if (!ds) {
        return NULL;
    }
    dg_rng rng;
    dg_rng_seed(&rng, seed);
    for (uint32_t i = 0; i < n; i++) {
        int c = (int)(i % 10);
        uint8_t *img = ds->images + (size_t)i * SIDE * SIDE;
        for (int p = 0; p < SIDE * SIDE; p++) {
            img[p] = (uint8_t)dg_rng_below(&rng, 60);
        }
        int row = 1 + c % 5, col0 = c < 5 ? 0 : SIDE / 2;
        for (int x = col0; x < col0 + SIDE / 2; x++) {
            img[row * SIDE + x] = 255;
        }
        ds->labels[i] = (uint8_t)(random_labels ? dg_rng_below(&rng, 10) : (uint32_t)c);
    }
    return ds;
}

static dg_train_config small_config(void)
{
    dg_train_config cfg = dg_train_defaults();
    cfg.epochs = 3;
    cfg.batch = 16;
    cfg.val_split = 0.2;
    cfg.seed = 11;
    cfg.schedule = DG_SCHEDULE_COSINE;
    return cfg;
}

static const char *const small_spec = "conv 4 3 relu, maxpool 2, flatten, dropout 0.25, dense 10";
/* With batch normalisation, whose running statistics are part of the state to resume. */
static const char *const bn_spec =
    "conv 4 3, batchnorm relu, maxpool 2, flatten, dense 8, batchnorm relu, dense 10";

/* What the callbacks of a run see and do. */
typedef struct run_log {
    volatile sig_atomic_t stop;
    int stop_epoch, stop_step; /* set stop after this step (0: never) */
    const char *ckpt_path;     /* where checkpoints are saved */
    int checkpoints;
    dg_epoch_stats epochs[32];
    int n_epochs;
    dg_net *net;
    float *snapshots[32]; /* weights after each epoch, when snapshot */
    bool snapshot;
} run_log;

static void log_step(void *user, int epoch, int step, int steps, double loss, double acc,
                     double seconds)
{
    (void)steps;
    (void)loss;
    (void)acc;
    (void)seconds;
    run_log *log = user;
    if (epoch == log->stop_epoch && step == log->stop_step) {
        log->stop = 1;
    }
}

static bool log_epoch(void *user, const dg_epoch_stats *st)
{
    run_log *log = user;
    if (log->n_epochs < 32) {
        log->epochs[log->n_epochs] = *st;
        if (log->snapshot && log->net) {
            size_t n = dg_net_param_count(log->net);
            log->snapshots[log->n_epochs] = malloc(n * sizeof(float));
            if (log->snapshots[log->n_epochs]) {
                memcpy(log->snapshots[log->n_epochs], dg_net_params(log->net), n * sizeof(float));
            }
        }
        log->n_epochs++;
    }
    return true;
}

static dg_status log_checkpoint(void *user, const dg_checkpoint *ck)
{
    run_log *log = user;
    log->checkpoints++;
    return log->ckpt_path ? dg_checkpoint_save(log->ckpt_path, ck) : DG_OK;
}

static void log_free(run_log *log)
{
    for (int i = 0; i < 32; i++) {
        free(log->snapshots[i]);
    }
}

/* A net of spec (small_spec when NULL) on the given threads. */
static dg_status new_net_of(const char *spec, int threads, dg_net **net)
{
    dg_status st = dg_net_new(spec ? spec : small_spec, (dg_shape){1, SIDE, SIDE}, net);
    if (st == DG_OK) {
        st = dg_net_set_threads(*net, threads);
    }
    return st;
}

/* A net of small_spec on one thread. */
static dg_status new_net(dg_net **net)
{
    return new_net_of(NULL, 1, net);
}

/* Trains a net of spec (small_spec when NULL) on the given threads uninterrupted, then
 * stopped after (stop_epoch, stop_step) and resumed from the checkpoint file; the weights
 * (running statistics included) and every epoch's loss and accuracies must agree. */
static void check_resume_net(const char *spec, int n_threads, const dg_train_config *base,
                             int stop_epoch, int stop_step, int checkpoint_every,
                             int want_epochs_done)
{
    dg_dataset *ds = make_data(200, 5, false);
    CHECK(ds);
    dg_net *ref = NULL, *cut = NULL, *resumed = NULL;
    dg_checkpoint *ck = NULL;
    run_log ref_log = {0}, cut_log = {0}, res_log = {0};
    char path[512];
    snprintf(path, sizeof path, "%s/run.ckpt", test_tmp_dir());

    dg_train_config cfg = *base;
    cfg.checkpoint_every = checkpoint_every;
    dg_train_callbacks cb = {.on_step = log_step, .on_epoch = log_epoch};
    CHECK_OK(new_net_of(spec, n_threads, &ref));
    cb.user = &ref_log;
    dg_status st = dg_train(ref, ds, &cfg, &cb);

    if (st == DG_OK) {
        st = new_net_of(spec, n_threads, &cut);
    }
    if (st == DG_OK) {
        cut_log.stop_epoch = stop_epoch;
        cut_log.stop_step = stop_step;
        cut_log.ckpt_path = path;
        cb.user = &cut_log;
        cb.on_checkpoint = log_checkpoint;
        cfg.stop = &cut_log.stop;
        st = dg_train(cut, ds, &cfg, &cb);
        st = st == DG_ERR_STOPPED ? DG_OK : (st == DG_OK ? DG_ERR_ARG : st);
    }
    if (st == DG_OK) {
        st = dg_checkpoint_load(path, &ck);
    }
    if (st == DG_OK) {
        st = dg_checkpoint_net(ck, &resumed);
    }
    if (st == DG_OK) {
        st = dg_net_set_threads(resumed, n_threads);
    }
    dg_train_progress prog = {0};
    int threads = 0;
    if (st == DG_OK) {
        prog = dg_checkpoint_progress(ck);
        threads = dg_checkpoint_threads(ck);
        dg_train_config again = *dg_checkpoint_config(ck);
        again.resume = ck;
        res_log.ckpt_path = path;
        cb.user = &res_log;
        st = dg_train(resumed, ds, &again, &cb);
    }
    bool same = st == DG_OK && !memcmp(dg_net_params(ref), dg_net_params(resumed),
                                       dg_net_param_count(ref) * sizeof(float));
    int n_hist = 0;
    const dg_history_row *hist = ck ? dg_checkpoint_history(ck, &n_hist) : NULL;
    bool epochs_agree = st == DG_OK && cut_log.n_epochs + res_log.n_epochs == ref_log.n_epochs &&
                        n_hist == cut_log.n_epochs;
    for (int i = 0; epochs_agree && i < res_log.n_epochs; i++) {
        const dg_epoch_stats *a = &ref_log.epochs[cut_log.n_epochs + i], *b = &res_log.epochs[i];
        epochs_agree = a->epoch == b->epoch && a->loss == b->loss && a->accuracy == b->accuracy &&
                       a->val_loss == b->val_loss && a->val_accuracy == b->val_accuracy;
    }
    for (int i = 0; epochs_agree && i < n_hist; i++) {
        epochs_agree = hist[i].epoch == i + 1 && hist[i].loss == ref_log.epochs[i].loss;
    }
    dg_checkpoint_free(ck);
    dg_net_free(ref);
    dg_net_free(cut);
    dg_net_free(resumed);
    dg_dataset_free(ds);
    CHECK_MSG(st == DG_OK, "status %s: %s", dg_status_name(st), dg_last_error());
    CHECK_MSG(prog.epoch == want_epochs_done, "checkpoint after epoch %d", prog.epoch);
    CHECK(threads == n_threads);
    CHECK(same);
    CHECK(epochs_agree);
}

static void check_resume(const dg_train_config *base, int stop_epoch, int stop_step,
                         int checkpoint_every, int want_epochs_done)
{
    check_resume_net(NULL, 1, base, stop_epoch, stop_step, checkpoint_every, want_epochs_done);
}

/* steps per epoch: 160 training examples / 16 = 10 */
DG_TEST(train_resume_at_epoch_boundary_is_bit_identical)
{
    dg_train_config cfg = small_config();
    check_resume(&cfg, 1, 10, 0, 1);
}

DG_TEST(train_resume_mid_epoch_is_bit_identical)
{
    dg_train_config cfg = small_config();
    check_resume(&cfg, 2, 4, 0, 1);
}

/* Augmented images come from the checkpointed generator: a resumed run draws the same. */
DG_TEST(train_resume_mid_epoch_with_augmentation_is_bit_identical)
{
    dg_train_config cfg = small_config();
    cfg.augment = dg_augment_defaults();
    cfg.augment.on = true;
    cfg.augment.elastic_alpha = 3.0f;
    cfg.augment.elastic_sigma = 1.5f;
    check_resume(&cfg, 2, 6, 0, 1);
}

DG_TEST(train_resume_with_batchnorm_is_bit_identical)
{
    dg_train_config cfg = small_config();
    check_resume_net(bn_spec, 1, &cfg, 1, 10, 0, 1);
    check_resume_net(bn_spec, 1, &cfg, 2, 4, 0, 1);
    check_resume_net(bn_spec, 2, &cfg, 2, 7, 0, 1);
}

DG_TEST(train_resume_sgd_with_periodic_checkpoints)
{
    dg_train_config cfg = small_config();
    cfg.optim = dg_optim_defaults(DG_OPTIM_SGD);
    cfg.schedule = DG_SCHEDULE_ONECYCLE;
    check_resume(&cfg, 3, 7, 3, 2);
}

DG_TEST(train_resume_with_best_weights)
{
    dg_train_config cfg = small_config();
    cfg.epochs = 4;
    cfg.keep_best = true;
    cfg.early_stop = 3;
    check_resume(&cfg, 2, 5, 0, 1);
}

/* A resumed run must train on the same data and settings. */
DG_TEST(train_resume_refuses_other_data_and_settings)
{
    dg_dataset *ds = make_data(200, 5, false), *other = make_data(200, 6, false);
    dg_net *net = NULL, *again = NULL;
    dg_checkpoint *ck = NULL;
    char path[512];
    snprintf(path, sizeof path, "%s/r.ckpt", test_tmp_dir());
    run_log log = {.stop_epoch = 2, .stop_step = 3, .ckpt_path = path};
    dg_train_config cfg = small_config();
    cfg.stop = &log.stop;
    dg_train_callbacks cb = {&log, log_step, log_epoch, log_checkpoint};
    dg_status st = ds && other ? new_net(&net) : DG_ERR_NOMEM;
    st = st ? st : dg_train(net, ds, &cfg, &cb);
    dg_status loaded = dg_checkpoint_load(path, &ck);
    dg_status other_data = DG_OK, other_lr = DG_OK, other_augment = DG_OK, too_few = DG_OK;
    char msg[512] = "";
    if (loaded == DG_OK && dg_checkpoint_net(ck, &again) == DG_OK) {
        dg_train_config c = *dg_checkpoint_config(ck);
        c.resume = ck;
        other_data = dg_train(again, other, &c, NULL);
        snprintf(msg, sizeof msg, "%s", dg_last_error());
        c.optim.lr *= 2;
        other_lr = dg_train(again, ds, &c, NULL);
        c = *dg_checkpoint_config(ck);
        c.resume = ck;
        c.augment.on = true;
        other_augment = dg_train(again, ds, &c, NULL);
        c = *dg_checkpoint_config(ck);
        c.resume = ck;
        c.epochs = 1; /* the checkpoint is in epoch 2 */
        too_few = dg_train(again, ds, &c, NULL);
    }
    dg_checkpoint_free(ck);
    dg_net_free(net);
    dg_net_free(again);
    dg_dataset_free(ds);
    dg_dataset_free(other);
    CHECK_MSG(st == DG_ERR_STOPPED, "first run: %s", dg_status_name(st));
    CHECK_OK(loaded);
    CHECK(other_data == DG_ERR_MISMATCH);
    CHECK_MSG(strstr(msg, "data differs"), "message: %s", msg);
    CHECK(other_lr == DG_ERR_MISMATCH);
    CHECK(other_augment == DG_ERR_MISMATCH);
    CHECK(too_few == DG_ERR_ARG);
}

/* A learning rate far too large: the loss goes bad at a step of epoch 1, training stops
 * there, and the checkpoint written before stays the good one it was. */
DG_TEST(train_divergence_stops_at_the_step)
{
    dg_dataset *ds = make_data(200, 5, false);
    CHECK(ds);
    dg_net *net = NULL;
    char path[512];
    snprintf(path, sizeof path, "%s/d.ckpt", test_tmp_dir());
    run_log log = {.ckpt_path = path};
    dg_train_config cfg = small_config();
    cfg.optim = dg_optim_defaults(DG_OPTIM_SGD);
    cfg.optim.lr = 1e30f;
    cfg.schedule = DG_SCHEDULE_CONSTANT;
    cfg.checkpoint_every = 1;
    dg_train_callbacks cb = {&log, log_step, log_epoch, log_checkpoint};
    dg_status st = new_net(&net);
    st = st ? st : dg_train(net, ds, &cfg, &cb);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", dg_last_error());
    bool params_finite = true;
    for (size_t i = 0; net && i < dg_net_param_count(net); i++) {
        params_finite = params_finite && isfinite(dg_net_params(net)[i]);
    }
    dg_checkpoint *ck = NULL;
    dg_status loaded = log.checkpoints > 0 ? dg_checkpoint_load(path, &ck) : DG_ERR_NOT_FOUND;
    dg_checkpoint_free(ck);
    dg_net_free(net);
    dg_dataset_free(ds);
    CHECK_MSG(st == DG_ERR_DIVERGED, "status %s: %s", dg_status_name(st), msg);
    CHECK_MSG(strstr(msg, "epoch 1 at step "), "message: %s", msg);
    CHECK(log.n_epochs == 0);
    CHECK_MSG(loaded == DG_OK, "the last checkpoint does not load: %s", dg_last_error());
}

/* Random labels: the validation loss soon stops improving; training stops early and ends
 * with the weights of the epoch of the lowest validation loss. */
DG_TEST(train_early_stop_restores_best_weights)
{
    dg_dataset *ds = make_data(200, 9, true);
    CHECK(ds);
    dg_net *net = NULL;
    run_log log = {.snapshot = true};
    dg_train_config cfg = small_config();
    cfg.epochs = 30;
    cfg.early_stop = 2;
    cfg.optim.lr = 1e-2f;
    cfg.schedule = DG_SCHEDULE_CONSTANT;
    dg_train_callbacks cb = {&log, NULL, log_epoch, NULL};
    dg_status st = new_net(&net);
    log.net = net;
    st = st ? st : dg_train(net, ds, &cfg, &cb);
    int best = 0;
    for (int i = 1; i < log.n_epochs; i++) {
        if (log.epochs[i].val_loss < log.epochs[best].val_loss) {
            best = i;
        }
    }
    bool restored =
        st == DG_OK && log.snapshots[best] &&
        !memcmp(dg_net_params(net), log.snapshots[best], dg_net_param_count(net) * sizeof(float));
    int n = log.n_epochs;
    log_free(&log);
    dg_net_free(net);
    dg_dataset_free(ds);
    CHECK_OK(st);
    CHECK_MSG(n < 30 && n == best + 1 + 2, "%d epochs, best %d", n, best + 1);
    CHECK(restored);
}

/* A checkpoint is not a model, a model is not a checkpoint, damage is refused. */
DG_TEST(train_checkpoint_file_kinds_and_damage)
{
    dg_dataset *ds = make_data(100, 5, false);
    CHECK(ds);
    const char *dir = test_tmp_dir();
    char ckpt[512], model[512], bad[512];
    snprintf(ckpt, sizeof ckpt, "%s/k.ckpt", dir);
    snprintf(model, sizeof model, "%s/k.model", dir);
    snprintf(bad, sizeof bad, "%s/bad.ckpt", dir);
    dg_net *net = NULL;
    run_log log = {.ckpt_path = ckpt};
    dg_train_config cfg = small_config();
    cfg.epochs = 1;
    dg_train_callbacks cb = {&log, NULL, NULL, log_checkpoint};
    dg_status st = new_net(&net);
    st = st ? st : dg_train(net, ds, &cfg, &cb);
    st = st ? st : dg_model_save(model, net, NULL);
    dg_net_free(net);
    dg_dataset_free(ds);
    CHECK_OK(st);

    dg_net *as_model = NULL;
    CHECK_STATUS(dg_model_load(ckpt, &as_model, NULL), DG_ERR_FORMAT);
    CHECK(!as_model);
    CHECK_MSG(strstr(dg_last_error(), "is a training checkpoint, not a model; continue it with: "
                                      "digits train --resume"),
              "message: %s", dg_last_error());
    dg_checkpoint *ck = (dg_checkpoint *)&ck;
    CHECK_STATUS(dg_checkpoint_load(model, &ck), DG_ERR_FORMAT);
    CHECK(!ck);
    CHECK(strstr(dg_last_error(), "is a model, not a training checkpoint"));

    size_t n = 0;
    uint8_t *bytes = test_read_file(ckpt, &n);
    CHECK(bytes && n > 100);
    bytes[n / 2] ^= 0x10;
    FILE *f = fopen(bad, "wb");
    bool written = f && fwrite(bytes, 1, n, f) == n;
    written = f && fclose(f) == 0 && written;
    bytes[n / 2] ^= 0x10;
    CHECK(written);
    CHECK_STATUS(dg_checkpoint_load(bad, &ck), DG_ERR_CHECKSUM);
    f = fopen(bad, "wb");
    written = f && fwrite(bytes, 1, n - 9, f) == n - 9;
    written = f && fclose(f) == 0 && written;
    free(bytes);
    CHECK(written);
    CHECK_STATUS(dg_checkpoint_load(bad, &ck), DG_ERR_TRUNCATED);
    CHECK_OK(dg_checkpoint_load(ckpt, &ck));
    int rows = 0;
    dg_checkpoint_history(ck, &rows);
    dg_train_progress p = dg_checkpoint_progress(ck);
    dg_checkpoint_free(ck);
    CHECK(rows == 1 && p.epoch == 1 && p.step == 0);
}

/* keep_best ends with the weights of the epoch of the highest validation accuracy (the
 * first of equals), not the last. */
DG_TEST(train_keep_best_keeps_best_accuracy)
{
    dg_dataset *ds = make_data(200, 9, true);
    CHECK(ds);
    dg_net *net = NULL;
    run_log log = {.snapshot = true};
    dg_train_config cfg = small_config();
    cfg.epochs = 8;
    cfg.keep_best = true;
    cfg.optim.lr = 1e-2f;
    cfg.schedule = DG_SCHEDULE_CONSTANT;
    dg_train_callbacks cb = {&log, NULL, log_epoch, NULL};
    dg_status st = new_net(&net);
    log.net = net;
    st = st ? st : dg_train(net, ds, &cfg, &cb);
    int best = 0;
    for (int i = 1; i < log.n_epochs; i++) {
        if (log.epochs[i].val_accuracy > log.epochs[best].val_accuracy) {
            best = i;
        }
    }
    bool restored =
        st == DG_OK && log.snapshots[best] &&
        !memcmp(dg_net_params(net), log.snapshots[best], dg_net_param_count(net) * sizeof(float));
    bool last_differs =
        log.n_epochs == 8 && log.snapshots[7] &&
        memcmp(log.snapshots[best], log.snapshots[7], dg_net_param_count(net) * sizeof(float));
    int n = log.n_epochs;
    log_free(&log);
    dg_net_free(net);
    dg_dataset_free(ds);
    CHECK_OK(st);
    CHECK_MSG(n == 8, "%d epochs", n);
    CHECK(restored);
    CHECK_MSG(best == 7 || last_differs, "best epoch %d", best + 1);
}

/* Weights after training spec for two epochs on threads threads: [P] floats, malloc'd. */
static float *trained_weights(const char *spec, const dg_train_config *cfg, int threads, size_t *n)
{
    dg_dataset *ds = make_data(320, 7, false);
    dg_net *net = NULL;
    float *w = NULL;
    *n = 0;
    if (ds && new_net_of(spec, threads, &net) == DG_OK && dg_train(net, ds, cfg, NULL) == DG_OK) {
        *n = dg_net_param_count(net);
        w = malloc(*n * sizeof *w);
        if (w) {
            memcpy(w, dg_net_params(net), *n * sizeof *w);
        }
    }
    dg_net_free(net);
    dg_dataset_free(ds);
    return w;
}

/* The batch is cut into slices that do not depend on the thread count and whose gradients
 * are added in slice order, so 1, 2 and 3 threads train the same weights, bit for bit,
 * whichever thread happens to take which slice: with dropout and augmentation, and with
 * batch normalisation (each slice normalised on its own statistics). */
DG_TEST(train_thread_count_gives_identical_weights)
{
    dg_train_config cfg = small_config();
    cfg.epochs = 2;
    cfg.batch = 48; /* 6 slices of 8; 48 / 32 rounds up to 2 slices of 24 with batchnorm */
    cfg.augment = dg_augment_defaults();
    cfg.augment.on = true;
    const char *const specs[] = {NULL, bn_spec};
    for (int s = 0; s < 2; s++) {
        size_t n1, n;
        float *one = trained_weights(specs[s], &cfg, 1, &n1);
        CHECK(one != NULL);
        for (int threads = 2; one && threads <= 3; threads++) {
            float *w = trained_weights(specs[s], &cfg, threads, &n);
            CHECK(w != NULL && n == n1);
            CHECK_MSG(w && n == n1 && memcmp(one, w, n * sizeof *w) == 0,
                      "%s: %d threads trained other weights than 1", specs[s] ? specs[s] : "small",
                      threads);
            free(w);
        }
        free(one);
    }
}
