/*
 * cmd_train.c - `digits train`: builds a network from a preset or spec, trains it on
 * MNIST-format data with Keras-style progress, evaluates it on the test set, writes the
 * history CSV and saves the model atomically. A checkpoint beside the model after every
 * epoch lets `--resume` continue a run stopped by Ctrl-C, SIGTERM, a crash or divergence.
 */
#include "cli/train.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct progress {
    bool tty, quiet;
    int epochs, classes;
    double last_draw;
    double last_val_accuracy;
    dg_history_row *rows; /* [epochs] the run's history, from the checkpoint when resumed */
    int n_rows;
    const char *ckpt_path;
    int ckpt_epoch, ckpt_step; /* where the last checkpoint written stands; -1 before */
    bool restored;             /* best weights kept: the run's last checkpoint says which */
    dg_train_progress last;
} progress;

static double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void draw_bar(int step, int steps, double seconds, double loss, double acc, bool done)
{
    const int width = 30;
    int filled = (int)((long)width * step / steps);
    char bar[64];
    for (int i = 0; i < width; i++) {
        bar[i] = i < filled ? '=' : '.';
    }
    if (!done && filled < width) {
        bar[filled] = '>';
    }
    bar[width] = '\0';
    double per_step = step ? seconds / step : 0.0;
    if (done) {
        fprintf(stderr, "\r%d/%d [%s] - %.0fs %.0fms/step - loss: %.4f - accuracy: %.4f", step,
                steps, bar, seconds, per_step * 1e3, loss, acc);
    } else {
        fprintf(stderr, "\r%d/%d [%s] - ETA: %.0fs - loss: %.4f - accuracy: %.4f ", step, steps,
                bar, per_step * (steps - step), loss, acc);
    }
}

static void on_step(void *user, int epoch, int step, int steps, double loss, double acc,
                    double seconds)
{
    progress *p = user;
    if (p->quiet || !p->tty) {
        return;
    }
    if (step == 1) {
        fprintf(stderr, "Epoch %d/%d\n", epoch, p->epochs);
    }
    double now = wall_seconds();
    if (step == steps || now - p->last_draw > 0.1) {
        p->last_draw = now;
        draw_bar(step, steps, seconds, loss, acc, false);
    }
}

/* No better than guessing: accuracy under 1.5 times that of picking a class at random. */
static bool at_chance(double accuracy, int classes)
{
    return classes > 1 && accuracy >= 0 && accuracy < 1.5 / classes;
}

static bool on_epoch(void *user, const dg_epoch_stats *st)
{
    progress *p = user;
    p->last_val_accuracy = st->val_accuracy;
    double acc = st->val_accuracy >= 0 ? st->val_accuracy : st->accuracy;
    if (!p->quiet) {
        if (p->tty) {
            fprintf(stderr, "\r\033[K");
            fprintf(stderr, "Epoch %d/%d: %.1fs - %.0f images/s - loss: %.4f - accuracy: %.4f",
                    st->epoch, p->epochs, st->seconds, st->images_per_second, st->loss,
                    st->accuracy);
        } else {
            fprintf(stderr, "epoch %d/%d: %.1fs - %.0f images/s - loss: %.4f - accuracy: %.4f",
                    st->epoch, p->epochs, st->seconds, st->images_per_second, st->loss,
                    st->accuracy);
        }
        if (st->val_accuracy >= 0) {
            fprintf(stderr, " - val_loss: %.4f - val_accuracy: %.4f", st->val_loss,
                    st->val_accuracy);
        }
        if (at_chance(acc, p->classes)) {
            fprintf(stderr, " - warning: chance level");
        }
        fputc('\n', stderr);
    }
    if (p->n_rows < p->epochs) {
        dg_history_row row = {st->epoch,    st->loss,         st->accuracy,
                              st->val_loss, st->val_accuracy, st->seconds};
        p->rows[p->n_rows++] = row;
    }
    return true;
}

