/* unet_trainer.h — one training step of the class-conditional UNet, data-parallel.
 *
 * A step draws a batch (indices, then t, label dropout and noise through ds_diffusion_draw)
 * from the one RNG on the calling thread, cuts it into fixed shards of `shard` images, runs
 * forward + backward of each shard into its own gradient buffer through the shard runner
 * (parallel.h), sums the buffers in shard order, then clips, Adam and EMA (optim.h). The loss is
 * the MSE against the noise, or against v, optionally min-SNR weighted (unet_train.h). The shard
 * size fixes the arithmetic: 1 thread and 16 give bit-identical weights. The 2-D point MLP has
 * the same scheme in src/mlp_train.h (the page uses it too).
 * Not here: files and checkpoints (cmd_train.c), the backward pass itself (src/unet_train.h). */
#ifndef DS_UNET_TRAINER_H
#define DS_UNET_TRAINER_H

#include "checkpoint.h"
#include "fashion.h"
#include "optim.h"
#include "rng.h"
#include "schedule.h"
#include "unet.h"
#include "unet_train.h"

/* The images a trainer draws from (borrowed): Fashion-MNIST or a folder (image_folder.h),
 * planar bytes in the model's shape, x = p / 127.5 - 1. */
typedef struct {
    int n;                  /* images */
    int item;               /* bytes per image: in_channels * image_size^2 of the model */
    const uint8_t *pixels;  /* (n, item) 0..255 */
    const uint8_t *labels;  /* (n) 0..n_classes-1 */
} unet_train_data;

/* Fashion-MNIST's training set as trainer data (28 x 28, 1 channel). */
unet_train_data unet_train_data_fashion(const fashion_set *fs);

typedef struct {
    int batch, shard;        /* images per step, per work unit (1..batch) */
    int workers;             /* threads (per-worker activations) */
    double p_uncond;         /* label dropout for classifier-free guidance */
    ds_prediction prediction; /* what the network learns: DS_PREDICT_EPS or DS_PREDICT_V (unet_train.h) */
    double min_snr_gamma;    /* min-SNR-gamma loss weighting, 0 = every item weighs 1 */
    ds_schedule_kind schedule;
    int T;
    ds_optim_config optim;
    uint64_t seed;           /* initial weights and the RNG of every draw */
} unet_trainer_config;

typedef struct {
    unet_trainer_config cfg;
    ds_unet unet;
    ds_optim opt;
    ds_schedule schedule;
    ds_rng rng;
    unet_train_data data;    /* borrowed pixels and labels */
    int n_shards, item;      /* item: floats per image */
    ds_unet_state *states;   /* (workers) one shard each */
    ds_unet_grad_state *grad_states; /* (workers) */
    ds_unet_backward_weights backward_weights; /* the transposed 3x3 convs, made each step, read by every shard */
    float *x0, *xt, *eps;    /* (batch, item) each */
    float *target;           /* (batch, item) what the network should output: eps itself, or v */
    float *weight;           /* (batch) each item's loss weight; all 1 without min-SNR */
    float *tf;               /* (batch) */
    int *cls_in, *cls;       /* (batch) labels, after dropout */
    float *d_eps;            /* (workers, shard, item) */
    float *grads;            /* (P) the batch's gradient */
    float *shard_grads;      /* (n_shards, P) */
    double *shard_loss;      /* (n_shards) */
} unet_trainer;

/* A UNet of this config (ds_unet_config_to_ints layout), randomly initialised from cfg->seed,
 * trained on data (images of the config's size and channels, labels below its n_classes).
 * DS_OK or DS_ERR (ds_fail). */
int unet_trainer_init(unet_trainer *tr, const unet_trainer_config *cfg, const int *config, int n_config,
                      const unet_train_data *data);
void unet_trainer_free(unet_trainer *tr);

/* Weights, optimiser and RNG from a checkpoint of the same model. DS_OK or DS_ERR. */
int unet_trainer_restore(unet_trainer *tr, const ds_checkpoint *ck);

/* The next batch's gradient into tr->grads, without an update: the batch is drawn (tr->xt,
 * eps, tf, cls hold it) and *loss gets its mean loss. DS_OK or DS_ERR. */
int unet_trainer_gradients(unet_trainer *tr, double *loss);
/* One step: unet_trainer_gradients, then clip, Adam and EMA. DS_OK or DS_ERR. */
int unet_trainer_step(unet_trainer *tr, double *loss);

#endif
