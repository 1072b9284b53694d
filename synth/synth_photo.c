/*
 * synth_photo.c - a phone photo of the composed page: the light and the surroundings of a
 * real photo, in the order a camera meets them. Layout: images [h][w][channels], x the
 * column, y the row.
 *
 *  1. Light on the page, as a factor on every pixel: a hard shadow (a phone or a hand
 *     between the lamp and the page) over a quarter to a half of the page, with a straight
 *     or an arc-shaped edge and a penumbra of a few pixels; brightness falling off from one
 *     side of the page to the other; a fold line (a dark crease with a lit side).
 *  2. The desk: the page smaller than the photo on a plain darker desk or on wood grain,
 *     with the thin shadow the page casts on it; or one edge of the page in the frame.
 *  3. Perspective: a keystone, the far (top) edge narrower; what falls outside the page
 *     shows the desk.
 *  4. Defocus: a blur of the whole photo.
 */
#include "synth/photo.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PI_F 3.14159265f

static float uniform(dg_rng *rng, float lo, float hi)
{
    return lo + (hi - lo) * dg_rng_uniform(rng);
}

static float clampf(float v, float lo, float hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static float smoothstep(float e0, float e1, float x)
{
    float t = clampf((x - e0) / (e1 - e0), 0.0f, 1.0f);
    return t * t * (3.0f - 2.0f * t);
}

bool dg_synth_photo_wanted(const dg_synth_style *st)
{
    return st->shadow > 0.0f || st->falloff > 0.0f || st->fold || st->desk != DG_SYNTH_DESK_NONE ||
           st->defocus > 0.0f || st->perspective > 0.0f;
}

/* ---------------------------------------------------------------- 1. light on the page */

typedef struct page_light {
    float shadow, penumbra;
    bool curved;
    float nx, ny, edge;       /* straight: shadow where nx*x + ny*y > edge */
    float cx, cy, radius;     /* curved: shadow within radius of (cx, cy) */
    float fx, fy, f0, f_span; /* falloff along (fx, fy), from f0 over f_span */
    float falloff;
    bool fold;
    float kx, ky, k0, k_width, k_dark; /* fold line kx*x + ky*y = k0 */
} page_light;

static void plan_light(dg_rng *rng, const dg_synth_style *st, int w, int h, page_light *L)
{
    memset(L, 0, sizeof *L);
    float diag = hypotf((float)w, (float)h);
    L->shadow = st->shadow;
    L->penumbra = uniform(rng, 1.0f, 4.0f);
    L->curved = st->shadow_curved;
    if (st->shadow > 0.0f && !st->shadow_curved) {
        float a = uniform(rng, 0.0f, 2.0f * PI_F);
        L->nx = cosf(a);
        L->ny = sinf(a);
        float lo = fminf(0.0f, L->nx * w) + fminf(0.0f, L->ny * h);
        float hi = fmaxf(0.0f, L->nx * w) + fmaxf(0.0f, L->ny * h);
        L->edge = hi - uniform(rng, 0.25f, 0.5f) * (hi - lo);
    } else if (st->shadow > 0.0f) {
        /* a disc centred beyond a corner of the page */
        int corner = (int)dg_rng_below(rng, 4);
        L->cx = (corner & 1 ? 1.1f : -0.1f) * (float)w;
        L->cy = (corner & 2 ? 1.1f : -0.1f) * (float)h;
        L->radius = uniform(rng, 0.45f, 0.75f) * diag;
    }
    L->falloff = st->falloff;
    if (st->falloff > 0.0f) {
        float a = uniform(rng, 0.0f, 2.0f * PI_F);
        L->fx = cosf(a);
        L->fy = sinf(a);
        L->f0 = fminf(0.0f, L->fx * w) + fminf(0.0f, L->fy * h);
        L->f_span = fmaxf(1.0f, fmaxf(0.0f, L->fx * w) + fmaxf(0.0f, L->fy * h) - L->f0);
    }
    L->fold = st->fold;
    if (st->fold) {
        /* folded in two or three: near horizontal or vertical */
        float a = uniform(rng, -0.08f, 0.08f) + (dg_rng_uniform(rng) < 0.5f ? 0.0f : PI_F / 2);
        L->kx = -sinf(a);
        L->ky = cosf(a);
        float along = fabsf(L->ky) > 0.5f ? (float)h : (float)w;
        L->k0 = uniform(rng, 0.2f, 0.8f) * along;
        L->k_width = uniform(rng, 1.0f, 3.0f);
        L->k_dark = uniform(rng, 0.08f, 0.2f);
    }
}

static float light_factor(const page_light *L, float x, float y)
{
    float f = 1.0f;
    if (L->shadow > 0.0f) {
        float d =
            L->curved ? L->radius - hypotf(x - L->cx, y - L->cy) : L->nx * x + L->ny * y - L->edge;
        f *= 1.0f - L->shadow * smoothstep(-L->penumbra, L->penumbra, d);
    }
    if (L->falloff > 0.0f) {
        float t = (L->fx * x + L->fy * y - L->f0) / L->f_span;
        f *= 1.0f - L->falloff * clampf(t, 0.0f, 1.0f);
    }
    if (L->fold) {
        float d = L->kx * x + L->ky * y - L->k0, g = d / L->k_width;
        /* the crease: a dark valley, its lit side a little brighter */
        f *= 1.0f - L->k_dark * expf(-g * g) + 0.4f * L->k_dark * (d > 0 ? expf(-0.3f * g) : 0);
    }
    return f;
}

static void light_page(dg_rng *rng, const dg_synth_style *st, dg_image *img)
{
    page_light L;
    plan_light(rng, st, img->w, img->h, &L);
    int C = img->channels;
    for (int y = 0; y < img->h; y++) {
        uint8_t *px = &img->pixels[(size_t)y * (size_t)img->w * (size_t)C];
        for (int x = 0; x < img->w; x++, px += C) {
            float f = light_factor(&L, (float)x + 0.5f, (float)y + 0.5f);
            for (int c = 0; c < C; c++) {
                px[c] = (uint8_t)clampf((float)px[c] * f + 0.5f, 0.0f, 255.0f);
            }
        }
    }
}

/* ---------------------------------------------------------------- 2. the desk */

typedef struct desk {
    float rgb[3];
    bool grain;
    float period, wave, phase, amp;
    float noise;
} desk;

static void plan_desk(dg_rng *rng, const dg_synth_style *st, const dg_image *page, desk *d)
{
    memset(d, 0, sizeof *d);
    float level = uniform(rng, 0.25f, 0.6f) * 255.0f;
    float warm =
        st->desk == DG_SYNTH_DESK_PATTERN ? uniform(rng, 0.15f, 0.35f) : uniform(rng, -0.05f, 0.2f);
    d->rgb[0] = level * (1.0f + warm);
    d->rgb[1] = level;
    d->rgb[2] = level * (1.0f - warm);
    if (page->channels == 1) {
        d->rgb[0] = 0.299f * d->rgb[0] + 0.587f * d->rgb[1] + 0.114f * d->rgb[2];
    }
    d->grain = st->desk == DG_SYNTH_DESK_PATTERN;
    d->period = (float)st->height * uniform(rng, 0.15f, 0.5f);
    d->wave = uniform(rng, 0.01f, 0.04f);
    d->phase = uniform(rng, 0.0f, 2.0f * PI_F);
    d->amp = uniform(rng, 0.08f, 0.2f);
    d->noise = st->noise;
}

static void desk_pixel(const desk *d, dg_rng *rng, int C, float x, float y, uint8_t *px)
{
    float f = 1.0f;
    if (d->grain) {
        float s = sinf(2.0f * PI_F * (y + 6.0f * sinf(d->wave * x + d->phase)) / d->period);
        f += d->amp * s * fabsf(s);
    }
    float n = d->noise > 0.0f ? d->noise * dg_rng_normal(rng) : 0.0f;
    for (int c = 0; c < C; c++) {
        px[c] = (uint8_t)clampf(d->rgb[c] * f + n + 0.5f, 0.0f, 255.0f);
    }
}

/* The page on the desk: a new, larger image; the page at (ox, oy). */
static dg_status put_on_desk(dg_rng *rng, const dg_synth_style *st, dg_image **img,
                             dg_digit_box *boxes, int n, const desk *d)
{
    dg_image *page = *img;
    int side = page->w < page->h ? page->w : page->h;
    int m[4]; /* left, right, top, bottom */
    if (st->desk == DG_SYNTH_DESK_EDGE) {
        memset(m, 0, sizeof m);
        m[dg_rng_below(rng, 4)] = (int)(uniform(rng, 0.1f, 0.35f) * (float)side) + 2;
    } else {
        for (int i = 0; i < 4; i++) {
            m[i] = (int)(uniform(rng, 0.08f, 0.4f) * (float)side) + 2;
        }
    }
    int W = page->w + m[0] + m[1], H = page->h + m[2] + m[3], C = page->channels;
    dg_image *out;
    dg_status status = dg_image_new(W, H, C, &out);
    if (status != DG_OK) {
        return status;
    }
    float cast = uniform(rng, 1.5f, 4.0f); /* the page's own shadow on the desk, pixels */
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
            uint8_t *px = &out->pixels[((size_t)y * (size_t)W + (size_t)x) * (size_t)C];
            int px_ = x - m[0], py = y - m[2];
            if (px_ >= 0 && py >= 0 && px_ < page->w && py < page->h) {
                memcpy(px, &page->pixels[((size_t)py * (size_t)page->w + (size_t)px_) * C],
                       (size_t)C);
                continue;
            }
            desk_pixel(d, rng, C, (float)x, (float)y, px);
            int dx = px_ < 0 ? -px_ : px_ >= page->w ? px_ - page->w + 1 : 0;
            int dy = py < 0 ? -py : py >= page->h ? py - page->h + 1 : 0;
            float dist = (float)(dx > dy ? dx : dy);
            float f = 1.0f - 0.35f * expf(-dist / cast);
            for (int c = 0; c < C; c++) {
                px[c] = (uint8_t)((float)px[c] * f);
            }
        }
    }
    for (int i = 0; boxes && i < n; i++) {
        boxes[i].x += m[0];
        boxes[i].y += m[2];
    }
    dg_image_free(page);
    *img = out;
    return DG_OK;
}

