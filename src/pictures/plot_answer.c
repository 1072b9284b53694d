/*
 * plot_answer.c - pictures of answers: one image's prediction (the image, the 28x28 the
 * network saw, the probability per class) and a read number (the image with each digit
 * framed and labelled).
 *
 * They say what the terminal says: a confident digit is drawn as the answer, an unsure one
 * as "?" with the best guess shown as a guess, an empty image or one without a digit as
 * such. Confidences are written as dg_format_percent writes them, in the headline and on
 * the bars alike.
 */
#include "pictures/surface.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define PROB_BOX   224 /* picture boxes: 28 x 8 */
#define PROB_TOP   72
#define PROB_CHART 460

/* The name of class i: its label when there is one, else the number. */
static const char *class_name(const char (*labels)[32], int i, char buf[16])
{
    if (labels && i >= 0 && labels[i][0]) {
        return labels[i];
    }
    snprintf(buf, 16, "%d", i);
    return buf;
}

/* The colour an answer is drawn in: green for a digit, orange for a guess, grey else. */
static dg_color answer_color(dg_answer a)
{
    return a == DG_ANSWER_DIGIT ? RIGHT : (a == DG_ANSWER_UNSURE ? UNSURE : MUTED);
}

/* The probabilities as bars, 0..100% against the classes, in the box x, w. */
static void probability_bars(dg_surface *c, int x, int chart_w, const dg_prediction *p,
                             const char (*labels)[32])
{
    int classes = p->classes;
    double prob[DG_MAX_CLASSES];
    for (int i = 0; i < classes; i++) {
        double v = p->probs[i];
        prob[i] = v >= 0.0 && v <= 1.0 ? v : (v > 1.0 ? 1.0 : 0.0); /* NaN reads as 0 */
    }
    int best = p->digit;
    dg_color best_color = p->answer == DG_ANSWER_DIGIT ? TRAIN : UNSURE;
    dg_plot_area a = {x + 48, PROB_TOP + 20, chart_w - 56, PROB_BOX - 20, -0.5, classes - 0.5, 0,
                      100};
    char text[64], name[16];
    dg_surface_text(c, x, PROB_TOP - 22, "probability per class", 1, INK, -1);
    for (int t = 0; t <= 100; t += 25) {
        double py;
        dg_plot_area_map(&a, 0, t, NULL, &py);
        int iy = (int)lround(py);
        dg_surface_line(c, a.x, iy, a.x + a.w, iy, 1, t ? GRID : AXIS);
        snprintf(text, sizeof text, "%d%%", t);
        dg_surface_text(c, a.x - 8, iy - 6, text, 1, INK, 1);
    }
    double slot = (double)a.w / classes;
    int bar_w = (int)(slot * 0.7);
    bar_w = bar_w < 2 ? 2 : bar_w;
    int label_scale = slot >= 2 * DG_FONT_W + 4 ? 2 : 1;
    for (int i = 0; i < classes; i++) {
        double cx, top, base;
        dg_plot_area_map(&a, i, 100.0 * prob[i], &cx, &top);
        dg_plot_area_map(&a, i, 0, NULL, &base);
        int bx = (int)lround(cx - bar_w / 2.0), by = (int)lround(top);
        int bh = (int)lround(base) - by;
        dg_color color = i == best ? best_color : BAR;
        if (bh > 0) {
            dg_surface_rect(c, bx, by, bar_w, bh, color);
        }
        const char *label = class_name(labels, i, name);
        int scale = dg_text_width(label, label_scale) <= slot ? label_scale : 1;
        dg_surface_text(c, (int)lround(cx), a.y + a.h + 8, label, scale, i == best ? color : INK,
                        0);
        /* the same figure as the headline; small ones only where they fit */
        dg_format_percent(prob[i], text);
        if (prob[i] >= 0.0005 && dg_text_width(text, 1) <= slot + 4) {
            dg_surface_text(c, (int)lround(cx), by - 16, text, 1, i == best ? color : MUTED, 0);
        }
    }
}

