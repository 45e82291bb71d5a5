/* cmd_points.c — `diffuscope points`: the point-cloud diffusion of the cow story.
 *
 *   diffuscope points shape   --shape cow [-n N] [--seed S] [--png P] [-o FILE.txt]
 *   diffuscope points forward --shape cow [--schedule linear|cosine] [--steps T] [--frames K] --png P
 *   diffuscope points floor   [--shape S] [-n N]         real-vs-real Chamfer / MMD^2 of the shapes
 *   diffuscope points quality --shape S --samples FILE   samples against the shape
 *   diffuscope points train ... / points sample ...      the point MLP: train it, sample it
 * `diffuscope sample --points ...` arrives here too (tools/diffuscope.c routes it).
 * Not here: reading and writing point files (points_io.h), plots (points_plot.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "error.h"
#include "mlp_train.h"
#include "model.h"
#include "point_metrics.h"
#include "points_forward.h"
#include "points_io.h"
#include "points_plot.h"
#include "sampler.h"
#include "sampler_models.h"
#include "schedule.h"
#include "score.h"
#include "shapes.h"
#include "util.h"

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

/* options shared by the small subcommands */
typedef struct {
    const char *shape, *png, *out, *samples;
    long n, steps, frames;
    double seed;
    ds_schedule_kind schedule;
} points_opts;

