/*
 * optim.c - SGD with momentum and Adam over the flat parameter arena.
 *
 * Adam follows Keras: lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t) and
 * p -= lr_t * m / (sqrt(v) + eps), with eps = 1e-7 by default.
 * SGD with momentum follows Keras too: v = momentum * v - lr * g; p += v.
 */
#include "nn/optim.h"
#include "digits.h"
#include "nn/checkpoint.h"
#include "nn/cpu/cpu.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct dg_optim {
    dg_optim_config cfg;
    size_t n;
    float *m, *v; /* [n] first and second moments (SGD uses m as velocity) */
    long step;
    float rate; /* of the step begun last: Adam's lr_t, or SGD's lr */
};

dg_optim_config dg_optim_defaults(dg_optim_kind kind)
{
    dg_optim_config c = {
        .kind = kind,
        .lr = kind == DG_OPTIM_ADAM ? 1e-3f : 1e-2f,
        .beta1 = 0.9f,
        .beta2 = 0.999f,
        .eps = 1e-7f,
        .momentum = kind == DG_OPTIM_SGD ? 0.9f : 0.0f,
    };
    return c;
}

dg_status dg_optim_new(const dg_optim_config *cfg, size_t n_params, dg_optim **out)
{
    *out = NULL;
    if (!(cfg->lr > 0.0f) || !(cfg->beta1 >= 0.0f && cfg->beta1 < 1.0f) ||
        !(cfg->beta2 >= 0.0f && cfg->beta2 < 1.0f) || !(cfg->eps > 0.0f) ||
        !(cfg->momentum >= 0.0f && cfg->momentum < 1.0f)) {
        return dg_fail(DG_ERR_ARG, "optimiser: a setting is out of range (lr %g)", (double)cfg->lr);
    }
    dg_optim *o = calloc(1, sizeof *o);
    if (!o) {
        return dg_fail(DG_ERR_NOMEM, "out of memory for the optimiser");
    }
    o->cfg = *cfg;
    o->n = n_params;
    o->m = calloc(n_params ? n_params : 1, sizeof(float));
    o->v = calloc(n_params ? n_params : 1, sizeof(float));
    if (!o->m || !o->v) {
        dg_optim_free(o);
        return dg_fail(DG_ERR_NOMEM, "out of memory for the optimiser's %zu moments", n_params);
    }
    *out = o;
    return DG_OK;
}

void dg_optim_free(dg_optim *opt)
{
    if (!opt) {
        return;
    }
    free(opt->m);
    free(opt->v);
    free(opt);
}

/* One step's update of parameters [first, end): every element on its own, so a step split
 * across threads gives the same bits as one thread's. rate is Adam's lr_t, or SGD's lr. */
typedef struct optim_update {
    dg_optim *o;
    float *p;
    const float *g;
    float rate;
} optim_update;

static void update_range(const optim_update *u, size_t first, size_t end)
{
    dg_optim *o = u->o;
    if (o->cfg.kind == DG_OPTIM_ADAM) {
        dg_adam_update(u->p + first, u->g + first, o->m + first, o->v + first, end - first,
                       o->cfg.beta1, o->cfg.beta2, u->rate, o->cfg.eps);
        return;
    }
    float mu = o->cfg.momentum;
    for (size_t i = first; i < end; i++) {
        o->m[i] = mu * o->m[i] - u->rate * u->g[i];
        u->p[i] += o->m[i];
    }
}

/* Advances the step count; the update's rate: Adam's bias-corrected lr_t, or lr. */
static optim_update begin_step(dg_optim *o, float *params, const float *grads, float lr)
{
    o->step++;
    optim_update u = {o, params, grads, lr};
    if (o->cfg.kind == DG_OPTIM_ADAM) {
        double t = (double)o->step;
        u.rate = (float)(lr * sqrt(1.0 - pow(o->cfg.beta2, t)) / (1.0 - pow(o->cfg.beta1, t)));
    }
    return u;
}

void dg_optim_step(dg_optim *opt, float *params, const float *grads, float lr)
{
    optim_update u = begin_step(opt, params, grads, lr);
    update_range(&u, 0, opt->n);
}

void dg_optim_begin(dg_optim *opt, float lr)
{
    opt->rate = begin_step(opt, NULL, NULL, lr).rate;
}

void dg_optim_update(dg_optim *opt, float *params, const float *grads, size_t first, size_t n)
{
    optim_update u = {opt, params, grads, opt->rate};
    update_range(&u, first, first + n);
}

void dg_optim_state(dg_optim *opt, float **m, float **v, long **step)
{
    *m = opt->m;
    *v = opt->v;
    *step = &opt->step;
}
