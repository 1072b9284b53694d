/*
 * import.c - ONNX graphs into digits nets (dg_onnx_import). The graph must be one chain
 * from its image input to its output, each node taking the previous node's output first
 * and constants (initializers or Constant nodes) for the rest. Each node becomes a layer
 * of a spec, or is folded into one:
 *
 *   Conv (stride 1, odd square kernel, padding      conv O K [pad P]  weights [O][C][K][K]
 *         the same on every side)
 *   Relu                                            relu, or fused into the conv/dense before
 *   Tanh, Sigmoid                                   tanh, sigmoid
 *   MaxPool / AveragePool (K x K, stride K)         maxpool K / avgpool K
 *   Flatten (axis 1), Reshape to [N, C*H*W]         flatten (nothing on a flat input)
 *   Gemm, MatMul (+ Add of a bias)                  dense O      weights [O][I]
 *   Dropout, Identity, Pad of zeros                 nothing (inference; PyTorch pads
 *                                                   by 0 before AveragePool)
 *   Softmax, LogSoftmax at the end                  nothing: digits applies softmax itself
 *
 * Flatten orders C, H, W in ONNX and in digits alike, so weights are copied as they are
 * (Gemm's B transposed when transB is 0, MatMul's always). Anything else is refused with
 * one line naming the node and the reason. The metadata written by dg_onnx_export
 * (docs/onnx.md) is read back into dg_model_meta.
 */
#include "onnx/import.h"
#include "base/fileio.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "node 'name' (Op): reason", or "node 7 (Op): ..." for a node without a name. */
dg_status dg_ox_fail(const builder *b, int i, dg_status st, const char *fmt, ...)
{
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    const ox_node *nd = &b->m->nodes[i];
    int op_n = nd->op.n > 40 ? 40 : (int)nd->op.n;
    if (nd->name.n) {
        int name_n = nd->name.n > 80 ? 80 : (int)nd->name.n;
        return dg_fail(st, "node '%.*s' (%.*s): %s", name_n, (const char *)nd->name.p, op_n,
                       (const char *)nd->op.p, why);
    }
    return dg_fail(st, "node %d (%.*s): %s", i + 1, op_n, (const char *)nd->op.p, why);
}

/* The constant named name: an initializer or a Constant node's value; NULL if none. */
const ox_tensor *dg_ox_const(const builder *b, dg_pb_bytes name)
{
    for (int i = 0; i < b->m->n_inits; i++) {
        if (dg_pb_same(b->m->inits[i].name, name)) {
            return &b->m->inits[i];
        }
    }
    for (int i = 0; i < b->m->n_nodes; i++) {
        if (b->consts[i].type && dg_pb_same(b->m->nodes[i].out[0], name)) {
            return &b->consts[i];
        }
    }
    return NULL;
}

/* Nodes (other than Constant nodes) that take value v as an input; *first gets one. */
int dg_ox_consumers(const builder *b, dg_pb_bytes v, int *first, int *second)
{
    int count = 0;
    for (int i = 0; i < b->m->n_nodes; i++) {
        const ox_node *nd = &b->m->nodes[i];
        int n_in = nd->n_in < OX_MAX_IO ? nd->n_in : OX_MAX_IO;
        for (int k = 0; k < n_in; k++) {
            if (nd->in[k].n && dg_pb_same(nd->in[k], v)) {
                if (count == 0 && first) {
                    *first = i;
                } else if (count == 1 && second) {
                    *second = i;
                }
                count++;
                break;
            }
        }
    }
    return count;
}

/* ------------------------------------------------------------------ attributes */

