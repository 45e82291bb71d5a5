/* points_plot.h — scatter plots of 2-D point sets as PNG images (through pngout.h).
 *
 * A plot is a square canvas showing [-extent, extent]^2, y up, light background, points as
 * small anti-aliased dark dots. A strip puts several panels side by side (the frames of a
 * forward or reverse process). */
#ifndef DS_POINTS_PLOT_H
#define DS_POINTS_PLOT_H

/* Draws panels[k] (n[k] points, (n[k], 2)) for k < n_panels into one PNG of
 * (size * n_panels) x size pixels. Returns 0, or -1 after printing an error. */
int points_png_strip(const char *path, const float *const *panels, const int *n, int n_panels, double extent, int size);

/* One panel. */
int points_png(const char *path, const float *xy, int n, double extent, int size);

#endif
