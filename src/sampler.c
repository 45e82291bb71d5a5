/* sampler.c — DDPM, DDIM and DPM-Solver++(2M) as one stepping loop (see sampler.h). */
#include "sampler.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detmath.h"
#include "error.h"
#include "rng.h"

struct ds_sampler {
    ds_schedule schedule;
    ds_sampler_params p;
    int D, B;
    ds_eps_fn model;
    void *model_ctx;
    int guided;            /* 1: the model runs on 2B inputs (cond, then uncond) */
    int step;              /* steps taken */
    int *timesteps;        /* (steps + 1) t_0 = T > ... > t_{S-1} >= 1, then 0 */
    int *cls;              /* (B) class per image */
    float *x;              /* (B, D) current x_t */
    float *x0;             /* (B, D) last x̂_0 */
    float *x0_spare;       /* (B, D) where the next x̂_0 is written, then swapped with x0 */
    float *eps;            /* (B, D) last ε̂ (guided combination) */
    float *model_x;        /* (2B, D) guided: x twice; unused otherwise */
    float *model_eps;      /* (2B, D) guided: ε_c then ε_u; unused otherwise */
    float *model_t;        /* (2B) timestep per model input */
    int *model_cls;        /* (2B) class per model input */
    ds_rng *rng;           /* (B) one generator per image */
    double h_prev;         /* DPM-Solver++: λ step of the previous update */
};

void ds_sampler_params_init(ds_sampler_params *p) {
    memset(p, 0, sizeof *p);
    p->kind = DS_SAMPLER_DDIM;
    p->steps = 20;
    p->eta = 0.0;
    p->guidance = 1.0;
    p->guidance_t_lo = 0;
    p->guidance_t_hi = DS_GUIDANCE_T_ALL;
    p->clip = 0.0;
    p->spacing = 0.0;
    p->seed = 0;
    p->batch = 1;
    p->lambda_min = DS_DPM_LAMBDA_MIN;
}

static int check_guidance_interval(int lo, int hi) {
    if (ds_check_range_int(lo, 0, DS_GUIDANCE_T_ALL, "guidance interval start")) return DS_ERR;
    if (hi < lo) return ds_fail("guidance interval: the end %d is below the start %d", hi, lo);
    return ds_check_range_int(hi, 0, DS_GUIDANCE_T_ALL, "guidance interval end");
}

static const char *KIND_NAMES[DS_SAMPLER_COUNT] = {"ddpm", "ddim", "dpmpp2m"};

int ds_sampler_kind_parse(const char *name, ds_sampler_kind *kind) {
    char choices[128] = "";
    for (int k = 0; k < DS_SAMPLER_COUNT; k++) {
        if (name && !strcmp(name, KIND_NAMES[k])) { *kind = (ds_sampler_kind)k; return DS_OK; }
        snprintf(choices + strlen(choices), sizeof choices - strlen(choices), "%s%s", k ? ", " : "", KIND_NAMES[k]);
    }
    return ds_fail("unknown sampler '%s' (expected one of %s)", name ? name : "(null)", choices);
}

const char *ds_sampler_kind_name(ds_sampler_kind kind) {
    return (unsigned)kind < DS_SAMPLER_COUNT ? KIND_NAMES[kind] : "unknown";
}

int ds_sampler_timesteps(const ds_schedule *sch, ds_sampler_kind kind, int S, int *out) {
    return ds_sampler_timesteps_from(sch, kind, S, DS_DPM_LAMBDA_MIN, out);
}

static int check_spacing(double spacing) {
    if (spacing == 0.0) return DS_OK; /* the kind's own placement */
    if (!(spacing >= 1.0 && spacing <= 4.0))
        return ds_fail("step spacing power must be 0 (the sampler's own placement) or between 1 and 4 (got %g)", spacing);
    return DS_OK;
}

