/* unet_trainer.c — the UNet's data-parallel training step (see unet_trainer.h). */
#include "unet_trainer.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "kernels_grad.h"
#include "parallel.h"

static int alloc_buffers(unet_trainer *tr) {
    const int B = tr->cfg.batch, S = tr->cfg.shard, W = tr->cfg.workers;
    const size_t P = (size_t)tr->unet.table.total, bi = (size_t)B * tr->item;
    tr->x0 = malloc(sizeof(float) * bi);
    tr->xt = malloc(sizeof(float) * bi);
    tr->eps = malloc(sizeof(float) * bi);
    tr->target = malloc(sizeof(float) * bi);
    tr->weight = malloc(sizeof(float) * B);
    tr->tf = malloc(sizeof(float) * B);
    tr->cls_in = malloc(sizeof(int) * B);
    tr->cls = malloc(sizeof(int) * B);
    tr->d_eps = malloc(sizeof(float) * (size_t)W * S * tr->item);
    tr->grads = malloc(sizeof(float) * P);
    tr->shard_grads = malloc(sizeof(float) * P * tr->n_shards);
    tr->shard_loss = calloc((size_t)tr->n_shards, sizeof(double));
    tr->states = calloc((size_t)W, sizeof(ds_unet_state));
    tr->grad_states = calloc((size_t)W, sizeof(ds_unet_grad_state));
    if (!tr->x0 || !tr->xt || !tr->eps || !tr->target || !tr->weight || !tr->tf || !tr->cls_in || !tr->cls ||
        !tr->d_eps || !tr->grads ||
        !tr->shard_grads || !tr->shard_loss || !tr->states || !tr->grad_states)
        return ds_fail("UNet trainer: out of memory");
    for (int w = 0; w < W; w++)
        if (ds_unet_state_alloc(&tr->states[w], &tr->unet, S) || ds_unet_grad_state_alloc(&tr->grad_states[w], &tr->unet, S))
            return DS_ERR;
    return ds_unet_backward_weights_alloc(&tr->backward_weights, &tr->unet, W);
}

unet_train_data unet_train_data_fashion(const fashion_set *fs) {
    return (unet_train_data){.n = fs->n, .item = FASHION_PIXELS, .pixels = fs->pixels, .labels = fs->labels};
}

int unet_trainer_init(unet_trainer *tr, const unet_trainer_config *cfg, const int *config, int n_config,
                      const unet_train_data *data) {
    memset(tr, 0, sizeof *tr);
    tr->cfg = *cfg;
    tr->data = *data;
    ds_unet_config c;
    if (ds_unet_config_from_ints(config, n_config, &c) || ds_schedule_init(&tr->schedule, cfg->schedule, cfg->T)) return DS_ERR;
    if (ds_unet_build(&tr->unet, &c)) return DS_ERR;
    tr->item = c.in_channels * c.image_size * c.image_size;
    if (tr->item != data->item || data->n < 1) {
        unet_trainer_free(tr);
        return ds_fail("the UNet takes %dx%d images of %d channel(s) (%d bytes) but the data has %d images of %d bytes",
                       c.image_size, c.image_size, c.in_channels, c.in_channels * c.image_size * c.image_size,
                       data->n, data->item);
    }
    for (int i = 0; i < data->n; i++)
        if (data->labels[i] >= c.n_classes) {
            unet_trainer_free(tr);
            return ds_fail("image %d has label %d but the UNet has %d classes", i, data->labels[i], c.n_classes);
        }
    if (ds_diffusion_target_check(cfg->prediction, cfg->min_snr_gamma)) {
        unet_trainer_free(tr);
        return DS_ERR;
    }
    tr->n_shards = (cfg->batch + cfg->shard - 1) / cfg->shard;
    ds_unet_init_random(&tr->unet, cfg->seed);
    if (alloc_buffers(tr) || ds_optim_init(&tr->opt, &cfg->optim, tr->unet.table.total, tr->unet.params)) {
        unet_trainer_free(tr);
        return DS_ERR;
    }
    ds_rng_seed(&tr->rng, cfg->seed * 0x9E3779B97F4A7C15ULL + 12345);
    return DS_OK;
}

void unet_trainer_free(unet_trainer *tr) {
    for (int w = 0; w < tr->cfg.workers; w++) {
        if (tr->states) ds_unet_state_free(&tr->states[w]);
        if (tr->grad_states) ds_unet_grad_state_free(&tr->grad_states[w]);
    }
    free(tr->states), free(tr->grad_states);
    ds_unet_backward_weights_free(&tr->backward_weights);
    free(tr->x0), free(tr->xt), free(tr->eps), free(tr->target), free(tr->weight), free(tr->tf);
    free(tr->cls_in), free(tr->cls), free(tr->d_eps);
    free(tr->grads), free(tr->shard_grads), free(tr->shard_loss);
    ds_optim_free(&tr->opt);
    ds_unet_free(&tr->unet);
    memset(tr, 0, sizeof *tr);
}

