/* mlp_train.h — training the 2-D point MLP (mlp.h) to predict the noise (diffusion) or the
 * flow-matching velocity: the one trainer behind the page, `diffuscope points train` and
 * `diffuscope train --model mlp`.
 *
 * The backward pass of mlp.h's network, written out layer by layer (fc_out, then SiLU and
 * linear for each hidden layer, down to the input concat(x, sinusoidal(t)), whose embedding
 * has no parameters), accumulating into one gradient blob laid out by the model's parameter
 * table; tests/test_mlp_train.c checks it against central finite differences.
 * The training loop is the DDPM objective on a fixed point set: each step draws a batch of
 * points (with replacement), t uniform in 1..T, eps ~ N(0, I), and minimises
 * |eps - mlp(sqrt(abar_t) x0 + sqrt(1 - abar_t) eps, t)|^2 with Adam (optim.h), warm-up,
 * cosine decay and an EMA of the weights, which is what gets exported.
 * The flow objective (DS_MLP_OBJECTIVE_FLOW) draws t uniform in [0, 1) instead, x_t = (1 − t) x0
 * + t eps, and regresses mlp(x_t, 1000 t) on the velocity eps − x0 (score.h samples it); the
 * saved file says so (prediction = flow). The diffusion objective's draws are unchanged.
 * The batch is cut into fixed shards (shards.h): each shard's forward + backward writes its own
 * gradient buffer and the buffers are summed in shard order, so the weights depend on the shard
 * size, never on how many threads the caller's runner uses. With no runner everything runs on
 * the calling thread, and nothing allocates after init, so the page's worker can run K steps
 * per call and draw the loss curve between calls.
 * Not here: sampling (sampler.h), the point sets (shapes.h), files and threads (the CLI). */
#ifndef DS_MLP_TRAIN_H
#define DS_MLP_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"
#include "export.h"
#include "mlp.h"
#include "optim.h"
#include "rng.h"
#include "schedule.h"
#include "shards.h"

/* Gradient of a loss with respect to the parameters, from the forward's saved activations
 * (s after ds_mlp_forward on the same B) and d_eps (B, 2) = dLoss/d eps_out. ACCUMULATES into
 * grads (m->table.total, the parameter blob's layout). scratch: 2 B H floats. */
void ds_mlp_backward(const ds_mlp *m, const ds_mlp_state *s, const float *d_eps, int B, float *grads, float *scratch);

/* How a step draws its batch. Each recipe keeps the random stream it has always had, so a run
 * of either command reproduces its earlier weights byte for byte. */
typedef enum {
    DS_MLP_DRAW_PER_POINT,    /* per point: index, t, noise (the page, `points train`); RNG seed ^ "raining" */
    DS_MLP_DRAW_DIFFUSION,    /* all indices, then ds_diffusion_draw as the UNet trainer draws
                                 (`diffuscope train`); RNG seed * 0x9E3779B97F4A7C15 + 12345 */
} ds_mlp_draw;

typedef enum {
    DS_MLP_OBJECTIVE_DIFFUSION = 0, /* predict eps (DDPM), saved as prediction eps */
    DS_MLP_OBJECTIVE_FLOW = 1,      /* predict eps − x0 on the linear path, saved as prediction flow */
    DS_MLP_OBJECTIVE_COUNT
} ds_mlp_objective;

const char *ds_mlp_objective_name(ds_mlp_objective o); /* "diffusion", "flow" */
int ds_mlp_objective_parse(const char *name, ds_mlp_objective *o);

typedef struct {
    ds_mlp_config model;      /* default: hidden 64, 3 layers, temb 32 (fast enough for the page) */
    int batch;                /* points per step, 1..65536 (default 256) */
    long total_steps;         /* length of the run: sets the cosine decay (default 12000) */
    ds_schedule_kind schedule; /* default linear */
    int T;                    /* diffusion steps, default 1000 */
    ds_optim_config optim;    /* default lr 1e-2, warm-up 100, decay to 0.05 lr, clip 1, EMA 0.995 */
    uint64_t seed;            /* initial weights and every draw */
    ds_mlp_draw draw;         /* default DS_MLP_DRAW_PER_POINT */
    ds_mlp_objective objective; /* default DS_MLP_OBJECTIVE_DIFFUSION */
    int shard;                /* points per work unit, 1..batch (default 0: the whole batch) */
    int workers;              /* per-worker activations to allocate (default 1), the runner's width */
    ds_shard_runner runner;   /* default NULL: shards in order on this thread */
    void *runner_ctx;
} ds_mlp_train_config;

void ds_mlp_train_config_default(ds_mlp_train_config *c);

typedef struct {
    ds_mlp_train_config cfg;
    ds_mlp model;             /* weights being trained */
    ds_optim opt;             /* Adam m, v and the EMA of the weights */
    ds_schedule schedule;
    ds_rng rng;
    int n_points;
    int n_shards;             /* ceil(batch / shard) */
    ds_mlp_state *states;     /* (workers) activations of one shard each */
    float *points;            /* (n_points, 2) the training set, a copy */
    float *grads;             /* (table.total) the batch's gradient */
    float *shard_grads;       /* (n_shards, table.total) */
    double *shard_loss;       /* (n_shards) each shard's share of the batch loss */
    float *x0, *noise, *xt;   /* (batch, 2) each; noise holds the target (flow: eps − x0) */
    float *t;                 /* (batch) */
    float *d_eps;             /* (workers, shard, 2) */
    float *scratch;           /* (workers, 2 shard H) */
    float *work;              /* the one allocation behind points .. scratch */
    double last_loss;         /* mean loss of the last step */
} ds_mlp_trainer;

/* Copies the points (n, 2), n >= 1, all finite; initialises the weights from c->seed.
 * Returns DS_OK or DS_ERR. */
int ds_mlp_trainer_init(ds_mlp_trainer *tr, const ds_mlp_train_config *c, const float *points, int n);
void ds_mlp_trainer_free(ds_mlp_trainer *tr);

/* Continues a run from a checkpoint (checkpoint.h) of a trainer with the same model: weights,
 * optimiser state and step, and the RNG. DS_OK, or DS_ERR if it holds another parameter count. */
int ds_mlp_trainer_restore(ds_mlp_trainer *tr, const ds_checkpoint *ck);

/* K training steps; *mean_loss (may be NULL) gets their mean loss. DS_OK or DS_ERR. */
int ds_mlp_trainer_run(ds_mlp_trainer *tr, int K, double *mean_loss);

/* The EMA weights (ema = 1, what to ship) or the raw weights (ema = 0) as a .dsw file of an
 * MLP model (weights.h), *bytes malloc'ed. DS_OK or DS_ERR. */
int ds_mlp_trainer_save(const ds_mlp_trainer *tr, int ema, uint8_t **bytes, size_t *size);

#endif
