/*
 * image.c - images in and out: PNG (libpng), JPEG (libjpeg-turbo), PGM/PPM and BMP are
 * read by content into a dg_image of 8-bit samples, [h][w][channels] row-major with
 * channels 1 (grey), 3 (RGB) or 4 (RGBA); PNG is written atomically. This file holds the
 * dg_image type, the readers built on libraries (PNG, JPEG with its EXIF orientation) and
 * the choice of reader by content; PGM/PPM and BMP are parsed in image_pnm_bmp.c.
 *
 * What each reader returns:
 *   PNG   grey (1) when the file is grey without transparency, RGB (3) when it is colour
 *         or palette without transparency, RGBA (4) whenever it carries an alpha channel
 *         or a tRNS chunk (grey+alpha is widened to RGBA). 16-bit samples are scaled to 8
 *         bits, 1/2/4-bit samples expanded, Adam7 interlacing undone; gamma and colour
 *         profiles are ignored. Alpha is kept, not composited: the preprocessing decides
 *         what a transparent pixel means (it counts as background there).
 *   JPEG  grey (1) or RGB (3), baseline or progressive, with the EXIF orientation (tag
 *         0x0112 in the APP1 segment, values 1-8) applied so the pixels are upright.
 *         CMYK and YCCK files give DG_ERR_UNSUPPORTED.
 *   PNM   P2/P5 grey (1), P3/P6 RGB (3), maxval 1..65535, scaled to 0..255.
 *   BMP   uncompressed 1/4/8-bit palette, 24-bit BGR and 32-bit BGRX or BI_BITFIELDS,
 *         bottom-up or top-down; palette images whose colours are all grey come out grey,
 *         32-bit ones with a meaningful alpha channel come out RGBA.
 *
 * The common PNGs (8-bit grey, RGB or RGBA, not interlaced, no palette or tRNS) are read
 * by image_png_direct.c without libpng, to the same pixels, several times faster; libpng
 * reads every other PNG, and any of those the direct reader finds unusual or damaged.
 *
 * Every width and height is checked against DG_IMAGE_MAX_PIXELS, and against what the
 * file's length can possibly hold, before the pixel buffer is allocated. libpng and
 * libjpeg report errors by longjmp: the jump lands in a small function whose state lives
 * in its caller's frame, so the caller frees whatever was allocated, and warnings are
 * swallowed because the library never prints. Every message starts with the file's path
 * ("(memory)" for dg_image_load_memory).
 */
#include "vision/image.h"
#include "base/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jerror.h>
#include <jpeglib.h>
#include <png.h>

/* Files larger than this are refused before reading: even a 16-bit ASCII PPM of the
 * largest allowed image fits well below it. */
#define IMAGE_MAX_FILE_BYTES (1024u * 1024u * 1024u)

/* Deflate cannot shrink data by more than about 1032:1 (a 258-byte match costs at least
 * 2 bits), so a PNG shorter than its raw rows divided by this is surely truncated. */
#define PNG_MAX_DEFLATE_RATIO 1032u

/* A Huffman-coded JPEG spends at least one bit per 8x8 block on the DC coefficient, so it
 * holds at least w*h/512 bytes; this bound is four times looser. */
#define JPEG_MIN_PIXELS_PER_BYTE 2048u

static const char memory_name[] = "(memory)";

/* ---------------------------------------------------------------- dg_image */

/* dg_image_new, with the pixels zeroed or left as malloc gives them (zeroed = false: for a
 * reader that writes every one, so that a big picture is not written twice). */
