/* cmd_png2points.c — `diffuscope png2points`: a black-on-white PNG (or a drawing's strokes)
 * becomes a point file that `diffuscope points train --points FILE` learns. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "error.h"
#include "input_kinds.h"
#include "points_io.h"
#include "points_plot.h"
#include "shapes.h"
#include "util.h"


static const char *USAGE =
    "usage: diffuscope png2points (IMAGE.png | --drawing STROKES.txt [--fill] [--width W])\n"
    "                             [-n N] [--seed S] [--threshold 1..255] -o OUT.txt [--png PLOT.png]\n"
    "  IMAGE.png: pixels darker than the threshold (default 128) are ink; points are uniform over\n"
    "  the ink. --drawing: 'x y' lines, strokes separated by blank lines; points along the strokes\n"
    "  with a pen of width W (default 0.05 of the drawing's size), or inside them with --fill.\n"
    "  Writes N (default 2000) points, normalised to zero mean and E|x|^2 = 2, as 'x y' lines.\n";

static int image_points(const char *path, int threshold, int n, double seed, float *out) {
    long size;
    unsigned char *bytes = util_read_kind(path, &INPUT_PNG, &size);
    if (!bytes) return cli_error(1, "%s", ds_last_error());
    int rc = points_from_png(bytes, size, threshold, n, seed, out);
    free(bytes);
    return rc ? cli_error(1, "%s: %s", path, ds_last_error()) : 0;
}

static int drawing_points(const char *path, int fill, double width, int n, double seed, float *out) {
    char *text = (char *)util_read_kind(path, &INPUT_POINTS, NULL);
    if (!text) return cli_error(1, "%s", ds_last_error());
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
        case 'w':
            if (cli_parse_double("--width", optarg, &width)) return 2;
            if (width <= 0) return cli_error(2, "--width must be > 0, got %s", optarg);
            break;
        case 's': if (cli_parse_seed("--seed", optarg, &seed)) return 2; break;
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
    const cli_file files[] = {{"IMAGE", image, CLI_IN}, {"--drawing", drawing, CLI_IN}, {"-o", out_path, CLI_OUT}, {"--png", png, CLI_OUT}};
    int rc = cli_check_files(files, 4);
    if (rc) return rc;
    float *pts = malloc(sizeof(float) * 2 * (size_t)n);
    if (!pts) return cli_error(1, "out of memory");
    rc = image ? image_points(image, (int)threshold, (int)n, seed, pts)
                   : drawing_points(drawing, fill, width, (int)n, seed, pts);
    if (!rc) rc = points_write_text(out_path, pts, (int)n);
    if (!rc && png && points_png(png, pts, (int)n, 3.0, 512)) rc = 1;
    free(pts);
    return rc;
}
