/*
 * onnx_read.c - reads the ModelProto of an ONNX file (onnx_model.h) with the protobuf
 * reader of pb.c. Field numbers, from onnx.proto:
 *
 *   ModelProto      1 ir_version, 2 producer_name, 7 graph, 8 opset_import,
 *                   14 metadata_props, 25 functions (refused)
 *   OperatorSetId   1 domain, 2 version
 *   StringString    1 key, 2 value
 *   GraphProto      1 node, 5 initializer, 11 input, 12 output, 15 sparse_initializer
 *                   (refused)
 *   NodeProto       1 input, 2 output, 3 name, 4 op_type, 5 attribute, 7 domain
 *   AttributeProto  1 name, 2 f, 3 i, 4 s, 5 t, 7 floats, 8 ints, 20 type
 *   TensorProto     1 dims, 2 data_type, 3 segment (refused), 4 float_data, 7 int64_data,
 *                   8 name, 9 raw_data, 13 external_data, 14 data_location
 *   ValueInfoProto  1 name, 2 type;  TypeProto 1 tensor_type;  Tensor 1 elem_type, 2 shape;
 *   TensorShape     1 dim;  Dimension 1 dim_value, 2 dim_param
 *
 * Unknown fields are skipped, as protobuf readers do. Repeated numbers may come packed (one
 * length-delimited field) or one field each. A graph's repeated fields are counted in a
 * first pass, so each array is allocated once, after its count passed its cap.
 */
#include "onnx/onnx_model.h"

#include <stdlib.h>
#include <string.h>

#define MAX_TENSOR_COUNT (1ull << 31)

/* The wire type a field must have; a message naming it otherwise. */
static dg_status want_wire(const dg_pb_field *f, int wire, const char *what)
{
    if (f->wire == wire) {
        return DG_OK;
    }
    return dg_fail(DG_ERR_FORMAT, "%s (field %u) has wire type %d, want %d", what, f->number,
                   f->wire, wire);
}

/* Calls one(user, value) for each number of a repeated integer field, packed or not. */
typedef dg_status (*int_fn)(void *user, uint64_t v);
static dg_status each_int(const dg_pb_field *f, int_fn one, void *user)
{
    if (f->wire == DG_PB_VARINT) {
        return one(user, f->v);
    }
    if (f->wire != DG_PB_LEN) {
        return dg_fail(DG_ERR_FORMAT, "integer list (field %u) has wire type %d", f->number,
                       f->wire);
    }
    dg_pb_reader r = dg_pb_reader_of(f->bytes);
    uint64_t v;
    int got = 0;
    while ((got = dg_pb_next_varint(&r, &v)) > 0) {
        dg_status st = one(user, v);
        if (st != DG_OK) {
            return st;
        }
    }
    return got < 0 ? (dg_status)-got : DG_OK;
}

/* ------------------------------------------------------------------ tensors */

static dg_status add_dim(void *user, uint64_t v)
{
    ox_tensor *t = user;
    int64_t d = (int64_t)v;
    if (t->n_dims >= OX_MAX_DIMS) {
        return dg_fail(DG_ERR_UNSUPPORTED, "tensor of more than %d dimensions", OX_MAX_DIMS);
    }
    if (d < 0 || d > INT32_MAX) {
        return dg_fail(DG_ERR_FORMAT, "tensor dimension %lld out of range 0..%d", (long long)d,
                       INT32_MAX);
    }
    t->dims[t->n_dims++] = d;
    return DG_OK;
}