static dg_status image_alloc(int w, int h, int channels, bool zeroed, dg_image **out)
{
    if (!out) {
        return dg_fail(DG_ERR_ARG, "image: no output pointer");
    }
    *out = NULL;
    if (w <= 0 || h <= 0) {
        return dg_fail(DG_ERR_ARG, "image: bad size %dx%d", w, h);
    }
    if (channels != 1 && channels != 3 && channels != 4) {
        return dg_fail(DG_ERR_ARG, "image: %d channels (want 1, 3 or 4)", channels);
    }
    if ((uint64_t)w * (uint64_t)h > DG_IMAGE_MAX_PIXELS) {
        return dg_fail(DG_ERR_TOO_LARGE, "image: %dx%d is more than %u pixels", w, h,
                       DG_IMAGE_MAX_PIXELS);
    }
    dg_image *img = malloc(sizeof *img);
    size_t n_bytes = (size_t)w * (size_t)h * (size_t)channels;
    uint8_t *pixels = zeroed ? calloc(n_bytes, 1) : malloc(n_bytes);
    if (!img || !pixels) {
        free(img);
        free(pixels);
        return dg_fail(DG_ERR_NOMEM, "image: out of memory for %dx%dx%d", w, h, channels);
    }
    img->w = w;
    img->h = h;
    img->channels = channels;
    img->pixels = pixels;
    *out = img;
    return DG_OK;
}

dg_status dg_image_new(int w, int h, int channels, dg_image **out)
{
    return image_alloc(w, h, channels, true, out);
}

void dg_image_free(dg_image *img)
{
    if (img) {
        free(img->pixels);
        free(img);
    }
}

/* The common size check of every reader, with the reader's file name in the message. */
dg_status dg_image_check_size(const char *name, const char *kind, uint64_t w, uint64_t h)
{
    if (w == 0 || h == 0) {
        return dg_fail(DG_ERR_FORMAT, "%s: %s of size %llux%llu", name, kind, (unsigned long long)w,
                       (unsigned long long)h);
    }
    if (w > INT_MAX || h > INT_MAX || w * h > DG_IMAGE_MAX_PIXELS) {
        return dg_fail(DG_ERR_TOO_LARGE,
                       "%s: %s of %llux%llu pixels is larger than the limit of %u", name, kind,
                       (unsigned long long)w, (unsigned long long)h, DG_IMAGE_MAX_PIXELS);
    }
    return DG_OK;
}

/* dg_image_new with the file's name on failure. */
dg_status dg_image_new_named(const char *name, int w, int h, int channels, dg_image **out)
{
    dg_status st = image_alloc(w, h, channels, true, out);
    if (st != DG_OK) {
        return dg_fail(st, "%s: out of memory for a %dx%d image", name, w, h);
    }
    return DG_OK;
}

dg_status dg_image_new_unset(const char *name, int w, int h, int channels, dg_image **out)
{
    dg_status st = image_alloc(w, h, channels, false, out);
    if (st != DG_OK) {
        return dg_fail(st, "%s: out of memory for a %dx%d image", name, w, h);
    }
    return DG_OK;
}

/* ---------------------------------------------------------------- PNG */

/* Read state shared with libpng's callbacks; lives in png_decode's frame. */
typedef struct png_job {
    const uint8_t *data;
    size_t n_bytes, pos;
    const char *name;
    int truncated; /* the read callback ran out of bytes */
    int too_large; /* our size check failed inside the jump-protected part */
    char msg[160]; /* libpng's message of the first error */
    png_structp png;
    png_infop info;
    dg_image *img;   /* freed by the caller on failure */
    png_bytep *rows; /* [h] pointers into img->pixels */
} png_job;

static void png_read_cb(png_structp png, png_bytep out, size_t n)
{
    png_job *job = png_get_io_ptr(png);
    if (n > job->n_bytes - job->pos) {
        job->truncated = 1;
        png_error(png, "file ends early");
    }
    memcpy(out, job->data + job->pos, n);
    job->pos += n;
}

static void png_error_cb(png_structp png, png_const_charp msg)
{
    png_job *job = png_get_error_ptr(png);
    if (!job->msg[0]) {
        snprintf(job->msg, sizeof job->msg, "%s", msg);
    }
    png_longjmp(png, 1);
}

