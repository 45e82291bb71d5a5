/* sampler.h — reverse diffusion as a state machine: create, step until done, read each step.
 *
 * The sampler knows nothing about networks: the model is an ε-predictor callback (ds_eps_fn),
 * so the same code drives the Fashion UNet, the 2-D point MLP and the exact Gaussian-mixture
 * denoiser (gmm_denoiser.h). Kinds:
 *   DDPM       ancestral sampling from the posterior q(x_t' | x_t, x̂_0); steps = T gives the
 *              original 1000-step sampler, fewer steps the strided version (posterior with
 *              β_eff = 1 − ᾱ_t/ᾱ_t').
 *   DDIM       Song et al. 2021, any step count, η in [0, 1] (η = 0 deterministic ODE sampler,
 *              η = 1 has DDPM's marginals).
 *   DPMPP2M    DPM-Solver++(2M), data-prediction form (Lu et al. 2022): second-order multistep,
 *              first order on the first step and on the last step (to t = 0).
 *
 * Step sequences, t_0 = T > t_1 > ... > t_{S−1} = 1 (S = 1: just T), then a step to t = 0 (ᾱ = 1) whose
 * result is the final x̂_0. Timesteps reach the model as the integer t (1..T) in a float.
 *   DDPM, DDIM: evenly spaced in t, t_i = T − round(i·(T−1)/(S−1)) ("linspace"); starts at
 *     t = T, where x_T ~ N(0, I) is what the model was trained on (DDIM's original "leading"
 *     spacing starts below T), ends at t = 1 (the "trailing" spacing ends at T/S, and its last
 *     jump to the posterior mean visibly shrinks the variance); S = T visits every step.
 *   With a spacing power p in 1..4 (params.spacing; 0, the default, keeps each kind's own
 *     placement), any kind: t_i = 1 + round((T−1)·(1 − i/(S−1))^p), T first and 1 last, the steps
 *     denser at low noise as p grows (p = 1 is the even placement; p = 2 is Song et al. 2021's
 *     "quadratic" DDIM sequence without its start at 0.8 T, and Lu et al.'s "time_quadratic").
 *     On the shipped Fashion UNet with guidance 3 at t = 100–500 (weights/README.md): DDIM 20,
 *     FD ratio 2.39 at p = 1, 2.24 at p = 2 (accuracy 0.970, 0.969), 2.00 at p = 1.5 (0.963);
 *     DPM-Solver++ 10, 2.59 uniform in λ, 2.03 at p = 1 (0.956), 2.15 at p = 2 (0.968).
 *   DPM-Solver++: uniform in λ = log(SNR)/2 between max(λ_T, lambda_min) and λ_1, rounded to
 *     the nearest t, as Lu et al. recommend for few steps: with the linear schedule, even
 *     spacing in t puts a huge λ jump into the last steps (10 steps on a N(0, 0.25) Gaussian:
 *     variance 0.48 evenly in t, 0.27 in λ, measured with the exact denoiser). lambda_min
 *     (default DS_DPM_LAMBDA_MIN = −5.1, diffusers' lambda_min_clipped) keeps the cosine
 *     schedule, whose β cap at 0.999 sends λ_T to about −10, from spending 3 of 10 steps at
 *     t ≥ 998 where x is pure noise; the first step then starts where λ = −5.1 (t = 996 for
 *     cosine T = 1000, where √ᾱ = 0.006). Against a 1000-step ODE reference with the exact
 *     mixture denoiser (tests/test_sampler.c) the RMS error of 10 steps falls from 0.20 to
 *     0.12, of 20 steps from 0.083 to 0.042. The linear schedule's λ_T = −5.06 is above the
 *     clip, so its steps are unchanged.
 *   DDIM's first-order steps underestimate the variance at few steps on any spacing (the
 *     ODE's discretisation error); that is a property of the method, not a bug.
 *
 * Classifier-free guidance: with guidance g != 1 each evaluation runs the conditional and the
 * unconditional (class DS_NO_CLASS) halves in ONE batched call of size 2B and uses
 * ε = ε_u + g (ε_c − ε_u). Guidance may be limited to an interval of timesteps
 * [guidance_t_lo, guidance_t_hi] (Kynkäänniemi et al. 2024, "Applying guidance in a limited
 * interval improves sample and distribution quality"): at high noise guidance pulls every image
 * of a class towards one mode (the Fashion UNet's FD ratio at DDIM 20: 2.2 unguided, 3.8 at
 * g = 2 over all t), at low noise it changes little; outside the interval a step runs the
 * conditional half alone (ε = ε_c, half the work) and the guidance map is 0 there.
 * x̂_0 may be clipped to [−clip, clip] (0 = off); ε̂ is then
 * recomputed from the clipped x̂_0 so the step stays consistent.
 *
 * Determinism: x_T and every injected noise come from src/rng.h, one generator per image
 * seeded from (seed, first_image + index), so image i is the same whatever the batch size, and the
 * arithmetic (double, fixed order, -ffp-contract=off) is bit-identical natively and in WASM.
 * All buffers are allocated once at create; step() allocates nothing.
 * Not here: the models (sampler_models.c adapts them), image encoding, I/O. */
