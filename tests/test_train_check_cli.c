/* test_train_check_cli.c — `diffuscope train-check` writes what tools/bench_train.py needs to
 * recompute one training batch in PyTorch: the weights load, and the batch's recorded loss is
 * what the engine's own forward gives on the recorded x_t, t and class against the recorded ε.
 * A missing --out is a usage error. Not here: the PyTorch side (bench_train.py checks it). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "cli.h"
#include "error.h"
#include "model.h"
#include "test_files.h"

int main(void) {
    char dir[256], path[300];
    snprintf(dir, sizeof dir, "/tmp/ds_test_train_check_%ld", (long)getpid());
    snprintf(path, sizeof path, "mkdir -p %s", dir);
    CHECK(system(path) == 0, "mkdir");
    char *argv[] = {"train-check", "--out", dir, "--batch", "4", NULL};
    CHECK(cmd_train_check(5, argv) == 0, "train-check: %s", ds_last_error());
    char *bad[] = {"train-check", "--batch", "4", NULL};
    CHECK(cmd_train_check(3, bad) == 2, "train-check without --out is a usage error");

    size_t n = 0, nb = 0;
    snprintf(path, sizeof path, "%s/unet.dsw", dir);
    uint8_t *w = read_file(path, &n);
    ds_model *m = w ? ds_model_from_bytes(w, n) : NULL;
    CHECK(m != NULL, "unet.dsw loads: %s", ds_last_error());
    snprintf(path, sizeof path, "%s/batch.bin", dir);
    uint8_t *b = read_file(path, &nb);
    uint32_t head[5] = {0};
    if (b && nb >= 36) memcpy(head, b, sizeof head);
    const long B = head[2], D = (long)head[3] * head[4] * head[4]; /* C S S */
    CHECK(b && !memcmp(b, "DSTB", 4) && head[1] == 1 && B == 4 && D == 784 && nb == (size_t)(36 + 4 * (2 * B * D + 2 * B)),
          "batch.bin: DSTB version 1, 4 images of 784, %zu bytes", nb);
    if (m && b && B == 4 && D == 784) {
        double figures[2];
        memcpy(figures, b + 20, sizeof figures);
        float *xt = malloc(4 * B * D), *eps = malloc(4 * B * D), *t = malloc(4 * B), *out = malloc(4 * B * D);
        int *cls = malloc(4 * B);
        memcpy(xt, b + 36, 4 * B * D);
        memcpy(eps, b + 36 + 4 * B * D, 4 * B * D);
        memcpy(t, b + 36 + 8 * B * D, 4 * B);
        memcpy(cls, b + 36 + 8 * B * D + 4 * B, 4 * B);
        CHECK(ds_model_forward(m, xt, t, cls, (int)B, out) == DS_OK, "forward: %s", ds_last_error());
        double loss = 0;
        for (long i = 0; i < B * D; i++) loss += ((double)out[i] - eps[i]) * ((double)out[i] - eps[i]);
        loss /= (double)(B * D);
        CHECK(fabs(loss - figures[0]) <= 1e-6 * figures[0], "recorded loss %.9f, recomputed %.9f", figures[0], loss);
        CHECK(figures[1] > 0 && isfinite(figures[1]), "gradient norm %g recorded", figures[1]);
        for (long i = 0; i < B; i++) CHECK(t[i] >= 1 && t[i] <= 1000 && cls[i] >= 0 && cls[i] <= 10, "item %ld: t %g class %d", i, t[i], cls[i]);
        free(xt), free(eps), free(t), free(out), free(cls);
    }
    ds_model_free(m);
    free(w), free(b);
    snprintf(path, sizeof path, "rm -rf %s", dir);
    CHECK(system(path) == 0, "cleanup");
    return check_summary("test_train_check_cli");
}
