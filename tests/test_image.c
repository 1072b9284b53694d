/*
 * test_image.c - image files in and out: PNGs of every colour type and depth written here
 * with libpng, baseline, progressive and EXIF-rotated JPEGs written with libjpeg, PGM/PPM
 * and BMP written byte by byte; PNG round trips through dg_image_save_png; and every kind
 * of broken file (truncated, wrong magic, absurd sizes), which must give its status and a
 * one-line message starting with the file's name, never a crash or a leak.
 */
#include "test.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <jpeglib.h>
#include <png.h>

/* ---------------------------------------------------------------- helpers */

typedef struct buffer {
    uint8_t *data;
    size_t n, cap;
} buffer;

static int buf_put(buffer *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n) {
            cap *= 2;
        }
        uint8_t *d = realloc(b->data, cap);
        if (!d) {
            return 0;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->n, p, n);
    b->n += n;
    return 1;
}

static int write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        return 0;
    }
    int ok = n == 0 || fwrite(data, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

/* dir/name in a static buffer, valid until the next call. */
static const char *tmp_path(const char *dir, const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

/* A message names the input first and fits on one line. */
static int message_ok(const char *name)
{
    const char *m = dg_last_error();
    return strncmp(m, name, strlen(name)) == 0 && !strchr(m, '\n');
}

/* ---------------------------------------------------------------- PNG writer (libpng) */

static void png_to_buffer(png_structp png, png_bytep data, size_t n)
{
    buf_put(png_get_io_ptr(png), data, n);
}

static void png_no_flush(png_structp png)
{
    (void)png;
}

/* How make_png_with writes the image data: the row filters libpng may choose from
 * (PNG_FILTER_NONE ... PNG_ALL_FILTERS; 0 for libpng's default), and the size of its
 * deflate buffer, hence of each IDAT chunk (0 for libpng's default). */
typedef struct png_writing {
    int filters;
    size_t idat_bytes;
} png_writing;

static int make_png_with(buffer *out, int w, int h, int depth, int color, const uint8_t *samples,
                         size_t rowbytes, const png_color *palette, int n_palette,
                         const uint8_t *trans, int n_trans, int interlace, png_writing how);

/* Encodes rows of packed samples (rowbytes each) as a PNG of the given type into *out.
 * palette/trans may be NULL. Returns 1 on success. */
static int make_png(buffer *out, int w, int h, int depth, int color, const uint8_t *samples,
                    size_t rowbytes, const png_color *palette, int n_palette, const uint8_t *trans,
                    int n_trans, int interlace)
{
    png_writing how = {0, 0};
    return make_png_with(out, w, h, depth, color, samples, rowbytes, palette, n_palette, trans,
                         n_trans, interlace, how);
}

static int make_png_with(buffer *out, int w, int h, int depth, int color, const uint8_t *samples,
                         size_t rowbytes, const png_color *palette, int n_palette,
                         const uint8_t *trans, int n_trans, int interlace, png_writing how)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return 0;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return 0;
    }
    png_set_write_fn(png, out, png_to_buffer, png_no_flush);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, color,
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (palette) {
        png_set_PLTE(png, info, palette, n_palette);
    }
    if (trans) {
        png_set_tRNS(png, info, trans, n_trans, NULL);
    }
    if (how.filters) {
        png_set_filter(png, PNG_FILTER_TYPE_BASE, how.filters);
    }
    if (how.idat_bytes) {
        png_set_compression_buffer_size(png, how.idat_bytes);
    }
    png_write_info(png, info);
    png_bytep *rows = malloc(sizeof *rows * (size_t)h);
    if (!rows) {
        png_destroy_write_struct(&png, &info);
        return 0;
    }
    for (int y = 0; y < h; y++) {
        rows[y] = (png_bytep)(samples + (size_t)y * rowbytes);
    }
    png_write_image(png, rows);
    png_write_end(png, NULL);
    free(rows);
    png_destroy_write_struct(&png, &info);
    return 1;
}

/* Loads a PNG from memory and checks its size and channel count. */
#define LOAD_MEM(buf, img, want_w, want_h, want_c)                                                 \
    do {                                                                                           \
        CHECK_OK(dg_image_load_memory((buf).data, (buf).n, &(img)));                               \
        CHECK_MSG((img)->w == (want_w) && (img)->h == (want_h) && (img)->channels == (want_c),     \
                  "got %dx%dx%d", (img)->w, (img)->h, (img)->channels);                            \
    } while (0)

DG_TEST(image_png_grey_8_and_16_bit)
{
    uint8_t g8[4 * 3], g16[4 * 3 * 2];
    for (int i = 0; i < 12; i++) {
        g8[i] = (uint8_t)(i * 20);
        g16[2 * i] = (uint8_t)(i * 20); /* big-endian: high byte first */
        g16[2 * i + 1] = 0x80;
    }
    buffer b8 = {0}, b16 = {0};
    CHECK(make_png(&b8, 4, 3, 8, PNG_COLOR_TYPE_GRAY, g8, 4, NULL, 0, NULL, 0, 0));
    CHECK(make_png(&b16, 4, 3, 16, PNG_COLOR_TYPE_GRAY, g16, 8, NULL, 0, NULL, 0, 1));
    dg_image *a = NULL, *b = NULL;
    LOAD_MEM(b8, a, 4, 3, 1);
    LOAD_MEM(b16, b, 4, 3, 1);
    for (int i = 0; i < 12; i++) {
        CHECK(a->pixels[i] == i * 20);
        /* 16 -> 8 bits by scaling: (v * 255 + 32767) / 65535 */
        unsigned v = (unsigned)(i * 20) << 8 | 0x80;
        CHECK(b->pixels[i] == (v * 255u + 32767u) / 65535u);
    }
    dg_image_free(a);
    dg_image_free(b);
    free(b8.data);
    free(b16.data);
}

