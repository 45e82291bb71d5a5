/* edit.h — editing with a diffusion model: start from an image (SDEdit), keep part of one
 * (inpainting with RePaint's resampling), move between seeds and between classes
 * (interpolation), and see what guidance adds (the map ε̂_cond − ε̂_uncond).
 *
 * Each method drives an ordinary ds_sampler through its hooks (sampler.h), so every sampler
 * kind, guidance and clipping work as in a plain run, and the same seed gives the same bytes
 * natively and in WASM.
 *   SDEdit (Meng et al. 2022): x_t0 = √ᾱ_t0 x_0 + √(1 − ᾱ_t0) z with z the sampler's own x_T
 *     draw, then the sampler's steps spaced from t0 instead of T. t0 = 0 returns x_0 unchanged;
 *     t0 = T is the plain sampler (its x_T is z itself: q(x_T | x_0) is N(0, I) up to
 *     √ᾱ_T = 0.006 on the linear schedule, and N(0, I) is what the model was trained to start
 *     from), so the same seed gives the plain sample bit for bit.
 *   Inpainting (Lugmayr et al. 2022, RePaint): after every step the known pixels (mask 0) are
 *     replaced by q(x_t' | x_known), fresh noise each time, so at t = 0 they are the known image
 *     exactly; with r > 1 each step is taken r times, jumping back from t' to t with
 *     q(x_t | x_t') = N(√(ᾱ_t/ᾱ_t') x_t', (1 − ᾱ_t/ᾱ_t') I) in between, which lets the
 *     regenerated pixels agree with the kept ones. Resampling needs a one-step sampler (DDPM,
 *     DDIM).
 *   Interpolation: x_T = slerp(x_T(seed a), x_T(seed b), u), spherical because Gaussian noise
 *     lives near the sphere of radius √D and a straight line between two draws passes inside
 *     it (its norm drops to √(D/2) halfway); with DDIM η = 0 the path of images is continuous.
 *     Classes: the class embedding row moves linearly from class a to class b
 *     (ds_unet_forward_mixed), the unconditional half of guidance stays unconditional.
 *     u = 0 and u = 1 give each end's own sample bit for bit.
 * Not here: the sampling loop (sampler.h), the networks (unet.h), the GIF (gif.h), I/O. */
#ifndef DS_EDIT_H
#define DS_EDIT_H

#include <stdint.h>

#include "model.h"
#include "sampler.h"

#define DS_INPAINT_MAX_RESAMPLE 10

/* SDEdit: before the first step, noise x0 (B, D) to t0 (0..T) with the sampler's own x_T draw
 * and start there (see the top). DS_ERR after a step, for t0 out of range or non-finite x0. */
int ds_edit_sdedit(ds_sampler *s, int t0, const float *x0);

/* Inpainting over a sampler (not owned; it must outlive this). known (B, D): the image whose
 * pixels with mask (B, D) == 0 are kept; mask 1 = regenerate. resample: r in 1..10 (r > 1 with
 * DDPM or DDIM only). seed: the forward noise of the known pixels (its own streams, apart from
 * the sampler's). The current x_t's known pixels are replaced at once. NULL on bad input. */
typedef struct ds_inpaint ds_inpaint;
ds_inpaint *ds_inpaint_create(ds_sampler *s, const float *known, const uint8_t *mask, int resample, uint64_t seed);
void ds_inpaint_free(ds_inpaint *ip);
/* One step of the sampler, r times with the jumps back, known pixels replaced after each. */
int ds_inpaint_step(ds_inpaint *ip);

/* x (B, D) = slerp(x_T of seed_a, x_T of seed_b, u[b]), u in [0, 1]; x_T of a seed is image 0's
 * draw (ds_sampler_initial_noise). For ds_sampler_set_x. */
int ds_edit_slerp_noise(uint64_t seed_a, uint64_t seed_b, const double *u, int B, int D, float *x);

/* Class interpolation: an ε-predictor over a model whose conditional items (class != none) use
 * the embedding (1 − w_b) class_emb[cls] + w_b class_emb[cls_to_b], b = item mod B (so the
 * conditional and unconditional halves of a guided batch of 2B map to the same image). */
typedef struct ds_class_blend ds_class_blend;
/* cls_to (B) 0..DS_NO_CLASS − 1, weight (B) in [0, 1] (both copied); model may be NULL when only
 * ds_class_blend_forward is used with a model given per call. NULL on bad input. */
ds_class_blend *ds_class_blend_create(ds_model *model, const int *cls_to, const float *weight, int B);
void ds_class_blend_free(ds_class_blend *cb);
int ds_class_blend_forward(ds_class_blend *cb, ds_model *m, const float *x, const float *t, const int *cls, int M,
                           float *eps);
int ds_class_blend_eps(void *ctx, const float *x, const float *t, const int *cls, int M, float *eps); /* ds_eps_fn */

/* map (B, D) = ε̂_cond − ε̂_uncond of the last step (zeros before the first). DS_ERR when the
 * sampler is not guided (g = 1 runs no unconditional half). */
int ds_edit_guidance_map(const ds_sampler *s, float *map);

/* Every remaining step (through ip when given; ip's sampler must be s), recording per frame,
 * the current state first: x_t into x_frames (F, B, D), x̂_0 into x0_frames (F, B, D) (the last
 * prediction; zeros before the first step unless t0 = 0), the guidance map into guide_frames
 * (F, B, D) (NULL when not guided), the info into infos (F). Any of the outputs but x_frames may
 * be NULL. Returns F = ds_sampler_frames_left, or DS_ERR (frames up to the failure written). */
int ds_edit_run(ds_sampler *s, ds_inpaint *ip, float *x_frames, float *x0_frames, float *guide_frames,
                ds_sampler_info *infos);

#endif