/* Finds attribute name of node i into *a; *found says whether it is there. */
dg_status dg_ox_attr(const builder *b, int i, const char *name, int type, ox_attr *a, bool *found)
{
    const ox_node *nd = &b->m->nodes[i];
    *found = false;
    for (int k = 0; k < nd->n_attrs && k < OX_MAX_ATTRS; k++) {
        dg_status st = dg_ox_node_attr(nd, k, a);
        if (st != DG_OK) {
            return dg_ox_fail(b, i, st, "attribute %d: %s", k + 1, dg_last_error());
        }
        if (dg_pb_eq(a->name, name)) {
            if (a->type != type) {
                return dg_ox_fail(b, i, DG_ERR_FORMAT, "attribute %s has type %d, want %d", name,
                                  a->type, type);
            }
            if (type == OX_ATTR_INTS && a->n_ints > OX_MAX_INTS) {
                return dg_ox_fail(b, i, DG_ERR_UNSUPPORTED, "attribute %s has %d values", name,
                                  a->n_ints);
            }
            *found = true;
            return DG_OK;
        }
    }
    return DG_OK;
}

/* Refuses attributes the node's operator does not have here: names lists the known ones,
 * separated by spaces. */
dg_status dg_ox_known_attrs(const builder *b, int i, const char *names)
{
    const ox_node *nd = &b->m->nodes[i];
    if (nd->n_attrs > OX_MAX_ATTRS) {
        return dg_ox_fail(b, i, DG_ERR_UNSUPPORTED, "%d attributes", nd->n_attrs);
    }
    for (int k = 0; k < nd->n_attrs; k++) {
        ox_attr a;
        dg_status st = dg_ox_node_attr(nd, k, &a);
        if (st != DG_OK) {
            return dg_ox_fail(b, i, st, "attribute %d: %s", k + 1, dg_last_error());
        }
        bool known = false;
        for (const char *p = names; *p && !known;) {
            size_t len = strcspn(p, " ");
            known = a.name.n == len && memcmp(a.name.p, p, len) == 0;
            p += len + (p[len] == ' ');
        }
        if (!known) {
            int n = a.name.n > 40 ? 40 : (int)a.name.n;
            return dg_ox_fail(b, i, DG_ERR_UNSUPPORTED, "attribute '%.*s' is not read by digits", n,
                              (const char *)a.name.p);
        }
    }
    return DG_OK;
}

/* ------------------------------------------------------------------ the chain */

/* Checks node i's inputs and outputs: the chain's value first, constants after. */
static dg_status check_links(const builder *b, int i, dg_pb_bytes cur)
{
    const ox_node *nd = &b->m->nodes[i];
    if (nd->domain.n && !dg_pb_eq(nd->domain, "ai.onnx")) {
        return dg_ox_fail(b, i, DG_ERR_UNSUPPORTED, "operator domain '%.*s' is not read by digits",
                          nd->domain.n > 40 ? 40 : (int)nd->domain.n, (const char *)nd->domain.p);
    }
    if (nd->n_in > OX_MAX_IO || nd->n_out > OX_MAX_IO || nd->n_out < 1 || !nd->out[0].n) {
        return dg_ox_fail(b, i, DG_ERR_UNSUPPORTED, "%d inputs and %d outputs", nd->n_in,
                          nd->n_out);
    }
    if (!dg_pb_same(nd->in[0], cur)) {
        return dg_ox_fail(b, i, DG_ERR_UNSUPPORTED,
                          "takes the previous node's output as a later input: not a chain");
    }
    for (int k = 1; k < nd->n_in; k++) {
        if (nd->in[k].n && !dg_ox_const(b, nd->in[k])) {
            return dg_ox_fail(b, i, DG_ERR_UNSUPPORTED,
                              "input '%.*s' is neither the previous node's output nor a constant: "
                              "the graph is not a chain",
                              nd->in[k].n > 80 ? 80 : (int)nd->in[k].n, (const char *)nd->in[k].p);
        }
    }
    return DG_OK;
}