DG_TEST(image_png_1_bit_grey)
{
    /* 10x2: row 0 alternates, row 1 all white; rows padded to whole bytes */
    uint8_t rows[2][2] = {{0xAA, 0x80}, {0xFF, 0xC0}};
    buffer b = {0};
    CHECK(make_png(&b, 10, 2, 1, PNG_COLOR_TYPE_GRAY, &rows[0][0], 2, NULL, 0, NULL, 0, 0));
    dg_image *img = NULL;
    LOAD_MEM(b, img, 10, 2, 1);
    for (int x = 0; x < 10; x++) {
        CHECK(img->pixels[x] == (x % 2 == 0 ? 255 : 0));
        CHECK(img->pixels[10 + x] == 255);
    }
    dg_image_free(img);
    free(b.data);
}

DG_TEST(image_png_palette_with_transparency)
{
    png_color pal[3] = {{255, 255, 255}, {0, 0, 200}, {10, 200, 10}};
    uint8_t trans[1] = {0}; /* entry 0 fully transparent */
    uint8_t idx[3 * 2] = {0, 1, 2, 2, 1, 0};
    buffer b = {0}, opaque = {0};
    CHECK(make_png(&b, 3, 2, 8, PNG_COLOR_TYPE_PALETTE, idx, 3, pal, 3, trans, 1, 0));
    CHECK(make_png(&opaque, 3, 2, 8, PNG_COLOR_TYPE_PALETTE, idx, 3, pal, 3, NULL, 0, 0));
    dg_image *img = NULL, *rgb = NULL;
    LOAD_MEM(b, img, 3, 2, 4);
    LOAD_MEM(opaque, rgb, 3, 2, 3);
    const uint8_t *p = img->pixels;
    CHECK(p[3] == 0);                                                /* entry 0 */
    CHECK(p[4] == 0 && p[5] == 0 && p[6] == 200 && p[7] == 255);     /* entry 1 */
    CHECK(p[8] == 10 && p[9] == 200 && p[10] == 10 && p[11] == 255); /* entry 2 */
    CHECK(rgb->pixels[0] == 255 && rgb->pixels[5] == 200 && rgb->pixels[7] == 200);
    dg_image_free(img);
    dg_image_free(rgb);
    free(b.data);
    free(opaque.data);
}

DG_TEST(image_png_grey_alpha_rgb_rgba)
{
    uint8_t ga[2 * 2 * 2] = {0, 255, 128, 0, 255, 10, 30, 200};
    uint8_t rgb[2 * 2 * 3] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    uint8_t rgba[2 * 2 * 4] = {0, 0, 0, 0, 255, 0, 0, 255, 0, 255, 0, 128, 0, 0, 255, 1};
    buffer bga = {0}, brgb = {0}, brgba = {0};
    CHECK(make_png(&bga, 2, 2, 8, PNG_COLOR_TYPE_GRAY_ALPHA, ga, 4, NULL, 0, NULL, 0, 0));
    CHECK(make_png(&brgb, 2, 2, 8, PNG_COLOR_TYPE_RGB, rgb, 6, NULL, 0, NULL, 0, 0));
    CHECK(make_png(&brgba, 2, 2, 8, PNG_COLOR_TYPE_RGB_ALPHA, rgba, 8, NULL, 0, NULL, 0, 0));
    dg_image *a = NULL, *b = NULL, *c = NULL;
    LOAD_MEM(bga, a, 2, 2, 4); /* grey+alpha is widened to RGBA */
    LOAD_MEM(brgb, b, 2, 2, 3);
    LOAD_MEM(brgba, c, 2, 2, 4);
    for (int i = 0; i < 4; i++) {
        CHECK(a->pixels[4 * i] == ga[2 * i] && a->pixels[4 * i + 1] == ga[2 * i] &&
              a->pixels[4 * i + 2] == ga[2 * i] && a->pixels[4 * i + 3] == ga[2 * i + 1]);
    }
    CHECK(memcmp(b->pixels, rgb, sizeof rgb) == 0);
    CHECK(memcmp(c->pixels, rgba, sizeof rgba) == 0);
    dg_image_free(a);
    dg_image_free(b);
    dg_image_free(c);
    free(bga.data);
    free(brgb.data);
    free(brgba.data);
}

/* A drawing saved with a transparent background reads as RGBA whose transparent pixels
 * preprocess as background. */
DG_TEST(image_png_transparent_drawing_preprocesses)
{
    enum { W = 60, H = 80 };
    uint8_t *rgba = calloc(W * H * 4, 1);
    CHECK(rgba != NULL);
    for (int y = 10; y < 70; y++) {
        for (int x = 26; x < 34; x++) {
            rgba[(y * W + x) * 4 + 3] = 255; /* opaque black bar, the rest transparent black */
        }
    }
    buffer b = {0};
    CHECK(make_png(&b, W, H, 8, PNG_COLOR_TYPE_RGB_ALPHA, rgba, W * 4, NULL, 0, NULL, 0, 0));
    free(rgba);
    dg_image *img = NULL;
    LOAD_MEM(b, img, W, H, 4);
    free(b.data);
    uint8_t out[DG_MNIST_PIXELS];
    dg_preprocess_info info;
    CHECK_OK(dg_preprocess(img, out, &info));
    dg_image_free(img);
    CHECK(info.status == DG_PREP_OK);
    CHECK(info.box_x == 26 && info.box_w == 8 && info.box_y == 10 && info.box_h == 60);
    CHECK(out[14 * 28 + 14] == 255 && out[0] == 0);
}

