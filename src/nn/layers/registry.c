/*
 * registry.c - the one table of layer kinds: one row per file of this folder, named for
 * the file (conv2d.c exports dg_conv2d_ops). A kind's name is what specs and model files
 * store; its id is unique; neither is ever reused. The rows' order is the order in which
 * the message of an unknown layer lists the kinds. tests/test_layers.c checks that every
 * file of this folder has its row.
 */
#include "nn/net.h"

#include <string.h>

#define LAYER_KINDS(X)                                                                             \
    X(conv2d)                                                                                      \
    X(maxpool2d)                                                                                   \
    X(flatten)                                                                                     \
    X(dense)                                                                                       \
    X(dropout)                                                                                     \
    X(relu)                                                                                        \
    X(avgpool2d)                                                                                   \
    X(tanh)                                                                                        \
    X(sigmoid)                                                                                     \
    X(batchnorm2d)                                                                                 \
    /* one row per kind, each line ending in a backslash */

#define DECLARE(file) extern const dg_layer_ops dg_##file##_ops;
LAYER_KINDS(DECLARE)

#define ROW(file) &dg_##file##_ops,
const dg_layer_ops *const dg_layer_registry[] = {LAYER_KINDS(ROW) NULL};

const dg_layer_ops *dg_layer_find(const char *name)
{
    for (int i = 0; dg_layer_registry[i]; i++) {
        if (!strcmp(dg_layer_registry[i]->name, name)) {
            return dg_layer_registry[i];
        }
    }
    return NULL;
}
