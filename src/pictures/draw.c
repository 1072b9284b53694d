/*
 * draw.c - painting on RGB images: rectangles, anti-aliased lines and discs, grey pictures
 * scaled up, any image fitted into a box, and text in the built-in font (font.c).
 *
 * Pixels are [h][w][3] bytes. A pixel's centre sits at its integer coordinates, so a line
 * between integer points covers whole pixels. Anti-aliasing uses the distance from a
 * pixel's centre to the shape: coverage = clamp(half_width + 0.5 - distance, 0, 1), which
 * is exact for axis-aligned edges and close enough elsewhere. Every primitive clips to the
 * image and silently ignores images that are not RGB: drawing cannot fail.
 */
#include "digits.h"

#include <math.h>

static int is_rgb(const dg_image *img)
{
    return img && img->pixels && img->channels == 3 && img->w > 0 && img->h > 0;
}

static inline void put(dg_image *img, int x, int y, dg_color color)
{
    uint8_t *p = img->pixels + ((size_t)y * (size_t)img->w + (size_t)x) * 3;
    p[0] = (uint8_t)(color >> 16);
    p[1] = (uint8_t)(color >> 8);
    p[2] = (uint8_t)color;
}

/* Mixes color into pixel (x, y) with weight a in [0, 1]; the caller has clipped. */
static inline void blend(dg_image *img, int x, int y, dg_color color, double a)
{
    if (a <= 0.0) {
        return;
    }
    if (a >= 1.0) {
        put(img, x, y, color);
        return;
    }
    uint8_t *p = img->pixels + ((size_t)y * (size_t)img->w + (size_t)x) * 3;
    const int c[3] = {(int)(color >> 16) & 255, (int)(color >> 8) & 255, (int)color & 255};
    for (int i = 0; i < 3; i++) {
        p[i] = (uint8_t)lround(p[i] + (c[i] - p[i]) * a);
    }
}

dg_status dg_canvas_new(int w, int h, dg_color background, dg_image **out)
{
    if (!out) {
        return dg_fail(DG_ERR_ARG, "canvas: no output");
    }
    *out = NULL;
    dg_image *img = NULL;
    dg_status st = dg_image_new(w, h, 3, &img);
    if (st != DG_OK) {
        return st;
    }
    dg_draw_rect(img, 0, 0, w, h, background);
    *out = img;
    return DG_OK;
}

/* Clips the half-open span [lo, lo + len) to [0, limit); false when nothing is left. Works in
 * 64 bits so that huge rectangles cannot overflow. */
static int clip_span(int lo, int len, int limit, int *from, int *to)
{
    long long a = lo, b = (long long)lo + len;
    if (a < 0) {
        a = 0;
    }
    if (b > limit) {
        b = limit;
    }
    if (len <= 0 || a >= b) {
        return 0;
    }
    *from = (int)a;
    *to = (int)b;
    return 1;
}

void dg_draw_rect(dg_image *img, int x, int y, int w, int h, dg_color color)
{
    int x0, x1, y0, y1;
    if (!is_rgb(img) || !clip_span(x, w, img->w, &x0, &x1) || !clip_span(y, h, img->h, &y0, &y1)) {
        return;
    }
    for (int py = y0; py < y1; py++) {
        for (int px = x0; px < x1; px++) {
            put(img, px, py, color);
        }
    }
}

void dg_draw_frame(dg_image *img, int x, int y, int w, int h, int thickness, dg_color color)
{
    if (thickness <= 0 || w <= 0 || h <= 0) {
        return;
    }
    if (2 * (long long)thickness >= w || 2 * (long long)thickness >= h) {
        dg_draw_rect(img, x, y, w, h, color);
        return;
    }
    dg_draw_rect(img, x, y, w, thickness, color);
    dg_draw_rect(img, x, y + h - thickness, w, thickness, color);
    dg_draw_rect(img, x, y + thickness, thickness, h - 2 * thickness, color);
    dg_draw_rect(img, x + w - thickness, y + thickness, thickness, h - 2 * thickness, color);
}

/* Integer pixel range [*from, *to) that a shape spanning lo..hi (pixel coordinates) can touch,
 * clipped to [0, limit); false when empty or not finite. */
static int touched(double lo, double hi, int limit, int *from, int *to)
{
    if (!isfinite(lo) || !isfinite(hi)) {
        return 0;
    }
    double a = floor(lo), b = ceil(hi) + 1.0;
    if (a < 0.0) {
        a = 0.0;
    }
    if (b > limit) {
        b = limit;
    }
    if (a >= b) {
        return 0;
    }
    *from = (int)a;
    *to = (int)b;
    return 1;
}