DG_TEST(image_png_round_trip)
{
    const char *dir = test_tmp_dir();
    static const int channels[3] = {1, 3, 4};
    for (int k = 0; k < 3; k++) {
        dg_image *img = NULL, *back = NULL;
        CHECK_OK(dg_image_new(37, 19, channels[k], &img));
        for (size_t i = 0; i < (size_t)37 * 19 * channels[k]; i++) {
            img->pixels[i] = (uint8_t)(i * 7 + k);
        }
        char path[512];
        snprintf(path, sizeof path, "%s/round-%d.png", dir, channels[k]);
        CHECK_OK(dg_image_save_png(path, img));
        CHECK_OK(dg_image_save_png(path, img)); /* over an existing file */
        CHECK_OK(dg_image_load(path, &back));
        CHECK(back->w == 37 && back->h == 19 && back->channels == channels[k]);
        CHECK(memcmp(back->pixels, img->pixels, (size_t)37 * 19 * channels[k]) == 0);
        dg_image_free(img);
        dg_image_free(back);
    }
    /* only the three images are left: no temporary files */
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] != '.') {
            CHECK_MSG(strncmp(e->d_name, "round-", 6) == 0 && !strstr(e->d_name, "tmp"), "%s",
                      e->d_name);
            n++;
        }
    }
    closedir(d);
    CHECK(n == 3);
    /* a folder that does not exist, a bad image */
    dg_image *img = NULL;
    CHECK_OK(dg_image_new(2, 2, 1, &img));
    char path[512];
    snprintf(path, sizeof path, "%s/no/such/dir/x.png", dir);
    dg_status st = dg_image_save_png(path, img);
    CHECK(st == DG_ERR_NOT_FOUND || st == DG_ERR_IO);
    CHECK(message_ok(path));
    img->channels = 2;
    CHECK_STATUS(dg_image_save_png(tmp_path(dir, "bad.png"), img), DG_ERR_ARG);
    img->channels = 1;
    dg_image_free(img);
}

/* The common PNGs are read without libpng (image_png_direct.c): every row filter, one or
 * many IDAT chunks, grey, RGB and RGBA give back the pixels libpng wrote; a damaged one
 * still gets libpng's message. */
DG_TEST(image_png_direct_reader)
{
    enum { W = 61, H = 23 };
    static const int filters[6] = {PNG_FILTER_NONE, PNG_FILTER_SUB,   PNG_FILTER_UP,
                                   PNG_FILTER_AVG,  PNG_FILTER_PAETH, PNG_ALL_FILTERS};
    static const int colors[3] = {PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_RGB,
                                  PNG_COLOR_TYPE_RGB_ALPHA};
    uint8_t px[W * H * 4];
    for (int c = 0; c < 3; c++) {
        int comps = c == 0 ? 1 : c == 1 ? 3 : 4;
        uint32_t state = 12345;
        for (int i = 0; i < W * H * comps; i++) {
            state = state * 1103515245u + 12345u;
            int y = i / (W * comps), x = i % (W * comps);
            /* smooth ramps (Up, Average and Paeth pay) with noise on some rows (None pays),
             * and rows of runs of 20 grey pixels, the same two rows running (a drawing's
             * rows, which the sub and Paeth readers pass over eight pixels at a time) */
            px[i] = (uint8_t)(y % 5 == 0                 ? (int)(state >> 24)
                              : y % 5 == 2 || y % 5 == 3 ? 40 * (x / (20 * comps)) + 7 * (y / 5)
                                                         : 3 * x + 5 * y);
        }
        for (int f = 0; f < 6; f++) {
            buffer b = {0};
            png_writing how = {filters[f], f == 5 ? 64 : 0}; /* many small IDATs */
            CHECK(make_png_with(&b, W, H, 8, colors[c], px, (size_t)W * comps, NULL, 0, NULL, 0, 0,
                                how));
            dg_image *img = NULL;
            LOAD_MEM(b, img, W, H, comps);
            for (int y = 0; y < H; y++) {
                CHECK_MSG(memcmp(img->pixels + (size_t)y * W * comps, px + (size_t)y * W * comps,
                                 (size_t)W * comps) == 0,
                          "colour type %d, filters %d: row %d differs", colors[c], filters[f], y);
            }
            dg_image_free(img);
            /* a flipped bit in the last IDAT's CRC (before the 12 bytes of IEND): libpng's
             * message, not a picture */
            b.data[b.n - 14] ^= 0x10;
            CHECK_STATUS(dg_image_load_memory(b.data, b.n, &img), DG_ERR_FORMAT);
            CHECK_MSG(strstr(dg_last_error(), "CRC") != NULL, "%s", dg_last_error());
            free(b.data);
        }
    }
}

/* The stored (uncompressed) PNG writer: grey, RGB and RGBA, one deflate block and several
 * (a picture of more than 65,535 bytes of rows), read back the same by the direct reader and
 * by libpng itself. */
DG_TEST(image_png_stored_writer)
{
    static const int sizes[4][3] = {{28, 28, 1}, {200, 120, 3}, {37, 19, 4}, {1, 1, 1}};
    for (int k = 0; k < 4; k++) {
        int w = sizes[k][0], h = sizes[k][1], c = sizes[k][2];
        size_t n_px = (size_t)w * h * c;
        dg_image *img = NULL, *back = NULL;
        CHECK_OK(dg_image_new(w, h, c, &img));
        for (size_t i = 0; i < n_px; i++) {
            img->pixels[i] = (uint8_t)(i * 13 + (i >> 7) + k);
        }
        uint8_t *png = NULL;
        size_t n = 0;
        CHECK_OK(dg_image_encode_png_stored(img, &png, &n));
        CHECK(n > n_px + (size_t)h && n < n_px + (size_t)h + 100);
        CHECK_OK(dg_image_load_memory(png, n, &back));
        CHECK(back->w == w && back->h == h && back->channels == c);
        CHECK(memcmp(back->pixels, img->pixels, n_px) == 0);
        dg_image_free(back);
        png_image pi;
        memset(&pi, 0, sizeof pi);
        pi.version = PNG_IMAGE_VERSION;
        CHECK(png_image_begin_read_from_memory(&pi, png, n));
        CHECK((int)pi.width == w && (int)pi.height == h &&
              (int)PNG_IMAGE_PIXEL_CHANNELS(pi.format) == c);
        uint8_t *px = malloc(PNG_IMAGE_SIZE(pi));
        CHECK(px != NULL);
        int read = png_image_finish_read(&pi, NULL, px, 0, NULL);
        int same = read && memcmp(px, img->pixels, n_px) == 0;
        free(px);
        free(png);
        dg_image_free(img);
        CHECK_MSG(same, "%dx%dx%d: libpng reads other pixels", w, h, c);
    }
    dg_image bad = {2, 2, 2, (uint8_t[8]){0}};
    uint8_t *png = (uint8_t *)1;
    size_t n = 1;
    CHECK_STATUS(dg_image_encode_png_stored(&bad, &png, &n), DG_ERR_ARG);
    CHECK(png == NULL && n == 0);
}

