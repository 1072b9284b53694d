/*
 * cmd_import.c - `digits import IN.onnx -o MODEL`: turns an ONNX graph of operators
 * digits has into an ordinary digits model (dg_onnx_import), with the input
 * normalisation from the file's metadata, from the options, or x/255.
 */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>

static const char usage[] =
    "usage: digits import IN.onnx -o MODEL [--input-scale X] [--input-mean X] [--input-std X]\n"
    "\n"
    "Reads an ONNX model whose graph is one chain of Conv, Relu, Tanh, Sigmoid, MaxPool,\n"
    "AveragePool, Flatten, Reshape, Gemm, MatMul+Add, Dropout, Identity and a final\n"
    "Softmax (as torch.onnx.export or digits export write them) and saves it as a digits\n"
    "model that predict, read, evaluate and report use. Anything else is refused with the\n"
    "node and the reason. The network sees each pixel p (0..255, 255 ink) as\n"
    "(p * scale - mean) / std: taken from the file's digits.* metadata when present,\n"
    "else x/255 (scale 1/255, mean 0, std 1); the options below replace it.\n"
    "\n"
    "  -o, --output MODEL   the model file to write (required)\n"
    "  --input-scale X      scale of the normalisation, e.g. 0.00392156863 (1/255)\n"
    "  --input-mean X       mean subtracted after scaling, e.g. 0.1307\n"
    "  --input-std X        standard deviation divided by, e.g. 0.3081\n"
    "  -h, --help           show this help\n";

int cmd_import(int argc, char **argv)
{
    static const struct option longs[] = {
        {"output", required_argument, 0, 'o'},
        {"input-scale", required_argument, 0, 's'},
        {"input-mean", required_argument, 0, 'm'},
        {"input-std", required_argument, 0, 'd'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *out = NULL;
    double scale = 0, mean = 0, std = 0;
    bool has_scale = false, has_mean = false, has_std = false;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":ho:", longs, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 's':
            if (!cli_float_option("import", "--input-scale", optarg, -1e6, 1e6, &scale)) {
                return DG_EXIT_USAGE;
            }
            has_scale = true;
            break;
        case 'm':
            if (!cli_float_option("import", "--input-mean", optarg, -1e6, 1e6, &mean)) {
                return DG_EXIT_USAGE;
            }
            has_mean = true;
            break;
        case 'd':
            if (!cli_float_option("import", "--input-std", optarg, 1e-9, 1e6, &std)) {
                return DG_EXIT_USAGE;
            }
            has_std = true;
            break;
        default:
            return cli_other_option("import", usage, c, argv);
        }
    }
    if (optind >= argc) {
        return cli_usage_error("import", "which ONNX file? e.g. digits import net.onnx -o %s",
                               DG_DEFAULT_MODEL);
    }
    if (argc - optind > 1) {
        return cli_usage_error("import", "unexpected argument '%s'", argv[optind + 1]);
    }
    if (!out) {
        return cli_usage_error("import", "where to? add -o MODEL");
    }
    dg_net *net = NULL;
    dg_model_meta meta;
    if (dg_onnx_import(argv[optind], &net, &meta) != DG_OK) {
        return cli_error("import", "%s", dg_last_error());
    }
    meta.norm.scale = has_scale ? (float)scale : meta.norm.scale;
    meta.norm.mean = has_mean ? (float)mean : meta.norm.mean;
    meta.norm.std = has_std ? (float)std : meta.norm.std;
    int rc = DG_EXIT_OK;
    if (dg_model_save(out, net, &meta) != DG_OK) {
        rc = cli_error("import", "%s", dg_last_error());
    } else {
        printf("wrote %s (%s; input (p * %g - %g) / %g)\n", out, dg_net_spec(net),
               (double)meta.norm.scale, (double)meta.norm.mean, (double)meta.norm.std);
    }
    dg_net_free(net);
    return rc;
}