/* Translates node i, the one that takes *cur; moves *cur to its output. */
static dg_status translate(builder *b, int i, dg_pb_bytes *cur)
{
    dg_status st = check_links(b, i, *cur);
    if (st != DG_OK) {
        return st;
    }
    const ox_node *nd = &b->m->nodes[i];
    *cur = nd->out[0];
    dg_pb_bytes op = nd->op;
    if (dg_pb_eq(op, "Conv")) {
        return dg_ox_conv(b, i);
    } else if (dg_pb_eq(op, "Relu")) {
        return dg_ox_relu(b, i);
    } else if (dg_pb_eq(op, "Tanh") || dg_pb_eq(op, "Sigmoid")) {
        return dg_ox_activation(b, i, dg_pb_eq(op, "Tanh") ? K_TANH : K_SIGMOID);
    } else if (dg_pb_eq(op, "MaxPool") || dg_pb_eq(op, "AveragePool")) {
        return dg_ox_pool(b, i, dg_pb_eq(op, "MaxPool"));
    } else if (dg_pb_eq(op, "Flatten")) {
        return dg_ox_flatten(b, i);
    } else if (dg_pb_eq(op, "Reshape")) {
        return dg_ox_reshape(b, i);
    } else if (dg_pb_eq(op, "Gemm")) {
        return dg_ox_gemm(b, i);
    } else if (dg_pb_eq(op, "MatMul")) {
        return dg_ox_matmul(b, i, cur);
    } else if (dg_pb_eq(op, "Softmax") || dg_pb_eq(op, "LogSoftmax")) {
        return dg_ox_softmax(b, i);
    } else if (dg_pb_eq(op, "Dropout")) {
        return dg_ox_dropout(b, i);
    } else if (dg_pb_eq(op, "Pad")) {
        return dg_ox_pad(b, i);
    } else if (dg_pb_eq(op, "BatchNormalization")) {
        return dg_ox_batchnorm(b, i);
    } else if (dg_pb_eq(op, "Identity")) {
        return dg_ox_known_attrs(b, i, "");
    }
    return dg_ox_fail(b, i, DG_ERR_UNSUPPORTED, "operator not supported by digits");
}

/* The graph's one input that is not a constant, checked to be [N][C][H][W] floats. */
static dg_status find_input(builder *b, dg_pb_bytes *name)
{
    const ox_model *m = b->m;
    const ox_value *in = NULL;
    int n = 0;
    for (int k = 0; k < m->n_inputs; k++) {
        if (!dg_ox_const(b, m->inputs[k].name)) {
            in = &m->inputs[k];
            n++;
        }
    }
    if (n != 1) {
        return dg_fail(DG_ERR_UNSUPPORTED,
                       "graph has %d inputs besides its weights (digits "
                       "takes one image tensor)",
                       n);
    }
    int name_n = in->name.n > 80 ? 80 : (int)in->name.n;
    if (in->elem_type != OX_FLOAT) {
        return dg_fail(DG_ERR_UNSUPPORTED, "input '%.*s' is not a float tensor (type %d)", name_n,
                       (const char *)in->name.p, in->elem_type);
    }
    if (in->n_dims != 4 || in->dims[1] < 1 || in->dims[2] < 1 || in->dims[3] < 1 ||
        in->dims[1] > 64 || in->dims[2] > 4096 || in->dims[3] > 4096 || in->dims[0] == 0) {
        return dg_fail(DG_ERR_UNSUPPORTED,
                       "input '%.*s' must be [N, C, H, W] with fixed C (1..64), H and W "
                       "(1..4096), e.g. [N, 1, 28, 28]",
                       name_n, (const char *)in->name.p);
    }
    *name = in->name;
    b->rank = 4;
    b->c = (int)in->dims[1];
    b->h = (int)in->dims[2];
    b->w = (int)in->dims[3];
    b->batch = in->dims[0];
    b->input = (dg_shape){b->c, b->h, b->w};
    return DG_OK;
}

/* The value of each Constant node, so that constants are found by name alike. */
static dg_status read_constants(builder *b)
{
    for (int i = 0; i < b->m->n_nodes; i++) {
        const ox_node *nd = &b->m->nodes[i];
        if (!dg_pb_eq(nd->op, "Constant")) {
            continue;
        }
        ox_attr a;
        bool found;
        dg_status st = dg_ox_attr(b, i, "value", OX_ATTR_TENSOR, &a, &found);
        if (st != DG_OK) {
            return st;
        }
        if (!found || nd->n_in != 0 || nd->n_out != 1 || !nd->out[0].n) {
            return dg_ox_fail(b, i, DG_ERR_UNSUPPORTED, "digits reads constants given as a tensor");
        }
        b->consts[i] = a.t;
        b->consts[i].name = nd->out[0];
        b->consts[i].type = a.t.type ? a.t.type : -1;
        b->used[i] = true;
    }
    return DG_OK;
}

