/* classifier.c — the Fashion-MNIST judge (see classifier.h): its network, forward and
 * backward, cache file and training loop. */
#define _POSIX_C_SOURCE 200809L
#include "classifier.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint.h"
#include "cli.h"
#include "error.h"
#include "kernels.h"
#include "kernels_grad.h"
#include "optim.h"
#include "rng.h"
#include "util.h"

int cl_build(classifier *c) {
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

int cl_state_alloc(cl_state *s, int B) {
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

void cl_forward(const classifier *c, cl_state *s, const float *x, int B) {
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
double cl_run(const classifier *c, cl_state *s, const float *x, const int *labels, int n, float *feat, int *pred) {
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
int cl_load(classifier *c, const char *path) {
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

int cl_save(const classifier *c, const char *path) {
    long n = c->table.total, size = 8 + 8 + 4 * n + 8;
    unsigned char *b = malloc((size_t)size);
    if (!b) return cli_error(1, "eval: out of memory for the classifier cache");
    uint64_t nn = (uint64_t)n, sum = ds_fnv1a64(c->params, n * 4);
    memcpy(b, CL_MAGIC, 8);
    memcpy(b + 8, &nn, 8);
    memcpy(b + 16, c->params, (size_t)n * 4);
    memcpy(b + 16 + 4 * n, &sum, 8);
    const char *slash = strrchr(path, '/'); /* the default out/ may not exist yet */
    if (slash && slash != path) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
        if (access(dir, F_OK) != 0) mkdir(dir, 0777);
    }
    int rc = util_write_atomic(path, b, size);
    free(b);
    return rc ? cli_error(1, "eval: %s", ds_last_error()) : 0;
}

int cl_train(classifier *c, const fashion_set *train, int epochs, uint64_t seed) {
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

