/*
 * plot_net.c - what is inside the network: the first convolution's kernels (filters), and
 * the feature maps every convolution made of one image (activations).
 *
 * Kernels are drawn in a diverging scale, one scale for all of them so that they can be
 * compared: white at zero, blue for positive weights, red for negative ones. A feature
 * map is drawn as ink on white, scaled to its own strongest value, since the question it
 * answers is where a channel responds, not how much compared with its neighbours.
 */
#include "pictures/surface.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NET_MARGIN 16
#define NET_TITLE  56 /* title and subtitle */
#define NET_COLS   12 /* tiles per row */
#define NET_GAP    8
#define NET_HEAD   28 /* a layer's name above its maps */

/* White to c, t in 0..1. */
static dg_color towards(dg_color c, double t)
{
    t = t < 0 ? 0 : (t > 1 ? 1 : t);
    dg_color out = 0;
    for (int shift = 16; shift >= 0; shift -= 8) {
        double v = (c >> shift) & 255;
        out |= (dg_color)lround(255.0 + (v - 255.0) * t) << shift;
    }
    return out;
}

/* The index of the first convolution, or -1. */
static int first_conv(const dg_net *net)
{
    for (int i = 0; i < dg_net_layer_count(net); i++) {
        dg_layer_info info;
        dg_net_layer_info(net, i, &info);
        if (!strcmp(info.kind, "conv")) {
            return i;
        }
    }
    return -1;
}

dg_status dg_plot_filters(const dg_net *net, const char *path)
{
    int li = net ? first_conv(net) : -1;
    if (li < 0) {
        return dg_fail(DG_ERR_ARG, "filters: the network has no convolution");
    }
    dg_layer_info info;
    dg_net_layer_info(net, li, &info);
    size_t n_w = 0;
    const float *w = dg_net_layer_weights(net, li, &n_w);
    int o = info.out.c, c_in = li == 0 ? dg_net_input_shape(net).c : 0;
    if (li > 0) {
        dg_layer_info prev;
        dg_net_layer_info(net, li - 1, &prev);
        c_in = prev.out.c;
    }
    int k = o > 0 && c_in > 0 ? (int)lround(sqrt((double)n_w / ((double)o * c_in))) : 0;
    if (!w || k < 1 || (size_t)o * (size_t)c_in * (size_t)k * (size_t)k != n_w) {
        return dg_fail(DG_ERR_ARG, "filters: unexpected weights in %s", info.desc);
    }
    double biggest = 0;
    for (size_t i = 0; i < n_w; i++) {
        biggest = fmax(biggest, fabs((double)w[i]));
    }
    biggest = biggest > 0 ? biggest : 1;
    /* each kernel as one tile of about 56 pixels; input channels side by side */
    int cell = k >= 56 ? 1 : 56 / k;
    int tile_w = c_in * k * cell + (c_in - 1) * 2, tile_h = k * cell;
    int cols = o < NET_COLS ? o : NET_COLS;
    int rows = (o + cols - 1) / cols;
    int w_px = 2 * NET_MARGIN + cols * (tile_w + NET_GAP);
    int h_px = NET_TITLE + rows * (tile_h + NET_GAP + 16) + NET_MARGIN;
    char title[160], sub[200];
    snprintf(title, sizeof title, "Filters of layer %d: %s", li + 1, info.desc);
    snprintf(sub, sizeof sub, "%d kernels of %dx%d; blue positive, red negative, white zero", o, k,
             k);
    int need = 2 * NET_MARGIN + dg_text_width(title, 2);
    w_px = w_px < need ? need : w_px;
    need = 2 * NET_MARGIN + dg_text_width(sub, 1);
    w_px = w_px < need ? need : w_px;
    dg_surface s;
    dg_status st = dg_surface_start(&s, w_px, h_px, WHITE, path);
    if (st != DG_OK) {
        return st;
    }
    dg_surface_text(&s, NET_MARGIN, 12, title, 2, INK, -1);
    dg_surface_text(&s, NET_MARGIN, 40, sub, 1, MUTED, -1);
    char label[16];
    for (int f = 0; f < o; f++) {
        int tx = NET_MARGIN + (f % cols) * (tile_w + NET_GAP);
        int ty = NET_TITLE + (f / cols) * (tile_h + NET_GAP + 16);
        for (int c = 0; c < c_in; c++) {
            const float *kern = w + ((size_t)f * c_in + c) * k * k;
            int cx = tx + c * (k * cell + 2);
            for (int y = 0; y < k; y++) {
                for (int x = 0; x < k; x++) {
                    double v = kern[y * k + x] / biggest;
                    dg_color col = v >= 0 ? towards(CELL_BLUE, v) : towards(WRONG, -v);
                    dg_surface_rect(&s, cx + x * cell, ty + y * cell, cell, cell, col);
                }
            }
            dg_surface_frame(&s, cx - 1, ty - 1, k * cell + 2, k * cell + 2, 1, FAINT);
        }
        snprintf(label, sizeof label, "%d", f + 1);
        dg_surface_text(&s, tx + tile_w / 2, ty + tile_h + 3, label, 1, MUTED, 0);
    }
    return dg_surface_finish(&s, path);
}

