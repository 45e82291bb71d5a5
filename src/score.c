/* score.c — scores, velocities, Langevin, reverse SDE, PF-ODE and flow sampling (see score.h). */
#include "score.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detmath.h"
#include "error.h"
#include "model.h"
#include "rng.h"
#include "sampler_models.h"
#include "shapes.h"

static const char *KIND_NAMES[DS_PATH_COUNT] = {"langevin", "sde", "ode-heun", "flow-euler", "flow-heun"};

const char *ds_path_kind_name(ds_path_kind kind) { return (unsigned)kind < DS_PATH_COUNT ? KIND_NAMES[kind] : "unknown"; }

int ds_path_kind_parse(const char *name, ds_path_kind *kind) {
    char choices[128] = "";
    for (int k = 0; k < DS_PATH_COUNT; k++) {
        if (name && !strcmp(name, KIND_NAMES[k])) { *kind = (ds_path_kind)k; return DS_OK; }
        snprintf(choices + strlen(choices), sizeof choices - strlen(choices), "%s%s", k ? ", " : "", KIND_NAMES[k]);
    }
    return ds_fail("unknown path sampler '%s' (expected one of %s)", name ? name : "(null)", choices);
}

int ds_path_kind_is_flow(ds_path_kind kind) { return kind == DS_PATH_FLOW_EULER || kind == DS_PATH_FLOW_HEUN; }

void ds_path_params_init(ds_path_params *p) {
    memset(p, 0, sizeof *p);
    p->kind = DS_PATH_ODE_HEUN;
    p->steps = 50;
    p->step_size = 0.3;
    p->per_level = 10;
}

int ds_path_frames(const ds_path_params *p) { return p->steps + 1; }

/* ---- the fields ---- */

static int need_eps(const ds_field *f, const char *sampler) {
    if (f->eps && f->schedule) return DS_OK;
    return ds_fail("%s predicts the flow velocity, not the noise: %s needs an ε-model (sample a flow model with flow-euler "
                   "or flow-heun)", f->what ? f->what : "the source", sampler);
}

static int need_velocity(const ds_field *f, const char *sampler) {
    if (f->velocity) return DS_OK;
    return ds_fail("%s predicts the noise ε, not a flow velocity: %s needs a flow-matching model (sample an ε-model with "
                   "ddim, ddpm, dpmpp2m, sde, ode-heun or langevin)", f->what ? f->what : "the source", sampler);
}

static int check_field(const ds_field *f, int n) {
    if (!f) return ds_fail("score: null field");
    if (ds_check_range_int(f->D, 1, 1 << 20, "data dimension")) return DS_ERR;
    return ds_check_range_int(n, 1, DS_POINTS_MAX, "number of points");
}

static int check_finite(const float *x, long n, const char *what) {
    if (!x) return ds_fail("%s: null array", what);
    for (long i = 0; i < n; i++)
        if (!isfinite(x[i])) return ds_fail("%s: value %ld is not finite", what, i);
    return DS_OK;
}

/* ε̂ (n, D) at timestep t into eps; tbuf (n) scratch. */
static int eval_eps(const ds_field *f, int t, const float *x, int n, float *tbuf, float *eps) {
    for (int b = 0; b < n; b++) tbuf[b] = (float)t;
    if (f->eps(f->eps_ctx, x, tbuf, NULL, n, eps)) return DS_ERR;
    return check_finite(eps, (long)n * f->D, "the model's ε");
}

static int eval_velocity(const ds_field *f, double t, const float *x, int n, float *tbuf, float *v) {
    for (int b = 0; b < n; b++) tbuf[b] = (float)t;
    if (f->velocity(f->velocity_ctx, x, tbuf, n, v)) return DS_ERR;
    return check_finite(v, (long)n * f->D, "the model's velocity");
}

/* Scratch of one call: float copies of the state, the model's output and timesteps. */
typedef struct {
    double *x, *x_pred, *d1; /* (n D) */
    float *xf, *out, *t;     /* (n D), (n D), (n) */
    ds_rng *rng;             /* (n) */
    void *block;
} path_work;

static int work_alloc(path_work *w, long nD, int n) {
    w->block = malloc(sizeof(double) * 3 * nD + sizeof(float) * (2 * nD + n) + sizeof(ds_rng) * n + 16);
    if (!w->block) return ds_fail("paths: out of memory for %ld values", nD);
    w->rng = w->block; /* the rngs first: their alignment is the strictest */
    w->x = (double *)(w->rng + n);
    w->x_pred = w->x + nD;
    w->d1 = w->x_pred + nD;
    w->xf = (float *)(w->d1 + nD);
    w->out = w->xf + nD;
    w->t = w->out + nD;
    return DS_OK;
}

