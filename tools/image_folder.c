/* image_folder.c — a folder of PNG / JPEG images as a training set (see image_folder.h). */
#define _XOPEN_SOURCE 700 /* realpath */
#include "image_folder.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "checkpoint.h"
#include "error.h"
#include "input_kinds.h"
#include "points_io.h"
#include "util.h"

#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC /* private copy: points_io.c carries its own, PNG only */
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_NO_STDIO
#define STBI_MAX_DIMENSIONS IMAGE_FOLDER_MAX_SIDE
#pragma GCC diagnostic ignored "-Wunused-function"
/* stb_image v2.27 (Debian 12's) has two known faults on corrupt JPEGs, both found by
 * tests/fuzz/fuzz_image_folder.c: its bit reader shifts a 32-bit value by 32 (UB, the result
 * unused), and its Huffman decoder can index a table's `values` with a negative symbol when the
 * file's tables are inconsistent (stb 2.28 checks it; seen once in stop 18: index -24, a read
 * inside the decoder's own heap block, giving garbage pixels of an already corrupt file). UBSan's
 * shift and array-bounds checks are off inside stb's functions only; ASan still checks that every
 * access stays in a live allocation, and every other UBSan check stays on. */
#if defined(__clang__)
#pragma clang attribute push(__attribute__((no_sanitize("shift", "bounds"))), apply_to = function)
#endif
#include <stb/stb_image.h>
#if defined(__clang__)
#pragma clang attribute pop
#endif

/* ---- listing ---- */

typedef struct {
    char **path; /* (n) malloc'd "DIR/CLASS/NAME" */
    int *label;  /* (n) */
    int n, cap;
} file_list;

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int has_image_extension(const char *name) {
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".png") || !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"));
}

static char *join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* the entries of dir not starting with '.', sorted bytewise; *n_out of them. NULL after ds_fail */
static char **sorted_entries(const char *dir, int *n_out) {
    DIR *d = opendir(dir);
    if (!d) {
        ds_fail("cannot open the image folder %s: %s", dir, strerror(errno));
        return NULL;
    }
    char **names = NULL;
    int n = 0, cap = 0, failed = 0;
    for (struct dirent *e; !failed && (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **grown = realloc(names, sizeof *names * (size_t)cap);
            if (!grown) { failed = 1; break; }
            names = grown;
        }
        if (!(names[n] = strdup(e->d_name))) failed = 1;
        else n++;
    }
    closedir(d);
    if (failed) {
        for (int i = 0; i < n; i++) free(names[i]);
        free(names);
        ds_fail("out of memory listing %s", dir);
        return NULL;
    }
    if (n) qsort(names, (size_t)n, sizeof *names, cmp_names);
    *n_out = n;
    return names ? names : calloc(1, sizeof *names);
}

static void free_names(char **names, int n) {
    for (int i = 0; names && i < n; i++) free(names[i]);
    free(names);
}

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int add_file(file_list *l, char *path, int label) {
    if (l->n == IMAGE_FOLDER_MAX_IMAGES) {
        free(path);
        return ds_fail("more than %d images: train on a subset", IMAGE_FOLDER_MAX_IMAGES);
    }
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        char **p = realloc(l->path, sizeof *p * (size_t)l->cap);
        int *q = p ? realloc(l->label, sizeof *q * (size_t)l->cap) : NULL;
        if (p) l->path = p;
        if (q) l->label = q;
        if (!p || !q) {
            free(path);
            return ds_fail("out of memory listing the images");
        }
    }
    l->path[l->n] = path;
    l->label[l->n++] = label;
    return DS_OK;
}

/* the image files directly in dir (label), in sorted order; other files count as ignored */
static int list_images(const char *dir, int label, file_list *l, int *n_ignored) {
    int n = 0;
    char **names = sorted_entries(dir, &n);
    if (!names) return DS_ERR;
    int rc = DS_OK;
    for (int i = 0; i < n && rc == DS_OK; i++) {
        char *path = join(dir, names[i]);
        if (!path) rc = ds_fail("out of memory listing %s", dir);
        else if (!has_image_extension(names[i]) || is_dir(path)) (*n_ignored)++, free(path);
        else rc = add_file(l, path, label);
    }
    free_names(names, n);
    return rc;
}