/* ---------------------------------------------------------------- 3. perspective */

/* Keystone: row y is scaled about the centre by s(y) = 1 - k (1 - y / h). */
static dg_status keystone(dg_rng *rng, float k, const desk *d, dg_image **img, dg_digit_box *boxes,
                          int n)
{
    dg_image *src = *img, *out;
    int w = src->w, h = src->h, C = src->channels;
    dg_status status = dg_image_new(w, h, C, &out);
    if (status != DG_OK) {
        return status;
    }
    float cx = 0.5f * (float)w;
    for (int y = 0; y < h; y++) {
        float s = 1.0f - k * (1.0f - ((float)y + 0.5f) / (float)h);
        for (int x = 0; x < w; x++) {
            uint8_t *px = &out->pixels[((size_t)y * (size_t)w + (size_t)x) * (size_t)C];
            float sx = cx + ((float)x + 0.5f - cx) / s - 0.5f;
            if (sx < 0.0f || sx > (float)(w - 1)) {
                desk_pixel(d, rng, C, (float)x, (float)y, px);
                continue;
            }
            int x0 = (int)sx, x1 = x0 + 1 < w ? x0 + 1 : x0;
            float t = sx - (float)x0;
            const uint8_t *a = &src->pixels[((size_t)y * (size_t)w + (size_t)x0) * (size_t)C];
            const uint8_t *b = &src->pixels[((size_t)y * (size_t)w + (size_t)x1) * (size_t)C];
            for (int c = 0; c < C; c++) {
                px[c] = (uint8_t)((float)a[c] + t * ((float)b[c] - (float)a[c]) + 0.5f);
            }
        }
    }
    for (int i = 0; boxes && i < n; i++) {
        dg_digit_box *b = &boxes[i];
        float s0 = 1.0f - k * (1.0f - (float)b->y / (float)h);
        float s1 = 1.0f - k * (1.0f - (float)(b->y + b->h) / (float)h);
        float l = fminf(cx + ((float)b->x - cx) * s0, cx + ((float)b->x - cx) * s1);
        float r =
            fmaxf(cx + ((float)(b->x + b->w) - cx) * s0, cx + ((float)(b->x + b->w) - cx) * s1);
        b->x = (int)floorf(l);
        b->w = (int)ceilf(r) - b->x;
    }
    dg_image_free(src);
    *img = out;
    return DG_OK;
}

