/*
 * cmd_info.c - `digits info MODEL`: the layer table of Keras's model.summary() (layer,
 * output shape, parameters; totals), then how the model was made: preset, spec, data,
 * training settings, accuracies, date, normalisation, classes, and the file itself.
 *
 * Output shapes are printed in Keras order, (None, H, W, C) and (None, N) (dg_net_shape_text,
 * as everywhere in digits), so that they can be compared line by line with the Keras MNIST
 * tutorial's summary; the network itself computes channels first.
 */
#include "cli.h"

#include <string.h>
#include <time.h>

static const char usage[] =
    "usage: digits info [MODEL | --model MODEL]\n"
    "\n"
    "Shows a model file's layers with their output shapes and parameter counts (as Keras's\n"
    "model.summary() does, shapes in Keras order (None, H, W, C)), then its metadata:\n"
    "preset, spec, dataset, training settings, accuracies, creation date, normalisation,\n"
    "classes, format version and file size.\n"
    "\n"
    "  MODEL, -m, --model MODEL   model file (default model/digits.model)\n"
    "  -h, --help                 show this help\n";

static void rule(char c, int width)
{
    for (int i = 0; i < width; i++) {
        putchar(c);
    }
    putchar('\n');
}

static void print_layers(const dg_net *net)
{
    int n = dg_net_layer_count(net);
    int desc_width = 5; /* "Layer" */
    for (int i = 0; i < n; i++) {
        dg_layer_info info;
        dg_net_layer_info(net, i, &info);
        int len = (int)strlen(info.desc);
        desc_width = len > desc_width ? len : desc_width;
    }
    const int shape_width = 26, param_width = 12;
    int width = 1 + 4 + desc_width + 2 + shape_width + param_width;
    char num[32], shape[64];
    rule('_', width);
    printf(" %-4s%-*s  %-*s%*s\n", "#", desc_width, "Layer", shape_width, "Output Shape",
           param_width, "Param #");
    rule('=', width);
    size_t state = 0;
    for (int i = 0; i < n; i++) {
        dg_layer_info info;
        dg_net_layer_info(net, i, &info);
        state += info.n_state;
        dg_net_shape_text(net, i, shape, sizeof shape);
        printf(" %-4d%-*s  %-*s%*s\n", i + 1, desc_width, info.desc, shape_width, shape,
               param_width, dg_format_count(info.n_params, num));
    }
    rule('=', width);
    size_t total = dg_net_param_count(net);
    printf("Total params: %s (%.2f KB)\n", dg_format_count(total, num), (double)total * 4 / 1024);
    printf("Trainable params: %s\n", dg_format_count(total - state, num));
    printf("Non-trainable params: %s\n", dg_format_count(state, num));
    rule('_', width);
}

static void print_accuracy(const char *label, double a)
{
    if (a < 0) {
        printf("%-16s unknown\n", label);
    } else {
        char pct[16];
        printf("%-16s %s\n", label, dg_format_accuracy(a, pct));
    }
}

static void print_meta(const dg_net *net, const dg_model_meta *m, const dg_model_file *file)
{
    char num[32], shape[64];
    dg_net_shape_text(net, -1, shape, sizeof shape);
    printf("%-16s %s (height, width, channels; computed channels first)\n", "Input:", shape);
    printf("%-16s %s\n", "Preset:", m->preset[0] ? m->preset : "(none: custom spec)");
    printf("%-16s %s\n", "Spec:", dg_net_spec(net));
    printf("%-16s %s", "Dataset:", m->dataset[0] ? m->dataset : "unknown");
    if (m->n_train > 0) {
        printf(", trained on %s examples", dg_format_count(m->n_train, num));
    }
    printf("\n");
    if (m->epochs > 0) {
        printf("%-16s %d epoch%s, batch %d, learning rate %g, seed %llu, %s products\n",
               "Training:", m->epochs, m->epochs == 1 ? "" : "s", m->batch, (double)m->lr,
               (unsigned long long)m->seed, dg_precision_name(m->precision));
    } else {
        printf("%-16s not recorded\n", "Training:");
    }
    print_accuracy("Val accuracy:", m->val_accuracy);
    print_accuracy("Test accuracy:", m->test_accuracy);

    char when[64] = "unknown";
    if (m->created != 0) {
        time_t t = (time_t)m->created;
        struct tm tm;
        if (!gmtime_r(&t, &tm) || !strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm)) {
            snprintf(when, sizeof when, "%lld (seconds since 1970)", (long long)m->created);
        }
    }
    printf("%-16s %s\n", "Created:", when);

    dg_norm d = dg_norm_default();
    int is_default = m->norm.scale == d.scale && m->norm.mean == d.mean && m->norm.std == d.std;
    printf("%-16s x = (pixel * %g - %g) / %g%s\n", "Normalisation:", (double)m->norm.scale,
           (double)m->norm.mean, (double)m->norm.std, is_default ? " (pixel / 255)" : "");
    printf("%-16s %d:", "Classes:", m->classes);
    for (int i = 0; i < m->classes; i++) {
        printf(" %s", m->labels[i]);
    }
    printf("\n");
    printf("%-16s version %u%s\n", "Preprocessing:", m->preprocess,
           m->preprocess == 1   ? " (MNIST-style: crop, fit 20x20, centre of mass in 28x28)"
           : m->preprocess == 2 ? " (MNIST-style, the page's light normalised first)"
           : m->preprocess == 3 ? " (MNIST-style, the page's light normalised first; shadows'"
                                  " and the desk's edges left out)"
           : m->preprocess == 4 ? " (as 3; faint pens under a shadow or beside the desk kept,"
                                  " thin-stroked drawings and big pictures worked on smaller)"
           : m->preprocess == 5 ? " (as 4; a number written through most of the page kept"
                                  " as dark ink, a strip of desk beside a fine pen left out)"
           : m->preprocess == 6 ? " (as 5; a coloured desk around a grey page left out)"
           : m->preprocess == 7 ? " (as 6; a faint pen beside strips of desk smoothed as noisy)"
           : m->preprocess == 8 ? " (as 7; a dark digit under a shadow over most of the page"
                                  " kept as dark ink)"
           : m->preprocess == 9 ? " (as 8; light falling off across a small image followed,"
                                  " a faint pen between wedges of desk kept)"
                                : "");
    printf("%-16s format %u, %s bytes, CRC-32 0x%08x\n", "File:", file->version,
           dg_format_count(file->n_bytes, num), file->checksum);
}

int cmd_info(int argc, char **argv)
{
    const char *path;
    int n_models;
    int rc = cli_parse_model_args("info", usage, 1, argc, argv, &path, &n_models);
    if (rc >= 0) {
        return rc;
    }
    dg_model_meta meta;
    dg_net *net = cli_load_model("info", path, &meta);
    if (!net) {
        return DG_EXIT_FAIL;
    }
    dg_model_file file;
    if (dg_model_stat(path, &file) != DG_OK) {
        dg_net_free(net);
        return cli_error("info", "%s", dg_last_error());
    }
    printf("Model: %s\n", path);
    print_layers(net);
    printf("\n");
    print_meta(net, &meta, &file);
    dg_net_free(net);
    return DG_EXIT_OK;
}