/* A class name from a folder name: 1..31 bytes, as the .dsw takes them. */
static int set_class_name(image_folder *set, int k, const char *name, const char *where) {
    size_t len = strlen(name);
    if (len >= DS_CLASS_NAME_MAX)
        return ds_fail("%s: the class folder name '%s' is %zu bytes; a class name is at most %d: rename the folder",
                       where, name, len, DS_CLASS_NAME_MAX - 1);
    memcpy(set->class_names[k], name, len + 1);
    return DS_OK;
}

/* the name of one class of a folder without subfolders: the folder's own name, cut to 31
 * bytes on a UTF-8 boundary ("images" when it has none, as for "/") */
static void folder_class_name(const char *dir, char *out) {
    char *full = realpath(dir, NULL);
    const char *base = full ? full : dir, *slash = strrchr(base, '/');
    if (slash && slash[1]) base = slash + 1;
    size_t len = strlen(base);
    if (len > DS_CLASS_NAME_MAX - 1) len = DS_CLASS_NAME_MAX - 1;
    while (len > 0 && ((unsigned char)base[len] & 0xc0) == 0x80) len--; /* not inside a character */
    if (!len || !strcmp(base, "/")) snprintf(out, DS_CLASS_NAME_MAX, "images");
    else memcpy(out, base, len), out[len] = 0;
    free(full);
}

/* classes (subfolders, or the folder itself) and their image files */
static int list_folder(const char *dir, image_folder *set, file_list *l) {
    int n = 0;
    char **names = sorted_entries(dir, &n);
    if (!names) return DS_ERR;
    int rc = DS_OK, classes = 0;
    for (int i = 0; i < n && rc == DS_OK; i++) {
        char *path = join(dir, names[i]);
        if (!path) rc = ds_fail("out of memory listing %s", dir);
        else if (is_dir(path) && classes == IMAGE_FOLDER_MAX_CLASSES)
            rc = ds_fail("%s has more than %d class folders (the 11th is '%s'): at most %d classes", dir,
                         IMAGE_FOLDER_MAX_CLASSES, names[i], IMAGE_FOLDER_MAX_CLASSES);
        else if (is_dir(path) && !(rc = set_class_name(set, classes, names[i], dir)))
            rc = list_images(path, classes++, l, &set->n_ignored);
        free(path);
    }
    free_names(names, n);
    if (rc) return rc;
    if (classes) {
        set->n_classes = classes;
        set->n_ignored += n - classes; /* top-level files beside the class folders */
    } else {
        set->n_classes = 1;
        folder_class_name(dir, set->class_names[0]);
        if (list_images(dir, 0, l, &set->n_ignored)) return DS_ERR;
    }
    ds_weights_meta meta;
    ds_weights_meta_default(&meta);
    meta.n_class_names = set->n_classes;
    memcpy(meta.class_names, set->class_names, sizeof set->class_names);
    if (ds_weights_meta_check(&meta)) return ds_fail("%s: the class folders' names: %s", dir, ds_last_error());
    return l->n ? DS_OK : ds_fail("%s holds no .png, .jpg or .jpeg image%s", dir, classes ? " in its class folders" : "");
}

/* ---- decoding and fitting ---- */

/* stb_image v2.27 builds a JPEG Huffman table without checking that its 16 code counts sum to
 * at most 256, and writes past its 257-entry arrays when they do not (2.28 checks; found by
 * tests/fuzz/fuzz_image_folder.c). Walks the markers as stb reads them, through each scan's
 * entropy-coded bytes, and refuses such a table. A PNG passes (its own guard is points_io.h's). */