/* Liang-Barsky: cuts the segment to the box [xmin, xmax] x [ymin, ymax]; false when it
 * misses the box. A cut end is put exactly on the boundary that cut it (interpolating
 * would lose it to rounding when the ends are as far as 1e300), so afterwards the
 * coordinates are small and squared lengths cannot overflow. */
static int clip_segment(double *x0, double *y0, double *x1, double *y1, double xmin, double ymin,
                        double xmax, double ymax)
{
    double dx = *x1 - *x0, dy = *y1 - *y0;
    if (!isfinite(dx) || !isfinite(dy)) {
        return 0; /* beyond any picture: not drawn */
    }
    const double p[4] = {-dx, dx, -dy, dy};
    const double q[4] = {*x0 - xmin, xmax - *x0, *y0 - ymin, ymax - *y0};
    const double edge[4] = {xmin, xmax, ymin, ymax};
    double t0 = 0.0, t1 = 1.0;
    int e0 = -1, e1 = -1; /* which boundary cut each end, -1 none */
    for (int i = 0; i < 4; i++) {
        if (p[i] == 0.0) {
            if (q[i] < 0.0) {
                return 0;
            }
            continue;
        }
        double t = q[i] / p[i];
        if (p[i] < 0.0 && t > t0) {
            t0 = t;
            e0 = i;
        } else if (p[i] > 0.0 && t < t1) {
            t1 = t;
            e1 = i;
        }
    }
    if (!(t0 <= t1)) {
        return 0;
    }
    double sx = *x0, sy = *y0;
    if (e0 >= 0) {
        *x0 = e0 < 2 ? edge[e0] : sx + (edge[e0] - sy) * (dx / dy);
        *y0 = e0 < 2 ? sy + (edge[e0] - sx) * (dy / dx) : edge[e0];
    }
    if (e1 >= 0) {
        *x1 = e1 < 2 ? edge[e1] : sx + (edge[e1] - sy) * (dx / dy);
        *y1 = e1 < 2 ? sy + (edge[e1] - sx) * (dy / dx) : edge[e1];
    }
    return isfinite(*x0) && isfinite(*y0) && isfinite(*x1) && isfinite(*y1);
}

void dg_draw_line(dg_image *img, double x0, double y0, double x1, double y1, double thickness,
                  dg_color color)
{
    if (!is_rgb(img) || !(thickness > 0.0)) {
        return;
    }
    /* lines thinner than a pixel are drawn one pixel wide and fainter */
    double fade = thickness < 1.0 ? thickness : 1.0;
    double half = (thickness < 1.0 ? 1.0 : thickness) / 2.0;
    if (!isfinite(x0) || !isfinite(y0) || !isfinite(x1) || !isfinite(y1) || !isfinite(half) ||
        !clip_segment(&x0, &y0, &x1, &y1, -half - 2.0, -half - 2.0, img->w + half + 2.0,
                      img->h + half + 2.0)) {
        return;
    }
    int px0, px1, py0, py1;
    if (!touched(fmin(x0, x1) - half - 1.0, fmax(x0, x1) + half + 1.0, img->w, &px0, &px1) ||
        !touched(fmin(y0, y1) - half - 1.0, fmax(y0, y1) + half + 1.0, img->h, &py0, &py1)) {
        return;
    }
    double dx = x1 - x0, dy = y1 - y0;
    double len2 = dx * dx + dy * dy;
    for (int py = py0; py < py1; py++) {
        for (int px = px0; px < px1; px++) {
            /* distance from the pixel centre to the nearest point of the segment */
            double t = len2 > 0.0 ? ((px - x0) * dx + (py - y0) * dy) / len2 : 0.0;
            t = t < 0.0 ? 0.0 : (t > 1.0 ? 1.0 : t);
            double ex = px - (x0 + t * dx), ey = py - (y0 + t * dy);
            double d = sqrt(ex * ex + ey * ey);
            double a = half + 0.5 - d;
            blend(img, px, py, color, (a > 1.0 ? 1.0 : a) * fade);
        }
    }
}

void dg_draw_disc(dg_image *img, double cx, double cy, double radius, dg_color color)
{
    if (!is_rgb(img) || !(radius > 0.0)) {
        return;
    }
    int px0, px1, py0, py1;
    if (!touched(cx - radius - 1.0, cx + radius + 1.0, img->w, &px0, &px1) ||
        !touched(cy - radius - 1.0, cy + radius + 1.0, img->h, &py0, &py1)) {
        return;
    }
    for (int py = py0; py < py1; py++) {
        for (int px = px0; px < px1; px++) {
            double d = hypot(px - cx, py - cy);
            double a = radius + 0.5 - d;
            blend(img, px, py, color, a > 1.0 ? 1.0 : a);
        }
    }
}

