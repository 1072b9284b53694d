/*
 * test_format.c - numbers as people read them: counts with thousands separators,
 * confidences with one decimal, accuracies with two, the same everywhere.
 */
#include "test.h"

#include <string.h>

DG_TEST(format_numbers)
{
    char b[32], p[16];
    CHECK(!strcmp(dg_format_count(0, b), "0"));
    CHECK(!strcmp(dg_format_count(999, b), "999"));
    CHECK(!strcmp(dg_format_count(1000, b), "1,000"));
    CHECK(!strcmp(dg_format_count(121930, b), "121,930"));
    CHECK(!strcmp(dg_format_count(1234567, b), "1,234,567"));
    CHECK(!strcmp(dg_format_count(UINT64_MAX, b), "18,446,744,073,709,551,615"));
    CHECK(!strcmp(dg_format_percent(0.99274, p), "99.3%"));
    CHECK(!strcmp(dg_format_percent(0.9999, p), "100.0%"));
    CHECK(!strcmp(dg_format_percent(0.0004, p), "0.0%"));
    CHECK(!strcmp(dg_format_percent(1.5, p), "100.0%"));
    CHECK(!strcmp(dg_format_percent(-0.5, p), "0.0%"));
    CHECK(!strcmp(dg_format_percent(NAN, p), "-"));
    CHECK(!strcmp(dg_format_accuracy(0.99134, p), "99.13%"));
    CHECK(!strcmp(dg_format_accuracy(INFINITY, p), "-"));
}

/* Shapes are written one way, Keras's: (None, H, W, C), then (None, N) once flat. */
DG_TEST(format_shapes)
{
    dg_net *net = NULL;
    CHECK_OK(
        dg_net_new("conv 4 3 relu, maxpool 2, flatten, dense 10", (dg_shape){1, 28, 28}, &net));
    char s[64], in[64], flat[64], last[64];
    dg_net_shape_text(net, 0, s, sizeof s);
    dg_net_shape_text(net, -1, in, sizeof in);
    dg_net_shape_text(net, 2, flat, sizeof flat);
    dg_net_shape_text(net, 3, last, sizeof last);
    dg_net_free(net);
    CHECK(!strcmp(s, "(None, 26, 26, 4)"));
    CHECK(!strcmp(in, "(None, 28, 28, 1)"));
    CHECK(!strcmp(flat, "(None, 676)"));
    CHECK(!strcmp(last, "(None, 10)"));
}
