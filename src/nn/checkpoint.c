/*
 * checkpoint.c - training checkpoints: dg_checkpoint_save writes one atomically,
 * dg_checkpoint_load reads and checks one. train.c fills them and resumes from them.
 *
 * The format is described byte by byte in docs/model-format.md ("Training checkpoints");
 * in short, the model file's framing with its own magic:
 *
 *   header   8 magic "\x89DGC\r\n\x1a\n", u32 version, u32 byte-order mark 0x01020304,
 *            u64 file size                                                      (24 bytes)
 *   sections MODL (a whole model file), CONF, FILE, DATA, POSN, ORDR, OPTM, BEST, HIST,
 *            AUGM (format 2; a format 1 file has none: no augmentation), FORM (format
 *            3; before, none: no forms of writing drawn)
 *   trailer  u32 CRC-32 of everything before it
 *
 * Every count is checked against the bytes of its section before anything is allocated.
 * Legend: P parameters, T training examples, E epochs completed.
 */
#include "nn/checkpoint.h"
#include "base/fileio.h"
#include "nn/codec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const uint8_t dg_checkpoint_magic[8] = {0x89, 'D', 'G', 'C', '\r', '\n', 0x1a, '\n'};
static const uint8_t model_magic[4] = {0x89, 'D', 'G', 'M'};

#define MAX_PATH_TEXT 1023u
#define HISTORY_ROW   44u /* u32 epoch, five f64 */
#define MAX_EPOCHS    10000000u
#define MAX_THREADS   64u /* dg_net_set_threads' limit */

enum {
    SEC_MODL,
    SEC_CONF,
    SEC_FILE,
    SEC_DATA,
    SEC_POSN,
    SEC_ORDR,
    SEC_OPTM,
    SEC_BEST,
    SEC_HIST,
    SEC_AUGM,
    SEC_PREC, /* optional */
    SEC_FORM,
    SEC_COUNT
};
static const char section_tags[SEC_COUNT][5] = {"MODL", "CONF", "FILE",           "DATA",
                                                "POSN", "ORDR", "OPTM",           "BEST",
                                                "HIST", "AUGM", DG_PRECISION_TAG, "FORM"};

/* ---------------------------------------------------------------- memory */

void dg_checkpoint_free(dg_checkpoint *ck)
{
    if (!ck) {
        return;
    }
    dg_net_free(ck->net);
    free(ck->order);
    free(ck->m);
    free(ck->v);
    free(ck->best);
    free(ck->history);
    free(ck);
}

dg_status dg_checkpoint_alloc(const dg_net *net, uint32_t n_train, bool want_best, int max_epochs,
                              dg_checkpoint **out)
{
    *out = NULL;
    dg_checkpoint *ck = calloc(1, sizeof *ck);
    if (!ck) {
        return dg_fail(DG_ERR_NOMEM, "out of memory for a checkpoint");
    }
    size_t n = dg_net_param_count(net);
    ck->n_params = n;
    ck->n_train = n_train;
    dg_status st = dg_net_new(dg_net_spec(net), dg_net_input_shape(net), &ck->net);
    if (st == DG_OK) {
        ck->order = malloc((n_train ? n_train : 1) * sizeof *ck->order);
        ck->m = calloc(n ? n : 1, sizeof *ck->m);
        ck->v = calloc(n ? n : 1, sizeof *ck->v);
        ck->best = want_best ? calloc(n ? n : 1, sizeof *ck->best) : NULL;
        ck->history = calloc(max_epochs > 0 ? (size_t)max_epochs : 1, sizeof *ck->history);
        if (!ck->order || !ck->m || !ck->v || (want_best && !ck->best) || !ck->history) {
            st = dg_fail(DG_ERR_NOMEM, "out of memory for a checkpoint of %zu parameters", n);
        }
    }
    if (st != DG_OK) {
        dg_checkpoint_free(ck);
        return st;
    }
    *out = ck;
    return DG_OK;
}

dg_status dg_checkpoint_net(const dg_checkpoint *ck, dg_net **out)
{
    dg_status st = dg_net_new(dg_net_spec(ck->net), dg_net_input_shape(ck->net), out);
    if (st == DG_OK) {
        memcpy(dg_net_params(*out), dg_net_params_const(ck->net), ck->n_params * sizeof(float));
    }
    return st;
}

