/*
 * image_pnm_bmp.c - the image formats read without a library, byte by byte from memory:
 * Netpbm grey and colour maps (PGM/PPM: P2, P3, P5, P6) and Windows bitmaps (BMP), for
 * dg_image_load (image.c, which says what each reader returns). Sizes are checked against
 * the limits and against what the data can hold before the pixels are allocated; every
 * message starts with the file's name.
 */
#include "vision/image.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- PGM/PPM */

/*
 * Netpbm grey and colour maps:
 *   "P2" or "P5" (grey), "P3" or "P6" (RGB), then width, height and maxval as ASCII
 *   decimals separated by whitespace, where '#' starts a comment running to the line end.
 *   P2/P3: the samples follow as ASCII decimals. P5/P6: exactly one whitespace byte after
 *   maxval, then the samples in binary, one byte each when maxval < 256, else two bytes
 *   big-endian. Samples are 0..maxval, scaled here to 0..255.
 */
typedef struct pnm_reader {
    const uint8_t *p;
    size_t n, pos;
} pnm_reader;

static int pnm_is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Skips whitespace and comments; then reads an unsigned decimal. Returns 1 on success,
 * 0 at the end of data, -1 on a non-digit or a value above 4e9. */
static int pnm_number(pnm_reader *r, uint32_t *out)
{
    for (;;) {
        while (r->pos < r->n && pnm_is_space(r->p[r->pos])) {
            r->pos++;
        }
        if (r->pos < r->n && r->p[r->pos] == '#') {
            while (r->pos < r->n && r->p[r->pos] != '\n' && r->p[r->pos] != '\r') {
                r->pos++;
            }
            continue;
        }
        break;
    }
    if (r->pos >= r->n) {
        return 0;
    }
    if (r->p[r->pos] < '0' || r->p[r->pos] > '9') {
        return -1;
    }
    uint64_t v = 0;
    while (r->pos < r->n && r->p[r->pos] >= '0' && r->p[r->pos] <= '9') {
        v = v * 10 + (uint64_t)(r->p[r->pos] - '0');
        if (v > 4000000000u) {
            return -1;
        }
        r->pos++;
    }
    if (r->pos < r->n && !pnm_is_space(r->p[r->pos]) && r->p[r->pos] != '#') {
        return -1;
    }
    *out = (uint32_t)v;
    return 1;
}

dg_status dg_pnm_decode(const uint8_t *data, size_t n_bytes, const char *name, dg_image **out)
{
    char kind = (char)data[1];
    int binary = kind == '5' || kind == '6';
    int channels = kind == '3' || kind == '6' ? 3 : 1;
    pnm_reader r = {data, n_bytes, 2};
    static const char *const field[3] = {"width", "height", "maxval"};
    uint32_t v[3];
    for (int i = 0; i < 3; i++) {
        int got = pnm_number(&r, &v[i]);
        if (got == 0) {
            return dg_fail(DG_ERR_TRUNCATED, "%s: truncated P%c header (no %s)", name, kind,
                           field[i]);
        }
        if (got < 0) {
            return dg_fail(DG_ERR_FORMAT, "%s: bad %s in P%c header", name, field[i], kind);
        }
    }
    uint32_t w = v[0], h = v[1], maxval = v[2];
    dg_status st = dg_image_check_size(name, "PGM/PPM", w, h);
    if (st != DG_OK) {
        return st;
    }
    if (maxval == 0 || maxval > 65535) {
        return dg_fail(DG_ERR_FORMAT, "%s: maxval %u (want 1..65535)", name, maxval);
    }
    size_t n_samples = (size_t)w * h * (size_t)channels;
    size_t sample_bytes = maxval > 255 ? 2 : 1;
    if (binary) {
        r.pos++; /* the single whitespace byte after maxval (pnm_number stopped on it) */
        if (r.pos > n_bytes || n_bytes - r.pos < n_samples * sample_bytes) {
            return dg_fail(DG_ERR_TRUNCATED, "%s: truncated P%c: %ux%u needs %zu bytes of samples",
                           name, kind, w, h, n_samples * sample_bytes);
        }
    } else if (n_bytes - r.pos < 2 * n_samples - 1) {
        /* every ASCII sample takes a digit and a separator */
        return dg_fail(DG_ERR_TRUNCATED, "%s: truncated P%c: too short for %ux%u samples", name,
                       kind, w, h);
    }
    dg_image *img;
    st = dg_image_new_named(name, (int)w, (int)h, channels, &img);
    if (st != DG_OK) {
        return st;
    }
    uint8_t *px = img->pixels;
    for (size_t i = 0; i < n_samples; i++) {
        uint32_t s;
        if (binary) {
            const uint8_t *b = data + r.pos + i * sample_bytes;
            s = sample_bytes == 2 ? (uint32_t)b[0] << 8 | b[1] : b[0];
            if (s > maxval) {
                s = maxval; /* out of range: read as full scale rather than fail */
            }
        } else {
            int got = pnm_number(&r, &s);
            if (got <= 0 || s > maxval) {
                dg_image_free(img);
                if (got == 0) {
                    return dg_fail(DG_ERR_TRUNCATED, "%s: truncated P%c: %zu of %zu samples", name,
                                   kind, i, n_samples);
                }
                return dg_fail(DG_ERR_FORMAT, "%s: bad sample %zu in P%c data", name, i, kind);
            }
        }
        px[i] = (uint8_t)((s * 255u + maxval / 2) / maxval);
    }
    *out = img;
    return DG_OK;
}