static dg_status parse_tensor(dg_pb_bytes msg, ox_tensor *t)
{
    memset(t, 0, sizeof *t);
    t->msg = msg;
    dg_pb_reader r = dg_pb_reader_of(msg);
    dg_pb_field f;
    int got = 0;
    dg_status st = DG_OK;
    while (st == DG_OK && (got = dg_pb_next(&r, &f)) > 0) {
        switch (f.number) {
        case 1:
            st = each_int(&f, add_dim, t);
            break;
        case 2:
            st = want_wire(&f, DG_PB_VARINT, "tensor data_type");
            t->type = (int32_t)f.v;
            break;
        case 3:
            st = dg_fail(DG_ERR_UNSUPPORTED, "tensor in segments");
            break;
        case 8:
            st = want_wire(&f, DG_PB_LEN, "tensor name");
            t->name = f.bytes;
            break;
        case 13:
            t->external = true;
            break;
        case 14:
            t->external = t->external || f.v != 0;
            break;
        default:
            break;
        }
    }
    if (st != DG_OK) {
        return st;
    }
    if (got < 0) {
        return (dg_status)-got;
    }
    t->count = 1;
    for (int i = 0; i < t->n_dims; i++) {
        t->count *= (uint64_t)t->dims[i];
        if (t->count > MAX_TENSOR_COUNT) {
            return dg_fail(DG_ERR_TOO_LARGE, "tensor of more than %llu values",
                           (unsigned long long)MAX_TENSOR_COUNT);
        }
    }
    return DG_OK;
}

dg_status dg_ox_tensor_check(const ox_tensor *t, int type)
{
    if (t->type != type) {
        return dg_fail(DG_ERR_FORMAT, "tensor '%.*s' has data type %d, want %s (%d)",
                       (int)t->name.n, (const char *)t->name.p, t->type,
                       type == OX_FLOAT ? "FLOAT" : "INT64", type);
    }
    if (t->external) {
        return dg_fail(DG_ERR_UNSUPPORTED,
                       "tensor '%.*s' keeps its data in an external file (not read by digits)",
                       (int)t->name.n, (const char *)t->name.p);
    }
    uint64_t least = type == OX_FLOAT ? 4 : 1;
    if (t->count > t->msg.n / least) {
        return dg_fail(DG_ERR_FORMAT, "tensor '%.*s' claims %llu values in a %zu-byte message",
                       (int)t->name.n, (const char *)t->name.p, (unsigned long long)t->count,
                       t->msg.n);
    }
    return DG_OK;
}

/* The data of tensor t: raw_data, or the fields `field` with elements of `size` bytes
 * (float_data fixed32, int64_data varint). Calls put(out, index, bits) for each. */
static dg_status tensor_data(const ox_tensor *t, int type, const char *type_name,
                             void (*put)(void *out, uint64_t i, uint64_t bits), void *out)
{
    (void)type_name;
    dg_status st = dg_ox_tensor_check(t, type);
    if (st != DG_OK) {
        return st;
    }
    int size = type == OX_FLOAT ? 4 : 8;
    uint32_t list_field = type == OX_FLOAT ? 4 : 7;
    uint64_t n = 0;
    bool raw = false;
    dg_pb_reader r = dg_pb_reader_of(t->msg);
    dg_pb_field f;
    int got = 0;
    while ((got = dg_pb_next(&r, &f)) > 0) {
        if (f.number == 9 && f.wire == DG_PB_LEN) {
            if (raw || n) {
                return dg_fail(DG_ERR_FORMAT, "tensor '%.*s' gives its data twice", (int)t->name.n,
                               (const char *)t->name.p);
            }
            raw = true;
            if (f.bytes.n != t->count * (uint64_t)size) {
                return dg_fail(DG_ERR_FORMAT, "tensor '%.*s': %zu bytes of data for %llu values",
                               (int)t->name.n, (const char *)t->name.p, f.bytes.n,
                               (unsigned long long)t->count);
            }
            for (uint64_t i = 0; i < t->count; i++) {
                uint64_t bits = 0;
                for (int b = 0; b < size; b++) {
                    bits |= (uint64_t)f.bytes.p[i * (uint64_t)size + (uint64_t)b] << (8 * b);
                }
                put(out, i, bits);
            }
            n = t->count;
        } else if (f.number == list_field) {
            if (raw) {
                return dg_fail(DG_ERR_FORMAT, "tensor '%.*s' gives its data twice", (int)t->name.n,
                               (const char *)t->name.p);
            }
            dg_pb_reader list = dg_pb_reader_of(f.bytes);
            if (type == OX_FLOAT && f.wire == DG_PB_FIXED32) {
                if (n >= t->count) {
                    break;
                }
                put(out, n++, f.v);
            } else if (type == OX_FLOAT && f.wire == DG_PB_LEN) {
                if (f.bytes.n % 4 || f.bytes.n / 4 > t->count - n) {
                    n = t->count + 1;
                    break;
                }
                for (size_t i = 0; i < f.bytes.n; i += 4) {
                    put(out, n++,
                        (uint64_t)f.bytes.p[i] | (uint64_t)f.bytes.p[i + 1] << 8 |
                            (uint64_t)f.bytes.p[i + 2] << 16 | (uint64_t)f.bytes.p[i + 3] << 24);
                }
            } else if (type == OX_INT64 && f.wire == DG_PB_VARINT) {
                if (n >= t->count) {
                    n = t->count + 1;
                    break;
                }
                put(out, n++, f.v);
            } else if (type == OX_INT64 && f.wire == DG_PB_LEN) {
                uint64_t v;
                int more;
                while ((more = dg_pb_next_varint(&list, &v)) > 0 && n < t->count) {
                    put(out, n++, v);
                }
                if (more < 0) {
                    return (dg_status)-more;
                }
                if (more > 0) {
                    n = t->count + 1;
                    break;
                }
            } else {
                return dg_fail(DG_ERR_FORMAT, "tensor '%.*s': data field %u has wire type %d",
                               (int)t->name.n, (const char *)t->name.p, f.number, f.wire);
            }
        }
    }
    if (got < 0) {
        return (dg_status)-got;
    }
    if (n != t->count) {
        return dg_fail(DG_ERR_FORMAT, "tensor '%.*s': %s%llu values of data for %llu",
                       (int)t->name.n, (const char *)t->name.p, n > t->count ? "more than " : "",
                       (unsigned long long)(n > t->count ? t->count : n),
                       (unsigned long long)t->count);
    }
    return DG_OK;
}