static int jpeg_huffman_guard(const unsigned char *b, long n) {
    if (n >= 4 && !memcmp(b, "\x89PNG", 4)) return DS_OK; /* stb tries JPEG on anything else, even after fill bytes */
    for (long i = 0; i + 4 <= n;) {
        const int m = b[i + 1];
        if (b[i] != 0xff || m == 0xff) { i++; continue; }                   /* scan data, fill bytes */
        if (m == 0x00 || m == 0x01 || m == 0xd8 || (m >= 0xd0 && m <= 0xd7)) { i += 2; continue; } /* stuffing, TEM, SOI, RST */
        if (m == 0xd9) break;                                                 /* EOI */
        const long len = (long)b[i + 2] << 8 | b[i + 3], end = i + 2 + len;
        for (long p = i + 4; m == 0xc4 && p < end && p < n;) { /* DHT: tables while the length lasts */
            int codes = 0;
            for (int k = 1; k <= 16 && p + k < n; k++) codes += b[p + k]; /* stb reads 0 past the end */
            if (codes > 256) return ds_fail("not a readable JPEG (a Huffman table declares %d codes; at most 256)", codes);
            p += 17 + codes;
        }
        i = end > i + 2 ? end : i + 2;
    }
    return DS_OK;
}

/* bytes with the PNG and JPEG guards applied (points_io.h, above); NULL after ds_fail */
static unsigned char *guarded(const unsigned char *raw, long *size) {
    if (*size <= 0 || *size > INT_MAX) {
        ds_fail("empty or oversized image (%ld bytes)", *size);
        return NULL;
    }
    unsigned char *bytes = png_drop_empty_idat(raw, size);
    if (bytes && jpeg_huffman_guard(bytes, *size)) {
        free(bytes);
        return NULL;
    }
    return bytes;
}

int image_folder_probe(const unsigned char *raw, long size, int *channels) {
    unsigned char *bytes = guarded(raw, &size);
    if (!bytes) return DS_ERR;
    int w = 0, h = 0, comp = 0;
    int ok = stbi_info_from_memory(bytes, (int)size, &w, &h, &comp);
    if (!ok && size >= 24 && !memcmp(bytes + 12, "IHDR", 4)) { /* stb's own "too large" is lost in its format search */
        const unsigned long pw = (unsigned long)bytes[16] << 24 | bytes[17] << 16 | bytes[18] << 8 | bytes[19];
        const unsigned long ph = (unsigned long)bytes[20] << 24 | bytes[21] << 16 | bytes[22] << 8 | bytes[23];
        if (pw > IMAGE_FOLDER_MAX_SIDE || ph > IMAGE_FOLDER_MAX_SIDE)
            ok = ds_fail("too big (%lu x %lu pixels; at most %d x %d)", pw, ph, IMAGE_FOLDER_MAX_SIDE, IMAGE_FOLDER_MAX_SIDE);
    }
    free(bytes);
    if (ok == DS_ERR) return DS_ERR;
    if (!ok) return ds_fail("not a readable image (%s)", stbi_failure_reason());
    if (w <= 0 || h <= 0) return ds_fail("zero-size image (%d x %d)", w, h);
    if (w > IMAGE_FOLDER_MAX_SIDE || h > IMAGE_FOLDER_MAX_SIDE)
        return ds_fail("too big (%d x %d pixels; at most %d x %d)", w, h, IMAGE_FOLDER_MAX_SIDE, IMAGE_FOLDER_MAX_SIDE);
    *channels = comp >= 3 ? 3 : 1;
    return DS_OK;
}

/* the file's channel count as stored (1 grey, 3 colour; alpha not counted), 0 after ds_fail naming it */
static int image_channels(const char *path) {
    long size = 0;
    unsigned char *raw = util_read_kind(path, &INPUT_IMAGE, &size); /* the message names the path */
    int channels = 0;
    if (raw && image_folder_probe(raw, size, &channels)) ds_fail("%s: %s", path, ds_last_error()), channels = 0;
    free(raw);
    return channels;
}

/* one source row in the model's channels, alpha composited over black: row (channels, w) */
static void convert_row(const uint8_t *px, int w, int comp, int channels, float *row) {
    for (int x = 0; x < w; x++, px += comp) {
        const int colour = comp >= 3, has_alpha = comp == 2 || comp == 4;
        const float a = has_alpha ? px[comp - 1] / 255.0f : 1.0f;
        const float r = px[0] * a, g = (colour ? px[1] : px[0]) * a, b = (colour ? px[2] : px[0]) * a;
        if (channels == 1) row[x] = colour ? 0.299f * r + 0.587f * g + 0.114f * b : r;
        else row[x] = r, row[w + x] = g, row[2 * w + x] = b;
    }
}