/* S steps from t_top (T, or SDEdit's t_0) down to 1, spaced as from T (see the top). */
static int timesteps_below(const ds_schedule *sch, int t_top, ds_sampler_kind kind, int S, double lambda_min,
                           double spacing, int *out) {
    if (!sch || !out) return ds_fail("sampler timesteps: null argument");
    if (isnan(lambda_min)) return ds_fail("sampler timesteps: lambda_min is NaN");
    if (check_spacing(spacing)) return DS_ERR;
    const int T = t_top;
    if (ds_check_range_int(sch->T, 1, DS_MAX_T, "number of diffusion steps T")) return DS_ERR;
    if (ds_check_range_int(T, 1, sch->T, "starting timestep")) return DS_ERR;
    if (ds_check_range_int(S, 1, T, "sampler steps")) return DS_ERR;
    if (S == 1) { out[0] = T; return DS_OK; }
    /* DPM-Solver++'s own placement (spacing 0) is uniform in λ, below; every other one is in t */
    const int in_lambda = kind == DS_SAMPLER_DPMPP2M && T >= 2 && spacing == 0.0;
    if (!in_lambda && (spacing == 0.0 || spacing == 1.0)) {
        /* t_i = T - round(i (T-1) / (S-1)): distinct since consecutive values differ by >= 1 */
        for (int i = 0; i < S; i++) out[i] = T - (int)((2L * i * (T - 1) + (S - 1)) / (2L * (S - 1)));
        return DS_OK;
    }
    if (!in_lambda) {
        /* t_i = 1 + round((T-1) u^p), u = 1 - i/(S-1): T first, 1 last; where rounding would
         * repeat a step at the dense end, each takes the next lower t that leaves room below */
        for (int i = 0; i < S; i++) {
            const double u = 1.0 - (double)i / (S - 1);
            const double up = u > 0 ? ds_exp(spacing * ds_log(u)) : 0.0; /* u^p, the same bits in WASM */
            int t = 1 + (int)floor((T - 1) * up + 0.5);
            if (i && t >= out[i - 1]) t = out[i - 1] - 1;
            if (t < S - i) t = S - i;
            out[i] = t;
        }
        return DS_OK;
    }
    /* uniform in λ = log(SNR)/2 from max(λ_T, lambda_min) to λ_1: the nearest t to each target
     * (λ falls with t) */
    double lam_T = 0.5 * ds_log(sch->snr[T - 1]);
    const double lam_1 = 0.5 * ds_log(sch->snr[0]);
    if (lam_T < lambda_min && lambda_min < lam_1) lam_T = lambda_min;
    for (int i = 0; i < S; i++) {
        double target = lam_T + (lam_1 - lam_T) * i / (S - 1);
        int lo = 1, hi = T; /* find the first t with λ_t <= target */
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            if (0.5 * ds_log(sch->snr[mid - 1]) <= target) hi = mid; else lo = mid + 1;
        }
        int t = lo;
        if (t > 1 && fabs(0.5 * ds_log(sch->snr[t - 2]) - target) < fabs(0.5 * ds_log(sch->snr[t - 1]) - target)) t--;
        /* keep room for a strictly decreasing sequence T >= ... >= 1, then force it */
        if (t > T - i) t = T - i;
        if (t < S - i) t = S - i;
        if (i && t >= out[i - 1]) t = out[i - 1] - 1;
        out[i] = t;
    }
    return DS_OK;
}

int ds_sampler_timesteps_from(const ds_schedule *sch, ds_sampler_kind kind, int S, double lambda_min, int *out) {
    return timesteps_below(sch, sch ? sch->T : 0, kind, S, lambda_min, 0.0, out);
}

int ds_sampler_timesteps_spaced(const ds_schedule *sch, ds_sampler_kind kind, int S, double spacing, int *out) {
    return timesteps_below(sch, sch ? sch->T : 0, kind, S, DS_DPM_LAMBDA_MIN, spacing, out);
}

/* Image `image`'s noise stream: x_T first, then the noise each step injects. */
static void sampler_stream(ds_rng *rng, uint64_t seed, long image) {
    ds_rng_seed(rng, seed ^ ((uint64_t)(image + 1) * 0xD1B54A32D192ED03ULL));
}

void ds_sampler_initial_noise(uint64_t seed, long image, int D, float *x) {
    ds_rng rng;
    sampler_stream(&rng, seed, image);
    ds_rng_fill_normal_f32(&rng, x, D);
}

