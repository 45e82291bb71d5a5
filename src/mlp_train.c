/* mlp_train.c — backward pass and training loop of the 2-D point MLP (see mlp_train.h). */
#include "mlp_train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "kernels_grad.h"
#include "shapes.h"
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
}

int ds_mlp_trainer_init(ds_mlp_trainer *tr, const ds_mlp_train_config *c, const float *points, int n) {
    if (!tr || !c) return ds_fail("mlp trainer: null trainer or config");
    memset(tr, 0, sizeof *tr);
    if (!points) return ds_fail("mlp trainer: null points");
    if (ds_check_range_int(n, 1, DS_POINTS_MAX, "number of training points")) return DS_ERR;
    for (long i = 0; i < 2L * n; i++)
        if (!isfinite(points[i])) return ds_fail("mlp trainer: training point %ld is not finite", i / 2);
    if (ds_check_range_int(c->batch, 1, 4096, "batch size")) return DS_ERR;
    if (ds_check_range_int(c->total_steps, 1, 10000000, "total steps")) return DS_ERR;
    if (ds_schedule_init(&tr->schedule, c->schedule, c->T)) return DS_ERR;
    if (ds_check_range(c->optim.lr, 1e-8, 1.0, "learning rate") || ds_check_range(c->optim.beta1, 0, 0.9999, "Adam beta1") ||
        ds_check_range(c->optim.beta2, 0, 0.999999, "Adam beta2") || ds_check_range(c->optim.eps, 1e-30, 1, "Adam eps") ||
        ds_check_range(c->optim.weight_decay, 0, 1, "weight decay") || ds_check_range(c->optim.clip_norm, 0, 1e6, "clip norm") ||
        ds_check_range_int(c->optim.warmup_steps, 0, 10000000, "warm-up steps") ||
        ds_check_range_int(c->optim.decay_steps, 0, 10000000, "decay steps") ||
        ds_check_range(c->optim.min_lr_ratio, 0, 1, "minimum lr ratio") ||
        ds_check_range(c->optim.ema_decay, 1e-6, 0.999999, "EMA decay"))
        return DS_ERR;
    if (c->optim.decay_steps && c->optim.decay_steps <= c->optim.warmup_steps)
        return ds_fail("decay steps (%ld) must exceed warm-up steps (%ld)", c->optim.decay_steps, c->optim.warmup_steps);
    tr->cfg = *c;
    if (ds_mlp_build(&tr->model, &c->model)) return DS_ERR;
    ds_mlp_init_random(&tr->model, c->seed);
    const int B = c->batch, H = c->model.hidden;
    long total = tr->model.table.total;
    size_t floats = 2 * (size_t)n + (size_t)total + 4 * 2 * (size_t)B + (size_t)B + 2 * (size_t)B * H;
    tr->work = malloc(sizeof(float) * floats);
    if (!tr->work || ds_mlp_state_alloc(&tr->state, &tr->model, B) ||
        ds_optim_init(&tr->opt, &c->optim, total, tr->model.params)) {
        if (!tr->work) ds_fail("mlp trainer: out of memory");
        ds_mlp_trainer_free(tr);
        return DS_ERR;
    }
    float *p = tr->work;
    tr->points = p; p += 2 * (size_t)n;
    tr->grads = p; p += total;
    tr->x0 = p; p += 2 * (size_t)B;
    tr->noise = p; p += 2 * (size_t)B;
    tr->xt = p; p += 2 * (size_t)B;
    tr->d_eps = p; p += 2 * (size_t)B;
    tr->t = p; p += B;
    tr->scratch = p;
    memcpy(tr->points, points, sizeof(float) * 2 * (size_t)n);
    tr->n_points = n;
    ds_rng_seed(&tr->rng, c->seed ^ 0x7261696e696e67ULL); /* a stream apart from the weights' */
    return DS_OK;
}

void ds_mlp_trainer_free(ds_mlp_trainer *tr) {
    if (!tr) return;
    ds_mlp_state_free(&tr->state);
    ds_optim_free(&tr->opt);
    ds_mlp_free(&tr->model);
    free(tr->work);
    tr->work = NULL;
}

/* one DDPM step: returns the batch's loss, or a negative value on failure */
static double train_step(ds_mlp_trainer *tr) {
    const int B = tr->cfg.batch;
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
    if (ds_mlp_forward(&tr->model, &tr->state, tr->xt, tr->t, B, NULL)) return -1;
    double loss = ds_mse_backward(tr->state.eps, tr->noise, tr->d_eps, 2L * B, 2L * B);
    memset(tr->grads, 0, sizeof(float) * (size_t)tr->model.table.total);
    ds_mlp_backward(&tr->model, &tr->state, tr->d_eps, B, tr->grads, tr->scratch);
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
    const ds_weights_meta meta = {.schedule_kind = tr->schedule.kind, .schedule_T = tr->schedule.T, .prediction = DS_PREDICT_EPS};
    return ds_weights_write(DS_MODEL_MLP, config, DS_MLP_N_CONFIG, &meta, &tr->model.table, params, DS_DTYPE_F32, bytes, size);
}
