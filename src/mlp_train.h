/* mlp_train.h — training the 2-D point MLP (mlp.h) to predict the noise, natively and in the page.
 *
 * The backward pass of mlp.h's network, written out layer by layer (fc_out, then SiLU and
 * linear for each hidden layer, down to the input concat(x, sinusoidal(t)), whose embedding
 * has no parameters), accumulating into one gradient blob laid out by the model's parameter
 * table; tests/test_mlp_train.c checks it against central finite differences.
 * The training loop is the DDPM objective on a fixed point set: each step draws a batch of
 * points (with replacement), t uniform in 1..T, eps ~ N(0, I), and minimises
 * |eps - mlp(sqrt(abar_t) x0 + sqrt(1 - abar_t) eps, t)|^2 with Adam (optim.h), warm-up,
 * cosine decay and an EMA of the weights, which is what gets exported.
 * Everything runs on one thread and allocates only at create, so the page's worker can run
 * K steps per call and draw the loss curve between calls.
 * Not here: sampling (sampler.h), the point sets (shapes.h), files (the CLI writes them). */
#ifndef DS_MLP_TRAIN_H
#define DS_MLP_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "mlp.h"
#include "optim.h"
#include "rng.h"
#include "schedule.h"

/* Gradient of a loss with respect to the parameters, from the forward's saved activations
 * (s after ds_mlp_forward on the same B) and d_eps (B, 2) = dLoss/d eps_out. ACCUMULATES into
 * grads (m->table.total, the parameter blob's layout). scratch: 2 B H floats. */
void ds_mlp_backward(const ds_mlp *m, const ds_mlp_state *s, const float *d_eps, int B, float *grads, float *scratch);

typedef struct {
    ds_mlp_config model;      /* default: hidden 64, 3 layers, temb 32 (fast enough for the page) */
    int batch;                /* points per step, 1..4096 (default 256) */
    long total_steps;         /* length of the run: sets the cosine decay (default 12000) */
    ds_schedule_kind schedule; /* default linear */
    int T;                    /* diffusion steps, default 1000 */
    ds_optim_config optim;    /* default lr 1e-2, warm-up 100, decay to 0.05 lr, clip 1, EMA 0.995 */
    uint64_t seed;            /* initial weights and every draw */
} ds_mlp_train_config;

void ds_mlp_train_config_default(ds_mlp_train_config *c);

typedef struct {
    ds_mlp_train_config cfg;
    ds_mlp model;             /* weights being trained */
    ds_mlp_state state;       /* (batch) activations */
    ds_optim opt;             /* Adam m, v and the EMA of the weights */
    ds_schedule schedule;
    ds_rng rng;
    int n_points;
    float *points;            /* (n_points, 2) the training set, a copy */
    float *grads;             /* (table.total) */
    float *x0, *noise, *xt;   /* (batch, 2) each */
    float *t;                 /* (batch) */
    float *d_eps;             /* (batch, 2) */
    float *scratch;           /* (2 batch H) */
    float *work;              /* the one allocation behind points .. scratch */
    double last_loss;         /* mean loss of the last step */
} ds_mlp_trainer;

/* Copies the points (n, 2), n >= 1, all finite. Returns DS_OK or DS_ERR. */
int ds_mlp_trainer_init(ds_mlp_trainer *tr, const ds_mlp_train_config *c, const float *points, int n);
void ds_mlp_trainer_free(ds_mlp_trainer *tr);

/* K training steps; *mean_loss (may be NULL) gets their mean loss. DS_OK or DS_ERR. */
int ds_mlp_trainer_run(ds_mlp_trainer *tr, int K, double *mean_loss);

/* The EMA weights (ema = 1, what to ship) or the raw weights (ema = 0) as a .dsw file of an
 * MLP model (weights.h), *bytes malloc'ed. DS_OK or DS_ERR. */
int ds_mlp_trainer_save(const ds_mlp_trainer *tr, int ema, uint8_t **bytes, size_t *size);

#endif
