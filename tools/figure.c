/* figure.c — the RGB canvas of the static figures (see figure.h). */
#include "figure.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pngout.h"

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#endif
#include <stb/stb_easy_font.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

int fig_canvas_init(fig_canvas *c, int w, int h, fig_color background) {
    if (!c || w < 1 || h < 1 || w > 16384 || h > 16384) {
        fprintf(stderr, "diffuscope: canvas size %dx%d is out of range (1..16384)\n", w, h);
        return -1;
    }
    c->w = w;
    c->h = h;
    c->rgb = malloc((size_t)w * h * 3);
    if (!c->rgb) {
        fprintf(stderr, "diffuscope: out of memory for a %dx%d canvas\n", w, h);
        return -1;
    }
    fig_clear(c, background);
    return 0;
}

void fig_canvas_free(fig_canvas *c) {
    if (!c) return;
    free(c->rgb);
    c->rgb = NULL;
    c->w = c->h = 0;
}

void fig_clear(fig_canvas *c, fig_color color) {
    for (long i = 0; i < (long)c->w * c->h; i++) {
        c->rgb[3 * i] = color.r;
        c->rgb[3 * i + 1] = color.g;
        c->rgb[3 * i + 2] = color.b;
    }
}

/* Blends color over pixel (i, j) with weight a in [0, 1]. */
static void blend(fig_canvas *c, int i, int j, fig_color color, double a) {
    if (i < 0 || j < 0 || i >= c->w || j >= c->h || !(a > 0)) return;
    if (a > 1) a = 1;
    unsigned char *px = c->rgb + 3 * ((long)j * c->w + i);
    px[0] = (unsigned char)lround(px[0] + (color.r - px[0]) * a);
    px[1] = (unsigned char)lround(px[1] + (color.g - px[1]) * a);
    px[2] = (unsigned char)lround(px[2] + (color.b - px[2]) * a);
}

static double clamp01(double v) { return v < 0 ? 0 : v > 1 ? 1 : v; }

void fig_fill_rect(fig_canvas *c, double x0, double y0, double x1, double y1, fig_color color, double alpha) {
    if (x1 < x0) { double t = x0; x0 = x1; x1 = t; }
    if (y1 < y0) { double t = y0; y0 = y1; y1 = t; }
    int i0 = (int)floor(fmax(x0, 0)), i1 = (int)ceil(fmin(x1, c->w)), j0 = (int)floor(fmax(y0, 0)), j1 = (int)ceil(fmin(y1, c->h));
    for (int j = j0; j < j1; j++) {
        double cov_y = clamp01(fmin(y1, j + 1) - fmax(y0, j));
        for (int i = i0; i < i1; i++) blend(c, i, j, color, alpha * cov_y * clamp01(fmin(x1, i + 1) - fmax(x0, i)));
    }
}

/* Distance from (px, py) to the segment (x0, y0)-(x1, y1). */
static double segment_distance(double px, double py, double x0, double y0, double x1, double y1) {
    double dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy;
    double t = len2 > 0 ? clamp01(((px - x0) * dx + (py - y0) * dy) / len2) : 0;
    double ex = px - (x0 + t * dx), ey = py - (y0 + t * dy);
    return sqrt(ex * ex + ey * ey);
}

void fig_line(fig_canvas *c, double x0, double y0, double x1, double y1, double width, fig_color color) {
    if (!isfinite(x0) || !isfinite(y0) || !isfinite(x1) || !isfinite(y1)) return;
    double r = 0.5 * width;
    int i0 = (int)floor(fmin(x0, x1) - r - 1), i1 = (int)ceil(fmax(x0, x1) + r + 1);
    int j0 = (int)floor(fmin(y0, y1) - r - 1), j1 = (int)ceil(fmax(y0, y1) + r + 1);
    if (i0 < 0) i0 = 0;
    if (j0 < 0) j0 = 0;
    if (i1 > c->w) i1 = c->w;
    if (j1 > c->h) j1 = c->h;
    for (int j = j0; j < j1; j++)
        for (int i = i0; i < i1; i++)
            blend(c, i, j, color, clamp01(r + 0.5 - segment_distance(i + 0.5, j + 0.5, x0, y0, x1, y1)));
}

void fig_polyline(fig_canvas *c, const double *xy, int n, double width, fig_color color) {
    for (int k = 0; k + 1 < n; k++) fig_line(c, xy[2 * k], xy[2 * k + 1], xy[2 * k + 2], xy[2 * k + 3], width, color);
}

