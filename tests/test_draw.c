/*
 * test_draw.c - drawing primitives and the font: pixels land exactly where they should,
 * nothing outside is touched, every glyph stays in its cell.
 */
#include "test.h"

#include <stdlib.h>
#include <string.h>

static dg_color pixel(const dg_image *img, int x, int y)
{
    const uint8_t *p = img->pixels + ((size_t)y * (size_t)img->w + (size_t)x) * 3;
    return ((dg_color)p[0] << 16) | ((dg_color)p[1] << 8) | p[2];
}

/* Number of pixels that are not white. */
static int inked(const dg_image *img, int x0, int y0, int x1, int y1)
{
    int n = 0;
    for (int y = y0; y < y1; y++) {
        for (int x = x0; x < x1; x++) {
            n += pixel(img, x, y) != 0xffffff;
        }
    }
    return n;
}

DG_TEST(draw_canvas_filled)
{
    dg_image *img = NULL;
    CHECK_OK(dg_canvas_new(7, 5, 0x123456, &img));
    int ok = img->w == 7 && img->h == 5 && img->channels == 3;
    for (int y = 0; y < 5 && ok; y++) {
        for (int x = 0; x < 7; x++) {
            ok &= pixel(img, x, y) == 0x123456;
        }
    }
    dg_image_free(img);
    CHECK(ok);
    CHECK_STATUS(dg_canvas_new(0, 5, 0, &img), DG_ERR_ARG);
    CHECK(img == NULL);
}

DG_TEST(draw_rect_exact)
{
    dg_image *img = NULL;
    CHECK_OK(dg_canvas_new(20, 20, 0xffffff, &img));
    dg_draw_rect(img, 5, 6, 4, 3, 0xff0000); /* pixels x 5..8, y 6..8 */
    int corners = pixel(img, 5, 6) == 0xff0000 && pixel(img, 8, 6) == 0xff0000 &&
                  pixel(img, 5, 8) == 0xff0000 && pixel(img, 8, 8) == 0xff0000;
    int outside = pixel(img, 4, 6) == 0xffffff && pixel(img, 9, 6) == 0xffffff &&
                  pixel(img, 5, 5) == 0xffffff && pixel(img, 5, 9) == 0xffffff &&
                  pixel(img, 9, 9) == 0xffffff;
    int count = inked(img, 0, 0, 20, 20);
    dg_image_free(img);
    CHECK(corners);
    CHECK(outside);
    CHECK(count == 12);
}

DG_TEST(draw_rect_clipped)
{
    dg_image *img = NULL;
    CHECK_OK(dg_canvas_new(10, 10, 0xffffff, &img));
    dg_draw_rect(img, -3, -2, 5, 4, 0);                 /* only x 0..1, y 0..1 are inside */
    dg_draw_rect(img, 8, 8, 2147483647, 2147483647, 0); /* x, y 8..9 */
    dg_draw_rect(img, 3, 3, -4, 2, 0);                  /* empty */
    dg_draw_rect(img, 20, 20, 5, 5, 0);                 /* outside */
    int count = inked(img, 0, 0, 10, 10);
    int where = pixel(img, 1, 1) == 0 && pixel(img, 2, 1) == 0xffffff && pixel(img, 9, 9) == 0;
    dg_image_free(img);
    CHECK_MSG(count == 8, "%d pixels inked, want 8", count);
    CHECK(where);
}

DG_TEST(draw_frame_inside)
{
    dg_image *img = NULL;
    CHECK_OK(dg_canvas_new(20, 20, 0xffffff, &img));
    dg_draw_frame(img, 2, 3, 10, 8, 2, 0x0000ff); /* x 2..11, y 3..10 */
    int ok = pixel(img, 2, 3) == 0xff && pixel(img, 11, 10) == 0xff && pixel(img, 3, 4) == 0xff &&
             pixel(img, 4, 5) == 0xffffff && pixel(img, 1, 3) == 0xffffff &&
             pixel(img, 12, 10) == 0xffffff && pixel(img, 11, 11) == 0xffffff;
    int count = inked(img, 0, 0, 20, 20);
    dg_image_free(img);
    CHECK(ok);
    CHECK_MSG(count == 10 * 8 - 6 * 4, "%d pixels inked", count);
}