const dg_train_config *dg_checkpoint_config(const dg_checkpoint *ck)
{
    return &ck->cfg;
}

const dg_model_meta *dg_checkpoint_meta(const dg_checkpoint *ck)
{
    return &ck->meta;
}

const dg_run_files *dg_checkpoint_files(const dg_checkpoint *ck)
{
    return &ck->files;
}

dg_train_progress dg_checkpoint_progress(const dg_checkpoint *ck)
{
    return ck->progress;
}

int dg_checkpoint_threads(const dg_checkpoint *ck)
{
    return ck->threads;
}

const dg_history_row *dg_checkpoint_history(const dg_checkpoint *ck, int *n)
{
    *n = ck->progress.epoch;
    return ck->history;
}

/* ---------------------------------------------------------------- writing */

static void put_floats(dg_writer *w, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        dg_put_f32(w, x[i]);
    }
}

static void put_text(dg_writer *w, const char *s, size_t cap)
{
    dg_put_string(w, s, strnlen(s, cap));
}

/* Everything but the CRC; model[n_model] is the embedded model file. */
static void encode(dg_writer *w, const dg_checkpoint *ck, const uint8_t *model, size_t n_model)
{
    dg_put_bytes(w, dg_checkpoint_magic, sizeof dg_checkpoint_magic);
    dg_put_u32(w, DG_CHECKPOINT_FORMAT_VERSION);
    dg_put_u32(w, DG_BYTE_ORDER_MARK);
    size_t size_at = w->pos;
    dg_put_u64(w, 0);

    size_t at = dg_begin_section(w, section_tags[SEC_MODL]);
    dg_put_bytes(w, model, n_model);
    dg_end_section(w, at);

    const dg_train_config *c = &ck->cfg;
    at = dg_begin_section(w, section_tags[SEC_CONF]);
    dg_put_u32(w, (uint32_t)c->epochs);
    dg_put_u32(w, (uint32_t)c->batch);
    dg_put_u32(w, (uint32_t)c->optim.kind);
    dg_put_f32(w, c->optim.lr);
    dg_put_f32(w, c->optim.beta1);
    dg_put_f32(w, c->optim.beta2);
    dg_put_f32(w, c->optim.eps);
    dg_put_f32(w, c->optim.momentum);
    dg_put_u32(w, (uint32_t)c->schedule);
    dg_put_f64(w, c->val_split);
    dg_put_u64(w, c->seed);
    dg_put_u32(w, c->shuffle ? 1 : 0);
    dg_put_u32(w, (uint32_t)c->checkpoint_every);
    dg_put_u32(w, (uint32_t)c->early_stop);
    dg_put_u32(w, c->keep_best ? 1 : 0);
    dg_put_u32(w, (uint32_t)ck->threads);
    dg_end_section(w, at);

    at = dg_begin_section(w, section_tags[SEC_FILE]);
    put_text(w, ck->files.data, sizeof ck->files.data);
    put_text(w, ck->files.model, sizeof ck->files.model);
    put_text(w, ck->files.history, sizeof ck->files.history);
    dg_put_u32(w, ck->files.limit);
    dg_end_section(w, at);

    at = dg_begin_section(w, section_tags[SEC_DATA]);
    dg_put_u32(w, ck->n_examples);
    dg_put_u32(w, ck->data_crc);
    dg_put_u32(w, ck->n_train);
    dg_end_section(w, at);

    const dg_train_progress *p = &ck->progress;
    at = dg_begin_section(w, section_tags[SEC_POSN]);
    dg_put_u32(w, (uint32_t)p->epoch);
    dg_put_u32(w, (uint32_t)p->step);
    dg_put_u32(w, (uint32_t)p->steps);
    dg_put_u64(w, (uint64_t)p->total_step);
    for (int i = 0; i < 4; i++) {
        dg_put_u64(w, ck->rng.s[i]);
    }
    dg_put_f64(w, ck->loss_sum);
    dg_put_u64(w, ck->correct);
    dg_put_u64(w, ck->seen);
    dg_put_f64(w, ck->seconds);
    dg_end_section(w, at);

    at = dg_begin_section(w, section_tags[SEC_ORDR]);
    dg_put_u32(w, ck->n_train);
    for (uint32_t i = 0; i < ck->n_train; i++) {
        dg_put_u32(w, ck->order[i]);
    }
    dg_end_section(w, at);

    at = dg_begin_section(w, section_tags[SEC_OPTM]);
    dg_put_u64(w, (uint64_t)ck->optim_step);
    dg_put_u64(w, (uint64_t)ck->n_params);
    put_floats(w, ck->m, ck->n_params);
    put_floats(w, ck->v, ck->n_params);
    dg_end_section(w, at);

    bool has_best = ck->best && p->best_epoch > 0;
    at = dg_begin_section(w, section_tags[SEC_BEST]);
    dg_put_u32(w, (uint32_t)p->best_epoch);
    dg_put_f64(w, p->best_val_loss);
    dg_put_f64(w, p->best_val_accuracy);
    dg_put_u32(w, (uint32_t)p->bad_epochs);
    dg_put_u32(w, p->early_stopped ? 1 : 0);
    dg_put_u64(w, has_best ? (uint64_t)ck->n_params : 0);
    if (has_best) {
        put_floats(w, ck->best, ck->n_params);
    }
    dg_end_section(w, at);

    at = dg_begin_section(w, section_tags[SEC_HIST]);
    dg_put_u32(w, (uint32_t)p->epoch);
    for (int i = 0; i < p->epoch; i++) {
        const dg_history_row *r = &ck->history[i];
        dg_put_u32(w, (uint32_t)r->epoch);
        dg_put_f64(w, r->loss);
        dg_put_f64(w, r->accuracy);
        dg_put_f64(w, r->val_loss);
        dg_put_f64(w, r->val_accuracy);
        dg_put_f64(w, r->seconds);
    }
    dg_end_section(w, at);
    dg_put_precision(w, c->precision);

    const dg_augment *a = &c->augment;
    at = dg_begin_section(w, section_tags[SEC_AUGM]);
    dg_put_u32(w, a->on ? 1 : 0);
    dg_put_f32(w, a->rotate);
    dg_put_f32(w, a->scale);
    dg_put_f32(w, a->shift);
    dg_put_f32(w, a->shear);
    dg_put_f32(w, a->elastic_alpha);
    dg_put_f32(w, a->elastic_sigma);
    dg_end_section(w, at);

    at = dg_begin_section(w, section_tags[SEC_FORM]);
    dg_put_f32(w, c->flagged_ones);
    dg_end_section(w, at);

    dg_patch_u64(w, size_at, (uint64_t)(w->pos + DG_FILE_TRAILER_BYTES));
}

