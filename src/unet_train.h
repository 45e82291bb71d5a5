/* unet_train.h — the backward pass of the UNet, and the noising of a training batch.
 *
 * The backward walks the activations the forward cached in its run state (unet.h) in
 * reverse, and ACCUMULATES the parameter gradients into a blob laid out by the model's own
 * parameter table (so the optimiser, the checkpoint and the weights file all share one
 * layout). Activation gradients live in a grad state, one buffer per tensor that has several
 * consumers (skip connections), allocated once.
 *
 * Diffusion step (Ho et al. 2020, ε-prediction): for each image x0 with class c, timestep t
 * uniform in 1..T and noise ε ~ N(0, I): x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) ε, and the
 * loss is mean((unet(x_t, t, c') - ε)^2) with c' = "no class" for ~10% of items (label
 * dropout, so the same network serves classifier-free guidance); or the v target and the
 * min-SNR weighting instead (ds_diffusion_target). The caller draws (t, ε, c')
 * from its RNG in a fixed order (ds_diffusion_draw) so that a batch split across threads gives
 * the same numbers as one thread.
 * Not here: threads, data loading, files (tools/cmd_train.c), the optimiser (optim.h), the
 * MLP's backward (mlp_train.h). */
#ifndef DS_UNET_TRAIN_H
#define DS_UNET_TRAIN_H

#include "rng.h"
#include "schedule.h"
#include "unet.h"
#include "weights.h"

typedef struct {
    int max_batch;
    float *d_h_in;                          /* (B, C_0, S, S) */
    float *d_block_out[DS_UNET_MAX_BLOCKS]; /* (B, cout, s, s) per block */
    float *d_down[DS_UNET_MAX_LEVELS];      /* l < L-1: like down[l] */
    float *d_concat[DS_UNET_MAX_LEVELS];    /* like concat[l] */
    float *d_up[DS_UNET_MAX_LEVELS];        /* l > 0: like up[l] */
    float *d_big[3];                        /* (B, C_max, S, S) per-block temporaries */
    float *d_emb_proj;                      /* (B, C_max) */
    float *d_emb_act, *d_emb, *d_temb_act1, *d_temb_h1; /* (B, E) each */
    float *d_attn_out;                      /* (B, C_{L-1}, N) with attention: the mid attention's output */
    float *d_scores;                        /* (N, N) with attention: one image's scores */
    float *scratch;                         /* conv backward scratch */
    long scratch_floats;
    float *buf;                             /* the one allocation */
    long buf_floats;
} ds_unet_grad_state;

int ds_unet_grad_state_alloc(ds_unet_grad_state *g, const ds_unet *m, int max_batch);
void ds_unet_grad_state_free(ds_unet_grad_state *g);

/* The blocks' 3x3 convolutions, transposed for their input gradients. For y = conv(x, w), 3x3,
 * stride 1, padding 1: dL/dx = conv(dy, w~) with w~[c][o][ky][kx] = w[o][c][2 - ky][2 - kx], a
 * convolution of the same shape, so the backward runs it on the forward's Winograd kernel (4x
 * fewer multiplies at 28x28 and 14x14 than the im2col GEMM and col2im it replaces) within
 * Winograd's rounding (tests/test_train_gradcheck.c bounds it against the GEMM path). Made
 * once per set of weights (each training step, on the calling thread) and then read by every
 * shard's backward. */
typedef struct {
    float *conv1[DS_UNET_MAX_BLOCKS];       /* w~ of conv1 packed by ds_winograd_weights: (P, cin, cout) */
    float *conv2[DS_UNET_MAX_BLOCKS];       /* (P, cout, cout); P = (m + 2)^2, m = ds_winograd_tile(size) */
    float *flipped;                         /* (workers, F) one w~ per worker before its transform */
    size_t flipped_floats;                  /* F: the largest conv's C_out x C_in x 9 */
    int workers;
    float *buf;                             /* the one allocation */
} ds_unet_backward_weights;

/* room for m's blocks and for `workers` threads preparing them at once */
int ds_unet_backward_weights_alloc(ds_unet_backward_weights *bw, const ds_unet *m, int workers);
/* w~ of every block's conv1 and conv2 from m's weights as they are now (on worker 0's buffer) */
void ds_unet_backward_weights_prepare(ds_unet_backward_weights *bw, const ds_unet *m);
/* the same for block b's conv 1 or 2 only, on worker's buffer (0..workers-1): the pieces a
 * caller spreads over threads, each writing only its own w~ */
void ds_unet_backward_weights_prepare_conv(ds_unet_backward_weights *bw, const ds_unet *m, int b, int conv, int worker);
void ds_unet_backward_weights_free(ds_unet_backward_weights *bw);

/* Backward of the forward that produced s (same B): d_eps (B, C_img, S, S) is dLoss/d eps;
 * grads (m->table.total) +=. bw: the transposed convolutions prepared from m's current weights,
 * or NULL to take the blocks' input gradients through the im2col GEMM and col2im instead (the
 * exact path, for tests). Returns DS_OK or DS_ERR (bad sizes). */
int ds_unet_backward(const ds_unet *m, const ds_unet_state *s, ds_unet_grad_state *g,
                     const ds_unet_backward_weights *bw, const float *d_eps, int B, float *grads);

/* Draws the noising of one batch of B items of `item` floats each, in this order per item:
 * t (1..T), the class dropout (uniform < p_uncond -> class n_classes), then `item` normals.
 * x0 (B, item) -> xt (B, item), eps (B, item), tf (B) timestep as float, cls_out (B) (cls_in
 * NULL: all n_classes, i.e. unconditional). */
void ds_diffusion_draw(ds_rng *rng, const ds_schedule *sch, const float *x0, const int *cls_in, int n_classes,
                       double p_uncond, int B, int item, float *xt, float *eps, float *tf, int *cls_out);

/* What the network is trained to output for a batch ds_diffusion_draw made, and how much each
 * item's error counts. With a = sqrt(abar_t), s = sqrt(1 - abar_t), SNR = abar_t / (1 - abar_t):
 *   target (B, item) = eps for DS_PREDICT_EPS; v = a eps - s x0 for DS_PREDICT_V (Salimans & Ho
 *   2022; the samplers turn it back into eps = s x_t + a v, model.h)
 *   weight (B) = 1 when min_snr_gamma is 0; else min-SNR-gamma (Hang et al. 2023), the same
 *   weighting of the x0 error for either target: min(SNR, gamma) / SNR for eps,
 *   min(SNR, gamma) / (SNR + 1) for v.
 * tf holds integer timesteps 1..T. DS_OK, or DS_ERR naming the bad prediction or gamma. */
int ds_diffusion_target(const ds_schedule *sch, ds_prediction prediction, double min_snr_gamma, const float *x0,
                        const float *eps, const float *tf, int B, int item, float *target, float *weight);
/* What ds_diffusion_target accepts: eps or v, and gamma in 0..1e6. DS_OK or DS_ERR naming the bad one. */
int ds_diffusion_target_check(ds_prediction prediction, double min_snr_gamma);

#endif