#ifndef DS_SAMPLER_H
#define DS_SAMPLER_H

#include <stdint.h>

#include "schedule.h"

#define DS_NO_CLASS 10          /* class index of the unconditional (null) label */
#define DS_SAMPLER_MAX_BATCH 4096

/* ε-predictor: eps (B, D) = model(x (B, D), t (B) timestep in [0, T], cls (B) 0..9 or 10).
 * Returns DS_OK or DS_ERR (with ds_fail). */
typedef int (*ds_eps_fn)(void *ctx, const float *x, const float *t, const int *cls, int B, float *eps);

typedef enum { DS_SAMPLER_DDPM = 0, DS_SAMPLER_DDIM = 1, DS_SAMPLER_DPMPP2M = 2, DS_SAMPLER_COUNT } ds_sampler_kind;

typedef struct {
    ds_sampler_kind kind;
    int steps;          /* model evaluations, 1..T */
    double eta;         /* DDIM only: 0 = deterministic, 1 = DDPM-like noise */
    double guidance;    /* classifier-free guidance scale g; 1 = no unconditional pass */
    int guidance_t_lo, guidance_t_hi; /* guidance applies at timesteps lo <= t <= hi (default 0, T:
                           everywhere; hi above T means T); elsewhere ε = ε_c */
    double clip;        /* clip x̂_0 to [-clip, clip]; 0 = no clipping */
    uint64_t seed;
    int batch;          /* B, 1..DS_SAMPLER_MAX_BATCH */
    long first_image;   /* index of image 0 in a larger run: image b draws from the stream of
                           (seed, first_image + b), so chunked runs equal one big run */
    double lambda_min;  /* DPM-Solver++: the lowest λ its steps start from (see the top);
                           -INFINITY: from λ_T, unclipped */
    double spacing;     /* the power p of a placement in t (see the top), 1..4; 0 = the kind's
                           own: even in t (DDPM, DDIM: the same as 1), uniform in λ (DPM-Solver++) */
} ds_sampler_params;

#define DS_DPM_LAMBDA_MIN (-5.1)

#define DS_GUIDANCE_T_ALL 1000000 /* guidance_t_hi default: above any T */

/* Defaults: DDIM, 20 steps, η 0, guidance 1 at every t (0..DS_GUIDANCE_T_ALL), no clipping,
 * seed 0, batch 1, first image 0, lambda_min DS_DPM_LAMBDA_MIN, spacing 0 (each kind's own). */
void ds_sampler_params_init(ds_sampler_params *p);

int ds_sampler_kind_parse(const char *name, ds_sampler_kind *kind);  /* ddpm|ddim|dpmpp2m */
const char *ds_sampler_kind_name(ds_sampler_kind kind);

typedef struct ds_sampler ds_sampler;

/* Everything about where the sampler stands, for display. */
typedef struct {
    int step;              /* steps taken so far, 0..steps */
    int steps;             /* total */
    int t;                 /* timestep of the current x_t (0 once done) */
    int t_pred;            /* timestep at which the last x̂_0 / ε̂ were predicted (-1 before step 1) */
    double alpha_bar;      /* ᾱ of the current x_t (1 at t = 0) */
    double signal;         /* √ᾱ_t: scale of x_0 in x_t */
    double noise;          /* √(1 − ᾱ_t): scale of the noise in x_t */
    double snr;            /* ᾱ_t / (1 − ᾱ_t); infinity at t = 0 */
} ds_sampler_info;

/* Creates a sampler over data of dimension D. cls (B): the class of each image, 0..9 or
 * DS_NO_CLASS (may be NULL: all unconditional). The schedule is copied. x starts as x_T ~ N(0, I).
 * Returns NULL on bad input (ds_last_error says why). */
ds_sampler *ds_sampler_create(const ds_schedule *schedule, int D, ds_eps_fn model, void *model_ctx,
                              const ds_sampler_params *params, const int *cls);
