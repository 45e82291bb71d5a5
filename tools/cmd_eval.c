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
 * Not here: the denoiser's training (cmd_train.c), PNG grids (cmd_sample.c). */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint.h"
#include "cli.h"
#include "error.h"
#include "fashion.h"
#include "frechet.h"
#include "kernels.h"
#include "kernels_grad.h"
#include "model.h"
#include "optim.h"
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
    "  --schedule linear|cosine  the schedule the model was trained with (default linear)\n"
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

/* ---- sampling over threads ---- */
typedef struct {
    const uint8_t *wbytes;
    size_t wsize;
    const ds_schedule *sch;
    ds_sampler_params params;
    const int *cls;       /* (total) */
    float *out;           /* (total, 784) */
    int total, chunk, n_threads, id, rc;
    char err[256];
} sample_job;

static int eps_model(void *ctx, const float *x, const float *t, const int *cls, int B, float *eps) {
    return ds_model_forward((ds_model *)ctx, x, t, cls, B, eps);
}

static void *sample_run(void *arg) {
    sample_job *j = arg;
    j->rc = 0;
    ds_model *m = ds_model_from_bytes(j->wbytes, j->wsize);
    if (!m) {
        j->rc = -1;
        snprintf(j->err, sizeof j->err, "%s", ds_last_error());
        return NULL;
    }
    for (int i0 = j->id * j->chunk; i0 < j->total && !j->rc; i0 += j->n_threads * j->chunk) {
        ds_sampler_params p = j->params;
        p.batch = j->total - i0 < j->chunk ? j->total - i0 : j->chunk;
        p.first_image = i0;
        ds_sampler *s = ds_sampler_create(j->sch, 784, eps_model, m, &p, j->cls + i0);
        if (!s) {
            j->rc = -1;
            snprintf(j->err, sizeof j->err, "%s", ds_last_error());
            break;
        }
        while (!ds_sampler_done(s))
            if (ds_sampler_step(s)) {
                j->rc = -1;
                snprintf(j->err, sizeof j->err, "%s", ds_last_error());
                break;
            }
        memcpy(j->out + (size_t)i0 * 784, ds_sampler_x(s), sizeof(float) * 784 * (size_t)p.batch);
        ds_sampler_free(s);
    }
    ds_model_free(m);
    return NULL;
}

int cmd_eval(int argc, char **argv) {
    enum { O_W = 256, O_SAMPLER, O_STEPS, O_GUID, O_ETA, O_CLIP, O_SCHED, O_SEED, O_THREADS, O_CLF, O_CLF_EP, O_DATA, O_PNG };
    static const struct option opts[] = {
        {"weights", required_argument, 0, O_W},   {"sampler", required_argument, 0, O_SAMPLER},
        {"steps", required_argument, 0, O_STEPS}, {"guidance", required_argument, 0, O_GUID},
        {"eta", required_argument, 0, O_ETA},     {"clip", required_argument, 0, O_CLIP},
        {"schedule", required_argument, 0, O_SCHED}, {"seed", required_argument, 0, O_SEED},
        {"threads", required_argument, 0, O_THREADS}, {"classifier", required_argument, 0, O_CLF},
        {"classifier-epochs", required_argument, 0, O_CLF_EP}, {"data", required_argument, 0, O_DATA},
        {"png", required_argument, 0, O_PNG},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *wpath = NULL, *clf_path = "out/fashion-classifier.bin", *data = NULL, *png = NULL;
    long n_per = 100, steps = 20, seed = 0, threads = 2, clf_epochs = 5;
    double guidance = 2.0, eta = 0.0, clip = 1.0;
    ds_sampler_kind kind = DS_SAMPLER_DDIM;
    ds_schedule_kind sk = DS_SCHEDULE_LINEAR;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "hn:", opts, NULL)) != -1) {
        switch (c) {
        case O_W: wpath = optarg; break;
        case 'n': if (cli_parse_long("-n", optarg, 2, 5000, &n_per)) return 2; break;
        case O_SAMPLER: if (ds_sampler_kind_parse(optarg, &kind)) return cli_error(2, "--sampler: %s", ds_last_error()); break;
        case O_STEPS: if (cli_parse_long("--steps", optarg, 1, DS_MAX_T, &steps)) return 2; break;
        case O_GUID: if (cli_parse_double("--guidance", optarg, &guidance)) return 2; break;
        case O_ETA: if (cli_parse_double("--eta", optarg, &eta)) return 2; break;
        case O_CLIP: if (cli_parse_double("--clip", optarg, &clip)) return 2; break;
        case O_SCHED: if (ds_schedule_kind_parse(optarg, &sk)) return cli_error(2, "--schedule: %s", ds_last_error()); break;
        case O_SEED: if (cli_parse_long("--seed", optarg, 0, 2147483647L, &seed)) return 2; break;
        case O_THREADS: if (cli_parse_long("--threads", optarg, 1, 64, &threads)) return 2; break;
        case O_CLF: clf_path = optarg; break;
        case O_CLF_EP: if (cli_parse_long("--classifier-epochs", optarg, 1, 100, &clf_epochs)) return 2; break;
        case O_DATA: data = optarg; break;
        case O_PNG: png = optarg; break;
        case 'h': fputs(USAGE, stdout); return 0;
        default: fputs(USAGE, stderr); return 2;
        }
    }
    if (optind < argc) return cli_error(2, "eval: unexpected argument '%s'", argv[optind]);
    if (!wpath) return cli_error(2, "eval: --weights W.dsw is required\n%s", USAGE);
    /* as `diffuscope sample` does: refuse before minutes of loading and classifier training */
    if (eta < 0 || eta > 1) return cli_error(2, "--eta must be between 0 and 1, got %g", eta);
    if (clip < 0) return cli_error(2, "--clip must be >= 0, got %g", clip);
    /* every resource, released at `done` whatever path leads there */
    long wsize = 0;
    unsigned char *wbytes = NULL;
    fashion_set train = {0}, test = {0};
    classifier clf;
    cl_state cs;
    memset(&clf, 0, sizeof clf);
    memset(&cs, 0, sizeof cs);
    float *test_x = NULL, *test_f = NULL, *real_x = NULL, *real_f = NULL, *samp = NULL, *samp_f = NULL;
    int *test_y = NULL, *real_y = NULL, *cls = NULL, *pred = NULL;
    ds_schedule *sch = NULL;
    int status = 0;