static void to_float(const double *x, long n, float *out) {
    for (long i = 0; i < n; i++) out[i] = (float)x[i];
}

static void seed_paths(path_work *w, int n, uint64_t seed, long first) {
    for (int b = 0; b < n; b++) ds_rng_seed(&w->rng[b], seed ^ ((uint64_t)(first + b + 1) * 0xA24BAED4963EE407ULL));
}

int ds_score(const ds_field *f, int t, const float *x, int n, float *s) {
    if (check_field(f, n) || need_eps(f, "the score") || check_finite(x, (long)n * f->D, "score: x")) return DS_ERR;
    if (ds_check_range_int(t, 1, f->schedule->T, "score timestep t")) return DS_ERR;
    if (!s) return ds_fail("score: null output");
    float *tbuf = malloc(sizeof(float) * (size_t)n);
    if (!tbuf) return ds_fail("score: out of memory");
    int rc = eval_eps(f, t, x, n, tbuf, s);
    free(tbuf);
    if (rc) return DS_ERR;
    const double inv = 1.0 / sqrt(1.0 - ds_schedule_abar(f->schedule, t));
    for (long i = 0; i < (long)n * f->D; i++) s[i] = (float)(-(double)s[i] * inv);
    return DS_OK;
}

int ds_velocity(const ds_field *f, double t, const float *x, int n, float *v) {
    if (check_field(f, n) || need_velocity(f, "the velocity") || check_finite(x, (long)n * f->D, "velocity: x")) return DS_ERR;
    if (ds_check_range(t, 0.0, 1.0, "flow time t")) return DS_ERR;
    if (!v) return ds_fail("velocity: null output");
    float *tbuf = malloc(sizeof(float) * (size_t)n);
    if (!tbuf) return ds_fail("velocity: out of memory");
    int rc = eval_velocity(f, t, x, n, tbuf, v);
    free(tbuf);
    return rc;
}

int ds_grid_points(double lo, double hi, int G, float *out) {
    if (ds_check_range_int(G, 2, 1024, "grid size")) return DS_ERR;
    if (ds_check_range(lo, -1e6, 1e6, "grid low end") || ds_check_range(hi, -1e6, 1e6, "grid high end")) return DS_ERR;
    if (!(hi > lo)) return ds_fail("grid: high end %g must exceed low end %g", hi, lo);
    if (!out) return ds_fail("grid: null output");
    const double cell = (hi - lo) / G;
    for (int r = 0; r < G; r++)
        for (int c = 0; c < G; c++) {
            out[2 * ((long)r * G + c)] = (float)(lo + (c + 0.5) * cell);
            out[2 * ((long)r * G + c) + 1] = (float)(hi - (r + 0.5) * cell);
        }
    return DS_OK;
}

/* ---- ε family: Langevin, reverse SDE, PF-ODE (u = −log ᾱ) ---- */

/* One Langevin step at level t on w->x: x += (δ/2) s + √δ z, δ = step_size (1 − ᾱ_t), with the
 * drift of a point capped at LANGEVIN_DRIFT_CAP·√δ (its direction kept). Where the score is sane
 * the cap never binds (the drift is √δ·√step_size·|ε̂|/2 and |ε̂| ~ 1, so it binds only for
 * |ε̂| > 2·cap/√step_size, 45 at step size 0.2), and the step is exactly the plain one; where a
 * learned ε̂ is wrong and grows with |x| (off q_t's support at small t), the plain step grows x
 * geometrically until it overflows, the capped one by at most cap·√δ a step: the chain stays
 * finite and shows the field's error instead of ending the run. */
