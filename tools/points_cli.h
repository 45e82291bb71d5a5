/* points_cli.h — the point-cloud pieces of the CLI, shared by `diffuscope points ...`,
 * `diffuscope png2points` and (for `--points`) the train / sample commands. */
#ifndef DS_POINTS_CLI_H
#define DS_POINTS_CLI_H

/* The whole file as a NUL-terminated malloc'ed buffer (size optional); NULL after an error. */
char *points_read_file(const char *path, long *size);

/* A PNG held in memory (size bytes) -> n points uniform over its ink (pixels darker than
 * threshold), as ds_image_points. Returns DS_OK or DS_ERR (ds_fail; prints nothing). */
int points_from_png(const unsigned char *bytes, long size, int threshold, int n, double seed, float *out);

/* n points as "x y" lines, written atomically. Returns 0 or 1 (runtime failure, printed). */
int points_write_text(const char *path, const float *xy, int n);

/* Loads a training / reference set: a shipped shape name (cow, moons, ...) or a point file.
 * *xy (n, 2) malloc'ed. Returns 0, or the exit status after printing an error. */
int points_load_set(const char *shape_or_file, int n, double seed, float **xy, int *n_out);

/* `diffuscope points train ...` / `points sample ...` with argv[0] = "train" / "sample";
 * cmd_train / cmd_sample hand their argv over here when they see --points. */
int points_train_main(int argc, char **argv);
int points_sample_main(int argc, char **argv);

#endif