static void put_float(void *out, uint64_t i, uint64_t bits)
{
    uint32_t u = (uint32_t)bits;
    memcpy((float *)out + i, &u, sizeof u);
}

static void put_int64(void *out, uint64_t i, uint64_t bits)
{
    ((int64_t *)out)[i] = (int64_t)bits;
}

dg_status dg_ox_tensor_floats(const ox_tensor *t, float *out)
{
    return tensor_data(t, OX_FLOAT, "FLOAT", put_float, out);
}

dg_status dg_ox_tensor_int64s(const ox_tensor *t, int64_t *out, size_t max)
{
    if (t->count > max) {
        return dg_fail(DG_ERR_FORMAT, "tensor '%.*s' has %llu values, want at most %zu",
                       (int)t->name.n, (const char *)t->name.p, (unsigned long long)t->count, max);
    }
    return tensor_data(t, OX_INT64, "INT64", put_int64, out);
}

/* ------------------------------------------------------------------ nodes and attributes */

static dg_status add_attr_int(void *user, uint64_t v)
{
    ox_attr *a = user;
    if (a->n_ints < OX_MAX_INTS) {
        a->ints[a->n_ints] = (int64_t)v;
    }
    if (a->n_ints < INT32_MAX) {
        a->n_ints++;
    }
    return DG_OK;
}

dg_status dg_ox_node_attr(const ox_node *nd, int k, ox_attr *a)
{
    memset(a, 0, sizeof *a);
    dg_pb_reader r = dg_pb_reader_of(nd->attrs[k]);
    dg_pb_field f;
    int got = 0, inferred = 0;
    dg_status st = DG_OK;
    while (st == DG_OK && (got = dg_pb_next(&r, &f)) > 0) {
        switch (f.number) {
        case 1:
            st = want_wire(&f, DG_PB_LEN, "attribute name");
            a->name = f.bytes;
            break;
        case 2: {
            st = want_wire(&f, DG_PB_FIXED32, "attribute f");
            uint32_t u = (uint32_t)f.v;
            memcpy(&a->f, &u, sizeof u);
            inferred = OX_ATTR_FLOAT;
            break;
        }
        case 3:
            st = want_wire(&f, DG_PB_VARINT, "attribute i");
            a->i = (int64_t)f.v;
            inferred = OX_ATTR_INT;
            break;
        case 4:
            st = want_wire(&f, DG_PB_LEN, "attribute s");
            a->s = f.bytes;
            inferred = OX_ATTR_STRING;
            break;
        case 5:
            st = want_wire(&f, DG_PB_LEN, "attribute t");
            if (st == DG_OK) {
                st = parse_tensor(f.bytes, &a->t);
                a->has_t = true;
                inferred = OX_ATTR_TENSOR;
            }
            break;
        case 8:
            st = each_int(&f, add_attr_int, a);
            inferred = OX_ATTR_INTS;
            break;
        case 20:
            st = want_wire(&f, DG_PB_VARINT, "attribute type");
            a->type = (int)(f.v & 0xff);
            break;
        default:
            break;
        }
    }
    if (st == DG_OK && got < 0) {
        st = (dg_status)-got;
    }
    if (a->type == 0) {
        a->type = inferred;
    }
    return st;
}