/* Walks the chain from the input to the last node; every other node must be a constant. */
static dg_status walk(builder *b)
{
    dg_pb_bytes cur;
    dg_status st = find_input(b, &cur);
    if (st != DG_OK) {
        return st;
    }
    for (;;) {
        int next = -1, other = -1;
        int n = dg_ox_consumers(b, cur, &next, &other);
        if (n == 0) {
            break;
        }
        if (n > 1) {
            const ox_node *a = &b->m->nodes[next], *c = &b->m->nodes[other];
            return dg_fail(DG_ERR_UNSUPPORTED,
                           "value '%.*s' feeds %d nodes (%.*s and %.*s): digits runs one chain of "
                           "layers",
                           cur.n > 80 ? 80 : (int)cur.n, (const char *)cur.p, n,
                           a->op.n > 40 ? 40 : (int)a->op.n, (const char *)a->op.p,
                           c->op.n > 40 ? 40 : (int)c->op.n, (const char *)c->op.p);
        }
        if (b->used[next]) {
            return dg_ox_fail(b, next, DG_ERR_UNSUPPORTED, "reached twice: the graph has a cycle");
        }
        b->used[next] = true;
        if ((st = translate(b, next, &cur)) != DG_OK) {
            return st;
        }
    }
    for (int i = 0; i < b->m->n_nodes; i++) {
        if (!b->used[i]) {
            return dg_ox_fail(b, i, DG_ERR_UNSUPPORTED,
                              "not on the chain from the input: digits runs one chain of layers");
        }
    }
    for (int k = 0; k < b->m->n_outputs; k++) {
        if (dg_pb_same(b->m->outputs[k].name, cur)) {
            return DG_OK;
        }
    }
    return dg_fail(DG_ERR_UNSUPPORTED, "the chain ends at '%.*s', which is not a graph output",
                   cur.n > 80 ? 80 : (int)cur.n, (const char *)cur.p);
}

/* The spec text of the layers built. */
static dg_status spec_text(const builder *b, char *spec, size_t size)
{
    size_t used = 0;
    spec[0] = '\0';
    for (int i = 0; i < b->n_layers; i++) {
        const entry *e = &b->layers[i];
        char one[64];
        const char *relu = e->relu ? " relu" : "";
        switch (e->kind) {
        case K_CONV:
            if (e->pad) {
                snprintf(one, sizeof one, "conv %d %d pad %d%s", e->units, e->k, e->pad, relu);
            } else {
                snprintf(one, sizeof one, "conv %d %d%s", e->units, e->k, relu);
            }
            break;
        case K_MAXPOOL:
            snprintf(one, sizeof one, "maxpool %d", e->k);
            break;
        case K_AVGPOOL:
            snprintf(one, sizeof one, "avgpool %d", e->k);
            break;
        case K_FLATTEN:
            snprintf(one, sizeof one, "flatten");
            break;
        case K_DENSE:
            snprintf(one, sizeof one, "dense %d%s", e->units, relu);
            break;
        case K_TANH:
            snprintf(one, sizeof one, "tanh");
            break;
        case K_SIGMOID:
            snprintf(one, sizeof one, "sigmoid");
            break;
        case K_BATCHNORM:
            snprintf(one, sizeof one, "batchnorm%s", relu);
            break;
        default:
            snprintf(one, sizeof one, "relu");
            break;
        }
        int n = snprintf(spec + used, size - used, "%s%s", i ? ", " : "", one);
        if (n < 0 || (size_t)n >= size - used) {
            return dg_fail(DG_ERR_UNSUPPORTED, "the network's spec is longer than %zu bytes",
                           size - 1);
        }
        used += (size_t)n;
    }
    if (b->n_layers == 0) {
        return dg_fail(DG_ERR_UNSUPPORTED, "the graph has no layers");
    }
    return DG_OK;
}

