/*
 * export.c - digits nets as ONNX models (dg_onnx_export): a ModelProto (opset 13) whose
 * graph runs the layers in order, written with the protobuf writer of pb.c.
 *
 *   input "input" float [N][C][H][W], N dynamic, the normalised pixels
 *   conv O K [pad P] [relu]  Conv (kernel K, stride 1, pads P) with W [O][C][K][K],
 *                    B [O] (+ Relu)
 *   maxpool K        MaxPool, kernel K, stride K       avgpool K   AveragePool, alike
 *   flatten          Flatten, axis 1 (C, H, W order, as digits' flatten)
 *   dense O [relu]   Gemm with transB 1: W [O][I], B [O] (+ Relu); a Flatten first when
 *                    its input is still [N][C][1][1]
 *   relu             Relu                              dropout P   nothing (inference)
 *   tanh             Tanh                              sigmoid     Sigmoid
 *   batchnorm [relu] BatchNormalization (epsilon DG_BATCHNORM_EPS) with scale, B,
 *                    input_mean and input_var [C] (+ Relu)
 *   then "logits" [N][classes] and Softmax (axis 1) into "probabilities".
 *
 * Field numbers as in onnx_read.c; ModelProto also 3 producer_version and 6 doc_string,
 * GraphProto 2 name and 10 doc_string, ValueInfoProto 3 doc_string. Tensors store their
 * values in raw_data, little-endian.
 */
#include "base/fileio.h"
#include "nn/net.h"
#include "onnx/pb.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPSET      13
#define IR_VERSION 8
#define NAME_MAX_  48
#define MAX_NODES  (3 * DG_MAX_LAYERS + 2)

enum { A_NONE, A_CONV, A_POOL, A_FLATTEN, A_GEMM, A_SOFTMAX, A_BATCHNORM };

/* One node of the graph to write. */
typedef struct xnode {
    const char *op;
    int attrs; /* A_*: which attributes it takes */
    int k;     /* kernel side for A_CONV and A_POOL */
    int pad;   /* A_CONV: zeros on each side */
    int layer; /* the layer whose weights it uses, -1 for none */
    char in[NAME_MAX_], out[NAME_MAX_], name[NAME_MAX_];
} xnode;

typedef struct graph {
    xnode nodes[MAX_NODES];
    int n;
    char cur[NAME_MAX_]; /* the value the next node takes */
    int rank;            /* of cur: 4 [N][C][H][W] or 2 [N][C] */
} graph;

static void add(graph *g, const char *op, int attrs, int k, int layer, const char *name)
{
    xnode *x = &g->nodes[g->n++];
    x->op = op;
    x->attrs = attrs;
    x->k = k;
    x->layer = layer;
    snprintf(x->name, sizeof x->name, "%s", name);
    snprintf(x->in, sizeof x->in, "%s", g->cur);
    snprintf(x->out, sizeof x->out, "%s", name);
    snprintf(g->cur, sizeof g->cur, "%s", name);
}

