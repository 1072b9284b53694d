/*
 * spec.c - spec text: "conv 32 3 relu, maxpool 2, flatten, dense 10" cut at its commas,
 * each layer's words read by its kind's parse (nn/layers/), and the canonical text
 * written back by each kind's describe. Which words a kind takes is the kind's business:
 * this file knows only the layer name in front, "softmax" after the last layer, and the
 * helpers the kinds share.
 */
#include "nn/net.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORDS 8

bool dg_spec_int(const char *word, int *out)
{
    char *end;
    long v = strtol(word, &end, 10);
    if (end == word || *end != '\0' || v < -1000000 || v > 1000000) {
        return false;
    }
    *out = (int)v;
    return true;
}

bool dg_spec_kernel(const char *word, int *out)
{
    char buf[32];
    if (strlen(word) >= sizeof buf) {
        return false;
    }
    snprintf(buf, sizeof buf, "%s", word);
    char *x = strchr(buf, 'x');
    if (!x) {
        return dg_spec_int(buf, out);
    }
    *x = '\0';
    int a, b;
    if (!dg_spec_int(buf, &a) || !dg_spec_int(x + 1, &b) || a != b) {
        return false;
    }
    *out = a;
    return true;
}

int dg_spec_take_relu(dg_layer *l, char **words, int n)
{
    if (n > 0 && !strcmp(words[n - 1], "relu")) {
        l->relu = true;
        return n - 1;
    }
    return n;
}

dg_status dg_spec_split(char *text, char **parts, int max, int *n)
{
    *n = 0;
    for (char *p = text;; p++) {
        if (*n == max) {
            return dg_fail(DG_ERR_ARG, "spec: more than %d layers", max);
        }
        parts[(*n)++] = p;
        p = strchr(p, ',');
        if (!p) {
            return DG_OK;
        }
        *p = '\0';
    }
}

/* Splits one layer's text into whitespace-separated words (in place); -1 past max. */
static int split_words(char *text, char **words, int max)
{
    int n = 0;
    char *p = text;
    while (*p) {
        while (isspace((unsigned char)*p)) {
            p++;
        }
        if (!*p) {
            break;
        }
        if (n == max) {
            return -1;
        }
        words[n++] = p;
        while (*p && !isspace((unsigned char)*p)) {
            p++;
        }
        if (*p) {
            *p++ = '\0';
        }
    }
    return n;
}

/* "spec: unknown layer 'x' (known: conv, maxpool, ...)", the names from the registry. */
static dg_status unknown_layer(const char *word)
{
    char known[256] = "";
    size_t used = 0;
    for (int i = 0; dg_layer_registry[i] && used < sizeof known; i++) {
        used += (size_t)snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "",
                                 dg_layer_registry[i]->name);
    }
    return dg_fail(DG_ERR_ARG, "spec: unknown layer '%s' (known: %s)", word, known);
}

dg_status dg_spec_parse_layer(char *text, bool is_last, dg_layer *l)
{
    char *words[MAX_WORDS];
    int n = split_words(text, words, MAX_WORDS);
    if (n <= 0) {
        return dg_fail(DG_ERR_ARG, "spec: empty layer (two commas in a row?)");
    }
    for (int i = 0; i < n; i++) {
        for (char *c = words[i]; *c; c++) {
            *c = (char)tolower((unsigned char)*c);
        }
    }
    /* "softmax" after the last layer is what the net applies anyway */
    if (is_last && n > 1 && !strcmp(words[n - 1], "softmax")) {
        n--;
    }
    const dg_layer_ops *ops = dg_layer_find(words[0]);
    if (!ops) {
        return unknown_layer(words[0]);
    }
    memset(l, 0, sizeof *l);
    l->ops = ops;
    if (!ops->parse) {
        return n == 1 ? DG_OK : dg_fail(DG_ERR_ARG, "spec: '%s' takes no arguments", ops->name);
    }
    if (!ops->parse(l, words + 1, n - 1)) {
        return dg_fail(DG_ERR_ARG, "spec: want '%s %s', e.g. '%s'", ops->name, ops->usage,
                       ops->example);
    }
    return DG_OK;
}

void dg_spec_describe(const dg_layer *l, char *buf, size_t size)
{
    if (l->ops->describe) {
        l->ops->describe(l, buf, size);
    } else {
        snprintf(buf, size, "%s", l->ops->name);
    }
}

bool dg_spec_append(char *canon, size_t size, size_t *used, const dg_layer *l)
{
    char desc[64];
    dg_spec_describe(l, desc, sizeof desc);
    *used += (size_t)snprintf(canon + *used, size - *used, "%s%s", *used ? ", " : "", desc);
    return *used < size;
}
