/*
 * surface.c - the surface the charts draw on (surface.h): each call goes either to the raster
 * primitives of draw.c or, when the output name ends in ".svg", to an SVG element.
 *
 * SVG coordinates are pixel edges while ours are pixel centres, so points move by half a
 * pixel; a rectangle of pixels x..x+w-1 is the SVG rectangle x..x+w. Text uses the
 * reader's monospace font stretched (textLength) to the width of the built-in font, so
 * the layout computed for the bitmap font holds. Pictures become runs of equal pixels per
 * row. The file is written beside the target and renamed over it when complete.
 */
#include "pictures/surface.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

int dg_surface_is_svg_path(const char *path)
{
    size_t n = path ? strlen(path) : 0;
    return n >= 4 && strcasecmp(path + n - 4, ".svg") == 0;
}

dg_status dg_surface_start(dg_surface *c, int w, int h, dg_color background, const char *path)
{
    memset(c, 0, sizeof *c);
    c->w = w;
    c->h = h;
    if (!dg_surface_is_svg_path(path)) {
        return dg_canvas_new(w, h, background, &c->img);
    }
    if (w <= 0 || h <= 0) {
        return dg_fail(DG_ERR_ARG, "%s: bad size %dx%d", path, w, h);
    }
    size_t n = strlen(path) + 8;
    c->svg_tmp = malloc(n);
    if (!c->svg_tmp) {
        return dg_fail(DG_ERR_NOMEM, "%s: out of memory", path);
    }
    snprintf(c->svg_tmp, n, "%s.XXXXXX", path);
    int fd = mkstemp(c->svg_tmp);
    if (fd < 0 || fchmod(fd, 0644) != 0 || !(c->svg = fdopen(fd, "w"))) {
        if (fd >= 0) {
            close(fd);
            remove(c->svg_tmp);
        }
        free(c->svg_tmp);
        c->svg_tmp = NULL;
        return dg_fail(DG_ERR_IO, "%s: cannot create a file there", path);
    }
    fprintf(c->svg,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\">\n<g stroke=\"none\">\n",
            w, h, w, h);
    dg_surface_rect(c, 0, 0, w, h, background);
    return DG_OK;
}

void dg_surface_abandon(dg_surface *c)
{
    dg_image_free(c->img);
    c->img = NULL;
    if (c->svg) {
        fclose(c->svg);
        c->svg = NULL;
        remove(c->svg_tmp);
    }
    free(c->svg_tmp);
    c->svg_tmp = NULL;
}

dg_image *dg_surface_take(dg_surface *c)
{
    dg_image *img = c->img;
    c->img = NULL;
    dg_surface_abandon(c);
    return img;
}

dg_status dg_surface_finish(dg_surface *c, const char *path)
{
    dg_status st = DG_OK;
    if (c->img) {
        st = dg_image_save_png(path, c->img);
    } else if (c->svg) {
        fputs("</g>\n</svg>\n", c->svg);
        int bad = fflush(c->svg) != 0 || ferror(c->svg) || fsync(fileno(c->svg)) != 0;
        bad |= fclose(c->svg) != 0;
        c->svg = NULL;
        if (bad || rename(c->svg_tmp, path) != 0) {
            remove(c->svg_tmp);
            st = dg_fail(DG_ERR_IO, "%s: cannot write the file", path);
        }
    } else {
        st = dg_fail(DG_ERR_ARG, "%s: nothing drawn", path);
    }
    dg_surface_abandon(c);
    return st;
}

void dg_surface_rect(dg_surface *c, int x, int y, int w, int h, dg_color color)
{
    if (c->img) {
        dg_draw_rect(c->img, x, y, w, h, color);
    } else if (c->svg && w > 0 && h > 0) {
        fprintf(c->svg, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#%06x\"/>\n", x,
                y, w, h, (unsigned)color & 0xffffffu);
    }
}

void dg_surface_frame(dg_surface *c, int x, int y, int w, int h, int thickness, dg_color color)
{
    if (c->img) {
        dg_draw_frame(c->img, x, y, w, h, thickness, color);
    } else if (c->svg && w > 0 && h > 0 && thickness > 0) {
        /* an SVG stroke straddles its path: inset it by half the thickness */
        double t = thickness, half = t / 2.0;
        fprintf(c->svg,
                "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"none\" "
                "stroke=\"#%06x\" stroke-width=\"%g\"/>\n",
                x + half, y + half, w - t, h - t, (unsigned)color & 0xffffffu, t);
    }
}