ds_sampler *ds_sampler_create(const ds_schedule *schedule, int D, ds_eps_fn model, void *model_ctx,
                              const ds_sampler_params *params, const int *cls) {
    if (!schedule || !model || !params) { ds_fail("sampler: null schedule, model or params"); return NULL; }
    if (ds_check_range_int(schedule->T, 1, DS_MAX_T, "schedule T")) return NULL;
    if (ds_check_range_int(D, 1, 1 << 20, "data dimension D")) return NULL;
    if (ds_check_range_int(params->batch, 1, DS_SAMPLER_MAX_BATCH, "batch")) return NULL;
    if ((unsigned)params->kind >= DS_SAMPLER_COUNT) {
        ds_fail("unknown sampler kind %d (expected 0..%d: ds_sampler_kind_name)", (int)params->kind, DS_SAMPLER_COUNT - 1);
        return NULL;
    }
    if (ds_check_range_int(params->steps, 1, schedule->T, "sampler steps")) return NULL;
    if (ds_check_range(params->eta, 0.0, 1.0, "eta")) return NULL;
    if (ds_check_range(params->guidance, -100.0, 100.0, "guidance")) return NULL;
    if (check_guidance_interval(params->guidance_t_lo, params->guidance_t_hi)) return NULL;
    if (ds_check_range(params->clip, 0.0, 1e6, "x0 clip")) return NULL;
    if (isnan(params->lambda_min)) { ds_fail("sampler: lambda_min is NaN"); return NULL; }
    if (check_spacing(params->spacing)) return NULL;
    if (params->first_image < 0) { ds_fail("first image index must be >= 0 (got %ld)", params->first_image); return NULL; }
    long BD = (long)params->batch * D;
    if (BD > (1L << 26)) { ds_fail("batch x dimension too large (%ld values)", BD); return NULL; }
    if (cls)
        for (int b = 0; b < params->batch; b++)
            if (ds_check_range_int(cls[b], 0, DS_NO_CLASS, "class")) return NULL;

    ds_sampler *s = calloc(1, sizeof *s);
    if (!s) { ds_fail("sampler: out of memory"); return NULL; }
    s->schedule = *schedule;
    s->p = *params;
    s->D = D;
    s->B = params->batch;
    s->model = model;
    s->model_ctx = model_ctx;
    s->guided = params->guidance != 1.0;
    int M = s->guided ? 2 * s->B : s->B; /* model batch */
    s->timesteps = malloc(sizeof(int) * (params->steps + 1));
    s->cls = malloc(sizeof(int) * s->B);
    s->x = malloc(sizeof(float) * BD);
    s->x0 = calloc((size_t)BD, sizeof(float));
    s->x0_spare = calloc((size_t)BD, sizeof(float));
    s->eps = calloc((size_t)BD, sizeof(float));
    if (s->guided) {
        s->model_x = malloc(sizeof(float) * 2 * BD);
        s->model_eps = malloc(sizeof(float) * 2 * BD);
    }
    s->model_t = malloc(sizeof(float) * M);
    s->model_cls = malloc(sizeof(int) * M);
    s->rng = malloc(sizeof(ds_rng) * s->B);
    if (!s->timesteps || !s->cls || !s->x || !s->x0 || !s->x0_spare || !s->eps || !s->model_t || !s->model_cls ||
        !s->rng || (s->guided && (!s->model_x || !s->model_eps))) {
        ds_fail("sampler: out of memory for batch %d x %d", params->batch, D);
        ds_sampler_free(s);
        return NULL;
    }
    timesteps_below(schedule, schedule->T, params->kind, params->steps, params->lambda_min, params->spacing, s->timesteps);
    s->timesteps[params->steps] = 0;
    for (int b = 0; b < s->B; b++) {
        s->cls[b] = cls ? cls[b] : DS_NO_CLASS;
        /* one stream per image: image b does not depend on how many others are in the batch */
        sampler_stream(&s->rng[b], params->seed, params->first_image + b);
        ds_rng_fill_normal_f32(&s->rng[b], s->x + (long)b * D, D);
    }
    for (int i = 0; i < M; i++) s->model_cls[i] = i < s->B ? s->cls[i] : DS_NO_CLASS;
    return s;
}

