/* wasm_api.h — the one face JavaScript sees: every function the WebAssembly module exports.
 *
 * Thin wrappers over the plain-C library, in one place, with:
 *   - one handle table for every object (model, mixture, sampler, trainer, optimiser):
 *     a handle is an int > 0 (0 is never one); each slot is tagged with its kind and a
 *     generation, so a sampler handle passed as a model, or a handle already freed, is
 *     refused with a message naming what was expected. ds_api_free frees any kind.
 *   - one check of numbers: seeds through ds_seed_from_double (rng.h), enum ids against
 *     their tables; int parameters are checked to be whole numbers by the JS marshalling
 *     (web/api.js), which reads each function's parameter kinds from the description.
 *   - named layouts: ds_api_describe() returns JSON with every enum's names -> ids, every
 *     record (an info array's field names, counts and enums) and every function's parameter
 *     kinds, so the JS sends and reads names, never bare positions.
 * Every function returns >= 0 on success (a count, a size or a handle) and -1 (DS_ERR) with
 * ds_api_last_error() set on failure. Arrays are (shape) row-major; "rec NAME" means an
 * out array of that record's length (see the description), "recs NAME (n)" n of them.
 * Natively the file compiles too (the tests may call it); nothing else in src/ calls it.
 * Not here: the computations (the files each wrapper names), the JS side (web/api.js). */
#ifndef DS_WASM_API_H
#define DS_WASM_API_H

#include <stdint.h>

#include "export.h"

DS_EXPORT const char *ds_api_describe(void);       /* JSON, static, valid for the module's life */
DS_EXPORT const char *ds_api_last_error(void);
DS_EXPORT void ds_api_clear_error(void);
DS_EXPORT int ds_api_free(int handle);             /* any kind of handle */
/* The lengths (elements, not bytes) of the next calls' arguments, one per parameter: an
 * array's length, or -1 for a number. Every wrapper checks the arrays it reads or writes
 * against what its objects and counts need before it touches them (a 784-float buffer for a
 * model of 2-D points is refused with both sizes named). web/api.js sets them before every
 * call; n = 0 turns the checks off (native callers that size their own arrays). */
DS_EXPORT int ds_api_bounds(const int *lens, int n);

/* ---- models (model.h) ---- */
DS_EXPORT int ds_api_model_load(const uint8_t *bytes, int n);
/* What a .dsw file holds from its first 256 bytes (model.h ds_model_peek): rec weights_peek. */
DS_EXPORT int ds_api_weights_peek(const uint8_t *bytes, int n, double *out);
/* kind: model_kind; config (n) as in the weights header, n = 0: the default config. */
DS_EXPORT int ds_api_model_random(int kind, const int *config, int n, double seed);
/* out (B, item) for x (B, item), t (B), cls (B) (ignored by the MLP). */
DS_EXPORT int ds_api_model_forward(int model, const float *x, const float *t, const int *cls, int B, float *out);
DS_EXPORT int ds_api_model_info(int model, double *out);                    /* rec model_info */
/* dtype: dtype. Writes the .dsw bytes into out (cap); cap = 0 asks for the size. */
DS_EXPORT int ds_api_model_save(int model, int dtype, int cap, uint8_t *out);
/* The model's class names (the .dsw's, possibly none), UTF-8, each followed by '\n'; returns
 * the byte count, as model_save (cap 0: only the count). */
DS_EXPORT int ds_api_model_class_names(int model, int cap, uint8_t *out);

/* ---- exact mixtures (gmm_denoiser.h, sampler_models.h) ---- */
DS_EXPORT int ds_api_mixture_images(const uint8_t *pixels, const uint8_t *labels, int count, int D, double var,
                                    int schedule);
DS_EXPORT int ds_api_mixture_new(int K, int D, const double *weight, const float *mean, const float *var,
                                 const int *label, int schedule);
/* what: view x0 or eps; out (B, D). */
DS_EXPORT int ds_api_mixture_predict(int mixture, int what, const float *x, const float *t, const int *cls, int B,
                                     float *out);

