/* mlp_train.c — backward pass and training loop of the 2-D point MLP (see mlp_train.h). */
#include "mlp_train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "kernels_grad.h"
#include "score.h"
#include "shapes.h"
#include "unet_train.h"
#include "weights.h"

void ds_mlp_backward(const ds_mlp *m, const ds_mlp_state *s, const float *d_eps, int B, float *grads, float *scratch) {
    const ds_mlp_config *c = &m->config;
    const int H = c->hidden, L = c->n_layers, in0 = c->data_dim + c->temb_dim;
    ds_mlp_weights g;
    ds_mlp_point_weights(m, grads, &g); /* the gradient blob has the parameters' layout */
    float *d_act = scratch, *d_pre = scratch + (size_t)B * H;
    memset(d_act, 0, sizeof(float) * (size_t)B * H);
    ds_linear_backward(s->act[L - 1], m->w.out_weight, d_eps, d_act, g.out_weight, g.out_bias, B, H, c->data_dim);
    for (int i = L - 1; i >= 0; i--) {
        memset(d_pre, 0, sizeof(float) * (size_t)B * H);
        ds_silu_backward(s->pre[i], d_act, d_pre, (long)B * H);
        const float *input = i ? s->act[i - 1] : s->in;
        float *d_input = NULL;
        if (i) {
            memset(d_act, 0, sizeof(float) * (size_t)B * H);
            d_input = d_act;
        }
        ds_linear_backward(input, m->w.fc_weight[i], d_pre, d_input, g.fc_weight[i], g.fc_bias[i], B, i ? H : in0, H);
    }
}

static const char *OBJECTIVE_NAMES[DS_MLP_OBJECTIVE_COUNT] = {"diffusion", "flow"};

const char *ds_mlp_objective_name(ds_mlp_objective o) {
    return (unsigned)o < DS_MLP_OBJECTIVE_COUNT ? OBJECTIVE_NAMES[o] : "unknown";
}

int ds_mlp_objective_parse(const char *name, ds_mlp_objective *o) {
    for (int k = 0; k < DS_MLP_OBJECTIVE_COUNT; k++)
        if (name && !strcmp(name, OBJECTIVE_NAMES[k])) { *o = (ds_mlp_objective)k; return DS_OK; }
    return ds_fail("unknown training objective '%s' (expected diffusion or flow)", name ? name : "(null)");
}

void ds_mlp_train_config_default(ds_mlp_train_config *c) {
    memset(c, 0, sizeof *c);
    c->model = (ds_mlp_config){.data_dim = DS_MLP_DATA_DIM, .hidden = 64, .n_layers = 3, .temb_dim = 32};
    c->batch = 256;
    c->total_steps = 12000;
    c->schedule = DS_SCHEDULE_LINEAR;
    c->T = 1000;
    ds_optim_config_default(&c->optim);
    c->optim.lr = 1e-2;
    c->optim.warmup_steps = 100;
    c->optim.decay_steps = c->total_steps;
    c->optim.min_lr_ratio = 0.05;
    c->optim.clip_norm = 1.0;
    c->optim.ema_decay = 0.995;
    c->optim.ema_warmup = 1;
    c->seed = 1;
    c->draw = DS_MLP_DRAW_PER_POINT;
    c->workers = 1;
}

static int check_config(const ds_mlp_train_config *c, const float *points, int n) {
    if (!points) return ds_fail("mlp trainer: null points");
    if (ds_check_range_int(n, 1, DS_POINTS_MAX, "number of training points")) return DS_ERR;
    for (long i = 0; i < 2L * n; i++)
        if (!isfinite(points[i])) return ds_fail("mlp trainer: training point %ld is not finite", i / 2);
    if (ds_check_range_int(c->batch, 1, 65536, "batch size")) return DS_ERR;
    if (ds_check_range_int(c->shard, 0, c->batch, "points per shard")) return DS_ERR;
    if (ds_check_range_int(c->workers, 1, 256, "workers")) return DS_ERR;
    if (ds_check_range_int(c->total_steps, 1, 100000000, "total steps")) return DS_ERR;
    if (c->draw != DS_MLP_DRAW_PER_POINT && c->draw != DS_MLP_DRAW_DIFFUSION) return ds_fail("mlp trainer: unknown draw %d", c->draw);
    if ((unsigned)c->objective >= DS_MLP_OBJECTIVE_COUNT)
        return ds_fail("mlp trainer: unknown objective %d (0 = diffusion, 1 = flow)", (int)c->objective);
    return ds_optim_config_check(&c->optim);
}