int unet_trainer_restore(unet_trainer *tr, const ds_checkpoint *ck) {
    if (ck->n_params != tr->unet.table.total)
        return ds_fail("the checkpoint holds %ld parameters but the model has %ld", ck->n_params, tr->unet.table.total);
    ds_optim_free(&tr->opt);
    return ds_checkpoint_restore(ck, &tr->opt, tr->unet.params, &tr->rng);
}

static int plain_loss(const unet_trainer_config *c) { return c->prediction == DS_PREDICT_EPS && c->min_snr_gamma == 0; }

/* forward + MSE + backward of one shard into its own gradient buffer (a ds_shard_job) */
static int shard_step(void *ctx, int worker, int shard) {
    unet_trainer *tr = ctx;
    const int S = tr->cfg.shard, b0 = shard * S, nb = tr->cfg.batch - b0 < S ? tr->cfg.batch - b0 : S;
    const size_t P = (size_t)tr->unet.table.total, off = (size_t)b0 * tr->item;
    ds_unet_state *st = &tr->states[worker];
    float *g = tr->shard_grads + (size_t)shard * P, *d_eps = tr->d_eps + (size_t)worker * S * tr->item;
    memset(g, 0, sizeof(float) * P);
    if (ds_unet_forward(&tr->unet, st, tr->xt + off, tr->tf + b0, tr->cls + b0, nb, NULL)) return DS_ERR;
    const long n_total = (long)tr->cfg.batch * tr->item;
    /* the plain ε loss keeps its one-pass kernel (and its bits); v or min-SNR weigh item by item */
    tr->shard_loss[shard] = plain_loss(&tr->cfg)
                                ? ds_mse_backward(st->eps, tr->eps + off, d_eps, (long)nb * tr->item, n_total)
                                : ds_mse_backward_weighted(st->eps, tr->target + off, tr->weight + b0, d_eps, nb, tr->item, n_total);
    return ds_unet_backward(&tr->unet, st, &tr->grad_states[worker], &tr->backward_weights, d_eps, nb, g);
}

/* Winograd transform j of a step (a ds_shard_job): block j / 4's forward conv1, forward conv2,
 * transposed conv2, transposed conv1, in that order, so that two workers striping the jobs
 * each get one cin x cout and one cout x cout transform per block */
static int prepare_job(void *ctx, int worker, int j) {
    unet_trainer *tr = ctx;
    const int b = j / 4, kind = j % 4;
    if (kind < 2)
        ds_unet_prepare_conv(&tr->unet, b, kind + 1);
    else
        ds_unet_backward_weights_prepare_conv(&tr->backward_weights, &tr->unet, b, kind == 2 ? 2 : 1, worker);
    return DS_OK;
}

int unet_trainer_gradients(unet_trainer *tr, double *loss) {
    const int B = tr->cfg.batch;
    for (int b = 0; b < B; b++) {
        uint32_t idx = ds_rng_below(&tr->rng, (uint32_t)tr->data.n);
        const uint8_t *p = tr->data.pixels + (size_t)idx * tr->item;
        float *x0 = tr->x0 + (size_t)b * tr->item;
        for (int i = 0; i < tr->item; i++) x0[i] = (float)p[i] / 127.5f - 1.0f; /* as fashion_to_float */
        tr->cls_in[b] = tr->data.labels[idx];
    }
    ds_diffusion_draw(&tr->rng, &tr->schedule, tr->x0, tr->cls_in, tr->unet.config.n_classes, tr->cfg.p_uncond, B,
                      tr->item, tr->xt, tr->eps, tr->tf, tr->cls);
    if (!plain_loss(&tr->cfg) && ds_diffusion_target(&tr->schedule, tr->cfg.prediction, tr->cfg.min_snr_gamma, tr->x0,
                                                     tr->eps, tr->tf, B, tr->item, tr->target, tr->weight))
        return DS_ERR;
    /* the blocks' 3x3 convs of the forward run as Winograd on this step's weights (as at
     * inference), and so do their transposes for the input gradients of the backward */
    if (ds_unet_prepare_alloc(&tr->unet) ||
        parallel_run_shards(NULL, tr->cfg.workers, 4 * tr->unet.n_blocks, prepare_job, tr))
        return DS_ERR;
    if (parallel_run_shards(NULL, tr->cfg.workers, tr->n_shards, shard_step, tr)) return DS_ERR;
    const long P = tr->unet.table.total;
    memcpy(tr->grads, tr->shard_grads, sizeof(float) * (size_t)P);
    for (int s = 1; s < tr->n_shards; s++) ds_accumulate(tr->shard_grads + (size_t)s * P, tr->grads, P);
    *loss = 0;
    for (int s = 0; s < tr->n_shards; s++) *loss += tr->shard_loss[s];
    return DS_OK;
}

int unet_trainer_step(unet_trainer *tr, double *loss) {
    return unet_trainer_gradients(tr, loss) ? DS_ERR : ds_optim_step(&tr->opt, tr->unet.params, tr->grads);
}
