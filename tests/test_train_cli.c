/* test_train_cli.c — `diffuscope train` end to end on tiny data: exact resume (6 steps ==
 * 3 steps + resume to 6, byte for byte: weights and checkpoint), independence from the thread
 * count, v-prediction and min-SNR weighting, the MLP on a point shape, and clear failures (corrupt checkpoint, missing data,
 * bad flags). Trains a few steps of a tiny UNet on 16 synthetic 28x28 images. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "checkpoint.h"
#include "cli.h"
#include "model.h"

static char dir[256];

static void put_be32(unsigned char *p, unsigned v) {
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16), p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

static void write_gz(const char *name, const unsigned char *data, long n) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    gzFile f = gzopen(path, "wb");
    gzwrite(f, data, (unsigned)n);
    gzclose(f);
}

static unsigned char *slurp(const char *name, long *n) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)*n);
    if (fread(b, 1, (size_t)*n, f) != (size_t)*n) *n = -1;
    fclose(f);
    return b;
}

static int same_file(const char *a, const char *b) {
    long na = 0, nb = 0;
    unsigned char *x = slurp(a, &na), *y = slurp(b, &nb);
    int same = x && y && na == nb && na > 0 && !memcmp(x, y, (size_t)na);
    free(x);
    free(y);
    return same;
}

/* the training state of two checkpoints is identical (the trainer's extra blob holds the wall
 * time, which differs) */
static int same_state(const char *a, const char *b) {
    long na = 0, nb = 0;
    unsigned char *x = slurp(a, &na), *y = slurp(b, &nb);
    ds_checkpoint ca, cb;
    int same = x && y && !ds_checkpoint_parse(x, na, &ca) && !ds_checkpoint_parse(y, nb, &cb) && ca.step == cb.step &&
               ca.n_params == cb.n_params && !memcmp(&ca.rng, &cb.rng, sizeof ca.rng) && ca.has_ema && cb.has_ema &&
               !memcmp(ca.params, cb.params, 4 * (size_t)ca.n_params) && !memcmp(ca.m, cb.m, 4 * (size_t)ca.n_params) &&
               !memcmp(ca.v, cb.v, 4 * (size_t)ca.n_params) && !memcmp(ca.ema, cb.ema, 4 * (size_t)ca.n_params);
    free(x);
    free(y);
    return same;
}