void ds_sampler_free(ds_sampler *s);

/* Guidance from the next step on only at timesteps lo <= t <= hi (0 <= lo <= hi <=
 * DS_GUIDANCE_T_ALL; see the top): as params' guidance_t_lo / guidance_t_hi. DS_OK or DS_ERR. */
int ds_sampler_set_guidance_interval(ds_sampler *s, int lo, int hi);

/* The step placement (params' spacing: 0, or a power 1..4) from now on: only before the first step;
 * the steps are placed again from where they start (T, or SDEdit's t0). DS_OK or DS_ERR. */
int ds_sampler_set_spacing(ds_sampler *s, double spacing);

/* Replaces the starting point x_T (B, D) before the first step (e.g. to decode a DDIM
 * inversion). DS_ERR after a step has been taken or for non-finite input. */
int ds_sampler_set_x(ds_sampler *s, const float *x);

/* ---- hooks for the editing methods (edit.h: SDEdit, inpainting, interpolation) ---- */

/* x_T (D) of image `image` under `seed`: what ds_sampler_create draws for it (first_image + b). */
void ds_sampler_initial_noise(uint64_t seed, long image, int D, float *x);
/* Before the first step: start at t_start instead of T with x (B, D) as x_t_start; the steps
 * become min(steps, t_start), spaced from t_start as they would be from T (so t_start = T keeps
 * the sampler as it is). t_start = 0 takes no step: x is the result (and its own x̂_0). */
int ds_sampler_start_at(ds_sampler *s, int t_start, const float *x);
/* Between steps: x (B, D) becomes the current x_t (inpainting's known pixels). */
int ds_sampler_replace_x(ds_sampler *s, const float *x);
/* Takes the last step back with x (B, D) as its x_t again (RePaint's resampling). DDPM and DDIM
 * only: DPM-Solver++'s multistep history would no longer match. */
int ds_sampler_rewind(ds_sampler *s, const float *x);
/* (2B, D): ε̂_cond then ε̂_uncond of the last step when guided (g != 1), else NULL. */
const float *ds_sampler_eps_halves(const ds_sampler *s);
/* What the sampler was made with (steps as ds_sampler_start_at left them), its schedule. */
const ds_sampler_params *ds_sampler_get_params(const ds_sampler *s);
const ds_schedule *ds_sampler_schedule(const ds_sampler *s);
/* t_i of the step sequence (i = steps: 0), or -1 outside 0..steps. */
int ds_sampler_timestep_at(const ds_sampler *s, int i);

/* One reverse step: one model evaluation (two halves batched when guided) and the update.
 * Returns DS_OK, or DS_ERR if done already or the model failed (the state is unchanged then). */
int ds_sampler_step(ds_sampler *s);
int ds_sampler_done(const ds_sampler *s);

/* Runs every remaining step and records the frames: the current state first, then one frame
 * after each step. x_frames (F, B, D) gets x_t, infos (F) the info (may be NULL), where
 * F = steps − step + 1 frames (ds_sampler_frames_left). Returns F, or DS_ERR if a step fails
 * (the frames up to it are written). One call instead of one per step (the page's worker). */
int ds_sampler_run(ds_sampler *s, float *x_frames, ds_sampler_info *infos);
int ds_sampler_frames_left(const ds_sampler *s);

/* (B, D) views, valid until the next step or free: the current x_t, and x̂_0 / ε̂ predicted
 * by the last step (zeros before the first step). */
const float *ds_sampler_x(const ds_sampler *s);
const float *ds_sampler_x0(const ds_sampler *s);
const float *ds_sampler_eps(const ds_sampler *s);
void ds_sampler_get_info(const ds_sampler *s, ds_sampler_info *info);
int ds_sampler_batch(const ds_sampler *s);
int ds_sampler_dim(const ds_sampler *s);

/* The timestep sequence of S steps for this sampler kind (see the top), into out (S). */
int ds_sampler_timesteps(const ds_schedule *schedule, ds_sampler_kind kind, int S, int *out);
/* The same with DPM-Solver++'s lowest starting λ given (ds_sampler_timesteps: DS_DPM_LAMBDA_MIN). */
int ds_sampler_timesteps_from(const ds_schedule *schedule, ds_sampler_kind kind, int S, double lambda_min, int *out);
/* The same with the steps placed by power `spacing` (1..4, or 0: the kind's own; see the top). */
int ds_sampler_timesteps_spaced(const ds_schedule *schedule, ds_sampler_kind kind, int S, double spacing, int *out);

#endif
