/*
 * image_png_direct.c - the common PNG, read (and written uncompressed) without libpng: 8-bit grey,
 * RGB or RGBA, not interlaced, no palette and no tRNS chunk, which is what drawing programs,
 * browsers' canvases and screenshots save. The image data is inflated in one call by libdeflate
 * (many times faster than zlib's streaming inflate on the long runs of a drawing) and the
 * rows unfiltered here. Anything else, and anything unusual or damaged about one of these
 * files, is left to libpng (image.c), whose messages and checks then apply as before; so
 * a file read here gives exactly the pixels libpng gives it.
 *
 * A PNG, byte by byte (big-endian u32s):
 *   8-byte signature 89 50 4E 47 0D 0A 1A 0A
 *   chunks: u32 length, 4-byte type, `length` bytes of data, u32 CRC-32 of type and data
 *   IHDR first (13 bytes): u32 width, u32 height, u8 bit depth, u8 colour type (0 grey,
 *        2 RGB, 3 palette, 4 grey+alpha, 6 RGBA), u8 compression 0, u8 filter method 0,
 *        u8 interlace (0 none, 1 Adam7)
 *   IDAT chunks, consecutive: together one zlib stream of the raw rows, each one filter
 *        byte (0 none, 1 sub, 2 up, 3 average, 4 Paeth) then width * channels samples
 *   IEND, and chunks after the image data, are not read (libpng does not read them either).
 * Left to libpng: other depths and colour types, interlacing, palettes (PLTE) and tRNS,
 * critical chunks other than IHDR and IDAT, a bad CRC anywhere before the end of the image
 * data, a chunk longer than libpng accepts, a zlib stream whose window is smaller than the
 * image's rows, that fails its Adler-32, leaves bytes over or gives more or fewer rows than
 * the image has.
 */
/*
 * dg_image_encode_png_stored writes the same kind of file: IHDR (8-bit grey, RGB or RGBA),
 * one IDAT holding a zlib stream (header 78 01, no preset dictionary) of stored deflate
 * blocks (a byte 0x00, or 0x01 for the last block, then u16 LEN and u16 ~LEN little-endian,
 * then LEN bytes as they are), each row filter type 0, then the Adler-32 of the rows
 * big-endian, and IEND.
 */
#include "vision/image.h"

#include <libdeflate.h>
#include <stdlib.h>
#include <string.h>

/* libpng's default limit on an ancillary chunk's length (PNG_USER_CHUNK_MALLOC_MAX). */
#define PNG_ANCILLARY_MAX 8000000u

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The image data's bytes: where the IDAT chunks are. */
typedef struct idat_span {
    const uint8_t *first; /* data of the only IDAT chunk, when there is one */
    size_t n_chunks, n_bytes;
} idat_span;

/*
 * Walks the chunks after IHDR up to the end of the image data, checking each CRC. True
 * when the file is one this reader takes (see the file comment); span then says where the
 * image data is. raw_bytes is the inflated size of the image data, for libpng's limit on
 * an IDAT chunk's length.
 */
static bool walk_chunks(const uint8_t *data, size_t n_bytes, size_t raw_bytes, idat_span *span)
{
    size_t pos = 8 + 25; /* the signature and IHDR */
    bool in_idat = false, idat_done = false;
    *span = (idat_span){0};
    while (!idat_done) {
        if (n_bytes - pos < 12) {
            return in_idat; /* the data ends after whole IDAT chunks: libpng reads no more */
        }
        uint32_t len = be32(data + pos);
        const uint8_t *type = data + pos + 4;
        if (len > 0x7fffffffu || len > n_bytes - pos - 12) {
            return false;
        }
        bool is_idat = memcmp(type, "IDAT", 4) == 0;
        if (in_idat && !is_idat) {
            break; /* the image data is over; libpng stops reading here */
        }
        if (is_idat ? len > raw_bytes : len > PNG_ANCILLARY_MAX) {
            return false;
        }
        /* critical chunks (upper-case first letter) other than IDAT: PLTE, IEND, unknown */
        bool critical = !(type[0] & 0x20);
        if ((critical && !is_idat) || !memcmp(type, "tRNS", 4)) {
            return false;
        }
        if (libdeflate_crc32(0, type, (size_t)len + 4) != be32(data + pos + 8 + len)) {
            return false;
        }
        if (is_idat) {
            in_idat = true;
            span->first = span->n_chunks == 0 ? data + pos + 8 : span->first;
            span->n_chunks++;
            span->n_bytes += len;
        }
        pos += (size_t)len + 12;
        idat_done = pos == n_bytes && in_idat;
    }
    return in_idat;
}