/* one allocation: points, gradients, the batch, and each worker's shard buffers */
static int alloc_buffers(ds_mlp_trainer *tr, const float *points, int n) {
    const ds_mlp_train_config *c = &tr->cfg;
    const int B = c->batch, S = c->shard, W = c->workers, H = c->model.hidden;
    const size_t P = (size_t)tr->model.table.total;
    size_t floats = 2 * (size_t)n + P * (1 + (size_t)tr->n_shards) + 3 * 2 * (size_t)B + (size_t)B +
                    (size_t)W * (2 * (size_t)S + 2 * (size_t)S * H);
    tr->work = malloc(sizeof(float) * floats);
    tr->shard_loss = calloc((size_t)tr->n_shards, sizeof(double));
    tr->states = calloc((size_t)W, sizeof(ds_mlp_state));
    if (!tr->work || !tr->shard_loss || !tr->states) return ds_fail("mlp trainer: out of memory");
    for (int w = 0; w < W; w++)
        if (ds_mlp_state_alloc(&tr->states[w], &tr->model, S)) return DS_ERR;
    float *p = tr->work;
    tr->points = p; p += 2 * (size_t)n;
    tr->grads = p; p += P;
    tr->shard_grads = p; p += P * (size_t)tr->n_shards;
    tr->x0 = p; p += 2 * (size_t)B;
    tr->noise = p; p += 2 * (size_t)B;
    tr->xt = p; p += 2 * (size_t)B;
    tr->t = p; p += B;
    tr->d_eps = p; p += (size_t)W * 2 * S;
    tr->scratch = p;
    memcpy(tr->points, points, sizeof(float) * 2 * (size_t)n);
    tr->n_points = n;
    return DS_OK;
}

int ds_mlp_trainer_init(ds_mlp_trainer *tr, const ds_mlp_train_config *c, const float *points, int n) {
    if (!tr || !c) return ds_fail("mlp trainer: null trainer or config");
    memset(tr, 0, sizeof *tr);
    if (check_config(c, points, n) || ds_schedule_init(&tr->schedule, c->schedule, c->T)) return DS_ERR;
    tr->cfg = *c;
    if (!tr->cfg.shard) tr->cfg.shard = c->batch;
    tr->n_shards = (c->batch + tr->cfg.shard - 1) / tr->cfg.shard;
    if (ds_mlp_build(&tr->model, &c->model)) return DS_ERR;
    ds_mlp_init_random(&tr->model, c->seed);
    if (alloc_buffers(tr, points, n) || ds_optim_init(&tr->opt, &c->optim, tr->model.table.total, tr->model.params)) {
        ds_mlp_trainer_free(tr);
        return DS_ERR;
    }
    if (c->draw == DS_MLP_DRAW_PER_POINT) ds_rng_seed(&tr->rng, c->seed ^ 0x7261696e696e67ULL); /* apart from the weights' */
    else ds_rng_seed(&tr->rng, c->seed * 0x9E3779B97F4A7C15ULL + 12345);
    return DS_OK;
}

void ds_mlp_trainer_free(ds_mlp_trainer *tr) {
    if (!tr) return;
    if (tr->states)
        for (int w = 0; w < tr->cfg.workers; w++) ds_mlp_state_free(&tr->states[w]);
    free(tr->states);
    free(tr->shard_loss);
    ds_optim_free(&tr->opt);
    ds_mlp_free(&tr->model);
    free(tr->work);
    tr->states = NULL;
    tr->shard_loss = NULL;
    tr->work = NULL;
}

int ds_mlp_trainer_restore(ds_mlp_trainer *tr, const ds_checkpoint *ck) {
    if (!tr || !tr->work || !ck) return ds_fail("mlp trainer restore: null trainer or checkpoint");
    if (ck->n_params != tr->model.table.total)
        return ds_fail("the checkpoint holds %ld parameters but the model has %ld", ck->n_params, tr->model.table.total);
    ds_optim_free(&tr->opt);
    return ds_checkpoint_restore(ck, &tr->opt, tr->model.params, &tr->rng);
}

/* flow matching: x_t = (1 − t) x0 + t eps, target eps − x0, the network's time 1000 t; per point
 * t then the noise, after the index (per-point recipe) or after all indices (the other) */
static void draw_flow(ds_mlp_trainer *tr) {
    const int B = tr->cfg.batch, per_point = tr->cfg.draw == DS_MLP_DRAW_PER_POINT;
    if (!per_point) /* the indices wait in t (exact as floats: n_points <= DS_POINTS_MAX < 2^24) */
        for (int b = 0; b < B; b++) tr->t[b] = (float)ds_rng_below(&tr->rng, (uint32_t)tr->n_points);
    for (int b = 0; b < B; b++) {
        int i = per_point ? (int)ds_rng_below(&tr->rng, (uint32_t)tr->n_points) : (int)tr->t[b];
        double t = ds_rng_uniform(&tr->rng);
        for (int d = 0; d < 2; d++) {
            double x0 = tr->points[2 * i + d], e = ds_rng_normal(&tr->rng);
            tr->x0[2 * b + d] = (float)x0;
            tr->noise[2 * b + d] = (float)(e - x0);
            tr->xt[2 * b + d] = (float)((1.0 - t) * x0 + t * e);
        }
        tr->t[b] = (float)(DS_FLOW_TIME_SCALE * t);
    }
}