dg_status dg_checkpoint_save(const char *path, const dg_checkpoint *ck)
{
    if (!path || !path[0] || !ck) {
        return dg_fail(DG_ERR_ARG, "checkpoint: no path or no checkpoint");
    }
    uint8_t *model;
    size_t n_model;
    dg_status st = dg_model_encode(path, ck->net, &ck->meta, &model, &n_model);
    if (st != DG_OK) {
        return st;
    }
    dg_writer w = {0};
    encode(&w, ck, model, n_model);
    size_t n = w.pos + DG_FILE_TRAILER_BYTES;
    if (n > DG_CHECKPOINT_MAX_BYTES) {
        free(model);
        return dg_fail(DG_ERR_TOO_LARGE, "%s: not saved: the checkpoint would exceed %llu bytes",
                       path, (unsigned long long)DG_CHECKPOINT_MAX_BYTES);
    }
    w.data = malloc(n);
    if (!w.data) {
        free(model);
        return dg_fail(DG_ERR_NOMEM, "%s: out of memory for %zu bytes", path, n);
    }
    w.cap = n;
    w.pos = 0;
    encode(&w, ck, model, n_model);
    dg_put_u32(&w, dg_crc32(w.data, n - DG_FILE_TRAILER_BYTES));
    free(model);
    st = dg_write_file_atomic(path, w.data, n);
    free(w.data);
    return st;
}

/* ---------------------------------------------------------------- reading */