/* Writes the checkpoint; a second Ctrl-C waits for the rename. */
static dg_status on_checkpoint(void *user, const dg_checkpoint *ck)
{
    progress *p = user;
    cli_write_begin();
    dg_status st = dg_checkpoint_save(p->ckpt_path, ck);
    cli_write_end();
    if (st == DG_OK) {
        p->last = dg_checkpoint_progress(ck);
        p->ckpt_epoch = p->last.epoch;
        p->ckpt_step = p->last.step;
    }
    return st;
}

/* Fills meta's class names from "A,B,C"; false unless there is one per class. */
static bool set_labels(const char *list, int classes, dg_model_meta *meta)
{
    int n = 0;
    for (const char *p = list;; n++) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (n >= classes || len == 0 || len >= sizeof meta->labels[0]) {
            return false;
        }
        memcpy(meta->labels[n], p, len);
        meta->labels[n][len] = '\0';
        if (!comma) {
            break;
        }
        p = comma + 1;
    }
    meta->classes = classes;
    return n + 1 == classes;
}

/* Whether a file can be created in path's folder (made if missing), tried with a
 * temporary file so that an existing model is left alone. */
static bool can_write_beside(const char *path)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash) {
        snprintf(dir, sizeof dir, ".");
    } else if (slash == dir) {
        dir[1] = '\0';
    } else {
        *slash = '\0';
        mkdir(dir, 0777);
    }
    char probe[1100];
    snprintf(probe, sizeof probe, "%s/.digits-probe-XXXXXX", dir);
    int fd = mkstemp(probe);
    if (fd < 0) {
        return false;
    }
    close(fd);
    unlink(probe);
    return true;
}

/* MODEL.model -> MODEL.SUFFIX, anything else -> NAME.SUFFIX */
void cli_path_beside(const char *model, const char *suffix, char *out, size_t size)
{
    size_t len = strlen(model);
    const char *ext = ".model";
    size_t el = strlen(ext);
    if (len > el && !strcmp(model + len - el, ext)) {
        len -= el;
    }
    snprintf(out, size, "%.*s.%s", (int)len, model, suffix);
}

/* The curves picture beside the model, from the history just written. */
static void plot_curves(const char *history_path, const char *curves_path)
{
    dg_history_row *rows = NULL;
    int n = 0;
    dg_status st = dg_history_load(history_path, &rows, &n);
    if (st == DG_OK) {
        cli_write_begin();
        st = dg_plot_history(rows, n, curves_path);
        cli_write_end();
    }
    if (st != DG_OK) {
        fprintf(stderr, "digits: train: warning: no training curves: %s\n", dg_last_error());
    } else {
        printf("training curves in %s\n", curves_path);
    }
    free(rows);
}

/* A fresh run from the options: settings, net, labels, files. */
static int start_run(const train_options *o, train_run *r)
{
    int rc = cli_train_options_apply(o, &r->cfg);
    if (rc) {
        return rc;
    }
    /* with --spec, a --preset gives only its training settings: the net has no preset */
    r->preset = o->spec ? "" : (o->preset ? o->preset : dg_preset_names()[0]);
    snprintf(r->files.data, sizeof r->files.data, "%s", o->data ? o->data : DG_DEFAULT_DATA);
    snprintf(r->files.model, sizeof r->files.model, "%s", o->output ? o->output : DG_DEFAULT_MODEL);
    if (o->history) {
        snprintf(r->files.history, sizeof r->files.history, "%s", o->history);
    } else {
        cli_path_beside(r->files.model, "history.csv", r->files.history, sizeof r->files.history);
    }
    r->files.limit = (uint32_t)o->limit;
    /* the net is built once the data gives the image size */
    return DG_EXIT_OK;
}

/* Writes the history rows so far; false (with the message printed) on failure. */
static bool save_history(const char *path, const progress *p)
{
    cli_write_begin();
    dg_status st = dg_history_save(path, p->rows, p->n_rows);
    cli_write_end();
    if (st != DG_OK) {
        cli_error("train", "%s", dg_last_error());
        return false;
    }
    return true;
}

