/*
 * registry.c - the one table of layer kinds. A kind's id and name are written into
 * model files and never reused; the table length is tied to DG_LAYER_COUNT.
 */
#include "nn/net.h"

#include <string.h>

const dg_layer_ops *const dg_layer_registry[DG_LAYER_COUNT] = {
    [DG_LAYER_CONV2D] = &dg_conv2d_ops,   [DG_LAYER_MAXPOOL2D] = &dg_maxpool2d_ops,
    [DG_LAYER_FLATTEN] = &dg_flatten_ops, [DG_LAYER_DENSE] = &dg_dense_ops,
    [DG_LAYER_DROPOUT] = &dg_dropout_ops, [DG_LAYER_RELU] = &dg_relu_ops,
};

_Static_assert(sizeof dg_layer_registry / sizeof dg_layer_registry[0] == DG_LAYER_COUNT,
               "one registry row per layer kind");

const dg_layer_ops *dg_layer_find(const char *name)
{
    for (int i = 0; i < DG_LAYER_COUNT; i++) {
        if (!strcmp(dg_layer_registry[i]->name, name)) {
            return dg_layer_registry[i];
        }
    }
    return NULL;
}