static dg_status check_file(const char *path, const uint8_t *d, size_t n)
{
    if (n >= sizeof model_magic && !memcmp(d, model_magic, sizeof model_magic)) {
        return dg_fail(DG_ERR_FORMAT,
                       "%s is a model, not a training checkpoint (checkpoints end in .ckpt)", path);
    }
    if (n < sizeof dg_checkpoint_magic ||
        memcmp(d, dg_checkpoint_magic, sizeof dg_checkpoint_magic) != 0) {
        return dg_fail(DG_ERR_FORMAT, "%s: not a digits training checkpoint", path);
    }
    if (n < DG_FILE_HEADER_BYTES + DG_FILE_TRAILER_BYTES) {
        return dg_fail(DG_ERR_TRUNCATED, "%s: truncated: %zu bytes, shorter than a checkpoint",
                       path, n);
    }
    uint32_t mark = dg_le32(d + 12);
    if (mark != DG_BYTE_ORDER_MARK) {
        return dg_fail(DG_ERR_FORMAT, "%s: bad byte-order mark 0x%08x (want 0x%08x)", path, mark,
                       DG_BYTE_ORDER_MARK);
    }
    uint32_t version = dg_le32(d + 8);
    if (version == 0) {
        return dg_fail(DG_ERR_FORMAT, "%s: checkpoint format version 0 is not valid", path);
    }
    if (version > DG_CHECKPOINT_FORMAT_VERSION) {
        return dg_fail(DG_ERR_VERSION,
                       "%s: written by a newer digits (checkpoint format %u, this build reads %u)",
                       path, version, DG_CHECKPOINT_FORMAT_VERSION);
    }
    uint64_t size = dg_le64(d + 16);
    if (size > n) {
        return dg_fail(DG_ERR_TRUNCATED, "%s: truncated: %zu of %llu bytes", path, n,
                       (unsigned long long)size);
    }
    if (size < n) {
        return dg_fail(DG_ERR_FORMAT, "%s: %llu bytes of checkpoint followed by %llu more", path,
                       (unsigned long long)size, (unsigned long long)(n - size));
    }
    uint32_t stored = dg_le32(d + n - DG_FILE_TRAILER_BYTES);
    uint32_t computed = dg_crc32(d, n - DG_FILE_TRAILER_BYTES);
    if (stored != computed) {
        return dg_fail(
            DG_ERR_CHECKSUM,
            "%s: checksum mismatch (stored 0x%08x, computed 0x%08x): the checkpoint is damaged",
            path, stored, computed);
    }
    return DG_OK;
}

static dg_reader section_reader(const char *path, const dg_sections *s, int sec)
{
    dg_reader r = {s->payload[sec], s->len[sec], 0, path, section_tags[sec]};
    return r;
}

static dg_status bad(const dg_reader *r, const char *what)
{
    return dg_fail(DG_ERR_FORMAT, "%s: section %s: %s", r->path, r->what, what);
}

