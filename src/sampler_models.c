/* sampler_models.c — models for the sampler, the Fashion sample, and the sampler's WASM API
 * (see sampler_models.h). */
#include "sampler_models.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "model.h"
#include "rng.h"
#include "sampler.h"

int ds_model_eps(void *ctx, const float *x, const float *t, const int *cls, int B, float *eps) {
    if (!ctx) return ds_fail("model adapter: null model");
    return ds_model_forward((ds_model *)ctx, x, t, cls, B, eps);
}

void ds_pixels_to_x(const uint8_t *pixels, long n, float *x) {
    for (long i = 0; i < n; i++) x[i] = (float)(pixels[i] / 127.5 - 1.0);
}

void ds_x_to_pixels(const float *x, long n, uint8_t *pixels) {
    for (long i = 0; i < n; i++) {
        double v = ((double)x[i] + 1.0) * 127.5;
        pixels[i] = !(v > 0) ? 0 : v >= 255 ? 255 : (uint8_t)floor(v + 0.5); /* NaN -> 0 */
    }
}

static uint32_t read_u32(const uint8_t *p) { return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

int ds_fashion_sample_parse(const uint8_t *bytes, size_t n, ds_fashion_sample *out) {
    if (!bytes || !out) return ds_fail("fashion sample: null argument");
    if (n < DS_FASHION_SAMPLE_HEADER || memcmp(bytes, DS_FASHION_SAMPLE_MAGIC, 4))
        return ds_fail("fashion sample: not a sample file (bad magic; expected \"DSFS\")");
    uint32_t version = read_u32(bytes + 4), count = read_u32(bytes + 8), rows = read_u32(bytes + 12), cols = read_u32(bytes + 16);
    if (version != DS_FASHION_SAMPLE_VERSION)
        return ds_fail("fashion sample: version %u, this build reads version %d (regenerate it with `diffuscope fashion-sample`)",
                       version, DS_FASHION_SAMPLE_VERSION);
    if (count < 1 || count > 100000 || rows < 1 || rows > 1024 || cols < 1 || cols > 1024)
        return ds_fail("fashion sample: implausible shape %u x %u x %u", count, rows, cols);
    size_t want = DS_FASHION_SAMPLE_HEADER + (size_t)count + (size_t)count * rows * cols;
    if (n != want) return ds_fail("fashion sample: %zu bytes, but %u images of %ux%u need %zu", n, count, rows, cols, want);
    const uint8_t *labels = bytes + DS_FASHION_SAMPLE_HEADER;
    for (uint32_t i = 0; i < count; i++)
        if (labels[i] > 9) return ds_fail("fashion sample: label %u of image %u is not a class 0..9", labels[i], i);
    out->count = (int)count;
    out->rows = (int)rows;
    out->cols = (int)cols;
    out->labels = labels;
    out->pixels = labels + count;
    return DS_OK;
}

ds_gmm *ds_gmm_from_images(const ds_schedule *schedule, const uint8_t *pixels, const uint8_t *labels, int count, int D,
                           double var) {
    if (!pixels || !labels) { ds_fail("gmm from images: null pixels or labels"); return NULL; }
    if (ds_check_range_int(count, 1, 1 << 16, "image count") || ds_check_range_int(D, 1, 1 << 20, "image size")) return NULL;
    if (ds_check_range(var, 0.0, 100.0, "mixture variance")) return NULL;
    long n = (long)count * D;
    if (n > (1L << 24)) { ds_fail("gmm from images: %d images of %d pixels is too many", count, D); return NULL; }
    double *weight = malloc(sizeof(double) * count);
    float *mean = malloc(sizeof(float) * n), *v = malloc(sizeof(float) * n);
    int *label = malloc(sizeof(int) * count);
    ds_gmm *g = NULL;
    if (!weight || !mean || !v || !label) {
        ds_fail("gmm from images: out of memory");
    } else {
        for (int k = 0; k < count; k++) {
            weight[k] = 1.0;
            label[k] = labels[k] <= 9 ? labels[k] : -1;
        }
        ds_pixels_to_x(pixels, n, mean);
        for (long i = 0; i < n; i++) v[i] = (float)var;
        g = ds_gmm_create(schedule, count, D, weight, mean, v, label);
    }
    free(weight);
    free(mean);
    free(v);
    free(label);
    return g;
}

/* ---- WebAssembly API: small handle tables, so a stale handle is an error, not a crash ---- */

#define MAX_GMMS 16
#define MAX_SAMPLINGS 64

typedef struct {
    ds_sampler *sampler;
    int source;       /* engine model handle, or index into g_gmms */
    int is_gmm;
} sampling;

static ds_gmm *g_gmms[MAX_GMMS];
static sampling *g_samplings[MAX_SAMPLINGS];

static int engine_eps(void *ctx, const float *x, const float *t, const int *cls, int B, float *eps) {
    return ds_engine_forward(((sampling *)ctx)->source, x, t, cls, B, eps) < 0 ? DS_ERR : DS_OK;
}

static int table_gmm_eps(void *ctx, const float *x, const float *t, const int *cls, int B, float *eps) {
    int i = ((sampling *)ctx)->source;
    if (!g_gmms[i]) return ds_fail("the mixture of this sampler (handle %d) has been freed", i);
    return ds_gmm_eps(g_gmms[i], x, t, cls, B, eps);
}

int ds_gmm_images_new(const uint8_t *pixels, const uint8_t *labels, int count, int D, double var, int schedule_kind) {
    static ds_schedule sch; /* 40 KB: too big for the default WASM stack */
    if (ds_schedule_init(&sch, (ds_schedule_kind)schedule_kind, DS_MAX_T)) return DS_ERR;
    int slot = -1;
    for (int i = 0; i < MAX_GMMS && slot < 0; i++) if (!g_gmms[i]) slot = i;
    if (slot < 0) return ds_fail("too many mixtures (%d); free one first", MAX_GMMS);
    g_gmms[slot] = ds_gmm_from_images(&sch, pixels, labels, count, D, var);
    return g_gmms[slot] ? slot : DS_ERR;
}

int ds_gmm_new(int K, int D, const double *weight, const float *mean, const float *var, const int *label,
               int schedule_kind) {
    static ds_schedule sch;
    if (ds_schedule_init(&sch, (ds_schedule_kind)schedule_kind, DS_MAX_T)) return DS_ERR;
    int slot = -1;
    for (int i = 0; i < MAX_GMMS && slot < 0; i++) if (!g_gmms[i]) slot = i;
    if (slot < 0) return ds_fail("too many mixtures (%d); free one first", MAX_GMMS);
    g_gmms[slot] = ds_gmm_create(&sch, K, D, weight, mean, var, label);
    return g_gmms[slot] ? slot : DS_ERR;
}

int ds_gmm_predict(int gmm, int what, const float *x, const float *t, const int *cls, int B, float *out) {
    if (gmm < 0 || gmm >= MAX_GMMS || !g_gmms[gmm]) return ds_fail("no mixture with handle %d", gmm);
    if (x && B >= 1 && B <= (1 << 20)) { /* the model path (ds_engine_forward) refuses NaN x too */
        const long D = ds_gmm_dim(g_gmms[gmm]);
        for (long i = 0; i < B * D; i++)
            if (!isfinite(x[i])) return ds_fail("gmm predict: x[%ld] is not finite (item %ld)", i, i / D);
    }
    if (what == 0) return ds_gmm_denoise(g_gmms[gmm], x, t, cls, B, out);
    if (what == 1) return ds_gmm_eps(g_gmms[gmm], x, t, cls, B, out);
    return ds_fail("gmm predict: what must be 0 (x0) or 1 (eps), got %d", what);
}

int ds_gmm_images_free(int gmm) {
    if (gmm < 0 || gmm >= MAX_GMMS || !g_gmms[gmm]) return ds_fail("no mixture with handle %d", gmm);
    ds_gmm_free(g_gmms[gmm]);
    g_gmms[gmm] = NULL;
    return DS_OK;
}

static int sampling_new(int source, int is_gmm, const ds_schedule *sch, int D, int kind, int steps, double eta,
                        double guidance, double clip, double seed, int batch, const int *cls) {
    if (ds_check_range(seed, 0, 9007199254740992.0, "seed") || seed != floor(seed))
        return ds_fail("seed must be a whole number between 0 and 2^53 (got %g)", seed);
    if (ds_check_range_int(batch, 1, DS_SAMPLER_MAX_BATCH, "batch")) return DS_ERR;
    if (!cls) return ds_fail("sampler: null class array");
    int slot = -1;
    for (int i = 0; i < MAX_SAMPLINGS && slot < 0; i++) if (!g_samplings[i]) slot = i;
    if (slot < 0) return ds_fail("too many samplers (%d); free one first", MAX_SAMPLINGS);
    sampling *sm = calloc(1, sizeof *sm);
    if (!sm) return ds_fail("sampler: out of memory");
    sm->source = source;
    sm->is_gmm = is_gmm;
    ds_sampler_params p;
    ds_sampler_params_init(&p);
    p.kind = (ds_sampler_kind)kind;
    p.steps = steps;
    p.eta = eta;
    p.guidance = guidance;
    p.clip = clip;
    p.seed = (uint64_t)seed;
    p.batch = batch;
    sm->sampler = ds_sampler_create(sch, D, is_gmm ? table_gmm_eps : engine_eps, sm, &p, cls);
    if (!sm->sampler) {
        free(sm);
        return DS_ERR;
    }
    g_samplings[slot] = sm;
    return slot;
}

int ds_sampling_new_model(int model, int schedule_kind, int kind, int steps, double eta, double guidance, double clip,
                          double seed, int batch, const int *cls) {
    static ds_schedule sch; /* 40 KB: too big for the default WASM stack */
    double info[48];
    if (ds_engine_info(model, info) < 0) return DS_ERR;
    if (ds_schedule_init(&sch, (ds_schedule_kind)schedule_kind, DS_MAX_T)) return DS_ERR;
    return sampling_new(model, 0, &sch, (int)info[3], kind, steps, eta, guidance, clip, seed, batch, cls);
}

int ds_sampling_new_gmm(int gmm, int kind, int steps, double eta, double guidance, double clip, double seed, int batch,
                        const int *cls) {
    if (gmm < 0 || gmm >= MAX_GMMS || !g_gmms[gmm]) return ds_fail("no mixture with handle %d", gmm);
    /* the mixture holds its own schedule; the sampler must use the same one */
    return sampling_new(gmm, 1, ds_gmm_schedule(g_gmms[gmm]), ds_gmm_dim(g_gmms[gmm]), kind, steps, eta, guidance, clip, seed, batch, cls);
}

static sampling *get(int h) {
    if (h < 0 || h >= MAX_SAMPLINGS || !g_samplings[h]) {
        ds_fail("no sampler with handle %d", h);
        return NULL;
    }
    return g_samplings[h];
}

int ds_sampling_step(int h, int n) {
    sampling *sm = get(h);
    if (!sm) return DS_ERR;
    if (ds_check_range_int(n, 0, DS_MAX_T, "number of steps")) return DS_ERR;
    for (int i = 0; i < n && !ds_sampler_done(sm->sampler); i++)
        if (ds_sampler_step(sm->sampler)) return DS_ERR;
    ds_sampler_info info;
    ds_sampler_get_info(sm->sampler, &info);
    return info.step;
}

static const float *view(sampling *sm, int what) {
    switch (what) {
    case 0: return ds_sampler_x(sm->sampler);
    case 1: return ds_sampler_x0(sm->sampler);
    case 2: return ds_sampler_eps(sm->sampler);
    default: ds_fail("read: what must be 0 (x_t), 1 (x0_hat) or 2 (eps_hat), got %d", what); return NULL;
    }
}

int ds_sampling_read(int h, int what, float *out) {
    sampling *sm = get(h);
    if (!sm || !out) return sm ? ds_fail("read: null output") : DS_ERR;
    const float *v = view(sm, what);
    if (!v) return DS_ERR;
    memcpy(out, v, sizeof(float) * ds_sampler_batch(sm->sampler) * ds_sampler_dim(sm->sampler));
    return DS_OK;
}

int ds_sampling_read_u8(int h, int what, uint8_t *out) {
    sampling *sm = get(h);
    if (!sm || !out) return sm ? ds_fail("read: null output") : DS_ERR;
    const float *v = view(sm, what);
    if (!v) return DS_ERR;
    long n = (long)ds_sampler_batch(sm->sampler) * ds_sampler_dim(sm->sampler);
    if (what != 2) {
        ds_x_to_pixels(v, n, out);
    } else {
        for (long i = 0; i < n; i++) {
            double p = 127.5 + 42.5 * v[i];
            out[i] = !(p > 0) ? 0 : p >= 255 ? 255 : (uint8_t)floor(p + 0.5);
        }
    }
    return DS_OK;
}

int ds_sampling_info(int h, double *out) {
    sampling *sm = get(h);
    if (!sm || !out) return sm ? ds_fail("info: null output") : DS_ERR;
    ds_sampler_info info;
    ds_sampler_get_info(sm->sampler, &info);
    out[0] = info.step;
    out[1] = info.steps;
    out[2] = info.t;
    out[3] = info.t_pred;
    out[4] = info.alpha_bar;
    out[5] = info.signal;
    out[6] = info.noise;
    out[7] = isinf(info.snr) ? -1 : info.snr;
    out[8] = ds_sampler_batch(sm->sampler);
    out[9] = ds_sampler_dim(sm->sampler);
    return DS_OK;
}

int ds_sampling_frame(int h, uint8_t *x_out, uint8_t *x0_out, double *info) {
    if (ds_sampling_read_u8(h, 0, x_out) || ds_sampling_read_u8(h, 1, x0_out)) return DS_ERR;
    return ds_sampling_info(h, info);
}

int ds_sampling_free(int h) {
    sampling *sm = get(h);
    if (!sm) return DS_ERR;
    ds_sampler_free(sm->sampler);
    free(sm);
    g_samplings[h] = NULL;
    return DS_OK;
}

int ds_forward_noise(const uint8_t *pixels, int D, int t, int schedule_kind, double seed, uint8_t *out, double *info) {
    static ds_schedule sch;
    if (!pixels || !out || !info) return ds_fail("forward noise: null argument");
    if (ds_check_range_int(D, 1, 1 << 20, "image size")) return DS_ERR;
    if (ds_schedule_init(&sch, (ds_schedule_kind)schedule_kind, DS_MAX_T)) return DS_ERR;
    if (ds_check_range_int(t, 0, sch.T, "timestep t")) return DS_ERR;
    if (ds_check_range(seed, 0, 9007199254740992.0, "seed") || seed != floor(seed))
        return ds_fail("seed must be a whole number between 0 and 2^53 (got %g)", seed);
    double a = t ? sch.alpha_bar[t - 1] : 1.0, sa = sqrt(a), sn = sqrt(1.0 - a);
    ds_rng rng;
    ds_rng_seed(&rng, (uint64_t)seed);
    for (int i = 0; i < D; i++) {
        double x = sa * (pixels[i] / 127.5 - 1.0) + sn * ds_rng_normal(&rng);
        float xf = (float)x;
        ds_x_to_pixels(&xf, 1, out + i);
    }
    info[0] = a;
    info[1] = sa;
    info[2] = sn;
    info[3] = t ? sch.snr[t - 1] : -1;
    return DS_OK;
}
