/* util.c — checked whole-file reading, atomic writing and the clock (see util.h). */
#define _POSIX_C_SOURCE 200809L
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"

static const char *file_kind(mode_t mode) {
    if (S_ISDIR(mode)) return "a folder";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
    if (S_ISSOCK(mode)) return "a socket";
    return "not a regular file";
}

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

unsigned char *util_read_file(const char *path, long max_bytes, long *size) {
    /* O_NONBLOCK: opening a FIFO with no writer would wait forever; fstat then refuses it */
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    if (fd < 0) {
        ds_fail("cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    unsigned char *buf = NULL;
    if (fstat(fd, &st) != 0) {
        ds_fail("cannot read %s: %s", path, strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        ds_fail("cannot read %s: it is %s, not a regular file", path, file_kind(st.st_mode));
    } else if ((long long)st.st_size > (long long)max_bytes) {
        ds_fail("cannot read %s: it is %lld bytes, more than the %ld this reader accepts (wrong file?)", path,
                (long long)st.st_size, max_bytes);
    } else if (!(buf = malloc((size_t)st.st_size + 1))) {
        ds_fail("cannot read %s: out of memory for %lld bytes", path, (long long)st.st_size);
    } else {
        long n = (long)st.st_size, got = read_all(fd, buf, n);
        unsigned char extra;
        int ok = 0;
        if (got < 0) ds_fail("reading %s failed: %s", path, strerror(errno));
        else if (got != n || read_all(fd, &extra, 1) != 0) ds_fail("reading %s failed: it changed size while being read", path);
        else ok = 1;
        if (ok) {
            buf[n] = '\0';
            if (size) *size = n;
        } else {
            free(buf);
            buf = NULL;
        }
    }
    close(fd);
    return buf;
}

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

int util_write_atomic(const char *path, const void *data, long size) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return ds_fail("cannot write %s: the path is too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0) return ds_fail("cannot write %s: %s", path, strerror(errno));
    const char *step = NULL;
    if (write_all(fd, data, size)) step = "writing";
    else if (fsync(fd)) step = "syncing";
    int saved = errno;
    if (close(fd) && !step) step = "closing", saved = errno;
    if (!step && rename(tmp, path)) step = "renaming", saved = errno;
    if (!step) return DS_OK;
    unlink(tmp);
    return ds_fail("writing %s failed (%s %s): %s", path, step, tmp, strerror(saved));
}

double util_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