/* runs `diffuscope train` with the common tiny-UNet flags plus extra ones */
static int train(const char *out, const char *ckpt, int steps, int threads, const char *extra) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "train --model unet --data %s --out %s/%s --checkpoint %s/%s --steps %d --threads %d --batch 6 --shard 2 "
             "--base 8 --mult 1,2 --groups 4 --temb 16 --warmup 2 --lr 1e-3 --dtype f32 --seed 3 --log-every 1000 %s",
             dir, dir, out, dir, ckpt, steps, threads, extra ? extra : "");
    char *argv[64];
    int argc = 0;
    for (char *tok = strtok(cmd, " "); tok && argc < 63; tok = strtok(NULL, " ")) argv[argc++] = tok;
    argv[argc] = NULL;
    return cmd_train(argc, argv);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/ds_test_train_%ld", (long)getpid());
    char cmd[512];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    CHECK(system(cmd) == 0, "mkdir");

    /* 16 synthetic garments: a bright rectangle whose size depends on the class */
    {
        const int n = 16;
        long isz = 16 + (long)n * 784, lsz = 8 + n;
        unsigned char *img = calloc((size_t)isz, 1), *lab = calloc((size_t)lsz, 1);
        put_be32(img, 0x803), put_be32(img + 4, n), put_be32(img + 8, 28), put_be32(img + 12, 28);
        put_be32(lab, 0x801), put_be32(lab + 4, n);
        for (int i = 0; i < n; i++) {
            lab[8 + i] = (unsigned char)(i % 10);
            for (int y = 4; y < 8 + 2 * (i % 10); y++)
                for (int x = 6; x < 22; x++) img[16 + (long)i * 784 + y * 28 + x] = (unsigned char)(120 + 7 * i);
        }
        write_gz("train-images-idx3-ubyte.gz", img, isz);
        write_gz("train-labels-idx1-ubyte.gz", lab, lsz);
        free(img);
        free(lab);
    }

    CHECK(train("a.dsw", "a.ckpt", 6, 1, NULL) == 0, "6 steps straight");
    CHECK(train("b.dsw", "b.ckpt", 3, 1, NULL) == 0, "3 steps");
    CHECK(!same_file("a.dsw", "b.dsw"), "3 steps differ from 6 (the comparison can fail)");
    CHECK(train("b.dsw", "b.ckpt", 6, 2, "--resume") == 0, "resume to 6 steps on 2 threads");
    CHECK(same_file("a.dsw", "b.dsw"), "resumed weights are byte-identical to the uninterrupted run");
    CHECK(same_state("a.ckpt", "b.ckpt"), "resumed checkpoint state is byte-identical too (params, m, v, EMA, RNG, step)");
    CHECK(train("c.dsw", "c.ckpt", 6, 3, NULL) == 0, "6 steps on 3 threads");
    CHECK(same_file("a.dsw", "c.dsw"), "the thread count does not change the weights");

    /* a decay added on resume starts at the resumed step, and a second resume with the same
     * --decay-steps keeps that start (so two stretches equal one) */
    CHECK(train("d.dsw", "d.ckpt", 3, 1, NULL) == 0, "3 steps at constant lr");
    CHECK(train("d.dsw", "d.ckpt", 6, 1, "--resume --decay-steps 6 --min-lr-ratio 0.5") == 0, "resume adding a decay");
    CHECK(!same_file("a.dsw", "d.dsw"), "the added decay changes the weights");
    CHECK(train("e.dsw", "e.ckpt", 3, 1, NULL) == 0, "3 steps again");
    CHECK(train("e.dsw", "e.ckpt", 5, 1, "--resume --decay-steps 6 --min-lr-ratio 0.5") == 0, "decay, stopped at 5");
    CHECK(train("e.dsw", "e.ckpt", 6, 1, "--resume --decay-steps 6") == 0, "second resume, same decay");
    CHECK(same_file("d.dsw", "e.dsw"), "the second resume kept the decay's start and floor");
    CHECK(train("f.dsw", "e.ckpt", 8, 1, "--resume --decay-steps 4") == 2, "a decay ending before the checkpoint's step: exit 2");

    /* v-prediction with min-SNR weighting: a file that says v, different weights, and the same
     * exact resume (the target and gamma come back from the checkpoint) */
    CHECK(train("v.dsw", "v.ckpt", 6, 1, "--prediction v --min-snr 5") == 0, "6 steps of v, min-SNR 5");
    CHECK(!same_file("a.dsw", "v.dsw"), "v with min-SNR trains other weights than eps");
    CHECK(train("w.dsw", "w.ckpt", 3, 2, "--prediction v --min-snr 5") == 0, "3 steps of v");
    CHECK(train("w.dsw", "w.ckpt", 6, 1, "--resume") == 0, "resume v to 6");
    CHECK(same_file("v.dsw", "w.dsw") && same_state("v.ckpt", "w.ckpt"), "v + min-SNR resumes byte for byte");
    CHECK(train("s.dsw", "s.ckpt", 6, 1, "--min-snr 5") == 0 && !same_file("a.dsw", "s.dsw") && !same_file("v.dsw", "s.dsw"),
          "eps with min-SNR: weights of their own");
    {
        char path[512];
        snprintf(path, sizeof path, "%s/v.dsw", dir);
        long n = 0;
        uint8_t *b = slurp("v.dsw", &n);
        ds_model *m = b ? ds_model_from_bytes(b, (size_t)n) : NULL;
        CHECK(m && ds_model_prediction(m) == DS_PREDICT_V, "the v run's file says prediction v (%s)", path);
        ds_model_free(m);
        free(b);
    }
    CHECK(train("x.dsw", "x.ckpt", 2, 1, "--prediction x0") == 2, "--prediction x0: exit 2");
    CHECK(train("x.dsw", "x.ckpt", 2, 1, "--min-snr -1") == 2, "--min-snr -1: exit 2");

    /* a corrupt checkpoint is refused with exit 1 */
    {
        long n = 0;
        unsigned char *b = slurp("b.ckpt", &n);
        b[n / 2] ^= 0x40;
        char path[512];
        snprintf(path, sizeof path, "%s/bad.ckpt", dir);
        FILE *f = fopen(path, "wb");
        fwrite(b, 1, (size_t)n, f);
        fclose(f);
        free(b);
        CHECK(train("bad.dsw", "bad.ckpt", 8, 1, "--resume") == 1, "corrupt checkpoint: exit 1");
        CHECK(train("bad.dsw", "missing.ckpt", 8, 1, "--resume") == 1, "missing checkpoint: exit 1");
    }
    /* bad usage is exit 2; missing data exit 1 */
    {
        char *argv1[] = {"train", "--model", "unet", "--out", "x.dsw", "--checkpoint", "x.ckpt", "--lr", "abc", NULL};
        CHECK(cmd_train(9, argv1) == 2, "--lr abc: exit 2");
        char *argv2[] = {"train", "--model", "gan", "--out", "x.dsw", "--checkpoint", "x.ckpt", NULL};
        CHECK(cmd_train(7, argv2) == 2, "--model gan: exit 2");
        char *argv3[] = {"train", "--model", "unet", NULL};
        CHECK(cmd_train(3, argv3) == 2, "no --out: exit 2");
        char *argv4[] = {"train", "--model", "unet", "--data", "/nonexistent", "--out", "/tmp/x.dsw", "--checkpoint",
                         "/tmp/x.ckpt", NULL};
        CHECK(cmd_train(9, argv4) == 1, "missing data: exit 1");
        char *argv5[] = {"train", "--model", "mlp", "--out", "x.dsw", "--checkpoint", "x.ckpt", NULL};
        CHECK(cmd_train(7, argv5) == 2, "mlp without --points: exit 2");
        char *argv6[] = {"train", "--model", "unet", "--lr", "-1", "--out", "x.dsw", "--checkpoint", "x.ckpt", NULL};
        CHECK(cmd_train(9, argv6) == 2, "--lr -1: exit 2");
        char *argv7[] = {"train", "--model", "unet", "--ema", "1", "--out", "x.dsw", "--checkpoint", "x.ckpt", NULL};
        CHECK(cmd_train(9, argv7) == 2, "--ema 1: exit 2");
        char *argv8[] = {"train", "--model", "mlp", "--points", "moons", "--prediction", "v", "--out", "/tmp/x.dsw",
                         "--checkpoint", "/tmp/x.ckpt", NULL};
        CHECK(cmd_train(11, argv8) == 2, "--prediction for the mlp: exit 2");
    }
    /* the MLP on a shape: trains and resumes exactly too */
    {
        char o1[300], c1[300], o2[300], c2[300];
        snprintf(o1, sizeof o1, "%s/m1.dsw", dir), snprintf(c1, sizeof c1, "%s/m1.ckpt", dir);
        snprintf(o2, sizeof o2, "%s/m2.dsw", dir), snprintf(c2, sizeof c2, "%s/m2.ckpt", dir);
        char *a1[] = {"train", "--model", "mlp", "--points", "moons", "--points-n", "500", "--hidden", "16", "--layers",
                      "2", "--batch", "32", "--shard", "8", "--steps", "10", "--dtype", "f32", "--out", o1,
                      "--checkpoint", c1, "--log-every", "1000", NULL};
        CHECK(cmd_train(25, a1) == 0, "mlp 10 steps");
        char *a2[] = {"train", "--model", "mlp", "--points", "moons", "--points-n", "500", "--hidden", "16", "--layers",
                      "2", "--batch", "32", "--shard", "8", "--steps", "4", "--dtype", "f32", "--out", o2,
                      "--checkpoint", c2, "--log-every", "1000", NULL};
        CHECK(cmd_train(25, a2) == 0, "mlp 4 steps");
        char *a3[] = {"train", "--resume", "--points", "moons", "--points-n", "500", "--steps", "10", "--threads", "2",
                      "--dtype", "f32", "--out", o2, "--checkpoint", c2, "--log-every", "1000", NULL};
        CHECK(cmd_train(18, a3) == 0, "mlp resume");
        CHECK(same_file("m1.dsw", "m2.dsw"), "mlp resumed weights byte-identical");
    }

    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "cleanup");
    return check_summary("test_train_cli");
}