/* The nodes for layer i; DG_ERR_UNSUPPORTED for a kind without an ONNX form. */
static dg_status layer_nodes(graph *g, const dg_layer *l, int i)
{
    char name[NAME_MAX_];
    const char *kind = l->ops->name;
    int n = i + 1;
    if (!strcmp(kind, "conv")) {
        snprintf(name, sizeof name, "layer%d.conv", n);
        add(g, "Conv", A_CONV, l->k, i, name);
        g->nodes[g->n - 1].pad = l->pad;
    } else if (!strcmp(kind, "maxpool") || !strcmp(kind, "avgpool")) {
        bool max = !strcmp(kind, "maxpool");
        snprintf(name, sizeof name, "layer%d.%s", n, kind);
        add(g, max ? "MaxPool" : "AveragePool", A_POOL, l->k, -1, name);
    } else if (!strcmp(kind, "flatten")) {
        snprintf(name, sizeof name, "layer%d.flatten", n);
        add(g, "Flatten", A_FLATTEN, 0, -1, name);
        g->rank = 2;
    } else if (!strcmp(kind, "dense")) {
        if (g->rank == 4) {
            snprintf(name, sizeof name, "layer%d.flatten", n);
            add(g, "Flatten", A_FLATTEN, 0, -1, name);
            g->rank = 2;
        }
        snprintf(name, sizeof name, "layer%d.gemm", n);
        add(g, "Gemm", A_GEMM, 0, i, name);
    } else if (!strcmp(kind, "relu") || !strcmp(kind, "tanh") || !strcmp(kind, "sigmoid")) {
        snprintf(name, sizeof name, "layer%d.%s", n, kind);
        add(g,
            !strcmp(kind, "relu")   ? "Relu"
            : !strcmp(kind, "tanh") ? "Tanh"
                                    : "Sigmoid",
            A_NONE, 0, -1, name);
    } else if (!strcmp(kind, "dropout")) {
        return DG_OK;
    } else if (!strcmp(kind, "batchnorm")) {
        snprintf(name, sizeof name, "layer%d.batchnorm", n);
        add(g, "BatchNormalization", A_BATCHNORM, 0, i, name);
    } else {
        return dg_fail(DG_ERR_UNSUPPORTED, "layer %d (%s) has no ONNX form in this build", n, kind);
    }
    if (l->relu) {
        snprintf(name, sizeof name, "layer%d.relu", n);
        add(g, "Relu", A_NONE, 0, -1, name);
    }
    return DG_OK;
}

static dg_status plan(const dg_net *net, graph *g)
{
    memset(g, 0, sizeof *g);
    snprintf(g->cur, sizeof g->cur, "input");
    g->rank = 4;
    for (int i = 0; i < dg_net_layer_count(net); i++) {
        dg_status st = layer_nodes(g, dg_net_layer(net, i), i);
        if (st != DG_OK) {
            return st;
        }
    }
    if (g->rank == 4) {
        add(g, "Flatten", A_FLATTEN, 0, -1, "output.flatten");
    }
    /* the last node's output is the logits; the softmax takes them */
    snprintf(g->nodes[g->n - 1].out, NAME_MAX_, "logits");
    snprintf(g->cur, sizeof g->cur, "logits");
    add(g, "Softmax", A_SOFTMAX, 0, -1, "probabilities");
    return DG_OK;
}

/* ------------------------------------------------------------------ writing */

static void attr_int(dg_pb_writer *w, const char *name, int64_t v)
{
    size_t at = dg_pb_begin(w, 5);
    dg_pb_put_string(w, 1, name);
    dg_pb_put_varint(w, 20, 2); /* INT */
    dg_pb_put_varint(w, 3, (uint64_t)v);
    dg_pb_end(w, at);
}

static void attr_float(dg_pb_writer *w, const char *name, float v)
{
    size_t at = dg_pb_begin(w, 5);
    dg_pb_put_string(w, 1, name);
    dg_pb_put_varint(w, 20, 1); /* FLOAT */
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    dg_pb_put_fixed32(w, 2, u);
    dg_pb_end(w, at);
}

/* An INTS attribute of n copies of v. */
static void attr_ints(dg_pb_writer *w, const char *name, int n, int64_t v)
{
    size_t at = dg_pb_begin(w, 5);
    dg_pb_put_string(w, 1, name);
    dg_pb_put_varint(w, 20, 7); /* INTS */
    for (int i = 0; i < n; i++) {
        dg_pb_put_varint(w, 8, (uint64_t)v);
    }
    dg_pb_end(w, at);
}

