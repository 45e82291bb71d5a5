/* util.h — the tools' checked I/O and clock, in the spirit of llm.c's llmc/utils.h.
 *
 * One whole-file reader, one atomic writer and one monotonic clock for every subcommand.
 * Failures go through the library's error channel (error.h: ds_fail / ds_last_error), each
 * message naming the file and the reason (the errno string, the size limit, the file kind),
 * so the caller prints it with its own prefix: cli_error(1, "train: %s", ds_last_error()).
 * Not here: format parsing (weights.h, checkpoint.h, points_io.h), PNG encoding (pngout.h). */
#ifndef DS_UTIL_H
#define DS_UTIL_H

/* Size limits the callers pass to util_read_file: generous for the formats, small enough that
 * a wrong path (a disk image, a dataset) is refused before it is read. */
#define UTIL_MAX_WEIGHTS (1L << 30)    /* .dsw files: the shipped UNet is 1.3 MB */
#define UTIL_MAX_CHECKPOINT (8L << 30) /* training checkpoints: 4 f32 copies of the parameters */
#define UTIL_MAX_TEXT (1L << 30)       /* point files, drawings */
#define UTIL_MAX_IMAGE (256L << 20)    /* PNGs for png2points (4096 x 4096 at most once decoded) */

/* Reads the whole regular file at path, at most max_bytes, into a malloc'ed buffer with a NUL
 * after the last byte (so text can be parsed in place); *size (may be NULL) gets its length.
 * Refuses a path that is not a regular file (a FIFO, a device, a folder) and a file larger
 * than max_bytes before reading anything. NULL after ds_fail naming path and reason. */
unsigned char *util_read_file(const char *path, long max_bytes, long *size);

/* Writes size bytes to path atomically: to "PATH.tmp.PID" in the same folder, fsync, then
 * rename over path, so a crash, a full disk or Ctrl-C leaves the old file or none, never a
 * half-written one. The temporary file is removed on every failure. DS_OK, or DS_ERR after
 * ds_fail naming path and reason. */
int util_write_atomic(const char *path, const void *data, long size);

/* Seconds on a monotonic clock (for intervals; the origin is arbitrary). */
double util_now_s(void);

#endif
