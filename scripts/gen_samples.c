/*
 * gen_samples.c - writes synthetic handwritten digits with dg_synth_*.
 *
 *   gen_samples DIR                      the committed samples: a few dozen looks (Paint,
 *                                        paper scans, photos, dark screens, MNIST), each
 *                                        named LABEL-LOOK.png, always the same images
 *   gen_samples --set N [--seed S] [--numbers] [--light] DIR
 *                                        an evaluation set: N images NNNNN_labelL.png with
 *                                        random styles (single digits, or 2-6 digit numbers
 *                                        with --numbers) and DIR/labels.csv "file,label,canvas";
 *                                        with --light, phone photos of a page under one of
 *                                        the conditions of real light (shadow, falloff, desk,
 *                                        edge, blur, keystone), named in the canvas column;
 *                                        --twins adds DIR/even/ with each photo's evenly lit
 *                                        twin: the same writing, pen and paper, no condition;
 *                                        --fine takes the same photos from further away: the
 *                                        digits 40 px tall in a fine pen (a 25th of that),
 *                                        defocused by 1.5 px or more
 *
 * The two modes seed their generators from different constants, so an evaluation set
 * never repeats a sample image whatever S is.
 */
#include "synth/synth.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SAMPLES_SEED 0x5a3b1e5dull /* fixed: samples/ is committed */
#define SET_STREAM   0x9e7a1c0full /* mixed into --seed so sets and samples never meet */

static const char *const canvas_names[DG_SYNTH_CANVAS_COUNT] = {"paint", "paper", "dark", "mnist"};

/* A look: a function that fills a style from a fresh random style. */
typedef void (*look_fn)(dg_rng *rng, dg_synth_style *s);

typedef struct sample {
    const char *label; /* the digits drawn, also the start of the file name */
    const char *look;  /* the rest of the file name */
    look_fn style;
    int variant; /* template of every digit, -1 at random */
} sample;

static void base(dg_rng *rng, dg_synth_style *s, dg_synth_canvas canvas)
{
    /* draw random styles until one has the wanted canvas: keeps the writer's randomness
     * (slant, jitter, pen) while the look decides the medium */
    do {
        dg_synth_random_style(rng, s);
    } while (s->canvas != canvas);
    s->broken = 0.0f;
}

static void paint_thin(dg_rng *rng, dg_synth_style *s)
{
    base(rng, s, DG_SYNTH_PAINT);
    s->height = 120;
    s->stroke = 2.0f / 120.0f;
    s->margin = 1.2f;
}

static void paint_brush(dg_rng *rng, dg_synth_style *s)
{
    base(rng, s, DG_SYNTH_PAINT);
    s->height = 140;
    s->stroke = 0.07f;
    s->antialias = true;
    s->ink[0] = s->ink[1] = s->ink[2] = 0;
    s->margin = 0.8f;
}

static void paint_marker(dg_rng *rng, dg_synth_style *s)
{
    paint_brush(rng, s);
    s->stroke = 0.12f;
}

static void paint_pixels(dg_rng *rng, dg_synth_style *s)
{
    /* the Paint pencil: one hard pixel wide, no anti-aliasing */
    base(rng, s, DG_SYNTH_PAINT);
    s->height = 70;
    s->stroke = 1.0f / 70.0f;
    s->antialias = false;
    s->ink[0] = s->ink[1] = s->ink[2] = 0;
    s->margin = 1.5f;
}

static void paint_big(dg_rng *rng, dg_synth_style *s)
{
    paint_brush(rng, s);
    s->height = 380;
    s->stroke = 0.05f;
    s->margin = 0.3f;
}

static void paint_colour(dg_rng *rng, dg_synth_style *s)
{
    paint_brush(rng, s);
    s->ink[0] = 200;
    s->ink[1] = 30;
    s->ink[2] = 40;
}

static void paper(dg_rng *rng, dg_synth_style *s)
{
    base(rng, s, DG_SYNTH_PAPER);
    s->height = 70;
    s->blur = 0.0f;
    s->margin = 0.5f;
    s->noise = 3.0f;
    s->specks = 0.5f;
    s->lines = DG_SYNTH_LINES_NONE;
}

