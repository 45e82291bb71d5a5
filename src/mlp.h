/* mlp.h — the small denoiser for 2-D points (the point-cloud widgets).
 *
 * eps (B, 2) = mlp(x_t (B, 2), t (B) float timestep in [0, 1000]):
 *   in   = concat(x, sinusoidal_E(t))                 (B, 2 + E)   (same formula as the UNet's)
 *   h_0  = silu(fc_0(in))                             (B, H)
 *   h_i  = silu(fc_i(h_{i-1})),  i = 1..n_layers-1    (B, H)
 *   eps  = fc_out(h_{n_layers-1})                     (B, 2)
 * Tensor names: "fc.{i}.weight" (H, 2 + E) for i = 0 else (H, H), "fc.{i}.bias" (H),
 * "fc_out.weight" (2, H), "fc_out.bias" (2). Linear weights are (out, in), y = x W^T + b.
 * Same scheme as the UNet: a parameter table, one blob, a run state that keeps every
 * activation for the trainer. Not here: the weights file (weights.h), the handle (model.h). */
#ifndef DS_MLP_H
#define DS_MLP_H

#include <stdint.h>

#include "weights.h"

#define DS_MLP_MAX_LAYERS 8
#define DS_MLP_N_CONFIG 4 /* config ints in the weights header */
#define DS_MLP_DATA_DIM 2

/* Serialised as 4 ints in this order: data_dim, hidden, n_layers, temb_dim. */
typedef struct {
    int data_dim; /* 2 (points in the plane) */
    int hidden;   /* H: 128 */
    int n_layers; /* hidden layers: 1..DS_MLP_MAX_LAYERS, default 4 */
    int temb_dim; /* E: 32, even */
} ds_mlp_config;

typedef struct {
    float *fc_weight[DS_MLP_MAX_LAYERS]; /* (H, 2 + E) for layer 0, else (H, H) */
    float *fc_bias[DS_MLP_MAX_LAYERS];   /* (H) */
    float *out_weight;                   /* (2, H) */
    float *out_bias;                     /* (2) */
} ds_mlp_weights;

typedef struct {
    ds_mlp_config config;
    ds_param_table table;
    float *params;        /* (table.total) */
    ds_mlp_weights w;     /* pointers into params */
} ds_mlp;

typedef struct {
    int max_batch;
    float *t;                            /* (B) copy of the timesteps */
    float *in;                           /* (B, 2 + E) concat(x, sinusoidal(t)) */
    float *pre[DS_MLP_MAX_LAYERS];       /* (B, H) fc_i output before SiLU */
    float *act[DS_MLP_MAX_LAYERS];       /* (B, H) silu(pre[i]) */
    float *eps;                          /* (B, 2) */
    float *acts;                         /* the one allocation */
    long acts_floats;
} ds_mlp_state;

void ds_mlp_config_default(ds_mlp_config *c); /* (2, 128, 4, 32) */
int ds_mlp_config_validate(const ds_mlp_config *c);
void ds_mlp_config_to_ints(const ds_mlp_config *c, int out[DS_MLP_N_CONFIG]);
int ds_mlp_config_from_ints(const int *v, int n, ds_mlp_config *c);

int ds_mlp_param_table(const ds_mlp_config *c, ds_param_table *t);
int ds_mlp_build(ds_mlp *m, const ds_mlp_config *c);          /* blob of zeros */
void ds_mlp_point_weights(const ds_mlp *m, float *blob, ds_mlp_weights *w);
void ds_mlp_init_random(ds_mlp *m, uint64_t seed);             /* weights, biases U(+-1/sqrt(fan_in)) */
void ds_mlp_free(ds_mlp *m);
long ds_mlp_num_params(const ds_mlp *m);
double ds_mlp_mflop(const ds_mlp_config *c);                   /* per point */

int ds_mlp_state_alloc(ds_mlp_state *s, const ds_mlp *m, int max_batch);
void ds_mlp_state_free(ds_mlp_state *s);

/* x (B, 2), t (B) in [0, 1000] -> eps_out (B, 2) (may be NULL: result in s->eps).
 * 1 <= B <= s->max_batch; inputs validated. Returns DS_OK or DS_ERR. */
int ds_mlp_forward(const ds_mlp *m, ds_mlp_state *s, const float *x, const float *t, int B, float *eps_out);

#endif