DG_TEST(draw_line_horizontal_exact)
{
    dg_image *img = NULL;
    CHECK_OK(dg_canvas_new(30, 20, 0xffffff, &img));
    dg_draw_line(img, 3, 10, 15, 10, 1.0, 0x000000);
    int ok = 1;
    for (int x = 3; x <= 15; x++) {
        ok &= pixel(img, x, 10) == 0;
    }
    int count = inked(img, 0, 0, 30, 20);
    dg_image_free(img);
    CHECK(ok);
    CHECK_MSG(count == 13, "%d pixels inked, want exactly the 13 of the line", count);
}

DG_TEST(draw_line_vertical_thick)
{
    dg_image *img = NULL;
    CHECK_OK(dg_canvas_new(20, 30, 0xffffff, &img));
    dg_draw_line(img, 10, 4, 10, 20, 3.0, 0x00ff00);
    /* thickness 3 centred on x = 10: columns 9..11 full, 8 and 12 untouched */
    int ok = 1;
    for (int y = 4; y <= 20; y++) {
        ok &= pixel(img, 9, y) == 0x00ff00 && pixel(img, 10, y) == 0x00ff00 &&
              pixel(img, 11, y) == 0x00ff00 && pixel(img, 8, y) == 0xffffff &&
              pixel(img, 12, y) == 0xffffff;
    }
    dg_image_free(img);
    CHECK(ok);
}

DG_TEST(draw_line_diagonal_antialiased)
{
    dg_image *img = NULL;
    CHECK_OK(dg_canvas_new(20, 20, 0xffffff, &img));
    dg_draw_line(img, 2, 2, 17, 12, 2.0, 0x000000);
    int ends = pixel(img, 2, 2) == 0 && pixel(img, 17, 12) == 0;
    /* partly covered pixels are grey, not black or white */
    int grey = 0;
    for (int y = 0; y < 20; y++) {
        for (int x = 0; x < 20; x++) {
            dg_color c = pixel(img, x, y);
            grey += c != 0 && c != 0xffffff;
        }
    }
    int far = pixel(img, 17, 2) == 0xffffff && pixel(img, 2, 12) == 0xffffff;
    dg_image_free(img);
    CHECK(ends);
    CHECK(grey > 0);
    CHECK(far);
}

DG_TEST(draw_line_offscreen_and_degenerate)
{
    dg_image *img = NULL;
    CHECK_OK(dg_canvas_new(10, 10, 0xffffff, &img));
    dg_draw_line(img, -1e300, 5, 1e300, 5, 1, 0); /* huge but finite */
    dg_draw_line(img, 0.0 / 0.0, 1, 5, 1, 1, 0);  /* NaN: nothing */
    dg_draw_line(img, 4, 4, 4, 4, 1, 0);          /* a point */
    dg_draw_line(img, 1, 1, 8, 1, 0, 0);          /* zero thickness: nothing */
    int point = pixel(img, 4, 4) == 0, row1 = inked(img, 0, 1, 10, 2);
    int row5 = inked(img, 0, 5, 10, 6), row6 = inked(img, 0, 6, 10, 7);
    dg_image_free(img);
    CHECK(point);
    CHECK(row5 == 10 && row6 == 0);
    CHECK(row1 == 0);
}

DG_TEST(draw_disc_round)
{
    dg_image *img = NULL;
    CHECK_OK(dg_canvas_new(21, 21, 0xffffff, &img));
    dg_draw_disc(img, 10, 10, 5, 0xff0000);
    int ok = pixel(img, 10, 10) == 0xff0000 && pixel(img, 14, 10) == 0xff0000 &&
             pixel(img, 10, 6) == 0xff0000 && pixel(img, 16, 10) == 0xffffff &&
             pixel(img, 14, 14) == 0xffffff && pixel(img, 10, 16) == 0xffffff;
    dg_image_free(img);
    CHECK(ok);
}