/* ---------------------------------------------------------------- JPEG (libjpeg) */

/* Encodes w x h pixels (1 or 3 components) as JPEG into *out; progressive uses
 * jpeg_simple_progression; orientation > 0 adds an EXIF APP1 segment with that tag,
 * in little-endian (le) or big-endian TIFF order. */
static int make_jpeg(buffer *out, int w, int h, int comps, J_COLOR_SPACE space,
                     const uint8_t *pixels, int progressive, int orientation, int le)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    unsigned char *mem = NULL;
    unsigned long n_mem = 0;
    jpeg_mem_dest(&c, &mem, &n_mem);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = comps;
    c.in_color_space = space;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 95, TRUE);
    if (progressive) {
        jpeg_simple_progression(&c);
    }
    jpeg_start_compress(&c, TRUE);
    if (orientation > 0) {
        /* "Exif\0\0", TIFF header, IFD0 with one entry: 0x0112 SHORT 1 = orientation */
        uint8_t app1[6 + 8 + 2 + 12 + 4] = {'E', 'x', 'i', 'f', 0, 0};
        uint8_t *t = app1 + 6;
        uint8_t le_body[] = {
            'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, (uint8_t)orientation,
            0,   0,   0,  0, 0, 0, 0};
        uint8_t be_body[] = {'M',  'M',  0, 42, 0, 0, 0, 8, 0, 1,
                             0x01, 0x12, 0, 3,  0, 0, 0, 1, 0, (uint8_t)orientation,
                             0,    0,    0, 0,  0, 0};
        memcpy(t, le ? le_body : be_body, sizeof le_body);
        jpeg_write_marker(&c, JPEG_APP0 + 1, app1, sizeof app1);
    }
    for (int y = 0; y < h; y++) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)y * w * comps);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    int ok = buf_put(out, mem, n_mem);
    free(mem);
    return ok;
}

/* 32x16: left half black, right half white, each half whole 8x8 blocks. */
static void halves(uint8_t *px, int comps)
{
    for (int y = 0; y < 16; y++) {
        for (int x = 0; x < 32; x++) {
            for (int k = 0; k < comps; k++) {
                px[(y * 32 + x) * comps + k] = x < 16 ? 0 : 255;
            }
        }
    }
}

static int dark(const dg_image *img, int x, int y)
{
    return img->pixels[((size_t)y * img->w + x) * img->channels] < 40;
}

static int light(const dg_image *img, int x, int y)
{
    return img->pixels[((size_t)y * img->w + x) * img->channels] > 215;
}

DG_TEST(image_jpeg_baseline_and_progressive)
{
    uint8_t grey[32 * 16], rgb[32 * 16 * 3];
    halves(grey, 1);
    halves(rgb, 3);
    for (int prog = 0; prog <= 1; prog++) {
        buffer bg = {0}, bc = {0};
        CHECK(make_jpeg(&bg, 32, 16, 1, JCS_GRAYSCALE, grey, prog, 0, 0));
        CHECK(make_jpeg(&bc, 32, 16, 3, JCS_RGB, rgb, prog, 0, 0));
        dg_image *g = NULL, *c = NULL;
        LOAD_MEM(bg, g, 32, 16, 1);
        LOAD_MEM(bc, c, 32, 16, 3);
        CHECK(dark(g, 4, 8) && light(g, 28, 8) && dark(c, 4, 8) && light(c, 28, 8));
        dg_image_free(g);
        dg_image_free(c);
        free(bg.data);
        free(bc.data);
    }
}

