/*
 * optim.h - the optimiser's step in parts, for train.c. Private to nn.
 */
#ifndef DG_NN_OPTIM_H
#define DG_NN_OPTIM_H

#include "digits.h"

/* A step's update in parts, for a caller that has the gradients ready part by part:
 * dg_optim_begin advances the step and fixes its rate; dg_optim_update then updates
 * params [first, first + n) from grads, on any thread, each element on its own. Every
 * element updated once gives the same bits as dg_optim_step. */
void dg_optim_begin(dg_optim *opt, float lr);
void dg_optim_update(dg_optim *opt, float *params, const float *grads, size_t first, size_t n);

#endif
