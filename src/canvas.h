/*
 * canvas.h - private to the chart modules (plot.c, report.c): a drawing target that is
 * either an RGB image (draw.c) or an SVG file (svg.c), so each chart is laid out once
 * and drawn to both. Coordinates follow draw.c: pixels, a pixel's centre at its integer
 * coordinates.
 */
#ifndef DG_CANVAS_H
#define DG_CANVAS_H

#include "digits.h"

#include <stdio.h>

typedef struct canvas {
    int w, h;
    dg_image *img; /* raster target (owned until canvas_finish or canvas_take) or NULL */
    FILE *svg;     /* SVG target or NULL */
    char *svg_tmp; /* temporary file the SVG is written to, renamed over the target */
} canvas;

/* Starts a w x h canvas filled with background: SVG when path ends in ".svg", else an
 * image. path may be NULL (an image for canvas_take). */
dg_status canvas_start(canvas *c, int w, int h, dg_color background, const char *path);
/* Writes the canvas to path (PNG or SVG, atomically) and releases it, also on failure. */
dg_status canvas_finish(canvas *c, const char *path);
/* Hands over the image of a raster canvas (the caller frees it). */
dg_image *canvas_take(canvas *c);
/* Releases a canvas without writing it (after a failure). */
void canvas_abandon(canvas *c);
/* Whether path names an SVG file (ends in ".svg", any case). */
int canvas_is_svg_path(const char *path);

void canvas_rect(canvas *c, int x, int y, int w, int h, dg_color color);
void canvas_frame(canvas *c, int x, int y, int w, int h, int thickness, dg_color color);
void canvas_line(canvas *c, double x0, double y0, double x1, double y1, double thickness,
                 dg_color color);
void canvas_disc(canvas *c, double cx, double cy, double radius, dg_color color);
/* Text with its top-left at (x, y); align -1 puts x at the left end, 0 at the centre, 1 at
 * the right end. */
void canvas_text(canvas *c, int x, int y, const char *text, int scale, dg_color color, int align);
void canvas_grey(canvas *c, int x, int y, const uint8_t *grey, int w, int h, int scale);
void canvas_image(canvas *c, int x, int y, int w, int h, const dg_image *src);

#endif
