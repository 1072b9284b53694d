/*
 * import.h - what the two halves of the ONNX importer share: import.c walks the graph's
 * chain and builds the net, import_ops.c translates each operator into a layer. The
 * builder collects the layers (as spec words) and the parameter arena in layer order.
 */
#ifndef DG_ONNX_IMPORT_H
#define DG_ONNX_IMPORT_H

#include "nn/net.h"
#include "onnx/onnx_model.h"

enum { K_CONV, K_MAXPOOL, K_AVGPOOL, K_FLATTEN, K_DENSE, K_RELU, K_TANH, K_SIGMOID, K_BATCHNORM };

typedef struct entry {
    int kind;
    int units, k;
    bool relu;
    int pad; /* conv */
} entry;

typedef struct builder {
    const ox_model *m;
    bool *used;        /* [n_nodes] nodes already on the chain */
    ox_tensor *consts; /* [n_nodes] the value of each Constant node (type 0 otherwise) */
    entry layers[DG_MAX_LAYERS];
    int n_layers;
    float *params; /* the net's parameter arena, in layer order */
    size_t n_params, cap;
    int rank;       /* 4: the tensor is [N][c][h][w]; 2: [N][c] */
    int c, h, w;    /* one example's shape */
    int64_t batch;  /* the input's batch size when fixed, else -1 */
    dg_shape input; /* the graph input's example shape */
} builder;

/* "node 'name' (Op): reason" (or "node 7 (Op): ...") as the thread's error; returns st. */
dg_status dg_ox_fail(const builder *b, int i, dg_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
/* The constant named name: an initializer or a Constant node's value; NULL if none. */
const ox_tensor *dg_ox_const(const builder *b, dg_pb_bytes name);
/* How many nodes take value v as an input; *first and *second (may be NULL) get two. */
int dg_ox_consumers(const builder *b, dg_pb_bytes v, int *first, int *second);
/* Attribute name of node i, of the given type, into *a; *found says whether it is there. */
dg_status dg_ox_attr(const builder *b, int i, const char *name, int type, ox_attr *a, bool *found);
/* Refuses attributes not among names (space-separated) with the node's name. */
dg_status dg_ox_known_attrs(const builder *b, int i, const char *names);

/* The operators: each translates node i, whose first input is the chain's value, into a
 * layer (or into nothing) and updates the builder's shape. dg_ox_matmul also takes an Add
 * of a bias after it and moves *next past it. */
dg_status dg_ox_conv(builder *b, int i);
dg_status dg_ox_pool(builder *b, int i, bool max);
dg_status dg_ox_flatten(builder *b, int i);
dg_status dg_ox_reshape(builder *b, int i);
dg_status dg_ox_gemm(builder *b, int i);
dg_status dg_ox_matmul(builder *b, int i, dg_pb_bytes *next);
dg_status dg_ox_relu(builder *b, int i);
/* Tanh or Sigmoid (kind K_TANH, K_SIGMOID): a layer of their own. */
dg_status dg_ox_activation(builder *b, int i, int kind);
dg_status dg_ox_softmax(builder *b, int i);
dg_status dg_ox_dropout(builder *b, int i);
dg_status dg_ox_pad(builder *b, int i);
/* BatchNormalization at inference: scale, B, mean and var constants of the channels. */
dg_status dg_ox_batchnorm(builder *b, int i);

#endif