DG_TEST(draw_grey_scaled)
{
    dg_image *img = NULL;
    CHECK_OK(dg_canvas_new(10, 10, 0x00ff00, &img));
    const uint8_t grey[4] = {0, 255, 100, 0}; /* 2x2, MNIST: 255 is ink */
    dg_draw_grey(img, 1, 2, grey, 2, 2, 3);
    int ok = pixel(img, 1, 2) == 0xffffff && pixel(img, 3, 4) == 0xffffff &&
             pixel(img, 4, 2) == 0x000000 && pixel(img, 6, 4) == 0x000000 &&
             pixel(img, 1, 5) == 0x9b9b9b && pixel(img, 6, 7) == 0xffffff &&
             pixel(img, 0, 2) == 0x00ff00 && pixel(img, 7, 2) == 0x00ff00 &&
             pixel(img, 1, 8) == 0x00ff00;
    dg_image_free(img);
    CHECK(ok);
}

DG_TEST(draw_image_fits_box)
{
    dg_image *dst = NULL, *src = NULL;
    CHECK_OK(dg_canvas_new(20, 20, 0x00ff00, &dst));
    CHECK_OK(dg_image_new(2, 1, 1, &src));
    src->pixels[0] = 0;
    src->pixels[1] = 200;
    /* a 2x1 picture in a 10x10 box: 10x5, centred vertically (rows 2..6) */
    dg_draw_image(dst, 0, 0, 10, 10, src);
    int ok = pixel(dst, 0, 2) == 0 && pixel(dst, 4, 6) == 0 && pixel(dst, 5, 2) == 0xc8c8c8 &&
             pixel(dst, 9, 6) == 0xc8c8c8 && pixel(dst, 0, 1) == 0x00ff00 &&
             pixel(dst, 0, 7) == 0x00ff00 && pixel(dst, 10, 4) == 0x00ff00;
    dg_image_free(src);
    src = NULL;
    /* RGBA: transparent is white, half transparent red is pink; 4x4 averaged into 2x2 */
    CHECK_OK(dg_image_new(4, 4, 4, &src));
    for (int i = 0; i < 16; i++) {
        uint8_t *p = src->pixels + i * 4;
        p[0] = 255;
        p[1] = p[2] = 0;
        p[3] = i % 4 < 2 ? 0 : 255; /* left half transparent */
    }
    dg_draw_image(dst, 12, 12, 2, 2, src);
    ok &= pixel(dst, 12, 12) == 0xffffff && pixel(dst, 13, 13) == 0xff0000;
    dg_image_free(src);
    dg_image_free(dst);
    CHECK(ok);
}

DG_TEST(draw_ignores_non_rgb)
{
    dg_image *img = NULL;
    CHECK_OK(dg_image_new(4, 4, 1, &img));
    memset(img->pixels, 7, 16);
    dg_draw_rect(img, 0, 0, 4, 4, 0xffffff);
    dg_draw_line(img, 0, 0, 3, 3, 2, 0xffffff);
    dg_draw_text(img, 0, 0, "A", 1, 0xffffff);
    int same = 1;
    for (int i = 0; i < 16; i++) {
        same &= img->pixels[i] == 7;
    }
    dg_image_free(img);
    CHECK(same);
    dg_draw_rect(NULL, 0, 0, 1, 1, 0); /* no crash */
}

DG_TEST(font_glyphs_inside_cells)
{
    /* each glyph drawn in the middle of a 3x3 cell canvas: some ink, all of it in its cell */
    dg_image *img = NULL;
    CHECK_OK(dg_canvas_new(3 * DG_FONT_W, 3 * DG_FONT_H, 0xffffff, &img));
    for (int c = 33; c <= 126; c++) {
        dg_draw_rect(img, 0, 0, img->w, img->h, 0xffffff);
        char s[2] = {(char)c, 0};
        dg_draw_text(img, DG_FONT_W, DG_FONT_H, s, 1, 0);
        int in = inked(img, DG_FONT_W, DG_FONT_H, 2 * DG_FONT_W, 2 * DG_FONT_H);
        int all = inked(img, 0, 0, img->w, img->h);
        if (in == 0 || all != in) {
            dg_image_free(img);
            CHECK_MSG(0, "glyph '%c' (%d): %d pixels in its cell, %d in all", c, c, in, all);
        }
        /* the last column is spacing: neighbouring glyphs never touch */
        for (int gy = 0; gy < DG_FONT_H; gy++) {
            if (dg_font_pixel((unsigned char)c, DG_FONT_W - 1, gy)) {
                dg_image_free(img);
                CHECK_MSG(0, "glyph '%c' inks its spacing column", c);
            }
        }
    }
    dg_image_free(img);
    for (int gy = 0; gy < DG_FONT_H; gy++) {
        for (int gx = 0; gx < DG_FONT_W; gx++) {
            CHECK(!dg_font_pixel(' ', gx, gy));
        }
    }
    CHECK(!dg_font_pixel('A', -1, 0) && !dg_font_pixel('A', 0, DG_FONT_H));
}

