/* fashion.c — Fashion-MNIST IDX files through zlib, strictly validated (see fashion.h). */
#include "fashion.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "error.h"
#include "input_kinds.h"

const char *const FASHION_CLASS_NAMES[FASHION_CLASSES] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                          "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

int fashion_parse_idx(const uint8_t *bytes, long size, uint32_t expected_magic, const char *name, int *n_out,
                      const uint8_t **data) {
    int ndim = expected_magic == 0x803 ? 3 : 1;
    long header = 4 + 4L * ndim;
    if (size < header) return ds_fail("%s: %ld bytes is too short for an IDX header (truncated file?)", name, size);
    uint32_t magic = be32(bytes);
    if (magic != expected_magic)
        return ds_fail("%s: bad IDX magic 0x%08x (expected 0x%08x: %s)", name, magic, expected_magic,
                       ndim == 3 ? "unsigned-byte images, 3 dimensions" : "unsigned-byte labels, 1 dimension");
    uint32_t n = be32(bytes + 4);
    if (n == 0 || n > 1000000) return ds_fail("%s: implausible item count %u", name, n);
    if (ndim == 3) {
        uint32_t h = be32(bytes + 8), w = be32(bytes + 12);
        if (h != FASHION_SIDE || w != FASHION_SIDE) return ds_fail("%s: images are %ux%u, expected 28x28", name, h, w);
    }
    long want = header + (long)n * (ndim == 3 ? FASHION_PIXELS : 1);
    if (size < want) return ds_fail("%s: truncated: %ld bytes, the header promises %ld", name, size, want);
    if (size > want) return ds_fail("%s: %ld unexpected bytes after the %u items", name, size - want, n);
    *n_out = (int)n;
    *data = bytes + header;
    return 0;
}

/* Reads a whole .gz file into a malloc'd buffer. */
static int read_gz(const char *path, uint8_t **out, long *size) {
    *out = NULL;
    /* opened as every input is (input_kinds.h): a FIFO is refused, not waited on */
    if (access(path, F_OK) != 0)
        return ds_fail("cannot open %s: %s (install Debian's dataset-fashion-mnist, or point --data / "
                       "DS_FASHION_DIR at a folder holding the four *-ubyte.gz files)",
                       path, strerror(errno));
    int fd = util_open_kind(path, &INPUT_FASHION_GZ);
    if (fd < 0) return DS_ERR;
    gzFile f = gzdopen(fd, "rb");
    if (!f) {
        close(fd);
        return ds_fail("cannot open %s through zlib", path);
    }
    long cap = 1 << 20, n = 0;
    uint8_t *buf = malloc((size_t)cap);
    for (;;) {
        if (!buf) {
            gzclose(f);
            return ds_fail("%s: out of memory", path);
        }
        if (n == cap) {
            if (cap > (256L << 20)) {
                free(buf);
                gzclose(f);
                return ds_fail("%s: larger than 256 MB decompressed; not a Fashion-MNIST file", path);
            }
            uint8_t *bigger = realloc(buf, (size_t)cap * 2);
            if (!bigger) free(buf);
            buf = bigger;
            cap *= 2;
            continue;
        }
        int got = gzread(f, buf + n, (unsigned)(cap - n));
        if (got < 0) {
            int err;
            const char *msg = gzerror(f, &err);
            ds_fail("%s: corrupt gzip data (%s)", path, msg ? msg : "zlib error");
            free(buf);
            gzclose(f);
            return -1;
        }
        if (got == 0) break;
        n += got;
    }
    /* gzread stops quietly at a truncated stream; gzclose_r reports it */
    int rc = gzclose(f);
    if (rc != Z_OK) {
        free(buf);
        return ds_fail("%s: truncated or corrupt gzip stream (zlib error %d)", path, rc);
    }
    *out = buf;
    *size = n;
    return 0;
}

int fashion_load(const char *dir, const char *split, fashion_set *set) {
    memset(set, 0, sizeof *set);
    if (!dir) dir = getenv("DS_FASHION_DIR");
    if (!dir || !*dir) dir = FASHION_DIR_DEFAULT;
    const char *prefix;
    if (split && !strcmp(split, "train")) prefix = "train";
    else if (split && !strcmp(split, "test")) prefix = "t10k";
    else return ds_fail("fashion: unknown split '%s' (expected train or test)", split ? split : "(null)");
    char ipath[4096], lpath[4096];
    snprintf(ipath, sizeof ipath, "%s/%s-images-idx3-ubyte.gz", dir, prefix);
    snprintf(lpath, sizeof lpath, "%s/%s-labels-idx1-ubyte.gz", dir, prefix);
    uint8_t *ib = NULL, *lb = NULL;
    long isz = 0, lsz = 0;
    if (read_gz(ipath, &ib, &isz) || read_gz(lpath, &lb, &lsz)) {
        free(ib);
        return -1;
    }
    int ni = 0, nl = 0;
    const uint8_t *pix, *lab;
    int rc = -1;
    if (fashion_parse_idx(ib, isz, 0x803, ipath, &ni, &pix) || fashion_parse_idx(lb, lsz, 0x801, lpath, &nl, &lab))
        goto done;
    if (ni != nl) {
        ds_fail("%s holds %d images but %s %d labels", ipath, ni, lpath, nl);
        goto done;
    }
    for (int i = 0; i < nl; i++)
        if (lab[i] >= FASHION_CLASSES) {
            ds_fail("%s: label %d of item %d is outside 0..9", lpath, lab[i], i);
            goto done;
        }
    set->pixels = malloc((size_t)ni * FASHION_PIXELS);
    set->labels = malloc((size_t)ni);
    if (!set->pixels || !set->labels) {
        fashion_free(set);
        ds_fail("fashion: out of memory for %d images", ni);
        goto done;
    }
    memcpy(set->pixels, pix, (size_t)ni * FASHION_PIXELS);
    memcpy(set->labels, lab, (size_t)ni);
    set->n = ni;
    rc = 0;
done:
    free(ib);
    free(lb);
    return rc;
}

void fashion_free(fashion_set *set) {
    if (!set) return;
    free(set->pixels);
    free(set->labels);
    memset(set, 0, sizeof *set);
}

void fashion_to_float(const uint8_t *pixels, int n, float *out) {
    for (long i = 0; i < (long)n * FASHION_PIXELS; i++) out[i] = (float)pixels[i] / 127.5f - 1.0f;
}
