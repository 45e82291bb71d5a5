/* edit.c — SDEdit, inpainting with resampling, seed and class interpolation, the guidance map
 * (see edit.h). */
#include "edit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detmath.h"
#include "error.h"
#include "rng.h"

/* ---- SDEdit ---- */

int ds_edit_sdedit(ds_sampler *s, int t0, const float *x0) {
    if (!s || !x0) return ds_fail("sdedit: null sampler or image");
    const ds_schedule *sch = ds_sampler_schedule(s);
    if (ds_check_range_int(t0, 0, sch->T, "sdedit strength t0")) return DS_ERR;
    const long n = (long)ds_sampler_batch(s) * ds_sampler_dim(s);
    for (long i = 0; i < n; i++)
        if (!isfinite(x0[i])) return ds_fail("sdedit: image value %ld is not finite", i);
    if (t0 == sch->T) return ds_sampler_start_at(s, t0, ds_sampler_x(s)); /* the plain sampler (edit.h) */
    float *x = malloc(sizeof(float) * n);
    if (!x) return ds_fail("sdedit: out of memory");
    const double a = ds_schedule_abar(sch, t0), signal = sqrt(a), noise = sqrt(1.0 - a);
    const float *z = ds_sampler_x(s); /* the sampler's x_T draw, from the seed */
    for (long i = 0; i < n; i++) x[i] = t0 ? (float)(signal * x0[i] + noise * z[i]) : x0[i];
    int rc = ds_sampler_start_at(s, t0, x);
    free(x);
    return rc;
}

/* ---- inpainting ---- */

struct ds_inpaint {
    ds_sampler *s;       /* not owned */
    int B, D, resample;
    float *known;        /* (B, D) the image to keep */
    uint8_t *mask;       /* (B, D) 1 = regenerate, 0 = keep */
    float *x;            /* (B, D) scratch: x_t being edited */
    ds_rng *rng;         /* (B) one stream per image for the known pixels' noise and the jumps */
};

void ds_inpaint_free(ds_inpaint *ip) {
    if (!ip) return;
    free(ip->known), free(ip->mask), free(ip->x), free(ip->rng);
    free(ip);
}

/* The sampler's x_t with the known pixels at q(x_t | known), t the sampler's current timestep. */
static int replace_known(ds_inpaint *ip) {
    ds_sampler_info info;
    ds_sampler_get_info(ip->s, &info);
    const double signal = info.signal, noise = info.noise;
    memcpy(ip->x, ds_sampler_x(ip->s), sizeof(float) * ip->B * ip->D);
    for (int b = 0; b < ip->B; b++)
        for (int j = 0; j < ip->D; j++) {
            long i = (long)b * ip->D + j;
            if (ip->mask[i]) continue;
            /* t = 0: noise = 0 and signal = 1, so the pixel is the known one exactly */
            ip->x[i] = info.t ? (float)(signal * ip->known[i] + noise * ds_rng_normal(&ip->rng[b])) : ip->known[i];
        }
    return ds_sampler_replace_x(ip->s, ip->x);
}

ds_inpaint *ds_inpaint_create(ds_sampler *s, const float *known, const uint8_t *mask, int resample, uint64_t seed) {
    if (!s || !known || !mask) { ds_fail("inpaint: null sampler, image or mask"); return NULL; }
    if (ds_check_range_int(resample, 1, DS_INPAINT_MAX_RESAMPLE, "inpaint resampling r")) return NULL;
    if (resample > 1 && ds_sampler_get_params(s)->kind == DS_SAMPLER_DPMPP2M) {
        ds_fail("inpaint: resampling (r = %d) needs a one-step sampler (ddpm or ddim), not dpmpp2m", resample);
        return NULL;
    }
    const int B = ds_sampler_batch(s), D = ds_sampler_dim(s);
    const long n = (long)B * D;
    for (long i = 0; i < n; i++) {
        if (!isfinite(known[i])) { ds_fail("inpaint: image value %ld is not finite", i); return NULL; }
        if (mask[i] > 1) { ds_fail("inpaint: mask value %ld is %d (expected 0 = keep, 1 = regenerate)", i, mask[i]); return NULL; }
    }
    ds_inpaint *ip = calloc(1, sizeof *ip);
    if (!ip) { ds_fail("inpaint: out of memory"); return NULL; }
    *ip = (ds_inpaint){.s = s, .B = B, .D = D, .resample = resample};
    ip->known = malloc(sizeof(float) * n);
    ip->mask = malloc((size_t)n);
    ip->x = malloc(sizeof(float) * n);
    ip->rng = malloc(sizeof(ds_rng) * B);
    if (!ip->known || !ip->mask || !ip->x || !ip->rng) {
        ds_fail("inpaint: out of memory for %d x %d", B, D);
        ds_inpaint_free(ip);
        return NULL;
    }
    memcpy(ip->known, known, sizeof(float) * n);
    memcpy(ip->mask, mask, (size_t)n);
    for (int b = 0; b < B; b++) ds_rng_seed(&ip->rng[b], seed ^ ((uint64_t)(b + 1) * 0x9E3779B97F4A7C15ULL));
    if (replace_known(ip)) {
        ds_inpaint_free(ip);
        return NULL;
    }
    return ip;
}