DG_TEST(font_glyphs_distinct)
{
    /* a copy-paste slip in the sheet would make two characters look the same */
    for (int a = 33; a <= 126; a++) {
        for (int b = a + 1; b <= 126; b++) {
            int same = 1;
            for (int gy = 0; gy < DG_FONT_H && same; gy++) {
                for (int gx = 0; gx < DG_FONT_W && same; gx++) {
                    same = dg_font_pixel((unsigned char)a, gx, gy) ==
                           dg_font_pixel((unsigned char)b, gx, gy);
                }
            }
            CHECK_MSG(!same, "'%c' and '%c' have the same glyph", a, b);
        }
    }
}

DG_TEST(font_text_width)
{
    CHECK(dg_text_width("hello", 1) == 5 * DG_FONT_W);
    CHECK(dg_text_width("hello", 3) == 5 * DG_FONT_W * 3);
    CHECK(dg_text_width("", 2) == 0);
    CHECK(dg_text_width(NULL, 2) == 0);
    CHECK(dg_text_width("x", 0) == 0);
    dg_image *img = NULL;
    CHECK_OK(dg_canvas_new(200, 40, 0xffffff, &img));
    int w = dg_draw_text(img, 2, 2, "Hi 42", 2, 0);
    /* scale 2: every font pixel is a 2x2 block, so the ink is 4 x the glyph pixels */
    int glyph = 0;
    for (const char *s = "Hi 42"; *s; s++) {
        for (int gy = 0; gy < DG_FONT_H; gy++) {
            for (int gx = 0; gx < DG_FONT_W; gx++) {
                glyph += dg_font_pixel((unsigned char)*s, gx, gy);
            }
        }
    }
    int ink = inked(img, 0, 0, 200, 40);
    int right = inked(img, 2 + w, 0, 200, 40);
    dg_image_free(img);
    CHECK(w == dg_text_width("Hi 42", 2));
    CHECK_MSG(ink == 4 * glyph, "%d pixels inked, want %d", ink, 4 * glyph);
    CHECK(right == 0);
}

DG_TEST(font_text_clipped_and_odd_bytes)
{
    dg_image *img = NULL;
    CHECK_OK(dg_canvas_new(20, 10, 0xffffff, &img));
    dg_draw_text(img, -5, -7, "WWWWWWWWWW", 1, 0);
    dg_draw_text(img, 2147483600, 2147483600, "X", 3, 0);
    dg_draw_text(img, 0, 0, "\x01\xff", 1, 0); /* drawn as '?' */
    dg_image_free(img);
    int same = 1;
    for (int gy = 0; gy < DG_FONT_H; gy++) {
        for (int gx = 0; gx < DG_FONT_W; gx++) {
            same &= dg_font_pixel(0xff, gx, gy) == dg_font_pixel('?', gx, gy);
        }
    }
    CHECK(same);
}

DG_TEST(draw_png_round_trip)
{
    dg_image *img = NULL, *back = NULL;
    CHECK_OK(dg_canvas_new(64, 32, 0xffffff, &img));
    dg_draw_text(img, 4, 4, "ok 7", 2, 0x1f77b4);
    dg_draw_line(img, 0, 31, 63, 0, 2, 0xd62728);
    char path[512];
    snprintf(path, sizeof path, "%s/canvas.png", test_tmp_dir());
    dg_status st = dg_image_save_png(path, img);
    if (st == DG_OK) {
        st = dg_image_load(path, &back);
    }
    int same = st == DG_OK && back->w == 64 && back->h == 32 && back->channels == 3 &&
               !memcmp(back->pixels, img->pixels, 64 * 32 * 3);
    dg_image_free(img);
    dg_image_free(back);
    CHECK_OK(st);
    CHECK(same);
}
