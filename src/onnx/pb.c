/*
 * pb.c - protobuf wire format (pb.h): fields read in place, every length compared with the
 * bytes left before it is used; messages written into a growing buffer, each nested
 * message's length put in front of its contents once they are known.
 */
#include "onnx/pb.h"

#include <stdlib.h>
#include <string.h>

#define MAX_FIELD_NUMBER ((1u << 29) - 1)

/* Reads a varint at r->pos; 1 on success, minus the status (with a message) past the end
 * or when it is longer than 10 bytes. */
static int read_varint(dg_pb_reader *r, uint64_t *v)
{
    uint64_t x = 0;
    size_t start = r->pos;
    for (int i = 0; i < 10; i++) {
        if (r->pos >= r->n) {
            return -(int)dg_fail(DG_ERR_TRUNCATED,
                                 "varint at byte %zu runs past the end of its message", start);
        }
        uint8_t b = r->p[r->pos++];
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = x;
            return 1;
        }
    }
    return -(int)dg_fail(DG_ERR_FORMAT, "varint at byte %zu longer than 10 bytes", start);
}

static uint64_t load_le(const uint8_t *b, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) {
        v |= (uint64_t)b[i] << (8 * i);
    }
    return v;
}

int dg_pb_next(dg_pb_reader *r, dg_pb_field *f)
{
    memset(f, 0, sizeof *f);
    if (r->pos >= r->n) {
        return 0;
    }
    size_t at = r->pos;
    uint64_t key;
    int got = read_varint(r, &key);
    if (got < 0) {
        return got;
    }
    uint64_t number = key >> 3;
    if (number == 0 || number > MAX_FIELD_NUMBER) {
        return -(int)dg_fail(DG_ERR_FORMAT, "field number %llu at byte %zu (want 1..%u)",
                             (unsigned long long)number, at, MAX_FIELD_NUMBER);
    }
    f->number = (uint32_t)number;
    f->wire = (int)(key & 7);
    size_t left;
    switch (f->wire) {
    case DG_PB_VARINT:
        return read_varint(r, &f->v);
    case DG_PB_FIXED64:
    case DG_PB_FIXED32: {
        int size = f->wire == DG_PB_FIXED64 ? 8 : 4;
        if ((size_t)size > r->n - r->pos) {
            return -(int)dg_fail(DG_ERR_TRUNCATED,
                                 "field %u at byte %zu: %d-byte value runs past the end", f->number,
                                 at, size);
        }
        f->v = load_le(r->p + r->pos, size);
        r->pos += (size_t)size;
        return 1;
    }
    case DG_PB_LEN:
        got = read_varint(r, &f->v);
        if (got < 0) {
            return got;
        }
        left = r->n - r->pos;
        if (f->v > left) {
            return -(int)dg_fail(DG_ERR_TRUNCATED,
                                 "field %u at byte %zu: length %llu runs past the %zu bytes left",
                                 f->number, at, (unsigned long long)f->v, left);
        }
        f->bytes.p = r->p + r->pos;
        f->bytes.n = (size_t)f->v;
        r->pos += (size_t)f->v;
        return 1;
    default:
        return -(int)dg_fail(DG_ERR_FORMAT, "field %u at byte %zu: wire type %d (not used by ONNX)",
                             f->number, at, f->wire);
    }
}

int dg_pb_next_varint(dg_pb_reader *r, uint64_t *v)
{
    if (r->pos >= r->n) {
        return 0;
    }
    return read_varint(r, v);
}

bool dg_pb_eq(dg_pb_bytes b, const char *s)
{
    size_t n = strlen(s);
    return b.n == n && (n == 0 || memcmp(b.p, s, n) == 0);
}

bool dg_pb_same(dg_pb_bytes a, dg_pb_bytes b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

/* ------------------------------------------------------------------ writing */

static bool reserve(dg_pb_writer *w, size_t more)
{
    if (w->failed) {
        return false;
    }
    if (more <= w->cap - w->n) {
        return true;
    }
    size_t cap = w->cap ? w->cap : 4096;
    while (cap - w->n < more) {
        if (cap > SIZE_MAX / 2) {
            w->failed = true;
            return false;
        }
        cap *= 2;
    }
    uint8_t *grown = realloc(w->data, cap);
    if (!grown) {
        w->failed = true;
        return false;
    }
    w->data = grown;
    w->cap = cap;
    return true;
}

/* The bytes of v as a varint into b[10]; returns how many. */
static size_t encode_varint(uint64_t v, uint8_t *b)
{
    size_t n = 0;
    while (v >= 0x80) {
        b[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    b[n++] = (uint8_t)v;
    return n;
}

void dg_pb_put_raw(dg_pb_writer *w, const void *bytes, size_t n)
{
    if (n && reserve(w, n)) {
        memcpy(w->data + w->n, bytes, n);
        w->n += n;
    }
}

static void put_raw_varint(dg_pb_writer *w, uint64_t v)
{
    uint8_t b[10];
    dg_pb_put_raw(w, b, encode_varint(v, b));
}

static void put_key(dg_pb_writer *w, uint32_t number, int wire)
{
    put_raw_varint(w, (uint64_t)number << 3 | (uint64_t)wire);
}

void dg_pb_put_varint(dg_pb_writer *w, uint32_t number, uint64_t v)
{
    put_key(w, number, DG_PB_VARINT);
    put_raw_varint(w, v);
}

void dg_pb_put_fixed32(dg_pb_writer *w, uint32_t number, uint32_t v)
{
    uint8_t b[4];
    for (int i = 0; i < 4; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
    put_key(w, number, DG_PB_FIXED32);
    dg_pb_put_raw(w, b, 4);
}

void dg_pb_put_bytes(dg_pb_writer *w, uint32_t number, const void *bytes, size_t n)
{
    put_key(w, number, DG_PB_LEN);
    put_raw_varint(w, n);
    dg_pb_put_raw(w, bytes, n);
}

void dg_pb_put_string(dg_pb_writer *w, uint32_t number, const char *s)
{
    dg_pb_put_bytes(w, number, s, strlen(s));
}

size_t dg_pb_begin(dg_pb_writer *w, uint32_t number)
{
    put_key(w, number, DG_PB_LEN);
    return w->n;
}

void dg_pb_end(dg_pb_writer *w, size_t start)
{
    if (w->failed) {
        return;
    }
    uint8_t b[10];
    size_t k = encode_varint(w->n - start, b);
    if (!reserve(w, k)) {
        return;
    }
    memmove(w->data + start + k, w->data + start, w->n - start);
    memcpy(w->data + start, b, k);
    w->n += k;
}

void dg_pb_writer_free(dg_pb_writer *w)
{
    free(w->data);
    memset(w, 0, sizeof *w);
}
