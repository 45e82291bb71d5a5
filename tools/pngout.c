/* pngout.c — PNG output: stb_image_write into memory, then util_write_atomic (see pngout.h). */
#include "pngout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "util.h"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#include <stb/stb_image_write.h>

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
    int rc = util_write_atomic(path, m.data, m.size);
    free(m.data);
    if (rc) fprintf(stderr, "diffuscope: %s\n", ds_last_error());
    return rc ? -1 : 0;
}
