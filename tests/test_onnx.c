/*
 * test_onnx.c - ONNX export and import: a round trip through the exporter and importer
 * (same outputs, same metadata), the PyTorch-exported fixture tests/data/onnx/torch-tiny.onnx
 * against PyTorch's own probabilities, hostile files (truncated, lengths past the end,
 * huge dimensions, unknown operators, cycles, branches, bad input shapes, external data),
 * each refused with one line, and ONNX Runtime on an exported net when node and
 * onnxruntime-node are there (scripts/get-onnxruntime.sh).
 */
#include "test.h"

#include "nn/net.h"
#include "onnx/pb.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define ALL_KINDS                                                                                  \
    "conv 4 3 relu, maxpool 2, conv 6 3 pad 1, relu, avgpool 2, batchnorm, tanh, flatten, "        \
    "dropout 0.5, dense 12 relu, dense 8, batchnorm, relu, sigmoid, dense 10"

static dg_net *random_net(const char *spec, uint64_t seed)
{
    dg_net *net = NULL;
    if (dg_net_new(spec, (dg_shape){1, 28, 28}, &net) != DG_OK) {
        return NULL;
    }
    dg_rng rng;
    dg_rng_seed(&rng, seed);
    dg_net_init_params(net, &rng);
    float *p = dg_net_params(net);
    for (size_t i = 0; i < dg_net_param_count(net); i++) {
        if (p[i] == 0.0f) {
            p[i] = 0.01f * (float)(i % 7) - 0.02f; /* biases that show a mix-up */
        }
    }
    for (int i = 0; i < dg_net_layer_count(net); i++) {
        const dg_layer *l = dg_net_layer(net, i);
        float *w = p + l->param_offset, *var = w + l->n_weights + l->n_bias + l->n_state / 2;
        for (size_t k = 0; k < l->n_state / 2; k++) {
            w[k] = 0.7f + 0.1f * (float)(k % 5); /* batchnorm: scales and variances not 1 */
            var[k] = 0.4f + 0.3f * (float)(k % 4);
        }
    }
    return net;
}

/* The inputs of scripts/torch_onnx.py's fixture_pixels(), as bytes [n][28][28]. */
static void fixture_pixels(int n, uint8_t *out)
{
    for (int i = 0; i < n; i++) {
        for (int r = 0; r < 28; r++) {
            for (int c = 0; c < 28; c++) {
                out[(i * 28 + r) * 28 + c] =
                    (uint8_t)((37 * i + 11 * r + 7 * c + (r * c) % 13) % 256);
            }
        }
    }
}

/* Probabilities of net for n images, normalised by norm, into probs[n][classes]. */
static dg_status probs_of(dg_net *net, const dg_norm *norm, const uint8_t *pixels, int n,
                          float *probs)
{
    float *x = malloc((size_t)n * 784 * sizeof *x);
    if (!x) {
        return DG_ERR_NOMEM;
    }
    dg_normalise(norm, pixels, (size_t)n * 784, x);
    const float *p;
    dg_status st = dg_net_forward(net, x, n, false, NULL, &p);
    if (st == DG_OK) {
        memcpy(probs, p, (size_t)n * dg_net_classes(net) * sizeof *p);
    }
    free(x);
    return st;
}

