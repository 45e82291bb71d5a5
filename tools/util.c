/* util.c — checked reading, atomic writing that never destroys, stop signals, the clock (see util.h). */
#define _XOPEN_SOURCE 700 /* realpath, with POSIX.1-2008 */
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"

#define PATH_CAP 4096

static const char *file_kind(mode_t mode) {
    if (S_ISDIR(mode)) return "a folder";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISLNK(mode)) return "a symbolic link";
    return "not a regular file";
}

/* ---- reading ---- */

/* read() until n bytes or end of file; returns the bytes read, or -1 (errno set) */
static long read_all(int fd, unsigned char *buf, long n) {
    long got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, (size_t)(n - got));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) break;
        got += r;
    }
    return got;
}

/* path opened for reading if it is a regular file of at most kind->max_bytes whose first bytes
 * pass kind->check_head; the descriptor is at offset 0 and *st filled. -1 after ds_fail. */
static int open_input(const char *path, const util_input_kind *kind, struct stat *st) {
    /* O_NONBLOCK: opening a FIFO with no writer would wait forever; fstat then refuses it */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        ds_fail("cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    char limit[96];
    if (kind->what) snprintf(limit, sizeof limit, "a %s may have", kind->what);
    else snprintf(limit, sizeof limit, "this reader accepts");
    unsigned char head[4096];
    long head_n = 0;
    if (fstat(fd, st) != 0) {
        ds_fail("cannot read %s: %s", path, strerror(errno));
    } else if (!S_ISREG(st->st_mode)) {
        ds_fail("cannot read %s: it is %s, not a regular file", path, file_kind(st->st_mode));
    } else if ((long long)st->st_size > (long long)kind->max_bytes) {
        ds_fail("cannot read %s: it is %lld bytes, more than the %ld %s (wrong file?)", path, (long long)st->st_size,
                kind->max_bytes, limit);
    } else if (!kind->check_head) {
        return fd;
    } else {
        head_n = kind->head_bytes < (long)sizeof head ? kind->head_bytes : (long)sizeof head;
        if (head_n > (long)st->st_size) head_n = (long)st->st_size;
        if (read_all(fd, head, head_n) != head_n) ds_fail("reading %s failed: %s", path, errno ? strerror(errno) : "it shrank");
        else if (kind->check_head(head, head_n, (long long)st->st_size)) ds_fail("%s: %s", path, ds_last_error());
        else if (lseek(fd, 0, SEEK_SET) != 0) ds_fail("reading %s failed: %s", path, strerror(errno));
        else return fd;
    }
    close(fd);
    return -1;
}

unsigned char *util_read_kind(const char *path, const util_input_kind *kind, long *size) {
    struct stat st;
    int fd = open_input(path, kind, &st);
    if (fd < 0) return NULL;
    long n = (long)st.st_size;
    unsigned char *buf = malloc((size_t)n + 1), extra;
    if (!buf) {
        ds_fail("cannot read %s: out of memory for its %ld bytes", path, n);
    } else {
        long got = read_all(fd, buf, n);
        if (got < 0) ds_fail("reading %s failed: %s", path, strerror(errno));
        else if (got != n || read_all(fd, &extra, 1) != 0) ds_fail("reading %s failed: it changed size while being read", path);
        else {
            buf[n] = '\0';
            if (size) *size = n;
            close(fd);
            return buf;
        }
        free(buf);
    }
    close(fd);
    return NULL;
}

unsigned char *util_read_file(const char *path, long max_bytes, long *size) {
    const util_input_kind any = {NULL, max_bytes, 0, NULL};
    return util_read_kind(path, &any, size);
}

int util_open_kind(const char *path, const util_input_kind *kind) {
    struct stat st;
    return open_input(path, kind, &st);
}

/* ---- what an output may replace ---- */

static int g_write_through;
void util_set_write_through(int on) { g_write_through = on; }
int util_write_through(void) { return g_write_through; }

typedef struct {
    dev_t dev;
    ino_t ino;
    char label[PATH_CAP + 64]; /* "--weights W.dsw" */
} protected_input;
static protected_input g_protected[64];
static int g_n_protected;

void util_protect_clear(void) { g_n_protected = 0; }

int util_protect_input(const char *label, const char *path) {
    struct stat st;
    if (!path || stat(path, &st) != 0) return DS_OK;
    if (g_n_protected == (int)(sizeof g_protected / sizeof g_protected[0])) return ds_fail("too many input files");
    protected_input *p = &g_protected[g_n_protected++];
    p->dev = st.st_dev, p->ino = st.st_ino;
    snprintf(p->label, sizeof p->label, "%s", label);
    return DS_OK;
}

static const char *protected_label(const struct stat *st) {
    for (int i = 0; i < g_n_protected; i++)
        if (g_protected[i].dev == st->st_dev && g_protected[i].ino == st->st_ino) return g_protected[i].label;
    return NULL;
}

const char *util_protected_as(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? protected_label(&st) : NULL;
}

/* "folder/name" of path with the folder resolved (for comparing paths that do not exist yet) */
static void canonical_name(const char *path, char *out, size_t cap) {
    const char *slash = strrchr(path, '/');
    char dir[PATH_CAP], real[PATH_MAX];
    if (!slash) snprintf(dir, sizeof dir, ".");
    else snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    const char *base = slash ? slash + 1 : path;
    if (realpath(dir, real)) snprintf(out, cap, "%s/%s", real, base);
    else snprintf(out, cap, "%s", path);
}

int util_same_file(const char *a, const char *b) {
    struct stat sa, sb;
    int ea = stat(a, &sa) == 0, eb = stat(b, &sb) == 0;
    if (ea && eb) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    if (ea != eb) return 0;
    char ca[2 * PATH_CAP], cb[2 * PATH_CAP];
    canonical_name(a, ca, sizeof ca);
    canonical_name(b, cb, sizeof cb);
    return !strcmp(ca, cb);
}

typedef enum { TARGET_FILE, TARGET_STDOUT, TARGET_INTO } target_how;

typedef struct {
    target_how how;
    char path[PATH_MAX];  /* where to write: path itself, or a symbolic link's target */
    int exists;
    mode_t mode;          /* the file replaced: its permission bits are kept */
} output_target;

/* what writing path means; DS_ERR after ds_fail when it would destroy something */
static int resolve_output(const char *path, output_target *t) {
    struct stat st;
    memset(t, 0, sizeof *t);
    if (!strcmp(path, "-")) {
        t->how = TARGET_STDOUT;
        return DS_OK;
    }
    if (snprintf(t->path, sizeof t->path, "%s", path) >= (int)sizeof t->path) return ds_fail("cannot write %s: the path is too long", path);
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT) return DS_OK;
        return ds_fail("cannot write %s: %s", path, strerror(errno));
    }
    if (S_ISLNK(st.st_mode)) {
        char to[PATH_CAP];
        ssize_t k = readlink(path, to, sizeof to - 1);
        to[k > 0 ? k : 0] = '\0';
        if (!g_write_through)
            return ds_fail("%s is a symbolic link (to %s): refusing to replace the link (give the target's own name, or add "
                           "--write-through to write through it)", path, to);
        if (!realpath(path, t->path) || lstat(t->path, &st) != 0)
            return ds_fail("%s is a symbolic link to %s, which cannot be written: %s", path, to, strerror(errno));
    }
    const char *input = protected_label(&st);
    if (input) return ds_fail("%s is the same file as %s: refusing to overwrite an input (write to another name)", path, input);
    if (S_ISDIR(st.st_mode)) return ds_fail("%s is a folder: give the name of a file to write", path);
    if (S_ISSOCK(st.st_mode)) return ds_fail("%s is a socket: a file cannot be written there", path);
    if (!S_ISREG(st.st_mode)) {
        if (!g_write_through)
            return ds_fail("%s is %s: refusing to replace it with a regular file (add --write-through to write into it)", path,
                           file_kind(st.st_mode));
        t->how = TARGET_INTO;
        return DS_OK;
    }
    /* rename would replace a read-only file in a writable folder; its owner meant otherwise */
    if (access(t->path, W_OK) != 0 && errno == EACCES)
        return ds_fail("%s is read-only: refusing to replace it (make it writable, or remove it first)", path);
    t->exists = 1;
    t->mode = st.st_mode & 07777;
    return DS_OK;
}