/* Area filter: output i of n_out averages source [i, i+1) * n_in / n_out, weighted by overlap. */
static void area_1d(const float *src, int n_in, long stride_in, float *dst, int n_out, long stride_out) {
    const double scale = (double)n_in / n_out;
    for (int i = 0; i < n_out; i++) {
        const double a = i * scale, b = (i + 1) * scale;
        double sum = 0;
        for (int j = (int)a; j < n_in && j < b; j++) {
            const double lo = j > a ? j : a, hi = j + 1 < b ? j + 1 : b;
            sum += (hi - lo) * src[(long)j * stride_in];
        }
        dst[(long)i * stride_out] = (float)(sum / scale);
    }
}

void image_folder_fit(const uint8_t *img, int w, int h, int comp, int channels, int size, uint8_t *out) {
    const int longer = w > h ? w : h;
    int bw = (int)lround((double)w * size / longer), bh = (int)lround((double)h * size / longer);
    bw = bw < 1 ? 1 : bw, bh = bh < 1 ? 1 : bh;
    const int ox = (size - bw) / 2, oy = (size - bh) / 2;
    float *row = malloc(sizeof(float) * (size_t)channels * w), *narrow = malloc(sizeof(float) * (size_t)channels * h * bw);
    float *col = malloc(sizeof(float) * (size_t)bh);
    memset(out, 0, (size_t)channels * size * size);
    if (row && narrow && col) {
        for (int y = 0; y < h; y++) { /* rows to bw wide: narrow (channels, h, bw) */
            convert_row(img + (size_t)y * w * comp, w, comp, channels, row);
            for (int c = 0; c < channels; c++) area_1d(row + (size_t)c * w, w, 1, narrow + ((size_t)c * h + y) * bw, bw, 1);
        }
        for (int c = 0; c < channels; c++)
            for (int x = 0; x < bw; x++) { /* columns to bh tall, placed centred */
                area_1d(narrow + (size_t)c * h * bw + x, h, bw, col, bh, 1);
                for (int y = 0; y < bh; y++) {
                    const double v = floor(col[y] + 0.5);
                    out[((size_t)c * size + oy + y) * size + ox + x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
                }
            }
    }
    free(row), free(narrow), free(col);
}

int image_folder_decode(const unsigned char *raw, long size, int channels, int side, uint8_t *out) {
    unsigned char *bytes = guarded(raw, &size);
    if (!bytes) return DS_ERR;
    int w, h, comp;
    uint8_t *img = stbi_load_from_memory(bytes, (int)size, &w, &h, &comp, 0);
    free(bytes);
    if (!img) return ds_fail("not a readable image (%s)", stbi_failure_reason());
    image_folder_fit(img, w, h, comp, channels, side, out);
    stbi_image_free(img);
    return DS_OK;
}

/* decodes path and fits it into out (set->item bytes); DS_ERR after ds_fail naming the file */
static int load_one(const char *path, const image_folder *set, uint8_t *out) {
    long size = 0;
    unsigned char *raw = util_read_kind(path, &INPUT_IMAGE, &size);
    if (!raw) return DS_ERR;
    int rc = image_folder_decode(raw, size, set->channels, set->size, out);
    free(raw);
    return rc ? ds_fail("%s: %s", path, ds_last_error()) : DS_OK;
}

/* ---- the set ---- */

typedef struct {
    int n;
    char first[512]; /* the first bad file's message */
} bad_log;

static void note_bad(bad_log *bad, const image_folder_opts *opts) {
    if (!bad->n++) snprintf(bad->first, sizeof bad->first, "%s", ds_last_error());
    if (!opts->quiet) fprintf(stderr, "bad image: %s\n", ds_last_error());
}

/* pass 1: every file's channel count (0: bad), and the set's channels */
static int scan_channels(const file_list *l, const image_folder_opts *opts, int *comp, image_folder *set, bad_log *bad) {
    int grey = 0, colour = 0;
    for (int i = 0; i < l->n; i++) {
        comp[i] = image_channels(l->path[i]);
        if (!comp[i]) note_bad(bad, opts);
        grey += comp[i] == 1, colour += comp[i] == 3;
    }
    set->channels = opts->channels ? opts->channels : grey > colour ? 1 : 3;
    if (opts->channels || !grey || !colour) return DS_OK;
    for (int i = 0; i < l->n; i++)
        if (comp[i] && comp[i] != set->channels) {
            ds_fail("%s: %s, but most images are %s: give --channels 1 or 3 to convert them all", l->path[i],
                    comp[i] == 1 ? "greyscale" : "colour", set->channels == 1 ? "greyscale" : "colour");
            note_bad(bad, opts);
            comp[i] = 0;
        }
    return DS_OK;
}

static uint64_t set_hash(const image_folder *set) {
    const int32_t head[3] = {set->size, set->channels, set->n_classes};
    uint64_t h = ds_fnv1a64(head, sizeof head) ^ ds_fnv1a64(set->class_names, sizeof set->class_names) * 31;
    h ^= ds_fnv1a64(set->pixels, (long)set->n * set->item) * 1099511628211ULL;
    return h ^ (ds_fnv1a64(set->labels, set->n) << 1);
}

/* pass 2: decode the good files into the set */
static int decode_all(const file_list *l, const image_folder_opts *opts, const int *comp, image_folder *set, bad_log *bad) {
    set->pixels = malloc((size_t)l->n * set->item);
    set->labels = malloc((size_t)l->n);
    if (!set->pixels || !set->labels) return ds_fail("out of memory for %d images of %d bytes", l->n, set->item);
    for (int i = 0; i < l->n; i++) {
        if (!comp[i]) continue;
        if (load_one(l->path[i], set, set->pixels + (size_t)set->n * set->item)) {
            note_bad(bad, opts);
            continue;
        }
        set->labels[set->n++] = (uint8_t)l->label[i];
    }
    return DS_OK;
}

int image_folder_load(const char *dir, const image_folder_opts *opts, image_folder *set) {
    memset(set, 0, sizeof *set);
    if (opts->size < 4 || opts->size > 256) return ds_fail("image folder: size %d outside 4..256", opts->size);
    if (opts->channels != 0 && opts->channels != 1 && opts->channels != 3)
        return ds_fail("image folder: channels must be 1 or 3 (got %d)", opts->channels);
    set->size = opts->size;
    file_list l = {0};
    bad_log bad = {0};
    int *comp = NULL;
    int rc = list_folder(dir, set, &l);
    if (!rc && !(comp = calloc((size_t)l.n, sizeof *comp))) rc = ds_fail("out of memory");
    if (!rc) rc = scan_channels(&l, opts, comp, set, &bad);
    set->item = set->channels * set->size * set->size;
    if (!rc && !(bad.n && !opts->skip_bad)) rc = decode_all(&l, opts, comp, set, &bad);
    set->n_bad = bad.n;
    if (!rc && bad.n && !opts->skip_bad)
        rc = ds_fail("%s (%d bad image%s in %s in all: --bad-images skip leaves them out)", bad.first, bad.n,
                     bad.n > 1 ? "s" : "", dir);
    if (!rc && !set->n) rc = ds_fail("%s: every one of its %d images is bad", dir, l.n);
    for (int k = 0; !rc && k < set->n_classes; k++) {
        int count = 0;
        for (int i = 0; i < set->n; i++) count += set->labels[i] == k;
        if (!count) rc = ds_fail("%s: class '%s' has no usable image", dir, set->class_names[k]);
    }
    if (!rc) set->hash = set_hash(set);
    for (int i = 0; i < l.n; i++) free(l.path[i]);
    free(l.path), free(l.label), free(comp);
    return rc ? DS_ERR : DS_OK;
}

void image_folder_free(image_folder *set) {
    free(set->pixels);
    free(set->labels);
    memset(set, 0, sizeof *set);
}