static void paper_blue(dg_rng *rng, dg_synth_style *s)
{
    paper(rng, s);
    s->channels = 3;
    s->ink[0] = 25;
    s->ink[1] = 45;
    s->ink[2] = 155;
    s->stroke = 0.04f;
    s->grain = 0.2f;
}

static void paper_pencil(dg_rng *rng, dg_synth_style *s)
{
    paper(rng, s);
    s->channels = 3;
    s->ink[0] = s->ink[1] = s->ink[2] = 90;
    s->stroke = 0.035f;
    s->grain = 0.7f;
}

static void photo(dg_rng *rng, dg_synth_style *s)
{
    /* a phone photo: grey paper, strong uneven light and a shadow, a little defocus */
    paper(rng, s);
    s->channels = 3;
    s->paper[0] = 196;
    s->paper[1] = 190;
    s->paper[2] = 178;
    s->ink[0] = s->ink[1] = s->ink[2] = 40;
    s->lighting = 0.9f;
    s->blur = 1.0f;
    s->noise = 4.0f;
}

static void ruled(dg_rng *rng, dg_synth_style *s)
{
    paper_blue(rng, s);
    s->lines = DG_SYNTH_LINES_RULED;
    s->margin = 0.7f;
}

static void grid(dg_rng *rng, dg_synth_style *s)
{
    paper(rng, s);
    s->channels = 3;
    s->lines = DG_SYNTH_LINES_GRID;
    s->ink[0] = s->ink[1] = s->ink[2] = 30;
}

static void scan_grey(dg_rng *rng, dg_synth_style *s)
{
    paper(rng, s);
    s->channels = 1;
    s->paper[0] = s->paper[1] = s->paper[2] = 240;
    s->ink[0] = s->ink[1] = s->ink[2] = 35;
    s->lighting = 0.2f;
    s->blur = 0.0f;
}

static void dark(dg_rng *rng, dg_synth_style *s)
{
    base(rng, s, DG_SYNTH_DARK);
    s->height = 110;
    s->paper[0] = s->paper[1] = s->paper[2] = 20;
    s->ink[0] = s->ink[1] = s->ink[2] = 245;
    s->grain = 0.0f;
    s->noise = 0.0f;
    s->lighting = 0.0f;
    s->stroke = 0.07f;
    s->margin = 0.6f;
}

static void chalk(dg_rng *rng, dg_synth_style *s)
{
    dark(rng, s);
    s->height = 80;
    s->paper[0] = 44;
    s->paper[1] = 62;
    s->paper[2] = 52;
    s->ink[0] = 228;
    s->ink[1] = 230;
    s->ink[2] = 220;
    s->grain = 0.6f;
    s->noise = 3.0f;
}

static void mnist(dg_rng *rng, dg_synth_style *s)
{
    base(rng, s, DG_SYNTH_MNIST);
}

static void tilted(dg_rng *rng, dg_synth_style *s)
{
    paint_brush(rng, s);
    s->rotation = 14.0f;
    s->slant = 0.25f;
}

static void touching(dg_rng *rng, dg_synth_style *s)
{
    paper(rng, s);
    s->channels = 3;
    s->ink[0] = s->ink[1] = s->ink[2] = 30;
    s->gap = -0.05f;
    s->stroke = 0.06f;
}

static void broken(dg_rng *rng, dg_synth_style *s)
{
    paint_brush(rng, s);
    s->height = 90;
    s->broken = 1.0f;
}

/* ---------------------------------------------------------------- phone photos */

/* A phone photo of a page written with a pen, before the light's conditions: a paper
 * style without printed lines or pencil, and no lighting of its own; digits whole and
 * apart, so that the set measures the light (the random sets measure the handwriting). */
static void photo_page(dg_rng *rng, dg_synth_style *s)
{
    dg_synth_style keep;
    dg_synth_random_style(rng, &keep); /* the writer: slant, jitter, gaps, broken strokes */
    do {
        dg_synth_random_style(rng, s);
    } while (s->canvas != DG_SYNTH_PAPER);
    s->slant = keep.slant;
    s->rotation = keep.rotation;
    s->jitter = keep.jitter;
    s->gap = fmaxf(keep.gap, 0.1f);
    s->broken = 0.0f;
    if (s->grain > 0.35f) { /* pencil: a black pen instead */
        s->ink[0] = s->ink[1] = s->ink[2] = 30;
        s->grain = 0.1f;
    }
    s->lines = DG_SYNTH_LINES_NONE;
    s->lighting = 0.0f;
    s->specks = fminf(s->specks, 0.5f);
}