/* ---- samplers (sampler.h) over a model or a mixture handle ---- */
/* schedule: must be the mixture's own for a mixture; kind: sampler_kind; cls (batch) 0..10. */
DS_EXPORT int ds_api_sampler_new(int source, int schedule, int kind, int steps, double eta, double guidance,
                                 double clip, double seed, int batch, const int *cls);
/* Guidance (of a sampler made with guidance != 1) only at timesteps lo..hi from the next step on
 * (sampler.h; 0 and T: every step). */
DS_EXPORT int ds_api_sampler_guidance_interval(int sampler, int lo, int hi);
/* DDPM / DDIM step placement t = 1 + (T-1) u^spacing (1..4; sampler.h), before the first step. */
DS_EXPORT int ds_api_sampler_spacing(int sampler, double spacing);
DS_EXPORT int ds_api_sampler_step(int sampler, int n);                      /* returns steps taken in total */
DS_EXPORT int ds_api_sampler_read(int sampler, int what, float *out);       /* (batch, D) */
DS_EXPORT int ds_api_sampler_read_u8(int sampler, int what, uint8_t *out);  /* (batch, D) pixels */
DS_EXPORT int ds_api_sampler_info(int sampler, double *out);                /* rec sampler_info */
/* One call per displayed step: x_t and x̂_0 as pixels (batch, D) each, and rec sampler_info. */
DS_EXPORT int ds_api_sampler_frame(int sampler, uint8_t *x_out, uint8_t *x0_out, double *info);
/* Every remaining step in one call: frames (F, batch, D) x_t, infos recs sampler_info (F),
 * F = steps − step + 1 (the current state first). Returns F. */
DS_EXPORT int ds_api_sampler_run(int sampler, float *frames, double *infos);
/* q(x_t | x_0) of one image (D) as pixels into out (D); info rec noise_info. */
DS_EXPORT int ds_api_forward_noise(const uint8_t *pixels, int D, int t, int schedule, double seed, uint8_t *out,
                                   double *info);
/* The Fashion sample file's header (sampler_models.h, with its version check): rec fashion_sample. */
DS_EXPORT int ds_api_fashion_sample(const uint8_t *bytes, int n, double *out);

/* ---- editing (edit.h) and the GIF encoder (gif.h): the <diffuscope-edit>, <diffuscope-blend>
 * and <diffuscope-sampler> elements' calls. Each edit sets up a sampler made by sampler_new
 * before its first step; sampler_step and sampler_run then go through an attached inpainting. ---- */
/* SDEdit: pixels (batch, D) noised to t0 (0..T) and the steps spaced from there; info rec
 * sampler_info of the start (t, steps, signal, noise). */
DS_EXPORT int ds_api_sampler_sdedit(int sampler, int t0, const uint8_t *pixels, double *info);
/* Inpainting: the pixels (batch, D) where mask == 0 are kept; resample r 1..10; seed: the
 * known pixels' forward noise. */
DS_EXPORT int ds_api_sampler_inpaint(int sampler, const uint8_t *pixels, const uint8_t *mask, int resample, double seed);
/* x_T = slerp between seed_a's and seed_b's x_T at u (batch) in [0, 1]. */
DS_EXPORT int ds_api_sampler_slerp(int sampler, double seed_a, double seed_b, const double *u);
/* Class interpolation over a model: image b's class embedding moves toward cls_to[b] (batch)
 * by weight[b] (batch) in [0, 1]. */
DS_EXPORT int ds_api_sampler_blend(int sampler, const int *cls_to, const float *weight);
/* out (batch, D) = ε̂_cond − ε̂_uncond of the last step (a guided sampler only). */
DS_EXPORT int ds_api_sampler_guidance_map(int sampler, float *out);
/* Every remaining step, recorded: x_t and x̂_0 as pixels (F, batch, D) each, the guidance map
 * (F, batch, D) when with_map (a guided sampler only; else left as it is), infos recs
 * sampler_info (F). Returns F = steps − step + 1. */
