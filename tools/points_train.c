/* points_train.c — `diffuscope points train` / `points sample`: the MLP on 2-D points.
 *
 *   diffuscope points train --points cow -o weights/points-cow.dsw [--steps N] [--png SAMPLES.png]
 *   diffuscope points sample --weights weights/points-cow.dsw [--sampler ddpm|ddim] [--png P] [--frames K]
 * Both report the quality of the samples against the shape (Chamfer and MMD^2, with the
 * real-vs-real floor beside them) as JSON on stdout. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "error.h"
#include "mlp_train.h"
#include "model.h"
#include "point_metrics.h"
#include "points_cli.h"
#include "points_plot.h"
#include "pngout.h"
#include "sampler.h"
#include "sampler_models.h"
#include "shapes.h"

#define QUALITY_N 1000 /* points compared: samples vs the shape, and the shape vs itself */
/* The quality threshold every shipped model meets (README, web/widgets/points.js). */
#define POINTS_CHAMFER_RATIO_MAX 1.3
#define POINTS_MMD2_MAX 0.002

static const char *TRAIN_USAGE =
    "usage: diffuscope points train --points SHAPE|FILE -o WEIGHTS.dsw [options]\n"
    "  SHAPE: cow, moons, spiral, rings, letter; FILE: 'x y' lines (diffuscope png2points makes them)\n"
    "  --steps N        training steps (default 12000)     --batch B     points per step (256)\n"
    "  --hidden H       MLP width (64)                     --layers L    hidden layers (3)\n"
    "  --lr LR          peak learning rate (1e-2)          --seed S      (1)\n"
    "  -n N             training points drawn from SHAPE (4000)\n"
    "  --png P          scatter of 1000 samples after training (DDPM, 1000 steps)\n"
    "  Prints the loss as it goes, then JSON: the samples' Chamfer / MMD^2 against the shape and\n"
    "  the real-vs-real floor. The weights are the EMA of the run, as a .dsw MLP file.\n";

static const char *SAMPLE_USAGE =
    "usage: diffuscope points sample --weights W.dsw [options]\n"
    "  --sampler ddpm|ddim|dpmpp2m (ddpm)   --steps S (ddpm 1000, else 50)   --eta E (DDIM, 0)\n"
    "  -n N points (1000)   --seed S (1)   --png SAMPLES.png   --frames K --frames-png STRIP.png\n"
    "  -o POINTS.txt   --shape (or --points) SHAPE|FILE  compare with this shape (Chamfer, MMD^2,\n"
    "  real-vs-real floor) as JSON\n";

/* Runs a sampler over `m` for n points and writes x_0 into out (n, 2); if frames > 0 also
 * copies x_t into frame_buf (frames, n, 2) at evenly spaced steps (the first is x_T, the last
 * the result). Returns 0 or 1 after printing an error. */
static int sample_model(ds_model *m, ds_sampler_kind kind, int steps, double eta, int n, uint64_t seed, float *out,
                        int frames, float *frame_buf) {
    static ds_schedule sch;
    if (ds_schedule_init(&sch, DS_SCHEDULE_LINEAR, 1000)) return cli_error(1, "%s", ds_last_error());
    ds_sampler_params p;
    ds_sampler_params_init(&p);
    p.kind = kind;
    p.steps = steps;
    p.eta = eta;
    p.seed = seed;
    p.batch = n;
    ds_sampler *s = ds_sampler_create(&sch, 2, ds_model_eps, m, &p, NULL);
    if (!s) return cli_error(1, "sampler: %s", ds_last_error());
    int next_frame = 0;
    for (int step = 0;; step++) {
        /* frame k is taken after step round(k * steps / (frames - 1)) */
        while (frames > 0 && next_frame < frames && step == (int)((long)next_frame * steps / (frames - 1))) {
            memcpy(frame_buf + 2L * n * next_frame, ds_sampler_x(s), sizeof(float) * 2 * (size_t)n);
            next_frame++;
        }
        if (ds_sampler_done(s)) break;
        if (ds_sampler_step(s)) {
            ds_sampler_free(s);
            return cli_error(1, "sampling: %s", ds_last_error());
        }
    }
    memcpy(out, ds_sampler_x(s), sizeof(float) * 2 * (size_t)n);
    ds_sampler_free(s);
    return 0;
}