DG_TEST(onnx_round_trip)
{
    dg_net *net = random_net(ALL_KINDS, 3);
    CHECK(net);
    dg_model_meta meta;
    dg_model_meta_default(&meta);
    meta.norm = (dg_norm){1.0f / 255.0f, 0.1307f, 0.3081f};
    snprintf(meta.labels[3], sizeof meta.labels[3], "three, or 3");
    snprintf(meta.preset, sizeof meta.preset, "custom");
    meta.seed = 12345678901ull;
    meta.epochs = 4;
    meta.batch = 64;
    meta.lr = 0.003f;
    meta.n_train = 60000;
    meta.val_accuracy = 0.9875;
    meta.test_accuracy = -1;
    meta.created = 1700000000;
    uint8_t *bytes = NULL;
    size_t n = 0;
    dg_status st = dg_onnx_export_memory(net, &meta, &bytes, &n);
    dg_net *back = NULL;
    dg_model_meta got;
    if (st == DG_OK) {
        st = dg_onnx_import_memory(bytes, n, &back, &got);
    }
    free(bytes);
    float a[4 * 10], b[4 * 10];
    uint8_t pixels[4 * 784];
    fixture_pixels(4, pixels);
    if (st == DG_OK) {
        st = probs_of(net, &meta.norm, pixels, 4, a);
    }
    if (st == DG_OK) {
        st = probs_of(back, &got.norm, pixels, 4, b);
    }
    const char *spec = back ? dg_net_spec(back) : "";
    dg_net_free(net);
    char spec_copy[256];
    snprintf(spec_copy, sizeof spec_copy, "%s", spec);
    dg_net_free(back);
    CHECK_OK(st);
    /* dropout is left out at inference */
    CHECK_MSG(!strcmp(spec_copy, "conv 4 3 relu, maxpool 2, conv 6 3 pad 1 relu, avgpool 2, "
                                 "batchnorm, tanh, flatten, dense 12 relu, dense 8, batchnorm "
                                 "relu, sigmoid, dense 10"),
              "spec back: %s", spec_copy);
    for (int i = 0; i < 40; i++) {
        CHECK_NEAR(a[i], b[i], 1e-6);
    }
    CHECK(got.norm.scale == meta.norm.scale && got.norm.mean == meta.norm.mean &&
          got.norm.std == meta.norm.std);
    CHECK(!strcmp(got.labels[3], "three, or 3") && !strcmp(got.labels[9], "9"));
    CHECK(!strcmp(got.preset, "custom") && !strcmp(got.dataset, "mnist"));
    CHECK(got.seed == meta.seed && got.epochs == 4 && got.batch == 64 && got.lr == meta.lr);
    CHECK(got.n_train == 60000 && got.val_accuracy == 0.9875 && got.test_accuracy == -1);
    CHECK(got.created == 1700000000 && got.preprocess == DG_PREPROCESS_VERSION &&
          got.classes == 10);
}

DG_TEST(onnx_export_file_atomic)
{
    dg_net *net = random_net("flatten, dense 10", 1);
    CHECK(net);
    char path[512];
    snprintf(path, sizeof path, "%s/net.onnx", test_tmp_dir());
    dg_status st = dg_onnx_export(path, net, NULL);
    uint8_t *bytes = NULL;
    size_t n = 0;
    if (st == DG_OK) {
        st = dg_onnx_export_memory(net, NULL, &bytes, &n);
    }
    dg_net_free(net);
    size_t file_n = 0;
    char *file = test_read_file(path, &file_n);
    int same = st == DG_OK && file && file_n == n && !memcmp(file, bytes, n);
    free(file);
    free(bytes);
    CHECK_OK(st);
    CHECK(same);
    /* a missing folder: not written, nothing left */
    snprintf(path, sizeof path, "%s/no/such/net.onnx", test_tmp_dir());
    net = random_net("flatten, dense 10", 1);
    CHECK(net);
    st = dg_onnx_export(path, net, NULL);
    dg_net_free(net);
    CHECK(st != DG_OK);
}