dg_status dg_plot_prediction(const dg_image *original, const uint8_t mnist28[DG_MNIST_PIXELS],
                             const dg_prediction *p, const char (*labels)[32], const char *path)
{
    if (!p || p->classes < 1 || p->classes > DG_MAX_CLASSES) {
        return dg_fail(DG_ERR_ARG, "prediction picture: no prediction or bad class count %d",
                       p ? p->classes : 0);
    }
    bool found = p->answer == DG_ANSWER_DIGIT || p->answer == DG_ANSWER_UNSURE;
    if (found && (p->digit < 0 || p->digit >= p->classes)) {
        return dg_fail(DG_ERR_ARG, "prediction picture: answer %d of %d classes", p->digit,
                       p->classes);
    }
    const int margin = 24, gap = 32;
    int x = margin;
    int chart_w = p->classes <= 10 ? PROB_CHART : 60 + p->classes * 14;
    int w = margin + (original ? PROB_BOX + gap : 0) + PROB_BOX + gap + chart_w + margin;
    int h = PROB_TOP + PROB_BOX + 64;
    dg_surface c;
    dg_status st = dg_surface_start(&c, w, h, WHITE, path);
    if (st != DG_OK) {
        return st;
    }
    char title[96], sub[128], name[16], pct[16];
    dg_color color = answer_color(p->answer);
    switch (p->answer) {
    case DG_ANSWER_DIGIT:
        snprintf(title, sizeof title, "Prediction: %s", class_name(labels, p->digit, name));
        snprintf(sub, sizeof sub, "%s sure", dg_format_percent(p->confidence, pct));
        break;
    case DG_ANSWER_UNSURE:
        snprintf(title, sizeof title, "Unsure: ?");
        snprintf(sub, sizeof sub, "best guess %s, only %s sure", class_name(labels, p->digit, name),
                 dg_format_percent(p->confidence, pct));
        break;
    case DG_ANSWER_EMPTY:
        snprintf(title, sizeof title, "Empty image: ?");
        snprintf(sub, sizeof sub, "no ink found, nothing to recognise");
        break;
    default:
        snprintf(title, sizeof title, "No digit: ?");
        snprintf(sub, sizeof sub, "only lines, frames or noise");
    }
    dg_surface_text(&c, margin, 16, title, 2, found ? color : INK, -1);
    dg_surface_text(&c, margin + dg_text_width(title, 2) + 16, 26, sub, 1, color, -1);
    if (original) {
        dg_surface_rect(&c, x, PROB_TOP, PROB_BOX, PROB_BOX, 0xf4f4f4u);
        dg_surface_image(&c, x, PROB_TOP, PROB_BOX, PROB_BOX, original);
        dg_surface_frame(&c, x - 1, PROB_TOP - 1, PROB_BOX + 2, PROB_BOX + 2, 1, FAINT);
        snprintf(sub, sizeof sub, "your image (%dx%d)", original->w, original->h);
        dg_surface_text(&c, x + PROB_BOX / 2, PROB_TOP + PROB_BOX + 12, sub, 1, MUTED, 0);
        x += PROB_BOX + gap;
    }
    if (mnist28) {
        dg_surface_grey(&c, x, PROB_TOP, mnist28, DG_MNIST_SIDE, DG_MNIST_SIDE,
                        PROB_BOX / DG_MNIST_SIDE);
    }
    dg_surface_frame(&c, x - 1, PROB_TOP - 1, PROB_BOX + 2, PROB_BOX + 2, 1, FAINT);
    dg_surface_text(&c, x + PROB_BOX / 2, PROB_TOP + PROB_BOX + 12, "what the network saw", 1,
                    MUTED, 0);
    dg_surface_text(&c, x + PROB_BOX / 2, PROB_TOP + PROB_BOX + 28, "(28x28)", 1, MUTED, 0);
    x += PROB_BOX + gap;
    if (found) {
        probability_bars(&c, x, chart_w, p, labels);
    } else {
        /* no probabilities to show: say why where the bars would be */
        dg_surface_frame(&c, x, PROB_TOP, chart_w, PROB_BOX, 1, FAINT);
        dg_surface_text(&c, x + chart_w / 2, PROB_TOP + PROB_BOX / 2 - 20,
                        p->answer == DG_ANSWER_EMPTY ? "empty image" : "no digit found", 2, MUTED,
                        0);
        dg_surface_text(&c, x + chart_w / 2, PROB_TOP + PROB_BOX / 2 + 12,
                        "the network was not asked", 1, MUTED, 0);
    }
    return dg_surface_finish(&c, path);
}

dg_status dg_plot_probabilities(const dg_image *original, const uint8_t mnist28[DG_MNIST_PIXELS],
                                const float *probs, int classes, const char *path)
{
    if (!mnist28 || !probs || classes < 1 || classes > DG_MAX_CLASSES) {
        return dg_fail(DG_ERR_ARG, "probability plot: no input or bad class count %d", classes);
    }
    dg_prediction p = {.answer = DG_ANSWER_DIGIT, .classes = classes};
    for (int i = 0; i < classes; i++) {
        float v = probs[i];
        p.probs[i] = v >= 0.0f && v <= 1.0f ? v : (v > 1.0f ? 1.0f : 0.0f);
    }
    p.digit = dg_argmax(p.probs, classes);
    p.confidence = p.probs[p.digit];
    return dg_plot_prediction(original, mnist28, &p, NULL, path);
}

