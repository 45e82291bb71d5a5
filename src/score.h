/* score.h — scores, velocities and the paths that follow them: Langevin dynamics, the reverse
 * SDE, the probability-flow ODE and flow-matching sampling, on points (or any D) from given starts.
 *
 * Two families of fields, each with its own time:
 *   ε-models on the VP schedule (sampler.h's ds_eps_fn), timesteps t = 1..T (ᾱ_t from the
 *   schedule). Their score is s(x, t) = ∇ log q_t(x) = −ε̂(x, t) / √(1 − ᾱ_t) (denoising score
 *   matching: predicting the noise is estimating the score). With u = −log ᾱ (so du = β dt):
 *     reverse SDE      dx = −(½ x + s) du + dW̄_u   — Euler–Maruyama, from u_i down to u_{i+1}
 *                      (h = u_i − u_{i+1} > 0): x' = x + h (½ x + s(x, t_i)) + √h z; the last
 *                      step (to t = 0) adds no noise, as DDPM's does;
 *     PF-ODE           dx/du = −½ (x + s): the SDE's deterministic twin with the same marginals
 *                      q_t, integrated by Heun in EDM's variables x̄ = x/√ᾱ, σ̄ = √(1 − ᾱ)/√ᾱ,
 *                      where it reads dx̄/dσ̄ = ε̂ (Karras et al. 2022; Euler there is DDIM η = 0):
 *                      x̃ = x̄ + Δσ̄ ε̂(x, t_i), x̄' = x̄ + Δσ̄ (ε̂(x, t_i) + ε̂(√ᾱ' x̃, t_{i+1})) / 2.
 *                      (In u the drift is stiff near t = 0, λ ≈ 1/(1 − ᾱ) = 10⁴ at t = 1: Heun there
 *                      overshot the spiral at 20 steps, Chamfer ratio 5.5.) The step to t = 0,
 *                      where ε̂ is undefined, is an Euler step (as EDM's sampler does), so S steps
 *                      cost 2S − 1 evaluations;
 *     Langevin         at one level t: x' = x + (δ/2) s(x, t) + √δ z with δ = step_size·(1 − ᾱ_t)
 *                      (step_size is relative to the level's noise variance, so one value suits
 *                      every level); its stationary law is q_t up to an O(δ) bias. Annealed
 *                      (NCSN-style): `per_level` steps at each of S levels from t_start down to
 *                      t_end (default 1). A chain at one small level t started far from the data
 *                      needs the annealing: a learned ε̂ is only trained where q_t has mass, and
 *                      off it can point the wrong way (the cow MLP shipped until stop 16, now
 *                      tests/golden/mlp_wild_cow.dsw, at t = 40, x = (3.5, 3.5): ε̂ = (−208, −99) where ε* ≈ (+25, +25)), so the score −ε̂/√(1 − ᾱ_t)
 *                      pushes outward and any step size diverges; from large noise down to t
 *                      (Song & Ermon 2019's remedy for low-density regions) the chains reach q_t's
 *                      support while the field there is still right. The drift of a point is
 *                      capped at 10·√δ (direction kept): it binds only where |ε̂| > 20/√step_size
 *                      (45 at 0.2), never for a sane field, and keeps a chain in such a wrong field finite
 *                      (moving at most 10·√δ a step) instead of overflowing.
 *     The timesteps: S levels t_i = t_start − round(i (t_start − t_end) / (S − 1)), then 0 (the
 *     DDIM spacing of sampler.h, started at t_start instead of T).
 *   Flow-matching velocity models (the linear path x_t = (1 − t) x_0 + t ε, t in [0, 1],
 *   v = ε − x_0, ds_velocity_fn), integrated from t = t_start (1: pure noise) to 0 on a uniform
 *   grid t_i = t_start (1 − i/S): Euler x' = x − Δ v(x, t_i), Heun as above with the last step
 *   to t = 0 again an Euler step (2S − 1 evaluations). The network sees τ = DS_FLOW_TIME_SCALE·t,
 *   the [0, 1000] range its sinusoidal embedding was built for (mlp.h).
 * Exact fields: the Gaussian mixture's velocity v* = (x − E[x_0 | x_t]) / t (gmm_denoiser.h,
 * with signal 1 − t and noise t) and its ε* (ds_gmm_eps); tests/test_score.c checks every path
 * against closed-form Gaussians.
 * A model that predicts the other thing is refused by name: an ε-model under a flow sampler and
 * a flow model under an ε sampler (ds_model_velocity / sampler_models' ds_model_eps).
 * Determinism: state in double, fixed order; each path b draws its noise from its own stream
 * (seed, first_path + b), so a path does not depend on how many others run beside it; native
 * and WASM bit-identical.
 * Not here: DDPM/DDIM/DPM-Solver++ on images (sampler.h), the mixture maths (gmm_denoiser.h),
 * training the flow objective (mlp_train.h). */
#ifndef DS_SCORE_H
#define DS_SCORE_H

#include <stdint.h>

#include "gmm_denoiser.h"
#include "model.h"
#include "sampler.h"
#include "schedule.h"

