/* test_io_cli.c — the tools' checked reader and atomic writer (tools/util.h): a FIFO and a
 * folder are refused at once (no hang, no read), a file over the caller's limit is refused
 * before it is read, a wrong kind of file by its first bytes (input_kinds.h), every message
 * names the file and the reason; the writer replaces a file whole, keeps its permission bits,
 * refuses a FIFO, a link or a protected input, and on failure leaves the old file and no
 * temporary file behind. The whole CLI on the same cases: tests/test_outputs_cli.c. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "error.h"
#include "input_kinds.h"
#include "util.h"

static char dir[256];

static int count_entries(const char *path) {
    DIR *d = opendir(path);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += e->d_name[0] != '.';
    if (d) closedir(d);
    return n;
}

int main(void) {
    snprintf(dir, sizeof dir, "%s/ds-io-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir)) return 1;
    char path[512], fifo[512], missing[512], sub[512];
    snprintf(path, sizeof path, "%s/a.bin", dir);
    snprintf(fifo, sizeof fifo, "%s/pipe", dir);
    snprintf(missing, sizeof missing, "%s/missing", dir);
    snprintf(sub, sizeof sub, "%s/sub", dir);

    /* write, read back (NUL after the data), replace */
    CHECK(util_write_atomic(path, "hello", 5) == DS_OK, "write: %s", ds_last_error());
    long size = -1;
    unsigned char *b = util_read_file(path, 100, &size);
    CHECK(b && size == 5 && !memcmp(b, "hello", 6), "read back 5 bytes + NUL");
    free(b);
    CHECK(util_write_atomic(path, "bye", 3) == DS_OK, "rewrite: %s", ds_last_error());
    b = util_read_file(path, 100, &size);
    CHECK(b && size == 3 && !strcmp((char *)b, "bye"), "the new content replaces the old whole");
    free(b);
    b = util_read_file(path, 3, &size);
    CHECK(b != NULL, "a file exactly at the limit is read");
    free(b);

    /* refusals name the file and the reason */
    CHECK(!util_read_file(path, 2, NULL) && strstr(ds_last_error(), path) && strstr(ds_last_error(), "3 bytes") &&
              strstr(ds_last_error(), "more than the 2"),
          "over the limit: %s", ds_last_error());
    CHECK(!util_read_file(missing, 100, NULL) && strstr(ds_last_error(), "cannot open") && strstr(ds_last_error(), missing) &&
              strstr(ds_last_error(), "No such file"),
          "missing: %s", ds_last_error());
    CHECK(mkfifo(fifo, 0600) == 0, "mkfifo");
    CHECK(!util_read_file(fifo, 100, NULL) && strstr(ds_last_error(), fifo) && strstr(ds_last_error(), "FIFO"),
          "a FIFO with no writer is refused at once: %s", ds_last_error());
    CHECK(!util_read_file(dir, 100, NULL) && strstr(ds_last_error(), "folder"), "a folder: %s", ds_last_error());

    /* a failed write: renaming over a folder; the old folder stays, no temporary file is left */
    CHECK(mkdir(sub, 0700) == 0, "mkdir");
    int before = count_entries(dir);
    CHECK(util_write_atomic(sub, "x", 1) == DS_ERR && strstr(ds_last_error(), "is a folder") && strstr(ds_last_error(), sub),
          "writing over a folder is refused: %s", ds_last_error());
    CHECK(count_entries(dir) == before, "no temporary file left (%d entries, %d before)", count_entries(dir), before);
    CHECK(util_write_atomic("/nonexistent-dir/x", "x", 1) == DS_ERR &&
              strstr(ds_last_error(), "cannot write /nonexistent-dir/x"),
          "a folder that does not exist: %s", ds_last_error());

    /* the writer: a FIFO and a link are refused unless write-through; a protected input never */
    char link[512];
    snprintf(link, sizeof link, "%s/link", dir);
    CHECK(util_write_atomic(fifo, "x", 1) == DS_ERR && strstr(ds_last_error(), "is a FIFO"), "FIFO output: %s", ds_last_error());
    CHECK(symlink("a.bin", link) == 0, "symlink");
    CHECK(util_write_atomic(link, "x", 1) == DS_ERR && strstr(ds_last_error(), "symbolic link (to a.bin)"), "link: %s", ds_last_error());
    util_set_write_through(1);
    CHECK(util_write_atomic(link, "linked", 6) == DS_OK, "through the link: %s", ds_last_error());
    util_set_write_through(0);
    struct stat st;
    b = util_read_file(path, 100, &size);
    CHECK(lstat(link, &st) == 0 && S_ISLNK(st.st_mode) && b && !strcmp((char *)b, "linked"), "the link stays, its target is replaced");
    free(b);
    chmod(path, 0640);
    CHECK(util_write_atomic(path, "mode", 4) == DS_OK && stat(path, &st) == 0 && (st.st_mode & 0777) == 0640,
          "a replaced file keeps its permission bits (got %o)", st.st_mode & 0777);
    CHECK(util_protect_input("--weights a.bin", path) == DS_OK && util_protected_as(link), "the link's target is protected");
    CHECK(util_write_atomic(path, "x", 1) == DS_ERR && strstr(ds_last_error(), "is the same file as --weights a.bin"),
          "a protected input: %s", ds_last_error());
    util_protect_clear();
    CHECK(util_same_file(path, link) && util_same_file(missing, missing) && !util_same_file(path, missing), "same file");

    /* first bytes: the kind's message, before the rest is read */
    CHECK(!util_read_kind(path, &INPUT_WEIGHTS, NULL) && strstr(ds_last_error(), path) && strstr(ds_last_error(), "bad magic"),
          "4 bytes as weights: %s", ds_last_error());
    CHECK(!util_read_kind(path, &INPUT_PNG, NULL) && strstr(ds_last_error(), "not a readable PNG"), "as a PNG: %s", ds_last_error());
    CHECK(util_write_atomic(path, "1 2\n\0x", 6) == DS_OK && !util_read_kind(path, &INPUT_POINTS, NULL) &&
              strstr(ds_last_error(), "byte 4 is 0"),
          "binary as points: %s", ds_last_error());
    CHECK(!util_read_kind(path, &INPUT_CHECKPOINT, NULL) && strstr(ds_last_error(), "too short for a checkpoint"),
          "as a checkpoint: %s", ds_last_error());
    unlink(link);

    double t0 = util_now_s(), t1 = util_now_s();
    CHECK(t0 > 0 && t1 >= t0, "the clock is monotonic");

    unlink(path), unlink(fifo), rmdir(sub), rmdir(dir);
    return check_summary("test_io_cli");
}