static dg_status parse_node(dg_pb_bytes msg, ox_node *nd)
{
    memset(nd, 0, sizeof *nd);
    dg_pb_reader r = dg_pb_reader_of(msg);
    dg_pb_field f;
    int got = 0;
    while ((got = dg_pb_next(&r, &f)) > 0) {
        dg_status st = DG_OK;
        switch (f.number) {
        case 1:
        case 2:
        case 3:
        case 4:
        case 5:
        case 7:
            st = want_wire(&f, DG_PB_LEN, "node field");
            break;
        default:
            continue;
        }
        if (st != DG_OK) {
            return st;
        }
        if (f.number == 1) {
            if (nd->n_in < OX_MAX_IO) {
                nd->in[nd->n_in] = f.bytes;
            }
            nd->n_in += nd->n_in < INT32_MAX;
        } else if (f.number == 2) {
            if (nd->n_out < OX_MAX_IO) {
                nd->out[nd->n_out] = f.bytes;
            }
            nd->n_out += nd->n_out < INT32_MAX;
        } else if (f.number == 3) {
            nd->name = f.bytes;
        } else if (f.number == 4) {
            nd->op = f.bytes;
        } else if (f.number == 5) {
            if (nd->n_attrs < OX_MAX_ATTRS) {
                nd->attrs[nd->n_attrs] = f.bytes;
            }
            nd->n_attrs += nd->n_attrs < INT32_MAX;
        } else {
            nd->domain = f.bytes;
        }
    }
    return got < 0 ? (dg_status)-got : DG_OK;
}

/* ------------------------------------------------------------------ value infos */

static dg_status parse_shape(dg_pb_bytes msg, ox_value *v)
{
    v->n_dims = 0;
    dg_pb_reader r = dg_pb_reader_of(msg);
    dg_pb_field f;
    int got = 0;
    while ((got = dg_pb_next(&r, &f)) > 0) {
        if (f.number != 1 || f.wire != DG_PB_LEN) {
            continue;
        }
        if (v->n_dims >= OX_MAX_DIMS) {
            return dg_fail(DG_ERR_UNSUPPORTED, "'%.*s' has more than %d dimensions", (int)v->name.n,
                           (const char *)v->name.p, OX_MAX_DIMS);
        }
        int64_t d = -1;
        dg_pb_reader dr = dg_pb_reader_of(f.bytes);
        dg_pb_field g;
        int more;
        while ((more = dg_pb_next(&dr, &g)) > 0) {
            if (g.number == 1 && g.wire == DG_PB_VARINT) {
                d = (int64_t)g.v;
            } else if (g.number == 2) {
                d = -1;
            }
        }
        if (more < 0) {
            return (dg_status)-more;
        }
        v->dims[v->n_dims++] = d;
    }
    return got < 0 ? (dg_status)-got : DG_OK;
}

