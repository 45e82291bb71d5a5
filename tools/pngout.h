/* pngout.h — write PNG files through stb_image_write, never half-written.
 *
 * The image goes to "PATH.tmp.PID" first and is renamed over PATH only when complete, so an
 * interrupted run or a full disk leaves either the old file or none, never a broken one. */
#ifndef DS_PNGOUT_H
#define DS_PNGOUT_H

/* pixels: (h, w, channels) uint8, row-major; channels 1 (grey), 3 (RGB) or 4 (RGBA).
 * Returns 0, or -1 after printing an error naming the path. */
int png_write_atomic(const char *path, int w, int h, int channels, const unsigned char *pixels);

/* Write any file atomically the same way (used for .npy and JSON outputs). */
int file_write_atomic(const char *path, const void *data, long size);

#endif
