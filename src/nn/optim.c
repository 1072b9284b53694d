/*
 * optim.c - SGD with momentum and Adam over the flat parameter arena.
 *
 * Adam follows Keras: lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t) and
 * p -= lr_t * m / (sqrt(v) + eps), with eps = 1e-7 by default.
 * SGD with momentum follows Keras too: v = momentum * v - lr * g; p += v.
 */
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

static void adam_step(dg_optim *o, float *restrict p, const float *restrict g, float lr)
{
    o->step++;
    float b1 = o->cfg.beta1, b2 = o->cfg.beta2, eps = o->cfg.eps;
    double t = (double)o->step;
    float lr_t = (float)(lr * sqrt(1.0 - pow(b2, t)) / (1.0 - pow(b1, t)));
    dg_adam_update(p, g, o->m, o->v, o->n, b1, b2, lr_t, eps);
}

static void sgd_step(dg_optim *o, float *restrict p, const float *restrict g, float lr)
{
    o->step++;
    float mu = o->cfg.momentum;
    float *restrict vel = o->m;
    for (size_t i = 0; i < o->n; i++) {
        vel[i] = mu * vel[i] - lr * g[i];
        p[i] += vel[i];
    }
}

void dg_optim_step(dg_optim *opt, float *params, const float *grads, float lr)
{
    if (opt->cfg.kind == DG_OPTIM_ADAM) {
        adam_step(opt, params, grads, lr);
    } else {
        sgd_step(opt, params, grads, lr);
    }
}

void dg_optim_state(dg_optim *opt, float **m, float **v, long **step)
{
    *m = opt->m;
    *v = opt->v;
    *step = &opt->step;
}