DG_TEST(onnx_torch_fixture)
{
    char path[512];
    snprintf(path, sizeof path, "%s/onnx/torch-tiny.onnx", test_data_dir());
    dg_net *net = NULL;
    dg_model_meta meta;
    CHECK_OK(dg_onnx_import(path, &net, &meta));
    char spec[256];
    snprintf(spec, sizeof spec, "%s", dg_net_spec(net));
    float mine[4 * 10];
    uint8_t pixels[4 * 784];
    fixture_pixels(4, pixels);
    dg_status st = probs_of(net, &meta.norm, pixels, 4, mine);
    dg_net_free(net);
    CHECK_OK(st);
    CHECK_MSG(
        !strcmp(spec,
                "conv 4 5 pad 2 relu, avgpool 2, maxpool 2, flatten, dense 16 relu, dense 10"),
        "spec: %s", spec);
    snprintf(path, sizeof path, "%s/onnx/torch-tiny.txt", test_data_dir());
    char *text = test_read_file(path, NULL);
    CHECK(text);
    char *p = strchr(text, '\n'); /* past the comment */
    int rows = 0, cols = 0, used = 0;
    int ok = p && sscanf(p, "%d %d%n", &rows, &cols, &used) == 2 && rows == 4 && cols == 10;
    double worst = 0;
    p = ok ? p + used : NULL;
    for (int k = 0; ok && k < 40; k++) {
        char *end;
        double want = strtod(p, &end);
        ok = end != p;
        double d = fabs(want - mine[k]);
        worst = d > worst ? d : worst;
        p = end;
    }
    free(text);
    CHECK_MSG(ok, "could not read %s", path);
    CHECK_MSG(worst <= 1e-5, "largest difference from PyTorch %g", worst);
}

/* ------------------------------------------------------------------ hostile graphs */

/* One node of a hand-built graph; ints_name/ints give one integer-list attribute. */
typedef struct tnode {
    const char *op, *in[5], *out, *name;
    const char *ints_name;
    int n_ints;
    int64_t ints[4];
} tnode;

/* One FLOAT initializer filled with 0.5, or claiming dims with no data when no_data. */
typedef struct tinit {
    const char *name;
    int n_dims;
    int64_t dims[4];
    bool no_data, external;
} tinit;

typedef struct tgraph {
    const tnode *nodes;
    int n_nodes;
    const tinit *inits;
    int n_inits;
    int n_in_dims;
    int64_t in_dims[4]; /* -1: named "N" */
    const char *output;
} tgraph;

static void put_dims(dg_pb_writer *w, const int64_t *dims, int n)
{
    size_t type = dg_pb_begin(w, 2), tensor = dg_pb_begin(w, 1);
    dg_pb_put_varint(w, 1, 1);
    size_t shape = dg_pb_begin(w, 2);
    for (int i = 0; i < n; i++) {
        size_t dim = dg_pb_begin(w, 1);
        if (dims[i] < 0) {
            dg_pb_put_string(w, 2, "N");
        } else {
            dg_pb_put_varint(w, 1, (uint64_t)dims[i]);
        }
        dg_pb_end(w, dim);
    }
    dg_pb_end(w, shape);
    dg_pb_end(w, tensor);
    dg_pb_end(w, type);
}

static void put_graph(dg_pb_writer *w, const tgraph *g)
{
    dg_pb_put_varint(w, 1, 8);
    size_t graph = dg_pb_begin(w, 7);
    for (int i = 0; i < g->n_nodes; i++) {
        const tnode *t = &g->nodes[i];
        size_t node = dg_pb_begin(w, 1);
        for (int k = 0; k < 5 && t->in[k]; k++) {
            dg_pb_put_string(w, 1, t->in[k]);
        }
        dg_pb_put_string(w, 2, t->out);
        dg_pb_put_string(w, 3, t->name);
        dg_pb_put_string(w, 4, t->op);
        if (t->ints_name) {
            size_t attr = dg_pb_begin(w, 5);
            dg_pb_put_string(w, 1, t->ints_name);
            dg_pb_put_varint(w, 20, 7);
            for (int k = 0; k < t->n_ints; k++) {
                dg_pb_put_varint(w, 8, (uint64_t)t->ints[k]);
            }
            dg_pb_end(w, attr);
        }
        dg_pb_end(w, node);
    }
    for (int i = 0; i < g->n_inits; i++) {
        const tinit *t = &g->inits[i];
        size_t tensor = dg_pb_begin(w, 5);
        size_t count = 1;
        for (int k = 0; k < t->n_dims; k++) {
            dg_pb_put_varint(w, 1, (uint64_t)t->dims[k]);
            count *= (size_t)t->dims[k];
        }
        dg_pb_put_varint(w, 2, 1);
        dg_pb_put_string(w, 8, t->name);
        if (t->external) {
            dg_pb_put_varint(w, 14, 1);
        } else if (!t->no_data) {
            for (size_t k = 0; k < count; k++) {
                dg_pb_put_fixed32(w, 4, 0x3f000000u); /* 0.5f */
            }
        }
        dg_pb_end(w, tensor);
    }
    size_t in = dg_pb_begin(w, 11);
    dg_pb_put_string(w, 1, "input");
    put_dims(w, g->in_dims, g->n_in_dims);
    dg_pb_end(w, in);
    size_t out = dg_pb_begin(w, 12);
    dg_pb_put_string(w, 1, g->output);
    dg_pb_end(w, out);
    dg_pb_end(w, graph);
}

