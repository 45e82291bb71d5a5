/* test_outputs_cli.c — the built `diffuscope` run as a user would run it, on the cases a table of
 * argv cannot express: outputs that are devices, FIFOs, symbolic links, read-only files or an
 * input of the same command; Ctrl-C during training; a full standard output; temporary files
 * left by a killed writer; huge and non-regular inputs under a memory limit; and the flag
 * errors of issue 19. Each case is a `run-` row of docs/errors.md, and the test checks the table
 * quotes these messages word for word (as tests/wasm/errors.test.mjs does for `cli-` rows).
 * It never writes /dev/null: a device of its own (mknod, as root) or a FIFO in a temporary
 * folder takes the writes, and /dev/null is only used once the own device proved refused. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "checkpoint.h"
#include "test_files.h"

static char dir[256], cli[1024], sample_bin[1024], unet[1024], stdout_txt[512], stderr_txt[512];

/* ---- running the CLI ---- */

typedef struct {
    const char *out;  /* stdout to this file (NULL: dir/stdout.txt) */
    long mem_bytes;   /* RLIMIT_AS, 0: none */
    int as_nobody;    /* run as uid/gid 65534 when root */
} run_opts;

typedef struct {
    int code;      /* exit status, or -1 when killed by a signal */
    int signal;    /* the signal that ended it, 0 if none */
    char err[16384];
} run_result;

/* dir/name in one of 32 buffers (a case names fewer files than that) */
static char *in_dir(const char *name) {
    static char bufs[32][512];
    static int next;
    char *b = bufs[next++ % 32];
    snprintf(b, 512, "%s/%s", dir, name);
    return b;
}

static void slurp_text(const char *path, char *out, size_t cap) {
    size_t n = 0;
    uint8_t *b = read_file(path, &n);
    snprintf(out, cap, "%s", b ? (char *)b : "");
    free(b);
}

