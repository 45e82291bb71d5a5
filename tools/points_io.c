/* points_io.c — point sets in and out of files: shapes or point files, text output, PNG ink
 * (see points_io.h). */
#include "points_io.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "error.h"
#include "input_kinds.h"
#include "shapes.h"
#include "util.h"

#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC /* private copy: other tools may carry their own */
#define STBI_ONLY_PNG
#define STBI_NO_STDIO
#define STBI_MAX_DIMENSIONS 4096 /* a drawing, not a satellite image: bounds the decode buffers */
/* the static copy declares loaders we never call */
#pragma GCC diagnostic ignored "-Wunused-function"
#include <stb/stb_image.h>

int points_load_set(const char *shape_or_file, int n, double seed, float **xy, int *n_out) {
    ds_shape_kind kind;
    if (ds_shape_parse(shape_or_file, &kind) == DS_OK) {
        *xy = malloc(sizeof(float) * 2 * (size_t)n);
        if (!*xy) return cli_error(1, "out of memory");
        if (ds_shape_points(kind, n, seed, *xy)) { free(*xy); return cli_error(1, "%s", ds_last_error()); }
        *n_out = n;
        return 0;
    }
    char *text = (char *)util_read_kind(shape_or_file, &INPUT_POINTS, NULL);
    if (!text)
        return cli_error(1, "'%s' is neither a shape (cow, moons, spiral, rings, letter) nor a readable point file (%s)",
                         shape_or_file, ds_last_error());
    int rc = ds_points_parse(text, xy, n_out);
    free(text);
    if (rc) return cli_error(1, "%s: %s", shape_or_file, ds_last_error());
    return 0;
}

int points_write_text(const char *path, const float *xy, int n) {
    size_t cap = (size_t)n * 40 + 64, len = 0;
    char *buf = malloc(cap);
    if (!buf) return cli_error(1, "out of memory");
    len += (size_t)snprintf(buf, cap, "# %d points (x y), diffuscope\n", n);
    for (int i = 0; i < n; i++) len += (size_t)snprintf(buf + len, cap - len, "%.7g %.7g\n", xy[2 * i], xy[2 * i + 1]);
    int rc = util_write_atomic(path, buf, (long)len) ? cli_error(1, "%s", ds_last_error()) : 0;
    free(buf);
    return rc;
}

/* A copy of the PNG without its empty IDAT chunks, checked to hold every chunk it announces.
 * Both guard stb_image v2.27, found by tests/fuzz/fuzz_png_points.c: it does NULL + 0 pointer
 * arithmetic on a first IDAT of length 0 (UBSan rightly reports it), and it grows its buffer
 * to a chunk's declared length before reading it (a 86-byte file asked for 2 GiB). Bytes after
 * the last whole chunk are copied as they are, for stb_image to judge. *size is updated.
 * NULL after ds_fail (a chunk runs past the end of the file, or out of memory). */
unsigned char *png_drop_empty_idat(const unsigned char *bytes, long *size) {
    unsigned char *copy = malloc((size_t)*size);
    if (!copy) { ds_fail("out of memory"); return NULL; }
    long in = 0, out = 0;
    if (*size >= 8 && !memcmp(bytes, "\x89PNG\r\n\x1a\n", 8)) { /* else: not a PNG, stb says so */
        memcpy(copy, bytes, 8);
        in = out = 8;
        int ended = 0;
        while (!ended && in + 12 <= *size) {
            const unsigned char *chunk = bytes + in, *type = chunk + 4;
            unsigned long len = (unsigned long)chunk[0] << 24 | (unsigned long)chunk[1] << 16 | (unsigned long)chunk[2] << 8 | chunk[3];
            if (len > (unsigned long)(*size - in - 12)) {
                ds_fail("not a readable PNG (truncated: the chunk at byte %ld announces %lu bytes, %ld follow)", in, len,
                        *size - in - 12);
                free(copy);
                return NULL;
            }
            if (!(len == 0 && !memcmp(type, "IDAT", 4))) {
                memcpy(copy + out, chunk, len + 12);
                out += (long)len + 12;
            }
            in += (long)len + 12;
            ended = !memcmp(type, "IEND", 4); /* whatever follows IEND is never read */
        }
        if (!ended && in < *size) {
            ds_fail("not a readable PNG (truncated: %ld bytes of an incomplete chunk at byte %ld)", *size - in, in);
            free(copy);
            return NULL;
        }
    }
    memcpy(copy + out, bytes + in, (size_t)(*size - in));
    *size = out + (*size - in);
    return copy;
}

int points_from_png(const unsigned char *bytes, long size, int threshold, int n, double seed, float *out) {
    if (!bytes || size <= 0 || size > INT_MAX) return ds_fail("empty or oversized PNG (%ld bytes)", size);
    unsigned char *png = png_drop_empty_idat(bytes, &size);
    if (!png) return DS_ERR;
    int w, h, channels;
    unsigned char *grey = stbi_load_from_memory(png, (int)size, &w, &h, &channels, 1);
    free(png);
    if (!grey) return ds_fail("not a readable PNG (%s)", stbi_failure_reason());
    int rc = ds_image_points(grey, w, h, threshold, n, seed, out);
    stbi_image_free(grey);
    return rc;
}
