/*
 * cmd_verify.c - `digits verify [MODEL...]`: loads each model file with every check the
 * loader makes (header, version, lengths, CRC-32, that the architecture builds and the
 * parameters fit it) and prints one line per file.
 */
#include "cli.h"

#include <stdlib.h>

static const char usage[] =
    "usage: digits verify [MODEL... | --model MODEL]\n"
    "\n"
    "Checks model files completely: header, format version, every length, the CRC-32\n"
    "checksum, that the architecture builds and that the stored parameters fit it.\n"
    "Prints \"MODEL: ok (format V, N parameters, checksum 0x...)\" for a good file and the\n"
    "problem for a bad one. Exit status: 0 all good, 1 any bad, 2 usage error.\n"
    "\n"
    "  MODEL, -m, --model MODEL   model file (default model/digits.model)\n"
    "  -h, --help                 show this help\n";

/* One file: 1 if it is good. */
static int verify_one(const char *path)
{
    dg_net *net = cli_load_model("verify", path, NULL);
    if (!net) {
        return 0;
    }
    size_t n_params = dg_net_param_count(net);
    dg_net_free(net);
    dg_model_file file;
    if (dg_model_stat(path, &file) != DG_OK) {
        /* replaced or removed between the two reads */
        cli_error("verify", "%s", dg_last_error());
        return 0;
    }
    char count[32];
    printf("%s: ok (format %u, %s parameters, checksum 0x%08x)\n", path, file.version,
           dg_format_count(n_params, count), file.checksum);
    return 1;
}

int cmd_verify(int argc, char **argv)
{
    const char **models = malloc((size_t)(argc + 1) * sizeof *models);
    if (!models) {
        return cli_error("verify", "out of memory");
    }
    int n_models;
    int rc = cli_parse_model_args("verify", usage, argc, argc, argv, models, &n_models);
    if (rc >= 0) {
        free(models);
        return rc;
    }
    int bad = 0;
    for (int i = 0; i < n_models; i++) {
        bad += !verify_one(models[i]);
    }
    free(models);
    fflush(stdout);
    return bad ? DG_EXIT_FAIL : DG_EXIT_OK;
}