void ds_sampler_free(ds_sampler *s) {
    if (!s) return;
    free(s->timesteps);
    free(s->cls);
    free(s->x);
    free(s->x0);
    free(s->x0_spare);
    free(s->eps);
    free(s->model_x);
    free(s->model_eps);
    free(s->model_t);
    free(s->model_cls);
    free(s->rng);
    free(s);
}

int ds_sampler_set_guidance_interval(ds_sampler *s, int lo, int hi) {
    if (!s) return ds_fail("sampler guidance interval: null sampler");
    if (check_guidance_interval(lo, hi)) return DS_ERR;
    s->p.guidance_t_lo = lo, s->p.guidance_t_hi = hi;
    return DS_OK;
}

int ds_sampler_set_spacing(ds_sampler *s, double spacing) {
    if (!s) return ds_fail("sampler spacing: null sampler");
    if (s->step) return ds_fail("sampler spacing: only before the first step (%d taken)", s->step);
    if (check_spacing(spacing)) return DS_ERR;
    const int top = s->p.steps ? s->timesteps[0] : 0; /* T, or SDEdit's t0 */
    if (top > 0 && timesteps_below(&s->schedule, top, s->p.kind, s->p.steps, s->p.lambda_min, spacing, s->timesteps))
        return DS_ERR;
    s->p.spacing = spacing;
    return DS_OK;
}

int ds_sampler_set_x(ds_sampler *s, const float *x) {
    if (!s || !x) return ds_fail("sampler set_x: null argument");
    if (s->step) return ds_fail("sampler set_x: only before the first step (%d taken)", s->step);
    long n = (long)s->B * s->D;
    for (long i = 0; i < n; i++)
        if (!isfinite(x[i])) return ds_fail("sampler set_x: x[%ld] is not finite", i);
    memcpy(s->x, x, sizeof(float) * n);
    return DS_OK;
}

/* ---- hooks for the editing methods (edit.h) ---- */

static int check_finite_x(const ds_sampler *s, const float *x, const char *what) {
    long n = (long)s->B * s->D;
    for (long i = 0; i < n; i++)
        if (!isfinite(x[i])) return ds_fail("%s: x[%ld] is not finite", what, i);
    return DS_OK;
}

int ds_sampler_start_at(ds_sampler *s, int t_start, const float *x) {
    if (!s || !x) return ds_fail("sampler start_at: null argument");
    if (s->step) return ds_fail("sampler start_at: only before the first step (%d taken)", s->step);
    if (ds_check_range_int(t_start, 0, s->schedule.T, "starting timestep t0")) return DS_ERR;
    if (check_finite_x(s, x, "sampler start_at")) return DS_ERR;
    const long n = (long)s->B * s->D;
    int steps = s->p.steps < t_start ? s->p.steps : t_start;
    if (t_start > 0 && timesteps_below(&s->schedule, t_start, s->p.kind, steps, s->p.lambda_min, s->p.spacing, s->timesteps))
        return DS_ERR;
    s->p.steps = steps;
    s->timesteps[steps] = 0;
    memcpy(s->x, x, sizeof(float) * n);
    if (!steps) memcpy(s->x0, x, sizeof(float) * n); /* t0 = 0: x is clean, its own x̂_0 */
    return DS_OK;
}

int ds_sampler_replace_x(ds_sampler *s, const float *x) {
    if (!s || !x) return ds_fail("sampler replace_x: null argument");
    if (check_finite_x(s, x, "sampler replace_x")) return DS_ERR;
    memcpy(s->x, x, sizeof(float) * (long)s->B * s->D);
    return DS_OK;
}

