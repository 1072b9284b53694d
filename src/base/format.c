/*
 * format.c - how numbers are written wherever people read them (terminal, pictures, the
 * report): counts with a comma every three digits, confidences as a percentage with one
 * decimal, accuracies with two. One function per quantity, so that every place writes it the same
 * way.
 */
#include "digits.h"

#include <math.h>
#include <stdio.h>

const char *dg_format_count(uint64_t v, char buf[32])
{
    char digits[24];
    int n = snprintf(digits, sizeof digits, "%llu", (unsigned long long)v);
    int o = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0) {
            buf[o++] = ',';
        }
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}

const char *dg_format_percent(double share, char buf[16])
{
    if (!isfinite(share)) {
        snprintf(buf, 16, "-");
        return buf;
    }
    share = share < 0.0 ? 0.0 : (share > 1.0 ? 1.0 : share);
    snprintf(buf, 16, "%.1f%%", 100.0 * share);
    return buf;
}

const char *dg_format_accuracy(double accuracy, char buf[16])
{
    if (!isfinite(accuracy)) {
        snprintf(buf, 16, "-");
        return buf;
    }
    accuracy = accuracy < 0.0 ? 0.0 : (accuracy > 1.0 ? 1.0 : accuracy);
    snprintf(buf, 16, "%.2f%%", 100.0 * accuracy);
    return buf;
}
