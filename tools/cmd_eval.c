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
    "  --schedule linear|cosine  default: the one the weights file records (a contradicting one is refused)\n"
    "  --seed K              sampling seed (default 0)\n"
    "  --threads K           sampling threads (default 2)\n"
    "  --classifier FILE     cached classifier (default out/fashion-classifier.bin; trained if missing)\n"
    "  --classifier-epochs E epochs when training it (default 5)\n"
    "  --data DIR            Fashion-MNIST folder\n"
    "  --png FILE            also write the samples as a grid: one row per class, up to 10 per row\n"
    "Prints JSON: accuracy per class and overall, FD vs the test set, and the real-vs-real floor.\n";

/* ---- the classifier ---------------------------------------------------------------------- */
#define CL_FEAT 128
typedef struct {
    ds_param_table table;
    float *params;
    /* (pointers into params) */
    float *c1w, *c1b, *c2w, *c2b, *c3w, *c3b, *f1w, *f1b, *f2w, *f2b;
} classifier;

typedef struct {
    int max_batch;
    float *x;              /* (B, 1, 28, 28) */
    float *c1, *a1;        /* (B, 16, 28, 28) conv1, silu */
    float *c2, *a2;        /* (B, 32, 14, 14) */
    float *c3, *a3;        /* (B, 64, 7, 7) */
    float *f1, *feat;      /* (B, 128) fc1, silu: the features */
    float *logits;         /* (B, 10) */
    float *d_big, *d_big2; /* (B, 16, 28, 28) backward temporaries */
    float *d_feat;         /* (B, 128) */
    float *scratch;        /* conv forward/backward scratch */
    float *buf;
} cl_state;

static int cl_build(classifier *c) {
    memset(c, 0, sizeof *c);
    const struct {
        const char *name;
        int nd, s[4];
    } rows[] = {{"conv1.weight", 4, {16, 1, 3, 3}}, {"conv1.bias", 1, {16}},  {"conv2.weight", 4, {32, 16, 3, 3}},
                {"conv2.bias", 1, {32}},          {"conv3.weight", 4, {64, 32, 3, 3}}, {"conv3.bias", 1, {64}},
                {"fc1.weight", 2, {CL_FEAT, 64 * 49}}, {"fc1.bias", 1, {CL_FEAT}}, {"fc2.weight", 2, {10, CL_FEAT}},
                {"fc2.bias", 1, {10}}};
    for (int i = 0; i < 10; i++)
        if (ds_param_table_add(&c->table, rows[i].name, rows[i].nd, rows[i].s)) return DS_ERR;
    c->params = calloc((size_t)c->table.total, sizeof(float));
    if (!c->params) return ds_fail("classifier: out of memory");
    float **ptr[] = {&c->c1w, &c->c1b, &c->c2w, &c->c2b, &c->c3w, &c->c3b, &c->f1w, &c->f1b, &c->f2w, &c->f2b};
    for (int i = 0; i < 10; i++) *ptr[i] = c->params + c->table.p[i].offset;
    return DS_OK;
}

/* the same tensors, in another blob laid out by the table (the gradient) */
static float *cl_at(const classifier *c, float *blob, int i) { return blob + c->table.p[i].offset; }

static void cl_init(classifier *c, uint64_t seed) {
    ds_rng r;
    ds_rng_seed(&r, seed);
    for (int i = 0; i < c->table.n; i++) {
        const ds_param_info *p = &c->table.p[i];
        if (p->ndim == 1) continue; /* biases 0 */
        double fan_in = (double)p->numel / p->shape[0], a = sqrt(3.0 / fan_in);
        for (long j = 0; j < p->numel; j++) c->params[p->offset + j] = (float)((2 * ds_rng_uniform(&r) - 1) * a);
    }
}