/* A --light photo taken from further away (--fine): the digits 40 px tall, the pen a 25th
 * of that, defocused by 1.5 px or more; the writing and the condition are the same. */
static void fine_pen(dg_synth_style *s)
{
    s->height = 40;
    s->stroke = 0.04f;
    s->defocus = fmaxf(s->defocus, 1.5f);
}

/* The conditions of real light, one per image of a --light set in turn; "plain" is the
 * same photo without any, for comparison. */
enum {
    LIGHT_PLAIN,
    LIGHT_SHADOW,
    LIGHT_FALLOFF,
    LIGHT_DESK,
    LIGHT_EDGE,
    LIGHT_BLUR,
    LIGHT_KEYSTONE,
    LIGHT_COUNT
};
static const char *const light_names[LIGHT_COUNT] = {"plain", "shadow", "falloff", "desk",
                                                     "edge",  "blur",   "keystone"};

static void light_condition(dg_rng *rng, int kind, dg_synth_style *s)
{
    float u = dg_rng_uniform(rng);
    switch (kind) {
    case LIGHT_PLAIN:
        break;
    case LIGHT_SHADOW: /* a phone or a hand: straight or curved edge, 20-60% darker */
        s->shadow = 0.2f + 0.4f * dg_rng_uniform(rng);
        s->shadow_curved = u < 0.5f;
        break;
    case LIGHT_FALLOFF:
        s->falloff = 0.2f + 0.4f * dg_rng_uniform(rng);
        break;
    case LIGHT_DESK:
        s->desk = u < 0.5f ? DG_SYNTH_DESK_DARK : DG_SYNTH_DESK_PATTERN;
        break;
    case LIGHT_EDGE:
        s->desk = u < 0.5f ? DG_SYNTH_DESK_EDGE : DG_SYNTH_DESK_NONE;
        s->fold = u >= 0.5f;
        break;
    case LIGHT_BLUR:
        s->defocus = 1.0f + dg_rng_uniform(rng) * (s->height >= 80 ? 1.5f : 0.5f);
        break;
    case LIGHT_KEYSTONE:
        s->perspective = 0.08f + 0.17f * dg_rng_uniform(rng);
        break;
    default:
        break;
    }
}

static void photo_shadow(dg_rng *rng, dg_synth_style *s)
{
    photo_page(rng, s);
    s->height = 90;
    s->channels = 3;
    s->stroke = 0.06f;
    s->ink[0] = s->ink[1] = s->ink[2] = 30;
    s->paper[0] = 236;
    s->paper[1] = s->paper[2] = 232;
    s->margin = 1.2f;
    s->gap = 0.35f;
    s->shadow = 0.5f;
}

static void photo_desk(dg_rng *rng, dg_synth_style *s)
{
    photo_shadow(rng, s);
    s->shadow = 0.0f;
    s->falloff = 0.35f;
    s->desk = DG_SYNTH_DESK_PATTERN;
}