int ds_sampler_rewind(ds_sampler *s, const float *x) {
    if (!s || !x) return ds_fail("sampler rewind: null argument");
    if (s->p.kind == DS_SAMPLER_DPMPP2M)
        return ds_fail("sampler rewind: %s keeps a multistep history; resample with ddpm or ddim",
                       KIND_NAMES[s->p.kind]);
    if (!s->step) return ds_fail("sampler rewind: no step taken yet");
    if (check_finite_x(s, x, "sampler rewind")) return DS_ERR;
    memcpy(s->x, x, sizeof(float) * (long)s->B * s->D);
    s->step--;
    return DS_OK;
}

const float *ds_sampler_eps_halves(const ds_sampler *s) { return s->guided ? s->model_eps : NULL; }
const ds_sampler_params *ds_sampler_get_params(const ds_sampler *s) { return &s->p; }
const ds_schedule *ds_sampler_schedule(const ds_sampler *s) { return &s->schedule; }
int ds_sampler_timestep_at(const ds_sampler *s, int i) {
    return i >= 0 && i <= s->p.steps ? s->timesteps[i] : -1;
}

int ds_sampler_done(const ds_sampler *s) { return !s || s->step >= s->p.steps; }

/* ε̂ for the current x at timestep t into s->eps, guided if asked. */
static int predict_eps(ds_sampler *s, int t) {
    long BD = (long)s->B * s->D;
    if (!s->guided || t < s->p.guidance_t_lo || t > s->p.guidance_t_hi) {
        /* the conditional half alone: model_cls starts with the B images' own classes */
        for (int b = 0; b < s->B; b++) s->model_t[b] = (float)t;
        if (s->model(s->model_ctx, s->x, s->model_t, s->model_cls, s->B, s->eps)) return DS_ERR;
        if (s->guided) { /* outside the interval: both halves are ε_c, the guidance map 0 */
            memcpy(s->model_eps, s->eps, sizeof(float) * BD);
            memcpy(s->model_eps + BD, s->eps, sizeof(float) * BD);
        }
    } else {
        memcpy(s->model_x, s->x, sizeof(float) * BD);
        memcpy(s->model_x + BD, s->x, sizeof(float) * BD);
        for (int i = 0; i < 2 * s->B; i++) s->model_t[i] = (float)t;
        if (s->model(s->model_ctx, s->model_x, s->model_t, s->model_cls, 2 * s->B, s->model_eps)) return DS_ERR;
        const double g = s->p.guidance;
        for (long i = 0; i < BD; i++) {
            double ec = s->model_eps[i], eu = s->model_eps[BD + i];
            s->eps[i] = (float)(eu + g * (ec - eu));
        }
    }
    for (long i = 0; i < BD; i++)
        if (!isfinite(s->eps[i])) return ds_fail("model returned a non-finite epsilon at t = %d (element %ld)", t, i);
    return DS_OK;
}

