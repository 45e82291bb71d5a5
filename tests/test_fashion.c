/* test_fashion.c — the Fashion-MNIST reader: the real test split (when the Debian package is
 * installed), and every kind of broken file giving an error that names the file. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "error.h"
#include "fashion.h"

static char dir[256];

static void write_gz(const char *name, const uint8_t *data, long n) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    gzFile f = gzopen(path, "wb");
    gzwrite(f, data, (unsigned)n);
    gzclose(f);
}

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* A valid pair of files with n items in dir (split "t10k"). */
static void write_valid(int n, uint32_t img_magic, int side, int label_max) {
    long isz = 16 + (long)n * 784, lsz = 8 + n;
    uint8_t *img = calloc((size_t)isz, 1), *lab = calloc((size_t)lsz, 1);
    put_be32(img, img_magic), put_be32(img + 4, (uint32_t)n), put_be32(img + 8, (uint32_t)side), put_be32(img + 12, 28);
    put_be32(lab, 0x801), put_be32(lab + 4, (uint32_t)n);
    for (int i = 0; i < n; i++) lab[8 + i] = (uint8_t)(i % (label_max + 1)), img[16 + (long)i * 784 + i] = 200;
    write_gz("t10k-images-idx3-ubyte.gz", img, isz);
    write_gz("t10k-labels-idx1-ubyte.gz", lab, lsz);
    free(img);
    free(lab);
}

int main(void) {
    fashion_set set;

    /* The real data, if installed: 10000 test images, 1000 per class, pixels spanning 0..255. */
    if (access(FASHION_DIR_DEFAULT "/t10k-images-idx3-ubyte.gz", R_OK) == 0) {
        CHECK(fashion_load(FASHION_DIR_DEFAULT, "test", &set) == 0, "load test split: %s", ds_last_error());
        CHECK(set.n == 10000, "10000 test images (got %d)", set.n);
        int count[10] = {0}, maxp = 0;
        for (int i = 0; i < set.n; i++) count[set.labels[i]]++;
        for (long i = 0; i < (long)set.n * 784; i++) maxp = set.pixels[i] > maxp ? set.pixels[i] : maxp;
        for (int c = 0; c < 10; c++) CHECK(count[c] == 1000, "class %d has %d test images", c, count[c]);
        CHECK(maxp == 255, "brightest pixel 255 (got %d)", maxp);
        float x[784];
        fashion_to_float(set.pixels, 1, x);
        CHECK(x[0] >= -1.f && x[0] <= 1.f, "pixels map into [-1, 1]");
        fashion_free(&set);
    } else {
        printf("test_fashion: dataset-fashion-mnist not installed; only the synthetic files are checked\n");
    }

    snprintf(dir, sizeof dir, "/tmp/ds_test_fashion_%ld", (long)getpid());
    char cmd[300];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    CHECK(system(cmd) == 0, "mkdir");

    /* missing files */
    CHECK(fashion_load(dir, "test", &set) == -1 && strstr(ds_last_error(), "t10k-images-idx3-ubyte.gz"),
          "missing file named: %s", ds_last_error());
    CHECK(fashion_load(dir, "validation", &set) == -1, "unknown split refused");

    write_valid(5, 0x803, 28, 9);
    CHECK(fashion_load(dir, "test", &set) == 0 && set.n == 5 && set.labels[3] == 3 && set.pixels[784 + 1] == 200,
          "synthetic valid files load: %s", ds_last_error());
    fashion_free(&set);

    write_valid(5, 0x802, 28, 9);
    CHECK(fashion_load(dir, "test", &set) == -1 && strstr(ds_last_error(), "magic"), "bad magic: %s", ds_last_error());
    write_valid(5, 0x803, 27, 9);
    CHECK(fashion_load(dir, "test", &set) == -1 && strstr(ds_last_error(), "28x28"), "bad dims: %s", ds_last_error());
    write_valid(12, 0x803, 28, 11);
    CHECK(fashion_load(dir, "test", &set) == -1 && strstr(ds_last_error(), "outside 0..9"), "bad label: %s",
          ds_last_error());

    /* an IDX body shorter than its header promises */
    {
        uint8_t img[16 + 784];
        memset(img, 0, sizeof img);
        put_be32(img, 0x803), put_be32(img + 4, 2), put_be32(img + 8, 28), put_be32(img + 12, 28);
        write_gz("t10k-images-idx3-ubyte.gz", img, sizeof img);
        CHECK(fashion_load(dir, "test", &set) == -1 && strstr(ds_last_error(), "truncated") &&
                  strstr(ds_last_error(), "t10k-images"),
              "short IDX: %s", ds_last_error());
    }
    /* a gzip stream cut in half */
    {
        write_valid(40, 0x803, 28, 9);
        char path[512];
        snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte.gz", dir);
        FILE *f = fopen(path, "rb");
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fclose(f);
        CHECK(truncate(path, n / 2) == 0, "truncate");
        CHECK(fashion_load(dir, "test", &set) == -1 && strstr(ds_last_error(), "t10k-images"), "cut gzip: %s",
              ds_last_error());
    }
    /* images and labels disagreeing */
    {
        write_valid(6, 0x803, 28, 9);
        uint8_t lab[8 + 4] = {0};
        put_be32(lab, 0x801), put_be32(lab + 4, 4);
        write_gz("t10k-labels-idx1-ubyte.gz", lab, sizeof lab);
        CHECK(fashion_load(dir, "test", &set) == -1 && strstr(ds_last_error(), "labels"), "count mismatch: %s",
              ds_last_error());
    }
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "cleanup");
    return check_summary("test_fashion");
}
