/* optim.h — Adam(W), global-norm gradient clipping, learning-rate warm-up / cosine decay and an
 * exponential moving average (EMA) of the weights, all over flat float arrays.
 *
 * The optimiser does not own the parameters or the gradients: a model keeps its weights in one
 * blob and its trainer keeps a gradient blob with the same layout; ds_optim owns one array per
 * role of its own state (m, v, ema). Everything is deterministic and libm-free on the paths that
 * matter (bias corrections are running products, cosine decay uses detmath's ds_cos), so a
 * training step gives bit-identical results natively and in WebAssembly (the in-browser MLP
 * trainer uses this file too: no threads, no I/O here).
 * Not here: the loss, the backward pass (kernels_grad.h), checkpoint files (checkpoint.h). */
#ifndef DS_OPTIM_H
#define DS_OPTIM_H

typedef struct {
    double lr;            /* peak learning rate, > 0 */
    double beta1, beta2;  /* Adam moment decays, in [0, 1) (defaults 0.9, 0.999) */
    double eps;           /* Adam denominator guard, > 0 (default 1e-8) */
    double weight_decay;  /* decoupled (AdamW) decay per unit lr; 0 = plain Adam */
    double clip_norm;     /* clip the global L2 norm of the gradient to this; 0 = no clipping */
    long warmup_steps;    /* lr rises linearly from lr/warmup to lr over these steps; 0 = none */
    long decay_steps;     /* cosine decay from lr to lr*min_lr_ratio, ending at this step; 0 = none */
    long decay_start;     /* the cosine starts here, or at the end of warm-up if that is later (0: there);
                           * a resumed run sets it to its step to add a decay to a constant-lr run */
    double min_lr_ratio;  /* floor of the cosine decay, in [0, 1] */
    double ema_decay;     /* EMA of the weights, in [0, 1); 0 = no EMA kept */
    int ema_warmup;       /* 1: effective decay min(ema_decay, (1+s)/(10+s)) so early EMA is not stuck at init */
} ds_optim_config;

typedef struct {
    ds_optim_config cfg;
    long n;               /* number of parameters */
    long step;            /* updates applied so far */
    double beta1_pow;     /* beta1^step, the bias-correction terms kept as running products */
    double beta2_pow;     /* beta2^step */
    float *m;             /* (n) first moment */
    float *v;             /* (n) second moment */
    float *ema;           /* (n) EMA of the parameters, or NULL when cfg.ema_decay == 0 */
    double last_grad_norm; /* global L2 norm of the last gradient, before clipping */
    double last_lr;       /* learning rate used by the last step */
} ds_optim;

/* Defaults: lr 2e-4, betas 0.9/0.999, eps 1e-8, no decay, clip 1.0, no warm-up, EMA 0.999. */
void ds_optim_config_default(ds_optim_config *cfg);

/* Validates every field; DS_ERR names the bad one. */
int ds_optim_config_check(const ds_optim_config *cfg);

/* Allocates m, v (zeroed) and the EMA (a copy of params, which may be NULL only if EMA is off).
 * Returns DS_OK, or DS_ERR (bad config, n <= 0, out of memory). */
int ds_optim_init(ds_optim *opt, const ds_optim_config *cfg, long n, const float *params);
void ds_optim_free(ds_optim *opt);

/* Learning rate at update number `step` (0-based): warm-up then optional cosine decay. */
double ds_optim_lr(const ds_optim_config *cfg, long step);

/* Global L2 norm of g (accumulated in double); scales g by max_norm/norm if norm > max_norm
 * (max_norm > 0). Returns the norm before clipping (NaN/inf if g has a non-finite value). */
double ds_grad_clip(float *g, long n, double max_norm);

/* One update: clip grads (in place), Adam(W) on params, then the EMA. Refuses (DS_ERR, nothing
 * changed except grads' clipping) if the gradient norm is not finite. */
int ds_optim_step(ds_optim *opt, float *params, float *grads);

#endif
