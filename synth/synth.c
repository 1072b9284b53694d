/*
 * synth.c - synthetic handwritten digits and numbers, for samples, tests and benchmarks.
 *
 * A digit is a few pen strokes from a hand-designed template: a path in a box 100 units
 * high and about 60 wide (x right, y down). Per sample the template is perturbed: control
 * points jittered, a smooth elastic field added, strokes maybe broken or detached, then
 * stretched, rotated and sheared. Strokes are flattened into short segments (<= 3 units)
 * and drawn as capsules whose coverage is the distance from each pixel centre to the
 * segment, which anti-aliases without supersampling. The coverage map, alpha [h][w] floats
 * in 0..1, is then blurred and textured and composed over a background: a Paint canvas,
 * lit and noisy paper with printed lines and specks, a dark screen, or an MNIST frame.
 */
#include "synth/synth.h"

#include "synth/photo.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PI_F            3.14159265f
#define MAX_DIGITS      32
#define MAX_STROKES     12
#define MAX_POINTS      2048
#define MAX_VARIANTS    4
#define STEP_UNITS      3.0f /* longest flattened segment, template units */
#define MAX_CANVAS_SIDE 30000

/*
 * Stroke templates. Commands, coordinates in template units:
 *   M x y                 pen down at a new point (a new stroke)
 *   L x y                 line to
 *   Q cx cy x y           quadratic Bezier to
 *   C ax ay bx by x y     cubic Bezier to
 *   E cx cy rx ry a0 da   a new stroke along an ellipse arc from angle a0 sweeping da
 *   A cx cy rx ry a0 da   the same arc continuing the current stroke
 * Angles in degrees, 0 = right, 90 = down; a negative sweep runs anticlockwise on screen,
 * which is how most people draw a 0 or the loop of a 9.
 */
static const char *const templates[10][MAX_VARIANTS] = {
    {
        "E 30 50 28 50 -100 -385",
        "E 29 50 23 50 -75 -335",
        "M 36 4 C 14 -4 0 28 2 56 C 4 86 18 100 32 99 C 50 98 60 74 58 44 C 56 16 46 2 28 6",
    },
    {
        "M 32 0 L 30 100",
        "M 10 24 L 36 0 L 34 100",
        "M 10 22 L 36 0 L 34 100 M 12 100 L 58 99",
    },
    {
        "M 4 24 C 6 4 24 -1 34 0 C 52 1 60 14 58 30 C 55 50 26 74 4 100 L 62 98",
        "M 4 22 C 8 2 26 -1 36 0 C 54 2 60 16 56 32 C 52 50 30 72 12 90 C 4 98 -4 88 4 80 "
        "C 10 74 20 82 16 90 C 12 98 20 100 62 96",
        "M 4 18 Q 30 -12 54 14 L 4 98 L 62 98",
    },
    {
        "M 6 14 C 18 -4 54 -4 54 20 C 54 38 36 46 24 46 C 46 46 62 58 60 76 C 58 98 24 104 4 86",
        "M 6 2 L 56 2 L 26 42 C 50 38 64 56 60 76 C 56 98 22 104 4 86",
        "M 4 12 C 22 -6 56 0 50 22 C 46 36 30 44 18 46 C 48 44 66 66 56 84 C 46 102 14 100 2 88",
    },
    {
        "M 42 0 L 2 66 L 62 66 M 42 0 L 44 100",
        "M 14 0 L 6 60 L 62 60 M 46 16 L 46 100",
        "M 46 100 L 46 0 L 2 64 L 64 64",
    },
    {
        "M 14 2 L 10 44 C 30 32 58 38 58 66 C 58 94 28 104 4 88 M 14 2 L 56 2",
        "M 56 0 L 14 0 L 10 44 C 30 32 58 38 58 66 C 58 94 28 104 4 88",
        "M 16 2 L 12 40 C 44 30 62 50 56 74 C 50 100 16 100 6 84 M 16 2 L 58 0",
    },
    {
        "M 50 4 C 24 10 4 40 4 68 C 4 90 16 100 32 100 C 50 100 60 88 60 72 C 60 56 48 48 34 48 "
        "C 20 48 8 56 5 68",
        "M 46 0 L 10 56 C 0 80 10 100 32 100 C 50 100 60 88 58 72 C 56 56 44 50 32 50 "
        "C 20 50 10 60 8 70",
        "M 52 2 C 26 10 8 40 7 70 A 32 74 25 25 180 -350",
    },
    {
        "M 4 2 L 60 2 L 22 100",
        "M 4 2 L 60 2 L 22 100 M 18 52 L 54 50",
        "M 4 14 L 6 2 L 60 2 C 44 30 32 60 28 100",
    },
    {
        "M 54 14 C 48 -2 12 -4 10 18 C 8 36 50 46 56 70 C 62 94 40 102 30 100 C 12 100 2 88 4 74 "
        "C 8 54 52 40 52 20 C 52 16 53 14 54 12",
        "E 30 24 20 23 -90 -360 E 30 72 27 27 -90 360",
        "M 40 48 C 60 36 56 0 30 0 C 6 0 6 38 26 46 C 48 54 60 66 58 82 C 56 98 40 100 30 100 "
        "C 14 100 2 90 4 76 C 6 62 20 52 40 48",
    },
    {
        "E 30 24 24 22 -10 -370 L 52 100",
        "E 30 24 24 22 -10 -370 C 54 60 46 88 20 100",
        "E 28 24 24 22 0 -360 M 50 4 L 50 100",
    },
};

/* One digit as flattened strokes in template units. */
typedef struct glyph {
    int n_strokes;
    int start[MAX_STROKES + 1]; /* stroke s is points [start[s], start[s+1]) */
    int n;                      /* points in use */
    float x[MAX_POINTS], y[MAX_POINTS];
    float width[MAX_POINTS];      /* pen width multiplier at each point */
    uint8_t skip[MAX_POINTS];     /* 1: the segment from this point to the next is not drawn */
    float minx, miny, maxx, maxy; /* bounding box of the centre lines */
    float max_width;              /* largest pen width multiplier */
} glyph;

/* Per-digit perturbation, drawn from the rng before the glyph is built. */
typedef struct shape_params {
    float jitter;      /* control point noise, units */
    float elastic_amp; /* elastic field amplitude, units */
    float kx[2], ky[2], phase[4];
    float rotation; /* radians */
    float slant, aspect, scale;
    float pressure;
    int variant;
    bool broken;
} shape_params;