/* JSON line: quality of the samples against QUALITY_N points of the set and, for a shipped
 * shape, the real-vs-real floor (two more independent draws) and the ratio. A point file has
 * only its own points, so it has no independent second draw: floor and ratio are null. */
static int print_quality(const char *set, const float *samples, int n, double seed) {
    ds_shape_kind kind;
    int is_shape = ds_shape_parse(set, &kind) == DS_OK;
    float *ref, *ref2 = NULL;
    int nr, nr2 = 0, rc = points_load_set(set, QUALITY_N, seed + 7919, &ref, &nr);
    if (rc) return rc;
    if (is_shape && (rc = points_load_set(set, QUALITY_N, seed + 7920, &ref2, &nr2))) { free(ref); return rc; }
    double q[2], f[2];
    if (ds_point_quality(samples, n, ref, nr, q) || (is_shape && ds_point_quality(ref2, nr2, ref, nr, f))) {
        rc = cli_error(1, "%s", ds_last_error());
    } else if (is_shape) {
        printf("{\"set\": \"%s\", \"samples\": %d, \"chamfer\": %.5f, \"mmd2\": %.6f, \"floor_chamfer\": %.5f, "
               "\"floor_mmd2\": %.6f, \"chamfer_ratio\": %.3f, \"meets_threshold\": %s}\n",
               set, n, q[0], q[1], f[0], f[1], q[0] / f[0],
               q[0] / f[0] <= POINTS_CHAMFER_RATIO_MAX && q[1] <= POINTS_MMD2_MAX ? "true" : "false");
    } else {
        printf("{\"set\": \"%s\", \"samples\": %d, \"reference\": %d, \"chamfer\": %.5f, \"mmd2\": %.6f, "
               "\"floor_chamfer\": null, \"floor_mmd2\": null, \"chamfer_ratio\": null}\n",
               set, n, nr, q[0], q[1]);
    }
    free(ref);
    free(ref2);
    return rc;
}