static dg_status read_conf(dg_reader *r, dg_checkpoint *ck)
{
    dg_train_config *c = &ck->cfg;
    uint32_t epochs = 0, batch = 0, kind = 0, schedule = 0, shuffle = 0, every = 0, early = 0,
             keep = 0, threads = 0;
    dg_status st = dg_get_u32(r, "epochs", &epochs);
    st = st ? st : dg_get_u32(r, "batch", &batch);
    st = st ? st : dg_get_u32(r, "optimiser", &kind);
    st = st ? st : dg_get_f32(r, "learning rate", &c->optim.lr);
    st = st ? st : dg_get_f32(r, "beta1", &c->optim.beta1);
    st = st ? st : dg_get_f32(r, "beta2", &c->optim.beta2);
    st = st ? st : dg_get_f32(r, "epsilon", &c->optim.eps);
    st = st ? st : dg_get_f32(r, "momentum", &c->optim.momentum);
    st = st ? st : dg_get_u32(r, "schedule", &schedule);
    st = st ? st : dg_get_f64(r, "validation split", &c->val_split);
    st = st ? st : dg_get_u64(r, "seed", &c->seed);
    st = st ? st : dg_get_u32(r, "shuffle", &shuffle);
    st = st ? st : dg_get_u32(r, "checkpoint interval", &every);
    st = st ? st : dg_get_u32(r, "early-stop patience", &early);
    st = st ? st : dg_get_u32(r, "keep best", &keep);
    st = st ? st : dg_get_u32(r, "threads", &threads);
    st = st ? st : dg_end_of_payload(r);
    if (st != DG_OK) {
        return st;
    }
    const dg_optim_config *o = &c->optim;
    if (epochs < 1 || epochs > MAX_EPOCHS || batch < 1 || batch > 65536 || kind > DG_OPTIM_SGD ||
        schedule > DG_SCHEDULE_COSINE || shuffle > 1 || keep > 1 || every > 1000000000u ||
        early > MAX_EPOCHS || threads < 1 || threads > MAX_THREADS ||
        !(c->val_split >= 0 && c->val_split < 1) || !(o->lr > 0 && isfinite(o->lr)) ||
        !(o->beta1 >= 0 && o->beta1 < 1) || !(o->beta2 >= 0 && o->beta2 < 1) ||
        !(o->eps > 0 && isfinite(o->eps)) || !(o->momentum >= 0 && o->momentum < 1)) {
        return bad(r, "a training setting is out of range");
    }
    c->epochs = (int)epochs;
    c->batch = (int)batch;
    c->optim.kind = (dg_optim_kind)kind;
    c->schedule = (dg_schedule)schedule;
    c->shuffle = shuffle == 1;
    c->checkpoint_every = (int)every;
    c->early_stop = (int)early;
    c->keep_best = keep == 1;
    c->init_params = false;
    ck->threads = (int)threads;
    return DG_OK;
}

static dg_status read_files(dg_reader *r, dg_run_files *f)
{
    dg_status st = dg_get_string(r, "data folder", 0, MAX_PATH_TEXT, f->data);
    st = st ? st : dg_get_string(r, "model path", 0, MAX_PATH_TEXT, f->model);
    st = st ? st : dg_get_string(r, "history path", 0, MAX_PATH_TEXT, f->history);
    st = st ? st : dg_get_u32(r, "limit", &f->limit);
    return st ? st : dg_end_of_payload(r);
}

static dg_status read_data(dg_reader *r, dg_checkpoint *ck)
{
    dg_status st = dg_get_u32(r, "examples", &ck->n_examples);
    st = st ? st : dg_get_u32(r, "data checksum", &ck->data_crc);
    st = st ? st : dg_get_u32(r, "training examples", &ck->n_train);
    st = st ? st : dg_end_of_payload(r);
    if (st == DG_OK && (ck->n_train < 1 || ck->n_train > ck->n_examples)) {
        return bad(r, "training examples must be 1..examples");
    }
    return st;
}

static dg_status read_position(dg_reader *r, dg_checkpoint *ck)
{
    uint32_t epoch = 0, step = 0, steps = 0;
    uint64_t total = 0;
    dg_status st = dg_get_u32(r, "epoch", &epoch);
    st = st ? st : dg_get_u32(r, "step", &step);
    st = st ? st : dg_get_u32(r, "steps per epoch", &steps);
    st = st ? st : dg_get_u64(r, "total steps", &total);
    for (int i = 0; i < 4 && st == DG_OK; i++) {
        st = dg_get_u64(r, "random state", &ck->rng.s[i]);
    }
    st = st ? st : dg_get_f64(r, "loss sum", &ck->loss_sum);
    st = st ? st : dg_get_u64(r, "correct", &ck->correct);
    st = st ? st : dg_get_u64(r, "seen", &ck->seen);
    st = st ? st : dg_get_f64(r, "seconds", &ck->seconds);
    st = st ? st : dg_end_of_payload(r);
    if (st != DG_OK) {
        return st;
    }
    const dg_train_config *c = &ck->cfg;
    uint32_t want_steps = (ck->n_train + (uint32_t)c->batch - 1) / (uint32_t)c->batch;
    if (steps != want_steps || epoch > (uint32_t)c->epochs || step >= steps ||
        (epoch == (uint32_t)c->epochs && step != 0) || total != (uint64_t)epoch * steps + step) {
        return bad(r, "epoch, step and steps do not agree with the settings");
    }
    if (!(ck->rng.s[0] | ck->rng.s[1] | ck->rng.s[2] | ck->rng.s[3])) {
        return bad(r, "the random state is all zero");
    }
    uint64_t seen_want = (uint64_t)step * (uint32_t)c->batch;
    if (ck->seen != seen_want || ck->correct > ck->seen || !isfinite(ck->loss_sum) ||
        ck->loss_sum < 0 || !isfinite(ck->seconds) || ck->seconds < 0) {
        return bad(r, "the running sums of the epoch are out of range");
    }
    ck->progress.epoch = (int)epoch;
    ck->progress.step = (int)step;
    ck->progress.steps = (int)steps;
    ck->progress.total_step = (long)total;
    return DG_OK;
}

