/* pngout.h — write PNG files through stb_image_write, never half-written.
 *
 * The image is encoded in memory and written with util_write_atomic (util.h), so an
 * interrupted run or a full disk leaves either the old file or none, never a broken one.
 * Not here: other files (util_write_atomic writes .dsw, checkpoints, .npy, JSON, text). */
#ifndef DS_PNGOUT_H
#define DS_PNGOUT_H

/* pixels: (h, w, channels) uint8, row-major; channels 1 (grey), 3 (RGB) or 4 (RGBA).
 * Returns 0, or -1 after printing an error naming the path. */
int png_write_atomic(const char *path, int w, int h, int channels, const unsigned char *pixels);

#endif