/* ---------------------------------------------------------------- BMP */

/*
 * Windows bitmaps, all fields little-endian:
 *   file header, 14 bytes: "BM", u32 file size, u32 reserved, u32 offset of the pixels
 *   DIB header: u32 its size, then for the 12-byte core header i16 width, i16 height,
 *   u16 planes, u16 bits per pixel; for the 40-byte info header and its longer versions
 *   (52, 56, 108, 124) i32 width, i32 height (negative: rows stored top-down), u16 planes,
 *   u16 bits, u32 compression (0 plain, 3 bit fields), u32 image size, 2 x i32
 *   resolution, u32 colours used (0: all 2^bits), u32 important colours; at byte 40 the
 *   red, green, blue (and from 56 bytes on, alpha) masks of bit-field images, which a
 *   40-byte header instead stores right after itself.
 *   The palette (for 1, 4, 8 bits) follows the DIB header: 4 bytes B, G, R, 0 each
 *   (3 bytes for the core header). Rows are padded to 4 bytes and stored bottom-up
 *   unless the height is negative.
 */
static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static unsigned le16(const uint8_t *p)
{
    return (unsigned)p[0] | (unsigned)p[1] << 8;
}

/* The 8-bit value of the bits of v under mask (0 when the mask is empty). */
static uint8_t bmp_masked(uint32_t v, uint32_t mask)
{
    if (!mask) {
        return 0;
    }
    int shift = 0;
    while (!(mask & 1u)) {
        mask >>= 1;
        shift++;
    }
    uint32_t bits = (v >> shift) & mask;
    return (uint8_t)((uint64_t)bits * 255u / mask);
}

/* What the headers say about a bitmap's pixels. */
typedef struct bmp_header {
    uint32_t offset; /* of the pixels in the file */
    uint32_t dib;    /* DIB header size */
    int64_t w, h;    /* h > 0; top_down says the order of the rows */
    int top_down;
    unsigned bits;
    uint32_t compression, n_colours;
    uint32_t masks[4]; /* red, green, blue, alpha bits of 16 and 32-bit pixels */
} bmp_header;