/* count u32 indices, a permutation of 0..count-1 */
static dg_status read_order(dg_reader *r, dg_checkpoint *ck)
{
    uint32_t count = 0;
    dg_status st = dg_get_u32(r, "count", &count);
    if (st != DG_OK) {
        return st;
    }
    if (count != ck->n_train) {
        return bad(r, "count differs from the training examples");
    }
    const uint8_t *b = NULL;
    if ((uint64_t)count * 4 > r->n - r->pos) {
        return dg_runs_past(r, "order", (uint64_t)count * 4);
    }
    st = dg_get_bytes(r, (size_t)count * 4, "order", &b);
    st = st ? st : dg_end_of_payload(r);
    if (st != DG_OK) {
        return st;
    }
    uint8_t *seen = calloc(count, 1);
    ck->order = malloc((size_t)count * sizeof *ck->order);
    if (!seen || !ck->order) {
        free(seen);
        return dg_fail(DG_ERR_NOMEM, "%s: out of memory for %u indices", r->path, count);
    }
    for (uint32_t i = 0; i < count && st == DG_OK; i++) {
        uint32_t k = dg_le32(b + 4 * (size_t)i);
        if (k >= count || seen[k]) {
            st = bad(r, "the order is not a permutation of the training examples");
        } else {
            seen[k] = 1;
            ck->order[i] = k;
        }
    }
    free(seen);
    return st;
}

/* n floats into a new array, each finite (and >= 0 when nonneg) */
static dg_status read_floats(dg_reader *r, const char *field, size_t n, bool nonneg, float **out)
{
    const uint8_t *b = NULL;
    if ((uint64_t)n > (r->n - r->pos) / 4) {
        return dg_runs_past(r, field, (uint64_t)n * 4);
    }
    dg_status st = dg_get_bytes(r, n * 4, field, &b);
    if (st != DG_OK) {
        return st;
    }
    float *x = malloc((n ? n : 1) * sizeof *x);
    if (!x) {
        return dg_fail(DG_ERR_NOMEM, "%s: out of memory for %zu values", r->path, n);
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t u = dg_le32(b + 4 * i);
        memcpy(&x[i], &u, sizeof u);
        if (!isfinite(x[i]) || (nonneg && x[i] < 0)) {
            free(x);
            return dg_fail(DG_ERR_FORMAT, "%s: section %s: %s %zu is out of range", r->path,
                           r->what, field, i);
        }
    }
    *out = x;
    return DG_OK;
}

static dg_status read_optim(dg_reader *r, dg_checkpoint *ck)
{
    uint64_t step = 0, count = 0;
    dg_status st = dg_get_u64(r, "optimiser steps", &step);
    st = st ? st : dg_get_u64(r, "count", &count);
    if (st != DG_OK) {
        return st;
    }
    if (count != ck->n_params || step != (uint64_t)ck->progress.total_step) {
        return bad(r, "count or steps differ from the network's and the position's");
    }
    st = read_floats(r, "first moment", ck->n_params, false, &ck->m);
    st = st ? st : read_floats(r, "second moment", ck->n_params, true, &ck->v);
    ck->optim_step = (long)step;
    return st ? st : dg_end_of_payload(r);
}

