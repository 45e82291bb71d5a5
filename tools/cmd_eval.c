/* cmd_eval.c — `diffuscope eval`: how good is a Fashion UNet, measured by the project itself.
 *
 * A small Fashion-MNIST classifier (3 convs + 2 linears, trained once with the same kernels,
 * backward passes and Adam as the denoiser, then cached) judges N generated samples per class:
 *   accuracy  the fraction the classifier assigns to the class the sample was asked for
 *   FD        Fréchet distance between Gaussians fitted to the classifier's 128-d penultimate
 *             features of the 10 N samples and of the 10000 real test images
 *   floor     the same FD for 10 N real training images (class-balanced) vs the test set:
 *             what a perfect generator would score at this N
 * Prints one JSON object. Sampling: src/sampler.h (default DDIM, 20 steps, guidance 2),
 * images split over --threads (each with its own model copy; results do not depend on it).
 * cmd_eval reads parse -> set up (weights, data, classifier, the floor) -> sample -> report.
 * Not here: the denoiser's training (cmd_train.c), PNG grids (cmd_sample.c). */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint.h"
#include "chunked_sampler.h"
#include "classifier.h"
#include "cli.h"
#include "error.h"
#include "input_kinds.h"
#include "fashion.h"
#include "frechet.h"
#include "kernels.h"
#include "kernels_grad.h"
#include "model.h"
#include "optim.h"
#include "sampler_models.h"
#include "pngout.h"
#include "rng.h"
#include "sampler.h"
#include "schedule.h"
#include "util.h"
#include "weights.h"

static const char *USAGE =
    "usage: diffuscope eval --weights W.dsw [options]\n"
    "  -n N                  samples per class (default 100)\n"
    "  --sampler ddim|ddpm|dpmpp2m --steps S --guidance G --eta E --clip X   (default ddim, 20, 2, 0, 1)\n"
    "  --guidance-interval LO:HI  guide only at timesteps LO..HI (default: every step)\n"
    "  --spacing P           steps at t = 1 + (T-1) u^P: 1 even, 2 quadratic, 1..4; 0 (default): the\n"
    "                        sampler's own (even in t; dpmpp2m: uniform in λ)\n"
    "  --schedule linear|cosine  default: the one the weights file records (a contradicting one is refused)\n"
    "  --seed K              sampling seed (default 0)\n"
    "  --threads K           sampling threads (default 2)\n"
    "  --classifier FILE     cached classifier (default out/fashion-classifier.bin; trained if missing)\n"
    "  --classifier-epochs E epochs when training it (default 5)\n"
    "  --data DIR            Fashion-MNIST folder\n"
    "  --png FILE            also write the samples as a grid: one row per class, up to 10 per row\n"
    "Prints JSON: accuracy per class and overall, FD vs the test set, and the real-vs-real floor.\n";

/* ---- parse ---- */

typedef struct {
    const char *wpath, *clf_path, *data, *png;
    long n_per, steps, seed, threads, clf_epochs;
    double guidance, eta, clip, spacing;
    int guide_lo, guide_hi; /* --guidance-interval */
    ds_sampler_kind kind;
    ds_schedule_kind sk;
    int sk_given;        /* --schedule was given: it must match the file's */
    int eta_given;
} eval_opts;

enum { O_W = 256, O_SAMPLER, O_STEPS, O_GUID, O_ETA, O_CLIP, O_SCHED, O_SEED, O_THREADS, O_CLF, O_CLF_EP, O_DATA, O_PNG, O_GINT, O_SPACING };
static const struct option OPTIONS[] = {
    {"weights", required_argument, 0, O_W},   {"sampler", required_argument, 0, O_SAMPLER},
    {"steps", required_argument, 0, O_STEPS}, {"guidance", required_argument, 0, O_GUID},
    {"eta", required_argument, 0, O_ETA},     {"clip", required_argument, 0, O_CLIP},
    {"schedule", required_argument, 0, O_SCHED}, {"seed", required_argument, 0, O_SEED},
    {"threads", required_argument, 0, O_THREADS}, {"classifier", required_argument, 0, O_CLF},
    {"classifier-epochs", required_argument, 0, O_CLF_EP}, {"data", required_argument, 0, O_DATA},
    {"png", required_argument, 0, O_PNG}, {"guidance-interval", required_argument, 0, O_GINT},
    {"spacing", required_argument, 0, O_SPACING}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};

