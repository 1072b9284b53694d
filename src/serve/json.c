/*
 * json.c - the buffer the API writes its answers into, and the encoders it needs: JSON
 * strings that stay valid whatever bytes come in, numbers that are never NaN or Infinity
 * (JSON has neither), base64, and PNG data URLs for the pictures.
 */
#include "serve/json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for n more bytes and a terminator. */
static bool reserve(dg_buf *b, size_t n)
{
    if (b->failed) {
        return false;
    }
    if (n < b->cap - b->n && b->cap) {
        return true;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (n >= cap - b->n) {
        if (cap > SIZE_MAX / 2) {
            b->failed = true;
            return false;
        }
        cap *= 2;
    }
    uint8_t *grown = realloc(b->data, cap);
    if (!grown) {
        b->failed = true;
        return false;
    }
    b->data = grown;
    b->cap = cap;
    return true;
}

bool dg_buf_reserve(dg_buf *b, size_t n)
{
    return reserve(b, n);
}

void dg_buf_add(dg_buf *b, const void *bytes, size_t n)
{
    if (!reserve(b, n)) {
        return;
    }
    if (n) {
        memcpy(b->data + b->n, bytes, n);
    }
    b->n += n;
    b->data[b->n] = '\0';
}

void dg_buf_puts(dg_buf *b, const char *s)
{
    dg_buf_add(b, s, strlen(s));
}

void dg_buf_printf(dg_buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if ((size_t)n < sizeof small) {
        dg_buf_add(b, small, (size_t)n);
        return;
    }
    if (!reserve(b, (size_t)n)) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->n, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)n;
}

dg_status dg_buf_status(const dg_buf *b)
{
    return b->failed ? dg_fail(DG_ERR_NOMEM, "out of memory writing an answer") : DG_OK;
}

void dg_buf_free(dg_buf *b)
{
    free(b->data);
    *b = (dg_buf){0};
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is not one: overlong
 * forms, surrogates and code points past U+10FFFF are refused. */
static int utf8_length(const unsigned char *s)
{
    unsigned c = s[0];
    int n;
    unsigned min;
    if (c < 0x80) {
        return 1;
    } else if ((c & 0xe0) == 0xc0) {
        n = 2, min = 0x80, c &= 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
        n = 3, min = 0x800, c &= 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
        n = 4, min = 0x10000, c &= 0x07;
    } else {
        return 0;
    }
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0; /* also stops at the terminator */
        }
        c = c << 6 | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        return 0;
    }
    return n;
}

void dg_json_string(dg_buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    dg_buf_add(b, "\"", 1);
    while (*p) {
        unsigned c = *p;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            dg_buf_add(b, esc, 2);
            p++;
        } else if (c < 0x20 || c == 0x7f) {
            dg_buf_printf(b, "\\u%04x", c);
            p++;
        } else {
            int n = utf8_length(p);
            if (n == 0) {
                dg_buf_puts(b, "\\ufffd");
                p++;
            } else {
                dg_buf_add(b, p, (size_t)n);
                p += n;
            }
        }
    }
    dg_buf_add(b, "\"", 1);
}

void dg_json_number(dg_buf *b, double v, int digits)
{
    if (!isfinite(v)) {
        dg_buf_puts(b, "null");
        return;
    }
    dg_buf_printf(b, "%.*g", digits < 1 ? 1 : digits > 17 ? 17 : digits, v);
}

void dg_base64(dg_buf *b, const uint8_t *data, size_t n)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (n > (SIZE_MAX - 4) / 4 * 3 || !reserve(b, (n + 2) / 3 * 4)) {
        b->failed = true;
        return;
    }
    char *out = (char *)b->data + b->n;
    size_t i = 0, o = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2];
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
        out[o++] = alphabet[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)data[i] << 16 | (i + 1 < n ? (uint32_t)data[i + 1] << 8 : 0);
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    b->n += o;
    b->data[b->n] = '\0';
}

dg_status dg_json_png(dg_buf *b, const dg_image *img)
{
    uint8_t *png;
    size_t n;
    /* Small pictures (the 28x28s) go uncompressed: setting libpng and zlib up to squeeze
     * 784 bytes into about 220 takes some 20 us of every answer, for 600 bytes of a data
     * URL that cost far less to send. Bigger ones (the heat-map) are compressed. */
    size_t n_px = img ? (size_t)img->w * (size_t)img->h * (size_t)img->channels : 0;
    dg_status st = n_px <= DG_JSON_PNG_STORED_MAX ? dg_image_encode_png_stored(img, &png, &n)
                                                  : dg_image_encode_png(img, &png, &n);
    if (st != DG_OK) {
        return st;
    }
    dg_buf_puts(b, "\"data:image/png;base64,");
    dg_base64(b, png, n);
    dg_buf_puts(b, "\"");
    free(png);
    return dg_buf_status(b);
}