#define LANGEVIN_DRIFT_CAP 10.0
static int langevin_step(const ds_field *f, path_work *w, int t, double step_size, int n) {
    const int D = f->D;
    const long nD = (long)n * D;
    const double var = 1.0 - ds_schedule_abar(f->schedule, t), delta = step_size * var, inv = 1.0 / sqrt(var), root = sqrt(delta);
    const double cap = LANGEVIN_DRIFT_CAP * root;
    to_float(w->x, nD, w->xf);
    if (eval_eps(f, t, w->xf, n, w->t, w->out)) return DS_ERR;
    for (int b = 0; b < n; b++) {
        const float *eps = w->out + (long)b * D;
        double norm2 = 0;
        for (int j = 0; j < D; j++) norm2 += (0.5 * delta * inv * eps[j]) * (0.5 * delta * inv * eps[j]);
        const double shrink = norm2 > cap * cap ? cap / sqrt(norm2) : 1.0;
        for (int j = 0; j < D; j++) {
            long i = (long)b * D + j;
            double s = -(double)eps[j] * inv;
            w->x[i] += (shrink == 1.0 ? 0.5 * delta * s : shrink * (0.5 * delta * s)) + root * ds_rng_normal(&w->rng[b]);
        }
    }
    return DS_OK;
}

/* The SDE or ODE step from t to t_next on w->x. */
static int vp_step(const ds_field *f, path_work *w, ds_path_kind kind, int t, int t_next, int n) {
    const int D = f->D;
    const long nD = (long)n * D;
    const double a = ds_schedule_abar(f->schedule, t), a_next = ds_schedule_abar(f->schedule, t_next);
    to_float(w->x, nD, w->xf);
    if (eval_eps(f, t, w->xf, n, w->t, w->out)) return DS_ERR;
    if (kind == DS_PATH_SDE) {
        const double h = ds_log(a_next) - ds_log(a), inv = 1.0 / sqrt(1.0 - a), root = sqrt(h);
        for (int b = 0; b < n; b++)
            for (int j = 0; j < D; j++) {
                long i = (long)b * D + j;
                double x = w->x[i], s = -(double)w->out[i] * inv;
                w->x[i] = x + h * (0.5 * x + s) + (t_next > 0 ? root * ds_rng_normal(&w->rng[b]) : 0.0);
            }
        return DS_OK;
    }
    /* the ODE in EDM's variables: x̄ = x / √ᾱ, σ̄ = √(1 − ᾱ) / √ᾱ, dx̄/dσ̄ = ε̂ (Euler here is DDIM) */
    const double sa = sqrt(a), sa_next = sqrt(a_next), ds = sqrt(1.0 - a_next) / sa_next - sqrt(1.0 - a) / sa;
    for (long i = 0; i < nD; i++) {
        w->d1[i] = w->out[i];
        w->x_pred[i] = w->x[i] / sa + ds * w->d1[i]; /* x̄ after an Euler step */
    }
    if (t_next == 0) { /* Euler: σ̄' = 0 lands on x̂_0, and ε̂ is undefined there */
        for (long i = 0; i < nD; i++) w->x[i] = w->x_pred[i];
        return DS_OK;
    }
    for (long i = 0; i < nD; i++) w->xf[i] = (float)(sa_next * w->x_pred[i]);
    if (eval_eps(f, t_next, w->xf, n, w->t, w->out)) return DS_ERR;
    for (long i = 0; i < nD; i++) w->x[i] = sa_next * (w->x[i] / sa + 0.5 * ds * (w->d1[i] + (double)w->out[i]));
    return DS_OK;
}

/* S levels from t_start to t_end (sampler.h's linspace), then 0. */
static void vp_timesteps(int t_start, int t_end, int S, int *out) {
    if (S == 1) out[0] = t_start;
    else
        for (int i = 0; i < S; i++) out[i] = t_start - (int)((2L * i * (t_start - t_end) + (S - 1)) / (2L * (S - 1)));
    out[S] = 0;
}

