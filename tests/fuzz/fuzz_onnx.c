/*
 * fuzz_onnx.c - fuzz target for the ONNX reader and importer. The input is imported with
 * dg_onnx_import_memory. A failure must leave *net NULL and give a one-line message. A net
 * that imports must export, and the export import again into the same spec, parameter
 * count and parameters; a small one also runs a forward pass on zeros.
 * A crash, leak, sanitizer report or any disagreement is a bug.
 */
#include "digits.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Larger inputs only repeat what small ones exercise, and slow each run. */
#define FUZZ_MAX_INPUT (1u << 20)
/* Nets within these bounds also run forward on one example. */
#define FUZZ_MAX_FORWARD_INPUT  (64u * 1024u)
#define FUZZ_MAX_FORWARD_PARAMS (256u * 1024u)

static void forward_zeros(dg_net *net)
{
    dg_shape in = dg_net_input_shape(net);
    size_t n = (size_t)in.c * in.h * in.w;
    if (n > FUZZ_MAX_FORWARD_INPUT || dg_net_param_count(net) > FUZZ_MAX_FORWARD_PARAMS) {
        return;
    }
    float *x = calloc(n, sizeof *x);
    const float *probs;
    if (x && dg_net_forward(net, x, 1, false, NULL, &probs) != DG_OK) {
        abort();
    }
    free(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_INPUT) {
        return 0;
    }
    dg_net *net = (dg_net *)&net; /* not NULL: the importer must set it either way */
    dg_model_meta meta;
    if (dg_onnx_import_memory(data, size, &net, &meta) != DG_OK) {
        if (net != NULL || dg_last_error()[0] == '\0' || strchr(dg_last_error(), '\n')) {
            abort();
        }
        return 0;
    }
    uint8_t *bytes = NULL;
    size_t n = 0;
    if (dg_onnx_export_memory(net, &meta, &bytes, &n) != DG_OK) {
        abort();
    }
    dg_net *back = NULL;
    if (dg_onnx_import_memory(bytes, n, &back, NULL) != DG_OK) {
        abort();
    }
    free(bytes);
    size_t count = dg_net_param_count(net);
    if (strcmp(dg_net_spec(net), dg_net_spec(back)) || count != dg_net_param_count(back) ||
        memcmp(dg_net_params(net), dg_net_params(back), count * sizeof(float))) {
        abort();
    }
    forward_zeros(net);
    dg_net_free(back);
    dg_net_free(net);
    return 0;
}
