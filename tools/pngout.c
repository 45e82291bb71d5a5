/* pngout.c — PNG and file output through a temporary name and rename (see pngout.h). */
#include "pngout.h"

#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#include <stb/stb_image_write.h>

static int temp_name(const char *path, char *buf, size_t n) {
    return snprintf(buf, n, "%s.tmp.%ld", path, (long)getpid()) < (int)n ? 0 : -1;
}

int file_write_atomic(const char *path, const void *data, long size) {
    char tmp[4096];
    if (temp_name(path, tmp, sizeof tmp)) {
        fprintf(stderr, "diffuscope: output path too long: %s\n", path);
        return -1;
    }
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        fprintf(stderr, "diffuscope: cannot write %s: ", path);
        perror(NULL);
        return -1;
    }
    int ok = fwrite(data, 1, (size_t)size, f) == (size_t)size;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        fprintf(stderr, "diffuscope: writing %s failed: ", path);
        perror(NULL);
        remove(tmp);
        return -1;
    }
    return 0;
}

typedef struct {
    unsigned char *data;
    long size, cap;
    int failed;
} membuf;

static void membuf_put(void *ctx, void *data, int size) {
    membuf *m = ctx;
    if (m->failed) return;
    if (m->size + size > m->cap) {
        long cap = m->cap ? m->cap * 2 : 65536;
        while (cap < m->size + size) cap *= 2;
        unsigned char *p = realloc(m->data, (size_t)cap);
        if (!p) { m->failed = 1; return; }
        m->data = p;
        m->cap = cap;
    }
    memcpy(m->data + m->size, data, (size_t)size);
    m->size += size;
}

int png_write_atomic(const char *path, int w, int h, int channels, const unsigned char *pixels) {
    membuf m = {0};
    if (!stbi_write_png_to_func(membuf_put, &m, w, h, channels, pixels, w * channels) || m.failed) {
        free(m.data);
        fprintf(stderr, "diffuscope: encoding PNG for %s failed (%dx%d, %d channels)\n", path, w, h, channels);
        return -1;
    }
    int rc = file_write_atomic(path, m.data, m.size);
    free(m.data);
    return rc;
}