static const sample samples[] = {
    {"0", "paint-thin", paint_thin, -1},
    {"1", "paint-marker", paint_marker, 0},
    {"1", "flag-base", paint_brush, 2},
    {"2", "paint-loop", paint_brush, 1},
    {"2", "mnist", mnist, -1},
    {"3", "paper-blue", paper_blue, 0},
    {"3", "flat-top", paint_pixels, 1},
    {"4", "pencil-open", paper_pencil, 1},
    {"4", "closed-marker", paint_marker, 0},
    {"5", "photo-shadow", photo, 0},
    {"5", "mnist", mnist, -1},
    {"6", "ruled", ruled, 0},
    {"6", "scan-grey", scan_grey, 1},
    {"7", "paint-thin", paint_thin, 0},
    {"7", "crossbar", paper_blue, 1},
    {"7", "dark", dark, 2},
    {"8", "grid", grid, 0},
    {"8", "mnist", mnist, -1},
    {"9", "dark", dark, 0},
    {"9", "curved-tail", paper_pencil, 1},
    {"9", "tilted", tilted, 2},
    {"0", "chalk", chalk, 0},
    {"4", "paint-big", paint_big, 0},
    {"6", "paint-red", paint_colour, 1},
    {"2024", "year", paper_blue, -1},
    {"31415", "pi", paint_brush, -1},
    {"42", "paint", paint_thin, -1},
    {"1989", "ruled", ruled, -1},
    {"007", "marker", paint_marker, -1},
    {"12345", "touching", touching, -1},
    {"555", "broken", broken, 0},
    {"90210", "photo", photo, -1},
    {"365", "dark", dark, -1},
    {"8080", "grid", grid, -1},
    {"2718", "pencil", paper_pencil, -1},
    {"1234567890", "paint", paint_pixels, -1},
    {"47", "scan-grey", scan_grey, -1},
    {"600", "chalk", chalk, -1},
    {"3", "phone-shadow", photo_shadow, 0},
    {"8", "desk", photo_desk, 0},
    {"4096", "phone-shadow", photo_shadow, -1},
    {"2718281828", "desk", photo_desk, -1},
};

static int make_dir(const char *dir)
{
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "gen_samples: cannot create %s: %s\n", dir, strerror(errno));
        return 0;
    }
    return 1;
}

static int write_image(const char *path, const dg_image *img)
{
    dg_status st = dg_image_save_png(path, img);
    if (st != DG_OK) {
        fprintf(stderr, "gen_samples: %s: %s\n", path, dg_last_error());
        return 0;
    }
    return 1;
}

/* Single digits go to DIR/digits (for `digits predict`), numbers to DIR/numbers (for
 * `digits read`). */
static int write_samples(const char *dir)
{
    char digits_dir[1024], numbers_dir[1024];
    snprintf(digits_dir, sizeof digits_dir, "%s/digits", dir);
    snprintf(numbers_dir, sizeof numbers_dir, "%s/numbers", dir);
    if (!make_dir(dir) || !make_dir(digits_dir) || !make_dir(numbers_dir)) {
        return 0;
    }
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        const sample *sm = &samples[i];
        /* one stream per sample, so changing one entry leaves the others as they were */
        dg_rng rng;
        dg_rng_seed(&rng, SAMPLES_SEED + 7919u * (uint64_t)i);
        dg_synth_style style;
        sm->style(&rng, &style);
        style.variant = sm->variant;
        dg_image *img;
        if (dg_synth_number(&rng, sm->label, &style, &img, NULL) != DG_OK) {
            fprintf(stderr, "gen_samples: %s-%s: %s\n", sm->label, sm->look, dg_last_error());
            return 0;
        }
        char path[2200];
        snprintf(path, sizeof path, "%s/%s-%s.png",
                 strlen(sm->label) > 1 ? numbers_dir : digits_dir, sm->label, sm->look);
        int ok = write_image(path, img);
        dg_image_free(img);
        if (!ok) {
            return 0;
        }
    }
    printf("wrote %zu samples to %s\n", sizeof samples / sizeof samples[0], dir);
    return 1;
}

/* The style without any condition of light: the photo's evenly lit twin. */
static void without_light(dg_synth_style *s)
{
    s->shadow = 0.0f;
    s->falloff = 0.0f;
    s->fold = false;
    s->desk = DG_SYNTH_DESK_NONE;
    s->defocus = 0.0f;
    s->perspective = 0.0f;
}

/* The twin of the image about to be drawn from rng: a copy of the generator, so the set's
 * own images stay what they are without --twins; the writing is drawn before the light. */
static int write_twin(const char *dir, const char *name, dg_rng rng, const char *label,
                      dg_synth_style style)
{
    without_light(&style);
    dg_image *img;
    if (dg_synth_number(&rng, label, &style, &img, NULL) != DG_OK) {
        fprintf(stderr, "gen_samples: twin of %s: %s\n", name, dg_last_error());
        return 0;
    }
    char path[1200];
    snprintf(path, sizeof path, "%s/even/%s", dir, name);
    int ok = write_image(path, img);
    dg_image_free(img);
    return ok;
}