int dg_synth_variant_count(int digit)
{
    if (digit < 0 || digit > 9) {
        return 0;
    }
    int n = 0;
    while (n < MAX_VARIANTS && templates[digit][n]) {
        n++;
    }
    return n;
}

void dg_synth_style_default(dg_synth_style *style)
{
    memset(style, 0, sizeof *style);
    style->canvas = DG_SYNTH_PAINT;
    style->channels = 3;
    style->height = 100;
    style->stroke = 0.08f;
    style->aspect = 1.0f;
    style->variant = -1;
    style->paper[0] = style->paper[1] = style->paper[2] = 255;
    style->antialias = true;
    style->gap = 0.15f;
    style->margin = 0.4f;
}

static float uniform(dg_rng *rng, float lo, float hi)
{
    return lo + (hi - lo) * dg_rng_uniform(rng);
}

static float clampf(float v, float lo, float hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static uint8_t jitter_byte(dg_rng *rng, int base, int spread)
{
    int v = base + (int)dg_rng_below(rng, (uint32_t)(2 * spread + 1)) - spread;
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

static void set_rgb(uint8_t *c, dg_rng *rng, int r, int g, int b, int spread)
{
    /* one shared shift keeps a tint's hue while varying its brightness */
    int shift = (int)dg_rng_below(rng, (uint32_t)(2 * spread + 1)) - spread;
    c[0] = jitter_byte(rng, r + shift, spread / 8);
    c[1] = jitter_byte(rng, g + shift, spread / 8);
    c[2] = jitter_byte(rng, b + shift, spread / 8);
}

/* Pen width (fraction of height) of a pen kind drawn at random for a digit height. */
static float random_stroke(dg_rng *rng, int height)
{
    float u = dg_rng_uniform(rng);
    if (u < 0.15f) {
        return uniform(rng, 1.0f, 2.2f) / (float)height; /* hairline, 1-2 px */
    }
    if (u < 0.50f) {
        return uniform(rng, 0.025f, 0.05f); /* ballpoint */
    }
    if (u < 0.75f) {
        return uniform(rng, 0.05f, 0.08f); /* felt tip, brush */
    }
    return uniform(rng, 0.08f, 0.12f); /* marker */
}

static void random_paint(dg_rng *rng, dg_synth_style *s)
{
    s->height = (int)expf(uniform(rng, logf(40.0f), logf(300.0f)));
    s->stroke = random_stroke(rng, s->height);
    s->antialias = dg_rng_uniform(rng) < 0.6f;
    float u = dg_rng_uniform(rng);
    if (u < 0.75f) {
        set_rgb(s->ink, rng, 0, 0, 0, 0);
    } else if (u < 0.85f) {
        set_rgb(s->ink, rng, 20, 40, 200, 30); /* a palette blue */
    } else if (u < 0.93f) {
        set_rgb(s->ink, rng, 200, 20, 30, 30); /* a palette red */
    } else {
        set_rgb(s->ink, rng, 60, 60, 60, 30);
    }
    s->paper[0] = s->paper[1] = s->paper[2] = 255;
    s->margin = uniform(rng, 0.2f, 2.5f);
}

static void random_paper(dg_rng *rng, dg_synth_style *s)
{
    s->height = (int)expf(uniform(rng, logf(40.0f), logf(250.0f)));
    s->channels = dg_rng_uniform(rng) < 0.3f ? 1 : 3;
    float u = dg_rng_uniform(rng);
    if (u < 0.35f) {
        set_rgb(s->paper, rng, 244, 244, 242, 10); /* scanner white */
    } else if (u < 0.6f) {
        set_rgb(s->paper, rng, 236, 226, 200, 14); /* beige, recycled paper */
    } else {
        set_rgb(s->paper, rng, 185, 182, 176, 40); /* phone photo under room light */
    }
    u = dg_rng_uniform(rng);
    s->stroke = random_stroke(rng, s->height);
    s->pressure = uniform(rng, 0.1f, 0.6f);
    if (u < 0.45f) {
        set_rgb(s->ink, rng, 25, 45, 150, 25); /* blue ballpoint */
        s->grain = uniform(rng, 0.05f, 0.35f);
        s->stroke = fminf(s->stroke, 0.06f);
    } else if (u < 0.75f) {
        set_rgb(s->ink, rng, 28, 28, 32, 20); /* black pen or marker */
        s->grain = uniform(rng, 0.0f, 0.2f);
    } else {
        set_rgb(s->ink, rng, 85, 85, 90, 20); /* pencil */
        s->grain = uniform(rng, 0.4f, 0.8f);
        s->stroke = fminf(s->stroke, 0.05f);
    }
    s->noise = uniform(rng, 1.5f, 9.0f);
    s->lighting = uniform(rng, 0.0f, 0.8f);
    s->blur = dg_rng_uniform(rng) < 0.5f ? 0.0f : uniform(rng, 0.5f, 2.0f);
    u = dg_rng_uniform(rng);
    s->lines = u < 0.5f   ? DG_SYNTH_LINES_NONE
               : u < 0.8f ? DG_SYNTH_LINES_RULED
                          : DG_SYNTH_LINES_GRID;
    s->specks = dg_rng_uniform(rng) < 0.5f ? 0.0f : uniform(rng, 0.1f, 3.0f);
    s->margin = uniform(rng, 0.3f, 1.5f);
}

static void random_dark(dg_rng *rng, dg_synth_style *s)
{
    s->height = (int)expf(uniform(rng, logf(40.0f), logf(300.0f)));
    s->stroke = random_stroke(rng, s->height);
    if (dg_rng_uniform(rng) < 0.7f) {
        set_rgb(s->paper, rng, 18, 18, 20, 18); /* dark-mode drawing app */
        set_rgb(s->ink, rng, 245, 245, 245, 10);
    } else {
        set_rgb(s->paper, rng, 45, 62, 52, 12); /* blackboard and chalk */
        set_rgb(s->ink, rng, 225, 228, 220, 15);
        s->grain = uniform(rng, 0.3f, 0.7f);
        s->noise = uniform(rng, 1.0f, 5.0f);
        s->lighting = uniform(rng, 0.0f, 0.4f);
    }
    s->margin = uniform(rng, 0.2f, 2.0f);
}

void dg_synth_random_style(dg_rng *rng, dg_synth_style *s)
{
    dg_synth_style_default(s);
    float u = dg_rng_uniform(rng);
    s->canvas = u < 0.30f   ? DG_SYNTH_PAINT
                : u < 0.75f ? DG_SYNTH_PAPER
                : u < 0.87f ? DG_SYNTH_DARK
                            : DG_SYNTH_MNIST;
    switch (s->canvas) {
    case DG_SYNTH_PAINT:
        random_paint(rng, s);
        break;
    case DG_SYNTH_PAPER:
        random_paper(rng, s);
        break;
    case DG_SYNTH_DARK:
        random_dark(rng, s);
        break;
    default:
        s->channels = 1;
        s->height = 20;
        s->stroke = uniform(rng, 0.1f, 0.2f);
        s->pressure = uniform(rng, 0.0f, 0.4f);
        break;
    }
    s->slant = clampf(0.1f * dg_rng_normal(rng), -0.3f, 0.3f);
    s->rotation = clampf(6.0f * dg_rng_normal(rng), -15.0f, 15.0f);
    s->aspect = uniform(rng, 0.75f, 1.15f);
    s->jitter = uniform(rng, 0.015f, 0.05f);
    s->gap = dg_rng_uniform(rng) < 0.2f ? uniform(rng, -0.06f, 0.02f) : uniform(rng, 0.04f, 0.4f);
    s->broken = dg_rng_uniform(rng) < 0.3f ? uniform(rng, 0.2f, 0.8f) : 0.0f;
}

/* ---------------------------------------------------------------- glyph building */

/* Template point (x, y) after control point jitter and the smooth elastic field. */
static void perturb(const shape_params *sp, dg_rng *rng, float *x, float *y)
{
    float px = *x, py = *y;
    float ex = sp->elastic_amp * sinf(sp->kx[0] * px + sp->ky[0] * py + sp->phase[0]) +
               0.5f * sp->elastic_amp * sinf(sp->kx[1] * px + sp->ky[1] * py + sp->phase[1]);
    float ey = sp->elastic_amp * sinf(sp->ky[0] * px - sp->kx[0] * py + sp->phase[2]) +
               0.5f * sp->elastic_amp * sinf(sp->ky[1] * px - sp->kx[1] * py + sp->phase[3]);
    *x = px + ex + sp->jitter * dg_rng_normal(rng);
    *y = py + ey + sp->jitter * dg_rng_normal(rng);
}

static void glyph_point(glyph *g, float x, float y)
{
    /* templates are ours and short; running out means a template is broken */
    assert(g->n < MAX_POINTS);
    if (g->n >= MAX_POINTS) {
        return; /* built without asserts: a shorter stroke, never an overflow */
    }
    g->x[g->n] = x;
    g->y[g->n] = y;
    g->width[g->n] = 1.0f;
    g->skip[g->n] = 0;
    g->n++;
}

static void glyph_begin_stroke(glyph *g)
{
    assert(g->n_strokes < MAX_STROKES);
    if (g->n_strokes >= MAX_STROKES) {
        return; /* built without asserts: the extra stroke continues the last one */
    }
    g->start[g->n_strokes++] = g->n;
    g->start[g->n_strokes] = g->n;
}

static void glyph_end_stroke(glyph *g)
{
    if (g->n_strokes > 0) {
        g->start[g->n_strokes] = g->n;
    }
}

static int steps_for(float length)
{
    int n = (int)ceilf(length / STEP_UNITS);
    return n < 1 ? 1 : n > 200 ? 200 : n;
}

/* Appends the points of a cubic Bezier from the current point (the last one). */
static void glyph_cubic(glyph *g, float ax, float ay, float bx, float by, float x, float y)
{
    float x0 = g->x[g->n - 1], y0 = g->y[g->n - 1];
    float len = hypotf(ax - x0, ay - y0) + hypotf(bx - ax, by - ay) + hypotf(x - bx, y - by);
    int n = steps_for(len);
    for (int i = 1; i <= n; i++) {
        float t = (float)i / (float)n, u = 1.0f - t;
        float c0 = u * u * u, c1 = 3 * u * u * t, c2 = 3 * u * t * t, c3 = t * t * t;
        glyph_point(g, c0 * x0 + c1 * ax + c2 * bx + c3 * x, c0 * y0 + c1 * ay + c2 * by + c3 * y);
    }
}

static void glyph_line(glyph *g, float x, float y)
{
    float x0 = g->x[g->n - 1], y0 = g->y[g->n - 1];
    int n = steps_for(hypotf(x - x0, y - y0));
    for (int i = 1; i <= n; i++) {
        float t = (float)i / (float)n;
        glyph_point(g, x0 + t * (x - x0), y0 + t * (y - y0));
    }
}

static void glyph_arc(glyph *g, float cx, float cy, float rx, float ry, float a0, float da,
                      bool join)
{
    float r = fmaxf(rx, ry);
    int n = steps_for(fabsf(da) * r);
    float sx = cx + rx * cosf(a0), sy = cy + ry * sinf(a0);
    if (join && g->n > g->start[g->n_strokes - 1]) {
        glyph_line(g, sx, sy);
    } else {
        glyph_point(g, sx, sy);
    }
    for (int i = 1; i <= n; i++) {
        float a = a0 + da * (float)i / (float)n;
        glyph_point(g, cx + rx * cosf(a), cy + ry * sinf(a));
    }
}

static float next_number(const char **p)
{
    char *end;
    float v = strtof(*p, &end);
    assert(end != *p);
    *p = end;
    return v;
}

/* Parses a template into g, perturbing every control point as it goes. */
static void glyph_parse(glyph *g, const char *path, const shape_params *sp, dg_rng *rng)
{
    const char *p = path;
    float rad = PI_F / 180.0f;
    for (;;) {
        while (*p == ' ') {
            p++;
        }
        char cmd = *p;
        if (!cmd) {
            break;
        }
        p++;
        float v[6];
        int n_args = cmd == 'M' || cmd == 'L' ? 2 : cmd == 'Q' ? 4 : 6;
        for (int i = 0; i < n_args; i++) {
            v[i] = next_number(&p);
        }
        if (cmd == 'E' || cmd == 'A') {
            perturb(sp, rng, &v[0], &v[1]);
            float rs = 1.0f + 0.02f * sp->jitter * dg_rng_normal(rng);
            float a0 = (v[4] + 4.0f * sp->jitter * dg_rng_normal(rng)) * rad;
            float da = (v[5] + 3.0f * sp->jitter * dg_rng_normal(rng)) * rad;
            bool join = cmd == 'A' && g->n_strokes > 0;
            if (!join) {
                glyph_begin_stroke(g);
            }
            glyph_arc(g, v[0], v[1], v[2] * rs, v[3] * rs, a0, da, join);
            glyph_end_stroke(g);
            continue;
        }
        for (int i = 0; i < n_args; i += 2) {
            perturb(sp, rng, &v[i], &v[i + 1]);
        }
        if (cmd == 'M') {
            glyph_begin_stroke(g);
            glyph_point(g, v[0], v[1]);
        } else if (cmd == 'L') {
            glyph_line(g, v[0], v[1]);
        } else if (cmd == 'Q') {
            /* degree elevation: a quadratic is a cubic with controls 2/3 of the way */
            float x0 = g->x[g->n - 1], y0 = g->y[g->n - 1];
            glyph_cubic(g, x0 + 2.0f / 3.0f * (v[0] - x0), y0 + 2.0f / 3.0f * (v[1] - y0),
                        v[2] + 2.0f / 3.0f * (v[0] - v[2]), v[3] + 2.0f / 3.0f * (v[1] - v[3]),
                        v[2], v[3]);
        } else {
            assert(cmd == 'C');
            glyph_cubic(g, v[0], v[1], v[2], v[3], v[4], v[5]);
        }
        glyph_end_stroke(g);
    }
}

static float stroke_length(const glyph *g, int s)
{
    float len = 0.0f;
    for (int i = g->start[s]; i + 1 < g->start[s + 1]; i++) {
        len += hypotf(g->x[i + 1] - g->x[i], g->y[i + 1] - g->y[i]);
    }
    return len;
}

/* Pen pressure: thinner where the pen lands and lifts, a slow swell along the stroke. */
static void glyph_pressure(glyph *g, float pressure, dg_rng *rng)
{
    if (pressure <= 0.0f) {
        return;
    }
    for (int s = 0; s < g->n_strokes; s++) {
        float total = stroke_length(g, s), along = 0.0f;
        float phase = uniform(rng, 0.0f, 2.0f * PI_F);
        for (int i = g->start[s]; i < g->start[s + 1]; i++) {
            if (i > g->start[s]) {
                along += hypotf(g->x[i] - g->x[i - 1], g->y[i] - g->y[i - 1]);
            }
            float end = fminf(1.0f, fminf(along, total - along) / 10.0f);
            float swell = 1.0f + 0.2f * sinf(2.0f * PI_F * along / 120.0f + phase);
            g->width[i] =
                (1.0f - 0.55f * pressure * (1.0f - end)) * (1.0f + pressure * (swell - 1));
        }
    }
}

/*
 * Breaks a digit the way hurried or skipping pens do: later strokes lifted off their
 * joints (the bar of a 5 or 7, the stem of a 4), or a short gap cut out of a stroke.
 */
static void glyph_break(glyph *g, dg_rng *rng)
{
    bool detached = false;
    if (g->n_strokes > 1 && dg_rng_uniform(rng) < 0.7f) {
        for (int s = 1; s < g->n_strokes; s++) {
            float a = uniform(rng, 0.0f, 2.0f * PI_F), d = uniform(rng, 3.0f, 8.0f);
            for (int i = g->start[s]; i < g->start[s + 1]; i++) {
                g->x[i] += d * cosf(a);
                g->y[i] += d * sinf(a);
            }
        }
        detached = true;
    }
    if (detached && dg_rng_uniform(rng) < 0.5f) {
        return;
    }
    /* cut a gap of 4-8 units somewhere in the middle part of the longest stroke */
    int best = 0;
    float best_len = 0.0f;
    for (int s = 0; s < g->n_strokes; s++) {
        float len = stroke_length(g, s);
        if (len > best_len) {
            best = s;
            best_len = len;
        }
    }
    if (best_len < 40.0f) {
        return;
    }
    float from = uniform(rng, 0.25f, 0.75f) * best_len;
    float to = from + uniform(rng, 4.0f, 8.0f);
    float along = 0.0f;
    for (int i = g->start[best]; i + 1 < g->start[best + 1]; i++) {
        float seg = hypotf(g->x[i + 1] - g->x[i], g->y[i + 1] - g->y[i]);
        if (along + seg > from && along < to) {
            g->skip[i] = 1;
        }
        along += seg;
    }
}

/* Rotation, slant and aspect about the template's middle, then the bounding box. */
static void glyph_transform(glyph *g, const shape_params *sp)
{
    float c = cosf(sp->rotation), s = sinf(sp->rotation);
    g->minx = g->miny = INFINITY;
    g->maxx = g->maxy = -INFINITY;
    g->max_width = 1.0f;
    for (int i = 0; i < g->n; i++) {
        float x = (g->x[i] - 30.0f) * sp->aspect * sp->scale;
        float y = (g->y[i] - 50.0f) * sp->scale;
        float rx = c * x - s * y, ry = s * x + c * y;
        rx -= sp->slant * ry; /* y grows downwards: the top moves right when slant > 0 */
        g->x[i] = rx;
        g->y[i] = ry;
        g->minx = fminf(g->minx, rx);
        g->maxx = fmaxf(g->maxx, rx);
        g->miny = fminf(g->miny, ry);
        g->maxy = fmaxf(g->maxy, ry);
        g->max_width = fmaxf(g->max_width, g->width[i]);
    }
}

static void draw_shape_params(dg_rng *rng, const dg_synth_style *st, int digit, bool one_digit,
                              shape_params *sp)
{
    /* a number's digits share the writer's slant and size but each varies a little */
    float wobble = one_digit ? 0.0f : 1.0f;
    float jit = st->jitter * 100.0f;
    sp->jitter = jit;
    sp->elastic_amp = 0.7f * jit;
    for (int i = 0; i < 2; i++) {
        float lambda = uniform(rng, 80.0f, 220.0f), dir = uniform(rng, 0.0f, 2.0f * PI_F);
        sp->kx[i] = 2.0f * PI_F / lambda * cosf(dir);
        sp->ky[i] = 2.0f * PI_F / lambda * sinf(dir);
    }
    for (int i = 0; i < 4; i++) {
        sp->phase[i] = uniform(rng, 0.0f, 2.0f * PI_F);
    }
    float rot_deg = st->rotation + wobble * 2.5f * dg_rng_normal(rng);
    sp->rotation = rot_deg * PI_F / 180.0f;
    sp->slant = st->slant + wobble * 0.04f * dg_rng_normal(rng);
    sp->aspect = st->aspect * (1.0f + 0.06f * dg_rng_normal(rng));
    sp->scale = 1.0f + wobble * 0.05f * dg_rng_normal(rng);
    sp->pressure = st->pressure;
    int n_var = dg_synth_variant_count(digit);
    sp->variant = st->variant >= 0 ? st->variant % n_var : (int)dg_rng_below(rng, (uint32_t)n_var);
    sp->broken = dg_rng_uniform(rng) < st->broken;
}

static void build_glyph(glyph *g, int digit, const shape_params *sp, dg_rng *rng)
{
    g->n_strokes = 0;
    g->n = 0;
    g->start[0] = 0;
    glyph_parse(g, templates[digit][sp->variant], sp, rng);
    glyph_pressure(g, sp->pressure, rng);
    if (sp->broken) {
        glyph_break(g, rng);
    }
    glyph_transform(g, sp);
}

/* ---------------------------------------------------------------- rasterising */

/* A coverage map and where each digit's ink landed. */
typedef struct raster {
    int w, h;
    float *alpha; /* [h][w], 0..1 */
    bool antialias;
} raster;

static void box_extend(dg_digit_box *b, int x, int y)
{
    if (b->w == 0) {
        b->x = x;
        b->y = y;
        b->w = b->h = 1;
        return;
    }
    if (x < b->x) {
        b->w += b->x - x;
        b->x = x;
    } else if (x >= b->x + b->w) {
        b->w = x - b->x + 1;
    }
    if (y < b->y) {
        b->h += b->y - y;
        b->y = y;
    } else if (y >= b->y + b->h) {
        b->h = y - b->y + 1;
    }
}

/* Draws the segment a-b with radius ra at a and rb at b (pixels), keeping the largest
 * coverage so that joints and crossings of one pen do not darken. */
static void draw_capsule(raster *r, float ax, float ay, float ra, float bx, float by, float rb,
                         dg_digit_box *box)
{
    float rmax = fmaxf(ra, rb) + 1.0f;
    int x0 = (int)floorf(fminf(ax, bx) - rmax), x1 = (int)ceilf(fmaxf(ax, bx) + rmax);
    int y0 = (int)floorf(fminf(ay, by) - rmax), y1 = (int)ceilf(fmaxf(ay, by) + rmax);
    x0 = x0 < 0 ? 0 : x0;
    y0 = y0 < 0 ? 0 : y0;
    x1 = x1 > r->w - 1 ? r->w - 1 : x1;
    y1 = y1 > r->h - 1 ? r->h - 1 : y1;
    float dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
    for (int y = y0; y <= y1; y++) {
        float py = (float)y + 0.5f;
        for (int x = x0; x <= x1; x++) {
            float px = (float)x + 0.5f;
            float t = len2 > 0.0f ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0.0f;
            t = clampf(t, 0.0f, 1.0f);
            float d = hypotf(px - (ax + t * dx), py - (ay + t * dy));
            float rad = ra + t * (rb - ra);
            float cov =
                r->antialias ? clampf(rad + 0.5f - d, 0.0f, 1.0f) : (d <= rad ? 1.0f : 0.0f);
            float *a = &r->alpha[(size_t)y * (size_t)r->w + (size_t)x];
            if (cov > *a) {
                *a = cov;
            }
            if (cov >= 0.5f && box) {
                box_extend(box, x, y);
            }
        }
    }
}

/* Draws glyph g at pixel offset (ox, oy) with scale s pixels per unit, pen radius rad. */
static void draw_glyph(raster *r, const glyph *g, float ox, float oy, float s, float rad,
                       dg_digit_box *box)
{
    for (int st = 0; st < g->n_strokes; st++) {
        int a = g->start[st], b = g->start[st + 1];
        if (b - a == 1) {
            draw_capsule(r, ox + s * g->x[a], oy + s * g->y[a], rad * g->width[a], ox + s * g->x[a],
                         oy + s * g->y[a], rad * g->width[a], box);
        }
        for (int i = a; i + 1 < b; i++) {
            if (g->skip[i]) {
                continue;
            }
            draw_capsule(r, ox + s * g->x[i], oy + s * g->y[i], fmaxf(0.5f, rad * g->width[i]),
                         ox + s * g->x[i + 1], oy + s * g->y[i + 1],
                         fmaxf(0.5f, rad * g->width[i + 1]), box);
        }
    }
}

/* Separable box blur of the coverage map, two passes: close enough to a Gaussian. */
static dg_status blur_alpha(raster *r, float radius)
{
    int k = (int)(radius + 0.5f);
    if (k < 1) {
        return DG_OK;
    }
    int n = r->w > r->h ? r->w : r->h;
    float *line = malloc((size_t)n * sizeof *line);
    if (!line) {
        return dg_fail(DG_ERR_NOMEM, "synth: no memory for a blur line of %d", n);
    }
    for (int pass = 0; pass < 2; pass++) {
        for (int y = 0; y < r->h; y++) {
            float *row = &r->alpha[(size_t)y * (size_t)r->w];
            for (int x = 0; x < r->w; x++) {
                float sum = 0.0f;
                for (int j = -k; j <= k; j++) {
                    int xx = x + j < 0 ? 0 : x + j >= r->w ? r->w - 1 : x + j;
                    sum += row[xx];
                }
                line[x] = sum / (float)(2 * k + 1);
            }
            memcpy(row, line, (size_t)r->w * sizeof *line);
        }
        for (int x = 0; x < r->w; x++) {
            for (int y = 0; y < r->h; y++) {
                float sum = 0.0f;
                for (int j = -k; j <= k; j++) {
                    int yy = y + j < 0 ? 0 : y + j >= r->h ? r->h - 1 : y + j;
                    sum += r->alpha[(size_t)yy * (size_t)r->w + (size_t)x];
                }
                line[y] = sum / (float)(2 * k + 1);
            }
            for (int y = 0; y < r->h; y++) {
                r->alpha[(size_t)y * (size_t)r->w + (size_t)x] = line[y];
            }
        }
    }
    free(line);
    return DG_OK;
}

/* ---------------------------------------------------------------- composing */

static float luma(const uint8_t *c)
{
    return 0.299f * c[0] + 0.587f * c[1] + 0.114f * c[2];
}

static float smoothstep(float e0, float e1, float x)
{
    float t = clampf((x - e0) / (e1 - e0), 0.0f, 1.0f);
    return t * t * (3.0f - 2.0f * t);
}

/* Lighting of a photographed page: a gradient, a soft shadow edge, darker corners. */
typedef struct lighting {
    float gx, gy;       /* gradient per unit of normalised position */
    float nx, ny, edge; /* shadow half-plane nx*u + ny*v > edge */
    float shadow, vignette;
} lighting;

static float light_at(const lighting *L, float u, float v)
{
    float f = 1.0f + L->gx * (u - 0.5f) + L->gy * (v - 0.5f);
    f *= 1.0f - L->shadow * smoothstep(-0.12f, 0.12f, L->nx * u + L->ny * v - L->edge);
    f *= 1.0f - L->vignette * ((u - 0.5f) * (u - 0.5f) + (v - 0.5f) * (v - 0.5f));
    return f;
}

/* Printed lines: strength 0..1 of line colour at pixel (x, y). */
typedef struct paper_lines {
    dg_synth_lines kind;
    float spacing, phase_u, phase_v, cos_a, sin_a, half_width;
    float margin_x; /* red margin line of a notebook, < 0 when none */
} paper_lines;

static float line_cover(float coord, float spacing, float phase, float half_width)
{
    float m = fmodf(coord - phase, spacing);
    if (m < 0.0f) {
        m += spacing;
    }
    float d = fminf(m, spacing - m);
    return clampf(half_width + 0.5f - d, 0.0f, 1.0f);
}

static void compose(dg_image *img, const raster *r, const dg_synth_style *st, dg_rng *rng,
                    float digit_h, float ink_left)
{
    const int C = img->channels;
    float ink[3], paper[3], line_rgb[3] = {150.0f, 175.0f, 215.0f}, red[3] = {225, 120, 125};
    for (int c = 0; c < 3; c++) {
        ink[c] = st->ink[c];
        paper[c] = st->paper[c];
    }
    if (C == 1) {
        ink[0] = luma(st->ink);
        paper[0] = luma(st->paper);
        line_rgb[0] = 180.0f;
        red[0] = 160.0f;
    }
    lighting L = {0};
    if (st->lighting > 0.0f) {
        float a = uniform(rng, 0.0f, 2.0f * PI_F);
        L.gx = 0.5f * st->lighting * cosf(a);
        L.gy = 0.5f * st->lighting * sinf(a);
        float b = uniform(rng, 0.0f, 2.0f * PI_F);
        L.nx = cosf(b);
        L.ny = sinf(b);
        L.edge = 0.5f * (L.nx + L.ny) + uniform(rng, 0.25f, 0.7f);
        L.shadow = dg_rng_uniform(rng) < 0.5f ? uniform(rng, 0.1f, 0.35f) * st->lighting : 0.0f;
        L.vignette = uniform(rng, 0.0f, 0.8f) * st->lighting;
    }
    paper_lines pl = {.kind = st->lines, .margin_x = -1.0f};
    if (st->lines != DG_SYNTH_LINES_NONE) {
        float a = uniform(rng, -2.0f, 2.0f) * PI_F / 180.0f;
        pl.cos_a = cosf(a);
        pl.sin_a = sinf(a);
        pl.spacing = st->lines == DG_SYNTH_LINES_RULED ? digit_h * uniform(rng, 1.15f, 1.6f)
                                                       : digit_h * uniform(rng, 0.3f, 0.55f);
        pl.spacing = fmaxf(pl.spacing, 6.0f);
        pl.phase_u = uniform(rng, 0.0f, pl.spacing);
        pl.phase_v = uniform(rng, 0.0f, pl.spacing);
        pl.half_width = fmaxf(0.3f, digit_h * uniform(rng, 0.004f, 0.01f));
        /* a notebook's margin line, left of the writing as people write */
        float mx = uniform(rng, 0.3f, 0.85f) * ink_left;
        if (st->lines == DG_SYNTH_LINES_RULED && dg_rng_uniform(rng) < 0.4f && mx > 4.0f) {
            pl.margin_x = mx;
        }
    }
    float line_strength =
        st->lines == DG_SYNTH_LINES_GRID ? uniform(rng, 0.35f, 0.6f) : uniform(rng, 0.5f, 0.85f);
    for (int y = 0; y < img->h; y++) {
        float v = ((float)y + 0.5f) / (float)img->h;
        for (int x = 0; x < img->w; x++) {
            float u = ((float)x + 0.5f) / (float)img->w;
            float a = r->alpha[(size_t)y * (size_t)img->w + (size_t)x];
            float bg[3];
            for (int c = 0; c < C; c++) {
                bg[c] = paper[c];
            }
            if (pl.kind != DG_SYNTH_LINES_NONE) {
                float pu = pl.cos_a * (float)x + pl.sin_a * (float)y;
                float pv = -pl.sin_a * (float)x + pl.cos_a * (float)y;
                float cov = line_cover(pv, pl.spacing, pl.phase_v, pl.half_width);
                if (pl.kind == DG_SYNTH_LINES_GRID) {
                    cov = fmaxf(cov, line_cover(pu, pl.spacing, pl.phase_u, pl.half_width));
                }
                cov *= line_strength;
                float mcov = pl.margin_x >= 0.0f
                                 ? clampf(pl.half_width + 1.0f - fabsf(pu - pl.margin_x), 0, 1)
                                 : 0.0f;
                for (int c = 0; c < C; c++) {
                    bg[c] += cov * (line_rgb[c] - bg[c]);
                    bg[c] += mcov * line_strength * (red[c] - bg[c]);
                }
            }
            float light = st->lighting > 0.0f ? light_at(&L, u, v) : 1.0f;
            float n = st->noise > 0.0f ? st->noise * dg_rng_normal(rng) : 0.0f;
            uint8_t *px = &img->pixels[((size_t)y * (size_t)img->w + (size_t)x) * (size_t)C];
            for (int c = 0; c < C; c++) {
                float val = (bg[c] * (1.0f - a) + ink[c] * a) * light + n;
                px[c] = (uint8_t)clampf(val + 0.5f, 0.0f, 255.0f);
            }
        }
    }
}

/* Small dark specks of dust and paper fibre, drawn over the composed page. */
static void add_specks(dg_image *img, const dg_synth_style *st, dg_rng *rng)
{
    double expected = (double)st->specks * (double)img->w * (double)img->h / 10000.0;
    int count = (int)(expected + dg_rng_uniform(rng));
    const int C = img->channels;
    for (int k = 0; k < count; k++) {
        float cx = uniform(rng, 0.0f, (float)img->w), cy = uniform(rng, 0.0f, (float)img->h);
        float rad =
            dg_rng_uniform(rng) < 0.9f ? uniform(rng, 0.3f, 1.2f) : uniform(rng, 1.2f, 2.5f);
        float dark = uniform(rng, 0.25f, 0.7f);
        int x0 = (int)(cx - rad - 1), x1 = (int)(cx + rad + 1);
        int y0 = (int)(cy - rad - 1), y1 = (int)(cy + rad + 1);
        for (int y = y0 < 0 ? 0 : y0; y <= y1 && y < img->h; y++) {
            for (int x = x0 < 0 ? 0 : x0; x <= x1 && x < img->w; x++) {
                float d = hypotf((float)x + 0.5f - cx, (float)y + 0.5f - cy);
                float cov = clampf(rad + 0.5f - d, 0.0f, 1.0f) * dark;
                uint8_t *px = &img->pixels[((size_t)y * (size_t)img->w + (size_t)x) * (size_t)C];
                for (int c = 0; c < C; c++) {
                    px[c] = (uint8_t)((float)px[c] * (1.0f - cov) + 40.0f * cov);
                }
            }
        }
    }
}

/* Grain: pencil on paper texture and dry ballpoint skips thin out the ink at random. */
static void add_grain(raster *r, float grain, dg_rng *rng)
{
    size_t n = (size_t)r->w * (size_t)r->h;
    for (size_t i = 0; i < n; i++) {
        if (r->alpha[i] > 0.0f) {
            float u = dg_rng_uniform(rng);
            r->alpha[i] *= 1.0f - grain * 0.8f * u * u;
        }
    }
}

/* ---------------------------------------------------------------- the public calls */

static dg_status check_style(const dg_synth_style *st)
{
#define RANGE(field, lo, hi)                                                                       \
    if (!(st->field >= (lo) && st->field <= (hi))) {                                               \
        return dg_fail(DG_ERR_ARG, "synth: style field " #field " = %g, want %g..%g",              \
                       (double)st->field, (double)(lo), (double)(hi));                             \
    }
    if ((int)st->canvas < 0 || st->canvas >= DG_SYNTH_CANVAS_COUNT) {
        return dg_fail(DG_ERR_ARG, "synth: unknown canvas %d", (int)st->canvas);
    }
    if ((int)st->lines < 0 || st->lines > DG_SYNTH_LINES_GRID) {
        return dg_fail(DG_ERR_ARG, "synth: unknown lines %d", (int)st->lines);
    }
    if (st->channels != 1 && st->channels != 3) {
        return dg_fail(DG_ERR_ARG, "synth: channels %d, want 1 or 3", st->channels);
    }
    RANGE(height, 8, 600);
    RANGE(stroke, 1e-4f, 0.5f);
    RANGE(slant, -0.5f, 0.5f);
    RANGE(rotation, -30.0f, 30.0f);
    RANGE(aspect, 0.5f, 2.0f);
    RANGE(jitter, 0.0f, 0.1f);
    RANGE(grain, 0.0f, 1.0f);
    RANGE(pressure, 0.0f, 1.0f);
    RANGE(noise, 0.0f, 40.0f);
    RANGE(lighting, 0.0f, 1.0f);
    RANGE(blur, 0.0f, 4.0f);
    RANGE(specks, 0.0f, 20.0f);
    RANGE(gap, -0.3f, 1.0f);
    RANGE(broken, 0.0f, 1.0f);
    RANGE(margin, 0.0f, 4.0f);
    RANGE(shadow, 0.0f, 0.7f);
    RANGE(falloff, 0.0f, 0.7f);
    RANGE(defocus, 0.0f, 4.0f);
    RANGE(perspective, 0.0f, 0.3f);
#undef RANGE
    if ((int)st->desk < 0 || st->desk > DG_SYNTH_DESK_EDGE) {
        return dg_fail(DG_ERR_ARG, "synth: unknown desk %d", (int)st->desk);
    }
    return DG_OK;
}

/* Where each glyph goes, in units, and the ink's bounding box including the pen. */
typedef struct layout {
    float ox[MAX_DIGITS], oy[MAX_DIGITS];
    float minx, miny, maxx, maxy;
} layout;

static void lay_out(const glyph *g, int n, const dg_synth_style *st, float pen_units, dg_rng *rng,
                    layout *lo)
{
    float pen_x = 0.0f;
    lo->minx = lo->miny = INFINITY;
    lo->maxx = lo->maxy = -INFINITY;
    for (int i = 0; i < n; i++) {
        lo->ox[i] = pen_x - g[i].minx;
        lo->oy[i] = n > 1 ? 3.0f * dg_rng_normal(rng) : 0.0f; /* a wandering baseline */
        float gap = 100.0f * (st->gap + 0.06f * dg_rng_normal(rng));
        /* keep overlaps to a touch: the boxes of neighbours share at most a sixth of the
         * narrower one, so digits touch or cross at an edge but never slide inside */
        if (i + 1 < n) {
            float narrow = fminf(g[i].maxx - g[i].minx, g[i + 1].maxx - g[i + 1].minx);
            gap = fmaxf(gap, -narrow / 6.0f - pen_units / 2.0f);
        }
        pen_x += g[i].maxx - g[i].minx + pen_units + gap;
        lo->minx = fminf(lo->minx, lo->ox[i] + g[i].minx);
        lo->maxx = fmaxf(lo->maxx, lo->ox[i] + g[i].maxx);
        lo->miny = fminf(lo->miny, lo->oy[i] + g[i].miny);
        lo->maxy = fmaxf(lo->maxy, lo->oy[i] + g[i].maxy);
    }
    float wide = 1.0f;
    for (int i = 0; i < n; i++) {
        wide = fmaxf(wide, g[i].max_width);
    }
    lo->minx -= wide * pen_units / 2.0f;
    lo->maxx += wide * pen_units / 2.0f;
    lo->miny -= wide * pen_units / 2.0f;
    lo->maxy += wide * pen_units / 2.0f;
}

static dg_status new_raster(raster *r, int w, int h)
{
    if (w < 1 || h < 1 || w > MAX_CANVAS_SIDE || h > MAX_CANVAS_SIDE ||
        (uint64_t)w * (uint64_t)h > DG_IMAGE_MAX_PIXELS) {
        return dg_fail(DG_ERR_TOO_LARGE, "synth: canvas %dx%d is too large", w, h);
    }
    r->w = w;
    r->h = h;
    r->alpha = calloc((size_t)w * (size_t)h, sizeof *r->alpha);
    if (!r->alpha) {
        return dg_fail(DG_ERR_NOMEM, "synth: no memory for a %dx%d canvas", w, h);
    }
    return DG_OK;
}

/* MNIST: the ink fitted into 20x20 (a number: 20 rows), then moved so that its centre of
 * mass is the image centre, white on black. */
static dg_status render_mnist(const glyph *g, int n, const layout *lo, float pen_units,
                              dg_image **out, dg_digit_box *boxes)
{
    float bw = lo->maxx - lo->minx, bh = lo->maxy - lo->miny;
    float s = n == 1 ? (float)DG_MNIST_BOX / fmaxf(bw, bh) : (float)DG_MNIST_BOX / bh;
    int w = n == 1 ? DG_MNIST_SIDE : (int)ceilf(bw * s) + 8;
    raster r = {.antialias = true};
    dg_status status = new_raster(&r, w, DG_MNIST_SIDE);
    if (status != DG_OK) {
        return status;
    }
    float rad = fmaxf(0.5f, pen_units * s / 2.0f);
    float ox = ((float)w - bw * s) / 2.0f - lo->minx * s;
    float oy = ((float)DG_MNIST_SIDE - bh * s) / 2.0f - lo->miny * s;
    for (int pass = 0; pass < 2; pass++) {
        memset(r.alpha, 0, (size_t)w * DG_MNIST_SIDE * sizeof *r.alpha);
        for (int i = 0; i < n; i++) {
            dg_digit_box *box = boxes && pass == 1 ? &boxes[i] : NULL;
            if (box) {
                memset(box, 0, sizeof *box);
            }
            draw_glyph(&r, &g[i], ox + s * lo->ox[i], oy + s * lo->oy[i], s, rad, box);
        }
        if (pass == 0) {
            double sum = 0.0, sx = 0.0, sy = 0.0;
            for (int y = 0; y < DG_MNIST_SIDE; y++) {
                for (int x = 0; x < w; x++) {
                    double a = r.alpha[(size_t)y * (size_t)w + (size_t)x];
                    sum += a;
                    sx += a * (x + 0.5);
                    sy += a * (y + 0.5);
                }
            }
            if (sum > 0.0) {
                ox += (float)((double)w / 2.0 - sx / sum);
                oy += (float)(DG_MNIST_SIDE / 2.0 - sy / sum);
            }
        }
    }
    status = dg_image_new(w, DG_MNIST_SIDE, 1, out);
    if (status == DG_OK) {
        for (size_t i = 0; i < (size_t)w * DG_MNIST_SIDE; i++) {
            (*out)->pixels[i] = (uint8_t)(clampf(r.alpha[i], 0.0f, 1.0f) * 255.0f + 0.5f);
        }
    }
    free(r.alpha);
    return status;
}

static dg_status render_page(const glyph *g, int n, const layout *lo, float pen_units,
                             const dg_synth_style *st, dg_rng *rng, dg_image **out,
                             dg_digit_box *boxes)
{
    float s = (float)st->height / 100.0f;
    float ink_w = (lo->maxx - lo->minx) * s, ink_h = (lo->maxy - lo->miny) * s;
    /* margins drawn per side, so the digit often sits off-centre */
    float m[4];
    for (int i = 0; i < 4; i++) {
        m[i] = 2.0f + st->margin * (float)st->height * uniform(rng, 0.3f, 1.7f);
    }
    double wd = ceil((double)ink_w + m[0] + m[1]), hd = ceil((double)ink_h + m[2] + m[3]);
    if (wd > MAX_CANVAS_SIDE || hd > MAX_CANVAS_SIDE) {
        return dg_fail(DG_ERR_TOO_LARGE, "synth: canvas %.0fx%.0f is too large", wd, hd);
    }
    raster r = {.antialias = st->antialias};
    dg_status status = new_raster(&r, (int)wd, (int)hd);
    if (status != DG_OK) {
        return status;
    }
    float rad = fmaxf(0.5f, pen_units * s / 2.0f);
    float ox = m[0] - lo->minx * s, oy = m[2] - lo->miny * s;
    for (int i = 0; i < n; i++) {
        dg_digit_box *box = boxes ? &boxes[i] : NULL;
        if (box) {
            memset(box, 0, sizeof *box);
        }
        draw_glyph(&r, &g[i], ox + s * lo->ox[i], oy + s * lo->oy[i], s, rad, box);
    }
    if (st->grain > 0.0f) {
        add_grain(&r, st->grain, rng);
    }
    status = blur_alpha(&r, st->blur);
    if (status == DG_OK) {
        status = dg_image_new(r.w, r.h, st->channels, out);
    }
    if (status == DG_OK) {
        compose(*out, &r, st, rng, (float)st->height, m[0]);
        add_specks(*out, st, rng);
        if (dg_synth_photo_wanted(st)) {
            status = dg_synth_photo(rng, st, out, boxes, n);
        }
    }
    free(r.alpha);
    return status;
}

dg_status dg_synth_number(dg_rng *rng, const char *digits, const dg_synth_style *style,
                          dg_image **out, dg_digit_box *boxes)
{
    *out = NULL;
    if (!digits || !style || !rng) {
        return dg_fail(DG_ERR_ARG, "synth: missing argument");
    }
    size_t n = strlen(digits);
    if (n == 0 || n > MAX_DIGITS) {
        return dg_fail(DG_ERR_ARG, "synth: %zu digits, want 1..%d", n, MAX_DIGITS);
    }
    for (size_t i = 0; i < n; i++) {
        if (digits[i] < '0' || digits[i] > '9') {
            return dg_fail(DG_ERR_ARG, "synth: '%c' in \"%s\" is not a digit", digits[i], digits);
        }
    }
    dg_status status = check_style(style);
    if (status != DG_OK) {
        return status;
    }
    glyph *g = malloc(n * sizeof *g);
    if (!g) {
        return dg_fail(DG_ERR_NOMEM, "synth: no memory for %zu glyphs", n);
    }
    for (size_t i = 0; i < n; i++) {
        shape_params sp;
        draw_shape_params(rng, style, digits[i] - '0', n == 1, &sp);
        build_glyph(&g[i], digits[i] - '0', &sp, rng);
    }
    /* the pen is at least one pixel wide whatever the height */
    float pen_units = style->stroke * 100.0f;
    if (style->canvas != DG_SYNTH_MNIST) {
        pen_units = fmaxf(pen_units, 100.0f / (float)style->height);
    }
    layout lo;
    lay_out(g, (int)n, style, pen_units, rng, &lo);
    if (style->canvas == DG_SYNTH_MNIST) {
        status = render_mnist(g, (int)n, &lo, pen_units, out, boxes);
    } else {
        status = render_page(g, (int)n, &lo, pen_units, style, rng, out, boxes);
    }
    free(g);
    if (status != DG_OK) {
        dg_image_free(*out);
        *out = NULL;
    }
    return status;
}

dg_status dg_synth_digit(dg_rng *rng, int digit, const dg_synth_style *style, dg_image **out)
{
    if (digit < 0 || digit > 9) {
        *out = NULL;
        return dg_fail(DG_ERR_ARG, "synth: digit %d, want 0..9", digit);
    }
    char s[2] = {(char)('0' + digit), '\0'};
    return dg_synth_number(rng, s, style, out, NULL);
}