/* ---------------------------------------------------------------- a read number */

/* What a digit's label says: its class, or "?" when it is only a guess. */
static const char *digit_text(const dg_prediction *p, const char (*labels)[32], char buf[16])
{
    return p->answer == DG_ANSWER_DIGIT ? class_name(labels, p->digit, buf) : "?";
}

dg_status dg_plot_number(const dg_image *img, const dg_segmentation *seg, const dg_prediction *pred,
                         const char (*labels)[32], const char *path)
{
    if (!img || img->w < 1 || img->h < 1 || !seg || seg->n < 0 || seg->n > DG_SEGMENT_MAX_DIGITS ||
        (seg->n > 0 && !pred)) {
        return dg_fail(DG_ERR_ARG, "number picture: no image or no digits");
    }
    /* drawn at a readable size: the image scaled to 640..1200 pixels wide */
    double f = img->w < 640 ? 640.0 / img->w : img->w > 1200 ? 1200.0 / img->w : 1.0;
    int w = (int)(img->w * f + 0.5), h = (int)(img->h * f + 0.5);
    const int title_scale = 2, digit_scale = 3, margin = 8;
    int title_h = DG_FONT_H * title_scale + 2 * margin;
    int labels_h = DG_FONT_H * (digit_scale + 2) + margin; /* the answer, two lanes of figures */
    int top = title_h + labels_h;
    dg_surface c;
    dg_status st = dg_surface_start(&c, w, top + h, WHITE, path);
    if (st != DG_OK) {
        return st;
    }
    char title[32 + DG_SEGMENT_MAX_DIGITS * 32] = "read: ", buf[16];
    int unsure = 0;
    for (int k = 0; k < seg->n; k++) {
        strncat(title, digit_text(&pred[k], labels, buf), sizeof title - strlen(title) - 1);
        unsure += pred[k].answer != DG_ANSWER_DIGIT;
    }
    if (seg->n == 0) {
        strncat(title, "no digits found", sizeof title - strlen(title) - 1);
    }
    dg_surface_text(&c, margin, margin, title, title_scale, INK, -1);
    char sub[64];
    if (seg->n > 0) {
        int len = snprintf(sub, sizeof sub, "%d digit%s", seg->n, seg->n == 1 ? "" : "s");
        if (unsure && len > 0 && (size_t)len < sizeof sub) {
            snprintf(sub + len, sizeof sub - (size_t)len, ", %d unsure (orange)", unsure);
        }
        dg_surface_text(&c, margin + dg_text_width(title, title_scale) + 16, margin + 10, sub, 1,
                        unsure ? UNSURE : MUTED, -1);
    }
    dg_surface_image(&c, 0, top, w, h, img);
    int thick = h >= 400 ? 3 : 2;
    int lane_end[2] = {-1000, -1000}; /* right end of the last figure in each lane */
    for (int k = 0; k < seg->n; k++) {
        const dg_digit_box *b = &seg->boxes[k];
        int bx = (int)(b->x * f), by = (int)(b->y * f) + top;
        int bw = (int)(b->w * f + 0.5), bh = (int)(b->h * f + 0.5);
        dg_color color = pred[k].answer == DG_ANSWER_DIGIT ? RIGHT : UNSURE;
        dg_surface_frame(&c, bx, by, bw, bh, thick, color);
        /* the answer above its box, centred, its confidence under it; a guess says so */
        const char *text = digit_text(&pred[k], labels, buf);
        char conf[48], pct[16], name[16];
        dg_format_percent(pred[k].confidence, pct);
        if (pred[k].answer == DG_ANSWER_DIGIT) {
            snprintf(conf, sizeof conf, "%s", pct);
        } else {
            snprintf(conf, sizeof conf, "%s? %s", class_name(labels, pred[k].digit, name), pct);
        }
        int cx = bx + bw / 2;
        dg_surface_text(&c, cx, title_h, text, digit_scale, color, 0);
        /* figures of narrow neighbours take turns in two lanes rather than overlap */
        int half = dg_text_width(conf, 1) / 2;
        int lane = cx - half >= lane_end[0] + 4 ? 0 : (cx - half >= lane_end[1] + 4 ? 1 : 0);
        lane_end[lane] = cx + half;
        dg_surface_text(&c, cx, title_h + DG_FONT_H * digit_scale + lane * (DG_FONT_H + 1), conf, 1,
                        color, 0);
    }
    return dg_surface_finish(&c, path);
}