static int cl_state_alloc(cl_state *s, int B) {
    memset(s, 0, sizeof *s);
    long n1 = (long)B * 16 * 784, n2 = (long)B * 32 * 196, n3 = (long)B * 64 * 49;
    long scratch = (long)ds_conv2d_backward_scratch_floats(32, 14, 14, 64, 3, 2);
    long sc1 = (long)ds_conv2d_backward_scratch_floats(16, 28, 28, 32, 3, 2);
    long sc0 = (long)ds_conv2d_backward_scratch_floats(1, 28, 28, 16, 3, 1);
    if (sc1 > scratch) scratch = sc1;
    if (sc0 > scratch) scratch = sc0;
    long total = (long)B * 784 + 2 * n1 + 2 * n2 + 2 * n3 + 3L * B * CL_FEAT + B * 10L + 2 * n1 + scratch;
    s->buf = malloc(sizeof(float) * (size_t)total);
    if (!s->buf) return ds_fail("classifier: out of memory");
    float *p = s->buf;
    s->x = p, p += (long)B * 784;
    s->c1 = p, p += n1;
    s->a1 = p, p += n1;
    s->c2 = p, p += n2;
    s->a2 = p, p += n2;
    s->c3 = p, p += n3;
    s->a3 = p, p += n3;
    s->f1 = p, p += (long)B * CL_FEAT;
    s->feat = p, p += (long)B * CL_FEAT;
    s->d_feat = p, p += (long)B * CL_FEAT;
    s->logits = p, p += B * 10L;
    s->d_big = p, p += n1;
    s->d_big2 = p, p += n1;
    s->scratch = p;
    s->max_batch = B;
    return DS_OK;
}

static void cl_forward(const classifier *c, cl_state *s, const float *x, int B) {
    memcpy(s->x, x, sizeof(float) * (size_t)B * 784);
    ds_conv2d(s->x, c->c1w, c->c1b, s->c1, s->scratch, B, 1, 28, 28, 16, 3, 1);
    ds_silu(s->c1, s->a1, (long)B * 16 * 784);
    ds_conv2d(s->a1, c->c2w, c->c2b, s->c2, s->scratch, B, 16, 28, 28, 32, 3, 2);
    ds_silu(s->c2, s->a2, (long)B * 32 * 196);
    ds_conv2d(s->a2, c->c3w, c->c3b, s->c3, s->scratch, B, 32, 14, 14, 64, 3, 2);
    ds_silu(s->c3, s->a3, (long)B * 64 * 49);
    ds_linear(s->a3, c->f1w, c->f1b, s->f1, B, 64 * 49, CL_FEAT);
    ds_silu(s->f1, s->feat, (long)B * CL_FEAT);
    ds_linear(s->feat, c->f2w, c->f2b, s->logits, B, CL_FEAT, 10);
}

/* cross-entropy loss (mean over n_total) and gradients += into grads */
static double cl_backward(const classifier *c, cl_state *s, const int *labels, int B, long n_total, float *grads) {
    float dlogits[4096 * 10];
    double loss = ds_softmax_xent_backward(s->logits, labels, dlogits, B, 10, n_total);
    long nf = (long)B * CL_FEAT, n3 = (long)B * 64 * 49, n2 = (long)B * 32 * 196;
    float *d_a = s->d_big, *d_c = s->d_big2;
    memset(s->d_feat, 0, sizeof(float) * nf);
    ds_linear_backward(s->feat, c->f2w, dlogits, s->d_feat, cl_at(c, grads, 8), cl_at(c, grads, 9), B, CL_FEAT, 10);
    memset(d_c, 0, sizeof(float) * nf);
    ds_silu_backward(s->f1, s->d_feat, d_c, nf);
    memset(d_a, 0, sizeof(float) * n3);
    ds_linear_backward(s->a3, c->f1w, d_c, d_a, cl_at(c, grads, 6), cl_at(c, grads, 7), B, 64 * 49, CL_FEAT);
    memset(d_c, 0, sizeof(float) * n3);
    ds_silu_backward(s->c3, d_a, d_c, n3);
    memset(d_a, 0, sizeof(float) * n2);
    ds_conv2d_backward(s->a2, c->c3w, d_c, d_a, cl_at(c, grads, 4), cl_at(c, grads, 5), s->scratch, B, 32, 14, 14, 64, 3, 2);
    memset(d_c, 0, sizeof(float) * n2);
    ds_silu_backward(s->c2, d_a, d_c, n2);
    long n1 = (long)B * 16 * 784;
    memset(d_a, 0, sizeof(float) * n1);
    ds_conv2d_backward(s->a1, c->c2w, d_c, d_a, cl_at(c, grads, 2), cl_at(c, grads, 3), s->scratch, B, 16, 28, 28, 32, 3, 2);
    memset(d_c, 0, sizeof(float) * n1);
    ds_silu_backward(s->c1, d_a, d_c, n1);
    ds_conv2d_backward(s->x, c->c1w, d_c, NULL, cl_at(c, grads, 0), cl_at(c, grads, 1), s->scratch, B, 1, 28, 28, 16, 3, 1);
    return loss;
}