/* After DG_ERR_STOPPED: where the run stopped and how to go on; the exit status. */
static int report_stop(const train_run *r, const progress *p, int sig)
{
    bool history_ok = save_history(r->files.history, p);
    if (p->ckpt_epoch < 0) {
        fprintf(stderr, "digits: train: stopped before the first checkpoint; nothing to resume\n");
    } else if (p->ckpt_step > 0) {
        fprintf(stderr,
                "digits: train: stopped in epoch %d after step %d of %d; %s left as it was; "
                "continue with: digits train --resume %s\n",
                p->ckpt_epoch + 1, p->ckpt_step, p->last.steps, r->files.model, r->ckpt_path);
    } else {
        fprintf(stderr,
                "digits: train: stopped after epoch %d of %d; %s left as it was; continue "
                "with: digits train --resume %s\n",
                p->ckpt_epoch, r->cfg.epochs, r->files.model, r->ckpt_path);
    }
    return history_ok ? 128 + sig : DG_EXIT_FAIL;
}

int cmd_train(int argc, char **argv)
{
    double t_start = wall_seconds();
    train_options o;
    int rc = cli_train_options_parse(argc, argv, &o);
    if (rc) {
        return rc < 0 ? DG_EXIT_OK : rc;
    }
    train_run r;
    memset(&r, 0, sizeof r);
    dg_dataset *train = NULL, *test = NULL;
    dg_status st;
    progress prog = {.tty = isatty(2),
                     .quiet = o.quiet,
                     .last_val_accuracy = -1.0,
                     .ckpt_epoch = -1,
                     .ckpt_step = -1};
    rc = o.resume ? cli_train_resume(&o, &r) : start_run(&o, &r);
    if (rc) {
        goto done;
    }
    rc = DG_EXIT_FAIL;
    if (dg_dataset_load(r.files.data, DG_SPLIT_TRAIN, &train) != DG_OK) {
        cli_error("train", "%s", dg_last_error());
        goto done;
    }
    if (r.files.limit > 0 && r.files.limit < train->n) {
        train->n = r.files.limit; /* the arrays stay as loaded; only fewer are used */
    }
    if (!o.no_test && dg_dataset_load(r.files.data, DG_SPLIT_TEST, &test) != DG_OK) {
        cli_error("train", "%s (or pass --no-test)", dg_last_error());
        goto done;
    }
    if (!r.net) {
        const char *spec = o.spec ? o.spec : dg_preset_spec(r.preset);
        if (dg_net_new(spec, (dg_shape){1, (int)train->h, (int)train->w}, &r.net) != DG_OK) {
            cli_error("train", "%s", dg_last_error());
            rc = o.spec ? DG_EXIT_USAGE : DG_EXIT_FAIL;
            goto done;
        }
    }
    /* the workers (ours, a BLAS library's) start with Ctrl-C and SIGTERM blocked: only the
     * main thread takes them, once its handler is installed below */
    cli_stop_block();
    dg_blas_backend();
    int threads = (int)o.threads;
    if (r.ck && !threads) {
        threads = dg_checkpoint_threads(r.ck); /* the same sums in the same order */
    } else if (r.ck && threads != dg_checkpoint_threads(r.ck)) {
        fprintf(stderr,
                "digits: train: warning: %d threads where the run had %d: the weights will "
                "differ slightly from those of a run never stopped\n",
                threads, dg_checkpoint_threads(r.ck));
    }
    st = dg_net_set_threads(r.net, threads);
    if (!cli_stop_install()) {
        cli_error("train", "cannot install the Ctrl-C handler");
        goto done;
    }
    if (st != DG_OK) {
        cli_error("train", "%s", dg_last_error());
        goto done;
    }
    if (!r.ck) {
        dg_model_meta_default(&r.meta);
        r.meta.classes = dg_net_classes(r.net);
        for (int c = 0; c < r.meta.classes; c++) {
            snprintf(r.meta.labels[c], sizeof r.meta.labels[c], "%d", c);
        }
        if (o.labels && !set_labels(o.labels, dg_net_classes(r.net), &r.meta)) {
            rc = cli_usage_error("train",
                                 "--labels: '%s' is not %d comma-separated names of 1 to %zu "
                                 "characters",
                                 o.labels, dg_net_classes(r.net), sizeof r.meta.labels[0] - 1);
            goto done;
        }
        snprintf(r.meta.preset, sizeof r.meta.preset, "%s", r.preset);
        snprintf(r.meta.dataset, sizeof r.meta.dataset, "%.*s", (int)sizeof r.meta.dataset - 1,
                 r.files.data);
        cli_path_beside(r.files.model, "ckpt", r.ckpt_path, sizeof r.ckpt_path);
    }
    r.meta.precision = dg_net_set_precision(r.net, r.cfg.precision);
    /* a preset's bf16 falls back quietly (the epoch lines say which ran); an asked one not */
    if (o.precision >= 0 && r.cfg.precision == DG_PRECISION_BF16 &&
        r.meta.precision != DG_PRECISION_BF16) {
        fprintf(stderr, "digits: train: bf16 needs AVX512_BF16, which this CPU or build lacks "
                        "(or DIGITS_NO_BF16 is set): training in fp32\n");
    }
    r.cfg.meta = &r.meta;
    r.cfg.files = &r.files;
    /* fail before training, not after, when the model cannot be written */
    if (!can_write_beside(r.files.model)) {
        cli_error("train", "cannot write %s (is its folder writable?)", r.files.model);
        goto done;
    }
    char curves_path[1100];
    cli_path_beside(r.files.model, "curves.png", curves_path, sizeof curves_path);
    cli_remove_stale(r.files.model);
    cli_remove_stale(r.files.history);
    cli_remove_stale(r.ckpt_path);
    cli_remove_stale(curves_path);
    prog.epochs = r.cfg.epochs;
    prog.classes = dg_net_classes(r.net);
    prog.ckpt_path = r.ckpt_path;
    prog.rows = calloc((size_t)r.cfg.epochs, sizeof *prog.rows);
    if (!prog.rows) {
        cli_error("train", "out of memory");
        goto done;
    }
    if (r.ck) {
        int n = 0;
        const dg_history_row *rows = dg_checkpoint_history(r.ck, &n);
        memcpy(prog.rows, rows, (size_t)n * sizeof *rows);
        prog.n_rows = n;
        prog.last = dg_checkpoint_progress(r.ck);
        prog.ckpt_epoch = prog.last.epoch;
        prog.ckpt_step = prog.last.step;
    }
    r.cfg.stop = cli_stop_flag();
    dg_train_callbacks cb = {
        .user = &prog, .on_step = on_step, .on_epoch = on_epoch, .on_checkpoint = on_checkpoint};
    uint32_t n_train = train->n - (uint32_t)(train->n * r.cfg.val_split);
    if (!o.quiet && r.ck) {
        fprintf(stderr, "resuming %s at epoch %d of %d, step %d of %d (%s, %u images from %s)\n",
                o.resume, prog.last.epoch + 1, r.cfg.epochs, prog.last.step, prog.last.steps,
                r.preset[0] ? r.preset : dg_net_spec(r.net), n_train, r.files.data);
    } else if (!o.quiet) {
        char params[32], images[32];
        int n_threads = dg_net_threads(r.net);
        fprintf(stderr, "training %s (%s parameters) on %s images from %s, %d thread%s%s\n",
                o.spec ? dg_net_spec(r.net) : r.preset,
                dg_format_count(dg_net_param_count(r.net), params),
                dg_format_count(n_train, images), r.files.data, n_threads,
                n_threads == 1 ? "" : "s", r.meta.precision == DG_PRECISION_BF16 ? ", bf16" : "");
    }
    st = dg_train(r.net, train, &r.cfg, &cb);
    int sig = (int)*cli_stop_flag();
    if (st == DG_ERR_STOPPED) {
        rc = report_stop(&r, &prog, sig);
        goto done;
    }
    if (st != DG_OK) {
        char why[512];
        snprintf(why, sizeof why, "%s", dg_last_error());
        /* the history, like the checkpoint, stops at the last good epoch */
        if (st == DG_ERR_DIVERGED && !save_history(r.files.history, &prog)) {
            goto done;
        }
        if (st == DG_ERR_DIVERGED && prog.ckpt_epoch >= 0) {
            char where[64];
            snprintf(where, sizeof where, prog.ckpt_step ? "epoch %d, step %d" : "after epoch %d",
                     prog.ckpt_step ? prog.ckpt_epoch + 1 : prog.ckpt_epoch, prog.ckpt_step);
            cli_error("train", "%s; %s left as it was; the last good checkpoint is %s (%s)", why,
                      r.files.model, r.ckpt_path, where);
        } else {
            cli_error("train", "%s", why);
        }
        goto done;
    }
    r.meta.norm = r.cfg.norm;
    r.meta.seed = r.cfg.seed;
    r.meta.epochs = r.cfg.epochs;
    r.meta.batch = r.cfg.batch;
    r.meta.lr = r.cfg.optim.lr;
    r.meta.n_train = n_train;
    r.meta.created = (int64_t)time(NULL);
    r.meta.val_accuracy = prog.n_rows ? prog.rows[prog.n_rows - 1].val_accuracy : -1.0;
    if (prog.last.best_epoch > 0 && (r.cfg.early_stop || r.cfg.keep_best)) {
        r.meta.val_accuracy = prog.rows[prog.last.best_epoch - 1].val_accuracy;
        fprintf(stderr, "kept the weights of epoch %d (val_loss %.4f, val_accuracy %.4f)%s\n",
                prog.last.best_epoch, prog.rows[prog.last.best_epoch - 1].val_loss,
                r.meta.val_accuracy, prog.last.early_stopped ? ", stopped early" : "");
    }
    double final_accuracy = prog.n_rows ? prog.rows[prog.n_rows - 1].accuracy : -1.0;
    if (test && !sig) {
        dg_eval ev;
        if (dg_evaluate(r.net, test, &r.cfg.norm, 0, test->n, &ev, NULL, NULL) != DG_OK) {
            cli_error("train", "%s", dg_last_error());
            goto done;
        }
        r.meta.test_accuracy = ev.accuracy;
        final_accuracy = ev.accuracy;
        char pct[16];
        printf("test loss: %.4f\ntest accuracy: %s\n", ev.loss,
               dg_format_accuracy(ev.accuracy, pct));
    } else if (r.meta.val_accuracy >= 0) {
        final_accuracy = r.meta.val_accuracy;
    }
    cli_write_begin();
    st = dg_model_save(r.files.model, r.net, &r.meta);
    cli_write_end();
    if (st != DG_OK) {
        cli_error("train", "%s", dg_last_error());
        save_history(r.files.history, &prog);
        goto done;
    }
    if (!save_history(r.files.history, &prog)) {
        cli_error("train", "saved model to %s, but not its history", r.files.model);
        goto done;
    }
    printf("saved model to %s\nhistory in %s\n", r.files.model, r.files.history);
    /* one epoch is one point, which the lines above already give: no picture to wait for */
    if (prog.n_rows > 1) {
        plot_curves(r.files.history, curves_path);
    }
    if (at_chance(final_accuracy, prog.classes)) {
        fprintf(stderr,
                "digits: train: warning: the model is no better than chance (accuracy %.4f, "
                "%d classes): try a smaller learning rate or another optimizer\n",
                final_accuracy, prog.classes);
    }
    printf("total time: %.2fs\n", wall_seconds() - t_start);
    rc = sig ? 128 + sig : DG_EXIT_OK;
    if (sig) {
        fprintf(stderr, "digits: train: stopped after training; the model was saved%s\n",
                test ? " without its test accuracy" : "");
    }
done:
    free(prog.rows);
    dg_checkpoint_free(r.ck);
    dg_net_free(r.net);
    dg_dataset_free(train);
    dg_dataset_free(test);
    return rc;
}
