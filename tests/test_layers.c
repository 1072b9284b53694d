/*
 * test_layers.c - the registry of layer kinds against the files of src/nn/layers/: every
 * file's kind has its row, ids are unique and dense, names unique, and every kind's spec
 * words parse and print back the same. The Makefile lists the files in layer_files.h,
 * one X(file) each; a file without dg_<file>_ops fails to link.
 */
#include "nn/net.h"
#include "test.h"

#include <string.h>

#define X(file) extern const dg_layer_ops dg_##file##_ops;
#include "layer_files.h"
#undef X

typedef struct layer_file {
    const char *file;
    const dg_layer_ops *ops;
} layer_file;

static const layer_file layer_files[] = {
#define X(file) {#file, &dg_##file##_ops},
#include "layer_files.h"
#undef X
};

#define N_FILES (int)(sizeof layer_files / sizeof layer_files[0])

static int registry_count(void)
{
    int n = 0;
    while (dg_layer_registry[n]) {
        n++;
    }
    return n;
}

DG_TEST(layers_every_file_has_a_registry_row)
{
    for (int f = 0; f < N_FILES; f++) {
        int rows = 0;
        for (int i = 0; dg_layer_registry[i]; i++) {
            rows += dg_layer_registry[i] == layer_files[f].ops;
        }
        CHECK_MSG(rows == 1, "src/nn/layers/%s.c: dg_%s_ops has %d rows in registry.c (want 1)",
                  layer_files[f].file, layer_files[f].file, rows);
    }
    CHECK_MSG(registry_count() == N_FILES, "%d registry rows for %d layer files", registry_count(),
              N_FILES);
}

DG_TEST(layers_ids_unique_and_dense)
{
    int n = registry_count();
    CHECK(n >= 1 && n < 64);
    bool seen[64] = {false};
    for (int i = 0; i < n; i++) {
        const dg_layer_ops *ops = dg_layer_registry[i];
        CHECK_MSG(ops->id >= 1 && ops->id <= n, "'%s': id %d outside 1..%d", ops->name, ops->id, n);
        CHECK_MSG(!seen[ops->id], "'%s': id %d used twice", ops->name, ops->id);
        seen[ops->id] = true;
        for (int j = 0; j < i; j++) {
            CHECK_MSG(strcmp(ops->name, dg_layer_registry[j]->name), "name '%s' used twice",
                      ops->name);
        }
    }
}

/* The example (or the bare name) read by the kind's parse gives the same text back. */
DG_TEST(layers_names_parse_and_print_back)
{
    for (int i = 0; dg_layer_registry[i]; i++) {
        const dg_layer_ops *ops = dg_layer_registry[i];
        CHECK_MSG(dg_layer_find(ops->name) == ops, "'%s' not found by name", ops->name);
        const char *want = ops->name;
        if (ops->parse) {
            CHECK_MSG(ops->usage && ops->example, "'%s': parse without usage or example",
                      ops->name);
            want = ops->example;
        }
        char text[64], desc[64];
        snprintf(text, sizeof text, "%s", want);
        dg_layer l;
        CHECK_OK(dg_spec_parse_layer(text, false, &l));
        CHECK_MSG(l.ops == ops, "'%s' parsed as '%s'", want, l.ops->name);
        dg_spec_describe(&l, desc, sizeof desc);
        CHECK_MSG(!strcmp(desc, want), "'%s' printed back as '%s'", want, desc);
    }
}

/* The message of an unknown layer lists every kind, in registry order. */
DG_TEST(layers_unknown_kind_lists_the_registry)
{
    char text[] = "nonesuch 3", want[512] = "spec: unknown layer 'nonesuch' (known: ";
    for (int i = 0; dg_layer_registry[i]; i++) {
        strcat(want, i ? ", " : "");
        strcat(want, dg_layer_registry[i]->name);
    }
    strcat(want, ")");
    dg_layer l;
    CHECK_STATUS(dg_spec_parse_layer(text, false, &l), DG_ERR_ARG);
    CHECK_MSG(!strcmp(dg_last_error(), want), "got \"%s\"", dg_last_error());
}