static int argmax10(const float *z) {
    int k = 0;
    for (int c = 1; c < 10; c++)
        if (z[c] > z[k]) k = c;
    return k;
}

/* accuracy of the classifier on a set (and its features, if feat != NULL: (n, CL_FEAT)) */
static double cl_run(const classifier *c, cl_state *s, const float *x, const int *labels, int n, float *feat, int *pred) {
    int right = 0;
    for (int i0 = 0; i0 < n; i0 += s->max_batch) {
        int B = n - i0 < s->max_batch ? n - i0 : s->max_batch;
        cl_forward(c, s, x + (size_t)i0 * 784, B);
        for (int b = 0; b < B; b++) {
            int k = argmax10(s->logits + b * 10);
            if (pred) pred[i0 + b] = k;
            if (labels && k == labels[i0 + b]) right++;
        }
        if (feat) memcpy(feat + (size_t)i0 * CL_FEAT, s->feat, sizeof(float) * (size_t)B * CL_FEAT);
    }
    return (double)right / n;
}

#define CL_MAGIC "DSCLF1\0\0"

/* the cached classifier: magic, count, the parameters, their FNV-1a; -1 (no message) if absent */
static int cl_load(classifier *c, const char *path) {
    if (access(path, F_OK) != 0) return -1;
    long n = c->table.total, want = 8 + 8 + 4 * n + 8, size = 0;
    unsigned char *b = util_read_file(path, want, &size);
    uint64_t count = 0, sum = 0;
    int ok = b && size == want && !memcmp(b, CL_MAGIC, 8);
    if (ok) {
        memcpy(&count, b + 8, 8);
        memcpy(&sum, b + 16 + 4 * n, 8);
        ok = count == (uint64_t)n;
    }
    if (ok) {
        memcpy(c->params, b + 16, (size_t)n * 4);
        ok = sum == ds_fnv1a64(c->params, n * 4);
    }
    free(b);
    if (!ok) fprintf(stderr, "eval: %s is not a valid classifier cache; training a new one\n", path);
    return ok ? 0 : -1;
}

static int cl_save(const classifier *c, const char *path) {
    long n = c->table.total, size = 8 + 8 + 4 * n + 8;
    unsigned char *b = malloc((size_t)size);
    if (!b) return cli_error(1, "eval: out of memory for the classifier cache");
    uint64_t nn = (uint64_t)n, sum = ds_fnv1a64(c->params, n * 4);
    memcpy(b, CL_MAGIC, 8);
    memcpy(b + 8, &nn, 8);
    memcpy(b + 16, c->params, (size_t)n * 4);
    memcpy(b + 16 + 4 * n, &sum, 8);
    int rc = util_write_atomic(path, b, size);
    free(b);
    return rc ? cli_error(1, "eval: %s", ds_last_error()) : 0;
}