static int run_vp(const ds_field *f, const ds_path_params *p, path_work *w, int n, float *frames, double *times) {
    const int S = p->steps, T = f->schedule->T;
    const int t_start = p->t_start == 0 ? T : (int)p->t_start;
    if (p->t_start != 0 && (p->t_start != floor(p->t_start) || ds_check_range_int(t_start, 1, T, "start timestep")))
        return ds_fail("start timestep must be a whole number in 1..%d (got %g)", T, p->t_start);
    const int t_end = p->t_end == 0 ? 1 : p->t_end;
    if (p->t_end != 0 && p->kind != DS_PATH_LANGEVIN)
        return ds_fail("an end level (%d) is for langevin only: %s runs to t = 0", p->t_end, ds_path_kind_name(p->kind));
    if (ds_check_range_int(t_end, 1, t_start, "Langevin end level")) return DS_ERR;
    if (ds_check_range_int(S, 1, t_start - t_end + 1, p->kind == DS_PATH_LANGEVIN ? "Langevin noise levels" : "steps"))
        return DS_ERR;
    if (p->kind == DS_PATH_LANGEVIN &&
        (ds_check_range(p->step_size, 1e-9, 10.0, "Langevin step size") || ds_check_range_int(p->per_level, 1, 10000, "Langevin steps per level")))
        return DS_ERR;
    int *ts = malloc(sizeof(int) * (size_t)(S + 1));
    if (!ts) return ds_fail("paths: out of memory");
    vp_timesteps(t_start, t_end, S, ts);
    const long nD = (long)n * f->D;
    if (times) times[0] = t_start;
    for (int i = 0; i < S; i++) {
        int rc = DS_OK;
        if (p->kind == DS_PATH_LANGEVIN)
            for (int k = 0; k < p->per_level && !rc; k++) rc = langevin_step(f, w, ts[i], p->step_size, n);
        else rc = vp_step(f, w, p->kind, ts[i], ts[i + 1], n);
        if (rc) { free(ts); return DS_ERR; }
        to_float(w->x, nD, frames + (i + 1) * nD);
        if (times) times[i + 1] = p->kind == DS_PATH_LANGEVIN ? ts[i] : ts[i + 1];
    }
    free(ts);
    return S + 1;
}

/* ---- flow family ---- */

static int run_flow(const ds_field *f, const ds_path_params *p, path_work *w, int n, float *frames, double *times) {
    const int S = p->steps, D = f->D;
    const long nD = (long)n * D;
    const double t0 = p->t_start == 0 ? 1.0 : p->t_start;
    if (!(t0 > 0 && t0 <= 1)) return ds_fail("flow start time must be in (0, 1] (got %g)", t0);
    if (p->t_end != 0) return ds_fail("an end level (%d) is for langevin only: %s runs to t = 0", p->t_end, ds_path_kind_name(p->kind));
    if (ds_check_range_int(S, 1, DS_MAX_T, "steps")) return DS_ERR;
    if (times) times[0] = t0;
    for (int i = 0; i < S; i++) {
        const double t = t0 * (S - i) / S, t_next = t0 * (S - i - 1) / S;
        const double dt = t_next - t;
        to_float(w->x, nD, w->xf);
        if (eval_velocity(f, t, w->xf, n, w->t, w->out)) return DS_ERR;
        if (p->kind == DS_PATH_FLOW_EULER || t_next == 0) {
            for (long k = 0; k < nD; k++) w->x[k] += dt * (double)w->out[k];
        } else {
            for (long k = 0; k < nD; k++) {
                w->d1[k] = w->out[k];
                w->x_pred[k] = w->x[k] + dt * w->d1[k];
            }
            to_float(w->x_pred, nD, w->xf);
            if (eval_velocity(f, t_next, w->xf, n, w->t, w->out)) return DS_ERR;
            for (long k = 0; k < nD; k++) w->x[k] += 0.5 * dt * (w->d1[k] + (double)w->out[k]);
        }
        to_float(w->x, nD, frames + (i + 1) * nD);
        if (times) times[i + 1] = t_next;
    }
    return S + 1;
}

static int begin_paths(const ds_field *f, int n, int frames_count, const float *start, const float *frames, path_work *w) {
    if (check_field(f, n)) return DS_ERR;
    const long nD = (long)n * f->D;
    if ((long)frames_count * nD > DS_PATHS_MAX_VALUES)
        return ds_fail("paths: %d frames of %d points x %d is too many values (at most %ld)", frames_count, n, f->D,
                       DS_PATHS_MAX_VALUES);
    if (check_finite(start, nD, "paths: start point")) return DS_ERR;
    if (!frames) return ds_fail("paths: null frame buffer");
    if (work_alloc(w, nD, n)) return DS_ERR;
    for (long i = 0; i < nD; i++) w->x[i] = start[i];
    memcpy((void *)frames, start, sizeof(float) * (size_t)nD);
    return DS_OK;
}

int ds_paths(const ds_field *f, const ds_path_params *p, const float *start, int n, float *frames, double *times) {
    if (!f || !p) return ds_fail("paths: null field or params");
    if ((unsigned)p->kind >= DS_PATH_COUNT) return ds_fail("unknown path sampler %d (0..%d)", (int)p->kind, DS_PATH_COUNT - 1);
    if (ds_check_range_int(p->steps, 1, DS_MAX_T, "steps")) return DS_ERR;
    if (p->first_path < 0) return ds_fail("first path index must be >= 0 (got %ld)", p->first_path);
    const char *name = ds_path_kind_name(p->kind);
    if (ds_path_kind_is_flow(p->kind) ? need_velocity(f, name) : need_eps(f, name)) return DS_ERR;
    path_work w;
    if (begin_paths(f, n, ds_path_frames(p), start, frames, &w)) return DS_ERR;
    seed_paths(&w, n, p->seed, p->first_path);
    int rc = ds_path_kind_is_flow(p->kind) ? run_flow(f, p, &w, n, frames, times) : run_vp(f, p, &w, n, frames, times);
    free(w.block);
    return rc;
}

