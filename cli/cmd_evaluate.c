/*
 * cmd_evaluate.c - `digits evaluate`: test loss and accuracy, per-class accuracy and a
 * text confusion matrix of a saved model on DIR/t10k-*.
 */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] = "usage: digits evaluate [--model MODEL] [--data DIR] [--threads N]\n"
                            "\n"
                            "Evaluates a saved model on the test set (DIR/t10k-*).\n"
                            "\n"
                            "  --model MODEL   model file (default model/digits.model)\n"
                            "  --data DIR      MNIST-format IDX files (default data/mnist)\n"
                            "  --threads N     worker threads, 1 to 64 (default: all cores)\n";

static void print_report(const dg_eval *ev, const dg_model_meta *meta)
{
    int k = ev->classes;
    printf("test images: %u\n", ev->n);
    printf("test loss: %.4f\n", ev->loss);
    printf("test accuracy: %.4f\n", ev->accuracy);
    printf("\nper-class accuracy:\n");
    int width = 6; /* the longest class name, so that the figures line up */
    for (int t = 0; t < k; t++) {
        int len = (int)strlen(meta->labels[t]);
        width = len > width ? len : width;
    }
    for (int t = 0; t < k; t++) {
        uint32_t total = 0;
        for (int p = 0; p < k; p++) {
            total += ev->confusion[t][p];
        }
        printf("  %-*s %.4f  (%u of %u)\n", width, meta->labels[t],
               total ? (double)ev->confusion[t][t] / total : 0.0, ev->confusion[t][t], total);
    }
    printf("\nconfusion matrix (rows: true, columns: predicted):\n      ");
    for (int p = 0; p < k; p++) {
        printf("%6.5s", meta->labels[p]);
    }
    printf("\n");
    for (int t = 0; t < k; t++) {
        printf("%6.5s", meta->labels[t]);
        for (int p = 0; p < k; p++) {
            printf("%6u", ev->confusion[t][p]);
        }
        printf("\n");
    }
}

int cmd_evaluate(int argc, char **argv)
{
    static const struct option longs[] = {
        {"model", required_argument, 0, 'm'},
        {"data", required_argument, 0, 'd'},
        {"threads", required_argument, 0, 't'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *model = DG_DEFAULT_MODEL, *data = DG_DEFAULT_DATA;
    long threads = 0; /* all cores */
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", longs, NULL)) != -1) {
        switch (c) {
        case 'm':
            model = optarg;
            break;
        case 'd':
            data = optarg;
            break;
        case 't':
            if (!cli_int_option("evaluate", "--threads", optarg, 1, CLI_MAX_THREADS, &threads)) {
                return DG_EXIT_USAGE;
            }
            break;
        default:
            return cli_other_option("evaluate", usage, c, argv);
        }
    }
    if (optind < argc) {
        return cli_usage_error("evaluate", "unexpected argument '%s'", argv[optind]);
    }
    dg_model_meta meta;
    dg_net *net = cli_load_model("evaluate", model, &meta);
    if (!net) {
        return DG_EXIT_FAIL;
    }
    dg_dataset *test = NULL;
    int rc = DG_EXIT_FAIL;
    dg_eval *ev = malloc(sizeof *ev);
    if (!ev) {
        cli_error("evaluate", "out of memory");
    } else if (dg_net_set_threads(net, (int)threads) != DG_OK ||
               dg_dataset_load(data, DG_SPLIT_TEST, &test) != DG_OK ||
               dg_evaluate(net, test, &meta.norm, 0, test->n, ev, NULL, NULL) != DG_OK) {
        cli_error("evaluate", "%s", dg_last_error());
    } else {
        printf("model: %s (%s)\n", model, dg_net_spec(net));
        print_report(ev, &meta);
        rc = DG_EXIT_OK;
    }
    free(ev);
    dg_dataset_free(test);
    dg_net_free(net);
    return rc;
}