#define FAIL(expr)       \
    do {                 \
        status = (expr); \
        goto done;       \
    } while (0)
    wbytes = util_read_file(wpath, UTIL_MAX_WEIGHTS, &wsize);
    if (!wbytes) FAIL(cli_error(1, "eval: %s", ds_last_error()));
    ds_model *probe = ds_model_from_bytes(wbytes, (size_t)wsize);
    if (!probe) FAIL(cli_error(1, "eval: %s: %s", wpath, ds_last_error()));
    int is_fashion = ds_model_get_kind(probe) == DS_MODEL_UNET && ds_model_item_floats(probe) == 784;
    ds_model_free(probe);
    if (!is_fashion) FAIL(cli_error(1, "eval: %s is not a 28x28 greyscale UNet", wpath));

    if (fashion_load(data, "train", &train) || fashion_load(data, "test", &test)) FAIL(cli_error(1, "eval: %s", ds_last_error()));

    /* the classifier: cached, else trained now */
    if (cl_build(&clf)) FAIL(cli_error(1, "eval: %s", ds_last_error()));
    if (cl_state_alloc(&cs, 250)) FAIL(cli_error(1, "eval: %s", ds_last_error()));
    test_x = malloc(sizeof(float) * (size_t)test.n * 784);
    test_y = malloc(sizeof(int) * (size_t)test.n);
    fashion_to_float(test.pixels, test.n, test_x);
    for (int i = 0; i < test.n; i++) test_y[i] = test.labels[i];
    if (cl_load(&clf, clf_path)) {
        fprintf(stderr, "eval: training the classifier (%ld epochs) -> %s\n", clf_epochs, clf_path);
        if (cl_train(&clf, &train, (int)clf_epochs, 7)) FAIL(cli_error(1, "eval: %s", ds_last_error()));
        if (cl_save(&clf, clf_path)) FAIL(1);
    }
    test_f = malloc(sizeof(float) * (size_t)test.n * CL_FEAT);
    double test_acc = cl_run(&clf, &cs, test_x, test_y, test.n, test_f, NULL);
    fprintf(stderr, "eval: classifier test accuracy %.4f\n", test_acc);

    /* N real training images per class: the floor */
    int N = (int)n_per * 10;
    real_x = malloc(sizeof(float) * (size_t)N * 784);
    real_f = malloc(sizeof(float) * (size_t)N * CL_FEAT);
    real_y = calloc((size_t)N, sizeof(int));
    int got[10] = {0}, k = 0;
    for (int i = 0; i < train.n && k < N; i++) {
        int y = train.labels[i];
        if (got[y] >= n_per) continue;
        fashion_to_float(train.pixels + (size_t)i * 784, 1, real_x + (size_t)k * 784);
        real_y[k++] = y;
        got[y]++;
    }
    if (k < N)
        for (int y = 0; y < 10; y++)
            if (got[y] < n_per)
                FAIL(cli_error(1, "eval: the training set has only %d images of class %d, fewer than -n %ld (the floor needs them)",
                                 got[y], y, n_per));
    double real_acc = cl_run(&clf, &cs, real_x, real_y, N, real_f, NULL);
    double fd_floor = frechet_distance(real_f, N, test_f, test.n, CL_FEAT);

    /* the samples: class k * n_per .. */
    sch = malloc(sizeof *sch);
    if (ds_schedule_init(sch, sk, DS_MAX_T)) FAIL(cli_error(1, "eval: %s", ds_last_error()));
    cls = malloc(sizeof(int) * (size_t)N);
    for (int i = 0; i < N; i++) cls[i] = i / (int)n_per;
    samp = malloc(sizeof(float) * (size_t)N * 784);
    samp_f = malloc(sizeof(float) * (size_t)N * CL_FEAT);
    pred = malloc(sizeof(int) * (size_t)N);
    sample_job jobs[64];
    pthread_t th[64];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int j = 0; j < threads; j++) {
        sample_job *jb = &jobs[j];
        memset(jb, 0, sizeof *jb);
        jb->wbytes = wbytes;
        jb->wsize = (size_t)wsize;
        jb->sch = sch;
        ds_sampler_params_init(&jb->params);
        jb->params.kind = kind;
        jb->params.steps = (int)steps;
        jb->params.eta = eta;
        jb->params.guidance = guidance;
        jb->params.clip = clip;
        jb->params.seed = (uint64_t)seed;
        jb->cls = cls;
        jb->out = samp;
        jb->total = N;
        jb->chunk = 25;
        jb->n_threads = (int)threads;
        jb->id = j;
        if (j && pthread_create(&th[j], NULL, sample_run, jb)) {
            for (int q = 1; q < j; q++) pthread_join(th[q], NULL);
            FAIL(cli_error(1, "eval: cannot start sampling thread %d", j));
        }
    }
    sample_run(&jobs[0]);
    for (int j = 1; j < threads; j++) pthread_join(th[j], NULL);
    for (int j = 0; j < threads; j++)
        if (jobs[j].rc) FAIL(cli_error(1, "eval: sampling: %s", jobs[j].err));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
    for (long i = 0; i < (long)N * 784; i++) samp[i] = samp[i] > 1 ? 1 : samp[i] < -1 ? -1 : samp[i];
    double acc = cl_run(&clf, &cs, samp, cls, N, samp_f, pred);
    if (png) { /* rows = classes, 1-pixel white gaps, pixels back to 0..255 */
        int per = n_per < 10 ? (int)n_per : 10, W = per * 29 + 1, H = 10 * 29 + 1;
        unsigned char *img = malloc((size_t)W * H);
        if (!img) FAIL(cli_error(1, "eval: out of memory for the PNG"));
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
        if (rc) FAIL(1);
    }
    double fd = frechet_distance(samp_f, N, test_f, test.n, CL_FEAT);

    printf("{\n  \"weights\": \"%s\",\n  \"sampler\": \"%s\", \"steps\": %ld, \"guidance\": %g, \"eta\": %g, \"clip\": %g, "
           "\"schedule\": \"%s\", \"seed\": %ld,\n",
           wpath, ds_sampler_kind_name(kind), steps, guidance, eta, clip, ds_schedule_kind_name(sk), seed);
    printf("  \"samples_per_class\": %ld,\n  \"sampling_seconds\": %.1f,\n", n_per, secs);
    printf("  \"classifier_test_accuracy\": %.4f,\n  \"classifier_accuracy_on_real_n\": %.4f,\n", test_acc, real_acc);
    printf("  \"accuracy\": %.4f,\n  \"accuracy_per_class\": [", acc);
    for (int y = 0; y < 10; y++) {
        int right = 0;
        for (int i = 0; i < (int)n_per; i++) right += pred[y * n_per + i] == y;
        printf("%s%.3f", y ? ", " : "", (double)right / n_per);
    }
    printf("],\n  \"fd\": %.3f,\n  \"fd_floor_real_vs_real\": %.3f,\n  \"fd_ratio\": %.2f\n}\n", fd, fd_floor, fd / fd_floor);

done:
    free(samp), free(samp_f), free(pred), free(cls), free(sch), free(real_x), free(real_f), free(real_y);
    free(test_x), free(test_y), free(test_f), free(cs.buf), free(clf.params), free(wbytes);
    fashion_free(&train);
    fashion_free(&test);
    return status;
#undef FAIL
}