DG_TEST(image_jpeg_exif_orientation)
{
    uint8_t rgb[32 * 16 * 3];
    halves(rgb, 3);
    /* orientation: size after turning upright, and where the black half must end up */
    static const struct {
        int o, le, w, h;
        int dark_x, dark_y, light_x, light_y;
    } cases[] = {
        {1, 0, 32, 16, 4, 8, 28, 8}, {2, 1, 32, 16, 28, 8, 4, 8}, {3, 0, 32, 16, 28, 8, 4, 8},
        {4, 1, 32, 16, 4, 8, 28, 8}, {5, 0, 16, 32, 8, 4, 8, 28}, {6, 1, 16, 32, 8, 4, 8, 28},
        {7, 0, 16, 32, 8, 28, 8, 4}, {8, 1, 16, 32, 8, 28, 8, 4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        buffer b = {0};
        CHECK(make_jpeg(&b, 32, 16, 3, JCS_RGB, rgb, (int)i % 2, cases[i].o, cases[i].le));
        dg_image *img = NULL;
        LOAD_MEM(b, img, cases[i].w, cases[i].h, 3);
        CHECK_MSG(dark(img, cases[i].dark_x, cases[i].dark_y) &&
                      light(img, cases[i].light_x, cases[i].light_y),
                  "orientation %d", cases[i].o);
        dg_image_free(img);
        free(b.data);
    }
    /* orientation 6 with a marked corner: the top-left source pixel goes top-right */
    uint8_t corner[32 * 16];
    memset(corner, 255, sizeof corner);
    for (int y = 0; y < 8; y++) {
        for (int x = 0; x < 8; x++) {
            corner[y * 32 + x] = 0;
        }
    }
    buffer b = {0};
    CHECK(make_jpeg(&b, 32, 16, 1, JCS_GRAYSCALE, corner, 0, 6, 0));
    dg_image *img = NULL;
    LOAD_MEM(b, img, 16, 32, 1);
    CHECK(dark(img, 12, 3) && light(img, 3, 3) && light(img, 12, 28));
    dg_image_free(img);
    free(b.data);
}

DG_TEST(image_jpeg_cmyk_unsupported)
{
    uint8_t cmyk[16 * 8 * 4];
    memset(cmyk, 100, sizeof cmyk);
    buffer b = {0};
    CHECK(make_jpeg(&b, 16, 8, 4, JCS_CMYK, cmyk, 0, 0, 0));
    dg_image *img = (dg_image *)1;
    CHECK_STATUS(dg_image_load_memory(b.data, b.n, &img), DG_ERR_UNSUPPORTED);
    CHECK(img == NULL);
    free(b.data);
}

/* w x h grey: black left of x = w / 4, white elsewhere. */
static uint8_t *quarter_dark(int w, int h)
{
    uint8_t *px = malloc((size_t)w * h);
    for (int i = 0; px && i < w * h; i++) {
        px[i] = i % w < w / 4 ? 0 : 255;
    }
    return px;
}

/* The reduced JPEG load: the most of 2, 4, 8 that keeps the longer side at least min_side,
 * each pixel its block's mean, the sizes rounded up; the source reports the file's size. */
DG_TEST(image_jpeg_reduced_sizes)
{
    static const struct {
        int w, h, comps, orientation, min_side;
        int want_w, want_h, reduction;
    } cases[] = {
        {256, 128, 1, 0, 32, 32, 16, 8}, {256, 128, 3, 0, 100, 128, 64, 2},
        {256, 128, 3, 0, 64, 64, 32, 4}, {256, 128, 1, 0, 129, 256, 128, 1},
        {250, 130, 3, 0, 32, 32, 17, 8}, {250, 130, 1, 0, 0, 250, 130, 1},
        {256, 128, 1, 6, 64, 32, 64, 4}, {256, 128, 3, 0, 4, 32, 16, 8},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int w = cases[i].w, h = cases[i].h, c = cases[i].comps;
        uint8_t *grey = quarter_dark(w, h), *px = malloc((size_t)w * h * c);
        CHECK(grey && px);
        for (int k = 0; k < w * h * c; k++) {
            px[k] = grey[k / c];
        }
        buffer b = {0};
        CHECK(make_jpeg(&b, w, h, c, c == 1 ? JCS_GRAYSCALE : JCS_RGB, px, (int)i % 2,
                        cases[i].orientation, 0));
        dg_image *img = NULL;
        dg_image_source src = {0, 0, 0};
        CHECK_OK(dg_image_load_memory_reduced(b.data, b.n, cases[i].min_side, &img, &src));
        CHECK_MSG(img->w == cases[i].want_w && img->h == cases[i].want_h && img->channels == c &&
                      src.reduction == cases[i].reduction,
                  "case %zu: got %dx%dx%d reduced by %d", i, img->w, img->h, img->channels,
                  src.reduction);
        int turned = cases[i].orientation >= 5;
        CHECK(src.w == (turned ? h : w) && src.h == (turned ? w : h));
        if (!turned) { /* the dark quarter stays a quarter: block means, not samples */
            CHECK(dark(img, 0, img->h / 2) && light(img, img->w - 1, img->h / 2));
            CHECK(dark(img, img->w / 4 - 2, 0) && light(img, img->w / 4 + 1, 0));
        }
        dg_image_free(img);
        /* the same file through a file path */
        const char *path = tmp_path(test_tmp_dir(), "reduced.jpg");
        CHECK(write_file(path, b.data, b.n));
        CHECK_OK(dg_image_load_reduced(path, cases[i].min_side, &img, NULL));
        CHECK(img->w == cases[i].want_w && img->h == cases[i].want_h);
        dg_image_free(img);
        free(b.data);
        free(px);
        free(grey);
    }
    /* other formats read at full size */
    static const char p2[] = "P2 4 2 9 0 1 2 3 4 5 6 7";
    dg_image *img = NULL;
    dg_image_source src = {0, 0, 0};
    CHECK_OK(dg_image_load_memory_reduced((const uint8_t *)p2, sizeof p2 - 1, 1, &img, &src));
    CHECK(img->w == 4 && img->h == 2 && src.w == 4 && src.h == 2 && src.reduction == 1);
    dg_image_free(img);
}

/* A JPEG whose frame header claims w x h: the SOF0 segment's height and width patched. */
static void patch_jpeg_size(buffer *b, unsigned w, unsigned h)
{
    for (size_t i = 0; i + 9 < b->n; i++) {
        if (b->data[i] == 0xff && b->data[i + 1] == 0xc0) {
            b->data[i + 5] = (uint8_t)(h >> 8);
            b->data[i + 6] = (uint8_t)h;
            b->data[i + 7] = (uint8_t)(w >> 8);
            b->data[i + 8] = (uint8_t)w;
            return;
        }
    }
}

/* The reduced load refuses what the full one refuses, with the same status: the limits
 * are the file's picture's, not the reduced one's. */
DG_TEST(image_jpeg_reduced_refuses_the_same)
{
    uint8_t *grey = quarter_dark(64, 48);
    CHECK(grey != NULL);
    buffer good = {0};
    CHECK(make_jpeg(&good, 64, 48, 1, JCS_GRAYSCALE, grey, 0, 0, 0));
    free(grey);
    buffer big = {0}, truncated = {0};
    CHECK(buf_put(&big, good.data, good.n) && buf_put(&truncated, good.data, good.n));
    patch_jpeg_size(&big, 60000, 60000); /* 3.6e9 pixels, past DG_IMAGE_MAX_PIXELS */
    truncated.n = good.n / 2;
    const buffer *files[] = {&big, &truncated, &good};
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        dg_image *full = (dg_image *)1, *reduced = (dg_image *)1;
        dg_status a = dg_image_load_memory(files[f]->data, files[f]->n, &full);
        dg_status b = dg_image_load_memory_reduced(files[f]->data, files[f]->n, 8, &reduced, NULL);
        CHECK_MSG(a == b, "file %zu: %s in full, %s reduced", f, dg_status_name(a),
                  dg_status_name(b));
        CHECK(f == 2 ? a == DG_OK : (full == NULL && reduced == NULL && message_ok("(memory)")));
        if (a == DG_OK) {
            CHECK(full->w == 64 && reduced->w == 8 && reduced->h == 6);
            dg_image_free(full);
            dg_image_free(reduced);
        }
    }
    dg_image *img = (dg_image *)1;
    CHECK_STATUS(dg_image_load_memory_reduced(big.data, big.n, 8, &img, NULL), DG_ERR_TOO_LARGE);
    CHECK_STATUS(dg_image_load_reduced("", 8, &img, NULL), DG_ERR_ARG);
    CHECK_STATUS(dg_image_load_memory_reduced(good.data, good.n, 8, NULL, NULL), DG_ERR_ARG);
    free(good.data);
    free(big.data);
    free(truncated.data);
}

