/*
 * surface.h - private to the chart modules (plot.c, report.c): a drawing target that is
 * either an RGB image (draw.c) or an SVG file (surface.c), so each chart is laid out once
 * and drawn to both. Coordinates follow draw.c: pixels, a pixel's centre at its integer
 * coordinates.
 */
#ifndef DG_SURFACE_H
#define DG_SURFACE_H

#include "digits.h"

#include <stdio.h>

/* The palette: dark text on white, one colour per series, red for anything wrong. */
#define INK        0x222222u
#define MUTED      0x666666u
#define FAINT      0xc8c8c8u
#define GRID       0xe8e8e8u
#define AXIS       0x555555u
#define WHITE      0xffffffu
#define TRAIN      0x1f77b4u /* blue */
#define VALIDATION 0xff7f0eu /* orange */
#define WRONG      0xd62728u /* red */
#define WRONG_BG   0xffe9e7u
#define RIGHT      0x1a7f37u /* green */
#define BAR        0xb4b4b4u
#define CELL_BLUE  0x2166acu

#define UNSURE 0xb26b00u /* dark orange: a best guess, not an answer */

typedef struct dg_surface {
    int w, h;
    dg_image *img; /* raster target (owned until dg_surface_finish or dg_surface_take) or NULL */
    FILE *svg;     /* SVG target or NULL */
    char *svg_tmp; /* temporary file the SVG is written to, renamed over the target */
} dg_surface;

/* Starts a w x h surface filled with background: SVG when path ends in ".svg", else an
 * image. path may be NULL (an image for dg_surface_take). */
dg_status dg_surface_start(dg_surface *c, int w, int h, dg_color background, const char *path);
/* Writes the surface to path (PNG or SVG, atomically) and releases it, also on failure. */
dg_status dg_surface_finish(dg_surface *c, const char *path);
/* Hands over the image of a raster surface (the caller frees it). */
dg_image *dg_surface_take(dg_surface *c);
/* Releases a surface without writing it (after a failure). */
void dg_surface_abandon(dg_surface *c);
/* Whether path names an SVG file (ends in ".svg", any case). */
int dg_surface_is_svg_path(const char *path);

void dg_surface_rect(dg_surface *c, int x, int y, int w, int h, dg_color color);
void dg_surface_frame(dg_surface *c, int x, int y, int w, int h, int thickness, dg_color color);
void dg_surface_line(dg_surface *c, double x0, double y0, double x1, double y1, double thickness,
                     dg_color color);
void dg_surface_disc(dg_surface *c, double cx, double cy, double radius, dg_color color);
/* Text with its top-left at (x, y); align -1 puts x at the left end, 0 at the centre, 1 at
 * the right end. */
void dg_surface_text(dg_surface *c, int x, int y, const char *text, int scale, dg_color color,
                     int align);
void dg_surface_grey(dg_surface *c, int x, int y, const uint8_t *grey, int w, int h, int scale);
void dg_surface_image(dg_surface *c, int x, int y, int w, int h, const dg_image *src);

/* Writes s (may be NULL) as text of an HTML or SVG file: & < > " ' escaped. With
 * font_ascii, every byte the built-in bitmap font cannot draw (anything but printable
 * ASCII) becomes '?', so an SVG says what the PNG shows; without it, UTF-8 passes and
 * control bytes other than tab are dropped. */
void dg_markup_text(FILE *f, const char *s, bool font_ascii);

#endif