static pid_t spawn(const run_opts *o, char *const argv[]) {
    pid_t pid = fork();
    if (pid != 0) return pid;
    int out = open(o->out ? o->out : stdout_txt, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(stderr_txt, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0 || err < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) _exit(127);
    if (o->mem_bytes) {
        struct rlimit rl = {(rlim_t)o->mem_bytes, (rlim_t)o->mem_bytes};
        setrlimit(RLIMIT_AS, &rl);
    }
    if (o->as_nobody && geteuid() == 0 && (setgid(65534) || setuid(65534))) _exit(127);
    if (chdir(dir) != 0) _exit(127); /* whatever a broken build writes by a relative name lands here */
    execv(cli, argv);
    _exit(127);
}

/* waits up to 60 s (then kills it: a hang fails the case, it does not hang the test) */
static void finish(pid_t pid, run_result *r) {
    int status = 0;
    for (int i = 0; i < 6000 && waitpid(pid, &status, WNOHANG) == 0; i++) {
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
        if (i == 5999) kill(pid, SIGKILL), waitpid(pid, &status, 0);
    }
    r->code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    slurp_text(stderr_txt, r->err, sizeof r->err);
}

/* runs diffuscope with the arguments up to NULL */
static void run(run_result *r, const run_opts *o, ...) {
    char *argv[64] = {cli};
    int n = 1;
    va_list ap;
    va_start(ap, o);
    for (char *a; n < 63 && (a = va_arg(ap, char *));) argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    static const run_opts plain = {0};
    finish(spawn(o ? o : &plain, argv), r);
}

#define SAMPLE_TO(png, ...) "sample", "--analytic", sample_bin, "--n", "1", "--steps", "2", "--quiet", "--png", png, ##__VA_ARGS__

/* ---- the rows: id, exit status, fragment of stderr (quoted by docs/errors.md) ---- */

typedef struct {
    const char *id;
    int status;
    const char *fragment;
} row;

static const row ROWS[] = {
    {"run-output-device", 1, "is a character device: refusing to replace it with a regular file (add --write-through to write into it)"},
    {"run-output-fifo", 1, "is a FIFO: refusing to replace it with a regular file (add --write-through to write into it)"},
    {"run-output-symlink", 1, "is a symbolic link (to target.png): refusing to replace the link (give the target's own name, or add --write-through to write through it)"},
    {"run-output-read-only", 1, "is read-only: refusing to replace it (make it writable, or remove it first)"},
    {"run-output-is-weights", 1, "is the same file as --weights"},
    {"run-output-is-points", 1, "is the same file as --points"},
    {"run-out-is-checkpoint", 1, "are the same file: give each output its own name"},
    {"run-checkpoint-stdout", 2, "--checkpoint cannot be - (standard output): this output must be a file (it is read back, or written more than once)"},
    {"run-stdout-full", 1, "writing to standard output failed: No space left on device"},
    {"run-sigint-train", 0, "train: stopped at step"},
    {"run-input-fifo-data", 1, "it is a FIFO, not a regular file"},
    {"run-input-huge", 1, "bad magic: a Diffuscope weights file (.dsw) starts with \"DSCW\""},
    {"run-input-padded", 1, "unexpected bytes after the end of the file (the header says 3524 bytes)"},
    {"run-input-binary-points", 1, "not a text point file (byte 5 is 0: binary data)"},
    {"run-eta-ddpm", 2, "--eta is for --sampler ddim only (ddpm always adds the posterior's own noise): drop --eta, or use --sampler ddim"},
    {"run-eta-dpmpp2m", 2, "--eta is for --sampler ddim only (dpmpp2m adds no noise): drop --eta, or use --sampler ddim"},
    {"run-classes-and-class", 2, "sample: --class and --classes all contradict each other: give one"},
    {"run-clip-huge", 2, "--clip must be between 0 and 1e+06, got 1e300"},
    {"run-analytic-var-huge", 2, "--analytic-var must be between 0 and 100, got 1e300"},
    {"run-analytic-var-weights", 2, "sample: --analytic-var is for --analytic (a weights file has no variance)"},
    {"run-weight-decay-huge", 2, "--weight-decay must be between 0 and 10, got 1e300"},
    {"run-seed-huge", 2, "--seed: seed must be a whole number between 0 and 2^53 (got 1e+300)"},
    {"run-mu-huge", 2, "--mu must be between -100 and 100, got 1e300"},
};
enum { N_ROWS = sizeof ROWS / sizeof ROWS[0] };

static const row *find_row(const char *id) {
    for (int i = 0; i < N_ROWS; i++)
        if (!strcmp(ROWS[i].id, id)) return &ROWS[i];
    fprintf(stderr, "no row %s\n", id);
    abort();
}

/* the run ended as the row says: its exit status and its message */
static void expect(const char *id, const run_result *r) {
    const row *w = find_row(id);
    CHECK(r->code == w->status && r->signal == 0 && strstr(r->err, w->fragment), "%s: exit %d (signal %d), want %d with \"%s\"; stderr:\n%s",
          id, r->code, r->signal, w->status, w->fragment, r->err);
}

static int is_kind(const char *path, mode_t kind) {
    struct stat st;
    return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == kind;
}

static int same_bytes(const char *a, const char *b) {
    size_t na = 0, nb = 0;
    uint8_t *x = read_file(a, &na), *y = read_file(b, &nb);
    int same = x && y && na == nb && !memcmp(x, y, na);
    free(x), free(y);
    return same;
}

static void copy_file(const char *from, const char *to) {
    size_t n = 0;
    uint8_t *b = read_file(from, &n);
    FILE *f = fopen(to, "wb");
    if (f && b) fwrite(b, 1, n, f);
    if (f) fclose(f);
    free(b);
}

/* ---- outputs ---- */

/* a character device of our own (as root: mknod 1,3, the kernel's null device) and a FIFO are
 * refused and stay what they are; with --write-through the bytes go into them */
static void outputs_special(void) {
    run_result r;
    const char *dev = in_dir("null-device"), *fifo = in_dir("fifo.png");
    int have_dev = mknod(dev, S_IFCHR | 0666, makedev(1, 3)) == 0;
    if (have_dev) {
        run(&r, NULL, SAMPLE_TO(dev), NULL);
        expect("run-output-device", &r);
        CHECK(is_kind(dev, S_IFCHR), "the device is still a character device");
        run(&r, NULL, SAMPLE_TO(dev, "--write-through"), NULL);
        CHECK(r.code == 0 && is_kind(dev, S_IFCHR), "--write-through writes into the device (exit %d): %s", r.code, r.err);
        /* only once our own device proved refused: /dev/null, whose type is all we look at */
        if (is_kind("/dev/null", S_IFCHR) && !check_failed) {
            run(&r, NULL, SAMPLE_TO("/dev/null"), NULL);
            expect("run-output-device", &r);
            CHECK(is_kind("/dev/null", S_IFCHR), "/dev/null is still a character device");
        }
        unlink(dev);
    } else {
        printf("test_outputs_cli: not root, no own device: the FIFO case stands for it\n");
    }
    CHECK(mkfifo(fifo, 0600) == 0, "mkfifo");
    run(&r, NULL, SAMPLE_TO(fifo), NULL);
    expect("run-output-fifo", &r);
    CHECK(is_kind(fifo, S_IFIFO), "the FIFO is still a FIFO");
    unlink(fifo);
}

/* a symbolic link is refused (link and target untouched); --write-through replaces the target */
static void outputs_symlink(void) {
    run_result r;
    const char *target = in_dir("target.png"), *link = in_dir("link.png");
    FILE *f = fopen(target, "w");
    if (f) fputs("old", f), fclose(f);
    CHECK(symlink("target.png", link) == 0, "symlink");
    run(&r, NULL, SAMPLE_TO(link), NULL);
    expect("run-output-symlink", &r);
    size_t n = 0;
    uint8_t *b = read_file(target, &n);
    CHECK(is_kind(link, S_IFLNK) && b && n == 3, "the link and its target are untouched");
    free(b);
    run(&r, NULL, SAMPLE_TO(link, "--write-through"), NULL);
    b = read_file(target, &n);
    CHECK(r.code == 0 && is_kind(link, S_IFLNK) && b && n > 8 && !memcmp(b, "\x89PNG", 4),
          "--write-through: the link stays, its target holds the PNG (exit %d): %s", r.code, r.err);
    free(b);
    unlink(link), unlink(target);
}

/* a read-only file in a writable folder is not replaced (as its owner, not root: root may write it) */
static void outputs_read_only(void) {
    run_result r;
    const char *ro = in_dir("read-only.png");
    FILE *f = fopen(ro, "w");
    if (f) fputs("keep", f), fclose(f);
    chmod(ro, 0444);
    chmod(dir, 0777);
    if (geteuid() == 0 && chown(ro, 65534, 65534) != 0) printf("test_outputs_cli: chown failed\n");
    const run_opts nobody = {.as_nobody = 1};
    run(&r, &nobody, SAMPLE_TO(ro), NULL);
    expect("run-output-read-only", &r);
    size_t n = 0;
    uint8_t *b = read_file(ro, &n);
    CHECK(b && n == 4 && !memcmp(b, "keep", 4), "the read-only file is untouched");
    free(b);
    chmod(dir, 0700);
    unlink(ro);
}

/* an output that is one of the command's inputs, or two outputs that are one file */
static void outputs_inputs(void) {
    run_result r;
    const char *w = in_dir("w.dsw"), *keep = in_dir("w-copy.dsw"), *x = in_dir("X"), *pts = in_dir("pts.txt");
    copy_file(unet, w);
    copy_file(unet, keep);
    run(&r, NULL, "sample", "--weights", w, "--n", "1", "--steps", "2", "--quiet", "--png", w, NULL);
    expect("run-output-is-weights", &r);
    CHECK(same_bytes(w, keep), "the weights file is byte-identical after --png onto it");
    run(&r, NULL, "train", "--model", "mlp", "--points", "moons", "--steps", "2", "--out", x, "--checkpoint", x, NULL);
    expect("run-out-is-checkpoint", &r);
    CHECK(access(x, F_OK) != 0, "nothing written to X");
    run(&r, NULL, "points", "shape", "--shape", "cow", "-n", "100", "-o", pts, NULL);
    copy_file(pts, keep);
    run(&r, NULL, "train", "--model", "mlp", "--points", pts, "--steps", "2", "--out", pts, "--checkpoint", in_dir("c.ckpt"), NULL);
    expect("run-output-is-points", &r);
    run(&r, NULL, "points", "train", "--points", pts, "--steps", "2", "-o", pts, NULL);
    expect("run-output-is-points", &r);
    CHECK(same_bytes(pts, keep), "the points file is unchanged");
    run(&r, NULL, "train", "--model", "mlp", "--points", "moons", "--steps", "2", "--out", in_dir("m.dsw"), "--checkpoint", "-", NULL);
    expect("run-checkpoint-stdout", &r);
    unlink(w), unlink(keep), unlink(pts);
}

/* "-" is standard output (the report moves to stderr); a full one is an error, exit 1 */
static void outputs_stdout(void) {
    run_result r;
    const char *png = in_dir("stdout.png");
    const run_opts to_png = {.out = png};
    run(&r, &to_png, SAMPLE_TO("-"), NULL);
    size_t n = 0;
    uint8_t *b = read_file(png, &n);
    CHECK(r.code == 0 && b && n > 8 && !memcmp(b, "\x89PNG", 4), "--png - writes the PNG alone to stdout (exit %d): %s", r.code, r.err);
    free(b);
    unlink(png);
    if (access("/dev/full", W_OK) != 0) {
        printf("test_outputs_cli: no /dev/full here\n");
        return;
    }
    const run_opts full = {.out = "/dev/full"};
    run(&r, &full, "schedule", "--steps", "10", NULL);
    expect("run-stdout-full", &r);
    run(&r, &full, SAMPLE_TO("-"), NULL);
    CHECK(r.code == 1 && strstr(r.err, "writing to standard output failed"), "--png - > /dev/full: exit %d: %s", r.code, r.err);
}

/* PATH.tmp.N of a process N that is gone is removed by the next write of PATH; a live one stays */
static void outputs_stale_temporaries(void) {
    run_result r;
    pid_t gone = fork();
    if (gone == 0) _exit(0);
    waitpid(gone, NULL, 0);
    char stale[600], live[600];
    const char *png = in_dir("grid.png");
    snprintf(stale, sizeof stale, "%s.tmp.%ld", png, (long)gone);
    snprintf(live, sizeof live, "%s.tmp.%ld", png, (long)getpid());
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(i ? live : stale, "w");
        if (f) fputs("half", f), fclose(f);
    }
    run(&r, NULL, SAMPLE_TO(png), NULL);
    CHECK(r.code == 0 && access(stale, F_OK) != 0, "the stale %s is removed (exit %d): %s", stale, r.code, r.err);
    CHECK(access(live, F_OK) == 0, "a temporary file of a running process stays");
    unlink(live), unlink(png);
}