/* ---------------------------------------------------------------- PGM, PPM, BMP */

DG_TEST(image_pnm_kinds)
{
    static const char p2[] = "P2\n# a comment\n3 2\n# another\n10\n0 5 10\n10 5 0\n";
    static const char p3[] = "P3 2 1 255 255 0 0  0 0 255";
    dg_image *img = NULL;
    CHECK_OK(dg_image_load_memory((const uint8_t *)p2, sizeof p2 - 1, &img));
    CHECK(img->w == 3 && img->h == 2 && img->channels == 1);
    CHECK(img->pixels[0] == 0 && img->pixels[1] == 128 && img->pixels[2] == 255 &&
          img->pixels[3] == 255);
    dg_image_free(img);
    CHECK_OK(dg_image_load_memory((const uint8_t *)p3, sizeof p3 - 1, &img));
    CHECK(img->w == 2 && img->h == 1 && img->channels == 3);
    CHECK(img->pixels[0] == 255 && img->pixels[1] == 0 && img->pixels[5] == 255);
    dg_image_free(img);

    uint8_t p5[64];
    int n = snprintf((char *)p5, sizeof p5, "P5\n2 2\n255\n");
    memcpy(p5 + n, "\x00\x40\x80\xff", 4);
    CHECK_OK(dg_image_load_memory(p5, (size_t)n + 4, &img));
    CHECK(img->channels == 1 && img->pixels[1] == 0x40 && img->pixels[3] == 0xff);
    dg_image_free(img);

    /* 16-bit P6: samples big-endian, scaled from 0..65535 */
    uint8_t p6[64];
    n = snprintf((char *)p6, sizeof p6, "P6 1 1 65535\n");
    memcpy(p6 + n, "\xff\xff\x80\x00\x00\x00", 6);
    CHECK_OK(dg_image_load_memory(p6, (size_t)n + 6, &img));
    CHECK(img->channels == 3 && img->pixels[0] == 255 && img->pixels[1] == 128 &&
          img->pixels[2] == 0);
    dg_image_free(img);
}

/* Writes a BMP: 40-byte header, bits 8 (grey palette), 24 or 32, rows bottom-up unless
 * top_down. pixels are RGB, w x h. */
static int make_bmp(buffer *out, int w, int h, int bits, int top_down, const uint8_t *rgb)
{
    int stride = ((w * bits + 31) / 32) * 4;
    int palette = bits == 8 ? 256 * 4 : 0;
    uint32_t offset = 14 + 40 + (uint32_t)palette, size = offset + (uint32_t)(stride * h);
    uint8_t head[54] = {'B', 'M'};
    uint32_t f[] = {size, 0, offset, 40};
    for (int i = 0; i < 4; i++) {
        for (int k = 0; k < 4; k++) {
            head[2 + 4 * i + k] = (uint8_t)(f[i] >> (8 * k));
        }
    }
    int32_t hh = top_down ? -h : h;
    for (int k = 0; k < 4; k++) {
        head[18 + k] = (uint8_t)((uint32_t)w >> (8 * k));
        head[22 + k] = (uint8_t)((uint32_t)hh >> (8 * k));
    }
    head[26] = 1;
    head[28] = (uint8_t)bits;
    if (!buf_put(out, head, sizeof head)) {
        return 0;
    }
    for (int i = 0; i < palette / 4; i++) {
        uint8_t e[4] = {(uint8_t)i, (uint8_t)i, (uint8_t)i, 0};
        buf_put(out, e, 4);
    }
    uint8_t *row = calloc((size_t)stride, 1);
    if (!row) {
        return 0;
    }
    for (int r = 0; r < h; r++) {
        int y = top_down ? r : h - 1 - r;
        for (int x = 0; x < w; x++) {
            const uint8_t *p = rgb + (y * w + x) * 3;
            if (bits == 8) {
                row[x] = p[0];
            } else {
                uint8_t *o = row + x * (bits / 8);
                o[0] = p[2];
                o[1] = p[1];
                o[2] = p[0];
                if (bits == 32) {
                    o[3] = 0;
                }
            }
        }
        buf_put(out, row, (size_t)stride);
    }
    free(row);
    return 1;
}

