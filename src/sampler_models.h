/* sampler_models.h — what the sampler runs on, and the sampler's WebAssembly API.
 *
 * Adapters from the engine's denoiser (model.h) to the sampler's ε-callback, the image
 * encoding shared by the CLI and the page (pixel p in 0..255 <-> x = p / 127.5 − 1 in [−1, 1],
 * the trainer's data scaling), the shipped Fashion-MNIST test sample (a small binary file of
 * real test images) and the exact point-mass mixture over it: the analytic "perfect
 * memoriser" model that yields clean garments with no training.
 *
 * Fashion sample file (web/data/fashion-sample.bin), little-endian:
 *   0  char[4] magic "DSFS"   4 u32 version (1)   8 u32 count   12 u32 rows   16 u32 cols
 *   20 u8 labels[count] (0..9)   then u8 pixels[count][rows][cols] (0 = background)
 * Not here: the sampling algorithms (sampler.h), the networks (unet.h). */
#ifndef DS_SAMPLER_MODELS_H
#define DS_SAMPLER_MODELS_H

#include <stddef.h>
#include <stdint.h>

#include "export.h"
#include "gmm_denoiser.h"
#include "schedule.h"

#define DS_FASHION_SAMPLE_MAGIC "DSFS"
#define DS_FASHION_SAMPLE_VERSION 1
#define DS_FASHION_SAMPLE_HEADER 20

/* The ds_eps_fn over an engine model: ctx is a ds_model*. */
int ds_model_eps(void *ctx, const float *x, const float *t, const int *cls, int B, float *eps);

/* Image encoding: x = p / 127.5 − 1; back with rounding and clamping to 0..255. */
void ds_pixels_to_x(const uint8_t *pixels, long n, float *x);
void ds_x_to_pixels(const float *x, long n, uint8_t *pixels);

typedef struct {
    int count, rows, cols;
    const uint8_t *labels;  /* (count) views into the file bytes */
    const uint8_t *pixels;  /* (count, rows, cols) */
} ds_fashion_sample;

/* Checks and views a sample file held in memory. DS_OK, or DS_ERR naming what is wrong. */
int ds_fashion_sample_parse(const uint8_t *bytes, size_t n, ds_fashion_sample *out);

/* Mixture with one component per image (equal weights, mean = the image in [−1, 1],
 * isotropic variance var >= 0, label = its class). NULL on error. */
ds_gmm *ds_gmm_from_images(const ds_schedule *schedule, const uint8_t *pixels, const uint8_t *labels, int count, int D,
                           double var);

/* ---- WebAssembly entry points. Handles are pointers as ints (> 0); -1 on error. ---- */

/* The exact mixture over count images (count, D) u8 with labels (count) u8. */
DS_EXPORT int ds_gmm_images_new(const uint8_t *pixels, const uint8_t *labels, int count, int D, double var,
                                int schedule_kind);
DS_EXPORT int ds_gmm_images_free(int gmm);
/* Any mixture (gmm_denoiser.h): weight (K), mean (K, D), var (K, D), label (K) -1 or 0..9;
 * handles share the table above (free with ds_gmm_images_free). The points widgets use this. */
DS_EXPORT int ds_gmm_new(int K, int D, const double *weight, const float *mean, const float *var, const int *label,
                         int schedule_kind);
/* The exact prediction for x (B, D) at timesteps t (B), class cls (B): what 0 = E[x_0 | x_t],
 * 1 = ε*. out (B, D). */
DS_EXPORT int ds_gmm_predict(int gmm, int what, const float *x, const float *t, const int *cls, int B, float *out);

/* Samplers over an engine model handle (model.h: ds_engine_load) or over a mixture handle.
 * kind 0 ddpm / 1 ddim / 2 dpmpp2m; cls (batch) 0..10; seed a whole number in [0, 2^53]. */
DS_EXPORT int ds_sampling_new_model(int model, int schedule_kind, int kind, int steps, double eta, double guidance,
                                    double clip, double seed, int batch, const int *cls);
DS_EXPORT int ds_sampling_new_gmm(int gmm, int kind, int steps, double eta, double guidance, double clip, double seed,
                                  int batch, const int *cls);
/* Takes up to n steps; returns the number of steps taken so far in total, or -1. */
DS_EXPORT int ds_sampling_step(int sampler, int n);
/* what: 0 = x_t, 1 = x̂_0, 2 = ε̂. Floats (batch, D), or greyscale pixels (batch, D) through
 * ds_x_to_pixels (ε̂ shown as 127.5 + 42.5 ε, i.e. ±3 fills the range). */
DS_EXPORT int ds_sampling_read(int sampler, int what, float *out);
DS_EXPORT int ds_sampling_read_u8(int sampler, int what, uint8_t *out);
/* One call per displayed step: x_t and x̂_0 as pixels (batch, D) each, and info (10) as below. */
DS_EXPORT int ds_sampling_frame(int sampler, uint8_t *x_out, uint8_t *x0_out, double *info);
/* out (10): step, steps, t, t_pred, ᾱ, √ᾱ, √(1−ᾱ), SNR (−1 for infinite), batch, D. */
DS_EXPORT int ds_sampling_info(int sampler, double *out);
DS_EXPORT int ds_sampling_free(int sampler);

/* q(x_t | x_0) for one image: x_t = √ᾱ_t x_0 + √(1−ᾱ_t) ε, ε from the seed, as pixels
 * (clamped) into out (D); info (4): ᾱ_t, √ᾱ_t, √(1−ᾱ_t), SNR. t = 0 returns the image. */
DS_EXPORT int ds_forward_noise(const uint8_t *pixels, int D, int t, int schedule_kind, double seed, uint8_t *out,
                               double *info);

#endif