/* ---- Ctrl-C ---- */

/* SIGINT (then SIGTERM) while training: the run saves, ends by the signal (the shell's 130 / 143)
 * and leaves a valid checkpoint that resumes */
static void train_stopped(int sig) {
    const char *ckpt = in_dir("stop.ckpt"), *out = in_dir("stop.dsw");
    char *argv[] = {cli, "train", "--model", "mlp", "--points", "moons", "--points-n", "256", "--hidden", "16", "--layers", "1",
                    "--steps", "100000000", "--threads", "1", "--out", (char *)out, "--checkpoint", (char *)ckpt, NULL};
    static const run_opts plain = {0};
    pid_t pid = spawn(&plain, argv);
    char err[16384] = "";
    for (int i = 0; i < 3000 && !strstr(err, "until step"); i++) { /* up to 30 s for the set-up */
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
        slurp_text(stderr_txt, err, sizeof err);
    }
    struct timespec settle = {0, 200000000};
    nanosleep(&settle, NULL);
    kill(pid, sig);
    run_result r;
    finish(pid, &r);
    const row *w = find_row("run-sigint-train");
    CHECK(r.signal == sig && strstr(r.err, w->fragment), "%s: ends by signal %d (got exit %d, signal %d): %s", w->id, sig,
          r.code, r.signal, r.err);
    size_t n = 0;
    uint8_t *b = read_file(ckpt, &n);
    ds_checkpoint ck;
    CHECK(b && ds_checkpoint_parse(b, (long)n, &ck) == 0 && ck.step > 0, "a valid checkpoint after signal %d", sig);
    free(b);
    run(&r, NULL, "train", "--resume", "--points", "moons", "--points-n", "256", "--steps", "1", "--threads", "1", "--out", out,
        "--checkpoint", ckpt, NULL);
    CHECK(r.code == 0 && strstr(r.err, "resumed"), "the checkpoint resumes (exit %d): %s", r.code, r.err);
    unlink(ckpt), unlink(out);
}