/* ---------------------------------------------------------------- 4. defocus */

/* Two separable box blurs of radius r: near enough a Gaussian. */
static dg_status defocus(dg_image *img, float radius)
{
    int k = (int)(radius + 0.5f);
    if (k < 1) {
        return DG_OK;
    }
    int w = img->w, h = img->h, C = img->channels, n = w > h ? w : h;
    uint8_t *line = malloc((size_t)n * (size_t)C);
    if (!line) {
        return dg_fail(DG_ERR_NOMEM, "synth: no memory for a blur line of %d", n);
    }
    for (int pass = 0; pass < 4; pass++) {
        bool rows = pass % 2 == 0;
        int len = rows ? w : h, count = rows ? h : w;
        size_t step = rows ? (size_t)C : (size_t)w * (size_t)C;
        for (int l = 0; l < count; l++) {
            uint8_t *p = img->pixels + (rows ? (size_t)l * (size_t)w * C : (size_t)l * C);
            for (int c = 0; c < C; c++) {
                for (int i = 0; i < len; i++) {
                    int sum = 0;
                    for (int j = -k; j <= k; j++) {
                        int ii = i + j < 0 ? 0 : i + j >= len ? len - 1 : i + j;
                        sum += p[(size_t)ii * step + c];
                    }
                    line[(size_t)i * C + c] = (uint8_t)((sum + k) / (2 * k + 1));
                }
            }
            for (int i = 0; i < len; i++) {
                memcpy(&p[(size_t)i * step], &line[(size_t)i * C], (size_t)C);
            }
        }
    }
    free(line);
    return DG_OK;
}

dg_status dg_synth_photo(dg_rng *rng, const dg_synth_style *st, dg_image **img, dg_digit_box *boxes,
                         int n)
{
    if (st->shadow > 0.0f || st->falloff > 0.0f || st->fold) {
        light_page(rng, st, *img);
    }
    desk d;
    plan_desk(rng, st, *img, &d);
    dg_status status = DG_OK;
    if (st->desk != DG_SYNTH_DESK_NONE) {
        status = put_on_desk(rng, st, img, boxes, n, &d);
    }
    if (status == DG_OK && st->perspective > 0.0f) {
        status = keystone(rng, st->perspective, &d, img, boxes, n);
    }
    if (status == DG_OK) {
        status = defocus(*img, st->defocus);
    }
    return status;
}