DS_EXPORT int ds_api_edit_run(int sampler, int with_map, uint8_t *x_frames, uint8_t *x0_frames, float *maps,
                              double *infos);
/* An animated GIF of frames (n, height, width) grey levels, each pixel scale × scale, delay_cs
 * per frame, last_delay_cs the last (0: the same); bytes into out (cap); cap = 0 asks the size. */
DS_EXPORT int ds_api_gif_encode(const uint8_t *frames, int n, int width, int height, int scale, int delay_cs,
                                int last_delay_cs, int cap, uint8_t *out);

/* ---- the point MLP trainer (mlp_train.h) and Adam (optim.h) ---- */
DS_EXPORT int ds_api_trainer_new(const float *points, int n, int hidden, int n_layers, int batch, double lr,
                                 int total_steps, double seed);
DS_EXPORT int ds_api_trainer_run(int trainer, int K, double *out);          /* rec trainer_run */
/* ema 1: the EMA weights, 0 the raw ones; .dsw bytes into out (cap); cap = 0 asks the size. */
DS_EXPORT int ds_api_trainer_save(int trainer, int ema, int cap, uint8_t *out);
DS_EXPORT int ds_api_adam_new(int n, double lr, double beta1, double beta2, double weight_decay, double clip_norm,
                              int warmup_steps);
/* params_out (n) = one update of params (n) with grads (n); returns the step count. */
DS_EXPORT int ds_api_adam_update(int adam, const float *params, const float *grads, float *params_out);

/* ---- schedules, random numbers, point sets (schedule.h, rng.h, shapes.h, points_forward.h) ---- */
DS_EXPORT int ds_api_schedule_table(int schedule, int T, int rows, double *out);  /* rows of schedule_table */
DS_EXPORT int ds_api_rng_normals(double seed, int n, double *out);
DS_EXPORT int ds_api_shape_points(int shape, int n, double seed, float *out);     /* (n, 2) */
DS_EXPORT int ds_api_cow_outline(int cap, float *xy);
/* mode: drawing_mode. */
DS_EXPORT int ds_api_drawing_points(const float *xy, const int *lens, int S, int mode, double width, int n,
                                    double seed, float *out);
DS_EXPORT int ds_api_image_points(const uint8_t *grey, int w, int h, int threshold, int n, double seed, float *out);
DS_EXPORT int ds_api_points_noise(int n, double seed, float *out);
DS_EXPORT int ds_api_forward_points(int schedule, int T, int t, const float *x0, const float *eps, int n, float *xt);
DS_EXPORT int ds_api_forward_trajectory(int schedule, int T, const float *x0, const float *eps, float *out);
DS_EXPORT int ds_api_forward_density(int schedule, int T, int t, const float *x0, int n, double lo, double hi, int G,
                                     float *out);

/* ---- point quality (point_metrics.h): the measures and C's verdict ---- */
DS_EXPORT int ds_api_point_quality(const float *a, int na, const float *b, int nb, double *out); /* rec point_quality */
DS_EXPORT int ds_api_point_floor(int shape, int n, double seed, double *out);                 /* rec point_quality */
DS_EXPORT int ds_api_point_verdict(double chamfer, double mmd2, double floor_chamfer, double *out); /* rec point_verdict */

/* ---- variational inference (vi.h) ---- */
DS_EXPORT int ds_api_vi_evaluate(int k, const double *params, double mu, double sigma, double log_z, double *out);
DS_EXPORT int ds_api_vi_parse_target(const unsigned char *text, int len, double *out);        /* rec vi_target */
DS_EXPORT int ds_api_vi_curves(int k, const double *params, double mu, double sigma, double x0, double x1, int n,
                               double *out);                                                  /* rows of vi_curves */
