/*
 * fuzz_spec.c - fuzz target for the network spec parser. The input, as text, is built into
 * a net for 1x28x28 input with dg_spec_param_count and dg_net_new, which must agree (nets
 * of over 16M parameters are only counted). A net that builds must give a canonical spec
 * that builds again into the same canonical spec, parameter count, class count and
 * layers; a small one also runs a forward pass on zeros.
 * A crash, leak, sanitizer report, a failure that leaves *out set or gives no message, or
 * any disagreement is a bug.
 */
#include "digits.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Specs are at most a few hundred characters; longer inputs only repeat the layer list. */
#define FUZZ_MAX_SPEC 4096u
/* Specs of more parameters are only counted: building them (parameters and gradients, for
 * the net and its rebuild) would take gigabytes, over the fuzzer's memory limit. */
#define FUZZ_MAX_BUILD_PARAMS (16u * 1024u * 1024u)
/* Nets within these bounds also run forward; bigger ones are slow and show nothing new. */
#define FUZZ_MAX_FORWARD_PARAMS  (256u * 1024u)
#define FUZZ_MAX_FORWARD_OUTPUTS (256u * 1024u)

static const dg_shape input = {1, 28, 28};

/* Builds spec; on failure checks the failure contract and returns NULL. */
static dg_net *build(const char *spec)
{
    dg_net *net = (dg_net *)&net; /* not NULL: dg_net_new must set it either way */
    if (dg_net_new(spec, input, &net) != DG_OK) {
        if (net != NULL || dg_last_error()[0] == '\0') {
            abort();
        }
        return NULL;
    }
    return net;
}

/* Every layer of a and b described alike, with the same shapes and parameter counts. */
static void check_same_layers(const dg_net *a, const dg_net *b)
{
    if (dg_net_layer_count(a) != dg_net_layer_count(b)) {
        abort();
    }
    for (int i = 0; i < dg_net_layer_count(a); i++) {
        dg_layer_info la, lb;
        dg_net_layer_info(a, i, &la);
        dg_net_layer_info(b, i, &lb);
        if (strcmp(la.kind, lb.kind) || strcmp(la.desc, lb.desc) || la.out.c != lb.out.c ||
            la.out.h != lb.out.h || la.out.w != lb.out.w || la.n_params != lb.n_params) {
            abort();
        }
    }
}

/* The sum of every layer's output size for one example, in floats. */
static size_t total_outputs(const dg_net *net)
{
    size_t total = 0;
    for (int i = 0; i < dg_net_layer_count(net); i++) {
        dg_layer_info info;
        dg_net_layer_info(net, i, &info);
        total += (size_t)info.out.c * (size_t)info.out.h * (size_t)info.out.w;
    }
    return total;
}

/* One inference on a zero image: parameters are zero after dg_net_new, so every class is
 * equally likely. */
static void run_forward(dg_net *net)
{
    static const float zeros[28 * 28];
    if (dg_net_prepare(net, 1) != DG_OK) {
        return; /* only for lack of memory */
    }
    const float *probs;
    if (dg_net_forward(net, zeros, 1, false, NULL, &probs) != DG_OK) {
        abort();
    }
    int classes = dg_net_classes(net);
    for (int i = 0; i < classes; i++) {
        if (!(fabsf(probs[i] - 1.0f / (float)classes) < 1e-5f)) {
            abort();
        }
    }
}

static void check_net(dg_net *net, size_t counted)
{
    if (dg_net_param_count(net) != counted) {
        abort();
    }
    const char *canon = dg_net_spec(net);
    size_t recounted = 0;
    if (dg_spec_param_count(canon, input, &recounted) != DG_OK || recounted != counted) {
        abort(); /* the canonical spec must parse, to the same size */
    }
    dg_net *again = build(canon);
    if (!again || strcmp(dg_net_spec(again), canon) ||
        dg_net_param_count(again) != dg_net_param_count(net) ||
        dg_net_classes(again) != dg_net_classes(net)) {
        abort();
    }
    check_same_layers(net, again);
    dg_net_free(again);
    if (counted <= FUZZ_MAX_FORWARD_PARAMS && total_outputs(net) <= FUZZ_MAX_FORWARD_OUTPUTS) {
        run_forward(net);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_SPEC) {
        return 0;
    }
    char *spec = malloc(size + 1);
    if (!spec) {
        return 0;
    }
    memcpy(spec, data, size);
    spec[size] = '\0'; /* a NUL inside the input ends the spec there */
    size_t counted = 1;
    dg_status counted_st = dg_spec_param_count(spec, input, &counted);
    if (counted_st == DG_OK && counted > FUZZ_MAX_BUILD_PARAMS) {
        free(spec);
        return 0;
    }
    dg_net *net = build(spec);
    if ((counted_st == DG_OK) != (net != NULL) || (counted_st != DG_OK && counted != 0)) {
        abort(); /* the two entry points disagree, or a failed count is not 0 */
    }
    if (net) {
        check_net(net, counted);
        dg_net_free(net);
    }
    free(spec);
    return 0;
}