void dg_draw_grey(dg_image *img, int x, int y, const uint8_t *grey, int w, int h, int scale)
{
    if (!is_rgb(img) || !grey || w <= 0 || h <= 0 || scale <= 0) {
        return;
    }
    for (int gy = 0; gy < h; gy++) {
        for (int gx = 0; gx < w; gx++) {
            uint32_t v = 255u - grey[(size_t)gy * (size_t)w + (size_t)gx];
            dg_draw_rect(img, x + gx * scale, y + gy * scale, scale, scale,
                         (v << 16) | (v << 8) | v);
        }
    }
}

/* Colour of source pixel (sx, sy), alpha composited over white. */
static void source_rgb(const dg_image *src, size_t sx, size_t sy, double rgb[3])
{
    const uint8_t *p = src->pixels + (sy * (size_t)src->w + sx) * (size_t)src->channels;
    double alpha = 1.0;
    if (src->channels == 2 || src->channels == 4) {
        alpha = p[src->channels - 1] / 255.0;
    }
    for (int i = 0; i < 3; i++) {
        double v = src->channels >= 3 ? p[i] : p[0];
        rgb[i] = v * alpha + 255.0 * (1.0 - alpha);
    }
}

void dg_draw_image(dg_image *img, int x, int y, int w, int h, const dg_image *src)
{
    if (!is_rgb(img) || !src || !src->pixels || src->w <= 0 || src->h <= 0 || w <= 0 || h <= 0 ||
        src->channels < 1 || src->channels > 4) {
        return;
    }
    /* fit: the largest box with the source's aspect ratio inside w x h */
    double k = fmin((double)w / src->w, (double)h / src->h);
    int dw = (int)fmax(1.0, floor(src->w * k)), dh = (int)fmax(1.0, floor(src->h * k));
    int ox = x + (w - dw) / 2, oy = y + (h - dh) / 2;
    for (int dy = 0; dy < dh; dy++) {
        int py = oy + dy;
        if (py < 0 || py >= img->h) {
            continue;
        }
        /* the source rows this output row covers: averaging them shrinks photos smoothly,
         * and a single source pixel per output pixel enlarges small pictures crisply */
        size_t sy0 = (size_t)((double)dy * src->h / dh);
        size_t sy1 = (size_t)ceil((double)(dy + 1) * src->h / dh);
        sy1 = sy1 > (size_t)src->h ? (size_t)src->h : (sy1 <= sy0 ? sy0 + 1 : sy1);
        for (int dx = 0; dx < dw; dx++) {
            int px = ox + dx;
            if (px < 0 || px >= img->w) {
                continue;
            }
            size_t sx0 = (size_t)((double)dx * src->w / dw);
            size_t sx1 = (size_t)ceil((double)(dx + 1) * src->w / dw);
            sx1 = sx1 > (size_t)src->w ? (size_t)src->w : (sx1 <= sx0 ? sx0 + 1 : sx1);
            double sum[3] = {0, 0, 0}, rgb[3];
            for (size_t sy = sy0; sy < sy1; sy++) {
                for (size_t sx = sx0; sx < sx1; sx++) {
                    source_rgb(src, sx, sy, rgb);
                    sum[0] += rgb[0];
                    sum[1] += rgb[1];
                    sum[2] += rgb[2];
                }
            }
            double count = (double)((sy1 - sy0) * (sx1 - sx0));
            dg_color c = 0;
            for (int i = 0; i < 3; i++) {
                c = (c << 8) | (dg_color)lround(sum[i] / count);
            }
            put(img, px, py, c);
        }
    }
}

int dg_draw_text(dg_image *img, int x, int y, const char *text, int scale, dg_color color)
{
    int width = dg_text_width(text, scale);
    /* beyond any sensible size, and keeps y + row * scale from overflowing */
    if (!is_rgb(img) || width == 0 || scale > 4096) {
        return width;
    }
    long long cx = x;
    for (const unsigned char *s = (const unsigned char *)text; *s; s++) {
        if (cx >= img->w) {
            break;
        }
        if (cx + (long long)DG_FONT_W * scale > 0) {
            for (int gy = 0; gy < DG_FONT_H; gy++) {
                long long py = (long long)y + (long long)gy * scale;
                if (py >= img->h || py + scale <= 0) {
                    continue;
                }
                for (int gx = 0; gx < DG_FONT_W; gx++) {
                    if (dg_font_pixel(*s, gx, gy)) {
                        dg_draw_rect(img, (int)cx + gx * scale, (int)py, scale, scale, color);
                    }
                }
            }
        }
        cx += (long long)DG_FONT_W * scale;
    }
    return width;
}