DS_EXPORT int ds_api_vi_monte_carlo(int k, const double *params, double mu, double sigma, double log_z, double n,
                                    double seed, double *out);                                /* rec vi_monte_carlo */
/* direction: vi_direction; path recs vi_fit (max_steps + 1); returns the rows used. */
DS_EXPORT int ds_api_vi_fit_path(int k, const double *params, int direction, double mu0, double sigma0, int max_steps,
                                 double *path);

/* ---- kernel benchmarks (kernels_bench.h) ---- */
DS_EXPORT int ds_api_bench_peak(double seconds, double *out);                                 /* rec bench_peak */
DS_EXPORT int ds_api_bench_unet_convs(int model, int B, double seconds, int cap_rows, double *out); /* recs bench_conv */
/* the whole forward layer by layer; run a model_forward first so a loaded model is prepared (Winograd) */
DS_EXPORT int ds_api_bench_unet_layers(int model, int B, double seconds, int cap_rows, double *out); /* recs bench_layer */

/* ---- scores, Langevin, reverse SDE / PF-ODE and flow matching (score.h, mlp_train.h) ----
 * source: a model handle (an ε-model: scores and the ε paths; a flow-matching model: velocities
 * and the flow paths; the wrong one is refused by name) or a mixture handle (the exact field,
 * both). Points are (n, 2) for the point models (D in general). Time: a whole timestep t in
 * 1..T for scores and the ε paths, flow time t in [0, 1] for velocities and the flow paths. */
/* objective: training_objective ('diffusion' = ds_api_trainer_new, 'flow'); the rest as ds_api_trainer_new. */
DS_EXPORT int ds_api_trainer_objective_new(int objective, const float *points, int n, int hidden, int n_layers,
                                           int batch, double lr, int total_steps, double seed);
/* The exact stand-in of a point set (n, 2): one component N(p_i, var I) per point, equal weights,
 * noised under schedule. Returns a mixture handle. */
DS_EXPORT int ds_api_points_mixture(const float *points, int n, double var, int schedule);
/* out (B, D): s = −ε̂ / √(1 − ᾱ_t) at x (B, D). */
DS_EXPORT int ds_api_score(int source, int t, const float *x, int B, float *out);
/* out (B, D): the flow velocity at x (B, D), t in [0, 1] (a mixture: (0, 1]). */
DS_EXPORT int ds_api_velocity(int source, double t, const float *x, int B, float *out);
/* out (G², 2): the G×G grid over [lo, hi]², row r at y = hi − (r + ½) cell, column c at x = lo + (c + ½) cell. */
DS_EXPORT int ds_api_grid_points(double lo, double hi, int G, float *out);
/* out (G², 2): the score / velocity at ds_api_grid_points(lo, hi, G), 2 <= G <= 64. */
DS_EXPORT int ds_api_score_grid(int source, int t, double lo, double hi, int G, float *out);
DS_EXPORT int ds_api_velocity_grid(int source, double t, double lo, double hi, int G, float *out);
/* kind: path_kind. n paths from start (n, D): frames (steps + 1, n, D) (frame 0 = start), times
 * (steps + 1) each frame's time. t_start: 0 = the start of the time (T, or flow t = 1), else a
 * whole timestep 1..T (ε kinds) or a flow t in (0, 1]. t_end, step_size, per_level: langevin only
 * (levels from t_start down to t_end, 0 = 1; δ = step_size (1 − ᾱ_t), per_level steps at each of
 * `steps` levels), else 0. seed: the SDE's and Langevin's noise (path i has its own stream).
 * Returns steps + 1. */
DS_EXPORT int ds_api_paths(int source, int kind, int steps, double t_start, int t_end, double step_size, int per_level,
                           double seed, const float *start, int n, float *frames, double *times);
/* Langevin chains at the one level t: frames (steps + 1, n, D), frame 0 = start. Returns steps + 1. */
DS_EXPORT int ds_api_langevin(int source, int t, double step_size, int steps, double seed, const float *start, int n,
                              float *frames);

#endif