/* ---- inputs ---- */

/* a sparse file of size bytes starting with head (n bytes) */
static void sparse_file(const char *path, const void *head, size_t n, off_t size) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return;
    if (n && write(fd, head, n) != (ssize_t)n) printf("test_outputs_cli: short write\n");
    if (ftruncate(fd, size)) printf("test_outputs_cli: ftruncate failed\n");
    close(fd);
}

/* 900 MB of zeros as weights, under a 300 MB memory limit: every command refuses it by its
 * magic, with one message, without taking memory for it; a real header with 500 MB appended is
 * refused by its declared size; a FIFO in the data folder is refused, not waited on */
static void inputs_first_bytes(void) {
    run_result r;
    const char *huge = in_dir("huge.dsw"), *padded = in_dir("padded.dsw"), *data = in_dir("data");
    sparse_file(huge, NULL, 0, 900L << 20);
#if defined(__SANITIZE_ADDRESS__)
    const run_opts tight = {0}; /* AddressSanitizer's shadow memory needs more address space than any limit */
#else
    const run_opts tight = {.mem_bytes = 300L << 20};
#endif
    const char *msg = find_row("run-input-huge")->fragment;
    run(&r, &tight, "info", huge, NULL);
    expect("run-input-huge", &r);
    run(&r, &tight, "sample", "--weights", huge, "--threads", "1", "--png", in_dir("x.png"), NULL);
    expect("run-input-huge", &r);
    run(&r, &tight, "points", "sample", "--weights", huge, "-o", in_dir("x.txt"), NULL);
    expect("run-input-huge", &r);
    run(&r, &tight, "bench", huge, NULL);
    expect("run-input-huge", &r);
    run(&r, &tight, "eval", "--weights", huge, "--classifier", in_dir("clf.bin"), NULL);
    CHECK(r.code == 1 && strstr(r.err, msg), "eval: the same message: %s", r.err);
    size_t n = 0;
    uint8_t *mlp = read_file(golden_path("mlp_tiny.dsw"), &n);
    sparse_file(padded, mlp, n, 500L << 20);
    run(&r, &tight, "info", padded, NULL);
    expect("run-input-padded", &r);
    run(&r, &tight, "train", "--model", "mlp", "--points", golden_path("mlp_tiny.dsw"), "--out", in_dir("o.dsw"), "--checkpoint",
        in_dir("o.ckpt"), NULL);
    expect("run-input-binary-points", &r);
    free(mlp);
    mkdir(data, 0700);
    char fifo[600];
    snprintf(fifo, sizeof fifo, "%s/t10k-images-idx3-ubyte.gz", data);
    CHECK(mkfifo(fifo, 0600) == 0, "mkfifo in the data folder");
    run(&r, NULL, "fashion-sample", "--data", data, "--out", in_dir("fs.bin"), NULL);
    expect("run-input-fifo-data", &r);
    unlink(fifo), rmdir(data), unlink(huge), unlink(padded);
}