/* x_t' (the sampler's x) back to x_t: x_t = √(ᾱ_t/ᾱ_t') x_t' + √(1 − ᾱ_t/ᾱ_t') z. */
static int jump_back(ds_inpaint *ip, int t, int t_next) {
    const ds_schedule *sch = ds_sampler_schedule(ip->s);
    const double ratio = ds_schedule_abar(sch, t) / ds_schedule_abar(sch, t_next), keep = sqrt(ratio), noise = sqrt(1.0 - ratio);
    const float *x = ds_sampler_x(ip->s);
    for (int b = 0; b < ip->B; b++)
        for (int j = 0; j < ip->D; j++) {
            long i = (long)b * ip->D + j;
            ip->x[i] = (float)(keep * x[i] + noise * ds_rng_normal(&ip->rng[b]));
        }
    return ds_sampler_rewind(ip->s, ip->x);
}

int ds_inpaint_step(ds_inpaint *ip) {
    if (!ip) return ds_fail("inpaint step: null inpainting");
    ds_sampler_info info;
    ds_sampler_get_info(ip->s, &info);
    const int t = info.t;
    for (int k = 0; k < ip->resample; k++) {
        if (ds_sampler_step(ip->s) || replace_known(ip)) return DS_ERR;
        if (k + 1 < ip->resample && jump_back(ip, t, ds_sampler_timestep_at(ip->s, info.step + 1))) return DS_ERR;
    }
    return DS_OK;
}

/* ---- interpolation ---- */

/* acos by bisection on ds_cos (falls on [0, π]): only detmath, so the same bits everywhere. */
static double det_acos(double c) {
    if (c >= 1.0) return 0.0;
    if (c <= -1.0) return 3.14159265358979323846;
    double lo = 0.0, hi = 3.14159265358979323846;
    for (int i = 0; i < 64; i++) {
        double mid = 0.5 * (lo + hi);
        if (ds_cos(mid) > c) lo = mid; else hi = mid;
    }
    return 0.5 * (lo + hi);
}

int ds_edit_slerp_noise(uint64_t seed_a, uint64_t seed_b, const double *u, int B, int D, float *x) {
    if (!u || !x) return ds_fail("slerp noise: null argument");
    if (ds_check_range_int(B, 1, DS_SAMPLER_MAX_BATCH, "batch") || ds_check_range_int(D, 1, 1 << 20, "dimension D"))
        return DS_ERR;
    for (int b = 0; b < B; b++)
        if (!(u[b] >= 0.0 && u[b] <= 1.0)) return ds_fail("slerp noise: u[%d] = %g must be in [0, 1]", b, u[b]);
    float *za = malloc(sizeof(float) * 2 * (size_t)D);
    if (!za) return ds_fail("slerp noise: out of memory");
    float *zb = za + D;
    ds_sampler_initial_noise(seed_a, 0, D, za);
    ds_sampler_initial_noise(seed_b, 0, D, zb);
    double dot = 0, na = 0, nb = 0;
    for (int j = 0; j < D; j++) dot += (double)za[j] * zb[j], na += (double)za[j] * za[j], nb += (double)zb[j] * zb[j];
    const double theta = det_acos(dot / sqrt(na * nb)), sin_theta = ds_sin(theta);
    for (int b = 0; b < B; b++) {
        float *xb = x + (long)b * D;
        if (u[b] == 0.0 || u[b] == 1.0) { /* each end is its own seed's draw, bit for bit */
            memcpy(xb, u[b] == 0.0 ? za : zb, sizeof(float) * D);
            continue;
        }
        double ca = 1.0 - u[b], cb = u[b]; /* nearly parallel draws: the straight line is the arc */
        if (sin_theta > 1e-6) ca = ds_sin((1.0 - u[b]) * theta) / sin_theta, cb = ds_sin(u[b] * theta) / sin_theta;
        for (int j = 0; j < D; j++) xb[j] = (float)(ca * za[j] + cb * zb[j]);
    }
    free(za);
    return DS_OK;
}

struct ds_class_blend {
    ds_model *model;   /* may be NULL (ds_class_blend_forward is then given one) */
    int B;
    int *cls_to;       /* (B) */
    float *weight;     /* (B) */
    int *item_cls2;    /* (2B) per model item: the second class */
    float *item_w;     /* (2B) per model item: its weight */
};

