/*
 * cmd_evaluate.c - `digits evaluate`: test loss and accuracy, per-class accuracy and a
 * text confusion matrix of a saved model on DIR/t10k-*.
 */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: digits evaluate [MODEL | --model MODEL] [--data DIR] [--threads N]\n"
    "\n"
    "Evaluates a saved model on the test set (DIR/t10k-*).\n"
    "\n"
    "  MODEL, -m, --model MODEL   model file (default model/digits.model)\n"
    "  --data DIR                 MNIST-format IDX files (default data/mnist)\n"
    "  --threads N                worker threads, 1 to 64 (default: all cores)\n";

static void print_report(const dg_eval *ev, const dg_model_meta *meta)
{
    int k = ev->classes;
    char images[32];
    printf("test images: %s\n", dg_format_count(ev->n, images));
    printf("test loss: %.4f\n", ev->loss);
    char pct[16], count[32];
    printf("test accuracy: %s\n", dg_format_accuracy(ev->accuracy, pct));
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
        printf("  %-*s %7s  (%u of %s)\n", width, meta->labels[t],
               dg_format_accuracy(total ? (double)ev->confusion[t][t] / total : 0.0, pct),
               ev->confusion[t][t], dg_format_count(total, count));
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
    const char *model = NULL, *data = DG_DEFAULT_DATA;
    long threads = 0; /* all cores */
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":hm:", longs, NULL)) != -1) {
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
    model = cli_one_model("evaluate", model, argc, argv);
    if (!model) {
        return DG_EXIT_USAGE;
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
