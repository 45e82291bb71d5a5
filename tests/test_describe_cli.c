/* test_describe_cli.c — models describe themselves, end to end: `diffuscope info` prints the
 * schedule, the prediction target and the class names of a version-2 file and says when a
 * version-1 file holds the default; both trainers (`diffuscope train` and the page's MLP
 * trainer, src/mlp_train.c) record the schedule they trained with in the weights they write,
 * and `diffuscope sample` uses the file's schedule (and refuses a --schedule that contradicts it).
 * Not here: the format's own checks (test_weights.c). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "test_files.h"
#include "cli.h"
#include "error.h"
#include "mlp_train.h"
#include "model.h"

static char dir[256];

/* `diffuscope info FILE` with stdout in a file; returns what it printed (malloc'd). */
static char *info(const char *file) {
    char out[300];
    snprintf(out, sizeof out, "%s/info.txt", dir);
    fflush(stdout);
    int saved = dup(1);
    CHECK(freopen(out, "w", stdout) != NULL, "redirect stdout");
    char *argv[] = {"info", (char *)file, NULL};
    int rc = cmd_info(2, argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    CHECK(rc == 0, "info %s: exit %d", file, rc);
    size_t n;
    char *text = (char *)read_file(out, &n);
    return text ? text : calloc(1, 1);
}

static void test_info(void) {
    char *t = info(golden_path("unet_tiny_v2.dsw"));
    CHECK(strstr(t, "\nschedule: cosine, T = 500\n") && strstr(t, "\nprediction: eps\n"), "v2 schedule and prediction:\n%s", t);
    CHECK(strstr(t, "\nclass names (10): 0 \"T-shirt/top\", 1 \"Trouser\",") && strstr(t, ", 9 \"Ankle boot\"\n") &&
              strstr(t, "5 \"Sandale \xc3\xa0 l\xe2\x80\x99\xc3\xa9t\xc3\xa9\""),
          "v2 class names:\n%s", t);
    free(t);
    t = info(golden_path("unet_tiny.dsw"));
    CHECK(strstr(t, "\nschedule: linear, T = 1000 (format 1: the default)\n") &&
              strstr(t, "\nprediction: eps (format 1: the default)\n") && strstr(t, "\nclass names: none\n"),
          "v1 file: the default, and says so:\n%s", t);
    free(t);
}

static ds_model *load(const char *path, uint32_t *version) {
    size_t n;
    uint8_t *b = read_file(path, &n);
    ds_model *m = b ? ds_model_from_bytes(b, n) : NULL;
    *version = b && n > 8 ? b[4] : 0;
    free(b);
    CHECK(m != NULL, "%s loads: %s", path, ds_last_error());
    return m;
}

/* `diffuscope train --schedule cosine --T 50` writes a version-2 file that says so; the
 * default schedule writes version 1 (which means linear, T = 1000). */
static void test_train_records(void) {
    const char *schedules[2][2] = {{"cosine", "50"}, {"linear", "1000"}};
    for (int k = 0; k < 2; k++) {
        char out[300], ckpt[300];
        snprintf(out, sizeof out, "%s/m%d.dsw", dir, k), snprintf(ckpt, sizeof ckpt, "%s/m%d.ckpt", dir, k);
        char *argv[] = {"train", "--model", "mlp", "--points", "moons", "--points-n", "200", "--hidden", "8", "--layers",
                        "1", "--batch", "16", "--shard", "8", "--steps", "2", "--dtype", "f32", "--schedule",
                        (char *)schedules[k][0], "--T", (char *)schedules[k][1], "--out", out, "--checkpoint", ckpt,
                        "--log-every", "1000", NULL};
        CHECK(cmd_train(29, argv) == 0, "train --schedule %s --T %s", schedules[k][0], schedules[k][1]);
        uint32_t version;
        ds_model *m = load(out, &version);
        if (!m) continue;
        CHECK(ds_model_schedule_kind(m) == (k ? DS_SCHEDULE_LINEAR : DS_SCHEDULE_COSINE) &&
                  ds_model_schedule_T(m) == atoi(schedules[k][1]) && version == (k ? 1u : 2u),
              "train recorded %s T = %d in format %u; asked for %s T = %s", ds_schedule_kind_name(ds_model_schedule_kind(m)),
              ds_model_schedule_T(m), version, schedules[k][0], schedules[k][1]);
        ds_model_free(m);
    }
}

/* The page's MLP trainer records its schedule too. */
static void test_mlp_trainer_records(void) {
    float points[64];
    for (int i = 0; i < 64; i++) points[i] = (float)((i * 37) % 17) / 8.0f - 1.0f;
    ds_mlp_train_config c;
    ds_mlp_train_config_default(&c);
    c.model.hidden = 8;
    c.batch = 8;
    c.schedule = DS_SCHEDULE_COSINE;
    c.T = 200;
    ds_mlp_trainer tr;
    CHECK(ds_mlp_trainer_init(&tr, &c, points, 32) == DS_OK, "trainer init: %s", ds_last_error());
    CHECK(ds_mlp_trainer_run(&tr, 2, NULL) == DS_OK, "trainer run: %s", ds_last_error());
    uint8_t *b;
    size_t n;
    CHECK(ds_mlp_trainer_save(&tr, 1, &b, &n) == DS_OK, "trainer save: %s", ds_last_error());
    ds_model *m = ds_model_from_bytes(b, n);
    CHECK(m && ds_model_schedule_kind(m) == DS_SCHEDULE_COSINE && ds_model_schedule_T(m) == 200,
          "the MLP trainer's file records cosine T = 200: %s", m ? "other fields" : ds_last_error());
    ds_model_free(m);
    free(b);
    ds_mlp_trainer_free(&tr);
}

/* sample over the version-2 tiny UNet (cosine, T = 500): the file's schedule, not the flag's
 * default; --schedule linear contradicts it (usage error, 2); --steps beyond T = 500 are refused. */
static void test_sample_uses_file_schedule(void) {
    char png[300];
    snprintf(png, sizeof png, "%s/s.png", dir);
    const char *w = golden_path("unet_tiny_v2.dsw");
    char *ok[] = {"sample", "--weights", (char *)w, "--n", "1", "--steps", "3", "--png", png, "--quiet", NULL};
    CHECK(cmd_sample(10, ok) == 0, "sample with the file's schedule: %s", ds_last_error());
    char *contra[] = {"sample", "--weights", (char *)w, "--n", "1", "--steps", "3", "--schedule", "linear", "--png", png, NULL};
    CHECK(cmd_sample(11, contra) == 2, "--schedule linear on a cosine file is a usage error");
    char *beyond[] = {"sample", "--weights", (char *)w, "--n", "1", "--steps", "600", "--png", png, "--quiet", NULL};
    CHECK(cmd_sample(10, beyond) != 0, "600 steps on a T = 500 file are refused");

    /* chunks on threads: 1 and 3 threads write the same bytes (each image has its own stream) */
    char npy[2][300];
    uint8_t *b[2] = {NULL, NULL};
    size_t n[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        snprintf(npy[k], sizeof npy[k], "%s/t%d.npy", dir, k);
        char *argv[] = {"sample", "--weights", (char *)w, "--n", "7", "--batch", "2", "--steps", "4", "--guidance", "2",
                        "--threads", k ? "3" : "1", "--npy", npy[k], "--quiet", NULL};
        CHECK(cmd_sample(16, argv) == 0, "sample --threads %s: %s", k ? "3" : "1", ds_last_error());
        b[k] = read_file(npy[k], &n[k]);
    }
    CHECK(b[0] && b[1] && n[0] == n[1] && n[0] > 128 && !memcmp(b[0], b[1], n[0]), "--threads 1 and 3: the same images");
    free(b[0]), free(b[1]);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/ds_test_describe_%ld", (long)getpid());
    char cmd[512];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    CHECK(system(cmd) == 0, "mkdir");
    test_info();
    test_train_records();
    test_mlp_trainer_records();
    test_sample_uses_file_schedule();
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "cleanup");
    return check_summary("test_describe_cli");
}