ds_class_blend *ds_class_blend_create(ds_model *model, const int *cls_to, const float *weight, int B) {
    if (!cls_to || !weight) { ds_fail("class blend: null classes or weights"); return NULL; }
    if (ds_check_range_int(B, 1, DS_SAMPLER_MAX_BATCH, "batch")) return NULL;
    for (int b = 0; b < B; b++) {
        if (ds_check_range_int(cls_to[b], 0, DS_NO_CLASS - 1, "class to blend toward")) return NULL;
        if (!(weight[b] >= 0.0f && weight[b] <= 1.0f)) {
            ds_fail("class blend: weight[%d] = %g must be in [0, 1]", b, weight[b]);
            return NULL;
        }
    }
    ds_class_blend *cb = calloc(1, sizeof *cb);
    if (!cb) { ds_fail("class blend: out of memory"); return NULL; }
    cb->model = model;
    cb->B = B;
    cb->cls_to = malloc(sizeof(int) * B);
    cb->weight = malloc(sizeof(float) * B);
    cb->item_cls2 = malloc(sizeof(int) * 2 * B);
    cb->item_w = malloc(sizeof(float) * 2 * B);
    if (!cb->cls_to || !cb->weight || !cb->item_cls2 || !cb->item_w) {
        ds_class_blend_free(cb);
        ds_fail("class blend: out of memory");
        return NULL;
    }
    memcpy(cb->cls_to, cls_to, sizeof(int) * B);
    memcpy(cb->weight, weight, sizeof(float) * B);
    return cb;
}

void ds_class_blend_free(ds_class_blend *cb) {
    if (!cb) return;
    free(cb->cls_to), free(cb->weight), free(cb->item_cls2), free(cb->item_w);
    free(cb);
}

int ds_class_blend_forward(ds_class_blend *cb, ds_model *m, const float *x, const float *t, const int *cls, int M,
                           float *eps) {
    if (!cb || !m || !cls) return ds_fail("class blend: null blend, model or classes");
    if (M != cb->B && M != 2 * cb->B)
        return ds_fail("class blend: %d model items for %d images (expected B or 2B)", M, cb->B);
    for (int i = 0; i < M; i++) {
        const int b = i % cb->B, conditional = cls[i] != DS_NO_CLASS;
        cb->item_cls2[i] = conditional ? cb->cls_to[b] : DS_NO_CLASS;
        cb->item_w[i] = conditional ? cb->weight[b] : 0.0f;
    }
    return ds_model_forward_sampling(m, x, t, cls, cb->item_cls2, cb->item_w, M, eps);
}

int ds_class_blend_eps(void *ctx, const float *x, const float *t, const int *cls, int M, float *eps) {
    ds_class_blend *cb = ctx;
    return ds_class_blend_forward(cb, cb ? cb->model : NULL, x, t, cls, M, eps);
}

/* ---- what guidance adds, and a whole run ---- */

int ds_edit_guidance_map(const ds_sampler *s, float *map) {
    if (!s || !map) return ds_fail("guidance map: null argument");
    const float *halves = ds_sampler_eps_halves(s);
    if (!halves) return ds_fail("guidance map: the sampler is not guided (guidance 1 runs no unconditional half)");
    const long n = (long)ds_sampler_batch(s) * ds_sampler_dim(s);
    ds_sampler_info info;
    ds_sampler_get_info(s, &info);
    if (info.t_pred < 0) { /* no step yet: nothing predicted */
        memset(map, 0, sizeof(float) * n);
        return DS_OK;
    }
    for (long i = 0; i < n; i++) map[i] = halves[i] - halves[n + i];
    return DS_OK;
}

int ds_edit_run(ds_sampler *s, ds_inpaint *ip, float *x_frames, float *x0_frames, float *guide_frames,
                ds_sampler_info *infos) {
    if (!s || !x_frames) return ds_fail("edit run: null sampler or frame buffer");
    if (ip && ip->s != s) return ds_fail("edit run: the inpainting belongs to another sampler");
    if (guide_frames && !ds_sampler_eps_halves(s))
        return ds_fail("edit run: no guidance map without guidance (the sampler's guidance is 1)");
    const long item = (long)ds_sampler_batch(s) * ds_sampler_dim(s);
    const int frames = ds_sampler_frames_left(s);
    for (int f = 0; f < frames; f++) {
        if (f > 0 && (ip ? ds_inpaint_step(ip) : ds_sampler_step(s))) return DS_ERR;
        memcpy(x_frames + f * item, ds_sampler_x(s), sizeof(float) * item);
        if (x0_frames) memcpy(x0_frames + f * item, ds_sampler_x0(s), sizeof(float) * item);
        if (guide_frames && ds_edit_guidance_map(s, guide_frames + f * item)) return DS_ERR;
        if (infos) ds_sampler_get_info(s, &infos[f]);
    }
    return frames;
}
