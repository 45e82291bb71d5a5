/* sampler_models.h — what the sampler runs on, and reading its state as images.
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
 * Not here: the sampling algorithms (sampler.h), the networks (unet.h), handles for JS (wasm_api.h). */
#ifndef DS_SAMPLER_MODELS_H
#define DS_SAMPLER_MODELS_H

#include <stddef.h>
#include <stdint.h>

#include "gmm_denoiser.h"
#include "sampler.h"
#include "schedule.h"

#define DS_FASHION_SAMPLE_MAGIC "DSFS"
#define DS_FASHION_SAMPLE_VERSION 1
#define DS_FASHION_SAMPLE_HEADER 20

/* The ds_eps_fn over an engine model: ctx is a ds_model*; a model whose prediction is not ε
 * (a flow-matching model) is refused by name. */
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

/* What to read of a sampler's state (sampler.h views). */
typedef enum { DS_VIEW_X_T = 0, DS_VIEW_X0 = 1, DS_VIEW_EPS = 2 } ds_sampler_view;
#define DS_VIEW_COUNT 3
const char *ds_sampler_view_name(ds_sampler_view v);   /* "x_t", "x0", "eps" */

/* The (batch, D) view `what`, or NULL (with ds_fail) for an unknown one. */
const float *ds_sampler_view_of(const ds_sampler *s, ds_sampler_view what);

/* The view as greyscale pixels (batch, D) through ds_x_to_pixels; ε̂ is shown as
 * 127.5 + 42.5 ε (±3 fills the range). DS_OK or DS_ERR. */
int ds_sampler_read_pixels(const ds_sampler *s, ds_sampler_view what, uint8_t *out);

/* The exact mixture's prediction for x (B, D) at t (B), cls (B): x0 = E[x_0 | x_t], eps = ε*
 * (x_t is refused). x must be finite (ds_model_forward refuses NaN too). out (B, D). */
int ds_gmm_predict(ds_gmm *g, ds_sampler_view what, const float *x, const float *t, const int *cls, int B, float *out);

/* q(x_t | x_0) for one image: x_t = √ᾱ_t x_0 + √(1−ᾱ_t) ε, ε from the seed, as pixels
 * (clamped) into out (D); info (4): ᾱ_t, √ᾱ_t, √(1−ᾱ_t), SNR (−1 at t = 0, where the image
 * is returned). DS_OK or DS_ERR. */
int ds_forward_noise(const ds_schedule *schedule, const uint8_t *pixels, int D, int t, uint64_t seed, uint8_t *out,
                     double *info);

#endif
