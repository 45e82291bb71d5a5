/* cmd_png2points.c — `diffuscope png2points`: a black-on-white PNG (or a drawing's strokes)
 * becomes a point file that `diffuscope points train --points FILE` learns. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "error.h"
#include "points_cli.h"
#include "points_plot.h"
#include "pngout.h"
#include "shapes.h"

#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC /* private copy: other tools may carry their own */
#define STBI_ONLY_PNG
#define STBI_NO_STDIO
#define STBI_MAX_DIMENSIONS 4096 /* a drawing, not a satellite image: bounds the decode buffers */
/* the static copy declares loaders we never call */
#pragma GCC diagnostic ignored "-Wunused-function"
#include <stb/stb_image.h>

static const char *USAGE =
    "usage: diffuscope png2points (IMAGE.png | --drawing STROKES.txt [--fill] [--width W])\n"
    "                             [-n N] [--seed S] [--threshold 1..255] -o OUT.txt [--png PLOT.png]\n"
    "  IMAGE.png: pixels darker than the threshold (default 128) are ink; points are uniform over\n"
    "  the ink. --drawing: 'x y' lines, strokes separated by blank lines; points along the strokes\n"
    "  with a pen of width W (default 0.05 of the drawing's size), or inside them with --fill.\n"
    "  Writes N (default 2000) points, normalised to zero mean and E|x|^2 = 2, as 'x y' lines.\n";

/* whole file into a NUL-terminated buffer; NULL after printing an error */
char *points_read_file(const char *path, long *size) {
    FILE *f = fopen(path, "rb");
    if (!f) { cli_error(1, "cannot open %s", path); return NULL; }
    long cap = 1 << 16, n = 0;
    char *buf = malloc((size_t)cap + 1);
    size_t got;
    while (buf && (got = fread(buf + n, 1, (size_t)(cap - n), f)) > 0) {
        n += (long)got;
        if (n == cap) {
            if (cap > (1L << 30)) { free(buf); buf = NULL; cli_error(1, "%s is larger than 1 GiB", path); break; }
            char *nb = realloc(buf, (size_t)cap * 2 + 1);
            if (!nb) { free(buf); buf = NULL; break; }
            buf = nb;
            cap *= 2;
        }
    }
    if (buf && ferror(f)) { free(buf); buf = NULL; cli_error(1, "reading %s failed", path); }
    fclose(f);
    if (!buf) return NULL;
    buf[n] = '\0';
    if (size) *size = n;
    return buf;
}

int points_write_text(const char *path, const float *xy, int n) {
    size_t cap = (size_t)n * 40 + 64, len = 0;
    char *buf = malloc(cap);
    if (!buf) return cli_error(1, "out of memory");
    len += (size_t)snprintf(buf, cap, "# %d points (x y), diffuscope\n", n);
    for (int i = 0; i < n; i++) len += (size_t)snprintf(buf + len, cap - len, "%.7g %.7g\n", xy[2 * i], xy[2 * i + 1]);
    int rc = file_write_atomic(path, buf, (long)len) ? 1 : 0;
    free(buf);
    return rc;
}

/* A copy of the PNG without its empty IDAT chunks, checked to hold every chunk it announces.
 * Both guard stb_image v2.27, found by tests/fuzz/fuzz_png_points.c: it does NULL + 0 pointer
 * arithmetic on a first IDAT of length 0 (UBSan rightly reports it), and it grows its buffer
 * to a chunk's declared length before reading it (a 86-byte file asked for 2 GiB). Bytes after
 * the last whole chunk are copied as they are, for stb_image to judge. *size is updated.
 * NULL after ds_fail (a chunk runs past the end of the file, or out of memory). */
static unsigned char *png_drop_empty_idat(const unsigned char *bytes, long *size) {
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

static int image_points(const char *path, int threshold, int n, double seed, float *out) {
    long size;
    char *bytes = points_read_file(path, &size);
    if (!bytes) return 1;
    int rc = points_from_png((unsigned char *)bytes, size, threshold, n, seed, out);
    free(bytes);
    return rc ? cli_error(1, "%s: %s", path, ds_last_error()) : 0;
}

static int drawing_points(const char *path, int fill, double width, int n, double seed, float *out) {
    char *text = points_read_file(path, NULL);
    if (!text) return 1;
    float *xy;
    int *lens, S;
    int rc = ds_drawing_parse(text, &xy, &lens, &S);
    free(text);
    if (rc) return cli_error(1, "%s: %s", path, ds_last_error());
    if (width <= 0) { /* default pen: 5% of the drawing's larger side */
        long V = 0;
        for (int s = 0; s < S; s++) V += lens[s];
        float lo[2] = {xy[0], xy[1]}, hi[2] = {xy[0], xy[1]};
        for (long i = 0; i < V; i++)
            for (int d = 0; d < 2; d++) {
                if (xy[2 * i + d] < lo[d]) lo[d] = xy[2 * i + d];
                if (xy[2 * i + d] > hi[d]) hi[d] = xy[2 * i + d];
            }
        width = 0.05 * (hi[0] - lo[0] > hi[1] - lo[1] ? hi[0] - lo[0] : hi[1] - lo[1]);
        if (!(width > 0)) width = 1;
    }
    rc = ds_drawing_points(xy, lens, S, fill, width, n, seed, out);
    free(xy);
    free(lens);
    return rc ? cli_error(1, "%s: %s", path, ds_last_error()) : 0;
}

int cmd_png2points(int argc, char **argv) {
    static const struct option opts[] = {
        {"drawing", required_argument, 0, 'd'}, {"fill", no_argument, 0, 'f'}, {"width", required_argument, 0, 'w'},
        {"seed", required_argument, 0, 's'}, {"threshold", required_argument, 0, 't'}, {"png", required_argument, 0, 'p'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *drawing = NULL, *out_path = NULL, *png = NULL;
    int fill = 0;
    long n = 2000, threshold = 128;
    double width = 0, seed = 1;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "hn:o:", opts, NULL)) != -1) {
        switch (c) {
        case 'd': drawing = optarg; break;
        case 'f': fill = 1; break;
        case 'w': if (cli_parse_double("--width", optarg, &width) || width <= 0) return cli_error(2, "--width must be > 0"); break;
        case 's': if (cli_parse_double("--seed", optarg, &seed)) return 2; break;
        case 't': if (cli_parse_long("--threshold", optarg, 1, 255, &threshold)) return 2; break;
        case 'n': if (cli_parse_long("-n", optarg, 1, DS_POINTS_MAX, &n)) return 2; break;
        case 'o': out_path = optarg; break;
        case 'p': png = optarg; break;
        case 'h': fputs(USAGE, stdout); return 0;
        default: fputs(USAGE, stderr); return 2;
        }
    }
    const char *image = optind < argc ? argv[optind++] : NULL;
    if (optind < argc) return cli_error(2, "png2points: unexpected argument '%s'", argv[optind]);
    if (!image == !drawing) return cli_error(2, "png2points: give exactly one of IMAGE.png or --drawing FILE\n%s", USAGE);
    if (!out_path) return cli_error(2, "png2points: -o OUT.txt is required");
    float *pts = malloc(sizeof(float) * 2 * (size_t)n);
    if (!pts) return cli_error(1, "out of memory");
    int rc = image ? image_points(image, (int)threshold, (int)n, seed, pts)
                   : drawing_points(drawing, fill, width, (int)n, seed, pts);
    if (!rc) rc = points_write_text(out_path, pts, (int)n);
    if (!rc && png && points_png(png, pts, (int)n, 3.0, 512)) rc = 1;
    free(pts);
    return rc;
}
