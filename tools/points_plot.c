/* points_plot.c — PNG scatter plots of point sets (see points_plot.h). */
#include "points_plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "pngout.h"

static const double INK[3] = {29, 60, 120}, PATH_INK[3] = {214, 110, 20}, START_INK[3] = {200, 30, 40};

/* one canvas of n_panels square panels side by side */
typedef struct {
    unsigned char *img; /* (H, W, 3) */
    int W, H, size;
    double extent;
} canvas;

static int canvas_new(canvas *c, int n_panels, double extent, int size) {
    *c = (canvas){.W = size * n_panels, .H = size, .size = size, .extent = extent};
    c->img = malloc((size_t)c->W * c->H * 3);
    if (!c->img) {
        fprintf(stderr, "diffuscope: out of memory for a %dx%d image\n", c->W, c->H);
        return -1;
    }
    for (size_t i = 0; i < (size_t)c->W * c->H * 3; i++) c->img[i] = 250;
    for (int k = 0; k < n_panels; k++)
        for (int y = 0; y < c->H; y++) { /* panel separator (column 0 too, as ever) */
            unsigned char *p = c->img + 3 * ((size_t)y * c->W + k * size);
            p[0] = p[1] = p[2] = 200;
        }
    return 0;
}

static int canvas_write(canvas *c, const char *path) {
    int rc = png_write_atomic(path, c->W, c->H, 3, c->img);
    free(c->img);
    return rc;
}

/* blend pixel (x, y) of panel k by coverage in [0, 1] towards colour ink */
static void blend(canvas *c, int k, int x, int y, double cover, const double ink[3]) {
    if (x < k * c->size || x >= (k + 1) * c->size || y < 0 || y >= c->H || cover <= 0) return;
    if (cover > 1) cover = 1;
    unsigned char *p = c->img + 3 * ((size_t)y * c->W + x);
    for (int j = 0; j < 3; j++) p[j] = (unsigned char)lround(p[j] + (ink[j] - p[j]) * cover * 0.8);
}

/* the pixel position of data point (x, y) in panel k */
static void to_pixel(const canvas *c, int k, double x, double y, double *px, double *py) {
    *px = k * c->size + (x + c->extent) / (2 * c->extent) * c->size;
    *py = (c->extent - y) / (2 * c->extent) * c->size;
}

static void dot(canvas *c, int k, double x, double y, double r, const double ink[3]) {
    double px, py;
    to_pixel(c, k, x, y, &px, &py);
    if (!isfinite(px) || !isfinite(py)) return;
    for (int yy = (int)floor(py - r - 1); yy <= (int)ceil(py + r + 1); yy++)
        for (int xx = (int)floor(px - r - 1); xx <= (int)ceil(px + r + 1); xx++)
            blend(c, k, xx, yy, r + 0.5 - hypot(xx + 0.5 - px, yy + 0.5 - py), ink);
}

/* a thin line: coverage stamped every half pixel (lines of a few hundred pixels at most) */
static void line(canvas *c, int k, double x0, double y0, double x1, double y1, double cover, const double ink[3]) {
    double ax, ay, bx, by;
    to_pixel(c, k, x0, y0, &ax, &ay);
    to_pixel(c, k, x1, y1, &bx, &by);
    if (!isfinite(ax) || !isfinite(ay) || !isfinite(bx) || !isfinite(by)) return;
    double len = hypot(bx - ax, by - ay);
    if (len > 4.0 * c->size) return; /* a point far off the canvas */
    int steps = (int)ceil(2 * len) + 1;
    for (int i = 0; i <= steps; i++) {
        double u = (double)i / steps;
        blend(c, k, (int)floor(ax + u * (bx - ax)), (int)floor(ay + u * (by - ay)), cover, ink);
    }
}

int points_png_strip(const char *path, const float *const *panels, const int *n, int n_panels, double extent, int size) {
    canvas c;
    if (canvas_new(&c, n_panels, extent, size)) return -1;
    const double r = size / 300.0 + 0.9; /* dot radius in pixels */
    for (int k = 0; k < n_panels; k++)
        for (int i = 0; i < n[k]; i++) dot(&c, k, panels[k][2 * i], panels[k][2 * i + 1], r, INK);
    return canvas_write(&c, path);
}

int points_png_paths(const char *path, const float *frames, int F, int n, int n_lines, double extent, int size) {
    canvas c;
    if (canvas_new(&c, 1, extent, size)) return -1;
    const double r = size / 300.0 + 0.9;
    const float *last = frames + 2L * n * (F - 1);
    for (int i = 0; i < n; i++) dot(&c, 0, last[2 * i], last[2 * i + 1], r, INK);
    if (n_lines > n) n_lines = n;
    for (int i = 0; i < n_lines; i++) {
        for (int f = 1; f < F; f++) {
            const float *a = frames + 2L * n * (f - 1) + 2 * i, *b = frames + 2L * n * f + 2 * i;
            line(&c, 0, a[0], a[1], b[0], b[1], 0.7, PATH_INK);
        }
        dot(&c, 0, frames[2 * i], frames[2 * i + 1], r + 0.5, START_INK);
    }
    return canvas_write(&c, path);
}

int points_png_mesh_strip(const char *path, const float *const *panels, int G, int n_panels, double extent, int size) {
    canvas c;
    if (canvas_new(&c, n_panels, extent, size)) return -1;
    for (int k = 0; k < n_panels; k++)
        for (int row = 0; row < G; row++)
            for (int col = 0; col < G; col++) {
                const float *p = panels[k] + 2 * ((long)row * G + col);
                if (col + 1 < G) line(&c, k, p[0], p[1], p[2], p[3], 0.6, INK);
                if (row + 1 < G) line(&c, k, p[0], p[1], p[2 * G], p[2 * G + 1], 0.6, INK);
            }
    return canvas_write(&c, path);
}

int points_png(const char *path, const float *xy, int n, double extent, int size) {
    const float *panels[1] = {xy};
    return points_png_strip(path, panels, &n, 1, extent, size);
}