static int compare_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void fig_fill_polygon(fig_canvas *c, const double *xy, int n, fig_color color, double alpha) {
    if (n < 3) return;
    double *cross = malloc(sizeof(double) * n);
    if (!cross) return;
    double y_lo = INFINITY, y_hi = -INFINITY;
    for (int k = 0; k < n; k++) y_lo = fmin(y_lo, xy[2 * k + 1]), y_hi = fmax(y_hi, xy[2 * k + 1]);
    int j0 = (int)fmax(0, floor(y_lo)), j1 = (int)fmin(c->h, ceil(y_hi));
    /* 4 sub-scanlines per row for vertical anti-aliasing; exact x coverage at span ends */
    for (int j = j0; j < j1; j++) {
        for (int sub = 0; sub < 4; sub++) {
            double y = j + (sub + 0.5) / 4;
            int m = 0;
            for (int k = 0; k < n; k++) {
                double ax = xy[2 * k], ay = xy[2 * k + 1];
                double bx = xy[2 * ((k + 1) % n)], by = xy[2 * ((k + 1) % n) + 1];
                if ((ay <= y && by > y) || (by <= y && ay > y)) cross[m++] = ax + (y - ay) / (by - ay) * (bx - ax);
            }
            qsort(cross, (size_t)m, sizeof(double), compare_double);
            for (int s = 0; s + 1 < m; s += 2) {
                double xa = fmax(cross[s], 0), xb = fmin(cross[s + 1], c->w);
                for (int i = (int)floor(xa); i < (int)ceil(xb); i++)
                    blend(c, i, j, color, 0.25 * alpha * clamp01(fmin(xb, i + 1) - fmax(xa, i)));
            }
        }
    }
    free(cross);
}

/* ---- text ---- */

static char printable(char ch) { return ch >= 32 && ch < 127 ? ch : '?'; }

double fig_text_width(const char *text, double scale) {
    double widest = 0, line = 0;
    for (const char *s = text; s && *s; s++) {
        if (*s == '\n') { widest = fmax(widest, line); line = 0; continue; }
        char one[2] = {printable(*s), 0};
        line += stb_easy_font_width(one);
    }
    return fmax(widest, line) * scale;
}

double fig_text_height(double scale) { return 12 * scale; }

double fig_text(fig_canvas *c, double x, double y, double scale, fig_color color, const char *text) {
    static char quads[64 * 64]; /* one glyph: at most ~30 quads of 4 vertices x 16 bytes */
    double pen_x = x, pen_y = y;
    for (const char *s = text; s && *s; s++) {
        if (*s == '\n') { pen_x = x; pen_y += 12 * scale; continue; }
        char one[2] = {printable(*s), 0};
        int n = stb_easy_font_print(0, 0, one, NULL, quads, sizeof quads);
        for (int q = 0; q < n; q++) {
            const float *v0 = (const float *)(quads + 64 * q), *v2 = (const float *)(quads + 64 * q + 32);
            fig_fill_rect(c, pen_x + v0[0] * scale, pen_y + v0[1] * scale, pen_x + v2[0] * scale, pen_y + v2[1] * scale, color, 1.0);
        }
        pen_x += stb_easy_font_width(one) * scale;
    }
    return fig_text_width(text, scale);
}

/* ---- plot frames ---- */

double fig_px(const fig_frame *f, double x) { return f->left + (x - f->x_min) / (f->x_max - f->x_min) * f->width; }
double fig_py(const fig_frame *f, double y) { return f->top + (1 - (y - f->y_min) / (f->y_max - f->y_min)) * f->height; }

void fig_axes(fig_canvas *c, const fig_frame *f, double x_tick, double y_tick, fig_color color, double text_scale) {
    double l = f->left, t = f->top, r = f->left + f->width, b = f->top + f->height;
    fig_line(c, l, t, r, t, 1, color);
    fig_line(c, l, b, r, b, 1, color);
    fig_line(c, l, t, l, b, 1, color);
    fig_line(c, r, t, r, b, 1, color);
    char label[32];
    if (x_tick > 0)
        for (double v = ceil(f->x_min / x_tick) * x_tick; v <= f->x_max + 1e-9 * x_tick; v += x_tick) {
            double px = fig_px(f, v);
            fig_line(c, px, b, px, b + 5, 1, color);
            snprintf(label, sizeof label, "%g", fabs(v) < 1e-12 * x_tick ? 0.0 : v);
            fig_text(c, px - fig_text_width(label, text_scale) / 2, b + 8, text_scale, color, label);
        }
    if (y_tick > 0)
        for (double v = ceil(f->y_min / y_tick) * y_tick; v <= f->y_max + 1e-9 * y_tick; v += y_tick) {
            double py = fig_py(f, v);
            fig_line(c, l - 5, py, l, py, 1, color);
            snprintf(label, sizeof label, "%g", fabs(v) < 1e-12 * y_tick ? 0.0 : v);
            fig_text(c, l - 8 - fig_text_width(label, text_scale), py - 3.5 * text_scale, text_scale, color, label);
        }
}

int fig_save_png(const fig_canvas *c, const char *path) { return png_write_atomic(path, c->w, c->h, 3, c->rgb); }