int ds_langevin_chain(const ds_field *f, int t, double step_size, int steps, uint64_t seed, const float *start, int n,
                      float *frames) {
    if (!f) return ds_fail("langevin: null field");
    if (need_eps(f, "langevin") || ds_check_range_int(t, 1, f->schedule->T, "Langevin noise level t")) return DS_ERR;
    if (ds_check_range(step_size, 1e-9, 10.0, "Langevin step size") || ds_check_range_int(steps, 1, 10000, "Langevin steps"))
        return DS_ERR;
    path_work w;
    if (begin_paths(f, n, steps + 1, start, frames, &w)) return DS_ERR;
    seed_paths(&w, n, seed, 0);
    const long nD = (long)n * f->D;
    for (int k = 0; k < steps; k++) {
        if (langevin_step(f, &w, t, step_size, n)) { free(w.block); return DS_ERR; }
        to_float(w.x, nD, frames + (k + 1) * nD);
    }
    free(w.block);
    return steps + 1;
}

/* ---- fields of the two sources ---- */

int ds_field_of_model(ds_model *m, ds_schedule *sch, ds_field *f) {
    if (!m || !sch || !f) return ds_fail("field: null model, schedule or field");
    memset(f, 0, sizeof *f);
    f->D = ds_model_item_floats(m);
    f->what = "this model";
    if (ds_model_prediction(m) == DS_PREDICT_FLOW) {
        f->velocity = ds_model_velocity, f->velocity_ctx = m;
        return DS_OK;
    }
    if (ds_schedule_init(sch, ds_model_schedule_kind(m), ds_model_schedule_T(m))) return DS_ERR;
    f->schedule = sch, f->eps = ds_model_eps, f->eps_ctx = m;
    return DS_OK;
}

void ds_field_of_gmm(ds_gmm *g, ds_field *f) {
    *f = (ds_field){.schedule = ds_gmm_schedule(g), .eps = ds_gmm_eps, .eps_ctx = g, .velocity = ds_gmm_velocity,
                    .velocity_ctx = g, .D = ds_gmm_dim(g), .what = "the mixture"};
}

/* ---- velocity adapters ---- */

int ds_model_velocity(void *ctx, const float *x, const float *t, int B, float *v) {
    ds_model *m = ctx;
    if (!m || !t) return ds_fail("model velocity: null model or times");
    if (ds_model_prediction(m) != DS_PREDICT_FLOW)
        return ds_fail("this model predicts %s, not the flow velocity: flow-euler and flow-heun need a flow-matching model "
                       "(trained with --objective flow)", ds_prediction_name(ds_model_prediction(m)));
    if (ds_check_range_int(B, 1, 1 << 20, "batch")) return DS_ERR;
    float *tau = malloc(sizeof(float) * (size_t)B);
    if (!tau) return ds_fail("model velocity: out of memory");
    for (int b = 0; b < B; b++) tau[b] = (float)(DS_FLOW_TIME_SCALE * (double)t[b]);
    int rc = ds_model_forward(m, x, tau, NULL, B, v);
    free(tau);
    return rc;
}

int ds_gmm_velocity(void *ctx, const float *x, const float *t, int B, float *v) {
    ds_gmm *g = ctx;
    if (!g || !x || !t || !v) return ds_fail("mixture velocity: null argument");
    const int D = ds_gmm_dim(g);
    for (int b = 0; b < B; b++) {
        const double tb = t[b];
        if (!(tb > 0 && tb <= 1)) return ds_fail("mixture velocity: t must be in (0, 1] (got %g)", tb);
        const float *xb = x + (long)b * D;
        float *vb = v + (long)b * D;
        if (ds_gmm_denoise_scaled(g, xb, 1.0 - tb, tb, 1, vb)) return DS_ERR;
        for (int j = 0; j < D; j++) vb[j] = (float)(((double)xb[j] - (double)vb[j]) / tb); /* vb held E[x_0 | x_t] */
    }
    return DS_OK;
}