/* Imports the bytes; checks the status and that the message is one line holding want. */
static bool refused(const uint8_t *d, size_t n, dg_status want, const char *want_text)
{
    dg_net *net = (dg_net *)&net;
    dg_status st = dg_onnx_import_memory(d, n, &net, NULL);
    const char *msg = dg_last_error();
    bool ok = st == want && net == NULL && msg[0] && !strchr(msg, '\n') && strstr(msg, want_text);
    if (!ok) {
        fprintf(stderr, "    got %s: %s (want %s, '%s')\n", dg_status_name(st), msg,
                dg_status_name(want), want_text);
    }
    if (st == DG_OK) {
        dg_net_free(net);
    }
    return ok;
}

static bool graph_refused(const tgraph *g, dg_status want, const char *want_text)
{
    dg_pb_writer w = {0};
    put_graph(&w, g);
    bool ok = !w.failed && refused(w.data, w.n, want, want_text);
    dg_pb_writer_free(&w);
    return ok;
}

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))
static const tinit dense_w[] = {{"w", 2, {784, 10}, false, false}, {"b", 1, {10}, false, false}};
static const tnode flat_gemm[] = {
    {"Flatten", {"input"}, "f", "flat", NULL, 0, {0}},
    {"Gemm", {"f", "w", "b"}, "out", "fc", NULL, 0, {0}},
};

DG_TEST(onnx_hand_built_graph_imports)
{
    /* the graph the hostile cases below vary: input, Flatten, Gemm [784 -> 10] */
    tgraph g = {flat_gemm, 2, dense_w, 2, 4, {-1, 1, 28, 28}, "out"};
    dg_pb_writer w = {0};
    put_graph(&w, &g);
    CHECK(!w.failed);
    dg_net *net = NULL;
    dg_status st = dg_onnx_import_memory(w.data, w.n, &net, NULL);
    dg_pb_writer_free(&w);
    const char *spec = net ? dg_net_spec(net) : "";
    int ok = !strcmp(spec, "flatten, dense 10");
    float first = net ? dg_net_params(net)[0] : 0.0f;
    dg_net_free(net);
    CHECK_OK(st);
    CHECK(ok);
    CHECK(first == 0.5f);
}

