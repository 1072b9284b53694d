/*
 * import_ops.c - the operators of the ONNX importer (import.h): each checks its node's
 * attributes and constant inputs against what the digits layer can do, copies the weights
 * into the builder's parameter arena in the layer's layout, and adds the layer. Conv
 * weights [O][C][K][K] are digits' own; Gemm's B is [O][I] with transB 1 and is transposed
 * otherwise, MatMul's [I][O] always; alpha and beta scale the weights and the bias.
 */
#include "onnx/import.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An integer attribute, def when absent. */
static dg_status int_attr(const builder *b, int i, const char *name, int64_t def, int64_t *v)
{
    ox_attr a;
    bool found;
    dg_status st = dg_ox_attr(b, i, name, OX_ATTR_INT, &a, &found);
    *v = found ? a.i : def;
    return st;
}

/* An integer-list attribute whose values must all be want (or which is absent). */
static dg_status ints_all(const builder *b, int i, const char *name, int64_t want, const char *why)
{
    ox_attr a;
    bool found;
    dg_status st = dg_ox_attr(b, i, name, OX_ATTR_INTS, &a, &found);
    if (st != DG_OK || !found) {
        return st;
    }
    for (int k = 0; k < a.n_ints; k++) {
        if (a.ints[k] != want) {
            return dg_ox_fail(b, i, DG_ERR_UNSUPPORTED, "%s %lld: %s", name, (long long)a.ints[k],
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
    dg_status st = dg_ox_attr(b, i, "auto_pad", OX_ATTR_STRING, &a, &found);
    if (st == DG_OK && found && !dg_pb_eq(a.s, "NOTSET") && !dg_pb_eq(a.s, "VALID")) {
        int n = a.s.n > 20 ? 20 : (int)a.s.n;
        return dg_ox_fail(b, i, DG_ERR_UNSUPPORTED, "auto_pad %.*s: digits does not pad", n,
                          (const char *)a.s.p);
    }
    return st;
}

/* A square kernel_shape [K, K] into *k; *k unchanged when absent. */
static dg_status kernel_attr(const builder *b, int i, int *k, bool required)
{
    ox_attr a;
    bool found;
    dg_status st = dg_ox_attr(b, i, "kernel_shape", OX_ATTR_INTS, &a, &found);
    if (st != DG_OK) {
        return st;
    }
    if (!found) {
        return required ? dg_ox_fail(b, i, DG_ERR_FORMAT, "no kernel_shape") : DG_OK;
    }
    if (a.n_ints != 2 || a.ints[0] != a.ints[1] || a.ints[0] < 1 || a.ints[0] > 4096) {
        return dg_ox_fail(b, i, DG_ERR_UNSUPPORTED,
                          "kernel_shape of %d values: digits takes square 2-D kernels", a.n_ints);
    }
    if (*k && *k != (int)a.ints[0]) {
        return dg_ox_fail(b, i, DG_ERR_FORMAT, "kernel_shape %lld differs from the weights' %d",
                          (long long)a.ints[0], *k);
    }
    *k = (int)a.ints[0];
    return DG_OK;
}

/* ------------------------------------------------------------------ layers */

static dg_status push(builder *b, int i, entry e)
{
    if (b->n_layers >= DG_MAX_LAYERS) {
        return dg_ox_fail(b, i, DG_ERR_UNSUPPORTED, "more than %d layers", DG_MAX_LAYERS);
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
    dg_status st = dg_ox_tensor_check(t, OX_FLOAT);
    if (st != DG_OK) {
        return dg_ox_fail(b, i, st, "%s", dg_last_error());
    }
    float *v = malloc((size_t)(t->count ? t->count : 1) * sizeof *v);
    if (!v) {
        return dg_ox_fail(b, i, DG_ERR_NOMEM, "out of memory");
    }
    st = dg_ox_tensor_floats(t, v);
    for (uint64_t k = 0; st == DG_OK && k < t->count; k++) {
        if (!isfinite(v[k])) {
            st = dg_fail(DG_ERR_FORMAT, "tensor '%.*s' holds %s", (int)t->name.n,
                         (const char *)t->name.p, isnan(v[k]) ? "NaN" : "an infinity");
        }
    }
    if (st != DG_OK) {
        free(v);
        return dg_ox_fail(b, i, st, "%s", dg_last_error());
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
            *st = dg_ox_fail(b, i, DG_ERR_FORMAT, "input %d is missing", k + 1);
        }
        return NULL;
    }
    return dg_ox_const(b, nd->in[k]);
}

/* A bias of n values (or one broadcast value) into dst; zeros without one. */
static dg_status put_bias(builder *b, int i, const ox_tensor *t, float scale, float *dst, int n)
{
    if (!t) {
        memset(dst, 0, (size_t)n * sizeof *dst);
        return DG_OK;
    }
    if (t->count != (uint64_t)n && t->count != 1) {
        return dg_ox_fail(b, i, DG_ERR_FORMAT, "bias of %llu values for %d outputs",
                          (unsigned long long)t->count, n);
    }
    float *v;
    dg_status st = load_floats(b, i, t, &v);
    if (st == DG_OK) {
        for (int o = 0; o < n; o++) {
            dst[o] = scale * v[t->count == 1 ? 0 : o];
            if (!isfinite(dst[o])) {
                st = dg_ox_fail(b, i, DG_ERR_FORMAT, "beta times the bias is not finite");
                break;
            }
        }
        free(v);
    }
    return st;
}

static dg_status flat_input(const builder *b, int i)
{
    if (b->rank != 2) {
        return dg_ox_fail(b, i, DG_ERR_UNSUPPORTED,
                          "takes a %dx%dx%d image, not a flat vector (add Flatten before it)", b->c,
                          b->h, b->w);
    }
    return DG_OK;
}

/* A convolution's padding: pads [P, P, P, P] (the same on every side), or auto_pad
 * SAME_UPPER / SAME_LOWER, which for stride 1 and an odd kernel is (K-1)/2 on each side. */
static dg_status conv_pads(const builder *b, int i, int k, int *pad)
{
    ox_attr a;
    bool found;
    dg_status st = dg_ox_attr(b, i, "auto_pad", OX_ATTR_STRING, &a, &found);
    if (st != DG_OK) {
        return st;
    }
    if (found && (dg_pb_eq(a.s, "SAME_UPPER") || dg_pb_eq(a.s, "SAME_LOWER"))) {
        *pad = (k - 1) / 2;
        return DG_OK;
    }
    if ((st = no_auto_pad(b, i)) != DG_OK ||
        (st = dg_ox_attr(b, i, "pads", OX_ATTR_INTS, &a, &found)) != DG_OK || !found) {
        return st;
    }
    if (a.n_ints != 4 || a.ints[0] != a.ints[1] || a.ints[0] != a.ints[2] ||
        a.ints[0] != a.ints[3] || a.ints[0] < 0 || a.ints[0] > 4096) {
        return dg_ox_fail(b, i, DG_ERR_UNSUPPORTED,
                          "pads of %d values: digits pads every side of the image alike", a.n_ints);
    }
    *pad = (int)a.ints[0];
    return DG_OK;
}

dg_status dg_ox_conv(builder *b, int i)
{
    dg_status st = dg_ox_known_attrs(b, i, "kernel_shape strides pads dilations group auto_pad");
    if (st != DG_OK) {
        return st;
    }
    if (b->rank != 4) {
        return dg_ox_fail(b, i, DG_ERR_UNSUPPORTED, "takes a flat vector, not an image");
    }
    const ox_tensor *w = const_input(b, i, 1, true, &st);
    if (st != DG_OK) {
        return st;
    }
    if (!w || w->n_dims != 4 || w->dims[2] != w->dims[3]) {
        return dg_ox_fail(b, i, DG_ERR_UNSUPPORTED,
                          "weights must be a constant [O][C][K][K] tensor with a square kernel");
    }
    int64_t group;
    int k = (int)w->dims[2], pad = 0;
    if ((st = int_attr(b, i, "group", 1, &group)) != DG_OK ||
        (st = kernel_attr(b, i, &k, false)) != DG_OK ||
        (st = ints_all(b, i, "strides", 1, "digits convolves with stride 1")) != DG_OK ||
        (st = ints_all(b, i, "dilations", 1, "digits convolves without dilation")) != DG_OK ||
        (st = conv_pads(b, i, k, &pad)) != DG_OK) {
        return st;
    }
    if (group != 1) {
        return dg_ox_fail(b, i, DG_ERR_UNSUPPORTED, "group %lld: digits convolves with group 1",
                          (long long)group);
    }
    if (w->dims[1] != b->c) {
        return dg_ox_fail(b, i, DG_ERR_FORMAT, "weights for %lld input channels, the input has %d",
                          (long long)w->dims[1], b->c);
    }
    int64_t o = w->dims[0];
    if (o < 1 || o > 4096) {
        return dg_ox_fail(b, i, DG_ERR_UNSUPPORTED, "%lld output channels (digits: 1..4096)",
                          (long long)o);
    }
    if (k % 2 == 0) {
        return dg_ox_fail(b, i, DG_ERR_UNSUPPORTED, "kernel %dx%d: digits takes odd kernel sides",
                          k, k);
    }
    if (pad >= k) {
        return dg_ox_fail(b, i, DG_ERR_UNSUPPORTED, "pads %d: digits pads less than the kernel %d",
                          pad, k);
    }
    if (k > b->h + 2 * pad || k > b->w + 2 * pad) {
        return dg_ox_fail(b, i, DG_ERR_FORMAT, "kernel %dx%d larger than its %dx%d input", k, k,
                          b->h + 2 * pad, b->w + 2 * pad);
    }
    const ox_tensor *bias = const_input(b, i, 2, false, &st);
    if (b->m->nodes[i].n_in > 2 && b->m->nodes[i].in[2].n && !bias) {
        return dg_ox_fail(b, i, DG_ERR_UNSUPPORTED, "the bias is not a constant");
    }
    float *v;
    if ((st = load_floats(b, i, w, &v)) != DG_OK) {
        return st;
    }
    float *dst = grow(b, (size_t)w->count + (size_t)o);
    if (!dst) {
        free(v);
        return dg_ox_fail(b, i, DG_ERR_NOMEM, "out of memory for the weights");
    }
    memcpy(dst, v, (size_t)w->count * sizeof *v);
    free(v);
    if ((st = put_bias(b, i, bias, 1.0f, dst + w->count, (int)o)) != DG_OK) {
        return st;
    }
    b->c = (int)o;
    b->h += 2 * pad - (k - 1);
    b->w += 2 * pad - (k - 1);
    return push(b, i, (entry){K_CONV, (int)o, k, false, pad});
}

dg_status dg_ox_pool(builder *b, int i, bool max)
{
    dg_status st = dg_ox_known_attrs(b, i,
                                     max ? "kernel_shape strides pads dilations ceil_mode auto_pad "
                                           "storage_order"
                                         : "kernel_shape strides pads ceil_mode auto_pad "
                                           "count_include_pad");
    if (st != DG_OK) {
        return st;
    }
    if (b->rank != 4) {
        return dg_ox_fail(b, i, DG_ERR_UNSUPPORTED, "takes a flat vector, not an image");
    }
    if (b->m->nodes[i].n_out > 1 && b->m->nodes[i].out[1].n) {
        return dg_ox_fail(b, i, DG_ERR_UNSUPPORTED, "its Indices output is not made by digits");
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
    if ((st = dg_ox_attr(b, i, "strides", OX_ATTR_INTS, &a, &found)) != DG_OK) {
        return st;
    }
    if (!found && k != 1) {
        return dg_ox_fail(b, i, DG_ERR_UNSUPPORTED,
                          "stride 1 by default: digits pools with the stride equal to the kernel");
    }
    if (ceil_mode != 0 && (b->h % k || b->w % k)) {
        return dg_ox_fail(b, i, DG_ERR_UNSUPPORTED, "ceil_mode 1: digits drops partial windows");
    }
    if (k > b->h || k > b->w) {
        return dg_ox_fail(b, i, DG_ERR_FORMAT, "window %dx%d larger than its %dx%d input", k, k,
                          b->h, b->w);
    }
    b->h /= k;
    b->w /= k;
    return push(b, i, (entry){max ? K_MAXPOOL : K_AVGPOOL, 0, k, false, 0});
}

dg_status dg_ox_flatten(builder *b, int i)
{
    int64_t axis;
    dg_status st = dg_ox_known_attrs(b, i, "axis");
    if (st == DG_OK) {
        st = int_attr(b, i, "axis", 1, &axis);
    }
    if (st != DG_OK) {
        return st;
    }
    if (axis != 1 && axis != 1 - b->rank) {
        return dg_ox_fail(b, i, DG_ERR_UNSUPPORTED,
                          "axis %lld: digits flattens each example (axis 1)", (long long)axis);
    }
    if (b->rank == 2) {
        return DG_OK;
    }
    b->rank = 2;
    b->c *= b->h * b->w;
    b->h = b->w = 1;
    return push(b, i, (entry){K_FLATTEN, 0, 0, false, 0});
}

dg_status dg_ox_reshape(builder *b, int i)
{
    dg_status st = dg_ox_known_attrs(b, i, "allowzero");
    int64_t allowzero = 0;
    if (st == DG_OK) {
        st = int_attr(b, i, "allowzero", 0, &allowzero);
    }
    const ox_tensor *t = st == DG_OK ? const_input(b, i, 1, true, &st) : NULL;
    if (st != DG_OK) {
        return st;
    }
    if (!t) {
        return dg_ox_fail(
            b, i, DG_ERR_UNSUPPORTED,
            "its shape is computed in the graph: digits reshapes to a constant shape");
    }
    int64_t shape[2];
    if (t->count != 2 || dg_ox_tensor_int64s(t, shape, 2) != DG_OK) {
        return dg_ox_fail(b, i, DG_ERR_UNSUPPORTED,
                          "shape of %llu values: digits reshapes only to [N, C*H*W]",
                          (unsigned long long)t->count);
    }
    int64_t flat = (int64_t)b->c * b->h * b->w;
    bool batch_ok =
        shape[0] == -1 || (shape[0] == 0 && !allowzero) || (b->batch > 0 && shape[0] == b->batch);
    bool size_ok = shape[1] == flat || (shape[1] == -1 && shape[0] != -1);
    if (!batch_ok || !size_ok) {
        return dg_ox_fail(b, i, DG_ERR_UNSUPPORTED,
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
    return push(b, i, (entry){K_FLATTEN, 0, 0, false, 0});
}

/* A dense layer of o outputs from weights v: [o][in] when transposed, else [in][o]. */
static dg_status put_dense(builder *b, int i, const float *v, bool transposed, float alpha, int o,
                           const ox_tensor *bias, float beta)
{
    int in = b->c;
    float *dst = grow(b, (size_t)o * in + (size_t)o);
    if (!dst) {
        return dg_ox_fail(b, i, DG_ERR_NOMEM, "out of memory for the weights");
    }
    for (int r = 0; r < o; r++) {
        for (int c = 0; c < in; c++) {
            float x = alpha * (transposed ? v[(size_t)r * in + c] : v[(size_t)c * o + r]);
            if (!isfinite(x)) {
                return dg_ox_fail(b, i, DG_ERR_FORMAT, "alpha times the weights is not finite");
            }
            dst[(size_t)r * in + c] = x;
        }
    }
    dg_status st = put_bias(b, i, bias, beta, dst + (size_t)o * in, o);
    if (st != DG_OK) {
        return st;
    }
    b->c = o;
    return push(b, i, (entry){K_DENSE, o, 0, false, 0});
}

/* Gemm(A, B, C) = alpha A B' + beta C with B' = B or its transpose. */
dg_status dg_ox_gemm(builder *b, int i)
{
    dg_status st = dg_ox_known_attrs(b, i, "alpha beta transA transB");
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
    if ((st = dg_ox_attr(b, i, "alpha", OX_ATTR_FLOAT, &a, &found)) != DG_OK) {
        return st;
    }
    alpha = found ? a.f : alpha;
    if ((st = dg_ox_attr(b, i, "beta", OX_ATTR_FLOAT, &a, &found)) != DG_OK) {
        return st;
    }
    beta = found ? a.f : beta;
    if (trans_a) {
        return dg_ox_fail(b, i, DG_ERR_UNSUPPORTED, "transA 1: the batch must be the first axis");
    }
    const ox_tensor *w = const_input(b, i, 1, true, &st);
    if (st != DG_OK) {
        return st;
    }
    if (!w || w->n_dims != 2) {
        return dg_ox_fail(b, i, DG_ERR_UNSUPPORTED, "B must be a constant matrix");
    }
    int64_t in = trans_b ? w->dims[1] : w->dims[0], o = trans_b ? w->dims[0] : w->dims[1];
    if (in != b->c || o < 1 || o > 65536) {
        return dg_ox_fail(b, i, DG_ERR_FORMAT, "B is %lldx%lld for %d inputs",
                          (long long)w->dims[0], (long long)w->dims[1], b->c);
    }
    const ox_tensor *bias = const_input(b, i, 2, false, &st);
    if (b->m->nodes[i].n_in > 2 && b->m->nodes[i].in[2].n && !bias) {
        return dg_ox_fail(b, i, DG_ERR_UNSUPPORTED, "C is not a constant");
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
dg_status dg_ox_matmul(builder *b, int i, dg_pb_bytes *next)
{
    dg_status st = dg_ox_known_attrs(b, i, "");
    if (st == DG_OK) {
        st = flat_input(b, i);
    }
    const ox_tensor *w = st == DG_OK ? const_input(b, i, 1, true, &st) : NULL;
    if (st != DG_OK) {
        return st;
    }
    if (!w || w->n_dims != 2 || w->dims[0] != b->c || w->dims[1] < 1 || w->dims[1] > 65536) {
        return dg_ox_fail(b, i, DG_ERR_UNSUPPORTED, "B must be a constant %dxO matrix", b->c);
    }
    const ox_tensor *bias = NULL;
    int add = -1;
    dg_pb_bytes out = b->m->nodes[i].out[0];
    if (dg_ox_consumers(b, out, &add, NULL) == 1 && dg_pb_eq(b->m->nodes[add].op, "Add") &&
        !b->used[add] && b->m->nodes[add].n_in == 2 && b->m->nodes[add].n_out == 1) {
        const ox_node *nd = &b->m->nodes[add];
        dg_pb_bytes other = dg_pb_same(nd->in[0], out) ? nd->in[1] : nd->in[0];
        bias = dg_ox_const(b, other);
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

dg_status dg_ox_relu(builder *b, int i)
{
    dg_status st = dg_ox_known_attrs(b, i, "");
    if (st != DG_OK) {
        return st;
    }
    entry *last = b->n_layers ? &b->layers[b->n_layers - 1] : NULL;
    if (last && (last->kind == K_CONV || last->kind == K_DENSE || last->kind == K_BATCHNORM) &&
        !last->relu) {
        last->relu = true;
        return DG_OK;
    }
    return push(b, i, (entry){K_RELU, 0, 0, false, 0});
}

dg_status dg_ox_activation(builder *b, int i, int kind)
{
    dg_status st = dg_ox_known_attrs(b, i, "");
    return st == DG_OK ? push(b, i, (entry){kind, 0, 0, false, 0}) : st;
}

/* Softmax or LogSoftmax over the classes, as the graph's last node. */
dg_status dg_ox_softmax(builder *b, int i)
{
    dg_status st = dg_ox_known_attrs(b, i, "axis");
    int64_t axis;
    if (st == DG_OK) {
        st = int_attr(b, i, "axis", 1, &axis);
    }
    if (st != DG_OK) {
        return st;
    }
    if (b->rank != 2 || (axis != 1 && axis != -1)) {
        return dg_ox_fail(b, i, DG_ERR_UNSUPPORTED, "digits takes a softmax over the classes only");
    }
    if (dg_ox_consumers(b, b->m->nodes[i].out[0], NULL, NULL) != 0) {
        return dg_ox_fail(b, i, DG_ERR_UNSUPPORTED,
                          "not the last node: digits applies softmax to the output only");
    }
    return DG_OK;
}

/* Dropout keeps its input at inference; its mask output must go nowhere. */
dg_status dg_ox_dropout(builder *b, int i)
{
    dg_status st = dg_ox_known_attrs(b, i, "ratio seed is_test");
    const ox_node *nd = &b->m->nodes[i];
    if (st == DG_OK && nd->n_out > 1 && nd->out[1].n &&
        dg_ox_consumers(b, nd->out[1], NULL, NULL)) {
        st = dg_ox_fail(b, i, DG_ERR_UNSUPPORTED, "its mask is used: not an inference graph");
    }
    return st;
}

/* Pad with all pads 0 (PyTorch writes one before AveragePool) changes nothing; any other
 * padding is refused. */
dg_status dg_ox_pad(builder *b, int i)
{
    dg_status st = dg_ox_known_attrs(b, i, "mode pads value");
    if (st != DG_OK) {
        return st;
    }
    int64_t pads[OX_MAX_INTS];
    uint64_t n = 0;
    ox_attr a;
    bool found;
    if ((st = dg_ox_attr(b, i, "pads", OX_ATTR_INTS, &a, &found)) != DG_OK) {
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
        if (!t || t->count > OX_MAX_INTS || dg_ox_tensor_int64s(t, pads, OX_MAX_INTS) != DG_OK) {
            return dg_ox_fail(b, i, DG_ERR_UNSUPPORTED, "pads must be a constant of at most %d",
                              OX_MAX_INTS);
        }
        n = t->count;
    }
    for (uint64_t k = 0; k < n; k++) {
        if (pads[k] != 0) {
            return dg_ox_fail(b, i, DG_ERR_UNSUPPORTED, "pads %lld: digits does not pad",
                              (long long)pads[k]);
        }
    }
    return DG_OK;
}

/* BatchNormalization(X, scale, B, mean, var) at inference. digits adds DG_BATCHNORM_EPS to
 * the variance; another epsilon is folded into the variance it is added to. */
dg_status dg_ox_batchnorm(builder *b, int i)
{
    dg_status st = dg_ox_known_attrs(b, i, "epsilon momentum spatial training_mode");
    if (st != DG_OK) {
        return st;
    }
    const ox_node *nd = &b->m->nodes[i];
    int64_t training, spatial;
    ox_attr a;
    bool found;
    if ((st = int_attr(b, i, "training_mode", 0, &training)) != DG_OK ||
        (st = int_attr(b, i, "spatial", 1, &spatial)) != DG_OK ||
        (st = dg_ox_attr(b, i, "epsilon", OX_ATTR_FLOAT, &a, &found)) != DG_OK) {
        return st;
    }
    float eps = found ? a.f : 1e-5f;
    if (training || (nd->n_out > 1 && (nd->out[1].n || (nd->n_out > 2 && nd->out[2].n)))) {
        return dg_ox_fail(b, i, DG_ERR_UNSUPPORTED,
                          "training mode (batch statistics): digits imports inference graphs");
    }
    if (spatial != 1) {
        return dg_ox_fail(b, i, DG_ERR_UNSUPPORTED, "spatial 0: digits normalises per channel");
    }
    if (!(eps >= 0.0f) || !isfinite(eps)) {
        return dg_ox_fail(b, i, DG_ERR_FORMAT, "epsilon %g", (double)eps);
    }
    int c = b->c;
    float *v[4] = {NULL, NULL, NULL, NULL};
    float *dst = NULL;
    for (int k = 0; k < 4 && st == DG_OK; k++) {
        const ox_tensor *t = const_input(b, i, k + 1, true, &st);
        if (st != DG_OK) {
            break;
        }
        if (!t || t->count != (uint64_t)c) {
            st = dg_ox_fail(b, i, DG_ERR_FORMAT, "input %d must be a constant of %d values", k + 2,
                            c);
            break;
        }
        st = load_floats(b, i, t, &v[k]);
    }
    if (st == DG_OK && !(dst = grow(b, 4 * (size_t)c))) {
        st = dg_ox_fail(b, i, DG_ERR_NOMEM, "out of memory for the weights");
    }
    for (int k = 0; k < c && st == DG_OK; k++) {
        float var = v[3][k] + (eps - DG_BATCHNORM_EPS);
        if (!(v[3][k] >= 0.0f) || !(var + DG_BATCHNORM_EPS > 0.0f)) {
            st = dg_ox_fail(b, i, DG_ERR_FORMAT, "variance %g of channel %d", (double)v[3][k], k);
            break;
        }
        dst[k] = v[0][k];
        dst[c + k] = v[1][k];
        dst[2 * c + k] = v[2][k];
        dst[3 * c + k] = var;
    }
    for (int k = 0; k < 4; k++) {
        free(v[k]);
    }
    return st == DG_OK ? push(b, i, (entry){K_BATCHNORM, c, 0, false, 0}) : st;
}
