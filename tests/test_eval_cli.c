/* test_eval_cli.c — `diffuscope eval` end to end on tiny synthetic data: a tiny UNet trained for
 * two steps, a classifier cache written and then reused, the JSON printed; and the failures
 * (missing or non-UNet weights, too few real images for the floor, bad flags). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "cli.h"

static char dir[256];

static void put_be32(unsigned char *p, unsigned v) {
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16), p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

/* n images, 3 of each class at least when n >= 30; prefix "train" or "t10k" */
static void write_set(const char *prefix, int n) {
    long isz = 16 + (long)n * 784, lsz = 8 + n;
    unsigned char *img = calloc((size_t)isz, 1), *lab = calloc((size_t)lsz, 1);
    put_be32(img, 0x803), put_be32(img + 4, n), put_be32(img + 8, 28), put_be32(img + 12, 28);
    put_be32(lab, 0x801), put_be32(lab + 4, n);
    for (int i = 0; i < n; i++) {
        lab[8 + i] = (unsigned char)(i % 10);
        for (int y = 3; y < 6 + 2 * (i % 10); y++)
            for (int x = 5 + (i % 3); x < 23; x++) img[16 + (long)i * 784 + y * 28 + x] = (unsigned char)(100 + 9 * i);
    }
    char path[512];
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte.gz", dir, prefix);
    gzFile f = gzopen(path, "wb");
    gzwrite(f, img, (unsigned)isz);
    gzclose(f);
    snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte.gz", dir, prefix);
    f = gzopen(path, "wb");
    gzwrite(f, lab, (unsigned)lsz);
    gzclose(f);
    free(img);
    free(lab);
}

static int run(const char *line) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s", line);
    char *argv[64];
    int argc = 0;
    for (char *tok = strtok(cmd, " "); tok && argc < 63; tok = strtok(NULL, " ")) argv[argc++] = tok;
    argv[argc] = NULL;
    if (!strcmp(argv[0], "train")) return cmd_train(argc, argv);
    return cmd_eval(argc, argv);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/ds_test_eval_%ld", (long)getpid());
    char cmd[2048], json[300];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    CHECK(system(cmd) == 0, "mkdir");
    write_set("train", 40);
    write_set("t10k", 20);

    snprintf(cmd, sizeof cmd,
             "train --model unet --data %s --out %s/u.dsw --checkpoint %s/u.ckpt --steps 2 --batch 4 --shard 2 --base 8 "
             "--mult 1,2 --groups 4 --temb 16 --warmup 1 --log-every 1000",
             dir, dir, dir);
    CHECK(run(cmd) == 0, "tiny UNet trained");

    /* stdout (the JSON) goes to a file while eval runs */
    snprintf(json, sizeof json, "%s/eval.json", dir);
    fflush(stdout);
    int saved = dup(1);
    CHECK(freopen(json, "w", stdout) != NULL, "redirect stdout");
    snprintf(cmd, sizeof cmd,
             "eval --weights %s/u.dsw --data %s --classifier %s/clf.bin --classifier-epochs 1 -n 3 --steps 2 --threads 2 "
             "--png %s/grid.png",
             dir, dir, dir, dir);
    int rc = run(cmd);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    CHECK(rc == 0, "eval runs (rc %d)", rc);
    FILE *f = fopen(json, "r");
    char text[4096] = {0};
    if (f) {
        size_t got = fread(text, 1, sizeof text - 1, f);
        text[got] = 0;
        fclose(f);
    }
    CHECK(strstr(text, "\"accuracy\":") && strstr(text, "\"fd\":") && strstr(text, "\"fd_floor_real_vs_real\":") &&
              strstr(text, "\"samples_per_class\": 3"),
          "JSON has accuracy, fd, floor: %.300s", text);
    char clf[300];
    snprintf(clf, sizeof clf, "%s/clf.bin", dir);
    struct stat st;
    CHECK(stat(clf, &st) == 0 && st.st_size > 1000, "classifier cache written");
    char grid[300];
    snprintf(grid, sizeof grid, "%s/grid.png", dir);
    CHECK(stat(grid, &st) == 0 && st.st_size > 100, "sample grid written");

    /* failures */
    snprintf(cmd, sizeof cmd, "eval --weights %s/none.dsw --data %s --classifier %s", dir, dir, clf);
    CHECK(run(cmd) == 1, "missing weights: exit 1");
    snprintf(cmd, sizeof cmd, "eval --weights %s/u.ckpt --data %s --classifier %s", dir, dir, clf);
    CHECK(run(cmd) == 1, "a checkpoint is not weights: exit 1");
    snprintf(cmd, sizeof cmd, "eval --weights %s/u.dsw --data %s --classifier %s -n 5 --steps 2", dir, dir, clf);
    CHECK(run(cmd) == 1, "-n 5 with 4 real images per class: exit 1");
    CHECK(run("eval --steps 2") == 2, "no --weights: exit 2");
    snprintf(cmd, sizeof cmd, "eval --weights %s/u.dsw --guidance abc", dir);
    CHECK(run(cmd) == 2, "--guidance abc: exit 2");

    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "cleanup");
    return check_summary("test_eval_cli");
}