static dg_status parse_value(dg_pb_bytes msg, ox_value *v)
{
    memset(v, 0, sizeof *v);
    v->n_dims = -1;
    dg_pb_reader r = dg_pb_reader_of(msg);
    dg_pb_field f;
    int got = 0;
    while ((got = dg_pb_next(&r, &f)) > 0) {
        if (f.number == 1 && f.wire == DG_PB_LEN) {
            v->name = f.bytes;
        } else if (f.number == 2 && f.wire == DG_PB_LEN) {
            dg_pb_reader tr = dg_pb_reader_of(f.bytes);
            dg_pb_field g;
            int more;
            while ((more = dg_pb_next(&tr, &g)) > 0) {
                if (g.number != 1 || g.wire != DG_PB_LEN) {
                    continue; /* a sequence, map or optional: elem_type stays 0 */
                }
                dg_pb_reader er = dg_pb_reader_of(g.bytes);
                dg_pb_field e;
                int inner;
                while ((inner = dg_pb_next(&er, &e)) > 0) {
                    if (e.number == 1 && e.wire == DG_PB_VARINT) {
                        v->elem_type = (int32_t)e.v;
                    } else if (e.number == 2 && e.wire == DG_PB_LEN) {
                        dg_status st = parse_shape(e.bytes, v);
                        if (st != DG_OK) {
                            return st;
                        }
                    }
                }
                if (inner < 0) {
                    return (dg_status)-inner;
                }
            }
            if (more < 0) {
                return (dg_status)-more;
            }
        }
    }
    return got < 0 ? (dg_status)-got : DG_OK;
}

/* ------------------------------------------------------------------ graph and model */

/* Counts a graph's repeated fields, then allocates and fills each array. */
static dg_status parse_graph(dg_pb_bytes msg, ox_model *m)
{
    dg_pb_reader r = dg_pb_reader_of(msg);
    dg_pb_field f;
    int got = 0;
    long counts[16] = {0};
    while ((got = dg_pb_next(&r, &f)) > 0) {
        if (f.number == 15) {
            return dg_fail(DG_ERR_UNSUPPORTED, "graph: sparse initializers are not read by digits");
        }
        if (f.number == 1 || f.number == 5 || f.number == 11 || f.number == 12) {
            dg_status st = want_wire(&f, DG_PB_LEN, "graph node, initializer, input or output");
            if (st != DG_OK) {
                return st;
            }
            if (++counts[f.number] > OX_MAX_NODES) {
                return dg_fail(DG_ERR_TOO_LARGE, "graph: more than %d %s", OX_MAX_NODES,
                               f.number == 1   ? "nodes"
                               : f.number == 5 ? "initializers"
                                               : "inputs or outputs");
            }
        }
    }
    if (got < 0) {
        return dg_fail((dg_status)-got, "graph: %s", dg_last_error());
    }
    m->nodes = calloc((size_t)counts[1] + 1, sizeof *m->nodes);
    m->inits = calloc((size_t)counts[5] + 1, sizeof *m->inits);
    m->inputs = calloc((size_t)counts[11] + 1, sizeof *m->inputs);
    m->outputs = calloc((size_t)counts[12] + 1, sizeof *m->outputs);
    if (!m->nodes || !m->inits || !m->inputs || !m->outputs) {
        return dg_fail(DG_ERR_NOMEM, "out of memory for a graph of %ld nodes", counts[1]);
    }
    r = dg_pb_reader_of(msg);
    while (dg_pb_next(&r, &f) > 0) {
        dg_status st = DG_OK;
        if (f.number == 1) {
            st = parse_node(f.bytes, &m->nodes[m->n_nodes]);
            if (st != DG_OK) {
                return dg_fail(st, "graph: node %d: %s", m->n_nodes + 1, dg_last_error());
            }
            m->n_nodes++;
        } else if (f.number == 5) {
            st = parse_tensor(f.bytes, &m->inits[m->n_inits]);
            if (st != DG_OK) {
                return dg_fail(st, "graph: initializer %d: %s", m->n_inits + 1, dg_last_error());
            }
            m->n_inits++;
        } else if (f.number == 11 || f.number == 12) {
            bool in = f.number == 11;
            ox_value *v = in ? &m->inputs[m->n_inputs] : &m->outputs[m->n_outputs];
            st = parse_value(f.bytes, v);
            if (st != DG_OK) {
                return dg_fail(st, "graph: %s %d: %s", in ? "input" : "output",
                               (in ? m->n_inputs : m->n_outputs) + 1, dg_last_error());
            }
            *(in ? &m->n_inputs : &m->n_outputs) += 1;
        }
    }
    return DG_OK;
}

