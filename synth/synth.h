/*
 * synth.h - synthetic handwriting: digits and whole numbers drawn from stroke templates
 * in many styles (drawing programs, paper photos and scans, dark boards, MNIST itself),
 * for the tests, the benchmarks and the sample generator. Not part of libdigits: it is
 * built into its own archive (libdigits_synth.a) on top of it, so the library never
 * carries it.
 */
#ifndef DG_SYNTH_H
#define DG_SYNTH_H

#include "digits.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Where a synthetic digit is drawn. Only MNIST changes how it is drawn; the others
 * choose what dg_synth_random_style picks for the remaining fields. */
typedef enum dg_synth_canvas {
    DG_SYNTH_PAINT, /* white drawing-program canvas, solid brush, digit anywhere on it */
    DG_SYNTH_PAPER, /* scanned or photographed paper: tint, lighting, noise, lines, specks */
    DG_SYNTH_DARK,  /* light strokes on a dark screen or board */
    DG_SYNTH_MNIST, /* 28 rows, grey, white on black, fitted in 20x20, centred by mass */
    DG_SYNTH_CANVAS_COUNT
} dg_synth_canvas;

typedef enum dg_synth_lines {
    DG_SYNTH_LINES_NONE,
    DG_SYNTH_LINES_RULED, /* horizontal lines of a notebook, maybe a margin line */
    DG_SYNTH_LINES_GRID   /* squared paper */
} dg_synth_lines;

/* What lies around the page in a phone photo of it (synth_photo.c). */
typedef enum dg_synth_desk {
    DG_SYNTH_DESK_NONE,    /* the page fills the photo */
    DG_SYNTH_DESK_DARK,    /* the page smaller than the photo, on a darker plain desk */
    DG_SYNTH_DESK_PATTERN, /* ... on a wood-grain desk */
    DG_SYNTH_DESK_EDGE     /* one edge of the page in the frame, the desk beyond it */
} dg_synth_desk;

/* How one writer and one medium draw digits; each digit then varies a little around it.
 * The MNIST canvas uses only the shape fields: stroke to variant, pressure, gap, broken. */
typedef struct dg_synth_style {
    dg_synth_canvas canvas;
    int channels;         /* 1 grey or 3 RGB (MNIST: always 1) */
    int height;           /* digit height in pixels, 8..600 */
    float stroke;         /* pen width as a fraction of the height; at least 1 px is drawn */
    float slant;          /* shear, -0.5..0.5: the top of a digit leans right when > 0 */
    float rotation;       /* degrees, -30..30, clockwise */
    float aspect;         /* width multiplier, 0.5..2 */
    float jitter;         /* noise on the strokes' control points, fraction of height, 0..0.1 */
    int variant;          /* stroke template of every digit, or -1: one at random per digit */
    uint8_t ink[3];       /* RGB of the ink */
    uint8_t paper[3];     /* RGB of the lit background */
    bool antialias;       /* false: hard pixel edges, like a drawing program's pencil */
    float grain;          /* 0 solid ink .. 1 grainy pencil or dry ballpoint */
    float pressure;       /* 0 even width .. 1 strongly varying width along strokes */
    float noise;          /* standard deviation of sensor noise in grey levels, 0..40 */
    float lighting;       /* strength of brightness gradient and shadow, 0..1 */
    float blur;           /* defocus radius in pixels, 0..4 */
    dg_synth_lines lines; /* printed lines on the paper */
    float specks;         /* dirt specks per 100x100 pixels, 0..20 */
    float gap;            /* mean gap between digits of a number, fraction of height, -0.3..1 */
    float broken;         /* probability that a digit's strokes are broken or detached, 0..1 */
    float margin;         /* room around the ink, fraction of height, 0..4 */
    /* A phone photo of the page (synth_photo.c; all 0 for none), applied in this order: */
    float shadow;       /* a hard shadow over part of the page: that much darker, 0..0.7 */
    bool shadow_curved; /* its edge an arc (a hand, a round phone corner), not straight */
    float falloff;      /* brightness falling off across the page by that much, 0..0.7 */
    bool fold;          /* a fold line across the page */
    dg_synth_desk desk; /* what shows around the page */
    float defocus;      /* blur of the whole photo, radius in pixels, 0..4 */
    float perspective;  /* keystone: the far edge that much narrower, 0..0.3 */
} dg_synth_style;

/* Black anti-aliased ink of width 0.08 on a white Paint canvas, digit height 100 px,
 * upright, no noise: a plain starting point to change a few fields of. */
void dg_synth_style_default(dg_synth_style *style);
/* Draws a whole style at random from the mix of canvases, pens and papers used by the
 * tests and the benchmark. */
void dg_synth_random_style(dg_rng *rng, dg_synth_style *style);
/* Number of stroke templates of a digit 0..9 (0 for anything else). */
int dg_synth_variant_count(int digit);

/*
 * Renders the digits of a string ("2024") side by side, each from its own jittered
 * template, as a new image in *out (caller frees with dg_image_free). When boxes is not
 * NULL it receives strlen(digits) boxes: where each digit's ink lies in the image. At most
 * 32 digits. DG_ERR_ARG on a bad character or style field (the message names it),
 * DG_ERR_TOO_LARGE when the canvas would exceed DG_IMAGE_MAX_PIXELS; *out is NULL then.
 * Every random choice comes from rng, so a seed gives the same image.
 */
dg_status dg_synth_number(dg_rng *rng, const char *digits, const dg_synth_style *style,
                          dg_image **out, dg_digit_box *boxes);
/* One digit 0..9: dg_synth_number of a one-character string. */
dg_status dg_synth_digit(dg_rng *rng, int digit, const dg_synth_style *style, dg_image **out);

#ifdef __cplusplus
}
#endif

#endif