/* one flag; 0, or the exit status after printing an error */
static int parse_flag(void *opts, int c, const char *arg) {
    eval_opts *o = opts;
    switch (c) {
    case O_W: o->wpath = arg; break;
    case 'n': if (cli_parse_long("-n", arg, 2, 5000, &o->n_per)) return 2; break;
    case O_SAMPLER: if (ds_sampler_kind_parse(arg, &o->kind)) return cli_error(2, "--sampler: %s", ds_last_error()); break;
    case O_STEPS: if (cli_parse_long("--steps", arg, 1, DS_MAX_T, &o->steps)) return 2; break;
    case O_GUID: if (cli_parse_double_in("--guidance", arg, -100, 100, &o->guidance)) return 2; break;
    case O_ETA: if (cli_parse_double_in("--eta", arg, 0, 1, &o->eta)) return 2; o->eta_given = 1; break;
    case O_CLIP: if (cli_parse_double_in("--clip", arg, 0, 1e6, &o->clip)) return 2; break;
    case O_SCHED:
        if (ds_schedule_kind_parse(arg, &o->sk)) return cli_error(2, "--schedule: %s", ds_last_error());
        o->sk_given = 1;
        break;
    case O_SEED: if (cli_parse_long("--seed", arg, 0, 2147483647L, &o->seed)) return 2; break;
    case O_THREADS: if (cli_parse_long("--threads", arg, 1, 64, &o->threads)) return 2; break;
    case O_CLF: o->clf_path = arg; break;
    case O_CLF_EP: if (cli_parse_long("--classifier-epochs", arg, 1, 100, &o->clf_epochs)) return 2; break;
    case O_DATA: o->data = arg; break;
    case O_PNG: o->png = arg; break;
    case O_GINT: if (cli_parse_interval("--guidance-interval", arg, &o->guide_lo, &o->guide_hi)) return 2; break;
    case O_SPACING: if (cli_parse_spacing(arg, &o->spacing)) return 2; break;
    default: fputs(USAGE, stderr); return 2;
    }
    return 0;
}

/* 0 to run, -1 after --help, else the exit status after printing an error */
static int parse_args(int argc, char **argv, eval_opts *o) {
    *o = (eval_opts){.clf_path = "out/fashion-classifier.bin", .n_per = 100, .steps = 20, .threads = 2, .clf_epochs = 5,
                     .guidance = 2.0, .guide_hi = DS_GUIDANCE_T_ALL, .clip = 1.0, .kind = DS_SAMPLER_DDIM, .sk = DS_SCHEDULE_LINEAR};
    int rc = cli_parse_options(argc, argv, "eval", "hn:", OPTIONS, USAGE, parse_flag, o);
    if (rc) return rc;
    if (!o->wpath) return cli_error(2, "eval: --weights W.dsw is required\n%s", USAGE);
    /* as `diffuscope sample` does: refuse before minutes of loading and classifier training */
    if (o->eta_given && cli_check_eta_sampler(o->kind)) return 2;
    const cli_file files[] = {{"--weights", o->wpath, CLI_IN}, {"--classifier", o->clf_path, CLI_IN_OUT}, {"--png", o->png, CLI_OUT}};
    return cli_check_files(files, 3);
}

/* ---- set up ---- */

/* everything a run holds, released by run_free whatever path leads there */
typedef struct {
    unsigned char *wbytes;
    long wsize;
    fashion_set train, test;
    classifier clf;
    cl_state cs;
    int N;                          /* 10 n_per images: the real set and the samples */
    float *test_x, *test_f;         /* (test.n, 784), (test.n, CL_FEAT) */
    int *test_y;
    float *real_x, *real_f;         /* (N, 784), (N, CL_FEAT) */
    int *real_y;
    float *samp, *samp_f;           /* (N, 784), (N, CL_FEAT) */
    int *cls, *pred;                /* (N) asked-for and predicted class */
    ds_schedule sch;
    ds_model **models;              /* (threads) one copy per sampling thread */
    double test_acc, real_acc, fd_floor, acc, fd, secs;
} eval_run;

static void run_free(eval_run *r, int threads) {
    free(r->samp), free(r->samp_f), free(r->pred), free(r->cls), free(r->real_x), free(r->real_f), free(r->real_y);
    free(r->test_x), free(r->test_y), free(r->test_f), free(r->cs.buf), free(r->clf.params), free(r->wbytes);
    if (r->models)
        for (int j = 0; j < threads; j++) ds_model_free(r->models[j]);
    free(r->models);
    fashion_free(&r->train);
    fashion_free(&r->test);
}

