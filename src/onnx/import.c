/*
 * import.c - ONNX graphs into digits nets (dg_onnx_import). The graph must be one chain
 * from its image input to its output, each node taking the previous node's output first
 * and constants (initializers or Constant nodes) for the rest. Each node becomes a layer
 * of a spec, or is folded into one:
 *
 *   Conv (stride 1, no padding, odd square kernel)  conv O K     weights [O][C][K][K]
 *   Relu                                            relu, or fused into the conv/dense before
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
#include "base/fileio.h"
#include "nn/net.h"
#include "onnx/onnx_model.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { K_CONV, K_MAXPOOL, K_AVGPOOL, K_FLATTEN, K_DENSE, K_RELU };

typedef struct entry {
    int kind;
    int units, k;
    bool relu;
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

static bool same(dg_pb_bytes a, dg_pb_bytes b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

/* "node 'name' (Op): reason", or "node 7 (Op): ..." for a node without a name. */
static dg_status node_fail(const builder *b, int i, dg_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static dg_status node_fail(const builder *b, int i, dg_status st, const char *fmt, ...)
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
static const ox_tensor *find_const(const builder *b, dg_pb_bytes name)
{
    for (int i = 0; i < b->m->n_inits; i++) {
        if (same(b->m->inits[i].name, name)) {
            return &b->m->inits[i];
        }
    }
    for (int i = 0; i < b->m->n_nodes; i++) {
        if (b->consts[i].type && same(b->m->nodes[i].out[0], name)) {
            return &b->consts[i];
        }
    }
    return NULL;
}

/* Nodes (other than Constant nodes) that take value v as an input; *first gets one. */
static int consumers(const builder *b, dg_pb_bytes v, int *first, int *second)
{
    int count = 0;
    for (int i = 0; i < b->m->n_nodes; i++) {
        const ox_node *nd = &b->m->nodes[i];
        int n_in = nd->n_in < OX_MAX_IO ? nd->n_in : OX_MAX_IO;
        for (int k = 0; k < n_in; k++) {
            if (nd->in[k].n && same(nd->in[k], v)) {
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
static dg_status find_attr(const builder *b, int i, const char *name, int type, ox_attr *a,
                           bool *found)
{
    const ox_node *nd = &b->m->nodes[i];
    *found = false;
    for (int k = 0; k < nd->n_attrs && k < OX_MAX_ATTRS; k++) {
        dg_status st = ox_node_attr(nd, k, a);
        if (st != DG_OK) {
            return node_fail(b, i, st, "attribute %d: %s", k + 1, dg_last_error());
        }
        if (dg_pb_eq(a->name, name)) {
            if (a->type != type) {
                return node_fail(b, i, DG_ERR_FORMAT, "attribute %s has type %d, want %d", name,
                                 a->type, type);
            }
            if (type == OX_ATTR_INTS && a->n_ints > OX_MAX_INTS) {
                return node_fail(b, i, DG_ERR_UNSUPPORTED, "attribute %s has %d values", name,
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
static dg_status known_attrs(const builder *b, int i, const char *names)
{
    const ox_node *nd = &b->m->nodes[i];
    if (nd->n_attrs > OX_MAX_ATTRS) {
        return node_fail(b, i, DG_ERR_UNSUPPORTED, "%d attributes", nd->n_attrs);
    }
    for (int k = 0; k < nd->n_attrs; k++) {
        ox_attr a;
        dg_status st = ox_node_attr(nd, k, &a);
        if (st != DG_OK) {
            return node_fail(b, i, st, "attribute %d: %s", k + 1, dg_last_error());
        }
        bool known = false;
        for (const char *p = names; *p && !known;) {
            size_t len = strcspn(p, " ");
            known = a.name.n == len && memcmp(a.name.p, p, len) == 0;
            p += len + (p[len] == ' ');
        }
        if (!known) {
            int n = a.name.n > 40 ? 40 : (int)a.name.n;
            return node_fail(b, i, DG_ERR_UNSUPPORTED, "attribute '%.*s' is not read by digits", n,
                             (const char *)a.name.p);
        }
    }
    return DG_OK;
}

/* An integer attribute, def when absent. */
static dg_status int_attr(const builder *b, int i, const char *name, int64_t def, int64_t *v)
{
    ox_attr a;
    bool found;
    dg_status st = find_attr(b, i, name, OX_ATTR_INT, &a, &found);
    *v = found ? a.i : def;
    return st;
}

/* An integer-list attribute whose values must all be want (or which is absent). */
static dg_status ints_all(const builder *b, int i, const char *name, int64_t want, const char *why)
{
    ox_attr a;
    bool found;
    dg_status st = find_attr(b, i, name, OX_ATTR_INTS, &a, &found);
    if (st != DG_OK || !found) {
        return st;
    }
    for (int k = 0; k < a.n_ints; k++) {
        if (a.ints[k] != want) {
            return node_fail(b, i, DG_ERR_UNSUPPORTED, "%s %lld: %s", name, (long long)a.ints[k],
                             why);
        }
    }
    return DG_OK;
}

/* auto_pad must be absent, NOTSET or VALID: digits does not pad. */
static dg_status no_auto_pad(const builder *b, int i)
{
    ox_attr a;
    bool found;
    dg_status st = find_attr(b, i, "auto_pad", OX_ATTR_STRING, &a, &found);
    if (st == DG_OK && found && !dg_pb_eq(a.s, "NOTSET") && !dg_pb_eq(a.s, "VALID")) {
        int n = a.s.n > 20 ? 20 : (int)a.s.n;
        return node_fail(b, i, DG_ERR_UNSUPPORTED, "auto_pad %.*s: digits does not pad", n,
                         (const char *)a.s.p);
    }
    return st;
}

/* A square kernel_shape [K, K] into *k; *k unchanged when absent. */
static dg_status kernel_attr(const builder *b, int i, int *k, bool required)
{
    ox_attr a;
    bool found;
    dg_status st = find_attr(b, i, "kernel_shape", OX_ATTR_INTS, &a, &found);
    if (st != DG_OK) {
        return st;
    }
    if (!found) {
        return required ? node_fail(b, i, DG_ERR_FORMAT, "no kernel_shape") : DG_OK;
    }
    if (a.n_ints != 2 || a.ints[0] != a.ints[1] || a.ints[0] < 1 || a.ints[0] > 4096) {
        return node_fail(b, i, DG_ERR_UNSUPPORTED,
                         "kernel_shape of %d values: digits takes square 2-D kernels", a.n_ints);
    }
    if (*k && *k != (int)a.ints[0]) {
        return node_fail(b, i, DG_ERR_FORMAT, "kernel_shape %lld differs from the weights' %d",
                         (long long)a.ints[0], *k);
    }
    *k = (int)a.ints[0];
    return DG_OK;
}

/* ------------------------------------------------------------------ layers */

static dg_status push(builder *b, int i, entry e)
{
    if (b->n_layers >= DG_MAX_LAYERS) {
        return node_fail(b, i, DG_ERR_UNSUPPORTED, "more than %d layers", DG_MAX_LAYERS);
    }
    b->layers[b->n_layers++] = e;
    return DG_OK;
}

/* Room for n more parameters at the end of the arena; returns where they go. */
static float *grow(builder *b, size_t n)
{
    if (n > (size_t)256 * 1024 * 1024 - b->n_params) {
        return NULL;
    }
    if (b->n_params + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->n_params + n) {
            cap *= 2;
        }
        float *p = realloc(b->params, cap * sizeof *p);
        if (!p) {
            return NULL;
        }
        b->params = p;
        b->cap = cap;
    }
    float *at = b->params + b->n_params;
    b->n_params += n;
    return at;
}

/* The values of a FLOAT constant, checked finite, into a new array (freed by the caller). */
static dg_status load_floats(const builder *b, int i, const ox_tensor *t, float **out)
{
    *out = NULL;
    dg_status st = ox_tensor_check(t, OX_FLOAT);
    if (st != DG_OK) {
        return node_fail(b, i, st, "%s", dg_last_error());
    }
    float *v = malloc((size_t)(t->count ? t->count : 1) * sizeof *v);
    if (!v) {
        return node_fail(b, i, DG_ERR_NOMEM, "out of memory");
    }
    st = ox_tensor_floats(t, v);
    for (uint64_t k = 0; st == DG_OK && k < t->count; k++) {
        if (!isfinite(v[k])) {
            st = dg_fail(DG_ERR_FORMAT, "tensor '%.*s' holds %s", (int)t->name.n,
                         (const char *)t->name.p, isnan(v[k]) ? "NaN" : "an infinity");
        }
    }
    if (st != DG_OK) {
        free(v);
        return node_fail(b, i, st, "%s", dg_last_error());
    }
    *out = v;
    return DG_OK;
}

/* The constant input k of node i, or NULL (with *st set when it is missing). */
static const ox_tensor *const_input(const builder *b, int i, int k, bool required, dg_status *st)
{
    const ox_node *nd = &b->m->nodes[i];
    *st = DG_OK;
    if (k >= nd->n_in || nd->in[k].n == 0) {
        if (required) {
            *st = node_fail(b, i, DG_ERR_FORMAT, "input %d is missing", k + 1);
        }
        return NULL;
    }
    return find_const(b, nd->in[k]);
}

/* A bias of n values (or one broadcast value) into dst; zeros without one. */
static dg_status put_bias(builder *b, int i, const ox_tensor *t, float scale, float *dst, int n)
{
    if (!t) {
        memset(dst, 0, (size_t)n * sizeof *dst);
        return DG_OK;
    }
    if (t->count != (uint64_t)n && t->count != 1) {
        return node_fail(b, i, DG_ERR_FORMAT, "bias of %llu values for %d outputs",
                         (unsigned long long)t->count, n);
    }
    float *v;
    dg_status st = load_floats(b, i, t, &v);
    if (st == DG_OK) {
        for (int o = 0; o < n; o++) {
            dst[o] = scale * v[t->count == 1 ? 0 : o];
        }
        free(v);
    }
    return st;
}

static dg_status flat_input(const builder *b, int i)
{
    if (b->rank != 2) {
        return node_fail(b, i, DG_ERR_UNSUPPORTED,
                         "takes a %dx%dx%d image, not a flat vector (add Flatten before it)", b->c,
                         b->h, b->w);
    }
    return DG_OK;
}

static dg_status do_conv(builder *b, int i)
{
    dg_status st = known_attrs(b, i, "kernel_shape strides pads dilations group auto_pad");
    if (st != DG_OK) {
        return st;
    }
    if (b->rank != 4) {
        return node_fail(b, i, DG_ERR_UNSUPPORTED, "takes a flat vector, not an image");
    }
    const ox_tensor *w = const_input(b, i, 1, true, &st);
    if (st != DG_OK) {
        return st;
    }
    if (!w || w->n_dims != 4 || w->dims[2] != w->dims[3]) {
        return node_fail(b, i, DG_ERR_UNSUPPORTED,
                         "weights must be a constant [O][C][K][K] tensor with a square kernel");
    }
    int64_t group;
    int k = (int)w->dims[2];
    if ((st = int_attr(b, i, "group", 1, &group)) != DG_OK ||
        (st = kernel_attr(b, i, &k, false)) != DG_OK ||
        (st = ints_all(b, i, "strides", 1, "digits convolves with stride 1")) != DG_OK ||
        (st = ints_all(b, i, "pads", 0, "digits convolves without padding")) != DG_OK ||
        (st = ints_all(b, i, "dilations", 1, "digits convolves without dilation")) != DG_OK ||
        (st = no_auto_pad(b, i)) != DG_OK) {
        return st;
    }
    if (group != 1) {
        return node_fail(b, i, DG_ERR_UNSUPPORTED, "group %lld: digits convolves with group 1",
                         (long long)group);
    }
    if (w->dims[1] != b->c) {
        return node_fail(b, i, DG_ERR_FORMAT, "weights for %lld input channels, the input has %d",
                         (long long)w->dims[1], b->c);
    }
    int64_t o = w->dims[0];
    if (o < 1 || o > 4096) {
        return node_fail(b, i, DG_ERR_UNSUPPORTED, "%lld output channels (digits: 1..4096)",
                         (long long)o);
    }
    if (k % 2 == 0) {
        return node_fail(b, i, DG_ERR_UNSUPPORTED, "kernel %dx%d: digits takes odd kernel sides", k,
                         k);
    }
    if (k > b->h || k > b->w) {
        return node_fail(b, i, DG_ERR_FORMAT, "kernel %dx%d larger than its %dx%d input", k, k,
                         b->h, b->w);
    }
    const ox_tensor *bias = const_input(b, i, 2, false, &st);
    if (b->m->nodes[i].n_in > 2 && b->m->nodes[i].in[2].n && !bias) {
        return node_fail(b, i, DG_ERR_UNSUPPORTED, "the bias is not a constant");
    }
    float *v;
    if ((st = load_floats(b, i, w, &v)) != DG_OK) {
        return st;
    }
    float *dst = grow(b, (size_t)w->count + (size_t)o);
    if (!dst) {
        free(v);
        return node_fail(b, i, DG_ERR_NOMEM, "out of memory for the weights");
    }
    memcpy(dst, v, (size_t)w->count * sizeof *v);
    free(v);
    if ((st = put_bias(b, i, bias, 1.0f, dst + w->count, (int)o)) != DG_OK) {
        return st;
    }
    b->c = (int)o;
    b->h -= k - 1;
    b->w -= k - 1;
    return push(b, i, (entry){K_CONV, (int)o, k, false});
}

static dg_status do_pool(builder *b, int i, bool max)
{
    dg_status st = known_attrs(b, i,
                               max ? "kernel_shape strides pads dilations ceil_mode auto_pad "
                                     "storage_order"
                                   : "kernel_shape strides pads ceil_mode auto_pad "
                                     "count_include_pad");
    if (st != DG_OK) {
        return st;
    }
    if (b->rank != 4) {
        return node_fail(b, i, DG_ERR_UNSUPPORTED, "takes a flat vector, not an image");
    }
    if (b->m->nodes[i].n_out > 1 && b->m->nodes[i].out[1].n) {
        return node_fail(b, i, DG_ERR_UNSUPPORTED, "its Indices output is not made by digits");
    }
    int k = 0;
    int64_t ceil_mode, order;
    if ((st = kernel_attr(b, i, &k, true)) != DG_OK ||
        (st = ints_all(b, i, "strides", k, "digits pools with the stride equal to the kernel")) !=
            DG_OK ||
        (st = ints_all(b, i, "pads", 0, "digits pools without padding")) != DG_OK ||
        (st = ints_all(b, i, "dilations", 1, "digits pools without dilation")) != DG_OK ||
        (st = no_auto_pad(b, i)) != DG_OK ||
        (st = int_attr(b, i, "ceil_mode", 0, &ceil_mode)) != DG_OK ||
        (st = int_attr(b, i, "storage_order", 0, &order)) != DG_OK) {
        return st;
    }
    ox_attr a;
    bool found;
    if ((st = find_attr(b, i, "strides", OX_ATTR_INTS, &a, &found)) != DG_OK) {
        return st;
    }
    if (!found && k != 1) {
        return node_fail(b, i, DG_ERR_UNSUPPORTED,
                         "stride 1 by default: digits pools with the stride equal to the kernel");
    }
    if (ceil_mode != 0 && (b->h % k || b->w % k)) {
        return node_fail(b, i, DG_ERR_UNSUPPORTED, "ceil_mode 1: digits drops partial windows");
    }
    if (k > b->h || k > b->w) {
        return node_fail(b, i, DG_ERR_FORMAT, "window %dx%d larger than its %dx%d input", k, k,
                         b->h, b->w);
    }
    b->h /= k;
    b->w /= k;
    return push(b, i, (entry){max ? K_MAXPOOL : K_AVGPOOL, 0, k, false});
}

static dg_status do_flatten(builder *b, int i)
{
    int64_t axis;
    dg_status st = known_attrs(b, i, "axis");
    if (st == DG_OK) {
        st = int_attr(b, i, "axis", 1, &axis);
    }
    if (st != DG_OK) {
        return st;
    }
    if (axis != 1 && axis != 1 - b->rank) {
        return node_fail(b, i, DG_ERR_UNSUPPORTED,
                         "axis %lld: digits flattens each example (axis 1)", (long long)axis);
    }
    if (b->rank == 2) {
        return DG_OK;
    }
    b->rank = 2;
    b->c *= b->h * b->w;
    b->h = b->w = 1;
    return push(b, i, (entry){K_FLATTEN, 0, 0, false});
}

static dg_status do_reshape(builder *b, int i)
{
    dg_status st = known_attrs(b, i, "allowzero");
    int64_t allowzero = 0;
    if (st == DG_OK) {
        st = int_attr(b, i, "allowzero", 0, &allowzero);
    }
    const ox_tensor *t = st == DG_OK ? const_input(b, i, 1, true, &st) : NULL;
    if (st != DG_OK) {
        return st;
    }
    if (!t) {
        return node_fail(b, i, DG_ERR_UNSUPPORTED,
                         "its shape is computed in the graph: digits reshapes to a constant shape");
    }
    int64_t shape[2];
    if (t->count != 2 || ox_tensor_int64s(t, shape, 2) != DG_OK) {
        return node_fail(b, i, DG_ERR_UNSUPPORTED,
                         "shape of %llu values: digits reshapes only to [N, C*H*W]",
                         (unsigned long long)t->count);
    }
    int64_t flat = (int64_t)b->c * b->h * b->w;
    bool batch_ok =
        shape[0] == -1 || (shape[0] == 0 && !allowzero) || (b->batch > 0 && shape[0] == b->batch);
    bool size_ok = shape[1] == flat || (shape[1] == -1 && shape[0] != -1);
    if (!batch_ok || !size_ok) {
        return node_fail(b, i, DG_ERR_UNSUPPORTED,
                         "shape [%lld, %lld]: digits reshapes only to [N, %lld] (a flat vector "
                         "per example)",
                         (long long)shape[0], (long long)shape[1], (long long)flat);
    }
    if (b->rank == 2) {
        return DG_OK;
    }
    b->rank = 2;
    b->c = (int)flat;
    b->h = b->w = 1;
    return push(b, i, (entry){K_FLATTEN, 0, 0, false});
}

/* A dense layer of o outputs from weights v: [o][in] when transposed, else [in][o]. */
static dg_status put_dense(builder *b, int i, const float *v, bool transposed, float alpha, int o,
                           const ox_tensor *bias, float beta)
{
    int in = b->c;
    float *dst = grow(b, (size_t)o * in + (size_t)o);
    if (!dst) {
        return node_fail(b, i, DG_ERR_NOMEM, "out of memory for the weights");
    }
    for (int r = 0; r < o; r++) {
        for (int c = 0; c < in; c++) {
            dst[(size_t)r * in + c] =
                alpha * (transposed ? v[(size_t)r * in + c] : v[(size_t)c * o + r]);
        }
    }
    dg_status st = put_bias(b, i, bias, beta, dst + (size_t)o * in, o);
    if (st != DG_OK) {
        return st;
    }
    b->c = o;
    return push(b, i, (entry){K_DENSE, o, 0, false});
}

/* Gemm(A, B, C) = alpha A B' + beta C with B' = B or its transpose. */
static dg_status do_gemm(builder *b, int i)
{
    dg_status st = known_attrs(b, i, "alpha beta transA transB");
    if (st == DG_OK) {
        st = flat_input(b, i);
    }
    if (st != DG_OK) {
        return st;
    }
    int64_t trans_a, trans_b;
    ox_attr a;
    bool found;
    float alpha = 1.0f, beta = 1.0f;
    if ((st = int_attr(b, i, "transA", 0, &trans_a)) != DG_OK ||
        (st = int_attr(b, i, "transB", 0, &trans_b)) != DG_OK) {
        return st;
    }
    if ((st = find_attr(b, i, "alpha", OX_ATTR_FLOAT, &a, &found)) != DG_OK) {
        return st;
    }
    alpha = found ? a.f : alpha;
    if ((st = find_attr(b, i, "beta", OX_ATTR_FLOAT, &a, &found)) != DG_OK) {
        return st;
    }
    beta = found ? a.f : beta;
    if (trans_a) {
        return node_fail(b, i, DG_ERR_UNSUPPORTED, "transA 1: the batch must be the first axis");
    }
    const ox_tensor *w = const_input(b, i, 1, true, &st);
    if (st != DG_OK) {
        return st;
    }
    if (!w || w->n_dims != 2) {
        return node_fail(b, i, DG_ERR_UNSUPPORTED, "B must be a constant matrix");
    }
    int64_t in = trans_b ? w->dims[1] : w->dims[0], o = trans_b ? w->dims[0] : w->dims[1];
    if (in != b->c || o < 1 || o > 65536) {
        return node_fail(b, i, DG_ERR_FORMAT, "B is %lldx%lld for %d inputs", (long long)w->dims[0],
                         (long long)w->dims[1], b->c);
    }
    const ox_tensor *bias = const_input(b, i, 2, false, &st);
    if (b->m->nodes[i].n_in > 2 && b->m->nodes[i].in[2].n && !bias) {
        return node_fail(b, i, DG_ERR_UNSUPPORTED, "C is not a constant");
    }
    float *v;
    if ((st = load_floats(b, i, w, &v)) != DG_OK) {
        return st;
    }
    st = put_dense(b, i, v, trans_b != 0, alpha, (int)o, bias, beta);
    free(v);
    return st;
}

/* MatMul(X, W) and, when the only node after it adds a constant bias, that Add. *next is
 * the value after the last node used. */
static dg_status do_matmul(builder *b, int i, dg_pb_bytes *next)
{
    dg_status st = known_attrs(b, i, "");
    if (st == DG_OK) {
        st = flat_input(b, i);
    }
    const ox_tensor *w = st == DG_OK ? const_input(b, i, 1, true, &st) : NULL;
    if (st != DG_OK) {
        return st;
    }
    if (!w || w->n_dims != 2 || w->dims[0] != b->c || w->dims[1] < 1 || w->dims[1] > 65536) {
        return node_fail(b, i, DG_ERR_UNSUPPORTED, "B must be a constant %dxO matrix", b->c);
    }
    const ox_tensor *bias = NULL;
    int add = -1;
    dg_pb_bytes out = b->m->nodes[i].out[0];
    if (consumers(b, out, &add, NULL) == 1 && dg_pb_eq(b->m->nodes[add].op, "Add") &&
        !b->used[add] && b->m->nodes[add].n_in == 2 && b->m->nodes[add].n_out == 1) {
        const ox_node *nd = &b->m->nodes[add];
        dg_pb_bytes other = same(nd->in[0], out) ? nd->in[1] : nd->in[0];
        bias = find_const(b, other);
        if (bias && (bias->count == (uint64_t)w->dims[1] || bias->count == 1)) {
            b->used[add] = true;
            *next = nd->out[0];
        } else {
            bias = NULL;
        }
    }
    float *v;
    if ((st = load_floats(b, i, w, &v)) != DG_OK) {
        return st;
    }
    st = put_dense(b, i, v, false, 1.0f, (int)w->dims[1], bias, 1.0f);
    free(v);
    return st;
}

static dg_status do_relu(builder *b, int i)
{
    dg_status st = known_attrs(b, i, "");
    if (st != DG_OK) {
        return st;
    }
    entry *last = b->n_layers ? &b->layers[b->n_layers - 1] : NULL;
    if (last && (last->kind == K_CONV || last->kind == K_DENSE) && !last->relu) {
        last->relu = true;
        return DG_OK;
    }
    return push(b, i, (entry){K_RELU, 0, 0, false});
}

/* Softmax or LogSoftmax over the classes, as the graph's last node. */
static dg_status do_softmax(builder *b, int i)
{
    dg_status st = known_attrs(b, i, "axis");
    int64_t axis;
    if (st == DG_OK) {
        st = int_attr(b, i, "axis", 1, &axis);
    }
    if (st != DG_OK) {
        return st;
    }
    if (b->rank != 2 || (axis != 1 && axis != -1)) {
        return node_fail(b, i, DG_ERR_UNSUPPORTED, "digits takes a softmax over the classes only");
    }
    if (consumers(b, b->m->nodes[i].out[0], NULL, NULL) != 0) {
        return node_fail(b, i, DG_ERR_UNSUPPORTED,
                         "not the last node: digits applies softmax to the output only");
    }
    return DG_OK;
}

/* Dropout keeps its input at inference; its mask output must go nowhere. */
static dg_status do_dropout(builder *b, int i)
{
    dg_status st = known_attrs(b, i, "ratio seed is_test");
    const ox_node *nd = &b->m->nodes[i];
    if (st == DG_OK && nd->n_out > 1 && nd->out[1].n && consumers(b, nd->out[1], NULL, NULL)) {
        st = node_fail(b, i, DG_ERR_UNSUPPORTED, "its mask is used: not an inference graph");
    }
    return st;
}

/* Pad with all pads 0 (PyTorch writes one before AveragePool) changes nothing; any other
 * padding is refused. */
static dg_status do_pad(builder *b, int i)
{
    dg_status st = known_attrs(b, i, "mode pads value");
    if (st != DG_OK) {
        return st;
    }
    int64_t pads[OX_MAX_INTS];
    uint64_t n = 0;
    ox_attr a;
    bool found;
    if ((st = find_attr(b, i, "pads", OX_ATTR_INTS, &a, &found)) != DG_OK) {
        return st;
    }
    if (found) {
        n = (uint64_t)a.n_ints;
        memcpy(pads, a.ints, (size_t)n * sizeof *pads);
    } else {
        const ox_tensor *t = const_input(b, i, 1, true, &st);
        if (st != DG_OK) {
            return st;
        }
        if (!t || t->count > OX_MAX_INTS || ox_tensor_int64s(t, pads, OX_MAX_INTS) != DG_OK) {
            return node_fail(b, i, DG_ERR_UNSUPPORTED, "pads must be a constant of at most %d",
                             OX_MAX_INTS);
        }
        n = t->count;
    }
    for (uint64_t k = 0; k < n; k++) {
        if (pads[k] != 0) {
            return node_fail(b, i, DG_ERR_UNSUPPORTED, "pads %lld: digits does not pad",
                             (long long)pads[k]);
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
        return node_fail(b, i, DG_ERR_UNSUPPORTED, "operator domain '%.*s' is not read by digits",
                         nd->domain.n > 40 ? 40 : (int)nd->domain.n, (const char *)nd->domain.p);
    }
    if (nd->n_in > OX_MAX_IO || nd->n_out > OX_MAX_IO || nd->n_out < 1 || !nd->out[0].n) {
        return node_fail(b, i, DG_ERR_UNSUPPORTED, "%d inputs and %d outputs", nd->n_in, nd->n_out);
    }
    if (!same(nd->in[0], cur)) {
        return node_fail(b, i, DG_ERR_UNSUPPORTED,
                         "takes the previous node's output as a later input: not a chain");
    }
    for (int k = 1; k < nd->n_in; k++) {
        if (nd->in[k].n && !find_const(b, nd->in[k])) {
            return node_fail(b, i, DG_ERR_UNSUPPORTED,
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
        return do_conv(b, i);
    } else if (dg_pb_eq(op, "Relu")) {
        return do_relu(b, i);
    } else if (dg_pb_eq(op, "MaxPool") || dg_pb_eq(op, "AveragePool")) {
        return do_pool(b, i, dg_pb_eq(op, "MaxPool"));
    } else if (dg_pb_eq(op, "Flatten")) {
        return do_flatten(b, i);
    } else if (dg_pb_eq(op, "Reshape")) {
        return do_reshape(b, i);
    } else if (dg_pb_eq(op, "Gemm")) {
        return do_gemm(b, i);
    } else if (dg_pb_eq(op, "MatMul")) {
        return do_matmul(b, i, cur);
    } else if (dg_pb_eq(op, "Softmax") || dg_pb_eq(op, "LogSoftmax")) {
        return do_softmax(b, i);
    } else if (dg_pb_eq(op, "Dropout")) {
        return do_dropout(b, i);
    } else if (dg_pb_eq(op, "Pad")) {
        return do_pad(b, i);
    } else if (dg_pb_eq(op, "Identity")) {
        return known_attrs(b, i, "");
    }
    return node_fail(b, i, DG_ERR_UNSUPPORTED, "operator not supported by digits");
}

/* The graph's one input that is not a constant, checked to be [N][C][H][W] floats. */
static dg_status find_input(builder *b, dg_pb_bytes *name)
{
    const ox_model *m = b->m;
    const ox_value *in = NULL;
    int n = 0;
    for (int k = 0; k < m->n_inputs; k++) {
        if (!find_const(b, m->inputs[k].name)) {
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
        dg_status st = find_attr(b, i, "value", OX_ATTR_TENSOR, &a, &found);
        if (st != DG_OK) {
            return st;
        }
        if (!found || nd->n_in != 0 || nd->n_out != 1 || !nd->out[0].n) {
            return node_fail(b, i, DG_ERR_UNSUPPORTED, "digits reads constants given as a tensor");
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
        int n = consumers(b, cur, &next, &other);
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
            return node_fail(b, next, DG_ERR_UNSUPPORTED, "reached twice: the graph has a cycle");
        }
        b->used[next] = true;
        if ((st = translate(b, next, &cur)) != DG_OK) {
            return st;
        }
    }
    for (int i = 0; i < b->m->n_nodes; i++) {
        if (!b->used[i]) {
            return node_fail(b, i, DG_ERR_UNSUPPORTED,
                             "not on the chain from the input: digits runs one chain of layers");
        }
    }
    for (int k = 0; k < b->m->n_outputs; k++) {
        if (same(b->m->outputs[k].name, cur)) {
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
            snprintf(one, sizeof one, "conv %d %d%s", e->units, e->k, relu);
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
            memcpy(buf, m->props[i].value.p, n);
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
        memcpy(dg_net_params(*net), b.params, b.n_params * sizeof *b.params);
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
    dg_status st = ox_parse(data, n, &m);
    if (st != DG_OK) {
        return st;
    }
    dg_model_meta local;
    st = build(&m, net, &local);
    ox_model_free(&m);
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
