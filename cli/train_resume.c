/*
 * train_resume.c - `digits train --resume CKPT`: the run's settings, labels, files and net
 * come from the checkpoint; --epochs (to extend the run), --threads, --data, -o, --history,
 * --checkpoint-every, --no-test and -q may change, any other option only repeat the
 * checkpoint's value.
 */
#include "cli/train.h"

#include <stddef.h>
#include <string.h>

/* A setting given with --resume that differs from the checkpoint's: a usage error. */
static int resume_conflict(const char *option, const char *value, const char *ckpt)
{
    return cli_usage_error("train",
                           "%s cannot change when resuming: the run of %s uses %s (only "
                           "--epochs, --threads, --data, -o, --history, --checkpoint-every, "
                           "--no-test and -q may be given with --resume)",
                           option, ckpt, value);
}

/* Checks the options given with --resume against the checkpoint's run. */
static int check_resume_options(const train_options *o, const dg_checkpoint *ck)
{
    const dg_train_config *c = dg_checkpoint_config(ck);
    const dg_model_meta *m = dg_checkpoint_meta(ck);
    const dg_run_files *f = dg_checkpoint_files(ck);
    const char *path = o->resume;
    char v[64];
    dg_net *net = NULL;
    if (o->spec && dg_checkpoint_net(ck, &net) == DG_OK) {
        bool same = !strcmp(o->spec, dg_net_spec(net));
        dg_net_free(net);
        if (!same) {
            return resume_conflict("--spec", "another spec", path);
        }
    }
    if (o->preset && strcmp(o->preset, m->preset)) {
        return resume_conflict("--preset", m->preset[0] ? m->preset : "no preset", path);
    }
    snprintf(v, sizeof v, "%d", c->batch);
    if (o->batch && o->batch != c->batch) {
        return resume_conflict("--batch", v, path);
    }
    snprintf(v, sizeof v, "%g", (double)c->optim.lr);
    if (o->lr > 0 && (float)o->lr != c->optim.lr) {
        return resume_conflict("--lr", v, path);
    }
    if (o->optimizer >= 0 && cli_optimizer_kinds[o->optimizer] != c->optim.kind) {
        return resume_conflict("--optimizer", cli_optimizer_names[c->optim.kind], path);
    }
    for (int i = 0; o->schedule >= 0 && cli_schedule_names[i]; i++) {
        if (cli_schedule_kinds[i] == c->schedule && i != o->schedule) {
            return resume_conflict("--schedule", cli_schedule_names[i], path);
        }
    }
    if (o->precision >= 0 && cli_precision_kinds[o->precision] != c->precision) {
        return resume_conflict("--precision", dg_precision_name(c->precision), path);
    }
    snprintf(v, sizeof v, "%g", c->val_split);
    if (o->val_split >= 0 && o->val_split != c->val_split) {
        return resume_conflict("--val-split", v, path);
    }
    snprintf(v, sizeof v, "%llu", (unsigned long long)c->seed);
    if (o->seed >= 0 && (uint64_t)o->seed != c->seed) {
        return resume_conflict("--seed", v, path);
    }
    snprintf(v, sizeof v, "%u", f->limit);
    if (o->limit && (uint32_t)o->limit != f->limit) {
        return resume_conflict("--limit", f->limit ? v : "all images", path);
    }
    snprintf(v, sizeof v, "%d", c->early_stop);
    if (o->early_stop && o->early_stop != c->early_stop) {
        return resume_conflict("--early-stop", c->early_stop ? v : "none", path);
    }
    if (o->keep_best && !c->keep_best) {
        return resume_conflict("--keep-best", "the last epoch", path);
    }
    if (o->labels) {
        return resume_conflict("--labels", "the labels stored in it", path);
    }
    dg_augment a = c->augment;
    cli_train_augment(o, &a);
    if (a.on != c->augment.on ||
        (a.on && memcmp(&a.rotate, &c->augment.rotate, sizeof a - offsetof(dg_augment, rotate)))) {
        return resume_conflict("--augment and its ranges",
                               c->augment.on ? "other augmentation" : "no augmentation", path);
    }
    snprintf(v, sizeof v, "%g", (double)c->flagged_ones);
    if (o->flagged_ones >= 0 && (float)o->flagged_ones != c->flagged_ones) {
        return resume_conflict("--flagged-ones", v, path);
    }
    int done = dg_checkpoint_progress(ck).epoch + (dg_checkpoint_progress(ck).step > 0);
    if (o->epochs && o->epochs < done) {
        return cli_usage_error("train", "--epochs %ld: the run of %s is already at epoch %d",
                               o->epochs, path, done);
    }
    return DG_EXIT_OK;
}

/* A resumed run: everything from the checkpoint, then the options that may change. */
int cli_train_resume(const train_options *o, train_run *r)
{
    if (dg_checkpoint_load(o->resume, &r->ck) != DG_OK) {
        return cli_error("train", "cannot resume: %s", dg_last_error());
    }
    int rc = check_resume_options(o, r->ck);
    if (rc) {
        return rc;
    }
    r->cfg = *dg_checkpoint_config(r->ck);
    r->meta = *dg_checkpoint_meta(r->ck);
    r->files = *dg_checkpoint_files(r->ck);
    r->preset = r->meta.preset;
    if (o->epochs) {
        r->cfg.epochs = (int)o->epochs;
    }
    if (o->checkpoint_every) {
        r->cfg.checkpoint_every = (int)o->checkpoint_every;
    }
    if (o->data) {
        snprintf(r->files.data, sizeof r->files.data, "%s", o->data);
    }
    if (o->output) {
        snprintf(r->files.model, sizeof r->files.model, "%s", o->output);
        if (!o->history) {
            cli_path_beside(r->files.model, "history.csv", r->files.history,
                            sizeof r->files.history);
        }
    }
    if (o->history) {
        snprintf(r->files.history, sizeof r->files.history, "%s", o->history);
    }
    snprintf(r->ckpt_path, sizeof r->ckpt_path, "%s", o->resume);
    r->cfg.resume = r->ck;
    if (dg_checkpoint_net(r->ck, &r->net) != DG_OK) {
        return cli_error("train", "%s", dg_last_error());
    }
    return DG_EXIT_OK;
}
