/* optim.c — Adam(W), clipping, lr schedule and weight EMA over flat arrays (see optim.h). */
#include "optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detmath.h"
#include "error.h"

static const double PI = 3.14159265358979323846;

void ds_optim_config_default(ds_optim_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->lr = 2e-4;
    cfg->beta1 = 0.9;
    cfg->beta2 = 0.999;
    cfg->eps = 1e-8;
    cfg->weight_decay = 0.0;
    cfg->clip_norm = 1.0;
    cfg->warmup_steps = 0;
    cfg->decay_steps = 0;
    cfg->decay_start = 0;
    cfg->min_lr_ratio = 0.1;
    cfg->ema_decay = 0.999;
    cfg->ema_warmup = 1;
}

int ds_optim_config_check(const ds_optim_config *cfg) {
    if (!cfg) return ds_fail("optimiser: null config");
    if (ds_check_range(cfg->lr, 1e-12, 10.0, "learning rate")) return DS_ERR;
    if (ds_check_range(cfg->beta1, 0.0, 0.999999, "Adam beta1")) return DS_ERR;
    if (ds_check_range(cfg->beta2, 0.0, 0.999999999, "Adam beta2")) return DS_ERR;
    if (ds_check_range(cfg->eps, 1e-30, 1.0, "Adam eps")) return DS_ERR;
    if (ds_check_range(cfg->weight_decay, 0.0, 10.0, "weight decay")) return DS_ERR;
    if (ds_check_range(cfg->clip_norm, 0.0, 1e12, "gradient clip norm")) return DS_ERR;
    if (ds_check_range_int(cfg->warmup_steps, 0, 1000000000L, "warm-up steps")) return DS_ERR;
    if (ds_check_range_int(cfg->decay_steps, 0, 1000000000L, "decay steps")) return DS_ERR;
    if (cfg->decay_steps && cfg->decay_steps <= cfg->warmup_steps)
        return ds_fail("decay steps (%ld) must exceed warm-up steps (%ld), or be 0 for no decay", cfg->decay_steps,
                       cfg->warmup_steps);
    if (ds_check_range_int(cfg->decay_start, 0, 1000000000L, "decay start")) return DS_ERR;
    if (cfg->decay_steps && cfg->decay_steps <= cfg->decay_start)
        return ds_fail("decay steps (%ld) must exceed the step the decay starts at (%ld)", cfg->decay_steps,
                       cfg->decay_start);
    if (ds_check_range(cfg->min_lr_ratio, 0.0, 1.0, "minimum lr ratio")) return DS_ERR;
    if (ds_check_range(cfg->ema_decay, 0.0, 0.999999, "EMA decay")) return DS_ERR;
    if (cfg->ema_warmup != 0 && cfg->ema_warmup != 1) return ds_fail("ema_warmup must be 0 or 1 (got %d)", cfg->ema_warmup);
    return DS_OK;
}

int ds_optim_init(ds_optim *opt, const ds_optim_config *cfg, long n, const float *params) {
    if (!opt) return ds_fail("optimiser: null state");
    memset(opt, 0, sizeof *opt);
    if (ds_optim_config_check(cfg)) return DS_ERR;
    if (n <= 0 || n > 0x7fffffffL) return ds_fail("optimiser: parameter count must be 1..2^31-1 (got %ld)", n);
    if (cfg->ema_decay > 0 && !params) return ds_fail("optimiser: the EMA needs the initial parameters (null)");
    opt->cfg = *cfg;
    opt->n = n;
    opt->beta1_pow = 1.0;
    opt->beta2_pow = 1.0;
    opt->m = calloc((size_t)n, sizeof(float));
    opt->v = calloc((size_t)n, sizeof(float));
    if (cfg->ema_decay > 0 && params) {
        opt->ema = malloc((size_t)n * sizeof(float));
        if (opt->ema) memcpy(opt->ema, params, (size_t)n * sizeof(float));
    }
    if (!opt->m || !opt->v || (cfg->ema_decay > 0 && !opt->ema)) {
        ds_optim_free(opt);
        return ds_fail("optimiser: out of memory for %ld parameters", n);
    }
    return DS_OK;
}

void ds_optim_free(ds_optim *opt) {
    if (!opt) return;
    free(opt->m);
    free(opt->v);
    free(opt->ema);
    opt->m = opt->v = opt->ema = NULL;
}

double ds_optim_lr(const ds_optim_config *cfg, long step) {
    double lr = cfg->lr;
    if (cfg->warmup_steps > 0 && step < cfg->warmup_steps) return lr * (double)(step + 1) / (double)cfg->warmup_steps;
    if (cfg->decay_steps > 0) {
        long start = cfg->decay_start > cfg->warmup_steps ? cfg->decay_start : cfg->warmup_steps;
        if (step < start) return lr;
        double span = (double)(cfg->decay_steps - start);
        double done = (double)(step - start) / span;
        if (done > 1.0) done = 1.0;
        double floor_lr = lr * cfg->min_lr_ratio;
        return floor_lr + (lr - floor_lr) * 0.5 * (1.0 + ds_cos(PI * done));
    }
    return lr;
}

double ds_grad_clip(float *g, long n, double max_norm) {
    double ss = 0.0;
    for (long i = 0; i < n; i++) ss += (double)g[i] * (double)g[i];
    double norm = sqrt(ss);
    if (!isfinite(norm)) return norm;
    if (max_norm > 0 && norm > max_norm) {
        float scale = (float)(max_norm / norm);
        for (long i = 0; i < n; i++) g[i] *= scale;
    }
    return norm;
}

int ds_optim_step(ds_optim *opt, float *params, float *grads) {
    if (!opt || !opt->m || !params || !grads) return ds_fail("optimiser step: null state, params or grads");
    const ds_optim_config *c = &opt->cfg;
    double norm = ds_grad_clip(grads, opt->n, c->clip_norm);
    opt->last_grad_norm = norm;
    if (!isfinite(norm)) return ds_fail("optimiser step %ld: gradient is not finite (norm %g); parameters unchanged", opt->step, norm);

    double lr = ds_optim_lr(c, opt->step);
    opt->last_lr = lr;
    opt->beta1_pow *= c->beta1;
    opt->beta2_pow *= c->beta2;
    const float b1 = (float)c->beta1, b2 = (float)c->beta2;
    const float one_b1 = (float)(1.0 - c->beta1), one_b2 = (float)(1.0 - c->beta2);
    const float inv_bc1 = (float)(1.0 / (1.0 - opt->beta1_pow));
    const float inv_bc2 = (float)(1.0 / (1.0 - opt->beta2_pow));
    const float eps = (float)c->eps, lr_f = (float)lr, decay = (float)(lr * c->weight_decay);
    float *m = opt->m, *v = opt->v;
    for (long i = 0; i < opt->n; i++) {
        float g = grads[i];
        m[i] = b1 * m[i] + one_b1 * g;
        v[i] = b2 * v[i] + one_b2 * (g * g);
        float mhat = m[i] * inv_bc1, vhat = v[i] * inv_bc2;
        params[i] -= lr_f * (mhat / (sqrtf(vhat) + eps)) + decay * params[i];
    }
    opt->step++;

    if (opt->ema) {
        double d = c->ema_decay;
        if (c->ema_warmup) {
            double warm = (1.0 + (double)opt->step) / (10.0 + (double)opt->step);
            if (warm < d) d = warm;
        }
        const float df = (float)d, one_d = (float)(1.0 - d);
        for (long i = 0; i < opt->n; i++) opt->ema[i] = df * opt->ema[i] + one_d * params[i];
    }
    return DS_OK;
}
