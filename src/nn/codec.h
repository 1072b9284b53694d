/*
 * codec.h - what the model file (model_io.c) and the training checkpoint (checkpoint.c)
 * share: both are a 24-byte header (8-byte magic, u32 version, u32 byte-order mark, u64
 * file size), sections (4-byte tag, u64 payload length, payload) and a CRC-32 trailer,
 * every number little-endian (docs/model-format.md).
 */
#ifndef DG_NN_CODEC_H
#define DG_NN_CODEC_H

#include "digits.h"

#define DG_FILE_HEADER_BYTES  24u
#define DG_SECTION_HEAD_BYTES 12u /* tag + u64 length */
#define DG_FILE_TRAILER_BYTES 4u
#define DG_BYTE_ORDER_MARK    0x01020304u
#define DG_MAX_SECTIONS       16

/* Output cursor. With data == NULL it only counts, so the same encoder first measures the
 * file and then fills a buffer of exactly that size (cap). */
typedef struct dg_writer {
    uint8_t *data;
    size_t pos, cap;
} dg_writer;

void dg_put_bytes(dg_writer *w, const void *src, size_t n);
void dg_put_u32(dg_writer *w, uint32_t v);
void dg_put_u64(dg_writer *w, uint64_t v);
void dg_put_f32(dg_writer *w, float f);
void dg_put_f64(dg_writer *w, double f);
/* u32 byte count, then the bytes */
void dg_put_string(dg_writer *w, const char *s, size_t n);
/* Stores a u64 at an earlier position (a length known only after what it counts). */
void dg_patch_u64(dg_writer *w, size_t at, uint64_t v);
/* Starts a section with a 4-byte tag; returns where its length goes, for dg_end_section. */
size_t dg_begin_section(dg_writer *w, const char *tag);
void dg_end_section(dg_writer *w, size_t at);

/* The zlib/PNG CRC-32 of data[n]. */
uint32_t dg_crc32(const uint8_t *data, size_t n);
/* The CRC-32 of what gave crc followed by data[n]. */
uint32_t dg_crc32_more(uint32_t crc, const uint8_t *data, size_t n);
uint32_t dg_le32(const uint8_t *b);
uint64_t dg_le64(const uint8_t *b);
/* No byte below 0x20 and no 0x7F: names are printed on terminals as they are. */
bool dg_printable(const char *s, size_t n);

/* Input cursor over one section's payload; `what` names the section in messages. */
typedef struct dg_reader {
    const uint8_t *p;
    size_t n, pos;
    const char *path;
    const char *what;
} dg_reader;

/* DG_ERR_TRUNCATED: field needs `need` bytes, fewer are left. */
dg_status dg_runs_past(const dg_reader *r, const char *field, uint64_t need);
/* Each checks the bytes left first (DG_ERR_TRUNCATED, naming the field). */
dg_status dg_get_bytes(dg_reader *r, size_t n, const char *field, const uint8_t **out);
dg_status dg_get_u32(dg_reader *r, const char *field, uint32_t *v);
dg_status dg_get_u64(dg_reader *r, const char *field, uint64_t *v);
dg_status dg_get_f32(dg_reader *r, const char *field, float *v);
dg_status dg_get_f64(dg_reader *r, const char *field, double *v);
/* A string of lo..hi printable bytes into dst[hi + 1], NUL-terminated. */
dg_status dg_get_string(dg_reader *r, const char *field, size_t lo, size_t hi, char *dst);
/* DG_ERR_FORMAT when the payload has bytes left over. */
dg_status dg_end_of_payload(const dg_reader *r);

/* A tag for messages: as text when it is printable ASCII, else in hex. */
void dg_tag_text(const uint8_t *t, char out[16]);

/* Where the sections of a checked file are; payloads point into the file's bytes. */
typedef struct dg_sections {
    const uint8_t *payload[DG_MAX_SECTIONS];
    size_t len[DG_MAX_SECTIONS];
} dg_sections;

/* Walks the sections of a file whose header, size and CRC were checked (n >= 28): each of
 * the n_tags tags at most once, in any order, and exactly once unless it starts with a
 * lowercase letter (optional; its payload NULL when absent); an unknown tag starting with
 * a lowercase letter is skipped, any other is DG_ERR_UNSUPPORTED. */
dg_status dg_find_sections(const char *path, const uint8_t *d, size_t n, const char (*tags)[5],
                           int n_tags, dg_sections *s);

/* The optional section both file kinds share: "prec", a u32 payload, the precision of the
 * training products (1 bf16). Written only for bf16, so that fp32 files keep the bytes of
 * builds that never knew it; a missing section reads as fp32. */
#define DG_PRECISION_TAG "prec"
void dg_put_precision(dg_writer *w, dg_precision p);
/* From the section's payload[n] (NULL when absent); DG_ERR_FORMAT for another length or
 * value. */
dg_status dg_read_precision(const char *path, const uint8_t *payload, size_t n, dg_precision *out);

/* The first 8 bytes of a training checkpoint (checkpoint.c); model files start "\x89DGM". */
extern const uint8_t dg_checkpoint_magic[8];

/* ---------------------------------------------------------------- model file images */

/* The bytes of the model file dg_model_save would write (checked the same way; messages
 * name path), in a new buffer *out of *n_out bytes that the caller frees. model_io.c. */
dg_status dg_model_encode(const char *path, const dg_net *net, const dg_model_meta *meta,
                          uint8_t **out, size_t *n_out);
/* Checks and reads a model file image d[n] as dg_model_load does (same statuses). */
dg_status dg_model_decode(const char *path, const uint8_t *d, size_t n, dg_net **net,
                          dg_model_meta *meta);

#endif