/* the weights (read once, a model copy per thread), refused unless a 28x28 greyscale UNet */
static int load_models(const eval_opts *o, eval_run *r) {
    r->wbytes = util_read_kind(o->wpath, &INPUT_WEIGHTS, &r->wsize);
    if (!r->wbytes) return cli_error(1, "eval: %s", ds_last_error());
    r->models = calloc((size_t)o->threads, sizeof *r->models);
    if (!r->models) return cli_error(1, "eval: out of memory");
    for (int j = 0; j < o->threads; j++)
        if (!(r->models[j] = ds_model_from_bytes(r->wbytes, (size_t)r->wsize))) return cli_error(1, "eval: %s: %s", o->wpath, ds_last_error());
    if (ds_model_get_kind(r->models[0]) != DS_MODEL_UNET || ds_model_item_floats(r->models[0]) != 784)
        return cli_error(1, "eval: %s is not a 28x28 greyscale UNet", o->wpath);
    return 0;
}

/* the classifier (cached, else trained now) and its features of the test set */
static int prepare_classifier(const eval_opts *o, eval_run *r) {
    if (cl_build(&r->clf) || cl_state_alloc(&r->cs, 250)) return cli_error(1, "eval: %s", ds_last_error());
    r->test_x = malloc(sizeof(float) * (size_t)r->test.n * 784);
    r->test_y = malloc(sizeof(int) * (size_t)r->test.n);
    r->test_f = malloc(sizeof(float) * (size_t)r->test.n * CL_FEAT);
    if (!r->test_x || !r->test_y || !r->test_f) return cli_error(1, "eval: out of memory");
    fashion_to_float(r->test.pixels, r->test.n, r->test_x);
    for (int i = 0; i < r->test.n; i++) r->test_y[i] = r->test.labels[i];
    if (cl_load(&r->clf, o->clf_path)) {
        fprintf(stderr, "eval: training the classifier (%ld epochs) -> %s\n", o->clf_epochs, o->clf_path);
        if (cl_train(&r->clf, &r->train, (int)o->clf_epochs, 7)) return cli_error(1, "eval: %s", ds_last_error());
        if (cl_save(&r->clf, o->clf_path)) return 1;
    }
    r->test_acc = cl_run(&r->clf, &r->cs, r->test_x, r->test_y, r->test.n, r->test_f, NULL);
    fprintf(stderr, "eval: classifier test accuracy %.4f\n", r->test_acc);
    return 0;
}

/* n_per real training images per class against the test set: the floor */
static int real_floor(const eval_opts *o, eval_run *r) {
    const int N = r->N;
    r->real_x = malloc(sizeof(float) * (size_t)N * 784);
    r->real_f = malloc(sizeof(float) * (size_t)N * CL_FEAT);
    r->real_y = calloc((size_t)N, sizeof(int));
    if (!r->real_x || !r->real_f || !r->real_y) return cli_error(1, "eval: out of memory");
    int got[10] = {0}, k = 0;
    for (int i = 0; i < r->train.n && k < N; i++) {
        int y = r->train.labels[i];
        if (got[y] >= o->n_per) continue;
        fashion_to_float(r->train.pixels + (size_t)i * 784, 1, r->real_x + (size_t)k * 784);
        r->real_y[k++] = y;
        got[y]++;
    }
    if (k < N)
        for (int y = 0; y < 10; y++)
            if (got[y] < o->n_per)
                return cli_error(1, "eval: the training set has only %d images of class %d, fewer than -n %ld (the floor needs them)",
                                 got[y], y, o->n_per);
    r->real_acc = cl_run(&r->clf, &r->cs, r->real_x, r->real_y, N, r->real_f, NULL);
    r->fd_floor = frechet_distance(r->real_f, N, r->test_f, r->test.n, CL_FEAT);
    return 0;
}

static int set_up(const eval_opts *o, eval_run *r) {
    int rc;
    if ((rc = load_models(o, r))) return rc;
    if (fashion_load(o->data, "train", &r->train) || fashion_load(o->data, "test", &r->test))
        return cli_error(1, "eval: %s", ds_last_error());
    r->N = (int)o->n_per * 10;
    if ((rc = prepare_classifier(o, r)) || (rc = real_floor(o, r))) return rc;
    if ((rc = cli_model_schedule(r->models[0], o->wpath, o->sk_given ? &o->sk : NULL, &r->sch))) return rc;
    r->cls = malloc(sizeof(int) * (size_t)r->N);
    r->samp = malloc(sizeof(float) * (size_t)r->N * 784);
    r->samp_f = malloc(sizeof(float) * (size_t)r->N * CL_FEAT);
    r->pred = malloc(sizeof(int) * (size_t)r->N);
    if (!r->cls || !r->samp || !r->samp_f || !r->pred) return cli_error(1, "eval: out of memory");
    for (int i = 0; i < r->N; i++) r->cls[i] = i / (int)o->n_per; /* class k: images k n_per .. */
    return 0;
}

/* ---- sample: chunks of SAMPLE_CHUNK images over the threads (chunked_sampler.h) ---- */