static int write_set(const char *dir, long n, unsigned long long seed, int numbers, int light,
                     int twins, int fine)
{
    char path[1024];
    if (twins) {
        snprintf(path, sizeof path, "%s/even", dir);
        if (!make_dir(path)) {
            return 0;
        }
    }
    snprintf(path, sizeof path, "%s/labels.csv", dir);
    FILE *csv = fopen(path, "w");
    if (!csv) {
        fprintf(stderr, "gen_samples: cannot write %s: %s\n", path, strerror(errno));
        return 0;
    }
    fprintf(csv, "file,label,canvas\n");
    dg_rng rng;
    dg_rng_seed(&rng, seed ^ SET_STREAM);
    for (long i = 0; i < n; i++) {
        char label[8];
        int len = numbers ? 2 + (int)dg_rng_below(&rng, 5) : 1;
        for (int k = 0; k < len; k++) {
            label[k] = (char)('0' + dg_rng_below(&rng, 10));
        }
        label[len] = '\0';
        dg_synth_style style;
        int kind = (int)(i % LIGHT_COUNT);
        if (light) {
            photo_page(&rng, &style);
            light_condition(&rng, kind, &style);
            if (fine) {
                fine_pen(&style);
            }
        } else {
            dg_synth_random_style(&rng, &style);
        }
        if (!numbers) {
            style.broken *= 0.5f; /* single digits: mostly whole strokes */
        }
        char name[64];
        snprintf(name, sizeof name, "%05ld_label%s.png", i, label);
        if (twins && !write_twin(dir, name, rng, label, style)) {
            fclose(csv);
            return 0;
        }
        dg_image *img;
        if (dg_synth_number(&rng, label, &style, &img, NULL) != DG_OK) {
            fprintf(stderr, "gen_samples: image %ld: %s\n", i, dg_last_error());
            fclose(csv);
            return 0;
        }
        snprintf(path, sizeof path, "%s/%s", dir, name);
        int ok = write_image(path, img);
        dg_image_free(img);
        if (!ok) {
            fclose(csv);
            return 0;
        }
        fprintf(csv, "%s,%s,%s\n", name, label,
                light ? light_names[kind] : canvas_names[style.canvas]);
    }
    if (fclose(csv) != 0) {
        fprintf(stderr, "gen_samples: cannot write %s/labels.csv\n", dir);
        return 0;
    }
    printf("wrote %ld images to %s\n", n, dir);
    return 1;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: gen_samples DIR\n"
            "       gen_samples --set N [--seed S] [--numbers] [--light [--twins] [--fine]] DIR\n");
    return 2;
}

int main(int argc, char **argv)
{
    long n = -1;
    unsigned long long seed = 1;
    int numbers = 0, light = 0, twins = 0, fine = 0;
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        char *end;
        if (!strcmp(argv[i], "--set") && i + 1 < argc) {
            errno = 0;
            n = strtol(argv[++i], &end, 10);
            if (errno || *end || n < 1 || n > 1000000) {
                fprintf(stderr, "gen_samples: --set wants 1..1000000, not '%s'\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            errno = 0;
            seed = strtoull(argv[++i], &end, 10);
            if (errno || *end || argv[i][0] == '-') {
                fprintf(stderr, "gen_samples: --seed wants a whole number, not '%s'\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--numbers")) {
            numbers = 1;
        } else if (!strcmp(argv[i], "--light")) {
            light = 1;
        } else if (!strcmp(argv[i], "--twins")) {
            twins = 1;
        } else if (!strcmp(argv[i], "--fine")) {
            fine = 1;
        } else if (argv[i][0] == '-' || dir) {
            return usage();
        } else {
            dir = argv[i];
        }
    }
    if (!dir || ((numbers || light) && n < 0) || ((twins || fine) && !light)) {
        return usage();
    }
    if (!make_dir(dir)) {
        return 1;
    }
    int ok = n > 0 ? write_set(dir, n, seed, numbers, light, twins, fine) : write_samples(dir);
    return ok ? 0 : 1;
}