DG_TEST(image_bmp_kinds)
{
    enum { W = 5, H = 3 };
    uint8_t rgb[W * H * 3], grey[W * H * 3];
    for (int i = 0; i < W * H; i++) {
        rgb[3 * i] = (uint8_t)(i * 10);
        rgb[3 * i + 1] = (uint8_t)(200 - i * 10);
        rgb[3 * i + 2] = (uint8_t)(i * 3);
        grey[3 * i] = grey[3 * i + 1] = grey[3 * i + 2] = (uint8_t)(i * 17);
    }
    static const struct {
        int bits, top_down, channels;
    } cases[] = {{24, 0, 3}, {24, 1, 3}, {32, 0, 3}, {8, 0, 1}, {8, 1, 1}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        buffer b = {0};
        const uint8_t *src = cases[k].bits == 8 ? grey : rgb;
        CHECK(make_bmp(&b, W, H, cases[k].bits, cases[k].top_down, src));
        dg_image *img = NULL;
        LOAD_MEM(b, img, W, H, cases[k].channels);
        for (int i = 0; i < W * H; i++) {
            for (int c = 0; c < cases[k].channels; c++) {
                CHECK_MSG(img->pixels[i * cases[k].channels + c] == src[3 * i + c],
                          "case %zu pixel %d", k, i);
            }
        }
        dg_image_free(img);
        free(b.data);
    }
}

/* ---------------------------------------------------------------- broken files */

/* A PNG of noise, big enough that its image data spans many bytes. */
static int noise_png(buffer *b)
{
    enum { W = 64, H = 48 };
    uint8_t *px = malloc(W * H * 3);
    if (!px) {
        return 0;
    }
    dg_rng rng;
    dg_rng_seed(&rng, 5);
    for (int i = 0; i < W * H * 3; i++) {
        px[i] = (uint8_t)dg_rng_below(&rng, 256);
    }
    int ok = make_png(b, W, H, 8, PNG_COLOR_TYPE_RGB, px, W * 3, NULL, 0, NULL, 0, 0);
    free(px);
    return ok;
}

DG_TEST(image_truncated_png_and_jpeg)
{
    buffer png = {0}, jpg = {0};
    CHECK(noise_png(&png));
    uint8_t *px = malloc(64 * 48 * 3);
    CHECK(px != NULL);
    dg_rng rng;
    dg_rng_seed(&rng, 6);
    for (int i = 0; i < 64 * 48 * 3; i++) {
        px[i] = (uint8_t)dg_rng_below(&rng, 256);
    }
    CHECK(make_jpeg(&jpg, 64, 48, 3, JCS_RGB, px, 0, 0, 0));
    free(px);
    const char *dir = test_tmp_dir();
    const buffer *files[2] = {&png, &jpg};
    const char *names[2] = {"cut.png", "cut.jpg"};
    for (int f = 0; f < 2; f++) {
        size_t n = files[f]->n;
        size_t cuts[] = {1, 2, 4, 8, 16, 30, 50, 100, n / 3, n / 2, n - n / 4, n - 40};
        for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
            const char *path = tmp_path(dir, names[f]);
            CHECK(write_file(path, files[f]->data, cuts[k]));
            dg_image *img = (dg_image *)1;
            dg_status st = dg_image_load(path, &img);
            CHECK_MSG(st == DG_ERR_TRUNCATED || st == DG_ERR_FORMAT, "%s cut at %zu: %s (%s)",
                      names[f], cuts[k], dg_status_name(st), dg_last_error());
            CHECK(img == NULL);
            img = (dg_image *)1;
            CHECK_STATUS(dg_image_load_reduced(path, 8, &img, NULL), st);
            CHECK(img == NULL);
            CHECK_MSG(message_ok(path), "%s", dg_last_error());
        }
        dg_image *img = NULL;
        CHECK_OK(dg_image_load_memory(files[f]->data, n, &img)); /* whole: fine */
        dg_image_free(img);
    }
    /* a flipped bit in the middle of the PNG's image data: a CRC or inflate error */
    png.data[png.n / 2] ^= 0x10;
    dg_image *img = (dg_image *)1;
    CHECK_STATUS(dg_image_load_memory(png.data, png.n, &img), DG_ERR_FORMAT);
    CHECK(img == NULL && message_ok("(memory)"));
    free(png.data);
    free(jpg.data);
}

/* A PNG made of a signature and an IHDR chunk claiming w x h (and nothing after). */
static void huge_png_header(uint8_t out[33], uint32_t w, uint32_t h)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    memcpy(out, sig, 8);
    uint8_t chunk[4 + 4 + 13] = {0, 0, 0, 13, 'I', 'H', 'D', 'R'};
    for (int k = 0; k < 4; k++) {
        chunk[8 + k] = (uint8_t)(w >> (24 - 8 * k));
        chunk[12 + k] = (uint8_t)(h >> (24 - 8 * k));
    }
    chunk[16] = 8; /* depth */
    chunk[17] = 0; /* grey */
    memcpy(out + 8, chunk, sizeof chunk);
    uint32_t crc = (uint32_t)crc32(0, chunk + 4, 4 + 13);
    for (int k = 0; k < 4; k++) {
        out[29 + k] = (uint8_t)(crc >> (24 - 8 * k));
    }
}

