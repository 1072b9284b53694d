/*
 * pb.h - the protobuf wire format, as much of it as ONNX files need: a reader that walks
 * the fields of one message in a byte buffer without copying, and a writer that builds
 * messages in a growing buffer.
 *
 * A message is a sequence of fields, each a key then a value. The key is a varint:
 * field number << 3 | wire type. Wire types: 0 varint (1..10 bytes, 7 bits each, least
 * significant group first, high bit set on every byte but the last), 1 fixed64 (8 bytes
 * little-endian), 2 length-delimited (a varint byte count, then that many bytes: strings,
 * bytes, nested messages, packed repeated numbers), 5 fixed32 (4 bytes little-endian).
 * Wire types 3 and 4 (groups) and 6, 7 do not occur in ONNX and are refused.
 */
#ifndef DG_PB_H
#define DG_PB_H

#include "digits.h"

/* A slice of the input buffer: a string, bytes or a nested message. Not terminated. */
typedef struct dg_pb_bytes {
    const uint8_t *p;
    size_t n;
} dg_pb_bytes;

/* Cursor over one message's bytes. */
typedef struct dg_pb_reader {
    const uint8_t *p;
    size_t n, pos;
} dg_pb_reader;

enum { DG_PB_VARINT = 0, DG_PB_FIXED64 = 1, DG_PB_LEN = 2, DG_PB_FIXED32 = 5 };

/* One field as read: its number and wire type, the number for VARINT, FIXED64 and
 * FIXED32 (in v), the bytes for LEN (in bytes, which lie inside the reader's buffer). */
typedef struct dg_pb_field {
    uint32_t number;
    int wire;
    uint64_t v;
    dg_pb_bytes bytes;
} dg_pb_field;

static inline dg_pb_reader dg_pb_reader_of(dg_pb_bytes b)
{
    dg_pb_reader r = {b.p, b.n, 0};
    return r;
}

/*
 * Reads the next field into *f. Returns 1 for a field, 0 at the end of the message, and
 * on malformed bytes minus the status (-DG_ERR_FORMAT or -DG_ERR_TRUNCATED), with the
 * message of dg_fail naming what and where: a varint longer than 10 bytes, a field number 0 or
 * above 2^29 - 1, a wire type ONNX does not use, or a value or length that runs past the end of the
 * message.
 */
int dg_pb_next(dg_pb_reader *r, dg_pb_field *f);

/* Reads one varint of a packed repeated field. Same returns as dg_pb_next. */
int dg_pb_next_varint(dg_pb_reader *r, uint64_t *v);

/* Whether a slice equals the C string s; whether two slices hold the same bytes. */
bool dg_pb_eq(dg_pb_bytes b, const char *s);
bool dg_pb_same(dg_pb_bytes a, dg_pb_bytes b);

/* ------------------------------------------------------------------ writing */

/* A growing output buffer. After a failed allocation every call does nothing and
 * failed stays set: check it once at the end. */
typedef struct dg_pb_writer {
    uint8_t *data;
    size_t n, cap;
    bool failed;
} dg_pb_writer;

void dg_pb_put_varint(dg_pb_writer *w, uint32_t number, uint64_t v);
void dg_pb_put_fixed32(dg_pb_writer *w, uint32_t number, uint32_t v);
void dg_pb_put_bytes(dg_pb_writer *w, uint32_t number, const void *bytes, size_t n);
void dg_pb_put_string(dg_pb_writer *w, uint32_t number, const char *s);
/* Bytes as they are: the contents of a length-delimited field opened by dg_pb_begin. */
void dg_pb_put_raw(dg_pb_writer *w, const void *bytes, size_t n);
/* A nested message: dg_pb_begin writes its key and returns where its contents start;
 * the caller writes the fields, then dg_pb_end puts the length in front of them. */
size_t dg_pb_begin(dg_pb_writer *w, uint32_t number);
void dg_pb_end(dg_pb_writer *w, size_t start);
void dg_pb_writer_free(dg_pb_writer *w);

#endif