/* ---- flags ---- */

static void flags(void) {
    run_result r;
    run(&r, NULL, SAMPLE_TO(in_dir("f.png"), "--sampler", "ddpm", "--eta", "0"), NULL);
    expect("run-eta-ddpm", &r);
    run(&r, NULL, SAMPLE_TO(in_dir("f.png"), "--sampler", "dpmpp2m", "--eta", "0.5"), NULL);
    expect("run-eta-dpmpp2m", &r);
    run(&r, NULL, "points", "sample", "--weights", golden_path("mlp_tiny.dsw"), "--eta", "0.5", "-o", in_dir("p.txt"), NULL);
    expect("run-eta-ddpm", &r);
    run(&r, NULL, "sample", "--analytic", sample_bin, "--n", "10", "--classes", "all", "--class", "3", "--png", in_dir("f.png"), NULL);
    expect("run-classes-and-class", &r);
    run(&r, NULL, SAMPLE_TO(in_dir("f.png"), "--clip", "1e300"), NULL);
    expect("run-clip-huge", &r);
    run(&r, NULL, SAMPLE_TO(in_dir("f.png"), "--analytic-var", "1e300"), NULL);
    expect("run-analytic-var-huge", &r);
    run(&r, NULL, "sample", "--weights", unet, "--analytic-var", "0.1", "--png", in_dir("f.png"), NULL);
    expect("run-analytic-var-weights", &r);
    run(&r, NULL, "train", "--model", "mlp", "--points", "moons", "--weight-decay", "1e300", "--out", in_dir("o.dsw"), "--checkpoint",
        in_dir("o.ckpt"), NULL);
    expect("run-weight-decay-huge", &r);
    run(&r, NULL, "points", "shape", "--shape", "cow", "--seed", "1e300", "-o", in_dir("p.txt"), NULL);
    expect("run-seed-huge", &r);
    run(&r, NULL, "vi", "--mu", "1e300", NULL);
    expect("run-mu-huge", &r);
    CHECK(access(in_dir("f.png"), F_OK) != 0 && access(in_dir("p.txt"), F_OK) != 0, "no output from a refused command");
}