static void put_node(dg_pb_writer *w, const xnode *x)
{
    size_t at = dg_pb_begin(w, 1);
    dg_pb_put_string(w, 1, x->in);
    if (x->layer >= 0) {
        char name[NAME_MAX_];
        snprintf(name, sizeof name, "layer%d.weight", x->layer + 1);
        dg_pb_put_string(w, 1, name);
        snprintf(name, sizeof name, "layer%d.bias", x->layer + 1);
        dg_pb_put_string(w, 1, name);
    }
    if (x->attrs == A_BATCHNORM) {
        char name[NAME_MAX_];
        snprintf(name, sizeof name, "layer%d.running_mean", x->layer + 1);
        dg_pb_put_string(w, 1, name);
        snprintf(name, sizeof name, "layer%d.running_var", x->layer + 1);
        dg_pb_put_string(w, 1, name);
    }
    dg_pb_put_string(w, 2, x->out);
    dg_pb_put_string(w, 3, x->name);
    dg_pb_put_string(w, 4, x->op);
    switch (x->attrs) {
    case A_CONV:
        attr_ints(w, "kernel_shape", 2, x->k);
        attr_ints(w, "strides", 2, 1);
        attr_ints(w, "pads", 4, x->pad);
        attr_ints(w, "dilations", 2, 1);
        attr_int(w, "group", 1);
        break;
    case A_POOL:
        attr_ints(w, "kernel_shape", 2, x->k);
        attr_ints(w, "strides", 2, x->k);
        attr_ints(w, "pads", 4, 0);
        break;
    case A_FLATTEN:
    case A_SOFTMAX:
        attr_int(w, "axis", 1);
        break;
    case A_GEMM:
        attr_int(w, "transB", 1);
        break;
    case A_BATCHNORM:
        attr_float(w, "epsilon", DG_BATCHNORM_EPS);
        break;
    default:
        break;
    }
    dg_pb_end(w, at);
}

/* A FLOAT tensor named name with dims[n_dims] and values v, raw little-endian. */
static void put_tensor(dg_pb_writer *w, const char *name, const int64_t *dims, int n_dims,
                       const float *v)
{
    size_t at = dg_pb_begin(w, 5);
    size_t count = 1;
    for (int i = 0; i < n_dims; i++) {
        dg_pb_put_varint(w, 1, (uint64_t)dims[i]);
        count *= (size_t)dims[i];
    }
    dg_pb_put_varint(w, 2, 1); /* FLOAT */
    dg_pb_put_string(w, 8, name);
    size_t raw = dg_pb_begin(w, 9);
    for (size_t i = 0; i < count && !w->failed; i++) {
        uint32_t u;
        memcpy(&u, &v[i], sizeof u);
        uint8_t b[4] = {(uint8_t)u, (uint8_t)(u >> 8), (uint8_t)(u >> 16), (uint8_t)(u >> 24)};
        dg_pb_put_raw(w, b, 4);
    }
    dg_pb_end(w, raw);
    dg_pb_end(w, at);
}

static void put_weights(dg_pb_writer *w, const dg_net *net)
{
    for (int i = 0; i < dg_net_layer_count(net); i++) {
        const dg_layer *l = dg_net_layer(net, i);
        if (!l->n_weights) {
            continue;
        }
        char name[NAME_MAX_];
        int64_t dims[4] = {l->units, l->in.c, l->k, l->k};
        int n_dims = 4;
        if (!strcmp(l->ops->name, "dense")) {
            dims[1] = (int64_t)dg_shape_size(l->in);
            n_dims = 2;
        } else if (!strcmp(l->ops->name, "batchnorm")) {
            dims[0] = l->in.c;
            n_dims = 1;
        }
        snprintf(name, sizeof name, "layer%d.weight", i + 1);
        put_tensor(w, name, dims, n_dims, l->w);
        int64_t o = (int64_t)l->n_bias;
        snprintf(name, sizeof name, "layer%d.bias", i + 1);
        put_tensor(w, name, &o, 1, l->b);
        if (l->n_state) { /* batchnorm: running mean, then running variance */
            o = (int64_t)l->n_state / 2;
            snprintf(name, sizeof name, "layer%d.running_mean", i + 1);
            put_tensor(w, name, &o, 1, l->b + l->n_bias);
            snprintf(name, sizeof name, "layer%d.running_var", i + 1);
            put_tensor(w, name, &o, 1, l->b + l->n_bias + o);
        }
    }
}