static void png_warning_cb(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

/* Everything that may longjmp. Returns 0 on success, 1 after a libpng error. Locals are
 * not used after the jump: all state lives in *job. */
static int png_decode_protected(png_job *job)
{
    if (setjmp(png_jmpbuf(job->png))) {
        return 1;
    }
    png_structp png = job->png;
    png_infop info = job->info;
    png_set_read_fn(png, job, png_read_cb);
    /* Our own limit applies, after the header is read, so lift libpng's 1e6 per side. */
    png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    png_read_info(png, info);

    png_uint_32 w, h;
    int depth, color, interlace;
    png_get_IHDR(png, info, &w, &h, &depth, &color, &interlace, NULL, NULL);
    if (dg_image_check_size(job->name, "PNG", w, h) != DG_OK) {
        job->too_large = 1;
        return 1;
    }
    /* Raw rows: one filter byte plus the samples at the file's own depth. */
    uint64_t raw_row = ((uint64_t)w * png_get_channels(png, info) * (uint64_t)depth + 7) / 8 + 1;
    if (raw_row * h / PNG_MAX_DEFLATE_RATIO > job->n_bytes) {
        job->truncated = 1;
        snprintf(job->msg, sizeof job->msg, "%lux%lu pixels cannot fit in %zu bytes",
                 (unsigned long)w, (unsigned long)h, job->n_bytes);
        return 1;
    }

    int has_trns = png_get_valid(png, info, PNG_INFO_tRNS) != 0;
    if (color == PNG_COLOR_TYPE_PALETTE) {
        png_set_palette_to_rgb(png);
    }
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) {
        png_set_expand_gray_1_2_4_to_8(png);
    }
    if (has_trns) {
        png_set_tRNS_to_alpha(png);
    }
    if (depth == 16) {
        png_set_scale_16(png);
    }
    if (!(color & PNG_COLOR_MASK_COLOR) && ((color & PNG_COLOR_MASK_ALPHA) || has_trns)) {
        png_set_gray_to_rgb(png); /* dg_image has no grey+alpha */
    }
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    int channels = png_get_channels(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    if ((channels != 1 && channels != 3 && channels != 4) ||
        rowbytes != (size_t)w * (size_t)channels) {
        snprintf(job->msg, sizeof job->msg, "unexpected layout: %d channels, %zu bytes a row",
                 channels, rowbytes);
        return 1;
    }
    if (dg_image_new((int)w, (int)h, channels, &job->img) != DG_OK) {
        snprintf(job->msg, sizeof job->msg, "out of memory for %lux%lu pixels", (unsigned long)w,
                 (unsigned long)h);
        return 1;
    }
    job->rows = malloc((size_t)h * sizeof *job->rows);
    if (!job->rows) {
        snprintf(job->msg, sizeof job->msg, "out of memory");
        return 1;
    }
    for (png_uint_32 y = 0; y < h; y++) {
        job->rows[y] = job->img->pixels + (size_t)y * rowbytes;
    }
    png_read_image(png, job->rows);
    /* The chunks after the image data (text, time, IEND) are not needed and not read. */
    return 0;
}

static dg_status png_decode(const uint8_t *data, size_t n_bytes, const char *name, dg_image **out)
{
    /* The first chunk must be IHDR: 8-byte signature, u32 length 13, "IHDR", u32 width,
     * u32 height (big-endian). Its size is checked here, before libpng reads on. */
    if (n_bytes >= 24 && memcmp(data + 12, "IHDR", 4) == 0) {
        uint32_t w = (uint32_t)data[16] << 24 | (uint32_t)data[17] << 16 | (uint32_t)data[18] << 8 |
                     data[19];
        uint32_t h = (uint32_t)data[20] << 24 | (uint32_t)data[21] << 16 | (uint32_t)data[22] << 8 |
                     data[23];
        if (w > 0 && h > 0 && dg_image_check_size(name, "PNG", w, h) != DG_OK) {
            return DG_ERR_TOO_LARGE;
        }
    }
    if (dg_png_decode_direct(data, n_bytes, out)) {
        return DG_OK;
    }
    png_job job;
    memset(&job, 0, sizeof job);
    job.data = data;
    job.n_bytes = n_bytes;
    job.name = name;
    job.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &job, png_error_cb, png_warning_cb);
    if (job.png) {
        job.info = png_create_info_struct(job.png);
    }
    if (!job.png || !job.info) {
        png_destroy_read_struct(job.png ? &job.png : NULL, NULL, NULL);
        return dg_fail(DG_ERR_NOMEM, "%s: out of memory for the PNG reader", name);
    }
    int failed = png_decode_protected(&job);
    png_destroy_read_struct(&job.png, &job.info, NULL);
    free(job.rows);
    if (!failed) {
        *out = job.img;
        return DG_OK;
    }
    dg_image_free(job.img);
    if (job.too_large) {
        return DG_ERR_TOO_LARGE; /* dg_image_check_size set the message */
    }
    if (job.truncated) {
        return dg_fail(DG_ERR_TRUNCATED, "%s: truncated PNG (%s)", name, job.msg);
    }
    return dg_fail(DG_ERR_FORMAT, "%s: corrupt PNG: %s", name, job.msg[0] ? job.msg : "error");
}