int points_train_main(int argc, char **argv) {
    static const struct option opts[] = {
        {"points", required_argument, 0, 'P'}, {"steps", required_argument, 0, 'S'}, {"batch", required_argument, 0, 'B'},
        {"hidden", required_argument, 0, 'H'}, {"layers", required_argument, 0, 'L'}, {"lr", required_argument, 0, 'r'},
        {"seed", required_argument, 0, 's'}, {"png", required_argument, 0, 'p'}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    ds_mlp_train_config c;
    ds_mlp_train_config_default(&c);
    const char *set = NULL, *out = NULL, *png = NULL;
    long steps = c.total_steps, batch = c.batch, hidden = c.model.hidden, layers = c.model.n_layers, n = 4000;
    double lr = c.optim.lr, seed = 1;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "hn:o:", opts, NULL)) != -1) {
        switch (ch) {
        case 'P': set = optarg; break;
        case 'S': if (cli_parse_long("--steps", optarg, 1, 10000000, &steps)) return 2; break;
        case 'B': if (cli_parse_long("--batch", optarg, 1, 4096, &batch)) return 2; break;
        case 'H': if (cli_parse_long("--hidden", optarg, 4, 1024, &hidden)) return 2; break;
        case 'L': if (cli_parse_long("--layers", optarg, 1, DS_MLP_MAX_LAYERS, &layers)) return 2; break;
        case 'r': if (cli_parse_double("--lr", optarg, &lr) || lr <= 0 || lr > 1) return cli_error(2, "--lr must be in (0, 1]"); break;
        case 's': if (cli_parse_double("--seed", optarg, &seed)) return 2; break;
        case 'n': if (cli_parse_long("-n", optarg, 2, DS_POINTS_MAX, &n)) return 2; break;
        case 'o': out = optarg; break;
        case 'p': png = optarg; break;
        case 'h': fputs(TRAIN_USAGE, stdout); return 0;
        default: fputs(TRAIN_USAGE, stderr); return 2;
        }
    }
    if (optind < argc) return cli_error(2, "points train: unexpected argument '%s'", argv[optind]);
    if (!set || !out) return cli_error(2, "points train: --points SHAPE|FILE and -o WEIGHTS.dsw are required\n%s", TRAIN_USAGE);
    uint64_t s64;
    if (ds_seed_from_double(seed, &s64)) return cli_error(2, "--seed: %s", ds_last_error());
    float *pts;
    int np, rc = points_load_set(set, (int)n, seed, &pts, &np);
    if (rc) return rc;
    c.model.hidden = (int)hidden;
    c.model.n_layers = (int)layers;
    c.batch = (int)batch;
    c.total_steps = steps;
    c.optim.lr = lr;
    c.optim.decay_steps = steps;
    if (c.optim.warmup_steps > steps / 4) c.optim.warmup_steps = steps / 4;
    c.seed = s64;
    ds_mlp_trainer tr;
    if (ds_mlp_trainer_init(&tr, &c, pts, np)) {
        free(pts);
        return cli_error(1, "%s", ds_last_error());
    }
    clock_t start = clock();
    const int chunk = 100;
    for (long done = 0; done < steps && !rc;) {
        int k = (int)(steps - done < chunk ? steps - done : chunk);
        double loss;
        if (ds_mlp_trainer_run(&tr, k, &loss)) { rc = cli_error(1, "training: %s", ds_last_error()); break; }
        done += k;
        if (done % 1000 == 0 || done == steps)
            fprintf(stderr, "step %ld/%ld  loss %.4f  lr %.2e  %.1f s\n", done, steps, loss, tr.opt.last_lr,
                    (double)(clock() - start) / CLOCKS_PER_SEC);
    }
    uint8_t *bytes = NULL;
    size_t size = 0;
    if (!rc && ds_mlp_trainer_save(&tr, 1, &bytes, &size)) rc = cli_error(1, "%s", ds_last_error());
    if (!rc && file_write_atomic(out, bytes, (long)size)) rc = 1;
    double train_s = (double)(clock() - start) / CLOCKS_PER_SEC;
    ds_mlp_trainer_free(&tr);
    free(pts);
    ds_model *m = rc ? NULL : ds_model_from_bytes(bytes, size);
    free(bytes);
    if (!rc && !m) rc = cli_error(1, "reloading the weights: %s", ds_last_error());
    if (!rc) {
        float *smp = malloc(sizeof(float) * 2 * QUALITY_N);
        if (!smp) rc = cli_error(1, "out of memory");
        else rc = sample_model(m, DS_SAMPLER_DDPM, 1000, 0, QUALITY_N, s64 + 17, smp, 0, NULL);
        fprintf(stderr, "trained %ld steps in %.1f s; wrote %s (%zu bytes)\n", steps, train_s, out, size);
        if (!rc) rc = print_quality(set, smp, QUALITY_N, seed);
        if (!rc && png && points_png(png, smp, QUALITY_N, 3.0, 512)) rc = 1;
        free(smp);
    }
    ds_model_free(m);
    return rc;
}