DG_TEST(onnx_hostile_graphs)
{
    static const tnode unknown_op[] = {
        {"Flatten", {"input"}, "f", "flat", NULL, 0, {0}},
        {"LSTM", {"f", "w", "b"}, "out", "rnn", NULL, 0, {0}},
    };
    CHECK(graph_refused(&(tgraph){unknown_op, 2, dense_w, 2, 4, {-1, 1, 28, 28}, "out"},
                        DG_ERR_UNSUPPORTED, "node 'rnn' (LSTM): operator not supported"));
    static const tnode cycle[] = {
        {"Relu", {"input"}, "a", "r1", NULL, 0, {0}},
        {"Relu", {"a"}, "b", "r2", NULL, 0, {0}},
        {"Identity", {"b"}, "a", "back", NULL, 0, {0}},
    };
    CHECK(graph_refused(&(tgraph){cycle, 3, NULL, 0, 4, {-1, 1, 28, 28}, "b"}, DG_ERR_UNSUPPORTED,
                        "cycle"));
    static const tnode branch[] = {
        {"Relu", {"input"}, "a", "r1", NULL, 0, {0}},
        {"Relu", {"input"}, "b", "r2", NULL, 0, {0}},
    };
    CHECK(graph_refused(&(tgraph){branch, 2, NULL, 0, 4, {-1, 1, 28, 28}, "b"}, DG_ERR_UNSUPPORTED,
                        "feeds 2 nodes"));
    static const tnode stray[] = {
        {"Flatten", {"input"}, "f", "flat", NULL, 0, {0}},
        {"Gemm", {"f", "w", "b"}, "out", "fc", NULL, 0, {0}},
        {"Relu", {"elsewhere"}, "x", "stray", NULL, 0, {0}},
    };
    CHECK(graph_refused(&(tgraph){stray, 3, dense_w, 2, 4, {-1, 1, 28, 28}, "out"},
                        DG_ERR_UNSUPPORTED, "node 'stray' (Relu): not on the chain"));
    static const tnode two_inputs[] = {
        {"Flatten", {"input"}, "f", "flat", NULL, 0, {0}},
        {"Gemm", {"f", "w", "f"}, "out", "fc", NULL, 0, {0}},
    };
    CHECK(graph_refused(&(tgraph){two_inputs, 2, dense_w, 2, 4, {-1, 1, 28, 28}, "out"},
                        DG_ERR_UNSUPPORTED, "not a chain"));
    CHECK(graph_refused(&(tgraph){flat_gemm, 2, dense_w, 2, 2, {-1, 784}, "out"},
                        DG_ERR_UNSUPPORTED, "must be [N, C, H, W]"));
    CHECK(graph_refused(&(tgraph){flat_gemm, 2, dense_w, 2, 4, {-1, 1, 28, 28}, "f"},
                        DG_ERR_UNSUPPORTED, "not a graph output"));
    static const tinit huge[] = {{"w", 2, {2147483647, 2147483647}, true, false},
                                 {"b", 1, {10}, false, false}};
    CHECK(graph_refused(&(tgraph){flat_gemm, 2, huge, 2, 4, {-1, 1, 28, 28}, "out"},
                        DG_ERR_TOO_LARGE, "initializer 1: tensor of more than"));
    static const tinit no_data[] = {{"w", 2, {784, 10}, true, false}, {"b", 1, {10}, false, false}};
    CHECK(graph_refused(&(tgraph){flat_gemm, 2, no_data, 2, 4, {-1, 1, 28, 28}, "out"},
                        DG_ERR_FORMAT, "node 'fc' (Gemm): tensor 'w' claims 7840 values"));
    static const tinit external[] = {{"w", 2, {784, 10}, true, true}, {"b", 1, {10}, false, false}};
    CHECK(graph_refused(&(tgraph){flat_gemm, 2, external, 2, 4, {-1, 1, 28, 28}, "out"},
                        DG_ERR_UNSUPPORTED, "external"));
    static const tinit conv_w[] = {{"k", 4, {2, 1, 3, 3}, false, false}};
    static const tnode strided[] = {
        {"Conv", {"input", "k"}, "c", "conv1", "strides", 2, {2, 2}},
        {"Flatten", {"c"}, "out", "flat", NULL, 0, {0}},
    };
    CHECK(graph_refused(&(tgraph){strided, 2, conv_w, 1, 4, {-1, 1, 28, 28}, "out"},
                        DG_ERR_UNSUPPORTED,
                        "node 'conv1' (Conv): strides 2: digits convolves "
                        "with stride 1"));
    static const tnode padded[] = {
        {"Conv", {"input", "k"}, "c", "conv1", "pads", 4, {1, 0, 1, 0}},
        {"Flatten", {"c"}, "out", "flat", NULL, 0, {0}},
    };
    CHECK(graph_refused(&(tgraph){padded, 2, conv_w, 1, 4, {-1, 1, 28, 28}, "out"},
                        DG_ERR_UNSUPPORTED, "digits pads every side of the image alike"));
    static const tnode pool3[] = {
        {"MaxPool", {"input"}, "p", "pool", "kernel_shape", 2, {3, 3}},
        {"Flatten", {"p"}, "out", "flat", NULL, 0, {0}},
    };
    CHECK(graph_refused(&(tgraph){pool3, 2, NULL, 0, 4, {-1, 1, 28, 28}, "out"}, DG_ERR_UNSUPPORTED,
                        "node 'pool' (MaxPool): stride 1 by default"));
}