/* The IDAT chunks' data in one buffer: the only chunk's own bytes, or a new copy of all
 * (*owned, to free). NULL when out of memory. */
static const uint8_t *join_idat(const uint8_t *data, const idat_span *span, uint8_t **owned)
{
    *owned = NULL;
    if (span->n_chunks == 1) {
        return span->first;
    }
    uint8_t *joined = malloc(span->n_bytes ? span->n_bytes : 1);
    if (!joined) {
        return NULL;
    }
    size_t pos = (size_t)(span->first - data) - 8, done = 0;
    for (size_t k = 0; k < span->n_chunks; k++) {
        uint32_t len = be32(data + pos);
        memcpy(joined + done, data + pos + 8, len);
        done += len;
        pos += (size_t)len + 12;
    }
    *owned = joined;
    return joined;
}

static inline uint8_t paeth(int a, int b, int c)
{
    if (b == c) {
        return (uint8_t)a; /* |p - a| = |b - c| = 0: the common case on a flat row above */
    }
    int p = a + b - c;
    int pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return (uint8_t)(pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
}

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* A drawing's rows are long runs of one pixel. Their filtered bytes are then zero under
 * the sub filter, and under Paeth where the row above repeats its own left pixel too
 * (Paeth then takes the left neighbour): each pixel of such a run is the one to its left.
 * Eight pixels of bpp bytes (3 or 4) are bpp words of 8 bytes. */
static inline bool zero_octet(const uint8_t *raw, size_t bpp)
{
    uint64_t any = 0;
    for (size_t k = 0; k < bpp; k++) {
        any |= load64(raw + 8 * k);
    }
    return any == 0;
}

/* Whether the 8 pixels at prior equal the 8 before them, each its left neighbour. */
static inline bool repeats_left(const uint8_t *prior, size_t bpp)
{
    for (size_t k = 0; k < bpp; k++) {
        if (load64(prior + 8 * k) != load64(prior - bpp + 8 * k)) {
            return false;
        }
    }
    return true;
}

/* The pixel px[bpp] eight times over into run[8 * bpp]. */
static inline void repeat_pixel(uint8_t *run, const uint8_t *px, size_t bpp)
{
    for (size_t k = 0; k < 8; k++) {
        memcpy(run + k * bpp, px, bpp);
    }
}

/* The sub filter of pixels of bpp bytes (3 or 4; inlined with it a constant). The left
 * pixel is kept in variables: stored and read back, each byte would wait for the one a
 * pixel before it. Eight pixels whose filtered bytes are all zero repeat the left one. */
static inline void unfilter_sub(const uint8_t *raw, uint8_t *out, size_t n, size_t bpp)
{
    uint8_t left[4] = {0, 0, 0, 0}, run[32];
    bool run_made = false; /* run holds left eight times */
    size_t i = 0;
    for (; i + 8 * bpp <= n; i += 8 * bpp) {
        if (zero_octet(raw + i, bpp)) {
            if (!run_made) {
                repeat_pixel(run, left, bpp);
                run_made = true;
            }
            memcpy(out + i, run, 8 * bpp);
            continue;
        }
        run_made = false;
        for (size_t j = i; j < i + 8 * bpp; j += bpp) {
            for (size_t k = 0; k < bpp; k++) {
                out[j + k] = left[k] = (uint8_t)(raw[j + k] + left[k]);
            }
        }
    }
    for (; i < n; i += bpp) {
        for (size_t k = 0; k < bpp; k++) {
            out[i + k] = left[k] = (uint8_t)(raw[i + k] + left[k]);
        }
    }
}

/* The Paeth filter from the second pixel on (bpp bytes; the first pixel is done): eight
 * pixels whose filtered bytes are zero, below eight that each repeat their left one,
 * repeat the left pixel (bpp 3 or 4 only). */
static inline void unfilter_paeth(const uint8_t *raw, const uint8_t *prior, uint8_t *out, size_t n,
                                  size_t bpp)
{
    size_t i = bpp;
    for (; (bpp == 3 || bpp == 4) && i + 8 * bpp <= n; i += 8 * bpp) {
        if (zero_octet(raw + i, bpp) && repeats_left(prior + i, bpp)) {
            uint8_t run[32];
            repeat_pixel(run, out + i - bpp, bpp);
            memcpy(out + i, run, 8 * bpp);
            continue;
        }
        for (size_t j = i; j < i + 8 * bpp; j++) {
            out[j] = (uint8_t)(raw[j] + paeth(out[j - bpp], prior[j], prior[j - bpp]));
        }
    }
    for (; i < n; i++) {
        out[i] = (uint8_t)(raw[i] + paeth(out[i - bpp], prior[i], prior[i - bpp]));
    }
}

/* One row unfiltered: out[n] from the filtered raw[n] and the row above, prior[n] (zeros
 * for the first row); bpp bytes a pixel. False for an unknown filter type. The rows are
 * unfiltered where they were inflated: out may start before raw and overlap it (never
 * after it, and never prior), so every byte of raw is read before the byte of out that
 * takes its place is written: in order, or a block at a time. */
static bool unfilter_row(int filter, const uint8_t *raw, const uint8_t *prior, uint8_t *out,
                         size_t n, size_t bpp)
{
    switch (filter) {
    case 0:
        memmove(out, raw, n);
        return true;
    case 1:
        if (bpp == 3) {
            unfilter_sub(raw, out, n, 3);
            return true;
        }
        if (bpp == 4) {
            unfilter_sub(raw, out, n, 4);
            return true;
        }
        memmove(out, raw, bpp); /* may overlap raw, as above */
        for (size_t i = bpp; i < n; i++) {
            out[i] = (uint8_t)(raw[i] + out[i - bpp]);
        }
        return true;
    case 2: {
        size_t i = 0;
        for (; i + 32 <= n; i += 32) { /* blocks of a known size, which the compiler vectorises */
            uint8_t sum[32];
            for (size_t k = 0; k < 32; k++) {
                sum[k] = (uint8_t)(raw[i + k] + prior[i + k]);
            }
            memcpy(out + i, sum, 32);
        }
        for (; i < n; i++) {
            out[i] = (uint8_t)(raw[i] + prior[i]);
        }
        return true;
    }
    case 3:
        for (size_t i = 0; i < bpp; i++) {
            out[i] = (uint8_t)(raw[i] + (prior[i] >> 1));
        }
        for (size_t i = bpp; i < n; i++) {
            out[i] = (uint8_t)(raw[i] + ((out[i - bpp] + prior[i]) >> 1));
        }
        return true;
    case 4:
        for (size_t i = 0; i < bpp; i++) {
            out[i] = (uint8_t)(raw[i] + prior[i]); /* paeth(0, b, 0) is b */
        }
        if (bpp == 3) {
            unfilter_paeth(raw, prior, out, n, 3);
        } else if (bpp == 4) {
            unfilter_paeth(raw, prior, out, n, 4);
        } else {
            unfilter_paeth(raw, prior, out, n, bpp);
        }
        return true;
    default:
        return false;
    }
}

/* Inflates the image data and unfilters its rows into a new image. False when the stream
 * is not exactly the image's rows (libpng then says what is wrong). */
static bool inflate_rows(const uint8_t *z, size_t n_z, int w, int h, int channels, dg_image **out)
{
    /* zlib header: CM 8 (deflate) and the window, 2^(CINFO + 8) bytes. zlib (so libpng)
     * refuses a match further back than the window; libdeflate does not look, so a window
     * smaller than the rows (libpng's writer declares small ones for small images) is only
     * taken when no match can reach past it. */
    size_t stride = (size_t)w * (size_t)channels, raw_bytes = (stride + 1) * (size_t)h;
    if (n_z < 2 || (z[0] & 0x0f) != 8 || (z[0] >> 4 < 7 && raw_bytes > 256u << (z[0] >> 4))) {
        return false;
    }
    uint8_t *raw = malloc(raw_bytes);
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    bool ok = raw && d;
    size_t in_used = 0, out_made = 0;
    if (ok) {
        ok = libdeflate_zlib_decompress_ex(d, z, n_z, raw, raw_bytes, &in_used, &out_made) ==
                 LIBDEFLATE_SUCCESS &&
             in_used == n_z && out_made == raw_bytes;
    }
    libdeflate_free_decompressor(d);
    /* Row y goes to raw + y * stride, y + 1 bytes before its filtered samples: the rows
     * above have already left the bytes it covers, and its filter byte is behind it. */
    uint8_t *zeros = ok ? calloc(stride, 1) : NULL; /* the row above the first */
    dg_image *img = ok && zeros ? malloc(sizeof *img) : NULL;
    ok = img != NULL;
    for (int y = 0; ok && y < h; y++) {
        const uint8_t *r = raw + (size_t)y * (stride + 1);
        uint8_t *row = raw + (size_t)y * stride;
        ok = unfilter_row(r[0], r + 1, y > 0 ? row - stride : zeros, row, stride, (size_t)channels);
    }
    free(zeros);
    if (!ok) {
        free(raw);
        free(img);
        return false;
    }
    uint8_t *pixels = realloc(raw, stride * (size_t)h); /* the filter bytes' room given back */
    *img = (dg_image){.w = w, .h = h, .channels = channels, .pixels = pixels ? pixels : raw};
    *out = img;
    return true;
}

bool dg_png_decode_direct(const uint8_t *data, size_t n_bytes, dg_image **out)
{
    /* signature (checked by the caller), then IHDR: length 13 and its CRC */
    if (n_bytes < 8 + 25 || be32(data + 8) != 13 || memcmp(data + 12, "IHDR", 4) != 0 ||
        libdeflate_crc32(0, data + 12, 17) != be32(data + 29)) {
        return false;
    }
    const uint8_t *ihdr = data + 16;
    uint32_t w = be32(ihdr), h = be32(ihdr + 4);
    int depth = ihdr[8], color = ihdr[9];
    int channels = color == 0 ? 1 : color == 2 ? 3 : color == 6 ? 4 : 0;
    if (depth != 8 || channels == 0 || ihdr[10] != 0 || ihdr[11] != 0 || ihdr[12] != 0 || w == 0 ||
        h == 0 || (uint64_t)w * h > DG_IMAGE_MAX_PIXELS) {
        return false;
    }
    size_t raw_bytes = ((size_t)w * (size_t)channels + 1) * (size_t)h;
    idat_span span;
    if (!walk_chunks(data, n_bytes, raw_bytes, &span)) {
        return false;
    }
    uint8_t *owned;
    const uint8_t *z = join_idat(data, &span, &owned);
    bool ok = z && inflate_rows(z, span.n_bytes, (int)w, (int)h, channels, out);
    free(owned);
    return ok;
}

/* ---------------------------------------------------------------- writing, stored */

#define STORED_MAX 65535u /* bytes in one stored deflate block */

static uint8_t *put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return p + 4;
}