int points_sample_main(int argc, char **argv) {
    static const struct option opts[] = {
        {"weights", required_argument, 0, 'w'}, {"sampler", required_argument, 0, 'k'}, {"steps", required_argument, 0, 'S'},
        {"eta", required_argument, 0, 'e'}, {"seed", required_argument, 0, 's'}, {"png", required_argument, 0, 'p'},
        {"frames", required_argument, 0, 'F'}, {"frames-png", required_argument, 0, 'f'}, {"shape", required_argument, 0, 'q'},
        {"points", required_argument, 0, 'q'}, /* so `diffuscope sample --points ...` can hand its argv over */
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *weights = NULL, *png = NULL, *frames_png = NULL, *out = NULL, *shape = NULL;
    ds_sampler_kind kind = DS_SAMPLER_DDPM;
    long steps = 0, n = QUALITY_N, frames = 0;
    double eta = 0, seed = 1;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "hn:o:", opts, NULL)) != -1) {
        switch (ch) {
        case 'w': weights = optarg; break;
        case 'k': if (ds_sampler_kind_parse(optarg, &kind)) return cli_error(2, "--sampler: %s", ds_last_error()); break;
        case 'S': if (cli_parse_long("--steps", optarg, 1, 1000, &steps)) return 2; break;
        case 'e': if (cli_parse_double("--eta", optarg, &eta) || eta < 0 || eta > 1) return cli_error(2, "--eta must be in [0, 1]"); break;
        case 's': if (cli_parse_double("--seed", optarg, &seed)) return 2; break;
        case 'p': png = optarg; break;
        case 'F': if (cli_parse_long("--frames", optarg, 2, 32, &frames)) return 2; break;
        case 'f': frames_png = optarg; break;
        case 'q': shape = optarg; break;
        case 'n': if (cli_parse_long("-n", optarg, 2, DS_SAMPLER_MAX_BATCH, &n)) return 2; break;
        case 'o': out = optarg; break;
        case 'h': fputs(SAMPLE_USAGE, stdout); return 0;
        default: fputs(SAMPLE_USAGE, stderr); return 2;
        }
    }
    if (optind < argc) return cli_error(2, "points sample: unexpected argument '%s'", argv[optind]);
    if (!weights) return cli_error(2, "points sample: --weights FILE.dsw is required\n%s", SAMPLE_USAGE);
    if (!png && !out && !shape && !frames_png) return cli_error(2, "points sample: give at least one of --png, -o, --shape, --frames-png");
    if (!!frames != !!frames_png) return cli_error(2, "points sample: --frames K and --frames-png STRIP.png go together");
    if (!steps) steps = kind == DS_SAMPLER_DDPM ? 1000 : 50;
    uint64_t s64;
    if (ds_seed_from_double(seed, &s64)) return cli_error(2, "--seed: %s", ds_last_error());
    long size;
    char *bytes = points_read_file(weights, &size);
    if (!bytes) return 1;
    ds_model *m = ds_model_from_bytes((const uint8_t *)bytes, (size_t)size);
    free(bytes);
    if (!m) return cli_error(1, "%s: %s", weights, ds_last_error());
    if (ds_model_get_kind(m) != DS_MODEL_MLP) {
        ds_model_free(m);
        return cli_error(1, "%s is a %s model; points sample needs an MLP (diffuscope points train makes one)", weights,
                         ds_model_kind_name(ds_model_get_kind(m)));
    }
    float *smp = malloc(sizeof(float) * 2 * (size_t)n * (1 + (size_t)frames));
    if (!smp) { ds_model_free(m); return cli_error(1, "out of memory"); }
    float *frame_buf = smp + 2 * n;
    int rc = sample_model(m, kind, (int)steps, eta, (int)n, s64, smp, (int)frames, frame_buf);
    if (!rc && out) rc = points_write_text(out, smp, (int)n);
    if (!rc && png && points_png(png, smp, (int)n, 3.0, 512)) rc = 1;
    if (!rc && frames) {
        const float *panels[32];
        int counts[32];
        for (int k = 0; k < frames; k++) { panels[k] = frame_buf + 2 * n * k; counts[k] = (int)n; }
        if (points_png_strip(frames_png, panels, counts, (int)frames, 3.5, 256)) rc = 1;
    }
    if (!rc && shape) rc = print_quality(shape, smp, (int)n, seed);
    free(smp);
    ds_model_free(m);
    return rc;
}