#define DS_FLOW_TIME_SCALE 1000.0 /* τ = 1000 t: the MLP's time input for flow t in [0, 1] */
#define DS_PATHS_MAX_VALUES (1L << 26) /* frames × points × D a call may write */

/* Flow-matching velocity: v (B, D) = model(x (B, D), t (B) in [0, 1]). DS_OK or DS_ERR. */
typedef int (*ds_velocity_fn)(void *ctx, const float *x, const float *t, int B, float *v);

typedef enum {
    DS_PATH_LANGEVIN = 0,   /* annealed Langevin on an ε-model */
    DS_PATH_SDE = 1,        /* reverse SDE, Euler–Maruyama, ε-model */
    DS_PATH_ODE_HEUN = 2,   /* probability-flow ODE, Heun, ε-model */
    DS_PATH_FLOW_EULER = 3, /* flow matching, Euler, velocity model */
    DS_PATH_FLOW_HEUN = 4,  /* flow matching, Heun, velocity model */
    DS_PATH_COUNT
} ds_path_kind;

const char *ds_path_kind_name(ds_path_kind kind); /* "langevin", "sde", "ode-heun", "flow-euler", "flow-heun" */
int ds_path_kind_parse(const char *name, ds_path_kind *kind);
int ds_path_kind_is_flow(ds_path_kind kind);

/* What a path follows: an ε-model with its schedule, or a velocity model; D floats per item. */
typedef struct {
    const ds_schedule *schedule; /* ε family: the VP schedule the model was trained on */
    ds_eps_fn eps;               /* ε family (NULL if the source has none) */
    void *eps_ctx;
    ds_velocity_fn velocity;     /* flow family (NULL if the source has none) */
    void *velocity_ctx;
    int D;
    const char *what;            /* the source, for messages ("this model", "the mixture") */
} ds_field;

typedef struct {
    ds_path_kind kind;
    int steps;          /* S: steps (Langevin: noise levels), 1..DS_MAX_T (ε kinds: <= t_start) */
    double t_start;     /* ε kinds: the whole timestep the starts sit at (1..T; T = pure noise);
                           flow kinds: t in (0, 1] (1 = pure noise) */
    int t_end;          /* Langevin: the last (lowest) level, 1..t_start (0 = 1); other kinds 0 */
    double step_size;   /* Langevin: δ / (1 − ᾱ_t), in (0, 10] */
    int per_level;      /* Langevin: steps at each level, 1..10000 */
    uint64_t seed;
    long first_path;    /* index of start 0 in a larger run (its noise stream) */
} ds_path_params;

/* Defaults: ode-heun, 50 steps, t_start 0 (= the start of the kind's time: T, or 1), t_end 0, step size
 * 0.3, 10 per level, seed 0, first path 0. */
void ds_path_params_init(ds_path_params *p);

/* Frames of a run: S + 1 (the start and one per step or level). */
int ds_path_frames(const ds_path_params *p);

/* Runs n paths from start (n, D): frames (S + 1, n, D) (frame 0 = start), times (S + 1) (may be
 * NULL) the time of each frame in the kind's unit (timestep or flow t). Returns S + 1 or DS_ERR
 * (a field without what the kind needs is refused naming the sampler to use instead). */
int ds_paths(const ds_field *f, const ds_path_params *p, const float *start, int n, float *frames, double *times);

/* Langevin at the one level t (1..T) for `steps` steps (1..10000) of size step_size·(1 − ᾱ_t):
 * frames (steps + 1, n, D), frame 0 = start. A new seed restarts the chains with fresh noise.
 * Returns steps + 1 or DS_ERR. */
int ds_langevin_chain(const ds_field *f, int t, double step_size, int steps, uint64_t seed, const float *start, int n,
                      float *frames);

/* s (n, D) = −ε̂(x, t) / √(1 − ᾱ_t) at the whole timestep t (1..T). DS_OK or DS_ERR. */
int ds_score(const ds_field *f, int t, const float *x, int n, float *s);
/* v (n, D) = the velocity at flow time t in [0, 1]. DS_OK or DS_ERR. */
int ds_velocity(const ds_field *f, double t, const float *x, int n, float *v);

/* The G×G points of a grid over [lo, hi]², row-major, row r at y = hi − (r + ½) cell, column c at
 * x = lo + (c + ½) cell (forward_density's layout): out (G², 2). 2 <= G <= 1024. DS_OK or DS_ERR. */
int ds_grid_points(double lo, double hi, int G, float *out);

/* The field of a model (ε-model: eps + its schedule, filled into *sch; flow model: velocity) or
 * of a mixture (the exact field: both). DS_OK or DS_ERR. */
int ds_field_of_model(ds_model *m, ds_schedule *sch, ds_field *f);
void ds_field_of_gmm(ds_gmm *g, ds_field *f);

/* Velocity adapters. ctx a ds_model* (refuses a model that does not predict the flow velocity),
 * or a ds_gmm* (the exact velocity; t in (0, 1]: at t = 0 a point-mass mixture has none). */
int ds_model_velocity(void *ctx, const float *x, const float *t, int B, float *v);
int ds_gmm_velocity(void *ctx, const float *x, const float *t, int B, float *v);

#endif