/* A float tensor's ValueInfoProto: name, [N] then dims (N named "N"), a doc string. */
static void put_value_info(dg_pb_writer *w, uint32_t field, const char *name, const int *dims,
                           int n_dims, const char *doc)
{
    size_t at = dg_pb_begin(w, field);
    dg_pb_put_string(w, 1, name);
    size_t type = dg_pb_begin(w, 2);
    size_t tensor = dg_pb_begin(w, 1);
    dg_pb_put_varint(w, 1, 1); /* FLOAT */
    size_t shape = dg_pb_begin(w, 2);
    size_t dim = dg_pb_begin(w, 1);
    dg_pb_put_string(w, 2, "N");
    dg_pb_end(w, dim);
    for (int i = 0; i < n_dims; i++) {
        dim = dg_pb_begin(w, 1);
        dg_pb_put_varint(w, 1, (uint64_t)dims[i]);
        dg_pb_end(w, dim);
    }
    dg_pb_end(w, shape);
    dg_pb_end(w, tensor);
    dg_pb_end(w, type);
    if (doc) {
        dg_pb_put_string(w, 3, doc);
    }
    dg_pb_end(w, at);
}

static void put_prop(dg_pb_writer *w, const char *key, const char *value)
{
    size_t at = dg_pb_begin(w, 14);
    dg_pb_put_string(w, 1, key);
    dg_pb_put_string(w, 2, value);
    dg_pb_end(w, at);
}

static void put_meta(dg_pb_writer *w, const dg_net *net, const dg_model_meta *m)
{
    char v[256];
    put_prop(w, "digits.spec", dg_net_spec(net));
    snprintf(v, sizeof v, "%.9g", (double)m->norm.scale);
    put_prop(w, "digits.input_scale", v);
    snprintf(v, sizeof v, "%.9g", (double)m->norm.mean);
    put_prop(w, "digits.input_mean", v);
    snprintf(v, sizeof v, "%.9g", (double)m->norm.std);
    put_prop(w, "digits.input_std", v);
    snprintf(v, sizeof v,
             "(p * %.9g - %.9g) / %.9g for pixels p 0..255, 0 background, 255 ink, "
             "MNIST-like 28x28",
             (double)m->norm.scale, (double)m->norm.mean, (double)m->norm.std);
    put_prop(w, "digits.input", v);
    for (int c = 0; c < m->classes; c++) {
        char key[32];
        snprintf(key, sizeof key, "digits.label.%d", c);
        snprintf(v, sizeof v, "%.*s", (int)sizeof m->labels[c], m->labels[c]);
        put_prop(w, key, v);
    }
    snprintf(v, sizeof v, "%.*s", (int)sizeof m->preset, m->preset);
    put_prop(w, "digits.preset", v);
    snprintf(v, sizeof v, "%.*s", (int)sizeof m->dataset, m->dataset);
    put_prop(w, "digits.dataset", v);
    snprintf(v, sizeof v, "%llu", (unsigned long long)m->seed);
    put_prop(w, "digits.seed", v);
    snprintf(v, sizeof v, "%d", m->epochs);
    put_prop(w, "digits.epochs", v);
    snprintf(v, sizeof v, "%d", m->batch);
    put_prop(w, "digits.batch", v);
    snprintf(v, sizeof v, "%.9g", (double)m->lr);
    put_prop(w, "digits.lr", v);
    snprintf(v, sizeof v, "%u", m->n_train);
    put_prop(w, "digits.n_train", v);
    snprintf(v, sizeof v, "%.17g", m->val_accuracy < 0 ? -1.0 : m->val_accuracy);
    put_prop(w, "digits.val_accuracy", v);
    snprintf(v, sizeof v, "%.17g", m->test_accuracy < 0 ? -1.0 : m->test_accuracy);
    put_prop(w, "digits.test_accuracy", v);
    snprintf(v, sizeof v, "%lld", (long long)m->created);
    put_prop(w, "digits.created", v);
    snprintf(v, sizeof v, "%u", m->preprocess);
    put_prop(w, "digits.preprocess", v);
}