DG_TEST(image_bad_headers)
{
    const char *dir = test_tmp_dir();
    dg_image *img = (dg_image *)1;
    uint8_t huge[33];
    huge_png_header(huge, 100000, 100000);
    CHECK_STATUS(dg_image_load_memory(huge, sizeof huge, &img), DG_ERR_TOO_LARGE);
    CHECK(img == NULL);
    huge_png_header(huge, 7000, 7000); /* within the limit, but no data for it */
    CHECK_STATUS(dg_image_load_memory(huge, sizeof huge, &img), DG_ERR_TRUNCATED);

    const char *gif = tmp_path(dir, "x.gif");
    CHECK(write_file(gif, "GIF89a\x01\x00\x01\x00\x00\x00\x00;", 14));
    CHECK_STATUS(dg_image_load(gif, &img), DG_ERR_UNSUPPORTED);
    CHECK(message_ok(gif) && strstr(dg_last_error(), ": not a PNG, JPEG, PGM/PPM or BMP image"));

    const char *empty = tmp_path(dir, "empty.png");
    CHECK(write_file(empty, "", 0));
    CHECK_STATUS(dg_image_load(empty, &img), DG_ERR_TRUNCATED);
    CHECK(message_ok(empty));
    CHECK_STATUS(dg_image_load(tmp_path(dir, "missing.png"), &img), DG_ERR_NOT_FOUND);
    CHECK_STATUS(dg_image_load(dir, &img), DG_ERR_IO);

    static const struct {
        const char *data;
        dg_status want;
    } pnm[] = {
        {"P2 2 2 0 0 0 0 0", DG_ERR_FORMAT},          /* maxval 0 */
        {"P2 2 2 70000 0 0 0 0", DG_ERR_FORMAT},      /* maxval too big */
        {"P5 4 4 255\n\x01\x02", DG_ERR_TRUNCATED},   /* 2 of 16 samples */
        {"P2 3 1 9 1 2", DG_ERR_TRUNCATED},           /* 2 of 3 samples */
        {"P2 2 1 9 1 12", DG_ERR_FORMAT},             /* sample above maxval */
        {"P2 2 1 9 1 x", DG_ERR_FORMAT},              /* not a number */
        {"P6 0 5 255\n", DG_ERR_FORMAT},              /* zero width */
        {"P5 100000 100000 255\n", DG_ERR_TOO_LARGE}, /* 1e10 pixels */
        {"P2 3", DG_ERR_TRUNCATED},                   /* header cut */
        {"P4 1 1 \x80", DG_ERR_UNSUPPORTED},          /* bitmap */
    };
    for (size_t i = 0; i < sizeof pnm / sizeof pnm[0]; i++) {
        dg_status st =
            dg_image_load_memory((const uint8_t *)pnm[i].data, strlen(pnm[i].data), &img);
        CHECK_MSG(st == pnm[i].want, "case %zu: %s (%s)", i, dg_status_name(st), dg_last_error());
        CHECK(img == NULL);
    }

    /* BMP: absurd sizes, an unknown header, pixels missing */
    buffer b = {0};
    uint8_t one[3] = {1, 2, 3};
    CHECK(make_bmp(&b, 1, 1, 24, 0, one));
    uint8_t *d = b.data;
    d[18] = 0xa0, d[19] = 0x86, d[20] = 0x01, d[21] = 0; /* width 100000 */
    d[22] = 0xa0, d[23] = 0x86, d[24] = 0x01, d[25] = 0; /* height 100000 */
    CHECK_STATUS(dg_image_load_memory(d, b.n, &img), DG_ERR_TOO_LARGE);
    d[18] = 0x40, d[19] = d[20] = d[21] = 0; /* 64 x 100000: within the limit, no data */
    d[22] = 0x40, d[23] = 0x0d, d[24] = 0x03, d[25] = 0;
    CHECK_STATUS(dg_image_load_memory(d, b.n, &img), DG_ERR_TRUNCATED);
    d[14] = 7; /* DIB header of 7 bytes */
    CHECK_STATUS(dg_image_load_memory(d, b.n, &img), DG_ERR_FORMAT);
    d[14] = 40;
    d[18] = d[19] = d[20] = d[21] = 0xff; /* width -1 */
    CHECK_STATUS(dg_image_load_memory(d, b.n, &img), DG_ERR_FORMAT);
    d[18] = 1, d[19] = d[20] = d[21] = 0;
    d[22] = 1, d[23] = d[24] = d[25] = 0;
    d[30] = 1; /* RLE8 compression */
    CHECK_STATUS(dg_image_load_memory(d, b.n, &img), DG_ERR_UNSUPPORTED);
    CHECK(img == NULL);
    free(b.data);

    CHECK_STATUS(dg_image_load_memory(NULL, 4, &img), DG_ERR_ARG);
    CHECK_STATUS(dg_image_load_memory((const uint8_t *)"P2", 2, NULL), DG_ERR_ARG);
    CHECK_STATUS(dg_image_new(0, 5, 1, &img), DG_ERR_ARG);
    CHECK_STATUS(dg_image_new(5, 5, 2, &img), DG_ERR_ARG);
    CHECK_STATUS(dg_image_new(100000, 100000, 1, &img), DG_ERR_TOO_LARGE);
    dg_image_free(NULL);
}

/* Every file in tests/data/bad/image is named for the status it must give:
 * "truncated-...", "format-...", "too-large-...", "unsupported-...". */
DG_TEST(image_bad_files_directory)
{
    static const struct {
        const char *prefix;
        dg_status status;
    } kinds[] = {{"truncated-", DG_ERR_TRUNCATED},
                 {"format-", DG_ERR_FORMAT},
                 {"too-large-", DG_ERR_TOO_LARGE},
                 {"unsupported-", DG_ERR_UNSUPPORTED}};
    char dir[512];
    snprintf(dir, sizeof dir, "%s/bad/image", test_data_dir());
    DIR *d = opendir(dir);
    CHECK_MSG(d != NULL, "no %s", dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') {
            continue;
        }
        int kind = -1;
        for (int k = 0; k < 4; k++) {
            if (strncmp(e->d_name, kinds[k].prefix, strlen(kinds[k].prefix)) == 0) {
                kind = k;
            }
        }
        CHECK_MSG(kind >= 0, "%s: not named for a status", e->d_name);
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        dg_image *img = (dg_image *)1;
        dg_status st = dg_image_load(path, &img);
        CHECK_MSG(st == kinds[kind].status, "%s: %s (%s)", e->d_name, dg_status_name(st),
                  dg_last_error());
        CHECK(img == NULL && message_ok(path));
        img = (dg_image *)1;
        st = dg_image_load_reduced(path, 8, &img, NULL); /* reduced: refused the same way */
        CHECK_MSG(st == kinds[kind].status, "%s reduced: %s (%s)", e->d_name, dg_status_name(st),
                  dg_last_error());
        CHECK(img == NULL && message_ok(path));
        n++;
    }
    closedir(d);
    CHECK(n >= 8);
}