/* The channel masks of 16 and 32-bit pixels, and the check of compression and depth. */
static dg_status bmp_read_masks(const uint8_t *data, size_t n_bytes, const char *name,
                                bmp_header *hd)
{
    static const uint32_t bgrx[4] = {0x00ff0000u, 0x0000ff00u, 0x000000ffu, 0};
    memcpy(hd->masks, bgrx, sizeof bgrx);
    unsigned bits = hd->bits;
    if (hd->compression == 3 && (bits == 16 || bits == 32)) {
        size_t at = 14 + 40; /* in or right after the 40-byte header */
        size_t n_masks = hd->dib >= 56 ? 4 : 3;
        if (n_bytes < at + 4 * n_masks) {
            return dg_fail(DG_ERR_TRUNCATED, "%s: truncated BMP bit-field masks", name);
        }
        for (size_t i = 0; i < n_masks; i++) {
            hd->masks[i] = le32(data + at + 4 * i);
        }
    } else if (hd->compression != 0) {
        return dg_fail(DG_ERR_UNSUPPORTED, "%s: compressed BMP (method %u) is not supported", name,
                       hd->compression);
    }
    if (bits == 32 && hd->compression == 0 && hd->dib >= 56) {
        hd->masks[3] = 0xff000000u; /* BGRA in the newer headers */
    }
    if (bits != 1 && bits != 4 && bits != 8 && bits != 24 && bits != 32) {
        return dg_fail(DG_ERR_UNSUPPORTED, "%s: %u-bit BMP is not supported", name, bits);
    }
    return DG_OK;
}

/* Reads and checks the file and DIB headers and the bit-field masks. */
static dg_status bmp_read_header(const uint8_t *data, size_t n_bytes, const char *name,
                                 bmp_header *hd)
{
    if (n_bytes < 14 + 12) {
        return dg_fail(DG_ERR_TRUNCATED, "%s: truncated BMP header", name);
    }
    hd->offset = le32(data + 10);
    uint32_t dib = hd->dib = le32(data + 14);
    if (dib != 12 && dib != 40 && dib != 52 && dib != 56 && dib != 108 && dib != 124) {
        return dg_fail(DG_ERR_FORMAT,
                       "%s: BMP header of %u bytes (want 12, 40, 52, 56, 108 or 124)", name, dib);
    }
    if (n_bytes < 14 + (size_t)dib) {
        return dg_fail(DG_ERR_TRUNCATED, "%s: truncated BMP header", name);
    }
    const uint8_t *d = data + 14;
    unsigned planes;
    hd->compression = 0;
    hd->n_colours = 0;
    if (dib == 12) {
        hd->w = (int16_t)le16(d + 4);
        hd->h = (int16_t)le16(d + 6);
        planes = le16(d + 8);
        hd->bits = le16(d + 10);
    } else {
        hd->w = (int32_t)le32(d + 4);
        hd->h = (int32_t)le32(d + 8);
        planes = le16(d + 12);
        hd->bits = le16(d + 14);
        hd->compression = le32(d + 16);
        hd->n_colours = le32(d + 32);
    }
    hd->top_down = hd->h < 0;
    if (hd->top_down) {
        hd->h = -hd->h;
    }
    if (hd->w <= 0 || hd->h <= 0 || planes != 1) {
        return dg_fail(DG_ERR_FORMAT, "%s: bad BMP header (size %lldx%lld, %u planes)", name,
                       (long long)hd->w, (long long)(hd->top_down ? -hd->h : hd->h), planes);
    }
    dg_status st = dg_image_check_size(name, "BMP", (uint64_t)hd->w, (uint64_t)hd->h);
    if (st != DG_OK) {
        return st;
    }
    return bmp_read_masks(data, n_bytes, name, hd);
}

/* The palette of a 1, 4 or 8-bit bitmap as RGB, unused entries black; *grey says whether
 * every entry is grey. */