int util_check_output(const char *path) {
    output_target t;
    return resolve_output(path, &t);
}

/* ---- writing ---- */

/* write() all n bytes; 0, or -1 with errno set */
static int write_all(int fd, const unsigned char *data, long n) {
    long put = 0;
    while (put < n) {
        ssize_t w = write(fd, data + put, (size_t)(n - put));
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return -1;
        put += w;
    }
    return 0;
}

/* Removes "PATH.tmp.N" beside path for every N that is not a running process: what a writer
 * killed between creating and renaming its temporary file left. Only regular files of ours. */
static void remove_stale_temporaries(const char *path) {
    const char *slash = strrchr(path, '/');
    char dir[PATH_CAP], full[2 * PATH_CAP];
    if (!slash) snprintf(dir, sizeof dir, ".");
    else snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    const char *base = slash ? slash + 1 : path;
    size_t base_n = strlen(base);
    DIR *d = opendir(dir);
    if (!d) return;
    for (struct dirent *e; (e = readdir(d));) {
        const char *name = e->d_name, *digits = name + base_n + 5;
        if (strncmp(name, base, base_n) || strncmp(name + base_n, ".tmp.", 5) || !*digits || strlen(digits) > 9) continue;
        if (strspn(digits, "0123456789") != strlen(digits)) continue;
        long pid = strtol(digits, NULL, 10);
        if (pid <= 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        struct stat st;
        snprintf(full, sizeof full, "%s/%s", dir, name);
        if (lstat(full, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid()) unlink(full);
    }
    closedir(d);
}

/* the bytes into a device or FIFO as it is (--write-through); a FIFO waits for its reader */
static int write_into(const char *path, const void *data, long size) {
    int fd = open(path, O_WRONLY | O_NOCTTY);
    if (fd < 0) return ds_fail("cannot write into %s: %s", path, strerror(errno));
    int failed = write_all(fd, data, size), saved = errno;
    if (close(fd) && !failed) failed = 1, saved = errno;
    return failed ? ds_fail("writing into %s failed: %s", path, strerror(saved)) : DS_OK;
}

static int g_data_fd = -1; /* standard output as it was, once util_stdout_for_data moved the text away */

int util_stdout_for_data(void) {
    if (g_data_fd >= 0) return DS_OK;
    if (isatty(STDOUT_FILENO))
        return ds_fail("standard output is a terminal: redirect it (> FILE) or give a file name instead of -");
    fflush(stdout);
    if ((g_data_fd = dup(STDOUT_FILENO)) < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
        return ds_fail("cannot use standard output for data: %s", strerror(errno));
    return DS_OK;
}

static int write_stdout(const void *data, long size) {
    fflush(stdout); /* text printed before stays before */
    if (write_all(g_data_fd >= 0 ? g_data_fd : STDOUT_FILENO, data, size))
        return ds_fail("writing to standard output failed: %s", strerror(errno));
    return DS_OK;
}

/* PATH.tmp.PID written whole, synced and renamed over path; the temporary file never stays */
static int write_replace(const char *shown, const output_target *t, const void *data, long size) {
    char tmp[PATH_MAX + 32];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", t->path, (long)getpid()) >= (int)sizeof tmp)
        return ds_fail("cannot write %s: the path is too long", shown);
    remove_stale_temporaries(t->path);
    unlink(tmp); /* ours by name: an earlier process with this PID died holding it */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0666);
    if (fd < 0) return ds_fail("cannot write %s: %s", shown, strerror(errno));
    const char *step = NULL;
    if (t->exists && fchmod(fd, t->mode)) step = "keeping the permissions of";
    else if (write_all(fd, data, size)) step = "writing";
    else if (fsync(fd)) step = "syncing";
    int saved = errno;
    if (close(fd) && !step) step = "closing", saved = errno;
    if (!step && rename(tmp, t->path)) step = "renaming", saved = errno;
    if (!step) return DS_OK;
    unlink(tmp);
    return ds_fail("writing %s failed (%s %s): %s", shown, step, tmp, strerror(saved));
}

int util_write_atomic(const char *path, const void *data, long size) {
    output_target t;
    if (resolve_output(path, &t)) return DS_ERR;
    if (t.how == TARGET_STDOUT) return write_stdout(data, size);
    if (t.how == TARGET_INTO) return write_into(t.path, data, size);
    /* a stop signal waits until the file is renamed or removed: never a temporary file left */
    sigset_t stops, old;
    sigemptyset(&stops);
    sigaddset(&stops, SIGINT), sigaddset(&stops, SIGTERM), sigaddset(&stops, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stops, &old);
    int rc = write_replace(path, &t, data, size);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* ---- stop signals ---- */

static volatile sig_atomic_t g_stop_signal;

/* the first signal asks to stop; a second one, while saving, ends the process at once */
static void on_stop_signal(int sig) {
    if (g_stop_signal) {
        signal(sig, SIG_DFL);
        raise(sig);
    }
    g_stop_signal = sig;
}

void util_catch_stop_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

int util_stop_signal(void) { return g_stop_signal; }

void util_reraise_stop_signal(void) {
    int sig = g_stop_signal;
    if (!sig) return;
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    signal(sig, SIG_DFL);
    pthread_sigmask(SIG_UNBLOCK, &one, NULL);
    raise(sig);
}

double util_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