int ds_sampler_step(ds_sampler *s) {
    if (!s) return ds_fail("sampler step: null sampler");
    if (ds_sampler_done(s)) return ds_fail("sampler step: already done (%d of %d steps)", s->step, s->p.steps);
    const int t = s->timesteps[s->step], t_next = s->timesteps[s->step + 1];
    if (predict_eps(s, t)) return DS_ERR;

    const double a = ds_schedule_abar(&s->schedule, t), a_next = ds_schedule_abar(&s->schedule, t_next);
    const double alpha = sqrt(a), sigma = sqrt(1.0 - a);
    const double alpha_next = sqrt(a_next), sigma_next = sqrt(1.0 - a_next);
    const double clip = s->p.clip;
    const int last = t_next == 0;

    /* x' = cx * x + c0 * x̂_0 + cp * x̂_0(previous) + ce * ε̂ + noise * z, per sampler */
    double cx = 0, c0 = 0, cp = 0, ce = 0, noise = 0;
    switch (s->p.kind) {
    case DS_SAMPLER_DDPM: {
        /* posterior q(x_t' | x_t, x_0) of the strided chain with β_eff = 1 - ᾱ_t / ᾱ_t' */
        double beta_eff = 1.0 - a / a_next;
        c0 = alpha_next * beta_eff / (1.0 - a);
        cx = sqrt(a / a_next) * (1.0 - a_next) / (1.0 - a);
        noise = last ? 0.0 : sqrt((1.0 - a_next) / (1.0 - a) * beta_eff);
        break;
    }
    case DS_SAMPLER_DDIM: {
        double sig = s->p.eta * sqrt((1.0 - a_next) / (1.0 - a) * (1.0 - a / a_next));
        double dir = 1.0 - a_next - sig * sig;
        c0 = alpha_next;
        ce = dir > 0 ? sqrt(dir) : 0.0;
        noise = sig;
        break;
    }
    case DS_SAMPLER_DPMPP2M: {
        if (last) { c0 = 1.0; break; } /* σ' = 0: the first-order step lands on x̂_0 */
        /* e^{-h} with h = λ' - λ, λ = log(α/σ); written as a ratio so no exp is needed */
        double exp_neg_h = (alpha * sigma_next) / (sigma * alpha_next);
        double h = ds_log(alpha_next / sigma_next) - ds_log(alpha / sigma);
        cx = sigma_next / sigma;
        double k = -alpha_next * (exp_neg_h - 1.0); /* multiplies D */
        if (s->step == 0) {
            c0 = k;
        } else { /* D = (1 + 1/(2r)) x̂_0 - 1/(2r) x̂_0(prev), r = h_prev / h */
            double half_inv_r = 0.5 * h / s->h_prev;
            c0 = k * (1.0 + half_inv_r);
            cp = -k * half_inv_r;
        }
        s->h_prev = h;
        break;
    }
    case DS_SAMPLER_COUNT: break; /* not a kind: ds_sampler_create refuses it */
    }

    for (int b = 0; b < s->B; b++) {
        for (int j = 0; j < s->D; j++) {
            long i = (long)b * s->D + j;
            double xt = s->x[i], e = s->eps[i];
            double x0 = (xt - sigma * e) / alpha;
            if (clip > 0) {
                if (x0 > clip) x0 = clip;
                if (x0 < -clip) x0 = -clip;
                e = (xt - alpha * x0) / sigma;
                s->eps[i] = (float)e;
            }
            double next = cx * xt + c0 * x0 + ce * e;
            if (cp != 0.0) next += cp * (double)s->x0[i];
            if (noise > 0.0) next += noise * ds_rng_normal(&s->rng[b]);
            s->x0_spare[i] = (float)x0;
            s->x[i] = (float)next;
        }
    }
    float *tmp = s->x0;
    s->x0 = s->x0_spare;
    s->x0_spare = tmp;
    s->step++;
    return DS_OK;
}

const float *ds_sampler_x(const ds_sampler *s) { return s->x; }
const float *ds_sampler_x0(const ds_sampler *s) { return s->x0; }
const float *ds_sampler_eps(const ds_sampler *s) { return s->eps; }
int ds_sampler_frames_left(const ds_sampler *s) { return s->p.steps - s->step + 1; }

int ds_sampler_run(ds_sampler *s, float *x_frames, ds_sampler_info *infos) {
    if (!s || !x_frames) return ds_fail("sampler run: null sampler or frame buffer");
    const long item = (long)s->B * s->D;
    const int frames = ds_sampler_frames_left(s);
    for (int f = 0; f < frames; f++) {
        if (f > 0 && ds_sampler_step(s)) return DS_ERR;
        memcpy(x_frames + f * item, s->x, sizeof(float) * item);
        if (infos) ds_sampler_get_info(s, &infos[f]);
    }
    return frames;
}

int ds_sampler_batch(const ds_sampler *s) { return s->B; }
int ds_sampler_dim(const ds_sampler *s) { return s->D; }

void ds_sampler_get_info(const ds_sampler *s, ds_sampler_info *info) {
    info->step = s->step;
    info->steps = s->p.steps;
    info->t = s->timesteps[s->step];
    info->t_pred = s->step ? s->timesteps[s->step - 1] : -1;
    info->alpha_bar = ds_schedule_abar(&s->schedule, info->t);
    info->signal = sqrt(info->alpha_bar);
    info->noise = sqrt(1.0 - info->alpha_bar);
    info->snr = info->t ? info->alpha_bar / (1.0 - info->alpha_bar) : INFINITY;
}
