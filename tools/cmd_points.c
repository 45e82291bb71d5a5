/* cmd_points.c — `diffuscope points`: the point-cloud diffusion of the cow story.
 *
 *   diffuscope points shape   --shape cow [-n N] [--seed S] [--png P] [-o FILE.txt]
 *   diffuscope points forward --shape cow [--schedule linear|cosine] [--steps T] [--frames K] --png P
 *   diffuscope points floor   [--shape S] [-n N]         real-vs-real Chamfer / MMD^2 of the shapes
 *   diffuscope points quality --shape S --samples FILE   samples against the shape
 *   diffuscope points train ... / points sample ...      (see points_train.c) */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "error.h"
#include "point_metrics.h"
#include "points_cli.h"
#include "points_forward.h"
#include "points_plot.h"
#include "schedule.h"
#include "shapes.h"

static const char *USAGE =
    "usage: diffuscope points SUBCOMMAND [options]\n"
    "  shape   --shape NAME [-n N] [--seed S] [--png PLOT.png] [-o POINTS.txt]\n"
    "          NAME: cow, moons, spiral, rings, letter (N default 2000)\n"
    "  forward --shape NAME [--schedule linear|cosine] [--steps T] [--frames K] [-n N] --png STRIP.png\n"
    "          K panels (default 6) of x_t from t = 0 to T: the cow heated into a Gaussian\n"
    "  floor   [--shape NAME] [-n N]   Chamfer and MMD^2 between two draws of each shape (JSON)\n"
    "  quality --shape NAME|FILE --samples FILE [-n N]   the samples against N points of the shape\n"
    "  train   --points NAME|FILE ... (diffuscope points train --help)\n"
    "  sample  --weights FILE ...     (diffuscope points sample --help)\n";

int points_load_set(const char *shape_or_file, int n, double seed, float **xy, int *n_out) {
    ds_shape_kind kind;
    if (ds_shape_parse(shape_or_file, &kind) == DS_OK) {
        *xy = malloc(sizeof(float) * 2 * (size_t)n);
        if (!*xy) return cli_error(1, "out of memory");
        if (ds_shape_points(kind, n, seed, *xy)) { free(*xy); return cli_error(1, "%s", ds_last_error()); }
        *n_out = n;
        return 0;
    }
    char *text = points_read_file(shape_or_file, NULL);
    if (!text) return cli_error(1, "'%s' is neither a shape (cow, moons, spiral, rings, letter) nor a readable point file", shape_or_file);
    int rc = ds_points_parse(text, xy, n_out);
    free(text);
    if (rc) return cli_error(1, "%s: %s", shape_or_file, ds_last_error());
    return 0;
}

/* options shared by the small subcommands */
typedef struct {
    const char *shape, *png, *out, *samples;
    long n, steps, frames;
    double seed;
    ds_schedule_kind schedule;
} points_opts;

static int parse_opts(int argc, char **argv, points_opts *o) {
    static const struct option opts[] = {
        {"shape", required_argument, 0, 'S'}, {"seed", required_argument, 0, 's'}, {"png", required_argument, 0, 'p'},
        {"schedule", required_argument, 0, 'k'}, {"steps", required_argument, 0, 'T'}, {"frames", required_argument, 0, 'F'},
        {"samples", required_argument, 0, 'q'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "hn:o:", opts, NULL)) != -1) {
        switch (c) {
        case 'S': o->shape = optarg; break;
        case 's': if (cli_parse_double("--seed", optarg, &o->seed)) return 2; break;
        case 'p': o->png = optarg; break;
        case 'o': o->out = optarg; break;
        case 'q': o->samples = optarg; break;
        case 'k': if (ds_schedule_kind_parse(optarg, &o->schedule)) return cli_error(2, "--schedule: %s", ds_last_error()); break;
        case 'T': if (cli_parse_long("--steps", optarg, 1, DS_MAX_T, &o->steps)) return 2; break;
        case 'F': if (cli_parse_long("--frames", optarg, 2, 32, &o->frames)) return 2; break;
        case 'n': if (cli_parse_long("-n", optarg, 2, 1 << 16, &o->n)) return 2; break;
        case 'h': fputs(USAGE, stdout); return -1;
        default: fputs(USAGE, stderr); return 2;
        }
    }
    if (optind < argc) return cli_error(2, "points %s: unexpected argument '%s'", argv[0], argv[optind]);
    return 0;
}