static int cl_train(classifier *c, const fashion_set *train, int epochs, uint64_t seed) {
    const int B = 128;
    cl_state s;
    if (cl_state_alloc(&s, B)) return DS_ERR;
    cl_init(c, seed);
    ds_optim opt;
    ds_optim_config oc;
    ds_optim_config_default(&oc);
    oc.lr = 2e-3;
    oc.warmup_steps = 100;
    long steps = (long)epochs * train->n / B;
    oc.decay_steps = steps;
    oc.min_lr_ratio = 0.05;
    oc.ema_decay = 0;
    oc.clip_norm = 5.0;
    if (ds_optim_init(&opt, &oc, c->table.total, c->params)) {
        free(s.buf);
        return DS_ERR;
    }
    float *grads = malloc(sizeof(float) * (size_t)c->table.total), *x = malloc(sizeof(float) * B * 784);
    int labels[128];
    ds_rng r;
    ds_rng_seed(&r, seed + 1);
    double avg = 0;
    for (long step = 0; step < steps; step++) {
        for (int b = 0; b < B; b++) {
            uint32_t i = ds_rng_below(&r, (uint32_t)train->n);
            fashion_to_float(train->pixels + (size_t)i * 784, 1, x + (size_t)b * 784);
            labels[b] = train->labels[i];
        }
        memset(grads, 0, sizeof(float) * (size_t)c->table.total);
        cl_forward(c, &s, x, B);
        double loss = cl_backward(c, &s, labels, B, B, grads);
        if (ds_optim_step(&opt, c->params, grads)) {
            steps = -1; /* a non-finite gradient: stop, free, fail */
            break;
        }
        avg = step ? 0.98 * avg + 0.02 * loss : loss;
        if ((step + 1) % 100 == 0 || step + 1 == steps)
            fprintf(stderr, "eval: classifier step %ld/%ld, loss %.4f\n", step + 1, steps, avg);
    }
    free(grads);
    free(x);
    free(s.buf);
    ds_optim_free(&opt);
    return steps < 0 ? DS_ERR : DS_OK;
}

/* ---- parse ---- */

typedef struct {
    const char *wpath, *clf_path, *data, *png;
    long n_per, steps, seed, threads, clf_epochs;
    double guidance, eta, clip;
    ds_sampler_kind kind;
    ds_schedule_kind sk;
    int sk_given;        /* --schedule was given: it must match the file's */
    int eta_given;
} eval_opts;

enum { O_W = 256, O_SAMPLER, O_STEPS, O_GUID, O_ETA, O_CLIP, O_SCHED, O_SEED, O_THREADS, O_CLF, O_CLF_EP, O_DATA, O_PNG };
static const struct option OPTIONS[] = {
    {"weights", required_argument, 0, O_W},   {"sampler", required_argument, 0, O_SAMPLER},
    {"steps", required_argument, 0, O_STEPS}, {"guidance", required_argument, 0, O_GUID},
    {"eta", required_argument, 0, O_ETA},     {"clip", required_argument, 0, O_CLIP},
    {"schedule", required_argument, 0, O_SCHED}, {"seed", required_argument, 0, O_SEED},
    {"threads", required_argument, 0, O_THREADS}, {"classifier", required_argument, 0, O_CLF},
    {"classifier-epochs", required_argument, 0, O_CLF_EP}, {"data", required_argument, 0, O_DATA},
    {"png", required_argument, 0, O_PNG},
    {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};

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
    default: fputs(USAGE, stderr); return 2;
    }
    return 0;
}

/* 0 to run, -1 after --help, else the exit status after printing an error */
static int parse_args(int argc, char **argv, eval_opts *o) {
    *o = (eval_opts){.clf_path = "out/fashion-classifier.bin", .n_per = 100, .steps = 20, .threads = 2, .clf_epochs = 5,
                     .guidance = 2.0, .clip = 1.0, .kind = DS_SAMPLER_DDIM, .sk = DS_SCHEDULE_LINEAR};
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