/* ------------------------------------------------------------------ metadata */

/* The value of metadata key as a C string in buf, or NULL when absent. */
static const char *prop(const ox_model *m, const char *key, char *buf, size_t size)
{
    for (int i = m->n_props - 1; i >= 0; i--) {
        if (dg_pb_eq(m->props[i].key, key)) {
            size_t n = m->props[i].value.n < size - 1 ? m->props[i].value.n : size - 1;
            if (n) {
                memcpy(buf, m->props[i].value.p, n);
            }
            buf[n] = '\0';
            return buf;
        }
    }
    return NULL;
}

static dg_status prop_number(const ox_model *m, const char *key, double lo, double hi, double *v)
{
    char buf[64];
    if (!prop(m, key, buf, sizeof buf)) {
        return DG_OK;
    }
    char *end;
    double x = strtod(buf, &end);
    if (end == buf || *end || !(x >= lo && x <= hi)) {
        return dg_fail(DG_ERR_FORMAT, "metadata %s: '%s' is not a number in %g..%g", key, buf, lo,
                       hi);
    }
    *v = x;
    return DG_OK;
}

static dg_status prop_text(const ox_model *m, const char *key, char *dst, size_t size)
{
    char buf[128];
    if (!prop(m, key, buf, sizeof buf)) {
        return DG_OK;
    }
    size_t n = strlen(buf);
    for (size_t k = 0; k < n; k++) {
        if ((unsigned char)buf[k] < 0x20 || buf[k] == 0x7f) {
            return dg_fail(DG_ERR_FORMAT, "metadata %s holds a control character", key);
        }
    }
    if (n >= size) {
        return dg_fail(DG_ERR_FORMAT, "metadata %s longer than %zu bytes", key, size - 1);
    }
    memcpy(dst, buf, n + 1);
    return DG_OK;
}

/* Fills meta from the digits.* metadata of dg_onnx_export (docs/onnx.md), defaults else. */
static dg_status read_meta(const ox_model *m, int classes, dg_model_meta *meta)
{
    dg_model_meta_default(meta);
    meta->classes = classes;
    meta->dataset[0] = '\0';
    for (int c = 0; c < classes; c++) {
        snprintf(meta->labels[c], sizeof meta->labels[c], "%d", c);
    }
    double scale = meta->norm.scale, mean = meta->norm.mean, std = meta->norm.std;
    double seed = 0, epochs = 0, batch = 0, lr = 0, n_train = 0, created = 0, prep = 1;
    double val = -1, test = -1;
    dg_status st = DG_OK;
    if ((st = prop_number(m, "digits.input_scale", -1e30, 1e30, &scale)) != DG_OK ||
        (st = prop_number(m, "digits.input_mean", -1e30, 1e30, &mean)) != DG_OK ||
        (st = prop_number(m, "digits.input_std", 1e-30, 1e30, &std)) != DG_OK ||
        (st = prop_number(m, "digits.seed", 0, 9007199254740992.0, &seed)) != DG_OK ||
        (st = prop_number(m, "digits.epochs", 0, 2147483647, &epochs)) != DG_OK ||
        (st = prop_number(m, "digits.batch", 0, 2147483647, &batch)) != DG_OK ||
        (st = prop_number(m, "digits.lr", 0, 1e30, &lr)) != DG_OK ||
        (st = prop_number(m, "digits.n_train", 0, 4294967295.0, &n_train)) != DG_OK ||
        (st = prop_number(m, "digits.val_accuracy", -1, 1, &val)) != DG_OK ||
        (st = prop_number(m, "digits.test_accuracy", -1, 1, &test)) != DG_OK ||
        (st = prop_number(m, "digits.created", -1e15, 1e15, &created)) != DG_OK ||
        (st = prop_number(m, "digits.preprocess", 0, 4294967295.0, &prep)) != DG_OK ||
        (st = prop_text(m, "digits.preset", meta->preset, sizeof meta->preset)) != DG_OK ||
        (st = prop_text(m, "digits.dataset", meta->dataset, sizeof meta->dataset)) != DG_OK) {
        return st;
    }
    for (int c = 0; c < classes; c++) {
        char key[32];
        snprintf(key, sizeof key, "digits.label.%d", c);
        if ((st = prop_text(m, key, meta->labels[c], sizeof meta->labels[c])) != DG_OK) {
            return st;
        }
        if (!meta->labels[c][0]) {
            return dg_fail(DG_ERR_FORMAT, "metadata %s is empty", key);
        }
    }
    meta->norm = (dg_norm){(float)scale, (float)mean, (float)std};
    meta->seed = (uint64_t)seed;
    meta->epochs = (int)epochs;
    meta->batch = (int)batch;
    meta->lr = (float)lr;
    meta->n_train = (uint32_t)n_train;
    meta->val_accuracy = val < 0 ? -1 : val;
    meta->test_accuracy = test < 0 ? -1 : test;
    meta->created = (int64_t)created;
    meta->preprocess = (uint32_t)prep;
    return DG_OK;
}

