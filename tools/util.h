/* util.h — the tools' checked I/O, stop signals and clock, in the spirit of llm.c's llmc/utils.h.
 *
 * One reader, one atomic writer, one stop-signal latch and one monotonic clock for every
 * subcommand. Failures go through the library's error channel (error.h: ds_fail /
 * ds_last_error), each message naming the file and the reason (the errno string, the size
 * limit, the file kind), so the caller prints it with its own prefix: cli_error(1, "train: %s",
 * ds_last_error()).
 *
 * Outputs never destroy: the writer replaces only regular files (a device, a FIFO, a socket, a
 * folder or a symbolic link is refused unless util_set_write_through is on), never a read-only
 * file, never a file the running command declared as its input (util_protect_input), and
 * "-" means standard output.
 * Not here: format parsing and the per-format first-bytes checks (input_kinds.h, weights.h,
 * checkpoint.h, points_io.h), PNG encoding (pngout.h), flags (cli.h). */
#ifndef DS_UTIL_H
#define DS_UTIL_H

/* Size limits the callers pass to util_read_file: generous for the formats, small enough that
 * a wrong path (a disk image, a dataset) is refused before it is read. */
#define UTIL_MAX_WEIGHTS (1L << 30)    /* .dsw files: the shipped UNet is 1.0 MB */
#define UTIL_MAX_CHECKPOINT (8L << 30) /* training checkpoints: 4 f32 copies of the parameters */
#define UTIL_MAX_TEXT (1L << 30)       /* point files, drawings */
#define UTIL_MAX_IMAGE (256L << 20)    /* PNGs for png2points (4096 x 4096 at most once decoded) */

/* First-bytes check of one kind of input file: head holds the file's first head_n bytes
 * (head_n = min(head_bytes, file_size)); DS_OK, or DS_ERR after ds_fail saying what is wrong
 * (bad magic, a declared size the file does not have). input_kinds.h has one per format. */
typedef int (*util_head_check)(const unsigned char *head, long head_n, long long file_size);

typedef struct {
    const char *what;          /* "weights file", "checkpoint", ...: for messages */
    long max_bytes;            /* larger files are refused before a byte is read */
    int head_bytes;            /* how many first bytes check_head needs (<= 4096) */
    util_head_check check_head; /* NULL: no check */
} util_input_kind;

/* Reads the whole regular file at path, at most max_bytes, into a malloc'ed buffer with a NUL
 * after the last byte (so text can be parsed in place); *size (may be NULL) gets its length.
 * Refuses a path that is not a regular file (a FIFO, a device, a folder; opened non-blocking,
 * so a FIFO never hangs) and a file larger than max_bytes before reading anything. NULL after
 * ds_fail naming path and reason. */
unsigned char *util_read_file(const char *path, long max_bytes, long *size);

/* The same for one kind of file: also runs kind->check_head on the first bytes before the rest
 * is read (or memory for it taken), so a wrong file costs a few bytes, not its size. */
unsigned char *util_read_kind(const char *path, const util_input_kind *kind, long *size);

/* Opens path for reading as util_read_kind would (regular file, size cap, first bytes checked)
 * and returns the descriptor positioned at 0, for readers that stream (zlib). -1 after ds_fail. */
int util_open_kind(const char *path, const util_input_kind *kind);

/* Writes size bytes to path atomically: to "PATH.tmp.PID" in the same folder, fsync, then
 * rename over path, so a crash, a full disk or Ctrl-C leaves the old file or none, never a
 * half-written one (SIGINT, SIGTERM and SIGHUP wait while the file is written and renamed).
 * A replaced file keeps its permission bits. Before writing, "PATH.tmp.N" files left by a
 * process N that no longer runs (killed with SIGKILL, a power cut) are removed. "-" writes to
 * standard output. Refused (DS_ERR, nothing written) as util_check_output says. DS_OK, or
 * DS_ERR after ds_fail naming path and reason. */
int util_write_atomic(const char *path, const void *data, long size);

/* Whether util_write_atomic may write path, without writing: DS_OK for a new file, a writable
 * regular file or "-"; DS_ERR after ds_fail ("PATH is a character device: refusing to replace
 * it with a regular file (add --write-through to write into it)") for a folder, a device, a
 * FIFO, a socket, a symbolic link (devices, FIFOs and links pass with write-through on), a
 * read-only file, or a file declared with util_protect_input. */
int util_check_output(const char *path);

/* An output given as "-": from now on standard output carries only that data, and the text a
 * command prints (reports, JSON) goes to standard error. Refused when standard output is a
 * terminal. DS_OK, or DS_ERR after ds_fail. */
int util_stdout_for_data(void);

/* --write-through: write into devices and FIFOs as they are (no temporary file) and through
 * symbolic links (the link stays; its target is replaced atomically). Off by default. */
void util_set_write_through(int on);
int util_write_through(void);

/* The files the running command reads, which no output may replace. util_protect_input
 * records path's device and inode (a missing path is ignored: the reader will report it);
 * label names it in messages ("--weights W.dsw"). util_protect_clear forgets them all (each
 * command starts with it). DS_OK, or DS_ERR when the table (64) is full. */
void util_protect_clear(void);
int util_protect_input(const char *label, const char *path);
/* The label of the protected input that path is (same device and inode), or NULL. */
const char *util_protected_as(const char *path);

/* Whether a and b name the same file: the same device and inode when both exist, else the same
 * folder (resolved) and name. */
int util_same_file(const char *a, const char *b);

/* SIGINT, SIGTERM and SIGHUP latch the signal's number instead of killing the process, so a
 * long command can save and stop; util_stop_signal() is that number (0: none yet).
 * util_reraise_stop_signal() ends the process by the latched signal with its default action
 * (the shell then reports 128 + N: 130 for Ctrl-C, 143 for SIGTERM), and returns if none. */
void util_catch_stop_signals(void);
int util_stop_signal(void);
void util_reraise_stop_signal(void);

/* Seconds on a monotonic clock (for intervals; the origin is arbitrary). */
double util_now_s(void);

#endif
