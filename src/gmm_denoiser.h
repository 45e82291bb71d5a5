/* gmm_denoiser.h — the exact (Bayes-optimal) denoiser of a Gaussian mixture.
 *
 * Data x_0 ~ Σ_k w_k N(μ_k, diag(s_k²)) in D dimensions. Under the forward process
 * x_t = √ᾱ x_0 + √(1−ᾱ) ε each component stays Gaussian, x_t | k ~ N(√ᾱ μ_k, ᾱ s_k² + 1 − ᾱ),
 * so the posterior responsibilities r_k(x_t) and
 *   E[x_0 | x_t] = Σ_k r_k (μ_k + √ᾱ s_k² / (ᾱ s_k² + 1 − ᾱ) (x_t − √ᾱ μ_k))
 * are closed-form, and so is the optimal ε-predictor ε* = (x_t − √ᾱ E[x_0 | x_t]) / √(1−ᾱ).
 * A sampler driven by ε* must reproduce the mixture (tests/test_sampler.c checks this), and
 * the points widgets use it as the "perfectly trained" model. Variances may be 0 (point
 * masses: the mixture then memorises its means, e.g. real Fashion-MNIST images).
 * Components carry an optional class label: class c conditions on the components labelled c,
 * class DS_NO_CLASS (10) uses them all — so classifier-free guidance has an exact model too.
 * Arithmetic in double with detmath's exp/log: bit-identical natively and in WASM.
 * Not here: sampling loops (sampler.h). */
#ifndef DS_GMM_DENOISER_H
#define DS_GMM_DENOISER_H

#include "rng.h"
#include "schedule.h"

typedef struct ds_gmm ds_gmm;

/* weight (K) > 0, normalised here; mean (K, D); var (K, D) >= 0 per-dimension variances;
 * label (K) 0..9, or -1 for "no class" (may be NULL: all -1). The schedule is copied.
 * Returns NULL on bad input (ds_last_error says why). */
ds_gmm *ds_gmm_create(const ds_schedule *schedule, int K, int D, const double *weight, const float *mean,
                      const float *var, const int *label);
void ds_gmm_free(ds_gmm *g);
int ds_gmm_dim(const ds_gmm *g);
const ds_schedule *ds_gmm_schedule(const ds_gmm *g); /* the schedule the mixture is noised under */

/* E[x_0 | x_t] (B, D) for x (B, D) at integer timesteps t (B) in 1..T, class cls (B) 0..10
 * (NULL: all unconditional). DS_OK, or DS_ERR for bad t / an empty class. */
int ds_gmm_denoise(ds_gmm *g, const float *x, const float *t, const int *cls, int B, float *x0);

/* E[x_0 | x] (B, D) for x = signal·x_0 + noise·ε with scales given directly (flow matching:
 * signal 1 − t, noise t), unconditional. noise > 0. DS_OK or DS_ERR. */
int ds_gmm_denoise_scaled(ds_gmm *g, const float *x, double signal, double noise, int B, float *x0);

/* The optimal ε-predictor, with the ds_eps_fn signature (ctx is the ds_gmm). */
int ds_gmm_eps(void *ctx, const float *x, const float *t, const int *cls, int B, float *eps);

/* One exact draw x_0 (D) from the mixture (conditioned on cls as above). DS_OK/DS_ERR. */
int ds_gmm_sample(const ds_gmm *g, ds_rng *rng, int cls, float *x0);

#endif
