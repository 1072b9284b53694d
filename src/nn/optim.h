/*
 * optim.h - the optimiser's step split across threads, for train.c. Private to nn.
 */
#ifndef DG_NN_OPTIM_H
#define DG_NN_OPTIM_H

#include "base/parallel.h"
#include "digits.h"

/* dg_optim_step with the update cut into parts of whole 64-byte lines of the arena, which
 * pool's threads take as they free up: the same bits as dg_optim_step. */
void dg_optim_step_pool(dg_optim *opt, float *params, const float *grads, float lr, dg_pool *pool);

#endif
