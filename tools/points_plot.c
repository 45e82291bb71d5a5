/* points_plot.c — PNG scatter plots of point sets (see points_plot.h). */
#include "points_plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "pngout.h"

/* darken pixel (x, y) of an RGB image by coverage c in [0, 1] towards the ink colour */
static void blend(unsigned char *img, int W, int H, int x, int y, double c) {
    static const double INK[3] = {29, 60, 120};
    if (x < 0 || y < 0 || x >= W || y >= H || c <= 0) return;
    if (c > 1) c = 1;
    unsigned char *p = img + 3 * ((size_t)y * W + x);
    for (int k = 0; k < 3; k++) p[k] = (unsigned char)lround(p[k] + (INK[k] - p[k]) * c * 0.8);
}

int points_png_strip(const char *path, const float *const *panels, const int *n, int n_panels, double extent, int size) {
    int W = size * n_panels, H = size;
    unsigned char *img = malloc((size_t)W * H * 3);
    if (!img) {
        fprintf(stderr, "diffuscope: out of memory for a %dx%d image\n", W, H);
        return -1;
    }
    for (size_t i = 0; i < (size_t)W * H * 3; i++) img[i] = 250;
    const double r = size / 300.0 + 0.9; /* dot radius in pixels */
    for (int k = 0; k < n_panels; k++) {
        int x0 = k * size;
        for (int y = 0; y < H; y++) { /* panel separator */
            unsigned char *p = img + 3 * ((size_t)y * W + x0);
            p[0] = p[1] = p[2] = 200;
        }
        for (int i = 0; i < n[k]; i++) {
            double px = x0 + (panels[k][2 * i] + extent) / (2 * extent) * size;
            double py = (extent - panels[k][2 * i + 1]) / (2 * extent) * size;
            if (!isfinite(px) || !isfinite(py)) continue;
            for (int y = (int)floor(py - r - 1); y <= (int)ceil(py + r + 1); y++)
                for (int x = (int)floor(px - r - 1); x <= (int)ceil(px + r + 1); x++) {
                    if (x < x0 || x >= x0 + size) continue;
                    double d = hypot(x + 0.5 - px, y + 0.5 - py);
                    blend(img, W, H, x, y, r + 0.5 - d);
                }
        }
    }
    int rc = png_write_atomic(path, W, H, 3, img);
    free(img);
    return rc;
}

int points_png(const char *path, const float *xy, int n, double extent, int size) {
    const float *panels[1] = {xy};
    return points_png_strip(path, panels, &n, 1, extent, size);
}
