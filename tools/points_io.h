/* points_io.h — 2-D point sets in and out of files for the CLI: a shipped shape name or an
 * 'x y' point file in, 'x y' text out, and a PNG's ink as points. Used by `points`,
 * `png2points`, `train --model mlp` and `sample --points`, so no command depends on another.
 * Not here: the shapes and the text parser themselves (src/shapes.h), plots (points_plot.h). */
#ifndef DS_POINTS_IO_H
#define DS_POINTS_IO_H

/* Loads a training / reference set: a shipped shape name (cow, moons, ...) drawn with n points
 * and seed, or a point file (all its points). *xy (n_out, 2) malloc'ed. Returns 0, or the
 * exit status after printing an error. */
int points_load_set(const char *shape_or_file, int n, double seed, float **xy, int *n_out);

/* n points as "x y" lines, written atomically. Returns 0 or 1 (runtime failure, printed). */
int points_write_text(const char *path, const float *xy, int n);

/* A PNG held in memory (size bytes) -> n points uniform over its ink (pixels darker than
 * threshold), as ds_image_points. Returns DS_OK or DS_ERR (ds_fail; prints nothing). */
int points_from_png(const unsigned char *bytes, long size, int threshold, int n, double seed, float *out);

/* A copy of a PNG without its empty IDAT chunks, checked to hold every chunk it announces: the
 * guard stb_image v2.27 needs (fuzzing found both: NULL + 0 on an empty first IDAT, a 2 GiB
 * buffer for a chunk's declared length). Also used by image_folder.c. *size is updated; NULL
 * after ds_fail. A non-PNG is copied as it is. */
unsigned char *png_drop_empty_idat(const unsigned char *bytes, long *size);

#endif
