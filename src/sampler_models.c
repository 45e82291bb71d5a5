/* sampler_models.c — models for the sampler, the Fashion sample, reading the sampler as images
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
    if (ds_model_prediction((ds_model *)ctx) == DS_PREDICT_FLOW) /* an ε- or v-model gives ε (model.h) */
        return ds_fail("this model predicts the flow velocity, not the noise: the ε samplers (ddpm, ddim, dpmpp2m, sde, "
                       "ode-heun, langevin) need an ε- or v-model; sample a flow model with flow-euler or flow-heun");
    return ds_model_forward_sampling((ds_model *)ctx, x, t, cls, NULL, NULL, B, eps);
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

const char *ds_sampler_view_name(ds_sampler_view v) {
    static const char *names[DS_VIEW_COUNT] = {"x_t", "x0", "eps"};
    return v >= 0 && v < DS_VIEW_COUNT ? names[v] : "unknown";
}

const float *ds_sampler_view_of(const ds_sampler *s, ds_sampler_view what) {
    switch (what) {
    case DS_VIEW_X_T: return ds_sampler_x(s);
    case DS_VIEW_X0: return ds_sampler_x0(s);
    case DS_VIEW_EPS: return ds_sampler_eps(s);
    default: ds_fail("read: what must be x_t, x0 or eps (got %d)", (int)what); return NULL;
    }
}

int ds_sampler_read_pixels(const ds_sampler *s, ds_sampler_view what, uint8_t *out) {
    if (!s || !out) return ds_fail("read pixels: null sampler or output");
    const float *v = ds_sampler_view_of(s, what);
    if (!v) return DS_ERR;
    long n = (long)ds_sampler_batch(s) * ds_sampler_dim(s);
    if (what != DS_VIEW_EPS) {
        ds_x_to_pixels(v, n, out);
    } else {
        for (long i = 0; i < n; i++) {
            double p = 127.5 + 42.5 * v[i];
            out[i] = !(p > 0) ? 0 : p >= 255 ? 255 : (uint8_t)floor(p + 0.5);
        }
    }
    return DS_OK;
}

int ds_gmm_predict(ds_gmm *g, ds_sampler_view what, const float *x, const float *t, const int *cls, int B, float *out) {
    if (!g) return ds_fail("gmm predict: null mixture");
    if (x && B >= 1 && B <= (1 << 20)) {
        const long D = ds_gmm_dim(g);
        for (long i = 0; i < B * D; i++)
            if (!isfinite(x[i])) return ds_fail("gmm predict: x[%ld] is not finite (item %ld)", i, i / D);
    }
    if (what == DS_VIEW_X0) return ds_gmm_denoise(g, x, t, cls, B, out);
    if (what == DS_VIEW_EPS) return ds_gmm_eps(g, x, t, cls, B, out);
    return ds_fail("gmm predict: what must be x0 or eps (got %s)", ds_sampler_view_name(what));
}

int ds_forward_noise(const ds_schedule *sch, const uint8_t *pixels, int D, int t, uint64_t seed, uint8_t *out,
                     double *info) {
    if (!sch || !pixels || !out || !info) return ds_fail("forward noise: null argument");
    if (ds_check_range_int(D, 1, 1 << 20, "image size")) return DS_ERR;
    if (ds_check_range_int(t, 0, sch->T, "timestep t")) return DS_ERR;
    double a = t ? sch->alpha_bar[t - 1] : 1.0, sa = sqrt(a), sn = sqrt(1.0 - a);
    ds_rng rng;
    ds_rng_seed(&rng, seed);
    for (int i = 0; i < D; i++) {
        double x = sa * (pixels[i] / 127.5 - 1.0) + sn * ds_rng_normal(&rng);
        float xf = (float)x;
        ds_x_to_pixels(&xf, 1, out + i);
    }
    info[0] = a;
    info[1] = sa;
    info[2] = sn;
    info[3] = t ? sch->snr[t - 1] : -1;
    return DS_OK;
}