/* the batch: x_t, t and the target to predict, by the configured objective and recipe */
static void draw_batch(ds_mlp_trainer *tr) {
    const int B = tr->cfg.batch;
    if (tr->cfg.objective == DS_MLP_OBJECTIVE_FLOW) {
        draw_flow(tr);
        return;
    }
    if (tr->cfg.draw == DS_MLP_DRAW_DIFFUSION) {
        for (int b = 0; b < B; b++) {
            uint32_t i = ds_rng_below(&tr->rng, (uint32_t)tr->n_points);
            tr->x0[2 * b] = tr->points[2 * i];
            tr->x0[2 * b + 1] = tr->points[2 * i + 1];
        }
        ds_diffusion_draw(&tr->rng, &tr->schedule, tr->x0, NULL, 0, 0, B, 2, tr->xt, tr->noise, tr->t, NULL);
        return;
    }
    for (int b = 0; b < B; b++) {
        int i = (int)ds_rng_below(&tr->rng, (uint32_t)tr->n_points);
        int t = 1 + (int)ds_rng_below(&tr->rng, (uint32_t)tr->schedule.T);
        double a = tr->schedule.sqrt_alpha_bar[t - 1], s = tr->schedule.sqrt_one_minus_alpha_bar[t - 1];
        for (int d = 0; d < 2; d++) {
            float e = (float)ds_rng_normal(&tr->rng);
            tr->noise[2 * b + d] = e;
            tr->xt[2 * b + d] = (float)(a * tr->points[2 * i + d] + s * e);
        }
        tr->t[b] = (float)t;
    }
}

/* forward + MSE + backward of one shard into its own gradient buffer (a ds_shard_job) */
static int shard_step(void *ctx, int worker, int shard) {
    ds_mlp_trainer *tr = ctx;
    const int S = tr->cfg.shard, b0 = shard * S, nb = tr->cfg.batch - b0 < S ? tr->cfg.batch - b0 : S;
    const size_t P = (size_t)tr->model.table.total;
    ds_mlp_state *st = &tr->states[worker];
    float *g = tr->shard_grads + (size_t)shard * P, *d_eps = tr->d_eps + (size_t)worker * 2 * S;
    memset(g, 0, sizeof(float) * P);
    if (ds_mlp_forward(&tr->model, st, tr->xt + 2 * b0, tr->t + b0, nb, NULL)) return DS_ERR;
    tr->shard_loss[shard] = ds_mse_backward(st->eps, tr->noise + 2 * b0, d_eps, 2L * nb, 2L * tr->cfg.batch);
    ds_mlp_backward(&tr->model, st, d_eps, nb, g, tr->scratch + (size_t)worker * 2 * S * tr->cfg.model.hidden);
    return DS_OK;
}

static int run_shards_serial(void *runner_ctx, int n_workers, int n_shards, ds_shard_job job, void *job_ctx) {
    (void)runner_ctx, (void)n_workers;
    for (int s = 0; s < n_shards; s++)
        if (job(job_ctx, 0, s)) return DS_ERR;
    return DS_OK;
}

/* one step of the objective: returns the batch's loss, or a negative value on failure */
static double train_step(ds_mlp_trainer *tr) {
    draw_batch(tr);
    ds_shard_runner run = tr->cfg.runner ? tr->cfg.runner : run_shards_serial;
    if (run(tr->cfg.runner_ctx, tr->cfg.workers, tr->n_shards, shard_step, tr)) return -1;
    const long P = tr->model.table.total;
    memcpy(tr->grads, tr->shard_grads, sizeof(float) * (size_t)P);
    for (int s = 1; s < tr->n_shards; s++) ds_accumulate(tr->shard_grads + (size_t)s * P, tr->grads, P);
    double loss = 0;
    for (int s = 0; s < tr->n_shards; s++) loss += tr->shard_loss[s];
    if (ds_optim_step(&tr->opt, tr->model.params, tr->grads)) return -1;
    return loss;
}

int ds_mlp_trainer_run(ds_mlp_trainer *tr, int K, double *mean_loss) {
    if (!tr || !tr->work) return ds_fail("mlp trainer: not initialised");
    if (ds_check_range_int(K, 1, 1000000, "steps per call")) return DS_ERR;
    double sum = 0;
    for (int k = 0; k < K; k++) {
        double loss = train_step(tr);
        if (loss < 0) return DS_ERR;
        sum += loss;
        tr->last_loss = loss;
    }
    if (mean_loss) *mean_loss = sum / K;
    return DS_OK;
}

int ds_mlp_trainer_save(const ds_mlp_trainer *tr, int ema, uint8_t **bytes, size_t *size) {
    if (!tr || !tr->work) return ds_fail("mlp trainer: not initialised");
    if (!bytes || !size) return ds_fail("mlp trainer save: null output");
    const float *params = ema && tr->opt.ema ? tr->opt.ema : tr->model.params;
    int config[DS_MLP_N_CONFIG];
    ds_mlp_config_to_ints(&tr->model.config, config);
    const ds_weights_meta meta = {.schedule_kind = tr->schedule.kind, .schedule_T = tr->schedule.T, 
                                 .prediction = tr->cfg.objective == DS_MLP_OBJECTIVE_FLOW ? DS_PREDICT_FLOW : DS_PREDICT_EPS};
    return ds_weights_write(DS_MODEL_MLP, config, DS_MLP_N_CONFIG, &meta, &tr->model.table, params, DS_DTYPE_F32, bytes, size);
}