void dg_surface_line(dg_surface *c, double x0, double y0, double x1, double y1, double thickness,
                     dg_color color)
{
    if (c->img) {
        dg_draw_line(c->img, x0, y0, x1, y1, thickness, color);
    } else if (c->svg) {
        fprintf(c->svg,
                "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#%06x\" "
                "stroke-width=\"%g\" stroke-linecap=\"round\"/>\n",
                x0 + 0.5, y0 + 0.5, x1 + 0.5, y1 + 0.5, (unsigned)color & 0xffffffu, thickness);
    }
}

void dg_surface_disc(dg_surface *c, double cx, double cy, double radius, dg_color color)
{
    if (c->img) {
        dg_draw_disc(c->img, cx, cy, radius, color);
    } else if (c->svg) {
        fprintf(c->svg, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"%g\" fill=\"#%06x\"/>\n", cx + 0.5,
                cy + 0.5, radius, (unsigned)color & 0xffffffu);
    }
}

void dg_markup_text(FILE *f, const char *s, bool font_ascii)
{
    for (; s && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        switch (ch) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&#39;", f);
            break;
        default:
            if (font_ascii) {
                fputc(ch >= 32 && ch < 127 ? ch : '?', f);
            } else if (ch >= 32 || ch == '\t') {
                fputc(ch, f);
            }
        }
    }
}

void dg_surface_text(dg_surface *c, int x, int y, const char *text, int scale, dg_color color,
                     int align)
{
    int width = dg_text_width(text, scale);
    if (width == 0) {
        return;
    }
    int left = align < 0 ? x : (align == 0 ? x - width / 2 : x - width);
    if (c->img) {
        dg_draw_text(c->img, left, y, text, scale, color);
    } else if (c->svg) {
        /* baseline under font row 9; a monospace font of 13 px per scale has capitals
         * about as tall as the bitmap's 9 rows */
        fprintf(c->svg,
                "<text x=\"%d\" y=\"%d\" font-family=\"DejaVu Sans Mono, Menlo, Consolas, "
                "monospace\" font-size=\"%d\" textLength=\"%d\" lengthAdjust=\"spacingAndGlyphs\" "
                "style=\"white-space:pre\" fill=\"#%06x\">",
                left, y + 10 * scale, 13 * scale, width, (unsigned)color & 0xffffffu);
        dg_markup_text(c->svg, text, true);
        fputs("</text>\n", c->svg);
    }
}

/* Emits an RGB image as one rectangle per run of equal pixels in a row; white runs are
 * left to a white background rectangle. */
static void svg_pixels(FILE *f, int x, int y, const dg_image *img, int scale)
{
    fprintf(f, "<g shape-rendering=\"crispEdges\">\n");
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", x, y,
            img->w * scale, img->h * scale);
    for (int py = 0; py < img->h; py++) {
        const uint8_t *row = img->pixels + (size_t)py * (size_t)img->w * 3;
        int px = 0;
        while (px < img->w) {
            const uint8_t *p = row + (size_t)px * 3;
            int run = 1;
            while (px + run < img->w && !memcmp(row + (size_t)(px + run) * 3, p, 3)) {
                run++;
            }
            unsigned rgb = ((unsigned)p[0] << 16) | ((unsigned)p[1] << 8) | p[2];
            if (rgb != 0xffffffu) {
                fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#%06x\"/>\n",
                        x + px * scale, y + py * scale, run * scale, scale, rgb);
            }
            px += run;
        }
    }
    fprintf(f, "</g>\n");
}

void dg_surface_grey(dg_surface *c, int x, int y, const uint8_t *grey, int w, int h, int scale)
{
    if (c->img) {
        dg_draw_grey(c->img, x, y, grey, w, h, scale);
        return;
    }
    dg_image *tmp = NULL;
    if (!c->svg || !grey || scale <= 0 || dg_canvas_new(w, h, 0xffffff, &tmp) != DG_OK) {
        return;
    }
    dg_draw_grey(tmp, 0, 0, grey, w, h, 1);
    svg_pixels(c->svg, x, y, tmp, scale);
    dg_image_free(tmp);
}

void dg_surface_image(dg_surface *c, int x, int y, int w, int h, const dg_image *src)
{
    if (c->img) {
        dg_draw_image(c->img, x, y, w, h, src);
        return;
    }
    dg_image *tmp = NULL;
    if (!c->svg || dg_canvas_new(w, h, 0xffffff, &tmp) != DG_OK) {
        return;
    }
    dg_draw_image(tmp, 0, 0, w, h, src);
    svg_pixels(c->svg, x, y, tmp, 1);
    dg_image_free(tmp);
}