static int sub_shape(points_opts *o) {
    if (!o->shape) return cli_error(2, "points shape: --shape NAME is required");
    if (!o->png && !o->out) return cli_error(2, "points shape: give --png PLOT.png and/or -o POINTS.txt");
    float *xy;
    int n, rc = points_load_set(o->shape, (int)o->n, o->seed, &xy, &n);
    if (rc) return rc;
    if (o->out) rc = points_write_text(o->out, xy, n);
    if (!rc && o->png && points_png(o->png, xy, n, 3.0, 512)) rc = 1;
    free(xy);
    return rc;
}

static int sub_forward(points_opts *o) {
    if (!o->shape || !o->png) return cli_error(2, "points forward: --shape NAME and --png STRIP.png are required");
    float *x0;
    int n, rc = points_load_set(o->shape, (int)o->n, o->seed, &x0, &n);
    if (rc) return rc;
    int K = (int)o->frames;
    float *buf = malloc(sizeof(float) * 2 * (size_t)n * (K + 1));
    if (!buf) { free(x0); return cli_error(1, "out of memory"); }
    float *eps = buf + 2L * n * K;
    const float *panels[32];
    int counts[32];
    rc = ds_points_noise(n, o->seed + 1000, eps);
    for (int k = 0; k < K && !rc; k++) {
        int t = (int)((o->steps * (long)k + (K - 1) / 2) / (K - 1)); /* 0 .. T, rounded */
        rc = ds_forward_points(o->schedule, (int)o->steps, t, x0, eps, n, buf + 2L * n * k);
        panels[k] = buf + 2L * n * k;
        counts[k] = n;
        if (!rc) printf("frame %d: t = %d\n", k, t);
    }
    if (rc) rc = cli_error(1, "%s", ds_last_error());
    else if (points_png_strip(o->png, panels, counts, K, 3.5, 256)) rc = 1;
    free(buf);
    free(x0);
    return rc;
}

static int sub_floor(points_opts *o) {
    int first = 0, last = DS_SHAPE_COUNT - 1;
    if (o->shape) {
        ds_shape_kind k;
        if (ds_shape_parse(o->shape, &k)) return cli_error(2, "--shape: %s", ds_last_error());
        first = last = (int)k;
    }
    printf("{\"n\": %ld, \"floor\": {", o->n);
    for (int k = first; k <= last; k++) {
        double q[2];
        if (ds_point_floor(k, (int)o->n, o->seed, q)) return cli_error(1, "%s", ds_last_error());
        printf("%s\"%s\": {\"chamfer\": %.6g, \"mmd2\": %.6g}", k > first ? ", " : "", ds_shape_name((ds_shape_kind)k), q[0], q[1]);
        fflush(stdout);
    }
    printf("}}\n");
    return 0;
}

static int sub_quality(points_opts *o) {
    if (!o->shape || !o->samples) return cli_error(2, "points quality: --shape NAME|FILE and --samples FILE are required");
    float *ref, *smp;
    int nr, ns, rc = points_load_set(o->shape, (int)o->n, o->seed + 7919, &ref, &nr);
    if (rc) return rc;
    if ((rc = points_load_set(o->samples, (int)o->n, o->seed, &smp, &ns))) { free(ref); return rc; }
    double q[2];
    if (ds_point_quality(smp, ns, ref, nr, q)) rc = cli_error(1, "%s", ds_last_error());
    else printf("{\"samples\": %d, \"reference\": %d, \"chamfer\": %.6g, \"mmd2\": %.6g}\n", ns, nr, q[0], q[1]);
    free(ref);
    free(smp);
    return rc;
}

int cmd_points(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "train")) return points_train_main(argc - 1, argv + 1);
    if (!strcmp(sub, "sample")) return points_sample_main(argc - 1, argv + 1);
    points_opts o = {NULL, NULL, NULL, NULL, 2000, 1000, 6, 1, DS_SCHEDULE_LINEAR};
    int rc = parse_opts(argc - 1, argv + 1, &o);
    if (rc) return rc < 0 ? 0 : rc;
    if (!strcmp(sub, "shape")) return sub_shape(&o);
    if (!strcmp(sub, "forward")) return sub_forward(&o);
    if (!strcmp(sub, "floor")) return sub_floor(&o);
    if (!strcmp(sub, "quality")) return sub_quality(&o);
    return cli_error(2, "points: unknown subcommand '%s'\n%s", sub, USAGE);
}