static dg_status read_best(dg_reader *r, dg_checkpoint *ck)
{
    dg_train_progress *p = &ck->progress;
    uint32_t best_epoch = 0, bad_epochs = 0, stopped = 0;
    uint64_t count = 0;
    dg_status st = dg_get_u32(r, "best epoch", &best_epoch);
    st = st ? st : dg_get_f64(r, "best validation loss", &p->best_val_loss);
    st = st ? st : dg_get_f64(r, "best validation accuracy", &p->best_val_accuracy);
    st = st ? st : dg_get_u32(r, "epochs without improvement", &bad_epochs);
    st = st ? st : dg_get_u32(r, "early stopped", &stopped);
    st = st ? st : dg_get_u64(r, "count", &count);
    if (st != DG_OK) {
        return st;
    }
    if (best_epoch > (uint32_t)p->epoch || bad_epochs > (uint32_t)p->epoch || stopped > 1 ||
        (count != 0 && count != ck->n_params) || (count != 0) != (best_epoch != 0) ||
        !isfinite(p->best_val_loss) || !isfinite(p->best_val_accuracy)) {
        return bad(r, "the best epoch's record is out of range");
    }
    p->best_epoch = (int)best_epoch;
    p->bad_epochs = (int)bad_epochs;
    p->early_stopped = stopped == 1;
    if (count) {
        st = read_floats(r, "weights", ck->n_params, false, &ck->best);
    }
    return st ? st : dg_end_of_payload(r);
}

static dg_status read_history(dg_reader *r, dg_checkpoint *ck)
{
    uint32_t rows = 0;
    dg_status st = dg_get_u32(r, "rows", &rows);
    if (st != DG_OK) {
        return st;
    }
    if (rows != (uint32_t)ck->progress.epoch) {
        return bad(r, "rows differ from the epochs completed");
    }
    if ((uint64_t)rows * HISTORY_ROW != r->n - r->pos) {
        return (uint64_t)rows * HISTORY_ROW > r->n - r->pos
                   ? dg_runs_past(r, "rows", (uint64_t)rows * HISTORY_ROW)
                   : bad(r, "spare bytes after the rows");
    }
    ck->history = calloc(rows ? rows : 1, sizeof *ck->history);
    if (!ck->history) {
        return dg_fail(DG_ERR_NOMEM, "%s: out of memory for %u history rows", r->path, rows);
    }
    for (uint32_t i = 0; i < rows && st == DG_OK; i++) {
        dg_history_row *h = &ck->history[i];
        uint32_t epoch = 0;
        st = dg_get_u32(r, "epoch", &epoch);
        st = st ? st : dg_get_f64(r, "loss", &h->loss);
        st = st ? st : dg_get_f64(r, "accuracy", &h->accuracy);
        st = st ? st : dg_get_f64(r, "validation loss", &h->val_loss);
        st = st ? st : dg_get_f64(r, "validation accuracy", &h->val_accuracy);
        st = st ? st : dg_get_f64(r, "seconds", &h->seconds);
        if (st == DG_OK &&
            (epoch != i + 1 || !(h->loss >= 0 && isfinite(h->loss)) ||
             !(h->accuracy >= 0 && h->accuracy <= 1) || !isfinite(h->val_loss) ||
             !(h->val_accuracy <= 1) || !(h->seconds >= 0 && isfinite(h->seconds)))) {
            st = bad(r, "a history row is out of range");
        }
        h->epoch = (int)epoch;
    }
    return st;
}

/* u32 on, then f32 rotate, scale, shift, shear, elastic alpha, elastic sigma */
static dg_status read_augment(dg_reader *r, dg_augment *a)
{
    uint32_t on = 0;
    dg_status st = dg_get_u32(r, "on", &on);
    st = st ? st : dg_get_f32(r, "rotate", &a->rotate);
    st = st ? st : dg_get_f32(r, "scale", &a->scale);
    st = st ? st : dg_get_f32(r, "shift", &a->shift);
    st = st ? st : dg_get_f32(r, "shear", &a->shear);
    st = st ? st : dg_get_f32(r, "elastic alpha", &a->elastic_alpha);
    st = st ? st : dg_get_f32(r, "elastic sigma", &a->elastic_sigma);
    st = st ? st : dg_end_of_payload(r);
    if (st != DG_OK) {
        return st;
    }
    a->on = on == 1;
    if (on > 1 || dg_augment_check(a) != DG_OK) {
        return bad(r, "an augmentation range is out of range");
    }
    return DG_OK;
}