#define SAMPLE_CHUNK 25

static void keep_floats(void *user, long first, int count, const ds_sampler *s) {
    eval_run *r = user;
    memcpy(r->samp + (size_t)first * 784, ds_sampler_x(s), sizeof(float) * 784 * (size_t)count);
}

static int sample_all(const eval_opts *o, eval_run *r) {
    chunked_sampling c = {.schedule = &r->sch, .n = r->N, .chunk = SAMPLE_CHUNK, .D = 784, .cls = r->cls,
                          .fn = ds_model_eps, .ctx = (void *const *)r->models, .workers = (int)o->threads,
                          .on_done = keep_floats, .user = r};
    chunked_params(&c.params, o->kind, o->steps, o->eta, o->guidance, o->clip, o->seed);
    c.params.guidance_t_lo = o->guide_lo, c.params.guidance_t_hi = o->guide_hi;
    c.params.spacing = o->spacing;
    double t0 = util_now_s();
    if (chunked_sample(&c)) return cli_error(1, "eval: sampling: %s", ds_last_error());
    r->secs = util_now_s() - t0;
    for (long i = 0; i < (long)r->N * 784; i++) r->samp[i] = r->samp[i] > 1 ? 1 : r->samp[i] < -1 ? -1 : r->samp[i];
    r->acc = cl_run(&r->clf, &r->cs, r->samp, r->cls, r->N, r->samp_f, r->pred);
    r->fd = frechet_distance(r->samp_f, r->N, r->test_f, r->test.n, CL_FEAT);
    return 0;
}

/* ---- report ---- */

/* rows = classes, up to 10 per row, 1-pixel white gaps, pixels back to 0..255 */
static int write_grid(const char *png, const float *samp, long n_per) {
    int per = n_per < 10 ? (int)n_per : 10, W = per * 29 + 1, H = 10 * 29 + 1;
    unsigned char *img = malloc((size_t)W * H);
    if (!img) return cli_error(1, "eval: out of memory for the PNG");
    memset(img, 255, (size_t)W * H);
    for (int y = 0; y < 10; y++)
        for (int i = 0; i < per; i++) {
            const float *x = samp + ((size_t)y * n_per + i) * 784;
            for (int r = 0; r < 28; r++)
                for (int q = 0; q < 28; q++)
                    img[(size_t)(1 + y * 29 + r) * W + 1 + i * 29 + q] = (unsigned char)(127.5f * (x[r * 28 + q] + 1.0f) + 0.5f);
        }
    int rc = png_write_atomic(png, W, H, 1, img);
    free(img);
    return rc ? 1 : 0;
}

static void print_report(const eval_opts *o, const eval_run *r) {
    printf("{\n  \"weights\": \"%s\",\n  \"sampler\": \"%s\", \"steps\": %ld, \"guidance\": %g, \"eta\": %g, \"clip\": %g, "
           "\"schedule\": \"%s\", \"seed\": %ld,\n",
           o->wpath, ds_sampler_kind_name(o->kind), o->steps, o->guidance, o->eta, o->clip, ds_schedule_kind_name(r->sch.kind), o->seed);
    if (o->guide_lo > 0 || o->guide_hi < r->sch.T) printf("  \"guidance_interval\": [%d, %d],\n", o->guide_lo, o->guide_hi);
    if (o->spacing != 0.0) printf("  \"spacing\": %g,\n", o->spacing);
    printf("  \"samples_per_class\": %ld,\n  \"sampling_seconds\": %.1f,\n", o->n_per, r->secs);
    printf("  \"classifier_test_accuracy\": %.4f,\n  \"classifier_accuracy_on_real_n\": %.4f,\n", r->test_acc, r->real_acc);
    printf("  \"accuracy\": %.4f,\n  \"accuracy_per_class\": [", r->acc);
    for (int y = 0; y < 10; y++) {
        int right = 0;
        for (int i = 0; i < (int)o->n_per; i++) right += r->pred[y * o->n_per + i] == y;
        printf("%s%.3f", y ? ", " : "", (double)right / o->n_per);
    }
    printf("],\n  \"fd\": %.3f,\n  \"fd_floor_real_vs_real\": %.3f,\n  \"fd_ratio\": %.2f\n}\n", r->fd, r->fd_floor,
           r->fd / r->fd_floor);
}

int cmd_eval(int argc, char **argv) {
    eval_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    eval_run r;
    memset(&r, 0, sizeof r);
    if (!(rc = set_up(&o, &r)) && !(rc = sample_all(&o, &r)) && !(rc = o.png ? write_grid(o.png, r.samp, o.n_per) : 0))
        print_report(&o, &r);
    run_free(&r, (int)o.threads);
    return rc;
}
