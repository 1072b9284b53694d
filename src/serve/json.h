/*
 * json.h - private to serve/: a growing byte buffer and the JSON, base64 and data-URL
 * writers the API's answers are made of. Writing never fails half-way silently: the first
 * allocation failure marks the buffer, later writes do nothing, and dg_buf_status says so.
 */
#ifndef DG_SERVE_JSON_H
#define DG_SERVE_JSON_H

#include "digits.h"

typedef struct dg_buf {
    uint8_t *data; /* [cap], n used; NUL-terminated when n < cap */
    size_t n, cap;
    bool failed; /* an allocation failed: the contents are incomplete */
} dg_buf;

/* Makes room for n more bytes at once, so that an answer of about known size is written
 * without growing the buffer on the way; false when there is no memory (then marked). */
bool dg_buf_reserve(dg_buf *b, size_t n);
/* Appends n bytes. */
void dg_buf_add(dg_buf *b, const void *bytes, size_t n);
/* Appends a C string as it is. */
void dg_buf_puts(dg_buf *b, const char *s);
/* Appends printf-style text. */
void dg_buf_printf(dg_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* DG_ERR_NOMEM when any write failed, else DG_OK. */
dg_status dg_buf_status(const dg_buf *b);
/* Frees the contents; the buffer is empty again. */
void dg_buf_free(dg_buf *b);

/* A JSON string of s, quoted: ", \ and control characters escaped, bytes that are not
 * UTF-8 replaced by U+FFFD, so that the output is always valid JSON. */
void dg_json_string(dg_buf *b, const char *s);
/* A JSON number with up to `digits` significant digits, or null when v is not finite. */
void dg_json_number(dg_buf *b, double v, int digits);
/* Standard base64 (RFC 4648, with padding) of n bytes. */
void dg_base64(dg_buf *b, const uint8_t *data, size_t n);
/* img as a JSON string holding a PNG data URL, "data:image/png;base64,...": stored
 * without compression when it holds at most DG_JSON_PNG_STORED_MAX bytes of pixels. */
#define DG_JSON_PNG_STORED_MAX 4096
dg_status dg_json_png(dg_buf *b, const dg_image *img);

#endif