static dg_status bmp_read_palette(const uint8_t *data, size_t n_bytes, const char *name,
                                  const bmp_header *hd, uint8_t palette[256][3], int *grey)
{
    size_t max_colours = (size_t)1 << hd->bits;
    size_t entry = hd->dib == 12 ? 3 : 4;
    size_t count = hd->n_colours ? hd->n_colours : max_colours;
    if (count > max_colours) {
        count = max_colours;
    }
    size_t at = 14 + (size_t)hd->dib + (hd->compression == 3 ? 12 : 0);
    if (n_bytes < at || (n_bytes - at) / entry < count) {
        return dg_fail(DG_ERR_TRUNCATED, "%s: truncated BMP palette", name);
    }
    memset(palette, 0, 256 * sizeof palette[0]);
    for (size_t i = 0; i < count; i++) {
        const uint8_t *e = data + at + i * entry;
        palette[i][0] = e[2];
        palette[i][1] = e[1];
        palette[i][2] = e[0];
    }
    *grey = 1;
    for (size_t i = 0; i < max_colours; i++) {
        if (palette[i][0] != palette[i][1] || palette[i][1] != palette[i][2]) {
            *grey = 0;
        }
    }
    return DG_OK;
}

/* One stored row into o[w][channels]. Returns whether a pixel had a nonzero alpha. */
static int bmp_row(const bmp_header *hd, const uint8_t *row, const uint8_t palette[256][3],
                   int channels, uint8_t *o)
{
    unsigned bits = hd->bits;
    int alpha_used = 0;
    for (int64_t x = 0; x < hd->w; x++, o += channels) {
        if (bits <= 8) {
            unsigned per_byte = 8 / bits;
            unsigned b = row[x / per_byte];
            unsigned shift = (per_byte - 1 - (unsigned)(x % per_byte)) * bits;
            unsigned idx = (b >> shift) & ((1u << bits) - 1);
            memcpy(o, palette[idx], (size_t)channels);
        } else if (bits == 24) {
            o[0] = row[3 * x + 2];
            o[1] = row[3 * x + 1];
            o[2] = row[3 * x];
        } else {
            uint32_t v = le32(row + 4 * x);
            for (int k = 0; k < channels; k++) {
                o[k] = bmp_masked(v, hd->masks[k]);
            }
            if (channels == 4 && o[3]) {
                alpha_used = 1;
            }
        }
    }
    return alpha_used;
}

dg_status dg_bmp_decode(const uint8_t *data, size_t n_bytes, const char *name, dg_image **out)
{
    bmp_header hd = {0};
    dg_status st = bmp_read_header(data, n_bytes, name, &hd);
    if (st != DG_OK) {
        return st;
    }
    uint8_t palette[256][3];
    int palette_grey = 1;
    if (hd.bits <= 8) {
        st = bmp_read_palette(data, n_bytes, name, &hd, palette, &palette_grey);
        if (st != DG_OK) {
            return st;
        }
    }
    int64_t w = hd.w, h = hd.h;
    uint64_t stride = ((uint64_t)w * hd.bits + 31) / 32 * 4;
    if (hd.offset < 14 + hd.dib) {
        return dg_fail(DG_ERR_FORMAT, "%s: BMP pixel data at offset %u overlaps the header", name,
                       hd.offset);
    }
    if (hd.offset > n_bytes || (n_bytes - hd.offset) / stride < (uint64_t)h) {
        return dg_fail(DG_ERR_TRUNCATED, "%s: truncated BMP: %lldx%lld needs %llu bytes of pixels",
                       name, (long long)w, (long long)h, (unsigned long long)(stride * h));
    }
    int channels = hd.bits <= 8 ? (palette_grey ? 1 : 3) : (hd.masks[3] ? 4 : 3);
    dg_image *img;
    st = dg_image_new_named(name, (int)w, (int)h, channels, &img);
    if (st != DG_OK) {
        return st;
    }
    int alpha_used = 0;
    for (int64_t y = 0; y < h; y++) {
        const uint8_t *row = data + hd.offset + (size_t)(hd.top_down ? y : h - 1 - y) * stride;
        uint8_t *o = img->pixels + (size_t)y * (size_t)w * (size_t)channels;
        alpha_used |= bmp_row(&hd, row, palette, channels, o);
    }
    if (channels == 4 && !alpha_used) {
        /* Many writers leave the alpha byte 0 everywhere: treat it as opaque. */
        size_t n_px = (size_t)w * (size_t)h;
        for (size_t i = 0; i < n_px; i++) {
            img->pixels[4 * i + 3] = 255;
        }
    }
    *out = img;
    return DG_OK;
}