/* ---- the table ---- */

/* docs/errors.md has a row for every case here, quoting its message, and no run- row untested */
static void doc_rows(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/docs/errors.md", getenv("DS_SOURCE_DIR") ? getenv("DS_SOURCE_DIR") : ".");
    size_t n = 0;
    char *doc = (char *)read_file(path, &n);
    CHECK(doc != NULL, "read %s", path);
    if (!doc) return;
    for (int i = 0; i < N_ROWS; i++) {
        char key[128];
        snprintf(key, sizeof key, "| `%s` |", ROWS[i].id);
        char *at = strstr(doc, key), *end = at ? strchr(at, '\n') : NULL;
        if (end) *end = '\0';
        CHECK(at && strstr(at, ROWS[i].fragment), "docs/errors.md row %s quotes \"%s\"", ROWS[i].id, ROWS[i].fragment);
        if (end) *end = '\n';
    }
    for (char *p = doc; (p = strstr(p, "| `run-"));) {
        p += 3;
        size_t len = strcspn(p, "`");
        int known = 0;
        for (int i = 0; i < N_ROWS; i++) known |= strlen(ROWS[i].id) == len && !strncmp(ROWS[i].id, p, len);
        CHECK(known, "docs/errors.md row %.*s has no test here", (int)len, p);
    }
    free(doc);
}

int main(void) {
    const char *bin = getenv("DS_BINARY_DIR"), *src = getenv("DS_SOURCE_DIR");
    snprintf(cli, sizeof cli, "%s/diffuscope", bin ? bin : "build");
    snprintf(sample_bin, sizeof sample_bin, "%s/web/data/fashion-sample.bin", src ? src : ".");
    snprintf(unet, sizeof unet, "%s", golden_path("unet_tiny.dsw"));
    snprintf(dir, sizeof dir, "%s/ds-outputs-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir) || access(cli, X_OK) != 0) {
        fprintf(stderr, "test_outputs_cli: no temporary folder or no %s\n", cli);
        return 1;
    }
    snprintf(stdout_txt, sizeof stdout_txt, "%s/stdout.txt", dir);
    snprintf(stderr_txt, sizeof stderr_txt, "%s/stderr.txt", dir);
    if (0) {
        fprintf(stderr, "test_outputs_cli: no temporary folder or no %s\n", cli);
        return 1;
    }
    outputs_special();
    outputs_symlink();
    outputs_read_only();
    outputs_inputs();
    outputs_stdout();
    outputs_stale_temporaries();
    train_stopped(SIGINT);
    train_stopped(SIGTERM);
    inputs_first_bytes();
    flags();
    doc_rows();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("test_outputs_cli: could not remove %s\n", dir);
    return check_summary("test_outputs_cli");
}