/* BatchNormalization over the one input channel (every constant 0.5), Flatten, Gemm. */
DG_TEST(onnx_batchnorm_imports_and_checks_its_constants)
{
    static const tnode nodes[] = {
        {"BatchNormalization", {"input", "s", "b", "m", "v"}, "n", "bn", NULL, 0, {0}},
        {"Flatten", {"n"}, "f", "flat", NULL, 0, {0}},
        {"Gemm", {"f", "w", "b2"}, "out", "fc", NULL, 0, {0}},
    };
    static const tinit inits[] = {
        {"s", 1, {1}, false, false},       {"b", 1, {1}, false, false},
        {"m", 1, {1}, false, false},       {"v", 1, {1}, false, false},
        {"w", 2, {784, 10}, false, false}, {"b2", 1, {10}, false, false},
    };
    tgraph g = {nodes, 3, inits, 6, 4, {-1, 1, 28, 28}, "out"};
    dg_pb_writer w = {0};
    put_graph(&w, &g);
    CHECK(!w.failed);
    dg_net *net = NULL;
    dg_status st = dg_onnx_import_memory(w.data, w.n, &net, NULL);
    dg_pb_writer_free(&w);
    char spec[64];
    snprintf(spec, sizeof spec, "%s", net ? dg_net_spec(net) : "");
    float p[4] = {0};
    if (net) {
        memcpy(p, dg_net_params(net), sizeof p);
    }
    dg_net_free(net);
    CHECK_OK(st);
    CHECK_MSG(!strcmp(spec, "batchnorm, flatten, dense 10"), "spec: %s", spec);
    /* scale, shift, mean, variance; ONNX's default epsilon is digits' own */
    CHECK(p[0] == 0.5f && p[1] == 0.5f && p[2] == 0.5f && p[3] == 0.5f);
    static const tinit wrong[] = {
        {"s", 1, {3}, false, false},       {"b", 1, {1}, false, false},
        {"m", 1, {1}, false, false},       {"v", 1, {1}, false, false},
        {"w", 2, {784, 10}, false, false}, {"b2", 1, {10}, false, false},
    };
    CHECK(graph_refused(&(tgraph){nodes, 3, wrong, 6, 4, {-1, 1, 28, 28}, "out"}, DG_ERR_FORMAT,
                        "node 'bn' (BatchNormalization): input 2 must be a constant of 1 values"));
}