static const struct option SMALL_OPTIONS[] = {
    {"shape", required_argument, 0, 'S'}, {"seed", required_argument, 0, 's'}, {"png", required_argument, 0, 'p'},
    {"schedule", required_argument, 0, 'k'}, {"steps", required_argument, 0, 'T'}, {"frames", required_argument, 0, 'F'},
    {"samples", required_argument, 0, 'q'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};

static int small_flag(void *opts, int c, const char *arg) {
    points_opts *o = opts;
    switch (c) {
    case 'S': o->shape = arg; break;
    case 's': if (cli_parse_seed("--seed", arg, &o->seed)) return 2; break;
    case 'p': o->png = arg; break;
    case 'o': o->out = arg; break;
    case 'q': o->samples = arg; break;
    case 'k': if (ds_schedule_kind_parse(arg, &o->schedule)) return cli_error(2, "--schedule: %s", ds_last_error()); break;
    case 'T': if (cli_parse_long("--steps", arg, 1, DS_MAX_T, &o->steps)) return 2; break;
    case 'F': if (cli_parse_long("--frames", arg, 2, 32, &o->frames)) return 2; break;
    case 'n': if (cli_parse_long("-n", arg, 2, 1 << 16, &o->n)) return 2; break;
    default: fputs(USAGE, stderr); return 2;
    }
    return 0;
}

static int parse_opts(int argc, char **argv, points_opts *o) {
    char name[64];
    snprintf(name, sizeof name, "points %s", argv[0]);
    return cli_parse_options(argc, argv, name, "hn:o:", SMALL_OPTIONS, USAGE, small_flag, o);
}

/* the small subcommands' files, checked before any work (cli.h) */
static int check_small_files(const points_opts *o) {
    const cli_file files[] = {{"--shape", o->shape, CLI_IN}, {"--samples", o->samples, CLI_IN}, {"-o", o->out, CLI_OUT},
                              {"--png", o->png, CLI_OUT}};
    return cli_check_files(files, 4);
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

/* ---- points train / points sample: the MLP on 2-D points ---- */

#define QUALITY_N 1000 /* points compared: samples vs the shape, and the shape vs itself */
/* The quality threshold every shipped model meets (README, web/widgets/points.js). */
#define POINTS_CHAMFER_RATIO_MAX 1.3
#define POINTS_MMD2_MAX 0.002
#define FLOW_JUDGE_STEPS 20 /* a flow model is judged at 20 Euler steps (the bar of issue 16) */

static const char *TRAIN_USAGE =
    "usage: diffuscope points train --points SHAPE|FILE -o WEIGHTS.dsw [options]\n"
    "  SHAPE: cow, moons, spiral, rings, letter; FILE: 'x y' lines (diffuscope png2points makes them)\n"
    "  --steps N        training steps (default 12000)     --batch B     points per step (256)\n"
    "  --hidden H       MLP width (64)                     --layers L    hidden layers (3)\n"
    "  --lr LR          peak learning rate (1e-2)          --seed S      (1)\n"
    "  -n N             training points drawn from SHAPE (4000)\n"
    "  --objective diffusion|flow   what the MLP learns: the noise eps (DDPM, default) or the\n"
    "                   flow-matching velocity eps - x0 on x_t = (1 - t) x0 + t eps (sample it with\n"
    "                   points sample --sampler flow-euler|flow-heun)\n"
    "  --png P          scatter of 1000 samples after training (diffusion: DDPM 1000 steps; flow: Euler 20)\n"
    "  Prints the loss as it goes, then JSON: the samples' Chamfer / MMD^2 against the shape and\n"
    "  the real-vs-real floor. The weights are the EMA of the run, as a .dsw MLP file.\n";

static const char *SAMPLE_USAGE =
    "usage: diffuscope points sample --weights W.dsw [options]\n"
    "  --sampler NAME   an ε-model (prediction eps): ddpm (default), ddim, dpmpp2m, sde (reverse SDE,\n"
    "                   Euler-Maruyama), ode-heun (probability-flow ODE, Heun), langevin (annealed);\n"
    "                   a flow-matching model (prediction flow): flow-euler (default), flow-heun\n"
    "  --steps S        (ddpm 1000, langevin 100 noise levels, else 50)   --eta E (DDIM, 0)\n"
    "  --step-size D    langevin: step / noise variance of the level (0.3)   --per-level K (10)\n"
    "  -n N points (1000)   --seed S (1)   --png SAMPLES.png   --frames K --frames-png STRIP.png\n"
    "  --paths-png P    the paths of 48 of the points over the samples (sde, ode-heun, langevin, flow-*)\n"
    "  --mesh G --mesh-png STRIP.png   a GxG grid over [-2.5, 2.5]^2 pushed through the sampler,\n"
    "                   --frames K panels (default 6) (sde, ode-heun, flow-*)\n"
    "  --raw FILE       every frame (F, N, 2) as little-endian float32 (numpy: fromfile('<f4'))\n"
    "                   (sde, ode-heun, langevin, flow-*: starts are points noise N(0, I) of --seed)\n"
    "  -o POINTS.txt   --shape (or --points) SHAPE|FILE  compare with this shape (Chamfer, MMD^2,\n"
    "  real-vs-real floor) as JSON\n";

/* What `points sample` runs: one of sampler.h's kinds or one of score.h's path kinds. */
typedef struct {
    int is_path;
    ds_sampler_kind kind;
    ds_path_kind path;
    int steps, per_level;
    double eta, step_size;
} sampler_choice;

static int parse_sampler(const char *arg, sampler_choice *c) {
    if (ds_sampler_kind_parse(arg, &c->kind) == DS_OK) { c->is_path = 0; return 0; }
    if (ds_path_kind_parse(arg, &c->path) == DS_OK) { c->is_path = 1; return 0; }
    return cli_error(2, "--sampler: unknown sampler '%s' (expected ddpm, ddim, dpmpp2m, sde, ode-heun, langevin, flow-euler "
                     "or flow-heun)", arg);
}

/* Runs a path sampler over m from start (n, 2) (NULL: ds_points_noise(n, seed)); every frame
 * (steps + 1, n, 2) into frames. Returns 0 or 1 after printing an error. */
static int sample_paths(ds_model *m, const sampler_choice *c, int n, uint64_t seed, const float *start, float *frames) {
    static ds_schedule sch;
    ds_field f;
    ds_path_params p;
    ds_path_params_init(&p);
    p.kind = c->path;
    p.steps = c->steps;
    p.step_size = c->step_size;
    p.per_level = c->per_level;
    p.seed = seed;
    if (ds_field_of_model(m, &sch, &f)) return cli_error(1, "%s", ds_last_error());
    if (!start && ds_points_noise(n, (double)seed, frames)) return cli_error(1, "%s", ds_last_error());
    if (ds_paths(&f, &p, start ? start : frames, n, frames, NULL) < 0) return cli_error(1, "sampling: %s", ds_last_error());
    return 0;
}

/* Runs a sampler over `m` for n points and writes x_0 into out (n, 2); if frames > 0 also
 * copies x_t into frame_buf (frames, n, 2) at evenly spaced steps (the first is x_T, the last
 * the result). Returns 0 or 1 after printing an error. */
static int sample_model(ds_model *m, ds_sampler_kind kind, int steps, double eta, int n, uint64_t seed, float *out,
                        int frames, float *frame_buf) {
    static ds_schedule sch; /* the one the weights file records */
    if (ds_schedule_init(&sch, ds_model_schedule_kind(m), ds_model_schedule_T(m))) return cli_error(1, "%s", ds_last_error());
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

/* ---- points train: parse -> train -> save -> judge ---- */

typedef struct {
    const char *set, *out, *png;
    long steps, batch, hidden, layers, n;
    double lr, seed;
    ds_mlp_objective objective;
} train_opts;

static const struct option TRAIN_OPTIONS[] = {
    {"points", required_argument, 0, 'P'}, {"steps", required_argument, 0, 'S'}, {"batch", required_argument, 0, 'B'},
    {"hidden", required_argument, 0, 'H'}, {"layers", required_argument, 0, 'L'}, {"lr", required_argument, 0, 'r'},
    {"seed", required_argument, 0, 's'}, {"png", required_argument, 0, 'p'}, {"objective", required_argument, 0, 'O'},
    {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};

static int train_flag(void *opts, int c, const char *arg) {
    train_opts *o = opts;
    switch (c) {
    case 'P': o->set = arg; break;
    case 'S': if (cli_parse_long("--steps", arg, 1, 10000000, &o->steps)) return 2; break;
    case 'B': if (cli_parse_long("--batch", arg, 1, 4096, &o->batch)) return 2; break;
    case 'H': if (cli_parse_long("--hidden", arg, 4, 1024, &o->hidden)) return 2; break;
    case 'L': if (cli_parse_long("--layers", arg, 1, DS_MLP_MAX_LAYERS, &o->layers)) return 2; break;
    case 'r':
        if (cli_parse_double("--lr", arg, &o->lr)) return 2;
        if (!(o->lr >= 1e-6 && o->lr <= 1)) return cli_error(2, "--lr must be in [1e-06, 1], got %s", arg);
        break;
    case 's': if (cli_parse_seed("--seed", arg, &o->seed)) return 2; break;
    case 'n': if (cli_parse_long("-n", arg, 2, DS_POINTS_MAX, &o->n)) return 2; break;
    case 'o': o->out = arg; break;
    case 'p': o->png = arg; break;
    case 'O': if (ds_mlp_objective_parse(arg, &o->objective)) return cli_error(2, "--objective: %s", ds_last_error()); break;
    default: fputs(TRAIN_USAGE, stderr); return 2;
    }
    return 0;
}

/* the run's trainer config: the page's defaults but for the flags */
static void train_config(const train_opts *o, uint64_t seed, ds_mlp_train_config *c) {
    ds_mlp_train_config_default(c);
    c->model.hidden = (int)o->hidden;
    c->model.n_layers = (int)o->layers;
    c->batch = (int)o->batch;
    c->total_steps = o->steps;
    c->optim.lr = o->lr;
    c->optim.decay_steps = o->steps;
    if (c->optim.warmup_steps > o->steps / 4) c->optim.warmup_steps = o->steps / 4;
    c->seed = seed;
    c->objective = o->objective;
}

/* trains on pts (np, 2) and writes the EMA weights; *bytes (malloc'ed) holds them for the judging */
static int train_and_save(const train_opts *o, uint64_t seed, const float *pts, int np, uint8_t **bytes, size_t *size) {
    ds_mlp_train_config c;
    train_config(o, seed, &c);
    ds_mlp_trainer tr;
    if (ds_mlp_trainer_init(&tr, &c, pts, np)) return cli_error(1, "%s", ds_last_error());
    double start = util_now_s();
    const int chunk = 100;
    int rc = 0;
    for (long done = 0; done < o->steps && !rc;) {
        int k = (int)(o->steps - done < chunk ? o->steps - done : chunk);
        double loss;
        if (ds_mlp_trainer_run(&tr, k, &loss)) { rc = cli_error(1, "training: %s", ds_last_error()); break; }
        done += k;
        if (done % 1000 == 0 || done == o->steps)
            fprintf(stderr, "step %ld/%ld  loss %.4f  lr %.2e  %.1f s\n", done, o->steps, loss, tr.opt.last_lr, util_now_s() - start);
    }
    if (!rc && ds_mlp_trainer_save(&tr, 1, bytes, size)) rc = cli_error(1, "%s", ds_last_error());
    if (!rc && util_write_atomic(o->out, *bytes, (long)*size)) rc = cli_error(1, "%s", ds_last_error());
    if (!rc) fprintf(stderr, "trained %ld steps in %.1f s; wrote %s (%zu bytes)\n", o->steps, util_now_s() - start, o->out, *size);
    ds_mlp_trainer_free(&tr);
    return rc;
}

/* 1000 DDPM samples of the saved weights against the shape (JSON), and their scatter plot */
static int judge_weights(const train_opts *o, uint64_t seed, const uint8_t *bytes, size_t size) {
    ds_model *m = ds_model_from_bytes(bytes, size);
    if (!m) return cli_error(1, "reloading the weights: %s", ds_last_error());
    const int flow = o->objective == DS_MLP_OBJECTIVE_FLOW, F = flow ? FLOW_JUDGE_STEPS + 1 : 1;
    float *frames = malloc(sizeof(float) * 2 * QUALITY_N * F), *smp = frames + 2L * QUALITY_N * (F - 1);
    const sampler_choice euler = {.is_path = 1, .path = DS_PATH_FLOW_EULER, .steps = FLOW_JUDGE_STEPS};
    int rc = !frames ? cli_error(1, "out of memory")
             : flow  ? sample_paths(m, &euler, QUALITY_N, seed + 17, NULL, frames)
                     : sample_model(m, DS_SAMPLER_DDPM, 1000, 0, QUALITY_N, seed + 17, smp, 0, NULL);
    if (!rc) rc = print_quality(o->set, smp, QUALITY_N, o->seed);
    if (!rc && o->png && points_png(o->png, smp, QUALITY_N, 3.0, 512)) rc = 1;
    free(frames);
    ds_model_free(m);
    return rc;
}

static int points_train(int argc, char **argv) {
    ds_mlp_train_config d;
    ds_mlp_train_config_default(&d);
    train_opts o = {.steps = d.total_steps, .batch = d.batch, .hidden = d.model.hidden, .layers = d.model.n_layers,
                    .n = 4000, .lr = d.optim.lr, .seed = 1};
    int rc = cli_parse_options(argc, argv, "points train", "hn:o:", TRAIN_OPTIONS, TRAIN_USAGE, train_flag, &o);
    if (rc) return rc < 0 ? 0 : rc;
    if (!o.set || !o.out) return cli_error(2, "points train: --points SHAPE|FILE and -o WEIGHTS.dsw are required\n%s", TRAIN_USAGE);
    const cli_file files[] = {{"--points", o.set, CLI_IN}, {"-o", o.out, CLI_OUT}, {"--png", o.png, CLI_OUT}};
    if ((rc = cli_check_files(files, 3))) return rc;
    uint64_t s64;
    if (ds_seed_from_double(o.seed, &s64)) return cli_error(2, "--seed: %s", ds_last_error());
    float *pts;
    int np;
    if ((rc = points_load_set(o.set, (int)o.n, o.seed, &pts, &np))) return rc;
    uint8_t *bytes = NULL;
    size_t size = 0;
    rc = train_and_save(&o, s64, pts, np, &bytes, &size);
    free(pts);
    if (!rc) rc = judge_weights(&o, s64, bytes, size);
    free(bytes);
    return rc;
}

/* ---- points sample: parse -> load -> sample -> write ---- */

#define MESH_EXTENT 2.5 /* the mesh grid covers [-2.5, 2.5]^2 of the noise */
#define PATHS_DRAWN 48

typedef struct {
    const char *weights, *png, *frames_png, *out, *shape, *paths_png, *mesh_png, *raw;
    sampler_choice c;
    int sampler_given, eta_given;
    long n, frames, mesh;
    double seed;
} sample_opts;

static const struct option SAMPLE_OPTIONS[] = {
    {"weights", required_argument, 0, 'w'}, {"sampler", required_argument, 0, 'k'}, {"steps", required_argument, 0, 'S'},
    {"eta", required_argument, 0, 'e'}, {"seed", required_argument, 0, 's'}, {"png", required_argument, 0, 'p'},
    {"frames", required_argument, 0, 'F'}, {"frames-png", required_argument, 0, 'f'}, {"shape", required_argument, 0, 'q'},
    {"points", required_argument, 0, 'q'}, /* so `diffuscope sample --points ...` lands here */
    {"step-size", required_argument, 0, 'D'}, {"per-level", required_argument, 0, 'L'},
    {"paths-png", required_argument, 0, 'P'}, {"mesh", required_argument, 0, 'G'}, {"mesh-png", required_argument, 0, 'M'},
    {"raw", required_argument, 0, 'R'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};

static int sample_flag(void *opts, int c, const char *arg) {
    sample_opts *o = opts;
    long v;
    switch (c) {
    case 'w': o->weights = arg; break;
    case 'k': if (parse_sampler(arg, &o->c)) return 2; o->sampler_given = 1; break;
    case 'S': if (cli_parse_long("--steps", arg, 1, 1000, &v)) return 2; o->c.steps = (int)v; break;
    case 'e': if (cli_parse_double_in("--eta", arg, 0, 1, &o->c.eta)) return 2; o->eta_given = 1; break;
    case 'D': if (cli_parse_double_in("--step-size", arg, 1e-9, 10, &o->c.step_size)) return 2; break;
    case 'L': if (cli_parse_long("--per-level", arg, 1, 10000, &v)) return 2; o->c.per_level = (int)v; break;
    case 's': if (cli_parse_seed("--seed", arg, &o->seed)) return 2; break;
    case 'p': o->png = arg; break;
    case 'F': if (cli_parse_long("--frames", arg, 2, 32, &o->frames)) return 2; break;
    case 'f': o->frames_png = arg; break;
    case 'q': o->shape = arg; break;
    case 'n': if (cli_parse_long("-n", arg, 2, DS_SAMPLER_MAX_BATCH, &o->n)) return 2; break;
    case 'o': o->out = arg; break;
    case 'P': o->paths_png = arg; break;
    case 'G': if (cli_parse_long("--mesh", arg, 2, 64, &o->mesh)) return 2; break;
    case 'M': o->mesh_png = arg; break;
    case 'R': o->raw = arg; break;
    default: fputs(SAMPLE_USAGE, stderr); return 2;
    }
    return 0;
}

/* K panels picked from F frames (F - 1 steps): panel k is the frame after step k (F-1) / (K-1) */
static void pick_panels(const float *frames, int F, long per_frame, int K, const float **panels) {
    for (int k = 0; k < K; k++) panels[k] = frames + per_frame * ((long)k * (F - 1) / (K - 1));
}

/* the grid pushed through the path sampler, as a strip of K panels */
static int write_mesh(const sample_opts *o, ds_model *m, uint64_t seed) {
    const int G = (int)o->mesh, K = o->frames ? (int)o->frames : 6, F = o->c.steps + 1;
    float *frames = malloc(sizeof(float) * 2 * (size_t)G * G * (F + 1));
    if (!frames) return cli_error(1, "out of memory");
    float *grid = frames + 2L * G * G * F;
    int rc = ds_grid_points(-MESH_EXTENT, MESH_EXTENT, G, grid) ? cli_error(1, "%s", ds_last_error()) : 0;
    if (!rc) rc = sample_paths(m, &o->c, G * G, seed, grid, frames);
    const float *panels[32];
    if (!rc) {
        pick_panels(frames, F, 2L * G * G, K, panels);
        if (points_png_mesh_strip(o->mesh_png, panels, G, K, 3.5, 256)) rc = 1;
    }
    free(frames);
    return rc;
}

/* the samples (n, 2) and every frame (F, n, 2) before them (frames: F of them) to every output */
static int write_samples(const sample_opts *o, const float *smp, const float *frames, int F) {
    const int n = (int)o->n;
    if (o->out && points_write_text(o->out, smp, n)) return 1;
    if (o->png && points_png(o->png, smp, n, 3.0, 512)) return 1;
    if (o->frames_png) {
        const float *panels[32];
        int counts[32];
        for (int k = 0; k < o->frames; k++) counts[k] = n;
        pick_panels(frames, F, 2L * n, (int)o->frames, panels);
        if (points_png_strip(o->frames_png, panels, counts, (int)o->frames, 3.5, 256)) return 1;
    }
    if (o->paths_png && points_png_paths(o->paths_png, frames, F, n, PATHS_DRAWN, 3.5, 512)) return 1;
    if (o->raw && util_write_atomic(o->raw, frames, (long)sizeof(float) * 2 * n * F)) return cli_error(1, "%s", ds_last_error());
    return o->shape ? print_quality(o->shape, smp, n, o->seed) : 0;
}

/* the flags that only some samplers have, and the defaults that depend on the sampler */
static int check_sample_opts(sample_opts *o, const ds_model *m) {
    const int flow = ds_model_prediction(m) == DS_PREDICT_FLOW;
    if (!o->sampler_given && flow) o->c.is_path = 1, o->c.path = DS_PATH_FLOW_EULER;
    const int path = o->c.is_path, langevin = path && o->c.path == DS_PATH_LANGEVIN;
    if (!o->c.steps) o->c.steps = !path && o->c.kind == DS_SAMPLER_DDPM ? 1000 : langevin ? 100 : 50;
    /* 100 levels x 10 on the shipped models: Chamfer ratio 1.09-1.34 at 0.3 (0.1: moons 1.44; 0.5:
     * better on four shapes, but the cow's learned score at t = 1 throws a point off to 1e14) */
    if (!o->c.step_size) o->c.step_size = 0.3;
    if (!o->c.per_level) o->c.per_level = 10;
    if ((o->paths_png || o->raw) && !path)
        return cli_error(2, "points sample: --paths-png and --raw need a path sampler (sde, ode-heun, langevin, flow-euler, "
                         "flow-heun), not %s", ds_sampler_kind_name(o->c.kind));
    if (o->mesh_png && (!path || langevin))
        return cli_error(2, "points sample: --mesh needs sde, ode-heun, flow-euler or flow-heun (it pushes a grid from the "
                         "noise through the sampler)");
    if (path && ds_path_kind_is_flow(o->c.path) != flow)
        return cli_error(1, "%s predicts %s: --sampler %s needs %s", o->weights, flow ? "the flow velocity" : "the noise (eps)",
                         ds_path_kind_name(o->c.path), flow ? "an eps-model (sample this one with flow-euler or flow-heun)"
                                                            : "a flow-matching model (points train --objective flow)");
    if (!path && flow)
        return cli_error(1, "%s predicts the flow velocity: --sampler %s needs an eps-model (sample this one with flow-euler or "
                         "flow-heun)", o->weights, ds_sampler_kind_name(o->c.kind));
    return 0;
}

static int parse_sample(int argc, char **argv, sample_opts *o) {
    int rc = cli_parse_options(argc, argv, "points sample", "hn:o:", SAMPLE_OPTIONS, SAMPLE_USAGE, sample_flag, o);
    if (rc) return rc;
    if (!o->weights) return cli_error(2, "points sample: --weights FILE.dsw is required\n%s", SAMPLE_USAGE);
    if (!o->png && !o->out && !o->shape && !o->frames_png && !o->paths_png && !o->mesh_png && !o->raw)
        return cli_error(2, "points sample: give at least one of --png, -o, --shape, --frames-png, --paths-png, --mesh-png, --raw");
    if (o->frames_png && !o->frames) return cli_error(2, "points sample: --frames K and --frames-png STRIP.png go together");
    if (o->frames && !o->frames_png && !o->mesh_png) return cli_error(2, "points sample: --frames K needs --frames-png or --mesh-png");
    if (!!o->mesh != !!o->mesh_png) return cli_error(2, "points sample: --mesh G and --mesh-png STRIP.png go together");
    return 0;
}

static int points_sample(int argc, char **argv) {
    sample_opts o = {.c = {.kind = DS_SAMPLER_DDPM}, .n = QUALITY_N, .seed = 1};
    int rc = parse_sample(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    if (o.eta_given && (o.c.is_path || cli_check_eta_sampler(o.c.kind)))
        return o.c.is_path ? cli_error(2, "--eta is DDIM's; the %s sampler has none", ds_path_kind_name(o.c.path)) : 2;
    const cli_file files[] = {{"--weights", o.weights, CLI_IN},     {"--shape", o.shape, CLI_IN},
                              {"-o", o.out, CLI_OUT},               {"--png", o.png, CLI_OUT},
                              {"--frames-png", o.frames_png, CLI_OUT}, {"--paths-png", o.paths_png, CLI_OUT},
                              {"--mesh-png", o.mesh_png, CLI_OUT},  {"--raw", o.raw, CLI_OUT}};
    if ((rc = cli_check_files(files, (int)(sizeof files / sizeof files[0])))) return rc;
    uint64_t s64;
    if (ds_seed_from_double(o.seed, &s64)) return cli_error(2, "--seed: %s", ds_last_error());
    ds_model *m = cli_load_model(o.weights);
    if (!m) return cli_error(1, "%s", ds_last_error());
    if (ds_model_get_kind(m) != DS_MODEL_MLP) {
        rc = cli_error(1, "%s is a %s model; points sample needs an MLP (diffuscope points train makes one)", o.weights,
                       ds_model_kind_name(ds_model_get_kind(m)));
        ds_model_free(m);
        return rc;
    }
    if ((rc = check_sample_opts(&o, m))) {
        ds_model_free(m);
        return rc;
    }
    /* path samplers keep every frame; the others the --frames panels, then the result */
    const int F = o.c.is_path ? o.c.steps + 1 : (int)o.frames + 1;
    float *frames = malloc(sizeof(float) * 2 * (size_t)o.n * F), *smp = frames + 2L * o.n * (F - 1);
    if (!frames) rc = cli_error(1, "out of memory");
    else if (o.c.is_path) rc = sample_paths(m, &o.c, (int)o.n, s64, NULL, frames);
    else rc = sample_model(m, o.c.kind, o.c.steps, o.c.eta, (int)o.n, s64, smp, (int)o.frames, frames);
    if (!rc) rc = write_samples(&o, smp, frames, o.c.is_path ? F : (int)o.frames);
    if (!rc && o.mesh_png) rc = write_mesh(&o, m, s64);
    free(frames);
    ds_model_free(m);
    return rc;
}

int cmd_points(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "train")) return points_train(argc - 1, argv + 1);
    if (!strcmp(sub, "sample")) return points_sample(argc - 1, argv + 1);
    points_opts o = {NULL, NULL, NULL, NULL, 2000, 1000, 6, 1, DS_SCHEDULE_LINEAR};
    int rc = parse_opts(argc - 1, argv + 1, &o);
    if (rc) return rc < 0 ? 0 : rc;
    if ((rc = check_small_files(&o))) return rc;
    if (!strcmp(sub, "shape")) return sub_shape(&o);
    if (!strcmp(sub, "forward")) return sub_forward(&o);
    if (!strcmp(sub, "floor")) return sub_floor(&o);
    if (!strcmp(sub, "quality")) return sub_quality(&o);
    return cli_error(2, "points: unknown subcommand '%s'\n%s", sub, USAGE);
}