/* Growable output buffer for the PNG writer. */
typedef struct png_sink {
    uint8_t *data;
    size_t n, cap;
    int failed;
} png_sink;

static void png_write_cb(png_structp png, png_bytep bytes, size_t n)
{
    png_sink *s = png_get_io_ptr(png);
    if (n > s->cap - s->n) {
        size_t cap = s->cap ? s->cap : 4096;
        while (n > cap - s->n) {
            if (cap > SIZE_MAX / 2) {
                s->failed = 1;
                png_error(png, "out of memory");
            }
            cap *= 2;
        }
        uint8_t *grown = realloc(s->data, cap);
        if (!grown) {
            s->failed = 1;
            png_error(png, "out of memory");
        }
        s->data = grown;
        s->cap = cap;
    }
    memcpy(s->data + s->n, bytes, n);
    s->n += n;
}

static void png_flush_cb(png_structp png)
{
    (void)png;
}

typedef struct png_write_job {
    png_structp png;
    png_infop info;
    const dg_image *img;
    png_sink sink;
    png_bytep *rows;
    char msg[160];
} png_write_job;

static void png_write_error_cb(png_structp png, png_const_charp msg)
{
    png_write_job *job = png_get_error_ptr(png);
    if (!job->msg[0]) {
        snprintf(job->msg, sizeof job->msg, "%s", msg);
    }
    png_longjmp(png, 1);
}

