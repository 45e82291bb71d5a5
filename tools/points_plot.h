/* points_plot.h — scatter plots of 2-D point sets as PNG images (through pngout.h).
 *
 * A plot is a square canvas showing [-extent, extent]^2, y up, light background, points as
 * small anti-aliased dark dots. A strip puts several panels side by side (the frames of a
 * forward or reverse process). Paths draw trajectories as orange polylines over the final
 * points; a mesh draws a grid of points pushed through a sampler as the grid's lines.
 * Not here: computing the paths (src/score.h). */
#ifndef DS_POINTS_PLOT_H
#define DS_POINTS_PLOT_H

/* Draws panels[k] (n[k] points, (n[k], 2)) for k < n_panels into one PNG of
 * (size * n_panels) x size pixels. Returns 0, or -1 after printing an error. */
int points_png_strip(const char *path, const float *const *panels, const int *n, int n_panels, double extent, int size);

/* One panel. */
int points_png(const char *path, const float *xy, int n, double extent, int size);

/* frames (F, n, 2): the final frame's n points as dots and the first n_lines paths (each the
 * points i of frames 0..F-1) as polylines, the start of each marked. */
int points_png_paths(const char *path, const float *frames, int F, int n, int n_lines, double extent, int size);

/* panels[k] (G², 2): a G×G grid (point r G + c, as ds_grid_points) at n_panels moments, each
 * drawn as its grid lines (r, c)–(r, c + 1) and (r, c)–(r + 1, c). */
int points_png_mesh_strip(const char *path, const float *const *panels, int G, int n_panels, double extent, int size);

#endif
