/*
 * cmd_export.c - `digits export MODEL -o OUT.onnx`: writes a digits model as an ONNX file
 * (dg_onnx_export; docs/onnx.md says what is in it and what to feed it).
 */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>

static const char usage[] =
    "usage: digits export [MODEL | --model MODEL] -o OUT.onnx\n"
    "\n"
    "Writes the model as a standard ONNX file (opset 13), atomically: input \"input\",\n"
    "float [N,C,H,W] with a dynamic batch N, taking the normalised pixels; outputs\n"
    "\"logits\" and \"probabilities\" [N,classes]. The normalisation, class labels and\n"
    "training record go into the file's metadata (digits.* keys); see docs/onnx.md.\n"
    "\n"
    "  -m, --model MODEL  the model to export (default model/digits.model)\n"
    "  -o, --output OUT   the ONNX file to write (required)\n"
    "  -h, --help         show this help\n";

int cmd_export(int argc, char **argv)
{
    static const struct option longs[] = {
        {"output", required_argument, 0, 'o'},
        {"model", required_argument, 0, 'm'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *out = NULL, *model = NULL;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":ho:m:", longs, NULL)) != -1) {
        if (c == 'o') {
            out = optarg;
        } else if (c == 'm') {
            model = optarg;
        } else {
            return cli_other_option("export", usage, c, argv);
        }
    }
    model = cli_one_model("export", model, argc, argv);
    if (!model) {
        return DG_EXIT_USAGE;
    }
    if (!out) {
        return cli_usage_error("export", "where to? add -o OUT.onnx");
    }
    dg_model_meta meta;
    dg_net *net = cli_load_model("export", model, &meta);
    if (!net) {
        return DG_EXIT_FAIL;
    }
    int rc = DG_EXIT_OK;
    if (dg_onnx_export(out, net, &meta) != DG_OK) {
        rc = cli_error("export", "%s", dg_last_error());
    } else {
        printf("wrote %s (%s)\n", out, dg_net_spec(net));
    }
    dg_net_free(net);
    return rc;
}