dg_status dg_plot_activations(const dg_net *net, const uint8_t mnist28[DG_MNIST_PIXELS],
                              const char *path)
{
    if (!net) {
        return dg_fail(DG_ERR_ARG, "activations: no network");
    }
    int n_layers = dg_net_layer_count(net);
    int convs = 0, height = NET_TITLE, width = 2 * NET_MARGIN + 112 + 24;
    for (int i = 0; i < n_layers; i++) {
        dg_layer_info info;
        dg_net_layer_info(net, i, &info);
        if (strcmp(info.kind, "conv") != 0) {
            continue;
        }
        if (!dg_net_layer_output(net, i)) {
            return dg_fail(DG_ERR_ARG, "activations: the network has not just seen one image");
        }
        int scale = info.out.h >= 72 ? 1 : 72 / info.out.h;
        int side = info.out.h * scale;
        int cols = info.out.c < NET_COLS ? info.out.c : NET_COLS;
        int rows = (info.out.c + cols - 1) / cols;
        height += NET_HEAD + rows * (side + NET_GAP) + NET_GAP;
        int row_w = 2 * NET_MARGIN + cols * (info.out.w * scale + NET_GAP);
        width = width < row_w ? row_w : width;
        convs++;
    }
    if (convs == 0) {
        return dg_fail(DG_ERR_ARG, "activations: the network has no convolution");
    }
    if (mnist28) {
        height += 112 + 16;
    }
    height += NET_MARGIN;
    dg_surface s;
    dg_status st = dg_surface_start(&s, width, height, WHITE, path);
    if (st != DG_OK) {
        return st;
    }
    dg_surface_text(&s, NET_MARGIN, 12, "Feature maps", 2, INK, -1);
    dg_surface_text(&s, NET_MARGIN, 40,
                    "what each convolution's channels respond to in this image; darker: stronger",
                    1, MUTED, -1);
    int y = NET_TITLE;
    if (mnist28) {
        dg_surface_grey(&s, NET_MARGIN, y, mnist28, DG_MNIST_SIDE, DG_MNIST_SIDE, 4);
        dg_surface_frame(&s, NET_MARGIN - 1, y - 1, 114, 114, 1, FAINT);
        dg_surface_text(&s, NET_MARGIN + 112 + 12, y + 50, "the 28x28 the network saw", 1, MUTED,
                        -1);
        y += 112 + 16;
    }
    uint8_t *grey = NULL;
    for (int i = 0; i < n_layers; i++) {
        dg_layer_info info;
        dg_net_layer_info(net, i, &info);
        if (strcmp(info.kind, "conv") != 0) {
            continue;
        }
        const float *out = dg_net_layer_output(net, i);
        int hw = info.out.h * info.out.w;
        uint8_t *g = realloc(grey, (size_t)hw);
        if (!g) {
            free(grey);
            dg_surface_abandon(&s);
            return dg_fail(DG_ERR_NOMEM, "activations: out of memory");
        }
        grey = g;
        int scale = info.out.h >= 72 ? 1 : 72 / info.out.h;
        int cols = info.out.c < NET_COLS ? info.out.c : NET_COLS;
        char head[128];
        snprintf(head, sizeof head, "layer %d: %s, %d maps of %dx%d", i + 1, info.desc, info.out.c,
                 info.out.h, info.out.w);
        dg_surface_text(&s, NET_MARGIN, y + 6, head, 1, INK, -1);
        y += NET_HEAD;
        for (int ch = 0; ch < info.out.c; ch++) {
            const float *map = out + (size_t)ch * hw;
            float top = 0;
            for (int j = 0; j < hw; j++) {
                top = map[j] > top ? map[j] : top;
            }
            for (int j = 0; j < hw; j++) {
                float v = top > 0 && map[j] > 0 ? map[j] / top : 0.0f;
                grey[j] = (uint8_t)lroundf(255.0f * (v < 1 ? v : 1));
            }
            int tx = NET_MARGIN + (ch % cols) * (info.out.w * scale + NET_GAP);
            int ty = y + (ch / cols) * (info.out.h * scale + NET_GAP);
            dg_surface_grey(&s, tx, ty, grey, info.out.w, info.out.h, scale);
            dg_surface_frame(&s, tx - 1, ty - 1, info.out.w * scale + 2, info.out.h * scale + 2, 1,
                             GRID);
        }
        int rows = (info.out.c + cols - 1) / cols;
        y += rows * (info.out.h * scale + NET_GAP) + NET_GAP;
    }
    free(grey);
    return dg_surface_finish(&s, path);
}
