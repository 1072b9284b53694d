/*
 * onnx_model.h - an ONNX model file as read by onnx_read.c, for the importer: the parts
 * of ModelProto (onnx.proto) that describe a feed-forward graph. Strings, nested messages
 * and tensor data stay slices of the file's bytes; nothing is copied or decoded until it
 * is used, and every count is checked against its cap before an array is allocated.
 */
#ifndef DG_ONNX_MODEL_H
#define DG_ONNX_MODEL_H

#include "onnx/pb.h"

#define OX_MAX_DIMS  8    /* tensor rank kept; a higher rank is refused */
#define OX_MAX_IO    8    /* inputs and outputs of a node kept (the true counts too) */
#define OX_MAX_ATTRS 16   /* attributes of a node kept (the true count too) */
#define OX_MAX_NODES 4096 /* nodes, initializers, graph inputs and outputs, metadata each */
#define OX_MAX_INTS  8    /* entries of an integer-list attribute kept */

/* TensorProto.DataType values used here */
enum { OX_FLOAT = 1, OX_INT64 = 7 };
/* AttributeProto.AttributeType values used here */
enum {
    OX_ATTR_FLOAT = 1,
    OX_ATTR_INT = 2,
    OX_ATTR_STRING = 3,
    OX_ATTR_TENSOR = 4,
    OX_ATTR_INTS = 7
};

/* A TensorProto: an initializer, or the value of a Constant node. */
typedef struct ox_tensor {
    dg_pb_bytes name;
    int32_t type;              /* data_type */
    int n_dims;                /* rank, 0 for a scalar */
    int64_t dims[OX_MAX_DIMS]; /* each 0..2^31-1 */
    uint64_t count;            /* product of dims, at most 2^31 */
    bool external;             /* data_location EXTERNAL or external_data given */
    dg_pb_bytes msg;           /* the whole message, decoded by ox_tensor_floats/int64s */
} ox_tensor;

/* An AttributeProto, decoded. */
typedef struct ox_attr {
    dg_pb_bytes name;
    int type; /* the type field, or inferred from the value given when absent */
    float f;
    int64_t i;
    dg_pb_bytes s;
    int n_ints; /* true count of ints; the first OX_MAX_INTS in ints */
    int64_t ints[OX_MAX_INTS];
    bool has_t;
    ox_tensor t;
} ox_attr;

/* A NodeProto. Inputs and outputs past OX_MAX_IO are counted, not kept. */
typedef struct ox_node {
    dg_pb_bytes name, op, domain;
    int n_in, n_out, n_attrs;
    dg_pb_bytes in[OX_MAX_IO], out[OX_MAX_IO];
    dg_pb_bytes attrs[OX_MAX_ATTRS]; /* messages, decoded by ox_node_attr */
} ox_node;

/* A graph input or output (ValueInfoProto) with its tensor type. */
typedef struct ox_value {
    dg_pb_bytes name;
    int32_t elem_type;         /* 0 when the type is not a tensor or not given */
    int n_dims;                /* -1 when no shape is given */
    int64_t dims[OX_MAX_DIMS]; /* -1 for a named or unknown dimension */
} ox_value;

typedef struct ox_prop {
    dg_pb_bytes key, value;
} ox_prop;

typedef struct ox_model {
    int64_t ir_version;
    int64_t opset; /* version of the default operator set, 0 when not imported */
    dg_pb_bytes producer;
    bool has_graph;
    int n_nodes, n_inits, n_inputs, n_outputs, n_props;
    ox_node *nodes;
    ox_tensor *inits;
    ox_value *inputs, *outputs;
    ox_prop *props;
} ox_model;

/* Reads a ModelProto from data[n]. DG_ERR_FORMAT, _TRUNCATED, _TOO_LARGE (counts past
 * the caps), _UNSUPPORTED (sparse initializers, functions, a tensor of rank > 8), _NOMEM;
 * on failure m is empty. m's slices point into data, which must outlive it. */
dg_status dg_ox_parse(const uint8_t *data, size_t n, ox_model *m);
void dg_ox_model_free(ox_model *m);

/* Decodes a tensor's attribute number k (0..n_attrs-1) of node nd into *a. */
dg_status dg_ox_node_attr(const ox_node *nd, int k, ox_attr *a);

/* Checks, before anything is allocated for it, that t has data type `type` (OX_FLOAT or
 * OX_INT64), keeps its data in the file, and is small enough for its message to hold
 * t->count values (4 bytes per float, 1 per int64 at least). DG_ERR_FORMAT,
 * DG_ERR_UNSUPPORTED (external data). */
dg_status dg_ox_tensor_check(const ox_tensor *t, int type);
/* A FLOAT tensor's t->count values into out, from raw_data (little-endian) or float_data.
 * DG_ERR_FORMAT when the type is not FLOAT or the data holds another number of values,
 * DG_ERR_UNSUPPORTED for external data. */
dg_status dg_ox_tensor_floats(const ox_tensor *t, float *out);
/* An INT64 tensor's values into out[max]; DG_ERR_FORMAT as above or past max. */
dg_status dg_ox_tensor_int64s(const ox_tensor *t, int64_t *out, size_t max);

#endif