/* f32 the share of flagged ones */
static dg_status read_forms(dg_reader *r, dg_train_config *cfg)
{
    dg_status st = dg_get_f32(r, "flagged ones", &cfg->flagged_ones);
    st = st ? st : dg_end_of_payload(r);
    if (st == DG_OK && !(cfg->flagged_ones >= 0.0f && cfg->flagged_ones <= 1.0f)) {
        return bad(r, "the share of flagged ones is out of range");
    }
    return st;
}

static dg_status decode(const char *path, const uint8_t *d, size_t n, dg_checkpoint *ck)
{
    dg_sections s;
    /* format 1 has no AUGM section: its runs had no augmentation; format 2 no FORM: no
     * forms of writing */
    uint32_t version = dg_le32(d + 8);
    int n_sections = version >= 3 ? SEC_COUNT : version == 2 ? SEC_FORM : SEC_AUGM;
    dg_status st = dg_find_sections(path, d, n, section_tags, n_sections, &s);
    if (st != DG_OK) {
        return st;
    }
    st = dg_model_decode(path, s.payload[SEC_MODL], s.len[SEC_MODL], &ck->net, &ck->meta);
    if (st != DG_OK) {
        return st;
    }
    ck->n_params = dg_net_param_count(ck->net);
    dg_reader r = section_reader(path, &s, SEC_CONF);
    st = read_conf(&r, ck);
    ck->cfg.norm = ck->meta.norm;
    if (st == DG_OK) {
        r = section_reader(path, &s, SEC_FILE);
        st = read_files(&r, &ck->files);
    }
    if (st == DG_OK) {
        r = section_reader(path, &s, SEC_DATA);
        st = read_data(&r, ck);
    }
    if (st == DG_OK) {
        r = section_reader(path, &s, SEC_POSN);
        st = read_position(&r, ck);
    }
    if (st == DG_OK) {
        r = section_reader(path, &s, SEC_ORDR);
        st = read_order(&r, ck);
    }
    if (st == DG_OK) {
        r = section_reader(path, &s, SEC_OPTM);
        st = read_optim(&r, ck);
    }
    if (st == DG_OK) {
        r = section_reader(path, &s, SEC_BEST);
        st = read_best(&r, ck);
    }
    if (st == DG_OK) {
        r = section_reader(path, &s, SEC_HIST);
        st = read_history(&r, ck);
    }
    ck->cfg.augment = dg_augment_defaults();
    if (st == DG_OK && n_sections > SEC_AUGM) {
        r = section_reader(path, &s, SEC_AUGM);
        st = read_augment(&r, &ck->cfg.augment);
    }
    if (st == DG_OK) {
        st = dg_read_precision(path, s.payload[SEC_PREC], s.len[SEC_PREC], &ck->cfg.precision);
    }
    ck->cfg.flagged_ones = 0.0f;
    if (st == DG_OK && n_sections == SEC_COUNT) {
        r = section_reader(path, &s, SEC_FORM);
        st = read_forms(&r, &ck->cfg);
    }
    return st;
}

dg_status dg_checkpoint_load(const char *path, dg_checkpoint **out)
{
    if (!out) {
        return dg_fail(DG_ERR_ARG, "checkpoint: nowhere to put it");
    }
    *out = NULL;
    if (!path) {
        return dg_fail(DG_ERR_ARG, "checkpoint: no path");
    }
    uint8_t *d;
    size_t n;
    dg_status st = dg_read_file(path, DG_CHECKPOINT_MAX_BYTES, "a checkpoint", &d, &n);
    if (st != DG_OK) {
        return st;
    }
    dg_checkpoint *ck = calloc(1, sizeof *ck);
    if (!ck) {
        free(d);
        return dg_fail(DG_ERR_NOMEM, "%s: out of memory", path);
    }
    st = check_file(path, d, n);
    if (st == DG_OK) {
        st = decode(path, d, n, ck);
    }
    free(d);
    if (st != DG_OK) {
        dg_checkpoint_free(ck);
        return st;
    }
    *out = ck;
    return DG_OK;
}