static void put_model(dg_pb_writer *w, const dg_net *net, const dg_model_meta *m, const graph *g)
{
    dg_pb_put_varint(w, 1, IR_VERSION);
    dg_pb_put_string(w, 2, "digits");
    dg_pb_put_string(w, 3, DG_VERSION_STRING);
    dg_pb_put_string(w, 6, "handwritten digit recogniser exported by digits (docs/onnx.md)");
    size_t graph_at = dg_pb_begin(w, 7);
    for (int i = 0; i < g->n; i++) {
        put_node(w, &g->nodes[i]);
    }
    dg_pb_put_string(w, 2, "digits");
    put_weights(w, net);
    dg_pb_put_string(w, 10, dg_net_spec(net));
    dg_shape in = dg_net_input_shape(net);
    int in_dims[3] = {in.c, in.h, in.w}, out_dims[1] = {dg_net_classes(net)};
    char doc[160];
    snprintf(doc, sizeof doc, "normalised pixels (p * %.9g - %.9g) / %.9g, p 0..255 (255 ink)",
             (double)m->norm.scale, (double)m->norm.mean, (double)m->norm.std);
    put_value_info(w, 11, "input", in_dims, 3, doc);
    put_value_info(w, 12, "logits", out_dims, 1, "class scores before softmax");
    put_value_info(w, 12, "probabilities", out_dims, 1, "class probabilities");
    dg_pb_end(w, graph_at);
    size_t opset = dg_pb_begin(w, 8);
    dg_pb_put_string(w, 1, "");
    dg_pb_put_varint(w, 2, OPSET);
    dg_pb_end(w, opset);
    put_meta(w, net, m);
}

dg_status dg_onnx_export_memory(const dg_net *net, const dg_model_meta *meta, uint8_t **out,
                                size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!net) {
        return dg_fail(DG_ERR_ARG, "onnx: no network to export");
    }
    dg_model_meta m;
    if (meta) {
        m = *meta;
    } else {
        dg_model_meta_default(&m);
        m.classes = dg_net_classes(net);
        for (int c = 0; c < m.classes; c++) {
            snprintf(m.labels[c], sizeof m.labels[c], "%d", c);
        }
    }
    if (m.classes != dg_net_classes(net)) {
        return dg_fail(DG_ERR_ARG, "onnx: %d labels for a network with %d outputs", m.classes,
                       dg_net_classes(net));
    }
    if (!isfinite(m.norm.scale) || !isfinite(m.norm.mean) || !(m.norm.std > 0) ||
        !isfinite(m.norm.std)) {
        return dg_fail(DG_ERR_ARG, "onnx: normalisation needs finite scale and mean, std > 0");
    }
    const float *params = dg_net_params_const(net);
    for (size_t i = 0; i < dg_net_param_count(net); i++) {
        if (!isfinite(params[i])) {
            return dg_fail(DG_ERR_ARG, "onnx: parameter %zu is not finite", i);
        }
    }
    graph *g = malloc(sizeof *g);
    if (!g) {
        return dg_fail(DG_ERR_NOMEM, "out of memory");
    }
    dg_status st = plan(net, g);
    if (st == DG_OK) {
        dg_pb_writer w = {0};
        put_model(&w, net, &m, g);
        if (w.failed) {
            dg_pb_writer_free(&w);
            st = dg_fail(DG_ERR_NOMEM, "out of memory for the ONNX file");
        } else {
            *out = w.data;
            *n = w.n;
        }
    }
    free(g);
    return st;
}

dg_status dg_onnx_export(const char *path, const dg_net *net, const dg_model_meta *meta)
{
    if (!path || !path[0]) {
        return dg_fail(DG_ERR_ARG, "onnx: no path to export to");
    }
    uint8_t *bytes;
    size_t n;
    dg_status st = dg_onnx_export_memory(net, meta, &bytes, &n);
    if (st != DG_OK) {
        return dg_fail(st, "%s: not written: %s", path, dg_last_error());
    }
    st = dg_write_file_atomic(path, bytes, n);
    free(bytes);
    return st;
}