DG_TEST(onnx_hostile_bytes)
{
    /* graph (field 7) of 16 bytes, 1 there */
    static const uint8_t past_end[] = {0x3a, 0x10, 0x0a};
    CHECK(refused(past_end, sizeof past_end, DG_ERR_TRUNCATED, "runs past"));
    static const uint8_t long_varint[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff,
                                          0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    CHECK(refused(long_varint, sizeof long_varint, DG_ERR_FORMAT, "longer than 10 bytes"));
    static const uint8_t group[] = {0x0b};
    CHECK(refused(group, sizeof group, DG_ERR_FORMAT, "wire type 3"));
    static const uint8_t no_graph[] = {0x08, 0x08};
    CHECK(refused(no_graph, sizeof no_graph, DG_ERR_FORMAT, "no graph"));
    CHECK(refused((const uint8_t *)"", 0, DG_ERR_FORMAT, "no graph"));
    static const char text[] = "<html>not a model</html>";
    dg_net *net = NULL;
    CHECK(dg_onnx_import_memory((const uint8_t *)text, sizeof text - 1, &net, NULL) != DG_OK);
    CHECK(net == NULL);

    /* every prefix of a real file fails cleanly or, cut between fields, still imports */
    dg_net *model = random_net("conv 2 3 relu, maxpool 2, flatten, dense 10", 5);
    CHECK(model);
    uint8_t *bytes = NULL;
    size_t n = 0;
    dg_status st = dg_onnx_export_memory(model, NULL, &bytes, &n);
    dg_net_free(model);
    CHECK_OK(st);
    int truncated = 0;
    for (size_t cut = 0; cut < n; cut += 1 + cut / 64) {
        net = NULL;
        st = dg_onnx_import_memory(bytes, cut, &net, NULL);
        truncated += st == DG_ERR_TRUNCATED;
        if (st == DG_OK) {
            dg_net_free(net);
        } else if (net || strchr(dg_last_error(), '\n')) {
            free(bytes);
            CHECK_MSG(0, "cut at %zu: net set or a message of several lines", cut);
        }
    }
    free(bytes);
    CHECK(truncated > 0);
}

DG_TEST(onnx_export_refuses_bad_meta)
{
    dg_net *net = random_net("flatten, dense 10", 1);
    CHECK(net);
    dg_model_meta meta;
    dg_model_meta_default(&meta);
    meta.classes = 3;
    uint8_t *bytes = (uint8_t *)&meta;
    size_t n = 1;
    dg_status st = dg_onnx_export_memory(net, &meta, &bytes, &n);
    dg_net_free(net);
    CHECK_STATUS(st, DG_ERR_ARG);
    CHECK(bytes == NULL && n == 0);
}

/* ------------------------------------------------------------------ ONNX Runtime */

DG_TEST(onnx_runtime_agrees)
{
    if (system("command -v node >/dev/null 2>&1") != 0) {
        SKIP("node is missing (apt-get install nodejs npm; then scripts/get-onnxruntime.sh)");
    }
    if (system("test -f node/node_modules/onnxruntime-node/package.json") != 0) {
        SKIP("onnxruntime-node is missing: run scripts/get-onnxruntime.sh");
    }
    dg_net *net = random_net("conv 8 5 pad 2 relu, maxpool 2, conv 8 3, batchnorm, tanh, "
                             "avgpool 2, flatten, dense 32 relu, dropout 0.25, dense 16, "
                             "batchnorm relu, sigmoid, dense 10",
                             9);
    CHECK(net);
    const char *dir = test_tmp_dir();
    char onnx[512], px[512], pr[512], cmd[2048];
    snprintf(onnx, sizeof onnx, "%s/rt.onnx", dir);
    snprintf(px, sizeof px, "%s/rt.u8", dir);
    snprintf(pr, sizeof pr, "%s/rt.f32", dir);
    enum { N = 8 };
    uint8_t pixels[N * 784];
    fixture_pixels(N, pixels);
    float probs[N * 10];
    dg_norm norm = dg_norm_default();
    dg_status st = dg_onnx_export(onnx, net, NULL);
    if (st == DG_OK) {
        st = probs_of(net, &norm, pixels, N, probs);
    }
    dg_net_free(net);
    CHECK_OK(st);
    FILE *f = fopen(px, "wb");
    CHECK(f);
    int ok = fwrite(pixels, 1, sizeof pixels, f) == sizeof pixels;
    ok = (fclose(f) == 0) && ok;
    f = fopen(pr, "wb");
    CHECK(ok && f);
    ok = fwrite(probs, sizeof probs, 1, f) == 1;
    ok = (fclose(f) == 0) && ok;
    CHECK(ok);
    snprintf(cmd, sizeof cmd, "node scripts/onnx_check.js %s %s/rt %d 10 %.9g 0 1 1e-5 >&2", onnx,
             dir, N, (double)norm.scale);
    int status = system(cmd);
    CHECK_MSG(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "ONNX Runtime disagrees with digits (%s)", cmd);
}