void dg_ox_model_free(ox_model *m)
{
    free(m->nodes);
    free(m->inits);
    free(m->inputs);
    free(m->outputs);
    free(m->props);
    memset(m, 0, sizeof *m);
}

static dg_status parse_opset(dg_pb_bytes msg, ox_model *m)
{
    dg_pb_reader r = dg_pb_reader_of(msg);
    dg_pb_field f;
    dg_pb_bytes domain = {NULL, 0};
    int64_t version = 0;
    int got = 0;
    while ((got = dg_pb_next(&r, &f)) > 0) {
        if (f.number == 1 && f.wire == DG_PB_LEN) {
            domain = f.bytes;
        } else if (f.number == 2 && f.wire == DG_PB_VARINT) {
            version = (int64_t)f.v;
        }
    }
    if (got < 0) {
        return (dg_status)-got;
    }
    if (domain.n == 0 || dg_pb_eq(domain, "ai.onnx")) {
        m->opset = version;
    }
    return DG_OK;
}

static dg_status parse_props(dg_pb_bytes model, ox_model *m, int count)
{
    m->props = calloc((size_t)count + 1, sizeof *m->props);
    if (!m->props) {
        return dg_fail(DG_ERR_NOMEM, "out of memory for %d metadata entries", count);
    }
    dg_pb_reader r = dg_pb_reader_of(model);
    dg_pb_field f;
    while (dg_pb_next(&r, &f) > 0) {
        if (f.number != 14) {
            continue;
        }
        ox_prop *p = &m->props[m->n_props++];
        dg_pb_reader pr = dg_pb_reader_of(f.bytes);
        dg_pb_field g;
        int got;
        while ((got = dg_pb_next(&pr, &g)) > 0) {
            if (g.number == 1 && g.wire == DG_PB_LEN) {
                p->key = g.bytes;
            } else if (g.number == 2 && g.wire == DG_PB_LEN) {
                p->value = g.bytes;
            }
        }
        if (got < 0) {
            return dg_fail((dg_status)-got, "metadata entry %d: %s", m->n_props, dg_last_error());
        }
    }
    return DG_OK;
}

dg_status dg_ox_parse(const uint8_t *data, size_t n, ox_model *m)
{
    memset(m, 0, sizeof *m);
    dg_pb_bytes all = {data, n};
    dg_pb_reader r = dg_pb_reader_of(all);
    dg_pb_field f;
    dg_pb_bytes graph = {NULL, 0};
    int got = 0, n_props = 0;
    dg_status st = DG_OK;
    while (st == DG_OK && (got = dg_pb_next(&r, &f)) > 0) {
        switch (f.number) {
        case 1:
            st = want_wire(&f, DG_PB_VARINT, "ir_version");
            m->ir_version = (int64_t)f.v;
            break;
        case 2:
            st = want_wire(&f, DG_PB_LEN, "producer_name");
            m->producer = f.bytes;
            break;
        case 7:
            st = want_wire(&f, DG_PB_LEN, "graph");
            graph = f.bytes;
            m->has_graph = true;
            break;
        case 8:
            st = want_wire(&f, DG_PB_LEN, "opset_import");
            if (st == DG_OK) {
                st = parse_opset(f.bytes, m);
            }
            break;
        case 14:
            st = want_wire(&f, DG_PB_LEN, "metadata_props");
            if (st == DG_OK && ++n_props > OX_MAX_NODES) {
                st = dg_fail(DG_ERR_TOO_LARGE, "more than %d metadata entries", OX_MAX_NODES);
            }
            break;
        case 25:
            st = dg_fail(DG_ERR_UNSUPPORTED, "model functions are not read by digits");
            break;
        default:
            break;
        }
    }
    if (st == DG_OK && got < 0) {
        st = (dg_status)-got;
    }
    if (st == DG_OK && !m->has_graph) {
        st = dg_fail(DG_ERR_FORMAT, "no graph: not an ONNX model");
    }
    if (st == DG_OK) {
        st = parse_props(all, m, n_props);
    }
    if (st == DG_OK) {
        st = parse_graph(graph, m);
    }
    if (st != DG_OK) {
        dg_ox_model_free(m);
    }
    return st;
}