static int png_encode_protected(png_write_job *job)
{
    if (setjmp(png_jmpbuf(job->png))) {
        return 1;
    }
    const dg_image *img = job->img;
    static const int color_of[5] = {0, PNG_COLOR_TYPE_GRAY, 0, PNG_COLOR_TYPE_RGB,
                                    PNG_COLOR_TYPE_RGB_ALPHA};
    png_set_write_fn(job->png, &job->sink, png_write_cb, png_flush_cb);
    png_set_IHDR(job->png, job->info, (png_uint_32)img->w, (png_uint_32)img->h, 8,
                 color_of[img->channels], PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(job->png, job->info);
    size_t stride = (size_t)img->w * (size_t)img->channels;
    for (int y = 0; y < img->h; y++) {
        job->rows[y] = img->pixels + (size_t)y * stride;
    }
    png_write_image(job->png, job->rows);
    png_write_end(job->png, NULL);
    return 0;
}

dg_status dg_image_encode_png(const dg_image *img, uint8_t **data, size_t *n_bytes)
{
    *data = NULL;
    *n_bytes = 0;
    if (!img || !img->pixels || img->w <= 0 || img->h <= 0 ||
        (img->channels != 1 && img->channels != 3 && img->channels != 4)) {
        return dg_fail(DG_ERR_ARG, "PNG encoder: not a valid 1, 3 or 4 channel image");
    }
    png_write_job job;
    memset(&job, 0, sizeof job);
    job.img = img;
    job.rows = malloc((size_t)img->h * sizeof *job.rows);
    job.png =
        png_create_write_struct(PNG_LIBPNG_VER_STRING, &job, png_write_error_cb, png_warning_cb);
    if (job.png) {
        job.info = png_create_info_struct(job.png);
    }
    if (!job.rows || !job.png || !job.info) {
        png_destroy_write_struct(job.png ? &job.png : NULL, NULL);
        free(job.rows);
        return dg_fail(DG_ERR_NOMEM, "PNG encoder: out of memory");
    }
    int failed = png_encode_protected(&job);
    png_destroy_write_struct(&job.png, &job.info);
    free(job.rows);
    if (failed) {
        free(job.sink.data);
        return dg_fail(job.sink.failed ? DG_ERR_NOMEM : DG_ERR_IO, "PNG encoder: %s", job.msg);
    }
    *data = job.sink.data;
    *n_bytes = job.sink.n;
    return DG_OK;
}

dg_status dg_image_save_png(const char *path, const dg_image *img)
{
    if (!path || !path[0]) {
        return dg_fail(DG_ERR_ARG, "image: no path to save to");
    }
    uint8_t *data;
    size_t n;
    dg_status st = dg_image_encode_png(img, &data, &n);
    if (st != DG_OK) {
        return dg_fail(st, "%s: not saved: %s", path, dg_last_error());
    }
    st = dg_write_file_atomic(path, data, n);
    free(data);
    return st;
}

/* ---------------------------------------------------------------- JPEG */

/*
 * EXIF orientation. An APP1 segment holds "Exif\0\0" and then a TIFF structure:
 *   byte 0-1  byte order, "II" little-endian or "MM" big-endian
 *   byte 2-3  42
 *   byte 4-7  offset of IFD0 from the TIFF start
 *   IFD0      u16 entry count, then 12-byte entries: u16 tag, u16 type, u32 count,
 *             4 bytes holding the value (or its offset when it does not fit)
 * Orientation is tag 0x0112, type SHORT (3), count 1: 1 upright, 2 mirrored left-right,
 * 3 rotated 180, 4 mirrored top-bottom, 5 transposed, 6 needs 90 degrees clockwise,
 * 7 transversed, 8 needs 90 degrees counter-clockwise. Anything malformed means 1.
 */
static unsigned exif_u16(const uint8_t *p, int le)
{
    return le ? (unsigned)p[0] | (unsigned)p[1] << 8 : (unsigned)p[0] << 8 | (unsigned)p[1];
}

static uint32_t exif_u32(const uint8_t *p, int le)
{
    return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
              : (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static int exif_orientation(const uint8_t *seg, size_t n)
{
    static const uint8_t exif_id[6] = {'E', 'x', 'i', 'f', 0, 0};
    if (n < sizeof exif_id + 8 || memcmp(seg, exif_id, sizeof exif_id) != 0) {
        return 1;
    }
    const uint8_t *tiff = seg + sizeof exif_id;
    size_t n_tiff = n - sizeof exif_id;
    int le;
    if (tiff[0] == 'I' && tiff[1] == 'I') {
        le = 1;
    } else if (tiff[0] == 'M' && tiff[1] == 'M') {
        le = 0;
    } else {
        return 1;
    }
    if (exif_u16(tiff + 2, le) != 42) {
        return 1;
    }
    uint32_t ifd = exif_u32(tiff + 4, le);
    if (ifd < 8 || ifd > n_tiff - 2) {
        return 1;
    }
    unsigned count = exif_u16(tiff + ifd, le);
    for (unsigned i = 0; i < count; i++) {
        size_t at = (size_t)ifd + 2 + (size_t)i * 12;
        if (at > n_tiff - 12) {
            break;
        }
        if (exif_u16(tiff + at, le) != 0x0112) {
            continue;
        }
        unsigned type = exif_u16(tiff + at + 2, le);
        uint32_t value;
        if (type == 3) {
            value = exif_u16(tiff + at + 8, le);
        } else if (type == 4) {
            value = exif_u32(tiff + at + 8, le);
        } else {
            return 1;
        }
        return value >= 1 && value <= 8 ? (int)value : 1;
    }
    return 1;
}

/* A copy of img turned upright for an EXIF orientation 2..8. */
static dg_status apply_orientation(const char *name, int orientation, dg_image **img)
{
    const dg_image *src = *img;
    int w = src->w, h = src->h, c = src->channels;
    int swap = orientation >= 5;
    dg_image *dst;
    dg_status st = dg_image_new_named(name, swap ? h : w, swap ? w : h, c, &dst);
    if (st != DG_OK) {
        return st;
    }
    for (int yo = 0; yo < dst->h; yo++) {
        for (int xo = 0; xo < dst->w; xo++) {
            int x, y; /* the source pixel shown at (xo, yo) */
            switch (orientation) {
            case 2:
                x = w - 1 - xo, y = yo;
                break;
            case 3:
                x = w - 1 - xo, y = h - 1 - yo;
                break;
            case 4:
                x = xo, y = h - 1 - yo;
                break;
            case 5:
                x = yo, y = xo;
                break;
            case 6:
                x = yo, y = h - 1 - xo;
                break;
            case 7:
                x = w - 1 - yo, y = h - 1 - xo;
                break;
            default: /* 8 */
                x = w - 1 - yo, y = xo;
                break;
            }
            memcpy(dst->pixels + ((size_t)yo * dst->w + xo) * c,
                   src->pixels + ((size_t)y * w + x) * c, (size_t)c);
        }
    }
    dg_image_free(*img);
    *img = dst;
    return DG_OK;
}

/* libjpeg's error manager extended with our jump buffer and what we need to report. */
typedef struct jpeg_job {
    struct jpeg_error_mgr err; /* first, so a j_common_ptr's err points at the job */
    jmp_buf jmp;
    struct jpeg_decompress_struct cinfo;
    const char *name;
    int hit_eof;      /* libjpeg's source ran out of data (JWRN_JPEG_EOF) */
    dg_status status; /* a status decided inside the protected part, or DG_OK */
    char msg[JMSG_LENGTH_MAX];
    dg_image *img; /* freed by the caller on failure */
    int orientation;
    int min_side;  /* reduce while the longer side stays at least this; 0: never */
    int reduction; /* 1, 2, 4 or 8: the DCT scaling chosen */
} jpeg_job;

static void jpeg_error_exit_cb(j_common_ptr cinfo)
{
    jpeg_job *job = (jpeg_job *)(void *)cinfo->err;
    if (!job->msg[0]) {
        (*cinfo->err->format_message)(cinfo, job->msg);
    }
    longjmp(job->jmp, 1);
}

static void jpeg_emit_message_cb(j_common_ptr cinfo, int level)
{
    jpeg_job *job = (jpeg_job *)(void *)cinfo->err;
    if (level < 0) {
        cinfo->err->num_warnings++;
        if (cinfo->err->msg_code == JWRN_JPEG_EOF) {
            job->hit_eof = 1;
        }
    }
}

static void jpeg_output_message_cb(j_common_ptr cinfo)
{
    (void)cinfo;
}

static int jpeg_decode_protected(jpeg_job *job, const uint8_t *data, size_t n_bytes)
{
    if (setjmp(job->jmp)) {
        return 1;
    }
    j_decompress_ptr cinfo = &job->cinfo;
    jpeg_create_decompress(cinfo);
    jpeg_mem_src(cinfo, data, (unsigned long)n_bytes);
    jpeg_save_markers(cinfo, JPEG_APP0 + 1, 0xFFFF);
    if (jpeg_read_header(cinfo, TRUE) != JPEG_HEADER_OK) {
        snprintf(job->msg, sizeof job->msg, "no image in the file");
        return 1;
    }
    if (job->hit_eof) {
        return 1;
    }
    if (dg_image_check_size(job->name, "JPEG", cinfo->image_width, cinfo->image_height) != DG_OK) {
        job->status = DG_ERR_TOO_LARGE;
        return 1;
    }
    if (!cinfo->arith_code &&
        (uint64_t)cinfo->image_width * cinfo->image_height / JPEG_MIN_PIXELS_PER_BYTE > n_bytes) {
        job->status =
            dg_fail(DG_ERR_TRUNCATED, "%s: truncated JPEG: %ux%u pixels cannot fit in %zu bytes",
                    job->name, cinfo->image_width, cinfo->image_height, n_bytes);
        return 1;
    }
    switch (cinfo->jpeg_color_space) {
    case JCS_GRAYSCALE:
        cinfo->out_color_space = JCS_GRAYSCALE;
        break;
    case JCS_CMYK:
    case JCS_YCCK:
        job->status =
            dg_fail(DG_ERR_UNSUPPORTED, "%s: CMYK JPEG images are not supported", job->name);
        return 1;
    default:
        cinfo->out_color_space = JCS_RGB;
        break;
    }
    for (jpeg_saved_marker_ptr m = cinfo->marker_list; m; m = m->next) {
        if (m->marker == JPEG_APP0 + 1) {
            int o = exif_orientation(m->data, m->data_length);
            if (o != 1) {
                job->orientation = o;
                break;
            }
        }
    }
    /* The largest of libjpeg's DCT scalings 1/2, 1/4, 1/8 that keeps the longer side at
     * least min_side: each output pixel is then its block's mean, computed from fewer
     * coefficients, which saves most of the decoding and all of the full-size buffer. */
    unsigned longer =
        cinfo->image_width > cinfo->image_height ? cinfo->image_width : cinfo->image_height;
    job->reduction = 1;
    while (job->min_side > 0 && job->reduction < 8 &&
           (longer + 2u * job->reduction - 1) / (2u * job->reduction) >= (unsigned)job->min_side) {
        job->reduction *= 2;
    }
    cinfo->scale_num = 1;
    cinfo->scale_denom = (unsigned)job->reduction;
    jpeg_start_decompress(cinfo);
    int c = cinfo->output_components;
    unsigned r = (unsigned)job->reduction;
    if ((c != 1 && c != 3) || cinfo->output_width != (cinfo->image_width + r - 1) / r ||
        cinfo->output_height != (cinfo->image_height + r - 1) / r) {
        snprintf(job->msg, sizeof job->msg, "unexpected output layout");
        return 1;
    }
    if (dg_image_new((int)cinfo->output_width, (int)cinfo->output_height, c, &job->img) != DG_OK) {
        job->status = dg_fail(DG_ERR_NOMEM, "%s: out of memory for a %ux%u image", job->name,
                              cinfo->output_width, cinfo->output_height);
        return 1;
    }
    size_t stride = (size_t)cinfo->output_width * (size_t)c;
    while (cinfo->output_scanline < cinfo->output_height) {
        JSAMPROW row = job->img->pixels + (size_t)cinfo->output_scanline * stride;
        if (jpeg_read_scanlines(cinfo, &row, 1) != 1) {
            snprintf(job->msg, sizeof job->msg, "no scanline decoded");
            return 1;
        }
    }
    if (job->hit_eof) {
        return 1;
    }
    jpeg_finish_decompress(cinfo);
    return job->hit_eof;
}

/* source (may be NULL) gets the upright picture's size in the file and the reduction. */
static dg_status jpeg_decode(const uint8_t *data, size_t n_bytes, const char *name, int min_side,
                             dg_image **out, dg_image_source *source)
{
    jpeg_job *job = calloc(1, sizeof *job);
    if (!job) {
        return dg_fail(DG_ERR_NOMEM, "%s: out of memory for the JPEG reader", name);
    }
    job->name = name;
    job->orientation = 1;
    job->min_side = min_side;
    job->cinfo.err = jpeg_std_error(&job->err);
    job->err.error_exit = jpeg_error_exit_cb;
    job->err.emit_message = jpeg_emit_message_cb;
    job->err.output_message = jpeg_output_message_cb;
    int failed = jpeg_decode_protected(job, data, n_bytes);
    jpeg_destroy_decompress(&job->cinfo);
    dg_status st = DG_OK;
    if (failed) {
        if (job->status != DG_OK) {
            st = job->status;
        } else if (job->hit_eof) {
            st = dg_fail(DG_ERR_TRUNCATED, "%s: truncated JPEG: the data ends early", name);
        } else {
            st = dg_fail(DG_ERR_FORMAT, "%s: corrupt JPEG: %s", name,
                         job->msg[0] ? job->msg : "error");
        }
        dg_image_free(job->img);
    } else {
        *out = job->img;
        if (job->orientation != 1) {
            st = apply_orientation(name, job->orientation, out);
            if (st != DG_OK) {
                dg_image_free(*out);
                *out = NULL;
            }
        }
        if (st == DG_OK && source) {
            int swap = job->orientation >= 5;
            int w = (int)job->cinfo.image_width, h = (int)job->cinfo.image_height;
            *source = (dg_image_source){swap ? h : w, swap ? w : h, job->reduction};
        }
    }
    free(job);
    return st;
}

/* ---------------------------------------------------------------- by content */

/* min_side: 0 decodes at full size, else see dg_image_load_reduced; only JPEG reduces. */
static dg_status decode_any(const uint8_t *data, size_t n_bytes, const char *name, int min_side,
                            dg_image **out, dg_image_source *source)
{
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    static const uint8_t jpeg_sig[3] = {0xff, 0xd8, 0xff};
    if (n_bytes == 0) {
        return dg_fail(DG_ERR_TRUNCATED, "%s: empty file", name);
    }
    if (n_bytes >= sizeof png_sig && memcmp(data, png_sig, sizeof png_sig) == 0) {
        return png_decode(data, n_bytes, name, out);
    }
    if (n_bytes >= sizeof jpeg_sig && memcmp(data, jpeg_sig, sizeof jpeg_sig) == 0) {
        return jpeg_decode(data, n_bytes, name, min_side, out, source);
    }
    if (n_bytes >= 2 && data[0] == 'P' && data[1] >= '1' && data[1] <= '7') {
        if (data[1] == '2' || data[1] == '3' || data[1] == '5' || data[1] == '6') {
            return dg_pnm_decode(data, n_bytes, name, out);
        }
        return dg_fail(DG_ERR_UNSUPPORTED,
                       "%s: P%c netpbm images are not supported (only P2, P3, P5, P6)", name,
                       data[1]);
    }
    if (n_bytes >= 2 && data[0] == 'B' && data[1] == 'M') {
        return dg_bmp_decode(data, n_bytes, name, out);
    }
    /* A file shorter than a signature it starts with was cut off. */
    if ((n_bytes < sizeof png_sig && memcmp(data, png_sig, n_bytes) == 0) ||
        (n_bytes < sizeof jpeg_sig && memcmp(data, jpeg_sig, n_bytes) == 0) ||
        (n_bytes == 1 && (data[0] == 'P' || data[0] == 'B'))) {
        return dg_fail(DG_ERR_TRUNCATED, "%s: truncated image (%zu bytes)", name, n_bytes);
    }
    return dg_fail(DG_ERR_UNSUPPORTED, "%s: not a PNG, JPEG, PGM/PPM or BMP image", name);
}

/* The reader the content calls for; source (may be NULL) gets the picture's size in the
 * file and the reduction it was decoded with. */
static dg_status decode(const uint8_t *data, size_t n_bytes, const char *name, int min_side,
                        dg_image **out, dg_image_source *source)
{
    dg_image_source src = {0, 0, 0};
    dg_status st = decode_any(data, n_bytes, name, min_side, out, &src);
    if (st == DG_OK && src.reduction == 0) {
        src = (dg_image_source){(*out)->w, (*out)->h, 1};
    }
    if (st == DG_OK && source) {
        *source = src;
    }
    return st;
}

/* The loaders' common checks and reading; min_side as in decode. */
static dg_status load_memory(const uint8_t *data, size_t n_bytes, int min_side, dg_image **out,
                             dg_image_source *source)
{
    if (!out) {
        return dg_fail(DG_ERR_ARG, "image: no output pointer");
    }
    *out = NULL;
    if (!data && n_bytes) {
        return dg_fail(DG_ERR_ARG, "image: no data");
    }
    return decode(data, n_bytes, memory_name, min_side, out, source);
}

static dg_status load_file(const char *path, int min_side, dg_image **out, dg_image_source *source)
{
    if (!out) {
        return dg_fail(DG_ERR_ARG, "image: no output pointer");
    }
    *out = NULL;
    if (!path || !path[0]) {
        return dg_fail(DG_ERR_ARG, "image: no path");
    }
    uint8_t *buf;
    size_t done;
    dg_status rs = dg_read_file(path, IMAGE_MAX_FILE_BYTES, "an image", &buf, &done);
    if (rs != DG_OK) {
        return rs;
    }
    dg_status s = decode(buf, done, path, min_side, out, source);
    free(buf);
    return s;
}

dg_status dg_image_load_memory(const uint8_t *data, size_t n_bytes, dg_image **out)
{
    return load_memory(data, n_bytes, 0, out, NULL);
}

dg_status dg_image_load(const char *path, dg_image **out)
{
    return load_file(path, 0, out, NULL);
}

dg_status dg_image_load_reduced(const char *path, int min_side, dg_image **out,
                                dg_image_source *source)
{
    return load_file(path, min_side, out, source);
}

dg_status dg_image_load_memory_reduced(const uint8_t *data, size_t n_bytes, int min_side,
                                       dg_image **out, dg_image_source *source)
{
    return load_memory(data, n_bytes, min_side, out, source);
}