/* ------------------------------------------------------------------ import */

static dg_status build(const ox_model *m, dg_net **net, dg_model_meta *meta)
{
    builder b = {.m = m};
    b.used = calloc((size_t)m->n_nodes + 1, sizeof *b.used);
    b.consts = calloc((size_t)m->n_nodes + 1, sizeof *b.consts);
    dg_status st = b.used && b.consts ? DG_OK : dg_fail(DG_ERR_NOMEM, "out of memory");
    char spec[DG_SPEC_MAX];
    if (st == DG_OK) {
        st = read_constants(&b);
    }
    if (st == DG_OK) {
        st = walk(&b);
    }
    if (st == DG_OK) {
        st = spec_text(&b, spec, sizeof spec);
    }
    if (st == DG_OK) {
        st = dg_net_new(spec, b.input, net);
        if (st != DG_OK) {
            st = dg_fail(DG_ERR_UNSUPPORTED, "%s", dg_last_error());
        }
    }
    if (st == DG_OK && dg_net_param_count(*net) != b.n_params) {
        st = dg_fail(DG_ERR_MISMATCH, "%zu parameters in the graph, %zu in the net it makes",
                     b.n_params, dg_net_param_count(*net));
    }
    if (st == DG_OK) {
        if (b.n_params) {
            memcpy(dg_net_params(*net), b.params, b.n_params * sizeof *b.params);
        }
        dg_model_meta local;
        st = read_meta(m, dg_net_classes(*net), meta ? meta : &local);
    }
    if (st != DG_OK) {
        dg_net_free(*net);
        *net = NULL;
    }
    free(b.used);
    free(b.consts);
    free(b.params);
    return st;
}

dg_status dg_onnx_import_memory(const uint8_t *data, size_t n, dg_net **net, dg_model_meta *meta)
{
    *net = NULL;
    ox_model m;
    dg_model_meta local;
    dg_status st = dg_ox_parse(data, n, &m);
    if (st == DG_OK) {
        st = build(&m, net, &local);
        dg_ox_model_free(&m);
    }
    if (st != DG_OK) {
        /* names in the message come from the file: one line of printable text */
        char msg[512];
        snprintf(msg, sizeof msg, "%s", dg_last_error());
        for (char *c = msg; *c; c++) {
            *c = ((unsigned char)*c < 0x20 || *c == 0x7f) ? '?' : *c;
        }
        dg_fail(st, "%s", msg);
    }
    if (st == DG_OK && meta) {
        *meta = local;
    }
    return st;
}

dg_status dg_onnx_import(const char *path, dg_net **net, dg_model_meta *meta)
{
    *net = NULL;
    if (!path) {
        return dg_fail(DG_ERR_ARG, "onnx: no path to import");
    }
    uint8_t *data;
    size_t n;
    dg_status st = dg_read_file(path, DG_ONNX_MAX_BYTES, "an ONNX model", &data, &n);
    if (st != DG_OK) {
        return st;
    }
    st = dg_onnx_import_memory(data, n, net, meta);
    free(data);
    if (st != DG_OK) {
        return dg_fail(st, "%s: %s", path, dg_last_error());
    }
    return DG_OK;
}