/* A chunk whose type and data are already at p + 4 (len bytes of data): its length before
 * them and its CRC after. Returns the end of the chunk. */
static uint8_t *close_chunk(uint8_t *p, uint32_t len)
{
    put_be32(p, len);
    return put_be32(p + 8 + len, (uint32_t)libdeflate_crc32(0, p + 4, (size_t)len + 4));
}

dg_status dg_image_encode_png_stored(const dg_image *img, uint8_t **data, size_t *n_bytes)
{
    *data = NULL;
    *n_bytes = 0;
    if (!img || !img->pixels || img->w <= 0 || img->h <= 0 ||
        (img->channels != 1 && img->channels != 3 && img->channels != 4)) {
        return dg_fail(DG_ERR_ARG, "PNG encoder: not a valid 1, 3 or 4 channel image");
    }
    size_t stride = (size_t)img->w * (size_t)img->channels;
    size_t raw = (stride + 1) * (size_t)img->h; /* the rows with their filter bytes */
    size_t n_blocks = raw / STORED_MAX + 1;     /* the last may be empty */
    size_t zlen = 2 + 5 * n_blocks + raw + 4;
    if (zlen > 0x7fffffffu) {
        return dg_fail(DG_ERR_TOO_LARGE, "PNG encoder: %dx%d is too large to store", img->w,
                       img->h);
    }
    uint8_t *png = malloc(8 + 25 + 12 + zlen + 12);
    if (!png) {
        return dg_fail(DG_ERR_NOMEM, "PNG encoder: out of memory");
    }
    static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
    memcpy(png, signature, 8);
    uint8_t *p = png + 8;
    memcpy(p + 4, "IHDR", 4);
    put_be32(p + 8, (uint32_t)img->w);
    put_be32(p + 12, (uint32_t)img->h);
    p[16] = 8; /* bit depth */
    p[17] = img->channels == 1 ? 0 : img->channels == 3 ? 2 : 6;
    p[18] = p[19] = p[20] = 0; /* deflate, filter method 0, not interlaced */
    p = close_chunk(p, 13);
    uint8_t *idat = p;
    memcpy(p + 4, "IDAT", 4);
    uint8_t *z = p + 8;
    *z++ = 0x78;
    *z++ = 0x01;
    /* the rows, a filter byte 0 before each, cut into blocks wherever STORED_MAX falls;
     * at is how much of the current row (its filter byte first) is written */
    uint32_t adler = 1;
    size_t left = raw, at = 0;
    int y = 0;
    for (size_t b = 0; b < n_blocks; b++) {
        uint32_t len = (uint32_t)(left < STORED_MAX ? left : STORED_MAX);
        z[0] = b + 1 == n_blocks ? 1 : 0;
        z[1] = (uint8_t)len;
        z[2] = (uint8_t)(len >> 8);
        z[3] = (uint8_t)~len;
        z[4] = (uint8_t)(~len >> 8);
        z += 5;
        uint8_t *block = z;
        for (uint32_t done = 0; done < len;) {
            size_t take = at == 0 ? 1 : stride + 1 - at;
            take = take < len - done ? take : len - done;
            if (at == 0) {
                *z = 0; /* filter: none */
            } else {
                memcpy(z, img->pixels + (size_t)y * stride + at - 1, take);
            }
            z += take;
            done += (uint32_t)take;
            at += take;
            if (at == stride + 1) {
                at = 0;
                y++;
            }
        }
        adler = libdeflate_adler32(adler, block, len);
        left -= len;
    }
    put_be32(z, adler);
    p = close_chunk(idat, (uint32_t)zlen);
    memcpy(p + 4, "IEND", 4);
    p = close_chunk(p, 0);
    *data = png;
    *n_bytes = (size_t)(p - png);
    return DG_OK;
}
